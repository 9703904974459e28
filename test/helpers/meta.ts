import { tierMetadata } from '../../core/labels.js';

/** The metadata of tier1-database in the example plan, as the post-renderer would write it. */
export const META = tierMetadata({
  release: 'tier1-database',
  component: 'database',
  tier: 1,
  plan: 'platform',
  dependsOn: [],
  labelPrefix: 'helm-tiers.io/',
});

export const LABEL_KEYS = META.labels.map(([k]) => k);
export const ANNOTATION_KEYS = META.annotations.map(([k]) => k);

/** The same with the plan's `partOfLabel`: `app.kubernetes.io/part-of` added where an object has none. */
export const META_PART_OF = tierMetadata({
  release: 'tier1-database',
  component: 'database',
  tier: 1,
  plan: 'platform',
  partOfLabel: true,
  dependsOn: [],
  labelPrefix: 'helm-tiers.io/',
});
