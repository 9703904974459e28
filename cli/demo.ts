/**
 * `npm start`: every release of the plan, level by level, rendered by real Helm 3 (post-renderer executable) and
 * real Helm 4 (postrenderer/v1 plugin), with the labels checked on every object. No cluster needed.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { parseAllDocuments } from 'yaml';
import { ErrorCodes, HelmTiersError } from '../core/errors.js';
import { exec, findProjectRoot, isolatedHelmEnv, toolchain, type HelmMajor } from '../core/tools.js';
import { labelKeys } from '../core/labels.js';
import { releaseValues } from '../plan/metadata.js';
import { planLevels, type Component, type Plan } from '../plan/plan.js';

export interface DemoOptions {
  readonly plan: Plan;
  readonly cwd: string;
  readonly out: Writable;
}

/** Renders one release with one Helm major and the post-renderer; returns the rendered documents. */
export async function renderRelease(root: string, plan: Plan, c: Component, major: HelmMajor, planPath: string) {
  const tc = toolchain(root, major);
  const env = isolatedHelmEnv();
  const valuesFile = join(env.HOME as string, 'values.json');
  writeFileSync(valuesFile, JSON.stringify(releaseValues(plan, c.release)));
  const chart = resolve(dirname(planPath), c.chart);
  const postRendererArgs = [`--post-renderer-args=--plan=${planPath}`, `--post-renderer-args=--release=${c.release}`];
  const postRenderer = major === 3 ? join(root, 'post-renderer/bin/helm-tiers-post-renderer') : 'tiers';
  if (major === 4) env.HELM_PLUGINS = join(root, 'dist/helm-plugin');
  const result = await exec(
    tc.helm,
    [
      'template',
      c.release,
      chart,
      '-n',
      c.namespace,
      '-f',
      valuesFile,
      '--post-renderer',
      postRenderer,
      ...postRendererArgs,
    ],
    { env },
  );
  if (result.code !== 0) {
    throw new HelmTiersError(ErrorCodes.TOOL, `helm ${major} template ${c.release} failed:\n${result.stderr.trim()}`);
  }
  return parseAllDocuments(result.stdout, { version: '1.1' })
    .map((d) => d.toJS() as Record<string, unknown> | null)
    .filter((o): o is Record<string, unknown> => o !== null && typeof o === 'object');
}

export async function runDemo({ plan, cwd, out }: DemoOptions): Promise<number> {
  const root = findProjectRoot(dirname(process.argv[1] ?? cwd));
  const planPath = resolve(cwd, plan.file);
  const keys = labelKeys(plan.labelPrefix);
  out.write(
    `helm-tiers demo: plan "${plan.name}", ${plan.components.length} releases, namespace ${plan.namespace}\n\n`,
  );
  let failures = 0;
  const levels = planLevels(plan);
  for (const [i, level] of levels.entries()) {
    out.write(`Level ${i + 1} (in parallel): ${level.map((c) => c.release).join(', ')}\n`);
    for (const c of level) {
      for (const major of [3, 4] as const) {
        const objects = await renderRelease(root, plan, c, major, planPath);
        const unlabeled = objects.filter((o) => {
          const labels = (o.metadata as { labels?: Record<string, string> } | undefined)?.labels ?? {};
          return labels[keys.tier] !== String(c.tier) || labels[keys.release] !== c.release;
        });
        failures += unlabeled.length;
        const kinds = [...new Set(objects.map((o) => String(o.kind)))].join(', ');
        out.write(
          `  helm ${major}  ${c.release.padEnd(16)} tier ${c.tier}  ${String(objects.length).padStart(3)} objects ` +
            `${unlabeled.length === 0 ? 'all labelled' : `${unlabeled.length} NOT labelled`}  (${kinds})\n`,
        );
      }
    }
  }
  out.write(`\nTier order: ${levels.map((l) => l.map((c) => c.release).join(' + ')).join('  →  ')}\n`);
  return failures === 0 ? 0 : 1;
}
