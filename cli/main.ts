/**
 * helm-tiers: one CLI for the plan, the post-renderer, the Flux resources and the demo.
 *   helm-tiers plan [--plan FILE]
 *   helm-tiers post-render --plan FILE --release NAME   (the same program as dist/post-renderer.cjs)
 *   helm-tiers demo                                      (render-only check; `npm start` runs demo/)
 *   helm-tiers deploy [...] / helm-tiers status [...]    (the plan on a cluster without Flux; cli/deploy.ts, cli/status.ts)
 */
import minimist from 'minimist';
import { dirname, resolve } from 'node:path';
import { ErrorCodes, HelmTiersError } from '../core/errors.js';
import { findProjectRoot } from '../core/helm.js';
import { runMain, type ProcessIO } from '../core/shell.js';
import { readPlanFile } from '../plan/read.js';
import { run as postRenderRun } from '../post-renderer/src/run.js';
import { describePlan } from './plan-command.js';
import { runDemo } from './demo.js';
import { runFlux } from './flux-command.js';
import { runDeploy } from './deploy.js';
import { runStatus } from './status.js';

const USAGE = `Usage: helm-tiers <command> [options]

Commands:
  plan [--plan FILE]        validate the plan, print deployment levels and dependencies
  post-render ...           the Helm post-renderer (see: helm-tiers post-render --help)
  flux [--out DIR] ...      write the Flux resources of the plan (see: helm-tiers flux --help)
  deploy [options]          deploy the plan tier by tier with your helm, no Flux (see: helm-tiers deploy --help)
  status [options]          the plan as tiers on the cluster: revisions, Ready, why not (helm-tiers status --help)
  demo [--plan FILE]        render every release of the plan through real Helm 3 and Helm 4 with the
                            post-renderer and show the tier order (no cluster; \`npm start\` deploys
                            the plan on the simulated cluster instead)

The plan defaults to ./plan.yaml (env HELM_TIERS_PLAN).
`;

/** The CLI's run: an error it throws reaches the shell, which prints it and maps it to the exit code. */
async function main(io: ProcessIO): Promise<number> {
  const [command, ...rest] = io.argv;
  if (command === 'deploy' || command === 'status') {
    // The install this bundle belongs to: the post-renderer and the pinned kubectl live there.
    const root = findProjectRoot(dirname(resolve(process.argv[1] ?? io.cwd)));
    const cmd = { argv: rest, cwd: io.cwd, env: io.env, stdout: io.stdout, stderr: io.stderr, root };
    return command === 'deploy' ? runDeploy(cmd) : runStatus(cmd);
  }
  if (command === 'post-render') {
    return postRenderRun({
      stdin: io.stdin,
      stdout: io.stdout,
      stderr: io.stderr,
      argv: rest,
      env: io.env,
      cwd: io.cwd,
    });
  }
  const args = minimist(rest, { string: ['plan'], boolean: ['help'] });
  const planFile = (args.plan as string | undefined) ?? io.env.HELM_TIERS_PLAN ?? 'plan.yaml';
  switch (command) {
    case 'flux':
      return runFlux({ argv: rest, cwd: io.cwd, env: io.env, stdout: io.stdout, stderr: io.stderr });
    case 'plan':
      if (args.help) break;
      io.stdout.write(describePlan(readPlanFile(planFile, io.cwd)));
      return 0;
    case 'demo':
      if (args.help) break;
      return await runDemo({ plan: readPlanFile(planFile, io.cwd), cwd: io.cwd, out: io.stdout });
    case undefined:
    case 'help':
    case '--help':
      break;
    default:
      throw new HelmTiersError(ErrorCodes.USAGE, `unknown command "${command}"\n${USAGE}`);
  }
  io.stdout.write(USAGE);
  return 0;
}

void runMain(main, { program: 'helm-tiers' });
