/** Bounded retries with exponential backoff and jitter, honouring Retry-After and the overall deadline. */
import { HookError, HookErrorCodes } from '../errors.js';
import type { Deadline } from './clock.js';
import { isRetryable, mapApiError, notFoundIsTransient, type MappedError, type RequestInfo } from './errors.js';

export interface RetryOptions {
  attempts: number;
  baseMs: number;
  maxMs: number;
  /** Per-attempt timeout; also capped by the deadline. */
  requestTimeoutMs: number;
  retryNotFound?: boolean;
}

export const DEFAULT_RETRY: RetryOptions = { attempts: 5, baseMs: 250, maxMs: 8000, requestTimeoutMs: 30_000 };

export function backoffMs(attempt: number, opts: Pick<RetryOptions, 'baseMs' | 'maxMs'>, random: number): number {
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** attempt);
  // "Equal jitter": half the exponential step is fixed, half random, so waits grow steadily but never line up.
  return Math.floor(ceiling / 2 + (ceiling / 2) * random);
}

function withTimeout<T>(p: Promise<T>, ms: number, deadline: Deadline, req: RequestInfo): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(
        new HookError(HookErrorCodes.TERMINATED, 'terminated while waiting for the API server', {
          verb: req.verb,
          resource: req.resource,
        }),
      );
    };
    const timer = setTimeout(() => {
      deadline.signal.removeEventListener('abort', onAbort);
      reject(
        new HookError(HookErrorCodes.TIMEOUT, `no answer within ${Math.round(ms / 1000)} s`, {
          verb: req.verb,
          resource: req.resource,
        }),
      );
    }, ms);
    deadline.signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        clearTimeout(timer);
        deadline.signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        deadline.signal.removeEventListener('abort', onAbort);
        reject(e instanceof Error ? e : new Error(String(e)));
      },
    );
  });
}

export interface RetryHooks {
  onRetry?: (err: HookError, attempt: number, waitMs: number) => void;
  /** Counts API calls (benchmarks and tests read it). */
  onCall?: (req: RequestInfo) => void;
}

export async function callWithRetry<T>(
  req: RequestInfo,
  op: () => Promise<T>,
  deadline: Deadline,
  opts: RetryOptions = DEFAULT_RETRY,
  hooks: RetryHooks = {},
): Promise<T> {
  let last: MappedError | undefined;
  for (let attempt = 0; attempt < opts.attempts; attempt++) {
    if (deadline.signal.aborted)
      throw new HookError(HookErrorCodes.TERMINATED, 'terminated', { verb: req.verb, resource: req.resource });
    const remaining = deadline.remaining();
    if (remaining <= 0) break;
    hooks.onCall?.(req);
    try {
      return await withTimeout(op(), Math.min(opts.requestTimeoutMs, remaining), deadline, req);
    } catch (err) {
      last = mapApiError(err, req);
      if (
        last.code === HookErrorCodes.TERMINATED ||
        // 404 is retried on LISTs (the resource type is not served yet), never on a named object, unless told.
        !isRetryable(last, opts.retryNotFound ?? notFoundIsTransient(req)) ||
        attempt === opts.attempts - 1
      )
        throw last;
      const serverWait = last.retryAfterSeconds !== undefined ? last.retryAfterSeconds * 1000 : 0;
      const wait = Math.max(serverWait, backoffMs(attempt, opts, deadline.clock.random()));
      if (wait >= deadline.remaining()) throw last;
      hooks.onRetry?.(last, attempt + 1, wait);
      await deadline.sleep(wait);
    }
  }
  throw (
    last ??
    new HookError(HookErrorCodes.TIMEOUT, `deadline reached before trying to ${req.verb} ${req.resource}`, {
      verb: req.verb,
      resource: req.resource,
    })
  );
}
