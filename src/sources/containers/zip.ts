/**
 * Zip archives (Velociraptor offline-collector output, flow exports and hunt downloads, or any zip of logs and
 * repositories): this module only lists a zip's members and opens them; `archive.ts` walks them (recognition,
 * repository sets, hosts, bounds, nesting) exactly as it walks a tar.
 *
 * Member names are decoded (UTF-8 when flagged, else CP437) as labels. Encrypted members, compression methods
 * other than stored and deflate, and members whose directory entry shows a bomb ratio are refused here, each
 * with its reason; a damaged central directory keeps the members listed before the damage.
 */
import yauzl from 'yauzl';
import type { Entry, ZipFile } from 'yauzl';
import type { Readable } from 'node:stream';
import { crc32 } from 'node:zlib';
import type { EvidenceInput, ObserveContext, ObserveFn, ObserveResult } from '../input.js';
import type { ArchiveListing, ArchiveMember, Budget } from './archive.js';
import { ARCHIVE_LIMITS, charge, enterArchive, errorText, nestedArchiveBytes, tooLargeMember, walkArchive } from './archive.js';

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

// ---- reading ------------------------------------------------------------------------------------------

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

const OPTIONS = { lazyEntries: true, decodeStrings: false, validateEntrySizes: true, autoClose: false, strictFileNames: false } as const;

function openPath(path: string): Promise<ZipFile> {
  return new Promise((resolve, reject) => yauzl.open(path, OPTIONS, (err, zip) => (err || !zip ? reject(err ?? new Error('no zip')) : resolve(zip))));
}

function openBuffer(b: Buffer): Promise<ZipFile> {
  return new Promise((resolve, reject) => yauzl.fromBuffer(b, OPTIONS, (err, zip) => (err || !zip ? reject(err ?? new Error('no zip')) : resolve(zip))));
}

/** The central directory, up to `max` entries; entries read before a damaged record are kept. */
function listEntries(zip: ZipFile, max: number): Promise<{ entries: Entry[]; error: string | null }> {
  return new Promise((resolve) => {
    const entries: Entry[] = [];
    let done = false;
    const finish = (error: string | null): void => {
      if (done) return;
      done = true;
      zip.removeAllListeners('entry');
      resolve({ entries, error });
    };
    zip.on('entry', (e: Entry) => {
      entries.push(e);
      if (entries.length >= max) finish(null);
      else zip.readEntry();
    });
    zip.on('end', () => finish(null));
    zip.on('error', (err: Error) => finish(err.message));
    zip.readEntry();
  });
}

/** The zip's members as the archive walker takes them (folders left out), with the zip-specific refusals. */
async function listZip(zip: ZipFile, label: string, ctx: ObserveContext, budget: Budget): Promise<ArchiveListing> {
  const notes = ctx.notes;
  const { entries, error } = await listEntries(zip, ARCHIVE_LIMITS.maxMembers);
  if (error !== null) {
    notes.add({
      file: label,
      level: 'error',
      code: 'damaged',
      message: entries.length ? `zip directory damaged after ${entries.length} member(s) (${error}); those are read, the rest is lost` : `zip directory unreadable (${error})`,
    });
  }
  if (entries.length >= ARCHIVE_LIMITS.maxMembers && zip.entryCount > entries.length) {
    notes.add({ file: label, level: 'warning', code: 'over-limit', message: `${zip.entryCount} members; only the first ${entries.length} are read (limit)` });
  }
  const named = entries.map((entry) => ({ entry, text: decodeMemberName(entry.fileNameRaw, entry.generalPurposeBitFlag, entry.extraFields ?? []) }));
  // Velociraptor's encrypted offline collection: metadata.json (the wrapped key) beside an encrypted data.zip
  const hasMetadataJson = named.some((n) => n.text.toLowerCase() === 'metadata.json');
  const refusal = (e: Entry, text: string): string | null => {
    if (e.isEncrypted()) {
      if (hasMetadataJson && text.toLowerCase() === 'data.zip') return 'encrypted Velociraptor offline collection (metadata.json + data.zip); not read — decrypt it first (the collection\'s password or key), then scan the result';
      return 'encrypted member; not read (wmiscope does not decrypt)';
    }
    if (e.compressionMethod !== 0 && e.compressionMethod !== 8) return `compression method ${e.compressionMethod} is not supported (only stored and deflate); not read`;
    const tooLarge = tooLargeMember(e.uncompressedSize);
    if (tooLarge) return tooLarge;
    if (e.uncompressedSize > ARCHIVE_LIMITS.ratioMinBytes && e.uncompressedSize > ARCHIVE_LIMITS.maxRatio * Math.max(1, e.compressedSize)) {
      return `compression ratio over ${ARCHIVE_LIMITS.maxRatio}:1 (${e.compressedSize} → ${e.uncompressedSize} bytes): zip bomb; not read`;
    }
    return null;
  };
  const members: ArchiveMember[] = [];
  for (const { entry, text } of named) {
    if (/[/\\]$/.test(text) && entry.uncompressedSize === 0) continue; // a folder
    members.push({ text, size: entry.uncompressedSize, refusal: refusal(entry, text), open: () => memberBytes(zip, entry, budget) });
  }
  return { label, members, damaged: error !== null };
}

/**
 * Read a zip archive (from `path` when it is a file on disk, else from memory) through the archive walker,
 * members recognised by `observe`. Null (with a note) when nothing in it is evidence; never throws for bad input.
 */
export async function observeZip(input: EvidenceInput, ctx: ObserveContext, observe: ObserveFn, path?: string): Promise<ObserveResult | null> {
  const state = enterArchive(input, ctx, 'zip');
  if (!state) return null;
  const notes = ctx.notes;
  let zip: ZipFile;
  try {
    if (path) zip = await openPath(path);
    else {
      const bytes = await nestedArchiveBytes(input, ctx, 'zip');
      if (!bytes) return null;
      zip = await openBuffer(bytes);
    }
  } catch (e) {
    notes.add({ file: input.name, level: 'error', code: 'failed', message: `not a readable zip archive (${errorText(e)})` });
    return null;
  }
  try {
    return await walkArchive(await listZip(zip, input.name, ctx, state.budget), ctx, state, observe);
  } catch (e) {
    // not expected: every member is guarded; the archive as a whole still yields one note
    notes.add({ file: input.name, level: 'error', code: 'failed', message: `zip reading stopped (${errorText(e)})` });
    return null;
  } finally {
    zip.close();
  }
}
