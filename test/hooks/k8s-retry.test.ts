import { describe, expect, it } from 'vitest';
import { HookError } from '../../hooks/src/errors.js';
import { Deadline } from '../../hooks/src/k8s/clock.js';
import { mapApiError } from '../../hooks/src/k8s/errors.js';
import { backoffMs, callWithRetry } from '../../hooks/src/k8s/retry.js';
import { fakeClock } from '../helpers/clock.js';

const apiErr = (code: number, body: object = {}, headers: Record<string, string> = {}) =>
  Object.assign(new Error(`HTTP ${code}`), { code, body: JSON.stringify(body), headers });
const req = { verb: 'list', resource: 'pods', group: '', namespace: 'apps' };

describe('mapApiError', () => {
  it('403 names the verb, the resource, the namespace and the RBAC rule', () => {
    const e = mapApiError(apiErr(403, { kind: 'Status', reason: 'Forbidden', message: 'pods is forbidden' }), req);
    expect(e.code).toBe('E_FORBIDDEN');
    expect(e.message).toContain('cannot list pods in namespace "apps"');
    expect(e.message).toContain('verbs: ["list"]');
    expect(e.details).toMatchObject({ verb: 'list', resource: 'pods', status: 403 });
  });
  it('maps status classes', () => {
    expect(mapApiError(apiErr(404), req).code).toBe('E_NOT_FOUND');
    expect(mapApiError(apiErr(409), req).code).toBe('E_API_CONFLICT');
    expect(mapApiError(apiErr(429, {}, { 'retry-after': '3' }), req)).toMatchObject({
      code: 'E_API_THROTTLED',
      retryAfterSeconds: 3,
    });
    expect(mapApiError(apiErr(503), req).code).toBe('E_API_UNAVAILABLE');
    expect(mapApiError(apiErr(422), req).code).toBe('E_API_REJECTED');
    expect(mapApiError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }), req).code).toBe(
      'E_API_UNAVAILABLE',
    );
  });
});

describe('callWithRetry', () => {
  const run = async (
    errors: unknown[],
    opts: { retryNotFound?: boolean; attempts?: number; request?: typeof req & { name?: string } } = {},
  ) => {
    const clock = fakeClock();
    const deadline = new Deadline(clock, 60_000, new AbortController().signal);
    let n = 0;
    const result = await callWithRetry(
      opts.request ?? req,
      () => {
        const e = errors[n++];
        return e instanceof Error ? Promise.reject(e) : Promise.resolve('ok');
      },
      deadline,
      {
        attempts: opts.attempts ?? 5,
        baseMs: 100,
        maxMs: 1000,
        requestTimeoutMs: 1000,
        retryNotFound: opts.retryNotFound,
      },
    ).catch((e: unknown) => e);
    return { result, calls: n, waits: clock.waits };
  };

  it('retries 5xx, 409 and 429 with backoff, then succeeds', async () => {
    const r = await run([apiErr(503), apiErr(409), apiErr(429)]);
    expect(r.result).toBe('ok');
    expect(r.calls).toBe(4);
    expect(r.waits).toHaveLength(3);
  });
  it('honours Retry-After', async () => {
    const r = await run([apiErr(429, {}, { 'retry-after': '7' })]);
    expect(r.waits[0]).toBe(7000);
  });
  it('does not retry 403; retries 404 on a LIST (type not served yet) but not on a named object, unless told', async () => {
    expect((await run([apiErr(403)])).calls).toBe(1);
    expect((await run([apiErr(404)])).result).toBe('ok');
    const named = { ...req, verb: 'get', name: 'x' };
    expect((await run([apiErr(404)], { request: named })).calls).toBe(1);
    expect((await run([apiErr(404)], { request: named, retryNotFound: true })).result).toBe('ok');
    expect((await run([apiErr(404)], { retryNotFound: false })).calls).toBe(1);
  });
  it('gives up after the bounded number of attempts with the typed error', async () => {
    const r = await run([apiErr(500), apiErr(500), apiErr(500)], { attempts: 3 });
    expect(r.calls).toBe(3);
    expect((r.result as HookError).code).toBe('E_API_UNAVAILABLE');
  });
  it('backoff grows exponentially, is capped, and keeps half of each step fixed', () => {
    const opts = { baseMs: 100, maxMs: 1000 };
    expect([0, 1, 2, 3].map((a) => backoffMs(a, opts, 0))).toEqual([50, 100, 200, 400]);
    expect(backoffMs(3, opts, 0.999)).toBeLessThan(800);
    expect(backoffMs(10, opts, 0.999)).toBeLessThanOrEqual(1000);
    expect(backoffMs(10, opts, 0)).toBe(500);
  });
  it('stops with E_TERMINATED once the signal aborts', async () => {
    const clock = fakeClock();
    const ac = new AbortController();
    ac.abort();
    const e = await callWithRetry(req, () => Promise.resolve(1), new Deadline(clock, 1000, ac.signal)).catch(
      (x: unknown) => x,
    );
    expect((e as HookError).code).toBe('E_TERMINATED');
  });
});
