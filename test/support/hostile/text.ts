/**
 * Hostile text exports, generated at test time from the real fixtures of test/fixtures/exports (small on disk):
 * one record of an NDJSON or event-XML export cut short (with a stray line after it), the same file without that
 * record (what a reader that loses only the damaged record must give), a banner line before NDJSON, BOM-less
 * UTF-16, a first record longer than the detection head, and filter/consumer names holding `"` written the way
 * Sysmon and WMI-Activity render them.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../samples.js';

export const EXPORTS = join(repoRoot(), 'test/fixtures/exports');
export const exportFixture = (name: string): string => join(EXPORTS, name);

/** A damaged export and the same export without the damaged record. */
export interface DamagedPair {
  /** The damaged file. */
  damaged: string;
  /** The undamaged file less the record that was damaged. */
  without: string;
  /** 1-based line where the damaged record starts. */
  line: number;
}

/** The non-empty lines of an NDJSON fixture. */
function ndjsonLines(fixture: string): string[] {
  return readFileSync(exportFixture(fixture), 'utf8').split('\n').filter((l) => l.trim() !== '');
}

/**
 * NDJSON whose record `index` (0-based) is cut in half and followed by a line that is not JSON (a log line of the
 * pipeline): before the fix the splitter fell back to multi-line mode and the open `{` ate every later record.
 */
export function swallowingNdjson(dir: string, fixture = 'otrf-wmi.ecs.ndjson', index = 2): DamagedPair {
  const ls = ndjsonLines(fixture);
  const cut = ls[index]!.slice(0, Math.floor(ls[index]!.length / 2));
  const damaged = [...ls.slice(0, index), cut, 'WARN [pipeline] connection reset by peer, retrying', ...ls.slice(index + 1)];
  const without = [...ls.slice(0, index), ...ls.slice(index + 1)];
  const out = { damaged: join(dir, 'swallow.ndjson'), without: join(dir, 'without.ndjson'), line: index + 1 };
  writeFileSync(out.damaged, damaged.join('\n') + '\n');
  writeFileSync(out.without, without.join('\n') + '\n');
  return out;
}

/** The `[start, end)` character ranges of the `<Event …>…</Event>` elements of an event-XML text. */
function eventRanges(xml: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = xml.indexOf('<Event '); i >= 0; i = xml.indexOf('<Event ', i + 1)) {
    const end = xml.indexOf('</Event>', i);
    if (end < 0) break;
    out.push([i, end + '</Event>'.length]);
    i = end;
  }
  return out;
}

/**
 * Event XML whose element `index` (0-based) never closes: its second half (and `</Event>`) is gone. Before the fix
 * every later element was read as part of it and lost.
 */
export function swallowingXml(dir: string, fixture = 'otrf-wmi.events.xml', index = 2): DamagedPair {
  const xml = readFileSync(exportFixture(fixture), 'utf8');
  const [s, e] = eventRanges(xml)[index]!;
  const half = s + Math.floor((e - s) / 2);
  const out = { damaged: join(dir, 'swallow.xml'), without: join(dir, 'without.xml'), line: xml.slice(0, s).split('\n').length };
  writeFileSync(out.damaged, xml.slice(0, half) + '\n' + xml.slice(e));
  writeFileSync(out.without, xml.slice(0, s) + xml.slice(e).replace(/^\r?\n/, ''));
  return out;
}

/** NDJSON with one banner line before the records (as some export tools print a title). */
export function bannerNdjson(dir: string, fixture = 'otrf-wmi.ecs.ndjson'): string {
  const p = join(dir, 'banner.ndjson');
  writeFileSync(p, `Exported 21 documents from winlogbeat-* at 2020-09-02 10:00\n${ndjsonLines(fixture).join('\n')}\n`);
  return p;
}

/** A text fixture re-encoded as UTF-16 without a byte-order mark, little- or big-endian. */
export function utf16NoBom(dir: string, fixture: string, endian: 'le' | 'be'): string {
  const b = Buffer.from(readFileSync(exportFixture(fixture), 'utf8').replace(/^\uFEFF/, ''), 'utf16le');
  if (endian === 'be') b.swap16();
  const p = join(dir, `${endian}-${fixture}`);
  writeFileSync(p, b);
  return p;
}

/**
 * NDJSON whose first record is longer than the 64 KiB detection head, with the field that makes it long (a
 * Winlogbeat `message`, as a PowerShell script block gives) first, before any key that tells the format.
 */
export function longFirstRecordNdjson(dir: string, fixture = 'otrf-wmi.ecs.ndjson', pad = 100_000): string {
  const ls = ndjsonLines(fixture);
  const first = JSON.parse(ls[0]!) as Record<string, unknown>;
  const long: Record<string, unknown> = { message: `${typeof first['message'] === 'string' ? first['message'] : ''} ${'A'.repeat(pad)}` };
  for (const [k, v] of Object.entries(first)) if (k !== 'message') long[k] = v;
  const p = join(dir, 'long-first.ndjson');
  writeFileSync(p, [JSON.stringify(long), ...ls.slice(1)].join('\n') + '\n');
  return p;
}

/** Event XML with a prolog (a comment) longer than the 64 KiB detection head before the first `<Event>`. */
export function longPrologXml(dir: string, fixture = 'otrf-wmi.events.xml', pad = 70_000): string {
  const p = join(dir, 'long-prolog.xml');
  writeFileSync(p, readFileSync(exportFixture(fixture), 'utf8').replace('<Events>', `<Events>\n<!-- ${'p'.repeat(pad)} -->`));
  return p;
}

// ---- names holding `"` -------------------------------------------------------------------------------------------------

/** A WMI relative path as WMI writes it: the key value in double quotes, `\` and `"` escaped with `\`. */
export const relPath = (cls: string, name: string): string => `${cls}.Name="${name.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
/** A value as Sysmon writes it in 19/20/21: a space, then the value in double quotes with `\` and `"` escaped. */
export const sysmonQuoted = (v: string): string => ` "${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;

/**
 * The Sysmon fixture (evtx-crate JSON Lines) with its filter and consumer renamed to `filter` and `consumer`,
 * written as Sysmon writes them: 19/20 `Name` quoted, 21 `Filter`/`Consumer` the quoted relative path (so a `"` of
 * the name is `\\\"` in the record). `escaped: false` writes the paths with the name's quotes left as they are
 * (a renderer that does not escape them).
 */
export function quotedNamesJsonl(dir: string, filter: string, consumer: string, escaped = true): string {
  const path = (cls: string, name: string): string => (escaped ? relPath(cls, name) : `${cls}.Name="${name}"`);
  const out = ndjsonLines('sysmon-bot.wmiscope.jsonl').map((l) => {
    const r = JSON.parse(l) as { Event: { EventData?: Record<string, unknown> } };
    const ed = r.Event.EventData;
    if (ed?.['EventType'] === 'WmiFilterEvent') ed['Name'] = sysmonQuoted(filter);
    if (ed?.['EventType'] === 'WmiConsumerEvent') ed['Name'] = sysmonQuoted(consumer);
    if (ed?.['EventType'] === 'WmiBindingEvent') {
      ed['Filter'] = escaped ? sysmonQuoted(path('__EventFilter', filter)) : ` "${path('__EventFilter', filter)}"`;
      ed['Consumer'] = escaped ? sysmonQuoted(path('CommandLineEventConsumer', consumer)) : ` "${path('CommandLineEventConsumer', consumer)}"`;
    }
    return JSON.stringify(r);
  });
  const p = join(dir, `quoted-${escaped ? 'escaped' : 'raw'}.jsonl`);
  writeFileSync(p, out.join('\n') + '\n');
  return p;
}

/**
 * The OTRF event-XML fixture with the subscription "Evil Persistence" renamed to `name` in every rendering: Sysmon
 * 19/20 `Name` and 21 paths (escaped as Sysmon does), WMI-Activity 5861 `ESS` (the filter's name as it is),
 * `CONSUMER` (`Class="name"`, quotes escaped as in a WMI path, or left as they are with `escaped: false`),
 * `PossibleCause` MOF (`Name = "…";` with MOF escapes) and the rendered message.
 */
export function quotedNamesXml(dir: string, name: string, escaped = true): string {
  const xmlText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const esc = (s: string): string => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  let x = readFileSync(exportFixture('otrf-wmi.events.xml'), 'utf8');
  // Sysmon 21: ` "__EventFilter.Name=\"Evil Persistence\""` holds the escaped path; the name inside is escaped twice
  x = x.split('Name=\\"Evil Persistence\\"').join(xmlText(`Name=\\"${esc(esc(name))}\\"`));
  // 5861 CONSUMER and the message's `Consumer = …`: `CommandLineEventConsumer="Evil Persistence"`
  x = x.split('CommandLineEventConsumer="Evil Persistence"').join(xmlText(`CommandLineEventConsumer="${escaped ? esc(name) : name}"`));
  // Sysmon 19/20 Name and the MOF `Name = "…";`: one level of escapes
  x = x.split('"Evil Persistence"').join(xmlText(`"${esc(name)}"`));
  // 5861 ESS and the message's `Eventfilter = …`: the name as it is
  x = x.split('Evil Persistence').join(xmlText(name));
  const p = join(dir, `quoted-${escaped ? 'escaped' : 'raw'}.xml`);
  writeFileSync(p, x);
  return p;
}
