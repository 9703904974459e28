// The smart-HTTP git server, exercised with real git clients: clone, fetch over protocol v2, push, and a gzip
// request body sent by hand (git compresses large fetch negotiations; http-backend must inflate them).
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';

import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import {
  GIT_HTTP_BACKEND,
  commitFiles,
  pushFiles,
  snapshotRepo,
  startGitServer,
  type GitServer,
} from '../../cluster/real/git-server.js';

const run = promisify(execFile);
const env = { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null', GIT_TERMINAL_PROMPT: '0' };
const git = async (args: string[], cwd?: string, extraEnv: Record<string, string> = {}) =>
  (await run('git', args, { cwd, env: { ...env, ...extraEnv }, encoding: 'utf8' })).stdout;

const missing = existsSync(GIT_HTTP_BACKEND) ? undefined : `${GIT_HTTP_BACKEND} (Debian package git)`;
if (missing && !process.env.CI) console.warn(`\n*** git-server tests SKIPPED: ${missing} is missing ***\n`);

describe.skipIf(missing !== undefined && !process.env.CI)('git server over smart HTTP', () => {
  let tmp: string;
  let repoDir: string;
  let firstSha: string;
  let server: GitServer | undefined;
  let url = '';
  const logLines: string[] = [];

  beforeAll(async () => {
    if (missing) throw new Error(`${missing} is missing (required under CI)`);
    tmp = mkdtempSync(join(tmpdir(), 'git-server-test-'));
    // A work tree with a tracked file, an untracked one, an ignored one and a file in a nested folder.
    const work = join(tmp, 'work');
    mkdirSync(join(work, 'charts', 'demo', 'templates'), { recursive: true });
    await git(['init', '--quiet', work]);
    writeFileSync(join(work, '.gitignore'), 'secret.txt\n');
    writeFileSync(join(work, 'tracked.txt'), 'tracked\n');
    await git(['add', '.gitignore', 'tracked.txt'], work);
    writeFileSync(join(work, 'untracked.txt'), 'untracked\n');
    writeFileSync(join(work, 'secret.txt'), 'ignored\n');
    writeFileSync(join(work, 'charts', 'demo', 'Chart.yaml'), 'apiVersion: v2\nname: demo\nversion: 0.1.0\n');
    repoDir = join(tmp, 'served', 'charts.git');
    firstSha = await snapshotRepo(work, { into: repoDir, message: 'first' });
    // A sibling repository in the same folder: it must not be reachable through the server.
    await git(['init', '--quiet', '--bare', join(tmp, 'served', 'other.git')]);
    server = await startGitServer({ repoDir, log: (l) => logLines.push(l) });
    url = server.url;
  });

  afterAll(async () => {
    await server?.stop();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  it('serves the snapshot: tracked and untracked files, not ignored ones', async () => {
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/charts\.git$/);
    const clone = join(tmp, 'clone1');
    await git(['clone', '--quiet', url, clone]);
    expect((await git(['rev-parse', 'HEAD'], clone)).trim()).toBe(firstSha);
    expect((await git(['rev-parse', '--abbrev-ref', 'HEAD'], clone)).trim()).toBe('main');
    expect(readFileSync(join(clone, 'tracked.txt'), 'utf8')).toBe('tracked\n');
    expect(readFileSync(join(clone, 'untracked.txt'), 'utf8')).toBe('untracked\n');
    expect(existsSync(join(clone, 'charts', 'demo', 'Chart.yaml'))).toBe(true);
    expect(existsSync(join(clone, 'secret.txt'))).toBe(false);
    expect((await git(['ls-files'], clone)).trim().split('\n').sort()).toEqual([
      '.gitignore',
      'charts/demo/Chart.yaml',
      'tracked.txt',
      'untracked.txt',
    ]);
    // Smart protocol: the ref advertisement was asked for with ?service=, which dumb HTTP never does.
    expect(logLines.some((l) => l.includes('/info/refs?service=git-upload-pack -> 200'))).toBe(true);
  });

  it('speaks protocol v2 when the client asks for it (Git-Protocol header reaches the backend)', async () => {
    const { stdout, stderr } = await run('git', ['-c', 'protocol.version=2', 'ls-remote', url], {
      env: { ...env, GIT_TRACE_PACKET: '1' },
      encoding: 'utf8',
    });
    expect(stdout).toContain(`${firstSha}\trefs/heads/main`);
    expect(stderr).toMatch(/< version 2/);
  });

  it('accepts a push over HTTP and serves it to the next clone', async () => {
    const pushed = await pushFiles(url, {
      files: { 'pushed.txt': 'from a push\n', 'tracked.txt': null },
      message: 'push',
    });
    expect((await git(['rev-parse', 'refs/heads/main'], repoDir)).trim()).toBe(pushed);
    expect((await git(['rev-parse', `${pushed}^`], repoDir)).trim()).toBe(firstSha);
    const clone = join(tmp, 'clone2');
    await git(['clone', '--quiet', url, clone]);
    expect(readFileSync(join(clone, 'pushed.txt'), 'utf8')).toBe('from a push\n');
    expect(existsSync(join(clone, 'tracked.txt'))).toBe(false);
    expect(logLines.some((l) => l.includes('POST /charts.git/git-receive-pack -> 200'))).toBe(true);
  });

  it('commitFiles adds a commit on top of the branch that a fetch sees', async () => {
    const clone = join(tmp, 'clone3');
    await git(['clone', '--quiet', url, clone]);
    const before = (await git(['rev-parse', 'HEAD'], clone)).trim();
    const sha = await commitFiles(repoDir, {
      files: { 'charts/demo/values.yaml': 'x: 1\n', 'untracked.txt': null },
      message: 'direct',
    });
    await git(['pull', '--quiet', '--ff-only'], clone);
    expect((await git(['rev-parse', 'HEAD'], clone)).trim()).toBe(sha);
    expect((await git(['rev-parse', 'HEAD^'], clone)).trim()).toBe(before);
    expect(readFileSync(join(clone, 'charts', 'demo', 'values.yaml'), 'utf8')).toBe('x: 1\n');
    expect(existsSync(join(clone, 'untracked.txt'))).toBe(false);
    expect(existsSync(join(clone, 'pushed.txt'))).toBe(true);
  });

  it('inflates a gzip-encoded upload-pack request body', async () => {
    const head = (await git(['rev-parse', 'refs/heads/main'], repoDir)).trim();
    const pkt = (s: string) => (s.length + 4).toString(16).padStart(4, '0') + s;
    const body = gzipSync(Buffer.from(`${pkt(`want ${head}\n`)}0000${pkt('done\n')}`));
    const res = await post(`${url}/git-upload-pack`, body, {
      'Content-Type': 'application/x-git-upload-pack-request',
      'Content-Encoding': 'gzip',
    });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toBe('application/x-git-upload-pack-result');
    expect(res.body.subarray(0, 8).toString()).toBe('0008NAK\n');
    expect(res.body.includes(Buffer.from('PACK'))).toBe(true);
  });

  it('answers 404 for paths outside the served repository', async () => {
    const other = url.replace(/charts\.git$/, 'other.git');
    await expect(git(['ls-remote', other])).rejects.toThrow(/404|not found/i);
    // Sent as is (a URL object would resolve the `..` before it leaves the client).
    const res = await post(url, Buffer.alloc(0), {}, '/charts.git/../other.git/git-upload-pack');
    expect(res.status).toBe(404);
  });
});

function post(
  url: string,
  body: Buffer,
  headers: Record<string, string>,
  rawPath?: string,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  return new Promise((done, fail) => {
    const u = new URL(url);
    const path = rawPath ?? u.pathname;
    const opts = { host: u.hostname, port: u.port, path, method: 'POST' };
    const req = request({ ...opts, headers: { ...headers, 'Content-Length': body.length } }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        done({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
      res.on('error', fail);
    });
    req.on('error', fail);
    req.end(body);
  });
}
