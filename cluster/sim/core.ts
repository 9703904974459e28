// The apiserver's storage semantics on top of the Store: defaulting, validation, generation, resourceVersion
// preconditions, finalizers, graceful pod deletion, garbage collection and CRD registration. Used by the HTTP
// shell (requests) and by the controllers (system writes), so both see the same rules.
/* eslint-disable @typescript-eslint/no-dynamic-delete -- removing JSON fields by name is what patches and defaulting do */
import { randomBytes } from 'node:crypto';
import { BUILTIN, crdResourceTypes } from './resources.js';
import { validateObject } from './validation.js';
import { Store, type StoreEvent } from './store.js';
import {
  alreadyExists,
  ApiError,
  clone,
  conflict,
  invalid,
  notFound,
  type KubeUser,
  type Obj,
  type ResourceType,
} from './types.js';

export const ANNOTATION_LIMIT = 262144;
const GENERATION_GROUPS = new Set(['apps', 'batch', 'policy', 'apiextensions.k8s.io']);
const FOREGROUND = 'foregroundDeletion';

export function resKey(rt: { group: string; resource: string }): string {
  return `${rt.group}/${rt.resource}`;
}
export function nowTs(): string {
  return new Date().toISOString().replace(/\.\d+Z$/, 'Z');
}

export interface DeleteOpts {
  propagationPolicy?: string;
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
}

/** Annotation (tests only): the CRD stays `Established=False` (reason Installing) whatever else happens. */
export const NEVER_ESTABLISHED = 'sim.helm-tiers.io/never-established';

export class Cluster {
  readonly store = new Store();
  /** token → user */
  readonly tokens = new Map<string, KubeUser>();
  /** "ns/name" of a ServiceAccount → its token */
  readonly saTokens = new Map<string, string>();
  private nextIP = 10;
  /** Called when a pod is being deleted gracefully, so the kubelet can stop its process and finish the delete. */
  onPodTerminating: (pod: Obj) => void = () => {};
  /**
   * Called before every list request is served, with the store key (`/pods`, `apps/deployments`) and the query: a
   * seam for tests that need etcd to compact between two pages of one list (`store.compact()`).
   */
  beforeList: (resource: string, query: Readonly<Record<string, string | undefined>>) => void = () => {};

  constructor(readonly version: { major: string; minor: string } = { major: '1', minor: '31' }) {
    this.store.subscribe((e) => {
      this.indexOwners(e);
      this.scheduleForegroundChecks();
    });
    for (const ns of ['default', 'kube-system', 'kube-public', 'kube-node-lease']) {
      this.create(this.rt('', 'namespaces')!, undefined, {
        apiVersion: 'v1',
        kind: 'Namespace',
        metadata: { name: ns },
      });
    }
  }

  // ----- resource types -----
  private crdTypes: ResourceType[] = [];
  allTypes(): ResourceType[] {
    return [...BUILTIN, ...this.crdTypes];
  }
  rt(group: string, resource: string, version?: string): ResourceType | undefined {
    return this.allTypes().find(
      (t) => t.group === group && t.resource === resource && (!version || t.version === version),
    );
  }
  rtByKind(group: string, kind: string): ResourceType | undefined {
    return this.allTypes().find((t) => t.group === group && t.kind === kind);
  }
  private refreshCrdTypes(): void {
    this.crdTypes = this.store
      .list(resKey({ group: 'apiextensions.k8s.io', resource: 'customresourcedefinitions' }))
      .filter((c) => (c.status?.conditions ?? []).some((x: Obj) => x.type === 'Established' && x.status === 'True'))
      .flatMap((c) => crdResourceTypes(c));
  }

  // ----- reads -----
  get(rt: ResourceType, ns: string | undefined, name: string): Obj {
    const o = this.store.get(resKey(rt), rt.namespaced ? ns : undefined, name);
    if (!o) throw notFound(rt, name);
    return this.present(rt, o);
  }
  /** Set apiVersion/kind as served for the requested version (CRD versions share storage, no conversion). */
  present(rt: ResourceType, o: Obj): Obj {
    o.apiVersion = rt.group ? `${rt.group}/${rt.version}` : rt.version;
    o.kind = rt.kind;
    return o;
  }

  // ----- writes -----
  create(rt: ResourceType, ns: string | undefined, body: Obj, opts: { dryRun?: boolean } = {}): Obj {
    const o = clone(body);
    o.metadata ??= {};
    if (rt.namespaced) {
      if (o.metadata.namespace && ns && o.metadata.namespace !== ns)
        throw new ApiError(
          400,
          'BadRequest',
          'the namespace of the provided object does not match the namespace sent on the request',
        );
      o.metadata.namespace = ns ?? o.metadata.namespace ?? 'default';
      const nsObj = this.store.peek('/namespaces', undefined, o.metadata.namespace);
      if (!nsObj) throw notFound({ group: '', resource: 'namespaces' }, o.metadata.namespace);
      if (nsObj.metadata.deletionTimestamp)
        throw new ApiError(
          403,
          'Forbidden',
          `${rt.resource} "${o.metadata.name ?? ''}" is forbidden: unable to create new content in namespace ${o.metadata.namespace} because it is being terminated`,
        );
    } else delete o.metadata.namespace;
    if (!o.metadata.name && o.metadata.generateName)
      o.metadata.name = `${String(o.metadata.generateName)}${randomBytes(3).toString('hex').slice(0, 5)}`;
    if (!o.metadata.name)
      throw invalid(rt, '', [
        {
          field: 'metadata.name',
          reason: 'FieldValueRequired',
          message: 'Required value: name or generateName is required',
        },
      ]);
    this.validate(rt, o);
    if (this.store.peek(resKey(rt), o.metadata.namespace, o.metadata.name)) throw alreadyExists(rt, o.metadata.name);
    for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp', 'selfLink'])
      delete o.metadata[k];
    if (this.hasGeneration(rt)) o.metadata.generation = 1;
    this.present(rt, o);
    this.defaults(rt, o);
    if (opts.dryRun) return o;
    const created = this.store.create(resKey(rt), o);
    this.afterWrite(rt, created);
    return this.present(rt, created);
  }

  /** Replace an object (PUT). `subresource` 'status' changes status only; the main resource keeps status. */
  update(
    rt: ResourceType,
    ns: string | undefined,
    name: string,
    body: Obj,
    opts: { subresource?: string; dryRun?: boolean } = {},
  ): Obj {
    const key = resKey(rt);
    const nsKey = rt.namespaced ? ns : undefined;
    const cur = this.store.get(key, nsKey, name);
    if (!cur) throw notFound(rt, name);
    const rv = body.metadata?.resourceVersion;
    if (rv && rv !== cur.metadata.resourceVersion) throw conflict(rt, name);
    if (body.metadata?.name && body.metadata.name !== name)
      throw new ApiError(
        400,
        'BadRequest',
        `the name of the object (${body.metadata.name}) does not match the name on the URL (${name})`,
      );
    let next: Obj;
    if (opts.subresource === 'status') {
      next = clone(cur);
      next.status = clone(body.status);
      // The status writer's managedFields entry (recorded by the HTTP layer) is the one change metadata gets.
      if (body.metadata?.managedFields) next.metadata.managedFields = clone(body.metadata.managedFields);
    } else {
      next = clone(body);
      next.metadata ??= {};
      for (const k of [
        'uid',
        'creationTimestamp',
        'deletionTimestamp',
        'deletionGracePeriodSeconds',
        'generation',
        'namespace',
        'name',
      ])
        if (cur.metadata[k] !== undefined) next.metadata[k] = cur.metadata[k];
        else delete next.metadata[k];
      if (rt.subresources.includes('status')) {
        if (cur.status !== undefined) next.status = cur.status;
        else delete next.status;
      }
      if (this.hasGeneration(rt) && specOf(cur) !== specOf(next))
        next.metadata.generation = Number(cur.metadata.generation ?? 1) + 1;
      if (rt.group === '' && rt.resource === 'services' && cur.spec?.clusterIP && !next.spec?.clusterIP) {
        // Like the service REST update: an unset clusterIP keeps the allocated one.
        next.spec ??= {};
        next.spec.clusterIP = cur.spec.clusterIP;
        next.spec.clusterIPs = cur.spec.clusterIPs;
      }
      this.present(rt, next);
      this.defaults(rt, next);
      this.validate(rt, next);
      this.validateUpdate(rt, next, cur);
    }
    if (opts.dryRun) return this.present(rt, next);
    if (
      JSON.stringify({ ...next, metadata: { ...next.metadata, resourceVersion: '' } }) ===
      JSON.stringify({ ...cur, metadata: { ...cur.metadata, resourceVersion: '' } })
    )
      return this.present(rt, cur); // a no-op write keeps the resourceVersion, as etcd3 storage does
    if (
      next.metadata.deletionTimestamp &&
      (next.metadata.finalizers ?? []).length === 0 &&
      rt.resource !== 'pods' &&
      rt.resource !== 'namespaces'
    ) {
      const gone = this.store.remove(key, nsKey, name)!;
      this.afterDelete(rt, gone, 'Background');
      return this.present(rt, gone);
    }
    const saved = this.store.update(key, next);
    this.afterWrite(rt, saved);
    return this.present(rt, saved);
  }

  delete(rt: ResourceType, ns: string | undefined, name: string, opts: DeleteOpts = {}): Obj {
    const key = resKey(rt);
    const nsKey = rt.namespaced ? ns : undefined;
    const cur = this.store.get(key, nsKey, name);
    if (!cur) throw notFound(rt, name);
    if (opts.preconditions?.uid && opts.preconditions.uid !== cur.metadata.uid)
      throw new ApiError(
        409,
        'Conflict',
        `Precondition failed: UID in precondition: ${opts.preconditions.uid}, UID in object meta: ${cur.metadata.uid}`,
      );
    if (opts.preconditions?.resourceVersion && opts.preconditions.resourceVersion !== cur.metadata.resourceVersion)
      throw conflict(rt, name);
    const policy = opts.propagationPolicy ?? (rt.group === 'batch' && rt.resource === 'jobs' ? 'Orphan' : 'Background');
    if (rt.resource === 'namespaces' && rt.group === '') {
      if (!cur.metadata.deletionTimestamp) {
        cur.metadata.deletionTimestamp = nowTs();
        cur.status = { ...(cur.status ?? {}), phase: 'Terminating' };
        const saved = this.store.update(key, cur);
        // Content goes first, then the namespace itself, like the namespace controller.
        setTimeout(() => {
          this.finishNamespace(name);
        }, 5);
        return this.present(rt, saved);
      }
      return this.present(rt, cur);
    }
    if (rt.resource === 'pods' && rt.group === '') {
      const grace = opts.gracePeriodSeconds ?? cur.spec?.terminationGracePeriodSeconds ?? 30;
      if (grace > 0 && cur.spec?.nodeName && !['Succeeded', 'Failed'].includes(cur.status?.phase)) {
        if (cur.metadata.deletionTimestamp) return this.present(rt, cur);
        cur.metadata.deletionTimestamp = new Date(Date.now() + grace * 1000).toISOString().replace(/\.\d+Z$/, 'Z');
        cur.metadata.deletionGracePeriodSeconds = grace;
        const saved = this.store.update(key, cur);
        this.onPodTerminating(saved);
        return this.present(rt, saved);
      }
    }
    if (policy === 'Foreground') {
      // The registry marks the owner (deletionTimestamp and the foregroundDeletion finalizer); the garbage collector
      // deletes its dependents and drops the finalizer once no dependent with blockOwnerDeletion is left. Until then
      // the owner stays readable, terminating.
      const fins: string[] = cur.metadata.finalizers ?? [];
      if (!fins.includes(FOREGROUND)) cur.metadata.finalizers = [...fins, FOREGROUND];
      if (!cur.metadata.deletionTimestamp) {
        cur.metadata.deletionTimestamp = nowTs();
        cur.metadata.deletionGracePeriodSeconds = 0;
      }
      const saved = this.store.update(key, cur);
      const uid = String(saved.metadata.uid);
      this.foreground.set(uid, { rt, ns: nsKey, name });
      this.deleteDependents(saved, 'Foreground');
      this.checkForeground(uid);
      return this.present(rt, this.store.peek(key, nsKey, name) ?? saved);
    }
    if ((cur.metadata.finalizers ?? []).length > 0) {
      if (!cur.metadata.deletionTimestamp) {
        cur.metadata.deletionTimestamp = nowTs();
        cur.metadata.deletionGracePeriodSeconds = 0;
        return this.present(rt, this.store.update(key, cur));
      }
      return this.present(rt, cur);
    }
    const gone = this.store.remove(key, nsKey, name)!;
    this.afterDelete(rt, gone, policy);
    return this.present(rt, gone);
  }

  /** Finish a graceful pod deletion (the kubelet confirmed the containers stopped). */
  finalizePod(ns: string, name: string): void {
    const rt = this.rt('', 'pods')!;
    const cur = this.store.peek('/pods', ns, name);
    if (!cur) return;
    const gone = this.store.remove('/pods', ns, name)!;
    this.afterDelete(rt, gone, 'Background');
  }

  private finishNamespace(name: string): void {
    for (const t of this.allTypes()) {
      if (!t.namespaced || t.version !== (t.versions?.[0] ?? t.version)) continue;
      for (const o of this.store.list(resKey(t), name)) {
        const gone = this.store.remove(resKey(t), name, o.metadata.name);
        if (gone) this.afterDelete(t, gone, 'Background');
      }
    }
    const gone = this.store.remove('/namespaces', undefined, name);
    if (gone) this.afterDelete(this.rt('', 'namespaces')!, gone, 'Background');
  }

  /** owner uid → "res\0ns/name" of objects whose ownerReferences name it (the garbage collector's graph). */
  private readonly dependents = new Map<string, Set<string>>();

  private indexOwners(e: StoreEvent): void {
    const key = `${e.res}\0${e.obj.metadata.namespace ?? ''}/${e.obj.metadata.name}`;
    const uids = (o: Obj | undefined): string[] =>
      ((o?.metadata?.ownerReferences ?? []) as Obj[]).map((r) => String(r.uid));
    const drop = (u: string) => {
      const set = this.dependents.get(u);
      set?.delete(key);
      if (set?.size === 0) this.dependents.delete(u);
    };
    for (const u of uids(e.prev)) drop(u);
    // The owner's own entry stays until its dependents are gone: GC runs after the owner's DELETED event.
    if (e.type === 'DELETED') {
      for (const u of uids(e.obj)) drop(u);
      return;
    }
    for (const u of uids(e.obj)) {
      let set = this.dependents.get(u);
      if (!set) {
        set = new Set();
        this.dependents.set(u, set);
      }
      set.add(key);
    }
  }

  /** Owners being deleted in the foreground, by uid: the garbage collector's "waiting for dependents deletion". */
  private readonly foreground = new Map<string, { rt: ResourceType; ns: string | undefined; name: string }>();
  private foregroundPending = false;

  /** Drops the foregroundDeletion finalizer (and so the owner) once no blocking dependent is left. */
  private checkForeground(uid: string): void {
    const f = this.foreground.get(uid);
    if (!f) return;
    const key = resKey(f.rt);
    const cur = this.store.peek(key, f.ns, f.name);
    if (!cur || String(cur.metadata.uid) !== uid) {
      this.foreground.delete(uid);
      return;
    }
    const blocking = [...(this.dependents.get(uid) ?? [])].some((dep) => {
      const [res, k] = dep.split('\0') as [string, string];
      const o = this.store.peekKey(res, k);
      return ((o?.metadata.ownerReferences ?? []) as Obj[]).some(
        (r) => String(r.uid) === uid && r.blockOwnerDeletion === true,
      );
    });
    if (blocking) return;
    this.foreground.delete(uid);
    const next = clone(cur);
    const fins = ((next.metadata.finalizers ?? []) as string[]).filter((x) => x !== FOREGROUND);
    if (fins.length > 0) {
      next.metadata.finalizers = fins;
      this.store.update(key, next);
      return;
    }
    const gone = this.store.remove(key, f.ns, f.name);
    if (gone) this.afterDelete(f.rt, gone, 'Foreground');
  }

  /** After any change, re-check the foreground deletions (batched: one pass per tick). */
  private scheduleForegroundChecks(): void {
    if (this.foreground.size === 0 || this.foregroundPending) return;
    this.foregroundPending = true;
    setTimeout(() => {
      this.foregroundPending = false;
      for (const uid of [...this.foreground.keys()]) this.checkForeground(uid);
    }, 0);
  }

  private deleteDependents(owner: Obj, policy: string): void {
    const uid = String(owner.metadata.uid);
    for (const dep of [...(this.dependents.get(uid) ?? [])]) {
      const [res, key] = dep.split('\0') as [string, string];
      const o = this.store.peekKey(res, key);
      if (!o) continue;
      const [group, resource] = res.split('/') as [string, string];
      const t = this.rt(group, resource);
      if (!t) continue;
      const refs: Obj[] = o.metadata.ownerReferences ?? [];
      if (policy === 'Orphan') {
        const u = clone(o);
        u.metadata.ownerReferences = refs.filter((r) => r.uid !== uid);
        if (u.metadata.ownerReferences.length === 0) delete u.metadata.ownerReferences;
        this.store.update(res, u);
      } else {
        // Like the garbage collector: a dependent of a foreground deletion that has dependents of its own is
        // deleted in the foreground too.
        const own = policy === 'Foreground' && (this.dependents.get(String(o.metadata.uid))?.size ?? 0) > 0;
        try {
          this.delete(t, o.metadata.namespace, o.metadata.name, {
            propagationPolicy: own ? 'Foreground' : 'Background',
          });
        } catch {
          /* already gone */
        }
      }
    }
  }

  private afterDelete(rt: ResourceType, gone: Obj, policy: string): void {
    if (rt.group === '' && rt.resource === 'serviceaccounts') {
      const k = `${gone.metadata.namespace}/${gone.metadata.name}`;
      const tok = this.saTokens.get(k);
      if (tok) this.tokens.delete(tok);
      this.saTokens.delete(k);
    }
    if (rt.group === 'apiextensions.k8s.io' && rt.resource === 'customresourcedefinitions') {
      const g = gone.spec?.group;
      const plural = gone.spec?.names?.plural;
      for (const o of this.store.list(`${g}/${plural}`))
        this.store.remove(`${g}/${plural}`, o.metadata.namespace, o.metadata.name);
      this.recomputeCrds();
    }
    // Garbage collection runs after the owner is gone (Background) or has already run (Foreground).
    if (policy !== 'Foreground')
      setTimeout(() => {
        this.deleteDependents(gone, policy);
      }, 1);
  }

  private afterWrite(rt: ResourceType, o: Obj): void {
    if (rt.group === '' && rt.resource === 'serviceaccounts') this.ensureSaToken(o.metadata.namespace, o.metadata.name);
    if (rt.group === 'apiextensions.k8s.io' && rt.resource === 'customresourcedefinitions') this.recomputeCrds();
  }

  ensureSaToken(ns: string, name: string): string {
    const k = `${ns}/${name}`;
    let tok = this.saTokens.get(k);
    if (!tok) {
      tok = `sa-${randomBytes(16).toString('hex')}`;
      this.saTokens.set(k, tok);
      this.tokens.set(tok, {
        name: `system:serviceaccount:${ns}:${name}`,
        groups: ['system:serviceaccounts', `system:serviceaccounts:${ns}`, 'system:authenticated'],
      });
    }
    return tok;
  }

  /** NamesAccepted/Established like the apiextensions naming and establishing controllers. */
  private recomputeCrds(): void {
    const key = 'apiextensions.k8s.io/customresourcedefinitions';
    const crds = this.store.list(key);
    const byAge = [...crds].sort((a, b) => Number(a.metadata.resourceVersion) - Number(b.metadata.resourceVersion));
    for (const c of crds) {
      const names = c.spec?.names ?? {};
      let reason = 'NoConflicts';
      let message = 'no conflicts found';
      for (const other of byAge) {
        if (other === c) break;
        if (other.spec?.group !== c.spec?.group) continue;
        if (!(other.status?.conditions ?? []).some((x: Obj) => x.type === 'NamesAccepted' && x.status === 'True'))
          continue;
        const on = other.status?.acceptedNames ?? other.spec?.names ?? {};
        // Same order of checks as the apiextensions naming controller.
        const singular = names.singular ?? String(names.kind).toLowerCase();
        const listKind = names.listKind ?? `${names.kind}List`;
        if (on.plural === names.plural) [reason, message] = ['PluralConflict', `"${names.plural}" is already in use`];
        else if (on.singular === singular) [reason, message] = ['SingularConflict', `"${singular}" is already in use`];
        else if ((names.shortNames ?? []).some((s: string) => (on.shortNames ?? []).includes(s)))
          [reason, message] = ['ShortNamesConflict', `"${(names.shortNames ?? []).join(',')}" is already in use`];
        else if (on.kind === names.kind) [reason, message] = ['KindConflict', `"${names.kind}" is already in use`];
        else if ((on.listKind ?? `${on.kind}List`) === listKind)
          [reason, message] = ['ListKindConflict', `"${listKind}" is already in use`];
        if (reason !== 'NoConflicts') break;
      }
      const accepted = reason === 'NoConflicts';
      // Test knob: a CRD the establishing controller never gets to (as when the apiserver cannot serve it).
      const stuck = c.metadata?.annotations?.[NEVER_ESTABLISHED] === 'true';
      const prev: Obj[] = c.status?.conditions ?? [];
      const cond = (type: string, status: string, r: string, m: string) => {
        const old = prev.find((x) => x.type === type);
        return {
          type,
          status,
          lastTransitionTime: old && old.status === status ? old.lastTransitionTime : nowTs(),
          reason: r,
          message: m,
        };
      };
      const status = {
        ...(c.status ?? {}),
        conditions: [
          cond('NamesAccepted', accepted ? 'True' : 'False', reason, message),
          !accepted
            ? cond('Established', 'False', 'NotAccepted', 'not all names are accepted')
            : stuck
              ? cond('Established', 'False', 'Installing', 'the initial names have been accepted')
              : cond('Established', 'True', 'InitialNamesAccepted', 'the initial names have been accepted'),
        ],
        acceptedNames: accepted
          ? {
              ...names,
              singular: names.singular ?? String(names.kind).toLowerCase(),
              listKind: names.listKind ?? `${names.kind}List`,
            }
          : (c.status?.acceptedNames ?? { plural: '', kind: '' }),
        storedVersions: (c.spec?.versions ?? []).filter((v: Obj) => v.storage).map((v: Obj) => v.name),
      };
      if (JSON.stringify(status) !== JSON.stringify(c.status)) this.store.update(key, { ...clone(c), status });
    }
    this.refreshCrdTypes();
  }

  private hasGeneration(rt: ResourceType): boolean {
    return GENERATION_GROUPS.has(rt.group) || rt.crd === true;
  }

  /** Immutable fields, checked like the apiserver's update validation (the messages' Go value dumps are JSON here). */
  private validateUpdate(rt: ResourceType, next: Obj, cur: Obj): void {
    const same = (a: unknown, b: unknown) => JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
    const immutable = (field: string, a: unknown, b: unknown) => {
      if (!same(a, b))
        throw invalid(rt, next.metadata.name, [
          {
            field,
            reason: 'FieldValueInvalid',
            message: `Invalid value: ${JSON.stringify(a ?? null)}: field is immutable`,
          },
        ]);
    };
    const key = `${rt.group}/${rt.resource}`;
    if (key === 'apps/deployments' || key === 'apps/replicasets' || key === 'apps/daemonsets')
      immutable('spec.selector', next.spec?.selector, cur.spec?.selector);
    else if (key === 'apps/statefulsets') {
      const strip = (o: Obj | undefined) => {
        const x = { ...(o?.spec ?? {}) } as Obj;
        for (const f of [
          'replicas',
          'ordinals',
          'template',
          'updateStrategy',
          'persistentVolumeClaimRetentionPolicy',
          'minReadySeconds',
        ])
          delete x[f];
        return x;
      };
      if (!same(strip(next), strip(cur)))
        throw invalid(rt, next.metadata.name, [
          {
            field: 'spec',
            reason: 'FieldValueForbidden',
            message:
              "Forbidden: updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
          },
        ]);
    } else if (key === 'batch/jobs') {
      immutable('spec.selector', next.spec?.selector, cur.spec?.selector);
      immutable('spec.template', next.spec?.template, cur.spec?.template);
      immutable('spec.completions', next.spec?.completions, cur.spec?.completions);
    } else if (key === '/services' && cur.spec?.clusterIP && next.spec?.clusterIP !== undefined) {
      immutable('spec.clusterIP', next.spec.clusterIP, cur.spec.clusterIP);
    } else if (key === 'apiextensions.k8s.io/customresourcedefinitions') {
      immutable('spec.scope', next.spec?.scope, cur.spec?.scope);
    }
  }

  private validate(rt: ResourceType, o: Obj): void {
    const ann = o.metadata?.annotations ?? {};
    let size = 0;
    for (const [k, v] of Object.entries(ann)) size += k.length + Buffer.byteLength(String(v));
    if (size > ANNOTATION_LIMIT)
      throw invalid(rt, o.metadata.name, [
        {
          field: 'metadata.annotations',
          reason: 'FieldValueTooLong',
          message: `Too long: may not be more than ${ANNOTATION_LIMIT} bytes`,
        },
      ]);
    if (rt.group === '' && rt.resource === 'pods' && !(o.spec?.containers?.length > 0))
      throw invalid(rt, o.metadata.name, [
        { field: 'spec.containers', reason: 'FieldValueRequired', message: 'Required value' },
      ]);
    const causes = validateObject(rt.group, rt.resource, o);
    if (causes.length > 0) throw invalid(rt, o.metadata.name, causes);
  }

  // ----- defaulting (only what clients and controllers read back) -----
  private defaults(rt: ResourceType, o: Obj): void {
    const g = rt.group;
    const r = rt.resource;
    if (g === '' && r === 'namespaces') {
      o.metadata.labels = { ...(o.metadata.labels ?? {}), 'kubernetes.io/metadata.name': o.metadata.name };
      o.spec ??= { finalizers: ['kubernetes'] };
      o.status ??= { phase: 'Active' };
    } else if (g === '' && r === 'pods') {
      defaultPodSpec(o.spec, 'Always');
      o.spec.serviceAccountName ??= 'default';
      o.spec.serviceAccount ??= o.spec.serviceAccountName;
      o.status ??= { phase: 'Pending', qosClass: 'BestEffort' };
    } else if (g === '' && r === 'services') {
      o.spec ??= {};
      o.spec.type ??= 'ClusterIP';
      o.spec.sessionAffinity ??= 'None';
      if (o.spec.clusterIP === undefined && o.spec.type !== 'ExternalName') {
        o.spec.clusterIP = `10.96.${Math.floor(this.nextIP / 250)}.${(this.nextIP % 250) + 1}`;
        this.nextIP++;
      }
      if (o.spec.clusterIP && o.spec.clusterIP !== 'None') o.spec.clusterIPs ??= [o.spec.clusterIP];
      o.spec.ipFamilies ??= ['IPv4'];
      o.spec.ipFamilyPolicy ??= 'SingleStack';
      o.spec.internalTrafficPolicy ??= 'Cluster';
      for (const p of o.spec.ports ?? []) {
        p.protocol ??= 'TCP';
        p.targetPort ??= p.port;
      }
      o.status ??= { loadBalancer: {} };
    } else if (g === '' && r === 'secrets') {
      o.type ??= 'Opaque';
      if (o.stringData) {
        o.data ??= {};
        for (const [k, v] of Object.entries(o.stringData)) o.data[k] = Buffer.from(String(v)).toString('base64');
        delete o.stringData;
      }
    } else if (g === '' && r === 'persistentvolumeclaims') {
      o.spec ??= {};
      o.spec.volumeMode ??= 'Filesystem';
      o.status ??= { phase: 'Pending' };
    } else if (
      g === 'apps' &&
      (r === 'deployments' || r === 'replicasets' || r === 'statefulsets' || r === 'daemonsets')
    ) {
      o.spec ??= {};
      if (r !== 'daemonsets') o.spec.replicas ??= 1;
      o.spec.revisionHistoryLimit ??= 10;
      if (r === 'deployments') {
        o.spec.progressDeadlineSeconds ??= 600;
        o.spec.strategy ??= { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } };
      }
      if (r === 'statefulsets') {
        o.spec.podManagementPolicy ??= 'OrderedReady';
        o.spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { partition: 0 } };
        o.spec.persistentVolumeClaimRetentionPolicy ??= { whenDeleted: 'Retain', whenScaled: 'Retain' };
      }
      if (r === 'daemonsets')
        o.spec.updateStrategy ??= { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 1 } };
      o.spec.template ??= {};
      defaultPodSpec((o.spec.template.spec ??= {}), 'Always');
      o.status ??= {};
    } else if (g === 'batch' && r === 'jobs') {
      o.spec ??= {};
      o.spec.backoffLimit ??= 6;
      o.spec.completions ??= 1;
      o.spec.parallelism ??= 1;
      o.spec.completionMode ??= 'NonIndexed';
      o.spec.suspend ??= false;
      o.spec.podReplacementPolicy ??= 'TerminatingOrFailed';
      if (!o.spec.manualSelector && !o.spec.selector) {
        const uid = o.metadata.uid ?? (o.metadata.uid = cryptoUid());
        o.spec.selector = { matchLabels: { 'batch.kubernetes.io/controller-uid': uid } };
        o.spec.template ??= {};
        o.spec.template.metadata ??= {};
        o.spec.template.metadata.labels = {
          ...(o.spec.template.metadata.labels ?? {}),
          'batch.kubernetes.io/controller-uid': uid,
          'batch.kubernetes.io/job-name': o.metadata.name,
          'controller-uid': uid,
          'job-name': o.metadata.name,
        };
      }
      defaultPodSpec((o.spec.template ??= {}).spec ?? (o.spec.template.spec = {}), 'Never');
      o.status ??= {};
    } else if (g === 'batch' && r === 'cronjobs') {
      o.spec ??= {};
      o.spec.concurrencyPolicy ??= 'Allow';
      o.spec.suspend ??= false;
      o.spec.successfulJobsHistoryLimit ??= 3;
      o.spec.failedJobsHistoryLimit ??= 1;
      o.status ??= {};
    } else if (g === 'policy' && r === 'poddisruptionbudgets') {
      o.status ??= {
        disruptionsAllowed: 0,
        currentHealthy: 0,
        desiredHealthy: 0,
        expectedPods: 0,
        observedGeneration: 0,
      };
    } else if (g === 'apiextensions.k8s.io') {
      o.spec ??= {};
      o.spec.names ??= {};
      o.spec.names.singular ??= String(o.spec.names.kind ?? '').toLowerCase();
      o.spec.names.listKind ??= `${o.spec.names.kind}List`;
      o.spec.conversion ??= { strategy: 'None' };
      o.status ??= { conditions: [], acceptedNames: { plural: '', kind: '' }, storedVersions: [] };
    }
  }
}

function cryptoUid(): string {
  const h = randomBytes(16).toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20)}`;
}

function specOf(o: Obj): string {
  const rest = { ...o };
  delete rest.metadata;
  delete rest.status;
  return JSON.stringify(rest);
}

export function defaultPodSpec(spec: Obj | undefined, restartPolicy: string): void {
  if (!spec) return;
  spec.restartPolicy ??= restartPolicy;
  spec.terminationGracePeriodSeconds ??= 30;
  spec.dnsPolicy ??= 'ClusterFirst';
  spec.schedulerName ??= 'default-scheduler';
  spec.securityContext ??= {};
  if (spec.serviceAccount && !spec.serviceAccountName) spec.serviceAccountName = spec.serviceAccount;
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])] as Obj[]) {
    const image = String(c.image ?? '');
    const tag = image.includes('@') ? 'digest' : (/:([^/:]+)$/.exec(image)?.[1] ?? 'latest');
    c.imagePullPolicy ??= tag === 'latest' ? 'Always' : 'IfNotPresent';
    c.terminationMessagePath ??= '/dev/termination-log';
    c.terminationMessagePolicy ??= 'File';
    c.resources ??= {};
    for (const p of c.ports ?? []) p.protocol ??= 'TCP';
  }
}
