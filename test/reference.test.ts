/**
 * Checks the reference harness itself (test/support/reference.ts, samples.ts): the
 * normalization helpers on literal snippets copied from real tool output, then both tools on
 * a few small real files. Tool tests skip when a tool or the shared samples are missing.
 */
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  countByEventId,
  diffRefRecords,
  normalizeValue,
  parseEventXml,
  parseEvtxDumpOutput,
  parseEvtxexportOutput,
  parseSystemTime,
  pythonEvtxTimeMicros,
  referenceToolsAvailable,
  runEvtxDump,
  runEvtxexport,
  timeMicrosFromFiletime,
  type RefRecord,
  type RefResult,
} from './support/reference.js';
import { evtxSample, hasSamples, listEvtxSamples, samplesDir, skipReason } from './support/samples.js';

const avail = referenceToolsAvailable();
const skipPy = skipReason || (avail.evtxDump ? false : 'evtx_dump.py (python3-evtx) not installed');
const skipLx = skipReason || (avail.evtxexport ? false : 'evtxexport (libevtx-utils) not installed');
const skipBoth = skipPy || skipLx;

const SYSMON_WMI = 'EVTX-ATTACK-SAMPLES/sysmon_20_21_1_CommandLineEventConsumer.evtx';
const ID4781 = 'hayabusa-sample-evtx/ID4781-Computer account renamed without a trailing $ (CVE-2021-42278).evtx';
const SIGMA_5858 = 'sigma/d4f1a2b3-7c8e-4d5f-b6a9-1e0c2d3f4e5b.evtx';
const POWERLURK_PS = 'hayabusa-sample-evtx/ID800-4103-4104-WMI registration via PowerLurk.evtx';

function byRecordId(res: RefResult): Map<number, RefRecord> {
  return new Map(res.records.map((r) => [r.recordId, r]));
}

function assertToolsAgree(py: RefResult, lx: RefResult): void {
  assert.equal(py.records.length, lx.records.length, 'record counts');
  const lxById = byRecordId(lx);
  for (const p of py.records) {
    const l = lxById.get(p.recordId);
    assert.ok(l, `libevtx lacks record ${p.recordId}`);
    assert.deepEqual(diffRefRecords(p, l), [], `record ${p.recordId}`);
  }
}

describe('samples helpers', () => {
  test('samplesDir is ../shared/samples next to the repo root', () => {
    assert.equal(path.basename(samplesDir()), 'samples');
    assert.equal(path.basename(path.dirname(samplesDir())), 'shared');
  });

  test('listEvtxSamples lists *.evtx except bench/', { skip: skipReason }, () => {
    assert.ok(hasSamples());
    const files = listEvtxSamples();
    assert.ok(files.length >= 30, `only ${files.length} samples`);
    assert.ok(files.every((f) => f.endsWith('.evtx')));
    assert.ok(!files.some((f) => f.split(path.sep).includes('bench')));
    assert.ok(files.includes(evtxSample(SYSMON_WMI)));
  });
});

describe('reference normalization (no tools needed)', () => {
  test('python-evtx time emulation reproduces its float rounding', () => {
    // pairs observed for the same records: libevtx (exact) vs python-evtx (printed)
    const pairs: Array<[string, string]> = [
      ['2019-05-11T17:57:49.903159600Z', '2019-05-11T17:57:49.903160'],
      ['2019-05-11T17:58:22.809409600Z', '2019-05-11T17:58:22.809408'],
      ['2026-07-02T02:05:27.438557600Z', '2026-07-02T02:05:27.438557'],
    ];
    for (const [lib, py] of pairs) {
      const t = parseSystemTime(lib);
      assert.ok(t?.filetime !== undefined);
      assert.equal(pythonEvtxTimeMicros(t.filetime), py, lib);
      assert.equal(timeMicrosFromFiletime(t.filetime), t.micros);
    }
    // python-evtx omits the fraction when µs == 0 (evtx/sample-with-zero-data-size-event.evtx)
    assert.deepEqual(parseSystemTime('2019-07-24 13:07:29'), { micros: '2019-07-24T13:07:29.000000' });
  });

  test('normalizeValue: entities, char refs, GUID case, booleans, whitespace kept', () => {
    assert.equal(normalizeValue('Microsoft&#174; Windows&#174;'), 'Microsoft® Windows®');
    assert.equal(normalizeValue('1&gt; x 2&gt;&amp;1'), '1> x 2>&1');
    assert.equal(normalizeValue('{365abb72-0d1d-5cd7-0000-001020ef1500}'), '{365ABB72-0D1D-5CD7-0000-001020EF1500}');
    assert.equal(normalizeValue('{365ABB72-0D1D-5CD7-0000-001020EF1500}'), '{365ABB72-0D1D-5CD7-0000-001020EF1500}');
    assert.equal(normalizeValue('True'), 'true');
    assert.equal(normalizeValue(' "BotFilter82"'), ' "BotFilter82"');
    assert.equal(normalizeValue('a\x01b'), 'ab');
  });

  test('both renderings of the sigma 5858 record parse to the same RefRecord', () => {
    const py =
      '<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="Microsoft-Windows-WMI-Activity" Guid="{1418ef04-b0b4-4623-bf7e-d74ab47bbdaa}"></Provider>\n' +
      '<EventID Qualifiers="">5858</EventID>\n<TimeCreated SystemTime="2026-07-02 02:05:27.438557"></TimeCreated>\n' +
      '<EventRecordID>5314</EventRecordID>\n<Channel>Microsoft-Windows-WMI-Activity/Operational</Channel>\n<Computer>swachchhanda</Computer>\n</System>\n' +
      '<UserData><Operation_ClientFailure xmlns="http://manifests.microsoft.com/win/2006/windows/WMI"><Id>{00000000-0000-0000-0000-000000000000}</Id>\n' +
      '<Operation>Start IWbemServices::ExecMethod - ROOT\\CIMV2 : \\\\SWACHCHHANDA\\ROOT\\CIMV2:Win32_NTEventlogFile.Name="C:\\\\x.evtx"::cleareventlog</Operation>\n' +
      '<ResultCode>0x80041003</ResultCode>\n</Operation_ClientFailure>\n</UserData>\n</Event>\n';
    const lx = [
      'evtxexport 20181227',
      '',
      '<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">',
      '  <System>',
      '    <Provider Name="Microsoft-Windows-WMI-Activity" Guid="{1418EF04-B0B4-4623-BF7E-D74AB47BBDAA}"/>',
      '    <EventID>5858</EventID>',
      '    <TimeCreated SystemTime="2026-07-02T02:05:27.438557600Z"/>',
      '    <EventRecordID>5314</EventRecordID>',
      '    <Correlation/>',
      '    <Channel>Microsoft-Windows-WMI-Activity/Operational</Channel>',
      '    <Computer>swachchhanda</Computer>',
      '  </System>',
      // recovered-mode shape: no <UserData> wrapper
      '  <Operation_ClientFailure xmlns="http://manifests.microsoft.com/win/2006/windows/WMI">',
      '    <Id>{00000000-0000-0000-0000-000000000000}</Id>',
      '    <Operation>Start IWbemServices::ExecMethod - ROOT\\CIMV2 : \\\\SWACHCHHANDA\\ROOT\\CIMV2:Win32_NTEventlogFile.Name="C:\\\\x.evtx"::cleareventlog</Operation>',
      '    <ResultCode>0x80041003</ResultCode>',
      '  </Operation_ClientFailure>',
      '</Event>',
      '',
    ].join('\n');
    const p = parseEvtxDumpOutput(py);
    const l = parseEvtxexportOutput(lx);
    assert.equal(p.records.length, 1);
    assert.equal(l.records.length, 1);
    const [pr] = p.records as [RefRecord];
    const [lr] = l.records as [RefRecord];
    assert.deepEqual(diffRefRecords(pr, lr), []);
    assert.equal(pr.qualifiers, undefined);
    assert.equal(lr.filetime !== undefined, true);
    assert.equal(pr.data['Operation_ClientFailure/ResultCode'], '0x80041003');
    assert.equal(lr.data['Operation_ClientFailure/Id'], '{00000000-0000-0000-0000-000000000000}');
  });

  test('python-evtx string arrays and empty elements; libevtx raw markup in Data', () => {
    // evtx/Application_no_crc32.evtx record 427
    const py = parseEventXml(
      '<Event><System><EventID Qualifiers="0">15</EventID>\n<EventRecordID>427</EventRecordID>\n</System>\n' +
        '<EventData><Data>&lt;string&gt;Windows Defender&lt;/string&gt;\n&lt;string&gt;SECURITY_PRODUCT_STATE_ON&lt;/string&gt;\n</Data>\n<Binary></Binary>\n</EventData>\n</Event>',
      'python-evtx',
    );
    assert.deepEqual(py?.data, { 'Data[0]': 'Windows Defender', 'Data[1]': 'SECURITY_PRODUCT_STATE_ON' });
    assert.equal(py?.qualifiers, 0);
    // python-evtx/issue_39.evtx: libevtx does not escape this value
    const lx = parseEventXml(
      '<Event>\n  <System>\n    <EventID>1</EventID>\n    <EventRecordID>7</EventRecordID>\n  </System>\n  <EventData>\n' +
        '    <Data Name="Value"><DeviceAddRequest><ClientInfo name="IDCRL" version="1.0"/></DeviceAddRequest></Data>\n' +
        '    <Data Name="RuleName"/>\n    <Binary>0F01</Binary>\n  </EventData>\n</Event>\n',
      'libevtx',
    );
    assert.deepEqual(lx?.data, { Value: '<DeviceAddRequest><ClientInfo name="IDCRL" version="1.0"/></DeviceAddRequest>', Binary: '0F01' });
  });

  test('a cut-off recovered record counts as unparsed', () => {
    const out =
      'evtxexport 20181227\n\n<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event">\n  <System>\n' +
      '    <Provider Name="Microsoft-Windows-Security-Kerberos" ="{98E6CFCB-EE0A-41E0-A57B-622D4E1B30B1}" 切="Kerberos"/>\n    <猀椀漀渀\n';
    assert.deepEqual(parseEvtxexportOutput(out), { records: [], unparsed: 1 });
    // cut off after </System>: kept, flagged truncated (LM_WMIC_4648_rpcss.evtx recovered)
    const out2 =
      '<Event xmlns="x">\n  <System>\n    <EventID Qualifiers="49152">7009</EventID>\n    <TimeCreated SystemTime="2019-03-18T10:28:49.774816600Z"/>\n' +
      '    <EventRecordID>26473</EventRecordID>\n    <Channel>Security</Channel>\n  </System>\n  <UserData>\n    <A><B>x</B>\n    <漀ⴀ渀猀㌀\n';
    const { records, unparsed } = parseEvtxexportOutput(out2);
    assert.equal(unparsed, 0);
    assert.equal(records[0]?.truncated, true);
    assert.equal(records[0]?.eventId, 7009);
    assert.equal(records[0]?.qualifiers, 49152);
    assert.deepEqual(records[0]?.data, { 'A/B': 'x' });
  });
});

describe('reference tools on real samples', () => {
  test(`python-evtx and libevtx agree on ${SYSMON_WMI}`, { skip: skipBoth }, async () => {
    const file = evtxSample(SYSMON_WMI);
    const [py, lx] = await Promise.all([runEvtxDump(file), runEvtxexport(file)]);
    for (const r of [py, lx]) {
      assert.equal(r.exitCode, 0, r.stderr);
      assert.equal(r.error, undefined);
      assert.equal(r.unparsed, 0);
      assert.equal(r.records.length, 17);
      const counts = countByEventId(r.records);
      assert.deepEqual([counts[19], counts[20], counts[21]], [2, 2, 2]);
      assert.deepEqual(counts, { 1: 9, 10: 2, 19: 2, 20: 2, 21: 2 });
      const filters = r.records.filter((x) => x.eventId === 19);
      assert.deepEqual(
        filters.map((x) => [x.data.Operation, x.data.Name, x.data.EventNamespace]),
        [
          ['Created', ' "BotFilter82"', ' "root\\\\cimv2"'],
          ['Deleted', ' "BotFilter82"', ' "root\\\\cimv2"'],
        ],
      );
      const bindings = r.records.filter((x) => x.eventId === 21);
      assert.equal(bindings[0]?.data.Filter, ' "__EventFilter.Name=\\"BotFilter82\\""');
      assert.equal(bindings[0]?.data.Consumer, ' "CommandLineEventConsumer.Name=\\"BotConsumer23\\""');
      assert.ok(r.records.every((x) => x.channel === 'Microsoft-Windows-Sysmon/Operational' && x.computer === 'IEWIN7'));
      assert.ok(r.records.every((x) => x.provider === 'Microsoft-Windows-Sysmon'));
    }
    // GUIDs normalized: python prints lower case, libevtx upper case
    assert.match(py.records[0]?.data.ProcessGuid ?? '', /^\{[0-9A-F-]{36}\}$/);
    // times: libevtx is exact, python-evtx printed a float-rounded value
    assert.equal(lx.records[0]?.systemTime, '2019-05-11T17:57:49.903159600Z');
    assert.equal(py.records[0]?.systemTime, '2019-05-11 17:57:49.903160');
    assertToolsAgree(py, lx);
  });

  test(`both tools agree on the allocated 5858 in ${SIGMA_5858}`, { skip: skipBoth }, async () => {
    const file = evtxSample(SIGMA_5858);
    const [py, lx] = await Promise.all([runEvtxDump(file), runEvtxexport(file)]);
    assertToolsAgree(py, lx);
    const r = lx.records[0];
    assert.equal(r?.eventId, 5858);
    assert.equal(r?.channel, 'Microsoft-Windows-WMI-Activity/Operational');
    assert.equal(r?.data['Operation_ClientFailure/ResultCode'], '0x80041003');
    assert.match(r?.data['Operation_ClientFailure/Operation'] ?? '', /::cleareventlog$/);
  });

  test(`libevtx recovered mode finds 10 × 5858 in ${ID4781}`, { skip: skipLx }, async () => {
    const file = evtxSample(ID4781);
    const [items, recovered] = await Promise.all([runEvtxexport(file, 'items'), runEvtxexport(file, 'recovered')]);
    assert.deepEqual(countByEventId(items.records), { 4781: 2 });
    assert.equal(recovered.exitCode, 0);
    assert.equal(recovered.unparsed, 0);
    assert.equal(recovered.records.length, 10);
    for (const r of recovered.records) {
      assert.equal(r.eventId, 5858);
      assert.equal(r.channel, 'Microsoft-Windows-WMI-Activity/Operational');
      // the <UserData> wrapper is missing in recovered output; paths are the same anyway
      assert.match(r.data['Operation_ClientFailure/ResultCode'] ?? '', /^0x8004/);
    }
  });

  test('both tools fail on a template-less file with exit code 1 and 0 records', { skip: skipBoth }, async () => {
    const file = evtxSample(POWERLURK_PS);
    const [py, lx] = await Promise.all([runEvtxDump(file), runEvtxexport(file)]);
    assert.equal(py.exitCode, 1);
    assert.equal(py.records.length, 0);
    assert.equal(py.error, "AttributeError: 'NullTypeNode' object has no attribute 'find_end_of_stream'");
    assert.equal(lx.exitCode, 1);
    assert.equal(lx.records.length, 0);
    assert.match(lx.error ?? '', /^Unable to export file\. .*unsupported type: 0x05/);
  });

  test('python-evtx stops mid-file on python-evtx/issue_43.evtx; records before agree with libevtx', { skip: skipBoth }, async () => {
    const file = evtxSample('python-evtx/issue_43.evtx');
    const [py, lx] = await Promise.all([runEvtxDump(file), runEvtxexport(file)]);
    assert.equal(py.exitCode, 1);
    assert.equal(py.records.length, 507);
    assert.match(py.error ?? '', /^UnicodeDecodeError: 'utf-16-le' codec/);
    assert.equal(lx.exitCode, 0);
    assert.equal(lx.records.length, 1730);
    const lxById = byRecordId(lx);
    for (const p of py.records) assert.deepEqual(diffRefRecords(p, lxById.get(p.recordId) as RefRecord), []);
  });
});
