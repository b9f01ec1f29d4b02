package web_test

import (
	"context"
	"math"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"gridmap/web"
)

// TestResidentLookup: search a demo address with suggestions → the grid and
// its leader appear and the grid is drawn; the result's URL reproduces it;
// an unknown address and a point outside the area say so.
func TestResidentLookup(t *testing.T) {
	t.Logf("browser: %s", chromiumVersion())
	ctx := tab(t, 420, 860) // a phone
	do(t, ctx, "opening /", chromedp.Navigate(theSite.URL+"/"))
	waitMapIdle(t, ctx)
	waitFor(t, ctx, "the page in Chinese", `document.querySelector("#search button").textContent === "查询"`)

	// Typing shows suggestions; choosing one searches it.
	do(t, ctx, "typing an address", chromedp.SendKeys(chromedp.CSS("#address"), "人民街11号"))
	waitFor(t, ctx, "suggestions", `document.querySelectorAll("#suggestions li").length > 0 && !document.querySelector("#suggestions").hidden`)
	shot(t, ctx, "resident-1-suggestions")
	want := "人民街11号3栋"
	do(t, ctx, "choosing a suggestion", chromedp.Click(chromedp.CSS(`#suggestions li[data-address="`+want+`"]`)))
	waitFor(t, ctx, "the result", `document.querySelector("#result").dataset.state === "found" && !!document.querySelector("#grid-name")`)
	waitMapIdle(t, ctx)
	shot(t, ctx, "resident-2-result")

	grid := eval[string](t, ctx, `document.querySelector("#grid-name").firstChild.textContent`)
	if grid != "幸福社区第04网格" {
		t.Errorf("grid shown: got %q, want 幸福社区第04网格", grid)
	}
	chain := eval[string](t, ctx, `document.querySelector(".chain").textContent`)
	if chain != "幸福街道 › 幸福社区 › 幸福社区第04网格" {
		t.Errorf("chain: got %q", chain)
	}
	leader := eval[map[string]string](t, ctx, `(() => {
		const c = document.querySelector(".person.lead");
		return c ? {name: c.querySelector(".name").textContent, tel: c.querySelector("a.phone").getAttribute("href"),
			photo: c.querySelector("img").getAttribute("src"), loaded: String(c.querySelector("img").complete && c.querySelector("img").naturalWidth > 0),
			duties: c.querySelector(".duties").textContent} : {};
	})()`)
	if leader["name"] == "" || !strings.HasPrefix(leader["tel"], "tel:140") || !strings.HasPrefix(leader["photo"], "/api/v1/photos/") || leader["duties"] == "" {
		t.Errorf("grid leader card: got %v; want a name, a tel:140… link, a photo and duties", leader)
	}
	if leader["loaded"] != "true" {
		t.Errorf("the leader's photo did not load")
	}
	// The grid is on the map: its source holds the grid's polygon.
	n := eval[int](t, ctx, `window.__gridmap.map.querySourceFeatures("grid").length`)
	if n == 0 {
		t.Errorf("the grid's outline is not on the map")
	}
	shared := eval[string](t, ctx, `location.href`)
	u, _ := url.Parse(shared)
	if u.Query().Get("address") != want {
		t.Fatalf("result URL %s does not hold the address", shared)
	}

	// The shared URL reproduces the result in a fresh browser.
	ctx2 := tab(t, 1280, 800)
	do(t, ctx2, "opening the shared URL", chromedp.Navigate(shared))
	waitFor(t, ctx2, "the result", `document.querySelector("#result").dataset.state === "found"`)
	waitMapIdle(t, ctx2)
	if got := eval[string](t, ctx2, `document.querySelector("#grid-name").firstChild.textContent`); got != grid {
		t.Errorf("shared URL shows grid %q, want %q", got, grid)
	}
	shot(t, ctx2, "resident-3-shared-url-desktop")

	// An unknown address says so.
	eval[bool](t, ctx, `(document.querySelector("#address").value = "", true)`)
	do(t, ctx, "searching an unknown address", chromedp.SendKeys(chromedp.CSS("#address"), "不存在路9999号\n"))
	waitFor(t, ctx, "the not-found message", `document.querySelector("#result").dataset.state === "not-found"`)
	msg := eval[string](t, ctx, `document.querySelector("#not-found").textContent`)
	if !strings.Contains(msg, "未找到地址") || !strings.Contains(msg, "不存在路9999号") {
		t.Errorf("not-found message: got %q", msg)
	}
	shot(t, ctx, "resident-4-not-found")

	// A point outside every area says so.
	do(t, ctx, "opening a point outside", chromedp.Navigate(theSite.URL+"/?lon=116.39&lat=39.9"))
	waitFor(t, ctx, "the outside message", `document.querySelector("#result").dataset.state === "outside"`)
	if msg := eval[string](t, ctx, `document.querySelector("#outside").textContent`); !strings.Contains(msg, "不在本系统覆盖的区域内") {
		t.Errorf("outside message: got %q", msg)
	}

	// English is selectable and remembered.
	do(t, ctx, "switching to English", chromedp.Click(chromedp.CSS("#lang")))
	waitFor(t, ctx, "English", `document.querySelector("#outside") && document.querySelector("#outside").textContent.includes("outside the area")`)
	do(t, ctx, "reloading", chromedp.Navigate(theSite.URL+"/"))
	waitFor(t, ctx, "English after reload", `document.querySelector("#search button").textContent === "Search"`)
}

// TestResidentGCJ02: on a GCJ-02 basemap (AMap, Tencent) the result is drawn
// shifted to GCJ-02, and a tap on the map is shifted back to WGS84 before
// the lookup: tapping the drawn building finds its grid and its WGS84 point.
func TestResidentGCJ02(t *testing.T) {
	needSite(t)
	// The basemap's tiles answer 404 here; MapLibre draws the rest without them.
	base := serverWith(t, web.Config{Attribution: "© OpenStreetMap contributors",
		Basemap: &web.Basemap{URL: theSite.URL + "/no-basemap/{z}/{x}/{y}.png", CRS: "gcj02", Attribution: "© 测试底图"}})
	ctx := tab(t, 1000, 800)
	do(t, ctx, "opening / on a GCJ-02 basemap", chromedp.Navigate(base+"/?address="+url.QueryEscape("人民街11号3栋")))
	waitFor(t, ctx, "the result", `document.querySelector("#result").dataset.state === "found"`)
	waitMapIdle(t, ctx)
	// The building: WGS84 from the API, and where the map draws it.
	b := eval[map[string]float64](t, ctx, `(async () => {
		const r = await (await fetch("/api/v1/lookup?address=" + encodeURIComponent("人民街11号3栋"))).json();
		const f = window.__gridmap.map.querySourceFeatures("place")[0];
		return {lon: r.candidates[0].building.lon, lat: r.candidates[0].building.lat, dlon: f.geometry.coordinates[0], dlat: f.geometry.coordinates[1]};
	})()`)
	// Near Hangzhou GCJ-02 is about 0.0047° east and 0.0025° south of WGS84.
	if dx, dy := b["dlon"]-b["lon"], b["dlat"]-b["lat"]; dx < 0.003 || dx > 0.006 || dy > -0.001 || dy < -0.004 {
		t.Errorf("the building is drawn %.5f°, %.5f° from its WGS84 point; want the GCJ-02 offset (≈ +0.0047, −0.0025)", dx, dy)
	}
	shot(t, ctx, "resident-5-gcj02")
	if a := eval[string](t, ctx, `document.querySelector(".maplibregl-ctrl-attrib").textContent`); !strings.Contains(a, "OpenStreetMap") || !strings.Contains(a, "测试底图") {
		t.Errorf("attribution on the GCJ-02 map: got %q", a)
	}
	// Tap exactly where the building is drawn.
	p := eval[point](t, ctx, `(() => { const m = window.__gridmap.map, r = m.getContainer().getBoundingClientRect();
		const f = m.querySourceFeatures("place")[0]; const q = m.project(f.geometry.coordinates); return {X: r.left + q.x, Y: r.top + q.y}; })()`)
	before := eval[string](t, ctx, `location.search`)
	do(t, ctx, "tapping the drawn building", chromedp.MouseClickXY(p.X, p.Y))
	waitFor(t, ctx, "the lookup of the tapped point", `location.search !== `+strconv.Quote(before)+` && document.querySelector("#result").dataset.state === "found"`)
	q, _ := url.ParseQuery(strings.TrimPrefix(eval[string](t, ctx, `location.search`), "?"))
	lon, _ := strconv.ParseFloat(q.Get("lon"), 64)
	lat, _ := strconv.ParseFloat(q.Get("lat"), 64)
	// A pixel at this zoom is well under a metre; allow 2e-5° (≈ 2 m).
	if math.Abs(lon-b["lon"]) > 2e-5 || math.Abs(lat-b["lat"]) > 2e-5 {
		t.Errorf("tap looked up %.7f, %.7f; want the building's WGS84 point %.7f, %.7f", lon, lat, b["lon"], b["lat"])
	}
	if got := eval[string](t, ctx, `document.querySelector("#grid-name").firstChild.textContent`); got != "幸福社区第04网格" {
		t.Errorf("tapped grid: got %q", got)
	}
}

// TestResidentLocate: "use my location" with the device at a demo building
// (geolocation granted and overridden through the DevTools protocol) finds
// its grid and puts the WGS84 point in the URL.
func TestResidentLocate(t *testing.T) {
	ctx := tab(t, 420, 860)
	c := chromedp.FromContext(ctx)
	lon, lat := 120.1219264, 30.2969465 // 人民街11号3栋
	if _, err := cdp.Call(ctx, c.Browser, browser.SetPermission, browser.SetPermissionParams{
		Permission: &browser.PermissionDescriptor{Name: "geolocation"}, Setting: browser.PermissionSettingGranted,
		Origin: theSite.URL, BrowserContextID: c.BrowserContextID,
	}); err != nil {
		t.Fatalf("granting geolocation: %v", err)
	}
	do(t, ctx, "opening /", chromedp.Navigate(theSite.URL+"/"))
	do(t, ctx, "placing the device", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetGeolocationOverride, emulation.SetGeolocationOverrideParams{
			Latitude: &lat, Longitude: &lon, Accuracy: new(10.0)})
		return err
	}))
	waitMapIdle(t, ctx)
	do(t, ctx, "using my location", chromedp.Click(chromedp.CSS("#locate")))
	waitFor(t, ctx, "the result", `document.querySelector("#result").dataset.state === "found"`)
	if got := eval[string](t, ctx, `document.querySelector("#grid-name").firstChild.textContent`); got != "幸福社区第04网格" {
		t.Errorf("grid at the device's location: got %q", got)
	}
	q, _ := url.ParseQuery(strings.TrimPrefix(eval[string](t, ctx, `location.search`), "?"))
	if q.Get("lon") != "120.1219264" || q.Get("lat") != "30.2969465" {
		t.Errorf("URL after locating: got lon=%s lat=%s", q.Get("lon"), q.Get("lat"))
	}
}

// TestResidentSuggestionsARIA: the address suggestions are a combobox with a
// listbox screen readers can follow: aria-expanded, options with ids, the
// chosen one as aria-activedescendant and aria-selected, and their number in
// a live region.
func TestResidentSuggestionsARIA(t *testing.T) {
	ctx := tab(t, 420, 860)
	do(t, ctx, "opening the resident page", chromedp.Navigate(theSite.URL+"/"))
	do(t, ctx, "typing an address", chromedp.SendKeys(chromedp.CSS("#address"), "人民街11号"))
	waitFor(t, ctx, "suggestions", `document.querySelectorAll("#suggestions li").length > 0 && !document.querySelector("#suggestions").hidden`)
	got := eval[map[string]string](t, ctx, `(() => { const i = document.querySelector("#address"), l = document.querySelector("#suggestions");
		const ids = [...l.querySelectorAll("li")].map(o => o.getAttribute("role") === "option" && o.id ? o.id : "");
		return {role: i.getAttribute("role"), controls: i.getAttribute("aria-controls"), expanded: i.getAttribute("aria-expanded"),
			listRole: l.getAttribute("role"), listId: l.id, listLabel: l.getAttribute("aria-label") || "",
			ids: ids.join(" "), unique: String(new Set(ids).size === ids.length && !ids.includes("")),
			active: i.getAttribute("aria-activedescendant") || "", status: document.querySelector("#suggest-status").textContent,
			live: document.querySelector("#suggest-status").getAttribute("aria-live") || ""}; })()`)
	if got["role"] != "combobox" || got["controls"] != got["listId"] || got["expanded"] != "true" || got["listRole"] != "listbox" || got["listLabel"] == "" {
		t.Errorf("combobox and listbox: got %v", got)
	}
	if got["unique"] != "true" || got["active"] != "" {
		t.Errorf("options need unique ids and none active before the arrow keys: got %v", got)
	}
	if got["live"] != "polite" || !strings.Contains(got["status"], "条地址建议") {
		t.Errorf("the number of suggestions is not announced: got %v", got)
	}
	do(t, ctx, "arrow down", chromedp.KeyEvent(kb.ArrowDown))
	sel := eval[map[string]string](t, ctx, `(() => { const i = document.querySelector("#address"), a = i.getAttribute("aria-activedescendant") || "";
		const o = a && document.getElementById(a);
		return {active: a, selected: o ? o.getAttribute("aria-selected") : "", first: document.querySelector("#suggestions li").id,
			others: String([...document.querySelectorAll("#suggestions li[aria-selected=true]")].length)}; })()`)
	if sel["active"] == "" || sel["active"] != sel["first"] || sel["selected"] != "true" || sel["others"] != "1" {
		t.Errorf("after ArrowDown: got %v, want the first option active and the only one selected", sel)
	}
	do(t, ctx, "escape", chromedp.KeyEvent(kb.Escape))
	closed := eval[map[string]string](t, ctx, `({expanded: document.querySelector("#address").getAttribute("aria-expanded"), active: document.querySelector("#address").getAttribute("aria-activedescendant") || ""})`)
	if closed["expanded"] != "false" || closed["active"] != "" {
		t.Errorf("after Escape: got %v", closed)
	}
}
