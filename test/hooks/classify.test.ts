import { describe, expect, it } from 'vitest';
import { classifyPod } from '../../hooks/src/pods/classify.js';
import type { ContainerStatus, Pod } from '../../hooks/src/k8s/types.js';

const rsOwner = [{ kind: 'ReplicaSet', name: 'api-7d9', controller: true, apiVersion: 'apps/v1' }];

function pod(status: Pod['status'], extra: Partial<Pod> = {}): Pod {
  return {
    metadata: { name: 'p1', namespace: 'apps', uid: 'u1', ownerReferences: rsOwner, ...(extra.metadata ?? {}) },
    spec: extra.spec ?? { containers: [{ name: 'app', readinessProbe: { httpGet: {} } }] },
    status,
  };
}
const cs = (c: Partial<ContainerStatus>): ContainerStatus => ({ name: 'app', ready: false, restartCount: 0, ...c });
const running = (containerStatuses: ContainerStatus[], ready = false): Pod['status'] => ({
  phase: 'Running',
  conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
  containerStatuses,
});

describe('classifyPod', () => {
  it('treats a Running pod in CrashLoopBackOff as crash-looping (phase alone lies) and restartable', () => {
    const v = classifyPod(
      pod(
        running([
          cs({
            restartCount: 5,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { exitCode: 1, reason: 'Error' } },
          }),
        ]),
      ),
    );
    expect(v).toMatchObject({
      class: 'CrashLoopBackOff',
      severity: 'fail',
      restartable: true,
      container: 'app',
      restarts: 5,
    });
    expect(v.message).toContain('exit 1');
  });

  it('reports a crash loop caused by OOM as OOMKilled, not restartable', () => {
    const v = classifyPod(
      pod(
        running([
          cs({
            restartCount: 3,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { exitCode: 137, reason: 'OOMKilled' } },
          }),
        ]),
      ),
    );
    expect(v).toMatchObject({ class: 'OOMKilled', restartable: false });
  });

  it('classifies image pull errors (both reasons) as not restartable', () => {
    for (const reason of ['ImagePullBackOff', 'ErrImagePull']) {
      const v = classifyPod(
        pod({
          phase: 'Pending',
          containerStatuses: [cs({ state: { waiting: { reason, message: 'manifest unknown' } } })],
        }),
      );
      expect(v).toMatchObject({ class: 'ImagePullError', reason, restartable: false, severity: 'fail' });
    }
  });

  it('classifies CreateContainerConfigError as a configuration error', () => {
    const v = classifyPod(
      pod({
        phase: 'Pending',
        containerStatuses: [
          cs({ state: { waiting: { reason: 'CreateContainerConfigError', message: 'secret "db" not found' } } }),
        ],
      }),
    );
    expect(v).toMatchObject({ class: 'ConfigError', restartable: false });
    expect(v.message).toContain('secret "db" not found');
  });

  it('classifies init-container failures before the main containers', () => {
    const v = classifyPod(
      pod({
        phase: 'Pending',
        initContainerStatuses: [
          cs({
            name: 'wait-db',
            restartCount: 4,
            state: { waiting: { reason: 'CrashLoopBackOff' } },
            lastState: { terminated: { exitCode: 2 } },
          }),
        ],
        containerStatuses: [cs({ state: { waiting: { reason: 'PodInitializing' } } })],
      }),
    );
    expect(v).toMatchObject({ class: 'InitContainerFailed', container: 'wait-db', restartable: true });
  });

  it('classifies Unschedulable from the PodScheduled condition', () => {
    const v = classifyPod(
      pod({
        phase: 'Pending',
        conditions: [
          {
            type: 'PodScheduled',
            status: 'False',
            reason: 'Unschedulable',
            message: '0/3 nodes are available: insufficient cpu',
          },
        ],
      }),
    );
    expect(v).toMatchObject({ class: 'Unschedulable', restartable: false });
    expect(v.message).toContain('insufficient cpu');
  });

  it('reports Evicted pods of a controller as warnings and bare evicted pods as failures', () => {
    const evicted = { phase: 'Failed', reason: 'Evicted', message: 'The node was low on resource: memory.' };
    expect(classifyPod(pod(evicted))).toMatchObject({ class: 'Evicted', severity: 'warn' });
    expect(classifyPod(pod(evicted, { metadata: { name: 'bare', ownerReferences: [] } }))).toMatchObject({
      class: 'Evicted',
      severity: 'fail',
      owner: undefined,
    });
  });

  it('an init container running again after failures is InitContainerFailed, transitional (Init:0/1 between crashes)', () => {
    const v = classifyPod(
      pod({
        phase: 'Pending',
        initContainerStatuses: [
          cs({
            name: 'migrate',
            restartCount: 2,
            started: true,
            state: { running: {} },
            lastState: { terminated: { exitCode: 3, reason: 'Error' } },
          }),
        ],
        containerStatuses: [cs({ state: { waiting: { reason: 'PodInitializing' } } })],
      }),
    );
    expect(v).toMatchObject({
      class: 'InitContainerFailed',
      container: 'migrate',
      restartable: true,
      transitional: true,
    });
    expect(v.message).toContain('Error (exit 3)');
  });

  it('an evicted pod whose killed containers report exit 137 is still Evicted (not Failed, not OOMKilled)', () => {
    const v = classifyPod(
      pod({
        phase: 'Failed',
        reason: 'Evicted',
        message: 'The node was low on resource: memory. Threshold quantity: 100Mi, available: 51200Ki. ',
        conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'TerminationByKubelet' }],
        containerStatuses: [cs({ state: { terminated: { exitCode: 137, reason: 'Error' } } })],
      }),
    );
    expect(v).toMatchObject({ class: 'Evicted', severity: 'warn', restartable: false });
  });

  it('reports a running pod with a failing readiness probe as NotReady (probe failing), transitional', () => {
    const v = classifyPod(pod(running([cs({ state: { running: {} } })])));
    expect(v).toMatchObject({
      class: 'NotReady',
      reason: 'ReadinessProbeFailing',
      transitional: true,
      restartable: false,
    });
  });

  it('accepts ready and completed pods; a terminating one is not replaced yet (unhealthy, worth waiting for)', () => {
    expect(classifyPod(pod(running([cs({ ready: true, state: { running: {} } })], true)))).toMatchObject({
      class: 'Healthy',
      severity: 'ok',
    });
    expect(classifyPod(pod({ phase: 'Succeeded' }))).toMatchObject({ class: 'Completed', severity: 'ok' });
    expect(
      classifyPod(pod(running([]), { metadata: { name: 'x', deletionTimestamp: '2026-01-01T00:00:00Z' } })),
    ).toMatchObject({ class: 'Terminating', severity: 'fail', transitional: true, restartable: false });
  });

  it('does not fail the check for failed pods of a Job (the Job decides)', () => {
    const v = classifyPod(
      pod(
        { phase: 'Failed', containerStatuses: [cs({ state: { terminated: { exitCode: 1 } } })] },
        { metadata: { name: 'j', ownerReferences: [{ kind: 'Job', name: 'migrate', controller: true }] } },
      ),
    );
    expect(v).toMatchObject({ class: 'JobPodFailed', severity: 'warn' });
  });

  it('treats ContainerCreating as transitional Pending', () => {
    const v = classifyPod(
      pod({ phase: 'Pending', containerStatuses: [cs({ state: { waiting: { reason: 'ContainerCreating' } } })] }),
    );
    expect(v).toMatchObject({ class: 'Pending', transitional: true, reason: 'ContainerCreating' });
  });

  it('accepts Date timestamps as client-node returns them', () => {
    const v = classifyPod(pod(running([]), { metadata: { name: 'x', deletionTimestamp: new Date() } }));
    expect(v.class).toBe('Terminating');
  });
});
