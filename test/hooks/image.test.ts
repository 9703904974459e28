// The hook image recipe: pinned CRD list with checksums that match the verified copies, and a Dockerfile whose
// final stage is distroless Node 20, non-root, with every bundle where the chart expects it (/app/<program>.cjs).
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { PROFILES } from '../../hooks/src/crd/selection.js';
import { HOOKS, repoRoot, sharedCrds } from './support.js';

const list = readFileSync(join(repoRoot, 'images/hooks/crds.sha256'), 'utf8')
  .split('\n')
  .filter((l) => l.trim() && !l.startsWith('#'))
  .map((l) => {
    const [sum = '', url = ''] = l.trim().split(/\s+/);
    return { sum, url, file: url.slice(url.lastIndexOf('/') + 1) };
  });
const dockerfile = readFileSync(join(repoRoot, 'images/hooks/Dockerfile'), 'utf8');

describe('hook image', () => {
  it('pins every CRD by https URL at a version tag with a sha256; file names are unique', () => {
    for (const e of list) {
      expect(e.sum).toMatch(/^[0-9a-f]{64}$/);
      expect(e.url).toMatch(/^https:\/\/raw\.githubusercontent\.com\/[^/]+\/[^/]+\/v\d+\.\d+\.\d+\//);
    }
    expect(new Set(list.map((e) => e.file)).size).toBe(list.length);
  });

  it('ships a manifest for every required CRD of every profile', () => {
    const files = new Set(list.map((e) => e.file));
    for (const p of Object.values(PROFILES)) {
      for (const ref of p.required) {
        const name = ref.split('@')[0] ?? ref;
        const dot = name.indexOf('.');
        expect(files, name).toContain(`${name.slice(dot + 1)}_${name.slice(0, dot)}.yaml`);
      }
    }
  });

  it('checksums match the verified copies in ../shared/crds (skips without them)', (ctx) => {
    if (!existsSync(sharedCrds)) ctx.skip(`no ${sharedCrds}: shared test data absent`);
    for (const e of list) {
      const dir = e.url.includes('/v1.12.')
        ? 'kyverno-1.12'
        : e.url.includes('kyverno')
          ? 'kyverno'
          : 'prometheus-operator';
      const local = join(sharedCrds, dir, e.file);
      expect(existsSync(local), local).toBe(true);
      expect(createHash('sha256').update(readFileSync(local)).digest('hex'), e.file).toBe(e.sum);
    }
  });

  it('final stage: distroless nodejs20 non-root, bundles in /app, CRDs in /crds', () => {
    const stages = dockerfile.split(/^FROM /m);
    const final = stages[stages.length - 1] ?? '';
    expect(dockerfile).toMatch(/ARG RUNTIME_IMAGE=gcr\.io\/distroless\/nodejs20-debian12:nonroot/);
    expect(final).toMatch(/^\$\{RUNTIME_IMAGE\}/);
    expect(final).toMatch(/^USER 65532:65532$/m);
    for (const h of HOOKS) expect(final).toContain(`/src/dist/hooks/${h}.cjs`);
    expect(final).toMatch(/ \/app\/$/m);
    expect(final).toContain('/crds/');
    expect(stages.length - 1).toBeGreaterThanOrEqual(2);
  });
});
