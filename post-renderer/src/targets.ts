/**
 * Where the post-renderer writes. One table shared by the byte-preserving editor, the document-model path, the
 * fast scanner and the Flux patch generator, so all of them agree by construction.
 */

/** Kinds whose `spec.template` is a pod template. */
export const POD_TEMPLATE_KINDS = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'Job'] as const;
/** Kinds whose pod template is `spec.jobTemplate.spec.template`. */
export const JOB_TEMPLATE_KINDS = ['CronJob'] as const;

export type Entries = ReadonlyArray<readonly [string, string]>;

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

export interface InjectionMetadata {
  readonly labels: Entries;
  readonly annotations: Entries;
}

/** The targets for an object of `kind`, in the order edits are made. */
export function targetsFor(kind: string, meta: InjectionMetadata): Target[] {
  const targets: Target[] = [
    { path: ['metadata', 'labels'], entries: meta.labels, mustExist: 0 },
    { path: ['metadata', 'annotations'], entries: meta.annotations, mustExist: 0 },
  ];
  if ((POD_TEMPLATE_KINDS as readonly string[]).includes(kind)) {
    targets.push({ path: ['spec', 'template', 'metadata', 'labels'], entries: meta.labels, mustExist: 2 });
  } else if ((JOB_TEMPLATE_KINDS as readonly string[]).includes(kind)) {
    targets.push({
      path: ['spec', 'jobTemplate', 'spec', 'template', 'metadata', 'labels'],
      entries: meta.labels,
      mustExist: 4,
    });
  }
  return targets.filter((t) => t.entries.length > 0);
}

/** `kind: List` (and `*List` kinds with `items`) are flattened by Helm and kustomize: write into each item. */
export function isListKind(kind: string): boolean {
  return kind === 'List' || kind.endsWith('List');
}

/** YAML text for a value we write: always double-quoted, so YAML 1.1 readers never see `yes`, `1` or `0755`. */
export function quote(value: string): string {
  return JSON.stringify(value);
}

/** Keys we write are label/annotation keys: `[prefix/]name`, safe as plain scalars in block and flow context. */
const PLAIN_SAFE_KEY = /^[A-Za-z0-9][-A-Za-z0-9_./]*$/;
export function keyText(key: string): string {
  return PLAIN_SAFE_KEY.test(key) ? key : JSON.stringify(key);
}
