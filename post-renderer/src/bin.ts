// Entry point of dist/post-renderer.cjs (Helm 3 executable, Helm 4 plugin): wires process.* to run().
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { run } from './run.js';

/** Helm pipes the whole render: read it in one call (no chunk list + concat: a third less peak memory). */
function stdin(): string | Readable {
  try {
    return readFileSync(0, 'utf8');
  } catch {
    return process.stdin; // e.g. EAGAIN on a non-blocking descriptor: fall back to the stream
  }
}

run({
  stdin: stdin(),
  stdout: process.stdout,
  stderr: process.stderr,
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`helm-tiers post-render: ${String(err)}\n`);
    process.exitCode = 70;
  },
);
