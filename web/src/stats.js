// Case statistics (/admin/stats), for staff: for an area and a period, each
// child area's counts, on-time rate and 三率 as a table and as a choropleth
// of the child areas (by on-time rate; areas with too few cases hatched as
// "no data"), and the weekly received/closed cases as a uPlot chart. Every
// number is the API's (GET /api/v1/areas/{code}/case-stats); the page only
// formats and draws them. Sign-in is the editor's (/admin). MapLibre
// (lib/map.js) is imported when the page is up, so the table and the chart
// do not wait for it.
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { $, h, show } from "./lib/dom.js";
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

const state = { session: null, area: null, from: "", to: "", stats: null, areas: null, chain: [], chart: null, map: null };
if (__TEST_HOOKS__) window.__stats = state;

const app = $("#app");
let mapLib; // lib/map.js, once imported
let mapReady; // settles when the map is made

/** isoDate is d as YYYY-MM-DD on China's clock. */
const isoDate = (d) => new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Shanghai" }).format(d);

async function start() {
  const sess = await getJSON("/api/v1/session");
  if (!sess.signed_in) {
    show(app, h("p", { class: "msg info", id: "stats-signin" }, tr(h, "span", {}, "stats.signIn"), " ", tr(h, "a", { href: "/admin" }, "stats.editor")));
    return;
  }
  state.session = sess;
  $("#who").textContent = sess.user.name;
  const p = new URLSearchParams(location.search);
  // The period: the last twelve weeks up to today, unless the address says otherwise.
  state.to = p.get("to") || isoDate(new Date());
  state.from = p.get("from") || isoDate(new Date(Date.now() - 84 * 864e5));
  state.area = p.get("area") || sess.user.scope_code || (await topArea());
  show(app,
    h("form", { id: "stats-form", class: "controls" },
      h("label", {}, tr(h, "span", {}, "stats.area"), h("input", { id: "stats-area", name: "area", value: state.area, required: true, size: 14 })),
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
    h("section", { class: "stats-chart" }, tr(h, "h3", {}, "stats.weekly"), h("div", { id: "stats-chart" })));
  $("#stats-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const fd = new FormData(e.target);
    state.area = String(fd.get("area")).trim();
    state.from = fd.get("from");
    state.to = fd.get("to");
    history.replaceState(null, "", "?" + qs({ area: state.area, from: state.from, to: state.to }));
    load();
  });
  mapReady = import("./lib/map.js").then(async (lib) => {
    mapLib = lib;
    state.map = await lib.createMap($("#stats-map"), { tiles: false });
    setupLayers(state.map);
  });
  onLangChange(render);
  addEventListener("resize", () => state.chart && state.chart.setSize(chartSize()));
  // Printing: the chart is redrawn at the printed width (its canvas would be scaled otherwise).
  matchMedia("print").addEventListener("change", () => {
    if (state.chart) state.chart.setSize(chartSize());
    if (!state.map) return;
    state.map.resize();
    if (state.areas?.features.length) mapLib.fitTo(state.map, state.areas, 10, 17);
  });
  await load();
}

/** topArea is the first area of the top level, for an account without a scope (admins). */
async function topArea() {
  const { levels } = await getJSON("/api/v1/levels");
  const { areas } = await getJSON("/api/v1/areas?" + qs({ level: levels[0].key }));
  return areas[0].code;
}

async function load() {
  const err = $("#stats-error");
  err.hidden = true;
  app.dataset.ready = "false";
  try {
    const code = encodeURIComponent(state.area);
    const [stats, areas, area] = await Promise.all([
      getJSON(`/api/v1/areas/${code}/case-stats?` + qs({ from: state.from, to: state.to })),
      getJSON("/api/v1/areas.geojson?" + qs({ parent: state.area })),
      getJSON(`/api/v1/areas/${code}`),
    ]);
    state.stats = stats;
    state.areas = areas;
    state.chain = (area.chain || []).filter((a) => a.code !== area.code);
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
  // The ancestors, to go back up (an account sees the statistics of its own area and below only).
  show($("#stats-chain"), state.chain.map((a) => [h("a", { href: "?" + qs({ area: a.code, from: state.from, to: state.to }) }, a.name), " › "]), st.area.name);
  renderTable(st);
  if (state.map) renderMap(st);
  renderChart(st);
}

function renderTable(st) {
  const head = h("tr", {}, tr(h, "th", { scope: "col" }, "stats.col.area"), columns.map(([k]) => tr(h, "th", { scope: "col" }, "stats.col." + k)));
  const row = (s, total) => h("tr", { "data-code": s.area.code, class: total ? "total" : null },
    h(total ? "th" : "td", { scope: total ? "row" : null }, total ? t("stats.total", { name: s.area.name }) : h("a", { href: "?" + qs({ area: s.area.code, from: state.from, to: state.to }) }, s.area.name)),
    columns.map(([k, kind]) => h("td", { "data-key": k, "data-value": s[k] ?? "" }, fmt(s[k], kind))));
  show($("#stats-table"),
    tr(h, "caption", {}, "stats.tableCaption"),
    h("thead", {}, head),
    h("tbody", {}, st.children.map((c) => row(c, false))),
    h("tfoot", {}, row(st, true)));
  if (!st.children.length) $("#stats-table tbody").append(h("tr", {}, tr(h, "td", { colspan: columns.length + 1, class: "hint" }, "stats.noCases")));
}

/** setupLayers adds the child areas' fill (by on-time rate), their "no data" hatching and outlines. */
function setupLayers(map) {
  map.setGeoJSON("stats-areas", null);
  map.addImage("hatch-grey", hatchGrey(), { pixelRatio: 2 });
  const step = ["step", ["get", "rate"], classes[0][1]];
  for (const [from, colour] of classes.slice(1)) step.push(from, colour);
  map.addLayer({ id: "stats-fill", type: "fill", source: "stats-areas", filter: ["==", ["get", "few"], false], paint: { "fill-color": step, "fill-opacity": 0.75 } });
  map.addLayer({ id: "stats-nodata", type: "fill", source: "stats-areas", filter: ["==", ["get", "few"], true], paint: { "fill-pattern": "hatch-grey" } });
  map.addLayer({ id: "stats-line", type: "line", source: "stats-areas", paint: { "line-color": "#3d4556", "line-width": 1.2 } });
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
    return { ...f, properties: { code: f.properties.code, name: f.properties.name, few, rate: few ? -1 : s.on_time_rate,
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

/** renderChart draws the weekly series: received as bars, closed as a dashed line (both readable in black and white). */
function renderChart(st) {
  const weeks = st.weeks || [];
  const data = [weeks.map((w) => Date.parse(w.start) / 1000), weeks.map((w) => w.received), weeks.map((w) => w.closed)];
  const el = $("#stats-chart");
  if (state.chart) state.chart.destroy();
  const day = new Intl.DateTimeFormat(lang(), { month: "numeric", day: "numeric", timeZone: "Asia/Shanghai" });
  state.chart = new uPlot({
    ...chartSize(),
    legend: { live: false }, // the series' names without the hovered values: what a print needs
    tzDate: (ts) => uPlot.tzDate(new Date(ts * 1e3), "Asia/Shanghai"),
    // Half a week of room either side, so the first and last bars are whole; one tick a week.
    scales: { x: { time: true, range: (u, min, max) => [min - 302400, max + 302400] }, y: { range: (u, min, max) => [0, Math.max(max, 1)] } },
    axes: [
      { splits: () => data[0], values: (u, ticks) => ticks.map((s) => day.format(new Date(s * 1000))) },
      { label: t("stats.cases"), splits: (u, i, min, max) => Array.from({ length: Math.ceil(max) + 1 }, (_, k) => k).filter((k) => k % Math.ceil(max / 6) === 0) },
    ],
    series: [
      { label: t("stats.weekOf"), value: (u, s) => (s == null ? "—" : day.format(new Date(s * 1000))) },
      { label: t("stats.col.received"), stroke: "#1f5fa8", fill: "rgba(31, 95, 168, 0.35)", width: 1, paths: uPlot.paths.bars({ size: [0.6, 40] }) },
      { label: t("stats.col.closed"), stroke: "#1d2330", width: 2, dash: [6, 4], points: { size: 6 } },
    ],
  }, data, el);
  el.dataset.weeks = String(weeks.length);
}

start().catch((e) => {
  show(app, h("p", { class: "msg error", role: "alert" }, t(errorKey(e))));
  console.error(e);
});
