/**
 * The scanner's priming corpus (prime.ts): it is only worth its time if every branch it is meant to warm runs on
 * the fast path, and it must never change a render.
 */
import { describe, expect, it } from 'vitest';
import { fastPostRender, fullPostRender, type FastPathProbe } from '../../post-renderer/src/render.js';
import { PRIME_CORPUS, PRIME_MIN_INPUT } from '../../post-renderer/src/prime.js';
import { META } from '../helpers/meta.js';
import { parseStream } from '../helpers/yaml.js';

/** The value at `path` in parsed YAML (undefined where the path does not lead). */
function dig(node: unknown, ...path: (string | number)[]): unknown {
  let at = node;
  for (const step of path)
    at = at !== null && typeof at === 'object' ? (at as Record<string, unknown>)[step] : undefined;
  return at;
}

function fast(input: string) {
  const probe: FastPathProbe = { scanned: 0, fallbacks: [] };
  const result = fastPostRender(input, { meta: META }, probe);
  return { result, probe };
}

describe('priming corpus', () => {
  it('is scanned whole on the fast path, as the full path would write it', () => {
    const { result, probe } = fast(PRIME_CORPUS);
    expect(probe.fallbacks).toEqual([]);
    expect(probe.primed).toBeUndefined(); // far below PRIME_MIN_INPUT
    expect(result?.output).toBe(fullPostRender(PRIME_CORPUS, { meta: META }).output);
    // 7 documents; the List holds 2 objects.
    expect(result?.stats).toEqual({ documents: 7, objects: 8, rewritten: 0 });
  });

  it('warms the branches it is for: pod templates of apps and batch, List items, new and existing maps', () => {
    const docs = parseStream(fast(PRIME_CORPUS).result?.output ?? '');
    const byKind = new Map(docs.map((d) => [dig(d, 'kind') as string, d]));
    const [key, value] = META.labels[0] as readonly [string, string];
    const labelsAt = (kind: string, ...path: (string | number)[]) => dig(byKind.get(kind), ...path, 'labels');
    expect(dig(labelsAt('Deployment', 'spec', 'template', 'metadata'), key)).toBe(value);
    expect(dig(labelsAt('CronJob', 'spec', 'jobTemplate', 'spec', 'template', 'metadata'), key)).toBe(value);
    expect(dig(labelsAt('List', 'items', 0, 'metadata'), key)).toBe(value);
    expect(dig(labelsAt('List', 'items', 1, 'metadata'), key)).toBe(value);
    // A map created (the ConfigMap has no labels) and a map extended (the Service has some).
    expect(dig(labelsAt('ConfigMap', 'metadata'), key)).toBe(value);
    expect(labelsAt('Service', 'metadata')).toMatchObject({ 'app.kubernetes.io/name': 'app', [key]: value });
  });

  it('runs before a large input and leaves its render equal to the full path', () => {
    const copies = Math.ceil(PRIME_MIN_INPUT / PRIME_CORPUS.length);
    const input = PRIME_CORPUS.repeat(copies);
    expect(input.length).toBeGreaterThanOrEqual(PRIME_MIN_INPUT);
    const { result, probe } = fast(input);
    expect(probe.primed).toBe(true);
    expect(probe.fallbacks).toEqual([]);
    expect(result?.output).toBe(fullPostRender(input, { meta: META }).output);
    expect(result?.stats.objects).toBe(8 * copies);
  });
});
