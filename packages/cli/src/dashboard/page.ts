/**
 * The dashboard's page: one HTML document with its CSS and script inline, no framework, no build
 * step. It reads the event feed (`events`, Server-Sent Events of JSON lines), shows charts above a
 * live table (newest first; time, kind, arena, phase, a payload preview that expands on click),
 * counts per kind, and filters the table by kind glob and arena. Unknown kinds and malformed
 * entries are marked; gaps are rows of their own.
 *
 * The charts, fed by the same feed (`dashboard/insights.ts` computes them, `dashboard/charts.ts`
 * draws them as SVG): throughput by kind family with the error rate, each arena run's timeline
 * (phases and agents, with durations), LLM usage per model and per arena, and the consumer groups'
 * lag and pending count (the feed's `event: groups` messages). They show everything the feed
 * brings (its server-side filters apply; the table's own filters do not).
 *
 * Reloading resumes: the rows shown, the counts, the charts and the last stream id are kept in the
 * tab's `sessionStorage`, and the feed is re-opened after that id, so nothing is shown twice or missed.
 * The page's own query (`?kind=llm.*&arena=trading&from=0`) is passed to the feed: server-side
 * filters and the start of a fresh page (`$` by default: what arrives from now on); so is its
 * `token` (the dashboard's access token, when it has one), which is kept out of the tab's storage.
 *
 * The page's own kind filter matches as `KindGlob` does, with `KindGlob.wildcardMatch` itself (its
 * source is put in the script): no regular expression, no backtracking on a hostile kind.
 *
 * @since 0.1.0
 */
import * as KindGlob from "../KindGlob.js"
import * as Charts from "./charts.js"
import * as Inject from "./inject.js"
import * as Insights from "./insights.js"

/**
 * What the page is told about its feed.
 *
 * @since 0.1.0
 * @category models
 */
export interface PageConfig {
  /** The stream's key. */
  readonly stream: string
  /** Where the stream lives, for people (`localhost:6379`, `in-memory`); never credentials. */
  readonly source: string
  /** Whether the feed brings the stream's consumer groups. Default `false`. */
  readonly groups?: boolean | undefined
}

const style = `
:root { color-scheme: dark; --bg: #0f1115; --panel: #171a21; --line: #262a33; --text: #d7dae0; --dim: #8b909a;
  --arena: #60a5fa; --phase: #22d3ee; --agent: #4ade80; --decision: #e879f9; --source: #93c5fd; --llm: #c084fc;
  --control: #facc15; --action: #86efac; --system: #9ca3af; --error: #f87171; --unknown: #fbbf24; }
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--text); font: 13px/1.4 system-ui, sans-serif; }
header { display: flex; align-items: center; gap: 16px; padding: 10px 16px; background: var(--panel);
  border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 2; flex-wrap: wrap; }
h1 { font-size: 15px; margin: 0; font-weight: 600; }
.src { color: var(--dim); font-family: ui-monospace, monospace; }
#status { font-weight: 600; }
#status.live { color: var(--agent); } #status.down { color: var(--error); }
.filters { display: flex; gap: 8px; align-items: center; margin-left: auto; }
input { background: var(--bg); color: var(--text); border: 1px solid var(--line); border-radius: 4px;
  padding: 4px 8px; font: 12px ui-monospace, monospace; width: 180px; }
button { background: var(--line); color: var(--text); border: 0; border-radius: 4px; padding: 5px 10px; cursor: pointer; }
#shown { color: var(--dim); min-width: 110px; text-align: right; }
#counts { display: flex; flex-wrap: wrap; gap: 6px; padding: 8px 16px; border-bottom: 1px solid var(--line); }
.chip { border: 1px solid var(--line); border-radius: 10px; padding: 1px 8px; cursor: pointer;
  font: 12px ui-monospace, monospace; background: var(--panel); }
.chip b { color: var(--text); margin-left: 4px; } .chip.active { border-color: var(--text); }
.chip.unknown .k { color: var(--unknown); }
table { width: 100%; border-collapse: collapse; table-layout: fixed; font: 12px/1.45 ui-monospace, monospace; }
th { text-align: left; color: var(--dim); font-weight: 500; padding: 6px 8px; border-bottom: 1px solid var(--line); }
td { padding: 3px 8px; border-bottom: 1px solid #1d2028; vertical-align: top; overflow: hidden;
  text-overflow: ellipsis; white-space: nowrap; }
th.time { width: 105px; } th.kind { width: 170px; } th.arena { width: 150px; } th.phase { width: 110px; }
tr.row:hover { background: #1a1e27; }
.aid { color: var(--dim); margin-left: 6px; }
td.payload { cursor: pointer; color: #b9bec8; }
tr.open td.payload { white-space: pre-wrap; word-break: break-all; }
pre { margin: 4px 0 2px; padding: 6px 8px; background: var(--panel); border-radius: 4px; white-space: pre-wrap; }
.fam-arena .k { color: var(--arena); } .fam-phase .k { color: var(--phase); } .fam-agent .k { color: var(--agent); }
.fam-decision .k { color: var(--decision); } .fam-source .k { color: var(--source); } .fam-llm .k { color: var(--llm); }
.fam-control .k { color: var(--control); } .fam-action .k { color: var(--action); } .fam-system .k { color: var(--system); }
tr.err { background: #2a1518; } tr.err .k { color: var(--error); font-weight: 600; }
tr.v-unknown { background: #2a2412; } tr.v-unknown .k { color: var(--unknown); }
tr.v-malformed { background: #2d1216; } tr.v-malformed .k { color: var(--error); }
.badge { display: inline-block; font-size: 10px; padding: 0 5px; margin-left: 6px; border-radius: 3px;
  background: var(--unknown); color: #111; font-weight: 700; vertical-align: 1px; }
.v-malformed .badge { background: var(--error); }
td.gap { color: var(--unknown); background: #231d0c; text-align: center; font-weight: 600; }
#empty { color: var(--dim); padding: 24px 16px; }
#insights { display: grid; grid-template-columns: minmax(0, 2fr) minmax(0, 1fr); gap: 10px; padding: 10px 16px;
  border-bottom: 1px solid var(--line); }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 6px; padding: 8px 10px; min-width: 0; }
.panel h2 { font-size: 12px; font-weight: 600; margin: 0 0 6px; color: var(--dim); text-transform: uppercase; letter-spacing: .04em; }
.panel h2 span { text-transform: none; letter-spacing: 0; font-weight: 400; margin-left: 6px; }
.legend { display: flex; flex-wrap: wrap; gap: 4px 12px; margin-top: 4px; font: 11px ui-monospace, monospace; }
.legend .key i, .groups th i { display: inline-block; width: 9px; height: 9px; border-radius: 2px; margin-right: 4px; vertical-align: -1px; }
.legend .key b { color: var(--text); font-weight: 600; }
.legend .errors { color: var(--error); }
#runs { max-height: 282px; overflow-y: auto; }
.run { margin-bottom: 8px; } .run-head { font: 11px ui-monospace, monospace; margin-bottom: 2px; }
.st { font-weight: 600; } .st-complete { color: var(--agent); } .st-running { color: var(--arena); } .st-error { color: var(--error); }
table.usage, table.groups { table-layout: auto; font: 11px ui-monospace, monospace; margin-bottom: 6px; }
table.usage th, table.groups th { padding: 2px 4px; font-weight: 500; }
table.usage td, table.groups td { padding: 2px 4px; border-bottom: 1px solid #1d2028; white-space: nowrap; }
table.usage td.name, table.groups td.name { max-width: 120px; overflow: hidden; text-overflow: ellipsis; }
table.usage td:not(.name), table.usage th:not(:first-child) { text-align: right; }
table.usage td.cost { color: var(--control); } table.usage td.errors { color: var(--dim); }
.groups-error { color: var(--error); font: 11px ui-monospace, monospace; margin-bottom: 4px; }
.none { color: var(--dim); font-size: 12px; padding: 4px 0; }
svg.chart { display: block; overflow: visible; }
`

const charts = Inject.source("Charts", Insights, Charts)

const script = `
(function () {
  "use strict";
  ${charts}
  var wildcardMatch = ${KindGlob.wildcardMatch.toString()};
  var LIMITS = ${JSON.stringify(KindGlob.limits)};
  var CONFIG = JSON.parse(document.getElementById("config").textContent);
  var params = new URLSearchParams(location.search);
  var feedQuery = new URLSearchParams();
  params.getAll("kind").forEach(function (k) { feedQuery.append("kind", k); });
  if (params.get("arena")) feedQuery.set("arena", params.get("arena"));
  var token = params.get("token");
  var storageKey = "maf-events:" + CONFIG.stream + "?" + feedQuery.toString();
  var MAX_ROWS = 1000, MAX_STORED = 500;
  var el = function (id) { return document.getElementById(id); };
  var rows = el("rows"), countsEl = el("counts"), shownEl = el("shown"), statusEl = el("status");
  var kindInput = el("kind-filter"), arenaInput = el("arena-filter");

  var state = { lastId: null, lines: [], counts: {}, unknown: {}, insights: Charts.emptyInsights() };
  try {
    var saved = JSON.parse(sessionStorage.getItem(storageKey) || "null");
    if (saved && Array.isArray(saved.lines) && saved.counts && saved.unknown) state = saved;
    if (!state.insights || !Array.isArray(state.insights.buckets)) state.insights = Charts.emptyInsights();
  } catch (e) { /* a fresh start */ }

  var renderTimer = null, lastRender = 0;
  function widthOf(id, fallback) { var w = el(id).clientWidth; return w > 100 ? w : fallback; }
  function renderCharts() {
    renderTimer = null; lastRender = Date.now();
    var now = Date.now(), insights = state.insights;
    var series = Charts.throughput(insights, now);
    el("throughput").innerHTML = Charts.throughputSvg(series, widthOf("throughput", 800), 150);
    el("throughput-legend").innerHTML = Charts.throughputLegend(series.totals, series.errors);
    el("runs").innerHTML = insights.runs.length === 0 ? '<div class="none">no arena run yet</div>'
      : Charts.runsHtml(insights.runs, widthOf("runs", 800) - 16, Charts.LIMITS.runs);
    var models = Object.keys(insights.models).length > 0;
    el("llm").innerHTML = models ? Charts.usageTable("model", insights.models) + Charts.usageTable("arena", insights.arenas)
      : '<div class="none">no llm.call yet</div>';
    if (CONFIG.groups) el("groups").innerHTML = Charts.groupsHtml(insights);
  }
  function scheduleRender() {
    if (renderTimer !== null) return;
    renderTimer = setTimeout(renderCharts, Math.max(0, 250 - (Date.now() - lastRender)));
  }

  function globTest(text) {
    var globs = text.split(/[\\s,]+/).filter(Boolean).slice(0, LIMITS.globs).map(function (g) {
      var glob = g.slice(0, LIMITS.globLength).replace(/\\*+/g, "*");
      if (glob === "*") return function () { return true; };
      return function (k) { return k.length <= LIMITS.kindLength && wildcardMatch(glob, k); };
    });
    return globs.length === 0 ? function () { return true; } : function (k) { return globs.some(function (g) { return g(k); }); };
  }
  var kindMatches = globTest(""), arenaWanted = "";
  function visible(line) {
    if (line.variant === "gap" || line.variant === "malformed") return true;
    return kindMatches(String(line.kind)) && (arenaWanted === "" || line.arena === arenaWanted);
  }
  function countKey(line) {
    return line.variant === "gap" ? "(gap)" : line.variant === "malformed" ? "(malformed)" : String(line.kind);
  }
  function family(kind) { var i = kind.indexOf("."); return i < 0 ? kind : kind.slice(0, i); }
  function pad(n, w) { n = String(n); while (n.length < w) n = "0" + n; return n; }
  function timeOf(ts) {
    var d = new Date(ts);
    if (isNaN(d.getTime())) return String(ts || "");
    return pad(d.getHours(), 2) + ":" + pad(d.getMinutes(), 2) + ":" + pad(d.getSeconds(), 2) + "." + pad(d.getMilliseconds(), 3);
  }
  function td(cls, text) { var c = document.createElement("td"); c.className = cls; c.textContent = text; return c; }
  function preview(value) { var s = JSON.stringify(value); return s === undefined ? "" : s.length > 400 ? s.slice(0, 399) + "\\u2026" : s; }

  function renderRow(line) {
    var tr = document.createElement("tr");
    tr.dataset.id = line.stream_id;
    tr.dataset.variant = line.variant;
    if (line.variant === "gap") {
      tr.className = "row v-gap";
      var cell = td("gap", "gap: " + (line.lost === null ? "an unknown number of" : line.lost) +
        " entries after " + line.after + " were trimmed before they were read");
      cell.colSpan = 5;
      tr.appendChild(cell);
      return tr;
    }
    var kind = line.variant === "malformed" ? "malformed" : String(line.kind);
    tr.dataset.kind = kind;
    tr.className = "row v-" + line.variant + " fam-" + family(kind) + (/\\.error$/.test(kind) ? " err" : "");
    var time = td("time", line.variant === "malformed" ? "" : timeOf(line.ts));
    time.title = (line.ts || "") + "  " + line.stream_id;
    tr.appendChild(time);
    var kindCell = td("kind", "");
    var k = document.createElement("span"); k.className = "k"; k.textContent = kind; kindCell.appendChild(k);
    if (line.variant !== "event") {
      var b = document.createElement("span"); b.className = "badge";
      b.textContent = line.variant === "unknown" ? "unknown" : line.reason; kindCell.appendChild(b);
    }
    tr.appendChild(kindCell);
    var arena = td("arena", line.arena || "");
    if (line.arena_id) { var a = document.createElement("span"); a.className = "aid"; a.textContent = line.arena_id; arena.appendChild(a); }
    tr.appendChild(arena);
    tr.appendChild(td("phase", line.phase || ""));
    var payload = td("payload", line.variant === "malformed" ? String(line.raw) : preview(line.payload));
    payload.addEventListener("click", function () { toggle(tr, line, payload); });
    tr.appendChild(payload);
    tr.hidden = !visible(line);
    tr.line = line;
    return tr;
  }
  function toggle(tr, line, cell) {
    if (tr.classList.toggle("open")) {
      var pre = document.createElement("pre");
      pre.textContent = JSON.stringify(line, null, 2);
      cell.textContent = "";
      cell.appendChild(pre);
    } else {
      cell.textContent = line.variant === "malformed" ? String(line.raw) : preview(line.payload);
    }
  }

  var pending = [], flushTimer = null, saveTimer = null, lastSave = 0;
  function save() {
    lastSave = Date.now();
    try { sessionStorage.setItem(storageKey, JSON.stringify(state)); } catch (e) { /* full: not kept */ }
  }
  function scheduleSave() {
    if (saveTimer !== null) return;
    saveTimer = setTimeout(function () { saveTimer = null; save(); }, Math.max(0, 500 - (Date.now() - lastSave)));
  }
  function insert(lines) {
    var fragment = document.createDocumentFragment();
    for (var i = lines.length - 1; i >= 0; i--) fragment.appendChild(renderRow(lines[i]));
    rows.insertBefore(fragment, rows.firstChild);
    while (rows.childElementCount > MAX_ROWS) rows.removeChild(rows.lastElementChild);
    el("empty").hidden = rows.childElementCount > 0;
  }
  function flush() {
    flushTimer = null;
    var batch = pending; pending = [];
    if (batch.length === 0) return;
    var now = Date.now();
    batch.forEach(function (line) {
      Charts.addLine(state.insights, line, now);
      var key = countKey(line);
      Charts.put(state.counts, key, (Charts.own(state.counts, key) || 0) + 1);
      if (line.variant === "unknown") Charts.put(state.unknown, key, true);
    });
    state.lines = state.lines.concat(batch).slice(-MAX_STORED);
    insert(batch);
    renderCounts(); renderShown(); scheduleSave(); scheduleRender();
  }
  function renderCounts() {
    countsEl.textContent = "";
    Object.keys(state.counts).sort().forEach(function (key) {
      var chip = document.createElement("span");
      chip.className = "chip fam-" + family(key) + (Charts.own(state.unknown, key) ? " unknown" : "") +
        (kindInput.value.trim() === key ? " active" : "");
      chip.dataset.kind = key;
      var k = document.createElement("span"); k.className = "k"; k.textContent = key; chip.appendChild(k);
      var n = document.createElement("b"); n.textContent = state.counts[key]; chip.appendChild(n);
      chip.addEventListener("click", function () {
        if (key.charAt(0) === "(") return;
        kindInput.value = kindInput.value.trim() === key ? "" : key; applyFilters();
      });
      countsEl.appendChild(chip);
    });
  }
  function renderShown() {
    var shown = 0, total = rows.childElementCount;
    for (var r = rows.firstElementChild; r; r = r.nextElementSibling) if (!r.hidden) shown++;
    shownEl.textContent = shown === total ? total + " rows" : shown + " of " + total + " rows";
  }
  function applyFilters() {
    kindMatches = globTest(kindInput.value); arenaWanted = arenaInput.value.trim();
    for (var r = rows.firstElementChild; r; r = r.nextElementSibling) if (r.line) r.hidden = !visible(r.line);
    renderCounts(); renderShown();
  }
  kindInput.addEventListener("input", applyFilters);
  arenaInput.addEventListener("input", applyFilters);
  el("clear").addEventListener("click", function () { kindInput.value = ""; arenaInput.value = ""; applyFilters(); });
  window.addEventListener("pagehide", save);

  insert(state.lines);
  renderCounts(); renderShown(); renderCharts();
  // The throughput window moves on with time, events or not.
  setInterval(scheduleRender, 1000);

  var query = new URLSearchParams(feedQuery);
  query.set("from", state.lastId || params.get("from") || "$");
  if (token) query.set("token", token);
  var source = new EventSource("events?" + query.toString());
  source.onopen = function () { statusEl.textContent = "\\u25cf live"; statusEl.className = "live"; };
  source.onerror = function () { statusEl.textContent = "\\u25cb reconnecting\\u2026"; statusEl.className = "down"; };
  source.onmessage = function (message) {
    var line;
    try { line = JSON.parse(message.data); } catch (e) { return; }
    if (message.lastEventId) state.lastId = message.lastEventId;
    pending.push(line);
    if (flushTimer === null) flushTimer = setTimeout(flush, 50);
  };
  source.addEventListener("groups", function (message) {
    var snapshot;
    try { snapshot = JSON.parse(message.data); } catch (e) { return; }
    Charts.addGroups(state.insights, snapshot);
    scheduleRender(); scheduleSave();
  });
  window.mafEvents = { state: state, flush: flush, render: renderCharts };
})();
`

const escapeJson = (value: unknown): string =>
  JSON.stringify(value).replace(/</g, "\\u003c").replace(/>/g, "\\u003e").replace(/&/g, "\\u0026")

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`)

/**
 * The page's HTML.
 *
 * @since 0.1.0
 * @category rendering
 */
export const render = (config: PageConfig): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>maf-events · ${escapeHtml(config.stream)}</title>
<style>${style}</style>
</head>
<body>
<header>
  <h1>maf-events</h1>
  <span class="src">${escapeHtml(config.stream)} · ${escapeHtml(config.source)}</span>
  <span id="status">○ connecting…</span>
  <div class="filters">
    <input id="kind-filter" placeholder="kind: llm.* *.error" autocomplete="off" spellcheck="false">
    <input id="arena-filter" placeholder="arena" autocomplete="off" spellcheck="false">
    <button id="clear" type="button">clear</button>
    <span id="shown"></span>
  </div>
</header>
<section id="insights">
  <div class="panel"><h2>Throughput<span>events/s by kind family, last 5 minutes; errors in red</span></h2>
    <div id="throughput"></div><div id="throughput-legend" class="legend"></div></div>
  <div class="panel"><h2>LLM usage<span>from llm.call payloads</span></h2><div id="llm"></div></div>
  <div class="panel"><h2>Arena runs<span>phases and agents, newest first</span></h2><div id="runs"></div></div>
  <div class="panel"><h2>Consumer groups<span>lag and pending</span></h2><div id="groups">${
    config.groups === true
      ? '<div class="none">waiting for the groups…</div>'
      : '<div class="none">not watched by this dashboard (maf-events serve shows them)</div>'
  }</div></div>
</section>
<div id="counts"></div>
<table>
  <thead><tr><th class="time">time</th><th class="kind">kind</th><th class="arena">arena</th><th class="phase">phase</th><th>payload</th></tr></thead>
  <tbody id="rows"></tbody>
</table>
<div id="empty">Waiting for events…</div>
<script id="config" type="application/json">${escapeJson(config)}</script>
<script>${script}</script>
</body>
</html>
`
