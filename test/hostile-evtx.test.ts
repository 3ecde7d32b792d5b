/**
 * Hostile EVTX (issue 13, class 1): BinXML that expands without bound ("billion laughs": K substitutions of a nested
 * instance of the same template, L levels deep; a template that instantiates itself) and a file with a warning per
 * record signature. Files are generated at test time (test/support/hostile/evtx.ts). Each record must cost only
 * itself: rendered truncated with an `expansion-limit` warning, reading goes on, memory and output stay bounded, and
 * a good log beside the hostile one keeps its finding.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EvtxReader, renderFileChunks, serializeRecord } from '../src/evtx/index.js';
import type { EvtxRecord, EvtxWarning } from '../src/evtx/index.js';
import { MAX_FILE_WARNINGS, MAX_LIMITED_RECORDS } from '../src/evtx/reader.js';
import { MAX_RENDER_BYTES } from '../src/evtx/render.js';
import { GOOD_LOG, GOOD_LOG_CONSUMER, consumersOf, runCli } from './support/child.js';
import { BENIGN_VALUE, FLOOD_PER_CHUNK, HOSTILE_COMPUTER, HOSTILE_RECORDS, hostileEvtx, manyExpansionRecords, warningFlood } from './support/hostile/evtx.js';

const HEAP_MB = 512;
const WALL_MS = 120_000;
const isLimit = (w: string): boolean => w.startsWith('expansion-limit: ');

function readAll(buf: Buffer): { reader: EvtxReader; records: EvtxRecord[] } {
  const reader = EvtxReader.fromBuffer(buf, { name: 'hostile.evtx' });
  return { reader, records: [...reader.records({ recovered: true })] };
}

describe('hostile EVTX: the rendering budget, in process', () => {
  test('K=1000, L=2 (10^9 items): every renderer stops with expansion-limit, output bounded; the record after reads whole', () => {
    const buf = hostileEvtx({ k: 1000, levels: 2 });
    assert.ok(buf.length <= 4096 + 65536);
    const { reader, records } = readAll(buf);
    assert.deepEqual(
      records.map((r) => r.recordId),
      [1, 2, 3, 4],
    );
    for (const r of records.slice(0, 3)) {
      // the cheap fields never render
      assert.equal(r.computer, HOSTILE_COMPUTER);
      assert.equal(r.eventId, 5861);
      assert.equal(r.warnings.length, 0, 'nothing rendered yet');
      const json = r.toJsonString();
      const parsed = JSON.parse(json) as { Event: { System: { Computer: string } } };
      assert.equal(parsed.Event.System.Computer, HOSTILE_COMPUTER, 'what comes before the limit is kept');
      assert.ok(json.length < 3 * MAX_RENDER_BYTES, `record ${r.recordId}: ${json.length} chars of JSON`);
      const obj = r.toJSON();
      assert.ok(JSON.stringify(obj).length < 3 * MAX_RENDER_BYTES);
      const xml = r.toXml();
      assert.match(xml, /^<Event>\n {2}<System>/);
      assert.ok(xml.length < 3 * MAX_RENDER_BYTES);
      const limits = r.warnings.filter(isLimit);
      assert.equal(limits.length, 1, `record ${r.recordId}: one expansion-limit warning: ${JSON.stringify(r.warnings)}`);
      // the serialized forms carry it too (record warnings are metadata of the record)
      const line = JSON.parse(serializeRecord(r, { format: 'jsonl' })) as { wmiscope: { warnings: string[] } };
      assert.ok(line.wmiscope.warnings.some(isLimit));
      assert.match(serializeRecord(r, { format: 'xml' }), /<!-- wmiscope: .*expansion-limit/);
    }
    assert.match(records[0]!.warnings.find(isLimit)!, /expansion past \d+ nodes or \d+ bytes/);
    assert.match(records[2]!.warnings.find(isLimit)!, /template instantiates itself/);
    const benign = records[3]!;
    assert.deepEqual(benign.toJSON(), {
      Event: { System: { Provider: { '#attributes': { Name: 'Application Error' } }, EventID: '1', Channel: 'Application', Computer: HOSTILE_COMPUTER }, EventData: { Value: BENIGN_VALUE } },
    });
    assert.deepEqual(benign.warnings, []);
    // one file-level warning per truncated record, however often it is rendered
    const fileLimits = reader.warnings.filter((w) => w.code === 'expansion-limit');
    assert.deepEqual(
      fileLimits.map((w) => w.recordId),
      [HOSTILE_RECORDS.userData, HOSTILE_RECORDS.splice, HOSTILE_RECORDS.selfInstantiating],
    );
    assert.deepEqual(
      reader.warnings.filter((w) => w.code !== 'expansion-limit'),
      [],
    );
  });

  test('deeper and wider shapes stop too: K=40 L=4, K=2 L=40, a template with 500 instances of itself', () => {
    for (const opts of [{ k: 40, levels: 4 }, { k: 2, levels: 40 }, { k: 3, levels: 1, selfFanout: 500 }]) {
      const { reader, records } = readAll(hostileEvtx(opts));
      for (const r of records) {
        r.toJsonString();
        r.toXml();
      }
      const limited = records.filter((r) => r.warnings.some(isLimit)).map((r) => r.recordId);
      // K=3, L=1 (12 items) is within budget: only the self-instantiating record is limited there
      assert.deepEqual(limited, opts.k === 3 ? [3] : [1, 2, 3], JSON.stringify(opts));
      assert.equal(reader.warnings.filter((w) => w.code === 'expansion-limit').length, limited.length);
      assert.equal(records[3]!.toJSON()['Event'] !== undefined, true);
    }
  });

  test('a small expansion within budget renders whole, the same through every path', () => {
    const { records } = readAll(hostileEvtx({ k: 3, levels: 2 }));
    const r = records[0]!;
    const fast = JSON.parse(r.toJsonString()) as unknown;
    assert.deepEqual(fast, r.toJSON());
    assert.deepEqual(r.warnings, []);
    // 3^3 = 27 null leaves under 1 + 3 + 9 nested Event elements
    assert.equal((r.toXml().match(/<Event>/g) ?? []).length, 1 + 3 + 9);
  });
});

describe('hostile EVTX: the reader keeps a bounded number of warnings per file', () => {
  let dir = '';
  let flood = '';
  const total = 2 * FLOOD_PER_CHUNK;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'wmiscope-hostile-evtx-'));
    flood = join(dir, 'flood.evtx');
    writeFileSync(flood, warningFlood(2));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('records(): the first MAX_FILE_WARNINGS kept, one warnings-capped warning counts the rest', () => {
    const reader = EvtxReader.open(flood);
    try {
      assert.equal([...reader.records({ recovered: true })].length, 0);
      assert.equal(reader.warnings.length, MAX_FILE_WARNINGS + 1);
      assert.equal(reader.warningsNotKept, total - MAX_FILE_WARNINGS);
      const last = reader.warnings.at(-1)!;
      assert.equal(last.code, 'warnings-capped');
      assert.match(last.message, new RegExp(`^${total - MAX_FILE_WARNINGS} more warning\\(s\\) not kept`));
      assert.ok(reader.warnings.slice(0, -1).every((w) => w.code === 'record-header'));
    } finally {
      reader.close();
    }
  });

  for (const threads of [1, 2]) {
    test(`renderFileChunks (evtx dump), ${threads} thread(s): the same cap over the file, the rest counted`, async () => {
      const warnings: EvtxWarning[] = [];
      for await (const c of renderFileChunks(flood, { threads, format: 'jsonl', recovered: true })) warnings.push(...c.warnings);
      assert.equal(warnings.length, MAX_FILE_WARNINGS + 1);
      assert.equal(warnings.at(-1)!.code, 'warnings-capped');
      assert.match(warnings.at(-1)!.message, new RegExp(`^${total - MAX_FILE_WARNINGS} more warning`));
    });
  }
});

describe('hostile EVTX: the CLI in a child under a 512 MB heap', () => {
  let dir = '';
  let hostile = '';
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'wmiscope-hostile-evtx-'));
    hostile = join(dir, 'Microsoft-Windows-WMI-Activity%4Operational.evtx');
    // the case that aborted with an exhausted heap after ~108 s at 4.3 GB
    writeFileSync(hostile, hostileEvtx({ k: 1000, levels: 2 }));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const finished = (run: Awaited<ReturnType<typeof runCli>>, what: string): void => {
    assert.equal(run.timedOut, false, `${what}: timed out`);
    assert.equal(run.signal, null, `${what}: killed by ${run.signal}; stderr: ${run.stderr.slice(-2000)}`);
    assert.ok(run.peakRssMb !== null && run.peakRssMb < HEAP_MB, `${what}: peak RSS ${run.peakRssMb} MB`);
  };

  test('scan <hostile> <good log> -f json: finishes, notes name expansion-limit, the good finding survives', async () => {
    const run = await runCli(['scan', hostile, GOOD_LOG, '-f', 'json'], { maxOldSpaceMb: HEAP_MB, timeoutMs: WALL_MS });
    finished(run, 'scan');
    assert.equal(run.code, 1, run.stderr);
    assert.ok(consumersOf(run.stdout).includes(GOOD_LOG_CONSUMER));
    const report = JSON.parse(run.stdout) as { notes: Array<{ file: string; kind?: string; message: string }> };
    const limits = report.notes.filter((n) => n.kind === 'expansion-limit');
    assert.ok(limits.length >= 1, JSON.stringify(report.notes));
    assert.ok(limits.every((n) => n.file === hostile));
    assert.match(run.stderr, /expansion-limit/);
  });

  test('coverage <hostile>: finishes, names expansion-limit, still reports the log', async () => {
    const run = await runCli(['coverage', hostile, '-f', 'json'], { maxOldSpaceMb: HEAP_MB, timeoutMs: WALL_MS });
    finished(run, 'coverage');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /expansion-limit/);
    assert.ok(run.stdout.includes(HOSTILE_COMPUTER));
  });

  for (const args of [['-f', 'jsonl'], ['-f', 'xml'], ['-f', 'json', '-t', '2']]) {
    test(`evtx dump ${args.join(' ')}: finishes, every record out (truncated ones marked), warnings name expansion-limit`, async () => {
      const run = await runCli(['evtx', 'dump', ...args, hostile], { maxOldSpaceMb: HEAP_MB, timeoutMs: WALL_MS });
      finished(run, 'evtx dump');
      assert.equal(run.code, 0, run.stderr);
      assert.equal((run.stderr.match(/warning \[expansion-limit\]/g) ?? []).length, 3, run.stderr);
      assert.match(run.stderr, /4 record\(s\) from 1 of 1 file\(s\)/);
      assert.ok(run.stdout.includes(BENIGN_VALUE), 'the record after the hostile ones');
      if (args[1] === 'jsonl') {
        const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { wmiscope?: { warnings?: string[] } });
        assert.equal(lines.length, 4);
        assert.deepEqual(
          lines.map((l) => (l.wmiscope?.warnings ?? []).some(isLimit)),
          [true, true, true, false],
        );
      }
    });
  }
});

test('a file of many records that each expand to the budget: after 16 of them its records get 1/100 of it (minutes become seconds)', () => {
  const reader = EvtxReader.fromBuffer(manyExpansionRecords(50, 2), { name: 'many.evtx' });
  let full = 0;
  let share = 0;
  let records = 0;
  for (const rec of reader.records()) {
    records++;
    rec.toJSON();
    const w = rec.warnings.find((x) => x.startsWith('expansion-limit'));
    if (w && /the share left to each record/.test(w)) share++;
    else if (w) full++;
  }
  assert.ok(records > 600, `${records} records`);
  assert.equal(full, MAX_LIMITED_RECORDS);
  assert.equal(share, records - MAX_LIMITED_RECORDS);
  // the file's warnings say so once per record, capped
  assert.ok(reader.warnings.filter((w) => w.code === 'expansion-limit').length >= MAX_LIMITED_RECORDS);
});
