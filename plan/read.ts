/** The plan's one I/O shell: read a plan file and parse it, with read failures as located plan errors. */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ErrorCodes, HelmTiersError } from '../core/errors.js';
import { parsePlan, type Plan } from './plan.js';

/** The folder of a plan chart (`chart:` of a component or of the CRD tier): relative to the plan file's folder. */
export function chartDir(planFile: string, chart: string): string {
  return resolve(dirname(resolve(planFile)), chart);
}

/** Reads `file` (relative to `cwd`); messages name the file as the user gave it. */
export function readPlanFile(file: string, cwd: string): Plan {
  let text: string;
  try {
    text = readFileSync(resolve(cwd, file), 'utf8');
  } catch (err) {
    throw new HelmTiersError(ErrorCodes.PLAN_INVALID, `cannot read the plan: ${(err as Error).message}`, { file });
  }
  return parsePlan(text, file);
}
