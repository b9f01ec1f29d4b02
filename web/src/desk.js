// The dispatch desk (/admin/cases), for community and subdistrict staff on a
// desktop: a filter bar (state as tabs with the server's counts, category,
// tier, area subtree, overdue, received from/to, free text), the table of
// the first page of cases (cursor paging) and beside it a map of the staff
// cases tile layer (coloured by state, overdue red, clustered by the tile SQL
// at low zoom). Clicking a row selects the case on the map and flies there;
// clicking a point selects its row and opens its detail: every action the
// server allows this account now (GET /api/v1/cases/{id} actions, nothing
// recomputed here), each confirmed in #confirm-action with what it does and
// the inputs the engine needs, the full timeline with the actors' names, the
// photos. Sign-in is lib/session.js's, as on /work. Every number and rule is
// the API's; the page formats and draws. docs/desk.md.
import "./lib/messages-lazy.js";
import "./lib/messages-work.js";
import { $, $$, h, show } from "./lib/dom.js";
import { ApiError, getJSON, postJSON, qs, offline } from "./lib/api.js";
import { t, tr, has, lang, errorKey, applyI18n, langToggle, onLangChange } from "./lib/i18n.js";
import { currentSession, loginForm } from "./lib/session.js";
import { timeLeft, uploadCasePhotos } from "./lib/caseview.js";
import "./css/base.css";
import "./css/desk.css";

// The state tabs, in a case's order of life: the server's (cases.States, with
// the categories); without it, in the order the counts come.
let states = [];
// Map colours by state (overdue is red over all of them); colour-blind-safe-ish
// hues kept apart from the overdue red.
const stateColours = {
  reported: "#1f5fa8", accepted: "#3b8bd4", reopened: "#3b8bd4", returned: "#7b4fb0", dispatched: "#e08a00", in_progress: "#e08a00",
  extension_requested: "#b36b00", suspended: "#8a8f99", handled: "#2a9d8f", verified: "#2a9d8f", closed: "#4f7a28", rated: "#4f7a28",
  rejected: "#6b6f78", merged: "#6b6f78", mixed: "#3d4556",
};
const overdueRed = "#c8102e";
const pageSize = 50;

const state = {
  session: null, names: {}, categories: [],
  filter: { status: "", category: "", tier: "", area: "", overdue: false, from: "", to: "", q: "" },
  page: null, cursors: [""], pageNo: 0, selected: null, detail: null, map: null, tilesVersion: 0, loads: 0,
  timing: null, // the last load: {start, api, painted, counted} (performance.now(), ms) — the bench reads it
  // The tabs' counts: of the filter without its state (countsKey), asked for
  // after the rows are painted; counts is null while they are on their way
  // (countsFor is the load that asked), lastCounts the previous filter's (the
  // tabs' placeholders keep its states).
  countsKey: null, counts: null, lastCounts: {}, countsAbort: null, painted: 0,
};
if (__TEST_HOOKS__) window.__desk = state;

const app = $("#app");
const categoryName = (c) => (lang() === "en" ? state.names[c.category] || c.category : c.category_zh || state.names[c.category] || c.category);
const fmtTime = (s) => new Date(s).toLocaleString(lang(), { timeZone: "Asia/Shanghai", dateStyle: "short", timeStyle: "short" });

async function start() {
  langToggle($("#lang"));
  applyI18n();
  let sess;
  try {
    sess = await currentSession();
  } catch (err) {
    return show(app, h("p", { class: "msg error", role: "alert" }, t(offline(err) ? "work.offline" : errorKey(err))));
  }
  if (!sess) return show(app, loginForm(signedIn));
  signedIn(sess);
}

async function signedIn(sess) {
  state.session = sess;
  $("#who").textContent = sess.user.name;
  const p = new URLSearchParams(location.search);
  for (const k of Object.keys(state.filter)) if (p.has(k)) state.filter[k] = k === "overdue" ? p.get(k) === "true" : p.get(k);
  try {
    const r = await getJSON("/api/v1/cases/categories");
    state.categories = r.categories;
    states = r.states || [];
    for (const c of r.categories) state.names[c.code] = lang() === "en" ? c.en : c.zh;
  } catch {
    /* the codes stand in for the names */
  }
  layout();
  onLangChange(() => {
    for (const c of state.categories) state.names[c.code] = lang() === "en" ? c.en : c.zh;
    layout();
    drawPage();
    if (state.detail) drawDetail(state.detail);
  });
  load();
}

// --- Layout: filter bar and tabs, table and paging | map and detail.
function layout() {
  const f = state.filter;
  const sel = (id, name, options, value) => h("select", { id, name }, options.map(([v, label]) => h("option", { value: v, selected: v === value }, label)));
  const form = h("form", { id: "desk-filter", class: "filters" },
    h("label", {}, tr(h, "span", {}, "desk.filter.q"), h("input", { id: "desk-q", name: "q", type: "search", value: f.q, placeholder: t("desk.filter.qHint"), size: 22 })),
    h("label", {}, tr(h, "span", {}, "desk.filter.category"),
      sel("desk-category", "category", [["", t("desk.filter.any")], ...state.categories.map((c) => [c.code, lang() === "en" ? c.en : c.zh])], f.category)),
    h("label", {}, tr(h, "span", {}, "desk.filter.tier"),
      sel("desk-tier", "tier", [["", t("desk.filter.any")], ...[1, 2, 3, 4].map((n) => [String(n), t("desk.tier." + n)])], f.tier)),
    h("label", {}, tr(h, "span", {}, "desk.filter.area"), h("input", { id: "desk-area", name: "area", value: f.area, size: 14, placeholder: state.session.user.scope_code || "" })),
    h("label", {}, tr(h, "span", {}, "desk.filter.from"), h("input", { id: "desk-from", name: "from", type: "date", value: f.from })),
    h("label", {}, tr(h, "span", {}, "desk.filter.to"), h("input", { id: "desk-to", name: "to", type: "date", value: f.to })),
    h("label", { class: "check" }, h("input", { id: "desk-overdue", name: "overdue", type: "checkbox", checked: f.overdue }), tr(h, "span", {}, "desk.filter.overdue")),
    tr(h, "button", { type: "button", class: "secondary", id: "desk-reset", onclick: resetFilter }, "desk.filter.reset"));
  let typing;
  form.addEventListener("submit", (e) => e.preventDefault());
  form.addEventListener("change", (e) => {
    if (e.target.name !== "q") readFilter();
  });
  // Free text: as the user types, once they pause (Enter at once).
  form.addEventListener("input", (e) => {
    if (e.target.name !== "q") return;
    clearTimeout(typing);
    typing = setTimeout(readFilter, 250);
  });
  $("#desk-q", form).addEventListener("keydown", (e) => {
    if (e.key === "Enter") {
      clearTimeout(typing);
      readFilter();
    }
  });
  const mapEl = h("div", { id: "desk-map", class: "map", role: "region", "aria-label": t("desk.mapLabel") });
  show(app,
    form,
    h("nav", { id: "desk-tabs", class: "tabs", "aria-label": t("desk.tabsLabel") }),
    h("p", { id: "desk-error", class: "msg error", role: "alert", hidden: true }),
    h("div", { class: "desk-grid" },
      h("section", { class: "desk-list" },
        h("table", { id: "desk-table" },
          h("thead", {}, h("tr", {}, ["code", "category", "address", "state", "tier", "unit", "left"].map((k) => tr(h, "th", { scope: "col" }, "desk.col." + k)))),
          h("tbody", {})),
        h("p", { id: "desk-empty", class: "hint", hidden: true }, t("desk.empty")),
        h("p", { class: "paging" },
          tr(h, "button", { type: "button", class: "secondary", id: "desk-prev", onclick: () => turn(-1) }, "desk.prev"),
          h("span", { id: "desk-pageno" }),
          tr(h, "button", { type: "button", class: "secondary", id: "desk-next", onclick: () => turn(1) }, "desk.next"),
          tr(h, "button", { type: "button", class: "ghost", id: "desk-refresh", onclick: () => refresh() }, "work.refresh"))),
      h("section", { class: "desk-side" }, mapEl, h("section", { id: "desk-detail", class: "detail" }, tr(h, "p", { class: "hint" }, "desk.pick")))),
    h("dialog", { id: "confirm-action" }));
  if (state.map) {
    // A language switch redraws the page around the map: move it into the new container.
    mapEl.replaceWith(state.map.getContainer());
    state.map.resize();
  } else {
    makeMap(mapEl);
  }
}

function readFilter() {
  const fd = new FormData($("#desk-filter"));
  Object.assign(state.filter, {
    q: String(fd.get("q") || "").trim(), category: fd.get("category") || "", tier: fd.get("tier") || "", area: String(fd.get("area") || "").trim(),
    from: fd.get("from") || "", to: fd.get("to") || "", overdue: fd.get("overdue") === "on",
  });
  state.cursors = [""];
  state.pageNo = 0;
  load();
}

function resetFilter() {
  state.filter = { status: "", category: "", tier: "", area: "", overdue: false, from: "", to: "", q: "" };
  state.cursors = [""];
  state.pageNo = 0;
  layout();
  load();
}

function setStatus(s) {
  state.filter.status = s;
  state.cursors = [""];
  state.pageNo = 0;
  load();
}

function turn(d) {
  const n = state.pageNo + d;
  if (n < 0 || n >= state.cursors.length || (d > 0 && !state.page?.next)) return;
  state.pageNo = n;
  load();
}

const filterQuery = () => {
  const f = state.filter;
  return { status: f.status, category: f.category, tier: f.tier, area: f.area, overdue: f.overdue ? "true" : "", from: f.from, to: f.to, q: f.q };
};

/** countsQuery is the filter the tabs count: the list's without its state (the API's counts ignore it anyway). */
const countsQuery = () => qs({ ...filterQuery(), status: "" });

/** loadFailed shows a failed request's error (or the sign-in form, when the session is gone). */
function loadFailed(err) {
  if (err instanceof ApiError && err.status === 401) return show(app, loginForm(signedIn, "error.unauthenticated"));
  const e = $("#desk-error");
  e.hidden = false;
  e.textContent = t(offline(err) ? "work.offline" : errorKey(err)) + (err.message && !offline(err) ? " (" + err.message + ")" : "");
}

// --- Loading a page: the rows first (counts off), painted, then the tabs'
// counts in a second request (loadCounts); a newer load wins.
async function load() {
  const seq = ++state.loads;
  const start = performance.now();
  history.replaceState(null, "", "?" + qs({ ...filterQuery() }));
  syncTiles();
  let page;
  try {
    page = await getJSON("/api/v1/cases?" + qs({ ...filterQuery(), limit: String(pageSize), cursor: state.cursors[state.pageNo] }));
  } catch (err) {
    if (seq !== state.loads) return;
    loadFailed(err);
    app.dataset.loaded = "error";
    return;
  }
  if (seq !== state.loads) return;
  const api = performance.now();
  $("#desk-error").hidden = true;
  state.page = page;
  if (page.next) state.cursors[state.pageNo + 1] = page.next;
  else state.cursors.length = state.pageNo + 1;
  drawPage();
  fitOnce();
  // Painted: the frame after the rows are in the document.
  // The timings are User Timing measures too (desk:api, desk:painted), which
  // bench/cases -desk reads from the production bundle.
  requestAnimationFrame(() => requestAnimationFrame(() => {
    if (seq !== state.loads) return;
    const end = performance.now();
    state.timing = { start, api: api - start, painted: end - start };
    performance.measure("desk:api", { start, end: api, detail: seq });
    performance.measure("desk:painted", { start, end, detail: seq });
    state.painted = seq;
    app.dataset.loaded = String(seq);
    loadCounts(seq, start);
  }));
}

/**
 * loadCounts fills the tabs for load seq (started at start): with the counts
 * it has when the filter without its state is the same (a tab click, a page
 * turn), else from the first page's request with counts=true. That request
 * repeats the rows' query as it is (state, limit) on purpose: a smaller limit
 * or no state can make PostgreSQL walk an ordering index for a rare match
 * (1.4 s instead of 3 ms for one case's number, BENCHMARKS.md). A
 * newer filter aborts an older request; an answer for a filter no longer
 * shown is dropped. app's data-counted is the last load whose tabs have
 * their counts (the measure desk:counted: from the change to them drawn).
 */
async function loadCounts(seq, start) {
  const key = countsQuery();
  const done = (seq, start) => requestAnimationFrame(() => requestAnimationFrame(() => {
    if (state.countsKey !== key || !state.counts || state.painted < seq) return;
    const end = performance.now();
    if (state.timing && seq === state.loads) state.timing.counted = end - start;
    performance.measure("desk:counted", { start, end, detail: seq });
    app.dataset.counted = String(Math.max(seq, Number(app.dataset.counted) || 0));
  }));
  if (state.countsKey === key) {
    if (state.counts) done(seq, start);
    else state.countsFor = { seq, start }; // its request is on the way: it reports for this load
    return;
  }
  state.countsAbort?.abort();
  const ctl = new AbortController();
  Object.assign(state, { countsKey: key, counts: null, countsAbort: ctl, countsFor: { seq, start } });
  drawTabs();
  let r;
  try {
    r = await getJSON("/api/v1/cases?" + qs({ ...filterQuery(), counts: "true", limit: String(pageSize) }), ctl.signal);
  } catch (err) {
    if (ctl.signal.aborted || state.countsKey !== key) return;
    state.countsKey = null; // asked again on the next load
    loadFailed(err);
    return;
  }
  if (state.countsKey !== key) return;
  state.counts = r.counts || {};
  state.countsOver = r.counts_over || 0;
  state.lastCounts = state.counts;
  state.countsAbort = null;
  drawTabs();
  done(state.countsFor.seq, state.countsFor.start);
}

/** forgetCounts makes the next load ask for the counts again (after an action, a refresh). */
function forgetCounts() {
  state.countsAbort?.abort();
  Object.assign(state, { countsKey: null, counts: null, countsAbort: null });
}

/**
 * drawTabs draws the state tabs: 全部 and every state with cases, each with
 * its count, when the counts of the current filter are in; until then the
 * previous filter's tabs with a placeholder for each count (no data-count).
 * When more cases match than the server counts (counts_over: it stops
 * there), 全部 says "more than 10,000" (data-over) and every state has its
 * tab without a number (its title says why): no partial or guessed counts.
 */
function drawTabs() {
  const nav = $("#desk-tabs");
  if (!nav) return;
  const ready = state.counts && state.countsKey === countsQuery();
  const over = ready ? state.countsOver : 0;
  const counts = ready ? state.counts : state.lastCounts;
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const fmt = (n) => n.toLocaleString(lang());
  const tab = (s, label, n) => h("button", { type: "button", class: "tab" + (state.filter.status === s ? " on" : "") + (ready ? "" : " pending"), role: "tab",
    "aria-selected": state.filter.status === s ? "true" : "false",
    dataset: !ready ? { status: s } : over ? { status: s, ...(s ? {} : { over: String(over) }) } : { status: s, count: n }, onclick: () => setStatus(s) },
  label, " ", !ready ? h("span", { class: "count", title: t("desk.counting") }, "…")
    : over ? (s ? h("span", { class: "count none", title: t("desk.countOverHint", { n: fmt(over) }) }, "") : h("span", { class: "count", title: t("desk.countOverHint", { n: fmt(over) }) }, t("desk.countOver", { n: fmt(over) })))
      : h("span", { class: "count" }, fmt(n)));
  nav.setAttribute("aria-busy", ready ? "false" : "true");
  // Over the cap every state may have cases: all of them get a tab.
  const shown = states.length ? states : [...new Set([...Object.keys(counts), state.filter.status].filter(Boolean))];
  show(nav, tab("", t("desk.allStates"), total), shown.filter((s) => over || counts[s] || state.filter.status === s).map((s) => tab(s, t("case.state." + s), counts[s] || 0)));
}

function drawPage() {
  const page = state.page;
  if (!page || !$("#desk-table")) return;
  drawTabs();
  show($("#desk-table tbody"), page.cases.map((c) => h("tr", {
    class: (c.overdue ? "overdue" : "") + (state.selected === c.id ? " selected" : ""), dataset: { id: c.id, state: c.state, overdue: c.overdue },
    tabindex: 0, onclick: () => select(c.id, { fly: true }), onkeydown: (e) => e.key === "Enter" && select(c.id, { fly: true }),
  },
  h("td", { class: "code" }, c.tracking_code),
  h("td", {}, categoryName(c)),
  h("td", { class: "addr" }, c.address || "—"),
  h("td", {}, t("case.state." + c.state)),
  h("td", {}, t("desk.tier." + c.tier)),
  h("td", {}, c.unit?.name || "—"),
  h("td", { class: "left" + (c.overdue ? " overdue" : "") }, timeLeft(c), c.due ? h("small", {}, " ", fmtTime(c.due)) : null))));
  $("#desk-empty").hidden = page.cases.length > 0;
  $("#desk-prev").disabled = state.pageNo === 0;
  $("#desk-next").disabled = !page.next;
  $("#desk-pageno").textContent = t("desk.pageNo", { n: state.pageNo + 1 });
}

// --- The map: the staff cases tile layer.
async function makeMap(el) {
  const lib = await import("./lib/map.js");
  const map = await lib.createMap(el, { tiles: true });
  state.map = map;
  lib.fitCovered(map);
  map.addSource("cases", { type: "vector", tiles: [tilesURL()], minzoom: 8, maxzoom: 22 });
  const colour = ["case", ["==", ["get", "overdue"], true], overdueRed, ["match", ["get", "state"], ...Object.entries(stateColours).flat(), "#3d4556"]];
  map.addLayer({ id: "desk-cases", type: "circle", source: "cases", "source-layer": "cases",
    paint: { "circle-color": colour, "circle-radius": ["interpolate", ["linear"], ["coalesce", ["get", "count"], 1], 1, 6, 10, 11, 100, 18, 1000, 24],
      "circle-stroke-color": "#fff", "circle-stroke-width": 1.5, "circle-opacity": 0.9 } });
  map.addLayer({ id: "desk-cases-count", type: "symbol", source: "cases", "source-layer": "cases", filter: [">", ["coalesce", ["get", "count"], 1], 1],
    layout: { "text-field": ["to-string", ["get", "count"]], "text-size": 11, "text-allow-overlap": true }, paint: { "text-color": "#fff" } });
  map.addLayer({ id: "desk-selected", type: "circle", source: "cases", "source-layer": "cases", filter: ["==", ["get", "id"], -1],
    paint: { "circle-radius": 11, "circle-color": "rgba(0,0,0,0)", "circle-stroke-color": "#111", "circle-stroke-width": 3 } });
  map.on("click", "desk-cases", (e) => {
    const f = e.features[0];
    const id = Number(f.properties.id);
    if (id) return select(id, { fly: false });
    map.easeTo({ center: e.lngLat, zoom: Math.min(map.getZoom() + 2, 18) }); // a cluster: zoom in
  });
  map.on("mouseenter", "desk-cases", () => (map.getCanvas().style.cursor = "pointer"));
  map.on("mouseleave", "desk-cases", () => (map.getCanvas().style.cursor = ""));
  el.dataset.ready = "true";
  // A case picked before the map was ready: show it now.
  if (state.selected) {
    markSelected();
    if (state.detail?.id === state.selected) flyToCase(state.detail);
  }
  fitOnce();
}

/** fitOnce shows the first page's cases on the map, once (later the map stays where the user put it). */
function fitOnce() {
  if (state.fitted || !state.map || !state.page?.cases.length || state.selected) return;
  state.fitted = true;
  const pts = state.page.cases.map((c) => state.map.toDisplay({ type: "Point", coordinates: [c.lon, c.lat] }).coordinates);
  const b = pts.reduce((b, p) => [[Math.min(b[0][0], p[0]), Math.min(b[0][1], p[1])], [Math.max(b[1][0], p[0]), Math.max(b[1][1], p[1])]], [pts[0], pts[0]]);
  state.map.fitBounds(b, { padding: 40, maxZoom: 15, duration: 0 });
}

/** tilesURL is the cases layer for the table's filter (the API reads it as the list does), `v` new after an action. */
const tilesURL = () => `${location.origin}/tiles/cases/{z}/{x}/{y}.mvt?` + qs({ ...filterQuery(), v: String(state.tilesVersion) });

/** syncTiles points the map's cases source at tilesURL when the filter (or the version) changed since. */
function syncTiles() {
  const src = state.map?.getSource("cases");
  const url = tilesURL();
  if (!src || src.tiles?.[0] === url) return;
  src.setTiles([url]);
}

/** refresh reads the page and the map's tiles again (after an action, or on demand). */
async function refresh() {
  forgetCounts();
  state.tilesVersion++;
  load();
  if (state.selected) await openDetail(state.selected);
}

function markSelected() {
  if (!state.map?.getLayer("desk-selected")) return;
  state.map.setFilter("desk-selected", ["==", ["get", "id"], state.selected ?? -1]);
}

// --- Selecting a case: its row, its point, its detail.
async function select(id, { fly }) {
  state.selected = id;
  for (const tr of $$("#desk-table tbody tr")) tr.classList.toggle("selected", Number(tr.dataset.id) === id);
  $(`#desk-table tbody tr[data-id="${id}"]`)?.scrollIntoView({ block: "nearest" });
  markSelected();
  const rec = await openDetail(id);
  if (rec && fly) flyToCase(rec);
}

/** flyToCase moves the map to a case (once there is a map). */
function flyToCase(rec) {
  if (!state.map) return;
  const at = state.map.toDisplay({ type: "Point", coordinates: [rec.lon, rec.lat] }).coordinates;
  state.map.flyTo({ center: at, zoom: Math.max(state.map.getZoom(), 16), duration: 600 });
}

async function openDetail(id) {
  const box = $("#desk-detail");
  box.dataset.id = id;
  delete box.dataset.loaded;
  let rec;
  try {
    rec = await getJSON(`/api/v1/cases/${id}`);
  } catch (err) {
    show(box, h("p", { class: "msg error", role: "alert" }, t(errorKey(err))));
    return null;
  }
  if (box.dataset.id !== String(id)) return null; // another case was picked meanwhile
  state.detail = rec;
  drawDetail(rec);
  return rec;
}

function drawDetail(rec) {
  const box = $("#desk-detail");
  const dl = (pairs) => h("dl", {}, pairs.filter(([, v]) => v).map(([k, v]) => [tr(h, "dt", {}, k), h("dd", {}, v)]));
  show(box,
    h("h2", {}, categoryName(rec), " ", h("span", { class: "code" }, rec.tracking_code)),
    h("p", { class: "meta" }, h("span", { id: "detail-state", class: "state", dataset: { state: rec.state } }, t("case.state." + rec.state)), " ",
      h("span", { class: "left" + (rec.overdue ? " overdue" : ""), id: "detail-left" }, timeLeft(rec))),
    dl([["desk.col.address", rec.address], ["desk.col.tier", t("desk.tier." + rec.tier)], ["desk.col.unit", rec.unit?.name],
      ["desk.handler", rec.handler], ["desk.reported", fmtTime(rec.reported_at)], ["desk.deadline", rec.due ? fmtTime(rec.due) : ""],
      ["desk.areas", (rec.areas || []).map((a) => a.name).join(" › ")], ["desk.mergedInto", rec.merged_into]]),
    h("p", { class: "desc", id: "detail-desc" }, rec.description),
    rec.phones?.length ? h("p", { class: "phones" }, t("work.case.phones"), " ", rec.phones.join(" ")) : null,
    rec.photos.length ? h("ul", { class: "photos", id: "detail-photos" }, rec.photos.map((p) => h("li", {},
      h("a", { href: `/api/v1/cases/photos/${p}`, target: "_blank", rel: "noopener" }, h("img", { src: `/api/v1/cases/photos/${p}`, alt: t("work.case.photo"), loading: "lazy" }))))) : null,
    tr(h, "h3", {}, "work.case.actions"),
    rec.actions?.length
      ? h("div", { class: "actions", id: "detail-actions" }, rec.actions.map((a) => h("button", { type: "button", dataset: { action: a.action },
        onclick: () => confirmAction(rec, a) }, t("case.action." + a.action))))
      : tr(h, "p", { class: "hint", id: "detail-noactions" }, "desk.noActions"),
    h("p", { id: "detail-status", role: "status", class: "status" }),
    tr(h, "h3", {}, "work.case.timeline"),
    h("ol", { class: "timeline", id: "detail-timeline" }, (rec.events || []).map((e) => h("li", { dataset: { action: e.action } },
      h("time", { datetime: e.at }, fmtTime(e.at)), " ", h("strong", {}, t("case.action." + e.action)),
      " · ", h("span", { class: "actor" }, e.actor_name || t("desk.actor." + e.actor_kind)),
      e.to ? h("span", { class: "to" }, " → ", t("case.state." + e.to)) : null,
      [e.reason, e.public_note, e.note].filter(Boolean).map((n) => h("span", { class: "note" }, n))))));
  box.dataset.loaded = "true";
  box.dataset.state = rec.state;
}

// --- Confirming an action: what it does, the inputs it needs, then send.

/**
 * confirmKey is the sentence that says what an action does, as the desk words
 * it: desk.confirm.ACTION where the desk's reader (the dispatch centre, a
 * unit's supervisor) needs other words than the grid worker on /work, else
 * /work's work.confirm.ACTION (the same effect, the same words).
 */
const confirmKey = (action) => (has("desk.confirm." + action) ? "desk.confirm." : "work.confirm.") + action;
async function confirmAction(rec, a) {
  const dlg = $("#confirm-action");
  const needs = new Set(a.needs);
  const field = (label, el) => h("label", {}, h("span", {}, t(label)), el);
  const reason = needs.has("reason") ? h("textarea", { id: "act-reason", rows: 3, maxlength: 2000, required: true }) : null;
  const due = needs.has("due") ? h("input", { id: "act-due", type: "datetime-local", required: true }) : null;
  const photo = needs.has("photo") ? h("input", { id: "act-photo", type: "file", accept: "image/*", multiple: true, required: true }) : null;
  const units = a.action === "dispatch" && rec.dispatch_units?.length
    ? h("select", { id: "act-unit" }, rec.dispatch_units.map((u, i) => h("option", { value: u.id }, u.name + (i === 0 ? t("desk.suggested") : "")))) : null;
  const merge = needs.has("merge_target") ? h("select", { id: "act-merge", required: true }, h("option", { value: "" }, t("desk.merge.loading"))) : null;
  // The public note: what the reporter reads (closing, rejecting); otherwise a staff note.
  const publicNote = ["close", "reject", "handle", "verify"].includes(a.action);
  const note = h("textarea", { id: "act-note", rows: 2, maxlength: 2000 });
  const msg = h("p", { id: "act-msg", class: "msg error", role: "alert", hidden: true });
  const go = h("button", { type: "button", dataset: { confirm: a.action } }, t("work.confirm.go", { action: t("case.action." + a.action) }));
  show(dlg, h("form", { method: "dialog", class: "confirm" },
    h("h3", {}, t("case.action." + a.action), " · ", rec.tracking_code),
    h("p", { id: "act-what" }, t(confirmKey(a.action))),
    units ? field("desk.input.unit", units) : null,
    merge ? field("desk.input.merge", merge) : null,
    reason ? field("work.input.reason", reason) : null,
    due ? field("work.input.due", due) : null,
    photo ? field("work.input.photo", photo) : null,
    field(publicNote ? "work.input.publicNote" : "work.input.note", note),
    msg,
    h("p", { class: "row" }, go, h("button", { type: "button", class: "secondary", id: "act-cancel", onclick: () => dlg.close() }, t("report.cancel")))));
  dlg.dataset.action = a.action;
  dlg.showModal();
  if (merge) mergeTargets(rec, merge);
  const fail = (key, detail) => {
    msg.hidden = false;
    msg.textContent = t(key) + (detail ? " (" + detail + ")" : "");
  };
  go.addEventListener("click", async () => {
    if (reason && !reason.value.trim()) return fail("work.need.reason");
    if (due && !due.value) return fail("work.need.due");
    if (photo && !photo.files.length) return fail("work.need.photo");
    if (merge && !merge.value) return fail("desk.need.merge");
    go.disabled = true;
    msg.hidden = true;
    try {
      const req = { action: a.action, version: rec.version, photos: await uploadCasePhotos(rec.id, photo?.files) };
      if (reason) req.reason = reason.value.trim();
      if (due) req.deadline = due.value + ":00+08:00"; // a wall-clock time in China (UTC+8)
      if (units) req.to_unit = Number(units.value);
      if (merge) req.merged_into = merge.value;
      if (note.value.trim()) req[publicNote ? "public_note" : "note"] = note.value.trim();
      await postJSON(`/api/v1/cases/${rec.id}/actions`, req);
      dlg.close();
      await refresh();
      const st = $("#detail-status");
      if (st) st.textContent = t("work.done", { action: t("case.action." + a.action) });
    } catch (err) {
      go.disabled = false;
      fail(offline(err) ? "work.offline" : errorKey(err), offline(err) ? "" : err.message);
    }
  });
}

/** mergeTargets fills select with the open cases of rec's category within about 500 m, nearest first. */
async function mergeTargets(rec, select) {
  const d = 0.005;
  try {
    const page = await getJSON("/api/v1/cases?" + qs({ category: rec.category, open: "true", limit: "50",
      bbox: [rec.lon - d, rec.lat - d, rec.lon + d, rec.lat + d].map((x) => x.toFixed(6)).join(",") }));
    const near = page.cases.filter((c) => c.id !== rec.id)
      .map((c) => ({ c, m: Math.hypot((c.lon - rec.lon) * Math.cos((rec.lat * Math.PI) / 180), c.lat - rec.lat) * 111320 }))
      .sort((a, b) => a.m - b.m);
    show(select, near.length ? [h("option", { value: "" }, t("desk.merge.pick")), near.map(({ c, m }) =>
      h("option", { value: c.tracking_code }, `${c.tracking_code} · ${c.address || c.description.slice(0, 20)} · ${Math.round(m)} m`))]
      : h("option", { value: "" }, t("desk.merge.none")));
  } catch (err) {
    show(select, h("option", { value: "" }, t(errorKey(err))));
  }
  select.dataset.loaded = "true";
}

start();
