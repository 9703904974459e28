// Entry point of `npm start` (bundled to dist/demo.cjs): parses the command line and runs the demo.
//   node dist/demo.cjs [--helm 3|4] [--backend sim|real] [--embedded-crds] [--plan FILE]
import { basename, dirname, resolve } from 'node:path';
import minimist from 'minimist';
import { ErrorCodes, HelmTiersError } from '../core/errors.js';
import { findProjectRoot } from '../core/helm.js';
import { exitCodeOf, runMain } from '../core/shell.js';
import { parseBackend } from '../cluster/index.js';
import { runDemo } from './demo.js';

export const USAGE = `usage: node dist/demo.cjs [--helm 3|4] [--backend sim|real] [--embedded-crds] [--plan FILE]
  Deploys the plan (default: plan.yaml) on a simulated cluster with real Helm 4 (--helm 3: Helm 3) and kubectl.
  --backend real   on the real control plane instead (built by \`npm run setup:kube\`; the node agent as kubelet)
  --embedded-crds  use the small embedded CRD set even when ../shared/crds exists
`;

export function main(
  argv: readonly string[],
  io: { root: string; out: (s: string) => void; err: (s: string) => void },
): Promise<number> {
  return exitCodeOf('demo', io.err, () => {
    const args = minimist([...argv], { string: ['helm', 'plan', 'backend'], boolean: ['embedded-crds', 'help'] });
    if (args.help) {
      io.out(USAGE);
      return 0;
    }
    const helm = String(args.helm ?? '4');
    if (helm !== '3' && helm !== '4') throw new HelmTiersError(ErrorCodes.USAGE, `--helm must be 3 or 4\n${USAGE}`);
    return runDemo({
      root: io.root,
      planPath: resolve(io.root, (args.plan as string | undefined) ?? 'plan.yaml'),
      major: helm === '3' ? 3 : 4,
      backend: parseBackend(String(args.backend ?? 'sim')),
      embeddedCrds: args['embedded-crds'] === true,
      out: io.out,
    });
  });
}

// Run only as the bundle's entry (tests import main() instead).
if (basename(process.argv[1] ?? '') === 'demo.cjs') {
  void runMain(
    (io) =>
      main(io.argv, {
        root: findProjectRoot(dirname(resolve(process.argv[1] ?? '.'))),
        out: (s) => io.stdout.write(s),
        err: (s) => io.stderr.write(s),
      }),
    { program: 'demo' },
  );
}
