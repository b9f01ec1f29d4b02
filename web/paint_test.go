package web_test

import (
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/chromedp"
)

// TestResidentPageServerRendered: the resident page's text, favicon and
// preview come from the server, before any script: the label, placeholder
// and buttons are in the HTML, the assets are hashed names, and a shared
// link's og:title names its grid (also on the building and grid pages).
func TestResidentPageServerRendered(t *testing.T) {
	needSite(t)
	res, body := get(t, "/")
	if res.StatusCode != 200 || res.Header.Get("Vary") != "Cookie" {
		t.Fatalf("GET /: %d, Vary %q", res.StatusCode, res.Header.Get("Vary"))
	}
	for _, want := range []string{"输入地址，查询所属网格和网格员", `placeholder="例如：人民街11号3栋"`, ">使用我的位置<", `rel="icon"`,
		`<meta property="og:title" content="我的网格">`} {
		if !strings.Contains(body, want) {
			t.Errorf("GET / lacks %s", want)
		}
	}
	if !regexp.MustCompile(`<script type="module" src="/assets/resident-[A-Z0-9]{8}\.js">`).MatchString(body) {
		t.Errorf("GET / does not load a hashed resident-HASH.js")
	}
	if _, en := get(t, "/?lang=en"); !strings.Contains(en, ">Use my location<") {
		t.Error("GET /?lang=en is not in English")
	}
	_, shared := get(t, "/?address="+url.QueryEscape("人民街11号3栋"))
	if !strings.Contains(shared, `<meta property="og:title" content="幸福社区第04网格 · 我的网格">`) || !strings.Contains(shared, `value="人民街11号3栋"`) {
		t.Errorf("shared link: no og:title with the grid or no address in the box:\n%s", shared)
	}
	if _, b := get(t, "/b/"+buildingCode(t, "人民街11号3栋")); !strings.Contains(b, `<meta property="og:title" content="人民街11号3栋 · 幸福社区第04网格">`) {
		t.Error("building page: no og:title with its address and grid")
	}
	if _, nowhere := get(t, "/?lon=116.39&lat=39.9"); !strings.Contains(nowhere, `<meta property="og:title" content="我的网格">`) {
		t.Error("a point outside: want the general preview")
	}
}

// TestResidentShareAndMapInView on a phone: a shared link shows the card and
// the grid on the map with both in view; share hands the link to the Web
// Share API where the browser has one, and copies it otherwise. The home map
// opens on the covered area (the tiles' bounds fill most of it).
func TestResidentShareAndMapInView(t *testing.T) {
	ctx := tab(t, 420, 860)
	c := chromedp.FromContext(ctx)
	for _, p := range []string{"clipboard-read", "clipboard-write"} {
		if _, err := cdp.Call(ctx, c.Browser, browser.SetPermission, browser.SetPermissionParams{
			Permission: &browser.PermissionDescriptor{Name: p}, Setting: browser.PermissionSettingGranted,
			Origin: theSite.URL, BrowserContextID: c.BrowserContextID,
		}); err != nil {
			t.Fatalf("granting %s: %v", p, err)
		}
	}

	do(t, ctx, "opening /", chromedp.Navigate(theSite.URL+"/"))
	waitMapIdle(t, ctx)
	fill := eval[map[string]float64](t, ctx, `(() => {
		const m = window.__gridmap.map, s = m.getSource("gridmap"), b = s.bounds, r = m.getContainer().getBoundingClientRect();
		const sw = m.project([b[0], b[1]]), ne = m.project([b[2], b[3]]);
		return { w: (ne.x - sw.x) / r.width, h: (sw.y - ne.y) / r.height, left: sw.x, top: ne.y, right: r.width - ne.x, bottom: r.height - sw.y };
	})()`)
	if fill["w"] < 0.6 && fill["h"] < 0.6 || fill["left"] < -1 || fill["top"] < -1 || fill["right"] < -1 || fill["bottom"] < -1 {
		t.Errorf("home map: the covered area fills %.0f%% × %.0f%% of the map (margins %v), want it whole and ≥ 60%% one way", 100*fill["w"], 100*fill["h"], fill)
	}

	do(t, ctx, "opening a shared link", chromedp.Navigate(theSite.URL+"/?address="+url.QueryEscape("人民街11号3栋")))
	waitFor(t, ctx, "the result", `document.querySelector("#result").dataset.state === "found"`)
	waitMapIdle(t, ctx)
	inView := eval[map[string]bool](t, ctx, `(() => {
		const v = (el) => { const r = el.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight && r.height > 0; };
		const m = window.__gridmap.map, g = m.getSource("grid")._data, b = document.querySelector("#result .person.lead");
		const pt = m.project(m.toDisplay({ type: "Point", coordinates: [120.1219264, 30.2969465] }).coordinates), r = m.getContainer().getBoundingClientRect();
		return { name: v(document.querySelector("#grid-name")), map: v(m.getContainer()), lead: !!b, place: pt.x >= 0 && pt.y >= 0 && pt.x <= r.width && pt.y <= r.height };
	})()`)
	if !inView["name"] || !inView["map"] || !inView["lead"] || !inView["place"] {
		t.Errorf("on a phone the grid's name, the map and the place on it should be in view together: %v", inView)
	}
	shot(t, ctx, "resident-mobile-result")
	// Scrolled to the last card, the map is still in view.
	eval[bool](t, ctx, `(() => { document.querySelector("#share").scrollIntoView({ block: "center" }); return true; })()`)
	if !eval[bool](t, ctx, `(() => { const r = document.querySelector("#map").getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight + 1; })()`) {
		t.Error("scrolled down to the share button, the map left the screen")
	}

	// Web Share API (stubbed: headless Chromium on Linux has none).
	eval[bool](t, ctx, `(() => { navigator.share = (d) => { window.__sharedWith = d; return Promise.resolve(); }; document.querySelector("#share").click(); return true; })()`)
	waitFor(t, ctx, "the share sheet to get the link", `window.__sharedWith`)
	if got := eval[map[string]string](t, ctx, `window.__sharedWith`); got["url"] != eval[string](t, ctx, `location.href`) || !strings.Contains(got["title"], "幸福社区第04网格") {
		t.Errorf("shared %v", got)
	}
	// Without it, the link is copied.
	eval[bool](t, ctx, `(() => { navigator.share = undefined; document.querySelector("#share").click(); return true; })()`)
	waitFor(t, ctx, "the copy to be confirmed", `document.querySelector("#share-status").textContent.length > 0`)
	if got := eval[string](t, ctx, `document.querySelector("#share-status").textContent`); got != "链接已复制，可粘贴到微信等聊天中。" {
		t.Errorf("share status %q", got)
	}
	if got, want := eval[string](t, ctx, `navigator.clipboard.readText()`), eval[string](t, ctx, `location.href`); got != want {
		t.Errorf("clipboard %q, want %q", got, want)
	}
}

// TestNotFoundPageWeight: a 404 page and everything its HTML loads (styles,
// scripts, their preloaded chunks, the favicon), fetched as Chromium asks
// (Accept-Encoding: gzip, deflate, br, zstd), is at most 30 KB on the wire
// (bodies; TestFirstLoad counts headers too). Each asset comes compressed.
func TestNotFoundPageWeight(t *testing.T) {
	needSite(t)
	fetch := func(path string) (*http.Response, []byte) {
		t.Helper()
		req, _ := http.NewRequest("GET", theSite.URL+path, nil)
		req.Header.Set("Accept-Encoding", "gzip, deflate, br, zstd") // set by hand: Go's client does not decode then
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res, b
	}
	res, html := fetch("/b/NO-SUCH-BUILDING")
	if res.StatusCode != http.StatusNotFound {
		t.Fatalf("status %d, want 404", res.StatusCode)
	}
	total := len(html)
	refs := regexp.MustCompile(`(?:href|src)="(/assets/[^"]+)"`).FindAllStringSubmatch(string(html), -1)
	if len(refs) < 3 {
		t.Fatalf("the page loads %d assets, want its CSS, favicon and script at least:\n%s", len(refs), html)
	}
	for _, m := range refs {
		r, b := fetch(m[1])
		total += len(b)
		if len(b) >= 512 && r.Header.Get("Content-Encoding") != "br" {
			t.Errorf("%s: %d bytes with Content-Encoding %q, want br", m[1], len(b), r.Header.Get("Content-Encoding"))
		}
		if strings.Contains(m[1], "chunk-") && len(b) > 20000 {
			t.Errorf("%s: %d bytes: is MapLibre loaded by the 404 page?", m[1], len(b))
		}
	}
	t.Logf("404 page: %d bytes of HTML, %d in all with %d assets", len(html), total, len(refs))
	if total > 30000 {
		t.Errorf("404 page: %d bytes, want ≤ 30 KB", total)
	}
}
