/**
 * `wmiscope coverage PATH…`: per host, which telemetry the evidence holds and what it cannot show.
 * Exit codes: as every command (./exit.ts).
 */
import { Option } from 'commander';
import type { Command } from 'commander';
import type { CoverageResult } from '../scan.js';
import { writeReport, EXIT_UNUSABLE, exitCode, nothingReadableMessage, preflight, printError, printNotes } from './exit.js';
import { addReadingOptions, readingOptions } from './readopts.js';
import type { ReadingOpts } from './readopts.js';
import { escapeText, jsonSafe } from '../model/text.js';
import { addHostIdentityOptions, hostIdentityOptions } from './hostopts.js';
import { tableWidth, widthOption } from './terminal.js';
import type { HostIdentityOpts } from './hostopts.js';
import { addOnlyHostOption, warnUnmatchedHosts } from './narrowopts.js';
import { hostMatcher } from '../report/select.js';

export function addCoverageCommand(program: Command, version: string): void {
  const cmd = program
    .command('coverage')
    .summary('per host: which telemetry the evidence holds, each log\'s span and completeness, and the blind spots')
    .description(
      'per host in the evidence: which sources are present (Sysmon log and whether it holds any 19/20/21, WMI-Activity log and which of 5857-5861, PowerShell logs, Security 4688, repository, live listings, exports), each log\'s first and last record time, EventRecordID range and completeness (complete since #1, rolled over, excerpt or filtered export, unknown), the repository\'s time span, and the resulting blind spots in words. `scan` uses the same facts for each finding\'s "missed by"',
    )
    .argument('<path...>', 'evidence files or folders (as for scan)')
    .addOption(new Option('-f, --format <format>', 'output format (default: json for an --output ending in .json, else text, also through a pipe, as scan does)').choices(['text', 'json']))
    .option('-o, --output <file>', 'write the report to a file')
    .option('--host <name>', 'attribute all evidence to this host')
    .addOption(widthOption())
    .option('-q, --quiet', 'no notes on stderr (errors behind exit code 2 are still printed)')
    .option('-v, --verbose', 'also list files skipped as not evidence and the symbolic links met (read, or not followed)');
  addOnlyHostOption(cmd, 'the');
  addReadingOptions(cmd);
  addHostIdentityOptions(cmd)
    .action(async (paths: string[], o: HostIdentityOpts & ReadingOpts & { format?: 'text' | 'json'; output?: string; host?: string; quiet?: boolean; verbose?: boolean; width?: number; onlyHost?: string[] }) => {
      // a typo'd path or an unusable output path fails before any evidence is read
      if (!preflight(paths, o.output)) return void (process.exitCode = EXIT_UNUSABLE);
      // loaded for this command only (start-up of the others stays small)
      const [{ coverage, nothingReadable }, { formatCoverageText }] = await Promise.all([import('../scan.js'), import('../report/coverage.js')]);
      let result;
      try {
        result = await coverage(paths, { ...(o.host ? { host: o.host } : {}), ...hostIdentityOptions(o), ...readingOptions(o), version });
      } catch (e) {
        process.exitCode = printError(e instanceof Error ? e.message : String(e));
        return;
      }
      printNotes(result.notes, o);
      // JSON says how many hosts --only-host left out (`hidden`)
      let view: CoverageResult & { hidden?: { onlyHost: string[]; hosts: number } } = result;
      warnUnmatchedHosts(o.onlyHost, result.hosts.map((h) => h.host), result.hostAliases, o.quiet);
      if (o.onlyHost?.length) {
        // the hosts left out are counted, in JSON and on stderr: a host missing from the view is never silent
        const ok = hostMatcher(o.onlyHost, result.hostAliases);
        const shown = result.hosts.filter((h) => ok(h.host));
        const hiddenHosts = result.hosts.length - shown.length;
        if (!o.quiet) process.stderr.write(`wmiscope: --only-host ${o.onlyHost.map(escapeText).join(', ')}: ${shown.length} of ${result.hosts.length} host(s) shown${hiddenHosts ? `, ${hiddenHosts} hidden` : ''}\n`);
        view = { ...result, hosts: shown, hidden: { onlyHost: [...o.onlyHost], hosts: hiddenHosts } };
      }
      const format = o.format ?? (o.output && /\.json$/i.test(o.output) ? 'json' : 'text');
      const toTerminal = !o.output && process.stdout.isTTY === true;
      const text = format === 'json' ? jsonSafe(JSON.stringify(view, null, 2)) + '\n' : formatCoverageText(view.hosts, view.hostAliases, tableWidth(o.width, toTerminal, process.stdout.columns));
      if (!writeReport(o.output, text)) return;
      if (nothingReadable(result)) process.exitCode = printError(nothingReadableMessage(result.notes, o));
      else process.exitCode = exitCode({ readable: true });
    });
}
