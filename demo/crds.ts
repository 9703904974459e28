/**
 * CRDs for the crd-install hook on the simulated cluster. The real ones (Prometheus operator v0.93, Kyverno 1.19)
 * come from ../shared/crds when that folder exists; otherwise a small embedded set with the same names, kinds and
 * served versions (schemas left open) stands in, and the demo says so.
 */
import { existsSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export interface CrdSource {
  /** Directory for `--crds-dir` / `HT_CRDS_DIR`. */
  readonly dir: string;
  /** True when the manifests are the real upstream CRDs. */
  readonly real: boolean;
  /** One line for the user: where the CRDs come from. */
  readonly note: string;
}

/** The shared test-data folder next to the repository (`../shared`), per the contributing rules. */
export function sharedDir(root: string): string {
  return resolve(root, '../shared');
}

/** Upstream folders of ../shared/crds the plan's CRDs come from (Kyverno 1.13+ only, not the 1.12 profile). */
const REAL_SETS = ['prometheus-operator', 'kyverno'] as const;

interface CrdSpec {
  plural: string;
  group: string;
  kind: string;
  version: string;
  scope: 'Namespaced' | 'Cluster';
}

/** The CRDs the example plan requires or mentions, with the versions the chart's Capabilities guards look for. */
export const EMBEDDED_CRDS: readonly CrdSpec[] = [
  { plural: 'prometheuses', group: 'monitoring.coreos.com', kind: 'Prometheus', version: 'v1', scope: 'Namespaced' },
  {
    plural: 'servicemonitors',
    group: 'monitoring.coreos.com',
    kind: 'ServiceMonitor',
    version: 'v1',
    scope: 'Namespaced',
  },
  { plural: 'podmonitors', group: 'monitoring.coreos.com', kind: 'PodMonitor', version: 'v1', scope: 'Namespaced' },
  {
    plural: 'prometheusrules',
    group: 'monitoring.coreos.com',
    kind: 'PrometheusRule',
    version: 'v1',
    scope: 'Namespaced',
  },
  { plural: 'alertmanagers', group: 'monitoring.coreos.com', kind: 'Alertmanager', version: 'v1', scope: 'Namespaced' },
  { plural: 'clusterpolicies', group: 'kyverno.io', kind: 'ClusterPolicy', version: 'v1', scope: 'Cluster' },
  { plural: 'policies', group: 'kyverno.io', kind: 'Policy', version: 'v1', scope: 'Namespaced' },
  { plural: 'policyexceptions', group: 'kyverno.io', kind: 'PolicyException', version: 'v2', scope: 'Namespaced' },
  { plural: 'cleanuppolicies', group: 'kyverno.io', kind: 'CleanupPolicy', version: 'v2', scope: 'Namespaced' },
  {
    plural: 'clustercleanuppolicies',
    group: 'kyverno.io',
    kind: 'ClusterCleanupPolicy',
    version: 'v2',
    scope: 'Cluster',
  },
  { plural: 'updaterequests', group: 'kyverno.io', kind: 'UpdateRequest', version: 'v2', scope: 'Namespaced' },
  { plural: 'policyreports', group: 'wgpolicyk8s.io', kind: 'PolicyReport', version: 'v1alpha2', scope: 'Namespaced' },
  {
    plural: 'clusterpolicyreports',
    group: 'wgpolicyk8s.io',
    kind: 'ClusterPolicyReport',
    version: 'v1alpha2',
    scope: 'Cluster',
  },
];

export function embeddedCrd(s: CrdSpec): Record<string, unknown> {
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${s.plural}.${s.group}`, annotations: { 'helm-tiers.io/embedded-demo-crd': 'true' } },
    spec: {
      group: s.group,
      names: { plural: s.plural, singular: s.kind.toLowerCase(), kind: s.kind, listKind: `${s.kind}List` },
      scope: s.scope,
      versions: [
        {
          name: s.version,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
        },
      ],
    },
  };
}

/**
 * A CRD directory under `workDir`: links to the real upstream sets when `../shared/crds` exists (unless
 * `embedded` is forced), else the embedded set written as `<group>_<plural>.yaml` (the upstream file naming the
 * installer looks up first).
 */
export function prepareCrds(root: string, workDir: string, opts: { embedded?: boolean } = {}): CrdSource {
  const dir = join(workDir, 'crds');
  mkdirSync(dir, { recursive: true });
  const shared = join(sharedDir(root), 'crds');
  if (!opts.embedded && REAL_SETS.every((s) => existsSync(join(shared, s)))) {
    for (const s of REAL_SETS) symlinkSync(join(shared, s), join(dir, s));
    return {
      dir,
      real: true,
      note: `real upstream CRDs from ${shared} (${REAL_SETS.join(', ')})`,
    };
  }
  for (const s of EMBEDDED_CRDS) {
    writeFileSync(join(dir, `${s.group}_${s.plural}.yaml`), `${JSON.stringify(embeddedCrd(s), null, 2)}\n`);
  }
  return {
    dir,
    real: false,
    note: opts.embedded
      ? `a small embedded CRD set (${EMBEDDED_CRDS.length} CRDs, open schemas)`
      : `${shared} is absent: using a small embedded CRD set (${EMBEDDED_CRDS.length} CRDs, open schemas) instead of the real upstream CRDs`,
  };
}
