/**
 * Text output of records: JSON lines, a JSON array, or an XML document. Shared by the sequential and the
 * parallel (worker-thread) paths so both produce byte-identical output.
 */
import type { EvtxRecord } from './reader.js';
import { JsonBytes } from './jsonplan.js';

export type EvtxOutputFormat = 'jsonl' | 'json' | 'xml';

export interface SerializeOptions {
  format: EvtxOutputFormat;
  /** Add a `wmiscope` object (file, chunk, offset, record id, recovered) to every record; recovered records always get it. */
  meta?: boolean;
  /** File name to put in the metadata. */
  file?: string;
}

export interface RecordMeta {
  file?: string;
  chunk: number;
  offset: number;
  recordId: number;
  recovered: boolean;
  warnings?: string[];
}

export function recordMeta(r: EvtxRecord, file?: string): RecordMeta {
  const m: RecordMeta = { chunk: r.chunk, offset: r.offset, recordId: r.recordId, recovered: r.recovered };
  if (file !== undefined) m.file = file;
  if (r.warnings.length) m.warnings = r.warnings.slice();
  return m;
}

/** One record as text, without separators: a JSON object, or an `<Event>` element (XML). */
export function serializeRecord(r: EvtxRecord, opts: SerializeOptions): string {
  if (opts.format === 'xml') {
    const xml = r.toXml();
    if (!r.recovered && !opts.meta && r.warnings.length === 0) return xml;
    const m = recordMeta(r, opts.file);
    const note = `recovered=${m.recovered} chunk=${m.chunk} offset=${m.offset} recordId=${m.recordId}${m.warnings ? ' warnings=' + JSON.stringify(m.warnings) : ''}`;
    return `<!-- wmiscope: ${note.replace(/--/g, '- -')} -->\n${xml}`;
  }
  scratch.pos = 0;
  writeRecord(r, opts, scratch);
  return scratch.buf.toString('utf8', 0, scratch.pos);
}

const scratch = new JsonBytes();

/** Text written before the first record / between records / after the last one. */
export function framing(format: EvtxOutputFormat): { open: string; sep: string; close: string } {
  if (format === 'json') return { open: '[\n', sep: ',\n', close: '\n]\n' };
  if (format === 'xml') return { open: '<?xml version="1.0" encoding="utf-8"?>\n<Events>\n', sep: '', close: '</Events>\n' };
  return { open: '', sep: '\n', close: '\n' };
}

/** {@link serializeRecord} written into a byte buffer (JSON formats go straight from the template plan). */
export function writeRecord(r: EvtxRecord, opts: SerializeOptions, out: JsonBytes): void {
  if (opts.format === 'xml') return out.text(serializeRecord(r, opts));
  const start = out.pos;
  r.writeJson(out);
  if (!r.recovered && !opts.meta && r.warnings.length === 0) return;
  // replace the closing brace of the event object with the metadata member
  if (out.pos - start > 2) out.pos--;
  else out.pos = start + 1;
  out.text(`${out.pos - start > 1 ? ',' : ''}"wmiscope":${JSON.stringify(recordMeta(r, opts.file))}}`);
}
