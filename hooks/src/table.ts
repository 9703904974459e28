/** Plain-text table for `kubectl logs`: fixed-width columns, no colours, long cells truncated. */
export function formatTable(headers: readonly string[], rows: readonly (readonly string[])[], maxCell = 100): string {
  const cut = (s: string): string => {
    const one = s.replace(/\s+/g, ' ');
    return one.length > maxCell ? `${one.slice(0, maxCell - 1)}…` : one;
  };
  const cells = [headers.map(cut), ...rows.map((r) => r.map(cut))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  return (
    cells
      .map((r) =>
        r
          .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
          .join('  ')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}
