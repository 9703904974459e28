/**
 * The five invariants a post-renderer must keep (/work/shared/corpus/README.md), as pure checkers over IN (what Helm
 * handed over) and OUT (what the post-renderer or Flux made of it), both already parsed by the Go oracle. Each
 * checker returns the failures it finds, each naming the object, the field and the values before and after, so a
 * report says what to fix; an empty list means the invariant holds.
 */
import {
  compileFound,
  findSelectors,
  fromLabelSelector,
  fromMapSelector,
  isLabelValue,
  isQualifiedName,
  matches,
  selectorToString,
  type FoundSelector,
  type Labels,
  type SelectsOver,
  type Selector,
} from '../../core/selectors.js';
import { ExactNumber } from './oracle.js';

type Obj = Record<string, any>;

export const PART_OF = 'app.kubernetes.io/part-of';
export const MAX_ANNOTATIONS_BYTES = 262_144;

export interface Failure {
  readonly invariant: 1 | 2 | 3 | 4 | 5;
  /** `Kind/namespace/name` (`Kind/name` when cluster-scoped or without namespace). */
  readonly object: string;
  /** JSON path inside the object. */
  readonly field: string;
  readonly message: string;
  readonly before?: unknown;
  readonly after?: unknown;
}

/** What the post-renderer may add, and what it must add (else a passing check proves nothing). */
export interface Expectations {
  /** The plan's `labelPrefix`: every label/annotation key under it is ours. */
  readonly prefix: string;
  /** Labels every object and pod template must carry (e.g. `<prefix>release: monitoring`). */
  readonly requiredLabels: Readonly<Record<string, string>>;
  /** Annotation keys every object must carry (values not checked). */
  readonly requiredAnnotations: readonly string[];
  /** With the plan's `partOfLabel: true`: the `app.kubernetes.io/part-of` value wherever IN lacked the label. */
  readonly partOf?: string | undefined;
}

export const isMap = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const has = (o: unknown, k: string) => isMap(o) && Object.prototype.hasOwnProperty.call(o, k);

// --- objects ------------------------------------------------------------------------------------------------------

export function groupOf(apiVersion: unknown): string {
  const v = typeof apiVersion === 'string' ? apiVersion : '';
  const slash = v.indexOf('/');
  return slash < 0 ? '' : v.slice(0, slash);
}

export function describeObject(o: Obj): string {
  const ns = o.metadata?.namespace;
  const name = String(o.metadata?.name);
  return typeof ns === 'string' && ns !== '' ? `${o.kind}/${ns}/${name}` : `${o.kind}/${name}`;
}

/** apiVersion, kind, namespace and name: what makes an object the same object. */
export function identity(o: Obj): string {
  return JSON.stringify([o.apiVersion, o.kind, o.metadata?.namespace ?? '', o.metadata?.name]);
}

/** The objects of a stream, List items flattened as Helm's and kubectl's resource builders do. */
export function flatten(docs: readonly unknown[]): Obj[] {
  return docs.flatMap((d): Obj[] => {
    if (!isMap(d)) return [d as Obj];
    const items: unknown = d.items;
    const isList =
      typeof d.kind === 'string' &&
      d.kind.endsWith('List') &&
      Array.isArray(items) &&
      items.every((i) => isMap(i) && typeof i.apiVersion === 'string' && typeof i.kind === 'string');
    return isList ? flatten(items as unknown[]) : [d];
  });
}

/** Pairs each OUT object with the IN object of the same identity (duplicates pair in order). */
function pairs(inObjs: readonly Obj[], outObjs: readonly Obj[]): [Obj, Obj][] {
  const byId = new Map<string, Obj[]>();
  for (const o of outObjs) byId.set(identity(o), [...(byId.get(identity(o)) ?? []), o]);
  const result: [Obj, Obj][] = [];
  for (const i of inObjs) {
    const o = byId.get(identity(i))?.shift();
    if (o) result.push([i, o]);
  }
  return result;
}

/** Where the pod template of a workload is (the places the post-renderer writes pod labels), or undefined. */
export function podTemplatePath(o: Obj): readonly string[] | undefined {
  const group = groupOf(o.apiVersion);
  if (group === 'apps' && ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'].includes(o.kind))
    return ['spec', 'template'];
  if (group === 'batch' && o.kind === 'Job') return ['spec', 'template'];
  if (group === 'batch' && o.kind === 'CronJob') return ['spec', 'jobTemplate', 'spec', 'template'];
  return undefined;
}

function getPath(o: unknown, path: readonly string[]): unknown {
  let v = o;
  for (const seg of path) v = isMap(v) ? v[seg] : undefined;
  return v;
}

const pathText = (path: readonly (string | number)[]) =>
  path
    .map((s, i) =>
      typeof s === 'number'
        ? `[${s}]`
        : /^[A-Za-z_][A-Za-z0-9_]*$/.test(s)
          ? i === 0
            ? s
            : `.${s}`
          : `[${JSON.stringify(s)}]`,
    )
    .join('');

// --- invariant 1: the same objects --------------------------------------------------------------------------------

export function checkSameObjects(inObjs: readonly Obj[], outObjs: readonly Obj[]): Failure[] {
  const failures: Failure[] = [];
  for (const o of [...inObjs, ...outObjs]) {
    if (!isMap(o) || typeof o.kind !== 'string' || !isMap(o.metadata))
      failures.push({
        invariant: 1,
        object: '(document)',
        field: '',
        message: 'a document is not a Kubernetes object',
        after: o,
      });
  }
  const count = (objs: readonly Obj[]) => {
    const m = new Map<string, { n: number; o: Obj }>();
    for (const o of objs.filter(isMap)) m.set(identity(o), { n: (m.get(identity(o))?.n ?? 0) + 1, o });
    return m;
  };
  const ins = count(inObjs);
  const outs = count(outObjs);
  for (const [id, { n, o }] of ins) {
    const m = outs.get(id)?.n ?? 0;
    if (m < n)
      failures.push({
        invariant: 1,
        object: describeObject(o),
        field: '',
        message: `missing from OUT (${o.apiVersion}; ${n} in IN, ${m} in OUT)`,
      });
  }
  for (const [id, { n, o }] of outs) {
    const m = ins.get(id)?.n ?? 0;
    if (n > m)
      failures.push({
        invariant: 1,
        object: describeObject(o),
        field: '',
        message: `not in IN (${o.apiVersion}; ${m} in IN, ${n} in OUT)`,
      });
  }
  return failures;
}

// --- invariant 2: nothing but the added keys changes ----------------------------------------------------------------

/** The metadata maps the post-renderer writes into: the object's, and its pod template's if it is a workload. */
function writablePlaces(o: Obj): (readonly string[])[] {
  const template = podTemplatePath(o);
  return template ? [['metadata'], [...template, 'metadata']] : [['metadata']];
}

/**
 * OUT without the keys the post-renderer may add: labels and annotations under `prefix`, and `part-of` where IN's
 * same map lacked it, taken from the object's metadata and its pod template's; maps left empty that IN did not
 * have are dropped as well. A deep copy.
 */
export function stripAdded(inObj: Obj, outObj: Obj, prefix: string): Obj {
  const copy = clone(outObj) as Obj;
  for (const place of writablePlaces(copy)) {
    const meta = getPath(copy, place);
    const inMeta = getPath(inObj, place);
    if (!isMap(meta)) continue;
    for (const field of ['labels', 'annotations']) {
      const map = meta[field] as unknown;
      if (!isMap(map)) continue;
      const inMap: unknown = isMap(inMeta) ? inMeta[field] : undefined;
      for (const key of Object.keys(map)) {
        const ours = key.startsWith(prefix) || (field === 'labels' && key === PART_OF && !has(inMap, key));
        // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- removing our keys is the point
        if (ours) delete map[key];
      }
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- a map we created
      if (Object.keys(map).length === 0 && !isMap(inMap)) delete meta[field];
    }
    if (Object.keys(meta).length === 0 && !isMap(inMeta)) {
      const parent = getPath(copy, place.slice(0, -1));
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- a template metadata we created
      if (isMap(parent)) delete parent[place[place.length - 1] as string];
    }
  }
  return copy;
}

/** A deep copy of parsed JSON that keeps `ExactNumber`s (structuredClone would turn them into plain objects). */
export function clone(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(clone);
  if (isMap(v) && !(v instanceof ExactNumber))
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, clone(x)]));
  return v;
}

interface Difference {
  readonly path: (string | number)[];
  readonly before?: unknown;
  readonly after?: unknown;
  readonly kind: 'added' | 'removed' | 'changed';
}

const typeName = (v: unknown) =>
  v === null ? 'null' : Array.isArray(v) ? 'array' : v instanceof ExactNumber ? 'number' : typeof v;

/** Deep differences, types included; a `null` in `a` may be absent in `b`. */
export function differences(a: unknown, b: unknown, path: (string | number)[] = [], out: Difference[] = []) {
  if (a instanceof ExactNumber || b instanceof ExactNumber) {
    if (!(a instanceof ExactNumber && b instanceof ExactNumber && a.text === b.text))
      out.push({ path, before: a, after: b, kind: 'changed' });
  } else if (isMap(a) && isMap(b)) {
    for (const k of Object.keys(a)) {
      if (!has(b, k)) {
        if (a[k] !== null) out.push({ path: [...path, k], before: a[k], kind: 'removed' });
      } else differences(a[k], b[k], [...path, k], out);
    }
    for (const k of Object.keys(b)) if (!has(a, k)) out.push({ path: [...path, k], after: b[k], kind: 'added' });
  } else if (Array.isArray(a) && Array.isArray(b)) {
    if (a.length !== b.length) out.push({ path, before: a, after: b, kind: 'changed' });
    else a.forEach((v, i) => differences(v, b[i], [...path, i], out));
  } else if (typeName(a) !== typeName(b) || (typeof a !== 'object' && a !== b)) {
    // Both maps and both arrays are handled above: what is left are scalars, or values of different types.
    out.push({ path, before: a, after: b, kind: 'changed' });
  }
  return out;
}

/** The key a path ends in, if it is one of ours (under the prefix, or part-of): added anywhere else, it is misplaced. */
function ourKeyAt(path: readonly (string | number)[], e: Expectations): string | undefined {
  const key = path[path.length - 1];
  return typeof key === 'string' && (key.startsWith(e.prefix) || key === PART_OF) ? key : undefined;
}

export function checkOnlyAddedKeys(inObjs: readonly Obj[], outObjs: readonly Obj[], e: Expectations): Failure[] {
  const failures: Failure[] = [];
  for (const [inObj, outObj] of pairs(inObjs, outObjs)) {
    const object = describeObject(inObj);
    for (const d of differences(inObj, stripAdded(inObj, outObj, e.prefix))) {
      const field = pathText(d.path);
      const ours = d.kind === 'added' ? ourKeyAt(d.path, e) : undefined;
      const map = d.path[d.path.length - 2];
      const message = ours
        ? `${ours} written here: the added keys belong only on the object's metadata and its pod template`
        : d.kind === 'added'
          ? 'not in IN'
          : d.kind === 'removed'
            ? 'missing from OUT'
            : map === 'labels' || map === 'annotations'
              ? `the chart's ${map === 'labels' ? 'label' : 'annotation'} value was changed`
              : Array.isArray(d.before) && Array.isArray(d.after)
                ? `a list of ${d.before.length} items became one of ${d.after.length}`
                : typeName(d.before) === typeName(d.after)
                  ? 'changed'
                  : `changed type (${typeName(d.before)} → ${typeName(d.after)})`;
      failures.push({ invariant: 2, object, field, message, before: d.before, after: d.after });
    }
    // Non-vacuity: the keys must be there, or the comparison above proves nothing.
    const places: [string, readonly string[], boolean][] = [['metadata', ['metadata'], true]];
    const template = podTemplatePath(inObj);
    if (template && isMap(getPath(inObj, template)))
      places.push([`${pathText(template)}.metadata`, [...template, 'metadata'], false]);
    for (const [where, place, isObjectMeta] of places) {
      const labels: unknown = getPath(outObj, [...place, 'labels']);
      const inLabels: unknown = getPath(inObj, [...place, 'labels']);
      const required: [string, string | undefined][] = Object.entries(e.requiredLabels);
      if (e.partOf !== undefined && !has(inLabels, PART_OF)) required.push([PART_OF, e.partOf]);
      for (const [key, value] of required) {
        const actual = isMap(labels) ? labels[key] : undefined;
        if (actual !== value)
          failures.push({
            invariant: 2,
            object,
            field: `${where}.labels[${JSON.stringify(key)}]`,
            message: `label ${key} must be ${JSON.stringify(value)} in OUT`,
            before: isMap(inLabels) ? inLabels[key] : undefined,
            after: actual,
          });
      }
      if (!isObjectMeta) continue;
      const annotations: unknown = getPath(outObj, [...place, 'annotations']);
      for (const key of e.requiredAnnotations)
        if (!has(annotations, key))
          failures.push({
            invariant: 2,
            object,
            field: `${where}.annotations[${JSON.stringify(key)}]`,
            message: `annotation ${key} is missing in OUT`,
          });
    }
  }
  return failures;
}

// --- invariant 3: every workload selects its own pods ---------------------------------------------------------------

/** A workload's selector and pod labels, when the API server requires that the one match the other. */
function ownPods(o: Obj): { path: string; selector: () => Selector; raw: unknown; labels: unknown } | undefined {
  const group = groupOf(o.apiVersion);
  const spec = o.spec as unknown;
  if (!isMap(spec)) return undefined;
  const labelsOf = (template: unknown) => getPath(template, ['metadata', 'labels']);
  if (group === 'apps' && ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet'].includes(o.kind))
    return {
      path: 'spec.selector',
      selector: () => fromLabelSelector(spec.selector),
      raw: spec.selector,
      labels: labelsOf(spec.template),
    };
  if (group === 'batch' && o.kind === 'Job' && spec.manualSelector === true)
    return {
      path: 'spec.selector',
      selector: () => fromLabelSelector(spec.selector),
      raw: spec.selector,
      labels: labelsOf(spec.template),
    };
  const jobSpec = getPath(spec, ['jobTemplate', 'spec']);
  if (group === 'batch' && o.kind === 'CronJob' && isMap(jobSpec) && jobSpec.manualSelector === true)
    return {
      path: 'spec.jobTemplate.spec.selector',
      selector: () => fromLabelSelector(jobSpec.selector),
      raw: jobSpec.selector,
      labels: labelsOf(jobSpec.template),
    };
  // A ReplicationController's empty selector is defaulted to its template's labels: it always matches then.
  if (group === '' && o.kind === 'ReplicationController' && isMap(spec.selector) && Object.keys(spec.selector).length)
    return {
      path: 'spec.selector',
      selector: () => fromMapSelector(spec.selector),
      raw: spec.selector,
      labels: labelsOf(spec.template),
    };
  return undefined;
}

function selectsOwnPods(o: Obj): boolean | Error | undefined {
  const own = ownPods(o);
  if (!own) return undefined;
  try {
    return matches(own.selector(), labelMap(own.labels));
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

export function checkWorkloadSelectors(inObjs: readonly Obj[], outObjs: readonly Obj[]): Failure[] {
  const failures: Failure[] = [];
  for (const [inObj, outObj] of pairs(inObjs, outObjs)) {
    const after = selectsOwnPods(outObj);
    // Only regressions: a chart whose IN already fails is not the post-renderer's doing.
    if (after === undefined || after === true || selectsOwnPods(inObj) !== true) continue;
    const own = ownPods(outObj);
    failures.push({
      invariant: 3,
      object: describeObject(outObj),
      field: own?.path ?? '',
      message:
        after instanceof Error
          ? `the selector no longer compiles: ${after.message}`
          : "the selector no longer matches the pod template's labels",
      before: { selector: ownPods(inObj)?.raw, podLabels: ownPods(inObj)?.labels },
      after: { selector: own?.raw, podLabels: own?.labels },
    });
  }
  return failures;
}

// --- invariant 4: every selector selects the same things ------------------------------------------------------------

interface Candidate {
  readonly id: string;
  readonly labels: Labels;
}

/** Labels as a string map (non-string values, which the API refuses anyway, are left out). */
function labelMap(v: unknown): Labels {
  if (!isMap(v)) return {};
  return Object.fromEntries(Object.entries(v).filter((e): e is [string, string] => typeof e[1] === 'string'));
}

/** What a selector may pick from among the release's objects. Pods: workloads' pod templates and bare Pods. */
function universe(objs: readonly Obj[], over: SelectsOver): Candidate[] {
  const candidates: Candidate[] = [];
  for (const o of objs) {
    if (!isMap(o)) continue;
    const template = podTemplatePath(o) ?? (o.kind === 'ReplicationController' ? ['spec', 'template'] : undefined);
    const isPod = groupOf(o.apiVersion) === '' && o.kind === 'Pod';
    const templateLabels = template ? getPath(o, [...template, 'metadata', 'labels']) : undefined;
    const podTemplate = template && isMap(getPath(o, template));
    if (over.type === 'pods' || over.type === 'objects') {
      if (podTemplate) candidates.push({ id: `pods of ${describeObject(o)}`, labels: labelMap(templateLabels) });
      if (isPod && over.type === 'pods')
        candidates.push({ id: describeObject(o), labels: labelMap(o.metadata?.labels) });
    }
    const ofKind = over.type === 'kind' && groupOf(o.apiVersion) === over.group && o.kind === over.kind;
    if (ofKind || over.type === 'objects')
      candidates.push({ id: describeObject(o), labels: labelMap(o.metadata?.labels) });
  }
  return candidates;
}

const overText = (over: SelectsOver) =>
  over.type === 'kind' ? `${over.group ? `${over.group}/` : ''}${over.kind}s` : over.type;

function selection(found: FoundSelector, objs: readonly Obj[]): Set<string> | Error {
  try {
    const selector = compileFound(found);
    return new Set(
      universe(objs, found.selects)
        .filter((c) => matches(selector, c.labels))
        .map((c) => c.id),
    );
  } catch (err) {
    return err instanceof Error ? err : new Error(String(err));
  }
}

export function checkSelections(inObjs: readonly Obj[], outObjs: readonly Obj[]): Failure[] {
  const failures: Failure[] = [];
  for (const [inObj, outObj] of pairs(inObjs, outObjs)) {
    const object = describeObject(inObj);
    const before = new Map(findSelectors(inObj).map((f) => [f.path, f]));
    const after = new Map(findSelectors(outObj).map((f) => [f.path, f]));
    for (const [path, f] of after)
      if (!before.has(path))
        failures.push({
          invariant: 4,
          object,
          field: path,
          message: 'a selector OUT has and IN had not',
          after: f.selector,
        });
    for (const [path, b] of before) {
      const a = after.get(path);
      if (!a) {
        failures.push({ invariant: 4, object, field: path, message: 'a selector IN had is gone', before: b.selector });
        continue;
      }
      if (b.selects.type === 'external') continue;
      const was = selection(b, inObjs);
      const is = selection(a, outObjs);
      if (was instanceof Error) {
        if (!(is instanceof Error))
          failures.push({
            invariant: 4,
            object,
            field: path,
            message: `IN's selector was invalid (${was.message}), OUT's is not`,
          });
        continue;
      }
      if (is instanceof Error) {
        failures.push({
          invariant: 4,
          object,
          field: path,
          message: `the selector no longer compiles: ${is.message}`,
          before: b.selector,
          after: a.selector,
        });
        continue;
      }
      const gained = [...is].filter((id) => !was.has(id));
      const lost = [...was].filter((id) => !is.has(id));
      if (gained.length === 0 && lost.length === 0) continue;
      const text = (f: FoundSelector) => {
        try {
          return selectorToString(compileFound(f));
        } catch {
          return JSON.stringify(f.selector);
        }
      };
      failures.push({
        invariant: 4,
        object,
        field: path,
        message:
          `the selector over ${overText(b.selects)} selects other objects: ` +
          [gained.length ? `now also ${gained.join(', ')}` : '', lost.length ? `no longer ${lost.join(', ')}` : '']
            .filter(Boolean)
            .join('; '),
        before: { selector: text(b), selects: [...was].sort() },
        after: { selector: text(a), selects: [...is].sort() },
      });
    }
  }
  // HorizontalPodAutoscalers: the target that existed still exists.
  const ids = (objs: readonly Obj[]) =>
    new Set(
      objs
        .filter(isMap)
        .map((o) => JSON.stringify([groupOf(o.apiVersion), o.kind, o.metadata?.namespace ?? '', o.metadata?.name])),
    );
  const inIds = ids(inObjs);
  const outIds = ids(outObjs);
  for (const [inObj, outObj] of pairs(inObjs, outObjs)) {
    if (groupOf(inObj.apiVersion) !== 'autoscaling' || inObj.kind !== 'HorizontalPodAutoscaler') continue;
    const ref = (o: Obj) => o.spec?.scaleTargetRef as Obj | undefined;
    const key = (o: Obj) => {
      const r = ref(o);
      return JSON.stringify([groupOf(r?.apiVersion), r?.kind, o.metadata?.namespace ?? '', r?.name]);
    };
    const object = describeObject(inObj);
    if (key(inObj) !== key(outObj))
      failures.push({
        invariant: 4,
        object,
        field: 'spec.scaleTargetRef',
        message: 'the scale target changed',
        before: ref(inObj),
        after: ref(outObj),
      });
    else if (inIds.has(key(inObj)) && !outIds.has(key(outObj)))
      failures.push({
        invariant: 4,
        object,
        field: 'spec.scaleTargetRef',
        message: 'the scale target is no longer in the release',
        before: ref(inObj),
      });
  }
  return failures;
}

// --- invariant 5: labels and annotations stay valid ------------------------------------------------------------------

function metadataProblems(meta: unknown): Map<string, { message: string; value: unknown }> {
  const problems = new Map<string, { message: string; value: unknown }>();
  if (!isMap(meta)) return problems;
  for (const field of ['labels', 'annotations'] as const) {
    const map: unknown = meta[field];
    if (map === undefined || map === null) continue;
    if (!isMap(map)) {
      problems.set(field, { message: `${field} is not a mapping`, value: map });
      continue;
    }
    let bytes = 0;
    for (const [k, v] of Object.entries(map)) {
      const at = `${field}[${JSON.stringify(k)}]`;
      if (!isQualifiedName(k))
        problems.set(`${at}:key`, { message: `${JSON.stringify(k)} is not a qualified name`, value: k });
      if (typeof v !== 'string') {
        problems.set(at, {
          message: `the ${field === 'labels' ? 'label' : 'annotation'} value is a ${typeName(v)}, not a string`,
          value: v,
        });
        continue;
      }
      if (field === 'labels' && !isLabelValue(v))
        problems.set(at, {
          message: 'not a valid label value (≤ 63 characters, alphanumeric at both ends, -_. inside)',
          value: v,
        });
      bytes += Buffer.byteLength(k) + Buffer.byteLength(v);
    }
    if (field === 'annotations' && bytes > MAX_ANNOTATIONS_BYTES)
      problems.set('annotations:size', {
        message: `annotations total ${bytes} bytes, more than ${MAX_ANNOTATIONS_BYTES}`,
        value: bytes,
      });
  }
  return problems;
}

export function checkLabelValidity(inObjs: readonly Obj[], outObjs: readonly Obj[]): Failure[] {
  const failures: Failure[] = [];
  const inById = new Map(inObjs.filter(isMap).map((o) => [identity(o), o]));
  for (const outObj of outObjs) {
    if (!isMap(outObj)) continue;
    const inObj = inById.get(identity(outObj));
    for (const place of writablePlaces(outObj)) {
      const already = metadataProblems(inObj ? getPath(inObj, place) : undefined);
      for (const [where, p] of metadataProblems(getPath(outObj, place))) {
        // A problem IN already had, with the same value, is the chart's, not the post-renderer's.
        const old = already.get(where);
        if (
          old &&
          (where.endsWith(':key') ||
            where === 'annotations:size' ||
            JSON.stringify(old.value) === JSON.stringify(p.value))
        )
          continue;
        failures.push({
          invariant: 5,
          object: describeObject(outObj),
          field: `${pathText([...place])}.${where.replace(/:.*$/, '')}`,
          message: p.message,
          before: old?.value,
          after: p.value,
        });
      }
    }
  }
  return failures;
}

// --- reporting ----------------------------------------------------------------------------------------------------

const short = (v: unknown) => {
  if (v === undefined) return '(absent)';
  const s = JSON.stringify(v);
  return s.length > 400 ? `${s.slice(0, 400)}… (${s.length} characters)` : s;
};

/** One line per failure (the first `limit`), for an assertion message. */
export function formatFailures(context: string, failures: readonly Failure[], limit = 40): string {
  const lines = failures.slice(0, limit).map((f) => {
    const values =
      'before' in f || 'after' in f ? `\n      before: ${short(f.before)}\n      after:  ${short(f.after)}` : '';
    return `  - ${f.object} ${f.field}: ${f.message}${values}`;
  });
  if (failures.length > limit) lines.push(`  … and ${failures.length - limit} more`);
  return `${context}: invariant ${failures[0]?.invariant ?? '?'} fails ${failures.length} time(s)\n${lines.join('\n')}`;
}
