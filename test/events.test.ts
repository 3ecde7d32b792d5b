/**
 * Typed WMI event views on real records: Sysmon 19/20/21 (both binding shapes, created/modified/deleted),
 * WMI-Activity 5858, PowerShell 800/4103 evidence of Set-WmiInstance, and the value normalization.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { EvtxReader } from '../src/evtx/index.js';
import type { EvtxJsonObject } from '../src/evtx/index.js';
import { parseMofInstances, powershellWmiEvidence, sysmonWmiEvent, unquoteSysmon, wmiActivityEvent } from '../src/events/index.js';
import { normalizeNamespace, parseObjectRef, sidFromByteArray } from '../src/model/wmi.js';
import { evtxSample, repoRoot, skipReason } from './support/samples.js';

function records(file: string, ids?: number[]): EvtxJsonObject[] {
  const r = EvtxReader.open(file);
  const out = [...r.records(ids ? { filter: { eventIds: ids } } : {})].map((x) => x.toJSON());
  r.close();
  return out;
}

test('unquoteSysmon and namespace spellings', () => {
  assert.equal(unquoteSysmon(' "root\\\\cimv2"'), 'root\\cimv2');
  assert.equal(unquoteSysmon(' "CommandLineEventConsumer.Name=\\"x\\""'), 'CommandLineEventConsumer.Name="x"');
  assert.equal(unquoteSysmon('Command Line'), 'Command Line');
  for (const ns of ['root\\cimv2', 'root/cimv2', 'ROOT\\CimV2'.replace('CimV2', 'cimv2'), '\\\\.\\root\\cimv2', '//./root/cimv2']) assert.equal(normalizeNamespace(ns), 'ROOT\\cimv2', ns);
  assert.deepEqual(parseObjectRef('\\\\.\\ROOT\\subscription:CommandLineEventConsumer.Name="a \\"b\\""'), {
    namespace: 'ROOT\\subscription',
    className: 'CommandLineEventConsumer',
    keys: { Name: 'a "b"' },
    name: 'a "b"',
  });
  assert.deepEqual(parseObjectRef('CommandLineEventConsumer="UPDATER"')?.name, 'UPDATER');
});

test('MOF text of a 5861 PossibleCause: filter and consumer objects, CreatorSID as SID', () => {
  // the shape documented in wmi-tradecraft.md §3 (hayabusa-rules WMI_5861 sample)
  const text =
    'Binding EventFilter: instance of __EventFilter { CreatorSID = {1, 5, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 233, 3, 0, 0}; EventNamespace = "root/cimv2"; Name = "UPDATER"; Query = "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA \\"Win32_PerfFormattedData_PerfOS_System\\""; QueryLanguage = "WQL"; }; Perm. Consumer: instance of CommandLineEventConsumer { CommandLineTemplate = "C:\\\\Windows\\\\System32\\\\cmd.exe /c calc.exe"; CreatorSID = {1, 2, 0, 0, 0, 0, 0, 5, 32, 0, 0, 0, 32, 2, 0, 0}; Name = "UPDATER"; };';
  const mof = parseMofInstances(text);
  assert.deepEqual(
    mof.map((m) => m.className),
    ['__EventFilter', 'CommandLineEventConsumer'],
  );
  assert.equal(mof[0]!.properties['Query'], 'SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA "Win32_PerfFormattedData_PerfOS_System"');
  assert.equal(mof[0]!.properties['EventNamespace'], 'root/cimv2');
  assert.equal(mof[1]!.properties['CommandLineTemplate'], 'C:\\Windows\\System32\\cmd.exe /c calc.exe');
  const sub = Buffer.from([21, 0, 0, 0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120, 233, 3, 0, 0]);
  const expected = `S-1-5-${[0, 4, 8, 12, 16].map((o) => sub.readUInt32LE(o)).join('-')}`;
  assert.equal(sidFromByteArray(mof[0]!.properties['CreatorSID']), expected);
  assert.equal(expected, 'S-1-5-21-673059850-1346780210-2020500570-1001');
  assert.equal(sidFromByteArray(mof[1]!.properties['CreatorSID']), 'S-1-5-32-544');
  assert.deepEqual(parseMofInstances('garbage instance of X { A = ; '), [{ className: 'X', properties: {} }]);
});

test('Sysmon 19/20/21: BotFilter82/BotConsumer23 created then deleted (Win7 binding shape)', { skip: skipReason }, () => {
  const evs = records(evtxSample('EVTX-ATTACK-SAMPLES/sysmon_20_21_1_CommandLineEventConsumer.evtx'), [19, 20, 21]).map((r) => sysmonWmiEvent(r)!);
  assert.deepEqual(
    evs.map((e) => [e.part, e.operation]),
    [
      ['consumer', 'Created'],
      ['binding', 'Created'],
      ['filter', 'Created'],
      ['consumer', 'Deleted'],
      ['filter', 'Deleted'],
      ['binding', 'Deleted'],
    ],
  );
  const [consumer, binding, filter] = evs as [(typeof evs)[0], (typeof evs)[0], (typeof evs)[0]];
  assert.deepEqual([consumer.name, consumer.consumerType, consumer.destination], ['BotConsumer23', 'Command Line', 'c:\\Windows\\System32\\cmd.exe']);
  assert.deepEqual([filter.name, filter.eventNamespace], ['BotFilter82', 'ROOT\\cimv2']);
  assert.match(filter.query!, /^SELECT \* FROM __InstanceModificationEvent WITHIN 10 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System'/);
  assert.deepEqual([binding.consumer?.className, binding.consumer?.name, binding.consumer?.namespace, binding.filter?.name], ['CommandLineEventConsumer', 'BotConsumer23', null, 'BotFilter82']);
  assert.equal(filter.computer, 'IEWIN7');
  assert.equal(filter.recordId, 16115);
});

test('Sysmon 20/21: WMIGhost ActiveScript consumer modified, namespace-prefixed binding', { skip: skipReason }, () => {
  const evs = records(evtxSample('EVTX-ATTACK-SAMPLES/wmighost_sysmon_20_21_1.evtx'), [20, 21]).map((r) => sysmonWmiEvent(r)!);
  const c = evs.find((e) => e.part === 'consumer')!;
  assert.deepEqual([c.operation, c.name, c.consumerType], ['Modified', 'ProbeScriptFint', 'Script']);
  assert.match(c.destination!, /^var sXmlUrl="http:\/\/kumardeep\.sosblogs\.com\//);
  assert.match(c.destination!, /new \$\._x\('WScript\.Shell'\)/);
  const b = evs.find((e) => e.part === 'binding')!;
  assert.deepEqual([b.consumer?.namespace, b.consumer?.className, b.filter?.name], ['ROOT\\subscription', 'ActiveScriptEventConsumer', 'ProbeScriptFint']);
});

test('WMI-Activity 5858 (allocated and recovered from slack) as typed events', { skip: skipReason }, () => {
  const [e] = records(evtxSample('sigma/d4f1a2b3-7c8e-4d5f-b6a9-1e0c2d3f4e5b.evtx')).map((r) => wmiActivityEvent(r)!);
  assert.equal(e!.eventId, 5858);
  assert.equal(e!.fields['ResultCode'], '0x80041003');
  assert.match(e!.fields['Operation']!, /Win32_NTEventlogFile\.Name="C:\\\\WINDOWS\\\\System32\\\\Winevt\\\\Logs\\\\System\.evtx"::cleareventlog$/);
  const file = evtxSample('hayabusa-sample-evtx/ID4781-Computer account renamed without a trailing $ (CVE-2021-42278).evtx');
  const r = EvtxReader.open(file);
  const rec = [...r.records({ recovered: true, filter: { eventIds: [5858] } })].find((x) => x.recordId === 31046)!;
  const ev = wmiActivityEvent(rec.toJSON())!;
  assert.deepEqual([ev.fields['ResultCode'], ev.fields['ClientMachine'], ev.computer], ['0x80041032', 'RS1011693', 'rootdc1.offsec.lan']);
  r.close();
});

test('PowerShell 800/4103: Set-WmiInstance creating filter, consumer and binding in root/subscription (template-less records)', { skip: skipReason }, () => {
  const items = records(evtxSample('hayabusa-sample-evtx/ID800-4103-4104-WMI registration via PowerLurk.evtx')).flatMap((r) => powershellWmiEvidence(r));
  assert.deepEqual(
    items.map((i) => [i.eventId, i.recordId, i.technique, i.className, i.namespace]),
    [
      [800, 28811, 'Set-WmiInstance', 'CommandLineEventConsumer', 'ROOT\\subscription'],
      [800, 28812, 'Set-WmiInstance', '__EventFilter', 'ROOT\\subscription'],
      [800, 28813, 'Set-WmiInstance', '__FilterToConsumerBinding', 'ROOT\\subscription'],
      [4103, 30205, 'Set-WmiInstance', 'CommandLineEventConsumer', 'ROOT\\subscription'],
      [4103, 30206, 'Set-WmiInstance', '__EventFilter', 'ROOT\\subscription'],
    ],
  );
});

test('non-WMI records give no typed event', () => {
  const r = records(join(repoRoot(), 'test/fixtures/evtx/Application_no_crc32.evtx'));
  assert.ok(r.every((x) => sysmonWmiEvent(x) === null && wmiActivityEvent(x) === null && powershellWmiEvidence(x).length === 0));
});

test('hostile MOF and object paths: deep nesting and long runs are read in linear time and bounded stack', { timeout: 20000 }, async () => {
  // 200k nested braces: the array is refused past 8 levels, the instance is still returned, nothing throws
  const deep = parseMofInstances(`instance of X { A = ${'{'.repeat(200000)}; Name = "n"; };`);
  assert.deepEqual(deep, [{ className: 'X', properties: {} }]);
  const { parseObjectPath } = await import('../src/cim/index.js');
  // a long word without `=` (quadratic with an unanchored key scan) and a 20 MB quoted value (a stack overflow
  // with a per-character alternation)
  assert.deepEqual(parseObjectPath(`C.${'a'.repeat(200000)}`)?.keys, {});
  assert.equal(parseObjectPath(`C.Name="${'x'.repeat(20_000_000)}"`)?.keys['Name']?.length, 20_000_000);
  assert.deepEqual(parseObjectPath('C.9Key="v",Other=2')?.keys, { Key: 'v', Other: '2' });
  await new Promise((r) => setTimeout(r, 1)); // a synchronous overrun is reported as a timeout
});
