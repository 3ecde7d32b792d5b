/**
 * Hostile archives and compressed files, generated at test time (small on disk, never the inflated data in
 * memory): the zip member that inflates ~1000:1 to 2 GB, the same local entry referenced by 20 directory entries,
 * a 2 MB gzip of zeros as a repository's `OBJECTS.DATA.gz`, a zip whose end-of-central-directory record is cut off
 * (plain, and written with data descriptors as Go's archive/zip — Velociraptor — writes them), a `.evtx.gz` bomb.
 *
 * Long runs of zeros are deflated once per 16 MiB segment, ended by a sync flush (no final bit), and the segment is
 * repeated: a deflate stream may be any sequence of blocks, and a zeros-only segment refers back only to zeros.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { constants as zc, crc32, deflateRawSync } from 'node:zlib';
import { buildZip } from '../zip-writer.js';
import { buildRepository, standardConsumerClasses } from '../cim-builder.js';

const SEGMENT = 16 * 2 ** 20;

/** Raw deflate of `head` then zeros, `segments` × 16 MiB in all; with the CRC-32 and size of the inflated data. */
export function deflatedZeros(head: Buffer, segments: number): { body: Buffer; crc: number; size: number } {
  const first = Buffer.concat([head, Buffer.alloc(SEGMENT - head.length)]);
  const zeros = Buffer.alloc(SEGMENT);
  const seg0 = deflateRawSync(first, { level: 9, finishFlush: zc.Z_SYNC_FLUSH });
  const segZ = deflateRawSync(zeros, { level: 9, finishFlush: zc.Z_SYNC_FLUSH });
  const end = deflateRawSync(Buffer.alloc(0)); // one empty final block
  let crc = crc32(first);
  for (let i = 1; i < segments; i++) crc = crc32(zeros, crc);
  const parts = [seg0];
  for (let i = 1; i < segments; i++) parts.push(segZ);
  parts.push(end);
  return { body: Buffer.concat(parts), crc: crc >>> 0, size: segments * SEGMENT };
}

/** A gzip file around raw deflate data (header, data, CRC-32 and size modulo 2^32). */
export function gzipOf(d: { body: Buffer; crc: number; size: number }): Buffer {
  const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]);
  const trailer = Buffer.alloc(8);
  trailer.writeUInt32LE(d.crc >>> 0, 0);
  trailer.writeUInt32LE(d.size % 2 ** 32, 4);
  return Buffer.concat([header, d.body, trailer]);
}

/** 120 segments: 2,013,265,920 bytes. */
const TWO_GB = 120;

/** A zip of one member `logs/big.evtx`: an EVTX file header then zeros, 2 GB deflated about 1000:1 into about 2 MB. */
export function bigMemberZip(file: string, evtxHead: Buffer): { bytes: number; inflated: number } {
  const d = deflatedZeros(evtxHead, TWO_GB);
  const zip = buildZip([{ name: 'logs/big.evtx', deflated: d }]);
  writeFileSync(file, zip);
  return { bytes: zip.length, inflated: d.size };
}

/** A zip whose one local entry (`data`, deflated) is referenced by `copies` central-directory entries (`copy01.evtx`…). */
export function overlappingZip(file: string, data: Buffer, copies = 20): Buffer {
  const one = buildZip([{ name: 'copy01.evtx', data }]);
  const cdOffset = one.readUInt32LE(one.length - 22 + 16);
  const fixed = one.subarray(cdOffset, cdOffset + 46);
  const central: Buffer[] = [];
  for (let i = 1; i <= copies; i++) {
    const name = Buffer.from(`copy${String(i).padStart(2, '0')}.evtx`);
    const c = Buffer.from(fixed);
    c.writeUInt16LE(name.length, 28);
    c.writeUInt16LE(0, 30);
    central.push(c, name);
  }
  const cd = Buffer.concat(central);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(copies, 8);
  end.writeUInt16LE(copies, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(cdOffset, 16);
  const zip = Buffer.concat([one.subarray(0, cdOffset), cd, end]);
  writeFileSync(file, zip);
  return zip;
}

/** A zip of `members` with its central directory and end record cut off (as a download or collection stopped early). */
export function zipWithoutDirectory(file: string, members: Array<{ name: string; data: Buffer }>): Buffer {
  const whole = buildZip(members);
  const cdOffset = whole.readUInt32LE(whole.length - 22 + 16);
  const cut = whole.subarray(0, cdOffset);
  writeFileSync(file, cut);
  return cut;
}

/**
 * Local entries written as Go's archive/zip streams them (flag bit 3: sizes and CRC zero in the local header, a
 * signed data descriptor after the data), deflated, and no central directory at all.
 */
export function descriptorZipWithoutDirectory(file: string, members: Array<{ name: string; data: Buffer; descriptorLies?: number }>): Buffer {
  const parts: Buffer[] = [];
  for (const m of members) {
    const name = Buffer.from(m.name, 'utf8');
    const body = deflateRawSync(m.data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(0x0808, 6); // data descriptor, UTF-8 name
    local.writeUInt16LE(8, 8);
    local.writeUInt16LE(name.length, 26);
    const dd = Buffer.alloc(16);
    dd.writeUInt32LE(0x08074b50, 0);
    dd.writeUInt32LE(crc32(m.data) >>> 0, 4);
    dd.writeUInt32LE(body.length + (m.descriptorLies ?? 0), 8); // a lying descriptor gives another compressed size
    dd.writeUInt32LE(m.data.length, 12);
    parts.push(local, name, body, dd);
  }
  const zip = Buffer.concat(parts);
  writeFileSync(file, zip);
  return zip;
}

/**
 * A repository folder (`HOST1/C/Windows/System32/wbem/Repository` under `root`) built by the CIM builder, its
 * `OBJECTS.DATA` replaced by `OBJECTS.DATA.gz`: a gzip of 2 GB of zeros, about 2 MB. The folder's path.
 */
export function gzipBombRepository(root: string): string {
  const dir = join(root, 'HOST1', 'C', 'Windows', 'System32', 'wbem', 'Repository');
  mkdirSync(dir, { recursive: true });
  buildRepository(dir, { namespaces: ['ROOT', 'ROOT\\subscription'], classes: standardConsumerClasses('ROOT\\subscription'), instances: [] });
  rmSync(join(dir, 'OBJECTS.DATA'), { force: true });
  writeFileSync(join(dir, 'OBJECTS.DATA.gz'), gzipOf(deflatedZeros(Buffer.alloc(0), TWO_GB)));
  return dir;
}

/** A `.evtx.gz` bomb: an EVTX file header (the first 4 KiB of `evtx`) then 2 GB of zeros, gzip'd to about 2 MB. */
export function evtxGzipBomb(file: string, evtx: string): number {
  const gz = gzipOf(deflatedZeros(readFileSync(evtx).subarray(0, 4096), TWO_GB));
  writeFileSync(file, gz);
  return gz.length;
}
