/**
 * Which of a release's workloads want pods and have none. A Deployment that wants 2 replicas and has none is stuck
 * before its pods exist (a ResourceQuota, an admission webhook or policy, a missing ServiceAccount), which no pod
 * status can show: with no pods at all, or beside other workloads whose pods are healthy (pure helpers).
 */
import { readiness } from '../deps/readiness.js';
import { findCondition, type Pod, type Workload } from '../k8s/types.js';

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

interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/**
 * Whether `labels` match a workload's `spec.selector` (matchLabels and matchExpressions, ANDed, as the apiserver
 * matches them). Undefined when the selector is missing, empty or has an operator we do not know: the caller cannot
 * tell which pods are the workload's.
 */
export function selectorMatches(selector: unknown, labels: Readonly<Record<string, string>>): boolean | undefined {
  if (selector === null || typeof selector !== 'object') return undefined;
  const { matchLabels = {}, matchExpressions = [] } = selector as LabelSelector;
  if (Object.keys(matchLabels).length === 0 && matchExpressions.length === 0) return undefined;
  let matches = Object.entries(matchLabels).every(([k, v]) => labels[k] === v);
  for (const { key, operator, values = [] } of matchExpressions) {
    const has = Object.hasOwn(labels, key);
    const value = labels[key];
    if (operator === 'In') matches &&= has && values.includes(value as string);
    else if (operator === 'NotIn') matches &&= !has || !values.includes(value as string);
    else if (operator === 'Exists') matches &&= has;
    else if (operator === 'DoesNotExist') matches &&= !has;
    else return undefined;
  }
  return matches;
}

/** Pods the workload's own status counts (a Deployment's or StatefulSet's replicas, a DaemonSet's scheduled pods). */
function podsInStatus(kind: PodOwnerKind, w: Workload): number {
  return num(kind === 'DaemonSet' ? w.status?.currentNumberScheduled : w.status?.replicas) ?? 0;
}

/**
 * Whether a workload has pods: its own status counts some, or one of the selection's `pods` matches its selector.
 * Both must say none for a shortfall, so that neither a pod template without the release label nor a status the
 * controller has not written yet makes a healthy workload look stuck. A selector we cannot read counts as matching.
 */
function hasPods(kind: PodOwnerKind, w: Workload, pods: readonly Pod[]): boolean {
  if (podsInStatus(kind, w) > 0) return true;
  return pods.some((pod) => selectorMatches(w.spec?.selector, pod.metadata?.labels ?? {}) !== false);
}

/**
 * The workloads of a selection that want pods and have none. `pods`: the pods the selection matched (empty: none
 * at all). Workloads being deleted, scaled to zero or (a DaemonSet) with no node to run on are fine.
 */
export function podShortfalls(
  found: readonly { kind: PodOwnerKind; items: readonly Workload[] }[],
  namespace: string,
  pods: readonly Pod[],
): Shortfall[] {
  const out: Shortfall[] = [];
  for (const { kind, items } of found) {
    for (const w of items) {
      if (w.metadata?.deletionTimestamp !== undefined) continue;
      const wants = desiredPods(kind, w);
      if (wants <= 0 || hasPods(kind, w, pods)) continue;
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

/** One line for a summary: how many workloads are stuck, and the first three of them. */
export function describeShortfalls(shortfalls: readonly Shortfall[]): string {
  const n = shortfalls.length;
  const first = shortfalls
    .slice(0, 3)
    .map((s) => s.message)
    .join('; ');
  return `${n} ${n === 1 ? 'workload wants pods and has' : 'workloads want pods and have'} none: ${first}${n > 3 ? '; ...' : ''}`;
}

/** A workload that is not back to every pod it wants, healthy (verification after a fix). */
export interface Unsettled {
  kind: PodOwnerKind;
  name: string;
  /** The workload's own status says it failed (kstatus Failed: ProgressDeadlineExceeded, Stalled): no use waiting. */
  failed: boolean;
  message: string;
}

/**
 * The workloads of a selection that are not settled. Every workload is judged by its own status (kstatus rules,
 * deps/readiness.ts: observedGeneration, replicas/ready/updated/available counts, currentRevision = updateRevision).
 * A workload in `fixed` (one whose pods were just evicted or restarted) must also have, among `pods`, as many
 * healthy pods matching its selector as it wants: a status the controller has not rewritten yet (it still counts the
 * evicted pod) must not pass for it. A Terminating pod is never healthy (`healthy` decides, from the verdicts).
 */
export function unsettledWorkloads(
  found: readonly { kind: PodOwnerKind; items: readonly Workload[] }[],
  pods: readonly Pod[],
  healthy: (pod: Pod) => boolean,
  fixed: ReadonlySet<string>,
  describePod: (pod: Pod) => string,
): Unsettled[] {
  const out: Unsettled[] = [];
  for (const { kind, items } of found) {
    for (const w of items) {
      if (w.metadata?.deletionTimestamp !== undefined) continue;
      const name = w.metadata?.name ?? '?';
      const id = `${kind.toLowerCase()}/${name}`;
      const mine = pods.filter((p) => selectorMatches(w.spec?.selector, p.metadata?.labels ?? {}) === true);
      const notHealthy = mine.filter((p) => !healthy(p)).map(describePod);
      const pending = notHealthy.length
        ? ` (${notHealthy.slice(0, 5).join(', ')}${notHealthy.length > 5 ? ', ...' : ''})`
        : '';
      const r = readiness(kind, w);
      if (r.status !== 'Current') {
        out.push({ kind, name, failed: r.status === 'Failed', message: `${id}: ${r.message}${pending}` });
        continue;
      }
      if (!fixed.has(`${kind}/${name}`)) continue;
      const wants = desiredPods(kind, w);
      const ok = mine.length - notHealthy.length;
      if (ok < wants)
        out.push({
          kind,
          name,
          failed: false,
          message: `${id} wants ${wants} healthy ${wants === 1 ? 'pod' : 'pods'}, has ${ok}${pending}`,
        });
    }
  }
  return out;
}

/** One line for a summary: the workloads not back to every pod they want, the first three of them. */
export function describeUnsettled(unsettled: readonly Unsettled[]): string {
  const n = unsettled.length;
  const first = unsettled
    .slice(0, 3)
    .map((u) => u.message)
    .join('; ');
  return `${n} ${n === 1 ? 'workload is' : 'workloads are'} not back to every pod ${n === 1 ? 'it wants' : 'they want'}: ${first}${n > 3 ? '; ...' : ''}`;
}
