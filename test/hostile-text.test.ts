/**
 * Hostile text exports (issue 13, class 5 and the text items of 9): one damaged record of an NDJSON or event-XML
 * export costs that record and one counted note, never the records after it; a banner line, BOM-less UTF-16 and
 * a first record longer than the detection head are still recognized; CSV cells opening with a fullwidth formula
 * character are neutralized; filter and consumer names holding `"` still join their bindings. Every hostile input
 * is generated at test time from the real fixtures (test/support/hostile/text.ts), and each damaged file is
 * compared with the same file less the damaged record: the results must be the same.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scan } from '../src/scan.js';
import type { EvidenceNote, ScanResult } from '../src/model/types.js';
import { headText, textEncoding } from '../src/sources/input.js';
import { parseObjectRef } from '../src/model/wmi.js';
import { csvSafe, formatCsv } from '../src/report/csv.js';
import { jsonValues, xmlEvents } from '../src/sources/text/textstream.js';
import type { SplitIssue } from '../src/sources/text/textstream.js';
import { consumersOf, GOOD_LOG, GOOD_LOG_CONSUMER, runCli } from './support/child.js';
import { repoRoot } from './support/samples.js';
import {
  bannerNdjson,
  exportFixture,
  longFirstRecordNdjson,
  longPrologXml,
  quotedNamesJsonl,
  quotedNamesXml,
  swallowingNdjson,
  swallowingXml,
  utf16NoBom,
} from './support/hostile/text.js';

const tmp = (): string => mkdtempSync(join(tmpdir(), 'wmiscope-hostile-text-'));

/** What a scan read and found, without the file names and scan times: records per host, and each finding's shape. */
function digest(r: ScanResult): { records: string[]; findings: string[] } {
  return {
    records: r.evidence.map((e) => `${e.host}:${e.records}:${e.detail}`).sort(),
    findings: r.findings.map((f) => `${f.host}|${f.status}|${f.severity}|${f.filter?.name}|${f.consumer?.name}|${f.binding ? 'bound' : '-'}|${f.observations.length}`).sort(),
  };
}

const damageNotes = (r: ScanResult): EvidenceNote[] => r.notes.filter((n) => n.code === 'damaged');

async function* chunksOf(text: string, size: number): AsyncGenerator<string> {
  for (let i = 0; i < text.length; i += size) yield text.slice(i, i + size);
}

// ---- class 5: one damaged record swallowed the rest ---------------------------------------------------------------

test('NDJSON: a cut line followed by a stray line costs that record only (before: 2 hosts -> 1, the rest eaten to EOF)', async () => {
  const dir = tmp();
  try {
    const p = swallowingNdjson(dir);
    const [bad, without, whole] = await Promise.all([scan([p.damaged], { threads: 1 }), scan([p.without], { threads: 1 }), scan([exportFixture('otrf-wmi.ecs.ndjson')], { threads: 1 })]);
    assert.deepEqual(digest(bad), digest(without));
    // the undamaged export: 2 hosts, 10 + 11 records, 2 findings; the damaged one lost exactly one record of IT001
    assert.deepEqual(digest(whole).records.map((r) => r.split(':').slice(0, 2).join(':')), ['IT001.shire.com:10', 'WORKSTATION6.theshire.local:11']);
    assert.deepEqual(digest(bad).records.map((r) => r.split(':').slice(0, 2).join(':')), ['IT001.shire.com:9', 'WORKSTATION6.theshire.local:11']);
    assert.equal(bad.findings.length, 2);
    const notes = damageNotes(bad);
    assert.equal(notes.length, 1, JSON.stringify(bad.notes));
    assert.equal(notes[0]!.level, 'warning');
    // one note for the file, counting the cut record and the stray line, naming the first
    assert.match(notes[0]!.message, /^ecs: 2 damaged records or lines skipped; the first: line 3: value does not end before line 4 \(truncated\?\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Event XML: an <Event> that never closes costs that element only (before: 17 records -> 3 of 21, later events lost)', async () => {
  const dir = tmp();
  try {
    const p = swallowingXml(dir);
    const [bad, without] = await Promise.all([scan([p.damaged], { threads: 1 }), scan([p.without], { threads: 1 })]);
    assert.deepEqual(digest(bad), digest(without));
    assert.deepEqual(digest(bad).records.map((r) => r.split(':').slice(0, 2).join(':')), ['IT001.shire.com:9', 'WORKSTATION6.theshire.local:11']);
    assert.equal(bad.findings.length, 2);
    const notes = damageNotes(bad);
    assert.equal(notes.length, 1, JSON.stringify(bad.notes));
    assert.match(notes[0]!.message, new RegExp(`^event-xml: line ${p.line}: element 3 does not end before the next <Event> on line \\d+ \\(truncated\\?\\); skipped$`));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Event XML: the Sysmon fixture with its 5th element cut equals the fixture less that element (17 -> 16 records, same finding)', async () => {
  const dir = tmp();
  try {
    const p = swallowingXml(dir, 'sysmon-bot.events.xml', 4);
    const [bad, without] = await Promise.all([scan([p.damaged], { threads: 1 }), scan([p.without], { threads: 1 })]);
    assert.deepEqual(digest(bad), digest(without));
    assert.deepEqual(digest(bad).records.map((r) => r.split(':').slice(0, 2).join(':')), ['IEWIN7:16']);
    assert.equal(damageNotes(bad).length, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('several damaged records: one note per file with the count, the rest read (JSON Lines and evtx_dump pretty JSON)', async () => {
  const dir = tmp();
  try {
    const ls = readFileSync(exportFixture('sysmon-bot.wmiscope.jsonl'), 'utf8').trimEnd().split('\n');
    const cut = ls.map((l, i) => (i === 1 || i === 6 || i === 11 ? l.slice(0, 150) : l));
    writeFileSync(join(dir, 'three.jsonl'), cut.join('\n') + '\n');
    const r = await scan([join(dir, 'three.jsonl')], { threads: 1 });
    assert.deepEqual(r.evidence.map((e) => e.records), [14]);
    assert.equal(damageNotes(r).length, 1);
    assert.match(damageNotes(r)[0]!.message, /^evtx-json: 3 damaged records or lines skipped; the first: line 2: not JSON/);
    // `Record N` + pretty-printed records: one record cut in the middle; the next header still names its record
    const text = readFileSync(exportFixture('sysmon-bot.evtx_dump.json'), 'utf8');
    const at = text.indexOf('Record ', text.indexOf('Record ', text.indexOf('Record ') + 1) + 1); // the third record
    const next = text.indexOf('\nRecord ', at + 1);
    writeFileSync(join(dir, 'dump.json'), text.slice(0, at + Math.floor((next - at) / 2)) + text.slice(next));
    const d = await scan([join(dir, 'dump.json')], { threads: 1 });
    assert.deepEqual(d.evidence.map((e) => e.records), [16]);
    assert.equal(damageNotes(d).length, 1);
    assert.match(damageNotes(d)[0]!.message, /^evtx-json: line \d+: value does not end before line \d+ \(truncated\?\); skipped$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('splitters: resynchronize whatever the chunking; legit pretty-printed and nested values are untouched', async () => {
  const run = async (text: string, size: number): Promise<string[]> => {
    const out: string[] = [];
    for await (const v of jsonValues(chunksOf(text, size), (i: SplitIssue) => out.push(`${i.kind ?? 'other'}@${i.line}`))) out.push(v.text);
    return out;
  };
  const text = '{"a":{"b":[1,\n{"c":2}]}}\n{"cut":{"x":"abc\n{"d":4}\nRecord 7\n{\n  "e": [\n    {"f": true},\n    null\n  ]\n}\n{"g":1\n[{"h":2}]\n';
  for (const size of [1, 2, 3, 7, 1000]) {
    assert.deepEqual(await run(text, size), [
      '{"a":{"b":[1,\n{"c":2}]}}', // `{` at a line start where a value may stand: not a new record
      'record@3', // a line break inside a string: cut there
      '{"d":4}',
      '{\n  "e": [\n    {"f": true},\n    null\n  ]\n}',
      'record@12', // `[` after a complete member: cut
      '{"h":2}', // (a top-level `[` opens an array whose elements are the values)
    ], `chunk ${size}`);
  }
  const xml = '<Events><Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><EventID>1</EventID>\n<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><EventID>2</EventID></System></Event>\n<Event><UserData><Event Kind="inner"><X/></Event></UserData></Event></Events>';
  for (const size of [1, 5, 1000]) {
    const out: string[] = [];
    for await (const e of xmlEvents(chunksOf(xml, size), (i) => out.push(`${i.kind ?? 'other'}@${i.line}`))) out.push(`${e.element}:${e.text.length}`);
    // the cut first element is given up at the second's tag (the same tag, in the event namespace); an <Event> of
    // another tag inside an element is still nesting
    assert.deepEqual(out, ['record@1', '2:114', '3:68'], `chunk ${size}`);
  }
});

// ---- 9: banner, BOM-less UTF-16, long first record ----------------------------------------------------------------------

test('NDJSON with a banner line is read past it (before: "not evidence"); the banner is one skipped note, not damage', async () => {
  const dir = tmp();
  try {
    const [r, whole] = await Promise.all([scan([bannerNdjson(dir)], { threads: 1 }), scan([exportFixture('otrf-wmi.ecs.ndjson')], { threads: 1 })]);
    assert.deepEqual(digest(r), digest(whole));
    assert.deepEqual(r.notes.map((n) => [n.level, n.code, n.message]), [['skipped', 'ignored', 'ecs: line 1 is not JSON (a banner?): "Exported 21 documents from winlogbeat-* at 2020-09-02 10:00"; skipped']]);
    // before pretty-printed JSON (read value by value rather than line by line): the same
    writeFileSync(join(dir, 'banner.json'), `evtx_dump 0.8.1\n${readFileSync(exportFixture('sysmon-bot.evtx_dump.json'), 'utf8')}`);
    const pretty = await scan([join(dir, 'banner.json')], { threads: 1 });
    assert.deepEqual(digest(pretty), digest(await scan([exportFixture('sysmon-bot.evtx_dump.json')], { threads: 1 })));
    assert.deepEqual(pretty.notes.map((n) => n.message), ['evtx-json: line 1 is not JSON (a banner?): "evtx_dump 0.8.1"; skipped']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('UTF-16 without a BOM (LE and BE) is recognized by its zero bytes and read like the UTF-8 file (before: "not evidence")', async () => {
  const dir = tmp();
  try {
    for (const fixture of ['otrf-wmi.ecs.ndjson', 'otrf-wmi.events.xml', 'sysmon-bot.evtx_dump.json']) {
      const whole = digest(await scan([exportFixture(fixture)], { threads: 1 }));
      for (const endian of ['le', 'be'] as const) {
        const r = await scan([utf16NoBom(dir, fixture, endian)], { threads: 1 });
        assert.deepEqual(digest(r), whole, `${fixture} ${endian}`);
        assert.deepEqual(r.notes, [], `${fixture} ${endian}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const le = Buffer.from('{"a":1}\n', 'utf16le');
  assert.deepEqual(textEncoding(le), { encoding: 'utf16le', bom: 0 });
  assert.deepEqual(textEncoding(Buffer.from(le).swap16()), { encoding: 'utf16be', bom: 0 });
  assert.deepEqual(textEncoding(Buffer.from('\ufeff{"a":1}', 'utf8')), { encoding: 'utf8', bom: 3 });
  assert.equal(headText(Buffer.from(le).swap16()), '{"a":1}\n');
  // binary-looking data with zeros everywhere is not taken for UTF-16
  assert.equal(textEncoding(Buffer.alloc(64)).encoding, 'utf8');
});

test('a first record longer than the 64 KiB detection head is recognized (before: "not evidence"), NDJSON and XML', async () => {
  const dir = tmp();
  try {
    const ndjson = await scan([longFirstRecordNdjson(dir)], { threads: 1 });
    const whole = await scan([exportFixture('otrf-wmi.ecs.ndjson')], { threads: 1 });
    assert.deepEqual(digest(ndjson), digest(whole));
    assert.deepEqual(ndjson.notes, []);
    const xml = await scan([longPrologXml(dir)], { threads: 1 });
    assert.deepEqual(digest(xml), digest(await scan([exportFixture('otrf-wmi.events.xml')], { threads: 1 })));
    // a long JSON value that is no export is still "not evidence", with one note
    writeFileSync(join(dir, 'other.json'), JSON.stringify({ data: 'x'.repeat(300_000), kind: 'config' }));
    const other = await scan([join(dir, 'other.json')], { threads: 1 });
    assert.deepEqual(other.notes.map((n) => n.code), ['not-evidence']);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- 9: CSV formula starters ---------------------------------------------------------------------------------------

test('csv: fullwidth ＝ ＋ － ＠ (and ー) and formula characters after white space get the leading quote; other text is untouched', async () => {
  for (const v of ['＝cmd|\' /C calc\'!A0', '＋1+1', '－1+1', '＠SUM(1,1)', 'ーcmd', ' =1+1', '\u00a0=1+1', '\u3000＝1', '=1', '+1', '-1', '@A', '\tx', '\rx', '\nx']) {
    assert.equal(csvSafe(v).startsWith("'"), true, JSON.stringify(v));
  }
  for (const v of ['BotConsumer23', 'x=1', '1-2', 'SCM Event Log Consumer', 'a＝b', "'quoted", '']) assert.equal(csvSafe(v), v, JSON.stringify(v));
  // through a real report: a consumer named with a fullwidth formula
  const dir = tmp();
  try {
    const r = await scan([quotedNamesJsonl(dir, 'BotFilter82', '＝cmd|\' /C calc\'!A0')], { threads: 1 });
    const csv = formatCsv(r);
    assert.ok(csv.includes(`,'＝cmd|' /C calc'!A0,`), csv);
    assert.ok(!/,＝/.test(csv));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- 9: names holding `"` ------------------------------------------------------------------------------------------------

test('object paths: quotes inside a value, escaped as WMI writes them, in single quotes, or left unescaped', () => {
  const name = (p: string): string | null | undefined => parseObjectRef(p)?.name;
  assert.equal(name('__EventFilter.Name="a\\"b\\\\c"'), 'a"b\\c');
  assert.equal(name("__EventFilter.Name='a\"b'"), 'a"b');
  assert.equal(name('CommandLineEventConsumer="Evil\\"P"'), 'Evil"P');
  assert.equal(name('__EventFilter.Name="a"b"'), 'a"b');
  assert.equal(name('__EventFilter.Name="a"b\\c"'), 'a"b\\c'); // unescaped quotes: backslashes taken as they are too
  assert.equal(name('CommandLineEventConsumer="Evil"P"'), 'Evil"P');
  assert.deepEqual(parseObjectRef('X.A="1",B="2"')?.keys, { A: '1', B: '2' });
  assert.deepEqual(parseObjectRef('\\\\.\\root\\subscription:__EventFilter.Name="a\\"b"'), { namespace: 'ROOT\\subscription', className: '__EventFilter', keys: { Name: 'a"b' }, name: 'a"b' });
});

test('a filter and a consumer named with " (and \\) still join their binding: Sysmon 19/20/21 and WMI-Activity 5861', async () => {
  const dir = tmp();
  try {
    const original = await scan([exportFixture('sysmon-bot.wmiscope.jsonl')], { threads: 1 });
    assert.deepEqual(original.findings.map((f) => [f.filter?.name, f.consumer?.name, !!f.binding]), [['BotFilter82', 'BotConsumer23', true]]);
    const F = 'Bot"Filter\\82';
    const C = 'Bot"Consumer"23';
    for (const escaped of [true, false]) {
      const r = await scan([quotedNamesJsonl(dir, F, C, escaped)], { threads: 1 });
      assert.deepEqual(r.findings.map((f) => [f.filter?.name, f.consumer?.name, !!f.binding, f.observations.length, f.status]), [[F, C, true, original.findings[0]!.observations.length, original.findings[0]!.status]], `escaped ${escaped}`);
    }
    const xmlOriginal = await scan([exportFixture('otrf-wmi.events.xml')], { threads: 1 });
    const evil = xmlOriginal.findings.find((f) => f.consumer?.name === 'Evil Persistence')!;
    for (const escaped of [true, false]) {
      const r = await scan([quotedNamesXml(dir, 'Evil"Persistence', escaped)], { threads: 1 });
      assert.equal(r.findings.length, xmlOriginal.findings.length);
      const f = r.findings.find((x) => x.consumer?.name === 'Evil"Persistence');
      assert.ok(f, JSON.stringify(r.findings.map((x) => [x.filter?.name, x.consumer?.name])));
      assert.equal(f.filter?.name, 'Evil"Persistence');
      assert.ok(f.binding);
      assert.equal(f.observations.length, evil.observations.length, `escaped ${escaped}`);
      assert.deepEqual(f.observations.map((o) => o.source).sort(), evil.observations.map((o) => o.source).sort());
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- child processes: the swallowing cases beside a good log ---------------------------------------------------------

for (const [what, make, noteRe] of [
  ['NDJSON', swallowingNdjson, /ecs: 2 damaged records or lines skipped; the first: line 3/],
  ['event XML', swallowingXml, /event-xml: line \d+: element 3 does not end before the next <Event>/],
] as const) {
  test(`child: a swallowing ${what} export beside GOOD_LOG: bounded, noted, every other record and the good finding kept`, { timeout: 180_000 }, async () => {
    const dir = tmp();
    try {
      const p = make(dir);
      const run = await runCli(['scan', p.damaged, GOOD_LOG, '-f', 'json'], { maxOldSpaceMb: 512, timeoutMs: 120_000 });
      assert.equal(run.timedOut, false);
      assert.equal(run.signal, null);
      assert.equal(run.code, 1, run.stderr);
      assert.ok(run.peakRssMb !== null && run.peakRssMb < 512, String(run.peakRssMb));
      assert.ok(consumersOf(run.stdout).includes(GOOD_LOG_CONSUMER));
      const report = JSON.parse(run.stdout) as ScanResult;
      assert.ok(report.notes.some((n) => n.code === 'damaged' && noteRe.test(n.message)), JSON.stringify(report.notes));
      // the hostile file kept both its hosts and all but the damaged record
      assert.deepEqual(report.evidence.filter((e) => e.file === p.damaged).map((e) => `${e.host}:${e.records}`).sort(), ['IT001.shire.com:9', 'WORKSTATION6.theshire.local:11']);
      assert.ok(consumersOf(run.stdout).includes('Evil Persistence') && consumersOf(run.stdout).includes('WSUS_RP5ZB'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('deep nesting: a record of 10 million brackets (20 MB, in NDJSON and inside a JSON array) costs that record, bounded memory, the rest read', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-test-deep-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const records = readFileSync(join(repoRoot(), 'test/fixtures/exports/otrf-wmi.ecs.ndjson'), 'utf8').split('\n').filter(Boolean);
  const deep = '['.repeat(10_000_000) + ']'.repeat(10_000_000);
  const ndjson = join(dir, 'deep.ndjson');
  writeFileSync(ndjson, [...records.slice(0, 3), deep, ...records.slice(3)].join('\n') + '\n');
  const array = join(dir, 'deep.json');
  writeFileSync(array, `[${[...records.slice(0, 3), deep, ...records.slice(3)].join(',\n')}]\n`);
  const whole = await scan([join(repoRoot(), 'test/fixtures/exports/otrf-wmi.ecs.ndjson')], { threads: 1 });
  for (const file of [ndjson, array]) {
    const r = await runCli(['scan', file, GOOD_LOG, '-f', 'json', '-j', '1'], { maxOldSpaceMb: 512, timeoutMs: 120_000 });
    assert.equal(r.code, 1, r.stderr);
    assert.ok(r.peakRssMb !== null && r.peakRssMb < 512, `peak RSS ${r.peakRssMb} MB`);
    const report = JSON.parse(r.stdout) as ScanResult;
    assert.ok(report.notes.some((n) => n.file === file && /nested more than 200000 levels deep; not parsed/.test(n.message)), JSON.stringify(report.notes));
    assert.ok(consumersOf(r.stdout).includes(GOOD_LOG_CONSUMER));
    // every other record of the export is read: the same findings as the whole file, plus the good log's
    assert.equal(report.findings.length, whole.findings.length + 1, file);
  }
});

test('a large legitimate export (the real ECS export repeated to 60 MB) is read under a 512 MB heap with the findings of one copy', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-test-big-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const one = join(repoRoot(), 'test/fixtures/exports/otrf-wmi.ecs.ndjson');
  const text = readFileSync(one, 'utf8');
  const big = join(dir, 'big.ndjson');
  writeFileSync(big, (text.endsWith('\n') ? text : `${text}\n`).repeat(600));
  const whole = await scan([one], { threads: 1 });
  // before: MOF strings grown a character at a time were ropes of one node per character (~40x their size)
  const r = await runCli(['scan', big, '-f', 'json', '-j', '1'], { maxOldSpaceMb: 512, timeoutMs: 180_000 });
  assert.equal(r.code, 1, r.stderr);
  assert.ok(r.peakRssMb !== null && r.peakRssMb < 512, `peak RSS ${r.peakRssMb} MB`);
  const report = JSON.parse(r.stdout) as ScanResult;
  assert.deepEqual(report.findings.map((f) => f.id).sort(), whole.findings.map((f) => f.id).sort());
});
