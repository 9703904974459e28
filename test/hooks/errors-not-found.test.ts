// 404 handling of the client helpers: a LIST that 404s (the resource type is not served yet) gets the bounded
// retries; a GET of a named object that 404s is an answer and is asked once.
import { KubeConfig } from '@kubernetes/client-node';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HookError } from '../../hooks/src/errors.js';
import { createHookKube } from '../../hooks/src/k8s/client.js';
import { Deadline } from '../../hooks/src/k8s/clock.js';
import { notFoundIsTransient } from '../../hooks/src/k8s/errors.js';
import { fakeClock } from '../helpers/clock.js';

describe('notFoundIsTransient', () => {
  it('only a LIST of a resource type; never a named object', () => {
    const crds = { resource: 'customresourcedefinitions', group: 'apiextensions.k8s.io' };
    expect(notFoundIsTransient({ verb: 'list', ...crds })).toBe(true);
    expect(notFoundIsTransient({ verb: 'list', resource: 'pods', group: '', namespace: 'apps' })).toBe(true);
    expect(notFoundIsTransient({ verb: 'get', ...crds, name: 'a.b' })).toBe(false);
    expect(notFoundIsTransient({ verb: 'patch', ...crds, name: 'a.b' })).toBe(false);
    expect(notFoundIsTransient({ verb: 'create', resource: 'pods/eviction', group: '', name: 'p' })).toBe(false);
    expect(notFoundIsTransient({ verb: 'get', resource: 'services', group: '', namespace: 'apps', name: 's' })).toBe(
      false,
    );
  });
});

describe('createHookKube: 404 on LIST is retried (bounded), 404 on GET is not', () => {
  let server: Server;
  let url: string;
  /** Per path: how many 404s to answer before a 200 (Infinity: always 404). */
  const plan = new Map<string, number>();
  const hits = new Map<string, number>();
  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = (req.url ?? '').split('?')[0] ?? '';
      const n = (hits.get(path) ?? 0) + 1;
      hits.set(path, n);
      res.setHeader('Content-Type', 'application/json');
      if (n <= (plan.get(path) ?? Infinity)) {
        res.writeHead(404);
        res.end(
          JSON.stringify({
            kind: 'Status',
            apiVersion: 'v1',
            status: 'Failure',
            reason: 'NotFound',
            message: 'the server could not find the requested resource',
            code: 404,
          }),
        );
        return;
      }
      res.writeHead(200);
      res.end(JSON.stringify({ kind: 'List', apiVersion: 'v1', metadata: {}, items: [] }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  const kube = () => {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: url, skipTLSVerify: true }],
      users: [{ name: 'u', token: 't' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
    const clock = fakeClock();
    const retries: number[] = [];
    const k = createHookKube(kc, new Deadline(clock, 60_000, new AbortController().signal), {
      onRetry: (_e, _attempt, wait) => retries.push(wait),
    });
    return { k, clock, retries };
  };

  it('a LIST that 404s twice (API group not served yet) succeeds on the third attempt, after backoff', async () => {
    const path = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions';
    plan.set(path, 2);
    const { k, retries } = kube();
    const page = await k.listCrds({});
    expect(page.items).toEqual([]);
    expect(hits.get(path)).toBe(3);
    expect(retries).toHaveLength(2);
    expect(retries[1]).toBeGreaterThan(retries[0] ?? Infinity);
  });

  it('a LIST that keeps 404ing ends after the bounded attempts with E_NOT_FOUND naming the unserved type', async () => {
    const path = '/apis/apps/v1/namespaces/apps/deployments';
    const { k } = kube();
    const e = await k.listWorkloads('Deployment', 'apps', {}).catch((x: unknown) => x);
    expect(hits.get(path)).toBe(5);
    expect(e).toBeInstanceOf(HookError);
    expect((e as HookError).code).toBe('E_NOT_FOUND');
    expect((e as HookError).message).toContain('does not serve deployments.apps');
  });

  it('a GET of a named object that 404s is asked once: it does not exist', async () => {
    const crd = '/apis/apiextensions.k8s.io/v1/customresourcedefinitions/widgets.example.com';
    const svc = '/api/v1/namespaces/apps/services/db';
    const { k, retries } = kube();
    const e = await k.readCrd('widgets.example.com').catch((x: unknown) => x);
    expect((e as HookError).code).toBe('E_NOT_FOUND');
    expect((e as HookError).message).not.toContain('does not serve');
    expect(hits.get(crd)).toBe(1);
    expect(await k.serviceExists('apps', 'db')).toBe(false);
    expect(hits.get(svc)).toBe(1);
    expect(retries).toEqual([]);
  });
});
