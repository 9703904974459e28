/** `npm run bench`: every benchmark, each printing ratios against baselines measured in the same run. */
import { benchPostRenderer } from './post-renderer.js';

async function main() {
  console.log('== post-renderer ==');
  await benchPostRenderer();
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
