/**
 * The label contract: every label and annotation key helm-tiers writes or reads, their values, where they are
 * written and what is never touched. The post-renderer (fast scanner, byte-preserving editor, document model),
 * the Flux patches, the hook programs, the master chart's hook labels (held to this by a chart test), the demo
 * and the tests all take it from here. Dependency-free, so every bundle can import it.
 *
 * Policy (docs/adr/0007-label-policy.md): labels are an API between objects (Service, NetworkPolicy and PDB
 * selectors, ClusterRole aggregation, software that watches its own labels), so helm-tiers only ever ADDS keys
 * under its own prefix. It never changes a value a chart rendered. `app.kubernetes.io/part-of` is written only on
 * request (`partOfLabel: true` in the plan) and only where an object has none.
 */

export const DEFAULT_LABEL_PREFIX = 'helm-tiers.io/';

/** The recommended label charts use for the application they belong to; many select on it. Never overwritten. */
export const PART_OF_LABEL = 'app.kubernetes.io/part-of';

/**
 * Annotation written by the CRD installer onto the CRDs it applied (sha256 of the manifest it applied). Fixed:
 * a CRD is cluster-wide and may be shared by plans with different prefixes.
 */
export const CRD_MANIFEST_HASH_ANNOTATION = 'helm-tiers.io/crd-manifest-sha256';

/** Every key under a plan's prefix. */
export function labelKeys(prefix: string = DEFAULT_LABEL_PREFIX) {
  return {
    /** Label and annotation: the release's tier (`"0"` for platform services). */
    tier: `${prefix}tier`,
    /** Label: the plan component. */
    component: `${prefix}component`,
    /** Label: the Helm release; the hooks select a release's pods and workloads by it. */
    release: `${prefix}release`,
    /** Label: the plan's name (what `app.kubernetes.io/part-of` used to carry). */
    plan: `${prefix}plan`,
    /** Annotation: the releases this release depends on, comma-separated. */
    dependsOn: `${prefix}depends-on`,
    /**
     * Annotation: the plan revision the object was rendered from (plan/revision.ts). Written only when the caller
     * knows it; the dependency check requires a dependency's workloads to carry the revision it was given.
     */
    planRevision: `${prefix}plan-revision`,
    /** Label of the master chart's hook objects (the hook's name): tells hook pods from the release's workloads. */
    hook: `${prefix}hook`,
  } as const;
}

/** Who a release is, as far as its labels go. */
export interface TierIdentity {
  readonly release: string;
  readonly component: string;
  readonly tier: number;
  /** The plan's name. */
  readonly plan: string;
  /** Release names this release depends on. */
  readonly dependsOn: readonly string[];
  readonly labelPrefix?: string | undefined;
  /** Also add `app.kubernetes.io/part-of: <plan>` where an object has none. */
  readonly partOfLabel?: boolean | undefined;
  /** Extra ordering annotations for other tools. */
  readonly argocd?: boolean | undefined;
  readonly kapp?: boolean | undefined;
  /**
   * The plan revision (plan/revision.ts) the release is rendered from: written as the `<prefix>plan-revision`
   * annotation. Absent or empty: not written (what was rendered before revisions existed, byte for byte).
   */
  readonly planRevision?: string | undefined;
}

/**
 * One key to write: `[key, value]`, or `[key, value, 'ifAbsent']` for a key that is added only where the map has
 * none (any existing value, even a different one, is the chart's and stays).
 */
export type Entry = readonly [key: string, value: string, mode?: 'ifAbsent'];
export type Entries = readonly Entry[];

export interface TierMetadata {
  /** On every object's metadata.labels and on every pod template's metadata.labels. */
  readonly labels: Entries;
  /** On every object's metadata.annotations (never on pod templates: a change would restart pods). */
  readonly annotations: Entries;
}

/** Entries as a plain key → value map (every entry, whatever its mode). */
export function entryMap(entries: Entries): Record<string, string> {
  return Object.fromEntries(entries.map(([k, v]) => [k, v]));
}

/** Label values: the tier as a decimal string, release lists comma-separated. */
export const tierValue = (tier: number): string => String(tier);
export const dependsOnValue = (releases: readonly string[]): string => releases.join(',');

/** What a release's objects get. Keys are ordered: inserted in this order, so outputs are deterministic. */
export function tierMetadata(id: TierIdentity): TierMetadata {
  const k = labelKeys(id.labelPrefix);
  const labels: Entry[] = [
    [k.tier, tierValue(id.tier)],
    [k.component, id.component],
    [k.release, id.release],
    [k.plan, id.plan],
  ];
  if (id.partOfLabel) labels.push([PART_OF_LABEL, id.plan, 'ifAbsent']);
  const annotations: Entry[] = [
    [k.tier, tierValue(id.tier)],
    [k.dependsOn, dependsOnValue(id.dependsOn)],
  ];
  // Object metadata only, like every annotation here: on a workload it changes no pod template, so a new revision
  // alone restarts no pods (the Deployment's generation does not even move).
  if (id.planRevision) annotations.push([k.planRevision, id.planRevision]);
  // Argo CD applies lower waves first; the tier is exactly that order.
  if (id.argocd) annotations.push(['argocd.argoproj.io/sync-wave', tierValue(id.tier)]);
  // kapp: one change group per release; a release waits for the groups of its dependencies.
  if (id.kapp) {
    annotations.push(['kapp.k14s.io/change-group', `${id.plan}/${id.release}`]);
    id.dependsOn.forEach((dep, i) => {
      annotations.push([
        i === 0 ? 'kapp.k14s.io/change-rule' : `kapp.k14s.io/change-rule.${i}`,
        `upsert after upserting ${id.plan}/${dep}`,
      ]);
    });
  }
  return { labels, annotations };
}

/** Built-in workloads and where their pod template lives. */
export interface Workloads {
  /**
   * API group (`apps/v1` → `apps`). Matching by group too keeps look-alike custom resources (a `Deployment` of
   * `example.com`) out: their `spec.template` need not be a pod template.
   */
  readonly group: string;
  readonly kinds: readonly string[];
  /** Path of the pod template from the object root. */
  readonly template: readonly string[];
}

/** The pod templates that get the labels (never annotations). */
export const WORKLOADS: readonly Workloads[] = [
  { group: 'apps', kinds: ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'], template: ['spec', 'template'] },
  { group: 'batch', kinds: ['Job'], template: ['spec', 'template'] },
  { group: 'batch', kinds: ['CronJob'], template: ['spec', 'jobTemplate', 'spec', 'template'] },
];

/**
 * Never written, whatever the object: selectors (they would select other things), StatefulSet
 * `volumeClaimTemplates` (immutable on a live StatefulSet: an upgrade would fail), any other nested metadata, and
 * every key outside the prefix that is already there.
 */
export const NEVER_TOUCHED = [
  'spec.selector and every other label selector',
  'spec.volumeClaimTemplates',
  'nested metadata other than the pod templates of WORKLOADS',
  'a key the object already has (outside our prefix: kept; under our prefix with another value: E_CONFLICT)',
] as const;

/** The API group of an `apiVersion` (`v1` → the core group, ``). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

/** The pod-template path of a built-in workload, or undefined for anything else. */
export function podTemplatePath(apiVersion: string, kind: string): readonly string[] | undefined {
  const group = groupOf(apiVersion);
  return WORKLOADS.find((w) => w.group === group && w.kinds.includes(kind))?.template;
}
