/**
 * The scanner's skip of subtrees nothing is recorded in (scan.ts `skipBlock`: a non-workload's `spec`, a pod spec,
 * `data`, `status`, ...) against the same scanner without it and against the full path. Generated documents put
 * every hard case into the skipped subtrees: quoted scalars continued over lines (continuation and closing quote at
 * column 0, as go-yaml writes them), block scalars (with comment-like, marker-like and under-indented lines),
 * comments at every column, `---`/`...` lines, flow collections on one line and over several, tabs, sequences at
 * their key's column and deeper, plain continuations, nulls, and nesting near and past the bound. The fast path
 * with the skip must give exactly what it gives without (output, or falling back on the same documents), and the
 * public entry point exactly the full path's output or located error.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
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

type Outcome = { ok: PostRenderResult } | { error: { code: string; message: string; location: unknown } };

function outcome(fn: () => PostRenderResult): Outcome {
  try {
    return { ok: fn() };
  } catch (err) {
    if (err instanceof HelmTiersError)
      return { error: { code: err.code, message: err.message, location: err.location } };
    throw err;
  }
}

/** The fast path with and without the skip, and the public entry point against the full path. */
function compare(input: string): { skipped: FastPathProbe; plain: FastPathProbe; full: Outcome } {
  const skipped: FastPathProbe = { scanned: 0, fallbacks: [] };
  const plain: FastPathProbe = { scanned: 0, fallbacks: [] };
  const withSkip = fastPostRender(input, { meta: META }, skipped, { skip: true });
  const without = fastPostRender(input, { meta: META }, plain, { skip: false });
  expect(withSkip, 'the same fast result with and without the skip').toEqual(without);
  expect(skipped.fallbacks, 'the same documents fall back').toEqual(plain.fallbacks);
  const full = outcome(() => fullPostRender(input, { meta: META }));
  expect(outcome(() => postRender(input, { meta: META }))).toEqual(full);
  if (withSkip && 'ok' in full) expect(withSkip.output).toBe(full.ok.output);
  return { skipped, plain, full };
}

/** Lines of a value at key column `col` (the key line included), each a hard case for finding a subtree's end. */
const indent = (n: number) => ' '.repeat(n);
const FRAGMENTS: ((col: number) => string)[] = [
  (c) => `${indent(c)}plain: a value\n`,
  (c) => `${indent(c)}folded: a plain scalar that go-yaml folds over\n${indent(c + 2)}two lines\n`,
  (c) => `${indent(c)}empty:\n`,
  (c) => `${indent(c)}nul: ~\n`,
  (c) => `${indent(c)}flow: {}\n${indent(c)}list: []\n`,
  (c) => `${indent(c)}args: ["--port=8080", '--v=2']\n${indent(c)}ref: {name: a, key: b}\n`,
  // A flow collection over several lines: the scanner gives up, the full path decides.
  (c) => `${indent(c)}multi: [a,\n${indent(c + 2)}b]\n`,
  // go-yaml's multi-line quoted scalars: continuation lines and the lone closing quote at column 0.
  (c) => `${indent(c)}dq: "first line\n\nsecond line at column 0\n"\n`,
  (c) => `${indent(c)}sq: 'it''s one\n\nline
'\n`,
  (c) => `${indent(c)}dqkey: "x: y\n  # not a comment\nz: w"\n`,
  // A document marker inside a quoted scalar would end the document: the scanner refuses, the full path errs.
  (c) => `${indent(c)}marker: "a\n---\nb"\n`,
  (c) => `${indent(c)}dots: 'a\n...\nb'\n`,
  (c) => `${indent(c)}block: |\n${indent(c + 2)}# not a comment\n${indent(c + 2)}---\n\n${indent(c + 2)}key: value\n`,
  (c) => `${indent(c)}keep: |+\n${indent(c + 2)}kept\n\n\n`,
  (c) => `${indent(c)}ind: |2\n${indent(c + 4)}two more\n${indent(c + 2)}base\n`,
  (c) => `${indent(c)}folded2: >-\n${indent(c + 2)}one\n${indent(c + 2)}two\n`,
  (c) => `# a comment at column 0 inside the subtree\n${indent(c)}after: comment\n`,
  (c) => `${indent(c + 6)}# a deeper comment\n${indent(c)}k: v # trailing\n`,
  (c) => `${indent(c)}compact:\n${indent(c)}- a\n${indent(c)}- b: 1\n${indent(c + 2)}c: 2\n`,
  (c) => `${indent(c)}deeper:\n${indent(c + 2)}- x\n${indent(c + 2)}- y: |-\n${indent(c + 6)}text\n`,
  (c) => `${indent(c)}nested:\n${indent(c + 2)}inner:\n${indent(c + 4)}leaf: 1\n${indent(c + 2)}other: 2\n`,
  (c) => `${indent(c)}"quoted key": v\n`,
  (c) => `${indent(c)}anchor: &a x\n${indent(c)}alias: *a\n`,
  (c) => `${indent(c)}tagged: !!str 1\n`,
  // Tabs: in a value (valid), before a key (invalid YAML), after a colon.
  (c) => `${indent(c)}tab: a\tb\n`,
  (c) => `${indent(c)}\tbad: 1\n`,
  (c) => `${indent(c)}sep:\tv\n`,
  // Errors: a line between two columns, a sequence where a key belongs, a continuation after a quoted scalar.
  (c) => `${indent(c)}a:\n${indent(c + 4)}b: 1\n${indent(c + 2)}c: 2\n`,
  (c) => `${indent(c)}a: 1\n${indent(c)}- b\n`,
  (c) => `${indent(c)}q: "x"\n${indent(c + 2)}more\n`,
  (c) => `${indent(c)}seq:\n${indent(c + 2)}- a\n${indent(c + 2)}b: 1\n`,
  (c) => `${indent(c)}dash:\n${indent(c)}-\n${indent(c + 2)}x: 1\n`,
  (c) => `${indent(c)}colon: a: b\n`,
  (c) => `${indent(c)}end: x:\n`,
];

/** FRAGMENTS before this index: what Helm and go-yaml write, and the markers and flows that end a scan (weighted up). */
const HANDLED = FRAGMENTS.findIndex((make) => make(0).startsWith('"quoted key"'));
const fragment = fc.tuple(
  fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: HANDLED - 1 }) },
    { weight: 1, arbitrary: fc.integer({ min: HANDLED, max: FRAGMENTS.length - 1 }) },
  ),
  fc.integer({ min: 0, max: 2 }),
);

/** A subtree at column `col` from fragments, some nested one level deeper under a key of their own. */
function subtree(parts: readonly [number, number][], col: number): string {
  return parts
    .map(([f, deeper], i) => {
      const make = FRAGMENTS[f] as (c: number) => string;
      return deeper === 0 ? make(col) : `${indent(col)}level${i}:\n${make(col + 2 * deeper)}`;
    })
    .join('');
}

const crd = (spec: string, extra = '') =>
  `---\n# Source: c/crds/w.yaml\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\n` +
  `metadata:\n  name: widgets.example.com\nspec:\n  group: example.com\n  versions:\n  - name: v1\n` +
  `    schema:\n      openAPIV3Schema:\n${spec}${extra}`;
const deployment = (podSpec: string) =>
  `---\n# Source: c/templates/d.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n` +
  `spec:\n  selector:\n    matchLabels: {app: d}\n  template:\n    metadata:\n      labels:\n        app: d\n` +
  `    spec:\n${podSpec}`;
const configMap = (data: string) =>
  `---\n# Source: c/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: cm\ndata:\n${data}`;
const tail = '---\n# Source: c/templates/sa.yaml\napiVersion: v1\nkind: ServiceAccount\nmetadata:\n  name: sa\n';

describe('the scanner skips unrecorded subtrees exactly as it scans them', () => {
  it('generated CRD schemas, pod specs and ConfigMap data holding every hard case', () => {
    let fastWithoutFallback = 0;
    let runs = 0;
    fc.assert(
      fc.property(
        fc.array(fragment, { minLength: 1, maxLength: 6 }),
        fc.array(fragment, { minLength: 1, maxLength: 4 }),
        fc.array(fragment, { minLength: 1, maxLength: 3 }),
        fc.boolean(),
        (schema, pod, data, withTail) => {
          const input =
            crd(subtree(schema, 8)) +
            deployment(subtree(pod, 6)) +
            configMap(subtree(data, 2)) +
            (withTail ? tail : '');
          const r = compare(input);
          runs++;
          if ('ok' in r.full && r.skipped.fallbacks.length === 0) fastWithoutFallback++;
        },
      ),
      { seed: 20261207, numRuns: 500 },
    );
    // The generator reaches both sides: streams the skip handles whole, and streams the full path decides.
    expect(fastWithoutFallback).toBeGreaterThan(runs / 20);
    expect(fastWithoutFallback).toBeLessThan(runs);
  });

  it('each fragment alone, at the columns a CRD schema and a pod spec use', () => {
    for (const make of FRAGMENTS) {
      for (const col of [2, 4, 8]) {
        compare(crd(`${indent(8)}type: object\n${indent(8)}properties:\n${make(col + 2)}`));
        compare(configMap(make(2)) + tail);
        compare(deployment(make(6)));
      }
    }
  });

  it('a workload whose spec comes before its kind is scanned whole (the skip needs the kind first)', () => {
    const input = `spec:\n  template:\n    metadata:\n      labels: {app: d}\n    spec:\n      containers: []\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n`;
    const r = compare(input);
    expect('ok' in r.full && r.full.ok.output).toContain('labels: {app: d, helm-tiers.io/tier: "1"');
    expect(r.skipped.fallbacks).toEqual([]);
  });

  it('the pod template of a workload is still written into; a look-alike kind of another group is skipped', () => {
    const input = deployment('      containers:\n      - name: a\n        image: x\n') + crd('        type: object\n');
    const r = compare(input);
    if (!('ok' in r.full)) throw new Error('expected output');
    expect(r.full.ok.output).toMatch(/labels:\n {8}app: d\n {8}helm-tiers\.io\/tier: "1"/);
    const lookAlike = deployment('      x: 1\n').replace('apps/v1', 'example.com/v1');
    const other = compare(lookAlike);
    if (!('ok' in other.full)) throw new Error('expected output');
    expect(other.full.ok.output).not.toMatch(/ {8}helm-tiers\.io\/tier/);
  });
});

describe('the nesting bound inside a skipped subtree', () => {
  /** `levels` block collections below `openAPIV3Schema` (mappings, and mappings in sequences at their key's column). */
  const deep = (levels: number, seq: boolean) => {
    let text = '';
    let col = 8;
    for (let i = 0; i < levels; i++) {
      if (seq && i % 2 === 1) {
        text += `${indent(col)}- k${i}:\n`;
        col += 2;
      } else {
        text += `${indent(col)}k${i}:\n`;
        if (!(seq && i % 2 === 0)) col += 2;
      }
    }
    return crd(`${text}${indent(col + 2)}leaf: 1\n`, '') + tail;
  };
  // The CRD's own collections above the schema: root, spec, versions, the version item, schema, openAPIV3Schema.
  const ABOVE = 6;

  for (const seq of [false, true]) {
    it(`${seq ? 'mappings in sequences' : 'block mappings'}: within the bound rendered, past it the located E_INPUT_YAML`, () => {
      const within = compare(deep(MAX_NESTING_DEPTH - ABOVE - 1, seq));
      expect('ok' in within.full, 'within the bound: rendered').toBe(true);
      for (const levels of [MAX_NESTING_DEPTH - ABOVE + 1, 900]) {
        const r = compare(deep(levels, seq));
        if (!('error' in r.full)) throw new Error(`expected the nesting error at ${levels} levels`);
        expect(r.full.error.code).toBe('E_INPUT_YAML');
        expect(r.full.error.message).toMatch(/nested deeper than 500 collections/);
        expect(r.full.error.location).toMatchObject({ file: 'c/crds/w.yaml', document: 1 });
        expect(r.skipped.fallbacks).toEqual([0]);
      }
    });
  }
});
