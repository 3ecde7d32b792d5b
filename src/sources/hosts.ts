/**
 * Host identity: one machine, however many names the evidence gives it. Names are linked only where the evidence
 * links them — a log whose records continue under a new Computer name (a rename), a short name equal to the first
 * label of an FQDN seen in the same file or the same collection, a Velociraptor client (`NAME (C.id)`) and the logs
 * of the same archive naming NAME — or where the user says so (`--host-alias`). Different collections are never
 * linked by a guess. Each link keeps its reason, so reports can say why two names are one host.
 */
import * as path from 'node:path';
import type { HostAliases } from '../model/types.js';
import type { HostLink } from './input.js';
import { compareName } from '../model/order.js';

/**
 * The folder above a host's `Windows\System32` tree (the collection root of one host, KAPE/mounted-image style), or
 * null. A folder merely named `windows` (a dataset's `atomic/windows/…`) is no host's tree.
 */
export function collectionRoot(p: string): string | null {
  const parts = path.resolve(p).split(path.sep);
  const low = parts.map((x) => x.toLowerCase());
  for (let i = low.length - 2; i > 0; i--) if (low[i] === 'windows' && (low[i + 1] === 'system32' || low[i + 1] === 'syswow64')) return parts.slice(0, i).join(path.sep);
  return null;
}

/** The archive an evidence label is a member of (`case.zip!/a/b.evtx` → `case.zip`), or null. */
function archiveOf(label: string): string | null {
  const i = label.indexOf('!/');
  return i > 0 ? label.slice(0, i) : null;
}

const CLIENT = /^(.*) \((C\.[0-9a-f]+)\)$/i;

/** Where a name was seen: the evidence file, for scoping the short-name and client links. */
export interface NameSighting {
  host: string;
  file: string;
}

/** Why a name is preferred as the canonical one of its group (higher wins). */
function rank(name: string, renamedTo: Set<string>, renamedFrom: Set<string>): number {
  let r = 0;
  if (CLIENT.test(name)) r += 8; // the client id is what a hunt and the Velociraptor GUI use
  if (renamedTo.has(name.toLowerCase()) && !renamedFrom.has(name.toLowerCase())) r += 4; // the machine's newest name
  if (name.includes('.')) r += 2; // an FQDN says more than its first label
  return r;
}

/** `--host-alias` values that contradict each other. */
export class HostAliasError extends Error {
  override name = 'HostAliasError';
}

/** Union of host names into machines. */
export class HostIdentity {
  private readonly parent = new Map<string, string>();
  private readonly spelling = new Map<string, string>();
  private readonly why = new Map<string, Array<{ name: string; why: string }>>();
  private readonly forced = new Map<string, string>();
  private readonly renamedTo = new Set<string>();
  private readonly renamedFrom = new Set<string>();

  /** Names the evidence gave (an alias given only on the command line is not shown as a name of the host). */
  private readonly inEvidence = new Set<string>();

  constructor(
    /**
     * `--host-alias NAME=CANONICAL`: NAME is CANONICAL, whatever the evidence says. Chains are followed
     * (`A=B`, `B=C`: A and B are C); a name given two canonical names, or a chain that loops, is a {@link HostAliasError}.
     */
    aliases: Record<string, string> = {},
    /** False (`--no-host-merge`): only `aliases` link names; case differences still do. */
    private readonly merge = true,
  ) {
    const target = new Map<string, string>();
    for (const [name, canon] of Object.entries(aliases)) {
      const prev = target.get(name.toLowerCase());
      if (prev !== undefined && prev.toLowerCase() !== canon.toLowerCase()) throw new HostAliasError(`--host-alias gives ${name} two names: ${prev} and ${canon}`);
      target.set(name.toLowerCase(), canon);
    }
    const final = (name: string): string => {
      let n = name;
      for (let steps = 0; target.has(n.toLowerCase()); steps++) {
        if (steps > target.size) throw new HostAliasError(`--host-alias names loop: ${name}`);
        n = target.get(n.toLowerCase())!;
      }
      return n;
    };
    for (const [name, canon] of Object.entries(aliases)) {
      const end = final(canon);
      this.forced.set(end.toLowerCase(), end);
      this.see(name);
      this.see(end);
      this.link(name, end, `--host-alias ${name}=${canon}`);
    }
  }

  /** The `--host-alias` names no evidence gave (to be said, never shown as a host's other name). */
  unseenAliases(aliases: Record<string, string> = {}): string[] {
    return Object.keys(aliases).filter((n) => !this.inEvidence.has(n.toLowerCase()));
  }

  /** Record a spelling of a name (the first one seen is shown). */
  see(name: string): void {
    const k = name.toLowerCase();
    if (!k) return;
    if (!this.spelling.has(k)) this.spelling.set(k, name);
    if (!this.parent.has(k)) this.parent.set(k, k);
  }

  private find(k: string): string {
    let r = k;
    for (let p = this.parent.get(r); p !== undefined && p !== r; p = this.parent.get(r)) r = p;
    // path compression
    for (let x = k, p = this.parent.get(x); p !== undefined && p !== x; x = p, p = this.parent.get(x)) this.parent.set(x, r);
    return r;
  }

  private link(a: string, b: string, why: string): void {
    const ka = a.toLowerCase();
    const kb = b.toLowerCase();
    if (!ka || !kb || ka === kb) return;
    this.see(a);
    this.see(b);
    const ra = this.find(ka);
    const rb = this.find(kb);
    for (const k of [ka, kb]) {
      const list = this.why.get(k) ?? [];
      const other = k === ka ? b : a;
      if (!list.some((x) => x.why === why && x.name === other)) list.push({ name: other, why });
      this.why.set(k, list);
    }
    if (ra !== rb) this.parent.set(ra, rb);
  }

  /** Links an input found (renames); ignored with `--no-host-merge`. */
  addLinks(links: readonly HostLink[]): void {
    if (!this.merge) return;
    // a name that links to two different Velociraptor clients (one machine re-enrolled, or two machines of one name)
    // is no evidence that the clients are one machine: such links are dropped, the clients stay apart
    const clientsOf = new Map<string, Set<string>>();
    for (const l of links)
      for (const [a, b] of [l.names, [l.names[1], l.names[0]]] as const)
        if (CLIENT.test(b) && !CLIENT.test(a)) clientsOf.set(a.toLowerCase(), (clientsOf.get(a.toLowerCase()) ?? new Set()).add(b.toLowerCase()));
    const ambiguous = (n: string): boolean => (clientsOf.get(n.toLowerCase())?.size ?? 0) > 1;
    for (const l of links) {
      this.inEvidence.add(l.names[0].toLowerCase());
      this.inEvidence.add(l.names[1].toLowerCase());
      if (ambiguous(l.names[0]) || ambiguous(l.names[1])) continue;
      this.renamedFrom.add(l.names[0].toLowerCase());
      this.renamedTo.add(l.names[1].toLowerCase());
      this.link(l.names[0], l.names[1], l.why);
    }
  }

  /**
   * Links shown by where names were seen together: a short name and the one FQDN of the same file or collection
   * whose first label it is; a Velociraptor client and the one Computer name of the same archive that is its name
   * (or that name's first label). A short name matching two FQDNs of one scope is left alone.
   */
  linkSightings(sightings: readonly NameSighting[]): void {
    for (const s of sightings) {
      this.see(s.host);
      this.inEvidence.add(s.host.toLowerCase());
    }
    if (!this.merge) return;
    const scopes = new Map<string, Set<string>>();
    const add = (scope: string, host: string): void => {
      let set = scopes.get(scope);
      if (!set) scopes.set(scope, (set = new Set()));
      set.add(host);
    };
    for (const s of sightings) {
      if (!s.host) continue;
      add(`file:${s.file}`, s.host);
      const root = collectionRoot(s.file);
      if (root) add(`collection:${root}`, s.host);
      const arch = archiveOf(s.file);
      if (arch) add(`archive:${arch}`, s.host);
    }
    for (const [scope, names] of scopes) {
      const list = [...names];
      const what = scope.startsWith('file:') ? 'in the same evidence file' : scope.startsWith('collection:') ? 'in the same host collection' : 'in the same archive';
      // a short name and its FQDN: in one file or one host's collection, never merely in one archive (a hunt or
      // multi-case archive holds many machines)
      if (!scope.startsWith('archive:')) {
        const byLabel = new Map<string, string[]>();
        for (const n of list) if (n.includes('.') && !CLIENT.test(n)) byLabel.set(n.split('.')[0]!.toLowerCase(), [...(byLabel.get(n.split('.')[0]!.toLowerCase()) ?? []), n]);
        for (const short of list) {
          if (short.includes('.') || CLIENT.test(short)) continue;
          const fqdns = byLabel.get(short.toLowerCase()) ?? [];
          if (fqdns.length === 1) this.link(short, fqdns[0]!, `short name of ${fqdns[0]} ${what}`);
        }
      }
      if (!scope.startsWith('archive:') && !scope.startsWith('collection:')) continue;
      for (const client of list) {
        const m = CLIENT.exec(client);
        if (!m) continue;
        const base = m[1]!.toLowerCase();
        const same = list.filter((n) => !CLIENT.test(n) && (n.toLowerCase() === base || n.split('.')[0]!.toLowerCase() === base.split('.')[0]));
        const clients = list.filter((n) => CLIENT.exec(n)?.[1]!.toLowerCase() === base);
        if (same.length === 1 && clients.length === 1) this.link(same[0]!, client, `the logs of Velociraptor client ${m[2]} ${what} name it ${same[0]}`);
      }
    }
  }

  /** Every group of linked names, by its root (one pass over the names). */
  private groups(): Map<string, string[]> {
    const groups = new Map<string, string[]>();
    for (const k of this.parent.keys()) {
      const r = this.find(k);
      const g = groups.get(r);
      if (g) g.push(k);
      else groups.set(r, [k]);
    }
    return groups;
  }

  /** The name a group is shown by: a `--host-alias` target, else the best-ranked spelling. */
  private nameOfGroup(members: readonly string[]): string {
    const forced = members.find((m) => this.forced.has(m));
    if (forced) return this.forced.get(forced)!;
    return members.map((m) => this.spelling.get(m)!).sort((a, b) => rank(b, this.renamedTo, this.renamedFrom) - rank(a, this.renamedTo, this.renamedFrom) || compareName(a, b))[0]!;
  }

  /** The name shown for each host ('' stays ''), after every link is made: every group's name worked out once. */
  resolver(): (name: string) => string {
    const shown = new Map<string, string>();
    for (const members of this.groups().values()) {
      const name = this.nameOfGroup(members);
      for (const m of members) shown.set(m, name);
    }
    return (name: string): string => (name ? shown.get(name.toLowerCase()) ?? name : '');
  }

  /** Each host known by more than one name: its canonical name, the other names and why each was linked. */
  aliases(): HostAliases[] {
    const out: HostAliases[] = [];
    for (const members of this.groups().values()) {
      if (members.length < 2) continue;
      const host = this.nameOfGroup(members);
      const aliases = members
        .filter((m) => m !== host.toLowerCase() && this.inEvidence.has(m))
        .map((m) => ({ name: this.spelling.get(m)!, why: [...new Set((this.why.get(m) ?? []).map((w) => w.why))].join('; ') || (this.why.get(host.toLowerCase()) ?? []).filter((w) => w.name.toLowerCase() === m).map((w) => w.why).join('; ') }));
      if (aliases.length) out.push({ host, aliases: aliases.sort((a, b) => compareName(a.name, b.name)) });
    }
    return out.sort((a, b) => compareName(a.host, b.host));
  }
}
