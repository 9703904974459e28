/**
 * A real Kubernetes control plane on loopback: etcd, kube-apiserver, kube-controller-manager and kube-scheduler,
 * built from Go modules by `npm run setup:kube` (scripts/setup-kube.mjs) into .tools/kube/<version>/bin.
 *
 * Everything lives in one temp folder (on /dev/shm when there is one: etcd's writes then cost nothing) that
 * `stop()` removes: the PKI made at start, etcd's data, kubeconfigs and one log file per component. Nothing of it
 * is loaded at import time, so code that never starts a control plane does not need the binaries.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, HelmTiersError } from '../../core/errors.js';
import { createPki, type CertificateRequest, type KeyPairFiles, type Pki } from './pki.js';
import { freePort, freePortPair, isAddressInUse, LOOPBACK } from './ports.js';
import { spawnLogged, stopChild, type Child } from './process.js';

export const COMPONENTS = ['etcd', 'kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;
export type Component = (typeof COMPONENTS)[number];

/** Service ClusterIP range; its first address is the `kubernetes` Service, so it is in the serving certificate. */
export const SERVICE_CIDR = '10.96.0.0/16';
const KUBERNETES_SERVICE_IP = '10.96.0.1';
const SERVICE_ACCOUNT_ISSUER = 'https://kubernetes.default.svc.cluster.local';

export interface ControlPlane {
  /** https://127.0.0.1:<port> */
  url: string;
  /** The cluster CA (PEM file): signs the API server's serving certificate and every client certificate. */
  caFile: string;
  /** The CA certificate as base64 PEM, as kubeconfig's certificate-authority-data wants it. */
  caData: string;
  /** Bearer token of `admin` in group system:masters. */
  adminToken: string;
  /** Path of a kubeconfig for the admin. */
  kubeconfig: string;
  /** The temp folder holding everything; removed by stop(). */
  dir: string;
  binDir: string;
  /** gitVersion reported by the running API server's /version. */
  version: string;
  /** Process ids of the running components. */
  pids: Record<Component, number>;
  /** Loopback ports: etcd client and peer, and each component's secure port. */
  ports: { etcdClient: number; etcdPeer: number; apiServer: number; controllerManager: number; scheduler: number };
  /** Log file of each component. */
  logs: Record<Component, string>;
  /** Writes a kubeconfig (in `dir`) that authenticates with `token`; returns its path. */
  kubeconfigForToken(token: string, name?: string, namespace?: string): string;
  /**
   * Issues a certificate signed by the cluster CA (files in `dir`). A node agent uses this for its kubelet
   * serving certificate (the API server verifies it: see --kubelet-certificate-authority) and for a client
   * certificate as system:node:<name> in group system:nodes.
   */
  issueCertificate(name: string, req: CertificateRequest): Promise<KeyPairFiles>;
  /** Stops every component (scheduler, controller-manager, API server, etcd), then removes `dir`. Idempotent. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Folder with the four binaries; default: kubeBinDir(repo root). */
  binDir?: string;
  /** Progress lines (what starts, what is ready). */
  log?: (line: string) => void;
  /** Extra kube-apiserver flags, appended after ours (a later scalar flag wins). */
  apiServerArgs?: string[];
  /** Extra kube-controller-manager flags. */
  controllerManagerArgs?: string[];
  /** Parent of the temp folder; default /dev/shm when it exists, else os.tmpdir(). */
  tmpParent?: string;
  /** How long to wait for every component to be ready, in ms (default 120 s). */
  readyTimeoutMs?: number;
}

const repoRoot = join(import.meta.dirname, '..', '..');

/** Kubernetes version pinned by tools/kube/go.mod, e.g. v1.36.3. */
export function pinnedKubeVersion(root: string = repoRoot): string | undefined {
  try {
    return /^\s*k8s\.io\/kubernetes\s+(v\d+\.\d+\.\d+)\b/m.exec(
      readFileSync(join(root, 'tools/kube/go.mod'), 'utf8'),
    )?.[1];
  } catch {
    return undefined;
  }
}

/** .tools/kube/<version>/bin when setup-kube has built all four binaries there, else undefined. */
export function kubeBinDir(root: string = repoRoot): string | undefined {
  const version = pinnedKubeVersion(root);
  if (version === undefined) return undefined;
  const dir = join(root, '.tools', 'kube', version);
  const bin = join(dir, 'bin');
  if (!existsSync(join(dir, 'stamp.json'))) return undefined;
  return COMPONENTS.every((c) => existsSync(join(bin, c))) ? bin : undefined;
}

function toolError(message: string, cause?: unknown): HelmTiersError {
  return new HelmTiersError(ErrorCodes.TOOL, message, {}, cause === undefined ? undefined : { cause });
}

function componentFailure(child: Child, what: string): HelmTiersError {
  return toolError(`${child.name} ${what}; last lines of ${child.logFile}:\n${child.tail(30)}`);
}

interface HttpResult {
  status: number;
  body: string;
}

/** GET over HTTPS, trusting only `ca`; a network error is a rejection. */
function httpsGet(url: string, ca: string, token?: string, timeoutMs = 5000): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      { ca, headers: token ? { Authorization: `Bearer ${token}` } : {}, timeout: timeoutMs },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${url}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}

function httpGet(url: string, timeoutMs = 5000): Promise<HttpResult> {
  return fetch(url, { signal: AbortSignal.timeout(timeoutMs) }).then(async (r) => ({
    status: r.status,
    body: await r.text(),
  }));
}

/**
 * Polls `probe` until it returns true. Throws when the child exits first (with its log) or at the deadline.
 * Returns 'address-in-use' when the child died because its port was taken, so the caller can retry elsewhere.
 */
async function waitReady(
  child: Child,
  what: string,
  probe: () => Promise<boolean>,
  deadline: number,
): Promise<'ready' | 'address-in-use'> {
  let lastError = '';
  for (;;) {
    if (child.hasExited()) {
      if (isAddressInUse(child.tail(30))) return 'address-in-use';
      const { code, signal } = await child.exited;
      throw componentFailure(child, `exited (${signal ?? `code ${code}`}) before ${what}`);
    }
    try {
      if (await probe()) return 'ready';
    } catch (err) {
      lastError = err instanceof Error ? err.message : String(err);
    }
    if (Date.now() > deadline)
      throw componentFailure(child, `not ${what} within the timeout${lastError ? ` (last probe: ${lastError})` : ''}`);
    await sleep(250);
  }
}

function kubeconfigYaml(server: string, caData: string, user: string, token: string, namespace?: string): string {
  // JSON is YAML: no quoting rules to get wrong for tokens or paths.
  return JSON.stringify(
    {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'helm-tiers', cluster: { server, 'certificate-authority-data': caData } }],
      users: [{ name: user, user: { token } }],
      contexts: [{ name: user, context: { cluster: 'helm-tiers', user, ...(namespace ? { namespace } : {}) } }],
      'current-context': user,
    },
    null,
    2,
  );
}

/** Children of every control plane this process started, for the last-resort 'exit' handler. */
const live = new Set<{ children: Child[]; dir: string }>();
let exitHandlerInstalled = false;

function killAll(): void {
  for (const cp of live) {
    for (const c of cp.children) c.signal('SIGKILL');
    try {
      rmSync(cp.dir, { recursive: true, force: true });
    } catch {
      // Best effort while the process dies.
    }
  }
  live.clear();
}

function installExitHandler(): void {
  if (exitHandlerInstalled) return;
  exitHandlerInstalled = true;
  // 'exit' handlers must be synchronous: SIGKILL is all that can be done, then the folder goes.
  process.on('exit', killAll);
  // A signal that would kill the caller emits no 'exit'. Clean up, then let the signal do what it would have done:
  // when nobody else listens, re-raise it with the default action restored; otherwise leave it to the listeners.
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    const onSignal = (): void => {
      killAll();
      if (process.listenerCount(sig) === 1) {
        process.removeListener(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
}

function childEnv(): NodeJS.ProcessEnv {
  // etcd reads ETCD_* variables as flags and the Kubernetes binaries honour KUBECONFIG: a caller's would leak in.
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('ETCD_') && k !== 'KUBECONFIG') env[k] = v;
  return env;
}

function baseTempDir(): string {
  return existsSync('/dev/shm') ? '/dev/shm' : tmpdir();
}

const STOP_ORDER: Component[] = ['kube-scheduler', 'kube-controller-manager', 'kube-apiserver', 'etcd'];
const GRACE_MS = 5000;
const PORT_ATTEMPTS = 3;

export async function startControlPlane(opts: StartOptions = {}): Promise<ControlPlane> {
  const log = opts.log ?? (() => undefined);
  const binDir = opts.binDir ?? kubeBinDir();
  if (binDir === undefined)
    throw toolError('the Kubernetes control-plane binaries are not built: run `npm run setup:kube` (needs Go)');
  for (const c of COMPONENTS)
    if (!existsSync(join(binDir, c))) throw toolError(`${join(binDir, c)} is missing: run \`npm run setup:kube\``);

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 120_000);
  const dir = mkdtempSync(join(opts.tmpParent ?? baseTempDir(), 'helm-tiers-kube-'));
  const children = new Map<Component, Child>();
  const entry = { children: [] as Child[], dir };
  live.add(entry);
  installExitHandler();

  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      for (const name of STOP_ORDER) {
        const child = children.get(name);
        if (child) await stopChild(child, GRACE_MS);
      }
      // Children that were replaced after a port clash have exited already; make sure.
      for (const c of entry.children) await stopChild(c, GRACE_MS);
      rmSync(dir, { recursive: true, force: true });
      live.delete(entry);
    })();
    return stopped;
  };

  const env = childEnv();
  const spawnComponent = (name: Component, args: string[], attempt: number): Child => {
    const child = spawnLogged(
      name,
      join(binDir, name),
      args,
      join(dir, `${name}${attempt > 0 ? `.${attempt}` : ''}.log`),
      env,
    );
    children.set(name, child);
    entry.children.push(child);
    return child;
  };

  /** Starts a component on fresh ports until it is ready or fails for another reason than a taken port. */
  const startWithPorts = async <P>(
    name: Component,
    pickPorts: () => Promise<P>,
    argsFor: (ports: P) => string[],
    probeFor: (ports: P) => () => Promise<boolean>,
    what: string,
  ): Promise<P> => {
    for (let attempt = 0; ; attempt++) {
      const ports = await pickPorts();
      const started = Date.now();
      const child = spawnComponent(name, argsFor(ports), attempt);
      log(`${name}: started (pid ${child.pid})`);
      const result = await waitReady(child, what, probeFor(ports), deadline);
      if (result === 'ready') {
        log(`${name}: ${what} after ${((Date.now() - started) / 1000).toFixed(1)} s`);
        return ports;
      }
      if (attempt + 1 >= PORT_ATTEMPTS) throw componentFailure(child, `could not bind its port ${PORT_ATTEMPTS} times`);
      log(`${name}: port taken, retrying on other ports`);
    }
  };

  try {
    // PKI: serving certificates for the three secure ports and the API server's client certificate for kubelets.
    const pki: Pki = await createPki(join(dir, 'pki'));
    const apiServing = await pki.issue('apiserver', {
      commonName: 'kube-apiserver',
      ips: [LOOPBACK, KUBERNETES_SERVICE_IP],
      dnsNames: [
        'localhost',
        'kubernetes',
        'kubernetes.default',
        'kubernetes.default.svc',
        'kubernetes.default.svc.cluster.local',
      ],
      usage: 'server',
    });
    const kubeletClient = await pki.issue('apiserver-kubelet-client', {
      commonName: 'kube-apiserver-kubelet-client',
      organizations: ['system:masters'],
      usage: 'client',
    });
    const frontProxyClient = await pki.frontProxy.issue('front-proxy-client', {
      commonName: 'front-proxy-client',
      usage: 'client',
    });
    const loopbackServing = { ips: [LOOPBACK], dnsNames: ['localhost'], usage: 'server' as const };
    const cmServing = await pki.issue('controller-manager', {
      commonName: 'kube-controller-manager',
      ...loopbackServing,
    });
    const schedServing = await pki.issue('scheduler', { commonName: 'kube-scheduler', ...loopbackServing });
    const caData = Buffer.from(pki.caPem).toString('base64');

    // Static tokens: admin (system:masters) and the two components under their own names, so the bootstrap RBAC
    // roles system:kube-controller-manager and system:kube-scheduler apply to them.
    const token = (): string => randomBytes(24).toString('hex');
    const adminToken = token();
    const cmToken = token();
    const schedToken = token();
    const tokenFile = join(dir, 'tokens.csv');
    writeFileSync(
      tokenFile,
      [
        `${adminToken},admin,admin,"system:masters"`,
        `${cmToken},system:kube-controller-manager,system:kube-controller-manager`,
        `${schedToken},system:kube-scheduler,system:kube-scheduler`,
        '',
      ].join('\n'),
      { mode: 0o600 },
    );

    // etcd: loopback only, plain HTTP (nothing else on the machine should talk to it), fsync off for speed.
    const etcd = await startWithPorts(
      'etcd',
      async () => {
        const [client, peer] = await freePortPair();
        return { client, peer };
      },
      ({ client, peer }) => [
        '--name=helm-tiers',
        `--data-dir=${join(dir, 'etcd')}`,
        `--listen-client-urls=http://${LOOPBACK}:${client}`,
        `--advertise-client-urls=http://${LOOPBACK}:${client}`,
        `--listen-peer-urls=http://${LOOPBACK}:${peer}`,
        `--initial-advertise-peer-urls=http://${LOOPBACK}:${peer}`,
        `--initial-cluster=helm-tiers=http://${LOOPBACK}:${peer}`,
        '--initial-cluster-state=new',
        '--unsafe-no-fsync=true',
        '--log-level=warn',
      ],
      ({ client }) =>
        async () => {
          const r = await httpGet(`http://${LOOPBACK}:${client}/health`);
          return r.status === 200 && (JSON.parse(r.body) as { health?: string }).health === 'true';
        },
      'healthy',
    );

    const apiPort = await startWithPorts(
      'kube-apiserver',
      () => freePort(),
      (port) => [
        `--etcd-servers=http://${LOOPBACK}:${etcd.client}`,
        `--bind-address=${LOOPBACK}`,
        // Without it the API server looks for a non-loopback interface to advertise, which a sandbox may lack.
        `--advertise-address=${LOOPBACK}`,
        `--secure-port=${port}`,
        `--cert-dir=${join(dir, 'apiserver-certs')}`,
        `--tls-cert-file=${apiServing.certFile}`,
        `--tls-private-key-file=${apiServing.keyFile}`,
        `--client-ca-file=${pki.caFile}`,
        `--token-auth-file=${tokenFile}`,
        '--authorization-mode=Node,RBAC',
        `--service-account-issuer=${SERVICE_ACCOUNT_ISSUER}`,
        `--service-account-key-file=${pki.serviceAccountPublicKeyFile}`,
        `--service-account-signing-key-file=${pki.serviceAccountKeyFile}`,
        `--service-cluster-ip-range=${SERVICE_CIDR}`,
        '--allow-privileged=true',
        // The `kubernetes` Service's Endpoints would hold 127.0.0.1, which Endpoints validation refuses.
        '--endpoint-reconciler-type=none',
        `--kubelet-client-certificate=${kubeletClient.certFile}`,
        `--kubelet-client-key=${kubeletClient.keyFile}`,
        // Kubelets serve with certificates from issueCertificate(): verified, as in a production cluster.
        `--kubelet-certificate-authority=${pki.caFile}`,
        '--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname',
        // Front proxy: without it the controller-manager and scheduler log, in a loop, that the request-header
        // CA published in kube-system/extension-apiserver-authentication is empty.
        `--requestheader-client-ca-file=${pki.frontProxy.caFile}`,
        '--requestheader-allowed-names=front-proxy-client',
        '--requestheader-username-headers=X-Remote-User',
        '--requestheader-group-headers=X-Remote-Group',
        '--requestheader-extra-headers-prefix=X-Remote-Extra-',
        `--proxy-client-cert-file=${frontProxyClient.certFile}`,
        `--proxy-client-key-file=${frontProxyClient.keyFile}`,
        ...(opts.apiServerArgs ?? []),
      ],
      (port) => async () => {
        const base = `https://${LOOPBACK}:${port}`;
        const ready = await httpsGet(`${base}/readyz`, pki.caPem, adminToken);
        if (ready.status !== 200) return false;
        return (await httpsGet(`${base}/livez`, pki.caPem, adminToken)).status === 200;
      },
      'ready (/readyz and /livez)',
    );
    const url = `https://${LOOPBACK}:${apiPort}`;

    const writeKubeconfig = (name: string, user: string, tok: string, namespace?: string): string => {
      if (!/^[\w.-]+$/.test(name)) throw new HelmTiersError(ErrorCodes.USAGE, `bad kubeconfig name: ${name}`);
      const file = join(dir, `${name}.kubeconfig`);
      writeFileSync(file, kubeconfigYaml(url, caData, user, tok, namespace), { mode: 0o600 });
      return file;
    };
    const kubeconfig = writeKubeconfig('admin', 'admin', adminToken);
    const cmKubeconfig = writeKubeconfig('kube-controller-manager', 'system:kube-controller-manager', cmToken);
    const schedKubeconfig = writeKubeconfig('kube-scheduler', 'system:kube-scheduler', schedToken);

    const healthz = (port: number) => async () =>
      (await httpsGet(`https://${LOOPBACK}:${port}/healthz`, pki.caPem)).status === 200;

    // Controller-manager and scheduler start together: neither needs the other to come up. Both are awaited even
    // when one fails, so that no start is still under way when stop() runs.
    const [cmStarted, schedStarted] = await Promise.allSettled([
      startWithPorts(
        'kube-controller-manager',
        () => freePort(),
        (port) => [
          `--kubeconfig=${cmKubeconfig}`,
          // Its secure port checks callers through the API server (TokenReview, SubjectAccessReview).
          `--authentication-kubeconfig=${cmKubeconfig}`,
          `--authorization-kubeconfig=${cmKubeconfig}`,
          `--bind-address=${LOOPBACK}`,
          `--secure-port=${port}`,
          `--tls-cert-file=${cmServing.certFile}`,
          `--tls-private-key-file=${cmServing.keyFile}`,
          `--client-ca-file=${pki.caFile}`,
          '--leader-elect=false',
          '--controllers=*',
          `--root-ca-file=${pki.caFile}`,
          `--service-account-private-key-file=${pki.serviceAccountKeyFile}`,
          '--use-service-account-credentials=true',
          // The CSR signer issues with the cluster CA (kubelet client/serving certificates via the API).
          `--cluster-signing-cert-file=${pki.caFile}`,
          `--cluster-signing-key-file=${pki.caKeyFile}`,
          `--service-cluster-ip-range=${SERVICE_CIDR}`,
          ...(opts.controllerManagerArgs ?? []),
        ],
        healthz,
        'healthy',
      ),
      startWithPorts(
        'kube-scheduler',
        () => freePort(),
        (port) => [
          `--kubeconfig=${schedKubeconfig}`,
          `--authentication-kubeconfig=${schedKubeconfig}`,
          `--authorization-kubeconfig=${schedKubeconfig}`,
          `--bind-address=${LOOPBACK}`,
          `--secure-port=${port}`,
          `--tls-cert-file=${schedServing.certFile}`,
          `--tls-private-key-file=${schedServing.keyFile}`,
          `--client-ca-file=${pki.caFile}`,
          '--leader-elect=false',
        ],
        healthz,
        'healthy',
      ),
    ]);
    if (cmStarted.status === 'rejected') throw cmStarted.reason;
    if (schedStarted.status === 'rejected') throw schedStarted.reason;
    const [cmPort, schedPort] = [cmStarted.value, schedStarted.value];

    const versionBody = await httpsGet(`${url}/version`, pki.caPem, adminToken);
    const version = (JSON.parse(versionBody.body) as { gitVersion?: string }).gitVersion ?? 'unknown';
    log(`control plane ${version} ready at ${url} (folder ${dir})`);

    const pid = (c: Component): number => children.get(c)?.pid ?? -1;
    const logFile = (c: Component): string => children.get(c)?.logFile ?? '';
    return {
      url,
      caFile: pki.caFile,
      caData,
      adminToken,
      kubeconfig,
      dir,
      binDir,
      version,
      pids: {
        etcd: pid('etcd'),
        'kube-apiserver': pid('kube-apiserver'),
        'kube-controller-manager': pid('kube-controller-manager'),
        'kube-scheduler': pid('kube-scheduler'),
      },
      ports: {
        etcdClient: etcd.client,
        etcdPeer: etcd.peer,
        apiServer: apiPort,
        controllerManager: cmPort,
        scheduler: schedPort,
      },
      logs: {
        etcd: logFile('etcd'),
        'kube-apiserver': logFile('kube-apiserver'),
        'kube-controller-manager': logFile('kube-controller-manager'),
        'kube-scheduler': logFile('kube-scheduler'),
      },
      kubeconfigForToken: (tok, name = 'user', namespace) => writeKubeconfig(name, name, tok, namespace),
      issueCertificate: (name, req) => pki.issue(name, req),
      stop,
    };
  } catch (err) {
    await stop();
    if (err instanceof HelmTiersError) throw err;
    throw toolError(`starting the control plane failed: ${err instanceof Error ? err.message : String(err)}`, err);
  }
}
