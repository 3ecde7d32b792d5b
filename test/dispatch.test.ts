/**
 * Recognition by content: the dispatcher hands each input to the reader of its format whatever its name,
 * and says "not evidence" for anything else. The `--threads` option is validated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { gzipSync } from 'node:zlib';
import { classify, observeInput } from '../src/sources/dispatch.js';
import { bufferInput, fileInput, headText } from '../src/sources/input.js';
import { scan } from '../src/scan.js';
import { repoRoot } from './support/samples.js';
import { NoteSink } from '../src/sources/notes.js';

const SYSMON = join(repoRoot(), 'test/fixtures/evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx');
const CLI = join(repoRoot(), 'dist/src/cli/main.js');

test('classify: EVTX, gzip\'d EVTX, zip signature, and not evidence', () => {
  const evtx = readFileSync(SYSMON);
  assert.deepEqual(classify(evtx.subarray(0, 65536)), { adapter: 'evtx' });
  assert.equal(classify(gzipSync(evtx).subarray(0, 65536)), 'gzip');
  assert.equal(classify(Buffer.from('PK\u0003\u0004rest', 'latin1')), 'zip');
  assert.equal(classify(Buffer.from('just some text\n')), null);
  assert.equal(classify(Buffer.from('{"a": 1}\n{"b": 2}\n')), null, 'JSON that is no known format is not evidence');
  assert.equal(classify(Buffer.alloc(0)), null);
  assert.equal(classify(gzipSync(Buffer.from('plain text'))), null);
});

test('headText: UTF-8 BOM, UTF-16LE and UTF-16BE BOMs are decoded', () => {
  assert.equal(headText(Buffer.from('\ufeff{"x":1}', 'utf8')), '{"x":1}');
  assert.equal(headText(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('Time,Entry', 'utf16le')])), 'Time,Entry');
  assert.equal(headText(Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('Time,Entry', 'utf16le').swap16()])), 'Time,Entry');
  // an odd trailing byte of a cut UTF-16BE head is dropped, not misread
  assert.equal(headText(Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from('Ti', 'utf16le').swap16(), Buffer.from([0x00])])), 'Ti');
});

test('an EVTX log under any name, plain or gzip\'d, in memory or on disk, gives the same observations', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-dispatch-'));
  try {
    const sink = new NoteSink();
    const disk = await observeInput(fileInput(SYSMON), { notes: sink }, SYSMON);
    const renamed = join(dir, 'notes.txt');
    copyFileSync(SYSMON, renamed);
    const gz = join(dir, 'archive.bin');
    writeFileSync(gz, gzipSync(readFileSync(SYSMON)));
    const fromName = await observeInput(fileInput(renamed), { notes: sink }, renamed);
    const fromGzip = await observeInput(fileInput(gz), { notes: sink });
    const fromMemory = await observeInput(bufferInput('mem', readFileSync(SYSMON)), { notes: sink });
    const names = (r: typeof disk): string[] => (r?.observations ?? []).map((o) => `${o.source}|${o.action}|${o.part}|${o.name}|${o.time}`);
    assert.ok(names(disk).length >= 6);
    assert.deepEqual(names(fromName), names(disk));
    assert.deepEqual(names(fromGzip), names(disk));
    assert.deepEqual(names(fromMemory), names(disk));
    assert.equal(disk!.items[0]!.host, 'IEWIN7');
    const forced = await observeInput(fileInput(SYSMON), { notes: sink, host: 'CASE-7' }, SYSMON);
    assert.ok(forced!.observations.every((o) => o.host === 'CASE-7'));
    assert.deepEqual(forced!.items.map((i) => i.host), ['CASE-7']);
    assert.deepEqual(sink.list(), []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('scan: a file that is no evidence is a skipped note; a broken gzip is an error note; the rest is read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-dispatch-'));
  try {
    copyFileSync(SYSMON, join(dir, 'a.evtx'));
    writeFileSync(join(dir, 'readme.txt'), 'hello');
    // gzip of an EVTX head, cut short: recognized as gzip'd EVTX, does not decompress whole
    writeFileSync(join(dir, 'cut.gz'), gzipSync(readFileSync(SYSMON)).subarray(0, 4000));
    const r = await scan([dir], { threads: 1 });
    assert.ok(r.findings.some((f) => f.consumer?.name === 'BotConsumer23'));
    assert.ok(r.notes.some((n) => n.file.endsWith('readme.txt') && n.level === 'skipped' && /not evidence/.test(n.message)));
    assert.ok(r.notes.some((n) => n.file.endsWith('cut.gz') && n.level === 'error'), JSON.stringify(r.notes));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('CLI: --threads takes 1 to 64; the result does not depend on it', () => {
  const run = (...a: string[]): { status: number | null; stdout: string; stderr: string } => spawnSync('node', [CLI, 'scan', ...a], { encoding: 'utf8' });
  const bad = run(SYSMON, '--threads', '0');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /a whole number from 1 to 64/);
  const a = JSON.parse(run(join(repoRoot(), 'test/fixtures/evtx'), '-q', '-f', 'json', '--threads', '1').stdout) as { findings: Array<{ id: string; severity: string }> };
  const b = JSON.parse(run(join(repoRoot(), 'test/fixtures/evtx'), '-q', '-f', 'json', '--threads', '3').stdout) as { findings: Array<{ id: string; severity: string }> };
  assert.deepEqual(a.findings.map((f) => [f.id, f.severity]), b.findings.map((f) => [f.id, f.severity]));
});

test('library API: scan, formatReport and the collector script from the package entry point', async () => {
  const lib = await import('../src/index.js');
  const r = await lib.scan([SYSMON], { threads: 1, version: '9.9.9' });
  assert.equal(r.tool.version, '9.9.9');
  assert.deepEqual(r.hosts, ['IEWIN7']);
  const f = r.findings.find((x) => x.consumer?.name === 'BotConsumer23')!;
  assert.equal(f.status, 'deleted');
  const csv = lib.formatReport(r, 'csv');
  assert.match(csv, /BotConsumer23/);
  assert.match(lib.POWERSHELL_COLLECTOR, /__EventFilter/);
  assert.ok(lib.ADAPTERS.some((a) => a.format === 'collector'));
});

test('a gzip bomb (EVTX header, then 100 MB of zeros) is skipped with a note; the rest is read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-dispatch-'));
  try {
    const head = readFileSync(SYSMON).subarray(0, 4096);
    writeFileSync(join(dir, 'bomb.evtx.gz'), gzipSync(Buffer.concat([head, Buffer.alloc(100 * 1024 * 1024)]), { level: 9 }));
    copyFileSync(SYSMON, join(dir, 'a.evtx'));
    const r = await scan([dir], { threads: 1 });
    const note = r.notes.find((n) => n.file.endsWith('bomb.evtx.gz'))!;
    assert.equal(note.level, 'warning');
    assert.match(note.message, /inflates to more than 67108864 bytes \([\d.]+ MiB: the larger of 200x its compressed size and 64 MiB; a compression bomb\?\); skipped/);
    assert.ok(r.findings.some((f) => f.consumer?.name === 'BotConsumer23'));
    assert.deepEqual(r.evidence.map((e) => e.file), [join(dir, 'a.evtx')]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('worker pool: a task over its time limit is stopped and becomes an error note; the scan completes', async () => {
  const r = await scan([join(repoRoot(), 'test/fixtures/evtx')], { threads: 2, taskTimeout: 0.001 });
  const errors = r.notes.filter((n) => n.level === 'error');
  assert.ok(errors.length >= 4, JSON.stringify(r.notes));
  for (const n of errors) assert.equal(n.message, 'not read: still running after 0.001 s (the per-file time budget, --file-timeout); stopped, the other files are read');
  // and with a sane limit the same pool reads everything
  const ok = await scan([join(repoRoot(), 'test/fixtures/evtx')], { threads: 2 });
  assert.ok(ok.findings.some((f) => f.consumer?.name === 'BotConsumer23'));
  assert.ok(!ok.notes.some((n) => n.level === 'error'));
});
