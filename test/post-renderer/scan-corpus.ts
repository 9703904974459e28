/**
 * The corpus of the fast path's differential and fuzz suites (scan.test.ts, fuzz.test.ts): real Helm renders of
 * the fixture chart, gen-render.mjs output, and a fast-check generator of the shapes the scanner must either handle
 * exactly like the full path or hand over to it.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { ErrorCodes, HelmTiersError } from '../../core/errors.js';
import type { TierMetadata } from '../../core/labels.js';
import {
  fastPostRender,
  fullPostRender,
  postRender,
  type FastPathProbe,
  type PostRenderResult,
} from '../../post-renderer/src/render.js';
import { helmHarness, FIXTURE_CHART, SHARED } from '../helpers/helm.js';
import { META } from '../helpers/meta.js';

export const GEN_RENDER = join(SHARED, 'bench', 'gen-render.mjs');

/** `helm template` of the fixture chart with Helm 3 (`# Source:` comments, CRDs) and Helm 4 (hooks included). */
export async function fixtureRenders(): Promise<string[]> {
  const out: string[] = [];
  for (const major of [3, 4] as const) {
    const h = await helmHarness(major);
    const r = await h.helm(['template', 'r1', FIXTURE_CHART, '-n', 'apps', '--include-crds']);
    if (r.code !== 0) throw new Error(`helm ${major} template failed: ${r.stderr}`);
    out.push(r.stdout);
  }
  return out;
}

export function genRender(n: number): string | undefined {
  if (!existsSync(GEN_RENDER)) return undefined;
  return execFileSync('node', [GEN_RENDER, String(n)], { maxBuffer: 1 << 30, encoding: 'utf8' });
}

/** Splits a stream into its `---` documents (text), for building mixed streams from real ones. */
export function documentsOf(stream: string): string[] {
  return stream
    .split(/^(?=---(?:\s|$))/m)
    .filter((d) => d.trim() !== '')
    .map((d) => (d.endsWith('\n') ? d : d + '\n'));
}

// ---------------------------------------------------------------------------------------------------------------
// The generator: objects assembled from line-level variants, at any indentation (List items), in streams with
// stream-level variants (separators, `...`, CRLF, BOM, preamble comments, empty documents).

const pad = (n: number) => ' '.repeat(n);

const LABEL_VARIANTS = [
  'absent',
  'block',
  'block-comment',
  'block-trailing-comment',
  'null',
  'tilde',
  'null-word',
  'null-comment',
  'empty-flow',
  'flow',
  'multi-line-flow',
  'quoted-keys',
  'ours-same',
  'ours-other',
  'ours-null',
  'duplicate',
  'anchor',
  'tag',
  'multi-line-plain',
  'block-scalar-value',
  'deep-comment',
  'next-line-flow',
  'flow-with-ours',
  'part-of-present',
  'part-of-flow',
  'block-scalar-keep',
  'block-scalar-indent',
] as const;
type LabelVariant = (typeof LABEL_VARIANTS)[number];

function mapLines(key: string, variant: LabelVariant, ind: number): string[] {
  const p = pad(ind);
  const c = pad(ind + 2);
  switch (variant) {
    case 'absent':
      return [];
    case 'block':
      return [`${p}${key}:`, `${c}app.kubernetes.io/name: web`, `${c}app: "x"`];
    case 'block-comment':
      return [`${p}${key}:`, `${c}app: web`, `${p}# between keys`, `${c}# indented comment`, `${c}tier: 'y'`];
    case 'block-trailing-comment':
      return [`${p}${key}: # after the key`, `${c}app: web # after a value`, `${c}# trailing`, ''];
    case 'null':
      return [`${p}${key}:`];
    case 'tilde':
      return [`${p}${key}: ~`];
    case 'null-word':
      return [`${p}${key}: null`];
    case 'null-comment':
      return [`${p}${key}: # none yet`];
    case 'empty-flow':
      return [`${p}${key}: {}`];
    case 'flow':
      return [`${p}${key}: {app: x, "b": 'y'}`];
    case 'multi-line-flow':
      return [`${p}${key}: {`, `${c}app: x,`, `${p}}`];
    case 'quoted-keys':
      return [`${p}${key}:`, `${c}"app": x`, `${c}'tier': y`];
    case 'ours-same':
      return [`${p}${key}:`, `${c}helm-tiers.io/tier: "1"`];
    case 'ours-other':
      return [`${p}${key}:`, `${c}app: x`, `${c}helm-tiers.io/tier: three`];
    case 'ours-null':
      return [`${p}${key}:`, `${c}helm-tiers.io/tier:`];
    case 'duplicate':
      return [`${p}${key}:`, `${c}a: b`, `${p}${key}:`, `${c}c: d`];
    case 'anchor':
      return [`${p}${key}: &anchored`, `${c}app: x`];
    case 'tag':
      return [`${p}${key}: !!map`, `${c}app: x`];
    case 'multi-line-plain':
      return [`${p}${key}:`, `${c}description: a plain scalar that goes on`, `${c}  over two lines`];
    case 'block-scalar-value':
      return [`${p}${key}:`, `${c}note: |`, `${c}  --- not a marker`, `${c}  ...`, ''];
    case 'deep-comment':
      return [`${p}${key}:`, `${c}app: x`, `${pad(ind + 6)}# deeper comment`];
    case 'next-line-flow':
      return [`${p}${key}:`, `${c}{}`];
    case 'flow-with-ours':
      return [`${p}${key}: {app: x, helm-tiers.io/tier: "1"}`];
    case 'part-of-present':
      return [`${p}${key}:`, `${c}app.kubernetes.io/part-of: kyverno`, `${c}app: x`];
    case 'part-of-flow':
      return [`${p}${key}: {app.kubernetes.io/part-of: argocd}`];
    case 'block-scalar-keep':
      return [`${p}${key}:`, `${c}note: |+`, `${c}  kept`, '', `${c}  `, ''];
    case 'block-scalar-indent':
      return [`${p}${key}:`, `${c}note: |2-`, `${c}    two spaces first`, `${c}  then none`];
  }
}

const DATA_VARIANTS = [
  'none',
  'block-scalars',
  'folded',
  'quoted',
  'flow-seq',
  'long-line',
  'multi-line-plain',
  'yes-no',
  'nested-seq',
  'empty-value',
  'strip-keep',
  'alias-elsewhere',
  'colon-values',
  'hash-values',
  'tab-in-scalar',
  'sq-multi-line',
  'sq-closing-quote-column-0',
  'dq-multi-line',
  'sq-tab-continuation',
  'sq-end-marker-inside',
  'next-line-values',
  'indicator-plain',
  'plain-continuation-indicators',
] as const;
type DataVariant = (typeof DATA_VARIANTS)[number];

function dataLines(variant: DataVariant, ind: number): string[] {
  const p = pad(ind);
  const c = pad(ind + 2);
  const d = pad(ind + 4);
  switch (variant) {
    case 'none':
      return [];
    case 'block-scalars':
      return [
        `${p}data:`,
        `${c}script: |`,
        `${d}echo ---`,
        `${d}--- x`,
        `${d}...`,
        '',
        `${d}# not a comment`,
        `${c}other: |-`,
        `${d}last`,
      ];
    case 'folded':
      return [`${p}data:`, `${c}text: >`, `${d}folded`, `${d}  more indented`, '', `${d}end`];
    case 'quoted':
      return [
        `${p}data:`,
        `${c}dq: "a \\" b \\u00e9 \\x41 # not a comment"`,
        `${c}sq: 'it''s: fine # too'`,
        `${c}"quoted key": v`,
      ];
    case 'flow-seq':
      return [`${p}args: ["--port=8080", '--x', plain, {a: b}, [1, 2]]`];
    case 'long-line':
      return [`${p}data:`, `${c}long: ${'x'.repeat(5000)}`, `${c}longer: "${'y '.repeat(3000)}"`];
    case 'multi-line-plain':
      return [
        `${p}data:`,
        `${c}desc: first line`,
        `${d}second line`,
        '',
        `${pad(ind + 3)}third, with [brackets]`,
        `${c}next: 1`,
        `${c}last: folded`,
        `${d}at the end`,
      ];
    case 'yes-no':
      return [`${p}data:`, `${c}yes: no`, `${c}mode: 0755`, `${c}on: off`, `${c}'null': ~`];
    case 'nested-seq':
      return [
        `${p}rules:`,
        `${p}- apiGroups: [""]`,
        `${p}  resources:`,
        `${p}  - pods`,
        `${p}  -`,
        `${p}    nested: map`,
        `${p}- "quoted item"`,
        `${p}- |2+`,
        '',
        `${p}    two spaces first`,
        '',
        `${p}- 'multi-line`,
        '',
        `${p}  quoted'`,
      ];
    case 'empty-value':
      return [`${p}data:`, `${c}empty:`, `${c}also: ""`];
    case 'strip-keep':
      return [
        `${p}data:`,
        `${c}keep: |+`,
        `${d}kept`,
        '',
        `${c}indented: |2`,
        `${d}  two`,
        `${c}both: |-2`,
        `${d}  x`,
        `${c}dq: "\\U0001F600 \\U00110000"`,
      ];
    case 'alias-elsewhere':
      return [`${p}data: &d`, `${c}a: b`, `${p}copy: *d`];
    case 'colon-values':
      return [`${p}data:`, `${c}url: http://x:80/y`, `${c}time: 12:30`, `${c}c: a:b`];
    case 'hash-values':
      return [`${p}data:`, `${c}color: "#fff"`, `${c}plain: a#b`, `${c}commented: v # c`];
    case 'tab-in-scalar':
      return [`${p}data:`, `${c}script: |`, `${d}\tindented with a tab`];
    case 'sq-multi-line':
      return [`${p}data:`, `${c}desc: 'first line, it''s`, '', `${d}second # not a comment'`, `${c}next: 1`];
    case 'sq-closing-quote-column-0':
      // What go-yaml (Helm 4) writes for a single-quoted value that ends with a line break.
      return [`${p}data:`, `${c}desc: 'This alert fires.`, '', `${d}Route it: "nowhere".`, '', `'`, `${c}next: 1`];
    case 'dq-multi-line':
      return [`${p}data:`, `${c}dq: "first \\"q\\" \\`, `${d}continued\\tline`, `${d}third"`, `${c}after: x`];
    case 'sq-tab-continuation':
      return [`${p}data:`, `${c}desc: 'a`, `\tb'`];
    case 'sq-end-marker-inside':
      return [`${p}data:`, `${c}desc: 'a`, `...`, `b'`];
    case 'next-line-values':
      return [
        `${p}resources:`,
        `${c}{}`,
        `${p}list:`,
        `${c}[a, "b"]`,
        `${p}scalar:`,
        `${c}value on its own line`,
        `${p}quoted:`,
        `${c}"on its own line"`,
      ];
    case 'indicator-plain':
      return [`${p}data:`, `${c}record: :node_memory:sum`, `${c}q: ?x`, `${c}neg: -1`, `${c}dash: -x`];
    case 'plain-continuation-indicators':
      return [
        `${p}data:`,
        `${c}desc: first`,
        `${d}"UPDATE", [x] - y {z} !t &a *b %c @d \`e\``,
        `${d}- dash`,
        `${c}n: 1`,
      ];
  }
}

const TEMPLATE_VARIANTS = [
  'absent',
  'no-metadata',
  'metadata-no-labels',
  'labels',
  'labels-null',
  'labels-flow',
  'template-null',
  'metadata-empty-flow',
  'labels-next-line-flow',
] as const;
type TemplateVariant = (typeof TEMPLATE_VARIANTS)[number];

function templateLines(variant: TemplateVariant, ind: number): string[] {
  const p = pad(ind);
  const c = pad(ind + 2);
  const d = pad(ind + 4);
  const e = pad(ind + 6);
  const spec = [`${c}spec:`, `${d}containers:`, `${d}- name: app`, `${d}  image: "img:1"`, `${d}  args: ["a", "b"]`];
  switch (variant) {
    case 'absent':
      return [];
    case 'template-null':
      return [`${p}template:`];
    case 'no-metadata':
      return [`${p}template:`, ...spec];
    case 'metadata-no-labels':
      return [`${p}template:`, `${c}metadata:`, `${d}annotations:`, `${e}checksum/config: abc`, ...spec];
    case 'labels':
      return [`${p}template:`, `${c}metadata:`, `${d}labels:`, `${e}app: web`, ...spec];
    case 'labels-null':
      return [`${p}template:`, `${c}metadata:`, `${d}labels:`, ...spec];
    case 'labels-flow':
      return [`${p}template:`, `${c}metadata: {labels: {app: web}}`, ...spec];
    case 'metadata-empty-flow':
      return [`${p}template:`, `${c}metadata: {}`, ...spec];
    case 'labels-next-line-flow':
      return [`${p}template:`, `${c}metadata:`, `${d}labels:`, `${e}{app: web}`, ...spec];
  }
}

const KINDS = [
  'ConfigMap',
  'Deployment',
  'StatefulSet',
  'Job',
  'CronJob',
  'Service',
  'Widget',
  'List',
  'ConfigMapList',
] as const;
const METADATA_VARIANTS = ['block', 'flow', 'absent', 'null', 'name-last', 'quoted-key', 'indent-4'] as const;

interface ObjectShape {
  kind: (typeof KINDS)[number];
  metadata: (typeof METADATA_VARIANTS)[number];
  labels: LabelVariant;
  annotations: LabelVariant;
  helm4: boolean;
  template: TemplateVariant;
  data: DataVariant;
  specFirst: boolean;
  quotedKind: boolean;
  items: ObjectShape[];
}

function objectLines(o: ObjectShape, ind: number): string[] {
  const p = pad(ind);
  const kind = o.quotedKind ? `"${o.kind}"` : o.kind;
  const head = [`${p}apiVersion: ${o.kind === 'Widget' ? 'example.com/v1' : 'v1'}`, `${p}kind: ${kind}`];
  const mi = o.metadata === 'indent-4' ? ind + 4 : ind + 2;
  let metadata: string[];
  switch (o.metadata) {
    case 'absent':
      metadata = [];
      break;
    case 'null':
      metadata = [`${p}metadata:`];
      break;
    case 'flow':
      metadata = [
        `${p}metadata: {name: x${o.helm4 ? ', annotations: {postrenderer.helm.sh/postrender-filename: c/templates/f.yaml}' : ''}}`,
      ];
      break;
    default: {
      const name = `${pad(mi)}name: x   # keep me`;
      const ann = mapLines('annotations', o.annotations, mi);
      if (o.helm4 && ann.length > 1 && !/[{~]|null|#|!|&/.test(ann[0] as string)) {
        ann.splice(1, 0, `${pad(mi + 2)}postrenderer.helm.sh/postrender-filename: c/templates/f.yaml`);
      }
      const body = [...mapLines('labels', o.labels, mi), ...ann];
      const key = o.metadata === 'quoted-key' ? `${p}"metadata":` : `${p}metadata:`;
      metadata = o.metadata === 'name-last' ? [key, ...body, name] : [key, name, ...body];
    }
  }
  let spec: string[] = [];
  if (o.kind === 'CronJob') {
    const t = templateLines(o.template, ind + 6);
    spec = [
      `${p}spec:`,
      `${p}  schedule: "*/5 * * * *"`,
      `${p}  jobTemplate:`,
      `${p}    spec:`,
      ...(t.length ? t : [`${p}      backoffLimit: 1`]),
    ];
  } else if (o.kind !== 'List' && o.kind !== 'ConfigMapList' && o.kind !== 'ConfigMap') {
    spec = [
      `${p}spec:`,
      `${p}  selector:`,
      `${p}    matchLabels:`,
      `${p}      app: web`,
      ...templateLines(o.template, ind + 2),
    ];
  }
  let items: string[] = [];
  if (o.kind === 'List' || o.kind === 'ConfigMapList') {
    items = [`${p}items:`];
    for (const item of o.items) {
      const lines = objectLines(item, 0);
      lines.forEach((l, i) => items.push(i === 0 ? `${p}  - ${l}` : l === '' ? '' : `${p}    ${l}`));
    }
    if (o.items.length === 0) items = [`${p}items: []`];
  }
  const data = dataLines(o.data, ind);
  return o.specFirst
    ? [...head, ...spec, ...items, ...data, ...metadata]
    : [...head, ...metadata, ...spec, ...items, ...data];
}

/** True once in `n` draws. */
const rarely = (n: number) => fc.integer({ min: 1, max: n }).map((i) => i === 1);

const leafObject = fc.record({
  kind: fc.constantFrom(...KINDS.filter((k) => !k.endsWith('List'))),
  metadata: fc.constantFrom(...METADATA_VARIANTS),
  labels: fc.constantFrom(...LABEL_VARIANTS),
  annotations: fc.constantFrom(...LABEL_VARIANTS),
  helm4: fc.boolean(),
  template: fc.constantFrom(...TEMPLATE_VARIANTS),
  data: fc.constantFrom(...DATA_VARIANTS),
  specFirst: fc.boolean(),
  quotedKind: rarely(20),
  items: fc.constant([] as ObjectShape[]),
});

/** Mostly well-behaved objects (the fast path's job) with the odd shape mixed in, weighted toward the common. */
const objectShape: fc.Arbitrary<ObjectShape> = fc.oneof(
  {
    weight: 5,
    arbitrary: leafObject.map((o) => ({
      ...o,
      labels: pick(o.labels),
      annotations: pick(o.annotations),
      metadata: o.metadata === 'indent-4' || o.metadata === 'name-last' ? o.metadata : ('block' as const),
      data: CLEAN_DATA.includes(o.data) ? o.data : ('block-scalars' as const),
      template: o.template === 'labels-null' || o.template === 'labels-flow' ? ('labels' as const) : o.template,
      quotedKind: false,
    })),
  },
  { weight: 2, arbitrary: leafObject },
  {
    weight: 1,
    arbitrary: fc
      .record({
        list: leafObject,
        items: fc.array(leafObject, { minLength: 0, maxLength: 3 }),
        kind: fc.constantFrom('List' as const, 'ConfigMapList' as const),
      })
      .map(({ list, items, kind }) => ({ ...list, kind, items })),
  },
);

const CLEAN_DATA: DataVariant[] = [
  'none',
  'multi-line-plain',
  'block-scalars',
  'folded',
  'quoted',
  'flow-seq',
  'long-line',
  'yes-no',
  'nested-seq',
  'empty-value',
  'colon-values',
  'hash-values',
  'sq-multi-line',
  'sq-closing-quote-column-0',
  'dq-multi-line',
  'next-line-values',
  'indicator-plain',
  'plain-continuation-indicators',
];

/** Common shapes more often: absent or plain block labels. */
function pick(v: LabelVariant): LabelVariant {
  const common: LabelVariant[] = [
    'absent',
    'block',
    'block-comment',
    'block-trailing-comment',
    'deep-comment',
    'block-scalar-value',
  ];
  return common.includes(v) ? v : LABEL_VARIANTS.indexOf(v) % 2 === 0 ? 'block' : 'absent';
}

const SEPARATORS = [
  ...Array<string>(12).fill('---\n# Source: chart/templates/t.yaml\n'),
  '---\n',
  '---\n\n',
  '--- !tagged\n',
  '--- # comment\n',
  '...\n---\n',
];

export interface StreamShape {
  readonly objects: ObjectShape[];
  readonly separators: string[];
  readonly preamble: boolean;
  readonly emptyDocs: boolean[];
  readonly crlf: boolean;
  readonly bom: boolean;
  readonly trailingNewline: boolean;
  readonly endMarker: boolean;
}

export const streamShape: fc.Arbitrary<StreamShape> = fc.record({
  objects: fc.array(objectShape, { minLength: 1, maxLength: 4 }),
  separators: fc.array(fc.constantFrom(...SEPARATORS), { minLength: 4, maxLength: 4 }),
  preamble: fc.boolean(),
  emptyDocs: fc.array(fc.boolean(), { minLength: 4, maxLength: 4 }),
  crlf: rarely(25),
  bom: rarely(25),
  trailingNewline: rarely(10).map((b) => !b),
  endMarker: rarely(25),
});

export function streamText(s: StreamShape): string {
  let out = s.preamble ? '# a comment before the first document\n\n' : '';
  s.objects.forEach((o, i) => {
    if (s.emptyDocs[i]) out += '---\n# Source: chart/templates/empty.yaml\n';
    out += (i === 0 && !s.preamble ? '---\n' : (s.separators[i] ?? '---\n')) + objectLines(o, 0).join('\n') + '\n';
  });
  if (s.endMarker) out += '...\n';
  // Known full-path defect (edit.ts, reported): a null value on the very last line without a line break gets the
  // parent's insertion before its replacement. Only a stream without a final line break can show it; keep one then.
  if (!s.trailingNewline && !/(?::|: ~|: null|# none yet)\n+$/.test(out)) out = out.replace(/\n+$/, '');
  if (s.crlf) out = out.replace(/\n/g, '\r\n');
  if (s.bom) out = '\uFEFF' + out;
  return out;
}

// ---------------------------------------------------------------------------------------------------------------
// Comparison.

export type Outcome = { ok: PostRenderResult } | { error: { code: string; message: string; location: unknown } };

export function outcome(fn: () => PostRenderResult): Outcome {
  try {
    return { ok: fn() };
  } catch (err) {
    if (err instanceof HelmTiersError)
      return { error: { code: err.code, message: err.message, location: err.location } };
    throw err;
  }
}

/** The full path (the reference) and the public entry point (fast path first) on the same input. */
export function bothPaths(input: string, meta: TierMetadata = META) {
  const probe: FastPathProbe = { scanned: 0, fallbacks: [] };
  let fast: PostRenderResult | undefined;
  let fastError: unknown;
  try {
    fast = fastPostRender(input, { meta }, probe);
  } catch (err) {
    fastError = err;
  }
  return {
    full: outcome(() => fullPostRender(input, { meta })),
    public: outcome(() => postRender(input, { meta })),
    fast,
    fastError,
    probe,
  };
}

export const CODES = ErrorCodes;
