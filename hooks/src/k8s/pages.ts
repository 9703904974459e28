import { HookError } from '../errors.js';
import type { Page } from './types.js';

/**
 * Reads every page of a list. A continue token can expire (410 Gone) while a large list is read: the list then
 * starts over once, as the API server asks. `maxItems` bounds memory for pathological namespaces.
 */
export async function listAll<T>(
  fetchPage: (continueToken: string | undefined) => Promise<Page<T>>,
  maxItems = 100_000,
): Promise<T[]> {
  for (let restart = 0; ; restart++) {
    const out: T[] = [];
    let token: string | undefined;
    try {
      do {
        const p = await fetchPage(token);
        out.push(...p.items);
        token = p.continueToken;
      } while (token && out.length < maxItems);
      return out;
    } catch (err) {
      const expired = err instanceof HookError && err.details.status === 410 && token !== undefined;
      if (!expired || restart >= 1) throw err;
    }
  }
}
