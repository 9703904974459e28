/**
 * Where the post-renderer writes, from the label contract (core/labels.ts): one table shared by the fast scanner,
 * the byte-preserving editor, the document model and the Flux patch generator, so all of them agree by
 * construction.
 */
import { podTemplatePath, type Entries, type TierMetadata } from '../../core/labels.js';

export interface Target {
  /** Path of the map to write into, from the object root. */
  readonly path: readonly string[];
  readonly entries: Entries;
  /**
   * The number of leading path segments that must already exist as a mapping for this target to apply. Object
   * metadata is always created; a pod template's labels only when the template itself exists.
   */
  readonly mustExist: number;
}

/** The targets for an object of `apiVersion` and `kind`, in the order edits are made. */
export function targetsFor(apiVersion: string, kind: string, meta: TierMetadata): Target[] {
  const targets: Target[] = [
    { path: ['metadata', 'labels'], entries: meta.labels, mustExist: 0 },
    { path: ['metadata', 'annotations'], entries: meta.annotations, mustExist: 0 },
  ];
  const template = podTemplatePath(apiVersion, kind);
  if (template) {
    targets.push({ path: [...template, 'metadata', 'labels'], entries: meta.labels, mustExist: template.length });
  }
  return targets.filter((t) => t.entries.length > 0);
}

/**
 * Whether a document is a List whose items are the objects we write into (Helm and kustomize flatten Lists): a
 * `kind: List` whatever its items, or a kind ending in `List` whose `items` is a sequence (`items`, undefined when
 * it is absent or not a sequence) of objects only (`isObject`: a mapping with apiVersion and kind). Anything else
 * is one object that gets labels itself, however its kind ends: a custom resource `kind: IPAllowList` with a
 * `spec`, a `kind: PortList` with `items: [80, 443]`. One rule for the editor, the document model and the scanner.
 */
export function isListDocument<T>(
  kind: string,
  items: readonly T[] | undefined,
  isObject: (item: T) => boolean,
): boolean {
  if (kind === 'List') return true;
  return kind.endsWith('List') && items !== undefined && items.every(isObject);
}
