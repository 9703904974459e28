// A real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler built from Go
// modules by `npm run setup:kube`) driven with real kubectl 1.34. There is no node: controllers and the scheduler
// are proven by what they do to objects, and the API server by what it refuses.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, request } from 'node:https';
import type { AddressInfo } from 'node:net';
import { TLSSocket } from 'node:tls';
import { connect } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeBinDir, startControlPlane, type ControlPlane } from '../../cluster/real/control-plane.js';
import { HelmTiersError } from '../../core/errors.js';

const root = resolve(import.meta.dirname, '../..');
const KUBECTL = join(root, '.tools/helm4/kubectl');
const binDir = kubeBinDir(root);
// In CI a missing build is a failure (beforeAll throws), never a silent skip.
const run = binDir !== undefined || Boolean(process.env.CI);
if (!run)
  console.warn(
    '\n*** test/cluster-real SKIPPED: the Kubernetes control-plane binaries are not built. ' +
      'Run `npm run setup:kube` (needs Go 1.26) to build them into .tools/kube. ***\n',
  );

interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

function kubectlWith(kubeconfig: string, args: string[], input?: string): Promise<Result> {
  return new Promise((done, fail) => {
    const env = { ...process.env };
    delete env.KUBECONFIG;
    const p = spawn(KUBECTL, ['--kubeconfig', kubeconfig, ...args], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    p.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    p.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    p.on('error', fail);
    p.on('close', (code) => {
      done({ code, stdout, stderr });
    });
    p.stdin.end(input ?? '');
  });
}

/** Polls `fn` until it returns a value other than undefined; fails with the last value seen. */
async function eventually<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(300);
  }
}

function getJson(url: string, caPem: string, token: string): Promise<{ status: number; body: any }> {
  return new Promise((done, fail) => {
    const req = request(url, { ca: caPem, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => {
        done({ status: res.statusCode ?? 0, body: JSON.parse(body) });
      });
    });
    req.on('error', fail);
    req.end();
  });
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

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}

const validDeployment = () => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'checked', namespace: 'default', labels: { app: 'checked' } },
  spec: {
    replicas: 1,
    selector: { matchLabels: { app: 'checked' } },
    template: {
      metadata: { labels: { app: 'checked' } },
      spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
    },
  },
});
const validConfigMap = () => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'checked', namespace: 'default' },
  data: { 'good.key': 'v' },
});
const validPod = () => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'checked', namespace: 'default' },
  spec: { containers: [{ name: 'app', image: 'registry.example/app:1' }] },
});
const validService = () => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'checked', namespace: 'default' },
  spec: {
    selector: { app: 'checked' },
    ports: [
      { name: 'http', port: 80, targetPort: 8080 },
      { name: 'https', port: 443, targetPort: 8443 },
    ],
  },
});

/** Each case: a valid object made invalid in one place, and the field path the server's error must name. */
const invalidCases: { name: string; obj: () => any; field: RegExp; create?: boolean }[] = [
  {
    name: 'a Deployment whose selector does not match its template labels',
    obj: () => {
      const d = validDeployment();
      d.spec.selector.matchLabels.app = 'other';
      return d;
    },
    field: /spec\.template\.metadata\.labels/,
  },
  {
    name: 'replicas: -1',
    obj: () => {
      const d = validDeployment();
      d.spec.replicas = -1;
      return d;
    },
    field: /spec\.replicas/,
  },
  {
    name: 'an invalid label value',
    obj: () => {
      const d: any = validConfigMap();
      d.metadata.labels = { tier: 'not valid!' };
      return d;
    },
    field: /metadata\.labels/,
  },
  {
    name: 'a label value over 63 characters',
    obj: () => {
      const d: any = validConfigMap();
      d.metadata.labels = { tier: 'a'.repeat(64) };
      return d;
    },
    field: /metadata\.labels.*63/s,
  },
  {
    name: 'an invalid object name',
    obj: () => {
      const d = validConfigMap();
      d.metadata.name = 'Not_A_Valid_Name';
      return d;
    },
    field: /metadata\.name/,
  },
  {
    name: 'an invalid ConfigMap key',
    obj: () => {
      const d: any = validConfigMap();
      d.data = { 'bad key!': 'v' };
      return d;
    },
    field: /data\[bad key!\]/,
  },
  {
    name: 'a Pod container without an image',
    obj: () => {
      const p: any = validPod();
      delete p.spec.containers[0].image;
      return p;
    },
    field: /spec\.containers\[0\]\.image/,
  },
  {
    // Server-side apply already refuses the duplicate list-map key (port, protocol) while merging; `create`
    // reaches Service validation itself, whose error names the second port.
    name: 'a Service with two ports with the same port number (create)',
    obj: () => {
      const s = validService();
      s.spec.ports[1]!.port = 80;
      return s;
    },
    field: /spec\.ports\[1\]/,
    create: true,
  },
  {
    name: 'a Service with two ports with the same port number (server-side apply)',
    obj: () => {
      const s = validService();
      s.spec.ports[1]!.port = 80;
      return s;
    },
    field: /spec\.ports/,
  },
  {
    name: 'an unknown field under strict field validation (create --validate=strict)',
    obj: () => {
      const d: any = validDeployment();
      d.spec.replicaz = 2;
      return d;
    },
    field: /unknown field "spec\.replicaz"/,
    create: true,
  },
  {
    // Server-side apply checks applied fields against the schema whatever the validation level.
    name: 'an unknown field (server-side apply)',
    obj: () => {
      const d: any = validDeployment();
      d.spec.replicaz = 2;
      return d;
    },
    field: /\.spec\.replicaz/,
  },
];

describe.skipIf(!run)('real control plane (Kubernetes from Go modules)', () => {
  let cp: ControlPlane;
  const kubectl = (args: string[], input?: string) => kubectlWith(cp.kubeconfig, args, input);
  const dryRun = (obj: unknown, create = false) =>
    kubectl(
      create
        ? ['create', '--dry-run=server', '--validate=strict', '-f', '-']
        : ['apply', '--server-side', '--dry-run=server', '--validate=strict', '-f', '-'],
      JSON.stringify(obj),
    );

  beforeAll(async () => {
    if (binDir === undefined)
      throw new Error('CI: the control-plane binaries are missing; run `npm run setup:kube` before the tests');
    cp = await startControlPlane({ binDir });
  }, 180_000);

  afterAll(async () => {
    // beforeAll may have failed before assigning it.
    await (cp as ControlPlane | undefined)?.stop();
  });

  it('serves /version as the pinned v1.36.3, over TLS verified with its CA and the admin token', async () => {
    const caPem = Buffer.from(cp.caData, 'base64').toString('utf8');
    const v = await getJson(`${cp.url}/version`, caPem, cp.adminToken);
    expect(v.status).toBe(200);
    expect(v.body.gitVersion).toBe('v1.36.3');
    expect(v.body.minor).toBe('36');
    expect(cp.version).toBe('v1.36.3');
    const kv = await kubectl(['version', '-o', 'json']);
    expect(JSON.parse(kv.stdout).serverVersion.gitVersion).toBe('v1.36.3');
  });

  it('the ReplicaSet controller creates Pods for a Deployment; the scheduler leaves them Unschedulable', async () => {
    expect((await kubectl(['create', 'namespace', 'workloads'])).code).toBe(0);
    const d = validDeployment();
    d.metadata = { name: 'web', namespace: 'workloads', labels: { app: 'web' } };
    d.spec.replicas = 2;
    d.spec.selector.matchLabels.app = 'web';
    d.spec.template.metadata.labels.app = 'web';
    const applied = await kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify(d));
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);

    const pods = await eventually('two Unschedulable pods', async () => {
      const r = await kubectl(['get', 'pods', '-n', 'workloads', '-l', 'app=web', '-o', 'json']);
      const items: any[] = JSON.parse(r.stdout).items;
      const unschedulable = items.filter((p) =>
        p.status?.conditions?.some(
          (c: any) => c.type === 'PodScheduled' && c.status === 'False' && c.reason === 'Unschedulable',
        ),
      );
      return unschedulable.length === 2 ? items : undefined;
    });
    for (const p of pods) {
      expect(p.metadata.ownerReferences[0].kind).toBe('ReplicaSet');
      expect(p.metadata.ownerReferences[0].name).toMatch(/^web-/);
      expect(p.spec.nodeName).toBeUndefined();
      expect(p.status.phase).toBe('Pending');
      // The ServiceAccount admission plugin (default on) mounted the projected token volume.
      expect(p.spec.serviceAccountName).toBe('default');
    }
    const deployment = await eventually('Deployment status', async () => {
      const r = await kubectl(['get', 'deployment', 'web', '-n', 'workloads', '-o', 'json']);
      const obj = JSON.parse(r.stdout);
      return obj.status?.conditions?.some((c: any) => c.type === 'Available') ? obj : undefined;
    });
    const available = deployment.status.conditions.find((c: any) => c.type === 'Available');
    expect(available.status).toBe('False');
    expect(deployment.status.availableReplicas ?? 0).toBe(0);
  }, 90_000);

  it('the namespace controller deletes a namespace and its contents', async () => {
    expect((await kubectl(['create', 'namespace', 'doomed'])).code).toBe(0);
    expect((await kubectl(['create', 'configmap', 'inside', '-n', 'doomed', '--from-literal=a=b'])).code).toBe(0);
    expect((await kubectl(['delete', 'namespace', 'doomed', '--wait=false'])).code).toBe(0);
    const gone = await eventually('namespace doomed to be gone', async () => {
      const r = await kubectl(['get', 'namespace', 'doomed', '-o', 'json']);
      return r.code !== 0 ? r : undefined;
    });
    expect(gone.stderr).toMatch(/NotFound|not found/);
  }, 90_000);

  it('TokenRequest: `kubectl create token default` returns a token the API server authenticates', async () => {
    expect((await kubectl(['create', 'namespace', 'tokens'])).code).toBe(0);
    // The serviceaccount controller creates `default` in every new namespace.
    await eventually('ServiceAccount tokens/default', async () =>
      (await kubectl(['get', 'serviceaccount', 'default', '-n', 'tokens'])).code === 0 ? true : undefined,
    );
    const created = await kubectl(['create', 'token', 'default', '-n', 'tokens']);
    expect(created.stderr).toBe('');
    expect(created.code).toBe(0);
    const token = created.stdout.trim();
    const claims = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));
    expect(claims.sub).toBe('system:serviceaccount:tokens:default');
    expect(claims.iss).toBe('https://kubernetes.default.svc.cluster.local');

    const saConfig = cp.kubeconfigForToken(token, 'tokens-default', 'tokens');
    const whoami = await kubectlWith(saConfig, ['auth', 'whoami', '-o', 'json']);
    expect(whoami.code).toBe(0);
    expect(JSON.parse(whoami.stdout).status.userInfo.username).toBe('system:serviceaccount:tokens:default');
    // RBAC is on: the default service account may not list pods.
    const denied = await kubectlWith(saConfig, ['get', 'pods']);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/forbidden/i);
  }, 90_000);

  it('kubectl logs reaches a kubelet endpoint through the API server (its client certificate, our CA)', async () => {
    // A stand-in kubelet: HTTPS on loopback with a serving certificate from the cluster CA, accepting only client
    // certificates from that CA, answering the container log path the API server proxies `kubectl logs` to.
    const serving = await cp.issueCertificate('stand-in-kubelet', {
      commonName: 'system:node:stand-in',
      ips: ['127.0.0.1'],
      usage: 'server',
    });
    const seen: { path: string; client: string }[] = [];
    const kubelet = createServer(
      {
        key: readFileSync(serving.keyFile),
        cert: readFileSync(serving.certFile),
        ca: readFileSync(cp.caFile),
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        const client = req.socket instanceof TLSSocket ? String(req.socket.getPeerCertificate().subject.CN) : '';
        seen.push({ path: req.url ?? '', client });
        res.end('hello from the stand-in kubelet\n');
      },
    );
    await new Promise<void>((done) => kubelet.listen(0, '127.0.0.1', done));
    try {
      const port = (kubelet.address() as AddressInfo).port;
      const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'stand-in' } };
      expect((await kubectl(['create', '-f', '-'], JSON.stringify(node))).code).toBe(0);
      const status = {
        status: {
          addresses: [{ type: 'InternalIP', address: '127.0.0.1' }],
          daemonEndpoints: { kubeletEndpoint: { Port: port } },
        },
      };
      const patched = await kubectl([
        'patch',
        'node',
        'stand-in',
        '--subresource=status',
        '--type=merge',
        '-p',
        JSON.stringify(status),
      ]);
      expect(patched.stderr).toBe('');
      const pod: any = validPod();
      pod.metadata.name = 'logged';
      pod.spec.nodeName = 'stand-in';
      expect((await kubectl(['create', '-f', '-'], JSON.stringify(pod))).code).toBe(0);
      const logs = await kubectl(['logs', 'logged', '-n', 'default', '-c', 'app']);
      expect(logs.stderr).toBe('');
      expect(logs.stdout).toBe('hello from the stand-in kubelet\n');
      expect(seen).toEqual([
        {
          path: expect.stringMatching(/^\/containerLogs\/default\/logged\/app/),
          client: 'kube-apiserver-kubelet-client',
        },
      ]);
    } finally {
      await new Promise((done) => kubelet.close(done));
      await kubectl(['delete', 'pod', 'logged', '-n', 'default', '--grace-period=0', '--force', '--wait=false']);
      await kubectl(['delete', 'node', 'stand-in', '--wait=false']);
    }
  }, 60_000);

  it('accepts the valid base objects (so every refusal below is about the one broken field)', async () => {
    for (const obj of [validDeployment(), validConfigMap(), validPod(), validService()]) {
      const r = await dryRun(obj);
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
    }
    const r = await dryRun(validService(), true);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  }, 60_000);

  for (const c of invalidCases) {
    it(`refuses ${c.name}`, async () => {
      const r = await dryRun(c.obj(), c.create);
      if (process.env.SHOW_ERRORS) console.log(`${c.name}: ${r.stderr}`);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(c.field);
    });
  }

  it('without strict validation the same unknown field is dropped, not refused (the refusal above is strict mode)', async () => {
    const d: any = validDeployment();
    d.spec.replicaz = 2;
    const r = await kubectl(['create', '--dry-run=server', '--validate=ignore', '-f', '-'], JSON.stringify(d));
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('stop() ends every component, frees the ports and removes the folder', async () => {
    const pids = Object.values(cp.pids);
    expect(pids.every(isRunning)).toBe(true);
    expect(existsSync(cp.dir)).toBe(true);
    await cp.stop();
    expect(pids.filter(isRunning)).toEqual([]);
    expect(existsSync(cp.dir)).toBe(false);
    for (const port of [cp.ports.apiServer, cp.ports.etcdClient, cp.ports.controllerManager, cp.ports.scheduler])
      expect(await portRefused(port)).toBe(true);
    await cp.stop(); // idempotent
  }, 60_000);
});

describe.skipIf(!run)('real control plane start failure', () => {
  it('throws E_TOOL with the failing component log and leaves nothing behind', async () => {
    if (binDir === undefined) throw new Error('CI: the control-plane binaries are missing; run `npm run setup:kube`');
    const parent = mkdtempSync(join(tmpdir(), 'cp-failure-'));
    const err: unknown = await startControlPlane({
      binDir,
      tmpParent: parent,
      apiServerArgs: ['--no-such-flag=1'],
    }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HelmTiersError);
    expect((err as HelmTiersError).code).toBe('E_TOOL');
    expect((err as HelmTiersError).message).toMatch(/kube-apiserver/);
    expect((err as HelmTiersError).message).toMatch(/unknown flag: --no-such-flag/);
    expect(readdirSync(parent)).toEqual([]);
    rmSync(parent, { recursive: true });
  }, 60_000);
});
