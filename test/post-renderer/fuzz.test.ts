/**
 * Crash fuzz: random mutations of real and generated documents (deterministic seed, bounded count). The public
 * entry point (fast path first) must give exactly the full path's result: the same output, warnings and stats,
 * or the same error code, message and location. Never a crash, never partial output.
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { HelmTiersError } from '../../core/errors.js';
import {
  fastPostRender,
  fullPostRender,
  postRender,
  type FastPathProbe,
  type PostRenderResult,
} from '../../post-renderer/src/render.js';
import { MAX_NESTING_DEPTH } from '../../post-renderer/src/nesting.js';
import { META } from '../helpers/meta.js';
import { documentsOf, fixtureRenders, genRender, streamShape, streamText } from './scan-corpus.js';

/** Deterministic by default; HELM_TIERS_FUZZ_SEED / HELM_TIERS_FUZZ_RUNS run deeper or different campaigns. */
const SEED = Number(process.env.HELM_TIERS_FUZZ_SEED ?? 424242);
const RUNS = Number(process.env.HELM_TIERS_FUZZ_RUNS ?? 1500);

type Result =
  { ok: PostRenderResult } | { error: { code: string; message: string; location: unknown } } | { crash: string };

function run(fn: () => PostRenderResult): Result {
  try {
    return { ok: fn() };
  } catch (err) {
    if (err instanceof HelmTiersError)
      return { error: { code: err.code, message: err.message, location: err.location } };
    return { crash: String(err) };
  }
}

const TOKENS = [
  ' ',
  '  ',
  '\t',
  ':',
  ': ',
  '-',
  '- ',
  '#',
  ' #',
  '"',
  "'",
  '{',
  '}',
  '[',
  ']',
  ',',
  '|',
  '>',
  '|-',
  '|+',
  '&a ',
  '*a',
  '!t ',
  '? ',
  '<<: ',
  '\n',
  '\n---\n',
  '---\n',
  '...\n',
  '\n...\n',
  '%YAML 1.1\n',
  '\r\n',
  '\r',
  '\uFEFF',
  '\\',
  '~',
  'é',
  'x',
  'kind: List\n',
  'metadata:\n',
  '  labels:\n',
  'helm-tiers.io/tier: x\n',
];

interface Mutation {
  readonly op: 'insert' | 'delete' | 'duplicate-line' | 'delete-line' | 'indent' | 'dedent' | 'swap-lines';
  readonly at: number;
  readonly token: string;
  readonly len: number;
}

const mutation: fc.Arbitrary<Mutation> = fc.record({
  op: fc.constantFrom('insert', 'insert', 'delete', 'duplicate-line', 'delete-line', 'indent', 'dedent', 'swap-lines'),
  at: fc.integer({ min: 0, max: 1_000_000 }),
  token: fc.constantFrom(...TOKENS),
  len: fc.integer({ min: 1, max: 6 }),
});

function mutate(text: string, m: Mutation): string {
  if (text.length === 0) return m.token;
  const at = m.at % text.length;
  const lineStart = text.lastIndexOf('\n', at - 1) + 1;
  const nl = text.indexOf('\n', at);
  const lineEnd = nl < 0 ? text.length : nl + 1;
  const line = text.slice(lineStart, lineEnd);
  switch (m.op) {
    case 'insert':
      return text.slice(0, at) + m.token + text.slice(at);
    case 'delete':
      return text.slice(0, at) + text.slice(at + m.len);
    case 'duplicate-line':
      return text.slice(0, lineEnd) + line + text.slice(lineEnd);
    case 'delete-line':
      return text.slice(0, lineStart) + text.slice(lineEnd);
    case 'indent':
      return text.slice(0, lineStart) + ' '.repeat(m.len % 3) + ' ' + text.slice(lineStart);
    case 'dedent':
      return text.slice(0, lineStart) + line.replace(/^ {1,2}/, '') + text.slice(lineEnd);
    case 'swap-lines': {
      const nextEnd = text.indexOf('\n', lineEnd);
      const next = text.slice(lineEnd, nextEnd < 0 ? text.length : nextEnd + 1);
      return text.slice(0, lineStart) + next + line + text.slice(lineStart + line.length + next.length);
    }
  }
}

describe('crash fuzz: mutated corpus, public entry point = full path', () => {
  let pieces: string[] = [];
  beforeAll(async () => {
    const fixtures = await fixtureRenders();
    const gen = genRender(300);
    const generated = fc.sample(streamShape, { seed: 7, numRuns: 60 }).map(streamText);
    pieces = [
      ...fixtures.flatMap(documentsOf),
      ...(gen ? documentsOf(gen).filter((_, i) => i % 5 === 0) : []),
      ...generated,
    ];
    if (!gen) console.log('crash fuzz: gen-render corpus skipped, ../shared/bench/gen-render.mjs is absent');
  }, 120_000);

  it('gives the same output or the same located error, never a crash', () => {
    const tally = { runs: 0, ok: 0, errors: 0, crashes: 0, scannedDocs: 0, fastStreams: 0 };
    fc.assert(
      fc.property(
        fc.array(fc.nat(), { minLength: 1, maxLength: 3 }),
        fc.array(mutation, { minLength: 1, maxLength: 3 }),
        (picks, mutations) => {
          const base = picks.map((i) => pieces[i % pieces.length] as string).join('');
          const input = mutations.reduce(mutate, base);
          const full = run(() => fullPostRender(input, { meta: META }));
          const pub = run(() => postRender(input, { meta: META }));
          tally.runs++;
          const probe: FastPathProbe = { scanned: 0, fallbacks: [] };
          // `used`: the fast path produced the result itself (it may also decline and leave it to the full path,
          // which would compare the full path with itself).
          const used = { fast: false };
          const fast = run(() => {
            const f = fastPostRender(input, { meta: META }, probe);
            used.fast = f !== undefined;
            return f ?? fullPostRender(input, { meta: META });
          });
          if ('ok' in full && 'ok' in fast && used.fast && probe.scanned > 0) {
            tally.scannedDocs += probe.scanned;
            tally.fastStreams++;
          }
          if ('ok' in full) tally.ok++;
          else if ('error' in full) tally.errors++;
          else tally.crashes++;
          if (JSON.stringify(pub) !== JSON.stringify(full)) console.log(`mismatch on ${JSON.stringify(input)}`);
          expect(fast).toEqual(full);
          expect(pub).toEqual(full);
          if ('crash' in full) console.log(`crash on ${JSON.stringify(input)}`);
          expect(pub).not.toHaveProperty('crash');
        },
      ),
      { seed: SEED, numRuns: RUNS },
    );
    console.log(
      `crash fuzz: ${tally.runs} mutated streams, ${tally.ok} rendered (${tally.fastStreams} with ${tally.scannedDocs} ` +
        `documents on the fast path), ${tally.errors} located errors, ${tally.crashes} crashes`,
    );
    expect(tally.fastStreams).toBeGreaterThan(0);
    expect(tally.scannedDocs).toBeGreaterThan(0);
  }, 300_000);

  it('on single edits of documents the fast path accepts, still agrees with the full path', () => {
    const accepted = pieces.filter((p) => {
      const probe: FastPathProbe = { scanned: 0, fallbacks: [] };
      return fastPostRender(p, { meta: META }, probe) !== undefined && probe.fallbacks.length === 0;
    });
    expect(accepted.length).toBeGreaterThan(10);
    let fastAccepted = 0;
    fc.assert(
      fc.property(fc.nat(), mutation, (pick, m) => {
        const input = mutate(accepted[pick % accepted.length] as string, m);
        const full = run(() => fullPostRender(input, { meta: META }));
        const probe: FastPathProbe = { scanned: 0, fallbacks: [] };
        const used = { fast: false };
        const fast = run(() => {
          const f = fastPostRender(input, { meta: META }, probe);
          used.fast = f !== undefined;
          return f ?? fullPostRender(input, { meta: META });
        });
        if (used.fast && probe.scanned > 0 && 'ok' in fast) fastAccepted++;
        if (JSON.stringify(fast) !== JSON.stringify(full)) console.log(`mismatch on ${JSON.stringify(input)}`);
        expect(fast).toEqual(full);
      }),
      { seed: SEED + 1, numRuns: 2 * RUNS },
    );
    console.log(
      `crash fuzz (single edits): ${2 * RUNS} runs, ${fastAccepted} rendered by the fast path after the edit`,
    );
    // Most single edits keep a document on the fast path; if none did, this test compared the full path with itself.
    expect(fastAccepted).toBeGreaterThan(RUNS / 2);
  }, 300_000);
});

// ---- Depth, width and size ---------------------------------------------------------------------------------------
// Inputs no chart renders but a broken template can: nesting past go-yaml's own bound (10000) and past ours
// (MAX_NESTING_DEPTH), very wide mappings, very long lines, many documents. Each must render, or end in a located
// input error: never a crash (E_INTERNAL), and the fast path always agrees with the full path.

type Nest = 'block-map' | 'block-seq' | 'flow-seq' | 'flow-map' | 'block-then-flow';

/** `depth` collections nested inside one value at indentation `ind`, as lines (the value's key is the caller's). */
function nested(kind: Nest, depth: number, ind: number): string[] {
  const flowSeq = (n: number) => '['.repeat(n) + 'x' + ']'.repeat(n);
  const flowMap = (n: number) => '{k: '.repeat(n) + 'x' + '}'.repeat(n);
  switch (kind) {
    case 'flow-seq':
      return [`${' '.repeat(ind)}v: ${flowSeq(depth)}`];
    case 'flow-map':
      return [`${' '.repeat(ind)}v: ${flowMap(depth)}`];
    case 'block-map':
    case 'block-then-flow': {
      const block = kind === 'block-map' ? depth : Math.ceil(depth / 2);
      const lines = Array.from({ length: block }, (_, i) => `${' '.repeat(ind + 2 * i)}k:`);
      const leaf = kind === 'block-map' ? 'v: 1' : `v: ${flowSeq(depth - block)}`;
      lines.push(`${' '.repeat(ind + 2 * block)}${leaf}`);
      return lines;
    }
    case 'block-seq': {
      const lines = [`${' '.repeat(ind)}k:`];
      for (let i = 0; i < depth; i++) lines.push(`${' '.repeat(ind + 2 * i)}-`);
      lines.push(`${' '.repeat(ind + 2 * depth)}x`);
      return lines;
    }
  }
}

interface Extreme {
  readonly nest: Nest;
  readonly depth: number;
  /** Where the nesting goes: a data value, or under metadata.labels (a path the post-renderer writes into). */
  readonly inLabels: boolean;
  readonly wideKeys: number;
  readonly longLine: number;
  readonly documents: number;
}

const extreme: fc.Arbitrary<Extreme> = fc.record({
  nest: fc.constantFrom<Nest>('block-map', 'block-seq', 'flow-seq', 'flow-map', 'block-then-flow'),
  depth: fc.oneof(
    fc.integer({ min: 1, max: 60 }),
    fc.integer({ min: MAX_NESTING_DEPTH - 3, max: MAX_NESTING_DEPTH + 3 }),
    fc.integer({ min: MAX_NESTING_DEPTH, max: 900 }),
  ),
  inLabels: fc.boolean(),
  wideKeys: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 5_000 })),
  longLine: fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 1_000_000 })),
  documents: fc.oneof(fc.constant(1), fc.integer({ min: 2, max: 1_000 })),
});

function extremeText(e: Extreme): string {
  const doc = [
    '---',
    '# Source: c/templates/extreme.yaml',
    'apiVersion: v1',
    'kind: ConfigMap',
    'metadata:',
    '  name: x',
    ...(e.inLabels ? ['  labels:', ...nested(e.nest, e.depth, 4)] : []),
    'data:',
    ...(e.inLabels ? [] : nested(e.nest, e.depth, 2)),
    ...Array.from({ length: e.wideKeys }, (_, i) => `  key${i}: value ${i}`),
    ...(e.longLine > 0 ? [`  long: ${'x'.repeat(e.longLine)}`] : []),
  ].join('\n');
  const small = '---\n# Source: c/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: y\n';
  return doc + '\n' + small.repeat(e.documents - 1);
}

describe('crash fuzz: depth, width and size', () => {
  it('renders or refuses with a located input error, never a crash, the fast path agreeing', () => {
    const tally = { runs: 0, ok: 0, tooDeep: 0, otherErrors: 0 };
    fc.assert(
      fc.property(extreme, (e) => {
        const input = extremeText(e);
        const full = run(() => fullPostRender(input, { meta: META }));
        const pub = run(() => postRender(input, { meta: META }));
        tally.runs++;
        expect(full, JSON.stringify({ ...e })).not.toHaveProperty('crash');
        expect(pub).toEqual(full);
        if ('ok' in full) tally.ok++;
        if ('error' in full) {
          // Only input errors, located in the document and on a line.
          expect(full.error.code).toMatch(/^E_INPUT_/);
          expect(full.error.location).toMatchObject({ document: 1, line: expect.any(Number) as number });
          if (/nested deeper/.test(full.error.message)) tally.tooDeep++;
          else tally.otherErrors++;
        }
        // The bound is the bound: within it, every shape here is valid YAML and renders; past it, it is refused.
        // Collections: the root, metadata (in labels), the mapping holding the nested value, then `depth` more.
        const collections = 2 + (e.inLabels ? 1 : 0) + e.depth;
        expect(full, JSON.stringify({ ...e })).toHaveProperty(collections <= MAX_NESTING_DEPTH ? 'ok' : 'error');
      }),
      { seed: SEED + 2, numRuns: Math.max(40, Math.round(RUNS / 25)) },
    );
    console.log(
      `crash fuzz (depth, width, size): ${tally.runs} runs, ${tally.ok} rendered, ${tally.tooDeep} too deep, ` +
        `${tally.otherErrors} other input errors`,
    );
    expect(tally.ok).toBeGreaterThan(0);
    expect(tally.tooDeep).toBeGreaterThan(0);
  }, 600_000);

  it.each([
    ['a 3,000-level block mapping', nested('block-map', 3000, 2)],
    ['a 5,000-level flow sequence', nested('flow-seq', 5000, 2)],
    ['a 20,000-level flow mapping', nested('flow-map', 20_000, 2)],
  ])('%s is refused with the line of the collection past the bound', (_name, lines) => {
    const input = ['apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: x', 'data:', ...lines, ''].join('\n');
    const r = run(() => postRender(input, { meta: META }));
    expect(r).toMatchObject({ error: { code: 'E_INPUT_YAML', location: { document: 1 } } });
    const location = (r as { error: { location: { line: number } } }).error.location;
    // Block nesting: the line of the first collection past the bound; flow nesting: the one line.
    expect(location.line).toBe(lines.length === 1 ? 6 : 5 + MAX_NESTING_DEPTH);
  });
});
