// Real Helm 3.17 and 4.1 against the simulated cluster: install --wait with hook Jobs that run as processes,
// upgrade, list, uninstall; Helm's own error for a custom resource without its CRD; RBAC-denied hooks.
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from 'vitest';
import { startCluster, type SimCluster } from '../../cluster/sim/index.js';
import { chartDir, helmEnv, hookScript, removeTempDirs, run, tools } from './testkit.js';

const images = { 'sim/hook': [process.execPath, hookScript] };

describe.each([
  ['3.17', tools.helm3, tools.kubectl131],
  ['4.1', tools.helm4, tools.kubectl134],
])('helm %s', (_v, helm, kubectl) => {
  let c: SimCluster;
  let env: Record<string, string>;
  const h = (args: string[]) => run(helm, args, env);
  const k = (args: string[]) => run(kubectl, args, { KUBECONFIG: c.kubeconfig });

  beforeAll(async () => {
    c = await startCluster({ scenario: { images } });
    env = helmEnv(c.kubeconfig);
  });
  afterAll(async () => {
    await c.stop();
    removeTempDirs();
  });

  it('installs with --wait, running pre- and post-install hook Jobs as processes', async () => {
    // A failed attempt leaves the release pending; without this a CI retry could only fail with "cannot reuse a
    // name that is still in use" instead of showing whether the install works.
    onTestFailed(async () => {
      await h(['uninstall', 'app', '--namespace', 'apps', '--wait', '--ignore-not-found']);
    });
    const r = await h([
      'install',
      'app',
      chartDir,
      '--namespace',
      'apps',
      '--create-namespace',
      '--wait',
      '--timeout',
      '60s',
      '--set',
      'extraEnv=true',
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('STATUS: deployed');
    // Release records are Secrets sent as protobuf by client-go's typed client.
    const posts = c.requests.filter((q) => q.method === 'POST' && q.path === '/api/v1/namespaces/apps/secrets');
    expect(posts.length).toBeGreaterThan(0);
    expect(posts[0]!.contentType).toBe('application/vnd.kubernetes.protobuf');
    for (const phase of ['pre-install', 'post-install']) {
      const logs = await k(['logs', '-n', 'apps', `job/app-${phase}`]);
      expect(logs.stdout).toBe(`hook ${phase} running in namespace apps (HOOK_PHASE=${phase})\n`);
      const st = await k([
        'get',
        'job',
        '-n',
        'apps',
        `app-${phase}`,
        '-o',
        'jsonpath={.status.succeeded} {.status.conditions[?(@.type=="Complete")].status}',
      ]);
      expect(st.stdout).toBe('1 True');
    }
    const dep = await k(['get', 'deploy', '-n', 'apps', 'app-web', '-o', 'jsonpath={.status.readyReplicas}']);
    expect(dep.stdout).toBe('2');
  });

  it('lists, upgrades and keeps the revision history', async () => {
    const u = await h([
      'upgrade',
      'app',
      chartDir,
      '--namespace',
      'apps',
      '--wait',
      '--timeout',
      '60s',
      '--set',
      'replicas=3',
    ]);
    expect(u.stderr).toBe('');
    expect(u.stdout).toContain('has been upgraded');
    const l = await h(['list', '-n', 'apps', '-o', 'json']);
    const rel = (JSON.parse(l.stdout) as { name: string; revision: number; status: string }[])[0]!;
    expect([rel.name, String(rel.revision), rel.status]).toEqual(['app', '2', 'deployed']);
    expect((await k(['get', 'deploy', '-n', 'apps', 'app-web', '-o', 'jsonpath={.spec.replicas}'])).stdout).toBe('3');
    // The upgrade dropped env B (extraEnv defaults to false): the list item goes as a whole, by Helm 3's
    // three-way strategic merge patch and by Helm 4's server-side apply alike.
    const env = await k([
      'get',
      'deploy',
      '-n',
      'apps',
      'app-web',
      '-o',
      'jsonpath={.spec.template.spec.containers[0].env}',
    ]);
    expect(JSON.parse(env.stdout)).toEqual([{ name: 'A', value: '1' }]);
    const hist = await h(['history', 'app', '-n', 'apps']);
    expect(hist.stdout).toMatch(/1\s.*superseded/);
    expect(hist.stdout).toMatch(/2\s.*deployed/);
  });

  it('uninstalls and removes the release records and resources', async () => {
    const u = await h(['uninstall', 'app', '-n', 'apps', '--wait']);
    expect(u.stdout).toContain('release "app" uninstalled');
    // Every release state, spelled out: Helm 4 dropped `list -a`, and a rejected flag would also print nothing.
    const states = ['--deployed', '--failed', '--pending', '--superseded', '--uninstalled', '--uninstalling'];
    const emptyOk = (r: { code: number; stdout: string }) => [r.code, r.stdout.trim()];
    expect(emptyOk(await h(['list', '-n', 'apps', '-q', ...states]))).toEqual([0, '']);
    expect(
      emptyOk(
        await k([
          'get',
          'deploy/app-web',
          'svc/app-web',
          'cm/app-config',
          '-n',
          'apps',
          '--ignore-not-found',
          '-o',
          'name',
        ]),
      ),
    ).toEqual([0, '']);
    expect(emptyOk(await k(['get', 'secrets', '-n', 'apps', '-l', 'owner=helm', '-o', 'name']))).toEqual([0, '']);
  });

  it("fails a custom resource without its CRD with Helm's real mapping error, before any hook", async () => {
    const r = await h(['install', 'cr', chartDir, '--namespace', 'apps', '--set', 'customResource=true']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('resource mapping not found for name: "cr-widget"');
    expect(r.stderr).toContain('no matches for kind "Widget" in version "example.com/v1"');
    expect(r.stderr).toContain('ensure CRDs are installed first');
    expect((await k(['get', 'jobs', '-n', 'apps', 'cr-pre-install'])).stderr).toContain('not found');
  });

  it('fails the release when a hook Job fails, keeping the hook log readable', async () => {
    const r = await h([
      'install',
      'bad',
      chartDir,
      '--namespace',
      'apps',
      '--wait',
      '--timeout',
      '60s',
      '--set',
      'hookArgs={fail}',
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('pre-install');
    expect(r.stderr).toMatch(/BackoffLimitExceeded|failed/);
    const logs = await k(['logs', '-n', 'apps', 'job/bad-pre-install']);
    expect(logs.stdout).toContain('hook pre-install failing on purpose');
  });
});

describe('RBAC with real Helm hooks', () => {
  let c: SimCluster;
  beforeAll(async () => {
    c = await startCluster({ rbac: true, scenario: { images } });
  });
  afterAll(async () => {
    await c.stop();
    removeTempDirs();
  });

  const setup = `apiVersion: v1
kind: Namespace
metadata: {name: rbac}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: weak, namespace: rbac}
---
apiVersion: v1
kind: ServiceAccount
metadata: {name: reader, namespace: rbac}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: cm-reader, namespace: rbac}
rules:
- apiGroups: [""]
  resources: [configmaps]
  verbs: [get, list]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: reader, namespace: rbac}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: cm-reader}
subjects:
- {kind: ServiceAccount, name: reader, namespace: rbac}
`;

  it.each([
    ['3.17', tools.helm3, '3'],
    ['4.1', tools.helm4, '4'],
  ])(
    'helm %s: denies a hook whose ServiceAccount lacks the permission, and allows the bound one',
    async (_v, helm, major) => {
      const k = (args: string[], input?: string) => run(tools.kubectl134, args, { KUBECONFIG: c.kubeconfig }, input);
      expect((await k(['apply', '-f', '-'], setup)).code).toBe(0);
      const env = helmEnv(c.kubeconfig);
      const install = (release: string, sa: string) =>
        run(
          helm,
          [
            'install',
            release,
            chartDir,
            '-n',
            'rbac',
            '--wait',
            '--timeout',
            '60s',
            '--set',
            `hookServiceAccount=${sa}`,
            '--set',
            'hookArgs={list-configmaps}',
          ],
          env,
        );
      const weak = await install(`w${major}`, 'weak');
      expect(weak.code).not.toBe(0);
      expect(weak.stderr).toContain(`w${major}-pre-install`);
      const logs = await k(['logs', '-n', 'rbac', `job/w${major}-pre-install`]);
      expect(logs.stderr + logs.stdout).toContain(
        'configmaps is forbidden: User "system:serviceaccount:rbac:weak" cannot list resource "configmaps" in API group "" in the namespace "rbac"',
      );
      const ok = await install(`r${major}`, 'reader');
      expect([ok.code, ok.stderr]).toEqual([0, '']);
      expect((await k(['logs', '-n', 'rbac', `job/r${major}-post-install`])).stdout).toMatch(/configmaps: \d+/);
    },
  );

  it('answers kubectl as a ServiceAccount with the real 403 text', async () => {
    const kc = c.kubeconfigFor({ namespace: 'rbac', name: 'reader' });
    const k = (args: string[]) => run(tools.kubectl131, args, { KUBECONFIG: kc });
    expect((await k(['get', 'cm', '-n', 'rbac'])).code).toBe(0);
    const denied = await k(['get', 'pods', '-n', 'rbac']);
    expect(denied.stderr).toContain(
      'Error from server (Forbidden): pods is forbidden: User "system:serviceaccount:rbac:reader" cannot list resource "pods" in API group "" in the namespace "rbac"',
    );
    const can = await k(['auth', 'can-i', 'list', 'configmaps', '-n', 'rbac']);
    expect(can.stdout.trim()).toBe('yes');
    const cannot = await k(['auth', 'can-i', 'delete', 'configmaps', '-n', 'rbac']);
    expect(cannot.stdout.trim()).toBe('no');
  });

  it('allows only the discovery and health URLs to non-admin users; other paths need nonResourceURLs', async () => {
    const kc = c.kubeconfigFor({ namespace: 'rbac', name: 'reader' });
    const k = (args: string[]) => run(tools.kubectl134, args, { KUBECONFIG: kc });
    for (const path of ['/version', '/healthz', '/readyz', '/livez', '/api', '/apis', '/openapi/v3'])
      expect((await k(['get', '--raw', path])).code, path).toBe(0);
    const metrics = await k(['get', '--raw', '/metrics']);
    expect(metrics.code).not.toBe(0);
    expect(metrics.stderr).toContain(
      'Error from server (Forbidden): forbidden: User "system:serviceaccount:rbac:reader" cannot get path "/metrics"',
    );
    const grant = `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: metrics-reader}
rules:
- nonResourceURLs: [/metrics]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata: {name: metrics-reader}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: metrics-reader}
subjects:
- {kind: ServiceAccount, name: reader, namespace: rbac}
`;
    expect((await run(tools.kubectl134, ['apply', '-f', '-'], { KUBECONFIG: c.kubeconfig }, grant)).code).toBe(0);
    // Authorized now; the simulator serves no metrics, so the answer is the apiserver's plain 404.
    expect((await k(['get', '--raw', '/metrics'])).stderr).not.toContain('Forbidden');
  });

  it('authorizes a named namespace in that namespace, so a RoleBinding there can grant it', async () => {
    const kc = c.kubeconfigFor({ namespace: 'rbac', name: 'reader' });
    const k = (args: string[]) => run(tools.kubectl134, args, { KUBECONFIG: kc });
    const grant = `apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata: {name: ns-reader, namespace: rbac}
rules:
- apiGroups: [""]
  resources: [namespaces]
  verbs: [get]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: RoleBinding
metadata: {name: ns-reader, namespace: rbac}
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: ns-reader}
subjects:
- {kind: ServiceAccount, name: reader, namespace: rbac}
`;
    const admin = (y: string) => run(tools.kubectl134, ['apply', '-f', '-'], { KUBECONFIG: c.kubeconfig }, y);
    expect((await admin(setup)).code).toBe(0);
    const denied = await k(['get', 'namespace', 'rbac']);
    expect(denied.stderr).toContain(
      'Error from server (Forbidden): namespaces "rbac" is forbidden: User "system:serviceaccount:rbac:reader" cannot get resource "namespaces" in API group "" in the namespace "rbac"',
    );
    expect((await admin(grant)).code).toBe(0);
    const ok = await k(['get', 'namespace', 'rbac', '-o', 'name']);
    expect([ok.code, ok.stdout.trim()]).toEqual([0, 'namespace/rbac']);
    // The Role grants nothing outside its namespace: other namespaces and the list stay forbidden.
    expect((await k(['get', 'namespace', 'default'])).stderr).toContain('in the namespace "default"');
    expect((await k(['get', 'namespaces'])).stderr).toContain(
      'cannot list resource "namespaces" in API group "" at the cluster scope',
    );
  });
});
