// The one error-to-exit-code registry (core/errors.ts) against the documented tables (README.md, hooks/README.md),
// and the process shell (core/shell.ts) that every entry point runs through.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes, EXIT_CODES, exitCodeFor, HelmTiersError, type ErrorCode } from '../../core/errors.js';
import { exitCodeOf, runMain } from '../../core/shell.js';
import { HOOK_EXIT_CODES, HookError, HookErrorCodes, hookExitCode } from '../../hooks/src/errors.js';
import { ROOT } from '../helpers/helm.js';

/** Written out from the docs by hand, on purpose: a change to the registry must fail here first. */
const DOCUMENTED: Record<ErrorCode, number> = {
  // README.md, post-renderer and CLI: "Exit codes: 0 ok, 64 usage, 65 …, 66 empty input, 70 internal, 74 I/O".
  E_USAGE: 64,
  E_PLAN_INVALID: 65,
  E_PLAN_UNKNOWN_RELEASE: 65,
  E_INPUT_YAML: 65,
  E_INPUT_NOT_OBJECT: 65,
  E_INPUT_FIELD_TYPE: 65,
  E_CONFLICT: 65,
  E_INPUT_EMPTY: 66,
  E_INTERNAL: 70,
  E_IO: 74,
  E_TOOL: 69, // EX_UNAVAILABLE: a tool (helm, kubectl) failed; CLI and demo only
  // README.md, "Deploy without Flux": helm-tiers deploy / status.
  E_DEPLOY_FAILED: 2,
  E_DEPLOY_BLOCKED: 3,
  E_NOT_READY: 4,
  // hooks/README.md: crd-check/crd-install, dependency-check, pod-check, then the common table.
  E_CRD_MISSING: 10,
  E_CRD_NOT_READY: 11,
  E_CRD_VERSION_NOT_SERVED: 12,
  E_CRD_MANIFEST: 13,
  E_CRD_INSTALL_FAILED: 14,
  E_DEPENDENCY_NOT_READY: 20,
  E_DEPENDENCY_FAILED: 21,
  E_SERVICE_MISSING: 22,
  E_PODS_UNHEALTHY: 30,
  E_FORBIDDEN: 40,
  E_UNAUTHORIZED: 41,
  E_NOT_FOUND: 42,
  E_API_CONFLICT: 43,
  E_API_THROTTLED: 44,
  E_API_UNAVAILABLE: 45,
  E_API_REJECTED: 46,
  E_LIST_EXPIRED: 47, // a paginated list expired (410) on each of its bounded restarts
  E_TIMEOUT: 50,
  E_KUBECONFIG: 51,
  E_TERMINATED: 143,
};

describe('the exit-code registry', () => {
  it('maps every ErrorCode to its documented exit code, and nothing else', () => {
    expect(Object.keys(EXIT_CODES).sort()).toEqual(Object.values(ErrorCodes).sort());
    expect(EXIT_CODES).toEqual(DOCUMENTED);
    for (const code of Object.values(ErrorCodes))
      expect(exitCodeFor(new HelmTiersError(code, 'x')), code).toBe(DOCUMENTED[code]);
  });

  it('the documented numbers are the ones in the READMEs', () => {
    const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
    const line = /^Exit codes: 0 ok, .*(?:\n(?!\n).*)*/m.exec(readme)?.[0] ?? '';
    for (const [n, what] of [
      [64, 'usage'],
      [65, 'bad plan or bad input'],
      [66, 'empty input'],
      [70, 'internal error'],
      [74, 'I/O error'],
    ] as const)
      expect(line).toContain(`${n} ${what}`);
    const hooks = readFileSync(join(ROOT, 'hooks/README.md'), 'utf8');
    const rows = new Set([...hooks.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1])));
    for (const code of Object.values(HookErrorCodes)) expect(rows.has(EXIT_CODES[code]), code).toBe(true);
  });

  it('an error without a registered code (a bug) exits 70', () => {
    for (const err of [new Error('boom'), 'text', undefined, null, { code: 'E_USAGE' }, new TypeError('t')])
      expect(exitCodeFor(err)).toBe(70);
    // A code not in this registry (another bundle's copy of the module, a cast): still a bug, never undefined.
    expect(exitCodeFor(new HelmTiersError('E_NOPE' as ErrorCode, 'x'))).toBe(70);
  });

  it("the hooks' view is the same registry: HookError is a HelmTiersError with its code's exit code", () => {
    for (const code of Object.values(HookErrorCodes)) {
      const err = new HookError(code, 'x', { verb: 'list' });
      expect(err).toBeInstanceOf(HelmTiersError);
      expect(hookExitCode(err)).toBe(DOCUMENTED[code]);
      expect(exitCodeFor(err)).toBe(DOCUMENTED[code]);
      expect(HOOK_EXIT_CODES[code]).toBe(DOCUMENTED[code]);
    }
    expect(Object.keys(HOOK_EXIT_CODES).sort()).toEqual(Object.values(HookErrorCodes).sort());
  });
});

describe('the process shell', () => {
  const saved = process.exitCode;
  afterEach(() => {
    process.exitCode = saved;
  });

  it('exitCodeOf: the code main returns, or the registry code of what it throws, with one diagnostic', async () => {
    let written = '';
    const write = (t: string) => (written += t);
    expect(await exitCodeOf('prog', write, () => 3)).toBe(3);
    expect(written).toBe('');
    expect(await exitCodeOf('prog', write, () => Promise.reject(new HelmTiersError('E_USAGE', 'bad flag')))).toBe(64);
    expect(written).toBe('prog: E_USAGE: bad flag\n');
    written = '';
    expect(await exitCodeOf('prog', write, () => Promise.reject(new Error('boom')))).toBe(70);
    expect(written).toMatch(/^prog: E_INTERNAL: unexpected error \(a bug; please report it\): Error: boom/);
  });

  it('runMain sets process.exitCode and reports on the chosen stream', async () => {
    const out = new PassThrough();
    const err = new PassThrough();
    let seen: readonly string[] | undefined;
    const code = await runMain(
      (io) => {
        seen = io.argv;
        expect(io.signal.aborted).toBe(false);
        throw new HookError(HookErrorCodes.FORBIDDEN, 'no list on pods');
      },
      { program: 'pod-check', stdout: out, stderr: err, diagnostics: 'stdout' },
    );
    expect(code).toBe(40);
    expect(process.exitCode).toBe(40);
    expect(seen).toEqual(process.argv.slice(2));
    expect(String(out.read())).toBe('pod-check: E_FORBIDDEN: no list on pods\n');
    expect(err.read()).toBeNull();
    const ok = await runMain(() => 0, { program: 'x', stdout: out, stderr: err });
    expect(ok).toBe(0);
    expect(process.exitCode).toBe(0);
  });
});
