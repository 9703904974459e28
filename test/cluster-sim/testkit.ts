// Helpers for the simulated-cluster suites: the pinned binaries and fresh Helm homes of the one harness
// (core/helm.ts), never PATH.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHelmHome, exec, toolchainPaths, type ExecResult, type HelmHome } from '../../core/helm.js';

export const repoRoot = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
export const tools = {
  kubectl131: toolchainPaths(repoRoot, 3).kubectl,
  kubectl134: toolchainPaths(repoRoot, 4).kubectl,
  helm3: toolchainPaths(repoRoot, 3).helm,
  helm4: toolchainPaths(repoRoot, 4).helm,
};
export const fixtures = join(repoRoot, 'cluster/sim/fixtures');
export const chartDir = join(fixtures, 'chart');
export const hookScript = join(fixtures, 'hook.mjs');

export type RunResult = ExecResult;

let kubeCache: string | undefined;
/** kubectl's discovery cache (and HOME): one temp dir per test process instead of ~/.kube/cache/127.0.0.1_<port>. */
function kubeCacheDir(): string {
  kubeCache ??= mkdtempSync(join(tmpdir(), 'sim-kubecache-'));
  return kubeCache;
}

export function run(bin: string, args: string[], env: Record<string, string> = {}, input?: string): Promise<RunResult> {
  const home = kubeCacheDir();
  return exec(bin, args, { env: { PATH: process.env.PATH ?? '', HOME: home, KUBECACHEDIR: home, ...env }, input });
}

const homes: HelmHome[] = [];

/** Removes the Helm homes helmEnv made and the kubectl cache (call from afterAll). */
export function removeTempDirs(): void {
  for (const h of homes.splice(0)) h.dispose();
  if (kubeCache) rmSync(kubeCache, { recursive: true, force: true });
  kubeCache = undefined;
}

/** A fresh Helm home (HELM_* and XDG state in its own temp dir), so Helm runs never share state. */
export function helmEnv(kubeconfig: string): Record<string, string> {
  const home = createHelmHome('sim-helm-');
  homes.push(home);
  return { ...home.env, KUBECONFIG: kubeconfig };
}
