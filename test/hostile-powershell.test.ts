/**
 * Hostile review of the PowerShell reconstruction: a script block that only *mentions* the subscription commands
 * (a comment, help `.EXAMPLE` text, a string or here-string that is never run, a detection script's pattern)
 * creates nothing, neither rebuilt objects nor the bare "a subscription command ran" evidence; `-WhatIf` builds an
 * object it never creates. Synthetic texts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reconstructPowerShell } from '../src/events/psframeworks.js';
import { temporaryFromScript } from '../src/events/powershell.js';
import { powershellWmiEvidence } from '../src/events/index.js';
import type { EvtxJsonObject } from '../src/evtx/types.js';

const SET = "Set-WmiInstance -Namespace root\\subscription -Class CommandLineEventConsumer -Arguments @{Name='Evil';CommandLineTemplate='calc.exe'}";
const LURK = "Register-MaliciousWmiEvent -EventName Evil23 -PermanentCommand 'calc.exe' -Trigger ProcessStart -ProcessName notepad.exe";

test('a command named in a comment, help text or a string that is never run creates nothing', () => {
  const mentions = [
    `# Example: ${SET}\nGet-Date`,
    `<#\n.EXAMPLE\n ${SET}\n#>\nGet-Date`,
    `<#\n.EXAMPLE\n ${LURK}\n#>`,
    `# ${LURK}`,
    `$help = '${SET.replace(/'/g, "''")}'`,
    `$doc = @'\n${SET}\n'@\nWrite-Output $doc`,
    `Select-String -Path *.ps1 -Pattern '${SET.replace(/'/g, "''")}'`,
    `Write-Host "${LURK}"`,
    `# Register-WmiEvent -Query "SELECT * FROM Win32_ProcessStartTrace" -Action { calc }`,
  ];
  for (const m of mentions) {
    assert.deepEqual(reconstructPowerShell(m), [], m);
    assert.deepEqual(temporaryFromScript(m), [], m);
  }
  // the same commands as code still read, also after a comment or string on an earlier line
  const real = reconstructPowerShell(`# set up\n$x = 'a # b'\n${SET}`);
  assert.equal(real.length, 1);
  assert.equal(real[0]!.name, 'Evil');
  assert.equal(real[0]!.uncommitted, undefined);
  assert.equal(reconstructPowerShell(`$n = 1 # count\n${LURK}`).length, 3);
});

test('-WhatIf builds the object but creates nothing', () => {
  const [o] = reconstructPowerShell(`${SET} -WhatIf`);
  assert.match(o!.uncommitted ?? '', /WhatIf/);
  assert.equal(reconstructPowerShell(`${SET} -WhatIf:$false`)[0]!.uncommitted, undefined);
});

const block = (text: string): EvtxJsonObject => ({
  Event: {
    System: { Provider: { '#attributes': { Name: 'Microsoft-Windows-PowerShell' } }, EventID: 4104, Channel: 'Microsoft-Windows-PowerShell/Operational', Computer: 'H', TimeCreated: { '#attributes': { SystemTime: '2020-01-01T00:00:00.0000000Z' } } },
    EventData: { MessageNumber: 1, MessageTotal: 1, ScriptBlockText: text, ScriptBlockId: 'x', Path: '' },
  },
});

test('a 4104 script block that lists, removes or mentions subscriptions is no evidence of one made', () => {
  const mentions = [
    "# Example: Set-WmiInstance -Namespace root\\subscription -Class __EventFilter -Arguments @{Name='Evil'}",
    "# hunt for attackers' Set-WmiInstance persistence\nGet-WmiObject -Namespace root\\subscription -Class __EventFilter | Select Name, Query",
    "[wmiclass]'root\\subscription:__EventFilter' | Format-List",
    "Write-Host 'do not run mofcomp on CommandLineEventConsumer files'",
    "$p = 'Set-WmiInstance -Class CommandLineEventConsumer'",
  ];
  for (const m of mentions) assert.deepEqual(powershellWmiEvidence(block(m)), [], m);
  // the same commands in code (and mofcomp run by its quoted path) still are
  const calls = [
    "Set-WmiInstance -Namespace root\\subscription -Class __EventFilter -Arguments $a",
    "$c = ([wmiclass]'root\\subscription:CommandLineEventConsumer').CreateInstance()",
    "& \"C:\\Windows\\System32\\wbem\\mofcomp.exe\" c:\\x\\CommandLineEventConsumer.mof",
    "mofcomp.exe evil.mof # instance of CommandLineEventConsumer",
  ];
  for (const c of calls) assert.equal(powershellWmiEvidence(block(c)).length, 1, c);
});
