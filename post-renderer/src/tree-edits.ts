/**
 * The full path's edit planning. The document is parsed with the full `yaml` parser, and the edits are planned at
 * offsets taken from the parse tree: every byte we do not write stays as it was (comments, quoting, key order,
 * block scalars, indentation, line endings).
 *
 * Where an in-place edit could change something we must not touch, the planner throws `NeedsModel` and the
 * caller re-serializes that one document through the document model instead (see model.ts).
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
import type { Entries, Entry, TierMetadata } from '../../core/labels.js';
import { blockOrder, IN_FLOW, INLINE, type Edit } from './edits.js';
import type { Conflict } from './model.js';
import { isNullNode } from './nodes.js';
import { targetsFor, type Target } from './targets.js';
import { blockText, flowText, quote } from './text.js';

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
  /** Keys under our prefix that already hold another value: left as they are (render.ts applies the policy). */
  readonly conflicts: Conflict[];
}

function keyOf(pair: Pair): string | undefined {
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
function findPair(ctx: EditContext, map: YAMLMap, key: string, field: string): Pair | undefined {
  let found: Pair | undefined;
  for (const pair of map.items) {
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

/** Adds `rest` (maps to create) and `entries` to an existing mapping. */
function insertInto(ctx: EditContext, map: YAMLMap, rest: readonly string[], entries: Entries): void {
  const items = map.items;
  const last = items[items.length - 1];
  if (map.flow) {
    const text = flowText(rest, entries);
    if (last) {
      const end = Math.max(nodeRange(last.key)?.[1] ?? 0, nodeRange(last.value)?.[1] ?? 0);
      ctx.edits.push({ start: end, end, text: `, ${text}`, order: IN_FLOW });
    } else {
      const close = (nodeRange(map)?.[1] ?? 0) - 1;
      if (ctx.source[close] !== '}') throw new NeedsModel('unexpected flow mapping layout');
      ctx.edits.push({ start: close, end: close, text, order: IN_FLOW });
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
    order: blockOrder(column),
  });
}

/** Writes `text` as a null pair's value: in place of `~`/`null`, or right after the colon of an empty one. */
function replaceNullValue(ctx: EditContext, pair: Pair, text: string): void {
  const range = nodeRange(pair.value);
  if (range && range[0] !== range[1]) {
    ctx.edits.push({ start: range[0], end: range[1], text, order: INLINE });
    return;
  }
  // An empty null (`labels:` or `labels: # comment`).
  const keyEnd = nodeRange(pair.key)?.[1];
  const colon = keyEnd === undefined ? -1 : ctx.source.indexOf(':', keyEnd);
  if (colon < 0) throw new NeedsModel('null value without a colon');
  ctx.edits.push({ start: colon + 1, end: colon + 1, text: ` ${text}`, order: INLINE });
}

/** Whether an existing value of our key is the value we would write (as a string, or its plain text). */
function sameValue(existing: YamlNode, value: string): boolean {
  return isScalar(existing) && String(existing.value) === value;
}

function writeEntries(ctx: EditContext, map: YAMLMap, entries: Entries, field: string): void {
  const missing: Entry[] = [];
  for (const entry of entries) {
    const [key, value, mode] = entry;
    const pair = findPair(ctx, map, key, field);
    if (!pair) {
      missing.push(entry);
      continue;
    }
    const existing = pair.value as YamlNode | null;
    if (isAlias(existing) || (isScalar(existing) && (existing.tag || existing.anchor))) {
      throw new NeedsModel(`tag, anchor or alias on ${field}.${key}`);
    }
    if (isNullNode(existing)) {
      replaceNullValue(ctx, pair, quote(value));
      continue;
    }
    // A key we add only where absent is the chart's wherever it is present, whatever its value.
    if (mode === 'ifAbsent') continue;
    if (!isScalar(existing)) {
      throw located(ctx, ErrorCodes.INPUT_FIELD_TYPE, `${field}.${key} must be a string`, existing, `${field}.${key}`);
    }
    if (!sameValue(existing as YamlNode, value)) {
      ctx.conflicts.push({ field, key, existing: String(existing.value), ours: value });
      continue;
    }
    if (typeof existing.value === 'string') continue;
    // Our own key written as a number or a boolean (`tier: 1`): a label value must be a string; quote it.
    const range = nodeRange(existing) as [number, number, number];
    ctx.edits.push({ start: range[0], end: range[1], text: quote(value), order: INLINE });
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
    const value = pair.value as YamlNode | null;
    if (isAlias(value) || value?.tag || value?.anchor) {
      throw new NeedsModel(`tag, anchor or alias on ${field}`);
    }
    if (isNullNode(value)) {
      if (depth < target.mustExist) return;
      replaceNullValue(ctx, pair, `{${flowText(rest, target.entries)}}`);
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
  meta: TierMetadata,
  fieldPrefix = '',
): void {
  for (const target of targetsFor(type.apiVersion, type.kind, meta)) applyTarget(ctx, obj, target, fieldPrefix);
}

/**
 * True when the tree holds an alias anywhere: an in-place edit of an anchored node would change its aliases too.
 * Walks with an explicit stack (the nesting bound keeps trees shallow, but a wide one must not cost recursion).
 */
export function hasAlias(node: unknown): boolean {
  const stack: unknown[] = [node];
  while (stack.length > 0) {
    const n = stack.pop();
    if (isAlias(n)) return true;
    if (isMap(n)) for (const p of n.items) stack.push(p.key, p.value);
    else if (isSeq(n)) for (const item of n.items) stack.push(item);
  }
  return false;
}
