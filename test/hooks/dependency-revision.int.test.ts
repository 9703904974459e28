// dependency-check --plan-revision against the simulated cluster: the dependency's Deployment is rendered by the
// post-renderer's core (as `helm-tiers post-render --plan-revision` writes it) and rolled out by the sim's
// controllers; the check runs as the bundle, with the RBAC of hooks/README.md. The real control plane repeats it
// (test/cluster-real/dependency-revision.test.ts).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { startCluster, type SimCluster } from '../../cluster/sim/index.js';
import { labelKeys, tierMetadata } from '../../core/labels.js';
import { postRender } from '../../post-renderer/src/render.js';
import { ensureBundles, grant, namespace, RBAC, runHook, startHook } from './support.js';

const NS = 'apps';
const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';
const KEY = labelKeys().planRevision;

type Obj = Record<string, any>;

/** The dependency's Deployment as the post-renderer writes it for release tier1-database at `revision`. */
function rendered(revision: string, image: string): Obj {
  const chart = [
    'apiVersion: apps/v1',
    'kind: Deployment',
    'metadata:',
    '  name: database',
    `  namespace: ${NS}`,
    'spec:',
    '  replicas: 1',
    '  selector:',
    '    matchLabels: {app: database}',
    '  template:',
    '    metadata:',
    '      labels: {app: database}',
    '    spec:',
    `      containers: [{name: db, image: "${image}"}]`,
    '',
  ].join('\n');
  const meta = tierMetadata({
    release: 'tier1-database',
    component: 'database',
    tier: 1,
    plan: 'platform',
    dependsOn: [],
    planRevision: revision,
  });
  return parse(postRender(chart, { meta }).output) as Obj;
}

describe('dependency-check --plan-revision against the simulated cluster', () => {
  let c: SimCluster;
  let kc: string;
  const check = (args: string[], timeout: number) =>
    runHook('dependency-check', [`--timeout=${timeout}`, '--depends-on=tier1-database', ...args], {
      KUBECONFIG: kc,
    });

  beforeAll(async () => {
    ensureBundles();
    c = await startCluster({ rbac: true });
    namespace(c, NS);
    const rt = c.cluster.rt('apps', 'deployments');
    if (!rt) throw new Error('no deployments');
    c.cluster.create(rt, NS, rendered(A, 'example/database:1'));
    kc = grant(c, NS, 'dependency-check', RBAC['dependency-check'] ?? {});
    await c.settle(5000);
  });
  afterAll(async () => {
    await c.stop();
  });

  it('the rendered dependency carries the revision on its metadata, not on its pod template', () => {
    const d = rendered(A, 'example/database:1');
    expect(d.metadata.annotations[KEY]).toBe(A);
    expect(JSON.stringify(d.spec.template)).not.toContain('plan-revision');
  });

  it('without --plan-revision a rolled-out dependency passes, whatever its revision (as before)', async () => {
    const r = await check([], 20);
    expect(r.code, r.stdout).toBe(0);
    expect(r.summary).toMatch(/1 dependencies ready \(1 objects\) \(exit 0\)$/);
  });

  it('at its own revision it passes, and the summary says which', async () => {
    const r = await check([`--plan-revision=${A}`], 20);
    expect(r.code, r.stdout).toBe(0);
    expect(r.summary).toContain(`at plan revision ${A}`);
  });

  it('a healthy dependency at another revision: exit 20 at the deadline, naming the release and both revisions', async () => {
    const r = await check([`--plan-revision=${B}`], 3);
    expect(r.code).toBe(20);
    expect(r.stdout).toMatch(/tier1-database\s+deployment\/database\s+InProgress\s+PlanRevisionMismatch/);
    expect(r.summary).toContain(
      `tier1-database deployment/database PlanRevisionMismatch: at plan revision ${A}, wanted ${B}`,
    );
  });

  it('waits while the dependency is at the old revision and passes once it is upgraded and rolled out', async () => {
    const h = startHook('dependency-check', ['--timeout=60', '--depends-on=tier1-database', `--plan-revision=${B}`], {
      KUBECONFIG: kc,
    });
    await h.waitFor('PlanRevisionMismatch');
    // The upgrade: Helm replaces the object with the new render (new image: a rollout; new revision annotation).
    const rt = c.cluster.rt('apps', 'deployments');
    if (!rt) throw new Error('no deployments');
    const cur = c.cluster.get(rt, NS, 'database');
    const next = rendered(B, 'example/database:2');
    c.cluster.update(rt, NS, 'database', {
      ...next,
      metadata: { ...cur.metadata, labels: next.metadata.labels, annotations: next.metadata.annotations },
    });
    expect(await h.exit, h.output()).toBe(0);
    expect(h.output()).toContain(`1 dependencies ready (1 objects) at plan revision ${B}`);
    const after = c.cluster.get(rt, NS, 'database');
    expect(after.spec.template.spec.containers[0].image).toBe('example/database:2');
    expect(after.status.updatedReplicas).toBe(1);
  });
});
