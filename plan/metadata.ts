/**
 * A plan's release as the label contract (core/labels.ts) sees it, and the values every path installs it with.
 */
import type { TierIdentity } from '../core/labels.js';
import { dependencyReleases, findComponent, type Plan, type Values } from './plan.js';

export function identityFor(plan: Plan, release: string): TierIdentity {
  const c = findComponent(plan, release);
  return {
    release: c.release,
    component: c.name,
    tier: c.tier,
    plan: plan.name,
    dependsOn: dependencyReleases(plan, c),
    labelPrefix: plan.labelPrefix,
    partOfLabel: plan.partOfLabel,
  };
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
        plan: plan.name,
        partOfLabel: plan.partOfLabel,
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
