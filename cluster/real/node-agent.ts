/**
 * A node agent for the real control plane (the real kubelet cannot run without a container runtime): it registers
 * Node objects with heartbeats (a Lease in kube-node-lease, a fresh NodeReady), watches the pods the real scheduler
 * binds to its nodes and drives them through the status a kubelet reports, with the failures of the scenario
 * language of cluster/sim/scenario.ts. Containers whose image the scenario maps to a local command run as real
 * processes (pod-runner.ts); every container's output is served by the kubelet log endpoint (kubelet-server.ts).
 *
 *   const cp = await startControlPlane();
 *   const agent = await startNodeAgent(nodeAgentOptions(cp, { scenario }));
 */
/* eslint-disable @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment --
   pods and their statuses are untyped JSON from the API server, walked as such (as in cluster/sim). */
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { ErrorCodes, HelmTiersError } from '../../core/errors.js';
import { behaviorFor, commandFor, loadScenario, type ComponentBehavior, type Scenario } from '../sim/scenario.js';
import type { Obj } from '../sim/types.js';
import type { ControlPlane } from './control-plane.js';
import { kubeApi, type KubeApi, type WatchEvent } from './kube-api.js';
import { ContainerLog, startKubeletServer, type KubeletServer, type LogLookup } from './kubelet-server.js';
import {
  checkConfigRefs,
  containerEnv,
  MissingConfigError,
  podKubeconfig,
  runProcess,
  type ContainerProcess,
} from './pod-runner.js';
import { startWatchdog } from './process.js';

export interface NodeAgentTiming {
  /** Sandbox and image "pull" before containers are created. */
  start: number;
  /** Running to Ready (no readiness probe is really run). */
  ready: number;
  /** How long a crashing (simulated) container runs before it dies. */
  crash: number;
  /** First restart back-off; doubles per restart up to backoffMax (the kubelet: 10 s up to 5 min). */
  backoff: number;
  backoffMax: number;
  /** Run time of a run-to-completion container whose image maps to no command. */
  jobRun: number;
  /** How long a simulated container takes to stop after SIGTERM (within the grace period). */
  terminate: number;
  /** Period of a failing readiness probe. */
  probe: number;
  /** evicted: time Ready before the eviction. */
  evict: number;
  /** Lease renewal and NodeReady heartbeat. */
  heartbeat: number;
  /** Retry of a container whose ConfigMap/Secret reference is missing. */
  configRetry: number;
}

export const DEFAULT_AGENT_TIMING: NodeAgentTiming = {
  start: 300,
  ready: 500,
  crash: 1500,
  backoff: 2000,
  backoffMax: 16_000,
  jobRun: 500,
  terminate: 300,
  probe: 2000,
  evict: 2000,
  heartbeat: 10_000,
  configRetry: 2000,
};

export interface NodeAgentOptions {
  url: string;
  caData: string;
  /** Admin token (system:masters): the agent writes Nodes, Leases, pod status, Events and TokenRequests. */
  token: string;
  issueCertificate: ControlPlane['issueCertificate'];
  nodes?: string[];
  /** A scenario object or a YAML/JSON file (loadScenario). */
  scenario?: Scenario | string;
  timing?: Partial<NodeAgentTiming>;
  log?: (line: string) => void;
  /** Working directory of pod processes (relative scenario argv resolve against it); default process.cwd(). */
  cwd?: string;
}

export interface NodeAgent {
  nodeNames: string[];
  /** Port of each node's kubelet endpoint. */
  ports: Record<string, number>;
  /** The agent's temp folder (pod kubeconfigs, HOME of pod processes); removed by stop(). */
  dir: string;
  /** Pids of the pod processes running now. */
  pids(): number[];
  /** Kills every pod process, closes the endpoints and watches, removes the folder. Idempotent. */
  stop(): Promise<void>;
}

/** Options for an agent on `cp` (its URL, CA, admin token and certificate issuer), plus `extra`. */
export function nodeAgentOptions(
  cp: Pick<ControlPlane, 'url' | 'caData' | 'adminToken' | 'issueCertificate'>,
  extra: Partial<NodeAgentOptions> = {},
): NodeAgentOptions {
  return { url: cp.url, caData: cp.caData, token: cp.adminToken, issueCertificate: cp.issueCertificate, ...extra };
}

interface Execution {
  exited: Promise<{ code: number; reason: string }>;
  signal(sig: NodeJS.Signals): void;
  proc?: ContainerProcess;
}

interface ContainerRun {
  spec: Obj;
  init: boolean;
  state: Obj;
  lastState: Obj;
  ready: boolean;
  started: boolean;
  restartCount: number;
  crashes: number;
  pulled: boolean;
  containerID?: string;
  log?: ContainerLog;
  previous?: ContainerLog;
  exec?: Execution;
}

interface PodRun {
  uid: string;
  ns: string;
  name: string;
  node: string;
  pod: Obj;
  beh: ComponentBehavior | undefined;
  inits: ContainerRun[];
  apps: ContainerRun[];
  abort: AbortController;
  sandbox: boolean;
  initialized: boolean;
  phase?: 'Succeeded' | 'Failed';
  reason?: string;
  message?: string;
  evicted: boolean;
  stopping: boolean;
  terminating: boolean;
  podIP: string;
  startTime: string;
  conditions: Obj[];
  dirty: boolean;
  writer?: Promise<void>;
  /** A passive run: the agent reports nothing for this pod (behaviour none, a pod it found finished). */
  passive: boolean;
  token?: Promise<string>;
}

const now = () => new Date().toISOString().replace(/\.\d+Z$/, 'Z');
const micro = () => new Date().toISOString().replace(/Z$/, '000Z');

/** Sleeps unless `signal` aborts first; false when aborted. */
async function wait(ms: number, signal: AbortSignal): Promise<boolean> {
  if (signal.aborted) return false;
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}

function hash(...parts: string[]): string {
  return createHash('sha256').update(parts.join('\0')).digest('hex');
}

export async function startNodeAgent(opts: NodeAgentOptions): Promise<NodeAgent> {
  const t: NodeAgentTiming = { ...DEFAULT_AGENT_TIMING, ...opts.timing };
  const log = opts.log ?? (() => undefined);
  const scenario = loadScenario(opts.scenario);
  const nodeNames = opts.nodes ?? ['node-1'];
  const caPem = Buffer.from(opts.caData, 'base64').toString('utf8');
  const api: KubeApi = kubeApi(opts.url, caPem, opts.token);
  const apiUrl = new URL(opts.url);
  const cwd = opts.cwd ?? process.cwd();
  const dir = mkdtempSync(join(tmpdir(), 'node-agent-'));
  mkdirSync(join(dir, 'home'));
  const watchdog = startWatchdog(dir, 'node-agent-watchdog');
  const stopAll = new AbortController();
  const runs = new Map<string, PodRun>();
  const byName = new Map<string, string>();
  const servers: KubeletServer[] = [];
  const ports: Record<string, number> = {};
  const faultySeen = new Map<string, number>();
  const ownerCache = new Map<string, string>();
  const events = new Map<string, { name: Promise<string | undefined>; count: number }>();
  let heartbeat: NodeJS.Timeout | undefined;
  let stopped: Promise<void> | undefined;
  let ipCounter = 1;
  const watches: Promise<void>[] = [];

  const read = async (path: string): Promise<Obj | undefined> => {
    const r = await api.request('GET', path);
    if (r.status === 404) return undefined;
    if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.text}`);
    return r.body as Obj;
  };

  // ---------- events (aggregated like the kubelet's recorder: same object, reason and message → count) ----------
  const event = (run: PodRun, type: 'Normal' | 'Warning', reason: string, message: string): void => {
    if (stopAll.signal.aborted) return;
    const key = `${run.uid}\0${reason}\0${message}`;
    const ts = now();
    const known = events.get(key);
    const base = `/api/v1/namespaces/${run.ns}/events`;
    if (known) {
      known.count++;
      const count = known.count;
      void known.name.then(async (name) => {
        if (name === undefined || stopAll.signal.aborted) return;
        await api
          .request('PATCH', `${base}/${name}`, { count, lastTimestamp: ts }, 'application/merge-patch+json')
          .catch(() => undefined);
      });
      return;
    }
    const body = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: `${run.name}.${hash(key, ts).slice(0, 16)}`, namespace: run.ns },
      involvedObject: {
        apiVersion: 'v1',
        kind: 'Pod',
        namespace: run.ns,
        name: run.name,
        uid: run.uid,
        resourceVersion: run.pod.metadata.resourceVersion,
      },
      reason,
      message,
      type,
      source: { component: 'kubelet', host: run.node },
      firstTimestamp: ts,
      lastTimestamp: ts,
      count: 1,
      reportingComponent: 'kubelet',
      reportingInstance: run.node,
    };
    const name = api.request('POST', base, body).then(
      (r) => (r.status === 201 ? String((r.body as Obj).metadata.name) : undefined),
      () => undefined,
    );
    events.set(key, { name, count: 1 });
  };

  // ---------- pod status ----------
  const who = (run: PodRun) => `${run.name}_${run.ns}(${run.uid})`;
  const containerStatus = (c: ContainerRun): Obj => ({
    name: c.spec.name,
    state: c.state,
    lastState: c.lastState,
    ready: c.ready,
    restartCount: c.restartCount,
    image: c.spec.image,
    imageID: c.pulled
      ? `docker.io/library/${String(c.spec.image).split(/[:@]/)[0]}@sha256:${hash(String(c.spec.image))}`
      : '',
    ...(c.containerID ? { containerID: c.containerID } : {}),
    started: c.init ? undefined : Boolean(c.state.running) && c.started,
  });

  const conditionIn =
    (prevs: Obj[]) =>
    (type: string, status: string, reason?: string, message?: string): Obj => {
      const prev = prevs.find((x) => x.type === type);
      return {
        type,
        status,
        ...(reason ? { reason } : {}),
        ...(message ? { message } : {}),
        lastProbeTime: null,
        lastTransitionTime: prev && prev.status === status ? prev.lastTransitionTime : now(),
      };
    };

  const snapshot = (run: PodRun): Obj => {
    const condition = conditionIn(run.conditions);
    const names = (cs: ContainerRun[]) => cs.map((c) => String(c.spec.name)).join(' ');
    const unready = run.apps.filter((c) => !c.ready);
    const terminal = run.phase !== undefined;
    const phase =
      run.phase ?? (run.initialized && run.apps.some((c) => c.started || c.restartCount > 0) ? 'Running' : 'Pending');
    const incomplete = run.inits.filter((c) => c.state.terminated?.exitCode !== 0);
    const conditions = [
      ...(run.evicted ? [condition('DisruptionTarget', 'True', 'TerminationByKubelet', run.message)] : []),
      condition('PodReadyToStartContainers', run.sandbox && !terminal ? 'True' : 'False'),
      run.initialized || incomplete.length === 0
        ? condition('Initialized', 'True')
        : condition(
            'Initialized',
            'False',
            'ContainersNotInitialized',
            `containers with incomplete status: [${names(incomplete)}]`,
          ),
      ...(['Ready', 'ContainersReady'] as const).map((type) =>
        terminal
          ? condition(type, 'False', run.phase === 'Succeeded' ? 'PodCompleted' : 'PodFailed')
          : unready.length === 0
            ? condition(type, 'True')
            : condition(type, 'False', 'ContainersNotReady', `containers with unready status: [${names(unready)}]`),
      ),
      condition('PodScheduled', 'True'),
    ];
    run.conditions = conditions;
    return {
      phase,
      conditions,
      hostIP: '127.0.0.1',
      hostIPs: [{ ip: '127.0.0.1' }],
      podIP: run.podIP,
      podIPs: [{ ip: run.podIP }],
      startTime: run.startTime,
      reason: run.reason ?? null,
      message: run.message ?? null,
      ...(run.inits.length ? { initContainerStatuses: run.inits.map(containerStatus) } : {}),
      containerStatuses: run.apps.map(containerStatus),
      qosClass: run.pod.status?.qosClass ?? 'BestEffort',
    };
  };

  /** Writes the run's status (the latest snapshot; writes never overlap, a burst becomes one write). */
  const publish = (run: PodRun): void => {
    if (run.passive) return;
    run.dirty = true;
    if (run.writer) return;
    run.writer = (async () => {
      while (run.dirty && !stopAll.signal.aborted) {
        run.dirty = false;
        const path = `/api/v1/namespaces/${run.ns}/pods/${run.name}/status`;
        // The uid makes the patch fail on a same-named replacement (StatefulSet pods).
        const body = { metadata: { uid: run.uid }, status: snapshot(run) };
        const r = await api.request('PATCH', path, body, 'application/merge-patch+json').catch((err: unknown) => {
          log(`status of ${run.ns}/${run.name}: ${String(err)}`);
          return undefined;
        });
        if (r && r.status >= 300 && r.status !== 404 && r.status !== 409 && r.status !== 422)
          log(`status of ${run.ns}/${run.name}: ${r.status} ${r.text.slice(0, 300)}`);
      }
      run.writer = undefined;
    })();
  };

  // ---------- containers ----------
  const affects = (run: PodRun, c: ContainerRun): boolean => {
    const b = run.beh;
    if (!b) return false;
    if (b.behavior === 'initCrashLoop') {
      if (!c.init) return false;
      return b.container ? b.container === c.spec.name : run.inits[0] === c;
    }
    if (c.init) return false;
    return !b.container || b.container === c.spec.name;
  };
  const logText = (run: PodRun, c: ContainerRun): string =>
    (affects(run, c) ? run.beh?.logs : undefined) ?? scenario.defaultLogs ?? `${String(c.spec.name)} started\n`;

  const serviceAccountToken = (run: PodRun): Promise<string> => {
    run.token ??= (async () => {
      const sa = String(run.pod.spec.serviceAccountName ?? 'default');
      const r = await api.request('POST', `/api/v1/namespaces/${run.ns}/serviceaccounts/${sa}/token`, {
        apiVersion: 'authentication.k8s.io/v1',
        kind: 'TokenRequest',
        spec: {
          expirationSeconds: 3600,
          boundObjectRef: { apiVersion: 'v1', kind: 'Pod', name: run.name, uid: run.uid },
        },
      });
      if (r.status !== 201 && r.status !== 200)
        throw new Error(`TokenRequest for ${run.ns}/${sa}: ${r.status} ${r.text}`);
      return String((r.body as Obj).status.token);
    })();
    return run.token;
  };

  /** Starts one instance of a container: a local process for a mapped image, otherwise a simulated one. */
  const execute = async (run: PodRun, c: ContainerRun, out: ContainerLog, crashing: boolean): Promise<Execution> => {
    const policy = String(run.pod.spec.restartPolicy ?? 'Always');
    const beh = run.beh;
    const argv = commandFor(scenario, String(c.spec.image ?? ''));
    if (!crashing && argv) {
      const env = await containerEnv(run.pod, c.spec, read);
      const kubeconfig = join(dir, `${run.uid}.kubeconfig`);
      writeFileSync(kubeconfig, podKubeconfig(opts.url, opts.caData, await serviceAccountToken(run), run.ns), {
        mode: 0o600,
      });
      const fullEnv: Record<string, string> = {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: join(dir, 'home'),
        HOSTNAME: run.name,
        KUBECONFIG: kubeconfig,
        KUBERNETES_SERVICE_HOST: apiUrl.hostname,
        KUBERNETES_SERVICE_PORT: apiUrl.port,
        KUBERNETES_SERVICE_PORT_HTTPS: apiUrl.port,
        KUBERNETES_PORT: `tcp://${apiUrl.hostname}:${apiUrl.port}`,
        ...(scenario.env ?? {}),
        ...env,
      };
      const full = [...argv, ...((c.spec.command ?? []) as string[]), ...((c.spec.args ?? []) as string[])];
      const proc = runProcess(full, fullEnv, out, cwd, (pid) => {
        watchdog.watch(pid);
      });
      return {
        proc,
        signal: (sig) => {
          proc.signal(sig);
        },
        exited: proc.exited.then((code) => ({ code, reason: code === 0 ? 'Completed' : 'Error' })),
      };
    }
    // Simulated: crash after `crash` ms, run until stopped (restartPolicy Always), or complete after `jobRun` ms.
    out.append(logText(run, c));
    let settle!: (r: { code: number; reason: string }) => void;
    const exited = new Promise<{ code: number; reason: string }>((resolve) => (settle = resolve));
    const timers: NodeJS.Timeout[] = [];
    const done = (code: number, reason: string) => {
      for (const x of timers) clearTimeout(x);
      out.finish();
      settle({ code, reason });
    };
    if (crashing) {
      const oom = beh?.behavior === 'oomKilled';
      timers.push(
        setTimeout(() => {
          done(beh?.exitCode ?? (oom ? 137 : 1), oom ? 'OOMKilled' : 'Error');
        }, t.crash),
      );
    } else if (c.init || policy !== 'Always')
      timers.push(
        setTimeout(() => {
          done(0, 'Completed');
        }, t.jobRun),
      );
    return {
      exited,
      signal: (sig) => {
        if (sig === 'SIGKILL') done(137, 'Error');
        else
          timers.push(
            setTimeout(() => {
              done(0, 'Completed');
            }, t.terminate),
          );
      },
    };
  };

  const backoffMs = (restarts: number) => Math.min(t.backoff * 2 ** Math.max(0, restarts - 1), t.backoffMax);

  /** One container's life: image, config, then run and restart per the pod's policy. Its final exit code. */
  const runContainer = async (run: PodRun, c: ContainerRun): Promise<number | undefined> => {
    const signal = run.abort.signal;
    const name = String(c.spec.name);
    const image = String(c.spec.image);
    const beh = affects(run, c) ? run.beh : undefined;
    const policy = String(run.pod.spec.restartPolicy ?? 'Always');
    if (beh?.behavior === 'imagePullBackOff') {
      for (let attempt = 1; !run.stopping; attempt++) {
        const desc = beh.message ?? `failed to pull and unpack image "${image}": not found`;
        event(run, 'Normal', 'Pulling', `Pulling image "${image}"`);
        event(run, 'Warning', 'Failed', `Failed to pull image "${image}": rpc error: code = NotFound desc = ${desc}`);
        event(run, 'Warning', 'Failed', 'Error: ErrImagePull');
        c.state = { waiting: { reason: 'ErrImagePull', message: `rpc error: code = NotFound desc = ${desc}` } };
        publish(run);
        if (!(await wait(t.start, signal))) return undefined;
        c.state = { waiting: { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}"` } };
        event(run, 'Normal', 'BackOff', `Back-off pulling image "${image}"`);
        event(run, 'Warning', 'Failed', 'Error: ImagePullBackOff');
        publish(run);
        if (!(await wait(backoffMs(attempt), signal))) return undefined;
      }
      return undefined;
    }
    c.pulled = true;
    for (;;) {
      let msg: string | undefined;
      if (beh?.behavior === 'createContainerConfigError')
        msg = beh.message ?? (await checkConfigRefs(run.pod, read)) ?? 'secret "missing" not found';
      else
        try {
          await containerEnv(run.pod, c.spec, read);
        } catch (err) {
          if (!(err instanceof MissingConfigError)) throw err;
          msg = err.message;
        }
      if (msg === undefined) break;
      c.state = { waiting: { reason: 'CreateContainerConfigError', message: msg } };
      event(run, 'Normal', 'Pulled', `Container image "${image}" already present on machine`);
      event(run, 'Warning', 'Failed', `Error: ${msg}`);
      publish(run);
      if (!(await wait(t.configRetry, signal))) return undefined;
    }
    for (;;) {
      const crashing =
        beh !== undefined &&
        ['crashLoop', 'oomKilled', 'initCrashLoop'].includes(beh.behavior) &&
        (beh.crashes === undefined || c.crashes < beh.crashes);
      event(run, 'Normal', 'Pulled', `Container image "${image}" already present on machine`);
      event(run, 'Normal', 'Created', `Created container: ${name}`);
      event(run, 'Normal', 'Started', `Started container ${name}`);
      const out = new ContainerLog();
      c.log = out;
      c.containerID = `containerd://${hash(run.uid, name, String(c.restartCount))}`;
      const startedAt = now();
      c.state = { running: { startedAt } };
      c.started = true;
      c.ready = false;
      let exec: Execution;
      try {
        exec = await execute(run, c, out, crashing);
      } catch (err) {
        // The process could not be set up (a TokenRequest failed): the runtime reports a start error.
        out.append(`${String(err)}\n`);
        out.finish();
        exec = { exited: Promise.resolve({ code: 128, reason: 'StartError' }), signal: () => undefined };
      }
      c.exec = exec;
      publish(run);
      if (!c.init) {
        void (async () => {
          if (!(await wait(t.ready, signal)) || c.exec !== exec || !c.state.running) return;
          if (run.beh?.behavior === 'readinessProbeFailing' && beh) {
            const output = beh.message ?? probeOutput(run, c.spec);
            while (c.exec === exec && c.state.running && !run.stopping) {
              event(run, 'Warning', 'Unhealthy', `Readiness probe failed: ${output}`);
              if (!(await wait(t.probe, signal))) return;
            }
            return;
          }
          c.ready = true;
          publish(run);
        })();
      }
      const { code, reason } = await exec.exited;
      if (run.stopping) return code;
      if (crashing) {
        c.crashes++;
        c.previous = new ContainerLog(beh.previousLogs ?? c.log.text());
        c.previous.finish();
      }
      c.ready = false;
      const terminated = { exitCode: code, reason, startedAt, finishedAt: now(), containerID: c.containerID };
      c.state = { terminated };
      const restart = c.init
        ? code !== 0 && policy !== 'Never'
        : policy === 'Always' || (policy === 'OnFailure' && code !== 0);
      if (!restart) {
        publish(run);
        return code;
      }
      if (!crashing) c.previous = c.log;
      c.restartCount++;
      c.lastState = { terminated };
      publish(run);
      const backoff = backoffMs(c.restartCount);
      // The terminated state shows (kubectl: Error, OOMKilled) until the kubelet's next sync sees the back-off.
      if (!(await wait(Math.min(backoff / 2, t.backoff), signal))) return undefined;
      c.state = {
        waiting: {
          reason: 'CrashLoopBackOff',
          message: `back-off ${Math.round(backoff / 1000)}s restarting failed container=${name} pod=${who(run)}`,
        },
      };
      event(run, 'Warning', 'BackOff', `Back-off restarting failed container ${name} in pod ${who(run)}`);
      publish(run);
      if (!(await wait(backoff - Math.min(backoff / 2, t.backoff), signal))) return undefined;
    }
  };

  const probeOutput = (run: PodRun, c: Obj): string => {
    const p: Obj = c.readinessProbe ?? {};
    if (p.tcpSocket) return `dial tcp ${run.podIP}:${String(p.tcpSocket.port)}: connect: connection refused`;
    if (p.grpc) return `timeout: failed to connect service "${run.podIP}:${String(p.grpc.port)}" within 1s`;
    if (p.exec) return '';
    return 'HTTP probe failed with statuscode: 503';
  };

  const evict = (run: PodRun): void => {
    if (run.stopping) return;
    run.stopping = true;
    const first = String(run.apps[0]?.spec.name ?? '');
    const msg =
      run.beh?.message ??
      `The node was low on resource: memory. Threshold quantity: 100Mi, available: 51200Ki. Container ${first} was using 1505280Ki, request is 0, has larger consumption of memory. `;
    event(run, 'Warning', 'Evicted', msg);
    for (const c of run.apps) {
      event(run, 'Normal', 'Killing', `Stopping container ${String(c.spec.name)}`);
      c.exec?.signal('SIGKILL');
      c.ready = false;
      c.state = {
        terminated: {
          exitCode: 137,
          reason: 'Error',
          startedAt: c.state.running?.startedAt ?? now(),
          finishedAt: now(),
          containerID: c.containerID,
        },
      };
    }
    run.evicted = true;
    run.phase = 'Failed';
    run.reason = 'Evicted';
    run.message = msg;
    run.abort.abort();
    publish(run);
  };

  const lifecycle = async (run: PodRun): Promise<void> => {
    const signal = run.abort.signal;
    publish(run);
    if (!(await wait(t.start, signal))) return;
    run.sandbox = true;
    for (const c of run.inits) {
      const code = await runContainer(run, c);
      if (code === undefined || run.stopping) return;
      if (code !== 0) {
        run.phase = 'Failed';
        publish(run);
        return;
      }
    }
    run.initialized = true;
    for (const c of run.apps) c.state = { waiting: { reason: 'ContainerCreating' } };
    publish(run);
    if (run.beh?.behavior === 'evicted')
      void (async () => {
        if (await wait(t.ready + t.evict, signal)) evict(run);
      })();
    const codes = await Promise.all(run.apps.map((c) => runContainer(run, c)));
    if (run.stopping || codes.some((x) => x === undefined)) return;
    run.phase = codes.every((x) => x === 0) ? 'Succeeded' : 'Failed';
    publish(run);
  };

  // ---------- the scenario's view of a pod ----------
  /** The top owner's uid (the Deployment above a ReplicaSet): firstPods counts per workload. */
  const topOwner = async (pod: Obj): Promise<string> => {
    const ref =
      ((pod.metadata.ownerReferences ?? []) as Obj[]).find((o) => o.controller) ?? pod.metadata.ownerReferences?.[0];
    if (!ref) return String(pod.metadata.uid);
    if (ref.kind !== 'ReplicaSet') return String(ref.uid);
    const cached = ownerCache.get(String(ref.uid));
    if (cached) return cached;
    const rs = await read(
      `/apis/apps/v1/namespaces/${String(pod.metadata.namespace)}/replicasets/${String(ref.name)}`,
    ).catch(() => undefined);
    const up = ((rs?.metadata.ownerReferences ?? []) as Obj[]).find((o) => o.controller);
    const uid = String(up?.uid ?? ref.uid);
    ownerCache.set(String(ref.uid), uid);
    return uid;
  };

  const behaviourOf = async (pod: Obj): Promise<ComponentBehavior | undefined> => {
    const beh = behaviorFor(scenario, pod);
    if (!beh || beh.firstPods === undefined) return beh;
    const key = `${(scenario.components ?? []).indexOf(beh)}/${await topOwner(pod)}`;
    const seen = faultySeen.get(key) ?? 0;
    faultySeen.set(key, seen + 1);
    return seen < beh.firstPods ? beh : undefined;
  };

  const newContainer = (spec: Obj, init: boolean): ContainerRun => ({
    spec,
    init,
    state: { waiting: { reason: init ? 'PodInitializing' : 'ContainerCreating' } },
    lastState: {},
    ready: false,
    started: false,
    restartCount: 0,
    crashes: 0,
    pulled: false,
  });

  const newRun = (pod: Obj, node: string, beh: ComponentBehavior | undefined, passive: boolean): PodRun => {
    const inits = ((pod.spec.initContainers ?? []) as Obj[]).map((c) => newContainer(c, true));
    const apps = ((pod.spec.containers ?? []) as Obj[]).map((c) => newContainer(c, false));
    if (inits.length) for (const c of apps) c.state = { waiting: { reason: 'PodInitializing' } };
    const index = Math.max(0, nodeNames.indexOf(node));
    const run: PodRun = {
      uid: String(pod.metadata.uid),
      ns: String(pod.metadata.namespace),
      name: String(pod.metadata.name),
      node,
      pod,
      beh,
      inits,
      apps,
      abort: new AbortController(),
      sandbox: false,
      initialized: inits.length === 0,
      evicted: false,
      stopping: false,
      terminating: false,
      podIP: `10.244.${index}.${(ipCounter++ % 250) + 2}`,
      startTime: now(),
      conditions: (pod.status?.conditions ?? []) as Obj[],
      dirty: false,
      passive,
    };
    return run;
  };

  const forget = (run: PodRun): void => {
    run.stopping = true;
    run.abort.abort();
    for (const c of [...run.inits, ...run.apps]) c.exec?.signal('SIGKILL');
    runs.delete(run.uid);
    if (byName.get(`${run.ns}/${run.name}`) === run.uid) byName.delete(`${run.ns}/${run.name}`);
    rmSync(join(dir, `${run.uid}.kubeconfig`), { force: true });
  };

  /** Graceful termination as the kubelet does it: SIGTERM, SIGKILL after the grace period, then the final delete. */
  const terminate = async (run: PodRun): Promise<void> => {
    if (run.terminating) return;
    run.terminating = true;
    const wasStopping = run.stopping;
    run.stopping = true;
    run.abort.abort();
    const pod = run.pod;
    const grace = Number(pod.metadata.deletionGracePeriodSeconds ?? pod.spec.terminationGracePeriodSeconds ?? 30);
    const running = [...run.inits, ...run.apps].filter((c) => c.exec && c.state.running);
    if (!wasStopping && !run.passive) {
      for (const c of running) {
        event(run, 'Normal', 'Killing', `Stopping container ${String(c.spec.name)}`);
        c.exec?.signal('SIGTERM');
      }
      const all = Promise.all(running.map((c) => c.exec?.exited ?? Promise.resolve({ code: 137, reason: 'Error' })));
      const inTime = await Promise.race([all.then(() => true), sleep(grace * 1000).then(() => false)]);
      if (!inTime) for (const c of running) c.exec?.signal('SIGKILL');
      const results = await all;
      running.forEach((c, i) => {
        c.ready = false;
        c.state = {
          terminated: {
            exitCode: results[i]?.code ?? 137,
            reason: results[i]?.code === 0 ? 'Completed' : 'Error',
            startedAt: c.state.running?.startedAt ?? now(),
            finishedAt: now(),
            containerID: c.containerID,
          },
        };
      });
      if (running.length) {
        run.stopping = false;
        const ctl = stopAll.signal.aborted;
        if (!ctl) {
          run.dirty = true;
          publish(run);
          await run.writer;
        }
        run.stopping = true;
      }
    }
    if (stopAll.signal.aborted) return;
    const r = await api
      .request('DELETE', `/api/v1/namespaces/${run.ns}/pods/${run.name}`, {
        apiVersion: 'v1',
        kind: 'DeleteOptions',
        gracePeriodSeconds: 0,
        preconditions: { uid: run.uid },
      })
      .catch((err: unknown) => {
        log(`delete ${run.ns}/${run.name}: ${String(err)}`);
        return undefined;
      });
    if (r && r.status >= 300 && r.status !== 404 && r.status !== 409)
      log(`delete ${run.ns}/${run.name}: ${r.status} ${r.text.slice(0, 200)}`);
  };

  /** Runs being set up (the scenario lookup may read the owner): one per uid, however many events arrive. */
  const starting = new Map<string, Promise<PodRun>>();
  const runFor = (pod: Obj, node: string): Promise<PodRun> => {
    const uid = String(pod.metadata.uid);
    const known = runs.get(uid);
    if (known) return Promise.resolve(known);
    let pending = starting.get(uid);
    if (!pending) {
      pending = (async () => {
        const terminal = pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed';
        const beh = terminal || pod.metadata.deletionTimestamp ? undefined : await behaviourOf(pod);
        const passive =
          terminal ||
          Boolean(pod.metadata.deletionTimestamp) ||
          beh?.behavior === 'none' ||
          beh?.behavior === 'unschedulable';
        if (beh?.behavior === 'unschedulable')
          log(
            `${String(pod.metadata.namespace)}/${String(pod.metadata.name)}: the scenario says unschedulable, but the real scheduler bound it; left Pending (make a pod unschedulable for real: resources, nodeSelector)`,
          );
        const run = newRun(pod, node, beh, passive);
        runs.set(uid, run);
        byName.set(`${run.ns}/${run.name}`, uid);
        starting.delete(uid);
        if (!passive)
          void lifecycle(run).catch((err: unknown) => {
            log(`pod ${run.ns}/${run.name}: ${String(err)}`);
          });
        return run;
      })();
      starting.set(uid, pending);
    }
    return pending;
  };

  const observe = async (pod: Obj, node: string): Promise<void> => {
    const run = await runFor(pod, node);
    if (!runs.has(run.uid)) return;
    run.pod = pod;
    if (pod.metadata.deletionTimestamp) {
      // A pod that already finished is deleted at once (nothing runs any more).
      if (run.phase !== undefined || pod.status?.phase === 'Succeeded' || pod.status?.phase === 'Failed')
        run.stopping = true;
      await terminate(run);
    }
  };

  const isStopped = () => stopAll.signal.aborted;
  const watchNode = async (node: string): Promise<void> => {
    const selector = encodeURIComponent(`spec.nodeName=${node}`);
    let rv: string | undefined;
    while (!stopAll.signal.aborted) {
      try {
        if (rv === undefined) {
          const list = await read(`/api/v1/pods?fieldSelector=${selector}`);
          const seen = new Set<string>();
          for (const p of (list?.items ?? []) as Obj[]) {
            seen.add(String(p.metadata.uid));
            void observe({ apiVersion: 'v1', kind: 'Pod', ...p }, node);
          }
          for (const r of [...runs.values()]) if (r.node === node && !seen.has(r.uid)) forget(r);
          rv = String(list?.metadata.resourceVersion ?? '');
        }
        const state = { expired: false };
        await api.watch(
          `/api/v1/pods?watch=1&allowWatchBookmarks=true&timeoutSeconds=300&fieldSelector=${selector}&resourceVersion=${rv}`,
          (ev: WatchEvent) => {
            const obj = ev.object as Obj;
            if (ev.type === 'ERROR') {
              // 410 Gone (the resourceVersion is too old) and any other error: list again.
              state.expired = true;
              return;
            }
            rv = String(obj.metadata?.resourceVersion ?? rv);
            if (ev.type === 'BOOKMARK') return;
            if (ev.type === 'DELETED') {
              const r = runs.get(String(obj.metadata.uid));
              if (r) forget(r);
              return;
            }
            void observe(obj, node).catch((err: unknown) => {
              log(`observe: ${String(err)}`);
            });
          },
          stopAll.signal,
        );
        if (state.expired) rv = undefined;
      } catch (err) {
        if (isStopped()) break;
        log(`watch of pods on ${node}: ${String(err)}`);
        rv = undefined;
        await wait(1000, stopAll.signal);
      }
    }
  };

  // ---------- nodes ----------
  const versionBody = await read('/version').catch(() => undefined);
  const kubeletVersion = String(versionBody?.gitVersion ?? 'v0.0.0');
  const nodeConditions = (transition: Record<string, string>): Obj[] => {
    const hb = now();
    const c = (type: string, status: string, reason: string, message: string) => ({
      type,
      status,
      reason,
      message,
      lastHeartbeatTime: hb,
      lastTransitionTime: (transition[type] ??= hb),
    });
    return [
      c('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      c('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      c('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      c('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status'),
    ];
  };
  const transitions = new Map<string, Record<string, string>>();
  const nodeStatus = (node: string): Obj => {
    const tr = transitions.get(node) ?? {};
    transitions.set(node, tr);
    const resources = { cpu: '8', memory: '32Gi', pods: '110', 'ephemeral-storage': '100Gi' };
    return {
      capacity: resources,
      allocatable: resources,
      conditions: nodeConditions(tr),
      addresses: [
        { type: 'InternalIP', address: '127.0.0.1' },
        { type: 'Hostname', address: node },
      ],
      daemonEndpoints: { kubeletEndpoint: { Port: ports[node] } },
      nodeInfo: {
        machineID: hash('machine', node).slice(0, 32),
        systemUUID: hash('system', node).slice(0, 32),
        bootID: hash('boot', node, dir).slice(0, 32),
        kernelVersion: '6.0.0',
        osImage: 'helm-tiers node agent',
        containerRuntimeVersion: 'helm-tiers-node-agent://1.0.0',
        kubeletVersion,
        operatingSystem: 'linux',
        architecture: 'amd64',
      },
    };
  };

  const renew = async (node: string, nodeUid?: string): Promise<void> => {
    const r = await api.request(
      'PATCH',
      `/api/v1/nodes/${node}/status`,
      { status: nodeStatus(node) },
      'application/merge-patch+json',
    );
    if (r.status !== 200) log(`node ${node} status: ${r.status} ${r.text.slice(0, 200)}`);
    const leasePath = `/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${node}`;
    const patched = await api.request(
      'PATCH',
      leasePath,
      { spec: { holderIdentity: node, renewTime: micro() } },
      'application/merge-patch+json',
    );
    if (patched.status === 404)
      await api.request('POST', '/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: {
          name: node,
          ...(nodeUid ? { ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: node, uid: nodeUid }] } : {}),
        },
        spec: { holderIdentity: node, leaseDurationSeconds: 40, renewTime: micro() },
      });
  };

  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      stopAll.abort();
      clearInterval(heartbeat);
      const all = [...runs.values()];
      for (const r of all) {
        r.stopping = true;
        r.abort.abort();
      }
      const execs = all
        .flatMap((r) => [...r.inits, ...r.apps])
        .flatMap((c) => (c.exec?.proc?.running() ? [c.exec] : []));
      for (const e of execs) e.signal('SIGTERM');
      const exited = Promise.all(execs.map((e) => e.exited));
      if (!(await Promise.race([exited.then(() => true), sleep(2000).then(() => false)])))
        for (const e of execs) e.signal('SIGKILL');
      await exited;
      await Promise.all(servers.map((s) => s.close()));
      await Promise.allSettled(watches);
      api.close();
      rmSync(dir, { recursive: true, force: true });
      watchdog.release();
    })();
    return stopped;
  };

  try {
    // Log endpoint first: its port goes into the Node's status.
    for (const node of nodeNames) {
      const pair = await opts.issueCertificate(`kubelet-${node}`, {
        commonName: `system:node:${node}`,
        organizations: ['system:nodes'],
        ips: ['127.0.0.1'],
        dnsNames: ['localhost', node],
        usage: 'server',
      });
      const server = await startKubeletServer({
        cert: readFileSync(pair.certFile, 'utf8'),
        key: readFileSync(pair.keyFile, 'utf8'),
        ca: caPem,
        lookup: (ns, podName, container, previous) => lookupLog(ns, podName, container, previous),
      });
      servers.push(server);
      ports[node] = server.port;
    }
    for (const [i, node] of nodeNames.entries()) {
      const created = await api.request('POST', '/api/v1/nodes', {
        apiVersion: 'v1',
        kind: 'Node',
        metadata: {
          name: node,
          labels: {
            'kubernetes.io/hostname': node,
            'kubernetes.io/os': 'linux',
            'kubernetes.io/arch': 'amd64',
            'beta.kubernetes.io/os': 'linux',
            'beta.kubernetes.io/arch': 'amd64',
          },
        },
        spec: { podCIDR: `10.244.${i}.0/24`, podCIDRs: [`10.244.${i}.0/24`] },
        status: nodeStatus(node),
      });
      if (created.status !== 201 && created.status !== 409)
        throw new Error(`registering node ${node}: ${created.status} ${created.text}`);
      const uid =
        created.status === 201
          ? String((created.body as Obj).metadata.uid)
          : String((await read(`/api/v1/nodes/${node}`))?.metadata.uid);
      await renew(node, uid);
      log(`node ${node} registered (kubelet endpoint 127.0.0.1:${ports[node]})`);
    }
    heartbeat = setInterval(() => {
      for (const node of nodeNames)
        void renew(node).catch((err: unknown) => {
          log(`heartbeat of ${node}: ${String(err)}`);
        });
    }, t.heartbeat);
    for (const node of nodeNames) watches.push(watchNode(node));
    for (const bare of scenario.barePods ?? []) {
      const ns = bare.namespace ?? 'default';
      const r = await api.request('POST', `/api/v1/namespaces/${ns}/pods`, {
        apiVersion: 'v1',
        kind: 'Pod',
        metadata: { name: bare.name, labels: bare.labels ?? {} },
        spec: { containers: [{ name: bare.name, image: bare.image ?? 'busybox:1.36' }] },
      });
      if (r.status !== 201 && r.status !== 409) log(`bare pod ${ns}/${bare.name}: ${r.status} ${r.text.slice(0, 200)}`);
    }
  } catch (err) {
    await stop();
    throw new HelmTiersError(
      ErrorCodes.TOOL,
      `starting the node agent failed: ${err instanceof Error ? err.message : String(err)}`,
      {},
      { cause: err },
    );
  }

  function lookupLog(ns: string, podName: string, container: string, previous: boolean): LogLookup {
    const uid = byName.get(`${ns}/${podName}`);
    const run = uid === undefined ? undefined : runs.get(uid);
    if (!run) return { status: 404, message: `pod "${podName}" in namespace "${ns}" not found` };
    const c = [...run.inits, ...run.apps].find((x) => x.spec.name === container);
    if (!c) return { status: 400, message: `container "${container}" in pod "${podName}" is not valid` };
    if (previous) {
      if (c.previous) return { log: c.previous };
      return { status: 400, message: `previous terminated container "${container}" in pod "${podName}" not found` };
    }
    if (c.log) return { log: c.log };
    if (run.passive) {
      const fixed = new ContainerLog(logText(run, c));
      fixed.finish();
      return { log: fixed };
    }
    const reason = String(c.state.waiting?.reason ?? 'ContainerCreating');
    return { status: 400, message: `container "${container}" in pod "${podName}" is waiting to start: ${reason}` };
  }

  return {
    nodeNames,
    ports,
    dir,
    pids: () =>
      [...runs.values()]
        .flatMap((r) => [...r.inits, ...r.apps])
        .flatMap((c) => (c.exec?.proc?.running() && c.exec.proc.pid !== undefined ? [c.exec.proc.pid] : [])),
    stop,
  };
}
