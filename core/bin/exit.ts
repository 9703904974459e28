// The one place that ends the process by force: the shell (core/shell.ts) calls it, on behalf of bin entry points,
// when a handle abandoned at a deadline would otherwise keep the process (and a hook Job) alive.
export function forceExit(code: number): never {
  // eslint-disable-next-line no-restricted-properties -- the bin shell's forced end, see above.
  process.exit(code);
}
