import { describe, expect, it } from 'vitest';
import { HOOK_EXIT_CODES, HookError, hookExitCode } from '../../hooks/src/errors.js';
import { mapApiError } from '../../hooks/src/k8s/errors.js';
import { LIST_ATTEMPTS, listAll } from '../../hooks/src/k8s/pages.js';

/** What client-node throws for the apiserver's 410 on an expired continue token, mapped as every call maps it. */
const expired = () =>
  mapApiError(
    {
      code: 410,
      body: JSON.stringify({
        kind: 'Status',
        status: 'Failure',
        reason: 'Expired',
        code: 410,
        message: 'The provided continue parameter is too old to display a consistent list result.',
      }),
    },
    { verb: 'list', resource: 'pods', group: '', namespace: 'apps' },
  );

describe('listAll', () => {
  it('follows continue tokens', async () => {
    const pages: Record<string, { items: number[]; continueToken?: string }> = {
      '': { items: [1, 2], continueToken: 'a' },
      a: { items: [3], continueToken: 'b' },
      b: { items: [4] },
    };
    expect(await listAll((t) => Promise.resolve(pages[t ?? ''] ?? { items: [] }))).toEqual([1, 2, 3, 4]);
  });

  it('a 410 is E_LIST_EXPIRED (exit 47), never a rejected request (46)', () => {
    const err = expired();
    expect(err.code).toBe('E_LIST_EXPIRED');
    expect(hookExitCode(err)).toBe(47);
    expect(HOOK_EXIT_CODES.E_API_REJECTED).toBe(46);
  });

  it('two expired continue tokens in a row: starts over from scratch each time (no token), the third read passes', async () => {
    const calls: (string | undefined)[] = [];
    const restarts: number[] = [];
    let expiries = 0;
    const r = await listAll(
      (t) => {
        calls.push(t);
        if (t === 'a' && expiries < 2) {
          expiries++;
          return Promise.reject(expired());
        }
        return Promise.resolve(t ? { items: [2] } : { items: [1], continueToken: 'a' });
      },
      { onRestart: (_err, attempt) => restarts.push(attempt) },
    );
    // Nothing of an expired read is kept: each read starts again at the first page.
    expect(r).toEqual([1, 2]);
    expect(calls).toEqual([undefined, 'a', undefined, 'a', undefined, 'a']);
    expect(restarts).toEqual([1, 2]);
  });

  it(`expiring on each of the ${LIST_ATTEMPTS} reads: E_LIST_EXPIRED saying so, after exactly ${LIST_ATTEMPTS} first pages`, async () => {
    let firstPages = 0;
    const err = await listAll((t) => {
      if (t) return Promise.reject(expired());
      firstPages++;
      return Promise.resolve({ items: [1], continueToken: 'a' });
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(HookError);
    expect((err as HookError).code).toBe('E_LIST_EXPIRED');
    expect((err as HookError).message).toContain(`expired on each of ${LIST_ATTEMPTS} reads from scratch (410 Gone)`);
    expect((err as HookError).details.status).toBe(410);
    expect(firstPages).toBe(LIST_ATTEMPTS);
  });

  it('other errors are not retried here (the client already did)', async () => {
    let calls = 0;
    const boom = new HookError('E_API_UNAVAILABLE', 'down', { status: 503 });
    await expect(
      listAll(() => {
        calls++;
        return Promise.reject(boom);
      }),
    ).rejects.toBe(boom);
    expect(calls).toBe(1);
  });
});
