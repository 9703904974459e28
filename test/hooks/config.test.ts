import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { kubeconfigText } from '../../cluster/sim/index.js';
import { HookError } from '../../hooks/src/errors.js';
import { loadKubeConfig, resolveNamespace } from '../../hooks/src/k8s/client.js';

const dir = mkdtempSync(join(tmpdir(), 'hooks-config-'));
const kcFile = join(dir, 'kubeconfig');
writeFileSync(kcFile, kubeconfigText('https://127.0.0.1:6443', 'tok', 'u', 'from-context'));
const saFile = join(dir, 'namespace');

describe('configuration', () => {
  it('KUBECONFIG is used when set', () => {
    const kc = loadKubeConfig({ KUBECONFIG: kcFile });
    expect(kc.getCurrentCluster()?.server).toBe('https://127.0.0.1:6443');
  });

  it('a missing KUBECONFIG file is a configuration error (exit 51), not a crash', () => {
    try {
      loadKubeConfig({ KUBECONFIG: join(dir, 'nope') });
      expect.unreachable();
    } catch (e) {
      expect((e as HookError).code).toBe('E_KUBECONFIG');
    }
  });

  it('namespace: flag, then ServiceAccount file, then kubeconfig context, then default', () => {
    const kc = loadKubeConfig({ KUBECONFIG: kcFile });
    expect(resolveNamespace('flag-ns', kc, saFile)).toBe('flag-ns');
    expect(resolveNamespace(undefined, kc, join(dir, 'absent'))).toBe('from-context');
    writeFileSync(saFile, 'sa-ns\n');
    expect(resolveNamespace(undefined, kc, saFile)).toBe('sa-ns');
    expect(resolveNamespace(undefined, undefined, join(dir, 'absent'))).toBe('default');
  });
});
