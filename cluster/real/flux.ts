/**
 * Flux's source-controller and helm-controller (and, on request, kustomize-controller) as local processes against a
 * Kubernetes API server (a real one: cluster/real/control-plane.ts), built from Go modules by `npm run setup:flux`
 * (scripts/setup-flux.mjs).
 *
 * `startFlux` installs the Flux CRDs (server-side apply: they are too large for the last-applied annotation),
 * creates the runtime namespace and starts the controllers on distinct loopback ports; helm-controller and
 * kustomize-controller download artifacts from source-controller's storage server at 127.0.0.1. Everything the
 * controllers write (artifact storage, HOME, TMPDIR, logs) lives in one temp folder that `stop()` removes.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';

import { ErrorCodes, HelmTiersError } from '../../core/errors.js';
import { startWatchdog } from './process.js';

const execFileAsync = promisify(execFile);

const repoRoot = resolve(import.meta.dirname, '..', '..');

/** The Flux release pinned by the flux CLI's wrapper module (tools/flux/cli/go.mod), e.g. `2.9.5`. */
export function pinnedFluxVersion(root: string = repoRoot): string | undefined {
  try {
    const mod = readFileSync(join(root, 'tools', 'flux', 'cli', 'go.mod'), 'utf8');
    return /^\s*github\.com\/fluxcd\/flux2\/v2\s+v(\d+\.\d+\.\d+)\b/m.exec(mod)?.[1];
  } catch {
    return undefined;
  }
}

/** Where `npm run setup:flux` puts source-controller, helm-controller and flux: .tools/flux/<version>/bin. */
export function fluxBinDir(root: string = repoRoot): string {
  return join(root, '.tools', 'flux', pinnedFluxVersion(root) ?? 'unknown', 'bin');
}

/**
 * The binaries setup:flux builds that `binDir` lacks: source-controller, helm-controller and flux, plus
 * kustomize-controller with `kustomize` (only the suites that start it need it; the others must not skip or fail
 * on a tree built before it was added).
 */
export function missingFluxBinaries(binDir: string = fluxBinDir(), opts: { kustomize?: boolean } = {}): string[] {
  const all = ['source-controller', 'helm-controller', ...(opts.kustomize ? ['kustomize-controller'] : []), 'flux'];
  return all.filter((b) => !existsSync(join(binDir, b)));
}

/**
 * kustomize-controller's CRD (Kustomization), which the shared test data does not hold: setup:flux copies it from
 * the module source the binary is built from, to .tools/flux/<version>/crds/kustomize-controller.
 */
export function fluxKustomizeCrdDir(root: string = repoRoot): string {
  return join(root, '.tools', 'flux', pinnedFluxVersion(root) ?? 'unknown', 'crds', 'kustomize-controller');
}

/** The Flux CRDs (source-controller v1.9's six source kinds and HelmRelease) in the shared test data. */
export function fluxCrdDir(root: string = repoRoot): string {
  return join(resolve(root, '../shared'), 'crds', 'flux');
}

/** kubectl 1.34 from `npm ci` (scripts/setup-tools.mjs). */
export const KUBECTL = join(repoRoot, '.tools', 'helm4', 'kubectl');

export interface FluxOptions {
  kubeconfig: string;
  /** Folder with source-controller and helm-controller; default `fluxBinDir()`. */
  binDir?: string;
  /** RUNTIME_NAMESPACE of both controllers; created if missing. */
  namespace?: string;
  /** helm-controller's wait before it looks at a HelmRelease's dependencies again (upstream default 30s). */
  requeueDependency?: string;
  /** Controller log level. */
  logLevel?: 'debug' | 'info';
  /** Progress lines. */
  log?: (line: string) => void;
  /** Bound on the CRD wait and on each controller's /readyz wait, in ms (default 90 s). */
  readyTimeoutMs?: number;
  /** kubectl binary; default `KUBECTL`. */
  kubectl?: string;
  /** Folder of CRD YAML files; default `fluxCrdDir()`. */
  crdDir?: string;
  /**
   * Also start kustomize-controller (Flux Kustomizations), after installing its CRD from `kustomizeCrdDir`.
   * Off by default: the suites that do not apply Kustomizations do not pay for a third controller.
   */
  kustomize?: boolean;
  /** Folder of kustomize-controller's CRD files; default `fluxKustomizeCrdDir()`. */
  kustomizeCrdDir?: string;
}

/** The controllers every start runs. */
export type FluxComponent = 'source' | 'helm';
/** The controllers of a start, with kustomize-controller when `kustomize` was asked for. */
export type FluxController = FluxComponent | 'kustomize';

export interface Flux {
  namespace: string;
  /** source-controller's `--storage-path`. */
  storageDir: string;
  /** `http://127.0.0.1:<port>`: source-controller's artifact server (`--storage-adv-addr`). */
  storageUrl: string;
  /** Log files (JSON lines); they live in the temp folder, so read them before `stop()`. */
  logs: Record<FluxComponent, string> & Partial<Record<'kustomize', string>>;
  pids: Record<FluxComponent, number> & Partial<Record<'kustomize', number>>;
  /** The last `lines` lines of a controller's log (`(not started)` for kustomize-controller without `kustomize`). */
  tail(component: FluxController, lines?: number): string;
  /** SIGTERM the controllers, SIGKILL after a grace period, then remove the temp folder. Idempotent. */
  stop(): Promise<void>;
}

function toolError(message: string, cause?: unknown): HelmTiersError {
  return new HelmTiersError(ErrorCodes.TOOL, message, {}, cause === undefined ? undefined : { cause });
}

/** Runs kubectl with the kubeconfig (and `input` on stdin); a failure is E_TOOL with kubectl's stderr. */
async function kubectl(
  bin: string,
  kubeconfig: string,
  args: string[],
  timeoutMs: number,
  input?: string,
): Promise<string> {
  const child = execFileAsync(bin, [`--kubeconfig=${kubeconfig}`, ...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 64 << 20,
  });
  // kubectl may exit without reading stdin (a failure, or args that need none): EPIPE is then not the error.
  child.child.stdin?.on('error', () => undefined);
  child.child.stdin?.end(input ?? '');
  try {
    return (await child).stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw toolError(`kubectl ${args.join(' ')} failed: ${(e.stderr || e.message).trim()}`, err);
  }
}

export interface CrdInstallOptions {
  timeoutMs?: number;
  /** kubectl binary; default `KUBECTL`. */
  kubectl?: string;
  /** Folder of CRD YAML files; default `fluxCrdDir()`. */
  crdDir?: string;
  /** More folders of CRD files applied with those of `crdDir` (kustomize-controller's). */
  extraCrdDirs?: string[];
}

/**
 * Applies the Flux CRDs server-side (they exceed the 256 KiB last-applied annotation of client-side apply), waits
 * until each is Established and creates the namespace. Returns the CRD names. Also usable without the controllers.
 */
export async function installFluxCrds(
  kubeconfig: string,
  namespace: string,
  opts: CrdInstallOptions = {},
): Promise<string[]> {
  const bin = opts.kubectl ?? KUBECTL;
  const timeoutMs = opts.timeoutMs ?? 90_000;
  const dir = opts.crdDir ?? fluxCrdDir();
  if (!existsSync(dir)) throw toolError(`Flux CRDs not found: ${dir} (the shared test data folder)`);
  for (const extra of opts.extraCrdDirs ?? [])
    if (!existsSync(extra)) throw toolError(`Flux CRDs not found: ${extra} (run \`npm run setup:flux\`)`);
  const fileArgs = [dir, ...(opts.extraCrdDirs ?? [])].flatMap((d) =>
    readdirSync(d)
      .filter((f) => f.endsWith('.yaml'))
      .sort()
      .flatMap((f) => ['-f', join(d, f)]),
  );
  const ssa = ['apply', '--server-side', '--force-conflicts', '--field-manager=helm-tiers'];
  const applied = await kubectl(bin, kubeconfig, [...ssa, '-o', 'name', ...fileArgs], timeoutMs);
  const names = applied.split('\n').filter((n) => n.startsWith('customresourcedefinition'));
  if (names.length === 0) throw toolError(`kubectl apply of ${dir} reported no CustomResourceDefinition`);
  const waitFor = `--timeout=${String(Math.ceil(timeoutMs / 1000))}s`;
  await kubectl(bin, kubeconfig, ['wait', '--for=condition=Established', waitFor, ...names], timeoutMs + 5000);
  const ns = JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } });
  await kubectl(bin, kubeconfig, [...ssa, '-f', '-'], timeoutMs, ns);
  return names;
}

/**
 * Distinct free loopback ports: all listeners stay open until every port is known, so no two are equal. A port can
 * still be taken by someone else before the controller binds it; the controller then exits and its log says so.
 */
export async function fluxFreePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((done, fail) => {
          const s = createServer();
          s.once('error', fail);
          s.listen(0, '127.0.0.1', () => {
            done(s);
          });
        }),
    ),
  );
  const ports = servers.map((s) => (s.address() as AddressInfo).port);
  await Promise.all(
    servers.map(
      (s) =>
        new Promise<void>((done) => {
          s.close(() => {
            done();
          });
        }),
    ),
  );
  return ports;
}

interface Controller {
  name: string;
  proc: ChildProcess;
  logFile: string;
  exited: Promise<void>;
  hasExited(): boolean;
}

function tailOf(file: string, lines: number): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function startController(name: string, bin: string, args: string[], logFile: string, env: NodeJS.ProcessEnv) {
  const fd = openSync(logFile, 'a');
  let proc: ChildProcess;
  try {
    proc = spawn(bin, args, { stdio: ['ignore', fd, fd], env });
  } finally {
    closeSync(fd);
  }
  let done = false;
  const exited = new Promise<void>((settle) => {
    proc.once('exit', () => {
      done = true;
      settle();
    });
    proc.once('error', () => {
      done = true;
      settle();
    });
  });
  const c: Controller = { name, proc, logFile, exited, hasExited: () => done };
  return c;
}

function httpStatus(url: string): Promise<number> {
  return new Promise((done) => {
    const req = request(url, { timeout: 2000 }, (res) => {
      res.resume();
      done(res.statusCode ?? 0);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => {
      done(0);
    });
    req.end();
  });
}

async function waitReady(c: Controller, url: string, deadline: number): Promise<void> {
  for (;;) {
    if (c.hasExited()) {
      throw toolError(`${c.name} exited during startup; last lines of ${c.logFile}:\n${tailOf(c.logFile, 30)}`);
    }
    if ((await httpStatus(url)) === 200) return;
    if (Date.now() > deadline) {
      throw toolError(`${c.name} not ready at ${url} in time; last lines of ${c.logFile}:\n${tailOf(c.logFile, 30)}`);
    }
    await sleep(250);
  }
}

async function stopController(c: Controller, graceMs: number): Promise<void> {
  if (c.hasExited()) return;
  c.proc.kill('SIGTERM');
  const timer = sleep(graceMs).then(() => 'timeout' as const);
  if ((await Promise.race([c.exited.then(() => 'exited' as const), timer])) === 'timeout') {
    c.proc.kill('SIGKILL');
    await c.exited;
  }
}

export async function startFlux(opts: FluxOptions): Promise<Flux> {
  const binDir = opts.binDir ?? fluxBinDir();
  const namespace = opts.namespace ?? 'flux-system';
  const log = opts.log ?? (() => undefined);
  const timeoutMs = opts.readyTimeoutMs ?? 90_000;
  const withKustomize = opts.kustomize === true;
  const missing = missingFluxBinaries(binDir, { kustomize: withKustomize }).filter((b) => b !== 'flux');
  if (missing.length) {
    throw toolError(`${missing.join(', ')} not found in ${binDir}: run \`npm run setup:flux\``);
  }
  const kubectlBin = opts.kubectl ?? KUBECTL;
  if (!existsSync(kubectlBin)) throw toolError(`${kubectlBin} not found: run \`npm ci\` (scripts/setup-tools.mjs)`);

  const names = await installFluxCrds(opts.kubeconfig, namespace, {
    timeoutMs,
    kubectl: kubectlBin,
    crdDir: opts.crdDir,
    extraCrdDirs: withKustomize ? [opts.kustomizeCrdDir ?? fluxKustomizeCrdDir()] : [],
  });
  log(`flux: ${names.length} CRDs established, namespace ${namespace}`);

  const dir = mkdtempSync(join(tmpdir(), 'flux-'));
  const storageDir = join(dir, 'storage');
  for (const d of [storageDir, join(dir, 'home'), join(dir, 'tmp')]) mkdirSync(d);
  const logs: Flux['logs'] = {
    source: join(dir, 'source-controller.log'),
    helm: join(dir, 'helm-controller.log'),
    ...(withKustomize ? { kustomize: join(dir, 'kustomize-controller.log') } : {}),
  };
  const [scMetrics, scHealth, scStorage, hcMetrics, hcHealth, kcMetrics, kcHealth] = await fluxFreePorts(
    withKustomize ? 7 : 5,
  );
  const storageAddr = `127.0.0.1:${String(scStorage)}`;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    KUBECONFIG: resolve(opts.kubeconfig),
    RUNTIME_NAMESPACE: namespace,
    // Helm's and Go's caches and temp files land here, not in the user's HOME or /tmp.
    HOME: join(dir, 'home'),
    TMPDIR: join(dir, 'tmp'),
  };
  const common = [
    `--log-level=${opts.logLevel ?? 'debug'}`,
    '--log-encoding=json',
    // pkg/runtime/leaderelection's flag (there is no --leader-elect); one replica needs no lease.
    '--enable-leader-election=false',
    '--watch-all-namespaces=true',
    `--requeue-dependency=${opts.requeueDependency ?? '5s'}`,
  ];
  const controllers: Controller[] = [];
  const watchdog = startWatchdog(dir, 'flux-watchdog');
  let stopped = false;
  // A normal exit without stop(): 'exit' handlers run synchronously, so SIGKILL and a synchronous rm are all there is.
  const killOnExit = () => {
    for (const c of controllers) if (!c.hasExited()) c.proc.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', killOnExit);

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    // The last started first: helm-controller and kustomize-controller download from source-controller's storage.
    for (const c of [...controllers].reverse()) await stopController(c, 5000);
    process.removeListener('exit', killOnExit);
    rmSync(dir, { recursive: true, force: true });
    watchdog.release();
  };

  try {
    const source = startController(
      'source-controller',
      join(binDir, 'source-controller'),
      [
        ...common,
        `--metrics-addr=127.0.0.1:${String(scMetrics)}`,
        `--health-addr=127.0.0.1:${String(scHealth)}`,
        `--storage-path=${storageDir}`,
        `--storage-addr=${storageAddr}`,
        `--storage-adv-addr=${storageAddr}`,
      ],
      logs.source,
      env,
    );
    controllers.push(source);
    watchdog.watch(source.proc.pid);
    const helm = startController(
      'helm-controller',
      join(binDir, 'helm-controller'),
      [
        ...common,
        `--metrics-addr=127.0.0.1:${String(hcMetrics)}`,
        `--health-addr=127.0.0.1:${String(hcHealth)}`,
        // Upstream waits up to 600 s for running reconciles on SIGTERM; tests stop mid-install.
        '--graceful-shutdown-timeout=3s',
      ],
      logs.helm,
      env,
    );
    controllers.push(helm);
    watchdog.watch(helm.proc.pid);
    let kustomize: Controller | undefined;
    if (withKustomize && logs.kustomize !== undefined) {
      // Same environment as the others (KUBECONFIG, RUNTIME_NAMESPACE, HOME, TMPDIR: its kustomize builds run in
      // TMPDIR); it fetches GitRepository artifacts from the URL source-controller advertises, on loopback. It has
      // no --graceful-shutdown-timeout flag; stopController's SIGKILL after the grace period bounds the stop.
      kustomize = startController(
        'kustomize-controller',
        join(binDir, 'kustomize-controller'),
        [...common, `--metrics-addr=127.0.0.1:${String(kcMetrics)}`, `--health-addr=127.0.0.1:${String(kcHealth)}`],
        logs.kustomize,
        env,
      );
      controllers.push(kustomize);
      watchdog.watch(kustomize.proc.pid);
    }
    const deadline = Date.now() + timeoutMs;
    await waitReady(source, `http://127.0.0.1:${String(scHealth)}/readyz`, deadline);
    await waitReady(helm, `http://127.0.0.1:${String(hcHealth)}/readyz`, deadline);
    if (kustomize) await waitReady(kustomize, `http://127.0.0.1:${String(kcHealth)}/readyz`, deadline);
    log(
      `flux: source-controller (pid ${String(source.proc.pid)}) and helm-controller (pid ${String(helm.proc.pid)})` +
        (kustomize ? ` and kustomize-controller (pid ${String(kustomize.proc.pid)})` : '') +
        ' ready',
    );
    return {
      namespace,
      storageDir,
      storageUrl: `http://${storageAddr}`,
      logs,
      pids: {
        source: source.proc.pid ?? -1,
        helm: helm.proc.pid ?? -1,
        ...(kustomize ? { kustomize: kustomize.proc.pid ?? -1 } : {}),
      },
      tail: (component, lines = 40) => {
        const file = logs[component];
        return file === undefined ? '(not started)' : tailOf(file, lines);
      },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
