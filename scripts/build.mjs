#!/usr/bin/env node
// Builds the single-file CommonJS bundles in dist/ with esbuild.
//   dist/helm-tiers.cjs            the CLI (plan, post-render, flux, demo)
//   dist/post-renderer.cjs         the post-renderer alone (small: fast cold start on every helm upgrade)
//   dist/helm-plugin/tiers/        the Helm 4 postrenderer/v1 plugin (plugin.yaml + post-renderer.cjs)
//   dist/hooks/<name>.cjs          one bundle per hooks/src/bin/<name>.ts
import { build } from 'esbuild';
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const quiet = process.argv.includes('--quiet');

const entries = [
  { in: 'cli/main.ts', out: 'dist/helm-tiers.cjs' },
  { in: 'post-renderer/src/bin.ts', out: 'dist/post-renderer.cjs' },
];
const hookBins = join(root, 'hooks/src/bin');
if (existsSync(hookBins)) {
  for (const f of readdirSync(hookBins)) {
    // `_*.ts` are shared by the bins (the process wiring), not programs of their own.
    if (f.endsWith('.ts') && !f.endsWith('.test.ts') && !f.startsWith('_'))
      entries.push({ in: `hooks/src/bin/${f}`, out: `dist/hooks/${f.slice(0, -3)}.cjs` });
  }
}

// The end-to-end demo (`npm start`). It bundles the simulated cluster from test/cluster/, which finds its TLS
// fixtures through `import.meta.url`: a CJS bundle has none, so it is defined as that folder's URL at run time.
if (existsSync(join(root, 'demo/main.ts')))
  entries.push({
    in: 'demo/main.ts',
    out: 'dist/demo.cjs',
    define: { 'import.meta.url': '__simClusterUrl' },
    banner:
      "const __simClusterUrl = require('node:url').pathToFileURL(require('node:path').join(__dirname, '../test/cluster/index.ts')).href;",
  });

// Benchmarks are TypeScript too; they run from dist/bench/ (`npm run bench`).
// They bundle the simulated cluster too (pod-check at scale), with the same import.meta.url definition as the demo.
if (existsSync(join(root, 'bench/main.ts')))
  entries.push({
    in: 'bench/main.ts',
    out: 'dist/bench/main.cjs',
    define: { 'import.meta.url': '__simClusterUrl' },
    banner:
      "const __simClusterUrl = require('node:url').pathToFileURL(require('node:path').join(__dirname, '../../test/cluster/index.ts')).href;",
  });

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
        banner: { js: e.banner ? `#!/usr/bin/env node\n${e.banner}` : '#!/usr/bin/env node' },
        ...(e.define ? { define: e.define } : {}),
      }),
    ),
);

// Helm 4 plugin directory: plugin.yaml next to its own copy of the bundle (HELM_PLUGIN_DIR resolves both).
const pluginDir = join(root, 'dist/helm-plugin/tiers');
mkdirSync(pluginDir, { recursive: true });
copyFileSync(join(root, 'post-renderer/plugin/plugin.yaml'), join(pluginDir, 'plugin.yaml'));
if (existsSync(join(root, 'dist/post-renderer.cjs')))
  copyFileSync(join(root, 'dist/post-renderer.cjs'), join(pluginDir, 'post-renderer.cjs'));

const failed = results.filter((r) => r.status === 'rejected');
if (failed.length > 0) {
  // Every bundle that could be built is in dist/; the failures are already printed by esbuild.
  console.error(`build: ${failed.length} of ${entries.length} bundles failed`);
  process.exitCode = 1;
} else if (!quiet) {
  console.log(`built ${entries.length} bundles in ${Date.now() - started} ms`);
}
