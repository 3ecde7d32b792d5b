/**
 * Zip archives (Velociraptor offline-collector output, flow exports and hunt downloads, or any zip of logs and
 * repositories): this module only lists a zip's members and opens them; `archive.ts` walks them (recognition,
 * repository sets, hosts, bounds, nesting) exactly as it walks a tar.
 *
 * Member names are decoded (UTF-8 when flagged, else CP437) as labels. Encrypted members, compression methods
 * other than stored and deflate, and members whose declared sizes break the one decompression policy
 * (`inflate.ts`: a bomb ratio, over the size bound) are refused here, each with its reason.
 *
 * The directory is attacker-controlled too:
 * - overlapping entries (one local entry referenced by several directory entries, or entries whose data ranges
 *   overlap: the technique of non-recursive zip bombs) are found before anything is read; the first entry in file
 *   order is read, each entry overlapping it is refused with a note;
 * - a zip whose end-of-central-directory record is gone (a cut download, a collection stopped early) or whose
 *   central directory is damaged is read by scanning its local headers instead (members written with a data
 *   descriptor are delimited by the descriptor's signature and its compressed-size field; one without a signature,
 *   or cut off, ends the scan with a note);
 * - past {@link ARCHIVE_LIMITS}.maxMembers members the rest of the directory is only counted, and a note says
 *   exactly how many members were not read.
 */
import { createRequire } from 'node:module';
import type * as Yauzl from 'yauzl';
import type { Entry, ZipFile } from 'yauzl';
import type { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import { escapeText } from '../../model/text.js';
import type { EvidenceInput, ObserveContext, ObserveFn, ObserveResult } from '../input.js';
import type { ArchiveListing, ArchiveMember, ArchiveState, Budget } from './archive.js';
import { ARCHIVE_LIMITS, charge, enterArchive, errorText, LimitError, walkArchive, withNestedArchive } from './archive.js';
import { inflateChunks, overBound, tooLarge } from './inflate.js';
import { bufferSource, fileSource } from './bytes.js';
import type { RawSource } from './bytes.js';

// ---- names --------------------------------------------------------------------------------------------

/** IBM code page 437, bytes 0x80–0xFF (the zip default when the UTF-8 flag is not set). */
const CP437_HIGH =
  'ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐' +
  '└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0';

function cp437(b: Buffer): string {
  let s = '';
  for (const c of b) s += c < 0x80 ? String.fromCharCode(c) : CP437_HIGH[c - 0x80]!;
  return s;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** The member name as text: UTF-8 when flagged (bit 11) or given by an Info-ZIP Unicode Path field, else CP437. */
export function decodeMemberName(raw: Buffer, flags: number, extraFields: ReadonlyArray<{ id: number; data: Buffer }> = []): string {
  if (flags & 0x800) return utf8.decode(raw);
  for (const f of extraFields) {
    // 0x7075: version 1, CRC-32 of the raw name, then the UTF-8 name (used only when the CRC matches)
    if (f.id === 0x7075 && f.data.length >= 5 && f.data[0] === 1 && f.data.readUInt32LE(1) === crc32(raw)) return utf8.decode(f.data.subarray(5));
  }
  return cp437(raw);
}

// ---- reading through the central directory (yauzl) -----------------------------------------------------

function openStream(zip: ZipFile, entry: Entry): Promise<Readable> {
  return new Promise((resolve, reject) => {
    try {
      zip.openReadStream(entry, (err, stream) => (err ? reject(err) : resolve(stream)));
    } catch (e) {
      reject(e);
    }
  });
}

/** A member's inflated bytes, charged to the budget (yauzl checks them against the directory's size). */
async function* memberBytes(zip: ZipFile, entry: Entry, budget: Budget): AsyncIterable<Buffer> {
  const stream = await openStream(zip, entry);
  try {
    for await (const chunk of stream as AsyncIterable<Buffer>) {
      charge(budget, chunk.length);
      yield chunk;
    }
  } finally {
    stream.destroy();
  }
}

// yauzl is loaded when the first zip is opened
const load = createRequire(import.meta.url);
let yauzlLib: typeof Yauzl | null = null;
const yauzl = (): typeof Yauzl => (yauzlLib ??= load('yauzl') as typeof Yauzl);

const OPTIONS = { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, autoClose: false, strictFileNames: false } as const;

function openPath(path: string): Promise<ZipFile> {
  return new Promise((resolve, reject) => yauzl().open(path, OPTIONS, (err, zip) => (err || !zip ? reject(err ?? new Error('no zip')) : resolve(zip))));
}

function openBuffer(b: Buffer): Promise<ZipFile> {
  return new Promise((resolve, reject) => yauzl().fromBuffer(b, OPTIONS, (err, zip) => (err || !zip ? reject(err ?? new Error('no zip')) : resolve(zip))));
}

/**
 * The central directory: its first `max` entries kept, the rest only counted (`more`); entries read before a
 * damaged record are kept (`error` says what).
 */
function listEntries(zip: ZipFile, max: number): Promise<{ entries: Entry[]; more: number; error: string | null }> {
  return new Promise((resolve) => {
    const entries: Entry[] = [];
    let more = 0;
    let done = false;
    const finish = (error: string | null): void => {
      if (done) return;
      done = true;
      zip.removeAllListeners('entry');
      resolve({ entries, more, error });
    };
    zip.on('entry', (e: Entry) => {
      if (entries.length < max) entries.push(e);
      else more++;
      zip.readEntry();
    });
    zip.on('end', () => finish(null));
    zip.on('error', (err: Error) => finish(err.message));
    zip.readEntry();
  });
}

// ---- reading by local headers (no usable central directory) ---------------------------------------------

const LOCAL_SIG = 0x04034b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG_BYTES = Buffer.from([0x50, 0x4b, 0x03, 0x04]);
const DESCRIPTOR_SIG_BYTES = Buffer.from([0x50, 0x4b, 0x07, 0x08]);
/** Bytes read at a time while looking for a signature. */
const WINDOW = 1 << 20;

/** A member found by its local header. */
interface LocalEntry {
  /** Offset of its local header. */
  offset: number;
  nameRaw: Buffer;
  flags: number;
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  /** Offset of its data. */
  dataOffset: number;
  extraFields: Array<{ id: number; data: Buffer }>;
}

function extraFieldsOf(b: Buffer): Array<{ id: number; data: Buffer }> {
  const out: Array<{ id: number; data: Buffer }> = [];
  for (let i = 0; i + 4 <= b.length; ) {
    const id = b.readUInt16LE(i);
    const n = b.readUInt16LE(i + 2);
    if (i + 4 + n > b.length) break;
    out.push({ id, data: b.subarray(i + 4, i + 4 + n) });
    i += 4 + n;
  }
  return out;
}

/** The first offset at or after `from` where `sig` starts, or -1; read a window at a time. */
async function findSignature(raw: RawSource, sig: Buffer, from: number, accept: (at: number) => Promise<boolean> = async () => true): Promise<number> {
  for (let at = from; at < raw.size; at += WINDOW - 3) {
    const w = await raw.readAt(at, WINDOW);
    for (let i = w.indexOf(sig); i >= 0; i = w.indexOf(sig, i + 1)) if (await accept(at + i)) return at + i;
    if (w.length < WINDOW) break;
  }
  return -1;
}

/**
 * Members found by walking local headers from the start of the archive: the first `max` kept, the rest counted.
 * Where the walk stops before the central directory or the end (a member cut off, a descriptor not found),
 * `stopped` says why.
 */
async function scanLocalHeaders(raw: RawSource, max: number): Promise<{ entries: LocalEntry[]; more: number; stopped: string | null; skippedBytes: number; unreadable: string[] }> {
  const entries: LocalEntry[] = [];
  // members that could not be delimited, the scan going on at the next local header after their data
  const unreadable: string[] = [];
  let more = 0;
  let skippedBytes = 0;
  let pos = 0;
  while (pos + 30 <= raw.size) {
    const h = await raw.readAt(pos, 30);
    const sig = h.readUInt32LE(0);
    if (sig === CENTRAL_SIG || sig === 0x06054b50 || sig === 0x06064b50) break; // the directory (or what is left of it)
    if (sig !== LOCAL_SIG) {
      // bytes that are no member (a prefix, garbage): on to the next local header
      const next = await findSignature(raw, LOCAL_SIG_BYTES, pos + 1);
      if (next < 0) break;
      skippedBytes += next - pos;
      pos = next;
      continue;
    }
    const flags = h.readUInt16LE(6);
    const method = h.readUInt16LE(8);
    let compressedSize = h.readUInt32LE(18);
    let uncompressedSize = h.readUInt32LE(22);
    const nameLength = h.readUInt16LE(26);
    const extraLength = h.readUInt16LE(28);
    const rest = await raw.readAt(pos + 30, nameLength + extraLength);
    if (rest.length < nameLength + extraLength) return { entries, more, stopped: `the archive ends inside the local header at offset ${pos}`, skippedBytes, unreadable };
    const nameRaw = Buffer.from(rest.subarray(0, nameLength));
    const extraFields = extraFieldsOf(rest.subarray(nameLength));
    const zip64 = extraFields.find((f) => f.id === 0x0001);
    if (zip64) {
      // zip64: the 64-bit sizes replace the 32-bit fields that hold 0xFFFFFFFF, in this order
      let i = 0;
      const next64 = (): number => {
        const v = i + 8 <= zip64.data.length ? Number(zip64.data.readBigUInt64LE(i)) : NaN;
        i += 8;
        return v;
      };
      if (uncompressedSize === 0xffffffff) uncompressedSize = next64();
      if (compressedSize === 0xffffffff) compressedSize = next64();
    }
    const dataOffset = pos + 30 + nameLength + extraLength;
    const shown = escapeText(decodeMemberName(nameRaw, flags, extraFields)).slice(0, 200);
    let end: number;
    if (flags & 0x08) {
      // sizes in a data descriptor after the data: its signature, then a compressed-size field equal to the data's length
      const at = await findSignature(raw, DESCRIPTOR_SIG_BYTES, dataOffset, async (p) => {
        const d = await raw.readAt(p, 24);
        if (d.length >= 16 && d.readUInt32LE(8) === p - dataOffset) {
          compressedSize = p - dataOffset;
          uncompressedSize = d.readUInt32LE(12);
          end = p + 16;
          return true;
        }
        if (d.length >= 24 && Number(d.readBigUInt64LE(8)) === p - dataOffset) {
          compressedSize = p - dataOffset;
          uncompressedSize = Number(d.readBigUInt64LE(16));
          end = p + 24;
          return true;
        }
        return false;
      });
      if (at < 0) {
        // that member cannot be delimited (a descriptor that lies, or none): it is lost, the ones after it are not
        const next = await findSignature(raw, LOCAL_SIG_BYTES, dataOffset);
        const why = `member ${shown}: no data descriptor that matches its data follows it (cut off, lying, or written without the descriptor signature); not read`;
        if (next < 0) return { entries, more, stopped: why, skippedBytes, unreadable };
        unreadable.push(why);
        pos = next;
        continue;
      }
      end = end!;
    } else {
      if (!Number.isSafeInteger(compressedSize) || dataOffset + compressedSize > raw.size) return { entries, more, stopped: `member ${shown}: the archive ends inside its data (${compressedSize} bytes declared at offset ${dataOffset})`, skippedBytes, unreadable };
      end = dataOffset + compressedSize;
    }
    if (!Number.isSafeInteger(uncompressedSize)) return { entries, more, stopped: `member ${shown}: unreadable size`, skippedBytes, unreadable };
    if (entries.length < max) entries.push({ offset: pos, nameRaw, flags, method, compressedSize, uncompressedSize, dataOffset, extraFields });
    else more++;
    pos = end;
  }
  return { entries, more, stopped: null, skippedBytes, unreadable };
}

/** A member's bytes read from its local entry: stored as is, deflate inflated under the one policy; charged to the budget. */
async function* localBytes(raw: RawSource, e: LocalEntry, budget: Budget): AsyncIterable<Buffer> {
  const data = raw.range(e.dataOffset, e.compressedSize);
  for await (const chunk of e.method === 8 ? inflateChunks(data, e.compressedSize, 'deflate') : data) {
    charge(budget, chunk.length);
    yield chunk;
  }
}

// ---- the listing ----------------------------------------------------------------------------------------

/** One member as the directory (or a local header) gives it, before the archive-wide checks. */
interface Listed {
  text: string;
  /** Offset of the local header, and the fewest bytes the entry spans from there (30 + its compressed data). */
  offset: number;
  span: number;
  encrypted: boolean;
  method: number;
  compressedSize: number;
  uncompressedSize: number;
  open(): AsyncIterable<Buffer>;
}

/**
 * Entries whose local header lies inside another entry's span, or that share one local header with another (the
 * overlapping-entry bomb): for each, the name of the entry it overlaps. The first entry in file order is kept.
 */
function overlaps(listed: readonly Listed[]): Map<Listed, Listed> {
  const out = new Map<Listed, Listed>();
  const byOffset = [...listed].sort((a, b) => a.offset - b.offset);
  let owner: Listed | null = null;
  let ownerEnd = -1;
  for (const l of byOffset) {
    if (owner && l.offset < ownerEnd) {
      out.set(l, owner);
      continue;
    }
    owner = l;
    ownerEnd = l.offset + l.span;
  }
  return out;
}

/** The zip's members as the archive walker takes them (folders left out), with the zip-specific refusals. */
async function listZip(raw: RawSource, zip: ZipFile | null, openError: string | null, label: string, ctx: ObserveContext, budget: Budget): Promise<ArchiveListing> {
  const notes = ctx.notes;
  const max = ARCHIVE_LIMITS.maxMembers;
  const listed: Listed[] = [];
  let damaged = false;
  let more = 0;
  let dirError: string | null = openError;
  if (zip) {
    const cd = await listEntries(zip, max);
    more = cd.more;
    dirError = cd.error;
    for (const entry of cd.entries) {
      listed.push({
        text: decodeMemberName(entry.fileNameRaw, entry.generalPurposeBitFlag, entry.extraFields ?? []),
        offset: entry.relativeOffsetOfLocalHeader,
        span: 30 + entry.compressedSize,
        encrypted: entry.isEncrypted(),
        method: entry.compressionMethod,
        compressedSize: entry.compressedSize,
        uncompressedSize: entry.uncompressedSize,
        open: () => memberBytes(zip, entry, budget),
      });
    }
  }
  if (dirError !== null) {
    // no end record, or a damaged directory: the local headers hold what the directory lost
    damaged = true;
    const scan = await scanLocalHeaders(raw, max);
    const known = new Set(listed.map((l) => l.offset));
    let found = 0;
    for (const e of scan.entries) {
      if (known.has(e.offset) || listed.length >= max) continue;
      found++;
      listed.push({
        text: decodeMemberName(e.nameRaw, e.flags, e.extraFields),
        offset: e.offset,
        span: e.dataOffset - e.offset + e.compressedSize,
        encrypted: (e.flags & 1) !== 0,
        method: e.method,
        compressedSize: e.compressedSize,
        uncompressedSize: e.uncompressedSize,
        open: () => localBytes(raw, e, budget),
      });
    }
    if (!zip) more = scan.more;
    const what = zip ? `zip directory damaged after ${listed.length - found} member(s) (${dirError})` : `zip directory not found (${dirError})`;
    const stop = `${scan.unreadable.length ? `; ${scan.unreadable.length} member(s) could not be delimited and were skipped (first: ${scan.unreadable[0]})` : ''}${scan.stopped ? `; the scan stopped: ${scan.stopped}` : ''}`;
    const junk = scan.skippedBytes ? `; ${scan.skippedBytes} byte(s) between members are no member` : '';
    notes.add({
      file: label,
      level: 'error',
      code: 'damaged',
      message: `${what}: ${found ? `${found} member(s) found by scanning local headers instead` : 'no further member found by scanning local headers'}${stop}${junk}`,
    });
  }
  if (more > 0) {
    notes.add({ file: label, level: 'warning', code: 'over-limit', message: `${listed.length + more} members; the first ${listed.length} are read, ${more} ${more === 1 ? 'is' : 'are'} not (limit of ${max} members per archive)` });
  }
  // Velociraptor's encrypted offline collection: metadata.json (the wrapped key) beside an encrypted data.zip
  const hasMetadataJson = listed.some((n) => n.text.toLowerCase() === 'metadata.json');
  const overlapping = overlaps(listed);
  const refusal = (l: Listed): string | null => {
    const over = overlapping.get(l);
    if (over) return `overlaps the data of member ${escapeText(over.text).slice(0, 200)} (${over.offset === l.offset ? 'the same local entry referenced again' : 'data ranges that overlap'}: a zip bomb technique); not read`;
    if (l.encrypted) {
      if (hasMetadataJson && l.text.toLowerCase() === 'data.zip') return 'encrypted Velociraptor offline collection (metadata.json + data.zip); not read — decrypt it first (the collection\'s password or key), then scan the result';
      return 'encrypted member; not read (wmiscope does not decrypt)';
    }
    if (l.method !== 0 && l.method !== 8) return `compression method ${l.method} is not supported (only stored and deflate); not read`;
    const big = tooLarge(l.uncompressedSize);
    if (big) return big;
    if (l.method === 8) {
      const bomb = overBound(l.uncompressedSize, l.compressedSize);
      if (bomb) return `declared ${l.compressedSize} → ${l.uncompressedSize} bytes: ${bomb.replace('gzip bomb', 'zip bomb')}; not read`;
    }
    return null;
  };
  const members: ArchiveMember[] = [];
  for (const l of listed) {
    if (/[/\\]$/.test(l.text) && l.uncompressedSize === 0) continue; // a folder
    members.push({ text: l.text, size: l.uncompressedSize, refusal: refusal(l), open: l.open });
  }
  return { label, members, damaged };
}

/**
 * Read a zip archive (from `path` when it is a file on disk, else from memory or a temporary copy) through the
 * archive walker, members recognised by `observe`. Null (with a note) when nothing in it is evidence; never throws
 * for bad input.
 */
export async function observeZip(input: EvidenceInput, ctx: ObserveContext, observe: ObserveFn, path?: string): Promise<ObserveResult | null> {
  const state = enterArchive(input, ctx, 'zip');
  if (!state) return null;
  const notes = ctx.notes;
  try {
    const r = await withNestedArchive(input, path, ctx, 'zip', (src) => readZip(src, input.name, ctx, state, observe));
    return r ?? null;
  } catch (e) {
    notes.add({ file: input.name, level: e instanceof LimitError ? 'skipped' : 'error', code: e instanceof LimitError ? 'over-limit' : 'failed', message: `not a readable zip archive (${errorText(e)})` });
    return null;
  }
}

async function readZip(src: { path: string } | { data: Buffer }, label: string, ctx: ObserveContext, state: ArchiveState, observe: ObserveFn): Promise<ObserveResult | null> {
  const notes = ctx.notes;
  let raw: RawSource;
  try {
    raw = 'path' in src ? await fileSource(src.path) : bufferSource(src.data);
  } catch (e) {
    notes.add({ file: label, level: 'error', code: 'failed', message: `not a readable zip archive (${errorText(e)})` });
    return null;
  }
  let zip: ZipFile | null = null;
  let openError: string | null = null;
  try {
    zip = 'path' in src ? await openPath(src.path) : await openBuffer(src.data);
  } catch (e) {
    openError = errorText(e);
  }
  try {
    const listing = await listZip(raw, zip, openError, label, ctx, state.budget);
    if (listing.members.length === 0 && openError !== null) return null; // the listing's note says it all
    return await walkArchive(listing, ctx, state, observe);
  } catch (e) {
    // not expected: every member is guarded; the archive as a whole still yields one note
    notes.add({ file: label, level: 'error', code: 'failed', message: `zip reading stopped (${errorText(e)})` });
    return null;
  } finally {
    zip?.close();
    await raw.close().catch(() => undefined);
  }
}
