/**
 * Streaming text readers for event exports: decoding (UTF-8, UTF-16 with or without BOM), lines with a bound
 * on their length, a splitter of top-level JSON values (arrays, concatenated or pretty-printed objects), and a
 * splitter of `<Event>` elements. None of them holds more than one record (plus one chunk) in memory, none
 * trusts a length written in the input, and none throws on odd input: problems come back as messages.
 */
import { StringDecoder } from 'node:string_decoder';
import { checkTime } from '../budget.js';
import type { EvidenceInput } from '../input.js';
import { textEncoding } from '../input.js';

/** Largest single record (a JSON line, array element or `<Event>` element) read; longer ones are skipped with a note. */
export const MAX_RECORD_CHARS = 64 * 1024 * 1024;
/** Longest tag, comment or CDATA section waited for across chunks; a longer one is read as text. */
const MAX_MARKUP_CHARS = 1024 * 1024;
/** Largest top-level JSON value outside an array (a whole Elasticsearch search response is one). */
export const MAX_TOP_VALUE_CHARS = 256 * 1024 * 1024;

/** The text of an input chunk by chunk: BOM removed, UTF-16 LE/BE decoded (with or without a BOM: {@link textEncoding}). */
export async function* textChunks(input: EvidenceInput): AsyncGenerator<string> {
  let decoder: { write(b: Buffer): string; end(): string } | null = null;
  let swap = false;
  let odd: Buffer | null = null;
  for await (const raw of input.chunks()) {
    checkTime();
    let b = Buffer.isBuffer(raw) ? raw : Buffer.from(raw as Uint8Array);
    if (!decoder) {
      const { encoding, bom } = textEncoding(b);
      decoder = new StringDecoder(encoding === 'utf8' ? 'utf8' : 'utf16le');
      swap = encoding === 'utf16be';
      b = b.subarray(bom);
    }
    if (swap) {
      // big-endian: swap byte pairs (keeping an odd trailing byte for the next chunk)
      if (odd) {
        b = Buffer.concat([odd, b]);
        odd = null;
      }
      if (b.length & 1) {
        odd = b.subarray(b.length - 1);
        b = b.subarray(0, b.length - 1);
      }
      b = Buffer.from(b).swap16();
    }
    const s = decoder.write(b);
    if (s) yield s;
  }
  if (decoder) {
    const s = decoder.end();
    if (s) yield s;
  }
}

/** A problem met while splitting; `line` is 1-based. */
export interface SplitIssue {
  line: number;
  message: string;
  /**
   * `record`: a record was lost (a value or element that never ended where the next one began, or at the end);
   * `junk`: a line that is not part of any record was skipped; absent for the rest (an over-long record).
   */
  kind?: 'record' | 'junk';
  /** `junk`: the start of the line (at most 60 characters). */
  text?: string;
}

/** One line of text (without its end of line) and its 1-based number. */
export interface TextLine {
  text: string;
  line: number;
}

/**
 * Lines of a text stream. A line longer than `max` characters is not returned: `onIssue` hears about it and
 * reading goes on at the next line.
 */
export async function* lines(chunks: AsyncIterable<string>, onIssue: (i: SplitIssue) => void, max = MAX_RECORD_CHARS): AsyncGenerator<TextLine> {
  let parts: string[] = [];
  let partLen = 0;
  let skipping = false;
  let n = 1;
  for await (const chunk of chunks) {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf('\n', start);
      if (nl < 0) {
        if (!skipping) {
          parts.push(chunk.slice(start));
          partLen += chunk.length - start;
          if (partLen > max) {
            onIssue({ line: n, message: `longer than ${max} characters; skipped` });
            skipping = true;
            parts = [];
            partLen = 0;
          }
        }
        break;
      }
      if (!skipping) {
        parts.push(chunk.slice(start, nl));
        partLen += nl - start;
        if (partLen > max) onIssue({ line: n, message: `longer than ${max} characters; skipped` });
        else yield { text: stripCr(parts.join('')), line: n };
      }
      parts = [];
      partLen = 0;
      skipping = false;
      n++;
      start = nl + 1;
    }
  }
  if (!skipping && partLen > 0) yield { text: stripCr(parts.join('')), line: n };
}

function stripCr(s: string): string {
  return s.endsWith('\r') ? s.slice(0, -1) : s;
}

const STR_STOP = /["\\\n]/g;

/** One top-level JSON value found by {@link jsonValues}: its text, where it starts, and how to name it. */
export interface JsonValueText {
  text: string;
  /** 1-based line of its first character. */
  line: number;
  /** 1-based index when the value is an element of a top-level array, else null. */
  element: number | null;
  /** The number of an `evtx_dump` `Record N` header line just before it, else null. */
  record: number | null;
}

/**
 * Top-level JSON values of a text stream, as text, without parsing them: the elements of a top-level array,
 * or concatenated (possibly pretty-printed) values, with `Record N` header lines (`evtx_dump -o json`) and other
 * non-JSON lines between values skipped. A value that never closes (a truncated file) and junk between values
 * are reported through `onIssue`; values longer than `max` are skipped with a note.
 *
 * Resynchronization: a value cut short (a truncated line of JSON Lines, a record of `evtx_dump` cut off) would
 * otherwise swallow every value after it, as its open braces never balance. The splitter follows just enough of
 * JSON's grammar to see that a line cannot continue the open value: a raw line break inside a string (JSON
 * strings cannot hold one), or a line whose first character other than white space cannot stand where it
 * stands (an object `{`, a `Record N` header or other text after a complete member, where only `,` or a closer
 * may come). There the open value is given up (one issue flagged `record`) and the line is read as the start of
 * what follows. The look-ahead is one character, so nothing is held beyond the current value.
 */
export async function* jsonValues(chunks: AsyncIterable<string>, onIssue: (i: SplitIssue) => void, max = MAX_RECORD_CHARS, maxTop = MAX_TOP_VALUE_CHARS): AsyncGenerator<JsonValueText> {
  let buf = '';
  let pos = 0; // next character to look at in buf
  let line = 1; // line of buf[pos]
  // inside a value
  let start = -1; // index in buf of the current value's first character (0: it began in an earlier chunk); -1 = between values
  // the current value's text from earlier chunks, kept as pieces (not re-concatenated per chunk: linear in the value)
  let parts: string[] = [];
  let partsLen = 0;
  let startLine = 0;
  let depth = 0;
  let inStr = false;
  let esc = false;
  let skipping = false; // the current value is over-long: scan it to its end without keeping it
  // between values
  let inArray = false; // inside a top-level array
  let element = 0;
  let record: number | null = null;
  let junk: string | null = null; // text of a non-JSON line being skipped (null = not in one)
  let junkLine = 0;
  // resynchronization (see above): the last character outside strings that is not white space, whether each open
  // container is an array (as far as KIND_DEPTH; deeper ones are not judged), and whether pos is at a line start
  let prev = 0;
  const kinds = new Uint8Array(KIND_DEPTH);
  let lineStart = false;
  const giveUp = (at: string): void => {
    onIssue({ line: startLine, message: `value does not end before ${at} (truncated?); skipped`, kind: 'record' });
    record = null;
    skipping = false;
    start = -1;
    parts = [];
    partsLen = 0;
    inStr = false;
    esc = false;
    depth = 0;
    lineStart = false;
  };

  const endJunk = (): void => {
    const text = junk!.trim();
    const rec = /^Record (\d+)$/.exec(text);
    if (rec) record = Number(rec[1]);
    else if (text && !/^(true|false|null|-?\d[\d.eE+-]*)$/.test(text)) onIssue({ line: junkLine, message: `not JSON: ${JSON.stringify(text.slice(0, 60))}; line skipped`, kind: 'junk', text: text.slice(0, 60) });
    junk = null;
  };

  for await (const chunk of chunks) {
    // the whole previous chunk has been scanned (pos === buf.length)
    if (start >= 0 && !skipping) {
      parts.push(buf.slice(start));
      partsLen += buf.length - start;
      start = 0;
    }
    buf = chunk;
    pos = 0;
    const n = buf.length;
    while (pos < n) {
      const c = buf.charCodeAt(pos);
      if (start >= 0) {
        // inside a value
        if (lineStart && c !== 0x20 && c !== 0x09 && c !== 0x0d) {
          // the first character of a line that is not white space: can it continue the open value?
          lineStart = false;
          if (!continues(c, prev, depth >= 1 && depth <= KIND_DEPTH ? kinds[depth - 1]! : 2)) {
            giveUp(`line ${line}`);
            continue; // this line is read as what comes between values
          }
        }
        if (inStr && !esc && c !== 0x22 && c !== 0x5c && c !== 0x0a) {
          // fast path: jump to the next quote or backslash
          STR_STOP.lastIndex = pos;
          const m = STR_STOP.exec(buf);
          const to = m ? m.index : n;
          if (!skipping && partsLen + to - start > (inArray ? max : maxTop)) skipping = true;
          pos = to;
          continue;
        }
        pos++;
        let closed = false;
        if (inStr) {
          if (c === 0x0a) {
            // a line break cannot be inside a JSON string: the value was cut here; the next line is read afresh
            line++;
            giveUp(`line ${line}`);
            continue;
          }
          if (esc) esc = false;
          else if (c === 0x5c) esc = true;
          else if (c === 0x22) {
            inStr = false;
            prev = c;
            closed = depth === 0;
          }
        } else if (c === 0x22) inStr = true;
        else if (c === 0x7b || c === 0x5b) {
          if (depth < KIND_DEPTH) kinds[depth] = c === 0x5b ? 1 : 0;
          depth++;
          prev = c;
        } else if (c === 0x7d || c === 0x5d) {
          closed = --depth === 0;
          prev = c;
        } else if (c === 0x0a) {
          line++;
          lineStart = true;
        } else if (c !== 0x20 && c !== 0x09 && c !== 0x0d) prev = c;
        if (closed) {
          if (skipping) onIssue({ line: startLine, message: `value longer than ${inArray ? max : maxTop} characters; skipped` });
          else yield { text: parts.length ? parts.join('') + buf.slice(start, pos) : buf.slice(start, pos), line: startLine, element: inArray ? element : null, record };
          record = null;
          skipping = false;
          start = -1;
          parts = [];
          partsLen = 0;
        } else if (!skipping && partsLen + pos - start > (inArray ? max : maxTop)) skipping = true;
        continue;
      }
      if (junk !== null) {
        // skipping a non-JSON line
        const nl = buf.indexOf('\n', pos);
        const end = nl < 0 ? n : nl;
        if (junk.length < 256) junk += buf.slice(pos, Math.min(end, pos + 256));
        pos = end;
        if (nl >= 0) endJunk();
        continue;
      }
      // between values
      if (c === 0x0a) line++;
      if (c === 0x0a || c === 0x20 || c === 0x09 || c === 0x0d || c === 0x2c) {
        pos++;
        continue;
      }
      if (c === 0x5b && !inArray) {
        inArray = true; // `[` at the top: the values are its elements
        pos++;
        continue;
      }
      if (c === 0x5d && inArray) {
        inArray = false;
        pos++;
        continue;
      }
      if (c === 0x7b || c === 0x5b || c === 0x22) {
        start = pos;
        parts = [];
        partsLen = 0;
        startLine = line;
        depth = c === 0x22 ? 0 : 1;
        kinds[0] = c === 0x5b ? 1 : 0;
        prev = c;
        lineStart = false;
        inStr = c === 0x22;
        esc = false;
        if (inArray) element++;
        pos++;
        continue;
      }
      // anything else between values: a `Record N` header, a bare scalar, or junk; skipped to the end of the line
      junk = '';
      junkLine = line;
    }
    if (skipping) {
      parts = [];
      partsLen = 0;
      start = 0;
    }
  }
  if (junk !== null) endJunk();
  if (start >= 0) onIssue({ line: startLine, message: `input ends inside a value that started here (truncated?); ${skipping ? 'it was over-long and ' : ''}not read`, kind: 'record' });
  else if (inArray) onIssue({ line, message: 'input ends inside the top-level array (truncated?)' });
}

/** Open containers of a JSON value whose kind (object or array) is remembered for resynchronization. */
const KIND_DEPTH = 1024;

/**
 * Whether a line of a JSON value may start with character `c`, after `prev` (the last character outside strings
 * that is not white space) inside a container of kind `kind` (1 array, 0 object, 2 not known). Lenient where JSON
 * printers differ (closers, commas and strings wherever they may stand); strict for what starts a value.
 */
function continues(c: number, prev: number, kind: number): boolean {
  if (c === 0x0a) return true; // a blank line: judged by what follows
  if (c === 0x7d || c === 0x5d || c === 0x2c) return true; // } ] ,
  if (kind === 2) return true;
  // a value may start after `:`, `[`, or `,` in an array; a string also as a key after `{` or `,` in an object
  const valueHere = prev === 0x3a || prev === 0x5b || (prev === 0x2c && kind === 1);
  if (c === 0x22) return valueHere || prev === 0x7b || (prev === 0x2c && kind === 0);
  if (c === 0x7b || c === 0x5b || c === 0x2d || (c >= 0x30 && c <= 0x39) || c === 0x74 || c === 0x66 || c === 0x6e) return valueHere;
  return false; // any other character (a letter of `Record N` or of a log line, markup) cannot stand in JSON outside strings
}

/** The namespace of Windows event XML: an `<Event>` tag carrying it opens a record, never a part of one. */
export const EVENT_NS = 'schemas.microsoft.com/win/2004/08/events/event';

/** One `<Event>` element found by {@link xmlEvents}. */
export interface XmlElementText {
  text: string;
  line: number;
  /** 1-based index among the `<Event>` elements of the input. */
  element: number;
}

/**
 * The `<Event>…</Event>` elements of an XML text stream (an `<Events>` document, or events concatenated
 * without a root as `wevtutil qe /f:xml` prints them). Text between elements (declarations, `<Events>`, tool
 * banners) is ignored; comments, CDATA sections and processing instructions are stepped over, so a
 * `</Event>` inside them does not end an element. An element that never closes is reported; when another
 * record's opening tag (the same tag text, or one in the event namespace) comes before its end, it is given up
 * there (one issue) and reading goes on with that record, so one cut record never swallows the rest.
 *
 * Linear in the input: every search goes forward from the current position and remembers where it stopped
 * (see {@link Finder}), so a run of `<` without `>`, of unterminated comments, or one long line is not searched
 * again for each `<` in it.
 */
export async function* xmlEvents(chunks: AsyncIterable<string>, onIssue: (i: SplitIssue) => void, max = MAX_RECORD_CHARS): AsyncGenerator<XmlElementText> {
  const f = new Finder();
  let pos = 0;
  let line = 1; // line of f.buf[pos]
  let start = -1; // index in f.buf of the current <Event (0: it began in an earlier chunk); -1 = between elements
  // the current element's text already scanned in earlier chunks, as pieces (linear in the element's length)
  let parts: string[] = [];
  let partsLen = 0;
  let startLine = 0;
  let element = 0;
  let depth = 0;
  let skipping = false;
  let openTag = ''; // the opening tag of the current element: the same tag inside it starts the next record
  const advance = (to: number): void => {
    for (let i = f.find('\n', pos); i >= 0 && i < to; i = f.find('\n', i + 1)) line++;
    pos = to;
  };
  for await (const chunk of chunks) {
    if (start >= 0 && !skipping) {
      parts.push(f.buf.slice(start, pos));
      partsLen += pos - start;
    }
    f.append(pos, chunk); // the unscanned rest (a tag or section waiting for its end) and the new chunk
    pos = 0;
    if (start >= 0) start = 0;
    const buf = f.buf;
    for (;;) {
      const lt = f.find('<', pos);
      if (lt < 0) {
        advance(buf.length);
        break;
      }
      advance(lt);
      const sp = skipSpecial(f, pos);
      if (sp === -1) {
        if (buf.length - pos <= MAX_MARKUP_CHARS) break; // the section ends in a later chunk
        advance(pos + 1); // an unterminated comment or section: read on as if the `<` were text
        continue;
      }
      if (sp > pos) {
        advance(sp);
        continue;
      }
      // the tag ends at the first `>` before the next `<`
      const lt2 = f.find('<', pos + 1);
      const gt = f.find('>', pos + 1);
      if (lt2 >= 0 && (gt < 0 || lt2 < gt)) {
        advance(pos + 1); // a `<` that starts no tag
        continue;
      }
      if (gt < 0) {
        if (buf.length - pos <= MAX_MARKUP_CHARS) break; // the tag ends in a later chunk
        advance(pos + 1); // a `<` that starts no tag
        continue;
      }
      const tag = buf.slice(pos, gt + 1);
      const isOpen = /^<Event[\s>/]/.test(tag);
      const isClose = /^<\/Event\s*>$/.test(tag);
      const selfClosed = tag.endsWith('/>');
      if (start < 0) {
        if (isOpen) {
          element++;
          start = pos;
          parts = [];
          partsLen = 0;
          startLine = line;
          depth = 1;
          skipping = false;
          openTag = tag;
          if (selfClosed) {
            advance(gt + 1);
            yield { text: tag, line: startLine, element };
            start = -1;
            continue;
          }
        }
        advance(gt + 1);
        continue;
      }
      if (isOpen && !selfClosed && (tag === openTag || tag.includes(EVENT_NS))) {
        // the opening tag of a record inside a record: the open one never ended (cut short); it is given up and
        // this tag read again as the start of the next
        onIssue({ line: startLine, message: `element ${element} does not end before the next <Event> on line ${line} (truncated?); skipped`, kind: 'record' });
        start = -1;
        skipping = false;
        parts = [];
        partsLen = 0;
        continue;
      }
      advance(gt + 1);
      if (isOpen && !selfClosed) depth++;
      else if (isClose && --depth === 0) {
        if (skipping) onIssue({ line: startLine, message: `element ${element} is longer than ${max} characters; skipped` });
        else yield { text: parts.length ? parts.join('') + buf.slice(start, pos) : buf.slice(start, pos), line: startLine, element };
        start = -1;
        skipping = false;
        parts = [];
        partsLen = 0;
        continue;
      }
      if (!skipping && partsLen + pos - start > max) {
        skipping = true;
        parts = [];
        partsLen = 0;
      }
    }
    if (skipping) {
      // what was scanned of the over-long element is dropped
      parts = [];
      partsLen = 0;
    }
  }
  if (start >= 0) onIssue({ line: startLine, message: `element ${element} is not closed (truncated?); not read`, kind: 'record' });
}

/**
 * A text buffer that is only cut at the front and appended to, with `indexOf` for callers whose positions only
 * move forward: for each needle it remembers where its last search started and what it found (or how far it
 * searched in vain), so no stretch of text is searched twice for the same needle, across chunks too.
 */
class Finder {
  buf = '';
  /** Offset in the whole text of `buf[0]`. */
  private base = 0;
  /** Per needle, in whole-text offsets: a search from `from` found `at` (-1: nothing before `to`). */
  private readonly memo = new Map<string, { from: number; at: number; to: number }>();

  /** Drops `buf` before `cut` and appends `chunk`. */
  append(cut: number, chunk: string): void {
    this.buf = this.buf.slice(cut) + chunk;
    this.base += cut;
  }

  /** `buf.indexOf(needle, from)`. */
  find(needle: string, from: number): number {
    const q = this.base + from;
    const m = this.memo.get(needle);
    let i = from;
    if (m && m.from <= q) {
      if (m.at >= q) return m.at - this.base; // nothing between m.from and m.at
      if (m.at < 0) i = Math.max(from, m.to - this.base - needle.length + 1); // nothing before m.to
    }
    const at = this.buf.indexOf(needle, i);
    this.memo.set(needle, { from: q, at: at < 0 ? -1 : this.base + at, to: this.base + this.buf.length });
    return at;
  }
}

/**
 * At a `<`: the index just past a comment, CDATA section, processing instruction or declaration starting here;
 * `pos` itself for an ordinary tag; -1 when the section does not end within the buffer yet.
 */
function skipSpecial(f: Finder, pos: number): number {
  const s = f.buf;
  if (s.length - pos < 9 && (s.startsWith('<!', pos) || s.startsWith('<?', pos)) && !/^<!DOCTYPE|^<\?/i.test(s.slice(pos))) return -1;
  const section = (open: string, close: string): number | null => {
    if (!s.startsWith(open, pos)) return null;
    const e = f.find(close, pos + open.length);
    return e < 0 ? -1 : e + close.length;
  };
  return section('<!--', '-->') ?? section('<![CDATA[', ']]>') ?? section('<?', '?>') ?? section('<!', '>') ?? pos;
}
