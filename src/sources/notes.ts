/**
 * The one place notes are collected and repeats are capped. Readers write every problem they meet to a
 * {@link NoteSink}; the sink keeps the first {@link NOTES_PER_KEY} notes of each (file, code, kind) and counts
 * the rest into one summary note, so a hostile file (a million bad lines) costs a handful of notes whatever it
 * holds. Worker results stay plain data: a task returns `sink.list()`.
 */
import type { EvidenceNote, NoteCode } from '../model/types.js';

/** Notes kept per (file, code, kind) before the rest are only counted. */
export const NOTES_PER_KEY = 3;

const LEVEL_ORDER: Record<EvidenceNote['level'], number> = { skipped: 0, warning: 1, error: 2 };

interface Tally {
  /** The file the summary note names: the notes' file, or the group they were written under. */
  file: string;
  code: NoteCode;
  kind?: string;
  /** Notes written under this key. */
  count: number;
  /** Index in `kept` of the last note kept under this key (the summary goes right after it). */
  last: number;
  /** The most severe level among the notes only counted. */
  level: EvidenceNote['level'];
  /** The first note only counted (where the unlisted ones start). */
  firstHidden?: EvidenceNote;
}

/** Longest message (and file label) a note keeps; the rest is counted. */
export const MAX_NOTE_CHARS = 2000;

export class NoteSink {
  private readonly kept: EvidenceNote[] = [];
  private readonly tallies = new Map<string, Tally>();
  /** Per file: the sequence number of the last note written about it (kept or only counted). */
  private readonly lastFor = new Map<string, number>();
  private seq = 0;

  constructor(private readonly perKey = NOTES_PER_KEY) {}

  /**
   * Write one note. `group` (default: the note's file) is what the cap counts by: an archive passes its own name
   * so that its members' "not evidence" notes share one cap and one summary, which then names the archive.
   */
  add(note: EvidenceNote, group?: string): void {
    // a note quotes evidence (an error text, a name): its size is bounded like everything else a file decides
    if (note.message.length > MAX_NOTE_CHARS) note = { ...note, message: `${note.message.slice(0, MAX_NOTE_CHARS)}… (${note.message.length - MAX_NOTE_CHARS} more characters)` };
    if (note.file.length > MAX_NOTE_CHARS) note = { ...note, file: `${note.file.slice(0, MAX_NOTE_CHARS)}…` };
    this.seq++;
    this.lastFor.set(note.file, this.seq);
    const file = group ?? note.file;
    const key = JSON.stringify([file, note.code, note.kind ?? null]);
    let t = this.tallies.get(key);
    if (!t) {
      t = { file, code: note.code, ...(note.kind !== undefined ? { kind: note.kind } : {}), count: 0, last: -1, level: 'skipped' };
      this.tallies.set(key, t);
    }
    t.count++;
    if (t.count <= this.perKey) {
      t.last = this.kept.length;
      this.kept.push(note);
    } else {
      t.firstHidden ??= note;
      if (LEVEL_ORDER[note.level] > LEVEL_ORDER[t.level]) t.level = note.level;
    }
  }

  /** A position to pass to {@link wroteAbout} later. */
  mark(): number {
    return this.seq;
  }

  /** True when a note about `file` was written after `since` (a {@link mark}; default: ever). */
  wroteAbout(file: string, since = 0): boolean {
    return (this.lastFor.get(file) ?? 0) > since;
  }

  /** The notes, in the order written, each capped key followed by its summary ("K more … like these"). */
  list(): EvidenceNote[] {
    const after = new Map<number, EvidenceNote[]>();
    for (const t of this.tallies.values()) {
      const more = t.count - this.perKey;
      if (more <= 0) continue;
      const what = `${t.code}${t.kind !== undefined ? ` [${t.kind}]` : ''}`;
      const h = t.firstHidden!;
      const first = h.file === t.file ? h.message : `${h.file}: ${h.message}`;
      const summary: EvidenceNote = {
        file: t.file,
        level: t.level,
        code: t.code,
        ...(t.kind !== undefined ? { kind: t.kind } : {}),
        message: `${more} more ${what} note(s) like the ${this.perKey} above, not listed; the first of them: ${first}`,
      };
      const list = after.get(t.last);
      if (list) list.push(summary);
      else after.set(t.last, [summary]);
    }
    const out: EvidenceNote[] = [];
    this.kept.forEach((n, i) => {
      out.push(n);
      const s = after.get(i);
      if (s) out.push(...s);
    });
    return out;
  }
}

/** The note for an input that is none of the formats wmiscope reads. */
export const NOT_EVIDENCE = 'not evidence (no EVTX signature, not a WMI repository file, not a recognized export, row or collector format)';
