/**
 * Hostile archives and compressed inputs (issue 13, classes 2 and 3, and the zip items of 9), each generated at test
 * time by test/support/hostile/archives.ts and scanned beside GOOD_LOG in a child process under a 512 MB heap cap:
 * the run finishes, peak RSS stays under 512 MB, a note names the problem, and the good log's finding is still there.
 * The one decompression policy is src/sources/containers/inflate.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { consumersOf, GOOD_LOG, GOOD_LOG_CONSUMER, runCli } from './support/child.js';
import type { ChildRun } from './support/child.js';
import { bigMemberZip, descriptorZipWithoutDirectory, evtxGzipBomb, gzipBombRepository, overlappingZip, zipWithoutDirectory } from './support/hostile/archives.js';
import { buildZip } from './support/zip-writer.js';
import { samplesDir } from './support/samples.js';
import { observeInput } from '../src/sources/dispatch.js';
import { bufferInput } from '../src/sources/input.js';
import type { ObserveResult } from '../src/sources/input.js';
import { NoteSink } from '../src/sources/notes.js';
import { ARCHIVE_LIMITS } from '../src/sources/containers/archive.js';
import { INFLATE_POLICY } from '../src/sources/containers/inflate.js';
import { buildRepository, standardConsumerClasses } from './support/cim-builder.js';
import type { EvidenceNote } from '../src/model/types.js';
import { scan } from '../src/scan.js';

interface Report {
  notes: Array<{ file: string; level: string; code: string; message: string }>;
  evidence: Array<{ file: string; kind: string; records: number }>;
  findings: Array<{ consumer?: { name?: string | null } | null }>;
}

const HEAP_MB = 512;

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'wmiscope-hostile-archives-'));
}

/**
 * `scan <hostile> GOOD_LOG -f json` in a child: finished, under the heap cap, exit 1 (findings), the good finding
 * kept. The child's temporary folder (TMPDIR) is one of its own, and must be empty again when it is done: every
 * temporary copy and staging folder removed.
 */
async function scanBeside(hostile: string, timeoutMs = 180_000): Promise<{ run: ChildRun; report: Report }> {
  const tmp = tempDir();
  let run: ChildRun;
  try {
    run = await runCli(['scan', hostile, GOOD_LOG, '-f', 'json'], { maxOldSpaceMb: HEAP_MB, timeoutMs, env: { TMPDIR: tmp } });
    assert.deepEqual(readdirSync(tmp), [], 'temporary files left behind');
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  assert.equal(run.timedOut, false, `timed out after ${run.wallMs} ms`);
  assert.equal(run.signal, null, run.stderr.slice(0, 2000));
  assert.equal(run.code, 1, run.stderr.slice(0, 2000));
  assert.ok(run.peakRssMb !== null && run.peakRssMb < HEAP_MB, `peak RSS ${run.peakRssMb} MB`);
  assert.ok(consumersOf(run.stdout).includes(GOOD_LOG_CONSUMER), run.stdout.slice(0, 2000));
  process.stderr.write(`# ${hostile.split('/').pop()}: peak RSS ${run.peakRssMb?.toFixed(0)} MB, ${run.wallMs} ms\n`);
  return { run, report: JSON.parse(run.stdout) as Report };
}

const noteMatching = (r: Report, file: RegExp, message: RegExp): Report['notes'][number] | undefined => r.notes.find((n) => file.test(n.file) && message.test(n.message));

test('a 2 GB zip member deflated ~1000:1 into ~2 MB: refused from its declared sizes, never inflated', async () => {
  const dir = tempDir();
  try {
    const file = join(dir, 'big.zip');
    const { bytes, inflated } = bigMemberZip(file, readFileSync(GOOD_LOG).subarray(0, 4096));
    assert.ok(bytes < 2.5e6 && inflated > 2e9, `${bytes} → ${inflated}`);
    const { report } = await scanBeside(file);
    const note = noteMatching(report, /big\.zip!\/logs\/big\.evtx$/, /declared \d+ → 2013265920 bytes: inflates to more than \d+ bytes \([\d.]+ MiB: the larger of 200x its compressed size and 64 MiB; a compression bomb\?\); not read/);
    assert.ok(note, JSON.stringify(report.notes));
    assert.equal(note.code, 'over-limit');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('one local entry referenced by 20 central-directory entries: read once, the 19 others refused as overlapping', async () => {
  const dir = tempDir();
  try {
    const file = join(dir, 'overlap.zip');
    // a log's header, then 48 MiB of zeros: each reference alone is within every bound
    overlappingZip(file, Buffer.concat([readFileSync(GOOD_LOG).subarray(0, 4096), Buffer.alloc(48 * 2 ** 20)]), 20);
    const { report } = await scanBeside(file);
    const overlapping = report.notes.filter((n) => /overlap\.zip!\/copy\d\d\.evtx/.test(n.file) && /overlaps the data of member copy01\.evtx \(the same local entry referenced again: a zip bomb technique\); not read/.test(n.message));
    // the note sink caps repeats of one code per file; at least the first few are there, each naming the problem
    assert.ok(overlapping.length >= 1, JSON.stringify(report.notes));
    assert.ok(!report.notes.some((n) => n.file.endsWith('!/copy01.evtx') && /overlaps/.test(n.message)), 'the first reference is read');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a 2 MB gzip of zeros as OBJECTS.DATA.gz in a repository folder: inflation stopped at the policy bound, the repository still opened', async () => {
  const dir = tempDir();
  try {
    gzipBombRepository(dir);
    const { report } = await scanBeside(dir);
    const note = noteMatching(report, /OBJECTS\.DATA\.gz$/, /repository file not read \(gzip data inflates to more than \d+ bytes \([\d.]+ MiB: the larger of 200x its compressed size and 64 MiB; a compression bomb\?\)\)/);
    assert.ok(note, JSON.stringify(report.notes));
    assert.equal(note.code, 'over-limit');
    // the rest of the repository is still read: its index and mapping name the namespaces
    assert.ok(report.evidence.some((e) => e.kind === 'cim'), JSON.stringify(report.evidence));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a zip with its central directory and end record cut off: members found by their local headers (plain and with data descriptors)', async () => {
  const dir = tempDir();
  try {
    const members = [
      { name: 'logs/readme.txt', data: Buffer.from('collected by hand\n') },
      { name: 'logs/sysmon.evtx', data: readFileSync(GOOD_LOG) },
    ];
    for (const [name, make] of [['cut.zip', zipWithoutDirectory], ['go-cut.zip', descriptorZipWithoutDirectory]] as const) {
      const file = join(dir, name);
      make(file, members);
      const { report } = await scanBeside(file);
      const note = noteMatching(report, new RegExp(`${name.replace('.', '\\.')}$`), /zip directory not found \(.*\): 2 member\(s\) found by scanning local headers instead/);
      assert.ok(note, `${name}: ${JSON.stringify(report.notes)}`);
      const item = report.evidence.find((e) => e.file.endsWith(`${name}!/logs/sysmon.evtx`));
      assert.ok(item && item.records === 17, `${name}: ${JSON.stringify(report.evidence)}`);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('a .evtx.gz bomb (an EVTX header then 2 GB of zeros, ~2 MB): streamed, stopped at the bound, skipped with a note', async () => {
  const dir = tempDir();
  try {
    const file = join(dir, 'Security.evtx.gz');
    const size = evtxGzipBomb(file, GOOD_LOG);
    const { report } = await scanBeside(file);
    const note = noteMatching(report, /Security\.evtx\.gz$/, new RegExp(`gzip data inflates to more than ${size * 200} bytes \\([\\d.]+ MiB: the larger of 200x its compressed size and 64 MiB; a compression bomb\\?\\); skipped`));
    assert.ok(note, JSON.stringify(report.notes));
    assert.equal(note.code, 'over-limit');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

const BENCH = join(samplesDir(), 'evtx/bench/mixed-480chunks.evtx');
const benchSkip: string | false = existsSync(BENCH) ? false : `sample not found at ${BENCH}`;

test('a real 30 MB EVTX inside a zip (over the 16 MiB in-memory bound): read from a temporary file, the same findings as the file itself', { skip: benchSkip }, async () => {
  const dir = tempDir();
  try {
    const data = readFileSync(BENCH);
    assert.ok(data.length > 16 * 2 ** 20);
    const file = join(dir, 'logs.zip');
    writeFileSync(file, buildZip([{ name: 'C/Windows/System32/winevt/Logs/mixed.evtx', data, method: 'deflate' }]));
    const plain = join(dir, 'mixed.evtx');
    copyFileSync(BENCH, plain);
    const direct = await runCli(['scan', plain, '-f', 'json'], { maxOldSpaceMb: HEAP_MB });
    const { report } = await scanBeside(file);
    const want = consumersOf(direct.stdout).sort();
    assert.deepEqual(want, ['BotConsumer23', 'Evil', 'ProbeScriptFint']);
    assert.deepEqual([...new Set(report.findings.map((f) => f.consumer?.name ?? ''))].sort(), want);
    const item = report.evidence.find((e) => e.file.endsWith('logs.zip!/C/Windows/System32/winevt/Logs/mixed.evtx'));
    const directItem = (JSON.parse(direct.stdout) as Report).evidence[0]!;
    assert.equal(item?.records, directItem.records);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

// ---- in process: the zip directory's own checks ---------------------------------------------------------

async function readZipBuffer(b: Buffer, name: string): Promise<{ r: ObserveResult | null; notes: EvidenceNote[] }> {
  const sink = new NoteSink();
  const r = await observeInput(bufferInput(name, b), { notes: sink });
  return { r, notes: sink.list() };
}

test('zip entries whose data ranges overlap (not the same local header): the first in file order is read, the other refused', async () => {
  const good = readFileSync(GOOD_LOG);
  const zip = buildZip([{ name: 'a.evtx', data: good }, { name: 'b.evtx', data: good }]);
  // b's directory entry points 40 bytes into a's data
  const cd = zip.readUInt32LE(zip.length - 22 + 16);
  const secondCentral = cd + 46 + 'a.evtx'.length;
  zip.writeUInt32LE(30 + 'a.evtx'.length + 40, secondCentral + 42);
  const { r, notes } = await readZipBuffer(zip, 'ranges.zip');
  assert.deepEqual(r?.items.map((i) => i.file), ['ranges.zip!/a.evtx']);
  assert.ok(notes.some((n) => n.file === 'ranges.zip!/b.evtx' && /overlaps the data of member a\.evtx \(data ranges that overlap: a zip bomb technique\); not read/.test(n.message)), JSON.stringify(notes));
});

test('past the member cap the rest is counted, through the directory and through a local-header scan alike', async () => {
  const saved = { ...ARCHIVE_LIMITS };
  try {
    ARCHIVE_LIMITS.maxMembers = 2;
    const members = [1, 2, 3, 4, 5].map((i) => ({ name: `${i}.txt`, data: Buffer.from(`member ${i}\n`) }));
    const whole = buildZip(members);
    const a = await readZipBuffer(whole, 'many.zip');
    assert.ok(a.notes.some((n) => n.file === 'many.zip' && n.message === '5 members; the first 2 are read, 3 are not (limit of 2 members per archive)'), JSON.stringify(a.notes));
    const cut = whole.subarray(0, whole.readUInt32LE(whole.length - 22 + 16));
    const b = await readZipBuffer(cut, 'many-cut.zip');
    assert.ok(b.notes.some((n) => n.file === 'many-cut.zip' && n.message === '5 members; the first 2 are read, 3 are not (limit of 2 members per archive)'), JSON.stringify(b.notes));
  } finally {
    Object.assign(ARCHIVE_LIMITS, saved);
  }
});

test('a repository in a zip with a gzip bomb as OBJECTS.DATA.gz: that file refused under the one policy, the rest of the repository read', async () => {
  const dir = tempDir();
  const saved = { ...INFLATE_POLICY };
  try {
    // the policy scaled down so that a small bomb is over it: 1 MiB floor, 50:1
    INFLATE_POLICY.floor = 1 << 20;
    INFLATE_POLICY.ratio = 50;
    const repo = join(dir, 'repo');
    mkdirSync(repo);
    buildRepository(repo, { namespaces: ['ROOT', 'ROOT\\subscription'], classes: standardConsumerClasses('ROOT\\subscription'), instances: [] });
    const prefix = 'HOST2/C/Windows/System32/wbem/Repository';
    const members = readdirSync(repo)
      .filter((n) => n !== 'OBJECTS.DATA')
      .map((n) => ({ name: `${prefix}/${n}`, data: readFileSync(join(repo, n)) }));
    members.push({ name: `${prefix}/OBJECTS.DATA.gz`, data: gzipSync(Buffer.alloc(8 << 20)) });
    const { r, notes } = await readZipBuffer(buildZip(members), 'repo.zip');
    assert.ok(notes.some((n) => n.file === `repo.zip!/${prefix}/OBJECTS.DATA.gz` && n.code === 'over-limit' && /repository file not read \(gzip data inflates to more than \d+ bytes \([\d.]+ MiB: the larger of 50x its compressed size and [\d.]+ MiB; a compression bomb\?\)\)/.test(n.message)), JSON.stringify(notes));
    assert.ok(r?.items.some((i) => i.kind === 'cim' && i.host === 'HOST2'), JSON.stringify(r?.items));
    assert.ok(notes.some((n) => n.file === `repo.zip!/${prefix}` && /OBJECTS\.DATA is missing/.test(n.message)), JSON.stringify(notes));
    assert.ok(!notes.some((n) => n.message.includes(tmpdir())), 'no temporary path in a note');
  } finally {
    Object.assign(INFLATE_POLICY, saved);
    rmSync(dir, { recursive: true, force: true });
  }
});

test('zip without a directory: a member whose data descriptor lies is skipped with a note, the members after it are read', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-test-ddlie-'));
  try {
    const zip = join(dir, 'lying.zip');
    descriptorZipWithoutDirectory(zip, [
      { name: 'a.txt', data: Buffer.from('hello world '.repeat(100)), descriptorLies: 7 },
      { name: 'logs/good.evtx', data: readFileSync(GOOD_LOG) },
    ]);
    const r = await scan([zip], { threads: 1 });
    assert.deepEqual(r.evidence.map((e) => e.file), [`${zip}!/logs/good.evtx`]);
    assert.deepEqual(r.findings.map((f) => f.consumer?.name), [GOOD_LOG_CONSUMER]);
    assert.ok(r.notes.some((n) => n.file === zip && /1 member\(s\) could not be delimited and were skipped \(first: member a\.txt: no data descriptor that matches its data/.test(n.message)), JSON.stringify(r.notes));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
