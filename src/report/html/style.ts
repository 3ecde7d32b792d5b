/**
 * The HTML report's style sheet: inline, allowed by its hash in the page's Content-Security-Policy. System
 * fonts only (nothing is fetched). Keep `</style` out of it (formatHtml refuses to build the page otherwise).
 */
export const STYLE = String.raw`
:root{--fg:#1d2330;--muted:#5b6475;--bg:#fff;--panel:#f5f7fa;--line:#d9dee7;--accent:#1f5fbf;
--critical:#8f0f1f;--critical-bg:#fbe1e4;--high:#b23a00;--high-bg:#fde8dc;--medium:#8a6300;--medium-bg:#fdf3d2;
--low:#1d5e8a;--low-bg:#e0eef8;--info:#4b5563;--info-bg:#eceff3;--ok:#1c6b3a;--ok-bg:#e0f2e7;--custom:#a3006b;--custom-bg:#fbe3f3}
*{box-sizing:border-box}
html{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"Noto Sans",sans-serif;font-size:14px;color:var(--fg);background:var(--bg)}
body{margin:0;padding:0 1.5rem 3rem;line-height:1.4}
header{border-bottom:2px solid var(--line);padding:1rem 0 .5rem;display:flex;flex-wrap:wrap;align-items:baseline;gap:1rem}
h1{font-size:1.5rem;margin:0}
h2{font-size:1.2rem;margin:1.8rem 0 .6rem;padding-bottom:.2rem;border-bottom:1px solid var(--line)}
h3{font-size:1.05rem;margin:1.2rem 0 .4rem}
h4{font-size:.95rem;margin:1rem 0 .3rem}
.meta,.muted{color:var(--muted)}
nav.toc{position:sticky;top:0;background:var(--bg);z-index:5;padding:.4rem 0;border-bottom:1px solid var(--line);display:flex;gap:1rem;flex-wrap:wrap}
nav.toc a{color:var(--accent);text-decoration:none;font-weight:600}
a{color:var(--accent)}
code,pre,.mono{font-family:ui-monospace,"SFMono-Regular",Menlo,Consolas,"DejaVu Sans Mono",monospace;font-size:.9em}
pre{background:var(--panel);border:1px solid var(--line);border-radius:4px;padding:.5rem .7rem;margin:.2rem 0 .6rem;white-space:pre-wrap;word-break:break-all;max-height:32rem;overflow:auto}
table{border-collapse:collapse;width:100%;margin:.3rem 0 .8rem}
th,td{border-bottom:1px solid var(--line);padding:.3rem .45rem;text-align:left;vertical-align:top}
.any{overflow-wrap:anywhere}
.nowrap{white-space:nowrap}
.table-wrap{overflow-x:auto;max-width:100%}
th{background:var(--panel);font-weight:600;white-space:nowrap}
td.num,th.num{text-align:right}
.cards{display:flex;flex-wrap:wrap;gap:.5rem;margin:.6rem 0}
.card{background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:.3rem .7rem;min-width:6rem}
.card .big{font-size:1.3rem;font-weight:700;line-height:1.2}
#card-severity{display:flex;flex-wrap:wrap;gap:.2rem .7rem;align-items:center;max-width:22rem}
.sev-count{white-space:nowrap}
.card-hidden{border-color:var(--medium);background:var(--medium-bg);max-width:28rem}
.sev{display:inline-block;border-radius:3px;padding:0 .4rem;font-weight:700;font-size:.85em;text-transform:uppercase;letter-spacing:.02em}
.sev-critical{color:#fff;background:var(--critical)}
.sev-high{color:var(--high);background:var(--high-bg)}
.sev-medium{color:var(--medium);background:var(--medium-bg)}
.sev-low{color:var(--low);background:var(--low-bg)}
.sev-info{color:var(--info);background:var(--info-bg)}
.tag{display:inline-block;border:1px solid var(--line);border-radius:3px;padding:0 .35rem;font-size:.82em;margin:0 .2rem .1rem 0;background:var(--bg)}
.tag-rare{border-color:var(--critical);color:var(--critical)}
.tag-common{border-color:var(--ok);color:var(--ok)}
.tag-known{background:var(--ok-bg);color:var(--ok);border-color:var(--ok)}
.tag-custom{background:var(--custom-bg);color:var(--custom);border-color:var(--custom);font-weight:700}
.filters{display:flex;flex-wrap:wrap;gap:.5rem .9rem;align-items:end;background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:.6rem .8rem}
.filters label{display:flex;flex-direction:column;font-size:.85em;color:var(--muted);gap:.1rem}
.filters select,.filters input{font:inherit;color:var(--fg);padding:.15rem .3rem;max-width:16rem}
.filters input[type=search]{width:16rem}
button{font:inherit;cursor:pointer;border:1px solid var(--line);background:var(--bg);border-radius:4px;padding:.2rem .6rem}
button:hover{border-color:var(--accent)}
button.primary{background:var(--accent);color:#fff;border-color:var(--accent)}
#findings-table th.sortable{cursor:pointer;user-select:none}
#findings-table th.sortable::after{content:" \2195";color:var(--muted);font-weight:400}
#findings-table th[aria-sort=ascending]::after{content:" \25B2";color:var(--fg)}
#findings-table th[aria-sort=descending]::after{content:" \25BC";color:var(--fg)}
#findings-table tbody tr{cursor:pointer}
#findings-table tbody tr:hover{background:#eef3fb}
#findings-table tbody tr.selected{background:#dfe9f8;outline:2px solid var(--accent)}
#findings-table tbody tr.known{opacity:.6}
#findings-table{table-layout:fixed}
#findings-table th{white-space:normal;overflow:hidden;overflow-wrap:normal;font-size:.92em;padding:.3rem .3rem}
#findings-table td.time{font-size:.8em}
#findings-table td{overflow:hidden;overflow-wrap:break-word}
#findings-table .col-mark{width:4.6rem}
#findings-table .col-severity{width:6.2rem}
#findings-table .col-score{width:3.6rem}
#findings-table .col-host{width:11.5rem}
#findings-table .col-namespace{width:8.5rem}
#findings-table .col-status{width:5.6rem}
#findings-table .col-consumer{width:12rem}
#findings-table .col-seen{width:6.5rem}
#findings-table .col-stack{width:5rem}
#findings-table .col-first,#findings-table .col-last{width:6.2rem}
td.name{overflow-wrap:break-word;word-break:normal}
td.runs{overflow-wrap:anywhere}
td.time{white-space:normal;min-width:5.5rem}
.clamp{display:-webkit-box;-webkit-box-orient:vertical;-webkit-line-clamp:3;overflow:hidden}
.cls{display:block;color:var(--muted);font-size:.85em}
table.fixed{table-layout:fixed}
table.fixed td{overflow:hidden;overflow-wrap:break-word}
#stacks-table .w-hosts{width:6rem}
#stacks-table .w-sev{width:6.6rem}
#stacks-table .w-ns{width:10rem}
#stacks-table .w-hash{width:9rem}
details.block{margin:.6rem 0}
details.block>summary h3{display:inline;font-size:1.05rem;margin:0}
@media (max-width:1200px){#findings-table .col-score,#findings-table .col-seen,#findings-table .col-last{display:none}#findings-table .col-namespace{width:8rem}#findings-table .col-consumer{width:11rem}#findings-table .col-host{width:9rem}.card{min-width:0}}
section,.detail{scroll-margin-top:2.8rem}
.detail{border:2px solid var(--accent);border-radius:6px;padding:.2rem 1rem 1rem;margin:1rem 0;background:#fbfcfe}
.detail h3{margin-top:.8rem}
dl.kv{display:grid;grid-template-columns:max-content 1fr;gap:.2rem .9rem;margin:.3rem 0 .6rem}
dl.kv dt{color:var(--muted);font-weight:600}
dl.kv dd{margin:0;word-break:break-word}
ul.plain{margin:.2rem 0 .6rem;padding-left:1.2rem}
.saw{color:var(--ok);font-weight:600}
.missed{color:var(--high);font-weight:600}
details>summary{cursor:pointer}
.timeline-wrap{overflow-x:auto;border:1px solid var(--line);border-radius:6px;background:var(--bg)}
svg.timeline{display:block}
svg.timeline .lane{fill:var(--panel)}
svg.timeline .lane-alt{fill:#fff}
svg.timeline .axis{stroke:#9aa3b2;stroke-width:1}
svg.timeline .grid{stroke:#e3e7ee;stroke-width:1}
svg.timeline text{font-size:11px;fill:var(--fg)}
svg.timeline text.tick{fill:var(--muted)}
svg.timeline .ev{cursor:pointer;stroke:#fff;stroke-width:1}
svg.timeline .ev-created{fill:#1c7c3f}
svg.timeline .ev-modified{fill:#c27c00}
svg.timeline .ev-deleted{fill:#b3261e}
svg.timeline .ev-ran{fill:#5b3cc4}
svg.timeline .ev:hover{stroke:#000;stroke-width:2}
.legend{display:flex;gap:1rem;margin:.3rem 0;font-size:.9em}
.legend .sw{display:inline-block;width:.8rem;height:.8rem;border-radius:50%;vertical-align:-1px;margin-right:.3rem}
.sw-created{background:#1c7c3f}.sw-modified{background:#c27c00;border-radius:0!important}.sw-deleted{background:#b3261e;border-radius:0!important;clip-path:polygon(0 0,100% 0,50% 100%)}.sw-ran{background:#5b3cc4;border-radius:0!important;clip-path:polygon(0 100%,100% 100%,50% 0)}
ul.tree{list-style:none;margin:.1rem 0;padding-left:1.1rem;border-left:1px dotted var(--line)}
ul.tree.root{padding-left:0;border-left:none}
ul.tree li{margin:.15rem 0}
.ns-node{font-family:ui-monospace,Menlo,Consolas,monospace}
.ns-holds{font-weight:700}
.ns-custom{color:var(--custom)}
.host-tree{display:inline-block;vertical-align:top;min-width:18rem;margin:0 1.5rem 1rem 0;background:var(--panel);border:1px solid var(--line);border-radius:6px;padding:.4rem .8rem}
textarea.yaml{width:100%;min-height:12rem;font-family:ui-monospace,Menlo,Consolas,monospace;font-size:.85rem;border:1px solid var(--line);border-radius:4px;padding:.4rem}
.notice{background:var(--medium-bg);border:1px solid var(--medium);border-radius:4px;padding:.4rem .7rem;margin:.4rem 0}
.noscript{background:var(--medium-bg);padding:1rem}
.row-actions{display:flex;gap:.5rem;flex-wrap:wrap;margin:.4rem 0}
@media print{nav.toc,.filters,.row-actions,button{display:none}.detail{border:none}}
`;
