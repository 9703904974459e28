import { describe, expect, it } from 'vitest';
import { HookError } from '../../hooks/src/errors.js';
import { listAll } from '../../hooks/src/k8s/pages.js';

describe('listAll', () => {
  it('follows continue tokens', async () => {
    const pages: Record<string, { items: number[]; continueToken?: string }> = {
      '': { items: [1, 2], continueToken: 'a' },
      a: { items: [3], continueToken: 'b' },
      b: { items: [4] },
    };
    expect(await listAll((t) => Promise.resolve(pages[t ?? ''] ?? { items: [] }))).toEqual([1, 2, 3, 4]);
  });

  it('starts over once when a continue token expired (410), then gives up', async () => {
    let calls = 0;
    const gone = new HookError('E_API_REJECTED', 'expired', { status: 410 });
    const r = await listAll((t) => {
      calls++;
      if (t === 'a' && calls === 2) return Promise.reject(gone);
      return Promise.resolve(t ? { items: [2] } : { items: [1], continueToken: 'a' });
    });
    expect(r).toEqual([1, 2]);
    expect(calls).toBe(4);
    await expect(
      listAll((t) => (t ? Promise.reject(gone) : Promise.resolve({ items: [1], continueToken: 'a' }))),
    ).rejects.toBe(gone);
  });
});
