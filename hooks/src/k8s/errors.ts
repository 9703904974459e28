/**
 * Maps what @kubernetes/client-node throws (ApiException with a numeric `code` and a JSON *string* body, or a network
 * error) to a HookError that names the request. Duck-typed so that this module stays free of client-node.
 */
import { HookError, HookErrorCodes, type HookErrorCode } from '../errors.js';

/** What a request was about; used in messages (403: "cannot list pods in namespace apps"). */
export interface RequestInfo {
  verb: string;
  /** Plural resource, with `/subresource` when any, e.g. `pods/eviction`. */
  resource: string;
  /** API group; '' for the core group. */
  group: string;
  namespace?: string | undefined;
  name?: string | undefined;
}

interface StatusBody {
  message?: string;
  reason?: string;
  details?: { retryAfterSeconds?: number };
}

function parseBody(body: unknown): StatusBody {
  if (typeof body === 'string') {
    try {
      const parsed: unknown = JSON.parse(body);
      return typeof parsed === 'object' && parsed !== null ? parsed : { message: body };
    } catch {
      return body ? { message: body.slice(0, 500) } : {};
    }
  }
  if (typeof body === 'object' && body !== null) return body;
  return {};
}

export function describeRequest(r: RequestInfo): string {
  const res = r.group ? `${r.resource}.${r.group}` : r.resource;
  const target = r.name ? `${res} "${r.name}"` : res;
  return r.namespace ? `${r.verb} ${target} in namespace "${r.namespace}"` : `${r.verb} ${target} (cluster-scoped)`;
}

/** An RBAC rule, in the form a Role/ClusterRole takes, that would allow the request. */
export function neededRule(r: RequestInfo): string {
  return `{apiGroups: ["${r.group}"], resources: ["${r.resource}"], verbs: ["${r.verb}"]}`;
}

const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
]);

export interface MappedError extends HookError {
  /** Seconds the server asked us to wait (Retry-After header or Status details). */
  retryAfterSeconds?: number;
}

function apiCodeToHookCode(status: number): HookErrorCode {
  if (status === 401) return HookErrorCodes.UNAUTHORIZED;
  if (status === 403) return HookErrorCodes.FORBIDDEN;
  if (status === 404) return HookErrorCodes.NOT_FOUND;
  if (status === 409) return HookErrorCodes.CONFLICT;
  if (status === 429) return HookErrorCodes.THROTTLED;
  // 410 Gone (reason Expired) answers only a list whose continue token (or resourceVersion) etcd compacted away;
  // pages.ts restarts such a list, and what still expires after that is its own failure, not a rejected request.
  if (status === 410) return HookErrorCodes.LIST_EXPIRED;
  if (status === 408 || status === 504) return HookErrorCodes.TIMEOUT;
  if (status >= 500) return HookErrorCodes.API_UNAVAILABLE;
  return HookErrorCodes.API_REJECTED;
}

export function mapApiError(err: unknown, req: RequestInfo): MappedError {
  if (err instanceof HookError) return err;
  const what = describeRequest(req);
  const base = {
    verb: req.verb,
    resource: req.group ? `${req.resource}.${req.group}` : req.resource,
    namespace: req.namespace,
    name: req.name,
  };
  if (typeof err === 'object' && err !== null && typeof (err as { code?: unknown }).code === 'number') {
    const e = err as { code: number; body?: unknown; headers?: Record<string, string> };
    const status = parseBody(e.body);
    const code = apiCodeToHookCode(e.code);
    const serverSaid = status.message ? `: ${status.message}` : '';
    let message: string;
    if (code === HookErrorCodes.FORBIDDEN) {
      message = `forbidden: cannot ${what}; the hook's ServiceAccount needs the RBAC rule ${neededRule(req)}${serverSaid}`;
    } else if (code === HookErrorCodes.UNAUTHORIZED) {
      message = `unauthorized: the API server rejected the credentials while trying to ${what}${serverSaid}`;
    } else {
      message = `HTTP ${e.code} ${status.reason ?? ''} while trying to ${what}${serverSaid}`.replace('  ', ' ');
      if (code === HookErrorCodes.NOT_FOUND && notFoundIsTransient(req))
        message += `; the API server does not serve ${base.resource} (is its API group installed and established?)`;
    }
    const mapped: MappedError = new HookError(
      code,
      message,
      { ...base, status: e.code, reason: status.reason },
      { cause: err },
    );
    const header = e.headers?.['retry-after'] ?? e.headers?.['Retry-After'];
    const retryAfter = header !== undefined ? Number(header) : status.details?.retryAfterSeconds;
    if (retryAfter !== undefined && Number.isFinite(retryAfter)) mapped.retryAfterSeconds = retryAfter;
    return mapped;
  }
  const sysCode = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  const causeCode =
    err instanceof Error && typeof err.cause === 'object' && err.cause !== null
      ? (err.cause as { code?: unknown }).code
      : undefined;
  const netCode = typeof sysCode === 'string' ? sysCode : typeof causeCode === 'string' ? causeCode : undefined;
  const msg = err instanceof Error ? err.message : String(err);
  if ((netCode !== undefined && NETWORK_CODES.has(netCode)) || (err instanceof Error && err.name === 'FetchError')) {
    return new HookError(HookErrorCodes.API_UNAVAILABLE, `cannot reach the API server to ${what}: ${msg}`, base, {
      cause: err,
    });
  }
  return new HookError(HookErrorCodes.INTERNAL, `unexpected error while trying to ${what}: ${msg}`, base, {
    cause: err,
  });
}

/**
 * Whether a 404 for this request may be transient, i.e. worth the bounded retries. A 404 on a GET, PATCH or eviction
 * of a *named* object is an answer (the object does not exist) and is never retried. A 404 on a LIST of a resource
 * type means the API server does not serve that type at that path (yet): a CRD that just became Established while
 * discovery and the handler lag behind, an aggregated API server that is starting. That can clear within seconds, so
 * it gets the same bounded retries as 409/429/5xx before it ends the program with exit 42.
 */
export function notFoundIsTransient(req: RequestInfo): boolean {
  return req.verb === 'list' && req.name === undefined;
}

/** Transient failures worth retrying. 404 is opt-in per call (see notFoundIsTransient). */
export function isRetryable(err: HookError, retryNotFound = false): boolean {
  switch (err.code) {
    case HookErrorCodes.CONFLICT:
    case HookErrorCodes.THROTTLED:
    case HookErrorCodes.API_UNAVAILABLE:
    case HookErrorCodes.TIMEOUT:
      return true;
    case HookErrorCodes.NOT_FOUND:
      return retryNotFound;
    default:
      return false;
  }
}
