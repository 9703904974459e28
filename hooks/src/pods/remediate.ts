/**
 * Decides what to restart. Only restartable verdicts, only controller-owned pods, never Job pods or bare pods.
 * When most pods of one controller are bad, a rollout restart of the workload replaces them in order (respecting
 * maxUnavailable); otherwise each bad pod is evicted (respecting PodDisruptionBudgets). Nothing is ever force-deleted.
 */
import type { RestartableKind } from '../k8s/client.js';
import type { Owner, PodVerdict } from './classify.js';

export type Action =
  | { type: 'evict'; pod: string; reason: string }
  | { type: 'restart'; kind: RestartableKind; name: string; pods: string[]; reason: string };

export interface Skip {
  pod: string;
  why: string;
}

export interface Plan {
  actions: Action[];
  skipped: Skip[];
}

/** Upper bound on evictions in one run; beyond it the problem is not a transient crash loop. */
export const MAX_EVICTIONS = 100;

const RESTARTABLE: ReadonlySet<string> = new Set(['Deployment', 'StatefulSet', 'DaemonSet']);

/**
 * @param verdicts every classified pod of the selection (healthy ones too: they count towards "most").
 * @param topOwner the workload that owns a direct controller (ReplicaSet → Deployment), when known.
 */
export function planRemediation(verdicts: readonly PodVerdict[], topOwner: (direct: Owner) => Owner | undefined): Plan {
  const actions: Action[] = [];
  const skipped: Skip[] = [];
  const live = verdicts.filter((v) => v.class !== 'Terminating' && v.class !== 'Completed');
  const byController = new Map<string, { owner: Owner; total: number; bad: PodVerdict[] }>();
  for (const v of live) {
    if (!v.owner) continue;
    const key = `${v.owner.kind}/${v.owner.name}`;
    const g = byController.get(key) ?? { owner: v.owner, total: 0, bad: [] };
    g.total++;
    byController.set(key, g);
  }
  for (const v of live.filter((x) => x.severity === 'fail')) {
    if (!v.restartable) {
      skipped.push({ pod: v.pod, why: `${v.class}: a restart does not fix it` });
      continue;
    }
    if (!v.owner) {
      skipped.push({ pod: v.pod, why: 'no controller: a bare pod would be gone for good' });
      continue;
    }
    if (v.owner.kind === 'Job' || v.owner.kind === 'CronJob') {
      skipped.push({ pod: v.pod, why: 'owned by a Job: its backoffLimit governs retries' });
      continue;
    }
    byController.get(`${v.owner.kind}/${v.owner.name}`)?.bad.push(v);
  }
  let evictions = 0;
  for (const g of byController.values()) {
    if (g.bad.length === 0) continue;
    const top = g.owner.kind === 'ReplicaSet' ? topOwner(g.owner) : g.owner;
    const most = g.bad.length * 2 > g.total;
    if (most && top && RESTARTABLE.has(top.kind)) {
      actions.push({
        type: 'restart',
        kind: top.kind as RestartableKind,
        name: top.name,
        pods: g.bad.map((b) => b.pod),
        reason: `${g.bad.length}/${g.total} pods of ${g.owner.kind}/${g.owner.name} are ${[...new Set(g.bad.map((b) => b.class))].join('/')}`,
      });
      continue;
    }
    for (const b of g.bad) {
      if (evictions >= MAX_EVICTIONS) {
        skipped.push({ pod: b.pod, why: `eviction budget of ${MAX_EVICTIONS} per run used up` });
        continue;
      }
      evictions++;
      actions.push({
        type: 'evict',
        pod: b.pod,
        reason: `${b.class} (${g.bad.length}/${g.total} pods of ${g.owner.kind}/${g.owner.name} bad)`,
      });
    }
  }
  return { actions, skipped };
}

export function describeAction(a: Action): string {
  return a.type === 'evict'
    ? `evict pod ${a.pod} (${a.reason})`
    : `rollout restart ${a.kind.toLowerCase()}/${a.name} (${a.reason})`;
}
