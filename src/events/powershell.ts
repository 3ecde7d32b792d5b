/**
 * WMI subscription objects reconstructed from PowerShell text (4104 script blocks, 800/4103 pipeline details):
 * what a script *would* create, read from its literal arguments. Nothing is executed or evaluated; a value that
 * is not a literal (a variable without a literal assignment earlier in the same text, an expression, a string
 * with `$` expansion) is reported by property name as "computed at run time" and never guessed.
 *
 * Understood:
 * - PowerLurk `Register-MaliciousWmiEvent` (-EventName, -PermanentCommand, -PermanentScript, -ScriptingEngine,
 *   -Trigger InsertUSB | UserLogon | ProcessStart | Interval | Timed, -ProcessName, -UserName, -Domain, -TimerId):
 *   filter, consumer and binding in root\subscription, as that function builds them (parameter → property
 *   mapping read from its public source); -LocalScriptBlock is a temporary subscription (Register-WmiEvent) and
 *   gives nothing here;
 * - `Set-WmiInstance` / `New-CimInstance` with -Class/-ClassName, -Namespace and -Arguments/-Property as an inline
 *   hashtable or a variable assigned a hashtable earlier in the same text;
 * - 4103 `ParameterBinding(Register-MaliciousWmiEvent): name="X"; value="Y"` lines (values bound at run time: literal);
 * - `New-CimInstance -CimClass $c | (Get-CimClass …)`, `-ClientOnly` (built, not created: `uncommitted`);
 *   `Set-CimInstance` / `Set-WmiInstance` on an instance a `Get-CimInstance` / `Get-WmiObject` -Filter or -Query
 *   selects by Name (piped, -InputObject, -Query: `modifies`); `Set-WmiInstance -Path` (puts the instance);
 * - the object model: `[wmiclass]'ns:Class'`, `[System.Management.ManagementClass]` casts and `::new`,
 *   `New-Object System.Management.ManagementClass(…)`, `Get-WmiObject -List` handles, `.CreateInstance()`, property
 *   assignments (`$o.P =`, `$o['P'] =`, `$o.Properties['P'].Value =`, `.SetPropertyValue('P', …)`) and `.Put()`:
 *   the state at the last Put() is created; never Put() is `uncommitted`; `$o.__PATH`, `$o.Path` and the value
 *   Put() returned are the object's path; an instance bound by its path (`[wmi]'…'`, `ManagementObject`) and
 *   Put() again `modifies` it;
 * - MOF text written to a file (Set-Content / Add-Content / Out-File, [IO.File]::WriteAllText / AppendAllText)
 *   and compiled with mofcomp, read by the one MOF reader (`normalize.ts parseMofInstances`);
 * - `Register-WmiEvent` / `Register-CimIndicationEvent`: temporary subscriptions ({@link temporaryFromScript},
 *   and their 4103 ParameterBinding lines: {@link temporaryFromBindings}), never objects;
 * - `Set-WmiInstance -PutType UpdateOnly` `modifies`.
 * `Invoke-WmiMethod` / `Invoke-CimMethod` create no subscription object (the subscription classes have no method
 * that does). Frameworks: `psframeworks.ts`. A script block logged over several 4104 records is joined by the
 * reader of an EVTX log (`sources/records/observations.ts` ScriptBlocks) before it reaches this file. Not understood
 * (yet): COM `SWbemServices` (`GetObject("winmgmts:…")`, `.SpawnInstance_()`, `.Put_()`).
 *
 * A command name in a comment or a string literal is a mention, not a call ({@link nonCode}); `-WhatIf` is
 * `uncommitted`.
 * Bounded: at most {@link MAX_TEXT} characters of a text are read, at most {@link MAX_COMMANDS} commands,
 * {@link MAX_TOKENS} arguments per command, {@link MAX_VARS} variables, 2 × {@link MAX_COMMANDS} expressions that
 * may read to the end of the text (class handles, bound objects, selections, file writes); every scan is a single
 * forward pass.
 * Imports only model and the MOF reader.
 */
import { normalizeNamespace, parseObjectRef } from '../model/wmi.js';
import { objectPath } from '../model/subscription.js';
import { parseMofInstances } from './normalize.js';

export const MAX_TEXT = 256 * 1024;
const MAX_COMMANDS = 64;
const MAX_TOKENS = 128;
const MAX_VARS = 256;
const MAX_ENTRIES = 64;

export interface ReconstructedObject {
  part: 'filter' | 'consumer' | 'binding';
  className: string;
  /** Canonical namespace the object is created in. */
  namespace: string;
  /** Literal Name, null when absent or computed. */
  name: string | null;
  /** Literal property values only. */
  properties: Record<string, string>;
  /** Properties the text sets to a value computed at run time (not given). */
  computed: string[];
  /** What the object was read from: `Register-MaliciousWmiEvent (PowerLurk)`, `Set-WmiInstance`, … */
  technique: string;
  /** Set when the text builds the object but never commits it (no `Put()`, `New-CimInstance -ClientOnly`): why it is not created. */
  uncommitted?: string;
  /** Set when the text changes an instance that exists (Set-CimInstance, Set-WmiInstance on a selected instance) rather than creating one. */
  modifies?: true;
}

/** A literal string value, or null for "computed at run time". */
export type Val = string | null;

// ---- tokens --------------------------------------------------------------------------------------------------

const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\f' || c === '\v';
const BACKTICK: Record<string, string> = { n: '\n', t: '\t', r: '\r', '0': '\0', a: '\x07', b: '\b', f: '\f', v: '\v', e: '\x1b' };

export interface Tok {
  /** `-Name` parameter, a value, `@{…}` hashtable body, or an end of statement. */
  kind: 'param' | 'value' | 'table' | 'end';
  text: string;
  /** For values: the literal, or null when computed. For `$var` values: the variable name in `ref`. */
  value: Val;
  ref?: string;
  end: number;
}

/** The index after the bracket that closes the one at `i` (`{`, `(`, `[`), skipping strings; the text end when unclosed. */
function skipGroup(s: string, i: number): number {
  let depth = 0;
  for (let j = i; j < s.length; j++) {
    const c = s[j]!;
    if (c === "'" || c === '"') {
      j = readQuoted(s, j).end - 1;
      continue;
    }
    if (c === '`') {
      j++;
      continue;
    }
    if (c === '{' || c === '(' || c === '[') depth++;
    else if (c === '}' || c === ')' || c === ']') {
      depth--;
      if (depth === 0) return j + 1;
    }
  }
  return s.length;
}

/** A quoted string at `i` (`'…'`, `"…"`, here-strings `@'…'@`, `@"…"@`): its literal value, or null when it expands `$…`. */
export function readQuoted(s: string, i: number): { value: Val; end: number } {
  const here = s[i] === '@';
  const q = here ? s[i + 1]! : s[i]!;
  if (here) {
    const close = s.indexOf(`\n${q}@`, i + 2);
    const endRaw = close < 0 ? s.length : close;
    const bodyStart = s.indexOf('\n', i + 2);
    const body = bodyStart < 0 || bodyStart > endRaw ? '' : s.slice(bodyStart + 1, endRaw).replace(/\r$/, '');
    const end = close < 0 ? s.length : close + 3;
    if (q === "'") return { value: body, end };
    return { value: expandable(body) ? null : unBacktick(body), end };
  }
  let out = '';
  let computed = false;
  for (let j = i + 1; j < s.length; j++) {
    const c = s[j]!;
    if (q === "'") {
      if (c === "'") {
        if (s[j + 1] === "'") {
          out += "'";
          j++;
          continue;
        }
        return { value: out, end: j + 1 };
      }
      out += c;
      continue;
    }
    if (c === '`' && j + 1 < s.length) {
      const n = s[++j]!;
      out += BACKTICK[n] ?? n;
      continue;
    }
    if (c === '"') {
      if (s[j + 1] === '"') {
        out += '"';
        j++;
        continue;
      }
      return { value: computed ? null : out, end: j + 1 };
    }
    if (c === '$' && /[\w{(:?^]/.test(s[j + 1] ?? '')) computed = true;
    out += c;
  }
  return { value: null, end: s.length }; // unterminated: not a value we can vouch for
}

const expandable = (body: string): boolean => /(^|[^`])\$[\w{(:?^]/.test(body);
const unBacktick = (body: string): string => body.replace(/`(.)/gs, (_m, n: string) => BACKTICK[n] ?? n);

/** One token at `i` (after spaces); line continuations (`` ` `` + newline) are spaces. */
function nextToken(s: string, i: number): Tok {
  while (i < s.length && (isSpace(s[i]) || (s[i] === '`' && (s[i + 1] === '\n' || s[i + 1] === '\r')))) i += s[i] === '`' ? (s[i + 1] === '\r' && s[i + 2] === '\n' ? 3 : 2) : 1;
  if (i >= s.length) return { kind: 'end', text: '', value: null, end: i };
  const c = s[i]!;
  if (c === '\n' || c === ';' || c === '|' || c === '}' || c === ')' || c === '#') return { kind: 'end', text: c, value: null, end: i + 1 };
  if (c === "'" || c === '"' || (c === '@' && (s[i + 1] === "'" || s[i + 1] === '"'))) {
    const r = readQuoted(s, i);
    return { kind: 'value', text: s.slice(i, r.end), value: r.value, end: r.end };
  }
  if (c === '@' && s[i + 1] === '{') {
    const end = skipGroup(s, i + 1);
    return { kind: 'table', text: s.slice(i + 2, end - 1), value: null, end };
  }
  if (c === '(' || c === '{' || c === '[' || (c === '@' && s[i + 1] === '(') || (c === '$' && s[i + 1] === '(')) {
    const end = skipGroup(s, c === '@' || c === '$' ? i + 1 : i);
    return { kind: 'value', text: s.slice(i, end), value: null, end };
  }
  let j = i;
  while (j < s.length && !isSpace(s[j]) && !'\n;|)}'.includes(s[j]!)) j++;
  const word = s.slice(i, j);
  if (/^-[A-Za-z_]\w*:?$/.test(word)) return { kind: 'param', text: word.replace(/:$/, ''), value: null, end: j };
  if (word.startsWith('$')) {
    const ref = /^\$(?:script:|global:|local:)?(\w+)$/i.exec(word)?.[1];
    return { kind: 'value', text: word, value: null, ...(ref ? { ref: ref.toLowerCase() } : {}), end: j };
  }
  if (word.startsWith('@')) return { kind: 'value', text: word, value: null, end: j }; // splatting
  return { kind: 'value', text: word, value: /[$(]/.test(word) ? null : unBacktick(word), end: j };
}

/**
 * Where a text is not code: its comments (`# …` at a token start, `<# … #>`) and string literals (quoted and
 * here-strings), as sorted `[start, end)` ranges, in one forward pass. A command name inside one of them is a
 * mention (help text, an example, a detection script's pattern), not a call; a string that is run
 * (`Invoke-Expression`) is logged as its own script block.
 */
export function nonCode(s: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '`') {
      i++;
      continue;
    }
    let end = -1;
    if (c === "'" || c === '"' || (c === '@' && (s[i + 1] === "'" || s[i + 1] === '"') && (s[i + 2] === '\n' || s[i + 2] === '\r'))) end = readQuoted(s, i).end;
    else if (c === '<' && s[i + 1] === '#') {
      const close = s.indexOf('#>', i + 2);
      end = close < 0 ? s.length : close + 2;
    } else if (c === '#' && (i === 0 || /[\s;|({}]/.test(s[i - 1]!))) {
      const nl = s.indexOf('\n', i);
      end = nl < 0 ? s.length : nl;
    }
    if (end > i) {
      out.push([i, end]);
      i = end - 1;
    }
  }
  return out;
}

/** True when `i` lies in one of the sorted {@link nonCode} ranges. */
export function inRanges(ranges: Array<[number, number]>, i: number): boolean {
  let lo = 0;
  let hi = ranges.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const [a, b] = ranges[mid]!;
    if (i < a) hi = mid - 1;
    else if (i >= b) lo = mid + 1;
    else return true;
  }
  return false;
}

// ---- variables and hashtables ---------------------------------------------------------------------------------

export type VarVal = { kind: 'str'; value: Val } | { kind: 'table'; entries: Map<string, [string, Val]> };

/** `key = value` entries of a hashtable body (keys bare or quoted; `;` or newline separated). */
export function readTable(body: string, vars: Map<string, VarVal>): Map<string, [string, Val]> {
  const out = new Map<string, [string, Val]>();
  let i = 0;
  for (let n = 0; n < MAX_ENTRIES && i < body.length; n++) {
    while (i < body.length && (isSpace(body[i]) || body[i] === '\n' || body[i] === ';')) i++;
    if (i >= body.length) break;
    let key: string | null;
    if (body[i] === "'" || body[i] === '"') {
      const r = readQuoted(body, i);
      key = r.value;
      i = r.end;
    } else {
      const m = /^[A-Za-z_]\w*/.exec(body.slice(i, i + 256));
      key = m ? m[0] : null;
      i += m ? m[0].length : 1;
    }
    while (i < body.length && isSpace(body[i])) i++;
    if (body[i] !== '=') {
      // not `key = value`: skip to the next separator
      while (i < body.length && body[i] !== '\n' && body[i] !== ';') i++;
      continue;
    }
    const t = nextToken(body, i + 1);
    i = t.end;
    let v: Val = t.kind === 'value' ? (t.ref ? strVar(vars, t.ref) : t.value) : null;
    // a value followed by more than a separator (`'a' + $b`) is an expression
    if (!atEnd(body, i)) {
      v = null;
      while (i < body.length && body[i] !== '\n' && body[i] !== ';') i++;
    }
    if (key !== null) out.set(key.toLowerCase(), [key, v]);
  }
  return out;
}

/** True when only spaces stand between `i` and the end of the statement (a cheap look, no token read). */
function atEnd(s: string, i: number): boolean {
  while (i < s.length && isSpace(s[i])) i++;
  return i >= s.length || '\n;|})#'.includes(s[i]!);
}

function strVar(vars: Map<string, VarVal>, name: string): Val {
  const v = vars.get(name);
  return v?.kind === 'str' ? v.value : null;
}

// ---- commands ---------------------------------------------------------------------------------------------------

interface Command {
  name: string;
  params: Map<string, Tok>;
  positional: Tok[];
}

export function readArgs(s: string, i: number): { params: Map<string, Tok>; positional: Tok[]; end: number } {
  const params = new Map<string, Tok>();
  const positional: Tok[] = [];
  for (let n = 0; n < MAX_TOKENS; n++) {
    const t = nextToken(s, i);
    i = t.end;
    if (t.kind === 'end') break;
    if (t.kind === 'param') {
      const v = nextToken(s, i);
      if (v.kind === 'value' || v.kind === 'table') {
        params.set(t.text.slice(1).toLowerCase(), v);
        i = v.end;
      } else params.set(t.text.slice(1).toLowerCase(), { kind: 'value', text: '', value: 'True', end: t.end }); // a switch
      if (v.kind === 'end') break;
      continue;
    }
    positional.push(t);
  }
  return { params, positional, end: i };
}

const COMMANDS = /(?:^|[\s;|({=&])(Register-MaliciousWmiEvent|Set-WmiInstance|New-CimInstance|Set-CimInstance)(?=[\s`]|$)/gi;
const ASSIGN = /(?:^|[\n;{(])[ \t]*\$(?:script:|global:|local:)?(\w+)[ \t]*=[ \t]*(?![=])/gi;

/** Variable assignments of literal strings and hashtables, in text order up to `limit`. */
export function assignments(s: string, limit: number): Map<string, VarVal> {
  const vars = new Map<string, VarVal>();
  ASSIGN.lastIndex = 0;
  let m: RegExpExecArray | null;
  for (let n = 0; n < 4 * MAX_VARS && (m = ASSIGN.exec(s)) && m.index < limit; n++) {
    const name = m[1]!.toLowerCase();
    const t = nextToken(s, ASSIGN.lastIndex);
    let v: VarVal;
    if (t.kind === 'table') v = { kind: 'table', entries: readTable(t.text, vars) };
    else {
      const literal = t.kind === 'value' && atEnd(s, t.end) ? (t.ref ? strVar(vars, t.ref) : t.value) : null;
      v = { kind: 'str', value: literal };
    }
    if (vars.has(name) || vars.size < MAX_VARS) vars.set(name, v); // a later assignment replaces the earlier one
    if (t.end > ASSIGN.lastIndex) ASSIGN.lastIndex = t.end;
  }
  return vars;
}

export function valueOf(t: Tok | undefined, vars: Map<string, VarVal>): Val | undefined {
  if (!t) return undefined;
  if (t.kind !== 'value') return null;
  return t.ref ? strVar(vars, t.ref) : t.value;
}

// ---- PowerLurk Register-MaliciousWmiEvent ---------------------------------------------------------------------------

/** Parameter values of one Register-MaliciousWmiEvent call (lower-case names), undefined when not given, null when computed. */
type LurkArgs = Map<string, Val>;

function powerLurk(a: LurkArgs): ReconstructedObject[] {
  const technique = 'Register-MaliciousWmiEvent (PowerLurk)';
  const get = (k: string): Val | undefined => a.get(k);
  if (get('localscriptblock') !== undefined) return []; // Register-WmiEvent: a temporary subscription, not persistence
  const name = get('eventname') ?? null;
  const trigger = get('trigger');
  let query: Val;
  const tl = trigger?.toLowerCase();
  if (tl === 'insertusb') query = 'SELECT * FROM Win32_VolumeChangeEvent WHERE EventType = 2';
  else if (tl === 'processstart') {
    const p = get('processname');
    query = typeof p === 'string' ? `SELECT * FROM Win32_ProcessStartTrace WHERE ProcessName='${p}'` : null;
  } else if (tl === 'userlogon') {
    const u = get('username');
    const d = get('domain') ?? '';
    if (u === 'any' || u === '*') query = "SELECT * FROM __InstanceCreationEvent WITHIN 10 WHERE TargetInstance ISA 'Win32_LoggedOnUser'";
    else query = typeof u === 'string' && d !== null ? `SELECT * FROM __InstanceCreationEvent WITHIN 10 WHERE TargetInstance ISA 'Win32_LoggedOnUser' AND TargetInstance.__RELPATH like "%${d}%${u}%"` : null;
  } else if (tl === 'interval' || tl === 'timed') {
    const id = get('timerid') === undefined ? 'WindowsTimer' : get('timerid');
    query = typeof id === 'string' ? `Select * from __TimerEvent where TimerId = '${id}'` : null;
  } else query = null;
  const ns = 'ROOT\\subscription';
  const filter: ReconstructedObject = { part: 'filter', className: '__EventFilter', namespace: ns, name, properties: { EventNamespace: 'root/cimv2', QueryLanguage: 'WQL' }, computed: [], technique };
  const set = (o: ReconstructedObject, k: string, v: Val | undefined): void => {
    if (typeof v === 'string') o.properties[k] = v;
    else o.computed.push(k);
  };
  set(filter, 'Name', name);
  set(filter, 'Query', query);
  let consumer: ReconstructedObject;
  if (get('permanentscript') !== undefined) {
    consumer = { part: 'consumer', className: 'ActiveScriptEventConsumer', namespace: ns, name, properties: {}, computed: [], technique };
    set(consumer, 'ScriptText', get('permanentscript'));
    set(consumer, 'ScriptingEngine', get('scriptingengine'));
  } else {
    consumer = { part: 'consumer', className: 'CommandLineEventConsumer', namespace: ns, name, properties: {}, computed: [], technique };
    set(consumer, 'CommandLineTemplate', get('permanentcommand'));
  }
  set(consumer, 'Name', name);
  const binding: ReconstructedObject = { part: 'binding', className: '__FilterToConsumerBinding', namespace: ns, name: null, properties: {}, computed: [], technique };
  if (name !== null) {
    binding.properties['Filter'] = objectPath('__EventFilter', name);
    binding.properties['Consumer'] = objectPath(consumer.className, name);
  } else binding.computed.push('Filter', 'Consumer');
  return [consumer, filter, binding];
}

// ---- Set-WmiInstance / New-CimInstance ------------------------------------------------------------------------------

const partOf = (cls: string): ReconstructedObject['part'] | null =>
  /^__EventFilter$/i.test(cls) ? 'filter' : /^__FilterToConsumerBinding$/i.test(cls) ? 'binding' : /EventConsumer$/i.test(cls) ? 'consumer' : null;

/** The instance a `Get-CimInstance` / `Get-WmiObject` call at `i` selects: class, namespace and the Name its -Filter or -Query pins. */
interface Selected {
  className: Val;
  namespace: Val;
  name: Val;
}

const GET_INSTANCE = /^(?:Get-CimInstance|gcim|Get-WmiObject|gwmi)(?=[\s`]|$)/i;

function selectedAt(s: string, i: number, vars: Map<string, VarVal>, budget: Budget): Selected | null {
  const m = GET_INSTANCE.exec(s.slice(i, i + 32));
  if (!m || budget.n-- <= 0) return null;
  const a = readArgs(s, i + m[0].length);
  if (a.params.has('list')) return null;
  const query = valueOf(a.params.get('query'), vars);
  const filter = valueOf(a.params.get('filter'), vars);
  let className = valueOf(a.params.get('classname') ?? a.params.get('class') ?? a.positional[0], vars) ?? null;
  if (typeof query === 'string') className = /\bFROM\s+(\w+)/i.exec(query)?.[1] ?? null;
  const where = typeof query === 'string' ? query : filter;
  const name = typeof where === 'string' ? /\bName\s*=\s*(['"])([^'"]*)\1/i.exec(where)?.[2] ?? null : null;
  const ns = valueOf(a.params.get('namespace'), vars);
  return { className, namespace: ns === undefined ? 'root\\cimv2' : ns, name };
}

/** Variables assigned a `Get-CimInstance` / `Get-WmiObject` result, for `-InputObject $x`. */
function selectedVars(s: string, vars: Map<string, VarVal>, budget: Budget): Map<string, Selected> {
  const out = new Map<string, Selected>();
  ASSIGN.lastIndex = 0;
  let m: RegExpExecArray | null;
  for (let n = 0; n < 4 * MAX_VARS && (m = ASSIGN.exec(s)); n++) {
    const sel = selectedAt(s, ASSIGN.lastIndex, vars, budget);
    if (sel && (out.has(m[1]!.toLowerCase()) || out.size < MAX_VARS)) out.set(m[1]!.toLowerCase(), sel);
  }
  return out;
}

/** A `Get-CimInstance … |` / `Get-WmiObject … |` that pipes into the command starting at `at` (same statement). */
function pipedFrom(s: string, at: number, vars: Map<string, VarVal>, budget: Budget): Selected | null {
  const from = Math.max(0, at - 2048);
  const before = s.slice(from, at);
  if (!/\|\s*$/.test(before)) return null;
  const start = Math.max(before.lastIndexOf('\n'), before.lastIndexOf(';')) + 1;
  const g = /(?:Get-CimInstance|gcim|Get-WmiObject|gwmi)(?=[\s`])/i.exec(before.slice(start));
  return g ? selectedAt(s, from + start + g.index, vars, budget) : null;
}

/** Context for the instance commands: the script's class handles (for -CimClass) and selected instances (for -InputObject). */
interface InstanceContext {
  vars: Map<string, VarVal>;
  classes: Map<string, ClassRef>;
  selected: Map<string, Selected>;
  budget: Budget;
  /** Where the command name starts in the text. */
  at: number;
  text: string;
}

function instance(cmd: Command, cx: InstanceContext): ReconstructedObject[] {
  const { vars } = cx;
  const setCim = /^set-ciminstance$/i.test(cmd.name);
  let cls: Val | undefined = valueOf(cmd.params.get('class') ?? cmd.params.get('classname') ?? (setCim ? undefined : cmd.positional[0]), vars);
  let nsv = valueOf(cmd.params.get('namespace'), vars);
  let name: Val | undefined;
  let technique = cmd.name;
  /** The command changes an instance that exists (Set-CimInstance, Set-WmiInstance on a selected instance). */
  let modifies = setCim;
  // New-CimInstance -CimClass $c / (Get-CimClass …)
  const cimClass = cmd.params.get('cimclass');
  if (cimClass) {
    const c = cimClass.ref ? cx.classes.get(cimClass.ref) : cimClass.text.startsWith('(') ? classExpr(cimClass.text, 1, vars, cx.classes, cx.budget)?.cls : undefined;
    cls = c?.className ?? null;
    nsv = c ? c.namespace : null;
    technique = `${cmd.name} -CimClass`;
  }
  // Set-WmiInstance -Path 'ns:Class.Name="x"' (puts the instance: creates or updates it)
  const pathTok = cmd.params.get('path');
  if (pathTok) {
    const p = valueOf(pathTok, vars);
    const ref = typeof p === 'string' ? parseObjectRef(p) : null;
    cls = ref?.className ?? null;
    if (ref?.namespace) nsv = ref.namespace;
    name = ref ? ref.name : null;
    technique = `${cmd.name} -Path`;
  }
  // the instance changed: -InputObject $x, -Query, or a Get-CimInstance / Get-WmiObject piped in
  const input = cmd.params.get('inputobject');
  const sel: Selected | null | undefined = input?.ref
    ? cx.selected.get(input.ref)
    : input?.text.startsWith('(')
      ? selectedAt(input.text, 1, vars, cx.budget)
      : cmd.params.has('query')
        ? selectedAt(`Get-CimInstance -Query ${cmd.params.get('query')!.text}`, 0, vars, cx.budget)
        : !cls && !cimClass && !pathTok
          ? pipedFrom(cx.text, cx.at, vars, cx.budget)
          : undefined;
  if (sel !== undefined) {
    if (sel === null) return [];
    cls = sel.className;
    if (!cmd.params.has('namespace')) nsv = sel.namespace;
    name = sel.name;
    modifies = true;
    technique = `${cmd.name} on an existing instance`;
  } else if (setCim) return []; // Set-CimInstance on an instance the text does not show
  if (!cls) return [];
  const part = partOf(cls);
  if (!part) return [];
  const argTok = cmd.params.get('arguments') ?? cmd.params.get('property');
  let entries: Map<string, [string, Val]> | null = null;
  if (argTok?.kind === 'table') entries = readTable(argTok.text, vars);
  else if (argTok?.ref) {
    const v = vars.get(argTok.ref);
    if (v?.kind === 'table') entries = v.entries;
  }
  const o: ReconstructedObject = { part, className: cls, namespace: normalizeNamespace(nsv ?? 'root\\cimv2'), name: null, properties: {}, computed: [], technique };
  if (nsv === null) o.computed.push('(namespace)');
  if (entries === null) {
    if (argTok) o.computed.push('(all properties)');
  } else
    for (const [k, v] of entries.values()) {
      if (typeof v === 'string') o.properties[k] = v;
      else o.computed.push(k);
    }
  const nm = Object.keys(o.properties).find((k) => k.toLowerCase() === 'name');
  o.name = nm ? o.properties[nm]! : typeof name === 'string' ? name : null;
  // -PutType UpdateOnly: the instance must exist already
  if (/^updateonly$/i.test(valueOf(cmd.params.get('puttype'), vars) ?? '')) modifies = true;
  if (modifies) o.modifies = true;
  if (/^(?:true|\$true)$/i.test(valueOf(cmd.params.get('whatif'), vars) ?? cmd.params.get('whatif')?.text ?? '')) o.uncommitted = `${cmd.name} -WhatIf: only says what it would do, creates nothing`;
  if (/^new-ciminstance$/i.test(cmd.name) && cmd.params.has('clientonly')) o.uncommitted = 'New-CimInstance -ClientOnly: an instance in memory, not created in the repository';
  return [o];
}

// ---- [wmiclass] / System.Management / Get-WmiObject -List: CreateInstance, property assignments, Put() ------------

/** How many more expensive expressions (ones that may read to the end of the text) a scan may parse: 2 × {@link MAX_COMMANDS} per text. */
interface Budget {
  n: number;
}

/** A class handle: the class and namespace a `[wmiclass]`, `ManagementClass`, `Get-WmiObject -List` or `Get-CimClass` names. */
interface ClassRef {
  className: Val;
  namespace: Val;
  technique: string;
}

/** An instance made by `CreateInstance()`: its properties as assigned, in text order, and its state when last `Put()`. */
interface MObj {
  cls: ClassRef;
  props: Map<string, [string, Val]>;
  committed: Map<string, [string, Val]> | null;
  /** For an instance bound by its path (`[wmi]'…'`, `ManagementObject`): the Name key of that path (null: computed). */
  existing?: Val;
}

const MGMT_OBJECT = String.raw`(?:System\.)?Management\.ManagementObject`;
const OBJ_CAST = new RegExp(String.raw`^\[(?:wmi|${MGMT_OBJECT})\][ \t]*`, 'i');
const OBJ_CTOR = new RegExp(String.raw`^\[${MGMT_OBJECT}\]::new[ \t]*\(`, 'i');
const OBJ_NEW = new RegExp(String.raw`^New-Object[ \t]+(?:-TypeName[ \t]+)?${MGMT_OBJECT}\b[ \t]*(?:-ArgumentList[ \t]+|-Args[ \t]+)?@?`, 'i');

/**
 * An instance bound by its object path at `i`: `[wmi]'ns:Class.Name="x"'`, `[System.Management.ManagementObject]'…'`,
 * `…ManagementObject]::new(path | scope, path, options)`, `New-Object System.Management.ManagementObject(…)`.
 */
function boundExpr(s: string, i: number, vars: Map<string, VarVal>, budget: Budget): { cls: ClassRef; name: Val; end: number } | null {
  const head = s.slice(i, i + 128);
  let m: RegExpExecArray | null;
  let args: Val[];
  let end: number;
  let technique = 'System.Management ManagementObject';
  if (!/^(?:\[|New-Object)/i.test(head) || budget.n <= 0) return null;
  if ((m = OBJ_CTOR.exec(head))) {
    const l = readList(s, i + m[0].length, vars);
    [args, end] = [l.values, s[l.end] === ')' ? l.end + 1 : l.end];
  } else if ((m = OBJ_CAST.exec(head))) {
    const t = nextToken(s, i + m[0].length);
    [args, end] = [[valueOf(t, vars) ?? null], t.end];
    if (/^\[wmi\]/i.test(head)) technique = '[wmi]';
  } else if ((m = OBJ_NEW.exec(head))) {
    let j = i + m[0].length;
    while (isSpace(s[j])) j++;
    const paren = s[j] === '(';
    const l = readList(s, paren ? j + 1 : j, vars);
    [args, end] = [l.values, paren && s[l.end] === ')' ? l.end + 1 : l.end];
  } else return null;
  budget.n--;
  const path = args.length >= 2 ? args[1] : args[0];
  const ref = typeof path === 'string' ? parseObjectRef(path) : null;
  const scope = args.length >= 2 ? args[0] : undefined;
  const namespace: Val = ref?.namespace ?? (scope === undefined ? 'root\\cimv2' : scope ?? null);
  return { cls: { className: ref?.className ?? null, namespace, technique }, name: ref ? ref.name : null, end };
}

/** `\\.\root\subscription:CommandLineEventConsumer` → namespace and class; a bare class name has no namespace. */
function splitClassPath(p: string): { namespace: string | null; className: string } {
  const i = p.lastIndexOf(':');
  return i < 0 ? { namespace: null, className: p.trim() } : { namespace: p.slice(0, i), className: p.slice(i + 1).trim() };
}

/** Comma-separated values from `i` (inside `(…)` when `paren`), each a literal or null; at most 8. */
function readList(s: string, i: number, vars: Map<string, VarVal>): { values: Val[]; end: number } {
  const values: Val[] = [];
  for (let n = 0; n < 8; n++) {
    const t = nextToken(s, i);
    if (t.kind !== 'value') break;
    // an unquoted word keeps a trailing comma (`$null,`): take the comma back
    const word = t.text.endsWith(',') && !/^['"@]/.test(t.text) ? t.text.slice(0, -1) : null;
    i = word !== null ? t.end - 1 : t.end;
    values.push(word !== null ? (/^\$null$/i.test(word) ? null : word.startsWith('$') ? strVar(vars, word.slice(1).toLowerCase()) : word) : valueOf(t, vars) ?? null);
    while (i < s.length && isSpace(s[i])) i++;
    if (s[i] !== ',') break;
    i++;
  }
  return { values, end: i };
}

const MGMT_CLASS = String.raw`(?:System\.)?Management\.ManagementClass`;
const CAST = new RegExp(String.raw`^\[(?:wmiclass|${MGMT_CLASS})\][ \t]*`, 'i');
const CTOR = new RegExp(String.raw`^\[${MGMT_CLASS}\]::new[ \t]*\(`, 'i');
const NEW_OBJECT = new RegExp(String.raw`^New-Object[ \t]+(?:-TypeName[ \t]+)?${MGMT_CLASS}\b[ \t]*(?:-ArgumentList[ \t]+|-Args[ \t]+)?@?`, 'i');

/** ManagementClass(path) | (path, options) | (scope, path, options): the class and namespace of its literal strings. */
function ctorClass(args: Val[], technique: string): ClassRef {
  const path = args.length >= 3 ? args[1] : args[0];
  if (typeof path !== 'string') return { className: null, namespace: null, technique };
  const p = splitClassPath(path);
  const scope = args.length >= 3 ? args[0] : undefined;
  return { className: p.className, namespace: p.namespace ?? (scope === undefined ? 'root\\cimv2' : scope ?? null), technique };
}

/** A class expression at `i`: `[wmiclass]'…'`, `[System.Management.ManagementClass]::new(…)`, `New-Object …ManagementClass(…)`, `Get-WmiObject -List`, `Get-CimClass`, or a variable holding one. */
function classExpr(s: string, i: number, vars: Map<string, VarVal>, classes: Map<string, ClassRef>, budget: Budget): { cls: ClassRef; end: number } | null {
  const head = s.slice(i, i + 128);
  let m: RegExpExecArray | null;
  // each expression below may read to the end of the text (an unterminated string): only those that match are
  // counted against the budget, so ordinary casts and queries earlier in a script do not use it up
  const spend = (): boolean => budget.n-- > 0;
  if ((m = CTOR.exec(head))) {
    if (!spend()) return null;
    const l = readList(s, i + m[0].length, vars);
    return { cls: ctorClass(l.values, 'System.Management ManagementClass'), end: s[l.end] === ')' ? l.end + 1 : l.end };
  }
  if ((m = CAST.exec(head))) {
    if (!spend()) return null;
    const t = nextToken(s, i + m[0].length);
    const v = valueOf(t, vars);
    const technique = /^\[wmiclass\]/i.test(head) ? '[wmiclass]' : 'System.Management ManagementClass';
    if (typeof v !== 'string') return { cls: { className: null, namespace: null, technique }, end: t.end };
    const p = splitClassPath(v);
    return { cls: { className: p.className, namespace: p.namespace ?? 'root\\cimv2', technique }, end: t.end };
  }
  if ((m = NEW_OBJECT.exec(head))) {
    if (!spend()) return null;
    let j = i + m[0].length;
    while (isSpace(s[j])) j++;
    const paren = s[j] === '(';
    const l = readList(s, paren ? j + 1 : j, vars);
    return { cls: ctorClass(l.values, 'System.Management ManagementClass'), end: paren && s[l.end] === ')' ? l.end + 1 : l.end };
  }
  if ((m = /^(Get-WmiObject|gwmi|Get-CimClass)(?=[\s`]|$)/i.exec(head))) {
    const cim = /cim/i.test(m[1]!);
    // a Get-WmiObject that is no class listing (most are not) is not read at all
    const head512 = s.slice(i, i + 512);
    const nl = head512.indexOf('\n');
    if (!cim && !/[\s`]-li/i.test(nl < 0 ? head512 : head512.slice(0, nl))) return null;
    if (!spend()) return null;
    const a = readArgs(s, i + m[0].length);
    if (!cim && !a.params.has('list')) return null;
    const cls = valueOf(a.params.get(cim ? 'classname' : 'class') ?? a.positional[0], vars);
    const ns = valueOf(a.params.get('namespace'), vars);
    // readArgs stops after the statement's end: give that character back
    const end = a.end > i && '\n;|)}'.includes(s[a.end - 1] ?? '') ? a.end - 1 : a.end;
    return { cls: { className: cls ?? null, namespace: ns === undefined ? 'root\\cimv2' : ns, technique: cim ? 'Get-CimClass' : 'Get-WmiObject -List' }, end };
  }
  if ((m = /^\$(?:script:|global:|local:)?(\w+)/i.exec(head))) {
    const c = classes.get(m[1]!.toLowerCase());
    return c ? { cls: c, end: i + m[0].length } : null;
  }
  return null;
}

/** `(classExpr).CreateInstance()` or `$cls.CreateInstance()` at `i`: the class, or null. */
function createExpr(s: string, i: number, vars: Map<string, VarVal>, classes: Map<string, ClassRef>, budget: Budget): { cls: ClassRef; end: number } | null {
  let j = i;
  let open = 0;
  while (open < 4 && (s[j] === '(' || isSpace(s[j]))) if (s[j++] === '(') open++;
  const c = classExpr(s, j, vars, classes, budget);
  if (!c) return null;
  j = c.end;
  while (open > 0 && (s[j] === ')' || isSpace(s[j]))) if (s[j++] === ')') open--;
  const m = /^\.(?:psbase\.)?CreateInstance[ \t]*\([ \t]*\)/i.exec(s.slice(j, j + 40));
  return m && open === 0 ? { cls: c.cls, end: j + m[0].length } : null;
}

const OBJ_STMT = /(?:^|[\n;{(|])[ \t]*(?:\[void\][ \t]*|\$null[ \t]*=[ \t]*)?\$(?:script:|global:|local:)?(\w+)/gi;
const MEMBER_SET = /^(?:\.psbase)?(?:\.Properties\[[ \t]*(['"]?)(\w+)\1[ \t]*\]\.Value|\.Properties\.Item\([ \t]*(['"])(\w+)\3[ \t]*\)\.Value|\[[ \t]*(['"])(\w+)\5[ \t]*\]|\.(?!psbase\b|Put\b|Properties\b)(\w+))[ \t]*=(?!=)/i;
const PUT = /^(?:\.psbase)?\.Put[ \t]*\(/i;
const SET_VALUE = /^(?:\.psbase)?\.SetPropertyValue[ \t]*\([ \t]*(['"])(\w+)\1[ \t]*,/i;

/** The relative path of an object (`__EventFilter.Name="x"`), or null when its class or name is not literal. */
function pathOf(o: MObj): Val {
  const name = [...o.props.values()].find(([k]) => k.toLowerCase() === 'name')?.[1] ?? o.existing;
  return typeof o.cls.className === 'string' && typeof name === 'string' ? objectPath(o.cls.className, name) : null;
}

/**
 * Instances made with `CreateInstance()` on a class handle, their property assignments (`$o.Name = …`,
 * `$o['Name'] = …`, `$o.Properties['Name'].Value = …`, `$o.SetPropertyValue('Name', …)`) and `$o.Put()`, replayed in
 * text order. A reference (`$b.Filter = $f.__PATH`, or the value `$f.Put()` returned) to an object of the text with a
 * literal name is that object's path. An object never `Put()` is not created: it comes back with `uncommitted` set.
 */
function objectModel(s: string, vars: Map<string, VarVal>, classes: Map<string, ClassRef>, budget: Budget): ReconstructedObject[] {
  const objs = new Map<string, MObj>();
  const paths = new Map<string, Val>();
  const made: MObj[] = [];
  const valueAt = (i: number): Val => {
    const t = nextToken(s, i);
    if (t.kind !== 'value' || !atEnd(s, t.end)) return null;
    const w = /^\$(?:script:|global:|local:)?(\w+)\.(?:psbase\.)?(?:__PATH|__RELPATH|Path(?:\.(?:Path|RelativePath))?)$/i.exec(t.text);
    if (w) {
      const o = objs.get(w[1]!.toLowerCase());
      return o ? pathOf(o) : paths.get(w[1]!.toLowerCase()) ?? null;
    }
    if (t.ref) return paths.has(t.ref) ? paths.get(t.ref)! : objs.has(t.ref) ? pathOf(objs.get(t.ref)!) : strVar(vars, t.ref);
    return t.value;
  };
  const put = (o: MObj | undefined): void => {
    if (o) o.committed = new Map(o.props);
  };
  OBJ_STMT.lastIndex = 0;
  let m: RegExpExecArray | null;
  for (let n = 0; n < 8 * MAX_VARS && (m = OBJ_STMT.exec(s)); n++) {
    const name = m[1]!.toLowerCase();
    const at = OBJ_STMT.lastIndex;
    const rest = s.slice(at, at + 160);
    let a: RegExpExecArray | null;
    const eq = /^[ \t]*=(?!=)[ \t]*/.exec(rest);
    if (eq) {
      const r = at + eq[0].length;
      const created = createExpr(s, r, vars, classes, budget);
      const tail = /^\$(?:script:|global:|local:)?(\w+)/i.exec(s.slice(r, r + 64));
      objs.delete(name);
      classes.delete(name);
      paths.delete(name);
      const bound = created ? null : boundExpr(s, r, vars, budget);
      if (created || bound) {
        if (made.length >= MAX_COMMANDS) continue;
        const o: MObj = { cls: (created ?? bound)!.cls, props: new Map(), committed: null, ...(bound ? { existing: bound.name } : {}) };
        objs.set(name, o);
        made.push(o);
        OBJ_STMT.lastIndex = Math.max(at, (created ?? bound)!.end - 1);
        continue;
      }
      const c = classExpr(s, r, vars, classes, budget);
      if (c && atEnd(s, c.end)) {
        classes.set(name, c.cls);
        continue;
      }
      // `$p = $o.Put()`: the value is the object's path
      if (tail && PUT.test(s.slice(r + tail[0].length, r + tail[0].length + 40))) {
        const o = objs.get(tail[1]!.toLowerCase());
        put(o);
        if (o) paths.set(name, pathOf(o));
      }
      continue;
    }
    const o = objs.get(name);
    if (!o) continue;
    if (PUT.test(rest)) put(o);
    else if ((a = MEMBER_SET.exec(rest))) {
      const key = a[2] ?? a[4] ?? a[6] ?? a[7]!;
      if (o.props.has(key.toLowerCase()) || o.props.size < MAX_ENTRIES) o.props.set(key.toLowerCase(), [key, valueAt(at + a[0].length)]);
    } else if ((a = SET_VALUE.exec(rest))) {
      const key = a[2]!;
      const t = nextToken(s, at + a[0].length);
      const v: Val = t.kind === 'value' && /^[ \t]*\)/.test(s.slice(t.end, t.end + 8)) ? (t.ref ? strVar(vars, t.ref) : t.value) : null;
      if (o.props.has(key.toLowerCase()) || o.props.size < MAX_ENTRIES) o.props.set(key.toLowerCase(), [key, v]);
    }
  }
  const out: ReconstructedObject[] = [];
  for (const o of made) {
    const cls = o.cls.className;
    const part = cls ? partOf(cls) : null;
    if (!part || !cls) continue;
    const props = o.committed ?? o.props;
    const bound = o.existing !== undefined;
    const r: ReconstructedObject = { part, className: cls, namespace: normalizeNamespace(o.cls.namespace ?? 'root\\cimv2'), name: null, properties: {}, computed: [], technique: bound ? `${o.cls.technique} (an existing instance)` : `${o.cls.technique} CreateInstance()` };
    if (o.cls.namespace === null) r.computed.push('(namespace)');
    for (const [k, v] of props.values()) {
      if (typeof v === 'string') r.properties[k] = v;
      else r.computed.push(k);
    }
    const nm = Object.keys(r.properties).find((k) => k.toLowerCase() === 'name');
    r.name = nm ? r.properties[nm]! : typeof o.existing === 'string' ? o.existing : null;
    // an instance bound by its path and put again: an object that exists, changed (Put() writes it whatever it held)
    if (bound) r.modifies = true;
    if (!o.committed) r.uncommitted = bound ? 'never Put() in this text: changes in memory only, not written to the repository' : 'never Put() in this text: an instance in memory, not created in the repository';
    out.push(r);
  }
  return out;
}

// ---- inline MOF written to a file and compiled with mofcomp ------------------------------------------------------

const FILE_WRITE = /(?:^|[\s;|({=&])(Set-Content|Add-Content|Out-File)(?=[\s`]|$)|\[(?:System\.)?IO\.File\]::(WriteAllText|AppendAllText)[ \t]*\(/gi;
const MOFCOMP = /(?:^|[\s;|({=&'"])mofcomp(?:\.exe)?['"]?(?=[\s`]|$)/gi;

/** A file path as a comparison key: quotes and case aside, `/` as `\`. */
const fileKey = (p: string): string => p.trim().replace(/\//g, '\\').toLowerCase();

/** The literal value piped into the command starting at `at` (`$mof | Out-File …`, `@'…'@ | Set-Content …`); null when computed, undefined when nothing is piped. */
function pipedValue(s: string, at: number, vars: Map<string, VarVal>): Val | undefined {
  const before = s.slice(Math.max(0, at - MAX_TEXT), at).replace(/[ \t]*\|[ \t]*$/, '');
  if (before.length === s.slice(Math.max(0, at - MAX_TEXT), at).length) return undefined; // no pipe
  const here = /(['"])@$/.exec(before);
  if (here) {
    const open = before.lastIndexOf(`@${here[1]}`, before.length - 3);
    return open < 0 ? null : readQuoted(before, open).value;
  }
  const v = /\$(?:script:|global:|local:)?(\w+)$/.exec(before);
  if (v) return strVar(vars, v[1]!.toLowerCase());
  const q = /(['"])$/.exec(before);
  if (q) {
    const open = before.lastIndexOf(q[1]!, before.length - 2);
    return open < 0 ? null : readQuoted(before, open).value;
  }
  return null;
}

/**
 * Subscription objects of MOF text that the script writes to a file (Set-Content / Add-Content / Out-File, piped or
 * -Value; [IO.File]::WriteAllText / AppendAllText) and then compiles with `mofcomp`, in the namespace of the
 * file's `#pragma namespace`, else of `-N:`, else root\default (mofcomp's own default). Only literal text is read: a file whose content
 * is computed, or a compiled file the text never writes, gives nothing.
 */
function inlineMof(s: string, vars: Map<string, VarVal>, budget: Budget): ReconstructedObject[] {
  // the writes, in text order: path key → content so far (null = computed)
  const writes: Array<{ at: number; path: string; value: Val; append: boolean }> = [];
  FILE_WRITE.lastIndex = 0;
  let m: RegExpExecArray | null;
  for (let n = 0; n < MAX_COMMANDS && (m = FILE_WRITE.exec(s)); n++) {
    if (budget.n-- <= 0) break;
    if (m[2]) {
      const l = readList(s, FILE_WRITE.lastIndex, vars);
      if (typeof l.values[0] === 'string') writes.push({ at: m.index, path: fileKey(l.values[0]), value: l.values[1] ?? null, append: /append/i.test(m[2]) });
      continue;
    }
    const cmd = m[1]!;
    const start = FILE_WRITE.lastIndex;
    const a = readArgs(s, start);
    if (a.end - 1 > FILE_WRITE.lastIndex) FILE_WRITE.lastIndex = a.end - 1;
    const outFile = /^out-file$/i.test(cmd);
    const path = valueOf(a.params.get('path') ?? a.params.get('filepath') ?? a.params.get('literalpath') ?? a.positional[0], vars);
    if (typeof path !== 'string') continue;
    const given = a.params.get('value') ?? a.params.get('inputobject') ?? (outFile ? undefined : a.positional[1]);
    const value = given ? valueOf(given, vars) ?? null : pipedValue(s, start - cmd.length, vars);
    if (value === undefined) continue;
    writes.push({ at: m.index, path: fileKey(path), value, append: /^add-content$/i.test(cmd) || a.params.has('append') });
  }
  if (!writes.length) return [];
  const out: ReconstructedObject[] = [];
  MOFCOMP.lastIndex = 0;
  for (let n = 0; n < MAX_COMMANDS && (m = MOFCOMP.exec(s)); n++) {
    const a = readArgs(s, MOFCOMP.lastIndex);
    if (a.end - 1 > MOFCOMP.lastIndex) MOFCOMP.lastIndex = a.end - 1;
    const words = [...a.positional, ...(a.params.has('argumentlist') ? [a.params.get('argumentlist')!] : [])].map((t) => valueOf(t, vars));
    let ns: string | null = null;
    let file: string | null = null;
    for (const w of words) {
      if (typeof w !== 'string') continue;
      const opt = /^[-/]N:(.+)$/i.exec(w.trim());
      if (opt) ns = opt[1]!;
      else if (!/^[-/]/.test(w.trim())) file = w.trim().split(/\s+/).pop() ?? null;
    }
    if (!file) continue;
    const key = fileKey(file);
    let content: Val | undefined;
    for (const w of writes) {
      if (w.at >= m.index || w.path !== key) continue;
      content = w.append && content !== undefined ? (content === null || w.value === null ? null : content + '\n' + w.value) : w.value;
    }
    if (typeof content !== 'string') continue;
    for (const inst of parseMofInstances(content).slice(0, MAX_COMMANDS)) {
      if (out.length >= 4 * MAX_COMMANDS) return out;
      const part = partOf(inst.className);
      if (!part) continue;
      // a `#pragma namespace` in the file wins over -N: (a relative one is below it)
      const base = ns ?? 'root\\default';
      const pragma = inst.namespace;
      const where = pragma === undefined ? base : /^(?:\\\\|\/\/|root\b)/i.test(pragma) ? pragma : `${base}\\${pragma}`;
      const o: ReconstructedObject = { part, className: inst.className, namespace: normalizeNamespace(where), name: null, properties: {}, computed: [], technique: 'mofcomp (inline MOF)' };
      for (const [k, v] of Object.entries(inst.properties).slice(0, MAX_ENTRIES)) {
        if (v === null) o.computed.push(k);
        else o.properties[k] = Array.isArray(v) ? v.join(', ') : String(v);
      }
      const nm = Object.keys(o.properties).find((k) => k.toLowerCase() === 'name');
      o.name = nm ? o.properties[nm]! : null;
      out.push(o);
    }
  }
  return out;
}

// ---- Register-WmiEvent / Register-CimIndicationEvent: temporary subscriptions ------------------------------------

/**
 * A temporary event subscription: it lives in the PowerShell session that registered it (an event job of that
 * process), is never written to the repository and is gone when the session ends. Not persistence.
 */
export interface TemporarySubscription {
  technique: 'Register-WmiEvent' | 'Register-CimIndicationEvent';
  /** -Query, or `SELECT * FROM <-Class>`; null when computed. */
  query: Val;
  /** -Namespace (as written), `root\cimv2` when not given; null when computed. */
  namespace: Val;
  sourceIdentifier: Val;
  /** The -Action script block's text as written (not run), at most 4,000 characters; null when not a literal block. */
  action: Val;
}

const TEMPORARY = /(?:^|[\s;|({=&])(Register-WmiEvent|Register-CimIndicationEvent)(?=[\s`]|$)/gi;

/** The temporary subscriptions a script text registers, read from its literal arguments. */
export function temporaryFromScript(script: string): TemporarySubscription[] {
  const s = script.length > MAX_TEXT ? script.slice(0, MAX_TEXT) : script;
  if (!/Register-WmiEvent|Register-CimIndicationEvent/i.test(s)) return [];
  let vars: Map<string, VarVal> | null = null;
  const out: TemporarySubscription[] = [];
  TEMPORARY.lastIndex = 0;
  let m: RegExpExecArray | null;
  let skip: Array<[number, number]> | null = null;
  for (let n = 0; n < MAX_COMMANDS && (m = TEMPORARY.exec(s)); n++) {
    const technique = /cim/i.test(m[1]!) ? 'Register-CimIndicationEvent' : 'Register-WmiEvent';
    skip ??= nonCode(s);
    if (inRanges(skip, TEMPORARY.lastIndex - m[1]!.length)) continue; // a mention, not a call
    if (/function\s+$/i.test(s.slice(Math.max(0, m.index - 16), m.index + 1))) continue;
    vars ??= assignments(s, s.length);
    const a = readArgs(s, TEMPORARY.lastIndex);
    if (a.end - 1 > TEMPORARY.lastIndex) TEMPORARY.lastIndex = a.end - 1;
    // position 0 is -Class / -ClassName, or -Query in the query parameter set
    const p0 = a.params.has('query') || a.params.has('class') || a.params.has('classname') ? undefined : valueOf(a.positional[0], vars);
    const p0Query = typeof p0 === 'string' && /^\s*select\b/i.test(p0);
    const clsKey = technique === 'Register-WmiEvent' ? 'class' : 'classname';
    const q = a.params.has('query') ? valueOf(a.params.get('query'), vars) : p0Query ? p0 : undefined;
    const cls = a.params.has(clsKey) ? valueOf(a.params.get(clsKey), vars) : p0Query ? undefined : p0;
    if (q === undefined && cls === undefined) continue; // no subscription in this call (e.g. a bare name in a comment)
    const ns = valueOf(a.params.get('namespace'), vars);
    const act = a.params.get('action');
    const block = act?.text.startsWith('{') && act.text.endsWith('}') ? act.text.slice(1, -1).trim().slice(0, 4000) : null;
    out.push({
      technique,
      query: q !== undefined ? q : typeof cls === 'string' ? `SELECT * FROM ${cls}` : null,
      namespace: ns === undefined ? 'root\\cimv2' : ns,
      sourceIdentifier: valueOf(a.params.get('sourceidentifier') ?? a.positional[p0 === undefined ? 0 : 1], vars) ?? null,
      action: block,
    });
  }
  return out;
}

/** Temporary subscriptions from 4103 `ParameterBinding(Register-WmiEvent): name="Query"; value="…"` lines (bound values: literal). */
export function temporaryFromBindings(details: string): TemporarySubscription[] {
  const s = details.length > MAX_TEXT ? details.slice(0, MAX_TEXT) : details;
  const re = /^ParameterBinding\((Register-WmiEvent|Register-CimIndicationEvent)\): name="(\w+)"; value="(.*)"\r?$/gim;
  const args = new Map<string, string>();
  let technique: TemporarySubscription['technique'] | null = null;
  let m: RegExpExecArray | null;
  for (let n = 0; n < MAX_TOKENS && (m = re.exec(s)); n++) {
    technique ??= /cim/i.test(m[1]!) ? 'Register-CimIndicationEvent' : 'Register-WmiEvent';
    args.set(m[2]!.toLowerCase(), m[3]!);
  }
  if (!technique) return [];
  const cls = args.get('class') ?? args.get('classname');
  const query = args.get('query') ?? (cls !== undefined ? `SELECT * FROM ${cls}` : undefined);
  if (query === undefined) return [];
  const action = args.get('action');
  return [{ technique, query, namespace: args.get('namespace') ?? 'root\\cimv2', sourceIdentifier: args.get('sourceidentifier') ?? null, action: action === undefined ? null : action.trim().slice(0, 4000) }];
}

// ---- entry points -------------------------------------------------------------------------------------------------

/** The subscription objects a script text would create, read from its literals (see the module comment). */
export function reconstructFromScript(script: string): ReconstructedObject[] {
  const s = script.length > MAX_TEXT ? script.slice(0, MAX_TEXT) : script;
  const objectModelText = /\[wmiclass\]|\[wmi\]|ManagementClass|ManagementObject|Get-WmiObject|gwmi|Get-CimClass/i.test(s);
  const mofText = /mofcomp/i.test(s) && /instance\s+of/i.test(s);
  if (!objectModelText && !mofText && !/Register-MaliciousWmiEvent|Set-WmiInstance|New-CimInstance|Set-CimInstance/i.test(s)) return [];
  const out: ReconstructedObject[] = [];
  let vars: Map<string, VarVal> | null = null;
  const classes = new Map<string, ClassRef>();
  const budget: Budget = { n: 2 * MAX_COMMANDS };
  if (objectModelText) out.push(...objectModel(s, (vars = assignments(s, s.length)), classes, budget));
  if (mofText) out.push(...inlineMof(s, (vars ??= assignments(s, s.length)), budget));
  let selected: Map<string, Selected> | null = null;
  COMMANDS.lastIndex = 0;
  let m: RegExpExecArray | null;
  let skip: Array<[number, number]> | null = null;
  for (let n = 0; n < MAX_COMMANDS && (m = COMMANDS.exec(s)); n++) {
    const name = m[1]!;
    const start = COMMANDS.lastIndex;
    skip ??= nonCode(s);
    if (inRanges(skip, start - name.length)) continue; // a mention in a comment or a string, not a call
    vars ??= assignments(s, s.length);
    const a = readArgs(s, start);
    // from the statement's last character: the next command's leading separator may be the one that ended this one
    if (a.end - 1 > COMMANDS.lastIndex) COMMANDS.lastIndex = a.end - 1;
    // inside the function's own definition (`function Register-MaliciousWmiEvent {`) there is nothing to read
    if (/^register-maliciouswmievent$/i.test(name)) {
      if (/function\s+$/i.test(s.slice(Math.max(0, m.index - 16), m.index + 1))) continue;
      const args: LurkArgs = new Map();
      for (const [k, t] of a.params) args.set(k, valueOf(t, vars) ?? null);
      if (!args.size) continue;
      out.push(...powerLurk(args));
    } else {
      selected ??= /Get-CimInstance|gcim|Get-WmiObject|gwmi/i.test(s) ? selectedVars(s, vars, budget) : new Map<string, Selected>();
      const cx: InstanceContext = { vars, classes, selected, budget, at: start - name.length, text: s };
      out.push(...instance({ name: name.replace(/^./, (c) => c.toUpperCase()), params: a.params, positional: a.positional }, cx));
    }
  }
  return out;
}

/** Objects from 4103/800 `ParameterBinding(Register-MaliciousWmiEvent): name="X"; value="Y"` lines (bound values: literal). */
export function reconstructFromBindings(details: string): ReconstructedObject[] {
  const s = details.length > MAX_TEXT ? details.slice(0, MAX_TEXT) : details;
  const args: LurkArgs = new Map();
  const re = /^ParameterBinding\(Register-MaliciousWmiEvent\): name="(\w+)"; value="(.*)"\r?$/gim;
  let m: RegExpExecArray | null;
  for (let n = 0; n < MAX_TOKENS && (m = re.exec(s)); n++) args.set(m[1]!.toLowerCase(), m[2]!);
  return args.size ? powerLurk(args) : [];
}

/**
 * The user a PowerShell record names: 800 `UserId=`, 4103 ContextInfo `User = `; null when neither (the caller
 * falls back on the record's security SID).
 */
export function powershellUserFromText(texts: string[]): string | null {
  for (const t of texts) {
    const m = /^[ \t]*(?:UserId=|User = )([^\r\n]*)/m.exec(t.length > MAX_TEXT ? t.slice(0, MAX_TEXT) : t);
    if (m && m[1]!.trim()) return m[1]!.trim();
  }
  return null;
}
