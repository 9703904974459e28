/**
 * dependency-check: waits until the releases this one depends on are ready (kstatus rules over their Deployments,
 * StatefulSets, DaemonSets, Jobs and PVCs, found by the release label) and that the Services it is configured to
 * use exist; reports exactly which object blocks, and why. With `--plan-revision REV` a dependency is ready only
 * when its workloads were also rendered from that plan revision (annotation `<prefix>plan-revision`, core/labels.ts):
 * old workloads of a dependency not yet upgraded look healthy, and only the revision tells them apart.
 */
import { DEFAULT_LABEL_PREFIX, labelKeys } from '../../../core/labels.js';
import { PLAN_REVISION_PATTERN } from '../../../plan/revision.js';
import { COMMON_FLAGS, type Context, type FlagSpec, type FlagValue, type RunDeps } from '../cli.js';
import { mapLimit } from '../concurrency.js';
import { readiness, type Readiness } from '../deps/readiness.js';
import { HOOK_EXIT_CODES, HookError, HookErrorCodes } from '../errors.js';
import type { WorkloadKind } from '../k8s/client.js';
import type { Workload } from '../k8s/types.js';
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
  {
    name: 'plan-revision',
    env: 'HT_PLAN_REVISION',
    type: 'string',
    help: 'plan revision this release is installed from: each dependency workload must carry <prefix>plan-revision=REV too',
  },
];

export const KINDS: readonly WorkloadKind[] = [
  'Deployment',
  'StatefulSet',
  'DaemonSet',
  'Job',
  'PersistentVolumeClaim',
];

/** Kinds whose objects run a revision (a PVC's state does not depend on it): they must carry the plan revision. */
const REVISIONED: ReadonlySet<WorkloadKind> = new Set(['Deployment', 'StatefulSet', 'DaemonSet', 'Job']);

/** Reason of a blocker whose object was rendered from another plan revision (or from none). */
export const PLAN_REVISION_MISMATCH = 'PlanRevisionMismatch';

export interface Blocker {
  dependency: string;
  object: string;
  status: Readiness['status'] | 'Missing';
  reason: string;
  message: string;
  condition?: string | undefined;
  /** PlanRevisionMismatch: the revision the object carries (`undefined`: none) and the one wanted. */
  revision?: { have: string | undefined; want: string } | undefined;
}

/** What the check requires beyond readiness; `planRevision` undefined: no revision check (the behaviour before it). */
export interface DependencyRequirements {
  planRevision?: string | undefined;
}

/**
 * What blocks on one object of dependency `dep`, or undefined. A failure stays a failure whatever the revision.
 * Otherwise, with a wanted revision, another one (or none) blocks before readiness: the dependency has not been
 * upgraded yet, or its upgrade has not reached this object, so it is not ready for this release even when its old
 * pods are healthy; it may still be upgraded, so the check waits (InProgress). An annotation change alone moves no
 * generation, so a workload whose spec did not change is at once at the new revision and Current.
 */
export function judgeObject(
  dep: string,
  kind: WorkloadKind,
  w: Workload,
  revisionKey: string,
  want: string | undefined,
): Blocker | undefined {
  const object = `${kind.toLowerCase()}/${w.metadata?.name ?? '?'}`;
  const r = readiness(kind, w);
  const have = w.metadata?.annotations?.[revisionKey];
  if (r.status !== 'Failed' && want !== undefined && REVISIONED.has(kind) && have !== want)
    return {
      dependency: dep,
      object,
      status: 'InProgress',
      reason: PLAN_REVISION_MISMATCH,
      message: `${dep} runs plan revision ${have ?? '(none)'} (${revisionKey} on ${object}), this release wants ${want}`,
      revision: { have, want },
    };
  if (r.status === 'Current') return undefined;
  return {
    dependency: dep,
    object,
    status: r.status,
    reason: r.reason,
    message: r.message,
    condition: r.condition,
  };
}

/** One pass: every blocking object of every dependency, and every missing Service. */
export async function evaluateDependencies(
  ctx: Context,
  deps: readonly string[],
  services: readonly string[],
  prefix: string,
  requirements: DependencyRequirements = {},
): Promise<{ blockers: Blocker[]; objects: number }> {
  const want = requirements.planRevision;
  const revisionKey = labelKeys(prefix).planRevision;
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
        const b = judgeObject(dep, l.kind, w, revisionKey, want);
        if (b) blockers.push(b);
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
    [
      HOOK_EXIT_CODES.E_DEPENDENCY_NOT_READY,
      'a dependency is still in progress (or has no objects, or with --plan-revision runs another plan revision) at the deadline',
    ],
    [
      HOOK_EXIT_CODES.E_DEPENDENCY_FAILED,
      'a dependency object failed (Job Failed, Deployment ProgressDeadlineExceeded, Stalled)',
    ],
    [HOOK_EXIT_CODES.E_SERVICE_MISSING, 'a required Service does not exist at the deadline'],
    ...COMMON_EXIT_CODES,
  ],
  validate: (values) => {
    const rev = values['plan-revision'];
    if (rev !== undefined && !(typeof rev === 'string' && PLAN_REVISION_PATTERN.test(rev)))
      throw new HookError(
        HookErrorCodes.USAGE,
        `--plan-revision must be a plan revision (16 lowercase hex digits), not "${String(rev)}"`,
      );
  },
  async main(ctx, values: Record<string, FlagValue>) {
    const deps = (values['depends-on'] as string[] | undefined) ?? [];
    const services = (values['require-services'] as string[] | undefined) ?? [];
    const prefix = String(values['label-prefix']);
    const planRevision = values['plan-revision'] as string | undefined;
    const requirements: DependencyRequirements = { planRevision };
    if (deps.length === 0 && services.length === 0)
      return { code: 0, summary: 'no dependencies and no required Services: nothing to wait for' };
    ctx.log.info(
      { namespace: ctx.namespace, dependsOn: deps, requireServices: services, planRevision },
      'waiting for dependencies',
    );
    let delay = 1000;
    let lastKey = '';
    let result = await evaluateDependencies(ctx, deps, services, prefix, requirements);
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
        result = await evaluateDependencies(ctx, deps, services, prefix, requirements);
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
        summary: `${deps.length} dependencies ready (${objects} objects)${planRevision ? ` at plan revision ${planRevision}` : ''}${services.length ? `, ${services.length} Services present` : ''}`,
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
      .map((b) =>
        b.revision
          ? `${b.dependency} ${b.object} ${b.reason}: at plan revision ${b.revision.have ?? '(none)'}, wanted ${b.revision.want}`
          : `${b.dependency} ${b.object} ${b.status} ${b.reason}`,
      )
      .join('; ');
    return { code, summary: `${blockers.length} blocking: ${first}${blockers.length > 3 ? '; ...' : ''}` };
  },
};

export const runDependencyCheck = (
  argv: readonly string[],
  env: NodeJS.ProcessEnv,
  deps: RunDeps = {},
): Promise<number> => runProgram(dependencyCheck, argv, env, deps);
