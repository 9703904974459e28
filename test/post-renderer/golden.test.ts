/**
 * Golden files: the fixture chart as real Helm 3 and Helm 4 send it to a post-renderer (captured with
 * `helm template`, the Helm 4 one through a tee plugin), and the exact bytes the post-renderer must write for
 * tier3-api of the example plan. Regenerate: see the commands in the commit that added them; review the diff.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { tierMetadata } from '../../core/labels.js';
import { identityFor } from '../../plan/metadata.js';
import { parsePlan } from '../../plan/plan.js';
import { fastPostRender, postRender, type FastPathProbe } from '../../post-renderer/src/render.js';
import { ROOT } from '../helpers/helm.js';
import { expectedStream, parseStream } from '../helpers/yaml.js';

const dir = join(ROOT, 'test/fixtures/post-renderer');
const plan = parsePlan(readFileSync(join(ROOT, 'plan.yaml'), 'utf8'), 'plan.yaml');
const meta = tierMetadata(identityFor(plan, 'tier3-api'));

describe.each([3, 4])('golden: the fixture chart as Helm %i sends it', (major) => {
  const input = readFileSync(join(dir, `tiers-fixture.helm${major}.in.yaml`), 'utf8');
  const golden = readFileSync(join(dir, `tiers-fixture.helm${major}.out.yaml`), 'utf8');

  it('renders to the golden bytes, every document on the fast path', () => {
    const result = postRender(input, { meta });
    expect(result.output).toBe(golden);
    expect(result.warnings).toEqual([]);
    expect(result.stats.rewritten).toBe(0);
    // The fast path itself gives these bytes, for every document: the StatefulSet's flow-style labels
    // (`labels: {app: db}`) included.
    const probe: FastPathProbe = { scanned: 0, fallbacks: [] };
    expect(fastPostRender(input, { meta }, probe)?.output).toBe(golden);
    const documents = input.split(/^---$/m).filter((d) => d.trim() !== '');
    const statefulSet = documents.findIndex((d) => /^kind: StatefulSet$/m.test(d));
    expect(documents[statefulSet]).toMatch(/^ {2}labels: \{app: db\}$/m);
    expect(probe).toEqual({ scanned: documents.length, fallbacks: [] });
    expect(result.stats.documents).toBe(documents.length);
  });

  it('only inserts: the input is a subsequence of the output, character by character', () => {
    let i = 0;
    for (let j = 0; j < golden.length && i < input.length; j++) if (golden[j] === input[i]) i++;
    expect(i, `input unchanged up to offset ${i}`).toBe(input.length);
  });

  it('means what the document model says it must', () => {
    expect(parseStream(golden)).toEqual(expectedStream(input, meta));
  });
});
