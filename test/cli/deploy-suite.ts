/**
 * `helm-tiers deploy` and `helm-tiers status` end to end, one suite per backend (the simulated cluster, the real
 * control plane with the node agent) and Helm major (the real Helm 3 and Helm 4 of .tools, given as `--helm`, so
 * the CLI detects the major and wires the post-renderer itself). The master chart's hook Jobs run the built hook
 * bundles (the scenario maps the hook image to them). The commands run in-process (runDeploy/runStatus, what
 * the bin calls) against the cluster's kubeconfig:
 *   - the plan's releases deployed in order: each dependent's Helm action started (Helm's own `updated`) after its
 *     dependencies were reported deployed, and the independent releases of level 1 started together,
 *   - status: every release Ready at the plan revision, exit 0,
 *   - an unchanged rerun: no Helm action (same Helm revisions and times),
 *   - a failing tier 2 (its pods crash-loop: the scenario, in a second namespace of a copy of the plan): tiers 3 and 4
 *     not started, exit 2, and status names the blocker (exit 4),
 *   - the second render: monitoring and kyverno, whose hooks installed their CRDs during their first install (values
 *     with global.autoInstallCRDs), are upgraded once more and then carry the custom resources those CRDs guard,
 *   - the plan's CRD tier (copies of the plan with `crds.autoInstall: true`, in namespaces of their own): the real
 *     Prometheus operator CRDs (../shared) applied server-side by helm-tiers and Established before monitoring
 *     starts, so its first (and only) Helm revision renders its custom resources; a CRD the API server refuses
 *     stops monitoring before Helm (exit 2, blocked by `<plan>-crds`).
 */
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { kubeBinDir } from '../../cluster/real/control-plane.js';
import { startCluster, type Backend, type Cluster } from '../../cluster/index.js';
import { exec, toolchainPaths, type HelmMajor } from '../../core/helm.js';
import { prepareCrds, sharedDir } from '../../demo/crds.js';
import { clusterScenario, hookSettings } from '../../demo/env.js';
import { runDeploy } from '../../cli/deploy.js';
import { runStatus, type PlanStatus } from '../../cli/status.js';
import type { DeployEvent } from '../../cli/deploy/driver.js';
import { mergeValues } from '../../plan/metadata.js';
import { crdTier, crdTierRelease, dependencyReleases, parsePlan } from '../../plan/plan.js';
import { planRevisionFromDisk } from '../../plan/revision.js';
import { ensureBuild, root } from '../e2e/support.js';

const repoPlan = join(root, 'plan.yaml');
const plan = parsePlan(readFileSync(repoPlan, 'utf8'), repoPlan);
const BROKEN_NS = 'apps-broken';
const TIERS = ['tier1-database', 'tier2-cache', 'tier3-api', 'tier4-frontend'];
/** The plan's CRD tier: a copy of the plan whose CRD chart holds the real Prometheus operator CRDs ... */
const CRD_TIER_NS = 'apps-crdtier';
/** ... and one whose CRD chart holds a CRD the API server refuses. */
const CRD_FAIL_NS = 'apps-crdfail';
const PROM_GROUP = 'monitoring.coreos.com';
const PROM_CRDS = join(sharedDir(root), 'crds', 'prometheus-operator');
const promCrdsMissing = existsSync(PROM_CRDS)
  ? undefined
  : `the Prometheus operator CRDs in ${PROM_CRDS} (shared test data)`;
/** metadata.name is not a DNS subdomain and not `<plural>.<group>`: refused by the API server's CRD validation. */
const BAD_CRD = 'Widgets.example.helm-tiers.io';
/** What each release's hooks install with global.autoInstallCRDs, and a kind of custom resource they guard. */
const GUARDED: readonly (readonly [string, string])[] = [
  ['monitoring', 'Prometheus'],
  ['kyverno', 'ClusterPolicy'],
];

type Timed = DeployEvent & { time: string };
type StartEvent = Extract<DeployEvent, { type: 'start' }> & { time: string };
const crdsEvents = (ev: readonly Timed[]) =>
  ev.filter((e): e is Extract<DeployEvent, { type: 'crds' }> & { time: string } => e.type === 'crds');
const startsOf = (ev: readonly Timed[], release: string) =>
  ev.filter((e): e is StartEvent => e.type === 'start' && e.release === release);

interface LiveCrd {
  metadata: { name: string; managedFields?: { manager?: string; operation?: string }[] };
  spec: { group: string };
  status?: { conditions?: { type: string; status: string }[] };
}

/**
 * A copy of the plan in namespace `ns` with the CRD tier on (`crds.autoInstall: true`, `chart: <chart>` relative
 * to the copy's folder).
 */
function crdTierPlanText(ns: string, chart: string): string {
  const text = readFileSync(repoPlan, 'utf8')
    .replace(/^namespace: apps\b/m, `namespace: ${ns}`)
    .replace(/^crds:\n {2}autoInstall: false\n/m, `crds:\n  autoInstall: true\n  chart: ${chart}\n`);
  const p = parsePlan(text, repoPlan);
  if (p.namespace !== ns || crdTier(p)?.chart !== chart)
    throw new Error(`plan.yaml changed shape: cannot turn its CRD tier on (namespace ${p.namespace})`);
  return text;
}

/** A chart folder holding only crds/ (the CRD tier's chart). */
function crdChart(dir: string, files: Record<string, string>): void {
  mkdirSync(join(dir, 'crds'), { recursive: true });
  writeFileSync(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: platform-crds\nversion: 0.1.0\n');
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, 'crds', name), text);
}

export interface SuiteOptions {
  readonly backend: Backend;
  readonly major: HelmMajor;
  /** Releases of plan.yaml deployed in the ordering test (default all six). */
  readonly releases?: readonly string[];
}

/** Helm's `updated` (`2026-12-07 07:40:01.123456789 +0000 UTC`) in ms since the epoch. */
function helmTime(updated: string): number {
  const m = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(\.\d+)? ([+-]\d\d)(\d\d)/.exec(updated);
  if (!m) throw new Error(`cannot read Helm time "${updated}"`);
  const frac = (m[3] ?? '.0').slice(0, 4);
  return Date.parse(`${m[1]}T${m[2]}${frac}${m[4]}:${m[5]}`);
}

export function deploySuite(o: SuiteOptions): void {
  const missing =
    o.backend === 'real' && kubeBinDir() === undefined
      ? 'the control-plane binaries are not built (`npm run setup:kube`)'
      : undefined;
  if (missing && process.env.CI) throw new Error(`CI: ${missing}`);
  const releases = o.releases ?? plan.components.map((c) => c.release);
  describe.skipIf(missing)(`helm-tiers deploy/status on the ${o.backend} cluster with Helm ${o.major}`, () => {
    let cluster: Cluster;
    let work = '';
    const helmBin = toolchainPaths(root, o.major).helm;
    const env = () => ({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: work, KUBECONFIG: cluster.kubeconfig });

    const cli = async (run: typeof runDeploy, argv: string[]) => {
      let out = '';
      let err = '';
      const code = await run({
        argv: [...argv, '--helm', helmBin],
        cwd: root,
        env: env(),
        root,
        stdout: { write: (t: string) => (out += t) },
        stderr: { write: (t: string) => (err += t) },
      });
      return { code, out, err };
    };
    const events = (out: string) =>
      out
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .map((l) => JSON.parse(l) as DeployEvent & { time: string });
    const kubectlBin = toolchainPaths(root, o.major).kubectl;
    const kubectl = async (args: string[]) => {
      const r = await exec(kubectlBin, args, { env: env() });
      expect(r.code, `kubectl ${args.join(' ')}: ${r.stderr}`).toBe(0);
      return r.stdout;
    };
    const crdsOfGroup = async (group: string) =>
      (
        JSON.parse(await kubectl(['get', 'customresourcedefinitions', '-o', 'json', '--show-managed-fields'])) as {
          items: LiveCrd[];
        }
      ).items
        .filter((c) => c.spec.group === group)
        .sort((a, b) => a.metadata.name.localeCompare(b.metadata.name));
    const manifest = async (release: string, ns: string, revision?: number) => {
      const r = await exec(
        helmBin,
        ['get', 'manifest', release, '-n', ns, ...(revision ? ['--revision', String(revision)] : [])],
        { env: env() },
      );
      expect(r.code, r.stderr).toBe(0);
      return r.stdout;
    };
    const helmList = async (ns: string) => {
      const r = await exec(helmBin, ['list', '-n', ns, ...(o.major === 3 ? ['--all'] : []), '-o', 'json'], {
        env: env(),
      });
      expect(r.code, r.stderr).toBe(0);
      return JSON.parse(r.stdout) as { name: string; revision: string; status: string; updated: string }[];
    };
    let planPath = '';
    let valuesFile = '';
    let brokenPlan = '';
    let shortValues = '';
    let crdTierPlan = '';
    let badCrdPlan = '';
    let noCrdValues = '';
    /** The events of the ordering test's deploy (the second render is read from them). */
    let firstDeploy: Timed[] = [];

    beforeAll(async () => {
      await ensureBuild();
      work = mkdtempSync(join(tmpdir(), `helm-tiers-deploy-${o.backend}-h${o.major}-`));
      const crds = prepareCrds(root, work, { embedded: true });
      const crash = {
        selector: 'helm-tiers.io/release=tier2-cache,!helm-tiers.io/hook',
        namespace: BROKEN_NS,
        behavior: 'crashLoop' as const,
        previousLogs: 'FATAL cannot open /data: permission denied\n',
      };
      cluster = await startCluster({
        backend: o.backend,
        rbac: true,
        scenario: clusterScenario(root, crds.dir, [crash]),
        sim: { timing: { crash: 300 } },
      });
      // A snapshot of the plan and its chart: the plan revision must not move while the suite runs (the tree is
      // shared with other work in progress).
      cpSync(join(root, 'charts/master-chart'), join(work, 'charts/master-chart'), { recursive: true });
      planPath = join(work, 'plan.yaml');
      writeFileSync(planPath, readFileSync(repoPlan, 'utf8'));
      valuesFile = join(work, 'values.yaml');
      writeFileSync(valuesFile, stringify(mergeValues(hookSettings(90), { global: { autoInstallCRDs: true } })));
      shortValues = join(work, 'short.yaml');
      writeFileSync(shortValues, stringify(hookSettings(60)));
      // The same plan in a namespace where the scenario makes the cache's pods crash.
      brokenPlan = join(work, 'broken-plan.yaml');
      writeFileSync(
        brokenPlan,
        readFileSync(repoPlan, 'utf8').replace(/^namespace: apps\b/m, `namespace: ${BROKEN_NS}`),
      );
      // The CRD tier's tests: the CRDs may come only from the CRD tier, never from the hooks.
      noCrdValues = join(work, 'no-crd-install.yaml');
      writeFileSync(noCrdValues, stringify(mergeValues(hookSettings(90), { global: { autoInstallCRDs: false } })));
      if (!promCrdsMissing) {
        // Copied into the temp folder (kubectl apply -f DIR reads the files directly in DIR; the shared folder is
        // read, never changed).
        crdChart(
          join(work, 'crd-chart'),
          Object.fromEntries(
            readdirSync(PROM_CRDS)
              .filter((f) => f.endsWith('.yaml'))
              .map((f) => [f, readFileSync(join(PROM_CRDS, f), 'utf8')]),
          ),
        );
        crdTierPlan = join(work, 'crd-tier-plan.yaml');
        writeFileSync(crdTierPlan, crdTierPlanText(CRD_TIER_NS, './crd-chart'));
      }
      crdChart(join(work, 'bad-crd-chart'), {
        'widgets.yaml': stringify({
          apiVersion: 'apiextensions.k8s.io/v1',
          kind: 'CustomResourceDefinition',
          metadata: { name: BAD_CRD },
          spec: {
            group: 'example.helm-tiers.io',
            names: { plural: 'widgets', singular: 'widget', kind: 'Widget', listKind: 'WidgetList' },
            scope: 'Namespaced',
            versions: [
              {
                name: 'v1',
                served: true,
                storage: true,
                schema: { openAPIV3Schema: { type: 'object', 'x-kubernetes-preserve-unknown-fields': true } },
              },
            ],
          },
        }),
      });
      badCrdPlan = join(work, 'bad-crd-plan.yaml');
      writeFileSync(badCrdPlan, crdTierPlanText(CRD_FAIL_NS, './bad-crd-chart'));
    });
    afterAll(async () => {
      if (cluster as Cluster | undefined) await cluster.stop();
      if (work) rmSync(work, { recursive: true, force: true });
    });

    // From a namespace without releases (a first CI attempt may have left some).
    const uninstallAll = async (ns: string) => {
      const left = (await helmList(ns)).map((x) => x.name);
      if (left.length === 0) return;
      const u = await exec(helmBin, ['uninstall', '-n', ns, '--wait', ...left], { env: env() });
      expect(u.code, u.stderr).toBe(0);
    };

    it('deploys the releases by levels: each one starts only after its dependencies were Ready', async () => {
      const only = o.releases ? o.releases.flatMap((r) => ['--only', r]) : [];
      // The cluster as it started, also when CI retries this test: no release, none of the CRDs the hooks install.
      await uninstallAll('apps');
      for (const group of [PROM_GROUP, 'kyverno.io']) {
        const left = (await crdsOfGroup(group)).map((c) => `crd/${c.metadata.name}`);
        if (left.length > 0) await kubectl(['delete', '--wait=true', '--timeout=180s', ...left]);
      }
      const r = await cli(runDeploy, ['--plan', planPath, '--values', valuesFile, '--output', 'json', ...only]);
      expect(r.code, r.out + r.err).toBe(0);
      const ev = events(r.out);
      firstDeploy = ev;
      const deployed = new Map(ev.filter((e) => e.type === 'deployed').map((e) => [e.release, Date.parse(e.time)]));
      expect([...deployed.keys()].sort()).toEqual([...releases].sort());
      const list = new Map((await helmList('apps')).map((x) => [x.name, x]));
      const revision = planRevisionFromDisk(plan, planPath);
      for (const rel of releases) {
        expect(list.get(rel)?.status).toBe('deployed');
        const v = await exec(helmBin, ['get', 'values', rel, '-n', 'apps', '-o', 'json'], { env: env() });
        expect(
          (JSON.parse(v.stdout) as { global: { tiers: { planRevision: string } } }).global.tiers.planRevision,
        ).toBe(revision);
        const c = plan.components.find((x) => x.release === rel)!;
        for (const d of dependencyReleases(plan, c)) {
          // Helm's own record: the dependent's action started after its dependency was done.
          expect(helmTime(list.get(rel)!.updated), `${rel} after ${d}`).toBeGreaterThanOrEqual(
            Math.floor(deployed.get(d)! / 1000) * 1000 - 1000,
          );
          const start = ev.find((e) => e.type === 'start' && e.release === rel)!;
          expect(Date.parse(start.time), `${rel} started after ${d} was deployed`).toBeGreaterThanOrEqual(
            deployed.get(d)!,
          );
        }
      }
      // The independent releases of level 1 ran side by side: each started before any of them finished.
      const level1 = releases.filter(
        (x) =>
          dependencyReleases(
            plan,
            plan.components.find((c) => c.release === x)!,
          ).length === 0,
      );
      // The first start of each (a release whose hooks installed its CRDs starts a second render after it).
      const starts = level1.map((x) => Date.parse(ev.find((e) => e.type === 'start' && e.release === x)!.time));
      const firstDeployed = (x: string) => Date.parse(ev.find((e) => e.type === 'deployed' && e.release === x)!.time);
      expect(Math.max(...starts)).toBeLessThanOrEqual(Math.min(...level1.map(firstDeployed)));
    }, 600_000);

    const guarded = GUARDED.filter(([rel]) => releases.includes(rel));
    it.skipIf(guarded.length === 0)(
      'the second render: monitoring and kyverno, whose hooks installed their CRDs, are upgraded once more and then carry their custom resources',
      async () => {
        // The cluster served none of their CRDs before the ordering test (a fresh cluster): their first render left
        // the guarded custom resources out, their pre-install hooks installed the CRDs.
        expect(firstDeploy.length, 'the ordering test ran').toBeGreaterThan(0);
        for (const [rel, kind] of guarded) {
          const starts = startsOf(firstDeploy, rel);
          expect(
            starts.map((s) => [s.action, s.why?.replace(/^(again:).*/, '$1')]),
            rel,
          ).toEqual([
            ['install', undefined],
            ['upgrade', 'again:'],
          ]);
          // The second action started once the first was deployed, and was deployed itself (revision 2).
          const done = firstDeploy.filter(
            (e): e is Extract<DeployEvent, { type: 'deployed' }> & { time: string } =>
              e.type === 'deployed' && e.release === rel,
          );
          expect(done.map((d) => [d.action, d.helmRevision])).toEqual([
            ['install', 1],
            ['upgrade', 2],
          ]);
          expect(firstDeploy.indexOf(starts[1]!)).toBeGreaterThan(firstDeploy.indexOf(done[0]!));
          const kindLine = new RegExp(`^kind: ${kind}$`, 'm');
          expect(await manifest(rel, 'apps', 1), `${rel} revision 1`).not.toMatch(kindLine);
          expect(await manifest(rel, 'apps'), `${rel} deployed`).toMatch(kindLine);
        }
      },
      120_000,
    );

    it('status: every release Ready at the plan revision (exit 0)', async () => {
      const r = await cli(runStatus, ['--plan', planPath, '--output', 'json']);
      const s = JSON.parse(r.out) as PlanStatus;
      const mine = s.levels.flat().filter((x) => releases.includes(x.release));
      expect(mine.length).toBe(releases.length);
      expect(mine.map((x) => [x.release, x.ready, x.why])).toEqual(mine.map((x) => [x.release, true, []]));
      if (!o.releases) expect(r.code).toBe(0);
      const text = await cli(runStatus, ['--plan', planPath]);
      expect(text.out).toMatch(/level 1\n/);
      expect(text.out).toMatch(/tier4-frontend\s+4\s+1\s+deployed\s+[0-9a-f]{16}\s+True/);
    }, 120_000);

    it('an unchanged rerun performs no Helm action', async () => {
      const before = await helmList('apps');
      const only = o.releases ? o.releases.flatMap((r) => ['--only', r]) : [];
      const r = await cli(runDeploy, ['--plan', planPath, '--values', valuesFile, ...only]);
      expect(r.code, r.out + r.err).toBe(0);
      expect(r.out).not.toMatch(/> \S+\s+tier \d+\s+\w+ started/);
      for (const rel of releases) expect(r.out).toMatch(new RegExp(`= ${rel}\\s+tier \\d+\\s+unchanged`));
      expect(await helmList('apps')).toEqual(before);
      // A changed value is seen: the dry run says which release would be upgraded, and does nothing.
      const dry = await cli(runDeploy, ['--plan', planPath, '--values', shortValues, '--dry-run', ...only]);
      expect(dry.code, dry.out + dry.err).toBe(0);
      expect(dry.out).toMatch(/\? tier1-database\s+tier 1\s+would upgrade: values changed/);
      expect(await helmList('apps')).toEqual(before);
    }, 300_000);

    it('a failing tier 2 stops tiers 3 and 4, and status names the blocker', async () => {
      const only = TIERS.flatMap((t) => ['--only', t]);
      await uninstallAll(BROKEN_NS);
      const r = await cli(runDeploy, ['--plan', brokenPlan, '--values', shortValues, '--timeout', '60s', ...only]);
      expect(r.code, r.out + r.err).toBe(2);
      expect(r.out).toMatch(/✓ tier1-database\s+tier 1\s+install ok/);
      // Helm's own wait fails it (timeout), or passes a pod Ready for a moment and the check after Helm does.
      expect(r.out).toMatch(/✗ tier2-cache\s+tier 2\s+install FAILED/);
      // Why: Helm's timeout, the pods' state, or the check after Helm that saw them restarting.
      expect(r.out).toMatch(
        /CrashLoopBackOff|context deadline exceeded|timed out|its pods keep restarting|pod\/cache-[a-z0-9-]+: restarting/,
      );
      expect(r.out).toMatch(/- tier3-api\s+tier 3\s+not started: dependency tier2-cache failed/);
      expect(r.out).toMatch(/- tier4-frontend\s+tier 4\s+not started: dependency tier3-api was not started/);
      expect(r.out).toMatch(/FAILED: 1 deployed, 0 unchanged, 1 failed \(tier2-cache\), 2 not started/);
      const names = (await helmList(BROKEN_NS)).map((x) => x.name).sort();
      expect(names).toEqual(['tier1-database', 'tier2-cache']);

      const st = await cli(runStatus, ['--plan', brokenPlan, '--output', 'json']);
      expect(st.code).toBe(4);
      const s = JSON.parse(st.out) as PlanStatus;
      const by = new Map(s.levels.flat().map((x) => [x.release, x]));
      expect(by.get('tier1-database')?.ready).toBe(true);
      // failed when Helm's wait timed out; deployed when it passed a pod Ready for a moment.
      expect(['failed', 'deployed']).toContain(by.get('tier2-cache')?.helmStatus);
      expect(by.get('tier2-cache')?.ready).toBe(false);
      // The pod's state (CrashLoopBackOff, or running between two back-offs) or the post-install check's summary.
      expect(by.get('tier2-cache')?.why.join('\n')).toMatch(
        /pod\/cache-[a-z0-9-]+: (CrashLoopBackOff|restarting)|CrashLoopBackOff/,
      );
      expect(by.get('tier3-api')?.why).toContain('dependency tier2-cache is not Ready');
      expect(by.get('tier3-api')?.helmStatus).toBeUndefined();
      const text = await cli(runStatus, ['--plan', brokenPlan]);
      expect(text.out).toMatch(/tier2-cache\s+2\s+1\s+(failed|deployed)\s+[0-9a-f]{16}\s+False/);
      expect(text.out).toMatch(/CrashLoopBackOff|restarting/);
    }, 300_000);

    it.skipIf(promCrdsMissing !== undefined && !process.env.CI)(
      "the plan's CRD tier: the real Prometheus operator CRDs applied server-side and Established before monitoring starts, whose first revision renders its custom resources",
      async () => {
        if (promCrdsMissing) throw new Error(`CI: missing ${promCrdsMissing}`);
        await uninstallAll(CRD_TIER_NS);
        // The earlier tests' hooks installed (the scenario's embedded) monitoring.coreos.com CRDs: removed, so that
        // only the CRD tier can bring them (and monitoring's CRD check, without autoInstallCRDs, fails without them).
        const stale = (await crdsOfGroup(PROM_GROUP)).map((c) => `crd/${c.metadata.name}`);
        if (stale.length > 0) await kubectl(['delete', '--wait=true', '--timeout=180s', ...stale]);
        expect(await crdsOfGroup(PROM_GROUP)).toEqual([]);

        const r = await cli(runDeploy, [
          '--plan',
          crdTierPlan,
          '--values',
          noCrdValues,
          '--output',
          'json',
          '--only',
          'monitoring',
        ]);
        expect(r.code, r.out + r.err).toBe(0);
        const ev = events(r.out);
        // Upstream file naming: monitoring.coreos.com_<plural>.yaml holds <plural>.monitoring.coreos.com.
        const want = readdirSync(PROM_CRDS)
          .map((f) => /^monitoring\.coreos\.com_([a-z]+)\.yaml$/.exec(f)?.[1])
          .filter((x) => x !== undefined)
          .map((plural) => `${plural}.${PROM_GROUP}`)
          .sort();
        expect(want.length).toBe(10);
        const tierEvents = crdsEvents(ev);
        expect(tierEvents).toHaveLength(1);
        const tierEvent = tierEvents[0]!;
        expect(tierEvent).toMatchObject({ ok: true, chart: './crd-chart' });
        expect([...tierEvent.crds].sort()).toEqual(want);
        // The CRD tier ended before monitoring's one and only Helm action started: no second render.
        const starts = startsOf(ev, 'monitoring');
        expect(starts.map((s) => [s.action, s.why])).toEqual([['install', undefined]]);
        expect(ev.indexOf(starts[0]!)).toBeGreaterThan(ev.indexOf(tierEvent));
        expect(ev.at(-1)).toMatchObject({ type: 'summary', ok: true, deployed: ['monitoring'] });

        // On the API server: every CRD Established, applied by helm-tiers (server-side apply).
        const live = await crdsOfGroup(PROM_GROUP);
        expect(live.map((c) => c.metadata.name)).toEqual(want);
        for (const c of live) {
          const established = c.status?.conditions?.find((x) => x.type === 'Established');
          expect(established?.status, c.metadata.name).toBe('True');
          expect(
            (c.metadata.managedFields ?? []).map((m) => [m.manager, m.operation]),
            c.metadata.name,
          ).toContainEqual(['helm-tiers', 'Apply']);
        }
        // Helm: one revision, and it already holds the guarded custom resources.
        expect((await helmList(CRD_TIER_NS)).map((x) => [x.name, x.revision, x.status])).toEqual([
          ['monitoring', '1', 'deployed'],
        ]);
        const first = await manifest('monitoring', CRD_TIER_NS, 1);
        for (const kind of ['Prometheus', 'ServiceMonitor', 'PrometheusRule'])
          expect(first, kind).toMatch(new RegExp(`^kind: ${kind}$`, 'm'));
      },
      300_000,
    );

    it('a CRD tier the API server refuses: exit 2, monitoring not started (blocked by the CRD tier), no Helm release', async () => {
      await uninstallAll(CRD_FAIL_NS);
      const r = await cli(runDeploy, [
        '--plan',
        badCrdPlan,
        '--values',
        noCrdValues,
        '--output',
        'json',
        '--only',
        'monitoring',
      ]);
      expect(r.code, r.out + r.err).toBe(2);
      const ev = events(r.out);
      const tierEvents = crdsEvents(ev);
      expect(tierEvents).toHaveLength(1);
      expect(tierEvents[0]).toMatchObject({ ok: false, chart: './bad-crd-chart', crds: [BAD_CRD] });
      // The API server's verdict (its CRD validation: the name is not a DNS subdomain, nor `<plural>.<group>`).
      expect(tierEvents[0]!.reason).toMatch(
        /^kubectl apply --server-side .*CustomResourceDefinition "Widgets\.example\.helm-tiers\.io" is invalid:.*metadata\.name: Invalid value/s,
      );
      expect(ev.filter((e) => e.type === 'not-started')).toEqual([
        expect.objectContaining({ release: 'monitoring', blockedBy: crdTierRelease(plan.name) }),
      ]);
      expect(startsOf(ev, 'monitoring')).toEqual([]);
      expect(ev.at(-1)).toMatchObject({ type: 'summary', ok: false, deployed: [], notStarted: ['monitoring'] });
      expect(await helmList(CRD_FAIL_NS)).toEqual([]);
    }, 120_000);
  });
}
