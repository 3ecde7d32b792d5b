/**
 * `wmiscope coverage PATH…`: per host, which telemetry the evidence holds and what it cannot show.
 * Exit codes: 0 = done; 2 = no evidence could be read.
 */
import { writeFileSync } from 'node:fs';
import { Option } from 'commander';
import type { Command } from 'commander';
import { coverage } from '../scan.js';
import { formatCoverageText } from '../report/coverage.js';

export function addCoverageCommand(program: Command, version: string): void {
  program
    .command('coverage')
    .summary('per host: which telemetry the evidence holds, each log\'s span and completeness, and the blind spots')
    .description(
      'per host in the evidence: which sources are present (Sysmon log and whether it holds any 19/20/21, WMI-Activity log and which of 5857-5861, PowerShell logs, Security 4688, repository, live listings, exports), each log\'s first and last record time, EventRecordID range and completeness (complete since #1, rolled over, excerpt or filtered export, unknown), the repository\'s time span, and the resulting blind spots in words. `scan` uses the same facts for each finding\'s "missed by"',
    )
    .argument('<path...>', 'evidence files or folders (as for scan)')
    .addOption(new Option('-f, --format <format>', 'output format (default: text on a terminal, json otherwise)').choices(['text', 'json']))
    .option('-o, --output <file>', 'write the report to a file')
    .option('--host <name>', 'attribute all evidence to this host')
    .option('-q, --quiet', 'no notes on stderr')
    .action(async (paths: string[], o: { format?: 'text' | 'json'; output?: string; host?: string; quiet?: boolean }) => {
      let result;
      try {
        result = await coverage(paths, { ...(o.host ? { host: o.host } : {}), version });
      } catch (e) {
        process.stderr.write(`wmiscope: error: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 2;
        return;
      }
      if (!o.quiet) for (const n of result.notes) if (n.level !== 'skipped') process.stderr.write(`wmiscope: ${n.file}: ${n.level}: ${n.message.replace(/[\u0000-\u001f\u007f]/g, '?')}\n`);
      const format = o.format ?? (o.output || !process.stdout.isTTY ? 'json' : 'text');
      const text = format === 'json' ? JSON.stringify(result, null, 2) + '\n' : formatCoverageText(result.hosts);
      try {
        if (o.output) writeFileSync(o.output, text);
        else process.stdout.write(text);
      } catch (e) {
        process.stderr.write(`wmiscope: error: ${e instanceof Error ? e.message : String(e)}\n`);
        process.exitCode = 2;
        return;
      }
      process.exitCode = result.evidence.length === 0 ? 2 : 0;
    });
}
