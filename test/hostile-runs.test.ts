/**
 * Hostile review of "runs": a process start is tied to a subscription only where the evidence shows them on one
 * machine. Evidence that names no machine is all shown under host `unknown`, but two such files may come from two
 * machines: a WmiPrvSE.exe child in one is not what a subscription in the other ran. Synthetic Sentinel
 * WindowsEvent rows (written to a temporary folder).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scan } from '../src/scan.js';

const SYSMON = { Channel: 'Microsoft-Windows-Sysmon/Operational', Provider: 'Microsoft-Windows-Sysmon', Type: 'WindowsEvent' };
const TEMPLATE = 'cmd.exe /c echo %ProcessId% >> c:\\temp\\log.txt';
const consumer = { ...SYSMON, TimeGenerated: '2020-01-01T00:00:01Z', EventID: 20, EventRecordId: '2', EventData: { EventType: 'WmiConsumerEvent', UtcTime: '2020-01-01 00:00:01.000', Operation: 'Created', User: 'DOM\\user', Name: '"C1"', Type: 'Command Line', Destination: `"${TEMPLATE}"` } };
const start = { ...SYSMON, TimeGenerated: '2020-01-01T01:00:00Z', EventID: 1, EventRecordId: '4', EventData: { UtcTime: '2020-01-01 01:00:00.000', ProcessId: 1234, Image: 'C:\\Windows\\System32\\cmd.exe', CommandLine: TEMPLATE.replace('%ProcessId%', '77'), User: 'NT AUTHORITY\\SYSTEM', ParentImage: 'C:\\Windows\\System32\\wbem\\WmiPrvSE.exe', ParentProcessId: 99 } };

test('a start in one nameless file is not a run of a subscription in another nameless file; in the same file it is', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-runs-'));
  try {
    writeFileSync(join(dir, 'a.json'), JSON.stringify([consumer]));
    writeFileSync(join(dir, 'b.json'), JSON.stringify([start]));
    writeFileSync(join(dir, 'ab.json'), JSON.stringify([consumer, start]));
    const apart = await scan([join(dir, 'a.json'), join(dir, 'b.json')]);
    assert.equal(apart.findings.length, 1);
    assert.equal(apart.findings[0]!.host, 'unknown');
    assert.equal(apart.findings[0]!.runs ?? null, null);
    const together = await scan([join(dir, 'ab.json')]);
    assert.equal(together.findings[0]!.runs?.count, 1);
    // a named host: the two files are one machine, and the start is tied
    const named = await scan([join(dir, 'a.json'), join(dir, 'b.json')], { host: 'H1' });
    assert.equal(named.findings[0]!.runs?.count, 1);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
