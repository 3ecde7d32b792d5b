/**
 * The CSV report (issue 14): creator, the first observation's file and EventRecordID, the allow-list verdict,
 * `...` for a cut value, and `--csv-bom` for Excel. Parsed with csv-parse (RFC 4180), on real evidence.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { scan } from '../src/scan.js';
import { CSV_COLUMNS, formatCsv, formatReport, UTF8_BOM } from '../src/report/index.js';
import type { ScanResult } from '../src/model/types.js';
import { repoRoot, samplesDir, skipReason } from './support/samples.js';
import { GOOD_LOG, runCli } from './support/child.js';

const SYSMON_EVTX = join(repoRoot(), 'test/fixtures/evtx/sysmon_20_21_1_CommandLineEventConsumer.evtx');
const WIN10_REPO = join(samplesDir(), 'cim/dissect-cim-win10');

/** RFC 4180 records as objects keyed by the header (csv-parse: strict quoting, every row as wide as the header). */
function rows(text: string, bom = false): Record<string, string>[] {
  const records = parse(text, { bom, columns: true, relax_quotes: false, relax_column_count: false, skip_empty_lines: false }) as Record<string, string>[];
  return records;
}

test('csv: creator, first file and EventRecordID, allow-list verdict from a real Sysmon log and a real repository', { skip: skipReason }, async () => {
  const r = await scan([SYSMON_EVTX, WIN10_REPO], { threads: 1 });
  const text = formatCsv(r);
  const header: string[] = text.slice(0, text.indexOf('\r\n')).split(',');
  for (const c of ['creator', 'first_file', 'first_record', 'allowlist', 'allowlisted']) assert.ok(header.includes(c), c);
  assert.deepEqual(header, [...CSV_COLUMNS]);
  const byConsumer = new Map(rows(text).map((x) => [x['consumer_name'], x]));
  const bot = byConsumer.get('BotConsumer23');
  assert.ok(bot);
  // Sysmon 20 record 16111 created the consumer first (17:58:23.340), by IEWIN7\IEUser
  assert.equal(bot['creator'], 'IEWIN7\\IEUser');
  assert.equal(bot['first_file'], SYSMON_EVTX);
  assert.equal(bot['first_record'], '16111');
  assert.equal(bot['first_seen'], '2019-05-11T17:58:23.3400000Z');
  assert.equal(bot['allowlisted'], 'false');
  assert.equal(bot['allowlist'], '');
  // the repository's built-in SCM Event Log subscription: allow-listed, made by BUILTIN\Administrators, no record id
  const scm = byConsumer.get('SCM Event Log Consumer');
  assert.ok(scm);
  assert.equal(scm['allowlisted'], 'true');
  assert.equal(scm['allowlist'], 'default: SCM Event Log Filter -> SCM Event Log Consumer');
  assert.equal(scm['creator'], 'S-1-5-32-544');
  assert.ok(scm['first_file']!.startsWith(WIN10_REPO), scm['first_file']);
  assert.equal(scm['first_record'], '');
  // the values are the finding's own
  const f = r.findings.find((x) => x.consumer?.name === 'SCM Event Log Consumer')!;
  assert.deepEqual(scm['allowlist'], `${f.allowlisted!.by}: ${f.allowlisted!.entry}`);
});

test('csv: a value cut short ends in "..." (never U+2026), and the other cells stay as they were', async () => {
  const r = await scan([SYSMON_EVTX], { threads: 1 });
  const copy: ScanResult = structuredClone(r);
  const f = copy.findings[0]!;
  f.summary = 'powershell.exe -NoP -W Hidden -Enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoA…';
  f.who = ['CORP\\admin…'];
  const text = formatCsv(copy);
  assert.ok(!text.includes('\u2026'), 'an ellipsis character in the CSV');
  const row = rows(text)[0]!;
  assert.equal(row['summary'], 'powershell.exe -NoP -W Hidden -Enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoA...');
  assert.equal(row['creator'], 'CORP\\admin...');
  // a cut value that opens like a formula is still neutralised after the ellipsis is rewritten
  f.summary = '=cmd|…';
  assert.equal(rows(formatCsv(copy))[0]!['summary'], "'=cmd|...");
});

test('csv: csvBom starts the text with a UTF-8 BOM; without it, none; csv-parse reads both to the same records', async () => {
  const r = await scan([SYSMON_EVTX], { threads: 1 });
  const plain = formatReport(r, 'csv');
  const bom = formatReport(r, 'csv', { csvBom: true });
  assert.ok(!plain.startsWith(UTF8_BOM));
  assert.equal(bom, UTF8_BOM + plain);
  assert.deepEqual(Buffer.from(bom, 'utf8').subarray(0, 3), Buffer.from([0xef, 0xbb, 0xbf]));
  assert.deepEqual(rows(bom, true), rows(plain));
  // the option is the CSV's only: the other formats ignore it
  assert.equal(formatReport(r, 'jsonl', { csvBom: true }), formatReport(r, 'jsonl'));
});

test('cli: scan --csv-bom writes the BOM to stdout and to -o FILE.csv; without it no BOM', async () => {
  const withBom = await runCli(['scan', '-q', '-f', 'csv', '--csv-bom', GOOD_LOG], { timeoutMs: 60_000 });
  assert.equal(withBom.code, 1, withBom.stderr); // one high finding: exit 1 (--fail-on high)
  assert.ok(withBom.stdout.startsWith(UTF8_BOM + 'id,host,'), JSON.stringify(withBom.stdout.slice(0, 20)));
  const dir = mkdtempSync(join(tmpdir(), 'wmiscope-csv-'));
  try {
    const out = join(dir, 'report.csv');
    const toFile = await runCli(['scan', '-q', '--csv-bom', '-o', out, GOOD_LOG], { timeoutMs: 60_000 });
    assert.equal(toFile.code, 1, toFile.stderr);
    const bytes = readFileSync(out);
    assert.deepEqual(bytes.subarray(0, 3), Buffer.from([0xef, 0xbb, 0xbf]));
    assert.equal(rows(bytes.toString('utf8'), true)[0]!['consumer_name'], 'BotConsumer23');
    const without = await runCli(['scan', '-q', '-f', 'csv', GOOD_LOG], { timeoutMs: 60_000 });
    assert.ok(without.stdout.startsWith('id,host,'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('csv: in a cell of several values, a value after ";" cannot open a formula, and the cell is quoted (one cell also where ";" separates fields)', async () => {
  const r = await scan([SYSMON_EVTX], { threads: 1 });
  const copy: ScanResult = structuredClone(r);
  const f = copy.findings[0]!;
  f.who = ['IEWIN7\\IEUser', "=cmd|' /C calc'!A0", '@SUM(1)'];
  const text = formatCsv(copy);
  assert.ok(text.includes(`"IEWIN7\\IEUser;'=cmd|' /C calc'!A0;'@SUM(1)"`), text);
  assert.equal(rows(text)[0]!['creator'], "IEWIN7\\IEUser;'=cmd|' /C calc'!A0;'@SUM(1)");
  // the reasons cell (rule ids joined by ";") is quoted too
  assert.match(text.split("\r\n")[1]!, /,"consumer-exec;[^"]*",/);
});

test('csv: a value holding ";" itself (a Sigma rule id is the rule writer\'s text) cannot open a formula after it either', async () => {
  const r = await scan([SYSMON_EVTX], { threads: 1 });
  const copy: ScanResult = structuredClone(r);
  const f = copy.findings[0]!;
  f.reasons.push({ id: 'sigma:x;=HYPERLINK("http://example.invalid")', title: 't', attack: [], evidence: 'e', score: 0 });
  f.who = ['a;+1', 'b'];
  const cells = rows(formatCsv(copy))[0]!;
  assert.match(cells['reasons']!, /;sigma:x;'=HYPERLINK\("http:\/\/example\.invalid"\)$/);
  assert.equal(cells['creator'], "a;'+1;b");
});
