#!/usr/bin/env node
// What the hook image "is" on the simulated cluster. The cluster runs `[...this command, ...container.command,
// ...container.args]`; the chart's container command is `/nodejs/bin/node /app/<program>.cjs` (the distroless
// image's paths), so this shim drops that prefix and runs <repo>/dist/hooks/<program>.cjs in this same process
// with the container's args: exit code, stdout and SIGTERM handling are then exactly the bundle's own.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
// Skip the interpreter the image would use (any path ending in /node), then take the program path.
if (argv[0] && /(^|\/)node$/.test(argv[0])) argv.shift();
const program = argv.shift() ?? '';
const bundle = join(repo, 'dist/hooks', basename(program));
if (!/\.cjs$/.test(program) || !existsSync(bundle)) {
  process.stderr.write(`hook image: no bundle for "${program}" in ${join(repo, 'dist/hooks')} (run npm run build)\n`);
  process.exitCode = 127;
} else {
  process.argv = [process.execPath, bundle, ...argv];
  createRequire(import.meta.url)(bundle);
}
