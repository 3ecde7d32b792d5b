/**
 * A scan result whose every evidence-borne string is hostile, for the HTML report's tests: markup that would
 * run script if it were ever parsed as HTML (`<img onerror>`, `</script><script>`, `<svg onload>`, comment
 * openers), `javascript:` URLs, quotes, line/paragraph separators, bidi overrides, NUL, template syntax, and
 * property names that are not WMI names. Anything that executes sets `window.__pwned`.
 */
import type { Finding, JoinedSubscription, Observation, ScanResult } from '../../src/model/types.js';

export const HOSTILE = {
  img: '<img src=x onerror=window.__pwned=1>',
  script: '</script><script>window.__pwned=1</script>',
  svg: '"\'><svg onload=window.__pwned=1>',
  js: 'javascript:window.__pwned=1',
  comment: '<!--<script>window.__pwned=1</script>-->',
  separators: 'line\u2028sep\u2029para',
  bidi: 'invoice\u202Efdp.exe',
  template: '{{constructor.constructor("window.__pwned=1")()}}',
  nul: 'a\u0000b',
} as const;

const HOST = `WKS-01${HOSTILE.img}`;
const HOST2 = `WKS-02${HOSTILE.script}`;
const NS = `ROOT\\subscription`;
const CUSTOM_NS = `ROOT\\${HOSTILE.svg}`;
const FILE = `C:\\cases\\${HOSTILE.script}\\Sysmon.evtx`;
export const FILTER_NAME = `Updater ${HOSTILE.img}`;
export const CONSUMER_NAME = `Consumer ${HOSTILE.script} ${HOSTILE.separators}`;
export const QUERY = `SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA "Win32_PerfFormattedData_PerfOS_System" -- ${HOSTILE.comment}`;
export const COMMAND = `cmd.exe /c "echo ${HOSTILE.svg} & ${HOSTILE.js}" \\\\server\\share ${HOSTILE.bidi} ${HOSTILE.nul} \u{1F600} zero\u200bwidth`;
export const SCRIPT = `Set s = CreateObject("WScript.Shell")\r\n' ${HOSTILE.script}\r\ns.Run "${HOSTILE.js}"\r\n\t${HOSTILE.template} ${HOSTILE.separators}\r\n`;

function obs(o: Partial<Observation> & Pick<Observation, 'host' | 'part' | 'action'>): Observation {
  return { source: 'sysmon', namespace: NS, className: null, name: null, time: null, user: `CORP\\${HOSTILE.img}`, file: FILE, location: `record 7 ${HOSTILE.svg}`, properties: {}, meta: {}, ...o };
}

function cmdFinding(host: string, id: string): Finding {
  return {
    id,
    host,
    namespace: NS,
    status: 'active',
    severity: 'critical',
    score: 90,
    filter: { namespace: NS, className: '__EventFilter', name: FILTER_NAME, values: { Name: FILTER_NAME, Query: QUERY, QueryLanguage: 'WQL', EventNamespace: 'root\\cimv2', CreatorSID: 'S-1-5-21-1-2-3-1001' } },
    consumer: { namespace: NS, className: 'CommandLineEventConsumer', name: CONSUMER_NAME, values: { Name: CONSUMER_NAME, CommandLineTemplate: COMMAND, WorkingDirectory: HOSTILE.comment, KillTimeout: 0, RunInteractively: false } },
    binding: {
      namespace: NS,
      className: '__FilterToConsumerBinding',
      name: null,
      values: { Filter: FILTER_NAME, Consumer: CONSUMER_NAME, ConsumerClass: 'CommandLineEventConsumer' },
    },
    summary: COMMAND,
    reasons: [
      { id: 'consumer-exec', title: `Consumer runs a command line ${HOSTILE.img}`, attack: ['T1546.003', HOSTILE.js, `T1546.003"><img src=x onerror=window.__pwned=1>`, 'T1059'], evidence: `CommandLineEventConsumer "${CONSUMER_NAME}"`, score: 25 },
      { id: `rule${HOSTILE.svg}`, title: HOSTILE.template, attack: [], evidence: HOSTILE.comment, score: 65 },
    ],
    decoded: [`IEX (New-Object Net.WebClient).DownloadString('${HOSTILE.js}') ${HOSTILE.script}`],
    observations: [
      obs({ host, part: 'consumer', action: 'created', className: 'CommandLineEventConsumer', name: CONSUMER_NAME, time: '2024-05-01T10:00:00.1234567Z', properties: { CommandLineTemplate: COMMAND, [`<b onmouseover=window.__pwned=1>`]: HOSTILE.img }, meta: { [`<i onmouseover=window.__pwned=1>`]: HOSTILE.img } }),
      obs({ host, part: 'filter', action: 'created', className: '__EventFilter', name: FILTER_NAME, time: '2024-05-01T10:00:01Z', properties: { Query: QUERY } }),
      obs({ host, part: 'binding', action: 'modified', className: '__FilterToConsumerBinding', time: '2024-05-01T10:00:02Z', properties: { Filter: FILTER_NAME } }),
      obs({ host, part: 'consumer', action: 'deleted', className: 'CommandLineEventConsumer', name: CONSUMER_NAME, time: '2024-05-02T08:00:00Z' }),
      obs({ host, part: 'consumer', action: 'created', time: HOSTILE.img }),
      // a zeroed FILETIME and an impossible date: not drawn (they would flatten the timeline or invent a time)
      obs({ host, part: 'filter', action: 'created', className: '__EventFilter', name: FILTER_NAME, time: '1601-01-01T00:00:00.0000000Z' }),
      obs({ host, part: 'filter', action: 'modified', className: '__EventFilter', name: FILTER_NAME, time: '2024-13-45T99:99:99Z' }),
    ],
    firstSeen: '2024-05-01T10:00:00.1234567Z',
    lastSeen: '2024-05-02T08:00:00Z',
    who: [`CORP\\${HOSTILE.img}`],
    allowlisted: null,
    coverage: [
      { source: `Sysmon ${HOSTILE.img}`, saw: true, reason: null },
      { source: 'WMI repository', saw: false, reason: `no repository supplied ${HOSTILE.script}` },
    ],
    stack: { key: `k${HOSTILE.img}`, payloadHash: `h${HOSTILE.script}`, hosts: 2, fleetHosts: 2, rare: false, common: false },
  };
}

/** An ActiveScript consumer in a custom namespace whose name is markup. */
function scriptFinding(): Finding {
  return {
    id: `script-${HOSTILE.script}`,
    host: HOST2,
    namespace: CUSTOM_NS,
    status: 'active',
    severity: 'high',
    score: 60,
    filter: null,
    consumer: { namespace: CUSTOM_NS, className: 'ActiveScriptEventConsumer', name: HOSTILE.svg, values: { Name: HOSTILE.svg, ScriptingEngine: 'VBScript', ScriptText: SCRIPT } },
    binding: null,
    summary: SCRIPT,
    reasons: [],
    decoded: [],
    observations: [obs({ host: HOST2, source: 'collector', part: 'consumer', action: 'present', namespace: CUSTOM_NS, className: 'ActiveScriptEventConsumer', name: HOSTILE.svg, file: `${HOSTILE.comment}.json` })],
    firstSeen: null,
    lastSeen: null,
    who: [],
    allowlisted: null,
    coverage: [],
    stack: { key: 'k2', payloadHash: 'h2', hosts: 1, fleetHosts: 2, rare: false, common: false },
  };
}

/** A custom consumer class whose property name no allowlist can hold. */
function customFinding(): Finding {
  return {
    id: 'custom-class',
    host: HOST2,
    namespace: NS,
    status: 'orphan',
    severity: 'medium',
    score: 40,
    filter: null,
    consumer: { namespace: NS, className: 'EvilConsumer', name: 'c1', values: { Name: 'c1', [`x${HOSTILE.img}`]: 'payload' } },
    binding: null,
    summary: '',
    reasons: [],
    decoded: [],
    observations: [],
    firstSeen: null,
    lastSeen: null,
    who: [],
    allowlisted: null,
    coverage: [],
  };
}

export function hostileResult(): ScanResult {
  const a = cmdFinding(HOST, `id-${HOSTILE.img}`);
  const b = cmdFinding(HOST2, `id-2-${HOSTILE.svg}`);
  return {
    tool: { name: 'wmiscope', version: `0.1.0${HOSTILE.script}` },
    scannedAt: `2024-05-03T09:00:00.000Z${HOSTILE.img}`,
    hosts: [HOST, HOST2],
    evidence: [
      { file: FILE, kind: 'evtx', host: HOST, detail: `Microsoft-Windows-Sysmon/Operational ${HOSTILE.comment}`, records: 12, first: '2024-05-01T10:00:00Z', last: HOSTILE.img },
      { file: `${HOSTILE.comment}.json`, kind: 'collector', host: HOST2, detail: HOSTILE.js, records: 3, first: null, last: null },
    ],
    notes: [
      { file: FILE, level: 'warning', code: 'damaged', kind: 'chunk-header-crc', message: `[chunk-header-crc] ${HOSTILE.script}` },
      { file: `C:\\x\\${HOSTILE.svg}`, level: 'error', code: 'failed', message: HOSTILE.img },
      { file: `C:\\y\\${HOSTILE.js}`, level: 'skipped', code: 'not-evidence', message: `not evidence ${HOSTILE.separators}` },
    ],
    findings: [a, b, scriptFinding(), customFinding()],
    fleet: {
      hosts: 2,
      minHostsForRanking: 10,
      stacks: [
        { key: `k${HOSTILE.img}`, namespace: NS, className: 'CommandLineEventConsumer', name: CONSUMER_NAME, payloadHash: `h${HOSTILE.script}`, summary: COMMAND, severity: 'critical', hosts: [HOST, HOST2], count: 2, common: false, rare: false },
      ],
      perHost: [
        { host: HOST, findings: 1, worst: 'critical', rare: 0, allowlisted: 0 },
        { host: HOST2, findings: 3, worst: 'critical', rare: 0, allowlisted: 0 },
      ],
    },
  };
}

/** The rule input of a finding (what the allowlist matcher compares). */
export function ruleInputOf(f: Finding): JoinedSubscription {
  return { host: f.host, namespace: f.namespace, status: f.status, filter: f.filter, consumer: f.consumer, binding: f.binding, observations: f.observations };
}
