package web_test

import (
	"bytes"
	"image"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/chromedp/chromedp"

	"gridmap/web"
)

// TestBasemapBlockedByCSP: a raster basemap on another origin
// (GRIDMAP_BASEMAP_URL) still loads with the pages' Content-Security-Policy
// on. tab fails the test on any CSP violation the browser reports; here the
// basemap's server must also have been asked for tiles (a blocked request
// never reaches it).
func TestBasemapBlockedByCSP(t *testing.T) {
	needSite(t)
	var buf bytes.Buffer
	img := image.NewRGBA(image.Rect(0, 0, 256, 256))
	for i := range img.Pix {
		img.Pix[i] = []uint8{0x9c, 0xc8, 0xe8, 0xff}[i%4]
	}
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	var served atomic.Int64
	tilesrv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Header().Set("Content-Type", "image/png")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Write(buf.Bytes())
	}))
	defer tilesrv.Close()
	cfg := web.Config{Attribution: "© OpenStreetMap contributors",
		Basemap: &web.Basemap{URL: tilesrv.URL + "/{z}/{x}/{y}.png", CRS: "wgs84", Attribution: "© 测试底图"}}
	base := serverWith(t, cfg)

	res, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "img-src 'self' data: blob: "+tilesrv.URL) {
		t.Fatalf("Content-Security-Policy %q lacks the basemap's origin %s", csp, tilesrv.URL)
	}
	ctx := tab(t, 1000, 800)
	do(t, ctx, "opening / on a raster basemap", chromedp.Navigate(base+"/?lon=120.13&lat=30.28"))
	waitMapIdle(t, ctx)
	if n := served.Load(); n == 0 {
		t.Errorf("the basemap's server got no request: the page did not load its tiles")
	}
	if n := eval[int](t, ctx, `window.__gridmap.map.getStyle().layers.filter((l) => l.id === "basemap").length`); n != 1 {
		t.Errorf("%d basemap layers, want 1", n)
	}
	shot(t, ctx, "csp-basemap")
}

// TestPagesWithoutCSP: the HTML pages, including the server-rendered ones,
// carry the Content-Security-Policy with frame-ancestors 'none'.
func TestPagesWithoutCSP(t *testing.T) {
	needSite(t)
	var grid, building string
	for _, a := range theSite.demo.Areas {
		if a.Level == "grid" {
			grid = a.Code
			break
		}
	}
	building = theSite.demo.Buildings[0].Code
	for _, p := range []string{"/", "/admin", "/admin/stats", "/g/" + grid, "/g/" + grid + "/poster", "/b/" + building, "/b/" + building + "/poster", "/b/NOSUCH"} {
		res, body := get(t, p)
		if !strings.Contains(res.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: %s, not a page: %.100s", p, res.Header.Get("Content-Type"), body)
			continue
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("%s: Content-Security-Policy %q", p, csp)
		}
		if strings.Contains(body, " style=") || strings.Contains(body, "<script>") {
			t.Errorf("%s has inline style or script, which the policy blocks", p)
		}
	}
}

// TestProductionBundleBrokenWithoutHooks: the bundle the binary ships (the
// tests otherwise run the test bundle) works without the test hooks: a
// resident's search finds the grid, and the editor signs in and shows the
// area tree; neither page has a window.__… hook.
func TestProductionBundleBrokenWithoutHooks(t *testing.T) {
	ensureAdmin(t)
	base := serverWith(t, web.Config{Attribution: "© OpenStreetMap contributors", Bundle: web.ProductionBundle()})
	ctx := tab(t, 1000, 800)
	do(t, ctx, "opening / (production bundle)", chromedp.Navigate(base+"/?address=人民街11号3栋"))
	waitFor(t, ctx, "the result", `document.querySelector("#result").dataset.state === "found" && !!document.querySelector("#grid-name")`)
	waitFor(t, ctx, "the map's canvas", `document.querySelector(".maplibregl-canvas")`)
	if got := eval[string](t, ctx, `document.querySelector("#grid-name").firstChild.textContent`); got != "幸福社区第04网格" {
		t.Errorf("grid shown: got %q, want 幸福社区第04网格", got)
	}
	if hooks := eval[[]string](t, ctx, `Object.keys(window).filter((k) => k.startsWith("__"))`); len(hooks) > 0 {
		t.Errorf("the production bundle exposes %v on window", hooks)
	}
	do(t, ctx, "opening /admin (production bundle)", chromedp.Navigate(base+"/admin"))
	waitFor(t, ctx, "the login form", `document.querySelector("#login input[name=name]")`)
	do(t, ctx, "signing in",
		chromedp.SendKeys(chromedp.CSS("#login input[name=name]"), adminName),
		chromedp.SendKeys(chromedp.CSS("#login input[name=password]"), adminPassword),
		chromedp.Click(chromedp.CSS("#login button[type=submit]")))
	waitFor(t, ctx, "the area tree down to the communities", `document.querySelector('#tree li[data-level=community]')`)
	if hooks := eval[[]string](t, ctx, `Object.keys(window).filter((k) => k.startsWith("__"))`); len(hooks) > 0 {
		t.Errorf("the production editor exposes %v on window", hooks)
	}
}
