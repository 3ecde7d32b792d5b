/**
 * A generated fleet of host collections for stacking tests and the fleet bench: each host is a KAPE-style
 * folder `HOSTnn/C/Windows/System32/...` holding a copy of a real EVTX log whose Computer name is rewritten to
 * the host's name (same length, chunk CRCs recomputed, so the copy reads clean), plus optional repositories.
 */
import { copyFileSync, linkSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32 } from '../../src/evtx/bytes.js';

const CHUNK = 65536;

/**
 * Replace every UTF-16LE occurrence of `from` with `to` (same length) inside the chunks of an EVTX file and
 * recompute each touched chunk's header and records CRC32s. `from` must be distinctive (a computer name).
 */
export function renameComputer(evtx: Buffer, from: string, to: string): Buffer {
  if (from.length !== to.length) throw new Error('renameComputer: names must have the same length');
  const out = Buffer.from(evtx);
  const a = Buffer.from(from, 'utf16le');
  const b = Buffer.from(to, 'utf16le');
  const headerSize = out.readUInt16LE(40) || 4096; // header block size
  for (let c = headerSize; c + CHUNK <= out.length; c += CHUNK) {
    if (out.toString('latin1', c, c + 8) !== 'ElfChnk\0') continue;
    const chunk = out.subarray(c, c + CHUNK);
    let touched = false;
    for (let i = chunk.indexOf(a, 512); i >= 0; i = chunk.indexOf(a, i + a.length)) {
      b.copy(chunk, i);
      touched = true;
    }
    if (!touched) continue;
    const free = chunk.readUInt32LE(48);
    chunk.writeUInt32LE(crc32(chunk, 512, Math.min(free, CHUNK)) >>> 0, 52);
    const head = Buffer.concat([chunk.subarray(0, 120), chunk.subarray(128, 512)]);
    chunk.writeUInt32LE(crc32(head, 0, head.length) >>> 0, 124);
  }
  return out;
}

/**
 * Like {@link renameComputer}, but only in the first `chunks` chunks: the log of a machine renamed after its first
 * records (`WIN-…` during setup, then `DESKTOP-…`). Chunk granularity, because a chunk's templates may hold the
 * Computer name as literal text shared by all its records. Chunk CRCs are recomputed.
 */
export function renameComputerInFirstChunks(evtx: Buffer, from: string, to: string, chunks: number): Buffer {
  const headerSize = evtx.readUInt16LE(40) || 4096;
  const cut = headerSize + chunks * CHUNK;
  return Buffer.concat([renameComputer(evtx.subarray(0, cut), from, to), evtx.subarray(cut)]);
}

export interface FleetSpec {
  /** Folder to create the host folders in. */
  dir: string;
  hosts: number;
  /** Host names: `prefix` + two-digit number; must have the length of `log.computer`. */
  prefix: string;
  /** A real EVTX log copied to every host with its Computer renamed. */
  log: { file: string; computer: string; name: string };
  /** Repositories: `files` (a folder of plain repository files) hard-linked (or copied) into the hosts listed. */
  repositories?: Array<{ files: string; hosts: number[] }>;
  /** Builder callbacks writing a repository into a host's Repository folder. */
  builders?: Array<{ build: (repoDir: string) => void; hosts: number[] }>;
}

export function hostName(prefix: string, i: number): string {
  return `${prefix}${String(i).padStart(2, '0')}`;
}

/** Create the fleet; returns the host names in order. */
export function makeFleet(spec: FleetSpec): string[] {
  const logBytes = readFileSync(spec.log.file);
  const names: string[] = [];
  for (let i = 1; i <= spec.hosts; i++) {
    const host = hostName(spec.prefix, i);
    names.push(host);
    const sys32 = join(spec.dir, host, 'C', 'Windows', 'System32');
    const logs = join(sys32, 'winevt', 'Logs');
    mkdirSync(logs, { recursive: true });
    writeFileSync(join(logs, spec.log.name), renameComputer(logBytes, spec.log.computer, host));
    const repo = join(sys32, 'wbem', 'Repository');
    for (const r of spec.repositories ?? []) {
      if (!r.hosts.includes(i)) continue;
      mkdirSync(repo, { recursive: true });
      for (const f of readdirSync(r.files)) {
        try {
          linkSync(join(r.files, f), join(repo, f));
        } catch {
          copyFileSync(join(r.files, f), join(repo, f));
        }
      }
    }
    for (const b of spec.builders ?? []) {
      if (!b.hosts.includes(i)) continue;
      mkdirSync(repo, { recursive: true });
      b.build(repo);
    }
  }
  return names;
}
