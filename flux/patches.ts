/**
 * The post-renderer's edits expressed as kustomize patches, for Flux `spec.postRenderers[].kustomize.patches`
 * (Flux never runs external post-renderers) and for `kubectl kustomize`, which runs the same engine.
 *
 * Strategic-merge patches with a placeholder kind/name and a `target` selector: kustomize applies the patch to
 * every object the target selects, whatever its name (FACTS.md: verified with kustomize 5.7.1). A strategic merge
 * creates missing maps (`labels`, `annotations`, template `metadata`), which a JSON6902 `add` would not.
 */
import { stringify } from 'yaml';
import { JOB_TEMPLATE_KINDS, POD_TEMPLATE_KINDS, type InjectionMetadata } from '../post-renderer/src/targets.js';

export interface KustomizePatch {
  readonly patch: string;
  readonly target: { readonly kind: string };
}

const toMap = (entries: InjectionMetadata['labels']) => Object.fromEntries(entries);

/** Regex for kustomize's target selector, anchored so `Job` never selects `CronJob`. */
const kinds = (list: readonly string[]) => `^(${list.join('|')})$`;

function smp(body: Record<string, unknown>): string {
  // Placeholder identity: with a target selector, kustomize ignores the patch's own kind and name.
  return stringify(
    { apiVersion: 'v1', kind: 'HelmTiersPatch', metadata: { name: 'helm-tiers' }, ...body },
    { version: '1.1', lineWidth: 0, defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' },
  );
}

export function kustomizePatches(meta: InjectionMetadata): KustomizePatch[] {
  const labels = toMap(meta.labels);
  const podTemplate = { metadata: { labels } };
  return [
    {
      patch: smp({ metadata: { name: 'helm-tiers', labels, annotations: toMap(meta.annotations) } }),
      target: { kind: '.*' },
    },
    { patch: smp({ spec: { template: podTemplate } }), target: { kind: kinds(POD_TEMPLATE_KINDS) } },
    {
      patch: smp({ spec: { jobTemplate: { spec: { template: podTemplate } } } }),
      target: { kind: kinds(JOB_TEMPLATE_KINDS) },
    },
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
