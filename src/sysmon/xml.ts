/**
 * A small XML element tree with source offsets, for Sysmon configuration files. fast-xml-parser's validator
 * checks well-formedness first (its errors carry line and column); this reader then keeps what the validator
 * does not give: where each element starts and ends in the text, so `sysmon config --merge` can replace the
 * WmiEvent rules and leave every other byte as it was, and the audit can cite rule lines.
 *
 * No DOCTYPE (so no entity definitions and no expansion); the five predefined entities and numeric character
 * references are decoded in text and attribute values.
 */
import { XMLValidator } from 'fast-xml-parser';

export interface XmlElement {
  name: string;
  attrs: Record<string, string>;
  children: XmlElement[];
  /** Text directly inside this element (entities decoded, CDATA included), concatenated. */
  text: string;
  /** Offset of `<` of the start tag. */
  start: number;
  /** Offset just past the end tag (or past `/>`). */
  end: number;
  /** 1-based line and column of the start tag. */
  line: number;
  column: number;
}

/** A configuration that is not well-formed XML, or not one that can be read. Line and column are 1-based. */
export class SysmonConfigError extends Error {
  constructor(
    message: string,
    readonly line: number | null = null,
    readonly column: number | null = null,
  ) {
    super(line !== null ? `line ${line}, column ${column ?? 1}: ${message}` : message);
    this.name = 'SysmonConfigError';
  }
}

/** Line and column (1-based) of every offset, from a table of line starts. */
export class LineIndex {
  private readonly starts: number[] = [0];
  constructor(text: string) {
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.starts.push(i + 1);
  }
  at(offset: number): { line: number; column: number } {
    let lo = 0;
    let hi = this.starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.starts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return { line: lo + 1, column: offset - this.starts[lo]! + 1 };
  }
}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

export function decodeEntities(s: string): string {
  if (!s.includes('&')) return s;
  return s.replace(/&(#x[0-9a-fA-F]{1,6}|#[0-9]{1,7}|[a-zA-Z]{2,4});/g, (m, e: string) => {
    if (e[0] === '#') {
      const cp = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : parseInt(e.slice(1), 10);
      return cp > 0 && cp <= 0x10ffff && !(cp >= 0xd800 && cp <= 0xdfff) ? String.fromCodePoint(cp) : m;
    }
    return ENTITIES[e] ?? m;
  });
}

/** Deepest element nesting read (a Sysmon configuration uses five or six levels). */
export const MAX_DEPTH = 64;

/** Largest configuration read (Sysmon's own limit is far below this). */
export const MAX_CONFIG_CHARS = 16 * 1024 * 1024;

/**
 * Parse `text` into its root element. Throws {@link SysmonConfigError} with line and column for anything that
 * is not well-formed, for a DOCTYPE, and for more than one root element.
 */
export function parseXml(text: string): XmlElement {
  if (text.length > MAX_CONFIG_CHARS) throw new SysmonConfigError(`the file is larger than ${MAX_CONFIG_CHARS} characters; not a Sysmon configuration`);
  const lines = new LineIndex(text);
  // a file that does not start with markup is not XML at all: say so, rather than "char 'h' is not expected"
  const first = /\S/.exec(text.replace(/^\uFEFF/, ''));
  if (!first) throw new SysmonConfigError('not XML: the file is empty or only blanks');
  if (first[0] !== '<') {
    const p = lines.at(first.index + (text.startsWith('\uFEFF') ? 1 : 0));
    throw new SysmonConfigError(`not XML: the text starts with '${text.slice(first.index, first.index + 24).split(/\r?\n/)[0]}', not with '<'`, p.line, p.column);
  }
  const v = XMLValidator.validate(text, { allowBooleanAttributes: false });
  if (v !== true) throw new SysmonConfigError(v.err.msg, v.err.line, v.err.col);

  const stack: XmlElement[] = [];
  let root: XmlElement | null = null;
  const n = text.length;
  let i = 0;
  const fail = (msg: string, at: number): never => {
    const p = lines.at(at);
    throw new SysmonConfigError(msg, p.line, p.column);
  };
  while (i < n) {
    const lt = text.indexOf('<', i);
    const textEnd = lt === -1 ? n : lt;
    if (textEnd > i && stack.length) stack[stack.length - 1]!.text += decodeEntities(text.slice(i, textEnd));
    if (lt === -1) break;
    if (text.startsWith('<!--', lt)) {
      const e = text.indexOf('-->', lt + 4);
      if (e === -1) fail('comment not closed', lt);
      i = e + 3;
    } else if (text.startsWith('<![CDATA[', lt)) {
      const e = text.indexOf(']]>', lt + 9);
      if (e === -1) fail('CDATA section not closed', lt);
      if (stack.length) stack[stack.length - 1]!.text += text.slice(lt + 9, e);
      i = e + 3;
    } else if (text.startsWith('<!', lt)) {
      fail('a DOCTYPE or other declaration is not allowed in a Sysmon configuration (entity definitions are not read)', lt);
    } else if (text.startsWith('<?', lt)) {
      const e = text.indexOf('?>', lt + 2);
      if (e === -1) fail('processing instruction not closed', lt);
      i = e + 2;
    } else if (text[lt + 1] === '/') {
      const gt = text.indexOf('>', lt);
      if (gt === -1) fail('end tag not closed', lt);
      const el = stack.pop();
      if (!el) fail('end tag without a start tag', lt);
      el!.end = gt + 1;
      i = gt + 1;
    } else {
      // start tag: name, attributes (quoted values may hold '>'), then '>' or '/>'
      let j = lt + 1;
      while (j < n && !/[\s/>]/.test(text[j]!)) j++;
      const name = text.slice(lt + 1, j);
      const attrs: Record<string, string> = Object.create(null) as Record<string, string>;
      for (;;) {
        while (j < n && /\s/.test(text[j]!)) j++;
        if (j >= n) fail('start tag not closed', lt);
        if (text[j] === '>' || text.startsWith('/>', j)) break;
        const a = j;
        while (j < n && !/[\s=/>]/.test(text[j]!)) j++;
        const key = text.slice(a, j);
        while (j < n && /\s/.test(text[j]!)) j++;
        if (text[j] !== '=') fail(`attribute ${key} has no value`, a);
        j++;
        while (j < n && /\s/.test(text[j]!)) j++;
        const q = text[j];
        if (q !== '"' && q !== "'") fail(`attribute ${key} value is not quoted`, j);
        const close = text.indexOf(q!, j + 1);
        if (close === -1) fail(`attribute ${key} value not closed`, j);
        attrs[key] = decodeEntities(text.slice(j + 1, close));
        j = close + 1;
      }
      const selfClosing = text.startsWith('/>', j);
      const p = lines.at(lt);
      const el: XmlElement = { name, attrs, children: [], text: '', start: lt, end: selfClosing ? j + 2 : -1, line: p.line, column: p.column };
      if (stack.length >= MAX_DEPTH) fail(`elements nested deeper than ${MAX_DEPTH} levels; a Sysmon configuration is a few levels deep`, lt);
      if (stack.length) stack[stack.length - 1]!.children.push(el);
      else if (root) fail(`a second root element <${name}>; a configuration has one root element`, lt);
      else root = el;
      if (!selfClosing) stack.push(el);
      i = selfClosing ? j + 2 : j + 1;
    }
  }
  if (stack.length) fail(`element <${stack[stack.length - 1]!.name}> is not closed`, stack[stack.length - 1]!.start);
  if (!root) throw new SysmonConfigError('no XML element in the file');
  return root;
}

/**
 * Text of a file as read from disk: UTF-8 (with or without BOM) or UTF-16 with a BOM. Anything else (a legacy
 * code page) is refused rather than changed silently when written back by `--merge`.
 */
export function decodeConfig(bytes: Buffer): { text: string; encoding: 'utf8' | 'utf8-bom' | 'utf16le' | 'utf16be' } {
  if (bytes.length >= 2 && bytes[0] === 0xff && bytes[1] === 0xfe) return { text: bytes.subarray(2).toString('utf16le'), encoding: 'utf16le' };
  if (bytes.length >= 2 && bytes[0] === 0xfe && bytes[1] === 0xff) {
    const b = Buffer.from(bytes.subarray(2));
    b.swap16();
    return { text: b.toString('utf16le'), encoding: 'utf16be' };
  }
  if (bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf) return { text: bytes.subarray(3).toString('utf8'), encoding: 'utf8-bom' };
  try {
    return { text: new TextDecoder('utf-8', { fatal: true }).decode(bytes), encoding: 'utf8' };
  } catch {
    throw new SysmonConfigError('the file is not UTF-8 (nor UTF-16 with a byte-order mark); save it as UTF-8 and try again');
  }
}

/** The text back in the encoding it was read in (BOM included). */
export function encodeConfig(text: string, encoding: ReturnType<typeof decodeConfig>['encoding']): Buffer {
  switch (encoding) {
    case 'utf16le':
      return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    case 'utf16be': {
      const b = Buffer.from(text, 'utf16le');
      b.swap16();
      return Buffer.concat([Buffer.from([0xfe, 0xff]), b]);
    }
    case 'utf8-bom':
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text, 'utf8')]);
    default:
      return Buffer.from(text, 'utf8');
  }
}
