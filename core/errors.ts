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

export const ErrorCodes = {
  /** Bad command line. */
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
  /** The post-renderer would write nothing. */
  /** Reading stdin or writing stdout failed. */
  IO: 'E_IO',
  /** An external tool (helm, kubectl) failed. */
  TOOL: 'E_TOOL',
  /** Anything unexpected: a bug. */
  INTERNAL: 'E_INTERNAL',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export class HelmTiersError extends Error {
  override readonly name = 'HelmTiersError';
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly location: SourceLocation = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

const EXIT_CODES: Record<ErrorCode, number> = {
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
  E_INTERNAL: 70,
};

export function exitCodeFor(err: unknown): number {
  return err instanceof HelmTiersError ? EXIT_CODES[err.code] : EXIT_CODES.E_INTERNAL;
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
    const where = formatLocation(err.location);
    return `${program}: ${err.code}: ${where ? `${where}: ` : ''}${err.message}`;
  }
  const detail = err instanceof Error ? (err.stack ?? err.message) : String(err);
  return `${program}: ${ErrorCodes.INTERNAL}: unexpected error (a bug; please report it): ${detail}`;
}
