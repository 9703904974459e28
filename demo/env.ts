/**
 * The pieces the demo and the end-to-end tests share: the simulated cluster's scenario (the chart's hook image
 * mapped to the built hook bundles, the CRD directory) and the hook settings that fit a fast run. Helm itself comes
 * from the one harness, core/helm.ts.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { ComponentBehavior, Scenario } from '../cluster/sim/index.js';
import type { Values } from '../plan/plan.js';

export interface HookImage {
  readonly repository: string;
  readonly tag: string;
}

/** The hook image the master chart's Jobs use (`global.hooks.image` in its values.yaml). */
export function hookImage(root: string): HookImage {
  const values = parse(readFileSync(join(root, 'charts/master-chart/values.yaml'), 'utf8'), { version: '1.1' }) as {
    global?: { hooks?: { image?: { repository?: string; tag?: string | number } } };
  };
  const img = values.global?.hooks?.image;
  return { repository: img?.repository ?? 'ghcr.io/helm-tiers/hooks', tag: String(img?.tag ?? 'latest') };
}

/**
 * The scenario of the simulated cluster: the hook image "is" demo/hook-image.mjs (which runs
 * dist/hooks/<program>.cjs with the container's args), the CRD installer reads `crdsDir`, and `faults` describe
 * misbehaving pods (e.g. a crash-looping API).
 */
export function clusterScenario(root: string, crdsDir: string, faults: ComponentBehavior[] = []): Scenario {
  const img = hookImage(root);
  const shim = [process.execPath, join(root, 'demo/hook-image.mjs')];
  return {
    images: { [`${img.repository}:${img.tag}`]: shim, [img.repository]: shim },
    // The image has its CRDs under /crds; on the simulated cluster the installer reads them from here.
    env: { HT_CRDS_DIR: crdsDir },
    components: faults,
  };
}

/**
 * A transient crash loop of the API's pods: they started before the cache was reachable and are stuck in a long
 * kubelet back-off. The pods that exist at install time crash for good; pods created later (what a rollout restart
 * or an eviction brings) run. So the release fails unless the post-install check remediates it, and succeeds only
 * because of the restart.
 */
export function crashingApi(release = 'tier3-api', faultyPods = 2): ComponentBehavior {
  return {
    selector: `helm-tiers.io/release=${release},!helm-tiers.io/hook`,
    behavior: 'crashLoop',
    firstPods: faultyPods,
    logs: 'podinfo listening on :9898\n',
    previousLogs: 'FATAL dial tcp cache:6379: connect: connection refused\n',
  };
}

/** Cluster timing for the demo: crashes slow enough that a crash loop is still going when the check looks. */
export const CLUSTER_TIMING = { crash: 300 };

/**
 * Hook settings for a run bounded by `timeoutSeconds` (Helm's `--timeout`): every Job deadline stays below it
 * (the chart refuses to render otherwise), and the post-install check's grace period is short because `--wait`
 * already waited for the pods.
 */
export function hookSettings(timeoutSeconds: number, graceSeconds = 3): Values {
  const t = Math.max(20, Math.floor((timeoutSeconds - 10) / 2));
  return {
    global: {
      hooks: {
        helmTimeoutSeconds: timeoutSeconds,
        deadlineMarginSeconds: 5,
        graceSeconds,
        timeouts: { crdCheck: t, crdInstall: t, dependencyCheck: t, podCheck: t },
      },
    },
  };
}
