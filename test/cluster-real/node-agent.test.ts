// The node agent on the REAL control plane: the real scheduler binds pods to its nodes, the real ReplicaSet,
// StatefulSet and Job controllers act on the status it reports, and real kubectl 1.34 / Helm 4 read it (STATUS
// column, logs through the API server to the agent's kubelet endpoint).
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeBinDir, startControlPlane, type ControlPlane } from '../../cluster/real/control-plane.js';
import { nodeAgentOptions, startNodeAgent, type NodeAgent } from '../../cluster/real/node-agent.js';
import type { Scenario } from '../../cluster/sim/scenario.js';
import { eventually, exec } from './support.js';

const root = resolve(import.meta.dirname, '../..');
const KUBECTL = join(root, '.tools/helm4/kubectl');
const HELM = join(root, '.tools/helm4/helm');
const binDir = kubeBinDir(root);
const run = binDir !== undefined || Boolean(process.env.CI);
if (!run)
  console.warn(
    '\n*** test/cluster-real/node-agent SKIPPED: the Kubernetes control-plane binaries are not built. ' +
      'Run `npm run setup:kube` (needs Go 1.26) to build them into .tools/kube. ***\n',
  );

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

function portRefused(port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      done(false);
    });
    s.once('error', (err: NodeJS.ErrnoException) => {
      done(err.code === 'ECONNREFUSED');
    });
  });
}

// A Job's "image": lists ConfigMaps with the pod's ServiceAccount token from $KUBECONFIG, prints what it ran as.
const LIST_CONFIGMAPS = `
const fs = require('fs'), https = require('https');
const kc = fs.readFileSync(process.env.KUBECONFIG, 'utf8');
const g = (k) => new RegExp(k + ': (\\\\S+)').exec(kc)[1];
https.get(g('server') + '/api/v1/namespaces/' + process.env.NS + '/configmaps',
  { headers: { Authorization: 'Bearer ' + g('token') }, ca: Buffer.from(g('certificate-authority-data'), 'base64') },
  (r) => { let b = ''; r.on('data', (d) => (b += d)); r.on('end', () => {
    if (r.statusCode !== 200) { console.error('list configmaps failed: ' + r.statusCode); process.exit(1); }
    console.log('configmaps: ' + JSON.parse(b).items.length + ' as ' + process.env.POD_NAME + ' from ' +
      process.env.KUBERNETES_SERVICE_HOST + ':' + process.env.KUBERNETES_SERVICE_PORT + ' greeting=' + process.env.GREETING);
  }); });
`;
// A container that ignores SIGTERM: only the kubelet's SIGKILL after the grace period ends it.
const STUBBORN = `process.on('SIGTERM', () => console.log('got SIGTERM, ignoring it')); console.log('serving'); setInterval(() => {}, 1000);`;

const scenario: Scenario = {
  images: {
    'local/node': ['node', '-e'],
    'local/stubborn': ['node', '-e', STUBBORN],
    'sim/hook': ['node', 'cluster/sim/fixtures/hook.mjs'],
  },
  components: [
    { selector: 'app=crash', behavior: 'crashLoop', previousLogs: 'panic: boom\n' },
    { selector: 'app=pull', behavior: 'imagePullBackOff' },
    { selector: 'app=config', behavior: 'createContainerConfigError' },
    { selector: 'app=oom', behavior: 'oomKilled' },
    { selector: 'app=initcrash', behavior: 'initCrashLoop', exitCode: 3 },
    { selector: 'app=evict', behavior: 'evicted', firstPods: 1 },
    { selector: 'app=probe', behavior: 'readinessProbeFailing' },
  ],
};

const deployment = (name: string, replicas: number, spec: Record<string, unknown> = {}) => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name, namespace: 'agent' },
  spec: {
    replicas,
    selector: { matchLabels: { app: name } },
    template: {
      metadata: { labels: { app: name } },
      spec: { containers: [{ name: 'app', image: `registry.example/${name}:1` }], ...spec },
    },
  },
});

describe.skipIf(!run)('node agent on the real control plane', () => {
  let cp: ControlPlane;
  let agent: NodeAgent;
  const home = mkdtempSync(join(tmpdir(), 'node-agent-test-'));
  const kubectl = (args: string[], input?: string) =>
    exec(KUBECTL, ['--kubeconfig', cp.kubeconfig, ...args], { HOME: home }, input);
  const apply = async (obj: unknown) => {
    const r = await kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify(obj));
    expect(r.stderr).toBe('');
    return r;
  };
  const json = async (args: string[]) => JSON.parse((await kubectl([...args, '-o', 'json'])).stdout);
  /** `kubectl get pods` rows of app=NAME: [name, ready, status, restarts]. */
  const rows = async (app: string) =>
    (await kubectl(['get', 'pods', '-n', 'agent', '-l', `app=${app}`, '--no-headers'])).stdout
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(/\s+/));

  beforeAll(async () => {
    if (binDir === undefined)
      throw new Error('CI: the control-plane binaries are missing; run `npm run setup:kube` before the tests');
    cp = await startControlPlane({ binDir });
    agent = await startNodeAgent(
      nodeAgentOptions(cp, {
        nodes: ['node-1', 'node-2'],
        scenario,
        cwd: root,
        ...(process.env.AGENT_LOG
          ? {
              log: (l: string) => {
                console.log(`agent: ${l}`);
              },
            }
          : {}),
        timing: { backoff: 1500, backoffMax: 6000, crash: 1000 },
      }),
    );
    expect((await kubectl(['create', 'namespace', 'agent'])).code).toBe(0);
    await eventually('ServiceAccount agent/default', async () =>
      (await kubectl(['get', 'serviceaccount', 'default', '-n', 'agent'])).code === 0 ? true : undefined,
    );
  }, 180_000);

  afterAll(async () => {
    await (agent as NodeAgent | undefined)?.stop();
    await (cp as ControlPlane | undefined)?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('registers Ready nodes with a kubelet endpoint and renews their Leases', async () => {
    const nodes = await eventually('two Ready nodes without the not-ready taint', async () => {
      const list = await json(['get', 'nodes']);
      const ready = list.items.filter(
        (n: any) =>
          n.status.conditions.some((c: any) => c.type === 'Ready' && c.status === 'True') &&
          !(n.spec.taints ?? []).some((t: any) => t.key === 'node.kubernetes.io/not-ready'),
      );
      return ready.length === 2 ? ready : undefined;
    });
    for (const n of nodes) {
      expect(n.status.daemonEndpoints.kubeletEndpoint.Port).toBe(agent.ports[n.metadata.name]);
      expect(n.status.addresses).toContainEqual({ type: 'InternalIP', address: '127.0.0.1' });
      expect(n.status.allocatable.pods).toBe('110');
      const lease = await json(['get', 'lease', '-n', 'kube-node-lease', n.metadata.name]);
      expect(lease.spec.holderIdentity).toBe(n.metadata.name);
      expect(lease.metadata.ownerReferences[0].uid).toBe(n.metadata.uid);
    }
  }, 120_000);

  it('a Deployment of 3 replicas becomes Available (real ReplicaSet controller and scheduler)', async () => {
    await apply(deployment('web', 3));
    const d = await eventually('Deployment web Available with 3 ready replicas', async () => {
      const obj = await json(['get', 'deployment', 'web', '-n', 'agent']);
      const ok = obj.status.conditions?.some((c: any) => c.type === 'Available' && c.status === 'True');
      return ok && obj.status.readyReplicas === 3 ? obj : undefined;
    });
    expect(d.status.availableReplicas).toBe(3);
    const pods = (await json(['get', 'pods', '-n', 'agent', '-l', 'app=web'])).items;
    expect(pods).toHaveLength(3);
    for (const p of pods) {
      expect(['node-1', 'node-2']).toContain(p.spec.nodeName);
      expect(p.status.phase).toBe('Running');
      expect(p.status.hostIP).toBe('127.0.0.1');
      expect(p.status.podIP).toMatch(/^10\.244\.\d+\.\d+$/);
      const cs = p.status.containerStatuses[0];
      expect(cs).toMatchObject({ ready: true, started: true, restartCount: 0 });
      expect(cs.containerID).toMatch(/^containerd:\/\//);
      expect(cs.imageID).toContain('@sha256:');
      const types = p.status.conditions.filter((c: any) => c.status === 'True').map((c: any) => c.type);
      expect(types).toEqual(expect.arrayContaining(['PodScheduled', 'Initialized', 'ContainersReady', 'Ready']));
    }
    const events = await json([
      'get',
      'events',
      '-n',
      'agent',
      '--field-selector',
      `involvedObject.name=${pods[0].metadata.name}`,
    ]);
    const reasons = events.items.map((e: any) => e.reason);
    expect(reasons).toEqual(expect.arrayContaining(['Scheduled', 'Pulled', 'Created', 'Started']));
    // Through the API server to the agent's kubelet endpoint.
    const logs = await kubectl(['logs', '-n', 'agent', pods[0].metadata.name]);
    expect(logs.stderr).toBe('');
    expect(logs.stdout).toBe('app started\n');
  }, 120_000);

  it('a StatefulSet rolls out in order: each pod is created only once the previous one is Ready', async () => {
    await apply({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'db', namespace: 'agent' },
      spec: {
        replicas: 3,
        serviceName: 'db',
        selector: { matchLabels: { app: 'db' } },
        template: {
          metadata: { labels: { app: 'db' } },
          spec: { containers: [{ name: 'db', image: 'registry.example/db:1' }] },
        },
      },
    });
    await eventually('StatefulSet db ready', async () => {
      const s = await json(['get', 'statefulset', 'db', '-n', 'agent']);
      return s.status.readyReplicas === 3 ? s : undefined;
    });
    const pods = (await json(['get', 'pods', '-n', 'agent', '-l', 'app=db'])).items.sort((a: any, b: any) =>
      a.metadata.name.localeCompare(b.metadata.name),
    );
    expect(pods.map((p: any) => p.metadata.name)).toEqual(['db-0', 'db-1', 'db-2']);
    for (let i = 1; i < 3; i++) {
      const prevReady = pods[i - 1].status.conditions.find((c: any) => c.type === 'Ready').lastTransitionTime;
      expect(Date.parse(pods[i].metadata.creationTimestamp)).toBeGreaterThanOrEqual(Date.parse(prevReady));
    }
  }, 120_000);

  const behaviours: { app: string; status: string; spec?: Record<string, unknown>; check?: (p: any) => void }[] = [
    {
      app: 'crash',
      status: 'CrashLoopBackOff',
      check: (p) => {
        expect(p.status.phase).toBe('Running');
        const cs = p.status.containerStatuses[0];
        expect(cs.restartCount).toBeGreaterThanOrEqual(1);
        expect(cs.lastState.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
      },
    },
    { app: 'pull', status: 'ImagePullBackOff' },
    { app: 'config', status: 'CreateContainerConfigError' },
    {
      app: 'oom',
      status: 'OOMKilled',
      check: (p) => {
        expect(p.status.containerStatuses[0].state.terminated).toMatchObject({ exitCode: 137 });
      },
    },
    {
      app: 'initcrash',
      status: 'Init:CrashLoopBackOff',
      spec: { initContainers: [{ name: 'migrate', image: 'registry.example/migrate:1' }] },
      check: (p) => {
        expect(p.status.phase).toBe('Pending');
        expect(p.status.initContainerStatuses[0].lastState.terminated.exitCode).toBe(3);
      },
    },
    {
      // A kubelet-evicted pod: phase Failed, reason Evicted; its killed container is terminated (Error, 137), and
      // the real printer lets a container's terminated reason win over the pod's reason: STATUS Error.
      app: 'evict',
      status: 'Error',
      check: (p) => {
        expect(p.status.phase).toBe('Failed');
        expect(p.status.reason).toBe('Evicted');
        expect(p.status.containerStatuses[0].state.terminated).toMatchObject({ exitCode: 137, reason: 'Error' });
        expect(p.status.conditions).toContainEqual(
          expect.objectContaining({ type: 'DisruptionTarget', status: 'True', reason: 'TerminationByKubelet' }),
        );
      },
    },
  ];

  it('each scenario behaviour shows in `kubectl get pods` STATUS as on a real cluster', async () => {
    for (const b of behaviours) await apply(deployment(b.app, 1, b.spec));
    await apply(deployment('probe', 1));
    // A pod the real scheduler cannot place (the agent does not fake Unschedulable: the scheduler reports it).
    await apply(
      deployment('huge', 1, {
        containers: [{ name: 'app', image: 'x/huge:1', resources: { requests: { cpu: '100' } } }],
      }),
    );
    for (const b of behaviours) {
      await eventually(`a pod of ${b.app} with STATUS ${b.status}`, async () => {
        const found = (await rows(b.app)).find((r) => r[2] === b.status);
        if (!found) return undefined;
        const pod = await json(['get', 'pod', '-n', 'agent', found[0]!]);
        b.check?.(pod);
        return pod;
      });
    }
    // The evicted pod's ReplicaSet replaced it; the replacement (past firstPods) runs.
    await eventually('a Running replacement of the evicted pod', async () =>
      (await rows('evict')).some((r) => r[2] === 'Running' && r[1] === '1/1') ? true : undefined,
    );
    const probe = await eventually('probe pod Running but not ready, with Unhealthy events', async () => {
      const r = (await rows('probe'))[0];
      if (r?.[2] !== 'Running' || r[1] !== '0/1') return undefined;
      const ev = await json([
        'get',
        'events',
        '-n',
        'agent',
        '--field-selector',
        `involvedObject.name=${r[0]},reason=Unhealthy`,
      ]);
      return ev.items[0]?.type === 'Warning' ? ev.items[0] : undefined;
    });
    expect(probe.message).toBe('Readiness probe failed: HTTP probe failed with statuscode: 503');
    const crash = (await rows('crash'))[0]![0]!;
    const previous = await kubectl(['logs', '-n', 'agent', crash, '--previous']);
    expect(previous.stdout).toBe('panic: boom\n');
    const huge = await eventually('huge Unschedulable', async () => {
      const p = (await json(['get', 'pods', '-n', 'agent', '-l', 'app=huge'])).items[0];
      return p?.status.conditions?.find((c: any) => c.type === 'PodScheduled' && c.reason === 'Unschedulable');
    });
    expect(huge.message).toMatch(/Insufficient cpu/);
  }, 240_000);

  const job = (name: string, sa: string) => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name, namespace: 'agent' },
    spec: {
      backoffLimit: 0,
      template: {
        spec: {
          restartPolicy: 'Never',
          serviceAccountName: sa,
          containers: [
            {
              name: 'main',
              image: 'local/node:20',
              args: [LIST_CONFIGMAPS],
              env: [
                { name: 'NS', valueFrom: { fieldRef: { fieldPath: 'metadata.namespace' } } },
                { name: 'POD_NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'GREETING', valueFrom: { configMapKeyRef: { name: 'settings', key: 'greeting' } } },
              ],
            },
          ],
        },
      },
    },
  });

  it('a Job runs as a real process with its ServiceAccount token: RBAC allows it via a Role, 403 without', async () => {
    await apply({
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'settings', namespace: 'agent' },
      data: { greeting: 'hi' },
    });
    for (const sa of ['lister', 'nobody'])
      await apply({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: sa, namespace: 'agent' } });
    await apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'cm-reader', namespace: 'agent' },
      rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['list'] }],
    });
    await apply({
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'RoleBinding',
      metadata: { name: 'cm-reader', namespace: 'agent' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'cm-reader' },
      subjects: [{ kind: 'ServiceAccount', name: 'lister', namespace: 'agent' }],
    });
    await apply(job('lister', 'lister'));
    await apply(job('denied', 'nobody'));
    const cond = (name: string, type: string) =>
      eventually(`Job ${name} ${type}`, async () => {
        const j = await json(['get', 'job', name, '-n', 'agent']);
        return j.status.conditions?.some((c: any) => c.type === type && c.status === 'True') ? j : undefined;
      });
    const ok = await cond('lister', 'Complete');
    expect(ok.status.succeeded).toBe(1);
    const logs = await kubectl(['logs', '-n', 'agent', 'job/lister']);
    expect(logs.stderr).toBe('');
    const port = new URL(cp.url).port;
    expect(logs.stdout).toMatch(
      new RegExp(`^configmaps: \\d+ as lister-\\w+ from 127\\.0\\.0\\.1:${port} greeting=hi\\n$`),
    );
    const failed = await cond('denied', 'Failed');
    expect(failed.status.failed).toBe(1);
    expect((await kubectl(['logs', '-n', 'agent', 'job/denied'])).stdout).toBe('list configmaps failed: 403\n');
    const pod = (await json(['get', 'pods', '-n', 'agent', '-l', 'job-name=denied'])).items[0];
    expect(pod.status.containerStatuses[0].state.terminated).toMatchObject({ exitCode: 1, reason: 'Error' });
  }, 120_000);

  it('a deleted StatefulSet pod is replaced only after its process is gone (SIGTERM ignored, SIGKILL after grace)', async () => {
    await apply({
      apiVersion: 'apps/v1',
      kind: 'StatefulSet',
      metadata: { name: 'stubborn', namespace: 'agent' },
      spec: {
        replicas: 1,
        serviceName: 'stubborn',
        selector: { matchLabels: { app: 'stubborn' } },
        template: {
          metadata: { labels: { app: 'stubborn' } },
          spec: {
            terminationGracePeriodSeconds: 3,
            containers: [{ name: 'main', image: 'local/stubborn' }],
          },
        },
      },
    });
    const old = await eventually('stubborn-0 ready', async () => {
      const p = await json(['get', 'pod', 'stubborn-0', '-n', 'agent']).catch(() => undefined);
      return p?.status?.containerStatuses?.[0]?.ready ? p : undefined;
    });
    const pidsBefore = agent.pids();
    expect(pidsBefore.length).toBeGreaterThan(0);
    expect((await kubectl(['delete', 'pod', 'stubborn-0', '-n', 'agent', '--wait=false'])).code).toBe(0);
    const seen: { uid: string; terminating: boolean }[] = [];
    const replacement = await eventually('a new stubborn-0', async () => {
      const r = await kubectl(['get', 'pod', 'stubborn-0', '-n', 'agent', '-o', 'json']);
      if (r.code !== 0) return undefined;
      const p = JSON.parse(r.stdout);
      seen.push({ uid: p.metadata.uid, terminating: Boolean(p.metadata.deletionTimestamp) });
      return p.metadata.uid !== old.metadata.uid ? p : undefined;
    });
    // The old pod was seen Terminating, and never was a new one seen before it was gone.
    const firstNew = seen.findIndex((s) => s.uid === replacement.metadata.uid);
    expect(seen.slice(0, firstNew).some((s) => s.uid === old.metadata.uid && s.terminating)).toBe(true);
    expect(seen.slice(firstNew).every((s) => s.uid === replacement.metadata.uid)).toBe(true);
    const killed = await json([
      'get',
      'events',
      '-n',
      'agent',
      '--field-selector',
      `involvedObject.uid=${old.metadata.uid},reason=Killing`,
    ]);
    expect(killed.items[0].message).toBe('Stopping container main');
    // The process that ignored SIGTERM is gone (SIGKILL), the new one runs.
    const oldPids = pidsBefore.filter((p) => !agent.pids().includes(p) || !isRunning(p));
    expect(oldPids.length).toBeGreaterThan(0);
    for (const p of oldPids) expect(isRunning(p)).toBe(false);
  }, 120_000);

  it('kubectl 1.31 and 1.34 logs options reach the endpoint: --tail, --timestamps, --limit-bytes, -f', async () => {
    await eventually('stubborn-0 process output', async () =>
      (await kubectl(['logs', '-n', 'agent', 'stubborn-0'])).stdout === 'serving\n' ? true : undefined,
    );
    for (const bin of [join(root, '.tools/helm3/kubectl'), KUBECTL]) {
      const k = (args: string[]) => exec(bin, ['--kubeconfig', cp.kubeconfig, '-n', 'agent', ...args], { HOME: home });
      const stamped = await k(['logs', 'stubborn-0', '--tail=1', '--timestamps']);
      expect(stamped.stderr).toBe('');
      expect(stamped.stdout).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z serving\n$/);
      expect((await k(['logs', 'stubborn-0', '--limit-bytes=3'])).stdout).toBe('ser');
      expect((await k(['logs', 'stubborn-0', '--tail=0'])).stdout).toBe('');
      // -f streams while the process runs: the first line arrives and kubectl keeps waiting for more.
      const follow = spawn(bin, ['--kubeconfig', cp.kubeconfig, '-n', 'agent', 'logs', '-f', 'stubborn-0'], {
        env: { PATH: process.env.PATH ?? '', HOME: home },
      });
      let out = '';
      follow.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
      await eventually('followed output', () => Promise.resolve(out === 'serving\n' ? true : undefined));
      expect(follow.exitCode).toBeNull();
      follow.kill('SIGKILL');
    }
  }, 60_000);

  it('helm install --wait of the fixture chart runs the hook Jobs as processes; Helm 4 prints the hook log', async () => {
    const chart = join(home, 'chart');
    cpSync(join(root, 'cluster/sim/fixtures/chart'), chart, { recursive: true });
    // Helm 4's hook-output-log-policy: the hook pod's log is read through the API server and printed.
    const hooks = join(chart, 'templates/hooks.yaml');
    writeFileSync(
      hooks,
      readFileSync(hooks, 'utf8').replace(
        'helm.sh/hook-delete-policy: before-hook-creation',
        'helm.sh/hook-delete-policy: before-hook-creation\n    helm.sh/hook-output-log-policy: hook-succeeded,hook-failed',
      ),
    );
    const helmHome = join(home, 'helm');
    const env = {
      HOME: home,
      KUBECONFIG: cp.kubeconfig,
      HELM_CACHE_HOME: join(helmHome, 'cache'),
      HELM_CONFIG_HOME: join(helmHome, 'config'),
      HELM_DATA_HOME: join(helmHome, 'data'),
    };
    const r = await exec(
      HELM,
      ['install', 'app', chart, '-n', 'helm', '--create-namespace', '--wait', '--timeout', '120s'],
      env,
    );
    expect(r.stderr).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('STATUS: deployed');
    expect(r.stdout + r.stderr).toContain('hook post-install running in namespace helm (HOOK_PHASE=post-install)');
    const d = await json(['get', 'deployment', 'app-web', '-n', 'helm']);
    expect(d.status.readyReplicas).toBe(2);
  }, 180_000);

  it('pod processes and the folder go when the caller of the agent is SIGKILLed (the watchdog of process.ts)', async () => {
    // A second agent in a child process, for a node of its own, with a certificate issued here.
    const cert = await cp.issueCertificate('kubelet-orphan', {
      commonName: 'system:node:orphan',
      ips: ['127.0.0.1'],
      usage: 'server',
    });
    const entry = join(home, 'orphan-agent.ts');
    writeFileSync(
      entry,
      `import { startNodeAgent } from ${JSON.stringify(join(root, 'cluster/real/node-agent.ts'))};
const opts = ${JSON.stringify({ url: cp.url, caData: cp.caData, token: cp.adminToken, nodes: ['orphan'], scenario, cwd: root })};
const cert = ${JSON.stringify(cert)};
const a = await startNodeAgent({ ...opts, issueCertificate: () => Promise.resolve(cert) });
setInterval(() => console.log(JSON.stringify({ pids: a.pids(), dir: a.dir })), 300);
`,
    );
    const bundle = join(home, 'orphan-agent.mjs');
    await build({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'esm',
      outfile: bundle,
      // CommonJS dependencies bundled into ESM call require(): give them one.
      banner: { js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);" },
      logLevel: 'error',
    });
    const child = spawn(process.execPath, [bundle], { stdio: ['ignore', 'pipe', 'inherit'], cwd: root });
    let last: { pids: number[]; dir: string } | undefined;
    let buf = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop() ?? '';
      for (const l of lines) if (l.startsWith('{')) last = JSON.parse(l) as { pids: number[]; dir: string };
    });
    try {
      await apply({
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: 'orphaned', namespace: 'agent' },
        spec: { nodeName: 'orphan', containers: [{ name: 'main', image: 'local/stubborn' }] },
      });
      const seen = await eventually('the orphan agent runs the pod process', () =>
        Promise.resolve(last && last.pids.length > 0 ? last : undefined),
      );
      expect(seen.pids.every(isRunning)).toBe(true);
      expect(existsSync(seen.dir)).toBe(true);
      child.kill('SIGKILL');
      await eventually('the pod process killed by the watchdog', () =>
        Promise.resolve(seen.pids.every((p) => !isRunning(p)) ? true : undefined),
      );
      await eventually('the orphan agent folder removed', () =>
        Promise.resolve(existsSync(seen.dir) ? undefined : true),
      );
    } finally {
      child.kill('SIGKILL');
      await kubectl(['delete', 'pod', 'orphaned', '-n', 'agent', '--grace-period=0', '--force', '--wait=false']);
    }
  }, 120_000);

  it('stop() kills every pod process, closes the kubelet endpoints and removes its folder', async () => {
    // The replacement stubborn-0 runs a process again.
    const pids = await eventually('a running pod process', () =>
      Promise.resolve(agent.pids().length ? agent.pids() : undefined),
    );
    expect(pids.every(isRunning)).toBe(true);
    expect(existsSync(agent.dir)).toBe(true);
    await agent.stop();
    for (const p of pids) expect(isRunning(p)).toBe(false);
    expect(existsSync(agent.dir)).toBe(false);
    for (const port of Object.values(agent.ports)) expect(await portRefused(port)).toBe(true);
    await agent.stop();
  }, 60_000);
});
