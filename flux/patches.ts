/**
 * The post-renderer's edits expressed as kustomize patches, for Flux `spec.postRenderers[].kustomize.patches`
 * (Flux never runs external post-renderers) and for `kubectl kustomize`, which runs the same engine.
 *
 * Strategic-merge patches with a placeholder kind/name and a `target` selector: kustomize applies the patch to
 * every object the target selects, whatever its name (FACTS.md: verified with kustomize 5.7.1). A strategic merge
 * creates missing maps (`labels`, `annotations`, template `metadata`), which a JSON6902 `add` would not.
 */
import { stringify } from 'yaml';
import { entryMap, WORKLOADS, type Entries, type TierMetadata } from '../core/labels.js';

export interface KustomizePatch {
  readonly patch: string;
  readonly target: { readonly group?: string; readonly kind: string };
}

/**
 * A strategic merge sets a key whatever the object holds, so the patches carry only the keys that are always
 * written: a key added only where absent (`app.kubernetes.io/part-of` with `partOfLabel`) cannot be expressed
 * (kustomize has no "add if absent"; a JSON patch `test` would fail the whole release), and is left out.
 */
const toMap = (entries: Entries) => entryMap(entries.filter(([, , mode]) => mode !== 'ifAbsent'));

/** The keys the Flux path cannot write (see `toMap`). */
export function keysFluxCannotWrite(meta: TierMetadata): string[] {
  return [...meta.labels, ...meta.annotations].filter(([, , mode]) => mode === 'ifAbsent').map(([k]) => k);
}

/** Regex for kustomize's target selector, anchored so `Job` never selects `CronJob`. */
const anyOf = (list: readonly string[]) => `^(${list.join('|')})$`;

/** `{ spec: { template: inner } }` for the path `['spec', 'template']`. */
const nest = (path: readonly string[], inner: unknown): Record<string, unknown> =>
  path.reduceRight<Record<string, unknown>>((acc, key) => ({ [key]: acc }), inner as Record<string, unknown>);

function smp(body: Record<string, unknown>): string {
  // Placeholder identity: with a target selector, kustomize ignores the patch's own kind and name.
  return stringify(
    { apiVersion: 'v1', kind: 'HelmTiersPatch', metadata: { name: 'helm-tiers' }, ...body },
    { version: '1.1', lineWidth: 0, defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' },
  );
}

export function kustomizePatches(meta: TierMetadata): KustomizePatch[] {
  const labels = toMap(meta.labels);
  const podTemplate = { metadata: { labels } };
  return [
    {
      patch: smp({ metadata: { name: 'helm-tiers', labels, annotations: toMap(meta.annotations) } }),
      target: { kind: '.*' },
    },
    // By group and kind, as the post-renderer matches: a custom resource named like a workload is left alone.
    ...WORKLOADS.map((w) => ({
      patch: smp(nest(w.template, podTemplate)),
      target: { group: `^${w.group}$`, kind: anyOf(w.kinds) },
    })),
  ];
}

/**
 * A kustomization that does what Flux's post-renderer does: Helm's render verbatim as its only resource, with the
 * patches. `kubectl kustomize` on it runs the same engine as helm-controller (tests and the benchmark use it).
 */
export function fluxLikeKustomization(resource: string, patches: readonly KustomizePatch[]): string {
  return stringify({
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: [resource],
    patches,
  });
}
