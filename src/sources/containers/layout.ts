/**
 * Facts about collection layouts shared by the folder walk (`discover.ts`) and the archive walker
 * (`archive.ts`): which names make up a WMI repository, and the host named by the folders above a Windows tree.
 * Names here are labels only: nothing in this module touches the file system.
 */

/** A file of the WMI repository set (any letter case; `.gz` copies as some collectors upload them). */
export const REPO_FILE = /^(INDEX\.BTR|OBJECTS\.DATA|MAPPING\d\.MAP|MAPPING\.VER|INDEX\.MAP|OBJECTS\.MAP)(\.GZ)?$/i;

/** Of one folder's file names, the positions of the index and of a mapping file when both are there; else null. */
export function repositorySet(names: readonly string[]): { index: number; map: number } | null {
  const up = names.map((n) => n.toUpperCase());
  const index = up.findIndex((n) => n === 'INDEX.BTR' || n === 'INDEX.BTR.GZ');
  const map = up.findIndex((n) => /^MAPPING\d\.MAP(\.GZ)?$/.test(n));
  return index >= 0 && map >= 0 ? { index, map } : null;
}

const isGzip = (b: Uint8Array): boolean => b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b;

/** The first bytes of a mapping file: its 0xABCD start signature, or a gzip'd copy. */
export function mappingHeadOk(h: Uint8Array): boolean {
  return isGzip(h) || (h.length >= 4 && (h[0]! | (h[1]! << 8) | (h[2]! << 16) | (h[3]! << 24)) >>> 0 === 0xabcd);
}

/** The first bytes of an index file: at least one page number, or a gzip'd copy. */
export function indexHeadOk(h: Uint8Array): boolean {
  return isGzip(h) || h.length >= 4;
}

/** Folder names of collector layouts and of the Windows tree: never a host name. */
const LAYOUT_PARTS = new Set([
  'repository', 'fs', 'wbem', 'system32', 'windows', 'c', 'c:', 'c%3a', '%5c%5c.%5cc%3a', 'auto', 'uploads', 'ntfs', 'mft', 'file', 'files',
  'volume', 'tout', 'collection', 'kape', 'triage', 'evidence', 'output', 'results',
]);

/**
 * Host name from the folders of a path (`HOST/C/Windows/System32/wbem/Repository`, Velociraptor
 * `<client>/uploads/auto/C%3A/Windows/…`): the nearest folder above the Windows tree (or above the last part when
 * there is no Windows folder) that is not part of a known collector layout, a drive letter or a device path.
 * Null when nothing fits. The result is raw text: escape it before showing it.
 */
export function hostFromParts(parts: readonly string[]): string | null {
  const win = parts.map((p) => p.toLowerCase()).lastIndexOf('windows');
  for (let i = (win >= 0 ? win : parts.length) - 1; i >= 0; i--) {
    const p = parts[i]!;
    if (LAYOUT_PARTS.has(p.toLowerCase()) || /^repository\.\d+$/i.test(p) || /^[a-z]:?$/i.test(p) || /^\\\\[.?]\\/.test(p) || p === '..' || p === '.') continue;
    return p;
  }
  return null;
}
