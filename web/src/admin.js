// Staff editor (/admin): sign in; the area tree beside the map (gridmap's
// vector tiles); select a grid and edit its vertices, move a shared border
// (both neighbours follow), split it, merge it with a neighbour, or draw a new
// grid, with snapping to neighbouring vertices and edges. Before saving, the
// server's preview: errors drawn on the map with their sizes, and the impact
// in words. Save with a reason; a colleague's intervening change is shown and
// ours can be re-applied on top. Balance panel and history with revert.
import { TerraDraw, TerraDrawSelectMode, TerraDrawPolygonMode, TerraDrawLineStringMode } from "terra-draw";
import { TerraDrawMapLibreGLAdapter } from "terra-draw-maplibre-gl-adapter";
import { Marker } from "maplibre-gl";
import { $, h, show } from "./lib/dom.js";
import { ApiError, getJSON, postJSON, qs } from "./lib/api.js";
import { currentSession, loginForm } from "./lib/session.js";
import { t, tr, errorKey, applyI18n, langToggle, onLangChange } from "./lib/i18n.js";
import { createMap, fitTo, mapState } from "./lib/map.js";
import { mapCoords } from "./lib/gcj02.js";
import { ringsOf, snapper, sharedBorder } from "./lib/snap.js";
import { treeKeys, focusItem, searchAreas } from "./lib/tree.js";
import { partitionPanel, proposalShown } from "./admin_partition.js";
import "./css/base.css";
import "./css/admin.css";

applyI18n();
langToggle($("#lang"));

const state = {
  session: null,
  community: null, // {id, code, name}
  grids: null, // FeatureCollection (WGS84) of the community's grids
  selected: null, // grid feature
  edit: null, // {op, areas, geometry?, line?, parent?, name?, neighbour?}
  preview: null,
  conflict: null,
  history: [],
};
// For the browser tests, only in the test bundle (__TEST_HOOKS__ is a
// build-time constant, see build.mjs): the editor's state, the request the
// page would send, and where on the screen the middle of the border being
// moved is (a vertex or the midpoint handle).
if (__TEST_HOOKS__) {
  window.__editor = state;
  window.__editorRequest = () => request();
  window.__borderHandle = () => {
    const c = draw.getSnapshotFeature(state.edit.drawn).geometry.coordinates;
    const p = c.length >= 3 ? c[Math.floor(c.length / 2)] : [(c[0][0] + c[1][0]) / 2, (c[0][1] + c[1][1]) / 2];
    const q = map.project(p);
    const r = map.getContainer().getBoundingClientRect();
    return { X: r.left + q.x, Y: r.top + q.y };
  };
}

const app = $("#app");
let map, draw;
const markers = [];

// --- Outages ----------------------------------------------------------------
// A 503 means the server cannot reach its database: it is not a sign-out.
// The banner says so while the session is polled; the user's work (the edit
// being drawn, the reason typed) stays as it is, and saving can be repeated
// once the banner is gone. Reads are retried by themselves.
const outage = { polling: false };

function retryDelay(err) {
  return Math.min(Math.max(err.retryAfter || 5, 1), 30) * 1000;
}

function showOutage() {
  let el = $("#outage");
  if (!el) {
    el = tr(h, "p", { id: "outage", class: "msg error outage", role: "status" }, "admin.outage");
    document.body.prepend(el);
  }
  el.hidden = false;
}

function hideOutage() {
  const el = $("#outage");
  if (el) el.hidden = true;
}

/** watchOutage shows the banner and polls the session until the server answers again. */
async function watchOutage(err) {
  showOutage();
  if (outage.polling) return;
  outage.polling = true;
  let wait = retryDelay(err);
  for (;;) {
    await new Promise((r) => setTimeout(r, wait));
    try {
      await getJSON("/api/v1/session");
      break;
    } catch (e) {
      if (!(e instanceof ApiError) || !e.unavailable) break; // answered: the database is back
      wait = retryDelay(e);
    }
  }
  outage.polling = false;
  hideOutage();
}

/** retrying runs a read until it does not fail with 503, showing the banner meanwhile. */
async function retrying(fn) {
  for (;;) {
    try {
      const v = await fn();
      hideOutage();
      return v;
    } catch (err) {
      if (!(err instanceof ApiError) || !err.unavailable) throw err;
      showOutage();
      await new Promise((r) => setTimeout(r, retryDelay(err)));
    }
  }
}

// --- Sign in (lib/session.js, as on /work) ---------------------------------
async function start() {
  // Not signed in is the answer {"signed_in": false}, not a 401 the browser would log.
  const sess = await retrying(currentSession);
  if (!sess) return showLogin();
  state.session = sess;
  await showEditor();
}

/** showLogin shows the sign-in form, with the catalogue message key message if given; a 503 keeps it and shows the outage banner. */
function showLogin(message) {
  show(app, loginForm(async (sess) => {
    state.session = sess;
    await showEditor();
  }, message, { onUnavailable: watchOutage }));
}

/** logout ends the session on the server and shows the login form. */
async function logout() {
  try {
    await postJSON("/api/v1/logout", {});
  } catch (err) {
    if (err.status !== 401) throw err; // already signed out: fine
  }
  state.session = null;
  $("#who").textContent = "";
  $("#logout").hidden = true;
  location.reload();
}

// --- Layout -----------------------------------------------------------------
async function showEditor() {
  $("#who").textContent = t("admin.signedInAs", { name: state.session.user.name, role: t("admin.role." + state.session.user.role) });
  $("#logout").hidden = false;
  $("#logout").onclick = logout;
  if (!$("#desk-link")) $("#who").before(tr(h, "a", { id: "desk-link", href: "/admin/cases", class: "bar-link" }, "desk.link"));
  if (!$("#stats-link")) $("#who").before(tr(h, "a", { id: "stats-link", href: "/admin/stats", class: "bar-link" }, "stats.link"));
  show(app,
    h("aside", { class: "side", id: "tree-panel" }, tr(h, "h2", { id: "tree-title" }, "admin.tree"), treeSearch(), h("ul", { id: "tree", class: "tree", role: "tree", "aria-labelledby": "tree-title" })),
    h("div", { id: "map", class: "map", role: "region", "aria-label": t("map.label"), "data-i18n-aria-label": "map.label" }),
    h("aside", { class: "side right" },
      h("section", { id: "selection" }, h("p", { class: "hint" }, t("admin.hint.select"))),
      h("section", { id: "tools" }),
      h("section", { id: "preview", "aria-live": "polite" }),
      h("section", { id: "balance" }),
      h("section", { id: "history" })));
  map = await createMap($("#map"), { tiles: true });
  setupLayers();
  setupDraw();
  await loadTree();
}

function setupLayers() {
  for (const id of ["community", "issues", "result", "before", "moved", "history-before", "history-after"]) map.setGeoJSON(id, null);
  map.addImage("hatch-red", hatch("#c8102e"), { pixelRatio: 2 });
  map.addLayer({ id: "community-fill", type: "fill", source: "community", paint: { "fill-color": "#1f5fa8", "fill-opacity": 0.04 } });
  map.addLayer({ id: "community-line", type: "line", source: "community", paint: { "line-color": "#1f5fa8", "line-width": 1.5 } });
  map.addLayer({
    id: "selected-line", type: "line", source: "community", filter: ["==", ["get", "id"], -1],
    paint: { "line-color": "#c8102e", "line-width": 4 },
  });
  map.addLayer({ id: "before-line", type: "line", source: "before", paint: { "line-color": "#6a3d9a", "line-width": 3, "line-dasharray": [1, 1] } });
  // A change in the history: before hatched red, after (now) filled blue, both outlined.
  map.addLayer({ id: "history-after-fill", type: "fill", source: "history-after", paint: { "fill-color": "#1f5fa8", "fill-opacity": 0.3 } });
  map.addLayer({ id: "history-before-fill", type: "fill", source: "history-before", paint: { "fill-pattern": "hatch-red", "fill-opacity": 0.85 } });
  map.addLayer({ id: "history-after-line", type: "line", source: "history-after", paint: { "line-color": "#1f5fa8", "line-width": 3 } });
  map.addLayer({ id: "history-before-line", type: "line", source: "history-before", paint: { "line-color": "#c8102e", "line-width": 3, "line-dasharray": [2, 1] } });
  map.addLayer({ id: "result-line", type: "line", source: "result", paint: { "line-color": "#1b7f3b", "line-width": 3, "line-dasharray": [2, 1] } });
  map.addLayer({
    id: "issues-fill", type: "fill", source: "issues",
    paint: { "fill-color": ["match", ["get", "severity"], "error", "#e0001b", "#f59e0b"], "fill-opacity": 0.55 },
  });
  map.addLayer({
    id: "issues-line", type: "line", source: "issues",
    paint: { "line-color": ["match", ["get", "severity"], "error", "#a00014", "#b26a00"], "line-width": 2 },
  });
  // The buildings the previewed edit moves to another grid.
  map.addLayer({
    id: "moved-fill", type: "fill", source: "moved", filter: ["!=", ["geometry-type"], "Point"],
    paint: { "fill-color": "#d946ef", "fill-opacity": 0.8 },
  });
  map.addLayer({
    id: "moved-circle", type: "circle", source: "moved", filter: ["==", ["geometry-type"], "Point"],
    paint: { "circle-color": "#d946ef", "circle-radius": 5, "circle-stroke-color": "#ffffff", "circle-stroke-width": 1.5 },
  });
  map.on("click", "community-fill", (e) => {
    if (state.edit || proposalShown()) return; // a click while editing (or adjusting a proposal) belongs to it
    const f = e.features[0];
    if (f) selectGrid(f.properties.id);
  });
}

/** hatch is a 16×16 image of diagonal stripes in colour, for fill-pattern. */
function hatch(colour) {
  const n = 16;
  const c = document.createElement("canvas");
  c.width = c.height = n;
  const g = c.getContext("2d");
  g.fillStyle = "rgba(200, 16, 46, 0.12)";
  g.fillRect(0, 0, n, n);
  g.strokeStyle = colour;
  g.lineWidth = 3;
  g.beginPath();
  for (const o of [-n, 0, n]) {
    g.moveTo(o, n);
    g.lineTo(o + n, 0);
  }
  g.stroke();
  return g.getImageData(0, 0, n, n);
}

function setupDraw() {
  const neighbourRings = () => ringsOf(map.toDisplay(state.grids), state.edit?.op === "reshape" ? state.selected?.properties.id : undefined);
  const snapping = { toCoordinate: true, toCustom: snapper(neighbourRings) };
  const editable = { feature: { coordinates: { draggable: true, midpoints: { draggable: true }, deletable: true, snappable: snapping } } };
  draw = new TerraDraw({
    adapter: new TerraDrawMapLibreGLAdapter({ map }),
    modes: [
      new TerraDrawSelectMode({ flags: { polygon: editable, linestring: editable } }),
      new TerraDrawPolygonMode({ snapping }),
      new TerraDrawLineStringMode({ snapping }),
    ],
  });
  draw.start();
  draw.on("change", (ids, type) => {
    if (type === "delete" || !state.edit) return;
    state.edit.dirty = true;
    pinBorderEnds();
    clearPreview();
    renderTools();
  });
  draw.on("finish", (id) => {
    if (!state.edit) return;
    state.edit.drawn = id;
    state.edit.dirty = true;
    draw.setMode("select");
    draw.selectFeature(id);
    renderTools();
  });
}

// --- Area tree --------------------------------------------------------------
// Choosing an area (click, Enter or Space) selects it, flies the map to it and
// puts it in the URL (#area=CODE): a reload or a pasted link opens it again.
const tree = () => $("#tree");
const treeLi = (code) => $(`#tree li[data-code="${CSS.escape(code)}"]`);
const leafLevel = () => state.levels[state.levels.length - 1].key;

async function loadTree() {
  const { levels } = await getJSON("/api/v1/levels");
  const admin = levels.filter((l) => l.hierarchy === "admin").sort((a, b) => a.depth - b.depth);
  state.levels = admin;
  const { areas } = await getJSON("/api/v1/areas?" + qs({ level: admin[0].key }));
  show(tree(), areas.map(treeItem));
  if (tree().firstChild) tree().firstChild.tabIndex = 0;
  treeKeys(tree(), { expand, collapse: (li) => li.setAttribute("aria-expanded", "false"), choose: chooseItem });
  // Open the first branches down to the communities.
  for (let li = $("#tree li"); li && li.dataset.level !== "community"; li = li.querySelector("ul li")) await expand(li);
  const code = areaInURL();
  if (code) await revealArea(code);
}

function treeItem(a) {
  const leaf = a.level === leafLevel();
  const li = h("li", { role: "treeitem", tabindex: "-1", "aria-selected": "false", dataset: { id: a.id, code: a.code, level: a.level }, "aria-expanded": leaf ? null : "false" },
    h("span", { class: "node", title: a.code }, a.name));
  li.firstChild.addEventListener("click", () => chooseItem(li));
  return li;
}

/** expand opens a branch of the tree, loading its children the first time. */
async function expand(li) {
  if (!li.hasAttribute("aria-expanded")) return;
  if (!li.querySelector("ul")) {
    const { areas } = await getJSON(`/api/v1/areas/${encodeURIComponent(li.dataset.code)}/children`);
    if (!li.querySelector("ul")) li.append(h("ul", { role: "group" }, areas.map(treeItem)));
  }
  li.setAttribute("aria-expanded", "true");
}

/** chooseItem selects the tree's area li: a grid for editing, a community with its grids, or any area to look at. */
async function chooseItem(li) {
  focusItem(tree(), li);
  const code = li.dataset.code;
  markSelected(code);
  setAreaInURL(code);
  if (li.dataset.level === leafLevel()) return selectGrid(Number(li.dataset.id), { fly: true });
  await expand(li);
  if (state.edit) cancelEdit();
  clearBeforeAfter();
  state.selected = null;
  if (map.getLayer("selected-line")) map.setFilter("selected-line", ["==", ["get", "id"], -1]);
  renderSelection();
  if (li.dataset.level === "community") return openCommunity(code);
  fitTo(map, await getJSON(`/api/v1/areas/${encodeURIComponent(code)}.geojson`), 30);
}

/** markSelected marks the tree item of code as the selected one (aria-selected). */
function markSelected(code) {
  for (const li of document.querySelectorAll("#tree li")) {
    const on = li.dataset.code === code;
    li.setAttribute("aria-selected", on ? "true" : "false");
    li.classList.toggle("selected", on);
  }
}

/** areaInURL is the area code in the URL: #area=CODE (or ?area=CODE). */
function areaInURL() {
  return new URLSearchParams(location.hash.slice(1)).get("area") || new URLSearchParams(location.search).get("area");
}

function setAreaInURL(code) {
  if (areaInURL() === code) return;
  const q = new URLSearchParams(location.search);
  q.delete("area");
  const search = q.toString();
  history.replaceState(null, "", `${location.pathname}${search ? "?" + search : ""}#area=${encodeURIComponent(code)}`);
}

/** revealArea opens the tree down to the area with code and chooses it; an unknown code is left alone. */
async function revealArea(code) {
  let area;
  try {
    area = await getJSON(`/api/v1/areas/${encodeURIComponent(code)}`);
  } catch (err) {
    if (err instanceof ApiError && (err.status === 404 || err.status === 400)) return;
    throw err;
  }
  // The chain runs from the top area down to this one; the tree may start below its top.
  for (const a of area.chain.slice(0, -1)) {
    const li = treeLi(a.code);
    if (li) await expand(li);
  }
  const li = treeLi(area.code);
  if (li) await chooseItem(li);
}

/** treeSearch is the box above the tree: areas by name or code, each result opens the tree to it. */
function treeSearch() {
  const input = h("input", {
    type: "search", id: "tree-search", autocomplete: "off", "aria-controls": "tree-results",
    "aria-label": t("admin.search.label"), "data-i18n-aria-label": "admin.search.label",
    placeholder: t("admin.search.label"), "data-i18n-placeholder": "admin.search.label",
  });
  const status = h("p", { id: "tree-search-status", class: "hint", role: "status" });
  const list = h("ul", { id: "tree-results", class: "results" });
  const pick = async (code) => {
    input.value = "";
    show(list);
    show(status);
    await revealArea(code);
  };
  input.addEventListener("input", async () => {
    const q = input.value.trim();
    if (!q) return show(list), show(status);
    const found = await searchAreas(q, { levels: new Set(state.levels.map((l) => l.key)) });
    if (input.value.trim() !== q) return; // typed on meanwhile
    show(list, found.map((a) => h("li", {},
      h("button", { type: "button", class: "result", dataset: { code: a.code }, onclick: () => pick(a.code) }, a.name, " ", h("span", { class: "code" }, a.code)))));
    show(status, found.length ? tr(h, "span", {}, "admin.search.count", { n: found.length }) : tr(h, "span", {}, "admin.search.none", { q }));
    list.dataset.q = q; // the query these results answer (an earlier one's may show while typing)
  });
  input.addEventListener("keydown", (e) => {
    const first = list.querySelector("button");
    if (e.key === "Enter" && first) {
      e.preventDefault();
      pick(first.dataset.code);
    } else if (e.key === "ArrowDown" && first) {
      e.preventDefault();
      first.focus();
    } else if (e.key === "Escape") {
      input.value = "";
      show(list);
      show(status);
    }
  });
  return [input, status, list];
}

// --- Community and grid -------------------------------------------------------
async function openCommunity(code, { fit = true } = {}) {
  const area = await getJSON(`/api/v1/areas/${code}`);
  state.community = { id: area.id, code: area.code, name: area.name };
  state.grids = await getJSON("/api/v1/areas.geojson?" + qs({ parent: code }));
  map.setGeoJSON("community", state.grids);
  if (fit) fitTo(map, state.grids, 30);
  for (const li of document.querySelectorAll("#tree li")) li.classList.toggle("current", li.dataset.code === code);
  await Promise.all([renderBalance(), renderHistory()]);
  partitionPanel(map, state.community, (res) => afterSave("repartition", res));
}

/** selectGrid selects a grid for editing (fly: and moves the map to it). */
async function selectGrid(id, { fly = false } = {}) {
  if (state.edit) cancelEdit();
  clearBeforeAfter();
  let f = state.grids?.features.find((g) => g.properties.id === id);
  if (!f) {
    const area = await getJSON(`/api/v1/areas/${id}`);
    const parent = area.chain[area.chain.length - 2];
    await openCommunity(parent.code);
    f = state.grids.features.find((g) => g.properties.id === id);
  }
  state.selected = f;
  map.setFilter("selected-line", ["==", ["get", "id"], id]);
  markSelected(f.properties.code);
  setAreaInURL(f.properties.code);
  if (fly) fitTo(map, f, 40);
  renderSelection();
  renderTools();
  await renderHistory();
}

function renderSelection() {
  const f = state.selected;
  show($("#selection"), f
    ? [h("h2", { id: "selected-name" }, f.properties.name), h("p", { class: "code" }, f.properties.code)]
    : [h("p", { class: "hint" }, t("admin.hint.select"))]);
}

/** neighbours lists the grids of the community sharing a border with the selected one. */
function neighbours() {
  const a = ringsOf({ features: [state.selected] })[0];
  return state.grids.features.filter((g) => g !== state.selected && sharedBorder(a, ringsOf({ features: [g] })[0]));
}

async function currentVersion(id) {
  const { versions } = await getJSON(`/api/v1/areas/${id}/versions`);
  const cur = versions.find((v) => !v.valid_to);
  return cur ? cur.id : 0;
}

// --- Tools ----------------------------------------------------------------------
function renderTools() {
  const box = $("#tools");
  if (!state.selected && !state.community) return show(box);
  const e = state.edit;
  if (!e) {
    const nb = state.selected ? neighbours() : [];
    const pick = h("select", { id: "neighbour", "aria-label": t("admin.neighbour") },
      nb.map((g) => h("option", { value: g.properties.id }, g.properties.name)));
    const nbId = () => Number(pick.value);
    return show(box, h("h3", {}, t("admin.tools")),
      state.selected ? [
        h("button", { type: "button", id: "tool-reshape", onclick: () => beginReshape() }, t("admin.tool.reshape")),
        h("label", { class: "inline" }, t("admin.neighbour"), pick),
        h("button", { type: "button", id: "tool-border", disabled: !nb.length, onclick: () => beginBorder(nbId()) }, t("admin.tool.border")),
        h("button", { type: "button", id: "tool-merge", disabled: !nb.length, onclick: () => beginMerge(nbId()) }, t("admin.tool.merge")),
        h("button", { type: "button", id: "tool-split", onclick: () => beginDraw("split", "linestring") }, t("admin.tool.split")),
      ] : null,
      state.community ? h("button", { type: "button", id: "tool-create", onclick: () => beginDraw("create", "polygon") }, t("admin.tool.create")) : null);
  }
  const shared = e.op === "reshape" ? movedSharedVertices() : [];
  show(box, h("h3", {}, t(`admin.op.${e.op}`)),
    h("p", { class: "hint" }, t(`admin.hint.${e.op}`)),
    shared.length ? h("div", { id: "shared-vertex", class: "msg warn", role: "status" },
      h("p", {}, t("admin.sharedVertex", { names: shared.map((g) => g.properties.name).join("、") })),
      shared.map((g) => h("button", { type: "button", class: "use-border", dataset: { code: g.properties.code }, onclick: () => { cancelEdit(); beginBorder(g.properties.id); } },
        t("admin.sharedVertex.use", { name: g.properties.name })))) : null,
    e.op === "create" ? h("label", {}, t("admin.newName"), h("input", { id: "new-name", value: e.name || "", oninput: (ev) => (e.name = ev.target.value) })) : null,
    h("div", { class: "row" },
      h("button", { type: "button", id: "do-preview", disabled: !ready(e), onclick: () => runPreview() }, t("admin.preview")),
      h("button", { type: "button", class: "secondary", id: "do-cancel", onclick: () => cancelEdit() }, t("admin.cancel"))));
}

const ready = (e) => (e.op === "merge" ? true : e.op === "create" || e.op === "split" ? !!e.drawn : e.dirty);

/**
 * movedSharedVertices lists the neighbours one of whose vertices, shared with
 * the grid being reshaped, the drawing has moved. Vertex mode moves this grid
 * only; we say so and offer the shared-border tool, which moves both (the
 * drag itself is kept: its preview shows the overlap or gap it makes).
 */
function movedSharedVertices() {
  const f = state.edit?.drawn && draw.getSnapshotFeature(state.edit.drawn);
  if (!f) return [];
  const key = (c) => c[0].toFixed(7) + "," + c[1].toFixed(7);
  const now = new Set(ringsOf({ features: [f] }).flat().map(key));
  const moved = new Set(ringsOf({ features: [map.toDisplay(state.selected)] }).flat().map(key).filter((k) => !now.has(k)));
  if (!moved.size) return [];
  return state.grids.features.filter((g) => g !== state.selected && ringsOf({ features: [map.toDisplay(g)] }).flat().some((c) => moved.has(key(c))));
}

async function beginReshape() {
  const f = state.selected;
  state.edit = { op: "reshape", areas: [{ id: f.properties.id, version: await currentVersion(f.properties.id) }] };
  const poly = f.geometry.type === "MultiPolygon" ? { type: "Polygon", coordinates: f.geometry.coordinates[0] } : f.geometry;
  const [id] = addDrawn(poly, "polygon");
  state.edit.drawn = id;
  draw.setMode("select");
  draw.selectFeature(id);
  renderTools();
}

async function beginBorder(nbId) {
  const a = state.selected;
  const b = state.grids.features.find((g) => g.properties.id === nbId);
  const chain = sharedBorder(ringsOf({ features: [a] })[0], ringsOf({ features: [b] })[0]);
  state.edit = {
    op: "move_border", neighbour: b,
    areas: [{ id: a.properties.id, version: await currentVersion(a.properties.id) }, { id: nbId, version: await currentVersion(nbId) }],
    ends: [chain[0], chain[chain.length - 1]],
  };
  const [id] = addDrawn({ type: "LineString", coordinates: chain }, "linestring");
  state.edit.drawn = id;
  draw.setMode("select");
  draw.selectFeature(id);
  renderTools();
}

/** pinBorderEnds keeps the ends of a moved border where they were: both must stay on the outer boundary. */
function pinBorderEnds() {
  const e = state.edit;
  if (e?.op !== "move_border" || !e.drawn) return;
  const f = draw.getSnapshotFeature(e.drawn);
  if (!f) return;
  const c = f.geometry.coordinates;
  const [p, q] = map.toDisplay({ type: "MultiPoint", coordinates: e.ends }).coordinates;
  const same = (x, y) => Math.abs(x[0] - y[0]) < 1e-9 && Math.abs(x[1] - y[1]) < 1e-9;
  if (same(c[0], p) && same(c[c.length - 1], q)) return;
  const fixed = [p, ...c.slice(1, -1), q];
  queueMicrotask(() => draw.updateFeatureGeometry(e.drawn, { type: "LineString", coordinates: fixed }));
}

async function beginMerge(nbId) {
  const a = state.selected;
  state.edit = {
    op: "merge", dirty: true, neighbour: state.grids.features.find((g) => g.properties.id === nbId),
    areas: [{ id: a.properties.id, version: await currentVersion(a.properties.id) }, { id: nbId, version: await currentVersion(nbId) }],
  };
  renderTools();
  await runPreview();
}

async function beginDraw(op, mode) {
  state.edit = { op };
  if (op === "split") state.edit.areas = [{ id: state.selected.properties.id, version: await currentVersion(state.selected.properties.id) }];
  if (op === "create") state.edit.parent = state.community.id;
  draw.setMode(mode);
  renderTools();
}

function addDrawn(geometry, mode) {
  const feature = { type: "Feature", geometry: map.toDisplay(geometry), properties: { mode } };
  const res = draw.addFeatures([feature]);
  return res.filter((r) => r.valid).map((r) => r.id);
}

function cancelEdit() {
  clearBeforeAfter();
  state.edit = null;
  state.conflict = null;
  draw.clear();
  draw.setMode("select");
  clearPreview();
  renderTools();
  map.setGeoJSON("before", null);
}

/** request is the edit body from the drawing (WGS84). */
function request() {
  const e = state.edit;
  const body = { op: e.op, areas: e.areas };
  const drawn = e.drawn && draw.getSnapshotFeature(e.drawn);
  const wgs = drawn ? mapCoords(drawn.geometry, map.fromDisplay) : null;
  if (e.op === "reshape" || e.op === "create") body.geometry = wgs;
  if (e.op === "move_border" || e.op === "split") body.line = wgs;
  if (e.op === "create") {
    body.parent = e.parent;
    body.name = e.name || "";
  }
  return body;
}

// --- Preview, save, conflict ----------------------------------------------------
function clearPreview() {
  state.preview = null;
  for (const m of markers.splice(0)) m.remove();
  map.setGeoJSON("issues", null);
  map.setGeoJSON("result", null);
  map.setGeoJSON("moved", null);
  show($("#preview"));
}

async function runPreview() {
  clearPreview();
  try {
    state.preview = await postJSON("/api/v1/edits/preview", request());
    renderPreview(state.preview);
  } catch (err) {
    handleEditError(err);
  }
}

/** moveText says what an edit moves: "moves 37 households from 网格03 to 网格04". */
function moveText(m) {
  const name = (a) => (a ? a.name : t("admin.noGrid"));
  return t("admin.move", { households: m.households, residents: m.residents, buildings: m.buildings, from: name(m.from), to: name(m.to) });
}

function issueText(i, p) {
  const name = (code) => state.grids?.features.find((f) => f.properties.code === code)?.properties.name || code;
  if (i.kind === "balance") {
    const b = (p?.balance || []).find((x) => x.code === (i.areas || [])[0]);
    if (b) return t("admin.issue.balance", { areas: b.name || name(b.code), before: b.households_before, after: b.households_after, min: b.min, max: b.max });
  }
  if (i.kind === "gap" && (i.destinations || []).length) {
    const sum = (k) => i.destinations.reduce((n, d) => n + d[k], 0);
    const n = { m2: formatM2(i.area_m2), buildings: sum("buildings"), households: sum("households") };
    if (i.destinations.every((d) => !d.to)) return t("admin.issue.gap.unassigned", n);
    return t("admin.issue.gap.to", { ...n, to: i.destinations.map((d) => (d.to ? d.to.name : t("admin.unassigned"))).join("、") });
  }
  if (i.kind === "gap") return t("admin.issue.gap.empty", { m2: formatM2(i.area_m2) });
  // An overlap names the grids the edited one runs into (with), not itself.
  const areas = i.kind === "overlap" && i.with ? i.with : i.areas || [];
  return t(`admin.issue.${i.kind}`, { m2: formatM2(i.area_m2), areas: areas.map(name).join("、") });
}

/** opName names a change's operation ("area.move_border" → 移动共同边界). */
const opName = (op) => t(`admin.op.${op.replace(/^area\./, "")}`);

const formatM2 = (m2) => (m2 >= 10000 ? (m2 / 10000).toFixed(2) + " ha" : Math.round(m2 || 0) + " m²");

function renderPreview(p, failed) {
  const issues = [...p.errors.map((i) => ({ ...i, severity: "error" })), ...p.warnings.map((i) => ({ ...i, severity: "warning" }))];
  const fc = { type: "FeatureCollection", features: issues.filter((i) => i.geometry).map((i) => ({ type: "Feature", geometry: i.geometry, properties: { severity: i.severity, kind: i.kind } })) };
  map.setGeoJSON("issues", fc);
  map.setGeoJSON("result", p.result || null);
  map.setGeoJSON("moved", p.moved || null);
  for (const m of markers.splice(0)) m.remove();
  for (const i of issues.filter((x) => x.geometry)) {
    const el = h("div", { class: `issue-label ${i.severity}` }, issueText(i, p));
    const at = labelAt(i.geometry);
    if (at) markers.push(new Marker({ element: el }).setLngLat(map.toDisplay({ type: "Point", coordinates: at }).coordinates).addTo(map));
  }
  const canSave = p.valid && !failed;
  const reason = h("textarea", { id: "reason", rows: 2, placeholder: t("admin.reason.placeholder") });
  const save = h("button", { type: "button", id: "do-save", disabled: !canSave }, t("admin.save"));
  reason.addEventListener("input", () => (save.disabled = !canSave || !reason.value.trim()));
  save.disabled = true;
  save.addEventListener("click", () => runSave(reason.value.trim()));
  show($("#preview"),
    h("h3", {}, t("admin.preview.title")),
    h("p", { id: "preview-status", class: `msg ${!p.valid ? "error" : p.warnings.length ? "warn" : "info"}` },
      !p.valid ? t("admin.preview.invalid") : p.warnings.length ? t("admin.preview.validWarnings") : t("admin.preview.valid")),
    issues.length ? h("ul", { id: "issues", class: "issues" }, issues.map((i) => h("li", { class: i.severity, "data-kind": i.kind }, issueText(i, p)))) : null,
    (p.balance || []).length ? balanceTable(p.balance) : null,
    h("ul", { id: "moves", class: "moves" }, p.moves.length ? p.moves.map((m) => h("li", {}, moveText(m))) : h("li", {}, t("admin.noMoves"))),
    (p.codes || []).length ? h("ul", { class: "codes" }, p.codes.map((c) => h("li", {}, t(`admin.code.${c.kind}`, { code: c.code, name: c.name })))) : null,
    h("label", {}, t("admin.reason"), reason),
    save);
}

/** balanceTable lists each affected grid's households before → after against its target; out of range is marked. */
function balanceTable(bs) {
  const cell = (n, ok) => h("td", { class: ok ? "ok" : "out" }, ok ? String(n) : t("admin.impact.out", { n }));
  return h("table", { id: "balance", class: "balance" },
    h("caption", {}, t("admin.impact.title")),
    h("thead", {}, h("tr", {}, h("th", {}, t("admin.impact.grid")), h("th", {}, t("admin.impact.before")), h("th", {}, t("admin.impact.after")), h("th", {}, t("admin.impact.target")))),
    h("tbody", {}, bs.map((b) => h("tr", { "data-code": b.code, class: b.in_range_after ? "" : "out" },
      h("td", {}, b.name || b.code),
      cell(b.households_before, b.in_range_before),
      b.retired ? h("td", {}, t("admin.impact.retired")) : cell(b.households_after, b.in_range_after),
      h("td", {}, t("admin.impact.range", { min: b.min, max: b.max }))))));
}

/** labelAt is a point inside (or near) a polygon for its size label: the middle of its first ring's bound. */
function labelAt(g) {
  const ring = g.type === "Polygon" ? g.coordinates[0] : g.type === "MultiPolygon" ? g.coordinates[0][0] : null;
  if (!ring) return null;
  const xs = ring.map((c) => c[0]), ys = ring.map((c) => c[1]);
  return [(Math.min(...xs) + Math.max(...xs)) / 2, (Math.min(...ys) + Math.max(...ys)) / 2];
}

async function runSave(reason) {
  try {
    const res = await postJSON("/api/v1/edits", { ...request(), reason });
    const op = state.edit.op;
    cancelEdit();
    await afterSave(op, res);
  } catch (err) {
    handleEditError(err);
  }
}

/** afterSave redraws at once: the community's geometry, the tiles (new data version), balance and history. */
async function afterSave(op, res) {
  clearBeforeAfter(); // a revert or a new change makes the drawn before/after stale
  const selectedId = state.selected?.properties.id;
  await openCommunity(state.community.code, { fit: false });
  refreshTiles();
  state.selected = state.grids.features.find((g) => g.properties.id === selectedId) || null;
  if (state.selected) map.setFilter("selected-line", ["==", ["get", "id"], selectedId]);
  renderSelection();
  renderTools();
  show($("#preview"), tr(h, "p", { id: "saved", class: "msg info" }, "admin.saved", { change: res.change_id }));
  await renderHistory();
}

function refreshTiles() {
  const style = map.getStyle();
  for (const [id, src] of Object.entries(style.sources)) {
    if (src.type === "vector" && src.url) {
      mapState.idle = false;
      // Fetching the TileJSON again gives tile URLs with the new data version.
      map.getSource(id).setUrl(src.url);
    }
  }
}

async function handleEditError(err) {
  if (!(err instanceof ApiError)) throw err;
  // The edit, the preview and the reason stay on screen: save again when the banner is gone.
  if (err.unavailable) return watchOutage(err);
  if (err.status === 409) return showConflict();
  if (err.status === 422 && err.details) return renderPreview(err.details, true);
  show($("#preview"), errorMessage(err, "edit-error"));
}

/** showConflict shows the colleague's change that made our versions stale and offers to re-apply ours on top. */
async function showConflict() {
  const ids = state.edit.areas.map((a) => a.id);
  const { changes } = await getJSON("/api/v1/changes?" + qs({ area: ids[0], limit: 5 }));
  const theirs = changes.find((c) => c.areas.some((a) => ids.includes(a.area.id) && state.edit.areas.some((r) => r.id === a.area.id && r.version === a.before_version))) || changes[0];
  state.conflict = theirs;
  // Draw the boundaries as they are now, with ours still on top in the drawing.
  const fresh = await getJSON("/api/v1/areas.geojson?" + qs({ parent: state.community.code }));
  map.setGeoJSON("before", { type: "FeatureCollection", features: fresh.features.filter((f) => ids.includes(f.properties.id)) });
  show($("#preview"),
    h("div", { id: "conflict", class: "msg warn", role: "alert" },
      tr(h, "p", {}, "admin.conflict.title"),
      theirs ? h("p", { id: "conflict-change" }, t("admin.conflict.change", { author: theirs.author, at: new Date(theirs.at).toLocaleString(), reason: theirs.reason, op: opName(theirs.operation) })) : null,
      tr(h, "p", {}, "admin.conflict.hint"),
      h("div", { class: "row" },
        tr(h, "button", { type: "button", id: "reapply", onclick: () => reapply(fresh) }, "admin.conflict.reapply"),
        tr(h, "button", { type: "button", class: "secondary", onclick: () => { cancelEdit(); openCommunity(state.community.code, { fit: false }); } }, "admin.conflict.discard"))));
}

/** reapply takes the current versions and previews our drawing again on top of the colleague's change. */
async function reapply(fresh) {
  state.grids = fresh;
  map.setGeoJSON("community", fresh);
  for (const a of state.edit.areas) a.version = await currentVersion(a.id);
  state.conflict = null;
  map.setGeoJSON("before", null);
  refreshTiles();
  await Promise.all([renderBalance(), renderHistory()]);
  await runPreview();
}

// --- Balance and history ----------------------------------------------------------
async function renderBalance() {
  const st = await getJSON(`/api/v1/areas/${state.community.code}/stats`);
  const tg = st.target;
  show($("#balance"),
    h("h3", {}, t("admin.balance", { name: state.community.name })),
    tg ? h("p", { class: "hint" }, t("admin.balance.target", { hmin: tg.households_min, hmax: tg.households_max, rmin: tg.residents_min, rmax: tg.residents_max })) : null,
    h("table", { id: "balance-table", class: "balance" },
      h("thead", {}, h("tr", {}, h("th", {}, t("admin.balance.grid")), h("th", {}, t("count.households")), h("th", {}, t("count.residents")))),
      h("tbody", {}, st.children.map((c) => h("tr", { class: `status-${c.status || "none"}`, dataset: { code: c.area.code, households: c.households } },
        h("td", {}, c.area.name), h("td", {}, c.households), h("td", {}, c.residents))))));
}

async function renderHistory() {
  const area = state.selected ? state.selected.properties : state.community;
  if (!area) return;
  const { changes } = await getJSON("/api/v1/changes?" + qs({ area: area.code || area.id, limit: 20 }));
  state.history = changes;
  show($("#history"),
    h("h3", {}, t("admin.history", { name: area.name })),
    h("ol", { id: "history-list", class: "history" }, changes.map((c) => h("li", { dataset: { change: c.id } },
      h("p", {}, h("strong", {}, opName(c.operation)), " · ", c.author, " · ", new Date(c.at).toLocaleString()),
      c.reason ? h("p", { class: "reason" }, c.reason) : null,
      c.operation.startsWith("area.") && c.operation !== "area.rename" ? h("div", { class: "row" },
        h("button", { type: "button", class: "ghost small", onclick: () => showBeforeAfter(c) }, t("admin.history.show")),
        h("button", { type: "button", class: "ghost small", onclick: () => revertChange(c) }, t("admin.history.revert"))) : null))));
}

/**
 * showBeforeAfter draws a change: the boundaries before it (its revert's
 * preview) hatched red, those of its areas now filled blue.
 */
async function showBeforeAfter(c) {
  try {
    const p = await postJSON("/api/v1/edits/preview", { op: "revert", change: c.id });
    const ids = new Set(c.areas.filter((a) => a.after_version).map((a) => a.area.id));
    map.setGeoJSON("history-before", p.result);
    map.setGeoJSON("history-after", { type: "FeatureCollection", features: (state.grids?.features || []).filter((f) => ids.has(f.properties.id)) });
    fitTo(map, { type: "GeometryCollection", geometries: [...p.result.features, ...state.grids.features.filter((f) => ids.has(f.properties.id))].map((f) => f.geometry) }, 40);
    show($("#preview"), h("div", { id: "before-after" },
      tr(h, "p", { class: "msg info" }, "admin.history.legend"),
      tr(h, "button", { type: "button", id: "hide-before-after", class: "ghost small", onclick: () => { clearBeforeAfter(); show($("#preview")); } }, "admin.history.hide")));
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    show($("#preview"), errorMessage(err, "edit-error"));
  }
}

/** clearBeforeAfter takes a change's before/after off the map. */
function clearBeforeAfter() {
  map.setGeoJSON("history-before", null);
  map.setGeoJSON("history-after", null);
}

/** revertChange asks for a reason in the panel, then reverts the change (a new, validated change). */
function revertChange(c) {
  const reason = h("textarea", { id: "revert-reason", rows: 2, placeholder: t("admin.reason.placeholder"), "data-i18n-placeholder": "admin.reason.placeholder" });
  const ok = tr(h, "button", { type: "button", id: "do-revert", disabled: true }, "admin.history.revert");
  reason.addEventListener("input", () => (ok.disabled = !reason.value.trim()));
  ok.addEventListener("click", async () => {
    try {
      const res = await postJSON(`/api/v1/changes/${c.id}/revert`, { reason: reason.value.trim() });
      await afterSave("revert", res);
    } catch (err) {
      handleEditError(err);
    }
  });
  show($("#preview"), tr(h, "h3", {}, "admin.history.revertTitle", { op: opName(c.operation), change: c.id }),
    h("label", {}, tr(h, "span", {}, "admin.history.revertReason"), reason), ok);
}

onLangChange(() => {
  if (!state.session) return;
  $("#who").textContent = t("admin.signedInAs", { name: state.session.user.name, role: t("admin.role." + state.session.user.role) });
  renderSelection();
  renderTools();
  if (state.community) renderBalance();
  renderHistory();
  if (state.preview) renderPreview(state.preview);
});

/**
 * errorMessage is the alert for a failed request: the catalogue's message for
 * the API error's code (error.generic for others), never the server's English
 * text, which stays in the console for whoever debugs it.
 */
function errorMessage(err, id) {
  if (err?.message) console.info("gridmap:", err.code || "", err.message);
  return tr(h, "p", { class: "msg error", role: "alert", id }, errorKey(err));
}

// A link to another area pasted into this tab changes only the hash.
window.addEventListener("hashchange", () => {
  const code = areaInURL();
  if (code && state.levels && code !== $("#tree li[aria-selected=true]")?.dataset.code) revealArea(code);
});

start().catch((err) => show(app, errorMessage(err, "start-error")));
