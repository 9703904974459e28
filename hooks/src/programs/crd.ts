/** crd-check and crd-install: one paginated LIST, evaluation, optional server-side apply of missing/outdated CRDs. */
import { COMMON_FLAGS, type Context, type FlagSpec, type FlagValue, type RunDeps } from '../cli.js';
import { buildRequirements, type CrdRequirement } from '../crd/selection.js';
import { crdTableRows, evaluateAll, evaluateCrd, fixHint, outcome, type CrdRow } from '../crd/evaluate.js';
import { applyBody, openManifestStore, planInstall } from '../crd/manifests.js';
import { HOOK_EXIT_CODES, HookError, HookErrorCodes } from '../errors.js';
import { listAll } from '../k8s/pages.js';
import type { Crd } from '../k8s/types.js';
import { COMMON_EXIT_CODES, runProgram, type ProgramDef } from '../program.js';
import { formatTable } from '../table.js';

const SELECTION_FLAGS: FlagSpec[] = [
  {
    name: 'required',
    env: 'HT_REQUIRED_CRDS',
    type: 'list',
    help: 'required CRDs, comma list of plural.group[@version]',
  },
  { name: 'optional', env: 'HT_OPTIONAL_CRDS', type: 'list', help: 'optional CRDs (warn only), same form' },
  {
    name: 'profile',
    env: 'HT_CRD_PROFILE',
    type: 'list',
    help: 'named sets: prometheus, kyverno (1.13+), kyverno-1.12',
  },
];
const DIR_FLAG: FlagSpec = {
  name: 'crds-dir',
  env: 'HT_CRDS_DIR',
  type: 'string',
  default: '/crds',
  help: 'directory of CRD manifests (<group>_<plural>.yaml)',
};
const FM_FLAG: FlagSpec = {
  name: 'field-manager',
  env: 'HT_FIELD_MANAGER',
  type: 'string',
  default: 'helm-tiers',
  help: 'server-side apply field manager',
};

export const CRD_CHECK_FLAGS: FlagSpec[] = [
  ...COMMON_FLAGS,
  ...SELECTION_FLAGS,
  {
    name: 'install',
    env: 'HT_AUTO_INSTALL_CRDS',
    type: 'boolean',
    default: false,
    help: 'install missing/outdated required CRDs from --crds-dir, then re-check',
  },
  DIR_FLAG,
  FM_FLAG,
];
export const CRD_INSTALL_FLAGS: FlagSpec[] = [...COMMON_FLAGS, ...SELECTION_FLAGS, DIR_FLAG, FM_FLAG];

const CRD_EXIT_CODES: [number, string][] = [
  [0, 'every required CRD exists, is Established and NamesAccepted, and serves the needed version'],
  [HOOK_EXIT_CODES.E_CRD_MISSING, 'a required CRD is missing'],
  [HOOK_EXIT_CODES.E_CRD_NOT_READY, 'a required CRD is not Established, or NamesAccepted=False'],
  [HOOK_EXIT_CODES.E_CRD_VERSION_NOT_SERVED, 'a required CRD does not serve the needed version'],
  [
    HOOK_EXIT_CODES.E_CRD_MANIFEST,
    'install: no (valid) manifest for a required CRD in --crds-dir, or it does not serve the needed version either',
  ],
  [
    HOOK_EXIT_CODES.E_CRD_INSTALL_FAILED,
    'install: apply failed or the CRD did not become Established before the deadline',
  ],
  ...COMMON_EXIT_CODES,
];

function requirements(values: Record<string, FlagValue>): CrdRequirement[] {
  const reqs = buildRequirements(
    (values.required as string[] | undefined) ?? [],
    (values.optional as string[] | undefined) ?? [],
    (values.profile as string[] | undefined) ?? [],
  );
  if (reqs.length === 0)
    throw new HookError(HookErrorCodes.USAGE, 'nothing to check: give --required, --optional or --profile');
  return reqs;
}

function nothingSelected(values: Record<string, FlagValue>): boolean {
  return ['required', 'optional', 'profile'].every((k) => ((values[k] as string[] | undefined) ?? []).length === 0);
}

/** One LIST (all pages) of CRDs; never one GET per CRD. */
async function listCrds(ctx: Context): Promise<Map<string, Crd>> {
  const items = await listAll((token) => ctx.kube.listCrds({ limit: 250, continueToken: token }));
  return new Map(items.filter((c) => c.metadata?.name).map((c) => [c.metadata?.name ?? '', c]));
}

function summarize(rows: readonly CrdRow[]): string {
  const req = rows.filter((r) => r.required);
  const ok = req.filter((r) => r.state === 'Ready').length;
  const optBad = rows.filter((r) => !r.required && r.state !== 'Ready').length;
  const bad = req.filter((r) => r.state !== 'Ready').map((r) => `${r.name} ${r.state}`);
  return `${ok}/${req.length} required CRDs ready${bad.length ? ` (${bad.join(', ')})` : ''}${optBad ? `, ${optBad} optional not ready (warning)` : ''}`;
}

interface InstallResult {
  name: string;
  /** applied = created or upgraded by server-side apply; kept = left alone although it differs from the manifest. */
  action: 'applied' | 'unchanged' | 'kept' | 'failed' | 'no-manifest';
  detail: string;
}

/**
 * Waits until the CRD is Established and NamesAccepted, or until `until` (a time before the deadline, so the final
 * re-check can still run and report the CRD's state); NamesAccepted=False ends the wait at once.
 */
async function waitEstablished(ctx: Context, req: CrdRequirement, until: number): Promise<CrdRow> {
  let delay = 250;
  let row: CrdRow = { name: req.name, required: true, state: 'NotEstablished', reason: 'waiting', served: [] };
  const left = () => until - ctx.deadline.clock.now();
  while (!ctx.deadline.expired() && left() > 0) {
    let crd: Crd | undefined;
    try {
      crd = await ctx.kube.readCrd(req.name);
    } catch (err) {
      if (!(err instanceof HookError && err.code === HookErrorCodes.NOT_FOUND)) throw err;
    }
    row = evaluateCrd(req, crd);
    if (row.state === 'Ready' || row.state === 'NamesNotAccepted' || row.state === 'VersionNotServed') return row;
    await ctx.deadline.sleep(Math.min(delay, Math.max(0, left())));
    delay = Math.min(2000, delay * 2);
  }
  return row;
}

const managerList = (managers: readonly string[]): string => (managers.length ? managers.join(', ') : 'nobody');

/**
 * Applies the required CRDs that are missing or outdated (lack a served version the check needs; see planInstall),
 * then waits until they, and any existing ones not Established yet, are ready. A CRD that exists and serves what the
 * check needs is never applied, even when its spec differs from the pinned manifest: nothing a user deployed is lost.
 */
export async function installCrds(
  ctx: Context,
  reqs: readonly CrdRequirement[],
  current: ReadonlyMap<string, Crd>,
  dir: string,
  fieldManager: string,
): Promise<InstallResult[]> {
  const store = await openManifestStore(dir);
  const results: InstallResult[] = [];
  /** CRDs to wait for; `applied` ones that do not become ready are failures, the others are left to the re-check. */
  const toWait: { req: CrdRequirement; applied: boolean }[] = [];
  for (const req of reqs.filter((r) => r.required)) {
    const served = current.get(req.name);
    const manifest = store.get(req.name);
    if (!manifest) {
      const row = evaluateCrd(req, served);
      results.push({
        name: req.name,
        action: 'no-manifest',
        detail: row.state === 'Ready' ? 'no manifest in ' + dir + ' (cluster copy is ready)' : `no manifest in ${dir}`,
      });
      continue;
    }
    const plan = planInstall(req, manifest, served);
    if (plan.action === 'unfixable') {
      results.push({
        name: req.name,
        action: 'no-manifest',
        detail: `needs ${plan.version}, which neither the cluster's CRD nor ${manifest.file} serves`,
      });
      continue;
    }
    if (plan.action === 'unchanged' || plan.action === 'keep') {
      const row = evaluateCrd(req, served);
      const ready = row.state === 'Ready' ? '' : `, ${row.state}`;
      if (plan.action === 'keep') {
        const managers = managerList(plan.managers);
        ctx.log.info(
          { crd: req.name, file: manifest.file, managers: plan.managers, served: row.served },
          `CRD ${req.name} kept: differs from the pinned manifest, owned by ${managers}`,
        );
        results.push({
          name: req.name,
          action: 'kept',
          detail: `differs from the pinned manifest, owned by ${managers}${ready}`,
        });
      } else {
        results.push({ name: req.name, action: 'unchanged', detail: `up to date${ready}` });
      }
      if (row.state !== 'Ready') toWait.push({ req, applied: false });
      continue;
    }
    // create: nobody else owns it. upgrade: it lacks a version this release needs, so it is ours to fix: force takes
    // ownership of the conflicting fields from their managers (logged), as `kubectl apply --server-side
    // --force-conflicts` would. Sequential on purpose: each body is up to ~1.4 MB; the API server and etcd prefer them
    // one at a time.
    const what =
      plan.action === 'create'
        ? 'created (server-side apply)'
        : `upgraded (force): did not serve ${plan.version}; conflicting fields taken from ${managerList(plan.managers)}`;
    if (plan.action === 'upgrade')
      ctx.log.warn(
        { crd: req.name, file: manifest.file, needs: plan.version, managers: plan.managers },
        `upgrading CRD ${req.name}: it does not serve ${plan.version}; applying the pinned manifest with force takes the conflicting fields from ${managerList(plan.managers)}`,
      );
    try {
      await ctx.kube.applyCrd(req.name, applyBody(manifest), fieldManager);
      ctx.log.info(
        {
          crd: req.name,
          file: manifest.file,
          sha256: manifest.hash,
          action: plan.action === 'create' ? 'created' : 'updated',
        },
        `applied CRD ${req.name}`,
      );
      results.push({ name: req.name, action: 'applied', detail: what });
      toWait.push({ req, applied: true });
    } catch (err) {
      if (
        err instanceof HookError &&
        (err.code === HookErrorCodes.FORBIDDEN ||
          err.code === HookErrorCodes.UNAUTHORIZED ||
          err.code === HookErrorCodes.TERMINATED)
      )
        throw err;
      ctx.log.error(
        { crd: req.name, err: err instanceof Error ? err.message : String(err) },
        `applying CRD ${req.name} failed`,
      );
      results.push({ name: req.name, action: 'failed', detail: err instanceof Error ? err.message : String(err) });
    }
  }
  // Keep a reserve for the re-check: a CRD that never becomes Established must end as "not ready" (exit 11) with
  // the table, not as a timeout of the re-check (exit 50).
  const waitUntil = ctx.deadline.at - Math.min(10_000, Math.max(2_000, ctx.deadline.remaining() * 0.2));
  for (const { req, applied } of toWait) {
    const row = await waitEstablished(ctx, req, waitUntil);
    if (row.state !== 'Ready') {
      const r = results.find((x) => x.name === req.name);
      if (r) {
        if (applied) r.action = 'failed';
        r.detail = `${r.detail}; not ready before the deadline: ${row.state} ${row.reason}`;
      }
    }
  }
  return results;
}

function printCheck(ctx: Context, rows: readonly CrdRow[], dir: string): void {
  ctx.out(formatTable(['CRD', 'NEED', 'STATE', 'REASON'], crdTableRows(rows)));
  ctx.out(fixHint(rows, dir));
  for (const r of rows) {
    const entry = { crd: r.name, required: r.required, state: r.state, reason: r.reason, served: r.served };
    if (r.state === 'Ready') ctx.log.debug(entry, 'CRD ready');
    else if (r.required) ctx.log.error(entry, `required CRD ${r.name}: ${r.state}`);
    else ctx.log.warn(entry, `optional CRD ${r.name}: ${r.state}`);
  }
}

async function installAndRecheck(
  ctx: Context,
  reqs: CrdRequirement[],
  current: Map<string, Crd>,
  values: Record<string, FlagValue>,
): Promise<{ code: number; summary: string }> {
  const dir = String(values['crds-dir']);
  const results = await installCrds(ctx, reqs, current, dir, String(values['field-manager']));
  ctx.out(
    formatTable(
      ['CRD', 'ACTION', 'DETAIL'],
      results.map((r) => [r.name, r.action, r.detail]),
    ),
  );
  const rows = evaluateAll(reqs, await listCrds(ctx));
  printCheck(ctx, rows, dir);
  const applied = results.filter((r) => r.action === 'applied').length;
  const unchanged = results.filter((r) => r.action === 'unchanged').length;
  const kept = results.filter((r) => r.action === 'kept').length;
  const actions = `${applied} applied, ${unchanged} unchanged${kept ? `, ${kept} kept (differ from the pinned manifests)` : ''}`;
  const failedOutcome = outcome(rows);
  if (results.some((r) => r.action === 'failed'))
    return {
      code: HOOK_EXIT_CODES.E_CRD_INSTALL_FAILED,
      summary: `${actions}, ${results.filter((r) => r.action === 'failed').length} failed; ${summarize(rows)}`,
    };
  if (failedOutcome) {
    const noManifest = results.some(
      (r) => r.action === 'no-manifest' && rows.find((x) => x.name === r.name)?.state !== 'Ready',
    );
    return {
      code: noManifest ? HOOK_EXIT_CODES.E_CRD_MANIFEST : HOOK_EXIT_CODES[failedOutcome],
      summary: `${actions}; ${summarize(rows)}`,
    };
  }
  return { code: 0, summary: `${actions}; ${summarize(rows)}` };
}

export const crdCheck: ProgramDef = {
  name: 'crd-check',
  summary:
    'Checks that required CRDs exist, are Established and NamesAccepted and serve the needed version (one paginated LIST). With --install, installs missing/outdated required CRDs from --crds-dir first (as crd-install).',
  flags: CRD_CHECK_FLAGS,
  exitCodes: CRD_EXIT_CODES,
  // An empty selection is valid for crd-check (see main); anything given must still parse.
  validate: (values) => {
    if (!nothingSelected(values)) requirements(values);
  },
  async main(ctx, values) {
    // The chart runs <release>-pre-crd-check for every release (the runbooks read its log); a release whose
    // components need no CRDs passes instead of failing the install with a usage error.
    if (nothingSelected(values))
      return { code: 0, summary: 'no CRDs required or optional for this release: nothing to check' };
    const reqs = requirements(values);
    const current = await listCrds(ctx);
    const rows = evaluateAll(reqs, current);
    const failed = outcome(rows);
    if (failed && values.install === true) {
      ctx.log.info(
        { missing: rows.filter((r) => r.required && r.state !== 'Ready').map((r) => r.name) },
        'installing required CRDs (--install)',
      );
      return installAndRecheck(ctx, reqs, current, values);
    }
    printCheck(ctx, rows, String(values['crds-dir']));
    return { code: failed ? HOOK_EXIT_CODES[failed] : 0, summary: summarize(rows) };
  },
};

export const crdInstall: ProgramDef = {
  name: 'crd-install',
  summary:
    'Installs the missing or outdated required CRDs from --crds-dir by server-side apply (force, field manager), waits until they are Established, then re-checks. A second run changes nothing.',
  flags: CRD_INSTALL_FLAGS,
  exitCodes: CRD_EXIT_CODES,
  validate: requirements,
  async main(ctx, values) {
    const reqs = requirements(values);
    return installAndRecheck(ctx, reqs, await listCrds(ctx), values);
  },
};

export const runCrdCheck = (argv: readonly string[], env: NodeJS.ProcessEnv, deps: RunDeps = {}): Promise<number> =>
  runProgram(crdCheck, argv, env, deps);
export const runCrdInstall = (argv: readonly string[], env: NodeJS.ProcessEnv, deps: RunDeps = {}): Promise<number> =>
  runProgram(crdInstall, argv, env, deps);
