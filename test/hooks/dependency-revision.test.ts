// The plan-revision rule of dependency-check (hooks/README.md, dependency-check): pure judgement of one object, and
// the flag's validation (no cluster contacted).
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { labelKeys } from '../../core/labels.js';
import { judgeObject, PLAN_REVISION_MISMATCH, runDependencyCheck } from '../../hooks/src/programs/dependency.js';
import type { Workload } from '../../hooks/src/k8s/types.js';

const KEY = labelKeys().planRevision;
const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';

const rolledOut = {
  observedGeneration: 2,
  replicas: 1,
  updatedReplicas: 1,
  readyReplicas: 1,
  availableReplicas: 1,
  conditions: [
    { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
    { type: 'Available', status: 'True' },
  ],
};
const deployment = (revision: string | undefined, status: Record<string, unknown> = rolledOut): Workload => ({
  metadata: { name: 'db', generation: 2, annotations: revision === undefined ? {} : { [KEY]: revision } },
  spec: { replicas: 1 },
  status,
});

describe('judgeObject: the plan revision of a dependency', () => {
  it('without a wanted revision, judges readiness only (the behaviour before revisions)', () => {
    expect(judgeObject('tier1-database', 'Deployment', deployment(A), KEY, undefined)).toBeUndefined();
    expect(judgeObject('tier1-database', 'Deployment', deployment(undefined), KEY, undefined)).toBeUndefined();
  });

  it('a rolled-out workload at the wanted revision passes', () => {
    expect(judgeObject('tier1-database', 'Deployment', deployment(B), KEY, B)).toBeUndefined();
  });

  it('a healthy workload at another revision blocks, naming the release, its revision and the wanted one', () => {
    const b = judgeObject('tier1-database', 'Deployment', deployment(A), KEY, B);
    expect(b).toMatchObject({
      dependency: 'tier1-database',
      object: 'deployment/db',
      status: 'InProgress',
      reason: PLAN_REVISION_MISMATCH,
      revision: { have: A, want: B },
    });
    expect(b?.message).toContain('tier1-database');
    expect(b?.message).toContain(A);
    expect(b?.message).toContain(B);
  });

  it('a workload without the annotation (installed without a revision) blocks as revision (none)', () => {
    const b = judgeObject('tier1-database', 'StatefulSet', deployment(undefined), KEY, B);
    expect(b).toMatchObject({ reason: PLAN_REVISION_MISMATCH, revision: { have: undefined, want: B } });
    expect(b?.message).toContain('(none)');
  });

  it('at the wanted revision but not rolled out yet: the readiness reason blocks', () => {
    const b = judgeObject('tier1-database', 'Deployment', deployment(B, { ...rolledOut, updatedReplicas: 0 }), KEY, B);
    expect(b).toMatchObject({ status: 'InProgress', reason: 'LessUpdated' });
  });

  it('a failed workload stays Failed whatever its revision (the wait ends at once, exit 21)', () => {
    const failed = {
      ...rolledOut,
      conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }],
    };
    expect(judgeObject('tier1-database', 'Deployment', deployment(A, failed), KEY, B)).toMatchObject({
      status: 'Failed',
      reason: 'ProgressDeadlineExceeded',
    });
  });

  it('a PVC is judged by Bound only: its state does not depend on the revision', () => {
    const pvc: Workload = { metadata: { name: 'data', annotations: { [KEY]: A } }, status: { phase: 'Bound' } };
    expect(judgeObject('tier1-database', 'PersistentVolumeClaim', pvc, KEY, B)).toBeUndefined();
  });

  it('reads the key of the plan prefix', () => {
    const key = labelKeys('example.com/').planRevision;
    const w = deployment(undefined);
    w.metadata = { ...w.metadata, annotations: { [key]: B, [KEY]: A } };
    expect(judgeObject('r', 'Deployment', w, key, B)).toBeUndefined();
    expect(judgeObject('r', 'Deployment', w, KEY, B)?.reason).toBe(PLAN_REVISION_MISMATCH);
  });
});

describe('dependency-check --plan-revision', () => {
  const sink = () => {
    let out = '';
    const logDestination = new Writable({
      write: (_c, _e, cb) => {
        cb();
      },
    });
    return { text: () => out, deps: { logDestination, out: (t: string) => (out += t) } };
  };

  it.each(['ABCDEF0123456789', 'abc', 'aaaaaaaaaaaaaaaaa', 'gggggggggggggggg'])(
    'refuses %j as a usage error before contacting the cluster',
    async (rev) => {
      const s = sink();
      const code = await runDependencyCheck(
        ['--depends-on=tier1-database', `--plan-revision=${rev}`],
        { KUBECONFIG: '/nonexistent' },
        s.deps,
      );
      expect(code).toBe(64);
      expect(s.text()).toContain('E_USAGE');
    },
  );

  it('is documented in --help with its environment variable', async () => {
    const s = sink();
    expect(await runDependencyCheck(['--help'], {}, s.deps)).toBe(0);
    expect(s.text()).toContain('--plan-revision');
    expect(s.text()).toContain('HT_PLAN_REVISION');
  });
});
