// The map shared by every page: MapLibre with gridmap's vector tiles (when the
// server has them), an optional raster basemap from /config.json, and helpers
// to draw GeoJSON in the basemap's coordinate system. It works with no
// basemap at all (offline): a plain background and gridmap's own layers.
import { Map as MapLibre, AttributionControl, NavigationControl, setWorkerUrl } from "maplibre-gl";
import { getJSON } from "./api.js";
import { t, onLangChange } from "./i18n.js";
import { wgs84ToGcj02, gcj02ToWgs84, mapCoords } from "./gcj02.js";
import { mapState } from "./mapstate.js";

// The worker is a separate module next to the bundle, under a hashed name (see build.mjs).
setWorkerUrl(new URL(__WORKER_URL__, location.href).href);

// Labels are drawn with the browser's fonts (see baseStyle): CJK through this family.
const ideographFonts = "'Noto Sans CJK SC', 'WenQuanYi Zen Hei', 'PingFang SC', 'Microsoft YaHei', sans-serif";

// MapLibre's stylesheet is linked when the first map is made, not bundled
// into the pages' CSS (build.mjs): a page's text never waits for it.
let cssPromise;
function loadMapCSS() {
  cssPromise ??= new Promise((resolve) => {
    const link = Object.assign(document.createElement("link"), { rel: "stylesheet", href: __MAP_CSS_URL__ });
    link.addEventListener("load", resolve);
    link.addEventListener("error", resolve); // an unstyled map beats none
    document.head.append(link);
  });
  return cssPromise;
}

let configPromise;
/** loadConfig fetches /config.json once: basemap and attribution. */
export function loadConfig() {
  configPromise ??= getJSON("/config.json").catch(() => ({ basemap: null, attribution: "" }));
  return configPromise;
}

// MapLibre's own control labels, from the catalogue.
const uiKeys = ["AttributionControl.ToggleAttribution", "Map.Title", "Marker.Title", "NavigationControl.ResetBearing",
  "NavigationControl.ZoomIn", "NavigationControl.ZoomOut", "Popup.Close"];
const mapLocale = () => Object.fromEntries(uiKeys.map((k) => [k, t("maplibre." + k)]));

export { mapState };

async function baseStyle(config, withTiles) {
  const gcj = config.basemap?.crs === "gcj02";
  const style = {
    version: 8,
    sources: {},
    layers: [{ id: "background", type: "background", paint: { "background-color": "#f4f2ec" } }],
  };
  if (config.basemap?.url) {
    style.sources.basemap = {
      type: "raster",
      tiles: [config.basemap.url],
      tileSize: config.basemap.tile_size || 256,
      attribution: config.basemap.attribution || "",
      maxzoom: 18,
    };
    style.layers.push({ id: "basemap", type: "raster", source: "basemap" });
  }
  // gridmap's vector tiles are WGS84: on a GCJ-02 basemap they would sit
  // hundreds of metres off, so pages draw shifted GeoJSON there instead.
  if (withTiles && !gcj) {
    try {
      const tiles = await getJSON("/styles/default.json");
      Object.assign(style.sources, tiles.sources);
      // The style's glyphs URL is left out on purpose: gridmap serves empty glyph
      // ranges, and with a glyphs URL MapLibre drew only the CJK characters (from
      // local fonts) and dropped digits and Latin letters ("第网格" for "第04网格").
      // Without one, MapLibre 6 draws every label with the browser's fonts.
      for (const l of tiles.layers) if (l.type !== "background") style.layers.push(l);
      style.tilesCenter = tiles.center;
      style.tilesZoom = tiles.zoom;
    } catch {
      /* no tile server: GeoJSON overlays only */
    }
  }
  return style;
}

/**
 * createMap makes a map in container. opts.tiles adds gridmap's vector tile
 * layers; opts.center/zoom/bounds place it. The returned map has
 * map.toDisplay(geojson), map.fromDisplay([lon, lat]) and map.setGeoJSON(id, data).
 */
export async function createMap(container, opts = {}) {
  const [config] = await Promise.all([loadConfig(), loadMapCSS()]);
  const gcj = config.basemap?.crs === "gcj02";
  const style = await baseStyle(config, opts.tiles);
  const center = opts.center || style.tilesCenter || [120.12, 30.29];
  const zoom = opts.zoom ?? style.tilesZoom ?? 13;
  delete style.tilesCenter;
  delete style.tilesZoom;
  const map = new MapLibre({
    container,
    style,
    center: gcj ? wgs84ToGcj02(center) : center,
    zoom,
    localIdeographFontFamily: ideographFonts,
    locale: mapLocale(),
    attributionControl: false,
    // Screenshots and prints of the canvas need the drawing buffer kept.
    canvasContextAttributes: { preserveDrawingBuffer: true },
  });
  map.addControl(new AttributionControl({ compact: false, customAttribution: config.attribution || undefined }));
  map.addControl(new NavigationControl({ showCompass: false }));
  map.toDisplay = (geojson) => (gcj ? mapCoords(geojson, wgs84ToGcj02) : geojson);
  map.fromDisplay = (p) => (gcj ? gcj02ToWgs84(p) : p);
  map.gcj = gcj;
  map.setGeoJSON = (id, data) => {
    mapState.idle = false;
    const shown = map.toDisplay(data || { type: "FeatureCollection", features: [] });
    const src = map.getSource(id);
    if (src) src.setData(shown);
    // The data's attribution rides on its sources too: MapLibre updates the
    // attribution control from source metadata.
    else map.addSource(id, { type: "geojson", data: shown, attribution: config.attribution || undefined });
  };
  // MapLibre reads its locale once: follow a language switch.
  onLangChange(() => relabel(map));
  mapState.maps.push(map);
  mapState.map = map;
  map.on("idle", () => {
    mapState.idle = true;
    mapState.idleCount++;
  });
  for (const ev of ["movestart", "sourcedataloading", "styledataloading"]) map.on(ev, () => (mapState.idle = false));
  await new Promise((resolve) => (map.loaded() ? resolve() : map.once("load", resolve)));
  return map;
}

/** relabel gives the map's canvas and controls their names in the current language. */
function relabel(map) {
  map._locale = { ...map._locale, ...mapLocale() };
  const name = (el, key) => el && (el.setAttribute("aria-label", t("maplibre." + key)), el.hasAttribute("title") && el.setAttribute("title", t("maplibre." + key)));
  const c = map.getContainer();
  name(map.getCanvas(), "Map.Title");
  name(c.querySelector(".maplibregl-ctrl-zoom-in"), "NavigationControl.ZoomIn");
  name(c.querySelector(".maplibregl-ctrl-zoom-out"), "NavigationControl.ZoomOut");
  name(c.querySelector(".maplibregl-ctrl-compass"), "NavigationControl.ResetBearing");
  name(c.querySelector(".maplibregl-ctrl-attrib-button"), "AttributionControl.ToggleAttribution");
}

/** boundsOf returns [[minLon, minLat], [maxLon, maxLat]] of a GeoJSON object, or null. */
export function boundsOf(geojson) {
  let b = null;
  mapCoords(geojson, (p) => {
    if (!b) b = [[p[0], p[1]], [p[0], p[1]]];
    b[0][0] = Math.min(b[0][0], p[0]);
    b[0][1] = Math.min(b[0][1], p[1]);
    b[1][0] = Math.max(b[1][0], p[0]);
    b[1][1] = Math.max(b[1][1], p[1]);
    return p;
  });
  return b;
}

/** fitTo moves the map to show a WGS84 GeoJSON object. */
export function fitTo(map, geojson, padding = 40, maxZoom = 17) {
  const b = boundsOf(map.toDisplay(geojson));
  if (b) map.fitBounds(b, { padding, maxZoom, duration: 0 });
}

/**
 * fitCovered moves the map to the area gridmap's data covers: the bounds of
 * the vector tiles' TileJSON (WGS84, [west, south, east, north]). It reports
 * whether the map knew them (not on a GCJ-02 basemap, which has no tiles).
 */
export function fitCovered(map, padding = 16) {
  for (const id of Object.keys(map.getStyle().sources)) {
    const b = map.getSource(id)?.bounds;
    if (map.getSource(id)?.type !== "vector" || !Array.isArray(b) || b.length !== 4) continue;
    map.fitBounds([[b[0], b[1]], [b[2], b[3]]], { padding, duration: 0 });
    return true;
  }
  return false;
}
