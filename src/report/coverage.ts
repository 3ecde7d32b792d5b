/**
 * `wmiscope coverage` as text: per host, the sources present, each log with its span, EventRecordID range and
 * completeness (complete since #1, rolled over, excerpt, unknown; "present, 0 records" for a log collected
 * empty), the repositories, and the blind spots. Evidence strings are escaped (control characters shown, never
 * interpreted).
 */
import type { HostAliases, HostCoverage } from '../model/types.js';
import { escapeVisible, textWidth, wrap } from './text.js';

const span = (a: string | null, b: string | null): string => (a || b ? `${a ?? '?'} – ${b ?? '?'}` : 'no record times');

/**
 * The text report; with `width`, a line wider than it is wrapped under its own indentation (two columns more), so no
 * line is wider (at least 40).
 */
export function formatCoverageText(hosts: HostCoverage[], aliases: HostAliases[] = [], width?: number): string {
  const out: string[] = [];
  if (!hosts.length) return 'No host in the evidence.\n';
  for (const h of hosts) {
    out.push(`Host ${escapeVisible(h.host)}`);
    for (const a of aliases.find((x) => x.host.toLowerCase() === h.host.toLowerCase())?.aliases ?? []) out.push(`  also named ${escapeVisible(a.name)}: ${escapeVisible(a.why)}`);
    const yes = (b: boolean, extra = ''): string => (b ? `yes${extra}` : 'no');
    out.push(`  Sysmon log:            ${yes(h.sysmon.present, h.sysmon.present ? (h.sysmon.wmiEventIds.length ? `, WMI events ${h.sysmon.wmiEventIds.join(', ')}` : ', but no WMI events (19/20/21)') : '')}`);
    out.push(`  WMI-Activity log:      ${yes(h.wmiActivity.present, h.wmiActivity.present ? (h.wmiActivity.ids.length ? `, events ${h.wmiActivity.ids.join(', ')}` : ', but none of 5857-5861') : '')}`);
    out.push(`  PowerShell logs:       ${yes(h.powershell.present, h.powershell.ids.length ? `, events ${h.powershell.ids.join(', ')}` : '')}`);
    out.push(`  Process creation:      ${[h.processCreation.security4688 ? 'Security 4688' : '', h.processCreation.sysmon1 ? 'Sysmon 1' : ''].filter(Boolean).join(', ') || 'no'}`);
    out.push(`  WMI repository:        ${h.repositories.length ? h.repositories.length : 'no'}`);
    out.push(`  Live listings:         ${h.live.length ? [...new Set(h.live.map((l) => l.source))].join(', ') : 'no'}`);
    out.push(`  Exports:               ${h.exports.length || 'no'}`);
    if (h.logs.length) {
      out.push('  Logs:');
      for (const l of h.logs) {
        const ids = l.oldestRecordId !== null ? ` #${l.oldestRecordId}–#${l.newestRecordId ?? l.oldestRecordId}` : '';
        const name = l.channelFrom === 'file-name' ? `${escapeVisible(l.channel)} (from the file name)` : escapeVisible(l.channel);
        if (l.records === 0) out.push(`    ${name} (${l.format}): ${l.recovered ? `no records of its own; ${l.recovered} carved from slack` : 'present, 0 records'}`);
        else out.push(`    ${name} (${l.format}, ${l.records} record${l.records === 1 ? '' : 's'}${ids}${l.recovered ? `, ${l.recovered} recovered from slack` : ''}) ${span(l.first, l.last)}; ${l.completenessWhy}`);
        out.push(`      ${escapeVisible(l.file)}`);
      }
    }
    for (const r of h.repositories) {
      out.push(`  Repository ${escapeVisible(r.file)}`);
      out.push(`    subscription objects: ${span(r.objectsFirst, r.objectsLast)}; files last written: ${r.filesModifiedLast ? span(r.filesModifiedFirst, r.filesModifiedLast) : 'unknown (not read from disk)'}`);
    }
    out.push('  Blind spots:');
    if (!h.blindSpots.length) out.push('    none found beyond each source\'s own limits');
    for (const b of h.blindSpots) out.push(`    - ${escapeVisible(b)}`);
    out.push('');
  }
  if (width === undefined) return out.join('\n');
  const w = Math.max(40, Math.floor(width));
  return out
    .flatMap((line) => {
      if (textWidth(line) <= w) return [line];
      const indent = line.length - line.trimStart().length;
      const pad = ' '.repeat(Math.min(indent + 2, w - 20));
      return wrap(line.trimStart(), w - pad.length).map((l, i) => (i === 0 ? ' '.repeat(Math.min(indent, w - 20)) : pad) + l);
    })
    .join('\n');
}
