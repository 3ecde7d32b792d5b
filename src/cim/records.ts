/**
 * Class definition and instance records (cim-format.md §6–§8): qualifiers, property definitions, the full
 * inherited layout, 2-bit property states, values areas and data regions (single-byte and UTF-16 strings).
 */
import type { CimFormatVersion, CimQualifier, CimValue } from './types.js';
import { RecordError } from './errors.js';

export { RecordError };

const u32 = (b: Uint8Array, o: number): number => (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000;
const u16 = (b: Uint8Array, o: number): number => b[o]! | (b[o + 1]! << 8);

/** Decode bytes `[s, e)` without creating an intermediate Buffer object when `b` already is one. */
function text(b: Uint8Array, s: number, e: number, enc: 'latin1' | 'utf16le'): string {
  return Buffer.isBuffer(b) ? b.toString(enc, s, e) : Buffer.from(b.buffer, b.byteOffset + s, e - s).toString(enc);
}


function need(b: Uint8Array, o: number, n: number, what: string): void {
  if (!Number.isInteger(o) || !Number.isInteger(n) || o < 0 || n < 0 || o + n > b.length) throw new RecordError(`${what} runs past the end of the record`, what);
}

// ---- CIM types -----------------------------------------------------------------------------------------

export const CIM_ARRAY = 0x2000;
const TYPE_NAMES: Record<number, string> = {
  0x02: 'sint16', 0x03: 'sint32', 0x04: 'real32', 0x05: 'real64', 0x08: 'string', 0x0b: 'boolean', 0x0d: 'object',
  0x10: 'sint8', 0x11: 'uint8', 0x12: 'uint16', 0x13: 'uint32', 0x14: 'sint64', 0x15: 'uint64', 0x65: 'datetime',
  0x66: 'reference', 0x67: 'char16',
};

export function typeName(t: number): string {
  const base = TYPE_NAMES[t & 0xff] ?? `type 0x${(t & 0xff).toString(16)}`;
  return t & CIM_ARRAY ? `${base}[]` : base;
}

/** Bytes a property occupies in a values area: fixed types inline, everything else a 4-byte data-region offset. */
export function slotSize(t: number): number {
  if (t & CIM_ARRAY) return 4;
  switch (t & 0xff) {
    case 0x10:
    case 0x11:
      return 1;
    case 0x02:
    case 0x12:
    case 0x0b:
    case 0x67:
      return 2;
    case 0x03:
    case 0x13:
    case 0x04:
      return 4;
    case 0x14:
    case 0x15:
    case 0x05:
      return 8;
    default:
      return 4;
  }
}

function isInline(t: number): boolean {
  if (t & CIM_ARRAY) return false;
  const b = t & 0xff;
  return b !== 0x08 && b !== 0x65 && b !== 0x66 && b !== 0x0d;
}

/** A CIM string in a data region: flag 0 = single-byte (latin-1) NUL-terminated, flag 1 = UTF-16LE NUL-terminated. */
export function cimString(data: Uint8Array, o: number, end = data.length): string {
  if (!Number.isInteger(o) || o < 0 || o + 1 > end) throw new RecordError('string runs past the end of the record', 'string');
  const flag = data[o]!;
  let p = o + 1;
  if (flag === 1) {
    let e = p;
    while (e + 1 < end && (data[e] !== 0 || data[e + 1] !== 0)) e += 2;
    if (e + 1 >= end) throw new RecordError('UTF-16 string without terminator', 'string');
    return text(data, p, e, 'utf16le');
  }
  if (flag !== 0) throw new RecordError(`string with unknown flag ${flag}`, 'string flag');
  let e = p;
  while (e < end && data[e] !== 0) e++;
  if (e >= end) throw new RecordError('string without terminator', 'string');
  return text(data, p, e, 'latin1');
}

/**
 * An embedded object (CIM type object): a u32 length, then the object in the WMI object encoding (MS-WMIO).
 * Its properties are not decoded; its bytes are kept, base64-encoded, so nothing is lost.
 */
function embeddedObject(data: Uint8Array, off: number): CimValue {
  need(data, off, 4, 'embedded object');
  const size = u32(data, off);
  need(data, off + 4, size, 'embedded object');
  return { embeddedObject: Buffer.from(data.buffer, data.byteOffset + off + 4, size).toString('base64') };
}

function bigOrNumber(lo: number, hi: number, signed: boolean): number | string {
  let v = (BigInt(hi) << 32n) | BigInt(lo);
  if (signed) v = BigInt.asIntN(64, v);
  return v >= -9007199254740991n && v <= 9007199254740991n ? Number(v) : v.toString();
}

/** A fixed-size scalar stored inline at `o`. */
function inlineScalar(b: Uint8Array, o: number, base: number): CimValue {
  need(b, o, slotSize(base), 'value');
  switch (base) {
    case 0x10:
      return (b[o]! << 24) >> 24;
    case 0x11:
      return b[o]!;
    case 0x02:
      return (u16(b, o) << 16) >> 16;
    case 0x12:
      return u16(b, o);
    case 0x0b:
      return u16(b, o) !== 0;
    case 0x67:
      return String.fromCharCode(u16(b, o));
    case 0x03:
      return b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24);
    case 0x13:
      return u32(b, o);
    case 0x04:
      return Buffer.from(b.buffer, b.byteOffset + o, 4).readFloatLE(0);
    case 0x05:
      return Buffer.from(b.buffer, b.byteOffset + o, 8).readDoubleLE(0);
    case 0x14:
      return bigOrNumber(u32(b, o), u32(b, o + 4), true);
    case 0x15:
      return bigOrNumber(u32(b, o), u32(b, o + 4), false);
    default:
      return null;
  }
}

/**
 * The value of a property of type `t` whose slot is at `slot` in a values area, with `data` the record's
 * data region (strings, arrays, references, datetimes are offsets into it).
 */
export function readValue(area: Uint8Array, slot: number, t: number, data: Uint8Array): CimValue {
  const base = t & 0xff;
  if (isInline(t)) return inlineScalar(area, slot, base);
  need(area, slot, 4, 'value offset');
  const off = u32(area, slot);
  if (!(t & CIM_ARRAY)) {
    if (base === 0x0d) return embeddedObject(data, off);
    return cimString(data, off);
  }
  need(data, off, 4, 'array');
  const count = u32(data, off);
  const size = slotSize(base);
  const inline = base !== 0x08 && base !== 0x65 && base !== 0x66 && base !== 0x0d;
  if (count > (data.length - off - 4) / (inline ? size : 4)) throw new RecordError(`array of ${count} does not fit the data region`, 'array count');
  const out: CimValue[] = [];
  for (let i = 0; i < count; i++) {
    if (inline) out.push(inlineScalar(data, off + 4 + i * size, base));
    else {
      const so = u32(data, off + 4 + i * 4);
      out.push(base === 0x0d ? embeddedObject(data, so) : cimString(data, so));
    }
  }
  return out;
}

// ---- names: built-in strings or data-region strings ------------------------------------------------------

/**
 * The built-in strings a name reference with the most significant bit set stands for (cim-format.md §6).
 * Qualifier names and property names share the table: `__ProviderRegistration.provider` and
 * `Win32_PnPDeviceProperty.key` are stored as built-in ids 6 and 1.
 */
const BUILTIN_STRINGS: Record<number, string> = { 1: 'key', 3: 'read', 4: 'write', 5: 'volatile', 6: 'provider', 7: 'dynamic', 10: 'type' };

/** A qualifier or property name: a built-in id (MSB set; an unknown id stays visible as `builtin_<id>`) or a data-region string. */
function refName(ref: number, data: Uint8Array): string {
  if (ref & 0x80000000) {
    const id = ref & 0x7fffffff;
    return BUILTIN_STRINGS[id] ?? `builtin_${id}`;
  }
  return cimString(data, ref);
}

/** A qualifier list at `o` (u32 size including itself, then entries); returns the qualifiers and the end offset. */
export function readQualifiers(b: Uint8Array, o: number, data: Uint8Array): { qualifiers: CimQualifier[]; end: number } {
  need(b, o, 4, 'qualifier list');
  const size = u32(b, o);
  if (size < 4) throw new RecordError('qualifier list size below 4', 'qualifier list size');
  need(b, o, size, 'qualifier list');
  const end = o + size;
  const out: CimQualifier[] = [];
  let p = o + 4;
  while (end - p >= 9) {
    const name = refName(u32(b, p), data);
    const t = u32(b, p + 5);
    p += 9;
    const sz = isInline(t) ? slotSize(t) : 4;
    if (p + sz > end) throw new RecordError('qualifier value runs past its list', 'qualifier value');
    out.push({ name, value: readValue(b, p, t, data) });
    p += sz;
  }
  return { qualifiers: out, end };
}

// ---- class definitions ------------------------------------------------------------------------------------

export interface RawProperty {
  name: string;
  type: number;
  index: number;
  offset: number;
  level: number;
  qualifiers: CimQualifier[];
}

export interface RawClass {
  name: string;
  superclass: string | null;
  /** FILETIME halves. */
  tsLo: number;
  tsHi: number;
  qualifiers: CimQualifier[];
  /** Properties introduced by this class. */
  own: RawProperty[];
  /** Default values block: state bits for all properties of the full layout, then a values area. */
  defaults: Uint8Array;
  data: Uint8Array;
}

/** A class record's name, superclass and timestamp: what a superclass chain needs, without qualifiers or properties. */
export interface ClassHeader {
  name: string;
  superclass: string | null;
  tsLo: number;
  tsHi: number;
}

/** The fixed parts of a class record, every size checked, and where its qualifiers, properties, defaults and data region are. */
interface ClassFrame extends ClassHeader {
  qStart: number;
  count: number;
  propRefs: number;
  defaults: Uint8Array;
  data: Uint8Array;
}

function classFrame(r: Uint8Array): ClassFrame {
  const f = classOffsets(r);
  return { ...f, defaults: r.subarray(f.defaultsAt, f.defaultsAt + f.defaultsSize), data: r.subarray(f.dataAt, f.dataAt + f.dataSize) };
}

/** Where the parts of a class record are (every size checked), and its name, superclass and timestamp. */
function classOffsets(r: Uint8Array): ClassHeader & { qStart: number; count: number; propRefs: number; defaultsAt: number; defaultsSize: number; dataAt: number; dataSize: number } {
  need(r, 0, 4, 'class header');
  const superLen = u32(r, 0);
  need(r, 4, superLen * 2 + 12, 'superclass name');
  const superclass = superLen ? text(r, 4, 4 + superLen * 2, 'utf16le') : null;
  let p = 4 + superLen * 2;
  const tsLo = u32(r, p);
  const tsHi = u32(r, p + 4);
  p += 8;
  const blockSize = u32(r, p);
  need(r, p, Math.max(blockSize, 4), 'class block');
  p += 4;
  need(r, p, 13, 'class block header');
  const nameOff = u32(r, p + 1);
  const defaultsSize = u32(r, p + 5);
  const superBlock = u32(r, p + 9);
  p += 9;
  need(r, p, superBlock, 'superclass block');
  p += Math.max(4, superBlock);
  // qualifier list, property references, defaults, data region: the data region comes last, so find it first
  const qStart = p;
  need(r, qStart, 4, 'class qualifiers');
  const qSize = u32(r, qStart);
  need(r, qStart, qSize, 'class qualifiers');
  p = qStart + qSize;
  need(r, p, 4, 'property count');
  const count = u32(r, p);
  p += 4;
  if (count > (r.length - p) / 8) throw new RecordError(`property count ${count} does not fit the record`, 'property count');
  const propRefs = p;
  p += count * 8;
  need(r, p, defaultsSize, 'default values');
  const defaultsAt = p;
  p += defaultsSize;
  need(r, p, 4, 'data region size');
  const dataSize = u32(r, p) & 0x7fffffff;
  p += 4;
  need(r, p, dataSize, 'data region');
  const dataAt = p;
  const name = cimString(r, dataAt + nameOff, dataAt + dataSize);
  return { name, superclass, tsLo, tsHi, qStart, count, propRefs, defaultsAt, defaultsSize, dataAt, dataSize };
}

/**
 * Name, superclass and timestamp of a class record, its other parts not decoded (a superclass chain of every class
 * costs a fraction of parsing every class). It throws where parseClassDefinition would, up to the class name; a
 * record it reads may still fail parseClassDefinition further on (qualifiers, property definitions).
 */
export function parseClassHeader(r: Uint8Array): ClassHeader {
  const f = classOffsets(r);
  return { name: f.name, superclass: f.superclass, tsLo: f.tsLo, tsHi: f.tsHi };
}

export function parseClassDefinition(r: Uint8Array): RawClass {
  const { name, superclass, tsLo, tsHi, qStart, count, propRefs, defaults, data } = classFrame(r);
  const qualifiers = readQualifiers(r, qStart, data).qualifiers;
  const own: RawProperty[] = [];
  for (let i = 0; i < count; i++) {
    const pname = refName(u32(r, propRefs + 8 * i), data);
    const d = u32(r, propRefs + 8 * i + 4);
    need(data, d, 14, `property ${pname}`);
    const type = u32(data, d);
    const index = u16(data, d + 4);
    const offset = u32(data, d + 6);
    const level = u32(data, d + 10);
    const q = readQualifiers(data, d + 14, data).qualifiers;
    own.push({ name: pname, type, index, offset, level, qualifiers: q });
  }
  return { name, superclass, tsLo, tsHi, qualifiers, own, defaults, data };
}

/** 2-bit state of property `i`: bit 0 = not set / no default, bit 1 = use the default / inherited. */
export function propertyState(states: Uint8Array, i: number): number {
  const byte = states[i >> 2];
  return byte === undefined ? 1 : (byte >> ((i & 3) * 2)) & 3;
}

// ---- instances ---------------------------------------------------------------------------------------------

export interface RawInstance {
  /** Class-name hash as stored at the start of the record (upper-hex). */
  classHash: string;
  ts1Lo: number;
  ts1Hi: number;
  ts2Lo: number;
  ts2Hi: number;
  /** Class name read from the record's data region. */
  className: string;
  /** Offset of the property-state bytes in `record`. */
  statesAt: number;
  record: Uint8Array;
}

export function parseInstanceHeader(r: Uint8Array, version: CimFormatVersion): RawInstance {
  const hashLen = version === '2.2' ? 128 : 64;
  need(r, 0, hashLen + 24, 'instance header');
  const classHash = text(r, 0, hashLen, 'utf16le');
  if (!/^[0-9A-F]+$/.test(classHash)) throw new RecordError('instance record does not start with a class-name hash', 'instance class-name hash');
  const t = hashLen;
  const blockSize = u32(r, t + 16) & 0x3fffffff;
  if (blockSize > r.length - t - 16) throw new RecordError(`instance block size ${blockSize} runs past the record`, 'instance block size');
  return {
    classHash,
    ts1Lo: u32(r, t),
    ts1Hi: u32(r, t + 4),
    ts2Lo: u32(r, t + 8),
    ts2Hi: u32(r, t + 12),
    className: '',
    statesAt: t + 20 + 5,
    record: r,
  };
}

/**
 * Decode an instance's values with its class layout (`props` in slot order, all of the full layout).
 * Returns per property: the stored value, NULL, or 'default' (the caller resolves class defaults).
 */
export function readInstanceValues(
  inst: RawInstance,
  props: Array<{ type: number; offset: number }>,
): { values: Array<{ state: 'set' | 'null' | 'default'; value: CimValue }>; className: string; warnings: string[] } {
  const r = inst.record;
  const n = props.length;
  const states = r.subarray(inst.statesAt, inst.statesAt + Math.ceil((2 * n) / 8));
  let area = 0;
  for (const p of props) area = Math.max(area, p.offset + slotSize(p.type));
  const areaAt = inst.statesAt + states.length;
  need(r, areaAt, area, 'values area');
  let p = areaAt + area;
  need(r, p, 4, 'instance qualifiers');
  const q = u32(r, p);
  need(r, p, Math.max(q, 4), 'instance qualifiers');
  p += Math.max(q, 4);
  need(r, p, 1, 'dynamic-properties flag');
  const dyn = r[p]!;
  p += 1;
  const warnings: string[] = [];
  if (dyn === 2) {
    need(r, p, 4, 'dynamic properties');
    const count = u32(r, p);
    p += 4;
    for (let i = 0; i < count; i++) {
      need(r, p, 4, 'dynamic property');
      const s = u32(r, p);
      if (s < 4) throw new RecordError('dynamic property size below 4', 'dynamic property size');
      need(r, p, s, 'dynamic property');
      p += s;
    }
    warnings.push(`${count} dynamic propert${count === 1 ? 'y' : 'ies'} present (not decoded)`);
  } else if (dyn !== 1) warnings.push(`unexpected dynamic-properties flag ${dyn}`);
  need(r, p, 4, 'data region size');
  const dataSize = u32(r, p) & 0x7fffffff;
  p += 4;
  need(r, p, dataSize, 'data region');
  const data = r.subarray(p, p + dataSize);
  const classNameOff = u32(r, inst.statesAt - 5);
  let className = '';
  try {
    className = cimString(data, classNameOff);
  } catch (e) {
    warnings.push(`class name: ${e instanceof Error ? e.message : String(e)}`);
  }
  const areaBytes = r.subarray(areaAt, areaAt + area);
  const values = props.map((prop, i) => {
    const st = propertyState(states, i);
    if (st & 1) return { state: 'null' as const, value: null };
    if (st & 2) return { state: 'default' as const, value: null };
    try {
      return { state: 'set' as const, value: readValue(areaBytes, prop.offset, prop.type, data) };
    } catch (e) {
      warnings.push(`property ${i}: ${e instanceof Error ? e.message : String(e)}`);
      return { state: 'null' as const, value: null };
    }
  });
  return { values, className, warnings };
}

/** FILETIME (two u32 halves) → ISO-8601 UTC with 7 fractional digits, exact. */
export function filetimeToIso(lo: number, hi: number): string {
  let secs: number;
  let frac: number;
  if (hi < 0x60000000) {
    // hi*2^32 = hi*429*10^7 + hi*4967296; r is an integer below 2^53 for hi < 0x60000000, so r % 10^7 is exact and
    // so is (r - frac) / 10^7, an exact multiple (no rounded division)
    const r = hi * 4967296 + lo;
    frac = r % 10000000;
    secs = hi * 429 + (r - frac) / 10000000;
  } else {
    const t = (BigInt(hi) << 32n) | BigInt(lo);
    secs = Number(t / 10000000n);
    frac = Number(t % 10000000n);
  }
  const d = new Date((secs - 11644473600) * 1000);
  const base = Number.isNaN(d.getTime()) ? 'invalid' : d.toISOString().slice(0, 19);
  return `${base}.${String(frac).padStart(7, '0')}Z`;
}
