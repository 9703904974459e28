/**
 * CRD manifests shipped in the image (/crds). Parsing a 1.4 MB CRD costs about a second, so files are found by the
 * upstream naming convention `<group>_<plural>.yaml` first and parsed only when a CRD must be compared or applied;
 * other files are scanned only if the convention misses.
 */
import { CRD_MANIFEST_HASH_ANNOTATION } from '../../../core/labels.js';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type * as Yaml from 'yaml';
import { HookError, HookErrorCodes } from '../errors.js';
import type { Crd } from '../k8s/types.js';
import type { CrdRequirement } from './selection.js';

export interface CrdManifest {
  name: string;
  file: string;
  object: Record<string, unknown>;
  hash: string;
}

function listFiles(dir: string): string[] {
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch (err) {
    throw new HookError(
      HookErrorCodes.CRD_MANIFEST,
      `cannot read the CRD directory ${dir}: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
  const out: string[] = [];
  for (const e of entries.sort()) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...listFiles(p));
    else if (/\.(ya?ml|json)$/.test(e)) out.push(p);
  }
  return out;
}

/** Canonical JSON (sorted keys) so that the hash does not depend on key order or YAML formatting. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonicalJson).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .filter((k) => o[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${canonicalJson(o[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(v);
}

export function manifestHash(obj: Record<string, unknown>): string {
  return createHash('sha256').update(canonicalJson(obj)).digest('hex');
}

function parseCrdFile(file: string, yaml: YamlParser): CrdManifest[] {
  const text = readFileSync(file, 'utf8');
  const out: CrdManifest[] = [];
  // YAML 1.1: what the API server's go-yaml reads.
  for (const doc of yaml.parseAllDocuments(text, { version: '1.1' })) {
    if (!('errors' in doc)) continue;
    if (doc.errors.length > 0)
      throw new HookError(HookErrorCodes.CRD_MANIFEST, `${file}: invalid YAML: ${doc.errors[0]?.message ?? ''}`);
    const obj: unknown = doc.toJS({ maxAliasCount: -1 });
    if (!obj || typeof obj !== 'object') continue;
    const o = obj as { kind?: unknown; metadata?: { name?: unknown } };
    if (o.kind !== 'CustomResourceDefinition' || typeof o.metadata?.name !== 'string') continue;
    out.push({
      name: o.metadata.name,
      file,
      object: obj as Record<string, unknown>,
      hash: manifestHash(obj as Record<string, unknown>),
    });
  }
  return out;
}

/** The part of the `yaml` library the store needs: passed in, so the bundles load it only when installing. */
export type YamlParser = Pick<typeof Yaml, 'parseAllDocuments'>;

/** A store over `dir`, loading the YAML parser on demand (`--help` and plain checks never pay for it). */
export async function openManifestStore(dir: string): Promise<ManifestStore> {
  return new ManifestStore(dir, await import('yaml'));
}

export class ManifestStore {
  private readonly cache = new Map<string, CrdManifest>();
  private scanned = false;
  constructor(
    readonly dir: string,
    private readonly yaml: YamlParser,
  ) {}

  /** The manifest of CRD `plural.group`, or undefined when the directory has none. */
  get(name: string): CrdManifest | undefined {
    const hit = this.cache.get(name);
    if (hit) return hit;
    const dot = name.indexOf('.');
    const conventional = `${name.slice(dot + 1)}_${name.slice(0, dot)}`;
    const files = listFiles(this.dir);
    for (const f of files.filter((f) =>
      new RegExp(`(^|/)${conventional.replace(/\./g, '\\.')}\\.(ya?ml|json)$`).test(f),
    )) {
      for (const m of parseCrdFile(f, this.yaml)) this.cache.set(m.name, m);
      const found = this.cache.get(name);
      if (found) return found;
    }
    if (!this.scanned) {
      this.scanned = true;
      for (const f of files) {
        // Cheap prefilter: only parse files that mention the CRD's name.
        if (!readFileSync(f, 'utf8').includes(name)) continue;
        for (const m of parseCrdFile(f, this.yaml)) this.cache.set(m.name, m);
      }
    }
    return this.cache.get(name);
  }
}

/**
 * client-node renames some JSON-schema attributes when it deserializes a CRD (`x-kubernetes-*` → `x_kubernetes_*`,
 * `$ref` → `ref`, `default` → `_default`, `enum` → `_enum`): look a key up under both names.
 */
const RENAMED: Readonly<Record<string, string>> = {
  $ref: 'ref',
  $schema: 'schema',
  default: '_default',
  enum: '_enum',
};
function lookup(have: Record<string, unknown>, key: string): unknown {
  if (key in have) return have[key];
  return have[RENAMED[key] ?? key.replace(/-/g, '_')];
}

/**
 * True when every field of `want` is present with the same value in `have` (which may carry extra, server-defaulted
 * fields). Arrays must have the same length and match element-wise.
 */
export function isSubset(want: unknown, have: unknown): boolean {
  if (Array.isArray(want)) {
    return Array.isArray(have) && want.length === have.length && want.every((w, i) => isSubset(w, have[i]));
  }
  if (want && typeof want === 'object') {
    if (!have || typeof have !== 'object' || Array.isArray(have)) return false;
    const h = have as Record<string, unknown>;
    return Object.entries(want as Record<string, unknown>).every(
      ([k, v]) => v === undefined || isSubset(v, lookup(h, k)),
    );
  }
  return want === have;
}

/**
 * Whether the cluster's CRD matches the pinned manifest: it carries our hash annotation with the manifest's hash, or
 * (installed by someone else) its spec contains every field of the manifest's spec.
 */
export function matchesManifest(
  manifest: CrdManifest,
  served: { metadata?: { annotations?: Record<string, string> }; spec?: unknown } | undefined,
): boolean {
  if (!served) return false;
  if (served.metadata?.annotations?.[CRD_MANIFEST_HASH_ANNOTATION] === manifest.hash) return true;
  return isSubset(manifest.object.spec, served.spec);
}

/** Names of the versions an object (manifest or cluster CRD) lists with `served: true`. */
export function servedVersions(obj: { spec?: unknown } | undefined): string[] {
  const versions = (obj?.spec as { versions?: unknown } | undefined)?.versions;
  if (!Array.isArray(versions)) return [];
  return versions
    .filter((v): v is { name: string; served: true } => {
      const o = v as { name?: unknown; served?: unknown } | null;
      return typeof o?.name === 'string' && o.served === true;
    })
    .map((v) => v.name);
}

/**
 * The field managers of an object's main resource (metadata.managedFields), each once, in order. Entries of a
 * subresource (the API server writing `status`) own no spec field and are left out.
 */
export function fieldManagers(crd: Crd | undefined): string[] {
  const main = (crd?.metadata?.managedFields ?? []).filter((f) => !f.subresource);
  return [...new Set(main.map((f) => f.manager ?? '(unnamed)'))];
}

/**
 * What crd-install does with one required CRD that has a manifest (hooks/README.md, "crd-install"):
 * - `create`: the CRD does not exist;
 * - `upgrade`: the CRD is *outdated*: the check needs version V (`plural.group@V`), the cluster's CRD does not list V
 *   with `served: true`, and the manifest does;
 * - `unfixable`: as `upgrade`, but the manifest does not serve V either (applying it would not help);
 * - `unchanged`: it matches the pinned manifest (our hash annotation, or its spec contains the manifest's);
 * - `keep`: it exists and serves what the check needs but differs from the pinned manifest (typically a newer CRD
 *   installed by the operator's own chart): left alone, never downgraded.
 * Existence and served versions decide; Established/NamesAccepted do not: a CRD that exists but is not Established yet
 * is waited for, not re-applied (the condition is set by the API server moments after creation, and a name clash
 * with another CRD is not fixed by re-applying the same names).
 */
export type InstallPlan =
  | { action: 'create' }
  | { action: 'upgrade'; version: string; managers: string[] }
  | { action: 'unfixable'; version: string }
  | { action: 'unchanged' }
  | { action: 'keep'; managers: string[] };

export function planInstall(req: CrdRequirement, manifest: CrdManifest, crd: Crd | undefined): InstallPlan {
  if (!crd) return { action: 'create' };
  if (req.version !== undefined && !servedVersions(crd).includes(req.version)) {
    return servedVersions(manifest.object).includes(req.version)
      ? { action: 'upgrade', version: req.version, managers: fieldManagers(crd) }
      : { action: 'unfixable', version: req.version };
  }
  if (matchesManifest(manifest, crd)) return { action: 'unchanged' };
  return { action: 'keep', managers: fieldManagers(crd) };
}

/** The object sent by server-side apply: the manifest plus the hash annotation; status and server fields dropped. */
export function applyBody(manifest: CrdManifest): Record<string, unknown> {
  const rest = { ...manifest.object };
  delete rest.status;
  const meta = { ...((rest.metadata as Record<string, unknown> | undefined) ?? {}) };
  delete meta.creationTimestamp;
  delete meta.resourceVersion;
  delete meta.uid;
  meta.annotations = {
    ...(meta.annotations ?? {}),
    [CRD_MANIFEST_HASH_ANNOTATION]: manifest.hash,
  };
  return { ...rest, apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: meta };
}
