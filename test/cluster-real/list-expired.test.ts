// The hooks' paging (hooks/src/k8s/pages.ts) against the real kube-apiserver: a continue token whose snapshot the
// API server compacted away is answered 410 Expired, which the hooks' client maps to E_LIST_EXPIRED (exit 47); a read
// from scratch (no continue, no resourceVersion) then succeeds. The API server runs with a 1 s compaction interval so
// that a token expires within seconds instead of minutes.
import { request } from 'node:https';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeBinDir, startControlPlane, type ControlPlane } from '../../cluster/real/control-plane.js';
import { HookError, hookExitCode } from '../../hooks/src/errors.js';
import { createHookKube, loadKubeConfig, type HookKube } from '../../hooks/src/k8s/client.js';
import { Deadline, systemClock } from '../../hooks/src/k8s/clock.js';
import { LIST_ATTEMPTS, listAll } from '../../hooks/src/k8s/pages.js';

const binDir = kubeBinDir();
// In CI a missing build is a failure (beforeAll throws), never a silent skip.
const run = binDir !== undefined || Boolean(process.env.CI);
if (!run)
  console.warn(
    '\n*** test/cluster-real/list-expired SKIPPED: the Kubernetes control-plane binaries are not built. ' +
      'Run `npm run setup:kube` (needs Go 1.26) to build them into .tools/kube. ***\n',
  );

const NS = 'paging';
const PODS = ['a', 'b', 'c'];

describe.skipIf(!run)('an expired continue token on the real API server', () => {
  let cp: ControlPlane;
  let kube: HookKube;
  /** A continue token the API server has answered 410 for. */
  let expiredToken = '';

  const post = (path: string, body: unknown) =>
    new Promise<number>((done, fail) => {
      const data = JSON.stringify(body);
      const req = request(
        `${cp.url}${path}`,
        {
          method: 'POST',
          ca: Buffer.from(cp.caData, 'base64'),
          headers: { Authorization: `Bearer ${cp.adminToken}`, 'Content-Type': 'application/json' },
        },
        (res) => {
          res.resume();
          res.on('end', () => {
            done(res.statusCode ?? 0);
          });
        },
      );
      req.on('error', fail);
      req.end(data);
    });
  const page = (continueToken: string | undefined) =>
    kube.listPods(NS, { labelSelector: 'app=paging', limit: 1, continueToken });

  beforeAll(async () => {
    if (binDir === undefined)
      throw new Error('CI: the control-plane binaries are missing; run `npm run setup:kube` before the tests');
    cp = await startControlPlane({ binDir, apiServerArgs: ['--etcd-compaction-interval=1s'] });
    const deadline = new Deadline(systemClock, Date.now() + 170_000, new AbortController().signal);
    kube = createHookKube(loadKubeConfig({ KUBECONFIG: cp.kubeconfig }), deadline);
    expect(await post('/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } })).toBe(201);
    // No node: the pods stay Pending, which is all a list needs. Until the ServiceAccount controller has made the
    // namespace's `default` ServiceAccount, admission refuses pods (403).
    for (const name of PODS) {
      let status = 0;
      for (let i = 0; i < 100 && status !== 201; i++) {
        status = await post(`/api/v1/namespaces/${NS}/pods`, {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name, labels: { app: 'paging' } },
          spec: { containers: [{ name: 'c', image: 'registry.example/c:1' }] },
        });
        if (status === 403) await sleep(200);
      }
      expect(status).toBe(201);
    }
    const first = await page(undefined);
    const token = first.continueToken;
    expect(token).toBeDefined();
    // Writes move etcd's revision on; the API server compacts every second, and its list snapshots with it.
    for (let i = 0; i < 120 && !expiredToken; i++) {
      await post(`/api/v1/namespaces/${NS}/configmaps`, {
        apiVersion: 'v1',
        kind: 'ConfigMap',
        metadata: { name: `tick-${i}` },
      });
      try {
        await page(token);
      } catch (err) {
        if (!(err instanceof HookError && err.code === 'E_LIST_EXPIRED')) throw err;
        expiredToken = token ?? '';
      }
      if (!expiredToken) await sleep(500);
    }
  }, 180_000);

  afterAll(async () => {
    await (cp as ControlPlane | undefined)?.stop();
  });

  it('answers 410 Expired, mapped to E_LIST_EXPIRED (exit 47), never a rejected request (46)', async () => {
    expect(expiredToken).not.toBe('');
    const err = await page(expiredToken).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HookError);
    expect((err as HookError).code).toBe('E_LIST_EXPIRED');
    expect((err as HookError).details.status).toBe(410);
    expect((err as HookError).details.reason).toBe('Expired');
    expect((err as HookError).message).toContain('The provided continue parameter is too old');
    expect(hookExitCode(err)).toBe(47);
  });

  it('two expired tokens in a row: listAll reads again from scratch and the third read returns every pod', async () => {
    let expiredPagesLeft = 2;
    const firstPages: number[] = [];
    let reads = 0;
    const items = await listAll(
      (token) => {
        if (token === undefined) firstPages.push(++reads);
        // Compaction between the first and the second page of the first two reads: their tokens are expired ones.
        if (token !== undefined && expiredPagesLeft > 0) {
          expiredPagesLeft--;
          return page(expiredToken);
        }
        return page(token);
      },
      { onRestart: () => undefined },
    );
    expect(items.map((p) => p.metadata?.name).sort()).toEqual(PODS);
    expect(firstPages).toEqual([1, 2, 3]);
  });

  it(`a token that expires on every read: E_LIST_EXPIRED after ${LIST_ATTEMPTS} reads`, async () => {
    let firstPages = 0;
    const err = await listAll((token) => {
      if (token === undefined) firstPages++;
      return page(token === undefined ? undefined : expiredToken);
    }).catch((e: unknown) => e);
    expect((err as HookError).code).toBe('E_LIST_EXPIRED');
    expect((err as HookError).message).toContain(`expired on each of ${LIST_ATTEMPTS} reads from scratch`);
    expect(hookExitCode(err)).toBe(47);
    expect(firstPages).toBe(LIST_ATTEMPTS);
  });
});
