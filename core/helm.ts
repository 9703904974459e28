/**
 * The one Helm harness of helm-tiers (docs/adr/0008): the CLI, the demo, the benchmarks and the tests all run Helm
 * and kubectl through here. It decides
 *   - the tool paths of each pinned toolchain (installed by scripts/setup-tools.mjs; never PATH),
 *   - a fresh Helm home per harness (config, cache, data, plugins, state in its own temp folder, removed on
 *     dispose): nothing of the user's Helm setup leaks in, and two runs never share repositories, plugins or logs,
 *   - how the post-renderer is wired for each major (Helm 3: the executable with `--post-renderer-args`; Helm 4:
 *     the `postrenderer/v1` plugin installed into that home, named by `--post-renderer tiers`),
 *   - how a command runs: bounded in time, a failure to start or a timeout is E_TOOL, and `check` turns a non-zero
 *     exit into E_TOOL carrying the tail of the tool's stderr.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ErrorCodes, HelmTiersError } from './errors.js';

export type HelmMajor = 3 | 4;
export const HELM_MAJORS: readonly HelmMajor[] = [3, 4];

/** The versions scripts/setup-tools.mjs installs in `.tools/helm<major>/`. */
export const TOOLCHAIN_VERSIONS = {
  3: { helm: '3.17.3', kubectl: '1.31' },
  4: { helm: '4.1.4', kubectl: '1.34' },
} as const satisfies Record<HelmMajor, { helm: string; kubectl: string }>;

export interface Toolchain {
  readonly major: HelmMajor;
  readonly helm: string;
  readonly kubectl: string;
}

/** The project root: the nearest folder above `from` holding package.json and scripts/setup-tools.mjs. */
export function findProjectRoot(from: string): string {
  let dir = from;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'scripts', 'setup-tools.mjs'))) return dir;
    const up = dirname(dir);
    if (up === dir) throw new HelmTiersError(ErrorCodes.TOOL, `cannot find the helm-tiers project above ${from}`);
    dir = up;
  }
}

/** Paths of a toolchain, without checking that it is installed (for skip conditions and messages). */
export function toolchainPaths(root: string, major: HelmMajor): Toolchain {
  const dir = join(root, '.tools', `helm${major}`);
  return { major, helm: join(dir, 'helm'), kubectl: join(dir, 'kubectl') };
}

/** The installed toolchain of `major`; E_TOOL when it is not installed. */
export function toolchain(root: string, major: HelmMajor): Toolchain {
  const tc = toolchainPaths(root, major);
  if (!existsSync(tc.helm) || !existsSync(tc.kubectl)) {
    throw new HelmTiersError(
      ErrorCodes.TOOL,
      `Helm ${major} is not installed in ${dirname(tc.helm)}: run \`npm run setup\``,
    );
  }
  return tc;
}

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface ExecOptions {
  readonly env?: NodeJS.ProcessEnv | undefined;
  readonly cwd?: string | undefined;
  readonly input?: string | undefined;
  /** Upper bound of the run; the process is killed (SIGKILL) past it and the run is E_TOOL. */
  readonly timeoutMs?: number | undefined;
}

/**
 * Default bound of one command: above every Helm `--timeout` the project passes (at most a few minutes), so that
 * Helm's own verdict comes first, and finite, so that a wedged tool never hangs a run.
 */
export const DEFAULT_TIMEOUT_MS = 10 * 60_000;

/** The last `lines` non-empty lines of a tool's stderr: what an E_TOOL message quotes. */
export function stderrTail(stderr: string, lines = 20): string {
  return stderr
    .split('\n')
    .filter((l) => l.trim() !== '')
    .slice(-lines)
    .join('\n');
}

/**
 * Runs a command to completion. A non-zero exit is a result (callers assert on `code`, or use `check`); a command
 * that cannot start, dies of a signal or outlives `timeoutMs` is E_TOOL with its stderr tail.
 */
export function exec(file: string, args: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return new Promise<ExecResult>((resolve, reject) => {
    const child = execFile(
      file,
      [...args],
      {
        env: options.env,
        cwd: options.cwd,
        maxBuffer: 512 * 1024 * 1024,
        encoding: 'utf8',
        timeout: timeoutMs,
        killSignal: 'SIGKILL',
      },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') {
          const why = err.killed ? `timed out after ${timeoutMs} ms` : err.message;
          const tail = stderrTail(stderr);
          reject(new HelmTiersError(ErrorCodes.TOOL, `${file}: ${why}${tail ? `\n${tail}` : ''}`, {}, { cause: err }));
          return;
        }
        resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
      },
    );
    // A tool that exits without reading its stdin must not turn into an EPIPE error of ours.
    child.stdin?.on('error', () => undefined);
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** `r` when it exited 0; else E_TOOL `<what> failed (exit N)` with the stderr tail. */
export function check(r: ExecResult, what: string): ExecResult {
  if (r.code === 0) return r;
  throw new HelmTiersError(ErrorCodes.TOOL, `${what} failed (exit ${r.code}):\n${stderrTail(r.stderr)}`);
}

/** A fresh Helm home: its own temp folder, never shared with another harness or run; `dispose` removes it. */
export interface HelmHome {
  readonly dir: string;
  /** PATH, HOME and the HELM_* / XDG state variables pointing into `dir`. */
  readonly env: Readonly<Record<string, string>>;
  readonly dispose: () => void;
}

export function createHelmHome(prefix = 'helm-tiers-helm-'): HelmHome {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: dir,
    HELM_CONFIG_HOME: join(dir, 'config'),
    HELM_CACHE_HOME: join(dir, 'cache'),
    HELM_DATA_HOME: join(dir, 'data'),
    // Where `helm plugin install` puts plugins is where Helm 4 must find them.
    HELM_PLUGINS: join(dir, 'data', 'plugins'),
    // The post-renderer's log (and kubectl's discovery cache, below) stay in this home too.
    XDG_STATE_HOME: join(dir, 'state'),
    KUBECACHEDIR: join(dir, 'kube-cache'),
  };
  for (const key of ['HELM_CONFIG_HOME', 'HELM_CACHE_HOME', 'HELM_DATA_HOME', 'HELM_PLUGINS'] as const) {
    mkdirSync(env[key] as string, { recursive: true });
  }
  return {
    dir,
    env,
    dispose: () => {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** The post-renderer as the built tree ships it (`npm run build`). */
export function postRendererPaths(root: string) {
  return {
    /** What Helm 3 runs (`--post-renderer <path>`): the launcher script. */
    executable: join(root, 'post-renderer/bin/helm-tiers-post-renderer'),
    /** The Helm 4 plugin folder `helm plugin install` takes. */
    pluginDir: join(root, 'dist/helm-plugin/tiers'),
    /** The plugin's name (plugin.yaml `name`): what Helm 4's `--post-renderer` names. */
    pluginName: 'tiers',
  };
}

export interface HarnessOptions {
  readonly root: string;
  readonly major: HelmMajor;
  /** Wire the post-renderer (Helm 4: install the plugin into the home). Default true. */
  readonly postRenderer?: boolean;
  /** KUBECONFIG for helm and kubectl; default a path that does not exist (no cluster reachable by accident). */
  readonly kubeconfig?: string;
  /** Prefix of the temp folder's name (shows which run made it). */
  readonly prefix?: string;
  /** Bound of every command of this harness (default DEFAULT_TIMEOUT_MS). */
  readonly timeoutMs?: number;
  /**
   * The user's helm and kubectl instead of the pinned toolchain (`helm-tiers deploy --helm`); `major` must be what
   * `detectHelmMajor` found for that helm. The home stays a fresh one either way.
   */
  readonly tools?: Toolchain;
}

export interface RunOptions {
  readonly env?: Readonly<Record<string, string>>;
  readonly input?: string;
  readonly cwd?: string;
  readonly timeoutMs?: number;
}

export interface HelmHarness {
  readonly major: HelmMajor;
  readonly tools: Toolchain;
  readonly home: HelmHome;
  /** The environment helm and kubectl run with (the home's, plus KUBECONFIG). */
  readonly env: Readonly<Record<string, string>>;
  /** `--post-renderer` value: the executable (Helm 3) or the installed plugin's name (Helm 4). */
  readonly postRenderer: string;
  /** Where the post-renderer's diagnostics land ($XDG_STATE_HOME of this home). */
  readonly logFile: string;
  /** `--post-renderer X --post-renderer-args=a ...` for one release. */
  readonly postRenderFlags: (...args: string[]) => string[];
  readonly helm: (args: readonly string[], options?: RunOptions) => Promise<ExecResult>;
  readonly kubectl: (args: readonly string[], options?: RunOptions) => Promise<ExecResult>;
  /** Removes the home; the harness is unusable afterwards. Idempotent. */
  readonly dispose: () => void;
}

/** `--post-renderer-args=a` for each argument (Helm 3 and Helm 4 take the same flag). */
export function postRendererArgs(...args: string[]): string[] {
  return args.map((a) => `--post-renderer-args=${a}`);
}

/** An isolated Helm of `major` in a fresh home, with the post-renderer wired; dispose it when done. */
export async function createHelmHarness(o: HarnessOptions): Promise<HelmHarness> {
  const tools = o.tools ?? toolchain(o.root, o.major);
  const home = createHelmHome(o.prefix ?? `helm-tiers-h${o.major}-`);
  const env = { ...home.env, KUBECONFIG: o.kubeconfig ?? join(home.dir, 'no-kubeconfig') };
  const run =
    (file: string) =>
    (args: readonly string[], r: RunOptions = {}) =>
      exec(file, args, {
        env: { ...env, ...r.env },
        input: r.input,
        cwd: r.cwd,
        timeoutMs: r.timeoutMs ?? o.timeoutMs,
      });
  const helm = run(tools.helm);
  const pr = postRendererPaths(o.root);
  try {
    if (o.postRenderer !== false) {
      if (!existsSync(join(o.root, 'dist/post-renderer.cjs')) || !existsSync(join(pr.pluginDir, 'plugin.yaml'))) {
        throw new HelmTiersError(
          ErrorCodes.TOOL,
          `${join(o.root, 'dist')} lacks the post-renderer: run \`npm run build\``,
        );
      }
      // Each major has its own home, so Helm 3 never sees (and warns about) the v4 plugin.yaml.
      if (o.major === 4) check(await helm(['plugin', 'install', pr.pluginDir]), `helm plugin install ${pr.pluginDir}`);
    }
  } catch (err) {
    home.dispose();
    throw err;
  }
  const postRenderer = o.major === 3 ? pr.executable : pr.pluginName;
  return {
    major: o.major,
    tools,
    home,
    env,
    postRenderer,
    logFile: join(home.env.XDG_STATE_HOME as string, 'helm-tiers', 'post-renderer.log'),
    postRenderFlags: (...args) => ['--post-renderer', postRenderer, ...postRendererArgs(...args)],
    helm,
    kubectl: run(tools.kubectl),
    dispose: home.dispose,
  };
}

/** The major of a `helm version --short` answer (`v3.17.3+ge4da497`, `v4.1.4+g…`); undefined for anything else. */
export function helmMajorOf(versionShort: string): HelmMajor | undefined {
  const m = /^v?(\d+)\.\d+/.exec(versionShort.trim());
  const major = m ? Number(m[1]) : NaN;
  return (HELM_MAJORS as readonly number[]).includes(major) ? (major as HelmMajor) : undefined;
}

/** Runs `helm version --short` and returns the major; E_TOOL for a Helm that is missing or neither 3 nor 4. */
export async function detectHelmMajor(helm: string, env?: NodeJS.ProcessEnv): Promise<HelmMajor> {
  const r = check(await exec(helm, ['version', '--short'], { env, timeoutMs: 30_000 }), `${helm} version --short`);
  const major = helmMajorOf(r.stdout);
  if (major === undefined) {
    throw new HelmTiersError(
      ErrorCodes.TOOL,
      `${helm} is Helm ${r.stdout.trim() || '(no version)'}: helm-tiers supports Helm 3 and Helm 4 (${HELM_MAJORS.map((m) => `v${m}`).join(', ')})`,
    );
  }
  return major;
}
