/**
 * The fast path's planning: from a scanned document (scan.ts), exactly the edits the full path would plan on its
 * parse tree (tree-edits.ts), as long as each is one it can be sure of: an insertion into a block or flow mapping,
 * or a value written into an empty or `null` target. Anything else (a key of ours already there with another
 * value, a scalar where a mapping must be, a merge key) sends the document to the full path, which decides.
 */
import type { Entries, Entry, TierMetadata } from '../../core/labels.js';
import { blockOrder, IN_FLOW, INLINE, sortEdits, type Edit } from './edits.js';
import {
  find,
  NOT_A_MAP,
  quotedText,
  V,
  type DocScanner,
  type Entry as ScanEntry,
  type FlowInfo,
  type MapInfo,
} from './scan.js';
import { isListDocument, targetsFor, type Target } from './targets.js';
import { blockText, flowText } from './text.js';

/** YAML 1.1 words that do not resolve to strings (booleans, null): never accepted as kind/apiVersion. */
const NON_STRING_WORDS = /^(?:y|yes|n|no|true|false|on|off|null)$/i;
const KIND_TEXT = /^[A-Za-z][A-Za-z0-9]*$/;
const API_VERSION_TEXT = /^[A-Za-z][-A-Za-z0-9.]*(?:\/[A-Za-z][-A-Za-z0-9.]*)?$/;
/** A plain scalar that is certainly a string: starts with a letter and is no boolean or null word. */
const STRING_PLAIN = /^[A-Za-z][-A-Za-z0-9_.]*$/;

export class InsertionPlanner {
  /** Keys the scanner must record: kind, apiVersion and the keys we write. */
  readonly wanted: ReadonlySet<string>;
  /** Targets by apiVersion and kind (the pod-template target depends on the group too). */
  private readonly targetCache = new Map<string, Target[]>();
  /** Block insertion texts of all of a target's entries, by depth and column. */
  private readonly textCache = new Map<Target, Map<number, string>>();

  constructor(
    private readonly src: string,
    private readonly meta: TierMetadata,
  ) {
    this.wanted = new Set(['kind', 'apiVersion', ...[...meta.labels, ...meta.annotations].map(([k]) => k)]);
  }

  /** The edits for one scanned document: appends them to `out` and returns the number of objects, or undefined. */
  plan(root: MapInfo, out: Edit[]): number | undefined {
    const kind = this.stringField(root, 'kind', KIND_TEXT);
    const apiVersion = this.stringField(root, 'apiVersion', API_VERSION_TEXT);
    if (kind === undefined || apiVersion === undefined) return undefined;
    if (kind.endsWith('List')) {
      const items = this.listItems(root);
      if (items === null) return undefined;
      const shapes = items?.map((item) => this.itemShape(item));
      if (shapes?.includes('unsure')) return undefined;
      if (isListDocument(kind, shapes, (shape) => shape === 'object')) {
        // A List without items (no objects) or with an item that is no object (an error): the full path's.
        if (!items || !shapes || items.length === 0 || shapes.includes('other')) return undefined;
        for (const item of items as MapInfo[]) {
          const itemKind = this.stringField(item, 'kind', KIND_TEXT) as string;
          const itemApiVersion = this.stringField(item, 'apiVersion', API_VERSION_TEXT) as string;
          if (!this.planObject(item, itemApiVersion, itemKind, out)) return undefined;
        }
        return items.length;
      }
    }
    return this.planObject(root, apiVersion, kind, out) ? 1 : undefined;
  }

  /**
   * The items of the root's `items` when it is a sequence (NOT_A_MAP for those that are certainly no mapping),
   * undefined when it is absent or no sequence, null when unsure.
   */
  private listItems(root: MapInfo): readonly (MapInfo | undefined)[] | undefined | null {
    const e = find(root, 'items');
    if (!e) return undefined;
    if (e.type === V.Seq) return e.items ?? null;
    if (e.type === V.FlowSeq) {
      // `[]` (a List of no objects) and `{` (maybe an object among the items) are the full path's. Otherwise no
      // item is a mapping: the scanner refuses `a: b` pairs in a flow sequence.
      const text = this.src.slice(e.valueStart, e.valueEnd);
      if (text.includes('{') || /^\[ *\]$/.test(text)) return null;
      return [NOT_A_MAP];
    }
    return undefined;
  }

  /**
   * Whether a List item is an object (a mapping with apiVersion and kind, nodes.ts `isObjectNode`), certainly no
   * object, or something the scanner cannot be sure of (not recorded, a key it cannot compare, an unreadable kind).
   */
  private itemShape(item: MapInfo | undefined): 'object' | 'other' | 'unsure' {
    if (item === NOT_A_MAP) return 'other';
    if (!item || item.bad) return 'unsure';
    if (!find(item, 'kind') || !find(item, 'apiVersion')) return 'other';
    const readable =
      this.stringField(item, 'kind', KIND_TEXT) !== undefined &&
      this.stringField(item, 'apiVersion', API_VERSION_TEXT) !== undefined;
    return readable ? 'object' : 'unsure';
  }

  private stringField(map: MapInfo, key: string, shape: RegExp): string | undefined {
    if (map.bad) return undefined;
    const e = find(map, key);
    if (!e || e.valueEnd <= e.valueStart) return undefined;
    if (e.type === V.Quoted) {
      const text = quotedText(this.src, e);
      return text !== undefined && shape.test(text) ? text : undefined;
    }
    if (e.type !== V.Plain) return undefined;
    const text = this.src.slice(e.valueStart, e.valueEnd);
    return shape.test(text) && !NON_STRING_WORDS.test(text) ? text : undefined;
  }

  /** The edits for one object, when the fast path can be sure of all of them. */
  private planObject(obj: MapInfo, apiVersion: string, kind: string, out: Edit[]): boolean {
    // Without metadata, or with `metadata:`/`metadata: {}`, the full path takes the document model (render.ts).
    const md = find(obj, 'metadata');
    if (!md || md.type === V.Null || (md.type === V.FlowMap && md.flow?.lastEnd === -1)) return false;
    const typeKey = `${apiVersion} ${kind}`;
    let targets = this.targetCache.get(typeKey);
    if (!targets) {
      targets = targetsFor(apiVersion, kind, this.meta);
      this.targetCache.set(typeKey, targets);
    }
    for (const target of targets) if (!this.planTarget(obj, target, out)) return false;
    return true;
  }

  /** One target (tree-edits.ts `applyTarget`): false when the full path must decide. */
  private planTarget(obj: MapInfo, target: Target, out: Edit[]): boolean {
    const path = target.path;
    let map = obj;
    for (let depth = 0; depth < path.length; depth++) {
      if (map.bad) return false;
      const e = find(map, path[depth] as string);
      if (!e) {
        if (depth >= target.mustExist) out.push(this.blockInsertion(map, target, depth, target.entries));
        return true;
      }
      if (e.type === V.Map) {
        if (!e.child) return false;
        map = e.child;
        continue;
      }
      if (e.type === V.Null) {
        if (depth >= target.mustExist) out.push(nullEdit(e, `{${flowText(path.slice(depth + 1), target.entries)}}`));
        return true;
      }
      if (e.type === V.FlowMap && e.flow && !e.flow.bad) return this.planFlow(e.flow, target, depth, out);
      // A scalar or a sequence where a mapping must be (the full path's error), or a flow mapping we cannot read.
      return false;
    }
    if (map.bad) return false;
    // Usually none of our keys is there yet: all of them are written, with the cached text.
    let present = false;
    for (const entry of target.entries) {
      const e = find(map, entry[0]);
      if (!e) continue;
      if (!this.keeps(e, entry)) return false;
      present = true;
    }
    const missing = present ? target.entries.filter(([key]) => !find(map, key)) : target.entries;
    if (missing.length > 0) out.push(this.blockInsertion(map, target, path.length, missing));
    return true;
  }

  /** The flow mapping at `path[depth]`: written into when it is the target, else the rest of the path created. */
  private planFlow(flow: FlowInfo, target: Target, depth: number, out: Edit[]): boolean {
    const path = target.path;
    if (depth === path.length - 1) {
      const missing: Entry[] = [];
      for (const entry of target.entries) {
        if (!flow.keys.includes(entry[0])) missing.push(entry);
        // Present: only a key added where absent can stay without reading its value.
        else if (entry[2] !== 'ifAbsent') return false;
      }
      if (missing.length > 0) out.push(flowInsertion(flow, [], missing));
      return true;
    }
    if (flow.keys.includes(path[depth + 1] as string)) return false; // nested inside a flow mapping: unusual
    if (depth + 1 >= target.mustExist) out.push(flowInsertion(flow, path.slice(depth + 1), target.entries));
    return true;
  }

  /**
   * Whether an entry already in the map needs no edit: a key added where absent (the chart's, whatever its value),
   * or our key holding exactly our value as a string. Anything else (another value: a conflict; a number; null)
   * is the full path's to decide.
   */
  private keeps(e: ScanEntry, [, value, mode]: Entry): boolean {
    if (e.type === V.Null) return false;
    if (mode === 'ifAbsent') return true;
    if (e.type === V.Quoted) return quotedText(this.src, e) === value;
    if (e.type !== V.Plain) return false;
    const text = this.src.slice(e.valueStart, e.valueEnd);
    return text === value && STRING_PLAIN.test(text) && !NON_STRING_WORDS.test(text);
  }

  /** Lines inserted at the end of a block mapping (after the last content line of its subtree). */
  private blockInsertion(map: MapInfo, target: Target, depth: number, entries: Entries): Edit {
    let text: string;
    if (entries === target.entries) {
      let texts = this.textCache.get(target);
      if (!texts) this.textCache.set(target, (texts = new Map<number, string>()));
      const cacheKey = depth * 65536 + map.col;
      const cached = texts.get(cacheKey);
      text = cached ?? blockText(target.path.slice(depth), entries, map.col);
      if (cached === undefined) texts.set(cacheKey, text);
    } else {
      text = blockText(target.path.slice(depth), entries, map.col);
    }
    const atEof = map.end >= this.src.length;
    const pos = atEof ? this.src.length : map.end + 1;
    return { start: pos, end: pos, text: atEof ? '\n' + text : text, order: blockOrder(map.col) };
  }
}

/** A value written in place of `null`/`~`, or after the colon of an empty value. */
function nullEdit(e: ScanEntry, text: string): Edit {
  if (e.valueStart >= 0) return { start: e.valueStart, end: e.valueEnd, text, order: INLINE };
  return { start: e.colonEnd, end: e.colonEnd, text: ` ${text}`, order: INLINE };
}

/** Entries (and the maps of `rest`) added to a one-line flow mapping: after its last entry, or inside `{}`. */
function flowInsertion(flow: FlowInfo, rest: readonly string[], entries: Entries): Edit {
  const text = flowText(rest, entries);
  if (flow.lastEnd < 0) return { start: flow.close, end: flow.close, text, order: IN_FLOW };
  return { start: flow.lastEnd, end: flow.lastEnd, text: `, ${text}`, order: IN_FLOW };
}

/** One document of the fast path: its objects and its edits, sorted; undefined when it must take the full path. */
export interface FastDocument {
  readonly objects: number;
  readonly edits: Edit[];
}

/** Scans `src[start, end)` and plans its edits (a document without content: no objects, no edits). */
export function scanAndPlan(
  scanner: DocScanner,
  planner: InsertionPlanner,
  start: number,
  end: number,
): FastDocument | undefined {
  const root = scanner.scan(start, end);
  if (root === undefined) return undefined;
  if (root === null) return { objects: 0, edits: [] };
  const edits: Edit[] = [];
  const objects = planner.plan(root, edits);
  return objects === undefined ? undefined : { objects, edits: sortEdits(edits) };
}
