import { tierMetadata } from '../../plan/metadata.js';

/** The metadata of tier1-database in the example plan, as the post-renderer would write it. */
export const META = tierMetadata({
  release: 'tier1-database',
  component: 'database',
  tier: 1,
  partOf: 'platform',
  dependsOn: [],
  labelPrefix: 'helm-tiers.io/',
});

export const LABEL_KEYS = META.labels.map(([k]) => k);
export const ANNOTATION_KEYS = META.annotations.map(([k]) => k);
