/** Describe-like text for an unhealthy pod, and the selection of recent Events (pure helpers). */
import { toMillis, type ContainerStatus, type KubeEvent, type Pod } from '../k8s/types.js';
import type { PodVerdict } from './classify.js';

function state(cs: ContainerStatus): string {
  const s = cs.state;
  if (s?.waiting) return `waiting ${s.waiting.reason ?? ''}${s.waiting.message ? ` (${s.waiting.message})` : ''}`;
  if (s?.running) return 'running';
  if (s?.terminated) return `terminated ${s.terminated.reason ?? ''} exit ${s.terminated.exitCode}`;
  return 'unknown';
}

export function describePod(pod: Pod, v: PodVerdict): string {
  const st = pod.status;
  const lines = [
    `Pod ${pod.metadata?.namespace ?? ''}/${v.pod}: ${v.class} (${v.reason})`,
    `  phase=${st?.phase ?? '?'} node=${pod.spec?.nodeName ?? '<none>'} owner=${v.owner ? `${v.owner.kind}/${v.owner.name}` : '<none>'} restarts=${v.restarts}`,
  ];
  const conds = (st?.conditions ?? []).map((c) => `${c.type}=${c.status}${c.reason ? `(${c.reason})` : ''}`);
  if (conds.length) lines.push(`  conditions: ${conds.join(' ')}`);
  if (st?.reason || st?.message) lines.push(`  status: ${st.reason ?? ''} ${st.message ?? ''}`.trimEnd());
  for (const [kind, list] of [
    ['init', st?.initContainerStatuses ?? []],
    ['container', st?.containerStatuses ?? []],
  ] as const) {
    for (const cs of list) {
      const last = cs.lastState?.terminated;
      lines.push(
        `  ${kind} ${cs.name}: ${state(cs)} ready=${cs.ready} restarts=${cs.restartCount}${last ? `; last terminated ${last.reason ?? ''} exit ${last.exitCode}` : ''}${cs.image ? ` image=${cs.image}` : ''}`,
      );
    }
  }
  lines.push(`  => ${v.message}`);
  return lines.join('\n');
}

const eventTime = (e: KubeEvent): number =>
  toMillis(e.lastTimestamp) ??
  toMillis(e.eventTime) ??
  toMillis(e.firstTimestamp) ??
  toMillis(e.metadata?.creationTimestamp) ??
  0;

/** Newest last, at most `max`, one line each. */
export function recentEvents(events: readonly KubeEvent[], max = 10): string[] {
  return [...events]
    .sort((a, b) => eventTime(a) - eventTime(b))
    .slice(-max)
    .map((e) =>
      `${e.type ?? 'Normal'} ${e.reason ?? ''}${e.count && e.count > 1 ? ` (x${e.count})` : ''}: ${e.message ?? ''}`.trim(),
    );
}

/** Containers worth reading logs from: the one the verdict names, plus any that restarted. */
export function logTargets(pod: Pod, v: PodVerdict): { container: string; previous: boolean }[] {
  const all = [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])];
  const out: { container: string; previous: boolean }[] = [];
  for (const cs of all) {
    if (cs.name !== v.container && cs.restartCount === 0) continue;
    const hasCurrent = cs.state?.running !== undefined || cs.state?.terminated !== undefined;
    if (hasCurrent) out.push({ container: cs.name, previous: false });
    if (cs.restartCount > 0) out.push({ container: cs.name, previous: true });
  }
  return out.slice(0, 4);
}
