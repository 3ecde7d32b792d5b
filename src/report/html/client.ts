/**
 * The HTML report's page script (plain ES2020, no dependencies), inline and allowed by its hash in the page's
 * Content-Security-Policy. It reads the JSON island `#data` and draws the summary, the findings table with its
 * filters and sorting, one finding's details, the SVG timeline, the namespace trees and the triage panel.
 *
 * Rules for this text, because every value it shows comes from evidence:
 * - nodes are made with createElement/createElementNS and text with text nodes; attributes are set with
 *   setAttribute from a fixed list of names (`el`/`svg` refuse others); no innerHTML/outerHTML/insertAdjacentHTML,
 *   document.write, eval, new Function or string timers;
 * - the only links are `#…` anchors of the page and ATT&CK technique pages built from ids matching
 *   `^T\d{4}(\.\d{3})?$`;
 * - control, bidirectional and separator characters are shown as visible escapes (`\u202e`), so a name cannot
 *   reorder or hide what the reader sees.
 * It is kept in a String.raw template: no backtick and no dollar-brace in it, and never the closing tag of
 * a script element or an HTML comment opener (formatHtml checks the last two).
 */
export const CLIENT_SCRIPT = String.raw`
(function () {
'use strict';

// ------------------------------------------------------------------------------------------ DOM helpers
var ATTRS = ['class', 'id', 'title', 'type', 'colspan', 'role', 'tabindex', 'for', 'placeholder', 'rel', 'target', 'href',
  'scope', 'aria-sort', 'aria-label', 'aria-live', 'readonly', 'spellcheck', 'data-i', 'data-prop', 'data-action', 'name', 'rows'];
var SVG_ATTRS = ['class', 'x', 'y', 'x1', 'x2', 'y1', 'y2', 'cx', 'cy', 'r', 'width', 'height', 'points', 'viewBox',
  'text-anchor', 'role', 'tabindex', 'data-i', 'aria-label', 'dominant-baseline'];
var SVG_NS = 'http://www.w3.org/2000/svg';
var ATTACK_ID = /^T\d{4}(\.\d{3})?$/;
var SAFE_HREF = /^(#[A-Za-z0-9_-]*|https:\/\/attack\.mitre\.org\/techniques\/T\d{4}(\/\d{3})?\/)$/;

function addOne(node, child) {
  if (child === null || child === undefined || child === false) return;
  if (Array.isArray(child)) { for (var i = 0; i < child.length; i++) addOne(node, child[i]); return; }
  if (typeof child === 'object' && typeof child.nodeType === 'number') { node.appendChild(child); return; }
  node.appendChild(document.createTextNode(String(child)));
}

/** add(node, ...children): nodes, text (as text nodes, never markup), arrays of them; null/false skipped. */
function add(node) {
  for (var i = 1; i < arguments.length; i++) addOne(node, arguments[i]);
}

function setAttrs(node, attrs, allowed) {
  if (!attrs) return;
  var keys = Object.keys(attrs);
  for (var i = 0; i < keys.length; i++) {
    var k = keys[i];
    var v = attrs[k];
    if (v === null || v === undefined || v === false) continue;
    if (allowed.indexOf(k) < 0) throw new Error('attribute not allowed: ' + k);
    if (k === 'href' && !SAFE_HREF.test(String(v))) throw new Error('link not allowed');
    node.setAttribute(k, v === true ? '' : String(v));
  }
}

/** el(tag, attrs, ...children) */
function el(tag, attrs) {
  var n = document.createElement(tag);
  setAttrs(n, attrs, ATTRS);
  for (var i = 2; i < arguments.length; i++) addOne(n, arguments[i]);
  return n;
}

function svg(tag, attrs) {
  var n = document.createElementNS(SVG_NS, tag);
  setAttrs(n, attrs, SVG_ATTRS);
  for (var i = 2; i < arguments.length; i++) addOne(n, arguments[i]);
  return n;
}

function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }

// ------------------------------------------------------------------------------------------ text helpers
// controls, bidi marks, separators, and characters that show as nothing or as a plain space (zero-width,
// soft hyphen, no-break and other spaces, variation selectors, tags, private use): shown as escapes so a name
// with one never looks like the name without it
var UNSAFE_LINE = /[\u0000-\u001f\u007f-\u009f\u061c\u00a0\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\u3164\ue000-\uf8ff\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb\u{1d173}-\u{1d17a}\u{e0000}-\u{e0fff}\u{f0000}-\u{10ffff}\ud800-\udfff]/gu;
var UNSAFE_BLOCK = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f\u061c\u00a0\u00ad\u034f\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\u3164\ue000-\uf8ff\ufe00-\ufe0f\ufeff\uffa0\ufff0-\ufffb\u{1d173}-\u{1d17a}\u{e0000}-\u{e0fff}\u{f0000}-\u{10ffff}\ud800-\udfff]/gu;

function hex(c, n) { var h = c.toString(16); while (h.length < n) h = '0' + h; return h; }

function escChar(c) {
  if (c === '\n') return '\\n';
  if (c === '\r') return '\\r';
  if (c === '\t') return '\\t';
  var code = c.codePointAt(0);
  return code < 0x100 ? '\\x' + hex(code, 2) : code > 0xffff ? '\\u{' + hex(code, 5) + '}' : '\\u' + hex(code, 4);
}

/** One line of display text: control, bidi and separator characters as visible escapes. */
function vis(v) {
  if (v === null || v === undefined) return '';
  return String(v).replace(UNSAFE_LINE, escChar);
}

/** A block (payloads, scripts): line breaks and tabs kept, every other unsafe character escaped. */
function visBlock(v) {
  if (v === null || v === undefined) return '';
  return String(v).replace(UNSAFE_BLOCK, escChar);
}

function dash(v) { return v === null || v === undefined || v === '' ? '\u2014' : vis(v); }

/** 2019-05-11T17:58:23.3400000Z -> 2019-05-11 17:58:23 (the full value is in the cell's title). */
function shortTime(v) {
  if (typeof v !== 'string' || v === '') return '\u2014';
  var m = /^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})(?:\.\d+)?Z$/.exec(v);
  return m ? m[1] + ' ' + m[2] : vis(v);
}

function plural(n, one, many) { return n + ' ' + (n === 1 ? one : (many || one + 's')); }

function getProp(values, name) {
  if (!values) return undefined;
  if (Object.prototype.hasOwnProperty.call(values, name)) return values[name];
  var keys = Object.keys(values);
  for (var i = 0; i < keys.length; i++) if (keys[i].toLowerCase() === name.toLowerCase()) return values[keys[i]];
  return undefined;
}

function nsKey(ns) {
  return String(ns).trim().replace(/\//g, '\\').replace(/^\\\\[^\\]*\\/, '').replace(/:$/, '').replace(/\\+/g, '\\').replace(/^\\/, '').toLowerCase();
}

/** root\subscription and root\default (any case, either slash) are where subscriptions normally live. */
function isDefaultNs(ns) {
  var k = nsKey(ns);
  return k === 'root\\subscription' || k === 'root\\default';
}

var ISO = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

/** Latest plausible time: a day after the scan (or now when the scan time is unreadable). */
var LATEST = null;
function latest() {
  if (LATEST === null) { var t = Date.parse(String(D && D.scannedAt)); LATEST = (isNaN(t) ? Date.now() : t) + 86400000; }
  return LATEST;
}

/** Milliseconds since the epoch of a plausible ISO-8601 time with a zone (1990 to a day after the scan), or null. */
function parseTime(s) {
  if (typeof s !== 'string') return null;
  var m = ISO.exec(s);
  if (!m) return null;
  var d = new Date(0);
  d.setUTCFullYear(+m[1], +m[2] - 1, +m[3]);
  d.setUTCHours(+m[4], +m[5], +m[6], m[7] ? +(m[7] + '00').slice(0, 3) : 0);
  // impossible dates (month 13, hour 99) do not roll over into another time
  if (d.getUTCMonth() !== +m[2] - 1 || d.getUTCDate() !== +m[3] || +m[4] > 23 || +m[5] > 59 || +m[6] > 60) return null;
  var ms = d.getTime();
  // zeroed FILETIMEs (1601) and far-future times are not times anything happened: they would flatten the timeline
  if (+m[1] < 1990 || ms > latest()) return null;
  if (m[8] !== 'Z') {
    var sign = m[8].charAt(0) === '-' ? -1 : 1;
    ms -= sign * ((+m[8].slice(1, 3)) * 60 + (+m[8].slice(4, 6))) * 60000;
  }
  return isNaN(ms) ? null : ms;
}

function fmtTime(ms) {
  var iso = new Date(ms).toISOString();
  return [iso.slice(0, 10), iso.slice(11, 19)];
}

// ------------------------------------------------------------------------------------------ data
var app = document.getElementById('app');
var D = null;
try {
  var island = document.getElementById('data');
  D = JSON.parse(island ? island.textContent || 'null' : 'null');
} catch (e) {
  D = null;
}
if (!D || D.format !== 'wmiscope-html-report' || !Array.isArray(D.findings)) {
  add(app, el('p', { class: 'notice' }, 'The data of this report could not be read.'));
  return;
}

var F = D.findings;
var SEVS = Array.isArray(D.severities) ? D.severities : ['critical', 'high', 'medium', 'low', 'info'];
var KNOWN_STATUS = ['active', 'deleted', 'residual', 'logged-only', 'orphan'];

function sevRank(s) { var i = SEVS.indexOf(s); return i < 0 ? -1 : SEVS.length - 1 - i; }
function sevClass(s) { return SEVS.indexOf(s) >= 0 ? 'sev sev-' + s : 'sev sev-info'; }
function sevChip(s) { return el('span', { class: sevClass(s) }, vis(s)); }

// what each finding's binding points at, by finding (names from its Filter and Consumer references)
var TARGETS = new Map();
F.forEach(function (f, i) { TARGETS.set(f, Array.isArray(D.targets) && D.targets[i] ? D.targets[i] : {}); });
function bindingName(f, part) {
  var t = TARGETS.get(f);
  return t && typeof t[part] === 'string' && t[part] !== '' ? t[part] : null;
}

function consumerLabel(f) {
  var c = f.consumer;
  var cls = c && c.className ? c.className : null;
  var name = c ? (c.name !== null && c.name !== undefined ? c.name : getProp(c.values, 'Name')) : null;
  if (!c) {
    var b = f.binding ? bindingName(f, 'consumer') : null;
    return b ? '(binding only) ' + vis(b) : '(none found)';
  }
  return (name !== null && name !== undefined ? vis(name) : '(unnamed)') + (cls ? ' [' + vis(cls) + ']' : '');
}

function filterLabel(f) {
  var o = f.filter;
  if (!o) {
    var b = f.binding ? bindingName(f, 'filter') : null;
    return b ? '(binding only) ' + vis(b) : '(none found)';
  }
  var name = o.name !== null && o.name !== undefined ? o.name : getProp(o.values, 'Name');
  return name !== null && name !== undefined ? vis(name) : '(unnamed)';
}

function uniq(list) {
  var seen = new Set();
  var out = [];
  list.forEach(function (x) { if (!seen.has(x)) { seen.add(x); out.push(x); } });
  return out;
}

function cmpStr(a, b) { return a < b ? -1 : a > b ? 1 : 0; }

var META = F.map(function (f, i) {
  var sources = uniq((f.observations || []).map(function (o) { return o.source; })).sort();
  var namespaces = uniq([f.namespace].concat([f.filter, f.consumer, f.binding].map(function (p) { return p ? p.namespace : null; })).filter(function (n) { return n !== null && n !== undefined && n !== ''; }));
  var hay = [f.id, f.host, f.namespace, f.status, f.severity, f.summary, filterLabel(f), consumerLabel(f)]
    .concat(f.reasons.map(function (r) { return r.id + ' ' + r.title + ' ' + r.evidence; }))
    .concat(f.decoded || [])
    .concat([f.filter, f.consumer, f.binding].map(function (p) { return p ? Object.keys(p.values).map(function (k) { return k + ' ' + String(p.values[k]); }).join('\n') : ''; }))
    .concat((f.observations || []).map(function (o) { return o.file + ' ' + o.location + ' ' + (o.user || ''); }))
    .concat(f.who || [])
    .join('\n').toLowerCase();
  return { i: i, sources: sources, namespaces: namespaces, hay: hay, seen: f.coverage.filter(function (c) { return c.saw; }).map(function (c) { return c.source; }) };
});

// ------------------------------------------------------------------------------------------ triage marks
var STORE_KEY = 'wmiscope:' + D.reportId;
var storage = { ok: true, error: '', restored: 0, unreadable: false };
var marks = new Set();

function loadMarks() {
  var raw;
  try {
    raw = window.localStorage.getItem(STORE_KEY);
  } catch (e) {
    storage.ok = false;
    storage.error = String(e && e.name ? e.name : e);
    return;
  }
  if (!raw) return;
  var o;
  try { o = JSON.parse(raw); } catch (e) { storage.unreadable = true; return; }
  var ids = o && Array.isArray(o.known) ? o.known : [];
  var present = new Set(F.map(function (f) { return f.id; }));
  ids.forEach(function (id) { if (typeof id === 'string' && present.has(id)) marks.add(id); });
  storage.restored = marks.size;
}

function saveMarks() {
  try {
    window.localStorage.setItem(STORE_KEY, JSON.stringify({ v: 1, known: Array.from(marks) }));
    storage.ok = true;
  } catch (e) {
    storage.ok = false;
    storage.error = String(e && e.name ? e.name : e);
  }
}

function isMarked(i) { return marks.has(F[i].id); }

function setMark(i, on) {
  if (on) marks.add(F[i].id); else marks.delete(F[i].id);
  saveMarks();
  refreshMarks();
}

// ------------------------------------------------------------------------------------------ allowlist YAML
var IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;
var YAML_ESCAPE = /[\u0000-\u001f"\\\u007f-\u009f\u00a0\u00ad\u034f\u061c\u115f\u1160\u17b4\u17b5\u180b-\u180f\u2000-\u200f\u2028-\u202f\u205f-\u206f\u3000\u3164\ue000-\uf8ff\ufe00-\ufe0f\ufeff\uffa0\ufff0-\uffff]|[\ud800-\udfff]/g;

/** A JSON-style double-quoted scalar (valid YAML 1.2): quotes, backslashes and every non-printable character escaped. */
function yq(s) {
  return '"' + String(s).replace(YAML_ESCAPE, function (c) {
    if (c === '"') return '\\"';
    if (c === '\\') return '\\\\';
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return '\\u' + hex(c.charCodeAt(0), 4);
  }) + '"';
}

function yv(v) {
  if (typeof v === 'boolean') return v ? 'true' : 'false';
  if (typeof v === 'number' && Number.isSafeInteger(v)) return String(v);
  return yq(String(v));
}

/** The entry's lines (a list item, indented for "entries:") without its note, or null when none can be written. */
function entryBody(i) {
  var p = D.allow[i];
  var f = F[i];
  if (!p || p.problem) return null;
  var lines = ['  - id: ' + yq(p.id)];
  var rest = [];
  if (p.namespace !== null && p.namespace !== undefined) rest.push('    namespace: ' + yq(p.namespace));
  if (p.filter) {
    rest.push('    filter:');
    rest.push('      Name: ' + yq(p.filter.name));
    p.filter.keys.forEach(function (k) {
      if (IDENT.test(k[0]) && f.filter) rest.push('      ' + k[0] + ': ' + yv(f.filter.values[k[1]]));
    });
  }
  if (p.consumer) {
    rest.push('    consumer:');
    rest.push('      class: ' + yq(p.consumer.className));
    rest.push('      Name: ' + yq(p.consumer.name));
    p.consumer.keys.forEach(function (k) {
      if (IDENT.test(k[0]) && f.consumer) rest.push('      ' + k[0] + ': ' + yv(f.consumer.values[k[1]]));
    });
  }
  return { head: lines, rest: rest };
}

/** An allowlist file for these findings; the same subscription on several hosts is one entry. */
function allowlistYaml(indices) {
  var groups = [];
  var byKey = new Map();
  indices.forEach(function (i) {
    var b = entryBody(i);
    if (!b) return;
    var key = b.head.concat(b.rest).join('\n');
    var g = byKey.get(key);
    if (!g) { g = { body: b, hosts: [] }; byKey.set(key, g); groups.push(g); }
    if (g.hosts.indexOf(F[i].host) < 0) g.hosts.push(F[i].host);
  });
  if (groups.length === 0) return '';
  var when = ISO.test(String(D.scannedAt)) ? ', scanned ' + D.scannedAt : '';
  var out = [
    '# wmiscope allowlist: ' + plural(groups.length, 'entry', 'entries') + ' marked known-good in HTML report ' + D.reportId + when,
    '# Exact match: save as a .yaml file and pass it to "wmiscope scan --allowlist FILE",',
    '# or copy the entries under "entries:" of an existing allowlist.',
    'name: ' + yq('known-good-' + D.reportId),
    'entries:'
  ];
  groups.forEach(function (g) {
    out = out.concat(g.body.head);
    out.push('    note: ' + yq('marked known-good in wmiscope HTML report ' + D.reportId + ' on ' + (g.hosts.length === 1 ? 'host ' : 'hosts ') + g.hosts.join(', ')));
    out = out.concat(g.body.rest);
  });
  return out.join('\n') + '\n';
}

// ------------------------------------------------------------------------------------------ state
var state = { sort: null, dir: 1, selected: -1 };
var filters = { severity: '', host: '', namespace: '', status: '', source: '', triage: '', q: '' };
var qTimer = null;
var lists = {
  severity: SEVS.filter(function (s) { return F.some(function (f) { return f.severity === s; }); }),
  host: uniq(F.map(function (f) { return f.host; })).sort(cmpStr),
  namespace: uniq(F.map(function (f) { return f.namespace === null || f.namespace === undefined ? '' : f.namespace; })).sort(cmpStr),
  status: uniq(F.map(function (f) { return f.status; })).sort(function (a, b) { return KNOWN_STATUS.indexOf(a) - KNOWN_STATUS.indexOf(b) || cmpStr(a, b); }),
  source: uniq([].concat.apply([], META.map(function (m) { return m.sources; }))).sort(cmpStr)
};
var TRIAGE = [['unmarked', 'not marked known-good'], ['marked', 'marked known-good'], ['allowlisted', 'allow-listed by the scan'], ['open', 'not marked, not allow-listed']];

function matches(i) {
  var f = F[i];
  var m = META[i];
  if (filters.severity !== '' && f.severity !== lists.severity[+filters.severity]) return false;
  if (filters.host !== '' && f.host !== lists.host[+filters.host]) return false;
  if (filters.namespace !== '' && (f.namespace === null || f.namespace === undefined ? '' : f.namespace) !== lists.namespace[+filters.namespace]) return false;
  if (filters.status !== '' && f.status !== lists.status[+filters.status]) return false;
  if (filters.source !== '' && m.sources.indexOf(lists.source[+filters.source]) < 0) return false;
  if (filters.triage === 'unmarked' && isMarked(i)) return false;
  if (filters.triage === 'marked' && !isMarked(i)) return false;
  if (filters.triage === 'allowlisted' && !f.allowlisted) return false;
  if (filters.triage === 'open' && (isMarked(i) || f.allowlisted)) return false;
  if (filters.q) {
    var words = filters.q.toLowerCase().split(/\s+/).filter(Boolean);
    for (var w = 0; w < words.length; w++) if (m.hay.indexOf(words[w]) < 0) return false;
  }
  return true;
}

// ------------------------------------------------------------------------------------------ layout
var fleetShown = !!D.fleet;
var sections = {};
function section(id, title) {
  var s = el('section', { id: id }, el('h2', null, title));
  sections[id] = s;
  return s;
}

add(app, el('nav', { class: 'toc', 'aria-label': 'sections' },
  el('a', { href: '#summary' }, 'Summary'),
  el('a', { href: '#findings' }, 'Findings'),
  el('a', { href: '#timeline' }, 'Timeline'),
  el('a', { href: '#namespaces' }, 'Namespaces'),
  el('a', { href: '#triage' }, 'Triage')));

// ------------------------------------------------------------------------------------------ summary
function renderSummary() {
  var s = section('summary', 'Summary');
  var bySev = SEVS.map(function (sv) { return [sv, F.filter(function (f) { return f.severity === sv; }).length]; });
  var records = D.evidence.reduce(function (n, e) { return n + (e.records || 0); }, 0);
  var levels = ['error', 'warning', 'skipped'].map(function (l) { return [l, D.notes.filter(function (n) { return n.level === l; }).length]; });
  var allowlisted = F.filter(function (f) { return f.allowlisted; }).length;
  add(s, el('div', { class: 'cards' },
    el('div', { class: 'card', id: 'card-hosts' }, el('div', { class: 'big' }, String(D.hosts.length)), plural(D.hosts.length, 'host').replace(/^\d+ /, '')),
    el('div', { class: 'card', id: 'card-findings' }, el('div', { class: 'big' }, String(F.length)), F.length === 1 ? 'finding' : 'findings',
      D.hidden > 0 ? el('div', { class: 'muted' }, plural(D.hidden, 'finding') + ' below ' + vis(D.minSeverity) + ' not included') : null),
    el('div', { class: 'card', id: 'card-severity' }, bySev.map(function (p) {
      return el('div', null, sevChip(p[0]), ' ', String(p[1]));
    })),
    el('div', { class: 'card' }, el('div', { class: 'big' }, String(allowlisted)), 'allow-listed'),
    el('div', { class: 'card', id: 'card-evidence' }, el('div', { class: 'big' }, String(D.evidence.length)), 'evidence ' + (D.evidence.length === 1 ? 'file' : 'files') + ', ' + plural(records, 'record')),
    el('div', { class: 'card', id: 'card-notes' }, el('div', { class: 'big' }, String(D.notes.length)), D.notes.length === 1 ? 'note' : 'notes',
      el('div', { class: 'muted' }, levels.filter(function (l) { return l[1] > 0; }).map(function (l) { return l[1] + ' ' + l[0]; }).join(', ') || 'none'))));

  // hosts
  add(s, el('h3', null, 'Hosts'));
  var per = D.fleet && Array.isArray(D.fleet.perHost) ? D.fleet.perHost : D.hosts.map(function (h) {
    var mine = F.filter(function (f) { return f.host === h; });
    var worst = null;
    mine.forEach(function (f) { if (worst === null || sevRank(f.severity) > sevRank(worst)) worst = f.severity; });
    return { host: h, findings: mine.length, worst: worst, rare: 0, allowlisted: mine.filter(function (f) { return f.allowlisted; }).length };
  });
  var files = function (h) { return D.evidence.filter(function (e) { return e.host === h; }).length; };
  add(s, el('table', { id: 'hosts-table' },
    el('thead', null, el('tr', null, el('th', null, 'Host'), el('th', { class: 'num' }, 'Findings'), el('th', null, 'Worst'), fleetShown ? el('th', { class: 'num' }, 'Rare in fleet') : null, el('th', { class: 'num' }, 'Allow-listed'), el('th', { class: 'num' }, 'Evidence files'))),
    el('tbody', null, per.map(function (h) {
      var al = (D.hostAliases || []).filter(function (a) { return a.host === h.host; })[0];
      var also = al ? al.aliases.map(function (x) { return el('div', { class: 'muted' }, 'also named ' + vis(x.name) + ': ' + vis(x.why)); }) : [];
      return el('tr', null, el('td', null, vis(h.host), also), el('td', { class: 'num' }, String(h.findings)), el('td', null, h.worst ? sevChip(h.worst) : '\u2014'),
        fleetShown ? el('td', { class: 'num' }, String(h.rare)) : null, el('td', { class: 'num' }, String(h.allowlisted)), el('td', { class: 'num' }, String(files(h.host))));
    }))));

  // evidence
  add(s, el('h3', null, 'Evidence read'));
  var notesFor = function (file) { return D.notes.filter(function (n) { return n.file === file; }); };
  add(s, el('table', { id: 'evidence-table' },
    el('thead', null, el('tr', null, el('th', null, 'File'), el('th', null, 'Kind'), el('th', null, 'Host'), el('th', { class: 'num' }, 'Records'), el('th', null, 'First'), el('th', null, 'Last'), el('th', null, 'Detail'), el('th', null, 'Warnings'))),
    el('tbody', null, D.evidence.map(function (e) {
      var ns = notesFor(e.file);
      return el('tr', null, el('td', { class: 'mono any' }, vis(e.file)), el('td', null, vis(e.kind)), el('td', { class: 'any' }, vis(e.host)), el('td', { class: 'num' }, String(e.records)),
        el('td', { class: 'mono nowrap', title: vis(e.first) }, shortTime(e.first)), el('td', { class: 'mono nowrap', title: vis(e.last) }, shortTime(e.last)), el('td', { class: 'any' }, dash(e.detail)),
        el('td', null, ns.length === 0 ? '\u2014' : el('details', null, el('summary', null, plural(ns.length, 'warning')),
          el('ul', { class: 'plain' }, ns.map(function (n) { return el('li', null, vis(n.level) + ' (' + vis(n.code) + '): ' + vis(n.message)); })))));
    }))));
  var files2 = new Set(D.evidence.map(function (e) { return e.file; }));
  var other = D.notes.filter(function (n) { return !files2.has(n.file); });
  var loud = other.filter(function (n) { return n.code !== 'not-evidence'; });
  var skipped = other.filter(function (n) { return n.code === 'not-evidence'; });
  if (loud.length > 0) {
    add(s, el('h4', null, 'Files not read, or read in part'));
    add(s, el('ul', { class: 'plain', id: 'notes-errors' }, loud.map(function (n) { return el('li', null, el('strong', null, vis(n.level)), ' (' + vis(n.code) + ') ', el('span', { class: 'mono' }, vis(n.file)), ': ', vis(n.message)); })));
  }
  if (skipped.length > 0) {
    add(s, el('details', { id: 'notes-skipped' }, el('summary', null, plural(skipped.length, 'note') + ': skipped as not evidence'),
      el('ul', { class: 'plain' }, skipped.map(function (n) { return el('li', null, el('span', { class: 'mono' }, vis(n.file)), ': ', vis(n.message)); }))));
  }

  // coverage blind spots
  add(s, el('h3', null, 'Coverage blind spots'));
  var spots = new Map();
  F.forEach(function (f, i) {
    f.coverage.forEach(function (c) {
      if (c.saw) return;
      var key = c.source + '\u0000' + (c.reason || '');
      var g = spots.get(key);
      if (!g) { g = { source: c.source, reason: c.reason, findings: [], worst: null }; spots.set(key, g); }
      g.findings.push(i);
      if (g.worst === null || sevRank(f.severity) > sevRank(g.worst)) g.worst = f.severity;
    });
  });
  var rows = Array.from(spots.values()).sort(function (a, b) { return sevRank(b.worst) - sevRank(a.worst) || b.findings.length - a.findings.length || cmpStr(a.source, b.source); });
  if (rows.length === 0) add(s, el('p', { class: 'muted' }, 'Every source that could have seen the findings saw them (or there are no findings).'));
  else add(s, el('table', { id: 'blind-spots' },
    el('thead', null, el('tr', null, el('th', null, 'Source'), el('th', null, 'Why it could not see'), el('th', { class: 'num' }, 'Findings'), el('th', null, 'Worst'))),
    el('tbody', null, rows.map(function (g) {
      return el('tr', null, el('td', null, vis(g.source)), el('td', null, g.reason ? vis(g.reason) : '(no reason recorded)'), el('td', { class: 'num' }, String(g.findings.length)), el('td', null, sevChip(g.worst)));
    }))));

  // what each host's evidence cannot show (wmiscope coverage)
  var hc = D.coverage || [];
  if (hc.length > 0) {
    add(s, el('h4', null, 'What each host\'s evidence cannot show'));
    add(s, el('div', { id: 'host-coverage' }, hc.map(function (h) {
      var present = [h.sysmon.present ? 'Sysmon' + (h.sysmon.wmiEventIds.length ? ' (' + h.sysmon.wmiEventIds.join(', ') + ')' : ' (no 19-21)') : '',
        h.wmiActivity.present ? 'WMI-Activity' + (h.wmiActivity.ids.length ? ' (' + h.wmiActivity.ids.join(', ') + ')' : '') : '',
        h.powershell.present ? 'PowerShell' : '', h.repositories.length ? 'repository' : ''].filter(function (x) { return x; });
      return el('details', { class: 'host-coverage' },
        el('summary', null, vis(h.host) + ': ' + plural(h.blindSpots.length, 'blind spot') + (present.length ? ' \u00b7 has ' + present.join(', ') : '')),
        el('ul', { class: 'plain' }, h.blindSpots.map(function (b) { return el('li', null, vis(b)); })));
    })));
  }

  // fleet stacking
  if (D.fleet) {
    var fl = D.fleet;
    add(s, el('h3', null, 'Stacking across hosts'));
    add(s, el('p', { class: 'muted' }, plural(fl.hosts, 'host') + ', ' + plural(fl.stacks.length, 'distinct subscription') + ', rarest first' +
      (fl.hosts < fl.minHostsForRanking ? ' (fewer than ' + fl.minHostsForRanking + ' hosts: nothing is ranked rare or common)' : '') + '.'));
    add(s, el('table', { id: 'stacks-table' },
      el('thead', null, el('tr', null, el('th', { class: 'num' }, 'Hosts'), el('th', null, 'Severity'), el('th', null, 'Namespace'), el('th', null, 'Consumer'), el('th', null, 'Runs'), el('th', null, 'Payload hash'), el('th', null, 'On'))),
      el('tbody', null, fl.stacks.map(function (st) {
        return el('tr', null, el('td', { class: 'num' }, st.count + ' / ' + fl.hosts, st.rare ? el('span', { class: 'tag tag-rare' }, 'rare') : null, st.common ? el('span', { class: 'tag tag-common' }, 'common') : null),
          el('td', null, sevChip(st.severity)), el('td', { class: 'mono' }, dash(st.namespace)), el('td', null, dash(st.name) + (st.className ? ' [' + vis(st.className) + ']' : '')),
          el('td', { class: 'clip', title: vis(st.summary) }, dash(st.summary)), el('td', { class: 'mono' }, vis(st.payloadHash)),
          el('td', null, st.hosts.slice(0, 8).map(vis).join(', ') + (st.hosts.length > 8 ? ' \u2026 +' + (st.hosts.length - 8) : '')));
      }))));
  }
  add(app, s);
}

// ------------------------------------------------------------------------------------------ findings
var COLS = [
  { key: 'mark', label: 'Known good', narrow: true, sort: function (i) { return isMarked(i) ? 1 : 0; } },
  { key: 'severity', label: 'Severity', sort: function (i) { return sevRank(F[i].severity); } },
  { key: 'score', label: 'Score', num: true, sort: function (i) { return F[i].score; } },
  { key: 'host', label: 'Host', sort: function (i) { return F[i].host; } },
  { key: 'namespace', label: 'Namespace', sort: function (i) { return F[i].namespace || ''; } },
  { key: 'status', label: 'Status', sort: function (i) { return F[i].status; } },
  { key: 'filter', label: 'Filter', sort: function (i) { return filterLabel(F[i]).toLowerCase(); } },
  { key: 'consumer', label: 'Consumer', sort: function (i) { return consumerLabel(F[i]).toLowerCase(); } },
  { key: 'summary', label: 'Runs', sort: function (i) { return F[i].summary || ''; } },
  { key: 'seen', label: 'Seen by', sort: function (i) { return META[i].seen.join(', '); } },
  { key: 'stack', label: 'Hosts with it', num: true, fleet: true, sort: function (i) { return F[i].stack ? F[i].stack.hosts : 0; } },
  { key: 'first', label: 'First seen', sort: function (i) { var t = parseTime(F[i].firstSeen); return t === null ? -Infinity : t; } },
  { key: 'last', label: 'Last seen', sort: function (i) { var t = parseTime(F[i].lastSeen); return t === null ? -Infinity : t; } }
].filter(function (c) { return !c.fleet || fleetShown; });

var tbody = el('tbody');
var countLabel = el('p', { id: 'findings-count', 'aria-live': 'polite' });
var detailBox = el('div', { id: 'detail' });
var rowsByIndex = [];

function makeSelect(id, label, values, labelOf) {
  var sel = el('select', { id: 'filter-' + id, name: id });
  var all = el('option', null, 'all');
  all.value = '';
  sel.appendChild(all);
  values.forEach(function (v, k) {
    var o = el('option', null, labelOf ? labelOf(v) : vis(v));
    o.value = String(k);
    sel.appendChild(o);
  });
  sel.addEventListener('change', function () { filters[id] = sel.value; update(); });
  return el('label', { for: 'filter-' + id }, label, sel);
}

function renderFindings() {
  var s = section('findings', 'Findings');
  var q = el('input', { id: 'filter-q', type: 'search', placeholder: 'names, commands, files, rule ids\u2026', spellcheck: 'false' });
  // typing redraws after a short pause, not on every key
  q.addEventListener('input', function () {
    if (qTimer !== null) clearTimeout(qTimer);
    qTimer = setTimeout(function () { qTimer = null; filters.q = q.value; update(); }, 150);
  });
  var triage = el('select', { id: 'filter-triage', name: 'triage' });
  var allT = el('option', null, 'all');
  allT.value = '';
  triage.appendChild(allT);
  TRIAGE.forEach(function (t) { var o = el('option', null, t[1]); o.value = t[0]; triage.appendChild(o); });
  triage.addEventListener('change', function () { filters.triage = triage.value; update(); });
  var reset = el('button', { type: 'button', id: 'filter-reset' }, 'Clear filters');
  reset.addEventListener('click', function () {
    if (qTimer !== null) { clearTimeout(qTimer); qTimer = null; }
    Object.keys(filters).forEach(function (k) { filters[k] = ''; });
    Array.prototype.forEach.call(s.querySelectorAll('.filters select'), function (x) { x.value = ''; });
    q.value = '';
    update();
  });
  add(s, el('div', { class: 'filters', role: 'search' },
    makeSelect('severity', 'Severity', lists.severity),
    makeSelect('host', 'Host', lists.host),
    makeSelect('namespace', 'Namespace', lists.namespace, function (v) { return v === '' ? '(unknown)' : vis(v); }),
    makeSelect('status', 'Status', lists.status),
    makeSelect('source', 'Source', lists.source),
    el('label', { for: 'filter-triage' }, 'Triage', triage),
    el('label', { for: 'filter-q' }, 'Search', q),
    reset));
  add(s, countLabel);
  var headRow = el('tr');
  COLS.forEach(function (c) {
    var th = el('th', { class: 'sortable' + (c.num ? ' num' : '') + (c.narrow ? ' narrow' : ''), scope: 'col', tabindex: '0', 'data-prop': c.key, title: 'sort by ' + c.label.toLowerCase() }, c.label);
    var go = function () {
      if (state.sort === c.key) state.dir = -state.dir;
      else { state.sort = c.key; state.dir = c.key === 'severity' || c.key === 'score' || c.key === 'stack' ? -1 : 1; }
      update();
    };
    th.addEventListener('click', go);
    th.addEventListener('keydown', function (ev) { if (ev.key === 'Enter' || ev.key === ' ') { ev.preventDefault(); go(); } });
    headRow.appendChild(th);
  });
  add(s, el('div', { class: 'table-wrap' }, el('table', { id: 'findings-table' }, el('thead', null, headRow), tbody)));
  if (F.length === 0) add(s, el('p', { class: 'muted' }, 'No WMI event subscription was found in the evidence read.'));
  F.forEach(function (f, i) { rowsByIndex[i] = makeRow(i); });
  add(s, detailBox);
  add(app, s);
}

function cell(c, i) {
  var f = F[i];
  switch (c.key) {
    case 'mark': {
      var box = el('input', { type: 'checkbox', class: 'mark', 'aria-label': 'mark known-good', title: 'mark known-good (builds its allowlist entry)' });
      box.checked = isMarked(i);
      box.addEventListener('click', function (ev) { ev.stopPropagation(); });
      box.addEventListener('change', function () { setMark(i, box.checked); });
      return el('td', null, box);
    }
    case 'severity': return el('td', { class: 'nowrap' }, sevChip(f.severity), f.allowlisted ? el('span', { class: 'tag tag-known', title: 'allow-listed by ' + vis(f.allowlisted.by) }, 'allow-listed') : null);
    case 'score': return el('td', { class: 'num' }, String(f.score));
    case 'host': return el('td', { class: 'nowrap' }, vis(f.host));
    case 'namespace': return el('td', { class: 'mono any ns' }, f.namespace ? vis(f.namespace) : '(unknown)', f.namespace && !isDefaultNs(f.namespace) ? el('span', { class: 'tag tag-custom', title: 'not root\\subscription or root\\default' }, 'custom') : null);
    case 'status': return el('td', { class: 'nowrap' }, vis(f.status));
    case 'filter': return el('td', { class: 'clip', title: filterLabel(f) }, filterLabel(f));
    case 'consumer': return el('td', { class: 'clip wide', title: consumerLabel(f) }, consumerLabel(f));
    case 'summary': return el('td', { class: 'clip wide mono', title: vis(f.summary) }, dash(f.summary));
    case 'seen': return el('td', null, META[i].seen.length ? META[i].seen.map(vis).join(', ') : '(no source)');
    case 'stack': return el('td', { class: 'num nowrap' }, f.stack ? f.stack.hosts + ' / ' + f.stack.fleetHosts : '\u2014',
      f.stack && f.stack.rare ? el('span', { class: 'tag tag-rare' }, 'rare') : null, f.stack && f.stack.common ? el('span', { class: 'tag tag-common' }, 'common') : null);
    case 'first': return el('td', { class: 'mono nowrap', title: vis(f.firstSeen) }, shortTime(f.firstSeen));
    case 'last': return el('td', { class: 'mono nowrap', title: vis(f.lastSeen) }, shortTime(f.lastSeen));
  }
  return el('td');
}

function makeRow(i) {
  var tr = el('tr', { class: 'finding-row', tabindex: '0', 'data-i': String(i) });
  COLS.forEach(function (c) { tr.appendChild(cell(c, i)); });
  tr.addEventListener('click', function () { select(i, true); });
  tr.addEventListener('keydown', function (ev) { if (ev.key === 'Enter') { ev.preventDefault(); select(i, true); } });
  return tr;
}

function visibleOrder() {
  var idx = F.map(function (f, i) { return i; }).filter(matches);
  if (state.sort) {
    var col = COLS.filter(function (c) { return c.key === state.sort; })[0];
    if (col) idx.sort(function (a, b) {
      var x = col.sort(a), y = col.sort(b);
      var r = typeof x === 'number' && typeof y === 'number' ? x - y : cmpStr(String(x), String(y));
      return r * state.dir || a - b;
    });
  }
  return idx;
}

function renderRows(order) {
  clear(tbody);
  order.forEach(function (i) {
    var tr = rowsByIndex[i];
    tr.className = 'finding-row' + (isMarked(i) ? ' known' : '') + (state.selected === i ? ' selected' : '');
    var box = tr.querySelector('input.mark');
    if (box) box.checked = isMarked(i);
    tbody.appendChild(tr);
  });
  Array.prototype.forEach.call(document.querySelectorAll('#findings-table th'), function (th) {
    var key = th.getAttribute('data-prop');
    if (key === state.sort) th.setAttribute('aria-sort', state.dir > 0 ? 'ascending' : 'descending');
    else th.removeAttribute('aria-sort');
  });
  countLabel.setAttribute('data-q', filters.q);
  countLabel.textContent = order.length + ' of ' + plural(F.length, 'finding') + ' shown' + (marks.size ? ', ' + marks.size + ' marked known-good' : '');
}

// ------------------------------------------------------------------------------------------ one finding
var PAYLOAD_KEYS = ['commandlinetemplate', 'executablepath', 'workingdirectory', 'scripttext', 'scriptfilename', 'text', 'filename', 'message', 'subject', 'query'];

function isBlock(k, v) {
  return typeof v === 'string' && (PAYLOAD_KEYS.indexOf(k.toLowerCase()) >= 0 || v.length > 100 || /[\r\n]/.test(v));
}

/** dt/dd pairs of an object's values; payloads, scripts and long or multi-line values as code blocks. */
function valuePairs(values, skip) {
  var keys = Object.keys(values || {}).filter(function (k) { return !skip || skip.indexOf(k.toLowerCase()) < 0; });
  return keys.map(function (k) {
    var v = values[k];
    var shown = v === null ? '(null)' : typeof v === 'string' ? v : String(v);
    return [el('dt', null, vis(k)), el('dd', null, isBlock(k, v) ? el('pre', { class: 'payload', 'data-prop': k }, el('code', null, visBlock(shown))) : el('span', { class: 'mono' }, vis(shown)))];
  });
}

function valueRows(values) {
  var pairs = valuePairs(values);
  return pairs.length ? el('dl', { class: 'kv' }, pairs) : null;
}

function partBlock(id, title, o, missing) {
  if (!o) return [el('h4', null, title), el('p', { class: 'muted', id: 'detail-' + id }, missing)];
  return [el('h4', null, title),
    el('dl', { class: 'kv', id: 'detail-' + id },
      el('dt', null, 'Name'), el('dd', null, dash(o.name)),
      el('dt', null, 'Class'), el('dd', null, dash(o.className)),
      el('dt', null, 'Namespace'), el('dd', { class: 'mono' }, dash(o.namespace)),
      valuePairs(o.values, ['name']))];
}

function attackLinks(ids) {
  return ids.map(function (id, k) {
    var t = String(id);
    var node = ATTACK_ID.test(t)
      ? el('a', { href: 'https://attack.mitre.org/techniques/' + t.replace('.', '/') + '/', rel: 'noopener noreferrer', target: '_blank', class: 'attack' }, t)
      : el('span', null, vis(t));
    return k === 0 ? node : [', ', node];
  });
}

function select(i, scroll) {
  state.selected = i;
  Array.prototype.forEach.call(tbody.children, function (tr) {
    var k = +tr.getAttribute('data-i');
    tr.className = 'finding-row' + (isMarked(k) ? ' known' : '') + (k === i ? ' selected' : '');
  });
  renderDetail();
  if (scroll && detailBox.scrollIntoView) detailBox.scrollIntoView({ block: 'start' });
}

function renderDetail() {
  clear(detailBox);
  var i = state.selected;
  if (i < 0 || !F[i]) { detailBox.className = ''; return; }
  var f = F[i];
  detailBox.className = 'detail';
  var markBtn = el('button', { type: 'button', id: 'detail-mark', class: isMarked(i) ? '' : 'primary' }, isMarked(i) ? 'Unmark known-good' : 'Mark known-good');
  markBtn.addEventListener('click', function () { setMark(i, !isMarked(i)); });
  var close = el('button', { type: 'button', id: 'detail-close' }, 'Close');
  close.addEventListener('click', function () { state.selected = -1; update(); });
  var who = (f.who || []).map(vis).join('; ');
  var st = f.stack;
  add(detailBox,
    el('h3', null, sevChip(f.severity), ' ', filterLabel(f), ' \u2192 ', consumerLabel(f)),
    el('div', { class: 'row-actions' }, markBtn, close, isMarked(i) ? el('span', { class: 'tag tag-known' }, 'marked known-good') : null),
    el('dl', { class: 'kv', id: 'detail-facts' },
      el('dt', null, 'Finding id'), el('dd', { class: 'mono' }, vis(f.id)),
      el('dt', null, 'Host'), el('dd', null, vis(f.host)),
      el('dt', null, 'Namespace'), el('dd', { class: 'mono' }, dash(f.namespace), f.namespace && !isDefaultNs(f.namespace) ? el('span', { class: 'tag tag-custom' }, 'custom namespace') : null),
      el('dt', null, 'Status'), el('dd', null, vis(f.status)),
      el('dt', null, 'Score'), el('dd', null, String(f.score)),
      el('dt', null, 'First seen'), el('dd', { class: 'mono' }, dash(f.firstSeen)),
      el('dt', null, 'Last seen'), el('dd', { class: 'mono' }, dash(f.lastSeen)),
      el('dt', null, 'Who'), el('dd', null, who || '\u2014'),
      el('dt', null, 'Allow-listed'), el('dd', null, f.allowlisted ? 'yes, by ' + vis(f.allowlisted.by) + ': ' + vis(f.allowlisted.entry) : 'no'),
      st ? [el('dt', null, 'Fleet'), el('dd', { id: 'detail-stack' }, 'on ' + st.hosts + ' of ' + plural(st.fleetHosts, 'host') + (st.rare ? ' (rare)' : st.common ? ' (common)' : '') + ' \u00b7 payload ' + vis(st.payloadHash))] : null),
    el('h4', null, 'Runs'), el('pre', { class: 'summary' }, el('code', null, f.summary ? visBlock(f.summary) : '(nothing recorded)')),
    partBlock('filter', 'Filter', f.filter, 'No filter was found.'),
    partBlock('consumer', 'Consumer', f.consumer, 'No consumer was found.'),
    f.decoded && f.decoded.length ? [el('h4', null, 'Decoded payloads'), f.decoded.map(function (d) { return el('pre', { class: 'decoded' }, el('code', null, visBlock(d))); })] : null,
    partBlock('binding', 'Binding', f.binding, 'No binding was found.'),
    el('h4', null, 'Reasons'),
    f.reasons.length === 0 ? el('p', { class: 'muted' }, '(none)') : el('table', { class: 'reasons' },
      el('thead', null, el('tr', null, el('th', null, 'Rule'), el('th', null, 'Title'), el('th', null, 'ATT&CK'), el('th', { class: 'num' }, 'Score'), el('th', null, 'Evidence'))),
      el('tbody', null, f.reasons.map(function (r) {
        return el('tr', null, el('td', { class: 'mono' }, vis(r.id)), el('td', null, vis(r.title)), el('td', null, attackLinks(r.attack || [])),
          el('td', { class: 'num' }, (r.score >= 0 ? '+' : '') + r.score), el('td', null, el('span', { class: 'mono' }, vis(r.evidence))));
      }))),
    el('h4', null, 'Coverage'),
    el('dl', { class: 'kv', id: 'detail-coverage' },
      el('dt', null, 'Seen by'), el('dd', null, el('ul', { class: 'plain' }, f.coverage.filter(function (c) { return c.saw; }).map(function (c) { return el('li', { class: 'saw' }, vis(c.source)); }))),
      el('dt', null, 'Missed by'), el('dd', null, el('ul', { class: 'plain' }, f.coverage.filter(function (c) { return !c.saw; }).map(function (c) {
        return el('li', null, el('span', { class: 'missed' }, vis(c.source)), c.reason ? ': ' + vis(c.reason) : '');
      })))),
    el('h4', null, 'Observations (' + f.observations.length + ')'),
    el('table', { class: 'observations' },
      el('thead', null, el('tr', null, el('th', null, 'Time'), el('th', null, 'Source'), el('th', null, 'Action'), el('th', null, 'Part'), el('th', null, 'Object'), el('th', null, 'User'), el('th', null, 'File'), el('th', null, 'Record'), el('th', null, 'Properties'), el('th', null, 'Source details'))),
      el('tbody', null, f.observations.map(function (o) {
        var props = Object.keys(o.properties || {});
        var meta = Object.keys(o.meta || {});
        return el('tr', null, el('td', { class: 'mono nowrap', title: vis(o.time) }, shortTime(o.time)), el('td', null, vis(o.source)), el('td', null, vis(o.action)), el('td', null, dash(o.part)),
          el('td', null, (o.className ? vis(o.className) + ' ' : '') + (o.name !== null && o.name !== undefined ? '"' + vis(o.name) + '"' : ''), o.namespace ? el('div', { class: 'muted mono' }, vis(o.namespace)) : null),
          el('td', { class: 'any' }, dash(o.user)), el('td', { class: 'mono any' }, vis(o.file)), el('td', { class: 'mono any' }, dash(o.location)),
          el('td', null, props.length ? el('details', null, el('summary', null, plural(props.length, 'property', 'properties')), valueRows(o.properties)) : '\u2014'),
          el('td', null, meta.length ? el('details', null, el('summary', null, plural(meta.length, 'value')), valueRows(o.meta)) : '\u2014'));
      }))),
    el('h4', null, 'Allowlist entry'),
    D.allow[i] && D.allow[i].problem
      ? el('p', { class: 'notice', id: 'detail-allow-problem' }, 'No exact allowlist entry can be written for this finding: ' + vis(D.allow[i].problem) + '.')
      : yamlBox('detail-yaml', allowlistYaml([i]))
  );
}

function yamlBox(id, text) {
  var t = el('textarea', { id: id, class: 'yaml', readonly: true, spellcheck: 'false', rows: '10', 'aria-label': 'allowlist YAML' });
  t.value = text;
  return t;
}

// ------------------------------------------------------------------------------------------ timeline
var timelineBox = el('div', { class: 'timeline-wrap', id: 'timeline-box' });
var timelineNote = el('p', { class: 'muted', id: 'timeline-count' });
var TL_ACTIONS = ['created', 'modified', 'deleted'];

function renderTimelineSection() {
  var s = section('timeline', 'Timeline');
  add(s, el('p', { class: 'muted' }, 'Every created, modified and deleted observation with a time, one lane per host, for the findings the filters show. Point at a marker for its details; click it to open its finding.'));
  add(s, el('div', { class: 'legend' },
    el('span', null, el('span', { class: 'sw sw-created' }), 'created'),
    el('span', null, el('span', { class: 'sw sw-modified' }), 'modified'),
    el('span', null, el('span', { class: 'sw sw-deleted' }), 'deleted'),
    el('span', { class: 'muted' }, 'within a lane: filter above, consumer in the middle, binding below')));
  add(s, timelineNote, timelineBox);
  add(app, s);
}

function renderTimeline(order) {
  clear(timelineBox);
  var events = [];
  var untimed = 0;
  order.forEach(function (i) {
    F[i].observations.forEach(function (o) {
      if (TL_ACTIONS.indexOf(o.action) < 0) return;
      var t = parseTime(o.time);
      if (t === null) { untimed++; return; }
      events.push({ i: i, o: o, t: t, host: o.host || F[i].host });
    });
  });
  if (events.length === 0) {
    timelineNote.textContent = 'No created, modified or deleted observation with a time among the findings shown' + (untimed ? ' (' + untimed + ' without a usable time)' : '') + '.';
    timelineBox.hidden = true;
    return;
  }
  timelineBox.hidden = false;
  var hosts = uniq(events.map(function (e) { return e.host; })).sort(cmpStr);
  timelineNote.textContent = plural(events.length, 'event') + ' on ' + plural(hosts.length, 'host') + (untimed ? '; ' + untimed + ' without a usable time are not drawn' : '') + '.';
  var W = 1100, LEFT = 200, RIGHT = 40, TOP = 44, LANE = 36, BOTTOM = 12;
  var H = TOP + hosts.length * LANE + BOTTOM;
  var t0 = Math.min.apply(null, events.map(function (e) { return e.t; }));
  var t1 = Math.max.apply(null, events.map(function (e) { return e.t; }));
  if (t1 - t0 < 1000) { t0 -= 30000; t1 += 30000; }
  var pad = (t1 - t0) * 0.03;
  t0 -= pad; t1 += pad;
  var x = function (t) { return LEFT + (t - t0) / (t1 - t0) * (W - LEFT - RIGHT); };
  var root = svg('svg', { class: 'timeline', width: String(W), height: String(H), viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'timeline of created, modified and deleted WMI objects' });
  hosts.forEach(function (h, k) {
    var y = TOP + k * LANE;
    root.appendChild(svg('rect', { class: k % 2 ? 'lane-alt' : 'lane', x: '0', y: String(y), width: String(W), height: String(LANE) }));
    var label = vis(h);
    root.appendChild(svg('text', { x: '8', y: String(y + LANE / 2 + 4) }, label.length > 28 ? label.slice(0, 27) + '\u2026' : label, svg('title', null, label)));
  });
  var TICKS = 6;
  for (var k = 0; k <= TICKS; k++) {
    var tt = t0 + (t1 - t0) * k / TICKS;
    var xx = x(tt);
    var parts = fmtTime(tt);
    root.appendChild(svg('line', { class: 'grid', x1: String(xx), x2: String(xx), y1: String(TOP), y2: String(H - BOTTOM) }));
    root.appendChild(svg('text', { class: 'tick', x: String(xx), y: '16', 'text-anchor': 'middle' }, parts[0]));
    root.appendChild(svg('text', { class: 'tick', x: String(xx), y: '30', 'text-anchor': 'middle' }, parts[1] + 'Z'));
  }
  root.appendChild(svg('line', { class: 'axis', x1: String(LEFT), x2: String(W - RIGHT), y1: String(TOP), y2: String(TOP) }));
  var OFFSET = { filter: -9, consumer: 0, binding: 9 };
  events.sort(function (a, b) { return a.t - b.t; }).forEach(function (e) {
    var cx = x(e.t);
    var cy = TOP + hosts.indexOf(e.host) * LANE + LANE / 2 + (OFFSET[e.o.part] || 0);
    var f = F[e.i];
    var tip = [vis(e.o.time) + '  ' + vis(e.host), vis(e.o.source) + ' ' + vis(e.o.part || 'object') + ' ' + vis(e.o.action) + (e.o.user ? ' by ' + vis(e.o.user) : ''),
      (e.o.className ? vis(e.o.className) + ' ' : '') + (e.o.name !== null && e.o.name !== undefined ? '"' + vis(e.o.name) + '"' : ''),
      vis(e.o.file) + (e.o.location ? ' @ ' + vis(e.o.location) : ''),
      'finding: ' + vis(f.severity) + ' \u00b7 ' + filterLabel(f) + ' \u2192 ' + consumerLabel(f)].join('\n');
    var attrs = { class: 'ev ev-' + e.o.action, tabindex: '0', role: 'button', 'data-i': String(e.i), 'aria-label': e.o.action + ' ' + (e.o.part || 'object') };
    var mark;
    if (e.o.action === 'created') { attrs.cx = String(cx); attrs.cy = String(cy); attrs.r = '5'; mark = svg('circle', attrs, svg('title', null, tip)); }
    else if (e.o.action === 'modified') { attrs.x = String(cx - 4.5); attrs.y = String(cy - 4.5); attrs.width = '9'; attrs.height = '9'; mark = svg('rect', attrs, svg('title', null, tip)); }
    else { attrs.points = (cx - 5.5) + ',' + (cy - 5) + ' ' + (cx + 5.5) + ',' + (cy - 5) + ' ' + cx + ',' + (cy + 5.5); mark = svg('polygon', attrs, svg('title', null, tip)); }
    mark.addEventListener('click', function () { select(e.i, true); });
    mark.addEventListener('keydown', function (ev) { if (ev.key === 'Enter') select(e.i, true); });
    root.appendChild(mark);
  });
  timelineBox.appendChild(root);
}

// ------------------------------------------------------------------------------------------ namespaces
function renderNamespaces() {
  var s = section('namespaces', 'Namespaces');
  add(s, el('p', { class: 'muted' }, 'Where the subscriptions live, per host. Namespaces other than ROOT\\subscription and ROOT\\default are marked custom: Sysmon, Autoruns and many collectors do not look there. Click a namespace to show its findings.'));
  var hostsWith = uniq(F.map(function (f) { return f.host; })).sort(cmpStr);
  hostsWith.forEach(function (h) {
    var root = { seg: '', path: '', kids: [], byKey: new Map(), holds: [] };
    var unknown = [];
    F.forEach(function (f, i) {
      if (f.host !== h) return;
      if (META[i].namespaces.length === 0) { unknown.push(i); return; }
      META[i].namespaces.forEach(function (ns) {
        var segs = String(ns).replace(/\//g, '\\').split('\\').filter(function (x) { return x !== ''; });
        var node = root;
        var path = [];
        segs.forEach(function (seg) {
          path.push(seg);
          var key = seg.toLowerCase();
          var next = node.byKey.get(key);
          if (!next) { next = { seg: seg, path: path.join('\\'), kids: [], byKey: new Map(), holds: [] }; node.byKey.set(key, next); node.kids.push(next); }
          node = next;
        });
        if (node.holds.indexOf(i) < 0) node.holds.push(i);
      });
    });
    var draw = function (node) {
      return el('ul', { class: node === root ? 'tree root' : 'tree' }, node.kids.sort(function (a, b) { return cmpStr(a.seg.toLowerCase(), b.seg.toLowerCase()); }).map(function (n) {
        var custom = n.holds.length > 0 && !isDefaultNs(n.path);
        var label = el('span', { class: 'ns-node' + (n.holds.length ? ' ns-holds' : '') + (custom ? ' ns-custom' : ''), title: vis(n.path) }, vis(n.seg));
        var count = null;
        if (n.holds.length) {
          count = el('button', { type: 'button', class: 'ns-count', title: 'show these findings' }, plural(n.holds.length, 'subscription'));
          count.addEventListener('click', function () { showNamespace(h, n.holds); });
        }
        return el('li', null, label, ' ', count, custom ? el('span', { class: 'tag tag-custom' }, 'custom namespace') : null, n.kids.length ? draw(n) : null);
      }));
    };
    add(s, el('div', { class: 'host-tree' }, el('h4', null, vis(h)), draw(root),
      unknown.length ? el('p', { class: 'muted' }, plural(unknown.length, 'subscription') + ' in a namespace the evidence does not name') : null));
  });
  var without = D.hosts.filter(function (h) { return hostsWith.indexOf(h) < 0; });
  if (F.length === 0) add(s, el('p', { class: 'muted' }, 'No subscription was found.'));
  if (without.length) add(s, el('p', { class: 'muted', id: 'hosts-without' }, 'No subscription on ' + without.map(vis).join(', ') + '.'));
  add(app, s);
}

function showNamespace(host, indices) {
  var f = F[indices[0]];
  filters.host = String(lists.host.indexOf(host));
  var ns = f.namespace === null || f.namespace === undefined ? '' : f.namespace;
  var same = indices.every(function (i) { return (F[i].namespace || '') === ns; });
  filters.namespace = same ? String(lists.namespace.indexOf(ns)) : '';
  var hs = document.getElementById('filter-host');
  var nsSel = document.getElementById('filter-namespace');
  if (hs) hs.value = filters.host;
  if (nsSel) nsSel.value = filters.namespace;
  update();
  if (sections.findings.scrollIntoView) sections.findings.scrollIntoView({ block: 'start' });
}

// ------------------------------------------------------------------------------------------ triage
var triageYaml = el('textarea', { id: 'triage-yaml', class: 'yaml', readonly: true, spellcheck: 'false', rows: '16', 'aria-label': 'allowlist YAML of the findings marked known-good', placeholder: 'Mark findings known-good (the first column of the findings table, or the button in a finding) to build their allowlist entries here.' });
var triageList = el('ul', { class: 'plain', id: 'triage-list' });
var triageStatus = el('p', { class: 'muted', id: 'triage-status', 'aria-live': 'polite' });
var storageNote = el('p', { class: 'muted', id: 'storage-note' });

function renderTriageSection() {
  var s = section('triage', 'Triage: known-good');
  add(s, el('p', null, 'Marking a finding known-good writes its exact allowlist entry (namespace, filter name and query, consumer class and what it runs) below. Save the text as a .yaml file and scan again with ',
    el('code', null, '--allowlist FILE'), ': the same subscription is then reported as allow-listed at info, and anything that differs in one character is not.'));
  add(s, storageNote);
  var copy = el('button', { type: 'button', id: 'triage-copy', class: 'primary' }, 'Copy YAML');
  copy.addEventListener('click', function () {
    var text = triageYaml.value;
    if (!text) { triageStatus.textContent = 'Nothing is marked yet.'; return; }
    var fallback = function () {
      triageYaml.focus();
      triageYaml.select();
      var ok = false;
      try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
      triageStatus.textContent = ok ? 'Copied.' : 'The text is selected: copy it with Ctrl+C.';
    };
    if (navigator.clipboard && navigator.clipboard.writeText) navigator.clipboard.writeText(text).then(function () { triageStatus.textContent = 'Copied.'; }, fallback);
    else fallback();
  });
  var clearAll = el('button', { type: 'button', id: 'triage-clear' }, 'Clear all marks');
  clearAll.addEventListener('click', function () { marks.clear(); saveMarks(); refreshMarks(); });
  add(s, el('div', { class: 'row-actions' }, copy, clearAll), triageStatus, triageYaml, el('h3', null, 'Marked findings'), triageList);
  add(app, s);
}

function renderTriage() {
  var marked = F.map(function (f, i) { return i; }).filter(isMarked);
  triageYaml.value = allowlistYaml(marked);
  clear(triageList);
  if (marked.length === 0) add(triageList, el('li', { class: 'muted' }, 'none'));
  marked.forEach(function (i) {
    var f = F[i];
    var p = D.allow[i];
    var un = el('button', { type: 'button', class: 'unmark' }, 'unmark');
    un.addEventListener('click', function () { setMark(i, false); });
    var open = el('button', { type: 'button', class: 'open' }, 'open');
    open.addEventListener('click', function () { select(i, true); });
    add(triageList, el('li', null, sevChip(f.severity), ' ', vis(f.host), ': ', filterLabel(f), ' \u2192 ', consumerLabel(f), ' ',
      f.stack ? el('span', { class: 'tag' + (f.stack.rare ? ' tag-rare' : f.stack.common ? ' tag-common' : '') }, 'on ' + f.stack.hosts + ' of ' + f.stack.fleetHosts + ' hosts') : null,
      p && p.problem ? el('span', { class: 'notice' }, 'no exact entry possible: ' + vis(p.problem)) : null, ' ', open, ' ', un));
  });
  storageNote.textContent = (storage.ok
    ? 'Marks are kept in this browser (local storage, key wmiscope:' + D.reportId + ') and come back when this report is opened again.'
    : 'This browser does not let the page keep marks (' + storage.error + '): they last until the page is closed.') +
    (storage.restored ? ' ' + plural(storage.restored, 'mark was', 'marks were') + ' restored from this browser\'s storage: check them before copying the entries (any other local page opened in this browser can write that storage).' : '') +
    (storage.unreadable ? ' Marks stored for this report could not be read and were ignored.' : '');
}

function refreshMarks() {
  // with a triage filter the visible set changes: redraw everything; otherwise only what shows the marks
  // (a full redraw rebuilds the timeline, which is slow with thousands of findings)
  if (filters.triage) { update(); return; }
  rowsByIndex.forEach(function (tr, i) {
    if (!tr) return;
    tr.className = 'finding-row' + (isMarked(i) ? ' known' : '') + (state.selected === i ? ' selected' : '');
    var box = tr.querySelector('input.mark');
    if (box) box.checked = isMarked(i);
  });
  renderDetail();
  renderTriage();
}

// ------------------------------------------------------------------------------------------ go
function update() {
  var order = visibleOrder();
  renderRows(order);
  renderTimeline(order);
  renderDetail();
  renderTriage();
}

loadMarks();
renderSummary();
renderFindings();
renderTimelineSection();
renderNamespaces();
renderTriageSection();
update();
document.body.setAttribute('data-ready', 'true');
})();
`;
