/**
 * What the post-renderer (and the Flux patches, and the hooks' selectors) write onto objects for one release.
 * Keys are ordered: the post-renderer inserts them in this order, so outputs are deterministic.
 */
import { DEFAULT_LABEL_PREFIX, dependencyReleases, findComponent, type Plan, type Values } from './plan.js';

export const PART_OF_LABEL = 'app.kubernetes.io/part-of';

export interface TierMetadata {
  /** On every object's metadata.labels and on every pod template's metadata.labels. */
  readonly labels: ReadonlyArray<readonly [string, string]>;
  /** On every object's metadata.annotations (never on pod templates: a change would restart pods). */
  readonly annotations: ReadonlyArray<readonly [string, string]>;
}

export interface TierIdentity {
  readonly release: string;
  readonly component: string;
  readonly tier: number;
  readonly partOf: string;
  /** Release names this release depends on. */
  readonly dependsOn: readonly string[];
  readonly labelPrefix?: string | undefined;
  /** Extra ordering annotations for other tools. */
  readonly argocd?: boolean | undefined;
  readonly kapp?: boolean | undefined;
}

export function labelKeys(prefix = DEFAULT_LABEL_PREFIX) {
  return {
    tier: `${prefix}tier`,
    component: `${prefix}component`,
    release: `${prefix}release`,
    partOf: PART_OF_LABEL,
    dependsOn: `${prefix}depends-on`,
  } as const;
}

export function identityFor(plan: Plan, release: string): TierIdentity {
  const c = findComponent(plan, release);
  return {
    release: c.release,
    component: c.name,
    tier: c.tier,
    partOf: plan.name,
    dependsOn: dependencyReleases(plan, c),
    labelPrefix: plan.labelPrefix,
  };
}

export function tierMetadata(id: TierIdentity): TierMetadata {
  const k = labelKeys(id.labelPrefix);
  const labels: [string, string][] = [
    [k.tier, String(id.tier)],
    [k.component, id.component],
    [k.release, id.release],
    [k.partOf, id.partOf],
  ];
  const annotations: [string, string][] = [
    [k.tier, String(id.tier)],
    [k.dependsOn, id.dependsOn.join(',')],
  ];
  // Argo CD applies lower waves first; the tier is exactly that order.
  if (id.argocd) annotations.push(['argocd.argoproj.io/sync-wave', String(id.tier)]);
  // kapp: one change group per release; a release waits for the groups of its dependencies.
  if (id.kapp) {
    annotations.push(['kapp.k14s.io/change-group', `${id.partOf}/${id.release}`]);
    id.dependsOn.forEach((dep, i) => {
      annotations.push([
        i === 0 ? 'kapp.k14s.io/change-rule' : `kapp.k14s.io/change-rule.${i}`,
        `upsert after upserting ${id.partOf}/${dep}`,
      ]);
    });
  }
  return { labels, annotations };
}

function isPlainObject(v: unknown): v is Values {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge for Helm values: maps merge, everything else is replaced by `over`. */
export function mergeValues(base: Values, over: Values): Values {
  const out: Values = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const prev = out[key];
    out[key] = isPlainObject(prev) && isPlainObject(value) ? mergeValues(prev, value) : value;
  }
  return out;
}

/**
 * The values a release is installed with: the component's plan values, plus what the chart's hooks and
 * templates need to know about the plan (`global.tiers`, the component's CRD lists). Used by the demo, the tests
 * and the Flux generator, so every path installs the same thing.
 */
export function releaseValues(plan: Plan, release: string): Values {
  const c = findComponent(plan, release);
  const derived: Values = {
    global: {
      tiers: {
        component: c.name,
        tier: c.tier,
        dependsOn: dependencyReleases(plan, c),
        labelPrefix: plan.labelPrefix,
        partOf: plan.name,
      },
    },
  };
  if (c.requiredCRDs.length > 0 || c.optionalCRDs.length > 0) {
    derived[c.name] = {
      requiresCRDs: c.requiredCRDs.length > 0,
      requiredCRDs: [...c.requiredCRDs],
      optionalCRDs: [...c.optionalCRDs],
    };
  }
  return mergeValues(c.values, derived);
}
