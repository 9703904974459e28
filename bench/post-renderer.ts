/**
 * Post-renderer benchmark: our post-renderer against `kubectl kustomize` with the equivalent patches (the Flux
 * recipe), on gen-render.mjs input, measured in the same run. Prints wall time, MB/s, peak RSS and ratios.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { tierMetadata } from '../plan/metadata.js';
import { kustomizePatches } from '../flux/patches.js';
import { measure, median, type Measurement } from './measure.js';

const root = process.cwd();
const shared = join(root, '..', 'shared');
const work = join(root, '.bench');
const META_ARGS = ['--release', 'tier1-database', '--component', 'database', '--tier', '1', '--part-of', 'platform'];
const meta = tierMetadata({
  release: 'tier1-database',
  component: 'database',
  tier: 1,
  partOf: 'platform',
  dependsOn: [],
});

const mb = (bytes: number) => bytes / 1024 / 1024;
const fmt = (n: number, d = 1) => n.toFixed(d);

function generate(n: number): string {
  const file = join(work, `render-${n}.yaml`);
  if (!existsSync(file)) {
    writeFileSync(
      file,
      execFileSync('node', [join(shared, 'bench', 'gen-render.mjs'), String(n)], { maxBuffer: 1 << 30 }),
    );
  }
  return file;
}

function kustomizeDir(input: string, n: number): string {
  const dir = join(work, `kustomize-${n}`);
  mkdirSync(dir, { recursive: true });
  execFileSync('cp', [input, join(dir, 'render.yaml')]);
  writeFileSync(
    join(dir, 'kustomization.yaml'),
    stringify({
      apiVersion: 'kustomize.config.k8s.io/v1beta1',
      kind: 'Kustomization',
      resources: ['render.yaml'],
      patches: kustomizePatches(meta),
    }),
  );
  return dir;
}

export function printTable(rows: readonly (readonly string[])[]): void {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  for (const r of rows)
    console.log(
      r
        .map((c, i) => c.padEnd(widths[i] ?? 0))
        .join('  ')
        .trimEnd(),
    );
}

export async function benchPostRenderer(sizes = [1000, 2000, 20000], kustomizeMax = 2000): Promise<void> {
  if (!existsSync(join(shared, 'bench', 'gen-render.mjs'))) {
    console.log('post-renderer bench: skipped, ../shared/bench/gen-render.mjs is absent');
    return;
  }
  mkdirSync(work, { recursive: true });
  const kubectl = join(root, '.tools/helm4/kubectl');
  const rows: string[][] = [['objects', 'input MB', 'tool', 'wall ms', 'MB/s', 'peak RSS MB', 'vs kustomize']];
  const times = new Map<number, number>();
  for (const n of sizes) {
    const input = generate(n);
    const bytes = statSync(input).size;
    const ours = await median(3, () => measure('node', [join(root, 'dist/post-renderer.cjs'), ...META_ARGS], input));
    times.set(n, ours.ms);
    const cat = await median(3, () => measure('cat', [], input));
    let kz: Measurement | undefined;
    if (n <= kustomizeMax) kz = await median(1, () => measure(kubectl, ['kustomize', kustomizeDir(input, n)]));
    const row = (tool: string, m: Measurement, ratio: string) => [
      String(n),
      fmt(mb(bytes), 2),
      tool,
      fmt(m.ms, 0),
      fmt(mb(bytes) / (m.ms / 1000)),
      fmt(mb(m.peakRssBytes)),
      ratio,
    ];
    rows.push(row('helm-tiers post-render', ours, kz ? `${fmt(kz.ms / ours.ms)}× faster` : '-'));
    if (kz) rows.push(row('kubectl kustomize (same patches)', kz, '1.0'));
    rows.push(row('cat (I/O floor)', cat, '-'));
  }
  printTable(rows);
  const small = times.get(2000);
  const large = times.get(20000);
  if (small && large)
    console.log(`\nlinearity: time(20,000) / time(2,000) = ${fmt(large / small, 2)} (10 would be linear)`);
}
