// CLI: start a simulated cluster by hand and print its kubeconfig path. Ctrl-C stops it.
//   node cluster/sim/cli.mjs [--rbac] [--scenario file.yaml] [--version 1.31]
import minimist from 'minimist';
import { startCluster } from './index.js';

async function main(): Promise<void> {
  const argv = minimist(process.argv.slice(2), { boolean: ['rbac', 'help'], string: ['scenario', 'version'] });
  if (argv.help) {
    process.stdout.write('usage: node cluster/sim/cli.mjs [--rbac] [--scenario FILE] [--version 1.31]\n');
    return;
  }
  const [major, minor] = String(argv.version ?? '1.31').split('.');
  const c = await startCluster({
    rbac: argv.rbac === true,
    scenario: argv.scenario as string | undefined,
    version: { major: major ?? '1', minor: minor ?? '31' },
    keepRequests: 50_000,
  });
  process.stdout.write(`API server: ${c.url}\nexport KUBECONFIG=${c.kubeconfig}\n`);
  const stop = () => {
    void c.stop().then(() => {
      process.exitCode = 0;
    });
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

void main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exitCode = 1;
});
