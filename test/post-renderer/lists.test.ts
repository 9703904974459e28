/**
 * Which documents are Lists (targets.ts `isListDocument`, one rule for the editor, the document model and the
 * scanner): `kind: List`, or a kind ending in `List` whose `items` is a sequence of objects. Any other kind ending
 * in `List` is a custom resource like any other and gets labels: `IPAllowList` with a `spec`, `PortList` with
 * `items: [80, 443]`. Each shape is checked on the full path, on the fast path (with the scanner's probe: these
 * shapes are the scanner's own, no fallback) and against the document model; and against real kustomize, which
 * Flux runs with our patches.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../core/errors.js';
import { exec, toolchain } from '../../core/helm.js';
import { fluxLikeKustomization, kustomizePatches } from '../../flux/patches.js';
import { fastPostRender, fullPostRender, postRender, type FastPathProbe } from '../../post-renderer/src/render.js';
import { ROOT } from '../helpers/helm.js';
import { LABEL_KEYS, META } from '../helpers/meta.js';
import { expectedStream, parseStream } from '../helpers/yaml.js';
import { errorOf } from '../helpers/errors.js';

type Obj = Record<string, any>;
const options = { meta: META };

const head = (kind: string) => `---\n# Source: c/templates/x.yaml\napiVersion: example.com/v1\nkind: ${kind}\n`;
const SHAPES = {
  'IPAllowList with a spec, no items': `${head('IPAllowList')}metadata:\n  name: allow\nspec:\n  cidrs:\n  - 10.0.0.0/8\n`,
  'PortList with items: [80, 443]': `${head('PortList')}metadata:\n  name: ports\nitems: [80, 443]\n`,
  'PortList with a block sequence of numbers': `${head('PortList')}metadata:\n  name: ports\nitems:\n- 80\n- 443\n`,
  'RuleList whose items are mappings without kind': `${head('RuleList')}metadata:\n  name: rules\nitems:\n- host: a\n  port: 80\n`,
  'RuleList whose items are mappings, one without apiVersion': `${head('RuleList')}metadata:\n  name: rules\nitems:\n- apiVersion: v1\n  kind: Rule\n- kind: Rule\n`,
};

/** The public entry point, the fast path (with the scanner's probe) and the full path on one input. */
function allPaths(input: string) {
  const probe: FastPathProbe = { scanned: 0, fallbacks: [] };
  return {
    public: postRender(input, options),
    fast: fastPostRender(input, options, probe),
    full: fullPostRender(input, options),
    probe,
  };
}

describe('a kind ending in List that holds no objects is one object and gets labels', () => {
  it.each(Object.entries(SHAPES))('%s, alone in the stream (full path, fast path, model)', (_name, input) => {
    const r = allPaths(input);
    expect(r.public.stats).toEqual({ documents: 1, objects: 1, rewritten: 0 });
    const [obj] = parseStream(r.public.output) as [Obj];
    expect(Object.keys(obj.metadata.labels)).toEqual(LABEL_KEYS);
    expect(obj.items).toEqual((parseStream(input)[0] as Obj).items);
    expect(r.full).toEqual(r.public);
    expect(r.fast).toEqual(r.public);
    expect(r.probe).toEqual({ scanned: 1, fallbacks: [] });
    expect(parseStream(r.public.output)).toEqual(expectedStream(input, META));
  });
});

describe('a List of objects: each item gets labels, not the List', () => {
  it.each([
    ['List', 'v1'],
    ['ConfigMapList', 'v1'],
  ])('kind: %s', (kind, apiVersion) => {
    const input = `---\napiVersion: ${apiVersion}\nkind: ${kind}\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: a\n- apiVersion: v1\n  kind: Secret\n  metadata:\n    name: b\n`;
    const r = allPaths(input);
    expect(r.public.stats.objects).toBe(2);
    const [list] = parseStream(r.public.output) as [Obj];
    expect(list.metadata).toBeUndefined();
    for (const item of list.items as Obj[]) expect(Object.keys(item.metadata.labels)).toEqual(LABEL_KEYS);
    expect(r.full).toEqual(r.public);
    expect(r.fast).toEqual(r.public);
    expect(r.probe).toEqual({ scanned: 1, fallbacks: [] });
    expect(parseStream(r.public.output)).toEqual(expectedStream(input, META));
  });

  it('a kind ending in List with `items: []` is an empty List: no objects (alone: E_INPUT_EMPTY)', () => {
    const input = `${head('IPAllowList')}metadata:\n  name: allow\nitems: []\n`;
    expect(errorOf(() => postRender(input, options)).code).toBe(ErrorCodes.INPUT_EMPTY);
    const withObject = `${input}${head('Widget')}metadata:\n  name: w\n`;
    const r = allPaths(withObject);
    expect(r.public.stats.objects).toBe(1);
    expect(r.fast).toEqual(r.public);
    expect(r.full).toEqual(r.public);
    expect(parseStream(r.public.output)).toEqual(expectedStream(withObject, META));
  });

  it('`kind: List` with items that are no objects, or items that are no sequence, is refused where it is', () => {
    const scalars = errorOf(() => postRender(`${head('List')}items: [80, 443]\n`, options));
    expect(scalars.code).toBe(ErrorCodes.INPUT_NOT_OBJECT);
    expect(scalars.location).toMatchObject({ document: 1, line: 3, field: 'items[0]' });
    const mapping = errorOf(() => postRender(`${head('List')}items:\n  a: b\n`, options));
    expect(mapping.code).toBe(ErrorCodes.INPUT_FIELD_TYPE);
    expect(mapping.location).toMatchObject({ document: 1, line: 4, field: 'items' });
  });
});

/** `kubectl kustomize` with the Flux patch recipe on `render`, as helm-controller runs it; stdout or the error. */
async function kustomize(kubectl: string, render: string): Promise<{ objects?: Obj[]; error?: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'helm-tiers-lists-'));
  writeFileSync(join(dir, 'render.yaml'), render);
  writeFileSync(join(dir, 'kustomization.yaml'), fluxLikeKustomization('render.yaml', kustomizePatches(META)));
  const r = await exec(kubectl, ['kustomize', dir]);
  return r.code === 0 ? { objects: parseStream(r.stdout) as Obj[] } : { error: r.stderr };
}

const sortKeys = (v: unknown): unknown =>
  Array.isArray(v)
    ? v.map(sortKeys)
    : v && typeof v === 'object'
      ? Object.fromEntries(
          Object.entries(v)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([k, x]) => [k, sortKeys(x)]),
        )
      : v;

describe('against kustomize (the Flux post-render path)', () => {
  // kubectl 1.34 carries kustomize 5.7 (Flux 2.9's helm-controller is on the same line); kubectl 1.31 has 5.4.
  const kubectl57 = toolchain(ROOT, 4).kubectl;
  const kubectl54 = toolchain(ROOT, 3).kubectl;
  const ours = (input: string) => parseStream(postRender(input, options).output) as Obj[];

  it('kustomize 5.7 agrees: IPAllowList without items is one labelled object; a List of objects is flattened', async () => {
    const input = `${SHAPES['IPAllowList with a spec, no items']}---\napiVersion: v1\nkind: ConfigMapList\nitems:\n- apiVersion: v1\n  kind: ConfigMap\n  metadata:\n    name: a\n`;
    const k = await kustomize(kubectl57, input);
    expect(k.error).toBeUndefined();
    const [allow, list] = ours(input) as [Obj, Obj];
    // kustomize writes objects in its own order (kind first): compare as sets.
    const byKind = (a: Obj, b: Obj) => String(a.kind).localeCompare(String(b.kind));
    expect(sortKeys(k.objects?.sort(byKind))).toEqual(sortKeys([allow, ...(list.items as Obj[])].sort(byKind)));
  });

  it('where kustomize differs (recorded, so that a change of either side shows)', async () => {
    // kustomize 5.4 drops a kind ending in List without items from its output altogether (5.7 fixed it).
    expect(await kustomize(kubectl54, SHAPES['IPAllowList with a spec, no items'])).toEqual({ objects: [] });
    // Both kustomize versions refuse a kind ending in List whose items are no objects; we label the object.
    for (const kubectl of [kubectl54, kubectl57]) {
      for (const shape of [
        SHAPES['PortList with items: [80, 443]'],
        SHAPES['RuleList whose items are mappings without kind'],
      ]) {
        expect((await kustomize(kubectl, shape)).error).toMatch(/missing Resource metadata/);
      }
      // `items: []`: kustomize drops the object, we leave it unlabelled (Helm's client flattens it to nothing too).
      expect(await kustomize(kubectl, `${head('IPAllowList')}metadata:\n  name: allow\nitems: []\n`)).toEqual({
        objects: [],
      });
    }
  });
});
