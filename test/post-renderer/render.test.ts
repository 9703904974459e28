import { describe, expect, it } from 'vitest';
import { ErrorCodes } from '../../core/errors.js';
import { postRender } from '../../post-renderer/src/render.js';
import { ANNOTATION_KEYS, LABEL_KEYS, META } from '../helpers/meta.js';
import { expectedStream, parseStream, stripKeys } from '../helpers/yaml.js';
import { errorOf } from '../helpers/errors.js';

const render = (input: string, onConflict?: 'error' | 'keep') => postRender(input, { meta: META, onConflict });

/** Output lines minus input lines, in order: what the post-renderer added (input must be a subsequence). */
function addedLines(input: string, output: string): string[] {
  const inLines = input.split('\n');
  const added: string[] = [];
  let i = 0;
  for (const line of output.split('\n')) {
    if (i < inLines.length && line === inLines[i]) i++;
    else added.push(line);
  }
  expect(i, 'every input line survives, in order').toBe(inLines.length);
  return added;
}

const LABELS = `    helm-tiers.io/tier: "1"
    helm-tiers.io/component: "database"
    helm-tiers.io/release: "tier1-database"
    helm-tiers.io/plan: "platform"`;
const ANNOTATIONS = `    helm-tiers.io/tier: "1"
    helm-tiers.io/depends-on: ""`;

describe('post-renderer core: byte-preserving edits', () => {
  it('adds labels and annotations to a block mapping and keeps every other byte', () => {
    const input = `---
# Source: chart/templates/cm.yaml
# a comment
apiVersion: v1
kind: ConfigMap
metadata:
  name: x   # keep me
  labels:
    app: x
data:
  yes: yes
  mode: 0755
  quoted: 'single'
  script: |
    echo ---
    ...
`;
    const { output, warnings } = render(input);
    expect(output).toBe(`---
# Source: chart/templates/cm.yaml
# a comment
apiVersion: v1
kind: ConfigMap
metadata:
  name: x   # keep me
  labels:
    app: x
${LABELS}
  annotations:
${ANNOTATIONS}
data:
  yes: yes
  mode: 0755
  quoted: 'single'
  script: |
    echo ---
    ...
`);
    expect(warnings).toEqual([]);
    expect(parseStream(output)).toEqual(expectedStream(input, META));
  });

  it('writes pod-template labels but never selectors or volumeClaimTemplates', () => {
    const input = `apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: db
spec:
  selector:
    matchLabels:
      app: db
  template:
    metadata:
      labels:
        app: db
    spec:
      containers:
      - name: db
        image: postgres
  volumeClaimTemplates:
  - metadata:
      name: data
      labels:
        app: db
`;
    const { output } = render(input);
    const [obj] = parseStream(output) as [Record<string, any>];
    expect(obj.spec.selector).toEqual({ matchLabels: { app: 'db' } });
    expect(obj.spec.volumeClaimTemplates[0].metadata.labels).toEqual({ app: 'db' });
    expect(Object.keys(obj.spec.template.metadata.labels)).toEqual(['app', ...LABEL_KEYS]);
    expect(obj.spec.template.metadata.annotations).toBeUndefined();
    expect(Object.keys(obj.metadata.annotations)).toEqual(ANNOTATION_KEYS);
    expect(parseStream(output)).toEqual(expectedStream(input, META));
    addedLines(input, output);
  });

  it('labels CronJob pod templates, creating the template metadata', () => {
    const input = `apiVersion: batch/v1
kind: CronJob
metadata:
  name: backup
spec:
  schedule: "0 3 * * *"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
            - name: b
              image: busybox`;
    const { output } = render(input);
    const [obj] = parseStream(output) as [Record<string, any>];
    expect(Object.keys(obj.spec.jobTemplate.spec.template.metadata.labels)).toEqual(LABEL_KEYS);
    expect(obj.spec.jobTemplate.metadata).toBeUndefined();
    expect(parseStream(output)).toEqual(expectedStream(input, META));
    addedLines(input, output);
  });

  it('writes into each item of a kind: List, not into the List', () => {
    const input = `apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ServiceAccount
  metadata: {name: sa}
- apiVersion: apps/v1
  kind: Deployment
  metadata:
    name: d
  spec:
    template:
      spec: {}
`;
    const { output, stats } = render(input);
    const [list] = parseStream(output) as [Record<string, any>];
    expect(list.metadata).toBeUndefined();
    expect(Object.keys(list.items[0].metadata.labels)).toEqual(LABEL_KEYS);
    expect(Object.keys(list.items[1].spec.template.metadata.labels)).toEqual(LABEL_KEYS);
    expect(stats.objects).toBe(2);
    expect(parseStream(output)).toEqual(expectedStream(input, META));
  });

  it.each([
    ['null', 'labels:\n'],
    ['tilde', 'labels: ~\n'],
    ['null with comment', 'labels: # none yet\n'],
    ['empty flow', 'labels: {}\n'],
    ['flow', 'labels: {app: x}\n'],
    ['multi-line flow', 'labels: {\n    app: x,\n  }\n'],
    ['quoted keys', 'labels:\n    "app": x\n    \'tier\': y\n'],
  ])('handles %s labels', (_name, labels) => {
    const input = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  ${labels}data: {}\n`;
    const { output } = render(input);
    expect(parseStream(output)).toEqual(expectedStream(input, META));
    expect(stripKeys(parseStream(output)[0], LABEL_KEYS, ANNOTATION_KEYS)).toEqual(
      stripKeys(parseStream(input)[0], LABEL_KEYS, ANNOTATION_KEYS),
    );
  });

  it('handles flow-style objects, JSON documents, CRLF, a BOM and document end markers', () => {
    const inputs = [
      '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "j"}, "data": {"a": "1"}}\n',
      'apiVersion: v1\r\nkind: ConfigMap\r\nmetadata:\r\n  name: crlf\r\n  labels:\r\n    a: b\r\n',
      '\uFEFFapiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: bom\n',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n...\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: b\n...\n',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: no-trailing-newline',
    ];
    for (const input of inputs) {
      const { output } = render(input);
      expect(parseStream(output), input).toEqual(expectedStream(input, META));
    }
    const crlf = render(inputs[1] as string).output;
    expect(crlf.replace(/\r\n/g, '')).not.toContain('\n');
    expect(render(inputs[2] as string).output.startsWith('\uFEFF')).toBe(true);
  });

  it('leaves values we already own alone, refuses conflicting ones, or keeps them with a warning', () => {
    const same = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels:\n    helm-tiers.io/tier: "1"\n`;
    expect(render(same).warnings).toEqual([]);
    expect(render(same).output).toContain('    helm-tiers.io/tier: "1"\n    helm-tiers.io/component');

    const other = same.replace('"1"', 'three');
    const refused = errorOf(() => render(other));
    expect(refused.code).toBe(ErrorCodes.CONFLICT);
    expect(refused.location.field).toBe('metadata.labels');
    const { output, warnings } = render(other, 'keep');
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.location.field).toBe('metadata.labels');
    expect(parseStream(output)[0]).toMatchObject({ metadata: { labels: { 'helm-tiers.io/tier': 'three' } } });
    expect(parseStream(output)).toEqual(expectedStream(other, META));
  });

  it('names the selectors of the release that read a conflicting key, so the user sees what would break', () => {
    const input = [
      'apiVersion: apps/v1',
      'kind: Deployment',
      'metadata:',
      '  name: web',
      'spec:',
      '  selector:',
      '    matchLabels: {helm-tiers.io/tier: "2"}',
      '  template:',
      '    metadata:',
      '      labels:',
      '        helm-tiers.io/tier: "2"',
      '---',
      'apiVersion: v1',
      'kind: Service',
      'metadata:',
      '  name: web',
      'spec:',
      '  selector:',
      '    helm-tiers.io/tier: "2"',
      '',
    ].join('\n');
    const err = errorOf(() => render(input));
    expect(err.code).toBe(ErrorCodes.CONFLICT);
    expect(err.location).toMatchObject({ document: 1, field: 'spec.template.metadata.labels' });
    expect(err.message).toContain('Deployment/web spec.selector');
    expect(err.message).toContain('Service/web spec.selector');
    // Kept, nothing any selector reads changes; our other keys are still added.
    const kept = render(input, 'keep');
    const [deployment, service] = parseStream(kept.output) as any[];
    expect(deployment.spec.template.metadata.labels['helm-tiers.io/tier']).toBe('2');
    expect(deployment.spec.template.metadata.labels['helm-tiers.io/release']).toBe('tier1-database');
    expect(deployment.spec.selector).toEqual({ matchLabels: { 'helm-tiers.io/tier': '2' } });
    expect(service.spec.selector).toEqual({ 'helm-tiers.io/tier': '2' });
  });

  it('re-serializes only documents with aliases, resolving them so a label never reaches an alias', () => {
    const input = `# Source: c/templates/a.yaml
apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
  labels: &labels
    app: d
spec:
  selector:
    matchLabels: *labels
  template:
    metadata:
      labels: *labels
---
# Source: c/templates/b.yaml
apiVersion: v1
kind: ConfigMap
metadata:
  name: untouched   # comment kept
`;
    const { output, stats, warnings } = render(input);
    expect(stats.rewritten).toBe(1);
    expect(warnings[0]?.location.file).toBe('c/templates/a.yaml');
    const [deploy] = parseStream(output) as [Record<string, any>];
    expect(deploy.spec.selector.matchLabels).toEqual({ app: 'd' });
    // Spelled out, not only compared with expectedStream (which shares the injection code under test).
    const want = { app: 'd', ...Object.fromEntries(META.labels) };
    expect(deploy.metadata.labels).toEqual(want);
    expect(deploy.spec.template.metadata.labels).toEqual(want);
    expect(parseStream(output)).toEqual(expectedStream(input, META));
    expect(output).toContain('  name: untouched   # comment kept\n');
    expect(output).toContain('# Source: c/templates/a.yaml');
  });

  it('takes a merge key on our paths through the document model, so merged annotations survive', () => {
    // The yaml library gives a merge key as a symbol: edit.ts used to miss it and add an `annotations` key that
    // overrode the merged one.
    const input = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  <<: {annotations: {note: merged}}\n  name: x\n`;
    const { output, stats, warnings } = render(input);
    expect(stats.rewritten).toBe(1);
    expect(warnings[0]?.message).toContain('merge key');
    const [cm] = parseStream(output) as [Record<string, any>];
    expect(cm.metadata.annotations).toEqual({ note: 'merged', ...Object.fromEntries(META.annotations) });
    expect(parseStream(output)).toEqual(expectedStream(input, META));
  });

  it('keeps the Helm 4 postrender-filename annotation and labels hooks', () => {
    const input = `apiVersion: batch/v1
kind: Job
metadata:
  name: hook
  annotations:
    postrenderer.helm.sh/postrender-filename: 'c/templates/hook.yaml'
    helm.sh/hook: pre-install
spec:
  template:
    spec:
      restartPolicy: Never
`;
    const { output } = render(input);
    const [job] = parseStream(output) as [Record<string, any>];
    expect(job.metadata.annotations['postrenderer.helm.sh/postrender-filename']).toBe('c/templates/hook.yaml');
    expect(Object.keys(job.metadata.annotations)).toEqual([
      'postrenderer.helm.sh/postrender-filename',
      'helm.sh/hook',
      ...ANNOTATION_KEYS,
    ]);
    expect(Object.keys(job.spec.template.metadata.labels)).toEqual(LABEL_KEYS);
    addedLines(input, output);
  });

  it('leaves empty documents (templates that rendered nothing) as they are', () => {
    const input =
      '---\n# Source: c/templates/empty.yaml\n---\n# Source: c/templates/cm.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n';
    const { output, stats } = render(input);
    expect(output.startsWith('---\n# Source: c/templates/empty.yaml\n---\n')).toBe(true);
    expect(stats).toMatchObject({ documents: 2, objects: 1 });
  });
});

describe('post-renderer core: bad input', () => {
  const doc = (body: string) => `---\n# Source: chart/templates/x.yaml\n${body}`;

  it.each([
    ['', ErrorCodes.INPUT_EMPTY],
    ['  \n\n', ErrorCodes.INPUT_EMPTY],
    ['# only a comment\n', ErrorCodes.INPUT_EMPTY],
    ['---\n# Source: c/templates/x.yaml\n', ErrorCodes.INPUT_EMPTY],
  ])('refuses input without objects: %j', (input, code) => {
    expect(errorOf(() => render(input)).code).toBe(code);
  });

  it('names file, document, line and column of invalid YAML', () => {
    const input =
      doc('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n') +
      doc('apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n');
    const err = errorOf(() => render(input));
    expect(err.code).toBe(ErrorCodes.INPUT_YAML);
    expect(err.location).toMatchObject({ file: 'chart/templates/x.yaml', document: 2 });
    expect(err.location.line).toBeGreaterThanOrEqual(4);
  });

  it.each([
    ['a scalar', 'just text\n', ErrorCodes.INPUT_NOT_OBJECT, undefined],
    ['a sequence', '- a\n- b\n', ErrorCodes.INPUT_NOT_OBJECT, undefined],
    ['no kind', 'apiVersion: v1\nmetadata:\n  name: x\n', ErrorCodes.INPUT_NOT_OBJECT, 'kind'],
    ['a numeric kind', 'apiVersion: v1\nkind: 3\nmetadata: {}\n', ErrorCodes.INPUT_NOT_OBJECT, 'kind'],
    [
      'labels as a list',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: [a]\n',
      ErrorCodes.INPUT_FIELD_TYPE,
      'metadata.labels',
    ],
    ['metadata as a string', 'apiVersion: v1\nkind: ConfigMap\nmetadata: x\n', ErrorCodes.INPUT_FIELD_TYPE, 'metadata'],
    [
      'a map as a label value',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels:\n    helm-tiers.io/tier: {a: 1}\n',
      ErrorCodes.INPUT_FIELD_TYPE,
      'metadata.labels.helm-tiers.io/tier',
    ],
    [
      'duplicate labels',
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  labels: {a: b}\n  labels: {c: d}\n',
      ErrorCodes.INPUT_YAML,
      'metadata.labels',
    ],
    [
      'a List item without kind',
      'apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  metadata: {}\n',
      ErrorCodes.INPUT_NOT_OBJECT,
      'items[0].kind',
    ],
  ])('refuses %s with a located error', (_name, body, code, field) => {
    const err = errorOf(() => render(doc(body)));
    expect(err.code).toBe(code);
    expect(err.location.file).toBe('chart/templates/x.yaml');
    expect(err.location.document).toBe(1);
    expect(err.location.line).toBeGreaterThanOrEqual(1);
    if (field) expect(err.location.field).toBe(field);
  });

  describe('line numbers count from the first line of the rendered template, on both Helm majors', () => {
    // Template line 7 holds the bad value; the template starts with two comment lines of its own.
    const template = '# one\n# two\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\n  labels: [a]\n';
    const ok = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n';
    it.each([
      ['Helm 4, first document (no `---` before it)', template, 1],
      ['Helm 3, first document', `---\n# Source: c/templates/x.yaml\n${template}`, 1],
      ['Helm 4, a later document', `${ok}---\n${template}`, 2],
      [
        'Helm 3, a later document',
        `---\n# Source: c/templates/o.yaml\n${ok}---\n# Source: c/templates/x.yaml\n${template}`,
        2,
      ],
    ])('%s', (_name, input, document) => {
      const err = errorOf(() => render(input));
      expect(err.code).toBe(ErrorCodes.INPUT_FIELD_TYPE);
      expect(err.location).toMatchObject({ document, line: 7, column: 11, field: 'metadata.labels' });
    });
  });

  it('locates invalid YAML once, in the template: no second line number counted from the stream start', () => {
    const bad = '# one\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [unclosed\n  namespace: x\n';
    const ok = 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ok\n';
    const helm3 = `---\n# Source: c/templates/o.yaml\n${ok}---\n# Source: c/templates/x.yaml\n${bad}`;
    for (const [input, document] of [
      [bad, 1],
      [`${ok}---\n${bad}`, 2],
      [helm3, 2],
    ] as const) {
      const err = errorOf(() => render(input));
      expect(err.code).toBe(ErrorCodes.INPUT_YAML);
      // The parser reports the flow sequence where it should have ended: template line 6, column 3.
      expect(err.location).toMatchObject({ document, line: 6, column: 3 });
      expect(err.message).not.toMatch(/\bline \d|column \d|:\s*$/);
    }
  });

  it('takes the file name from the Helm 4 annotation when there is no Source comment', () => {
    const err = errorOf(() =>
      render(
        `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  annotations:\n    postrenderer.helm.sh/postrender-filename: c/templates/y.yaml\n  labels: [x]\n`,
      ),
    );
    expect(err.location).toMatchObject({ file: 'c/templates/y.yaml', line: 6, field: 'metadata.labels' });
  });
});
