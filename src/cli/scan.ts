/**
 * `wmiscope scan PATH…`: evidence folders in, explained findings out.
 * Exit codes: as every command (./exit.ts); 1 = findings at or above --fail-on.
 */
import * as fs from 'node:fs';
import { InvalidArgumentError, Option } from 'commander';
import type { Command } from 'commander';
import { SEVERITIES } from '../model/types.js';
import type { ScanResult } from '../model/types.js';
import { escapeText } from '../model/text.js';
import { writeReport, EXIT_UNUSABLE, exitCode, nothingReadableMessage, preflight, printError, printNotes } from './exit.js';
import { colorOption, progressBar, tableWidth, useColor, widthOption } from './terminal.js';
import type { ColorWhen } from './terminal.js';
import { failingFindings, findingById, narrowFindings } from '../report/select.js';
import { formatCount } from '../report/text.js';
import { addReadingOptions, readingOptions } from './readopts.js';
import type { ReadingOpts } from './readopts.js';
import { REPORT_FORMATS } from '../report/formats.js';
import type { Narrowing, ReportFormat } from '../report/index.js';
import type { Severity } from '../model/types.js';
import { addHostIdentityOptions, hostIdentityOptions } from './hostopts.js';
import type { HostIdentityOpts } from './hostopts.js';
import { addNarrowingOptions, narrowingOptions, warnUnmatchedHosts } from './narrowopts.js';
import type { NarrowingOpts } from './narrowopts.js';

interface ScanOpts extends HostIdentityOpts, ReadingOpts, NarrowingOpts {
  format?: ReportFormat;
  output?: string;
  csvBom?: boolean;
  host?: string;
  minSeverity: Severity;
  failOn: Severity | 'never';
  allowlist?: string[];
  sigma?: string[];
  defaultAllowlist: boolean;
  rules?: string[];
  baseline?: string;
  quiet?: boolean;
  threads?: number;
  verbose?: boolean;
  stacking: boolean;
  details?: boolean | string;
  width?: number;
  color: ColorWhen;
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
      'find WMI event subscriptions in evidence and explain each finding. Evidence is recognized by content: EVTX logs, WMI repositories, event exports (evtx-crate JSON/JSONL, Winlogbeat/ECS, nxlog, Sentinel/Log Analytics and Splunk results as JSON or CSV, Event Viewer XML), Velociraptor rows and collection zips, autorunsc CSV, wmiscope collector documents, and any of these inside zip, tar or tar.gz archives (read in place). Subscriptions that PowerShell 800/4103/4104 records create are rebuilt from the script\'s literal values (never run; other values are "computed at run time"), and the process starts a subscription caused (Sysmon 1, Security 4688, Velociraptor process rows: scrcons.exe, WmiPrvSE.exe children) are listed as what it ran. The table\'s PAYLOAD column is what the consumer is set to run; --details adds Ran, the logged starts. With several hosts, each subscription is stacked across the fleet.',
    )
    .argument('<path...>', 'evidence files or folders (a triage collection, a mounted image, a zip, tar or tar.gz, a folder of many host collections)')
    .addOption(new Option('-f, --format <format>', 'output format; html is one self-contained page to open in a browser (default: from the --output extension .html/.htm, .csv, .jsonl/.ndjson, .json; else table, also through a pipe)').choices([...REPORT_FORMATS]))
    .option('-o, --output <file>', 'write the report to a file')
    .option('--csv-bom', 'CSV: start with a UTF-8 byte order mark, so Excel opens it as UTF-8')
    .option('--host <name>', 'attribute all evidence to this host')
    .addOption(new Option('--min-severity <severity>', 'report findings at or above this severity').choices(SEVERITIES).default('info'))
    .addOption(new Option('--fail-on <severity>', 'exit 1 when a finding (not allow-listed) is at or above this severity').choices([...SEVERITIES, 'never']).default('high'))
    .option('-a, --allowlist <file>', 'allowlist file (YAML); repeatable', collect)
    .option('--no-default-allowlist', 'do not use the built-in known-good entries')
    .option('--sigma <path>', 'Sigma rule file or folder (SigmaHQ format); repeatable. Rules for wmi_event, service wmi, ps_script, ps_module, ps_classic_* / service powershell-classic and process_creation are matched against every event record they may match and against each subscription as the Sysmon 19/20/21 and WMI-Activity 5861 records a fully-logging Sysmon and WMI-Activity log would have written (so they fire on a subscription only the repository holds); hits are sigma:<id> reasons. Other log sources are counted as not applicable; a rule using something unsupported is listed as not loaded, with why', collect)
    .option('--rules <file|dir>', 'your own rules (YAML, README "Your own rules"; a folder: its *.yml and *.yaml files by name): add scored reasons, bound severities or suppress with a justification; applied after coverage, fleet stacking and --sigma (they see sigma:<id> reasons); repeatable. A broken file is an error (exit 2, file:line:column) before any evidence is read. wmiscope rules list|test checks them', collect)
    .option('-j, --threads <n>', 'worker threads reading evidence in parallel, the largest files first (default auto: on 4 cores or more a worker for each 256 MiB of input, at most the cores and 8, never more than the input over its largest file; else, and under 512 MiB, everything is read in the main thread; 1 = none; a number is used as given with 4 inputs or more)', (v: string) => {
      if (v === 'auto') return 0;
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError('a whole number from 1 to 64, or auto');
      return n;
    })
    .option('--baseline <result.json>', 'an earlier scan result (wmiscope scan -f json) to compare with: the report gets "Changes since baseline" (per host: new, gone, changed, rescored; as wmiscope diff BASELINE NEW would say), the JSON a "changes" field. It changes no finding and not the exit code (wmiscope diff decides on changes); --only-host, --since/--until and --min-severity narrow it as they narrow the findings. "Gone" is said only where this scan\'s evidence could have shown the subscription (README "Change over time"). An unusable file (missing, not JSON, not a scan result, over 256 MiB) is exit 2 before any evidence is read')
    .option('--no-stacking', 'do not stack subscriptions across hosts (no fleet counts, no rare or common marks); by default they are counted over the hosts whose evidence can show subscriptions (a repository, a live listing, a Sysmon or WMI-Activity log)')
    .addOption(
      new Option('--details [id]', "table: every finding's full block (query, reasons, decoded payload, each observation with its file and record, coverage), or with an id (or its start, as in the id column) that finding's alone").argParser((v: string) => {
        if (!/^[0-9a-f]{1,64}$/i.test(v)) throw new InvalidArgumentError('a finding id (hex, as in the id column); to show every finding in full, put --details after the paths');
        return v;
      }),
    )
    .addOption(widthOption())
    .addOption(colorOption())
    .option('-q, --quiet', 'no progress bar, no notes and no "wrote" line on stderr; the table shows the findings and the summary only (errors behind exit code 2 are still printed)')
    .option('-v, --verbose', 'also list the evidence read, the files skipped as not evidence and the symbolic links met (read, or not followed)');
  addNarrowingOptions(cmd);
  addReadingOptions(cmd);
  addHostIdentityOptions(cmd)
    .action(async (paths: string[], o: ScanOpts) => {
      // a typo'd path or an unusable output path fails before any evidence is read
      if (!preflight(paths, o.output)) return void (process.exitCode = EXIT_UNUSABLE);
      const noSigma = (o.sigma ?? []).find((p) => !fs.existsSync(p));
      if (noSigma !== undefined) return void (process.exitCode = printError(`--sigma ${noSigma}: no such file or folder`));
      // so does a broken rules file (scan loads the rules again: it takes paths, and reading them twice costs little)
      if (o.rules?.length && !(await rulesLoad(o.rules))) return void (process.exitCode = EXIT_UNUSABLE);
      // so does an unusable baseline (read once, bounded, its shape checked)
      let baseline: ScanResult | undefined;
      if (o.baseline !== undefined) {
        if (!preflight([o.baseline], undefined)) return void (process.exitCode = EXIT_UNUSABLE);
        const { readScanResult } = await import('./result-file.js');
        const read = await readScanResult(o.baseline);
        if (typeof read === 'string') return void (process.exitCode = printError(`--baseline ${read}`));
        baseline = read;
      }
      const format: ReportFormat = o.format ?? formatFromName(o.output) ?? 'table';
      if (o.details !== undefined && format !== 'table') return void (process.exitCode = printError(`--details shows findings in the table; the ${format} report has them all in full (wmiscope scan --help)`));
      // the reader and the report writers are loaded here, for this command only (start-up of the others stays small)
      const [{ nothingReadable, scan }, { formatNotes, formatReport, formatSigmaRefused }] = await Promise.all([import('../scan.js'), import('../report/index.js')]);
      const bar = o.quiet ? null : progressBar(process.stderr);
      let result;
      try {
        result = await scan(paths, {
          ...(o.threads ? { threads: o.threads } : {}),
          ...(o.host ? { host: o.host } : {}),
          ...hostIdentityOptions(o),
          ...readingOptions(o),
          allowlists: o.allowlist ?? [],
          ...(o.sigma ? { sigma: o.sigma } : {}),
          defaultAllowlist: o.defaultAllowlist,
          ...(o.rules?.length ? { rules: o.rules } : {}),
          stacking: o.stacking,
          ...(baseline ? { baseline } : {}),
          version,
          ...(bar ? { onProgress: bar.update } : {}),
        });
      } catch (e) {
        bar?.stop();
        process.exitCode = printError(e instanceof Error ? e.message : String(e));
        return;
      }
      bar?.stop();
      if (typeof o.details === 'string') {
        const hit = findingById(result.findings, o.details);
        if ('problem' in hit) return void (process.exitCode = printError(`--details ${o.details}: ${hit.problem}`));
      }
      // notes are said once: in the table when it is printed on stdout; with -o, counted on the "wrote" line (they are
      // in the report; -v prints them all on stderr too); another format on stdout: on stderr as the table groups them
      // (one line per file, at most 10; every note with -v)
      const tableOnStdout = format === 'table' && !o.output;
      if (!tableOnStdout && !o.quiet) {
        if (o.verbose) {
          printNotes(result.notes, o);
          const refused = formatSigmaRefused(result, { width: tableWidth(o.width, process.stderr.isTTY === true, process.stderr.columns) - 'wmiscope: '.length }).split('\n').filter(Boolean);
          process.stderr.write(refused.map((l) => `wmiscope: ${l}\n`).join(''));
        }
        else if (!o.output) {
          const lines = formatNotes(result, { width: tableWidth(o.width, process.stderr.isTTY === true, process.stderr.columns) - 'wmiscope: '.length }).split('\n').filter(Boolean);
          process.stderr.write(lines.map((l) => `wmiscope: ${l}\n`).join(''));
        }
      }
      warnUnmatchedHosts(o.onlyHost, result.hosts, result.hostAliases, o.quiet);
      const toTerminal = tableOnStdout && process.stdout.isTTY === true;
      const narrowing: Narrowing = { minSeverity: o.minSeverity, ...narrowingOptions(o) };
      const text = formatReport(result, format, {
        ...narrowing,
        color: format === 'table' && useColor(o.color, process.env, toTerminal),
        width: tableWidth(o.width, toTerminal, process.stdout.columns),
        failOn: o.failOn,
        csvBom: o.csvBom === true,
        ...(o.details !== undefined ? { details: o.details } : {}),
        ...(o.verbose ? { verbose: true } : {}),
        ...(o.quiet ? { quiet: true } : {}),
      });
      if (!writeReport(o.output, text)) return;
      if (o.output && !o.quiet) process.stderr.write(`wmiscope: ${wroteLine(o.output, result, narrowing)}\n`);
      // nothing readable is not "clean": the report says 0 findings because nothing was read
      if (nothingReadable(result)) {
        process.exitCode = printError(nothingReadableMessage(result.notes, o));
        return;
      }
      process.exitCode = exitCode({ readable: true, failing: failingFindings(result, o.failOn).length > 0 });
    });
}

/**
 * Load the rules files of `--rules` (loaded here, for this option only): false, with each problem printed as
 * `file:line:column: message` on stderr, when one cannot be used.
 */
export async function rulesLoad(paths: string[]): Promise<boolean> {
  const { loadRules, problemText, RulesError } = await import('../analysis/custom/index.js');
  try {
    loadRules(paths);
    return true;
  } catch (e) {
    if (!(e instanceof RulesError)) throw e;
    for (const p of e.problems) printError(problemText(p));
    return false;
  }
}

/**
 * `wrote report.html — 8 findings (2 critical, 2 high, 4 info) from 66 files`: the report's findings (as narrowed), by
 * severity (every severity present, so the counts add up to the total), display-safe.
 */
export function wroteLine(output: string, result: ScanResult, narrowing: Narrowing): string {
  const sel = narrowFindings(result, narrowing);
  const shown = sel.findings;
  const worst = SEVERITIES.map((s) => [s, shown.filter((f) => f.severity === s).length] as const).filter(([, n]) => n > 0);
  const read = result.read;
  const from = read ? ` from ${formatCount(read.files)} file${read.files === 1 ? '' : 's'}${read.repositories ? ` and ${formatCount(read.repositories)} ${read.repositories === 1 ? 'repository' : 'repositories'}` : ''}` : '';
  const hidden = sel.hidden.total ? `; ${formatCount(sel.hidden.total)} more hidden by the narrowing` : '';
  const levels = (['error', 'warning', 'skipped'] as const).map((l) => [l, result.notes.filter((n) => n.level === l).length] as const).filter(([, n]) => n > 0);
  const notes = levels.length ? `; notes in the report: ${levels.map(([l, n]) => (l === 'skipped' ? `${formatCount(n)} skipped` : `${formatCount(n)} ${l}${n === 1 ? '' : 's'}`)).join(', ')}` : '';
  const refused = result.sigma?.notLoaded.length ?? 0;
  const sigma = refused ? `; ${formatCount(refused)} Sigma rule${refused === 1 ? '' : 's'} not loaded (wmiscope rules list --sigma shows why)` : '';
  return `wrote ${escapeText(output)} — ${formatCount(shown.length)} finding${shown.length === 1 ? '' : 's'}${worst.length ? ` (${worst.map(([s, n]) => `${formatCount(n)} ${s}`).join(', ')})` : ''}${from}${hidden}${notes}${sigma}`;
}
