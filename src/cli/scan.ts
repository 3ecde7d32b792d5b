/**
 * `wmiscope scan PATH…`: evidence folders in, explained findings out.
 * Exit codes: as every command (./exit.ts); 1 = findings at or above --fail-on.
 */
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import cliProgress from 'cli-progress';
import { nothingReadable, scan } from '../scan.js';
import { SEVERITIES } from '../model/types.js';
import { escapeText } from '../model/text.js';
import { writeReport, EXIT_UNUSABLE, exitCode, nothingReadableMessage, preflight, printError, printNotes } from './exit.js';
import { addReadingOptions, readingOptions } from './readopts.js';
import type { ReadingOpts } from './readopts.js';
import { formatReport, REPORT_FORMATS } from '../report/index.js';
import type { ReportFormat } from '../report/index.js';
import type { Severity } from '../model/types.js';
import { addHostIdentityOptions, hostIdentityOptions } from './hostopts.js';
import type { HostIdentityOpts } from './hostopts.js';
import { addNarrowingOptions, narrowingOptions, warnUnmatchedHosts } from './narrowopts.js';
import type { NarrowingOpts } from './narrowopts.js';

interface ScanOpts extends HostIdentityOpts, ReadingOpts, NarrowingOpts {
  format?: ReportFormat;
  output?: string;
  host?: string;
  minSeverity: Severity;
  failOn: Severity | 'never';
  allowlist?: string[];
  defaultAllowlist: boolean;
  quiet?: boolean;
  threads?: number;
  verbose?: boolean;
  stacking: boolean;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

/** The format an output file name asks for (`report.html` → html), or null. */
export function formatFromName(file: string | undefined): ReportFormat | null {
  const m = file ? /\.(html?|csv|jsonl|ndjson|json)$/i.exec(file) : null;
  if (!m) return null;
  const ext = m[1]!.toLowerCase();
  return ext.startsWith('htm') ? 'html' : ext === 'csv' ? 'csv' : ext === 'json' ? 'json' : 'jsonl';
}

export function addScanCommand(program: Command, version: string): void {
  const cmd = program
    .command('scan')
    .description(
      'find WMI event subscriptions in evidence and explain each finding. Evidence is recognized by content: EVTX logs, WMI repositories, event exports (evtx-crate JSON/JSONL, Winlogbeat/ECS, nxlog, Event Viewer XML), Velociraptor rows and collection zips, autorunsc CSV, wmiscope collector documents, and any of these inside zip, tar or tar.gz archives (read in place); with several hosts, each subscription is stacked across the fleet',
    )
    .argument('<path...>', 'evidence files or folders (a triage collection, a mounted image, a zip, tar or tar.gz, a folder of many host collections)')
    .addOption(new Option('-f, --format <format>', 'output format; html is one self-contained page to open in a browser (default: from the --output extension .html/.htm, .csv, .jsonl/.ndjson, .json; else table on a terminal, json otherwise)').choices([...REPORT_FORMATS]))
    .option('-o, --output <file>', 'write the report to a file')
    .option('--host <name>', 'attribute all evidence to this host')
    .addOption(new Option('--min-severity <severity>', 'report findings at or above this severity').choices(SEVERITIES).default('info'))
    .addOption(new Option('--fail-on <severity>', 'exit 1 when a finding (not allow-listed) is at or above this severity').choices([...SEVERITIES, 'never']).default('high'))
    .option('-a, --allowlist <file>', 'allowlist file (YAML); repeatable', collect)
    .option('--no-default-allowlist', 'do not use the built-in known-good entries')
    .option('-j, --threads <n>', 'worker threads reading evidence in parallel (default: CPUs, at most 8; 1 = none, everything read in the main thread, as with fewer than 4 inputs)', (v: string) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError('a whole number from 1 to 64');
      return n;
    })
    .option('--no-stacking', 'do not stack subscriptions across hosts (no fleet counts, no rare or common marks); by default they are counted over the hosts whose evidence can show subscriptions (a repository, a live listing, a Sysmon or WMI-Activity log)')
    .option('-q, --quiet', 'no progress bar and no notes on stderr (errors behind exit code 2 are still printed)')
    .option('-v, --verbose', 'also list files skipped as not evidence and the symbolic links met (read, or not followed)');
  addNarrowingOptions(cmd);
  addReadingOptions(cmd);
  addHostIdentityOptions(cmd)
    .action(async (paths: string[], o: ScanOpts) => {
      // a typo'd path or an unusable output path fails before any evidence is read
      if (!preflight(paths, o.output)) return void (process.exitCode = EXIT_UNUSABLE);
      const bar = !o.quiet && process.stderr.isTTY ? new cliProgress.SingleBar({ format: 'scanning [{bar}] {value}/{total} {file}', stream: process.stderr, hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic) : null;
      let started = false;
      let result;
      try {
        result = await scan(paths, {
          ...(o.threads ? { threads: o.threads } : {}),
          ...(o.host ? { host: o.host } : {}),
          ...hostIdentityOptions(o),
          ...readingOptions(o),
          allowlists: o.allowlist ?? [],
          defaultAllowlist: o.defaultAllowlist,
          stacking: o.stacking,
          version,
          onProgress: (done, total, file) => {
            if (!bar) return;
            if (!started) {
              bar.start(total, 0, { file: '' });
              started = true;
            }
            const shown = escapeText(file);
            bar.update(done, { file: shown.length > 50 ? '…' + shown.slice(-49) : shown });
          },
        });
      } catch (e) {
        bar?.stop();
        process.exitCode = printError(e instanceof Error ? e.message : String(e));
        return;
      }
      bar?.stop();
      // what was refused by a bound still shows; files not evidence and links met only with -v
      printNotes(result.notes, o);
      warnUnmatchedHosts(o.onlyHost, result.hosts, result.hostAliases, o.quiet);
      const format: ReportFormat = o.format ?? formatFromName(o.output) ?? (o.output || !process.stdout.isTTY ? 'json' : 'table');
      const text = formatReport(result, format, { minSeverity: o.minSeverity, ...narrowingOptions(o), color: format === 'table' && !o.output && process.stdout.isTTY === true });
      if (!writeReport(o.output, text)) return;
      // nothing readable is not "clean": the report says 0 findings because nothing was read
      if (nothingReadable(result)) {
        process.exitCode = printError(nothingReadableMessage(result.notes, o));
        return;
      }
      const failAt = o.failOn === 'never' ? -1 : SEVERITIES.indexOf(o.failOn);
      process.exitCode = exitCode({ readable: true, failing: result.findings.some((f) => !f.allowlisted && SEVERITIES.indexOf(f.severity) <= failAt) });
    });
}
