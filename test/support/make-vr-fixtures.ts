/**
 * Writes the Velociraptor and autorunsc fixtures (test/fixtures/velociraptor, test/fixtures/autoruns) from real
 * evidence read with our own readers, in the shapes the tools emit (see src/sources/formats/velociraptor.ts and
 * autoruns.ts for the facts and their sources):
 *
 * - the SCM Event Log trio of the real Windows 10 repository `../shared/samples/cim/dissect-cim-win10` (CimRepository);
 * - the BotFilter82 → BotConsumer23 subscription of `test/fixtures/evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx`
 *   (Sysmon 19/20/21 plus the Sysmon 1 records of the WMIC.exe processes that created and deleted it);
 * - the WMIGhost consumer of `../shared/samples/evtx/EVTX-ATTACK-SAMPLES/wmighost_sysmon_20_21_1.evtx`;
 * - the WMI-Activity 5858 record of `../shared/samples/evtx/sigma/d4f1a2b3-….evtx`.
 *
 * What the sources do not hold is constructed and listed in the fixtures' NOTICE.md (hunt client ids, the
 * ETW correlation ids, IEUser's SID, Autoruns signer text, …). Run after a build:
 * `node dist/test/support/make-vr-fixtures.js [outRoot]` (default: the repo's test/fixtures). Outputs that
 * need `../shared/samples` are skipped when it is absent.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EvtxReader } from '../../src/evtx/index.js';
import type { EvtxJsonObject, EvtxValue } from '../../src/evtx/index.js';
import { CimRepository } from '../../src/cim/index.js';
import type { CimValue } from '../../src/cim/index.js';
import { repoRoot, samplesDir } from './samples.js';

type J = EvtxValue;
type O = EvtxJsonObject;

export const SYSMON_BOT = 'test/fixtures/evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx';
export const WMIGHOST = 'evtx/EVTX-ATTACK-SAMPLES/wmighost_sysmon_20_21_1.evtx';
export const SIGMA_5858 = 'evtx/sigma/d4f1a2b3-7c8e-4d5f-b6a9-1e0c2d3f4e5b.evtx';
export const CIM_WIN10 = 'cim/dissect-cim-win10';

/** Constructed values (not in the sources), listed in NOTICE.md. */
export const CONSTRUCTED = {
  /** IEUser's SID on IEWIN7 is in no sample; a synthetic local-user SID stands in. */
  ieuserSid: 'S-1-5-21-1-2-3-1000',
  clientIewin7: 'C.1e0f3a5b7c9d2e4f',
  clientScm: 'C.5f2c9a7e3b1d4e60',
  flowIewin7: 'F.CTQ7N2V8HQKJE',
  flowScm: 'F.CTQ7N2V8HQKJE',
  sysmonPath: 'C:\\Windows\\System32\\winevt\\Logs\\Microsoft-Windows-Sysmon%4Operational.evtx',
  wmiPath: 'C:\\Windows\\System32\\winevt\\Logs\\Microsoft-Windows-WMI-Activity%4Operational.evtx',
  signer: '(Verified) Microsoft Windows',
};

// ---- reading the sources ------------------------------------------------------------------------------------

function records(file: string): EvtxJsonObject[] {
  const r = EvtxReader.open(file);
  try {
    return [...r.records()].map((x) => x.toJSON());
  } finally {
    r.close();
  }
}

const obj = (v: J | undefined): O => (v && typeof v === 'object' && !Array.isArray(v) ? (v as O) : {});
const sysOf = (rec: O): O => obj(obj(rec['Event'])['System']);
const dataOf = (rec: O): O => obj(obj(rec['Event'])['EventData']);
const idOf = (rec: O): number => Number(sysOf(rec)['EventID']);
/** Sysmon's quoting removed (` "root\\cimv2"` → `root\cimv2`). */
const unq = (v: J | undefined): string => {
  const t = String(v ?? '').replace(/^ +/, '');
  return t.startsWith('"') && t.endsWith('"') ? t.slice(1, -1).replace(/\\(\\|")/g, '$1') : t;
};

/** `CREATE Name="x", Prop="y"` arguments of a WMIC command line. */
function wmicArgs(cmd: string): Record<string, string> {
  const out: Record<string, string> = {};
  const re = /(\w+)="((?:[^"\\]|\\.)*)"/g;
  let m: RegExpExecArray | null;
  const tail = cmd.slice(cmd.search(/\bCREATE\b/i));
  while ((m = re.exec(tail))) out[m[1]!] = m[2]!;
  return out;
}

function sidBytes(sid: string): number[] {
  const p = sid.split('-').slice(1).map(Number);
  const [rev, auth, ...subs] = p as [number, number, ...number[]];
  const b = [rev, subs.length, 0, 0, 0, 0, 0, auth];
  for (const s of subs) b.push(s & 0xff, (s >>> 8) & 0xff, (s >>> 16) & 0xff, (s >>> 24) & 0xff);
  return b;
}

/** Go's RFC3339Nano of a time: trailing zeros of the fraction dropped. */
function goTime(iso: string): string {
  return iso.replace(/(\.\d*?)0+Z$/, '$1Z').replace(/\.Z$/, 'Z');
}

const sysmonUtc = (t: string): string => `${t.replace(' ', 'T')}Z`;

// ---- the shapes ---------------------------------------------------------------------------------------------------

/** CommandLineEventConsumer properties and defaults (Microsoft's class documentation), sorted as SWbem lists them. */
const COMMAND_LINE_PROPS: Record<string, J> = {
  CreatorSID: null, MachineName: null, MaximumQueueSize: null, CommandLineTemplate: null, CreateNewConsole: false, CreateNewProcessGroup: true,
  CreateSeparateWowVdm: false, CreateSharedWowVdm: false, DesktopName: null, ExecutablePath: null, FillAttribute: null, FillAttributes: null,
  ForceOffFeedback: false, ForceOnFeedback: false, KillTimeout: 0, Name: null, Priority: 32, RunInteractively: false, ShowWindowCommand: null,
  UseDefaultErrorMode: false, WindowTitle: null, WorkingDirectory: null, XCoordinate: null, XNumCharacters: null, XSize: null, YCoordinate: null,
  YNumCharacters: null, YSize: null,
};
const FILTER_PROPS: Record<string, J> = { CreatorSID: null, EventAccess: null, EventNamespace: null, Name: null, Query: null, QueryLanguage: null };

function sorted(o: Record<string, J>): O {
  const out: O = {};
  for (const k of Object.keys(o).sort((a, b) => a.toLowerCase().localeCompare(b.toLowerCase()))) out[k] = o[k]!;
  return out;
}

function cimJson(v: CimValue): J {
  if (typeof v === 'bigint') return Number(v);
  if (Array.isArray(v)) return v.map((x) => cimJson(x as CimValue));
  if (v !== null && typeof v === 'object') return JSON.parse(JSON.stringify(v, (_k, x: unknown) => (typeof x === 'bigint' ? Number(x) : x))) as J;
  return v as J;
}

/** crate-shaped JSON → Velocidex/evtx shape: attributes flattened into keys, `#text` → `Value`, xmlns dropped. */
function velocidex(v: J): J {
  if (Array.isArray(v)) return v.map(velocidex);
  if (v === null || typeof v !== 'object') return v;
  const o = v as O;
  const out: O = {};
  for (const [k, x] of Object.entries(o)) {
    if (k === '#attributes') {
      for (const [a, y] of Object.entries(obj(x))) if (a !== 'xmlns') out[a] = y;
    } else if (k === '#text') out['Value'] = x;
    else if (x !== null) out[k] = velocidex(x);
  }
  return out;
}

/** EventData as parse_evtx leaves it: `{Name: Value}`, or `{Data: [{Name, Value}]}` when a value is empty. */
function velocidexEventData(ed: O): O {
  if (Object.values(ed).some((v) => v === null)) return { Data: Object.entries(ed).map(([k, v]): O => (v === null ? { Name: k } : { Name: k, Value: velocidex(v) })) };
  return velocidex(ed) as O;
}

function epoch(iso: string): number {
  const m = /^(.*?)(?:\.(\d+))?Z$/.exec(iso)!;
  return Number(`${Date.parse(`${m[1]}Z`) / 1000}.${m[2] ?? '0'}`);
}

/** A parse_evtx row: System (Velocidex shape) + EventData/UserData + Message. */
function parseEvtxRow(rec: O): O {
  const ev = obj(rec['Event']);
  const sys = velocidex(ev['System'] ?? null) as O;
  sys['EventID'] = { Value: idOf(rec) };
  sys['TimeCreated'] = { SystemTime: epoch(String(obj(obj(sysOf(rec)['TimeCreated'])['#attributes'])['SystemTime'])) };
  if (typeof sys['Keywords'] === 'string') sys['Keywords'] = Number(BigInt(sys['Keywords'] as string));
  const row: O = { System: sys };
  if (ev['EventData'] !== undefined) row['EventData'] = velocidexEventData(obj(ev['EventData']));
  if (ev['UserData'] !== undefined) row['UserData'] = velocidex(ev['UserData']!);
  row['Message'] = '';
  return row;
}

/** A Windows.EventLogs.Evtx row (`SELECT *, … FROM parse_evtx()`). */
function evtxArtifactRow(rec: O, osPath: string): O {
  const row = parseEvtxRow(rec);
  const t = Math.trunc(Number(obj((row['System'] as O)['TimeCreated'])['SystemTime']));
  return { ...row, TimeCreated: new Date(t * 1000).toISOString().replace('.000Z', 'Z'), Channel: sysOf(rec)['Channel']!, EventRecordID: sysOf(rec)['EventRecordID']!, EventID: idOf(rec), OSPath: osPath };
}

/** A Windows.EventLogs.EvtxHunter row. */
function hunterRow(rec: O, osPath: string): O {
  const row = parseEvtxRow(rec);
  const sys = row['System'] as O;
  const t = Math.trunc(Number(obj(sys['TimeCreated'])['SystemTime']));
  return {
    EventTime: new Date(t * 1000).toISOString().replace('.000Z', 'Z'),
    Computer: sys['Computer'] ?? null,
    Channel: sys['Channel'] ?? null,
    Provider: obj(sys['Provider'])['Name'] ?? null,
    EventID: idOf(rec),
    EventRecordID: sys['EventRecordID'] ?? null,
    UserSID: obj(sys['Security'])['UserID'] ?? null,
    Username: null,
    EventData: row['EventData'] ?? null,
    UserData: row['UserData'] ?? null,
    Message: '',
    OSPath: osPath,
  };
}

// ---- the subscriptions --------------------------------------------------------------------------------------------

interface Bot {
  host: string;
  filter: O;
  consumer: O;
  /** Sysmon 19/20/21 records, in order. */
  wmi: O[];
  /** Sysmon 1 records of the WMIC processes, by the part and operation they performed. */
  procs: Array<{ rec: O; part: 'filter' | 'consumer' | 'binding'; op: 'create' | 'delete' }>;
  cmd: O | null;
}

function botSubscription(): Bot {
  const recs = records(join(repoRoot(), SYSMON_BOT));
  const wmi = recs.filter((r) => [19, 20, 21].includes(idOf(r)));
  const procs: Bot['procs'] = [];
  let cmd: O | null = null;
  let consumerArgs: Record<string, string> = {};
  let filterArgs: Record<string, string> = {};
  for (const r of recs.filter((x) => idOf(x) === 1)) {
    const ed = dataOf(r);
    const line = String(ed['CommandLine'] ?? '');
    if (/\\cmd\.exe$/i.test(String(ed['Image'])) && /wmiprvse/i.test(String(ed['ParentImage'] ?? ''))) cmd = r;
    if (!/WMIC\.exe/i.test(String(ed['Image']))) continue;
    const part = /__FilterToConsumerBinding/.test(line) ? 'binding' : /__EventFilter/.test(line) ? 'filter' : /EventConsumer/.test(line) ? 'consumer' : null;
    if (!part) continue;
    const op = /\bDELETE\b/.test(line) ? 'delete' : 'create';
    procs.push({ rec: r, part, op });
    if (op === 'create' && part === 'consumer') consumerArgs = wmicArgs(line);
    if (op === 'create' && part === 'filter') filterArgs = wmicArgs(line);
  }
  const f19 = wmi.find((r) => idOf(r) === 19)!;
  const creator = sidBytes(CONSTRUCTED.ieuserSid);
  const filter = sorted({ ...FILTER_PROPS, CreatorSID: creator, EventNamespace: unq(dataOf(f19)['EventNamespace']), Name: unq(dataOf(f19)['Name']), Query: unq(dataOf(f19)['Query']), QueryLanguage: filterArgs['QueryLanguage'] ?? null });
  const consumer = sorted({ ...COMMAND_LINE_PROPS, CreatorSID: creator, Name: consumerArgs['Name'] ?? null, ExecutablePath: consumerArgs['ExecutablePath'] ?? null, CommandLineTemplate: consumerArgs['CommandLineTemplate'] ?? null });
  return { host: String(sysOf(f19)['Computer']), filter, consumer, wmi, procs, cmd };
}

interface Scm {
  filter: O;
  consumer: O;
}

function scmSubscription(): Scm | null {
  const dir = join(samplesDir(), CIM_WIN10);
  if (!existsSync(dir)) return null;
  const repo = CimRepository.open(dir);
  const s = repo.subscriptions();
  const b = s.bindings.find((x) => x.filter && x.consumer);
  if (!b || !b.filter || !b.consumer) return null;
  const props = (o: { values: Record<string, CimValue> }): O => {
    const out: Record<string, J> = {};
    for (const [k, v] of Object.entries(o.values)) out[k] = cimJson(v);
    return sorted(out);
  };
  return { filter: props(b.filter), consumer: props(b.consumer) };
}

// ---- the artifacts ---------------------------------------------------------------------------------------------

const permanentRow = (filter: O, consumer: O, ns = 'root/subscription'): O => ({ ConsumerDetails: consumer, FilterDetails: filter, Namespace: ns });

function etwRows(bot: Bot): O[] {
  const rows: O[] = [];
  const ns = 'root\\subscription';
  const consumerRef = `CommandLineEventConsumer.Name="${String(bot.consumer['Name'])}"`;
  const filterRef = `__EventFilter.Name="${String(bot.filter['Name'])}"`;
  const esc = (s: string): string => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"');
  let opId = 0;
  for (const w of bot.wmi) {
    const ed = dataOf(w);
    const part = idOf(w) === 19 ? 'filter' : idOf(w) === 20 ? 'consumer' : 'binding';
    const op = String(ed['Operation']) === 'Deleted' ? 'delete' : 'create';
    const proc = bot.procs.find((p) => p.part === part && p.op === op);
    const path = part === 'filter' ? filterRef : part === 'consumer' ? consumerRef : `__FilterToConsumerBinding.Consumer="${esc(consumerRef)}",Filter="${esc(filterRef)}"`;
    const pd = proc ? dataOf(proc.rec) : null;
    rows.push({
      EventTime: goTime(sysmonUtc(String(ed['UtcTime']))),
      EventId: 11,
      NamespaceName: ns,
      Operation: `Start IWbemServices::${op === 'create' ? 'PutInstance' : 'DeleteInstance'} - ${ns} : ${path}`,
      Process: pd
        ? {
            Name: String(pd['Image']).split('\\').pop()!,
            Pid: pd['ProcessId']!,
            CreateTime: goTime(sysmonUtc(String(pd['UtcTime']))),
            ImageName: pd['Image']!,
            CommandLine: pd['CommandLine']!,
            Username: pd['User']!,
            TokenIsElevated: pd['IntegrityLevel'] === 'High' || pd['IntegrityLevel'] === 'System',
          }
        : null,
      IsLocal: true,
      ClientMachine: bot.host,
      ClientMachineFQDN: bot.host,
      User: unq(ed['User']),
      CorrelationId: '{00000000-0000-0000-0000-000000000000}',
      OperationId: 100 + ++opId,
      GroupOperationId: 100 + opId,
    });
  }
  return rows;
}

const AUTORUNS_HEADER = ['Time', 'Entry Location', 'Entry', 'Enabled', 'Category', 'Profile', 'Description', 'Signer', 'Company', 'Image Path', 'Version', 'Launch String', 'MD5', 'SHA-1', 'PESHA-1', 'PESHA-256', 'SHA-256', 'IMP'];

function hashes(h: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const kv of h.split(',')) {
    const [k, v] = kv.split('=') as [string, string];
    out[k] = v;
  }
  return { MD5: out['MD5'] ?? '', 'SHA-1': out['SHA1'] ?? '', 'SHA-256': out['SHA256'] ?? '', IMP: out['IMPHASH'] ?? '' };
}

/** autorunsc rows (header names → values) for the Bot host: a non-WMI row, the WMI location row, the consumer. */
function autorunsRows(bot: Bot): Array<Record<string, string>> {
  const cmd = bot.cmd ? dataOf(bot.cmd) : {};
  const blank = Object.fromEntries(AUTORUNS_HEADER.map((h) => [h, ''])) as Record<string, string>;
  const version = String(cmd['FileVersion'] ?? '').split(' ')[0] ?? '';
  return [
    { ...blank, 'Entry Location': 'HKLM\\System\\CurrentControlSet\\Control\\Session Manager\\BootExecute', Category: 'Boot Execute', Profile: 'System-wide' },
    { ...blank, 'Entry Location': 'HKLM\\System\\CurrentControlSet\\Control\\Session Manager\\BootExecute', Entry: 'autocheck autochk *', Enabled: 'enabled', Category: 'Boot Execute', Profile: 'System-wide', Description: 'Auto Check Utility', Signer: CONSTRUCTED.signer, Company: 'Microsoft Corporation', 'Image Path': 'c:\\windows\\system32\\autochk.exe', 'Launch String': 'autocheck autochk *' },
    { ...blank, 'Entry Location': 'WMI Database Entries', Category: 'WMI', Profile: 'System-wide' },
    {
      ...blank,
      'Entry Location': 'WMI Database Entries',
      Entry: String(bot.consumer['Name']),
      Enabled: 'enabled',
      Category: 'WMI',
      Profile: 'System-wide',
      Description: String(cmd['Description'] ?? ''),
      Signer: CONSTRUCTED.signer,
      Company: String(cmd['Company'] ?? ''),
      'Image Path': String(bot.consumer['ExecutablePath'] ?? '').toLowerCase(),
      Version: version,
      'Launch String': String(bot.consumer['CommandLineTemplate'] ?? ''),
      ...hashes(String(cmd['Hashes'] ?? '')),
    },
  ];
}

/** Columns autorunsc quotes in an entry row (its location rows leave Entry Location bare; Velociraptor testdata autoruns.csv). */
const QUOTED = new Set(['Entry Location', 'Entry', 'Category', 'Description', 'Signer', 'Company', 'Image Path', 'Launch String']);

function csvLine(row: Record<string, string> | null, header: string[]): string {
  if (!row) return header.join(',');
  const entry = row['Entry'] !== '';
  return header
    .map((h) => {
      const c = row[h] ?? '';
      const quote = c !== '' && ((QUOTED.has(h) && (entry || h !== 'Entry Location')) || /[",\r\n]/.test(c));
      return quote ? `"${c.replace(/"/g, '""')}"` : c;
    })
    .join(',');
}

const jsonl = (rows: O[]): string => rows.map((r) => JSON.stringify(r)).join('\n') + '\n';

/** Write every fixture under `outRoot` (`velociraptor/`, `autoruns/`); returns the files written. */
export function makeFixtures(outRoot: string): string[] {
  const written: string[] = [];
  const vr = join(outRoot, 'velociraptor');
  const ar = join(outRoot, 'autoruns');
  mkdirSync(vr, { recursive: true });
  mkdirSync(ar, { recursive: true });
  const put = (dir: string, name: string, data: string | Buffer): void => {
    writeFileSync(join(dir, name), data);
    written.push(join(dir, name));
  };
  const bot = botSubscription();
  const scm = scmSubscription();

  // Windows.Persistence.PermanentWMIEvents: a collection's results file, a hunt download, a GUI export
  put(vr, 'bot.PermanentWMIEvents.json', jsonl([permanentRow(bot.filter, bot.consumer)]));
  put(vr, 'gui.PermanentWMIEvents.json', JSON.stringify([permanentRow(bot.filter, bot.consumer)], null, 2) + '\n');
  if (scm) {
    put(vr, 'scm.PermanentWMIEvents.json', jsonl([permanentRow(scm.filter, scm.consumer)]));
    put(
      vr,
      'hunt.PermanentWMIEvents.json',
      jsonl([
        { ...permanentRow(bot.filter, bot.consumer), FlowId: CONSTRUCTED.flowIewin7, ClientId: CONSTRUCTED.clientIewin7, Fqdn: bot.host },
        { ...permanentRow(scm.filter, scm.consumer), FlowId: CONSTRUCTED.flowScm, ClientId: CONSTRUCTED.clientScm, Fqdn: '' },
      ]),
    );
  }

  // Windows.ETW.WMIEventing: the six operations, each with the WMIC.exe process that did it
  put(vr, 'bot.WMIEventing.json', jsonl(etwRows(bot)));

  // Windows.EventLogs.EvtxHunter / Windows.EventLogs.Evtx: the real records, as parse_evtx renders them
  const botRecs = records(join(repoRoot(), SYSMON_BOT)).filter((r) => [19, 20, 21].includes(idOf(r)) || (idOf(r) === 1 && /Bot(Filter|Consumer)/.test(String(dataOf(r)['CommandLine'] ?? ''))));
  const hunter = botRecs.map((r) => hunterRow(r, CONSTRUCTED.sysmonPath));
  const ghost = join(samplesDir(), WMIGHOST);
  if (existsSync(ghost)) for (const r of records(ghost).filter((x) => [20, 21].includes(idOf(x)))) hunter.push(hunterRow(r, CONSTRUCTED.sysmonPath));
  put(vr, 'sysmon.EvtxHunter.json', jsonl(hunter));
  const sigma = join(samplesDir(), SIGMA_5858);
  if (existsSync(sigma)) put(vr, 'sigma5858.EvtxHunter.json', jsonl(records(sigma).filter((r) => idOf(r) === 5858).map((r) => hunterRow(r, CONSTRUCTED.wmiPath))));
  put(vr, 'bot.Evtx.json', jsonl(botRecs.filter((r) => idOf(r) !== 1).map((r) => evtxArtifactRow(r, CONSTRUCTED.sysmonPath))));

  // Windows.Sysinternals.Autoruns rows and autorunsc CSV (UTF-16LE with BOM, as autorunsc writes it)
  const arRows = autorunsRows(bot);
  put(vr, 'bot.Autoruns.json', jsonl(arRows as unknown as O[]));
  const csv = [csvLine(null, AUTORUNS_HEADER), ...arRows.map((r) => csvLine(r, AUTORUNS_HEADER))].join('\r\n') + '\r\n';
  put(ar, 'IEWIN7.autorunsc.csv', Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(csv, 'utf16le')]));
  return written;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const out = resolve(process.argv[2] ?? join(repoRoot(), 'test/fixtures'));
  for (const f of makeFixtures(out)) console.log(f);
}
