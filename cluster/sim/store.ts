// In-memory object store: one global resourceVersion counter, per-resource maps, a bounded event history so
// watches can resume from a resourceVersion, and a fan-out to watchers and controllers.
import { randomUUID } from 'node:crypto';
import { clone, type Obj } from './types.js';

export type WatchType = 'ADDED' | 'MODIFIED' | 'DELETED';
export interface StoreEvent {
  type: WatchType;
  res: string; // "group/resource"
  rv: number;
  obj: Obj;
  /** The object before a MODIFIED change (watches with selectors turn (un)matching changes into ADDED/DELETED). */
  prev?: Obj;
}
type Listener = (e: StoreEvent) => void;

const HISTORY = 20000;

export function objKey(ns: string | undefined, name: string): string {
  return `${ns ?? ''}/${name}`;
}

export class Store {
  private rv = 1;
  private readonly data = new Map<string, Map<string, Obj>>();
  /** Keys of each resource kept sorted, so lists and namespace ranges need no sort. */
  private readonly sorted = new Map<string, string[]>();
  private history: StoreEvent[] = [];
  private compacted = 0;
  private readonly listeners = new Set<Listener>();

  currentRV(): number {
    return this.rv;
  }
  /**
   * The revision of the last compaction (etcd's, as the apiserver sees it): a continue token issued for an older
   * list snapshot is answered 410 Expired. Watch history is kept apart (`oldestRV`).
   */
  compactedRV(): number {
    return this.compacted;
  }
  /** Compacts at the current revision, as etcd's periodic compaction does; older continue tokens expire. */
  compact(): void {
    this.compacted = this.rv;
  }
  /** Oldest resourceVersion a watch can still resume after. */
  oldestRV(): number {
    return this.history.length >= HISTORY ? this.history[0]!.rv : 1;
  }

  private bucket(res: string): Map<string, Obj> {
    let b = this.data.get(res);
    if (!b) {
      b = new Map();
      this.data.set(res, b);
    }
    return b;
  }

  get(res: string, ns: string | undefined, name: string): Obj | undefined {
    const o = this.bucket(res).get(objKey(ns, name));
    return o ? clone(o) : undefined;
  }
  /** No copy: for hot read-only paths (list, selectors). Callers must not mutate. */
  peek(res: string, ns: string | undefined, name: string): Obj | undefined {
    return this.bucket(res).get(objKey(ns, name));
  }

  private keys(res: string): string[] {
    let k = this.sorted.get(res);
    if (!k) {
      k = [];
      this.sorted.set(res, k);
    }
    return k;
  }

  /** Sorted by namespace/name like etcd keys, so limit/continue pages are stable. No copies: do not mutate. */
  list(res: string, ns?: string): Obj[] {
    const b = this.bucket(res);
    const keys = this.keys(res);
    const out: Obj[] = [];
    if (ns === undefined) {
      for (const k of keys) out.push(b.get(k)!);
      return out;
    }
    const prefix = `${ns}/`;
    for (let i = lowerBound(keys, prefix); i < keys.length && keys[i]!.startsWith(prefix); i++)
      out.push(b.get(keys[i]!)!);
    return out;
  }
  /** Sorted keys ("namespace/name"); the array is live: do not mutate. */
  listKeys(res: string): readonly string[] {
    return this.keys(res);
  }
  /** Index of the first key greater than `after` (for continue tokens). */
  keyIndexAfter(res: string, after: string): number {
    const keys = this.keys(res);
    let i = lowerBound(keys, after);
    if (keys[i] === after) i++;
    return i;
  }
  peekKey(res: string, key: string): Obj | undefined {
    return this.bucket(res).get(key);
  }
  resources(): string[] {
    return [...this.data.keys()];
  }
  count(res: string): number {
    return this.bucket(res).size;
  }

  private emit(type: WatchType, res: string, obj: Obj, prev?: Obj): void {
    const e: StoreEvent = { type, res, rv: Number(obj.metadata.resourceVersion), obj, ...(prev ? { prev } : {}) };
    this.history.push(e);
    if (this.history.length > HISTORY * 2) this.history = this.history.slice(-HISTORY);
    for (const l of [...this.listeners]) l(e);
  }

  create(res: string, obj: Obj): Obj {
    const o = clone(obj);
    o.metadata ??= {};
    o.metadata.uid ??= randomUUID();
    o.metadata.creationTimestamp ??= new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    o.metadata.resourceVersion = String(++this.rv);
    const k = objKey(o.metadata.namespace, o.metadata.name);
    const b = this.bucket(res);
    if (!b.has(k)) {
      const keys = this.keys(res);
      keys.splice(lowerBound(keys, k), 0, k);
    }
    b.set(k, o);
    this.emit('ADDED', res, o);
    return clone(o);
  }

  update(res: string, obj: Obj): Obj {
    const o = clone(obj);
    o.metadata.resourceVersion = String(++this.rv);
    const b = this.bucket(res);
    const k = objKey(o.metadata.namespace, o.metadata.name);
    const prev = b.get(k);
    b.set(k, o);
    this.emit('MODIFIED', res, o, prev);
    return clone(o);
  }

  remove(res: string, ns: string | undefined, name: string): Obj | undefined {
    const b = this.bucket(res);
    const k = objKey(ns, name);
    const o = b.get(k);
    if (!o) return undefined;
    b.delete(k);
    const keys = this.keys(res);
    const i = lowerBound(keys, k);
    if (keys[i] === k) keys.splice(i, 1);
    // The DELETED event carries the last state with a fresh resourceVersion, as the real watch cache does.
    const gone = clone(o);
    gone.metadata.resourceVersion = String(++this.rv);
    this.emit('DELETED', res, gone);
    return clone(gone);
  }

  /** Events strictly after rv, or undefined when rv is older than the history (410 Gone). */
  since(rv: number): StoreEvent[] | undefined {
    if (rv < this.oldestRV() - 1) return undefined;
    let lo = 0;
    let hi = this.history.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.history[mid]!.rv <= rv) lo = mid + 1;
      else hi = mid;
    }
    return this.history.slice(lo);
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

function lowerBound(a: readonly string[], x: string): number {
  let lo = 0;
  let hi = a.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (a[mid]! < x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
