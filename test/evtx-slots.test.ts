/**
 * Reading without rendering: `EvtxRecord.eventDataFromSlots()` gives exactly the `Event.EventData` of `toJSON()` (or
 * says it cannot), `reuseBuffers` reads the same records, and the scan's pass-over of process starts and script blocks
 * (`readsNothing`) keeps what `fromRecord` would read. Real sample logs; skips with a message when they are absent.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EvtxReader } from '../src/evtx/index.js';
import type { EvtxJsonObject } from '../src/evtx/index.js';
import { fromRecord, ProcessParents, readsNothing } from '../src/sources/records/observations.js';
import { PROCESS_START_NAME_FIELDS } from '../src/events/index.js';
import { join } from 'node:path';
import { evtxSample, listEvtxSamples, repoRoot, sampleLabel, skipReason } from './support/samples.js';
import { misplacedEventData, SLOT_IMAGE, slotsBeyondBudget } from './support/hostile/evtx.js';
import { observeEvtx } from '../src/sources/formats/evtx.js';
import { NoteSink } from '../src/sources/notes.js';

const fixture = (name: string): string => join(repoRoot(), 'test/fixtures', name);

function eventDataOf(json: EvtxJsonObject): unknown {
  return (json['Event'] as EvtxJsonObject | undefined)?.['EventData'];
}

test('eventDataFromSlots equals toJSON().Event.EventData on every record of every sample log it reads, key order included', { skip: skipReason }, () => {
  let read = 0;
  let all = 0;
  for (const file of [...listEvtxSamples(), evtxSample('bench/mixed-480chunks.evtx')]) {
    const reader = EvtxReader.open(file);
    for (const rec of reader.records({ recovered: true })) {
      all++;
      const ed = rec.eventDataFromSlots();
      if (ed === undefined) continue;
      read++;
      assert.equal(JSON.stringify(ed), JSON.stringify(eventDataOf(rec.toJSON())), `${sampleLabel(file)} record ${rec.recordId}`);
      // a subset of the names: those fields only, with the values of the whole
      const names = new Set(Object.keys(ed).filter((_, i) => i % 2 === 0));
      const part = rec.eventDataFromSlots(names);
      assert.deepEqual(Object.keys(part!), [...names]);
      for (const k of names) assert.deepEqual(part![k], ed[k]);
    }
    reader.close();
  }
  // 50,042 of the 55,390 records (allocated and carved) of the sample logs hold their EventData in slots; the others
  // (classic events with unnamed Data, UserData, empty EventData, templates without one) are rendered
  assert.deepEqual([read, all], [50042, 55390]);
});

test('eventDataFromSlots: a record whose EventData is not plain Data elements says it cannot (UserData of WMI-Activity 5861)', { skip: skipReason }, () => {
  const reader = EvtxReader.open(evtxSample('EVTX-ATTACK-SAMPLES/sysmon_20_21_1_CommandLineEventConsumer.evtx'));
  const recs = [...reader.records()];
  reader.close();
  const sysmon20 = recs.find((r) => r.eventId === 20)!;
  const ed = sysmon20.eventDataFromSlots()!;
  assert.equal(ed['Type'], 'Command Line');
  assert.equal(ed['Destination'], eventDataOf(sysmon20.toJSON()) && (eventDataOf(sysmon20.toJSON()) as EvtxJsonObject)['Destination']);
});

test('reuseBuffers: the same records, rendered alike, with one chunk buffer reused', { skip: skipReason }, () => {
  const file = evtxSample('bench/mixed-480chunks.evtx');
  const render = (reuse: boolean): string[] => {
    const reader = EvtxReader.open(file);
    const out: string[] = [];
    for (const rec of reader.records({ recovered: true, reuseBuffers: reuse })) out.push(rec.toJsonString());
    reader.close();
    return out;
  };
  const fresh = render(false);
  const reused = render(true);
  assert.equal(reused.length, 36485);
  assert.deepEqual(reused, fresh);
});

test('reuseBuffers on a file in memory and on the small fixtures: same records', () => {
  for (const f of ['sysmon_20_21_1_CommandLineEventConsumer.evtx', 'issue_38.evtx', 'dns_log_malformed.evtx']) {
    const a = EvtxReader.open(fixture(`evtx/${f}`));
    const b = EvtxReader.open(fixture(`evtx/${f}`));
    const x = [...a.records({ recovered: true })].map((r) => r.toJsonString());
    const y: string[] = [];
    for (const r of b.records({ recovered: true, reuseBuffers: true })) y.push(r.toJsonString());
    assert.deepEqual(y, x, f);
    assert.deepEqual(b.warnings, a.warnings, f);
    a.close();
    b.close();
  }
});

test('readsNothing passes over exactly the records fromRecord reads nothing of (all process starts and PowerShell records of the samples)', { skip: skipReason }, () => {
  let passed = 0;
  let kept = 0;
  for (const file of [...listEvtxSamples(), evtxSample('bench/mixed-480chunks.evtx')]) {
    const reader = EvtxReader.open(file);
    for (const rec of reader.records()) {
      const id = rec.eventId;
      if (id !== 1 && id !== 4688 && id !== 800 && id !== 4103 && id !== 4104) continue;
      const ed = rec.eventDataFromSlots(id === 1 || id === 4688 ? PROCESS_START_NAME_FIELDS : undefined);
      if (!ed) continue;
      // without parents (as for carved records) and with them: the pass-over never drops what fromRecord reads
      for (const parents of [undefined, new ProcessParents()]) {
        const read = fromRecord(rec.toJSON(), 'H', 'f', 'r', parents);
        if (readsNothing(id, ed, 'H', parents)) {
          passed++;
          assert.deepEqual(read, [], `${sampleLabel(file)} record ${rec.recordId}`);
        } else kept++;
      }
    }
    reader.close();
  }
  assert.ok(passed > 1000 && kept > 0, `${passed} passed over, ${kept} read`);
});

test('readsNothing: a scrcons.exe start and a script block naming WMI are read; notepad.exe and a plain script block are not', () => {
  const parents = new ProcessParents();
  assert.equal(readsNothing(1, { Image: 'C:\\Windows\\System32\\wbem\\scrcons.exe', ParentImage: 'C:\\Windows\\System32\\svchost.exe', ProcessId: 4 }, 'H', parents), false);
  assert.equal(readsNothing(1, { Image: 'C:\\Windows\\notepad.exe', ParentImage: 'C:\\Windows\\explorer.exe', ProcessId: 5 }, 'H', parents), true);
  // 4688 version 0/1 names no parent image: read whole (its parent may be a WmiPrvSE.exe known by id)
  assert.equal(readsNothing(4688, { NewProcessName: 'C:\\Windows\\notepad.exe', NewProcessId: '0x10' }, 'H', parents), false);
  assert.equal(readsNothing(4104, { MessageNumber: 1, MessageTotal: 1, ScriptBlockText: 'Get-ChildItem C:\\', ScriptBlockId: 'x' }, 'H'), true);
  assert.equal(readsNothing(4104, { MessageNumber: 1, MessageTotal: 1, ScriptBlockText: 'Set-WmiInstance -Class __EventFilter', ScriptBlockId: 'x' }, 'H'), false);
  // a part of a split block waits for the others, whatever it says
  assert.equal(readsNothing(4104, { MessageNumber: 1, MessageTotal: 2, ScriptBlockText: 'Get-ChildItem', ScriptBlockId: 'x' }, 'H'), false);
  // other events are never passed over here
  assert.equal(readsNothing(5861, {}, 'H'), false);
});

test('eventDataFromSlots: slots shaped like EventData where the JSON has no Event.EventData say they cannot (a root <EventData>, an <Event> nested in <Event>)', () => {
  const reader = EvtxReader.fromBuffer(misplacedEventData());
  const recs = [...reader.records()];
  assert.equal(recs.length, 3);
  for (const rec of recs) {
    const ed = rec.eventDataFromSlots();
    if (ed !== undefined) assert.equal(JSON.stringify(ed), JSON.stringify(eventDataOf(rec.toJSON())), `record ${rec.recordId}`);
  }
  // the EventData of the third (the usual shape: System outside, EventData in the nested instance) is read from slots
  assert.deepEqual(recs[2]!.eventDataFromSlots(), { Image: SLOT_IMAGE });
  assert.deepEqual(eventDataOf(recs[2]!.toJSON()), { Image: SLOT_IMAGE });
});

test('eventDataFromSlots: a record whose rendering runs out of budget before its EventData says it cannot (its JSON EventData is not the slots)', () => {
  const reader = EvtxReader.fromBuffer(slotsBeyondBudget());
  const recs = [...reader.records()];
  assert.equal(recs.length, 2);
  for (const rec of recs) {
    const ed = rec.eventDataFromSlots();
    const json = rec.toJSON();
    assert.ok(rec.warnings.some((w) => w.includes('expansion-limit')), `record ${rec.recordId} renders truncated`);
    if (ed !== undefined) assert.equal(JSON.stringify(ed), JSON.stringify(eventDataOf(json)), `record ${rec.recordId}`);
  }
});

test('scan: a process start whose rendering runs out of budget is not passed over from its slots (its expansion-limit note stays)', () => {
  const notes = new NoteSink();
  const res = observeEvtx('budget.evtx', notes, { data: slotsBeyondBudget() });
  assert.deepEqual(res.observations, []);
  // the second record (one slot written 4000 times) renders truncated, as the scan said before slots were read
  assert.ok(notes.list().some((n) => n.kind === 'expansion-limit' && /record 2 /.test(n.message)), JSON.stringify(notes.list()));
});
