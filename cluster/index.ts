// startCluster(): one interface for the two clusters the tests, the demo and `npm run cluster` run on.
//   sim:  the simulated API server (cluster/sim), in this process; fast, scenario-driven, no binaries needed.
//   real: etcd, kube-apiserver, kube-controller-manager and kube-scheduler built from Go modules
//         (`npm run setup:kube`), with the node agent (cluster/real/node-agent.ts) as the kubelet and a default
//         StorageClass with a hostPath provisioner (cluster/real/volumes.ts); optionally real
//         Flux (source-controller, helm-controller; `npm run setup:flux`) and a smart-HTTP git server.
// Both take the same scenario language (cluster/sim/scenario.ts).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { ErrorCodes, HelmTiersError } from '../core/errors.js';
import { kubeBinDir, startControlPlane, type ControlPlane } from './real/control-plane.js';
import { missingFluxBinaries, startFlux, type Flux } from './real/flux.js';
import { snapshotRepo, startGitServer, type GitServer } from './real/git-server.js';
import { nodeAgentOptions, startNodeAgent, type NodeAgent, type NodeAgentTiming } from './real/node-agent.js';
import { startVolumeProvisioner, type VolumeProvisioner } from './real/volumes.js';
import { startCluster as startSim, type ClusterOptions as SimOptions, type SimCluster } from './sim/index.js';
import type { Scenario } from './sim/scenario.js';

export type Backend = 'sim' | 'real';
export const BACKENDS: readonly Backend[] = ['sim', 'real'];

export interface StartClusterOptions {
  /** Default: `defaultBackend()`. */
  backend?: Backend;
  /** How pods behave and which images run as local processes; one language for both backends. */
  scenario?: Scenario | string;
  /** sim: authorize every request by RBAC (the real API server always does). */
  rbac?: boolean;
  /** real: also run Flux's source-controller and helm-controller, and a git server. */
  flux?: boolean;
  /** real + flux: the repository the git server serves: a bare repository as is, any other folder snapshotted
   * (its tracked and untracked-but-not-ignored files). Default: a snapshot of the current folder. */
  gitDir?: string;
  /** real: node names (default one node). */
  nodes?: string[];
  /** real: the node agent's timing. */
  agentTiming?: Partial<NodeAgentTiming>;
  /** real + flux: helm-controller's `--requeue-dependency` (default 5s: short, for tests and demos). */
  requeueDependency?: string;
  /** Extra options of the simulated backend (timing, version, tokens, ...). */
  sim?: Omit<SimOptions, 'scenario' | 'rbac'>;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface Cluster {
  backend: Backend;
  /** https://127.0.0.1:<port> */
  url: string;
  /** Kubeconfig of the admin (group system:masters). */
  kubeconfig: string;
  adminToken: string;
  /** A kubeconfig that authenticates with `token`. */
  kubeconfigForToken(token: string, name?: string): string;
  /** The simulated backend's handle (store, requests, settle), when that is the backend. */
  sim?: SimCluster;
  /** The real backend's parts, when that is the backend. */
  real?: { controlPlane: ControlPlane; agent: NodeAgent; volumes: VolumeProvisioner; flux?: Flux; git?: GitServer };
  /** real + flux: the URL of the served repository. */
  gitUrl?: string;
  /** Stops everything and removes every temp folder. Idempotent. */
  stop(): Promise<void>;
}

/** The real backend when it is built here, else the simulated one. */
export function defaultBackend(): Backend {
  return kubeBinDir() === undefined ? 'sim' : 'real';
}

export function parseBackend(value: string): Backend {
  if ((BACKENDS as readonly string[]).includes(value)) return value as Backend;
  throw new HelmTiersError(ErrorCodes.USAGE, `--backend must be ${BACKENDS.join(' or ')}, not "${value}"`);
}

export async function startCluster(opts: StartClusterOptions = {}): Promise<Cluster> {
  const backend = opts.backend ?? defaultBackend();
  if (opts.flux && backend !== 'real')
    throw new HelmTiersError(ErrorCodes.USAGE, 'Flux runs on the real backend only (--backend real)');
  if (backend === 'sim') {
    const sim = await startSim({ ...opts.sim, scenario: opts.scenario, rbac: opts.rbac ?? false });
    return {
      backend,
      url: sim.url,
      kubeconfig: sim.kubeconfig,
      adminToken: sim.adminToken,
      kubeconfigForToken: (token, name) => sim.kubeconfigForToken(token, name),
      sim,
      stop: () => sim.stop(),
    };
  }
  return startReal(opts);
}

async function startReal(opts: StartClusterOptions): Promise<Cluster> {
  const log = opts.log ?? (() => undefined);
  if (opts.flux) {
    const missing = missingFluxBinaries();
    if (missing.length)
      throw new HelmTiersError(
        ErrorCodes.TOOL,
        `Flux is not built (${missing.join(', ')}): run \`npm run setup:flux\``,
      );
  }
  // Started parts are stopped in reverse order, also when a later part fails to start.
  const stops: (() => Promise<void>)[] = [];
  let stopped: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopped ??= (async () => {
      for (const s of stops.reverse()) await s().catch(() => undefined);
    })();
    return stopped;
  };
  try {
    const controlPlane = await startControlPlane({ log });
    stops.push(() => controlPlane.stop());
    const agent = await startNodeAgent(
      nodeAgentOptions(controlPlane, {
        scenario: opts.scenario,
        nodes: opts.nodes,
        timing: opts.agentTiming,
        log,
      }),
    );
    stops.push(() => agent.stop());
    const volumes = await startVolumeProvisioner({
      url: controlPlane.url,
      caData: controlPlane.caData,
      token: controlPlane.adminToken,
      log,
    });
    stops.push(() => volumes.stop());
    const real: NonNullable<Cluster['real']> = { controlPlane, agent, volumes };
    let gitUrl: string | undefined;
    if (opts.flux) {
      real.flux = await startFlux({
        kubeconfig: controlPlane.kubeconfig,
        requeueDependency: opts.requeueDependency ?? '5s',
        log,
      });
      stops.push(() => real.flux?.stop() ?? Promise.resolve());
      const repoDir = await servedRepository(opts.gitDir ?? process.cwd(), stops);
      real.git = await startGitServer({ repoDir });
      stops.push(() => real.git?.stop() ?? Promise.resolve());
      gitUrl = real.git.url;
    }
    return {
      backend: 'real',
      url: controlPlane.url,
      kubeconfig: controlPlane.kubeconfig,
      adminToken: controlPlane.adminToken,
      kubeconfigForToken: (token, name) => controlPlane.kubeconfigForToken(token, name),
      real,
      gitUrl,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** A bare repository is served as is; any other folder as a snapshot in a temp folder (removed on stop). */
async function servedRepository(dir: string, stops: (() => Promise<void>)[]): Promise<string> {
  const abs = resolve(dir);
  if (!existsSync(abs)) throw new HelmTiersError(ErrorCodes.USAGE, `--git-dir ${abs} does not exist`);
  if (existsSync(join(abs, 'HEAD')) && existsSync(join(abs, 'objects'))) return abs;
  const parent = mkdtempSync(join(tmpdir(), 'helm-tiers-git-'));
  stops.push(() => {
    rmSync(parent, { recursive: true, force: true });
    return Promise.resolve();
  });
  const repoDir = join(parent, 'repo.git');
  await snapshotRepo(abs, { into: repoDir, message: `snapshot of ${abs}` });
  return repoDir;
}
