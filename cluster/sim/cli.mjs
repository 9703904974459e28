#!/usr/bin/env node
// Bundles bench.ts with esbuild into a temp file and runs it: Node 20 cannot run TypeScript directly.
// Usage: node cluster/sim/cli.mjs --bench [--pods N] [--requests N]. (The cluster itself: `npm run cluster`.)
import { build } from 'esbuild';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
if (!process.argv.includes('--bench')) {
  console.error(
    'usage: node cluster/sim/cli.mjs --bench [--pods N] [--requests N]; the cluster itself: npm run cluster',
  );
  process.exitCode = 64;
} else {
  process.argv.splice(process.argv.indexOf('--bench'), 1);
  await runBench();
}

async function runBench() {
  // The bundle lives in a temp dir; SIM_CLUSTER_FIXTURES tells it where the TLS certificate and fixtures are.
  const out = join(mkdtempSync(join(tmpdir(), 'sim-cluster-cli-')), 'bench.mjs');
  process.env.SIM_CLUSTER_FIXTURES = join(here, 'fixtures');
  await build({
    entryPoints: [join(here, 'bench.ts')],
    outfile: out,
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'esm',
    // Bundle dependencies too: the temp file cannot resolve node_modules from its own directory.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: 'error',
    absWorkingDir: join(here, '../..'),
    nodePaths: [join(here, '../../node_modules')],
  });
  await import(pathToFileURL(out).href);
}
