/**
 * How the shipped post-renderer starts (docs/adr/0006): the launcher script (Helm 3's executable, the Helm 4
 * plugin's command on Linux and macOS), and the loader that runs the bundle with V8's code cache. Every variant
 * must write exactly what the bundle writes; the cache may only ever make it faster.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { crc32 } from 'node:zlib';
import { beforeAll, describe, expect, it } from 'vitest';
import { exec } from '../../core/helm.js';
import { PLAN, PLUGIN_DIR, POST_RENDERER_BIN, requireBuild, ROOT } from '../helpers/helm.js';

const INPUT = [
  '---',
  '# Source: app/templates/deployment.yaml',
  'apiVersion: apps/v1',
  'kind: Deployment',
  'metadata:',
  '  name: app',
  'spec:',
  '  template:',
  '    metadata:',
  '      labels:',
  '        app: x',
  '',
].join('\n');
const ARGS = ['--plan', PLAN, '--release', 'tier3-api'];
const DIST_FILES = ['post-renderer.cjs', 'post-renderer-main.cjs', 'post-renderer.code-cache'];
/** Node's warning when NODE_EXTRA_CA_CERTS names a file it cannot load (it reads the file when it starts). */
const EXTRA_CERTS_WARNING = /extra certs/i;

function baseEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    XDG_STATE_HOME: mkdtempSync(join(tmpdir(), 'ht-launch-state-')),
    HELM_TIERS_CODE_CACHE_REPORT: '1',
    ...extra,
  };
}

const cacheLine = (stderr: string) => /code cache (\w+)/.exec(stderr)?.[1];

let expected: string;

beforeAll(async () => {
  requireBuild();
  // The bundle itself, without the loader: what every way of starting it must write.
  const r = await exec('node', [join(ROOT, 'dist/post-renderer-main.cjs'), ...ARGS], {
    input: INPUT,
    env: baseEnv(),
  });
  expect(r.code, r.stderr).toBe(0);
  expected = r.stdout;
  expect(expected).toContain('helm-tiers.io/tier: "3"');
});

describe('the launcher', () => {
  it('starts node without NODE_EXTRA_CA_CERTS (node alone reads it at start: the warning proves the setting)', async () => {
    const env = baseEnv({ NODE_EXTRA_CA_CERTS: join(tmpdir(), 'helm-tiers-no-such-ca.pem') });
    const direct = await exec('node', [join(ROOT, 'dist/post-renderer.cjs'), ...ARGS], { input: INPUT, env });
    expect(direct.code).toBe(0);
    expect(direct.stderr).toMatch(EXTRA_CERTS_WARNING);
    const launched = await exec(POST_RENDERER_BIN, ARGS, { input: INPUT, env });
    expect(launched.code, launched.stderr).toBe(0);
    expect(launched.stderr).not.toMatch(EXTRA_CERTS_WARNING);
    expect(launched.stdout).toBe(expected);
    expect(cacheLine(launched.stderr)).toBe('used');
  });

  it('writes a large render whole into a pipe that is read late (the process ends right after its last write)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ht-launch-pipe-'));
    // 4 MB: far more than a pipe holds, so writes block (or return EAGAIN) until the reader starts.
    const big = INPUT.repeat(Math.ceil(4e6 / INPUT.length));
    writeFileSync(join(dir, 'in.yaml'), big);
    const bundle = await exec('node', [join(ROOT, 'dist/post-renderer-main.cjs'), ...ARGS], {
      input: big,
      env: baseEnv(),
    });
    expect(bundle.code, bundle.stderr).toBe(0);
    const piped = await exec(
      'sh',
      ['-c', `"$0" "$@" < "${join(dir, 'in.yaml')}" | (sleep 0.5; cat)`, POST_RENDERER_BIN, ...ARGS],
      { env: baseEnv() },
    );
    expect(piped.code, piped.stderr).toBe(0);
    expect(piped.stdout.length).toBe(bundle.stdout.length);
    expect(piped.stdout === bundle.stdout).toBe(true);
  });

  it('works through absolute and relative symbolic links, from any directory', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ht-launch-link-'));
    mkdirSync(join(dir, 'bin'));
    symlinkSync(POST_RENDERER_BIN, join(dir, 'bin', 'absolute'));
    symlinkSync(relative(join(dir, 'bin'), POST_RENDERER_BIN), join(dir, 'bin', 'relative'));
    symlinkSync(join(dir, 'bin', 'relative'), join(dir, 'chained')); // a link to a link
    for (const link of ['bin/absolute', 'bin/relative', 'chained']) {
      const r = await exec(join(dir, link), ARGS, { input: INPUT, env: baseEnv(), cwd: tmpdir() });
      expect(r.code, `${link}: ${r.stderr}`).toBe(0);
      expect(r.stdout, link).toBe(expected);
    }
    // `sh <bare name>` from the link's own folder: $0 has no slash.
    const bare = await exec('sh', ['relative', ...ARGS], { input: INPUT, env: baseEnv(), cwd: join(dir, 'bin') });
    expect(bare.code, bare.stderr).toBe(0);
    expect(bare.stdout).toBe(expected);
  });

  it("the Helm 4 plugin's copy runs the plugin folder's own bundle (the folder alone, moved anywhere)", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ht-launch-plugin-'));
    for (const f of ['plugin.yaml', 'helm-tiers-post-renderer', ...DIST_FILES])
      copyFileSync(join(PLUGIN_DIR, f), join(dir, f));
    // As plugin.yaml runs it on Linux: `sh <launcher>`.
    const r = await exec('sh', [join(dir, 'helm-tiers-post-renderer'), ...ARGS], { input: INPUT, env: baseEnv() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(expected);
    expect(cacheLine(r.stderr)).toBe('used');
  });
});

describe('the code cache', () => {
  /** A copy of dist's three post-renderer files, the cache changed by `mutate` (undefined: removed). */
  function copyWithCache(mutate: ((cache: Buffer) => Buffer) | undefined): string {
    const dir = mkdtempSync(join(tmpdir(), 'ht-launch-cache-'));
    for (const f of DIST_FILES.slice(0, 2)) copyFileSync(join(ROOT, 'dist', f), join(dir, f));
    const cache = readFileSync(join(ROOT, 'dist/post-renderer.code-cache'));
    if (mutate) writeFileSync(join(dir, 'post-renderer.code-cache'), mutate(cache));
    return dir;
  }

  it('is made by the build for this very bundle, and used', async () => {
    const r = await exec('node', [join(ROOT, 'dist/post-renderer.cjs'), ...ARGS], { input: INPUT, env: baseEnv() });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(expected);
    expect(cacheLine(r.stderr)).toBe('used');
  });

  /** The header as the loader checks it: the bundle part, then the payload's CRC-32 (8 hex digits) and a newline. */
  const withPayload = (cache: Buffer, payload: Buffer): Buffer => {
    const bundlePart = cache.subarray(0, cache.indexOf(10) - 8);
    const crc = Buffer.from(`${crc32(payload).toString(16).padStart(8, '0')}\n`);
    return Buffer.concat([bundlePart, crc, payload]);
  };
  const payloadOf = (cache: Buffer) => cache.subarray(cache.indexOf(10) + 1);

  it.each([
    ['absent', undefined],
    // The header names another bundle: never handed to V8, whatever it holds.
    ['stale', (c: Buffer) => Buffer.from(c.toString('latin1').replace(/v2 [0-9a-f]{8}/, 'v2 00000000'), 'latin1')],
    // Damaged bytes under an intact header: V8 release builds do not check them and would crash (SIGTRAP).
    [
      'corrupt',
      (c: Buffer) => {
        const damaged = Buffer.from(c);
        for (let i = c.indexOf(10) + 5000; i < c.indexOf(10) + 6000; i++) damaged[i] = (damaged[i] as number) ^ 0x5a;
        return damaged;
      },
    ],
    // A payload that is whole (its CRC matches) but that V8 refuses, as after a Node upgrade.
    ['rejected', (c: Buffer) => withPayload(c, Buffer.alloc(4096, 7))],
  ] as const)('%s: the bundle compiles from source and writes the same', async (status, mutate) => {
    const dir = copyWithCache(mutate);
    const r = await exec('node', [join(dir, 'post-renderer.cjs'), ...ARGS], { input: INPUT, env: baseEnv() });
    expect(r.code, r.stderr).toBe(0);
    expect(cacheLine(r.stderr)).toBe(status);
    expect(r.stdout).toBe(expected);
  });

  it('the header check is the one the loader makes: the untouched cache rebuilt from its parts is used', async () => {
    const dir = copyWithCache((c) => withPayload(c, Buffer.from(payloadOf(c))));
    const r = await exec('node', [join(dir, 'post-renderer.cjs'), ...ARGS], { input: INPUT, env: baseEnv() });
    expect(cacheLine(r.stderr)).toBe('used');
  });

  it('is written only by a successful run (HELM_TIERS_WRITE_CODE_CACHE, the build), and that one is used', async () => {
    const dir = copyWithCache(undefined);
    const cache = join(dir, 'post-renderer.code-cache');
    const write = (input: string) =>
      exec('node', [join(dir, 'post-renderer.cjs'), ...ARGS], {
        input,
        env: baseEnv({ HELM_TIERS_WRITE_CODE_CACHE: cache }),
      });
    const failed = await write('apiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed\n');
    expect(failed.code).not.toBe(0);
    expect(existsSync(cache)).toBe(false);
    const ok = await write(INPUT);
    expect(ok.code, ok.stderr).toBe(0);
    expect(existsSync(cache)).toBe(true);
    const r = await exec('node', [join(dir, 'post-renderer.cjs'), ...ARGS], { input: INPUT, env: baseEnv() });
    expect(cacheLine(r.stderr)).toBe('used');
    expect(r.stdout).toBe(expected);
  });

  it('keeps errors and exit codes: bad input fails the same with and without the cache', async () => {
    const bad = 'apiVersion: v1\nkind: ConfigMap\nmetadata: [unclosed\n';
    const withCache = await exec('node', [join(ROOT, 'dist/post-renderer.cjs'), ...ARGS], {
      input: bad,
      env: baseEnv(),
    });
    const bundle = await exec('node', [join(ROOT, 'dist/post-renderer-main.cjs'), ...ARGS], {
      input: bad,
      env: baseEnv(),
    });
    expect(withCache.code).not.toBe(0);
    expect(withCache.code).toBe(bundle.code);
    expect(withCache.stdout).toBe('');
    expect(withCache.stderr.replace(/^.*code cache.*\n/m, '')).toBe(bundle.stderr);
  });
});
