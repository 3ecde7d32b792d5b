/**
 * `wmiscope/cim`: a zero-dependency reader of the offline WMI repository (OBJECTS.DATA, INDEX.BTR,
 * MAPPING*.MAP; Vista+ and XP/2003 formats; gzip'd copies read transparently). Files on disk are read page by
 * page through a bounded cache (`CimOpenOptions.pageCacheBytes`, 64 MiB by default), never whole.
 *
 * ```ts
 * import { CimRepository } from 'wmiscope/cim';
 * const repo = CimRepository.open('C:/case/Windows/System32/wbem/Repository');
 * const { filters, consumers, bindings } = repo.subscriptions(); // every namespace
 * repo.close(); // the files stay open until then
 * ```
 */
export { CimRepository, parseObjectPath, sidFromBytes } from './repository.js';
export type { CimOpenOptions } from './repository.js';
export { CimError, CimFormatError, RecordError } from './errors.js';
export { nameHash } from './files.js';
export type * from './types.js';
export { parseMapping, pickCurrent, parseIndexPage, walkIndex, parseToc, keyLocation, PAGE_SIZE } from './store.js';
export type { MappingFile, MapSection, IndexPage, TocEntry } from './store.js';
export { BufferPageSource, FilePageSource, DEFAULT_PAGE_CACHE_BYTES } from './pages.js';
export type { PageSource } from './pages.js';
export { parseClassDefinition, parseClassHeader, parseInstanceHeader, cimString, typeName } from './records.js';
export type { ClassHeader, RawClass, RawProperty, RawInstance } from './records.js';
