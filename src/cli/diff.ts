/**
 * `wmiscope diff OLD.json NEW.json`: two scan results compared per host — subscriptions new, gone and changed.
 * Exit codes: as every command (./exit.ts); 1 = a new or changed subscription at or above --fail-on (or a rescored one
 * that rose to at or above it), not allow-listed in NEW's scan or by a `-a` list.
 */
import { Option } from 'commander';
import type { Command } from 'commander';
import { SEVERITIES } from '../model/types.js';
import type { Severity } from '../model/types.js';
import { escapeText, jsonSafe } from '../model/text.js';
import { EXIT_CLEAN, EXIT_FINDINGS, EXIT_UNUSABLE, preflight, printError, writeReport } from './exit.js';
import { readScanResult } from './result-file.js';
import { tableWidth, widthOption } from './terminal.js';


interface DiffOpts {
  format?: 'table' | 'json' | 'html';
  output?: string;
  failOn: Severity | 'never';
  allowlist?: string[];
  width?: number;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];


export function addDiffCommand(program: Command): void {
  program
    .command('diff')
    .summary('compare two scan results (scan -f json): per host, subscriptions new, gone, changed and rescored')
    .description(
      'compare two scan results written by wmiscope scan -f json. Per host (case-insensitive, through the hosts\' other names), a subscription is identified by its namespace, consumer class and consumer (or filter) name, as fleet stacking does: in NEW only is new, in OLD only is gone, in both with another payload hash (command line, script…) or filter query is changed, with what differs; in both with the same payload but another severity or score (new rules, another wmiscope version) is rescored, with the reason ids added and removed; unchanged ones are counted. "Gone" only means not in NEW\'s result, and only where NEW\'s evidence could show it (the host scanned, and for it a live listing that lists it, or a log of a source that saw it in OLD holding the time it was seen): subscriptions of a host NEW has no evidence for are listed as "not scanned in NEW", those NEW\'s evidence could not have shown as "not shown by NEW\'s evidence", never as gone. A result narrowed when written (--min-severity, --only-host, --since) is said to be so. A result file is checked before use: missing, not JSON, not a wmiscope scan result (the first wrong field is named) or over 256 MiB is exit 2',
    )
    .argument('<old>', 'the earlier scan result (JSON)')
    .argument('<new>', 'the later scan result (JSON)')
    .addOption(new Option('-f, --format <format>', 'output format; json is the shape of schema/diff.schema.json, html one self-contained page without script (default: from an --output ending in .json or .html/.htm, else table)').choices(['table', 'json', 'html']))
    .option('-o, --output <file>', 'write the comparison to a file (then one line on stderr gives the totals and the exit)')
    .addOption(new Option('--fail-on <severity>', "exit 1 when a new or changed subscription is at or above this severity (NEW's severity), or a rescored one rose to at or above it, and it is not allow-listed (in NEW's scan or by -a)").choices([...SEVERITIES, 'never']).default('high'))
    .option('-a, --allowlist <file>', "allowlist file (YAML, as scan -a); repeatable: a subscription an entry matches exactly counts as allow-listed (shown, not failing), besides what each scan allow-listed or suppressed. It adds allow-listing, never removes it: the severity a scan set to info when it allow-listed a finding is not in the result. A broken file is exit 2", collect)
    .addOption(widthOption())
    .action(async (oldFile: string, newFile: string, o: DiffOpts) => {
      if (!preflight([oldFile, newFile, ...(o.allowlist ?? [])], o.output)) return void (process.exitCode = EXIT_UNUSABLE);
      const { loadAllowlist } = await import('../analysis/allowlist.js');
      const lists = [];
      try {
        for (const f of o.allowlist ?? []) lists.push(loadAllowlist(f));
      } catch (e) {
        return void (process.exitCode = printError(e instanceof Error ? e.message : String(e)));
      }
      const [a, b] = await Promise.all([readScanResult(oldFile), readScanResult(newFile)]);
      let bad = false;
      for (const r of [a, b]) if (typeof r === 'string') bad = printError(r) === EXIT_UNUSABLE;
      if (bad || typeof a === 'string' || typeof b === 'string') return void (process.exitCode = EXIT_UNUSABLE);
      const { diffScans, failingChanges } = await import('../analysis/diff.js');
      const d = diffScans(a, b, { allowlists: lists });
      const format = o.format ?? (o.output && /\.json$/i.test(o.output) ? 'json' : o.output && /\.html?$/i.test(o.output) ? 'html' : 'table');
      const toTerminal = !o.output && process.stdout.isTTY === true;
      const { diffExitText, formatDiffHtml, formatDiffTable, totalsText } = await import('../report/diff.js');
      const failing = failingChanges(d, o.failOn);
      // why it exits so: the last line of the table (as scan's), and on stderr when the comparison goes to a file
      const exitText = diffExitText(failing, o.failOn);
      const text =
        format === 'json'
          ? jsonSafe(JSON.stringify({ format: 'wmiscope-diff/1', ...d }, null, 2)) + '\n'
          : format === 'html'
            ? formatDiffHtml(d)
            : formatDiffTable(d, tableWidth(o.width, toTerminal, process.stdout.columns)) + '\n' + exitText + '\n';
      if (!writeReport(o.output, text)) return;
      if (o.output) process.stderr.write(`wmiscope: wrote ${escapeText(o.output)} — ${totalsText(d.totals)}; ${exitText.replace(/^Exit (\d) +/, 'exit $1: ')}\n`);
      process.exitCode = failing.length > 0 ? EXIT_FINDINGS : EXIT_CLEAN;
    });
}
