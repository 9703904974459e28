import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { exec, isolatedHelmEnv, toolchain, type HelmMajor } from '../../core/tools.js';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const SHARED = join(ROOT, '..', 'shared');
export const FIXTURE_CHART = join(ROOT, 'test/fixtures/charts/tiers-fixture');
export const PLAN = join(ROOT, 'plan.yaml');
export const POST_RENDERER_BIN = join(ROOT, 'post-renderer/bin/helm-tiers-post-renderer');
export const PLUGIN_DIR = join(ROOT, 'dist/helm-plugin/tiers');

export function requireBuild(): void {
  if (!existsSync(join(ROOT, 'dist/post-renderer.cjs')) || !existsSync(join(PLUGIN_DIR, 'plugin.yaml'))) {
    throw new Error('dist/ is missing: run `npm run build` (npm test does it first)');
  }
}

export interface HelmHarness {
  readonly major: HelmMajor;
  readonly env: Record<string, string>;
  readonly home: string;
  /** `--post-renderer` value: the executable (Helm 3) or the installed plugin's name (Helm 4). */
  readonly postRenderer: string;
  helm(args: readonly string[], extraEnv?: Record<string, string>): ReturnType<typeof exec>;
  /** Where the post-renderer's diagnostics land (XDG_STATE_HOME of this isolated environment). */
  readonly logFile: string;
}

/** An isolated Helm of the given major with the post-renderer ready (Helm 4: the plugin installed by `helm plugin install`). */
export async function helmHarness(major: HelmMajor): Promise<HelmHarness> {
  requireBuild();
  const tc = toolchain(ROOT, major);
  const home = mkdtempSync(join(tmpdir(), `helm-tiers-h${major}-`));
  const env = isolatedHelmEnv(home);
  const helm = (args: readonly string[], extraEnv: Record<string, string> = {}) =>
    exec(tc.helm, args, { env: { ...env, ...extraEnv } });
  if (major === 4) {
    const installed = await helm(['plugin', 'install', PLUGIN_DIR]);
    if (installed.code !== 0) throw new Error(`helm plugin install failed: ${installed.stderr}`);
  }
  return {
    major,
    env,
    home,
    postRenderer: major === 3 ? POST_RENDERER_BIN : 'tiers',
    helm,
    logFile: join(env.XDG_STATE_HOME as string, 'helm-tiers', 'post-renderer.log'),
  };
}

export function postRendererArgs(...args: string[]): string[] {
  return args.map((a) => `--post-renderer-args=${a}`);
}
