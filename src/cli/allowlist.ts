/**
 * `wmiscope allowlist from-scan RESULT.json`: exact allowlist entries for every finding of a scan result at or
 * below a severity (../report/allowfile.ts). The result file is untrusted input: its size is bounded, it must be
 * JSON, and the fields the entries are made from are checked before use; any problem is exit 2 with one line.
 * Exit codes: 0 = written, 2 = the result cannot be read or the output cannot be written (./exit.ts).
 */
import { Option } from 'commander';
import type { Command } from 'commander';
import type { Severity } from '../model/types.js';
import { SEVERITIES } from '../model/types.js';
import { escapeText } from '../model/text.js';
import { EXIT_UNUSABLE, preflight, printError, writeReport } from './exit.js';
import { readScanResult } from './result-file.js';

export function addAllowlistCommands(program: Command): void {
  const group = program.command('allowlist').summary('make allowlist files').description('make allowlist files (README "Known-good from a clean scan: allowlist from-scan"; the file format: README "CLI reference", the built-in allowlist)');
  group
    .command('from-scan')
    .summary('exact allowlist entries for every finding of a scan result at or below a severity')
    .description(
      'exact allowlist entries (the ones the HTML report\'s triage writes) for every finding of a scan result (wmiscope scan -f json) at or below --max-severity: for a golden image or a fleet known to be clean. The same subscription on several hosts is one entry, with a comment naming the hosts. Findings already allow-listed are left out (their list matches them already), and so are findings for which no exact entry can be written: both are counted on stderr, the latter each with why. Exit codes: 0 = written, 2 = the result cannot be read or is not a scan result, or the output cannot be written',
    )
    .argument('<result>', 'a scan result: the output of wmiscope scan -f json')
    .addOption(new Option('--max-severity <severity>', 'the most severe findings to write entries for').choices([...SEVERITIES]).default('low'))
    .option('-o, --output <file>', 'write the allowlist to a file (never over the result)')
    .option('-q, --quiet', 'no summary on stderr (errors and findings left out for want of an exact entry are still printed)')
    .action(async (file: string, o: { maxSeverity: Severity; output?: string; quiet?: boolean }) => {
      if (!preflight([file], o.output)) return void (process.exitCode = EXIT_UNUSABLE);
      const read = await readScanResult(file);
      if (typeof read === 'string') return void (process.exitCode = printError(read));
      const parsed = { result: read };
      return import('../report/allowfile.js').then(({ allowlistFromScan }) => {
        const made = allowlistFromScan(parsed.result, o.maxSeverity, file);
        for (const s of made.skipped) {
          process.stderr.write(`wmiscope: no exact entry for finding ${escapeText(s.finding.id)} (host ${escapeText(s.finding.host)}, ${s.finding.severity}): ${escapeText(s.why)}\n`);
        }
        if (!o.quiet) {
          const also = [
            made.allowlisted.length ? `${made.allowlisted.length} already allow-listed left out` : '',
            made.skipped.length ? `${made.skipped.length} without an exact entry left out` : '',
            made.above ? `${made.above} above ${o.maxSeverity} left out` : '',
          ].filter(Boolean);
          process.stderr.write(`wmiscope: ${made.entries} allowlist ${made.entries === 1 ? 'entry' : 'entries'} for ${made.covered.length} finding(s) at or below ${o.maxSeverity}${also.length ? `; ${also.join(', ')}` : ''}\n`);
        }
        writeReport(o.output, made.text);
      });
    });
}
