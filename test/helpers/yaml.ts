/* eslint-disable @typescript-eslint/no-dynamic-delete -- stripping keys is the point of this helper */
import { parseGoCompatible } from '../../post-renderer/src/gocompat.js';
import { injectIntoValue } from '../../post-renderer/src/model.js';
import type { TierMetadata } from '../../core/labels.js';

/**
 * Every document of a stream as plain data (YAML 1.1, as Kubernetes reads it, go-yaml's laxer quoted scalars
 * included: gocompat.ts); empty documents dropped.
 */
export function parseStream(text: string): unknown[] {
  return parseGoCompatible(text, { version: '1.1', uniqueKeys: false })
    .docs.map((d) => {
      if (d.errors.length > 0) throw new Error(d.errors[0]?.message);
      return d.toJS({ maxAliasCount: 10_000 }) as unknown;
    })
    .filter((v) => v !== null && v !== undefined);
}

/** What the post-renderer must produce, by definition: the document model applied to the parsed input. */
export function expectedStream(input: string, meta: TierMetadata): unknown[] {
  return parseStream(input).map((value) => injectIntoValue(value, meta).value);
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Removes our keys from every place the post-renderer writes, and maps it emptied (deep copy). */
export function stripKeys(value: unknown, labelKeys: readonly string[], annotationKeys: readonly string[]): unknown {
  const copy = structuredClone(value);
  const strip = (map: unknown, keys: readonly string[], parent: Obj, field: string) => {
    if (map === null) delete parent[field];
    if (!isObj(map)) return;
    for (const k of keys) delete map[k];
    if (Object.keys(map).length === 0) delete parent[field];
  };
  const visitObject = (o: unknown) => {
    if (!isObj(o)) return;
    if (Array.isArray(o.items) && String(o.kind).endsWith('List')) o.items.forEach(visitObject);
    const md = o.metadata;
    if (isObj(md)) {
      strip(md.labels, labelKeys, md, 'labels');
      strip(md.annotations, annotationKeys, md, 'annotations');
      if (Object.keys(md).length === 0) delete o.metadata;
    }
    const spec = o.spec as Obj | undefined;
    const templates = [spec?.template, ((spec?.jobTemplate as Obj | undefined)?.spec as Obj | undefined)?.template];
    for (const t of templates) {
      if (!isObj(t) || !isObj(t.metadata)) continue;
      strip(t.metadata.labels, labelKeys, t.metadata, 'labels');
      if (Object.keys(t.metadata).length === 0) delete t.metadata;
    }
  };
  visitObject(copy);
  return copy;
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');

/**
 * Asserts that `output` is `input` with only our keys added: whole lines holding our entries or the maps created
 * for them, entries written into a line (after `labels:`, in place of `null`/`~`, into a flow mapping), and
 * nothing else changed, line for line. Returns the number of changed input lines (a test must see some).
 */
export function expectOnlyOursAdded(input: string, output: string, meta: TierMetadata): number {
  const keys = [...meta.labels, ...meta.annotations].map(([k]) => escapeRe(k)).join('|');
  const entry = `(?:${keys}|"(?:${keys})"): "[^"]*"`;
  const container = '(?:metadata|labels|annotations)';
  const wholeLine = new RegExp(`^ *(?:${entry}|${container}:)$`);
  const entries = new RegExp(`(?:, )?${entry}`, 'g');
  const created = new RegExp(`(\\{|, )${container}: \\{\\}`, 'g');
  const nullWord = /: (?:null|Null|NULL|~)(?=[ \t]*(?:#.*)?$)/;
  const inLines = input.split(/\r?\n/);
  const outLines = output.split(/\r?\n/);
  let i = 0;
  let changed = 0;
  for (const line of outLines) {
    const want = inLines[i];
    if (want !== undefined && line === want) {
      i++;
      continue;
    }
    if (wholeLine.test(line)) continue;
    // Without a final line break, an insertion at the very end starts with one: an empty last output line.
    if (line === '' && i === inLines.length) continue;
    const stripped = line.replace(entries, '').replace('{, ', '{');
    // Maps created to hold our entries (`metadata: {labels: {...}}`), then a flow mapping written over a null.
    let bare = stripped;
    for (let prev = ''; prev !== bare;) {
      prev = bare;
      bare = bare.replace(created, (_m, before: string) => (before === '{' ? '{' : '')).replace('{, ', '{');
    }
    bare = bare.replace(/ \{\}(?=[ \t]*(?:#.*)?$)/, '');
    const original = (want ?? '').replace(nullWord, ':');
    if (want !== undefined && [stripped, bare].some((s) => s === want || s === original)) {
      i++;
      changed++;
      continue;
    }
    throw new Error(`output line not explained by our keys: ${JSON.stringify(line)} (input: ${JSON.stringify(want)})`);
  }
  if (i !== inLines.length) throw new Error(`input lines from ${i + 1} missing from the output`);
  return changed;
}
