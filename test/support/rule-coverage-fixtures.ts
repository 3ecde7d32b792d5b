/**
 * Evidence files for test/rule-coverage.test.ts, written at test time, for the rules no committed fixture file
 * fires (the committed files are real captures; these subscriptions are the public examples of
 * test/support/rule-fixtures.ts, written as the evidence that would show them):
 *
 * - `wmi-activity-fleet.jsonl`: WMI-Activity 5861 records (the evtx-crate JSON shape, as `evtx_dump -o jsonl`
 *   writes it; fields and the MOF text of PossibleCause as Windows logs them, see the OTRF records in
 *   test/fixtures/exports) of a fleet of 12 hosts: one subscription per host for the first six, each an example
 *   the rules must catch (so each is rare in the fleet), and the Atomic Red Team example on the other seven hosts
 *   (common: more than half of them).
 * - a WMI repository (test/support/cim-builder.ts) holding the WannaMine pattern: a static class whose property
 *   holds the payload a consumer in `root\subscription` reads.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { SubscriptionObject } from '../../src/model/types.js';
import { buildRepository, standardConsumerClasses } from './cim-builder.js';
import { atomicCommandLine, consumer, filter, poshspy, SUB, totallyLegitCustomClass } from './rule-fixtures.js';

/** A value as MOF text writes it (`"…"` with `\\` and `\"` escapes, `{a, b}` arrays, TRUE/FALSE). */
function mof(v: unknown): string {
  if (typeof v === 'string') return `"${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\r/g, '\\r').replace(/\n/g, '\\n')}"`;
  if (typeof v === 'boolean') return v ? 'TRUE' : 'FALSE';
  if (Array.isArray(v)) return `{${v.map(mof).join(', ')}}`;
  return String(v);
}

function instance(o: SubscriptionObject): string {
  const props = Object.entries(o.values)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `\t${k} = ${mof(v)};\n`)
    .join('');
  return `instance of ${o.className}\n{\n${props}};\n`;
}

/** One WMI-Activity 5861 record (a permanent subscription bound): `namespace` as WMI logs it, `//./root/x`. */
function record5861(host: string, recordId: number, time: string, f: SubscriptionObject, c: SubscriptionObject): string {
  const namespace = `//./${(f.namespace ?? SUB).replace(/\\/g, '/').toLowerCase()}`;
  return JSON.stringify({
    Event: {
      System: {
        Provider: { '#attributes': { Name: 'Microsoft-Windows-WMI-Activity', Guid: '{1418EF04-B0B4-4623-BF7E-D74AB47BBDAA}' } },
        EventID: 5861,
        Version: 0,
        Task: 0,
        Opcode: 0,
        TimeCreated: { '#attributes': { SystemTime: time } },
        EventRecordID: recordId,
        Execution: { '#attributes': { ProcessID: 2568, ThreadID: 6204 } },
        Channel: 'Microsoft-Windows-WMI-Activity/Operational',
        Computer: host,
        Security: { '#attributes': { UserID: 'S-1-5-18' } },
      },
      UserData: {
        Operation_ESStoConsumerBinding: {
          Namespace: namespace,
          ESS: f.name,
          CONSUMER: `${c.className}="${c.name}"`,
          PossibleCause: `Binding EventFilter: \n${instance(f)}Perm. Consumer: \n${instance(c)}`,
        },
      },
    },
  });
}

/** The subscriptions of the fleet file, by host: [host, filter, consumer]. */
export function fleetSubscriptions(): Array<[string, SubscriptionObject, SubscriptionObject]> {
  const host = (n: number): string => `WKS${String(n).padStart(2, '0')}`;
  const p = poshspy();
  const tl = totallyLegitCustomClass();
  const a = atomicCommandLine();
  const DEFAULT = 'ROOT\\default';
  const CIMV2 = 'ROOT\\cimv2';
  return [
    // APT29 POSHSPY: time-of-day trigger, scheduled-task names, payload read from a WMI class property
    [host(1), p.filter!, p.consumer!],
    // a consumer of its own class in a custom namespace
    [host(2), tl.filter!, tl.consumer!],
    // a log-file consumer writing a script into the Startup folder, on a timer, in root\default
    [
      host(3),
      filter('Updater', "SELECT * FROM __TimerEvent WHERE TimerID = 'Updater'", {}, DEFAULT),
      consumer('LogFileEventConsumer', 'Updater', { Filename: 'C:\\ProgramData\\Microsoft\\Windows\\Start Menu\\Programs\\Startup\\update.vbs', Text: 'CreateObject("WScript.Shell").Run "calc.exe"' }, DEFAULT),
    ],
    // a failed-logon trigger (fires on a bad password, remotely) in root\cimv2
    [
      host(4),
      filter('LogonWatch', "SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_NTLogEvent' AND TargetInstance.EventCode = 4625", {}, CIMV2),
      consumer('CommandLineEventConsumer', 'LogonWatch', { CommandLineTemplate: 'C:\\Windows\\System32\\notepad.exe' }, CIMV2),
    ],
    // any other event-log trigger
    [
      host(5),
      filter('ServiceWatch', "SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA 'Win32_NTLogEvent' AND TargetInstance.EventCode = 7045", {}, DEFAULT),
      consumer('CommandLineEventConsumer', 'ServiceWatch', { CommandLineTemplate: 'C:\\Windows\\System32\\notepad.exe' }, DEFAULT),
    ],
    // WannaMine's imitation of the Windows SCM Event Log subscription
    [
      host(6),
      filter('SCM Event8 Log Filter', "SELECT * FROM __InstanceModificationEvent WITHIN 5600 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System'"),
      consumer('CommandLineEventConsumer', 'SCM Event8 Log Consumer', { CommandLineTemplate: 'C:\\Windows\\System32\\notepad.exe' }),
    ],
    // the Atomic Red Team example on seven of the twelve hosts: common
    ...[6, 7, 8, 9, 10, 11, 12].map((n): [string, SubscriptionObject, SubscriptionObject] => [host(n), a.filter!, a.consumer!]),
  ];
}

/**
 * A Sysmon 19 record of a filter created (the record of test/fixtures/evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx,
 * moved to `host`): logged without its consumer or binding, as in a log excerpt.
 */
function sysmon19(host: string, recordId: number): string {
  return JSON.stringify({
    Event: {
      System: {
        Provider: { '#attributes': { Name: 'Microsoft-Windows-Sysmon', Guid: '5770385F-C22A-43E0-BF4C-06F5698FFBD9' } },
        EventID: 19,
        Version: 3,
        TimeCreated: { '#attributes': { SystemTime: '2019-05-11T17:58:39.7469096Z' } },
        EventRecordID: recordId,
        Channel: 'Microsoft-Windows-Sysmon/Operational',
        Computer: host,
        Security: { '#attributes': { UserID: 'S-1-5-18' } },
      },
      EventData: {
        RuleName: null,
        EventType: 'WmiFilterEvent',
        UtcTime: '2019-05-11 17:58:39.746',
        Operation: 'Created',
        User: `${host}\\IEUser`,
        EventNamespace: ' "root\\\\cimv2"',
        Name: ' "BotFilter82"',
        Query: ` "SELECT * FROM __InstanceModificationEvent WITHIN 10 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System'"`,
      },
    },
  });
}

/** Write the fleet file into `dir` (the 5861 records, and a lone Sysmon 19 filter on the fifth host); its path. */
export function writeFleetLog(dir: string): string {
  const file = path.join(dir, 'wmi-activity-fleet.jsonl');
  const lines = fleetSubscriptions().map(([host, f, c], i) => record5861(host, 100 + i, `2024-03-0${1 + (i % 9)}T10:00:00.000Z`, f, c));
  lines.push(sysmon19('WKS05', 200));
  writeFileSync(file, `${lines.join('\n')}\n`);
  return file;
}

/** Build the WannaMine-pattern repository into `dir` (an empty folder); `dir`. */
export function buildWannaMineRepository(dir: string): string {
  const payload = 'JABzAD0A' + 'QUJD'.repeat(800); // a long base64-looking string, as the malware stores it
  const consumerCmd = "powershell.exe -NoP -NonI -W Hidden \"$mimi = ([WmiClass]'root\\default:systemcore_Updater8').Properties['mimi'].Value; iex $mimi\"";
  buildRepository(dir, {
    namespaces: ['ROOT', 'ROOT\\subscription', 'ROOT\\default'],
    classes: [...standardConsumerClasses(), { namespace: 'ROOT\\default', name: 'systemcore_Updater8', properties: [{ name: 'mimi', type: 'string', default: payload }] }],
    instances: [
      { namespace: 'ROOT\\subscription', className: '__EventFilter', values: { Name: 'SCM Event8 Log Filter', Query: "SELECT * FROM __InstanceModificationEvent WITHIN 5600 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System'", QueryLanguage: 'WQL', EventNamespace: 'root\\cimv2' } },
      { namespace: 'ROOT\\subscription', className: 'CommandLineEventConsumer', values: { Name: 'SCM Event8 Log Consumer', CommandLineTemplate: consumerCmd } },
      { namespace: 'ROOT\\subscription', className: '__FilterToConsumerBinding', values: { Filter: '__EventFilter.Name="SCM Event8 Log Filter"', Consumer: 'CommandLineEventConsumer.Name="SCM Event8 Log Consumer"' } },
    ],
  });
  return dir;
}
