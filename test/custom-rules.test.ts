/**
 * User rules (`--rules FILE|DIR`, src/analysis/custom/): the fixture folder test/fixtures/rules/user/ uses every
 * operator, combinator and effect on the findings of a scan of the committed fixtures (test/fixtures/**); load errors
 * say file:line:column; regular expressions that cannot run in linear time are refused; suppression needs a
 * justification; `rules list` and `rules test` print what they should; the output stays valid against its schema.
 */
import { before, describe, it, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { parse as parseYaml } from 'yaml';
import { scan } from '../src/scan.js';
import { loadRules, OPERATORS, parseRules, RulesError } from '../src/analysis/custom/index.js';
import type { Finding, ScanResult } from '../src/model/types.js';
import { CLI } from './support/child.js';
import { repoRoot, skipReason } from './support/samples.js';
import { scratchDir } from './support/tmp.js';

const FIXTURES = join(repoRoot(), 'test/fixtures');
const RULES_DIR = join(FIXTURES, 'rules/user');
const RULES_FILE = join(RULES_DIR, '10-every-operator.yml');

const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true });
ajv.addFormat('date-time', (s: string) => !Number.isNaN(Date.parse(s)));
const findingSchema = JSON.parse(readFileSync(join(repoRoot(), 'schema/finding.schema.json'), 'utf8')) as { $id: string };
ajv.addSchema(findingSchema);
const validateResult = ajv.getSchema(findingSchema.$id)!;

/** The finding whose id starts with `prefix` (ids are content hashes: stable across runs). */
const byId = (r: ScanResult, prefix: string): Finding => {
  const f = r.findings.find((x) => x.id.startsWith(prefix));
  assert.ok(f, `finding ${prefix} not found`);
  return f;
};
const custom = (f: Finding): string[] => f.reasons.filter((r) => r.id.startsWith('custom:')).map((r) => r.id);
const stable = (r: ScanResult): string => JSON.stringify({ ...r, scannedAt: '' });

describe('the rules fixture on the committed fixtures', () => {
  let plain: ScanResult;
  let ruled: ScanResult;
  before(async () => {
    plain = await scan([FIXTURES], { threads: 1 });
    ruled = await scan([FIXTURES], { threads: 1, rules: [RULES_DIR] });
  });

  it('uses every operator, every combinator, cased, and every effect', () => {
    const doc = parseYaml(readFileSync(RULES_FILE, 'utf8')) as { rules: Array<Record<string, unknown>> };
    const keys = new Set<string>();
    const walk = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(walk);
      else if (v && typeof v === 'object')
        for (const [k, x] of Object.entries(v)) {
          keys.add(k);
          walk(x);
        }
    };
    walk(doc.rules.map((r) => r['match']));
    for (const op of [...OPERATORS, 'all', 'any', 'not', 'cased']) assert.ok(keys.has(op), `the fixture does not use ${op}`);
    for (const effect of ['reason', 'severity', 'suppress']) assert.ok(doc.rules.some((r) => effect in r), `no rule with ${effect}`);
    assert.ok(doc.rules.some((r) => (r['severity'] as Record<string, unknown> | undefined)?.['min']));
    assert.ok(doc.rules.some((r) => (r['severity'] as Record<string, unknown> | undefined)?.['max']));
  });

  it('a scored reason with an evidence template quoting the matched values (regex, equals case-insensitively, contains on who)', () => {
    const f = byId(ruled, 'c02b7aa7');
    assert.deepEqual(custom(f), ['custom:encoded-powershell-consumer']);
    const r = f.reasons.find((x) => x.id === 'custom:encoded-powershell-consumer')!;
    assert.equal(r.title, 'PowerShell runs an encoded command');
    assert.deepEqual(r.attack, ['T1546.003', 'T1059.001']);
    assert.equal(r.score, 20);
    assert.equal(r.evidence, 'runs powershell -Sta -Nop -Window Hidden -EncodedCommand <blah> as shire\\pgustavo, S-1-5-21-791464340-1796667228-2788435825-1112');
    assert.equal(f.severity, 'critical');
    assert.equal(f.score, 100);
  });

  it('startswith, glob, endswith, not + in over seenBy, and fleet prevalence (hosts, share, fleetHosts, rare)', () => {
    const f = byId(ruled, '48f03479');
    assert.deepEqual(custom(f), ['custom:bot-in-custom-namespace']);
    const r = f.reasons.find((x) => x.id === 'custom:bot-in-custom-namespace')!;
    // no evidence template: the values that passed, test by test
    assert.match(r.evidence, /^namespace startswith "ROOT\\cimv2\\": "ROOT\\cimv2\\totallylegit"; consumer\.name glob "BotConsumer\?\?": "BotConsumer23"; /);
    assert.match(r.evidence, /not: seenBy in \["sysmon", "wmi-activity"\]: the value is "collector"/);
    assert.match(r.evidence, /fleet\.hosts lte 1: 1; fleet\.share lt 0\.2: 0\.111\d*; fleet\.fleetHosts gt 5: 9; fleet\.rare equals false: false$/);
    assert.equal(r.title, 'Bot consumer in a namespace of its own, rare in the fleet');
    assert.equal(r.score, 5);
  });

  it('severity min raises a finding without changing its score; the bound is recorded', () => {
    const was = byId(plain, '4cdb7c90');
    const f = byId(ruled, '4cdb7c90');
    assert.equal(was.severity, 'high');
    assert.equal(f.severity, 'critical');
    assert.equal(f.score, was.score);
    assert.deepEqual(f.severityBounds, [{ rule: 'custom:velociraptor-only-bot', min: 'critical' }]);
    assert.match(f.reasons.at(-1)!.evidence, /host glob "\*\(C\.\*\)": "IEWIN7 \(C\.1e0f3a5b7c9d2e4f\)"; seenBy equals "velociraptor": "velociraptor"; missedBy equals "sysmon": "sysmon"; binding\.consumer equals "BotConsumer23": "BotConsumer23"; binding\.filter equals "botfilter82": "BotFilter82"; severity at least critical$/);
    // the fleet summary follows: that stack's worst severity is now critical
    const st = ruled.fleet!.stacks.find((s) => s.key === f.stack!.key)!;
    assert.equal(st.severity, 'critical');
  });

  it('suppress: score 0, info, reported with the rule, its file and the justification; not failing --fail-on', () => {
    const was = byId(plain, '0a95eef3');
    const f = byId(ruled, '0a95eef3');
    assert.equal(was.severity, 'critical');
    assert.equal(f.severity, 'info');
    assert.equal(f.score, 0);
    assert.deepEqual(f.allowlisted, { by: RULES_FILE, entry: 'custom:lab-emulation-scripts', justification: 'OTRF Mordor lab dataset (APT29 emulation), not a production host' });
    const r = f.reasons.find((x) => x.id === 'custom:lab-emulation-scripts')!;
    assert.match(r.evidence, /runs\.count gte 2: 2; reasons equals "script-process-start": "script-process-start"; creator\.sid startswith "S-1-5-21-2019960434-": "S-1-5-21-2019960434-1190728558-3003945901-1104"; firstSeen gte "2020-09-01": "2020-09-02T01:43:49\.0000000Z"; lastSeen lt "2020-09-03T00:00:00Z": "2020-09-02T01:44:40\.0990000Z"; suppressed: OTRF/);
    // the built-in reasons stay, as for an allow-listed finding
    assert.deepEqual(
      f.reasons.filter((x) => !x.id.startsWith('custom:')).map((x) => x.id),
      was.reasons.map((x) => x.id),
    );
    const host = ruled.fleet!.perHost.find((h) => h.host === 'WORKSTATION6.theshire.local')!;
    assert.deepEqual({ worst: host.worst, allowlisted: host.allowlisted }, { worst: null, allowlisted: 1 });
  });

  it('severity max over any (cased equals | firstSeen lt); cased: a lower-case operand does not match; exists true/false', () => {
    for (const id of ['8bdf353e', '37c775b0']) {
      const f = byId(ruled, id);
      assert.equal(byId(plain, id).severity, 'critical');
      assert.equal(f.severity, 'medium', id);
      assert.equal(f.score, 100);
      assert.deepEqual(f.severityBounds, [{ rule: 'custom:jscript-probe', max: 'medium' }]);
    }
    assert.match(byId(ruled, '8bdf353e').reasons.find((r) => r.id === 'custom:jscript-probe')!.evidence, /consumer\.ScriptingEngine equals "JScript" \(cased\): "JScript"/);
    assert.match(byId(ruled, '37c775b0').reasons.find((r) => r.id === 'custom:jscript-probe')!.evidence, /firstSeen lt "2019-04-04": "2019-04-03T18:11:54\.1780000Z"/);
    assert.ok(!ruled.findings.some((f) => custom(f).includes('custom:cased-never-matches')));
    assert.deepEqual(
      ruled.findings.filter((f) => custom(f).includes('custom:filterless-orphan')).map((f) => f.id.slice(0, 8)),
      ['8bdf353e'],
    );
  });

  it('a rule of the next file sees the reasons the earlier rules fired (tuning)', () => {
    const hit = ruled.findings.filter((f) => custom(f).includes('custom:probe-with-download')).map((f) => f.id.slice(0, 8)).sort();
    assert.deepEqual(hit, ['37c775b0', '8bdf353e']);
    assert.deepEqual(custom(byId(ruled, '8bdf353e')), ['custom:jscript-probe', 'custom:filterless-orphan', 'custom:probe-with-download']);
  });

  it('CSV: the allowlist column names the rule, its file and the justification', async () => {
    const { formatReport } = await import('../src/report/index.js');
    const csv = formatReport(ruled, 'csv', {});
    assert.ok(csv.includes(`${RULES_FILE}: custom:lab-emulation-scripts (suppressed: OTRF Mordor lab dataset (APT29 emulation), not a production host)`), csv.split('\n').find((l) => l.includes('WSUS')));
  });

  it('findings no rule matched are exactly as without rules; the output is valid against the schema', () => {
    const touched = new Set(ruled.findings.filter((f) => custom(f).length).map((f) => f.id));
    assert.equal(touched.size, 6);
    for (const f of plain.findings) if (!touched.has(f.id)) assert.deepEqual(byId(ruled, f.id), f);
    assert.ok(validateResult(JSON.parse(JSON.stringify(ruled))), JSON.stringify(validateResult.errors?.slice(0, 3)));
    // no rules: the same result as a scan without the option
    assert.ok(!stable(plain).includes('custom:'));
  });
});

describe('load errors: file:line:column', () => {
  const problems = (text: string, file = 'r.yml'): string[] => {
    try {
      parseRules(text, file);
    } catch (e) {
      assert.ok(e instanceof RulesError, String(e));
      return e.message.split('\n');
    }
    assert.fail('loaded');
  };
  const rule = (match: string, effect = 'reason: {score: 1}'): string => `rules:\n  - id: r1\n    title: t\n    match:\n${match}\n    ${effect}\n`;

  it('an unknown field, at the field value', () => {
    assert.deepEqual(problems(rule('      field: consumr.class\n      equals: x')), ['r.yml:5:14: unknown field "consumr.class": a field is one of README "Your own rules": host, namespace, status, filter.name, consumer.class, seenBy, fleet.hosts, …, or filter.<Property>, consumer.<Property>, binding.<Property>']);
  });
  it('two operators in one test, no operator, an unknown key', () => {
    assert.deepEqual(problems(rule('      field: host\n      equals: x\n      contains: y')), ['r.yml:5:7: a test has exactly one operator (found equals, contains): use all/any to combine tests']);
    assert.deepEqual(problems(rule('      all:\n        - field: host')), ['r.yml:6:11: a test needs an operator: equals, contains, startswith, endswith, in, exists, glob, regex, lt, lte, gt, gte']);
    assert.deepEqual(problems(rule('      field: host\n      matches: x')), ['r.yml:5:7: a test needs an operator: equals, contains, startswith, endswith, in, exists, glob, regex, lt, lte, gt, gte', 'r.yml:6:7: unknown key "matches" (operators: equals, contains, startswith, endswith, in, exists, glob, regex, lt, lte, gt, gte; also field, cased)']);
  });
  it('a rule without an effect; a bad ATT&CK id; a bad rule id', () => {
    assert.deepEqual(problems('rules:\n  - id: r1\n    title: t\n    match: {field: host, exists: true}\n'), ['r.yml:2:5: a rule needs an effect: reason, severity or suppress']);
    assert.deepEqual(problems(rule('      field: host\n      exists: true').replace('title: t', 'title: t\n    attack: [T1546.3]')), ['r.yml:4:14: "T1546.3" is not an ATT&CK technique id (T1546 or T1546.003)']);
    assert.deepEqual(problems(rule('      field: host\n      exists: true').replace('id: r1', 'id: "bad id"')), ["r.yml:2:9: rule id \"bad id\": letters, digits, '.', '_' and '-', at most 64, starting with a letter or digit"]);
  });
  it('regular expressions that cannot run in linear time are refused at their place', () => {
    const [backref] = problems(rule("      field: consumer.CommandLineTemplate\n      regex: '(a)\\1'"));
    assert.match(backref!, /^r\.yml:6:14: regex "\(a\)\\1" cannot be evaluated in linear time or is not valid RE2 syntax \(no back-references or look-around\): .*invalid escape/);
    const [look] = problems(rule("      field: consumer.CommandLineTemplate\n      regex: ['ok', '(?=x)y']"));
    assert.match(look!, /^r\.yml:6:21: regex "\(\?=x\)y" cannot be evaluated in linear time/);
  });
  it('a Sigma rule given as a rules file: one line saying where it goes, not one per unknown key', () => {
    const sigma = readFileSync(join(FIXTURES, 'sigma-scan/destination-cmd.yml'), 'utf8');
    assert.deepEqual(problems(sigma), ['r.yml:1:1: this is a Sigma rule (logsource, detection): scan --sigma and rules list --sigma read it; --rules and rules test read wmiscope rules (README "Your own rules")']);
  });
  it('suppression needs a justification that is not blank', () => {
    assert.deepEqual(problems(rule('      field: host\n      exists: true', 'suppress: {}')), ['r.yml:7:15: missing "justification"']);
    assert.deepEqual(problems(rule('      field: host\n      exists: true', 'suppress: {justification: "  "}')), ['r.yml:7:31: the justification must not be blank: say why the finding is benign']);
    assert.deepEqual(problems(rule('      field: host\n      exists: true', 'suppress: known good')), ['r.yml:7:15: "suppress" must be a mapping']);
  });
  it('operators against the field: numbers, times, true/false; severity bounds; placeholders', () => {
    assert.deepEqual(problems(rule('      field: host\n      lt: 3')), ['r.yml:6:11: lt compares numbers and times; host is text']);
    assert.deepEqual(problems(rule('      field: firstSeen\n      gte: yesterday')), ['r.yml:6:12: firstSeen is a time: compare it with an ISO-8601 time with a zone (2024-05-01T12:00:00Z) or a date (2024-05-01)']);
    assert.deepEqual(problems(rule('      field: fleet.rare\n      equals: "yes"')), ['r.yml:6:15: fleet.rare is true or false: compare it with true or false']);
    assert.deepEqual(problems(rule('      field: host\n      exists: true', 'severity: {min: high, max: low}')), ['r.yml:7:15: severity min "high" is worse than max "low": no severity satisfies both']);
    assert.deepEqual(problems(rule('      field: host\n      exists: true', 'reason: {score: 5, evidence: "{consumer.Command Line}{hots}"}')), ['r.yml:7:34: evidence placeholder {hots} names no field (see the field list in README "Your own rules")']);
    assert.deepEqual(problems(rule('      field: host\n      exists: true', 'reason: {score: 500}')), ['r.yml:7:21: "score" must be <= 100']);
  });
  it('the file shape: a mapping with a list of rules', () => {
    assert.deepEqual(problems(''), ['r.yml:1:1: a rules file must be a mapping']);
    assert.deepEqual(problems('rules:\n  - 3\n'), ['r.yml:2:5: item 1 of "rules" must be a mapping']);
    assert.deepEqual(problems('foo: 1'), ['r.yml:1:1: missing "rules"', 'r.yml:1:1: unknown key "foo" (expected rules)']);
    assert.deepEqual(parseRules('rules: []\n', 'r.yml'), []);
  });
  it('YAML errors, duplicate keys and ids, every problem of a file at once', () => {
    assert.deepEqual(problems('rules:\n  - id: [\n'), ['r.yml:3:1: YAML error: Flow sequence in block collection must be sufficiently indented and end with a ]']);
    assert.match(problems('rules:\n  - id: a\n    id: b\n')[0]!, /^r\.yml:3:5: YAML error: Map keys must be unique/);
    const text = `${rule('      field: host\n      exists: true')}${rule('      field: host\n      exists: true').replace('rules:\n', '').replace('id: r1', 'id: R1')}`;
    assert.deepEqual(problems(text), ['r.yml:8:9: rule id "R1" is already used at line 2 (ids are unique, case-insensitively)']);
    assert.deepEqual(problems(rule('      field: nope\n      exists: true', 'severity: {min: worst}')), [
      'r.yml:5:14: unknown field "nope": a field is one of README "Your own rules": host, namespace, status, filter.name, consumer.class, seenBy, fleet.hosts, …, or filter.<Property>, consumer.<Property>, binding.<Property>',
      'r.yml:7:21: "min" must be one of critical, high, medium, low, info',
    ]);
  });
  it('files: a folder loads its *.yml and *.yaml by name; ids are unique across files; unreadable and alias bombs refused', () => {
    const dir = scratchDir('rules');
    writeFileSync(join(dir, 'b.yaml'), rule('      field: host\n      exists: true'));
    writeFileSync(join(dir, 'a.yml'), rule('      field: host\n      exists: true').replace('id: r1', 'id: first'));
    writeFileSync(join(dir, 'notes.txt'), 'not rules');
    assert.deepEqual(loadRules([dir]).map((r) => `${r.reasonId}@${r.at.file.slice(dir.length + 1)}:${r.at.line}:${r.at.column}`), ['custom:first@a.yml:2:5', 'custom:r1@b.yaml:2:5']);
    assert.throws(() => loadRules([dir, join(dir, 'b.yaml')]), (e: unknown) => e instanceof RulesError && e.message === `${join(dir, 'b.yaml')}:2:5: rule id "r1" is already used at ${join(dir, 'b.yaml')}:2:5 (ids are unique across every rules file, case-insensitively)`);
    assert.throws(() => loadRules([join(dir, 'missing.yml')]), (e: unknown) => e instanceof RulesError && e.message === `${join(dir, 'missing.yml')}: no such file or folder`);
    const utf16 = join(dir, 'utf16.yml');
    writeFileSync(utf16, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(rule('      field: host\n      exists: true').replace('id: r1', 'id: wide'), 'utf16le')]));
    assert.deepEqual(loadRules([utf16]).map((r) => r.reasonId), ['custom:wide']);
    const big = join(dir, 'big.yml');
    writeFileSync(big, `# ${'x'.repeat(4 * 1024 * 1024)}\n`);
    assert.throws(() => loadRules([big]), (e: unknown) => e instanceof RulesError && e.message === `${big}: larger than 4 MiB: not read as a rules file`);
    const latin1 = join(dir, 'latin1.yml');
    writeFileSync(latin1, Buffer.from([0x72, 0x75, 0x6c, 0x65, 0x73, 0x3a, 0x20, 0xe9, 0x0a]));
    assert.throws(() => loadRules([latin1]), (e: unknown) => e instanceof RulesError && e.message === `${latin1}: not UTF-8 (or UTF-16 with a byte-order mark) text: save it as UTF-8`);
    const bomb = join(dir, 'bomb.yml');
    writeFileSync(bomb, `a: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nrules: [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n`);
    assert.throws(() => loadRules([bomb]), (e: unknown) => e instanceof RulesError && /^.*bomb\.yml: YAML error: .*alias/i.test(e.message));
  });
});

describe('the CLI', () => {
  const run = (args: string[]) => spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });

  it('scan --rules with a broken file: exit 2 with file:line:column, before any evidence is read', () => {
    const dir = scratchDir('rules-cli');
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, 'rules:\n  - id: x\n    title: t\n    match: {field: host, regex: "(?<=a)b"}\n    reason: {score: 1}\n');
    const r = run(['scan', join(FIXTURES, 'evtx'), '--rules', bad, '-q', '-f', 'json']);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, new RegExp(`^wmiscope: error: ${bad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:33: regex "\\(\\?<=a\\)b" cannot be evaluated in linear time`));
  });

  it('rules test with a broken file: exit 2 before reading evidence', () => {
    const dir = scratchDir('rules-cli');
    const bad = join(dir, 'bad.yml');
    writeFileSync(bad, 'rules:\n  - id: x\n    title: t\n    match: {field: host, exists: true}\n    suppress: {}\n');
    const r = run(['rules', 'test', bad, FIXTURES]);
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.equal(r.stderr, `wmiscope: error: ${bad}:5:15: missing "justification"\n`);
  });

  it('scan --rules: the table says suppressed, --fail-on counts the verdicts after the rules', () => {
    const r = run(['scan', FIXTURES, '--rules', RULES_DIR, '-q', '--fail-on', 'critical', '--width', '160']);
    assert.equal(r.status, 1);
    assert.match(r.stdout, /Findings {2}11: 3 critical, 2 high, 2 medium, 4 info \(3 allow-listed, 1 suppressed by rules\)/);
    assert.match(r.stdout, /WSUS_QQTJ7 → WSUS_RP5ZB .* suppressed /);
  });

  it('rules list: the built-in rules and the loaded ones, table and JSON', () => {
    const t = run(['rules', 'list', '--rules', RULES_DIR]);
    assert.equal(t.status, 0, t.stderr);
    assert.match(t.stdout, /^Built-in rules \(\d+\)\n {2}ID +EFFECT +ATT&CK +TITLE\n {2}consumer-exec +\+25 /);
    // a rule with many ATT&CK ids shows three and a count (JSON has them all), so it does not widen every row
    assert.match(t.stdout, /\n {2}payload-lolbin +\+15 +T1059\.003,T1059\.005,T1218\.005,\+\d+ +Command interpreter/);
    assert.match(t.stdout, new RegExp(`\\n {2}custom:velociraptor-only-bot +severity >= critical +- +Bot subscription only Velociraptor listed +${RULES_FILE.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:47:5\\n`));
    const j = JSON.parse(run(['rules', 'list', '--rules', RULES_DIR, '--format', 'json']).stdout) as { sections: Array<{ source: string; rules: Array<{ id: string; effect: string; details?: Record<string, unknown> }> }> };
    assert.deepEqual(j.sections.map((s) => s.source), ['built-in', 'user']);
    const user = j.sections[1]!.rules;
    assert.equal(user.length, 8);
    assert.deepEqual(user.find((r) => r.id === 'custom:lab-emulation-scripts'), {
      id: 'custom:lab-emulation-scripts',
      title: 'Lab emulation of WMI persistence',
      attack: [],
      effect: 'suppress',
      where: `${RULES_FILE}:64:5`,
      details: { suppress: { justification: 'OTRF Mordor lab dataset (APT29 emulation), not a production host' } },
    });
    assert.deepEqual(JSON.parse(run(['rules', 'list', '--format', 'json']).stdout).sections.map((s: { source: string }) => s.source), ['built-in']);
  });

  it('rules test: per rule, what it matched and why, what it did not, and the verdicts changed', () => {
    const r = run(['rules', 'test', RULES_FILE, FIXTURES, '-q']);
    assert.equal(r.status, 0, r.stderr);
    const block = r.stdout.split('\n\n')[0]!;
    assert.equal(
      block.split('\n').slice(0, 7).join('\n'),
      [
        'custom:encoded-powershell-consumer — Encoded PowerShell in a command-line consumer',
        `  ${RULES_FILE}:5:5 · +20`,
        '  matched 1 of 11 findings:',
        '    c02b7aa7  IT001.shire.com  Evil Persistence → Evil Persistence',
        '      consumer.class equals "commandlineeventconsumer": "CommandLineEventConsumer"',
        '      consumer.CommandLineTemplate regex "\\s-e(nc|ncodedcommand)?\\s": "powershell -Sta -Nop -Window Hidden -EncodedCommand <blah>"',
        '      who contains "pgustavo": "shire\\pgustavo"',
      ].join('\n'),
    );
    assert.match(block, /\n {2}not matched \(10\):\n {4}48f03479 {2}IEWIN7 {2}BotFilter82 → BotConsumer23\n {6}consumer\.CommandLineTemplate regex "\\s-e\(nc\|ncodedcommand\)\?\\s": the value is "c:\\Windows\\System32\\cmd\.exe"\n/);
    assert.match(r.stdout, /\nVerdicts the rules changed \(4\):\n {2}4cdb7c90 {2}IEWIN7 \(C\.1e0f3a5b7c9d2e4f\) {2}BotFilter82 → BotConsumer23: high 65 -> critical 65\n {2}0a95eef3 {2}WORKSTATION6\.theshire\.local {2}WSUS_QQTJ7 → WSUS_RP5ZB: critical 100 -> info 0 \(suppressed\)\n/);
    const j = JSON.parse(run(['rules', 'test', RULES_FILE, FIXTURES, '-q', '--format', 'json']).stdout) as { findings: number; rules: Array<{ id: string; matched: Array<{ finding: string; why: string[] }>; unmatched: unknown[] }> };
    assert.equal(j.findings, 11);
    assert.deepEqual(j.rules.map((x) => [x.id, x.matched.length, x.unmatched.length]), [
      ['custom:encoded-powershell-consumer', 1, 10],
      ['custom:bot-in-custom-namespace', 1, 10],
      ['custom:velociraptor-only-bot', 1, 10],
      ['custom:lab-emulation-scripts', 1, 10],
      ['custom:jscript-probe', 2, 9],
      ['custom:cased-never-matches', 0, 11],
      ['custom:filterless-orphan', 1, 10],
    ]);
  });
});

test('a real repository (shared samples): seenBy cim and a suppression of the SCM subscription by CreatorSID', { skip: skipReason }, async () => {
  const win10 = resolve(repoRoot(), '../shared/samples/cim/dissect-cim-win10');
  const dir = scratchDir('rules-win10');
  const file = join(dir, 'scm.yml');
  writeFileSync(file, 'rules:\n  - id: scm-admins\n    title: SCM subscription created by Administrators\n    match:\n      all:\n        - {field: seenBy, equals: cim}\n        - {field: creator.sid, equals: S-1-5-32-544}\n        - {field: consumer.SourceName, equals: service control manager}\n    reason: {score: 0}\n');
  const r = await scan([win10], { threads: 1, rules: [file] });
  const hit = r.findings.filter((f) => f.reasons.some((x) => x.id === 'custom:scm-admins'));
  assert.equal(hit.length, 1);
  assert.equal(hit[0]!.consumer?.name, 'SCM Event Log Consumer');
  assert.equal(hit[0]!.reasons.at(-1)!.evidence, 'seenBy equals "cim": "cim"; creator.sid equals "S-1-5-32-544": "S-1-5-32-544"; consumer.SourceName equals "service control manager": "Service Control Manager"');
});
