/**
 * The document-model path: plain objects in, plain objects out. It is the semantic definition of what the
 * post-renderer does (tests compare every other path against it), and the path taken for the rare documents whose
 * text cannot be edited in place (aliases, merge keys, tagged nulls on the paths we write).
 */
import { Document, type Document as YamlDocument } from 'yaml';
import { ErrorCodes, HelmTiersError } from '../../core/errors.js';
import type { TierMetadata } from '../../core/labels.js';
import { isListDocument, targetsFor } from './targets.js';

/**
 * What happens when an object already holds another value for one of our keys: `error` refuses the render
 * (E_CONFLICT), `keep` leaves the chart's value and warns. Never overwrite: the chart's value may be selected on.
 */
export type ConflictPolicy = 'error' | 'keep';

/** A key under our prefix that an object already holds with another value. */
export interface Conflict {
  /** Dotted path of the map, e.g. `metadata.labels`; prefixed with `items[3].` inside a List. */
  readonly field: string;
  readonly key: string;
  readonly existing: string;
  readonly ours: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Date);

const text = (v: unknown): string =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v);

/** The map at `path`, created where missing; undefined when one of the first `mustExist` maps is missing. */
function walk(obj: Obj, path: readonly string[], mustExist: number, fieldPrefix: string): Obj | undefined {
  let node = obj;
  for (const [depth, key] of path.entries()) {
    const child = node[key];
    if (isObj(child)) {
      node = child;
      continue;
    }
    const field = fieldPrefix + path.slice(0, depth + 1).join('.');
    if (child !== undefined && child !== null) {
      throw new HelmTiersError(ErrorCodes.INPUT_FIELD_TYPE, `${field} must be a mapping`, { field });
    }
    if (depth < mustExist) return undefined;
    const created: Obj = {};
    node[key] = created;
    node = created;
  }
  return node;
}

/**
 * Writes our keys into one Kubernetes object (a plain object). Mutates `obj`; returns the conflicts, whose keys
 * keep the chart's value. A key added only where absent is left alone wherever present.
 */
export function injectIntoObject(obj: Obj, meta: TierMetadata, fieldPrefix = ''): Conflict[] {
  const conflicts: Conflict[] = [];
  const kind = typeof obj.kind === 'string' ? obj.kind : '';
  const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : '';
  for (const target of targetsFor(apiVersion, kind, meta)) {
    const node = walk(obj, target.path, target.mustExist, fieldPrefix);
    if (!node) continue;
    for (const [key, value, mode] of target.entries) {
      const existing = node[key];
      if (existing !== undefined && existing !== null) {
        if (mode === 'ifAbsent') continue;
        if (text(existing) !== value) {
          conflicts.push({ field: fieldPrefix + target.path.join('.'), key, existing: text(existing), ours: value });
          continue;
        }
      }
      node[key] = value;
    }
  }
  return conflicts;
}

/**
 * A copy in which no object or array is reachable twice. `toJS` returns YAML aliases as shared references:
 * writing labels into an anchored `metadata.labels` must not also write them into a selector aliasing it.
 */
export function untangle(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(untangle);
  if (isObj(value) && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, untangle(v)]));
  }
  return value;
}

const nonEmptyString = (v: unknown): v is string => typeof v === 'string' && v !== '';

/** A Kubernetes object: a mapping with a non-empty string apiVersion and kind. */
const isKubernetesObject = (v: unknown): v is Obj => isObj(v) && nonEmptyString(v.apiVersion) && nonEmptyString(v.kind);

/**
 * The document model: a copy of a document's value with our keys written into each item of a List (targets.ts
 * `isListDocument`; a List without items holds no object), else into the object itself.
 */
export function injectIntoValue(input: unknown, meta: TierMetadata): { value: unknown; conflicts: Conflict[] } {
  const value = untangle(input);
  if (!isObj(value)) return { value, conflicts: [] };
  const kind = nonEmptyString(value.kind) ? value.kind : '';
  const items = Array.isArray(value.items) ? (value.items as unknown[]) : undefined;
  if (isListDocument(kind, items, isKubernetesObject)) {
    const conflicts = (items ?? []).flatMap((item, i) =>
      isObj(item) ? injectIntoObject(item, meta, `items[${i}].`) : [],
    );
    return { value, conflicts };
  }
  return { value, conflicts: injectIntoObject(value, meta) };
}

/**
 * Re-serializes the contents (the root node) of one parsed document with our keys added: the text of the body
 * only, without `---` or the comments before it, which the caller keeps as they were (render.ts). Aliases and
 * merge keys are resolved (their targets are copied), so writing labels into one place can never change another.
 */
export function rewriteDocument(doc: YamlDocument, meta: TierMetadata): { text: string; conflicts: Conflict[] } {
  const { value, conflicts } = injectIntoValue(doc.toJS({ maxAliasCount: 10_000 }), meta);
  const out = new Document(value, { version: '1.1', aliasDuplicateObjects: false });
  if (out.directives) out.directives.docStart = null;
  // Every string double-quoted: YAML 1.1 readers must never see a label value as a bool or a number.
  return {
    text: out.toString({ lineWidth: 0, defaultStringType: 'QUOTE_DOUBLE', defaultKeyType: 'PLAIN' }),
    conflicts,
  };
}
