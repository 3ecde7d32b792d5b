/**
 * Test-only builder of synthetic WMI/CIM repositories (Vista+ format "2.2": SHA-256 keys).
 *
 * Writes OBJECTS.DATA, INDEX.BTR and MAPPING1-3.MAP into a directory from a declarative
 * spec. Every structure is produced by a small encoder that follows
 * `shared/reference/cim-format.md` (section numbers cited as §n). Facts that the document
 * does not state but which were read off the real Win10 sample while writing this file are
 * marked "[sample]":
 *
 *  - class-definition data region order: class name, class-qualifier payloads, then per own
 *    property (in property-reference order = names sorted case-insensitively): name string,
 *    property definition, payloads of its qualifiers (name, then value); then the payloads of
 *    default values (name order). Instance data region: class name, then payloads of the set
 *    properties in name order (not index order).
 *  - own property indexes follow declaration (MOF) order; level = depth of the class
 *    (__SystemClass 0, __IndicationRelated 1, __EventFilter 2, consumers 3).
 *  - class default slots: "no default" slots are filled with 0xFF; inherited slots hold bytes
 *    that readers must ignore (we copy the parent's slot); unused 2-bit state slots of the last
 *    byte are 0b11 in most classes. Instance: NULL = 0b11, use-default = 0b10, set = 0b00,
 *    unused = 0b00, NULL/default slots zero-filled. Instance data-region size has the MSB set
 *    too. ts2 of an instance = its class's timestamp.
 *  - methods block of a class without methods: `0C000000 0000 xxxx 00000080` (xxxx: junk).
 *  - `R_` hash of an `IR_` key = hash of the referencing instance's key path
 *    `NS_…\KI_…\I_…` (the 4th string of the reference record).
 *  - index leaves have child pointers 0xFFFFFFFF; strings are deduplicated per index page.
 *  - objects-map entry: free space = 8192 - end of the last record; field16 = header id1.
 *
 * Not shipped (lives under test/); never imported by src/.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const PAGE_SIZE = 0x2000; // §1

// ------------------------------------------------------------------------------------------------
// Byte writer
// ------------------------------------------------------------------------------------------------

/** Growable little-endian byte buffer. */
export class ByteWriter {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  length = 0;

  private ensure(n: number): void {
    if (this.length + n <= this.buf.length) return;
    let cap = this.buf.length * 2;
    while (cap < this.length + n) cap *= 2;
    const nb = new Uint8Array(cap);
    nb.set(this.buf.subarray(0, this.length));
    this.buf = nb;
    this.view = new DataView(nb.buffer);
  }
  u8(v: number): this {
    this.ensure(1);
    this.buf[this.length++] = v & 0xff;
    return this;
  }
  u16(v: number): this {
    this.ensure(2);
    this.view.setUint16(this.length, v & 0xffff, true);
    this.length += 2;
    return this;
  }
  u32(v: number): this {
    this.ensure(4);
    this.view.setUint32(this.length, v >>> 0, true);
    this.length += 4;
    return this;
  }
  u64(v: bigint): this {
    this.ensure(8);
    this.view.setBigUint64(this.length, BigInt.asUintN(64, v), true);
    this.length += 8;
    return this;
  }
  bytes(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.length);
    this.length += b.length;
    return this;
  }
  zeros(n: number): this {
    this.ensure(n);
    this.buf.fill(0, this.length, this.length + n);
    this.length += n;
    return this;
  }
  /** Overwrite bytes at an earlier position. */
  patch(offset: number, b: Uint8Array): void {
    if (offset + b.length > this.length) throw new Error('patch beyond end');
    this.buf.set(b, offset);
  }
  patchU32(offset: number, v: number): void {
    this.view.setUint32(offset, v >>> 0, true);
  }
  toBytes(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

const le32 = (v: number): Uint8Array => new ByteWriter().u32(v).toBytes();

export function utf16le(s: string): Uint8Array {
  return new Uint8Array(Buffer.from(s, 'utf16le'));
}

export function concat(parts: Uint8Array[]): Uint8Array {
  const w = new ByteWriter();
  for (const p of parts) w.bytes(p);
  return w.toBytes();
}

// ------------------------------------------------------------------------------------------------
// Hashes and keys (§4)
// ------------------------------------------------------------------------------------------------

/** §4.2: upper-hex SHA-256 of UTF-16LE of the uppercased name. */
export function cimHash(name: string): string {
  return createHash('sha256').update(Buffer.from(name.toUpperCase(), 'utf16le')).digest('hex').toUpperCase();
}

/** §4.4: instance key hash: single key → hash(value); compound → values joined by U+FFFF in
 *  property-name order; singleton (no key) → hash('@'). */
export function instanceKeyHash(keyValues: Array<[string, string]>): string {
  if (keyValues.length === 0) return cimHash('@');
  const sorted = [...keyValues].sort((a, b) => cmpNames(a[0], b[0]));
  return cimHash(sorted.map(([, v]) => v).join('\uffff'));
}

/** Case-insensitive ordinal name order (WMI names are case-insensitive) [sample]. */
export function cmpNames(a: string, b: string): number {
  const x = a.toUpperCase();
  const y = b.toUpperCase();
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Key segment builders (§4.1, §4.3). */
export const K = {
  NS: (ns: string) => `NS_${cimHash(ns)}`,
  CD: (cls: string) => `CD_${cimHash(cls)}`,
  CR: (cls: string) => `CR_${cimHash(cls)}`,
  C: (cls: string) => `C_${cimHash(cls)}`,
  R: (cls: string) => `R_${cimHash(cls)}`,
  CI: (cls: string) => `CI_${cimHash(cls)}`,
  KI: (cls: string) => `KI_${cimHash(cls)}`,
  IL: (h: string) => `IL_${h}`,
  I: (h: string) => `I_${h}`,
  IR: (h: string) => `IR_${h}`,
};

/** Suffix `.page.id.size` of a data-bearing key (§4.1). */
export function dataKey(prefix: string, page: number, recordId: number, size: number): string {
  return `${prefix}.${page}.${recordId >>> 0}.${size}`;
}

// ------------------------------------------------------------------------------------------------
// Time helpers
// ------------------------------------------------------------------------------------------------

const FILETIME_UNIX_OFFSET_MS = 11644473600000n;

export function toFiletime(t: Date | bigint | undefined, fallback: bigint): bigint {
  if (t === undefined) return fallback;
  if (typeof t === 'bigint') return t;
  return (BigInt(t.getTime()) + FILETIME_UNIX_OFFSET_MS) * 10000n;
}

/** DMTF datetime `yyyymmddHHMMSS.mmmmmm+000` (UTC) (§6). */
export function dmtf(d: Date): string {
  const p = (n: number, w: number) => String(n).padStart(w, '0');
  return (
    p(d.getUTCFullYear(), 4) +
    p(d.getUTCMonth() + 1, 2) +
    p(d.getUTCDate(), 2) +
    p(d.getUTCHours(), 2) +
    p(d.getUTCMinutes(), 2) +
    p(d.getUTCSeconds(), 2) +
    '.' +
    p(d.getUTCMilliseconds() * 1000, 6) +
    '+000'
  );
}

// ------------------------------------------------------------------------------------------------
// CIM types and values (§6)
// ------------------------------------------------------------------------------------------------

export const CIM_TYPE = {
  sint16: 0x02,
  sint32: 0x03,
  real32: 0x04,
  real64: 0x05,
  string: 0x08,
  boolean: 0x0b,
  object: 0x0d,
  sint8: 0x10,
  uint8: 0x11,
  uint16: 0x12,
  uint32: 0x13,
  sint64: 0x14,
  uint64: 0x15,
  datetime: 0x65,
  reference: 0x66,
  char16: 0x67,
} as const;
export const CIM_ARRAY = 0x2000;

export type BaseTypeName = keyof typeof CIM_TYPE;
export type TypeName = BaseTypeName | `${BaseTypeName}[]`;

export function cimTypeCode(t: TypeName): number {
  const arr = t.endsWith('[]');
  const base = (arr ? t.slice(0, -2) : t) as BaseTypeName;
  const code = CIM_TYPE[base];
  if (code === undefined) throw new Error(`unknown CIM type ${t}`);
  return code | (arr ? CIM_ARRAY : 0);
}

export function typeNameOf(code: number): string {
  const base = code & 0xff;
  const name = (Object.keys(CIM_TYPE) as BaseTypeName[]).find((k) => CIM_TYPE[k] === base) ?? `0x${base.toString(16)}`;
  return code & CIM_ARRAY ? `${name}[]` : name;
}

/** Fixed slot size in a values area / qualifier (§6): heap types and arrays take a 4-byte offset. */
export function slotSize(code: number): number {
  if (code & CIM_ARRAY) return 4;
  switch (code & 0xff) {
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
      return 4; // string, datetime, reference, object: data-region offset
  }
}

function isHeapType(code: number): boolean {
  if (code & CIM_ARRAY) return true;
  const b = code & 0xff;
  return b === 0x08 || b === 0x65 || b === 0x66 || b === 0x0d;
}

/** A value given as raw slot bytes (used for round-trips of bytes with no known meaning). */
export class RawSlot {
  constructor(readonly bytes: Uint8Array) {}
}

/** Forces a string to be stored UTF-16LE (flag 1) even if it is latin-1. */
export class Utf16String {
  constructor(readonly text: string) {}
}

export type CimScalar = string | number | bigint | boolean | Date | Utf16String;
export type CimValue = CimScalar | CimScalar[] | Uint8Array;

/** §6 CIM string: flag 0 + latin-1 + NUL when every char < 0x100, else flag 1 + UTF-16LE + NUL16. */
export function encodeCimString(s: string | Utf16String): Uint8Array {
  const forced = s instanceof Utf16String;
  const text = forced ? s.text : s;
  let single = !forced;
  if (single) for (let i = 0; i < text.length; i++) if (text.charCodeAt(i) > 0xff) single = false;
  if (single) {
    const out = new Uint8Array(text.length + 2);
    for (let i = 0; i < text.length; i++) out[i + 1] = text.charCodeAt(i);
    return out; // flag 0 at [0], NUL at the end
  }
  return concat([Uint8Array.of(1), utf16le(text), Uint8Array.of(0, 0)]);
}

function scalarText(v: CimScalar): string | Utf16String {
  if (v instanceof Utf16String) return v;
  if (v instanceof Date) return dmtf(v);
  return String(v);
}

/** Data region ("heap") of a record: appends payloads and returns their offsets (§6). */
export class DataRegion {
  readonly w = new ByteWriter();
  get length(): number {
    return this.w.length;
  }
  addString(s: string | Utf16String): number {
    const off = this.w.length;
    this.w.bytes(encodeCimString(s));
    return off;
  }
  reserve(n: number): number {
    const off = this.w.length;
    this.w.zeros(n);
    return off;
  }
  /** Append the payload of a heap-typed value (string/datetime/reference/array); returns its offset. */
  addValue(code: number, v: CimValue): number {
    if (code & CIM_ARRAY) return this.addArray(code & ~CIM_ARRAY & 0xffff, v);
    if (v instanceof Uint8Array || Array.isArray(v)) throw new Error(`array value for scalar type ${typeNameOf(code)}`);
    if ((code & 0xff) === 0x0d) throw new Error('embedded objects are not supported by the builder');
    return this.addString(scalarText(v));
  }
  /** Arrays: u32 count, then fixed elements or u32 offsets followed by the strings (§6) [sample]. */
  addArray(baseCode: number, v: CimValue): number {
    const items: CimScalar[] = v instanceof Uint8Array ? Array.from(v) : Array.isArray(v) ? v : [v];
    const off = this.w.length;
    this.w.u32(items.length);
    if (isHeapType(baseCode)) {
      const table = this.reserve(4 * items.length);
      items.forEach((it, i) => this.w.patchU32(table + 4 * i, this.addString(scalarText(it))));
    } else {
      for (const it of items) this.w.bytes(encodeFixed(baseCode, it));
    }
    return off;
  }
  toBytes(): Uint8Array {
    return this.w.toBytes();
  }
}

/** Inline encoding of a fixed-size scalar (§6; booleans 0xFFFF / 0). */
export function encodeFixed(code: number, v: CimScalar): Uint8Array {
  const base = code & 0xff;
  const size = slotSize(base);
  const b = new Uint8Array(size);
  const dv = new DataView(b.buffer);
  if (base === 0x0b) {
    dv.setUint16(0, v === true || v === 1 || v === 'true' ? 0xffff : 0, true);
    return b;
  }
  if (base === 0x67) {
    dv.setUint16(0, typeof v === 'string' ? v.charCodeAt(0) : Number(v), true);
    return b;
  }
  if (base === 0x04) {
    dv.setFloat32(0, Number(v), true);
    return b;
  }
  if (base === 0x05) {
    dv.setFloat64(0, Number(v), true);
    return b;
  }
  const n = typeof v === 'bigint' ? v : BigInt(typeof v === 'boolean' ? (v ? 1 : 0) : Number(v));
  if (size === 8) dv.setBigUint64(0, BigInt.asUintN(64, n), true);
  else if (size === 4) dv.setUint32(0, Number(BigInt.asUintN(32, n)), true);
  else if (size === 2) dv.setUint16(0, Number(BigInt.asUintN(16, n)), true);
  else dv.setUint8(0, Number(BigInt.asUintN(8, n)));
  return b;
}

/** Slot bytes for a value: fixed types inline, heap types → offset of a payload appended to `heap`. */
function encodeSlot(code: number, v: CimValue | RawSlot, heap: DataRegion): Uint8Array {
  if (v instanceof RawSlot) return v.bytes;
  if (isHeapType(code)) return le32(heap.addValue(code, v));
  if (Array.isArray(v) || v instanceof Uint8Array) throw new Error('array value for scalar slot');
  return encodeFixed(code, v);
}

// ------------------------------------------------------------------------------------------------
// Qualifiers (§6)
// ------------------------------------------------------------------------------------------------

/** Built-in qualifier / property name ids (MSB set on disk) (§6). */
export const BUILTIN = { key: 1, read: 3, write: 4, volatile: 5, provider: 6, dynamic: 7, type: 10 } as const;

export interface QualifierModel {
  /** Name string, or built-in id (§6). */
  name: string | number;
  flavor: number;
  type: number;
  value: CimValue | RawSlot;
}

/** Qualifier list: u32 size (incl. itself), then {u32 name, u8 flavor, u32 type, value}; payloads
 *  (name string, then value) are appended to `heap` in list order [sample]. */
export function encodeQualifierList(quals: QualifierModel[], heap: DataRegion): Uint8Array {
  const w = new ByteWriter().u32(0);
  for (const q of quals) {
    const nameRef = typeof q.name === 'number' ? (0x80000000 | q.name) >>> 0 : heap.addString(q.name);
    w.u32(nameRef).u8(q.flavor).u32(q.type).bytes(encodeSlot(q.type, q.value, heap));
  }
  w.patchU32(0, w.length);
  return w.toBytes();
}

// ------------------------------------------------------------------------------------------------
// Class definition record (§7)
// ------------------------------------------------------------------------------------------------

export interface PropertyModel {
  name: string;
  /** Write the name as this built-in string id (§6) instead of a data-region string. */
  builtinName?: number;
  type: number;
  index: number;
  offset: number;
  level: number;
  qualifiers: QualifierModel[];
}

/** One slot of a full class layout (inherited + own), by index. */
export interface SlotModel {
  name: string;
  type: number;
  index: number;
  offset: number;
}

export interface DefaultModel {
  /** 2-bit state (§7): bit0 = no default, bit1 = inherited. */
  state: number;
  /** Value for a default defined here (state 0); RawSlot for anything else to control the bytes. */
  value?: CimValue | RawSlot;
}

export interface ClassRecordModel {
  name: string;
  superclass: string;
  timestamp: bigint;
  qualifiers: QualifierModel[];
  /** Properties introduced by this class, in property-reference order. */
  properties: PropertyModel[];
  /** Full layout (all properties incl. inherited), any order; sorted by index when encoding. */
  layout: SlotModel[];
  /** Per layout index. */
  defaults: DefaultModel[];
  /** 2-bit values of the unused state slots of the last byte (default all 0b11) [sample]. */
  statePad?: number[];
  /** Raw methods block (default: no methods, 12 bytes) (§7). */
  methods?: Uint8Array;
}

export const NO_METHODS = Uint8Array.of(0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80);

/** Values-area size: max(offset + slot size). */
function valuesAreaSize(layout: SlotModel[]): number {
  return layout.reduce((m, s) => Math.max(m, s.offset + slotSize(s.type)), 0);
}

/** 2 bits per property index, ⌈2N/8⌉ bytes (§7/§8). */
export function encodeStates(states: number[], pad: number[] | number): Uint8Array {
  const n = Math.ceil((2 * states.length) / 8);
  const out = new Uint8Array(n);
  for (let i = 0; i < n * 4; i++) {
    const v = i < states.length ? states[i] : Array.isArray(pad) ? (pad[i - states.length] ?? 0) : pad;
    out[i >> 2] |= (v & 3) << (2 * (i & 3));
  }
  return out;
}

/** Encode the whole class-definition record (§7). */
export function encodeClassRecord(m: ClassRecordModel): Uint8Array {
  const heap = new DataRegion();
  const classNameOffset = heap.addString(m.name);
  const qualList = encodeQualifierList(m.qualifiers, heap);

  // property references + definitions (definition = type, index, offset, level, qualifiers)
  const refs = new ByteWriter().u32(m.properties.length);
  for (const p of m.properties) {
    const nameOff = p.builtinName !== undefined ? (0x80000000 | p.builtinName) >>> 0 : heap.addString(p.name);
    const defOff = heap.length;
    const def = new ByteWriter().u32(p.type).u16(p.index).u32(p.offset).u32(p.level);
    // the definition's qualifier payloads follow it, so reserve the definition first
    const probe = new DataRegion();
    const qualSize = encodeQualifierList(p.qualifiers, probe).length;
    heap.reserve(def.length + qualSize);
    const quals = encodeQualifierList(p.qualifiers, heap);
    def.bytes(quals);
    heap.w.patch(defOff, def.toBytes());
    refs.u32(nameOff).u32(defOff);
  }

  // default values: states for all properties, then a values area laid out like an instance's
  const layout = [...m.layout].sort((a, b) => a.index - b.index);
  const states = layout.map((s) => m.defaults[s.index]?.state ?? 1);
  const area = new Uint8Array(valuesAreaSize(layout));
  const slotBytes = new Map<number, Uint8Array>();
  for (const s of layout) {
    const d = m.defaults[s.index];
    if (d?.value instanceof RawSlot) slotBytes.set(s.index, d.value.bytes);
    else if (!d || d.state !== 0 || d.value === undefined) slotBytes.set(s.index, new Uint8Array(slotSize(s.type)).fill(0xff));
  }
  // payloads of defaults defined here, in name order [sample]
  for (const s of [...layout].sort((a, b) => cmpNames(a.name, b.name))) {
    if (slotBytes.has(s.index)) continue;
    slotBytes.set(s.index, encodeSlot(s.type, m.defaults[s.index].value as CimValue, heap));
  }
  for (const s of layout) area.set(slotBytes.get(s.index) as Uint8Array, s.offset);
  const defaults = concat([encodeStates(states, m.statePad ?? 3), area]);

  // superclass block: u32 size (incl. itself) + CIM string + u32 length of that string (§7)
  const superBlock = new ByteWriter();
  if (m.superclass) {
    const s = encodeCimString(m.superclass);
    superBlock.u32(4 + s.length + 4).bytes(s).u32(s.length);
  } else superBlock.u32(4);

  const data = heap.toBytes();
  const block = new ByteWriter()
    .u32(0) // block size, patched
    .u8(0)
    .u32(classNameOffset)
    .u32(defaults.length)
    .bytes(superBlock.toBytes())
    .bytes(qualList)
    .bytes(refs.toBytes())
    .bytes(defaults)
    .u32((data.length | 0x80000000) >>> 0)
    .bytes(data);
  block.patchU32(0, block.length);

  return new ByteWriter()
    .u32(m.superclass.length)
    .bytes(utf16le(m.superclass))
    .u64(m.timestamp)
    .bytes(block.toBytes())
    .bytes(m.methods ?? NO_METHODS)
    .toBytes();
}

// ------------------------------------------------------------------------------------------------
// Instance record (§8)
// ------------------------------------------------------------------------------------------------

export const INSTANCE_STATE = { set: 0, default: 2, null: 3 } as const;

export interface InstanceRecordModel {
  className: string;
  ts1: bigint;
  ts2: bigint;
  layout: SlotModel[];
  /** Per layout index: state (0 set, 2 use default, 3 NULL) and, for set, the value. */
  values: Array<{ state: number; value?: CimValue | RawSlot }>;
  statePad?: number;
  qualifiers?: QualifierModel[];
  /** Dynamic-properties flag (1 = none) (§8). */
  dynFlag?: number;
}

export function encodeInstanceRecord(m: InstanceRecordModel): Uint8Array {
  const heap = new DataRegion();
  const classNameOffset = heap.addString(m.className);
  const layout = [...m.layout].sort((a, b) => a.index - b.index);
  const area = new Uint8Array(valuesAreaSize(layout));
  for (const s of [...layout].sort((a, b) => cmpNames(a.name, b.name))) {
    const v = m.values[s.index];
    if (!v || v.state !== 0 || v.value === undefined) {
      if (v?.value instanceof RawSlot) area.set(v.value.bytes, s.offset);
      continue; // NULL / default: zero slot [sample]
    }
    area.set(encodeSlot(s.type, v.value, heap), s.offset);
  }
  const states = encodeStates(
    layout.map((s) => m.values[s.index]?.state ?? INSTANCE_STATE.null),
    m.statePad ?? 0,
  );
  const quals = encodeQualifierList(m.qualifiers ?? [], heap);
  const data = heap.toBytes();
  const block = new ByteWriter()
    .u32(0)
    .u32(classNameOffset)
    .u8(0)
    .bytes(states)
    .bytes(area)
    .bytes(quals)
    .u8(m.dynFlag ?? 1)
    .u32((data.length | 0x80000000) >>> 0)
    .bytes(data);
  block.patchU32(0, block.length);
  return new ByteWriter()
    .bytes(utf16le(cimHash(m.className))) // 128 bytes: hash as UTF-16LE upper hex
    .u64(m.ts1)
    .u64(m.ts2)
    .bytes(block.toBytes())
    .toBytes();
}

// ------------------------------------------------------------------------------------------------
// Reference record (§4.5)
// ------------------------------------------------------------------------------------------------

export function encodeReferenceRecord(
  namespace: string,
  className: string,
  property: string,
  keyPath: string,
  trailer: Uint8Array = new Uint8Array(8),
): Uint8Array {
  const w = new ByteWriter();
  for (const s of [namespace, className, property, keyPath]) w.u32(s.length).bytes(utf16le(s));
  return w.bytes(trailer).toBytes();
}

// ------------------------------------------------------------------------------------------------
// Declarative class / instance specs
// ------------------------------------------------------------------------------------------------

export interface QualifierSpec {
  name: string | number;
  value: CimValue;
  type?: TypeName;
  flavor?: number;
}

export interface PropertySpec {
  name: string;
  type: TypeName;
  /** For references / objects: class named in the type qualifier (`ref:X`). */
  refClass?: string;
  key?: boolean;
  /** Built-in `read` qualifier. */
  read?: boolean;
  /** Store the property name as its built-in string id (as Windows does for `provider`, `key`); the name must be one of BUILTIN. */
  builtinName?: boolean;
  /** Class default; undefined = no default. */
  default?: CimValue;
  /** Extra qualifiers, written after `type` (and `key`/`read`). */
  qualifiers?: QualifierSpec[];
}

export interface ClassSpec {
  namespace: string;
  name: string;
  superclass?: string;
  qualifiers?: QualifierSpec[];
  /** Own properties in declaration order (= index order). */
  properties: PropertySpec[];
  /** Defaults set on inherited properties. */
  overrideDefaults?: Record<string, CimValue>;
  timestamp?: Date | bigint;
}

export interface InstanceSpec {
  namespace: string;
  className: string;
  /** value = set; null = NULL; undefined/absent = class default if any, else NULL. */
  values: Record<string, CimValue | null | undefined>;
  ts1?: Date | bigint;
  ts2?: Date | bigint;
}

const SYSTEM_NS = '__SystemClass';
const DEFAULT_TS = 0x01d75a0445e1f292n; // 2021-06-05, as in the Win10 sample

function inferQualifierType(v: CimValue): number {
  if (typeof v === 'boolean') return CIM_TYPE.boolean;
  if (typeof v === 'number') return CIM_TYPE.sint32;
  if (typeof v === 'bigint') return CIM_TYPE.sint64;
  if (Array.isArray(v)) return CIM_TYPE.string | CIM_ARRAY;
  return CIM_TYPE.string;
}

function qualifierModel(q: QualifierSpec): QualifierModel {
  return {
    name: q.name,
    flavor: q.flavor ?? (typeof q.name === 'number' ? 0x13 : 0),
    type: q.type ? cimTypeCode(q.type) : inferQualifierType(q.value),
    value: q.value,
  };
}

/** `type` qualifier text (§7): base type name (arrays without []), `ref:X`, `object:X`. */
function typeQualifierText(p: PropertySpec): string {
  const base = p.type.replace('[]', '');
  if (base === 'reference') return p.refClass ? `ref:${p.refClass}` : 'ref';
  if (base === 'object') return p.refClass ? `object:${p.refClass}` : 'object';
  return base;
}

/** Compiled class: its record model plus what instances and subclasses need. */
export interface CompiledClass {
  spec: ClassSpec;
  model: ClassRecordModel;
  /** Namespace the definition is stored in. */
  namespace: string;
  depth: number;
  layout: SlotModel[];
  /** Class that introduced the key properties (KI_ class, §4.3). */
  keyClass: string;
  keyProps: string[];
  /** name → {state, value source} of the resolved default, for instances. */
  hasDefault: Set<string>;
  /** Raw default slot bytes by index (copied into subclasses' inherited slots). */
  slotBytes: Map<number, Uint8Array>;
  parent?: CompiledClass;
}

/** Compile one class given its (already compiled) parent (§7). */
export function compileClass(spec: ClassSpec, parent: CompiledClass | undefined): CompiledClass {
  const depth = parent ? parent.depth + 1 : 0;
  const inherited = parent ? parent.layout : [];
  let nextIndex = inherited.length;
  let nextOffset = valuesAreaSize(inherited);
  const own: PropertyModel[] = [];
  const ownLayout: SlotModel[] = [];
  for (const p of spec.properties) {
    const type = cimTypeCode(p.type);
    const quals: QualifierModel[] = [
      { name: BUILTIN.type, flavor: 3, type: CIM_TYPE.string, value: typeQualifierText(p) },
    ];
    if (p.key) quals.push({ name: BUILTIN.key, flavor: 0x13, type: CIM_TYPE.boolean, value: true });
    if (p.read) quals.push({ name: BUILTIN.read, flavor: 0x13, type: CIM_TYPE.boolean, value: true });
    for (const q of p.qualifiers ?? []) quals.push(qualifierModel(q));
    const slot: SlotModel = { name: p.name, type, index: nextIndex++, offset: nextOffset };
    nextOffset += slotSize(type);
    ownLayout.push(slot);
    let builtinName: number | undefined;
    if (p.builtinName) {
      builtinName = (BUILTIN as Record<string, number>)[p.name];
      if (builtinName === undefined) throw new Error(`${p.name} is not a built-in string`);
    }
    own.push({ ...slot, level: depth, qualifiers: quals, ...(builtinName !== undefined ? { builtinName } : {}) });
  }
  const layout = [...inherited, ...ownLayout];
  const defaults: DefaultModel[] = [];
  const hasDefault = new Set<string>();
  for (const s of inherited) {
    const override = spec.overrideDefaults?.[s.name];
    if (override !== undefined) {
      defaults[s.index] = { state: 0, value: override };
      hasDefault.add(s.name);
    } else {
      const parentHas = parent?.hasDefault.has(s.name) ?? false;
      if (parentHas) hasDefault.add(s.name);
      // inherited: bit1; no default anywhere: bit0 too. Slot bytes copied from the parent [sample].
      defaults[s.index] = { state: 2 | (parentHas ? 0 : 1), value: new RawSlot(parent?.slotBytes.get(s.index) ?? new Uint8Array(slotSize(s.type)).fill(0xff)) };
    }
  }
  spec.properties.forEach((p, i) => {
    const idx = ownLayout[i].index;
    if (p.default !== undefined) {
      defaults[idx] = { state: 0, value: p.default };
      hasDefault.add(p.name);
    } else defaults[idx] = { state: 1 };
  });
  const model: ClassRecordModel = {
    name: spec.name,
    superclass: spec.superclass ?? '',
    timestamp: toFiletime(spec.timestamp, DEFAULT_TS + BigInt(depth)),
    qualifiers: (spec.qualifiers ?? []).map(qualifierModel),
    properties: own.sort((a, b) => cmpNames(a.name, b.name)),
    layout,
    defaults,
  };
  // slot bytes as they end up in the record (for subclasses' inherited slots)
  const slotBytes = new Map<number, Uint8Array>();
  const rec = encodeClassRecord(model);
  const parsedArea = extractDefaultArea(rec, layout);
  for (const s of layout) slotBytes.set(s.index, parsedArea.subarray(s.offset, s.offset + slotSize(s.type)));

  const ownKeys = spec.properties.filter((p) => p.key).map((p) => p.name);
  const keyProps = parent && parent.keyProps.length > 0 ? [...parent.keyProps, ...ownKeys] : ownKeys;
  const keyClass = parent && parent.keyProps.length > 0 ? parent.keyClass : spec.name;
  return { spec, model, namespace: spec.namespace, depth, layout, keyClass, keyProps, hasDefault, slotBytes, parent };
}

/** Read back the values area of the default block of an encoded class record. */
function extractDefaultArea(rec: Uint8Array, layout: SlotModel[]): Uint8Array {
  const dv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  const L = dv.getUint32(0, true);
  const blk = 4 + 2 * L + 8;
  const D = dv.getUint32(blk + 9, true);
  const B = dv.getUint32(blk + 13, true);
  let p = blk + 17 + B - 4;
  p += dv.getUint32(p, true); // qualifier list
  const P = dv.getUint32(p, true);
  p += 4 + 8 * P;
  const stateBytes = Math.ceil((2 * layout.length) / 8);
  return rec.subarray(p + stateBytes, p + D);
}

/** Resolve instance key values as strings (for §4.4 hashing). */
function keyValueText(v: CimValue | null | undefined): string {
  if (v === null || v === undefined) return '';
  if (Array.isArray(v) || v instanceof Uint8Array) return Array.from(v as ArrayLike<unknown>).join(',');
  const t = scalarText(v);
  return t instanceof Utf16String ? t.text : t;
}

export interface CompiledInstance {
  spec: InstanceSpec;
  cls: CompiledClass;
  model: InstanceRecordModel;
  keyValues: Array<[string, string]>;
  keyHash: string;
}

export function compileInstance(spec: InstanceSpec, cls: CompiledClass): CompiledInstance {
  const values: InstanceRecordModel['values'] = [];
  const known = new Set(cls.layout.map((s) => s.name.toUpperCase()));
  for (const name of Object.keys(spec.values)) {
    if (!known.has(name.toUpperCase())) throw new Error(`${spec.className} has no property ${name}`);
  }
  const lookup = (name: string): [boolean, CimValue | null | undefined] => {
    for (const [k, v] of Object.entries(spec.values)) if (k.toUpperCase() === name.toUpperCase()) return [true, v];
    return [false, undefined];
  };
  for (const s of cls.layout) {
    const [, v] = lookup(s.name);
    if (v === null) values[s.index] = { state: INSTANCE_STATE.null };
    else if (v === undefined) values[s.index] = { state: cls.hasDefault.has(s.name) ? INSTANCE_STATE.default : INSTANCE_STATE.null };
    else values[s.index] = { state: INSTANCE_STATE.set, value: v };
  }
  const keyValues: Array<[string, string]> = cls.keyProps.map((k) => [k, keyValueText(lookup(k)[1])]);
  return {
    spec,
    cls,
    keyValues,
    keyHash: instanceKeyHash(keyValues),
    model: {
      className: cls.spec.name,
      ts1: toFiletime(spec.ts1, cls.model.timestamp + 10_000_000n),
      ts2: toFiletime(spec.ts2, cls.model.timestamp), // ts2 = class timestamp [sample]
      layout: cls.layout,
      values,
    },
  };
}

// ------------------------------------------------------------------------------------------------
// Standard classes (§8 property lists; index order, defaults and qualifiers as in the Win10 sample)
// ------------------------------------------------------------------------------------------------

const SID_LOCAL_SYSTEM = Uint8Array.of(1, 1, 0, 0, 0, 0, 0, 5, 18, 0, 0, 0); // S-1-5-18
const WRITE: QualifierSpec = { name: BUILTIN.write, value: true, flavor: 0 };
const TEMPLATE: QualifierSpec = { name: 'Template', value: true };
const NOT_NULL: QualifierSpec = { name: 'not_null', value: true };

/** __SystemClass pseudo-namespace classes: __SystemClass, __NAMESPACE, __IndicationRelated,
 *  __EventFilter, __EventConsumer, __FilterToConsumerBinding (§7, §8, §9). */
export function standardSystemClasses(): ClassSpec[] {
  const ns = SYSTEM_NS;
  const abstract: QualifierSpec = { name: 'abstract', value: true };
  const sid = { name: 'CreatorSID', type: 'uint8[]', read: true, default: SID_LOCAL_SYSTEM } as const;
  return [
    { namespace: ns, name: '__SystemClass', qualifiers: [abstract], properties: [] },
    { namespace: ns, name: '__NAMESPACE', superclass: '__SystemClass', properties: [{ name: 'Name', type: 'string', key: true }] },
    { namespace: ns, name: '__IndicationRelated', superclass: '__SystemClass', qualifiers: [abstract], properties: [] },
    {
      namespace: ns,
      name: '__EventConsumer',
      superclass: '__IndicationRelated',
      qualifiers: [abstract],
      properties: [
        { name: 'MachineName', type: 'string' },
        { name: 'MaximumQueueSize', type: 'uint32', qualifiers: [{ name: 'units', value: 'bytes', flavor: 0x13 }] },
        { ...sid, type: 'uint8[]' },
      ],
    },
    {
      namespace: ns,
      name: '__EventFilter',
      superclass: '__IndicationRelated',
      properties: [
        { name: 'Name', type: 'string', key: true },
        { ...sid, type: 'uint8[]' },
        { name: 'QueryLanguage', type: 'string' },
        { name: 'Query', type: 'string' },
        { name: 'EventNamespace', type: 'string' },
        { name: 'EventAccess', type: 'string' },
      ],
    },
    {
      namespace: ns,
      name: '__FilterToConsumerBinding',
      superclass: '__IndicationRelated',
      qualifiers: [{ name: 'Association', value: true, flavor: 0x13 }],
      properties: [
        { name: 'Filter', type: 'reference', refClass: '__EventFilter', key: true },
        { name: 'Consumer', type: 'reference', refClass: '__EventConsumer', key: true },
        { name: 'DeliveryQoS', type: 'uint32' },
        { name: 'DeliverSynchronously', type: 'boolean', default: false, qualifiers: [{ ...NOT_NULL, flavor: 0x13 }] },
        { name: 'MaintainSecurityContext', type: 'boolean', default: false },
        { name: 'SlowDownProviders', type: 'boolean', default: false },
        { ...sid, type: 'uint8[]' },
      ],
    },
  ];
}

/** The five standard consumer classes as registered in a namespace (ROOT\subscription in Windows). */
export function standardConsumerClasses(namespace = 'ROOT\\subscription'): ClassSpec[] {
  const sup = '__EventConsumer';
  const w = (p: PropertySpec): PropertySpec => ({ ...p, qualifiers: [...(p.qualifiers ?? []), WRITE] });
  const name: PropertySpec = { name: 'Name', type: 'string', key: true };
  return [
    {
      namespace,
      name: 'ActiveScriptEventConsumer',
      superclass: sup,
      qualifiers: [{ name: 'locale', value: 0x409 }],
      properties: [
        name,
        w({ name: 'ScriptingEngine', type: 'string', qualifiers: [NOT_NULL] }),
        w({ name: 'ScriptText', type: 'string' }),
        w({ name: 'ScriptFilename', type: 'string' }),
        w({ name: 'KillTimeout', type: 'uint32', default: 0 }),
      ],
    },
    {
      namespace,
      name: 'CommandLineEventConsumer',
      superclass: sup,
      properties: [
        name,
        w({ name: 'ExecutablePath', type: 'string' }),
        w({ name: 'CommandLineTemplate', type: 'string', qualifiers: [TEMPLATE] }),
        w({ name: 'UseDefaultErrorMode', type: 'boolean', default: false }),
        { name: 'CreateNewConsole', type: 'boolean', default: false, qualifiers: [{ name: 'DEPRECATED', value: true }] },
        w({ name: 'CreateNewProcessGroup', type: 'boolean', default: false }),
        w({ name: 'CreateSeparateWowVdm', type: 'boolean', default: false }),
        w({ name: 'CreateSharedWowVdm', type: 'boolean', default: false }),
        w({ name: 'Priority', type: 'sint32', default: 32 }),
        w({ name: 'WorkingDirectory', type: 'string' }),
        { name: 'DesktopName', type: 'string', qualifiers: [{ name: 'DEPRECATED', value: true }] },
        w({ name: 'WindowTitle', type: 'string', qualifiers: [TEMPLATE] }),
        w({ name: 'XCoordinate', type: 'uint32' }),
        w({ name: 'YCoordinate', type: 'uint32' }),
        w({ name: 'XSize', type: 'uint32' }),
        w({ name: 'YSize', type: 'uint32' }),
        w({ name: 'XNumCharacters', type: 'uint32' }),
        w({ name: 'YNumCharacters', type: 'uint32' }),
        w({ name: 'FillAttribute', type: 'uint32' }),
        w({ name: 'ShowWindowCommand', type: 'uint32' }),
        w({ name: 'ForceOnFeedback', type: 'boolean', default: false }),
        w({ name: 'ForceOffFeedback', type: 'boolean', default: false }),
        w({ name: 'RunInteractively', type: 'boolean', default: false }),
        w({ name: 'KillTimeout', type: 'uint32', default: 0 }),
      ],
    },
    {
      namespace,
      name: 'LogFileEventConsumer',
      superclass: sup,
      properties: [
        name,
        w({ name: 'Filename', type: 'string', qualifiers: [{ name: 'Not_Null', value: true }] }),
        w({ name: 'Text', type: 'string', qualifiers: [{ name: 'Not_Null', value: true }, TEMPLATE] }),
        w({ name: 'MaximumFileSize', type: 'uint64', default: 65535n }),
        w({ name: 'IsUnicode', type: 'boolean' }),
      ],
    },
    {
      namespace,
      name: 'NTEventLogEventConsumer',
      superclass: sup,
      properties: [
        name,
        w({ name: 'UNCServerName', type: 'string' }),
        w({ name: 'SourceName', type: 'string', qualifiers: [{ name: 'NOT_NULL', value: true }] }),
        w({ name: 'EventID', type: 'uint32', default: 0, qualifiers: [{ name: 'NOT_NULL', value: true }] }),
        {
          name: 'EventType',
          type: 'uint32',
          default: 1,
          qualifiers: [
            { name: 'NOT_NULL', value: true },
            WRITE,
            { name: 'ValueMap', value: ['0', '1', '2', '4', '8', '16'] },
            { name: 'Values', value: ['Success', 'Error', 'Warning', 'Information', 'Audit Success', 'Audit Failure'] },
          ],
        },
        w({ name: 'Category', type: 'uint16', qualifiers: [{ name: 'NOT_NULL', value: true }] }),
        w({ name: 'NumberOfInsertionStrings', type: 'uint32', default: 0, qualifiers: [{ name: 'NOT_NULL', value: true }] }),
        w({ name: 'InsertionStringTemplates', type: 'string[]', default: [''], qualifiers: [{ name: 'Template', value: true }] }),
        w({ name: 'NameOfRawDataProperty', type: 'string' }),
        w({ name: 'NameOfUserSIDProperty', type: 'string' }),
      ],
    },
    {
      namespace,
      name: 'SMTPEventConsumer',
      superclass: sup,
      qualifiers: [{ name: 'locale', value: 0x409 }],
      properties: [
        name,
        w({ name: 'SMTPServer', type: 'string', qualifiers: [NOT_NULL] }),
        ...['Subject', 'FromLine', 'ReplyToLine', 'Message', 'ToLine', 'CcLine', 'BccLine'].map((n) =>
          w({ name: n, type: 'string', qualifiers: [TEMPLATE] }),
        ),
        w({ name: 'HeaderFields', type: 'string[]' }),
      ],
    },
  ];
}

// ------------------------------------------------------------------------------------------------
// Object references (§6 reference strings)
// ------------------------------------------------------------------------------------------------

export interface ParsedRef {
  namespace?: string;
  className: string;
  keys: Array<[string, string]>;
}

/** Parse `[\\host\ns:]Class.Key="v"[,Key2="w"]` (quotes optional; \" escapes). */
export function parseObjectPath(ref: string): ParsedRef {
  let rest = ref;
  let namespace: string | undefined;
  const colon = rest.indexOf(':');
  const firstQuote = rest.indexOf('"');
  if (colon >= 0 && (firstQuote < 0 || colon < firstQuote)) {
    let ns = rest.slice(0, colon).replace(/\//g, '\\');
    if (ns.startsWith('\\\\')) ns = ns.slice(2).split('\\').slice(1).join('\\');
    namespace = ns.replace(/^\\+/, '');
    rest = rest.slice(colon + 1);
  }
  const dot = rest.indexOf('.');
  const eq = rest.indexOf('=');
  if (dot < 0 || (eq >= 0 && eq < dot)) return { namespace, className: rest.replace(/=@$/, ''), keys: [] };
  const className = rest.slice(0, dot);
  const keys: Array<[string, string]> = [];
  const re = /([A-Za-z_][\w]*)=(?:"((?:[^"\\]|\\.)*)"|([^,]*))(?:,|$)/gy;
  re.lastIndex = dot + 1;
  for (let m = re.exec(rest); m; m = re.exec(rest)) {
    keys.push([m[1], m[2] !== undefined ? m[2].replace(/\\(.)/g, '$1') : m[3]]);
    if (re.lastIndex >= rest.length) break;
  }
  return { namespace, className, keys };
}

// ------------------------------------------------------------------------------------------------
// OBJECTS.DATA pages (§5)
// ------------------------------------------------------------------------------------------------

export interface PlacedRecord {
  recordId: number;
  size: number;
  /** Logical page of the TOC entry. */
  page: number;
  /** Offset of the record from the start of that page. */
  offset: number;
  /** Logical pages the record occupies (first = page). */
  pages: number[];
}

/** A TOC page (§5): entries {id, offset, size, checksum 0}, 16 zero bytes, then records. */
export function encodeTocPage(records: Array<{ id: number; bytes: Uint8Array }>, slack?: Uint8Array): { page: Uint8Array; offsets: number[]; end: number } {
  const page = new Uint8Array(PAGE_SIZE);
  const dv = new DataView(page.buffer);
  let off = 16 * (records.length + 1);
  const offsets: number[] = [];
  records.forEach((r, i) => {
    dv.setUint32(16 * i, r.id >>> 0, true);
    dv.setUint32(16 * i + 4, off, true);
    dv.setUint32(16 * i + 8, r.bytes.length, true);
    dv.setUint32(16 * i + 12, 0, true);
    offsets.push(off);
    const n = Math.min(r.bytes.length, PAGE_SIZE - off);
    page.set(r.bytes.subarray(0, n), off);
    off += r.bytes.length;
  });
  const end = Math.min(off, PAGE_SIZE);
  if (slack) {
    if (end + slack.length > PAGE_SIZE) throw new Error('slack residue does not fit in the page');
    page.set(slack, end);
  }
  return { page, offsets, end };
}

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function shuffle<T>(arr: T[], rnd: () => number): T[] {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1));
    [arr[i], arr[j]] = [arr[j], arr[i]];
  }
  return arr;
}

// ------------------------------------------------------------------------------------------------
// INDEX.BTR pages and B-tree (§3)
// ------------------------------------------------------------------------------------------------

export const INDEX_PAGE_ACTIVE = 0xaccc;
export const NO_CHILD = 0xffffffff;

/** Encode one index page (§3). `children` = N+1 logical page numbers (NO_CHILD for leaves). */
export function encodeIndexPage(logical: number, keys: string[], children: number[], type = INDEX_PAGE_ACTIVE): Uint8Array {
  if (children.length !== keys.length + 1) throw new Error('children must be keys+1');
  const strings: string[] = [];
  const stringIndex = new Map<string, number>();
  const keyDef: number[] = [];
  const keyPtr: number[] = [];
  for (const k of keys) {
    const parts = k.split('/');
    keyPtr.push(keyDef.length);
    keyDef.push(parts.length);
    for (const p of parts) {
      let i = stringIndex.get(p);
      if (i === undefined) {
        i = strings.length;
        strings.push(p);
        stringIndex.set(p, i);
      }
      keyDef.push(i);
    }
  }
  const data = new ByteWriter();
  const offsets: number[] = [];
  for (const s of strings) {
    offsets.push(data.length);
    data.bytes(new Uint8Array(Buffer.from(s, 'latin1'))).u8(0);
  }
  const w = new ByteWriter().u32(type).u32(logical).u32(0).u32(0).u32(keys.length);
  w.zeros(4 * keys.length);
  for (const c of children) w.u32(c);
  for (const p of keyPtr) w.u16(p);
  w.u16(keyDef.length);
  for (const d of keyDef) w.u16(d);
  w.u16(strings.length);
  for (const o of offsets) w.u16(o);
  w.u16(data.length);
  w.bytes(data.toBytes());
  if (w.length > PAGE_SIZE) throw new IndexPageOverflow(w.length);
  if (keyDef.length > 0xffff || data.length > 0xffff) throw new IndexPageOverflow(w.length);
  const page = new Uint8Array(PAGE_SIZE);
  page.set(w.toBytes());
  return page;
}

class IndexPageOverflow extends Error {
  constructor(readonly size: number) {
    super(`index page overflow (${size} bytes)`);
  }
}

interface TreeNode {
  keys: string[];
  children: TreeNode[] | null;
  logical: number;
}

/**
 * Bulk-load a B-tree (§3: child[i] < key[i] < child[i+1]) bottom-up from sorted unique keys,
 * at most `maxKeys` keys per page (fewer when a page would exceed 8 KiB). Returns the root.
 */
export function buildBTree(sortedKeys: string[], maxKeys: number): { root: TreeNode; nodes: TreeNode[]; depth: number } {
  const nodes: TreeNode[] = [];
  let items = sortedKeys;
  let childNodes: TreeNode[] | null = null;
  let depth = 0;
  for (;;) {
    let cap = Math.max(1, Math.min(maxKeys, items.length));
    for (;;) {
      const level = splitLevel(items, childNodes, cap);
      const fits = level.groups.every((g) => {
        try {
          encodeIndexPage(0, g.keys, new Array<number>(g.keys.length + 1).fill(NO_CHILD));
          return true;
        } catch (e) {
          if (e instanceof IndexPageOverflow) return false;
          throw e;
        }
      });
      if (!fits) {
        if (cap === 1) throw new Error('a single key does not fit in an index page');
        cap = Math.max(1, Math.floor(cap * 0.75));
        continue;
      }
      nodes.push(...level.groups);
      if (level.groups.length === 1) return { root: level.groups[0], nodes, depth };
      items = level.separators;
      childNodes = level.groups;
      depth++;
      break;
    }
  }
}

/** Split one level into pages of ≤ cap keys, as evenly as possible; separators move up. */
function splitLevel(items: string[], children: TreeNode[] | null, cap: number): { groups: TreeNode[]; separators: string[] } {
  const n = items.length;
  const m = n <= cap ? 1 : Math.ceil((n + 1) / (cap + 1));
  const inGroups = n - (m - 1);
  const base = Math.floor(inGroups / m);
  const extra = inGroups % m;
  const groups: TreeNode[] = [];
  const separators: string[] = [];
  let pos = 0;
  for (let g = 0; g < m; g++) {
    const size = base + (g < extra ? 1 : 0);
    groups.push({
      keys: items.slice(pos, pos + size),
      children: children ? children.slice(pos, pos + size + 1) : null,
      logical: -1,
    });
    pos += size;
    if (g < m - 1) separators.push(items[pos++]);
  }
  return { groups, separators };
}

// ------------------------------------------------------------------------------------------------
// Mapping files (§2.1)
// ------------------------------------------------------------------------------------------------

export interface MapEntry {
  physical: number; // 0xFFFFFFFF = unmapped
  crc?: number;
  free?: number;
  used?: number;
  id?: number;
  f20?: number;
}

export interface MapSection {
  sequence: number;
  id1: number;
  physicalPages: number;
  entries: MapEntry[];
  freeList: number[];
  /** Omit the 0xDCBA footer (some Win10 index sections, §2.1). */
  noFooter?: boolean;
}

export function encodeMapSection(s: MapSection): Uint8Array {
  const w = new ByteWriter().u32(0xabcd).u32(s.sequence).u32(s.id1).u32(s.id1 - 1).u32(s.physicalPages).u32(s.entries.length);
  for (const e of s.entries) w.u32(e.physical).u32(e.crc ?? 0).u32(e.free ?? 0).u32(e.used ?? 0).u32(e.id ?? s.id1).u32(e.f20 ?? 0);
  w.u32(s.freeList.length);
  for (const f of s.freeList) w.u32(f);
  if (!s.noFooter) w.u32(0xdcba);
  return w.toBytes();
}

/** Mapping file = objects section + index section + 4 trailing bytes (§2.1). */
export function encodeMappingFile(objects: MapSection, index: MapSection, trailer = 1): Uint8Array {
  return concat([encodeMapSection(objects), encodeMapSection(index), le32(trailer)]);
}

// ------------------------------------------------------------------------------------------------
// Repository builder
// ------------------------------------------------------------------------------------------------

export type NamespaceSpec = string | { path: string; orphan?: boolean };

export type ResidueRecord =
  | { instance: InstanceSpec; label?: string }
  | { classDef: ClassSpec; label?: string }
  | { raw: Uint8Array; label?: string };

export interface ResidueSpec {
  /** Unmapped (free-list) OBJECTS.DATA pages, each with a TOC and these records, no keys (§10.1). */
  freePages?: Array<{ records: ResidueRecord[] }>;
  /** Records written into the slack after the last live record of a mapped page, no TOC entry (§10.2). */
  slack?: ResidueRecord[];
  /** A lower-sequence mapping file maps one logical data page to an older physical page holding
   *  these records (plus the live records of that page when they fit); their CI/KI keys are left
   *  on a stale (unreachable) index page at logical page 0 (§10.4). */
  olderMapping?: { records: ResidueRecord[]; logicalPage?: number };
}

export interface BuildSpec {
  namespaces: NamespaceSpec[];
  classes: ClassSpec[];
  instances: InstanceSpec[];
  residue?: ResidueSpec;
  /** Sequence number of the current mapping file (default 100). */
  mappingSequence?: number;
  /** Which MAPPINGn.MAP is current (default 2); the others get lower sequences. */
  currentMappingFile?: 1 | 2 | 3;
  /** Max keys per INDEX.BTR page (default 16; pages are also limited to 8 KiB). */
  maxKeysPerIndexPage?: number;
  /** Max records per OBJECTS.DATA page (default 6). */
  maxRecordsPerPage?: number;
  /** Add the standard __SystemClass classes when missing (default true). */
  autoSystemClasses?: boolean;
  seed?: number;
}

export interface PlacedObject {
  kind: 'class' | 'instance' | 'reference';
  namespace: string;
  className: string;
  /** Index keys pointing at the record (with `.page.id.size`). */
  keys: string[];
  /** Instance key hash (instances, references: the referenced instance). */
  keyHash?: string;
  record: PlacedRecord;
  /** Physical pages of OBJECTS.DATA holding the record (first = TOC page). */
  physicalPages: number[];
  bytes: Uint8Array;
  /** Instance key values, property values (instances). */
  keyValues?: Array<[string, string]>;
  values?: InstanceSpec['values'];
}

export interface ResidueInfo {
  where: 'free-page' | 'slack' | 'older-mapping';
  label?: string;
  kind: 'instance' | 'class' | 'raw';
  className?: string;
  namespace?: string;
  physicalPage: number;
  offset: number;
  size: number;
  recordId?: number;
  bytes: Uint8Array;
  /** Stale index keys left for this record (older-mapping residue). */
  staleKeys?: string[];
}

export interface BuildResult {
  dir: string;
  currentMappingFile: string;
  mappingFiles: Array<{ file: string; sequence: number; id1: number; current: boolean }>;
  indexRoot: number;
  indexDepth: number;
  indexPages: number;
  /** All live keys, sorted. */
  keys: string[];
  namespaces: Array<{ path: string; hash: string; orphan: boolean }>;
  objects: PlacedObject[];
  classes: PlacedObject[];
  instances: PlacedObject[];
  references: PlacedObject[];
  residue: ResidueInfo[];
  /** logical → physical (−1 unmapped) for OBJECTS.DATA and INDEX.BTR in the current map. */
  dataMap: number[];
  indexMap: number[];
  freeDataPages: number[];
  staleIndexKeys: string[];
  compiledClasses: Map<string, CompiledClass>;
}

const classId = (ns: string, name: string) => `${ns.toUpperCase()}:${name.toUpperCase()}`;

/** Resolve classes: same namespace first, then __SystemClass (§7 class layout). */
class ClassTable {
  readonly compiled = new Map<string, CompiledClass>();
  private readonly specs = new Map<string, ClassSpec>();
  constructor(specs: ClassSpec[]) {
    for (const s of specs) {
      const id = classId(s.namespace, s.name);
      if (this.specs.has(id)) throw new Error(`duplicate class ${s.namespace}:${s.name}`);
      this.specs.set(id, s);
    }
  }
  has(ns: string, name: string): boolean {
    return this.specs.has(classId(ns, name));
  }
  get(ns: string, name: string, stack: string[] = []): CompiledClass {
    const id = this.specs.has(classId(ns, name)) ? classId(ns, name) : classId(SYSTEM_NS, name);
    const done = this.compiled.get(id);
    if (done) return done;
    const spec = this.specs.get(id);
    if (!spec) throw new Error(`class ${name} not found in ${ns} or ${SYSTEM_NS}`);
    if (stack.includes(id)) throw new Error(`superclass cycle at ${name}`);
    const parent = spec.superclass ? this.get(spec.namespace, spec.superclass, [...stack, id]) : undefined;
    const c = compileClass(spec, parent);
    this.compiled.set(id, c);
    return c;
  }
  all(): CompiledClass[] {
    return [...this.specs.values()].map((s) => this.get(s.namespace, s.name));
  }
}

interface PendingRecord {
  bytes: Uint8Array;
  id: number;
  /** Key prefixes (without the `.page.id.size` suffix). */
  keyPrefixes: string[];
  obj: Omit<PlacedObject, 'record' | 'physicalPages' | 'keys' | 'bytes'>;
}

export function buildRepository(dir: string, spec: BuildSpec): BuildResult {
  const rnd = prng(spec.seed ?? 0x5eed);
  const usedIds = new Set<number>();
  const newRecordId = (): number => {
    for (;;) {
      // non-zero low byte keeps TOC entries free of long zero runs (python-cim finds the TOC end by 16 zero bytes)
      const id = (Math.floor(rnd() * 0xffffff00) + 1) >>> 0 | 1;
      if (!usedIds.has(id)) {
        usedIds.add(id);
        return id;
      }
    }
  };

  // ---- namespaces (§9): add missing parents, remember orphans
  const nsList: Array<{ path: string; orphan: boolean }> = [];
  const seenNs = new Set<string>();
  const addNs = (p: string, orphan: boolean): void => {
    const up = p.toUpperCase();
    if (seenNs.has(up)) return;
    const parts = p.split('\\');
    if (parts.length > 1) addNs(parts.slice(0, -1).join('\\'), false);
    seenNs.add(up);
    nsList.push({ path: p, orphan });
  };
  for (const n of spec.namespaces) typeof n === 'string' ? addNs(n, false) : addNs(n.path, !!n.orphan);

  // ---- classes
  const classSpecs = [...spec.classes];
  if (spec.autoSystemClasses !== false) {
    for (const s of standardSystemClasses()) if (!classSpecs.some((c) => classId(c.namespace, c.name) === classId(s.namespace, s.name))) classSpecs.push(s);
  }
  const table = new ClassTable(classSpecs);
  const pending: PendingRecord[] = [];
  const keyOnly: string[] = [];

  for (const c of table.all()) {
    const ns = K.NS(c.namespace);
    keyOnly.push(`${ns}/${K.CR(c.model.superclass)}/${K.C(c.spec.name)}`); // §4.3 derivation
    for (const p of c.spec.properties) {
      if (p.type.startsWith('reference') && p.refClass) keyOnly.push(`${ns}/${K.CR(p.refClass)}/${K.R(c.spec.name)}`);
    }
    pending.push({
      bytes: encodeClassRecord(c.model),
      id: newRecordId(),
      keyPrefixes: [`${ns}/${K.CD(c.spec.name)}`],
      obj: { kind: 'class', namespace: c.namespace, className: c.spec.name },
    });
  }

  // ---- instances: user instances + __NAMESPACE instances in each parent (§9)
  const instanceSpecs: InstanceSpec[] = [];
  for (const n of nsList) {
    const parts = n.path.split('\\');
    if (parts.length < 2 || n.orphan) continue;
    instanceSpecs.push({ namespace: parts.slice(0, -1).join('\\'), className: '__NAMESPACE', values: { Name: parts[parts.length - 1] } });
  }
  instanceSpecs.push(...spec.instances);
  const compiledInstances: CompiledInstance[] = [];
  for (const is of instanceSpecs) {
    if (!seenNs.has(is.namespace.toUpperCase())) throw new Error(`instance namespace ${is.namespace} not declared`);
    const cls = table.get(is.namespace, is.className);
    const ci = compileInstance(is, cls);
    compiledInstances.push(ci);
    const ns = K.NS(is.namespace);
    pending.push({
      bytes: encodeInstanceRecord(ci.model),
      id: newRecordId(),
      keyPrefixes: [`${ns}/${K.CI(cls.spec.name)}/${K.IL(ci.keyHash)}`, `${ns}/${K.KI(cls.keyClass)}/${K.I(ci.keyHash)}`],
      obj: { kind: 'instance', namespace: is.namespace, className: cls.spec.name, keyHash: ci.keyHash, keyValues: ci.keyValues, values: is.values },
    });
  }

  // ---- reference records for instances referenced by reference properties (§4.5)
  for (const ci of compiledInstances) {
    for (const s of ci.cls.layout) {
      if ((s.type & 0xff) !== CIM_TYPE.reference || s.type & CIM_ARRAY) continue;
      const v = ci.spec.values[s.name] ?? Object.entries(ci.spec.values).find(([k]) => k.toUpperCase() === s.name.toUpperCase())?.[1];
      if (typeof v !== 'string') continue;
      const ref = parseObjectPath(v);
      const targetNs = ref.namespace ?? ci.spec.namespace;
      const target = compiledInstances.find(
        (t) =>
          t.spec.namespace.toUpperCase() === targetNs.toUpperCase() &&
          (t.cls.spec.name.toUpperCase() === ref.className.toUpperCase()) &&
          ref.keys.length === t.keyValues.length &&
          ref.keys.every(([k, val]) => t.keyValues.some(([tk, tv]) => tk.toUpperCase() === k.toUpperCase() && tv === val)),
      );
      if (!target) continue;
      const srcPath = `${K.NS(ci.spec.namespace)}\\${K.KI(ci.cls.keyClass)}\\${K.I(ci.keyHash)}`;
      pending.push({
        bytes: encodeReferenceRecord(ci.spec.namespace, ci.cls.spec.name, s.name, srcPath),
        id: newRecordId(),
        keyPrefixes: [`${K.NS(target.spec.namespace)}/${K.KI(target.cls.keyClass)}/${K.IR(target.keyHash)}/R_${cimHash(srcPath)}`],
        obj: { kind: 'reference', namespace: target.spec.namespace, className: target.cls.spec.name, keyHash: target.keyHash },
      });
    }
  }

  // ---- residue records
  const residueBytes = (r: ResidueRecord): { bytes: Uint8Array; kind: ResidueInfo['kind']; className?: string; namespace?: string; ci?: CompiledInstance } => {
    if ('raw' in r) return { bytes: r.raw, kind: 'raw' };
    if ('classDef' in r) {
      const parent = r.classDef.superclass ? table.get(r.classDef.namespace, r.classDef.superclass) : undefined;
      return { bytes: encodeClassRecord(compileClass(r.classDef, parent).model), kind: 'class', className: r.classDef.name, namespace: r.classDef.namespace };
    }
    const ci = compileInstance(r.instance, table.get(r.instance.namespace, r.instance.className));
    return { bytes: encodeInstanceRecord(ci.model), kind: 'instance', className: ci.cls.spec.name, namespace: r.instance.namespace, ci };
  };

  // ---- place live records into logical data pages (§5)
  const maxPerPage = spec.maxRecordsPerPage ?? 6;
  type LogicalPage = { records: Array<{ id: number; bytes: Uint8Array }>; continuation?: { of: number; from: number } };
  const logicalPages: LogicalPage[] = [];
  const placed = new Map<PendingRecord, PlacedRecord>();
  let cur: LogicalPage | undefined;
  const used = (p: LogicalPage) => 16 * (p.records.length + 1) + p.records.reduce((a, r) => a + r.bytes.length, 0);
  for (const r of pending) {
    const big = r.bytes.length + 32 > PAGE_SIZE;
    if (big || !cur || cur.records.length >= maxPerPage || used(cur) + 16 + r.bytes.length > PAGE_SIZE) {
      cur = { records: [] };
      logicalPages.push(cur);
    }
    const page = logicalPages.length - 1;
    const offset = 0; // fixed below, once the page's TOC length is known
    cur.records.push({ id: r.id, bytes: r.bytes });
    const pages = [page];
    if (big) {
      // continuation pages: the following logical pages, no TOC (§5)
      let remaining = r.bytes.length - (PAGE_SIZE - 32);
      let from = PAGE_SIZE - 32;
      while (remaining > 0) {
        logicalPages.push({ records: [], continuation: { of: page, from } });
        pages.push(logicalPages.length - 1);
        from += PAGE_SIZE;
        remaining -= PAGE_SIZE;
      }
      cur = undefined;
    }
    placed.set(r, { recordId: r.id, size: r.bytes.length, page, offset, pages });
  }
  // TOC offsets are recomputed by encodeTocPage; fix offsets accordingly
  for (const [r, p] of placed) {
    const lp = logicalPages[p.page];
    const idx = lp.records.findIndex((x) => x.id === r.id);
    p.offset = 16 * (lp.records.length + 1) + lp.records.slice(0, idx).reduce((a, x) => a + x.bytes.length, 0);
  }

  // an unmapped logical page in the middle of the map (logical pages get freed in real repositories)
  const unmappedLogical = logicalPages.length > 2 ? 2 : -1;
  const logicalCount = logicalPages.length + (unmappedLogical >= 0 ? 1 : 0);
  const toLogical = (i: number): number => (unmappedLogical >= 0 && i >= unmappedLogical ? i + 1 : i);
  for (const p of placed.values()) {
    p.page = toLogical(p.page);
    p.pages = p.pages.map(toLogical);
  }

  // ---- encode data pages
  const pageBytes: Uint8Array[] = []; // by internal (dense) logical index
  const pageEnd: number[] = [];
  const slackQueue = (spec.residue?.slack ?? []).map((r) => ({ ...residueBytes(r), label: r.label }));
  const residue: ResidueInfo[] = [];
  const recordById = new Map<number, Uint8Array>();
  for (const r of pending) recordById.set(r.id, r.bytes);
  for (let i = 0; i < logicalPages.length; i++) {
    const lp = logicalPages[i];
    if (lp.continuation) {
      const owner = logicalPages[lp.continuation.of].records[0];
      const chunk = owner.bytes.subarray(lp.continuation.from, lp.continuation.from + PAGE_SIZE);
      const page = new Uint8Array(PAGE_SIZE);
      page.set(chunk);
      pageBytes.push(page);
      pageEnd.push(chunk.length === PAGE_SIZE ? PAGE_SIZE : chunk.length);
      continue;
    }
    const { page, end } = encodeTocPage(lp.records);
    pageBytes.push(page);
    pageEnd.push(end);
  }

  // ---- physical layout of OBJECTS.DATA: live pages + free pages, shuffled (non-identity map)
  const freePageSpecs = spec.residue?.freePages ?? [];
  const older = spec.residue?.olderMapping;
  const extraPhysical = freePageSpecs.length + (older ? 1 : 0);
  const physCount = logicalPages.length + extraPhysical;
  const physOrder = shuffle(Array.from({ length: physCount }, (_, i) => i), rnd);
  // make sure the map is not the identity even for tiny repositories
  if (physOrder.every((v, i) => v === i) && physCount > 1) physOrder.reverse();
  const physOfDense = physOrder.slice(0, logicalPages.length);
  const freePhys = physOrder.slice(logicalPages.length);
  const physPages: Uint8Array[] = new Array<Uint8Array>(physCount);
  physOfDense.forEach((ph, i) => (physPages[ph] = pageBytes[i]));

  const dataMap: number[] = new Array<number>(logicalCount).fill(-1);
  for (let i = 0; i < logicalPages.length; i++) dataMap[toLogical(i)] = physOfDense[i];

  // slack residue: after the live records of the last TOC page with room
  for (const s of slackQueue) {
    let target = -1;
    for (let i = logicalPages.length - 1; i >= 0; i--) {
      if (!logicalPages[i].continuation && pageEnd[i] + s.bytes.length + 8 <= PAGE_SIZE) {
        target = i;
        break;
      }
    }
    if (target < 0) throw new Error('no page with enough slack for residue');
    const off = pageEnd[target] + 8; // a few zero bytes between the live data and the residue
    pageBytes[target].set(s.bytes, off);
    residue.push({ where: 'slack', label: s.label, kind: s.kind, className: s.className, namespace: s.namespace, physicalPage: physOfDense[target], offset: off, size: s.bytes.length, bytes: s.bytes });
    }

  // free (unmapped) pages with residue records (§10.1)
  freePageSpecs.forEach((fp, i) => {
    const recs = fp.records.map((r) => ({ ...residueBytes(r), label: r.label, id: newRecordId() }));
    const { page, offsets } = encodeTocPage(recs.map((r) => ({ id: r.id, bytes: r.bytes })));
    const ph = freePhys[i];
    physPages[ph] = page;
    recs.forEach((r, j) =>
      residue.push({ where: 'free-page', label: r.label, kind: r.kind, className: r.className, namespace: r.namespace, physicalPage: ph, offset: offsets[j], size: r.bytes.length, recordId: r.id, bytes: r.bytes }),
    );
  });

  // older mapping: one logical page mapped to an older physical page version (§2.4, §10.4)
  const staleIndexKeys: string[] = [];
  let olderMap: number[] | undefined;
  if (older) {
    const denseTarget =
      older.logicalPage !== undefined
        ? logicalPages.findIndex((_, i) => toLogical(i) === older.logicalPage)
        : logicalPages.findIndex((lp) => !lp.continuation && lp.records.some((r) => pending.find((p) => p.id === r.id)?.obj.kind === 'instance'));
    if (denseTarget < 0 || logicalPages[denseTarget].continuation) throw new Error('olderMapping.logicalPage must be a TOC page');
    const logicalNo = toLogical(denseTarget);
    const recs = older.records.map((r) => ({ ...residueBytes(r), label: r.label, id: newRecordId() }));
    const live = logicalPages[denseTarget].records;
    const total = 16 * (live.length + recs.length + 1) + [...live, ...recs].reduce((a, r) => a + r.bytes.length, 0);
    const content = total <= PAGE_SIZE && live.every((r) => r.bytes.length + 32 < PAGE_SIZE) ? [...live, ...recs.map((r) => ({ id: r.id, bytes: r.bytes }))] : recs.map((r) => ({ id: r.id, bytes: r.bytes }));
    const { page, offsets } = encodeTocPage(content);
    const ph = freePhys[freePageSpecs.length];
    physPages[ph] = page;
    olderMap = [...dataMap];
    olderMap[logicalNo] = ph;
    recs.forEach((r) => {
      const j = content.findIndex((c) => c.id === r.id);
      const stale: string[] = [];
      if (r.ci) {
        const ns = K.NS(r.ci.spec.namespace);
        stale.push(dataKey(`${ns}/${K.CI(r.ci.cls.spec.name)}/${K.IL(r.ci.keyHash)}`, logicalNo, r.id, r.bytes.length));
        stale.push(dataKey(`${ns}/${K.KI(r.ci.cls.keyClass)}/${K.I(r.ci.keyHash)}`, logicalNo, r.id, r.bytes.length));
      }
      staleIndexKeys.push(...stale);
      residue.push({ where: 'older-mapping', label: r.label, kind: r.kind, className: r.className, namespace: r.namespace, physicalPage: ph, offset: offsets[j], size: r.bytes.length, recordId: r.id, bytes: r.bytes, staleKeys: stale });
    });
  }

  // ---- keys (§4)
  const objects: PlacedObject[] = [];
  const allKeys: string[] = [...keyOnly];
  for (const r of pending) {
    const p = placed.get(r) as PlacedRecord;
    const keys = r.keyPrefixes.map((k) => dataKey(k, p.page, p.recordId, p.size));
    allKeys.push(...keys);
    objects.push({ ...r.obj, keys, record: p, physicalPages: p.pages.map((l) => dataMap[l]), bytes: r.bytes });
  }
  const sortedKeys = [...new Set(allKeys)].sort();
  if (sortedKeys.length !== allKeys.length) {
    const dup = allKeys.filter((k, i) => allKeys.indexOf(k) !== i);
    throw new Error(`duplicate index keys: ${dup.slice(0, 3).join(', ')}`);
  }

  // ---- INDEX.BTR (§3): B-tree at logical pages 1.., stale page at logical 0
  const tree = buildBTree(sortedKeys, spec.maxKeysPerIndexPage ?? 16);
  const logicalNos = shuffle(Array.from({ length: tree.nodes.length }, (_, i) => i + 1), rnd);
  tree.nodes.forEach((n, i) => (n.logical = logicalNos[i]));
  if (tree.root.logical === 1 && tree.nodes.length > 1) {
    // a root at logical page 1 would hide readers that assume it (dtformats, §2.1 conflict)
    const other = tree.nodes.find((n) => n !== tree.root) as TreeNode;
    [other.logical, tree.root.logical] = [tree.root.logical, other.logical];
  }
  const indexLogicalCount = tree.nodes.length + 1;
  const indexPagesByLogical: Uint8Array[] = new Array<Uint8Array>(indexLogicalCount);
  for (const n of tree.nodes) {
    const children = n.children ? n.children.map((c) => c.logical) : new Array<number>(n.keys.length + 1).fill(NO_CHILD);
    indexPagesByLogical[n.logical] = encodeIndexPage(n.logical, n.keys, children);
  }
  const staleSorted = [...staleIndexKeys].sort();
  indexPagesByLogical[0] = encodeIndexPage(0, staleSorted, new Array<number>(staleSorted.length + 1).fill(NO_CHILD));
  const indexPhys = shuffle(Array.from({ length: indexLogicalCount }, (_, i) => i), rnd);
  if (indexPhys.every((v, i) => v === i) && indexLogicalCount > 1) indexPhys.reverse();
  const indexFile = new Uint8Array(PAGE_SIZE * indexLogicalCount);
  indexPagesByLogical.forEach((pg, l) => indexFile.set(pg, indexPhys[l] * PAGE_SIZE));

  function freeOfMap(): number[] {
    return Array.from({ length: physCount }, (_, i) => i).filter((p) => !dataMap.includes(p));
  }

  // ---- OBJECTS.DATA file
  const dataFile = new Uint8Array(PAGE_SIZE * physCount);
  physPages.forEach((pg, i) => pg && dataFile.set(pg, i * PAGE_SIZE));

  // ---- mapping files (§2)
  const seq = spec.mappingSequence ?? 100;
  const currentNo = spec.currentMappingFile ?? 2;
  const freeDataPages = freeOfMap();
  const dataEntries = (map: number[]): MapEntry[] =>
    map.map((ph, l) => {
      if (ph < 0) return { physical: NO_CHILD };
      const dense = logicalPages.findIndex((_, i) => toLogical(i) === l);
      const isCurrent = physOfDense[dense] === ph;
      return { physical: ph, free: isCurrent ? PAGE_SIZE - pageEnd[dense] : 0 };
    });
  const indexEntries: MapEntry[] = indexPhys.map((ph, l) => ({ physical: ph, used: l === 0 ? tree.root.logical : 0 }));
  const freeOf = (map: number[]): number[] => Array.from({ length: physCount }, (_, i) => i).filter((p) => !map.includes(p));
  const mappingFiles: BuildResult['mappingFiles'] = [];
  const mappingBytes: Uint8Array[] = [];
  const others = ([1, 2, 3] as const).filter((n) => n !== currentNo);
  for (const n of [1, 2, 3] as const) {
    const age = n === currentNo ? 0 : others.indexOf(n) + 1;
    const s = seq - age;
    const id1 = 20 - age;
    // the newest non-current file carries the older-mapping residue; the oldest equals the current tables
    const map = age === 1 && olderMap ? olderMap : dataMap;
    mappingBytes.push(
      encodeMappingFile(
        { sequence: s, id1, physicalPages: physCount, entries: dataEntries(map), freeList: freeOf(map) },
        { sequence: s, id1, physicalPages: indexLogicalCount, entries: indexEntries, freeList: [] },
      ),
    );
    mappingFiles.push({ file: `MAPPING${n}.MAP`, sequence: s, id1, current: age === 0 });
  }

  // ---- write
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'OBJECTS.DATA'), dataFile);
  writeFileSync(path.join(dir, 'INDEX.BTR'), indexFile);
  mappingFiles.forEach((m, i) => writeFileSync(path.join(dir, m.file), mappingBytes[i]));

  const nsHashes = new Set<string>();
  for (const k of sortedKeys) nsHashes.add(k.slice(3, 67));
  return {
    dir,
    currentMappingFile: `MAPPING${currentNo}.MAP`,
    mappingFiles,
    indexRoot: tree.root.logical,
    indexDepth: tree.depth,
    indexPages: tree.nodes.length,
    keys: sortedKeys,
    namespaces: [
      ...nsList.map((n) => ({ path: n.path, hash: cimHash(n.path), orphan: n.orphan })),
      { path: SYSTEM_NS, hash: cimHash(SYSTEM_NS), orphan: false },
    ].filter((n) => nsHashes.has(n.hash) || n.path.toUpperCase() === 'ROOT'),
    objects,
    classes: objects.filter((o) => o.kind === 'class'),
    instances: objects.filter((o) => o.kind === 'instance'),
    references: objects.filter((o) => o.kind === 'reference'),
    residue,
    dataMap,
    indexMap: indexPhys,
    freeDataPages,
    staleIndexKeys: staleSorted,
    compiledClasses: table.compiled,
  };
}

// ------------------------------------------------------------------------------------------------
// Standard fixture set
// ------------------------------------------------------------------------------------------------

export interface FixtureManifest {
  result: BuildResult;
  /** What was planted where (for assertions). */
  items: Array<{ what: string; namespace: string; className: string; name: string; note?: string; live: boolean }>;
  spec: BuildSpec;
}

const SUB = 'ROOT\\subscription';
const LEGIT = 'ROOT\\totallylegit';
const NESTED = 'ROOT\\cimv2\\x';
const ORPHAN_NS = 'ROOT\\orphaned';

/** A 12 KiB script: makes the ActiveScript consumer record span several OBJECTS.DATA pages. */
export const LONG_SCRIPT =
  'Set objShell = CreateObject("WScript.Shell")\r\n' +
  Array.from({ length: 300 }, (_, i) => `' padding line ${String(i).padStart(3, '0')} ------------------\r\n`).join('') +
  'objShell.Run "powershell -nop -w hidden -enc SQBFAFgA", 0\r\n';

export const OMEGA_QUERY = "SELECT * FROM __InstanceCreationEvent WITHIN 10 WHERE TargetInstance ISA 'Win32_Process' AND TargetInstance.Name = 'Ωmega.exe'";

/** Spec of the fixture set (exported so tests can tweak it). */
export function standardFixtureSpec(): BuildSpec {
  const ts = new Date(Date.UTC(2024, 4, 17, 9, 30, 0));
  const sid = Uint8Array.of(1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 0xe9, 3, 0, 0);
  const classes: ClassSpec[] = [
    ...standardConsumerClasses(SUB),
    standardConsumerClasses(LEGIT).find((c) => c.name === 'ActiveScriptEventConsumer') as ClassSpec,
    standardConsumerClasses(NESTED).find((c) => c.name === 'CommandLineEventConsumer') as ClassSpec,
    standardConsumerClasses(ORPHAN_NS).find((c) => c.name === 'LogFileEventConsumer') as ClassSpec,
    {
      namespace: SUB,
      name: 'TotallyLegitConsumer',
      superclass: '__EventConsumer',
      timestamp: ts,
      properties: [
        { name: 'Name', type: 'string', key: true },
        { name: 'Payload', type: 'string' },
        { name: 'Interval', type: 'uint32', default: 60 },
        { name: 'Enabled', type: 'boolean', default: true },
        { name: 'Targets', type: 'string[]' },
        { name: 'Created', type: 'datetime' },
        { name: 'Weight', type: 'sint32', default: -5 },
        { name: 'Counter', type: 'uint64' },
      ],
    },
  ];
  const ref = (cls: string, name: string) => `${cls}.Name="${name}"`;
  const instances: InstanceSpec[] = [
    // standard SCM trio (as in the Win10 sample, §13)
    { namespace: SUB, className: '__EventFilter', values: { Name: 'SCM Event Log Filter', Query: 'select * from MSFT_SCMEventLogEvent', QueryLanguage: 'WQL', EventNamespace: 'root\\cimv2', CreatorSID: Uint8Array.of(1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 32, 2, 0, 0) } },
    { namespace: SUB, className: 'NTEventLogEventConsumer', values: { Name: 'SCM Event Log Consumer', SourceName: 'Service Control Manager', EventType: 1, Category: 0, NameOfUserSIDProperty: 'sid', CreatorSID: Uint8Array.of(1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 32, 2, 0, 0) } },
    { namespace: SUB, className: '__FilterToConsumerBinding', values: { Filter: ref('__EventFilter', 'SCM Event Log Filter'), Consumer: ref('NTEventLogEventConsumer', 'SCM Event Log Consumer'), CreatorSID: Uint8Array.of(1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 32, 2, 0, 0) } },
    // UTF-16 query filter + custom consumer, bound with \\.\ROOT\subscription: prefixed references
    { namespace: SUB, className: '__EventFilter', ts1: ts, values: { Name: 'OmegaFilter', Query: OMEGA_QUERY, QueryLanguage: 'WQL', EventNamespace: 'root\\cimv2', CreatorSID: sid } },
    { namespace: SUB, className: 'TotallyLegitConsumer', ts1: ts, values: { Name: 'Updater', Payload: 'rundll32.exe javascript:"\\..\\mshtml,RunHTMLApplication"', Targets: ['a', 'Ωb', ''], Created: ts, Counter: 12345678901234n, CreatorSID: sid } },
    { namespace: SUB, className: '__FilterToConsumerBinding', ts1: ts, values: { Filter: `\\\\.\\ROOT\\subscription:${ref('__EventFilter', 'OmegaFilter')}`, Consumer: `\\\\.\\ROOT\\subscription:${ref('TotallyLegitConsumer', 'Updater')}`, DeliverSynchronously: true, CreatorSID: sid } },
    // orphan consumer (no binding)
    { namespace: SUB, className: 'LogFileEventConsumer', values: { Name: 'OrphanLogger', Filename: 'C:\\Windows\\Temp\\x.log', Text: '%TargetInstance.Name%', IsUnicode: false } },
    // ActiveScript consumer in a custom namespace, with its filter and binding (multi-page record)
    { namespace: LEGIT, className: '__EventFilter', values: { Name: 'LegitFilter', Query: "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System'", QueryLanguage: 'WQL', EventNamespace: 'root\\cimv2' } },
    { namespace: LEGIT, className: 'ActiveScriptEventConsumer', values: { Name: 'LegitScript', ScriptingEngine: 'VBScript', ScriptText: LONG_SCRIPT } },
    { namespace: LEGIT, className: '__FilterToConsumerBinding', values: { Filter: ref('__EventFilter', 'LegitFilter'), Consumer: ref('ActiveScriptEventConsumer', 'LegitScript') } },
    // CommandLine consumer in a nested namespace
    { namespace: NESTED, className: '__EventFilter', values: { Name: 'NestedFilter', Query: "SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_LogonSession'", QueryLanguage: 'WQL', EventNamespace: 'root\\cimv2' } },
    { namespace: NESTED, className: 'CommandLineEventConsumer', values: { Name: 'NestedCmd', CommandLineTemplate: 'cmd.exe /c calc.exe', ExecutablePath: 'C:\\Windows\\System32\\cmd.exe', RunInteractively: true, Priority: 64 } },
    { namespace: NESTED, className: '__FilterToConsumerBinding', values: { Filter: ref('__EventFilter', 'NestedFilter'), Consumer: ref('CommandLineEventConsumer', 'NestedCmd') } },
    // consumer in a namespace that has no __NAMESPACE instance in its parent (§9 orphan)
    { namespace: ORPHAN_NS, className: 'LogFileEventConsumer', values: { Name: 'HiddenLogger', Filename: 'C:\\ProgramData\\h.log', Text: 'x' } },
  ];
  return {
    namespaces: ['ROOT', SUB, 'ROOT\\cimv2', NESTED, LEGIT, { path: ORPHAN_NS, orphan: true }],
    classes,
    instances,
    residue: {
      freePages: [
        {
          records: [
            {
              label: 'deleted binding',
              instance: { namespace: SUB, className: '__FilterToConsumerBinding', values: { Filter: ref('__EventFilter', 'DeletedFilter'), Consumer: ref('CommandLineEventConsumer', 'DeletedConsumer') } },
            },
            {
              label: 'deleted consumer',
              instance: { namespace: SUB, className: 'CommandLineEventConsumer', values: { Name: 'DeletedConsumer', CommandLineTemplate: 'powershell.exe -enc ZABlAGwAZQB0AGUAZAA=' } },
            },
          ],
        },
      ],
      slack: [{ label: 'overwritten filter', instance: { namespace: SUB, className: '__EventFilter', values: { Name: 'SlackFilter', Query: 'SELECT * FROM __TimerEvent', QueryLanguage: 'WQL' } } }],
      olderMapping: {
        records: [
          {
            label: 'older-map binding',
            instance: { namespace: SUB, className: '__FilterToConsumerBinding', values: { Filter: ref('__EventFilter', 'OldFilter'), Consumer: ref('LogFileEventConsumer', 'OrphanLogger') } },
          },
        ],
      },
    },
    mappingSequence: 4711,
    currentMappingFile: 2,
  };
}

/** Build the fixture set the wmiscope issue asks for into `dir` and return a manifest. */
export function standardFixtures(dir: string): FixtureManifest {
  const spec = standardFixtureSpec();
  const result = buildRepository(dir, spec);
  const items: FixtureManifest['items'] = [
    { what: 'filter', namespace: SUB, className: '__EventFilter', name: 'SCM Event Log Filter', live: true },
    { what: 'consumer', namespace: SUB, className: 'NTEventLogEventConsumer', name: 'SCM Event Log Consumer', live: true },
    { what: 'binding', namespace: SUB, className: '__FilterToConsumerBinding', name: 'SCM Event Log Filter -> SCM Event Log Consumer', live: true },
    { what: 'filter', namespace: SUB, className: '__EventFilter', name: 'OmegaFilter', note: 'UTF-16 (flag 1) query', live: true },
    { what: 'consumer', namespace: SUB, className: 'TotallyLegitConsumer', name: 'Updater', note: 'custom consumer class deriving from __EventConsumer', live: true },
    { what: 'binding', namespace: SUB, className: '__FilterToConsumerBinding', name: 'OmegaFilter -> Updater', note: 'references carry \\\\.\\ROOT\\subscription: prefix; DeliverSynchronously=true', live: true },
    { what: 'consumer', namespace: SUB, className: 'LogFileEventConsumer', name: 'OrphanLogger', note: 'no binding', live: true },
    { what: 'filter', namespace: LEGIT, className: '__EventFilter', name: 'LegitFilter', live: true },
    { what: 'consumer', namespace: LEGIT, className: 'ActiveScriptEventConsumer', name: 'LegitScript', note: 'custom namespace; record spans several pages', live: true },
    { what: 'binding', namespace: LEGIT, className: '__FilterToConsumerBinding', name: 'LegitFilter -> LegitScript', live: true },
    { what: 'filter', namespace: NESTED, className: '__EventFilter', name: 'NestedFilter', live: true },
    { what: 'consumer', namespace: NESTED, className: 'CommandLineEventConsumer', name: 'NestedCmd', note: 'nested namespace', live: true },
    { what: 'binding', namespace: NESTED, className: '__FilterToConsumerBinding', name: 'NestedFilter -> NestedCmd', live: true },
    { what: 'consumer', namespace: ORPHAN_NS, className: 'LogFileEventConsumer', name: 'HiddenLogger', note: 'namespace without __NAMESPACE instance', live: true },
    { what: 'binding', namespace: SUB, className: '__FilterToConsumerBinding', name: 'DeletedFilter -> DeletedConsumer', note: 'free (unmapped) OBJECTS.DATA page, no keys', live: false },
    { what: 'consumer', namespace: SUB, className: 'CommandLineEventConsumer', name: 'DeletedConsumer', note: 'free (unmapped) OBJECTS.DATA page, no keys', live: false },
    { what: 'filter', namespace: SUB, className: '__EventFilter', name: 'SlackFilter', note: 'page slack after the last live record', live: false },
    { what: 'binding', namespace: SUB, className: '__FilterToConsumerBinding', name: 'OldFilter -> OrphanLogger', note: 'only via the older mapping file; stale keys on index logical page 0', live: false },
  ];
  return { result, items, spec };
}
