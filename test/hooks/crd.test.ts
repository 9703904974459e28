import * as yaml from 'yaml';
import fc from 'fast-check';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { evaluateCrd, fixHint, outcome } from '../../hooks/src/crd/evaluate.js';
import {
  applyBody,
  canonicalJson,
  isSubset,
  manifestHash,
  ManifestStore,
  matchesManifest,
  planInstall,
  servedVersions,
} from '../../hooks/src/crd/manifests.js';
import { buildRequirements, parseCrdRef } from '../../hooks/src/crd/selection.js';
import { CRD_MANIFEST_HASH_ANNOTATION } from '../../core/labels.js';
import { HookError } from '../../hooks/src/errors.js';
import type { Crd } from '../../hooks/src/k8s/types.js';

const SHARED = resolve(import.meta.dirname, '../../../shared/crds');

const crd = (conds: [string, string, string?][], versions: [string, boolean][] = [['v1', true]]): Crd => ({
  metadata: { name: 'servicemonitors.monitoring.coreos.com' },
  spec: {
    group: 'monitoring.coreos.com',
    names: { plural: 'servicemonitors', kind: 'ServiceMonitor' },
    versions: versions.map(([name, served]) => ({ name, served, storage: served })),
  },
  status: { conditions: conds.map(([type, status, reason]) => ({ type, status, reason })) },
});

describe('CRD selection', () => {
  it('parses plural.group[@version] and rejects malformed names', () => {
    expect(parseCrdRef('servicemonitors.monitoring.coreos.com@v1', true)).toEqual({
      name: 'servicemonitors.monitoring.coreos.com',
      version: 'v1',
      required: true,
    });
    expect(() => parseCrdRef('ServiceMonitor', true)).toThrow(HookError);
    expect(() => parseCrdRef('a.b@latest', true)).toThrow(HookError);
  });

  it('kyverno profile requires only the core set that exists on 1.13+; kyverno-1.12 adds the old report CRDs', () => {
    const current = buildRequirements([], [], ['kyverno']);
    const required = current.filter((r) => r.required).map((r) => r.name);
    expect(required.sort()).toEqual(
      ['cleanuppolicies', 'clustercleanuppolicies', 'clusterpolicies', 'policies', 'policyexceptions', 'updaterequests']
        .map((p) => `${p}.kyverno.io`)
        .sort(),
    );
    expect(required).not.toContain('admissionreports.kyverno.io');
    const old = buildRequirements([], [], ['kyverno-1.12'])
      .filter((r) => r.required)
      .map((r) => r.name);
    expect(old).toEqual(
      expect.arrayContaining([
        'admissionreports.kyverno.io',
        'clusteradmissionreports.kyverno.io',
        'backgroundscanreports.kyverno.io',
        'clusterbackgroundscanreports.kyverno.io',
      ]),
    );
  });

  it('a CRD named required anywhere is required; an explicit version is kept', () => {
    const r = buildRequirements(['probes.monitoring.coreos.com@v1'], [], ['prometheus']);
    expect(r.find((x) => x.name === 'probes.monitoring.coreos.com')).toMatchObject({ required: true, version: 'v1' });
    expect(() => buildRequirements([], [], ['nope'])).toThrow(HookError);
  });

  it('the kyverno profile passes against the real Kyverno 1.19 CRD files (skips without ../shared)', (ctx) => {
    if (!existsSync(SHARED)) ctx.skip(`no ${SHARED}: shared test data absent`);
    const store = new ManifestStore(`${SHARED}/kyverno`, yaml);
    for (const r of buildRequirements([], [], ['kyverno']).filter((x) => x.required))
      expect(store.get(r.name)?.name).toBe(r.name);
    expect(store.get('admissionreports.kyverno.io')).toBeUndefined();
  });
});

describe('evaluateCrd', () => {
  const req = { name: 'servicemonitors.monitoring.coreos.com', required: true };
  it('passes only with Established=True, NamesAccepted=True and the version served', () => {
    expect(
      evaluateCrd(
        { ...req, version: 'v1' },
        crd([
          ['NamesAccepted', 'True'],
          ['Established', 'True'],
        ]),
      ).state,
    ).toBe('Ready');
    expect(evaluateCrd(req, undefined).state).toBe('Missing');
    expect(
      evaluateCrd(
        req,
        crd([
          ['NamesAccepted', 'True'],
          ['Established', 'False', 'Installing'],
        ]),
      ).state,
    ).toBe('NotEstablished');
    expect(evaluateCrd(req, crd([['Established', 'True']])).state).toBe('NotEstablished');
    expect(
      evaluateCrd(
        req,
        crd([
          ['NamesAccepted', 'False', 'MultipleNamesConflict'],
          ['Established', 'False'],
        ]),
      ),
    ).toMatchObject({ state: 'NamesNotAccepted', reason: 'MultipleNamesConflict' });
    expect(
      evaluateCrd(
        { ...req, version: 'v2' },
        crd(
          [
            ['NamesAccepted', 'True'],
            ['Established', 'True'],
          ],
          [
            ['v1', true],
            ['v2', false],
          ],
        ),
      ),
    ).toMatchObject({ state: 'VersionNotServed' });
  });

  it('outcome: missing beats not-established beats version; optional ones never fail', () => {
    const row = (state: string, required = true) =>
      ({ name: 'x.y', required, state, reason: '', served: [] }) as Parameters<typeof outcome>[0][number];
    expect(outcome([row('VersionNotServed'), row('NotEstablished'), row('Missing')])).toBe('E_CRD_MISSING');
    expect(outcome([row('VersionNotServed'), row('NamesNotAccepted')])).toBe('E_CRD_NOT_READY');
    expect(outcome([row('VersionNotServed')])).toBe('E_CRD_VERSION_NOT_SERVED');
    expect(outcome([row('Missing', false), row('Ready')])).toBeUndefined();
  });

  it('fix hint names the chart value and the manual server-side apply', () => {
    const hint = fixHint(
      [{ name: 'servicemonitors.monitoring.coreos.com', required: true, state: 'Missing', reason: '', served: [] }],
      '/crds',
    );
    expect(hint).toContain('global.autoInstallCRDs=true');
    expect(hint).toContain('kubectl apply --server-side');
    expect(hint).toContain('/crds/monitoring.coreos.com_servicemonitors.yaml');
  });
});

describe('CRD manifests', () => {
  it('canonical hash ignores key order', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), (o) => {
        const reversed = Object.fromEntries(Object.entries(o).reverse());
        expect(manifestHash(reversed)).toBe(manifestHash(o));
        expect(JSON.parse(canonicalJson(o))).toEqual(JSON.parse(JSON.stringify(o)));
      }),
    );
  });

  it('isSubset: a value is a subset of itself and of itself with extra (defaulted) fields', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.string(), fc.jsonValue()), fc.string(), fc.jsonValue(), (o, k, extra) => {
        expect(isSubset(o, o)).toBe(true);
        if (!(k in o)) expect(isSubset(o, { ...o, [k]: extra })).toBe(true);
      }),
    );
    expect(isSubset({ a: [1, 2] }, { a: [1] })).toBe(false);
    // client-node's names for JSON-schema attributes
    expect(
      isSubset(
        { 'x-kubernetes-preserve-unknown-fields': true, $ref: 'r', default: 1, enum: ['a'] },
        { x_kubernetes_preserve_unknown_fields: true, ref: 'r', _default: 1, _enum: ['a'] },
      ),
    ).toBe(true);
    expect(isSubset({ 'x-kubernetes-list-type': 'map' }, { x_kubernetes_list_type: 'set' })).toBe(false);
    expect(isSubset({ a: { b: 1 } }, { a: { b: 2 } })).toBe(false);
  });

  it('matchesManifest by our annotation, or by spec containment; applyBody sets the annotation and drops status', () => {
    const m = {
      name: 'a.b',
      file: 'f',
      object: {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'a.b' },
        spec: { group: 'b' },
        status: { x: 1 },
      },
      hash: 'h1',
    };
    expect(matchesManifest(m, undefined)).toBe(false);
    expect(
      matchesManifest(m, {
        metadata: { annotations: { [CRD_MANIFEST_HASH_ANNOTATION]: 'h1' } },
        spec: { group: 'other' },
      }),
    ).toBe(true);
    expect(matchesManifest(m, { spec: { group: 'b', conversion: { strategy: 'None' } } })).toBe(true);
    expect(matchesManifest(m, { spec: { group: 'c' } })).toBe(false);
    const body = applyBody(m);
    expect(body.status).toBeUndefined();
    expect((body.metadata as { annotations: Record<string, string> }).annotations[CRD_MANIFEST_HASH_ANNOTATION]).toBe(
      'h1',
    );
  });

  it('planInstall: creates missing CRDs, upgrades only those lacking a needed served version, keeps newer ones', () => {
    const version = (name: string, served: boolean) => ({ name, served, storage: name === 'v1' });
    const manifest = {
      name: 'widgets.example.com',
      file: 'example.com_widgets.yaml',
      object: {
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'widgets.example.com' },
        spec: {
          group: 'example.com',
          names: { plural: 'widgets', kind: 'Widget' },
          versions: [version('v1alpha1', false), version('v1', true)],
        },
      },
      hash: 'pinned',
    };
    const cluster = (
      versions: { name: string; served: boolean; storage: boolean }[],
      managers: string[] = [],
    ): Crd => ({
      metadata: { name: 'widgets.example.com', managedFields: managers.map((manager) => ({ manager })) },
      spec: { group: 'example.com', names: { plural: 'widgets', kind: 'Widget' }, versions },
    });
    const req = (v?: string) => ({ name: 'widgets.example.com', required: true, version: v });
    expect(servedVersions(manifest.object)).toEqual(['v1']);
    expect(planInstall(req('v1'), manifest, undefined)).toEqual({ action: 'create' });
    // Same as the manifest (installed by someone else, no hash annotation): nothing to do.
    expect(planInstall(req('v1'), manifest, cluster(manifest.object.spec.versions, ['kubectl']))).toEqual({
      action: 'unchanged',
    });
    // Newer: an extra served version, another manager. Kept, with or without a version requirement.
    const newer = cluster(
      [version('v1alpha1', false), version('v1', true), version('v2', true)],
      ['operator', 'operator'],
    );
    // The API server's status writes own no spec field: not named as an owner.
    newer.metadata?.managedFields?.push({ manager: 'kube-apiserver', operation: 'Update', subresource: 'status' });
    expect(planInstall(req('v1'), manifest, newer)).toEqual({ action: 'keep', managers: ['operator'] });
    expect(planInstall(req(), manifest, newer)).toEqual({ action: 'keep', managers: ['operator'] });
    // Outdated: the needed v1 is not served; the manifest serves it.
    expect(planInstall(req('v1'), manifest, cluster([version('v1alpha1', true)], ['old-chart']))).toEqual({
      action: 'upgrade',
      version: 'v1',
      managers: ['old-chart'],
    });
    // Without a version requirement the check needs no particular version: never an upgrade.
    expect(planInstall(req(), manifest, cluster([version('v1alpha1', true)])).action).toBe('keep');
    // Needs v2, which the manifest does not serve either: applying would not help.
    expect(planInstall(req('v2'), manifest, cluster([version('v1', true)]))).toEqual({
      action: 'unfixable',
      version: 'v2',
    });
  });

  it('falls back to scanning files with other names (multi-document bundles) and rejects invalid YAML', async () => {
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const dir = mkdtempSync(`${tmpdir()}/crds-`);
    const doc = (name: string) =>
      `apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata:\n  name: ${name}\nspec:\n  group: example.com\n`;
    writeFileSync(`${dir}/bundle.yaml`, `${doc('a.example.com')}---\n${doc('b.example.com')}`);
    const store = new ManifestStore(dir, yaml);
    expect(store.get('b.example.com')?.file).toBe(`${dir}/bundle.yaml`);
    expect(store.get('a.example.com')?.name).toBe('a.example.com');
    writeFileSync(`${dir}/example.com_bad.yaml`, 'kind: [unclosed');
    expect(() => new ManifestStore(dir, yaml).get('bad.example.com')).toThrow(
      expect.objectContaining({ code: 'E_CRD_MANIFEST' }),
    );
  });

  it('finds the real Prometheus CRDs by the upstream file naming (skips without ../shared)', (ctx) => {
    if (!existsSync(SHARED)) ctx.skip(`no ${SHARED}: shared test data absent`);
    const store = new ManifestStore(`${SHARED}/prometheus-operator`, yaml);
    const m = store.get('servicemonitors.monitoring.coreos.com');
    expect(m?.file).toMatch(/monitoring\.coreos\.com_servicemonitors\.yaml$/);
    expect(m?.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(store.get('nothere.monitoring.coreos.com')).toBeUndefined();
  });
});
