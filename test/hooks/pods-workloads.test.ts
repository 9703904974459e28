// Zero pods: which workloads of the selection want pods anyway (hooks/src/pods/workloads.ts).
import { describe, expect, it } from 'vitest';
import type { Workload } from '../../hooks/src/k8s/types.js';
import { describeShortfalls, desiredPods, podShortfalls, selectorMatches } from '../../hooks/src/pods/workloads.js';

const w = (name: string, spec: Record<string, unknown> = {}, status: Workload['status'] = {}): Workload => ({
  metadata: { name, uid: `uid-${name}` },
  spec: { selector: { matchLabels: { app: name } }, ...spec },
  status,
});

describe('podShortfalls', () => {
  it('reads replicas (default 1) and a DaemonSet’s desiredNumberScheduled (default 0)', () => {
    expect(desiredPods('Deployment', w('a'))).toBe(1);
    expect(desiredPods('StatefulSet', w('a', { replicas: 3 }))).toBe(3);
    expect(desiredPods('DaemonSet', w('a'))).toBe(0);
    expect(desiredPods('DaemonSet', w('a', {}, { desiredNumberScheduled: 2 }))).toBe(2);
  });

  it('names each workload that wants pods, with the controller’s ReplicaFailure cause and where to look', () => {
    const dep = w(
      'api',
      { replicas: 2 },
      {
        conditions: [
          {
            type: 'ReplicaFailure',
            status: 'True',
            reason: 'FailedCreate',
            message: 'pods "api-7d9-x" is forbidden: exceeded quota: compute',
          },
        ],
      },
    );
    const out = podShortfalls(
      [
        { kind: 'Deployment', items: [dep] },
        { kind: 'StatefulSet', items: [w('db')] },
        { kind: 'DaemonSet', items: [w('agent', {}, { desiredNumberScheduled: 1 })] },
      ],
      'apps',
      [],
    );
    expect(out.map((s) => s.message)).toEqual([
      'deployment/api wants 2 replicas, 0 pods exist (FailedCreate: pods "api-7d9-x" is forbidden: exceeded quota: compute): check quota / admission (kubectl describe rs -n apps -l app=api)',
      'statefulset/db wants 1 replica, 0 pods exist: check quota / admission (kubectl describe statefulset -n apps db)',
      'daemonset/agent wants 1 pod, 0 pods exist: check quota / admission (kubectl describe daemonset -n apps agent)',
    ]);
    expect(out[0]).toMatchObject({ kind: 'Deployment', name: 'api', uid: 'uid-api', wants: 2 });
  });

  it('is empty when nothing wants pods: scaled to zero, being deleted, a DaemonSet with no node to run on', () => {
    const deleting = {
      ...w('old', { replicas: 2 }),
      metadata: { name: 'old', deletionTimestamp: '2024-01-01T00:00:00Z' },
    };
    expect(
      podShortfalls(
        [
          { kind: 'Deployment', items: [w('zero', { replicas: 0 }), deleting] },
          { kind: 'DaemonSet', items: [w('agent', {}, { desiredNumberScheduled: 0 })] },
        ],
        'apps',
        [],
      ),
    ).toEqual([]);
  });

  it('with no pods in the selection, a workload whose own status counts pods is not stuck (its pods lack the label)', () => {
    const unlabelled = w('web', { replicas: 2 }, { replicas: 2 });
    expect(podShortfalls([{ kind: 'Deployment', items: [unlabelled] }], 'apps', [])).toEqual([]);
  });
});

describe('podShortfalls beside pods (a release with some pods)', () => {
  const pod = (labels: Record<string, string>) => ({ metadata: { name: 'p', labels } });

  it('names only the workloads none of whose pods exist, by selector and by their own status', () => {
    const out = podShortfalls(
      [
        {
          kind: 'Deployment',
          items: [w('web', { replicas: 2 }), w('db', { replicas: 2 }), w('cache', { replicas: 1 }, { replicas: 1 })],
        },
        { kind: 'DaemonSet', items: [w('agent', {}, { desiredNumberScheduled: 2, currentNumberScheduled: 2 })] },
      ],
      'apps',
      [pod({ app: 'web' }), pod({ app: 'web', extra: 'x' })],
    );
    // web: its pods are there; cache and agent: their status counts pods (e.g. outside the selection); db: neither.
    expect(out.map((s) => s.name)).toEqual(['db']);
  });

  it('a selector it cannot read never makes a workload look stuck', () => {
    const unreadable = [
      w('none', { replicas: 2, selector: undefined }),
      w('empty', { replicas: 2, selector: {} }),
      w('odd', { replicas: 2, selector: { matchExpressions: [{ key: 'app', operator: 'Gt', values: ['1'] }] } }),
    ];
    expect(podShortfalls([{ kind: 'Deployment', items: unreadable }], 'apps', [pod({ other: 'x' })])).toEqual([]);
  });
});

describe('describeShortfalls', () => {
  it('counts them and names the first three', () => {
    const one = podShortfalls([{ kind: 'StatefulSet', items: [w('db')] }], 'apps', []);
    expect(describeShortfalls(one)).toBe(
      '1 workload wants pods and has none: statefulset/db wants 1 replica, 0 pods exist: check quota / admission (kubectl describe statefulset -n apps db)',
    );
    const four = podShortfalls([{ kind: 'StatefulSet', items: ['a', 'b', 'c', 'd'].map((n) => w(n)) }], 'apps', []);
    const text = describeShortfalls(four);
    expect(text).toMatch(
      /^4 workloads want pods and have none: statefulset\/a .*; statefulset\/b .*; statefulset\/c .*; \.\.\.$/,
    );
    expect(text).not.toContain('statefulset/d');
  });
});

describe('selectorMatches', () => {
  const labels = { app: 'web', tier: 'front' };
  it.each([
    [{ matchLabels: { app: 'web' } }, true],
    [{ matchLabels: { app: 'db' } }, false],
    [
      { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['front', 'x'] }] },
      true,
    ],
    [{ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, false],
    [{ matchExpressions: [{ key: 'zone', operator: 'NotIn', values: ['a'] }] }, true],
    [{ matchExpressions: [{ key: 'app', operator: 'Exists' }] }, true],
    [{ matchExpressions: [{ key: 'app', operator: 'DoesNotExist' }] }, false],
    [{ matchExpressions: [{ key: 'zone', operator: 'In', values: [] }] }, false],
    [{}, undefined],
    [null, undefined],
    [{ matchExpressions: [{ key: 'app', operator: 'Lt', values: ['2'] }] }, undefined],
  ])('%j → %s', (selector, expected) => {
    expect(selectorMatches(selector, labels)).toBe(expected);
  });
});
