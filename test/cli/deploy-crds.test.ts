// The driver's CRD rules at the Tools boundary (helm and kubectl answered by a small in-memory cluster): the plan's
// CRD tier applied and Established before any release that names CRDs, a failing CRD tier stopping exactly those
// releases and their dependents, one more upgrade when a release's own hooks installed its CRDs during its action,
// hook Job states reported while Helm runs, and plan `wait: false` leaving out --wait.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { deployPlan, type DeployEvent } from '../../cli/deploy/driver.js';
import type { Tools } from '../../cli/deploy/state.js';
import { parsePlan } from '../../plan/plan.js';

const tmp = mkdtempSync(join(tmpdir(), 'deploy-crds-'));
afterAll(() => {
  rmSync(tmp, { recursive: true, force: true });
});

const REV = 'aaaaaaaaaaaaaaaa';
const chart = join(tmp, 'chart');
mkdirSync(chart);
writeFileSync(join(chart, 'Chart.yaml'), 'apiVersion: v2\nname: c\nversion: 0.1.0\n');
const crdChart = join(tmp, 'crds-chart');
mkdirSync(join(crdChart, 'crds'), { recursive: true });
writeFileSync(join(crdChart, 'Chart.yaml'), 'apiVersion: v2\nname: crds\nversion: 0.1.0\n');
writeFileSync(
  join(crdChart, 'crds', 'widgets.yaml'),
  'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: widgets.example.com\n',
);

const planOf = (crds: string, extra = '') =>
  parsePlan(
    [
      'name: p',
      'namespace: apps',
      'chart: ./chart',
      crds,
      'components:',
      '  - {name: db, tier: 1}',
      `  - {name: ops, tier: 0, requiredCRDs: [widgets.example.com]${extra}}`,
      '  - {name: web, tier: 2, dependsOn: [db, ops]}',
      '',
    ].join('\n'),
    'plan.yaml',
  );

/** helm and kubectl over an in-memory cluster; `onUpgrade` may change it (a hook installing CRDs). */
function fakeCluster(o: { onUpgrade?: (release: string, n: number) => void; failApply?: boolean } = {}) {
  const releases = new Map<string, number>();
  const crds = new Set<string>();
  const calls: string[][] = [];
  const ok = (stdout: string) => Promise.resolve({ code: 0, stdout, stderr: '' });
  const tools: Tools = {
    major: 4,
    helm: (args) => {
      calls.push(['helm', ...args]);
      const [verb] = args;
      if (verb === 'list') {
        const name = String(args[args.indexOf('--filter') + 1]).replace(/^\^|\$$/g, '');
        const rev = releases.get(name);
        return ok(JSON.stringify(rev ? [{ name, revision: rev, status: 'deployed', chart: 'c-0.1.0' }] : []));
      }
      if (verb === 'get') return ok(JSON.stringify({ global: { tiers: { planRevision: REV } } }));
      if (verb === 'upgrade') {
        const name = String(args[2]);
        const n = (releases.get(name) ?? 0) + 1;
        releases.set(name, n);
        o.onUpgrade?.(name, n);
        return ok('');
      }
      return ok('[]');
    },
    kubectl: (args) => {
      calls.push(['kubectl', ...args]);
      if (args[0] === 'apply') {
        if (o.failApply) return Promise.resolve({ code: 1, stdout: '', stderr: 'Error: forbidden' });
        crds.add('widgets.example.com');
        return ok('');
      }
      if (args[0] === 'wait') return ok('');
      if (args[1] === 'customresourcedefinitions') {
        const items = [...crds].map((name) => ({
          metadata: { name },
          spec: { versions: [{ name: 'v1', served: true }] },
          status: { conditions: [{ type: 'Established', status: 'True' }] },
        }));
        return ok(JSON.stringify({ items }));
      }
      if (args[1] === 'jobs') {
        const items = [...releases.keys()].map((r) => ({
          metadata: { name: `${r}-pre-crd-check`, creationTimestamp: new Date().toISOString() },
          status: { succeeded: 1, conditions: [{ type: 'Complete', status: 'True' }] },
        }));
        return ok(JSON.stringify({ items }));
      }
      return ok(JSON.stringify({ items: [] }));
    },
  };
  return { tools, calls, crds, releases };
}

async function deploy(plan: ReturnType<typeof planOf>, cluster: ReturnType<typeof fakeCluster>) {
  const events: DeployEvent[] = [];
  const result = await deployPlan({
    plan,
    planRevision: REV,
    chartPath: (c) => (c.chart === './crds-chart' ? crdChart : chart),
    chartValues: () => undefined,
    tools: cluster.tools,
    postRenderFlags: () => [],
    workDir: tmp,
    emit: (e) => events.push(e),
    sleep: () => Promise.resolve(),
    hookPollMs: 5,
  });
  return { result, events };
}

describe('deploy and CRDs', () => {
  it('applies the CRD tier server-side and waits for it before the releases that name CRDs', async () => {
    const cluster = fakeCluster();
    const { result, events } = await deploy(planOf('crds: {autoInstall: true, chart: ./crds-chart}'), cluster);
    expect(result.ok).toBe(true);
    const apply = cluster.calls.findIndex((c) => c[1] === 'apply');
    expect(cluster.calls[apply]).toEqual(expect.arrayContaining(['--server-side', '--force-conflicts']));
    expect(cluster.calls[apply + 1]).toEqual(expect.arrayContaining(['wait', 'crd/widgets.example.com']));
    const firstUpgrade = cluster.calls.findIndex((c) => c[1] === 'upgrade');
    expect(apply).toBeLessThan(firstUpgrade);
    expect(events.find((e) => e.type === 'crds')).toMatchObject({ ok: true, crds: ['widgets.example.com'] });
    // CRDs served before its render: one Helm action for ops, no second render.
    expect(cluster.releases.get('ops')).toBe(1);
  });

  it('a failing CRD tier stops the releases that name CRDs and their dependents, not the others', async () => {
    const cluster = fakeCluster({ failApply: true });
    const { result, events } = await deploy(planOf('crds: {autoInstall: true, chart: ./crds-chart}'), cluster);
    expect(result.ok).toBe(false);
    const outcome = Object.fromEntries(result.results.map((r) => [r.release, r.outcome]));
    expect(outcome).toEqual({ db: 'deployed', ops: 'not-started', web: 'not-started' });
    expect(result.results.find((r) => r.release === 'ops')).toMatchObject({
      blockedBy: 'p-crds',
      dependencyFailed: true,
    });
    expect(events.find((e) => e.type === 'crds')).toMatchObject({ ok: false });
  });

  it('renders a release once more when its hooks installed its CRDs during the action', async () => {
    const cluster = fakeCluster({
      onUpgrade: (r, n) => r === 'ops' && n === 1 && cluster.crds.add('widgets.example.com'),
    });
    const { result, events } = await deploy(planOf('crds: {autoInstall: false}'), cluster);
    expect(result.ok).toBe(true);
    expect(cluster.releases.get('ops')).toBe(2);
    expect(cluster.releases.get('db')).toBe(1);
    const starts = events.filter((e) => e.type === 'start' && e.release === 'ops');
    expect(starts).toHaveLength(2);
    expect(starts[1]).toMatchObject({ action: 'upgrade', why: expect.stringMatching(/CRDs/) });
    expect(cluster.calls.some((c) => c[1] === 'apply')).toBe(false);
  });

  it('reports the hook Jobs of an action, and plan wait: false drops --wait for that release only', async () => {
    const cluster = fakeCluster();
    const { events } = await deploy(planOf('', ', wait: false'), cluster);
    expect(events).toContainEqual(
      expect.objectContaining({ type: 'hook', release: 'db', job: 'db-pre-crd-check', phase: 'succeeded' }),
    );
    const upgrade = (r: string) => cluster.calls.find((c) => c[1] === 'upgrade' && c[3] === r) ?? [];
    expect(upgrade('ops')).not.toContain('--wait');
    expect(upgrade('db')).toContain('--wait');
  });
});
