/**
 * Column alignment of the CLI's tables (`status`, deploy's live table): widths from the header and every data row;
 * one-cell rows (group headings such as `level 1`) are printed as they are and do not widen a column.
 */
export function alignedTable(head: readonly string[], rows: readonly (readonly string[])[]): string[] {
  const data = rows.filter((r) => r.length > 1);
  const widths = head.map((h, i) => Math.max(h.length, ...data.map((r) => (r[i] ?? '').length)));
  const fmt = (r: readonly string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd();
  return [fmt(head), ...rows.map((r) => (r.length === 1 ? (r[0] ?? '') : fmt(r)))];
}
