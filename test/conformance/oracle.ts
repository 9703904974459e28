/**
 * The YAML-to-JSON oracle (tools/yamljson, built by `npm run setup:yamljson` into .tools/yamljson/yamljson): the
 * ground truth for "value for value and type for type". It reads a stream as Kubernetes and Helm do (apimachinery's
 * document reader, sigs.k8s.io/yaml's YAMLToJSON over go-yaml v2, YAML 1.1) and prints one JSON document per line.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { exec } from '../../core/helm.js';

export const SETUP_COMMAND = 'npm run setup:yamljson';

/**
 * A JSON number that a JavaScript number cannot hold exactly (an integer beyond 2^53, a decimal with more digits
 * than a double keeps). Kept as its JSON text, so two such numbers are equal only when the text is.
 */
export class ExactNumber {
  constructor(readonly text: string) {}
  toJSON(): string {
    return this.text;
  }
}

export interface OracleStatus {
  readonly binary: string;
  readonly built: boolean;
  /** Whether `go` is on PATH (without it, the oracle cannot be built here). */
  readonly goAvailable: boolean;
}

export function oracleStatus(root: string): OracleStatus {
  const binary = join(root, '.tools', 'yamljson', 'yamljson');
  const built = existsSync(binary);
  const goAvailable = built || spawnSync('go', ['version'], { stdio: 'ignore' }).error === undefined;
  return { binary, built, goAvailable };
}

/** A JSON string or a number, the only tokens whose text can matter. */
const TOKEN = /"(?:[^"\\]|\\.)*"|-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?/g;

/** JSON.parse, except that numbers a double does not hold exactly become `ExactNumber`s. */
export function parseJsonExact(line: string): unknown {
  // Fast path: no run of 16 digits, no number can lose precision (15 significant digits always round-trip).
  if (!/\d{16}/.test(line)) return JSON.parse(line);
  const exact = new Map<string, string>();
  const marked = line.replace(TOKEN, (token) => {
    if (token.startsWith('"')) return token;
    if (JSON.stringify(Number(token)) === token) return token;
    const id = `\u0000exact${exact.size}`;
    exact.set(id, token);
    return JSON.stringify(id);
  });
  return JSON.parse(marked, (_key, value: unknown) => {
    if (typeof value === 'string' && value.startsWith('\u0000exact')) return new ExactNumber(exact.get(value) ?? '');
    return value;
  });
}

export class OracleError extends Error {
  override readonly name = 'OracleError';
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
  }
}

/** Every non-empty document of a YAML stream, as Kubernetes reads it. Throws `OracleError` for invalid YAML. */
export async function yamlToJson(binary: string, text: string): Promise<unknown[]> {
  const r = await exec(binary, [], { input: text });
  if (r.code !== 0) throw new OracleError(`yamljson (exit ${r.code}): ${r.stderr.trim()}`, r.code);
  return r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map(parseJsonExact);
}
