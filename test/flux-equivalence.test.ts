/**
 * Equivalence proof: what Flux produces with the generated HelmRelease's kustomize patches is exactly what the
 * post-renderer produces, object for object and key for key.
 *
 * Flux's way (FACTS.md): Helm's render, verbatim, is the only resource of a kustomization whose patches are the
 * HelmRelease's `postRenderers[].kustomize.patches`, built by the same kustomize engine as `kubectl kustomize`.
 * With `postRenderStrategy: combined` the hooks are part of that render, so they are here too. The renders come
 * from real Helm 3.17.3 and 4.1.4 (`helm template`, no post-renderer); kustomize is the real one inside kubectl
 * 1.31 (kustomize 5.4.2) for the Helm 3 toolchain and kubectl 1.34 (kustomize 5.7.1) for Helm 4.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { createHelmHarness, exec, type HelmHarness, type HelmMajor, type Toolchain } from '../core/helm.js';
import { generateFluxResources, helmReleaseFileName, type FluxOptions } from '../flux/generate.js';
import { fluxLikeKustomization, type KustomizePatch } from '../flux/patches.js';
import { tierMetadata } from '../core/labels.js';
import { identityFor } from '../plan/metadata.js';
import { findComponent, parsePlan, type Values } from '../plan/plan.js';
import { postRender } from '../post-renderer/src/render.js';
import { FIXTURE_CHART, PLAN, requireBuild, ROOT } from './helpers/helm.js';
import { parseStream } from './helpers/yaml.js';

type Obj = Record<string, any>;
const plan = parsePlan(readFileSync(PLAN, 'utf8'), 'plan.yaml');
const RELEASES = plan.components.map((c) => c.release);
const MASTER = join(ROOT, 'charts/master-chart');
const chartValues = { './charts/master-chart': parse(readFileSync(join(MASTER, 'values.yaml'), 'utf8')) as Values };

/** The patches of the generated HelmRelease of `release`, read back from the generated YAML. */
function generatedPatches(release: string, options: Partial<FluxOptions> = {}): KustomizePatch[] {
  const files = generateFluxResources(plan, { chartValues, ...options });
  const hr = parse(files.get(helmReleaseFileName(plan, findComponent(plan, release))) as string) as Obj;
  return hr.spec.postRenderers[0].kustomize.patches as KustomizePatch[];
}

/** Objects of a stream, `kind: List` expanded (kustomize expands them), sorted by kind/namespace/name. */
function objectsOf(stream: string): Obj[] {
  const key = (o: Obj) => `${o.kind}/${o.metadata?.namespace ?? ''}/${o.metadata?.name}`;
  return (parseStream(stream) as Obj[])
    .flatMap((o) => (String(o.kind).endsWith('List') && Array.isArray(o.items) ? (o.items as Obj[]) : [o]))
    .sort((a, b) => key(a).localeCompare(key(b)));
}

async function kustomize(tc: Toolchain, render: string, patches: KustomizePatch[]): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'helm-tiers-flux-eq-'));
  writeFileSync(join(dir, 'render.yaml'), render);
  writeFileSync(join(dir, 'kustomization.yaml'), fluxLikeKustomization('render.yaml', patches));
  const r = await exec(tc.kubectl, ['kustomize', dir]);
  if (r.code !== 0) throw new Error(`kubectl kustomize failed: ${r.stderr}`);
  return r.stdout;
}

const isHook = (o: Obj) => Boolean(o.metadata?.annotations?.['helm.sh/hook']);

describe.each([3, 4] as const)('Helm %i render + kubectl kustomize = post-renderer', (major: HelmMajor) => {
  let tc: Toolchain;
  let env: Record<string, string>;
  const template = (release: string, chart: string, extra: string[] = []) =>
    exec(tc.helm, ['template', release, chart, '-n', findComponent(plan, release).namespace, ...extra], { env });

  let helm: HelmHarness | undefined;
  beforeAll(async () => {
    helm = await createHelmHarness({ root: ROOT, major, postRenderer: false });
    tc = helm.tools;
    env = { ...helm.env };
  });
  afterAll(() => helm?.dispose());

  it('custom resources named like workloads get object metadata only, on both sides', async () => {
    // A `spec.template` that is no pod template, and a look-alike without any template: strategic merge would create
    // one if the patch selected by kind alone, the post-renderer never does; both select by group and kind.
    const render = [
      'apiVersion: example.com/v1\nkind: Deployment\nmetadata:\n  name: cr-with-template\nspec:\n  template:\n    name: t\n',
      'apiVersion: example.com/v1\nkind: Deployment\nmetadata:\n  name: cr-without-template\nspec:\n  size: 1\n',
      'apiVersion: example.com/v1\nkind: CronJob\nmetadata:\n  name: cr-cron\nspec:\n  schedule: daily\n',
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: real\nspec:\n  selector:\n    matchLabels: {app: real}\n' +
        '  template:\n    metadata:\n      labels: {app: real}\n    spec:\n      containers: [{name: c, image: x}]\n',
    ].join('---\n');
    const meta = tierMetadata(identityFor(plan, 'tier3-api'));
    const flux = objectsOf(await kustomize(tc, render, generatedPatches('tier3-api')));
    const ours = objectsOf(postRender(render, { meta }).output);
    expect(flux).toEqual(ours);
    const byName = new Map(flux.map((o) => [o.metadata.name as string, o]));
    expect(byName.get('cr-with-template')?.spec).toEqual({ template: { name: 't' } });
    expect(byName.get('cr-without-template')?.spec).toEqual({ size: 1 });
    expect(byName.get('cr-cron')?.spec).toEqual({ schedule: 'daily' });
    for (const o of flux) expect(o.metadata.labels?.['helm-tiers.io/tier'], o.metadata.name).toBe('3');
    expect(byName.get('real')?.spec.template.metadata.labels['helm-tiers.io/tier']).toBe('3');
  });

  it.each(RELEASES)('fixture chart as %s: same objects, key for key', async (release) => {
    const r = await template(release, FIXTURE_CHART);
    expect(r.code, r.stderr).toBe(0);
    const meta = tierMetadata(identityFor(plan, release));
    const flux = objectsOf(await kustomize(tc, r.stdout, generatedPatches(release)));
    const ours = objectsOf(postRender(r.stdout, { meta }).output);
    expect(flux).toEqual(ours);
    // The comparison is not vacuous: every object, hooks included (combined strategy), carries the labels.
    expect(flux.some(isHook)).toBe(true);
    expect(flux.map((o) => o.kind)).toEqual(
      expect.arrayContaining(['ClusterRole', 'CronJob', 'Deployment', 'Job', 'StatefulSet', 'Widget']),
    );
    for (const o of flux)
      expect(o.metadata.labels?.['helm-tiers.io/release'], `${o.kind}/${o.metadata.name}`).toBe(release);
    expect(flux).not.toEqual(objectsOf(r.stdout));
  });

  it.each(RELEASES)('master chart release %s: same objects, key for key', async (release) => {
    const dir = mkdtempSync(join(tmpdir(), 'helm-tiers-flux-values-'));
    // The values the generated HelmRelease carries, as helm-controller passes them.
    const hr = parse(
      generateFluxResources(plan, { chartValues }).get(
        helmReleaseFileName(plan, findComponent(plan, release)),
      ) as string,
    ) as Obj;
    writeFileSync(join(dir, 'values.json'), JSON.stringify(hr.spec.values));
    const r = await template(release, MASTER, ['-f', join(dir, 'values.json')]);
    expect(r.code, r.stderr).toBe(0);
    const meta = tierMetadata(identityFor(plan, release));
    const flux = objectsOf(await kustomize(tc, r.stdout, generatedPatches(release)));
    const ours = objectsOf(postRender(r.stdout, { meta }).output);
    expect(flux.length).toBeGreaterThan(0);
    expect(flux).toEqual(ours);
    for (const o of flux)
      expect(o.metadata.labels?.['helm-tiers.io/tier'], `${o.kind}/${o.metadata.name}`).toBe(
        String(findComponent(plan, release).tier),
      );
  });

  // The plan revision (plan/revision.ts) as both paths write it: the generator's revision in the HelmRelease values
  // (so the chart annotates its hooks) and in the patches, `post-render --plan-revision` on the CLI path.
  it.each(RELEASES)(
    'master chart release %s with a plan revision: same objects, each annotated with it',
    async (release) => {
      const rev = '0123456789abcdef';
      const dir = mkdtempSync(join(tmpdir(), 'helm-tiers-flux-values-'));
      const files = generateFluxResources(plan, { chartValues, planRevision: rev });
      const hr = parse(files.get(helmReleaseFileName(plan, findComponent(plan, release))) as string) as Obj;
      writeFileSync(join(dir, 'values.json'), JSON.stringify(hr.spec.values));
      const r = await template(release, MASTER, ['-f', join(dir, 'values.json')]);
      expect(r.code, r.stderr).toBe(0);
      const meta = tierMetadata({ ...identityFor(plan, release), planRevision: rev });
      const patches = hr.spec.postRenderers[0].kustomize.patches as KustomizePatch[];
      const flux = objectsOf(await kustomize(tc, r.stdout, patches));
      const ours = objectsOf(postRender(r.stdout, { meta }).output);
      expect(flux.length).toBeGreaterThan(0);
      expect(flux).toEqual(ours);
      for (const o of flux) {
        const id = `${o.kind}/${o.metadata.name}`;
        expect(o.metadata.annotations?.['helm-tiers.io/plan-revision'], id).toBe(rev);
        // Object metadata only: a pod template change would restart pods on every revision.
        expect(o.spec?.template?.metadata?.annotations?.['helm-tiers.io/plan-revision'], id).toBeUndefined();
      }
      // Not vacuous: hooks (the chart's own annotation) and workloads (the patches' and the post-renderer's) alike.
      expect(flux.some(isHook)).toBe(true);
      expect(flux.some((o) => !isHook(o) && o.spec?.template)).toBe(true);
    },
  );
});

describe('Argo CD and kapp ordering: post-renderer flags = generated patches', () => {
  let tc: Toolchain;
  let env: Record<string, string>;
  let helm: HelmHarness | undefined;
  beforeAll(async () => {
    requireBuild();
    helm = await createHelmHarness({ root: ROOT, major: 4, postRenderer: false });
    tc = helm.tools;
    env = { ...helm.env };
  });
  afterAll(() => helm?.dispose());

  const expected: Record<string, Record<string, string>> = {
    'tier1-database': { 'argocd.argoproj.io/sync-wave': '1', 'kapp.k14s.io/change-group': 'platform/tier1-database' },
    'tier2-cache': {
      'argocd.argoproj.io/sync-wave': '2',
      'kapp.k14s.io/change-group': 'platform/tier2-cache',
      'kapp.k14s.io/change-rule': 'upsert after upserting platform/tier1-database',
    },
    'tier3-api': {
      'argocd.argoproj.io/sync-wave': '3',
      'kapp.k14s.io/change-group': 'platform/tier3-api',
      'kapp.k14s.io/change-rule': 'upsert after upserting platform/tier1-database',
      'kapp.k14s.io/change-rule.1': 'upsert after upserting platform/tier2-cache',
    },
    'tier4-frontend': {
      'argocd.argoproj.io/sync-wave': '4',
      'kapp.k14s.io/change-group': 'platform/tier4-frontend',
      'kapp.k14s.io/change-rule': 'upsert after upserting platform/tier3-api',
    },
    monitoring: { 'argocd.argoproj.io/sync-wave': '0', 'kapp.k14s.io/change-group': 'platform/monitoring' },
    kyverno: { 'argocd.argoproj.io/sync-wave': '0', 'kapp.k14s.io/change-group': 'platform/kyverno' },
  };

  it.each(RELEASES)(
    '%s: `post-render --argocd --kapp` and the generated patches agree on the expected values',
    async (release) => {
      const render = await exec(tc.helm, ['template', release, FIXTURE_CHART, '-n', 'apps'], { env });
      expect(render.code, render.stderr).toBe(0);
      // The real post-renderer program with its flags, as Helm runs it.
      const pr = await exec(
        process.execPath,
        [join(ROOT, 'dist/post-renderer.cjs'), `--plan=${PLAN}`, `--release=${release}`, '--argocd', '--kapp'],
        {
          env: { ...env, HELM_TIERS_LOG_FILE: join(env.HOME as string, 'pr.log') },
          input: render.stdout,
        },
      );
      expect(pr.code, pr.stderr).toBe(0);
      const ours = objectsOf(pr.stdout);
      const flux = objectsOf(
        await kustomize(tc, render.stdout, generatedPatches(release, { argocd: true, kapp: true })),
      );
      expect(flux).toEqual(ours);
      for (const o of flux) {
        const ordering = Object.fromEntries(
          Object.entries(o.metadata.annotations as Record<string, string>).filter(
            ([k]) => k.startsWith('argocd.') || k.startsWith('kapp.'),
          ),
        );
        expect(ordering, `${o.kind}/${o.metadata.name}`).toEqual(expected[release]);
        // Ordering annotations belong on objects, never on pod templates (a change would restart pods).
        expect(JSON.stringify(o.spec?.template?.metadata ?? {})).not.toMatch(/argocd|kapp/);
      }
    },
  );

  it('`post-render --plan-revision` and the patches generated with that revision agree, key for key', async () => {
    const rev = 'fedcba9876543210';
    const render = await exec(tc.helm, ['template', 'tier3-api', FIXTURE_CHART, '-n', 'apps'], { env });
    expect(render.code, render.stderr).toBe(0);
    const pr = await exec(
      process.execPath,
      [join(ROOT, 'dist/post-renderer.cjs'), `--plan=${PLAN}`, '--release=tier3-api', `--plan-revision=${rev}`],
      { env: { ...env, HELM_TIERS_LOG_FILE: join(env.HOME as string, 'pr.log') }, input: render.stdout },
    );
    expect(pr.code, pr.stderr).toBe(0);
    const ours = objectsOf(pr.stdout);
    const flux = objectsOf(await kustomize(tc, render.stdout, generatedPatches('tier3-api', { planRevision: rev })));
    expect(flux).toEqual(ours);
    expect(flux.length).toBeGreaterThan(0);
    for (const o of flux) expect(o.metadata.annotations['helm-tiers.io/plan-revision'], o.metadata.name).toBe(rev);
    // Without a revision, neither writes the key (the output stays what it was).
    expect(JSON.stringify(objectsOf(await kustomize(tc, render.stdout, generatedPatches('tier3-api'))))).not.toContain(
      'plan-revision',
    );
  });

  it('without the options neither writes ordering annotations', async () => {
    const render = await exec(tc.helm, ['template', 'tier3-api', FIXTURE_CHART, '-n', 'apps'], { env });
    expect(render.code, render.stderr).toBe(0);
    const pr = await exec(
      process.execPath,
      [join(ROOT, 'dist/post-renderer.cjs'), `--plan=${PLAN}`, '--release=tier3-api'],
      { env: { ...env, HELM_TIERS_LOG_FILE: join(env.HOME as string, 'pr.log') }, input: render.stdout },
    );
    expect(pr.code, pr.stderr).toBe(0);
    const flux = objectsOf(await kustomize(tc, render.stdout, generatedPatches('tier3-api')));
    expect(flux.length).toBeGreaterThan(0);
    // Both still write the tier metadata; neither adds ordering annotations.
    for (const out of [pr.stdout, JSON.stringify(flux)]) {
      expect(out).toContain('helm-tiers.io/tier');
      expect(out).not.toMatch(/argocd\.argoproj\.io|kapp\.k14s\.io/);
    }
  });
});
