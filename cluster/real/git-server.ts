/**
 * A git server for the real-cluster tests: one bare repository over git's smart HTTP protocol, served by Debian's
 * `git http-backend` (CGI) behind a small node:http server on 127.0.0.1.
 *
 * Smart HTTP, not dumb HTTP: source-controller clones with go-git, which speaks only the smart protocol. Pushing is
 * enabled (`http.receivepack` in the repository config) so tests can push commits the way a user would.
 *
 * Also: `snapshotRepo` (a bare repository whose first commit is a directory's files), `commitFiles` (a further
 * commit written straight into the bare repository) and `pushFiles` (clone over HTTP, commit, push).
 */
import { spawn, execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';

import { ErrorCodes, HelmTiersError } from '../../core/errors.js';

const execFileAsync = promisify(execFile);

/** Debian's location of the CGI program (package `git`). */
export const GIT_HTTP_BACKEND = '/usr/lib/git-core/git-http-backend';

export interface GitServerOptions {
  /** A bare repository (e.g. made by `snapshotRepo`). Its directory name is the URL path: `/<name>`. */
  repoDir: string;
  /** Receives one line per request and the backend's stderr. */
  log?: (line: string) => void;
}

export interface GitServer {
  /** `http://127.0.0.1:<port>/<name>.git` */
  url: string;
  stop(): Promise<void>;
}

/** Commits made here carry a fixed identity and no user config, so they do not depend on the machine. */
function gitEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...process.env,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_CONFIG_GLOBAL: '/dev/null',
    GIT_AUTHOR_NAME: 'helm-tiers test',
    GIT_AUTHOR_EMAIL: 'test@helm-tiers.invalid',
    GIT_COMMITTER_NAME: 'helm-tiers test',
    GIT_COMMITTER_EMAIL: 'test@helm-tiers.invalid',
    GIT_TERMINAL_PROMPT: '0',
    ...extra,
  };
}

async function git(args: string[], opts: { cwd?: string; env?: Record<string, string>; input?: string } = {}) {
  try {
    const child = execFileAsync('git', args, {
      cwd: opts.cwd,
      env: gitEnv(opts.env),
      encoding: 'utf8',
      maxBuffer: 64 << 20,
    });
    // git may exit before reading stdin (a failure): EPIPE is then not the error worth reporting.
    child.child.stdin?.on('error', () => undefined);
    child.child.stdin?.end(opts.input ?? '');
    const { stdout } = await child;
    return stdout;
  } catch (err) {
    const e = err as { stderr?: string; message: string };
    throw new HelmTiersError(
      ErrorCodes.TOOL,
      `git ${args.join(' ')} failed: ${(e.stderr ?? e.message).trim()}`,
      {},
      {
        cause: err,
      },
    );
  }
}

/**
 * Serves `repoDir` over smart HTTP. Only paths under `/<name>/` reach the backend, so sibling repositories in the
 * same parent folder are not exposed.
 */
export async function startGitServer(opts: GitServerOptions): Promise<GitServer> {
  const repoDir = resolve(opts.repoDir);
  if (!existsSync(join(repoDir, 'HEAD')) || !existsSync(join(repoDir, 'objects'))) {
    throw new HelmTiersError(ErrorCodes.TOOL, `${repoDir} is not a bare git repository`);
  }
  if (!existsSync(GIT_HTTP_BACKEND)) {
    throw new HelmTiersError(ErrorCodes.TOOL, `${GIT_HTTP_BACKEND} not found (Debian package git)`);
  }
  const name = basename(repoDir);
  const projectRoot = dirname(repoDir);
  const log = opts.log ?? (() => undefined);

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log(`git-server: ${String(err)}`);
      if (!res.headersSent) res.writeHead(500).end();
      else res.destroy();
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const pathInfo = decodeURIComponent(url.pathname);
    if (!pathInfo.startsWith(`/${name}/`) || pathInfo.split('/').includes('..')) {
      log(`git-server: ${req.method ?? '?'} ${url.pathname} -> 404`);
      res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found\n');
      return;
    }
    // CGI/1.1 meta-variables. Every request header also goes in as HTTP_*: http-backend reads HTTP_GIT_PROTOCOL
    // (protocol v2) and HTTP_CONTENT_ENCODING (it inflates gzip request bodies itself, as git sends them for
    // large fetch negotiations).
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      GIT_PROJECT_ROOT: projectRoot,
      GIT_HTTP_EXPORT_ALL: '1',
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
      SERVER_SOFTWARE: 'helm-tiers-git-server',
      SERVER_NAME: '127.0.0.1',
      REQUEST_METHOD: req.method ?? 'GET',
      PATH_INFO: pathInfo,
      QUERY_STRING: url.search.replace(/^\?/, ''),
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      CONTENT_TYPE: req.headers['content-type'] ?? '',
    };
    if (req.headers['content-length'] !== undefined) env.CONTENT_LENGTH = req.headers['content-length'];
    for (const [key, value] of Object.entries(req.headers)) {
      if (value === undefined || key === 'content-type' || key === 'content-length') continue;
      env[`HTTP_${key.toUpperCase().replace(/-/g, '_')}`] = Array.isArray(value) ? value.join(', ') : value;
    }

    const child = spawn(GIT_HTTP_BACKEND, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      for (const line of chunk.split('\n')) if (line) log(`git-http-backend: ${line}`);
    });
    // The backend may answer before reading the whole body (errors); a closed stdin is then not our failure.
    child.stdin.on('error', () => undefined);
    req.pipe(child.stdin);

    const status = await pipeCgiResponse(child.stdout, res);
    const code = await new Promise<number | null>((done) => {
      if (child.exitCode !== null) done(child.exitCode);
      else
        child.once('close', (c) => {
          done(c);
        });
    });
    log(`git-server: ${env.REQUEST_METHOD ?? ''} ${url.pathname}${url.search} -> ${status} (backend exit ${code})`);
  }

  await new Promise<void>((done, fail) => {
    server.once('error', fail);
    server.listen(0, '127.0.0.1', () => {
      done();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/${name}`,
    stop: () =>
      new Promise<void>((done) => {
        server.closeAllConnections();
        server.close(() => {
          done();
        });
      }),
  };
}

/**
 * Reads the CGI header block (up to the first empty line, LF or CRLF), turns `Status:` into the HTTP status and the
 * other lines into headers, then streams the rest of stdout as the body. Returns the status sent.
 */
function pipeCgiResponse(stdout: Readable, res: ServerResponse): Promise<number> {
  return new Promise((done, fail) => {
    let head = Buffer.alloc(0);
    let status = 0;
    const onData = (chunk: Buffer) => {
      if (status) {
        if (!res.write(chunk)) {
          stdout.pause();
          res.once('drain', () => stdout.resume());
        }
        return;
      }
      head = Buffer.concat([head, chunk]);
      const end = headerEnd(head);
      if (!end) {
        if (head.length > 64 * 1024) fail(new Error('CGI header block over 64 KiB'));
        return;
      }
      const headers: Record<string, string> = {};
      status = 200;
      for (const line of head.subarray(0, end.at).toString('latin1').split(/\r?\n/)) {
        const colon = line.indexOf(':');
        if (colon <= 0) continue;
        const key = line.slice(0, colon).trim();
        const value = line.slice(colon + 1).trim();
        if (key.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500;
        else headers[key] = value;
      }
      res.writeHead(status, headers);
      const rest = head.subarray(end.at + end.length);
      if (rest.length) res.write(rest);
    };
    stdout.on('data', onData);
    stdout.once('error', fail);
    stdout.once('end', () => {
      if (!status) {
        // The backend died before a header block: nothing valid was sent yet.
        status = 502;
        res.writeHead(502, { 'Content-Type': 'text/plain' });
        res.end('git http-backend sent no response\n');
      } else {
        res.end();
      }
      done(status);
    });
  });
}

/** Position and length of the blank line that ends a CGI header block. */
function headerEnd(buf: Buffer): { at: number; length: number } | undefined {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return { at: crlf, length: 4 };
  if (lf >= 0) return { at: lf, length: 2 };
  return undefined;
}

export interface SnapshotOptions {
  /** Path of the bare repository to create. Must not exist, or be an empty directory. */
  into: string;
  /** Branch to commit to; also the repository's HEAD. Default `main`. */
  branch?: string;
  message?: string;
}

/**
 * Creates a bare repository whose first commit holds `workDir`'s files: inside a git work tree, the tracked and the
 * untracked-but-not-ignored files (what `git ls-files --cached --others --exclude-standard` lists, minus deleted
 * ones); elsewhere every file except `.git`. Returns the commit sha.
 */
export async function snapshotRepo(workDir: string, opts: SnapshotOptions): Promise<string> {
  const into = resolve(opts.into);
  if (existsSync(into) && readdirSync(into).length > 0) {
    throw new HelmTiersError(ErrorCodes.TOOL, `snapshotRepo: ${into} exists and is not empty`);
  }
  const branch = opts.branch ?? 'main';
  await git(['init', '--quiet', '--bare', `--initial-branch=${branch}`, into]);
  // Let clients push: http-backend enables receive-pack only for authenticated users unless this is set.
  await git(['config', 'http.receivepack', 'true'], { cwd: into });
  const files = await snapshotFiles(resolve(workDir));
  return commitTree(into, branch, opts.message ?? 'snapshot', { workDir: resolve(workDir), files });
}

/** Files of `workDir` to snapshot, relative to it. */
async function snapshotFiles(workDir: string): Promise<string[]> {
  let inWorkTree = false;
  try {
    inWorkTree = (await git(['rev-parse', '--is-inside-work-tree'], { cwd: workDir })).trim() === 'true';
  } catch {
    inWorkTree = false;
  }
  if (inWorkTree) {
    const out = await git(['ls-files', '-z', '--cached', '--others', '--exclude-standard'], { cwd: workDir });
    const unique = new Set(out.split('\0').filter((f) => f !== ''));
    return [...unique].filter((f) => existsSync(join(workDir, f))).sort();
  }
  const found: string[] = [];
  const walk = (rel: string) => {
    for (const entry of readdirSync(join(workDir, rel), { withFileTypes: true })) {
      if (entry.name === '.git') continue;
      const path = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory()) walk(path);
      else found.push(path);
    }
  };
  walk('');
  return found.sort();
}

/** Content for `commitFiles`: text or bytes to write, `null` to delete. */
export type FileChanges = Record<string, string | Buffer | null>;

export interface CommitOptions {
  files: FileChanges;
  message?: string;
  branch?: string;
}

/**
 * Writes a further commit straight into the bare repository (no clone): the branch's tree with `files` applied.
 * Returns the new commit sha. Servers running on the repository see it at once.
 */
export async function commitFiles(repoDir: string, opts: CommitOptions): Promise<string> {
  const branch = opts.branch ?? 'main';
  const stage = mkdtempSync(join(tmpdir(), 'git-commit-'));
  try {
    const files: string[] = [];
    const deleted: string[] = [];
    for (const [rel, content] of Object.entries(opts.files)) {
      if (content === null) {
        deleted.push(rel);
        continue;
      }
      mkdirSync(dirname(join(stage, rel)), { recursive: true });
      writeFileSync(join(stage, rel), content);
      files.push(rel);
    }
    return await commitTree(resolve(repoDir), branch, opts.message ?? 'update', {
      workDir: stage,
      files,
      deleted,
      onTopOfBranch: true,
    });
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/**
 * Builds a tree in a temporary index (never the repository's), commits it on `branch` and moves the branch.
 * With `onTopOfBranch` the index starts from the branch's tree, else empty.
 */
async function commitTree(
  repo: string,
  branch: string,
  message: string,
  src: { workDir: string; files: string[]; deleted?: string[]; onTopOfBranch?: boolean },
): Promise<string> {
  const scratch = mkdtempSync(join(tmpdir(), 'git-index-'));
  // Literal pathspecs: a file named `*.yaml` is that file, not a glob.
  const env = {
    GIT_DIR: repo,
    GIT_WORK_TREE: src.workDir,
    GIT_INDEX_FILE: join(scratch, 'index'),
    GIT_LITERAL_PATHSPECS: '1',
  };
  const cwd = src.workDir;
  try {
    let parent: string | undefined;
    try {
      parent = (await git(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}^{commit}`], { env, cwd })).trim();
    } catch {
      parent = undefined;
    }
    if (src.onTopOfBranch && parent) await git(['read-tree', parent], { env, cwd });
    if (src.deleted?.length) {
      await git(['rm', '--cached', '--quiet', '--ignore-unmatch', '--pathspec-from-file=-', '--pathspec-file-nul'], {
        env,
        cwd,
        input: src.deleted.join('\0'),
      });
    }
    if (src.files.length) {
      // -f: the list is already filtered; the work tree's .gitignore must not drop files named explicitly.
      await git(['add', '-f', '--pathspec-from-file=-', '--pathspec-file-nul'], {
        env,
        cwd,
        input: src.files.join('\0'),
      });
    }
    const tree = (await git(['write-tree'], { env, cwd })).trim();
    const args = ['commit-tree', tree, '-m', message];
    if (parent) args.push('-p', parent);
    const sha = (await git(args, { env, cwd })).trim();
    await git(['update-ref', `refs/heads/${branch}`, sha, ...(parent ? [parent] : [])], { env, cwd });
    return sha;
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * What a user does: clone `url` (smart HTTP), apply `files`, commit and push. Returns the pushed commit sha.
 */
export async function pushFiles(url: string, opts: CommitOptions): Promise<string> {
  const branch = opts.branch ?? 'main';
  const work = mkdtempSync(join(tmpdir(), 'git-push-'));
  try {
    await git(['clone', '--quiet', '--branch', branch, url, work]);
    for (const [rel, content] of Object.entries(opts.files)) {
      if (content === null) rmSync(join(work, rel), { force: true });
      else {
        mkdirSync(dirname(join(work, rel)), { recursive: true });
        writeFileSync(join(work, rel), content);
      }
    }
    await git(['add', '-A', '.'], { cwd: work });
    await git(['commit', '--quiet', '--allow-empty', '-m', opts.message ?? 'update'], { cwd: work });
    await git(['push', '--quiet', 'origin', `HEAD:refs/heads/${branch}`], { cwd: work });
    return (await git(['rev-parse', 'HEAD'], { cwd: work })).trim();
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
