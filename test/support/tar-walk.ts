/**
 * A tiny reader of (gzipped) tar archives for tests: regular files with their paths (ustar prefix, GNU long names
 * and pax `path` records), read whole into memory. Test fixtures only (trusted, small).
 */
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

export interface TarFile {
  path: string;
  data: Buffer;
}

const field = (b: Buffer, off: number, len: number): string => {
  const s = b.subarray(off, off + len);
  const z = s.indexOf(0);
  return (z < 0 ? s : s.subarray(0, z)).toString('utf8');
};

export function readTarGz(file: string): TarFile[] {
  const tar = gunzipSync(readFileSync(file));
  const out: TarFile[] = [];
  let longName: string | null = null;
  for (let off = 0; off + 512 <= tar.length; ) {
    const h = tar.subarray(off, off + 512);
    if (h.every((x) => x === 0)) break;
    const size = parseInt(field(h, 124, 12).trim() || '0', 8);
    const type = String.fromCharCode(h[156]!);
    const body = tar.subarray(off + 512, off + 512 + size);
    off += 512 + Math.ceil(size / 512) * 512;
    if (type === 'L') {
      longName = field(body, 0, body.length);
      continue;
    }
    if (type === 'x') {
      const m = /\d+ path=([^\n]*)\n/.exec(body.toString('utf8'));
      if (m) longName = m[1]!;
      continue;
    }
    const prefix = field(h, 345, 155);
    const name = longName ?? (prefix ? `${prefix}/${field(h, 0, 100)}` : field(h, 0, 100));
    longName = null;
    if (type === '0' || type === '\0') out.push({ path: name, data: Buffer.from(body) });
  }
  return out;
}
