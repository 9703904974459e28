// Benchmark of the simulated API server: request latency and throughput for the calls tests make most.
// Run: node cluster/sim/cli.mjs --bench [--pods 5000] [--requests 2000]
import https from 'node:https';
import { readFileSync } from 'node:fs';
import minimist from 'minimist';
import { startCluster } from './index.js';
import { fixturesDir } from './types.js';

const argv = minimist(process.argv.slice(2));
const PODS = Number(argv.pods ?? 5000);
const REQUESTS = Number(argv.requests ?? 2000);

function request(
  url: string,
  token: string,
  ca: Buffer,
  agent: https.Agent,
  method = 'GET',
  body?: unknown,
  contentType = 'application/json',
): Promise<{ code: number; text: string }> {
  return new Promise((resolve, reject) => {
    const data = body === undefined ? undefined : JSON.stringify(body);
    const req = https.request(
      url,
      {
        method,
        agent,
        ca,
        headers: {
          Authorization: `Bearer ${token}`,
          Accept: 'application/json',
          ...(data ? { 'Content-Type': contentType } : {}),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => {
          resolve({ code: res.statusCode ?? 0, text });
        });
      },
    );
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

function stats(name: string, ms: number[], totalMs: number): void {
  const s = [...ms].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!.toFixed(2);
  process.stdout.write(
    `${name.padEnd(34)} n=${String(s.length).padStart(5)}  p50=${q(0.5)}ms  p95=${q(0.95)}ms  p99=${q(0.99)}ms  ${((s.length * 1000) / totalMs).toFixed(0)} req/s\n`,
  );
}

async function timed(name: string, n: number, concurrency: number, f: (i: number) => Promise<unknown>): Promise<void> {
  const lat: number[] = [];
  const t0 = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const s = performance.now();
        await f(i);
        lat.push(performance.now() - s);
      }
    }),
  );
  stats(name, lat, performance.now() - t0);
}

async function main(): Promise<void> {
  const c = await startCluster({ keepRequests: 50_000 });
  const ca = readFileSync(new URL('tls.crt', fixturesDir()));
  const agent = new https.Agent({ keepAlive: true, maxSockets: 8 });
  const req = (path: string, method = 'GET', body?: unknown) =>
    request(`${c.url}${path}`, c.adminToken, ca, agent, method, body);
  try {
    await req('/api/v1/namespaces', 'POST', { metadata: { name: 'bench' } });
    await timed('GET /version', REQUESTS, 8, () => req('/version'));
    await timed('POST configmap', REQUESTS, 8, (i) =>
      req('/api/v1/namespaces/bench/configmaps', 'POST', { metadata: { name: `cm-${i}` }, data: { i: String(i) } }),
    );
    await timed('GET configmap', REQUESTS, 8, (i) => req(`/api/v1/namespaces/bench/configmaps/cm-${i}`));
    await timed('PATCH configmap (merge)', REQUESTS, 8, (i) =>
      request(
        `${c.url}/api/v1/namespaces/bench/configmaps/cm-${i}`,
        c.adminToken,
        ca,
        agent,
        'PATCH',
        { data: { j: 'x' } },
        'application/merge-patch+json',
      ),
    );
    const t0 = performance.now();
    await timed(`POST pod (x${PODS})`, PODS, 8, (i) =>
      req('/api/v1/namespaces/bench/pods', 'POST', {
        metadata: { name: `p-${i}`, labels: { i: String(i % 10) } },
        spec: { containers: [{ name: 'c', image: 'x:1' }] },
      }),
    );
    await c.settle(120_000);
    process.stdout.write(`${PODS} pods created and Running after ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    await timed(`LIST ${PODS} pods, pages of 500`, 20, 1, async () => {
      let cont = '';
      do {
        const r = await req(`/api/v1/namespaces/bench/pods?limit=500${cont ? `&continue=${cont}` : ''}`);
        cont = (JSON.parse(r.text) as { metadata: { continue?: string } }).metadata.continue ?? '';
      } while (cont);
    });
    await timed('LIST pods labelSelector i=3', 50, 4, () => req('/api/v1/namespaces/bench/pods?labelSelector=i%3D3'));
  } finally {
    agent.destroy();
    await c.stop();
  }
}

void main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
