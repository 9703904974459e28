/**
 * The cluster side of `deploy` and `status`: the user's helm (its major detected with `helm version --short`) in
 * the one harness (core/helm.ts), against the user's cluster (KUBECONFIG, --kube-context).
 *
 * Helm home: a fresh harness home, for both majors, removed when the command ends; never the user's. For Helm 4 the
 * post-renderer plugin is installed there (`helm plugin install`, a fraction of a second): installing it into the
 * user's HELM_DATA_HOME would change their setup behind their back, leave a plugin that goes stale when this
 * package is upgraded (the run would use an older post-renderer than the CLI), and make their Helm 3, if they also
 * have one, warn about a v4 plugin.yaml on every command. The charts of a plan are local folders, so nothing of the
 * user's Helm configuration (repositories, registry logins) is needed. HOME stays the user's for the commands, so
 * kubeconfig credential plugins (exec auth) find their own files.
 */
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { existsSync } from 'node:fs';
import {
  check,
  createHelmHarness,
  detectHelmMajor,
  toolchainPaths,
  type HelmHarness,
  type HelmMajor,
} from '../../core/helm.js';
import type { Tools } from './state.js';

export interface ClusterAccessOptions {
  readonly root: string;
  readonly env: NodeJS.ProcessEnv;
  /** The helm to use (default `helm` from PATH). */
  readonly helm?: string;
  /** The kubectl to use (default: the one installed with helm-tiers for that Helm major, else `kubectl`). */
  readonly kubectl?: string;
  readonly kubeContext?: string;
  /** Install the post-renderer (deploy: yes; status: no). */
  readonly postRenderer: boolean;
}

export interface ClusterAccess {
  readonly major: HelmMajor;
  readonly harness: HelmHarness;
  readonly tools: Tools;
  readonly dispose: () => void;
}

/** The kubeconfig the user's kubectl would read: $KUBECONFIG (a path list, passed on as is) or ~/.kube/config. */
export function userKubeconfig(env: NodeJS.ProcessEnv): string {
  const fromEnv = env.KUBECONFIG;
  if (fromEnv !== undefined && fromEnv.split(delimiter).some((p) => p !== '')) return fromEnv;
  return join(env.HOME ?? homedir(), '.kube', 'config');
}

export async function openCluster(o: ClusterAccessOptions): Promise<ClusterAccess> {
  const helm = o.helm ?? 'helm';
  const baseEnv = { PATH: o.env.PATH ?? '/usr/bin:/bin', HOME: o.env.HOME ?? homedir() };
  const major = await detectHelmMajor(helm, baseEnv);
  const pinned = toolchainPaths(o.root, major).kubectl;
  const kubectl = o.kubectl ?? (existsSync(pinned) ? pinned : 'kubectl');
  const harness = await createHelmHarness({
    root: o.root,
    major,
    tools: { major, helm, kubectl },
    kubeconfig: userKubeconfig(o.env),
    postRenderer: o.postRenderer,
    prefix: `helm-tiers-deploy-h${major}-`,
  });
  const run = { env: { HOME: baseEnv.HOME } };
  const helmCtx = o.kubeContext ? ['--kube-context', o.kubeContext] : [];
  const kubectlCtx = o.kubeContext ? ['--context', o.kubeContext] : [];
  const tools: Tools = {
    major,
    helm: (args) => harness.helm([...args, ...helmCtx], run),
    kubectl: (args) => harness.kubectl([...kubectlCtx, ...args], run),
  };
  try {
    // An unreachable cluster is one clear E_TOOL up front, not every release reading as "not installed".
    check(await tools.kubectl(['get', '--raw', '/version']), 'reaching the cluster (kubectl get --raw /version)');
  } catch (err) {
    harness.dispose();
    throw err;
  }
  return {
    major,
    harness,
    tools,
    dispose: harness.dispose,
  };
}
