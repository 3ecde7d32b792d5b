/**
 * A PowerShell script block logged over several 4104 records (MessageNumber of MessageTotal, one ScriptBlockId) is
 * joined before it is read: a subscription whose arguments the cut falls inside is rebuilt whole. The parts here are
 * made from the real PowerLurk 4104 record (hayabusa-sample-evtx), cut where PowerShell could cut it (anywhere, here
 * inside the -PermanentCommand string); the cutting is done in this test.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EvtxReader } from '../src/evtx/index.js';
import type { EvtxJsonObject } from '../src/evtx/types.js';
import { MAX_SCRIPT_BLOCK_PARTS, scriptBlockPart } from '../src/events/index.js';
import { ScriptBlocks, fromRecord } from '../src/sources/records/observations.js';
import type { Observation } from '../src/model/types.js';
import { evtxSample, skipReason } from './support/samples.js';

const PS_LOG = 'hayabusa-sample-evtx/ID800-4103-4104-WMI registration via PowerLurk.evtx';

/** The real 4104 record whose script block calls Register-MaliciousWmiEvent. */
function powerLurk4104(): EvtxJsonObject {
  const r = EvtxReader.open(evtxSample(PS_LOG));
  try {
    for (const rec of r.records()) {
      if (rec.eventId !== 4104) continue;
      const json = rec.toJSON();
      if (/Register-MaliciousWmiEvent -EventName Evil23/.test(JSON.stringify(json))) return json;
    }
  } finally {
    r.close();
  }
  throw new Error('no PowerLurk 4104 record');
}

function text(json: EvtxJsonObject): string {
  return String(((json['Event'] as EvtxJsonObject)['EventData'] as EvtxJsonObject)['ScriptBlockText']);
}

/** `json` as part `n` of `total` of block `id`, holding `t`, with its own EventRecordID. */
function part(json: EvtxJsonObject, id: string, n: number, total: number, t: string): EvtxJsonObject {
  const ev = json['Event'] as EvtxJsonObject;
  return { ...json, Event: { ...ev, EventData: { ...(ev['EventData'] as EvtxJsonObject), ScriptBlockId: id, MessageNumber: n, MessageTotal: total, ScriptBlockText: t } } } as EvtxJsonObject;
}

/** Split `t` in `n` pieces, the first cut inside `inside`. */
function cut(t: string, inside: string, n: number): string[] {
  const at = t.indexOf(inside) + Math.floor(inside.length / 2);
  assert.ok(at > 0);
  const rest = t.slice(at);
  const size = Math.ceil(rest.length / (n - 1));
  return [t.slice(0, at), ...Array.from({ length: n - 1 }, (_, i) => rest.slice(i * size, (i + 1) * size))];
}

function observe(records: EvtxJsonObject[], blocks: ScriptBlocks | null): Observation[] {
  const out: Observation[] = [];
  records.forEach((json, i) => {
    const read = blocks ? blocks.take(json, `record ${100 + i} (offset ${i})`, 'fs01.offsec.lan') : [{ json, where: `record ${100 + i} (offset ${i})`, host: 'fs01.offsec.lan' }];
    for (const r of read) out.push(...fromRecord(r.json, r.host, 'ps.evtx', r.where));
  });
  if (blocks) for (const r of blocks.rest()) out.push(...fromRecord(r.json, r.host, 'ps.evtx', r.where));
  return out;
}

const consumerTemplate = (obs: Observation[]): unknown => obs.find((o) => o.part === 'consumer' && o.name === 'Evil23')?.properties['CommandLineTemplate'];

test('a script block cut inside the payload string over 3 records: joined, the consumer is rebuilt whole; read part by part it is not', { skip: skipReason }, () => {
  const whole = powerLurk4104();
  const t = text(whole);
  const pieces = cut(t, '%ProcessId%', 3);
  assert.equal(pieces.join(''), t);
  const parts = pieces.map((p, i) => part(whole, '{5c0a5b0e-0000-4000-8000-00000000abcd}', i + 1, 3, p));
  assert.deepEqual(scriptBlockPart(parts[1]!), { id: '{5c0a5b0e-0000-4000-8000-00000000abcd}', number: 2, total: 3, text: pieces[1] });

  // the reference: the record as logged, whole
  const ref = consumerTemplate(observe([whole], null));
  assert.equal(ref, 'cmd.exe /c echo %ProcessId% >> c:\\\\temp\\\\log.txt');
  // part by part, the cut string is not a literal the reader can trust
  assert.notEqual(consumerTemplate(observe(parts, null)), ref);
  // joined (parts arriving out of order too): the same consumer, cited by its first part with the others named
  for (const order of [[0, 1, 2], [2, 0, 1]]) {
    const obs = observe(order.map((i) => parts[i]!), new ScriptBlocks());
    assert.equal(consumerTemplate(obs), ref);
    const c = obs.find((o) => o.part === 'consumer' && o.name === 'Evil23')!;
    assert.match(c.location, /^record \d+ \(offset \d\); script block of 3 parts, the others in records \d+, \d+$/);
    assert.deepEqual(obs.filter((o) => o.name === 'Evil23').map((o) => o.part).sort(), ['consumer', 'filter']);
  }
});

test('a block never completed is read part by part at the end; a number seen twice or an out-of-bounds total is not joined', { skip: skipReason }, () => {
  const whole = powerLurk4104();
  const t = text(whole);
  const pieces = cut(t, '%ProcessId%', 3);
  const id = '{5c0a5b0e-0000-4000-8000-00000000abce}';
  // part 2 of 3 lost (overwritten, or filtered out of an export): parts 1 and 3 are still read, each as it stands
  const blocks = new ScriptBlocks();
  assert.deepEqual(blocks.take(part(whole, id, 1, 3, pieces[0]!), 'record 1', 'H'), []);
  assert.deepEqual(blocks.take(part(whole, id, 3, 3, pieces[2]!), 'record 3', 'H'), []);
  assert.deepEqual(blocks.rest().map((r) => r.where), ['record 1', 'record 3']);
  assert.deepEqual(blocks.rest(), [], 'given once');
  // the same number twice: what was held and the new part are read as they stand
  const dup = new ScriptBlocks();
  dup.take(part(whole, id, 1, 3, pieces[0]!), 'record 1', 'H');
  assert.deepEqual(dup.take(part(whole, id, 1, 3, pieces[0]!), 'record 2', 'H').map((r) => r.where), ['record 1', 'record 2']);
  // MessageTotal from the record is bounded: a block of more parts is not held at all
  assert.equal(scriptBlockPart(part(whole, id, 1, MAX_SCRIPT_BLOCK_PARTS + 1, 'x')), null);
  assert.equal(scriptBlockPart(part(whole, id, 0, 3, 'x')), null);
  assert.equal(scriptBlockPart(part(whole, id, 4, 3, 'x')), null);
  assert.equal(scriptBlockPart(part(whole, id, 1, 1, 'x')), null, 'a block of one part is no split block');
  // parts of another host's block with the same id are not joined with these
  const hosts = new ScriptBlocks();
  hosts.take(part(whole, id, 1, 2, 'a'), 'record 1', 'H1');
  assert.deepEqual(hosts.take(part(whole, id, 2, 2, 'b'), 'record 2', 'H2'), []);
  assert.equal(hosts.rest().length, 2);
});

test('hostile: many blocks that never complete wait in bounded number; the oldest is read as it stands', () => {
  const rec = (id: number, n: number): EvtxJsonObject => ({
    Event: {
      System: { Provider: { '#attributes': { Name: 'Microsoft-Windows-PowerShell' } }, EventID: 4104, Computer: 'H', TimeCreated: { '#attributes': { SystemTime: '2024-01-01T00:00:00.0000000Z' } } },
      EventData: { MessageNumber: n, MessageTotal: 2, ScriptBlockText: 'x'.repeat(10), ScriptBlockId: `{${id}}`, Path: '' },
    },
  });
  const blocks = new ScriptBlocks();
  let given = 0;
  for (let i = 0; i < 10_000; i++) given += blocks.take(rec(i, 1), `record ${i}`, 'H').length;
  assert.equal(given, 10_000 - ScriptBlocks.MAX_PENDING);
  assert.equal(blocks.rest().length, ScriptBlocks.MAX_PENDING);
  // a block whose parts together pass the joined-text bound is read as it stands
  const big = new ScriptBlocks();
  const huge = (n: number): EvtxJsonObject => {
    const r = rec(1, n);
    ((r['Event'] as EvtxJsonObject)['EventData'] as EvtxJsonObject)['ScriptBlockText'] = 'y'.repeat(ScriptBlocks.MAX_JOINED / 2 + 1);
    return r;
  };
  assert.deepEqual(big.take(huge(1), 'record 1', 'H'), []);
  assert.deepEqual(big.take(huge(2), 'record 2', 'H').map((r) => r.where), ['record 1', 'record 2']);
});
