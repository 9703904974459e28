import { HookError, HookErrorCodes } from '../errors.js';
import type { Page } from './types.js';

/**
 * How many times one list is read from scratch before a 410 ends it: the first read and two restarts. A continue token
 * expires (410 Gone, reason Expired) when etcd compacts past the snapshot of the list's first page (every 5 min by
 * default), so one expiry is bad luck and a second one in a row rare; a third means the server compacts faster than
 * the list can be read, and trying on would only spend the deadline.
 */
export const LIST_ATTEMPTS = 3;

export interface ListAllOptions {
  /** Bounds memory for pathological namespaces. */
  maxItems?: number;
  /** Called before each restart, with the 410 that caused it (for a log line). */
  onRestart?: (err: HookError, attempt: number) => void;
}

/**
 * Reads every page of a list. When a page answers 410 (its continue token expired) the list starts over from
 * scratch: no continue token and no resourceVersion, so the first page is again a consistent read of the latest
 * state (never the expired list's resourceVersion, which is compacted too and would only expire again), and the
 * pages already read are dropped rather than mixed with a newer snapshot. client-go's pager does the same once, but
 * as one unpaginated list; the hooks keep their pages (a Job's memory is small and a release may have thousands of
 * pods) and restart at most LIST_ATTEMPTS - 1 times instead. Still expiring: E_LIST_EXPIRED (exit 47).
 */
export async function listAll<T>(
  fetchPage: (continueToken: string | undefined) => Promise<Page<T>>,
  opts: ListAllOptions = {},
): Promise<T[]> {
  const maxItems = opts.maxItems ?? 100_000;
  for (let attempt = 1; ; attempt++) {
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
      if (!(err instanceof HookError && err.code === HookErrorCodes.LIST_EXPIRED)) throw err;
      if (attempt >= LIST_ATTEMPTS)
        throw new HookError(
          HookErrorCodes.LIST_EXPIRED,
          `${err.message}; the list expired on each of ${LIST_ATTEMPTS} reads from scratch (410 Gone): the API server compacts its storage faster than the list can be read (etcd compaction interval, API server load)`,
          err.details,
          { cause: err },
        );
      opts.onRestart?.(err, attempt);
    }
  }
}
