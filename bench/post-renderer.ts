/**
 * Post-renderer benchmark, on gen-render.mjs input, every baseline measured in the same run: our post-renderer
 * (whole process, as Helm runs it: the launcher post-renderer/bin/helm-tiers-post-renderer with
 * `--plan plan.yaml --release tier1-database`), the same process forced onto the
 * full `yaml` Document path (parse + edit of the whole stream), `kubectl kustomize` in two setups giving the same
 * labels (the labels transformer with `includeTemplates` plus `commonAnnotations`, which issue 7's target names,
 * and the Flux patch recipe the Flux resources use), `cat` (the I/O floor) and `node -e 0` (the runtime's start, as
 * the launcher starts it, and with this environment's NODE_EXTRA_CA_CERTS when it sets one).
 * Prints wall time, MB/s, peak RSS, ratios, the share of documents that left the fast path, and the issue's
 * targets. MB = 10^6 bytes everywhere, as the issue counts them.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { postRendererPaths, toolchainPaths } from '../core/helm.js';
import { entryMap, tierMetadata } from '../core/labels.js';
import { identityFor } from '../plan/metadata.js';
import { readPlanFile } from '../plan/read.js';
import { fluxLikeKustomization, kustomizePatches } from '../flux/patches.js';
import { fastPostRender, fullPostRender, type FastPathProbe } from '../post-renderer/src/render.js';
import { measure, medianOf, type Measurement } from './measure.js';

const root = process.cwd();
const shared = join(root, '..', 'shared');
const work = join(root, '.bench');
const RELEASE = 'tier1-database';
const PLAN_FILE = join(root, 'plan.yaml');
/** What Helm 3 runs (`--post-renderer`), and what the Helm 4 plugin runs on Linux and macOS. */
const LAUNCHER = postRendererPaths(root).executable;
/** Node reads this file when it starts (docs/adr/0006); the launcher unsets it. */
const EXTRA_CA = process.env.NODE_EXTRA_CA_CERTS;
/** Exactly the arguments Helm passes (`--post-renderer-args`), the plan given by its absolute path. */
const OURS_ARGS = ['--plan', PLAN_FILE, '--release', RELEASE];
const meta = tierMetadata(identityFor(readPlanFile(PLAN_FILE, root), RELEASE));
/** The real-chart corpus is post-rendered as the conformance suite does: as the monitoring release. */
const CORPUS_RELEASE = 'monitoring';
const CORPUS_ARGS = ['--plan', PLAN_FILE, '--release', CORPUS_RELEASE];
const corpusMeta = tierMetadata(identityFor(readPlanFile(PLAN_FILE, root), CORPUS_RELEASE));
/**
 * Rounds per median: our process, `cat` and `node -e 0`, half before and half after the long runs. The full path
 * and kustomize (seconds each) run once.
 */
const RUNS = 10;
/**
 * Run as a child process by this benchmark (`main.cjs post-renderer <flag>`, so main.ts selects this section
 * only): the full path alone, stdin to stdout, like the post-renderer.
 */
const FULL_PATH_CHILD = '--post-render-full-path-child';

/** MB as the issue counts them (10^6 bytes): 2,000 objects = 1.74 MB, 20,000 = 14.6 MB. */
const mb = (bytes: number) => bytes / 1e6;
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

type KustomizeSetup = 'transformer' | 'patches';

/**
 * The same labels with kustomize, in a folder holding the render and a kustomization:
 * - `transformer`: the built-in labels transformer (`labels` with `includeTemplates`, no selectors) and
 *   `commonAnnotations`, the usual kustomize post-renderer and issue 7's baseline. It also writes the annotations
 *   onto pod templates, which ours never does (a change would restart pods).
 * - `patches`: the strategic-merge patches Flux's post-renderers use (flux/patches.ts), exactly our keys.
 */
function kustomizeDir(input: string, n: number, setup: KustomizeSetup): string {
  const dir = join(work, `kustomize-${setup}-${n}`);
  mkdirSync(dir, { recursive: true });
  execFileSync('cp', [input, join(dir, 'render.yaml')]);
  const kustomization =
    setup === 'patches'
      ? fluxLikeKustomization('render.yaml', kustomizePatches(meta))
      : // JSON is YAML; kustomize reads it as it reads any kustomization.yaml.
        JSON.stringify(
          {
            apiVersion: 'kustomize.config.k8s.io/v1beta1',
            kind: 'Kustomization',
            resources: ['render.yaml'],
            labels: [{ pairs: entryMap(meta.labels), includeSelectors: false, includeTemplates: true }],
            commonAnnotations: entryMap(meta.annotations),
          },
          null,
          2,
        );
  writeFileSync(join(dir, 'kustomization.yaml'), kustomization);
  return dir;
}

/** `runs` rounds; each round runs every command once, so a burst of machine load hits all alike. */
async function interleavedRuns(
  runs: number,
  commands: readonly (() => Promise<Measurement>)[],
): Promise<Measurement[][]> {
  const all = commands.map((): Measurement[] => []);
  for (let r = 0; r < runs; r++) for (const [i, command] of commands.entries()) all[i]?.push(await command());
  return all;
}

function fullPathChild(): void {
  const input = readFileSync(0, 'utf8');
  process.stdout.write(fullPostRender(input, { meta }).output);
}

export async function benchPostRenderer(sizes = [1, 1000, 2000, 20000], kustomizeMax = 2000): Promise<void> {
  if (process.argv.includes(FULL_PATH_CHILD)) {
    fullPathChild();
    return;
  }
  if (!existsSync(join(shared, 'bench', 'gen-render.mjs'))) {
    console.log('post-renderer bench: skipped, ../shared/bench/gen-render.mjs is absent');
    return;
  }
  mkdirSync(work, { recursive: true });
  const kubectl = toolchainPaths(root, 4).kubectl;
  const cacheStatus = /code cache (\w+)/.exec(
    spawnSync(LAUNCHER, OURS_ARGS, {
      input: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n',
      env: { ...process.env, HELM_TIERS_CODE_CACHE_REPORT: '1' },
      encoding: 'utf8',
    }).stderr,
  )?.[1];
  console.log(
    `wall: medians of ${RUNS} rounds for ours, cat and node -e 0, interleaved (each round runs each once, so a ` +
      `burst of machine load hits them alike), half before and half after the long runs, peak RSS from one more run each; one run each for the full path ` +
      `and kustomize (seconds per run; RSS sampled every 10/20 ms). ` +
      `MB = 10^6 bytes. Ours runs as Helm runs it: post-renderer/bin/helm-tiers-post-renderer ${OURS_ARGS.join(' ')} ` +
      `(code cache ${cacheStatus ?? 'unknown'})\n`,
  );
  const rows: string[][] = [['objects', 'input MB', 'tool', 'wall ms', 'MB/s', 'peak RSS MB', 'ratio']];
  interface Sized {
    m: Measurement;
    bytes: number;
    transformer?: Measurement | undefined;
    patches?: Measurement | undefined;
  }
  const ours = new Map<number, Sized>();
  const shares: string[] = [];
  // The fixed costs: the runtime's start, and our whole process on a one-object render (start, bundle, plan).
  const one = join(work, 'render-one.yaml');
  writeFileSync(one, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n');
  const inputs = sizes.map((n) => ({ n, input: generate(n) }));
  const corpus = corpusFiles();
  type Command = [string, string[], string | undefined, Record<string, string | undefined>?];
  const withoutExtraCa = { NODE_EXTRA_CA_CERTS: undefined };
  const short: Command[] = [
    ['node', ['--v8-pool-size=1', '-e', '0'], undefined, withoutExtraCa],
    ['node', ['-e', '0'], undefined],
    [LAUNCHER, OURS_ARGS, one],
    ...inputs.flatMap(({ input }): Command[] => [
      [LAUNCHER, OURS_ARGS, input],
      ['cat', [], input],
    ]),
    ...corpus.map((c): Command => [LAUNCHER, CORPUS_ARGS, c.file]),
  ];
  const rounds = short.map(
    ([cmd, args, input, env]) =>
      () =>
        measure(cmd, args, input, env, false),
  );
  // Half of the rounds before the long runs (full path, kustomize: a minute), half after: the machine is shared and
  // its speed drifts, so our short runs sample the same stretch of time as the baselines they are compared with.
  const before = await interleavedRuns(Math.ceil(RUNS / 2), rounds);
  const long = [];
  for (const { n, input } of inputs) {
    if (n < 1000) {
      long.push({ full: undefined, transformer: undefined, patches: undefined });
      continue;
    }
    const full = await measure(
      'node',
      [join(root, 'dist/bench/main.cjs'), 'post-renderer', FULL_PATH_CHILD],
      input,
      undefined,
      10,
    );
    const kustomize = (setup: KustomizeSetup) =>
      n <= kustomizeMax
        ? measure(kubectl, ['kustomize', kustomizeDir(input, n, setup)], undefined, undefined, 20)
        : undefined;
    long.push({ full, transformer: await kustomize('transformer'), patches: await kustomize('patches') });
  }
  const after = await interleavedRuns(Math.floor(RUNS / 2), rounds);
  const walls = before.map((runs, i) => medianOf([...runs, ...(after[i] as Measurement[])]));
  // Peak RSS: one more run of each, sampled every 2 ms.
  const measured: Measurement[] = [];
  for (const [i, [cmd, args, input, env]] of short.entries()) {
    const rss = await measure(cmd, args, input, env);
    measured.push({ ...(walls[i] as Measurement), peakRssBytes: rss.peakRssBytes });
  }
  const [nodeFloor, nodeHere, oneObject, ...rest] = measured;
  if (!nodeFloor || !nodeHere || !oneObject) throw new Error('no measurements');
  const perSize = rest.slice(0, 2 * inputs.length);
  const perCorpus = rest.slice(2 * inputs.length);
  for (const [i, { n, input }] of inputs.entries()) {
    const bytes = statSync(input).size;
    const m = perSize[2 * i] as Measurement;
    const cat = perSize[2 * i + 1] as Measurement;
    const { full, transformer, patches } = long[i] as (typeof long)[number];
    ours.set(n, { m, bytes, transformer, patches });
    const row = (tool: string, x: Measurement, ratio: string) => [
      String(n),
      fmt(mb(bytes), 2),
      tool,
      fmt(x.ms, 0),
      fmt(mb(bytes) / (x.ms / 1000)),
      fmt(mb(x.peakRssBytes)),
      ratio,
    ];
    const vs = [
      transformer && `${fmt(transformer.ms / m.ms)}× faster than the labels transformer`,
      patches && `${fmt(patches.ms / m.ms)}× than the patches`,
    ].filter(Boolean);
    rows.push(row('helm-tiers post-render', m, vs.join(', ')));
    if (full) rows.push(row('  full yaml Document path', full, `ours ${fmt(full.ms / m.ms)}× faster`));
    if (transformer) rows.push(row('  kubectl kustomize, labels transformer (issue 7)', transformer, '1.0'));
    if (patches) rows.push(row('  kubectl kustomize, Flux patch recipe', patches, ''));
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
  const fixedRow = (tool: string, x: Measurement) => ['-', '-', tool, fmt(x.ms, 0), '-', fmt(mb(x.peakRssBytes)), ''];
  rows.push(fixedRow('node -e 0 (runtime start, as the launcher starts it)', nodeFloor));
  if (EXTRA_CA) rows.push(fixedRow(`node -e 0 with NODE_EXTRA_CA_CERTS=${EXTRA_CA}`, nodeHere));
  rows.push(fixedRow('helm-tiers post-render, one object (fixed cost)', oneObject));
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

  // The real-chart corpus: whole process (release monitoring, as the conformance suite runs it), measured in the
  // same interleaved rounds as the synthetic inputs above.
  const corpusRows: string[][] = [
    ['corpus file', 'input MB', 'wall ms', 'MB/s', 'peak RSS MB', 'left the fast scanner'],
  ];
  const corpusMeasured = new Map<string, { m: Measurement; bytes: number; left: number; documents: number }>();
  for (const [i, c] of corpus.entries()) {
    const m = perCorpus[i] as Measurement;
    const bytes = statSync(c.file).size;
    const text = readFileSync(c.file, 'utf8');
    const probe: FastPathProbe = { scanned: 0, fallbacks: [] };
    const fast = fastPostRender(text, { meta: corpusMeta }, probe);
    const documents = probe.scanned + probe.fallbacks.length;
    const left = fast ? probe.fallbacks.length : documents;
    corpusMeasured.set(c.name, { m, bytes, left, documents });
    corpusRows.push([
      c.name,
      fmt(mb(bytes), 2),
      fmt(m.ms, 0),
      fmt(mb(bytes) / (m.ms / 1000)),
      fmt(mb(m.peakRssBytes)),
      `${left} of ${documents} documents${fast ? '' : ' (the whole stream)'}`,
    ]);
  }
  if (corpus.length > 0) {
    console.log('\nreal-chart corpus (../shared/corpus), whole process, --release monitoring:');
    const cw = (corpusRows[0] as string[]).map((_, i) => Math.max(...corpusRows.map((r) => (r[i] as string).length)));
    for (const r of corpusRows)
      console.log(
        r
          .map((c, i) => c.padEnd(cw[i] as number))
          .join('  ')
          .trimEnd(),
      );
  } else {
    console.log('\nreal-chart corpus: skipped, ../shared/corpus is absent');
  }

  const small = ours.get(2000);
  const large = ours.get(20000);
  console.log('\ntargets (issue 7):');
  const target = (ok: boolean, text: string) => {
    console.log(`  ${ok ? 'PASS' : 'FAIL'}  ${text}`);
  };
  if (small?.transformer) {
    const budget = small.transformer.ms / 100;
    target(
      small.transformer.ms / small.m.ms >= 100,
      `2,000 objects ≥ 100× faster than kubectl kustomize with the labels transformer: ` +
        `${fmt(small.transformer.ms / small.m.ms)}× (${fmt(small.m.ms, 0)} ms vs ${fmt(small.transformer.ms / 1000, 2)} s)`,
    );
    console.log(
      `        100× needs ≤ ${fmt(budget, 0)} ms for the whole process; of our ${fmt(small.m.ms, 0)} ms, ` +
        `node -e 0 takes ${fmt(nodeFloor.ms, 0)} ms, bundle + plan + one object ${fmt(oneObject.ms - nodeFloor.ms, 0)} ms ` +
        `more, the 2,000-object render the remaining ${fmt(small.m.ms - oneObject.ms, 0)} ms`,
    );
  }
  if (small?.patches)
    console.log(
      `  info  2,000 objects against the Flux patch recipe (not the issue's baseline): ${fmt(small.patches.ms / small.m.ms)}×`,
    );
  if (large) {
    target(large.m.ms <= 1000, `20,000 objects ≤ 1 s whole process: ${fmt(large.m.ms, 0)} ms`);
    const limit = 4 * large.bytes + 80e6;
    target(
      large.m.peakRssBytes <= limit,
      `peak RSS ≤ 4 × input + 80 MB = ${fmt(mb(limit))} MB: ${fmt(mb(large.m.peakRssBytes))} MB`,
    );
  }
  if (small && large)
    target(large.m.ms / small.m.ms <= 12, `time(20,000) / time(2,000) ≤ 12: ${fmt(large.m.ms / small.m.ms, 2)}`);

  if (corpus.length === 0) return;
  console.log('\ntargets (issue 12, ratios within this run):');
  const synthetic1 = ours.get(1);
  if (large) {
    const rate = mb(large.bytes) / (large.m.ms / 1000);
    for (const [name, c] of corpusMeasured) {
      if (!name.startsWith('kyverno/')) continue;
      const own = mb(c.bytes) / (c.m.ms / 1000);
      target(
        own >= 0.8 * rate,
        `${name}: MB/s ≥ 0.8 × the synthetic 20,000-object input's: ${fmt(own)} vs ${fmt(rate)} MB/s ` +
          `(${fmt(own / rate, 2)}×)`,
      );
    }
  }
  if (synthetic1) {
    for (const [name, c] of corpusMeasured) {
      if (!name.startsWith('kube-prometheus-stack/')) continue;
      target(
        c.m.ms <= 1.3 * synthetic1.m.ms,
        `${name}: time ≤ 1.3 × the synthetic 1-object input's: ${fmt(c.m.ms, 0)} vs ${fmt(synthetic1.m.ms, 0)} ms ` +
          `(${fmt(c.m.ms / synthetic1.m.ms, 2)}×)`,
      );
    }
  }
  const left = [...corpusMeasured].filter(([, c]) => c.left > 0);
  target(
    left.length === 0,
    `no corpus document leaves the fast scanner (none holds an alias or a merge key): ` +
      (left.length === 0 ? 'none did' : left.map(([n, c]) => `${n}: ${c.left}`).join(', ')),
  );
}

/** Every `helm*.yaml` of every chart folder of the shared corpus. */
function corpusFiles(): { name: string; file: string }[] {
  const dir = join(shared, 'corpus');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((c) => statSync(join(dir, c)).isDirectory())
    .sort()
    .flatMap((c) =>
      readdirSync(join(dir, c))
        .filter((f) => /^helm\d+\.yaml$/.test(f))
        .sort()
        .map((f) => ({ name: `${c}/${f}`, file: join(dir, c, f) })),
    );
}
