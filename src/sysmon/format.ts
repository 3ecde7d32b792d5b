/** The audit as text for a terminal or a ticket. Control characters from the file are shown escaped. */
import type { SysmonAudit } from './audit.js';

const clean = (s: string): string => s.replace(/[\u0000-\u0008\u000b-\u001f\u007f\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`).replace(/\n/g, '\\n');

export function formatSysmonAudit(a: SysmonAudit): string {
  const out: string[] = [];
  out.push(`Sysmon configuration audit: ${clean(a.file)} (schema ${a.schemaVersion ? clean(a.schemaVersion) : 'not given'})`, '');
  out.push('WmiEvent rules (events 19, 20, 21):');
  if (!a.rules.length) out.push('  none: the configuration has no WmiEvent element');
  for (const r of a.rules) {
    out.push(`  line ${r.line}: onmatch=${r.onmatch}, group relation ${r.groupRelation}${r.rules.length ? '' : ', no rules'}`);
    for (const x of r.rules) out.push(`    ${clean(x)}`);
  }
  out.push('', `Verdict: ${a.verdict}`);
  for (const s of a.statements) out.push(`  - ${clean(s)}`);
  out.push('', 'Matrix (documented reading; "other" = outcome under another reading of an open question):');
  out.push('  id  operation  profile   logged  other   why');
  for (const m of a.matrix) {
    const other = m.otherwise.length ? m.otherwise.map((o) => `${o.logged ? 'yes' : 'no'}[${o.reading}]`).join(',') : '';
    out.push(`  ${m.eventId}  ${m.operation.padEnd(9)}  ${m.profile.padEnd(8)}  ${(m.logged ? 'yes' : 'NO').padEnd(6)}  ${other.padEnd(6)}  ${clean(m.label)}: ${clean(m.because)}`);
  }
  if (a.ambiguities.length) {
    out.push('', 'Open questions (the documentation does not settle these; both readings shown):');
    for (const q of a.ambiguities) {
      out.push(`  [${q.id}] ${clean(q.question)}`);
      out.push(`    reading used above: ${q.primary}`);
      out.push(`    other reading: ${q.alternative} — changes ${q.rows.length} row(s) of the matrix`);
    }
  }
  out.push('', 'Blind spots whatever the configuration:');
  for (const b of a.blindSpots) out.push(`  - ${b}`);
  if (a.warnings.length) {
    out.push('', 'Warnings:');
    for (const w of a.warnings) out.push(`  ${w.line !== null ? `line ${w.line}: ` : ''}${clean(w.message)}`);
  }
  return out.join('\n') + '\n';
}
