/**
 * `wmiscope scan` end to end through the CLI, on real samples (../shared, skipped with a message when absent),
 * on the bundled fixture, and on repositories written by the test builder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Finding, ScanResult } from '../src/model/types.js';
import { evtxSample, repoRoot, skipReason } from './support/samples.js';
import { standardFixtures } from './support/cim-builder.js';
import { buildWannaMineRepository } from './support/rule-coverage-fixtures.js';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';

const schema = JSON.parse(readFileSync(join(repoRoot(), 'schema/finding.schema.json'), 'utf8')) as { $id: string };
const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
ajv.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)));
ajv.addSchema(schema);
const validate = ajv.getSchema(schema.$id)!;

function assertSchema(result: ScanResult): void {
  assert.ok(validate(result), JSON.stringify(validate.errors?.slice(0, 3)));
}

const cli = join(repoRoot(), 'dist/src/cli/main.js');
const WIN10 = resolve(repoRoot(), '../shared/samples/cim/dissect-cim-win10');

/** Scan through the CLI; every JSON result is checked against schema/finding.schema.json. */
function scanJson(...args: string[]): { code: number; result: ScanResult; err: string } {
  const r = spawnSync(process.execPath, [cli, 'scan', '-q', '-f', 'json', ...args], { encoding: 'utf8', maxBuffer: 256 << 20 });
  const result = JSON.parse(r.stdout) as ScanResult;
  assertSchema(result);
  return { code: r.status ?? -1, result, err: r.stderr };
}

const names = (f: Finding): string => `${f.filter?.name ?? '-'} / ${f.consumer?.className ?? '-'}:${f.consumer?.name ?? '-'}`;

test('bundled fixture: BotFilter82 -> BotConsumer23 created then deleted is one deleted subscription with its history', () => {
  const { code, result } = scanJson(join(repoRoot(), 'test/fixtures/evtx'));
  assert.ok(code === 0 || code === 1, `exit ${code}`);
  const bot = result.findings.filter((f) => f.filter?.name === 'BotFilter82');
  assert.equal(bot.length, 1);
  const f = bot[0]!;
  assert.deepEqual([f.host, f.namespace, f.status, f.consumer?.className, f.consumer?.name], ['IEWIN7', 'ROOT\\subscription', 'deleted', 'CommandLineEventConsumer', 'BotConsumer23']);
  assert.ok(f.binding, 'binding observed');
  const history = f.observations.filter((o) => o.source === 'sysmon').map((o) => `${o.part}:${o.action}`);
  assert.deepEqual(history, ['consumer:created', 'binding:created', 'filter:created', 'consumer:deleted', 'filter:deleted', 'binding:deleted']);
  assert.equal(f.consumer?.values['CommandLineTemplate'], 'c:\\Windows\\System32\\cmd.exe');
  assert.equal(f.firstSeen, f.observations[0]!.time);
  const sysmon = f.coverage.find((c) => c.source.startsWith('Sysmon'))!;
  assert.equal(sysmon.saw, true);
  const repo = f.coverage.find((c) => c.source === 'WMI repository')!;
  assert.deepEqual([repo.saw, repo.reason], [false, 'no repository supplied']);
  // the evidence list names the log and its host; the other fixture logs are other hosts, kept apart
  assert.ok(result.evidence.some((e) => e.kind === 'evtx' && e.host === 'IEWIN7' && /Sysmon/.test(e.detail)));
  assert.deepEqual(result.hosts, ['DESKTOP-0HIJB49', 'foobar-PC', 'IEWIN7', 'ITBDNS03.itb.ie', 'WEC.ave.local']); // case-insensitive: the one order of hosts
  assert.ok(result.findings.every((x) => x.host === 'IEWIN7'));
});

test('WMIGhost: JScript ActiveScript consumer, modified, script analysed', { skip: skipReason }, () => {
  const { result } = scanJson(evtxSample('EVTX-ATTACK-SAMPLES/wmighost_sysmon_20_21_1.evtx'));
  const f = result.findings.find((x) => x.consumer?.name === 'ProbeScriptFint')!;
  assert.ok(f);
  assert.equal(f.consumer?.className, 'ActiveScriptEventConsumer');
  assert.ok(f.observations.some((o) => o.action === 'modified'));
  assert.ok(['critical', 'high'].includes(f.severity), f.severity);
  assert.ok(f.reasons.length >= 2, JSON.stringify(f.reasons.map((r) => r.id)));
  assert.match(f.summary, /sXmlUrl|var /);
});

test('PowerLurk: filter and consumer "Evil" without binding in the logs (logged-only, not orphan); the PowerShell log attributes creation to PowerLurk, which calls Set-WmiInstance', { skip: skipReason }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-scan-'));
  try {
    for (const f of ['ID19-20-WMI registration via PowerLurk.evtx', 'ID800-4103-4104-WMI registration via PowerLurk.evtx']) copyFileSync(evtxSample(`hayabusa-sample-evtx/${f}`), join(dir, f));
    const { result } = scanJson(dir);
    const evil = result.findings.find((x) => x.filter?.name === 'Evil')!;
    // its binding is not in these logs: unbound cannot be proven from logs alone (no repository), so logged-only
    assert.deepEqual([evil.status, evil.consumer?.name, evil.binding], ['logged-only', 'Evil', null]);
    assert.ok(evil.reasons.some((x) => x.id === 'binding-not-observed') && !evil.reasons.some((x) => x.id === 'orphan'));
    assert.equal(evil.filter?.values['Query'], "SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName='notepad.exe'");
    const ps = result.findings.find((x) => x.observations.some((o) => o.source === 'powershell'))!;
    assert.ok(ps, 'a finding from the PowerShell evidence');
    const techniques = new Set(ps.observations.filter((o) => o.source === 'powershell').map((o) => o.meta['technique']));
    assert.deepEqual([...techniques], ['Register-MaliciousWmiEvent (PowerLurk)', 'Set-WmiInstance']);
    assert.deepEqual(
      [...new Set(ps.observations.map((o) => o.part))].sort(),
      ['binding', 'consumer', 'filter'],
    );
    assert.equal(ps.host, 'fs01.offsec.lan');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('Win10 repository: the SCM subscription is active and allow-listed at info; exit 0', { skip: skipReason }, () => {
  const { code, result } = scanJson(WIN10, '--host', 'WIN10SAMPLE');
  assert.equal(code, 0);
  assert.equal(result.findings.length, 1);
  const f = result.findings[0]!;
  assert.deepEqual([f.host, f.namespace, f.status, f.severity], ['WIN10SAMPLE', 'ROOT\\subscription', 'active', 'info']);
  assert.deepEqual(names(f), 'SCM Event Log Filter / NTEventLogEventConsumer:SCM Event Log Consumer');
  assert.ok(f.allowlisted);
  const noDefault = scanJson(WIN10, '--host', 'WIN10SAMPLE', '--no-default-allowlist').result.findings[0]!;
  assert.equal(noDefault.allowlisted, null);
});

test('builder repository with a Sysmon log beside it: custom-namespace consumers rank high, "missed by Sysmon (it would not log this: only root\\subscription)"', () => {
  const root = mkdtempSync(join(tmpdir(), 'wmiscope-host-'));
  try {
    const repoDir = join(root, 'HOSTB', 'C', 'Windows', 'System32', 'wbem', 'Repository');
    mkdirSync(repoDir, { recursive: true });
    standardFixtures(repoDir);
    const logs = join(root, 'HOSTB', 'C', 'Windows', 'System32', 'winevt', 'Logs');
    mkdirSync(logs, { recursive: true });
    copyFileSync(join(repoRoot(), 'test/fixtures/evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx'), join(logs, 'Microsoft-Windows-Sysmon%4Operational.evtx'));
    const { code, result } = scanJson(root);
    assert.equal(code, 1, 'high findings → exit 1');
    const legit = result.findings.find((x) => x.consumer?.name === 'LegitScript')!;
    assert.equal(legit.namespace, 'ROOT\\totallylegit');
    assert.equal(legit.status, 'active');
    assert.ok(['critical', 'high'].includes(legit.severity), legit.severity);
    const sysmon = legit.coverage.find((c) => c.source.startsWith('Sysmon'))!;
    assert.equal(sysmon.saw, false);
    assert.equal(sysmon.reason, 'Sysmon would not log this: it watches only root\\subscription; this is ROOT\\totallylegit');
    const nested = result.findings.find((x) => x.consumer?.name === 'NestedCmd')!;
    assert.equal(nested.namespace, 'ROOT\\cimv2\\x');
    assert.ok(['critical', 'high'].includes(nested.severity), nested.severity);
    // the repository and the log of one collection are one host
    assert.ok(result.hosts.includes('IEWIN7'));
    assert.equal(legit.host, 'IEWIN7');
    // deleted objects carved from residue appear as findings too
    assert.ok(result.findings.some((x) => x.consumer?.name === 'DeletedConsumer' && (x.status === 'residual' || x.status === 'deleted')));
    // the SCM trio of the fixture is allow-listed
    assert.ok(result.findings.some((x) => x.filter?.name === 'SCM Event Log Filter' && x.allowlisted && x.severity === 'info'));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('WannaMine pattern: a static class holding a payload string, used by a consumer in root\\default', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-wannamine-'));
  try {
    buildWannaMineRepository(dir);
    const { result } = scanJson(dir, '--host', 'VICTIM');
    const f = result.findings.find((x) => x.consumer?.name === 'SCM Event8 Log Consumer')!;
    assert.equal(f.status, 'active');
    assert.equal(f.severity, 'critical');
    const ids = f.reasons.map((r) => r.id);
    for (const id of ['static-class-payload', 'name-lookalike', 'payload-fileless-storage', 'payload-powershell']) assert.ok(ids.includes(id), `${id} in ${ids.join(',')}`);
    assert.match(f.reasons.find((r) => r.id === 'static-class-payload')!.evidence, /systemcore_Updater8.*mimi.*3208 characters/);
    assert.equal(f.allowlisted, null);
    // the class is part of this finding, not a finding of its own
    assert.equal(result.findings.filter((x) => !x.consumer && !x.filter).length, 0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('evidence recognized by content: a gzip\'d log with another extension is read', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-gz-'));
  try {
    writeFileSync(join(dir, 'sysmon.bin'), gzipSync(readFileSync(join(repoRoot(), 'test/fixtures/evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx'))));
    const { result } = scanJson(dir);
    assert.equal(result.evidence.length, 1);
    assert.ok(result.findings.some((f) => f.filter?.name === 'BotFilter82' && f.status === 'deleted'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('not evidence: files are skipped with a reason in verbose mode; a missing path is an I/O error (exit 2)', () => {
  const r = spawnSync(process.execPath, [cli, 'scan', '-v', '-f', 'json', join(repoRoot(), 'package.json')], { encoding: 'utf8' });
  assert.match(r.stderr, /package\.json: skipped \(not-evidence\): not evidence/);
  assert.equal((JSON.parse(r.stdout) as ScanResult).findings.length, 0);
  const missing = spawnSync(process.execPath, [cli, 'scan', '-q', join(repoRoot(), 'no-such-dir')], { encoding: 'utf8' });
  assert.equal(missing.status, 2);
});

test('--format html -o writes one self-contained page (the README command on the bundled sample)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-html-cli-'));
  try {
    const out = join(dir, 'x.html');
    const r = spawnSync(process.execPath, [cli, 'scan', '-q', '--format', 'html', '-o', out, join(repoRoot(), 'test/fixtures/evtx')], { encoding: 'utf8' });
    assert.equal(r.status, 1, 'the sample holds a high finding');
    assert.equal(r.stdout, '');
    const html = readFileSync(out, 'utf8');
    assert.ok(html.startsWith('<!DOCTYPE html>\n'), html.slice(0, 40));
    assert.match(html, /<meta http-equiv="Content-Security-Policy" content="default-src &#39;none&#39;; script-src &#39;sha256-/);
    assert.match(html, /BotConsumer23/);
    assert.ok(Buffer.byteLength(html) < 1_000_000);
    // without --format, the output's extension chooses: report.html is HTML, x.csv is CSV
    const byName = join(dir, 'report.html');
    assert.equal(spawnSync(process.execPath, [cli, 'scan', '-q', '-o', byName, join(repoRoot(), 'test/fixtures/evtx')], { encoding: 'utf8' }).status, 1);
    assert.ok(readFileSync(byName, 'utf8').startsWith('<!DOCTYPE html>\n'));
    const csv = join(dir, 'x.csv');
    spawnSync(process.execPath, [cli, 'scan', '-q', '-o', csv, join(repoRoot(), 'test/fixtures/evtx')], { encoding: 'utf8' });
    assert.match(readFileSync(csv, 'utf8'), /^[a-z_]+,/);
    const help = spawnSync(process.execPath, [cli, 'scan', '--help'], { encoding: 'utf8' });
    assert.match(help.stdout.replace(/\s+/g, ' '), /choices: "table", "json", "jsonl", "csv", "timeline", "html"/);
    // what issue 15 added, in words: PowerShell rebuilt, the processes it ran, PAYLOAD (set to run) apart from Ran (logged)
    assert.match(help.stdout.replace(/\s+/g, ' '), /PowerShell 800\/4103\/4104 records create are rebuilt .* "computed at run time"/);
    assert.match(help.stdout.replace(/\s+/g, ' '), /PAYLOAD column is what the consumer is set to run; --details adds Ran, the logged starts/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
