/**
 * When a release has no pods at all: which of its workloads want pods anyway. Zero pods is healthy only when nothing
 * asks for any; a Deployment that wants 2 replicas and has none is stuck before its pods exist (a ResourceQuota, an
 * admission webhook or policy, a missing ServiceAccount), which no pod status can show (pure helpers).
 */
import { findCondition, type Workload } from '../k8s/types.js';

/** The workload kinds that own long-running pods and that pod-check can list. */
export const POD_OWNER_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet'] as const;
export type PodOwnerKind = (typeof POD_OWNER_KINDS)[number];

export interface Shortfall {
  kind: PodOwnerKind;
  name: string;
  uid?: string | undefined;
  /** Pods the workload wants (replicas; for a DaemonSet the nodes it should run on). */
  wants: number;
  /** The controller's own explanation when it gives one (Deployment `ReplicaFailure`, e.g. FailedCreate + message). */
  cause?: string | undefined;
  /** One line: what is wrong, why when known, and where to look. */
  message: string;
}

const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/** Pods a workload wants: spec.replicas (default 1) or, for a DaemonSet, status.desiredNumberScheduled. */
export function desiredPods(kind: PodOwnerKind, w: Workload): number {
  if (kind === 'DaemonSet') return num(w.status?.desiredNumberScheduled) ?? 0;
  return num(w.spec?.replicas) ?? 1;
}

function matchLabels(w: Workload): string {
  const sel = w.spec?.selector as { matchLabels?: Record<string, string> } | undefined;
  return Object.entries(sel?.matchLabels ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(',');
}

function hint(kind: PodOwnerKind, w: Workload, namespace: string): string {
  const name = w.metadata?.name ?? '?';
  if (kind === 'Deployment') {
    const labels = matchLabels(w);
    return `check quota / admission (kubectl describe rs -n ${namespace}${labels ? ` -l ${labels}` : ''})`;
  }
  return `check quota / admission (kubectl describe ${kind.toLowerCase()} -n ${namespace} ${name})`;
}

/**
 * The workloads (of a selection that matched no pod) that want pods. Workloads being deleted, scaled to zero or (a
 * DaemonSet) with no node to run on are fine.
 */
export function podShortfalls(
  found: readonly { kind: PodOwnerKind; items: readonly Workload[] }[],
  namespace: string,
): Shortfall[] {
  const out: Shortfall[] = [];
  for (const { kind, items } of found) {
    for (const w of items) {
      if (w.metadata?.deletionTimestamp !== undefined) continue;
      const wants = desiredPods(kind, w);
      if (wants <= 0) continue;
      const name = w.metadata?.name ?? '?';
      const failure = findCondition(w.status?.conditions, 'ReplicaFailure');
      const cause =
        failure?.status === 'True'
          ? `${failure.reason ?? 'ReplicaFailure'}${failure.message ? `: ${failure.message}` : ''}`
          : undefined;
      const what =
        kind === 'DaemonSet'
          ? `wants ${wants} ${wants === 1 ? 'pod' : 'pods'}`
          : `wants ${wants} ${wants === 1 ? 'replica' : 'replicas'}`;
      out.push({
        kind,
        name,
        uid: w.metadata?.uid,
        wants,
        cause,
        message: `${kind.toLowerCase()}/${name} ${what}, 0 pods exist${cause ? ` (${cause})` : ''}: ${hint(kind, w, namespace)}`,
      });
    }
  }
  return out;
}
