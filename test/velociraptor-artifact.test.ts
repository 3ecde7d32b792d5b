/**
 * The Velociraptor artifacts of `artifacts/` (docs/velociraptor.md):
 * - the committed client artifact is the generator's output and embeds the PowerShell collector byte for byte
 *   (YAML keys, types, VQL names and arguments are checked by test/velociraptor-check.test.ts);
 * - a collection zip and a hunt download in exactly the layout Velociraptor writes for the client artifact
 *   (test/support/vr-collection.ts) scan to the expected findings, through `scan()` and once through the CLI, and the
 *   server artifact's row mapping (its VQL, modelled below) gives the expected columns from the CLI's JSONL.
 *
 * Part runs on a fresh clone (committed fixtures: the IEWIN7 Sysmon log and collector document); the Windows 10
 * repository part needs ../shared/samples and skips with a message when it is absent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { parse as parseYaml } from 'yaml';
import { scan } from '../src/scan.js';
import { POWERSHELL_COLLECTOR } from '../src/collector/index.js';
import { VELOCIRAPTOR_CLIENT_ARTIFACT, VELOCIRAPTOR_CLIENT_SOURCES, VELOCIRAPTOR_EVENT_LOGS, velociraptorClientArtifact } from '../src/collector/velociraptor.js';
import { missedBy, seenBy } from '../src/report/text.js';
import type { Finding, ScanResult } from '../src/model/types.js';
import { repoRoot, samplesDir } from './support/samples.js';
import { scratchDir } from './support/tmp.js';
import { writeZip } from './support/zip-writer.js';
import { collectionMembers, collectorUpload, driveWindows, evtxFileName, huntMembers, ntfsWindows, sanitizeForZip, type VrClient } from './support/vr-collection.js';

const root = repoRoot();
const CLIENT_FILE = join(root, 'artifacts', `${VELOCIRAPTOR_CLIENT_ARTIFACT}.yaml`);
const SERVER_FILES = ['Custom.Server.WMIScope.Scan.yaml', 'Custom.Server.WMIScope.ScanFlows.yaml'].map((f) => join(root, 'artifacts', f));
const REGENERATE = 'npm run make-artifacts';
const fixture = (...p: string[]): string => join(root, 'test/fixtures', ...p);
const WIN10_REPO = join(samplesDir(), 'cim/dissect-cim-win10');
const win10Skip = existsSync(join(WIN10_REPO, 'OBJECTS.DATA.gz')) ? false : `Windows 10 repository sample not found at ${WIN10_REPO} (expected ../shared/samples next to the repo)`;

type Yaml = Record<string, unknown>;
const loadYaml = (file: string): Yaml => parseYaml(readFileSync(file, 'utf8')) as Yaml;

// ---- the generated client artifact ------------------------------------------------------------------

test('the committed client artifact is the generator output: the collector script embedded byte for byte', () => {
  const committed = readFileSync(CLIENT_FILE, 'utf8');
  assert.ok(committed === velociraptorClientArtifact(), `${CLIENT_FILE} is not what src/collector/velociraptor.ts generates from the current collector; regenerate it with: ${REGENERATE}`);
  const doc = loadYaml(CLIENT_FILE);
  const params = doc.parameters as Yaml[];
  const script = params.find((p) => p.name === 'CollectorScript');
  assert.ok(script, 'CollectorScript parameter');
  assert.equal(script.type, 'hidden');
  assert.ok(script.default === POWERSHELL_COLLECTOR, `the CollectorScript default differs from POWERSHELL_COLLECTOR; regenerate with: ${REGENERATE}`);
});

test('the generator keeps any script exact through YAML (line ends, blank lines, no final newline)', () => {
  for (const s of ['a\nb\n', 'a\n\n  b\n', 'a\nb', 'a\nb\n\n\n', '<#\n x #>\n\nWrite-Output 1\n', 'a\n   \nb\n', 'a  \nb\n', '#x\n--\n...\n---\nb: c\n']) {
    const doc = parseYaml(velociraptorClientArtifact(s)) as Yaml;
    const got = (doc.parameters as Yaml[]).find((p) => p.name === 'CollectorScript')!.default;
    assert.equal(got, s, JSON.stringify(s));
  }
  assert.throws(() => velociraptorClientArtifact(' leading blank\n'));
  assert.throws(() => velociraptorClientArtifact('tab\there\n'));
});

test('the client artifact: named sources, one switch and one size bound per part, the five logs by channel', () => {
  const doc = loadYaml(CLIENT_FILE);
  assert.equal(doc.name, VELOCIRAPTOR_CLIENT_ARTIFACT);
  assert.equal(doc.type, 'CLIENT');
  const sources = doc.sources as Yaml[];
  assert.deepEqual(
    sources.map((s) => s.name),
    [...VELOCIRAPTOR_CLIENT_SOURCES],
  );
  const params = new Map((doc.parameters as Yaml[]).map((p) => [p.name as string, p]));
  for (const [on, bound] of [
    ['CollectRepository', 'MaxRepositoryFileSize'],
    ['CollectEventLogs', 'MaxEventLogSize'],
    ['RunCollector', 'MaxCollectorOutputSize'],
  ] as const) {
    assert.equal(params.get(on)?.type, 'bool', on);
    assert.equal(params.get(on)?.default, 'Y', on);
    assert.equal(params.get(bound)?.type, 'int64', bound);
  }
  const logs = String(params.get('EventLogs')!.default).trim().split('\n');
  assert.deepEqual(logs, ['Log', ...VELOCIRAPTOR_EVENT_LOGS]);
  const repo = String(sources[0]!.query);
  assert.match(repo, /glob\(globs=\["\*", "FS\/\*"\], root=Folder, accessor="ntfs"\)/);
  assert.match(repo, /upload\(file=OSPath, accessor="ntfs"\)/);
  const logsQuery = String(sources[1]!.query);
  assert.match(logsQuery, /regex_replace\(source=Log, re="\/", replace="%4"\) \+ "\.evtx"/);
  const collector = String(sources[2]!.query);
  for (const arg of ['"-NoProfile"', '"-NonInteractive"', '"-ExecutionPolicy", "Bypass"', '"-File", Script', '"-OutFile", OutFile', '"-Force"']) assert.ok(collector.includes(arg), arg);
  assert.match(collector, /tempfile\(data=CollectorScript, extension="\.ps1"\)/);
});

// Every YAML key, type, VQL plugin, function and argument of the three artifacts is checked against Velociraptor's
// registry at the pinned commit by test/velociraptor-check.test.ts (the registry fixture); here, what they are for.
test('the server artifacts: an event artifact on flow completions, and an on-demand one importing its query', () => {
  const scan = loadYaml(SERVER_FILES[0]!);
  assert.equal(scan.type, 'SERVER_EVENT');
  assert.match(String((scan.sources as Yaml[])[0]!.query), /watch_monitoring\(artifact="System\.Flow\.Completion"\)/);
  const flows = loadYaml(SERVER_FILES[1]!);
  assert.equal(flows.type, 'SERVER');
  assert.deepEqual(flows.imports, ['Custom.Server.WMIScope.Scan']);
});

// ---- the zip layout ---------------------------------------------------------------------------------

test('component escaping: utils.SanitizeStringForZip cases (its golden file at the pinned commit, and ours)', () => {
  // utils/fixtures/TestSanitizeForZip.golden
  assert.equal(sanitizeForZip('Simple string'), 'Simple string');
  assert.equal(sanitizeForZip('你好'), '你好');
  assert.equal(sanitizeForZip('Word "With" quotes'), 'Word %22With%22 quotes');
  assert.equal(sanitizeForZip('../../../'), '%2E.%2F..%2F..%2F');
  assert.equal(sanitizeForZip('foo.db'), 'foo.db');
  assert.equal(sanitizeForZip('filename:with:col.db'), 'filename%3Awith%3Acol.db');
  assert.equal(sanitizeForZip('\\\\.\\C:\\你好世界\\"你好/世界.db"'), '%5C%5C.%5CC%3A%5C你好世界%5C%22你好%2F世界.db%22');
  assert.equal(sanitizeForZip('foo.'), 'foo%2E');
  // the names this artifact's collections hold
  assert.equal(sanitizeForZip('\\\\.\\C:'), '%5C%5C.%5CC%3A');
  assert.equal(sanitizeForZip('C:'), 'C%3A');
  assert.equal(sanitizeForZip(evtxFileName('Microsoft-Windows-WMI-Activity/Operational')), 'Microsoft-Windows-WMI-Activity%254Operational.evtx');
  assert.equal(sanitizeForZip(`${VELOCIRAPTOR_CLIENT_ARTIFACT}/Repository.json`), 'Custom.Windows.Persistence.WMIScope%2FRepository.json');
});

/** IEWIN7 from committed fixtures: its Sysmon log (auto accessor), the collector's document, no repository. */
function iewin7(): VrClient {
  const sysmon = 'Microsoft-Windows-Sysmon/Operational';
  return {
    clientId: 'C.1f2e3d4c5b6a7980',
    hostname: 'IEWIN7',
    fqdn: 'IEWIN7',
    flowId: 'F.CT1A2B3C4D5E6',
    uploads: [
      { part: 'eventlog', item: sysmon, accessor: 'auto', components: driveWindows('System32', 'winevt', 'Logs', evtxFileName(sysmon)), data: readFileSync(fixture('evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx')) },
      collectorUpload(readFileSync(fixture('collector/iewin7-botfilter-nested.json'))),
    ],
    others: [
      { part: 'repository', item: null, path: 'C:\\Windows\\System32\\wbem\\Repository', size: null, action: 'not found', reason: 'no repository file found here or in its FS subfolder (ntfs accessor; see the collection log)' },
      ...VELOCIRAPTOR_EVENT_LOGS.filter((l) => l !== sysmon && l !== 'Security').map((l) => ({ part: 'eventlog' as const, item: l, path: `C:\\Windows\\System32\\winevt\\Logs\\${evtxFileName(l)}`, size: null, action: 'not found' as const, reason: 'no such log file, or it could not be read (the channel may not be installed or enabled)' })),
      { part: 'eventlog', item: 'Security', path: 'C:\\Windows\\System32\\winevt\\Logs\\Security.evtx', size: 3221225472, action: 'skipped', reason: 'larger than MaxEventLogSize (2147483648 bytes)' },
    ],
  };
}

/** WIN10-SAMPLE: the real Windows 10 repository (ntfs accessor, device path) and the collector's document. */
function win10(): VrClient {
  const files = ['OBJECTS.DATA', 'INDEX.BTR', 'MAPPING1.MAP', 'MAPPING2.MAP', 'MAPPING3.MAP'];
  return {
    clientId: 'C.0a1b2c3d4e5f6071',
    hostname: 'WIN10-SAMPLE',
    fqdn: 'WIN10-SAMPLE',
    flowId: 'F.CT9Z8Y7X6W5V4',
    uploads: [
      ...files.map((n) => ({ part: 'repository' as const, item: n, accessor: 'ntfs' as const, components: ntfsWindows('System32', 'wbem', 'Repository', n), data: gunzipSync(readFileSync(join(WIN10_REPO, `${n}.gz`))) })),
      collectorUpload(readFileSync(fixture('collector/win10-scm.json'))),
    ],
    others: [{ part: 'eventlog', item: null, path: '%SystemRoot%\\System32\\winevt\\Logs', size: null, action: 'not collected', reason: 'CollectEventLogs is off' }],
  };
}

interface Expected {
  host: string;
  status: string;
  severity: string;
  namespace: string;
  filter: string | null;
  consumer: string | null;
  seenBy: string[];
}

const IEWIN7_HOST = 'IEWIN7 (C.1f2e3d4c5b6a7980)';
const WIN10_HOST = 'WIN10-SAMPLE (C.0a1b2c3d4e5f6071)';
const IEWIN7_FINDINGS: Expected[] = [
  { host: IEWIN7_HOST, status: 'active', severity: 'critical', namespace: 'ROOT\\cimv2\\totallylegit', filter: 'BotFilter82', consumer: 'BotConsumer23', seenBy: ['wmiscope collector (live WMI query)'] },
  { host: IEWIN7_HOST, status: 'orphan', severity: 'critical', namespace: 'ROOT\\subscription', filter: null, consumer: 'ProbeScriptFint', seenBy: ['wmiscope collector (live WMI query)'] },
  { host: IEWIN7_HOST, status: 'active', severity: 'high', namespace: 'ROOT\\subscription', filter: 'BotFilter82', consumer: 'BotConsumer23', seenBy: ['Sysmon (19/20/21)', 'wmiscope collector (live WMI query)'] },
];
/** FS01: a real PowerShell log (Windows PowerShell 800 and PowerShell/Operational 4103/4104 of a PowerLurk run), uploaded as the Windows PowerShell log. */
const POWERLURK = join(samplesDir(), 'evtx/hayabusa-sample-evtx/ID800-4103-4104-WMI registration via PowerLurk.evtx');
function fs01(): VrClient {
  return {
    clientId: 'C.5e6f7a8b9c0d1e2f',
    hostname: 'FS01',
    fqdn: 'fs01.offsec.lan',
    flowId: 'F.CT5F6G7H8J9K0',
    uploads: [{ part: 'eventlog', item: 'Windows PowerShell', accessor: 'auto', components: driveWindows('System32', 'winevt', 'Logs', evtxFileName('Windows PowerShell')), data: readFileSync(POWERLURK) }],
    others: [{ part: 'collector', item: 'wmiscope-collector.json', path: 'C:\\Windows\\Temp\\tmp1.json', size: 0, action: 'failed', reason: 'the collector wrote no document (see Stderr and ReturnCode)' }],
  };
}
const FS01_FINDINGS: Expected[] = [{ host: 'fs01.offsec.lan (C.5e6f7a8b9c0d1e2f)', status: 'logged-only', severity: 'critical', namespace: 'ROOT\\subscription', filter: 'Evil23', consumer: 'Evil23', seenBy: ['PowerShell (800/4103/4104)'] }];
const WIN10_FINDINGS: Expected[] = [{ host: WIN10_HOST, status: 'active', severity: 'info', namespace: 'ROOT\\subscription', filter: 'SCM Event Log Filter', consumer: 'SCM Event Log Consumer', seenBy: ['WMI repository', 'wmiscope collector (live WMI query)'] }];

const summary = (f: Finding): Expected => ({ host: f.host, status: f.status, severity: f.severity, namespace: f.namespace ?? '', filter: f.filter?.name ?? null, consumer: f.consumer?.name ?? null, seenBy: seenBy(f.coverage) });
const order = (a: Expected, b: Expected): number => JSON.stringify(a).localeCompare(JSON.stringify(b));
const findingsOf = (r: ScanResult): Expected[] => r.findings.map(summary).sort(order);

function assertIewin7Files(r: ScanResult, zip: string): void {
  const sysmon = r.findings.flatMap((f) => f.observations).filter((o) => o.source === 'sysmon');
  assert.ok(sysmon.length > 0);
  for (const o of sysmon) assert.ok(o.file.endsWith('uploads/auto/C%3A/Windows/System32/winevt/Logs/Microsoft-Windows-Sysmon%254Operational.evtx'), o.file);
  const log = r.evidence.find((e) => e.kind === 'evtx');
  assert.ok(log, 'the Sysmon log is an evidence item');
  assert.match(log.detail ?? '', /collected from C:\\Windows\\System32\\winevt\\Logs\\Microsoft-Windows-Sysmon%4Operational\.evtx/);
  const doc = r.evidence.find((e) => e.kind === 'collector');
  assert.ok(doc?.file.endsWith('uploads/file/wmiscope-collector.json'), doc?.file);
  // the artifact's own result rows are read: the file it skipped is a warning, nothing is "not evidence" (a hunt's
  // combined copy of the rows is collection metadata)
  const results = r.notes.filter((n) => /results\/(All )?Custom\.Windows\.Persistence\.WMIScope%2F/.test(n.file));
  assert.deepEqual(
    results.filter((n) => n.code === 'not-evidence' && n.kind !== 'collection-metadata'),
    [],
  );
  const skipped = results.filter((n) => n.code === 'over-limit');
  assert.ok(skipped.length >= 1, JSON.stringify(results));
  for (const n of skipped) {
    assert.equal(n.level, 'warning');
    assert.match(n.message, /^eventlog Security not uploaded \(C:\\Windows\\System32\\winevt\\Logs\\Security\.evtx, 3221225472 bytes\): larger than MaxEventLogSize \(2147483648 bytes\); what it holds is not in this evidence \(Custom\.Windows\.Persistence\.WMIScope, line 5/);
  }
  assert.ok(zip.length > 0);
}

test('a collection zip of the client artifact (committed fixtures) scans to the expected findings', async () => {
  const zip = join(scratchDir('vr-artifact'), `${iewin7().fqdn}-${iewin7().clientId}-${iewin7().flowId}.zip`);
  writeZip(zip, collectionMembers(iewin7()));
  const r = await scan([zip]);
  assert.deepEqual(findingsOf(r), [...IEWIN7_FINDINGS].sort(order));
  assertIewin7Files(r, zip);
  assert.deepEqual(
    r.notes.filter((n) => n.level === 'error'),
    [],
  );
});

test('a collection zip with the real Windows 10 repository uploaded through the ntfs accessor (\\\\.\\C: device path)', { skip: win10Skip }, async () => {
  const zip = join(scratchDir('vr-artifact'), 'win10.zip');
  writeZip(zip, collectionMembers(win10()));
  const r = await scan([zip]);
  assert.deepEqual(findingsOf(r), WIN10_FINDINGS);
  const repo = r.evidence.find((e) => e.kind === 'cim');
  assert.ok(repo, 'the repository is an evidence item');
  assert.ok(repo.file.endsWith('uploads/ntfs/%5C%5C.%5CC%3A/Windows/System32/wbem/Repository'), repo.file);
  assert.match(repo.detail ?? '', /collected from \\\\\.\\C:\\Windows\\System32\\wbem\\Repository/);
  assert.equal(repo.host, WIN10_HOST);
});

const huntSkip = win10Skip || (existsSync(POWERLURK) ? false : `PowerShell log sample not found at ${POWERLURK}`);

test('a hunt download of the client artifact: one host per client, each with its findings', { skip: huntSkip }, async () => {
  const zip = join(scratchDir('vr-artifact'), 'H.CT0HUNT.zip');
  writeZip(zip, huntMembers('H.CT0HUNT', [iewin7(), win10(), fs01()]));
  const r = await scan([zip]);
  assert.deepEqual(findingsOf(r), [...IEWIN7_FINDINGS, ...WIN10_FINDINGS, ...FS01_FINDINGS].sort(order));
  const ps = r.findings.find((f) => f.host.startsWith('fs01'))!.observations;
  for (const o of ps) assert.ok(o.file.endsWith('!/FS01-C.5e6f7a8b9c0d1e2f/uploads/auto/C%3A/Windows/System32/winevt/Logs/Windows PowerShell.evtx'), o.file);
  assert.ok(r.notes.some((n) => n.code === 'failed' && n.message.startsWith('collector wmiscope-collector.json could not be uploaded') && n.file.includes('!/FS01-C.5e6f7a8b9c0d1e2f/results/')));
  assertIewin7Files(r, zip);
  // the hunt's combined results repeat every client's rows: read from the client folders only, so each skipped or
  // failed file is one warning, in its client's folder
  const combined = r.notes.filter((n) => n.file.endsWith('results/All Custom.Windows.Persistence.WMIScope%2FEventLogs.json'));
  assert.deepEqual(combined.map((n) => [n.level, n.code, n.message]), [['skipped', 'not-evidence', "a hunt's combined results: the same rows are read from each client's folder"]]);
  const notUploaded = r.notes.filter((n) => n.code === 'over-limit' || (n.code === 'failed' && /could not be uploaded/.test(n.message)));
  assert.deepEqual(notUploaded.map((n) => n.file.replace(/^.*!\//, '')).sort(), [
    'FS01-C.5e6f7a8b9c0d1e2f/results/Custom.Windows.Persistence.WMIScope%2FCollector.json',
    'IEWIN7-C.1f2e3d4c5b6a7980/results/Custom.Windows.Persistence.WMIScope%2FEventLogs.json',
  ]);
});

test('a hunt download from committed fixtures alone (fresh clone)', async () => {
  const zip = join(scratchDir('vr-artifact'), 'H.CT0FIXT.zip');
  const other: VrClient = { ...iewin7(), clientId: 'C.aaaabbbbccccdddd', hostname: 'WIN10-SAMPLE', fqdn: 'WIN10-SAMPLE', flowId: 'F.CT0OTHER', uploads: [collectorUpload(readFileSync(fixture('collector/win10-scm.json')))], others: [] };
  writeZip(zip, huntMembers('H.CT0FIXT', [iewin7(), other]));
  const r = await scan([zip]);
  const expected = [...IEWIN7_FINDINGS, { ...WIN10_FINDINGS[0]!, host: 'WIN10-SAMPLE (C.aaaabbbbccccdddd)', seenBy: ['wmiscope collector (live WMI query)'] }];
  assert.deepEqual(findingsOf(r), expected.sort(order));
});

test('a hunt download of combined results only: the combined rows are read, each fact once, naming its client', async () => {
  const zip = join(scratchDir('vr-artifact'), 'H.CT0COMB.zip');
  writeZip(zip, huntMembers('H.CT0COMB', [iewin7()]).filter((m) => !String(m.name).includes('/') || String(m.name).startsWith('results/')));
  const r = await scan([zip]);
  const skipped = r.notes.filter((n) => n.code === 'over-limit');
  assert.equal(skipped.length, 1, JSON.stringify(r.notes));
  assert.ok(skipped[0]!.file.endsWith('!/results/All Custom.Windows.Persistence.WMIScope%2FEventLogs.json'), skipped[0]!.file);
  assert.match(skipped[0]!.message, /^eventlog Security not uploaded .* client C\.1f2e3d4c5b6a7980 flow F\.CT1A2B3C4D5E6/);
});

test('a hunt client whose collection holds nothing readable is still a host, and blind (not left out of the fleet)', async () => {
  const zip = join(scratchDir('vr-artifact'), 'H.CT0EMPTY.zip');
  const empty: VrClient = {
    clientId: 'C.0123456789abcdef',
    hostname: 'KIOSK7',
    fqdn: 'kiosk7.offsec.lan',
    flowId: 'F.CT0EMPTY1',
    uploads: [],
    others: [
      { part: 'repository', item: null, path: 'C:\\Windows\\System32\\wbem\\Repository', size: null, action: 'not collected', reason: 'CollectRepository is off' },
      { part: 'eventlog', item: 'Microsoft-Windows-Sysmon/Operational', path: 'C:\\Windows\\System32\\winevt\\Logs\\Microsoft-Windows-Sysmon%4Operational.evtx', size: null, action: 'not found', reason: 'no such log file' },
      { part: 'collector', item: 'wmiscope-collector.json', path: null, size: 0, action: 'failed', reason: 'the collector wrote no document (see Stderr and ReturnCode)' },
    ],
  };
  writeZip(zip, huntMembers('H.CT0EMPTY', [iewin7(), empty]));
  const r = await scan([zip]);
  assert.deepEqual(findingsOf(r), [...IEWIN7_FINDINGS].sort(order));
  const host = 'kiosk7.offsec.lan (C.0123456789abcdef)';
  assert.ok(r.hosts.includes(host), JSON.stringify(r.hosts));
  const c = r.coverage?.find((x) => x.host === host);
  assert.ok(c, 'the empty client has a coverage entry');
  assert.deepEqual([c.repositories.length, c.live.length, c.sysmon.present, c.wmiActivity.present, c.powershell.present], [0, 0, false, false, false]);
  const item = r.evidence.find((e) => e.host === host);
  assert.equal(item?.kind, 'velociraptor');
  assert.deepEqual(item?.sources, []);
  assert.match(item?.detail ?? '', /Custom\.Windows\.Persistence\.WMIScope \(\d+ rows?\)/);
});

test('hostile result rows of the client artifact: values cut and escaped in the notes, an uploaded row adds none', async () => {
  const dir = scratchDir('vr-artifact');
  const file = join(dir, 'rows.json');
  const long = 'A'.repeat(100_000);
  writeFileSync(
    file,
    [
      { Part: 'repository', Item: `OBJECTS.DATA\u001b[31m\u202e${long}`, Path: `\\\\.\\C:\\x\u0007`, Size: 5e9, Action: 'skipped', Reason: `big\r\nfake line${long}`, Upload: null },
      { Part: 'collector', Item: 'wmiscope-collector.json', Path: null, Size: 0, Action: 'failed', Reason: 'the collector wrote no document (see Stderr and ReturnCode)', Upload: null },
      { Part: 'eventlog', Item: 'Security', Path: 'C:\\Windows\\System32\\winevt\\Logs\\Security.evtx', Size: 1, Action: 'uploaded', Reason: 'an event log wmiscope reads', Upload: { Path: 'x' } },
      { Part: {}, Item: ['x'], Action: 'skipped', Reason: 7 },
    ]
      .map((x) => JSON.stringify(x))
      .join('\n') + '\n',
  );
  const r = await scan([file]);
  const notes = r.notes.filter((n) => n.file === file);
  assert.equal(notes.filter((n) => n.code === 'over-limit').length, 2, JSON.stringify(notes));
  assert.equal(notes.filter((n) => n.code === 'failed').length, 1);
  for (const n of notes) {
    assert.ok(n.message.length < 2000, `${n.message.length} characters`);
    assert.doesNotMatch(n.message, /[\u0000-\u001f\u007f\u202e]/);
  }
  assert.ok(notes.some((n) => n.message.startsWith('collector wmiscope-collector.json could not be uploaded (0 bytes): the collector wrote no document')));
  assert.ok(notes.some((n) => n.message.startsWith('file not uploaded: 7;')));
});

// ---- the server artifact's rows -----------------------------------------------------------------------

/**
 * The row the server artifact's VQL (Custom.Server.WMIScope.Scan, `export`) makes of one JSONL line of
 * `wmiscope scan -f jsonl`, column by column as written there: `x.y` member access (NULL when absent), `reasons.id`
 * (member access on an array maps over its elements), the coverage queries `WMIScopeSeenBy` / `WMIScopeMissedBy`
 * (`foreach(row=Coverage)` with `WHERE saw` / `WHERE NOT saw`, then `.source` / `.Missed` over their rows) and `format("%v (%v)")`. vfilter gives
 * NULL rather than an empty list when such a mapping has nothing, which this model writes as [].
 */
function serverRow(line: Record<string, unknown>, clientId: string, flowId: string): Record<string, unknown> {
  const get = (o: unknown, k: string): unknown => (o !== null && typeof o === 'object' && !Array.isArray(o) ? ((o as Record<string, unknown>)[k] ?? null) : null);
  const coverage = (get(line, 'coverage') as Array<Record<string, unknown>> | null) ?? [];
  return {
    ClientId: clientId,
    FlowId: flowId,
    Host: get(line, 'host'),
    Severity: get(line, 'severity'),
    Status: get(line, 'status'),
    Namespace: get(line, 'namespace'),
    Filter: get(get(line, 'filter'), 'name'),
    ConsumerClass: get(get(line, 'consumer'), 'className'),
    Consumer: get(get(line, 'consumer'), 'name'),
    Summary: get(line, 'summary'),
    Reasons: ((get(line, 'reasons') as unknown[] | null) ?? []).map((r) => get(r, 'id')),
    SeenBy: coverage.filter((c) => c.saw).map((c) => c.source),
    MissedBy: coverage.filter((c) => !c.saw).map((c) => (c.reason ? `${String(c.source)} (${String(c.reason)})` : c.source)),
    Allowlisted: get(get(line, 'allowlisted'), 'entry'),
    Score: get(line, 'score'),
    FindingId: get(line, 'id'),
  };
}

/** The server artifact's columns, each with the VQL expression {@link serverRow} models. */
const SERVER_COLUMNS: Array<[string, string]> = [
  ['ClientId', 'ClientId'],
  ['FlowId', 'FlowId'],
  ['Host', 'host'],
  ['Severity', 'severity'],
  ['Status', 'status'],
  ['Namespace', 'namespace'],
  ['Filter', 'filter.name'],
  ['ConsumerClass', 'consumer.className'],
  ['Consumer', 'consumer.name'],
  ['Summary', 'summary'],
  ['Reasons', 'reasons.id'],
  ['SeenBy', 'WMIScopeSeenBy(Coverage=coverage).source'],
  ['MissedBy', 'WMIScopeMissedBy(Coverage=coverage).Missed'],
  ['Allowlisted', 'allowlisted.entry'],
  ['Score', 'score'],
  ['FindingId', 'id'],
];

test('the server artifact\'s VQL: the wmiscope argv and the columns the model below reads', () => {
  const vql = String(loadYaml(SERVER_FILES[0]!).export).replace(/\s+/g, ' ');
  assert.ok(vql.includes('argv=Command + ["scan", "--quiet", "--format", "jsonl", "--fail-on", "never", "--output", Out] + Extra + [file_store(path=Download)]'), vql);
  assert.ok(vql.includes('FROM parse_jsonl(filename=Out, accessor="file")'));
  const select = /SELECT ClientId, FlowId, (.*?) FROM parse_jsonl/.exec(vql)![1]!;
  const columns = ['ClientId AS ClientId', 'FlowId AS FlowId', ...select.split(/, (?![^(]*\))/)].map((c) => c.trim());
  assert.deepEqual(
    columns.map((c) => /^(.*) AS (\w+)$/.exec(c)!.slice(1, 3).reverse()),
    SERVER_COLUMNS,
  );
  assert.ok(vql.includes('LET WMIScopeSeenBy(Coverage) = SELECT source FROM foreach(row=Coverage) WHERE saw'));
  assert.ok(vql.includes('LET WMIScopeMissedBy(Coverage) = SELECT if(condition=reason, then=format(format="%v (%v)", args=[source, reason]), else=source) AS Missed FROM foreach(row=Coverage) WHERE NOT saw'));
});

test('the CLI scans the collection zip; the server artifact\'s columns from its JSONL are exact', async () => {
  const dir = scratchDir('vr-artifact');
  const zip = join(dir, 'collection.zip');
  const out = join(dir, 'findings.jsonl');
  writeZip(zip, collectionMembers(iewin7()));
  // the argv the server artifact runs (WMIScopeCommand is node + the built CLI here)
  const r = spawnSync(process.execPath, [join(root, 'dist/src/cli/main.js'), 'scan', '--quiet', '--format', 'jsonl', '--fail-on', 'never', '--output', out, zip], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, '');
  const lines = readFileSync(out, 'utf8').split('\n').filter(Boolean);
  const rows = lines.map((l) => serverRow(JSON.parse(l) as Record<string, unknown>, 'C.1f2e3d4c5b6a7980', 'F.CT1A2B3C4D5E6'));
  const library = await scan([zip]);
  assert.equal(rows.length, library.findings.length);
  const byId = new Map(library.findings.map((f) => [f.id, f]));
  for (const row of rows) {
    const f = byId.get(row.FindingId as string);
    assert.ok(f, `finding ${String(row.FindingId)}`);
    assert.deepEqual(row, {
      ClientId: 'C.1f2e3d4c5b6a7980',
      FlowId: 'F.CT1A2B3C4D5E6',
      Host: f.host,
      Severity: f.severity,
      Status: f.status,
      Namespace: f.namespace,
      Filter: f.filter?.name ?? null,
      ConsumerClass: f.consumer?.className ?? null,
      Consumer: f.consumer?.name ?? null,
      Summary: f.summary,
      Reasons: f.reasons.map((x) => x.id),
      SeenBy: seenBy(f.coverage),
      MissedBy: missedBy(f.coverage),
      Allowlisted: f.allowlisted?.entry ?? null,
      Score: f.score,
      FindingId: f.id,
    });
  }
  // the values a notebook sees, for the finding only the collector saw in a nested namespace
  const nested = rows.find((x) => x.Namespace === 'ROOT\\cimv2\\totallylegit');
  assert.ok(nested);
  assert.equal(nested.Host, IEWIN7_HOST);
  assert.equal(nested.Filter, 'BotFilter82');
  assert.equal(nested.ConsumerClass, 'CommandLineEventConsumer');
  assert.equal(nested.Consumer, 'BotConsumer23');
  assert.deepEqual(nested.SeenBy, ['wmiscope collector (live WMI query)']);
  assert.ok((nested.MissedBy as string[]).some((m) => m.startsWith('Sysmon (19/20/21) (')), JSON.stringify(nested.MissedBy));
  assert.ok((nested.Reasons as string[]).length > 0);
});
