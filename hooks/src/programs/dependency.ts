/**
 * dependency-check: waits until the releases this one depends on are ready (kstatus rules over their Deployments,
 * StatefulSets, DaemonSets, Jobs and PVCs, found by the release label) and that the Services it is configured to
 * use exist; reports exactly which object blocks, and why.
 */
import { DEFAULT_LABEL_PREFIX, labelKeys } from '../../../core/labels.js';
import { COMMON_FLAGS, type Context, type FlagSpec, type FlagValue, type RunDeps } from '../cli.js';
import { mapLimit } from '../concurrency.js';
import { readiness, type Readiness } from '../deps/readiness.js';
import { HOOK_EXIT_CODES, HookError, HookErrorCodes } from '../errors.js';
import type { WorkloadKind } from '../k8s/client.js';
import { listAll } from '../k8s/pages.js';
import { COMMON_EXIT_CODES, runProgram, type ProgramDef } from '../program.js';
import { formatTable } from '../table.js';

export const DEPENDENCY_CHECK_FLAGS: FlagSpec[] = [
  ...COMMON_FLAGS,
  { name: 'depends-on', env: 'HT_DEPENDS_ON', type: 'list', help: 'release names this release depends on' },
  {
    name: 'label-prefix',
    env: 'HT_LABEL_PREFIX',
    type: 'string',
    default: DEFAULT_LABEL_PREFIX,
    help: 'prefix of the helm-tiers labels',
  },
  {
    name: 'require-services',
    env: 'HT_REQUIRE_SERVICES',
    type: 'list',
    help: 'Services that must exist in the namespace (e.g. the database and cache this release is configured with)',
  },
];

export const KINDS: readonly WorkloadKind[] = [
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'PersistentVolumeClaim',
];

export interface Blocker {
  dependency: string;
  object: string;
  status: Readiness['status'] | 'Missing';
  reason: string;
  message: string;
  condition?: string | undefined;
}

/** One pass: every blocking object of every dependency, and every missing Service. */
export async function evaluateDependencies(
  ctx: Context,
  deps: readonly string[],
  services: readonly string[],
  prefix: string,
): Promise<{ blockers: Blocker[]; objects: number }> {
  const blockers: Blocker[] = [];
  let objects = 0;
  const jobs = deps.flatMap((d) => KINDS.map((k) => ({ dep: d, kind: k })));
  const lists = await mapLimit(jobs, 4, async ({ dep, kind }) => ({
    dep,
    kind,
    items: await listAll((token) =>
      ctx.kube.listWorkloads(kind, ctx.namespace, {
        labelSelector: `${labelKeys(prefix).release}=${dep},!${labelKeys(prefix).hook}`,
        limit: 500,
        continueToken: token,
      }),
    ),
  }));
  for (const dep of deps) {
    const mine = lists.filter((l) => l.dep === dep);
    const count = mine.reduce((n, l) => n + l.items.length, 0);
    objects += count;
    if (count === 0) {
      blockers.push({
        dependency: dep,
        object: '-',
        status: 'Missing',
        reason: 'NoObjects',
        message: `no Deployment/StatefulSet/DaemonSet/Job/PVC labelled ${labelKeys(prefix).release}=${dep} in ${ctx.namespace}: not installed yet?`,
      });
      continue;
    }
    for (const l of mine) {
      for (const w of l.items) {
        const r = readiness(l.kind, w);
        if (r.status !== 'Current')
          blockers.push({
            dependency: dep,
            object: `${l.kind.toLowerCase()}/${w.metadata?.name ?? '?'}`,
            status: r.status,
            reason: r.reason,
            message: r.message,
            condition: r.condition,
          });
      }
    }
  }
  const exists = await mapLimit(services, 4, (s) => ctx.kube.serviceExists(ctx.namespace, s));
  services.forEach((s, i) => {
    if (!exists[i])
      blockers.push({
        dependency: '(config)',
        object: `service/${s}`,
        status: 'Missing',
        reason: 'ServiceNotFound',
        message: `Service ${s} does not exist in ${ctx.namespace}`,
      });
  });
  return { blockers, objects };
}

/** A Job that failed stays failed: no point in waiting for it. */
const terminal = (b: Blocker): boolean => b.status === 'Failed' && b.object.startsWith('job/');

export const dependencyCheck: ProgramDef = {
  name: 'dependency-check',
  summary:
    'Pre-install check: waits (until --timeout) for the --depends-on releases to be ready by kstatus rules (objects found by label <prefix>release=<name>) and for the --require-services Services to exist; reports the blocking object, condition and reason.',
  flags: DEPENDENCY_CHECK_FLAGS,
  exitCodes: [
    [0, 'every dependency ready and every required Service present'],
    [HOOK_EXIT_CODES.E_DEPENDENCY_NOT_READY, 'a dependency is still in progress (or has no objects) at the deadline'],
    [
      HOOK_EXIT_CODES.E_DEPENDENCY_FAILED,
      'a dependency object failed (Job Failed, Deployment ProgressDeadlineExceeded, Stalled)',
    ],
    [HOOK_EXIT_CODES.E_SERVICE_MISSING, 'a required Service does not exist at the deadline'],
    ...COMMON_EXIT_CODES,
  ],
  async main(ctx, values: Record<string, FlagValue>) {
    const deps = (values['depends-on'] as string[] | undefined) ?? [];
    const services = (values['require-services'] as string[] | undefined) ?? [];
    const prefix = String(values['label-prefix']);
    if (deps.length === 0 && services.length === 0)
      return { code: 0, summary: 'no dependencies and no required Services: nothing to wait for' };
    ctx.log.info({ namespace: ctx.namespace, dependsOn: deps, requireServices: services }, 'waiting for dependencies');
    let delay = 1000;
    let lastKey = '';
    let result = await evaluateDependencies(ctx, deps, services, prefix);
    while (result.blockers.length > 0 && !result.blockers.some(terminal) && !ctx.deadline.expired()) {
      const key = result.blockers.map((b) => `${b.object}:${b.reason}`).join(',');
      if (key !== lastKey) {
        for (const b of result.blockers)
          ctx.log.info({ ...b }, `waiting: ${b.dependency} ${b.object}: ${b.status} ${b.reason}: ${b.message}`);
        lastKey = key;
      }
      await ctx.deadline.sleep(delay);
      delay = Math.min(5000, Math.round(delay * 1.5));
      if (ctx.deadline.expired()) break;
      try {
        result = await evaluateDependencies(ctx, deps, services, prefix);
      } catch (err) {
        if (
          err instanceof HookError &&
          (err.code === HookErrorCodes.TIMEOUT || err.code === HookErrorCodes.TERMINATED) &&
          ctx.deadline.expired()
        )
          break;
        throw err;
      }
    }
    const { blockers, objects } = result;
    if (blockers.length === 0)
      return {
        code: 0,
        summary: `${deps.length} dependencies ready (${objects} objects)${services.length ? `, ${services.length} Services present` : ''}`,
      };
    ctx.out(
      formatTable(
        ['DEPENDENCY', 'OBJECT', 'STATUS', 'REASON', 'CONDITION', 'MESSAGE'],
        blockers.map((b) => [b.dependency, b.object, b.status, b.reason, b.condition ?? '', b.message]),
      ),
    );
    for (const b of blockers)
      ctx.log.error({ ...b }, `blocked: ${b.dependency} ${b.object}: ${b.status} ${b.reason}: ${b.message}`);
    const code = blockers.some((b) => b.status === 'Failed')
      ? HOOK_EXIT_CODES.E_DEPENDENCY_FAILED
      : blockers.some((b) => b.reason !== 'ServiceNotFound')
        ? HOOK_EXIT_CODES.E_DEPENDENCY_NOT_READY
        : HOOK_EXIT_CODES.E_SERVICE_MISSING;
    const first = blockers
      .slice(0, 3)
      .map((b) => `${b.dependency} ${b.object} ${b.status} ${b.reason}`)
      .join('; ');
    return { code, summary: `${blockers.length} blocking: ${first}${blockers.length > 3 ? '; ...' : ''}` };
  },
};

export const runDependencyCheck = (
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  deps: RunDeps = {},
): Promise<number> => runProgram(dependencyCheck, argv, env, deps);
