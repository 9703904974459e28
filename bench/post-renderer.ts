/**
 * Post-renderer benchmark, on gen-render.mjs input, every baseline measured in the same run: our post-renderer
 * (whole process, as Helm runs it), the same process forced onto the full `yaml` Document path (parse + edit of
 * the whole stream), `kubectl kustomize` with the equivalent patches (the Flux recipe), `cat` (the I/O floor) and
 * `node -e 0` (the runtime's start). Prints wall time, MB/s, peak RSS, ratios, the share of documents that left
 * the fast path, and the targets.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tierMetadata } from '../plan/metadata.js';
import { fluxLikeKustomization, kustomizePatches } from '../flux/patches.js';
import { fastPostRender, fullPostRender, type FastPathProbe } from '../post-renderer/src/render.js';
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
/**
 * Run as a child process by this benchmark (`main.cjs post-renderer <flag>`, so main.ts selects this section
 * only): the full path alone, stdin to stdout, like the post-renderer.
 */
const FULL_PATH_CHILD = '--post-render-full-path-child';

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
  writeFileSync(join(dir, 'kustomization.yaml'), fluxLikeKustomization('render.yaml', kustomizePatches(meta)));
  return dir;
}

function fullPathChild(): void {
  const input = readFileSync(0, 'utf8');
  process.stdout.write(fullPostRender(input, { meta }).output);
}

export async function benchPostRenderer(sizes = [1000, 2000, 20000], kustomizeMax = 2000): Promise<void> {
  if (process.argv.includes(FULL_PATH_CHILD)) {
    fullPathChild();
    return;
  }
  if (!existsSync(join(shared, 'bench', 'gen-render.mjs'))) {
    console.log('post-renderer bench: skipped, ../shared/bench/gen-render.mjs is absent');
    return;
  }
  mkdirSync(work, { recursive: true });
  const kubectl = join(root, '.tools/helm4/kubectl');
  const bundle = join(root, 'dist/post-renderer.cjs');
  const rows: string[][] = [['objects', 'input MB', 'tool', 'wall ms', 'MB/s', 'peak RSS MB', 'ratio']];
  const ours = new Map<number, { m: Measurement; bytes: number; kz?: Measurement; cat: Measurement }>();
  const shares: string[] = [];
  const nodeFloor = await median(5, () => measure('node', ['-e', '0']));
  for (const n of sizes) {
    const input = generate(n);
    const bytes = statSync(input).size;
    const m = await median(5, () => measure('node', [bundle, ...META_ARGS], input));
    const cat = await median(5, () => measure('cat', [], input));
    const full = await median(1, () =>
      measure('node', [join(root, 'dist/bench/main.cjs'), 'post-renderer', FULL_PATH_CHILD], input),
    );
    let kz: Measurement | undefined;
    if (n <= kustomizeMax) kz = await median(1, () => measure(kubectl, ['kustomize', kustomizeDir(input, n)]));
    ours.set(n, { m, bytes, kz, cat });
    const row = (tool: string, x: Measurement, ratio: string) => [
      String(n),
      fmt(mb(bytes), 2),
      tool,
      fmt(x.ms, 0),
      fmt(mb(bytes) / (x.ms / 1000)),
      fmt(mb(x.peakRssBytes)),
      ratio,
    ];
    rows.push(row('helm-tiers post-render', m, kz ? `${fmt(kz.ms / m.ms)}× faster than kustomize` : ''));
    rows.push(row('  full yaml Document path', full, `ours ${fmt(full.ms / m.ms)}× faster`));
    if (kz) rows.push(row('  kubectl kustomize (same patches)', kz, '1.0'));
    rows.push(row('  cat (I/O floor)', cat, `ours = ${fmt(m.ms / cat.ms)}× cat`));

    // In-process: which documents left the fast path, and the scan alone (no process start, no I/O).
    const text = readFileSync(input, 'utf8');
    const probe: FastPathProbe = { scanned: 0, fallbacks: [] };
    const started = process.hrtime.bigint();
    const result = fastPostRender(text, { meta }, probe);
    const scanMs = Number(process.hrtime.bigint() - started) / 1e6;
    const documents = probe.scanned + probe.fallbacks.length;
    shares.push(
      result
        ? `${n} objects: ${probe.fallbacks.length} of ${documents} documents took the full path ` +
            `(${fmt((100 * probe.fallbacks.length) / Math.max(1, documents))}%); in-process render ${fmt(scanMs, 0)} ms ` +
            (shares.length === 0 ? '(JIT cold) ' : '') +
            `(${fmt(mb(bytes) / (scanMs / 1000), 0)} MB/s)`
        : `${n} objects: the whole stream took the full path`,
    );
  }
  rows.push(['-', '-', 'node -e 0 (runtime start)', fmt(nodeFloor.ms, 0), '-', fmt(mb(nodeFloor.peakRssBytes)), '']);
  const widths = (rows[0] as string[]).map((_, i) => Math.max(...rows.map((r) => (r[i] as string).length)));
  for (const r of rows)
    console.log(
      r
        .map((c, i) => c.padEnd(widths[i] as number))
        .join('  ')
        .trimEnd(),
    );
  console.log('\nfast path coverage:');
  for (const s of shares) console.log(`  ${s}`);

  const small = ours.get(2000);
  const large = ours.get(20000);
  console.log('\ntargets (issue 7):');
  const target = (ok: boolean, text: string) => {
    console.log(`  ${ok ? 'PASS' : 'FAIL'}  ${text}`);
  };
  if (small?.kz)
    target(
      small.kz.ms / small.m.ms >= 100,
      `2,000 objects ≥ 100× faster than kustomize: ${fmt(small.kz.ms / small.m.ms)}×`,
    );
  if (large) {
    target(large.m.ms <= 1000, `20,000 objects ≤ 1 s whole process: ${fmt(large.m.ms, 0)} ms`);
    const limit = 4 * large.bytes + 80 * 1024 * 1024;
    target(
      large.m.peakRssBytes <= limit,
      `peak RSS ≤ 4 × input + 80 MB = ${fmt(mb(limit))} MB: ${fmt(mb(large.m.peakRssBytes))} MB`,
    );
  }
  if (small && large)
    target(large.m.ms / small.m.ms <= 12, `time(20,000) / time(2,000) ≤ 12: ${fmt(large.m.ms / small.m.ms, 2)}`);
}
