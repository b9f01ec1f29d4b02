package web_test

import (
	"bytes"
	"context"
	"fmt"
	"image"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"gridmap/demo"
)

// maplibreDist holds the MapLibre GL JS that web/ bundles (package-lock.json
// pins it; npm ci in scripts/setup.sh installs it).
var maplibreDist = filepath.Join("node_modules", "maplibre-gl", "dist")

// mapHarnessPage is a bare page with one full-window MapLibre map on the style
// URL given as ?style=, taken as served. window.__tilemap.idle follows
// MapLibre's idle event as window.__gridmap.idle does on the app's pages;
// window.__tilemap.errors collects the map's error events.
const mapHarnessPage = `<!doctype html>
<meta charset="utf-8">
<link rel="stylesheet" href="/maplibre/maplibre-gl.css">
<style>html, body, #map { margin: 0; width: 100%; height: 100%; }</style>
<div id="map"></div>
<script type="module">
import { Map, setWorkerUrl } from "/maplibre/maplibre-gl.mjs";
setWorkerUrl(new URL("/maplibre/maplibre-gl-worker.mjs", location.href).href);
const state = window.__tilemap = { idle: false, errors: [] };
const map = new Map({
  container: "map",
  style: new URLSearchParams(location.search).get("style"),
  canvasContextAttributes: { preserveDrawingBuffer: true },
});
state.map = map;
map.on("idle", () => { state.idle = true; });
for (const ev of ["movestart", "sourcedataloading", "styledataloading"]) map.on(ev, () => { state.idle = false; });
map.on("error", (e) => state.errors.push(String((e.error && e.error.message) || e.error || e)));
</script>
`

// mapHarness serves mapHarnessPage and MapLibre's files from another origin
// than the test site, as a third-party map would load gridmap's style (the
// map routes allow any origin).
func mapHarness(t *testing.T) string {
	t.Helper()
	if _, err := os.Stat(filepath.Join(maplibreDist, "maplibre-gl.mjs")); err != nil {
		t.Fatalf("MapLibre is not installed in web/node_modules (make build runs npm ci): %v", err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, mapHarnessPage)
	})
	files := http.StripPrefix("/maplibre/", http.FileServer(http.Dir(maplibreDist)))
	mux.Handle("GET /maplibre/", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if filepath.Ext(r.URL.Path) == ".mjs" { // module scripts need a JavaScript type
			w.Header().Set("Content-Type", "text/javascript; charset=utf-8")
		}
		files.ServeHTTP(w, r)
	}))
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv.URL
}

// renderedArea is what the test reads of a feature from queryRenderedFeatures.
type renderedArea struct {
	Layer       string  `json:"layer"`
	SourceLayer string  `json:"sourceLayer"`
	ID          float64 `json:"id"`
	Code        string  `json:"code"`
	Name        string  `json:"name"`
	Level       string  `json:"level"`
}

// renderedAreasJS lists the rendered features of the style's layers on the
// areas source layer, in the whole viewport or under the pixel at (x, y).
func renderedAreasJS(at string) string {
	return `(() => {
		const m = window.__tilemap.map;
		const layers = m.getStyle().layers.filter((l) => l["source-layer"] === "areas").map((l) => l.id);
		return m.queryRenderedFeatures(` + at + `{ layers }).map((f) => ({ layer: f.layer.id, sourceLayer: f.sourceLayer,
			id: f.id, code: f.properties.code, name: f.properties.name, level: f.properties.level }));
	})()`
}

// TestDefaultStyleDrawsAreas: MapLibre (the version web/ bundles) on
// /styles/default.json exactly as served, in a page of another origin, draws
// the areas layer of the demo: queryRenderedFeatures finds the district at
// the style's own centre and zoom, every area it finds there is a demo area
// with its name and level, and at z15 the pixel at the centre of
// 幸福社区第04网格 (a community no test edits) holds that grid. Screenshots of
// both views go to artifacts/; inside the district's (then the grid's) box
// they must differ from the style's background.
func TestDefaultStyleDrawsAreas(t *testing.T) {
	needSite(t)
	harness := mapHarness(t)
	ctx := tab(t, 1024, 768)
	styleURL := theSite.URL + "/styles/default.json"
	do(t, ctx, "opening MapLibre on the default style", chromedp.Navigate(harness+"/?style="+url.QueryEscape(styleURL)))
	waitFor(t, ctx, "the map on the default style to be idle", `window.__tilemap && window.__tilemap.map && window.__tilemap.idle && window.__tilemap.map.loaded()`)

	if errs := eval[[]string](t, ctx, `window.__tilemap.errors`); len(errs) > 0 {
		t.Errorf("map errors: %q", errs)
	}
	if n := eval[int](t, ctx, `window.__tilemap.map.getStyle().layers.filter((l) => l["source-layer"] === "areas").length`); n == 0 {
		t.Fatalf("the default style has no layer on the areas source layer")
	}

	byCode := map[string]demo.Area{}
	var grid demo.Area
	for _, a := range theSite.demo.Areas {
		byCode[a.Code] = a
		if a.Code == "330199001001004" {
			grid = a
		}
	}
	if grid.Name != "幸福社区第04网格" {
		t.Fatalf("the demo has no 幸福社区第04网格 under 330199001001004 (got %q)", grid.Name)
	}

	// 1. The style's own view (its centre and zoom follow the data).
	overview := eval[[]renderedArea](t, ctx, renderedAreasJS(""))
	zoom := eval[float64](t, ctx, `window.__tilemap.map.getZoom()`)
	t.Logf("style view: zoom %.2f, %d rendered area features", zoom, len(overview))
	png := shot(t, ctx, "tiles-default-style-1-overview")
	bg := eval[string](t, ctx, `window.__tilemap.map.getStyle().layers.find((l) => l.type === "background").paint["background-color"]`)
	checkDrawn(t, png, projectedBox(t, ctx, byCode[demo.DistrictCode].Geometry.Bound()), bg, "the style's view")
	district := false
	for _, f := range overview {
		want, ok := byCode[f.Code]
		switch {
		case f.SourceLayer != "areas":
			t.Errorf("feature of layer %s comes from source layer %q, want areas", f.Layer, f.SourceLayer)
		case !ok:
			t.Errorf("rendered area %s (%s) is not in the demo", f.Code, f.Name)
		case f.Name != want.Name || f.Level != want.Level:
			t.Errorf("rendered area %s: got %s (%s), want %s (%s)", f.Code, f.Name, f.Level, want.Name, want.Level)
		case f.ID <= 0:
			t.Errorf("rendered area %s has feature id %v, want the area id", f.Code, f.ID)
		}
		district = district || f.Code == demo.DistrictCode
	}
	if !district {
		t.Errorf("the district %s (%s) is not among the %d rendered area features at zoom %.2f", demo.DistrictCode, demo.DistrictName, len(overview), zoom)
	}

	// 2. z15 over the grid: the pixel at its centre holds it.
	c, _ := planar.CentroidArea(grid.Geometry)
	if !planar.MultiPolygonContains(grid.Geometry, c) {
		t.Fatalf("the centroid %v of %s is outside it", c, grid.Name)
	}
	eval[bool](t, ctx, fmt.Sprintf(`(window.__tilemap.idle = false, window.__tilemap.map.jumpTo({ center: [%f, %f], zoom: 15 }), true)`, c[0], c[1]))
	waitFor(t, ctx, "the map at z15 to be idle", `window.__tilemap.idle && window.__tilemap.map.loaded()`)
	px := eval[struct{ X, Y float64 }](t, ctx, fmt.Sprintf(`(() => { const p = window.__tilemap.map.project([%f, %f]); return { X: p.x, Y: p.y }; })()`, c[0], c[1]))
	under := eval[[]renderedArea](t, ctx, renderedAreasJS(fmt.Sprintf("[%f, %f], ", px.X, px.Y)))
	png = shot(t, ctx, "tiles-default-style-2-z15-grid")
	checkDrawn(t, png, projectedBox(t, ctx, grid.Geometry.Bound()), bg, "z15")
	found := false
	for _, f := range under {
		if f.Code == grid.Code {
			found = true
			if f.Name != grid.Name || f.Level != demo.LevelGrid {
				t.Errorf("under the grid's centre: got %s (%s), want %s (%s)", f.Name, f.Level, grid.Name, demo.LevelGrid)
			}
		}
	}
	if !found {
		t.Errorf("queryRenderedFeatures at the centre of %s (%v, pixel %.0f,%.0f) found %v, not the grid", grid.Name, c, px.X, px.Y, under)
	}
}

// projectedBox is b (EPSG:4326) in the map's CSS pixels: minX, minY, maxX, maxY.
func projectedBox(t *testing.T, ctx context.Context, b orb.Bound) [4]float64 {
	t.Helper()
	return eval[[4]float64](t, ctx, fmt.Sprintf(`(() => {
		const m = window.__tilemap.map, nw = m.project([%f, %f]), se = m.project([%f, %f]);
		return [nw.x, nw.y, se.x, se.y];
	})()`, b.Min[0], b.Max[1], b.Max[0], b.Min[1]))
}

// checkDrawn fails when less than a fifth of the pixels of the screenshot
// inside box (CSS pixels: minX, minY, maxX, maxY, clipped to the image)
// differ from the style's background colour bg ("#rrggbb"): the map drew
// nothing there, or the GPU emulation left the canvas blank.
func checkDrawn(t *testing.T, png []byte, box [4]float64, bg, what string) {
	t.Helper()
	if png == nil {
		t.Errorf("%s: no screenshot", what)
		return
	}
	img, _, err := image.Decode(bytes.NewReader(png))
	if err != nil {
		t.Errorf("%s: decoding the screenshot: %v", what, err)
		return
	}
	var want [3]int
	if _, err := fmt.Sscanf(bg, "#%02x%02x%02x", &want[0], &want[1], &want[2]); err != nil {
		t.Fatalf("background colour %q: %v", bg, err)
	}
	b := img.Bounds()
	x0, y0 := max(int(box[0]), b.Min.X), max(int(box[1]), b.Min.Y)
	x1, y1 := min(int(box[2]), b.Max.X), min(int(box[3]), b.Max.Y)
	drawn, total := 0, 0
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			got := [3]int{int(r >> 8), int(g >> 8), int(bl >> 8)}
			total++
			for i := range got {
				if d := got[i] - want[i]; d > 2 || d < -2 {
					drawn++
					break
				}
			}
		}
	}
	if total == 0 || drawn*5 < total {
		t.Errorf("%s: %d of %d pixels in %v differ from the background %s: the areas were not drawn", what, drawn, total, box, bg)
	}
	t.Logf("%s: %d of %d pixels in the checked box differ from the background", what, drawn, total)
}
