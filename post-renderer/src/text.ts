/**
 * The text the post-renderer writes: one definition for the fast scanner's insertions and the byte-preserving
 * editor's edits, so both paths write the same bytes by construction.
 */
import type { Entries } from '../../core/labels.js';

/** YAML text for a value we write: always double-quoted, so YAML 1.1 readers never see `yes`, `1` or `0755`. */
export function quote(value: string): string {
  return JSON.stringify(value);
}

/** Keys we write are label/annotation keys: `[prefix/]name`, safe as plain scalars in block and flow context. */
const PLAIN_SAFE_KEY = /^[A-Za-z0-9][-A-Za-z0-9_./]*$/;
export function keyText(key: string): string {
  return PLAIN_SAFE_KEY.test(key) ? key : JSON.stringify(key);
}

/** The lines written into a block mapping at `column`: the maps in `rest` (created, nested), then the entries. */
export function blockText(rest: readonly string[], entries: Entries, column: number, eol = '\n'): string {
  let out = '';
  rest.forEach((key, depth) => {
    out += `${' '.repeat(column + 2 * depth)}${keyText(key)}:${eol}`;
  });
  const pad = ' '.repeat(column + 2 * rest.length);
  for (const [k, v] of entries) out += `${pad}${keyText(k)}: ${quote(v)}${eol}`;
  return out;
}

/** `k: "v", k2: "v2"`: entries inside a flow mapping. */
export function flowEntries(entries: Entries): string {
  return entries.map(([k, v]) => `${keyText(k)}: ${quote(v)}`).join(', ');
}

/** The inside of a flow mapping holding `rest` (created, nested) and the entries: `labels: {k: "v"}` for ['labels']. */
export function flowText(rest: readonly string[], entries: Entries): string {
  let inner = flowEntries(entries);
  for (let i = rest.length - 1; i >= 0; i--) inner = `${keyText(rest[i] as string)}: {${inner}}`;
  return inner;
}
