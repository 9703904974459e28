#!/usr/bin/env node
// Builds the single-file CommonJS bundles in dist/ with esbuild.
//   dist/helm-tiers.cjs            the CLI (plan, post-render, flux, demo)
//   dist/post-renderer.cjs         the post-renderer alone (small: fast cold start on every helm upgrade): a loader
//                                  (post-renderer/src/bin/loader.ts) that runs post-renderer-main.cjs with V8's code
//                                  cache post-renderer.code-cache, made here by one run on a sample render
//   dist/helm-plugin/tiers/        the Helm 4 postrenderer/v1 plugin (plugin.yaml, the launcher, those three files)
//   dist/hooks/<name>.cjs          one bundle per hooks/src/bin/<name>.ts
//   dist/demo.cjs, dist/cluster.cjs, dist/bench/main.cjs   npm start, npm run cluster, npm run bench
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');

const entries = [
  { in: 'cli/main.ts', out: 'dist/helm-tiers.cjs' },
  // Run by dist/post-renderer.cjs (the loader, built below once this bundle's hash is known): no shebang.
  { in: 'post-renderer/src/bin/main.ts', out: 'dist/post-renderer-main.cjs', shebang: false },
];
const hookBins = join(root, 'hooks/src/bin');
if (existsSync(hookBins)) {
  for (const f of readdirSync(hookBins)) {
    // `_*.ts` are shared by the bins (the process wiring), not programs of their own.
    if (f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.startsWith('_'))
      entries.push({ in: `hooks/src/bin/${f}`, out: `dist/hooks/${f.slice(0, -3)}.cjs` });
  }
}

// Bundles that hold the clusters (cluster/): the simulated one finds its TLS fixtures through `import.meta.url`,
// the real one the repository (and .tools/) through `import.meta.dirname`. A CJS bundle has neither, so both are
// defined as those folders at run time, relative to the bundle's own folder (`up`: the way back to the root).
function clusterBundle(entry, out, up) {
  const folder = (sub) => `require('node:path').join(__dirname, ${JSON.stringify(`${up}cluster/${sub}`)})`;
  return {
    in: entry,
    out,
    define: { 'import.meta.url': '__simClusterUrl', 'import.meta.dirname': '__realClusterDir' },
    banner: [
      `const __simClusterUrl = require('node:url').pathToFileURL(${folder('sim/index.ts')}).href;`,
      `const __realClusterDir = ${folder('real')};`,
    ].join('\n'),
  };
}
// The end-to-end demo (`npm start`), the cluster in the foreground (`npm run cluster`), and the benchmarks
// (`npm run bench`; pod-check at scale runs on the simulated cluster).
if (existsSync(join(root, 'demo/main.ts'))) entries.push(clusterBundle('demo/main.ts', 'dist/demo.cjs', '../'));
if (existsSync(join(root, 'cluster/bin/cluster.ts')))
  entries.push(clusterBundle('cluster/bin/cluster.ts', 'dist/cluster.cjs', '../'));
if (existsSync(join(root, 'bench/main.ts')))
  entries.push(clusterBundle('bench/main.ts', 'dist/bench/main.cjs', '../../'));

const started = Date.now();
const results = await Promise.allSettled(
  entries
    .filter((e) => existsSync(join(root, e.in)))
    .map((e) =>
      build({
        absWorkingDir: root,
        entryPoints: [e.in],
        outfile: e.out,
        bundle: true,
        platform: 'node',
        target: 'node20',
        format: 'cjs',
        // Hook bundles ship in the image and start once per hook Job: minify them (6 MB → 2 MB, faster cold start).
        // The post-renderer and CLI stay readable for stack traces users paste into issues.
        minify: e.out.startsWith('dist/hooks/'),
        minifySyntax: true,
        legalComments: 'none',
        logLevel: 'warning',
        banner: { js: [e.shebang === false ? '' : '#!/usr/bin/env node', e.banner ?? ''].filter(Boolean).join('\n') },
        ...(e.define ? { define: e.define } : {}),
      }),
    ),
);

const POST_RENDERER_FILES = ['post-renderer.cjs', 'post-renderer-main.cjs', 'post-renderer.code-cache'];
/**
 * The loader knows the hash of the bundle it runs (a cache made from another bundle is never used), then one run
 * on a sample render writes the code cache: the bytecode of every function that run compiled (the plan's `yaml`
 * parse, the scanner). Node's own version and flags are checked by V8 when the cache is read.
 */
async function buildPostRendererLoader() {
  const main = readFileSync(join(root, 'dist/post-renderer-main.cjs'));
  const hash = createHash('sha256').update(main).digest('hex').slice(0, 32);
  await build({
    absWorkingDir: root,
    entryPoints: ['post-renderer/src/bin/loader.ts'],
    outfile: 'dist/post-renderer.cjs',
    bundle: true,
    platform: 'node',
    target: 'node20',
    format: 'cjs',
    logLevel: 'warning',
    banner: { js: '#!/usr/bin/env node' },
    define: { MAIN_BUNDLE_HASH: JSON.stringify(hash) },
  });
  const cache = join(root, 'dist/post-renderer.code-cache');
  rmSync(cache, { force: true });
  // A plan of its own (the user's plan.yaml may be absent or name other releases), and none of the caller's
  // NODE_OPTIONS: V8 refuses a cache made under other V8 flags, so a builder's `--max-old-space-size` would ship a
  // cache no Helm run could use.
  const tmp = mkdtempSync(join(tmpdir(), 'helm-tiers-build-'));
  const plan = join(tmp, 'plan.yaml');
  const env = { ...process.env };
  delete env.NODE_OPTIONS;
  const input = await primeCorpus();
  const sample = (extra) =>
    spawnSync(
      process.execPath,
      [join(root, 'dist/post-renderer.cjs'), '--plan', plan, '--release', 'sample-api', '--log-file', join(tmp, 'log')],
      { input, env: { ...env, ...extra }, encoding: 'utf8' },
    );
  try {
    writeFileSync(plan, CODE_CACHE_PLAN);
    const made = sample({ HELM_TIERS_WRITE_CODE_CACHE: cache });
    if (made.status !== 0 || !existsSync(cache)) {
      const why = made.error ? made.error.message : `exit ${made.status}: ${made.stderr}`;
      throw new Error(`the post-renderer failed on the code-cache sample (${why})`);
    }
    // The cache must be one a run of this Node accepts, or the speed it is for silently never happens.
    const used = sample({ HELM_TIERS_CODE_CACHE_REPORT: '1' });
    if (used.status !== 0 || !used.stderr.includes('code cache used')) {
      rmSync(cache, { force: true });
      throw new Error(`the code cache just made is not used: ${used.stderr}`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

/** The plan of the code-cache run: block YAML as users write it (the `yaml` parse of it is what gets cached). */
const CODE_CACHE_PLAN = `apiVersion: helm-tiers.io/v1alpha1
kind: DeploymentPlan
name: sample
namespace: apps
chart: ./charts/master-chart
components:
  - name: database
    release: sample-database
    tier: 1
    values:
      database:
        enabled: true
  - name: api
    release: sample-api
    tier: 2
    dependsOn: [database]
    values:
      api:
        enabled: true
        replicas: 2
`;

/**
 * What the code-cache run renders: the scanner's priming corpus (post-renderer/src/prime.ts), which holds every
 * shape the scanner handles (pod templates, Lists, block scalars, flow sequences, quoted keys), so that their
 * functions are compiled into the cache. Taken from the source, not copied.
 */
async function primeCorpus() {
  const out = await build({
    absWorkingDir: root,
    entryPoints: ['post-renderer/src/prime.ts'],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    write: false,
    logLevel: 'warning',
  });
  const mod = { exports: {} };
  new Function('module', 'exports', out.outputFiles[0].text)(mod, mod.exports);
  if (typeof mod.exports.PRIME_CORPUS !== 'string') throw new Error('post-renderer/src/prime.ts has no PRIME_CORPUS');
  return mod.exports.PRIME_CORPUS;
}

if (results.every((r) => r.status === 'fulfilled') && existsSync(join(root, 'dist/post-renderer-main.cjs'))) {
  results.push(...(await Promise.allSettled([buildPostRendererLoader()])));
}

// Helm 4 plugin directory: plugin.yaml, the launcher (Linux, macOS) and the post-renderer's files.
const pluginDir = join(root, 'dist/helm-plugin/tiers');
mkdirSync(pluginDir, { recursive: true });
copyFileSync(join(root, 'post-renderer/plugin/plugin.yaml'), join(pluginDir, 'plugin.yaml'));
const launcher = readFileSync(join(root, 'post-renderer/bin/helm-tiers-post-renderer'), 'utf8');
writeFileSync(
  join(pluginDir, 'helm-tiers-post-renderer'),
  // Beside the bundle in the plugin folder; everything else is the Helm 3 executable's text.
  launcher.replace(/^bundle=.*$/m, 'bundle=post-renderer.cjs'),
);
chmodSync(join(pluginDir, 'helm-tiers-post-renderer'), 0o755);
for (const f of POST_RENDERER_FILES) {
  if (existsSync(join(root, 'dist', f))) copyFileSync(join(root, 'dist', f), join(pluginDir, f));
}

const failed = results.filter((r) => r.status === 'rejected');
if (failed.length > 0) {
  // Every bundle that could be built is in dist/; esbuild has printed its own failures, the rest are printed here.
  for (const f of failed)
    if (!Array.isArray(f.reason?.errors)) console.error(`build: ${f.reason?.message ?? f.reason}`);
  console.error(`build: ${failed.length} of ${results.length} steps failed`);
  process.exitCode = 1;
} else if (!quiet) {
  console.log(`built ${entries.length + 1} bundles in ${Date.now() - started} ms`);
}
