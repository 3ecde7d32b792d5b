/**
 * `wmiscope diff`: two real scans of committed fixtures compared — new, gone, changed (a modified command line),
 * unchanged counted, a host NEW did not scan never called gone, hostile host names escaped, exit codes 0/1/2.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { join } from 'node:path';
import { scan } from '../src/scan.js';
import { asScanResult, diffScans, failingChanges } from '../src/analysis/diff.js';
import { readScanResult } from '../src/cli/result-file.js';
import { formatDiffHtml, formatDiffTable } from '../src/report/diff.js';
import type { ScanResult } from '../src/model/types.js';
import { jsonSafe } from '../src/model/text.js';
import { repoRoot } from './support/samples.js';
import { runCli } from './support/child.js';
import { scratchDir } from './support/tmp.js';

const EVTX = join(repoRoot(), 'test/fixtures/evtx');
const COLLECTOR = join(repoRoot(), 'test/fixtures/collector');
const clone = (r: ScanResult): ScanResult => JSON.parse(JSON.stringify(r)) as ScanResult;
const names = (l: Array<{ name: string | null }>): Array<string | null> => l.map((e) => e.name).sort();

/** schema/diff.schema.json, which refers to the ScanDiff of schema/finding.schema.json. */
function diffValidator(): ReturnType<Ajv2020['compile']> {
  const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
  ajv.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)));
  ajv.addSchema(JSON.parse(readFileSync(join(repoRoot(), 'schema/finding.schema.json'), 'utf8')) as object);
  return ajv.compile(JSON.parse(readFileSync(join(repoRoot(), 'schema/diff.schema.json'), 'utf8')) as object);
}

let cached: { old: ScanResult; neu: ScanResult } | null = null;
async function scans(): Promise<{ old: ScanResult; neu: ScanResult }> {
  cached ??= { old: await scan([EVTX], { version: 'old-test' }), neu: await scan([EVTX, COLLECTOR], { version: 'new-test' }) };
  return { old: clone(cached.old), neu: clone(cached.neu) };
}

test('diff: the collector documents added to the logs are new; nothing gone; the log finding rescored (the collector shows it active: critical 85 → high 75, "ran" no longer said)', async () => {
  const { old, neu } = await scans();
  const d = diffScans(old, neu);
  assert.deepEqual(d.totals, { new: 3, gone: 0, changed: 0, rescored: 1, unchanged: 0, notScannedInNew: 0, notShownInNew: 0 });
  const iewin7 = d.hosts.find((h) => h.host === 'IEWIN7')!;
  assert.deepEqual(names(iewin7.new), ['BotConsumer23', 'ProbeScriptFint']);
  assert.equal(iewin7.unchanged, 0);
  assert.equal(iewin7.rescored.length, 1);
  const r = iewin7.rescored[0]!;
  assert.deepEqual([r.old.id, r.old.status, r.old.severity, r.old.score, r.new.id, r.new.status, r.new.severity, r.new.score], ['c91f5c5b20d41550', 'deleted', 'critical', 85, 'c91f5c5b20d41550', 'active', 'high', 75]);
  assert.equal(r.old.payloadHash, r.new.payloadHash);
  assert.deepEqual(r.reasonsAdded, []);
  assert.deepEqual(r.reasonsRemoved, ['ran']);
  assert.match(formatDiffTable(d), /\^ rescored high {5}ROOT\\subscription CommandLineEventConsumer BotConsumer23 \(active, id c91f5c5b20d4\)\n.*\n {6}critical → high \(score 85 → 75\); status deleted → active; reasons removed: ran\n/);
  const win10 = d.hosts.find((h) => h.host === 'WIN10-SAMPLE')!;
  assert.equal(win10.inOld, false);
  assert.deepEqual(names(win10.new), ['SCM Event Log Consumer']);
  assert.equal(d.old.version, 'old-test');
  assert.equal(d.new.version, 'new-test');
  // the table and the HTML list first the host with the most severe change, whatever the names' order
  const renamed = clone(neu);
  for (const f of renamed.findings) if (f.host === 'WIN10-SAMPLE') f.host = 'AAA-WIN10';
  renamed.hosts = renamed.hosts.map((h) => (h === 'WIN10-SAMPLE' ? 'AAA-WIN10' : h));
  const dr = diffScans(old, renamed);
  assert.deepEqual(dr.hosts.map((h) => h.host).filter((h) => h === 'AAA-WIN10' || h === 'IEWIN7'), ['AAA-WIN10', 'IEWIN7']);
  const table = formatDiffTable(dr);
  assert.ok(table.indexOf('\nIEWIN7') < table.indexOf('\nAAA-WIN10'), table);
  const html = formatDiffHtml(dr);
  assert.ok(html.indexOf('<h2>IEWIN7') < html.indexOf('<h2>AAA-WIN10'));
  // the SCM consumer is allow-listed by default: only the two critical IEWIN7 ones fail; a rescore down never fails
  assert.deepEqual(names(failingChanges(d, 'high')), ['BotConsumer23', 'ProbeScriptFint']);
  assert.deepEqual(names(failingChanges(d, 'info')), ['BotConsumer23', 'ProbeScriptFint']);
  assert.deepEqual(failingChanges(d, 'never'), []);
});

test('diff: the other way round, nothing is gone: the collector findings on IEWIN7 are "not shown by NEW\'s evidence" (its Sysmon log cannot see them), WIN10-SAMPLE is "not scanned in NEW"; the rescore is a rise (high → critical) and fails', async () => {
  const { old, neu } = await scans();
  const d = diffScans(neu, old);
  assert.deepEqual(d.totals, { new: 0, gone: 0, changed: 0, rescored: 1, unchanged: 0, notScannedInNew: 1, notShownInNew: 2 });
  const iewin7 = d.hosts.find((h) => h.host === 'IEWIN7')!;
  assert.deepEqual(iewin7.gone, []);
  assert.deepEqual(names(iewin7.notShownInNew), ['BotConsumer23', 'ProbeScriptFint']);
  assert.match(formatDiffTable(d), /\? not shown by NEW's evidence critical ROOT\\cimv2\\totallylegit CommandLineEventConsumer BotConsumer23/);
  // without NEW's coverage (a hand-made or older result) nothing says what its evidence could show: not shown, never gone
  const bare = clone(old);
  delete bare.coverage;
  const dBare = diffScans(neu, bare);
  assert.deepEqual(dBare.hosts.find((h) => h.host === 'IEWIN7')!.gone, []);
  assert.deepEqual(names(dBare.hosts.find((h) => h.host === 'IEWIN7')!.notShownInNew), ['BotConsumer23', 'ProbeScriptFint']);
  assert.match(dBare.caveats.join('\n'), /NEW has no coverage .* nothing missing from it is called gone/);
  const win10 = d.hosts.find((h) => h.host === 'WIN10-SAMPLE')!;
  assert.equal(win10.inNew, false);
  assert.deepEqual(win10.gone, []);
  assert.deepEqual(names(win10.notScannedInNew), ['SCM Event Log Consumer']);
  assert.match(formatDiffTable(d), /WIN10-SAMPLE — host not scanned in NEW/);
  // the HTML says what such a host has, not a row of zeros, and counts what NEW's evidence could not show
  const page = formatDiffHtml(d);
  assert.match(page, /<h2>WIN10-SAMPLE — host not scanned in NEW<\/h2>\n<p>1 in OLD, not compared<\/p>/);
  assert.match(page, /<h2>IEWIN7<\/h2>\n<p>0 new, 0 gone, 0 changed, 1 rescored, 0 unchanged, 2 not shown by NEW's evidence \(not compared\)<\/p>/);
  const r = d.hosts.find((h) => h.host === 'IEWIN7')!.rescored[0]!;
  assert.deepEqual([r.old.severity, r.new.severity, r.reasonsAdded, r.reasonsRemoved], ['high', 'critical', ['ran'], []]);
  assert.deepEqual(failingChanges(d, 'high').map((e) => [e.name, e.severity]), [['BotConsumer23', 'critical']]);
  assert.deepEqual(failingChanges(d, 'never'), []);
});

test('diff: the same subscription with another command line is changed, with what differs; host names match case-insensitively', async () => {
  const { old } = await scans();
  const neu = clone(old);
  const bot = neu.findings.find((f) => f.consumer?.name === 'BotConsumer23')!;
  bot.consumer!.values['CommandLineTemplate'] = 'c:\\evil\\payload.exe -x';
  bot.host = bot.host.toLowerCase();
  neu.hosts = neu.hosts.map((h) => h.toLowerCase());
  const d = diffScans(old, neu);
  assert.deepEqual(d.totals, { new: 0, gone: 0, changed: 1, rescored: 0, unchanged: 0, notScannedInNew: 0, notShownInNew: 0 });
  const h = d.hosts.find((x) => x.changed.length)!;
  assert.equal(h.host, 'iewin7');
  assert.equal(h.oldName, 'IEWIN7');
  assert.deepEqual(h.changed[0]!.changes, [{ what: 'CommandLineTemplate', old: 'c:\\Windows\\System32\\cmd.exe', new: 'c:\\evil\\payload.exe -x' }]);
  assert.notEqual(h.changed[0]!.old.payloadHash, h.changed[0]!.new.payloadHash);
  assert.equal(failingChanges(d, 'critical').length, 1);
  assert.match(formatDiffTable(d), /CommandLineTemplate: c:\\Windows\\System32\\cmd\.exe → c:\\evil\\payload\.exe -x/);
});

test('diff: a hostile host name, payload and consumer name are escaped in the table and the HTML page; JSON keeps them exact', async () => {
  const { old } = await scans();
  const neu = clone(old);
  const bot = neu.findings.find((f) => f.consumer?.name === 'BotConsumer23')!;
  bot.host = 'EVIL\u001b[31mHOST\u202e';
  bot.summary = 'run\u001b]0;pwned\u0007';
  // the status and id are free text in a result file too (only the severity is one of a list)
  bot.status = 'active\u001b[2J' as typeof bot.status;
  bot.id = '\u001b[2J\u202eid';
  neu.hosts.push(bot.host);
  const text = formatDiffTable(diffScans(old, neu));
  assert.ok(!/[\u001b\u0007\u202e]/.test(text), 'no raw control or bidi character');
  assert.match(text, /\(active\\x1b\[2J, id \\x1b\[2J\\u202eid\)/);
  assert.ok(!/[\u001b\u0007\u202e]/.test(formatDiffTable(diffScans(neu, old))), 'nor when the hostile result is OLD');
  assert.match(text, /EVIL\\x1b\[31mHOST\\u202e/);
  assert.match(text, /run\\x1b\]0;pwned\\x07/);
  bot.consumer!.name = '<script>alert(1)</script>';
  const html = formatDiffHtml(diffScans(old, neu));
  assert.ok(!/<script/i.test(html), 'no script element, not even from a consumer name');
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.match(html, /EVIL\\x1b\[31mHOST\\u202e/);
  assert.ok(!/[\u001b\u0007\u202e]/.test(html));
  assert.match(html, /Content-Security-Policy" content="default-src &#39;none&#39;; style-src &#39;sha256-/);
  const d = JSON.parse(jsonSafe(JSON.stringify(diffScans(old, neu)))) as ReturnType<typeof diffScans>;
  assert.ok(d.hosts.some((h) => h.host === bot.host));
});

test('diff: a result narrowed when written says so', async () => {
  const { old, neu } = await scans();
  neu.hidden = { narrowedBy: { minSeverity: 'high' }, total: 1, bySeverity: { critical: 0, high: 0, medium: 0, low: 0, info: 1 }, otherHosts: 0, outsideWindow: 0, belowMinSeverity: 1, undated: [] };
  const d = diffScans(old, neu);
  assert.equal(d.new.narrowed, true);
  assert.equal(d.caveats.length, 1);
  assert.match(d.caveats[0]!, /NEW was narrowed/);
});

test('diff: a NEW narrowed when written (it hid findings) shows no absence: what it lacks is not gone but not shown; a narrowing that hid nothing changes nothing', async () => {
  const { neu } = await scans();
  // NEW lacks ProbeScriptFint, on a host whose elevated collector document lists every namespace: gone, unless NEW
  // was narrowed and hid findings (it may be among them)
  const lacking = clone(neu);
  lacking.findings = lacking.findings.filter((f) => f.consumer?.name !== 'ProbeScriptFint');
  assert.deepEqual(names(diffScans(neu, lacking).hosts.find((h) => h.host === 'IEWIN7')!.gone), ['ProbeScriptFint']);
  const narrowed = clone(lacking);
  narrowed.hidden = { narrowedBy: { minSeverity: 'critical' }, total: 2, bySeverity: { critical: 0, high: 2, medium: 0, low: 0, info: 0 }, otherHosts: 0, outsideWindow: 0, belowMinSeverity: 2, undated: [] };
  const d = diffScans(neu, narrowed);
  const iewin7 = d.hosts.find((h) => h.host === 'IEWIN7')!;
  assert.deepEqual(iewin7.gone, []);
  assert.deepEqual(names(iewin7.notShownInNew), ['ProbeScriptFint']);
  assert.equal(d.totals.gone, 0);
  assert.match(d.caveats.join('\n'), /NEW was narrowed when it was written .* hid 2 findings: nothing missing from it is called gone/);
  // hostile: a hidden count that is not a number is taken as hiding something
  narrowed.hidden = { ...narrowed.hidden, total: '0' as unknown as number };
  assert.equal(diffScans(neu, narrowed).totals.gone, 0);
  narrowed.hidden = { ...narrowed.hidden, total: 0 };
  assert.deepEqual(names(diffScans(neu, narrowed).hosts.find((h) => h.host === 'IEWIN7')!.gone), ['ProbeScriptFint']);
});

test('diff: asScanResult refuses what is not a scan result, naming the field', () => {
  assert.equal(asScanResult([]), 'not a JSON object');
  assert.match(asScanResult({ tool: { name: 'other', version: '1' } }) as string, /not a wmiscope scan result/);
  const base = { tool: { name: 'wmiscope', version: '1' }, scannedAt: 'x', hosts: ['A'], findings: [] as unknown[] };
  assert.equal(typeof asScanResult(base), 'object');
  assert.match(asScanResult({ ...base, findings: [{ id: 'a', host: 'A', namespace: null, severity: 'bad', status: 'active', summary: '' }] }) as string, /findings\[0\]\.severity/);
  assert.match(asScanResult({ ...base, findings: [{ id: 'a', host: 'A', namespace: null, severity: 'high', status: 'active', summary: '', score: 1, reasons: [], observations: [], consumer: { namespace: null, className: null, name: null, values: { x: {} } } }] }) as string, /findings\[0\]\.consumer\.values/);
  assert.match(asScanResult({ ...base, findings: [{ id: 'a', host: 'A', namespace: null, severity: 'high', status: 'active', summary: '' }] }) as string, /findings\[0\]\.score: not a number/);
  assert.match(asScanResult({ ...base, findings: [{ id: 'a', host: 'A', namespace: null, severity: 'high', status: 'active', summary: '', score: 1, reasons: [{ id: 7 }] }] }) as string, /findings\[0\]\.reasons/);
  assert.match(asScanResult({ ...base, hosts: [1] }) as string, /hosts/);
  // the parts the claims of absence read: NEW's coverage and OLD's observations
  const cov = { host: 'A', logs: [], repositories: [], live: [null], processCreation: {} };
  assert.match(asScanResult({ ...base, coverage: [cov] }) as string, /^coverage: not a list of host coverage/);
  assert.equal(typeof asScanResult({ ...base, coverage: [{ ...cov, live: [{ source: 'collector', file: 'x' }] }] }), 'object');
  assert.match(asScanResult({ ...base, findings: [{ id: 'a', host: 'A', namespace: null, severity: 'high', status: 'active', summary: '', score: 1, reasons: [], observations: [{}] }] }) as string, /findings\[0\]\.observations/);
});

test('diff: a result over the size bound is refused before it is parsed', async () => {
  const dir = scratchDir('diff-bound');
  const f = join(dir, 'big.json');
  writeFileSync(f, JSON.stringify({ tool: { name: 'wmiscope', version: '1' }, scannedAt: 'x', hosts: [], findings: [], pad: 'x'.repeat(4096) }));
  assert.match((await readScanResult(f, 1024)) as string, /over the 1024-byte bound/);
  assert.equal(typeof (await readScanResult(f)), 'object');
});

test('diff CLI: exit 1 for a new critical, 0 with --fail-on never or the other way, 2 on unusable input; JSON shape', async () => {
  const { old, neu } = await scans();
  const dir = scratchDir('diff-cli');
  const o = join(dir, 'old.json');
  const n = join(dir, 'new.json');
  writeFileSync(o, JSON.stringify(old));
  writeFileSync(n, JSON.stringify(neu));
  const run1 = await runCli(['diff', o, n]);
  assert.equal(run1.code, 1, run1.stderr);
  assert.match(run1.stdout, /^OLD wmiscope old-test, scanned /m);
  assert.match(run1.stdout, /3 new, 0 gone, 0 changed, 1 rescored, 0 unchanged/);
  // the last line says why it exits so, as scan's table does
  assert.match(run1.stdout, /\nExit 1 {4}2 subscriptions new, changed or risen to at or above --fail-on high, not allow-listed \(2 critical\)\n$/);
  const never = await runCli(['diff', o, n, '--fail-on', 'never']);
  assert.equal(never.code, 0);
  assert.match(never.stdout, /\nExit 0 {4}--fail-on never\n$/);
  assert.match((await runCli(['diff', o, n, '--fail-on', 'critical'])).stdout, /\nExit 1 {4}2 subscriptions new, changed or risen to at or above --fail-on critical, not allow-listed \(2 critical\)\n$/);
  // to a file: nothing on stdout, one line on stderr with the totals and the exit
  const toFile = await runCli(['diff', o, n, '-o', join(dir, 'changes.html')]);
  assert.equal(toFile.code, 1);
  assert.equal(toFile.stdout, '');
  assert.match(toFile.stderr, /^wmiscope: wrote .*changes\.html — 3 new, 0 gone, 0 changed, 1 rescored, 0 unchanged; exit 1: 2 subscriptions new, changed or risen to at or above --fail-on high, not allow-listed \(2 critical\)\n$/);
  assert.match((await runCli(['diff', n, o, '-o', join(dir, 'back.json')])).stderr, /; 1 on hosts not scanned in NEW \(not compared\); 2 not shown by NEW's evidence \(not compared\); exit 1: 1 subscription new, changed or risen/);
  const page = await runCli(['diff', o, n, '-f', 'html']);
  assert.equal(page.code, 1);
  assert.match(page.stdout, /^<!doctype html>/);
  assert.match(page.stdout, /3 new, 0 gone, 0 changed, 1 rescored, 0 unchanged/);
  // the other way round nothing is new or changed, but BotConsumer23 rose from high to critical: exit 1
  assert.equal((await runCli(['diff', n, o])).code, 1);
  assert.equal((await runCli(['diff', n, o, '--fail-on', 'never'])).code, 0);
  const json = await runCli(['diff', o, n, '-f', 'json']);
  const parsed = JSON.parse(json.stdout) as { format: string; totals: unknown; old: { version: string } };
  const validate = diffValidator();
  assert.ok(validate(parsed), JSON.stringify(validate.errors));
  // the changed and not-scanned shapes are valid too
  const changed = clone(neu);
  changed.findings.find((f) => f.consumer?.name === 'BotConsumer23')!.consumer!.values['CommandLineTemplate'] = 'x';
  for (const d of [diffScans(neu, changed), diffScans(neu, old)]) assert.ok(validate(JSON.parse(JSON.stringify({ format: 'wmiscope-diff/1', ...d }))), JSON.stringify(validate.errors));
  assert.equal(parsed.format, 'wmiscope-diff/1');
  assert.deepEqual(parsed.totals, { new: 3, gone: 0, changed: 0, rescored: 1, unchanged: 0, notScannedInNew: 0, notShownInNew: 0 });
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"not": "a scan"');
  const notJson = await runCli(['diff', o, bad]);
  assert.equal(notJson.code, 2);
  assert.match(notJson.stderr, /bad\.json: not JSON \(.*\); a scan result is the file "wmiscope scan -f json -o FILE" writes: scan the evidence first\n/);
  const other = join(dir, 'other.json');
  writeFileSync(other, '{"tool": {"name": "x"}}');
  assert.equal((await runCli(['diff', other, n])).code, 2);
  const missing = await runCli(['diff', join(dir, 'nope.json'), n]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /no such file/);
});

test('diff: another filter query with the same consumer payload is changed (query named); a host named by an alias NEW links is the same host', async () => {
  const { old } = await scans();
  const neu = clone(old);
  const bot = neu.findings.find((f) => f.consumer?.name === 'BotConsumer23')!;
  const q = String(old.findings.find((f) => f.consumer?.name === 'BotConsumer23')!.filter!.values['Query']);
  bot.filter!.values['Query'] = 'SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA "Win32_Process"';
  // OLD named the machine by its FQDN; NEW shows it as IEWIN7 and links the FQDN as another name of it
  const o2 = clone(old);
  for (const f of o2.findings) if (f.host === 'IEWIN7') f.host = 'iewin7.corp.example';
  o2.hosts = o2.hosts.map((h) => (h === 'IEWIN7' ? 'iewin7.corp.example' : h));
  neu.hostAliases = [{ host: 'IEWIN7', aliases: [{ name: 'iewin7.corp.example', why: 'test' }] }];
  const d = diffScans(o2, neu);
  assert.deepEqual(d.totals, { new: 0, gone: 0, changed: 1, rescored: 0, unchanged: 0, notScannedInNew: 0, notShownInNew: 0 });
  const h = d.hosts.find((x) => x.host === 'IEWIN7')!;
  assert.equal(h.oldName, 'iewin7.corp.example');
  assert.equal(h.changed[0]!.old.payloadHash, h.changed[0]!.new.payloadHash);
  assert.deepEqual(h.changed[0]!.changes, [{ what: 'query', old: q, new: bot.filter!.values['Query'] }]);
  assert.equal(d.hosts.some((x) => x.host.toLowerCase().startsWith('iewin7.')), false);
});

test('diff: a subscription whose namespace NEW does not know (an Autoruns-like row) is the same one as OLD\'s of that class and name', async () => {
  const { old } = await scans();
  const neu = clone(old);
  neu.findings.find((f) => f.consumer?.name === 'BotConsumer23')!.namespace = null;
  const d = diffScans(old, neu);
  assert.deepEqual(d.totals, { new: 0, gone: 0, changed: 0, rescored: 0, unchanged: 1, notScannedInNew: 0, notShownInNew: 0 });
  // a host where nothing changed is on the one "Unchanged" line at the end, not a paragraph of its own
  const text = formatDiffTable(d);
  assert.match(text, /\n\nUnchanged: 1 on IEWIN7\n$/);
  assert.match(formatDiffHtml(d), /<p class="diff-unchanged">Unchanged: 1 on IEWIN7<\/p>/);
  assert.doesNotMatch(text, /^IEWIN7/m);
});

test('diff: a subscription missing from NEW is gone through a log only when NEW\'s log holds the time OLD saw it (complete or rolled over, starting no later); the fixture\'s Sysmon log is an excerpt, which proves nothing', async () => {
  const { old } = await scans();
  const neu = clone(old);
  neu.findings = neu.findings.filter((f) => f.consumer?.name !== 'BotConsumer23');
  assert.deepEqual(diffScans(old, neu).totals, { new: 0, gone: 0, changed: 0, rescored: 0, unchanged: 0, notScannedInNew: 0, notShownInNew: 1 });
  const log = neu.coverage!.find((c) => c.host === 'IEWIN7')!.logs[0]!;
  assert.deepEqual([log.source, log.completeness, log.first], ['sysmon', 'excerpt', '2019-05-11T17:57:49.9031596Z']);
  log.completeness = 'complete';
  assert.deepEqual(names(diffScans(old, neu).hosts.find((h) => h.host === 'IEWIN7')!.gone), ['BotConsumer23']);
  // a log that starts after OLD's records of it (rolled over since) cannot show it
  log.completeness = 'rolled-over';
  log.first = '2019-05-11T17:58:30.0000000Z';
  assert.equal(diffScans(old, neu).totals.notShownInNew, 1);
  log.first = '2019-05-11T17:58:00.0000000Z';
  assert.equal(diffScans(old, neu).totals.gone, 1);
});
