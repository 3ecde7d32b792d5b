/**
 * Hostile evidence against the output paths of issue 14, built at test time: a collector document (from the committed
 * fixture) whose host, namespace, filter, consumer and command carry terminal escapes, bidi overrides, zero-width and
 * other invisible characters, CJK and emoji outside the 1F300-1F64F block (🚀 🛸 🪐 ⚡ ⌚). The terminal report must
 * show every such character visibly or at its real width, with no line wider than `--width` (40, 80, 200; color on
 * or off; one-line, `--details`, `-v`). Also: times that must not become a wrong instant (no seconds and no zone read
 * in the machine's zone, February 30 rolled over, a zone offset no clock has), a relative bound too far back, host
 * globs that would backtrack exponentially as a regular expression, and a text time in a window.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coverage, scan } from '../src/scan.js';
import { formatCoverageText } from '../src/report/coverage.js';
import { isoToMicros } from '../src/report/timeline.js';
import { mergeInto } from '../src/sources/result.js';
import type { ObserveResult } from '../src/sources/input.js';
import { formatTable } from '../src/report/table.js';
import { textWidth } from '../src/report/text.js';
import { hostMatcher, narrowFindings, parseTimeBound } from '../src/report/select.js';
import { canonicalTime, timeFromMs } from '../src/model/time.js';
import type { Finding, ScanResult } from '../src/model/types.js';
import { evaluate } from '../src/analysis/rules/index.js';
import { DEFAULT_ALLOWLIST } from '../src/analysis/allowlist.js';
import { botnet } from './support/rule-fixtures.js';
import { repoRoot } from './support/samples.js';
import { scratchDir } from './support/tmp.js';

/** Characters a terminal shows two columns wide (East Asian Width W): the test's own width oracle. */
const WIDE = new Set([...'🚀🛸🪐⚡⌚宽']);
/** Invisible or reordering characters that must never reach the terminal raw. */
const INVISIBLE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u00a0\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\u3000\ufeff]/u;
const SGR = /\u001b\[[0-9;]*m/g;

const columns = (line: string): number => [...line.replace(SGR, '')].reduce((n, ch) => n + (WIDE.has(ch) ? 2 : 1), 0);

const H = {
  host: 'WKS\u001b]0;pwn\u0007\u202eRTL\u200b\u00a0宽宽宽宽宽宽🚀🚀🚀🚀🛸🛸🪐🪐⚡⚡⌚⌚',
  ns: 'ROOT\\sub\u001b[2J\u0085\u2066scr🚀🚀🚀宽宽宽宽宽宽宽宽宽宽宽宽宽宽宽宽',
  filter: 'F\u001b[31m\u009b2J\u202e\u200d🛸🛸🛸🛸🛸🛸🛸🛸🛸🛸🛸🛸🛸🛸🛸🛸🛸🛸🛸🛸🛸🛸',
  consumer: 'C\u0007\u001b]8;;http://evil\u001b\\link\u001b]8;;\u001b\\\u2060🪐🪐🪐🪐🪐🪐🪐🪐🪐🪐🪐🪐🪐🪐🪐🪐🪐🪐🪐🪐🪐🪐🪐',
  cmd: 'cmd.exe /c 宽宽宽宽宽宽宽宽宽宽宽宽宽宽宽宽宽宽宽宽 🚀🚀🚀🚀🚀🚀🚀🚀🚀 \u001b[5m blink \u3000⚡⚡⚡⚡⚡⚡⚡⚡',
};

/** The committed collector fixture with every name replaced by a hostile one (the bindings still resolve). */
function hostileCollector(dir: string): string {
  const doc = JSON.parse(readFileSync(join(repoRoot(), 'test/fixtures/collector/iewin7-botfilter-nested.json'), 'utf8')) as {
    host: Record<string, unknown>;
    namespaces: Array<{ name: string }>;
    objects: Array<{ namespace: string; kind: string; class: string; properties: Record<string, unknown> }>;
  };
  doc.host['computerName'] = H.host;
  doc.host['fqdn'] = H.host;
  for (const o of doc.objects) {
    if (o.namespace === 'ROOT\\cimv2\\totallylegit') o.namespace = H.ns;
    const p = o.properties;
    if (o.kind === 'filter') p['Name'] = H.filter;
    if (o.kind === 'consumer' && o.class === 'CommandLineEventConsumer') {
      p['Name'] = H.consumer;
      p['CommandLineTemplate'] = H.cmd;
    }
    if (o.kind === 'binding') {
      const f = p['Filter'] as { keys: Record<string, string> };
      const c = p['Consumer'] as { class: string; keys: Record<string, string> };
      f.keys['Name'] = H.filter;
      if (c.class === 'CommandLineEventConsumer') c.keys['Name'] = H.consumer;
    }
  }
  for (const n of doc.namespaces) if (n.name === 'ROOT\\cimv2\\totallylegit') n.name = H.ns;
  const file = join(dir, 'hostile\u001b[31m🚀.json');
  writeFileSync(file, JSON.stringify(doc));
  return file;
}

let hostile: ScanResult | undefined;
async function hostileResult(): Promise<ScanResult> {
  hostile ??= await scan([hostileCollector(scratchDir('hostile-output'))], { threads: 1, version: '9.9.9' });
  return hostile;
}

test('textWidth: emoji outside 1F300-1F64F and East Asian wide characters take two columns', () => {
  assert.equal(textWidth('🚀🛸🪐⚡⌚'), 10);
  assert.equal(textWidth('宽a'), 3);
  assert.equal(textWidth('a\u0301'), 1, 'a combining mark takes none');
});

test('terminal report on hostile names: nothing invisible or executable reaches the terminal, no line wider than the width', async () => {
  const r = await hostileResult();
  assert.ok(r.findings.length >= 2, 'the hostile document still has its findings');
  for (const width of [40, 80, 200])
    for (const color of [false, true])
      for (const mode of [{}, { details: true }, { verbose: true }, { quiet: true }] as const) {
        const text = formatTable(r, { width, color, failOn: 'high', ...mode });
        const what = `width ${width}, color ${color}, ${JSON.stringify(mode)}`;
        for (const line of text.split('\n')) {
          const plain = line.replace(SGR, '');
          assert.ok(!INVISIBLE.test(plain), `${what}: a raw control or invisible character in ${JSON.stringify(line)}`);
          assert.ok(columns(line) <= width, `${what}: a line of ${columns(line)} columns:\n${line}`);
        }
      }
  // shown, visibly: the zero-width space and the no-break space of the host name
  const details = formatTable(r, { width: 200, details: true });
  assert.ok(details.includes('RTL\\u200b\\xa0宽'), 'invisible characters of a host name are shown as escapes');
  assert.ok(details.includes('\\x1b]8;;http://evil'), 'an OSC 8 hyperlink is shown, not made');
});

test('coverage text on hostile names: invisible characters shown, no line wider than the width', async () => {
  const dir = scratchDir('hostile-coverage');
  const cov = await coverage([hostileCollector(dir)], { threads: 1 });
  for (const width of [40, 80, 200]) {
    const text = formatCoverageText(cov.hosts, cov.hostAliases, width);
    for (const line of text.split('\n')) {
      assert.ok(!INVISIBLE.test(line), `width ${width}: a raw control or invisible character in ${JSON.stringify(line)}`);
      assert.ok(columns(line) <= width, `width ${width}: a line of ${columns(line)} columns:\n${line}`);
    }
    assert.ok(text.includes('RTL\\u200b\\xa0'), 'the host name\'s zero-width and no-break spaces are shown');
  }
});

test('canonicalTime: no time without a zone is read in the machine\'s zone; impossible instants and zones stay as given', () => {
  // no seconds, no zone: UTC, as with seconds (was the machine's local time through Date.parse)
  assert.equal(canonicalTime('2019-05-11T17:58'), '2019-05-11T17:58:00.0000000Z');
  assert.equal(canonicalTime('2019-05-11 17:58'), '2019-05-11T17:58:00.0000000Z');
  assert.equal(canonicalTime('2019-05-11T17:58+0100'), '2019-05-11T16:58:00.0000000Z');
  // February 30 (was rolled over to March 2), in ISO-8601 without seconds and in RFC 2822
  assert.equal(canonicalTime('2019-02-30T10:00Z'), '2019-02-30T10:00Z');
  assert.equal(canonicalTime('Sat, 31 Feb 2019 17:58:23 GMT'), 'Sat, 31 Feb 2019 17:58:23 GMT');
  assert.equal(canonicalTime('Sat, 11 May 2019 17:58:23 +0200'), '2019-05-11T15:58:23.0000000Z');
  // zone offsets no clock has (were applied: +99:99 moved the time by four days)
  for (const bad of ['2019-05-11T17:58:23+99:99', '2019-05-11T17:58:23+24:00', '2019-05-11T17:58:23-0060', 'Sat, 11 May 2019 17:58:23 +9999']) assert.equal(canonicalTime(bad), bad);
  // a fraction belongs to seconds only (17:58.5 is not half a second past 17:58)
  assert.equal(canonicalTime('2019-05-11T17:58.5Z'), '2019-05-11T17:58.5Z');
  // a leap second, years at the edges
  assert.equal(canonicalTime('2016-12-31T23:59:60Z'), '2016-12-31T23:59:60Z');
  assert.equal(canonicalTime('0000-01-01T00:30:00+01:00'), '0000-01-01T00:30:00+01:00', 'before year 0 once in UTC');
  assert.equal(canonicalTime('9999-12-31T23:59:59.99999999999Z'), '9999-12-31T23:59:59.9999999Z');
  // beyond what a Date holds: null, not a throw
  assert.equal(timeFromMs(1e20), null);
  assert.equal(timeFromMs(-1e20), null);
});

test('parseTimeBound: a relative bound too far back is a RangeError naming it (was "Invalid time value")', () => {
  assert.throws(() => parseTimeBound('999999999w', new Date('2026-12-07T12:00:00Z')), (e: unknown) => e instanceof RangeError && e.message.includes('"999999999w"'));
});

function finding(id: string, host: string, time: string | null): Finding {
  return {
    id, host, namespace: 'ROOT\\subscription', status: 'active', severity: 'high', score: 0, filter: null, consumer: null, binding: null, summary: id, reasons: [], decoded: [],
    observations: [{ host, source: 'sysmon', action: 'created', part: 'consumer', namespace: 'ROOT\\subscription', className: 'CommandLineEventConsumer', name: id, time, user: null, file: 'x.evtx', location: 'record 1', properties: {}, meta: {} }],
    firstSeen: null, lastSeen: null, who: [], allowlisted: null, coverage: [],
  };
}

test('narrowFindings: a time the model kept as text is no instant in a window (Date.parse would read it in the machine\'s zone)', () => {
  const r: ScanResult = {
    tool: { name: 'wmiscope', version: 'test' }, scannedAt: '2026-12-07T12:00:00.0000000Z', hosts: ['A'], evidence: [], notes: [],
    findings: [finding('text', 'A', '5/11/2019 5:58:23 PM'), finding('rolled', 'A', '2019-02-30T10:00Z'), finding('real', 'A', '2019-05-11T17:58:23.0000000Z')],
  };
  const s = narrowFindings(r, { since: '2019-05-11T00:00:00.0000000Z', until: '2019-05-11T23:59:59.9990000Z' });
  assert.deepEqual(s.findings.map((f) => f.id).sort(), ['real', 'rolled', 'text']);
  assert.deepEqual(s.hidden.undated, ['rolled', 'text'], 'kept and marked undated, not placed at a guessed instant');
  assert.equal(narrowFindings(r, { since: '2019-03-01T00:00:00.0000000Z', until: '2019-03-31T00:00:00.0000000Z' }).hidden.outsideWindow, 1, 'February 30 is not March 2');
});

test('hostMatcher: globs with many stars against a long hostile host name answer (a backtracking regular expression did not), metacharacters are literal', () => {
  const long = 'a-'.repeat(200);
  assert.equal(hostMatcher(['*-*-*-*-*-*-*-*-*-*-*-*-x'], [])(long), false);
  assert.equal(hostMatcher(['*-*-*-*-*-*-*-*-*-*-*-*-a-'], [])(long), true);
  assert.equal(hostMatcher(['*'.repeat(255)], [])(long), true);
  assert.equal(hostMatcher(['a.b(c)[d]+{2}|$^\\'], [])('A.B(C)[D]+{2}|$^\\'), true);
  assert.equal(hostMatcher(['a.b'], [])('axb'), false);
  assert.equal(hostMatcher(['w?s-*'], [])('WKS-01'), true);
  assert.equal(hostMatcher(['??'], [])('宽🚀'), true, '? is one character, also outside the BMP');
  assert.equal(hostMatcher(['wks'], [])('wks-01'), false, 'anchored');
  assert.equal(hostMatcher(['*01'], [])('a\n01'), true, '* crosses a line break as the s flag did');
});

test('created-together: a creation time the model kept as text is not placed (Date.parse read it in the machine\'s zone)', () => {
  const placed = botnet();
  assert.ok(evaluate(placed, [DEFAULT_ALLOWLIST]).reasons.some((r) => r.id === 'created-together'), 'the real times fire the rule');
  // the consumer's creation as a text without a zone: the same instant only on a machine set to UTC
  const text = botnet();
  const consumer = text.observations.find((o) => o.part === 'consumer' && o.action === 'created')!;
  consumer.time = '5/11/2019 5:58:23 PM';
  assert.ok(!evaluate(text, [DEFAULT_ALLOWLIST]).reasons.some((r) => r.id === 'created-together'), 'not fired on a guessed instant');
});

test('terminal report of 150,000 findings: laid out, not a stack overflow (Math.max over a spread of every row)', () => {
  const findings = Array.from({ length: 150_000 }, (_, i): Finding => ({ ...finding(i.toString(16).padStart(16, '0'), `H${i % 7}`, null), observations: [] }));
  const r: ScanResult = { tool: { name: 'wmiscope', version: 'test' }, scannedAt: '2026-12-07T12:00:00.0000000Z', hosts: ['H0'], evidence: [], notes: [], findings };
  const lines = formatTable(r, { width: 80 }).split('\n');
  assert.equal(lines.filter((l) => l.startsWith('high ')).length, 150_000);
});

test('timeline: an impossible instant is not placed (Date.parse rolled February 30 into March 2, hour 24 into the next day)', () => {
  assert.equal(isoToMicros('2019-02-30T10:00:00Z'), null);
  assert.equal(isoToMicros('2019-05-11T24:00:00Z'), null);
  assert.equal(isoToMicros('2019-05-11T17:58:23+99:99'), null);
  assert.equal(isoToMicros('2019-05-11T17:58:23.1234567Z'), Date.UTC(2019, 4, 11, 17, 58, 23) * 1000 + 123456);
  assert.equal(isoToMicros('1601-01-01T00:00:00.0000001Z'), Date.UTC(1601, 0, 1) * 1000, 'before 1970: whole seconds and the fraction');
});

test('mergeInto: a file with 200,000 observations joins the others (push(...all) overflowed the stack)', () => {
  const acc: ObserveResult = { observations: [], items: [], logs: [] };
  const obs = finding('x', 'A', '2019-05-11T17:58:23.0000000Z').observations[0]!;
  mergeInto(acc, { observations: new Array(200_000).fill(obs), items: [], logs: [] });
  mergeInto(acc, { observations: [obs], items: [], logs: [] });
  assert.equal(acc.observations.length, 200_001);
});
