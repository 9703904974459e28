// Entry point of dist/post-renderer.cjs (Helm 3 executable, Helm 4 plugin): wires process.* to run().
import { run } from './run.js';

run({
  stdin: process.stdin,
  stdout: process.stdout,
  stderr: process.stderr,
  argv: process.argv.slice(2),
  env: process.env,
  cwd: process.cwd(),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`helm-tiers post-render: ${String(err)}\n`);
    process.exitCode = 70;
  },
);
