/** Judges listed CRDs against requirements: exists, Established=True, NamesAccepted=True, version served. */
import { HookErrorCodes, type HookErrorCode } from '../errors.js';
import { findCondition, type Crd } from '../k8s/types.js';
import { servedVersions } from './manifests.js';
import type { CrdRequirement } from './selection.js';

export type CrdState = 'Ready' | 'Missing' | 'NamesNotAccepted' | 'NotEstablished' | 'VersionNotServed';

export interface CrdRow {
  name: string;
  required: boolean;
  state: CrdState;
  reason: string;
  /** Versions the cluster serves, for the table. */
  served: string[];
}

export function evaluateCrd(req: CrdRequirement, crd: Crd | undefined): CrdRow {
  const base = { name: req.name, required: req.required };
  if (!crd) return { ...base, state: 'Missing', reason: 'not installed', served: [] };
  const served = servedVersions(crd);
  const conds = crd.status?.conditions;
  const names = findCondition(conds, 'NamesAccepted');
  // kstatus: NamesAccepted=False is a failure (a name clash); a missing condition only means "not yet".
  if (names?.status === 'False') {
    return {
      ...base,
      state: 'NamesNotAccepted',
      reason: `${names.reason ?? 'NamesAccepted=False'}${names.message ? `: ${names.message}` : ''}`,
      served,
    };
  }
  const est = findCondition(conds, 'Established');
  if (est?.status !== 'True' || names?.status !== 'True') {
    const c = est?.status !== 'True' ? est : names;
    const type = est?.status !== 'True' ? 'Established' : 'NamesAccepted';
    const why = c
      ? `${type}=${c.status}${c.reason ? ` (${c.reason})` : ''}${c.message ? `: ${c.message}` : ''}`
      : `no ${type} condition yet`;
    return { ...base, state: 'NotEstablished', reason: why, served };
  }
  if (req.version !== undefined && !served.includes(req.version)) {
    return {
      ...base,
      state: 'VersionNotServed',
      reason: `needs ${req.version}, serves ${served.join(', ') || 'nothing'}`,
      served,
    };
  }
  return {
    ...base,
    state: 'Ready',
    reason: req.version ? `serves ${req.version}` : `serves ${served.join(', ')}`,
    served,
  };
}

export function evaluateAll(reqs: readonly CrdRequirement[], crds: ReadonlyMap<string, Crd>): CrdRow[] {
  return reqs.map((r) => evaluateCrd(r, crds.get(r.name)));
}

/** The exit code class of a set of rows: the most actionable failure among required CRDs wins. */
export function outcome(rows: readonly CrdRow[]): HookErrorCode | undefined {
  const bad = rows.filter((r) => r.required && r.state !== 'Ready');
  if (bad.some((r) => r.state === 'Missing')) return HookErrorCodes.CRD_MISSING;
  if (bad.some((r) => r.state === 'NotEstablished' || r.state === 'NamesNotAccepted'))
    return HookErrorCodes.CRD_NOT_READY;
  if (bad.length > 0) return HookErrorCodes.CRD_VERSION_NOT_SERVED;
  return undefined;
}

export function crdTableRows(rows: readonly CrdRow[]): string[][] {
  return rows.map((r) => [
    r.name,
    r.required ? 'required' : 'optional',
    r.state === 'Ready' ? 'OK' : r.required ? r.state : `${r.state} (warning)`,
    r.reason,
  ]);
}

/** How to fix: the chart value that installs them, or the manual server-side apply. */
export function fixHint(rows: readonly CrdRow[], crdsDir: string): string {
  const bad = rows.filter((r) => r.required && r.state !== 'Ready');
  if (bad.length === 0) return '';
  const files = bad.map((r) => {
    const dot = r.name.indexOf('.');
    return `${crdsDir}/${r.name.slice(dot + 1)}_${r.name.slice(0, dot)}.yaml`;
  });
  const lines = [
    `To fix: install the missing/outdated CRDs before this release, either`,
    `  - let the chart do it: helm upgrade ... --set global.autoInstallCRDs=true`,
    `  - or by hand (server-side apply: these CRDs are too large for client-side apply):`,
    `      kubectl apply --server-side --force-conflicts -f ${files.join(' -f ')}`,
    `    (the manifests ship in the hooks image under ${crdsDir}, and in the upstream release of the operator)`,
  ];
  if (bad.some((r) => r.state === 'NamesNotAccepted'))
    lines.push('  NamesNotAccepted means another CRD already uses one of these names: remove the conflicting CRD.');
  return lines.join('\n') + '\n';
}
