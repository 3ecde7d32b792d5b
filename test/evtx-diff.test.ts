/**
 * Differential test: our EVTX reader (src/evtx) against the two Debian reference parsers,
 * python-evtx 0.6.1 (`evtx_dump.py`) and libevtx 20181227 (`evtxexport`, items and
 * `-m recovered` modes), on every file in ../shared/samples/evtx (except bench/).
 *
 * For each file:
 *   - our allocated records: exact count; JSON EventRecordID unique; `rec.eventId` equals the
 *     JSON EventID; which records carry record warnings; `records({recovered: true})` yields
 *     the same allocated records (same order) plus carved ones.
 *   - per reference (items mode): the tool's exit code/error and record count; every record
 *     it printed is one of ours (paired by EventRecordID, the value both tools print) with
 *     equal EventID, Qualifiers, Channel, Provider, Computer, TimeCreated (to the reference's
 *     precision: exact FILETIME vs libevtx, python-evtx's float-rounded µs emulated by
 *     `timesMatch`) and equal EventData/UserData values; our records the tool lacks are
 *     listed exactly (per file, with the reason); every remaining value difference must be a
 *     listed, explained one, and for each we check which side is right.
 *   - libevtx recovered mode: every record libevtx printed completely must be among our
 *     records of a `recovered: true` pass (carved, or allocated where we read past damage)
 *     with equal values.
 *
 * Pairing uses the JSON `System/EventRecordID`, not `rec.recordId`: the record header id
 * differs in exported logs (EVTX-ATTACK-SAMPLES, hayabusa: header ids 1..n, EventRecordID
 * the original, e.g. 16108 vs 1 in sysmon_20_21_1_CommandLineEventConsumer.evtx), and both
 * reference tools print the EventRecordID.
 *
 * Equal-by-definition differences (not listed per file):
 *   - HexInt32/64: we print `0x3e7` (Rust evtx crate / Windows style), both tools zero-pad
 *     (`0x00000000000003e7`): `hexPaddingEquivalent` in support/ours.ts.
 *   - binary data base64 (python) vs hex; SYSTEMTIME/FILETIME text formats; GUID case and
 *     braces; python-evtx's `True`/`False`: handled by `normalizeValue`/`dataValuesEquivalent`.
 *
 * Tools run concurrently (one process per core) and their raw output is cached in
 * test-artifacts/reference-cache/ (see support/reference.ts); without the samples the whole
 * suite skips, without a tool the subtests for that tool skip.
 */
import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { before, describe, test, type TestContext } from 'node:test';
import {
  countByEventId,
  referenceToolsAvailable,
  runEvtxDump,
  runEvtxexport,
  type RefRecord,
  type RefResult,
} from './support/reference.js';
import { diffOurs, readOurs, sizeTHexVsDecimal, type FieldDiff, type OurRecord, type OurResult } from './support/ours.js';
import { listEvtxSamples, sampleLabel, skipReason } from './support/samples.js';

// ---------------------------------------------------------------------------------------
// Expectations

const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);

type RefName = 'python-evtx' | 'libevtx';

interface KnownDiff {
  /** FieldDiff keys this entry explains, e.g. /^data:ErrorCode$/. */
  key: RegExp;
  /** Further condition on the difference. */
  match?: (d: FieldDiff) => boolean;
  /** Exactly these records (EventRecordID) show the difference… */
  ids?: number[];
  /** …or exactly this many (when the list would be long). */
  records?: number;
  /**
   * 'ours': we are right, and the other reference tool prints what we print (checked per
   * record when it has the record); 'ours-alone': we are right, the other tool has no such
   * record; 'by-design': a deliberate difference of representation (same value).
   */
  right: 'ours' | 'ours-alone' | 'by-design';
  /** Extra per-difference check. */
  check?: (d: FieldDiff, ours: OurRecord, ref: RefRecord) => void;
}

interface RefExpect {
  count: number;
  exitCode?: number;
  error?: RegExp;
  /** The tool gave up at an unreadable record: its records are exactly our first `count`, in order. */
  stopped?: true;
  /** Our allocated records this tool does not print (besides those after `stopped`). */
  extra?: number[];
  known?: KnownDiff[];
}

interface FileExpect {
  /** Our allocated record count. */
  ours: number;
  py: RefExpect;
  lx: RefExpect;
  /** libevtx `-m recovered`: [complete records, cut off after </System>, cut off before]. */
  lxr: [number, number, number];
  /** Complete libevtx-recovered records that are ALLOCATED records for us (we read past damage). */
  lxrAllocated?: number[];
  /** Our allocated records that carry record warnings, and what the first warning says. */
  warned?: Array<[number, RegExp]>;
  /** Assertions on our own values (files the references cannot read). */
  own?: (recs: OurRecord[]) => void;
}

const same = (n: number): RefExpect => ({ count: n });
const plain = (n: number, lxr: [number, number, number] = [0, 0, 0]): FileExpect => ({ ours: n, py: same(n), lx: same(n), lxr });

const PY_NULLTYPE = /^AttributeError: 'NullTypeNode' object has no attribute 'find_end_of_stream'$/;
const LX_TYPE05 = /^Unable to export file\. .*unsupported type: 0x05\.$/;

/**
 * SizeT (BinXML value type 0x10), deliberate: like the Rust evtx crate (its value reader turns a
 * 4/8-byte SizeT into HexInt32/HexInt64, `0x{:x}`) we print hex, e.g. evtx/Security_with_size_t.evtx
 * record 2 `ProcessId` = "0x4", record 156 `HandleId` = "0x738c"; python-evtx and libevtx both
 * print decimal (4, 29580). Same number; pinned per key with exact record counts.
 */
const sizeT = (key: string, records: number): KnownDiff => ({
  key: new RegExp(`^data:${key}$`),
  match: (d) => sizeTHexVsDecimal(d.ours, d.ref),
  records,
  right: 'by-design',
});

const EXPECT: Record<string, FileExpect> = {
  // Recovered mode: 29 Security/7xxx records cut off in <UserData> (garbage names), 14 cut off
  // inside <System>; none complete.
  'EVTX-ATTACK-SAMPLES/LM_WMIC_4648_rpcss.evtx': plain(5, [0, 29, 14]),
  'EVTX-ATTACK-SAMPLES/LM_WMI_4624_4688_TargetHost.evtx': plain(8),
  'EVTX-ATTACK-SAMPLES/LM_wmi_PoisonHandler_Mr-Un1k0d3r_sysmon_1_13.evtx': plain(15, [0, 6, 0]),
  'EVTX-ATTACK-SAMPLES/LM_wmiexec_impacket_sysmon_whoami.evtx': plain(7, [3, 0, 0]),
  'EVTX-ATTACK-SAMPLES/sysmon_20_21_1_CommandLineEventConsumer.evtx': plain(17),
  'EVTX-ATTACK-SAMPLES/wmi_remote_registry_sysmon.evtx': plain(13, [0, 24, 0]),
  'EVTX-ATTACK-SAMPLES/wmighost_sysmon_20_21_1.evtx': plain(4),

  // Chunk slot 1 holds a damaged record at chunk offset 0x7e98 (EventRecordID 463011: its
  // trailing size copy is 1694519808, not 496; the channel text is partly overwritten) and
  // no record signature at 0x8088. libevtx stops reading the chunk's records there and
  // prints the rest (401576-401596) only in recovered mode; we resync at the next record
  // signature (0x8178) and return them as allocated, plus the damaged 463011 with warnings.
  // python-evtx dies after 188 records (OverrunBufferException).
  'evtx/2-vss_0-Microsoft-Windows-TerminalServices-RemoteConnectionManager%4Operational.evtx': {
    ours: 1796,
    py: { count: 188, exitCode: 1, stopped: true, error: /^Evtx\.BinaryParser\.OverrunBufferException: Tried to parse beyond the end of the file/ },
    lx: { count: 1774, extra: [463011, ...range(401576, 401596)] },
    lxr: [266, 0, 0],
    lxrAllocated: range(401576, 401596),
    warned: [[463011, /^trailing size copy \(1694519808\) does not match the record size \(496\)/]],
  },

  // Record 441: python-evtx and we have ExtraInfo = "\n"; libevtx prints <Data Name="ExtraInfo"/>.
  'evtx/Application_no_crc32.evtx': {
    ...plain(17),
    lx: { count: 17, known: [{ key: /^data:ExtraInfo$/, ids: [441], right: 'ours', check: (d) => assert.equal(d.ours, '\n') }] },
  },

  // python-evtx cannot read record 1; libevtx stops after 24 (`invalid binary XML sub token -
  // unsupported type: 0x49`). We read all 340 (ids 1..340) without warnings; the first 24 are
  // compared with libevtx, the rest checked for plausibility.
  'evtx/E_Windows_system32_winevt_logs_Microsoft-Windows-CAPI2%4Operational.evtx': {
    ours: 340,
    py: { count: 0, exitCode: 1, stopped: true, error: PY_NULLTYPE },
    lx: { count: 24, exitCode: 1, stopped: true, error: /^Unable to export file\. .*unsupported type: 0x49\.$/ },
    lxr: [0, 0, 0],
    own: (recs) => {
      assert.deepEqual(
        recs.map((r) => r.recordId),
        range(1, 340),
      );
      assert.deepEqual(countByEventId(recs), { 10: 42, 11: 42, 30: 42, 40: 54, 41: 54, 42: 2, 50: 15, 51: 15, 52: 12, 53: 12, 80: 8, 81: 8, 90: 34 });
      for (const r of recs) {
        assert.equal(r.channel, 'Microsoft-Windows-CAPI2/Operational');
        assert.equal(r.provider, 'Microsoft-Windows-CAPI2');
        assert.ok(Object.keys(r.data).length > 0, `record ${r.recordId} has no UserData`);
      }
      assert.equal(recs[0]?.data['WinVerifyTrustStart/EventAuxInfo/@ProcessName'], 'Setup.exe');
    },
  },

  // Template-less record (literal strings everywhere); both tools fail on it.
  'evtx/MSExchange_Management_wec.evtx': {
    ours: 1,
    py: { count: 0, exitCode: 1, stopped: true, error: PY_NULLTYPE },
    lx: { count: 0, exitCode: 1, stopped: true, error: LX_TYPE05 },
    lxr: [0, 0, 0],
    own: (recs) => {
      const [r] = recs as [OurRecord];
      assert.equal(recs.length, 1);
      assert.deepEqual([r.recordId, r.eventId, r.ourEventId, r.qualifiers], [3229, 1, 1, 16384]);
      assert.equal(r.channel, 'MSExchange Management');
      assert.equal(r.provider, 'MSExchange CmdletLogs');
      assert.equal(r.computer, 'WEC.ave.local');
      assert.equal(r.systemTime, '2021-11-19T16:52:33.833733500Z');
      assert.equal(r.data['Data[0]'], 'Set-Mailbox');
      assert.match(r.data['Data[1]'] ?? '', /-ForwardingSmtpAddress "smtp:test2@example\.com"$/);
      assert.deepEqual(eventIdJson(r), { '#attributes': { Qualifiers: '16384' }, '#text': '1' });
    },
  },

  'evtx/Security_with_size_t.evtx': {
    ...plain(636),
    py: { count: 636, known: [sizeT('ProcessId', 434), sizeT('HandleId', 192)] },
    lx: { count: 636, known: [sizeT('ProcessId', 434), sizeT('HandleId', 192)] },
  },
  'evtx/sample-with-irregular-bool-values.evtx': plain(3028),

  // The chunk's allocated area has a record with data size 0 at chunk offset 0x820. Both
  // tools stop reading the chunk there (libevtx shows records 4-117 only in recovered mode);
  // we resync at the next signature (0x908) and return them as allocated: the 114 extra
  // records are exactly libevtx's 114 recovered ones.
  // python-evtx's string arrays with leading empty strings are wrong in 9 records (its
  // WstringArrayTypeNode uses an unanchored re.search): `10, "", 10, 60, …` where libevtx and
  // we have `"", "", "", "", 10, 60, "-60 Romance Standard Time"`.
  'evtx/sample-with-zero-data-size-event.evtx': {
    ours: 449,
    py: {
      count: 335,
      extra: range(4, 117),
      known: [{ key: /^data:Data\[\d+\]$/, ids: [120, 210, 271, 315, 370, 428, 435, 449, 450], right: 'ours' }],
    },
    lx: { count: 335, extra: range(4, 117) },
    lxr: [114, 0, 0],
    lxrAllocated: range(4, 117),
  },

  // Three records have a trailing size copy of 0 (EventRecordIDs 47640 and 45933, AppXDeployment
  // 325, and one whose System substitutions are NULL: EventRecordID empty → -1, header id 46741).
  // python-evtx prints them, libevtx drops them; we return them with a record warning. After
  // the one in chunk slot 7 (offset 0x1e68) there is no record signature at 0x2060: libevtx
  // and python-evtx stop reading that chunk (libevtx shows 47675-47705 in recovered mode), we
  // resync at 0x61d0.
  'evtx/sample_with_a_bad_chunk_magic.evtx': {
    ours: 301,
    py: { count: 270, extra: range(47675, 47705) },
    lx: { count: 267, extra: [-1, 47640, 45933, ...range(47675, 47705)] },
    lxr: [81, 0, 0],
    lxrAllocated: range(47675, 47705),
    warned: [
      [-1, /^trailing size copy \(0\) does not match the record size \(472\)/],
      [47640, /^trailing size copy \(0\) does not match the record size \(504\)/],
      [45933, /^trailing size copy \(0\) does not match the record size \(504\)/],
    ],
  },
  'evtx/security.evtx': plain(2261),
  'evtx/security_bad_string_cache.evtx': plain(2261),
  'evtx/sysmon.evtx': plain(358),

  'hayabusa-sample-evtx/ID1-WMI spwaning PowerShell process - WMImplant.evtx': plain(1),
  'hayabusa-sample-evtx/ID19-20-WMI registration via PowerLurk.evtx': {
    ...plain(3),
    own: (recs) => assert.deepEqual(countByEventId(recs), { 19: 2, 20: 1 }),
  },
  'hayabusa-sample-evtx/ID4781-Computer account renamed without a trailing $ (CVE-2021-42278).evtx': plain(2, [10, 0, 0]),

  // Template-less PowerShell records: both tools fail on the first one; our values instead.
  'hayabusa-sample-evtx/ID800-4103-4104-WMI registration via PowerLurk.evtx': {
    ours: 10,
    py: { count: 0, exitCode: 1, stopped: true, error: PY_NULLTYPE },
    lx: { count: 0, exitCode: 1, stopped: true, error: LX_TYPE05 },
    lxr: [0, 0, 0],
    own: (recs) => {
      assert.deepEqual(
        recs.map((r) => r.recordId),
        [...range(28810, 28815), ...range(30203, 30206)],
      );
      assert.deepEqual(countByEventId(recs), { 800: 6, 4103: 3, 4104: 1 });
      for (const r of recs) {
        assert.equal(r.ourEventId, r.eventId);
        assert.equal(r.computer, 'fs01.offsec.lan');
        assert.equal(r.channel, r.eventId === 800 ? 'Windows PowerShell' : 'Microsoft-Windows-PowerShell/Operational');
        assert.equal(r.provider, r.eventId === 800 ? 'PowerShell' : 'Microsoft-Windows-PowerShell');
        // literal text: EventID is the string "800" in JSON, rec.eventId the number
        const e = eventIdJson(r) as Record<string, unknown> | string;
        assert.equal(typeof (typeof e === 'object' ? e['#text'] : e), 'string');
      }
      const text = (r: OurRecord): string => Object.values(r.data).join('\n');
      const withWmi = recs.filter((r) => text(r).includes('Set-WmiInstance') && text(r).includes('root/subscription'));
      assert.deepEqual(
        withWmi.map((r) => r.recordId),
        [28811, 28812, 28813, 30205, 30206],
      );
      // 800: the pipeline text; 4103: parameter bindings
      assert.match(text(recs[1] as OurRecord), /Set-WmiInstance .*-Namespace root\/subscription -Class CommandLineEventConsumer/);
      const p30205 = recs.find((r) => r.recordId === 30205)?.data.Payload ?? '';
      assert.match(p30205, /^CommandInvocation\(Set-WmiInstance\): "Set-WmiInstance"\r?\n/);
      assert.match(p30205, /ParameterBinding\(Set-WmiInstance\): name="Namespace"; value="root\/subscription"/);
      assert.match(p30205, /ParameterBinding\(Set-WmiInstance\): name="Class"; value="CommandLineEventConsumer"/);
      const cls = (id: number): string[] => [...new Set(text(recs.find((r) => r.recordId === id) as OurRecord).match(/-Class \S+/g))];
      assert.deepEqual(cls(28811), ['-Class CommandLineEventConsumer']);
      assert.deepEqual(cls(28812), ['-Class __EventFilter']);
      assert.deepEqual(cls(28813), ['-Class __FilterToConsumerBinding']);
      const sb = recs.find((r) => r.eventId === 4104);
      assert.equal(sb?.recordId, 30204);
      assert.match(sb?.data.ScriptBlockText ?? '', /^Register-MaliciousWmiEvent -EventName Evil23 -PermanentCommand "cmd\.exe \/c echo %ProcessId%/);
      assert.equal(recs[0]?.systemTime, '2021-06-10T14:12:46.041829000Z');
    },
  },
  'hayabusa-sample-evtx/ID800-4103-Interactive PipeShell over named pipe (server and client).evtx': {
    ours: 30,
    py: { count: 0, exitCode: 1, stopped: true, error: PY_NULLTYPE },
    lx: { count: 0, exitCode: 1, stopped: true, error: LX_TYPE05 },
    lxr: [0, 0, 0],
    own: (recs) => {
      assert.deepEqual(countByEventId(recs), { 800: 13, 4103: 12, 4104: 5 });
      assert.equal(recs[0]?.recordId, 29353);
      assert.equal(new Set(recs.map((r) => r.recordId)).size, 30);
      for (const r of recs.filter((x) => x.eventId === 4103)) {
        assert.match(r.data.ContextInfo ?? '', /Host Application = /);
        assert.ok(r.data.Payload, `4103 record ${r.recordId} has no Payload`);
      }
      for (const r of recs.filter((x) => x.eventId === 4104)) assert.ok(r.data.ScriptBlockText, `4104 record ${r.recordId}`);
    },
  },
  'hayabusa-sample-evtx/Powershell-Invoke-Obfuscation-many.evtx': plain(302, [328, 0, 0]),
  'hayabusa-sample-evtx/smb-password-guessing-security.evtx': plain(3561, [77, 0, 0]),

  // python-evtx dies after record 1 (UnicodeDecodeError in an ANSI string); libevtx reads 5.
  'python-evtx/dns_log_malformed.evtx': {
    ...plain(5),
    py: { count: 1, exitCode: 1, stopped: true, error: /^UnicodeDecodeError: 'ascii' codec can't decode byte 0xa6/ },
  },
  'python-evtx/issue_38.evtx': plain(1),
  // ErrorCode is a negative Int32, e.g. 0x8004805F: python-evtx and we print -2147188641,
  // libevtx prints a minus sign and the low 31 bits (-0x4805F = -295007): its negative Int32
  // formatting is wrong.
  'python-evtx/issue_39.evtx': {
    ...plain(394, [14, 0, 0]),
    lx: {
      count: 394,
      known: [
        {
          key: /^data:ErrorCode$/,
          ids: [3, 4, 6, 7, 13, 19, 23, 27, 41, 49, 58, 67, 70, 74, 78, 81, 84, 88, 91, 94, 97, 111, 122],
          right: 'ours',
          check: (d) => {
            const v = Number(d.ours);
            assert.ok(Number.isInteger(v) && v < 0 && v >= -(2 ** 31), `ours ${d.ours} is a negative Int32`);
            assert.equal(d.ref, `-${v + 2 ** 32 - 2 ** 31}`);
          },
        },
      ],
    },
  },
  // python-evtx dies at record 508 (illegal UTF-16 surrogate). Its ConfigurationFileHash holds
  // the code units D940 5A1F 0152: a lone high surrogate then two ordinary characters. We keep
  // the units as they are ("\uD940娟Œ"); libevtx treats D940+5A1F as a broken pair and prints a
  // single U+FFFD, dropping 娟 ("\uFFFDŒ"). Ours is the faithful one.
  'python-evtx/issue_43.evtx': {
    ...plain(1730, [40, 0, 0]),
    py: { count: 507, exitCode: 1, stopped: true, error: /^UnicodeDecodeError: 'utf-16-le' codec can't decode bytes/ },
    lx: {
      count: 1730,
      known: [
        {
          key: /^data:ConfigurationFileHash$/,
          ids: [508],
          right: 'ours-alone',
          check: (d) => assert.deepEqual([d.ours, d.ref], ['\uD940\u5A1F\u0152', '\uFFFD\u0152']),
        },
      ],
    },
  },
  'sigma/d4f1a2b3-7c8e-4d5f-b6a9-1e0c2d3f4e5b.evtx': plain(1),
};

function eventIdJson(r: OurRecord): unknown {
  const ev = r.json.Event as Record<string, unknown>;
  return (ev.System as Record<string, unknown>).EventID;
}

// ---------------------------------------------------------------------------------------
// Runs: tools start before the tests (they queue on one process per core inside the harness)

interface ToolRuns {
  py: Promise<RefResult>;
  lx: Promise<RefResult>;
  lxr: Promise<RefResult>;
}

const avail = referenceToolsAvailable();
const skipPy = avail.evtxDump ? false : 'evtx_dump.py (python3-evtx) not installed';
const skipLx = avail.evtxexport ? false : 'evtxexport (libevtx-utils) not installed';
const TOOL_TIMEOUT_MS = 240_000; // python-evtx took 67 s for smb-password-guessing-security.evtx with 2 tools running on 2 cores

const files = listEvtxSamples();
const runs = new Map<string, ToolRuns>();
const ourCache = new Map<string, { alloc: OurResult; all: OurResult }>();

function ours(file: string): { alloc: OurResult; all: OurResult } {
  let o = ourCache.get(file);
  if (!o) {
    o = { alloc: readOurs(file), all: readOurs(file, { recovered: true }) };
    ourCache.set(file, o);
  }
  return o;
}

function startTools(): void {
  const opts = { timeoutMs: TOOL_TIMEOUT_MS };
  const lx = new Map<string, Promise<RefResult>>();
  const lxr = new Map<string, Promise<RefResult>>();
  const py = new Map<string, Promise<RefResult>>();
  // libevtx first (~3 s for everything), then python-evtx largest file first (it dominates:
  // ~30 s for the 3.2 MB smb-password-guessing-security.evtx), so the slowest runs overlap.
  for (const f of files) {
    lx.set(f, runEvtxexport(f, 'items', opts));
    lxr.set(f, runEvtxexport(f, 'recovered', opts));
  }
  for (const f of [...files].sort((a, b) => statSync(b).size - statSync(a).size)) py.set(f, runEvtxDump(f, opts));
  for (const f of files) runs.set(f, { py: py.get(f)!, lx: lx.get(f)!, lxr: lxr.get(f)! });
  // a rejected promise that no test awaits yet must not crash the run
  for (const r of runs.values()) for (const p of [r.py, r.lx, r.lxr]) p.catch(() => undefined);
}

// ---------------------------------------------------------------------------------------
// Checks

function byRecordId<T extends RefRecord>(recs: readonly T[]): Map<number, T> {
  const m = new Map<number, T>();
  for (const r of recs) if (!m.has(r.recordId)) m.set(r.recordId, r);
  return m;
}

const sortNum = (a: number[]): number[] => [...a].sort((x, y) => x - y);

function fmt(d: FieldDiff): string {
  return `${d.key}: ours ${JSON.stringify(d.ours)} vs ref ${JSON.stringify(d.ref)}`;
}

/** Compare our allocated records with one tool's items-mode output. */
function checkAgainst(
  t: TestContext,
  label: string,
  tool: RefName,
  exp: RefExpect,
  res: RefResult,
  mine: readonly OurRecord[],
  other: RefResult | undefined,
): void {
  assert.equal(res.exitCode, exp.exitCode ?? 0, `${tool} exit code (stderr: ${res.stderr.slice(0, 300)})`);
  if (exp.error) assert.match(res.error ?? '', exp.error, `${tool} error`);
  else assert.equal(res.error, undefined, `${tool} error`);
  assert.equal(res.unparsed, 0, `${tool} unparsable blocks`);
  assert.equal(res.records.length, exp.count, `${tool} record count`);

  const ourIds = mine.map((r) => r.recordId);
  const refIds = res.records.map((r) => r.recordId);
  if (exp.stopped) assert.deepEqual(refIds, ourIds.slice(0, exp.count), `${tool} stopped early: its records are our first ${exp.count}`);
  const ourSet = new Set(ourIds);
  const refSet = new Set(refIds);
  assert.deepEqual(
    refIds.filter((id) => !ourSet.has(id)),
    [],
    `records ${tool} printed that we do not return`,
  );
  const expectedExtra = [...(exp.stopped ? ourIds.slice(exp.count) : []), ...(exp.extra ?? [])];
  assert.deepEqual(sortNum(ourIds.filter((id) => !refSet.has(id))), sortNum(expectedExtra), `our records ${tool} lacks`);

  const mineById = byRecordId(mine);
  const otherById = other ? byRecordId(other.records) : undefined;
  const known = exp.known ?? [];
  const hits = known.map(() => new Set<number>());
  const unexplained: string[] = [];
  let hexPadded = 0;
  for (const r of res.records) {
    const o = mineById.get(r.recordId) as OurRecord;
    const { diffs, hexPadded: hp } = diffOurs(o, r);
    hexPadded += hp;
    for (const d of diffs) {
      const i = known.findIndex((k) => k.key.test(d.key) && (k.match?.(d) ?? true));
      const k = known[i];
      if (!k) {
        unexplained.push(`record ${r.recordId}: ${fmt(d)}`);
        continue;
      }
      hits[i]?.add(r.recordId);
      k.check?.(d, o, r);
      if (k.right === 'ours' && otherById) {
        // the other reference tool must print what we print
        const or = otherById.get(r.recordId);
        assert.ok(or, `${label}: the other reference lacks record ${r.recordId}`);
        const od = diffOurs(o, or).diffs.filter((x) => x.key === d.key);
        assert.deepEqual(od.map(fmt), [], `record ${r.recordId}: the other reference should agree with us on ${d.key}`);
      }
      if (k.right === 'ours-alone' && otherById) assert.equal(otherById.get(r.recordId), undefined, `record ${r.recordId} in the other reference`);
    }
  }
  assert.deepEqual(unexplained.slice(0, 25), [], `${unexplained.length} unexplained differences vs ${tool}`);
  known.forEach((k, i) => {
    const got = sortNum([...(hits[i] ?? [])]);
    if (k.ids) assert.deepEqual(got, sortNum(k.ids), `records with the known ${k.key} difference vs ${tool}`);
    if (k.records !== undefined) assert.equal(got.length, k.records, `records with the known ${k.key} difference vs ${tool}`);
  });
  t.diagnostic(`${tool}: ${res.records.length} records compared (${res.cached ? 'cached' : `${(res.durationMs / 1000).toFixed(1)} s`}), ${hexPadded} hex values equal up to zero padding`);
}

// ---------------------------------------------------------------------------------------
// Tests

describe('differential: our EVTX reader vs python-evtx and libevtx', { skip: skipReason }, () => {
  before(startTools);

  test('every sample has expectations and every expectation a sample', () => {
    assert.ok(files.length >= 30, `only ${files.length} samples`);
    assert.deepEqual(files.map(sampleLabel).sort(), Object.keys(EXPECT).sort());
  });

  for (const file of files) {
    const label = sampleLabel(file);
    const exp = EXPECT[label];
    test(label, async (t) => {
      assert.ok(exp, `no expectations for ${label}: add it to EXPECT`);
      const { alloc, all } = ours(file);
      const mine = alloc.records;

      await t.test('ours: count, ids, event ids, warnings, recovered pass', () => {
        assert.equal(mine.length, exp.ours, 'allocated record count');
        assert.equal(new Set(mine.map((r) => r.recordId)).size, mine.length, 'EventRecordIDs unique');
        for (const r of mine) {
          assert.equal(r.recovered, false);
          assert.equal(r.ourEventId ?? -1, r.eventId, `record ${r.recordId}: rec.eventId vs JSON EventID`);
        }
        const warned = mine.filter((r) => r.warnings.length > 0);
        assert.deepEqual(
          warned.map((r) => r.recordId),
          (exp.warned ?? []).map(([id]) => id),
          'records with warnings',
        );
        for (const [id, re] of exp.warned ?? []) assert.match(mine.find((r) => r.recordId === id)?.warnings[0] ?? '', re);
        // recovered: true = the same allocated records, in order, plus carved ones
        const allocAgain = all.records.filter((r) => !r.recovered);
        assert.deepEqual(
          allocAgain.map((r) => r.offset),
          mine.map((r) => r.offset),
        );
        exp.own?.(mine);
        t.diagnostic(`ours: ${mine.length} allocated, ${all.records.length - allocAgain.length} carved, ${alloc.warnings.length} file warnings, ${alloc.durationMs.toFixed(0)} ms`);
      });

      const r = runs.get(file);
      await t.test('vs python-evtx', { skip: skipPy }, async (st) => {
        assert.ok(r);
        const [py, lx] = await Promise.all([r.py, skipLx ? Promise.resolve(undefined) : r.lx]);
        checkAgainst(st, label, 'python-evtx', exp.py, py, mine, lx);
      });
      await t.test('vs libevtx', { skip: skipLx }, async (st) => {
        assert.ok(r);
        // python-evtx is only needed as the "other" reference for known differences
        const needPy = !skipPy && (exp.lx.known ?? []).some((k) => k.right !== 'by-design');
        const [lx, py] = await Promise.all([r.lx, needPy ? r.py : Promise.resolve(undefined)]);
        checkAgainst(st, label, 'libevtx', exp.lx, lx, mine, py);
      });
      await t.test('libevtx recovered records are among ours', { skip: skipLx }, async (st) => {
        assert.ok(r);
        const lxr = await r.lxr;
        assert.equal(lxr.exitCode, 0, lxr.stderr.slice(0, 300));
        const complete = lxr.records.filter((x) => !x.truncated);
        assert.deepEqual([complete.length, lxr.records.length - complete.length, lxr.unparsed], exp.lxr, 'libevtx recovered: [complete, truncated, unparsed]');
        const candidates = new Map<number, OurRecord[]>();
        for (const o of all.records) candidates.set(o.recordId, [...(candidates.get(o.recordId) ?? []), o]);
        const problems: string[] = [];
        const asAllocated: number[] = [];
        let carved = 0;
        for (const x of complete) {
          const c = candidates.get(x.recordId) ?? [];
          // libevtx also "recovers" stale copies of allocated records from slack: prefer our carved
          // copy, fall back to an allocated record (where we read past damage)
          const equal = c.filter((o) => diffOurs(o, x).diffs.length === 0);
          const hit = equal.find((o) => o.recovered) ?? equal[0];
          if (!hit) {
            problems.push(c.length ? `record ${x.recordId}: ${diffOurs(c[0] as OurRecord, x).diffs.map(fmt).join('; ')}` : `record ${x.recordId} (event ${x.eventId}) not found`);
          } else if (hit.recovered) carved++;
          else asAllocated.push(x.recordId);
        }
        assert.deepEqual(problems.slice(0, 25), [], `${problems.length} libevtx-recovered records not matched`);
        assert.deepEqual(sortNum(asAllocated), sortNum(exp.lxrAllocated ?? []), 'libevtx-recovered records that are allocated for us');
        st.diagnostic(`libevtx recovered: ${complete.length} complete (${carved} carved by us, ${asAllocated.length} allocated for us)`);
      });
    });
  }
});
