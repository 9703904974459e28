// Helpers for the simulated-cluster suites: real binaries (never from PATH), isolated Helm homes.
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
export const tools = {
  kubectl131: join(repoRoot, '.tools/helm3/kubectl'),
  kubectl134: join(repoRoot, '.tools/helm4/kubectl'),
  helm3: join(repoRoot, '.tools/helm3/helm'),
  helm4: join(repoRoot, '.tools/helm4/helm'),
};
export const fixtures = join(repoRoot, 'cluster/sim/fixtures');
export const chartDir = join(fixtures, 'chart');
export const hookScript = join(fixtures, 'hook.mjs');

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

let kubeCache: string | undefined;
/** kubectl's discovery cache: one temp dir per test process instead of ~/.kube/cache/127.0.0.1_<port> per run. */
function kubeCacheDir(): string {
  kubeCache ??= mkdtempSync(join(tmpdir(), 'sim-kubecache-'));
  return kubeCache;
}

export function run(bin: string, args: string[], env: Record<string, string> = {}, input?: string): Promise<RunResult> {
  return new Promise((res) => {
    const child = execFile(
      bin,
      args,
      {
        env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', KUBECACHEDIR: kubeCacheDir(), ...env },
        maxBuffer: 64 * 1024 * 1024,
      },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        res({ code, stdout, stderr });
      },
    );
    if (input !== undefined) {
      child.stdin?.write(input);
      child.stdin?.end();
    }
  });
}

const helmDirs: string[] = [];

/** Removes the Helm homes helmEnv made and the kubectl cache (call from afterAll). */
export function removeTempDirs(): void {
  for (const d of helmDirs.splice(0)) rmSync(d, { recursive: true, force: true });
  if (kubeCache) rmSync(kubeCache, { recursive: true, force: true });
  kubeCache = undefined;
}

/** HELM_*_HOME in a fresh temp dir, so Helm runs never share state. */
export function helmEnv(kubeconfig: string): Record<string, string> {
  const d = mkdtempSync(join(tmpdir(), 'sim-helm-'));
  helmDirs.push(d);
  return {
    KUBECONFIG: kubeconfig,
    HELM_CONFIG_HOME: join(d, 'config'),
    HELM_DATA_HOME: join(d, 'data'),
    HELM_CACHE_HOME: join(d, 'cache'),
  };
}
