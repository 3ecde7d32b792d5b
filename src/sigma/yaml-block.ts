/**
 * A reader for the plain block-style YAML that Sigma rule files are written in, several times faster than a full
 * YAML parser, and refusing (returning null) everything outside that subset so the caller parses such a file with
 * the `yaml` library instead. It reads: block mappings and sequences (also a mapping inside a sequence item),
 * plain / single-quoted / double-quoted single-line scalars, `|` and `>` block scalars, comments, and plain
 * scalars typed as YAML 1.2's core schema types them (null, booleans, decimal / hex / octal integers, floats).
 * It refuses: flow collections, anchors, aliases, tags, directives, several documents, multi-line flow scalars,
 * tabs in indentation, duplicate keys, complex keys. A test checks it returns what the `yaml` library returns
 * for every SigmaHQ rule it accepts.
 */

export type YamlValue = string | number | boolean | null | YamlValue[] | { [k: string]: YamlValue };

class Refuse extends Error {}

interface Line {
  indent: number;
  text: string; // without indentation and trailing comment
}

const MAX_DEPTH = 64;

/** The plain scalar `s` typed as YAML 1.2 core schema does. */
function plainScalar(s: string): YamlValue {
  if (s === '' || s === '~' || /^(null|Null|NULL)$/.test(s)) return null;
  if (/^(true|True|TRUE)$/.test(s)) return true;
  if (/^(false|False|FALSE)$/.test(s)) return false;
  if (/^[-+]?[0-9]+$/.test(s)) return Number(s);
  if (/^0o[0-7]+$/.test(s)) return parseInt(s.slice(2), 8);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return parseInt(s.slice(2), 16);
  if (/^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$/.test(s)) return Number(s);
  if (/^[-+]?\.(inf|Inf|INF)$/.test(s) || /^\.(nan|NaN|NAN)$/.test(s)) throw new Refuse();
  // characters that start other YAML constructs, or that plain scalars cannot hold unquoted
  if (/^[[\]{}&*!|>%@`'",#]/.test(s) || /^[-?:](\s|$)/.test(s) || /:(\s|$)/.test(s) || /\s#/.test(s)) throw new Refuse();
  return s;
}

const ESC: Record<string, string> = { '0': '\0', a: '\x07', b: '\b', t: '\t', '\t': '\t', n: '\n', v: '\v', f: '\f', r: '\r', e: '\x1b', ' ': ' ', '"': '"', '/': '/', '\\': '\\', N: '\x85', _: '\xa0', L: '\u2028', P: '\u2029' };

/** A scalar written on one line (after `key: ` or `- `); the rest of the line must be a comment or nothing. */
function inlineScalar(raw: string): YamlValue {
  if (raw.startsWith("'")) {
    let out = '';
    let i = 1;
    for (;;) {
      const j = raw.indexOf("'", i);
      if (j < 0) throw new Refuse(); // continues on the next line
      out += raw.slice(i, j);
      if (raw[j + 1] === "'") {
        out += "'";
        i = j + 2;
        continue;
      }
      if (!/^\s*(#.*)?$/.test(raw.slice(j + 1))) throw new Refuse();
      return out;
    }
  }
  if (raw.startsWith('"')) {
    let out = '';
    for (let i = 1; i < raw.length; i++) {
      const c = raw[i]!;
      if (c === '"') {
        if (!/^\s*(#.*)?$/.test(raw.slice(i + 1))) throw new Refuse();
        return out;
      }
      if (c !== '\\') {
        out += c;
        continue;
      }
      const n = raw[++i];
      if (n === undefined) throw new Refuse();
      const hex = n === 'x' ? 2 : n === 'u' ? 4 : n === 'U' ? 8 : 0;
      if (hex) {
        const h = raw.slice(i + 1, i + 1 + hex);
        if (!/^[0-9a-fA-F]+$/.test(h) || h.length !== hex) throw new Refuse();
        out += String.fromCodePoint(parseInt(h, 16));
        i += hex;
      } else if (n in ESC) out += ESC[n];
      else throw new Refuse();
    }
    throw new Refuse();
  }
  const hash = raw.search(/\s#/);
  return plainScalar((hash >= 0 ? raw.slice(0, hash) : raw).trim());
}

/** Split a `key: rest` line; null when the line is not a mapping entry. */
function keyOf(text: string): { key: string; rest: string } | null {
  if (text.startsWith("'") || text.startsWith('"') || text.startsWith('?')) {
    if (text.startsWith('?')) throw new Refuse();
    const q = text[0]!;
    const end = text.indexOf(q, 1);
    if (end < 0 || text[end + 1] !== ':' || (text.length > end + 2 && text[end + 2] !== ' ')) return null;
    const key = text.slice(1, end);
    if (key.includes('\\') || key.includes(q + q)) throw new Refuse();
    return { key, rest: text.slice(end + 2).trim() };
  }
  // the first `:` followed by a blank or the end of the line (a scan, not a regular expression: lines can be long)
  let colon = -1;
  for (let i = text.indexOf(':'); i >= 0; i = text.indexOf(':', i + 1)) {
    const n = text[i + 1];
    if (n === undefined || n === ' ' || n === '\t') {
      colon = i;
      break;
    }
  }
  if (colon < 0) return null;
  const key = text.slice(0, colon).trimEnd();
  if (!key || /^[\s#'"[\]{},&*!|>%@`]/.test(key) || key.includes('#')) return null;
  return { key, rest: text.slice(colon + 1).trim() };
}

/** Read a Sigma rule file; null when it is outside the subset (use a full YAML parser then). */
export function readBlockYaml(source: string): Record<string, YamlValue> | null {
  try {
    return parse(source);
  } catch (e) {
    if (e instanceof Refuse) return null;
    throw e;
  }
}

function parse(source: string): Record<string, YamlValue> {
  const raw = source.split(/\r?\n/);
  // block scalars need the raw lines; other lines are pre-cut
  let pos = 0;
  const lineAt = (i: number): Line | null => {
    const r = raw[i]!;
    if (/^\s*(#.*)?$/.test(r)) return null;
    const indent = r.search(/\S/);
    if (r.slice(0, indent).includes('\t')) throw new Refuse();
    return { indent, text: r.slice(indent).trimEnd() };
  };
  const next = (): Line | null => {
    while (pos < raw.length) {
      const l = lineAt(pos);
      if (l) return l;
      pos++;
    }
    return null;
  };

  const blockScalar = (header: string, parentIndent: number): string => {
    const m = /^([|>])([-+]?)\s*(#.*)?$/.exec(header);
    if (!m) throw new Refuse();
    const lines: string[] = [];
    let indent = -1;
    for (; pos < raw.length; pos++) {
      const r = raw[pos]!;
      if (/^\s*$/.test(r)) {
        lines.push('');
        continue;
      }
      const ind = r.search(/\S/);
      if (indent < 0) {
        if (ind <= parentIndent) break;
        indent = ind;
      }
      if (ind < indent) break;
      if (r.slice(0, indent).includes('\t')) throw new Refuse();
      lines.push(r.slice(indent));
    }
    // trailing empty lines belong to chomping
    let body = lines;
    let trailing = 0;
    while (body.length && body[body.length - 1] === '') {
      body = body.slice(0, -1);
      trailing++;
    }
    let text: string;
    if (m[1] === '|') text = body.join('\n');
    else {
      if (body.some((l) => /^\s/.test(l))) throw new Refuse(); // folding of more-indented lines
      text = '';
      for (let i = 0; i < body.length; i++) {
        const l = body[i]!;
        if (i === 0) text = l;
        else if (l === '') text += '\n';
        else text += body[i - 1] === '' ? l : ` ${l}`;
      }
    }
    if (!body.length) return '';
    if (m[2] === '-') return text;
    if (m[2] === '+') return text + '\n'.repeat(trailing + 1);
    return `${text}\n`;
  };

  /** The value after `key:` / `- ` on the same line, or the nested block below. */
  const valueAfter = (rest: string, ownIndent: number, depth: number): YamlValue => {
    pos++; // past the line holding the key or the `-`
    if (rest === '' || rest.startsWith('#')) {
      const l = next();
      if (!l || l.indent < ownIndent) return null;
      if (l.indent === ownIndent) return l.text === '-' || l.text.startsWith('- ') ? block(ownIndent, depth + 1) : null;
      return block(l.indent, depth + 1);
    }
    if (rest.startsWith('|') || rest.startsWith('>')) return blockScalar(rest, ownIndent);
    return inlineScalar(rest);
  };

  const block = (indent: number, depth: number): YamlValue => {
    if (depth > MAX_DEPTH) throw new Refuse();
    const first = next();
    if (!first || first.indent !== indent) throw new Refuse();
    if (first.text === '-' || first.text.startsWith('- ')) {
      const out: YamlValue[] = [];
      for (;;) {
        const l = next();
        if (!l || l.indent < indent) break;
        if (l.indent > indent || !(l.text === '-' || l.text.startsWith('- '))) throw new Refuse();
        const item = l.text.slice(1).replace(/^ +/, '');
        const itemIndent = indent + (l.text.length - item.length);
        if (item.startsWith('- ')) throw new Refuse(); // nested compact sequence
        const kv = item === '' || item.startsWith('#') ? null : keyOf(item);
        if (kv) {
          // a mapping starting on the item's line: rewrite the line so the mapping reader sees it at its column
          raw[pos] = ' '.repeat(itemIndent) + item;
          out.push(block(itemIndent, depth + 1));
        } else out.push(valueAfter(item, indent + 1, depth));
      }
      return out;
    }
    const out: Record<string, YamlValue> = {};
    for (;;) {
      const l = next();
      if (!l || l.indent < indent) break;
      if (l.indent > indent) throw new Refuse();
      if (l.text === '---' || l.text === '...' || l.text.startsWith('%')) throw new Refuse();
      const kv = keyOf(l.text);
      if (!kv) throw new Refuse();
      if (Object.hasOwn(out, kv.key) || kv.key === '__proto__' || kv.key === '<<') throw new Refuse();
      out[kv.key] = valueAfter(kv.rest, indent, depth);
    }
    return out;
  };

  const first = next();
  if (!first) throw new Refuse();
  if (first.indent !== 0) throw new Refuse();
  const doc = block(0, 0);
  if (next() !== null) throw new Refuse();
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw new Refuse();
  return doc;
}
