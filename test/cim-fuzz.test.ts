/**
 * Mutation fuzzing of the WMI/CIM repository reader (src/cim/) with fast-check.
 *
 * Contract under test, for ANY mutated repository folder:
 *  - `CimRepository.open` returns a repository or throws `CimFormatError` (nothing else);
 *  - then `keys()`, `namespaces()`, `subscriptions()` (and `JSON.stringify` of its result), `classes()` and
 *    `instances()` never throw: cheap cases call them for `ROOT\subscription` and `ROOT`, a few cases
 *    ("full") for every namespace the repository reports, and `residue()` and `staleKeys()`;
 *  - nothing hangs (each case is timed inside a worker thread that a watchdog kills when it stops reporting
 *    progress) and no length read from the files turns into a huge allocation (per-case `arrayBuffers`
 *    growth beyond the bytes of the files read, RSS growth over a property, a heap cap on the worker).
 *
 * Seed repository: the real Win10 repository `<repoRoot>/../shared/samples/cim/dissect-cim-win10/*.gz`,
 * gunzipped once per run into a temporary folder (skipped with a message when absent). A full walk of it
 * takes ~0.7 s and even opening it ~0.1 s, so mutations aim at the bytes the subscription path reads:
 * the mapping files (headers, entry / free-list counts, the root-page field, the entries of the pages
 * below), the INDEX.BTR pages from the root to the keys of the `ROOT\subscription` records (key counts,
 * child pointers incl. cycles, key-definition / string tables, the `.page.id.size` digits of the keys),
 * the OBJECTS.DATA pages holding those records and their class definitions (TOC entries; record headers:
 * superclass length, block sizes, property counts and definitions, qualifier list sizes, data-region sizes,
 * property state bits, value slots, array counts), truncation of each file and deleted files.
 *
 * Low-level parsers (`parseMapping`, `parseIndexPage`, `parseClassDefinition`, `parseInstanceHeader` +
 * the instance value decoder, `parseToc`) are fuzzed on the artemis fragments (plus the small XP / Win7
 * mapping files): each returns or throws an Error subclass with a message (never TypeError/RangeError & co).
 *
 * Reproduce a failure: the report prints the fast-check seed and path; rerun with `CIM_FUZZ_SEED=<seed>`
 * (and `CIM_FUZZ_RUNS=<factor>` to scale the number of runs).
 */
import assert from 'node:assert/strict';
import { existsSync, linkSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { isMainThread, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import { CimFormatError, CimRepository, PAGE_SIZE, parseClassDefinition, parseIndexPage, parseInstanceHeader, parseMapping, parseToc, typeName } from '../src/cim/index.js';
import type { CimInstance, CimLocation, IndexPage, RawClass } from '../src/cim/index.js';
import { CIM_ARRAY, readInstanceValues, slotSize } from '../src/cim/records.js';
import { CaseGuard, describeError, envNumber, finishJob, inWorker, outcome, put, u16, u32 } from './support/fuzz.js';
import type { GuardStats, Outcome } from './support/fuzz.js';
import { repoRoot } from './support/samples.js';

/** Fixed default seed so runs are reproducible; override with CIM_FUZZ_SEED. */
const SEED = envNumber('CIM_FUZZ_SEED', 0xc1a5eed);
const RUN_FACTOR = envNumber('CIM_FUZZ_RUNS', 1);
const REPRODUCE = `CIM_FUZZ_SEED=${SEED} CIM_FUZZ_RUNS=${RUN_FACTOR}`;

/** Hang guards (not speed bounds): a cheap case is open + subscriptions (~0.15 s), a full case walks everything (~1 s). */
const CHEAP_CASE_MS = 5000;
const FULL_CASE_MS = 15000;
const WATCHDOG_MS = 30000;
/** Per case, `arrayBuffers` may grow by the bytes of the files read plus this much. */
const CASE_ARRAYBUFFER_SLACK = 32 * 1024 * 1024;
/** RSS growth allowed over one whole property (each case reads a fresh 30 MB copy of the repository). */
const RSS_LIMIT = 1536 * 1024 * 1024;

const FILES = ['MAPPING1.MAP', 'MAPPING2.MAP', 'MAPPING3.MAP', 'INDEX.BTR', 'OBJECTS.DATA'] as const;
type FileName = (typeof FILES)[number];
const MAPS: FileName[] = ['MAPPING1.MAP', 'MAPPING2.MAP', 'MAPPING3.MAP'];

const CIM_SAMPLES = path.resolve(repoRoot(), '../shared/samples/cim');
const WIN10 = path.join(CIM_SAMPLES, 'dissect-cim-win10');
const FRAGMENTS = path.join(CIM_SAMPLES, 'artemis-fragments');
const win10Skip: string | false = FILES.every((f) => existsSync(path.join(WIN10, `${f}.gz`)))
  ? false
  : `Win10 CIM sample not found at ${WIN10} (expected ../shared/samples next to the repo); repository fuzzing skipped`;
const fragmentsSkip: string | false = existsSync(path.join(FRAGMENTS, 'object_record.raw'))
  ? false
  : `artemis CIM fragments not found at ${FRAGMENTS} (expected ../shared/samples next to the repo); parser fuzzing skipped`;

// ---- the contract, checked on one repository folder ---------------------------------------------------------

interface RepoResult {
  opened: boolean;
  keys: number;
  namespaces: number;
  /** Filters + consumers + bindings. */
  subscriptions: number;
  classes: number;
  instances: number;
  warnings: number;
}

/** Runs every API of the contract on the repository in `dir`; throws (an AssertionError) on any breach. */
export function exerciseRepo(dir: string, full: boolean): RepoResult {
  let r: CimRepository;
  try {
    r = CimRepository.open(dir);
  } catch (e) {
    if (e instanceof CimFormatError) {
      assert.ok(e.message.length > 0, 'CimFormatError without a message');
      return { opened: false, keys: 0, namespaces: 0, subscriptions: 0, classes: 0, instances: 0, warnings: 0 };
    }
    assert.fail(`CimRepository.open threw something other than CimFormatError:\n${describeError(e)}`);
  }
  const out: RepoResult = { opened: true, keys: 0, namespaces: 0, subscriptions: 0, classes: 0, instances: 0, warnings: 0 };
  let where = 'keys()';
  try {
    const keys = r.keys();
    assert.ok(Array.isArray(keys) && keys.every((k) => typeof k === 'string'), 'keys() gives strings');
    out.keys = keys.length;
    where = 'namespaces()';
    const ns = r.namespaces();
    out.namespaces = ns.length;
    where = 'subscriptions()';
    const s = r.subscriptions();
    out.subscriptions = s.filters.length + s.consumers.length + s.bindings.length;
    for (const b of s.bindings) assert.ok(b.filter === null || typeof b.filter === 'object', 'binding.filter');
    where = 'JSON.stringify(subscriptions())';
    assert.equal(typeof JSON.stringify(s), 'string');
    const targets = full ? ns.map((n) => n.name ?? `NS_${n.hash}`) : ['ROOT\\subscription', 'ROOT'];
    for (const t of targets) {
      where = `classes(${JSON.stringify(t)})`;
      out.classes += r.classes(t).length;
      where = `instances(${JSON.stringify(t)})`;
      out.instances += r.instances(t).length;
    }
    if (full) {
      // residue reads every mapping file's objects map, unreachable index pages and the whole OBJECTS.DATA
      where = 'residue()';
      const res = r.residue();
      assert.ok(res.every((x) => x.provenance.length >= 1 && ['copy-of-live', 'older-version-of-live', 'no-live-object'].includes(x.relation)), 'residue relation and provenance');
      assert.equal(typeof JSON.stringify(res), 'string');
      where = 'staleKeys()';
      assert.ok(Array.isArray(r.staleKeys()));
    }
    where = 'warnings';
    for (const w of r.warnings) assert.ok(typeof w.code === 'string' && typeof w.message === 'string', `warning ${JSON.stringify(w)}`);
    out.warnings = r.warnings.length;
  } catch (e) {
    if (e instanceof assert.AssertionError) throw e;
    assert.fail(`${where} threw:\n${describeError(e)}`);
  }
  return out;
}

// ---- where to mutate: fields located in the pristine repository ------------------------------------------------

const CATS = [
  'mapHeader',
  'mapCounts',
  'mapRoot',
  'mapEntries',
  'btrHeader',
  'btrChildren',
  'btrTables',
  'btrBody',
  'toc',
  'recHeader',
  'recSizes',
  'recValues',
  'recStates',
  'recBody',
] as const;
type Cat = (typeof CATS)[number];

interface Field {
  file: FileName;
  off: number;
  width: 1 | 2 | 4;
  label: string;
  /** Child-pointer fields: the logical page the pointer is in. */
  page?: number;
}

interface Targets {
  fields: Record<Cat, Field[]>;
  /** Digits of the `.page.id.size` suffixes of the target keys in INDEX.BTR string data. */
  digits: Field[];
  /** Logical index pages from the root to the target keys (root first). */
  indexPath: number[];
  rootPage: number;
  /** Interesting truncation lengths per file. */
  cuts: Record<FileName, number[]>;
  sizes: Record<FileName, number>;
  /** What was located, for the test's diagnostics. */
  summary: string;
}

interface MapLayout {
  objCount: number;
  objFreeAt: number;
  objFree: number;
  objFooterAt: number;
  idxStart: number;
  idxCount: number;
  idxFreeAt: number;
  idxFree: number;
  idxFooterAt: number;
}

/** Section offsets of a 2.2 mapping file (cim-format.md §2.1), computed independently of the parser. */
function mapLayout(b: Uint8Array): MapLayout {
  const objCount = u32(b, 20);
  const objFreeAt = 24 + 24 * objCount;
  const objFree = u32(b, objFreeAt);
  const objFooterAt = objFreeAt + 4 + 4 * objFree;
  const idxStart = objFooterAt + 4;
  const idxCount = u32(b, idxStart + 20);
  const idxFreeAt = idxStart + 24 + 24 * idxCount;
  const idxFree = u32(b, idxFreeAt);
  return { objCount, objFreeAt, objFree, objFooterAt, idxStart, idxCount, idxFreeAt, idxFree, idxFooterAt: idxFreeAt + 4 + 4 * idxFree };
}

// slot sizes as the reader defines them (the fuzz targets the reader's own field boundaries)
const isInline = (t: number): boolean => !(t & CIM_ARRAY) && ![0x08, 0x65, 0x66, 0x0d].includes(t & 0xff);

type AddField = (cat: Cat, rel: number, width: 1 | 2 | 4, label: string) => void;

/** Fields of a class-definition record (mirrors cim-format.md §6 / parseClassDefinition); `rel` = record offset. */
function classFields(r: Uint8Array, add: AddField): void {
  add('recHeader', 0, 4, 'superclass name length');
  const superLen = u32(r, 0);
  let p = 4 + superLen * 2;
  add('recHeader', p, 4, 'timestamp lo');
  add('recHeader', p + 4, 4, 'timestamp hi');
  p += 8;
  add('recSizes', p, 4, 'class block size');
  p += 4;
  add('recHeader', p, 1, 'class block flag byte');
  add('recHeader', p + 1, 4, 'class name offset');
  add('recSizes', p + 5, 4, 'default values size');
  add('recSizes', p + 9, 4, 'superclass block size');
  const defaultsSize = u32(r, p + 5);
  const superBlock = u32(r, p + 9);
  p += 9 + Math.max(4, superBlock);
  const qStart = p;
  add('recSizes', qStart, 4, 'class qualifier list size');
  const qSize = u32(r, qStart);
  p = qStart + qSize;
  add('recSizes', p, 4, 'property count');
  const count = u32(r, p);
  p += 4;
  const propRefs = p;
  for (let i = 0; i < count; i++) {
    add('recValues', p + 8 * i, 4, `property ${i} name reference`);
    add('recSizes', p + 8 * i + 4, 4, `property ${i} definition offset`);
  }
  p += count * 8;
  for (let i = 0; i < Math.min(defaultsSize, 8); i++) add('recStates', p + i, 1, `default state byte ${i}`);
  for (let i = 0; i + 4 <= defaultsSize; i += 4) add('recValues', p + i, 4, `default values +${i}`);
  p += defaultsSize;
  add('recSizes', p, 4, 'data region size');
  const dataAt = p + 4;
  for (let i = 0; i < count; i++) {
    const d = dataAt + u32(r, propRefs + 8 * i + 4);
    add('recHeader', d, 4, `property ${i} type`);
    add('recHeader', d + 4, 2, `property ${i} index`);
    add('recSizes', d + 6, 4, `property ${i} values offset`);
    add('recHeader', d + 10, 4, `property ${i} level`);
    add('recSizes', d + 14, 4, `property ${i} qualifier list size`);
  }
  // the class qualifier entries: name reference, type, value
  const end = qStart + qSize;
  for (let q = qStart + 4, i = 0; end - q >= 9; i++) {
    add('recValues', q, 4, `class qualifier ${i} name reference`);
    add('recHeader', q + 5, 4, `class qualifier ${i} type`);
    const t = u32(r, q + 5);
    const sz = isInline(t) ? slotSize(t) : 4;
    add('recValues', q + 9, Math.min(4, sz) as 1 | 2 | 4, `class qualifier ${i} value`);
    q += 9 + sz;
  }
}

/** Fields of an instance record (cim-format.md §8 / readInstanceValues) given its full layout in slot order. */
function instanceFields(r: Uint8Array, props: Array<{ type: number; offset: number }>, add: AddField): void {
  for (const c of [0, 1, 32, 63]) add('recHeader', 2 * c, 2, `class hash character ${c}`);
  add('recHeader', 128, 4, 'timestamp1 lo');
  add('recHeader', 132, 4, 'timestamp1 hi');
  add('recHeader', 136, 4, 'timestamp2 lo');
  add('recHeader', 140, 4, 'timestamp2 hi');
  add('recSizes', 144, 4, 'instance block size');
  add('recHeader', 148, 4, 'class name offset');
  add('recHeader', 152, 1, 'byte after the class name offset');
  const statesAt = 153;
  const nStates = Math.ceil((2 * props.length) / 8);
  for (let j = 0; j < nStates; j++) add('recStates', statesAt + j, 1, `property state byte ${j}`);
  const areaAt = statesAt + nStates;
  let area = 0;
  for (const p of props) area = Math.max(area, p.offset + slotSize(p.type));
  let p = areaAt + area;
  add('recSizes', p, 4, 'instance qualifier list size');
  p += Math.max(u32(r, p), 4);
  add('recSizes', p, 1, 'dynamic-properties flag');
  p += 1;
  add('recSizes', p, 4, 'data region size');
  const dataSize = u32(r, p) & 0x7fffffff;
  const dataAt = p + 4;
  assert.equal(dataAt + dataSize, r.length, 'instance layout mirror: the data region ends the record');
  props.forEach((prop, i) => {
    add('recValues', areaAt + prop.offset, Math.min(4, slotSize(prop.type)) as 1 | 2 | 4, `value slot of property ${i} (${typeName(prop.type)})`);
    const state = (r[statesAt + (i >> 2)]! >> ((i & 3) * 2)) & 3;
    if (state !== 0 || isInline(prop.type)) return;
    const off = dataAt + u32(r, areaAt + prop.offset);
    if (prop.type & CIM_ARRAY) {
      add('recSizes', off, 4, `array count of property ${i} (${typeName(prop.type)})`);
      if (!isInline(prop.type & 0xff)) add('recValues', off + 4, 4, `first element offset of property ${i}`);
    } else if ((prop.type & 0xff) !== 0x0d) add('recValues', off, 1, `string flag of property ${i}`);
  });
}

/** Locates the mutation targets in the pristine repository in `dir`. */
function computeTargets(dir: string): Targets {
  const bytes = Object.fromEntries(FILES.map((f) => [f, new Uint8Array(readFileSync(path.join(dir, f)))])) as Record<FileName, Uint8Array>;
  const repo = CimRepository.open(dir);
  const current = parseMapping(bytes[repo.mapping.current as FileName], repo.mapping.current);
  const objMap = current.objects.pages;
  const idxMap = current.index.pages;
  const fields = Object.fromEntries(CATS.map((c) => [c, [] as Field[]])) as Record<Cat, Field[]>;
  const digits: Field[] = [];
  const add = (cat: Cat, f: Field): void => void fields[cat].push(f);

  // the records: subscription instances, the __NAMESPACE instance naming ROOT\subscription, their classes' chains
  const subs = repo.subscriptions();
  const insts: CimInstance[] = [...subs.filters, ...subs.consumers, ...subs.bindings];
  assert.equal(insts.length, 3, 'the Win10 sample has 3 subscription objects');
  const nsInst = repo.instances('ROOT', '__NAMESPACE').find((i) => i.properties.some((p) => p.name === 'Name' && p.value === 'subscription'));
  assert.ok(nsInst, '__NAMESPACE instance "subscription" in ROOT');
  insts.push(nsInst);
  const classes = new Map<string, { loc: CimLocation; raw: RawClass }>();
  const records: Array<{ loc: CimLocation; kind: 'class' | 'instance'; label: string; inst?: CimInstance }> = [];
  const recordBytes = (loc: CimLocation): { r: Uint8Array; fileOff: (rel: number) => number; tocIndex: number } => {
    const toc = parseToc(bytes['OBJECTS.DATA'], objMap[loc.page]! * PAGE_SIZE);
    const tocIndex = toc.findIndex((e) => e.recordId === loc.recordId);
    const e = toc[tocIndex]!;
    assert.equal(e.size, loc.size);
    const fileOff = (rel: number): number => {
      const abs = e.offset + rel;
      return objMap[loc.page + Math.floor(abs / PAGE_SIZE)]! * PAGE_SIZE + (abs % PAGE_SIZE);
    };
    const r = new Uint8Array(e.size);
    for (let i = 0; i < e.size; i++) r[i] = bytes['OBJECTS.DATA'][fileOff(i)]!;
    return { r, fileOff, tocIndex };
  };
  for (const inst of insts) {
    records.push({ loc: inst.location, kind: 'instance', label: `${inst.className} instance`, inst });
    for (const name of inst.classChain) {
      const c = repo.classDefinition('ROOT\\subscription', name) ?? repo.classDefinition(inst.namespace ?? 'ROOT', name);
      assert.ok(c, `class ${name}`);
      if (classes.has(c.location.key)) continue;
      classes.set(c.location.key, { loc: c.location, raw: parseClassDefinition(recordBytes(c.location).r) });
      records.push({ loc: c.location, kind: 'class', label: `class ${name}` });
    }
  }
  const dataPages = new Set<number>();
  for (const rec of records) {
    const { r, fileOff, tocIndex } = recordBytes(rec.loc);
    const addRel: AddField = (cat, rel, width, label) => {
      if (rel >= 0 && rel + width <= r.length) add(cat, { file: 'OBJECTS.DATA', off: fileOff(rel), width, label: `${rec.label} ${label}` });
    };
    if (rec.kind === 'class') classFields(r, addRel);
    else {
      const chain = rec.inst!.classChain.map((n) => [...classes.values()].find((c) => c.raw.name === n)!.raw);
      const byIndex = new Map<number, { type: number; offset: number; index: number }>();
      for (const c of chain) for (const p of c.own) byIndex.set(p.index, p);
      instanceFields(r, [...byIndex.values()].sort((a, b) => a.index - b.index), addRel);
    }
    for (let i = 0; i < r.length; i++) addRel('recBody', i, 1, `byte ${i}`);
    const page = objMap[rec.loc.page]! * PAGE_SIZE;
    for (const [k, o] of [['record id', 0], ['offset', 4], ['size', 8]] as const) {
      // the record's own TOC entry, twice (weight), plus every entry of its page below
      for (let n = 0; n < 2; n++) add('toc', { file: 'OBJECTS.DATA', off: page + 16 * tocIndex + o, width: 4, label: `TOC entry of ${rec.label}: ${k}` });
    }
    const span = Math.ceil((fileOff(0) % PAGE_SIZE + r.length) / PAGE_SIZE);
    for (let p = 0; p < span; p++) dataPages.add(rec.loc.page + p);
  }
  for (const lp of [...dataPages].filter((p) => objMap[p]! >= 0)) {
    const o = objMap[lp]! * PAGE_SIZE;
    const toc = parseToc(bytes['OBJECTS.DATA'], o);
    for (let i = 0; i <= toc.length; i++) {
      for (const [k, d] of [['record id', 0], ['offset', 4], ['size', 8], ['checksum', 12]] as const) {
        add('toc', { file: 'OBJECTS.DATA', off: o + 16 * i + d, width: 4, label: `objects page ${lp} TOC[${i}${i === toc.length ? ', terminator' : ''}] ${k}` });
      }
    }
  }

  // INDEX.BTR: pages from the root to the target keys
  const btr = bytes['INDEX.BTR'];
  const targetKeys = new Set(records.map((r) => r.loc.key));
  const parent = new Map<number, number>();
  const pages = new Map<number, IndexPage>();
  const walk = (l: number): void => {
    if (pages.has(l)) return;
    const pg = parseIndexPage(btr, idxMap[l]! * PAGE_SIZE);
    pages.set(l, pg);
    for (const c of pg.children) {
      if (c < 0) continue;
      parent.set(c, l);
      walk(c);
    }
  };
  walk(repo.rootPage);
  const onPath = new Set<number>([repo.rootPage]);
  for (const [l, pg] of pages) {
    if (!pg.keys.some((k) => targetKeys.has(k))) continue;
    for (let x: number | undefined = l; x !== undefined; x = parent.get(x)) onPath.add(x);
  }
  const indexPath = [...onPath].sort((a, b) => (a === repo.rootPage ? -1 : b === repo.rootPage ? 1 : a - b));
  const lastSegments = new Set([...targetKeys].map((k) => k.slice(k.lastIndexOf('/') + 1)));
  for (const l of indexPath) {
    const o = idxMap[l]! * PAGE_SIZE;
    const n = u32(btr, o + 16);
    const f = (cat: Cat, off: number, width: 1 | 2 | 4, label: string, page?: number): void => add(cat, { file: 'INDEX.BTR', off, width, label: `index page ${l} ${label}`, page });
    f('btrHeader', o, 4, 'type');
    f('btrHeader', o + 4, 4, 'logical page number');
    f('btrHeader', o + 12, 4, 'root field');
    for (let i = 0; i < 3; i++) f('btrHeader', o + 16, 4, 'key count');
    for (let i = 0; i <= n; i++) f('btrChildren', o + 20 + 4 * n + 4 * i, 4, `child pointer ${i}`, l);
    const keyIdx = o + 20 + 8 * n + 4;
    for (let i = 0; i < n; i++) f('btrTables', keyIdx + 2 * i, 2, `key ${i} key-definition index`);
    const kAt = keyIdx + 2 * n;
    const k = u16(btr, kAt);
    for (let i = 0; i < 4; i++) f('btrTables', kAt, 2, 'key-definition table length');
    for (let i = 0; i < k; i++) f('btrTables', kAt + 2 + 2 * i, 2, `key-definition table[${i}]`);
    const sAt = kAt + 2 + 2 * k;
    const s = u16(btr, sAt);
    for (let i = 0; i < 4; i++) f('btrTables', sAt, 2, 'string count');
    for (let i = 0; i < s; i++) f('btrTables', sAt + 2 + 2 * i, 2, `string offset[${i}]`);
    const dataAt = sAt + 2 + 2 * s + 2;
    f('btrTables', dataAt - 2, 2, 'string data size');
    for (let i = 0; i < PAGE_SIZE; i += 7) f('btrBody', o + i, 1, `byte ${i}`);
    for (let i = 0; i < s; i++) {
      const so = dataAt + u16(btr, sAt + 2 + 2 * i);
      let e = so;
      while (btr[e] !== 0) e++;
      const str = Buffer.from(btr.subarray(so, e)).toString('latin1');
      if (!lastSegments.has(str)) continue;
      const m = /\.\d+\.\d+\.\d+$/.exec(str)!;
      for (let j = m.index; j < str.length; j++) if (str[j] !== '.') digits.push({ file: 'INDEX.BTR', off: so + j, width: 1, label: `index page ${l} digit ${j - m.index} of the location of ${str.slice(0, 12)}…` });
    }
  }

  // mapping files (the current one, MAPPING2, weighted twice)
  for (const m of [...MAPS, repo.mapping.current as FileName]) {
    const b = bytes[m];
    const lay = mapLayout(b);
    const f = (cat: Cat, off: number, label: string): void => add(cat, { file: m, off, width: 4, label: `${m} ${label}` });
    for (const [s, which] of [[0, 'objects'], [lay.idxStart, 'index']] as const) {
      for (const [d, name] of [[0, 'signature'], [4, 'sequence'], [8, 'id1'], [12, 'id2'], [16, 'physical page count']] as const) f('mapHeader', s + d, `${which} ${name}`);
      f('mapCounts', s + 20, `${which} entry count`);
    }
    f('mapCounts', lay.objFreeAt, 'objects free-list count');
    f('mapCounts', lay.idxFreeAt, 'index free-list count');
    f('mapHeader', lay.objFooterAt, 'objects footer');
    f('mapHeader', lay.idxFooterAt, 'index footer');
    for (let i = 0; i < 3; i++) f('mapRoot', lay.idxStart + 24 + 12, 'root page field (index entry 0 +12)');
    for (const p of dataPages) for (let d = 0; d < 24; d += 4) f('mapEntries', 24 + 24 * p + d, `objects entry ${p} +${d}`);
    for (const l of indexPath) for (let d = 0; d < 24; d += 4) f('mapEntries', lay.idxStart + 24 + 24 * l + d, `index entry ${l} +${d}`);
    for (const i of [0, lay.objFree - 1]) f('mapEntries', lay.objFreeAt + 4 + 4 * i, `objects free-list entry ${i}`);
  }

  const sizes = Object.fromEntries(FILES.map((f) => [f, bytes[f].length])) as Record<FileName, number>;
  const cuts = {} as Record<FileName, number[]>;
  for (const m of MAPS) {
    const lay = mapLayout(bytes[m]);
    cuts[m] = [0, 3, 4, 23, 24, 25, lay.objFreeAt, lay.objFreeAt + 4, lay.objFooterAt, lay.idxStart, lay.idxStart + 24, lay.idxStart + 40, lay.idxFreeAt + 2, lay.idxFooterAt, lay.idxFooterAt + 4, sizes[m] - 1];
  }
  cuts['INDEX.BTR'] = [0, 16, PAGE_SIZE - 1, ...indexPath.flatMap((l) => [0, 17, 100, 4000, PAGE_SIZE - 1].map((d) => idxMap[l]! * PAGE_SIZE + d)), sizes['INDEX.BTR'] - 1];
  cuts['OBJECTS.DATA'] = [
    0,
    PAGE_SIZE,
    ...records.flatMap((r) => {
      const { fileOff } = recordBytes(r.loc);
      return [fileOff(0) - (fileOff(0) % PAGE_SIZE) + 8, fileOff(0), fileOff(0) + 100, fileOff(r.loc.size - 1)];
    }),
    sizes['OBJECTS.DATA'] - 1,
  ];
  const counts = CATS.map((c) => `${c} ${fields[c].length}`).join(', ');
  const summary = `${records.length} records (${records.filter((r) => r.kind === 'class').length} class definitions) on objects pages [${[...dataPages].join(', ')}]; index pages [${indexPath.join(', ')}] (root ${repo.rootPage}); fields: ${counts}, key digits ${digits.length}`;
  return { fields, digits, indexPath, rootPage: repo.rootPage, cuts, sizes, summary };
}

// ---- mutations of the repository ------------------------------------------------------------------------------

type Op =
  | { k: 'flip'; cat: Cat; pick: number; bit: number }
  | { k: 'set'; cat: Cat; pick: number; value: number }
  | { k: 'add'; cat: Cat; pick: number; delta: number }
  | { k: 'fill'; cat: Cat; pick: number; len: number; byte: number }
  | { k: 'digit'; pick: number; d: number }
  | { k: 'cycle'; pick: number; to: number }
  | { k: 'truncate'; file: number; pick: number }
  | { k: 'delete'; file: number };

interface RepoCase {
  ops: Op[];
  full: boolean;
}

/** The mutated files (null = deleted; absent = unchanged) and a readable account of what was done. */
function applyOps(pristine: Record<FileName, Uint8Array>, t: Targets, ops: Op[]): { files: Map<FileName, Uint8Array | null>; done: string[] } {
  const files = new Map<FileName, Uint8Array | null>();
  const done: string[] = [];
  const get = (f: FileName): Uint8Array | null => {
    if (!files.has(f)) files.set(f, Uint8Array.from(pristine[f]));
    return files.get(f)!;
  };
  const field = (cat: Cat, pick: number): Field | undefined => {
    const list = t.fields[cat];
    return list.length ? list[pick % list.length] : undefined;
  };
  const at = (f: Field, what: string): Uint8Array | null => {
    const b = get(f.file);
    if (!b || f.off + f.width > b.length) {
      done.push(`(${f.label}: file deleted or truncated, ${what} skipped)`);
      return null;
    }
    return b;
  };
  const read = (b: Uint8Array, f: Field): number => (f.width === 4 ? u32(b, f.off) : f.width === 2 ? u16(b, f.off) : b[f.off]!);
  const hex = (v: number): string => `0x${v.toString(16)}`;
  for (const op of ops) {
    switch (op.k) {
      case 'flip':
      case 'set':
      case 'add': {
        const f = field(op.cat, op.pick);
        if (!f) break;
        const b = at(f, op.k);
        if (!b) break;
        const old = read(b, f);
        const mod = 2 ** (8 * f.width);
        const v = op.k === 'flip' ? (old ^ 2 ** (op.bit % (8 * f.width))) >>> 0 : op.k === 'set' ? op.value % mod : (((old + op.delta) % mod) + mod) % mod;
        put(b, f.off, v, f.width);
        done.push(`${f.file}@${hex(f.off)} ${f.label}: ${hex(old)} -> ${hex(read(b, f))}`);
        break;
      }
      case 'fill': {
        const f = field(op.cat, op.pick);
        if (!f) break;
        const b = at(f, 'fill');
        if (!b) break;
        b.fill(op.byte, f.off, Math.min(b.length, f.off + op.len));
        done.push(`${f.file}@${hex(f.off)} ${f.label}: ${op.len} bytes := ${hex(op.byte)}`);
        break;
      }
      case 'digit': {
        if (!t.digits.length) break;
        const f = t.digits[op.pick % t.digits.length]!;
        const b = at(f, 'digit');
        if (!b) break;
        const old = String.fromCharCode(b[f.off]!);
        b[f.off] = 0x30 + op.d;
        done.push(`${f.file}@${hex(f.off)} ${f.label}: '${old}' -> '${op.d}'`);
        break;
      }
      case 'cycle': {
        const f = field('btrChildren', op.pick);
        if (!f) break;
        const b = at(f, 'cycle');
        if (!b) break;
        const choices = [t.rootPage, f.page!, ...t.indexPath];
        const v = choices[op.to % choices.length]!;
        const old = u32(b, f.off);
        put(b, f.off, v, 4);
        done.push(`${f.file}@${hex(f.off)} ${f.label}: ${old} -> ${v} (cycle)`);
        break;
      }
      case 'truncate': {
        const name = FILES[op.file % FILES.length]!;
        const b = get(name);
        if (!b) break;
        const cuts = t.cuts[name];
        const len = op.pick % (cuts.length + 1) === cuts.length ? op.pick % (b.length + 1) : cuts[op.pick % (cuts.length + 1)]!;
        if (len >= b.length) break;
        files.set(name, b.slice(0, len));
        done.push(`${name} truncated to ${len} bytes`);
        break;
      }
      case 'delete': {
        const name = FILES[op.file % FILES.length]!;
        files.set(name, null);
        done.push(`${name} deleted`);
        break;
      }
    }
  }
  return { files, done };
}

/** Writes the case folder: mutated files written, unchanged ones hard-linked to the pristine copy. Returns the bytes present. */
function materialize(pristineDir: string, caseDir: string, files: Map<FileName, Uint8Array | null>): number {
  let total = 0;
  for (const f of FILES) {
    const to = path.join(caseDir, f);
    rmSync(to, { force: true });
    const v = files.get(f);
    if (v === null) continue;
    if (v === undefined) {
      const from = path.join(pristineDir, f);
      try {
        linkSync(from, to);
      } catch {
        copyFileSync(from, to);
      }
      total += statSync(to).size;
    } else {
      writeFileSync(to, v);
      total += v.length;
    }
  }
  return total;
}

const catArb = fc.constantFrom<Cat>(
  'mapHeader', 'mapCounts', 'mapRoot', 'mapEntries', 'mapEntries',
  'btrHeader', 'btrHeader', 'btrChildren', 'btrChildren', 'btrTables', 'btrTables', 'btrTables', 'btrBody',
  'toc', 'toc', 'toc', 'recHeader', 'recHeader', 'recSizes', 'recSizes', 'recSizes', 'recSizes', 'recValues', 'recValues', 'recStates', 'recStates', 'recBody',
);
const extreme32 = fc.oneof(
  fc.constantFrom(0, 1, 2, 3, 4, 8, 9, 13, 24, 0x7f, 0xff, 0x100, 0x3e8, 0x1fff, 0x2000, 0x2001, 0xfffe, 0xffff, 0x10000, 0x3fffffff, 0x40000000, 0x7fffffff, 0x80000000, 0xfffffffe, 0xffffffff),
  fc.nat({ max: 0x4000 }),
  fc.nat({ max: 0xffffffff }),
);
const pick = fc.nat();
const opArb: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.record({ k: fc.constant('flip' as const), cat: catArb, pick, bit: fc.nat({ max: 31 }) }), weight: 4 },
  { arbitrary: fc.record({ k: fc.constant('set' as const), cat: catArb, pick, value: extreme32 }), weight: 6 },
  { arbitrary: fc.record({ k: fc.constant('add' as const), cat: catArb, pick, delta: fc.integer({ min: -9, max: 9 }) }), weight: 3 },
  { arbitrary: fc.record({ k: fc.constant('fill' as const), cat: catArb, pick, len: fc.integer({ min: 1, max: 512 }), byte: fc.constantFrom(0, 0xff) }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant('digit' as const), pick, d: fc.nat({ max: 9 }) }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant('cycle' as const), pick, to: fc.nat() }), weight: 2 },
  { arbitrary: fc.record({ k: fc.constant('truncate' as const), file: fc.nat(), pick }), weight: 1 },
  { arbitrary: fc.record({ k: fc.constant('delete' as const), file: fc.nat() }), weight: 1 },
);
const repoCaseArb: fc.Arbitrary<RepoCase> = fc.record({
  ops: fc.array(opArb, { minLength: 1, maxLength: 5 }),
  full: fc.nat({ max: 24 }).map((n) => n === 0),
});

// ---- low-level parsers on the artemis fragments ------------------------------------------------------------------

type ParserKind = 'mapping' | 'index' | 'class' | 'instance' | 'toc';
interface ParserSeed {
  kind: ParserKind;
  name: string;
  bytes: Uint8Array;
  /** Field offsets (with widths) worth hitting. */
  fields: Array<{ off: number; width: 1 | 2 | 4 }>;
}

function parserSeeds(): ParserSeed[] {
  const read = (rel: string): Uint8Array => new Uint8Array(readFileSync(path.join(CIM_SAMPLES, rel)));
  const seeds: ParserSeed[] = [];
  const collect = (fn: (add: AddField) => void): Array<{ off: number; width: 1 | 2 | 4 }> => {
    const out: Array<{ off: number; width: 1 | 2 | 4 }> = [];
    fn((_cat, rel, width) => void out.push({ off: rel, width }));
    return out;
  };
  const cls = read('artemis-fragments/object_record.raw');
  seeds.push({ kind: 'class', name: 'object_record.raw', bytes: cls, fields: collect((add) => classFields(cls, add)) });
  seeds.push({ kind: 'class', name: 'class_data.raw', bytes: read('artemis-fragments/class_data.raw'), fields: [] });
  const inst = read('artemis-fragments/instance.raw');
  const instFields = collect((add) => {
    for (const o of [128, 132, 136, 140, 144, 148]) add('recHeader', o, 4, '');
    for (let j = 0; j < 16; j++) add('recStates', 153 + j, 1, '');
  });
  seeds.push({ kind: 'instance', name: 'instance.raw', bytes: inst, fields: instFields });
  const idx = read('artemis-fragments/index_page.raw');
  const n = u32(idx, 16);
  const kAt = 20 + 8 * n + 4 + 2 * n;
  const sAt = kAt + 2 + 2 * u16(idx, kAt);
  const idxFields: Array<{ off: number; width: 1 | 2 | 4 }> = [0, 4, 12, 16, 16, 16].map((off) => ({ off, width: 4 as const }));
  for (let i = 0; i <= n; i++) idxFields.push({ off: 20 + 4 * n + 4 * i, width: 4 });
  for (let i = 0; i < n; i++) idxFields.push({ off: 20 + 8 * n + 4 + 2 * i, width: 2 });
  for (const o of [kAt, kAt, kAt + 2, sAt, sAt, sAt + 2, sAt + 2 + 2 * u16(idx, sAt)]) idxFields.push({ off: o, width: 2 });
  seeds.push({ kind: 'index', name: 'index_page.raw', bytes: idx, fields: idxFields });
  for (const rel of ['artemis-fragments/MAPPING1.MAP', 'flare-wmi-win7-wmikatz/MAPPING2.MAP', 'flare-wmi-xp-mapping-only/MAPPING1.MAP', 'dtformats-xp/MAPPING1.MAP', 'dtformats-xp/OBJECTS.MAP']) {
    if (!existsSync(path.join(CIM_SAMPLES, rel))) continue;
    const b = read(rel);
    const fields: Array<{ off: number; width: 1 | 2 | 4 }> = [0, 4, 8, 12, 16, 20].map((off) => ({ off, width: 4 as const }));
    let v22 = false;
    try {
      v22 = parseMapping(b, 'M').version === '2.2';
    } catch {
      // a one-section XP map (OBJECTS.MAP): fine as a seed, the parser rejects it
    }
    if (v22) {
      const lay = mapLayout(b);
      for (const off of [lay.objFreeAt, lay.objFooterAt, lay.idxStart, lay.idxStart + 8, lay.idxStart + 12, lay.idxStart + 16, lay.idxStart + 20, lay.idxStart + 36, lay.idxFreeAt, lay.idxFooterAt]) fields.push({ off, width: 4 });
    } else {
      const count = u32(b, 12);
      const freeAt = 16 + 4 * count;
      const idxStart = freeAt + 4 + 4 * u32(b, freeAt) + 4;
      for (const off of [freeAt, idxStart, idxStart + 8, idxStart + 12]) fields.push({ off, width: 4 });
    }
    seeds.push({ kind: 'mapping', name: rel, bytes: b, fields });
  }
  const page = read('artemis-fragments/object_page.raw');
  seeds.push({ kind: 'toc', name: 'object_page.raw', bytes: page, fields: Array.from({ length: 64 }, (_, i) => ({ off: 4 * i, width: 4 as const })) });
  return seeds;
}

type PStep =
  | { k: 'flip'; field: boolean; pick: number; bit: number }
  | { k: 'set'; field: boolean; pick: number; value: number }
  | { k: 'add'; pick: number; delta: number }
  | { k: 'fill'; field: boolean; pick: number; len: number; byte: number }
  | { k: 'truncate'; pick: number }
  | { k: 'append'; bytes: Uint8Array };

interface ParserCase {
  seed: number;
  steps: PStep[];
  /** parseIndexPage: the page is placed at this multiple of 4 KiB in a larger buffer (0 = as is). */
  shift: number;
  /** Extra (type, offset) slots handed to the instance value decoder beside the class's own layout. */
  props: Array<{ type: number; offset: number }>;
}

const parserCaseArb: fc.Arbitrary<ParserCase> = fc.record({
  seed: fc.nat(),
  steps: fc.array(
    fc.oneof(
      { arbitrary: fc.record({ k: fc.constant('flip' as const), field: fc.boolean(), pick, bit: fc.nat({ max: 31 }) }), weight: 4 },
      { arbitrary: fc.record({ k: fc.constant('set' as const), field: fc.boolean(), pick, value: extreme32 }), weight: 6 },
      { arbitrary: fc.record({ k: fc.constant('add' as const), pick, delta: fc.integer({ min: -9, max: 9 }) }), weight: 2 },
      { arbitrary: fc.record({ k: fc.constant('fill' as const), field: fc.boolean(), pick, len: fc.integer({ min: 1, max: 256 }), byte: fc.constantFrom(0, 0xff, 1) }), weight: 1 },
      { arbitrary: fc.record({ k: fc.constant('truncate' as const), pick }), weight: 2 },
      { arbitrary: fc.record({ k: fc.constant('append' as const), bytes: fc.uint8Array({ maxLength: 64 }) }), weight: 1 },
    ),
    { minLength: 1, maxLength: 5 },
  ),
  shift: fc.constantFrom(0, 0, 0, 1, 2, 3),
  props: fc.array(
    fc.record({
      type: fc.oneof(fc.constantFrom(0x02, 0x03, 0x04, 0x05, 0x08, 0x0b, 0x0d, 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x65, 0x66, 0x67), fc.nat({ max: 0xff })).chain((t) => fc.constantFrom(t, t | CIM_ARRAY)),
      offset: fc.oneof(fc.nat({ max: 64 }), extreme32),
    }),
    { maxLength: 4 },
  ),
});

function applySteps(s: ParserSeed, steps: PStep[]): Uint8Array {
  let b = Uint8Array.from(s.bytes);
  const where = (field: boolean, p: number, width: 1 | 2 | 4): { off: number; width: 1 | 2 | 4 } | null => {
    if (field && s.fields.length) return s.fields[p % s.fields.length]!;
    return b.length ? { off: (p % b.length) & ~(width - 1), width } : null;
  };
  for (const st of steps) {
    switch (st.k) {
      case 'flip': {
        const w = where(st.field, st.pick, 1);
        if (w && w.off < b.length) b[w.off + ((st.bit >> 3) % w.width)] ^= 1 << (st.bit & 7);
        break;
      }
      case 'set': {
        const w = where(st.field, st.pick, 4);
        if (w) put(b, w.off, st.value % 2 ** (8 * w.width), w.width);
        break;
      }
      case 'add': {
        const w = where(true, st.pick, 4);
        if (w && w.off + w.width <= b.length) {
          const old = w.width === 4 ? u32(b, w.off) : w.width === 2 ? u16(b, w.off) : b[w.off]!;
          const mod = 2 ** (8 * w.width);
          put(b, w.off, (((old + st.delta) % mod) + mod) % mod, w.width);
        }
        break;
      }
      case 'fill': {
        const w = where(st.field, st.pick, 1);
        if (w) b.fill(st.byte, w.off, Math.min(b.length, w.off + st.len));
        break;
      }
      case 'truncate':
        b = b.slice(0, st.pick % (b.length + 1));
        break;
      case 'append': {
        const g = new Uint8Array(b.length + st.bytes.length);
        g.set(b);
        g.set(st.bytes, b.length);
        b = g;
        break;
      }
    }
  }
  return b;
}

const BUILTIN_ERRORS = [TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError];

/** `fn()` returns, or throws an Error subclass with a message that is not a JS engine error (those are bugs). */
function returnsOrFormatError<T>(what: string, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (e) {
    assert.ok(e instanceof Error, `${what} threw a non-Error: ${String(e)}`);
    assert.ok(!BUILTIN_ERRORS.some((c) => e instanceof c), `${what} threw a built-in ${e.name} (a bug, not a format error):\n${describeError(e)}`);
    assert.ok(typeof e.message === 'string' && e.message.length > 0, `${what} threw an Error without a message`);
    return undefined;
  }
}

/** The low-level contract on one mutated fragment. Returns whether the parser accepted it. */
function exerciseParser(kind: ParserKind, b: Uint8Array, c: ParserCase, layout: Array<{ type: number; offset: number }>): boolean {
  switch (kind) {
    case 'mapping': {
      const m = returnsOrFormatError('parseMapping', () => parseMapping(b, 'MAPPING1.MAP'));
      if (!m) return false;
      for (const s of [m.objects, m.index]) {
        assert.ok(s.pages instanceof Int32Array && s.pages.length <= b.length / 4, 'entry table bounded by the file');
        assert.ok(s.pages.every((p) => p >= -1 && p < 0x3fffffff), 'page numbers masked');
        assert.ok(s.free.length <= b.length / 4, 'free list bounded by the file');
      }
      return true;
    }
    case 'index': {
      const base = c.shift * 4096;
      const buf = new Uint8Array(base + b.length);
      buf.set(b, base);
      const p = returnsOrFormatError('parseIndexPage', () => parseIndexPage(buf, base));
      if (!p) return false;
      assert.equal(p.children.length, p.keys.length + 1, 'children = keys + 1');
      assert.ok(p.keys.every((k) => typeof k === 'string'));
      return true;
    }
    case 'class': {
      const cls = returnsOrFormatError('parseClassDefinition', () => parseClassDefinition(b));
      if (!cls) return false;
      assert.equal(typeof cls.name, 'string');
      assert.ok(cls.own.every((p) => typeof p.name === 'string' && Array.isArray(p.qualifiers)));
      assert.equal(typeof JSON.stringify(cls.qualifiers), 'string');
      return true;
    }
    case 'instance': {
      const inst = returnsOrFormatError('parseInstanceHeader', () => parseInstanceHeader(b, '2.2'));
      if (!inst) return false;
      assert.match(inst.classHash, /^[0-9A-F]+$/);
      const v = returnsOrFormatError('readInstanceValues', () => readInstanceValues(inst, [...layout, ...c.props]));
      if (v) assert.equal(typeof JSON.stringify(v.values), 'string');
      return true;
    }
    case 'toc': {
      const t = returnsOrFormatError('parseToc', () => parseToc(b, 0));
      return t !== undefined;
    }
  }
}

// ---- running in a worker ------------------------------------------------------------------------------------------

type Job =
  | { kind: 'repo'; pristine: string; work: string; runs: number; seed: number }
  | { kind: 'scenarios'; pristine: string; work: string; seed: number }
  | { kind: 'parsers'; runs: number; seed: number };

interface RepoStats extends GuardStats {
  runs: number;
  opened: number;
  /** Cases that still found all 3 subscription objects. */
  intact: number;
  /** Cases with more warnings than the pristine repository. */
  damaged: number;
  full: number;
  changes: number;
}

interface ParserStats extends GuardStats {
  runs: number;
  accepted: Record<string, number>;
}

function runRepoJob(job: Extract<Job, { kind: 'repo' | 'scenarios' }>): void {
  const pristine = Object.fromEntries(FILES.map((f) => [f, new Uint8Array(readFileSync(path.join(job.pristine, f)))])) as Record<FileName, Uint8Array>;
  const t = computeTargets(job.pristine);
  const baseWarnings = CimRepository.open(job.pristine).warnings.length;
  const caseDir = mkdtempSync(path.join(job.work, 'case-'));
  const guard = new CaseGuard({ caseMs: CHEAP_CASE_MS, caseArrayBuffers: CASE_ARRAYBUFFER_SLACK, rss: RSS_LIMIT });
  const stats = { runs: 0, opened: 0, intact: 0, damaged: 0, full: 0, changes: 0 };
  const check = (c: RepoCase): void => {
    const { files, done } = applyOps(pristine, t, c.ops);
    const bytes = materialize(job.pristine, caseDir, files);
    stats.runs++;
    stats.changes += done.length;
    if (c.full) stats.full++;
    const r = guard.run(
      () => `${c.full ? 'full' : 'cheap'}: ${done.join('; ') || '(no change)'}`,
      () => {
        try {
          return exerciseRepo(caseDir, c.full);
        } catch (e) {
          if (e instanceof assert.AssertionError) e.message = `${e.message}\nmutations: ${done.join('; ')}`;
          throw e;
        }
      },
      { allowance: bytes, caseMs: c.full ? FULL_CASE_MS : CHEAP_CASE_MS },
    );
    if (r.opened) stats.opened++;
    if (r.subscriptions === 3) stats.intact++;
    if (r.warnings > baseWarnings) stats.damaged++;
  };
  let details: Outcome;
  if (job.kind === 'repo') {
    details = outcome(fc.check(fc.property(repoCaseArb, check), { seed: job.seed, numRuns: job.runs }));
  } else {
    // every file deleted, every cut point of every file, every child pointer pointing back up the path
    const cases: RepoCase[] = [];
    FILES.forEach((f, i) => {
      cases.push({ ops: [{ k: 'delete', file: i }], full: false });
      t.cuts[f].forEach((_, j) => cases.push({ ops: [{ k: 'truncate', file: i, pick: j }], full: false }));
    });
    cases.push({ ops: MAPS.map((m) => ({ k: 'delete' as const, file: FILES.indexOf(m) })), full: false });
    cases.push({ ops: [{ k: 'delete', file: 3 }, { k: 'delete', file: 4 }], full: false });
    const children = t.fields.btrChildren.length;
    for (let p = 0; p < children; p += Math.max(1, Math.floor(children / 12))) for (let to = 0; to < 2; to++) cases.push({ ops: [{ k: 'cycle', pick: p, to }], full: false });
    cases.push({ ops: [{ k: 'cycle', pick: 0, to: 0 }, { k: 'cycle', pick: children - 1, to: 1 }], full: true });
    details = { failed: false, report: '' };
    for (const [i, c] of cases.entries()) {
      try {
        check(c);
      } catch (e) {
        details = { failed: true, report: `scenario ${i} ${JSON.stringify(c.ops)} failed:\n${describeError(e)}` };
        break;
      }
    }
  }
  rmSync(caseDir, { recursive: true, force: true });
  finishJob<RepoStats>(details, { ...guard.stats, ...stats }, REPRODUCE);
}

function runParserJob(job: Extract<Job, { kind: 'parsers' }>): void {
  const seeds = parserSeeds();
  const layoutOf = parseClassDefinition(seeds.find((s) => s.name === 'object_record.raw')!.bytes).own;
  const guard = new CaseGuard({ caseMs: 2000, caseArrayBuffers: 4 * 1024 * 1024, rss: 512 * 1024 * 1024 });
  const accepted: Record<string, number> = {};
  const details = outcome(
    fc.check(
      fc.property(parserCaseArb, (c) => {
        const s = seeds[c.seed % seeds.length]!;
        const b = applySteps(s, c.steps);
        const ok = guard.run(
          () => `${s.kind} ${s.name} ${JSON.stringify(c, (_k, v: unknown) => (v instanceof Uint8Array ? `<${v.length} bytes>` : v))}`,
          () => exerciseParser(s.kind, b, c, layoutOf),
          { allowance: 2 * b.length + c.shift * 4096 },
        );
        if (ok) accepted[s.kind] = (accepted[s.kind] ?? 0) + 1;
      }),
      { seed: job.seed, numRuns: job.runs },
    ),
  );
  finishJob<ParserStats>(details, { ...guard.stats, runs: job.runs, accepted }, REPRODUCE);
}

// ---- tests --------------------------------------------------------------------------------------------------------

if (!isMainThread && workerData) {
  const job = workerData as Job;
  if (job.kind === 'parsers') runParserJob(job);
  else runRepoJob(job);
} else if (isMainThread) {
  const { after, before, describe, test } = await import('node:test');
  const runs = (n: number): number => Math.max(1, Math.round(n * RUN_FACTOR));
  const mb = (n: number): string => (n / 1048576).toFixed(1);
  const repoWorker = (job: Job): Promise<RepoStats> => inWorker<RepoStats>(import.meta.url, job, { seed: job.seed, watchdogMs: WATCHDOG_MS, maxOldGenerationSizeMb: 1024 });
  const repoLine = (seed: number, s: RepoStats): string =>
    `seed ${seed}: ${s.runs} cases (${s.full} full walks, ${s.changes} changes), ${s.opened} opened, ${s.intact} still with all 3 subscription objects, ${s.damaged} with extra warnings; slowest case ${s.maxCaseMs.toFixed(0)} ms, max arrayBuffers growth beyond the files read ${mb(s.maxCaseAb)} MB, RSS growth ${mb(s.rssGrowth)} MB`;

  describe('CIM repository fuzz (Win10 sample)', { skip: win10Skip, timeout: 10 * 60 * 1000 }, () => {
    let work = '';
    let pristine = '';
    before(() => {
      // RAM-backed when available: every case writes the mutated files
      const base = existsSync('/dev/shm') && statSync('/dev/shm').isDirectory() ? '/dev/shm' : os.tmpdir();
      work = mkdtempSync(path.join(base, 'wmiscope-cim-fuzz-'));
      pristine = path.join(work, 'pristine');
      mkdirSync(pristine);
      for (const f of FILES) writeFileSync(path.join(pristine, f), gunzipSync(readFileSync(path.join(WIN10, `${f}.gz`))));
    });
    after(() => {
      if (work) rmSync(work, { recursive: true, force: true });
    });

    test('pristine repository: the contract holds on a full walk, and the mutation targets are located', (t) => {
      const r = exerciseRepo(pristine, true);
      assert.ok(r.opened);
      assert.equal(r.keys, 20461);
      assert.equal(r.subscriptions, 3);
      assert.equal(r.classes, 6678);
      const tg = computeTargets(pristine);
      for (const c of CATS) assert.ok(tg.fields[c].length > 0, `no ${c} fields located`);
      assert.ok(tg.digits.length > 0, 'key location digits located');
      assert.ok(tg.indexPath.length >= 2 && tg.indexPath[0] === 57, `index path ${tg.indexPath.join(',')}`);
      t.diagnostic(tg.summary);
    });

    test('deleted files, truncation of each file at fixed cut points, index child pointers forming cycles', async (t) => {
      const s = await repoWorker({ kind: 'scenarios', pristine, work, seed: SEED });
      t.diagnostic(repoLine(SEED, s));
    });

    test('mutated mapping files, index pages, TOC entries and records (two workers)', async (t) => {
      const jobs = [0, 1].map((i) => ({ kind: 'repo' as const, pristine, work, runs: runs(150), seed: SEED + 1 + i }));
      const stats = await Promise.all(jobs.map(repoWorker));
      stats.forEach((s, i) => t.diagnostic(repoLine(jobs[i]!.seed, s)));
    });
  });

  describe('CIM low-level parsers fuzz (artemis fragments)', { skip: fragmentsSkip, timeout: 5 * 60 * 1000 }, () => {
    test('parseMapping / parseIndexPage / parseClassDefinition / parseInstanceHeader + values / parseToc on mutated and truncated bytes', async (t) => {
      const seed = SEED + 10;
      const s = await inWorker<ParserStats>(import.meta.url, { kind: 'parsers', runs: runs(3000), seed } satisfies Job, { seed, watchdogMs: WATCHDOG_MS, maxOldGenerationSizeMb: 512 });
      t.diagnostic(`seed ${seed}: ${s.runs} cases, accepted ${JSON.stringify(s.accepted)}; slowest case ${s.maxCaseMs.toFixed(1)} ms, max arrayBuffers growth ${mb(s.maxCaseAb)} MB, RSS growth ${mb(s.rssGrowth)} MB`);
    });
  });
}
