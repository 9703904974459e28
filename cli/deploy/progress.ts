/**
 * `helm-tiers deploy` progress: one line per event (text, for people and logs) or one JSON object per line
 * (`--output json`, for CI: every event with `time`, ISO 8601).
 */
import type { DeployEvent } from './driver.js';

export type OutputFormat = 'text' | 'json';

const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
const name = (r: string) => r.padEnd(16);

/** The text line(s) of one event. */
export function textLines(e: DeployEvent): string[] {
  switch (e.type) {
    case 'plan':
      return [
        `plan ${e.plan} at revision ${e.revision}${e.dryRun ? ' (dry run: no Helm action)' : ''}`,
        ...e.levels.map((l, i) => `  level ${i + 1}: ${l.join(', ')}`),
      ];
    case 'level':
      return [`level ${e.level + 1}: ${e.releases.join(', ')}`];
    case 'crds':
      if (e.dryRun)
        return [`CRDs: would apply ${e.crds.length} from ${e.chart} (server-side) and wait until Established`];
      return e.ok
        ? [`CRDs: ${e.crds.length} from ${e.chart} applied server-side and Established in ${secs(e.ms)}`]
        : [
            `CRDs: applying ${e.chart} FAILED after ${secs(e.ms)}`,
            ...(e.reason ?? '').split('\n').map((l) => `      ${l}`),
          ];
    case 'start':
      return [
        `  > ${name(e.release)} tier ${e.tier}  ${e.action} started` +
          (e.why ? ` (${e.why})` : e.dependencies.length ? ` (dependencies Ready: ${e.dependencies.join(', ')})` : ''),
      ];
    case 'hook':
      return [`    ${name(e.release)} hook job/${e.job} ${e.phase}`];
    case 'unchanged':
      return [`  = ${name(e.release)} tier ${e.tier}  unchanged (Helm revision ${e.helmRevision}, Ready): no action`];
    case 'would':
      return [
        `  ? ${name(e.release)} tier ${e.tier}  would ${e.action === 'none' ? 'do nothing' : e.action}: ${e.why}`,
      ];
    case 'deployed':
      return [
        `  ✓ ${name(e.release)} tier ${e.tier}  ${e.action} ok in ${secs(e.ms)}` +
          (e.helmRevision !== undefined ? ` (Helm revision ${e.helmRevision})` : ''),
      ];
    case 'failed':
      return [
        `  ✗ ${name(e.release)} tier ${e.tier}  ${e.action} FAILED after ${secs(e.ms)}`,
        ...e.reason.split('\n').map((l) => `      ${l}`),
        ...e.hooks.flatMap((h) => [`      hook job/${h.job}: ${h.summary}`, `      read its log: ${h.logCommand}`]),
      ];
    case 'not-started':
      return [`  - ${name(e.release)} tier ${e.tier}  not started: ${e.reason}`];
    case 'summary': {
      const parts = [
        `${e.deployed.length} deployed`,
        `${e.unchanged.length} unchanged`,
        `${e.failed.length} failed${e.failed.length ? ` (${e.failed.join(', ')})` : ''}`,
        `${e.notStarted.length} not started${e.notStarted.length ? ` (${e.notStarted.join(', ')})` : ''}`,
      ];
      return [`${e.ok ? 'done' : 'FAILED'}: ${parts.join(', ')} in ${secs(e.ms)}`];
    }
  }
}

/** An event sink writing `format` to `write`. */
export function progressWriter(
  format: OutputFormat,
  write: (text: string) => unknown,
  now: () => Date = () => new Date(),
): (e: DeployEvent) => void {
  return (e) => {
    if (format === 'json') write(`${JSON.stringify({ time: now().toISOString(), ...e })}\n`);
    else for (const l of textLines(e)) write(`${l}\n`);
  };
}
