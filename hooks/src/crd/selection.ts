/** Which CRDs a check needs: `plural.group[@version]` items from flags and the named profiles. */
import { HookError, HookErrorCodes } from '../errors.js';

export interface CrdRequirement {
  /** metadata.name of the CRD: `plural.group`. */
  name: string;
  /** A version that must be served, when given. */
  version?: string | undefined;
  required: boolean;
}

const NAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/;
const VERSION = /^v[0-9]+((alpha|beta)[0-9]+)?$/;

export function parseCrdRef(ref: string, required: boolean): CrdRequirement {
  const at = ref.indexOf('@');
  const name = (at >= 0 ? ref.slice(0, at) : ref).trim().toLowerCase();
  const version = at >= 0 ? ref.slice(at + 1).trim() : undefined;
  if (!NAME.test(name))
    throw new HookError(
      HookErrorCodes.USAGE,
      `"${ref}" is not a CRD name of the form plural.group[@version] (e.g. servicemonitors.monitoring.coreos.com@v1)`,
    );
  if (version !== undefined && !VERSION.test(version))
    throw new HookError(
      HookErrorCodes.USAGE,
      `"${ref}": version "${version}" is not a Kubernetes API version like v1 or v1beta1`,
    );
  return { name, version, required };
}

const KYVERNO_CORE = [
  'clusterpolicies',
  'policies',
  'policyexceptions',
  'cleanuppolicies',
  'clustercleanuppolicies',
  'updaterequests',
].map((p) => `${p}.kyverno.io`);
const KYVERNO_1_12_REPORTS = [
  'admissionreports',
  'clusteradmissionreports',
  'backgroundscanreports',
  'clusterbackgroundscanreports',
].map((p) => `${p}.kyverno.io`);
// Report CRDs of current Kyverno (1.13+); warn only: policy enforcement works without them.
const KYVERNO_REPORTS = [
  'ephemeralreports.reports.kyverno.io',
  'clusterephemeralreports.reports.kyverno.io',
  'policyreports.wgpolicyk8s.io',
  'clusterpolicyreports.wgpolicyk8s.io',
];

export const PROFILES: Readonly<Record<string, { required: string[]; optional: string[]; description: string }>> = {
  prometheus: {
    description: 'Prometheus operator: ServiceMonitor, PodMonitor, PrometheusRule (v1) required; the rest optional',
    required: [
      'servicemonitors.monitoring.coreos.com@v1',
      'podmonitors.monitoring.coreos.com@v1',
      'prometheusrules.monitoring.coreos.com@v1',
    ],
    optional: [
      'probes.monitoring.coreos.com@v1',
      'prometheuses.monitoring.coreos.com@v1',
      'alertmanagers.monitoring.coreos.com@v1',
      'alertmanagerconfigs.monitoring.coreos.com',
      'scrapeconfigs.monitoring.coreos.com',
      'prometheusagents.monitoring.coreos.com',
      'thanosrulers.monitoring.coreos.com@v1',
    ],
  },
  kyverno: {
    description: 'Kyverno 1.13+: the core kyverno.io set (present 1.10–1.19) required; report CRDs optional',
    required: KYVERNO_CORE,
    optional: KYVERNO_REPORTS,
  },
  'kyverno-1.12': {
    description: 'Kyverno ≤ 1.12: the core set plus admission/background-scan report CRDs required',
    required: [...KYVERNO_CORE, ...KYVERNO_1_12_REPORTS],
    optional: [],
  },
};

/** Merges flags and profiles; a CRD named as required anywhere is required; a version given anywhere is kept. */
export function buildRequirements(
  required: readonly string[],
  optional: readonly string[],
  profiles: readonly string[],
): CrdRequirement[] {
  const reqs: CrdRequirement[] = [];
  for (const p of profiles) {
    const prof = PROFILES[p];
    if (!prof)
      throw new HookError(
        HookErrorCodes.USAGE,
        `unknown CRD profile "${p}" (known: ${Object.keys(PROFILES).join(', ')})`,
      );
    reqs.push(...prof.required.map((r) => parseCrdRef(r, true)), ...prof.optional.map((r) => parseCrdRef(r, false)));
  }
  reqs.push(...required.map((r) => parseCrdRef(r, true)), ...optional.map((r) => parseCrdRef(r, false)));
  const byName = new Map<string, CrdRequirement>();
  for (const r of reqs) {
    const prev = byName.get(r.name);
    if (!prev) byName.set(r.name, { ...r });
    else {
      prev.required ||= r.required;
      if (r.version !== undefined) {
        if (prev.version !== undefined && prev.version !== r.version) {
          throw new HookError(
            HookErrorCodes.USAGE,
            `${r.name} is required at two versions (${prev.version}, ${r.version}); name one`,
          );
        }
        prev.version = r.version;
      }
    }
  }
  return [...byName.values()];
}
