/**
 * Builds, for tests, the members of a Velociraptor collection of `Custom.Windows.Persistence.WMIScope` in the layout
 * Velociraptor writes (Velocidex/velociraptor at cd02ac66343b6c84d4706708eba00a7e243ffac9, read for facts only):
 *
 * - "Download collection" (vql/server/downloads/downloads.go `downloadFlowToZip`): `client_info.json` (the client's
 *   ClientInfo, proto JSON names), `collection_context.json` (the flow's ArtifactCollectorContext), `requests.json`,
 *   `log.json` (JSONL `{_ts, client_time, level, message}`, flows/logs.go), `results/<artifact/source>.json` (JSONL),
 *   the uploads at `uploads/<accessor>/<the client's path components>` and `uploads.json` (the upload metadata rows of
 *   flows/client_flow_runner.go with `_Components` rewritten to the container path).
 * - Every path component in the zip is escaped by `utils.SanitizeStringForZip` (utils/sanitize.go, through
 *   `paths.ZipPathFromFSPathSpec`): `?"*:|<>%/\` and a leading `.`/space or trailing `.`/space become `%XX`
 *   (upper-case hex); other characters, non-ASCII included, are kept. So `\\.\C:` is `%5C%5C.%5CC%3A`, the artifact
 *   source `Custom.Windows.Persistence.WMIScope/Repository` is `Custom.Windows.Persistence.WMIScope%2FRepository` and
 *   the log file `Microsoft-Windows-Sysmon%4Operational.evtx` is `Microsoft-Windows-Sysmon%254Operational.evtx`.
 * - Path components of an upload (accessors/manipulators.go): the ntfs accessor's first component is the device
 *   `\\.\C:`; the file/auto accessors' first component on Windows is the drive `C:` (accessors/manipulators_test.go
 *   has `uploads/auto/C%3A` and `uploads/ntfs/%5C%5C.%5CC%3A` as zip paths).
 * - A hunt download (`createHuntDownloadFile`): `hunt_info.json`, `results/All <artifact/source>.json` (every client's
 *   rows plus `FlowId`, `ClientId`, `Fqdn`) and one collection per client under `<hostname>-<client id>/`.
 */
import { VELOCIRAPTOR_CLIENT_ARTIFACT, VELOCIRAPTOR_COLLECTOR_UPLOAD } from '../../src/collector/velociraptor.js';
import type { ZipMember } from './zip-writer.js';

/** The escaping of `utils.SanitizeStringForZip` for one path component (valid UTF-16 text; at most 1024 characters). */
export function sanitizeForZip(component: string): string {
  const esc = (c: string): string => `%${c.charCodeAt(0).toString(16).toUpperCase().padStart(2, '0')}`;
  const chars = [...component];
  let out = '';
  chars.forEach((c, i) => {
    if (i === 0 && (c === '.' || c === ' ')) out += esc(c);
    else if ('?"*:|<>%/\\'.includes(c)) out += esc(c);
    else out += c;
  });
  if (out.endsWith('.') || out.endsWith(' ')) out = out.slice(0, -1) + esc(out.slice(-1));
  return out;
}

/** A zip member name from unescaped components (each escaped as Velociraptor does). */
export const zipPath = (components: readonly string[]): string => components.map(sanitizeForZip).join('/');

/** One file the client artifact uploaded: the accessor, the client's path components and the bytes. */
export interface VrUpload {
  part: 'repository' | 'eventlog' | 'collector';
  /** The log's channel name, the repository file's name, the collector document's upload name. */
  item: string;
  accessor: 'ntfs' | 'auto' | 'file';
  /** The path's components as the accessor gives them (`\\.\C:`, `Windows`, …). */
  components: string[];
  data: Buffer;
}

/** A result row of the client artifact that uploaded nothing (skipped, missing, not collected). */
export interface VrOtherRow {
  part: 'repository' | 'eventlog' | 'collector';
  item: string | null;
  path: string | null;
  size: number | null;
  action: 'skipped' | 'not found' | 'not collected' | 'failed';
  reason: string;
}

export interface VrClient {
  clientId: string;
  hostname: string;
  fqdn: string;
  flowId: string;
  uploads: VrUpload[];
  others?: VrOtherRow[];
}

const SOURCES = { repository: 'Repository', eventlog: 'EventLogs', collector: 'Collector' } as const;
const T0 = 1_733_560_000; // a fixed epoch second for the metadata

/** The Windows path an accessor shows for these components (`\\.\C:\Windows\…`, `C:\Windows\…`). */
function osPath(components: readonly string[]): string {
  return components.join('\\');
}

/** The client artifact's result rows of one source, as JSONL (the columns its VQL selects). */
function resultRows(client: VrClient, part: VrUpload['part']): string[] {
  const rows: string[] = [];
  for (const u of client.uploads.filter((x) => x.part === part)) {
    const stored = ['uploads', u.accessor, ...u.components];
    rows.push(
      JSON.stringify({
        Part: part,
        Item: u.item,
        Path: u.accessor === 'file' ? `C:\\Windows\\Temp\\tmp${client.flowId.slice(2, 10)}.json` : osPath(u.components),
        Size: u.data.length,
        Action: 'uploaded',
        Reason: part === 'repository' ? 'a WMI repository file, read through the ntfs accessor' : part === 'eventlog' ? 'an event log wmiscope reads' : "the wmiscope collector's document (every namespace of the live WMI service)",
        Upload: { Path: osPath(u.components), Size: u.data.length, StoredSize: u.data.length, StoredName: '/' + zipPath(stored), Components: stored, Accessor: u.accessor },
        ...(part === 'collector' ? { ReturnCode: 0, Stderr: '' } : {}),
      }),
    );
  }
  for (const o of (client.others ?? []).filter((x) => x.part === part)) {
    rows.push(JSON.stringify({ Part: part, Item: o.item, Path: o.path, Size: o.size, Action: o.action, Reason: o.reason, Upload: null }));
  }
  return rows;
}

/** The members of one client's collection, under `prefix` (empty for a collection zip). */
export function collectionMembers(client: VrClient, prefix: string[] = []): ZipMember[] {
  const at = (components: string[]): string => zipPath([...prefix, ...components]);
  const parts = (['repository', 'eventlog', 'collector'] as const).filter((p) => resultRows(client, p).length > 0);
  const sources = parts.map((p) => `${VELOCIRAPTOR_CLIENT_ARTIFACT}/${SOURCES[p]}`);
  const members: ZipMember[] = [];
  members.push({
    name: at(['client_info.json']),
    data: JSON.stringify({ client_id: client.clientId, hostname: client.hostname, fqdn: client.fqdn, system: 'windows', release: 'Microsoft Windows 10 Enterprise 10.0.19045 Build 19045', architecture: 'amd64', client_version: '0.76.1', client_name: 'velociraptor', first_seen_at: T0 - 86400, labels: [], last_interrogate_flow_id: 'F.CT0INTERROG' }, null, ' '),
  });
  members.push({
    name: at(['collection_context.json']),
    data: JSON.stringify(
      {
        client_id: client.clientId,
        session_id: client.flowId,
        request: { creator: 'admin', client_id: client.clientId, artifacts: [VELOCIRAPTOR_CLIENT_ARTIFACT], max_upload_bytes: 1073741824, timeout: 3600 },
        create_time: T0 * 1e6,
        start_time: T0 * 1e6,
        active_time: (T0 + 60) * 1e6,
        total_uploaded_files: client.uploads.length,
        total_expected_uploaded_bytes: client.uploads.reduce((n, u) => n + u.data.length, 0),
        total_uploaded_bytes: client.uploads.reduce((n, u) => n + u.data.length, 0),
        total_collected_rows: parts.reduce((n, p) => n + resultRows(client, p).length, 0),
        state: 'FINISHED',
        artifacts_with_results: sources,
      },
      null,
      ' ',
    ),
  });
  members.push({ name: at(['requests.json']), data: JSON.stringify({ items: [{ session_id: client.flowId, request_id: 1 }] }, null, ' ') });
  members.push({
    name: at(['log.json']),
    data: [
      { _ts: T0, client_time: T0, level: 'INFO', message: `Starting query execution for ${VELOCIRAPTOR_CLIENT_ARTIFACT}.` },
      ...client.uploads.map((u) => ({ _ts: T0 + 1, client_time: T0 + 1, level: 'INFO', message: `Collecting file ${osPath(u.components)} into /${zipPath(['uploads', u.accessor, ...u.components])} (${u.data.length} bytes)` })),
    ]
      .map((r) => JSON.stringify(r))
      .join('\n') + '\n',
  });
  for (const p of parts) members.push({ name: at(['results', `${VELOCIRAPTOR_CLIENT_ARTIFACT}/${SOURCES[p]}.json`]), data: resultRows(client, p).join('\n') + '\n' });
  const meta: string[] = [];
  for (const u of client.uploads) {
    const container = ['uploads', u.accessor, ...u.components];
    members.push({ name: at(container), data: u.data });
    meta.push(JSON.stringify({ Timestamp: T0 + 1, started: '2024-12-07 08:26:41 +0000 UTC', vfs_path: '/' + zipPath(container), Type: '', _Components: container, file_size: u.data.length, _accessor: u.accessor, _client_components: u.components, uploaded_size: u.data.length }));
  }
  if (meta.length) members.push({ name: at(['uploads.json']), data: meta.join('\n') + '\n' });
  return members;
}

/** A hunt download of these clients: `hunt_info.json`, the combined results and each client's collection in its folder. */
export function huntMembers(huntId: string, clients: VrClient[]): ZipMember[] {
  const members: ZipMember[] = [{ name: 'hunt_info.json', data: JSON.stringify({ hunt_id: huntId, artifacts: [VELOCIRAPTOR_CLIENT_ARTIFACT], state: 'STOPPED' }, null, ' ') }];
  for (const p of ['repository', 'eventlog', 'collector'] as const) {
    const all: string[] = [];
    for (const c of clients) for (const line of resultRows(c, p)) all.push(JSON.stringify({ ...(JSON.parse(line) as object), FlowId: c.flowId, ClientId: c.clientId, Fqdn: c.fqdn }));
    if (all.length) members.push({ name: zipPath(['results', `All ${VELOCIRAPTOR_CLIENT_ARTIFACT}/${SOURCES[p]}.json`]), data: all.join('\n') + '\n' });
  }
  // services.GetHostname: the client's hostname (not its fqdn)
  for (const c of clients) members.push(...collectionMembers(c, [`${c.hostname}-${c.clientId}`]));
  return members;
}

/** The client path components of a file under `C:\Windows\…` as the ntfs accessor gives them. */
export const ntfsWindows = (...rest: string[]): string[] => ['\\\\.\\C:', 'Windows', ...rest];
/** The client path components of a file under `C:\Windows\…` as the file/auto accessors give them on Windows. */
export const driveWindows = (...rest: string[]): string[] => ['C:', 'Windows', ...rest];
/** The upload of the collector's document (`upload(name=…, accessor="file")`). */
export const collectorUpload = (data: Buffer): VrUpload => ({ part: 'collector', item: VELOCIRAPTOR_COLLECTOR_UPLOAD, accessor: 'file', components: [VELOCIRAPTOR_COLLECTOR_UPLOAD], data });
/** The .evtx file name of a channel (`/` written `%4`), as the client artifact computes it. */
export const evtxFileName = (channel: string): string => `${channel.replace(/\//g, '%4')}.evtx`;
