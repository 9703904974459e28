import { describe, expect, it } from 'vitest';
import { helpText, parseFlags, type FlagSpec } from '../../hooks/src/cli.js';
import { HookError } from '../../hooks/src/errors.js';
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
