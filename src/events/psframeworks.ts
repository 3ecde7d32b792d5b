/**
 * Well-known attack frameworks' WMI persistence, recognized in PowerShell text by how they are invoked, and mapped
 * from their literal parameters to the filter, consumer and binding they create. The parameter → property facts
 * were read from each framework's public source (named in {@link PsFramework.source}); nothing here runs or
 * evaluates the text, and a parameter that is not a literal makes the properties it feeds "computed at run time".
 *
 * Two kinds of entry:
 * - an invocation (a function, cmdlet or .NET static method called with parameters): {@link FRAMEWORKS};
 * - a generated script (the framework's server or wrapper writes plain `Set-WmiInstance` lines from a template, so
 *   the log shows the template, not a call): {@link TEMPLATES}. The generic `Set-WmiInstance` reading
 *   (powershell.ts) already gives filter and consumer; the template adds its name and the binding, whose
 *   `@{Filter=$Filter;Consumer=$Consumer}` refers to the results of the earlier calls.
 *
 * PowerLurk's `Register-MaliciousWmiEvent` stays in powershell.ts (it is also read from 4103 ParameterBinding lines there).
 *
 * A name in a comment or a string (help `.EXAMPLE`, a detection script's pattern) is not a call (`nonCode`).
 * Bounded like powershell.ts: at most {@link MAX_TEXT} characters, {@link MAX_CALLS} invocations per text,
 * {@link MAX_ARGS} arguments per call; single forward scans.
 * Imports only model and powershell.ts (which does not import this file).
 */
import { objectPath } from '../model/subscription.js';
import { normalizeNamespace } from '../model/wmi.js';
import { MAX_TEXT, assignments, inRanges, nonCode, readArgs, readQuoted, readTable, reconstructFromScript, valueOf } from './powershell.js';
import type { ReconstructedObject, Val, VarVal } from './powershell.js';

const MAX_CALLS = 64;
const MAX_ARGS = 16;

/** Parameter values of one invocation: lower-case name → literal, null when computed at run time; absent when not given. */
export type FrameworkParams = Map<string, Val>;

export interface PsFramework {
  /** Framework and module, as the technique of what it reconstructs. */
  name: string;
  /** Public repository and path the parameter → property mapping was read from. */
  source: string;
  /** Names that invoke it: functions/cmdlets (`-Param value` arguments) or `[Type]::Method` (a `(a, b, …)` argument list). */
  commands: string[];
  /** Lower-case parameter names of positional arguments, in order. */
  positional: string[];
  /** The objects one invocation creates; empty when these parameters create no permanent subscription. */
  objects(p: FrameworkParams): ReconstructedObject[];
  /** What PowerShell logs can and cannot show of it. */
  note: string;
}

const SUBSCRIPTION = normalizeNamespace('root\\subscription');

// ---- shared construction ---------------------------------------------------------------------------------------------

function make(part: ReconstructedObject['part'], className: string, name: Val, technique: string): ReconstructedObject {
  const o: ReconstructedObject = { part, className, namespace: SUBSCRIPTION, name, properties: {}, computed: [], technique };
  if (part !== 'binding') set(o, 'Name', name);
  return o;
}

function set(o: ReconstructedObject, key: string, v: Val | undefined): void {
  if (typeof v === 'string') o.properties[key] = v;
  else o.computed.push(key);
}

function binding(filter: ReconstructedObject | null, consumer: ReconstructedObject | null, technique: string): ReconstructedObject {
  const b = make('binding', '__FilterToConsumerBinding', null, technique);
  set(b, 'Filter', filter?.name != null ? objectPath(filter.className, filter.name) : null);
  set(b, 'Consumer', consumer?.name != null ? objectPath(consumer.className, consumer.name) : null);
  return b;
}

/** A switch parameter is on when given (`-X`, `-X:$true`); off only when given literally false. */
const on = (v: Val | undefined): boolean => v !== undefined && !/^(false|0)$/i.test(v ?? '');

// ---- PowerSploit Add-Persistence with New-ElevatedPersistenceOption -PermanentWMI ---------------------------------------

const POWERSPLOIT = 'New-ElevatedPersistenceOption -PermanentWMI (PowerSploit Add-Persistence)';
const STARTUP_QUERY = "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System' AND TargetInstance.SystemUpTime >= 240 AND TargetInstance.SystemUpTime < 325";

/**
 * A `[DateTime]` time of the forms PowerSploit documents ('3 PM', '12:31 AM', '23:00:00', '4:06:26 PM'), also after a
 * numeric date (a 4103 ParameterBinding line renders the bound DateTime as `12/7/2026 3:00:00 PM`), as HH and mm; null otherwise.
 */
export function timeOfDay(v: string): { hh: string; mm: string } | null {
  const m = /^\s*(?:\d{1,4}[/.-]\d{1,2}[/.-]\d{1,4}\s+)?(\d{1,2})(?::(\d{2}))?(?::(\d{2}))?\s*([AaPp][Mm])?\s*$/.exec(v.length > 32 ? '' : v);
  if (!m) return null;
  let h = Number(m[1]);
  const min = m[2] === undefined ? 0 : Number(m[2]);
  const ampm = m[4]?.toUpperCase();
  if (ampm ? h < 1 || h > 12 : h > 23) return null;
  if (min > 59 || (m[3] !== undefined && Number(m[3]) > 59)) return null;
  if (ampm === 'AM' && h === 12) h = 0;
  else if (ampm === 'PM' && h !== 12) h += 12;
  return { hh: String(h).padStart(2, '0'), mm: String(min).padStart(2, '0') };
}

function powerSploit(p: FrameworkParams): ReconstructedObject[] {
  if (!on(p.get('permanentwmi'))) return []; // -ScheduledTask / -Registry: no WMI
  let query: Val;
  if (on(p.get('atstartup'))) query = STARTUP_QUERY;
  else if (on(p.get('daily'))) {
    const at = p.get('at');
    const t = typeof at === 'string' ? timeOfDay(at) : null;
    query = t ? `SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_LocalTime' AND TargetInstance.Hour = ${t.hh} AND TargetInstance.Minute = ${t.mm} GROUP WITHIN 60` : null;
  } else return []; // no PermanentWMI parameter set without -AtStartup or -Daily
  const filter = make('filter', '__EventFilter', 'Updater', POWERSPLOIT);
  set(filter, 'EventNamespace', 'root\\CimV2');
  set(filter, 'QueryLanguage', 'WQL');
  set(filter, 'Query', query);
  const consumer = make('consumer', 'CommandLineEventConsumer', 'Updater', POWERSPLOIT);
  // `$($Env:SystemRoot)\System32\WindowsPowerShell\v1.0\powershell.exe -NonInteractive`: expanded on the host at run time
  set(consumer, 'CommandLineTemplate', null);
  set(consumer, 'RunInteractively', 'false');
  return [consumer, filter, binding(filter, consumer, POWERSPLOIT)];
}

// ---- SharpSploit WMI persistence (Covenant's PersistWMI task), called from PowerShell -----------------------------------

const SHARPSPLOIT = 'SharpSploit InstallWMIPersistence (Covenant PersistWMI)';

function sharpSploit(p: FrameworkParams): ReconstructedObject[] {
  const name = p.get('eventname') ?? null;
  const trigger = p.get('eventfilter');
  if (typeof trigger === 'string' && !/^processstart$/i.test(trigger)) return []; // the only filter it knows
  const kind = p.get('eventconsumer');
  if (typeof kind === 'string' && !/^(commandline|activescript)$/i.test(kind)) return [];
  const engine = p.has('scriptingengine') ? p.get('scriptingengine')! : 'VBScript';
  if (typeof engine === 'string' && !/^(jscript|vbscript)$/i.test(engine)) return [];
  const filter = make('filter', '__EventFilter', name, SHARPSPLOIT);
  const proc = p.has('processname') ? p.get('processname')! : 'notepad.exe';
  // System.Management's WqlEventQuery rewrites the query in lower-case keywords (as the Sysmon 19 record of a real run shows)
  set(filter, 'Query', typeof trigger === 'string' && typeof proc === 'string' ? `select * from Win32_ProcessStartTrace where ProcessName='${proc}'` : null);
  set(filter, 'QueryLanguage', 'WQL');
  set(filter, 'EventNamespace', 'root/cimv2');
  if (typeof kind !== 'string') return [filter, binding(filter, null, SHARPSPLOIT)];
  let consumer: ReconstructedObject;
  if (/^commandline$/i.test(kind)) {
    consumer = make('consumer', 'CommandLineEventConsumer', name, SHARPSPLOIT);
    set(consumer, 'RunInteractively', 'False');
    set(consumer, 'CommandLineTemplate', p.get('payload') ?? null);
  } else {
    consumer = make('consumer', 'ActiveScriptEventConsumer', name, SHARPSPLOIT);
    set(consumer, 'ScriptingEngine', engine === null ? null : /^jscript$/i.test(engine) ? 'JScript' : 'VBScript');
    set(consumer, 'ScriptText', p.get('payload') ?? null);
  }
  return [consumer, filter, binding(filter, consumer, SHARPSPLOIT)];
}

// ---- the table ----------------------------------------------------------------------------------------------------------

/** Frameworks invoked by name. To add one: an entry here (and a test); the scan below finds its commands. */
export const FRAMEWORKS: readonly PsFramework[] = [
  {
    name: POWERSPLOIT,
    source: 'PowerShellMafia/PowerSploit Persistence/Persistence.psm1 (New-ElevatedPersistenceOption, Add-Persistence)',
    commands: ['New-ElevatedPersistenceOption'],
    positional: [],
    objects: powerSploit,
    note:
      'the option call names the trigger; Add-Persistence writes a script that creates filter and consumer "Updater" when run elevated ' +
      '(its Set-WmiInstance lines are then logged as a script block of their own); -ScheduledTask/-Registry create no WMI objects',
  },
  {
    name: SHARPSPLOIT,
    source: 'cobbr/SharpSploit SharpSploit/Persistence/WMI.cs; cobbr/Covenant Covenant/Data/Tasks/CSharp/PersistWMI.task',
    commands: ['[SharpSploit.Persistence.WMI]::InstallWMIPersistence'],
    positional: ['eventname', 'eventfilter', 'eventconsumer', 'payload', 'processname', 'scriptingengine'],
    objects: sharpSploit,
    note:
      "Covenant's PersistWMI task is compiled .NET run inside the Grunt: PowerShell logs show nothing of it (its objects are in " +
      'Sysmon 19/20/21, WMI-Activity 5861 and the repository); only SharpSploit called from PowerShell is read here',
  },
  {
    name: 'Invoke-WMImplant (WMImplant)',
    source: 'FortyNorthSecurity/WMImplant WMImplant.ps1',
    commands: ['Invoke-WMImplant'],
    positional: [],
    objects: () => [],
    note:
      'creates no permanent subscription: it runs commands through Win32_Process Create, Win32_Service, Win32_Environment and ' +
      'the DebugFilePath of Win32_OSRecoveryConfiguration; never a subscription finding',
  },
];

// ---- invocations --------------------------------------------------------------------------------------------------------

const escapeRe = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
const CALLS = new RegExp(`(?:^|[\\s;|({=&!,])(${FRAMEWORKS.flatMap((f) => f.commands).map(escapeRe).join('|')})(?=[\\s\`(]|$)`, 'gi');
const BY_COMMAND = new Map(FRAMEWORKS.flatMap((f) => f.commands.map((c) => [c.toLowerCase(), f] as const)));

/** True when the command at `i` is in a comment or a string, or names a function definition. */
function notACall(s: string, i: number, comments: Array<[number, number]>): boolean {
  if (inRanges(comments, i)) return true;
  return /function\s*$/i.test(s.slice(Math.max(0, i - 64), i));
}

/** A .NET argument list `(a, 'b', [Enum]::C, $v)` at `i` (the `(`): literal values in order, null for anything computed. */
function callArgs(s: string, i: number, vars: Map<string, VarVal>): Val[] {
  const out: Val[] = [];
  let j = i + 1;
  while (out.length < MAX_ARGS && j < s.length) {
    while (j < s.length && /\s/.test(s[j]!)) j++;
    if (s[j] === ')') break;
    let v: Val = null;
    const rest = s.slice(j, j + 512);
    const en = /^\[[\w.+]+\]::(\w+)/.exec(rest);
    const ref = /^\$(?:script:|global:|local:)?(\w+)/i.exec(rest);
    if (s[j] === "'" || s[j] === '"') {
      const q = readQuoted(s, j);
      v = q.value;
      j = q.end;
    } else if (en) {
      v = en[1]!;
      j += en[0].length;
    } else if (ref) {
      const x = vars.get(ref[1]!.toLowerCase());
      v = x?.kind === 'str' ? x.value : null;
      j += ref[0].length;
    }
    // anything else up to the next top-level `,` or `)` makes the argument an expression
    let depth = 0;
    let extra = false;
    for (; j < s.length; j++) {
      const c = s[j]!;
      if (depth === 0 && (c === ',' || c === ')')) break;
      if (c === "'" || c === '"') {
        j = readQuoted(s, j).end - 1;
        extra = true;
      } else if (c === '(' || c === '[' || c === '{') depth++;
      else if (c === ')' || c === ']' || c === '}') depth--;
      else if (!/\s/.test(c)) extra = true;
    }
    out.push(extra ? null : v);
    if (s[j] !== ',') break;
    j++;
  }
  return out;
}

/** The objects the framework invocations of a text create (see {@link FRAMEWORKS}). */
export function reconstructFrameworkCalls(script: string): ReconstructedObject[] {
  const s = script.length > MAX_TEXT ? script.slice(0, MAX_TEXT) : script;
  const out: ReconstructedObject[] = [];
  let vars: Map<string, VarVal> | null = null;
  let comments: Array<[number, number]> | null = null;
  CALLS.lastIndex = 0;
  let m: RegExpExecArray | null;
  for (let n = 0; n < MAX_CALLS && (m = CALLS.exec(s)); n++) {
    const fw = BY_COMMAND.get(m[1]!.toLowerCase())!;
    const at = m.index + m[0].length - m[1]!.length;
    comments ??= nonCode(s);
    if (notACall(s, at, comments)) continue;
    vars ??= assignments(s, s.length);
    const p: FrameworkParams = new Map();
    if (m[1]!.startsWith('[')) {
      let j = CALLS.lastIndex;
      while (j < s.length && (s[j] === ' ' || s[j] === '\t')) j++;
      if (s[j] !== '(') continue;
      callArgs(s, j, vars).forEach((v, k) => {
        const name = fw.positional[k];
        if (name) p.set(name, v);
      });
    } else {
      const a = readArgs(s, CALLS.lastIndex);
      for (const [k, t] of a.params) p.set(k, valueOf(t, vars) ?? null);
      a.positional.forEach((t, k) => {
        const name = fw.positional[k];
        if (name && !p.has(name)) p.set(name, valueOf(t, vars!) ?? null);
      });
      if (a.end - 1 > CALLS.lastIndex) CALLS.lastIndex = a.end - 1;
    }
    out.push(...fw.objects(p));
  }
  return out;
}

// ---- generated scripts ----------------------------------------------------------------------------------------------------

export interface PsTemplate {
  /** The framework(s) whose generator writes this script, as the technique of what it reconstructs. */
  name: string;
  source: string;
  /** True when the text is this template's output. */
  matches(s: string): boolean;
}

// `$Filter=Set-WmiInstance -Class __EventFilter -Namespace "root\subscription" -Arguments @{name='…';EventNameSpace='root\CimV2';…`,
// `$Consumer=Set-WmiInstance … -Class 'CommandLineEventConsumer' -Arguments @{ name='…';CommandLineTemplate=…;RunInteractively='false'}`,
// `Set-WmiInstance … -Class __FilterToConsumerBinding -Arguments @{Filter=$Filter;Consumer=$Consumer} | Out-Null`
const TRIO_FILTER = /\$Filter\s*=\s*Set-WmiInstance\s+-Class\s+__EventFilter\s+-Namespace\s+["']?root\\subscription["']?\s+-Arguments\s+@\{\s*name\s*=\s*'[^'\n]{0,256}'\s*;\s*EventNameSpace\s*=\s*'root\\CimV2'/i;
const TRIO_CONSUMER = /\$Consumer\s*=\s*Set-WmiInstance\s+-Namespace\s+["']?root\\subscription["']?\s+-Class\s+'?CommandLineEventConsumer'?\s+-Arguments\s+@\{\s*name\s*=/i;
const TRIO_BINDING = /-Class\s+__FilterToConsumerBinding\s+-Arguments\s+@\{\s*Filter\s*=\s*\$Filter\s*;\s*Consumer\s*=\s*\$Consumer\s*\}/i;
const trio = (s: string): boolean => TRIO_FILTER.test(s) && TRIO_CONSUMER.test(s) && TRIO_BINDING.test(s);

/** Generated scripts, most specific first. */
export const TEMPLATES: readonly PsTemplate[] = [
  {
    name: 'Empire persistence/elevated/wmi or wmi_updater (generated script)',
    source: 'BC-SECURITY/Empire empire/server/modules/powershell/persistence/elevated/wmi.py, wmi_updater.py (EmpireProject/Empire lib/modules/… before)',
    matches: (s) => trio(s) && /'WMI persistence established\b/.test(s),
  },
  {
    name: 'PowerSploit Add-Persistence -PermanentWMI or Empire WMI persistence (generated script)',
    source: 'PowerShellMafia/PowerSploit Persistence/Persistence.psm1 (the elevated trigger Add-Persistence writes)',
    matches: trio,
  },
];

const RESULTS = /(?:\$(?:script:|global:|local:)?(\w+)[ \t]*=[ \t]*)?(?<![\w-])(Set-WmiInstance|New-CimInstance)(?=[\s`]|$)/gi;

/**
 * Bindings whose `@{Filter=$f; Consumer=$c}` name the results of earlier `$f = Set-WmiInstance …` calls of the same
 * text: each variable is the object path of the instance it was last assigned (class and literal Name), in text order.
 */
function resultBindings(s: string, technique: string): ReconstructedObject[] {
  const vars = assignments(s, s.length);
  const results = new Map<string, string | null>();
  const out: ReconstructedObject[] = [];
  RESULTS.lastIndex = 0;
  let m: RegExpExecArray | null;
  for (let n = 0; n < MAX_CALLS && (m = RESULTS.exec(s)); n++) {
    const a = readArgs(s, RESULTS.lastIndex);
    if (a.end - 1 > RESULTS.lastIndex) RESULTS.lastIndex = a.end - 1;
    const cls = valueOf(a.params.get('class') ?? a.params.get('classname') ?? a.positional[0], vars);
    const args = a.params.get('arguments') ?? a.params.get('property');
    if (!cls) {
      if (m[1]) results.set(m[1].toLowerCase(), null);
      continue;
    }
    if (/^__FilterToConsumerBinding$/i.test(cls)) {
      const b = make('binding', cls, null, technique);
      for (const key of ['Filter', 'Consumer']) {
        const ref = args?.kind === 'table' ? new RegExp(`(?:^|[;\\s])${key}\\s*=\\s*\\$(?:script:|global:|local:)?(\\w+)\\s*(?:;|$)`, 'i').exec(args.text.slice(0, 4096)) : null;
        set(b, key, ref ? (results.get(ref[1]!.toLowerCase()) ?? null) : null);
      }
      out.push(b);
    } else if (m[1]) {
      const name = args?.kind === 'table' ? readTable(args.text, vars).get('name')?.[1] : null;
      results.set(m[1].toLowerCase(), typeof name === 'string' ? objectPath(cls, name) : null);
    }
  }
  return out;
}

/** A generated script's objects: the generic reading's, named after the template, with the bindings resolved. */
export function reconstructTemplate(script: string, generic: ReconstructedObject[]): ReconstructedObject[] | null {
  const s = script.length > MAX_TEXT ? script.slice(0, MAX_TEXT) : script;
  const t = TEMPLATES.find((x) => x.matches(s));
  if (!t) return null;
  const bindings = resultBindings(s, t.name);
  const kept = generic.filter((o) => !(o.part === 'binding' && o.computed.includes('Filter') && o.computed.includes('Consumer')));
  return [...kept.map((o) => (/^set-wmiinstance$/i.test(o.technique) ? { ...o, technique: t.name } : o)), ...bindings];
}

const BOUND = /^ParameterBinding\(([\w-]+)\): name="(\w+)"; value="(.*)"\r?$/gim;

/**
 * Framework functions in 4103/800 pipeline details: `ParameterBinding(New-ElevatedPersistenceOption): name="X";
 * value="Y"` lines (values bound at run time: literal), one invocation per command name.
 */
export function reconstructFrameworkBindings(details: string): ReconstructedObject[] {
  const s = details.length > MAX_TEXT ? details.slice(0, MAX_TEXT) : details;
  if (!s.includes('ParameterBinding(')) return [];
  const calls = new Map<PsFramework, FrameworkParams>();
  BOUND.lastIndex = 0;
  let m: RegExpExecArray | null;
  for (let n = 0; n < 4 * MAX_CALLS && (m = BOUND.exec(s)); n++) {
    const fw = BY_COMMAND.get(m[1]!.toLowerCase());
    if (!fw) continue;
    const p = calls.get(fw) ?? new Map<string, Val>();
    p.set(m[2]!.toLowerCase(), m[3]!);
    calls.set(fw, p);
  }
  return [...calls].flatMap(([fw, p]) => fw.objects(p));
}

/**
 * Everything a PowerShell text would create: the generic reading (powershell.ts), a generated framework script's
 * names and bindings, framework invocations and framework ParameterBinding lines.
 */
export function reconstructPowerShell(script: string): ReconstructedObject[] {
  const generic = reconstructFromScript(script);
  return [...(reconstructTemplate(script, generic) ?? generic), ...reconstructFrameworkCalls(script), ...reconstructFrameworkBindings(script)];
}
