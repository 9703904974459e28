/**
 * Classifies a pod from its status alone. Phase is not enough: a CrashLoopBackOff pod reports phase Running, so every
 * container and init-container state is read. Each verdict says whether a restart can help: only transient crash
 * loops (a dependency that came up late); never image, configuration, scheduling or memory problems.
 */
import { findCondition, type ContainerStatus, type Pod } from '../k8s/types.js';

export type PodClass =
  | 'Healthy'
  | 'Completed'
  | 'Terminating'
  | 'CrashLoopBackOff'
  | 'InitContainerFailed'
  | 'ImagePullError'
  | 'ConfigError'
  | 'OOMKilled'
  | 'Unschedulable'
  | 'Evicted'
  | 'NotReady'
  | 'Pending'
  | 'Failed'
  | 'JobPodFailed';

export interface Owner {
  kind: string;
  name: string;
}

export interface PodVerdict {
  pod: string;
  uid?: string | undefined;
  class: PodClass;
  /** ok: counts as healthy; warn: reported, does not fail the check; fail: fails the check. */
  severity: 'ok' | 'warn' | 'fail';
  /** Still settling (scheduling, pulling, starting): worth waiting for rather than reporting at once. */
  transitional: boolean;
  /** A restart can plausibly fix it. */
  restartable: boolean;
  container?: string | undefined;
  reason: string;
  message: string;
  /** The controller ownerReference, if any. */
  owner?: Owner | undefined;
  restarts: number;
}

const IMAGE_REASONS = new Set([
  'ImagePullBackOff',
  'ErrImagePull',
  'InvalidImageName',
  'ErrImageNeverPull',
  'RegistryUnavailable',
  'ImageInspectError',
]);
const CONFIG_REASONS = new Set([
  'CreateContainerConfigError',
  'CreateContainerError',
  'RunContainerError',
  'PreStartHookError',
  'PostStartHookError',
]);
const TRANSITIONAL_WAITING = new Set(['ContainerCreating', 'PodInitializing']);

export function controllerOf(pod: Pod): Owner | undefined {
  const ref = pod.metadata?.ownerReferences?.find((r) => r.controller === true);
  return ref ? { kind: ref.kind, name: ref.name } : undefined;
}

function lastTermination(cs: ContainerStatus): string {
  const t = cs.lastState?.terminated ?? cs.state?.terminated;
  if (!t) return '';
  return `last terminated: ${t.reason ?? 'Unknown'} (exit ${t.exitCode}${t.signal ? `, signal ${t.signal}` : ''})`;
}

function join(...parts: (string | undefined)[]): string {
  return parts.filter((p): p is string => !!p).join('; ');
}

/** The problem of one container status, if it has one. */
function containerProblem(
  cs: ContainerStatus,
  init: boolean,
): Pick<PodVerdict, 'class' | 'restartable' | 'reason' | 'message' | 'transitional'> | undefined {
  const w = cs.state?.waiting;
  const term = cs.state?.terminated;
  const lastReason = cs.lastState?.terminated?.reason;
  const who = `${init ? 'init container' : 'container'} ${cs.name}`;
  if (w?.reason && IMAGE_REASONS.has(w.reason)) {
    return {
      class: 'ImagePullError',
      restartable: false,
      transitional: false,
      reason: w.reason,
      message: join(`${who}: ${w.reason}`, w.message),
    };
  }
  if (w?.reason && CONFIG_REASONS.has(w.reason)) {
    return {
      class: 'ConfigError',
      restartable: false,
      transitional: false,
      reason: w.reason,
      message: join(`${who}: ${w.reason}`, w.message),
    };
  }
  if (w?.reason === 'CrashLoopBackOff') {
    if (lastReason === 'OOMKilled') {
      return {
        class: 'OOMKilled',
        restartable: false,
        transitional: false,
        reason: 'OOMKilled',
        message: join(
          `${who} is killed for exceeding its memory limit (restarts ${cs.restartCount})`,
          lastTermination(cs),
        ),
      };
    }
    return {
      class: init ? 'InitContainerFailed' : 'CrashLoopBackOff',
      restartable: true,
      transitional: false,
      reason: 'CrashLoopBackOff',
      message: join(`${who} is crash-looping (restarts ${cs.restartCount})`, lastTermination(cs), w.message),
    };
  }
  if (term && (term.exitCode !== 0 || term.reason === 'OOMKilled')) {
    if (term.reason === 'OOMKilled')
      return {
        class: 'OOMKilled',
        restartable: false,
        transitional: false,
        reason: 'OOMKilled',
        message: join(`${who} was OOMKilled`, lastTermination(cs)),
      };
    if (init)
      return {
        class: 'InitContainerFailed',
        restartable: true,
        transitional: false,
        reason: term.reason ?? 'Error',
        message: join(`${who} failed`, lastTermination(cs)),
      };
  }
  if (init && cs.state?.running && cs.restartCount > 0 && !cs.ready) {
    // Retrying after failures: a restart loop in slow motion.
    return {
      class: 'InitContainerFailed',
      restartable: true,
      transitional: true,
      reason: lastReason ?? 'Error',
      message: join(`${who} is retrying after ${cs.restartCount} failures`, lastTermination(cs)),
    };
  }
  if (!init && cs.state?.running && !cs.ready && lastReason === 'OOMKilled') {
    return {
      class: 'OOMKilled',
      restartable: false,
      transitional: false,
      reason: 'OOMKilled',
      message: join(`${who} was OOMKilled and restarted (restarts ${cs.restartCount})`, lastTermination(cs)),
    };
  }
  return undefined;
}

export function classifyPod(pod: Pod): PodVerdict {
  const owner = controllerOf(pod);
  const status = pod.status;
  const containers = status?.containerStatuses ?? [];
  const restarts =
    containers.reduce((n, c) => n + c.restartCount, 0) +
    (status?.initContainerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0);
  const base = { pod: pod.metadata?.name ?? '?', uid: pod.metadata?.uid, owner, restarts };
  const verdict = (v: Omit<PodVerdict, keyof typeof base>): PodVerdict => ({ ...base, ...v });
  const ok = (cls: PodClass, message: string): PodVerdict =>
    verdict({ class: cls, severity: 'ok', transitional: false, restartable: false, reason: cls, message });

  // A pod being deleted is not healthy and not gone: a StatefulSet creates its same-named replacement only once it
  // is gone (after its grace period), a ReplicaSet counts it out at once. Until then it is a pod not yet replaced:
  // worth waiting for (transitional), never counted healthy, never left out of the count.
  if (pod.metadata?.deletionTimestamp !== undefined)
    return verdict({
      class: 'Terminating',
      severity: 'fail',
      transitional: true,
      restartable: false,
      reason: 'Terminating',
      message: `being deleted${pod.metadata.deletionGracePeriodSeconds !== undefined ? ` (grace ${pod.metadata.deletionGracePeriodSeconds} s)` : ''}, not replaced yet`,
    });
  const phase = status?.phase ?? '';
  if (phase === 'Succeeded') return ok('Completed', 'completed');
  if (phase === 'Failed') {
    if (status?.reason === 'Evicted') {
      // The controller has replaced it; the replacement is judged on its own. A bare evicted pod is gone for good.
      return verdict({
        class: 'Evicted',
        severity: owner ? 'warn' : 'fail',
        transitional: false,
        restartable: false,
        reason: 'Evicted',
        message: status.message ?? 'evicted',
      });
    }
    const oom = [...containers, ...(status?.initContainerStatuses ?? [])].find(
      (c) => c.state?.terminated?.reason === 'OOMKilled',
    );
    if (owner?.kind === 'Job') {
      return verdict({
        class: 'JobPodFailed',
        severity: 'warn',
        transitional: false,
        restartable: false,
        reason: oom ? 'OOMKilled' : (status?.reason ?? 'Failed'),
        message: 'pod of a Job failed; the Job status decides',
      });
    }
    if (oom)
      return verdict({
        class: 'OOMKilled',
        severity: 'fail',
        transitional: false,
        restartable: false,
        container: oom.name,
        reason: 'OOMKilled',
        message: join(`container ${oom.name} was OOMKilled`, lastTermination(oom)),
      });
    const failedC = containers.find((c) => (c.state?.terminated?.exitCode ?? 0) !== 0);
    return verdict({
      class: 'Failed',
      severity: 'fail',
      transitional: false,
      restartable: false,
      container: failedC?.name,
      reason: status?.reason ?? failedC?.state?.terminated?.reason ?? 'Failed',
      message:
        join(status?.message, failedC ? `container ${failedC.name}: ${lastTermination(failedC)}` : undefined) ||
        'pod failed',
    });
  }

  for (const cs of status?.initContainerStatuses ?? []) {
    const p = containerProblem(cs, true);
    if (p) return verdict({ ...p, severity: 'fail', container: cs.name });
  }
  const scheduled = findCondition(status?.conditions, 'PodScheduled');
  if (scheduled?.status === 'False' && scheduled.reason === 'Unschedulable') {
    return verdict({
      class: 'Unschedulable',
      severity: 'fail',
      transitional: false,
      restartable: false,
      reason: 'Unschedulable',
      message: scheduled.message ?? 'no node fits the pod',
    });
  }
  for (const cs of containers) {
    const p = containerProblem(cs, false);
    if (p) return verdict({ ...p, severity: 'fail', container: cs.name });
  }
  if (phase === 'Running' && findCondition(status?.conditions, 'Ready')?.status === 'True')
    return ok('Healthy', 'ready');
  if (phase === 'Running') {
    const notReady = containers.filter((c) => !c.ready);
    const probed = new Set(
      (pod.spec?.containers ?? []).filter((c) => c.readinessProbe ?? c.startupProbe).map((c) => c.name),
    );
    const names = notReady.map((c) => c.name);
    const probeFailing = names.some((n) => probed.has(n));
    return verdict({
      class: 'NotReady',
      severity: 'fail',
      transitional: true,
      restartable: false,
      container: names[0],
      reason: probeFailing ? 'ReadinessProbeFailing' : 'ContainersNotReady',
      message: names.length
        ? `not ready: ${names.join(', ')}${probeFailing ? ' (readiness/startup probe failing; see events)' : ''}`
        : 'pod Ready condition is not True',
    });
  }
  const waiting = [...(status?.initContainerStatuses ?? []), ...containers].find((c) => c.state?.waiting?.reason);
  const reason = waiting?.state?.waiting?.reason ?? (phase || 'PodNotObserved');
  return verdict({
    class: 'Pending',
    severity: 'fail',
    transitional: !waiting || TRANSITIONAL_WAITING.has(reason),
    restartable: false,
    container: waiting?.name,
    reason,
    message: join(
      `pod is ${phase || 'not yet observed'}`,
      waiting ? `${waiting.name}: ${reason}` : undefined,
      waiting?.state?.waiting?.message,
    ),
  });
}
