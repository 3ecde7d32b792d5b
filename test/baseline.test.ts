/**
 * `scan --baseline OLD.json` (the scan compared with an earlier result: `result.changes`, the table's and the HTML
 * report's "Changes since baseline", narrowed as the findings are) and `diff -a FILE` (allow-listing judged with the
 * given allowlists), on real scans of the committed fixtures and of ../shared/samples; hostile names escaped; the
 * outputs valid against the schemas.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { scan } from '../src/scan.js';
import { diffScans, failingChanges } from '../src/analysis/diff.js';
import { parseAllowlist } from '../src/analysis/allowlist.js';
import { formatHtml } from '../src/report/html.js';
import { formatJson, formatTable } from '../src/report/index.js';
import { failingFindings } from '../src/report/select.js';
import { allowlistFromScan } from '../src/report/allowfile.js';
import type { ScanDiff, ScanResult } from '../src/model/types.js';
import { evtxSample, repoRoot, skipReason } from './support/samples.js';
import { runCli } from './support/child.js';
import { scratchDir } from './support/tmp.js';

const EVTX = join(repoRoot(), 'test/fixtures/evtx');
const COLLECTOR = join(repoRoot(), 'test/fixtures/collector');
const clone = <T>(r: T): T => JSON.parse(JSON.stringify(r)) as T;
const names = (l: Array<{ name: string | null }>): Array<string | null> => l.map((e) => e.name).sort();

const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
ajv.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)));
const findingSchema = JSON.parse(readFileSync(join(repoRoot(), 'schema/finding.schema.json'), 'utf8')) as { $id: string };
ajv.addSchema(findingSchema);
const validateResult = ajv.getSchema(findingSchema.$id)!;
const validateDiff = ajv.compile(JSON.parse(readFileSync(join(repoRoot(), 'schema/diff.schema.json'), 'utf8')) as object);

let cached: { base: ScanResult; cur: ScanResult; plain: ScanResult } | null = null;
/** The logs alone (the baseline), then logs and collector documents compared with it, and the same without a baseline. */
async function scans(): Promise<{ base: ScanResult; cur: ScanResult; plain: ScanResult }> {
  if (!cached) {
    const base = await scan([EVTX], { threads: 1, version: 'base' });
    cached = { base, cur: await scan([EVTX, COLLECTOR], { threads: 1, baseline: base }), plain: await scan([EVTX, COLLECTOR], { threads: 1 }) };
  }
  return clone(cached);
}

const ZERO = { new: 0, gone: 0, changed: 0, rescored: 0, unchanged: 0, notScannedInNew: 0, notShownInNew: 0 };

test('scan with a baseline: result.changes says 2 new on IEWIN7 and 1 on WIN10-SAMPLE, BotConsumer23 rescored critical → high; the findings and the exit code are those of the scan without it', async () => {
  const { cur, plain } = await scans();
  const c = cur.changes!;
  assert.deepEqual(c.totals, { ...ZERO, new: 3, rescored: 1 });
  assert.equal(c.old.version, 'base');
  const iewin7 = c.hosts.find((h) => h.host === 'IEWIN7')!;
  assert.deepEqual(names(iewin7.new), ['BotConsumer23', 'ProbeScriptFint']);
  assert.deepEqual([iewin7.rescored[0]!.old.severity, iewin7.rescored[0]!.new.severity, iewin7.rescored[0]!.reasonsRemoved], ['critical', 'high', ['ran']]);
  assert.deepEqual(names(c.hosts.find((h) => h.host === 'WIN10-SAMPLE')!.new), ['SCM Event Log Consumer']);
  // --baseline changes no finding
  const view = (r: ScanResult): unknown => r.findings.map((f) => [f.id, f.host, f.severity, f.score, f.status, f.allowlisted, f.reasons.map((x) => x.id)]);
  assert.deepEqual(view(cur), view(plain));
  assert.deepEqual(failingFindings(cur, 'high').map((f) => f.id), failingFindings(plain, 'high').map((f) => f.id));
  // the JSON carries it, valid against the scan schema
  const json = JSON.parse(formatJson(cur)) as ScanResult;
  assert.ok(validateResult(json), JSON.stringify(validateResult.errors));
  assert.deepEqual(json.changes!.totals, c.totals);
  assert.equal(json.changes!.narrowedOut, undefined);
  assert.ok(validateDiff({ format: 'wmiscope-diff/1', ...c }), JSON.stringify(validateDiff.errors));
});

test('scan with a baseline: the table says "Changes since baseline" with counts per host, the new and rescored listed', async () => {
  const { cur } = await scans();
  const text = formatTable(cur, { width: 140 });
  const at = text.indexOf('Changes since baseline: 3 new, 0 gone, 0 changed, 1 rescored, 0 unchanged\n');
  assert.ok(at > 0, text);
  const part = text.slice(at);
  assert.match(part, /\n {2}baseline: wmiscope base, scanned [^\n]+: 5 host\(s\), 1 finding\(s\)\n/);
  assert.match(part, /\n {2}IEWIN7: 2 new, 0 gone, 0 changed, 1 rescored, 0 unchanged\n {4}\+ new {6}critical ROOT\\cimv2\\totallylegit CommandLineEventConsumer BotConsumer23 \(active, id 48f034799c3b\)\n/);
  assert.match(part, /\n {4}\^ rescored high {5}ROOT\\subscription CommandLineEventConsumer BotConsumer23 \(active, id c91f5c5b20d4\)\n[^\n]*\n {10}critical → high \(score 85 → 75\); status deleted → active; reasons removed: ran\n/);
  assert.match(part, /\n {2}WIN10-SAMPLE \(not in the baseline\): 1 new, 0 gone, 0 changed, 0 rescored, 0 unchanged\n/);
  // hosts with nothing listed get no line
  assert.doesNotMatch(part, /DESKTOP-0HIJB49/);
  assert.doesNotMatch(formatTable((await scans()).plain, { width: 140 }), /Changes since baseline/);
});

test('scan with a baseline, narrowed: --only-host, --min-severity and --since narrow the changes as they narrow the findings, and count what they hid', async () => {
  const { cur } = await scans();
  const view = (n: Parameters<typeof formatJson>[1]): { totals: ScanDiff['totals']; narrowedOut: number | undefined; hosts: string[] } => {
    const j = JSON.parse(formatJson(cur, n)) as ScanResult;
    assert.ok(validateResult(j), JSON.stringify(validateResult.errors));
    return { totals: j.changes!.totals, narrowedOut: j.changes!.narrowedOut, hosts: j.changes!.hosts.map((h) => h.host) };
  };
  // another host's changes are not said at all (its new, gone and unchanged)
  assert.deepEqual(view({ onlyHost: ['WIN10-*'] }), { totals: { ...ZERO, new: 1 }, narrowedOut: 3, hosts: ['WIN10-SAMPLE'] });
  // the info SCM consumer is below high; the rescore critical → high is kept (either side is at or above)
  assert.deepEqual(view({ minSeverity: 'high' }).totals, { ...ZERO, new: 2, rescored: 1 });
  assert.equal(view({ minSeverity: 'high' }).narrowedOut, 1);
  assert.deepEqual(view({ minSeverity: 'critical' }).totals, { ...ZERO, new: 2, rescored: 1 });
  // the IEWIN7 findings' activity is in May 2019, the SCM consumer's in June 2021
  assert.deepEqual(view({ since: '2020-01-01T00:00:00.0000000Z' }).totals, { ...ZERO, new: 1 });
  assert.deepEqual(view({ until: '2019-12-31T00:00:00.0000000Z' }).totals, { ...ZERO, new: 2, rescored: 1 });
  // the table and the HTML report narrow alike
  assert.match(formatTable(cur, { onlyHost: ['WIN10-*'], width: 140 }), /Changes since baseline: 1 new, 0 gone, 0 changed, 0 rescored, 0 unchanged\n {2}baseline: [^\n]*\n {2}note: 3 change\(s\) hidden by the narrowing/);
  const html = formatHtml(cur, { onlyHost: ['WIN10-*'] });
  const section = html.slice(html.indexOf('<section id="changes"'), html.indexOf('</section>'));
  assert.match(section, /1 new, 0 gone, 0 changed, 0 rescored, 0 unchanged/);
  assert.doesNotMatch(section, /IEWIN7/);
});

test('scan with a baseline the other way round (this scan: the logs alone): nothing is called gone that this scan could not have shown; --only-host drops the host not read', async () => {
  const { base, plain } = await scans();
  const rev = await scan([EVTX], { threads: 1, baseline: plain });
  const c = rev.changes!;
  assert.deepEqual(c.totals, { ...ZERO, rescored: 1, notScannedInNew: 1, notShownInNew: 2 });
  assert.deepEqual(names(c.hosts.find((h) => h.host === 'IEWIN7')!.notShownInNew), ['BotConsumer23', 'ProbeScriptFint']);
  assert.deepEqual(names(c.hosts.find((h) => h.host === 'WIN10-SAMPLE')!.notScannedInNew), ['SCM Event Log Consumer']);
  const text = formatTable(rev, { width: 140 });
  assert.match(text, /\n {2}IEWIN7: 0 new, 0 gone, 0 changed, 1 rescored, 0 unchanged, 2 not shown by this scan's evidence\n/);
  assert.match(text, /\n {2}WIN10-SAMPLE \(not read by this scan: nothing compared\): 1 in the baseline\n/);
  const only = JSON.parse(formatJson(rev, { onlyHost: ['IEWIN7'] })) as ScanResult;
  assert.deepEqual(only.changes!.totals, { ...ZERO, rescored: 1, notShownInNew: 2 });
  // the same subscription gone from a live listing that can show it is gone: NEW keeps the collector documents but ProbeScriptFint is removed
  const without = clone(plain);
  without.findings = without.findings.filter((f) => f.consumer?.name !== 'ProbeScriptFint');
  assert.deepEqual(names(diffScans(plain, without).hosts.find((h) => h.host === 'IEWIN7')!.gone), ['ProbeScriptFint']);
  // the scan table lists a gone subscription under its host, as the HTML section does
  const gone = clone(without);
  gone.changes = diffScans(plain, without);
  assert.match(formatTable(gone, { width: 140 }), /\n {2}IEWIN7: 0 new, 1 gone, [^\n]*\n {4}- gone {5}\w+ +ROOT\\subscription ActiveScriptEventConsumer ProbeScriptFint \(orphan, id [0-9a-f]{12}\)\n {10}JScript: /);
  void base;
});

test('scan with a baseline: hostile host, consumer and summary text is escaped in the table and in the HTML section; the JSON keeps it exact', async () => {
  const { base, cur } = await scans();
  const evil = clone(cur);
  delete evil.changes;
  const bot = evil.findings.find((f) => f.id === '48f034799c3b7e20')!;
  bot.host = 'EVIL\u001b[31mHOST\u202e<img src=x onerror=alert(1)>';
  bot.consumer!.name = '<script>alert(1)</script>';
  bot.summary = 'run\u001b]0;pwned\u0007 & <b>';
  evil.hosts.push(bot.host);
  evil.changes = diffScans(base, evil);
  const text = formatTable(evil, { width: 200 });
  const part = text.slice(text.indexOf('Changes since baseline'));
  assert.ok(!/[\u001b\u0007\u202e]/.test(part), 'no raw control or bidi character');
  assert.match(part, /EVIL\\x1b\[31mHOST\\u202e<img src=x onerror=alert\(1\)> \(not in the baseline\): 1 new/);
  assert.match(part, /run\\x1b\]0;pwned\\x07 & <b>/);
  const html = formatHtml(evil);
  const section = html.slice(html.indexOf('<section id="changes"'), html.indexOf('</section>') + 10);
  assert.ok(html.indexOf('<section id="changes"') < html.indexOf('<main id="app">'), 'the section is above the findings');
  assert.ok(!/<script|<img/i.test(section), section);
  assert.doesNotMatch(section, /<b>[^<]*&amp; <b>/, 'the summary\'s <b> is text');
  assert.match(section, /&lt;script&gt;alert\(1\)&lt;\/script&gt;/);
  assert.match(section, /EVIL\\x1b\[31mHOST\\u202e&lt;img src=x onerror=alert\(1\)&gt;/);
  assert.match(section, /run\\x1b\]0;pwned\\x07 &amp; &lt;b&gt;/);
  assert.ok(!/[\u001b\u0007\u202e]/.test(section));
  const json = JSON.parse(formatJson(evil)) as ScanResult;
  assert.ok(json.changes!.hosts.some((h) => h.host === bot.host));
});

test('scan --baseline (CLI): the same exit code as without, the JSON has changes, an unusable baseline is exit 2 before any evidence is read', async () => {
  const { base } = await scans();
  const dir = scratchDir('baseline-cli');
  const b = join(dir, 'base.json');
  writeFileSync(b, JSON.stringify(base));
  const withB = await runCli(['scan', EVTX, COLLECTOR, '--baseline', b, '-q', '--width', '140']);
  const without = await runCli(['scan', EVTX, COLLECTOR, '-q', '--width', '140']);
  assert.equal(withB.code, 1, withB.stderr);
  assert.equal(without.code, 1);
  assert.match(withB.stdout, /Changes since baseline: 3 new, 0 gone, 0 changed, 1 rescored, 0 unchanged/);
  // --fail-on never: 0 with or without it (the changes never make scan fail)
  assert.equal((await runCli(['scan', EVTX, COLLECTOR, '--baseline', b, '-q', '--fail-on', 'never'])).code, 0);
  const json = await runCli(['scan', EVTX, COLLECTOR, '--baseline', b, '-f', 'json', '--min-severity', 'critical']);
  const parsed = JSON.parse(json.stdout) as ScanResult;
  assert.ok(validateResult(parsed), JSON.stringify(validateResult.errors));
  assert.deepEqual(parsed.changes!.totals, { ...ZERO, new: 2, rescored: 1 });
  assert.equal(parsed.changes!.narrowedOut, 1);
  const page = await runCli(['scan', EVTX, COLLECTOR, '--baseline', b, '-f', 'html']);
  assert.match(page.stdout, /<section id="changes" class="changes"><h2>Changes since baseline<\/h2>/);
  const missing = await runCli(['scan', EVTX, '--baseline', join(dir, 'nope.json')]);
  assert.equal(missing.code, 2);
  assert.match(missing.stderr, /nope\.json/);
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, '{"tool": {"name": "wmiscope", "version": "1"}, "scannedAt": "x", "hosts": "A", "findings": []}');
  const notResult = await runCli(['scan', EVTX, '--baseline', bad]);
  assert.equal(notResult.code, 2);
  assert.match(notResult.stderr, /--baseline .*bad\.json: hosts: not a list of names/);
  assert.equal(notResult.stdout, '');
});

test('scan(paths, { baseline }) refuses a value that is not a scan result, naming the field', async () => {
  await assert.rejects(scan([EVTX], { threads: 1, baseline: { tool: { name: 'other' } } as unknown as ScanResult }), (e: unknown) => e instanceof TypeError && /^baseline: not a wmiscope scan result/.test(e.message));
});

test('diff -a: an allowlist entry made for ProbeScriptFint allow-lists it in the comparison (marked as by diff -a); BotConsumer23 still fails; every finding\'s entry: exit 0', async () => {
  const { base, plain } = await scans();
  const probe = allowlistFromScan({ ...plain, findings: plain.findings.filter((f) => f.consumer?.name === 'ProbeScriptFint') }, 'critical', 'probe');
  assert.equal(probe.entries, 1);
  const d = diffScans(base, plain, { allowlists: [parseAllowlist(probe.text, 'probe.yaml')] });
  const iewin7 = d.hosts.find((h) => h.host === 'IEWIN7')!;
  const p = iewin7.new.find((e) => e.name === 'ProbeScriptFint')!;
  assert.equal(p.allowlisted, 'from-scan: (no filter) -> ProbeScriptFint');
  assert.equal(p.allowlistedBy, 'diff');
  // the scan's own verdict stays the scan's
  const scm = d.hosts.find((h) => h.host === 'WIN10-SAMPLE')!.new[0]!;
  assert.deepEqual([scm.allowlisted, scm.allowlistedBy], ['default: SCM Event Log Filter -> SCM Event Log Consumer', undefined]);
  assert.deepEqual(failingChanges(d, 'high').map((e) => [e.name, e.id]), [['BotConsumer23', '48f034799c3b7e20']]);
  assert.deepEqual(d.allowlists, ['from-scan']);
  assert.ok(validateDiff({ format: 'wmiscope-diff/1', ...d }), JSON.stringify(validateDiff.errors));

  const dir = scratchDir('diff-allow');
  const o = join(dir, 'old.json');
  const n = join(dir, 'new.json');
  writeFileSync(o, JSON.stringify(base));
  writeFileSync(n, JSON.stringify(plain));
  const pf = join(dir, 'probe.yaml');
  writeFileSync(pf, probe.text);
  const one = await runCli(['diff', o, n, '-a', pf, '--width', '200']);
  assert.equal(one.code, 1, one.stderr);
  assert.match(one.stdout, /ProbeScriptFint \(orphan, id 8bdf353e2567\) \[allow-listed by diff -a from-scan: \(no filter\) -> ProbeScriptFint\]/);
  assert.match(one.stdout, /note: allow-listing judged also with from-scan \(diff -a\), besides the verdicts in the results/);
  // every finding of NEW at or below critical: nothing new or changed is left to fail
  const all = join(dir, 'all.yaml');
  writeFileSync(all, allowlistFromScan(plain, 'critical', 'all').text);
  const both = await runCli(['diff', o, n, '-a', pf, '-a', all]);
  assert.equal(both.code, 0, both.stdout);
  const broken = join(dir, 'broken.yaml');
  writeFileSync(broken, 'entries:\n  - id: x\n    nonsense: 1\n');
  const bad = await runCli(['diff', o, n, '-a', broken]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /broken\.yaml:3:5: unknown key "nonsense"/);
});

test('samples: PowerLurk — the Sysmon log as baseline, then with the PowerShell log: Evil23 is new; the other way round it is not shown by the Sysmon log, never gone', { skip: skipReason }, async () => {
  const sysmon = evtxSample('hayabusa-sample-evtx/ID19-20-WMI registration via PowerLurk.evtx');
  const ps = evtxSample('hayabusa-sample-evtx/ID800-4103-4104-WMI registration via PowerLurk.evtx');
  const before = await scan([sysmon], { threads: 1 });
  const after = await scan([sysmon, ps], { threads: 1, baseline: before });
  assert.deepEqual(after.changes!.totals, { ...ZERO, new: 1, unchanged: 1 });
  const h = after.changes!.hosts.find((x) => x.host === 'fs01.offsec.lan')!;
  assert.deepEqual(h.new.map((e) => [e.name, e.severity, e.score, e.status, e.summary]), [['Evil23', 'critical', 85, 'logged-only', 'cmd.exe /c echo %ProcessId% >> c:\\\\temp\\\\log.txt']]);
  const back = await scan([sysmon], { threads: 1, baseline: after });
  assert.deepEqual(back.changes!.totals, { ...ZERO, unchanged: 1, notShownInNew: 1 });
  assert.deepEqual(back.changes!.hosts.find((x) => x.host === 'fs01.offsec.lan')!.notShownInNew.map((e) => e.name), ['Evil23']);
});
