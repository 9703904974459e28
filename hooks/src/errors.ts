/**
 * Typed errors and exit codes of the hook programs. Kept apart from core/errors.ts because the hooks have their own,
 * documented exit-code contract (hooks/README.md) that the chart and operators read from `kubectl get pods`.
 */

export const HookErrorCodes = {
  USAGE: 'E_USAGE',
  CRD_MISSING: 'E_CRD_MISSING',
  CRD_NOT_READY: 'E_CRD_NOT_READY',
  CRD_VERSION_NOT_SERVED: 'E_CRD_VERSION_NOT_SERVED',
  CRD_MANIFEST: 'E_CRD_MANIFEST',
  CRD_INSTALL_FAILED: 'E_CRD_INSTALL_FAILED',
  DEPENDENCY_NOT_READY: 'E_DEPENDENCY_NOT_READY',
  DEPENDENCY_FAILED: 'E_DEPENDENCY_FAILED',
  SERVICE_MISSING: 'E_SERVICE_MISSING',
  PODS_UNHEALTHY: 'E_PODS_UNHEALTHY',
  FORBIDDEN: 'E_FORBIDDEN',
  UNAUTHORIZED: 'E_UNAUTHORIZED',
  NOT_FOUND: 'E_NOT_FOUND',
  CONFLICT: 'E_API_CONFLICT',
  THROTTLED: 'E_API_THROTTLED',
  API_UNAVAILABLE: 'E_API_UNAVAILABLE',
  API_REJECTED: 'E_API_REJECTED',
  TIMEOUT: 'E_TIMEOUT',
  TERMINATED: 'E_TERMINATED',
  CONFIG: 'E_KUBECONFIG',
  INTERNAL: 'E_INTERNAL',
} as const;

export type HookErrorCode = (typeof HookErrorCodes)[keyof typeof HookErrorCodes];

/** The exit-code contract (documented in hooks/README.md). Distinct per failure class; stable across releases. */
export const HOOK_EXIT_CODES: Readonly<Record<HookErrorCode, number>> = {
  E_USAGE: 64,
  E_CRD_MISSING: 10,
  E_CRD_NOT_READY: 11,
  E_CRD_VERSION_NOT_SERVED: 12,
  E_CRD_MANIFEST: 13,
  E_CRD_INSTALL_FAILED: 14,
  E_DEPENDENCY_NOT_READY: 20,
  E_DEPENDENCY_FAILED: 21,
  E_SERVICE_MISSING: 22,
  E_PODS_UNHEALTHY: 30,
  E_FORBIDDEN: 40,
  E_UNAUTHORIZED: 41,
  E_NOT_FOUND: 42,
  E_API_CONFLICT: 43,
  E_API_THROTTLED: 44,
  E_API_UNAVAILABLE: 45,
  E_API_REJECTED: 46,
  E_TIMEOUT: 50,
  E_KUBECONFIG: 51,
  E_TERMINATED: 143,
  E_INTERNAL: 70,
};

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

export class HookError extends Error {
  override readonly name = 'HookError';
  constructor(
    readonly code: HookErrorCode,
    message: string,
    readonly details: HookErrorDetails = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function hookExitCode(err: unknown): number {
  return err instanceof HookError ? HOOK_EXIT_CODES[err.code] : HOOK_EXIT_CODES.E_INTERNAL;
}

export function formatHookError(err: unknown, program: string): string {
  if (err instanceof HookError) return `${program}: ${err.code}: ${err.message}`;
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return `${program}: ${HookErrorCodes.INTERNAL}: unexpected error (a bug; please report it): ${detail}`;
}
