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
}
type Listener = (e: StoreEvent) => void;

const HISTORY = 20000;

export function objKey(ns: string | undefined, name: string): string {
  return `${ns ?? ''}/${name}`;
}

export class Store {
  private rv = 1;
  private readonly data = new Map<string, Map<string, Obj>>();
  private readonly history: StoreEvent[] = [];
  private readonly listeners = new Set<Listener>();

  currentRV(): number {
    return this.rv;
  }
  /** Oldest resourceVersion a watch can still resume after. */
  oldestRV(): number {
    return this.history.length === HISTORY ? this.history[0]!.rv : 1;
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

  /** Sorted by namespace/name like etcd keys, so limit/continue pages are stable. */
  list(res: string, ns?: string): Obj[] {
    const b = this.bucket(res);
    const out: Obj[] = [];
    const keys = [...b.keys()].sort();
    for (const k of keys) {
      const o = b.get(k)!;
      if (ns === undefined || o.metadata?.namespace === ns) out.push(o);
    }
    return out;
  }
  listKeys(res: string): string[] {
    return [...this.bucket(res).keys()].sort();
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

  private emit(type: WatchType, res: string, obj: Obj): void {
    const e: StoreEvent = { type, res, rv: Number(obj.metadata.resourceVersion), obj };
    this.history.push(e);
    if (this.history.length > HISTORY) this.history.shift();
    for (const l of [...this.listeners]) l(e);
  }

  create(res: string, obj: Obj): Obj {
    const o = clone(obj);
    o.metadata ??= {};
    o.metadata.uid ??= randomUUID();
    o.metadata.creationTimestamp ??= new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    o.metadata.resourceVersion = String(++this.rv);
    this.bucket(res).set(objKey(o.metadata.namespace, o.metadata.name), o);
    this.emit('ADDED', res, o);
    return clone(o);
  }

  update(res: string, obj: Obj): Obj {
    const o = clone(obj);
    o.metadata.resourceVersion = String(++this.rv);
    this.bucket(res).set(objKey(o.metadata.namespace, o.metadata.name), o);
    this.emit('MODIFIED', res, o);
    return clone(o);
  }

  remove(res: string, ns: string | undefined, name: string): Obj | undefined {
    const b = this.bucket(res);
    const k = objKey(ns, name);
    const o = b.get(k);
    if (!o) return undefined;
    b.delete(k);
    // The DELETED event carries the last state with a fresh resourceVersion, as the real watch cache does.
    const gone = clone(o);
    gone.metadata.resourceVersion = String(++this.rv);
    this.emit('DELETED', res, gone);
    return clone(gone);
  }

  /** Events strictly after rv, or undefined when rv is older than the history (410 Gone). */
  since(rv: number): StoreEvent[] | undefined {
    if (rv < this.oldestRV() - 1) return undefined;
    const idx = this.history.findIndex((e) => e.rv > rv);
    return idx < 0 ? [] : this.history.slice(idx);
  }

  subscribe(l: Listener): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}
