/**
 * A small tar writer for tests (no dependency): POSIX ustar headers, GNU `././@LongLink` long names, pax `path=`
 * records, any raw member name (`../x`, control characters), and header fields set by hand (size, checksum,
 * type) so that damaged and hostile archives can be built on purpose.
 */
import { writeFileSync } from 'node:fs';

export interface TarMember {
  /** Written as UTF-8; how a name over 100 bytes is stored is `longName`'s choice. */
  name: string;
  data?: Buffer | string;
  /** Type flag (default `0`, a regular file; `5` a folder, `2` a symlink, …). */
  type?: string;
  /** How a name over 100 bytes is stored (default GNU): a `././@LongLink` header, a pax `path=` record, or the ustar prefix field. */
  longName?: 'gnu' | 'pax' | 'prefix';
  /** Size written in the header instead of the real one (a lying header); the data written is still `data`. */
  declaredSize?: number;
  /** The 12 bytes of the size field as they are (base-256, negative, garbage). */
  sizeField?: Buffer;
  /** Write a wrong checksum. */
  badChecksum?: boolean;
  /** GNU magic (`ustar  \0`) instead of POSIX (`ustar\0` + `00`). */
  gnu?: boolean;
}

const BLOCK = 512;
const pad = (b: Buffer): Buffer => Buffer.concat([b, Buffer.alloc((BLOCK - (b.length % BLOCK)) % BLOCK)]);

function octal(n: number, width: number): string {
  return n.toString(8).padStart(width - 1, '0') + '\0';
}

/** One header block. */
export function tarHeader(name: Buffer, size: number, type: string, opts: { prefix?: Buffer; sizeField?: Buffer; badChecksum?: boolean; gnu?: boolean } = {}): Buffer {
  const h = Buffer.alloc(BLOCK);
  name.copy(h, 0, 0, Math.min(100, name.length));
  h.write(octal(0o644, 8), 100, 'latin1');
  h.write(octal(0, 8), 108, 'latin1');
  h.write(octal(0, 8), 116, 'latin1');
  if (opts.sizeField) opts.sizeField.copy(h, 124, 0, 12);
  else h.write(octal(size, 12), 124, 'latin1');
  h.write(octal(1715949000, 12), 136, 'latin1');
  h.write(type, 156, 'latin1');
  if (opts.gnu) h.write('ustar  \0', 257, 'latin1');
  else {
    h.write('ustar\0', 257, 'latin1');
    h.write('00', 263, 'latin1');
  }
  h.write('root', 265, 'latin1');
  h.write('root', 297, 'latin1');
  if (opts.prefix) opts.prefix.copy(h, 345, 0, Math.min(155, opts.prefix.length));
  h.fill(0x20, 148, 156);
  let sum = 0;
  for (const b of h) sum += b;
  if (opts.badChecksum) sum += 7;
  h.write(octal(sum, 7) + ' ', 148, 'latin1');
  return h;
}

function paxRecord(key: string, value: string): string {
  const body = ` ${key}=${value}\n`;
  let len = Buffer.byteLength(body) + 1;
  while (String(len).length + Buffer.byteLength(body) !== len) len = String(len).length + Buffer.byteLength(body);
  return `${len}${body}`;
}

/** The archive as bytes, ended by two zero blocks unless `end` is false. */
export function buildTar(members: TarMember[], end = true): Buffer {
  const out: Buffer[] = [];
  for (const m of members) {
    const data = typeof m.data === 'string' ? Buffer.from(m.data, 'utf8') : (m.data ?? Buffer.alloc(0));
    const type = m.type ?? '0';
    let name = Buffer.from(m.name, 'utf8');
    let prefix: Buffer | undefined;
    if (name.length > 100) {
      const how = m.longName ?? 'gnu';
      if (how === 'gnu') {
        const body = Buffer.concat([name, Buffer.from([0])]);
        out.push(tarHeader(Buffer.from('././@LongLink'), body.length, 'L', { gnu: true }), pad(body));
        name = name.subarray(0, 100);
      } else if (how === 'pax') {
        const body = Buffer.from(paxRecord('path', m.name), 'utf8');
        out.push(tarHeader(Buffer.from('PaxHeaders/x'), body.length, 'x'), pad(body));
        name = name.subarray(0, 100);
      } else {
        const cut = m.name.lastIndexOf('/', 155);
        prefix = Buffer.from(m.name.slice(0, cut), 'utf8');
        name = Buffer.from(m.name.slice(cut + 1), 'utf8');
      }
    }
    out.push(
      tarHeader(name, m.declaredSize ?? data.length, type, {
        ...(prefix ? { prefix } : {}),
        ...(m.sizeField ? { sizeField: m.sizeField } : {}),
        ...(m.badChecksum ? { badChecksum: true } : {}),
        ...(m.gnu ? { gnu: true } : {}),
      }),
      pad(data),
    );
  }
  if (end) out.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(out);
}

export function writeTar(file: string, members: TarMember[]): void {
  writeFileSync(file, buildTar(members));
}
