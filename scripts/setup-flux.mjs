#!/usr/bin/env node
// Builds the Flux programs the real-cluster tests run as local processes: source-controller, helm-controller,
// kustomize-controller and the `flux` CLI, from their Go modules (there are no release downloads here).
//
// `go install pkg@version` refuses modules whose go.mod has `replace` directives, and all four have some. So each
// program has a wrapper module in tools/flux/<dir>/ that requires it as a Go 1.24+ `tool` and copies the upstream
// replace directives (only the module-to-module ones: `=> ./api` points inside the upstream repository and does not
// apply to dependents, who get the required api version instead). The wrappers are committed with their go.sum, so
// a normal run builds exactly what was reviewed (-mod=readonly); `--regenerate` rewrites them from the upstream
// go.mod after a version bump.
//
// Output: .tools/flux/<flux version>/bin/{source-controller,helm-controller,kustomize-controller,flux}. Each binary
// has a stamp (hash of the wrapper's go.mod and go.sum, the build flags and `go version`): with nothing changed a
// rerun calls no `go build` and takes well under a second. A program whose CRDs are not in the shared test data
// (kustomize-controller's Kustomization) also gets them copied from its module source, into
// .tools/flux/<flux version>/crds/<name>/.
//
// Usage: node scripts/setup-flux.mjs [--regenerate] [--force] [--quiet]
// Exit codes: 0 ok, 69 Go missing or too old (EX_UNAVAILABLE), 1 build failure.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Flux release whose component versions are pinned below (flux2 v2.9.5 `manifests/bases/<name>/kustomization.yaml`). */
export const FLUX_VERSION = '2.9.5';

/**
 * The programs. source-controller, helm-controller and kustomize-controller are the versions flux2 v2.9.5's manifests
 * install (v1.9.5, v1.6.4, v1.9.5; helm-controller v1.6.4 is back on upstream Helm v4.2.4 after v1.6.3's temporary
 * fork). Controllers stamp no version; the CLI reads `main.VERSION` (flux2 Makefile: `-X main.VERSION=$(VERSION)`).
 * `crds`: a folder of the module source whose CRD files setup copies next to the binaries.
 */
export const PROGRAMS = [
  {
    name: 'source-controller',
    dir: 'source-controller',
    module: 'github.com/fluxcd/source-controller',
    version: 'v1.9.5',
    pkg: 'github.com/fluxcd/source-controller',
    x: [],
    // The module proxy here refuses github.com/fluxcd/pkg/artifact v0.18.2 and v0.18.3 ("not available", 403), which
    // v1.9.4-v1.9.6 require. v0.18.1 is the newest v0.18 it serves; v0.18.1 -> v0.18.3 bumps only dependencies in its
    // go.mod (apis/meta v1.30.1 -> v1.30.2, oci v0.68.0 -> v0.68.1, k8s v0.36.2 -> v0.36.4), and those still resolve
    // to source-controller's own, higher requirements.
    overrides: [
      {
        from: 'github.com/fluxcd/pkg/artifact',
        to: 'github.com/fluxcd/pkg/artifact@v0.18.1',
        why: 'not upstream: the module proxy refuses v0.18.3; v0.18.1 differs in dependency versions only',
      },
    ],
  },
  {
    name: 'helm-controller',
    dir: 'helm-controller',
    module: 'github.com/fluxcd/helm-controller',
    version: 'v1.6.4',
    pkg: 'github.com/fluxcd/helm-controller',
    x: [],
  },
  {
    name: 'kustomize-controller',
    dir: 'kustomize-controller',
    module: 'github.com/fluxcd/kustomize-controller',
    version: 'v1.9.5',
    pkg: 'github.com/fluxcd/kustomize-controller',
    x: [],
    // The Kustomization CRD is in neither ../shared/crds/flux nor this repository: it is taken from the very module
    // version the binary is built from (checksum-verified by the module cache), so the two cannot drift apart.
    crds: 'config/crd/bases',
  },
  {
    name: 'flux',
    dir: 'cli',
    module: 'github.com/fluxcd/flux2/v2',
    version: `v${FLUX_VERSION}`,
    pkg: 'github.com/fluxcd/flux2/v2/cmd/flux',
    x: [`main.VERSION=${FLUX_VERSION}`],
    // cmd/flux embeds `manifests/*.yaml`, which flux2's Makefile generates by `kustomize build` of bases that point at
    // GitHub release assets; the module zip has none, so the package does not compile as published. The build uses a
    // copy of the module (from the checksum-verified module cache) with one placeholder there instead: `flux install`
    // and `flux bootstrap` then need `--manifests <dir>`; every other command is unaffected.
    localCopy: {
      // go.sum cannot cover a directory replacement, so the module's own checksum is pinned here and checked
      // against the h1: hash `go mod download` verified (GOSUMDB) before the copy is made.
      sum: 'h1:jwCccxvkD+2QnsjN+pl5QqM8KnFUwA8pIoQ1Lf0avkA=',
      files: {
        'cmd/flux/manifests/not-embedded.yaml':
          '# helm-tiers build of the flux CLI: the install manifests are not embedded (they are built from GitHub\n' +
          '# release assets). Use `flux install --manifests <dir>`.\n',
      },
    },
  },
];

/** Oldest Go that builds all four (their go.mod files say `go 1.26.0`). */
const MIN_GO = [1, 26, 0];

export const binDir = join(root, '.tools', 'flux', FLUX_VERSION, 'bin');

/** Where a program's `crds` are copied: .tools/flux/<flux version>/crds/<name>/. */
export const crdRoot = join(root, '.tools', 'flux', FLUX_VERSION, 'crds');

class Unavailable extends Error {}

const args = new Set(process.argv.slice(2));
const quiet = args.has('--quiet');
const log = (msg) => {
  if (!quiet) console.error(`setup-flux: ${msg}`);
};

/**
 * Environment for every go command: no VCS stamping (the wrappers may sit in a dirty tree), static binaries as
 * upstream's Dockerfiles build them (CGO_ENABLED=0), and no silent toolchain download: a wrapper that needs a newer
 * Go should fail and say so, unless the caller chose a toolchain explicitly.
 */
function goEnv() {
  return {
    ...process.env,
    GOFLAGS: '-buildvcs=false',
    CGO_ENABLED: '0',
    GOTOOLCHAIN: process.env.GOTOOLCHAIN ?? 'local',
  };
}

function go(argv, cwd, opts = {}) {
  return execFileSync('go', argv, {
    cwd,
    env: goEnv(),
    encoding: 'utf8',
    stdio: opts.inherit ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
    maxBuffer: 64 << 20,
  });
}

function goVersion() {
  const r = spawnSync('go', ['env', 'GOVERSION'], { env: goEnv(), encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Unavailable(
      'Go is not installed (no `go` on PATH). Install Go >= ' +
        MIN_GO.join('.') +
        ' (https://go.dev/dl or the golang Debian package) and rerun `npm run setup:flux`.',
    );
  }
  const v = r.stdout.trim();
  const m = /^go(\d+)\.(\d+)(?:\.(\d+))?/.exec(v);
  const have = m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : [0, 0, 0];
  for (let i = 0; i < 3; i++) {
    if (have[i] > MIN_GO[i]) break;
    if (have[i] < MIN_GO[i]) {
      throw new Unavailable(
        `Go ${v} is too old: the Flux ${FLUX_VERSION} components need Go >= ${MIN_GO.join('.')} ` +
          '(or set GOTOOLCHAIN=go1.26.8, or newer, to let go fetch that toolchain through the module proxy). Rerun `npm run setup:flux` afterwards.',
      );
    }
  }
  return execFileSync('go', ['version'], { env: goEnv(), encoding: 'utf8' }).trim();
}

/** A replace target that is a directory (`./api`, `../x`, `/abs`) rather than a module version. */
const isLocalPath = (p) => p.startsWith('./') || p.startsWith('../') || p.startsWith('/');

const wrapperDir = (prog) => join(root, 'tools', 'flux', prog.dir);
const copyDir = (prog) => join(root, '.tools', 'flux', 'src', `${prog.dir}@${prog.version}`);

/** Where the module's verified source sits in the module cache (downloading it if needed). */
function moduleSource(prog, cwd) {
  const dl = JSON.parse(go(['mod', 'download', '-json', `${prog.module}@${prog.version}`], cwd));
  if (dl.Error) throw new Error(`go mod download ${prog.module}@${prog.version}: ${dl.Error}`);
  return dl;
}

/**
 * The writable copy of a module that does not build as published (see `localCopy`): the module-cache tree plus the
 * extra files. Rebuilt when the extra files change; a marker holds their hash.
 */
function ensureCopy(prog) {
  const dest = copyDir(prog);
  const want = createHash('sha256').update(JSON.stringify(prog.localCopy.files)).digest('hex');
  const marker = join(dest, '.helm-tiers-copy');
  if (existsSync(marker) && readFileSync(marker, 'utf8') === want) return;
  const src = moduleSource(prog, root);
  if (src.Sum !== prog.localCopy.sum) {
    throw new Error(`${prog.module}@${prog.version}: checksum ${src.Sum}, expected ${prog.localCopy.sum}`);
  }
  const tmp = `${dest}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(dirname(dest), { recursive: true });
  cpSync(src.Dir, tmp, { recursive: true });
  // The module cache is read-only; the copy must be writable to add files and to be deleted later.
  execFileSync('chmod', ['-R', 'u+w', tmp]);
  for (const [rel, text] of Object.entries(prog.localCopy.files)) {
    mkdirSync(dirname(join(tmp, rel)), { recursive: true });
    writeFileSync(join(tmp, rel), text);
  }
  writeFileSync(join(tmp, '.helm-tiers-copy'), want);
  rmSync(dest, { recursive: true, force: true });
  renameSync(tmp, dest);
}

/** Rewrites tools/flux/<dir>/go.mod from the upstream module's go.mod, then lets `go mod tidy` write go.sum. */
function regenerate(prog) {
  const dir = wrapperDir(prog);
  mkdirSync(dir, { recursive: true });
  const upstream = JSON.parse(go(['mod', 'edit', '-json', moduleSource(prog, dir).GoMod], dir));
  const all = upstream.Replace ?? [];
  const copied = all.filter((r) => !isLocalPath(r.New.Path));
  const skipped = all.filter((r) => isLocalPath(r.New.Path)).map((r) => r.Old.Path);
  writeFileSync(
    join(dir, 'go.mod'),
    `// Generated by scripts/setup-flux.mjs --regenerate from ${prog.module}@${prog.version}'s go.mod: do not edit.\n` +
      `module helm-tiers.local/tools/flux/${prog.dir}\n\ngo ${upstream.Go}\n`,
  );
  rmSync(join(dir, 'go.sum'), { force: true });
  const edits = copied.map((r) => {
    const from = r.Old.Version ? `${r.Old.Path}@${r.Old.Version}` : r.Old.Path;
    return `-replace=${from}=${r.New.Version ? `${r.New.Path}@${r.New.Version}` : r.New.Path}`;
  });
  for (const o of prog.overrides ?? []) edits.push(`-replace=${o.from}=${o.to}`);
  if (prog.localCopy) {
    ensureCopy(prog);
    edits.push(`-replace=${prog.module}=${relative(dir, copyDir(prog))}`);
  }
  if (edits.length) go(['mod', 'edit', ...edits], dir);
  // Say in go.mod itself which lines are ours rather than upstream's (go mod tidy keeps comments).
  const notes = (prog.overrides ?? []).map((o) => [o.from, o.why]);
  if (prog.localCopy)
    notes.push([prog.module, 'not upstream: a copy with files the module zip lacks (setup-flux.mjs)']);
  let text = readFileSync(join(dir, 'go.mod'), 'utf8');
  for (const [from, why] of notes) text = text.replace(`\nreplace ${from} =>`, `\n// ${why}\nreplace ${from} =>`);
  writeFileSync(join(dir, 'go.mod'), text);
  go(['get', '-tool', `${prog.pkg}@${prog.version}`], dir);
  // -e: tidy also loads the tests of the tool's packages, whose test-only modules the proxy may refuse (helmtestserver);
  // the -mod=readonly build below is the check that everything the binary needs is listed.
  go(['mod', 'tidy', '-e'], dir);
  log(
    `${prog.dir}/go.mod: ${prog.module}@${prog.version}, ${copied.length} upstream replace(s) copied` +
      (skipped.length ? ` (local ${skipped.join(', ')} left out)` : '') +
      `, ${prog.overrides?.length ?? 0} override(s)${prog.localCopy ? ', built from a local copy' : ''}`,
  );
}

function ldflags(prog) {
  return ['-s', '-w', ...prog.x.map((x) => `-X ${x}`)].join(' ');
}

function stampOf(prog, goVer) {
  const dir = wrapperDir(prog);
  const h = createHash('sha256');
  for (const f of ['go.mod', 'go.sum'])
    h.update(`${f}\0`)
      .update(readFileSync(join(dir, f)))
      .update('\0');
  const extra = prog.localCopy?.files ?? {};
  h.update(JSON.stringify({ pkg: prog.pkg, ldflags: ldflags(prog), trimpath: true, cgo: 0, goVer, extra }));
  return h.digest('hex');
}

function build(prog, goVer) {
  const dir = wrapperDir(prog);
  const out = join(binDir, prog.name);
  const stampFile = join(binDir, `.${prog.name}.stamp`);
  const stamp = stampOf(prog, goVer);
  if (!args.has('--force') && existsSync(out) && existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp) {
    log(`${prog.name} ${prog.version}: up to date`);
    return;
  }
  if (prog.localCopy) ensureCopy(prog);
  log(`${prog.name} ${prog.version}: go build (minutes on a cold cache)...`);
  const started = Date.now();
  const tmp = `${out}.partial`;
  rmSync(tmp, { force: true });
  go(['build', '-mod=readonly', '-trimpath', '-ldflags', ldflags(prog), '-o', tmp, prog.pkg], dir, { inherit: true });
  chmodSync(tmp, 0o755);
  renameSync(tmp, out);
  writeFileSync(stampFile, stamp);
  log(`${prog.name}: built in ${((Date.now() - started) / 1000).toFixed(1)} s -> ${out}`);
}

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

/**
 * Copies the program's CRD files (`prog.crds` in its module source) into crdRoot/<name>/. The stamp names the
 * module version and the hash of each copied file: a rerun that finds both unchanged asks Go nothing.
 */
function copyCrds(prog) {
  const dest = join(crdRoot, prog.name);
  const stampFile = join(dest, '.stamp');
  const id = `${prog.module}@${prog.version}/${prog.crds}`;
  if (!args.has('--force') && existsSync(stampFile)) {
    const stamp = JSON.parse(readFileSync(stampFile, 'utf8'));
    const same =
      stamp.id === id &&
      Object.entries(stamp.files).every(
        ([f, h]) => existsSync(join(dest, f)) && sha256(readFileSync(join(dest, f))) === h,
      );
    if (same) {
      log(`${prog.name} ${prog.version}: CRDs up to date`);
      return;
    }
  }
  const from = join(moduleSource(prog, wrapperDir(prog)).Dir, prog.crds);
  const names = readdirSync(from)
    .filter((f) => f.endsWith('.yaml'))
    .sort();
  if (names.length === 0) throw new Error(`${id}: no CRD files`);
  const tmp = `${dest}.partial`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  const files = {};
  for (const f of names) {
    const text = readFileSync(join(from, f));
    // Plain files (the module cache's are read-only), so the folder can be replaced or removed later.
    writeFileSync(join(tmp, f), text);
    files[f] = sha256(text);
  }
  writeFileSync(join(tmp, '.stamp'), JSON.stringify({ id, files }));
  rmSync(dest, { recursive: true, force: true });
  renameSync(tmp, dest);
  log(`${prog.name} ${prog.version}: ${names.join(', ')} -> ${dest}`);
}

function main() {
  const goVer = goVersion();
  mkdirSync(binDir, { recursive: true });
  for (const prog of PROGRAMS) {
    const dir = wrapperDir(prog);
    if (args.has('--regenerate') || !existsSync(join(dir, 'go.mod')) || !existsSync(join(dir, 'go.sum'))) {
      regenerate(prog);
    }
    build(prog, goVer);
    if (prog.crds) copyCrds(prog);
  }
  log(`binaries in ${binDir}`);
}

// Only when run as a program: importing the module (for PROGRAMS, binDir) runs nothing and needs no Go.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    main();
  } catch (err) {
    if (err instanceof Unavailable) {
      console.error(`setup-flux: ${err.message}`);
      process.exitCode = 69;
    } else {
      const e = /** @type {{ stderr?: string, message?: string }} */ (err);
      console.error(`setup-flux: ${e.stderr ? String(e.stderr).trim() : ''}\nsetup-flux: ${e.message ?? String(err)}`);
      process.exitCode = 1;
    }
  }
}
