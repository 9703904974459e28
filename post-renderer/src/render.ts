/**
 * The post-renderer's pure core: Helm's rendered stream in, the same stream with our labels and annotations out.
 * No I/O. Either the whole output or a located error: never partial output.
 *
 * Stages: stream.ts splits the stream into documents; scan.ts scans each (the fast path) and insertions.ts plans
 * its edits; a document the scanner is unsure of is parsed alone by the full path (gocompat.ts: as go-yaml reads
 * it) and tree-edits.ts plans its edits on the parse tree (model.ts re-serializes the rare document that cannot be
 * edited in place); edits.ts applies the edits. Errors always come from the full path, with its locations.
 */
import { isMap, isScalar, isSeq, type Document, type LineCounter, type YAMLMap } from 'yaml';
import { ErrorCodes, HelmTiersError, type SourceLocation } from '../../core/errors.js';
import { compileFound, findSelectors } from '../../core/selectors.js';
import type { TierMetadata } from '../../core/labels.js';
import { applyEdits, applyEditsInto, sortEdits, type Edit } from './edits.js';
import { inputOffset, parseGoCompatible, unpadEdits, type GoParse } from './gocompat.js';
import { InsertionPlanner } from './insertions.js';
import { rewriteDocument, type Conflict, type ConflictPolicy } from './model.js';
import { MAX_NESTING_DEPTH } from './nesting.js';
import { isNullNode, isObjectNode, stringField } from './nodes.js';
import { primeScanner, PRIME_MIN_INPUT } from './prime.js';
import { DocScanner } from './scan.js';
import { hasContent, splitAtEndMarkers, splitDocuments } from './stream.js';
import { isListDocument } from './targets.js';
import { editObject, hasAlias, NeedsModel, type EditContext } from './tree-edits.js';

type ParsedDocument = Document.Parsed;

/** Helm 4 tags every document with this annotation; it must survive (Helm renames documents without it). */
export const HELM4_FILENAME_ANNOTATION = 'postrenderer.helm.sh/postrender-filename';

export interface PostRenderOptions {
  readonly meta: TierMetadata;
  /** A key of ours that an object already holds with another value: refuse (default) or keep the chart's. */
  readonly onConflict?: ConflictPolicy | undefined;
  /** Accept a stream without objects (a release that renders only hooks). Default: refuse. */
  readonly allowEmpty?: boolean | undefined;
}

export interface PostRenderWarning {
  readonly message: string;
  readonly location: SourceLocation;
}

export interface PostRenderResult {
  readonly output: string;
  readonly warnings: readonly PostRenderWarning[];
  readonly stats: {
    readonly documents: number;
    readonly objects: number;
    /** Documents re-serialized through the document model (aliases, merge keys, tags on our paths). */
    readonly rewritten: number;
  };
}

const SOURCE_COMMENT = /^#\s*Source:\s*(.+?)\s*$/m;

/**
 * YAML 1.1 (ADR 0001), duplicate keys left to tree-edits.ts (refused on our paths only), and plain error messages:
 * the parser's "at line N, column M" counts from the start of the stream, our locations from the template's first
 * line.
 */
const PARSE_OPTIONS = { version: '1.1', uniqueKeys: false, prettyErrors: false } as const;

/** The file a document came from: Helm 3's `# Source:` comment or Helm 4's filename annotation. */
function documentFile(doc: ParsedDocument, source: string, start: number): string | undefined {
  const contentStart = doc.contents?.range[0] ?? doc.range[1];
  const head = SOURCE_COMMENT.exec(source.slice(start, contentStart));
  if (head?.[1]) return head[1];
  const root = doc.contents;
  if (isMap(root)) {
    const annotations = root.getIn(['metadata', 'annotations'], false);
    if (isMap(annotations)) {
      const file = annotations.get(HELM4_FILENAME_ANNOTATION);
      if (typeof file === 'string') return file;
    }
  }
  return undefined;
}

export function postRender(input: string, options: PostRenderOptions): PostRenderResult {
  if (input.trim() === '') {
    if (options.allowEmpty) return { output: input, warnings: [], stats: { documents: 0, objects: 0, rewritten: 0 } };
    throw new HelmTiersError(ErrorCodes.INPUT_EMPTY, 'no input: Helm sent an empty manifest');
  }
  return fastPostRender(input, options) ?? fullPostRender(input, options);
}

/** Counts what the fast path did (benchmarks and tests report the share of documents that fell back). */
export interface FastPathProbe {
  scanned: number;
  /** Stream indexes (0-based) of the documents that took the full path alone. */
  readonly fallbacks: number[];
  /** Set when the scanner was primed first (prime.ts: inputs of PRIME_MIN_INPUT and more). */
  primed?: boolean;
}

interface DocumentsResult {
  readonly edits: Edit[];
  readonly warnings: PostRenderWarning[];
  readonly objects: number;
  readonly rewritten: number;
}

/**
 * The fast path (scan.ts, insertions.ts) for the documents it is sure about, the full path for each of the
 * others, parsed alone (documents split by the YAML rules: `---`, `...`, directives with the document they
 * precede), so one odd document (an alias, a merge key, `metadata: {}`) costs the parse of that document only.
 * Undefined when the whole stream must take the full path: stream-level features (a BOM, CR line ends, `%TAG`), a
 * document that does not parse alone as exactly one, or any error at all, so that errors are always the full
 * path's, with its codes and locations.
 */
/** Internal switches of the fast path, for tests that compare its variants (never read from the environment). */
export interface FastPathTuning {
  /** Validate subtrees nothing is recorded in with the scanner's flat skip (scan.ts `skipBlock`). Default: true. */
  readonly skip?: boolean;
}

export function fastPostRender(
  input: string,
  options: PostRenderOptions,
  probe?: FastPathProbe,
  tuning: FastPathTuning = {},
): PostRenderResult | undefined {
  const bounds = splitDocuments(input);
  if (!bounds) return undefined;
  if (input.length >= PRIME_MIN_INPUT) {
    primeScanner(options.meta);
    if (probe) probe.primed = true;
  }
  const planner = new InsertionPlanner(input, options.meta);
  const scanner = new DocScanner(input, planner.wanted, tuning.skip ?? true);
  const chunks: string[] = [];
  const warnings: PostRenderWarning[] = [];
  let objects = 0;
  let rewritten = 0;
  /** Stream index of the next document. */
  let documents = 0;
  let cursor = 0;
  /** Reused for every document: the planner appends a document's edits, then they are applied and dropped. */
  const edits: Edit[] = [];
  const scan = (start: number, end: number): boolean => {
    const root = scanner.scan(start, end);
    if (root === undefined) return false;
    if (root !== null) {
      edits.length = 0;
      const found = planner.plan(root, edits);
      if (found === undefined) return false;
      objects += found;
      if (edits.length > 1) sortEdits(edits);
      for (const e of edits) {
        chunks.push(input.slice(cursor, e.start), e.text);
        cursor = e.end;
      }
    }
    if (probe) probe.scanned++;
    documents++;
    return true;
  };
  const alone = (start: number, end: number): boolean => {
    const slice = input.slice(start, end);
    probe?.fallbacks.push(documents);
    const full = renderAlone(slice, documents, options);
    if (!full) return false;
    documents++;
    chunks.push(input.slice(cursor, start));
    applyEditsInto(chunks, slice, 0, slice.length, sortEdits(full.edits));
    cursor = end;
    objects += full.objects;
    rewritten += full.rewritten;
    warnings.push(...full.warnings);
    return true;
  };
  /** Start of the blank, comment and directive lines after a `...` that belong to the next slice's document. */
  let carried = -1;
  for (let i = 0; i + 1 < bounds.length; i++) {
    const start = carried < 0 ? (bounds[i] as number) : carried;
    const end = bounds[i + 1] as number;
    carried = -1;
    if (scan(start, end)) continue;
    // `...` end markers split the slice into documents (the scanner refuses them): the first is rendered alone,
    // each after it is scanned or rendered alone.
    const starts = splitAtEndMarkers(input, start, end);
    if (!starts) return undefined;
    const last = starts.length - 2;
    if (last > 0 && !hasContent(input, starts[last] as number, end)) {
      // No document after the last `...`: its lines go with the next slice's, or stay with this one at the end.
      if (i + 2 < bounds.length) carried = starts[last] as number;
      starts.splice(carried < 0 ? last : last + 1, 1);
    }
    for (let j = 0; j + 1 < starts.length; j++) {
      const s = starts[j] as number;
      const e = starts[j + 1] as number;
      if ((j === 0 || !scan(s, e)) && !alone(s, e)) return undefined;
    }
  }
  // No objects: let the full path decide (an error, or the allowEmpty result), with its exact wording.
  if (objects === 0) return undefined;
  chunks.push(input.slice(cursor));
  return { output: chunks.join(''), warnings, stats: { documents, objects, rewritten } };
}

/**
 * One document's text through the full path, as if it were document `index` of the stream; undefined on error.
 * The edits depend only on the document's own text (a re-serialized document replaces its body, from its first
 * content line to its last, see `bodyEdit`), so they are the edits the full path makes on the whole stream.
 */
function renderAlone(slice: string, index: number, options: PostRenderOptions): DocumentsResult | undefined {
  const parse = parseGoCompatible(slice, PARSE_OPTIONS);
  if (parse.tooDeep || parse.docs.length !== 1 || (parse.docs[0] as ParsedDocument).errors.length > 0) return undefined;
  try {
    return renderDocuments(slice, parse, '\n', options, index);
  } catch {
    // Whatever went wrong, the full path over the whole stream reports it with the stream's locations.
    return undefined;
  }
}

/** The full path: the whole stream parsed as go-yaml reads it, edits planned from the parse tree. */
export function fullPostRender(input: string, options: PostRenderOptions): PostRenderResult {
  const parse = parseGoCompatible(input, PARSE_OPTIONS);
  const eol = input.includes('\r\n') ? '\r\n' : '\n';
  if (parse.tooDeep) throw tooDeepError(input, parse);
  const { edits, warnings, objects, rewritten } = renderDocuments(input, parse, eol, options, 0);
  if (objects === 0 && !options.allowEmpty) {
    throw new HelmTiersError(ErrorCodes.INPUT_EMPTY, 'the input holds no Kubernetes objects');
  }
  const output = applyEdits(input, edits);
  return { output, warnings, stats: { documents: parse.docs.length, objects, rewritten } };
}

/** The located error for a document nested past the bound (nesting.ts), as `renderDocuments` locates errors. */
function tooDeepError(input: string, parse: GoParse): HelmTiersError {
  const { document, start, offset } = parse.tooDeep as NonNullable<GoParse['tooDeep']>;
  const head = parse.text.slice(start, offset);
  const file = SOURCE_COMMENT.exec(head)?.[1] ?? FILENAME_ANNOTATION.exec(head)?.[1];
  const base = documentFirstLine(start, parse.text, parse.lineCounter, document === 0);
  const pos = parse.lineCounter.linePos(offset);
  return new HelmTiersError(
    ErrorCodes.INPUT_YAML,
    `invalid YAML: nested deeper than ${MAX_NESTING_DEPTH} collections (go-yaml itself stops at 10000)`,
    { file, document: document + 1, line: pos.line - base + 1, column: inputColumn(parse, offset, pos.col) },
  );
}

/** Helm 4's filename annotation as a line of text (for a document that is not composed). */
const FILENAME_ANNOTATION = /^\s*["']?postrenderer\.helm\.sh\/postrender-filename["']?:\s*["']?([^"'\n]+?)["']?\s*$/m;

/** The input's column (1-based) of an offset of the padded text at padded column `col`: this line's pads out. */
function inputColumn(parse: GoParse, offset: number, col: number): number {
  const lineStart = offset - (col - 1);
  return inputOffset(parse.pads, offset) - inputOffset(parse.pads, lineStart) + 1;
}

/**
 * Plans the edits for the parsed documents of `input` (offsets of the input: the pads gocompat.ts added are taken
 * out again); `firstIndex` is the stream index of the first document.
 */
function renderDocuments(
  input: string,
  parse: GoParse,
  eol: string,
  options: PostRenderOptions,
  firstIndex: number,
): DocumentsResult {
  const policy = options.onConflict ?? 'error';
  const { text, lineCounter, docs } = parse;
  const edits: Edit[] = [];
  const warnings: PostRenderWarning[] = [];
  let objects = 0;
  let rewritten = 0;

  docs.forEach((doc, index) => {
    // Comments before a document's first line belong to it: look from the end of the previous document.
    const file = documentFile(doc, text, index === 0 ? 0 : (docs[index - 1] as ParsedDocument).range[2]);
    const where = (extra: SourceLocation = {}): SourceLocation => ({
      file,
      document: firstIndex + index + 1,
      ...extra,
    });
    const base = documentFirstLine(doc.range[0], text, lineCounter, firstIndex + index === 0);
    const at = (offset: number | undefined, field?: string): SourceLocation => {
      const pos = offset === undefined ? undefined : lineCounter.linePos(offset);
      const column = pos && inputColumn(parse, offset as number, pos.col);
      return where({ line: pos && Math.max(1, pos.line - base + 1), column, field });
    };
    const error = doc.errors[0];
    if (error) {
      throw new HelmTiersError(ErrorCodes.INPUT_YAML, `invalid YAML: ${firstLine(error.message)}`, at(error.pos[0]));
    }
    const root = doc.contents;
    // A template that rendered nothing (spelled out rather than isNullNode: the null check narrows `root`).
    if (root === null || (isScalar(root) && root.value === null)) return;
    if (!isMap(root)) {
      throw new HelmTiersError(
        ErrorCodes.INPUT_NOT_OBJECT,
        'document is not a mapping (a Kubernetes object)',
        at(root.range[0]),
      );
    }
    const kind = requireField(root, 'kind', at);
    const apiVersion = requireField(root, 'apiVersion', at);

    const targets: { map: YAMLMap; apiVersion: string; kind: string; prefix: string }[] = [];
    const items = root.get('items', true) as unknown;
    if (isListDocument(kind, isSeq(items) ? items.items : undefined, isObjectNode)) {
      // `kind: List` only: items may be missing or null (no objects), anything else but a sequence is refused.
      if (!isSeq(items) && !isNullNode(items)) {
        throw new HelmTiersError(
          ErrorCodes.INPUT_FIELD_TYPE,
          'items of a List must be a sequence',
          at((items as YAMLMap).range?.[0], 'items'),
        );
      }
      (isSeq(items) ? items.items : []).forEach((item, i) => {
        const field = `items[${i}]`;
        if (!isMap(item)) {
          throw new HelmTiersError(
            ErrorCodes.INPUT_NOT_OBJECT,
            `${field} is not a mapping`,
            at((item as YAMLMap | null)?.range?.[0], field),
          );
        }
        const itemKind = requireField(item, 'kind', (o, f) => at(o, `${field}.${f ?? ''}`));
        const itemApiVersion = requireField(item, 'apiVersion', (o, f) => at(o, `${field}.${f ?? ''}`));
        targets.push({ map: item, apiVersion: itemApiVersion, kind: itemKind, prefix: `${field}.` });
      });
    } else {
      targets.push({ map: root, apiVersion, kind, prefix: '' });
    }
    objects += targets.length;

    const ctx: EditContext = { source: text, lineCounter, eol, edits: [], conflicts: [] };
    let conflicts: Conflict[];
    try {
      if (hasAlias(root)) throw new NeedsModel('aliases');
      if (targets.some((t) => lacksMetadata(t.map))) throw new NeedsModel('metadata missing or empty');
      for (const t of targets) editObject(ctx, t.map, t, options.meta, t.prefix);
      edits.push(...unpadEdits(parse.pads, ctx.edits));
      conflicts = ctx.conflicts;
    } catch (err) {
      if (!(err instanceof NeedsModel)) {
        if (err instanceof HelmTiersError) {
          const line = err.location.line === undefined ? undefined : Math.max(1, err.location.line - base + 1);
          throw new HelmTiersError(err.code, err.message, where({ ...err.location, line }));
        }
        throw err;
      }
      const re = rewriteWithLocation(doc, options.meta, where);
      rewritten++;
      edits.push(...unpadEdits(parse.pads, [bodyEdit(text, root, re.text, eol)]));
      conflicts = re.conflicts;
      warnings.push({ message: `re-serialized through the YAML document model (${err.reason})`, location: where() });
    }
    for (const c of conflicts) {
      const message = `${c.field}["${c.key}"] is "${c.existing}" in the chart, the plan gives "${c.ours}"`;
      if (policy === 'error') {
        const users = selectorsUsing(docs, c.key);
        const selected = users.length > 0 ? `; selected on by ${users.join(', ')}` : '';
        throw new HelmTiersError(
          ErrorCodes.CONFLICT,
          `${message}: refusing to change a value the chart rendered${selected} (--on-conflict=keep keeps the chart's)`,
          where({ field: c.field }),
        );
      }
      warnings.push({ message: `${message}: kept the chart's`, location: where({ field: c.field }) });
    }
  });

  return { edits, warnings, objects, rewritten };
}

/**
 * The selectors of the release's objects that read a label key (`Service/web spec.selector`): named in a conflict's
 * error, since a value changed under them would change what they select. Only on that error path.
 */
function selectorsUsing(docs: readonly ParsedDocument[], key: string): string[] {
  const found: string[] = [];
  for (const doc of docs) {
    const value: unknown = doc.toJS({ maxAliasCount: 10_000 });
    const items = (value as { items?: unknown } | null)?.items;
    for (const obj of Array.isArray(items) ? [value, ...(items as unknown[])] : [value]) {
      const o = obj as { kind?: unknown; metadata?: { name?: unknown } } | null;
      for (const s of findSelectors(obj)) {
        let keys: string[];
        try {
          keys = compileFound(s).requirements.map((r) => r.key);
        } catch {
          keys = JSON.stringify(s.selector).includes(JSON.stringify(key)) ? [key] : [];
        }
        if (keys.includes(key)) found.push(`${String(o?.kind)}/${String(o?.metadata?.name)} ${s.path}`);
      }
    }
  }
  return found;
}

/**
 * An object whose `metadata` is missing, null or `{}`: the labels and the annotations targets would each create
 * it in place (two `metadata:` blocks, two replacements of one null, two entries without a comma), so such an
 * object goes through the document model, which creates it once.
 */
function lacksMetadata(obj: YAMLMap): boolean {
  const md = obj.get('metadata', true) as unknown;
  return isNullNode(md) || (isMap(md) && md.items.length === 0);
}

/**
 * Line numbers in messages count from the first line of the rendered template (after `---` and Helm 3's
 * `# Source:` line), like Helm's own YAML errors, not from the start of the whole stream the user never sees.
 * The stream's first document without `---` counts from the start of the stream (Helm 4 writes no `---` before
 * it): the parser's document range starts after the template's leading comment lines, lines of the template.
 */
function documentFirstLine(
  documentStart: number,
  source: string,
  lineCounter: LineCounter,
  firstOfStream: boolean,
): number {
  let offset = firstOfStream && !source.startsWith('---', documentStart) ? 0 : documentStart;
  const skipLine = (re: RegExp) => {
    const end = source.indexOf('\n', offset);
    const line = source.slice(offset, end < 0 ? source.length : end);
    if (re.test(line) && end >= 0) offset = end + 1;
  };
  skipLine(/^---(\s|$)/);
  skipLine(/^#\s*Source:/);
  return lineCounter.linePos(offset).line;
}

function firstLine(message: string): string {
  return message.split('\n')[0] ?? message;
}

function requireField(
  map: YAMLMap,
  key: 'kind' | 'apiVersion',
  at: (offset: number | undefined, field?: string) => SourceLocation,
): string {
  const value = stringField(map, key);
  if (value === undefined) {
    const node = map.get(key, true) as YAMLMap | undefined;
    throw new HelmTiersError(
      ErrorCodes.INPUT_NOT_OBJECT,
      node ? `"${key}" must be a non-empty string` : `missing "${key}": not a Kubernetes object`,
      at(node?.range?.[0] ?? map.range?.[0], key),
    );
  }
  return value;
}

function rewriteWithLocation(doc: ParsedDocument, meta: TierMetadata, where: (l?: SourceLocation) => SourceLocation) {
  try {
    return rewriteDocument(doc, meta);
  } catch (err) {
    if (err instanceof HelmTiersError) throw new HelmTiersError(err.code, err.message, where(err.location));
    // The parser reports no error for an alias whose anchor is missing (resolving it throws a ReferenceError)
    // nor for an alias inside its own anchor (a cycle: copying it overflows the stack, a RangeError).
    if (err instanceof ReferenceError) {
      throw new HelmTiersError(ErrorCodes.INPUT_YAML, `invalid YAML: ${err.message}`, where());
    }
    if (err instanceof RangeError) {
      throw new HelmTiersError(
        ErrorCodes.INPUT_YAML,
        `invalid YAML: an alias refers to a node that contains it (${err.message})`,
        where(),
      );
    }
    throw err;
  }
}

/**
 * The edit that puts a re-serialized document in place: it replaces the body only, from the start of the root
 * node's first line to the end of its last content line. Everything around it stays byte for byte: the header
 * (`---`, directives, `# Source:` and other comment lines, props on lines of their own) and the trailing comment
 * lines at column 0 (and what follows them: blank lines, `...`). Helm splits its manifest at `---` and reads the
 * `# Source:` line right after it, so these must never move across the marker.
 */
function bodyEdit(source: string, root: YAMLMap, text: string, eol: string): Edit {
  const [contentStart, , contentEnd] = root.range as [number, number, number];
  let start = source.lastIndexOf('\n', contentStart - 1) + 1;
  let prefix = '';
  // The root starts on the marker line (`--- {...}`): keep the marker and its props, the body on the next line.
  if (/^---(?:[ \t]|$)/.test(source.slice(start, contentStart))) {
    start = contentStart;
    prefix = eol;
  }
  let end = trailingCommentsStart(source, start, contentEnd);
  // A flow root may end inside its last line (`{...} # comment`): the rest of that line goes with the body.
  if (end < source.length && source.charCodeAt(end - 1) !== 10) {
    const nl = source.indexOf('\n', end);
    end = nl < 0 ? source.length : nl + 1;
  }
  // Without a line break at the end of the replaced text (end of input), none after the body either.
  let body = source.charCodeAt(end - 1) === 10 ? text : text.replace(/\n$/, '');
  if (eol !== '\n') body = body.replace(/\n/g, eol);
  return { start, end, text: prefix + body, order: 0 };
}

/**
 * Where the comment lines at column 0 that end `source[start, end)` begin (with the blank lines between and after
 * them), or `end` when there are none. Only column 0: a more indented `#` line may be the content of a block
 * scalar, and blank lines before the first such comment may belong to a `|+` scalar; both stay in the body.
 */
function trailingCommentsStart(source: string, start: number, end: number): number {
  let cut = end;
  let lineEnd = end;
  while (lineEnd > start) {
    const lineStart = lineEnd - 2 < start ? start : Math.max(start, source.lastIndexOf('\n', lineEnd - 2) + 1);
    const line = source.slice(lineStart, lineEnd);
    if (line.startsWith('#')) cut = lineStart;
    else if (line.trim() !== '') break;
    lineEnd = lineStart;
  }
  return cut;
}
