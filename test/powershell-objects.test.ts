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
import { reconstructFromScript } from '../src/events/index.js';
import type { ScanResult } from '../src/model/types.js';

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
