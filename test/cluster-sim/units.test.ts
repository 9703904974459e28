// Unit tests of the simulator's pure pieces: selectors, patch engines, server-side apply, protobuf decoding,
// RBAC evaluation and messages, the store's watch history, and the kubelet's timing.
import { describe, expect, it } from 'vitest';
import { Cluster } from '../../cluster/sim/core.js';
import { startCluster } from '../../cluster/sim/index.js';
import {
  applyJsonPatch,
  applyMergePatch,
  applyStrategicMergePatch,
  recordUpdate,
  serverSideApply,
} from '../../cluster/sim/patch.js';
import { decodeProtobuf } from '../../cluster/sim/protobuf.js';
import { authorize, forbiddenMessage } from '../../cluster/sim/rbac.js';
import {
  matchFields,
  matchLabelSelector,
  matchRequirements,
  parseFieldSelector,
  parseLabelSelector,
  validateFieldSelector,
} from '../../cluster/sim/selectors.js';
import { Store } from '../../cluster/sim/store.js';
import { ApiError, clone, type Obj } from '../../cluster/sim/types.js';

describe('label and field selectors', () => {
  const l = { app: 'web', tier: '2' };
  it.each([
    ['app=web', true],
    ['app==web,tier=2', true],
    ['app!=web', false],
    ['app in (db, web)', true],
    ['tier notin (1,2)', false],
    ['app', true],
    ['!app', false],
    ['!missing,app in (web)', true],
    ['tier>1', true],
  ])('%s → %s', (sel, want) => {
    expect(matchRequirements(parseLabelSelector(sel), l)).toBe(want);
  });
  it('rejects malformed selectors with 400', () => {
    expect(() => parseLabelSelector('app in (web')).toThrow(ApiError);
  });
  it('matches LabelSelector objects, empty matches all, null none', () => {
    expect(
      matchLabelSelector(
        { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['2'] }] },
        l,
      ),
    ).toBe(true);
    expect(matchLabelSelector({ matchExpressions: [{ key: 'x', operator: 'Exists' }] }, l)).toBe(false);
    expect(matchLabelSelector({}, l)).toBe(true);
    expect(matchLabelSelector(null, l)).toBe(false);
  });
  it('field selectors on metadata, status.phase and involvedObject', () => {
    const ev = { metadata: { name: 'e', namespace: 'apps' }, involvedObject: { kind: 'Pod', name: 'p' } };
    expect(
      matchFields(parseFieldSelector('involvedObject.kind=Pod,involvedObject.name=p,metadata.namespace=apps'), ev),
    ).toBe(true);
    expect(
      matchFields(parseFieldSelector('status.phase!=Running'), { metadata: {}, status: { phase: 'Pending' } }),
    ).toBe(true);
  });
});

describe('field selector labels per kind', () => {
  const bad = (rt: { group: string; resource: string; crd?: boolean }, sel: string) => {
    try {
      validateFieldSelector(rt, parseFieldSelector(sel));
    } catch (e) {
      return [(e as ApiError).code, (e as ApiError).message];
    }
    return undefined;
  };
  it('accepts the labels each built-in kind registers and rejects others with the real 400', () => {
    expect(bad({ group: '', resource: 'pods' }, 'spec.nodeName=n,status.phase!=Running,metadata.name=x')).toBe(
      undefined,
    );
    expect(bad({ group: '', resource: 'events' }, 'involvedObject.uid=u,reason=BackOff,type=Warning')).toBe(undefined);
    expect(bad({ group: 'batch', resource: 'jobs' }, 'status.successful=1')).toBe(undefined);
    expect(bad({ group: '', resource: 'pods' }, 'spec.foo=bar')).toEqual([400, 'field label not supported: spec.foo']);
    expect(bad({ group: '', resource: 'secrets' }, 'status.phase=x')).toEqual([
      400,
      'field label not supported: status.phase',
    ]);
    expect(bad({ group: '', resource: 'configmaps' }, 'data.a=b')).toEqual([
      400,
      '"data.a" is not a known field selector: only "metadata.name", "metadata.namespace"',
    ]);
    expect(bad({ group: 'apps', resource: 'deployments' }, 'status.phase=x')).toEqual([
      400,
      '"status.phase" is not a known field selector: only "metadata.name", "metadata.namespace"',
    ]);
    expect(bad({ group: 'example.com', resource: 'widgets', crd: true }, 'spec.size=1')).toBe(undefined);
  });
});

describe('patch engines', () => {
  const dep = {
    spec: {
      template: {
        spec: {
          containers: [
            { name: 'a', image: 'a:1', env: [{ name: 'X', value: '1' }], ports: [{ containerPort: 80 }] },
            { name: 'b', image: 'b:1' },
          ],
        },
      },
    },
  };
  it('strategic merge patch merges containers and env by name', () => {
    const out = applyStrategicMergePatch(dep, {
      spec: {
        template: {
          spec: {
            $setElementOrder_containers: undefined,
            containers: [{ name: 'a', image: 'a:2', env: [{ name: 'Y', value: '2' }] }],
          },
        },
      },
    });
    const cs = out.spec.template.spec.containers;
    expect(cs.map((c: { name: string; image: string }) => `${c.name}=${c.image}`)).toEqual(['a=a:2', 'b=b:1']);
    expect(cs[0].env).toEqual([
      { name: 'X', value: '1' },
      { name: 'Y', value: '2' },
    ]);
    expect(cs[0].ports).toEqual([{ containerPort: 80 }]);
  });
  it('strategic merge patch honours $patch: delete, $patch: replace and null', () => {
    const del = applyStrategicMergePatch(dep, {
      spec: { template: { spec: { containers: [{ name: 'b', $patch: 'delete' }] } } },
    });
    expect(del.spec.template.spec.containers.map((c: { name: string }) => c.name)).toEqual(['a']);
    const rep = applyStrategicMergePatch(
      { metadata: { labels: { a: '1', b: '2' } } },
      { metadata: { labels: { $patch: 'replace', c: '3' } } },
    );
    expect(rep.metadata.labels).toEqual({ c: '3' });
    expect(
      applyStrategicMergePatch({ metadata: { labels: { a: '1' } } }, { metadata: { labels: { a: null } } }).metadata
        .labels,
    ).toEqual({});
  });
  it('merge patch replaces lists and deletes with null', () => {
    expect(applyMergePatch({ a: [1, 2], b: { c: 1, d: 2 } }, { a: [3], b: { c: null } })).toEqual({
      a: [3],
      b: { d: 2 },
    });
  });
  it('JSON patch add/replace/remove/test and missing paths', () => {
    const out = applyJsonPatch({ metadata: { labels: { a: '1' } }, list: [1, 2] }, [
      { op: 'add', path: '/metadata/labels/b~1c', value: '2' },
      { op: 'replace', path: '/list/0', value: 9 },
      { op: 'remove', path: '/list/1' },
      { op: 'add', path: '/list/-', value: 3 },
      { op: 'test', path: '/metadata/labels/a', value: '1' },
    ]);
    expect(out).toEqual({ metadata: { labels: { a: '1', 'b/c': '2' } }, list: [9, 3] });
    // handlers/patch.go: a patch that does not apply is 422 Invalid with the generic message and empty details.
    const notApplied = (doc: Obj, ops: Obj[]) => {
      try {
        applyJsonPatch(doc, ops);
      } catch (e) {
        return (e as ApiError).status();
      }
      return undefined;
    };
    const want = {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Failure',
      message: 'the server rejected our request due to an error in our request',
      reason: 'Invalid',
      details: {},
      code: 422,
    };
    expect(notApplied({}, [{ op: 'remove', path: '/nope' }])).toEqual(want);
    expect(notApplied({ a: '1' }, [{ op: 'test', path: '/a', value: '2' }])).toEqual(want);
    expect(notApplied({}, [{ op: 'add', path: '/a/b', value: 1 }])).toEqual(want);
    expect(notApplied({ l: [] }, [{ op: 'replace', path: '/l/3', value: 1 }])).toEqual(want);
    expect(notApplied({}, [{ op: 'add', path: 'no-slash', value: 1 }])).toEqual(want);
    expect(notApplied({}, [{ op: 'frobnicate', path: '/a', value: 1 }])).toEqual(want);
  });
});

describe('server-side apply', () => {
  const cm = (data: Record<string, string>) => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data });
  it('records ownership, removes fields the manager dropped, and reports conflicts like the apiserver', () => {
    const one = serverSideApply(undefined, cm({ a: '1', b: '2' }), 'one', false, 'v1');
    expect(one.metadata.managedFields[0]).toMatchObject({
      manager: 'one',
      operation: 'Apply',
      fieldsV1: { 'f:data': { 'f:a': {}, 'f:b': {} } },
    });
    const dropped = serverSideApply(one, cm({ a: '1' }), 'one', false, 'v1');
    expect(dropped.data).toEqual({ a: '1' });
    let err: unknown;
    try {
      serverSideApply(dropped, cm({ a: '9' }), 'two', false, 'v1');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe(409);
    expect((err as ApiError).message).toBe('Apply failed with 1 conflict: conflict with "one": .data.a');
    const forced = serverSideApply(dropped, cm({ a: '9' }), 'two', true, 'v1');
    expect(forced.data).toEqual({ a: '9' });
    expect(forced.metadata.managedFields.map((m: { manager: string }) => m.manager)).toEqual(['two']);
    // Same value: shared ownership, no conflict.
    expect(serverSideApply(dropped, cm({ a: '1' }), 'three', false, 'v1').metadata.managedFields).toHaveLength(2);
  });
  it('records creates and updates as Update managers that applies conflict with, like the fieldmanager', () => {
    const created: Obj = cm({ a: '1', b: '2' });
    recordUpdate(undefined, created, 'kubectl-create', 'v1');
    expect(created.metadata.managedFields).toMatchObject([
      { manager: 'kubectl-create', operation: 'Update', fieldsV1: { 'f:data': { 'f:a': {}, 'f:b': {} } } },
    ]);
    expect(() => serverSideApply(created, cm({ a: '9' }), 'ssa', false, 'v1')).toThrow(
      'Apply failed with 1 conflict: conflict with "kubectl-create" using v1: .data.a',
    );
    // A patch by another manager takes the field it changed; a removed field leaves every manager.
    const patched: Obj = { ...cm({ a: '3' }), metadata: { name: 'x', managedFields: created.metadata.managedFields } };
    recordUpdate(created, patched, 'kubectl-edit', 'v1');
    expect(patched.metadata.managedFields.map((m: Obj) => [m.manager, m.fieldsV1])).toEqual([
      ['kubectl-edit', { 'f:data': { 'f:a': {} } }],
    ]);
    // Status writes own status only; main-resource writes never do.
    const dep: Obj = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' }, spec: { replicas: 1 } };
    recordUpdate(undefined, dep, 'helm', 'apps/v1');
    const withStatus: Obj = { ...clone(dep), status: { replicas: 1 } };
    recordUpdate(dep, withStatus, 'kube-controller-manager', 'apps/v1', 'status');
    expect(withStatus.metadata.managedFields.map((m: Obj) => [m.manager, m.subresource, m.fieldsV1])).toEqual([
      ['helm', undefined, { 'f:spec': { 'f:replicas': {} } }],
      ['kube-controller-manager', 'status', { 'f:status': { 'f:replicas': {} } }],
    ]);
  });
  it('removes a whole associative-list item (env by name) the manager stops applying, unless another owns it', () => {
    const dep = (env: { name: string; value: string }[]) => ({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx', env }] } } },
    });
    const envOf = (o: Obj) => o.spec.template.spec.containers[0].env as unknown;
    const two = serverSideApply(
      undefined,
      dep([
        { name: 'A', value: '1' },
        { name: 'B', value: '2' },
      ]),
      'one',
      false,
      'apps/v1',
    );
    const one = serverSideApply(two, dep([{ name: 'A', value: '1' }]), 'one', false, 'apps/v1');
    expect(envOf(one)).toEqual([{ name: 'A', value: '1' }]);
    expect(JSON.stringify(one.metadata.managedFields[0].fieldsV1)).not.toContain('"B"');
    // An item another manager also applies stays, with that manager's fields.
    const shared = serverSideApply(two, dep([{ name: 'B', value: '2' }]), 'other', false, 'apps/v1');
    const kept = serverSideApply(shared, dep([{ name: 'A', value: '1' }]), 'one', false, 'apps/v1');
    expect(envOf(kept)).toEqual([
      { name: 'A', value: '1' },
      { name: 'B', value: '2' },
    ]);
    // Dropping a whole container removes it, with its nested lists.
    const two2 = serverSideApply(
      undefined,
      {
        ...dep([]),
        spec: {
          template: {
            spec: {
              containers: [
                { name: 'web', image: 'nginx', ports: [{ containerPort: 80 }] },
                { name: 'side', image: 'busybox', env: [{ name: 'X', value: '1' }] },
              ],
            },
          },
        },
      },
      'one',
      false,
      'apps/v1',
    );
    const one2 = serverSideApply(
      two2,
      { ...dep([]), spec: { template: { spec: { containers: [{ name: 'web', image: 'nginx' }] } } } },
      'one',
      false,
      'apps/v1',
    );
    expect(one2.spec.template.spec.containers).toEqual([{ name: 'web', image: 'nginx' }]);
  });
});

describe('protobuf request bodies', () => {
  const varint = (n: number) => {
    const out: number[] = [];
    while (n > 0x7f) {
      out.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    out.push(n);
    return Buffer.from(out);
  };
  const field = (no: number, v: Buffer | string) => {
    const b = typeof v === 'string' ? Buffer.from(v) : v;
    return Buffer.concat([varint((no << 3) | 2), varint(b.length), b]);
  };
  const entry = (no: number, k: string, v: string | Buffer) => field(no, Buffer.concat([field(1, k), field(2, v)]));
  const envelope = (apiVersion: string, kind: string, raw: Buffer) =>
    Buffer.concat([
      Buffer.from('k8s\0'),
      field(1, Buffer.concat([field(1, apiVersion), field(2, kind)])),
      field(2, raw),
    ]);

  it('decodes a v1.Secret as Helm sends it', () => {
    const meta = Buffer.concat([
      field(1, 'sh.helm.release.v1.app.v1'),
      field(3, 'apps'),
      entry(11, 'owner', 'helm'),
      entry(11, 'name', 'app'),
    ]);
    const secret = Buffer.concat([
      field(1, meta),
      entry(2, 'release', Buffer.from('H4sI')),
      field(3, 'helm.sh/release.v1'),
    ]);
    const o = decodeProtobuf(envelope('v1', 'Secret', secret));
    expect(o).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 'sh.helm.release.v1.app.v1', namespace: 'apps', labels: { owner: 'helm', name: 'app' } },
      data: { release: Buffer.from('H4sI').toString('base64') },
      type: 'helm.sh/release.v1',
    });
  });
  it('decodes DeleteOptions and rejects bodies without the magic prefix', () => {
    const opts = field(4, 'Foreground');
    expect(decodeProtobuf(envelope('v1', 'DeleteOptions', opts)).propagationPolicy).toBe('Foreground');
    expect(() => decodeProtobuf(Buffer.from('{}'))).toThrow(ApiError);
  });
});

describe('RBAC', () => {
  it('evaluates roles, cluster roles, subresources and resourceNames; prints the real 403 text', () => {
    const c = new Cluster();
    const rbac = (r: string) => c.rt('rbac.authorization.k8s.io', r)!;
    c.create(rbac('roles'), 'default', {
      metadata: { name: 'r' },
      rules: [
        { apiGroups: [''], resources: ['pods', 'pods/log'], verbs: ['get', 'list'] },
        { apiGroups: ['apps'], resources: ['deployments'], verbs: ['patch'], resourceNames: ['web'] },
      ],
    });
    c.create(rbac('rolebindings'), 'default', {
      metadata: { name: 'rb' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'r' },
      subjects: [{ kind: 'ServiceAccount', name: 'sa', namespace: 'default' }],
    });
    c.create(rbac('clusterroles'), undefined, {
      metadata: { name: 'crd-reader' },
      rules: [{ apiGroups: ['apiextensions.k8s.io'], resources: ['customresourcedefinitions'], verbs: ['get'] }],
    });
    c.create(rbac('clusterrolebindings'), undefined, {
      metadata: { name: 'crb' },
      roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'crd-reader' },
      subjects: [{ kind: 'Group', name: 'system:serviceaccounts:default' }],
    });
    const sa = {
      name: 'system:serviceaccount:default:sa',
      groups: ['system:serviceaccounts', 'system:serviceaccounts:default', 'system:authenticated'],
    };
    const can = (verb: string, group: string, resource: string, extra: object = {}) =>
      authorize(c.store, sa, { verb, group, resource, namespace: 'default', ...extra });
    expect(can('list', '', 'pods')).toBe(true);
    expect(can('get', '', 'pods', { subresource: 'log', name: 'p' })).toBe(true);
    expect(can('create', '', 'pods', { subresource: 'eviction', name: 'p' })).toBe(false);
    expect(can('list', '', 'pods', { namespace: 'other' })).toBe(false);
    expect(can('patch', 'apps', 'deployments', { name: 'web' })).toBe(true);
    expect(can('patch', 'apps', 'deployments', { name: 'api' })).toBe(false);
    expect(
      authorize(c.store, sa, {
        verb: 'get',
        group: 'apiextensions.k8s.io',
        resource: 'customresourcedefinitions',
        name: 'x',
      }),
    ).toBe(true);
    expect(forbiddenMessage(sa, { verb: 'list', group: '', resource: 'secrets', namespace: 'default' })).toBe(
      'secrets is forbidden: User "system:serviceaccount:default:sa" cannot list resource "secrets" in API group "" in the namespace "default"',
    );
    expect(
      forbiddenMessage(sa, {
        verb: 'create',
        group: '',
        resource: 'pods',
        subresource: 'eviction',
        name: 'p',
        namespace: 'default',
      }),
    ).toBe(
      'pods "p" is forbidden: User "system:serviceaccount:default:sa" cannot create resource "pods/eviction" in API group "" in the namespace "default"',
    );
    expect(
      forbiddenMessage(sa, {
        verb: 'patch',
        group: 'apiextensions.k8s.io',
        resource: 'customresourcedefinitions',
        name: 'x',
      }),
    ).toBe(
      'customresourcedefinitions.apiextensions.k8s.io "x" is forbidden: User "system:serviceaccount:default:sa" cannot patch resource "customresourcedefinitions" in API group "apiextensions.k8s.io" at the cluster scope',
    );
  });
});

describe('store', () => {
  it('replays events after a resourceVersion and keeps keys sorted', () => {
    const s = new Store();
    s.create('/configmaps', { metadata: { name: 'b', namespace: 'x' } });
    const rv = s.currentRV();
    s.create('/configmaps', { metadata: { name: 'a', namespace: 'x' } });
    s.remove('/configmaps', 'x', 'b');
    expect(s.since(rv)!.map((e) => `${e.type} ${e.obj.metadata.name}`)).toEqual(['ADDED a', 'DELETED b']);
    s.create('/configmaps', { metadata: { name: 'c', namespace: 'w' } });
    expect(s.list('/configmaps').map((o) => `${o.metadata.namespace}/${o.metadata.name}`)).toEqual(['w/c', 'x/a']);
    expect(s.list('/configmaps', 'x').map((o) => o.metadata.name)).toEqual(['a']);
  });
  it('rejects create in a missing namespace, duplicates and stale updates with real messages', () => {
    const c = new Cluster();
    const cm = c.rt('', 'configmaps')!;
    expect(() => c.create(cm, 'nope', { metadata: { name: 'x' } })).toThrow('namespaces "nope" not found');
    const made = c.create(cm, 'default', { metadata: { name: 'x' } });
    expect(() => c.create(cm, 'default', { metadata: { name: 'x' } })).toThrow('configmaps "x" already exists');
    c.update(cm, 'default', 'x', { ...made, data: { a: '1' } });
    expect(() => c.update(cm, 'default', 'x', { ...made, data: { a: '2' } })).toThrow(
      'Operation cannot be fulfilled on configmaps "x": the object has been modified; please apply your changes to the latest version and try again',
    );
  });
});

describe('garbage collection', () => {
  const owned = (uid: string, name: string) => ({
    metadata: {
      name,
      ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid, controller: true }],
    },
  });
  it('deletes dependents in the background, orphans them on request, and cascades', async () => {
    const c = new Cluster();
    const cm = c.rt('', 'configmaps')!;
    const owner = c.create(cm, 'default', { metadata: { name: 'owner' } });
    const child = c.create(cm, 'default', owned(owner.metadata.uid, 'child'));
    c.create(cm, 'default', owned(child.metadata.uid, 'grandchild'));
    c.delete(cm, 'default', 'owner', { propagationPolicy: 'Background' });
    await new Promise((r) => setTimeout(r, 30));
    expect(c.store.list('/configmaps', 'default').map((o) => o.metadata.name)).toEqual([]);

    const o2 = c.create(cm, 'default', { metadata: { name: 'owner' } });
    c.create(cm, 'default', owned(o2.metadata.uid, 'kept'));
    c.delete(cm, 'default', 'owner', { propagationPolicy: 'Orphan' });
    await new Promise((r) => setTimeout(r, 30));
    const kept = c.store.get('/configmaps', 'default', 'kept');
    expect(kept, 'the orphaned dependent survives').toBeDefined();
    expect(kept!.metadata.ownerReferences).toBeUndefined();
  });
  it('deletes in the foreground: the owner stays with the foregroundDeletion finalizer until blocking dependents go', async () => {
    const c = new Cluster();
    const cm = c.rt('', 'configmaps')!;
    const owner = c.create(cm, 'default', { metadata: { name: 'owner' } });
    const blocker = owned(owner.metadata.uid, 'blocker');
    (blocker.metadata.ownerReferences[0] as Obj).blockOwnerDeletion = true;
    // A finalizer of its own keeps the blocking dependent (terminating) until someone removes it.
    c.create(cm, 'default', { ...blocker, metadata: { ...blocker.metadata, finalizers: ['example.com/hold'] } });
    c.create(cm, 'default', owned(owner.metadata.uid, 'loose'));
    const answered = c.delete(cm, 'default', 'owner', { propagationPolicy: 'Foreground' });
    expect(answered.metadata.deletionTimestamp).toBeDefined();
    expect(answered.metadata.finalizers).toEqual(['foregroundDeletion']);
    await new Promise((r) => setTimeout(r, 30));
    expect(c.store.get('/configmaps', 'default', 'owner')?.metadata.finalizers).toEqual(['foregroundDeletion']);
    expect(c.store.get('/configmaps', 'default', 'loose')).toBeUndefined();
    const held = c.store.get('/configmaps', 'default', 'blocker')!;
    expect(held.metadata.deletionTimestamp).toBeDefined();
    c.update(cm, 'default', 'blocker', { ...held, metadata: { ...held.metadata, finalizers: [] } });
    await new Promise((r) => setTimeout(r, 30));
    expect(c.store.list('/configmaps', 'default').map((o) => o.metadata.name)).toEqual([]);
  });
});

describe('kubelet wake-ups', () => {
  // Node's timers count from the cached loop time, so a wake-up can fire before the pod's due time by Date.now().
  // A clock at half speed makes every wake-up early; the kubelet must re-arm rather than forget the pod (it did
  // forget, and Helm 4's --wait timed out on a Deployment whose pods stayed Pending).
  it('starts a Deployment whose pods are always woken before their due time', async () => {
    const origin = Date.now();
    const c = await startCluster({ kubeletClock: () => origin + Math.floor((Date.now() - origin) / 2) });
    try {
      c.cluster.create(c.cluster.rt('', 'namespaces')!, undefined, { metadata: { name: 'apps' } });
      c.cluster.create(c.cluster.rt('apps', 'deployments')!, 'apps', {
        metadata: { name: 'web' },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: 'web' } },
          template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'nginx' }] } },
        },
      });
      const end = Date.now() + 8000;
      let status: Obj | undefined;
      while (Date.now() < end) {
        status = c.store.get('apps/deployments', 'apps', 'web')?.status as Obj | undefined;
        if (status?.availableReplicas === 2) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(status?.availableReplicas).toBe(2);
      expect(c.store.list('/pods', 'apps').map((p) => p.status?.phase)).toEqual(['Running', 'Running']);
    } finally {
      await c.stop();
    }
  });
});
