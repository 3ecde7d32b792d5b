/**
 * Notes: every note has a code from the one documented union, and one sink caps repeats for every format
 * (at most NOTES_PER_KEY per file, code and kind, then one summary), whatever a hostile file holds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NOTE_CODES } from '../src/model/types.js';
import type { EvidenceNote } from '../src/model/types.js';
import { NoteSink, NOTES_PER_KEY } from '../src/sources/notes.js';
import { bufferInput } from '../src/sources/input.js';
import { observeInput } from '../src/sources/dispatch.js';
import { scan } from '../src/scan.js';
import { repoRoot, samplesDir, skipReason } from './support/samples.js';

const FIXTURES = join(repoRoot(), 'test', 'fixtures');

const note = (file: string, code: EvidenceNote['code'], message: string, level: EvidenceNote['level'] = 'warning', kind?: string): EvidenceNote => ({ file, level, code, ...(kind ? { kind } : {}), message });

test('sink: at most 3 notes per (file, code, kind), then one summary right after them that counts the rest and quotes the first unlisted', () => {
  const sink = new NoteSink();
  sink.add(note('a', 'not-evidence', 'first of a', 'skipped'));
  for (let i = 1; i <= 10; i++) sink.add(note('b', 'damaged', `line ${i}: bad`, i === 9 ? 'error' : 'warning'));
  sink.add(note('b', 'damaged', 'chunk 1', 'warning', 'chunk-data-crc'));
  sink.add(note('b', 'assumption', 'taken as UTC'));
  const list = sink.list();
  assert.deepEqual(
    list.map((n) => [n.file, n.code, n.kind ?? null, n.level, n.message]),
    [
      ['a', 'not-evidence', null, 'skipped', 'first of a'],
      ['b', 'damaged', null, 'warning', 'line 1: bad'],
      ['b', 'damaged', null, 'warning', 'line 2: bad'],
      ['b', 'damaged', null, 'warning', 'line 3: bad'],
      // the summary takes the worst level of what it counts
      ['b', 'damaged', null, 'error', '7 more damaged note(s) like the 3 above, not listed; the first of them: line 4: bad'],
      ['b', 'damaged', 'chunk-data-crc', 'warning', 'chunk 1'],
      ['b', 'assumption', null, 'warning', 'taken as UTC'],
    ],
  );
  assert.equal(NOTES_PER_KEY, 3);
});

test('sink: a group (an archive) shares one cap over its members; the summary names the group and the first unlisted member', () => {
  const sink = new NoteSink();
  for (let i = 1; i <= 5; i++) sink.add(note(`z.zip!/m${i}.txt`, 'not-evidence', 'not evidence', 'skipped'), 'z.zip');
  sink.add(note('z.zip!/x.json', 'not-evidence', 'Velociraptor collection metadata; not evidence', 'skipped', 'collection-metadata'), 'z.zip');
  const list = sink.list();
  assert.deepEqual(list.map((n) => n.file), ['z.zip!/m1.txt', 'z.zip!/m2.txt', 'z.zip!/m3.txt', 'z.zip', 'z.zip!/x.json']);
  assert.equal(list[3]!.message, '2 more not-evidence note(s) like the 3 above, not listed; the first of them: z.zip!/m4.txt: not evidence');
});

test('sink: wroteAbout tells whether a file got a note since a mark, also one only counted', () => {
  const sink = new NoteSink();
  for (let i = 0; i < 5; i++) sink.add(note('f', 'damaged', 'x'));
  const m = sink.mark();
  assert.ok(sink.wroteAbout('f'));
  assert.ok(!sink.wroteAbout('f', m));
  assert.ok(!sink.wroteAbout('g'));
  sink.add(note('f', 'damaged', 'x')); // only counted
  assert.ok(sink.wroteAbout('f', m));
});

test('hostile export: 100,000 bad lines around good records are one note for that file, counting them; every good record is still read', async () => {
  const good = readFileSync(join(FIXTURES, 'exports', 'sysmon-bot.ecs.ndjson'), 'utf8').trim().split('\n');
  // lines that are no JSON value at all (an unclosed `{` costs only its own line: see test/hostile-text.test.ts)
  const bad = Array.from({ length: 100_000 }, (_, i) => (i % 2 ? 'not json at all' : '12 34 x'));
  const text = [...good.slice(0, 3), ...bad, ...good.slice(3)].join('\n') + '\n';
  const clean = new NoteSink();
  const expected = await observeInput(bufferInput('clean.ndjson', Buffer.from(good.join('\n') + '\n')), { notes: clean });
  assert.deepEqual(clean.list(), []);
  const sink = new NoteSink();
  const res = await observeInput(bufferInput('hostile.ndjson', Buffer.from(text)), { notes: sink });
  assert.ok(res && expected);
  assert.equal(res.items.reduce((n, i) => n + i.records, 0), good.length);
  assert.deepEqual(
    res.observations.map((o) => [o.part, o.name, o.time]),
    expected.observations.map((o) => [o.part, o.name, o.time]),
  );
  const notes = sink.list();
  const damaged = notes.filter((n) => n.file === 'hostile.ndjson' && n.code === 'damaged');
  // the export reader counts its damaged records itself: one note per file with the count, naming the first
  assert.equal(damaged.length, 1, JSON.stringify(notes));
  assert.equal(notes.length, damaged.length, JSON.stringify(notes));
  assert.match(damaged[0]!.message, /^ecs: 100000 damaged records or lines skipped; the first: line 4: not JSON/);
});

test('hostile Velociraptor rows: 100,000 unreadable lines are at most 4 notes; the good rows are read', async () => {
  const rows = readFileSync(join(FIXTURES, 'velociraptor', 'bot.WMIEventing.json'), 'utf8').trim().split('\n');
  const text = [rows[0], ...Array.from({ length: 100_000 }, () => '[1, 2'), ...rows.slice(1)].join('\n');
  const sink = new NoteSink();
  const res = await observeInput(bufferInput('hunt.json', Buffer.from(text)), { notes: sink });
  assert.ok(res && res.observations.length > 0);
  const notes = sink.list();
  assert.equal(notes.length, 4, JSON.stringify(notes));
  assert.ok(notes.every((n) => n.code === 'damaged' && n.file === 'hunt.json'));
});

test('schema: the EvidenceNote code enum is the NoteCode union', () => {
  const schema = JSON.parse(readFileSync(join(repoRoot(), 'schema', 'finding.schema.json'), 'utf8')) as { $defs: { EvidenceNote: { required: string[]; properties: { code: { enum: string[] }; kind: { type: string } } } } };
  const def = schema.$defs.EvidenceNote;
  assert.deepEqual(def.properties.code.enum, [...NOTE_CODES]);
  assert.ok(def.required.includes('code'));
  assert.equal(def.properties.kind.type, 'string');
});

function checkCodes(notes: readonly EvidenceNote[], what: string): void {
  for (const n of notes) {
    assert.ok((NOTE_CODES as readonly string[]).includes(n.code), `${what}: ${JSON.stringify(n)}`);
    assert.ok(n.kind === undefined || (typeof n.kind === 'string' && n.kind.length > 0), `${what}: ${JSON.stringify(n)}`);
  }
  // the cap holds on real evidence too: no (file, code, kind) lists more than 3 notes plus its summary
  const per = new Map<string, number>();
  for (const n of notes) per.set(JSON.stringify([n.file, n.code, n.kind ?? null]), (per.get(JSON.stringify([n.file, n.code, n.kind ?? null])) ?? 0) + 1);
  for (const [k, c] of per) assert.ok(c <= NOTES_PER_KEY + 1, `${what}: ${k} has ${c} notes`);
}

test('every note on the committed fixtures has a code from the union', async () => {
  const r = await scan([FIXTURES], { threads: 1 });
  assert.ok(r.notes.length > 0);
  checkCodes(r.notes, 'fixtures');
  assert.ok(r.notes.some((n) => n.code === 'not-evidence'));
  assert.ok(r.notes.some((n) => n.code === 'damaged' && n.kind === 'chunk-data-crc'));
});

test('every note on the shared samples has a code from the union', { skip: skipReason }, async () => {
  const r = await scan([samplesDir()], { threads: 1 });
  assert.ok(r.notes.length > 0);
  checkCodes(r.notes, 'samples');
  assert.ok(r.notes.some((n) => n.code === 'damaged' && n.kind === 'header-dirty'));
});
