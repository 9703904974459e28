import { describe, expect, it } from 'vitest';
import type { PodVerdict } from '../../hooks/src/pods/classify.js';
import { planRemediation, MAX_EVICTIONS } from '../../hooks/src/pods/remediate.js';

const v = (pod: string, over: Partial<PodVerdict>): PodVerdict => ({
  pod,
  class: 'Healthy',
  severity: 'ok',
  transitional: false,
  restartable: false,
  reason: '',
  message: '',
  restarts: 0,
  owner: { kind: 'ReplicaSet', name: 'api-1' },
  ...over,
});
const crash = (pod: string, owner = { kind: 'ReplicaSet', name: 'api-1' }): PodVerdict =>
  v(pod, { class: 'CrashLoopBackOff', severity: 'fail', restartable: true, owner });
const toDeployment = () => ({ kind: 'Deployment', name: 'api' });

describe('planRemediation', () => {
  it('rolls out a restart of the Deployment when most of its pods crash-loop', () => {
    const plan = planRemediation([crash('a'), crash('b'), v('c', {})], toDeployment);
    expect(plan.actions).toEqual([
      expect.objectContaining({ type: 'restart', kind: 'Deployment', name: 'api', pods: ['a', 'b'] }),
    ]);
  });

  it('evicts single bad pods when most are healthy', () => {
    const plan = planRemediation([crash('a'), v('b', {}), v('c', {})], toDeployment);
    expect(plan.actions).toEqual([expect.objectContaining({ type: 'evict', pod: 'a' })]);
  });

  it('never touches bare pods, Job pods, or problems a restart cannot fix', () => {
    const plan = planRemediation(
      [
        { ...crash('bare'), owner: undefined },
        crash('job', { kind: 'Job', name: 'migrate' }),
        v('img', { class: 'ImagePullError', severity: 'fail', restartable: false }),
      ],
      toDeployment,
    );
    expect(plan.actions).toEqual([]);
    expect(plan.skipped.map((s) => s.pod).sort()).toEqual(['bare', 'img', 'job']);
  });

  it('evicts (does not restart) pods of a ReplicaSet without a Deployment', () => {
    const plan = planRemediation([crash('a')], () => ({ kind: 'ReplicaSet', name: 'api-1' }));
    expect(plan.actions).toEqual([expect.objectContaining({ type: 'evict', pod: 'a' })]);
  });

  it('restarts a StatefulSet directly', () => {
    const plan = planRemediation([crash('db-0', { kind: 'StatefulSet', name: 'db' })], () => undefined);
    expect(plan.actions).toEqual([expect.objectContaining({ type: 'restart', kind: 'StatefulSet', name: 'db' })]);
  });

  it('bounds the number of evictions', () => {
    const pods: PodVerdict[] = [];
    for (let i = 0; i < MAX_EVICTIONS + 20; i++) pods.push(crash(`bad-${i}`, { kind: 'ReplicaSet', name: `rs-${i}` }));
    for (let i = 0; i < MAX_EVICTIONS + 20; i++)
      for (let j = 0; j < 2; j++) pods.push(v(`ok-${i}-${j}`, { owner: { kind: 'ReplicaSet', name: `rs-${i}` } }));
    const plan = planRemediation(pods, () => undefined);
    expect(plan.actions.filter((a) => a.type === 'evict')).toHaveLength(MAX_EVICTIONS);
    expect(plan.skipped).toHaveLength(20);
  });
});
