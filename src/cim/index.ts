/**
 * `wmiscope/cim`: a zero-dependency reader of the offline WMI repository (OBJECTS.DATA, INDEX.BTR,
 * MAPPING*.MAP; Vista+ and XP/2003 formats; gzip'd copies read transparently).
 *
 * ```ts
 * import { CimRepository } from 'wmiscope/cim';
 * const repo = CimRepository.open('C:/case/Windows/System32/wbem/Repository');
 * const { filters, consumers, bindings } = repo.subscriptions(); // every namespace
 * ```
 */
export { CimRepository, parseObjectPath, sidFromBytes } from './repository.js';
export type { CimOpenOptions } from './repository.js';
export { CimFormatError, nameHash } from './files.js';
export type * from './types.js';
export { parseMapping, pickCurrent, parseIndexPage, walkIndex, parseToc, keyLocation, PAGE_SIZE } from './store.js';
export type { MappingFile, MapSection, IndexPage, TocEntry } from './store.js';
export { parseClassDefinition, parseInstanceHeader, cimString, typeName } from './records.js';
export type { RawClass, RawProperty, RawInstance } from './records.js';
