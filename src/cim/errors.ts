/**
 * The CIM reader's one error class, and the two kinds of it callers tell apart. Every problem the reader finds in the
 * repository's bytes is a CimError; what it says names the structure or field that could not be read. Most never
 * leave the reader: a damaged page, record or key becomes a warning (`CimWarning`) and the rest is read.
 *
 * - CimFormatError: the folder holds no readable repository (no INDEX.BTR or mapping file, a mapping file that does
 *   not parse, gzip data that does not inflate). The only error CimRepository.open throws for what the files hold.
 * - RecordError: a class definition or instance record that cannot be decoded (the caller turns it into a warning).
 *
 * Errors of the file system (a file that cannot be opened or read) are Node's own and are not wrapped.
 */

/** A structure of the repository that cannot be read as the format says (cim-format.md). */
export class CimError extends Error {
  /** The field being read when it failed (`index page key count`, `class qualifiers`…), when one field is to blame. */
  readonly field: string | undefined;

  constructor(message: string, field?: string) {
    super(message);
    this.name = 'CimError';
    this.field = field;
  }
}

/** No repository can be found or read there: a required file missing or not a repository file. */
export class CimFormatError extends CimError {
  constructor(message: string, field?: string) {
    super(message, field);
    this.name = 'CimFormatError';
  }
}

/** A class-definition or instance record that cannot be decoded; callers turn it into a warning. */
export class RecordError extends CimError {
  constructor(message: string, field?: string) {
    super(message, field);
    this.name = 'RecordError';
  }
}
