// Thin HTTP shell: routing, content negotiation (JSON, protobuf request bodies, Table), authentication by bearer
// token, RBAC, watch streams, and the subresources pods/log, pods/eviction, scale and status.
/* eslint-disable @typescript-eslint/no-confusing-void-expression -- handlers end a route with `return this.json(...)` */
import { readFileSync } from 'node:fs';
import type http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { parse as parseYaml } from 'yaml';
import { Cluster, nowTs, resKey, type DeleteOpts } from './core.js';
import { isPodReady, pdbStatus } from './disruption.js';
import { applyJsonPatch, applyMergePatch, applyStrategicMergePatch, recordUpdate, serverSideApply } from './patch.js';
import { decodeProtobuf, isProtobuf } from './protobuf.js';
import { authorize, forbiddenMessage, type Attributes } from './rbac.js';
import { groupVersionOf } from './resources.js';
import type { StoreEvent } from './store.js';
import {
  matchFields,
  matchLabelSelector,
  matchRequirements,
  parseFieldSelector,
  parseLabelSelector,
  validateFieldSelector,
} from './selectors.js';
import { toTable } from './tables.js';
import {
  ApiError,
  badRequest,
  clone,
  fixturesDir,
  notFound,
  type KubeUser,
  type Obj,
  type ResourceType,
} from './types.js';

export interface RequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  contentType?: string;
  accept?: string;
  user?: string;
  userAgent?: string;
  status?: number;
}

export interface PodLogSource {
  /** Log text of a container (previous=true: the last terminated instance). Undefined = not available. */
  logs(pod: Obj, container: string, previous: boolean): string | undefined;
}

export interface ServerOptions {
  rbac: boolean;
  logs: PodLogSource;
  /** Pause before handling each request (ms): lets tests model a slow server. */
  latencyMs?: number;
  /**
   * Keep at most this many request records (the oldest go). Unbounded by default: tests take `requests.length` as a
   * mark and slice after it, which trimming would silently shift. Long-running clusters (the CLI, benchmarks) bound it.
   */
  keepRequests?: number;
}

interface Ctx {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  url: URL;
  q: Record<string, string>;
  user: KubeUser;
  body: Buffer;
}

export class ApiServer {
  readonly requests: RequestRecord[] = [];
  private server?: https.Server;
  private readonly watches = new Set<() => void>();
  url = '';

  constructor(
    readonly cluster: Cluster,
    private readonly opts: ServerOptions,
  ) {}

  async listen(): Promise<string> {
    // TLS is required: client-go sends bearer tokens only over https. The certificate is a throwaway test CA for
    // 127.0.0.1 (fixtures/tls.crt), handed to clients as certificate-authority-data.
    const dir = fixturesDir();
    this.server = https.createServer(
      { cert: readFileSync(new URL('tls.crt', dir)), key: readFileSync(new URL('tls.key', dir)) },
      (req, res) => void this.handle(req, res),
    );
    this.server.keepAliveTimeout = 60_000;
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    const a = this.server.address() as AddressInfo;
    this.url = `https://127.0.0.1:${a.port}`;
    return this.url;
  }

  async close(): Promise<void> {
    for (const stop of [...this.watches]) stop();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const q: Record<string, string> = {};
    for (const [k, v] of url.searchParams) q[k] = v;
    const rec: RequestRecord = {
      method: req.method ?? 'GET',
      path: url.pathname,
      query: q,
      contentType: req.headers['content-type'],
      accept: req.headers.accept,
      userAgent: req.headers['user-agent'],
    };
    this.requests.push(rec);
    const keep = this.opts.keepRequests ?? Infinity;
    if (this.requests.length > keep) this.requests.splice(0, this.requests.length - keep);
    try {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      if (this.opts.latencyMs) await new Promise((r) => setTimeout(r, this.opts.latencyMs));
      const auth = req.headers.authorization ?? '';
      const token = auth.startsWith('Bearer ') ? auth.slice(7).trim() : '';
      const user = this.cluster.tokens.get(token);
      if (!user) throw new ApiError(401, 'Unauthorized', 'Unauthorized');
      rec.user = user.name;
      this.route({ req, res, url, q, user, body: Buffer.concat(chunks) });
    } catch (e) {
      const err =
        e instanceof ApiError
          ? e
          : new ApiError(
              500,
              'InternalError',
              `Internal error occurred: ${e instanceof Error ? e.message : String(e)}`,
            );
      if (!(e instanceof ApiError)) console.error('[sim-cluster]', e);
      if (!res.headersSent) this.json(res, err.code, err.status());
      else res.end();
    }
    rec.status = res.statusCode;
  }

  private json(res: http.ServerResponse, code: number, body: unknown): void {
    const text = JSON.stringify(body);
    res.writeHead(code, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    res.end(text);
  }

  private check(ctx: Ctx, a: Attributes): void {
    if (!this.opts.rbac) return;
    if (authorize(this.cluster.store, ctx.user, a)) return;
    const details: Obj = { kind: a.resource };
    if (a.name) details.name = a.name;
    if (a.group) details.group = a.group;
    throw new ApiError(403, 'Forbidden', forbiddenMessage(ctx.user, a), a.resource ? details : {});
  }

  // ---------- routing ----------
  private route(ctx: Ctx): void {
    const p = ctx.url.pathname.replace(/\/+$/, '') || '/';
    const method = ctx.req.method ?? 'GET';
    const parts = p.split('/').filter(Boolean);
    if (parts[0] !== 'api' && parts[0] !== 'apis') {
      this.check(ctx, { verb: method.toLowerCase(), group: '', resource: '', path: p });
      return this.nonResource(ctx, p);
    }
    let group = '';
    let version: string;
    let rest: string[];
    if (parts[0] === 'api') {
      if (parts.length === 1) return this.json(ctx.res, 200, this.apiVersions(ctx));
      version = parts[1]!;
      rest = parts.slice(2);
    } else {
      if (parts.length === 1) return this.json(ctx.res, 200, this.apiGroupList());
      group = parts[1]!;
      if (parts.length === 2) {
        const g = this.apiGroupList().groups.find((x: Obj) => x.name === group);
        if (!g) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
        return this.json(ctx.res, 200, { kind: 'APIGroup', apiVersion: 'v1', ...g });
      }
      version = parts[2]!;
      rest = parts.slice(3);
    }
    const types = this.cluster.allTypes().filter((t) => t.group === group && t.version === version);
    if (types.length === 0) throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    if (rest.length === 0) return this.json(ctx.res, 200, this.resourceList(group, version, types));
    let ns: string | undefined;
    if (rest[0] === 'namespaces' && rest.length >= 3 && !['status', 'finalize'].includes(rest[2]!)) {
      ns = rest[1];
      rest = rest.slice(2);
    }
    const [resource, name, sub] = rest;
    const rt = types.find((t) => t.resource === resource);
    if (!rt || rest.length > 3 || (sub && !rt.subresources.includes(sub)) || (ns !== undefined && !rt.namespaced))
      throw new ApiError(404, 'NotFound', 'the server could not find the requested resource');
    return this.resource(ctx, method, rt, ns, name, sub);
  }

  private nonResource(ctx: Ctx, p: string): void {
    if (p === '/version') {
      const { major, minor } = this.cluster.version;
      return this.json(ctx.res, 200, {
        major,
        minor,
        gitVersion: `v${major}.${minor}.0`,
        gitCommit: '0000000000000000000000000000000000000000',
        gitTreeState: 'clean',
        buildDate: '2026-01-01T00:00:00Z',
        goVersion: 'go1.24.0',
        compiler: 'gc',
        platform: 'linux/amd64',
      });
    }
    if (p === '/healthz' || p === '/livez' || p === '/readyz') {
      ctx.res.writeHead(200, { 'Content-Type': 'text/plain' });
      ctx.res.end('ok');
      return;
    }
    if (p === '/openapi/v2') {
      // An empty Swagger 2.0 document (no definitions): client-side schema validation (Helm's Build, kubectl
      // --validate=true on old servers) finds no schema and skips, so kind mapping decides, as on a real cluster
      // for unknown kinds. client-go asks for the gnostic protobuf form first.
      const info = this.cluster.version;
      if ((ctx.req.headers.accept ?? '').includes('protobuf')) {
        const str = (no: number, v: string) =>
          Buffer.concat([Buffer.from([(no << 3) | 2, Buffer.byteLength(v)]), Buffer.from(v)]);
        const infoMsg = Buffer.concat([str(1, 'Kubernetes'), str(2, `v${info.major}.${info.minor}.0`)]);
        const doc = Buffer.concat([str(1, '2.0'), Buffer.from([(2 << 3) | 2, infoMsg.length]), infoMsg]);
        ctx.res.writeHead(200, {
          'Content-Type': 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf',
          'Content-Length': doc.length,
        });
        ctx.res.end(doc);
        return;
      }
      return this.json(ctx.res, 200, {
        swagger: '2.0',
        info: { title: 'Kubernetes', version: `v${info.major}.${info.minor}.0` },
        paths: {},
        definitions: {},
      });
    }
    if (p === '/openapi/v3') return this.json(ctx.res, 200, this.openapiRoot());
    if (p.startsWith('/openapi/v3/')) {
      const doc = this.openapiGV(p.slice('/openapi/v3/'.length));
      if (doc) return this.json(ctx.res, 200, doc);
    }
    // No OpenAPI documents: kubectl then skips client-side schema validation and uses its compiled-in
    // strategic-merge metadata for built-ins (and merge patch for custom resources).
    ctx.res.writeHead(404, { 'Content-Type': 'text/plain' });
    ctx.res.end('404 page not found\n');
  }

  /** OpenAPI v3 discovery: one document per group/version. */
  private openapiRoot(): Obj {
    const paths: Obj = {};
    for (const t of this.cluster.allTypes()) {
      const gv = t.group ? `apis/${t.group}/${t.version}` : `api/${t.version}`;
      paths[gv] = { serverRelativeURL: `/openapi/v3/${gv}?hash=${this.cluster.store.currentRV()}` };
    }
    return { paths };
  }

  /**
   * A skeleton document: PATCH operations that declare the `fieldValidation` parameter, which is what kubectl's
   * query-param verifier looks for to choose server-side field validation. Schemas are left open (no client-side
   * validation, no `kubectl explain` detail).
   */
  private openapiGV(gvPath: string): Obj | undefined {
    const m = /^(?:api\/(v1)|apis\/([^/]+)\/([^/]+))$/.exec(gvPath);
    if (!m) return undefined;
    const group = m[2] ?? '';
    const version = m[1] ?? m[3]!;
    const types = this.cluster.allTypes().filter((t) => t.group === group && t.version === version);
    if (types.length === 0) return undefined;
    const paths: Obj = {};
    const schemas: Obj = {};
    for (const t of types) {
      const base = `/${gvPath}${t.namespaced ? '/namespaces/{namespace}' : ''}/${t.resource}/{name}`;
      const gvk = { group, version, kind: t.kind };
      const params = ['dryRun', 'fieldManager', 'fieldValidation', 'force'].map((name) => ({
        name,
        in: 'query',
        schema: { type: name === 'force' ? 'boolean' : 'string' },
        uniqueItems: true,
      }));
      paths[base] = {
        get: {
          operationId: `read${t.kind}`,
          'x-kubernetes-action': 'get',
          'x-kubernetes-group-version-kind': gvk,
          responses: {},
        },
        patch: {
          operationId: `patch${t.kind}`,
          'x-kubernetes-action': 'patch',
          'x-kubernetes-group-version-kind': gvk,
          parameters: params,
          responses: {},
        },
      };
      const id = `${group ? group.split('.').reverse().join('.') : 'io.k8s.api.core'}.${version}.${t.kind}`;
      schemas[id] = {
        type: 'object',
        'x-kubernetes-group-version-kind': [gvk],
        'x-kubernetes-preserve-unknown-fields': true,
      };
    }
    return {
      openapi: '3.0.0',
      info: { title: 'Kubernetes', version: `v${this.cluster.version.major}.${this.cluster.version.minor}.0` },
      paths,
      components: { schemas },
    };
  }

  private apiVersions(ctx: Ctx): Obj {
    return {
      kind: 'APIVersions',
      versions: ['v1'],
      serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress: ctx.req.headers.host ?? '127.0.0.1' }],
    };
  }

  apiGroupList(): Obj {
    const groups = new Map<string, string[]>();
    for (const t of this.cluster.allTypes()) {
      if (!t.group) continue;
      const vs = groups.get(t.group) ?? [];
      if (!vs.includes(t.version)) vs.push(t.version);
      groups.set(t.group, vs);
    }
    return {
      kind: 'APIGroupList',
      apiVersion: 'v1',
      groups: [...groups.entries()].map(([name, vs]) => {
        const versions = vs.map((v) => ({ groupVersion: `${name}/${v}`, version: v }));
        return { name, versions, preferredVersion: versions[0] };
      }),
    };
  }

  private resourceList(group: string, version: string, types: ResourceType[]): Obj {
    const resources: Obj[] = [];
    for (const t of types) {
      resources.push({
        name: t.resource,
        singularName: t.singular,
        namespaced: t.namespaced,
        kind: t.kind,
        verbs: t.verbs,
        ...(t.shortNames ? { shortNames: t.shortNames } : {}),
        ...(t.categories ? { categories: t.categories } : {}),
        storageVersionHash: Buffer.from(`${t.group}/${t.resource}`).toString('base64').slice(0, 11),
      });
      for (const s of t.subresources) {
        const sub: Obj = {
          name: `${t.resource}/${s}`,
          singularName: '',
          namespaced: t.namespaced,
          kind: t.kind,
          verbs: ['get', 'patch', 'update'],
        };
        if (s === 'log') sub.verbs = ['get'];
        if (s === 'eviction')
          Object.assign(sub, { group: 'policy', version: 'v1', kind: 'Eviction', verbs: ['create'] });
        if (s === 'scale') Object.assign(sub, { group: 'autoscaling', version: 'v1', kind: 'Scale' });
        if (s === 'binding') Object.assign(sub, { kind: 'Binding', verbs: ['create'] });
        if (s === 'token')
          Object.assign(sub, {
            group: 'authentication.k8s.io',
            version: 'v1',
            kind: 'TokenRequest',
            verbs: ['create'],
          });
        if (s === 'finalize') sub.verbs = ['update'];
        resources.push(sub);
      }
    }
    return {
      kind: 'APIResourceList',
      apiVersion: 'v1',
      groupVersion: group ? `${group}/${version}` : version,
      resources,
    };
  }

  // ---------- resources ----------
  private parseBody(ctx: Ctx): Obj {
    const ct = ctx.req.headers['content-type'] ?? '';
    if (ctx.body.length === 0) return {};
    if (isProtobuf(ct)) {
      try {
        return decodeProtobuf(ctx.body);
      } catch (e) {
        if (e instanceof ApiError) throw e;
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml`,
        );
      }
    }
    const text = ctx.body.toString('utf8');
    try {
      if (ct.includes('yaml')) return (parseYaml(text, { version: '1.1' }) as Obj | null) ?? {};
      return JSON.parse(text) as Obj;
    } catch (e) {
      throw badRequest(`error decoding request body: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private resource(
    ctx: Ctx,
    method: string,
    rt: ResourceType,
    ns: string | undefined,
    name: string | undefined,
    sub: string | undefined,
  ): void {
    const q = ctx.q;
    const watch = q.watch === 'true' || q.watch === '1';
    const verb =
      method === 'GET'
        ? name
          ? 'get'
          : watch
            ? 'watch'
            : 'list'
        : method === 'POST'
          ? 'create'
          : method === 'PUT'
            ? 'update'
            : method === 'PATCH'
              ? 'patch'
              : method === 'DELETE'
                ? name
                  ? 'delete'
                  : 'deletecollection'
                : '';
    if (!verb)
      throw new ApiError(405, 'MethodNotAllowed', `the server does not allow this method on the requested resource`);
    if (name && method === 'POST' && !sub)
      throw new ApiError(405, 'MethodNotAllowed', 'the server does not allow this method on the requested resource');
    // Like the apiserver's RequestInfo, a request on a named namespace (/api/v1/namespaces/foo[/status|/finalize])
    // is in namespace foo, so a RoleBinding there can grant it.
    const authzNs = rt.group === '' && rt.resource === 'namespaces' && name ? name : ns;
    this.check(ctx, { verb, group: rt.group, resource: rt.resource, subresource: sub, namespace: authzNs, name });
    const dryRun = q.dryRun === 'All';

    if (sub === 'log') return this.podLog(ctx, ns!, name!);
    if (sub === 'eviction') return this.evict(ctx, rt, ns!, name!);
    if (sub === 'scale') return this.scale(ctx, method, rt, ns, name!, dryRun);
    if (sub === 'token') return this.tokenRequest(ctx, ns!, name!);

    switch (verb) {
      case 'get':
        return this.reply(ctx, rt, this.cluster.get(rt, ns, name!));
      case 'list':
        return this.list(ctx, rt, ns);
      case 'watch':
        return this.watch(ctx, rt, ns, undefined);
      case 'create': {
        const body = this.parseBody(ctx);
        if (rt.group === 'authorization.k8s.io') return this.json(ctx.res, 201, this.accessReview(ctx, body));
        recordUpdate(undefined, body, this.manager(ctx), groupVersionOf(rt));
        const o = this.cluster.create(rt, ns, body, { dryRun });
        return this.json(ctx.res, 201, o);
      }
      case 'update': {
        const body = this.parseBody(ctx);
        const old = this.cluster.store.get(resKey(rt), rt.namespaced ? ns : undefined, name!);
        if (!old) throw notFound(rt, name!);
        recordUpdate(old, body, this.manager(ctx), groupVersionOf(rt), sub);
        return this.json(ctx.res, 200, this.cluster.update(rt, ns, name!, body, { subresource: sub, dryRun }));
      }
      case 'patch':
        return this.patch(ctx, rt, ns, name!, sub, dryRun);
      case 'delete': {
        const opts = this.deleteOpts(ctx);
        if (dryRun) return this.json(ctx.res, 200, this.cluster.get(rt, ns, name!));
        return this.json(ctx.res, 200, this.cluster.delete(rt, ns, name!, opts));
      }
      case 'deletecollection': {
        const items = this.selected(ctx, rt, ns);
        const opts = this.deleteOpts(ctx);
        for (const o of items) {
          try {
            this.cluster.delete(rt, o.metadata.namespace, o.metadata.name, opts);
          } catch {
            /* raced */
          }
        }
        return this.json(ctx.res, 200, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' });
      }
    }
  }

  private manager(ctx: Ctx): string {
    if (ctx.q.fieldManager) return ctx.q.fieldManager;
    const ua = ctx.req.headers['user-agent'] ?? 'unknown';
    return ua.split('/')[0] ?? 'unknown';
  }

  private deleteOpts(ctx: Ctx): DeleteOpts {
    return toDeleteOpts(ctx.body.length > 0 ? this.parseBody(ctx) : {}, ctx.q);
  }

  private wantsTable(ctx: Ctx): boolean {
    return (ctx.req.headers.accept ?? '').includes('as=Table');
  }

  private reply(ctx: Ctx, rt: ResourceType, o: Obj): void {
    if (this.wantsTable(ctx))
      return this.json(
        ctx.res,
        200,
        toTable(rt, [o], { resourceVersion: o.metadata.resourceVersion }, ctx.q.includeObject ?? 'Metadata'),
      );
    this.json(ctx.res, 200, o);
  }

  private filter(ctx: Ctx, rt: ResourceType, name?: string): (o: Obj) => boolean {
    const labels = parseLabelSelector(ctx.q.labelSelector);
    const fields = parseFieldSelector(ctx.q.fieldSelector);
    validateFieldSelector(rt, fields);
    return (o) =>
      (!name || o.metadata.name === name) && matchRequirements(labels, o.metadata?.labels) && matchFields(fields, o);
  }

  private selected(ctx: Ctx, rt: ResourceType, ns: string | undefined): Obj[] {
    const f = this.filter(ctx, rt);
    return this.cluster.store.list(resKey(rt), rt.namespaced ? ns : undefined).filter(f);
  }

  private list(ctx: Ctx, rt: ResourceType, ns: string | undefined): void {
    const store = this.cluster.store;
    const limit = ctx.q.limit ? Number(ctx.q.limit) : 0;
    let after = '';
    this.cluster.beforeList(resKey(rt), ctx.q);
    if (ctx.q.continue) {
      let token: { start: string; rv?: number };
      try {
        token = JSON.parse(Buffer.from(ctx.q.continue, 'base64url').toString('utf8')) as { start: string; rv?: number };
      } catch {
        throw badRequest('continue key is not valid: invalid continue token');
      }
      after = token.start;
      // As the etcd3 store: a token whose snapshot was compacted away cannot give a consistent list any more.
      if (typeof token.rv === 'number' && token.rv < store.compactedRV())
        throw new ApiError(
          410,
          'Expired',
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        );
    }
    const f = this.filter(ctx, rt);
    const items: Obj[] = [];
    let cont: string | undefined;
    let remaining = 0;
    const keys = store.listKeys(resKey(rt));
    const prefix = rt.namespaced && ns !== undefined ? `${ns}/` : '';
    for (let i = after ? store.keyIndexAfter(resKey(rt), after) : 0; i < keys.length; i++) {
      const k = keys[i]!;
      if (prefix && !k.startsWith(prefix)) {
        if (k > prefix) break;
        continue;
      }
      const o = store.peekKey(resKey(rt), k)!;
      if (rt.namespaced && ns !== undefined && o.metadata.namespace !== ns) continue;
      if (!f(o)) continue;
      if (limit > 0 && items.length >= limit) {
        if (!cont)
          cont = Buffer.from(
            JSON.stringify({ v: 'meta.k8s.io/v1', rv: store.currentRV(), start: keyOf(items[items.length - 1]!) }),
          ).toString('base64url');
        remaining++;
        continue;
      }
      items.push(o);
    }
    const meta: Obj = { resourceVersion: String(store.currentRV()) };
    if (cont) {
      meta.continue = cont;
      if (!ctx.q.labelSelector && !ctx.q.fieldSelector) meta.remainingItemCount = remaining;
    }
    if (this.wantsTable(ctx))
      return this.json(
        ctx.res,
        200,
        toTable(
          rt,
          items.map((o) => this.cluster.present(rt, clone(o))),
          meta,
          ctx.q.includeObject ?? 'Metadata',
        ),
      );
    const av = groupVersionOf(rt);
    // Serialize without cloning each item: lists of thousands of pods are the hot path.
    const head = `{"kind":"${rt.kind}List","apiVersion":"${av}","metadata":${JSON.stringify(meta)},"items":[`;
    const parts = items.map((o) => {
      const rest = { ...o };
      delete rest.apiVersion;
      delete rest.kind;
      return JSON.stringify({ apiVersion: av, kind: rt.kind, ...rest });
    });
    const text = head + parts.join(',') + ']}';
    ctx.res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) });
    ctx.res.end(text);
  }

  private watch(ctx: Ctx, rt: ResourceType, ns: string | undefined, name: string | undefined): void {
    const store = this.cluster.store;
    const f = this.filter(ctx, rt, name);
    const res = ctx.res;
    const table = this.wantsTable(ctx);
    const key = resKey(rt);
    const inScope = (o: Obj) => !rt.namespaced || ns === undefined || o.metadata.namespace === ns;
    const wrap = (o: Obj): Obj => {
      const p = this.cluster.present(rt, clone(o));
      return table
        ? toTable(rt, [p], { resourceVersion: p.metadata.resourceVersion }, ctx.q.includeObject ?? 'Metadata')
        : p;
    };
    res.writeHead(200, { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' });
    res.flushHeaders();
    const send = (type: string, o: Obj) => res.write(JSON.stringify({ type, object: o }) + '\n');
    const bookmark = (rv: number, initialEnd: boolean) =>
      send('BOOKMARK', {
        kind: rt.kind,
        apiVersion: groupVersionOf(rt),
        metadata: {
          resourceVersion: String(rv),
          ...(initialEnd ? { annotations: { 'k8s.io/initial-events-end': 'true' } } : {}),
        },
      });
    // A change that makes an object start or stop matching the selectors is ADDED or DELETED for this watch,
    // as the apiserver's watch cache reports it.
    const deliver = (e: StoreEvent) => {
      if (!inScope(e.obj)) return;
      const now = f(e.obj);
      if (e.type !== 'MODIFIED' || !e.prev) {
        if (now) send(e.type, wrap(e.obj));
        return;
      }
      const before = f(e.prev);
      if (now && before) send('MODIFIED', wrap(e.obj));
      else if (now) send('ADDED', wrap(e.obj));
      else if (before) send('DELETED', wrap(e.obj));
    };
    const rvParam = ctx.q.resourceVersion;
    const bookmarks = ctx.q.allowWatchBookmarks === 'true';
    let sentUpTo = store.currentRV();
    if (ctx.q.sendInitialEvents === 'true' || !rvParam || rvParam === '0') {
      for (const o of store.list(key)) if (inScope(o) && f(o)) send('ADDED', wrap(o));
      if (ctx.q.sendInitialEvents === 'true') bookmark(sentUpTo, true);
    } else {
      const events = store.since(Number(rvParam));
      if (!events) {
        send('ERROR', {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: `too old resource version: ${rvParam} (${store.oldestRV()})`,
          reason: 'Expired',
          code: 410,
        });
        res.end();
        return;
      }
      for (const e of events) if (e.res === key) deliver(e);
    }
    const unsub = store.subscribe((e) => {
      if (e.rv <= sentUpTo) return;
      sentUpTo = e.rv;
      if (e.res === key) deliver(e);
    });
    const timer = bookmarks ? setInterval(() => bookmark(store.currentRV(), false), 1000) : undefined;
    const timeout = ctx.q.timeoutSeconds ? setTimeout(() => stop(), Number(ctx.q.timeoutSeconds) * 1000) : undefined;
    const stop = () => {
      unsub();
      if (timer) clearInterval(timer);
      if (timeout) clearTimeout(timeout);
      this.watches.delete(stop);
      if (!res.writableEnded) res.end();
    };
    this.watches.add(stop);
    ctx.req.socket.on('close', stop);
    res.on('close', stop);
  }

  private patch(
    ctx: Ctx,
    rt: ResourceType,
    ns: string | undefined,
    name: string,
    sub: string | undefined,
    dryRun: boolean,
  ): void {
    const ct = (ctx.req.headers['content-type'] ?? '').split(';')[0]!.trim();
    const nsKey = rt.namespaced ? ns : undefined;
    const cur = this.cluster.store.get(resKey(rt), nsKey, name);
    const text = ctx.body.toString('utf8');
    if (ct === 'application/apply-patch+yaml') {
      const applied = (parseYaml(text, { version: '1.1' }) as Obj | null) ?? {};
      const manager = ctx.q.fieldManager;
      if (!manager)
        throw new ApiError(
          422,
          'Invalid',
          'PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch',
        );
      const force = ctx.q.force === 'true';
      if (!cur) {
        // Like k8s.io/apiserver handlers/patch.go: an apply that creates the object is also authorized as
        // `create` of that name (so a Role with only `patch` cannot create by server-side apply).
        this.check(ctx, {
          verb: 'create',
          group: rt.group,
          resource: rt.resource,
          subresource: sub,
          namespace: ns,
          name,
        });
        const merged = serverSideApply(undefined, applied, manager, force, groupVersionOf(rt));
        merged.metadata.name ??= name;
        const o = this.cluster.create(rt, ns, merged, { dryRun });
        return this.json(ctx.res, 201, o);
      }
      const base = this.cluster.present(rt, cur);
      let target = applied;
      if (sub === 'status')
        target = { apiVersion: applied.apiVersion, kind: applied.kind, metadata: { name }, status: applied.status };
      const merged = serverSideApply(base, target, manager, force, groupVersionOf(rt));
      if (applied.metadata?.resourceVersion && applied.metadata.resourceVersion !== cur.metadata.resourceVersion)
        throw conflictFor(rt, name);
      merged.metadata.resourceVersion = cur.metadata.resourceVersion;
      return this.json(ctx.res, 200, this.cluster.update(rt, ns, name, merged, { subresource: sub, dryRun }));
    }
    if (!cur) throw notFound(rt, name);
    let patch: unknown;
    try {
      patch = JSON.parse(text);
    } catch (e) {
      throw badRequest(`error decoding patch: ${e instanceof Error ? e.message : String(e)}`);
    }
    const base = this.cluster.present(rt, clone(cur));
    let next: Obj;
    if (ct === 'application/json-patch+json') next = applyJsonPatch(base, patch as Obj[]);
    else if (ct === 'application/merge-patch+json') next = applyMergePatch(base, patch) as Obj;
    else if (ct === 'application/strategic-merge-patch+json') {
      if (rt.crd)
        throw new ApiError(
          415,
          'UnsupportedMediaType',
          `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml`,
        );
      next = applyStrategicMergePatch(base, patch as Obj);
    } else
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml, application/strategic-merge-patch+json`,
      );
    // A patch that carries a resourceVersion is a precondition; otherwise the patch applies to the latest object.
    const prv = next.metadata?.resourceVersion;
    if (prv && prv !== cur.metadata.resourceVersion) throw conflictFor(rt, name);
    next.metadata ??= {};
    next.metadata.resourceVersion = cur.metadata.resourceVersion;
    recordUpdate(cur, next, this.manager(ctx), groupVersionOf(rt), sub);
    this.json(ctx.res, 200, this.cluster.update(rt, ns, name, next, { subresource: sub, dryRun }));
  }

  private podLog(ctx: Ctx, ns: string, name: string): void {
    const podRt = this.cluster.rt('', 'pods')!;
    const pod = this.cluster.get(podRt, ns, name);
    const containers: Obj[] = [...(pod.spec?.initContainers ?? []), ...(pod.spec?.containers ?? [])];
    let cname = ctx.q.container;
    if (!cname) {
      const main: Obj[] = pod.spec?.containers ?? [];
      if (main.length !== 1 && !pod.metadata?.annotations?.['kubectl.kubernetes.io/default-container'])
        throw badRequest(
          `a container name must be specified for pod ${name}, choose one of: [${main.map((c) => c.name).join(' ')}]`,
        );
      cname = pod.metadata?.annotations?.['kubectl.kubernetes.io/default-container'] ?? main[0]!.name;
    }
    if (!containers.some((c) => c.name === cname)) throw badRequest(`container ${cname} is not valid for pod ${name}`);
    const previous = ctx.q.previous === 'true';
    const statuses: Obj[] = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
    const st = statuses.find((s) => s.name === cname);
    if (previous) {
      if (!st?.lastState?.terminated)
        throw badRequest(`previous terminated container "${cname}" in pod "${name}" not found`);
    } else if (!st || st.state?.waiting) {
      const reason = st?.state?.waiting?.reason ?? 'ContainerCreating';
      throw badRequest(`container "${cname}" in pod "${name}" is waiting to start: ${reason}`);
    }
    let text = this.opts.logs.logs(pod, cname!, previous) ?? '';
    if (ctx.q.tailLines !== undefined) {
      const n = Number(ctx.q.tailLines);
      const lines = text.split('\n');
      if (lines[lines.length - 1] === '') lines.pop();
      text =
        n <= 0
          ? ''
          : lines
              .slice(-n)
              .map((l) => l + '\n')
              .join('');
    }
    if (ctx.q.limitBytes) text = text.slice(0, Number(ctx.q.limitBytes));
    ctx.res.writeHead(200, { 'Content-Type': 'text/plain', 'Content-Length': Buffer.byteLength(text) });
    ctx.res.end(text);
  }

  /**
   * pods/eviction like pkg/registry/core/pod/storage/eviction.go: Pending, terminal and already-deleting pods ignore
   * PodDisruptionBudgets; an unready pod may go while the budget is met (currentHealthy >= desiredHealthy > 0, the
   * default IfHealthyBudget policy) or always under `unhealthyPodEvictionPolicy: AlwaysAllow`; any other pod needs
   * disruptionsAllowed > 0. A PDB's selector matches as in policy/v1: `{}` selects every pod of the namespace, a
   * missing selector none.
   */
  private evict(ctx: Ctx, rt: ResourceType, ns: string, name: string): void {
    const body = this.parseBody(ctx);
    if (body.metadata?.name && body.metadata.name !== name)
      throw badRequest('name in URL does not match name in Eviction object');
    const del: Obj = body.deleteOptions ?? {};
    const dryRun = ctx.q.dryRun === 'All' || (Array.isArray(del.dryRun) && del.dryRun.includes('All'));
    // The Eviction's own DeleteOptions; the eviction URL's query carries only dryRun.
    const opts = toDeleteOpts(del, {});
    const pod = this.cluster.get(rt, ns, name);
    const phase = pod.status?.phase;
    const canIgnorePdb =
      !!pod.metadata.deletionTimestamp || phase === 'Succeeded' || phase === 'Failed' || phase === 'Pending';
    if (!canIgnorePdb) {
      const pdbs = this.cluster.store
        .list('policy/poddisruptionbudgets', ns)
        .filter((p) => matchLabelSelector(p.spec?.selector ?? null, pod.metadata.labels));
      if (pdbs.length > 1)
        // Returned as a Status result, not an error: code 500 and no reason.
        return this.json(ctx.res, 500, {
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: 'This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.',
          code: 500,
        });
      const pdb = pdbs[0];
      if (pdb) {
        const s = pdbStatus(this.cluster, pdb);
        const unhealthyMayGo =
          !isPodReady(pod) &&
          (pdb.spec?.unhealthyPodEvictionPolicy === 'AlwaysAllow' ||
            (s.currentHealthy >= s.desiredHealthy && s.desiredHealthy > 0));
        if (!unhealthyMayGo && s.disruptionsAllowed <= 0)
          throw new ApiError(
            429,
            'TooManyRequests',
            "Cannot evict pod as it would violate the pod's disruption budget.",
            {
              causes: [
                {
                  reason: 'DisruptionBudget',
                  message:
                    s.currentHealthy <= s.desiredHealthy
                      ? `The disruption budget ${pdb.metadata.name} needs ${s.desiredHealthy} healthy pods and has ${s.currentHealthy} currently`
                      : `The disruption budget ${pdb.metadata.name} does not allow evicting pods currently`,
                },
              ],
            },
          );
      }
    }
    if (!dryRun) {
      // The DisruptionTarget condition the eviction API adds before deleting (PodDisruptionConditions, GA in 1.31).
      if (!pod.metadata.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed') {
        const conditions: Obj[] = (pod.status?.conditions ?? []).filter((x: Obj) => x.type !== 'DisruptionTarget');
        conditions.push({
          type: 'DisruptionTarget',
          status: 'True',
          lastProbeTime: null,
          lastTransitionTime: nowTs(),
          reason: 'EvictionByEvictionAPI',
          message: 'Eviction API: evicting',
        });
        this.cluster.update(
          rt,
          ns,
          name,
          { ...pod, status: { ...(pod.status ?? {}), conditions } },
          {
            subresource: 'status',
          },
        );
      }
      this.cluster.delete(rt, ns, name, opts);
    }
    this.json(ctx.res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success' });
  }

  private scale(
    ctx: Ctx,
    method: string,
    rt: ResourceType,
    ns: string | undefined,
    name: string,
    dryRun: boolean,
  ): void {
    const o = this.cluster.get(rt, ns, name);
    const toScale = (x: Obj): Obj => ({
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: x.metadata.name,
        namespace: x.metadata.namespace,
        uid: x.metadata.uid,
        resourceVersion: x.metadata.resourceVersion,
        creationTimestamp: x.metadata.creationTimestamp,
      },
      spec: { replicas: x.spec?.replicas ?? 0 },
      status: { replicas: x.status?.replicas ?? 0, selector: selectorString(x.spec?.selector) },
    });
    if (method === 'GET') return this.json(ctx.res, 200, toScale(o));
    let replicas: number;
    if (method === 'PUT') {
      const body = this.parseBody(ctx);
      const rv = body.metadata?.resourceVersion;
      if (rv && rv !== o.metadata.resourceVersion) throw conflictFor(rt, name);
      replicas = Number(body.spec?.replicas ?? 0);
    } else {
      const ct = ctx.req.headers['content-type'] ?? '';
      const cur = toScale(o);
      const p = JSON.parse(ctx.body.toString('utf8') || '{}') as Obj;
      const next = ct.includes('json-patch') ? applyJsonPatch(cur, p as unknown as Obj[]) : applyMergePatch(cur, p);
      replicas = Number(next.spec?.replicas ?? 0);
    }
    // The write is the manager's `Update` of .spec.replicas with subresource "scale" (kubectl scale sends no
    // fieldManager: the user-agent prefix, "kubectl", names it), so a later apply of replicas conflicts with it.
    const next = clone(o);
    next.spec ??= {};
    next.spec.replicas = replicas;
    recordUpdate(o, next, this.manager(ctx), groupVersionOf(rt), 'scale');
    const saved = this.cluster.update(rt, ns, name, next, { dryRun });
    this.json(ctx.res, 200, toScale(saved));
  }

  private tokenRequest(ctx: Ctx, ns: string, name: string): void {
    this.cluster.get(this.cluster.rt('', 'serviceaccounts')!, ns, name);
    const token = this.cluster.ensureSaToken(ns, name);
    const exp = new Date(Date.now() + 3600_000).toISOString().replace(/\.\d+Z$/, 'Z');
    this.json(ctx.res, 201, {
      kind: 'TokenRequest',
      apiVersion: 'authentication.k8s.io/v1',
      metadata: { name, namespace: ns, creationTimestamp: null },
      spec: { audiences: [], expirationSeconds: 3600 },
      status: { token, expirationTimestamp: exp },
    });
  }

  private accessReview(ctx: Ctx, body: Obj): Obj {
    const ra = body.spec?.resourceAttributes;
    const nra = body.spec?.nonResourceAttributes;
    const a: Attributes = ra
      ? {
          verb: ra.verb,
          group: ra.group ?? '',
          resource: ra.resource ?? '',
          subresource: ra.subresource || undefined,
          namespace: ra.namespace || undefined,
          name: ra.name || undefined,
        }
      : { verb: nra?.verb ?? 'get', group: '', resource: '', path: nra?.path };
    const allowed = !this.opts.rbac || authorize(this.cluster.store, ctx.user, a);
    return { ...body, metadata: { creationTimestamp: null }, status: { allowed, ...(allowed ? {} : { reason: '' }) } };
  }
}

function keyOf(o: Obj): string {
  return `${o.metadata.namespace ?? ''}/${o.metadata.name}`;
}

function conflictFor(rt: ResourceType, name: string): ApiError {
  return new ApiError(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${rt.group ? `${rt.resource}.${rt.group}` : rt.resource} "${name}": the object has been modified; please apply your changes to the latest version and try again`,
    { name, group: rt.group || undefined, kind: rt.resource },
  );
}

function selectorString(sel: Obj | undefined): string {
  if (!sel) return '';
  return Object.entries(sel.matchLabels ?? {})
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(',');
}

export { nowTs };

/** DeleteOptions from a body (DELETE, or an Eviction's `deleteOptions`) and the query, as the apiserver reads them. */
function toDeleteOpts(body: Obj, q: Record<string, string | undefined>): DeleteOpts {
  const opts: DeleteOpts = {};
  const policy = body.propagationPolicy ?? q.propagationPolicy;
  if (policy) opts.propagationPolicy = policy;
  else if (body.orphanDependents === true || q.orphanDependents === 'true') opts.propagationPolicy = 'Orphan';
  const grace =
    body.gracePeriodSeconds ?? (q.gracePeriodSeconds !== undefined ? Number(q.gracePeriodSeconds) : undefined);
  if (grace !== undefined) opts.gracePeriodSeconds = grace;
  if (body.preconditions) opts.preconditions = body.preconditions;
  return opts;
}
