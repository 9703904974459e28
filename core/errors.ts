/**
 * Typed errors shared by every helm-tiers program. Code paths throw `HelmTiersError` with a stable `code`;
 * one place (`exitCodeFor`, `formatError`) turns them into exit codes and messages. Tests match codes.
 */

/** Where in the user's input the problem is. Lines and columns are 1-based. */
export interface SourceLocation {
  /** File name: a plan path, Helm's `# Source:` path or the Helm 4 `postrender-filename` annotation. */
  file?: string | undefined;
  /** 1-based index of the YAML document in the stream. */
  document?: number | undefined;
  line?: number | undefined;
  column?: number | undefined;
  /** Dotted field path, e.g. `metadata.labels`. */
  field?: string | undefined;
}

/**
 * Every error code of every helm-tiers program: the CLI and the post-renderer (`E_USAGE` … `E_INTERNAL`) and the
 * hook programs (hooks/src/errors.ts names them `HookErrorCodes`). One namespace, so that one registry below maps
 * them all to exit codes.
 */
export const ErrorCodes = {
  /** Bad command line (or, for a hook, a bad flag or environment value). */
  USAGE: 'E_USAGE',
  /** The plan file cannot be read or is invalid. */
  PLAN_INVALID: 'E_PLAN_INVALID',
  /** The release named on the command line is not in the plan. */
  PLAN_UNKNOWN_RELEASE: 'E_PLAN_UNKNOWN_RELEASE',
  /** The post-renderer got no documents. */
  INPUT_EMPTY: 'E_INPUT_EMPTY',
  /** The input is not valid YAML. */
  INPUT_YAML: 'E_INPUT_YAML',
  /** A document is not a Kubernetes object (a mapping with apiVersion, kind and metadata). */
  INPUT_NOT_OBJECT: 'E_INPUT_NOT_OBJECT',
  /** A field we must write into has the wrong type (e.g. `metadata.labels` is a list). */
  INPUT_FIELD_TYPE: 'E_INPUT_FIELD_TYPE',
  /** An object already carries a different value for one of our keys and the conflict policy is `error`. */
  CONFLICT: 'E_CONFLICT',
  /** Reading stdin or writing stdout failed. */
  IO: 'E_IO',
  /** An external tool (helm, kubectl) failed. */
  TOOL: 'E_TOOL',
  /** Anything unexpected: a bug. */
  INTERNAL: 'E_INTERNAL',
  /** `helm-tiers deploy`: a release failed (its dependents were not started). */
  DEPLOY_FAILED: 'E_DEPLOY_FAILED',
  /** `helm-tiers deploy`: nothing failed, but a release was not started (a dependency outside --only not Ready). */
  DEPLOY_BLOCKED: 'E_DEPLOY_BLOCKED',
  /** `helm-tiers status`: a release of the plan is not Ready at the plan's revision. */
  NOT_READY: 'E_NOT_READY',
  // The hook programs (hooks/README.md): CRDs, dependencies, pods, the Kubernetes API, deadlines.
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
  API_CONFLICT: 'E_API_CONFLICT',
  API_THROTTLED: 'E_API_THROTTLED',
  API_UNAVAILABLE: 'E_API_UNAVAILABLE',
  API_REJECTED: 'E_API_REJECTED',
  /** A paginated list kept expiring (410 Gone) after the bounded restarts from scratch (hooks/src/k8s/pages.ts). */
  LIST_EXPIRED: 'E_LIST_EXPIRED',
  TIMEOUT: 'E_TIMEOUT',
  TERMINATED: 'E_TERMINATED',
  KUBECONFIG: 'E_KUBECONFIG',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class HelmTiersError<C extends ErrorCode = ErrorCode> extends Error {
  override readonly name: string = 'HelmTiersError';
  constructor(
    readonly code: C,
    message: string,
    readonly location: SourceLocation = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** What an error nobody typed exits with (EX_SOFTWARE). */
export const INTERNAL_EXIT_CODE = 70;

/**
 * THE error-to-exit-code registry of every entry point (docs/adr/0008). Documented in README.md (CLI and
 * post-renderer) and hooks/README.md (hooks); tests match these numbers, so a value never changes.
 */
export const EXIT_CODES: Readonly<Record<ErrorCode, number>> = {
  E_USAGE: 64, // EX_USAGE
  E_PLAN_INVALID: 65, // EX_DATAERR
  E_PLAN_UNKNOWN_RELEASE: 65,
  E_INPUT_EMPTY: 66, // EX_NOINPUT
  E_INPUT_YAML: 65,
  E_INPUT_NOT_OBJECT: 65,
  E_INPUT_FIELD_TYPE: 65,
  E_CONFLICT: 65,
  E_IO: 74, // EX_IOERR
  E_TOOL: 69, // EX_UNAVAILABLE
  E_INTERNAL: INTERNAL_EXIT_CODE,
  E_DEPLOY_FAILED: 2,
  E_DEPLOY_BLOCKED: 3,
  E_NOT_READY: 4,
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
  E_LIST_EXPIRED: 47,
  E_TIMEOUT: 50,
  E_KUBECONFIG: 51,
  E_TERMINATED: 143, // 128 + SIGTERM
};

/** The exit code of `err`: its code's entry in EXIT_CODES; anything untyped (a bug) exits 70. */
export function exitCodeFor(err: unknown): number {
  if (!(err instanceof HelmTiersError)) return INTERNAL_EXIT_CODE;
  // A code from a newer or older copy of this module (two bundles in one process) is not in this registry: a bug.
  const { code } = err as HelmTiersError;
  return Object.hasOwn(EXIT_CODES, code) ? EXIT_CODES[code] : INTERNAL_EXIT_CODE;
}

/** `file: document 3, line 7, column 5, field metadata.labels` — only the parts that are known. */
export function formatLocation(loc: SourceLocation): string {
  const parts: string[] = [];
  if (loc.document !== undefined) parts.push(`document ${loc.document}`);
  if (loc.line !== undefined) parts.push(`line ${loc.line}`);
  if (loc.column !== undefined) parts.push(`column ${loc.column}`);
  if (loc.field !== undefined) parts.push(`field ${loc.field}`);
  const where = parts.join(', ');
  if (loc.file !== undefined) return where ? `${loc.file}: ${where}` : loc.file;
  return where;
}

/** One-line diagnostic: `helm-tiers: E_INPUT_YAML: templates/cm.yaml: document 2, line 4, column 3: message`. */
export function formatError(err: unknown, program = 'helm-tiers'): string {
  if (err instanceof HelmTiersError) {
    const { code, location, message } = err as HelmTiersError;
    const where = formatLocation(location);
    return `${program}: ${code}: ${where ? `${where}: ` : ''}${message}`;
  }
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return `${program}: ${ErrorCodes.INTERNAL}: unexpected error (a bug; please report it): ${detail}`;
}
