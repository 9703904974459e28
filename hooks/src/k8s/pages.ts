import type { Page } from './types.js';

/** Reads every page of a list. `maxItems` bounds memory for pathological namespaces. */
export async function listAll<T>(
  fetchPage: (continueToken: string | undefined) => Promise<Page<T>>,
  maxItems = 100_000,
): Promise<T[]> {
  const out: T[] = [];
  let token: string | undefined;
  do {
    const p = await fetchPage(token);
    out.push(...p.items);
    token = p.continueToken;
  } while (token && out.length < maxItems);
  return out;
}
