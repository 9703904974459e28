/**
 * `npm start`: every release of the plan, level by level, rendered by real Helm 3 (post-renderer executable) and
 * real Helm 4 (postrenderer/v1 plugin), with the labels checked on every object. No cluster needed.
 */
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import type { Writable } from 'node:stream';
import { parseAllDocuments } from 'yaml';
import { check, createHelmHarness, findProjectRoot, HELM_MAJORS, type HelmHarness } from '../core/helm.js';
import { labelKeys } from '../core/labels.js';
import { releaseValues } from '../plan/metadata.js';
import { planLevels, type Component, type Plan } from '../plan/plan.js';
import { chartDir } from '../plan/read.js';

export interface DemoOptions {
  readonly plan: Plan;
  readonly cwd: string;
  readonly out: Writable;
}

/** Renders one release with one Helm major (its harness: post-renderer wired) and returns the rendered documents. */
export async function renderRelease(helm: HelmHarness, plan: Plan, c: Component, planPath: string) {
  const valuesFile = join(helm.home.dir, `${c.release}.values.json`);
  writeFileSync(valuesFile, JSON.stringify(releaseValues(plan, c.release)));
  const chart = chartDir(planPath, c.chart);
  const args = ['template', c.release, chart, '-n', c.namespace, '-f', valuesFile];
  const flags = helm.postRenderFlags(`--plan=${planPath}`, `--release=${c.release}`);
  const result = check(await helm.helm([...args, ...flags]), `helm ${helm.major} template ${c.release}`);
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
  const helms: HelmHarness[] = [];
  try {
    for (const major of HELM_MAJORS)
      helms.push(await createHelmHarness({ root, major, prefix: `helm-tiers-cli-demo-h${major}-` }));
    for (const [i, level] of levels.entries()) {
      out.write(`Level ${i + 1} (in parallel): ${level.map((c) => c.release).join(', ')}\n`);
      for (const c of level) {
        for (const helm of helms) {
          const objects = await renderRelease(helm, plan, c, planPath);
          const unlabeled = objects.filter((o) => {
            const labels = (o.metadata as { labels?: Record<string, string> } | undefined)?.labels ?? {};
            return labels[keys.tier] !== String(c.tier) || labels[keys.release] !== c.release;
          });
          failures += unlabeled.length;
          const kinds = [...new Set(objects.map((o) => String(o.kind)))].join(', ');
          out.write(
            `  helm ${helm.major}  ${c.release.padEnd(16)} tier ${c.tier}  ${String(objects.length).padStart(3)} objects ` +
              `${unlabeled.length === 0 ? 'all labelled' : `${unlabeled.length} NOT labelled`}  (${kinds})\n`,
          );
        }
      }
    }
  } finally {
    for (const h of helms) h.dispose();
  }
  out.write(`\nTier order: ${levels.map((l) => l.map((c) => c.release).join(' + ')).join('  →  ')}\n`);
  return failures === 0 ? 0 : 1;
}
