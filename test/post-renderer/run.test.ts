import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { ErrorCodes, exitCodeFor, HelmTiersError } from '../../core/errors.js';
import { exec } from '../../core/helm.js';
import { run } from '../../post-renderer/src/run.js';
import { PLAN, requireBuild, ROOT } from '../helpers/helm.js';

const CM = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n';

async function runWith(input: string, argv: string[], env: Record<string, string> = {}) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (b: Buffer) => (out += b.toString()));
  stderr.on('data', (b: Buffer) => (err += b.toString()));
  const state = mkdtempSync(join(tmpdir(), 'helm-tiers-run-'));
  const code = await run({
    stdin: Readable.from([input]),
    stdout,
    stderr,
    argv,
    env: { XDG_STATE_HOME: state, ...env },
    cwd: ROOT,
  });
  return { code, out, err, log: join(state, 'helm-tiers', 'post-renderer.log') };
}

const exit = (code: (typeof ErrorCodes)[keyof typeof ErrorCodes]) => exitCodeFor(new HelmTiersError(code, ''));

describe('post-renderer shell', () => {
  it('renders with a plan and a release', async () => {
    const r = await runWith(CM, ['--plan', 'plan.yaml', '--release', 'tier2-cache']);
    expect(r.code).toBe(0);
    expect(r.out).toContain('helm-tiers.io/depends-on: "tier1-database"');
    expect(r.err).toBe('');
  });

  it('renders with explicit flags', async () => {
    const r = await runWith(CM, [
      '--release=r',
      '--component=c',
      '--tier=2',
      '--depends-on=a,b',
      '--label-prefix=example.com/',
    ]);
    expect(r.code).toBe(0);
    expect(r.out).toContain('example.com/tier: "2"');
    expect(r.out).toContain('example.com/depends-on: "a,b"');
  });

  it.each([
    [[], ErrorCodes.USAGE],
    [['--release', 'r'], ErrorCodes.USAGE],
    [['--release', 'r', '--component', 'c', '--tier', 'two'], ErrorCodes.USAGE],
    [['--release', 'r', '--bogus'], ErrorCodes.USAGE],
    [['--plan', 'missing.yaml', '--release', 'r'], ErrorCodes.PLAN_INVALID],
    [['--plan', 'plan.yaml', '--release', 'ghost'], ErrorCodes.PLAN_UNKNOWN_RELEASE],
    [['--plan', 'plan.yaml', '--release', 'tier1-database', '--on-conflict', 'maybe'], ErrorCodes.USAGE],
    // Explicit flags get the plan's checks, with the plan path's code for the same mistake.
    [['--release', 'bad release!', '--component', 'c', '--tier', '1'], ErrorCodes.PLAN_INVALID],
    [['--release', 'r', '--component', 'a b', '--tier', '1'], ErrorCodes.PLAN_INVALID],
    [['--release', 'r', '--component', 'c', '--tier', '1', '--depends-on', 'x y'], ErrorCodes.PLAN_INVALID],
    [['--release', 'r', '--component', 'c', '--tier', '1', '--plan-name', 'p q'], ErrorCodes.PLAN_INVALID],
    // Gone: it wrote app.kubernetes.io/part-of over the chart's value (--plan-name and --part-of-label instead).
    [['--release', 'r', '--component', 'c', '--tier', '1', '--part-of', 'p'], ErrorCodes.USAGE],
    [['--plan', 'plan.yaml', '--release', 'tier1-database', '--on-conflict', 'overwrite'], ErrorCodes.USAGE],
    [['--release', 'r', '--component', 'c', '--tier', '1', '--label-prefix', 'example.com'], ErrorCodes.PLAN_INVALID],
    [['--release', 'r', '--component', 'c', '--tier', '1', '--label-prefix', 'Bad_Prefix/'], ErrorCodes.PLAN_INVALID],
    [['--release', 'r', '--component', 'c', '--tier', '1', '--depends-on', 'a,r'], ErrorCodes.PLAN_INVALID],
    [['--release', 'r', '--component', 'c', '--tier', '1', '--depends-on', 'a,a'], ErrorCodes.PLAN_INVALID],
    // A plan revision is 16 lowercase hex digits (plan/revision.ts); anything else is a caller's mistake.
    [['--plan', 'plan.yaml', '--release', 'tier1-database', '--plan-revision', 'ABCDEF0123456789'], ErrorCodes.USAGE],
    [['--plan', 'plan.yaml', '--release', 'tier1-database', '--plan-revision', '0123456789abcde'], ErrorCodes.USAGE],
    [['--plan', 'plan.yaml', '--release', 'tier1-database', '--plan-revision=0123456789abcdef0'], ErrorCodes.USAGE],
    [
      ['--plan', 'plan.yaml', '--release', 'tier1-database', '--plan-revision', 'a', '--plan-revision', 'b'],
      ErrorCodes.USAGE,
    ],
  ])('refuses %j with its code, no output and a log line', async (argv, code) => {
    const r = await runWith(CM, argv);
    expect(r.code).toBe(exit(code));
    expect(r.out).toBe('');
    expect(r.err).toContain(code);
    expect(readFileSync(r.log, 'utf8')).toContain(code);
  });

  it.each([
    [
      '--component',
      'a b',
      'component name "a b" is not a valid label value',
      '  - {name: "a b", release: r, tier: 1}\n',
    ],
    [
      '--release',
      'bad release!',
      'release name "bad release!" must be a DNS-1123 label',
      '  - {name: c, release: "bad release!", tier: 1}\n',
    ],
    ['--plan-name', 'p q', '"p q" is not a valid label value', '  - {name: c, release: r, tier: 1}\n', 'name: "p q"\n'],
  ])(
    'an invalid %s gets the message and code the plan gives the same value',
    async (flag, value, message, components, top = 'name: p\n') => {
      const dir = mkdtempSync(join(tmpdir(), 'helm-tiers-plan-'));
      const planFile = join(dir, 'plan.yaml');
      writeFileSync(planFile, `${top}chart: ./c\ncomponents:\n${components}`);
      const viaPlan = await runWith(CM, ['--plan', planFile, '--release', 'r']);
      const explicit = { '--release': 'r', '--component': 'c', '--tier': '1', [flag]: value };
      const viaFlags = await runWith(
        CM,
        Object.entries(explicit).flatMap(([k, v]) => [k, v]),
      );
      expect(viaPlan.code).toBe(exit(ErrorCodes.PLAN_INVALID));
      expect(viaFlags.code).toBe(viaPlan.code);
      expect(viaPlan.err).toContain(message);
      expect(viaFlags.err).toContain(`E_PLAN_INVALID: field ${flag}: ${message}`);
      expect(viaFlags.out).toBe('');
    },
  );

  it('explicit flags accept what the plan accepts: tier 0, dependencies, a custom prefix', async () => {
    const r = await runWith(CM, ['--release', 'd0', '--component', 'd0', '--tier', '0', '--depends-on', 'd1,e0']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toContain('helm-tiers.io/depends-on: "d1,e0"');
    expect(r.out).toContain('helm-tiers.io/plan: "d0"');
    expect(r.out).not.toContain('app.kubernetes.io/part-of');
    const named = await runWith(CM, ['--release', 'r', '--component', 'c', '--tier', '1', '--plan-name', 'p']);
    expect(named.out).toContain('helm-tiers.io/plan: "p"');
    const partOf = await runWith(
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: b\n  labels:\n    app.kubernetes.io/part-of: argocd\n',
      ['--release', 'r', '--component', 'c', '--tier', '1', '--plan-name', 'p', '--part-of-label'],
    );
    expect(partOf.code, partOf.err).toBe(0);
    // Added where absent; the chart's own value stays.
    expect(partOf.out.match(/app\.kubernetes\.io\/part-of: .*/g)).toEqual([
      'app.kubernetes.io/part-of: "p"',
      'app.kubernetes.io/part-of: argocd',
    ]);
  });

  it('refuses nesting past the bound as bad input (exit 65, no output), not as a crash', async () => {
    const deep = Array.from({ length: 3000 }, (_, i) => `${'  '.repeat(i + 1)}k:`).join('\n');
    const r = await runWith(`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n${deep}\n`, [
      '--plan',
      PLAN,
      '--release',
      'tier1-database',
    ]);
    expect(r.code).toBe(exit(ErrorCodes.INPUT_YAML));
    expect(r.out).toBe('');
    expect(r.err).toContain(ErrorCodes.INPUT_YAML);
    expect(r.err).not.toContain(ErrorCodes.INTERNAL);
  });

  it('writes nothing to stdout on bad input, and tells Helm 4 users where the log is', async () => {
    const r = await runWith(
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: [x]\n',
      ['--plan', PLAN, '--release', 'kyverno'],
      {
        HELM_PLUGIN_NAME: 'tiers',
      },
    );
    expect(r.code).toBe(exit(ErrorCodes.INPUT_FIELD_TYPE));
    expect(r.out).toBe('');
    expect(r.err).toContain(r.log);
    expect(readFileSync(r.log, 'utf8')).toMatch(
      /E_INPUT_FIELD_TYPE: document 1, line 4, column 11, field metadata\.labels/,
    );
  });

  it('refuses a conflicting value of our own key, or keeps it with --on-conflict=keep and logs the warning', async () => {
    const input = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    helm-tiers.io/tier: "9"\n';
    const refused = await runWith(input, ['--plan', PLAN, '--release', 'tier1-database']);
    expect(refused.code).toBe(exit(ErrorCodes.CONFLICT));
    expect(refused.out).toBe('');
    expect(readFileSync(refused.log, 'utf8')).toContain(ErrorCodes.CONFLICT);
    const kept = await runWith(input, ['--plan', PLAN, '--release', 'tier1-database', '--on-conflict', 'keep']);
    expect(kept.code).toBe(0);
    expect(kept.out).toContain('helm-tiers.io/tier: "9"');
    expect(kept.err).toContain('warning');
    expect(readFileSync(kept.log, 'utf8')).toContain('warning');
  });

  it('--plan-revision writes <prefix>plan-revision on every object, never on pod templates; absent, nothing', async () => {
    const rev = '0123456789abcdef';
    const deployment =
      'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\nspec:\n  selector:\n    matchLabels: {app: d}\n' +
      '  template:\n    metadata:\n      labels: {app: d}\n    spec:\n      containers: [{name: c, image: x}]\n';
    const input = `${CM}---\n${deployment}`;
    const withRev = await runWith(input, ['--plan', PLAN, '--release', 'tier2-cache', '--plan-revision', rev]);
    expect(withRev.code, withRev.err).toBe(0);
    const docs = parseAllDocuments(withRev.out).map((d) => d.toJS() as Record<string, any>);
    expect(docs.map((d) => d.metadata.annotations['helm-tiers.io/plan-revision'])).toEqual([rev, rev]);
    expect(docs[1]?.spec.template.metadata).toEqual({
      labels: expect.objectContaining({ app: 'd', 'helm-tiers.io/release': 'tier2-cache' }),
    });
    // Without the flag the output is what it always was: no revision key anywhere.
    const without = await runWith(input, ['--plan', PLAN, '--release', 'tier2-cache']);
    expect(without.code, without.err).toBe(0);
    expect(without.out).not.toContain('plan-revision');
    expect(withRev.out.replace(`    helm-tiers.io/plan-revision: "${rev}"\n`, '')).not.toBe(withRev.out);
    expect(withRev.out.split(`    helm-tiers.io/plan-revision: "${rev}"\n`).join('')).toBe(without.out);
    // The explicit identity takes it too, under its own prefix.
    const explicit = await runWith(CM, [
      '--release=r',
      '--component=c',
      '--tier=1',
      '--label-prefix=example.com/',
      `--plan-revision=${rev}`,
    ]);
    expect(explicit.code, explicit.err).toBe(0);
    expect(explicit.out).toContain(`example.com/plan-revision: "${rev}"`);
  });

  it('honours --log-file', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'helm-tiers-log-')), 'x.log');
    const r = await runWith('', ['--plan', PLAN, '--release', 'kyverno', `--log-file=${file}`]);
    expect(r.code).toBe(exit(ErrorCodes.INPUT_EMPTY));
    expect(existsSync(r.log)).toBe(false);
    expect(readFileSync(file, 'utf8')).toContain(ErrorCodes.INPUT_EMPTY);
  });
});

describe('the shipped bundles', () => {
  it('dist/post-renderer.cjs runs with node alone, from any directory', async () => {
    requireBuild();
    const r = await exec(
      'node',
      [join(ROOT, 'dist/post-renderer.cjs'), '--plan', PLAN, '--release', 'tier4-frontend'],
      {
        cwd: tmpdir(),
        input: CM,
        env: { PATH: process.env.PATH, XDG_STATE_HOME: mkdtempSync(join(tmpdir(), 'ht-')) },
      },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('helm-tiers.io/depends-on: "tier3-api"');
  });

  it('helm-tiers plan prints the levels; bad plans exit non-zero with a located message', async () => {
    requireBuild();
    const ok = await exec('node', [join(ROOT, 'dist/helm-tiers.cjs'), 'plan'], { cwd: ROOT });
    expect(ok.code).toBe(0);
    expect(ok.stdout).toContain('level 4: tier4-frontend (tier 4)');
    const bad = await exec(
      'node',
      [join(ROOT, 'dist/helm-tiers.cjs'), 'plan', '--plan', 'test/fixtures/plans/cycle.yaml'],
      { cwd: ROOT },
    );
    expect(bad.code).toBe(exit(ErrorCodes.PLAN_INVALID));
    expect(bad.stderr).toMatch(
      /E_PLAN_INVALID: test\/fixtures\/plans\/cycle.yaml: line \d+, column \d+, field components\[0\]\.dependsOn: dependency cycle: database → cache → database/,
    );
  });
});
