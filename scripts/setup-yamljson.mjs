#!/usr/bin/env node
// Builds the conformance suite's YAML-to-JSON oracle (tools/yamljson: sigs.k8s.io/yaml's YAMLToJSON behind
// k8s.io/apimachinery's document reader, as Kubernetes and Helm read manifests) into .tools/yamljson/yamljson.
//
// A stamp records a hash of the module's sources (go.mod, go.sum, *.go), the build flags and `go version`; when it
// matches and the binary is there, nothing is built, so a rerun costs one `go version`. Without Go, a binary whose
// stamp matches the sources is kept; otherwise the script exits 69 (EX_UNAVAILABLE) and says what to install.
// go.sum is complete: the build only reads modules through GOPROXY (-mod=readonly).
//
// Usage: node scripts/setup-yamljson.mjs [--force]
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const moduleDir = join(root, 'tools', 'yamljson');
const outDir = join(root, '.tools', 'yamljson');
const binary = join(outDir, 'yamljson');
const stampFile = join(outDir, 'stamp.json');
const EX_UNAVAILABLE = 69;
const BUILD_ARGS = ['build', '-trimpath', '-ldflags=-s -w'];

class Unavailable extends Error {}

function log(msg) {
  console.log(`setup-yamljson: ${msg}`);
}

/** No VCS stamping (the module cache has no .git), go.sum must already be complete, a static binary. */
function goEnv() {
  return { ...process.env, GOFLAGS: '-buildvcs=false -mod=readonly', CGO_ENABLED: '0' };
}

const INSTALL_GO =
  'Install Go >= 1.26 (https://go.dev/dl, or your distribution when it is new enough), then rerun `npm run setup:yamljson`.';

/** `go <args>` in the module; null when there is no `go` on PATH. */
function go(args, options = {}) {
  const r = spawnSync('go', args, { cwd: moduleDir, env: goEnv(), encoding: 'utf8', ...options });
  if (r.error && r.error.code === 'ENOENT') return null;
  if (r.error) throw r.error;
  if (r.status !== 0) {
    const err = `${r.stderr ?? ''}${r.stdout ?? ''}`.trim();
    if (/go\.mod requires go >=|toolchain not available|invalid go version/.test(err))
      throw new Unavailable(`the installed Go cannot build tools/yamljson: ${err}\n${INSTALL_GO}`);
    throw new Error(`go ${args.join(' ')} failed (exit ${r.status ?? r.signal}):\n${err}`);
  }
  return r.stdout ?? '';
}

/** Hash of what the binary is built from (the Go version is stamped beside it). */
function sourceHash() {
  const hash = createHash('sha256');
  const files = readdirSync(moduleDir)
    .filter((f) => f === 'go.mod' || f === 'go.sum' || f.endsWith('.go'))
    .sort();
  for (const f of files)
    hash
      .update(f)
      .update('\0')
      .update(readFileSync(join(moduleDir, f)))
      .update('\0');
  hash.update(JSON.stringify({ BUILD_ARGS, GOFLAGS: goEnv().GOFLAGS, CGO_ENABLED: goEnv().CGO_ENABLED }));
  return hash.digest('hex');
}

function readStamp() {
  try {
    return JSON.parse(readFileSync(stampFile, 'utf8'));
  } catch {
    return null;
  }
}

function binaryMatches(stamp) {
  if (!existsSync(binary)) return false;
  const st = statSync(binary);
  return st.size === stamp.size && (st.mode & 0o111) !== 0;
}

/** A cheap proof that the binary is the oracle: a YAML 1.1 boolean and a quoted number keep their types. */
function smokeTest() {
  const r = spawnSync(binary, [], { input: 'a: on\nb: "1"\n---\n# empty\n', encoding: 'utf8' });
  const out = (r.stdout ?? '').trim();
  if (r.status !== 0 || out !== '{"a":true,"b":"1"}')
    throw new Error(`${relative(root, binary)} smoke test failed (exit ${r.status}): ${out} ${r.stderr ?? ''}`);
}

function build(stampBase) {
  mkdirSync(outDir, { recursive: true });
  rmSync(stampFile, { force: true });
  const tmp = `${binary}.partial`;
  log(`go build ./tools/yamljson -> ${relative(root, binary)} (${stampBase.go})`);
  const r = spawnSync('go', [...BUILD_ARGS, '-o', tmp, '.'], { cwd: moduleDir, env: goEnv(), stdio: 'inherit' });
  if (r.error) throw r.error;
  if (r.status !== 0) {
    rmSync(tmp, { force: true });
    throw new Error(`go build failed (exit ${r.status ?? r.signal})`);
  }
  renameSync(tmp, binary);
  smokeTest();
  writeFileSync(stampFile, JSON.stringify({ ...stampBase, size: statSync(binary).size }, null, 2) + '\n');
}

function main() {
  const started = Date.now();
  try {
    const sources = sourceHash();
    const goVersion = go(['version']);
    const stamp = readStamp();
    if (goVersion === null) {
      if (stamp && stamp.sources === sources && binaryMatches(stamp)) {
        log(`Go is not installed; keeping ${relative(root, binary)}, built from the current sources`);
        return;
      }
      throw new Unavailable(`Go is not installed (no \`go\` on PATH), and the YAML oracle is not built. ${INSTALL_GO}`);
    }
    const stampBase = { sources, go: goVersion.trim() };
    const force = process.argv.includes('--force');
    if (!force && stamp && stamp.sources === stampBase.sources && stamp.go === stampBase.go && binaryMatches(stamp)) {
      log(`${relative(root, binary)} is up to date (stamp matches, nothing to build)`);
      return;
    }
    build(stampBase);
    log(`built ${relative(root, binary)} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } catch (err) {
    console.error(`setup-yamljson: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = err instanceof Unavailable ? EX_UNAVAILABLE : 1;
  }
}

main();
