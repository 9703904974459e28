/**
 * `helm-tiers deploy`: the plan deployed tier by tier with the user's helm, without Flux (README "Deploy without
 * Flux"). Argument parsing and wiring only; the driver is cli/deploy/driver.ts.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import minimist from 'minimist';
import { parse } from 'yaml';
import { ErrorCodes, EXIT_CODES, HelmTiersError } from '../core/errors.js';
import type { TextOut } from '../core/shell.js';
import { mergeValues } from '../plan/metadata.js';
import { findComponent, planLevels, type Plan, type Values } from '../plan/plan.js';
import { chartDir, readPlanFile } from '../plan/read.js';
import { planRevisionFromDisk } from '../plan/revision.js';
import { readChartValues } from './flux-command.js';
import { deployPlan } from './deploy/driver.js';
import { isLiveTerminal, liveWriter } from './deploy/live.js';
import { progressWriter, type OutputFormat } from './deploy/progress.js';
import { openCluster } from './deploy/setup.js';

export const DEPLOY_USAGE = `Usage: helm-tiers deploy [options]

Deploys the plan's releases in dependency order with your helm (Helm 3 or 4), against the cluster of KUBECONFIG.
Independent releases run in parallel; a release starts only when each dependency is Ready at the plan revision
(Helm status deployed, global.tiers.planRevision recorded, its workloads rolled out). A failed release stops its
dependents. A release whose chart, values and plan revision are already deployed and Ready gets no Helm action.

Options:
  --plan FILE            the plan (default ./plan.yaml, env HELM_TIERS_PLAN)
  --only RELEASE         deploy only this release (repeatable); its dependencies must already be Ready
  --dry-run              print what each release would get (install, upgrade, nothing); no Helm action
  --timeout D            Helm --timeout per release (90s, 5m); default: above the release's longest hook deadline
  --concurrency N        releases deployed at once (default 3)
  --values FILE          values merged over every release's plan values (repeatable, YAML or JSON)
  --output text|json     text (default): on a terminal (stdout a TTY, TERM not dumb, CI unset) a live table per
                         level (release, tier, action, elapsed, hook running, result), then the failures and the
                         summary; elsewhere one line per event. json: one JSON object per event (for CI)
  --kube-context C       the kubeconfig context
  --helm PATH            the helm binary (default helm on PATH); its major is read from \`helm version --short\`
  --kubectl PATH         the kubectl binary (default: the one installed with helm-tiers, else kubectl on PATH)

Exit codes: 0 every release deployed or unchanged, 2 a release failed (its dependents not started),
3 a release not started because a dependency outside --only is not Ready, 64 usage, 65 bad plan,
69 helm or kubectl missing, unsupported (not Helm 3 or 4) or failing, 70 internal error.
`;

export interface CommandIO {
  readonly argv: readonly string[];
  readonly cwd: string;
  readonly env: NodeJS.ProcessEnv;
  readonly stdout: TextOut;
  readonly stderr: TextOut;
  /** The helm-tiers install (post-renderer, pinned kubectl). */
  readonly root: string;
}

const usage = (message: string, usageText: string) => new HelmTiersError(ErrorCodes.USAGE, `${message}\n${usageText}`);

/** `90`, `90s`, `5m`, `1m30s`, `1h` → seconds. */
export function parseDuration(text: string): number {
  if (/^\d+$/.test(text)) return Number(text);
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(text);
  if (!m || text === '') throw usage(`--timeout "${text}" is not a duration like 90s or 5m`, DEPLOY_USAGE);
  return Number(m[1] ?? 0) * 3600 + Number(m[2] ?? 0) * 60 + Number(m[3] ?? 0);
}

export function parseOutput(v: unknown, usageText: string): OutputFormat {
  const s = typeof v === 'string' ? v : 'text';
  if (s !== 'text' && s !== 'json') throw usage(`--output must be text or json, not "${s}"`, usageText);
  return s;
}

const list = (v: unknown): string[] =>
  v === undefined ? [] : (Array.isArray(v) ? (v as unknown[]) : [v]).map(String).flatMap((s) => s.split(','));

function readValuesFiles(files: string[], cwd: string): Values | undefined {
  let out: Values | undefined;
  for (const f of files) {
    let v: unknown;
    try {
      v = parse(readFileSync(resolve(cwd, f), 'utf8'), { version: '1.1' });
    } catch (err) {
      throw new HelmTiersError(ErrorCodes.USAGE, `--values ${f}: ${(err as Error).message}`);
    }
    if (typeof v !== 'object' || v === null || Array.isArray(v))
      throw new HelmTiersError(ErrorCodes.USAGE, `--values ${f}: not a map of values`);
    out = mergeValues(out ?? {}, v as Values);
  }
  return out;
}

/** The plan, its absolute path and revision (the one Flux uses). */
export function loadPlanAt(args: Record<string, unknown>, io: Pick<CommandIO, 'cwd' | 'env'>) {
  const planFile = (args.plan as string | undefined) ?? io.env.HELM_TIERS_PLAN ?? 'plan.yaml';
  const plan: Plan = readPlanFile(planFile, io.cwd);
  const planPath = resolve(io.cwd, planFile);
  let revision: string;
  try {
    revision = planRevisionFromDisk(plan, planPath);
  } catch (err) {
    throw new HelmTiersError(ErrorCodes.PLAN_INVALID, `cannot read the charts: ${(err as Error).message}`, {
      file: planFile,
    });
  }
  return { plan, planPath, revision };
}

export async function runDeploy(io: CommandIO): Promise<number> {
  const args = minimist([...io.argv], {
    string: ['plan', 'only', 'timeout', 'concurrency', 'output', 'kube-context', 'helm', 'kubectl', 'values'],
    boolean: ['dry-run', 'help'],
    unknown: (a) => {
      if (a.startsWith('-')) throw usage(`unknown option ${a}`, DEPLOY_USAGE);
      throw usage(`unexpected argument "${a}"`, DEPLOY_USAGE);
    },
  });
  if (args.help) {
    io.stdout.write(DEPLOY_USAGE);
    return 0;
  }
  const output = parseOutput(args.output, DEPLOY_USAGE);
  const concurrency = args.concurrency === undefined ? 3 : Number(args.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw usage(`--concurrency must be a whole number ≥ 1`, DEPLOY_USAGE);
  const timeoutSeconds = args.timeout === undefined ? undefined : parseDuration(String(args.timeout));
  const { plan, planPath, revision } = loadPlanAt(args, io);
  const only = list(args.only);
  for (const r of only) findComponent(plan, r); // E_PLAN_UNKNOWN_RELEASE for a name not in the plan
  const values = readValuesFiles(list(args.values), io.cwd);
  const cluster = await openCluster({
    root: io.root,
    env: io.env,
    helm: args.helm as string | undefined,
    kubectl: args.kubectl as string | undefined,
    kubeContext: args['kube-context'] as string | undefined,
    postRenderer: true,
  });
  const work = mkdtempSync(join(tmpdir(), 'helm-tiers-deploy-'));
  // A table redrawn in place only where someone watches it; a log or a pipe gets one line per event.
  const live =
    output === 'text' && isLiveTerminal(io.stdout, io.env)
      ? liveWriter({
          write: (t) => io.stdout.write(t),
          columns: () => (io.stdout as { columns?: number }).columns,
          layout: new Map(
            planLevels(plan).flatMap((l, level) => l.map((c) => [c.release, { tier: c.tier, level }] as const)),
          ),
        })
      : undefined;
  try {
    const chartValues = new Map<string, Values | undefined>();
    const chartPath = (c: { chart: string }) => chartDir(planPath, c.chart);
    const result = await deployPlan({
      plan,
      planRevision: revision,
      chartPath,
      chartValues: (c) => {
        if (!chartValues.has(c.chart)) chartValues.set(c.chart, readChartValues(join(chartPath(c), 'values.yaml')));
        return chartValues.get(c.chart);
      },
      tools: cluster.tools,
      // The workloads carry the revision too (`<prefix>plan-revision`): the dependency-check hook compares it.
      postRenderFlags: (c) =>
        cluster.harness.postRenderFlags(`--plan=${planPath}`, `--release=${c.release}`, `--plan-revision=${revision}`),
      workDir: work,
      emit: live?.emit ?? progressWriter(output, (t) => io.stdout.write(t)),
      only: only.length ? only : undefined,
      dryRun: args['dry-run'] === true,
      concurrency,
      timeoutSeconds,
      values,
    });
    if (result.ok) return 0;
    const failed = result.results.some((r) => r.outcome === 'failed' || r.dependencyFailed === true);
    return failed ? EXIT_CODES.E_DEPLOY_FAILED : EXIT_CODES.E_DEPLOY_BLOCKED;
  } finally {
    live?.stop();
    rmSync(work, { recursive: true, force: true });
    cluster.dispose();
  }
}
