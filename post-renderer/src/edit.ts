/**
 * The byte-preserving path. The document is parsed with the full `yaml` parser, but the output is the input text
 * with a few insertions and replacements at offsets taken from the parse tree: every byte we do not write stays as
 * it was (comments, quoting, key order, block scalars, indentation, line endings).
 *
 * Where an in-place edit could change something we must not touch, the editor throws `NeedsModel` and the caller
 * re-serializes that one document through the document model instead (see model.ts).
 */
import {
  isAlias,
  isMap,
  isScalar,
  isSeq,
  type LineCounter,
  type Node as YamlNode,
  type Pair,
  type YAMLMap,
} from 'yaml';
import { ErrorCodes, HelmTiersError } from '../../core/errors.js';
import type { Conflict } from './model.js';
import { keyText, quote, targetsFor, type Entries, type InjectionMetadata, type Target } from './targets.js';

/** Replace `source[start, end)` with `text`. Insertions have start === end. */
export interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  /**
   * Tie-break for edits at the same offset: lower first. A block insertion into a nested mapping must come before
   * one into its parent at the same offset (else the new keys would land in the parent's new block), so block
   * insertions use minus their column.
   */
  readonly order?: number;
}

/**
 * Order of an edit that writes inside a line (a value after `key:`): before any block insertion at the same offset,
 * which starts new lines (at the end of the input both land at the same offset).
 */
const INLINE = Number.MIN_SAFE_INTEGER;

/** Thrown when this document must go through the document model. */
export class NeedsModel extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

export interface EditContext {
  readonly source: string;
  readonly lineCounter: LineCounter;
  readonly eol: string;
  readonly edits: Edit[];
  readonly conflicts: Conflict[];
}

type AnyPair = Pair;

function keyOf(pair: AnyPair): string | undefined {
  const k = pair.key;
  if (!isScalar(k)) return undefined;
  // A merge key's value is a symbol (`Symbol(<<)`), not the string `<<`.
  if (typeof k.value === 'symbol') return k.value.description;
  return typeof k.value === 'string' ? k.value : String(k.value);
}

function nodeRange(node: unknown): [number, number, number] | undefined {
  return (node as YamlNode | null | undefined)?.range ?? undefined;
}

function located(
  ctx: EditContext,
  code: (typeof ErrorCodes)[keyof typeof ErrorCodes],
  message: string,
  node: unknown,
  field: string,
) {
  const offset = nodeRange(node)?.[0];
  const pos = offset === undefined ? undefined : ctx.lineCounter.linePos(offset);
  return new HelmTiersError(code, message, { line: pos?.line, column: pos?.col, field });
}

/** The single pair for `key`; duplicate keys on a path we write are refused (Helm and kustomize disagree on them). */
function findPair(ctx: EditContext, map: YAMLMap, key: string, field: string): AnyPair | undefined {
  let found: AnyPair | undefined;
  for (const pair of map.items as AnyPair[]) {
    const k = keyOf(pair);
    if (k === '<<') throw new NeedsModel(`merge key in ${field || 'the object root'}`);
    if (k !== key) continue;
    if (found) {
      throw located(ctx, ErrorCodes.INPUT_YAML, `duplicate key "${key}"`, pair.key, field ? `${field}.${key}` : key);
    }
    found = pair;
  }
  return found;
}

/** Offset of the start of the line after `offset` (or the end of the text), and whether a line break is needed. */
function lineAfter(source: string, offset: number): { pos: number; needsBreak: boolean } {
  if (offset > 0 && source[offset - 1] === '\n') return { pos: offset, needsBreak: false };
  const nl = source.indexOf('\n', offset);
  return nl < 0 ? { pos: source.length, needsBreak: true } : { pos: nl + 1, needsBreak: false };
}

function flowEntries(entries: Entries): string {
  return entries.map(([k, v]) => `${keyText(k)}: ${quote(v)}`).join(', ');
}

/** `labels: {k: "v"}` for rest path ['labels'], nested for longer paths, bare entries for []. */
function flowText(rest: readonly string[], entries: Entries): string {
  let inner = flowEntries(entries);
  for (let i = rest.length - 1; i >= 0; i--) inner = `${keyText(rest[i] as string)}: {${inner}}`;
  return inner;
}

function blockText(rest: readonly string[], entries: Entries, column: number, eol: string): string {
  let out = '';
  rest.forEach((key, depth) => {
    out += `${' '.repeat(column + 2 * depth)}${keyText(key)}:${eol}`;
  });
  const pad = ' '.repeat(column + 2 * rest.length);
  for (const [k, v] of entries) out += `${pad}${keyText(k)}: ${quote(v)}${eol}`;
  return out;
}

/** Adds `rest` (maps to create) and `entries` to an existing mapping. */
function insertInto(ctx: EditContext, map: YAMLMap, rest: readonly string[], entries: Entries): void {
  const items = map.items as AnyPair[];
  const last = items[items.length - 1];
  if (map.flow) {
    const text = flowText(rest, entries);
    if (last) {
      const end = Math.max(nodeRange(last.key)?.[1] ?? 0, nodeRange(last.value)?.[1] ?? 0);
      ctx.edits.push({ start: end, end, text: `, ${text}` });
    } else {
      const close = (nodeRange(map)?.[1] ?? 0) - 1;
      if (ctx.source[close] !== '}') throw new NeedsModel('unexpected flow mapping layout');
      ctx.edits.push({ start: close, end: close, text });
    }
    return;
  }
  const first = items[0];
  const firstKey = nodeRange(first?.key);
  if (!first || !last || !firstKey) throw new NeedsModel('block mapping without keys');
  const column = ctx.lineCounter.linePos(firstKey[0]).col - 1;
  const end = Math.max(nodeRange(last.key)?.[1] ?? 0, nodeRange(last.value)?.[1] ?? 0);
  const { pos, needsBreak } = lineAfter(ctx.source, end);
  ctx.edits.push({
    start: pos,
    end: pos,
    text: (needsBreak ? ctx.eol : '') + blockText(rest, entries, column, ctx.eol),
    order: -column,
  });
}

/** Replaces a null value (`labels:`, `labels: ~`, `labels: null`) by a flow mapping holding `rest` and `entries`. */
function replaceNull(ctx: EditContext, pair: AnyPair, rest: readonly string[], entries: Entries): void {
  const value = pair.value;
  const text = `{${flowText(rest, entries)}}`;
  const range = nodeRange(value);
  if (range && range[0] !== range[1]) {
    ctx.edits.push({ start: range[0], end: range[1], text, order: INLINE });
    return;
  }
  // An empty null (`labels:` or `labels: # comment`): write right after the colon.
  const at = afterColon(ctx, pair);
  ctx.edits.push({ start: at, end: at, text: ` ${text}`, order: INLINE });
}

function afterColon(ctx: EditContext, pair: AnyPair): number {
  const keyEnd = nodeRange(pair.key)?.[1];
  const colon = keyEnd === undefined ? -1 : ctx.source.indexOf(':', keyEnd);
  if (colon < 0) throw new NeedsModel('null value without a colon');
  return colon + 1;
}

function isNullNode(node: unknown): boolean {
  return node === null || node === undefined || (isScalar(node) && node.value === null);
}

function writeEntries(ctx: EditContext, map: YAMLMap, entries: Entries, field: string): void {
  const missing: [string, string][] = [];
  for (const [key, value] of entries) {
    const pair = findPair(ctx, map, key, field);
    if (!pair) {
      missing.push([key, value]);
      continue;
    }
    const existing = pair.value;
    if (isAlias(existing) || (isScalar(existing) && (existing.tag || existing.anchor))) {
      throw new NeedsModel(`tag, anchor or alias on ${field}.${key}`);
    }
    if (isNullNode(existing)) {
      const range = nodeRange(existing);
      if (range && range[0] !== range[1]) {
        ctx.edits.push({ start: range[0], end: range[1], text: quote(value), order: INLINE });
      } else {
        const at = afterColon(ctx, pair);
        ctx.edits.push({ start: at, end: at, text: ` ${quote(value)}`, order: INLINE });
      }
      continue;
    }
    if (!isScalar(existing)) {
      throw located(ctx, ErrorCodes.INPUT_FIELD_TYPE, `${field}.${key} must be a string`, existing, `${field}.${key}`);
    }
    if (existing.value === value && typeof existing.value === 'string') continue;
    if (String(existing.value) !== value) {
      ctx.conflicts.push({ field, key, existing: String(existing.value), ours: value });
    }
    const range = nodeRange(existing) as [number, number, number];
    // A block scalar's range ends after its last line break: keep that break.
    const replaced = ctx.source.slice(range[0], range[1]);
    const trailing = /\r?\n$/.exec(replaced)?.[0] ?? '';
    ctx.edits.push({ start: range[0], end: range[1], text: quote(value) + trailing, order: INLINE });
  }
  if (missing.length > 0) insertInto(ctx, map, [], missing);
}

function applyTarget(ctx: EditContext, root: YAMLMap, target: Target, fieldPrefix: string): void {
  let map = root;
  for (let depth = 0; depth < target.path.length; depth++) {
    const key = target.path[depth] as string;
    const field = fieldPrefix + target.path.slice(0, depth + 1).join('.');
    const pair = findPair(ctx, map, key, fieldPrefix + target.path.slice(0, depth).join('.'));
    const rest = target.path.slice(depth + 1);
    if (!pair) {
      if (depth < target.mustExist) return;
      insertInto(ctx, map, target.path.slice(depth), target.entries);
      return;
    }
    const value = pair.value;
    if (isAlias(value) || (value as YamlNode | null)?.tag || (value as YamlNode | null)?.anchor) {
      throw new NeedsModel(`tag, anchor or alias on ${field}`);
    }
    if (isNullNode(value)) {
      if (depth < target.mustExist) return;
      replaceNull(ctx, pair, rest, target.entries);
      return;
    }
    if (!isMap(value)) {
      throw located(ctx, ErrorCodes.INPUT_FIELD_TYPE, `${field} must be a mapping`, value, field);
    }
    map = value;
  }
  writeEntries(ctx, map, target.entries, fieldPrefix + target.path.join('.'));
}

/** Plans the edits for one object (a document root, or an item of a List). */
export function editObject(
  ctx: EditContext,
  obj: YAMLMap,
  type: { readonly apiVersion: string; readonly kind: string },
  meta: InjectionMetadata,
  fieldPrefix = '',
): void {
  for (const target of targetsFor(type.apiVersion, type.kind, meta)) applyTarget(ctx, obj, target, fieldPrefix);
}

/** True when the tree holds an alias anywhere: an in-place edit of an anchored node would change its aliases too. */
export function hasAlias(node: unknown): boolean {
  if (isAlias(node)) return true;
  if (isMap(node)) return (node.items as AnyPair[]).some((p) => hasAlias(p.key) || hasAlias(p.value));
  if (isSeq(node)) return node.items.some(hasAlias);
  return false;
}

/** Applies edits (sorted by offset, stable for equal offsets) to the source. */
export function applyEdits(source: string, edits: readonly Edit[]): string {
  const sorted = edits
    .map((e, i) => ({ e, i }))
    .sort((a, b) => a.e.start - b.e.start || (a.e.order ?? 0) - (b.e.order ?? 0) || a.i - b.i)
    .map((x) => x.e);
  let out = '';
  let cursor = 0;
  for (const e of sorted) {
    if (e.start < cursor) throw new Error(`overlapping edits at ${e.start}`);
    out += source.slice(cursor, e.start) + e.text;
    cursor = e.end;
  }
  return out + source.slice(cursor);
}
