/**
 * The fast path's scanner: a validating line scanner for the block-style YAML that Helm 3 templates and Helm 4's
 * go-yaml re-serialization emit.
 *
 * It accepts a deliberately small subset of YAML (block mappings and sequences, plain scalars folded over lines,
 * quoted scalars over one line or several, one-line flow collections, `|`/`>` block scalars, comments) and refuses
 * ("falls back") on anything else, so that whatever it accepts is valid YAML that the full path (the `yaml`
 * library behind the go-yaml compatibility pass, gocompat.ts) parses into the same structure. It records only the
 * mappings on the paths the post-renderer writes (a trie built from the label contract's workload paths), and
 * for those, where each entry's value lies; insertions.ts plans the edits from that.
 *
 * Why a subset and not a YAML parser: the whole point is speed (every `helm upgrade` runs us), and a subset that
 * bails out early can be checked against the full parser by differential tests (test/post-renderer/scan*.test.ts).
 */
import { podTemplatePath, WORKLOADS } from '../../core/labels.js';
import { MAX_NESTING_DEPTH } from './nesting.js';

/** Thrown (one shared instance, no stack capture cost on the hot path) when the scanner cannot be sure. */
class Bail extends Error {}
const BAIL = new Bail('fall back to the full YAML path');

export const enum V {
  Null,
  Map,
  Seq,
  /** A one-line flow sequence (`[80, 443]`); its span is in valueStart/valueEnd. */
  FlowSeq,
  /** A one-line flow mapping; on a recorded path, `flow` describes it. */
  FlowMap,
  /** A one-line plain scalar; its span is in valueStart/valueEnd. */
  Plain,
  /** A one-line quoted scalar; its content (without the quotes) in valueStart/valueEnd (see `quotedText`). */
  Quoted,
  Other,
}

/** A one-line flow mapping on a recorded path. */
export interface FlowInfo {
  /** Its keys, when every key can be compared by its text (`bad` otherwise). */
  readonly keys: string[];
  /** Offset of the closing brace. */
  close: number;
  /** End of its last key or value (-1 when it is empty). */
  lastEnd: number;
  bad: boolean;
}

export interface Entry {
  readonly key: string;
  type: V;
  child: MapInfo | undefined;
  items: (MapInfo | undefined)[] | undefined;
  /** Value span (see V); for Null, the span of `null`/`~`, or -1 for an empty value. */
  valueStart: number;
  valueEnd: number;
  /** Offset just after the key's colon: where a value is written into an empty null. */
  readonly colonEnd: number;
  flow: FlowInfo | undefined;
}

export interface MapInfo {
  /** Column of the mapping's keys. */
  readonly col: number;
  readonly entries: Entry[];
  /** Offset of the end (line break or end of input) of the last content line of the mapping's subtree. */
  end: number;
  /** A key we cannot compare by its text (quoted with escapes, merge key) or a duplicate key. */
  bad: boolean;
}

/** An item of a recorded sequence that is certainly no mapping (a scalar, a flow sequence). */
export const NOT_A_MAP: MapInfo = { col: -1, entries: [], end: 0, bad: true };

/** Which mappings to record while scanning (all others are only validated). */
interface Trie {
  readonly map?: ReadonlyMap<string, Trie>;
  /** For a key whose value is a sequence of objects (`items` of a List). */
  readonly seqItem?: Trie;
}

type MutableTrie = { map: Map<string, MutableTrie>; seqItem?: MutableTrie };

function trieAt(root: MutableTrie, path: readonly string[]): MutableTrie {
  let node = root;
  for (const key of path) {
    let next = node.map.get(key);
    if (!next) node.map.set(key, (next = { map: new Map() }));
    node = next;
  }
  return node;
}

/** The paths every object may be written at: its labels and annotations, and its pod templates' labels. */
function objectTrie(): MutableTrie {
  const t: MutableTrie = { map: new Map() };
  trieAt(t, ['metadata', 'labels']);
  trieAt(t, ['metadata', 'annotations']);
  for (const w of WORKLOADS) trieAt(t, [...w.template, 'metadata', 'labels']);
  return t;
}
const OBJECT: Trie = objectTrie();
/** An object's root keys that lead to a pod template (`spec`): recorded only for the kinds WORKLOADS names. */
const TEMPLATE_ROOTS: ReadonlySet<string> = new Set(WORKLOADS.map((w) => w.template[0] as string));
const ROOT: Trie = (() => {
  const t = objectTrie();
  t.map.set('items', { map: new Map(), seqItem: OBJECT as MutableTrie });
  return t;
})();

// Character codes.
const NL = 10;
const SP = 32;
const TAB = 9;
const HASH = 35;
const DASH = 45;
const PLUS = 43;
const COLON = 58;
const QUESTION = 63;
const DQ = 34;
const SQ = 39;
const OPEN_BRACKET = 91;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;

/** "Not found" for `next`: a small integer past any string's end, so offsets stay small integers (no doubles). */
const NONE = 0x3fffffff;
const NEXT_HASH = 0;
const NEXT_COLON_SP = 1;
const NEXT_TAB = 2;

/**
 * Native (sticky) matchers for single-line tokens: V8 compiles them to machine code at once, which matters for a
 * process that lives a fraction of a second (the scanner's own loops run mostly unoptimized).
 * A plain key in a conservative character set; a double-quoted scalar with valid escapes only (\\U only up to
 * U+10FFFF: past it the `yaml` library refuses the document); a single-quoted scalar; a flow sequence of quoted scalars
 * (`args: ["--port=8080", "--v=2"]`, the common case; other flow collections go through `flow`). The multi-line
 * forms also take line breaks (and, double-quoted, escaped line breaks).
 */
const PLAIN_KEY = /[A-Za-z0-9_$/][-A-Za-z0-9_$./]*/y;
const DQ_ESCAPE = String.raw`\\(?:[0abtnvfre "/\\N_LP\t]|x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}|U(?:000[0-9A-Fa-f]|0010)[0-9A-Fa-f]{4})`;
const DQ_BODY = String.raw`"(?:[^"\\\n]|${DQ_ESCAPE})*"`;
// `(?!')`: a quote pair is an escaped quote, never a closing quote and the next one's start (no backtracking).
const SQ_BODY = String.raw`'(?:[^'\n]|'')*'(?!')`;
const DOUBLE_QUOTED = new RegExp(DQ_BODY, 'y');
const SINGLE_QUOTED = new RegExp(SQ_BODY, 'y');
const DOUBLE_QUOTED_LINES = new RegExp(String.raw`"(?:[^"\\]|${DQ_ESCAPE}|\\\n)*"`, 'y');
const SINGLE_QUOTED_LINES = /'(?:[^']|'')*'(?!')/y;
/** A document marker at the start of a line inside a multi-line scalar: the scalar would end there. */
const DOCUMENT_MARKER_LINE = /\n(?:---|\.\.\.)(?:[ \t\n]|$)/;
const QUOTED_ITEM = `(?:${DQ_BODY}|${SQ_BODY})`;
const QUOTED_FLOW_SEQUENCE = new RegExp(String.raw`\[ *(?:${QUOTED_ITEM} *(?:, *${QUOTED_ITEM} *)*)?\]`, 'y');
const NULL_WORD = /^(?:~|null|Null|NULL)$/;
const LEADING_SPACES = / */y;

/**
 * A one-line plain scalar as inlineValue accepts it, for skipLines: no indicator first (`-`, `?`, `:` only before a
 * non-space), no `: `, no ` #`, no tab, no final `:`. It stops before trailing spaces (and anything it refuses).
 */
const SKIP_PLAIN = /(?![-?:](?:[ \n]|$))(?![,[\]{}#&*!|>'"%@`])(?:[^\n\t: ]|:(?=[^ \n\t])| +(?=[^ \n\t#]))*/y;
const SKIP_MAP = 0;
const SKIP_SEQ = 1;
/** A sequence at its key's own column: a key line at that column ends it and continues the mapping. */
const SKIP_COMPACT_SEQ = 2;

/** Plain key characters we accept (a conservative subset: what Kubernetes keys and labels use). */
const KEY_CHAR = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$./-') KEY_CHAR[c.charCodeAt(0)] = 1;
const KEY_FIRST = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$/') KEY_FIRST[c.charCodeAt(0)] = 1;
/** Characters that cannot start a plain scalar (YAML indicators), besides `-`, `?` and `:` (checked apart). */
const NOT_PLAIN_FIRST = new Uint8Array(128);
for (const c of ',[]{}#&*!|>\'"%@`') NOT_PLAIN_FIRST[c.charCodeAt(0)] = 1;
const FLOW_INDICATOR = new Uint8Array(128);
for (const c of ',[]{}') FLOW_INDICATOR[c.charCodeAt(0)] = 1;

export class DocScanner {
  /** Start of the current line. */
  private pos = 0;
  /** Current line: end (offset of its line break, or the end of the document) and indentation. */
  private lineEnd = 0;
  private indent = 0;
  /**
   * Start of the content line `nextContent` found last (-1: none). The scanner asks for the next content line
   * several times before consuming it (after a value, for a continuation, for the next key): each line is
   * searched once.
   */
  private contentAt = -1;
  /** Offset of the end of the last content line consumed. */
  private last = 0;
  private end = 0;
  /** Cached results of `next` (the scanner only moves forward, so each stretch of input is searched once). */
  private readonly nextAt = [-1, -1, -1];
  /** The skip's open collections (see `skipLines`): their columns and kinds, reused from one subtree to the next. */
  private readonly skipCols: number[] = [];
  private readonly skipKinds: number[] = [];
  /** Whether unrecorded subtrees are skipped here: `skip`, except inside a subtree the skip gave back. */
  private skipping: boolean;

  /**
   * `wanted`: keys recorded in every recorded mapping besides the trie's (kind, apiVersion, the keys we write).
   * `skip`: validate unrecorded subtrees with the flat skip (`skipBlock`); false scans them like any other (the
   * differential tests compare the two).
   */
  constructor(
    readonly src: string,
    private readonly wanted: ReadonlySet<string>,
    private readonly skip = true,
  ) {
    this.skipping = skip;
  }

  /**
   * The next ` #`, `: ` or tab at or after `p` (NONE when none). Searches start from the rarer character
   * (`#`, `:`), which the native search finds fast, and check its neighbour.
   */
  private next(which: number, p: number): number {
    let at = this.nextAt[which] as number;
    if (at >= p) return at;
    const src = this.src;
    if (which === NEXT_TAB) {
      at = src.indexOf('\t', p);
    } else if (which === NEXT_HASH) {
      at = src.indexOf('#', p + 1);
      while (at > 0 && src.charCodeAt(at - 1) !== SP) at = src.indexOf('#', at + 1);
      if (at > 0) at--;
    } else {
      at = src.indexOf(':', p);
      while (at >= 0 && src.charCodeAt(at + 1) !== SP) at = src.indexOf(':', at + 1);
    }
    if (at < 0) at = NONE;
    this.nextAt[which] = at;
    return at;
  }

  /** Moves to the next content line (skipping blank and comment lines). False at the end of the document. */
  private nextContent(): boolean {
    if (this.pos === this.contentAt) return true;
    const src = this.src;
    let p = this.pos;
    while (p < this.end) {
      let e = src.indexOf('\n', p);
      if (e < 0 || e > this.end) e = this.end;
      // The indentation by a native match: deep CRD schemas indent by tens of spaces, and this runs on every line.
      LEADING_SPACES.lastIndex = p;
      LEADING_SPACES.test(src);
      const i = LEADING_SPACES.lastIndex < e ? LEADING_SPACES.lastIndex : e;
      if (i < e) {
        const c = src.charCodeAt(i);
        if (c === TAB) throw BAIL;
        if (c !== HASH) {
          this.pos = this.contentAt = p;
          this.lineEnd = e;
          this.indent = i - p;
          return true;
        }
      }
      p = e + 1;
    }
    this.pos = this.end;
    return false;
  }

  /** Consumes the current line as content. */
  private consumeLine(): void {
    this.last = this.lineEnd;
    this.pos = this.lineEnd + 1;
  }

  /**
   * Scans a document `src[start, end)` (one slice of the stream, possibly starting with `---`). Returns its root
   * mapping (recorded along the trie), null for a document without content, or undefined to fall back.
   */
  scan(start: number, end: number): MapInfo | null | undefined {
    this.pos = start;
    this.end = end;
    this.contentAt = -1; // a line found in another slice may end past this one's end
    try {
      // The marker line: exactly `---` (Helm writes nothing after it); leading blank/comment lines may precede it.
      if (!this.nextContent()) return null;
      const src = this.src;
      if (this.indent === 0 && src.startsWith('---', this.pos) && this.lineEnd - this.pos >= 3) {
        const c = src.charCodeAt(this.pos + 3);
        if (this.lineEnd === this.pos + 3) {
          this.consumeLine();
          if (!this.nextContent()) return null;
        } else if (c === SP || c === TAB) throw BAIL;
      }
      if (this.indent !== 0) throw BAIL;
      const root = this.parseMap(0, this.pos, ROOT, 1);
      if (this.nextContent()) throw BAIL;
      return root;
    } catch (err) {
      if (err === BAIL) return undefined;
      throw err;
    }
  }

  /**
   * A block mapping whose keys are at column `col`; the first key starts at `at` on the current line (after a
   * sequence dash, or at the indentation). Returns the recorded mapping when `trie` asks for it. `depth` counts
   * the collections it is nested in, itself included.
   */
  private parseMap(col: number, at: number, trie: Trie | undefined, depth: number): MapInfo {
    if (depth > MAX_NESTING_DEPTH) throw BAIL;
    const info: MapInfo | undefined = trie?.map ? { col, entries: [], end: 0, bad: false } : undefined;
    const src = this.src;
    let keyStart = at;
    for (;;) {
      const lineEnd = this.lineEnd;
      // The key: plain (conservative characters) or quoted, then `:` followed by a space or the end of the line.
      let p = keyStart;
      let quoted = false;
      const c0 = src.charCodeAt(p);
      if (c0 === DQ || c0 === SQ) {
        p = c0 === DQ ? this.doubleQuoted(p, lineEnd) : this.singleQuoted(p, lineEnd);
        quoted = true;
      } else {
        PLAIN_KEY.lastIndex = p;
        if (!PLAIN_KEY.test(src)) throw BAIL;
        p = PLAIN_KEY.lastIndex;
      }
      if (p >= lineEnd || src.charCodeAt(p) !== COLON) throw BAIL;
      if (p - keyStart > 1000) throw BAIL; // implicit keys are limited to 1024 characters
      const keyEnd = p;
      p++;
      if (p < lineEnd && src.charCodeAt(p) !== SP) throw BAIL;
      let entry: Entry | undefined;
      let childTrie: Trie | undefined;
      if (info) {
        // Quoted keys compare by their value: fine when there is nothing to unescape (`"helm.sh/hook"`).
        const key = quoted ? src.slice(keyStart + 1, keyEnd - 1) : src.slice(keyStart, keyEnd);
        if (quoted && key.includes(c0 === DQ ? '\\' : "'")) info.bad = true;
        childTrie = trie?.map?.get(key);
        // `spec` of an object that is no workload leads to no pod template: not recorded, so skipped (a CRD's
        // schema is most of its bytes). Decided from kind and apiVersion when both came before it.
        if (
          this.skip &&
          childTrie &&
          (trie === ROOT || trie === OBJECT) &&
          TEMPLATE_ROOTS.has(key) &&
          !this.mayHoldTemplate(info, key)
        )
          childTrie = undefined;
        // Only keys that are looked up are kept (edit.ts refuses duplicates of those only): fewer objects.
        if (childTrie || this.wanted.has(key)) {
          if (find(info, key)) info.bad = true;
          entry = {
            key,
            type: V.Null,
            child: undefined,
            items: undefined,
            valueStart: -1,
            valueEnd: -1,
            colonEnd: keyEnd + 1,
            flow: undefined,
          };
          info.entries.push(entry);
        }
      }
      while (p < lineEnd && src.charCodeAt(p) === SP) p++;
      if (p >= lineEnd || src.charCodeAt(p) === HASH) {
        // A nested block node on the following lines (or null).
        this.consumeLine();
        if (this.skipping && !childTrie && !entry) this.skipBlock(col, depth);
        else this.nestedBlock(col, true, childTrie, entry, depth);
      } else {
        this.inlineValue(p, lineEnd, col, entry, true, childTrie, depth);
        if (this.nextContent() && this.indent > col) throw BAIL; // continuation of a multi-line scalar, or an error
      }
      // Next key, or the end of this mapping.
      if (!this.nextContent() || this.indent < col) break;
      if (this.indent > col) throw BAIL;
      keyStart = this.pos + col;
      const c = src.charCodeAt(keyStart);
      if (c === DASH || c === HASH) throw BAIL;
    }
    if (info) {
      info.end = this.last;
      // The `yaml` library extends a mapping's end over trailing comment lines indented past its keys (they
      // belong to its last value); edit.ts then inserts after them. Rare in Helm output: fall back.
      if (this.deepComment(this.last + 1, this.pos, col)) info.bad = true;
    }
    return info as MapInfo;
  }

  /**
   * Whether `key` (a TEMPLATE_ROOTS key of the object mapping `info`) may lead to a pod template: unless kind and
   * apiVersion were read before it, as the planner reads them, and name a kind WORKLOADS does not list under it.
   */
  private mayHoldTemplate(info: MapInfo | undefined, key: string): boolean {
    if (!info || info.bad) return true;
    const kind = info.entries.length > 0 ? this.textOf(find(info, 'kind')) : undefined;
    const apiVersion = kind === undefined ? undefined : this.textOf(find(info, 'apiVersion'));
    if (kind === undefined || apiVersion === undefined) return true;
    return podTemplatePath(apiVersion, kind)?.[0] === key;
  }

  /** The text of a one-line plain or quoted (escape-free) scalar entry, else undefined. */
  private textOf(e: Entry | undefined): string | undefined {
    if (!e || e.valueEnd <= e.valueStart) return undefined;
    if (e.type === V.Plain) return this.src.slice(e.valueStart, e.valueEnd);
    return e.type === V.Quoted ? quotedText(this.src, e) : undefined;
  }

  /**
   * The value of a mapping key at column `col` whose subtree nothing is recorded in, on the lines after its key
   * line: validated by the flat loop `skipLines` when it can, else (anything it does not know, any error) scanned
   * again from the same place by `nestedBlock`, which then decides. Either way the scanner ends in the same state.
   */
  private skipBlock(col: number, depth: number): void {
    const pos = this.pos;
    const contentAt = this.contentAt;
    const lineEnd = this.lineEnd;
    const indent = this.indent;
    const last = this.last;
    const next0 = this.nextAt[0] as number;
    const next1 = this.nextAt[1] as number;
    const next2 = this.nextAt[2] as number;
    try {
      if (this.skipLines(col, depth)) return;
    } catch (err) {
      if (err !== BAIL) throw err;
    }
    this.pos = pos;
    this.contentAt = contentAt;
    this.lineEnd = lineEnd;
    this.indent = indent;
    this.last = last;
    // `next`'s answers for a point at or before this one (the skip's may be past an occurrence after it).
    this.nextAt[0] = next0;
    this.nextAt[1] = next1;
    this.nextAt[2] = next2;
    // No skip inside the usual scan of this subtree: each of its subtrees would be validated twice.
    this.skipping = false;
    try {
      this.nestedBlock(col, true, undefined, undefined, depth);
    } finally {
      this.skipping = true;
    }
  }

  /**
   * A flat, validate-only scan of a subtree (see skipBlock) for the commonest lines of CRD schemas and pod specs:
   * `key:`, `key: value` and `- ` items of those, with plain keys, one-line plain, quoted and `{}`/`[]` values,
   * plain continuation lines and block scalars (the scanner's own `plainContinuation` and `blockScalar`). Its open
   * collections are a stack of columns instead of parseMap/parseSeq calls. It accepts a subset of what those accept,
   * with the same lines consumed; false (or BAIL) for anything else: the caller scans the subtree the usual way.
   */
  private skipLines(col: number, depth: number): boolean {
    const src = this.src;
    const cols = this.skipCols;
    const kinds = this.skipKinds;
    let top = -1;
    /** The last line was `key:` at column `openCol`: its value may start on this line. */
    let open = true;
    let openCol = col;
    for (;;) {
      if (!this.nextContent()) return true;
      const n = this.indent;
      const lineEnd = this.lineEnd;
      const i = this.pos + n;
      const dash = src.charCodeAt(i) === DASH && (i + 1 >= lineEnd || src.charCodeAt(i + 1) === SP);
      if (open) {
        open = false;
        // A nested mapping or sequence, or a sequence at the key's own column (go-yaml's and kubebuilder's style).
        if (n > openCol || (dash && n === openCol)) {
          if (depth + top + 2 > MAX_NESTING_DEPTH) return false;
          top++;
          cols[top] = n;
          kinds[top] = dash ? (n === openCol ? SKIP_COMPACT_SEQ : SKIP_SEQ) : SKIP_MAP;
        }
        // Otherwise the value was null: this line is the next key of an enclosing mapping.
      }
      while (top >= 0 && (cols[top] as number) > n) top--;
      if (top >= 0 && !dash && kinds[top] === SKIP_COMPACT_SEQ && cols[top] === n) top--; // the mapping's next key
      if (top < 0) return n <= col; // the subtree has ended (or a line between two columns: an error)
      if (cols[top] !== n) return false;
      const kind = kinds[top];
      let k = i;
      if (dash) {
        if (kind === SKIP_MAP) return false;
        k = i + 1;
        while (k < lineEnd && src.charCodeAt(k) === SP) k++;
        if (k >= lineEnd) return false; // `-` alone
        PLAIN_KEY.lastIndex = k;
        const isKey = PLAIN_KEY.test(src) && this.keyColon(PLAIN_KEY.lastIndex, lineEnd);
        if (!isKey) {
          // A scalar item: nothing may continue it (inlineValue with inMap false).
          if (!this.skipValue(k, lineEnd, n, depth + top + 1, false)) return false;
          continue;
        }
        // `- key: ...`: a mapping item whose keys are at the first key's column.
        if (depth + top + 2 > MAX_NESTING_DEPTH) return false;
        top++;
        cols[top] = k - this.pos;
        kinds[top] = SKIP_MAP;
      } else if (kind !== SKIP_MAP) return false;
      // A key at k (a plain one: quoted keys are the usual scan's).
      PLAIN_KEY.lastIndex = k;
      if (!PLAIN_KEY.test(src)) return false;
      const keyEnd = PLAIN_KEY.lastIndex;
      if (keyEnd >= lineEnd || src.charCodeAt(keyEnd) !== COLON || keyEnd - k > 1000) return false;
      let v = keyEnd + 1;
      if (v < lineEnd && src.charCodeAt(v) !== SP) return false;
      while (v < lineEnd && src.charCodeAt(v) === SP) v++;
      const keyCol = k - this.pos;
      if (v >= lineEnd) {
        this.consumeLine();
        open = true;
        openCol = keyCol;
        continue;
      }
      if (!this.skipValue(v, lineEnd, keyCol, depth + top + 1, true)) return false;
    }
  }

  /** Whether `src[q]` is a key's colon: followed by a space or the end of the line. */
  private keyColon(q: number, lineEnd: number): boolean {
    return q < lineEnd && this.src.charCodeAt(q) === COLON && (q + 1 >= lineEnd || this.src.charCodeAt(q + 1) === SP);
  }

  /**
   * A value at `v` on the current line for skipLines (a mapping value at key column `parentCol` when `inMap`, else a
   * sequence item at dash column `parentCol`; `depth`: the collections it is in): consumed, as inlineValue would,
   * by the scanner's own readers: a plain scalar (one line, continued over the next ones in a mapping), a quoted
   * scalar (over one line or several), a one-line flow collection or a block scalar; false (or BAIL) otherwise.
   */
  private skipValue(v: number, lineEnd: number, parentCol: number, depth: number, inMap: boolean): boolean {
    const src = this.src;
    const c = src.charCodeAt(v);
    if (c === 124 /* | */ || c === 62 /* > */) {
      this.blockScalar(v, lineEnd, parentCol);
      return true;
    }
    if (c === DQ || c === SQ) {
      // On this line or over the next ones (continuation lines at any column, a closing quote at column 0).
      this.quotedValue(v, lineEnd, undefined);
      return true;
    }
    if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      const q = this.flow(v, lineEnd, depth + 1);
      this.trailer(q, lineEnd);
      this.consumeLine();
      return true;
    }
    SKIP_PLAIN.lastIndex = v;
    SKIP_PLAIN.test(src);
    let q = SKIP_PLAIN.lastIndex;
    while (q < lineEnd && src.charCodeAt(q) === SP) q++;
    if (q !== lineEnd || q === v) return false;
    this.consumeLine();
    if (inMap) this.plainContinuation(parentCol);
    return true;
  }

  /** Whether a comment line in `src[from, to)` (blank and comment lines only) is indented more than `col`. */
  private deepComment(from: number, to: number, col: number): boolean {
    const src = this.src;
    let p = from;
    while (p < to) {
      let e = src.indexOf('\n', p);
      if (e < 0 || e > to) e = to;
      let i = p;
      while (i < e && src.charCodeAt(i) === SP) i++;
      if (i < e && i - p > col) return true;
      p = e + 1;
    }
    return false;
  }

  /**
   * After `key:` or `-` with nothing else on the line: a block node on the next lines at a deeper indent (a
   * mapping, a sequence, or a scalar or flow collection on a line of its own), or null.
   */
  private nestedBlock(
    col: number,
    inMap: boolean,
    trie: Trie | undefined,
    entry: Entry | undefined,
    depth: number,
  ): void {
    if (!this.nextContent()) return;
    const ind = this.indent;
    const src = this.src;
    const first = this.pos + ind;
    const isDash = src.charCodeAt(first) === DASH && (first + 1 >= this.lineEnd || src.charCodeAt(first + 1) === SP);
    if (ind > col || (inMap && ind === col && isDash)) {
      if (isDash) {
        const items = this.parseSeq(ind, trie?.seqItem, depth + 1);
        if (entry) {
          entry.type = V.Seq;
          entry.items = items;
        }
      } else if (!startsValue(src.charCodeAt(first)) || this.isKeyLine(first, this.lineEnd)) {
        const child = this.parseMap(ind, first, trie, depth + 1);
        if (entry) {
          entry.type = V.Map;
          entry.child = trie?.map ? child : undefined;
        }
      } else {
        // `resources:` then `  {}` below it, or a scalar on its own line.
        this.inlineValue(first, this.lineEnd, col, entry, inMap, trie, depth);
        if (this.nextContent() && this.indent > col) throw BAIL;
      }
    }
  }

  /** A block sequence whose dashes are at column `col` (the current line is its first entry). */
  private parseSeq(col: number, itemTrie: Trie | undefined, depth: number): (MapInfo | undefined)[] | undefined {
    if (depth > MAX_NESTING_DEPTH) throw BAIL;
    const items: (MapInfo | undefined)[] | undefined = itemTrie ? [] : undefined;
    const src = this.src;
    for (;;) {
      const lineEnd = this.lineEnd;
      let p = this.pos + col + 1; // after the dash
      while (p < lineEnd && src.charCodeAt(p) === SP) p++;
      let item: MapInfo | undefined;
      if (p >= lineEnd || src.charCodeAt(p) === HASH) {
        this.consumeLine();
        if (itemTrie) throw BAIL; // objects of a List written as `-` then a mapping below: unusual
        this.nestedBlock(col, false, undefined, undefined, depth);
      } else if (this.isKeyLine(p, lineEnd)) {
        item = this.parseMap(p - this.pos, p, itemTrie, depth + 1);
      } else {
        if (src.charCodeAt(p) === DASH && (p + 1 >= lineEnd || src.charCodeAt(p + 1) === SP)) throw BAIL; // `- - x`
        // A scalar or a flow sequence is certainly no object (`items: [80, 443]`); a flow mapping may be one.
        if (itemTrie && src.charCodeAt(p) !== OPEN_BRACE) item = NOT_A_MAP;
        this.inlineValue(p, lineEnd, col, undefined, false, undefined, depth);
        if (this.nextContent() && this.indent > col) throw BAIL;
      }
      if (items) items.push(item);
      if (!this.nextContent() || this.indent < col) break;
      if (this.indent > col) throw BAIL;
      const d = this.pos + col;
      if (src.charCodeAt(d) !== DASH || (d + 1 < this.lineEnd && src.charCodeAt(d + 1) !== SP)) break;
    }
    return items;
  }

  /**
   * Whether the text at `p` is a mapping key (`key: ` or `"key": `), without consuming anything. A quoted scalar
   * that does not close on its line is no key (an implicit key is one line).
   */
  private isKeyLine(p: number, lineEnd: number): boolean {
    const src = this.src;
    const c0 = src.charCodeAt(p);
    let q = p;
    if (c0 === DQ || c0 === SQ) {
      const re = c0 === DQ ? DOUBLE_QUOTED : SINGLE_QUOTED;
      re.lastIndex = p;
      if (!re.test(src) || re.lastIndex > lineEnd) return false;
      q = re.lastIndex;
    } else {
      if (c0 >= 128 || !KEY_FIRST[c0]) return false;
      q++;
      while (q < lineEnd) {
        const c = src.charCodeAt(q);
        if (c >= 128 || !KEY_CHAR[c]) break;
        q++;
      }
    }
    return q < lineEnd && src.charCodeAt(q) === COLON && (q + 1 >= lineEnd || src.charCodeAt(q + 1) === SP);
  }

  /**
   * A value that starts on the current line at `p` (after `key: ` or `- `, or on a line of its own): a scalar, a
   * one-line flow collection or a block scalar header (whose content lines are consumed here). `parentCol` is the
   * column a block scalar's content and a plain scalar's continuation lines must be indented past.
   */
  private inlineValue(
    p: number,
    lineEnd: number,
    parentCol: number,
    entry: Entry | undefined,
    inMap: boolean,
    trie: Trie | undefined,
    depth: number,
  ): void {
    const src = this.src;
    const c = src.charCodeAt(p);
    if (c === DQ || c === SQ) {
      this.quotedValue(p, lineEnd, entry);
      return;
    }
    if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      // A flow mapping on a path we write into is read key by key; any other flow collection only validated.
      const flow: FlowInfo | undefined =
        entry && trie?.map && c === OPEN_BRACE ? { keys: [], close: -1, lastEnd: -1, bad: false } : undefined;
      const q = this.flow(p, lineEnd, depth + 1, flow);
      if (entry) {
        entry.type = c === OPEN_BRACKET ? V.FlowSeq : V.FlowMap;
        entry.valueStart = p;
        entry.valueEnd = q;
        entry.flow = flow;
      }
      this.trailer(q, lineEnd);
      this.consumeLine();
      return;
    }
    if (c === 124 /* | */ || c === 62 /* > */) {
      this.blockScalar(p, lineEnd, parentCol);
      if (entry) entry.type = V.Other;
      return;
    }
    // Plain scalar on one line: no `: ` or trailing `:` before a comment (` #`), no tab.
    if (c < 128 && NOT_PLAIN_FIRST[c]) throw BAIL;
    if (c === DASH || c === QUESTION || c === COLON) {
      // An indicator starts a plain scalar only when a non-space follows (`:node_memory...`, `-1`).
      if (p + 1 >= lineEnd || src.charCodeAt(p + 1) === SP) throw BAIL;
    }
    const hash = this.next(NEXT_HASH, p);
    const stop = hash < lineEnd ? hash : lineEnd;
    if (this.next(NEXT_COLON_SP, p) < stop || this.next(NEXT_TAB, p) < lineEnd) throw BAIL;
    let contentEnd = stop;
    while (contentEnd > p && src.charCodeAt(contentEnd - 1) === SP) contentEnd--;
    if (src.charCodeAt(contentEnd - 1) === COLON) throw BAIL;
    if (entry) {
      entry.valueStart = p;
      entry.valueEnd = contentEnd;
      entry.type = NULL_WORD.test(src.slice(p, contentEnd)) ? V.Null : V.Plain;
    }
    this.consumeLine();
    // Long strings folded over several lines (go-yaml writes them): a mapping value only, without a comment.
    if (inMap && hash >= lineEnd && this.plainContinuation(parentCol) && entry) entry.type = V.Other;
  }

  /**
   * A single- or double-quoted scalar starting at `p`, on this line or continued over the next ones. go-yaml
   * writes multi-line quoted scalars (Helm 4 re-serializes every template) and does not check the indentation of
   * their continuation lines: a value that ends with a line break gets its closing quote at column 0. Accepted:
   * any continuation line but a document marker at column 0 (where the scalar would end). The full path reads the
   * same text through gocompat.ts.
   */
  private quotedValue(p: number, lineEnd: number, entry: Entry | undefined): void {
    const src = this.src;
    const double = src.charCodeAt(p) === DQ;
    const one = double ? DOUBLE_QUOTED : SINGLE_QUOTED;
    one.lastIndex = p;
    if (one.test(src) && one.lastIndex <= lineEnd) {
      const q = one.lastIndex;
      if (entry) {
        // Its content, without the quotes: the planner compares it as text only when it holds no escape.
        entry.type = V.Quoted;
        entry.valueStart = p + 1;
        entry.valueEnd = q - 1;
      }
      this.trailer(q, lineEnd);
      this.consumeLine();
      return;
    }
    const lines = double ? DOUBLE_QUOTED_LINES : SINGLE_QUOTED_LINES;
    lines.lastIndex = p;
    if (!lines.test(src) || lines.lastIndex > this.end) throw BAIL;
    const q = lines.lastIndex;
    if (DOCUMENT_MARKER_LINE.test(src.slice(p, q))) throw BAIL;
    let closeLineEnd = src.indexOf('\n', q);
    if (closeLineEnd < 0 || closeLineEnd > this.end) closeLineEnd = this.end;
    this.trailer(q, closeLineEnd);
    if (entry) entry.type = V.Other;
    this.last = closeLineEnd;
    this.pos = closeLineEnd + 1;
    this.contentAt = -1;
  }

  /**
   * Continuation lines of a plain scalar whose key is at column `col`: lines indented past it (blank lines may
   * come between). Refused: comment lines among or right after them, lines that start with `#` or `: ` or hold
   * `: `, ` #`, a tab or a final `:`. Returns whether there were any (they are consumed).
   */
  private plainContinuation(col: number): boolean {
    const src = this.src;
    let p = this.pos;
    let any = false;
    while (p < this.end) {
      let e = src.indexOf('\n', p);
      if (e < 0 || e > this.end) e = this.end;
      LEADING_SPACES.lastIndex = p;
      LEADING_SPACES.test(src);
      const i = LEADING_SPACES.lastIndex < e ? LEADING_SPACES.lastIndex : e;
      if (i < e) {
        const c = src.charCodeAt(i);
        if (i - p <= col) {
          // No continuation: this is the next content line (unless a comment or a tab line, which nextContent
          // decides about). Remember it, so that it is not searched again.
          if (c !== HASH && c !== TAB) {
            this.pos = this.contentAt = p;
            this.lineEnd = e;
            this.indent = i - p;
          }
          break;
        }
        if (c === HASH || c === TAB) throw BAIL;
        if (c === COLON && (i + 1 >= e || src.charCodeAt(i + 1) === SP)) throw BAIL;
        if (this.next(NEXT_COLON_SP, i) < e || this.next(NEXT_HASH, i) < e || this.next(NEXT_TAB, i) < e) throw BAIL;
        let ce = e;
        while (ce > i && src.charCodeAt(ce - 1) === SP) ce--;
        if (src.charCodeAt(ce - 1) === COLON) throw BAIL;
        this.last = e;
        this.pos = e + 1;
        any = true;
      }
      p = e + 1;
    }
    return any;
  }

  /** After a quoted scalar or flow collection: spaces, then the end of the line or a comment. */
  private trailer(q: number, lineEnd: number): void {
    const src = this.src;
    if (q >= lineEnd) return;
    if (src.charCodeAt(q) !== SP) throw BAIL;
    while (q < lineEnd && src.charCodeAt(q) === SP) q++;
    if (q < lineEnd && src.charCodeAt(q) !== HASH) throw BAIL;
  }

  /** A double-quoted scalar that closes on this line; returns the offset after the closing quote. */
  private doubleQuoted(p: number, lineEnd: number): number {
    DOUBLE_QUOTED.lastIndex = p;
    if (!DOUBLE_QUOTED.test(this.src) || DOUBLE_QUOTED.lastIndex > lineEnd) throw BAIL;
    return DOUBLE_QUOTED.lastIndex;
  }

  private singleQuoted(p: number, lineEnd: number): number {
    SINGLE_QUOTED.lastIndex = p;
    if (!SINGLE_QUOTED.test(this.src) || SINGLE_QUOTED.lastIndex > lineEnd) throw BAIL;
    return SINGLE_QUOTED.lastIndex;
  }

  /**
   * A flow collection that closes on this line, in a conservative subset; returns the offset after it. `info`
   * (a flow mapping on a recorded path) receives its keys, its closing brace and the end of its last entry.
   */
  private flow(p: number, lineEnd: number, depth: number, info?: FlowInfo): number {
    if (depth > MAX_NESTING_DEPTH) throw BAIL;
    if (!info) {
      QUOTED_FLOW_SEQUENCE.lastIndex = p;
      if (QUOTED_FLOW_SEQUENCE.test(this.src) && QUOTED_FLOW_SEQUENCE.lastIndex <= lineEnd)
        return QUOTED_FLOW_SEQUENCE.lastIndex;
    }
    const src = this.src;
    const open = src.charCodeAt(p);
    const close = open === OPEN_BRACKET ? 93 : CLOSE_BRACE;
    let q = this.skipSpaces(p + 1, lineEnd);
    if (src.charCodeAt(q) === close && q < lineEnd) {
      if (info) info.close = q;
      return q + 1;
    }
    for (;;) {
      if (open === OPEN_BRACE) {
        // key: a plain word or a quoted scalar, then `: ` and a value
        const c = src.charCodeAt(q);
        const keyStart = q;
        if (c === DQ) q = this.doubleQuoted(q, lineEnd);
        else if (c === SQ) q = this.singleQuoted(q, lineEnd);
        else {
          if (q >= lineEnd || c >= 128 || !KEY_FIRST[c]) throw BAIL;
          q++;
          while (q < lineEnd && src.charCodeAt(q) < 128 && KEY_CHAR[src.charCodeAt(q)]) q++;
        }
        if (info) {
          const quoted = c === DQ || c === SQ;
          const key = quoted ? src.slice(keyStart + 1, q - 1) : src.slice(keyStart, q);
          if ((quoted && key.includes(c === DQ ? '\\' : "'")) || info.keys.includes(key)) info.bad = true;
          info.keys.push(key);
        }
        if (q >= lineEnd || src.charCodeAt(q) !== COLON || src.charCodeAt(q + 1) !== SP) throw BAIL;
        q = this.skipSpaces(q + 1, lineEnd);
      }
      q = this.flowValue(q, lineEnd, depth);
      if (info) info.lastEnd = q;
      q = this.skipSpaces(q, lineEnd);
      if (q >= lineEnd) throw BAIL;
      const c = src.charCodeAt(q);
      if (c === close) {
        if (info) info.close = q;
        return q + 1;
      }
      if (c !== 44 /* , */) throw BAIL;
      q = this.skipSpaces(q + 1, lineEnd);
      if (q >= lineEnd || src.charCodeAt(q) === close) throw BAIL; // trailing comma: valid, but keep it simple
    }
  }

  /** A value inside a flow collection; returns the offset after it (trailing spaces excluded). */
  private flowValue(q: number, lineEnd: number, depth: number): number {
    const src = this.src;
    if (q >= lineEnd) throw BAIL;
    const c = src.charCodeAt(q);
    if (c === DQ) return this.doubleQuoted(q, lineEnd);
    if (c === SQ) return this.singleQuoted(q, lineEnd);
    if (c === OPEN_BRACKET || c === OPEN_BRACE) return this.flow(q, lineEnd, depth + 1);
    if (c < 128 && NOT_PLAIN_FIRST[c]) throw BAIL;
    if ((c === DASH || c === QUESTION || c === COLON) && (q + 1 >= lineEnd || src.charCodeAt(q + 1) === SP)) throw BAIL;
    if (c === QUESTION || c === COLON) throw BAIL; // `?x` and `:x` in flow context: keep it simple
    let r = q;
    while (r < lineEnd) {
      const ch = src.charCodeAt(r);
      if (ch < 128 && FLOW_INDICATOR[ch]) break;
      if (ch === TAB || ch === COLON || ch === HASH) throw BAIL;
      r++;
    }
    while (r > q && src.charCodeAt(r - 1) === SP) r--;
    return r;
  }

  private skipSpaces(q: number, lineEnd: number): number {
    while (q < lineEnd && this.src.charCodeAt(q) === SP) q++;
    return q;
  }

  /**
   * A `|` or `>` block scalar whose header is at `p` (chomping `-`/`+`, an indentation indicator, relative to the
   * parent's column: go-yaml writes `|2` when the content starts with spaces); consumes its content lines.
   * Refused: empty scalars, more-indented leading blank lines without an indicator, lines indented between the
   * parent and the content.
   */
  private blockScalar(p: number, lineEnd: number, parentCol: number): void {
    const src = this.src;
    let q = p + 1;
    let explicit = 0;
    let chomp = 0;
    for (let k = 0; k < 2 && q < lineEnd; k++) {
      const c = src.charCodeAt(q);
      if ((c === DASH || c === PLUS) && chomp === 0) chomp = c;
      else if (c >= 49 && c <= 57 && explicit === 0) explicit = c - 48;
      else break;
      q++;
    }
    const keep = chomp === PLUS;
    this.trailer(q, lineEnd);
    this.consumeLine();
    // Leading blank lines, then the first content line fixes the indentation m (or the indicator does).
    let start = this.pos;
    let maxBlank = 0;
    let m = -1;
    while (start < this.end) {
      let e = src.indexOf('\n', start);
      if (e < 0 || e > this.end) e = this.end;
      LEADING_SPACES.lastIndex = start;
      LEADING_SPACES.test(src);
      const i = LEADING_SPACES.lastIndex < e ? LEADING_SPACES.lastIndex : e;
      if (i < e) {
        m = i - start;
        break;
      }
      if (e - start > maxBlank) maxBlank = e - start;
      start = e + 1;
    }
    if (m < 0) throw BAIL;
    if (explicit > 0) {
      if (m < parentCol + explicit) throw BAIL;
      m = parentCol + explicit;
    } else if (m <= parentCol || maxBlank > m) throw BAIL;
    if (src.charCodeAt(start + m) === TAB) throw BAIL;
    // Content: every line that is blank (spaces only) or indented at least m; the first other line ends it. Found by
    // a native search, not line by line: CRD schemas are mostly multi-line descriptions.
    const under = underIndented(m);
    under.lastIndex = start;
    let stop = this.end;
    // test(), not exec(): no match object to allocate; the line starts after the last line break it read.
    if (under.test(src) && under.lastIndex <= this.end) {
      stop = src.lastIndexOf('\n', under.lastIndex - 1) + 1;
      let i = stop;
      while (src.charCodeAt(i) === SP) i++;
      // Less indented than the content and not blank: the scalar has ended, at the parent or above.
      if (i - stop > parentCol || src.charCodeAt(i) === TAB) throw BAIL;
    }
    // Back from there over the trailing blank lines (at most m spaces) to the last content line.
    let end = stop < this.end || src.charCodeAt(stop - 1) === NL ? stop - 1 : stop;
    let lastContent = -1;
    let lastBlank = -1;
    while (end >= start) {
      const lineStart = Math.max(start, src.lastIndexOf('\n', end - 1) + 1);
      if (end - lineStart > m) {
        lastContent = end;
        break;
      }
      if (lastBlank < 0) lastBlank = end;
      end = lineStart - 1;
    }
    // Keep chomping: the trailing blank lines are the scalar's too (its node ends after them).
    const last = keep && lastBlank > lastContent ? lastBlank : lastContent;
    this.last = last;
    this.pos = last + 1;
  }
}

/**
 * Whether a node on a line of its own may be a value rather than a mapping's first key: a flow collection, or a
 * quoted scalar (which may also be a quoted key; `isKeyLine` tells). A plain scalar alone on its line is taken for
 * a key, and falls back when it is none: go-yaml never writes one, and looking closer would cost every mapping.
 */
function startsValue(c: number): boolean {
  return c === OPEN_BRACE || c === OPEN_BRACKET || c === DQ || c === SQ;
}

/**
 * The content of a quoted scalar an entry holds, when it holds no escape (`\` in double quotes, `''` in single
 * ones), so that it is its value; undefined otherwise.
 */
export function quotedText(src: string, e: Entry): string | undefined {
  const text = src.slice(e.valueStart, e.valueEnd);
  return text.includes(src.charCodeAt(e.valueStart - 1) === DQ ? '\\' : "''") ? undefined : text;
}

/** Matchers for the first non-blank line indented less than `m` spaces (after its line break), by `m`. */
const UNDER_INDENTED: RegExp[] = [];
function underIndented(m: number): RegExp {
  return (UNDER_INDENTED[m] ??= new RegExp(`\\n(?! {${m}}) *[^ \\n]`, 'g'));
}

export function find(map: MapInfo, key: string): Entry | undefined {
  const entries = map.entries;
  for (let i = 0; i < entries.length; i++) if ((entries[i] as Entry).key === key) return entries[i];
  return undefined;
}
