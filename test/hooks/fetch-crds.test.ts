// The image's CRD download step, against a local HTTP server standing in for raw.githubusercontent.com.
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './support.js';

const script = join(repoRoot, 'images/hooks/fetch-crds.mjs');
const files: Record<string, string> = {
  '/org/repo/v1.0.0/a.example.com_widgets.yaml': 'kind: CustomResourceDefinition\n',
  '/org/repo/v1.0.0/b.yaml': 'b\n',
};
const sha = async (s: string) => (await import('node:crypto')).createHash('sha256').update(s).digest('hex');

function run(args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [script, ...args], (err, stdout, stderr) => {
      res({ code: err ? ((err as { code?: number }).code ?? 1) : 0, out: stdout + stderr });
    });
  });
}

describe('fetch-crds.mjs', () => {
  let server: Server;
  let mirror: string;
  beforeAll(async () => {
    server = createServer((req, res) => {
      const body = files[req.url ?? ''];
      res.writeHead(body === undefined ? 404 : 200).end(body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    mirror = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });
  afterAll(() => {
    server.close();
  });

  it('downloads and verifies every entry', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fetch-'));
    const list = join(dir, 'list');
    writeFileSync(
      list,
      `# comment\n${await sha(files['/org/repo/v1.0.0/a.example.com_widgets.yaml'] ?? '')}  https://raw.githubusercontent.com/org/repo/v1.0.0/a.example.com_widgets.yaml\n`,
    );
    const r = await run([list, join(dir, 'crds'), '--mirror', mirror]);
    expect(r.code).toBe(0);
    expect(readdirSync(join(dir, 'crds'))).toEqual(['a.example.com_widgets.yaml']);
    expect(readFileSync(join(dir, 'crds/a.example.com_widgets.yaml'), 'utf8')).toBe('kind: CustomResourceDefinition\n');
  });

  it('fails the build on a checksum mismatch', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'fetch-'));
    const list = join(dir, 'list');
    writeFileSync(list, `${'0'.repeat(64)}  https://raw.githubusercontent.com/org/repo/v1.0.0/b.yaml\n`);
    const r = await run([list, join(dir, 'crds'), '--mirror', mirror]);
    expect(r.code).not.toBe(0);
    expect(r.out).toContain('sha256');
  });
});
