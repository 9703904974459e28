#!/usr/bin/env node
// Image build step: downloads every CRD listed in crds.sha256 (lines "<sha256>  <url>") into the target directory
// and verifies each checksum. Any failure ends the build: the image never ships an unverified CRD.
//   node fetch-crds.mjs crds.sha256 /crds [--mirror http://host:port]
// --mirror replaces the scheme and host of every URL (an internal mirror, or a local server in tests); the
// checksums still decide.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

/* global fetch */

const args = process.argv.slice(2);
const mirrorAt = args.indexOf('--mirror');
const mirror = mirrorAt >= 0 ? args.splice(mirrorAt, 2)[1] : undefined;
const [list, outDir] = args;
if (!list || !outDir) {
  console.error('usage: fetch-crds.mjs <crds.sha256> <dir>');
  process.exit(64);
}
mkdirSync(outDir, { recursive: true });
const entries = readFileSync(list, 'utf8')
  .split('\n')
  .map((l) => l.trim())
  .filter((l) => l && !l.startsWith('#'))
  .map((l) => {
    const [sum, url] = l.split(/\s+/);
    return { sum, url, file: basename(new URL(url).pathname) };
  });
const seen = new Set();
for (const e of entries) {
  if (seen.has(e.file)) throw new Error(`two entries write ${e.file}`);
  seen.add(e.file);
}
for (const e of entries) {
  let body;
  for (let attempt = 1; ; attempt++) {
    try {
      const url = mirror ? new URL(new URL(e.url).pathname, mirror).href : e.url;
      const res = await fetch(url);
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      body = Buffer.from(await res.arrayBuffer());
      break;
    } catch (err) {
      if (attempt >= 4) throw new Error(`${e.url}: ${err.message}`);
      await new Promise((r) => setTimeout(r, 1000 * 2 ** attempt));
    }
  }
  const got = createHash('sha256').update(body).digest('hex');
  if (got !== e.sum) throw new Error(`${e.url}: sha256 ${got}, expected ${e.sum}`);
  writeFileSync(join(outDir, e.file), body, { mode: 0o444 });
  console.log(`ok ${e.file} ${body.length} bytes`);
}
