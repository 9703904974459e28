/**
 * Where the post-renderer writes. One table shared by the byte-preserving editor, the document-model path, the
 * fast scanner and the Flux patch generator, so all of them agree by construction.
 */

/** Built-in workloads and where their pod template lives. */
export interface Workloads {
  /** API group (`apps/v1` → `apps`). Matching by group too keeps look-alike custom resources (a `Deployment` of
   * `example.com`) out: their `spec.template` need not be a pod template. */
  readonly group: string;
  readonly kinds: readonly string[];
  /** Path of the pod template from the object root. */
  readonly template: readonly string[];
}

export const WORKLOADS: readonly Workloads[] = [
  { group: 'apps', kinds: ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'], template: ['spec', 'template'] },
  { group: 'batch', kinds: ['Job'], template: ['spec', 'template'] },
  { group: 'batch', kinds: ['CronJob'], template: ['spec', 'jobTemplate', 'spec', 'template'] },
];

/** The API group of an `apiVersion` (`v1` → the core group, ``). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

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

/** The targets for an object of `apiVersion` and `kind`, in the order edits are made. */
export function targetsFor(apiVersion: string, kind: string, meta: InjectionMetadata): Target[] {
  const targets: Target[] = [
    { path: ['metadata', 'labels'], entries: meta.labels, mustExist: 0 },
    { path: ['metadata', 'annotations'], entries: meta.annotations, mustExist: 0 },
  ];
  const group = groupOf(apiVersion);
  const workload = WORKLOADS.find((w) => w.group === group && w.kinds.includes(kind));
  if (workload) {
    targets.push({
      path: [...workload.template, 'metadata', 'labels'],
      entries: meta.labels,
      mustExist: workload.template.length,
    });
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

/** YAML text for a value we write: always double-quoted, so YAML 1.1 readers never see `yes`, `1` or `0755`. */
export function quote(value: string): string {
  return JSON.stringify(value);
}

/** Keys we write are label/annotation keys: `[prefix/]name`, safe as plain scalars in block and flow context. */
const PLAIN_SAFE_KEY = /^[A-Za-z0-9][-A-Za-z0-9_./]*$/;
export function keyText(key: string): string {
  return PLAIN_SAFE_KEY.test(key) ? key : JSON.stringify(key);
}
