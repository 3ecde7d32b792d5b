/**
 * `wmiscope sysmon audit`: what a Sysmon configuration lets through of WMI persistence. The WmiEvent rules are
 * run against a matrix of representative events — Created / Modified / Deleted × filter (19) / consumer (20) /
 * binding (21) × a benign vendor subscription and an attacker's one — plus events an attacker would shape to
 * fall under the configuration's own exclude rules or outside its include rules. Each result is said in plain
 * words; cases the documentation leaves open are shown both ways; Sysmon's structural blind spots are always
 * listed, whatever the rules.
 */
import type { FieldRule, SysmonConfig, SysmonConfigWarning } from './config.js';
import { decide, describeRule, PRIMARY_READING, QUOTED_FIELDS } from './evaluate.js';
import type { Reading, WmiEventSample } from './evaluate.js';

export type Operation = 'Created' | 'Modified' | 'Deleted';
export const OPERATIONS: readonly Operation[] = ['Created', 'Modified', 'Deleted'];
export type WmiPart = 'filter' | 'consumer' | 'binding';
const PART_OF: Record<19 | 20 | 21, WmiPart> = { 19: 'filter', 20: 'consumer', 21: 'binding' };
const EVENT_NAME: Record<19 | 20 | 21, string> = { 19: 'WmiEventFilter', 20: 'WmiEventConsumer', 21: 'WmiEventConsumerToFilter' };

export interface MatrixRow {
  eventId: 19 | 20 | 21;
  part: WmiPart;
  operation: Operation;
  /** `benign`: a vendor subscription; `attacker`: typical persistence; `evasion`: shaped by an attacker against this configuration's rules. */
  profile: 'benign' | 'attacker' | 'evasion';
  /** What the event is, in a few words. */
  label: string;
  /** Field values (unquoted). */
  fields: Record<string, string>;
  logged: boolean;
  because: string;
  /** Rule lines that decided. */
  lines: number[];
  /** Other readings of the documentation under which this row comes out the other way. */
  otherwise: Array<{ reading: string; logged: boolean; because: string }>;
}

export interface Ambiguity {
  /** Short id (`empty-exclude`, `quoted-values`, …). */
  id: string;
  question: string;
  /** The reading the matrix reports first, and why. */
  primary: string;
  alternative: string;
  /** Matrix rows whose outcome differs (indexes into `matrix`). */
  rows: number[];
}

export interface SysmonAudit {
  file: string;
  schemaVersion: string | null;
  /** WmiEvent elements found: where, include/exclude, how many rules. */
  rules: Array<{ line: number; onmatch: 'include' | 'exclude'; groupRelation: string; rules: string[] }>;
  /** One word for the benign and attacker rows under the primary reading. */
  verdict: 'logs-all' | 'partial' | 'logs-nothing';
  /** Plain-words findings, most important first. */
  statements: string[];
  matrix: MatrixRow[];
  ambiguities: Ambiguity[];
  /** What Sysmon cannot see whatever its configuration. */
  blindSpots: string[];
  warnings: SysmonConfigWarning[];
}

/** Sysmon's structural limits for WMI (reference/wmi-tradecraft.md §2). */
export const SYSMON_BLIND_SPOTS: readonly string[] = [
  'Sysmon watches only the root\\subscription namespace: filters, consumers and bindings created in any other namespace (root\\default, root\\cimv2, a custom one such as root\\cimv2\\totallylegit) produce no 19, 20 or 21 at all.',
  'Sysmon logs consumers (event 20) only of the CommandLineEventConsumer and ActiveScriptEventConsumer classes: NTEventLog, LogFile, SMTP and custom consumer classes are not logged.',
  'Events 19-21 carry no process or image: who ran the WMI call must come from other telemetry (process creation, PowerShell, WMI-Activity).',
  'Subscriptions created before Sysmon was installed, while it was stopped or unloaded, or before the oldest record still in the log (rolled over) are not in the log: only the WMI repository shows them.',
];

interface Profile {
  label: string;
  filter: { Name: string; EventNamespace: string; Query: string; User: string };
  consumer: { Name: string; Type: string; Destination: string; User: string; className: string };
}

const BENIGN: Profile = {
  label: 'vendor subscription (SCCM-style)',
  filter: { Name: 'SCNotification Filter', EventNamespace: 'root\\cimv2', Query: "SELECT * FROM __InstanceCreationEvent WITHIN 60 WHERE TargetInstance ISA 'CCM_Notification'", User: 'NT AUTHORITY\\SYSTEM' },
  consumer: { Name: 'SCNotification', Type: 'Command Line', Destination: 'C:\\Windows\\CCM\\SCNotification.exe', User: 'NT AUTHORITY\\SYSTEM', className: 'CommandLineEventConsumer' },
};

const ATTACKER: Profile = {
  label: 'attacker persistence (PowerShell, uptime trigger)',
  filter: {
    Name: 'Updater',
    EventNamespace: 'root\\cimv2',
    Query: "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System' AND TargetInstance.SystemUpTime >= 240",
    User: 'CORP\\svc-backup',
  },
  consumer: { Name: 'Updater', Type: 'Command Line', Destination: 'powershell.exe -NoP -W Hidden -Enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAKQA=', User: 'CORP\\svc-backup', className: 'CommandLineEventConsumer' },
};

const ATTACKER_SCRIPT: Profile = {
  label: 'attacker persistence (ActiveScript VBScript)',
  filter: { ...ATTACKER.filter, Name: 'WindowsUpdateCheck' },
  consumer: { Name: 'WindowsUpdateCheck', Type: 'Script', Destination: 'Set s = CreateObject("WScript.Shell") : s.Run "cmd.exe /c C:\\Users\\Public\\u.exe", 0', User: 'CORP\\svc-backup', className: 'ActiveScriptEventConsumer' },
};

/** A binding's reference as Sysmon 21 gives it (real records: `CommandLineEventConsumer.Name="BotConsumer23"`). */
const ref = (cls: string, name: string): string => `${cls}.Name="${name}"`;

function sample(id: 19 | 20 | 21, op: Operation, p: Profile): WmiEventSample {
  const common = { RuleName: '-', UtcTime: '2026-11-22 04:00:00.000', Operation: op };
  if (id === 19) return { id, fields: { ...common, EventType: 'WmiFilterEvent', User: p.filter.User, EventNamespace: p.filter.EventNamespace, Name: p.filter.Name, Query: p.filter.Query } };
  if (id === 20) return { id, fields: { ...common, EventType: 'WmiConsumerEvent', User: p.consumer.User, Name: p.consumer.Name, Type: p.consumer.Type, Destination: p.consumer.Destination } };
  return { id, fields: { ...common, EventType: 'WmiBindingEvent', User: p.consumer.User, Consumer: ref(p.consumer.className, p.consumer.Name), Filter: ref('__EventFilter', p.filter.Name) } };
}

/** Fields an attacker chooses when creating a subscription. */
const ATTACKER_FIELDS: Record<string, Array<19 | 20 | 21>> = { Name: [19, 20], EventNamespace: [19], Query: [19], Destination: [20], Consumer: [21], Filter: [21], Type: [20] };
const POSITIVE = ['is', 'is any', 'contains', 'contains any', 'contains all', 'begin with', 'end with', 'image'];

/** A name or value an attacker would pick so that `rule` matches it, or null when no such value makes sense. */
function shapedName(rule: FieldRule): string | null {
  const items = rule.value.split(';').filter(Boolean);
  const x = items[0] ?? '';
  if (!x) return null;
  switch (rule.condition) {
    case 'is':
    case 'is any':
      return x;
    case 'contains':
    case 'contains any':
    case 'begin with':
      return `${x}Update`;
    case 'contains all':
      return items.join('');
    case 'end with':
      return `Update${x}`;
    default:
      return null;
  }
}

function shapedValue(rule: FieldRule, base: string): string | null {
  const items = rule.value.split(';').filter(Boolean);
  const x = items[0] ?? '';
  if (!x) return null;
  switch (rule.condition) {
    case 'is':
    case 'is any':
      return x;
    case 'contains':
    case 'contains any':
      return `${base} ${x}`;
    case 'contains all':
      return `${base} ${items.join(' ')}`;
    case 'begin with':
      return `${x}${base}`;
    case 'end with':
      return `${base}${x}`;
    case 'image':
      return `C:\\Users\\Public\\${x}`;
    default:
      return null;
  }
}

/** Attacker events shaped to fall under an exclude rule on a field the attacker chooses. */
function evasionSamples(config: SysmonConfig): Array<{ e: WmiEventSample; label: string }> {
  const out: Array<{ e: WmiEventSample; label: string }> = [];
  const seen = new Set<string>();
  for (const s of config.wmi) {
    if (s.onmatch !== 'exclude') continue;
    for (const n of s.rules) {
      const rules = n.kind === 'field' ? [n] : n.rules;
      for (const r of rules) {
        const ids = Object.hasOwn(ATTACKER_FIELDS, r.field) ? ATTACKER_FIELDS[r.field] : undefined;
        if (!ids || !r.known || !POSITIVE.includes(r.condition)) continue;
        for (const id of ids) {
          const script = r.field === 'Type' && /script/i.test(r.value);
          const p = script ? ATTACKER_SCRIPT : ATTACKER;
          const e = sample(id, 'Created', p);
          let what: string;
          if (r.field === 'Type') {
            e.fields['Type'] = script ? 'Script' : 'Command Line';
            what = `an ${script ? 'ActiveScript' : 'CommandLine'} consumer`;
          } else if (r.field === 'Name' || ((r.field === 'Consumer' || r.field === 'Filter') && r.condition !== 'is' && r.condition !== 'is any')) {
            const name = shapedName(r);
            if (name === null) continue;
            if (r.field === 'Name') e.fields['Name'] = name;
            else if (r.field === 'Consumer') e.fields['Consumer'] = ref(p.consumer.className, name);
            else e.fields['Filter'] = ref('__EventFilter', name);
            what = `a ${r.field === 'Filter' || (r.field === 'Name' && id === 19) ? 'filter' : 'consumer'} named ${JSON.stringify(name)}`;
          } else {
            const v = shapedValue(r, e.fields[r.field] ?? '');
            if (v === null) continue;
            e.fields[r.field] = v;
            what = `${r.field} ${JSON.stringify(v)}`;
          }
          const key = `${id}|${r.field}|${e.fields[r.field]}`;
          if (seen.has(key)) continue;
          seen.add(key);
          out.push({ e, label: `${what} (shaped to match the exclude rule ${describeRule(r)})` });
        }
      }
    }
  }
  return out.slice(0, 60);
}

interface Switch {
  id: string;
  applies: (c: SysmonConfig) => boolean;
  question: string;
  primary: string;
  alternative: string;
  flip: (r: Reading) => Reading;
}

const SWITCHES: Switch[] = [
  {
    id: 'empty-exclude',
    applies: (c) => c.wmi.some((s) => s.onmatch === 'include') && c.wmi.some((s) => s.onmatch === 'exclude' && s.rules.length === 0),
    question: 'The configuration has WmiEvent include rules and also an exclude list with no rules. The documentation says an exclude list without rules logs everything, and that exclude matches take precedence over includes — it does not say what an empty exclude does next to includes.',
    primary: 'the empty exclude matches nothing, so it adds nothing: only what the include rules keep is logged',
    alternative: 'the empty exclude means "log everything" and every WMI event is logged',
    flip: (r) => ({ ...r, emptyExcludeLogsAll: !r.emptyExcludeLogsAll }),
  },
  {
    id: 'quoted-values',
    applies: (c) => c.wmi.some((s) => s.rules.some((n) => (n.kind === 'field' ? [n] : n.rules).some((r) => QUOTED_FIELDS.includes(r.field)))),
    question:
      'Sysmon writes EventNamespace, Name, Query, Destination, Consumer and Filter in MOF form: a leading space, double quotes, backslashes doubled, quotes escaped (real records: ` "root\\\\cimv2"`, ` "c:\\\\Windows\\\\System32\\\\cmd.exe"`). The documentation does not say whether rules compare against that text or the bare value.',
    primary: 'rules see the value as logged: "is", "begin with", "end with" and "image" on these fields, and values with a backslash or a quote, must be written in that form to match',
    alternative: 'rules see the bare value',
    flip: (r) => ({ ...r, quotedValues: !r.quotedValues }),
  },
  {
    id: 'case',
    applies: (c) => c.wmi.some((s) => s.rules.some((n) => (n.kind === 'field' ? [n] : n.rules).some((r) => r.condition.startsWith('is')))),
    question: 'Whether "is", "is not" and "is any" compare case-sensitively is not settled in the documentation (community guides differ).',
    primary: 'case-insensitive, like every other condition',
    alternative: 'case-sensitive',
    flip: (r) => ({ ...r, caseSensitiveIs: !r.caseSensitiveIs }),
  },
  {
    id: 'bare-fields',
    applies: (c) => c.wmi.some((s) => s.groupRelation === null && new Set(s.rules.filter((n) => n.kind === 'field').map((n) => (n as FieldRule).field)).size > 1),
    question: 'A WmiEvent element outside any RuleGroup has rules on different fields. The documentation said such rules are AND\'d; Sysinternals later wrote that in practice they were not always combined that way.',
    primary: 'rules on different fields are AND\'d',
    alternative: 'rules on different fields are OR\'d',
    flip: (r) => ({ ...r, bareFieldsAnd: !r.bareFieldsAnd }),
  },
  {
    id: 'absent',
    applies: (c) => c.wmi.length === 0,
    question: 'The configuration has no WmiEvent element at all.',
    primary: 'Sysmon logs event types the configuration does not filter, so every WMI event is logged',
    alternative: 'WMI events are not logged',
    flip: (r) => ({ ...r, absentLogsAll: !r.absentLogsAll }),
  },
];

function joinWords(xs: string[]): string {
  return xs.length <= 1 ? (xs[0] ?? '') : `${xs.slice(0, -1).join(', ')} and ${xs[xs.length - 1]}`;
}

/** Audit a parsed configuration. `file` is only a label. */
export function auditSysmonConfig(config: SysmonConfig, file: string): SysmonAudit {
  const matrix: MatrixRow[] = [];
  const samples: Array<{ e: WmiEventSample; profile: MatrixRow['profile']; label: string }> = [];
  for (const id of [19, 20, 21] as const) {
    for (const op of OPERATIONS) {
      samples.push({ e: sample(id, op, BENIGN), profile: 'benign', label: BENIGN.label });
      samples.push({ e: sample(id, op, ATTACKER), profile: 'attacker', label: ATTACKER.label });
      if (id === 20) samples.push({ e: sample(id, op, ATTACKER_SCRIPT), profile: 'attacker', label: ATTACKER_SCRIPT.label });
    }
  }
  for (const s of evasionSamples(config)) samples.push({ e: s.e, profile: 'evasion', label: s.label });
  const switches = SWITCHES.filter((s) => s.applies(config));
  for (const s of samples) {
    const d = decide(config, s.e, PRIMARY_READING);
    const otherwise: MatrixRow['otherwise'] = [];
    for (const sw of switches) {
      const alt = decide(config, s.e, sw.flip(PRIMARY_READING));
      if (alt.logged !== d.logged) otherwise.push({ reading: sw.id, logged: alt.logged, because: alt.because });
    }
    matrix.push({
      eventId: s.e.id,
      part: PART_OF[s.e.id],
      operation: s.e.fields['Operation'] as Operation,
      profile: s.profile,
      label: s.label,
      fields: s.e.fields,
      logged: d.logged,
      because: d.because,
      lines: d.rules.map((r) => r.line),
      otherwise,
    });
  }
  const ambiguities: Ambiguity[] = switches.flatMap((sw) => {
    const rows = matrix.flatMap((m, i) => (m.otherwise.some((o) => o.reading === sw.id) ? [i] : []));
    return rows.length ? [{ id: sw.id, question: sw.question, primary: sw.primary, alternative: sw.alternative, rows }] : [];
  });

  // plain words, per event id: operations always logged, never logged, logged for some profiles only
  const statements: string[] = [];
  const base = matrix.filter((m) => m.profile !== 'evasion');
  for (const id of [19, 20, 21] as const) {
    const always: string[] = [];
    const never: Array<{ op: string; because: string }> = [];
    const some: Array<{ op: string; dropped: MatrixRow[] }> = [];
    for (const op of OPERATIONS) {
      const rows = base.filter((m) => m.eventId === id && m.operation === op);
      const dropped = rows.filter((m) => !m.logged);
      if (!dropped.length) always.push(op);
      else if (dropped.length === rows.length) never.push({ op, because: dropped[0]!.because });
      else some.push({ op, dropped });
    }
    const parts: string[] = [];
    if (always.length === 3) parts.push('every operation is logged');
    else if (always.length) parts.push(`${joinWords(always)} logged`);
    if (never.length) {
      const reasons = [...new Set(never.map((n) => n.because))];
      parts.push(`${joinWords(never.map((n) => n.op))} never logged — ${reasons.join('; ')}`);
    }
    const byDrop = new Map<string, string[]>();
    for (const s of some) {
      const k = `not for the ${joinWords([...new Set(s.dropped.map((d) => d.label))])} — ${[...new Set(s.dropped.map((d) => d.because))].join('; ')}`;
      byDrop.set(k, [...(byDrop.get(k) ?? []), s.op]);
    }
    for (const [k, ops] of byDrop) parts.push(`${joinWords(ops)} logged only for some values, ${k}`);
    statements.push(`Event ${id} (${EVENT_NAME[id]}, ${PART_OF[id]}): ${parts.join('; ')}.`);
  }
  const lostOps = OPERATIONS.filter((op) => op !== 'Created' && base.some((m) => m.profile === 'attacker' && m.operation === op && !m.logged));
  if (lostOps.length && base.some((m) => m.profile === 'attacker' && m.operation === 'Created' && m.logged)) {
    const what = lostOps.length === 2 ? 'deletes or modifies' : lostOps[0] === 'Deleted' ? 'deletes' : 'modifies';
    statements.push(`An attacker who ${what} a subscription after use (covering tracks, or swapping the payload of an existing consumer) leaves no Sysmon record of the ${joinWords(lostOps.map((o) => (o === 'Deleted' ? 'deletion' : 'modification')))} under this configuration, at least for some of the attacker events above.`);
  }
  for (const m of matrix) if (m.profile === 'evasion' && !m.logged) statements.push(`Evasion: an attacker who creates ${m.label} is not logged in event ${m.eventId} (${m.because}).`);
  const evasions = matrix.filter((m) => m.profile === 'evasion');
  if (evasions.length && evasions.every((m) => m.logged)) statements.push('Values shaped to match the exclude rules are still logged under the primary reading (see the ambiguities for readings under which they are not).');
  // an attacker's shaped value that is dropped makes the configuration partial, even if every base row is logged
  const verdict: SysmonAudit['verdict'] = matrix.every((m) => m.logged) ? 'logs-all' : base.every((m) => !m.logged) ? 'logs-nothing' : 'partial';
  statements.unshift(
    verdict === 'logs-all'
      ? 'WMI events 19, 20 and 21 are logged in full for root\\subscription (subject to the blind spots below).'
      : verdict === 'logs-nothing'
        ? 'This configuration logs no WMI event (19, 20, 21) at all.'
        : 'This configuration logs only part of the WMI events (19, 20, 21); what is dropped is listed below.',
  );
  if (ambiguities.length) statements.push(`${ambiguities.length} case(s) the documentation leaves open change the outcome; both readings are shown.`);

  return {
    file,
    schemaVersion: config.schemaVersion,
    rules: config.wmi.map((s) => ({
      line: s.line,
      onmatch: s.onmatch,
      groupRelation: s.groupRelation ?? 'none (outside a RuleGroup)',
      rules: s.rules.map((n) => (n.kind === 'field' ? describeRule(n) : `Rule ${n.relation} (line ${n.line}): ${n.rules.map(describeRule).join(`, ${n.relation} `)}`)),
    })),
    verdict,
    statements,
    matrix,
    ambiguities,
    blindSpots: [...SYSMON_BLIND_SPOTS],
    warnings: config.warnings,
  };
}
