/**
 * Entry point of dist/post-renderer.cjs: runs the post-renderer bundle (post-renderer-main.cjs, built from bin.ts)
 * with V8's code cache, so that a run does not compile the bundle again.
 *
 * Why: Helm starts the post-renderer on every install and upgrade, and compiling the bundle (the `yaml` library
 * for the plan, the scanner) was a fifth of a 2,000-object run. `npm run build` runs the post-renderer once on a
 * sample render and stores the bytecode of every function that ran (post-renderer.code-cache). The cache is used
 * only when it was made from this very bundle (its header holds the bundle's hash, baked in here at build time)
 * and V8 accepts it (the same V8 version and flags, checked by V8 itself). Otherwise the bundle compiles from
 * source as any script does: same behaviour, a few tens of milliseconds slower. After a Node upgrade
 * `npm run build` makes a new cache. A post-renderer run never writes the cache: concurrent `helm` runs share it.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';

/** sha256 (hex, first 32 characters) of post-renderer-main.cjs, defined by scripts/build.mjs. */
declare const MAIN_BUNDLE_HASH: string;

const CODE_CACHE_MAGIC = 'helm-tiers code cache v1';
/** Set by scripts/build.mjs only: the file to write the code cache to when this run exits. */
const WRITE_CODE_CACHE_ENV = 'HELM_TIERS_WRITE_CODE_CACHE';
/** Set (to anything) by tests and the benchmark: one stderr line saying whether the cache was used, and why not. */
const REPORT_CODE_CACHE_ENV = 'HELM_TIERS_CODE_CACHE_REPORT';

type ModuleWrapper = (
  exports: unknown,
  require: NodeJS.Require,
  module: { exports: unknown },
  filename: string,
  dirname: string,
) => void;

type CacheRead = { data: Buffer; status?: undefined } | { data?: undefined; status: 'absent' | 'stale' };

function readCache(file: string, header: Buffer): CacheRead {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch {
    return { status: 'absent' }; // never built, or removed: compile from source
  }
  // Made from another bundle (a build that stopped half way, files copied from two builds): never used.
  if (!data.subarray(0, header.length).equals(header)) return { status: 'stale' };
  return { data: data.subarray(header.length) };
}

const mainFile = join(__dirname, 'post-renderer-main.cjs');
const header = Buffer.from(`${CODE_CACHE_MAGIC} ${MAIN_BUNDLE_HASH}\n`);
// The CommonJS wrapper Node itself puts around a module: the bundle runs as if `require`d.
const cache = readCache(join(__dirname, 'post-renderer.code-cache'), header);
const script = new Script(
  `(function (exports, require, module, __filename, __dirname) {${readFileSync(mainFile, 'utf8')}\n})`,
  { filename: mainFile, cachedData: cache.data },
);
if (process.env[REPORT_CODE_CACHE_ENV]) {
  // `rejected`: V8 refused it (another Node version or V8 flags): `npm run build` makes a new one.
  const status = cache.status ?? (script.cachedDataRejected ? 'rejected' : 'used');
  process.stderr.write(`helm-tiers post-render: code cache ${status}\n`);
}
const cacheOut = process.env[WRITE_CODE_CACHE_ENV];
if (cacheOut) {
  // After the run: the cache then holds every function the run compiled, not only the top level.
  process.once('exit', () => {
    writeFileSync(cacheOut, Buffer.concat([header, script.createCachedData()]));
  });
}
const main = script.runInThisContext() as ModuleWrapper;
const mainModule = { exports: {} };
main(mainModule.exports, require, mainModule, mainFile, dirname(mainFile));
