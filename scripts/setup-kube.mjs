#!/usr/bin/env node
// Builds a real Kubernetes control plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler) from Go
// modules into .tools/kube/<version>/bin, for the cluster/real launcher and its tests.
//
// There are no release downloads here: the binaries are compiled from the wrapper module tools/kube (its go.mod
// pins k8s.io/kubernetes and lists the four main packages as `tool` directives; go.sum is complete, so the build
// only reads modules through GOPROXY). A stamp records a hash of go.mod, go.sum, the build flags and `go version`;
// when it matches and the binaries are there, nothing is built. Needs Go >= the go.mod's `go` line (exit 69 if not).
//
// Usage: node scripts/setup-kube.mjs [--force]
// The Go caches are the usual ones (GOMODCACHE, GOCACHE from the environment or go env).
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const moduleDir = join(root, 'tools', 'kube');
const EX_UNAVAILABLE = 69;

/** The binaries, by output name: the main package each comes from and whether it carries the Kubernetes version. */
const BINARIES = [
  { name: 'etcd', pkg: 'go.etcd.io/etcd/server/v3', kube: false },
  { name: 'kube-apiserver', pkg: 'k8s.io/kubernetes/cmd/kube-apiserver', kube: true },
  { name: 'kube-controller-manager', pkg: 'k8s.io/kubernetes/cmd/kube-controller-manager', kube: true },
  { name: 'kube-scheduler', pkg: 'k8s.io/kubernetes/cmd/kube-scheduler', kube: true },
];

class Unavailable extends Error {}

function log(msg) {
  console.log(`setup-kube: ${msg}`);
}

/** Build environment: no VCS stamping (the module cache has no .git), go.sum must already be complete, static. */
function goEnv() {
  return { ...process.env, GOFLAGS: '-buildvcs=false -mod=readonly', CGO_ENABLED: '0' };
}

/** `go <args>` in the wrapper module; Unavailable when there is no usable go. */
function go(args) {
  const r = spawnSync('go', args, { cwd: moduleDir, env: goEnv(), encoding: 'utf8' });
  if (r.error && r.error.code === 'ENOENT')
    throw new Unavailable(
      'Go is not installed (no `go` on PATH). Building the control plane needs Go >= 1.26: install it from ' +
        'https://go.dev/dl or your distribution (e.g. the golang-go package when it is new enough), then rerun ' +
        '`npm run setup:kube`.',
    );
  if (r.error) throw r.error;
  if (r.status !== 0) {
    const err = (r.stderr || r.stdout).trim();
    if (/go\.mod requires go >=|toolchain not available|invalid go version/.test(err))
      throw new Unavailable(
        `the installed Go is too old for tools/kube/go.mod: ${err}\nInstall Go >= 1.26 (https://go.dev/dl), or ` +
          'let it fetch the toolchain through the module proxy (GOTOOLCHAIN=auto), then rerun `npm run setup:kube`.',
      );
    throw new Error(`go ${args.join(' ')} failed:\n${err}`);
  }
  return r.stdout.trim();
}

function compareGoVersions(a, b) {
  const pa = a
    .replace(/^go/, '')
    .split(/[.a-z]/)
    .map(Number);
  const pb = b
    .replace(/^go/, '')
    .split(/[.a-z]/)
    .map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] || 0) !== (pb[i] || 0)) return (pa[i] || 0) - (pb[i] || 0);
  return 0;
}

function plan() {
  const goMod = readFileSync(join(moduleDir, 'go.mod'), 'utf8');
  const goSum = readFileSync(join(moduleDir, 'go.sum'), 'utf8');
  const version = /^\s*k8s\.io\/kubernetes\s+(v1\.(\d+)\.\d+)\b/m.exec(goMod);
  const need = /^go\s+(\S+)$/m.exec(goMod);
  if (!version || !need) throw new Error('tools/kube/go.mod: no k8s.io/kubernetes v1.X.Y requirement or go line');
  // Run inside the module: with GOTOOLCHAIN=auto this is the toolchain that will actually build.
  const goVersion = go(['env', 'GOVERSION']);
  if (compareGoVersions(goVersion, need[1]) < 0)
    throw new Unavailable(
      `Go ${goVersion} is older than the go ${need[1]} that tools/kube/go.mod needs: install a newer Go ` +
        '(https://go.dev/dl) and rerun `npm run setup:kube`.',
    );
  const goVersionLine = go(['version']);
  const [kubeVersion, minor] = [version[1], version[2]];
  // buildDate is the release time of the module (the proxy's .info), reproducible unlike "now". It follows from
  // the version, which the hash covers, so it is looked up only when building: the up-to-date check stays offline.
  const ldflags = (b, buildDate) =>
    [
      '-s',
      '-w',
      ...(b.kube
        ? [
            `gitVersion=${kubeVersion}`,
            'gitMajor=1',
            `gitMinor=${minor}`,
            // No git checkout: an empty commit instead of the unexpanded "$Format:%H$" placeholder.
            'gitCommit=',
            'gitTreeState=clean',
            `buildDate=${buildDate}`,
          ].map((v) => `-X k8s.io/component-base/version.${v}`)
        : []),
    ].join(' ');
  const builds = BINARIES.map((b) => ({
    ...b,
    args: (buildDate) => ['build', '-trimpath', '-ldflags', ldflags(b, buildDate), '-o'],
  }));
  const hash = createHash('sha256');
  for (const part of [
    goMod,
    goSum,
    goVersionLine,
    JSON.stringify(builds.map((b) => [b.name, b.pkg, b.args('<release time>')])),
    JSON.stringify(goEnvSubset()),
  ])
    hash.update(part).update('\0');
  const outDir = join(root, '.tools', 'kube', kubeVersion);
  return { kubeVersion, builds, hash: hash.digest('hex'), outDir, binDir: join(outDir, 'bin'), goVersionLine };
}

function goEnvSubset() {
  const e = goEnv();
  return { GOFLAGS: e.GOFLAGS, CGO_ENABLED: e.CGO_ENABLED, GOOS: e.GOOS ?? '', GOARCH: e.GOARCH ?? '' };
}

function upToDate(p) {
  const stampFile = join(p.outDir, 'stamp.json');
  if (!existsSync(stampFile)) return false;
  let stamp;
  try {
    stamp = JSON.parse(readFileSync(stampFile, 'utf8'));
  } catch {
    return false;
  }
  if (stamp.hash !== p.hash) return false;
  return p.builds.every((b) => {
    const file = join(p.binDir, b.name);
    return existsSync(file) && statSync(file).size === stamp.sizes?.[b.name] && (statSync(file).mode & 0o111) !== 0;
  });
}

function mib(bytes) {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

function build(p) {
  mkdirSync(p.binDir, { recursive: true });
  rmSync(join(p.outDir, 'stamp.json'), { force: true });
  log(`building Kubernetes ${p.kubeVersion} control plane with ${p.goVersionLine}`);
  const info = JSON.parse(go(['mod', 'download', '-json', `k8s.io/kubernetes@${p.kubeVersion}`]));
  const buildDate = info.Info ? JSON.parse(readFileSync(info.Info, 'utf8')).Time : '1970-01-01T00:00:00Z';
  const sizes = {};
  const total = Date.now();
  for (const b of p.builds) {
    const out = join(p.binDir, b.name);
    const tmp = `${out}.partial`;
    const started = Date.now();
    log(`go build ${b.pkg} -> ${relative(root, out)} ...`);
    const r = spawnSync('go', [...b.args(buildDate), tmp, b.pkg], { cwd: moduleDir, env: goEnv(), stdio: 'inherit' });
    if (r.error) throw r.error;
    if (r.status !== 0) {
      rmSync(tmp, { force: true });
      throw new Error(`go build ${b.pkg} failed (exit ${r.status ?? r.signal})`);
    }
    renameSync(tmp, out);
    sizes[b.name] = statSync(out).size;
    log(`  ${b.name}: ${((Date.now() - started) / 1000).toFixed(1)} s, ${mib(sizes[b.name])}`);
  }
  writeFileSync(
    join(p.outDir, 'stamp.json'),
    JSON.stringify({ hash: p.hash, version: p.kubeVersion, go: p.goVersionLine, sizes }, null, 2) + '\n',
  );
  log(`built in ${((Date.now() - total) / 1000).toFixed(1)} s`);
}

function check(p) {
  // A cheap sanity check that the stamping worked: kube-apiserver reports the pinned version.
  const v = execFileSync(join(p.binDir, 'kube-apiserver'), ['--version'], { encoding: 'utf8' }).trim();
  if (!v.endsWith(p.kubeVersion)) throw new Error(`kube-apiserver --version says "${v}", expected ${p.kubeVersion}`);
}

function main() {
  const started = Date.now();
  try {
    const p = plan();
    if (!process.argv.includes('--force') && upToDate(p)) {
      log(`Kubernetes ${p.kubeVersion} present in ${relative(root, p.binDir)} (stamp matches, nothing to build)`);
    } else {
      build(p);
      check(p);
      log(`Kubernetes ${p.kubeVersion} installed in ${relative(root, p.binDir)}`);
    }
    log(`done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    console.error(`setup-kube: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = err instanceof Unavailable ? EX_UNAVAILABLE : 1;
  }
}

main();
