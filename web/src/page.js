// Building and grid pages (/b/{code}, /g/{code}) and the not-found page: the
// server renders the text; this draws the grid on the map with the building
// marked, and switches the language in place: the page is fetched again in
// the language chosen and its text swapped in around what the reader is
// using — the open report form (which relabels itself, lib/i18n.js, and
// keeps what was typed), the map, the buttons' listeners — so a half-filled
// report survives the switch (issue 11). MapLibre (lib/map.js) is imported
// only on a page with a map, after the text is up, so the not-found page
// never loads it.
import { $ } from "./lib/dom.js";
import { getJSON } from "./lib/api.js";
import { setLang, lang, onLangChange } from "./lib/i18n.js";
import "./lib/mapstate.js";
import "./css/base.css";
import "./css/page.css";
import { residentDraftKey, queuedDraft } from "./lib/drafts.js";

const langButton = $("#lang");
if (langButton) {
  onLangChange(switchInPlace);
  langButton.addEventListener("click", () => setLang(document.documentElement.lang === "en" ? "zh-CN" : "en"));
}

// Elements kept as they are when the page's text is swapped: their text or
// labels are taken from the new page, their state and listeners stay.
const kept = { lang: "text", "report-open": "text", report: "none", map: "aria-label" };
const keptSelector = Object.keys(kept).map((id) => "#" + id).join(", ");

/**
 * swapText makes cur read like next (the same element of the page in the
 * other language): an element without a kept one inside is replaced, one
 * with a kept one inside is walked child by child. false: the two pages do
 * not have the same shape (the data changed meanwhile).
 */
function swapText(cur, next) {
  if (cur.tagName !== next.tagName) return false;
  const how = kept[cur.id];
  if (how === "text") cur.textContent = next.textContent;
  if (how === "aria-label") cur.setAttribute("aria-label", next.getAttribute("aria-label") || "");
  if (how) return true;
  if (cur.tagName === "SCRIPT") return true;
  if (!cur.querySelector(keptSelector)) {
    cur.replaceWith(document.importNode(next, true));
    return true;
  }
  const a = [...cur.children];
  const b = [...next.children];
  if (a.length !== b.length) return false;
  for (const attr of ["aria-label", "title"]) if (next.hasAttribute(attr)) cur.setAttribute(attr, next.getAttribute(attr));
  return a.every((el, i) => swapText(el, b[i]));
}

/** switchInPlace shows the page in language l without reloading it (a reload would lose a half-filled report). */
async function switchInPlace(l) {
  const url = new URL(location.href);
  if (url.searchParams.has("lang")) {
    url.searchParams.set("lang", l); // the URL's language wins over the cookie's: keep it in step
    history.replaceState(history.state, "", url);
  }
  let next;
  try {
    const res = await fetch(url, { credentials: "same-origin", headers: { Accept: "text/html" } });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    next = new DOMParser().parseFromString(await res.text(), "text/html");
  } catch {
    // Offline: the open form has relabelled itself; the rest of the page
    // follows when it is loaded again. Without a form, load it now.
    if (!formOpen()) location.reload();
    return;
  }
  document.title = next.title;
  document.documentElement.lang = next.documentElement.lang || l;
  if (!swapText(document.body, next.body) && !formOpen()) location.reload();
  document.body.dataset.lang = l;
}

const formOpen = () => !!$("#report-form");
// The server decided the language; keep the client's choice in step with it.
if (document.documentElement.lang !== lang()) {
  try {
    localStorage.setItem("gridmap.lang", document.documentElement.lang);
  } catch {
    /* storage disabled */
  }
}

// 我要报事 on the building page (/b/{code}; ?report=1 from the poster opens it
// at once, and so does a report of this building queued offline, which then
// goes by itself): the form's code is loaded when it is wanted.
const reportButton = $("#report-open");
function openReport() {
  const d = reportButton.dataset;
  reportButton.hidden = true;
  import("./report.js").then((m) => m.openReport($("#report"), { lon: d.lon, lat: d.lat, address: d.address, building: d.building },
    { draftKey: residentDraftKey(d.building), onClose: () => (reportButton.hidden = false) }));
}
if (reportButton) {
  reportButton.addEventListener("click", openReport);
  if (new URLSearchParams(location.search).get("report") === "1" || queuedDraft(residentDraftKey(reportButton.dataset.building))) openReport();
}

const el = $("#map");
if (el && el.dataset.grid) {
  performance.mark("gridmap:map");
  const [{ createMap, fitTo }, fc] = await Promise.all([
    import("./lib/map.js"),
    getJSON(`/api/v1/areas/${encodeURIComponent(el.dataset.grid)}.geojson`),
  ]);
  const map = await createMap(el, { tiles: true });
  map.setGeoJSON("grid", fc);
  map.addLayer({ id: "grid-fill", type: "fill", source: "grid", paint: { "fill-color": "#c8102e", "fill-opacity": 0.1 } });
  map.addLayer({ id: "grid-line", type: "line", source: "grid", paint: { "line-color": "#c8102e", "line-width": 3 } });
  if (el.dataset.lon) {
    const pt = { type: "Point", coordinates: [Number(el.dataset.lon), Number(el.dataset.lat)] };
    map.setGeoJSON("building", pt);
    map.addLayer({
      id: "building", type: "circle", source: "building",
      paint: { "circle-radius": 8, "circle-color": "#c8102e", "circle-stroke-color": "#fff", "circle-stroke-width": 2 },
    });
  }
  fitTo(map, fc, 24);
}
