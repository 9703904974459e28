/**
 * The full path reads YAML as go-yaml does. Helm and Kubernetes read manifests with go-yaml, and Helm 4 writes
 * every template back with it (kyaml, go.yaml.in/yaml/v3). go-yaml does not check the indentation of a quoted
 * scalar's continuation lines, and its emitter relies on that: a single-quoted value that ends with a line break
 * gets its closing quote at column 0 (kube-prometheus-stack's alert descriptions under Helm 4). The YAML spec, and
 * so the `yaml` library, wants those lines indented, and refuses the document.
 *
 * The leading white space of a quoted scalar's continuation lines is not part of its value (it folds away), so
 * spaces added there change nothing but the indentation: the full path parses the input with such lines padded
 * to the column of the opening quote, plans its edits on that text, and takes the spaces out again when it
 * applies them (`unpadEdits`). Only lines the `yaml` library actually refused are padded, one scalar at a time.
 *
 * The parse also bounds nesting (nesting.ts) before composing, on the concrete syntax tree.
 */
import { Composer, LineCounter, Parser, type CST, type Document } from 'yaml';
import type { Edit } from './edits.js';
import { tooDeepAt } from './nesting.js';

/** Spaces added to the input: `length` of them at `at`, an offset of the padded text. */
export interface Pad {
  readonly at: number;
  readonly length: number;
}

export interface GoParse {
  /** The text that was parsed: the input, padded where needed. */
  readonly text: string;
  readonly pads: readonly Pad[];
  /** Line positions in `text`. Pads never add lines, so lines are the input's. */
  readonly lineCounter: LineCounter;
  readonly docs: Document.Parsed[];
  /** A collection nested past the bound: at `offset` (in `text`), in document `document` (0-based) from `start`. */
  readonly tooDeep?: { readonly document: number; readonly start: number; readonly offset: number } | undefined;
}

type ParseOptions = ConstructorParameters<typeof Composer>[0];

/** A scalar can be fixed at most once; a bound keeps a pathological input from re-parsing forever. */
const MAX_ROUNDS = 10_000;

/** Every document of `input` as go-yaml reads it (see the module comment). */
export function parseGoCompatible(input: string, options: ParseOptions): GoParse {
  let text = input;
  const pads: Pad[] = [];
  for (let round = 0; ; round++) {
    const lineCounter = new LineCounter();
    const cst: CST.Token[] = Array.from(new Parser(lineCounter.addNewLine).parse(text));
    let document = 0;
    for (const token of cst) {
      if (token.type !== 'document') continue;
      const offset = tooDeepAt(token);
      if (offset >= 0) return { text, pads, lineCounter, docs: [], tooDeep: { document, start: token.offset, offset } };
      document++;
    }
    const docs = Array.from<Document.Parsed>(new Composer(options).compose(cst));
    const refused = round < MAX_ROUNDS ? firstRefusedQuote(text, cst, docs) : -1;
    const padded = refused < 0 ? undefined : padContinuationLines(text, refused);
    if (!padded) return { text, pads, lineCounter, docs };
    text = padded.text;
    for (const pad of padded.pads) {
      // Later pads of earlier rounds move right by what this round added before them.
      for (let i = 0; i < pads.length; i++) {
        const p = pads[i] as Pad;
        if (p.at >= pad.at) pads[i] = { at: p.at + pad.length, length: p.length };
      }
      pads.push(pad);
    }
    pads.sort((a, b) => a.at - b.at);
  }
}

/**
 * The start of the first quoted scalar the `yaml` library ended early (at a line it found under-indented), or -1.
 * Only looked for when a document reports a missing closing quote.
 */
function firstRefusedQuote(text: string, cst: readonly CST.Token[], docs: readonly Document.Parsed[]): number {
  if (!docs.some((doc) => doc.errors.some((err) => err.code === 'MISSING_CHAR'))) return -1;
  let first = -1;
  const stack: CST.Token[] = [...cst];
  for (let token = stack.pop(); token; token = stack.pop()) {
    switch (token.type) {
      case 'single-quoted-scalar':
      case 'double-quoted-scalar': {
        const close = closingQuote(text, token.offset);
        if (close !== token.offset + token.source.length - 1 && (first < 0 || token.offset < first)) {
          first = token.offset;
        }
        break;
      }
      case 'document':
        if (token.value) stack.push(token.value);
        break;
      case 'block-map':
      case 'block-seq':
      case 'flow-collection':
        for (const item of token.items) {
          if ('key' in item && item.key) stack.push(item.key);
          if (item.value) stack.push(item.value);
        }
        break;
      default:
        break;
    }
  }
  return first;
}

/**
 * The quoted scalar starting at `start` with each of its continuation lines indented less than its opening quote
 * padded with spaces up to that column; undefined when it does not close the way go-yaml closes it (a document
 * marker at column 0 ends the stream's document there) or nothing needs padding.
 */
function padContinuationLines(text: string, start: number): { text: string; pads: Pad[] } | undefined {
  const end = closingQuote(text, start);
  if (end < 0) return undefined;
  const column = start - (text.lastIndexOf('\n', start - 1) + 1);
  const pads: Pad[] = [];
  const out: string[] = [];
  let cursor = 0;
  let added = 0;
  for (let nl = text.indexOf('\n', start); nl >= 0 && nl < end; nl = text.indexOf('\n', nl + 1)) {
    const line = nl + 1;
    let i = line;
    while (text.charCodeAt(i) === 32) i++;
    const c = text.charCodeAt(i);
    // Blank lines are line breaks of the value whatever their indentation: left alone.
    if (c === 10 || i >= text.length) continue;
    if (i - line >= column) continue;
    if (line + 3 <= text.length && /^(?:---|\.\.\.)(?:[ \t\n]|$)/.test(text.slice(line, line + 4))) return undefined;
    const length = column - (i - line);
    out.push(text.slice(cursor, line), ' '.repeat(length));
    cursor = line;
    pads.push({ at: line + added, length });
    added += length;
  }
  if (pads.length === 0) return undefined;
  out.push(text.slice(cursor));
  return { text: out.join(''), pads };
}

/** Offset of the quote that closes the quoted scalar opened at `start` (go-yaml's rule), or -1. */
function closingQuote(text: string, start: number): number {
  const q = text[start] as string;
  let i = start + 1;
  for (;;) {
    const j = text.indexOf(q, i);
    if (j < 0) return -1;
    if (q === "'") {
      if (text[j + 1] === "'") {
        i = j + 2;
        continue;
      }
      return j;
    }
    let backslashes = 0;
    while (text[j - 1 - backslashes] === '\\') backslashes++;
    if (backslashes % 2 === 0) return j;
    i = j + 1;
  }
}

/** An offset of the padded text as an offset of the input (inside a pad: the pad's position). */
export function inputOffset(pads: readonly Pad[], offset: number): number {
  let shift = 0;
  for (const pad of pads) {
    if (pad.at >= offset) break;
    if (offset < pad.at + pad.length) return pad.at - shift;
    shift += pad.length;
  }
  return offset - shift;
}

/**
 * Edits planned on the padded text, turned into edits of the input: offsets moved back over the pads, and each
 * replaced span's text taken from the input (a replaced span may hold pads; its new text never does).
 */
export function unpadEdits(pads: readonly Pad[], edits: readonly Edit[]): Edit[] {
  if (pads.length === 0) return [...edits];
  return edits.map((e) => ({ ...e, start: inputOffset(pads, e.start), end: inputOffset(pads, e.end) }));
}
