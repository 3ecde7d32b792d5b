/**
 * `wmiscope diff OLD.json NEW.json`: two scan results compared per host — subscriptions new, gone and changed.
 * Exit codes: as every command (./exit.ts); 1 = a new or changed subscription at or above --fail-on, not allow-listed.
 */
import * as fs from 'node:fs';
import { Option } from 'commander';
import type { Command } from 'commander';
import { SEVERITIES } from '../model/types.js';
import type { ScanResult, Severity } from '../model/types.js';
import { jsonSafe } from '../model/text.js';
import { EXIT_CLEAN, EXIT_FINDINGS, EXIT_UNUSABLE, preflight, printError, writeReport } from './exit.js';
import { tableWidth, widthOption } from './terminal.js';

/** A result file larger than this is not read (a scan of a large fleet is tens of MiB). */
export const DIFF_MAX_BYTES = 512 * 1024 * 1024;

interface DiffOpts {
  format?: 'table' | 'json' | 'html';
  output?: string;
  failOn: Severity | 'never';
  width?: number;
}

/** The scan result in `file`, or why it cannot be used (read at most {@link DIFF_MAX_BYTES}). */
export async function readScanResult(file: string, maxBytes = DIFF_MAX_BYTES): Promise<ScanResult | string> {
  let text: string;
  let fd: number | null = null;
  try {
    fd = fs.openSync(file, 'r');
    const st = fs.fstatSync(fd);
    if (!st.isFile()) return `${file}: not a file`;
    if (st.size > maxBytes) return `${file}: ${st.size} bytes, over the ${maxBytes}-byte bound for a scan result`;
    // read what is there up to the bound plus one byte (a file growing after the stat is still bounded)
    const buf = Buffer.alloc(Math.min(st.size, maxBytes) + 1);
    let n = 0;
    for (let r; n < buf.length && (r = fs.readSync(fd, buf, n, buf.length - n, n)) > 0; ) n += r;
    if (n > maxBytes) return `${file}: over the ${maxBytes}-byte bound for a scan result`;
    if (n === 0) return `${file}: empty file (0 bytes)`;
    text = buf.toString('utf8', 0, n);
  } catch (e) {
    return `${file}: cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
  let value: unknown;
  try {
    value = JSON.parse(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text);
  } catch (e) {
    return `${file}: not JSON (${e instanceof Error ? e.message : String(e)})`;
  }
  const { asScanResult } = await import('../analysis/diff.js');
  const r = asScanResult(value);
  return typeof r === 'string' ? `${file}: ${r}` : r;
}

export function addDiffCommand(program: Command): void {
  program
    .command('diff')
    .summary('compare two scan results (scan -f json): per host, subscriptions new, gone and changed')
    .description(
      'compare two scan results written by wmiscope scan -f json. Per host (case-insensitive, through the hosts\' other names), a subscription is identified by its namespace, consumer class and consumer (or filter) name, as fleet stacking does: in NEW only is new, in OLD only is gone, in both with another payload hash (command line, script…) or filter query is changed, with what differs; unchanged ones are counted. "Gone" only means not in NEW\'s result, and only for hosts NEW scanned: subscriptions of a host NEW has no evidence for are listed as "not scanned in NEW", never as gone. A result narrowed when written (--min-severity, --only-host, --since) is said to be so. A result file is checked before use: missing, not JSON, not a wmiscope scan result (the first wrong field is named) or over 512 MiB is exit 2',
    )
    .argument('<old>', 'the earlier scan result (JSON)')
    .argument('<new>', 'the later scan result (JSON)')
    .addOption(new Option('-f, --format <format>', 'output format; json is the shape of schema/diff.schema.json, html one self-contained page without script (default: from an --output ending in .json or .html/.htm, else table)').choices(['table', 'json', 'html']))
    .option('-o, --output <file>', 'write the comparison to a file')
    .addOption(new Option('--fail-on <severity>', "exit 1 when a new or changed subscription is at or above this severity (NEW's severity) and not allow-listed in NEW's scan").choices([...SEVERITIES, 'never']).default('high'))
    .addOption(widthOption())
    .action(async (oldFile: string, newFile: string, o: DiffOpts) => {
      if (!preflight([oldFile, newFile], o.output)) return void (process.exitCode = EXIT_UNUSABLE);
      const [a, b] = await Promise.all([readScanResult(oldFile), readScanResult(newFile)]);
      let bad = false;
      for (const r of [a, b]) if (typeof r === 'string') bad = printError(r) === EXIT_UNUSABLE;
      if (bad || typeof a === 'string' || typeof b === 'string') return void (process.exitCode = EXIT_UNUSABLE);
      const { diffScans, failingChanges } = await import('../analysis/diff.js');
      const d = diffScans(a, b);
      const format = o.format ?? (o.output && /\.json$/i.test(o.output) ? 'json' : o.output && /\.html?$/i.test(o.output) ? 'html' : 'table');
      const toTerminal = !o.output && process.stdout.isTTY === true;
      const { formatDiffHtml, formatDiffTable } = await import('../report/diff.js');
      const text =
        format === 'json'
          ? jsonSafe(JSON.stringify({ format: 'wmiscope-diff/1', ...d }, null, 2)) + '\n'
          : format === 'html'
            ? formatDiffHtml(d)
            : formatDiffTable(d, tableWidth(o.width, toTerminal, process.stdout.columns));
      if (!writeReport(o.output, text)) return;
      process.exitCode = failingChanges(d, o.failOn).length > 0 ? EXIT_FINDINGS : EXIT_CLEAN;
    });
}
