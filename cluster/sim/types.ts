// Shared shapes of the simulated API server. Objects are plain JSON (what the wire carries), never typed structs:
// the simulator must round-trip fields it does not know about, like the real apiserver does for unknown CR fields.
export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };
export type Obj = Record<string, any>;

export interface ResourceType {
  group: string; // '' for core
  version: string;
  resource: string; // plural
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  verbs: string[];
  subresources: string[]; // 'status', 'log', 'eviction', 'scale'
  crd?: boolean;
  /** every version the group serves for this resource (CRDs may list several) */
  versions?: string[];
  printerColumns?: { name: string; type: string; jsonPath: string; description?: string; priority?: number }[];
}

export interface KubeUser {
  name: string;
  groups: string[];
}

export class ApiError extends Error {
  constructor(
    public readonly code: number,
    public readonly reason: string,
    message: string,
    public readonly details?: Obj,
  ) {
    super(message);
  }
  status(): Obj {
    return {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: this.message,
      reason: this.reason,
      ...(this.details ? { details: this.details } : {}),
      code: this.code,
    };
  }
}

/** "pods" for core, "deployments.apps" otherwise: how the apiserver names a resource in error messages. */
export function qualifiedResource(rt: { group: string; resource: string }): string {
  return rt.group ? `${rt.resource}.${rt.group}` : rt.resource;
}

export function notFound(rt: { group: string; resource: string }, name: string): ApiError {
  return new ApiError(404, 'NotFound', `${qualifiedResource(rt)} "${name}" not found`, {
    name,
    ...(rt.group ? { group: rt.group } : {}),
    kind: rt.resource,
  });
}

export function alreadyExists(rt: { group: string; resource: string }, name: string): ApiError {
  return new ApiError(409, 'AlreadyExists', `${qualifiedResource(rt)} "${name}" already exists`, {
    name,
    ...(rt.group ? { group: rt.group } : {}),
    kind: rt.resource,
  });
}

export function conflict(rt: { group: string; resource: string }, name: string): ApiError {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualifiedResource(rt)} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, ...(rt.group ? { group: rt.group } : {}), kind: rt.resource },
  );
}

export function invalid(
  rt: { group: string; kind: string },
  name: string,
  causes: { field: string; reason: string; message: string }[],
): ApiError {
  const kindQ = rt.group ? `${rt.kind}.${rt.group}` : rt.kind;
  const msgs = causes.map((c) => `${c.field}: ${c.message}`);
  const text = msgs.length === 1 ? msgs[0] : `[${msgs.join(', ')}]`;
  return new ApiError(422, 'Invalid', `${kindQ} "${name}" is invalid: ${text}`, {
    name,
    ...(rt.group ? { group: rt.group } : {}),
    kind: rt.kind,
    causes: causes.map((c) => ({ reason: c.reason, message: c.message, field: c.field })),
  });
}

export function badRequest(message: string): ApiError {
  return new ApiError(400, 'BadRequest', message);
}

export function clone<T>(o: T): T {
  return structuredClone(o);
}

/** Where fixtures/ (TLS certificate, chart, hook) live; SIM_CLUSTER_FIXTURES overrides it for bundled CLIs. */
export function fixturesDir(): URL {
  const env = process.env.SIM_CLUSTER_FIXTURES;
  return env ? new URL(`file://${env.endsWith('/') ? env : `${env}/`}`) : new URL('./fixtures/', import.meta.url);
}
