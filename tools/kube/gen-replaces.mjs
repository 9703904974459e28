#!/usr/bin/env node
// Rewrites the k8s.io replace directives (and the etcd pin) of tools/kube/go.mod from k8s.io/kubernetes' own go.mod.
//
// k8s.io/kubernetes points its staging modules (k8s.io/api, k8s.io/client-go, ...) at ./staging/src/... with
// replace directives. Those apply only inside its own repository, so a module that requires k8s.io/kubernetes must
// say itself which published version each staging module is: v0.X.Y for Kubernetes v1.X.Y. The list changes between
// releases (modules come and go), so it is read from upstream's go.mod instead of being kept by hand. The etcd
// server is pinned to the version Kubernetes itself pins, for the same reason. Edits go through `go mod edit`, so
// the file stays in the canonical form `go mod tidy` keeps.
//
// Usage: node tools/kube/gen-replaces.mjs [--check]   (then `go mod tidy` in tools/kube)
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const goModPath = join(here, 'go.mod');
const ETCD = 'go.etcd.io/etcd/server/v3';

/** Staging module paths that upstream replaces with ./staging/src/<path>, sorted. */
export function stagingModules(upstreamGoMod) {
  const mods = new Set();
  for (const m of upstreamGoMod.matchAll(
    /^\s*(?:replace\s+)?(k8s\.io\/[\w.-]+)\s+=>\s+\.\/staging\/src\/(\S+)\s*$/gm,
  )) {
    if (m[1] !== m[2]) throw new Error(`unexpected staging replace: ${m[1]} => ./staging/src/${m[2]}`);
    mods.add(m[1]);
  }
  if (mods.size === 0) throw new Error('no ./staging/src replace directives found in k8s.io/kubernetes go.mod');
  return [...mods].sort();
}

/** The version upstream requires for a module path, or undefined. */
export function requiredVersion(upstreamGoMod, path) {
  const escaped = path.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const m = new RegExp(`^\\s*(?:require\\s+)?${escaped}\\s+(v\\S+)`, 'm').exec(upstreamGoMod);
  return m?.[1];
}

/** v1.36.3 → v0.36.3: staging modules are published with major version 0. */
export function stagingVersion(kubeVersion) {
  if (!/^v1\.\d+\.\d+$/.test(kubeVersion)) throw new Error(`not a Kubernetes release version: ${kubeVersion}`);
  return kubeVersion.replace(/^v1\./, 'v0.');
}

/** The `go mod edit` flags that make the wrapper's go.mod match upstream (none when it already does). */
export function editFlags(current, upstreamGoMod) {
  const kube = current.Require?.find((r) => r.Path === 'k8s.io/kubernetes')?.Version;
  if (!kube) throw new Error('tools/kube/go.mod does not require k8s.io/kubernetes');
  const staging = stagingVersion(kube);
  const want = new Map(stagingModules(upstreamGoMod).map((m) => [m, staging]));
  const flags = [];
  for (const r of current.Replace ?? []) {
    const ok = want.get(r.Old.Path) === r.New.Version && r.New.Path === r.Old.Path && !r.Old.Version;
    if (r.Old.Path.startsWith('k8s.io/') && !ok) flags.push(`-dropreplace=${r.Old.Path}`);
    if (ok) want.delete(r.Old.Path);
  }
  for (const [m, v] of want) flags.push(`-replace=${m}=${m}@${v}`);
  const etcd = requiredVersion(upstreamGoMod, ETCD);
  if (!etcd) throw new Error(`k8s.io/kubernetes ${kube} go.mod does not pin ${ETCD}`);
  if (current.Require?.find((r) => r.Path === ETCD)?.Version !== etcd) flags.push(`-require=${ETCD}@${etcd}`);
  return { kube, flags };
}

function go(args) {
  return execFileSync('go', args, { cwd: here, encoding: 'utf8', env: { ...process.env, GOFLAGS: '-mod=mod' } });
}

function main() {
  const check = process.argv.includes('--check');
  const current = JSON.parse(go(['mod', 'edit', '-json']));
  const kube = current.Require?.find((r) => r.Path === 'k8s.io/kubernetes')?.Version;
  if (!kube) throw new Error('tools/kube/go.mod does not require k8s.io/kubernetes');
  // Downloads (through GOPROXY) or finds in the module cache the upstream module; GoMod is its go.mod file.
  const info = JSON.parse(go(['mod', 'download', '-json', `k8s.io/kubernetes@${kube}`]));
  if (info.Error) throw new Error(`go mod download k8s.io/kubernetes@${kube}: ${info.Error}`);
  const upstream = readFileSync(info.GoMod, 'utf8');
  const { flags } = editFlags(current, upstream);
  if (flags.length === 0) {
    console.log(`tools/kube/go.mod: up to date with k8s.io/kubernetes ${kube}`);
    return;
  }
  if (check) {
    console.error(`tools/kube/go.mod is out of date (${flags.join(' ')}): run node tools/kube/gen-replaces.mjs`);
    process.exitCode = 1;
    return;
  }
  // Drop every k8s.io replace, then append them as one block (go mod edit would write one line each).
  const drops = (current.Replace ?? [])
    .filter((r) => r.Old.Path.startsWith('k8s.io/'))
    .map((r) => `-dropreplace=${r.Old.Path}`);
  const other = flags.filter((f) => f.startsWith('-require='));
  go(['mod', 'edit', ...drops, ...other]);
  const staging = stagingVersion(kube);
  const block = stagingModules(upstream)
    .map((m) => `\t${m} => ${m} ${staging}\n`)
    .join('');
  writeFileSync(goModPath, `${readFileSync(goModPath, 'utf8').trimEnd()}\n\nreplace (\n${block})\n`);
  go(['mod', 'edit', '-fmt']);
  console.log(`tools/kube/go.mod: ${flags.length} edit(s) for k8s.io/kubernetes ${kube}; now run go mod tidy`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
