/**
 * The two ways helm-tiers' labels reach a render, run for real: the built post-renderer as Helm runs it (the Helm 3
 * executable, the file on stdin), and the Flux way (the HelmRelease's kustomize patches over the render verbatim,
 * built by the real kustomize inside kubectl, as helm-controller builds its in-memory kustomization).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exec } from '../../core/helm.js';
import { isMap } from './invariants.js';
import { yamlToJson } from './oracle.js';

type Obj = Record<string, any>;

export const RELEASE = 'monitoring';
export const HELMRELEASE = 'flux-resources/monitoring-helmrelease.yaml';

export interface PathSpec {
  /** Short name for reports: `post-renderer`, `post-renderer+partOfLabel`, `flux/kustomize 5.7`, … */
  readonly name: string;
  /** Produces OUT from the render text. */
  readonly run: (render: string) => Promise<string>;
  /** Whether this path adds `app.kubernetes.io/part-of` (the plan opts in): then it must, wherever IN lacks it. */
  readonly partOf: boolean;
}

export class PathError extends Error {
  override readonly name = 'PathError';
}

/** `npm run build` when the bundle is missing (npm test builds it first). */
export async function ensureBuilt(root: string): Promise<void> {
  if (existsSync(join(root, 'dist/post-renderer.cjs'))) return;
  const r = await exec(process.execPath, [join(root, 'scripts/build.mjs'), '--quiet'], { cwd: root });
  if (r.code !== 0) throw new PathError(`npm run build failed (exit ${r.code}): ${r.stderr}`);
}

/** Runs `fn` with a fresh temporary folder, removed afterwards (renders are megabytes: do not leave them behind). */
async function inTempDir<T>(prefix: string, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The built post-renderer as Helm 3 runs it: `--plan <plan> --release monitoring`, the render on stdin. With
 * `partOfLabel`, the plan is a copy with `partOfLabel: true` added at the top level.
 */
export function postRendererPath(root: string, name: string, planFile: string, partOfLabel: boolean): PathSpec {
  const bin = join(root, 'post-renderer/bin/helm-tiers-post-renderer');
  return {
    name,
    partOf: partOfLabel,
    run: (render) =>
      inTempDir('helm-tiers-conformance-pr-', async (home) => {
        let plan = planFile;
        if (partOfLabel) {
          plan = join(home, 'plan.yaml');
          writeFileSync(plan, `partOfLabel: true\n${readFileSync(planFile, 'utf8')}`);
        }
        const env = { ...process.env, HOME: home, XDG_STATE_HOME: home, HELM_TIERS_LOG_FILE: join(home, 'pr.log') };
        const r = await exec(bin, ['--plan', plan, '--release', RELEASE], { env, input: render });
        if (r.code !== 0) throw new PathError(`${name}: the post-renderer exited ${r.code}: ${r.stderr.trim()}`);
        return r.stdout;
      }),
  };
}

/** `spec.postRenderers[0].kustomize.patches` of the generated HelmRelease, read by the oracle. */
export async function fluxPatches(root: string, oracle: string): Promise<unknown[]> {
  const docs = await yamlToJson(oracle, readFileSync(join(root, HELMRELEASE), 'utf8'));
  const hr = docs.find((d): d is Obj => isMap(d) && d.kind === 'HelmRelease');
  const patches: unknown = hr?.spec?.postRenderers?.[0]?.kustomize?.patches;
  if (!Array.isArray(patches) || patches.length === 0)
    throw new PathError(`${HELMRELEASE}: no spec.postRenderers[0].kustomize.patches`);
  return patches;
}

/** kubectl's kustomize over a kustomization holding the render verbatim as its only resource, with `patches`. */
export function fluxPath(name: string, kubectl: string, patches: () => Promise<unknown[]>): PathSpec {
  return {
    name,
    // A strategic merge cannot add a label only where it is absent: the patches must not carry part-of at all.
    partOf: false,
    run: (render) =>
      inTempDir('helm-tiers-conformance-flux-', async (dir) => {
        writeFileSync(join(dir, 'render.yaml'), render);
        // JSON is YAML: no YAML library between the patches as the HelmRelease holds them and kustomize.
        const kustomization = {
          apiVersion: 'kustomize.config.k8s.io/v1beta1',
          kind: 'Kustomization',
          resources: ['render.yaml'],
          patches: await patches(),
        };
        writeFileSync(join(dir, 'kustomization.yaml'), JSON.stringify(kustomization, null, 2));
        if (!existsSync(kubectl)) throw new PathError(`${kubectl} is missing: run \`npm run setup\``);
        const r = await exec(kubectl, ['kustomize', dir]);
        if (r.code !== 0) throw new PathError(`${name}: kubectl kustomize exited ${r.code}: ${r.stderr.trim()}`);
        return r.stdout;
      }),
  };
}
