/**
 * Hostile EVTX files built at test time: a valid file header and one chunk (CRCs correct) holding records whose
 * BinXML expands without bound unless the renderer counts what it expands.
 *
 * - **expansion** ("billion laughs"): one template whose content holds K substitutions of the same slot, a nested
 *   BinXML value that is again an instance of the same template, L levels deep: K^(L+1) items from a few KiB. Two
 *   shapes: the substitutions inside `<UserData>` (generic renderer) or directly under `<Event>` beside `<System>`
 *   (the JSON plan's splice path).
 * - **self-instantiating template**: a template whose own definition holds F instances of itself.
 * - a benign record after them, which must still read whole.
 *
 * Every record names EventID 5861 (WMI-Activity) unless benign, so `scan` renders it (not only reads its slots).
 */
import { crc32 } from '../../../src/evtx/bytes.js';

const CHUNK = 65536;
const HEADER = 4096;

/** Writes BinXML at known chunk offsets (inline names and template definitions refer to their own position). */
class BinXmlWriter {
  buf = Buffer.alloc(CHUNK);
  len = 0;
  constructor(readonly base: number) {}
  get pos(): number {
    return this.base + this.len;
  }
  u8(v: number): void {
    this.buf.writeUInt8(v, this.len);
    this.len += 1;
  }
  u16(v: number): void {
    this.buf.writeUInt16LE(v, this.len);
    this.len += 2;
  }
  u32(v: number): void {
    this.buf.writeUInt32LE(v >>> 0, this.len);
    this.len += 4;
  }
  u64(v: bigint): void {
    this.buf.writeBigUInt64LE(v, this.len);
    this.len += 8;
  }
  raw(b: Uint8Array): void {
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  /** Reserve a u32 to fill in later; returns its index in the buffer. */
  hole(): number {
    this.u32(0);
    return this.len - 4;
  }
  fill(hole: number, v: number): void {
    this.buf.writeUInt32LE(v >>> 0, hole);
  }
  fragmentHeader(): void {
    this.raw(Uint8Array.of(0x0f, 0x01, 0x01, 0x00));
  }
  /** A name reference with the name stored inline, right after it. */
  name(s: string): void {
    this.u32(this.pos + 4);
    this.u32(0); // next name in the hash chain
    this.u16(0); // hash (not checked)
    this.u16(s.length);
    this.raw(Buffer.from(s + '\0', 'utf16le'));
  }
  text(s: string): void {
    this.u8(0x05);
    this.u8(0x01);
    this.u16(s.length);
    this.raw(Buffer.from(s, 'utf16le'));
  }
  subst(index: number, type: number): void {
    this.u8(0x0d);
    this.u16(index);
    this.u8(type);
  }
  /**
   * An element. Inside a template definition elements carry a dependency id. `content` undefined: an empty element.
   * Attribute values are written by their callbacks (text or substitution tokens).
   */
  element(name: string, inTemplate: boolean, attrs: Array<[string, () => void]>, content?: () => void): void {
    this.u8(attrs.length ? 0x41 : 0x01);
    if (inTemplate) this.u16(0xffff);
    const size = this.hole();
    const from = this.len;
    this.name(name);
    if (attrs.length) {
      const list = this.hole();
      const listFrom = this.len;
      for (const [an, value] of attrs) {
        this.u8(0x06);
        this.name(an);
        value();
      }
      this.fill(list, this.len - listFrom);
    }
    if (content) {
      this.u8(0x02);
      content();
      this.u8(0x04);
    } else this.u8(0x03);
    this.fill(size, this.len - from);
  }
  /**
   * A template instance: the definition inline (returns its chunk offset) or referenced by offset, then the values
   * (each written in place by its callback; the descriptor sizes are filled in after).
   */
  instance(def: number | { guid: Buffer; body: () => void }, values: Array<{ type: number; write?: () => void }>): number {
    this.u8(0x0c);
    this.u8(0x01);
    const guid = typeof def === 'number' ? null : def.guid;
    this.u32(guid ? guid.readUInt32LE(0) : 0);
    let offset: number;
    if (typeof def === 'number') {
      offset = def;
      this.u32(def);
    } else {
      offset = this.pos + 4;
      this.u32(offset);
      this.u32(0); // next template
      this.raw(def.guid);
      const size = this.hole();
      const from = this.len;
      this.fragmentHeader();
      def.body();
      this.u8(0x00);
      this.fill(size, this.len - from);
    }
    this.u32(values.length);
    const desc = this.len;
    for (let i = 0; i < values.length; i++) this.u32(0);
    values.forEach((v, i) => {
      const from = this.len;
      v.write?.();
      this.buf.writeUInt16LE(this.len - from, desc + 4 * i);
      this.buf.writeUInt8(v.type, desc + 4 * i + 2);
    });
    return offset;
  }
}

const T_STRING = 0x01;
const T_BINXML = 0x21;

function guidOf(n: number): Buffer {
  const g = Buffer.alloc(16);
  g.writeUInt32LE(0x5eed0000 + n, 0);
  g.writeUInt32LE(0x13131313, 4);
  g.writeUInt32LE(n, 12);
  return g;
}

/** `<System>` with literal fields: WMI-Activity 5861 on HOSTILE01 (a benign record: Application event 1). */
function system(w: BinXmlWriter, eventId: number, provider: string, channel: string): void {
  w.element('System', true, [], () => {
    w.element('Provider', true, [['Name', () => w.text(provider)]]);
    w.element('EventID', true, [], () => w.text(String(eventId)));
    w.element('Channel', true, [], () => w.text(channel));
    w.element('Computer', true, [], () => w.text(HOSTILE_COMPUTER));
  });
}

export const HOSTILE_COMPUTER = 'HOSTILE01';
const WMI_PROVIDER = 'Microsoft-Windows-WMI-Activity';
const WMI_CHANNEL = 'Microsoft-Windows-WMI-Activity/Operational';

export interface HostileEvtxOptions {
  /** Substitutions of the nested slot per template instance (K). */
  k: number;
  /** Levels of nested instances below the record's own (L): K^(L+1) items in all. */
  levels: number;
  /** Instances of itself in the self-instantiating template's definition (default 2). */
  selfFanout?: number;
}

/** Record ids in the file, in order. */
export const HOSTILE_RECORDS = { userData: 1, splice: 2, selfInstantiating: 3, benign: 4 } as const;

/** The benign record's one EventData value. */
export const BENIGN_VALUE = 'still here';

/** A whole EVTX file (header + one chunk, valid CRCs) with the records of {@link HOSTILE_RECORDS}. */
export function hostileEvtx(opts: HostileEvtxOptions): Buffer {
  const chunk = Buffer.alloc(CHUNK);
  let at = 512;
  let id = 0;
  let last = at;
  const record = (binxml: (w: BinXmlWriter) => void): void => {
    id++;
    last = at;
    const w = new BinXmlWriter(at);
    w.u32(0x00002a2a);
    const size = w.hole();
    w.u64(BigInt(id));
    w.u64(133_000_000_000_000_000n + BigInt(id) * 10_000_000n);
    w.fragmentHeader();
    binxml(w);
    w.u8(0x00);
    const total = w.len + 4;
    w.fill(size, total);
    w.u32(total);
    if (at + w.len > CHUNK) throw new Error('hostileEvtx: records do not fit in one chunk (lower k)');
    w.buf.copy(chunk, at, 0, w.len);
    at += w.len;
  };

  // the nested value of level `l` (1..L): an instance of the template at `def` whose slot 0 is level l+1 (null at the bottom)
  const nested = (w: BinXmlWriter, def: number, l: number): void => {
    w.fragmentHeader();
    w.instance(def, [l < opts.levels ? { type: T_BINXML, write: () => nested(w, def, l + 1) } : { type: 0x00 }]);
    w.u8(0x00);
  };
  // where a record's own template definition starts when it is inline: after the record header (24), the fragment
  // header (4) and the instance header (0x0c, 1, template id, definition offset)
  const inlineDef = (): number => at + 24 + 4 + 1 + 1 + 4 + 4;
  // the record's own instance defines the template inline; its slot 0 holds level 1; nested levels refer to it by offset
  const expansion = (shape: 'userData' | 'splice', n: number): void => {
    const def = inlineDef();
    record((w) => {
      const body = (): void =>
        w.element('Event', true, [], () => {
          system(w, 5861, WMI_PROVIDER, WMI_CHANNEL);
          const slots = (): void => {
            for (let i = 0; i < opts.k; i++) w.subst(0, T_BINXML);
          };
          if (shape === 'userData') w.element('UserData', true, [], slots);
          else slots();
        });
      const got = w.instance({ guid: guidOf(n), body }, [opts.levels > 0 ? { type: T_BINXML, write: () => nested(w, def, 1) } : { type: 0x00 }]);
      if (got !== def) throw new Error('hostileEvtx: template offset moved');
    });
  };
  expansion('userData', 1);
  expansion('splice', 2);

  // a template whose definition instantiates itself (by its own offset), F times
  {
    const fan = opts.selfFanout ?? 2;
    const self = inlineDef();
    record((w) => {
      const got = w.instance(
        {
          guid: guidOf(3),
          body: () =>
            w.element('Event', true, [], () => {
              system(w, 5861, WMI_PROVIDER, WMI_CHANNEL);
              w.element('UserData', true, [], () => {
                for (let i = 0; i < fan; i++) w.instance(self, []);
              });
            }),
        },
        [],
      );
      if (got !== self) throw new Error('hostileEvtx: self-instantiating template offset');
    });
  }

  // a benign record: it must read whole after the others
  record((w) =>
    w.instance(
      {
        guid: guidOf(4),
        body: () =>
          w.element('Event', true, [], () => {
            system(w, 1, 'Application Error', 'Application');
            w.element('EventData', true, [], () => w.element('Data', true, [['Name', () => w.text('Value')]], () => w.subst(0, T_STRING)));
          }),
      },
      [{ type: T_STRING, write: () => w.raw(Buffer.from(BENIGN_VALUE, 'utf16le')) }],
    ),
  );

  sealChunk(chunk, id, last, at);
  return Buffer.concat([fileHeader(1, id + 1), chunk]);
}

/** Chunk header fields and both CRCs, for records 1..`records` in `[512, free)`, the last one at `last`. */
function sealChunk(chunk: Buffer, records: number, last: number, free: number): void {
  chunk.write('ElfChnk\0', 0, 'latin1');
  chunk.writeBigUInt64LE(1n, 8); // first record number
  chunk.writeBigUInt64LE(BigInt(records), 16);
  chunk.writeBigUInt64LE(1n, 24); // first record id
  chunk.writeBigUInt64LE(BigInt(records), 32);
  chunk.writeUInt32LE(128, 40); // header size
  chunk.writeUInt32LE(last, 44); // last record offset
  chunk.writeUInt32LE(free, 48); // free space offset
  chunk.writeUInt32LE(crc32(chunk, 512, free) >>> 0, 52);
  chunk.writeUInt32LE(crc32(chunk, 128, 512, crc32(chunk, 0, 120)) >>> 0, 124);
}

function fileHeader(chunks: number, nextRecordId: number): Buffer {
  const head = Buffer.alloc(HEADER);
  head.write('ElfFile\0', 0, 'latin1');
  head.writeBigUInt64LE(0n, 8); // first chunk
  head.writeBigUInt64LE(BigInt(chunks - 1), 16); // last chunk
  head.writeBigUInt64LE(BigInt(nextRecordId), 24);
  head.writeUInt32LE(128, 32);
  head.writeUInt16LE(1, 36); // minor version
  head.writeUInt16LE(3, 38); // major version
  head.writeUInt16LE(HEADER, 40);
  head.writeUInt16LE(chunks, 42);
  head.writeUInt32LE(0, 120); // flags: clean
  head.writeUInt32LE(crc32(head, 0, 120) >>> 0, 124);
  return head;
}

/**
 * A file whose `chunks` chunks are full of record signatures with impossible sizes (8 bytes apart): one
 * `record-header` warning each, {@link FLOOD_PER_CHUNK} per chunk. For the per-file cap on the reader's warnings.
 */
export function warningFlood(chunks: number): Buffer {
  const parts = [fileHeader(chunks, 1)];
  for (let c = 0; c < chunks; c++) {
    const chunk = Buffer.alloc(CHUNK);
    for (let p = 512; p + 8 <= CHUNK; p += 8) {
      chunk.writeUInt32LE(0x00002a2a, p);
      chunk.writeUInt32LE(5, p + 4); // a record is at least 28 bytes
    }
    sealChunk(chunk, 0, 512, CHUNK);
    parts.push(chunk);
  }
  return Buffer.concat(parts);
}

/** Warnings per chunk of {@link warningFlood} (a record header needs 24 bytes, so the last signatures are not read). */
export const FLOOD_PER_CHUNK = (CHUNK - 24 - 512) / 8 + 1;

/**
 * One chunk filled with copies of {@link hostileEvtx}'s first record (each its own record number, all instances of
 * the chunk's one expansion template, ~100 bytes each): hundreds of records that each expand to the rendering
 * budget. Without a bound per file, each costs ~10 ms and a 2.6 MB file minutes.
 */
export function manyExpansionRecords(k: number, levels: number): Buffer {
  const file = hostileEvtx({ k, levels });
  const CH = 0x10000;
  const chunk = Buffer.from(file.subarray(4096, 4096 + CH));
  const firstSize = chunk.readUInt32LE(512 + 4);
  // the first record holds the template definition inline; its copies refer to it (the definition cut out)
  const def = 512 + 24 + 4 + 1 + 1 + 4 + 4;
  const defSize = chunk.readUInt32LE(def + 20);
  const first = Buffer.from(chunk.subarray(512, 512 + firstSize));
  const cut = def - 512;
  const rec = Buffer.concat([first.subarray(0, cut), first.subarray(cut + 24 + defSize)]);
  rec.writeUInt32LE(rec.length, 4);
  rec.writeUInt32LE(rec.length, rec.length - 4);
  let at = 512 + firstSize;
  let id = 1;
  let last = 512;
  while (at + rec.length <= CH) {
    id++;
    rec.copy(chunk, at);
    chunk.writeBigUInt64LE(BigInt(id), at + 8);
    last = at;
    at += rec.length;
  }
  chunk.fill(0, at);
  chunk.writeBigUInt64LE(1n, 8);
  chunk.writeBigUInt64LE(BigInt(id), 16);
  chunk.writeBigUInt64LE(1n, 24);
  chunk.writeBigUInt64LE(BigInt(id), 32);
  chunk.writeUInt32LE(last, 44);
  chunk.writeUInt32LE(at, 48);
  chunk.writeUInt32LE(crc32(chunk, 512, at) >>> 0, 52);
  chunk.writeUInt32LE(crc32(chunk, 128, 512, crc32(chunk, 0, 120)) >>> 0, 124);
  const head = Buffer.from(file.subarray(0, 4096));
  head.writeBigUInt64LE(0n, 16);
  head.writeBigUInt64LE(BigInt(id + 1), 24);
  head.writeUInt16LE(1, 42);
  head.writeUInt32LE(crc32(head, 0, 120) >>> 0, 124);
  return Buffer.concat([head, chunk]);
}

/**
 * A whole EVTX file (header + one chunk, valid CRCs) of the records `bodies` write, numbered 1, 2, … in order. Each
 * body writes the record's BinXML after its fragment header; `at` is the record's chunk offset (an inline template
 * definition of the record's own instance starts at `at + 38`).
 */
export function evtxOfRecords(bodies: Array<(w: BinXmlWriter, at: number) => void>): Buffer {
  const chunk = Buffer.alloc(CHUNK);
  let at = 512;
  let last = at;
  bodies.forEach((body, i) => {
    last = at;
    const w = new BinXmlWriter(at);
    w.u32(0x00002a2a);
    const size = w.hole();
    w.u64(BigInt(i + 1));
    w.u64(133_000_000_000_000_000n + BigInt(i + 1) * 10_000_000n);
    w.fragmentHeader();
    body(w, at);
    w.u8(0x00);
    w.fill(size, w.len + 4);
    w.u32(w.len + 4);
    if (at + w.len > CHUNK) throw new Error('evtxOfRecords: records do not fit in one chunk');
    w.buf.copy(chunk, at, 0, w.len);
    at += w.len;
  });
  sealChunk(chunk, bodies.length, last, at);
  return Buffer.concat([fileHeader(1, bodies.length + 1), chunk]);
}

/**
 * Records whose template slots look like an EventData of `<Data Name="…">` elements but whose JSON has no
 * `Event.EventData` there: (1) a template whose root is `<EventData>` itself (no `<Event>`); (2) an `<Event>` whose
 * nested BinXML value is an instance of a template rooted at another `<Event>` (the JSON: `Event.Event.EventData`).
 * Then (3) the usual shape (System in the outer template, EventData in the nested one), which reads from slots.
 * Each names `Image` = {@link SLOT_IMAGE}.
 */
export function misplacedEventData(): Buffer {
  const data = (w: BinXmlWriter): void => w.element('Data', true, [['Name', () => w.text('Image')]], () => w.subst(0, T_STRING));
  const image = (w: BinXmlWriter): { type: number; write: () => void } => ({ type: T_STRING, write: () => w.raw(Buffer.from(SLOT_IMAGE, 'utf16le')) });
  // an Event template (System, then the nested value of slot 0) whose slot 0 holds an instance of `inner`
  const outer = (guid: number, inner: (w: BinXmlWriter) => void) => (w: BinXmlWriter): void => {
    w.instance(
      { guid: guidOf(guid), body: () => w.element('Event', true, [], () => { system(w, 1, 'Microsoft-Windows-Sysmon', 'Microsoft-Windows-Sysmon/Operational'); w.subst(0, T_BINXML); }) },
      [{ type: T_BINXML, write: () => { w.fragmentHeader(); w.instance({ guid: guidOf(guid + 1), body: () => inner(w) }, [image(w)]); w.u8(0x00); } }],
    );
  };
  return evtxOfRecords([
    (w) => { w.instance({ guid: guidOf(20), body: () => w.element('EventData', true, [], () => data(w)) }, [image(w)]); },
    outer(21, (w) => w.element('Event', true, [], () => w.element('EventData', true, [], () => data(w)))),
    outer(23, (w) => w.element('EventData', true, [], () => data(w))),
  ]);
}

/** The `Image` value of every record of {@link misplacedEventData}. */
export const SLOT_IMAGE = 'C:\\Windows\\notepad.exe';

/**
 * Sysmon 1 records whose EventData is plain `<Data Name="Image">` and `<Data Name="ParentImage">` slots (both
 * {@link SLOT_IMAGE}: a start of nothing a subscription runs) but whose rendering runs out of budget before it
 * (`expansion-limit`: the JSON's EventData is then null): beside `<System>`, a `<Bomb>` element holding (1) a nested
 * BinXML value that expands K^(L+1) times, (2) one slot used `uses` times whose value is a long string.
 */
export function slotsBeyondBudget(k = 40, levels = 4, uses = 4000): Buffer {
  const image = (w: BinXmlWriter): { type: number; write: () => void } => ({ type: T_STRING, write: () => w.raw(Buffer.from(SLOT_IMAGE, 'utf16le')) });
  const event = (w: BinXmlWriter, bomb: () => void, imageSlot: number): void =>
    w.element('Event', true, [], () => {
      system(w, 1, 'Microsoft-Windows-Sysmon', 'Microsoft-Windows-Sysmon/Operational');
      w.element('Bomb', true, [], bomb);
      w.element('EventData', true, [], () => {
        w.element('Data', true, [['Name', () => w.text('Image')]], () => w.subst(imageSlot, T_STRING));
        w.element('Data', true, [['Name', () => w.text('ParentImage')]], () => w.subst(imageSlot, T_STRING));
      });
    });
  let inner = -1;
  const nested = (w: BinXmlWriter, l: number): void => {
    w.fragmentHeader();
    const values = [l < levels ? { type: T_BINXML, write: () => nested(w, l + 1) } : { type: 0x00 }];
    if (inner < 0) {
      inner = w.pos + 10;
      w.instance({ guid: guidOf(31), body: () => w.element('X', true, [], () => { for (let i = 0; i < k; i++) w.subst(0, T_BINXML); }) }, values);
    } else w.instance(inner, values);
    w.u8(0x00);
  };
  return evtxOfRecords([
    (w) => { w.instance({ guid: guidOf(30), body: () => event(w, () => w.subst(0, T_BINXML), 1) }, [{ type: T_BINXML, write: () => nested(w, 1) }, image(w)]); },
    (w) => {
      w.instance({ guid: guidOf(32), body: () => event(w, () => { for (let i = 0; i < uses; i++) w.subst(0, T_STRING); }, 1) }, [
        { type: T_STRING, write: () => w.raw(Buffer.alloc(8000, 0x41)) },
        image(w),
      ]);
    },
  ]);
}
