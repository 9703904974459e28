import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { helpText, parseFlags, type FlagSpec } from '../../hooks/src/cli.js';
import { HOOK_EXIT_CODES, HookError, type HookErrorCode } from '../../hooks/src/errors.js';
import { runCrdCheck, runCrdInstall } from '../../hooks/src/programs/crd.js';
import { runDependencyCheck } from '../../hooks/src/programs/dependency.js';
import { runPodCheck } from '../../hooks/src/programs/pods.js';
import { formatTable } from '../../hooks/src/table.js';

const specs: FlagSpec[] = [
  { name: 'timeout', env: 'HT_TIMEOUT', type: 'number', default: 240, help: '' },
  { name: 'auto-fix', env: 'HT_AUTO_FIX', type: 'boolean', default: false, help: '' },
  { name: 'depends-on', env: 'HT_DEPENDS_ON', type: 'list', help: '' },
  { name: 'release', env: 'HT_RELEASE', type: 'string', help: '' },
];

describe('parseFlags', () => {
  it('command line beats environment beats default', () => {
    expect(parseFlags([], {}, specs).values).toMatchObject({ timeout: 240, 'auto-fix': false, release: undefined });
    expect(
      parseFlags([], { HT_TIMEOUT: '30', HT_AUTO_FIX: 'true', HT_DEPENDS_ON: 'a, b,,c' }, specs).values,
    ).toMatchObject({ timeout: 30, 'auto-fix': true, 'depends-on': ['a', 'b', 'c'] });
    expect(
      parseFlags(['--timeout=10', '--no-auto-fix'], { HT_TIMEOUT: '30', HT_AUTO_FIX: 'true' }, specs).values,
    ).toMatchObject({ timeout: 10, 'auto-fix': false });
  });
  it('repeated list flags accumulate', () => {
    expect(parseFlags(['--depends-on=a,b', '--depends-on', 'c'], {}, specs).values['depends-on']).toEqual([
      'a',
      'b',
      'c',
    ]);
  });
  it('rejects unknown flags, positional arguments, bad numbers and bad booleans with E_USAGE', () => {
    for (const [argv, env] of [
      [['--nope'], {}],
      [['extra'], {}],
      [['--timeout=abc'], {}],
      [[], { HT_AUTO_FIX: 'maybe' }],
    ] as const) {
      try {
        parseFlags(argv, env, specs);
        expect.unreachable();
      } catch (e) {
        expect((e as HookError).code).toBe('E_USAGE');
      }
    }
  });
  it('--help wins and the text lists every env var', () => {
    expect(parseFlags(['--help', '--nope'], {}, specs).help).toBe(true);
    const text = helpText('x', 'summary', specs, [[0, 'ok']]);
    for (const s of specs) expect(text).toContain(s.env);
  });
});

describe('formatTable', () => {
  it('aligns columns', () => {
    const t = formatTable(['A', 'BB'], [['xxx', 'y']]).split('\n');
    expect(t[0]).toBe('A    BB');
    expect(t[1]).toBe('xxx  y');
  });
});

describe('exit codes in --help and hooks/README.md', () => {
  type Run = (argv: readonly string[], env: NodeJS.ProcessEnv, deps: { out: (t: string) => void }) => Promise<number>;
  const programs: Record<string, Run> = {
    'crd-check': runCrdCheck,
    'crd-install': runCrdInstall,
    'dependency-check': runDependencyCheck,
    'pod-check': runPodCheck,
  };
  // Codes only one program family can return. Every other code in HOOK_EXIT_CODES is common: a new code must be
  // listed by every program's --help unless it is claimed here for the programs that return it.
  const own: Record<string, (code: HookErrorCode) => boolean> = {
    'crd-check': (c) => c.startsWith('E_CRD_'),
    'crd-install': (c) => c.startsWith('E_CRD_'),
    'dependency-check': (c) => c.startsWith('E_DEPENDENCY_') || c === 'E_SERVICE_MISSING',
    'pod-check': (c) => c.startsWith('E_PODS_'),
  };
  const entries = Object.entries(HOOK_EXIT_CODES) as [HookErrorCode, number][];
  const common = entries.filter(([c]) => !Object.values(own).some((f) => f(c))).map(([, n]) => n);

  async function helpCodes(run: Run): Promise<number[]> {
    let out = '';
    expect(await run(['--help'], {}, { out: (t) => (out += t) })).toBe(0);
    const section = out.slice(out.indexOf('\nExit codes:\n'));
    expect(section.length).toBeGreaterThan(0);
    return [...section.matchAll(/^ {2}\s*(\d+) {2}\S/gm)].map((m) => Number(m[1]));
  }

  it('every program lists 0, every common code (403, 401, 404, 409, 429, 5xx, ...) and exactly its own codes', async () => {
    expect(common).toEqual(expect.arrayContaining([40, 41, 42, 43, 44, 45, 46, 50, 51, 64, 70, 143]));
    for (const [name, run] of Object.entries(programs)) {
      const listed = await helpCodes(run);
      const mine = entries.filter(([c]) => own[name]?.(c)).map(([, n]) => n);
      expect(new Set(listed), name).toEqual(new Set([0, ...common, ...mine]));
      expect(listed.length, `${name}: a code listed twice`).toBe(new Set(listed).size);
    }
  });

  it('every code of the exit-code map has a row in hooks/README.md', () => {
    const readme = readFileSync(resolve(import.meta.dirname, '../../hooks/README.md'), 'utf8');
    const rows = new Set([...readme.matchAll(/^\| (\d+) \|/gm)].map((m) => Number(m[1])));
    for (const [code, n] of entries) expect(rows.has(n), `${code} (${n})`).toBe(true);
  });
});
