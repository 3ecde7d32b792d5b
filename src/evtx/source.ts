/**
 * Where an EVTX reader's bytes come from: memory, or a file read through a read-ahead window of whole chunk slots
 * (fewer system calls, bounded memory), or one reused window (see EvtxReadOptions.reuseBuffers).
 */
import * as fs from 'node:fs';
import { CHUNK_SIZE, FILE_HEADER_SIZE } from './layout.js';

export interface ByteSource {
  readonly size: number;
  /**
   * Up to `length` bytes at `offset` (fewer at the end of the data). With `reuse`, the bytes may live in a buffer that a
   * later `reuse` read overwrites (see EvtxReadOptions.reuseBuffers).
   */
  read(offset: number, length: number, reuse?: boolean): Uint8Array;
  close(): void;
}

export class BufferSource implements ByteSource {
  constructor(private readonly data: Uint8Array) {}
  get size(): number {
    return this.data.length;
  }
  read(offset: number, length: number): Uint8Array {
    return this.data.subarray(offset, Math.min(this.data.length, offset + length));
  }
  close(): void {}
}

/** Reads a file through a read-ahead window of whole chunk slots (fewer system calls, bounded memory). */
export class FileSource implements ByteSource {
  private fd: number | null;
  readonly size: number;
  private winStart = 0;
  private win: Uint8Array = new Uint8Array(0);
  // the window of reads that allow reuse: one buffer, filled again in place
  private reuseStart = 0;
  private reuseLength = 0;
  private reuseBuf: Buffer | null = null;
  private static readonly WINDOW = 16 * CHUNK_SIZE;
  constructor(path: string) {
    this.fd = fs.openSync(path, 'r');
    try {
      this.size = fs.fstatSync(this.fd).size;
    } catch (e) {
      fs.closeSync(this.fd);
      throw e;
    }
  }
  private readRaw(offset: number, length: number, into?: Buffer): Uint8Array {
    if (this.fd === null) throw new Error('EVTX reader is closed');
    const n = Math.max(0, Math.min(length, this.size - offset));
    const buf = into && into.length >= n ? into : Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const r = fs.readSync(this.fd, buf, got, n - got, offset + got);
      if (r === 0) break;
      got += r;
    }
    return got === buf.length ? buf : buf.subarray(0, got);
  }
  read(offset: number, length: number, reuse = false): Uint8Array {
    if (length > FileSource.WINDOW || offset < FILE_HEADER_SIZE) return this.readRaw(offset, length);
    if (reuse) {
      if (offset < this.reuseStart || offset + length > this.reuseStart + this.reuseLength) {
        this.reuseBuf ??= Buffer.allocUnsafe(FileSource.WINDOW);
        this.reuseStart = offset;
        this.reuseLength = this.readRaw(offset, FileSource.WINDOW, this.reuseBuf).length;
      }
      const s = offset - this.reuseStart;
      return this.reuseBuf!.subarray(s, Math.min(this.reuseLength, s + length));
    }
    if (offset < this.winStart || offset + length > this.winStart + this.win.length) {
      // a fresh window (records of the previous one keep their own bytes alive)
      this.winStart = offset;
      this.win = this.readRaw(offset, FileSource.WINDOW);
    }
    const s = offset - this.winStart;
    return this.win.subarray(s, Math.min(this.win.length, s + length));
  }
  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }
}
