/**
 * Documents the scanner leaves to the full path are parsed and rendered alone, one by one: an alias, a merge key
 * or `metadata: {}` in one document costs the parse of that document, never of the stream (issue 7). A document
 * re-serialized through the document model keeps its header byte for byte (`---`, Helm 3's `# Source:` line, the
 * template's own comments): Helm splits the manifest at `---` and reads the `# Source:` line after it, so that
 * line moving before the marker attaches the object to the previous template (`helm template --show-only` then
 * fails with "could not find template").
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  fastPostRender,
  fullPostRender,
  postRender,
  type FastPathProbe,
  type PostRenderOptions,
} from '../../post-renderer/src/render.js';
import { ROOT } from '../helpers/helm.js';
import { META } from '../helpers/meta.js';
import { expectedStream, parseStream } from '../helpers/yaml.js';
import { genRender } from './scan-corpus.js';

const options: PostRenderOptions = { meta: META };

/** A manifest split like Helm splits it: at `---` lines, each document's text kept exactly (marker excluded). */
function helmDocuments(stream: string): string[] {
  return stream.split(/^---\n/m);
}

/** The fast path with its probe: which documents the scanner took and which fell back (stream indexes). */
function probed(input: string) {
  const probe: FastPathProbe = { scanned: 0, fallbacks: [] };
  const result = fastPostRender(input, options, probe);
  return { result, probe };
}

/** Every document but `changed` is byte for byte the same in both streams. */
function expectOthersIdentical(actual: string, reference: string, changed: number): void {
  const a = helmDocuments(actual);
  const r = helmDocuments(reference);
  expect(a.length).toBe(r.length);
  a.forEach((doc, i) => {
    if (i !== changed) expect(doc, `document ${i}`).toBe(r[i]);
  });
  expect(a[changed]).not.toBe(r[changed]);
}

describe('a re-serialized document keeps its header and its place', () => {
  it('Helm 3: `---` and `# Source:` immediately precede the object they name', () => {
    const input = `---
# Source: c/templates/a.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: a
---
# Source: c/templates/b.yaml
# b's own comment
apiVersion: v1
kind: ConfigMap
metadata:
  name: b
data:
  x: &v "1"
  again: *v
# trailing comment of b
---
# Source: c/templates/c.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: c
`;
    const { output, stats } = postRender(input, options);
    expect(stats.rewritten).toBe(1);
    expect(output).toContain(
      `---\n# Source: c/templates/b.yaml\n# b's own comment\napiVersion: "v1"\nkind: "ConfigMap"\n`,
    );
    expect(output).toContain('# trailing comment of b\n---\n# Source: c/templates/c.yaml\n');
    // As Helm reads it: each document's `# Source:` names the template of the object in it.
    const docs = helmDocuments(output).filter((d) => d.trim() !== '');
    expect(docs.map((d) => /^# Source: c\/templates\/(\w)\.yaml$/m.exec(d)?.[1])).toEqual(['a', 'b', 'c']);
    expect(docs.map((d) => (parseStream(d)[0] as { metadata: { name: string } }).metadata.name)).toEqual([
      'a',
      'b',
      'c',
    ]);
    expect(parseStream(output)).toEqual(expectedStream(input, META));
    expect(fastPostRender(input, options)?.output).toBe(output);
  });

  it('Helm 4: the first document (no `---`) and a later one keep their comments, the filename annotation stays', () => {
    const doc = (name: string, extra = '') => `# ${name}'s own comment
apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
  annotations:
    postrenderer.helm.sh/postrender-filename: 'c/templates/${name}.yaml'
data:
  x: &v "1"
${extra}`;
    const input = [doc('a', '  again: *v\n'), doc('b', '  again: *v\n'), doc('c')].join('---\n');
    const { output, stats } = postRender(input, options);
    expect(stats.rewritten).toBe(2);
    expect(output.startsWith(`# a's own comment\napiVersion: "v1"\n`)).toBe(true);
    expect(output).toContain(`---\n# b's own comment\napiVersion: "v1"\n`);
    const docs = helmDocuments(output);
    expect(docs).toHaveLength(3);
    docs.forEach((d, i) => {
      const name = ['a', 'b', 'c'][i] as string;
      expect(d.startsWith(`# ${name}'s own comment\n`), d).toBe(true);
      const obj = parseStream(d)[0] as { metadata: { name: string; annotations: Record<string, string> } };
      expect(obj.metadata.name).toBe(name);
      expect(obj.metadata.annotations['postrenderer.helm.sh/postrender-filename']).toBe(`c/templates/${name}.yaml`);
    });
    expect(parseStream(output)).toEqual(expectedStream(input, META));
    expect(fastPostRender(input, options)?.output).toBe(output);
  });

  it('a document without metadata keeps `---`, its comments and a `...` end marker', () => {
    const input = `---
# Source: c/templates/a.yaml
apiVersion: v1
kind: Namespace
...
---
# Source: c/templates/b.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: b
`;
    const { output, stats } = postRender(input, options);
    expect(stats.rewritten).toBe(1);
    expect(output).toMatch(/^---\n# Source: c\/templates\/a\.yaml\napiVersion: "v1"\nkind: "Namespace"\nmetadata:\n/);
    expect(output).toContain('\n...\n---\n# Source: c/templates/b.yaml\napiVersion: v1\n');
    expect(parseStream(output)).toEqual(expectedStream(input, META));
  });

  it.each([
    ['a JSON object with a comment after it', '{"apiVersion": "v1", "kind": "Namespace"} # c\n'],
    ['a JSON object on the `---` line', '--- {"apiVersion": "v1", "kind": "Namespace"}\n'],
    ['a JSON object at the end without a line break', '---\n{"apiVersion": "v1", "kind": "Namespace"}'],
  ])('%s (no metadata: re-serialized) keeps the documents around it', (_name, doc) => {
    const next = '---\n# Source: c/templates/b.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n';
    const input = doc.endsWith('\n') ? `${doc}${next}` : `${next}${doc}`;
    const { output, stats } = postRender(input, options);
    expect(stats).toEqual({ documents: 2, objects: 2, rewritten: 1 });
    expect(output).toContain(postRender(next, options).output);
    expect(parseStream(output)).toEqual(expectedStream(input, META));
    expect(fastPostRender(input, options)?.output).toBe(output);
  });

  it('CRLF (the whole stream takes the full path): a re-serialized body gets CRLF line ends too', () => {
    const input =
      '---\r\n# Source: c/templates/a.yaml\r\napiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: a\r\n' +
      'data:\r\n  x: &v "1"\r\n  again: *v\r\n---\r\n# Source: c/templates/b.yaml\r\napiVersion: v1\r\nkind: Secret\r\n';
    const { output, stats } = postRender(input, options);
    expect(stats.rewritten).toBe(2);
    expect(output.replace(/\r\n/g, '')).not.toContain('\n');
    expect(output).toContain('---\r\n# Source: c/templates/b.yaml\r\napiVersion: "v1"\r\n');
    expect(parseStream(output)).toEqual(expectedStream(input, META));
  });
});

describe.each([3, 4])('the fixture chart as Helm %i sends it, one document aliased', (major) => {
  const input = readFileSync(join(ROOT, `test/fixtures/post-renderer/tiers-fixture.helm${major}.in.yaml`), 'utf8');
  const reference = postRender(input, options).output;
  const docs = helmDocuments(input);
  // Stream indexes: Helm 3 starts with `---` (an empty first piece of the split), Helm 4 does not.
  const streamIndex = (piece: number) => (major === 3 ? piece - 1 : piece);

  it.each([
    ['the Deployment (selector anchored, template labels aliased)', 'Deployment'],
    ['the ConfigMap (the first document, with a comment before its first key)', 'ConfigMap'],
  ])('%s: only that document changes, and only it falls back', (_name, kind) => {
    const k = docs.findIndex((d) => new RegExp(`^kind: ${kind}$`, 'm').test(d));
    const aliased =
      kind === 'Deployment'
        ? (docs[k] as string)
            .replace('    matchLabels:\n      app: web\n', '    matchLabels: &web\n      app: web\n')
            .replace('      labels:\n        app: web\n', '      labels: *web\n')
        : (docs[k] as string).replace('  enabled: "yes"\n', '  enabled: &yes "yes"\n  again: *yes\n');
    expect(aliased).not.toBe(docs[k]);
    const changed = docs.map((d, i) => (i === k ? aliased : d)).join('---\n');

    const { result, probe } = probed(changed);
    expect(result, 'the fast path renders the stream itself').toBeDefined();
    expect(probe.fallbacks).toEqual([streamIndex(k)]);
    expect(probe.scanned).toBe(result?.stats.documents ? result.stats.documents - 1 : -1);
    expect(result?.stats.rewritten).toBe(1);
    const output = result?.output as string;
    expect(output).toBe(fullPostRender(changed, options).output);
    expect(postRender(changed, options).output).toBe(output);
    expectOthersIdentical(output, reference, k);
    // The aliased document's header (everything before its first key) is unchanged.
    const header = (docs[k] as string).slice(0, (docs[k] as string).indexOf('apiVersion:'));
    expect(helmDocuments(output)[k]?.startsWith(`${header}apiVersion: `)).toBe(true);
    expect(parseStream(output)).toEqual(expectedStream(changed, META));
    if (kind === 'Deployment') {
      const deployment = (parseStream(output) as { kind: string; spec: any }[]).find((o) => o.kind === 'Deployment');
      expect(deployment?.spec.selector.matchLabels).toEqual({ app: 'web' });
      expect(deployment?.spec.template.metadata.labels['helm-tiers.io/tier']).toBe('1');
    }
  });
});

describe('the fallback is per document', () => {
  const configMap = (i: number, data = `  k: v${i}\n`, metadata = '') =>
    `---\n# Source: c/templates/cm${i}.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n${metadata}  name: cm${i}\ndata:\n${data}`;
  const stream = (n: number, odd: number, doc: string) =>
    Array.from({ length: n }, (_, i) => (i === odd ? doc : configMap(i))).join('');

  it.each([
    ['an alias', configMap(120, '  a: &a x\n  b: *a\n')],
    ['a merge key in metadata', configMap(120, undefined, '  <<: {annotations: {note: merged}}\n')],
  ])('%s in one of 200 documents: that one document falls back, the 199 others are scanned', (_name, doc) => {
    const input = stream(200, 120, doc);
    const { result, probe } = probed(input);
    expect(probe).toEqual({ scanned: 199, fallbacks: [120] });
    expect(result?.stats).toEqual({ documents: 200, objects: 200, rewritten: 1 });
    expect(result?.output).toBe(fullPostRender(input, options).output);
    expectOthersIdentical(result?.output as string, postRender(stream(200, -1, ''), options).output, 121);
    expect(parseStream(result?.output as string)).toEqual(expectedStream(input, META));
  });

  it('`...` end markers and directives: the documents they touch are rendered alone, the others scanned', () => {
    const input = [
      configMap(0),
      configMap(1) + '...\n# between\n%YAML 1.1\n',
      configMap(2) + '...\n',
      'apiVersion: v1\nkind: Secret\nmetadata:\n  name: bare\n',
      configMap(3),
    ].join('');
    const { result, probe } = probed(input);
    // Documents: cm0, cm1 (ends with `...`), cm2 (after the directive, ends with `...`), the bare Secret, cm3.
    expect(result?.stats).toEqual({ documents: 5, objects: 5, rewritten: 0 });
    expect(probe).toEqual({ scanned: 3, fallbacks: [1, 2] });
    expect(result?.output).toBe(fullPostRender(input, options).output);
    expect(result?.output).toContain('...\n# between\n%YAML 1.1\n---\n# Source: c/templates/cm2.yaml\n');
  });

  it('a %TAG directive sends the whole stream to the full path (its handles carry over to later documents)', () => {
    const input = `${configMap(0)}...\n%TAG !e! tag:example.com,2026:\n${configMap(1)}${configMap(2)}`;
    expect(probed(input).result).toBeUndefined();
    expect(postRender(input, options).output).toBe(fullPostRender(input, options).output);
  });

  it.skipIf(!genRender(1))(
    'gen-render.mjs, 2,000 objects and one aliased ConfigMap: one document falls back',
    () => {
      const base = genRender(2000) as string;
      const cut = base.indexOf('\n---\n', base.length >> 1) + 1;
      const input = `${base.slice(0, cut)}${configMap(9999, '  a: &a x\n  b: *a\n')}${base.slice(cut)}`;
      const { result, probe } = probed(input);
      const documents = result?.stats.documents ?? 0;
      expect(documents).toBe(2001);
      expect(probe.fallbacks).toHaveLength(1);
      expect(probe.scanned).toBe(2000);
      expect(result?.stats.rewritten).toBe(1);
      const at = probe.fallbacks[0] as number;
      expect(helmDocuments(result?.output as string)[at + 1]).toMatch(/^# Source: c\/templates\/cm9999\.yaml\n/);
      const reference = postRender(base, options).output;
      const out = helmDocuments(result?.output as string);
      expect([...out.slice(0, at + 1), ...out.slice(at + 2)].join('---\n')).toBe(reference);
    },
    120_000,
  );
});
