import { describe, expect, it } from 'vitest';
import { readiness } from '../../hooks/src/deps/readiness.js';

const dep = (spec: Record<string, unknown>, status: Record<string, unknown>, generation = 2) => ({
  metadata: { name: 'api', generation },
  spec,
  status,
});
const goodDeploymentStatus = {
  observedGeneration: 2,
  replicas: 2,
  updatedReplicas: 2,
  readyReplicas: 2,
  availableReplicas: 2,
  conditions: [
    { type: 'Progressing', status: 'True', reason: 'NewReplicaSetAvailable' },
    { type: 'Available', status: 'True' },
  ],
};

describe('readiness (kstatus rules)', () => {
  it('Deployment: Current when all replicas are updated, ready and available', () => {
    expect(
      readiness('Deployment', dep({ replicas: 2, progressDeadlineSeconds: 600 }, goodDeploymentStatus)).status,
    ).toBe('Current');
  });
  it('any kind: InProgress while observedGeneration lags generation', () => {
    const r = readiness('Deployment', dep({ replicas: 2 }, { ...goodDeploymentStatus, observedGeneration: 1 }));
    expect(r).toMatchObject({ status: 'InProgress', reason: 'LatestGenerationNotObserved' });
  });
  it('Deployment: Failed on ProgressDeadlineExceeded, naming the condition', () => {
    const r = readiness(
      'Deployment',
      dep(
        { replicas: 2 },
        {
          ...goodDeploymentStatus,
          conditions: [
            {
              type: 'Progressing',
              status: 'False',
              reason: 'ProgressDeadlineExceeded',
              message: 'ReplicaSet "api-1" has timed out progressing.',
            },
          ],
        },
      ),
    );
    expect(r).toMatchObject({ status: 'Failed', reason: 'ProgressDeadlineExceeded', condition: 'Progressing=False' });
  });
  it('Deployment: InProgress LessReady with counts', () => {
    const r = readiness(
      'Deployment',
      dep(
        { replicas: 3 },
        { ...goodDeploymentStatus, replicas: 3, updatedReplicas: 3, availableReplicas: 3, readyReplicas: 1 },
      ),
    );
    expect(r).toMatchObject({ status: 'InProgress', reason: 'LessReady', message: 'ready 1/3' });
  });
  it('StatefulSet: revision mismatch, partition and OnDelete', () => {
    const base = { observedGeneration: 2, replicas: 3, readyReplicas: 3, currentReplicas: 3, updatedReplicas: 3 };
    expect(
      readiness('StatefulSet', dep({ replicas: 3 }, { ...base, currentRevision: 'a', updateRevision: 'b' })).reason,
    ).toBe('RevisionMismatch');
    expect(
      readiness('StatefulSet', dep({ replicas: 3 }, { ...base, currentRevision: 'a', updateRevision: 'a' })).status,
    ).toBe('Current');
    expect(
      readiness(
        'StatefulSet',
        dep(
          { replicas: 3, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 1 } } },
          { ...base, updatedReplicas: 1 },
        ),
      ).reason,
    ).toBe('PartitionRollout');
    expect(
      readiness('StatefulSet', dep({ replicas: 3, updateStrategy: { type: 'OnDelete' } }, { observedGeneration: 2 }))
        .status,
    ).toBe('Current');
  });
  it('DaemonSet: needs observedGeneration and all numbers', () => {
    expect(readiness('DaemonSet', { metadata: { generation: 1 }, status: {} }).reason).toBe('NoObservedGeneration');
    const st = {
      observedGeneration: 1,
      desiredNumberScheduled: 3,
      currentNumberScheduled: 3,
      updatedNumberScheduled: 3,
      numberAvailable: 2,
      numberReady: 3,
    };
    expect(readiness('DaemonSet', { metadata: { generation: 1 }, status: st }).reason).toBe('LessAvailable');
    expect(readiness('DaemonSet', { metadata: { generation: 1 }, status: { ...st, numberAvailable: 3 } }).status).toBe(
      'Current',
    );
  });
  it('Job: Complete is Current, Failed is Failed, running is InProgress', () => {
    expect(readiness('Job', { status: { conditions: [{ type: 'Complete', status: 'True' }] } }).status).toBe('Current');
    expect(
      readiness('Job', {
        status: { conditions: [{ type: 'Failed', status: 'True', reason: 'BackoffLimitExceeded' }] },
      }),
    ).toMatchObject({ status: 'Failed', reason: 'BackoffLimitExceeded' });
    expect(readiness('Job', { status: { startTime: '2026-01-01T00:00:00Z', active: 1 } }).reason).toBe('JobRunning');
    expect(readiness('Job', { status: {} }).reason).toBe('JobNotStarted');
  });
  it('PVC: Current only when Bound', () => {
    expect(readiness('PersistentVolumeClaim', { status: { phase: 'Pending' } })).toMatchObject({
      status: 'InProgress',
      reason: 'NotBound',
    });
    expect(readiness('PersistentVolumeClaim', { status: { phase: 'Bound' } }).status).toBe('Current');
  });
  it('Stalled=True condition is Failed for any kind', () => {
    expect(
      readiness('Deployment', { status: { conditions: [{ type: 'Stalled', status: 'True', reason: 'X' }] } }).status,
    ).toBe('Failed');
  });
});
