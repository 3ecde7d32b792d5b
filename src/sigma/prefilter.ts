/**
 * The prefilter: which rules could match a record, found in one pass over the record's text.
 *
 * Each rule gets a *trigger*: a set of texts of which at least one is in every record the rule matches (derived from
 * its condition: an `and` needs only its most selective operand's set, an `or` the union of its operands' sets, a
 * `not` gives none; a field test gives its needles' longest literal parts, lower-cased). A rule without a trigger is
 * always tried. Per record, one Aho-Corasick pass over the lower-cased field values finds every trigger text
 * present; only the rules with a present text are evaluated. The trigger is a necessary condition, so the hits are
 * the same as evaluating every rule (the tests check that).
 */
import type { Cond } from './condition.js';

/** Aho-Corasick automaton over UTF-16 code units. */
export class TextSet {
  private readonly next: Array<Map<number, number>> = [new Map()];
  private fail: Int32Array = new Int32Array(1);
  /** Ids of the texts ending at a node (own and through failure links, merged at build). */
  private out: Array<number[] | null> = [null];
  readonly size: number;

  constructor(texts: readonly string[]) {
    this.size = texts.length;
    texts.forEach((t, id) => {
      let node = 0;
      for (let i = 0; i < t.length; i++) {
        const c = t.charCodeAt(i);
        let n = this.next[node]!.get(c);
        if (n === undefined) {
          n = this.next.length;
          this.next.push(new Map());
          this.out.push(null);
          this.next[node]!.set(c, n);
        }
        node = n;
      }
      (this.out[node] ??= []).push(id);
    });
    // failure links, breadth first
    this.fail = new Int32Array(this.next.length);
    const queue: number[] = [];
    for (const n of this.next[0]!.values()) queue.push(n);
    for (let q = 0; q < queue.length; q++) {
      const node = queue[q]!;
      for (const [c, child] of this.next[node]!) {
        let f = this.fail[node]!;
        while (f > 0 && !this.next[f]!.has(c)) f = this.fail[f]!;
        const target = this.next[f]!.get(c);
        this.fail[child] = target !== undefined && target !== child ? target : 0;
        const inherited = this.out[this.fail[child]!];
        if (inherited) this.out[child] = [...(this.out[child] ?? []), ...inherited];
        queue.push(child);
      }
    }
  }

  /** Marks in `found` (by id) every text that occurs in `s`. */
  scan(s: string, found: Uint8Array): void {
    let node = 0;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      let n = this.next[node]!.get(c);
      while (n === undefined && node > 0) {
        node = this.fail[node]!;
        n = this.next[node]!.get(c);
      }
      node = n ?? 0;
      const o = this.out[node];
      if (o) for (const id of o) found[id] = 1;
    }
  }
}

/** The trigger of a condition, given each search identifier's trigger (null: none). */
export function conditionTrigger(c: Cond, ident: (i: number) => string[] | null): string[] | null {
  const best = (sets: Array<string[] | null>): string[] | null => {
    let b: string[] | null = null;
    for (const s of sets) if (s && (!b || s.length < b.length)) b = s;
    return b;
  };
  const union = (sets: Array<string[] | null>): string[] | null => (sets.some((s) => s === null) ? null : (sets as string[][]).flat());
  switch (c.k) {
    case 'id':
      return ident(c.i);
    case 'of':
      return c.all ? best(c.ids.map(ident)) : union(c.ids.map(ident));
    case 'and':
      return best(c.xs.map((x) => conditionTrigger(x, ident)));
    case 'or':
      return union(c.xs.map((x) => conditionTrigger(x, ident)));
    case 'not':
      return null;
  }
}

/** The trigger of a search identifier: any of its maps, each map needing all its tests (so its best test's set). */
export function identifierTrigger(maps: ReadonlyArray<ReadonlyArray<{ anchors: string[] | null }>>): string[] | null {
  const out: string[] = [];
  for (const m of maps) {
    let b: string[] | null = null;
    for (const t of m) if (t.anchors && (!b || t.anchors.length < b.length)) b = t.anchors;
    if (!b) return null;
    out.push(...b);
  }
  return out;
}
