#!/usr/bin/env node
// Generates the values.schema.json files of the master chart and its subcharts (one source for the shared pieces:
// image, resources, the restricted Pod Security Standard). JSON Schema subset that Helm 3 (draft-07) and Helm 4
// (2020-12) both enforce: inline schemas only, no $ref, no unevaluatedProperties.
//   node charts/tools/gen-schemas.mjs          write the files
//   node charts/tools/gen-schemas.mjs --check  exit 1 when a committed file differs
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const chart = join(dirname(fileURLToPath(import.meta.url)), '../master-chart');
const check = process.argv.includes('--check');
let stale = 0;
function emit(rel, schema) {
  const file = join(chart, rel);
  const text = JSON.stringify(schema, null, 2) + '\n';
  if (!check) return writeFileSync(file, text);
  let old = '';
  try {
    old = readFileSync(file, 'utf8');
  } catch {
    // missing counts as stale
  }
  if (old !== text) {
    console.error(`stale: ${rel} (run node charts/tools/gen-schemas.mjs)`);
    stale++;
  }
}
const S = 'http://json-schema.org/draft-07/schema#';
const str = (o = {}) => ({ type: 'string', ...o });
const int = (min, max) => ({ type: 'integer', ...(min !== undefined ? { minimum: min } : {}), ...(max !== undefined ? { maximum: max } : {}) });
const bool = { type: 'boolean' };
const obj = (properties, o = {}) => ({ type: 'object', additionalProperties: false, properties, ...o });
const port = int(1, 65535);
const dnsLabel = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$';
const crdName = str({ pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+(@v[0-9]+((alpha|beta)[0-9]+)?)?$' });
const crdList = { type: 'array', items: crdName, uniqueItems: true };
const image = (withPull = true) =>
  obj({ repository: str({ minLength: 1 }), tag: str({ minLength: 1, pattern: '^[^:@\\s]+$' }), ...(withPull ? { pullPolicy: str({ enum: ['Always', 'IfNotPresent', 'Never'] }) } : {}) }, { required: withPull ? ['repository', 'tag', 'pullPolicy'] : ['repository', 'tag'] });
const quantity = { type: ['string', 'number'], pattern: '^[0-9.]+([eE][0-9]+|[mkMGTPE]|[KMGTPE]i)?$' };
const resources = obj(
  { requests: { type: 'object', additionalProperties: quantity }, limits: { type: 'object', additionalProperties: quantity } },
  { description: 'Container resources' },
);
// The restricted Pod Security Standard, enforced on the values so an override cannot weaken it silently.
const seccomp = { type: 'object', required: ['type'], properties: { type: str({ enum: ['RuntimeDefault', 'Localhost'] }) } };
const podSecurityContext = {
  type: 'object',
  required: ['runAsNonRoot', 'seccompProfile'],
  properties: { runAsNonRoot: { const: true }, runAsUser: int(1), runAsGroup: int(0), fsGroup: int(0), fsGroupChangePolicy: str({ enum: ['Always', 'OnRootMismatch'] }), seccompProfile: seccomp },
};
const securityContext = {
  type: 'object',
  required: ['allowPrivilegeEscalation', 'capabilities', 'runAsNonRoot'],
  properties: {
    runAsNonRoot: { const: true },
    allowPrivilegeEscalation: { const: false },
    privileged: { const: false },
    readOnlyRootFilesystem: bool,
    capabilities: { type: 'object', required: ['drop'], properties: { drop: { type: 'array', contains: { const: 'ALL' } }, add: { type: 'array', maxItems: 1, items: { const: 'NET_BIND_SERVICE' } } } },
    seccompProfile: seccomp,
  },
};
// Keys the master chart and the plan tooling put under every component.
const componentKeys = { global: { type: 'object' }, enabled: bool, requiresCRDs: bool, requiredCRDs: crdList, optionalCRDs: crdList };
const sub = (title, properties) => ({ $schema: S, title, ...obj({ ...componentKeys, fullnameOverride: str({ pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$', maxLength: 52 }), ...properties }) });
const probe = (keys) => obj(Object.fromEntries(keys.map((k) => [k, int(1)])));
const svc = (p) => obj({ type: str({ enum: ['ClusterIP', 'NodePort', 'LoadBalancer'] }), port: p }, { required: ['type', 'port'] });
const podinfoCommon = { image: image(), replicaCount: int(1), podDisruptionBudget: obj({ enabled: bool }), resources, podSecurityContext, securityContext };

const schemas = {
  database: sub('database', {
    image: image(),
    auth: obj({ username: str({ minLength: 1, pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$' }), database: str({ minLength: 1, pattern: '^[a-zA-Z_][a-zA-Z0-9_]*$' }), password: str(), existingSecret: str() }, { required: ['username', 'database'] }),
    service: svc(port),
    persistence: obj({ size: str({ pattern: '^[0-9]+(Mi|Gi|Ti)$' }), storageClass: str(), accessModes: { type: 'array', minItems: 1, items: str({ enum: ['ReadWriteOnce', 'ReadWriteOncePod', 'ReadWriteMany'] }) } }, { required: ['size'] }),
    resources, podSecurityContext, securityContext,
    startupProbe: probe(['failureThreshold', 'periodSeconds']),
    livenessProbe: probe(['failureThreshold', 'periodSeconds']),
    readinessProbe: probe(['failureThreshold', 'periodSeconds']),
    terminationGracePeriodSeconds: int(1),
  }),
  cache: sub('cache', { image: image(), replicaCount: int(1), maxMemory: str({ pattern: '^[0-9]+(b|kb|mb|gb)?$' }), maxMemoryPolicy: str({ enum: ['noeviction', 'allkeys-lru', 'allkeys-lfu', 'allkeys-random', 'volatile-lru', 'volatile-lfu', 'volatile-random', 'volatile-ttl'] }), service: svc(port), resources, podSecurityContext, securityContext }),
  api: sub('api', {
    ...podinfoCommon,
    logLevel: str({ enum: ['debug', 'info', 'warn', 'error'] }),
    database: obj({ host: str({ minLength: 1 }), port, name: str({ minLength: 1 }), secretName: str({ pattern: dnsLabel }), usernameKey: str({ minLength: 1 }), passwordKey: str({ minLength: 1 }) }, { required: ['host', 'port', 'secretName', 'passwordKey'] }),
    cache: obj({ host: str({ minLength: 1 }), port }, { required: ['host', 'port'] }),
    service: svc(port),
    serviceMonitor: obj({ enabled: bool, interval: str({ pattern: '^[0-9]+(ms|s|m|h)$' }) }),
  }),
  frontend: sub('frontend', {
    ...podinfoCommon,
    apiUrl: str({ pattern: '^(https?://[^\\s]+)?$' }),
    uiMessage: str(),
    service: svc(port),
    ingress: obj({ enabled: bool, className: str(), host: str({ pattern: '^(\\*\\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$' }), annotations: { type: 'object', additionalProperties: str() }, tlsSecretName: str() }),
  }),
  monitoring: sub('monitoring', {
    operator: obj({ image: image(), configReloaderImage: image(false), logLevel: str({ enum: ['all', 'debug', 'info', 'warn', 'error', 'none'] }), resources }),
    prometheus: obj({ enabled: bool, image: image(false), replicas: int(1), retention: str({ pattern: '^[0-9]+(ms|s|m|h|d|w|y)$' }), scrapeInterval: str({ pattern: '^[0-9]+(ms|s|m|h)$' }), resources, storage: obj({ size: str({ pattern: '^([0-9]+(Mi|Gi|Ti))?$' }), storageClass: str() }) }),
    serviceMonitors: obj({ enabled: bool }),
    rules: obj({ enabled: bool, targetDownFor: str({ pattern: '^[0-9]+(s|m|h)$' }) }),
    podSecurityContext, securityContext, prometheusSecurityContext: podSecurityContext,
  }),
  kyverno: sub('kyverno', {
    crdProfile: str({ enum: ['kyverno', 'kyverno-1.12'] }),
    image: image(), replicaCount: int(1), logLevel: int(0, 10), webhookTimeoutSeconds: int(1, 30), resources,
    serviceMonitor: obj({ enabled: bool, interval: str({ pattern: '^[0-9]+(ms|s|m|h)$' }) }),
    policies: obj({
      namespaces: { type: 'array', items: str({ pattern: dnsLabel }), uniqueItems: true },
      failureAction: str({ enum: ['Audit', 'Enforce'] }),
      failurePolicy: str({ enum: ['Ignore', 'Fail'] }),
      requireTierLabels: obj({ enabled: bool }),
      podSecurityRestricted: obj({ enabled: bool }),
    }),
    podSecurityContext, securityContext,
  }),
};
for (const [name, schema] of Object.entries(schemas)) emit(`charts/${name}/values.schema.json`, schema);

// Master chart: global strictly; each component's switch and CRD lists (its other keys are the subchart's schema's).
const component = (extra = {}) => ({ type: 'object', required: ['enabled'], properties: { enabled: bool, requiresCRDs: bool, requiredCRDs: crdList, optionalCRDs: crdList, ...extra } });
const master = {
  $schema: S,
  title: 'helm-tiers master chart',
  type: 'object',
  additionalProperties: false,
  required: ['global', 'database', 'cache', 'api', 'frontend', 'monitoring', 'kyverno'],
  properties: {
    global: obj(
      {
        tiers: obj(
          {
            component: str({ pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$', maxLength: 63 }),
            tier: int(0),
            dependsOn: { type: 'array', uniqueItems: true, items: str({ pattern: dnsLabel, maxLength: 53 }) },
            labelPrefix: str({ pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?/$', maxLength: 254 }),
            plan: str({ maxLength: 63 }),
            partOfLabel: bool,
            // plan/revision.ts: 16 hex characters; empty when the tooling sets none.
            planRevision: str({ pattern: '^([0-9a-f]{16})?$' }),
          },
          { required: ['component', 'tier', 'dependsOn', 'labelPrefix'] },
        ),
        autoInstallCRDs: bool,
        autoFixPods: bool,
        hooks: obj(
          {
            enabled: bool,
            image: image(),
            outputLogs: bool,
            logLevel: str({ enum: ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] }),
            helmTimeoutSeconds: int(60),
            deadlineMarginSeconds: int(5),
            timeouts: obj({ crdCheck: int(10), crdInstall: int(10), dependencyCheck: int(10), podCheck: int(10) }, { required: ['crdCheck', 'crdInstall', 'dependencyCheck', 'podCheck'] }),
            graceSeconds: int(0),
            tailLines: int(0, 10000),
            backoffLimit: int(0, 6),
            resources,
          },
          { required: ['enabled', 'image', 'helmTimeoutSeconds', 'deadlineMarginSeconds', 'timeouts', 'resources'] },
        ),
      },
      { required: ['tiers', 'autoInstallCRDs', 'autoFixPods', 'hooks'] },
    ),
    database: component(),
    cache: component(),
    api: component(),
    frontend: component(),
    monitoring: component(),
    kyverno: component({ crdProfile: str({ enum: ['kyverno', 'kyverno-1.12'] }) }),
  },
};
emit('values.schema.json', master);
if (stale > 0) process.exitCode = 1;
