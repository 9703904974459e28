// The deploy driver's scheduling, decisions and Helm command lines at the Tools boundary: `helm` and `kubectl`
// answered from an in-memory cluster (Helm release records with their revisions and values, one Deployment per
// release, no Flux), so every release is gated on what the cluster says, as on a real one. Covered: the plan's
// dependency order with the first level started together, bounded parallelism, a failure stopping its dependents
// (transitively) but not the independent releases, `--only` gated on dependencies outside it, install / upgrade /
// reinstall / unchanged with the exact Helm verbs, the `helm upgrade --install` command line and its values file,
// and errorHead. The CRD tier and the hook watch are in deploy-crds.test.ts, the pure decide/readiness rules in
// deploy-units.test.ts.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { deployPlan, errorHead, type DeployEvent, type DriverOptions } from '../../cli/deploy/driver.js';
import type { Tools } from '../../cli/deploy/state.js';
import type { ExecResult } from '../../core/helm.js';
import { parsePlan, type Plan, type Values } from '../../plan/plan.js';

const planFile = fileURLToPath(new URL('../../plan.yaml', import.meta.url));
const plan = parsePlan(readFileSync(planFile, 'utf8'), planFile);
const REV = '0123456789abcdef';

const tmp = mkdtempSync(join(tmpdir(), 'deploy-driver-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});
// The plan's chart folder (the driver reads only Chart.yaml: `helm list`'s chart column is `<name>-<version>`).
mkdirSync(join(tmp, plan.chart), { recursive: true });
writeFileSync(join(tmp, plan.chart, 'Chart.yaml'), 'apiVersion: v2\nname: master-chart\nversion: 0.1.0\n');
const chartDir = join(tmp, plan.chart);

interface Revision {
  revision: number;
  status: string;
  chart: string;
  values: Values;
}
interface Release {
  revisions: Revision[];
  /** Its Deployment rolled out (else 0/1 pods ready). */
  rolledOut: boolean;
}

/** Helm's time format in `helm list`/`helm history`. */
const UPDATED = '2026-01-01 00:00:00.000000000 +0000 UTC';

/**
 * helm and kubectl over an in-memory cluster. `helm upgrade` and `helm uninstall` take a few ms on a real timer and
 * log their start and end (with the driver's events, see `deploy`), so overlap and order are observable. A failing
 * release (`fail`: release → Helm's stderr) gets a failed revision and exit 1. Any command the fake does not know
 * is recorded in `unexpected` (checked after every run).
 */
function fakeCluster(
  o: { fail?: Record<string, string>; failHistory?: readonly string[]; failUninstall?: Record<string, string> } = {},
) {
  const releases = new Map<string, Release>();
  const calls: string[][] = [];
  const unexpected: string[] = [];
  const log: string[] = [];
  let running = 0;
  let maxRunning = 0;
  const key = (ns: string | undefined, name: string | undefined) => `${ns ?? '?'}/${name ?? '?'}`;
  const flag = (args: readonly string[], f: string) => (args.includes(f) ? args[args.indexOf(f) + 1] : undefined);
  const done = (stdout: string): ExecResult => ({ code: 0, stdout, stderr: '' });
  const notFound: ExecResult = { code: 1, stdout: '', stderr: 'Error: release: not found\n' };
  const last = (r: Release) => r.revisions[r.revisions.length - 1] as Revision;
  const other = (args: readonly string[]): ExecResult => {
    unexpected.push(args.join(' '));
    return { code: 1, stdout: '', stderr: `fake: unsupported command: ${args.join(' ')}\n` };
  };
  /** A Helm action: counted while it runs, a few ms long. */
  const action = async (release: string, body: () => ExecResult): Promise<ExecResult> => {
    running++;
    maxRunning = Math.max(maxRunning, running);
    log.push(`helm-start ${release}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
    const r = body();
    running--;
    log.push(`helm-end ${release}`);
    return r;
  };

  const helm = (args: readonly string[]): Promise<ExecResult> => {
    calls.push(['helm', ...args]);
    const ns = flag(args, '-n');
    switch (args[0]) {
      case 'list': {
        const name = (flag(args, '--filter') ?? '').replace(/^\^|\$$/g, '');
        const r = releases.get(key(ns, name));
        const rows = r
          ? [
              {
                name,
                namespace: ns,
                revision: String(last(r).revision),
                updated: UPDATED,
                status: last(r).status,
                chart: last(r).chart,
                app_version: '',
              },
            ]
          : [];
        return Promise.resolve(done(JSON.stringify(rows)));
      }
      case 'get': {
        const r = args[1] === 'values' ? releases.get(key(ns, args[2])) : undefined;
        return Promise.resolve(r ? done(JSON.stringify(last(r).values)) : notFound);
      }
      case 'history': {
        if (o.failHistory?.includes(String(args[1])))
          return Promise.resolve({ code: 1, stdout: '', stderr: 'Error: Kubernetes cluster unreachable\n' });
        const r = releases.get(key(ns, args[1]));
        const rows = r?.revisions.map((x) => ({
          revision: x.revision,
          updated: UPDATED,
          status: x.status,
          chart: x.chart,
          app_version: '',
          description: '',
        }));
        return Promise.resolve(rows ? done(JSON.stringify(rows)) : notFound);
      }
      case 'uninstall': {
        const name = String(args[1]);
        const refused = o.failUninstall?.[name];
        if (refused !== undefined) return action(name, () => ({ code: 1, stdout: '', stderr: refused }));
        return action(name, () =>
          releases.delete(key(ns, name)) ? done(`release "${name}" uninstalled\n`) : notFound,
        );
      }
      case 'upgrade': {
        if (args[1] !== '--install') return Promise.resolve(other(args));
        const name = String(args[2]);
        const meta = parse(readFileSync(join(String(args[3]), 'Chart.yaml'), 'utf8')) as Record<string, string>;
        const chart = `${meta.name}-${meta.version}`;
        // Read at call time: the driver writes one values file per release and may rewrite it.
        const values = JSON.parse(readFileSync(String(flag(args, '-f')), 'utf8')) as Values;
        return action(name, () => {
          const r = releases.get(key(ns, name)) ?? { revisions: [], rolledOut: false };
          releases.set(key(ns, name), r);
          const revision = (r.revisions.length ? last(r).revision : 0) + 1;
          const stderr = o.fail?.[name];
          if (stderr !== undefined) {
            r.revisions.push({ revision, status: 'failed', chart, values });
            return { code: 1, stdout: '', stderr };
          }
          for (const x of r.revisions) if (x.status === 'deployed') x.status = 'superseded';
          r.revisions.push({ revision, status: 'deployed', chart, values });
          r.rolledOut = true;
          return done(`Release "${name}" has been upgraded. Happy Helming!\n`);
        });
      }
      default:
        return Promise.resolve(other(args));
    }
  };

  const kubectl = (args: readonly string[]): Promise<ExecResult> => {
    calls.push(['kubectl', ...args]);
    const ns = flag(args, '-n');
    const release = /^helm-tiers\.io\/release=([^,]+)/.exec(flag(args, '-l') ?? '')?.[1];
    const list = (items: unknown[]) => Promise.resolve(done(JSON.stringify({ kind: 'List', items })));
    if (args[0] !== 'get') return Promise.resolve(other(args));
    switch (args[1]) {
      case 'deployments,statefulsets,daemonsets': {
        const r = release === undefined ? undefined : releases.get(key(ns, release));
        if (!r) return list([]);
        const n = r.rolledOut ? 1 : 0;
        return list([
          {
            kind: 'Deployment',
            metadata: { name: release, namespace: ns, generation: 1 },
            spec: { replicas: 1 },
            status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, readyReplicas: n, availableReplicas: n },
          },
        ]);
      }
      case 'pods':
      case 'jobs':
      case 'customresourcedefinitions':
        return list([]);
      case 'helmreleases.helm.toolkit.fluxcd.io':
        // No Flux on this cluster.
        return Promise.resolve({
          code: 1,
          stdout: '',
          stderr: `error: the server doesn't have a resource type "helmreleases"\n`,
        });
      default:
        return Promise.resolve(other(args));
    }
  };

  const tools: Tools = { major: 4, helm, kubectl };
  const get = (release: string, ns = plan.namespace) => releases.get(key(ns, release));
  /** The mutating Helm verbs (and history reads) the driver sent for a release, in order. */
  const verbs = (release: string) =>
    calls
      .filter((c) => c[0] === 'helm' && ['history', 'uninstall', 'upgrade'].includes(String(c[1])))
      .filter((c) => (c[1] === 'upgrade' ? c[3] : c[2]) === release)
      .map((c) => String(c[1]));
  return { tools, calls, unexpected, log, releases, get, verbs, maxRunning: () => maxRunning };
}
type Cluster = ReturnType<typeof fakeCluster>;

async function deploy(cluster: Cluster, over: Partial<DriverOptions> = {}) {
  const events: DeployEvent[] = [];
  const result = await deployPlan({
    plan,
    planRevision: REV,
    chartPath: (c) => join(tmp, c.chart),
    chartValues: () => undefined,
    tools: cluster.tools,
    postRenderFlags: () => [],
    workDir: mkdtempSync(join(tmp, 'work-')),
    emit: (e) => {
      events.push(e);
      if ('release' in e) cluster.log.push(`${e.type} ${e.release}`);
    },
    sleep: () => Promise.resolve(),
    hookPollMs: 2,
    ...over,
  });
  expect(cluster.unexpected).toEqual([]);
  const outcomes = Object.fromEntries(result.results.map((r) => [r.release, r.outcome]));
  return { result, events, outcomes };
}

const releasesOf = (p: Plan) => p.components.map((c) => c.release);

describe('deploy driver: scheduling', () => {
  it('starts a release only after all its dependencies were deployed; the first level starts together', async () => {
    const cluster = fakeCluster();
    const { result, events } = await deploy(cluster);
    expect(result.ok).toBe(true);
    expect(result.results.map((r) => [r.release, r.outcome, r.action])).toEqual(
      releasesOf(plan).map((r) => [r, 'deployed', 'install']),
    );
    const pos = (entry: string) => {
      const i = cluster.log.indexOf(entry);
      expect(i, entry).toBeGreaterThanOrEqual(0);
      return i;
    };
    let pairs = 0;
    for (const c of plan.components)
      for (const d of c.dependsOn) {
        const dep = plan.components.find((x) => x.name === d)?.release ?? d;
        // The driver's own verdict (Ready, read from the cluster) and Helm's action both end before the dependent.
        expect(pos(`deployed ${dep}`), `${c.release} after ${dep}`).toBeLessThan(pos(`start ${c.release}`));
        expect(pos(`helm-end ${dep}`), `${c.release} after ${dep}`).toBeLessThan(pos(`helm-start ${c.release}`));
        pairs++;
      }
    expect(pairs).toBe(4);
    // The three releases without dependencies run their Helm actions at the same time.
    const helm = cluster.log.filter((l) => l.startsWith('helm-'));
    expect(helm.slice(0, 3).sort()).toEqual([
      'helm-start kyverno',
      'helm-start monitoring',
      'helm-start tier1-database',
    ]);
    expect(events.filter((e) => e.type === 'level').map((e) => e.releases)).toEqual([
      ['tier1-database', 'monitoring', 'kyverno'],
      ['tier2-cache'],
      ['tier3-api'],
      ['tier4-frontend'],
    ]);
  });

  it('runs at most `concurrency` releases at once (default 3)', async () => {
    const two = fakeCluster();
    const r2 = await deploy(two, { concurrency: 2 });
    expect(r2.result.ok).toBe(true);
    expect(two.maxRunning()).toBe(2);
    const byDefault = fakeCluster();
    await deploy(byDefault);
    expect(byDefault.maxRunning()).toBe(3);
    const one = fakeCluster();
    await deploy(one, { concurrency: 1 });
    expect(one.maxRunning()).toBe(1);
  });

  it('a failed release stops its dependents, transitively; independent releases still deploy', async () => {
    const stderr = [
      'WARNING: Kubernetes configuration file is group-readable. This is insecure. Location: /tmp/kubeconfig',
      'level=INFO msg="dependency-check: tier1-database Ready"',
      'Error: INSTALLATION FAILED: failed pre-install: 1 error occurred:',
      '\t* job tier2-cache-pre-install-check failed: BackoffLimitExceeded',
      '',
    ].join('\n');
    const cluster = fakeCluster({ fail: { 'tier2-cache': stderr } });
    const { result, events, outcomes } = await deploy(cluster);
    expect(result.ok).toBe(false);
    expect(outcomes).toEqual({
      'tier1-database': 'deployed',
      'tier2-cache': 'failed',
      'tier3-api': 'not-started',
      'tier4-frontend': 'not-started',
      monitoring: 'deployed',
      kyverno: 'deployed',
    });
    const of = (r: string) => result.results.find((x) => x.release === r);
    const reason =
      'Error: INSTALLATION FAILED: failed pre-install: 1 error occurred:\n\t* job tier2-cache-pre-install-check failed: BackoffLimitExceeded';
    expect(of('tier2-cache')).toMatchObject({ action: 'install', reason });
    expect(events).toContainEqual(expect.objectContaining({ type: 'failed', release: 'tier2-cache', reason }));
    expect(of('tier3-api')).toMatchObject({
      blockedBy: 'tier2-cache',
      dependencyFailed: true,
      reason: 'dependency tier2-cache failed',
    });
    expect(of('tier4-frontend')).toMatchObject({
      blockedBy: 'tier3-api',
      dependencyFailed: true,
      reason: 'dependency tier3-api was not started',
    });
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'not-started', release: 'tier4-frontend', blockedBy: 'tier3-api' }),
    );
    // Not even read: nothing was sent to the cluster about the blocked releases.
    const mentions = (r: string) => cluster.calls.filter((c) => c.join(' ').includes(r));
    expect([...mentions('tier3-api'), ...mentions('tier4-frontend')]).toEqual([]);
    expect(cluster.get('tier2-cache')?.revisions.map((x) => x.status)).toEqual(['failed']);
    expect(events.at(-1)).toMatchObject({
      type: 'summary',
      ok: false,
      failed: ['tier2-cache'],
      notStarted: ['tier3-api', 'tier4-frontend'],
    });
  });

  it('with --only, a dependency outside the selection must already be Ready at this plan revision', async () => {
    const cluster = fakeCluster();
    const alone = await deploy(cluster, { only: ['tier2-cache'] });
    expect(alone.result.ok).toBe(false);
    expect(alone.result.results).toEqual([
      expect.objectContaining({
        release: 'tier2-cache',
        outcome: 'not-started',
        blockedBy: 'tier1-database',
        dependencyFailed: false,
        reason: expect.stringMatching(/^dependency tier1-database is not Ready: not installed/),
      }),
    ]);
    await deploy(cluster, { only: ['tier1-database'], planRevision: 'ffffffffffffffff' });
    const stale = await deploy(cluster, { only: ['tier2-cache'] });
    expect(stale.result.results[0]?.reason).toMatch(/at plan revision ffffffffffffffff, the plan is at 0123/);
    expect(cluster.verbs('tier2-cache')).toEqual([]);
    await deploy(cluster, { only: ['tier1-database'] });
    const ready = await deploy(cluster, { only: ['tier2-cache'] });
    expect(ready.outcomes).toEqual({ 'tier2-cache': 'deployed' });
    expect(cluster.verbs('tier2-cache')).toEqual(['upgrade']);
  });
});

describe('deploy driver: decisions and command lines', () => {
  it('install, upgrade, reinstall or nothing, from what Helm and the workloads say', async () => {
    const cluster = fakeCluster();
    expect((await deploy(cluster)).result.ok).toBe(true);
    const rel = (r: string) => cluster.get(r) as Release;
    // tier1-database stays as deployed. tier2-cache: someone changed its values by hand.
    const cache = rel('tier2-cache');
    const cacheRev = cache.revisions[0] as Revision;
    cacheRev.values = { ...cacheRev.values, cache: { enabled: true, replicas: 3 } };
    // tier3-api: its last upgrade failed, an earlier revision was deployed.
    const api = rel('tier3-api');
    const apiRev = api.revisions[0] as Revision;
    api.revisions = [
      { ...apiRev, status: 'superseded' },
      { ...apiRev, revision: 2, status: 'failed' },
    ];
    // tier4-frontend: same chart, values and revision, but its Deployment is not rolled out.
    rel('tier4-frontend').rolledOut = false;
    // monitoring: its only revision (the first install) failed. kyverno: not installed.
    rel('monitoring').revisions = [{ ...(rel('monitoring').revisions[0] as Revision), status: 'failed' }];
    cluster.releases.delete(`${plan.namespace}/kyverno`);
    cluster.calls.length = 0;

    // The dry run says what it would do and why, and changes nothing.
    const dry = await deploy(cluster, { dryRun: true });
    expect(dry.outcomes).toEqual(Object.fromEntries(releasesOf(plan).map((r) => [r, 'planned'])));
    const would = Object.fromEntries(
      dry.events.flatMap((e) => (e.type === 'would' ? [[e.release, [e.action, e.why]]] : [])),
    );
    expect(would).toEqual({
      'tier1-database': ['none', 'unchanged and Ready'],
      'tier2-cache': ['upgrade', 'values changed'],
      'tier3-api': ['upgrade', 'last revision is failed'],
      'tier4-frontend': [
        'upgrade',
        expect.stringMatching(/^unchanged but not Ready: deployment\/tier4-frontend: 0\/1/),
      ],
      monitoring: ['reinstall', 'only revision is failed'],
      kyverno: ['install', 'not installed'],
    });
    expect(cluster.calls.filter((c) => c[1] === 'upgrade' || c[1] === 'uninstall')).toEqual([]);

    const run = await deploy(cluster);
    expect(run.result.ok).toBe(true);
    expect(Object.fromEntries(run.result.results.map((r) => [r.release, [r.outcome, r.action]]))).toEqual({
      'tier1-database': ['unchanged', undefined],
      'tier2-cache': ['deployed', 'upgrade'],
      'tier3-api': ['deployed', 'upgrade'],
      'tier4-frontend': ['deployed', 'upgrade'],
      monitoring: ['deployed', 'reinstall'],
      kyverno: ['deployed', 'install'],
    });
    expect(run.events).toContainEqual({
      type: 'unchanged',
      release: 'tier1-database',
      tier: 1,
      level: 0,
      helmRevision: 1,
    });
    // The Helm verbs of the dry run and the real run together (history is read by both for a failed release).
    expect(Object.fromEntries(releasesOf(plan).map((r) => [r, cluster.verbs(r)]))).toEqual({
      'tier1-database': [],
      'tier2-cache': ['upgrade'],
      'tier3-api': ['history', 'history', 'upgrade'],
      'tier4-frontend': ['upgrade'],
      monitoring: ['history', 'history', 'uninstall', 'upgrade'],
      kyverno: ['upgrade'],
    });
    expect(cluster.calls).toContainEqual([
      'helm',
      'uninstall',
      'monitoring',
      '-n',
      'apps',
      '--wait',
      '--timeout',
      '120s',
    ]);
    // Reinstalled: a fresh history. Upgraded: the plan's values again.
    expect(rel('monitoring').revisions.map((x) => [x.revision, x.status])).toEqual([[1, 'deployed']]);
    expect(rel('tier2-cache').revisions.at(-1)?.values.cache).toEqual({ enabled: true });

    // Nothing left to do: no Helm action at all.
    cluster.calls.length = 0;
    const again = await deploy(cluster);
    expect(again.outcomes).toEqual(Object.fromEntries(releasesOf(plan).map((r) => [r, 'unchanged'])));
    expect(releasesOf(plan).flatMap((r) => cluster.verbs(r))).toEqual([]);
  });

  it('never uninstalls on a failed history read, and stops a reinstall whose uninstall failed', async () => {
    const only = ['tier1-database', 'monitoring'];
    const failedOnly = (cluster: Cluster) => {
      for (const r of only) {
        const rel = cluster.get(r) as Release;
        rel.revisions = [{ ...(rel.revisions[0] as Revision), status: 'failed' }];
      }
      cluster.calls.length = 0;
    };
    // tier1-database: deployed once, its last upgrade failed; but its history cannot be read just now.
    const unreadable = fakeCluster({ failHistory: ['tier1-database'] });
    expect((await deploy(unreadable, { only })).result.ok).toBe(true);
    const db = unreadable.get('tier1-database') as Release;
    db.revisions = [
      { ...(db.revisions[0] as Revision), status: 'superseded' },
      { ...(db.revisions[0] as Revision), revision: 2, status: 'failed' },
    ];
    unreadable.calls.length = 0;
    const r1 = await deploy(unreadable, { only: ['tier1-database'] });
    expect(r1.outcomes).toEqual({ 'tier1-database': 'failed' });
    expect(r1.result.results[0]?.reason).toMatch(/Helm history of tier1-database/);
    expect(unreadable.verbs('tier1-database')).toEqual(['history']);
    expect(unreadable.get('tier1-database')?.revisions.map((x) => x.status)).toEqual(['superseded', 'failed']);

    // monitoring: its only revision failed, and Helm refuses to uninstall it: no install over it.
    const stuck = fakeCluster({ failUninstall: { monitoring: 'Error: uninstallation completed with 1 error(s)\n' } });
    expect((await deploy(stuck, { only })).result.ok).toBe(true);
    failedOnly(stuck);
    const r2 = await deploy(stuck, { only: ['monitoring'] });
    expect(r2.outcomes).toEqual({ monitoring: 'failed' });
    expect(r2.result.results[0]?.reason).toMatch(/^helm uninstall .*uninstallation completed with 1 error/);
    expect(stuck.verbs('monitoring')).toEqual(['history', 'uninstall']);
    expect(r2.events).toContainEqual(
      expect.objectContaining({ type: 'failed', release: 'monitoring', action: 'reinstall' }),
    );
  });

  it('sends helm upgrade --install with namespace, values file, --wait, --timeout and the post-render flags', async () => {
    // tier4-frontend with `wait: false`: Helm does not wait for it.
    const noWait: Plan = {
      ...plan,
      components: plan.components.map((c) => (c.release === 'tier4-frontend' ? { ...c, wait: false } : c)),
    };
    const cluster = fakeCluster();
    const { result } = await deploy(cluster, {
      plan: noWait,
      timeoutSeconds: 77,
      values: { global: { autoFixPods: true }, api: { replicas: 2 } },
      postRenderFlags: (c) => [
        '--post-renderer',
        '/bin/post-renderer',
        '--post-renderer-args',
        `--release=${c.release}`,
      ],
    });
    expect(result.ok).toBe(true);
    const upgrade = (r: string) => cluster.calls.find((c) => c[1] === 'upgrade' && c[3] === r)?.slice(1);
    expect(upgrade('tier3-api')).toEqual([
      'upgrade',
      '--install',
      'tier3-api',
      chartDir,
      '-n',
      'apps',
      '--create-namespace',
      '-f',
      expect.stringMatching(/\.json$/),
      '--wait',
      '--timeout',
      '77s',
      '--post-renderer',
      '/bin/post-renderer',
      '--post-renderer-args',
      '--release=tier3-api',
    ]);
    const frontend = upgrade('tier4-frontend') ?? [];
    expect(frontend).not.toContain('--wait');
    expect(frontend.slice(-6)).toEqual([
      '--timeout',
      '77s',
      '--post-renderer',
      '/bin/post-renderer',
      '--post-renderer-args',
      '--release=tier4-frontend',
    ]);
    // The values file Helm got (read when helm ran).
    const values = cluster.get('tier3-api')?.revisions.at(-1)?.values as {
      global: { tiers: unknown; autoFixPods: unknown; hooks: { helmTimeoutSeconds: unknown } };
      api: unknown;
    };
    expect(values.global.tiers).toEqual({
      component: 'api',
      tier: 3,
      dependsOn: ['tier1-database', 'tier2-cache'],
      labelPrefix: 'helm-tiers.io/',
      plan: 'platform',
      partOfLabel: false,
      planRevision: REV,
    });
    expect(values.global.autoFixPods).toBe(true);
    // The chart is told the timeout (it refuses hook deadlines that reach it).
    expect(values.global.hooks.helmTimeoutSeconds).toBe(77);
    // `values` merged over the plan's values, not replacing them.
    expect(values.api).toMatchObject({ enabled: true, replicas: 2 });
  });
});

describe('errorHead', () => {
  it("keeps Helm's Error: line and its details, not Helm 4's hook-log dump", () => {
    const stderr =
      'level=INFO msg="CRD  NEED\\nfoo  required"\nError: INSTALLATION FAILED: failed pre-install: x\n\t* job y failed\n';
    expect(errorHead(stderr)).toBe('Error: INSTALLATION FAILED: failed pre-install: x\n\t* job y failed');
  });

  it('drops the kubeconfig-permission WARNING line (and, without an Error: line, the hook log)', () => {
    expect(errorHead('WARNING: Kubernetes configuration file is group-readable\nboom\n')).toBe('boom');
    expect(errorHead('level=INFO msg="hook says hi"\nsomething broke\n')).toBe('something broke');
  });
});
