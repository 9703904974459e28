/**
 * The fast path (scan.ts) against the full `yaml` path on a large corpus: real Helm renders of the fixture chart,
 * gen-render.mjs output and generated streams of varied shapes. Wherever the scanner handles a document, the
 * output must be the full path's byte for byte; the public entry point must always give the full path's result
 * or error; the parsed output must equal the oracle (the document model on the parsed input).
 */
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { META, META_PART_OF } from '../helpers/meta.js';
import type { TierMetadata } from '../../core/labels.js';
import { expectedStream, expectOnlyOursAdded, parseStream } from '../helpers/yaml.js';
import {
  bothPaths,
  documentsOf,
  fixtureRenders,
  genRender,
  GEN_RENDER,
  streamShape,
  streamText,
} from './scan-corpus.js';

interface Share {
  documents: number;
  fallbacks: number;
  wholeStream: number;
  streams: number;
}
const shares = new Map<string, Share>();

function check(input: string, corpus: string, meta: TierMetadata = META): void {
  const r = bothPaths(input, meta);
  expect(r.fastError, 'the fast path never throws').toBeUndefined();
  const share = shares.get(corpus) ?? { documents: 0, fallbacks: 0, wholeStream: 0, streams: 0 };
  shares.set(corpus, share);
  share.streams++;
  if ('error' in r.full) {
    expect(r.fast, 'no fast result where the full path fails').toBeUndefined();
    expect(r.public).toEqual(r.full);
    return;
  }
  expect(r.public, 'postRender = full path (output, warnings, stats)').toEqual(r.full);
  const full = r.full.ok;
  share.documents += full.stats.documents;
  if (!r.fast) {
    share.wholeStream++;
    share.fallbacks += full.stats.documents;
  } else {
    share.fallbacks += r.probe.fallbacks.length;
    expect(r.fast.output).toBe(full.output);
    expect(r.fast.stats).toEqual(full.stats);
    expect(r.fast.warnings).toEqual(full.warnings);
  }
  expect(parseStream(full.output)).toEqual(expectedStream(input, meta));
  // Every input byte survives; what changed is only our keys (the full path may re-serialize: fast ones only).
  if (r.fast && r.probe.fallbacks.length === 0) expectOnlyOursAdded(input, full.output, meta);
}

function report(corpus: string): void {
  const s = shares.get(corpus);
  if (!s) return;
  const pct = s.documents === 0 ? 0 : (100 * s.fallbacks) / s.documents;
  console.log(
    `fast path [${corpus}]: ${s.streams} streams, ${s.documents} documents, ${s.fallbacks} took the full path ` +
      `(${pct.toFixed(1)}%; ${s.wholeStream} whole streams)`,
  );
}

describe('fast path = full path', () => {
  let fixtures: string[] = [];
  beforeAll(async () => {
    fixtures = await fixtureRenders();
  }, 120_000);

  it('on the fixture chart rendered by Helm 3 and Helm 4, as streams and document by document', () => {
    for (const stream of fixtures) {
      check(stream, 'fixture');
      const probe = bothPaths(stream).probe;
      const docs = documentsOf(stream);
      for (const i of probe.fallbacks)
        console.log(`fixture document ${i + 1} took the full path:\n${docs[i]?.slice(0, 400) ?? ''}`);
      for (const doc of documentsOf(stream)) check(doc, 'fixture');
    }
    report('fixture');
    // The fixture's shapes are Helm's own: the scanner handles all of them but the deliberate oddities.
    const s = shares.get('fixture');
    expect(s && s.fallbacks / s.documents).toBeLessThan(0.25);
  });

  it.skipIf(!genRender(1))(
    'on gen-render.mjs output (2,000 objects), with no fallback',
    () => {
      const input = genRender(2000) as string;
      const r = bothPaths(input);
      expect(r.fast).toBeDefined();
      expect(r.probe.fallbacks).toEqual([]);
      check(input, 'gen-render');
      report('gen-render');
    },
    300_000,
  );
  if (!genRender(1)) console.log(`skipped gen-render corpus: ${GEN_RENDER} is absent`);

  it('on generated streams of varied shapes', () => {
    fc.assert(
      fc.property(streamShape, fc.boolean(), (shape, partOf) => {
        check(streamText(shape), 'generated', partOf ? META_PART_OF : META);
      }),
      {
        seed: Number(process.env.HELM_TIERS_FUZZ_SEED ?? 20261125),
        numRuns: Number(process.env.HELM_TIERS_FUZZ_RUNS ?? 1500),
      },
    );
    report('generated');
    const s = shares.get('generated');
    // The generator is built so that both paths are exercised.
    expect(s && s.fallbacks).toBeGreaterThan(0);
    expect(s && s.fallbacks).toBeLessThan(s ? s.documents : 0);
  }, 300_000);
});

describe('full-path defects the differential suite found, fixed (edit.ts)', () => {
  // edit.ts orders inline edits (the null replacement) before the parent's block insertion at the same offset.
  it('a null labels value on the last line without a line break', () => {
    const input = '---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels:';
    // check() accepts an error on both paths; the fix is that the full path now succeeds.
    expect(bothPaths(input).full).toHaveProperty('ok');
    check(input, 'known');
  });
});

describe('full-path crashes the fuzz found, now located errors', () => {
  it('an alias whose anchor is missing (the parser reports nothing; resolving it threw a ReferenceError)', () => {
    const input =
      '---\n# Source: c/templates/x.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: b\ncopy: *d\n';
    const r = bothPaths(input);
    expect(r.full).toEqual({
      error: {
        code: 'E_INPUT_YAML',
        message: expect.stringContaining('alias') as unknown,
        location: { file: 'c/templates/x.yaml', document: 1 },
      },
    });
    expect(r.public).toEqual(r.full);
  });

  it('an alias inside its own anchor (a cycle: copying it overflowed the stack)', () => {
    const input = 'apiVersion: v1\nkind: ConfigMap\ndata: &d\n  a: b\n  copy: *d\nmetadata:\n  name: x\n';
    const r = bothPaths(input);
    expect(r.full).toMatchObject({ error: { code: 'E_INPUT_YAML', location: { document: 1 } } });
    expect(r.public).toEqual(r.full);
  });
});
