// Every real-chart render of /work/shared/corpus, labelled by helm-tiers (the built post-renderer, with and without
// `partOfLabel: true`, and the Flux way through the generated kustomize patches), is accepted by the real
// kube-apiserver v1.36.3: `kubectl apply --server-side --dry-run=server` with kubectl 1.34, after the render's own
// CRDs were applied for real and are Established. The server's answer keeps our labels. And it can fail: the same
// render with one pod template label made invalid is refused.
//
// The CRDs a render needs are not all in the corpus: kube-prometheus-stack keeps the prometheus-operator CRDs in its
// `crds/` folder, which `helm template` leaves out (and which is never post-rendered), and cert-manager's and
// ingress-nginx's ServiceMonitors use them too. They are applied from ../shared/crds/prometheus-operator (v0.93, the
// operator version of the chart's appVersion v0.93.1), as a real install applies `crds/` before the render.
import { copyFileSync, existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeBinDir, startControlPlane, type ControlPlane } from '../../cluster/real/control-plane.js';
import { exec, toolchainPaths } from '../../core/helm.js';
import { oracleStatus, yamlToJson } from '../conformance/oracle.js';
import { ensureBuilt, fluxPatches, fluxPath, postRendererPath, RELEASE, type PathSpec } from '../conformance/paths.js';

type Obj = Record<string, any>;

const root = resolve(import.meta.dirname, '../..');
const SHARED = resolve(root, '../shared');
const CORPUS = join(SHARED, 'corpus');
const OPERATOR_CRDS = join(SHARED, 'crds/prometheus-operator');
const PLAN = join(root, 'plan.yaml');
const KUBECTL = toolchainPaths(root, 4).kubectl;
const PREFIX = 'helm-tiers.io/';
const NS = 'apps';
const binDir = kubeBinDir(root);
const oracle = oracleStatus(root);

const files = existsSync(CORPUS)
  ? readdirSync(CORPUS)
      .filter((d) => statSync(join(CORPUS, d)).isDirectory())
      .sort()
      .flatMap((c) =>
        readdirSync(join(CORPUS, c))
          .filter((f) => /^helm\d+\.yaml$/.test(f))
          .sort()
          .map((f) => `${c}/${f}`),
      )
  : [];
const operatorCrds = existsSync(OPERATOR_CRDS)
  ? readdirSync(OPERATOR_CRDS)
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .map((f) => join(OPERATOR_CRDS, f))
  : [];
const missing = [
  ...(binDir === undefined ? ['the control plane (npm run setup:kube)'] : []),
  ...(existsSync(KUBECTL) ? [] : [`${KUBECTL} (npm ci)`]),
  ...(files.length === 0 ? [`the corpus ${CORPUS}`] : []),
  ...(operatorCrds.length === 0 ? [`the prometheus-operator CRDs ${OPERATOR_CRDS}`] : []),
  ...(oracle.built ? [] : ['the YAML oracle (npm run setup:yamljson)']),
];
const ready = missing.length === 0;
// In CI anything missing is a failure (beforeAll throws), never a silent skip.
const run = ready || Boolean(process.env.CI);
if (!run) console.warn(`\n*** test/cluster-real/corpus-dry-run.test.ts SKIPPED: missing ${missing.join(', ')}. ***\n`);

const isCrd = (o: Obj) => o.kind === 'CustomResourceDefinition' && String(o.apiVersion).startsWith('apiextensions');
const id = (o: Obj) => `${String(o.kind)}/${String(o.metadata?.namespace ?? '')}/${String(o.metadata?.name)}`;
const ours = (labels: Obj | undefined) =>
  Object.fromEntries(
    Object.entries(labels ?? {}).filter(([k]) => k.startsWith(PREFIX) || k === 'app.kubernetes.io/part-of'),
  );

describe.skipIf(!run)('the labelled corpus on the real API server (server-side dry run)', () => {
  let cp: ControlPlane;
  let dir: string | undefined;
  let kubeconfig: string | undefined;
  // kubectl's discovery cache lives in this run's folder: a cache left in ~/.kube by another run on the same port
  // (free ports come back) must not decide which kinds exist.
  const kubectl = (args: string[], input?: string) =>
    exec(KUBECTL, ['--kubeconfig', kubeconfig ?? cp.kubeconfig, '--cache-dir', join(dir!, 'cache'), ...args], {
      input,
      env: { ...process.env, KUBECONFIG: '' },
    });
  const toJson = async (text: string) =>
    (await yamlToJson(oracle.binary, text)).filter((d): d is Obj => d !== null && typeof d === 'object');
  const patches = () => fluxPatches(root, oracle.binary);
  const paths: PathSpec[] = [
    postRendererPath(root, 'post-renderer', PLAN, false),
    postRendererPath(root, 'post-renderer, partOfLabel: true', PLAN, true),
    fluxPath('flux, kustomize 5.7', KUBECTL, patches),
  ];

  beforeAll(async () => {
    if (!ready) throw new Error(`CI: missing ${missing.join(', ')}`);
    await ensureBuilt(root);
    cp = await startControlPlane({ binDir: binDir });
    // Objects without a namespace go to the release namespace, as Helm does: the kubeconfig's context says `apps`
    // (not `-n apps`: kube-prometheus-stack has objects in kube-system, and kubectl refuses a clash with `-n`).
    dir = mkdtempSync(join(tmpdir(), 'corpus-dry-run-'));
    kubeconfig = join(dir, 'kubeconfig');
    copyFileSync(cp.kubeconfig, kubeconfig);
    const ctx = await kubectl(['config', 'set-context', '--current', `--namespace=${NS}`]);
    expect(ctx.code).toBe(0);
    const ns = await kubectl(['create', 'namespace', NS]);
    expect(ns.stderr).toBe('');
    // A render may use another chart's CRDs (cert-manager's and ingress-nginx's ServiceMonitors): the
    // prometheus-operator CRDs and every CRD of the corpus are installed first; each test applies its own again,
    // labelled.
    const operator = await toJson((await Promise.all(operatorCrds.map(readText))).join('\n---\n'));
    expect(operator.filter(isCrd).length, `CRDs in ${OPERATOR_CRDS}`).toBe(operatorCrds.length);
    await applyCrds(operator);
    for (const f of files) await applyCrds(await toJson(await readText(join(CORPUS, f))));
  }, 180_000);

  afterAll(async () => {
    await (cp as ControlPlane | undefined)?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  async function applyCrds(objs: Obj[]): Promise<void> {
    const crds = objs.filter(isCrd);
    if (crds.length === 0) return;
    const list = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: crds });
    const a = await kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], list);
    expect(a.stderr, 'CRDs applied').toBe('');
    const names = crds.map((c) => `crd/${String(c.metadata.name)}`);
    const w = await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...names]);
    expect(w.stderr, 'CRDs Established').toBe('');
    await waitDiscovered(crds);
  }

  /**
   * Established is not yet discovered: the API server's discovery document is updated by its own controller, a
   * moment later, and kubectl maps kinds from discovery ("no matches for kind"). Waits until every served version
   * of every CRD lists its resource.
   */
  async function waitDiscovered(crds: Obj[]): Promise<void> {
    const want = new Map<string, Set<string>>();
    for (const c of crds)
      for (const v of c.spec.versions as Obj[])
        if (v.served === true) {
          const gv = `${String(c.spec.group)}/${String(v.name)}`;
          want.set(gv, (want.get(gv) ?? new Set()).add(String(c.spec.names.plural)));
        }
    const deadline = Date.now() + 60_000;
    for (const [gv, plurals] of want)
      for (;;) {
        const r = await kubectl(['get', '--raw', `/apis/${gv}`]);
        const have = r.code === 0 ? ((JSON.parse(r.stdout) as Obj).resources as Obj[]).map((x) => x.name) : [];
        const absent = [...plurals].filter((p) => !have.includes(p));
        if (absent.length === 0) break;
        if (Date.now() > deadline) throw new Error(`${gv}: ${absent.join(', ')} not in discovery after 60 s`);
        await new Promise((done) => setTimeout(done, 250));
      }
  }

  /** CRDs for real (server-side apply, then Established), the rest by a server-side dry run; the dry run's result. */
  async function applyDryRun(out: string): Promise<{ code: number | null; stderr: string; items: Obj[] }> {
    const objs = await toJson(out);
    await applyCrds(objs);
    const rest = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs.filter((o) => !isCrd(o)) });
    const r = await kubectl(['apply', '--server-side', '--dry-run=server', '-o', 'json', '-f', '-'], rest);
    if (r.code !== 0) return { code: r.code, stderr: r.stderr, items: [] };
    const parsed = JSON.parse(r.stdout) as Obj;
    return { code: r.code, stderr: r.stderr, items: parsed.kind === 'List' ? parsed.items : [parsed] };
  }

  for (const file of files)
    for (const [i, spec] of paths.entries())
      it(`${file} through ${spec.name} is accepted and keeps our labels`, async () => {
        const out = await paths[i]!.run(await readText(join(CORPUS, file)));
        const expected = new Map((await toJson(out)).filter((o) => !isCrd(o)).map((o) => [id(o), o]));
        const r = await applyDryRun(out);
        expect(r.stderr).toBe('');
        expect(r.code).toBe(0);
        expect(r.items.length).toBe(expected.size);
        const seen = new Set<string>();
        for (const item of r.items) {
          const key = id({
            ...item,
            metadata: { ...item.metadata, namespace: expected.has(id(item)) ? item.metadata.namespace : undefined },
          });
          const want = expected.get(key);
          expect(want, `${key} in OUT`).toBeDefined();
          seen.add(key);
          const labels = ours(want!.metadata?.labels);
          expect(labels[`${PREFIX}release`], `${key} carries our release label`).toBe(RELEASE);
          expect(ours(item.metadata?.labels), key).toEqual(labels);
          if (want!.spec?.template?.metadata !== undefined)
            expect(ours(item.spec?.template?.metadata?.labels), `${key} pod template`).toEqual(
              ours(want!.spec.template.metadata.labels),
            );
        }
        // Every object of OUT came back from the server, each once.
        expect([...seen].sort()).toEqual([...expected.keys()].sort());
      }, 180_000);

  it('refuses the same render with one pod template label made invalid (the dry run can fail)', async () => {
    const file = files.find((f) => f.startsWith('kyverno/')) ?? files[0]!;
    const out = await paths[0]!.run(await readText(join(CORPUS, file)));
    const objs = await toJson(out);
    const d = objs.find((o) => o.kind === 'Deployment');
    expect(d, `a Deployment in ${file}`).toBeDefined();
    d!.spec.template.metadata.labels[`${PREFIX}tier`] = 'not a valid label value!';
    const r = await applyDryRun(objs.map((o) => JSON.stringify(o)).join('\n---\n'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/spec\.template\.labels: Invalid value: "not a valid label value!"/);
    // Refused for that Deployment, and nothing else of the render was: one error line, naming it.
    const errors = r.stderr.split('\n').filter((l) => l.trim() !== '');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`The Deployment "${String(d!.metadata.name)}" is invalid: spec.template.labels:`);
  }, 180_000);
});

async function readText(p: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return readFile(p, 'utf8');
}
