// RBAC authorizer: Roles/ClusterRoles and their bindings, evaluated like the apiserver's RBAC authorizer
// (apiGroups, resources with subresources, verbs, resourceNames, nonResourceURLs; system:masters bypasses).
import type { Store } from './store.js';
import type { KubeUser, Obj } from './types.js';

export interface Attributes {
  verb: string; // get list watch create update patch delete deletecollection
  group: string;
  resource: string; // plural, '' for non-resource
  subresource?: string;
  namespace?: string;
  name?: string;
  path?: string; // non-resource URL
}

const RBAC = 'rbac.authorization.k8s.io';

function subjectMatches(s: Obj, user: KubeUser, bindingNs: string | undefined): boolean {
  if (s.kind === 'User') return s.name === user.name;
  if (s.kind === 'Group') return user.groups.includes(s.name);
  if (s.kind === 'ServiceAccount')
    return user.name === `system:serviceaccount:${s.namespace ?? bindingNs ?? ''}:${s.name}`;
  return false;
}

const DISCOVERY_URLS = [
  '/api',
  '/api/*',
  '/apis',
  '/apis/*',
  '/healthz',
  '/livez',
  '/readyz',
  '/openapi',
  '/openapi/*',
  '/version',
  '/version/',
];

function urlMatches(u: string, path: string): boolean {
  return u === '*' || u === path || (u.endsWith('*') && path.startsWith(u.slice(0, -1)));
}

function ruleAllows(r: Obj, a: Attributes): boolean {
  const verbs: string[] = r.verbs ?? [];
  if (!verbs.includes('*') && !verbs.includes(a.verb)) return false;
  if (!a.resource) {
    const urls: string[] = r.nonResourceURLs ?? [];
    return urls.some((u) => urlMatches(u, a.path ?? ''));
  }
  const groups: string[] = r.apiGroups ?? [];
  if (!groups.includes('*') && !groups.includes(a.group)) return false;
  const want = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const resources: string[] = r.resources ?? [];
  const resOk = resources.some(
    (x) =>
      x === '*' ||
      x === want ||
      (a.subresource && x === `*/${a.subresource}`) ||
      (!a.subresource && x === a.resource && false),
  );
  if (!resOk) return false;
  const names: string[] = r.resourceNames ?? [];
  if (names.length > 0) return a.name !== undefined && names.includes(a.name);
  return true;
}

function rulesOf(store: Store, ref: Obj, bindingNs: string | undefined): Obj[] {
  if (ref.kind === 'ClusterRole') return store.peek(`${RBAC}/clusterroles`, undefined, ref.name)?.rules ?? [];
  if (ref.kind === 'Role' && bindingNs) return store.peek(`${RBAC}/roles`, bindingNs, ref.name)?.rules ?? [];
  return [];
}

export function authorize(store: Store, user: KubeUser, a: Attributes): boolean {
  if (user.groups.includes('system:masters')) return true;
  // The default system:discovery / system:public-info-viewer ClusterRoles every authenticated user has; any other
  // non-resource URL (/metrics, /logs, /debug/...) needs a rule with nonResourceURLs.
  if (!a.resource && a.verb === 'get' && DISCOVERY_URLS.some((u) => urlMatches(u, a.path ?? ''))) return true;
  if (a.group === 'authorization.k8s.io' && a.resource.startsWith('self') && a.verb === 'create') return true;
  for (const b of store.list(`${RBAC}/clusterrolebindings`)) {
    if (!(b.subjects ?? []).some((s: Obj) => subjectMatches(s, user, undefined))) continue;
    if (rulesOf(store, b.roleRef ?? {}, undefined).some((r) => ruleAllows(r, a))) return true;
  }
  if (a.namespace) {
    for (const b of store.list(`${RBAC}/rolebindings`, a.namespace)) {
      if (!(b.subjects ?? []).some((s: Obj) => subjectMatches(s, user, a.namespace))) continue;
      if (rulesOf(store, b.roleRef ?? {}, a.namespace).some((r) => ruleAllows(r, a))) return true;
    }
  }
  return false;
}

/** The apiserver's 403 text, e.g. `pods is forbidden: User "x" cannot list resource "pods" in API group "" in the namespace "apps"`. */
export function forbiddenMessage(user: KubeUser, a: Attributes): string {
  if (!a.resource) return `forbidden: User "${user.name}" cannot ${a.verb} path "${a.path ?? ''}"`;
  const res = a.group ? `${a.resource}.${a.group}` : a.resource;
  const subject = a.name ? `${res} "${a.name}"` : res;
  const full = a.subresource ? `${a.resource}/${a.subresource}` : a.resource;
  const scope = a.namespace ? `in the namespace "${a.namespace}"` : 'at the cluster scope';
  return `${subject} is forbidden: User "${user.name}" cannot ${a.verb} resource "${full}" in API group "${a.group}" ${scope}`;
}
