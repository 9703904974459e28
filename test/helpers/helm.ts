// The post-renderer suites' view of the one Helm harness (core/helm.ts): same homes, same post-renderer wiring.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import {
  createHelmHarness,
  postRendererArgs,
  postRendererPaths,
  type ExecResult,
  type HelmHarness as CoreHarness,
  type HelmMajor,
} from '../../core/helm.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHARED = join(ROOT, '..', 'shared');
export const FIXTURE_CHART = join(ROOT, 'test/fixtures/charts/tiers-fixture');
export const PLAN = join(ROOT, 'plan.yaml');
export const POST_RENDERER_BIN = postRendererPaths(ROOT).executable;
export const PLUGIN_DIR = postRendererPaths(ROOT).pluginDir;
export { postRendererArgs };

export function requireBuild(): void {
  if (!existsSync(join(ROOT, 'dist/post-renderer.cjs')) || !existsSync(join(PLUGIN_DIR, 'plugin.yaml'))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
  }
}

export interface HelmHarness extends Omit<CoreHarness, 'helm' | 'home'> {
  /** The harness's own Helm home folder. */
  readonly home: string;
  helm(args: readonly string[], extraEnv?: Record<string, string>): Promise<ExecResult>;
}

const made: CoreHarness[] = [];
// Registered on the file's suite when a test file imports this module (modules are isolated per file): the homes
// a file's harnesses made go when that file ends. A process 'exit' handler would not do: vitest ends its forks
// without one.
afterAll(() => {
  for (const h of made.splice(0)) h.dispose();
});

/** An isolated Helm of the given major with the post-renderer ready (Helm 4: the plugin installed by `helm plugin install`). */
export async function helmHarness(major: HelmMajor): Promise<HelmHarness> {
  requireBuild();
  const h = await createHelmHarness({ root: ROOT, major });
  made.push(h);
  return { ...h, home: h.home.dir, helm: (args, extraEnv = {}) => h.helm(args, { env: extraEnv }) };
}
