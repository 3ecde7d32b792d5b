/**
 * Mutation fuzzing of the EVTX reader (src/evtx/) with fast-check.
 *
 * Contract under test, for ANY input bytes:
 *  - `EvtxReader.fromBuffer` returns a reader or throws `EvtxFormatError` (nothing else);
 *  - iterating `records()` (with and without `recovered`), rendering every record with
 *    `toJSON` / `toJsonString` / `toXml`, reading its cheap fields, and `chunks()` never throw;
 *  - `JSON.parse(rec.toJsonString())` deep-equals `rec.toJSON()`;
 *  - nothing hangs (each case is timed; a watchdog kills the worker that runs the cases when it
 *    stops reporting progress, so even a synchronous infinite loop fails the test instead of
 *    hanging it), and no length field read from the file turns into a huge allocation (per-case
 *    growth of `arrayBuffers`, RSS growth over a whole property, and a heap cap on the worker).
 *
 * Seeds: the small real files committed in test/fixtures/evtx (see NOTICE.md there), plus a few
 * files from the shared sample corpus (`<repoRoot>/../shared/samples`) when it is present.
 *
 * Reproduce a failure: the report prints the fast-check seed and path; rerun with
 * `EVTX_FUZZ_SEED=<seed>` (and `EVTX_FUZZ_RUNS=<factor>` to scale the number of runs).
 */
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { isMainThread, workerData } from 'node:worker_threads';
import fc from 'fast-check';
import { EvtxFormatError, EvtxReader } from '../src/evtx/index.js';
import { CaseGuard, describeError, envNumber, finishJob, inWorker, outcome } from './support/fuzz.js';
import { CHUNK, CHUNK_HEADER, FILE_HEADER, applyCase, caseArb } from './support/evtx-mutate.js';
import type { GuardStats, Outcome } from './support/fuzz.js';
import { evtxSample, hasSamples, repoRoot, skipReason } from './support/samples.js';


/** Fixed default seed so runs are reproducible; override with EVTX_FUZZ_SEED. */
const SEED = envNumber('EVTX_FUZZ_SEED', 0x5eed2024);
const RUN_FACTOR = envNumber('EVTX_FUZZ_RUNS', 1);

/** Hang guard (not a speed bound): one case = parse + render every record twice. */
const CASE_LIMIT_MS = 5000;
/** The watchdog gives up on the worker when it reports nothing for this long. */
const WATCHDOG_MS = 30000;
/** No single case may grow `arrayBuffers` by more than this. */
const CASE_ARRAYBUFFER_LIMIT = 8 * 1024 * 1024;
/** RSS growth allowed over one whole property. */
const RSS_LIMIT = 512 * 1024 * 1024;

const FIXTURES = ['Application_no_crc32.evtx', 'MSExchange_Management_wec.evtx', 'issue_38.evtx', 'dns_log_malformed.evtx'];

/** Extra seeds from the shared corpus (paths relative to samples/evtx), used when present. */
const SHARED_SEEDS = [
  'EVTX-ATTACK-SAMPLES/sysmon_20_21_1_CommandLineEventConsumer.evtx',
  'EVTX-ATTACK-SAMPLES/wmighost_sysmon_20_21_1.evtx',
  'EVTX-ATTACK-SAMPLES/LM_WMIC_4648_rpcss.evtx',
  'EVTX-ATTACK-SAMPLES/wmi_remote_registry_sysmon.evtx',
  'hayabusa-sample-evtx/ID19-20-WMI registration via PowerLurk.evtx',
  'hayabusa-sample-evtx/ID800-4103-4104-WMI registration via PowerLurk.evtx',
  'hayabusa-sample-evtx/ID4781-Computer account renamed without a trailing $ (CVE-2021-42278).evtx',
  'sigma/d4f1a2b3-7c8e-4d5f-b6a9-1e0c2d3f4e5b.evtx',
];

function fixturesDir(): string {
  return path.join(repoRoot(), 'test', 'fixtures', 'evtx');
}

// ---- the contract, checked on one input ---------------------------------------------------------------

interface CaseResult {
  opened: boolean;
  records: number;
  /** Reader warnings plus per-record warnings: shows that the mutations do reach the parser. */
  warnings: number;
}

/** Runs every API of the contract on `bytes`; throws (an AssertionError) on any breach. */
export function exercise(bytes: Uint8Array): CaseResult {
  let reader: EvtxReader;
  try {
    reader = EvtxReader.fromBuffer(bytes);
  } catch (e) {
    if (e instanceof EvtxFormatError) return { opened: false, records: 0, warnings: 0 };
    assert.fail(`fromBuffer threw something other than EvtxFormatError:\n${describeError(e)}`);
  }
  let records = 0;
  let recWarnings = 0;
  for (const recovered of [false, true]) {
    let where = `records({ recovered: ${recovered} })`;
    try {
      for (const rec of reader.records({ recovered })) {
        records++;
        where = `record ${rec.recordId} at file offset ${rec.offset} (recovered: ${rec.recovered})`;
        const obj = rec.toJSON();
        const text = rec.toJsonString();
        const xml = rec.toXml();
        assert.equal(typeof text, 'string');
        assert.equal(typeof xml, 'string');
        assert.ok(obj !== null && typeof obj === 'object', 'toJSON returns an object');
        let parsed: unknown;
        try {
          parsed = JSON.parse(text);
        } catch (e) {
          assert.fail(`${where}: toJsonString is not valid JSON (${(e as Error).message}): ${text.slice(0, 300)}`);
        }
        assert.deepStrictEqual(parsed, obj, `${where}: JSON.parse(toJsonString()) differs from toJSON()`);
        const id = rec.eventId;
        assert.ok(id === null || Number.isInteger(id), `${where}: eventId ${String(id)}`);
        assert.match(rec.timestamp, /Z$/);
        assert.equal(typeof rec.filetime, 'bigint');
        void rec.channel;
        void rec.provider;
        assert.ok(Array.isArray(rec.warnings));
        recWarnings += rec.warnings.length;
      }
      where = `chunks({ recovered: ${recovered} })`;
      const chunks = reader.chunks({ recovered });
      assert.equal(chunks.length, reader.slotCount, 'chunks() lists every slot');
    } catch (e) {
      if (e instanceof assert.AssertionError) throw e;
      assert.fail(`${where} threw:\n${describeError(e)}`);
    }
  }
  for (const w of reader.warnings) assert.equal(typeof w.code, 'string');
  return { opened: true, records, warnings: reader.warnings.length + recWarnings };
}

/** Inputs that are mostly not EVTX: random bytes, optionally behind a file signature and/or a chunk signature. */
const rawArb = fc.record({
  prefix: fc.constantFrom('none', 'file', 'chunk', 'both'),
  body: fc.oneof(fc.uint8Array({ maxLength: 600 }), fc.uint8Array({ minLength: FILE_HEADER, maxLength: 2 * CHUNK + FILE_HEADER + 100, size: 'max' })),
});

function rawBytes(r: { prefix: string; body: Uint8Array }): Uint8Array {
  const b = Uint8Array.from(r.body);
  const magic = (o: number, s: string): void => {
    for (let i = 0; i < s.length && o + i < b.length; i++) b[o + i] = s.charCodeAt(i);
  };
  if (r.prefix === 'file' || r.prefix === 'both') magic(0, 'ElfFile\0');
  if (r.prefix === 'chunk' || r.prefix === 'both') magic(FILE_HEADER, 'ElfChnk\0');
  return b;
}


// ---- crafted records (cases random mutation cannot reach) ------------------------------------------------

/** Little-endian byte writer; `base` is the chunk offset of byte 0 (BinXML names are chunk-relative). */
class Bx {
  readonly a: number[] = [];
  constructor(readonly base: number) {}
  get at(): number {
    return this.base + this.a.length;
  }
  u8(v: number): this {
    this.a.push(v & 0xff);
    return this;
  }
  u16(v: number): this {
    return this.u8(v).u8(v >> 8);
  }
  u32(v: number): this {
    for (let i = 0; i < 4; i++) this.u8(Math.floor(v / 2 ** (8 * i)));
    return this;
  }
  /** An inline name: offset (pointing just past itself), next, hash, count, UTF-16, NUL. */
  name(s: string): this {
    this.u32(this.at + 4).u32(0).u16(0).u16(s.length);
    for (const c of s) this.u16(c.charCodeAt(0));
    return this.u16(0);
  }
  text(s: string): this {
    this.u8(0x05).u8(0x01).u16(s.length);
    for (const c of s) this.u16(c.charCodeAt(0));
    return this;
  }
  /** An element; `dep` adds the dependency id used inside template definitions. */
  elem(n: string, body: (w: this) => void, attrs?: (w: this) => void, dep = false): this {
    this.u8(attrs ? 0x41 : 0x01);
    if (dep) this.u16(0xffff);
    this.u32(0).name(n);
    if (attrs) {
      this.u32(0);
      attrs(this);
    }
    this.u8(0x02);
    body(this);
    return this.u8(0x04);
  }
  attr(n: string, value: (w: this) => void): this {
    this.u8(0x06).name(n);
    value(this);
    return this;
  }
}

const RECORD_BINXML = CHUNK_HEADER + 24;

/** A one-chunk EVTX file holding one record whose BinXML (after the fragment header) is written by `body`. */
function craftFile(body: (w: Bx) => void): Uint8Array {
  const file = new Uint8Array(FILE_HEADER + CHUNK);
  const v = new DataView(file.buffer);
  file.set(Buffer.from('ElfFile\0', 'latin1'), 0);
  v.setUint32(32, 128, true);
  v.setUint16(36, 1, true);
  v.setUint16(38, 3, true);
  v.setUint16(40, 4096, true);
  v.setUint16(42, 1, true);
  const w = new Bx(RECORD_BINXML);
  w.u8(0x0f).u8(1).u8(1).u8(0);
  body(w);
  w.u8(0x00);
  const size = 24 + w.a.length + 4;
  const c = FILE_HEADER;
  const r = c + CHUNK_HEADER;
  file.set(Buffer.from('ElfChnk\0', 'latin1'), c);
  for (const o of [8, 16, 24, 32]) v.setUint32(c + o, 1, true);
  v.setUint32(c + 40, 128, true);
  v.setUint32(c + 44, CHUNK_HEADER, true);
  v.setUint32(c + 48, CHUNK_HEADER + size, true);
  v.setUint32(r, 0x2a2a, true);
  v.setUint32(r + 4, size, true);
  v.setUint32(r + 8, 1, true);
  v.setBigUint64(r + 16, 0x01d4a2ce8ece6cf4n, true);
  file.set(w.a, r + 24);
  v.setUint32(r + size - 4, size, true);
  return file;
}

/** Template-less `<Event><System>…</System></Event>`. */
const systemRecord = (inner: (w: Bx) => void): Uint8Array => craftFile((w) => w.elem('Event', (w) => w.elem('System', inner)));

/**
 * A record instantiating an inline template `<Event><System><EventID>%0</EventID></System>
 * <EventData><Data Name="V0">%1</Data>…</EventData></Event>` with the given typed values.
 */
function templateRecord(values: Array<{ type: number; bytes: number[] }>): Uint8Array {
  return craftFile((w) => {
    w.u8(0x0c).u8(0x01).u32(0x11223344);
    w.u32(w.at + 4); // definition follows inline
    w.u32(0);
    for (let i = 0; i < 16; i++) w.u8(i);
    const sizeAt = w.a.length;
    w.u32(0);
    const dataStart = w.a.length;
    w.u8(0x0f).u8(1).u8(1).u8(0);
    w.elem(
      'Event',
      (w) => {
        w.elem('System', (w) => w.elem('EventID', (w) => w.u8(0x0e).u16(0).u8(values[0]!.type), undefined, true), undefined, true);
        w.elem('EventData', (w) => values.slice(1).forEach((v, i) => w.elem('Data', (w) => w.u8(0x0e).u16(i + 1).u8(v.type), (w) => w.attr('Name', (w) => w.text(`V${i}`)), true)), undefined, true);
      },
      undefined,
      true,
    );
    w.u8(0x00);
    const ds = w.a.length - dataStart;
    w.a[sizeAt] = ds & 0xff;
    w.a[sizeAt + 1] = ds >> 8;
    w.u32(values.length);
    for (const val of values) w.u16(val.bytes.length).u8(val.type).u8(0);
    for (const val of values) w.a.push(...val.bytes);
  });
}

const f64 = (x: number): number[] => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(x);
  return [...b];
};
const EVENT_4624 = { type: 0x06, bytes: [0x10, 0x12] };

/** The single record of a crafted file, after checking the whole contract on it. */
function onlyRecord(file: Uint8Array): { json: unknown; text: string; xml: string } {
  const r = EvtxReader.fromBuffer(file);
  const recs = [...r.records()];
  assert.equal(recs.length, 1, `crafted record did not parse: ${JSON.stringify(r.warnings)}`);
  const rec = recs[0]!;
  const out = { json: rec.toJSON(), text: rec.toJsonString(), xml: rec.toXml() };
  exercise(file);
  return out;
}

/** Names inherited from Object.prototype: BinXML names are data and must not hit them. */
const PROTO_NAMES = ['constructor', 'toString', '__proto__'];

// ---- running a property in a worker (so that a hang cannot hang the test) ----------------------------------

type Job = { kind: 'mutate'; files: string[]; runs: number; seed: number } | { kind: 'raw'; runs: number; seed: number };
interface Stats extends GuardStats {
  runs: number;
  opened: number;
  records: number;
  damaged: number;
}

function runJob(job: Job): void {
  const names = job.kind === 'mutate' ? job.files.map((f) => path.basename(f)) : [];
  const seeds = job.kind === 'mutate' ? job.files.map((f) => new Uint8Array(readFileSync(f))) : [];
  let opened = 0;
  let records = 0;
  let damaged = 0;
  const guard = new CaseGuard({ caseMs: CASE_LIMIT_MS, caseArrayBuffers: CASE_ARRAYBUFFER_LIMIT, rss: RSS_LIMIT });
  const check = (bytes: Uint8Array, desc: () => string): void => {
    const r = guard.run(desc, () => exercise(bytes));
    if (r.opened) opened++;
    records += r.records;
    if (r.warnings > 0) damaged++;
  };
  const details: Outcome =
    job.kind === 'mutate'
      ? outcome(
          fc.check(
            fc.property(caseArb, (c) => check(applyCase(seeds, c), () => `${names[c.seed % names.length]} ${JSON.stringify(c.ops)}`)),
            { seed: job.seed, numRuns: job.runs },
          ),
        )
      : outcome(
          fc.check(fc.property(rawArb, (r) => check(rawBytes(r), () => `raw ${r.prefix} ${r.body.length} bytes`)), { seed: job.seed, numRuns: job.runs }),
        );
  finishJob<Stats>(details, { ...guard.stats, runs: job.runs, opened, records, damaged }, `EVTX_FUZZ_SEED=${SEED} EVTX_FUZZ_RUNS=${RUN_FACTOR}`);
}

const inWorkerEvtx = (job: Job): Promise<Stats> => inWorker<Stats>(import.meta.url, job, { seed: job.seed, watchdogMs: WATCHDOG_MS, maxOldGenerationSizeMb: 1024 });

// ---- tests ------------------------------------------------------------------------------------------------

if (!isMainThread && workerData) {
  runJob(workerData as Job);
} else if (isMainThread) {
  const { describe, test } = await import('node:test');
  const fixtureFiles = FIXTURES.map((f) => path.join(fixturesDir(), f));
  const runs = (n: number): number => Math.max(1, Math.round(n * RUN_FACTOR));

  describe('EVTX reader contract on crafted records', () => {
    test('the crafted builders produce records the reader renders as intended', () => {
      const a = onlyRecord(systemRecord((w) => w.elem('EventID', (w) => w.text('4624'))));
      assert.deepEqual(a.json, { Event: { System: { EventID: '4624' } } });
      const b = onlyRecord(templateRecord([EVENT_4624, { type: 0x0c, bytes: f64(1.5) }]));
      assert.deepEqual(b.json, { Event: { System: { EventID: 4624 }, EventData: { V0: 1.5 } } });
    });

    test('entity references &amp; &lt; &gt; &quot; &apos; and unknown names', () => {
      const ents = ['amp', 'lt', 'gt', 'quot', 'apos', 'nbsp'];
      const r = onlyRecord(systemRecord((w) => w.elem('Data', (w) => ents.forEach((e) => w.u8(0x09).name(e)))));
      assert.deepEqual(r.json, { Event: { System: { Data: `&<>"'&nbsp;` } } });
    });

    test('character reference to a lone surrogate survives JSON text and XML', () => {
      const r = onlyRecord(systemRecord((w) => w.elem('EventID', (w) => w.u8(0x08).u16(0xd800))));
      assert.deepEqual(r.json, { Event: { System: { EventID: '\ud800' } } });
    });

    test('repeated and colliding element names get the same _N suffixes in toJSON and toJsonString', () => {
      onlyRecord(systemRecord((w) => w.elem('A', (w) => w.text('1')).elem('A', (w) => w.text('2')).elem('A_1', (w) => w.text('3'))));
    });

    // Names such as constructor / toString / __proto__ come from the evidence: they must be plain keys
    // (no `_1` suffix from inherited members, no prototype change) in both JSON renderings.
    for (const n of PROTO_NAMES) {
      test(`element named "${n}": toJSON() equals JSON.parse(toJsonString())`, () => {
        const r = onlyRecord(systemRecord((w) => w.elem(n, (w) => w.text('x'))));
        assert.deepEqual(r.json, JSON.parse(`{"Event":{"System":{${JSON.stringify(n)}:"x"}}}`));
      });
      test(`attribute named "${n}" and <Data Name="${n}">: toJSON() equals JSON.parse(toJsonString())`, () => {
        onlyRecord(systemRecord((w) => w.elem('Provider', () => {}, (w) => w.attr(n, (w) => w.text('v')))));
        onlyRecord(craftFile((w) => w.elem('Event', (w) => w.elem('EventData', (w) => w.elem('Data', (w) => w.text('v'), (w) => w.attr('Name', (w) => w.text(n)))))));
      });
      test(`entity reference &${n}; renders as text, and toJsonString() is valid JSON`, () => {
        const r = onlyRecord(systemRecord((w) => w.elem('EventID', (w) => w.u8(0x09).name(n))));
        assert.deepEqual(r.json, { Event: { System: { EventID: `&${n};` } } });
      });
    }

    test('non-finite REAL64 values render as null (JSON has no NaN/Infinity), -0 as 0, in both renderings', () => {
      for (const x of [NaN, Infinity, -Infinity]) assert.equal((onlyRecord(templateRecord([EVENT_4624, { type: 0x0c, bytes: f64(x) }])).json as { Event: { EventData: { V0: unknown } } }).Event.EventData.V0, null);
      assert.ok(Object.is((onlyRecord(templateRecord([EVENT_4624, { type: 0x0c, bytes: f64(-0) }])).json as { Event: { EventData: { V0: unknown } } }).Event.EventData.V0, 0));
    });
  });

  describe('EVTX reader fuzz', { timeout: 10 * 60 * 1000 }, () => {
    test('committed fixtures are present and listed in NOTICE.md', () => {
      const present = readdirSync(fixturesDir());
      const notice = readFileSync(path.join(fixturesDir(), 'NOTICE.md'), 'utf8');
      for (const f of FIXTURES) {
        assert.ok(present.includes(f), `missing fixture ${f}`);
        assert.ok(notice.includes(f), `NOTICE.md does not name ${f}`);
      }
    });

    test('unmutated seeds satisfy the contract and yield records', () => {
      const files = [...fixtureFiles, ...(hasSamples() ? SHARED_SEEDS.map(evtxSample) : [])];
      for (const f of files) {
        const r = exercise(new Uint8Array(readFileSync(f)));
        assert.ok(r.opened && r.records > 0, `${path.basename(f)}: opened ${r.opened}, ${r.records} records`);
      }
    });

    test('mutated committed fixtures (byte flips, extreme fields, truncation, splicing, zeroing)', async (t) => {
      const s = await inWorkerEvtx({ kind: 'mutate', files: fixtureFiles, runs: runs(300), seed: SEED });
      t.diagnostic(`seed ${SEED}: ${s.runs} cases, ${s.opened} opened (${s.damaged} with warnings), ${s.records} records rendered; slowest case ${s.maxCaseMs.toFixed(0)} ms, max arrayBuffers growth ${(s.maxCaseAb / 1048576).toFixed(1)} MB, RSS growth ${(s.rssGrowth / 1048576).toFixed(0)} MB`);
    });

    test('mutated shared samples (Sysmon WMI, hayabusa, sigma) mixed with the fixtures', { skip: skipReason ? `${skipReason}; shared-sample fuzzing skipped` : false }, async (t) => {
      const files = [...SHARED_SEEDS.map(evtxSample), ...fixtureFiles];
      const s = await inWorkerEvtx({ kind: 'mutate', files, runs: runs(200), seed: SEED + 1 });
      t.diagnostic(`seed ${SEED + 1}: ${s.runs} cases, ${s.opened} opened (${s.damaged} with warnings), ${s.records} records rendered; slowest case ${s.maxCaseMs.toFixed(0)} ms, max arrayBuffers growth ${(s.maxCaseAb / 1048576).toFixed(1)} MB, RSS growth ${(s.rssGrowth / 1048576).toFixed(0)} MB`);
    });

    test('random bytes, with and without EVTX signatures: EvtxFormatError or a working reader', async (t) => {
      const s = await inWorkerEvtx({ kind: 'raw', runs: runs(100), seed: SEED + 2 });
      t.diagnostic(`seed ${SEED + 2}: ${s.runs} cases, ${s.opened} opened (${s.damaged} with warnings); slowest case ${s.maxCaseMs.toFixed(0)} ms`);
    });
  });
}
