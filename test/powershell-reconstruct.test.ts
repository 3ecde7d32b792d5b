/**
 * Subscriptions rebuilt from PowerShell text (events/powershell.ts): the literal arguments of PowerLurk's
 * `Register-MaliciousWmiEvent`, of `Set-WmiInstance` / `New-CimInstance` hashtables and of 4103 ParameterBinding
 * lines become filter, consumer and binding with their values; anything not literal is "computed at run time".
 *
 * - The real PowerLurk PowerShell log (800/4103/4104) alone: one finding named Evil23 with its payload, its
 *   notepad.exe process-start trigger, the user OFFSEC\admmig (the 4104 record's SID named by the host's 800/4103
 *   records), severity high or worse; with the Sysmon 19/20 log of the same host (a day earlier, named Evil) two findings.
 * - Unit: literal vs computed values, variables, here-strings, ParameterBinding lines, the user of a record.
 * - Hostile: a huge, deeply nested, unterminated script block is read in bounded work and gives bounded output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { scan } from '../src/scan.js';
import { formatReport } from '../src/report/index.js';
import { MAX_TEXT, powershellReconstructed, powershellUser, reconstructFromBindings, reconstructFromScript } from '../src/events/index.js';
import type { EvtxJsonObject } from '../src/evtx/types.js';
import type { Finding } from '../src/model/types.js';
import { runCli } from './support/child.js';
import { evtxSample, skipReason } from './support/samples.js';

const PS_LOG = 'hayabusa-sample-evtx/ID800-4103-4104-WMI registration via PowerLurk.evtx';
const SYSMON_LOG = 'hayabusa-sample-evtx/ID19-20-WMI registration via PowerLurk.evtx';
// PowerShell does not unescape `\\` in a double-quoted string: the script passed two backslashes, and the Sysmon 20
// record of the same host's earlier registration logs the same two
const PAYLOAD = 'cmd.exe /c echo %ProcessId% >> c:\\\\temp\\\\log.txt';
const QUERY = "SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName='notepad.exe'";

const severe = (f: Finding): boolean => f.severity === 'high' || f.severity === 'critical';

test('PowerLurk PowerShell log alone: one finding Evil23, its payload, the notepad.exe trigger, OFFSEC\\admmig, high or worse', { skip: skipReason }, async () => {
  const r = await scan([evtxSample(PS_LOG)], { threads: 1 });
  assert.equal(r.findings.length, 1, r.findings.map((f) => f.summary).join(' | '));
  const f = r.findings[0]!;
  assert.equal(f.host, 'fs01.offsec.lan');
  assert.equal(f.filter?.name, 'Evil23');
  assert.equal(f.consumer?.name, 'Evil23');
  assert.equal(f.consumer?.className, 'CommandLineEventConsumer');
  assert.equal(f.consumer?.values['CommandLineTemplate'], PAYLOAD);
  assert.equal(f.filter?.values['Query'], QUERY);
  assert.match(String(f.filter?.values['Query']), /notepad\.exe/);
  assert.equal(f.filter?.values['EventNamespace'], 'root/cimv2');
  assert.deepEqual([f.binding?.values['Filter'], f.binding?.values['Consumer']], ['__EventFilter.Name="Evil23"', 'CommandLineEventConsumer.Name="Evil23"']);
  assert.deepEqual(f.who, ['OFFSEC\\admmig']);
  assert.ok(severe(f), `${f.severity} ${f.score}`);
  assert.ok(f.reasons.some((x) => x.id === 'trigger-process-start'), f.reasons.map((x) => x.id).join(','));
  // the 4104 record's SID is the account its 800/4103 records name: one creator, not two
  assert.equal(f.reasons.find((x) => x.id === 'creator-user-account')?.evidence, 'created by OFFSEC\\admmig (S-1-5-21-4230534742-2542757381-3142984815-1111)');
  // the 4104 record the names came from: its own user is the record's SID (the name is the host's 800/4103 pairing)
  const rebuilt = f.observations.filter((o) => o.source === 'powershell' && o.meta['eventId'] === 4104);
  assert.deepEqual(rebuilt.map((o) => o.part).sort(), ['binding', 'consumer', 'filter']);
  for (const o of rebuilt) {
    assert.equal(o.user, 'S-1-5-21-4230534742-2542757381-3142984815-1111');
    assert.equal(o.meta['technique'], 'Register-MaliciousWmiEvent (PowerLurk)');
    assert.equal(o.meta['computedAtRunTime'], null);
  }
  // the 800/4103 Set-WmiInstance records (arguments in variables the log does not show) join it, with their user
  const named = f.observations.filter((o) => o.source === 'powershell' && o.meta['eventId'] !== 4104);
  assert.ok(named.length >= 4);
  for (const o of named) assert.equal(o.user, 'OFFSEC\\admmig');
  // first and last seen span them all: the 4104 script block, then the 800/4103 records it caused
  assert.equal(f.firstSeen, '2021-06-10T14:12:46.0584295Z');
  assert.equal(f.lastSeen, '2021-06-10T14:12:46.1986200Z');
  assert.equal(f.lastSeen, f.observations.map((o) => o.time!).sort().at(-1));
});

test('PowerLurk PowerShell log with the Sysmon 19/20 log of the same host: two subscriptions, Evil23 and Evil, a day apart', { skip: skipReason }, async () => {
  const r = await scan([evtxSample(PS_LOG), evtxSample(SYSMON_LOG)], { threads: 1 });
  const names = r.findings.map((f) => f.filter?.name ?? f.consumer?.name).sort();
  assert.deepEqual(names, ['Evil', 'Evil23']);
  const evil = r.findings.find((f) => f.consumer?.name === 'Evil')!;
  const evil23 = r.findings.find((f) => f.consumer?.name === 'Evil23')!;
  assert.ok(evil.firstSeen!.startsWith('2021-06-09') && evil23.firstSeen!.startsWith('2021-06-10'));
  // the same payload and query as Sysmon logged for the earlier one: the rebuilt values are the real values
  assert.equal(evil23.consumer?.values['CommandLineTemplate'], evil.consumer?.values['CommandLineTemplate']);
  assert.equal(evil23.filter?.values['Query'], evil.filter?.values['Query']);
  assert.ok(!evil.observations.some((o) => o.source === 'powershell'));
  assert.ok(r.findings.every(severe));
});

test('the CLI fails the default --fail-on high on the PowerLurk PowerShell log alone', { skip: skipReason }, async () => {
  const run = await runCli(['scan', '-f', 'json', evtxSample(PS_LOG)]);
  assert.equal(run.code, 1, run.stderr);
  assert.match(run.stdout, /"name": "Evil23"/);
});

test('PowerLurk PowerShell log: --details and the timeline say how each PowerShell record made its object (technique, computed at run time)', { skip: skipReason }, async () => {
  const r = await scan([evtxSample(PS_LOG)], { threads: 1 });
  const details = formatReport(r, 'table', { details: true, width: 200, color: false });
  // the 4104 script block rebuilt every value; the 800 Set-WmiInstance line passed them in variables
  assert.match(details, /powershell created consumer "Evil23" by S-1-5-21-4230534742-2542757381-3142984815-1111 {2}\(Register-MaliciousWmiEvent \(PowerLurk\)\)/);
  assert.match(details, /powershell created consumer by OFFSEC\\admmig {2}\(Set-WmiInstance; computed at run time: \(all properties\)\)/);
  assert.match(details, /^ {2}Payload {4}: cmd\.exe \/c echo %ProcessId% >> c:\\\\temp\\\\log\.txt$/m);
  assert.doesNotMatch(details, /^ {2}Runs /m);
  const timeline = formatReport(r, 'timeline').trim().split('\n').map((l) => JSON.parse(l) as { message: string });
  assert.ok(timeline.some((e) => e.message.includes('by OFFSEC\\admmig (PowerShell Set-WmiInstance; computed at run time: (all properties))')), timeline.map((e) => e.message).join('\n'));
  assert.ok(timeline.some((e) => e.message.includes('(PowerShell Register-MaliciousWmiEvent (PowerLurk))')));
});

// ---- unit ------------------------------------------------------------------------------------------------------

test('Register-MaliciousWmiEvent: literal arguments become values; a variable without a literal assignment is computed at run time', () => {
  const lit = reconstructFromScript("Register-MaliciousWmiEvent -EventName 'Up' -PermanentScript 'x = 1' -ScriptingEngine VBScript -Trigger Interval -IntervalPeriod 60");
  const c = lit.find((o) => o.part === 'consumer')!;
  assert.equal(c.className, 'ActiveScriptEventConsumer');
  assert.deepEqual(c.properties, { ScriptText: 'x = 1', ScriptingEngine: 'VBScript', Name: 'Up' });
  assert.equal(lit.find((o) => o.part === 'filter')!.properties['Query'], "Select * from __TimerEvent where TimerId = 'WindowsTimer'");

  const computed = reconstructFromScript('Register-MaliciousWmiEvent -EventName $n -PermanentCommand "calc.exe $env:TEMP" -Trigger ProcessStart -ProcessName $p');
  const f = computed.find((o) => o.part === 'filter')!;
  const k = computed.find((o) => o.part === 'consumer')!;
  assert.equal(f.name, null);
  assert.deepEqual(f.computed.sort(), ['Name', 'Query']);
  assert.deepEqual(k.computed.sort(), ['CommandLineTemplate', 'Name']);
  assert.deepEqual(k.properties, {});
  assert.deepEqual(computed.find((o) => o.part === 'binding')!.computed, ['Filter', 'Consumer']);

  // a variable assigned a literal earlier in the block is its value; -LocalScriptBlock is temporary (nothing)
  const v = reconstructFromScript("$n = 'Lurk'\n$cmd = \"cmd /c `\"x`\"\"\nRegister-MaliciousWmiEvent -EventName $n -PermanentCommand $cmd -Trigger UserLogon -UserName any");
  assert.equal(v.find((o) => o.part === 'consumer')!.properties['CommandLineTemplate'], 'cmd /c "x"');
  assert.equal(v.find((o) => o.part === 'filter')!.name, 'Lurk');
  assert.deepEqual(reconstructFromScript('Register-MaliciousWmiEvent -EventName a -LocalScriptBlock {calc} -Trigger InsertUSB'), []);
  // the function's own definition is no call
  assert.deepEqual(reconstructFromScript('function Register-MaliciousWmiEvent {\n param($EventName)\n}'), []);
});

test('Set-WmiInstance / New-CimInstance: inline and variable hashtables, here-strings, expressions computed', () => {
  const script = [
    "$FilterArgs = @{ Name = 'F1'; EventNamespace = 'root\\cimv2'; QueryLanguage = 'WQL'",
    "  Query = \"SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System'\" }",
    "$f = Set-WmiInstance -Namespace root\\subscription -Class __EventFilter -Arguments $FilterArgs",
    "$s = @'",
    'Set o = CreateObject("WScript.Shell")',
    "'@",
    "New-CimInstance -Namespace root/subscription -ClassName ActiveScriptEventConsumer -Property @{Name='C1'; ScriptingEngine='VBScript'; ScriptText=$s; KillTimeout=(Get-Random)}",
    'Set-WmiInstance -Class __FilterToConsumerBinding -Namespace root/subscription -Arguments @{Filter=$f; Consumer=$c}',
  ].join('\r\n');
  const out = reconstructFromScript(script);
  const f = out.find((o) => o.part === 'filter')!;
  assert.deepEqual([f.name, f.namespace, f.properties['EventNamespace'], f.computed], ['F1', 'ROOT\\subscription', 'root\\cimv2', []]);
  assert.match(f.properties['Query']!, /Win32_PerfFormattedData_PerfOS_System/);
  const c = out.find((o) => o.part === 'consumer')!;
  assert.deepEqual([c.technique, c.className, c.name, c.properties['ScriptText'], c.computed], ['New-CimInstance', 'ActiveScriptEventConsumer', 'C1', 'Set o = CreateObject("WScript.Shell")', ['KillTimeout']]);
  const b = out.find((o) => o.part === 'binding')!;
  assert.deepEqual([b.properties, b.computed], [{}, ['Filter', 'Consumer']]);
  // arguments in a variable the text never assigns: nothing but the class and namespace
  const [x] = reconstructFromScript('$Consumer = Set-WmiInstance -Namespace root/subscription -Class CommandLineEventConsumer -Arguments $CommandConsumerArgs @Arguments');
  assert.deepEqual([x!.name, x!.properties, x!.computed], [null, {}, ['(all properties)']]);
  // a double-quoted string that expands is computed; PowerShell keeps `\\` as typed
  const [y] = reconstructFromScript('Set-WmiInstance -Namespace root/subscription -Class CommandLineEventConsumer -Arguments @{Name="N$i"; CommandLineTemplate="c:\\\\a.exe"}');
  assert.deepEqual([y!.name, y!.properties, y!.computed], [null, { CommandLineTemplate: 'c:\\\\a.exe' }, ['Name']]);
});

test('4103 ParameterBinding lines of Register-MaliciousWmiEvent are bound values: literal', () => {
  const payload = [
    'CommandInvocation(Register-MaliciousWmiEvent): "Register-MaliciousWmiEvent"',
    'ParameterBinding(Register-MaliciousWmiEvent): name="EventName"; value="Bound"',
    'ParameterBinding(Register-MaliciousWmiEvent): name="PermanentCommand"; value="powershell -nop -c 1"',
    'ParameterBinding(Register-MaliciousWmiEvent): name="Trigger"; value="ProcessStart"',
    'ParameterBinding(Register-MaliciousWmiEvent): name="ProcessName"; value="calc.exe"',
  ].join('\r\n');
  const out = reconstructFromBindings(payload);
  assert.equal(out.find((o) => o.part === 'consumer')!.properties['CommandLineTemplate'], 'powershell -nop -c 1');
  assert.equal(out.find((o) => o.part === 'filter')!.properties['Query'], "SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName='calc.exe'");
});

test('the user of a PowerShell record: 800 UserId, 4103 User =, else the security SID', () => {
  const rec = (id: number, data: EvtxJsonObject, sid?: string): EvtxJsonObject => ({
    Event: { System: { EventID: id, ...(sid ? { Security: { '#attributes': { UserID: sid } } } : {}) }, EventData: data },
  });
  assert.deepEqual(powershellUser(rec(800, { Data: { '#text': ['', '\tUserId=DOM\\u1\r\n\tHostName=ConsoleHost\r\n'] } })), { user: 'DOM\\u1', sid: null });
  assert.deepEqual(powershellUser(rec(4103, { ContextInfo: '        User = DOM\\u2\r\n        Connected User = \r\n' }, 'S-1-5-21-1')), { user: 'DOM\\u2', sid: 'S-1-5-21-1' });
  assert.deepEqual(powershellUser(rec(4104, { ScriptBlockText: 'x' }, 'S-1-5-18')), { user: 'S-1-5-18', sid: 'S-1-5-18' });
  assert.deepEqual(powershellUser(rec(4104, { ScriptBlockText: 'x' })), { user: null, sid: null });
  // a record's EventData strings, once each object: the 800 record repeats the command in two fields
  const cmd = "Set-WmiInstance -Namespace root/subscription -Class __EventFilter -Arguments @{Name='F'; Query='SELECT * FROM __TimerEvent'}";
  assert.equal(powershellReconstructed(rec(800, { Data: { '#text': [cmd, `\tCommandLine=${cmd}`] } })).length, 1);
});

test('hostile: a huge, deeply nested, unterminated script block is read in bounded work with bounded output', () => {
  const nested = 'Set-WmiInstance -Class __EventFilter -Arguments @{Name=' + '@{('.repeat(200_000) + "'";
  const many = "$v = 'x'\n".repeat(5_000) + "Set-WmiInstance -Class CommandLineEventConsumer -Arguments @{Name='a'}\n".repeat(10_000);
  const parens = "Register-MaliciousWmiEvent -EventName a (\n".repeat(20_000);
  const spaces = '\tUserId=' + ' '.repeat(MAX_TEXT * 2) + 'x';
  for (const s of [nested, many, parens]) {
    const out = reconstructFromScript(s);
    assert.ok(out.length <= 64 * 3, `${out.length} objects`);
  }
  assert.ok(reconstructFromScript(many).length > 0, 'the literal calls inside the text limit are read');
  assert.equal(powershellUser({ Event: { System: { EventID: 800 }, EventData: { Data: spaces } } }).user, null, 'past the text limit: no user read');
});
