/**
 * The WMI vocabulary, declared once for every layer above the parsers: namespace spelling, object paths, SIDs
 * stored as byte arrays, the standard consumer classes and what each one does and who logs it, the event ids
 * that carry WMI facts. Imports nothing (the parsers `evtx/` and `cim/` keep private copies so that they stay
 * free of the rest of wmiscope). Facts: shared/reference/wmi-tradecraft.md §2–§7, evtx-notes.md §6.5.
 */

// ---- namespaces --------------------------------------------------------------------------------------------

/**
 * Canonical namespace text: backslashes, no `\\.\` / `//./` machine prefix, no trailing `:`, `ROOT` upper-cased.
 * Comparison is case-insensitive; use {@link namespaceKey} for joining.
 */
export function normalizeNamespace(ns: string): string {
  let t = ns.trim().replace(/\//g, '\\');
  t = t.replace(/^\\\\[^\\]*\\/, '').replace(/:$/, '');
  t = t.replace(/\\+/g, '\\').replace(/^\\/, '');
  return t.replace(/^root(?=\\|$)/i, 'ROOT');
}

/** Namespace comparison key: the canonical text in lower case. */
export function namespaceKey(ns: string): string {
  return normalizeNamespace(ns).toLowerCase();
}

// ---- object paths ------------------------------------------------------------------------------------------

/** A parsed object path: `\\.\ROOT\subscription:CommandLineEventConsumer.Name="x"`. */
export interface ObjectRef {
  namespace: string | null;
  className: string;
  keys: Record<string, string>;
  /** The `Name` key, the one subscriptions are joined by (null for other key shapes). */
  name: string | null;
}

/** Index of the quote `q` that closes a quoted value whose text starts at `from` (`\` escapes any character), or -1. */
function quoteEnd(t: string, from: number, q: string): number {
  for (let i = from; i < t.length; i++) {
    if (t[i] === q) return i;
    if (t[i] === '\\') i++;
  }
  return -1;
}

/**
 * An object path split into namespace, class and keys, quoted key values unescaped:
 * `[\\server\]namespace:Class.Key="v",Key2=v2`, `Class="v"` (the `Name` key), `Class=@` (a singleton), with an
 * ExecMethod path's trailing `::Method` dropped. A colon inside a quoted value never starts a namespace.
 * Null when the text is not an object path.
 *
 * Quotes inside a value: WMI writes them escaped as in C (`Name="a\"b"`, a backslash as `\\`; "WMI Object Path
 * Requirements", Microsoft Learn), and accepts values in single quotes (`Name='a"b'`). A writer that did not escape
 * them (`Name="a"b"`) is read too: a quote that is followed by neither the end nor `,` (the next key) does not
 * close the value, the last quote of the path does, and the value is taken as it is (no `\` escapes either).
 */
export function parseObjectRef(path: string): ObjectRef | null {
  let rest = path.trim().replace(/::\w+$/, '');
  let namespace: string | null = null;
  const ns = /^((?:\\\\[^\\"]+\\)?[^:"=]+):(?=[A-Za-z_])/.exec(rest);
  if (ns && !/^[A-Za-z_]\w*\./.test(ns[1]!)) {
    namespace = normalizeNamespace(ns[1]!);
    rest = rest.slice(ns[0].length);
  }
  const m = /^([A-Za-z_]\w*)(?:\.(.*)|=@|=(".*"|'.*'))?$/s.exec(rest);
  if (!m) return null;
  const keys: Record<string, string> = {};
  const body = m[2] ?? (m[3] !== undefined ? `Name=${m[3]}` : '');
  // `key="quoted"` or `key=bare` pairs, as /([A-Za-z_]\w*)=(?:"((?:[^"\\]|\\.)*)"|([^,]*))/gs would read them, in
  // linear time and stack: a key is tried only where a word starts ((?<!\w)\d*: leading digits skipped, as that
  // pattern did; unguarded, every position of a long word run starts a scan to its end), and quoted values are
  // scanned by hand (the regex engine's backtracking stack overflows on a value of a few million characters)
  const re = /(?<!\w)\d*([A-Za-z_]\w*)=/g;
  let k: RegExpExecArray | null;
  while ((k = re.exec(body))) {
    const at = re.lastIndex;
    const q = body[at] === '"' || body[at] === "'" ? body[at]! : null;
    let close = q ? quoteEnd(body, at + 1, q) : -1;
    let raw = false;
    if (q && close >= 0 && close + 1 < body.length && body[close + 1] !== ',') {
      // an unescaped quote inside the value: the value ends at the last quote of the path, and its writer did not
      // escape backslashes either
      const last = body.lastIndexOf(q);
      if (last > close) {
        close = last;
        raw = true;
      }
    }
    let value: string;
    if (close >= 0) {
      value = raw ? body.slice(at + 1, close) : body.slice(at + 1, close).replace(/\\(.)/gs, '$1');
      re.lastIndex = close + 1;
    } else {
      const comma = body.indexOf(',', at);
      const end = comma < 0 ? body.length : comma;
      value = body.slice(at, end);
      re.lastIndex = end;
    }
    if (k[1] !== '__proto__') keys[k[1]!] = value;
  }
  const nameKey = Object.keys(keys).find((x) => x.toLowerCase() === 'name');
  return { namespace, className: m[1]!, keys, name: nameKey ? keys[nameKey]! : null };
}

// ---- SIDs --------------------------------------------------------------------------------------------------

/** A binary SID as a MOF/CIM byte array (`{1, 5, 0, …}`) → `S-1-…`, or null. */
export function sidFromByteArray(v: unknown): string | null {
  if (!Array.isArray(v) || v.length < 8 || !v.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0 && x <= 255)) return null;
  const b = v as number[];
  const n = b[1]!;
  if (b.length < 8 + 4 * n) return null;
  let auth = 0;
  for (let i = 2; i < 8; i++) auth = auth * 256 + b[i]!;
  let s = `S-${b[0]}-${auth}`;
  for (let i = 0; i < n; i++) {
    const o = 8 + 4 * i;
    s += '-' + ((b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16)) + b[o + 3]! * 0x1000000);
  }
  return s;
}

// ---- consumer classes --------------------------------------------------------------------------------------

/** What one of the consumer classes Windows ships does, and who logs it. */
export interface ConsumerClassFacts {
  /** The class name as Windows spells it. */
  className: string;
  /** Runs code (a command line or a script) when its filter fires. */
  executes: boolean;
  /** The properties that decide what it does, compared exactly by the allowlist. */
  keyProperties: readonly string[];
  /**
   * What it does, hashed to stack the same subscription across hosts: no names, creators, timeouts or defaults
   * that one source has and another does not (a repository's class defaults, Sysmon's short field set).
   */
  payloadProperties: readonly string[];
  /** The text it runs or writes, read by the rules (decoding, suspicious content); empty when it runs nothing. */
  scannedProperties: readonly string[];
  /** Sysmon event 20 logs consumers of this class with this `Type`; null when Sysmon never logs the class. */
  sysmonType: 'Command Line' | 'Script' | null;
}

/** The five consumer classes Windows ships (root\subscription, root\default). Any other class is custom. */
export const CONSUMER_CLASSES: readonly ConsumerClassFacts[] = [
  {
    className: 'ActiveScriptEventConsumer',
    executes: true,
    keyProperties: ['Name', 'ScriptingEngine', 'ScriptText', 'ScriptFileName'],
    payloadProperties: ['ScriptText', 'ScriptFileName'],
    scannedProperties: ['ScriptText', 'ScriptFileName'],
    sysmonType: 'Script',
  },
  {
    className: 'CommandLineEventConsumer',
    executes: true,
    keyProperties: ['Name', 'CommandLineTemplate', 'ExecutablePath', 'WorkingDirectory'],
    payloadProperties: ['CommandLineTemplate', 'ExecutablePath'],
    scannedProperties: ['CommandLineTemplate', 'ExecutablePath', 'WorkingDirectory'],
    sysmonType: 'Command Line',
  },
  {
    className: 'LogFileEventConsumer',
    executes: false,
    keyProperties: ['Name', 'Filename', 'Text'],
    payloadProperties: ['Filename', 'Text'],
    scannedProperties: ['Filename', 'Text'],
    sysmonType: null,
  },
  {
    className: 'NTEventLogEventConsumer',
    executes: false,
    keyProperties: ['Name', 'SourceName', 'EventID', 'EventType', 'Category', 'NameOfUserSIDProperty', 'UNCServerName'],
    payloadProperties: ['SourceName', 'EventID', 'InsertionStringTemplates'],
    scannedProperties: [],
    sysmonType: null,
  },
  {
    className: 'SMTPEventConsumer',
    executes: false,
    keyProperties: ['Name', 'SMTPServer', 'ToLine', 'CcLine', 'BccLine', 'FromLine', 'ReplyToLine', 'Subject', 'Message', 'HeaderFields'],
    payloadProperties: ['ToLine', 'CcLine', 'BccLine', 'Subject', 'Message'],
    scannedProperties: [],
    sysmonType: null,
  },
];

/** The facts of a standard consumer class (any spelling of its name), or undefined for a custom class. */
export function consumerClassFacts(cls: string | null | undefined): ConsumerClassFacts | undefined {
  if (!cls) return undefined;
  const l = cls.toLowerCase();
  return CONSUMER_CLASSES.find((c) => c.className.toLowerCase() === l);
}

// ---- event ids ---------------------------------------------------------------------------------------------

/**
 * Event ids that carry WMI facts or their context: Sysmon 1 (process), 19/20/21 (filter, consumer, binding);
 * PowerShell 800/4103/4104; Security 4688 (process); WMI-Activity 5857–5861.
 */
export const WMI_EVENT_IDS: readonly number[] = [1, 19, 20, 21, 800, 4103, 4104, 4688, 5857, 5858, 5859, 5860, 5861];
