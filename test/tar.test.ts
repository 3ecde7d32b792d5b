/**
 * Tar, tar.gz and tgz read in place (src/sources/containers/tar.ts lists and opens members; src/sources/containers/archive.ts walks
 * them exactly as it walks a zip): the same findings as the same files unpacked, GNU long names and pax paths,
 * a truncated gzip stream, and hostile headers (bad checksum, sizes beyond the file, negative, huge or base-256
 * sizes, too many members, nesting, bombs, names with control characters or `../`). Archives are built by
 * test/support/tar-writer.ts and, when the system has it, by GNU tar itself.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { constants as zc, createGzip, gunzipSync, gzipSync } from 'node:zlib';
import { scan } from '../src/scan.js';
import { classify, observeInput } from '../src/sources/dispatch.js';
import { bufferInput, fileInput } from '../src/sources/input.js';
import type { ObserveResult } from '../src/sources/input.js';
import { ARCHIVE_LIMITS } from '../src/sources/containers/archive.js';
import { INFLATE_POLICY } from '../src/sources/containers/inflate.js';
import type { EvidenceNote, ScanResult } from '../src/model/types.js';
import { buildTar, writeTar } from './support/tar-writer.js';
import type { TarMember } from './support/tar-writer.js';
import { buildZip } from './support/zip-writer.js';
import { repoRoot, samplesDir, skipReason } from './support/samples.js';
import { standardFixtures } from './support/cim-builder.js';
import { NoteSink } from '../src/sources/notes.js';

const FIX = join(repoRoot(), 'test/fixtures');
const SYSMON = readFileSync(join(FIX, 'evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx'));
const SECURITY = readFileSync(join(FIX, 'evtx/issue_38.evtx')); // Computer foobar-PC, no WMI events
const WIN10 = join(samplesDir(), 'cim/dissect-cim-win10');
const win10Skip: string | false = skipReason || (existsSync(WIN10) ? false : `CIM sample not found at ${WIN10}`);
const gnuTar = spawnSync('tar', ['--version'], { encoding: 'utf8' });
const gnuTarSkip: string | false = gnuTar.status === 0 && /GNU tar/.test(gnuTar.stdout) ? false : 'GNU tar not installed';

const LOGS = 'C/Windows/System32/winevt/Logs';
const REPO = 'C/Windows/System32/wbem/Repository';

function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Files under `root` as tar members (names relative to `root`, `/`-separated), sorted. */
function membersOf(root: string): TarMember[] {
  const out: TarMember[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else out.push({ name: relative(root, p).split('\\').join('/'), data: readFileSync(p) });
    }
  };
  walk(root);
  return out;
}

/** Write members as files under `root` (the unpacked twin of an archive). */
function extract(root: string, members: TarMember[]): void {
  for (const m of members) {
    const p = join(root, ...m.name.split('/'));
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, m.data ?? '');
  }
}

/** Repository files of a folder (gzip'd copies decompressed, as a collector would collect them). */
function repoMembers(dir: string, prefix: string): TarMember[] {
  return readdirSync(dir).map((f) => {
    const raw = readFileSync(join(dir, f));
    return { name: `${prefix}/${f.replace(/\.gz$/i, '')}`, data: f.toLowerCase().endsWith('.gz') ? gunzipSync(raw) : raw };
  });
}

/**
 * A scan result as comparable text: everything but the scan time and a repository's file times, with the
 * two spellings of where a file came from (`<folder>/x` unpacked, `<archive>!/x` in the archive) made one.
 */
function comparable(res: ScanResult, prefix: string): string {
  // a repository's file times are the file system's (an archive member has none read): not compared
  const norm = (v: unknown): string =>
    JSON.stringify(v, (k, x: unknown) => (k === 'filesModifiedFirst' || k === 'filesModifiedLast' ? null : x))
      .split(prefix)
      .join('@');
  return JSON.stringify({
    hosts: res.hosts,
    // a finding's observations in the order the files were read (GNU tar's name order is not the folder walk's)
    findings: res.findings.map((f) => norm({ ...f, observations: [...f.observations].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1)) })).sort(),
    evidence: res.evidence.map(norm).sort(),
    coverage: norm(res.coverage ?? null),
    fleet: norm(res.fleet ?? null),
    notes: res.notes.map(norm).sort(),
  });
}

/** Equal comparable texts; on a difference, the first differing part (the texts are long). */
function assertSame(actual: string, expected: string, what: string): void {
  if (actual === expected) return;
  const a = JSON.parse(actual) as Record<string, unknown>;
  const e = JSON.parse(expected) as Record<string, unknown>;
  for (const k of Object.keys(e)) {
    const [x, y] = [JSON.stringify(a[k]), JSON.stringify(e[k])];
    if (x === y) continue;
    let i = 0;
    while (i < x.length && x[i] === y[i]) i++;
    assert.fail(`${what}: ${k} differs at ${i}:\n  archive:  ${x.slice(Math.max(0, i - 300), i + 300)}\n  unpacked: ${y.slice(Math.max(0, i - 300), i + 300)}`);
  }
}

async function read(b: Buffer, name: string): Promise<{ r: ObserveResult | null; notes: EvidenceNote[] }> {
  const sink = new NoteSink();
  const r = await observeInput(bufferInput(name, b), { notes: sink });
  return { r, notes: sink.list() };
}

/** The gzip'd bytes of `parts`, each ended by a full flush; with the compressed offset where each part ends. */
async function gzipParts(parts: Buffer[]): Promise<{ gz: Buffer; ends: number[] }> {
  const gz = createGzip();
  const chunks: Buffer[] = [];
  let length = 0;
  gz.on('data', (c: Buffer) => {
    chunks.push(c);
    length += c.length;
  });
  const ends: number[] = [];
  for (const p of parts) {
    gz.write(p);
    await new Promise<void>((resolve) => gz.flush(zc.Z_FULL_FLUSH, () => resolve()));
    ends.push(length);
  }
  await new Promise<void>((resolve) => gz.end(() => resolve()));
  await new Promise((resolve) => setImmediate(resolve));
  return { gz: Buffer.concat(chunks), ends };
}

/** The evidence tree used for the archive/unpacked comparisons: EVTX, exports, Velociraptor rows, a collector document, a repository. */
function evidenceTree(root: string): void {
  const files: TarMember[] = [
    { name: `HOST1/${LOGS}/Microsoft-Windows-Sysmon%4Operational.evtx`, data: SYSMON },
    { name: `HOST2/${LOGS}/Security.evtx`, data: SECURITY },
    { name: 'exports/sysmon-bot.nxlog.jsonl', data: readFileSync(join(FIX, 'exports/sysmon-bot.nxlog.jsonl')) },
    { name: 'exports/otrf-wmi.ecs.ndjson', data: readFileSync(join(FIX, 'exports/otrf-wmi.ecs.ndjson')) },
    { name: 'exports/otrf-wmi.events.xml', data: readFileSync(join(FIX, 'exports/otrf-wmi.events.xml')) },
    { name: 'vr/bot.PermanentWMIEvents.json', data: readFileSync(join(FIX, 'velociraptor/bot.PermanentWMIEvents.json')) },
    { name: 'vr/bot.Evtx.json', data: readFileSync(join(FIX, 'velociraptor/bot.Evtx.json')) },
    { name: 'collector/win10-scm.json', data: readFileSync(join(FIX, 'collector/win10-scm.json')) },
    { name: 'notes/readme.txt', data: 'not evidence' },
  ];
  extract(root, files);
  const repo = join(root, 'HOST1', ...REPO.split('/'));
  mkdirSync(repo, { recursive: true });
  standardFixtures(repo);
}

test('recognised by content: ustar, GNU and gzip\'d tar headers; a tar named .txt is a tar, text named .tar.gz is not', async () => {
  const tar = buildTar([{ name: 'a.evtx', data: SYSMON }]);
  assert.equal(classify(tar.subarray(0, 65536)), 'tar');
  assert.equal(classify(buildTar([{ name: 'a.evtx', data: SYSMON, gnu: true }]).subarray(0, 65536)), 'tar');
  assert.equal(classify(gzipSync(tar).subarray(0, 65536)), 'tar-gzip');
  const broken = Buffer.from(tar);
  broken[0] ^= 1; // checksum no longer right: not a tar
  assert.equal(classify(broken.subarray(0, 65536)), null);
  const asText = await read(tar, 'evidence.txt');
  assert.ok(asText.r, JSON.stringify(asText.notes));
  assert.deepEqual(asText.r.items.map((i) => i.file), ['evidence.txt!/a.evtx']);
  const notTar = await read(gzipSync('hello, this is text\n'), 'fake.tar.gz');
  assert.equal(notTar.r, null);
});

test('tar and tar.gz of EVTX, exports, Velociraptor rows, a collector document and a repository: the same findings, evidence and coverage as the files unpacked', async () => {
  const root = tempDir('wmiscope-tar-same-');
  try {
    const plain = join(root, 'plain');
    evidenceTree(plain);
    const members = membersOf(plain);
    const direct = await scan([plain], { threads: 1 });
    assert.ok(direct.findings.some((f) => f.filter?.name === 'BotFilter82'));
    assert.ok(direct.evidence.some((e) => e.kind === 'cim'));
    const want = comparable(direct, `${plain}/`);
    for (const [name, bytes] of [
      ['evidence.tar', buildTar(members)],
      ['evidence.tar.gz', gzipSync(buildTar(members))],
      ['evidence.tgz', gzipSync(buildTar(members.map((m) => ({ ...m, gnu: true }))))],
    ] as const) {
      const file = join(root, name);
      writeFileSync(file, bytes);
      const res = await scan([file], { threads: 1 });
      assertSame(comparable(res, `${file}!/`), want, name);
      assert.ok(res.notes.some((n) => n.file === `${file}!/notes/readme.txt` && /not evidence/.test(n.message)), name);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('GNU tar itself (gnu and pax formats, names over 100 bytes): the same findings as the files unpacked', { skip: gnuTarSkip }, async () => {
  const root = tempDir('wmiscope-tar-gnu-');
  try {
    const deep = `collection-${'x'.repeat(80)}`;
    const plain = join(root, 'plain');
    evidenceTree(join(plain, deep));
    const direct = await scan([plain], { threads: 1 });
    const want = comparable(direct, `${plain}/`);
    for (const [name, args] of [
      ['gnu.tar.gz', ['--sort=name', '--format=gnu', '-czf']],
      ['pax.tar', ['--sort=name', '--format=pax', '-cf']],
      ['ustar-prefix.tgz', ['--sort=name', '--format=ustar', '-czf']],
    ] as const) {
      const file = join(root, name);
      const r = spawnSync('tar', [...args, file, '-C', plain, deep], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const res = await scan([file], { threads: 1 });
      assertSame(comparable(res, `${file}!/`), want, name);
      assert.ok(res.evidence.some((e) => e.file === `${file}!/${deep}/HOST1/${LOGS}/Microsoft-Windows-Sysmon%4Operational.evtx`), name);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('the real Windows 10 repository in a tar.gz with its logs beside it: read as a repository, the same findings as unpacked', { skip: win10Skip }, async () => {
  const root = tempDir('wmiscope-tar-win10-');
  try {
    // a folder name over 100 bytes: every member name is a pax `path=` record
    const top = 'long-'.repeat(25);
    const members: TarMember[] = [
      { name: `${top}/WKS-B/${LOGS}/Security.evtx`, data: SECURITY, longName: 'pax' },
      ...repoMembers(WIN10, `${top}/WKS-B/${REPO}`).map((m) => ({ ...m, longName: 'pax' as const })),
    ];
    const plain = join(root, 'plain');
    extract(plain, members);
    const direct = await scan([plain], { threads: 1 });
    const file = join(root, 'win10.tar.gz');
    writeFileSync(file, gzipSync(buildTar(members), { level: 1 }));
    const res = await scan([file], { threads: 1 });
    assertSame(comparable(res, `${file}!/`), comparable(direct, `${plain}/`), 'win10.tar.gz');
    const cim = res.evidence.filter((e) => e.kind === 'cim');
    // the repository joins the host of the log collected beside it
    assert.deepEqual(cim.map((e) => `${e.host} ${e.file}`), [`foobar-PC ${file}!/${top}/WKS-B/${REPO}`]);
    const scm = res.findings.filter((f) => f.filter?.name === 'SCM Event Log Filter');
    assert.deepEqual(scm.map((f) => `${f.host} ${f.status}`), ['foobar-PC active']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('truncated gzip: a cut trailer keeps every member (one warning); a stream cut inside a member keeps the whole members before it', async () => {
  const tar = buildTar([
    { name: 'logs/sysmon.evtx', data: SYSMON },
    { name: 'logs/nxlog.jsonl', data: readFileSync(join(FIX, 'exports/sysmon-bot.nxlog.jsonl')) },
  ]);
  const whole = await read(gzipSync(tar), 'otrf.tar.gz');
  assert.ok(whole.r);
  for (const cut of [4, 8]) {
    const gz = gzipSync(tar);
    const t = await read(gz.subarray(0, gz.length - cut), 'otrf.tar.gz');
    assert.ok(t.r, JSON.stringify(t.notes));
    assert.deepEqual(t.r.observations, whole.r.observations);
    assert.deepEqual(t.r.items, whole.r.items);
    // the members' own notes (nxlog's local times) are the same; the archive has one warning more
    assert.deepEqual(t.notes.filter((n) => n.file !== 'otrf.tar.gz'), whole.notes);
    const own = t.notes.filter((n) => n.file === 'otrf.tar.gz');
    assert.equal(own.length, 1, JSON.stringify(t.notes));
    assert.equal(own[0]!.level, 'warning');
    assert.match(own[0]!.message, /gzip stream ends early .*all 2 member\(s\) are whole and read/);
  }

  // cut in the middle of the second member's data: the first member is whole
  const first = buildTar([{ name: 'logs/sysmon.evtx', data: SYSMON }], false);
  const { gz, ends } = await gzipParts([first, tar.subarray(first.length)]);
  const t = await read(gz.subarray(0, ends[0]! + 2000), 'cut.tar.gz');
  assert.ok(t.r, JSON.stringify(t.notes));
  assert.deepEqual(t.r.items.map((i) => i.file), ['cut.tar.gz!/logs/sysmon.evtx']);
  assert.deepEqual(t.r.observations, whole.r.observations.filter((o) => o.file === 'otrf.tar.gz!/logs/sysmon.evtx').map((o) => ({ ...o, file: 'cut.tar.gz!/logs/sysmon.evtx' })));
  assert.deepEqual(t.notes.map((n) => n.file), ['cut.tar.gz'], JSON.stringify(t.notes));
  assert.match(t.notes[0]!.message, /gzip stream ends early .*the 1 whole member\(s\) before that are read; member logs\/nxlog\.jsonl is cut off \(\d+ of \d+ bytes\) and not read/);

  // a plain tar cut inside a member: the size field is beyond the file
  const p = await read(tar.subarray(0, first.length + 512 + 1000), 'cut.tar');
  assert.ok(p.r);
  assert.deepEqual(p.r.items.map((i) => i.file), ['cut.tar!/logs/sysmon.evtx']);
  assert.ok(p.notes.some((n) => n.file === 'cut.tar' && /member logs\/nxlog\.jsonl: its size field says \d+ bytes but the file ends 1000 bytes into it/.test(n.message)), JSON.stringify(p.notes));
});

test('hostile headers: bad checksum, size beyond the file, negative, huge and unreadable sizes — a note each, the members before kept; base-256 sizes read', async () => {
  const good: TarMember = { name: 'a/sysmon.evtx', data: SYSMON };
  const after: TarMember = { name: 'b/security.evtx', data: SECURITY };
  const cases: Array<[string, TarMember, RegExp]> = [
    ['bad checksum', { name: 'x.evtx', data: SYSMON, badChecksum: true }, /damaged (gzip'd )?tar header at offset \d+ \(bad checksum\); the 1 member\(s\) before it are read, the rest is lost/],
    ['size beyond the file', { name: 'x.evtx', data: 'ElfFile\0', declaredSize: 10 * 2 ** 30 }, /member x\.evtx: its size field says 10737418240 bytes but the (file|tar) ends/],
    ['negative base-256 size', { name: 'x.evtx', data: SYSMON, sizeField: Buffer.alloc(12, 0xff) }, /unreadable size field \(negative\)/],
    ['huge base-256 size', { name: 'x.evtx', data: SYSMON, sizeField: Buffer.from([0x80, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]) }, /unreadable size field \(too large\)/],
    ['size not octal', { name: 'x.evtx', data: SYSMON, sizeField: Buffer.from('99zz\0\0\0\0\0\0\0\0', 'latin1') }, /unreadable size field \(not a number\)/],
  ];
  for (const [what, bad, note] of cases) {
    for (const gz of [false, true]) {
      const tar = buildTar([good, bad, after]);
      const name = gz ? 'hostile.tar.gz' : 'hostile.tar';
      const { r, notes } = await read(gz ? gzipSync(tar) : tar, name);
      assert.ok(r, `${what}: ${JSON.stringify(notes)}`);
      assert.deepEqual(r.items.map((i) => i.file), [`${name}!/a/sysmon.evtx`], what);
      assert.ok(notes.some((n) => n.file === name && note.test(n.message)), `${what} (${name}): ${JSON.stringify(notes)}`);
    }
  }
  // a name in a note about the archive is escaped like a member's label
  const esc = await read(buildTar([good, { name: 'evil\u001b[2J.evtx', data: 'ElfFile\0', declaredSize: 2 ** 20 }]), 'esc.tar');
  assert.ok(esc.notes.some((n) => n.file === 'esc.tar' && n.message.includes('member evil\\x1b[2J.evtx: its size field says 1048576 bytes')), JSON.stringify(esc.notes));
  assert.ok(!esc.notes.some((n) => n.message.includes('\u001b')));

  // a size written in base-256 (GNU, for members over 8 GiB) is a size like any other
  const b256 = Buffer.alloc(12);
  b256[0] = 0x80;
  b256.writeUInt32BE(SYSMON.length, 8);
  const { r, notes } = await read(buildTar([good, { name: 'b256.evtx', data: SYSMON, sizeField: b256 }, after]), 'b256.tar');
  assert.ok(r);
  assert.deepEqual(r.items.map((i) => i.file), ['b256.tar!/a/sysmon.evtx', 'b256.tar!/b256.evtx', 'b256.tar!/b/security.evtx']);
  assert.deepEqual(notes.filter((n) => !n.file.startsWith('b256.tar!/')), []);
});

test('hostile names: ESC, ../ and absolute names are escaped labels, never paths; GNU long names and pax paths read', async () => {
  const root = tempDir('wmiscope-tar-names-');
  try {
    const long = `${'deep/'.repeat(30)}sysmon.evtx`;
    const file = join(root, 'names.tar');
    writeTar(file, [
      { name: '../../x', data: 'escaped the archive' },
      { name: '/etc/x', data: 'absolute' },
      { name: 'evil\u001b[31mred.evtx', data: SYSMON },
      { name: `gnu/${long}`, data: SYSMON, longName: 'gnu' },
      { name: `pax/${long}`, data: SYSMON, longName: 'pax' },
      { name: `pre/${'p'.repeat(120)}/sysmon.evtx`, data: SYSMON, longName: 'prefix' },
      { name: 'folder/', type: '5' },
      { name: 'link.evtx', type: '2' },
    ]);
    const sink = new NoteSink();
    const r = await observeInput(fileInput(file), { notes: sink }, file);
    const notes = sink.list();
    assert.ok(r, JSON.stringify(notes));
    assert.deepEqual(r.items.map((i) => i.file.slice(file.length)), [
      '!/evil\\x1b[31mred.evtx',
      `!/gnu/${long}`,
      `!/pax/${long}`,
      `!/pre/${'p'.repeat(120)}/sysmon.evtx`,
    ]);
    const text = [...notes.map((n) => `${n.file}: ${n.message}`), ...r.items.map((i) => i.file), ...r.observations.map((o) => o.file)];
    assert.ok(!text.some((t) => t.includes('\u001b')));
    assert.ok(notes.some((n) => n.file === `${file}!/../../x` && /not evidence/.test(n.message)), JSON.stringify(notes));
    assert.ok(notes.some((n) => n.file === `${file}!//etc/x`));
    for (const p of [join(root, 'x'), join(dirname(root), 'x'), join(root, 'evil\u001b[31mred.evtx')]) assert.ok(!existsSync(p), p);
    assert.deepEqual(readdirSync(root), ['names.tar']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('bounds: a gzip bomb member, a bomb tar.gz, too many members, total bytes, nesting beyond the depth bound', async () => {
  // a gzip'd EVTX member that inflates past the gzip ratio bound: skipped with a note, the member beside it read
  const bomb = gzipSync(Buffer.concat([Buffer.from('ElfFile\0'), Buffer.alloc(80 * 2 ** 20)]));
  const withBomb = await read(buildTar([{ name: 'bomb.evtx.gz', data: bomb }, { name: 'good.evtx', data: SYSMON }]), 'bomb.tar');
  assert.ok(withBomb.r);
  assert.deepEqual(withBomb.r.items.map((i) => i.file), ['bomb.tar!/good.evtx']);
  assert.ok(withBomb.notes.some((n) => n.file === 'bomb.tar!/bomb.evtx.gz' && /compression bomb/.test(n.message)), JSON.stringify(withBomb.notes));

  const saved = { ...ARCHIVE_LIMITS };
  const savedPolicy = { ...INFLATE_POLICY };
  try {
    // the tar.gz itself inflating past the ratio bound: the members before the bomb are read
    INFLATE_POLICY.ratio = 50;
    INFLATE_POLICY.floor = 1 << 20;
    const tgz = gzipSync(buildTar([{ name: 'good.evtx', data: SYSMON }, { name: 'zeros.bin', data: Buffer.alloc(16 * 2 ** 20) }, { name: 'late.evtx', data: SYSMON }]));
    const b = await read(tgz, 'bomb.tar.gz');
    assert.ok(b.r, JSON.stringify(b.notes));
    assert.deepEqual(b.r.items.map((i) => i.file), ['bomb.tar.gz!/good.evtx']);
    assert.ok(b.notes.some((n) => n.file === 'bomb.tar.gz' && /listing stopped: gzip stream inflates over 50:1 .*gzip bomb/.test(n.message)), JSON.stringify(b.notes));
    Object.assign(INFLATE_POLICY, savedPolicy);

    ARCHIVE_LIMITS.maxMembers = 2;
    const many = await read(buildTar([{ name: '1.evtx', data: SYSMON }, { name: '2.txt', data: 'x' }, { name: '3.evtx', data: SYSMON }]), 'many.tar');
    assert.deepEqual(many.r?.items.map((i) => i.file), ['many.tar!/1.evtx']);
    assert.ok(many.notes.some((n) => n.file === 'many.tar' && /more than 2 members; only the first 2 are read/.test(n.message)), JSON.stringify(many.notes));
    Object.assign(ARCHIVE_LIMITS, saved);

    ARCHIVE_LIMITS.maxTotalInflated = SYSMON.length * 2 + 65536;
    const budget = await read(buildTar([{ name: '1.evtx', data: SYSMON }, { name: '2.evtx', data: SYSMON }, { name: '3.evtx', data: SYSMON }]), 'budget.tar');
    assert.ok((budget.r?.items.length ?? 0) < 3);
    assert.ok(budget.notes.some((n) => /bytes inflated from this archive/.test(n.message)), JSON.stringify(budget.notes));
  } finally {
    Object.assign(ARCHIVE_LIMITS, saved);
    Object.assign(INFLATE_POLICY, savedPolicy);
  }

  // nesting: tar in zip in tar.gz is two levels down and read; one more level is not
  const wrapTar = (inner: Buffer, name: string): Buffer => buildTar([{ name, data: inner }]);
  const level2 = gzipSync(wrapTar(buildZip([{ name: 'b.tar', data: wrapTar(SYSMON, 'sysmon.evtx') }]), 'a.zip'));
  const ok = await read(level2, 'outer.tar.gz');
  assert.ok(ok.r, JSON.stringify(ok.notes));
  assert.equal(ok.r.items[0]!.file, 'outer.tar.gz!/a.zip!/b.tar!/sysmon.evtx');
  const tooDeep = await read(wrapTar(wrapTar(wrapTar(wrapTar(SYSMON, 'sysmon.evtx'), 'c.tar'), 'b.tar'), 'a.tar'), 'outer.tar');
  assert.equal(tooDeep.r, null);
  assert.ok(tooDeep.notes.some((n) => n.file === 'outer.tar!/a.tar!/b.tar!/c.tar' && /tar nested 3 levels deep/.test(n.message)), JSON.stringify(tooDeep.notes));
});

test('one bad archive never costs the others: a damaged tar.gz beside a good log in one scan', async () => {
  const root = tempDir('wmiscope-tar-bad-');
  try {
    const tgz = gzipSync(buildTar([{ name: 'x.evtx', data: SYSMON, badChecksum: true }]));
    writeFileSync(join(root, 'broken.tgz'), tgz.subarray(0, tgz.length >> 1));
    writeFileSync(join(root, 'sysmon.evtx'), SYSMON);
    const res = await scan([root], { threads: 1 });
    assert.ok(res.findings.some((f) => f.filter?.name === 'BotFilter82'));
    assert.ok(statSync(join(root, 'broken.tgz')).size > 0);
    assert.ok(res.notes.some((n) => n.file.endsWith('broken.tgz')), JSON.stringify(res.notes));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('mutated tar and tar.gz headers and streams: every read resolves with notes, never a throw', { timeout: 300_000 }, async () => {
  const { default: fc } = await import('fast-check');
  const nx = readFileSync(join(FIX, 'exports/sysmon-bot.nxlog.jsonl'));
  const tar = buildTar([{ name: 'a/readme.txt', data: 'x' }, { name: `b/${'n'.repeat(120)}.jsonl`, data: nx, longName: 'pax' }, { name: 'c/sysmon.evtx', data: SYSMON }]);
  const tgz = gzipSync(tar);
  const headerBytes = fc.integer({ min: 0, max: 3 * 512 - 1 }); // the first header, the pax header and its record, the next header
  const mutation = (max: number) => fc.array(fc.tuple(fc.oneof(headerBytes, fc.integer({ min: 0, max: max - 1 })), fc.integer({ min: 0, max: 255 })), { minLength: 1, maxLength: 8 });
  let read = 0;
  await fc.assert(
    fc.asyncProperty(fc.boolean(), mutation(tar.length), fc.integer({ min: 0, max: 64 }), async (gz, edits, cut) => {
      const bytes = Buffer.from(gz ? tgz : tar);
      for (const [at, v] of edits) if (at < bytes.length) bytes[at] = v;
      const sink = new NoteSink();
      const r = await observeInput(bufferInput('m.tar', bytes.subarray(0, bytes.length - cut)), { notes: sink });
      const notes = sink.list();
      if (r) read++;
      for (const i of r?.items ?? []) assert.ok(i.file.startsWith('m.tar!/'), i.file);
      for (const n of notes) assert.ok(!/[\u0000-\u001f]/.test(n.file + n.message), JSON.stringify(n));
    }),
    { numRuns: 300, seed: 12 },
  );
  assert.ok(read > 0);
});
