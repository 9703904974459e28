// dependency-check --plan-revision on the REAL control plane (kube-apiserver, controller-manager, scheduler from Go
// modules) with the node agent as kubelet, so the real Deployment controller rolls out and reports Available.
// The dependency is rendered by the real post-renderer bundle (`post-render --plan-revision`) and applied as Helm's
// upgrade would apply it; the check is the bundle dist/hooks/dependency-check.cjs with a ServiceAccount token and
// exactly the RBAC of hooks/README.md. Revision A deployed, the check wanting B fails naming the release and both
// revisions; after the upgrade to B has rolled out, it passes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { kubeBinDir, startControlPlane, type ControlPlane } from '../../cluster/real/control-plane.js';
import { nodeAgentOptions, startNodeAgent, type NodeAgent } from '../../cluster/real/node-agent.js';
import { labelKeys } from '../../core/labels.js';
import { ensureBundles, runHook, startHook } from '../hooks/support.js';
import { eventually as poll, exec } from './support.js';

/** The waits here include rollouts behind a cordoned node: a longer bound than the shared default. */
const eventually = <T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> =>
  poll(what, fn, timeoutMs);

const root = resolve(import.meta.dirname, '../..');
const KUBECTL = join(root, '.tools/helm4/kubectl');
const POST_RENDERER = join(root, 'dist/post-renderer.cjs');
const binDir = kubeBinDir(root);
// In CI a missing build is a failure (beforeAll throws), never a silent skip.
const run = binDir !== undefined || Boolean(process.env.CI);
if (!run)
  console.warn(
    '\n*** test/cluster-real/dependency-revision SKIPPED: the Kubernetes control-plane binaries are not built. ' +
      'Run `npm run setup:kube` (needs Go 1.26) to build them into .tools/kube. ***\n',
  );

const NS = 'apps';
const A = 'aaaaaaaaaaaaaaaa';
const B = 'bbbbbbbbbbbbbbbb';
const KEY = labelKeys().planRevision;

/** What the chart renders for the dependency (before the post-renderer). */
const chartRender = (image: string) =>
  [
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

describe.skipIf(!run)('dependency-check --plan-revision on the real control plane', () => {
  let cp: ControlPlane;
  let agent: NodeAgent;
  let saConfig: string;
  const home = mkdtempSync(join(tmpdir(), 'dep-revision-test-'));
  const kubectl = (args: string[], input?: string) =>
    exec(KUBECTL, ['--kubeconfig', cp.kubeconfig, ...args], { HOME: home }, input);
  const json = async (args: string[]) => JSON.parse((await kubectl([...args, '-o', 'json'])).stdout);

  /** The real post-renderer bundle, explicit identity of tier1-database, at `revision`; then applied (Helm's part). */
  async function deploy(revision: string, image: string): Promise<void> {
    const pr = await exec(
      process.execPath,
      [
        POST_RENDERER,
        '--release=tier1-database',
        '--component=database',
        '--tier=1',
        '--plan-name=platform',
        `--plan-revision=${revision}`,
        `--log-file=${join(home, 'post-renderer.log')}`,
      ],
      { HOME: home },
      chartRender(image),
    );
    expect(pr.code, pr.stderr).toBe(0);
    const obj = parse(pr.stdout) as { metadata: { annotations: Record<string, string> }; spec: any };
    expect(obj.metadata.annotations[KEY]).toBe(revision);
    expect(JSON.stringify(obj.spec.template.metadata)).not.toContain(KEY);
    const r = await kubectl(['apply', '--server-side', '--field-manager=helm', '-f', '-'], pr.stdout);
    expect(r.code, r.stderr).toBe(0);
  }

  /** Rolled out: the real controller observed the spec and the new pods are Available. */
  const rolledOut = (image: string) =>
    eventually(`deployment/database rolled out with ${image}`, async () => {
      const d = await json(['get', 'deployment', 'database', '-n', NS]);
      const ok =
        d.status?.observedGeneration === d.metadata.generation &&
        d.status?.updatedReplicas === 1 &&
        d.status?.availableReplicas === 1 &&
        d.status?.replicas === 1 &&
        d.spec.template.spec.containers[0].image === image;
      return ok ? d : undefined;
    });

  const check = (revision: string, timeout: number) =>
    runHook(
      'dependency-check',
      [`--namespace=${NS}`, `--timeout=${timeout}`, '--depends-on=tier1-database', `--plan-revision=${revision}`],
      { KUBECONFIG: saConfig },
    );

  beforeAll(async () => {
    if (binDir === undefined)
      throw new Error('CI: the control-plane binaries are missing; run `npm run setup:kube` before the tests');
    ensureBundles();
    cp = await startControlPlane({ binDir });
    agent = await startNodeAgent(nodeAgentOptions(cp, { nodes: ['node-1'], cwd: root }));
    expect((await kubectl(['create', 'namespace', NS])).code).toBe(0);
    // The Role of hooks/README.md (dependency-check, no --require-services), bound to the hook's ServiceAccount.
    const rbac = [
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'dependency-check', namespace: NS } },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'Role',
        metadata: { name: 'dependency-check', namespace: NS },
        rules: [
          { apiGroups: ['apps'], resources: ['deployments', 'statefulsets', 'daemonsets'], verbs: ['list'] },
          { apiGroups: ['batch'], resources: ['jobs'], verbs: ['list'] },
          { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['list'] },
        ],
      },
      {
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'RoleBinding',
        metadata: { name: 'dependency-check', namespace: NS },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'dependency-check' },
        subjects: [{ kind: 'ServiceAccount', name: 'dependency-check', namespace: NS }],
      },
    ];
    const r = await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: rbac }));
    expect(r.code, r.stderr).toBe(0);
    const token = await eventually('a token for the hook ServiceAccount', async () => {
      const t = await kubectl(['create', 'token', 'dependency-check', '-n', NS]);
      return t.code === 0 ? t.stdout.trim() : undefined;
    });
    saConfig = cp.kubeconfigForToken(token, 'dependency-check', NS);
    await eventually('a Ready node', async () => {
      const nodes = await json(['get', 'nodes']);
      return nodes.items.some((n: any) =>
        n.status.conditions.some((c: any) => c.type === 'Ready' && c.status === 'True'),
      )
        ? true
        : undefined;
    });
  }, 240_000);

  afterAll(async () => {
    await (agent as NodeAgent | undefined)?.stop();
    await (cp as ControlPlane | undefined)?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('a dependency rolled out at revision A fails the check wanting B, naming the release and both revisions', async () => {
    await deploy(A, 'registry.example/database:1');
    const d = await rolledOut('registry.example/database:1');
    expect(d.metadata.annotations[KEY]).toBe(A);
    // Healthy at A: the check at A passes (the plain readiness rules hold on the real controller's status).
    const same = await check(A, 60);
    expect(same.code, same.stdout).toBe(0);
    expect(same.summary).toContain(`at plan revision ${A}`);
    const other = await check(B, 4);
    expect(other.code, other.stdout).toBe(20);
    expect(other.stdout).toMatch(/tier1-database\s+deployment\/database\s+InProgress\s+PlanRevisionMismatch/);
    expect(other.summary).toContain(
      `tier1-database deployment/database PlanRevisionMismatch: at plan revision ${A}, wanted ${B}`,
    );
  }, 180_000);

  it('after the dependency is upgraded to B and rolled out, the check wanting B passes (not before)', async () => {
    // The node cordoned: the upgrade's new pod cannot be scheduled, so the rollout is held until we release it.
    expect((await kubectl(['cordon', 'node-1'])).code).toBe(0);
    await deploy(B, 'registry.example/database:2');
    const h = startHook(
      'dependency-check',
      [`--namespace=${NS}`, '--timeout=120', '--depends-on=tier1-database', `--plan-revision=${B}`],
      { KUBECONFIG: saConfig },
    );
    // At revision B already (the annotation is applied at once), but not rolled out: it waits on readiness.
    await h.waitFor('waiting: tier1-database deployment/database: InProgress');
    expect(h.output()).not.toContain('dependencies ready');
    expect((await kubectl(['uncordon', 'node-1'])).code).toBe(0);
    expect(await h.exit, h.output()).toBe(0);
    expect(h.output()).toContain(`1 dependencies ready (1 objects) at plan revision ${B}`);
    const d = await rolledOut('registry.example/database:2');
    expect(d.metadata.annotations[KEY]).toBe(B);
    const rs = await json(['get', 'replicasets', '-n', NS, '-l', 'app=database']);
    // The old ReplicaSet is scaled down: the pods running are the new revision's.
    expect(
      rs.items
        .filter((x: any) => x.spec.template.spec.containers[0].image === 'registry.example/database:1')
        .map((x: any) => x.status.replicas ?? 0),
    ).toEqual([0]);
  }, 180_000);
});
