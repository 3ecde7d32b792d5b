/**
 * Allowlist files (YAML): loading, errors with file:line:column, exact matching, and the entry
 * `allowlistEntryFor` writes for a finding ("mark known-good") matching that finding and nothing else.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { AllowlistError, allowlistEntryFor, DEFAULT_ALLOWLIST, loadAllowlist } from '../src/analysis/allowlist.js';
import { evaluate } from '../src/analysis/rules/index.js';
import type { JoinedSubscription, SubscriptionObject } from '../src/model/types.js';
import {
  atomicActiveScript,
  atomicCommandLine,
  binding,
  botnet,
  consumer,
  input,
  metasploit,
  poshspy,
  scm,
  totallyLegitCustomClass,
  totallyLegitScript,
  wannamine,
  wmighost,
} from './support/rule-fixtures.js';

const dir = mkdtempSync(path.join(tmpdir(), 'wmiscope-allowlist-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const file = (text: string, name = `list${++n}.yaml`): string => {
  const p = path.join(dir, name);
  writeFileSync(p, text);
  return p;
};

const errorOf = (fn: () => unknown): AllowlistError => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof AllowlistError, String(e));
    return e;
  }
  assert.fail('no error');
};

describe('allowlist files', () => {
  it('loads a valid file and allow-lists exactly the subscription it describes', () => {
    const p = file(
      [
        'name: lab-baseline',
        'entries:',
        '  - id: atomic notepad',
        '    note: our purple-team test',
        '    namespace: root/subscription',
        '    filter:',
        '      Name: AtomicRedTeam-WMIPersistence-CommandLineEventConsumer-Example',
        "      Query: SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System' AND TargetInstance.SystemUpTime >= 240 AND TargetInstance.SystemUpTime < 325",
        '      EventNamespace: root\\CimV2',
        '    consumer:',
        '      class: CommandLineEventConsumer',
        '      Name: AtomicRedTeam-WMIPersistence-CommandLineEventConsumer-Example',
        '      CommandLineTemplate: C:\\Windows\\System32\\notepad.exe',
        '',
      ].join('\n'),
    );
    const list = loadAllowlist(p);
    assert.equal(list.name, 'lab-baseline');
    assert.equal(list.entries.length, 1);
    assert.deepEqual(list.entries[0]!.consumer, {
      className: 'CommandLineEventConsumer',
      values: { Name: 'AtomicRedTeam-WMIPersistence-CommandLineEventConsumer-Example', CommandLineTemplate: 'C:\\Windows\\System32\\notepad.exe' },
    });
    const v = evaluate(atomicCommandLine(), [DEFAULT_ALLOWLIST, list]);
    assert.deepEqual(v.allowlisted, { by: 'lab-baseline', entry: 'atomic notepad' });
    assert.equal(v.severity, 'info');
    assert.deepEqual(v.reasons.map((r) => r.id), ['consumer-exec', 'trigger-uptime']);

    // A different command line under the same names is not covered.
    const changed = atomicCommandLine();
    changed.consumer!.values['CommandLineTemplate'] = 'C:\\Windows\\System32\\notepad.exe C:\\Users\\Public\\x.txt';
    assert.equal(evaluate(changed, [list]).allowlisted, null);
    // Nor is the same command with an ExecutablePath the entry does not name.
    const withPath = atomicCommandLine();
    withPath.consumer!.values['ExecutablePath'] = 'C:\\Users\\Public\\evil.exe';
    assert.equal(evaluate(withPath, [list]).allowlisted, null);
  });

  it('a bare list of entries is a valid file, named after the file; an empty file is an empty list', () => {
    const p = file('- filter:\n    Name: x\n    Query: select * from __TimerEvent\n', 'bare.yml');
    const list = loadAllowlist(p);
    assert.equal(list.name, 'bare.yml');
    assert.equal(list.entries[0]!.id, 'bare.yml#1');
    assert.deepEqual(loadAllowlist(file('# nothing yet\n')).entries, []);
  });

  it('malformed YAML: the error names file, line and column', () => {
    const p = file('entries:\n  - id: a\n    filter: Name: x\n      Query: y\n');
    const e = errorOf(() => loadAllowlist(p));
    assert.equal(e.file, p);
    assert.equal(e.line, 3);
    assert.equal(e.column, 13);
    assert.equal(e.message, `${p}:3:13: YAML error: Nested mappings are not allowed in compact mappings`);

    const junk = file('entries:\n  - id: a\n    filter:\n      Name: "x" y\n');
    assert.match(errorOf(() => loadAllowlist(junk)).message, /:4:17: YAML error: Unexpected scalar/);

    // An unclosed quote is reported where the parser notices it: the end of the file.
    const unclosed = file('entries:\n  - id: a\n    filter: {Name: "unclosed\n');
    assert.match(errorOf(() => loadAllowlist(unclosed)).message, /:4:1: YAML error: Missing closing "quote/);

    const tabs = file('entries:\n  - id: a\n\t filter: x\n');
    assert.equal(errorOf(() => loadAllowlist(tabs)).line, 3);

    const dup = file('entries:\n  - id: a\n    id: b\n    filter: {Name: x}\n');
    const d = errorOf(() => loadAllowlist(dup));
    assert.equal(d.line, 3);
  });

  it('well-formed YAML that is not an allowlist: the error points at the offending line', () => {
    const noClass = file('entries:\n  - id: a\n    consumer:\n      Name: c\n      CommandLineTemplate: x\n');
    const e1 = errorOf(() => loadAllowlist(noClass));
    assert.equal(e1.line, 4);
    assert.match(e1.message, /:4:7: consumer needs "class"/);

    const unknown = file('entries:\n  - id: a\n    filter:\n      Name: f\n    consumr:\n      class: X\n');
    const e2 = errorOf(() => loadAllowlist(unknown));
    assert.match(e2.message, /:5:5: unknown key "consumr" in entry/);

    const nested = file('entries:\n  - filter:\n      Name: f\n      Query:\n        - a\n');
    assert.match(errorOf(() => loadAllowlist(nested)).message, /:5:9: property "Query" must be a single value/);

    const empty = file('entries:\n  - id: only a label\n');
    assert.match(errorOf(() => loadAllowlist(empty)).message, /:2:5: an entry needs a "filter" or a "consumer"/);

    const top = file('allow:\n  - x\n');
    assert.match(errorOf(() => loadAllowlist(top)).message, /:1:1: unknown key "allow"/);

  });

  it('a file that cannot be read, or is not text, is an error without a made-up place (never :0:0)', () => {
    const gone = path.join(dir, 'does-not-exist.yaml');
    const missing = errorOf(() => loadAllowlist(gone));
    assert.equal(missing.message, `${gone}: cannot read the allowlist (ENOENT)`);
    assert.deepEqual([missing.line, missing.column], [null, null]);
    const folder = errorOf(() => loadAllowlist(dir));
    assert.equal(folder.message, `${dir}: cannot read the allowlist (EISDIR)`);
    const latin1 = file('entries:\n  - filter:\n      Name: caf\xe9\n', 'latin1.yaml');
    writeFileSync(latin1, Buffer.from('entries:\n  - filter:\n      Name: caf\xe9\n', 'latin1'));
    const notText = errorOf(() => loadAllowlist(latin1));
    assert.equal(notText.message, `${latin1}: not UTF-8 (or UTF-16 with a byte-order mark) text: save it as UTF-8`);
    assert.equal(notText.line, null);
  });

  it('a UTF-16 file with a byte-order mark (as Windows PowerShell writes it) is read; its errors keep their place', () => {
    const yaml = 'entries:\n  - id: lab\n    filter:\n      Name: x\n      Query: select * from __TimerEvent\n';
    const le = path.join(dir, 'utf16le.yaml');
    writeFileSync(le, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(yaml, 'utf16le')]));
    assert.deepEqual(loadAllowlist(le).entries.map((e) => e.id), ['lab']);
    const be = path.join(dir, 'utf16be.yaml');
    writeFileSync(be, Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(yaml, 'utf16le').swap16()]));
    assert.deepEqual(loadAllowlist(be).entries.map((e) => e.id), ['lab']);
    const bad = path.join(dir, 'utf16bad.yaml');
    writeFileSync(bad, Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('entries:\n  - id: a\n    consumr: x\n', 'utf16le')]));
    assert.match(errorOf(() => loadAllowlist(bad)).message, /:3:5: unknown key "consumr" in entry/);
  });

  it('malformed files: every error names a real line and column of the file', () => {
    for (const text of ['entries:\n  -\n', 'entries: 5\n', 'name:\nentries: []\n', 'entries:\n  - id: [x\n', '- consumer:\n    class: CommandLineEventConsumer\n']) {
      const e = errorOf(() => loadAllowlist(file(text)));
      assert.ok(e.line !== null && e.line >= 1 && e.column !== null && e.column >= 1, e.message);
      assert.ok(e.line <= text.split('\n').length, e.message);
    }
  });
});

describe('allowlistEntryFor', () => {
  const fixtures: Array<[string, () => JoinedSubscription]> = [
    ['poshspy', poshspy],
    ['metasploit', metasploit],
    ['wannamine', wannamine],
    ['atomic-cmd', atomicCommandLine],
    ['atomic-vbs', atomicActiveScript],
    ['wmighost', wmighost],
    ['botnet', botnet],
    ['totallylegit-script', totallyLegitScript],
    ['totallylegit-class', totallyLegitCustomClass],
    ['scm', () => scm()],
    ['scm-lookalike', () => scm('SCM Event8 Log Filter', 'SCM Event8 Log Consumer')],
    ['orphan-consumer', () => input({ status: 'orphan', consumer: consumer('CommandLineEventConsumer', 'SCM Event Log Consumer', { CommandLineTemplate: 'cmd.exe' }) })],
    ['binding-only', () => input({ status: 'orphan', binding: binding('ghost', 'CommandLineEventConsumer', 'ghost') })],
  ];

  it('round-trips: the entry, loaded from a file, allow-lists that finding and only that one', () => {
    for (const [name, make] of fixtures) {
      const yaml = allowlistEntryFor(make());
      const list = loadAllowlist(file(yaml, `${name}.yaml`));
      assert.equal(list.entries.length, 1, name);
      const v = evaluate(make(), [list]);
      assert.deepEqual(v.allowlisted, { by: `${name}.yaml`, entry: list.entries[0]!.id }, `${name}\n${yaml}`);
      assert.equal(v.severity, 'info', name);
      for (const [other, makeOther] of fixtures) {
        if (other === name) continue;
        assert.equal(evaluate(makeOther(), [list]).allowlisted, null, `${name}'s entry allow-lists ${other}\n${yaml}`);
      }
    }
  });

  it('payload text is compared as written: "7" is not "007", "true" is not "TRUE", "0" is not absent', () => {
    const make = (cmd: string | null) => input({ consumer: consumer('CommandLineEventConsumer', 'c', cmd === null ? {} : { CommandLineTemplate: cmd }) });
    for (const [entryCmd, actual] of [['7', '007'], ['true', 'TRUE'], ['0', null], ['false', null]] as const) {
      const list = loadAllowlist(file(allowlistEntryFor(make(entryCmd))));
      assert.notEqual(evaluate(make(entryCmd), [list]).allowlisted, null, entryCmd);
      assert.equal(evaluate(make(actual), [list]).allowlisted, null, `${entryCmd} must not match ${String(actual)}`);
    }
  });

  it('keeps scripts exactly (CRLF, quotes, control characters) and the WMIGhost script in full', () => {
    const i = atomicActiveScript();
    i.consumer!.values['ScriptText'] = 'a = "x"\r\n\tb = \'y\' # z: w\r\n\u0007end  \r\n';
    const list = loadAllowlist(file(allowlistEntryFor(i)));
    assert.equal(list.entries[0]!.consumer!.values['ScriptText'], i.consumer!.values['ScriptText']);
    assert.notEqual(evaluate(i, [list]).allowlisted, null);
    const j = atomicActiveScript();
    j.consumer!.values['ScriptText'] = String(i.consumer!.values['ScriptText']).replace(/\r\n/g, '\n');
    assert.equal(evaluate(j, [list]).allowlisted, null);

    const g = wmighost();
    const gl = loadAllowlist(file(allowlistEntryFor(g)));
    assert.equal(gl.entries[0]!.consumer!.values['ScriptText'], g.consumer!.values['ScriptText']);
  });

  it('a binding known only from a log (WMI-Activity 5861: a bare filter name, a consumer path) matches its entry', () => {
    // 5861 gives `ESS: BotFilter82` (the filter's name) and `CONSUMER: CommandLineEventConsumer="BotConsumer23"`
    const sysmonBinding = (f: string, c: string): SubscriptionObject => ({
      namespace: 'ROOT\\subscription',
      className: '__FilterToConsumerBinding',
      name: null,
      values: { Filter: f, Consumer: `CommandLineEventConsumer="${c}"` },
    });
    const bot = (cmd = 'c:\\Windows\\System32\\cmd.exe'): JoinedSubscription =>
      input({
        status: 'deleted',
        filter: { namespace: 'ROOT\\subscription', className: '__EventFilter', name: 'BotFilter82', values: { Query: "SELECT * FROM __InstanceModificationEvent WITHIN 10 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System'", EventNamespace: 'ROOT\\cimv2', Name: 'BotFilter82' } },
        consumer: { namespace: 'ROOT\\subscription', className: 'CommandLineEventConsumer', name: 'BotConsumer23', values: { Type: 'Command Line', CommandLineTemplate: cmd, Name: 'BotConsumer23' } },
        binding: sysmonBinding('BotFilter82', 'BotConsumer23'),
      });
    const yaml = allowlistEntryFor(bot());
    const list = loadAllowlist(file(yaml));
    assert.deepEqual(list.entries[0]!.consumer?.className, 'CommandLineEventConsumer');
    assert.notEqual(evaluate(bot(), [list]).allowlisted, null, yaml);
    assert.equal(evaluate(bot('c:\\Windows\\System32\\calc.exe'), [list]).allowlisted, null);
    // a binding-only finding (the filter and consumer events rolled out of the log): names and class from the binding
    const ghost = (): JoinedSubscription => input({ status: 'logged-only', binding: sysmonBinding('Evil Persistence', 'Evil Persistence') });
    const ghostYaml = allowlistEntryFor(ghost());
    const ghostList = loadAllowlist(file(ghostYaml));
    assert.deepEqual(ghostList.entries[0]!.filter, { Name: 'Evil Persistence' });
    assert.deepEqual(ghostList.entries[0]!.consumer, { className: 'CommandLineEventConsumer', values: { Name: 'Evil Persistence' } });
    assert.notEqual(evaluate(ghost(), [ghostList]).allowlisted, null, ghostYaml);
    // the bare name is never taken for the consumer's class
    assert.ok(!evaluate(ghost(), []).reasons.some((r) => r.id === 'consumer-custom-class'));
  });

  it('the entry for the real SCM trio has the values of the default allowlist entry', () => {
    const e = loadAllowlist(file(allowlistEntryFor(scm()))).entries[0]!;
    const d = DEFAULT_ALLOWLIST.entries[0]!;
    assert.equal(e.id, d.id);
    assert.deepEqual(e.filter, d.filter);
    assert.equal(e.consumer!.className, d.consumer!.className);
    // The default entry also states EventID 0 and Category 0 (WMI defaults, which a generated entry omits).
    assert.deepEqual(e.consumer!.values, { Name: 'SCM Event Log Consumer', SourceName: 'Service Control Manager', EventType: 1, NameOfUserSIDProperty: 'sid' });
    assert.equal(e.namespace, 'ROOT\\subscription');
  });
});
