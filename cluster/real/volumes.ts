/**
 * Dynamic provisioning for the real backend: a default StorageClass and a provisioner that creates a hostPath
 * PersistentVolume (a folder under its own temp folder) for every claim of that class. The real PV controller of
 * kube-controller-manager then binds claim and volume, and the real scheduler places the pod; without this a
 * StatefulSet's `volumeClaimTemplates` leave its pods Pending, as on a cluster without a storage provisioner.
 * External provisioners work the same way: the PV controller marks the claim with
 * `volume.kubernetes.io/storage-provisioner`, the provisioner creates a PV whose claimRef names the claim.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { kubeApi } from './kube-api.js';

export const STORAGE_CLASS = 'standard';
export const PROVISIONER = 'helm-tiers.io/local';

export interface VolumeProvisionerOptions {
  url: string;
  caData: string;
  token: string;
  /** How often pending claims are looked for (ms; default 300). */
  intervalMs?: number;
  log?: (line: string) => void;
}

export interface VolumeProvisioner {
  /** Stops provisioning and removes the volumes' folder. Idempotent. */
  stop(): Promise<void>;
}

interface Claim {
  metadata: { name: string; namespace: string; uid: string; annotations?: Record<string, string> };
  spec: { storageClassName?: string; accessModes?: string[]; resources?: { requests?: { storage?: string } } };
  status?: { phase?: string };
}

export async function startVolumeProvisioner(opts: VolumeProvisionerOptions): Promise<VolumeProvisioner> {
  const log = opts.log ?? (() => undefined);
  const api = kubeApi(opts.url, Buffer.from(opts.caData, 'base64').toString('utf8'), opts.token);
  const dir = mkdtempSync(join(tmpdir(), 'helm-tiers-volumes-'));
  const storageClass = {
    apiVersion: 'storage.k8s.io/v1',
    kind: 'StorageClass',
    metadata: { name: STORAGE_CLASS, annotations: { 'storageclass.kubernetes.io/is-default-class': 'true' } },
    provisioner: PROVISIONER,
    reclaimPolicy: 'Delete',
    volumeBindingMode: 'Immediate',
  };
  const created = await api.request('POST', '/apis/storage.k8s.io/v1/storageclasses', storageClass);
  if (created.status !== 201 && created.status !== 409) {
    api.close();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`creating StorageClass ${STORAGE_CLASS}: ${created.status} ${created.text}`);
  }
  const abort = new AbortController();
  const provisioned = new Set<string>();

  const provision = async (claim: Claim): Promise<void> => {
    const { name, namespace, uid } = claim.metadata;
    const pvName = `pvc-${uid}`;
    const path = join(dir, pvName);
    mkdirSync(path, { recursive: true });
    const pv = {
      apiVersion: 'v1',
      kind: 'PersistentVolume',
      metadata: { name: pvName, annotations: { 'pv.kubernetes.io/provisioned-by': PROVISIONER } },
      spec: {
        capacity: { storage: claim.spec.resources?.requests?.storage ?? '1Gi' },
        accessModes: claim.spec.accessModes ?? ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Delete',
        storageClassName: claim.spec.storageClassName ?? STORAGE_CLASS,
        claimRef: { apiVersion: 'v1', kind: 'PersistentVolumeClaim', namespace, name, uid },
        hostPath: { path, type: 'DirectoryOrCreate' },
      },
    };
    const r = await api.request('POST', '/api/v1/persistentvolumes', pv);
    if (r.status === 201 || r.status === 409) {
      provisioned.add(uid);
      log(`volumes: ${pvName} for ${namespace}/${name}`);
    } else log(`volumes: creating ${pvName} failed: ${r.status} ${r.text}`);
  };

  const loop = (async () => {
    while (!abort.signal.aborted) {
      try {
        const r = await api.request('GET', '/api/v1/persistentvolumeclaims');
        const items = (r.body as { items?: Claim[] } | undefined)?.items ?? [];
        for (const c of items) {
          const ours =
            c.metadata.annotations?.['volume.kubernetes.io/storage-provisioner'] === PROVISIONER ||
            c.metadata.annotations?.['volume.beta.kubernetes.io/storage-provisioner'] === PROVISIONER;
          if (ours && c.status?.phase === 'Pending' && !provisioned.has(c.metadata.uid)) await provision(c);
        }
      } catch (err) {
        log(`volumes: ${String(err)}`);
      }
      await sleep(opts.intervalMs ?? 300, undefined, { signal: abort.signal }).catch(() => undefined);
    }
  })();

  let stopped: Promise<void> | undefined;
  return {
    stop: () => {
      stopped ??= (async () => {
        abort.abort();
        await loop;
        api.close();
        rmSync(dir, { recursive: true, force: true });
      })();
      return stopped;
    },
  };
}
