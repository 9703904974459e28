/**
 * Edits of the input text, and how they are applied: both paths plan edits (insertions.ts from the scan,
 * tree-edits.ts from the parse tree) and the output is the input with them applied, every other byte as it was.
 */

/** Replace `source[start, end)` with `text`. Insertions have start === end. */
export interface Edit {
  readonly start: number;
  readonly end: number;
  readonly text: string;
  /**
   * Tie-break for edits at the same offset: lower first, then plan order. A block insertion into a nested mapping
   * must come before one into its parent at the same offset (else the new keys would land in the parent's new
   * block), so block insertions use minus their column (`blockOrder`); an edit inside a line comes before both.
   */
  readonly order: number;
}

/** Order of an edit that writes inside a line (a value after `key:`): before any block insertion at its offset. */
export const INLINE = Number.MIN_SAFE_INTEGER;
/** Order of an insertion into a flow mapping (inside a line, after any replacement there). */
export const IN_FLOW = 0;
/** Order of an insertion of lines into a block mapping whose keys are at `column`. */
export const blockOrder = (column: number): number => -column;

/** The edits in the order they apply: by offset, then `order`, then plan order (the sort is stable). */
export function sortEdits(edits: Edit[]): Edit[] {
  if (edits.length > 1) edits.sort((a, b) => a.start - b.start || a.order - b.order);
  return edits;
}

/** Appends `source[from, to)` with `edits` (sorted, inside that span) applied to `out`. */
export function applyEditsInto(out: string[], source: string, from: number, to: number, edits: readonly Edit[]) {
  let cursor = from;
  for (const e of edits) {
    if (e.start < cursor) throw new Error(`overlapping edits at ${e.start}`);
    out.push(source.slice(cursor, e.start), e.text);
    cursor = e.end;
  }
  out.push(source.slice(cursor, to));
}

/** The source with the edits applied. */
export function applyEdits(source: string, edits: Edit[]): string {
  const out: string[] = [];
  applyEditsInto(out, source, 0, source.length, sortEdits(edits));
  return out.join('');
}
