/**
 * A small zip writer for tests (no dependency): stored and deflate members, any raw member name (`../../x`,
 * absolute names, backslashes, CP437 or UTF-8 bytes), flags and declared sizes set by hand so that damaged and
 * hostile archives can be built on purpose. Single disk, no zip64, no data descriptors.
 */
import { crc32, deflateRawSync } from 'node:zlib';
import { writeFileSync } from 'node:fs';

export interface ZipMember {
  /** A string is written as UTF-8 (with flag bit 11 when it is not ASCII, unless `utf8` says otherwise); a Buffer as it is. */
  name: string | Buffer;
  data?: Buffer | string;
  /** Default: deflate. */
  method?: 'store' | 'deflate';
  /** Set (or clear) general purpose bit 11 (name is UTF-8). */
  utf8?: boolean;
  /** Extra general purpose bits OR'd in (1 = encrypted). */
  flags?: number;
  /** Compression method number written instead of the real one (the data is still what `method` made). */
  methodNumber?: number;
  /** Uncompressed size written in the headers instead of the real one (a lying directory). */
  declaredSize?: number;
  /** Extra field bytes (central and local). */
  extra?: Buffer;
  /** Data already deflated (raw deflate), with the CRC-32 and size of what it inflates to: written as is (`data` unused). */
  deflated?: { body: Buffer; crc: number; size: number };
}

const DOS_TIME = (12 << 11) | (30 << 5); // 12:30:00
const DOS_DATE = ((2024 - 1980) << 9) | (5 << 5) | 17; // 2024-05-17

/** The archive as bytes. */
export function buildZip(members: ZipMember[], comment = ''): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const m of members) {
    const name = typeof m.name === 'string' ? Buffer.from(m.name, 'utf8') : m.name;
    const utf8 = m.utf8 ?? (typeof m.name === 'string' && /[^\x00-\x7f]/.test(m.name));
    const data = typeof m.data === 'string' ? Buffer.from(m.data, 'utf8') : (m.data ?? Buffer.alloc(0));
    const deflate = m.deflated !== undefined || (m.method ?? 'deflate') === 'deflate';
    const body = m.deflated ? m.deflated.body : deflate ? deflateRawSync(data, { level: 9 }) : data;
    const flags = (utf8 ? 0x800 : 0) | (m.flags ?? 0);
    const method = m.methodNumber ?? (deflate ? 8 : 0);
    const crc = (m.deflated ? m.deflated.crc : crc32(data)) >>> 0;
    const size = m.declaredSize ?? (m.deflated ? m.deflated.size : data.length);
    const extra = m.extra ?? Buffer.alloc(0);

    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(flags, 6);
    local.writeUInt16LE(method, 8);
    local.writeUInt16LE(DOS_TIME, 10);
    local.writeUInt16LE(DOS_DATE, 12);
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(size, 22);
    local.writeUInt16LE(name.length, 26);
    local.writeUInt16LE(extra.length, 28);
    locals.push(local, name, extra, body);

    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(flags, 8);
    central.writeUInt16LE(method, 10);
    central.writeUInt16LE(DOS_TIME, 12);
    central.writeUInt16LE(DOS_DATE, 14);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(size, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt16LE(extra.length, 30);
    central.writeUInt16LE(0, 32);
    central.writeUInt16LE(0, 34);
    central.writeUInt16LE(0, 36);
    central.writeUInt32LE(0, 38);
    central.writeUInt32LE(offset, 42);
    centrals.push(central, name, extra);

    offset += 30 + name.length + extra.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const com = Buffer.from(comment, 'utf8');
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(members.length, 8);
  end.writeUInt16LE(members.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  end.writeUInt16LE(com.length, 20);
  return Buffer.concat([...locals, cd, end, com]);
}

export function writeZip(file: string, members: ZipMember[]): Buffer {
  const b = buildZip(members);
  writeFileSync(file, b);
  return b;
}
