// The disruption controller's arithmetic (pkg/controller/disruption), shared by the eviction endpoint (http.ts) and
// the PodDisruptionBudget status writer (controllers.ts).
import type { Cluster } from './core.js';
import { matchLabelSelector } from './selectors.js';
import type { Obj } from './types.js';

/** The pod's Ready condition is True. */
export function isPodReady(p: Obj): boolean {
  return (p.status?.conditions ?? []).some((c: Obj) => c.type === 'Ready' && c.status === 'True');
}

/**
 * The disruption controller's expected scale: the replicas of each pod's controller (a ReplicaSet's Deployment, a
 * StatefulSet, ...), counted once per controller. Pods without a scalable controller count one each (the real
 * controller fails its sync for them instead).
 */
function expectedScale(cluster: Cluster, pods: Obj[]): number {
  const seen = new Set<string>();
  let n = 0;
  for (const p of pods) {
    const ref = (p.metadata.ownerReferences ?? []).find((r: Obj) => r.controller === true);
    let owner: Obj | undefined;
    if (ref?.kind === 'ReplicaSet') {
      const rs = cluster.store.peek('apps/replicasets', p.metadata.namespace, ref.name);
      const dref = (rs?.metadata.ownerReferences ?? []).find((r: Obj) => r.controller === true);
      owner =
        dref?.kind === 'Deployment' ? cluster.store.peek('apps/deployments', p.metadata.namespace, dref.name) : rs;
    } else if (ref?.kind === 'StatefulSet')
      owner = cluster.store.peek('apps/statefulsets', p.metadata.namespace, ref.name);
    if (!owner) {
      n++;
      continue;
    }
    if (seen.has(owner.metadata.uid)) continue;
    seen.add(owner.metadata.uid);
    n += Number(owner.spec?.replicas ?? 1);
  }
  return n;
}

/**
 * Disruption arithmetic of the disruption controller (pkg/controller/disruption), computed on demand from the live
 * pods: pods being deleted are not healthy; maxUnavailable and percentages scale with the controllers' replicas, an
 * integer minAvailable with the selected pods; no expected pods or neither field set allows no disruption.
 */
export function pdbStatus(
  cluster: Cluster,
  pdb: Obj,
): { disruptionsAllowed: number; currentHealthy: number; desiredHealthy: number; expectedPods: number } {
  const pods = cluster.store
    .list('/pods', pdb.metadata.namespace)
    .filter((p) => matchLabelSelector(pdb.spec?.selector ?? null, p.metadata.labels));
  const healthy = pods.filter((p) => !p.metadata.deletionTimestamp && isPodReady(p)).length;
  const scaled = (v: unknown, total: number) =>
    typeof v === 'string' && v.endsWith('%') ? Math.ceil((Number(v.slice(0, -1)) * total) / 100) : Number(v);
  let expected = 0;
  let desired = 0;
  const { maxUnavailable, minAvailable } = pdb.spec ?? {};
  if (maxUnavailable !== undefined && maxUnavailable !== null) {
    expected = expectedScale(cluster, pods);
    desired = Math.max(0, expected - scaled(maxUnavailable, expected));
  } else if (minAvailable !== undefined && minAvailable !== null) {
    if (typeof minAvailable === 'string' && minAvailable.endsWith('%')) {
      expected = expectedScale(cluster, pods);
      desired = scaled(minAvailable, expected);
    } else {
      expected = pods.length;
      desired = Number(minAvailable);
    }
  }
  const allowed = healthy - desired;
  return {
    disruptionsAllowed: expected <= 0 || allowed <= 0 ? 0 : allowed,
    currentHealthy: healthy,
    desiredHealthy: desired,
    expectedPods: expected,
  };
}
