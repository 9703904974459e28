/**
 * `helm-tiers status`: the plan as tiers, read from the cluster: per release its Helm revision and status, the plan
 * revision it runs, Ready (at the plan's revision) and, when not, why (cli/deploy/state.ts): a dependency not Ready,
 * a failed hook Job's summary line and the command to read its log, unhealthy pods, a Flux HelmRelease Stalled /
 * RetriesExceeded with the command that recovers it. Works for releases deployed by `deploy` and by Flux.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import minimist from 'minimist';
import { ErrorCodes, EXIT_CODES, HelmTiersError } from '../core/errors.js';
import { dependencyReleases, findComponent, planLevels, type Plan } from '../plan/plan.js';
import { loadPlanAt, parseOutput, type CommandIO } from './deploy.js';
import { readiness, readRelease, type ReleaseFacts, type Tools } from './deploy/state.js';
import { inPlace, isLiveTerminal } from './deploy/live.js';
import { openCluster } from './deploy/setup.js';
import { alignedTable } from './table.js';

export const STATUS_USAGE = `Usage: helm-tiers status [options]

Shows the plan as tiers (in deploy order) with, per release, its Helm revision and status, the plan revision it
runs, whether it is Ready at the plan's revision, and why not.

Options:
  --plan FILE            the plan (default ./plan.yaml, env HELM_TIERS_PLAN)
  --output text|json     a table, or one JSON document (default text)
  --watch                read again until every release is Ready or one has failed: on a terminal the table is
                         redrawn in place; elsewhere a new snapshot is printed when it changed
  --interval D           --watch: seconds between reads (default 2)
  --kube-context C       the kubeconfig context
  --helm PATH            the helm binary (default helm on PATH)
  --kubectl PATH         the kubectl binary (default: the one installed with helm-tiers, else kubectl on PATH)

Exit codes: 0 every release of the plan Ready at the plan's revision, 4 some release is not, 64 usage, 65 bad plan,
69 helm or kubectl missing, unsupported or failing, 70 internal error.
`;

export interface ReleaseStatus {
  readonly release: string;
  readonly namespace: string;
  readonly tier: number;
  readonly level: number;
  readonly helmRevision?: number;
  readonly helmStatus?: string;
  readonly chart?: string;
  readonly updated?: string;
  readonly planRevision?: string;
  readonly ready: boolean;
  readonly why: readonly string[];
  /** Something ended in failure (not merely in progress): --watch stops on it. */
  readonly failed: boolean;
  readonly helmRelease?: ReleaseFacts['flux'];
}

export interface PlanStatus {
  readonly plan: string;
  readonly revision: string;
  readonly ready: boolean;
  readonly levels: ReleaseStatus[][];
}

export async function planStatus(plan: Plan, revision: string, tools: Tools): Promise<PlanStatus> {
  const levels = planLevels(plan);
  const facts = new Map<string, ReleaseFacts>();
  await Promise.all(plan.components.map(async (c) => facts.set(c.release, await readRelease(plan, c, tools))));
  const own = new Map([...facts].map(([r, f]) => [r, readiness(f, revision)]));
  const out = levels.map((level, li) =>
    level.map((c): ReleaseStatus => {
      const f = facts.get(c.release) as ReleaseFacts;
      const r = own.get(c.release) ?? { ready: false, why: [] };
      const deps = dependencyReleases(plan, c).filter((d) => own.get(d)?.ready !== true);
      const why = [...r.why, ...deps.map((d) => `dependency ${d} is not Ready`)];
      const failed =
        f.helm?.status === 'failed' ||
        f.flux?.stalled === true ||
        (f.helm?.status !== 'deployed' && f.failedHooks.length > 0) ||
        f.pods.some((p) =>
          /CrashLoopBackOff|ImagePullBackOff|ErrImagePull|CreateContainerConfigError|OOMKilled/.test(p),
        );
      return {
        release: c.release,
        namespace: c.namespace,
        tier: c.tier,
        level: li,
        helmRevision: f.helm?.revision,
        helmStatus: f.helm?.status,
        chart: f.helm?.chart,
        updated: f.helm?.updated,
        planRevision: f.planRevision,
        ready: r.ready && deps.length === 0,
        why,
        failed,
        helmRelease: f.flux,
      };
    }),
  );
  // A release is in the plan once: findComponent keeps the names honest for the JSON consumers.
  for (const l of out) for (const s of l) findComponent(plan, s.release);
  return { plan: plan.name, revision, ready: out.every((l) => l.every((s) => s.ready)), levels: out };
}

export function statusText(s: PlanStatus): string {
  const lines = [`plan ${s.plan} at revision ${s.revision}: ${s.ready ? 'Ready' : 'NOT READY'}`];
  const head = ['RELEASE', 'TIER', 'HELM REV', 'HELM STATUS', 'PLAN REVISION', 'READY'];
  const rows: string[][] = [];
  const notes = new Map<number, string[]>();
  s.levels.forEach((level, i) => {
    rows.push([`level ${i + 1}`]);
    for (const r of level) {
      rows.push([
        `  ${r.release}`,
        String(r.tier),
        r.helmRevision === undefined ? '-' : String(r.helmRevision),
        r.helmStatus ?? 'not installed',
        r.planRevision ?? '-',
        r.ready ? 'True' : 'False',
      ]);
      if (!r.ready)
        notes.set(
          rows.length - 1,
          r.why.map((w) => `      ${w}`),
        );
    }
  });
  const [header = '', ...aligned] = alignedTable(head, rows);
  lines.push(header);
  aligned.forEach((line, i) => {
    lines.push(line);
    lines.push(...(notes.get(i) ?? []));
  });
  return `${lines.join('\n')}\n`;
}

export async function runStatus(io: CommandIO & { sleep?: (ms: number) => Promise<unknown> }): Promise<number> {
  const args = minimist([...io.argv], {
    string: ['plan', 'output', 'kube-context', 'helm', 'kubectl', 'interval'],
    boolean: ['watch', 'help'],
    unknown: (a) => {
      throw new HelmTiersError(
        ErrorCodes.USAGE,
        `unknown ${a.startsWith('-') ? 'option' : 'argument'} ${a}\n${STATUS_USAGE}`,
      );
    },
  });
  if (args.help) {
    io.stdout.write(STATUS_USAGE);
    return 0;
  }
  const output = parseOutput(args.output, STATUS_USAGE);
  const interval = args.interval === undefined ? 2 : Number(args.interval);
  if (!(interval > 0))
    throw new HelmTiersError(ErrorCodes.USAGE, `--interval must be a positive number\n${STATUS_USAGE}`);
  const { plan, revision } = loadPlanAt(args, io);
  const cluster = await openCluster({
    root: io.root,
    env: io.env,
    helm: args.helm as string | undefined,
    kubectl: args.kubectl as string | undefined,
    kubeContext: args['kube-context'] as string | undefined,
    postRenderer: false,
  });
  const wait = io.sleep ?? ((ms: number) => sleep(ms));
  // --watch on a terminal: one table, redrawn in place. Elsewhere (a log, a pipe, CI) a new snapshot when it
  // changed (one per line in json), which reads well appended.
  const screen =
    args.watch && output === 'text' && isLiveTerminal(io.stdout, io.env)
      ? inPlace(
          (t) => io.stdout.write(t),
          () => (io.stdout as { columns?: number }).columns,
        )
      : undefined;
  try {
    let last = '';
    for (;;) {
      const s = await planStatus(plan, revision, cluster.tools);
      const text = output === 'json' ? `${JSON.stringify(s)}\n` : statusText(s);
      if (text !== last) {
        if (screen) screen.draw(text.replace(/\n$/, '').split('\n'));
        else io.stdout.write(args.watch && output === 'text' && last !== '' ? `\n${text}` : text);
      }
      last = text;
      const failed = s.levels.some((l) => l.some((r) => r.failed));
      if (!args.watch || s.ready || failed) return s.ready ? 0 : EXIT_CODES.E_NOT_READY;
      await wait(interval * 1000);
    }
  } finally {
    cluster.dispose();
  }
}
