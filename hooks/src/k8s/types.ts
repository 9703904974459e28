/**
 * The minimal shapes of the Kubernetes objects the hooks read. Structural on purpose: client-node's models satisfy
 * them, and unit tests build fixtures as plain JSON. Timestamps arrive as Date from client-node and as strings from
 * JSON fixtures, so both are accepted (see `toMillis`).
 */

export type Timestamp = Date | string;

export interface OwnerReference {
  apiVersion?: string;
  kind: string;
  name: string;
  uid?: string;
  controller?: boolean;
}

export interface ObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: Timestamp;
  deletionTimestamp?: Timestamp;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  /** Server-side apply bookkeeping: who manages which fields (read for messages only). */
  managedFields?: { manager?: string; operation?: string; subresource?: string }[];
}

export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: Timestamp;
}

export interface ContainerStateWaiting {
  reason?: string;
  message?: string;
}
export interface ContainerStateTerminated {
  reason?: string;
  message?: string;
  exitCode: number;
  signal?: number;
  startedAt?: Timestamp;
  finishedAt?: Timestamp;
}
export interface ContainerState {
  waiting?: ContainerStateWaiting;
  running?: { startedAt?: Timestamp };
  terminated?: ContainerStateTerminated;
}
export interface ContainerStatus {
  name: string;
  ready: boolean;
  started?: boolean;
  restartCount: number;
  image?: string;
  state?: ContainerState;
  lastState?: ContainerState;
}

export interface Probe {
  httpGet?: unknown;
  tcpSocket?: unknown;
  exec?: unknown;
  grpc?: unknown;
}
export interface Container {
  name: string;
  image?: string;
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  startupProbe?: Probe;
}

export interface Pod {
  metadata?: ObjectMeta;
  spec?: { nodeName?: string; containers: Container[]; initContainers?: Container[] };
  status?: {
    phase?: string;
    reason?: string;
    message?: string;
    conditions?: Condition[];
    containerStatuses?: ContainerStatus[];
    initContainerStatuses?: ContainerStatus[];
    startTime?: Timestamp;
  };
}

/** Deployments, StatefulSets, DaemonSets, ReplicaSets, Jobs and PVCs, read through a common loose shape. */
export interface Workload {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: Record<string, unknown>;
  status?: Record<string, unknown> & { conditions?: Condition[] };
}

export interface CrdVersion {
  name: string;
  served: boolean;
  storage: boolean;
}
export interface Crd {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  spec?: { group: string; names: { plural: string; kind: string }; versions: CrdVersion[]; scope?: string };
  status?: { conditions?: Condition[]; storedVersions?: string[] };
}

export interface KubeEvent {
  type?: string;
  reason?: string;
  message?: string;
  count?: number;
  lastTimestamp?: Timestamp;
  eventTime?: Timestamp;
  firstTimestamp?: Timestamp;
  metadata?: ObjectMeta;
}

export interface Page<T> {
  items: T[];
  continueToken?: string | undefined;
}

export function toMillis(t: Timestamp | undefined): number | undefined {
  if (t === undefined) return undefined;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}
