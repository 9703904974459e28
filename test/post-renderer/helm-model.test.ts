/**
 * Real Helm 3 and Helm 4 on a chart one of whose templates goes through the document model (an alias): the
 * re-serialized document keeps `---`, the `# Source:` line and its own comments in front of it, so Helm still
 * attributes the object to its template (`--show-only` failed with "could not find template" when the
 * `# Source:` line was written before the `---`, attaching it to the previous document).
 */
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { helmHarness, postRendererArgs } from '../helpers/helm.js';
import { parseStream } from '../helpers/yaml.js';

type Obj = Record<string, any>;

function chart(): string {
  const dir = mkdtempSync(join(tmpdir(), 'helm-tiers-model-chart-'));
  mkdirSync(join(dir, 'templates'));
  writeFileSync(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: c\nversion: 0.1.0\n');
  const configMap = (name: string, data: string) =>
    `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\ndata:\n${data}`;
  writeFileSync(join(dir, 'templates/a.yaml'), configMap('a', '  x: "1"\n'));
  writeFileSync(join(dir, 'templates/b.yaml'), `# b's own comment\n${configMap('b', '  x: &v "1"\n  again: *v\n')}`);
  writeFileSync(join(dir, 'templates/c.yaml'), configMap('c', '  x: "3"\n'));
  return dir;
}

describe.each([3, 4] as const)('Helm %i: a re-serialized document stays with its template', (major) => {
  it('`helm template --show-only` finds it, with our labels and its own comment', async () => {
    const h = await helmHarness(major);
    const args = [
      'template',
      'r',
      chart(),
      '--post-renderer',
      h.postRenderer,
      ...postRendererArgs('--release=r', '--component=c', '--tier=1'),
    ];
    const only = await h.helm([...args, '--show-only', 'templates/b.yaml']);
    expect(only.code, only.stderr).toBe(0);
    expect(only.stdout).toContain(`# Source: c/templates/b.yaml\n# b's own comment\napiVersion: "v1"\n`);
    const [b] = parseStream(only.stdout) as [Obj];
    expect(b.metadata.name).toBe('b');
    expect(b.data).toEqual({ x: '1', again: '1' });
    expect(b.metadata.labels['helm-tiers.io/tier']).toBe('1');

    // The whole render: every `# Source:` line names the template of the object in its document.
    const all = await h.helm(args);
    expect(all.code, all.stderr).toBe(0);
    const docs = all.stdout.split(/^---\n/m).filter((d) => d.trim() !== '');
    expect(docs).toHaveLength(3);
    for (const doc of docs) {
      const source = /^# Source: c\/templates\/(\w+)\.yaml$/m.exec(doc)?.[1];
      expect((parseStream(doc)[0] as Obj).metadata.name, doc).toBe(source);
    }
  }, 60_000);
});
