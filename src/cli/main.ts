#!/usr/bin/env node
/**
 * wmiscope command line. Thin: argument parsing (commander), output, exit codes.
 * Exit codes: one scheme for every command (./exit.ts, README "Exit codes"): 0 = read, 1 = scan findings at
 * or above --fail-on, 2 = nothing readable, a given path missing, a usage error or an unusable output path.
 */
import { createWriteStream, readFileSync, rmSync, statSync } from 'node:fs';
import type { Writable } from 'node:stream';
import { availableParallelism } from 'node:os';
import { Command, InvalidArgumentError, Option } from 'commander';
import type { EvtxChunkInfo, EvtxReader, EvtxWarning } from '../evtx/index.js';
import { escapeText, jsonSafe } from '../model/text.js';
import { addCimCommands } from './cim.js';
import { addScanCommand } from './scan.js';
import { addCollectorCommand } from './collector.js';
import { addSysmonCommands } from './sysmon.js';
import { addCoverageCommand } from './coverage.js';
import { EXIT_HELP, EXIT_UNUSABLE, exitCode, guardOutputStreams, preflight, printError } from './exit.js';
import { EMPTY_FILE } from '../sources/containers/folder.js';
import { LIVE_TEMP_FOLDERS } from '../scan.js';
import type { EvtxOutputFormat } from '../evtx/serialize.js';

const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

function intList(v: string, prev: number[] = []): number[] {
  const out = [...prev];
  for (const part of v.split(',')) {
    const t = part.trim();
    if (!t) continue;
    if (!/^\d+$/.test(t) || Number(t) > 65535) throw new InvalidArgumentError(`"${t}" is not an event id (0-65535)`);
    out.push(Number(t));
  }
  return out;
}

function strList(v: string, prev: string[] = []): string[] {
  return [...prev, ...v.split(',').map((s) => s.trim()).filter(Boolean)];
}

function threadCount(v: string): number {
  if (v === 'auto' || v === '0') return availableParallelism();
  if (!/^\d+$/.test(v) || Number(v) < 1) throw new InvalidArgumentError('expected a positive integer or "auto"');
  return Number(v);
}

/** Writer honouring back-pressure; small pieces are gathered into larger writes. */
class Out {
  private parts: Uint8Array[] = [];
  private size = 0;
  constructor(private readonly stream: Writable) {}
  async write(s: string | Uint8Array): Promise<void> {
    const b = typeof s === 'string' ? Buffer.from(s, 'utf8') : s;
    if (b.length >= 1 << 14) {
      // large pieces (a chunk's records) go out as they are, without another copy
      await this.flush();
      if (!this.stream.write(b)) await new Promise<void>((res) => this.stream.once('drain', () => res()));
      return;
    }
    this.parts.push(b);
    this.size += b.length;
    if (this.size >= 1 << 18) await this.flush();
  }
  async flush(): Promise<void> {
    if (!this.parts.length) return;
    const data = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.size);
    this.parts = [];
    this.size = 0;
    if (!this.stream.write(data)) await new Promise<void>((res) => this.stream.once('drain', () => res()));
  }
  async end(): Promise<void> {
    await this.flush();
    if (this.stream !== process.stdout) await new Promise<void>((res) => this.stream.end(() => res()));
  }
}

function printWarning(file: string, w: EvtxWarning): void {
  process.stderr.write(`wmiscope: ${escapeText(file)}: warning [${w.code}]: ${escapeText(w.message)}\n`);
}

/** Why an EVTX file given by name could not be read; a 0-byte file says so rather than "no signature". */
async function evtxError(file: string, e: unknown): Promise<string> {
  const { EvtxFormatError } = await import('../evtx/index.js');
  let empty = false;
  try {
    empty = statSync(file).size === 0;
  } catch {
    // the reader's own error says why
  }
  if (empty) return `${file}: ${EMPTY_FILE}`;
  return e instanceof EvtxFormatError ? e.message : `${file}: ${e instanceof Error ? e.message : String(e)}`;
}

interface DumpOpts {
  format: EvtxOutputFormat;
  eventId?: number[];
  channel?: string[];
  provider?: string[];
  recovered?: boolean;
  threads: number;
  meta?: boolean;
  output?: string;
  quiet?: boolean;
  checksums: boolean;
}

async function dump(files: string[], o: DumpOpts): Promise<number> {
  // a typo'd path or an unusable output path fails before any file is read
  if (!preflight(files, o.output)) return EXIT_UNUSABLE;
  const stream: Writable = o.output !== undefined ? createWriteStream(o.output) : process.stdout;
  // checked above, but the file system can still refuse (full disk, a race): one line and exit 2 at once (the
  // write waiting for 'drain' would never be resumed); stdout has the same guard (guardOutputStreams)
  if (stream !== process.stdout) stream.on('error', (e: NodeJS.ErrnoException) => {
    printError(`output ${o.output}: cannot be written (${e.code ?? e.message})`);
    process.exit(EXIT_UNUSABLE);
  });
  const out = new Out(stream);
  // the EVTX modules are loaded when an evtx command runs, not at every start of the CLI
  const { renderFileChunks } = await import('../evtx/parallel.js');
  const fr = (await import('../evtx/serialize.js')).framing(o.format);
  let count = 0;
  let readable = 0;
  let warnings = 0;
  if (o.format !== 'jsonl') await out.write(fr.open);
  for (const file of files) {
    try {
      const chunks = renderFileChunks(file, {
        threads: o.threads,
        format: o.format,
        recovered: o.recovered === true,
        verifyChecksums: o.checksums,
        meta: o.meta === true,
        file: files.length > 1 || o.meta ? file : undefined,
        filter: { eventIds: o.eventId, channels: o.channel, providers: o.provider },
        encodeWith: o.format === 'json' ? fr.sep : o.format === 'jsonl' ? '\n' : '',
      });
      for await (const c of chunks) {
        for (const w of c.warnings) {
          warnings++;
          if (!o.quiet) printWarning(file, w);
        }
        if (c.count && c.bytes) {
          if (o.format === 'json' && count > 0) await out.write(fr.sep);
          await out.write(c.bytes);
          if (o.format === 'jsonl') await out.write('\n');
          count += c.count;
        }
      }
      readable++;
    } catch (e) {
      printError(await evtxError(file, e));
    }
  }
  if (o.format === 'json') await out.write(count === 0 ? ']\n' : fr.close);
  else if (o.format === 'xml') await out.write(fr.close);
  await out.end();
  if (!o.quiet) process.stderr.write(`wmiscope: ${count} record(s) from ${readable} of ${files.length} file(s), ${warnings} warning(s)\n`);
  return exitCode({ readable: readable > 0 });
}

function chunkLine(c: EvtxChunkInfo): string {
  const range = c.firstRecordId !== undefined ? `${c.firstRecordId}-${c.lastRecordId}` : '-';
  const crc = c.headerCrcValid === undefined ? '-' : `${c.headerCrcValid ? 'ok' : 'BAD'}/${c.dataCrcValid === undefined ? '-' : c.dataCrcValid ? 'ok' : 'BAD'}`;
  return `  ${String(c.index).padStart(5)}  ${String(c.offset).padStart(10)}  ${c.status.padEnd(10)}  ${range.padEnd(23)}  ${crc.padEnd(7)}  ${String(c.records ?? '-').padStart(7)}  ${String(c.recovered ?? '-').padStart(9)}`;
}

async function info(file: string, o: { format: string; recovered?: boolean }): Promise<number> {
  if (!preflight([file])) return EXIT_UNUSABLE;
  let reader: EvtxReader;
  try {
    reader = (await import('../evtx/index.js')).EvtxReader.open(file);
  } catch (e) {
    return printError(await evtxError(file, e));
  }
  try {
    const chunks = reader.chunks({ recovered: o.recovered !== false });
    const { records, recovered, skipped } = reader.lastStats;
    const warnings = reader.warnings;
    const summary = {
      file,
      header: reader.header,
      slots: reader.slotCount,
      chunksWithRecords: chunks.filter((c) => (c.records ?? 0) > 0).length,
      records,
      recovered,
      unparsable: skipped,
      chunks,
      warnings,
    };
    if (o.format === 'json') {
      process.stdout.write(jsonSafe(JSON.stringify(summary, null, 2)) + '\n');
      return exitCode({ readable: true });
    }
    const h = reader.header;
    const lines = [
      `file:               ${escapeText(file)}`,
      `format version:     ${h.majorVersion}.${h.minorVersion}`,
      `header chunk count: ${h.chunkCount} (first ${h.firstChunkNumber}, last ${h.lastChunkNumber})`,
      `chunk slots:        ${reader.slotCount} (${summary.chunksWithRecords} with records)`,
      `next record id:     ${h.nextRecordId}`,
      `flags:              0x${h.flags.toString(16)}${h.dirty ? ' dirty' : ''}${h.full ? ' full' : ''}`,
      `header checksum:    0x${h.checksum.toString(16).padStart(8, '0')} ${h.checksumValid ? 'ok' : 'MISMATCH'}`,
      `records:            ${records} allocated, ${recovered} recovered from slack, ${skipped} unparsable`,
      '',
      '  chunk      offset  status      record ids               crc h/d  records  recovered',
      ...chunks.map(chunkLine),
      '',
      `warnings (${warnings.length}):`,
      ...warnings.map((w) => `  [${escapeText(w.code)}] ${escapeText(w.message)}`),
    ];
    process.stdout.write(lines.join('\n') + '\n');
    return exitCode({ readable: true });
  } finally {
    reader.close();
  }
}

export function buildProgram(): Command {
  const program = new Command('wmiscope')
    .description('Find WMI permanent event subscriptions (T1546.003) in offline Windows evidence.')
    .version(pkg.version)
    .addHelpText('afterAll', EXIT_HELP)
    // set before the subcommands are added so they inherit it: usage errors exit 2, --help/--version 0
    .exitOverride((err) => {
      process.exit(err.exitCode === 0 ? 0 : 2);
    });

  const evtx = program.command('evtx').description('read Windows event log (.evtx) files');

  evtx
    .command('dump')
    .description('render records of EVTX files as JSON lines, a JSON array or XML (damage is reported on stderr, reading goes on)')
    .argument('<file...>', 'EVTX files')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['jsonl', 'json', 'xml']).default('jsonl'))
    .option('-e, --event-id <ids>', 'keep only these event ids (comma-separated, repeatable)', intList)
    .option('-c, --channel <names>', 'keep only these channels (comma-separated, case-insensitive)', strList)
    .option('-p, --provider <names>', 'keep only these providers (comma-separated, case-insensitive)', strList)
    .option('-r, --recovered', 'also carve records from chunk slack and damaged chunks (flagged "recovered")')
    .option('-t, --threads <n>', 'worker threads across chunks ("auto" = all cores); output order is unchanged', threadCount, 1)
    .option('-m, --meta', 'add a "wmiscope" object (file, chunk, offset, record id, recovered) to every record')
    .option('-o, --output <file>', 'write to a file instead of stdout')
    .option('--no-checksums', 'do not verify chunk CRC32 checksums')
    .option('-q, --quiet', 'do not print warnings and the summary line on stderr (errors behind exit code 2 are still printed)')
    .action(async (files: string[], o: DumpOpts) => {
      process.exitCode = await dump(files, o);
    });

  evtx
    .command('info')
    .description('show the file header, every chunk slot with its status and checksums, record counts and warnings')
    .argument('<file>', 'EVTX file')
    .addOption(new Option('-f, --format <format>', 'output format').choices(['text', 'json']).default('text'))
    .option('--no-recovered', 'do not look for records in slack')
    .action(async (file: string, o: { format: string; recovered?: boolean }) => {
      process.exitCode = await info(file, o);
    });

  addScanCommand(program, pkg.version);
  addCimCommands(program);
  addCollectorCommand(program);
  addSysmonCommands(program);
  addCoverageCommand(program, pkg.version);
  hintAfterErrors(program);
  return program;
}

/** A usage error prints the error and one line naming the help to read (`wmiscope scan --help`), not the whole help. */
function hintAfterErrors(cmd: Command, prefix = ''): void {
  const name = prefix ? `${prefix} ${cmd.name()}` : cmd.name();
  cmd.showHelpAfterError(`(run ${name} --help for usage)`);
  for (const sub of cmd.commands) hintAfterErrors(sub, name);
}

guardOutputStreams();
// interrupted (Ctrl-C, kill): the runs' temporary folders (inflated evidence) go first
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143]] as const)
  process.once(signal, () => {
    for (const dir of LIVE_TEMP_FOLDERS) rmSync(dir, { recursive: true, force: true });
    process.exit(code);
  });
const program = buildProgram();
program.parseAsync(process.argv).catch((e: unknown) => {
  printError(e instanceof Error ? e.message : String(e));
  process.exit(EXIT_UNUSABLE);
});
