// Patch engines: RFC 6902 JSON patch, RFC 7386 merge patch, strategic merge patch (list merge keys for the common
// built-in fields) and a compact server-side apply with managedFields ownership and conflicts.
/* eslint-disable @typescript-eslint/no-dynamic-delete -- removing JSON fields by name is what patches and defaulting do */
import { ApiError, badRequest, clone, type Obj } from './types.js';

// ---------- JSON patch ----------
/**
 * A JSON patch that does not apply (missing path, failed `test`, bad pointer, unknown op): handlers/patch.go answers
 * errors.NewGenericServerResponse(422, ...), i.e. reason Invalid, the generic message and empty details; the
 * json-patch library's own text is not sent to the client.
 */
export function patchNotApplied(): ApiError {
  return new ApiError(422, 'Invalid', 'the server rejected our request due to an error in our request', {});
}

function ptr(path: string): string[] {
  if (path === '') return [];
  if (!path.startsWith('/')) throw patchNotApplied();
  return path
    .slice(1)
    .split('/')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

function parentOf(doc: Obj, segs: string[]): { parent: any; key: string } {
  let cur: any = doc;
  for (const s of segs.slice(0, -1)) {
    cur = Array.isArray(cur) ? cur[Number(s)] : cur?.[s];
    if (cur === undefined || cur === null || typeof cur !== 'object') throw patchNotApplied();
  }
  return { parent: cur, key: segs[segs.length - 1]! };
}

function getPtr(doc: Obj, path: string): unknown {
  let cur: any = doc;
  for (const s of ptr(path)) {
    cur = Array.isArray(cur) ? cur[Number(s)] : cur?.[s];
    if (cur === undefined) throw patchNotApplied();
  }
  return cur;
}

export function applyJsonPatch(doc: Obj, ops: Obj[]): Obj {
  let out = clone(doc);
  if (!Array.isArray(ops)) throw badRequest('json patch must be an array');
  for (const op of ops) {
    if (!['add', 'remove', 'replace', 'move', 'copy', 'test'].includes(String(op.op))) throw patchNotApplied();
    const segs = ptr(String(op.path));
    if (op.op === 'test') {
      if (JSON.stringify(getPtr(out, op.path)) !== JSON.stringify(op.value)) throw patchNotApplied();
      continue;
    }
    if (segs.length === 0) {
      if (op.op === 'add' || op.op === 'replace') out = clone(op.value);
      continue;
    }
    const value =
      op.op === 'copy' || op.op === 'move'
        ? clone(getPtr(out, String(op.from)))
        : op.op === 'remove'
          ? undefined
          : clone(op.value);
    if (op.op === 'move') {
      const f = parentOf(out, ptr(String(op.from)));
      if (Array.isArray(f.parent)) f.parent.splice(Number(f.key), 1);
      else delete f.parent[f.key];
    }
    const { parent, key } = parentOf(out, segs);
    if (Array.isArray(parent)) {
      const idx = key === '-' ? parent.length : Number(key);
      if ((key === '-' ? op.op === 'remove' || op.op === 'replace' : !/^\d+$/.test(key)) || idx > parent.length)
        throw patchNotApplied();
      if (op.op === 'add' || op.op === 'copy' || op.op === 'move') parent.splice(idx, 0, value);
      else if (op.op === 'remove') {
        if (idx >= parent.length) throw patchNotApplied();
        parent.splice(idx, 1);
      } else if (op.op === 'replace') {
        if (idx >= parent.length) throw patchNotApplied();
        parent[idx] = value;
      }
    } else {
      if ((op.op === 'remove' || op.op === 'replace') && !(key in parent)) throw patchNotApplied();
      if (op.op === 'remove') delete parent[key];
      else parent[key] = value;
    }
  }
  return out;
}

// ---------- merge patch ----------
export function applyMergePatch(target: unknown, patch: unknown): any {
  if (patch === null || typeof patch !== 'object' || Array.isArray(patch)) return clone(patch);
  const out: Obj = target && typeof target === 'object' && !Array.isArray(target) ? clone(target as Obj) : {};
  for (const [k, v] of Object.entries(patch as Obj)) {
    if (v === null) delete out[k];
    else out[k] = applyMergePatch(out[k], v);
  }
  return out;
}

// ---------- strategic merge patch ----------
/** Merge key of a list field, by field name and (for `ports`) the path it sits under. */
export function mergeKeyFor(path: string[], field: string): string | undefined {
  switch (field) {
    case 'containers':
    case 'initContainers':
    case 'ephemeralContainers':
    case 'env':
    case 'volumes':
    case 'imagePullSecrets':
      return path.includes('rules') ? undefined : 'name';
    case 'volumeMounts':
      return 'mountPath';
    case 'volumeDevices':
      return 'devicePath';
    case 'ports':
      return path.includes('containers') || path.includes('initContainers') ? 'containerPort' : 'port';
    case 'conditions':
      return 'type';
    case 'ownerReferences':
      return 'uid';
    case 'hostAliases':
      return 'ip';
    case 'topologySpreadConstraints':
      return 'topologyKey';
    case 'resourceClaims':
      return 'name';
    default:
      return undefined;
  }
}
const PRIMITIVE_MERGE = new Set(['finalizers']);

export function applyStrategicMergePatch(target: Obj, patch: Obj): Obj {
  return smpMap(clone(target), patch, []) as Obj;
}

function smpMap(target: Obj, patch: Obj, path: string[]): Obj | undefined {
  if (patch.$patch === 'replace') {
    const rest = { ...patch };
    delete rest.$patch;
    return stripDirectives(rest);
  }
  if (patch.$patch === 'delete') return undefined;
  const retain: string[] | undefined = patch.$retainKeys;
  for (const [k, v] of Object.entries(patch)) {
    if (k === '$patch' || k === '$retainKeys' || k.startsWith('$setElementOrder/')) continue;
    if (k.startsWith('$deleteFromPrimitiveList/')) {
      const f = k.slice('$deleteFromPrimitiveList/'.length);
      if (Array.isArray(target[f])) target[f] = (target[f] as unknown[]).filter((x) => !(v as unknown[]).includes(x));
      continue;
    }
    if (v === null) {
      delete target[k];
      continue;
    }
    const cur = target[k];
    if (Array.isArray(v)) {
      target[k] = smpList(Array.isArray(cur) ? cur : [], v, [...path, k], k);
    } else if (typeof v === 'object') {
      const merged = smpMap(cur && typeof cur === 'object' && !Array.isArray(cur) ? cur : {}, v, [...path, k]);
      if (merged === undefined) delete target[k];
      else target[k] = merged;
    } else target[k] = v;
  }
  if (retain) for (const k of Object.keys(target)) if (!retain.includes(k)) delete target[k];
  return target;
}

function stripDirectives(v: any): any {
  if (Array.isArray(v)) return v.map(stripDirectives);
  if (v && typeof v === 'object') {
    const o: Obj = {};
    for (const [k, x] of Object.entries(v)) if (!k.startsWith('$')) o[k] = stripDirectives(x);
    return o;
  }
  return v;
}

function smpList(cur: unknown[], patch: unknown[], path: string[], field: string): unknown[] {
  if (patch.some((e) => e && typeof e === 'object' && (e as Obj).$patch === 'replace'))
    return stripDirectives(patch.filter((e) => !(e && typeof e === 'object' && (e as Obj).$patch === 'replace')));
  const key = mergeKeyFor(path.slice(0, -1), field);
  if (PRIMITIVE_MERGE.has(field)) {
    const out = [...cur];
    for (const x of patch) if (!out.includes(x)) out.push(x);
    return out;
  }
  if (!key) return stripDirectives(patch);
  const out = cur.map((x) => clone(x)) as Obj[];
  for (const e of patch as Obj[]) {
    if (typeof e !== 'object' || (e as Obj | null) === null) continue;
    const idx = out.findIndex((x) => (x as Obj | null)?.[key] === e[key]);
    if (e.$patch === 'delete') {
      if (idx >= 0) out.splice(idx, 1);
      continue;
    }
    if (idx >= 0) out[idx] = smpMap(out[idx]!, e, path)!;
    else out.push(stripDirectives(e));
  }
  return out;
}

// ---------- server-side apply ----------
type Path = string[]; // fieldsV1 segments: "f:name" or 'k:{"name":"x"}'

function fieldPaths(v: unknown, prefix: Path, schemaPath: string[], out: Path[]): void {
  if (v && typeof v === 'object' && !Array.isArray(v)) {
    const entries = Object.entries(v as Obj);
    if (entries.length === 0) out.push(prefix);
    for (const [k, x] of entries) {
      if (prefix.length === 0 && (k === 'apiVersion' || k === 'kind')) continue;
      if (
        prefix.length === 1 &&
        prefix[0] === 'f:metadata' &&
        ['name', 'namespace', 'resourceVersion', 'uid', 'managedFields', 'creationTimestamp', 'generation'].includes(k)
      )
        continue;
      fieldPaths(x, [...prefix, `f:${k}`], [...schemaPath, k], out);
    }
    return;
  }
  if (Array.isArray(v)) {
    const field = schemaPath[schemaPath.length - 1] ?? '';
    const key = mergeKeyFor(schemaPath.slice(0, -1), field);
    if (key && v.every((e) => e && typeof e === 'object' && (e as Obj)[key] !== undefined)) {
      for (const e of v as Obj[]) {
        const kp = [...prefix, `k:${JSON.stringify({ [key]: e[key] })}`];
        out.push([...kp, '.']);
        fieldPaths(e, kp, schemaPath, out);
      }
      return;
    }
  }
  out.push(prefix);
}

function pathsToFieldsV1(paths: Path[]): Obj {
  const root: Obj = {};
  for (const p of paths) {
    let cur = root;
    for (const s of p) cur = cur[s] ??= {};
  }
  return root;
}
function fieldsV1ToPaths(f: Obj | undefined, prefix: Path = [], out: Path[] = []): Path[] {
  if (!f) return out;
  const keys = Object.keys(f);
  if (keys.length === 0 && prefix.length > 0) out.push(prefix);
  for (const k of keys) {
    if (k === '.') out.push([...prefix, '.']);
    else fieldsV1ToPaths(f[k], [...prefix, k], out);
  }
  return out;
}

function valueAt(obj: unknown, p: Path): unknown {
  let cur: any = obj;
  for (const s of p) {
    if (cur === undefined || cur === null) return undefined;
    if (s === '.') return cur;
    if (s.startsWith('f:')) cur = cur[s.slice(2)];
    else if (s.startsWith('k:')) {
      const k = JSON.parse(s.slice(2)) as Obj;
      const [kk, kv] = Object.entries(k)[0]!;
      cur = Array.isArray(cur) ? cur.find((e: Obj | null) => e?.[kk] === kv) : undefined;
    }
  }
  return cur;
}

function removeAt(obj: Obj, p: Path): void {
  let cur: any = obj;
  for (let i = 0; i < p.length; i++) {
    const s = p[i]!;
    const last = i === p.length - 1 || p[i + 1] === '.';
    if (s.startsWith('f:')) {
      const k = s.slice(2);
      if (last) {
        delete cur[k];
        return;
      }
      cur = cur[k];
    } else if (s.startsWith('k:')) {
      const [kk, kv] = Object.entries(JSON.parse(s.slice(2)) as Obj)[0]!;
      if (!Array.isArray(cur)) return;
      const idx = cur.findIndex((e: Obj | null) => e?.[kk] === kv);
      if (idx < 0) return;
      if (last) {
        cur.splice(idx, 1);
        return;
      }
      cur = cur[idx];
    }
    if (cur === undefined || cur === null) return;
  }
}

/** A map or list the removal left empty goes too (structured-merge-diff's remove walker drops empty results). */
function dropEmptyParents(obj: Obj, p: Path): void {
  for (let i = p.length - 1; i >= 1; i--) {
    const prefix = p.slice(0, i);
    if (prefix[prefix.length - 1]!.startsWith('k:')) return;
    const v = valueAt(obj, prefix);
    const empty = Array.isArray(v) ? v.length === 0 : !!v && typeof v === 'object' && Object.keys(v).length === 0;
    if (!empty) return;
    removeAt(obj, prefix);
  }
}

function pathString(p: Path): string {
  return p
    .filter((s) => s !== '.')
    .map((s) => {
      if (s.startsWith('f:')) return `.${s.slice(2)}`;
      const [k, v] = Object.entries(JSON.parse(s.slice(2)) as Obj)[0]!;
      return `[${k}=${JSON.stringify(v)}]`;
    })
    .join('');
}

/** How the apiserver names a manager in conflicts: `"x"` for appliers, `"x" with subresource "scale" using apps/v1` for updaters. */
function printManager(m: Managed): string {
  let out = JSON.stringify(m.manager);
  if (m.subresource) out += ` with subresource ${JSON.stringify(m.subresource)}`;
  return m.operation === 'Update' ? `${out} using ${m.apiVersion}` : out;
}

interface Managed {
  manager: string;
  operation: string;
  apiVersion: string;
  time?: string;
  fieldsType: 'FieldsV1';
  fieldsV1: Obj;
  subresource?: string;
}

export interface ApplyResult {
  obj: Obj;
}

/** Server-side apply of `applied` onto `live` (undefined = create). Throws 409 Conflict like the real server. */
export function serverSideApply(
  live: Obj | undefined,
  applied: Obj,
  manager: string,
  force: boolean,
  apiVersion: string,
): Obj {
  const appliedPaths: Path[] = [];
  fieldPaths(stripDirectives(applied), [], [], appliedPaths);
  const key = (p: Path) => JSON.stringify(p);
  const appliedSet = new Set(appliedPaths.map(key));
  const managed: Managed[] = clone(live?.metadata?.managedFields ?? []);
  const base = live ? clone(live) : {};
  if (live) {
    // Every other manager's fields conflict when this apply sets a different value: Update managers (create,
    // update, patch, kubectl scale through the scale subresource) as much as other appliers.
    const conflicts: { m: Managed; path: Path }[] = [];
    for (const m of managed) {
      if (m.manager === manager && m.operation === 'Apply') continue;
      for (const p of fieldsV1ToPaths(m.fieldsV1)) {
        if (!appliedSet.has(key(p)) || p[p.length - 1] === '.') continue;
        if (JSON.stringify(valueAt(live, p)) !== JSON.stringify(valueAt(applied, p))) conflicts.push({ m, path: p });
      }
    }
    if (conflicts.length > 0 && !force) {
      const n = conflicts.length;
      // Grouped and sorted by manager identifier (manager, operation, apiVersion, subresource), as
      // k8s.io/apiserver's fieldmanager conflict message does.
      const ident = (m: Managed) => [
        m.manager,
        m.operation,
        m.operation === 'Apply' ? '' : m.apiVersion,
        m.subresource ?? '',
      ];
      const byMgr = new Map<string, { m: Managed; paths: string[] }>();
      for (const c of conflicts) {
        const k = JSON.stringify(ident(c.m));
        const g = byMgr.get(k) ?? { m: c.m, paths: [] };
        g.paths.push(pathString(c.path));
        byMgr.set(k, g);
      }
      let msg: string;
      if (n === 1)
        msg = `Apply failed with 1 conflict: conflict with ${printManager(conflicts[0]!.m)}: ${pathString(conflicts[0]!.path)}`;
      else
        msg =
          `Apply failed with ${n} conflicts: ` +
          [...byMgr.entries()]
            .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
            .map(([, g]) => `conflicts with ${printManager(g.m)}:\n${g.paths.map((p) => `- ${p}`).join('\n')}`)
            .join('\n');
      throw new ApiError(409, 'Conflict', msg, {
        causes: conflicts.map((c) => ({
          reason: 'FieldManagerConflict',
          message: `conflict with ${printManager(c.m)}`,
          field: pathString(c.path),
        })),
      });
    }
    // Fields this manager applied before but no longer applies are removed unless someone else still owns them.
    // An associative-list item (`k:{"name":"B"}` with its '.') this manager no longer applies goes as a whole when
    // no other manager owns it or anything under it, like structured-merge-diff's prune; removing only its leaf
    // fields would leave an item without its key (`{"value":"2"}`).
    const mine = managed.find((m) => m.manager === manager && m.operation === 'Apply');
    if (mine) {
      const otherPaths = managed.filter((m) => m !== mine).flatMap((m) => fieldsV1ToPaths(m.fieldsV1));
      const others = new Set(otherPaths.map(key));
      const under = (paths: Path[], prefix: Path) =>
        paths.some((q) => q.length > prefix.length && prefix.every((s, i) => q[i] === s));
      const minePaths = fieldsV1ToPaths(mine.fieldsV1);
      const gone: Path[] = [];
      for (const p of minePaths) {
        if (p[p.length - 1] !== '.' || appliedSet.has(key(p))) continue;
        const item = p.slice(0, -1);
        if (under(otherPaths, item) || under(appliedPaths, item)) continue;
        if (gone.some((g) => item.length > g.length && g.every((s, i) => item[i] === s))) continue;
        removeAt(base, p);
        dropEmptyParents(base, item);
        gone.push(item);
      }
      for (const p of minePaths) {
        if (p[p.length - 1] === '.' || appliedSet.has(key(p)) || others.has(key(p))) continue;
        if (gone.some((g) => p.length > g.length && g.every((s, i) => p[i] === s))) continue;
        // The key field of an item that stays (someone else owns part of it) stays too.
        const parent = p[p.length - 2];
        if (
          parent?.startsWith('k:') &&
          Object.keys(JSON.parse(parent.slice(2)) as Obj).includes(p[p.length - 1]!.slice(2))
        )
          continue;
        removeAt(base, p);
        dropEmptyParents(base, p);
      }
    }
  }
  // Fields applied with the same value stay shared; those whose value this apply changes (possible only with
  // force, or when no conflict was detected) move to this manager.
  for (const m of managed) {
    if (m.manager === manager && m.operation === 'Apply') continue;
    const rest = fieldsV1ToPaths(m.fieldsV1).filter(
      (p) =>
        !appliedSet.has(key(p)) ||
        p[p.length - 1] === '.' ||
        JSON.stringify(valueAt(live, p)) === JSON.stringify(valueAt(applied, p)),
    );
    m.fieldsV1 = pathsToFieldsV1(rest);
  }
  const merged = applyStrategicMergePatch(base, stripDirectives(applied));
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const entry: Managed = {
    manager,
    operation: 'Apply',
    apiVersion,
    time: now,
    fieldsType: 'FieldsV1',
    fieldsV1: pathsToFieldsV1(appliedPaths),
  };
  const kept = managed.filter(
    (m) => !(m.manager === manager && m.operation === 'Apply') && Object.keys(m.fieldsV1).length > 0,
  );
  merged.metadata ??= {};
  merged.metadata.managedFields = [...kept, entry];
  return merged;
}

/**
 * Record a create/update/patch as the field manager's `Update` entry, like the apiserver's fieldmanager: the manager
 * owns every field it added or changed (its earlier fields stay), other managers lose those fields, and fields the
 * write removed leave every manager. `subresource` 'status' writes own status fields only, 'scale' writes
 * `.spec.replicas` only; main-resource writes never own status. A request that carries non-empty managedFields
 * different from the live ones replaces them (how kubectl migrates client-side apply ownership).
 */
export function recordUpdate(
  oldObj: Obj | undefined,
  newObj: Obj,
  manager: string,
  apiVersion: string,
  subresource?: string,
): void {
  newObj.metadata ??= {};
  const sent = newObj.metadata.managedFields as Managed[] | undefined;
  const live: Managed[] = oldObj?.metadata?.managedFields ?? [];
  const managed: Managed[] = clone(
    Array.isArray(sent) && sent.length > 0 && JSON.stringify(sent) !== JSON.stringify(live) ? sent : live,
  );
  const inScope = (p: Path) =>
    subresource === 'scale'
      ? p.length === 2 && p[0] === 'f:spec' && p[1] === 'f:replicas'
      : (p[0] === 'f:status') === (subresource === 'status');
  const before = oldObj ?? {};
  const newPaths: Path[] = [];
  fieldPaths(newObj, [], [], newPaths);
  const changed = newPaths.filter(
    (p) =>
      inScope(p) &&
      (p[p.length - 1] === '.'
        ? valueAt(before, p) === undefined
        : JSON.stringify(valueAt(before, p)) !== JSON.stringify(valueAt(newObj, p))),
  );
  const oldPaths: Path[] = [];
  if (oldObj) fieldPaths(oldObj, [], [], oldPaths);
  const newKeys = new Set(newPaths.map((p) => JSON.stringify(p)));
  const removed = new Set(
    oldPaths.filter((p) => inScope(p) && !newKeys.has(JSON.stringify(p))).map((p) => JSON.stringify(p)),
  );
  const ck = new Set(changed.map((p) => JSON.stringify(p)));
  const isMine = (m: Managed) =>
    m.manager === manager && m.operation === 'Update' && (m.subresource ?? '') === (subresource ?? '');
  const prev = managed.find(isMine);
  const out = managed
    .filter((m) => !isMine(m))
    .map((m) => ({
      ...m,
      fieldsV1: pathsToFieldsV1(
        fieldsV1ToPaths(m.fieldsV1).filter((p) => !ck.has(JSON.stringify(p)) && !removed.has(JSON.stringify(p))),
      ),
    }))
    .filter((m) => Object.keys(m.fieldsV1).length > 0);
  const paths = [
    ...(prev ? fieldsV1ToPaths(prev.fieldsV1).filter((p) => !removed.has(JSON.stringify(p))) : []),
    ...changed,
  ];
  if (paths.length > 0)
    out.push({
      manager,
      operation: 'Update',
      apiVersion,
      time: changed.length > 0 || !prev?.time ? new Date().toISOString().replace(/\.\d+Z$/, 'Z') : prev.time,
      fieldsType: 'FieldsV1',
      fieldsV1: pathsToFieldsV1(paths),
      ...(subresource ? { subresource } : {}),
    });
  if (out.length > 0) newObj.metadata.managedFields = out;
  else delete newObj.metadata.managedFields;
}
