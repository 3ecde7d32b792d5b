/**
 * Subscriptions from the public malicious / emulation examples of shared/reference/wmi-tradecraft.md §7 and
 * the real SCM Event Log subscription of the Windows 10 repository sample (§6, cim-oracle), written as rule
 * inputs. Names, queries and command shapes follow those descriptions; where a description gives no payload
 * text, the payload here is a harmless stand-in (said so next to it). Base64 payloads encode strings made for
 * the tests. Shared by test/rules.test.ts and test/allowlist.test.ts.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { JoinedSubscription, Observation, SubscriptionObject } from '../../src/model/types.js';
import { repoRoot } from './samples.js';

type Values = SubscriptionObject['values'];

export const SUB = 'ROOT\\subscription';

export function filter(name: string, query: string, extra: Values = {}, namespace = SUB): SubscriptionObject {
  return { namespace, className: '__EventFilter', name, values: { Name: name, Query: query, QueryLanguage: 'WQL', EventNamespace: 'root\\cimv2', ...extra } };
}

export function consumer(className: string, name: string, values: Values, namespace = SUB): SubscriptionObject {
  return { namespace, className, name, values: { Name: name, ...values } };
}

export function binding(filterName: string, consumerClass: string, consumerName: string, namespace = SUB): SubscriptionObject {
  return {
    namespace,
    className: '__FilterToConsumerBinding',
    name: null,
    values: { Filter: `__EventFilter.Name="${filterName}"`, Consumer: `${consumerClass}.Name="${consumerName}"` },
  };
}

export function obs(part: Observation['part'], action: Observation['action'], time: string | null, user: string | null, extra: Partial<Observation> = {}): Observation {
  return { host: 'HOST', source: 'sysmon', action, part, namespace: SUB, className: null, name: null, time, user, file: 'fixture.evtx', location: 'record 1', properties: {}, meta: {}, ...extra };
}

export function input(parts: Partial<JoinedSubscription>): JoinedSubscription {
  return { host: 'HOST', namespace: SUB, status: 'active', filter: null, consumer: null, binding: null, observations: [], ...parts };
}

function full(f: SubscriptionObject, c: SubscriptionObject, extra: Partial<JoinedSubscription> = {}): JoinedSubscription {
  return input({ filter: f, consumer: c, binding: binding(f.name!, c.className!, c.name!, f.namespace ?? SUB), ...extra });
}

// ---- SCM Event Log (Windows 10 repository sample, cim-oracle dissect.cim enum) ----------------------------

export const SCM_QUERY = 'select * from MSFT_SCMEventLogEvent';
export const SCM_CONSUMER_VALUES: Values = {
  Category: 0,
  CreatorSID: 'S-1-5-32-544',
  EventID: 0,
  EventType: 1,
  NameOfUserSIDProperty: 'sid',
  NumberOfInsertionStrings: 0,
  SourceName: 'Service Control Manager',
};

export function scm(filterName = 'SCM Event Log Filter', consumerName = 'SCM Event Log Consumer', query = SCM_QUERY, consumerValues: Values = SCM_CONSUMER_VALUES): JoinedSubscription {
  return full(filter(filterName, query, { CreatorSID: 'S-1-5-32-544' }), consumer('NTEventLogEventConsumer', consumerName, consumerValues), {
    observations: [obs('filter', 'present', null, null, { source: 'cim' })],
  });
}

// ---- APT29 POSHSPY (FireEye 2017): Win32_LocalTime schedule Mon/Tue/Thu/Fri/Sat 11:33, names copied from
// scheduled tasks, base64 PowerShell reading its payload from a WMI class property (RacTask.HiveUploadTask).
// The decoded text is a stand-in that only reads that property.
export const POSHSPY_DECODED = "$p = ([WmiClass]'root\\cimv2:RacTask').Properties['HiveUploadTask'].Value; Write-Output $p.Length";
export const POSHSPY_B64 =
  'JABwACAAPQAgACgAWwBXAG0AaQBDAGwAYQBzAHMAXQAnAHIAbwBvAHQAXABjAGkAbQB2ADIAOgBSAGEAYwBUAGEAcwBrACcAKQAuAFAAcgBvAHAAZQByAHQAaQBlAHMAWwAnAEgAaQB2AGUAVQBwAGwAbwBhAGQAVABhAHMAawAnAF0ALgBWAGEAbAB1AGUAOwAgAFcAcgBpAHQAZQAtAE8AdQB0AHAAdQB0ACAAJABwAC4ATABlAG4AZwB0AGgA';
export const poshspy = (): JoinedSubscription =>
  full(
    filter(
      'BfeOnServiceStartTypeChange',
      "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_LocalTime' AND (TargetInstance.DayOfWeek = 1 OR TargetInstance.DayOfWeek = 2 OR TargetInstance.DayOfWeek = 4 OR TargetInstance.DayOfWeek = 5 OR TargetInstance.DayOfWeek = 6) AND TargetInstance.Hour = 11 AND TargetInstance.Minute = 33",
    ),
    consumer('CommandLineEventConsumer', 'WindowsParentalControlsMigration', {
      CommandLineTemplate: `C:\\WINDOWS\\System32\\WindowsPowerShell\\v1.0\\powershell.exe -NonInteractive -enc ${POSHSPY_B64}`,
    }),
  );

// ---- Metasploit exploit/windows/local/wmi_persistence, USERNAME trigger (the hayabusa 5861 sample). -------
export const MSF_DECODED = "Write-Output 'wmiscope test: metasploit-style payload'";
export const MSF_B64 =
  'VwByAGkAdABlAC0ATwB1AHQAcAB1AHQAIAAnAHcAbQBpAHMAYwBvAHAAZQAgAHQAZQBzAHQAOgAgAG0AZQB0AGEAcwBwAGwAbwBpAHQALQBzAHQAeQBsAGUAIABwAGEAeQBsAG8AYQBkACcA';
export const metasploit = (): JoinedSubscription =>
  full(
    filter(
      'UPDATER',
      "SELECT * FROM __InstanceCreationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_NTLogEvent' AND Targetinstance.EventCode = '4625' And Targetinstance.Message Like '%mssqladmin%'",
      { EventNamespace: 'root/cimv2' },
    ),
    consumer('CommandLineEventConsumer', 'UPDATER', { CommandLineTemplate: `powershell.exe -nop -w hidden -noni -e ${MSF_B64}` }),
  );

// ---- WannaMine (INCIBE-CERT cleaner): SCM Event8 Log Filter/Consumer, CommandLineEventConsumer, payload in
// the static class root\default:systemcore_Updater8 (properties mimi/funs/sc). The command line is a stand-in
// of that pattern (read a property, decode, run) — the sources name the objects, not the command.
export const wannamine = (): JoinedSubscription =>
  full(
    filter('SCM Event8 Log Filter', "SELECT * FROM __InstanceModificationEvent WITHIN 5600 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System'"),
    consumer('CommandLineEventConsumer', 'SCM Event8 Log Consumer', {
      CommandLineTemplate:
        "powershell.exe -NoP -NonI -W Hidden \"$fun = ([WmiClass]'root\\default:systemcore_Updater8').Properties['funs'].Value; [Text.Encoding]::ASCII.GetString([Convert]::FromBase64String($fun)) | iex\"",
    }),
    {
      observations: [
        obs(null, 'present', null, null, {
          source: 'cim',
          namespace: 'ROOT\\default',
          className: 'systemcore_Updater8',
          properties: { funs: 'QUFB'.repeat(1500), mimi: 'short' },
        }),
      ],
    },
  );

// ---- Atomic Red Team T1546.003: uptime 240–325 s trigger; notepad.exe / VBScript WScript.Shell. -----------
const ATOMIC_QUERY =
  "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System' AND TargetInstance.SystemUpTime >= 240 AND TargetInstance.SystemUpTime < 325";
export const atomicCommandLine = (): JoinedSubscription =>
  full(
    filter('AtomicRedTeam-WMIPersistence-CommandLineEventConsumer-Example', ATOMIC_QUERY, { EventNamespace: 'root\\CimV2' }),
    consumer('CommandLineEventConsumer', 'AtomicRedTeam-WMIPersistence-CommandLineEventConsumer-Example', { CommandLineTemplate: 'C:\\Windows\\System32\\notepad.exe' }),
  );
export const atomicActiveScript = (): JoinedSubscription =>
  full(
    filter('AtomicRedTeam-WMIPersistence-ActiveScriptEventConsumer-Example', ATOMIC_QUERY, { EventNamespace: 'root\\CimV2' }),
    consumer('ActiveScriptEventConsumer', 'AtomicRedTeam-WMIPersistence-ActiveScriptEventConsumer-Example', {
      ScriptingEngine: 'VBScript',
      ScriptText: 'Set objws = CreateObject("Wscript.Shell")\r\nobjws.Run "notepad.exe", 0, True\r\n',
    }),
  );

// ---- WMIGhost (EVTX-ATTACK-SAMPLES wmighost_sysmon_20_21_1.evtx): Sysmon 20 + 21 only, no filter record. --
export const WMIGHOST_SCRIPT = (): string => readFileSync(path.join(repoRoot(), 'test/fixtures/rules/wmighost-scripttext.js.txt'), 'utf8');
export const wmighost = (): JoinedSubscription =>
  input({
    consumer: consumer('ActiveScriptEventConsumer', 'ProbeScriptFint', { ScriptText: WMIGHOST_SCRIPT() }),
    binding: {
      namespace: SUB,
      className: '__FilterToConsumerBinding',
      name: null,
      values: { Consumer: '\\\\.\\root\\subscription:ActiveScriptEventConsumer.Name="ProbeScriptFint"', Filter: '\\\\.\\root\\subscription:__EventFilter.Name="ProbeScriptFint"' },
    },
    observations: [obs('consumer', 'modified', '2019-04-03T18:11:54.1780000Z', 'PC04\\IEUser'), obs('binding', 'modified', '2019-04-03T18:11:54.1980000Z', 'PC04\\IEUser')],
  });

// ---- BotFilter82 / BotConsumer23 (EVTX-ATTACK-SAMPLES sysmon_20_21_1_CommandLineEventConsumer.evtx). -----
export const botnet = (): JoinedSubscription =>
  input({
    status: 'deleted',
    filter: { namespace: SUB, className: '__EventFilter', name: 'BotFilter82', values: { Name: 'BotFilter82', EventNamespace: 'root\\cimv2', Query: "SELECT * FROM __InstanceModificationEvent WITHIN 10 WHERE TargetInstance ISA 'Win32_PerfFormattedData_PerfOS_System'" } },
    consumer: consumer('CommandLineEventConsumer', 'BotConsumer23', { CommandLineTemplate: 'c:\\Windows\\System32\\cmd.exe' }),
    binding: binding('BotFilter82', 'CommandLineEventConsumer', 'BotConsumer23'),
    observations: [
      obs('consumer', 'created', '2019-05-11T17:58:23.3400000Z', 'IEWIN7\\IEUser', { location: 'record 16111' }),
      obs('binding', 'created', '2019-05-11T17:58:23.4180000Z', 'IEWIN7\\IEUser', { location: 'record 16112' }),
      obs('filter', 'created', '2019-05-11T17:58:39.7460000Z', 'IEWIN7\\IEUser', { location: 'record 16115' }),
      obs('consumer', 'deleted', '2019-05-11T17:58:54.9030000Z', 'IEWIN7\\IEUser', { location: 'record 16120' }),
      obs('filter', 'deleted', '2019-05-11T17:58:54.9810000Z', 'IEWIN7\\IEUser', { location: 'record 16121' }),
      obs('binding', 'deleted', '2019-05-11T17:58:55.0900000Z', 'IEWIN7\\IEUser', { location: 'record 16123' }),
    ],
  });

// ---- Custom namespace root\totallylegit (Velociraptor's WmiEventingNoisemaker); script is a stand-in. ------
const TL = 'ROOT\\totallylegit';
export const totallyLegitScript = (): JoinedSubscription =>
  input({
    namespace: TL,
    filter: filter('TotallyLegitFilter', "SELECT * FROM __InstanceModificationEvent WITHIN 60 WHERE TargetInstance ISA 'Win32_LocalTime' AND TargetInstance.Second = 0", {}, TL),
    consumer: consumer(
      'ActiveScriptEventConsumer',
      'TotallyLegitConsumer',
      { ScriptingEngine: 'VBScript', ScriptText: 'Set fso = CreateObject("Scripting.FileSystemObject")\nSet f = fso.CreateTextFile("C:\\Windows\\Temp\\totallylegit.txt", True)\nf.WriteLine Now\nf.Close' },
      TL,
    ),
    binding: binding('TotallyLegitFilter', 'ActiveScriptEventConsumer', 'TotallyLegitConsumer', TL),
  });
export const totallyLegitCustomClass = (): JoinedSubscription =>
  input({
    namespace: TL,
    consumer: consumer('TotallyLegitConsumer', 'Beacon', { Payload: 'ping' }, TL),
    consumerChain: ['__SystemClass', '__IndicationRelated', '__EventConsumer', 'TotallyLegitConsumer'],
    filter: filter('TotallyLegitFilter', 'SELECT * FROM __InstanceCreationEvent WITHIN 5 WHERE TargetInstance ISA "Win32_Service"', {}, TL),
    binding: binding('TotallyLegitFilter', 'TotallyLegitConsumer', 'Beacon', TL),
  });
