// Case statistics (/admin/stats), for staff: for an area and a period, each
// child area's counts, on-time rate and 三率 as a table and as a choropleth
// of the child areas (by on-time rate; areas with too few cases hatched as
// "no data"), and the weekly received/closed cases as a uPlot chart. Every
// number is the API's (GET /api/v1/areas/{code}/case-stats); the page only
// formats and draws them. The period is China's calendar days: the API's
// default (the last twelve weeks up to today in China, on the server's
// clock) until one is chosen, and the date fields stop at the server's today,
// whatever the browser's time zone. The area is chosen in a picker (the
// account's tree and a search by name), by clicking a child area in the table
// or on the map (drilling down) or a breadcrumb (back up); the address keeps
// area, from and to (pushState), so a link opens the same statistics and the
// browser's back button goes back up. Sign-in is the editor's (/admin). MapLibre
// (lib/map.js) is imported when the page is up, so the table and the chart
// do not wait for it.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { $, h, show } from "./lib/dom.js";
import { treeKeys, focusItem, searchAreas } from "./lib/tree.js";
import { ApiError, getJSON, qs } from "./lib/api.js";
import { t, tr, lang, errorKey, applyI18n, langToggle, onLangChange } from "./lib/i18n.js";
import "./css/base.css";
import "./css/stats.css";

applyI18n();
langToggle($("#lang"));

// The choropleth's classes of on-time rate, lowest first: [from, colour].
// Colours from ColorBrewer's RdYlGn, distinguishable in greyscale print.
const classes = [
  [0, "#d7191c"],
  [0.6, "#fdae61"],
  [0.8, "#a6d96a"],
  [0.9, "#1a9641"],
];
const columns = [
  ["received", "count"], ["closed", "count"], ["on_time_rate", "rate"], ["response_rate", "rate"],
  ["resolution_rate", "rate"], ["satisfaction_rate", "rate"], ["median_hours_to_close", "hours"],
];

// from and to are "" until the API has named its default period.
const state = { session: null, area: null, from: "", to: "", today: "", stats: null, areas: null, chain: [], chart: null, map: null, levels: [], roots: [] };
if (__TEST_HOOKS__) window.__stats = state;

const app = $("#app");
let mapLib; // lib/map.js, once imported
let mapReady; // settles when the map is made

/** link is the address of the statistics of area over the current period. */
const link = (area) => "?" + qs({ area, from: state.from, to: state.to });

/** fromURL reads area, from and to from the address ("" for those it lacks). */
function fromURL() {
  const p = new URLSearchParams(location.search);
  return { area: p.get("area") || "", from: p.get("from") || "", to: p.get("to") || "" };
}

/**
 * go shows the statistics of another area or period and records it in the
 * address (a new history entry, so the back button returns to the last one).
 */
function go(change) {
  Object.assign(state, change);
  history.pushState(null, "", link(state.area));
  closePicker();
  return load();
}

/** drill is a click handler for links made by link(): the page goes there without reloading. */
function drill(e) {
  const a = e.target.closest("a[data-area]");
  if (!a || e.button !== 0 || e.ctrlKey || e.metaKey || e.shiftKey) return;
  e.preventDefault();
  go({ area: a.dataset.area });
}

async function start() {
  const sess = await getJSON("/api/v1/session");
  if (!sess.signed_in) {
    show(app, h("p", { class: "msg info", id: "stats-signin" }, tr(h, "span", {}, "stats.signIn"), " ", tr(h, "a", { href: "/admin" }, "stats.editor")));
    return;
  }
  state.session = sess;
  $("#who").textContent = sess.user.name;
  const { levels } = await getJSON("/api/v1/levels");
  state.levels = levels.filter((l) => l.hierarchy === "admin").sort((a, b) => a.depth - b.depth);
  // The picker's tree starts at the account's area (an admin's: the top level).
  const scoped = (state.scoped = !!sess.user.scope_code && sess.user.role !== "admin");
  state.roots = scoped ? [await getJSON(`/api/v1/areas/${encodeURIComponent(sess.user.scope_code)}`)] : (await getJSON("/api/v1/areas?" + qs({ level: state.levels[0].key }))).areas;
  // The period: the address's, or (none there) the API's default, in China's days.
  Object.assign(state, fromURL());
  state.area ||= sess.user.scope_code || state.roots[0].code;
  show(app,
    h("form", { id: "stats-form", class: "controls" },
      h("div", { class: "picker" },
        tr(h, "span", { id: "stats-area-label", class: "label" }, "stats.area"),
        h("button", { type: "button", id: "stats-area", class: "secondary", "aria-haspopup": "true", "aria-expanded": "false", "aria-controls": "stats-picker", "aria-describedby": "stats-area-label", onclick: togglePicker }, state.area),
        picker()),
      h("label", {}, tr(h, "span", {}, "stats.from"), h("input", { id: "stats-from", name: "from", type: "date", value: state.from, required: true })),
      h("label", {}, tr(h, "span", {}, "stats.to"), h("input", { id: "stats-to", name: "to", type: "date", value: state.to, required: true })),
      tr(h, "button", { type: "submit" }, "stats.show"),
      tr(h, "button", { type: "button", class: "secondary", id: "stats-print", onclick: () => window.print() }, "stats.print")),
    h("p", { id: "stats-error", class: "msg error", role: "alert", hidden: true }),
    h("h2", { id: "stats-heading" }),
    h("p", { class: "chain", id: "stats-chain" }),
    h("div", { class: "stats-grid" },
      h("section", { class: "stats-table" }, h("table", { id: "stats-table" })),
      h("section", { class: "stats-map" },
        h("div", { id: "stats-map", class: "map", role: "region", "aria-label": t("stats.mapLabel"), "data-i18n-aria-label": "stats.mapLabel" }),
        legend())),
    h("section", { class: "stats-chart" }, tr(h, "h3", {}, "stats.weekly"), h("div", { id: "stats-chart" }), h("div", { class: "weeks-wrap" }, h("table", { id: "stats-weeks" }))));
  $("#stats-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const fd = new FormData(e.target);
    go({ from: fd.get("from"), to: fd.get("to") });
  });
  $("#stats-table").addEventListener("click", drill);
  $("#stats-chain").addEventListener("click", drill);
  addEventListener("popstate", () => {
    Object.assign(state, fromURL());
    load();
  });
  mapReady = import("./lib/map.js").then(async (lib) => {
    mapLib = lib;
    state.map = await lib.createMap($("#stats-map"), { tiles: false });
    setupLayers(state.map);
  });
  onLangChange(render);
  addEventListener("resize", () => state.chart && state.chart.setSize(chartSize()));
  // Printing: the chart is redrawn at the printed size (its canvas would be
  // scaled otherwise), on the print media change and on beforeprint (a
  // browser's own print may announce either first); back again after.
  const printed = () => {
    if (state.chart) state.chart.setSize(chartSize());
    if (!state.map) return;
    state.map.resize();
    if (state.areas?.features.length) mapLib.fitTo(state.map, state.areas, 10, 17);
  };
  matchMedia("print").addEventListener("change", printed);
  addEventListener("beforeprint", printed);
  addEventListener("afterprint", printed);
  await load();
}

/** leaf is whether level is the bottom of the hierarchy (grids: nothing to drill into). */
const leaf = (level) => level === state.levels[state.levels.length - 1]?.key;

// --- The area picker ---------------------------------------------------------
// A panel under the area button: a search by name or code over the account's
// areas, and the account's tree (its area → children → grids, loaded as
// branches open; the editor's ARIA tree keys). Choosing an area shows it.

function picker() {
  const input = h("input", {
    type: "search", id: "stats-search", autocomplete: "off", "aria-controls": "stats-results",
    "aria-label": t("admin.search.label"), "data-i18n-aria-label": "admin.search.label", placeholder: t("admin.search.label"), "data-i18n-placeholder": "admin.search.label",
  });
  const status = h("p", { id: "stats-search-status", class: "hint", role: "status" });
  const results = h("ul", { id: "stats-results", class: "results" });
  const tree = h("ul", { id: "stats-tree", role: "tree", "aria-label": t("stats.tree"), "data-i18n-aria-label": "stats.tree" }, state.roots.map(treeItem));
  if (tree.firstChild) tree.firstChild.tabIndex = 0;
  treeKeys(tree, { expand, collapse: (li) => li.setAttribute("aria-expanded", "false"), choose: (li) => go({ area: li.dataset.code }) });
  input.addEventListener("input", async () => {
    const q = input.value.trim();
    if (!q) return show(results), show(status);
    const found = (await searchAreas(q, { under: state.scoped ? state.roots[0].code : "", levels: new Set(state.levels.map((l) => l.key)) })).slice(0, 30);
    if (input.value.trim() !== q) return; // typed on meanwhile
    show(results, found.map((a) => h("li", {},
      h("button", { type: "button", class: "result", dataset: { code: a.code }, onclick: () => go({ area: a.code }) }, a.name, " ", h("span", { class: "code" }, a.code)))));
    show(status, found.length ? tr(h, "span", {}, "admin.search.count", { n: found.length }) : tr(h, "span", {}, "admin.search.none", { q }));
  });
  input.addEventListener("keydown", (e) => {
    const first = results.querySelector("button");
    if (e.key === "Enter") {
      e.preventDefault();
      if (first) go({ area: first.dataset.code });
    } else if (e.key === "Escape") closePicker();
  });
  return h("div", { id: "stats-picker", class: "picker-panel", hidden: true }, input, status, results, tree);
}

function treeItem(a) {
  const li = h("li", { role: "treeitem", tabindex: "-1", "aria-selected": String(a.code === state.area), dataset: { code: a.code, level: a.level }, "aria-expanded": leaf(a.level) ? null : "false" },
    h("span", { class: "node", title: a.code }, a.name));
  li.firstChild.addEventListener("click", () => go({ area: a.code }));
  if (!leaf(a.level)) {
    const twisty = h("button", { type: "button", class: "twisty", tabindex: "-1", "aria-hidden": "true" }, "▸");
    twisty.addEventListener("click", () => (li.getAttribute("aria-expanded") === "true" ? li.setAttribute("aria-expanded", "false") : expand(li)));
    li.prepend(twisty);
  }
  return li;
}

/** expand opens a branch of the picker's tree, loading its children the first time. */
async function expand(li) {
  if (!li.hasAttribute("aria-expanded")) return;
  if (!li.querySelector("ul")) {
    const { areas } = await getJSON(`/api/v1/areas/${encodeURIComponent(li.dataset.code)}/children`);
    if (!li.querySelector("ul")) li.append(h("ul", { role: "group" }, areas.filter((a) => !a.retired_at).map(treeItem)));
  }
  li.setAttribute("aria-expanded", "true");
}

async function togglePicker() {
  const panel = $("#stats-picker");
  if (!panel.hidden) return closePicker();
  panel.hidden = false;
  $("#stats-area").setAttribute("aria-expanded", "true");
  // Open the tree down to the area shown (its chain below the roots).
  for (const a of [...state.chain, state.stats?.area].filter(Boolean)) {
    const li = $(`#stats-tree li[data-code="${CSS.escape(a.code)}"]`);
    if (li && !leaf(a.level)) await expand(li);
  }
  for (const li of document.querySelectorAll("#stats-tree li")) li.setAttribute("aria-selected", String(li.dataset.code === state.area));
  const sel = $('#stats-tree li[aria-selected="true"]') || $("#stats-tree li");
  if (sel) focusItem($("#stats-tree"), sel);
  $("#stats-search").focus();
}

function closePicker() {
  const panel = $("#stats-picker");
  if (!panel || panel.hidden) return;
  panel.hidden = true;
  $("#stats-area").setAttribute("aria-expanded", "false");
  // The next opening starts with an empty search.
  $("#stats-search").value = "";
  show($("#stats-results"));
  show($("#stats-search-status"));
}

async function load() {
  const err = $("#stats-error");
  err.hidden = true;
  app.dataset.ready = "false";
  try {
    const code = encodeURIComponent(state.area);
    // No period yet: the API's default (qs leaves out empty values).
    const [stats, areas, area] = await Promise.all([
      getJSON(`/api/v1/areas/${code}/case-stats?` + qs({ from: state.from, to: state.to })),
      getJSON("/api/v1/areas.geojson?" + qs({ parent: state.area })),
      getJSON(`/api/v1/areas/${code}`),
    ]);
    state.stats = stats;
    state.areas = areas;
    state.chain = (area.chain || []).filter((a) => a.code !== area.code);
    // The period as the API read it, in China's days; the address keeps it, so a link shows these numbers.
    Object.assign(state, { from: stats.from_date, to: stats.to_date, today: stats.today });
    history.replaceState(null, "", link(state.area));
    for (const [id, v] of [["#stats-from", state.from], ["#stats-to", state.to]]) Object.assign($(id), { value: v, max: state.today });
    $("#stats-area").textContent = `${stats.area.name} (${stats.area.code})`;
  } catch (e) {
    state.stats = null;
    show(err, t(e instanceof ApiError && e.status === 404 ? "stats.noArea" : errorKey(e), { code: state.area }));
    err.hidden = false;
  }
  render();
  await mapReady;
  if (state.stats) {
    renderMap(state.stats);
    if (state.areas.features.length) mapLib.fitTo(state.map, state.areas, 20);
  }
  app.dataset.ready = "true";
}

/** fmt formats a value of the kind count, rate (0–1, shown as a percentage) or hours; "—" for none. */
function fmt(v, kind) {
  if (v === null || v === undefined) return "—";
  const opts = kind === "rate" ? { style: "percent", maximumFractionDigits: 1 } : { maximumFractionDigits: kind === "hours" ? 1 : 0 };
  return new Intl.NumberFormat(lang(), opts).format(v);
}

function render() {
  const st = state.stats;
  if (!st) return;
  st.children ??= []; // the API leaves out an empty list
  $("#stats-heading").textContent = t("stats.heading", { name: st.area.name, from: state.from, to: state.to });
  // The least number of cases for a colour is the API's (cases.MinRateCases).
  const nodata = $("#stats-nodata-legend");
  nodata.dataset.i18nArgs = JSON.stringify({ n: st.min_rate_cases });
  nodata.textContent = t("stats.noDataLegend", { n: st.min_rate_cases });
  // The ancestors, to go back up: links from the account's own area down (it
  // sees the statistics of its area and below only), the ones above as text.
  const scope = state.session.user.role === "admin" ? -1 : state.chain.findIndex((a) => a.code === state.session.user.scope_code);
  const open = (i) => state.session.user.role === "admin" || !state.session.user.scope_code || (scope >= 0 && i >= scope);
  show($("#stats-chain"), state.chain.map((a, i) => [open(i) ? areaLink(a) : h("span", {}, a.name), " › "]), h("strong", { "aria-current": "page" }, st.area.name));
  renderTable(st);
  if (state.map) renderMap(st);
  renderChart(st);
}

function renderTable(st) {
  const head = h("tr", {}, tr(h, "th", { scope: "col" }, "stats.col.area"), columns.map(([k]) => tr(h, "th", { scope: "col" }, "stats.col." + k)));
  const row = (s, total) => h("tr", { "data-code": s.area.code, class: total ? "total" : null },
    h(total ? "th" : "td", { scope: total ? "row" : null }, total ? t("stats.total", { name: s.area.name }) : leaf(s.area.level) ? s.area.name : areaLink(s.area)),
    columns.map(([k, kind]) => h("td", { "data-key": k, "data-value": s[k] ?? "" }, fmt(s[k], kind))));
  show($("#stats-table"),
    tr(h, "caption", {}, "stats.tableCaption"),
    h("thead", {}, head),
    h("tbody", {}, st.children.map((c) => row(c, false))),
    h("tfoot", {}, row(st, true)));
  if (!st.children.length) $("#stats-table tbody").append(h("tr", {}, tr(h, "td", { colspan: columns.length + 1, class: "hint" }, "stats.noCases")));
}

/** areaLink links to the statistics of area a over the current period; a click drills there in the page (drill). */
const areaLink = (a) => h("a", { href: link(a.code), dataset: { area: a.code } }, a.name);

/** setupLayers adds the child areas' fill (by on-time rate), their "no data" hatching and outlines. */
function setupLayers(map) {
  map.setGeoJSON("stats-areas", null);
  map.addImage("hatch-grey", hatchGrey(), { pixelRatio: 2 });
  const step = ["step", ["get", "rate"], classes[0][1]];
  for (const [from, colour] of classes.slice(1)) step.push(from, colour);
  map.addLayer({ id: "stats-fill", type: "fill", source: "stats-areas", filter: ["==", ["get", "few"], false], paint: { "fill-color": step, "fill-opacity": 0.75 } });
  map.addLayer({ id: "stats-nodata", type: "fill", source: "stats-areas", filter: ["==", ["get", "few"], true], paint: { "fill-pattern": "hatch-grey" } });
  map.addLayer({ id: "stats-line", type: "line", source: "stats-areas", paint: { "line-color": "#3d4556", "line-width": 1.2 } });
  // A click on a child area drills down into it (not into a grid: nothing below).
  for (const layer of ["stats-fill", "stats-nodata"]) {
    map.on("click", layer, (e) => {
      const f = e.features?.[0];
      if (f && f.properties.drill) go({ area: f.properties.code });
    });
    map.on("mouseenter", layer, (e) => (map.getCanvas().style.cursor = e.features?.[0]?.properties.drill ? "pointer" : ""));
    map.on("mouseleave", layer, () => (map.getCanvas().style.cursor = ""));
  }
  map.addLayer({ id: "stats-label", type: "symbol", source: "stats-areas", layout: { "text-field": ["get", "label"], "text-size": 12 }, paint: { "text-halo-color": "#fff", "text-halo-width": 1.5 } });
}

/** hatchGrey is the "no data" pattern: grey diagonal lines on light grey. */
function hatchGrey() {
  const n = 16;
  const g = Object.assign(document.createElement("canvas"), { width: n, height: n }).getContext("2d");
  g.fillStyle = "#eeeeee";
  g.fillRect(0, 0, n, n);
  g.strokeStyle = "#8a8f99";
  g.lineWidth = 2;
  g.beginPath();
  for (const o of [-n, 0, n]) g.moveTo(o, 0), g.lineTo(o + n, n);
  g.stroke();
  return g.getImageData(0, 0, n, n);
}

function renderMap(st) {
  const byCode = new Map(st.children.map((c) => [c.area.code, c]));
  const features = state.areas.features.map((f) => {
    const s = byCode.get(f.properties.code);
    const few = !s || s.few_cases || s.on_time_rate === null;
    return { ...f, properties: { code: f.properties.code, name: f.properties.name, few, rate: few ? -1 : s.on_time_rate, drill: !leaf(f.properties.level),
      label: few ? `${f.properties.name}\n${t("stats.noData")}` : `${f.properties.name}\n${fmt(s.on_time_rate, "rate")}` } };
  });
  state.map.setGeoJSON("stats-areas", { type: "FeatureCollection", features });
}

function legend() {
  const items = classes.map(([from, colour], i) => {
    const to = classes[i + 1]?.[0];
    const key = to === undefined ? "stats.legendFrom" : "stats.legendRange";
    const swatch = h("span", { class: "swatch" });
    swatch.style.background = colour; // a property, not a style attribute: the CSP allows no inline styles
    return h("li", { "data-from": from, "data-colour": colour },
      swatch,
      tr(h, "span", {}, key, { from: Math.round(from * 100), to: to === undefined ? "" : Math.round(to * 100) }));
  });
  items.push(h("li", { class: "nodata" }, h("span", { class: "swatch hatched" }), tr(h, "span", { id: "stats-nodata-legend" }, "stats.noDataLegend", { n: "…" })));
  return h("div", { class: "legend", id: "stats-legend" }, tr(h, "strong", {}, "stats.legendTitle"), h("ul", {}, items));
}

function chartSize() {
  const el = $("#stats-chart");
  const printing = matchMedia("print").matches;
  return { width: printing ? 680 : Math.max(el.clientWidth, 320), height: printing ? 260 : 280 };
}

/**
 * tooltip is a uPlot plugin: over the chart, a box with the hovered week's
 * date and both series' values (screen only; the printed page has the weekly
 * table under the chart instead).
 */
function tooltip(day) {
  let box;
  return {
    hooks: {
      init: (u) => {
        box = h("div", { id: "stats-tooltip", class: "chart-tip", role: "status", hidden: true });
        u.over.append(box);
      },
      setCursor: (u) => {
        const i = u.cursor.idx;
        if (i == null || u.data[0][i] == null) return (box.hidden = true);
        show(box,
          h("strong", {}, t("stats.weekOfDate", { date: day.format(new Date(u.data[0][i] * 1000)) })),
          u.series.slice(1).map((s, k) => h("div", { dataset: { series: k + 1 } }, `${s.label}: ${fmt(u.data[k + 1][i], "count")}`)));
        box.hidden = false;
        const x = u.valToPos(u.data[0][i], "x");
        // Beside the hovered week, on the side with room.
        box.style.left = `${x + box.offsetWidth + 12 > u.over.clientWidth ? x - box.offsetWidth - 8 : x + 8}px`;
        box.style.top = `${Math.max(0, Math.min(u.cursor.top, u.over.clientHeight - box.offsetHeight))}px`;
      },
    },
  };
}

/** renderChart draws the weekly series: received as bars, closed as a dashed line (both readable in black and white), and the same numbers as a table. */
function renderChart(st) {
  const weeks = st.weeks || [];
  const data = [weeks.map((w) => Date.parse(w.start) / 1000), weeks.map((w) => w.received), weeks.map((w) => w.closed)];
  const el = $("#stats-chart");
  if (state.chart) state.chart.destroy();
  const day = new Intl.DateTimeFormat(lang(), { month: "numeric", day: "numeric", timeZone: "Asia/Shanghai" });
  state.chart = new uPlot({
    ...chartSize(),
    legend: { live: false }, // the series' names and marks; the values are in the tooltip and the table
    plugins: [tooltip(day)],
    cursor: { points: { show: false }, drag: { x: false, y: false } },
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Asia/Shanghai"),
    // Half a week of room either side, so the first and last bars are whole; one tick a week.
    scales: { x: { time: true, range: (u, min, max) => [min - 302400, max + 302400] }, y: { range: (u, min, max) => [0, Math.max(max, 1)] } },
    axes: [
      { label: t("stats.weekOf"), splits: () => data[0], values: (u, ticks) => ticks.map((s) => day.format(new Date(s * 1000))) },
      { label: t("stats.cases"), splits: (u, i, min, max) => Array.from({ length: Math.ceil(max) + 1 }, (_, k) => k).filter((k) => k % Math.ceil(max / 6) === 0) },
    ],
    series: [
      { label: t("stats.weekOf"), value: (u, s) => (s == null ? "—" : day.format(new Date(s * 1000))) },
      { label: t("stats.col.received"), stroke: "#1f5fa8", fill: "rgba(31, 95, 168, 0.35)", width: 1, paths: uPlot.paths.bars({ size: [0.6, 40] }) },
      { label: t("stats.col.closed"), stroke: "#1d2330", width: 2, dash: [6, 4], points: { size: 6 } },
    ],
  }, data, el);
  el.dataset.weeks = String(weeks.length);
  el.setAttribute("aria-describedby", "stats-weeks");
  // The weekly numbers as a table (weeks across): what a print and a screen reader read.
  const cells = (key, kind) => weeks.map((w) => h("td", { "data-key": key, "data-value": w[key] }, fmt(w[key], kind)));
  show($("#stats-weeks"),
    tr(h, "caption", {}, "stats.weeksCaption"),
    h("thead", {}, h("tr", {}, tr(h, "th", { scope: "col" }, "stats.weekOf"), weeks.map((w) => h("th", { scope: "col", "data-start": w.start }, day.format(new Date(w.start)))))),
    h("tbody", {},
      h("tr", { "data-series": "received" }, tr(h, "th", { scope: "row" }, "stats.col.received"), cells("received", "count")),
      h("tr", { "data-series": "closed" }, tr(h, "th", { scope: "row" }, "stats.col.closed"), cells("closed", "count"))));
}

start().catch((e) => {
  show(app, h("p", { class: "msg error", role: "alert" }, t(errorKey(e))));
  console.error(e);
});
