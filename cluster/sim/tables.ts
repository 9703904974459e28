// Server-side printing (meta.k8s.io/v1 Table), which kubectl get asks for: the columns real kubectl users see.
import type { Obj, ResourceType } from './types.js';

type Col = { name: string; type: string; format?: string; priority?: number; description?: string };

export function humanAge(ts: string | undefined): string {
  if (!ts) return '<unknown>';
  const s = Math.max(0, Math.floor((Date.now() - Date.parse(ts)) / 1000));
  if (s < 120) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 10) return `${m}m${s % 60 ? `${s % 60}s` : ''}`;
  if (m < 180) return `${m}m`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h`;
  return `${Math.floor(h / 24)}d`;
}

export function podStatusReason(p: Obj): string {
  if (p.metadata?.deletionTimestamp) return 'Terminating';
  let reason: string = p.status?.reason ?? p.status?.phase ?? 'Pending';
  for (const c of (p.status?.initContainerStatuses ?? []) as Obj[]) {
    if (c.state?.terminated?.exitCode === 0) continue;
    if (c.state?.waiting?.reason && c.state.waiting.reason !== 'PodInitializing')
      return `Init:${c.state.waiting.reason}`;
  }
  for (const c of [...(p.status?.containerStatuses ?? [])].reverse() as Obj[]) {
    if (c.state?.waiting?.reason) reason = c.state.waiting.reason;
    else if (c.state?.terminated?.reason) reason = c.state.terminated.reason;
  }
  if (reason === 'Pending' && (p.status?.conditions ?? []).some((c: Obj) => c.reason === 'Unschedulable'))
    return 'Pending';
  return reason;
}

function jsonPath(o: Obj, path: string): unknown {
  const segs = path.replace(/^\./, '').split('.');
  let cur: any = o;
  for (const s of segs) {
    const m = /^(\w[\w-]*)(?:\[(\d+)\])?$/.exec(s);
    if (!m || cur == null) return undefined;
    cur = cur[m[1]!];
    if (m[2] !== undefined && Array.isArray(cur)) cur = cur[Number(m[2])];
  }
  return cur;
}

function spec(rt: ResourceType): { cols: Col[]; row: (o: Obj) => unknown[] } {
  const name: Col = {
    name: 'Name',
    type: 'string',
    format: 'name',
    description: 'Name must be unique within a namespace.',
  };
  const age: Col = { name: 'Age', type: 'string', description: 'CreationTimestamp' };
  const key = `${rt.group}/${rt.resource}`;
  switch (key) {
    case '/pods':
      return {
        cols: [
          name,
          { name: 'Ready', type: 'string' },
          { name: 'Status', type: 'string' },
          { name: 'Restarts', type: 'string' },
          age,
          { name: 'IP', type: 'string', priority: 1 },
          { name: 'Node', type: 'string', priority: 1 },
          { name: 'Nominated Node', type: 'string', priority: 1 },
          { name: 'Readiness Gates', type: 'string', priority: 1 },
        ],
        row: (p) => {
          const cs: Obj[] = p.status?.containerStatuses ?? [];
          const total = (p.spec?.containers ?? []).length;
          const ready = cs.filter((c) => c.ready).length;
          const restarts = cs.reduce((n, c) => n + Number(c.restartCount ?? 0), 0);
          return [
            p.metadata.name,
            `${ready}/${total}`,
            podStatusReason(p),
            String(restarts),
            humanAge(p.metadata.creationTimestamp),
            p.status?.podIP ?? '<none>',
            p.spec?.nodeName ?? '<none>',
            '<none>',
            '<none>',
          ];
        },
      };
    case 'apps/deployments':
      return {
        cols: [
          name,
          { name: 'Ready', type: 'string' },
          { name: 'Up-to-date', type: 'integer' },
          { name: 'Available', type: 'integer' },
          age,
        ],
        row: (d) => [
          d.metadata.name,
          `${d.status?.readyReplicas ?? 0}/${d.spec?.replicas ?? 1}`,
          d.status?.updatedReplicas ?? 0,
          d.status?.availableReplicas ?? 0,
          humanAge(d.metadata.creationTimestamp),
        ],
      };
    case 'apps/replicasets':
      return {
        cols: [
          name,
          { name: 'Desired', type: 'integer' },
          { name: 'Current', type: 'integer' },
          { name: 'Ready', type: 'integer' },
          age,
        ],
        row: (r) => [
          r.metadata.name,
          r.spec?.replicas ?? 0,
          r.status?.replicas ?? 0,
          r.status?.readyReplicas ?? 0,
          humanAge(r.metadata.creationTimestamp),
        ],
      };
    case 'apps/statefulsets':
      return {
        cols: [name, { name: 'Ready', type: 'string' }, age],
        row: (r) => [
          r.metadata.name,
          `${r.status?.readyReplicas ?? 0}/${r.spec?.replicas ?? 1}`,
          humanAge(r.metadata.creationTimestamp),
        ],
      };
    case 'apps/daemonsets':
      return {
        cols: [
          name,
          { name: 'Desired', type: 'integer' },
          { name: 'Current', type: 'integer' },
          { name: 'Ready', type: 'integer' },
          { name: 'Up-to-date', type: 'integer' },
          { name: 'Available', type: 'integer' },
          { name: 'Node Selector', type: 'string' },
          age,
        ],
        row: (r) => [
          r.metadata.name,
          r.status?.desiredNumberScheduled ?? 0,
          r.status?.currentNumberScheduled ?? 0,
          r.status?.numberReady ?? 0,
          r.status?.updatedNumberScheduled ?? 0,
          r.status?.numberAvailable ?? 0,
          '<none>',
          humanAge(r.metadata.creationTimestamp),
        ],
      };
    case 'batch/jobs':
      return {
        cols: [
          name,
          { name: 'Status', type: 'string' },
          { name: 'Completions', type: 'string' },
          { name: 'Duration', type: 'string' },
          age,
        ],
        row: (j) => {
          const conds: Obj[] = j.status?.conditions ?? [];
          const st = conds.find((c) => c.type === 'Complete' && c.status === 'True')
            ? 'Complete'
            : conds.find((c) => c.type === 'Failed' && c.status === 'True')
              ? 'Failed'
              : 'Running';
          const end = j.status?.completionTime ? Date.parse(j.status.completionTime) : Date.now();
          const dur = j.status?.startTime
            ? `${Math.max(0, Math.round((end - Date.parse(j.status.startTime)) / 1000))}s`
            : '';
          return [
            j.metadata.name,
            st,
            `${j.status?.succeeded ?? 0}/${j.spec?.completions ?? 1}`,
            dur,
            humanAge(j.metadata.creationTimestamp),
          ];
        },
      };
    case '/services':
      return {
        cols: [
          name,
          { name: 'Type', type: 'string' },
          { name: 'Cluster-IP', type: 'string' },
          { name: 'External-IP', type: 'string' },
          { name: 'Port(s)', type: 'string' },
          age,
        ],
        row: (s) => [
          s.metadata.name,
          s.spec?.type ?? 'ClusterIP',
          s.spec?.clusterIP ?? '<none>',
          '<none>',
          (s.spec?.ports ?? []).map((p: Obj) => `${p.port}/${p.protocol ?? 'TCP'}`).join(',') || '<none>',
          humanAge(s.metadata.creationTimestamp),
        ],
      };
    case '/namespaces':
      return {
        cols: [name, { name: 'Status', type: 'string' }, age],
        row: (n) => [n.metadata.name, n.status?.phase ?? 'Active', humanAge(n.metadata.creationTimestamp)],
      };
    case '/persistentvolumeclaims':
      return {
        cols: [
          name,
          { name: 'Status', type: 'string' },
          { name: 'Volume', type: 'string' },
          { name: 'Capacity', type: 'string' },
          { name: 'Access Modes', type: 'string' },
          { name: 'StorageClass', type: 'string' },
          age,
        ],
        row: (p) => [
          p.metadata.name,
          p.status?.phase ?? 'Pending',
          p.spec?.volumeName ?? '',
          p.status?.capacity?.storage ?? '',
          (p.status?.accessModes ?? []).map((m: string) => (m === 'ReadWriteOnce' ? 'RWO' : m)).join(','),
          p.spec?.storageClassName ?? '<unset>',
          humanAge(p.metadata.creationTimestamp),
        ],
      };
    case '/events':
      return {
        cols: [
          { name: 'Last Seen', type: 'string' },
          { name: 'Type', type: 'string' },
          { name: 'Reason', type: 'string' },
          { name: 'Object', type: 'string' },
          { name: 'Message', type: 'string' },
        ],
        row: (e) => [
          humanAge(e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp),
          e.type ?? '',
          e.reason ?? '',
          `${String(e.involvedObject?.kind ?? '').toLowerCase()}/${e.involvedObject?.name ?? ''}`,
          e.message ?? '',
        ],
      };
    case '/configmaps':
      return {
        cols: [name, { name: 'Data', type: 'integer' }, age],
        row: (c) => [
          c.metadata.name,
          Object.keys(c.data ?? {}).length + Object.keys(c.binaryData ?? {}).length,
          humanAge(c.metadata.creationTimestamp),
        ],
      };
    case '/secrets':
      return {
        cols: [name, { name: 'Type', type: 'string' }, { name: 'Data', type: 'integer' }, age],
        row: (c) => [
          c.metadata.name,
          c.type ?? 'Opaque',
          Object.keys(c.data ?? {}).length,
          humanAge(c.metadata.creationTimestamp),
        ],
      };
    case 'apiextensions.k8s.io/customresourcedefinitions':
      return {
        cols: [name, { name: 'Created At', type: 'date' }],
        row: (c) => [c.metadata.name, c.metadata.creationTimestamp],
      };
    case 'policy/poddisruptionbudgets':
      return {
        cols: [
          name,
          { name: 'Min Available', type: 'string' },
          { name: 'Max Unavailable', type: 'string' },
          { name: 'Allowed Disruptions', type: 'integer' },
          age,
        ],
        row: (p) => [
          p.metadata.name,
          p.spec?.minAvailable !== undefined ? String(p.spec.minAvailable) : 'N/A',
          p.spec?.maxUnavailable !== undefined ? String(p.spec.maxUnavailable) : 'N/A',
          p.status?.disruptionsAllowed ?? 0,
          humanAge(p.metadata.creationTimestamp),
        ],
      };
  }
  if (rt.printerColumns && rt.printerColumns.length > 0) {
    const pc = rt.printerColumns;
    return {
      cols: [
        name,
        ...pc.map((c) => ({ name: c.name, type: c.type, priority: c.priority ?? 0, description: c.description ?? '' })),
      ],
      row: (o) => [
        o.metadata.name,
        ...pc.map((c) => {
          const v = jsonPath(o, c.jsonPath);
          if (c.type === 'date' && typeof v === 'string') return humanAge(v);
          return v ?? null;
        }),
      ],
    };
  }
  return { cols: [name, age], row: (o) => [o.metadata.name, humanAge(o.metadata.creationTimestamp)] };
}

export function toTable(rt: ResourceType, items: Obj[], listMeta: Obj, includeObject: string): Obj {
  const s = spec(rt);
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata: listMeta,
    columnDefinitions: s.cols.map((c) => ({
      name: c.name,
      type: c.type,
      format: c.format ?? '',
      description: c.description ?? '',
      priority: c.priority ?? 0,
    })),
    rows: items.map((o) => ({
      cells: s.row(o),
      object:
        includeObject === 'None'
          ? undefined
          : includeObject === 'Object'
            ? o
            : { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata },
    })),
  };
}
