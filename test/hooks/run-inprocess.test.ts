// The programs' run(argv, env, deps) API in-process (what the CLI or a benchmark would call), against the
// simulated cluster: output and logs are captured through deps, nothing touches process.stdout.
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCrdCheck } from '../../hooks/src/programs/crd.js';
import { runDependencyCheck } from '../../hooks/src/programs/dependency.js';
import { runPodCheck } from '../../hooks/src/programs/pods.js';
import { startCluster, type SimCluster } from '../../cluster/sim/index.js';

function capture() {
  const logs: Record<string, unknown>[] = [];
  let out = '';
  const logDestination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l) logs.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logs, text: () => out, deps: { logDestination, out: (t: string) => (out += t) } };
}

describe('run() in-process', () => {
  let c: SimCluster;
  beforeAll(async () => {
    c = await startCluster();
  });
  afterAll(async () => {
    await c.stop();
  });

  it('crd-check returns the exit code; table and summary go to deps.out, JSON logs to deps.logDestination', async () => {
    const cap = capture();
    const code = await runCrdCheck(['--required=widgets.example.com'], { KUBECONFIG: c.kubeconfig }, cap.deps);
    expect(code).toBe(10);
    expect(cap.text()).toMatch(/widgets\.example\.com\s+required\s+Missing/);
    expect(cap.text().trim().split('\n').pop()).toBe(
      'crd-check: 0/1 required CRDs ready (widgets.example.com Missing) (exit 10)',
    );
    expect(cap.logs.find((l) => l.msg === 'done')).toMatchObject({ program: 'crd-check', exitCode: 10, apiCalls: 1 });
  });

  it('usage errors and --help never contact the cluster', async () => {
    const cap = capture();
    expect(await runPodCheck([], { KUBECONFIG: '/nonexistent' }, cap.deps)).toBe(64);
    expect(cap.text()).toContain('E_USAGE');
    expect(await runCrdCheck(['--required=NotACrd'], { KUBECONFIG: '/nonexistent' }, cap.deps)).toBe(64);
    expect(await runDependencyCheck(['--help'], {}, cap.deps)).toBe(0);
    expect(cap.text()).toContain('HT_DEPENDS_ON');
  });

  it('an aborted signal ends a waiting check with exit 143 and a summary', async () => {
    const cap = capture();
    const ac = new AbortController();
    const pending = runDependencyCheck(
      ['--depends-on=never', '--timeout=60'],
      { KUBECONFIG: c.kubeconfig },
      { ...cap.deps, signal: ac.signal },
    );
    setTimeout(() => {
      ac.abort();
    }, 300);
    expect(await pending).toBe(143);
    expect(cap.text().trim().split('\n').pop()).toMatch(/^dependency-check: .*\(exit 143\)$/);
  });
});
