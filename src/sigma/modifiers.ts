/**
 * The field modifiers: one table, one entry per modifier (adding a modifier touches this table only).
 *
 * A field item `Field|m1|m2: value(s)` is compiled in three steps: the modifiers are applied in order to an
 * `ItemSpec` (each entry either sets how values are compared, sets a flag, or appends a value transform);
 * then each value is parsed as a Sigma string and run through the transforms; then the result is wrapped for
 * the comparison (contains → `*v*`, …) and compiled into a needle (strings.ts).
 */
import { parseSigmaString, plainText, windash, type Part } from './strings.js';

/** How values are compared. */
export type Comparison = 'equals' | 'contains' | 'startswith' | 'endswith' | 're' | 'exists' | 'gt' | 'gte' | 'lt' | 'lte';

/** A value between transforms: Sigma string parts, or bytes (after utf16*, before base64*). */
export type Value = Part[] | Uint8Array;

export interface ItemSpec {
  comparison: Comparison;
  /** Applied in the order written; each returns the values it expands to, or a reason it cannot. */
  transforms: Array<(v: Value) => Value[] | string>;
  /** `all`: every value must match (default: any). */
  all: boolean;
  /** `cased`: compare case-sensitively (default: case-insensitive). */
  cased: boolean;
  /** Regular expression flags from the `i`, `m`, `s` sub-modifiers of `re`. */
  reFlags: { i: boolean; m: boolean; s: boolean };
  /** Needles produced by base64 encodings are compared case-sensitively (base64 is). */
  encoded: boolean;
}

export const newSpec = (): ItemSpec => ({
  comparison: 'equals',
  transforms: [],
  all: false,
  cased: false,
  reFlags: { i: false, m: false, s: false },
  encoded: false,
});

/** A modifier edits the spec, or returns why it cannot be used here. */
type Modifier = (spec: ItemSpec) => string | void;

const compare =
  (c: Comparison): Modifier =>
  (spec) => {
    if (spec.comparison !== 'equals') return `|${c} cannot follow |${spec.comparison}`;
    spec.comparison = c;
  };

const reFlag =
  (flag: 'i' | 'm' | 's'): Modifier =>
  (spec) => {
    if (spec.comparison !== 're') return `|${flag} is a sub-modifier of |re`;
    spec.reFlags[flag] = true;
  };

const utf8 = new TextEncoder();

/** Bytes of a value: the text as UTF-8, or the bytes an utf16 modifier produced. Wildcards cannot be encoded. */
function bytesOf(v: Value): Uint8Array | string {
  if (v instanceof Uint8Array) return v;
  const text = plainText(v);
  return text === null ? 'wildcards cannot be base64-encoded' : utf8.encode(text);
}

const base64 = (b: Uint8Array): string => Buffer.from(b).toString('base64');

function encode16(v: Value, le: boolean, bom: boolean): Value[] | string {
  if (v instanceof Uint8Array) return 'utf16 applied twice';
  const text = plainText(v);
  if (text === null) return 'wildcards cannot be utf16-encoded';
  const out = new Uint8Array((bom ? 2 : 0) + text.length * 2);
  let o = 0;
  if (bom) {
    out[o++] = le ? 0xff : 0xfe;
    out[o++] = le ? 0xfe : 0xff;
  }
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    out[o++] = le ? c & 0xff : c >> 8;
    out[o++] = le ? c >> 8 : c & 0xff;
  }
  return [out];
}

const transform =
  (t: (v: Value) => Value[] | string, encoded = false): Modifier =>
  (spec) => {
    if (spec.comparison !== 'equals' && spec.comparison !== 'contains' && spec.comparison !== 'startswith' && spec.comparison !== 'endswith')
      return `a value transform cannot follow |${spec.comparison}`;
    spec.transforms.push(t);
    if (encoded) spec.encoded = true;
  };

/** The supported modifiers. */
export const MODIFIERS: Readonly<Record<string, Modifier>> = {
  contains: compare('contains'),
  startswith: compare('startswith'),
  endswith: compare('endswith'),
  re: compare('re'),
  exists: compare('exists'),
  gt: compare('gt'),
  gte: compare('gte'),
  lt: compare('lt'),
  lte: compare('lte'),
  i: reFlag('i'),
  m: reFlag('m'),
  s: reFlag('s'),
  all: (spec) => {
    spec.all = true;
  },
  cased: (spec) => {
    spec.cased = true;
  },
  windash: transform((v) => (v instanceof Uint8Array ? 'windash after an encoding' : [windash(v)])),
  base64: transform((v) => {
    const b = bytesOf(v);
    return typeof b === 'string' ? b : [[base64(b)]];
  }, true),
  // the three encodings of the value at offsets 0, 1, 2 inside a longer text, each cut to the characters that do not
  // depend on the neighbouring bytes (the Sigma modifiers appendix; same cuts as pySigma)
  base64offset: transform((v) => {
    const b = bytesOf(v);
    if (typeof b === 'string') return b;
    const out: Value[] = [];
    for (let shift = 0; shift < 3; shift++) {
      const padded = new Uint8Array(shift + b.length);
      padded.set(b, shift);
      const s = base64(padded);
      const start = [0, 2, 3][shift]!;
      const endCut = [0, 3, 2][(b.length + shift) % 3]!;
      const cut = s.slice(start, s.length - endCut);
      if (cut) out.push([cut]);
    }
    return out;
  }, true),
  utf16le: transform((v) => encode16(v, true, false)),
  wide: transform((v) => encode16(v, true, false)),
  utf16be: transform((v) => encode16(v, false, false)),
  utf16: transform((v) => encode16(v, true, true)),
};

/** Modifiers of the Sigma specification wmiscope refuses, with the one-line reason. */
export const UNSUPPORTED: Readonly<Record<string, string>> = {
  expand: 'placeholders (|expand) need a site-specific value list',
  fieldref: 'field references (|fieldref) are not supported',
  cidr: 'network ranges (|cidr) are not supported',
  neq: '|neq is not supported',
  minute: 'time modifiers are not supported',
  hour: 'time modifiers are not supported',
  day: 'time modifiers are not supported',
  week: 'time modifiers are not supported',
  month: 'time modifiers are not supported',
  year: 'time modifiers are not supported',
};

/** Apply a field item's modifier chain; returns the spec or why the item cannot be loaded. */
export function specOf(modifiers: readonly string[]): ItemSpec | string {
  const spec = newSpec();
  for (const raw of modifiers) {
    const name = raw.toLowerCase();
    const why = UNSUPPORTED[name];
    if (why) return why;
    const m = Object.hasOwn(MODIFIERS, name) ? MODIFIERS[name] : undefined;
    if (!m) return `unknown modifier |${raw.slice(0, 40)}`;
    const err = m(spec);
    if (typeof err === 'string') return err;
  }
  if (spec.encoded) spec.cased = true;
  return spec;
}

/** Run the transforms over one value; the result is the needles' parts (before wrapping), or why not. */
export function transformValue(spec: ItemSpec, raw: string): Part[][] | string {
  let values: Value[] = [parseSigmaString(raw)];
  for (const t of spec.transforms) {
    const next: Value[] = [];
    for (const v of values) {
      const r = t(v);
      if (typeof r === 'string') return r;
      next.push(...r);
    }
    values = next;
  }
  const out: Part[][] = [];
  for (const v of values) {
    if (v instanceof Uint8Array) return 'utf16 encodings are only supported before |base64 or |base64offset';
    out.push(v);
  }
  return out;
}
