/**
 * `npm run bench`: every benchmark, each printing ratios against baselines measured in the same run.
 *   npm run bench                      everything
 *   npm run bench -- post-renderer     one section (post-renderer, hooks, cluster)
 */
import { spawnSync } from 'node:child_process';
import { runMain } from '../core/shell.js';
import { join } from 'node:path';
import { benchHookColdStart, benchPodCheckAtScale } from './hooks.js';
import { benchPostRenderer } from './post-renderer.js';

const root = process.cwd();
const only = process.argv.slice(2);
const wanted = (section: string) => only.length === 0 || only.includes(section);

async function main(): Promise<number> {
  let code = 0;
  if (wanted('post-renderer')) {
    console.log('== post-renderer ==');
    await benchPostRenderer();
  }
  if (wanted('hooks')) {
    console.log('\n== hook bundles: cold start (node + bundle, --help) ==');
    await benchHookColdStart(root);
    console.log('\n== pod-check over a 5,000-pod release (simulated cluster) ==');
    await benchPodCheckAtScale(root);
  }
  if (wanted('cluster')) {
    console.log('\n== simulated API server: request latency and throughput ==');
    const r = spawnSync(
      process.execPath,
      [join(root, 'cluster/sim/cli.mjs'), '--bench', '--pods', '5000', '--requests', '2000'],
      {
        stdio: 'inherit',
      },
    );
    if (r.status !== 0) code = 1;
  }
  return code;
}

void runMain(main, { program: 'bench' });
