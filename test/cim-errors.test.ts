/**
 * The CIM reader's one error class: what the reader cannot read in the repository's bytes is a CimError naming the
 * field it was reading; CimFormatError (no readable repository) and RecordError (a record that cannot be decoded)
 * are kinds of it. Small built inputs, no samples needed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CimError, CimFormatError, CimRepository, PAGE_SIZE, RecordError, parseClassDefinition, parseIndexPage, parseInstanceHeader, parseMapping } from '../src/cim/index.js';

function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return assert.fail('did not throw');
}

test('an index page whose key count does not fit is a CimError naming the field', () => {
  const page = Buffer.alloc(PAGE_SIZE);
  page.writeUInt32LE(5000, 16); // key count
  const e = thrown(() => parseIndexPage(page, 0));
  assert.ok(e instanceof CimError && !(e instanceof CimFormatError));
  assert.equal(e.field, 'index page key count');
  assert.equal(e.message, 'key count 5000 does not fit the page');
  const short = thrown(() => parseIndexPage(Buffer.alloc(100), 0));
  assert.ok(short instanceof CimError);
  assert.equal(short.field, 'index page');
});

test('records that cannot be decoded are RecordErrors (CimErrors) naming the field', () => {
  const cls = Buffer.alloc(8);
  cls.writeUInt32LE(1000, 0); // superclass name length far past the record
  const e = thrown(() => parseClassDefinition(cls));
  assert.ok(e instanceof RecordError && e instanceof CimError);
  assert.equal(e.field, 'superclass name');
  const inst = thrown(() => parseInstanceHeader(Buffer.alloc(200, 0x41), '2.2'));
  assert.ok(inst instanceof RecordError);
  assert.equal(inst.field, 'instance class-name hash');
});

test('no readable repository is a CimFormatError (a CimError); a mapping file that does not parse names its field', () => {
  const e = thrown(() => parseMapping(Buffer.alloc(64), 'MAPPING1.MAP'));
  assert.ok(e instanceof CimFormatError && e instanceof CimError);
  assert.equal(e.field, 'objects map signature');
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-cim-errors-'));
  try {
    writeFileSync(join(dir, 'INDEX.BTR'), Buffer.alloc(PAGE_SIZE));
    writeFileSync(join(dir, 'MAPPING1.MAP'), Buffer.alloc(64));
    const open = thrown(() => CimRepository.open(dir));
    assert.ok(open instanceof CimFormatError);
    assert.equal(open.name, 'CimFormatError');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
