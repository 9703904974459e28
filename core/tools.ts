/**
 * The pinned Helm/kubectl toolchains installed by scripts/setup-tools.mjs, and an isolated Helm environment to
 * run them in (own config, cache, data and plugin folders: nothing of the user's Helm setup leaks in or out).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ErrorCodes, HelmTiersError } from './errors.js';

export type HelmMajor = 3 | 4;

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

export function toolchain(root: string, major: HelmMajor): Toolchain {
  const dir = join(root, '.tools', `helm${major}`);
  const tc = { major, helm: join(dir, 'helm'), kubectl: join(dir, 'kubectl') };
  if (!existsSync(tc.helm) || !existsSync(tc.kubectl)) {
    throw new HelmTiersError(ErrorCodes.TOOL, `Helm ${major} is not installed in ${dir}: run \`npm run setup\``);
  }
  return tc;
}

/** Environment for an isolated Helm: fresh XDG-style homes under `base` (created when missing). */
export function isolatedHelmEnv(
  base = mkdtempSync(join(tmpdir(), 'helm-tiers-helm-')),
  extra: Record<string, string> = {},
) {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: base,
    HELM_CONFIG_HOME: join(base, 'config'),
    HELM_CACHE_HOME: join(base, 'cache'),
    HELM_DATA_HOME: join(base, 'data'),
    // Where `helm plugin install` puts plugins is where Helm 4 must find them.
    HELM_PLUGINS: join(base, 'data', 'plugins'),
    XDG_STATE_HOME: join(base, 'state'),
    ...extra,
  };
  for (const key of ['HELM_CONFIG_HOME', 'HELM_CACHE_HOME', 'HELM_DATA_HOME', 'HELM_PLUGINS'] as const) {
    mkdirSync(env[key] as string, { recursive: true });
  }
  return env;
}

export interface ExecResult {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command to completion; never throws for a non-zero exit (callers assert on `code`). */
export function exec(
  file: string,
  args: readonly string[],
  options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {},
) {
  return new Promise<ExecResult>((resolve, reject) => {
    const child = execFile(
      file,
      [...args],
      { env: options.env, cwd: options.cwd, maxBuffer: 512 * 1024 * 1024, encoding: 'utf8' },
      (err, stdout, stderr) => {
        if (err && typeof err.code !== 'number') {
          reject(new HelmTiersError(ErrorCodes.TOOL, `${file}: ${err.message}`));
          return;
        }
        resolve({ code: err ? Number(err.code) : 0, stdout, stderr });
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}
