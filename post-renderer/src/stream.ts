/**
 * Stream splitting: where the documents of Helm's stream begin, by the YAML rules the scanner relies on (`---`
 * lines, `...` end markers, directives), and the stream-level features that send a whole stream to the full path.
 */

const NL = 10;
const SP = 32;
const TAB = 9;
const HASH = 35;
const PERCENT = 37;

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
