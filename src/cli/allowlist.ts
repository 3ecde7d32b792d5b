/**
 * `wmiscope allowlist from-scan RESULT.json`: exact allowlist entries for every finding of a scan result at or
 * below a severity (../report/allowfile.ts). The result file is untrusted input: its size is bounded, it must be
 * JSON, and the fields the entries are made from are checked before use; any problem is exit 2 with one line.
 * Exit codes: 0 = written, 2 = the result cannot be read or the output cannot be written (./exit.ts).
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { Option } from 'commander';
import type { Command } from 'commander';
import type { ScanResult, Severity } from '../model/types.js';
import { SEVERITIES } from '../model/types.js';
import { escapeText } from '../model/text.js';
import { EXIT_UNUSABLE, preflight, printError, writeReport } from './exit.js';

/** Largest scan result read (a JSON string in memory; V8's longest string is about 512 MiB). */
export const MAX_RESULT_BYTES = 256 * 1024 * 1024;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStrOrNull = (v: unknown): boolean => v === null || typeof v === 'string';

/** Why a part (filter, consumer, binding) is not as the entries need it, or null. */
function partProblem(v: unknown): string | null {
  if (v === null) return null;
  if (!isObj(v)) return 'is not an object or null';
  if (!isStrOrNull(v.name) || !isStrOrNull(v.className) || !isStrOrNull(v.namespace ?? null)) return 'has a name, className or namespace that is not a string';
  if (!isObj(v.values)) return 'has no values object';
  return null;
}

/** The scan result in `text`, or why it is not one. Only what the entries are made from is checked. */
export function parseScanResult(text: string): { result: ScanResult } | { problem: string } {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    return { problem: `not JSON (${e instanceof Error ? e.message : String(e)})` };
  }
  if (!isObj(v) || !isObj(v.tool) || v.tool.name !== 'wmiscope' || !Array.isArray(v.findings)) return { problem: 'not a wmiscope scan result (wmiscope scan -f json): no tool "wmiscope" and findings list' };
  if (typeof v.tool.version !== 'string' || typeof v.scannedAt !== 'string' || !Array.isArray(v.hosts)) return { problem: 'not a wmiscope scan result: tool version, scannedAt or hosts missing' };
  for (let i = 0; i < v.findings.length; i++) {
    const f: unknown = v.findings[i];
    const at = `finding ${i + 1}`;
    if (!isObj(f)) return { problem: `${at}: not an object` };
    if (typeof f.id !== 'string' || typeof f.host !== 'string') return { problem: `${at}: no id or host` };
    if (!(SEVERITIES as readonly unknown[]).includes(f.severity)) return { problem: `${at}: severity is not one of ${SEVERITIES.join(', ')}` };
    if (!isStrOrNull(f.namespace)) return { problem: `${at}: namespace is not a string or null` };
    if (f.allowlisted !== null && f.allowlisted !== undefined && !isObj(f.allowlisted)) return { problem: `${at}: allowlisted is not an object or null` };
    for (const k of ['filter', 'consumer', 'binding'] as const) {
      const p = partProblem(f[k] ?? null);
      if (p) return { problem: `${at}: ${k} ${p}` };
    }
  }
  return { result: v as unknown as ScanResult };
}

/** The file's text, read through one descriptor with its size bounded, or why it cannot be read. */
function readBounded(file: string): { text: string } | { problem: string } {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (e) {
    return { problem: `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})` };
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) return { problem: 'is not a file' };
    if (st.size > MAX_RESULT_BYTES) return { problem: `is ${st.size} bytes, more than the ${MAX_RESULT_BYTES} a scan result is read up to` };
    const buf = Buffer.alloc(st.size);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    return { text: buf.subarray(0, got).toString('utf8') };
  } catch (e) {
    return { problem: `cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})` };
  } finally {
    closeSync(fd);
  }
}

export function addAllowlistCommands(program: Command): void {
  const group = program.command('allowlist').summary('make allowlist files').description('make allowlist files (see README "Allowlists")');
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
    .action((file: string, o: { maxSeverity: Severity; output?: string; quiet?: boolean }) => {
      if (!preflight([file], o.output)) return void (process.exitCode = EXIT_UNUSABLE);
      const read = readBounded(file);
      if ('problem' in read) return void (process.exitCode = printError(`${file}: ${read.problem}`));
      const parsed = parseScanResult(read.text);
      if ('problem' in parsed) return void (process.exitCode = printError(`${file}: ${parsed.problem}`));
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
