/**
 * The terminal report (`-f table`, the default also through a pipe): one line per finding and a summary at the end,
 * no line wider than the width at 80, 120 and 200 columns, info and allow-listed findings folded to one line per
 * subscription, `--details [ID]`, `-q`, `-v`, color (`--color`, `NO_COLOR`, `FORCE_COLOR`), notes said once, the
 * "wrote" line of `-o`, and the progress line counting bytes. Real evidence: the bundled sample (test/fixtures/evtx),
 * a fleet built from it with test-built repositories, and ../shared/samples when present.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { scan } from '../src/scan.js';
import { formatTable } from '../src/report/table.js';
import { formatCoverageText } from '../src/report/coverage.js';
import { coverage } from '../src/scan.js';
import type { ScanResult } from '../src/model/types.js';
import { progressBar, tableWidth, useColor } from '../src/cli/terminal.js';
import { wroteLine } from '../src/cli/scan.js';
import { commonFolder, truncatePath } from '../src/report/text.js';
import { GOOD_LOG, runCli } from './support/child.js';
import { makeFleet } from './support/fleet.js';
import { standardFixtures } from './support/cim-builder.js';
import { repoRoot, samplesDir, skipReason } from './support/samples.js';
import { scratchDir } from './support/tmp.js';

const BUNDLED = join(repoRoot(), 'test/fixtures/evtx');
const SGR = /\u001b\[[0-9;]*m/g;
const WIDTHS = [80, 120, 200];

/** Columns of a line as the terminal shows it (SGR sequences take none; wide characters are not in these samples). */
const columns = (line: string): number => [...line.replace(SGR, '')].length;

function assertFits(text: string, width: number, what: string): void {
  for (const line of text.split('\n')) assert.ok(columns(line) <= width, `${what}: a line of ${columns(line)} columns at ${width}:\n${line}`);
}

/** The summary block: label → value, continuation lines (indented under the value) joined with a space. */
function summary(text: string): Map<string, string> {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith('── wmiscope '));
  assert.ok(start >= 0, `no summary rule:\n${text}`);
  const out = new Map<string, string>();
  let last = '';
  for (const l of lines.slice(start + 1)) {
    if (l === '') continue;
    if (l.startsWith('          ')) out.set(last, `${out.get(last)!} ${l.trim()}`);
    else {
      last = l.slice(0, 10).trim();
      out.set(last, l.slice(10));
    }
  }
  return out;
}

/** The finding lines of the one-line view: from the heading row to the first blank line or the summary rule. */
function findingLines(text: string): string[] {
  const lines = text.split('\n');
  const head = lines.findIndex((l) => l.startsWith('SEV '));
  assert.ok(head >= 0, `no heading row:\n${text}`);
  const rows: string[] = [];
  for (const l of lines.slice(head + 1)) {
    if (l === '' || l.startsWith('── ')) break;
    rows.push(l);
  }
  return rows;
}

let bundled: ScanResult | undefined;
async function bundledResult(): Promise<ScanResult> {
  bundled ??= await scan([BUNDLED], { threads: 1, version: '9.9.9' });
  return bundled;
}

test('bundled sample: one line per finding and a summary that says what was read and why exit 1, at 80, 120 and 200 columns', async () => {
  const r = await bundledResult();
  for (const width of WIDTHS) {
    for (const color of [false, true]) {
      const text = formatTable(r, { width, color, failOn: 'high' });
      assertFits(text, width, `bundled, color ${color}`);
      if (color) assert.equal(text.replace(SGR, ''), formatTable(r, { width, failOn: 'high' }), 'color adds SGR codes only');
    }
    const text = formatTable(r, { width, failOn: 'high' });
    const rows = findingLines(text);
    assert.equal(rows.length, 1, text);
    assert.match(rows[0]!, /^crit +IEWIN7 +subscription +Bot.*deleted .*c91f5c$/);
    const s = summary(text);
    assert.equal(s.get('Findings'), '1: 1 critical');
    assert.equal(s.get('Hosts'), '5 (findings on 1: IEWIN7)');
    // "1 finding" is not "the others are clean": 4 of the 5 hosts have only logs that cannot show a subscription
    assert.equal(s.get('Blind'), '4 of 5 hosts: no repository, live listing, Sysmon, WMI-Activity or PowerShell log read, so nothing here can show a subscription on them (wmiscope coverage)');
    // 5 logs (NOTICE.md is read and skipped: 6 files); 41 records
    assert.match(s.get('Evidence')!, /^5 EVTX logs; 41 records; [\d.]+ KiB read in 6 files \(-v lists them\)$/);
    assert.equal(s.get('Notes'), '6 warnings, 1 skipped (1 not evidence or links: -v lists them)');
    assert.equal(s.get('Exit 1'), '1 finding at or above --fail-on high, not allow-listed (1 critical)');
    // the warnings are listed once, one line per file (the damaged Application log has 4 notes)
    const notes = text.split('\n').filter((l) => l.startsWith('warning  '));
    assert.equal(notes.length, 3, text);
    assert.ok(notes.some((l) => l.includes('Application_no_crc32.evtx  damaged ×4: [header-crc]')), notes.join('\n'));
    // the file skipped as not evidence is counted, not listed
    assert.ok(!text.includes('NOTICE.md'));
  }
  // the bundled sample's default view: the heading, 1 finding, a blank line, 3 note lines, the rule and 6 summary lines
  // (the Blind line wraps once at 100 columns)
  assert.equal(formatTable(r, { failOn: 'high' }).trimEnd().split('\n').length, 14);
  assert.match(formatTable(r, { failOn: 'never' }), /\nExit 0 {4}--fail-on never\n/);
  // the same subscription listed live by Velociraptor (no process record beside it: high, not critical)
  const listed = await scan([join(repoRoot(), 'test/fixtures/velociraptor/bot.PermanentWMIEvents.json')], { threads: 1 });
  assert.deepEqual(listed.findings.map((f) => f.severity), ['high']);
  assert.match(formatTable(listed, { failOn: 'critical' }), /\nExit 0 {4}no finding at or above --fail-on critical that is not allow-listed\n/);
  assert.ok(!/\nExit /.test(formatTable(r)), 'without failOn the summary says nothing of exit codes');
});

test('-q: the findings and the summary only; -v: the evidence list and every note, skipped files included', async () => {
  const r = await bundledResult();
  const quiet = formatTable(r, { quiet: true, failOn: 'high' });
  assert.ok(!quiet.includes('warning  '), quiet);
  assert.equal(summary(quiet).get('Notes'), '6 warnings, 1 skipped (not listed with -q)');
  assert.equal(quiet.trimEnd().split('\n').length, 2 + 1 + 7);
  const verbose = formatTable(r, { verbose: true, width: 120 });
  assertFits(verbose, 120, '-v');
  assert.ok(verbose.includes('Evidence read: 5 files, 5 hosts, 41 records'), verbose);
  assert.ok(verbose.includes(join(BUNDLED, 'NOTICE.md')) || verbose.includes('test/fixtures/evtx/NOTICE.md'), 'the skipped file is listed with -v');
  assert.ok(verbose.includes('not-evidence: not evidence'));
  assert.match(summary(verbose).get('Evidence')!, /read in 6 files$/);
});

test('--details: every finding in full; --details ID (or a unique start of it): that finding alone; an unknown id is an error', async () => {
  const r = await bundledResult();
  const all = formatTable(r, { details: true, width: 120 });
  assertFits(all, 120, '--details');
  assert.ok(all.includes(' CRITICAL  score 85 · deleted · IEWIN7  (1/1)'));
  assert.ok(all.includes('  Finding id : c91f5c5b20d41550'));
  assert.ok(all.includes('Coverage: what the evidence of each host with findings cannot show'));
  assert.equal(summary(all).get('Findings'), '1: 1 critical');
  for (const id of ['c91f5c5b20d41550', 'c91f', 'C91F5C']) {
    const one = formatTable(r, { details: id, width: 80 });
    assertFits(one, 80, `--details ${id}`);
    assert.ok(one.includes('  Finding id : c91f5c5b20d41550'));
    assert.ok(!one.includes('── wmiscope'), 'one finding: its block alone');
  }
  assert.throws(() => formatTable(r, { details: 'ffff' }), /finding ffff: no finding has this id/);
});

test('CLI: the table is the default through a pipe (no color, 100 columns), notes said once (in the table, not on stderr)', async () => {
  const env = { NO_COLOR: undefined, FORCE_COLOR: undefined };
  const r = await runCli(['scan', '-j', '1', BUNDLED], { env });
  assert.equal(r.code, 1, r.stderr);
  assert.ok(r.stdout.startsWith('SEV '), r.stdout);
  assert.ok(!r.stdout.includes('\u001b'), 'no color through a pipe');
  assertFits(r.stdout, 100, 'pipe');
  assert.ok(r.stdout.split('\n').some((l) => columns(l) === 100), 'laid out at 100 columns');
  assert.equal(r.stderr, '', 'the notes are in the table, not again on stderr');
  assert.equal(summary(r.stdout).get('Exit 1'), '1 finding at or above --fail-on high, not allow-listed (1 critical)');
  // --width, and JSON only when asked for (-f json, or an -o ending in .json)
  const narrow = await runCli(['scan', '-j', '1', '--width', '80', BUNDLED], { env });
  assertFits(narrow.stdout, 80, '--width 80');
  const json = await runCli(['scan', '-j', '1', '-f', 'json', GOOD_LOG], { env });
  assert.equal((JSON.parse(json.stdout) as ScanResult).findings.length, 1);
  assert.equal(json.stderr, '');
  const bad = await runCli(['scan', '--width', '20', GOOD_LOG]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /from 40 to 1000/);
});

test('CLI: --color always|never|auto with NO_COLOR and FORCE_COLOR', async () => {
  const colored = (s: string): boolean => /\u001b\[[0-9;]*m/.test(s);
  const cases: Array<[string[], NodeJS.ProcessEnv, boolean]> = [
    [[], { NO_COLOR: undefined, FORCE_COLOR: undefined }, false],
    [[], { NO_COLOR: undefined, FORCE_COLOR: '1' }, true],
    [[], { NO_COLOR: '1', FORCE_COLOR: undefined }, false],
    [[], { NO_COLOR: undefined, FORCE_COLOR: '0' }, false],
    [['--color', 'always'], { NO_COLOR: '1', FORCE_COLOR: undefined }, true],
    [['--color', 'never'], { NO_COLOR: undefined, FORCE_COLOR: '1' }, false],
  ];
  for (const [args, env, want] of cases) {
    const r = await runCli(['scan', '-j', '1', '-q', ...args, GOOD_LOG], { env });
    assert.equal(colored(r.stdout), want, `${args.join(' ')} ${JSON.stringify(env)}`);
    assertFits(r.stdout, 100, 'color');
  }
  // the rule, as a function: --color decides, then FORCE_COLOR, then NO_COLOR, then the terminal
  assert.equal(useColor('auto', {}, true), true);
  assert.equal(useColor('auto', {}, false), false);
  assert.equal(useColor('auto', { NO_COLOR: '' }, true), true, 'an empty NO_COLOR is not set (no-color.org)');
  assert.equal(useColor('auto', { NO_COLOR: '1' }, true), false);
  assert.equal(useColor('auto', { NO_COLOR: '1', FORCE_COLOR: '1' }, false), true);
  assert.equal(useColor('auto', { FORCE_COLOR: 'false' }, true), false);
  assert.equal(useColor('never', { FORCE_COLOR: '1' }, true), false);
  assert.equal(useColor('always', { NO_COLOR: '1' }, false), true);
  assert.equal(tableWidth(undefined, true, 132), 132);
  assert.equal(tableWidth(undefined, false, 132), 100, 'not a terminal: 100');
  assert.equal(tableWidth(undefined, true, undefined), 100);
  assert.equal(tableWidth(90, true, 132), 90);
});

test('CLI: --details, --details ID, an unknown id (exit 2), --details with another format (exit 2)', async () => {
  const all = await runCli(['scan', '-j', '1', GOOD_LOG, '--details']);
  assert.equal(all.code, 1);
  assert.ok(all.stdout.includes('  Finding id : c91f5c5b20d41550'), all.stdout);
  const one = await runCli(['scan', '-j', '1', GOOD_LOG, '--details', 'c91f5c']);
  assert.equal(one.code, 1);
  assert.ok(one.stdout.startsWith('─'), one.stdout);
  assert.ok(one.stdout.includes('  Finding id : c91f5c5b20d41550'));
  const unknown = await runCli(['scan', '-j', '1', GOOD_LOG, '--details', 'ffff']);
  assert.equal(unknown.code, 2);
  assert.equal(unknown.stdout, '');
  assert.match(unknown.stderr, /^wmiscope: error: --details ffff: no finding has this id \(the scan has 1 finding; the table's ID column shows their ids\)\n$/);
  const json = await runCli(['scan', '-j', '1', '-f', 'json', GOOD_LOG, '--details']);
  assert.equal(json.code, 2);
  assert.match(json.stderr, /--details shows findings in the table/);
  const path = await runCli(['scan', '--details', GOOD_LOG]);
  assert.equal(path.code, 2, 'a path after --details is not taken for an id');
  assert.match(path.stderr, /put --details after the paths/);
});

test('CLI: -o FILE says on stderr in one line what it wrote (file name escaped) and how many notes the report holds, not with -q; -v prints the notes too; another format on stdout: the notes on stderr as the table groups them', async () => {
  const dir = scratchDir('wrote');
  const out = join(dir, 'case\u001b[31m.html');
  const r = await runCli(['scan', '-j', '1', BUNDLED, '-o', out]);
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, `wmiscope: wrote ${join(dir, 'case\\x1b[31m.html')} — 1 finding (1 critical) from 6 files; notes in the report: 6 warnings, 1 skipped\n`);
  const verbose = await runCli(['scan', '-j', '1', '-v', BUNDLED, '-o', join(dir, 'v.html')]);
  const vlines = verbose.stderr.trimEnd().split('\n');
  assert.equal(vlines.filter((l) => l.includes('warning (damaged)')).length, 6, '-v: every note on stderr');
  assert.match(vlines.at(-1)!, /^wmiscope: wrote .*v\.html — 1 finding \(1 critical\) from 6 files; notes in the report: 6 warnings, 1 skipped$/);
  const json = await runCli(['scan', '-j', '1', '-f', 'json', BUNDLED]);
  const jlines = json.stderr.trimEnd().split('\n');
  assert.equal(jlines.length, 3, json.stderr);
  for (const l of jlines) assert.match(l, /^wmiscope: warning  \S.*  damaged/);
  assert.ok(jlines.every((l) => [...l].length <= 100));
  assert.ok(JSON.parse(json.stdout).notes.length === 7, 'every note is in the JSON');
  assert.ok(readFileSync(out, 'utf8').startsWith('<!DOCTYPE html>'));
  const narrowed = await runCli(['scan', '-j', '1', BUNDLED, '-o', join(dir, 'r.json'), '--since', '2030-01-01']);
  assert.match(narrowed.stderr, /wrote .*r\.json — 0 findings from 6 files; 1 more hidden by the narrowing; notes in the report: 6 warnings, 1 skipped\n$/);
  assert.equal(JSON.parse(readFileSync(join(dir, 'r.json'), 'utf8')).findings.length, 0, 'an -o ending in .json is JSON');
  const quiet = await runCli(['scan', '-j', '1', '-q', BUNDLED, '-o', join(dir, 'q.json')]);
  assert.equal(quiet.stderr, '');
});

test('the "wrote" line counts every severity it shows, so its counts add up to its total', async () => {
  const result = await bundledResult();
  const f = result.findings[0]!;
  assert.equal(f.severity, 'critical');
  const three: ScanResult = { ...result, findings: [f, { ...f, id: `a${f.id.slice(1)}`, severity: 'medium' }, { ...f, id: `b${f.id.slice(1)}`, severity: 'info', allowlisted: { by: 'default', entry: 'test' } }] };
  assert.equal(wroteLine('r.html', three, {}), 'wrote r.html — 3 findings (1 critical, 1 medium, 1 info) from 6 files; notes in the report: 6 warnings, 1 skipped');
  assert.equal(wroteLine('r.html', three, { minSeverity: 'medium' }), 'wrote r.html — 2 findings (1 critical, 1 medium) from 6 files; 1 more hidden by the narrowing; notes in the report: 6 warnings, 1 skipped');
});

test('notes: a file name is cut so that logs of the same name in several host folders or archives stay told apart', async () => {
  const zips = ['/cases/2026-11/collections/HOST1.zip!/HOST1/C/Windows/System32/winevt/Logs/Application.evtx', '/cases/2026-11/collections/HOST2.zip!/HOST2/C/Windows/System32/winevt/Logs/Application.evtx'];
  assert.equal(commonFolder(zips), '/cases/2026-11/collections/'.length);
  assert.equal(commonFolder(['a/x.evtx']), 2, 'one file: its folder');
  assert.equal(commonFolder(['/a/x', 'b/x']), 0, 'nothing shared');
  assert.equal(truncatePath(zips[0]!, 36, commonFolder(zips)), '…/HOST1.zip!/…/Logs/Application.evtx');
  // what follows the shared folder fits: cut from the start, as before; a name that fits is whole
  assert.equal(truncatePath('../shared/samples/evtx/bench/mixed-480chunks.evtx', 36, '../shared/samples/'.length), '…les/evtx/bench/mixed-480chunks.evtx');
  assert.equal(truncatePath('C:\\case\\x.evtx', 36, 8), 'C:\\case\\x.evtx');
  // a file's own name too long to keep beside the first part: cut from the start
  const long = `/c/HOST1/${'Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational'}.evtx`;
  assert.equal(truncatePath(long, 36, 3), `…${long.slice(-35)}`);
  for (const w of [16, 20, 36, 60]) for (const f of [...zips, long]) assert.ok([...truncatePath(f, w, commonFolder(zips))].length <= w);

  const result = await bundledResult();
  const notes = zips.map((file) => ({ file, level: 'warning' as const, code: 'damaged' as const, message: 'file header CRC32 mismatch (stored 0x0)' }));
  const text = formatTable({ ...result, notes }, { width: 100 });
  assertFits(text, 100, 'notes');
  const lines = text.split('\n').filter((l) => l.startsWith('warning '));
  assert.deepEqual(lines.map((l) => /HOST\d\.zip!/.exec(l)?.[0]), ['HOST1.zip!', 'HOST2.zip!'], lines.join('\n'));
});

test('--details: the findings come first, the names linked as one machine after them', async () => {
  const result = await bundledResult();
  const text = formatTable({ ...result, hostAliases: [{ host: 'IEWIN7', aliases: [{ name: 'IEWIN7.lab.example', why: 'a short name and its FQDN' }] }] }, { details: true, width: 100 });
  const lines = text.split('\n');
  assert.match(lines[0]!, /^─+$/, 'the first finding\'s rule opens the output');
  assert.match(lines[1]!, /CRITICAL .* IEWIN7/);
  const alias = lines.findIndex((l) => l.startsWith('IEWIN7 is also named IEWIN7.lab.example'));
  assert.ok(alias > lines.findIndex((l) => l.includes('Finding id')), text);
  assert.equal(lines[alias - 1], '', 'a blank line before it');
});

test('allow-listed and info findings fold to one line per subscription across hosts ("on 12 hosts")', async () => {
  const dir = scratchDir('fold');
  const log = { file: join(BUNDLED, 'sysmon_20_21_1_CommandLineEventConsumer.evtx'), computer: 'IEWIN7', name: 'Microsoft-Windows-Sysmon%4Operational.evtx' };
  const hosts = Array.from({ length: 12 }, (_, i) => i + 1);
  makeFleet({ dir, hosts: 12, prefix: 'HOST', log, builders: [{ build: (repo) => void standardFixtures(repo), hosts }] });
  const r = await scan([dir], { threads: 1 });
  const scm = r.findings.filter((f) => f.consumer?.name === 'SCM Event Log Consumer');
  assert.equal(scm.length, 12, 'one allow-listed SCM finding per host');
  assert.ok(scm.every((f) => f.allowlisted && f.severity === 'info'));
  for (const width of WIDTHS) {
    const text = formatTable(r, { width, failOn: 'high' });
    assertFits(text, width, 'fleet');
    const rows = findingLines(text);
    const folded = rows.filter((l) => l.includes('SCM'));
    assert.equal(folded.length, 1, rows.join('\n'));
    assert.match(folded[0]!, width >= 200 ? /^info +on 12 hosts +subscription +SCM Event Log Filter → SCM Event Log Consumer \[NTEventLog\] .* allow-listed / : /^info +on 12 hosts +subscription +SCM.* allow-l/);
    assert.match(folded[0]!, /12×$/);
    // findings that are not info keep one line each, worst first
    const notInfo = r.findings.filter((f) => f.severity !== 'info').length;
    assert.equal(rows.filter((l) => !l.startsWith('info')).length, notInfo);
    const s = summary(text);
    assert.match(s.get('Hosts')!, /^12 \(findings on 12: HOST01, HOST02, /);
    assert.match(s.get('Fleet')!, /on 12 hosts/);
  }
});

test('a time window keeps an undated finding and marks it "undated" on its line; the summary says what was hidden', async () => {
  // Velociraptor's listing of live subscriptions carries no time; the Sysmon log's finding is from 2019
  const r = await scan([join(repoRoot(), 'test/fixtures/velociraptor/hunt.PermanentWMIEvents.json'), GOOD_LOG], { threads: 1 });
  const text = formatTable(r, { since: '2030-01-01T00:00:00.000Z', width: 200, failOn: 'high' });
  assertFits(text, 200, 'window');
  const rows = findingLines(text);
  assert.ok(rows.length > 0 && rows.every((l) => l.includes(' undated')), rows.join('\n'));
  const s = summary(text);
  assert.equal(s.get('Hidden'), `1 (1 critical): 1 before --since 2030-01-01T00:00:00.000Z; ${rows.length} findings with no time kept (marked undated)`);
  assert.match(s.get('Exit 1')!, /, 1 of them hidden by the narrowing$/);
  // said in the flags' own words: before --since, after --until, outside both
  const hidden = (n: { since?: string; until?: string }): string => summary(formatTable(r, { ...n, width: 200 })).get('Hidden')!;
  assert.match(hidden({ until: '2019-01-01T00:00:00.0000000Z' }), /: 1 after --until 2019-01-01T00:00:00\.0000000Z;/);
  assert.match(hidden({ since: '2019-05-12T00:00:00.0000000Z', until: '2019-05-12T23:59:59.9999999Z' }), /: 1 outside --since 2019-05-12T00:00:00\.0000000Z --until 2019-05-12T23:59:59\.9999999Z;/);
});

test('real samples (../shared/samples): many hosts and notes fit 80, 120 and 200 columns; the summary counts them', { skip: skipReason }, async () => {
  const r = await scan([join(samplesDir(), 'evtx'), join(samplesDir(), 'cim', 'dissect-cim-win10')], { threads: 1 });
  const bySeverity = (sev: string): number => r.findings.filter((f) => f.severity === sev).length;
  for (const width of WIDTHS) {
    for (const opts of [{}, { details: true }, { verbose: true }, { quiet: true }]) {
      const text = formatTable(r, { width, failOn: 'high', ...opts });
      assertFits(text, width, `samples ${JSON.stringify(opts)}`);
    }
    const text = formatTable(r, { width, failOn: 'high' });
    const rows = findingLines(text);
    assert.equal(rows.length, r.findings.length - bySeverity('info') + new Set(r.findings.filter((f) => f.severity === 'info').map((f) => f.consumer?.name)).size);
    const s = summary(text);
    assert.equal(s.get('Findings'), `${r.findings.length}: ${['critical', 'high', 'medium', 'low', 'info'].filter((x) => bySeverity(x)).map((x) => `${bySeverity(x)} ${x}`).join(', ')} (1 allow-listed)`);
    assert.match(s.get('Hosts')!, new RegExp(`^${r.hosts.length} \\(findings on `));
    assert.match(s.get('Evidence')!, /^\d+ EVTX logs, 1 event export, 1 repository; [\d,]+ records; [\d.]+ MiB read in \d+ files and 1 repository/);
    const warnings = r.notes.filter((n) => n.level === 'warning').length;
    assert.match(s.get('Notes')!, new RegExp(`^${warnings} warnings`));
    // one line per file with warnings, at most 10, then how many more
    const noteLines = text.split('\n').filter((l) => l.startsWith('warning  '));
    assert.equal(noteLines.length, Math.min(10, new Set(r.notes.filter((n) => n.level === 'warning').map((n) => n.file)).size));
  }
  // the coverage text fits too
  const cov = await coverage([join(samplesDir(), 'evtx')], { threads: 1 });
  for (const width of WIDTHS) assertFits(formatCoverageText(cov.hosts, cov.hostAliases, width), width, 'coverage');
});

test('progress on a terminal counts bytes, with the rate and the time left once known, and fits its width', () => {
  const written: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, done) {
      written.push(chunk.toString('utf8'));
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(sink, { isTTY: true, columns: 72 });
  const bar = progressBar(sink)!;
  assert.ok(bar);
  bar.update(1, 4, '/case/HOST/C/Windows/System32/winevt/Logs/Microsoft-Windows-Sysmon%4Operational.evtx', { done: 3 << 20, total: 12 << 20 });
  bar.update(2, 4, '/case/x\u001b[2J.evtx', { done: 6 << 20, total: 12 << 20 });
  bar.stop();
  const frames = written
    .join('')
    .split(/\u001b\[[0-9;?]*[A-Za-z]|\u001b[78]|\r|\n/)
    .filter((s) => s.startsWith('scanning'));
  assert.ok(frames.length > 0, JSON.stringify(written));
  for (const f of frames) assert.ok([...f].length <= 71, `wider than the terminal: ${f}`);
  assert.ok(frames.some((f) => f.includes('2/4 inputs') && f.includes('6.0 MiB/12 MiB')), frames.join('\n'));
  assert.ok(frames.every((f) => !f.includes('\u001b[2J')), 'file names are escaped');
  assert.equal(progressBar(Object.assign(new Writable(), { isTTY: false }) as unknown as NodeJS.WriteStream), null, 'no bar when stderr is not a terminal');
});

test('a log that cannot show a subscription: "none" is said with the host it cannot speak for (Blind), not as clean', async () => {
  // issue_38.evtx: a real Security-style log of foobar-PC, no Sysmon, WMI-Activity or PowerShell channel
  const r = await scan([join(repoRoot(), 'test/fixtures/evtx/issue_38.evtx')], { threads: 1, version: '9.9.9' });
  const s = summary(formatTable(r, { width: 200, failOn: 'high' }));
  assert.equal(s.get('Findings'), 'none');
  assert.equal(s.get('Blind'), 'the host (foobar-PC): no repository, live listing, Sysmon, WMI-Activity or PowerShell log read, so nothing here can show a subscription on it (wmiscope coverage)');
  // a Sysmon log is evidence that can: no Blind line
  const sysmon = await scan([join(repoRoot(), 'test/fixtures/evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx')], { threads: 1 });
  assert.equal(summary(formatTable(sysmon, { width: 200 })).get('Blind'), undefined);
});
