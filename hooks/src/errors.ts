/**
 * The hook programs' error codes and exit codes: a view of the one registry in core/errors.ts (docs/adr/0008). The
 * hooks' exit-code contract (hooks/README.md, read by the chart and by operators from `kubectl get pods`) is the
 * part of that registry listed here; the numbers live there only.
 */
import { ErrorCodes, EXIT_CODES, exitCodeFor, formatError, HelmTiersError } from '../../core/errors.js';

export const HookErrorCodes = {
  USAGE: ErrorCodes.USAGE,
  CRD_MISSING: ErrorCodes.CRD_MISSING,
  CRD_NOT_READY: ErrorCodes.CRD_NOT_READY,
  CRD_VERSION_NOT_SERVED: ErrorCodes.CRD_VERSION_NOT_SERVED,
  CRD_MANIFEST: ErrorCodes.CRD_MANIFEST,
  CRD_INSTALL_FAILED: ErrorCodes.CRD_INSTALL_FAILED,
  DEPENDENCY_NOT_READY: ErrorCodes.DEPENDENCY_NOT_READY,
  DEPENDENCY_FAILED: ErrorCodes.DEPENDENCY_FAILED,
  SERVICE_MISSING: ErrorCodes.SERVICE_MISSING,
  PODS_UNHEALTHY: ErrorCodes.PODS_UNHEALTHY,
  FORBIDDEN: ErrorCodes.FORBIDDEN,
  UNAUTHORIZED: ErrorCodes.UNAUTHORIZED,
  NOT_FOUND: ErrorCodes.NOT_FOUND,
  CONFLICT: ErrorCodes.API_CONFLICT,
  THROTTLED: ErrorCodes.API_THROTTLED,
  API_UNAVAILABLE: ErrorCodes.API_UNAVAILABLE,
  API_REJECTED: ErrorCodes.API_REJECTED,
  LIST_EXPIRED: ErrorCodes.LIST_EXPIRED,
  TIMEOUT: ErrorCodes.TIMEOUT,
  TERMINATED: ErrorCodes.TERMINATED,
  CONFIG: ErrorCodes.KUBECONFIG,
  INTERNAL: ErrorCodes.INTERNAL,
} as const;

export type HookErrorCode = (typeof HookErrorCodes)[keyof typeof HookErrorCodes];

/** The hooks' exit codes (hooks/README.md), read from EXIT_CODES: distinct per failure class, stable. */
export const HOOK_EXIT_CODES: Readonly<Record<HookErrorCode, number>> = Object.fromEntries(
  Object.values(HookErrorCodes).map((code) => [code, EXIT_CODES[code]]),
) as Record<HookErrorCode, number>;

export interface HookErrorDetails {
  /** Kubernetes verb of the failed request (get, list, patch, create, ...). */
  verb?: string | undefined;
  /** `resource` or `resource/subresource` with its API group, e.g. `deployments.apps`, `pods/eviction`. */
  resource?: string | undefined;
  namespace?: string | undefined;
  name?: string | undefined;
  /** HTTP status, when the error came from the API server. */
  status?: number | undefined;
  /** `reason` of the Kubernetes Status body. */
  reason?: string | undefined;
}

/** A HelmTiersError with the failed Kubernetes request's details instead of a source location. */
export class HookError extends HelmTiersError<HookErrorCode> {
  override readonly name: string = 'HookError';
  constructor(
    code: HookErrorCode,
    message: string,
    readonly details: HookErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(code, message, {}, options);
  }
}

/** The registry's exit code (core/errors.ts `exitCodeFor`): untyped errors exit 70. */
export const hookExitCode: (err: unknown) => number = exitCodeFor;

/** `<program>: <code>: <message>`, the one format of core/errors.ts (a hook error has no source location). */
export function formatHookError(err: unknown, program: string): string {
  return formatError(err, program);
}
