/**
 * Minimal, test-only decoders used to check the CIM repository builder (cim-builder.ts):
 *  - a tiny repository reader (mapping files, B-tree walk, key → record via TOC) (§2, §3, §5);
 *  - decoders of class-definition and instance records into the builder's models (§6–§8),
 *    so real records can be re-encoded and compared byte for byte.
 * Deliberately independent of src/ (the real reader is written elsewhere).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import {
  CIM_ARRAY,
  CIM_TYPE,
  PAGE_SIZE,
  RawSlot,
  Utf16String,
  slotSize,
  type CimScalar,
  type CimValue,
  type ClassRecordModel,
  type DefaultModel,
  type InstanceRecordModel,
  type PropertyModel,
  type QualifierModel,
  type SlotModel,
} from './cim-builder.js';

// ------------------------------------------------------------------------------------------------
// Repository reader
// ------------------------------------------------------------------------------------------------

export interface MapSectionInfo {
  sequence: number;
  id1: number;
  id2: number;
  physicalPages: number;
  entries: Array<{ physical: number; crc: number; free: number; used: number; f16: number; f20: number }>;
  freeList: number[];
  footer: number;
}

export function parseMapSection(b: Uint8Array, off: number): { section: MapSectionInfo; end: number } {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const u = (o: number) => dv.getUint32(o, true);
  if (u(off) !== 0xabcd) throw new Error(`bad mapping signature at ${off}`);
  const E = u(off + 20);
  let p = off + 24;
  const entries = [];
  for (let i = 0; i < E; i++, p += 24) entries.push({ physical: u(p), crc: u(p + 4), free: u(p + 8), used: u(p + 12), f16: u(p + 16), f20: u(p + 20) });
  const F = u(p);
  p += 4;
  const freeList = [];
  for (let i = 0; i < F; i++, p += 4) freeList.push(u(p));
  const footer = p + 4 <= b.length ? u(p) : 0;
  return {
    section: { sequence: u(off + 4), id1: u(off + 8), id2: u(off + 12), physicalPages: u(off + 16), entries, freeList, footer },
    end: p + 4,
  };
}

export interface MiniRepo {
  current: string;
  maps: Record<string, { objects: MapSectionInfo; index: MapSectionInfo; trailing: number }>;
  dataMap: number[];
  indexMap: number[];
  root: number;
  objects: Uint8Array;
  index: Uint8Array;
  indexPage(logical: number): IndexPageInfo;
  /** In-order walk: keys plus visited page count and depth. */
  walk(): { keys: string[]; pages: number; depth: number };
  toc(logical: number): Array<{ id: number; offset: number; size: number; crc: number }>;
  record(key: string): Uint8Array;
}

export interface IndexPageInfo {
  type: number;
  logical: number;
  rootField: number;
  keys: string[];
  children: number[];
  dataSizeField: number;
  stringDataLength: number;
}

const MASK = 0x3fffffff;

export function parseIndexPage(pg: Uint8Array): IndexPageInfo {
  const dv = new DataView(pg.buffer, pg.byteOffset, pg.byteLength);
  const u32 = (o: number) => dv.getUint32(o, true);
  const u16 = (o: number) => dv.getUint16(o, true);
  const N = u32(16);
  let p = 20 + 4 * N;
  const children: number[] = [];
  for (let i = 0; i <= N; i++, p += 4) children.push(u32(p));
  const keyPtr: number[] = [];
  for (let i = 0; i < N; i++, p += 2) keyPtr.push(u16(p));
  const Kn = u16(p);
  p += 2;
  const kd: number[] = [];
  for (let i = 0; i < Kn; i++, p += 2) kd.push(u16(p));
  const S = u16(p);
  p += 2;
  const so: number[] = [];
  for (let i = 0; i < S; i++, p += 2) so.push(u16(p));
  const dataSize = u16(p);
  p += 2;
  const str = (i: number) => {
    const start = p + so[i];
    let e = start;
    while (pg[e] !== 0) e++;
    return Buffer.from(pg.subarray(start, e)).toString('latin1');
  };
  const keys = keyPtr.map((k) => Array.from({ length: kd[k] }, (_, j) => str(kd[k + 1 + j])).join('/'));
  const stringDataLength = so.reduce((m, o, i) => Math.max(m, o + str(i).length + 1), 0);
  return { type: u32(0), logical: u32(4), rootField: u32(12), keys, children, dataSizeField: dataSize, stringDataLength };
}

/** Open a repository from a directory or from in-memory files. */
export function openMiniRepo(src: string | Record<string, Uint8Array>): MiniRepo {
  const file = (n: string): Uint8Array | undefined => {
    if (typeof src !== 'string') return src[n];
    try {
      return new Uint8Array(readFileSync(path.join(src, n)));
    } catch {
      return undefined;
    }
  };
  const maps: MiniRepo['maps'] = {};
  for (const n of ['MAPPING1.MAP', 'MAPPING2.MAP', 'MAPPING3.MAP']) {
    const b = file(n);
    if (!b) continue;
    const o = parseMapSection(b, 0);
    const i = parseMapSection(b, o.end);
    maps[n] = { objects: o.section, index: i.section, trailing: b.length - i.end };
  }
  // §2.4: highest sequence, ties broken by id1
  const current = Object.keys(maps).sort((a, b) => maps[b].objects.sequence - maps[a].objects.sequence || maps[b].objects.id1 - maps[a].objects.id1)[0];
  const m = maps[current];
  const toMap = (s: MapSectionInfo) => s.entries.map((e) => (e.physical === 0xffffffff || (e.physical & MASK) === MASK ? -1 : e.physical & MASK));
  const dataMap = toMap(m.objects);
  const indexMap = toMap(m.index);
  const objects = file('OBJECTS.DATA') as Uint8Array;
  const index = file('INDEX.BTR') as Uint8Array;
  const root = m.index.entries[0].used;

  const indexPage = (l: number): IndexPageInfo => {
    const ph = indexMap[l];
    if (ph === undefined || ph < 0) throw new Error(`index page ${l} unmapped`);
    return parseIndexPage(index.subarray(ph * PAGE_SIZE, (ph + 1) * PAGE_SIZE));
  };
  const dataPage = (l: number): Uint8Array => {
    const ph = dataMap[l];
    if (ph === undefined || ph < 0) throw new Error(`data page ${l} unmapped`);
    return objects.subarray(ph * PAGE_SIZE, (ph + 1) * PAGE_SIZE);
  };
  const toc = (l: number) => {
    const pg = dataPage(l);
    const dv = new DataView(pg.buffer, pg.byteOffset, pg.byteLength);
    const out = [];
    for (let o = 0; o + 16 <= PAGE_SIZE; o += 16) {
      const e = { id: dv.getUint32(o, true), offset: dv.getUint32(o + 4, true), size: dv.getUint32(o + 8, true), crc: dv.getUint32(o + 12, true) };
      if (e.id === 0 && e.offset === 0 && e.size === 0 && e.crc === 0) break;
      out.push(e);
    }
    return out;
  };
  return {
    current,
    maps,
    dataMap,
    indexMap,
    root,
    objects,
    index,
    indexPage,
    walk() {
      const keys: string[] = [];
      let pages = 0;
      let depth = 0;
      const rec = (l: number, d: number) => {
        pages++;
        depth = Math.max(depth, d);
        const p = indexPage(l);
        const child = (c: number) => {
          if (c !== 0xffffffff && c !== 0) rec(c, d + 1);
        };
        p.keys.forEach((k, i) => {
          child(p.children[i]);
          keys.push(k);
        });
        child(p.children[p.keys.length]);
      };
      rec(root, 0);
      return { keys, pages, depth };
    },
    toc,
    record(key: string) {
      const [page, id, size] = key.slice(key.lastIndexOf('/') + 1).split('.').slice(1).map(Number);
      const e = toc(page).find((t) => t.id === id);
      if (!e) throw new Error(`record ${id} not in TOC of page ${page}`);
      if (e.size !== size) throw new Error(`TOC size ${e.size} != key size ${size}`);
      const out = new Uint8Array(size);
      let got = Math.min(size, PAGE_SIZE - e.offset);
      out.set(dataPage(page).subarray(e.offset, e.offset + got));
      for (let l = page + 1; got < size; l++) {
        const n = Math.min(PAGE_SIZE, size - got);
        out.set(dataPage(l).subarray(0, n), got);
        got += n;
      }
      return out;
    },
  };
}

// ------------------------------------------------------------------------------------------------
// Record decoders → builder models
// ------------------------------------------------------------------------------------------------

class Cursor {
  readonly dv: DataView;
  constructor(
    readonly b: Uint8Array,
    public p = 0,
  ) {
    this.dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  }
  u8() {
    return this.b[this.p++];
  }
  u16() {
    const v = this.dv.getUint16(this.p, true);
    this.p += 2;
    return v;
  }
  u32() {
    const v = this.dv.getUint32(this.p, true);
    this.p += 4;
    return v;
  }
  u64() {
    const v = this.dv.getBigUint64(this.p, true);
    this.p += 8;
    return v;
  }
  take(n: number) {
    const v = this.b.subarray(this.p, this.p + n);
    this.p += n;
    return v;
  }
}

/** CIM string at `off` of a data region (§6), keeping the flag when it is not the builder's choice. */
export function decodeCimString(d: Uint8Array, off: number): string | Utf16String {
  if (d[off] === 0) {
    let e = off + 1;
    while (d[e] !== 0) e++;
    return Buffer.from(d.subarray(off + 1, e)).toString('latin1');
  }
  let e = off + 1;
  while (d[e] !== 0 || d[e + 1] !== 0) e += 2;
  const s = Buffer.from(d.subarray(off + 1, e)).toString('utf16le');
  return [...s].every((c) => c.charCodeAt(0) < 0x100) ? new Utf16String(s) : s;
}

const text = (s: string | Utf16String) => (s instanceof Utf16String ? s.text : s);

export function decodeFixed(code: number, b: Uint8Array): CimScalar {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (code & 0xff) {
    case CIM_TYPE.boolean:
      return dv.getUint16(0, true) !== 0;
    case CIM_TYPE.sint8:
      return dv.getInt8(0);
    case CIM_TYPE.uint8:
      return dv.getUint8(0);
    case CIM_TYPE.sint16:
      return dv.getInt16(0, true);
    case CIM_TYPE.uint16:
    case CIM_TYPE.char16:
      return dv.getUint16(0, true);
    case CIM_TYPE.sint32:
      return dv.getInt32(0, true);
    case CIM_TYPE.uint32:
      return dv.getUint32(0, true);
    case CIM_TYPE.real32:
      return dv.getFloat32(0, true);
    case CIM_TYPE.real64:
      return dv.getFloat64(0, true);
    default:
      return dv.getBigUint64(0, true);
  }
}

const isHeap = (code: number) => (code & CIM_ARRAY) !== 0 || [0x08, 0x65, 0x66, 0x0d].includes(code & 0xff);

/** Value of a slot (inline, or dereferenced in the data region). */
export function decodeSlotValue(code: number, slot: Uint8Array, data: Uint8Array): CimValue | RawSlot {
  if (!isHeap(code)) {
    const v = decodeFixed(code, slot);
    // booleans other than 0/0xFFFF cannot be re-encoded from a JS boolean
    if ((code & 0xff) === CIM_TYPE.boolean && ![0, 0xffff].includes(new DataView(slot.buffer, slot.byteOffset).getUint16(0, true))) return new RawSlot(slot.slice());
    return v;
  }
  const off = new DataView(slot.buffer, slot.byteOffset, 4).getUint32(0, true);
  if (!(code & CIM_ARRAY)) {
    const s = decodeCimString(data, off);
    return s;
  }
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  const n = dv.getUint32(off, true);
  const base = code & 0xff;
  if (isHeap(base)) return Array.from({ length: n }, (_, i) => decodeCimString(data, dv.getUint32(off + 4 + 4 * i, true)));
  const size = slotSize(base);
  const items = Array.from({ length: n }, (_, i) => decodeFixed(base, data.subarray(off + 4 + size * i, off + 4 + size * (i + 1))));
  return base === CIM_TYPE.uint8 ? Uint8Array.from(items as number[]) : items;
}

function decodeQualifiers(c: Cursor, data: Uint8Array): QualifierModel[] {
  const start = c.p;
  const size = c.u32();
  const out: QualifierModel[] = [];
  while (c.p + 9 <= start + size) {
    const nameRef = c.u32();
    const flavor = c.u8();
    const type = c.u32();
    const slot = c.take(slotSize(type));
    out.push({
      name: nameRef & 0x80000000 ? nameRef & 0x7fffffff : text(decodeCimString(data, nameRef)),
      flavor,
      type,
      value: decodeSlotValue(type, slot, data),
    });
  }
  c.p = start + size;
  return out;
}

/** Locate the data region of a class record without decoding everything (needs nothing but the header). */
function classDataRegion(b: Uint8Array): { data: Uint8Array; defaultsAt: number; D: number; refsAt: number; qualAt: number; methodsAt: number } {
  const c = new Cursor(b);
  const L = c.u32();
  c.p += 2 * L + 8;
  const blockStart = c.p;
  const blockSize = c.u32();
  c.u8();
  c.u32();
  const D = c.u32();
  const B = c.u32();
  c.p += B - 4;
  const qualAt = c.p;
  c.p += new DataView(b.buffer, b.byteOffset + c.p, 4).getUint32(0, true);
  const refsAt = c.p;
  const P = c.u32();
  c.p += 8 * P;
  const defaultsAt = c.p;
  c.p += D;
  const dsize = c.u32() & 0x7fffffff;
  const data = b.subarray(c.p, c.p + dsize);
  return { data, defaultsAt, D, refsAt, qualAt, methodsAt: blockStart + blockSize };
}

/**
 * Decode a class-definition record (§7) into a ClassRecordModel. `inherited` = layout slots of
 * the ancestors (from their decoded records). Own "no default" slots are left for the encoder to
 * fill (so its 0xFF rule is checked); inherited slots are kept raw.
 */
export function decodeClassRecord(b: Uint8Array, inherited: SlotModel[]): ClassRecordModel {
  const c = new Cursor(b);
  const L = c.u32();
  const superclass = Buffer.from(c.take(2 * L)).toString('utf16le');
  const timestamp = c.u64();
  const r = classDataRegion(b);
  const data = r.data;
  c.p += 4 + 1;
  const nameOff = c.u32();
  const name = text(decodeCimString(data, nameOff));
  c.p = r.qualAt;
  const qualifiers = decodeQualifiers(c, data);
  const P = c.u32();
  const properties: PropertyModel[] = [];
  for (let i = 0; i < P; i++) {
    const nameRef = c.u32();
    const defOff = c.u32();
    const d = new Cursor(data, defOff);
    const type = d.u32();
    const index = d.u16();
    const offset = d.u32();
    const level = d.u32();
    properties.push({ name: text(decodeCimString(data, nameRef)), type, index, offset, level, qualifiers: decodeQualifiers(d, data) });
  }
  const layout: SlotModel[] = [...inherited, ...properties.map((p) => ({ name: p.name, type: p.type, index: p.index, offset: p.offset }))].sort((a, b) => a.index - b.index);
  const N = layout.length;
  const stateBytes = b.subarray(r.defaultsAt, r.defaultsAt + Math.ceil((2 * N) / 8));
  const area = b.subarray(r.defaultsAt + stateBytes.length, r.defaultsAt + r.D);
  const state = (i: number) => (stateBytes[i >> 2] >> (2 * (i & 3))) & 3;
  const defaults: DefaultModel[] = [];
  for (const s of layout) {
    const st = state(s.index);
    const slot = area.subarray(s.offset, s.offset + slotSize(s.type));
    if (st & 2) defaults[s.index] = { state: st, value: new RawSlot(slot.slice()) };
    else if (st & 1) defaults[s.index] = slot.every((x) => x === 0xff) ? { state: st } : { state: st, value: new RawSlot(slot.slice()) };
    else defaults[s.index] = { state: st, value: decodeSlotValue(s.type, slot, data) };
  }
  const statePad = Array.from({ length: stateBytes.length * 4 - N }, (_, i) => state(N + i));
  return { name, superclass, timestamp, qualifiers, properties, layout, defaults, statePad, methods: b.slice(r.methodsAt) };
}

/** Layout slots a subclass inherits from a decoded class. */
export function layoutOf(m: ClassRecordModel): SlotModel[] {
  return m.layout;
}

/** Decode an instance record (§8, 2.2) given the full class layout. */
export function decodeInstanceRecord(b: Uint8Array, className: string, layout: SlotModel[]): InstanceRecordModel & { classHash: string } {
  const c = new Cursor(b);
  const classHash = Buffer.from(c.take(128)).toString('utf16le');
  const ts1 = c.u64();
  const ts2 = c.u64();
  c.u32(); // block size
  c.u32(); // class-name offset
  c.u8();
  const sorted = [...layout].sort((a, b) => a.index - b.index);
  const N = sorted.length;
  const stateBytes = c.take(Math.ceil((2 * N) / 8));
  const A = sorted.reduce((m, s) => Math.max(m, s.offset + slotSize(s.type)), 0);
  const area = c.take(A);
  const qualStart = c.p;
  const qsize = new DataView(b.buffer, b.byteOffset + qualStart, 4).getUint32(0, true);
  c.p += qsize;
  const dynFlag = c.u8();
  const dsize = c.u32() & 0x7fffffff;
  const data = b.subarray(c.p, c.p + dsize);
  const qc = new Cursor(b, qualStart);
  const qualifiers = decodeQualifiers(qc, data);
  const state = (i: number) => (stateBytes[i >> 2] >> (2 * (i & 3))) & 3;
  const values: InstanceRecordModel['values'] = [];
  for (const s of sorted) {
    const st = state(s.index);
    const slot = area.subarray(s.offset, s.offset + slotSize(s.type));
    if (st === 0) values[s.index] = { state: 0, value: decodeSlotValue(s.type, slot, data) };
    else values[s.index] = slot.every((x) => x === 0) ? { state: st } : { state: st, value: new RawSlot(slot.slice()) };
  }
  const padStates = Array.from({ length: stateBytes.length * 4 - N }, (_, i) => state(N + i));
  return { classHash, className, ts1, ts2, layout: sorted, values, statePad: padStates[0] ?? 0, qualifiers, dynFlag };
}

/** Decode a reference record (§4.5). */
export function decodeReferenceRecord(b: Uint8Array): { strings: string[]; trailer: Uint8Array } {
  const c = new Cursor(b);
  const strings: string[] = [];
  for (let i = 0; i < 4; i++) strings.push(Buffer.from(c.take(2 * c.u32())).toString('utf16le'));
  return { strings, trailer: b.slice(c.p) };
}
