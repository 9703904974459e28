// Real kubectl 1.31 and 1.34 against the simulated cluster.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type SimCluster } from '../../cluster/sim/index.js';
import { removeTempDirs, run, tools } from './testkit.js';
import type { Obj } from '../../cluster/sim/types.js';

const deployment = (image: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: web
        image: ${image}
        ports: [{containerPort: 80}]
        env: [{name: A, value: "1"}]
`;

const crd = `apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata:
  name: widgets.example.com
spec:
  group: example.com
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wd]}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
    additionalPrinterColumns:
    - {name: Size, type: integer, jsonPath: .spec.size}
`;

describe.each([
  ['1.31', tools.kubectl131],
  ['1.34', tools.kubectl134],
])('kubectl %s', (version, kubectl) => {
  let c: SimCluster;
  const k = (args: string[], input?: string) => run(kubectl, args, { KUBECONFIG: c.kubeconfig }, input);

  beforeAll(async () => {
    // Crash timing slow enough for kubectl polling to observe the CrashLoopBackOff window.
    c = await startCluster({
      timing: { crash: 400 },
      scenario: {
        components: [
          {
            selector: 'app=crashy',
            behavior: 'crashLoop',
            crashes: 2,
            logs: 'up now\n',
            previousLogs: 'panic: db not ready\n',
          },
        ],
      },
    });
  });
  afterAll(async () => {
    await c.stop();
    removeTempDirs();
  });

  it('reports the server version and lists API resources', async () => {
    const v = await k(['version', '-o', 'json']);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout).serverVersion.gitVersion).toMatch(/^v1\.\d+\.0$/);
    const r = await k(['api-resources']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/deployments\s+deploy\s+apps\/v1\s+true\s+Deployment/);
    expect(r.stdout).toMatch(/poddisruptionbudgets\s+pdb\s+policy\/v1\s+true\s+PodDisruptionBudget/);
  });

  it('applies client-side, then shows the rollout in get, describe and logs', async () => {
    const a = await k(['apply', '-f', '-'], deployment('nginx:1.27'));
    expect(a.stderr).toBe('');
    expect(a.stdout).toContain('deployment.apps/web created');
    const s = await k(['rollout', 'status', 'deployment/web', '--timeout=20s']);
    expect(s.stdout).toContain('successfully rolled out');
    const pods = await k(['get', 'pods', '-l', 'app=web']);
    expect(pods.stdout).toMatch(/web-\w+-\w+\s+1\/1\s+Running\s+0/);
    const d = await k(['describe', 'deployment', 'web']);
    expect(d.stdout).toContain('ScalingReplicaSet');
    expect(d.stdout).toMatch(/Replicas:\s+2 desired \| 2 updated \| 2 total \| 2 available \| 0 unavailable/);
    const logs = await k(['logs', 'deployment/web']);
    expect(logs.code).toBe(0);
    expect(logs.stdout).toContain('web started');
  });

  it('re-applies client-side with a strategic merge patch and rolls out the change', async () => {
    const a = await k(['apply', '-f', '-'], deployment('nginx:1.28'));
    expect(a.stdout).toContain('deployment.apps/web configured');
    expect((await k(['rollout', 'status', 'deployment/web', '--timeout=20s'])).code).toBe(0);
    const img = await k([
      'get',
      'deploy',
      'web',
      '-o',
      'jsonpath={.spec.template.spec.containers[0].image} {.spec.template.spec.containers[0].env[0].value}',
    ]);
    expect(img.stdout).toBe('nginx:1.28 1');
    const patched = c.requests.filter((r) => r.method === 'PATCH' && r.path.endsWith('/deployments/web'));
    expect(patched.some((r) => r.contentType === 'application/strategic-merge-patch+json')).toBe(true);
  });

  it('rollout restart creates a new ReplicaSet', async () => {
    const before = await k(['get', 'rs', '-l', 'app=web', '-o', 'name']);
    const r = await k(['rollout', 'restart', 'deployment/web']);
    expect(r.stdout).toContain('deployment.apps/web restarted');
    expect((await k(['rollout', 'status', 'deployment/web', '--timeout=20s'])).code).toBe(0);
    const after = await k(['get', 'rs', '-l', 'app=web', '-o', 'name']);
    expect(after.stdout.trim().split('\n').length).toBe(before.stdout.trim().split('\n').length + 1);
    const ann = await k(['get', 'deploy', 'web', '-o', 'jsonpath={.spec.template.metadata.annotations}']);
    expect(ann.stdout).toContain('kubectl.kubernetes.io/restartedAt');
  });

  it('applies server-side, reports conflicts and forces them', async () => {
    const cm = (v: string) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ssa}\ndata: {key: "${v}"}\n`;
    expect((await k(['apply', '--server-side', '--field-manager=one', '-f', '-'], cm('a'))).stdout).toContain(
      'configmap/ssa serverside-applied',
    );
    const clash = await k(['apply', '--server-side', '--field-manager=two', '-f', '-'], cm('b'));
    expect(clash.code).not.toBe(0);
    expect(clash.stderr).toContain('conflict with "one"');
    expect(clash.stderr).toContain('.data.key');
    const forced = await k(['apply', '--server-side', '--field-manager=two', '--force-conflicts', '-f', '-'], cm('b'));
    expect(forced.code).toBe(0);
    expect((await k(['get', 'cm', 'ssa', '-o', 'jsonpath={.data.key}'])).stdout).toBe('b');
  });

  it('records create and scale as Update managers that a later server-side apply conflicts with', async () => {
    expect((await k(['create', 'configmap', 'made', '--from-literal=a=b'])).code).toBe(0);
    const cm = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: made}\ndata: {a: c}\n`;
    const clash = await k(['apply', '--server-side', '-f', '-'], cm);
    expect(clash.code).not.toBe(0);
    expect(clash.stderr).toContain('Apply failed with 1 conflict: conflict with "kubectl-create" using v1: .data.a');
    // The same value is shared, not a conflict.
    const same = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: made}\ndata: {a: b}\n`;
    expect((await k(['apply', '--server-side', '-f', '-'], same)).code).toBe(0);

    const dep = (replicas: number) =>
      `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: scaled}\nspec:\n  replicas: ${replicas}\n` +
      `  selector: {matchLabels: {app: scaled}}\n  template:\n    metadata: {labels: {app: scaled}}\n` +
      `    spec: {containers: [{name: c, image: 'nginx:1'}]}\n`;
    expect((await k(['apply', '--server-side', '-f', '-'], dep(1))).code).toBe(0);
    const mark = c.requests.length;
    expect((await k(['scale', 'deployment', 'scaled', '--replicas=3'])).code).toBe(0);
    const scaleReq = c.requests.slice(mark).find((q) => q.path.endsWith('/scale') && q.method !== 'GET')!;
    expect(scaleReq.query.fieldManager).toBeUndefined();
    const fields = await k(['get', 'deploy', 'scaled', '--show-managed-fields', '-o', 'json']);
    const managers = (JSON.parse(fields.stdout) as { metadata: { managedFields: Record<string, unknown>[] } }).metadata
      .managedFields;
    expect(managers.find((m) => m.subresource === 'scale')).toMatchObject({
      manager: 'kubectl',
      operation: 'Update',
      apiVersion: 'apps/v1',
      fieldsV1: { 'f:spec': { 'f:replicas': {} } },
    });
    const reapply = await k(['apply', '--server-side', '-f', '-'], dep(1));
    expect(reapply.code).not.toBe(0);
    expect(reapply.stderr).toContain(
      'Apply failed with 1 conflict: conflict with "kubectl" with subresource "scale" using apps/v1: .spec.replicas',
    );
    expect((await k(['apply', '--server-side', '--force-conflicts', '-f', '-'], dep(1))).code).toBe(0);
    expect((await k(['get', 'deploy', 'scaled', '-o', 'jsonpath={.spec.replicas}'])).stdout).toBe('1');
  });

  it('rejects field selectors a kind does not support, even when nothing would match', async () => {
    const r = await k(['get', 'pods', '-A', '--field-selector', 'spec.foo=bar']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Error from server (BadRequest)');
    expect(r.stderr).toContain('field label not supported: spec.foo');
    const cm = await k(['get', 'configmaps', '-n', 'kube-system', '--field-selector', 'data.a=b']);
    expect(cm.stderr).toContain('"data.a" is not a known field selector: only "metadata.name", "metadata.namespace"');
    expect((await k(['get', 'pods', '-A', '--field-selector', 'spec.nodeName=sim-node', '-o', 'name'])).code).toBe(0);
  });

  it('answers a JSON patch that does not apply with 422 Invalid, as handlers/patch.go does', async () => {
    expect((await k(['create', 'configmap', 'jp', '--from-literal=a=b'])).code).toBe(0);
    for (const patch of [
      '[{"op":"test","path":"/data/a","value":"zzz"}]',
      '[{"op":"remove","path":"/data/missing"}]',
      '[{"op":"replace","path":"/spec/nothing","value":1}]',
    ]) {
      const r = await k(['patch', 'configmap', 'jp', '--type=json', '-p', patch]);
      expect(r.code).not.toBe(0);
      expect(r.stderr.trim()).toBe(
        'The request is invalid: the server rejected our request due to an error in our request',
      );
    }
    expect(
      (await k(['patch', 'configmap', 'jp', '--type=json', '-p', '[{"op":"test","path":"/data/a","value":"b"}]'])).code,
    ).toBe(0);
  });

  it('rejects a client-side apply whose last-applied annotation is too long', async () => {
    const big = `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: big}\ndata: {blob: "${'x'.repeat(270000)}"}\n`;
    const r = await k(['apply', '-f', '-'], big);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('metadata.annotations: Too long: may not be more than 262144 bytes');
    expect((await k(['apply', '--server-side', '-f', '-'], big)).code).toBe(0);
  });

  it('serves a CRD once Established, with its printer columns', async () => {
    expect((await k(['apply', '-f', '-'], crd)).code).toBe(0);
    expect((await k(['wait', '--for=condition=Established', 'crd/widgets.example.com', '--timeout=10s'])).code).toBe(0);
    const list = await k(['get', 'crd']);
    expect(list.stdout).toContain('widgets.example.com');
    expect(
      (
        await k(
          ['apply', '-f', '-'],
          'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w1}\nspec: {size: 3}\n',
        )
      ).code,
    ).toBe(0);
    const w = await k(['get', 'wd']);
    expect(w.stdout).toMatch(/w1\s+3/);
  });

  it('fails like a real server for unknown kinds and missing objects', async () => {
    const r = await k(['apply', '-f', '-'], 'apiVersion: nope.example.com/v1\nkind: Gadget\nmetadata: {name: g}\n');
    expect(r.stderr).toContain('no matches for kind "Gadget" in version "nope.example.com/v1"');
    const g = await k(['get', 'pod', 'missing']);
    expect(g.stderr).toContain('Error from server (NotFound): pods "missing" not found');
  });

  it('shows crash loops with restarts, waiting reason and previous logs', async () => {
    const pod = `apiVersion: v1\nkind: Pod\nmetadata: {name: crashy, labels: {app: crashy}}\nspec: {containers: [{name: app, image: app:1}]}\n`;
    expect((await k(['apply', '-f', '-'], pod)).code).toBe(0);
    let seen = '';
    for (let i = 0; i < 200 && !seen.includes('CrashLoopBackOff'); i++) {
      seen = (await k(['get', 'pod', 'crashy'])).stdout;
    }
    expect(seen).toMatch(/crashy\s+0\/1\s+CrashLoopBackOff\s+\d/);
    const prev = await k(['logs', 'crashy', '--previous']);
    expect(prev.stdout).toBe('panic: db not ready\n');
    expect((await k(['wait', '--for=condition=Ready', 'pod/crashy', '--timeout=20s'])).code).toBe(0);
    const st = await k([
      'get',
      'pod',
      'crashy',
      '-o',
      'jsonpath={.status.containerStatuses[0].restartCount} {.status.containerStatuses[0].lastState.terminated.reason}',
    ]);
    expect(st.stdout).toBe('2 Error');
    const ev = await k(['describe', 'pod', 'crashy']);
    expect(ev.stdout).toContain('Back-off restarting failed container app');
  });

  it('creates objects with the typed generators (protobuf bodies) and drains the node with evictions', async () => {
    for (const args of [
      ['create', 'namespace', 'gen'],
      ['create', 'deployment', 'gen', '-n', 'gen', '--image=nginx:1', '--replicas=2', '--port=80'],
      ['create', 'serviceaccount', 'gen', '-n', 'gen'],
      ['create', 'role', 'gen', '-n', 'gen', '--verb=get,list', '--resource=pods,pods/log'],
      ['create', 'rolebinding', 'gen', '-n', 'gen', '--role=gen', '--serviceaccount=gen:gen'],
      ['create', 'service', 'clusterip', 'gen', '-n', 'gen', '--tcp=80:8080'],
      ['create', 'job', 'gen', '-n', 'gen', '--image=busybox:1', '--', 'echo', 'hi'],
      ['create', 'pdb', 'gen', '-n', 'gen', '--selector=app=gen', '--max-unavailable=1'],
      ['create', 'secret', 'generic', 'gen', '-n', 'gen', '--from-literal=a=b'],
    ]) {
      const r = await k(args);
      expect(r.stderr).toBe('');
    }
    // kubectl 1.34's typed clients send protobuf; 1.31 still sends JSON.
    const protobufPosts = c.requests.filter(
      (q) => q.method === 'POST' && q.contentType === 'application/vnd.kubernetes.protobuf',
    ).length;
    if (version === '1.34') expect(protobufPosts).toBeGreaterThan(5);
    else expect(protobufPosts).toBe(0);
    const rules = await k([
      'get',
      'role',
      'gen',
      '-n',
      'gen',
      '-o',
      'jsonpath={.rules[0].apiGroups} {.rules[0].resources}',
    ]);
    expect(rules.stdout).toBe('[""] ["pods","pods/log"]');
    const svc = await k([
      'get',
      'svc',
      'gen',
      '-n',
      'gen',
      '-o',
      'jsonpath={.spec.ports[0].port}:{.spec.ports[0].targetPort}',
    ]);
    expect(svc.stdout).toBe('80:8080');
    expect((await k(['rollout', 'status', 'deployment/gen', '-n', 'gen', '--timeout=20s'])).code).toBe(0);
    const token = await k(['create', 'token', 'gen', '-n', 'gen']);
    expect(token.stdout.trim()).toBe(c.cluster.saTokens.get('gen/gen'));
    const drain = await k([
      'drain',
      'sim-node',
      '--force',
      '--ignore-daemonsets',
      '--delete-emptydir-data',
      '--timeout=20s',
    ]);
    expect(drain.stdout).toContain('node/sim-node drained');
    expect(c.requests.some((q) => q.path.endsWith('/eviction'))).toBe(true);
    expect((await k(['uncordon', 'sim-node'])).code).toBe(0);
  });

  it('rejects changes to immutable fields with 422 field is immutable', async () => {
    const changed = deployment('nginx:1.28')
      .replace('matchLabels: {app: web}', 'matchLabels: {app: web, v: "2"}')
      .replace('labels: {app: web}}', 'labels: {app: web, v: "2"}}');
    const r = await k(['apply', '-f', '-'], changed);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('spec.selector: Invalid value');
    expect(r.stderr).toContain('field is immutable');
  });

  it('deletes with cascading garbage collection', async () => {
    const r = await k(['delete', 'deployment', 'web']);
    expect(r.code).toBe(0);
    let left = { code: -1, stdout: 'x' };
    for (let i = 0; i < 50 && (left.code !== 0 || left.stdout.trim() !== ''); i++)
      left = await k(['get', 'rs,pods', '-l', 'app=web', '-o', 'name']);
    expect([left.code, left.stdout.trim()]).toEqual([0, '']);
  });

  it('deletes in the foreground: the Deployment stays terminating until its ReplicaSets and pods are gone', async () => {
    expect((await k(['apply', '-f', '-'], deployment('nginx:1.27').replace(/web/g, 'fg'))).code).toBe(0);
    expect((await k(['rollout', 'status', 'deployment/fg', '--timeout=20s'])).code).toBe(0);
    const seen: Obj[] = [];
    const unsub = c.store.subscribe((e) => {
      if (e.res === 'apps/deployments' && e.obj.metadata.name === 'fg') seen.push(e);
    });
    const r = await k(['delete', 'deployment', 'fg', '--cascade=foreground']);
    unsub();
    expect(r.code).toBe(0);
    const del = c.requests.find((q) => q.method === 'DELETE' && q.path.endsWith('/deployments/fg'));
    expect(del).toBeDefined();
    const terminating = seen.find((e) => e.type === 'MODIFIED' && e.obj.metadata.deletionTimestamp);
    expect(terminating?.obj.metadata.finalizers).toEqual(['foregroundDeletion']);
    expect(seen[seen.length - 1]?.type).toBe('DELETED');
    expect((await k(['get', 'rs,pods', '-l', 'app=fg', '-o', 'name'])).stdout.trim()).toBe('');
  });
});
