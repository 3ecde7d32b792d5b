/**
 * Hostile review of the SIEM export readers: one event whose XML text is far longer than any event (a Splunk `_raw`
 * of megabytes) is a damaged record, not gigabytes of parser memory that end the scan; an `<Event>` without
 * `<System>` is a record without an event, not an internal error. The good export beside them keeps its finding.
 * Synthetic files written to a temporary folder, beside a committed fixture.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { scan } from '../src/scan.js';
import { MAX_EVENT_XML_CHARS } from '../src/sources/text/eventxml.js';
import { GOOD_LOG_CONSUMER } from './support/child.js';
import { repoRoot } from './support/samples.js';

const GOOD = join(repoRoot(), 'test/fixtures/exports/sysmon-bot.splunk-xml.csv');
const row = (raw: string): string => JSON.stringify({ preview: false, result: { _time: '2020-01-01T00:00:00Z', host: 'H', sourcetype: 'XmlWinEventLog', _raw: raw } });

test('an over-long _raw and an <Event> without <System> are damaged records; the good file keeps its finding', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-exports-'));
  try {
    const bad = join(dir, 'bad.splunk.json');
    writeFileSync(bad, [row(`<Event>${'A'.repeat(MAX_EVENT_XML_CHARS + 1)}</Event>`), row('<Event><EventData><Data Name="x">y</Data></EventData></Event>')].join('\n') + '\n');
    const r = await scan([bad, GOOD]);
    assert.deepEqual(r.findings.map((f) => f.consumer?.name), [GOOD_LOG_CONSUMER]);
    const notes = r.notes.filter((n) => n.file === bad).map((n) => n.message).join('\n');
    assert.match(notes, /over the \d+ of one event: not parsed/);
    assert.doesNotMatch(notes, /Cannot read properties|undefined/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
