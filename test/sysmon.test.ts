/**
 * `wmiscope sysmon audit` / `sysmon config`: every configuration in ../shared/samples/sysmon-config (skipped with
 * a message when absent) and the fixtures in test/fixtures/sysmon (ours). Each config's expected matrix is written
 * out below with the reasoning.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  auditSysmonConfig,
  auditSysmonFile,
  conditionMatches,
  CONDITIONS,
  decodeConfig,
  mergeWmiSection,
  parseSysmonConfig,
  recommendedConfig,
  recommendedWmiSection,
  schemaProblem,
  SysmonConfigError,
} from '../src/sysmon/index.js';
import type { MatrixRow, SysmonAudit } from '../src/sysmon/index.js';
import { repoRoot, samplesDir } from './support/samples.js';
import { scratchDir } from './support/tmp.js';

const cli = join(repoRoot(), 'dist/src/cli/main.js');
const fixture = (n: string): string => join(repoRoot(), 'test/fixtures/sysmon', n);
const sample = (n: string): string => join(samplesDir(), 'sysmon-config', n);
const noConfigs = existsSync(join(samplesDir(), 'sysmon-config')) ? false : `Sysmon configurations not found at ${join(samplesDir(), 'sysmon-config')} (expected ../shared/samples next to the repo)`;

function run(...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', maxBuffer: 64 << 20 });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** `id op profile` → logged, for the base (non-evasion) rows. */
function outcomes(a: SysmonAudit): Record<string, boolean> {
  const o: Record<string, boolean> = {};
  for (const m of a.matrix) if (m.profile !== 'evasion') o[`${m.eventId} ${m.operation} ${m.profile} ${m.label}`] = m.logged;
  return o;
}
const base = (a: SysmonAudit): MatrixRow[] => a.matrix.filter((m) => m.profile !== 'evasion');

test('SwiftOnSecurity sysmonconfig-export.xml: the empty exclude logs every WMI event', { skip: noConfigs }, () => {
  const a = auditSysmonFile(sample('SwiftOnSecurity/sysmonconfig-export.xml'));
  assert.equal(a.schemaVersion, '4.50');
  // one <WmiEvent onmatch="exclude"> with no rules (line 880, with the comment "Using exclude with no rules means everything will be logged")
  assert.deepEqual(a.rules, [{ line: 880, onmatch: 'exclude', groupRelation: 'or', rules: [] }]);
  assert.equal(a.verdict, 'logs-all');
  // 3 operations x (19: 2 profiles, 20: 3 profiles, 21: 2 profiles) = 21 rows, all logged, because only exclude rules exist and none matches
  assert.equal(base(a).length, 21);
  assert.ok(a.matrix.every((m) => m.logged && m.because === 'only exclude rules, and none matches'));
  // nothing is left open: no include rules, no field rules, WmiEvent is present
  assert.deepEqual(a.ambiguities, []);
  assert.match(a.statements.join('\n'), /Event 20 \(WmiEventConsumer, consumer\): every operation is logged/);
  // the structural blind spots are listed even for a log-all configuration
  assert.equal(a.blindSpots.length, 4);
  assert.match(a.blindSpots[0]!, /only the root\\subscription namespace/);
  assert.match(a.blindSpots[1]!, /CommandLineEventConsumer and ActiveScriptEventConsumer/);
});

for (const [file, includeLine, excludeLine] of [
  ['sysmon-modular/sysmonconfig.xml', 2164, 2578],
  ['sysmon-modular/sysmonconfig-mde-augment.xml', 1647, 2842],
] as const) {
  test(`sysmon-modular ${file}: include "Operation is Created" — modifications and deletions are dropped; the extra empty exclude is shown both ways`, { skip: noConfigs }, () => {
    const a = auditSysmonFile(sample(file));
    assert.equal(a.schemaVersion, '4.90');
    assert.equal(a.rules.length, 2);
    assert.deepEqual(a.rules[0], { line: includeLine - 1, onmatch: 'include', groupRelation: 'or', rules: [`Operation is "Created" (line ${includeLine})`] });
    assert.deepEqual(a.rules[1], { line: excludeLine, onmatch: 'exclude', groupRelation: 'or', rules: [] });
    assert.equal(a.verdict, 'partial');
    // The include keeps only events whose Operation is "Created" (a Sysmon-written value, not attacker-chosen):
    // every Created row is logged, whatever the names; every Modified and Deleted row is dropped.
    for (const m of base(a)) {
      assert.equal(m.logged, m.operation === 'Created', `${m.eventId} ${m.operation} ${m.label}`);
      if (m.logged) assert.deepEqual(m.lines, [includeLine]);
      else assert.match(m.because, /^no include rule matches \(include rules: Operation is "Created"/);
    }
    assert.equal(base(a).filter((m) => !m.logged).length, 14);
    assert.match(a.statements.join('\n'), /Event 21 \(WmiEventConsumerToFilter, binding\): Created logged; Modified and Deleted never logged/);
    assert.match(a.statements.join('\n'), /deletes or modifies a subscription after use/);
    // The documentation does not say what the empty exclude list does next to includes: read as "adds nothing"
    // (above), or as "log everything" — under which each of the 14 dropped rows is logged.
    assert.equal(a.ambiguities.length, 1);
    assert.equal(a.ambiguities[0]!.id, 'empty-exclude');
    assert.equal(a.ambiguities[0]!.rows.length, 14);
    for (const i of a.ambiguities[0]!.rows) {
      const m = a.matrix[i]!;
      assert.equal(m.logged, false);
      assert.deepEqual(m.otherwise.map((o) => [o.reading, o.logged]), [['empty-exclude', true]]);
    }
    // no evasion rows: the only field rule is on Operation, which the attacker does not choose
    assert.equal(a.matrix.filter((m) => m.profile === 'evasion').length, 0);
  });
}

for (const [file, line, relation] of [
  ['sysmon-modular/sysmonconfig-excludes-only.xml', 779, 'or'],
  ['sysmon-modular/sysmonconfig-research.xml', 66, 'none (outside a RuleGroup)'],
] as const) {
  test(`sysmon-modular ${file}: an empty exclude, every WMI event logged`, { skip: noConfigs }, () => {
    const a = auditSysmonFile(sample(file));
    assert.deepEqual(a.rules, [{ line, onmatch: 'exclude', groupRelation: relation, rules: [] }]);
    assert.equal(a.verdict, 'logs-all');
    assert.ok(Object.values(outcomes(a)).every(Boolean));
    // the research file puts WmiEvent straight under EventFiltering: no RuleGroup, but no rules either, so the
    // and/or question for rules outside a RuleGroup does not arise
    assert.deepEqual(a.ambiguities, []);
  });
}

test('fixture exclude-scnotification.xml: an attacker naming a consumer SCNotificationUpdate is not logged in 21; a "begin with" on Name is shown both ways', () => {
  const a = auditSysmonFile(fixture('exclude-scnotification.xml'));
  assert.equal(a.verdict, 'partial');
  // The exclude `Consumer contains SCNotification` only sees event 21 (the only event with a Consumer field):
  // the vendor binding is dropped in every operation; filters (19) and consumers (20) are all logged.
  for (const m of base(a)) assert.equal(m.logged, !(m.eventId === 21 && m.profile === 'benign'), `${m.eventId} ${m.operation} ${m.profile}`);
  // Evasion: the attacker picks the consumer name, so a binding to "SCNotificationUpdate" is excluded too.
  const ev = a.matrix.filter((m) => m.profile === 'evasion');
  const sc = ev.find((m) => m.eventId === 21);
  assert.ok(sc);
  // the reference in the form real Sysmon 21 records give it (test/fixtures/exports: CommandLineEventConsumer.Name="BotConsumer23")
  assert.equal(sc.fields['Consumer'], 'CommandLineEventConsumer.Name="SCNotificationUpdate"');
  assert.equal(sc.logged, false);
  assert.deepEqual(sc.lines, [6]);
  assert.ok(a.statements.some((s) => s.startsWith('Evasion: an attacker who creates a consumer named "SCNotificationUpdate"') && s.includes('event 21')));
  // `Name begin with "SCM Event"`: Sysmon logs Name as "SCM EventUpdate" with quotes. If rules see the quotes
  // (the reading used), "begin with SCM Event" never matches and the attacker's "SCM EventUpdate" is logged;
  // if they see the bare value, it is excluded. Both events (19 filter, 20 consumer) are shown both ways.
  const named = ev.filter((m) => m.fields['Name'] === 'SCM EventUpdate');
  assert.deepEqual(named.map((m) => m.eventId).sort(), [19, 20]);
  for (const m of named) {
    assert.equal(m.logged, true);
    assert.deepEqual(m.otherwise.map((o) => [o.reading, o.logged]), [['quoted-values', false]]);
  }
  assert.deepEqual(a.ambiguities.map((x) => x.id), ['quoted-values']);
});

test('fixture include-powershell.xml: include on Destination keeps no filter (19) events; a <Rule> AND keeps created bindings only', () => {
  const a = auditSysmonFile(fixture('include-powershell.xml'));
  const o = outcomes(a);
  // 19 has no Destination field and is not a binding: never logged
  for (const op of ['Created', 'Modified', 'Deleted']) {
    assert.equal(o[`19 ${op} attacker attacker persistence (PowerShell, uptime trigger)`], false);
    // 20: only the PowerShell destination matches "contains any powershell;pwsh"; the VBScript and vendor ones do not
    assert.equal(o[`20 ${op} attacker attacker persistence (PowerShell, uptime trigger)`], true);
    assert.equal(o[`20 ${op} attacker attacker persistence (ActiveScript VBScript)`], false);
    assert.equal(o[`20 ${op} benign vendor subscription (SCCM-style)`], false);
    // 21: the <Rule groupRelation="and"> needs Operation Created AND EventType WmiBindingEvent
    assert.equal(o[`21 ${op} attacker attacker persistence (PowerShell, uptime trigger)`], op === 'Created');
  }
  const bind = a.matrix.find((m) => m.eventId === 21 && m.operation === 'Created')!;
  assert.deepEqual(bind.lines, [7, 8]);
  assert.equal(a.warnings.length, 0);
});

test('fixture no-wmi.xml: no WmiEvent element — logged under the "unfiltered types are logged" reading, shown the other way too', () => {
  const a = auditSysmonFile(fixture('no-wmi.xml'));
  assert.deepEqual(a.rules, []);
  assert.equal(a.verdict, 'logs-all');
  assert.deepEqual(a.ambiguities.map((x) => [x.id, x.rows.length]), [['absent', 21]]);
});

test('malformed configuration: a clear error with line and column, from the library and the CLI (exit 2)', () => {
  assert.throws(
    () => auditSysmonFile(fixture('malformed.xml')),
    (e: unknown) => e instanceof SysmonConfigError && e.line === 6 && e.column === 5 && /closing tag 'WmiEvent'/.test(e.message),
  );
  const r = run('sysmon', 'audit', fixture('malformed.xml'));
  assert.equal(r.code, 2);
  assert.match(r.err, /malformed\.xml: line 6, column 5: Expected closing tag 'WmiEvent'/);
  // one bad file does not cost the others
  const both = run('sysmon', 'audit', fixture('malformed.xml'), fixture('no-wmi.xml'));
  assert.equal(both.code, 2);
  assert.match(both.out, /Sysmon configuration audit: .*no-wmi\.xml/);
});

test('hostile or odd input: DOCTYPE refused, not Sysmon, unknown conditions and fields warned, __proto__ harmless', () => {
  assert.throws(() => parseSysmonConfig('<!DOCTYPE x [<!ENTITY a "b">]><Sysmon/>'), /DOCTYPE or other declaration is not allowed/);
  // the word in a comment is not a DOCTYPE
  assert.equal(parseSysmonConfig('<!-- <!DOCTYPE> --><Sysmon schemaversion="4.90"/>').schemaVersion, '4.90');
  // deep nesting is an error, not a stack overflow
  assert.throws(() => parseSysmonConfig('<Sysmon>' + '<a>'.repeat(5000) + '</a>'.repeat(5000) + '</Sysmon>'), /nested deeper than 64/);
  // not UTF-8, no BOM: refused (a merge would otherwise change its bytes)
  assert.throws(() => decodeConfig(Buffer.from('<Sysmon><!-- caf\xe9 --></Sysmon>', 'latin1')), /not UTF-8/);
  assert.throws(() => parseSysmonConfig('<config/>'), /not a Sysmon configuration/);
  assert.throws(() => parseSysmonConfig('<Sysmon/><Sysmon/>'), SysmonConfigError);
  const c = parseSysmonConfig(
    '<Sysmon schemaversion="4.10" __proto__="x"><EventFiltering><RuleGroup groupRelation="or"><WmiEvent onmatch="exclude"><name condition="contains">x</name><Name condition="looks like">y</Name><Rule groupRelation="and"><Name condition="contains any">a;b</Name></Rule></WmiEvent></RuleGroup></EventFiltering></Sysmon>',
  );
  const w = c.warnings.map((x) => x.message).join('\n');
  assert.match(w, /<name> is not a field of WmiEvent .*did you mean Name\?/);
  assert.match(w, /condition "looks like" is not a Sysmon condition/);
  assert.match(w, /<Rule> needs schema 4.22/);
  assert.match(w, /condition "contains any" needs schema 4.22/);
  assert.equal(({} as Record<string, unknown>)['x'], undefined);
  // the two broken rules never match; the <Rule> still does: "Updater" contains "a", so it is excluded
  const a = auditSysmonConfig(c, 'inline');
  const row = a.matrix.find((m) => m.eventId === 20 && m.profile === 'attacker' && m.operation === 'Created')!;
  assert.equal(row.logged, false);
  assert.match(row.because, /^excluded by Name contains any "a;b"/);
});

test('conditions: every documented condition, case-insensitive, ";" lists', () => {
  const cases: Array<[string, string, string, boolean]> = [
    ['is', 'Created', 'created', true],
    ['is not', 'Created', 'Deleted', true],
    ['is any', 'Modified', 'Created;Modified', true],
    ['contains', '"SCNotificationUpdate"', 'scnotification', true],
    ['contains any', 'pwsh -enc', 'powershell;pwsh', true],
    ['contains all', 'net view', 'net;view', true],
    ['contains all', 'net use', 'net;view', false],
    ['excludes', 'cmd.exe', 'powershell', true],
    ['excludes any', 'powershell -enc', 'powershell;pwsh', true],
    ['excludes all', 'powershell -enc', 'powershell;pwsh', false],
    ['begin with', 'C:\\Windows\\x.exe', 'c:\\windows', true],
    ['not begin with', 'C:\\Users\\x.exe', 'c:\\windows', true],
    ['end with', 'evil.vbs', '.VBS', true],
    ['not end with', 'evil.vbs', '.exe', true],
    ['less than', '9', '10', true],
    ['more than', '9', '10', false],
    ['image', 'C:\\Windows\\System32\\cmd.exe', 'cmd.exe', true],
    ['image', 'C:\\Windows\\System32\\xcmd.exe', 'cmd.exe', false],
  ];
  for (const [c, v, r, want] of cases) assert.equal(conditionMatches(c, v, r), want, `${v} ${c} ${r}`);
  assert.equal(conditionMatches('is', 'Created', 'created', true), false);
  assert.equal(new Set(cases.map((x) => x[0])).size, CONDITIONS.length);
});

test('sysmon config: the section alone, a whole config, RuleGroup form from schema 4.22, bare before', () => {
  assert.match(recommendedWmiSection({ schema: '4.22' }), /<RuleGroup name="" groupRelation="or">\n\s+<WmiEvent onmatch="exclude" \/>\n\s+<\/RuleGroup>/);
  assert.doesNotMatch(recommendedWmiSection({ schema: '3.40' }), /RuleGroup/);
  const full = recommendedConfig('4.90');
  assert.equal(auditSysmonConfig(parseSysmonConfig(full), 'x').verdict, 'logs-all');
  const r = run('sysmon', 'config', '--schema', '4.50');
  assert.equal(r.code, 0);
  assert.match(r.out, /^<!-- Event ID 19, 20, 21 == WmiEvent/);
  assert.match(r.out, /<WmiEvent onmatch="exclude" \/>/);
  assert.equal(run('sysmon', 'config', '--schema', 'latest').code, 2);
});

test('sysmon config --merge on sysmon-modular sysmonconfig.xml: WmiEvent groups replaced, every other line unchanged, result logs all', { skip: noConfigs }, () => {
  const file = sample('sysmon-modular/sysmonconfig.xml');
  const original = decodeConfig(readFileSync(file)).text;
  const m = mergeWmiSection(original);
  assert.deepEqual(m.removed, [2163, 2578]);
  assert.equal(auditSysmonConfig(m.config, 'merged').verdict, 'logs-all');
  // take out the inserted section and the two removed RuleGroups (lines 2162-2166 and 2577-2579): the rest is identical
  const orig = original.split('\n');
  const kept = orig.filter((_, i) => !(i + 1 >= 2162 && i + 1 <= 2166) && !(i + 1 >= 2577 && i + 1 <= 2579));
  const section = recommendedWmiSection({ schema: '4.90', ruleGroups: true, indent: '    ' });
  assert.ok(m.text.includes(section));
  assert.equal(m.text.replace(section, ''), kept.join('\n'));
  // the CLI writes the same bytes and says what it replaced
  const r = run('sysmon', 'config', '--merge', file);
  assert.equal(r.code, 0);
  // (same encoding as the input: UTF-8 with its BOM)
  assert.equal(r.out, '\ufeff' + m.text);
  assert.match(r.err, /replaced 2 WmiEvent element\(s\) \(line 2163, 2578\); the result logs every WMI event Sysmon can see/);
});

test('sysmon config --merge keeps a UTF-16LE file UTF-16LE, inserts into a config without WmiEvent, audits JSON', () => {
  const dir = scratchDir('sysmon');
  const src = readFileSync(fixture('include-powershell.xml'), 'utf8');
  const u16 = join(dir, 'u16.xml');
  writeFileSync(u16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(src, 'utf16le')]));
  const out = join(dir, 'merged.xml');
  assert.equal(run('sysmon', 'config', '--merge', u16, '-o', out).code, 0);
  const bytes = readFileSync(out);
  assert.deepEqual([...bytes.subarray(0, 2)], [0xff, 0xfe]);
  const merged = decodeConfig(bytes).text;
  assert.doesNotMatch(merged, /Destination/);
  assert.equal(auditSysmonFile(out).verdict, 'logs-all');
  // no WmiEvent yet: the section goes just before </EventFiltering>, the rest unchanged
  const noWmi = readFileSync(fixture('no-wmi.xml'), 'utf8');
  const m = mergeWmiSection(noWmi);
  assert.deepEqual(m.removed, []);
  assert.ok(m.text.startsWith(noWmi.slice(0, noWmi.indexOf('  </EventFiltering>'))));
  assert.ok(m.text.endsWith(noWmi.slice(noWmi.indexOf('  </EventFiltering>'))));
  assert.equal(auditSysmonConfig(m.config, 'x').verdict, 'logs-all');
  const j = run('sysmon', 'audit', '-f', 'json', fixture('exclude-scnotification.xml'));
  assert.equal(j.code, 0);
  const parsed = JSON.parse(j.out) as SysmonAudit;
  assert.equal(parsed.verdict, 'partial');
  assert.equal(parsed.matrix.length, auditSysmonFile(fixture('exclude-scnotification.xml')).matrix.length);
});

test('review cases: a dropped shaped name makes the verdict partial; fields named like object members; many rules stay fast', { timeout: 60_000 }, async () => {
  // exclude Name contains Foo: every base row is logged, but an attacker's "FooUpdate" is not, so not "logs-all"
  const a = auditSysmonConfig(parseSysmonConfig('<Sysmon schemaversion="4.90"><EventFiltering><RuleGroup groupRelation="or"><WmiEvent onmatch="exclude"><Name condition="contains">Foo</Name></WmiEvent></RuleGroup></EventFiltering></Sysmon>'), 'x');
  assert.ok(base(a).every((m) => m.logged));
  assert.equal(a.verdict, 'partial');
  // no attacker Modified/Deleted row is dropped here: no claim that deletions go unlogged
  assert.ok(!a.statements.some((s) => /deletes or modifies/.test(s)));
  for (const f of ['constructor', '__proto__', 'toString', 'hasOwnProperty']) {
    const c = parseSysmonConfig(`<Sysmon schemaversion="4.90"><EventFiltering><RuleGroup groupRelation="and"><WmiEvent onmatch="exclude"><${f} condition="is not">x</${f}><${f} condition="contains">y</${f}></WmiEvent></RuleGroup></EventFiltering></Sysmon>`);
    assert.equal(auditSysmonConfig(c, f).verdict, 'logs-all', f);
  }
  // 20 000 same-field rules in an AND group: linear (it took minutes when each rule copied the list; the test's
  // timeout catches a regression, after a timer tick so a synchronous overrun is reported)
  const many = Array.from({ length: 20000 }, (_, i) => `<Name condition="is">n${i}</Name>`).join('');
  const big = auditSysmonConfig(parseSysmonConfig(`<Sysmon schemaversion="4.90"><EventFiltering><RuleGroup groupRelation="and"><WmiEvent onmatch="exclude">${many}</WmiEvent></RuleGroup></EventFiltering></Sysmon>`), 'big');
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(big.rules[0]!.rules.length, 20000);
});

test('merge review cases: a WmiEvent in a mixed RuleGroup becomes a bare WmiEvent there (CRLF kept); a bad onmatch is replaced too', () => {
  const mixed = '<Sysmon schemaversion="4.90">\r\n  <EventFiltering>\r\n    <RuleGroup groupRelation="or">\r\n      <ProcessCreate onmatch="include" />\r\n      <WmiEvent onmatch="include">\r\n        <Operation>Created</Operation>\r\n      </WmiEvent>\r\n    </RuleGroup>\r\n  </EventFiltering>\r\n</Sysmon>\r\n';
  const m = mergeWmiSection(mixed);
  assert.doesNotMatch(m.text, /<RuleGroup name=""/);
  assert.match(m.text, /\r\n {6}<WmiEvent onmatch="exclude" \/>\r\n {4}<\/RuleGroup>/);
  assert.ok(m.text.startsWith(mixed.slice(0, mixed.indexOf('      <WmiEvent'))));
  assert.equal(auditSysmonConfig(m.config, 'm').verdict, 'logs-all');
  const bad = mergeWmiSection('<Sysmon schemaversion="4.90"><EventFiltering><RuleGroup groupRelation="or"><WmiEvent onmatch="inclde"><Operation>Created</Operation></WmiEvent></RuleGroup></EventFiltering></Sysmon>');
  assert.deepEqual(bad.removed, [1]);
  assert.equal(bad.config.wmiElements.length, 1);
  assert.doesNotMatch(bad.text, /inclde/);
  assert.equal(run('sysmon', 'config', '--schema', '4.90', '--merge', fixture('no-wmi.xml')).code, 2);
});

test('sysmon config --schema: only versions that have WmiEvent and that wmiscope knows; not with --merge (usage errors, exit 2)', () => {
  assert.equal(schemaProblem('4.91'), null);
  assert.equal(schemaProblem('3.40'), null);
  assert.equal(schemaProblem('4.2'), null);
  assert.match(schemaProblem('9.99')!, /newer than any wmiscope knows \(3\.40 to 4\.91\)/);
  assert.match(schemaProblem('3.30')!, /older than 3\.40 \(Sysmon 6\.10\), the first with WmiEvent/);
  assert.match(schemaProblem('latest')!, /not a schema version number/);
  assert.throws(() => recommendedConfig('9.99'), SysmonConfigError);
  for (const [args, first] of [
    [['--schema', '9.99'], /^error: option '--schema <version>' argument '9\.99' is invalid\. schema 9\.99 is newer than any wmiscope knows/],
    [['--schema', '1.0', '--full'], /older than 3\.40/],
    [['--schema', '4.22', '--merge', fixture('no-wmi.xml')], /^error: option '--schema <version>' cannot be used with option '--merge <config>'$/],
  ] as const) {
    const r = run('sysmon', 'config', ...args);
    assert.equal(r.code, 2, args.join(' '));
    assert.equal(r.out, '');
    const lines = r.err.trim().split('\n');
    assert.match(lines[0]!, first);
    assert.deepEqual(lines.slice(1), ['(run wmiscope sysmon config --help for usage)']);
  }
  assert.match(run('sysmon', 'config', '--schema', '4.91', '--full').out, /<Sysmon schemaversion="4\.91">/);
});

test('a configuration that is not XML: the error names the file and says "not XML" (audit and merge)', () => {
  const dir = scratchDir('sysmon');
  const files = { 'notes.xml': 'hello, this is not a configuration\n', 'export.xml': '\ufeff  {"Sysmon": {"schemaversion": "4.90"}}', 'blank.xml': ' \n\t\n' };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const notes = join(dir, 'notes.xml');
  assert.throws(() => parseSysmonConfig(files['notes.xml']), (e: unknown) => e instanceof SysmonConfigError && e.line === 1 && e.column === 1);
  const audit = run('sysmon', 'audit', notes);
  assert.equal(audit.code, 2);
  assert.equal(audit.err, `wmiscope: error: ${notes}: line 1, column 1: not XML: the text starts with 'hello, this is not a con', not with '<'\n`);
  const merge = run('sysmon', 'config', '--merge', notes);
  assert.equal(merge.code, 2);
  assert.equal(merge.out, '');
  assert.equal(merge.err, audit.err, 'the merge names the file too');
  assert.match(run('sysmon', 'config', '--merge', join(dir, 'export.xml')).err, /export\.xml: line 1, column 3: not XML: the text starts with '\{"Sysmon"/);
  assert.match(run('sysmon', 'audit', join(dir, 'blank.xml')).err, /blank\.xml: not XML: the file is empty or only blanks\n$/);
  // malformed XML (it is XML, broken) still gives the parser's place and words, with the file
  assert.match(run('sysmon', 'config', '--merge', fixture('malformed.xml')).err, /malformed\.xml: line 6, column 5: Expected closing tag 'WmiEvent'/);
});

test('sysmon config --merge on configurations that already log every WMI event: the file unchanged, byte for byte, and said so', { skip: noConfigs }, () => {
  for (const [name, line] of [['SwiftOnSecurity/sysmonconfig-export.xml', 880], ['sysmon-modular/sysmonconfig-excludes-only.xml', 779], ['sysmon-modular/sysmonconfig-research.xml', 66]] as const) {
    const file = sample(name);
    const r = spawnSync(process.execPath, [cli, 'sysmon', 'config', '--merge', file], { maxBuffer: 64 << 20 });
    assert.equal(r.status, 0, name);
    assert.ok(Buffer.compare(r.stdout, readFileSync(file)) === 0, `${name}: output differs from the file`);
    assert.equal(r.stderr.toString(), `wmiscope: ${file}: already logs every WMI event Sysmon can see (WmiEvent at line ${line}); nothing changed\n`);
  }
  // SwiftOnSecurity's own note inside its WmiEvent is still there
  assert.match(readFileSync(sample('SwiftOnSecurity/sysmonconfig-export.xml'), 'utf8'), /<!--NOTE: Using exclude with no rules means everything will be logged-->/);
});

test('sysmon config --merge follows the file\'s indentation: tabs in a tab-indented file, its own step in a space-indented one', { skip: noConfigs }, () => {
  const dir = scratchDir('sysmon');
  // SwiftOnSecurity's file (tabs) with one exclude rule added to its WmiEvent: partial, so the merge replaces it
  const swift = readFileSync(sample('SwiftOnSecurity/sysmonconfig-export.xml'), 'utf8');
  const withRule = swift.replace('<!--NOTE: Using exclude with no rules means everything will be logged-->', '<Consumer condition="contains">SCNotification</Consumer>');
  assert.notEqual(withRule, swift);
  const file = join(dir, 'swift-partial.xml');
  writeFileSync(file, withRule);
  const r = run('sysmon', 'config', '--merge', file);
  assert.equal(r.code, 0);
  assert.match(r.err, /replaced 1 WmiEvent element\(s\) \(line 880\); the result logs every WMI event Sysmon can see/);
  assert.ok(r.out.includes('\t<RuleGroup name="" groupRelation="or">\n\t\t<WmiEvent onmatch="exclude" />\n\t</RuleGroup>\n'), 'tab-indented like the file');
  assert.doesNotMatch(r.out, /\t  <WmiEvent/);
  // every other line is unchanged, the file's other comments included
  const section = recommendedWmiSection({ schema: '4.50', ruleGroups: true, indent: '\t', step: '\t' });
  const cut = withRule.split('\n');
  assert.equal(r.out.replace(section, ''), [...cut.slice(0, 878), ...cut.slice(883)].join('\n'));
  // a file indented by 4 spaces gets 4-space steps
  const four = '<Sysmon schemaversion="4.90">\n    <EventFiltering>\n        <RuleGroup name="" groupRelation="or">\n            <WmiEvent onmatch="include">\n                <Operation condition="is">Created</Operation>\n            </WmiEvent>\n        </RuleGroup>\n    </EventFiltering>\n</Sysmon>\n';
  const m = mergeWmiSection(four);
  assert.ok(m.text.includes('        <RuleGroup name="" groupRelation="or">\n            <WmiEvent onmatch="exclude" />\n        </RuleGroup>\n'), m.text);
});
