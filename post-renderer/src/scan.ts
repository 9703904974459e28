/**
 * The fast path: a validating line scanner for the block-style YAML that Helm emits.
 *
 * It accepts a deliberately small subset of YAML (block mappings and sequences, single-line plain and quoted
 * scalars, single-line flow collections, `|`/`>` block scalars, comments) and refuses (returns undefined, "fall
 * back") on anything else, so that whatever it accepts is valid YAML that the `yaml` library parses into the same
 * structure. For an accepted document it plans exactly the insertions edit.ts would make: edit.ts inserts new
 * lines at the start of the line after the last content of a block mapping, at the column of its first key, and
 * that is all the fast path ever does (documents where edit.ts would replace, overwrite or warn fall back).
 *
 * Why a subset and not a YAML parser: the whole point is speed (every `helm upgrade` runs us), and a subset that
 * bails out early can be checked against the full parser by differential tests (test/post-renderer/scan*.test.ts).
 */
import {
  isListDocument,
  keyText,
  quote,
  targetsFor,
  type Entries,
  type InjectionMetadata,
  type Target,
} from './targets.js';

/** Thrown (one shared instance, no stack capture cost on the hot path) when the scanner cannot be sure. */
class Bail extends Error {}
const BAIL = new Bail('fall back to the full YAML path');

const enum V {
  Null,
  Map,
  Seq,
  /** A one-line flow sequence (`[80, 443]`); its span is in plainStart/plainEnd. */
  FlowSeq,
  Scalar,
  Other,
}

interface Entry {
  readonly key: string;
  type: V;
  child: MapInfo | undefined;
  items: (MapInfo | undefined)[] | undefined;
  /** Value span of a plain scalar (kind and apiVersion are read from it) or of a one-line flow sequence. */
  plainStart: number;
  plainEnd: number;
}

interface MapInfo {
  /** Column of the mapping's keys. */
  readonly col: number;
  readonly entries: Entry[];
  /** Offset of the end (line break or end of input) of the last content line of the mapping's subtree. */
  end: number;
  /** A key we cannot compare by its text (quoted, merge key) or a duplicate key. */
  bad: boolean;
}

/** An item of a recorded sequence that is certainly no mapping (a scalar, a flow sequence). */
const NOT_A_MAP: MapInfo = { col: -1, entries: [], end: 0, bad: true };

/** Which mappings to record while scanning (all others are only validated). */
interface Trie {
  readonly map?: ReadonlyMap<string, Trie>;
  /** For a key whose value is a sequence of objects (`items` of a List). */
  readonly seqItem?: Trie;
}

const LEAF: Trie = { map: new Map() };
const TEMPLATE: Trie = { map: new Map([['metadata', { map: new Map([['labels', LEAF]]) }]]) };
const OBJECT_KEYS: [string, Trie][] = [
  [
    'metadata',
    {
      map: new Map([
        ['labels', LEAF],
        ['annotations', LEAF],
      ]),
    },
  ],
  [
    'spec',
    {
      map: new Map([
        ['template', TEMPLATE],
        ['jobTemplate', { map: new Map([['spec', { map: new Map([['template', TEMPLATE]]) }]]) }],
      ]),
    },
  ],
];
const OBJECT: Trie = { map: new Map(OBJECT_KEYS) };
const ROOT: Trie = { map: new Map([...OBJECT_KEYS, ['items', { seqItem: OBJECT }]]) };

// Character codes.
const NL = 10;
const SP = 32;
const TAB = 9;
const HASH = 35;
const DASH = 45;
const COLON = 58;
const DQ = 34;
const SQ = 39;
const PERCENT = 37;

/** "Not found" for `next`: a small integer past any string's end, so offsets stay small integers (no doubles). */
const NONE = 0x3fffffff;
const NEXT_HASH = 0;
const NEXT_COLON_SP = 1;
const NEXT_TAB = 2;

/**
 * Native (sticky) matchers for single-line tokens: V8 compiles them to machine code at once, which matters for a
 * process that lives a fraction of a second (the scanner's own loops run mostly unoptimized).
 * A plain key in a conservative character set; a double-quoted scalar with valid escapes only (\\U refused: it
 * can name code points the `yaml` library rejects); a single-quoted scalar; a flow sequence of quoted scalars
 * (`args: ["--port=8080", "--v=2"]`, the common case; other flow collections go through `flow`).
 */
const PLAIN_KEY = /[A-Za-z0-9_$/][-A-Za-z0-9_$./]*/y;
const DQ_BODY = String.raw`"(?:[^"\\\n]|\\(?:[0abtnvfre "/\\N_LP\t]|x[0-9A-Fa-f]{2}|u[0-9A-Fa-f]{4}))*"`;
const SQ_BODY = String.raw`'(?:[^'\n]|'')*'`;
const DOUBLE_QUOTED = new RegExp(DQ_BODY, 'y');
const SINGLE_QUOTED = new RegExp(SQ_BODY, 'y');
const QUOTED_ITEM = `(?:${DQ_BODY}|${SQ_BODY})`;
const QUOTED_FLOW_SEQUENCE = new RegExp(String.raw`\[ *(?:${QUOTED_ITEM} *(?:, *${QUOTED_ITEM} *)*)?\]`, 'y');

/** Plain key characters we accept (a conservative subset: what Kubernetes keys and labels use). */
const KEY_CHAR = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$./-') KEY_CHAR[c.charCodeAt(0)] = 1;
const KEY_FIRST = new Uint8Array(128);
for (const c of 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_$/') KEY_FIRST[c.charCodeAt(0)] = 1;
/** Characters that cannot start a plain scalar (YAML indicators), besides `-` which is checked separately. */
const NOT_PLAIN_FIRST = new Uint8Array(128);
for (const c of '?:,[]{}#&*!|>\'"%@`') NOT_PLAIN_FIRST[c.charCodeAt(0)] = 1;
const FLOW_INDICATOR = new Uint8Array(128);
for (const c of ',[]{}') FLOW_INDICATOR[c.charCodeAt(0)] = 1;

/** YAML 1.1 words that do not resolve to strings (booleans, null): never accepted as kind/apiVersion. */
const NON_STRING_WORDS = /^(?:y|yes|n|no|true|false|on|off|null)$/i;
const KIND_TEXT = /^[A-Za-z][A-Za-z0-9]*$/;
const API_VERSION_TEXT = /^[A-Za-z][-A-Za-z0-9.]*(?:\/[A-Za-z][-A-Za-z0-9.]*)?$/;

/** One planned insertion: `text` at `pos`; ties broken like edit.ts (deeper mapping first, then plan order). */
export interface Insertion {
  readonly pos: number;
  readonly col: number;
  readonly text: string;
}

class DocScanner {
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
  /** Per stream (one set of metadata): targets by kind, insertion texts by target, depth and column. */
  private readonly targetCache = new Map<string, Target[]>();
  /** Keys recorded besides the trie's: kind, apiVersion and the keys we write (one scanner = one metadata). */
  private readonly wanted = new Set<string>();
  private readonly textCache = new Map<Target, Map<number, string>>();

  constructor(private readonly src: string) {}

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
      let i = p;
      while (i < e && src.charCodeAt(i) === SP) i++;
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
   * Scans a document `src[start, end)` (one slice of the stream, possibly starting with `---`). Returns the
   * number of objects and the insertions, or undefined to fall back.
   */
  scan(start: number, end: number, meta: InjectionMetadata, out: Insertion[]): number | undefined {
    if (this.wanted.size === 0) {
      for (const k of ['kind', 'apiVersion']) this.wanted.add(k);
      for (const [k] of [...meta.labels, ...meta.annotations]) this.wanted.add(k);
    }
    this.pos = start;
    this.end = end;
    this.contentAt = -1; // a line found in another slice may end past this one's end
    try {
      // The marker line: exactly `---` (Helm writes nothing after it); leading blank/comment lines may precede it.
      let sawMarker = false;
      if (!this.nextContent()) return 0;
      const src = this.src;
      if (this.indent === 0 && src.startsWith('---', this.pos) && this.lineEnd - this.pos >= 3) {
        const c = src.charCodeAt(this.pos + 3);
        if (this.lineEnd === this.pos + 3) sawMarker = true;
        else if (c === SP || c === TAB) throw BAIL;
        if (sawMarker) {
          this.consumeLine();
          if (!this.nextContent()) return 0;
        }
      }
      if (this.indent !== 0) throw BAIL;
      const root = this.parseMap(0, this.pos, ROOT);
      if (this.nextContent()) throw BAIL;
      return this.plan(root, meta, out);
    } catch (err) {
      if (err === BAIL) return undefined;
      throw err;
    }
  }

  private plan(root: MapInfo, meta: InjectionMetadata, out: Insertion[]): number | undefined {
    const kind = this.stringField(root, 'kind', KIND_TEXT);
    const apiVersion = this.stringField(root, 'apiVersion', API_VERSION_TEXT);
    if (kind === undefined || apiVersion === undefined) return undefined;
    if (kind.endsWith('List')) {
      const items = this.listItems(root);
      if (isListDocument(kind, items, (item) => this.isObject(item))) {
        // A List without items (no objects) or with an item that is no object (an error): the full path's.
        if (!items || items.length === 0) return undefined;
        for (const item of items) {
          // isListDocument has checked every item of a `...List` kind already; only `kind: List` skips that.
          if (!item || (kind === 'List' && !this.isObject(item))) return undefined;
          const itemKind = this.stringField(item, 'kind', KIND_TEXT) as string;
          const itemApiVersion = this.stringField(item, 'apiVersion', API_VERSION_TEXT) as string;
          if (!this.planObject(item, itemApiVersion, itemKind, meta, out)) return undefined;
        }
        return items.length;
      }
    }
    return this.planObject(root, apiVersion, kind, meta, out) ? 1 : undefined;
  }

  /**
   * The items of the root's `items` when it is a sequence (NOT_A_MAP for those that are certainly no mapping),
   * undefined when it is absent or no sequence (null, a scalar, a mapping).
   */
  private listItems(root: MapInfo): readonly (MapInfo | undefined)[] | undefined {
    const e = find(root, 'items');
    if (!e) return undefined;
    if (e.type === V.Seq) {
      if (!e.items) throw BAIL;
      return e.items;
    }
    if (e.type === V.FlowSeq) {
      // `[]` (a List of no objects) and `{` (maybe an object among the items) are the full path's. Otherwise no
      // item is a mapping: the scanner refuses `a: b` pairs in a flow sequence.
      const text = this.src.slice(e.plainStart, e.plainEnd);
      if (text.includes('{') || /^\[ *\]$/.test(text)) throw BAIL;
      return [NOT_A_MAP];
    }
    return undefined;
  }

  /** Whether an item is an object (a mapping with apiVersion and kind, render.ts `isObjectNode`); bails if unsure. */
  private isObject(item: MapInfo | undefined): boolean {
    if (item === NOT_A_MAP) return false;
    if (!item || item.bad) throw BAIL;
    if (!find(item, 'kind') || !find(item, 'apiVersion')) return false;
    if (this.stringField(item, 'kind', KIND_TEXT) === undefined) throw BAIL;
    if (this.stringField(item, 'apiVersion', API_VERSION_TEXT) === undefined) throw BAIL;
    return true;
  }

  private stringField(map: MapInfo, key: string, shape: RegExp): string | undefined {
    if (map.bad) return undefined;
    const e = find(map, key);
    if (!e || e.type !== V.Scalar || e.plainEnd <= e.plainStart) return undefined;
    const text = this.src.slice(e.plainStart, e.plainEnd);
    return shape.test(text) && !NON_STRING_WORDS.test(text) ? text : undefined;
  }

  /** The insertions edit.ts would make for one object, when all of them are plain insertions. */
  private planObject(
    obj: MapInfo,
    apiVersion: string,
    kind: string,
    meta: InjectionMetadata,
    out: Insertion[],
  ): boolean {
    // Without metadata the full path takes the document model (see lacksMetadata in render.ts).
    if (!find(obj, 'metadata')) return false;
    // Keyed by apiVersion and kind: the pod-template target depends on the group too.
    const typeKey = `${apiVersion} ${kind}`;
    let targets = this.targetCache.get(typeKey);
    if (!targets) {
      targets = targetsFor(apiVersion, kind, meta);
      this.targetCache.set(typeKey, targets);
    }
    for (const target of targets) {
      let map = obj;
      let done = false;
      for (let depth = 0; depth < target.path.length; depth++) {
        if (map.bad) return false;
        const e = find(map, target.path[depth] as string);
        if (!e) {
          if (depth >= target.mustExist) out.push(this.insertion(map, target, depth));
          done = true;
          break;
        }
        if (e.type !== V.Map || !e.child) return false;
        map = e.child;
      }
      if (done) continue;
      if (map.bad) return false;
      for (const [key] of target.entries) if (find(map, key)) return false;
      out.push(this.insertion(map, target, target.path.length));
    }
    return true;
  }

  /** Insert `target.path.slice(depth)` and the entries into `map`; the text depends only on these and the column. */
  private insertion(map: MapInfo, target: Target, depth: number): Insertion {
    let texts = this.textCache.get(target);
    if (!texts) this.textCache.set(target, (texts = new Map<number, string>()));
    const cacheKey = depth * 65536 + map.col;
    let text = texts.get(cacheKey);
    if (text === undefined) {
      text = blockText(target.path.slice(depth), target.entries, map.col);
      texts.set(cacheKey, text);
    }
    const atEof = map.end >= this.src.length;
    return { pos: atEof ? this.src.length : map.end + 1, col: map.col, text: atEof ? '\n' + text : text };
  }

  /**
   * A block mapping whose keys are at column `col`; the first key starts at `at` on the current line (after a
   * sequence dash, or at the indentation). Returns the recorded mapping when `trie` asks for it.
   */
  private parseMap(col: number, at: number, trie: Trie | undefined): MapInfo {
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
        // Only keys that are looked up are kept (edit.ts refuses duplicates of those only): fewer objects.
        if (childTrie || this.wanted.has(key)) {
          if (find(info, key)) info.bad = true;
          entry = { key, type: V.Null, child: undefined, items: undefined, plainStart: 0, plainEnd: 0 };
          info.entries.push(entry);
        }
      }
      while (p < lineEnd && src.charCodeAt(p) === SP) p++;
      if (p >= lineEnd || src.charCodeAt(p) === HASH) {
        // A nested block node on the following lines (or null).
        this.consumeLine();
        this.nestedBlock(col, true, childTrie, entry);
      } else {
        this.inlineValue(p, lineEnd, col, entry, true);
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

  /** After `key:` or `-` with nothing else on the line: a block node on the next lines at a deeper indent, or null. */
  private nestedBlock(col: number, inMap: boolean, trie: Trie | undefined, entry: Entry | undefined): void {
    if (!this.nextContent()) return;
    const ind = this.indent;
    const src = this.src;
    const first = this.pos + ind;
    const isDash = src.charCodeAt(first) === DASH && (first + 1 >= this.lineEnd || src.charCodeAt(first + 1) === SP);
    if (ind > col || (inMap && ind === col && isDash)) {
      if (isDash) {
        const items = this.parseSeq(ind, trie?.seqItem);
        if (entry) {
          entry.type = V.Seq;
          entry.items = items;
        }
      } else {
        const child = this.parseMap(ind, first, trie);
        if (entry) {
          entry.type = V.Map;
          entry.child = trie?.map ? child : undefined;
        }
      }
    }
  }

  /** A block sequence whose dashes are at column `col` (the current line is its first entry). */
  private parseSeq(col: number, itemTrie: Trie | undefined): (MapInfo | undefined)[] | undefined {
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
        this.nestedBlock(col, false, undefined, undefined);
      } else if (this.isKeyLine(p, lineEnd)) {
        item = this.parseMap(p - this.pos, p, itemTrie);
      } else {
        if (src.charCodeAt(p) === DASH && (p + 1 >= lineEnd || src.charCodeAt(p + 1) === SP)) throw BAIL; // `- - x`
        // A scalar or a flow sequence is certainly no object (`items: [80, 443]`); a flow mapping may be one.
        if (itemTrie && src.charCodeAt(p) !== 123 /* { */) item = NOT_A_MAP;
        this.inlineValue(p, lineEnd, col + 1, undefined, false);
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

  /** Whether the text at `p` is a mapping key (`key: ` or `"key": `), without consuming anything. */
  private isKeyLine(p: number, lineEnd: number): boolean {
    const src = this.src;
    const c0 = src.charCodeAt(p);
    let q = p;
    if (c0 === DQ || c0 === SQ) {
      q = c0 === DQ ? this.doubleQuoted(p, lineEnd) : this.singleQuoted(p, lineEnd);
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
   * A value that starts on the current line at `p` (after `key: ` or `- `): a scalar, a one-line flow collection
   * or a block scalar header (whose content lines are consumed here). `parentCol` is the column a block scalar's
   * content must be indented past.
   */
  private inlineValue(p: number, lineEnd: number, parentCol: number, entry: Entry | undefined, inMap: boolean): void {
    const src = this.src;
    const c = src.charCodeAt(p);
    let q: number;
    if (c === DQ) q = this.doubleQuoted(p, lineEnd);
    else if (c === SQ) q = this.singleQuoted(p, lineEnd);
    else if (c === 91 /* [ */ || c === 123 /* { */) {
      q = this.flow(p, lineEnd);
      if (entry) {
        entry.type = c === 91 ? V.FlowSeq : V.Other;
        entry.plainStart = p;
        entry.plainEnd = q;
      }
    } else if (c === 124 /* | */ || c === 62 /* > */) {
      this.blockScalar(p, lineEnd, parentCol);
      if (entry) entry.type = V.Other;
      return;
    } else {
      // Plain scalar on one line: no `: ` or trailing `:` before a comment (` #`), no tab.
      if (c < 128 && NOT_PLAIN_FIRST[c]) throw BAIL;
      if (c === DASH && (p + 1 >= lineEnd || src.charCodeAt(p + 1) === SP)) throw BAIL;
      const hash = this.next(NEXT_HASH, p);
      const stop = hash < lineEnd ? hash : lineEnd;
      if (this.next(NEXT_COLON_SP, p) < stop || this.next(NEXT_TAB, p) < lineEnd) throw BAIL;
      let contentEnd = stop;
      while (contentEnd > p && src.charCodeAt(contentEnd - 1) === SP) contentEnd--;
      if (src.charCodeAt(contentEnd - 1) === COLON) throw BAIL;
      if (entry) {
        entry.type = V.Scalar;
        entry.plainStart = p;
        entry.plainEnd = contentEnd;
      }
      this.consumeLine();
      // Long strings folded over several lines (go-yaml writes them): a mapping value only, without a comment.
      if (inMap && hash >= lineEnd && this.plainContinuation(parentCol) && entry) entry.type = V.Other;
      return;
    }
    if (entry && entry.type === V.Null) entry.type = V.Other; // quoted scalars: not a plain kind/apiVersion
    this.trailer(q, lineEnd);
    this.consumeLine();
  }

  /**
   * Continuation lines of a plain scalar whose key is at column `col`: lines indented past it (blank lines may
   * come between). Refused: comment lines among or right after them, lines that start like another node or
   * hold `: `, ` #`, a tab or a final `:`. Returns whether there were any (they are consumed).
   */
  private plainContinuation(col: number): boolean {
    const src = this.src;
    let p = this.pos;
    let any = false;
    while (p < this.end) {
      let e = src.indexOf('\n', p);
      if (e < 0 || e > this.end) e = this.end;
      let i = p;
      while (i < e && src.charCodeAt(i) === SP) i++;
      if (i < e) {
        if (i - p <= col) break;
        const c = src.charCodeAt(i);
        if (c === HASH || c === TAB || c === DASH || (c < 128 && NOT_PLAIN_FIRST[c])) throw BAIL;
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
    if (!DOUBLE_QUOTED.test(this.src) || DOUBLE_QUOTED.lastIndex > lineEnd) throw BAIL; // multi-line: not for us
    return DOUBLE_QUOTED.lastIndex;
  }

  private singleQuoted(p: number, lineEnd: number): number {
    SINGLE_QUOTED.lastIndex = p;
    if (!SINGLE_QUOTED.test(this.src) || SINGLE_QUOTED.lastIndex > lineEnd) throw BAIL;
    return SINGLE_QUOTED.lastIndex;
  }

  /** A flow collection that closes on this line, in a conservative subset; returns the offset after it. */
  private flow(p: number, lineEnd: number): number {
    QUOTED_FLOW_SEQUENCE.lastIndex = p;
    if (QUOTED_FLOW_SEQUENCE.test(this.src) && QUOTED_FLOW_SEQUENCE.lastIndex <= lineEnd)
      return QUOTED_FLOW_SEQUENCE.lastIndex;
    const src = this.src;
    const open = src.charCodeAt(p);
    const close = open === 91 ? 93 : 125;
    let q = this.skipSpaces(p + 1, lineEnd);
    if (src.charCodeAt(q) === close && q < lineEnd) return q + 1;
    for (;;) {
      if (open === 123) {
        // key: a plain word or a quoted scalar, then `: ` and a value
        const c = src.charCodeAt(q);
        if (c === DQ) q = this.doubleQuoted(q, lineEnd);
        else if (c === SQ) q = this.singleQuoted(q, lineEnd);
        else {
          if (q >= lineEnd || c >= 128 || !KEY_FIRST[c]) throw BAIL;
          q++;
          while (q < lineEnd && src.charCodeAt(q) < 128 && KEY_CHAR[src.charCodeAt(q)]) q++;
        }
        if (q >= lineEnd || src.charCodeAt(q) !== COLON || src.charCodeAt(q + 1) !== SP) throw BAIL;
        q = this.skipSpaces(q + 1, lineEnd);
      }
      q = this.flowValue(q, lineEnd);
      q = this.skipSpaces(q, lineEnd);
      if (q >= lineEnd) throw BAIL;
      const c = src.charCodeAt(q);
      if (c === close) return q + 1;
      if (c !== 44 /* , */) throw BAIL;
      q = this.skipSpaces(q + 1, lineEnd);
      if (q >= lineEnd || src.charCodeAt(q) === close) throw BAIL; // trailing comma: valid, but keep it simple
    }
  }

  private flowValue(q: number, lineEnd: number): number {
    const src = this.src;
    if (q >= lineEnd) throw BAIL;
    const c = src.charCodeAt(q);
    if (c === DQ) return this.doubleQuoted(q, lineEnd);
    if (c === SQ) return this.singleQuoted(q, lineEnd);
    if (c === 91 || c === 123) return this.flow(q, lineEnd);
    if (c < 128 && NOT_PLAIN_FIRST[c]) throw BAIL;
    if (c === DASH && (q + 1 >= lineEnd || src.charCodeAt(q + 1) === SP)) throw BAIL;
    let r = q;
    while (r < lineEnd) {
      const ch = src.charCodeAt(r);
      if (ch < 128 && FLOW_INDICATOR[ch]) break;
      if (ch === TAB || ch === COLON || ch === HASH) throw BAIL;
      r++;
    }
    return r;
  }

  private skipSpaces(q: number, lineEnd: number): number {
    while (q < lineEnd && this.src.charCodeAt(q) === SP) q++;
    return q;
  }

  /**
   * A `|`, `|-`, `>` or `>-` block scalar whose header is at `p`; consumes its content lines. Refused: explicit
   * indentation, keep chomping, empty scalars, more-indented leading blank lines, lines indented between the
   * parent and the content.
   */
  private blockScalar(p: number, lineEnd: number, parentCol: number): void {
    const src = this.src;
    let q = p + 1;
    if (q < lineEnd && src.charCodeAt(q) === DASH) q++;
    this.trailer(q, lineEnd);
    this.consumeLine();
    // Leading blank lines, then the first content line fixes the indentation m.
    let start = this.pos;
    let maxBlank = 0;
    let m = -1;
    while (start < this.end) {
      let e = src.indexOf('\n', start);
      if (e < 0 || e > this.end) e = this.end;
      let i = start;
      while (i < e && src.charCodeAt(i) === SP) i++;
      if (i < e) {
        m = i - start;
        break;
      }
      if (e - start > maxBlank) maxBlank = e - start;
      start = e + 1;
    }
    if (m <= parentCol || maxBlank > m || src.charCodeAt(start + m) === TAB) throw BAIL;
    // Content: every line that is blank (spaces only) or indented at least m.
    let line = start;
    let lastContent = -1;
    while (line < this.end) {
      let e = src.indexOf('\n', line);
      if (e < 0 || e > this.end) e = this.end;
      let i = line;
      const limit = line + m;
      while (i < e && i < limit && src.charCodeAt(i) === SP) i++;
      if (i === limit && e > limit) {
        lastContent = e;
      } else if (i < e) {
        // Less indented than the content and not blank: the scalar has ended.
        if (i - line > parentCol || src.charCodeAt(i) === TAB) throw BAIL;
        break;
      }
      line = e + 1;
    }
    this.last = lastContent;
    this.pos = lastContent + 1;
  }
}

function find(map: MapInfo, key: string): Entry | undefined {
  const entries = map.entries;
  for (let i = 0; i < entries.length; i++) if ((entries[i] as Entry).key === key) return entries[i];
  return undefined;
}

/** The lines edit.ts writes into a block mapping at `column`: the maps in `rest`, then the entries. */
export function blockText(rest: readonly string[], entries: Entries, column: number): string {
  let out = '';
  rest.forEach((key, depth) => {
    out += `${' '.repeat(column + 2 * depth)}${keyText(key)}:\n`;
  });
  const pad = ' '.repeat(column + 2 * rest.length);
  for (const [k, v] of entries) out += `${pad}${keyText(k)}: ${quote(v)}\n`;
  return out;
}

/**
 * Stream-level features that send the whole stream to the full path: a BOM, or CR (CRLF line ends are kept in
 * the lines we insert; Helm never writes either, so this costs nothing in practice). The `yaml` library treats
 * other control characters as ordinary content, and so does the scanner. `...` and `%` lines at column 0 are not
 * keys: the scanner refuses their slice, which is then split further (`splitAtEndMarkers`), so they need no
 * search of the whole stream.
 */
function streamNeedsFullPath(input: string): boolean {
  return input.charCodeAt(0) === 0xfeff || input.includes('\r');
}

/**
 * Splits a stream into slices at `---` lines (column 0, then a space, tab, line break or the end): returns the
 * slice starts plus the input length, or undefined when the stream needs the full path. Comment, blank and
 * directive lines before the first marker belong to the first document (as the `yaml` library counts documents).
 * A slice holds one document unless it holds `...` end markers (see `splitAtEndMarkers`).
 */
export function splitDocuments(input: string): number[] | undefined {
  if (streamNeedsFullPath(input)) return undefined;
  const starts: number[] = [];
  let p = input.startsWith('---') ? 0 : input.indexOf('\n---');
  if (p > 0) p++;
  while (p >= 0) {
    const c = input.charCodeAt(p + 3);
    if (p + 3 >= input.length || c === NL || c === SP || c === TAB) starts.push(p);
    const next = input.indexOf('\n---', p + 3);
    p = next < 0 ? -1 : next + 1;
  }
  // Content before the first marker makes a document of its own; comments there belong to the first document.
  if (starts.length === 0 || hasContent(input, 0, starts[0] as number)) starts.unshift(0);
  starts[0] = 0;
  starts.push(input.length);
  return starts;
}

/**
 * Whether `src[start, end)` holds more than blank, comment and directive lines. Only for text before a document's
 * `---` (the start of the stream, or after `...`), where a `%` line at column 0 is a directive.
 */
export function hasContent(src: string, start: number, end: number): boolean {
  let p = start;
  while (p < end) {
    let e = src.indexOf('\n', p);
    if (e < 0 || e > end) e = end;
    let i = p;
    while (i < e && (src.charCodeAt(i) === SP || src.charCodeAt(i) === TAB)) i++;
    if (i < e && src.charCodeAt(i) !== HASH && !(i === p && src.charCodeAt(i) === PERCENT)) return true;
    p = e + 1;
  }
  return false;
}

const END_MARKER = /^\.\.\.(?=[ \t\n]|$)/gm;
const TAG_DIRECTIVE = /^%TAG/m;

/**
 * The documents of `input[start, end)`, a slice between `---` lines that the scanner refused: a new document
 * starts after each `...` end-marker line at column 0. Returns the document starts plus `end`; the last document
 * may be blank, comment and directive lines only (they belong to the document after it: see render.ts). Undefined
 * when the slice holds a `%TAG` directive: the `yaml` library carries tag handles over to the documents after it
 * (YAML 1.1), so the stream must be parsed as a whole.
 */
export function splitAtEndMarkers(input: string, start: number, end: number): number[] | undefined {
  const slice = input.slice(start, end);
  if (TAG_DIRECTIVE.test(slice)) return undefined;
  const starts = [start];
  END_MARKER.lastIndex = 0;
  for (let m = END_MARKER.exec(slice); m; m = END_MARKER.exec(slice)) {
    const nl = slice.indexOf('\n', m.index);
    const next = nl < 0 ? end : start + nl + 1;
    if (next >= end) break;
    starts.push(next);
    END_MARKER.lastIndex = next - start;
  }
  starts.push(end);
  return starts;
}

export interface ScanResult {
  readonly objects: number;
  readonly insertions: Insertion[];
}

/** Plans the insertions for the document `input[start, end)`, or undefined when it must take the full path. */
export function scanDocument(
  input: string,
  start: number,
  end: number,
  meta: InjectionMetadata,
  scanner = new DocScanner(input),
): ScanResult | undefined {
  const insertions: Insertion[] = [];
  const objects = scanner.scan(start, end, meta, insertions);
  if (objects === undefined) return undefined;
  // edit.ts order: by offset, then the deeper mapping first, then plan order (sort is stable).
  if (insertions.length > 1) insertions.sort((a, b) => a.pos - b.pos || b.col - a.col);
  return { objects, insertions };
}

export function createScanner(input: string): DocScanner {
  return new DocScanner(input);
}

/** The fast path only writes keys it can compare by their text: label/annotation keys, which contain a `/`. */
export function fastPathApplies(meta: InjectionMetadata): boolean {
  const keys = [...meta.labels, ...meta.annotations].map(([k]) => k);
  return keys.every((k) => k.includes('/') && /^[A-Za-z0-9][-A-Za-z0-9_./]*$/.test(k));
}
