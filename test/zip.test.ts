/**
 * Zip archives read in place (src/sources/containers/zip.ts, walked by src/sources/containers/archive.ts): Velociraptor hunt downloads (one host per client),
 * offline collections, a zipped file store; hostile member names; bounds (zip bomb, lying sizes, damage,
 * encryption, nesting, member count, total bytes). Zips are built by test/support/zip-writer.ts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { scan } from '../src/scan.js';
import { observeInput } from '../src/sources/dispatch.js';
import { bufferInput, fileInput } from '../src/sources/input.js';
import type { ObserveResult } from '../src/sources/input.js';
import { decodeMemberName } from '../src/sources/containers/zip.js';
import { ARCHIVE_LIMITS as ZIP_LIMITS, decodeComponent, uploadedPath } from '../src/sources/containers/archive.js';
import type { EvidenceNote, Finding, ScanResult } from '../src/model/types.js';
import { buildZip, writeZip } from './support/zip-writer.js';
import type { ZipMember } from './support/zip-writer.js';
import { repoRoot, samplesDir, skipReason } from './support/samples.js';
import { standardFixtures } from './support/cim-builder.js';
import { NoteSink } from '../src/sources/notes.js';

const FIX = join(repoRoot(), 'test/fixtures/evtx');
const SYSMON = readFileSync(join(FIX, 'sysmon_20_21_1_CommandLineEventConsumer.evtx'));
const SECURITY = readFileSync(join(FIX, 'issue_38.evtx')); // Computer foobar-PC, no WMI events
const WIN10 = join(samplesDir(), 'cim/dissect-cim-win10');
const win10Skip: string | false = skipReason || (existsSync(WIN10) ? false : `CIM sample not found at ${WIN10}`);

const LOGS = 'uploads/auto/C%3A/Windows/System32/winevt/Logs';
const REPO = 'uploads/auto/C%3A/Windows/System32/wbem/Repository';
const HOSTILE: ZipMember[] = [
  { name: '../../x', data: 'escaped the archive' },
  { name: '/etc/x', data: 'absolute' },
  { name: 'C:\\x', data: 'drive letter' },
  { name: 'evil\u001b[31mred.txt', data: 'terminal escape in the name' },
];

function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** Repository files of a folder (gzip'd copies decompressed, as a collector would upload them). */
function repoMembers(dir: string, prefix: string, method: ZipMember['method'] = 'deflate'): ZipMember[] {
  return readdirSync(dir).map((f) => {
    const raw = readFileSync(join(dir, f));
    return { name: `${prefix}/${f.replace(/\.gz$/i, '')}`, data: f.toLowerCase().endsWith('.gz') ? gunzipSync(raw) : raw, method };
  });
}

/** Write members as files under `root` (the unzipped twin of an archive). */
function extract(root: string, members: ZipMember[]): void {
  for (const m of members) {
    const p = join(root, ...String(m.name).split('/'));
    mkdirSync(dirname(p), { recursive: true });
    writeFileSync(p, m.data ?? '');
  }
}

async function readZip(file: string, host?: string): Promise<{ r: ObserveResult | null; notes: EvidenceNote[] }> {
  const sink = new NoteSink();
  const r = await observeInput(fileInput(file), { notes: sink, ...(host ? { host } : {}) }, file);
  return { r, notes: sink.list() };
}

/** A finding without its host or where its evidence came from (those differ between a zip and its unzipped twin). */
function shape(f: Finding): string {
  return JSON.stringify([
    f.namespace,
    f.status,
    f.severity,
    f.score,
    f.filter?.name ?? null,
    f.consumer?.className ?? null,
    f.consumer?.name ?? null,
    f.reasons.map((r) => r.id).sort(),
    f.observations.map((o) => `${o.source}/${o.action}/${o.part}/${o.time}`).sort(),
    f.coverage.map((c) => `${c.source}:${c.saw}`).sort(),
  ]);
}

/** Findings per host, hosts replaced by what they hold: comparable between a zip and the same files unzipped. */
function byHost(res: ScanResult): string[] {
  const m = new Map<string, string[]>();
  for (const f of res.findings) m.set(f.host, [...(m.get(f.host) ?? []), shape(f)]);
  return [...m.values()].map((v) => JSON.stringify(v.sort())).sort();
}

test('member names: UTF-8 flag, CP437 otherwise, Info-ZIP Unicode Path field; Velociraptor escapes decoded', () => {
  assert.equal(decodeMemberName(Buffer.from([0x81, 0x62, 0x65, 0x72]), 0), 'über');
  assert.equal(decodeMemberName(Buffer.from('über', 'utf8'), 0x800), 'über');
  const raw = Buffer.from([0x3f, 0x2e, 0x74, 0x78, 0x74]);
  const unicode = Buffer.concat([Buffer.from([1]), Buffer.alloc(4), Buffer.from('日.txt', 'utf8')]);
  unicode.writeUInt32LE(crcOf(raw), 1);
  assert.equal(decodeMemberName(raw, 0, [{ id: 0x7075, data: unicode }]), '日.txt');
  assert.equal(decodeComponent('%5C%5C.%5CC%3A'), '\\\\.\\C:');
  assert.equal(decodeComponent('Microsoft-Windows-Sysmon%254Operational.evtx'), 'Microsoft-Windows-Sysmon%4Operational.evtx');
  assert.equal(decodeComponent('100%'), '100%');
  assert.equal(uploadedPath(['uploads', 'ntfs', '\\\\.\\C:', 'Windows', 'x.evtx']), '\\\\.\\C:\\Windows\\x.evtx');
  assert.equal(uploadedPath(['uploads', 'data', 'file.txt']), null);
});

function crcOf(b: Buffer): number {
  // the writer's CRC (node:zlib) through a one-member zip: bytes 16..19 of the central header
  const z = buildZip([{ name: 'a', data: b, method: 'store' }]);
  const cd = z.readUInt32LE(z.length - 22 + 16);
  return z.readUInt32LE(cd + 16);
}

test('hunt download with two clients (real EVTX, real Win10 repository) and hostile member names: hosts kept apart, same findings as unzipped, nothing written', { skip: win10Skip }, async () => {
  const root = tempDir('wmiscope-zip-hunt-');
  try {
    const A = 'IEWIN7-C.1111aaaa2222bbbb';
    const B = 'WKS-B-C.3333cccc4444dddd';
    const evidence: ZipMember[] = [
      { name: `${A}/${LOGS}/Microsoft-Windows-Sysmon%254Operational.evtx`, data: SYSMON },
      { name: `${B}/${LOGS}/Security.evtx`, data: SECURITY },
      ...repoMembers(WIN10, `${B}/${REPO}`, 'store'),
    ];
    const meta: ZipMember[] = [
      { name: 'hunt_info.json', data: JSON.stringify({ hunt_id: 'H.1', hunt_description: 'wmi' }) },
      { name: `${A}/client_info.json`, data: JSON.stringify({ client_id: 'C.1111aaaa2222bbbb', hostname: 'IEWIN7', fqdn: 'IEWIN7' }) },
      { name: `${B}/client_info.json`, data: JSON.stringify({ client_id: 'C.3333cccc4444dddd', hostname: 'wks-b', fqdn: 'wks-b.corp.example' }) },
      { name: `${A}/collection_context.json`, data: JSON.stringify({ client_id: 'C.1111aaaa2222bbbb', session_id: 'F.1' }) },
      { name: `${B}/log.json`, data: '{"_ts":1,"level":"DEFAULT","message":"Starting collection"}\n' },
    ];
    const zipDir = join(root, 'zipped');
    mkdirSync(zipDir);
    const zipPath = join(zipDir, 'hunt.zip');
    writeZip(zipPath, [...meta, ...HOSTILE, ...evidence]);

    const zipped = await scan([zipDir], { threads: 1 });
    assert.deepEqual(zipped.hosts, ['IEWIN7 (C.1111aaaa2222bbbb)', 'wks-b.corp.example (C.3333cccc4444dddd)']);
    const cimItem = zipped.evidence.find((e) => e.kind === 'cim')!;
    assert.equal(cimItem.host, 'wks-b.corp.example (C.3333cccc4444dddd)');
    assert.match(cimItem.file, /hunt\.zip!\/WKS-B-C\.3333cccc4444dddd\/uploads\/auto\/C%3A\/Windows\/System32\/wbem\/Repository$/);
    assert.match(cimItem.detail, /collected from C:\\Windows\\System32\\wbem\\Repository/);
    const bot = zipped.findings.find((f) => f.filter?.name === 'BotFilter82')!;
    assert.equal(bot.host, 'IEWIN7 (C.1111aaaa2222bbbb)');
    const scm = zipped.findings.find((f) => f.filter?.name === 'SCM Event Log Filter')!;
    assert.equal(scm.host, 'wks-b.corp.example (C.3333cccc4444dddd)');
    assert.equal(scm.status, 'active');
    // hostile names: read as labels only, escaped in notes, never written
    const notes = zipped.notes.map((n) => `${n.file}: ${n.message}`);
    assert.ok(notes.some((n) => n.includes('hunt.zip!/../../x: not evidence')), notes.join('\n'));
    assert.ok(notes.some((n) => n.includes('hunt.zip!//etc/x')));
    assert.ok(notes.some((n) => n.includes('hunt.zip!/C:\\x')));
    assert.ok(notes.some((n) => n.includes('evil\\x1b[31mred.txt')));
    assert.ok(!notes.some((n) => n.includes('\u001b')));
    for (const p of [join(root, 'x'), join(zipDir, 'x'), join(dirname(root), 'x'), resolve(zipDir, '../../x'), join(process.cwd(), 'x')]) assert.ok(!existsSync(p), p);
    assert.deepEqual(readdirSync(zipDir), ['hunt.zip']);

    // the same files unzipped (the hostile members cannot be): the same findings, split the same way
    const plainDir = join(root, 'plain');
    extract(plainDir, [...meta, ...evidence]);
    const plain = await scan([plainDir], { threads: 1 });
    // unzipped, hosts come from the logs (the repository joins the log collected beside it)
    assert.deepEqual(plain.hosts, ['foobar-PC', 'IEWIN7']);
    assert.ok(plain.findings.some((f) => f.host === 'foobar-PC' && f.filter?.name === 'SCM Event Log Filter'));
    assert.deepEqual(byHost(zipped), byHost(plain));
    assert.equal(zipped.findings.length, plain.findings.length);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('offline collector zip: host from client_info.json, EVTX and repository (builder) under uploads/auto/C%3A, results rows; --host wins', async () => {
  const root = tempDir('wmiscope-zip-offline-');
  try {
    const repoDir = join(root, 'repo');
    mkdirSync(repoDir);
    standardFixtures(repoDir);
    const members: ZipMember[] = [
      { name: 'client_info.json', data: JSON.stringify({ Hostname: 'WIN-OFFLINE', HostID: '4c4c4544-0042', Fqdn: 'WIN-OFFLINE', Name: 'velociraptor' }, null, 1) },
      { name: 'collection_context.json', data: JSON.stringify({ session_id: 'F.OFFLINE', artifacts_with_results: ['Windows.KapeFiles.Targets'] }) },
      { name: 'log.json', data: '{"_ts":1,"level":"DEFAULT","message":"Starting collection of Windows.KapeFiles.Targets"}\n' },
      { name: 'uploads.json', data: '{"vfs_path":"C:\\\\Windows\\\\System32\\\\winevt\\\\Logs\\\\Microsoft-Windows-Sysmon%4Operational.evtx"}\n' },
      { name: 'results/Windows.KapeFiles.Targets%2FAll File Metadata.json', data: '{"SourceFile":"C:\\\\Windows\\\\System32\\\\wbem\\\\Repository\\\\INDEX.BTR","Size":1}\n' },
      { name: `${LOGS}/Microsoft-Windows-Sysmon%254Operational.evtx`, data: SYSMON },
      ...repoMembers(repoDir, REPO),
    ];
    const zipPath = join(root, 'Collection-WIN-OFFLINE-2024-05-17T12_30_00Z.zip');
    writeZip(zipPath, members);
    const { r, notes } = await readZip(zipPath);
    assert.ok(r, JSON.stringify(notes));
    assert.deepEqual([...new Set([...r.items.map((i) => i.host), ...r.observations.map((o) => o.host), ...r.logs.map((l) => l.host)])], ['WIN-OFFLINE']);
    assert.deepEqual(r.items.map((i) => i.kind).sort(), ['cim', 'evtx']);
    const evtxItem = r.items.find((i) => i.kind === 'evtx')!;
    assert.equal(evtxItem.file, `${zipPath}!/${LOGS}/Microsoft-Windows-Sysmon%254Operational.evtx`);
    assert.match(evtxItem.detail, /collected from C:\\Windows\\System32\\winevt\\Logs\\Microsoft-Windows-Sysmon%4Operational\.evtx$/);
    assert.ok([...(r.chains?.keys() ?? [])].some((k) => k.startsWith('win-offline|root\\subscription|')), [...(r.chains?.keys() ?? [])].join(', '));
    assert.ok(notes.some((n) => n.file.endsWith('!/client_info.json') && /Velociraptor collection metadata/.test(n.message)));

    const res = await scan([zipPath], { threads: 1 });
    assert.deepEqual(res.hosts, ['WIN-OFFLINE']);
    assert.ok(res.findings.some((f) => f.filter?.name === 'BotFilter82'));
    const legit = res.findings.find((f) => f.consumer?.name === 'LegitScript')!;
    assert.equal(legit.namespace, 'ROOT\\totallylegit');
    assert.equal(legit.status, 'active');
    assert.equal(legit.coverage.find((c) => c.source.startsWith('Sysmon'))?.saw, false, 'Sysmon log of the same host seen, consumer not covered');

    const forced = await scan([zipPath], { threads: 1, host: 'CASE-42' });
    assert.deepEqual(forced.hosts, ['CASE-42']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('zipped file store: clients/<ClientId>/collections/… without client_info.json → host from the logs plus the client id', async () => {
  const root = tempDir('wmiscope-zip-fs-');
  try {
    const zipPath = join(root, 'filestore.zip');
    writeZip(zipPath, [
      { name: `clients/C.0123456789abcdef/collections/F.CKRG32QRAB5N0/${LOGS}/Microsoft-Windows-Sysmon%254Operational.evtx`, data: SYSMON },
      { name: `clients/C.fedcba9876543210/collections/F.CKRG32QRAB5N1/${LOGS}/Microsoft-Windows-Sysmon%254Operational.evtx`, data: SYSMON },
    ]);
    const res = await scan([zipPath], { threads: 1 });
    // the same machine name under two client ids: two hosts
    assert.deepEqual(res.hosts, ['IEWIN7 (C.0123456789abcdef)', 'IEWIN7 (C.fedcba9876543210)']);
    assert.equal(res.findings.filter((f) => f.filter?.name === 'BotFilter82').length, 2);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('a plain zip of logs (no Velociraptor layout): each log keeps the host its records name', async () => {
  const { r } = await readBuffer(buildZip([
    { name: 'logs/sysmon.evtx', data: SYSMON },
    { name: 'logs/security.evtx', data: SECURITY, method: 'store' },
  ]));
  assert.ok(r);
  assert.deepEqual(r.items.map((i) => i.host).sort(), ['IEWIN7', 'foobar-PC']);
});

async function readBuffer(b: Buffer, name = 'mem.zip'): Promise<{ r: ObserveResult | null; notes: EvidenceNote[] }> {
  const sink = new NoteSink();
  const r = await observeInput(bufferInput(name, b), { notes: sink });
  return { r, notes: sink.list() };
}

const noteFor = (notes: EvidenceNote[], suffix: string): EvidenceNote | undefined => notes.find((n) => n.file.endsWith(suffix));

test('bounds: zip bomb, declared size over the cap, lying size, encryption, unsupported method — each member skipped with a note, the rest read', async () => {
  const zeros = Buffer.alloc(80 * 2 ** 20); // over the 64 MiB that any member may inflate to, at about 1000:1
  const zip = buildZip([
    { name: 'bomb.evtx', data: zeros },
    { name: 'huge.evtx', data: 'ElfFile\0', method: 'deflate', declaredSize: 0xfffffff0 },
    { name: 'liar.evtx', data: Buffer.concat([SYSMON.subarray(0, 4096), Buffer.alloc(65536)]), declaredSize: 4096 },
    { name: 'secret.evtx', data: SYSMON, flags: 1 },
    { name: 'bzip2.evtx', data: SYSMON, methodNumber: 12 },
    { name: 'good.evtx', data: SYSMON },
  ]);
  const { r, notes } = await readBuffer(zip);
  assert.ok(r, JSON.stringify(notes));
  assert.equal(r.items.length, 1);
  assert.equal(r.items[0]!.file, 'mem.zip!/good.evtx');
  // the good member gives the Sysmon log's subscription: filter, consumer and binding created, then deleted
  assert.deepEqual(
    r.observations.filter((o) => o.source === 'sysmon').map((o) => `${o.action} ${o.part} ${o.name ?? o.properties['Consumer']}`).sort(),
    ['created binding CommandLineEventConsumer.Name="BotConsumer23"', 'created consumer BotConsumer23', 'created filter BotFilter82', 'deleted binding CommandLineEventConsumer.Name="BotConsumer23"', 'deleted consumer BotConsumer23', 'deleted filter BotFilter82'],
  );
  assert.match(noteFor(notes, '!/bomb.evtx')!.message, /compression bomb/);
  // 4 GiB less 16 declared from 10 bytes: over the policy's bound (a declared size over 4 GiB needs zip64)
  assert.match(noteFor(notes, '!/huge.evtx')!.message, /declared 10 → 4294967280 bytes: inflates to more than \d+ bytes/);
  assert.match(noteFor(notes, '!/liar.evtx')!.message, /too many bytes|more than the 4096 bytes/);
  assert.match(noteFor(notes, '!/secret.evtx')!.message, /encrypted/);
  assert.match(noteFor(notes, '!/bzip2.evtx')!.message, /compression method 12/);

  // Velociraptor's encrypted offline collection
  const enc = await readBuffer(buildZip([{ name: 'metadata.json', data: '[{"Scheme":"X509","EncryptedPass":"…"}]' }, { name: 'data.zip', data: zip, flags: 1 }]), 'Collection-enc.zip');
  assert.equal(enc.r, null);
  assert.match(noteFor(enc.notes, '!/data.zip')!.message, /encrypted Velociraptor offline collection.*decrypt it first/);
});

test('bounds: a truncated archive is one error note, never a throw; a damaged directory keeps the members before the damage; other evidence unaffected', async () => {
  const good = buildZip([{ name: 'a.evtx', data: SYSMON }, { name: 'b.txt', data: 'hello' }]);
  const { r, notes } = await readBuffer(good.subarray(0, good.length >> 1), 'cut.zip');
  assert.equal(r, null);
  assert.equal(notes.length, 1);
  assert.equal(notes[0]!.level, 'error');
  assert.match(notes[0]!.message, /zip directory not found .*the scan stopped: member a\.evtx: the archive ends inside its data/);

  // second central directory record's signature broken: the first member is still read
  const damaged = Buffer.from(good);
  const cd = damaged.readUInt32LE(damaged.length - 22 + 16);
  const second = cd + 46 + 'a.evtx'.length;
  damaged.writeUInt32LE(0xdeadbeef, second);
  const d = await readBuffer(damaged, 'damaged.zip');
  assert.ok(d.r);
  assert.equal(d.r.items.length, 1);
  assert.ok(d.notes.some((n) => n.file === 'damaged.zip' && n.level === 'error' && /directory damaged after 1 member/.test(n.message)));

  // garbage after a zip signature; a member whose deflate data is corrupt
  const g = await readBuffer(Buffer.concat([Buffer.from('PK\u0003\u0004'), Buffer.alloc(100, 0x41)]), 'garbage.zip');
  assert.equal(g.r, null);
  assert.equal(g.notes[0]!.level, 'error');
  const corrupt = buildZip([{ name: 'c.evtx', data: SYSMON }, { name: 'ok.evtx', data: SYSMON }]);
  corrupt.fill(0xff, 200, 400); // inside c.evtx's deflate stream
  const c = await readBuffer(corrupt, 'corrupt.zip');
  assert.ok(c.r);
  assert.deepEqual(c.r.items.map((i) => i.file), ['corrupt.zip!/ok.evtx']);
  assert.ok(c.notes.some((n) => n.file === 'corrupt.zip!/c.evtx'), JSON.stringify(c.notes));

  // through scan: the broken zip beside a good log
  const root = tempDir('wmiscope-zip-bad-');
  try {
    writeFileSync(join(root, 'cut.zip'), good.subarray(0, good.length >> 1));
    writeFileSync(join(root, 'sysmon.evtx'), SYSMON);
    const res = await scan([root], { threads: 1 });
    assert.ok(res.findings.some((f) => f.filter?.name === 'BotFilter82'));
    assert.ok(res.notes.some((n) => n.file.endsWith('cut.zip') && n.level === 'error'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('bounds: nesting depth, member count and total inflated bytes', async () => {
  const wrap = (inner: Buffer, name: string): Buffer => buildZip([{ name, data: inner }]);
  const level2 = wrap(wrap(wrap(SYSMON, 'sysmon.evtx'), 'b.zip'), 'a.zip'); // evtx in a zip two levels down
  const ok = await readBuffer(level2, 'outer.zip');
  assert.ok(ok.r, JSON.stringify(ok.notes));
  assert.equal(ok.r.items[0]!.file, 'outer.zip!/a.zip!/b.zip!/sysmon.evtx');
  const tooDeep = await readBuffer(wrap(level2, 'deeper.zip'), 'outer.zip');
  assert.equal(tooDeep.r, null);
  assert.ok(tooDeep.notes.some((n) => n.file === 'outer.zip!/deeper.zip!/a.zip!/b.zip' && /nested 3 levels deep/.test(n.message)), JSON.stringify(tooDeep.notes));

  const saved = { ...ZIP_LIMITS };
  try {
    ZIP_LIMITS.maxMembers = 2;
    const many = await readBuffer(buildZip([{ name: '1.evtx', data: SYSMON }, { name: '2.txt', data: 'x' }, { name: '3.evtx', data: SYSMON }]));
    assert.equal(many.r?.items.length, 1);
    assert.ok(many.notes.some((n) => /3 members; the first 2 are read, 1 is not/.test(n.message)));
    Object.assign(ZIP_LIMITS, saved);

    ZIP_LIMITS.maxTotalInflated = SYSMON.length + 65536 + 1000;
    const budget = await readBuffer(buildZip([{ name: '1.evtx', data: SYSMON }, { name: '2.evtx', data: SYSMON }, { name: '3.evtx', data: SYSMON }]));
    assert.equal(budget.r?.items.length, 1);
    assert.ok(budget.notes.some((n) => /bytes inflated from this archive/.test(n.message)), JSON.stringify(budget.notes));
  } finally {
    Object.assign(ZIP_LIMITS, saved);
  }
});

test('nothing in the zip is evidence: null with one "skipped" note for the zip', async () => {
  const { r, notes } = await readBuffer(buildZip([{ name: 'readme.txt', data: 'hello' }, { name: 'dir/', data: '' }]), 'docs.zip');
  assert.equal(r, null);
  assert.ok(notes.some((n) => n.file === 'docs.zip' && n.level === 'skipped' && /no evidence among its 1 member/.test(n.message)), JSON.stringify(notes));
});
