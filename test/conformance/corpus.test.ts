/**
 * Conformance: for every real-chart render in /work/shared/corpus (what Helm 3 and Helm 4 handed a post-renderer),
 * both ways helm-tiers labels reach a cluster keep the five invariants of /work/shared/corpus/README.md:
 *
 * - the post-renderer, run as Helm runs it (the built executable, `--plan plan.yaml --release monitoring`, the file
 *   on stdin), once with the plan as it is and once with `partOfLabel: true`;
 * - the Flux way: the generated HelmRelease's `spec.postRenderers[0].kustomize.patches` over the render verbatim,
 *   built by real kustomize 5.7 (kubectl 1.34) and 5.4 (kubectl 1.31), as helm-controller builds it (its own
 *   `helm.toolkit.fluxcd.io/*` origin labels come after, and are not part of this suite).
 *
 * IN and OUT are both read by the Go oracle (sigs.k8s.io/yaml, as Kubernetes reads manifests). Each external process
 * runs once per file and path; the invariants share its result. The suite fails, and never skips, when the corpus or
 * the oracle is missing (outside CI, a machine without Go skips with a warning).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { toolchainPaths } from '../../core/helm.js';
import {
  checkLabelValidity,
  checkOnlyAddedKeys,
  checkSameObjects,
  checkSelections,
  checkWorkloadSelectors,
  flatten,
  formatFailures,
  isMap,
  type Expectations,
  type Failure,
} from './invariants.js';
import { oracleStatus, SETUP_COMMAND, yamlToJson } from './oracle.js';
import { ensureBuilt, fluxPatches, fluxPath, postRendererPath, RELEASE, type PathSpec } from './paths.js';
import { ROOT } from '../helpers/helm.js';

type Obj = Record<string, any>;

const SHARED = resolve(ROOT, '../shared');
const CORPUS = join(SHARED, 'corpus');
const PLAN = join(ROOT, 'plan.yaml');
const DEFAULT_PREFIX = 'helm-tiers.io/';

/** `<chart>/helm3.yaml`, `<chart>/helm4.yaml`, … : every `helm*.yaml` of every folder of the corpus. */
function corpusFiles(): string[] {
  let charts: string[];
  try {
    charts = readdirSync(CORPUS).filter((d) => statSync(join(CORPUS, d)).isDirectory());
  } catch {
    return [];
  }
  return charts.sort().flatMap((c) =>
    readdirSync(join(CORPUS, c))
      .filter((f) => /^helm\d+\.yaml$/.test(f))
      .sort()
      .map((f) => `${c}/${f}`),
  );
}

const files = corpusFiles();
const oracle = oracleStatus(ROOT);

/** What the plan says the post-renderer writes for the release, read by the oracle like everything else. */
const expectations = (() => {
  const cache = new Map<boolean, Promise<Expectations>>();
  return (partOf: boolean) => {
    let p = cache.get(partOf);
    if (!p) cache.set(partOf, (p = readExpectations(partOf)));
    return p;
  };
})();

async function readExpectations(partOf: boolean): Promise<Expectations> {
  const [plan] = (await yamlToJson(oracle.binary, readFileSync(PLAN, 'utf8'))) as Obj[];
  if (!isMap(plan)) throw new Error(`${PLAN} is not a mapping`);
  const prefix = typeof plan.labelPrefix === 'string' ? plan.labelPrefix : DEFAULT_PREFIX;
  const component = (plan.components as Obj[]).find((c) => c.release === RELEASE);
  if (!component) throw new Error(`${PLAN} has no component with release ${RELEASE}`);
  return {
    prefix,
    requiredLabels: { [`${prefix}tier`]: String(component.tier), [`${prefix}release`]: RELEASE },
    requiredAnnotations: [`${prefix}depends-on`],
    partOf: partOf ? String(plan.name) : undefined,
  };
}

function paths(): PathSpec[] {
  let patches: Promise<unknown[]> | undefined;
  const sharedPatches = () => (patches ??= fluxPatches(ROOT, oracle.binary));
  return [
    postRendererPath(ROOT, 'post-renderer', PLAN, false),
    postRendererPath(ROOT, 'post-renderer, partOfLabel: true', PLAN, true),
    fluxPath('flux, kustomize 5.7', toolchainPaths(ROOT, 4).kubectl, sharedPatches),
    fluxPath('flux, kustomize 5.4', toolchainPaths(ROOT, 3).kubectl, sharedPatches),
  ];
}

interface Outcome {
  readonly inObjs: Obj[];
  readonly outObjs: Obj[];
  readonly expected: Expectations;
}

if (files.length === 0) {
  describe('conformance corpus', () => {
    it('is present', () => {
      throw new Error(`no corpus files (<chart>/helm*.yaml) in ${CORPUS}: the conformance suite needs /work/shared`);
    });
  });
} else if (!oracle.built && !oracle.goAvailable && !process.env.CI) {
  console.warn(
    `\n!!! CONFORMANCE SUITE SKIPPED: the YAML oracle ${oracle.binary} is not built and Go is not installed.\n` +
      `!!! Install Go >= 1.26 and run \`${SETUP_COMMAND}\`; under CI this is a failure.\n`,
  );
  describe.skip('conformance (the Go oracle is not built, Go is missing)', () => {
    it('needs the oracle', () => undefined);
  });
} else if (!oracle.built) {
  describe('conformance', () => {
    it('has its YAML oracle', () => {
      throw new Error(`the YAML oracle ${oracle.binary} is not built: run \`${SETUP_COMMAND}\``);
    });
  });
} else {
  const specs = paths();
  // Every path of a file starts as soon as the first describe of that file needs one: two cores, four processes.
  const inputs = new Map<string, Promise<Obj[]>>();
  const outcomes = new Map<string, Promise<Outcome>>();
  const readIn = (file: string) => {
    let p = inputs.get(file);
    if (!p) {
      p = yamlToJson(oracle.binary, readFileSync(join(CORPUS, file), 'utf8')).then((d) => flatten(d));
      inputs.set(file, p);
    }
    return p;
  };
  const outcome = (file: string, spec: PathSpec): Promise<Outcome> => {
    const key = `${file}\0${spec.name}`;
    let p = outcomes.get(key);
    if (!p) {
      p = (async () => {
        await ensureBuilt(ROOT);
        const render = readFileSync(join(CORPUS, file), 'utf8');
        const [inObjs, out, expected] = await Promise.all([readIn(file), spec.run(render), expectations(spec.partOf)]);
        return { inObjs, outObjs: flatten(await yamlToJson(oracle.binary, out)), expected };
      })();
      // Failures surface in the describe that awaits this, not as an unhandled rejection of an earlier one.
      p.catch(() => undefined);
      outcomes.set(key, p);
    }
    return p;
  };
  const startFile = (file: string) => {
    for (const spec of specs) void outcome(file, spec);
  };

  for (const file of files) {
    for (const spec of specs) {
      describe(`${file} × ${spec.name}`, () => {
        let outcomeOrError: Outcome | Error | undefined;
        beforeAll(async () => {
          startFile(file);
          // Kept, not thrown: a failing path then fails each invariant (a throwing beforeAll would skip them).
          outcomeOrError = await outcome(file, spec).catch((err: unknown) =>
            err instanceof Error ? err : new Error(String(err)),
          );
        });
        const result = (): Outcome => {
          if (outcomeOrError instanceof Error || outcomeOrError === undefined)
            throw outcomeOrError ?? new Error('no result');
          return outcomeOrError;
        };

        const verdict = (failures: Failure[]) => {
          expect(failures, failures.length ? formatFailures(`${file} × ${spec.name}`, failures) : '').toEqual([]);
        };

        it('1. OUT is YAML and holds the same objects', () => {
          const { inObjs, outObjs } = result();
          expect(inObjs.length).toBeGreaterThan(0);
          verdict(checkSameObjects(inObjs, outObjs));
        });
        it('2. nothing but the added keys changes, and they are there', () => {
          const { inObjs, outObjs, expected } = result();
          verdict(checkOnlyAddedKeys(inObjs, outObjs, expected));
        });
        it('3. every workload still selects its own pods', () => {
          const { inObjs, outObjs } = result();
          verdict(checkWorkloadSelectors(inObjs, outObjs));
        });
        it('4. every selector selects the same objects, HPA targets still exist', () => {
          const { inObjs, outObjs } = result();
          verdict(checkSelections(inObjs, outObjs));
        });
        it('5. labels and annotations stay valid', () => {
          const { inObjs, outObjs } = result();
          verdict(checkLabelValidity(inObjs, outObjs));
        });
      });
    }
  }
}
