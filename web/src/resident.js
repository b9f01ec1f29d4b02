// Resident lookup (/): search an address (suggestions while typing) or use
// the device's location; show 街道 › 社区 › 网格, the grid on the map and the
// people responsible. The URL (?address= or ?lon=&lat=) reproduces a result.
// The server renders the page's text (templates/resident.html); this module
// is small and wires it up. MapLibre (lib/map.js) is imported lazily, after
// the page is usable or once a result is shown: the result card never waits
// for the map.
import { $, h, show } from "./lib/dom.js";
import { getJSON, qs } from "./lib/api.js";
import { t, errorKey, applyI18n, langToggle, onLangChange } from "./lib/i18n.js";
import "./lib/mapstate.js"; // the map's state (and the tests' hook) before MapLibre loads
import { personCards, chainView } from "./lib/people.js";
import "./css/base.css";
import "./css/resident.css";
import { residentDraftKey } from "./lib/drafts.js";

applyI18n();
langToggle($("#lang"));

let last = null; // {params, result, building, gridShape} of the result shown, re-rendered on language change

// --- The map, loaded lazily -------------------------------------------------
let mapPromise = null;
let mapLib = null; // lib/map.js once loaded

/** loadMap imports MapLibre and makes the map, once; it resolves to the map. */
function loadMap() {
  if (mapPromise) return mapPromise;
  performance.mark("gridmap:map"); // what loads before this mark is the page without its map
  mapPromise = import("./lib/map.js").then(async (lib) => {
    mapLib = lib;
    const map = await lib.createMap($("#map"), { tiles: true });
    map.setGeoJSON("grid", null);
    map.setGeoJSON("place", null);
    ensureLayers(map);
    if (!last) lib.fitCovered(map); // the home map opens on the covered area
    // A tap on the map looks up that point.
    map.on("click", (e) => {
      // The box no longer describes what is shown.
      input.value = "";
      cancelSuggestions();
      const [lon, lat] = map.fromDisplay([e.lngLat.lng, e.lngLat.lat]);
      search({ lon: lon.toFixed(7), lat: lat.toFixed(7) });
    });
    return map;
  });
  return mapPromise;
}

// --- Search with suggestions ---------------------------------------------
const input = $("#address");
const list = $("#suggestions");
let suggestTimer = 0;
let suggestSeq = 0;

// Suggestions and the search ask the same question of the same matcher
// (/api/v1/lookup?address=), with the same number of candidates, so what is
// offered while typing is what Enter answers.
const CANDIDATES = 8;

function candidateLabel(b) {
  return [h("span", {}, b.address), b.name ? h("small", {}, " " + b.name) : null];
}

function closeSuggestions() {
  list.hidden = true;
  input.setAttribute("aria-expanded", "false");
  input.removeAttribute("aria-activedescendant");
  list.replaceChildren();
}

// The number of suggestions is announced (a polite live region); the option
// chosen with the arrow keys is the input's aria-activedescendant.
const suggestStatus = $("#suggest-status");

// cancelSuggestions closes the list and drops the suggestions still on their
// way, which must not reopen it.
function cancelSuggestions() {
  clearTimeout(suggestTimer);
  suggestSeq++;
  closeSuggestions();
}

input.addEventListener("input", () => {
  clearTimeout(suggestTimer);
  const q = input.value.trim();
  if (q.length < 2) return closeSuggestions();
  suggestTimer = setTimeout(async () => {
    const seq = ++suggestSeq;
    let res;
    try {
      res = await getJSON("/api/v1/lookup?" + qs({ address: q, limit: CANDIDATES }));
    } catch {
      return; // suggestions are a convenience; the search itself reports errors
    }
    if (seq !== suggestSeq) return; // a newer keystroke (or the search) answered first
    list.dataset.answered = q; // the text the list answers
    if (!res.candidates.length) {
      suggestStatus.textContent = t("resident.suggestions.none");
      return closeSuggestions();
    }
    show(list, res.candidates.map(({ building: b }, i) =>
      h("li", { role: "option", id: `suggestion-${i}`, "aria-selected": "false", tabindex: "-1", dataset: { address: b.address } }, ...candidateLabel(b))));
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    input.removeAttribute("aria-activedescendant");
    suggestStatus.textContent = t("resident.suggestions.count", { n: res.candidates.length });
  }, 150);
});

list.addEventListener("click", (e) => {
  const li = e.target.closest("li");
  if (!li) return;
  input.value = li.dataset.address;
  closeSuggestions();
  search({ address: input.value });
});

input.addEventListener("keydown", (e) => {
  const items = [...list.children];
  if (list.hidden || !items.length) return;
  const i = items.indexOf(list.querySelector("[aria-selected=true]"));
  if (e.key === "ArrowDown" || e.key === "ArrowUp") {
    e.preventDefault();
    const next = items[(i + (e.key === "ArrowDown" ? 1 : items.length - 1)) % items.length];
    items.forEach((li) => li.setAttribute("aria-selected", li === next ? "true" : "false"));
    input.setAttribute("aria-activedescendant", next.id);
    input.value = next.dataset.address;
  } else if (e.key === "Escape") {
    closeSuggestions();
  }
});

$("#search").addEventListener("submit", (e) => {
  e.preventDefault();
  cancelSuggestions();
  const address = input.value.trim();
  if (address) search({ address });
});

$("#locate").addEventListener("click", () => {
  if (!navigator.geolocation) return message("warn", t("resident.locate.unsupported"));
  message("info", t("resident.locate.waiting"));
  navigator.geolocation.getCurrentPosition(
    (p) => search({ lon: p.coords.longitude.toFixed(7), lat: p.coords.latitude.toFixed(7) }),
    (err) => message("warn", t(err.code === err.PERMISSION_DENIED ? "resident.locate.denied" : "resident.locate.failed")),
    { enableHighAccuracy: true, timeout: 15000 },
  );
});

// --- Lookup and result ------------------------------------------------------
function message(kind, text) {
  show($("#result"), h("p", { class: `msg ${kind}`, role: kind === "warn" ? "alert" : null }, text));
}

// found says whether an address answer names one building (exact or
// normalised match): only then is its grid the answer.
const found = (result) => result.match === "exact" || result.match === "normalised";

let searchSeq = 0;

async function search(params) {
  history.replaceState(null, "", "?" + qs(params));
  $("#result").dataset.state = "searching";
  message("info", t("resident.searching"));
  const seq = ++searchSeq;
  try {
    const result = await getJSON("/api/v1/lookup?" + qs(params.address ? { ...params, limit: CANDIDATES } : params));
    let building = null;
    if (found(result) && result.grid) {
      // The building's own page data adds its building leader.
      building = await getJSON("/api/v1/buildings/" + encodeURIComponent(result.candidates[0].building.code));
    }
    if (seq !== searchSeq) return; // a newer search answered first
    last = { params, result, building, gridShape: null };
    render();
  } catch (err) {
    if (seq !== searchSeq) return;
    last = null;
    $("#result").dataset.state = "error";
    message("warn", t("resident.error", { message: t(errorKey(err)) }));
    loadMap().then((map) => map.setGeoJSON("grid", null));
  }
}

// render shows the result card at once, then draws the result on the map
// (loading the map first when it is not there yet).
function render() {
  const shown = last;
  renderCard(shown);
  if (shown.result.grid && !shown.gridShape) {
    shown.gridShape = getJSON(`/api/v1/areas/${encodeURIComponent(shown.result.grid.code)}.geojson`);
  }
  loadMap().then((map) => last === shown && drawResult(map, shown));
}

/** placeOf is the point of a result: its building, or the point looked up. */
function placeOf({ params, result }) {
  return result.candidates && result.candidates.length
    ? result.candidates[0].building
    : { lon: Number(params.lon), lat: Number(params.lat) };
}

function renderCard({ params, result, building }) {
  const box = $("#result");
  if (result.match && !found(result)) {
    if (result.match === "street") return show(box, streetView(params.address, result.grids));
    if (result.match === "approximate") return show(box, didYouMean(params.address, result.candidates));
    box.dataset.state = "not-found";
    return show(box, h("p", { class: "msg warn", role: "alert", id: "not-found" }, t("resident.notFound", { address: params.address })));
  }
  if (!result.grid) {
    box.dataset.state = "outside";
    return show(box, h("p", { class: "msg warn", role: "alert", id: "outside" }, t("resident.outside")));
  }
  box.dataset.state = "found";
  const place = placeOf({ params, result });
  const grid = result.grid;
  const responsible = building ? building.responsible : result.responsible;
  const nodes = [];
  if (place.address) nodes.push(h("p", { class: "place" }, t("resident.addressFound", { address: place.address })));
  nodes.push(chainView(result.areas));
  nodes.push(h("h2", { id: "grid-name" }, grid.name, " ", h("small", { class: "code" }, grid.code)));
  if (result.ambiguous) {
    nodes.push(h("p", { class: "msg info" }, t("resident.ambiguous", { names: result.alternatives.map((a) => a.name).join("、") })));
  }
  nodes.push(h("button", { type: "button", class: "report-open", id: "report-open",
    onclick: () => openReport({ lon: place.lon, lat: place.lat, address: place.address || "", building: place.code || "" }) }, t("report.open")));
  nodes.push(...personCards(responsible, { buildingCode: place.code }));
  nodes.push(h("p", { class: "links" },
    place.code ? h("a", { href: `/b/${place.code}`, id: "building-link" }, t("resident.buildingPage")) : null,
    h("a", { href: `/g/${grid.code}` }, t("resident.gridPage")),
    h("button", { type: "button", class: "secondary", id: "share", onclick: () => share(grid) }, t("resident.share"))));
  nodes.push(h("p", { id: "share-status", class: "share-status", role: "status" }));
  show(box, nodes);
}

async function drawResult(map, shown) {
  const { result } = shown;
  if (result.match && !found(result)) {
    map.setGeoJSON("grid", null);
    map.setGeoJSON("place", null);
    return;
  }
  const place = placeOf(shown);
  const point = { type: "Feature", geometry: { type: "Point", coordinates: [place.lon, place.lat] }, properties: {} };
  map.setGeoJSON("place", point);
  ensureLayers(map);
  if (!result.grid) {
    map.setGeoJSON("grid", null);
    mapLib.fitTo(map, point, 40, 15);
    return;
  }
  const fc = await shown.gridShape;
  if (last !== shown) return;
  map.setGeoJSON("grid", fc);
  mapLib.fitTo(map, fc, 30);
}

// --- Share ------------------------------------------------------------------
// share hands the result's link to the system's share sheet where the browser
// has one (Web Share API, phones) and copies it otherwise; without a
// clipboard (plain http) it shows the link selected, to copy by hand.
async function share(grid) {
  const status = $("#share-status");
  const url = location.href;
  if (navigator.share) {
    try {
      await navigator.share({ title: t("resident.shareTitle", { name: grid.name }), url });
      return;
    } catch (err) {
      if (err.name === "AbortError") return; // the resident closed the sheet
    }
  }
  try {
    await navigator.clipboard.writeText(url);
    status.textContent = t("resident.shareCopied");
  } catch {
    const field = h("input", { readonly: true, value: url, class: "share-url", "aria-label": t("resident.shareManual") });
    show(status, t("resident.shareManual"), " ", field);
    field.select();
  }
}

// didYouMean asks which of the candidates was meant; a tap searches it.
function didYouMean(address, candidates) {
  $("#result").dataset.state = "did-you-mean";
  return [
    h("p", { class: "msg warn", role: "alert", id: "did-you-mean" }, t("resident.didYouMean", { address })),
    h("ul", { class: "candidates", id: "candidates" }, ...candidates.map(({ building: b }) =>
      h("li", {}, h("button", { type: "button", class: "secondary", dataset: { address: b.address },
        onclick: () => { input.value = b.address; search({ address: b.address }); } }, ...candidateLabel(b))))),
  ];
}

// streetView lists the grids a street (or compound) crosses: the resident
// picks a house number, or a grid's page.
function streetView(address, grids) {
  $("#result").dataset.state = "street";
  return [
    h("p", { class: "msg info", id: "street" }, t("resident.street", { address, count: grids.length })),
    h("ul", { class: "street-grids", id: "street-grids" }, ...grids.map((g) =>
      h("li", { dataset: { code: g.code } }, h("a", { href: `/g/${g.code}` }, g.name), " ",
        h("small", {}, t("resident.street.buildings", { count: g.buildings }))))),
  ];
}

function ensureLayers(map) {
  if (map.getLayer("grid-fill")) return;
  map.addLayer({ id: "grid-fill", type: "fill", source: "grid", paint: { "fill-color": "#c8102e", "fill-opacity": 0.12 } });
  map.addLayer({ id: "grid-line", type: "line", source: "grid", paint: { "line-color": "#c8102e", "line-width": 3 } });
  map.addLayer({
    id: "place", type: "circle", source: "place",
    paint: { "circle-radius": 7, "circle-color": "#c8102e", "circle-stroke-color": "#fff", "circle-stroke-width": 2 },
  });
}

// --- 我要报事 and 我的反映: their code is loaded when needed (import()),
// so the lookup's first load does not carry the form.
function openReport(place) {
  const box = $("#report");
  $("#result").hidden = true;
  document.body.classList.add("reporting");
  import("./report.js").then((m) => m.openReport(box, place, { draftKey: residentDraftKey(place.building), onClose: () => {
    $("#result").hidden = false;
    document.body.classList.remove("reporting");
  } }));
}

function hasMine() {
  try {
    return (localStorage.getItem("gridmap.cases") || "[]") !== "[]";
  } catch {
    return false;
  }
}
const renderMine = () => hasMine() && import("./mine.js").then((m) => m.showMine($("#mine")));
renderMine();

onLangChange(() => {
  if (last) render();
  if (!$("#mine").hidden) renderMine();
});

// A shared URL reproduces its result.
const start = new URLSearchParams(location.search);
if (start.get("address")) {
  input.value = start.get("address");
  search({ address: start.get("address") });
} else if (start.get("lon") && start.get("lat")) {
  search({ lon: start.get("lon"), lat: start.get("lat") });
} else {
  // Without a result to show, the map loads once the page has nothing else to do.
  (window.requestIdleCallback || ((fn) => setTimeout(fn, 200)))(() => loadMap(), { timeout: 1000 });
}
