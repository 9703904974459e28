/**
 * Entry point of dist/post-renderer.cjs: runs the post-renderer bundle (post-renderer-main.cjs, built from bin/main.ts)
 * with V8's code cache, so that a run does not compile the bundle again.
 *
 * Why: Helm starts the post-renderer on every install and upgrade, and compiling the bundle (the `yaml` library
 * for the plan, the scanner) was a fifth of a 2,000-object run. `npm run build` runs the post-renderer once on a
 * sample render and stores the bytecode of every function that ran (post-renderer.code-cache). The cache is used
 * only when it was made from this very bundle (its header holds the bundle's hash, baked in here at build time),
 * its bytes are the ones written (a CRC-32 in the header, about 2 ms with loading zlib: V8 release builds do not
 * check a cache's payload, and a damaged one crashes the process), and V8 accepts it (the same V8 version and flags, checked by V8 itself).
 * Otherwise the bundle compiles from source as any script does: same behaviour, a few tens of milliseconds slower.
 * After a Node upgrade `npm run build` makes a new cache. A post-renderer run never writes the cache: concurrent
 * `helm` runs share it.
 *
 * The bundle gets the CommonJS wrapper's five arguments (exports, require, module, __filename, __dirname), which is
 * all an esbuild CommonJS bundle of ours uses: not `this`, `require.main`, `module.id` or a native `import()`
 * (`vm.Script` has no dynamic-import callback here).
 */
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { Script } from 'node:vm';
import { crc32 } from 'node:zlib';

/** sha256 (hex, first 32 characters) of post-renderer-main.cjs, defined by scripts/build.mjs. */
declare const MAIN_BUNDLE_HASH: string;

const CODE_CACHE_MAGIC = 'helm-tiers code cache v2';
/** Set by scripts/build.mjs only: the file to write the code cache to when this run exits successfully. */
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

type CacheStatus = 'absent' | 'stale' | 'corrupt';
type CacheRead = { data: Buffer; status?: undefined } | { data?: undefined; status: CacheStatus };

/** `<magic> <bundle hash>` then ` <crc32 of the payload, 8 hex digits>\n`, then the payload. */
const bundleHeader = `${CODE_CACHE_MAGIC} ${MAIN_BUNDLE_HASH} `;
const CRC_DIGITS = 8;
const crcText = (payload: Buffer): string => crc32(payload).toString(16).padStart(CRC_DIGITS, '0');

function readCache(file: string): CacheRead {
  let data: Buffer;
  try {
    data = readFileSync(file);
  } catch {
    return { status: 'absent' }; // never built, or removed: compile from source
  }
  // Made from another bundle (a build that stopped half way, files copied from two builds): never used.
  if (data.toString('latin1', 0, bundleHeader.length) !== bundleHeader) return { status: 'stale' };
  const headerEnd = bundleHeader.length + CRC_DIGITS + 1;
  const payload = data.subarray(headerEnd);
  const expected = data.toString('latin1', bundleHeader.length, headerEnd - 1);
  if (payload.length === 0 || crcText(payload) !== expected) return { status: 'corrupt' };
  return { data: payload };
}

function writeCache(file: string, payload: Buffer): void {
  const header = Buffer.from(`${bundleHeader}${crcText(payload)}\n`, 'latin1');
  // Whole or not at all: a reader never sees a half-written file.
  const partial = `${file}.${process.pid}.partial`;
  try {
    writeFileSync(partial, Buffer.concat([header, payload]));
    renameSync(partial, file);
  } finally {
    rmSync(partial, { force: true });
  }
}

const mainFile = join(__dirname, 'post-renderer-main.cjs');
const cache = readCache(join(__dirname, 'post-renderer.code-cache'));
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
  // After the run: the cache then holds every function the run compiled, not only the top level. Only after a
  // successful run: a failed one compiled its error path, not the render.
  process.once('exit', (code) => {
    if (code === 0) writeCache(cacheOut, script.createCachedData());
  });
}
// When the bundle's work is done (it writes stdout, stderr and its log file synchronously, and sets exitCode), end
// at once: Node would otherwise tear the heap down and wait for V8's background compiler threads (4–11 ms of a
// 2,000-object run). `exit` handlers (the cache writer above) still run.
process.once('beforeExit', () => {
  // eslint-disable-next-line no-restricted-properties -- the entry point, once nothing is left to do
  process.exit();
});
const main = script.runInThisContext() as ModuleWrapper;
const mainModule = { exports: {} };
main(mainModule.exports, require, mainModule, mainFile, dirname(mainFile));
