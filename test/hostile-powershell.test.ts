/**
 * Hostile review of the PowerShell reconstruction: a script block that only *mentions* the subscription commands
 * (a comment, help `.EXAMPLE` text, a string or here-string that is never run, a detection script's pattern)
 * creates nothing; `-WhatIf` builds an object it never creates. Synthetic texts.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { reconstructPowerShell } from '../src/events/psframeworks.js';
import { temporaryFromScript } from '../src/events/powershell.js';

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
