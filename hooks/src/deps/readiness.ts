/**
 * Readiness of a dependency's objects by kstatus rules (kubernetes-sigs/cli-utils pkg/kstatus, reimplemented):
 * generation vs observedGeneration first, then the kind-specific rules. One deliberate difference: a Job counts as
 * ready only when Complete (kstatus calls a started Job Current); a dependency such as a migration must have finished.
 */
import { findCondition, type Workload } from '../k8s/types.js';

export type ReadyStatus = 'Current' | 'InProgress' | 'Failed';

export interface Readiness {
  status: ReadyStatus;
  /** Machine-readable reason (kstatus vocabulary: LessReady, LessUpdated, ProgressDeadlineExceeded, ...). */
  reason: string;
  message: string;
  /** The condition that decided, when one did. */
  condition?: string | undefined;
}

const num = (o: Record<string, unknown> | undefined, k: string, d: number): number => {
  const v = o?.[k];
  return typeof v === 'number' ? v : d;
};
const inProgress = (reason: string, message: string, condition?: string): Readiness => ({
  status: 'InProgress',
  reason,
  message,
  condition,
});
const current = (message: string): Readiness => ({ status: 'Current', reason: 'Current', message });

function generic(w: Workload): Readiness | undefined {
  const gen = w.metadata?.generation;
  const observed = w.status?.observedGeneration;
  if (typeof gen === 'number' && typeof observed === 'number' && observed !== gen) {
    return inProgress(
      'LatestGenerationNotObserved',
      `observedGeneration ${observed} != generation ${gen}: the controller has not seen the latest spec`,
    );
  }
  const conds = w.status?.conditions;
  const reconciling = findCondition(conds, 'Reconciling');
  if (reconciling?.status === 'True')
    return inProgress(reconciling.reason ?? 'Reconciling', reconciling.message ?? 'Reconciling', 'Reconciling=True');
  const stalled = findCondition(conds, 'Stalled');
  if (stalled?.status === 'True')
    return {
      status: 'Failed',
      reason: stalled.reason ?? 'Stalled',
      message: stalled.message ?? 'Stalled',
      condition: 'Stalled=True',
    };
  return undefined;
}

function deployment(w: Workload): Readiness {
  const spec = w.spec;
  const st = w.status;
  let progressing = spec?.progressDeadlineSeconds === undefined || spec.progressDeadlineSeconds === 2147483647;
  let available = false;
  for (const c of st?.conditions ?? []) {
    if (c.type === 'Progressing') {
      if (c.reason === 'ProgressDeadlineExceeded') {
        return {
          status: 'Failed',
          reason: 'ProgressDeadlineExceeded',
          message: c.message ?? 'progress deadline exceeded',
          condition: 'Progressing=False',
        };
      }
      if (c.status === 'True' && c.reason === 'NewReplicaSetAvailable') progressing = true;
    }
    if (c.type === 'Available' && c.status === 'True') available = true;
  }
  const want = num(spec, 'replicas', 1);
  const replicas = num(st, 'replicas', 0);
  const updated = num(st, 'updatedReplicas', 0);
  const ready = num(st, 'readyReplicas', 0);
  const avail = num(st, 'availableReplicas', 0);
  if (want > replicas) return inProgress('LessReplicas', `replicas ${replicas}/${want}`);
  if (want > updated) return inProgress('LessUpdated', `updated ${updated}/${want}`);
  if (replicas > want) return inProgress('ExtraPods', `pending termination: ${replicas - want}`);
  if (updated > avail) return inProgress('LessAvailable', `available ${avail}/${updated}`);
  if (want > ready) return inProgress('LessReady', `ready ${ready}/${want}`);
  if (!progressing) return inProgress('ReplicaSetNotAvailable', 'new ReplicaSet not available yet', 'Progressing');
  if (!available) return inProgress('DeploymentNotAvailable', 'Deployment not Available', 'Available');
  return current(`available, ${replicas} replicas`);
}

function statefulSet(w: Workload): Readiness {
  const spec = w.spec;
  const st = w.status;
  const strategy = spec?.updateStrategy as { type?: string; rollingUpdate?: { partition?: number } } | undefined;
  if (strategy?.type === 'OnDelete') return current('OnDelete update strategy: user-managed');
  const want = num(spec, 'replicas', 1);
  const ready = num(st, 'readyReplicas', 0);
  const cur = num(st, 'currentReplicas', 0);
  const updated = num(st, 'updatedReplicas', 0);
  const replicas = num(st, 'replicas', 0);
  const partition = strategy?.rollingUpdate?.partition;
  if (want > replicas) return inProgress('LessReplicas', `replicas ${replicas}/${want}`);
  if (want > ready) return inProgress('LessReady', `ready ${ready}/${want}`);
  if (replicas > want) return inProgress('ExtraPods', `pending termination: ${replicas - want}`);
  if (typeof partition === 'number') {
    if (updated < want - partition) return inProgress('PartitionRollout', `updated ${updated}/${want - partition}`);
    return current(`partition rollout complete, updated ${updated}`);
  }
  if (want > cur) return inProgress('LessCurrent', `current ${cur}/${want}`);
  if (st?.currentRevision !== st?.updateRevision)
    return inProgress('RevisionMismatch', 'waiting for updateRevision to become currentRevision');
  return current(`${replicas} replicas ready`);
}

function daemonSet(w: Workload): Readiness {
  if (typeof w.metadata?.generation !== 'number') return inProgress('NoGeneration', 'metadata.generation not set');
  if (typeof w.status?.observedGeneration !== 'number')
    return inProgress('NoObservedGeneration', 'status.observedGeneration not set: not observed by the controller yet');
  const st = w.status;
  const desired = num(st, 'desiredNumberScheduled', -1);
  if (desired === -1) return inProgress('NoDesiredNumber', 'status.desiredNumberScheduled not set');
  const curr = num(st, 'currentNumberScheduled', 0);
  const updated = num(st, 'updatedNumberScheduled', 0);
  const avail = num(st, 'numberAvailable', 0);
  const ready = num(st, 'numberReady', 0);
  if (desired > curr) return inProgress('LessCurrent', `scheduled ${curr}/${desired}`);
  if (desired > updated) return inProgress('LessUpdated', `updated ${updated}/${desired}`);
  if (desired > avail) return inProgress('LessAvailable', `available ${avail}/${desired}`);
  if (desired > ready) return inProgress('LessReady', `ready ${ready}/${desired}`);
  return current(`${desired} scheduled and ready`);
}

function job(w: Workload): Readiness {
  const conds = w.status?.conditions;
  for (const c of conds ?? []) {
    if (c.type === 'Complete' && c.status === 'True')
      return current(`complete, succeeded ${num(w.status, 'succeeded', 0)}`);
    if (c.type === 'Failed' && c.status === 'True') {
      return {
        status: 'Failed',
        reason: c.reason ?? 'JobFailed',
        message: c.message ?? `failed ${num(w.status, 'failed', 0)}`,
        condition: 'Failed=True',
      };
    }
    if (c.type === 'Suspended' && c.status === 'True')
      return inProgress('Suspended', 'Job is suspended', 'Suspended=True');
  }
  if (w.status?.startTime === undefined) return inProgress('JobNotStarted', 'Job not started');
  return inProgress(
    'JobRunning',
    `running: active ${num(w.status, 'active', 0)}, succeeded ${num(w.status, 'succeeded', 0)}, failed ${num(w.status, 'failed', 0)}`,
  );
}

function pvc(w: Workload): Readiness {
  const phase = typeof w.status?.phase === 'string' ? w.status.phase : 'unknown';
  return phase === 'Bound' ? current('Bound') : inProgress('NotBound', `phase ${phase}`);
}

export function readiness(kind: string, w: Workload): Readiness {
  const g = generic(w);
  if (g) return g;
  switch (kind) {
    case 'Deployment':
      return deployment(w);
    case 'StatefulSet':
      return statefulSet(w);
    case 'DaemonSet':
      return daemonSet(w);
    case 'Job':
      return job(w);
    case 'PersistentVolumeClaim':
      return pvc(w);
    default:
      return current('no readiness rule for this kind');
  }
}
