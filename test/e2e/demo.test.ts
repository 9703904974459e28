// `npm start`'s demo, run in-process on Helm 3 with the embedded CRD set (the path taken when ../shared is absent):
// it must tell the whole story and exit 0.
import { beforeAll, describe, expect, it } from 'vitest';
import { runDemo } from '../../demo/demo.js';
import { main, USAGE } from '../../demo/main.js';
import { ensureBuild, INSTALL_TIMEOUT_MS, planPath, root } from './support.js';

describe('npm start demo (Helm 3, embedded CRDs)', () => {
  let out = '';
  let code = -1;

  beforeAll(async () => {
    await ensureBuild();
    code = await runDemo({ root, planPath, major: 3, embeddedCrds: true, out: (s) => (out += s) });
  }, INSTALL_TIMEOUT_MS);

  it('exits 0 and stops the cluster', () => {
    expect(out).not.toContain('!! unexpected');
    expect(out).toMatch(/demo complete: cluster stopped after/);
    expect(code).toBe(0);
  });

  it('says where the CRDs come from', () => {
    expect(out).toContain('a small embedded CRD set');
  });

  it('shows the plan levels, the failing CRD check, the tier-by-tier deploy and the remediation', () => {
    expect(out).toMatch(/level 1:\n\s+tier1-database\s+tier 1\s+no dependencies/);
    expect(out).toMatch(/✗ monitoring\s+tier 0\s+install FAILED/);
    expect(out).toMatch(/monitoring-pre-crd-check failed/);
    expect(out).toContain('let the chart do it: helm upgrade ... --set global.autoInstallCRDs=true');
    for (const r of ['tier1-database', 'tier2-cache', 'tier3-api', 'tier4-frontend', 'kyverno'])
      expect(out).toMatch(new RegExp(`✓ ${r}\\s+tier \\d\\s+install ok`));
    expect(out).toMatch(/✓ monitoring\s+tier 0\s+reinstall ok/);
    expect(out.indexOf('✓ tier2-cache')).toBeLessThan(out.indexOf('> tier3-api'));
    // Told by deploy itself: the CRDs the hooks installed, and the second render that follows.
    expect(out).toMatch(/> monitoring\s+tier 0\s+upgrade started \(again: 5 of its CRDs were installed by its hooks/);
    expect(out).toMatch(/crd-check: 5\/5 required CRDs ready \(exit 0\)/);
    expect(out).toMatch(/unhealthy: api-\S+ CrashLoopBackOff/);
    expect(out).toContain('remediation: rollout restart Deployment/api');
    expect(out).toMatch(/pod-check: 2 pods, 2 healthy, 0 unhealthy; auto-fix: deployment\/api restarted/);
  });

  it('renders the guarded custom resources in the same run, once their CRDs exist (the second render)', () => {
    for (const r of ['monitoring', 'kyverno']) expect(out).toMatch(new RegExp(`✓ ${r}\\s+tier \\d\\s+upgrade ok`));
    expect(out).toMatch(/prometheus\.monitoring\.coreos\.com\/monitoring\s/);
    expect(out).toMatch(/apps-kyverno-require-tier-labels/);
  });

  it('reruns with nothing changed without a Helm action, and status reports every release Ready', () => {
    const rerun = out.slice(out.indexOf('── 4.'), out.indexOf('── 5.'));
    for (const r of ['tier1-database', 'tier2-cache', 'tier3-api', 'tier4-frontend', 'monitoring', 'kyverno'])
      expect(rerun).toMatch(new RegExp(`= ${r}\\s+tier \\d\\s+unchanged`));
    expect(rerun).toMatch(/done: 0 deployed, 6 unchanged, 0 failed, 0 not started/);
    expect(out).toMatch(/\$ helm-tiers status\n\s+plan platform at revision [0-9a-f]{16}: Ready\n/);
    expect(out).toMatch(/tier4-frontend\s+4\s+1\s+deployed\s+[0-9a-f]{16}\s+True/);
  });

  it('ends with the final state', () => {
    expect(out).toContain('$ kubectl get pods -n apps');
    expect(out).toMatch(/database-0\s+1\/1\s+Running/);
    expect(out).toContain('$ helm list -n apps');
    for (const r of ['tier1-database', 'tier2-cache', 'tier3-api', 'tier4-frontend', 'monitoring', 'kyverno'])
      expect(out).toMatch(new RegExp(`${r}\\s+apps\\s+\\d+\\s+.*deployed`));
  });
});

describe('demo entry point', () => {
  it('--help prints the usage; a bad --helm is a usage error', async () => {
    let out = '';
    let err = '';
    const io = { root, out: (s: string) => (out += s), err: (s: string) => (err += s) };
    expect(await main(['--help'], io)).toBe(0);
    expect(out).toBe(USAGE);
    expect(await main(['--helm', '5'], io)).toBe(64);
    expect(err).toContain('--helm must be 3 or 4');
  });
});
