/**
 * The post-renderer inside real Helm: Helm 3.17.3 running the executable, Helm 4.1.4 running the installed
 * postrenderer/v1 plugin, on a fixture chart holding every shape we handle.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type SimCluster } from '../../cluster/sim/index.js';
import { ErrorCodes } from '../../core/errors.js';
import { ANNOTATION_KEYS, LABEL_KEYS } from '../helpers/meta.js';
import { FIXTURE_CHART, helmHarness, PLAN, postRendererArgs, type HelmHarness } from '../helpers/helm.js';
import { parseStream, stripKeys } from '../helpers/yaml.js';

type Obj = Record<string, any>;
const RELEASE_ARGS = postRendererArgs(`--plan=${PLAN}`, '--release=tier1-database');
const isHook = (o: Obj) => Boolean(o.metadata?.annotations?.['helm.sh/hook']);
const H4_FILENAME = 'postrenderer.helm.sh/postrender-filename';

/** A throwaway chart with one template. */
function chartWith(template: string, extraTemplates: Record<string, string> = {}): string {
  const dir = mkdtempSync(join(tmpdir(), 'helm-tiers-chart-'));
  mkdirSync(join(dir, 'templates'));
  writeFileSync(join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: bad\nversion: 0.1.0\n');
  writeFileSync(join(dir, 'templates', 'x.yaml'), template);
  for (const [name, text] of Object.entries(extraTemplates)) writeFileSync(join(dir, 'templates', name), text);
  return dir;
}

describe.each([3, 4] as const)('Helm %i', (major) => {
  let h: HelmHarness;
  let plain: Obj[];
  let rendered: Obj[];
  let cluster: SimCluster;

  beforeAll(async () => {
    cluster = await startCluster({});
    h = await helmHarness(major);
    const base = ['template', 'r1', FIXTURE_CHART, '-n', 'apps', '--include-crds'];
    const [a, b] = await Promise.all([
      h.helm(base),
      h.helm([...base, '--post-renderer', h.postRenderer, ...RELEASE_ARGS]),
    ]);
    expect(a.stderr).toBe('');
    expect(b.code, b.stderr).toBe(0);
    plain = parseStream(a.stdout) as Obj[];
    rendered = parseStream(b.stdout) as Obj[];
  });

  afterAll(async () => {
    await cluster.stop();
  });

  it('writes the tier labels and annotations onto every post-rendered object', () => {
    const postRendered = rendered.filter((o) => o.kind !== 'CustomResourceDefinition' && (major === 4 || !isHook(o)));
    // Helm 4 sends hooks through the post-renderer, Helm 3 never does.
    expect(postRendered.some(isHook)).toBe(major === 4);
    const objects = postRendered.flatMap((o) => (o.kind === 'List' ? o.items : [o])) as Obj[];
    expect(objects.map((o) => o.kind).sort()).toEqual(
      [
        'ClusterRole',
        'ConfigMap',
        'CronJob',
        'Deployment',
        'Service',
        'ServiceAccount',
        'StatefulSet',
        'Widget',
        ...(major === 4 ? ['Job'] : []),
      ].sort(),
    );
    for (const o of objects) {
      expect(o.metadata.labels, `${o.kind} labels`).toMatchObject({
        'helm-tiers.io/tier': '1',
        'helm-tiers.io/component': 'database',
        'helm-tiers.io/release': 'tier1-database',
        'helm-tiers.io/plan': 'platform',
      });
      expect(o.metadata.annotations, `${o.kind} annotations`).toMatchObject({
        'helm-tiers.io/tier': '1',
        'helm-tiers.io/depends-on': '',
      });
    }
    const byKind = (k: string) => objects.find((o) => o.kind === k) as Obj;
    for (const k of ['Deployment', 'StatefulSet', ...(major === 4 ? ['Job'] : [])]) {
      expect(Object.keys(byKind(k).spec.template.metadata.labels), k).toEqual(expect.arrayContaining(LABEL_KEYS));
      expect(byKind(k).spec.template.metadata.annotations?.['helm-tiers.io/tier'], k).toBeUndefined();
    }
    expect(Object.keys(byKind('CronJob').spec.jobTemplate.spec.template.metadata.labels)).toEqual(LABEL_KEYS);
    // Never selectors, never volumeClaimTemplates.
    expect(byKind('Deployment').spec.selector).toEqual({ matchLabels: { app: 'web' } });
    expect(byKind('StatefulSet').spec.selector).toEqual({ matchLabels: { app: 'db' } });
    expect(byKind('StatefulSet').spec.volumeClaimTemplates[0].metadata.labels).toEqual({ app: 'db' });
    expect(byKind('Service').spec.selector).toEqual({ app: 'web' });
    // YAML 1.1 traps stay strings.
    expect(byKind('ConfigMap').data).toMatchObject({ enabled: 'yes', mode: '0755', plain: 'on' });
  });

  it('changes nothing else: with our keys removed, objects equal the render without the post-renderer', () => {
    // Helm 4 re-reads the post-rendered stream and splits a List into its items: compare objects, not documents.
    const flat = (objs: Obj[]) =>
      objs
        .flatMap((o) => (o.kind === 'List' ? (o.items as Obj[]) : [o]))
        .map((o) => stripKeys(o, LABEL_KEYS, ANNOTATION_KEYS) as Obj)
        .sort((a, b) => `${a.kind}/${a.metadata?.name}`.localeCompare(`${b.kind}/${b.metadata?.name}`));
    expect(flat(rendered)).toEqual(flat(plain));
    expect(flat(rendered)).toHaveLength(10); // CRD, hook Job and 8 templates (two of them in the List)
  });

  it('crds/ reach the post-renderer only in Helm 3 `template --include-crds` (never on install)', () => {
    const crd = rendered.find((o) => o.kind === 'CustomResourceDefinition') as Obj;
    expect(crd.metadata.labels?.['helm-tiers.io/tier']).toBe(major === 3 ? '1' : undefined);
  });

  if (major === 4) {
    it('keeps the postrender-filename annotation so Helm 4 keeps the file names', async () => {
      const r = await h.helm(['template', 'r1', FIXTURE_CHART, '--post-renderer', h.postRenderer, ...RELEASE_ARGS]);
      expect(r.stdout).toContain('# Source: tiers-fixture/templates/deployment.yaml');
      expect(r.stdout).not.toContain('generated-by-postrender');
      expect(r.stdout).not.toContain(H4_FILENAME);
    });
  }

  describe('bad input fails the release, with the message where the user can read it', () => {
    /** [name, template, code, where the Helm 4 log line points: the template's file, when there is one] */
    const cases: [string, string, string, string | undefined][] = [
      [
        'labels as a list',
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: [a]\n',
        ErrorCodes.INPUT_FIELD_TYPE,
        'bad/templates/x.yaml',
      ],
      [
        'duplicate labels',
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: {a: b}\n  labels: {c: d}\n',
        ErrorCodes.INPUT_YAML,
        'bad/templates/x.yaml',
      ],
      [
        'an object without kind',
        'apiVersion: v1\nmetadata:\n  name: x\n',
        ErrorCodes.INPUT_NOT_OBJECT,
        'bad/templates/x.yaml',
      ],
      // Both majors call the post-renderer with an empty stream; without it, both would report the release
      // "deployed" with nothing in it.
      [
        'a render without anything (a template that renders nothing)',
        '{{- if false }}\napiVersion: v1\n{{- end }}\n',
        ErrorCodes.INPUT_EMPTY,
        undefined,
      ],
    ];
    it.each(cases)('%s', async (_name, template, code, file) => {
      const chart = chartWith(template);
      // `helm install` for real, against the simulated cluster: nothing may be created.
      const commands = [
        ['template', 'r'],
        ['install', 'r', '-n', 'bad', '--create-namespace'],
      ];
      const logText = () => (existsSync(h.logFile) ? readFileSync(h.logFile, 'utf8') : '');
      for (const command of commands) {
        // Only what this command logged: the log file grows over the whole suite.
        const logged = logText().length;
        const r = await h.helm([...command, chart, '--post-renderer', h.postRenderer, ...RELEASE_ARGS], {
          KUBECONFIG: cluster.kubeconfig,
        });
        expect(r.code, r.stdout).not.toBe(0);
        expect(r.stdout).toBe('');
        if (major === 3) expect(r.stderr).toContain(code);
        else {
          expect(r.stderr).toContain('exited with error');
          const fresh = logText().slice(logged);
          expect(fresh).toContain(code);
          if (file) expect(fresh).toContain(file);
        }
      }
      // The failed installs left nothing behind: no ConfigMap, no release record.
      expect(cluster.store.list('/configmaps').filter((o) => o.metadata.namespace === 'bad')).toEqual([]);
      expect(cluster.store.list('/secrets').filter((o) => o.metadata.labels?.owner === 'helm')).toEqual([]);
    });

    it('documents that are not mappings are refused by Helm itself, before post-rendering', async () => {
      const r = await h.helm([
        'template',
        'r',
        chartWith('- a\n- b\n'),
        '--post-renderer',
        h.postRenderer,
        ...RELEASE_ARGS,
      ]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(
        major === 3 ? /YAML parse error on bad\/templates\/x.yaml/ : /parsing bad\/templates\/x.yaml/,
      );
    });

    it('a conflicting value: refused (E_CONFLICT) by default, the chart value kept with --on-conflict=keep', async () => {
      const chart = chartWith(
        'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels:\n    helm-tiers.io/tier: "7"\n',
      );
      const kept = await h.helm([
        'template',
        'r',
        chart,
        '--post-renderer',
        h.postRenderer,
        ...RELEASE_ARGS,
        ...postRendererArgs('--on-conflict=keep'),
      ]);
      expect(kept.code).toBe(0);
      expect(parseStream(kept.stdout)[0]).toMatchObject({ metadata: { labels: { 'helm-tiers.io/tier': '7' } } });
      const strict = await h.helm(['template', 'r', chart, '--post-renderer', h.postRenderer, ...RELEASE_ARGS]);
      expect(strict.code).not.toBe(0);
      expect(major === 3 ? strict.stderr : readFileSync(h.logFile, 'utf8')).toContain(ErrorCodes.CONFLICT);
    });

    it('a release the plan does not know', async () => {
      const r = await h.helm([
        'template',
        'r',
        FIXTURE_CHART,
        '--post-renderer',
        h.postRenderer,
        ...postRendererArgs(`--plan=${PLAN}`, '--release=nope'),
      ]);
      expect(r.code).not.toBe(0);
      expect(major === 3 ? r.stderr : readFileSync(h.logFile, 'utf8')).toContain(ErrorCodes.PLAN_UNKNOWN_RELEASE);
    });

    it('a render without objects (a chart holding only hooks)', async () => {
      const chart = chartWith(
        'apiVersion: batch/v1\nkind: Job\nmetadata:\n  name: h\n  annotations:\n    helm.sh/hook: pre-install\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: c, image: busybox}]\n',
      );
      const r = await h.helm(['template', 'r', chart, '--post-renderer', h.postRenderer, ...RELEASE_ARGS]);
      if (major === 3) {
        // Helm 3 would report such a release "deployed" with nothing in it: the post-renderer refuses.
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain(ErrorCodes.INPUT_EMPTY);
        const allowed = await h.helm([
          'template',
          'r',
          chart,
          '--post-renderer',
          h.postRenderer,
          ...RELEASE_ARGS,
          ...postRendererArgs('--allow-empty'),
        ]);
        expect(allowed.code, allowed.stderr).toBe(0);
      } else {
        // Helm 4 sends the hook itself, so there is an object to label.
        expect(r.code, r.stderr).toBe(0);
        expect(parseStream(r.stdout)[0]).toMatchObject({ metadata: { labels: { 'helm-tiers.io/tier': '1' } } });
      }
    });
  });
});

describe('Helm 3 and Helm 4 plugins stay apart', () => {
  it('Helm 3 warns about the Helm 4 plugin on its plugin path, still renders, and is quiet without it', async () => {
    const [h3, h4] = [await helmHarness(3), await helmHarness(4)];
    const h4Plugins = h4.env.HELM_PLUGINS as string;
    expect(existsSync(join(h4Plugins, 'tiers', 'plugin.yaml'))).toBe(true);
    const args = ['template', 'r1', FIXTURE_CHART, '--post-renderer', h3.postRenderer, ...RELEASE_ARGS];
    // A plugin directory shared between the majors: Helm 3 cannot read the v1 plugin.yaml and says so on stderr.
    const shared = await h3.helm(args, { HELM_PLUGINS: h4Plugins });
    expect(shared.code, shared.stderr).toBe(0);
    expect(shared.stderr).toContain('failed to load plugins');
    expect(shared.stderr).toContain('unknown field "apiVersion"');
    expect(shared.stdout).toContain('helm-tiers.io/tier');
    // Separate plugin directories (what the docs recommend): no warning.
    const own = await h3.helm(args);
    expect(own.code, own.stderr).toBe(0);
    expect(own.stderr).not.toContain('failed to load plugins');
    expect(own.stdout).toBe(shared.stdout);
  });
});
