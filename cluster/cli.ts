// `npm run cluster -- [--backend real|sim] [--flux] [--git-dir DIR] [--scenario FILE] [--rbac]`: a cluster in the
// foreground. The first line of output is `export KUBECONFIG=<file>` (then `export GIT_URL=<url>` with --flux), so
// `eval "$(npm run --silent cluster | head -2)"` style use works; it runs until SIGINT/SIGTERM, then stops every
// process and removes every temp folder.
import minimist from 'minimist';
import { ErrorCodes, HelmTiersError } from '../core/errors.js';
import type { ProcessIO } from '../core/shell.js';
import { defaultBackend, parseBackend, startCluster } from './index.js';

export const CLUSTER_USAGE = `Usage: npm run cluster -- [--backend real|sim] [--flux] [--git-dir DIR] [--scenario FILE] [--rbac]

Starts a Kubernetes cluster in the foreground and prints, first, the kubeconfig to export (admin, system:masters).
Ctrl-C stops it and removes everything it made.

  --backend real|sim   real: etcd, kube-apiserver, controller-manager, scheduler built by \`npm run setup:kube\`,
                       with the node agent as kubelet; sim: the simulated API server (default where the real
                       one is not built)
  --flux               real only: also Flux's source-controller and helm-controller (\`npm run setup:flux\`) and a
                       git server over smart HTTP; prints \`export GIT_URL=<url>\` second
  --git-dir DIR        what the git server serves: a bare repository as is, any other folder as a snapshot of it
                       (default: a snapshot of the current folder)
  --scenario FILE      how pods behave (cluster/sim/README.md: the scenario language, the same on both backends)
  --rbac               sim only: authorize every request (the real API server always does)

Exit codes: 0 stopped by a signal, 64 usage, 69 a component failed to start.
`;

export async function runCluster(io: ProcessIO): Promise<number> {
  const argv = minimist([...io.argv], {
    boolean: ['flux', 'rbac', 'help'],
    string: ['backend', 'git-dir', 'scenario'],
    unknown: (a) => {
      if (a.startsWith('-')) throw new HelmTiersError(ErrorCodes.USAGE, `unknown option ${a}\n\n${CLUSTER_USAGE}`);
      return true;
    },
  });
  if (argv.help) {
    io.stdout.write(CLUSTER_USAGE);
    return 0;
  }
  if (argv._.length) throw new HelmTiersError(ErrorCodes.USAGE, `unexpected argument ${String(argv._[0])}`);
  const backend = argv.backend === undefined ? defaultBackend() : parseBackend(String(argv.backend));
  const verbose = (line: string) => io.stderr.write(`${line}\n`);
  const cluster = await startCluster({
    backend,
    flux: argv.flux === true,
    gitDir: argv['git-dir'] as string | undefined,
    scenario: argv.scenario as string | undefined,
    rbac: argv.rbac === true,
    log: verbose,
  });
  io.stdout.write(`export KUBECONFIG=${cluster.kubeconfig}\n`);
  if (cluster.gitUrl !== undefined) io.stdout.write(`export GIT_URL=${cluster.gitUrl}\n`);
  io.stderr.write(`${backend} cluster at ${cluster.url}; Ctrl-C stops it\n`);
  await new Promise<void>((done) => {
    if (io.signal.aborted) done();
    else
      io.signal.addEventListener(
        'abort',
        () => {
          done();
        },
        { once: true },
      );
  });
  await cluster.stop();
  io.stderr.write('cluster stopped\n');
  return 0;
}
