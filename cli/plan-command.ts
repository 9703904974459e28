/** `helm-tiers plan`: validates the plan and prints the deployment levels and each release's dependencies. */
import type { Plan } from '../plan/plan.js';
import { planLevels } from '../plan/plan.js';
import { dependencyReleases } from '../plan/plan.js';

export function describePlan(plan: Plan): string {
  const lines: string[] = [`plan "${plan.name}" (${plan.components.length} releases, ${plan.file})`, ''];
  lines.push('Deployment levels (releases in one level may deploy in parallel):');
  planLevels(plan).forEach((level, i) => {
    lines.push(`  level ${i + 1}: ${level.map((c) => `${c.release} (tier ${c.tier})`).join(', ')}`);
  });
  lines.push('', 'Releases:');
  const width = Math.max(...plan.components.map((c) => c.release.length));
  for (const c of plan.components) {
    const deps = dependencyReleases(plan, c);
    const crds = c.requiredCRDs.length > 0 ? `; requires ${c.requiredCRDs.length} CRDs` : '';
    lines.push(
      `  ${c.release.padEnd(width)}  component=${c.name} tier=${c.tier} namespace=${c.namespace} ` +
        `dependsOn=[${deps.join(', ')}] chart=${c.chart}${crds}`,
    );
  }
  return lines.join('\n') + '\n';
}
