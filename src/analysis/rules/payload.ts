/**
 * Payload rules: what the consumer would run (command line, script, custom-class strings, decoded payloads) and
 * payloads stored in WMI classes. Nothing is ever executed: payloads are only matched as text and base64-decoded
 * (decode.ts).
 */
import { escapeControl, oneLine } from '../decode.js';
import type { LabelledText, RuleContext } from './context.js';
import { describe, hits } from './match.js';
import type { Fire, Rule, RuleInfo } from './rule.js';

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

/** A string at least this long in a WMI class property counts as a stored payload. */
const STATIC_PAYLOAD_CHARS = 2048;

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

/** The first text (payloads, then decoded payloads) in which `re` matches, described. */
function onAll(everything: readonly LabelledText[], re: RegExp): Fire | null {
  for (const { label, text } of everything) {
    const hs = hits(re, text);
    if (hs.length > 0) return { evidence: describe(hs, label) };
  }
  return null;
}

/** A rule that fires on the first text the consumer would run in which `re` matches. */
const textRule = (rule: Omit<RuleInfo, 'theme'>, re: RegExp): Rule<RuleContext> => ({ ...rule, theme: 'payload', check: ({ everything }) => onAll(everything, re) });

export const PAYLOAD_RULES: ReadonlyArray<Rule<RuleContext>> = [
  textRule({ id: 'payload-powershell', title: 'Payload runs PowerShell', attack: ['T1059.001'], score: 20 }, RE.powershell),
  {
    id: 'payload-encoded-command',
    title: 'Encoded PowerShell command (-enc base64; decoded text shown)',
    attack: ['T1027', 'T1059.001'],
    score: 25,
    theme: 'payload',
    check: ({ decoded, undecoded }) => {
      if (decoded.length > 0) {
        const d = decoded[0]!;
        const more = decoded.length > 1 ? ` (+${decoded.length - 1} more${decoded.some((x) => x.depth > 1) ? ', nested' : ''})` : '';
        return { evidence: `${d.via} ${d.encoded.slice(0, 24)}${d.encoded.length > 24 ? '…' : ''} decodes to: ${oneLine(d.text, 300)}${more}` };
      }
      if (undecoded.length > 0) {
        // an encoded command is there even when what it runs cannot be shown
        const u = undecoded[0]!;
        return { evidence: `${u.via} ${oneLine(u.encoded, 24)} does not decode (${u.why})${undecoded.length > 1 ? ` (+${undecoded.length - 1} more)` : ''}` };
      }
      return null;
    },
  },
  textRule({ id: 'payload-stealth-flags', title: 'PowerShell hidden / non-interactive / no profile / policy bypass', attack: ['T1564.003', 'T1059.001'], score: 10 }, RE.stealth),
  textRule({ id: 'payload-download', title: 'Download cradle (WebClient, Invoke-WebRequest, BITS, certutil, XMLHTTP, ADODB.Stream, …)', attack: ['T1105'], score: 30 }, RE.download),
  {
    id: 'payload-lolbin',
    title: 'Command interpreter or system binary proxy (cmd, cscript, wscript, mshta, rundll32, regsvr32, …)',
    attack: [...new Set(Object.values(LOLBIN_ATTACK))],
    score: 15,
    theme: 'payload',
    check: ({ everything }) => {
      for (const { label, text } of everything) {
        const hs = hits(RE.lolbin, text, 20);
        if (hs.length > 0) {
          const names = [...new Set(hs.map((h) => h.what.toLowerCase().replace(/\.exe$/, '')))];
          return { evidence: describe(hs, label), attack: [...new Set(names.map((n) => LOLBIN_ATTACK[n]!).filter(Boolean))] };
        }
      }
      return null;
    },
  },
  textRule({ id: 'payload-user-writable-path', title: 'Payload uses a user-writable path (Temp, Public, AppData, ProgramData)', attack: ['T1546.003'], score: 15 }, RE.userPath),
  {
    id: 'payload-network-indicator',
    title: 'URL, IP address or UNC path in the payload',
    attack: ['T1071.001'],
    score: 15,
    theme: 'payload',
    check: ({ everything }) => {
      for (const { label, text } of everything) {
        const urls = hits(RE.url, text);
        const ips = hits(RE.ipv4, text).filter((h) => !/^(?:127\.|0\.0\.0\.0$|255\.255\.255\.255$)/.test(h.what));
        const uncs = hits(RE.unc, text);
        const all = [...urls, ...ips, ...uncs];
        if (all.length > 0) return { evidence: `${[...new Set(all.map((h) => h.what))].slice(0, 5).map((w) => `"${escapeControl(w)}"`).join(', ')} in ${label}` };
      }
      return null;
    },
  },
  textRule({ id: 'payload-dynamic-code', title: 'Payload runs code built at run time (eval, Execute, IEX / Invoke-Expression)', attack: ['T1059', 'T1027'], score: 15 }, RE.dynamic),
  {
    id: 'payload-obfuscation',
    title: 'Obfuscated payload (char-code building, XOR, compression, long base64, escape tricks)',
    attack: ['T1027'],
    score: 15,
    theme: 'payload',
    check: ({ everything, decoded }) => {
      const decodedBlobs = new Set(decoded.map((d) => d.encoded.replace(/=+$/, '')));
      for (const { label, text } of everything) {
        const hs = hits(RE.obfuscation, text);
        const blobs = hits(RE.base64Blob, text).filter((h) => ![...decodedBlobs].some((b) => b.startsWith(h.what.replace(/=+$/, '').slice(0, 64))));
        if (hs.length > 0) return { evidence: describe(hs, label) };
        if (blobs.length > 0) return { evidence: `base64-like text of ${blobs[0]!.what.length} characters in ${label}: ${blobs[0]!.what.slice(0, 40)}…` };
      }
      return null;
    },
  },
  textRule({ id: 'payload-fileless-storage', title: 'Payload read from a WMI class property or the registry (fileless storage)', attack: ['T1027.011'], score: 20 }, RE.fileless),
  {
    id: 'script-process-start',
    title: 'Script starts processes (WScript.Shell, .Run, ShellExecute, Win32_Process.Create, Start-Process)',
    attack: ['T1059.005', 'T1059.007'],
    score: 20,
    theme: 'payload',
    check: ({ script, decoded }) => {
      if (script) {
        const hs = hits(RE.processStart, script);
        if (hs.length > 0) return { evidence: describe(hs, 'ScriptText') };
      }
      for (const d of decoded) {
        const hs = hits(RE.processStart, d.text).filter((h) => /Start-Process|Win32_Process/i.test(h.what));
        if (hs.length > 0) return { evidence: describe(hs, 'decoded payload') };
      }
      return null;
    },
  },
  {
    id: 'static-class-payload',
    title: 'WMI class holding a large payload string (WannaMine pattern)',
    attack: ['T1027.011'],
    score: 25,
    theme: 'payload',
    // objects that are not subscription parts; repository objects only: a long PowerShell script block in a log is
    // not a stored payload
    check: ({ observations }) => {
      for (const o of observations) {
        if (o.part !== null || (o.source !== 'cim' && o.source !== 'cim-residue') || !o.className) continue;
        const big = Object.entries(o.properties).find(([, v]) => typeof v === 'string' && v.length >= STATIC_PAYLOAD_CHARS);
        if (big) return { evidence: `${o.namespace ? `${o.namespace}:` : ''}${o.className ?? '(class)'}${o.name ? ` "${o.name}"` : ''} property ${big[0]} holds ${(big[1] as string).length} characters: ${oneLine(big[1] as string, 60)}` };
      }
      return null;
    },
  },
];
