/**
 * Rules: what makes a WMI subscription look bad, following the issue's "What to Investigate" and the
 * tradecraft of shared/reference/wmi-tradecraft.md §4–§7. Each rule that fires gives a reason (id, title,
 * ATT&CK ids, the evidence quoted from the subscription, its score); the scores add up (capped at 100) to a
 * severity. An allow-listed subscription keeps its reasons but gets severity `info` and score 0.
 *
 * Nothing is ever executed: payloads are only matched as text and base64-decoded (decode.ts).
 */
import type { JoinedSubscription, Observation, Reason, Severity, SubscriptionObject } from '../model/types.js';
import { allowlistNames, DEFAULT_ALLOWLIST, matchAllowlists } from './allowlist.js';
import type { Allowlist } from './allowlist.js';
import { decodePayloads, escapeControl, oneLine, sidText, undecodedCommands } from './decode.js';
import type { DecodedPayload, UndecodedCommand } from './decode.js';
import { consumerClassFacts } from '../model/wmi.js';
import { scoreOf } from './score.js';
export { MAX_SCORE, SEVERITY_THRESHOLDS, severityFor } from './score.js';
import { parseIsoTime } from '../model/time.js';
import { baseName, ranText, runsOf } from '../model/runs.js';
import { sidAccountNames } from '../model/subscription.js';
import {
  consumerClassOf,
  customConsumerProperties,
  isStandardConsumerClass,
  isSystemPrincipal,
  KNOWN_GOOD_NAMES,
  namespaceKind,
  partNames,
  strOf,
  WINDOWS_TASK_NAMES,
} from './known-good.js';

export interface Verdict {
  reasons: Reason[];
  decoded: string[];
  score: number;
  severity: Severity;
  summary: string;
  allowlisted: { by: string; entry: string } | null;
}

export interface RuleInfo {
  id: string;
  title: string;
  /** Every ATT&CK id the rule can report (a reason carries the ones that apply). */
  attack: string[];
  /** Points the rule adds to the score. */
  score: number;
}

const LOLBIN_ATTACK: Record<string, string> = {
  cmd: 'T1059.003',
  cscript: 'T1059.005',
  wscript: 'T1059.005',
  mshta: 'T1218.005',
  rundll32: 'T1218.011',
  regsvr32: 'T1218.010',
  msiexec: 'T1218.007',
  certutil: 'T1140',
  bitsadmin: 'T1197',
  schtasks: 'T1053.005',
  wmic: 'T1047',
  msbuild: 'T1127.001',
  installutil: 'T1218.004',
  regasm: 'T1218.009',
  regsvcs: 'T1218.009',
  odbcconf: 'T1218.008',
  cmstp: 'T1218.003',
};

/** The rules, in the order they are reported. */
export const RULES: ReadonlyArray<RuleInfo> = [
  { id: 'consumer-exec', title: 'Consumer runs a command line or a script (CommandLineEventConsumer / ActiveScriptEventConsumer)', attack: ['T1546.003', 'T1047'], score: 25 },
  { id: 'consumer-activescript', title: 'ActiveScript consumer (VBScript / JScript run by scrcons.exe)', attack: ['T1059.005', 'T1059.007'], score: 10 },
  { id: 'consumer-custom-class', title: 'Consumer of a non-standard class (needs its own consumer provider)', attack: ['T1546.003'], score: 30 },
  { id: 'consumer-logfile-script', title: 'LogFileEventConsumer writes a script or executable, or into a Startup folder', attack: ['T1546.003', 'T1547.001'], score: 30 },
  { id: 'payload-powershell', title: 'Payload runs PowerShell', attack: ['T1059.001'], score: 20 },
  { id: 'payload-encoded-command', title: 'Encoded PowerShell command (-enc base64; decoded text shown)', attack: ['T1027', 'T1059.001'], score: 25 },
  { id: 'payload-stealth-flags', title: 'PowerShell hidden / non-interactive / no profile / policy bypass', attack: ['T1564.003', 'T1059.001'], score: 10 },
  { id: 'payload-download', title: 'Download cradle (WebClient, Invoke-WebRequest, BITS, certutil, XMLHTTP, ADODB.Stream, …)', attack: ['T1105'], score: 30 },
  { id: 'payload-lolbin', title: 'Command interpreter or system binary proxy (cmd, cscript, wscript, mshta, rundll32, regsvr32, …)', attack: [...new Set(Object.values(LOLBIN_ATTACK))], score: 15 },
  { id: 'payload-user-writable-path', title: 'Payload uses a user-writable path (Temp, Public, AppData, ProgramData)', attack: ['T1546.003'], score: 15 },
  { id: 'payload-network-indicator', title: 'URL, IP address or UNC path in the payload', attack: ['T1071.001'], score: 15 },
  { id: 'payload-dynamic-code', title: 'Payload runs code built at run time (eval, Execute, IEX / Invoke-Expression)', attack: ['T1059', 'T1027'], score: 15 },
  { id: 'payload-obfuscation', title: 'Obfuscated payload (char-code building, XOR, compression, long base64, escape tricks)', attack: ['T1027'], score: 15 },
  { id: 'payload-fileless-storage', title: 'Payload read from a WMI class property or the registry (fileless storage)', attack: ['T1027.011'], score: 20 },
  { id: 'script-process-start', title: 'Script starts processes (WScript.Shell, .Run, ShellExecute, Win32_Process.Create, Start-Process)', attack: ['T1059.005', 'T1059.007'], score: 20 },
  { id: 'static-class-payload', title: 'WMI class holding a large payload string (WannaMine pattern)', attack: ['T1027.011'], score: 25 },
  { id: 'trigger-uptime', title: 'Startup / uptime performance-counter trigger (Win32_PerfFormattedData_PerfOS_System)', attack: ['T1546.003'], score: 15 },
  { id: 'trigger-schedule', title: 'Time-of-day schedule trigger (Win32_LocalTime / Win32_UTCTime)', attack: ['T1546.003'], score: 10 },
  { id: 'trigger-timer', title: 'Timer trigger (__TimerEvent, __IntervalTimerInstruction, __AbsoluteTimerInstruction)', attack: ['T1546.003'], score: 10 },
  { id: 'trigger-logon', title: 'Logon trigger (Win32_LoggedOnUser, Win32_LogonSession)', attack: ['T1546.003'], score: 10 },
  { id: 'trigger-process-start', title: 'Process-start trigger (Win32_ProcessStartTrace, Win32_Process creation)', attack: ['T1546.003'], score: 10 },
  { id: 'trigger-failed-logon', title: 'Failed-logon trigger (Win32_NTLogEvent 4625: fires on a bad password, remotely)', attack: ['T1546.003'], score: 20 },
  { id: 'trigger-eventlog', title: 'Event-log trigger (Win32_NTLogEvent)', attack: ['T1546.003'], score: 10 },
  { id: 'namespace-default', title: 'Subscription in root\\default (not root\\subscription; Sysmon does not see it)', attack: ['T1546.003'], score: 10 },
  { id: 'namespace-nonstandard', title: 'Subscription in a Windows namespace other than root\\subscription (Sysmon and Autoruns do not see it)', attack: ['T1546.003'], score: 20 },
  { id: 'namespace-custom', title: 'Subscription in a custom namespace (Sysmon, Autoruns and Velociraptor\'s default artifact do not see it)', attack: ['T1546.003'], score: 40 },
  { id: 'name-lookalike', title: 'Name imitates a known-good subscription (or reuses its name with different content)', attack: ['T1036'], score: 50 },
  { id: 'name-windows-task', title: 'Name copied from a Windows scheduled task', attack: ['T1036.004'], score: 15 },
  { id: 'creator-user-account', title: 'Created by a user account rather than by the system', attack: ['T1546.003'], score: 10 },
  { id: 'created-together', title: 'Filter, consumer and binding created within two minutes (scripted install)', attack: ['T1546.003'], score: 10 },
  { id: 'ran', title: 'The subscription demonstrably ran: a process start it caused is logged (scrcons.exe, or a WmiPrvSE.exe child running its command line)', attack: ['T1546.003'], score: 10 },
  { id: 'orphan', title: 'Orphaned component (the WMI state read shows a filter or consumer without a binding: leftover or staged)', attack: ['T1546.003'], score: 5 },
  { id: 'binding-not-observed', title: 'No binding in this evidence: whether it is bound is not observable here (the logs may not hold its binding)', attack: [], score: 0 },
];

const RULE_BY_ID = new Map(RULES.map((r) => [r.id, r]));

/** Seconds within which filter, consumer and binding count as created together. */
const TOGETHER_SECONDS = 120;
/** A string at least this long in a WMI class property counts as a stored payload. */
const STATIC_PAYLOAD_CHARS = 2048;

// ---- text helpers -----------------------------------------------------------------------------------------

/** A quoted excerpt of `text` around `index` (one line, control characters escaped). */
function excerpt(text: string, index: number, length: number, context = 40): string {
  const start = Math.max(0, index - context);
  const end = Math.min(text.length, index + length + context);
  return `${start > 0 ? '…' : ''}${escapeControl(text.slice(start, end))}${end < text.length ? '…' : ''}`;
}

interface Hit {
  what: string;
  where: string;
}

/** Every match of `re` (global) in `text`, as the matched text and an excerpt. */
function hits(re: RegExp, text: string, limit = 5): Hit[] {
  const out: Hit[] = [];
  for (const m of text.matchAll(re)) {
    out.push({ what: m[0], where: excerpt(text, m.index ?? 0, m[0].length) });
    if (out.length >= limit) break;
  }
  return out;
}

function describe(hs: Hit[], label: string): string {
  const what = [...new Set(hs.map((h) => escapeControl(h.what.trim())))].slice(0, 5);
  return `${what.map((w) => `"${w}"`).join(', ')} in ${label}: ${hs[0]!.where}`;
}

// ---- patterns ---------------------------------------------------------------------------------------------

const RE = {
  powershell: /\b(?:powershell|pwsh)(?:_ise)?(?:\.exe)?\b|System\.Management\.Automation/gi,
  stealth:
    /(?:^|[\s"'])[-/\u2013\u2014](?:w(?:i(?:n(?:d(?:o(?:w(?:s(?:t(?:y(?:l(?:e)?)?)?)?)?)?)?)?)?)?\s+["']?(?:hidden|hid|h|1)\b|nop(?:rofile)?\b|noni(?:nteractive)?\b|(?:ep|ex|exe|exec|executionpolicy)\s+["']?(?:bypass|unrestricted)\b)/gi,
  download:
    /Net\.WebClient|\.Download(?:String|File|Data)(?:Async)?\b|Invoke-WebRequest|Invoke-RestMethod|(?<![\w-])(?:iwr|irm)\s+["']?(?:https?:|\$)|Start-BitsTransfer|bitsadmin(?:\.exe)?\s[^\r\n]{0,300}\/transfer|certutil(?:\.exe)?\s[^\r\n]{0,300}-urlcache|\b(?:curl|wget)(?:\.exe)?\s+[^\r\n]{0,300}(?:https?|ftp):\/\/|(?:Server)?XMLHTTP\b|Microsoft\.XmlHttp|WinHttp\.WinHttpRequest|ADODB\.Stream|Net\.Http\.HttpClient|mshta(?:\.exe)?\s+["']?(?:https?|ftp):|regsvr32(?:\.exe)?\s[^\r\n]{0,300}\/i:\s*["']?(?:https?|ftp):|Net\.Sockets\.TCPClient/gi,
  lolbin: new RegExp(`\\b(${Object.keys(LOLBIN_ATTACK).join('|')})(?:\\.exe)?(?![\\w.])`, 'gi'),
  userPath:
    /%(?:temp|tmp|appdata|localappdata|public|programdata|userprofile)%|\$env:(?:temp|tmp|appdata|localappdata|public|programdata|userprofile)\b|(?<!\\)\\+(?:AppData|Temp|Tmp|Users\\+Public|ProgramData|PerfLogs|\$Recycle\.Bin|Downloads)(?:\\+|["'\s]|$)|\[(?:System\.)?IO\.Path\]::GetTempPath/gim,
  url: /\b(?:https?|ftp|wss?):\/\/[^\s'"<>`;)]+/gi,
  ipv4: /(?<![\w.])(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}(?![\w.])/g,
  unc: /(?<![\\\w])\\\\(?![.?]\\)[A-Za-z0-9][A-Za-z0-9.-]*\\[^\s\\"']+/g,
  dynamic: /\bIEX\b|Invoke-Expression|(?<![\w.$])eval\s*\(|(?<![.\w])Execute(?:Global)?\b|\[ScriptBlock\]::Create|\bnew\s+Function\s*\(|\.InvokeScript\s*\(|&\s*\(\s*\$(?:ShellId|PSHome|env:ComSpec)/gi,
  obfuscation:
    /String\.fromCharCode|(?:Chr[WB]?\s*\(\s*[^()]{1,8}\s*\)\s*[&+]\s*){3,}|(?:\[char\]\s*\(?\s*\d+\s*\)?\s*[+,]\s*){3,}|\[char\[\]\]|-bxor\b|\bXor\b|FromBase64(?:String|Transform)|IO\.Compression\.(?:GZipStream|DeflateStream)|\bStrReverse\s*\(|\[\s*-\s*1\s*\.\.\s*-|\bunescape\s*\(|(?:\\x[0-9a-f]{2}){8,}|(?:%u[0-9a-f]{4}){4,}|-join\s*\(?\s*\(?\s*\[char/gi,
  fileless:
    /\[wmiclass\]|\.Properties\s*\[\s*['"]|\.Properties_\s*[.(]|\.Properties\.Item\s*\(|Get-ItemProperty(?:Value)?\s[^\r\n]{0,300}\bHK(?:LM|CU|EY_LOCAL_MACHINE|EY_CURRENT_USER)|\bRegRead\s*\(|\.(?:GetStringValue|GetBinaryValue)\b|\[Microsoft\.Win32\.Registry\]/gi,
  processStart: /WScript\.Shell|Shell\.Application|\.ShellExecute\b|\.Run\b(?=\s*[("'\w])|Win32_Process\b[^\r\n]{0,80}\bCreate\b|Start-Process\b/gi,
  base64Blob: /[A-Za-z0-9+/]{200,}={0,2}/g,
};

// ---- the pieces of a subscription the rules read ------------------------------------------------------------

interface Texts {
  /** Command line / script / other payload text of the consumer, labelled. */
  payloads: Array<{ label: string; text: string }>;
  script: string | null;
  decoded: DecodedPayload[];
  /** Encoded-command arguments that do not decode (only read when none decodes). */
  undecoded: UndecodedCommand[];
}

function str(v: unknown): string | null {
  const s = strOf(v);
  return s === null || s === '' ? null : s;
}

/**
 * What the consumer would run, labelled. For a class other than the five standard ones every string property
 * counts; when the evidence gives none (a consumer known only from the PowerShell that created it), the text of
 * that PowerShell (its records' meta) is read instead, so the payload arguments written there are still checked.
 */
function payloadTexts(cls: string | null, consumer: SubscriptionObject | null, observations: readonly Observation[]): Array<{ label: string; text: string }> {
  if (!consumer) return [];
  const v = consumer.values;
  const out: Array<{ label: string; text: string }> = [];
  const add = (prop: string): void => {
    const t = str(v[prop]);
    if (t) out.push({ label: prop, text: t });
  };
  // a standard class: the properties its table entry names (NTEventLog and SMTP: none, they run nothing)
  const facts = consumerClassFacts(cls);
  if (facts) facts.scannedProperties.forEach(add);
  else {
    for (const k of customConsumerProperties(v)) {
      const val = v[k];
      if (typeof val === 'string' && val !== '') out.push({ label: k, text: val });
    }
    if (out.length === 0)
      for (const o of observations) {
        const text = o.meta['text'];
        if (o.source === 'powershell' && o.part === 'consumer' && typeof text === 'string' && text !== '') out.push({ label: `PowerShell ${String(o.meta['technique'] ?? '')} text`.replace(/\s+/g, ' '), text });
      }
  }
  // A source that could not map a logged destination to a property leaves it under its log name.
  if (out.length === 0) add('Destination');
  return out;
}

function texts(cls: string | null, consumer: SubscriptionObject | null, observations: readonly Observation[]): Texts {
  const payloads = payloadTexts(cls, consumer, observations);
  const decoded = payloads.flatMap((p) => decodePayloads(p.text));
  const undecoded = decoded.length ? [] : payloads.flatMap((p) => undecodedCommands(p.text));
  const isScript = (cls ?? '').toLowerCase() === 'activescripteventconsumer';
  const script = isScript ? str(consumer?.values['ScriptText']) ?? str(consumer?.values['Destination']) : null;
  return { payloads, script, decoded, undecoded };
}

/** Payload texts plus decoded texts, labelled, for rules that look at everything the consumer would run. */
function allTexts(t: Texts): Array<{ label: string; text: string }> {
  return [...t.payloads, ...t.decoded.map((d, i) => ({ label: `decoded payload ${i + 1}`, text: d.text }))];
}

/** What the consumer runs, in one line. */
function summaryOf(cls: string | null, consumer: SubscriptionObject | null, binding: SubscriptionObject | null): string {
  const v = consumer?.values ?? {};
  const c = (cls ?? '').toLowerCase();
  const first = (s: string): string => s.split(/\r?\n/).find((l) => l.trim() !== '') ?? s;
  if (c === 'commandlineeventconsumer') {
    const cmd = str(v['CommandLineTemplate']) ?? str(v['ExecutablePath']) ?? str(v['Destination']);
    if (cmd) return oneLine(cmd);
  } else if (c === 'activescripteventconsumer') {
    const script = str(v['ScriptText']) ?? str(v['Destination']);
    const engine = str(v['ScriptingEngine']);
    if (script) return oneLine(`${engine ? `${engine}: ` : ''}${first(script)}`);
    const file = str(v['ScriptFileName']);
    if (file) return oneLine(`${engine ? `${engine}: ` : ''}${file}`);
  } else if (c === 'logfileeventconsumer') {
    const f = str(v['Filename']);
    if (f) return oneLine(`log file ${f}${str(v['Text']) ? ` ← ${first(str(v['Text'])!)}` : ''}`);
  } else if (c === 'nteventlogeventconsumer') {
    const s = str(v['SourceName']);
    if (s) return oneLine(`event log source "${s}" (EventID ${strOf(v['EventID']) ?? '0'}, EventType ${strOf(v['EventType']) ?? '?'})`);
  } else if (c === 'smtpeventconsumer') {
    const to = str(v['ToLine']);
    if (to) return oneLine(`mail to ${to}${str(v['SMTPServer']) ? ` via ${str(v['SMTPServer'])}` : ''}`);
  } else if (consumer) {
    const k = customConsumerProperties(v).find((p) => typeof v[p] === 'string' && v[p] !== '');
    if (k !== undefined) return oneLine(`${cls ?? 'consumer'}: ${k} = ${first(String(v[k]))}`);
  }
  const dest = str(v['Destination']);
  if (dest) return oneLine(first(dest));
  if (consumer) return oneLine(`${cls ?? 'consumer'} ${consumer.name ?? ''} (payload unknown)`);
  const ref = str(binding?.values['Consumer']);
  return ref ? oneLine(`${ref} (consumer not found)`) : '(no consumer)';
}

// ---- name similarity ----------------------------------------------------------------------------------------

/** Letters only, lower case: `SCM Event8 Log Consumer` → `scmeventlogconsumer`. */
function skeleton(name: string): string {
  return name.toLowerCase().replace(/[^a-z]/g, '');
}

function levenshtein(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
      cur.push(v);
      if (v < best) best = v;
    }
    if (best > max) return max + 1;
    prev = cur;
  }
  return prev[b.length]!;
}

/**
 * Is `name` an imitation of `known`? Same letters once digits, spaces and punctuation are dropped
 * (`SCM Event8 Log Filter2`), or — for names of 12 letters or more — at most two letters different
 * (`SCM Events Log Consumer`, `DSM Event Log Filter`). Short names (`BotFilter` vs `BVTFilter`) only count on
 * the first test.
 */
function imitates(name: string, known: string): boolean {
  const a = skeleton(name);
  const b = skeleton(known);
  if (b.length < 6 || a.length === 0) return false;
  if (a === b) return true;
  return b.length >= 12 && levenshtein(a, b, 2) <= 2;
}

// ---- evaluation ---------------------------------------------------------------------------------------------

/** Judge one subscription: the rules' reasons, decoded payloads, score, severity, summary, allow-list verdict. */
export function evaluate(input: JoinedSubscription, allowlists: Allowlist[]): Verdict {
  const reasons: Reason[] = [];
  const fire = (id: string, evidence: string, attack?: string[]): void => {
    const rule = RULE_BY_ID.get(id);
    if (!rule) throw new Error(`unknown rule ${id}`);
    if (reasons.some((r) => r.id === id)) return;
    reasons.push({ id, title: rule.title, attack: attack ?? [...rule.attack], evidence: oneLine(evidence, 600), score: rule.score });
  };

  const { filter, consumer, binding } = input;
  const cls = consumerClassOf(consumer, binding, input.consumerChain);
  const t = texts(cls, consumer, input.observations);
  const everything = allTexts(t);
  const allowlisted = matchAllowlists(input, allowlists);

  // -- consumer kind
  const clsLow = (cls ?? '').toLowerCase();
  if (cls && consumerClassFacts(cls)?.executes) fire('consumer-exec', `${cls}${consumer?.name ? ` "${consumer.name}"` : ''}`);
  if (clsLow === 'activescripteventconsumer') {
    const engine = str(consumer?.values['ScriptingEngine']);
    const attack = /vb/i.test(engine ?? '') ? ['T1059.005'] : /j(ava)?script/i.test(engine ?? '') ? ['T1059.007'] : ['T1059.005', 'T1059.007'];
    fire('consumer-activescript', `ScriptingEngine ${engine ?? '(not recorded)'}`, attack);
  }
  if (cls && !isStandardConsumerClass(cls)) {
    const chain = input.consumerChain && input.consumerChain.length > 0 ? input.consumerChain.join(' → ') : cls;
    fire('consumer-custom-class', `consumer class ${chain}`);
  }
  if (clsLow === 'logfileeventconsumer') {
    const f = str(consumer?.values['Filename']) ?? '';
    if (/\.(?:bat|cmd|ps1|psm1|vbs|vbe|js|jse|wsf|wsh|hta|exe|dll|scr|lnk|com|pif|sct)\s*$/i.test(f) || /\\Start Menu\\Programs\\Startup\\/i.test(f)) {
      fire('consumer-logfile-script', `Filename ${f}`, /\\Startup\\/i.test(f) ? ['T1546.003', 'T1547.001'] : ['T1546.003']);
    }
  }

  // -- payload (command line, script, custom-class strings, decoded payloads)
  const onAll = (id: string, re: RegExp, filterHit?: (h: Hit) => boolean): void => {
    for (const { label, text } of everything) {
      const hs = hits(re, text).filter(filterHit ?? (() => true));
      if (hs.length > 0) {
        fire(id, describe(hs, label));
        return;
      }
    }
  };
  onAll('payload-powershell', RE.powershell);
  if (t.decoded.length > 0) {
    const d = t.decoded[0]!;
    const more = t.decoded.length > 1 ? ` (+${t.decoded.length - 1} more${t.decoded.some((x) => x.depth > 1) ? ', nested' : ''})` : '';
    fire('payload-encoded-command', `${d.via} ${d.encoded.slice(0, 24)}${d.encoded.length > 24 ? '…' : ''} decodes to: ${oneLine(d.text, 300)}${more}`);
  } else if (t.undecoded.length > 0) {
    // an encoded command is there even when what it runs cannot be shown
    const u = t.undecoded[0]!;
    fire('payload-encoded-command', `${u.via} ${oneLine(u.encoded, 24)} does not decode (${u.why})${t.undecoded.length > 1 ? ` (+${t.undecoded.length - 1} more)` : ''}`);
  }
  onAll('payload-stealth-flags', RE.stealth);
  onAll('payload-download', RE.download);
  for (const { label, text } of everything) {
    const hs = hits(RE.lolbin, text, 20);
    if (hs.length > 0) {
      const names = [...new Set(hs.map((h) => h.what.toLowerCase().replace(/\.exe$/, '')))];
      fire('payload-lolbin', describe(hs, label), [...new Set(names.map((n) => LOLBIN_ATTACK[n]!).filter(Boolean))]);
      break;
    }
  }
  onAll('payload-user-writable-path', RE.userPath);
  for (const { label, text } of everything) {
    const urls = hits(RE.url, text);
    const ips = hits(RE.ipv4, text).filter((h) => !/^(?:127\.|0\.0\.0\.0$|255\.255\.255\.255$)/.test(h.what));
    const uncs = hits(RE.unc, text);
    const all = [...urls, ...ips, ...uncs];
    if (all.length > 0) {
      fire('payload-network-indicator', `${[...new Set(all.map((h) => h.what))].slice(0, 5).map((w) => `"${escapeControl(w)}"`).join(', ')} in ${label}`);
      break;
    }
  }
  onAll('payload-dynamic-code', RE.dynamic);
  {
    const decodedBlobs = new Set(t.decoded.map((d) => d.encoded.replace(/=+$/, '')));
    let done = false;
    for (const { label, text } of everything) {
      const hs = hits(RE.obfuscation, text);
      const blobs = hits(RE.base64Blob, text).filter((h) => ![...decodedBlobs].some((b) => b.startsWith(h.what.replace(/=+$/, '').slice(0, 64))));
      if (hs.length > 0) {
        fire('payload-obfuscation', describe(hs, label));
        done = true;
      } else if (blobs.length > 0) {
        fire('payload-obfuscation', `base64-like text of ${blobs[0]!.what.length} characters in ${label}: ${blobs[0]!.what.slice(0, 40)}…`);
        done = true;
      }
      if (done) break;
    }
  }
  onAll('payload-fileless-storage', RE.fileless);
  if (t.script) {
    const hs = hits(RE.processStart, t.script);
    if (hs.length > 0) fire('script-process-start', describe(hs, 'ScriptText'));
  }
  for (const d of t.decoded) {
    const hs = hits(RE.processStart, d.text).filter((h) => /Start-Process|Win32_Process/i.test(h.what));
    if (hs.length > 0) fire('script-process-start', describe(hs, 'decoded payload'));
  }

  // -- stored payloads (static classes, WannaMine): objects that are not subscription parts
  for (const o of input.observations) {
    // Repository objects only: a long PowerShell script block in a log is not a stored payload.
    if (o.part !== null || (o.source !== 'cim' && o.source !== 'cim-residue') || !o.className) continue;
    const big = Object.entries(o.properties).find(([, v]) => typeof v === 'string' && v.length >= STATIC_PAYLOAD_CHARS);
    if (big) {
      fire('static-class-payload', `${o.namespace ? `${o.namespace}:` : ''}${o.className ?? '(class)'}${o.name ? ` "${o.name}"` : ''} property ${big[0]} holds ${(big[1] as string).length} characters: ${oneLine(big[1] as string, 60)}`);
      break;
    }
  }

  // -- trigger (filter query)
  const query = str(filter?.values['Query']);
  if (query) {
    const q = (re: RegExp): Hit[] => hits(re, query, 1);
    const label = `filter query "${oneLine(query, 300)}"`;
    const on = (id: string, re: RegExp): void => {
      const h = q(re);
      if (h.length > 0) fire(id, `${h[0]!.what} in ${label}`);
    };
    on('trigger-uptime', /Win32_PerfFormattedData_PerfOS_System|Win32_PerfRawData_PerfOS_System|SystemUpTime/gi);
    on('trigger-schedule', /Win32_LocalTime|Win32_UTCTime|Win32_CurrentTime/gi);
    on('trigger-timer', /__TimerEvent|__IntervalTimerInstruction|__AbsoluteTimerInstruction|__TimerInstruction/gi);
    on('trigger-logon', /Win32_LoggedOnUser|Win32_LogonSession/gi);
    on('trigger-process-start', /Win32_ProcessStartTrace|Win32_ProcessTrace|ISA\s+["']Win32_Process["']/gi);
    if (/Win32_NTLogEvent/i.test(query)) {
      if (/EventCode\s*=\s*["']?4625\b|EventIdentifier\s*=\s*["']?4625\b/i.test(query)) on('trigger-failed-logon', /(?:EventCode|EventIdentifier)\s*=\s*["']?4625["']?/gi);
      else on('trigger-eventlog', /Win32_NTLogEvent/gi);
    }
  }

  // -- namespace
  if (input.namespace) {
    const kind = namespaceKind(input.namespace);
    if (kind === 'default') fire('namespace-default', `namespace ${input.namespace}`);
    else if (kind === 'windows') fire('namespace-nonstandard', `namespace ${input.namespace}`);
    else if (kind === 'custom') fire('namespace-custom', `namespace ${input.namespace}`);
  }

  // -- names
  const names = partNames(filter, consumer, binding);
  // Names with an allowlist entry (built-in or loaded) can be checked for reuse with other content; the
  // other known-good names (no exact values published) only for imitation.
  const withEntry = allowlistNames([DEFAULT_ALLOWLIST, ...allowlists]).map((n) => n.toLowerCase());
  const matchesKnown = allowlisted !== null || matchAllowlists(input, [DEFAULT_ALLOWLIST]) !== null;
  const known = [...new Set([...KNOWN_GOOD_NAMES, ...allowlistNames(allowlists)])];
  const look: string[] = [];
  const task: string[] = [];
  for (const [part, n] of [['filter', names.filter], ['consumer', names.consumer]] as const) {
    if (!n) continue;
    for (const k of known) {
      if (n.toLowerCase() === k.toLowerCase()) {
        if (!matchesKnown && withEntry.includes(k.toLowerCase())) look.push(`${part} "${n}" has the name of known-good "${k}" but does not match its allowlist entry (query, class or properties differ)`);
      } else if (imitates(n, k)) look.push(`${part} "${n}" imitates known-good "${k}"`);
    }
    if (WINDOWS_TASK_NAMES.some((w) => skeleton(w) === skeleton(n))) task.push(`${part} "${n}"`);
  }
  if (look.length > 0) fire('name-lookalike', look.join('; '));
  if (task.length > 0) fire('name-windows-task', `${task.join(', ')} copies a Windows scheduled task name`);

  // -- creator
  const creators = new Set<string>();
  for (const part of [filter, consumer, binding]) {
    const sid = sidText(strOf(part?.values['CreatorSID']));
    if (sid) creators.add(sid);
  }
  for (const o of input.observations) if (o.user && (o.action === 'created' || o.action === 'modified') && o.part !== null) creators.add(o.user);
  // a SID its PowerShell records pair with an account name is that account, named once: `OFFSEC\admmig (S-1-5-…)`
  const named = sidAccountNames(input.observations);
  const nameOf = (u: string): string | null => named.get(`${input.host.toLowerCase()}|${u.toLowerCase()}`) ?? null;
  const resolved = new Set([...creators].map(nameOf).filter((n): n is string => n !== null).map((n) => n.toLowerCase()));
  const users = [...creators]
    .filter((u) => !isSystemPrincipal(u) && !(nameOf(u) === null && resolved.has(u.toLowerCase())))
    .map((u) => (nameOf(u) !== null ? `${nameOf(u)} (${u})` : u));
  if (users.length > 0) fire('creator-user-account', `created by ${users.slice(0, 5).join(', ')}`);

  // -- filter + consumer + binding created close together
  // (the earliest creation of each part, quoted as the evidence gave it: the model's times are already in one form)
  const createdAt: Partial<Record<'filter' | 'consumer' | 'binding', { ms: number; time: string }>> = {};
  for (const o of input.observations) {
    if (!o.part || !o.time || o.action !== 'created') continue;
    // a time the model kept as text is no instant (Date.parse would read it in the machine's zone)
    const ms = parseIsoTime(o.time);
    if (ms === null) continue;
    const cur = createdAt[o.part];
    if (cur === undefined || ms < cur.ms) createdAt[o.part] = { ms, time: o.time };
  }
  if (createdAt.filter !== undefined && createdAt.consumer !== undefined && createdAt.binding !== undefined) {
    const times = [createdAt.filter.ms, createdAt.consumer.ms, createdAt.binding.ms];
    const spread = (Math.max(...times) - Math.min(...times)) / 1000;
    if (spread <= TOGETHER_SECONDS) fire('created-together', `filter ${createdAt.filter.time}, consumer ${createdAt.consumer.time}, binding ${createdAt.binding.time} (${spread.toFixed(1)} s apart)`);
  }

  // -- what it ran: only a logged process start says so (no record never says it did not run)
  const runs = runsOf(input.observations);
  if (runs) {
    const r0 = runs.records[0]!;
    const where = `${r0.recordId !== null ? `record ${r0.recordId} of ` : ''}${baseName(r0.file)}`;
    const span = runs.count > 1 || runs.records.length > 1 ? `; ${ranText(runs)}` : '';
    const verb = r0.kind === 'WMI-Activity 5857' ? 'loaded as the script consumer host' : 'started';
    // scrcons.exe runs any script consumer: it is this one's because this is the only script consumer the evidence
    // shows on the host, which only the host's repository proves there is no other
    const scriptHost = verb !== 'started' || /(^|\\)scrcons\.exe$/i.test(r0.image ?? '');
    const basis = scriptHost && !input.observations.some((o) => o.source === 'cim') ? '; tied as the one script consumer this evidence shows on the host (no repository read for it: another one made before the logs begin would not show)' : '';
    fire('ran', `${baseName(r0.image ?? 'process')} ${verb} ${r0.time ?? '(no time)'} (${where})${r0.commandLine ? `: ${r0.commandLine}` : ''}${span}${basis}`);
  }

  // -- orphans
  if (input.status === 'logged-only' && !binding && (filter || consumer)) fire('binding-not-observed', `${filter ? 'filter' : ''}${filter && consumer ? ' and ' : ''}${consumer ? 'consumer' : ''} logged, no binding of ${filter && consumer ? 'them' : 'it'} in the evidence`);
  if (input.status === 'orphan') fire('orphan', `${filter ? 'filter' : ''}${filter && consumer ? ' and ' : ''}${consumer ? 'consumer' : ''}${!filter && !consumer ? 'binding' : ''} without ${binding ? 'its filter or consumer' : 'a binding'}`);

  const order = new Map(RULES.map((r, i) => [r.id, i]));
  reasons.sort((a, b) => order.get(a.id)! - order.get(b.id)!);
  const { score, severity } = scoreOf(reasons, { quiet: allowlisted !== null });
  return {
    reasons,
    decoded: t.decoded.map((d) => d.text),
    score,
    severity,
    summary: summaryOf(cls, consumer, binding),
    allowlisted,
  };
}

