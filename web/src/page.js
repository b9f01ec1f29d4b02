// Building and grid pages (/b/{code}, /g/{code}) and the not-found page: the
// server renders the text; this draws the grid on the map with the building
// marked, and switches the language (the server renders the chosen one from a
// cookie). MapLibre (lib/map.js) is imported only on a page with a map, after
// the text is up, so the not-found page never loads it.
import { $ } from "./lib/dom.js";
import { getJSON } from "./lib/api.js";
import { setLang, lang, onLangChange } from "./lib/i18n.js";
import "./lib/mapstate.js";
import "./css/base.css";
import "./css/page.css";

const langButton = $("#lang");
if (langButton) {
  onLangChange(() => location.reload());
  langButton.addEventListener("click", () => setLang(document.documentElement.lang === "en" ? "zh-CN" : "en"));
}
// The server decided the language; keep the client's choice in step with it.
if (document.documentElement.lang !== lang()) {
  try {
    localStorage.setItem("gridmap.lang", document.documentElement.lang);
  } catch {
    /* storage disabled */
  }
}

// 我要报事 on the building page (/b/{code}; ?report=1 from the poster opens it
// at once): the form's code is loaded when it is wanted.
const reportButton = $("#report-open");
function openReport() {
  const d = reportButton.dataset;
  reportButton.hidden = true;
  import("./report.js").then((m) => m.openReport($("#report"), { lon: d.lon, lat: d.lat, address: d.address, building: d.building },
    { onClose: () => (reportButton.hidden = false) }));
}
if (reportButton) {
  reportButton.addEventListener("click", openReport);
  if (new URLSearchParams(location.search).get("report") === "1") openReport();
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
