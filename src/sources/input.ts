/**
 * The contract every evidence adapter implements: an input (a file on disk, or a member of an archive) in,
 * observations out. Adapters recognize their format by content ({@link Adapter.detect}), never by name.
 */
import * as fs from 'node:fs';
import type { EvidenceItem, LogSummary, Observation, RepositorySummary, SigmaEventHit } from '../model/types.js';
import type { SigmaHit } from '../sigma/types.js';
import type { NoteSink } from './notes.js';

export type { LogSummary, RepositorySummary } from '../model/types.js';

/** What an adapter returns for one input. */
export interface ObserveResult {
  observations: Observation[];
  /** One per host the input holds evidence for. */
  items: EvidenceItem[];
  /** Event logs and exports: channels and event ids per host, for coverage. */
  logs: LogSummary[];
  /** Repositories: each consumer class's inheritance chain, keyed `host|namespace|class` (lower case). */
  chains?: Map<string, string[]>;
  /**
   * Where the input shows the host's whole WMI state (what is absent there was deleted): `all` namespaces
   * (a repository) or a list of canonical namespaces read without errors (a collector document); `at`, when the
   * state was read (a collector document's `collectedAt`; absent or null: not known), since it shows the absence only
   * of what was made before then.
   */
  state?: Array<{ host: string; namespaces: 'all' | string[]; at?: string | null }>;
  /** Repositories read (for coverage). */
  repositories?: RepositorySummary[];
  /** Host names the input shows to be one machine (a log that renamed its computer, a client and its logs), and why. */
  hostLinks?: HostLink[];
  /** Event records the scan's Sigma rules matched (only with Sigma rules). */
  sigmaHits?: SigmaEventHit[];
}

/** Two names of one machine, linked by what the evidence shows. */
export interface HostLink {
  names: [string, string];
  why: string;
}

export const emptyResult = (): ObserveResult => ({ observations: [], items: [], logs: [] });

/** One piece of evidence to read: a file, or a member of an archive. Sizes come from the file system or the zip directory. */
export interface EvidenceInput {
  /** Display name: a path, or `archive.zip!/member/path` (the member name escaped, never used as a path). */
  name: string;
  /** The file on disk, when the input is one (readers that seek may open it instead of reading it whole). */
  path?: string;
  size: number;
  /** The first `n` bytes (fewer when the input is shorter). */
  head(n: number): Promise<Buffer>;
  /** The whole content. Callers bound the size before calling. */
  read(): Promise<Buffer>;
  /** The content as a stream of chunks (for inputs too large to hold). */
  chunks(): AsyncIterable<Buffer>;
}

export interface ObserveContext {
  /** Where every problem met is written (capped per file, code and kind). */
  notes: NoteSink;
  /** Attribute all observations to this host (`--host`, or a Velociraptor client of a collection zip). */
  host?: string;
  /** With `host` from a collection (not `--host`): why a name the input gives is that host, or null (see `forceHost`). */
  hostLink?: (name: string) => string | null;
  /** Sigma rules to run on every event record read (the scan's `--sigma`); none when absent. */
  sigma?: EventMatcher;
}

/** What the readers need of a Sigma rule set: which records it may match (so others are not rendered), and matching. */
export interface EventMatcher {
  wants(channel: string | null, eventId: number | null): boolean;
  /** The rules that match `event`, a record in the EVTX layer's JSON shape. */
  match(event: unknown): SigmaHit[];
}

/**
 * Reads one input of any kind (the dispatcher's `observeInput`). Containers receive it as a parameter and hand
 * it their members, so that no container module imports the dispatcher back.
 */
export type ObserveFn = (input: EvidenceInput, ctx: ObserveContext) => Promise<ObserveResult | null>;

/** A text or JSON evidence format. */
export interface Adapter {
  /** Short name used in evidence items and notes (`ecs`, `evtx-json`, `velociraptor`, …). */
  format: string;
  /** True when `head` (the first 64 KiB, decoded as UTF-8 with any BOM removed) looks like this format. */
  detect(head: string): boolean;
  /**
   * True when `head` may be this format but is cut inside what {@link detect} needs (a first record longer than
   * the head): the dispatcher then asks again with a longer head (see `formats/index.ts` `detectionHead`).
   */
  cutShort?(head: string): boolean;
  observe(input: EvidenceInput, ctx: ObserveContext): Promise<ObserveResult>;
}

/** A binary evidence format (EVTX): recognized by the first bytes, not by decoded text. */
export interface BinaryAdapter {
  format: string;
  /** True when `head` (the first 64 KiB) starts like this format. */
  detectBytes(head: Buffer): boolean;
  observe(input: EvidenceInput, ctx: ObserveContext): Promise<ObserveResult>;
}

/** Largest input an adapter reads whole (`read()`); larger inputs must be streamed or are refused with a note. */
export const MAX_WHOLE_INPUT = 512 * 1024 * 1024;

/** An input backed by a file on disk. */
export function fileInput(file: string): EvidenceInput {
  const size = (() => {
    try {
      return fs.statSync(file).size;
    } catch {
      return 0;
    }
  })();
  return {
    name: file,
    path: file,
    size,
    async head(n: number): Promise<Buffer> {
      const fh = await fs.promises.open(file, 'r');
      try {
        const b = Buffer.alloc(n);
        const { bytesRead } = await fh.read(b, 0, n, 0);
        return b.subarray(0, bytesRead);
      } finally {
        await fh.close();
      }
    },
    read: () => fs.promises.readFile(file),
    chunks: () => fs.createReadStream(file, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>,
  };
}

/** An input backed by a buffer (tests, decompressed members). */
export function bufferInput(name: string, data: Buffer): EvidenceInput {
  return {
    name,
    size: data.length,
    head: async (n: number) => data.subarray(0, n),
    read: async () => data,
    async *chunks() {
      for (let i = 0; i < data.length; i += 1 << 20) yield data.subarray(i, i + (1 << 20));
    },
  };
}

/** How a text input is encoded, from its first bytes: the encoding and the length of its byte-order mark. */
export interface TextEncoding {
  encoding: 'utf8' | 'utf16le' | 'utf16be';
  bom: number;
}

/** Bytes looked at to recognize BOM-less UTF-16 by its zero bytes. */
const SNIFF_BYTES = 4096;

/**
 * The encoding of a text that starts with `b`: a BOM (UTF-8, UTF-16 LE/BE) decides; without one, UTF-16 is
 * recognized by its zero bytes (the text formats read are markup and field names, mostly ASCII: in UTF-16 LE
 * most odd bytes are zero and almost no even byte is, the other way round in BE); anything else is UTF-8.
 */
export function textEncoding(b: Uint8Array): TextEncoding {
  if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return { encoding: 'utf8', bom: 3 };
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return { encoding: 'utf16le', bom: 2 };
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) return { encoding: 'utf16be', bom: 2 };
  const n = Math.min(b.length, SNIFF_BYTES) & ~1;
  if (n < 4) return { encoding: 'utf8', bom: 0 };
  let even = 0;
  let odd = 0;
  for (let i = 0; i < n; i += 2) {
    if (b[i] === 0) even++;
    if (b[i + 1] === 0) odd++;
  }
  const pairs = n / 2;
  if (odd > pairs / 2 && even * 8 < odd) return { encoding: 'utf16le', bom: 0 };
  if (even > pairs / 2 && odd * 8 < even) return { encoding: 'utf16be', bom: 0 };
  return { encoding: 'utf8', bom: 0 };
}

/** Text of a head buffer (or a whole input) with any BOM removed: UTF-8, or UTF-16 LE/BE with or without a BOM. */
export function headText(b: Buffer): string {
  const { encoding, bom } = textEncoding(b);
  if (encoding === 'utf16le') return b.subarray(bom, bom + ((b.length - bom) & ~1)).toString('utf16le');
  if (encoding === 'utf16be') return Buffer.from(b.subarray(bom, bom + ((b.length - bom) & ~1))).swap16().toString('utf16le');
  return b.subarray(bom).toString('utf8');
}

/** Whole text of an input (BOM and UTF-16 handled), refusing inputs over {@link MAX_WHOLE_INPUT}. */
export async function readText(input: EvidenceInput): Promise<string> {
  if (input.size > MAX_WHOLE_INPUT) throw new Error(`${input.size} bytes is over the ${MAX_WHOLE_INPUT}-byte limit for this format`);
  return headText(await input.read());
}
