package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/chromedp/chromedp"

	"gridmap/geo"
	"gridmap/tiles"
)

// checkPosterRoads: the open poster's map draws the roads (the demo's grid
// borders run on streets, its estates have paths), and a Chromium
// screenshot of the map shows pixels of the road style's colours (the
// major fill, the minor casing, the path colour).
func checkPosterRoads(t *testing.T, ctx context.Context) {
	t.Helper()
	if n := eval[int](t, ctx, `document.querySelectorAll(".poster-map .road").length`); n == 0 {
		t.Fatalf("the poster's map draws no roads")
	}
	png, err := chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(".poster-map")))
	if err != nil {
		t.Fatalf("screenshot of the poster map: %v", err)
	}
	writeArtifact(t, "building-2b-poster-map.png", png)
	img, _, err := image.Decode(bytes.NewReader(png))
	if err != nil {
		t.Fatal(err)
	}
	var want [][3]int
	for _, c := range []geo.RoadClass{geo.RoadMajor, geo.RoadMinor, geo.RoadPath} {
		colour, casing, _ := tiles.RoadLook(c)
		for _, hex := range []string{colour, casing} {
			var r, g, b int
			if _, err := fmt.Sscanf(hex, "#%02x%02x%02x", &r, &g, &b); err == nil && hex != "#ffffff" {
				want = append(want, [3]int{r, g, b})
			}
		}
	}
	road, all := 0, 0
	bd := img.Bounds()
	for y := bd.Min.Y; y < bd.Max.Y; y++ {
		for x := bd.Min.X; x < bd.Max.X; x++ {
			r, g, b, _ := img.At(x, y).RGBA()
			all++
			for _, w := range want {
				if abs(int(r>>8)-w[0]) <= 3 && abs(int(g>>8)-w[1]) <= 3 && abs(int(b>>8)-w[2]) <= 3 {
					road++
					break
				}
			}
		}
	}
	if road < all/200 {
		t.Errorf("the poster map's screenshot has %d road-coloured pixels of %d, want ≥ 0.5%%", road, all)
	}
	t.Logf("poster map: %d of %d pixels in road colours", road, all)
}

func abs(v int) int {
	if v < 0 {
		return -v
	}
	return v
}

// buildingCode finds a demo building's code by its address through the API.
func buildingCode(t *testing.T, address string) string {
	t.Helper()
	res, body := get(t, "/api/v1/lookup?address="+address)
	if res.StatusCode != http.StatusOK {
		t.Fatalf("lookup %s: %d %s", address, res.StatusCode, body)
	}
	var r struct {
		Candidates []struct {
			Building struct{ Code, Address string }
			Score    float64
		}
	}
	if err := json.Unmarshal([]byte(body), &r); err != nil || len(r.Candidates) == 0 || r.Candidates[0].Score != 1 {
		t.Fatalf("lookup %s: no exact match in %s", address, body)
	}
	return r.Candidates[0].Building.Code
}

var (
	pdfPage     = regexp.MustCompile(`/Type\s*/Page\b`)
	pdfMediaBox = regexp.MustCompile(`/MediaBox\s*\[\s*0\s+0\s+([0-9.]+)\s+([0-9.]+)\s*\]`)
)

// checkA4 asserts a PDF that Chromium printed has exactly one A4 page
// (595.28 × 841.89 pt; Chromium rounds to 594.96 × 841.92).
func checkA4(t *testing.T, name string, pdf []byte) {
	t.Helper()
	if n := len(pdfPage.FindAll(pdf, -1)); n != 1 {
		t.Errorf("%s: %d pages, want 1", name, n)
	}
	m := pdfMediaBox.FindSubmatch(pdf)
	if m == nil {
		t.Fatalf("%s: no MediaBox in the PDF", name)
	}
	w, _ := strconv.ParseFloat(string(m[1]), 64)
	h, _ := strconv.ParseFloat(string(m[2]), 64)
	if w < 594 || w > 596 || h < 841 || h > 843 {
		t.Errorf("%s: page is %.2f × %.2f pt, want A4 595 × 842", name, w, h)
	}
}

// TestBuildingPageAndPoster: the building page shows its grid, people and
// counts with the grid on the map; its poster prints to one A4 page and its
// QR code holds the building page's URL.
func TestBuildingPageAndPoster(t *testing.T) {
	code := buildingCode(t, "人民街11号3栋")
	ctx := tab(t, 1200, 900)
	do(t, ctx, "opening the building page", chromedp.Navigate(theSite.URL+"/b/"+code))
	waitFor(t, ctx, "the grid on the map", `window.__gridmap && window.__gridmap.map && window.__gridmap.map.getSource("grid")`)
	waitMapIdle(t, ctx)
	shot(t, ctx, "building-1-page")
	got := eval[map[string]string](t, ctx, `({
		grid: document.querySelector("#grid-name a").textContent,
		leader: document.querySelector(".person.lead .name")?.textContent || "",
		tel: document.querySelector(".person.lead a.phone")?.getAttribute("href") || "",
		households: document.querySelector("#grid-counts [data-count=households]").textContent,
		buildingHouseholds: document.querySelector("#building-counts [data-count=households]").textContent,
		title: document.title,
	})`)
	if got["grid"] != "幸福社区第04网格" || got["leader"] == "" || !strings.HasPrefix(got["tel"], "tel:") {
		t.Errorf("building page: got %v", got)
	}
	if n, _ := strconv.Atoi(got["households"]); n < 300 || n > 500 {
		t.Errorf("grid households on the building page: got %q, want the demo's 300–500", got["households"])
	}
	if got["buildingHouseholds"] == "" || got["buildingHouseholds"] == "0" {
		t.Errorf("building households: got %q", got["buildingHouseholds"])
	}
	if n := eval[int](t, ctx, `window.__gridmap.map.querySourceFeatures("grid").length`); n == 0 {
		t.Errorf("the grid is not drawn on the building page's map")
	}

	// The poster: one A4 page, the QR code holds the building page's URL.
	do(t, ctx, "opening the poster", chromedp.Click(chromedp.CSS("#poster-link")))
	waitFor(t, ctx, "the poster with its photo", `document.querySelector("#poster-leader img") && `+posterSettled)
	shot(t, ctx, "building-2-poster-screen")
	if n := eval[int](t, ctx, `document.querySelectorAll(".poster-map .grid").length`); n != 1 {
		t.Errorf("poster map: %d grid outlines, want 1", n)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll(".poster-map .marked").length`); n != 1 {
		t.Errorf("poster map: %d marked buildings, want 1", n)
	}
	// Nothing may be cut off at the bottom of the page: the footer ends inside the poster.
	fits := eval[bool](t, ctx, `(() => { const p = document.querySelector("#poster").getBoundingClientRect();
		const f = document.querySelector(".poster-foot").getBoundingClientRect(); return f.bottom <= p.bottom + 0.5; })()`)
	if !fits {
		t.Errorf("the poster's footer runs past the A4 page")
	}
	checkPosterLayout(t, ctx)
	qrPNG, err := chromedp.Run(ctx, chromedp.ScreenshotScale(chromedp.CSS("#qr svg"), 2))
	if err != nil {
		t.Fatalf("screenshot of the QR code: %v", err)
	}
	writeArtifact(t, "building-3-qr.png", qrPNG)
	checkPosterRoads(t, ctx)
	want := theSite.URL + "/b/" + code
	if got := decodeQR(t, qrPNG); got != want {
		t.Errorf("QR code: got %q, want %q", got, want)
	}
	pdf, err := chromedp.Run(ctx, chromedp.PrintToPDF(chromedp.PDFPreferCSSPageSize(), chromedp.PDFPrintBackground()))
	if err != nil {
		t.Fatalf("printing the poster: %v", err)
	}
	writeArtifact(t, "building-4-poster.pdf", pdf)
	checkA4(t, "building poster", pdf)
	if !bytes.HasPrefix(pdf, []byte("%PDF-")) {
		t.Errorf("the print is not a PDF")
	}
}

// posterSettled holds once the poster page is done: loaded with its styles,
// fonts and images, and the QR code's box the same in two polls running one
// frame apart (a screenshot of a box still moving cuts the code: gozxing then
// finds finder patterns but no version).
const posterSettled = `(() => {
	const svg = document.querySelector("#qr svg");
	if (!svg || document.readyState !== "complete" || document.fonts.status !== "loaded" || ![...document.images].every((i) => i.complete)) return false;
	const r = svg.getBoundingClientRect(), box = [r.x, r.y, r.width, r.height].join();
	const same = window.__qrBox === box;
	window.__qrBox = box;
	return same && r.width > 0;
})()`

// TestGridPageAndPoster: the same for a grid, in English too.
func TestGridPageAndPoster(t *testing.T) {
	const grid = "330199001001004"
	ctx := tab(t, 1200, 900)
	do(t, ctx, "opening the grid page", chromedp.Navigate(theSite.URL+"/g/"+grid))
	waitFor(t, ctx, "the grid on the map", `window.__gridmap && window.__gridmap.map && window.__gridmap.map.getSource("grid")`)
	waitMapIdle(t, ctx)
	shot(t, ctx, "grid-1-page")
	if n := eval[int](t, ctx, `document.querySelectorAll(".buildings li").length`); n == 0 {
		t.Errorf("the grid page lists no buildings")
	}
	// English, chosen on the page, is rendered by the server on the next page too.
	do(t, ctx, "switching to English", chromedp.Click(chromedp.CSS("#lang")))
	waitFor(t, ctx, "the English page", `document.documentElement.lang === "en" && document.querySelector("#poster-link").textContent === "Print the notice board"`)
	do(t, ctx, "opening the poster", chromedp.Click(chromedp.CSS("#poster-link")))
	waitFor(t, ctx, "the English poster", `document.querySelector(".poster-head h1") && document.querySelector(".poster-head h1").textContent === "Grid notice board" && `+posterSettled)
	qrPNG, err := chromedp.Run(ctx, chromedp.ScreenshotScale(chromedp.CSS("#qr svg"), 2))
	if err != nil {
		t.Fatal(err)
	}
	writeArtifact(t, "grid-qr.png", qrPNG)
	if got, want := decodeQR(t, qrPNG), theSite.URL+"/g/"+grid; got != want {
		t.Errorf("grid poster QR: got %q, want %q", got, want)
	}
	pdf, err := chromedp.Run(ctx, chromedp.PrintToPDF(chromedp.PDFPreferCSSPageSize(), chromedp.PDFPrintBackground()))
	if err != nil {
		t.Fatal(err)
	}
	checkPosterLayout(t, ctx)
	// English without full-width punctuation (the names of places are Chinese, their punctuation is not).
	if bad := eval[string](t, ctx, `(document.querySelector("#poster").innerText.match(/[\u3000-\u303f\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65]/g) || []).join("")`); bad != "" {
		t.Errorf("English poster has full-width punctuation %q", bad)
	}
	writeArtifact(t, "grid-2-poster-en.pdf", pdf)
	checkA4(t, "grid poster", pdf)
}

// TestPageNotFound: unknown codes get an HTML page that says so, with 404.
func TestPageNotFound(t *testing.T) {
	for _, c := range []struct{ path, want string }{
		{"/b/00000000000000000", "没有编码为 00000000000000000 的楼栋"},
		{"/b/00000000000000000/poster", "没有编码为 00000000000000000 的楼栋"},
		{"/g/999", "没有编码为 999 的网格"},
		{"/g/999?lang=en", "There is no grid with code 999"},
	} {
		t.Run(c.path, func(t *testing.T) {
			res, body := get(t, c.path)
			if res.StatusCode != http.StatusNotFound || !strings.Contains(body, c.want) {
				t.Errorf("GET %s: %d, body has %q: %v", c.path, res.StatusCode, c.want, strings.Contains(body, c.want))
			}
			if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("GET %s: Content-Type %s", c.path, ct)
			}
		})
	}
}

// TestBuildingLeaderShown: a building with a building leader shows them on
// its page and its poster, apart from the grid's team.
func TestBuildingLeaderShown(t *testing.T) {
	needSite(t)
	var code, name string
	err := theSite.db.Pool.QueryRow(context.Background(), `
		SELECT b.code, p.name FROM duty d JOIN building b ON b.id = d.building_id JOIN person p ON p.id = d.person_id
		WHERE d.role = 'building_leader' AND d.valid_to IS NULL AND p.public_name ORDER BY b.code LIMIT 1`).Scan(&code, &name)
	if err != nil {
		t.Fatalf("finding a building with a leader in the demo: %v", err)
	}
	for _, path := range []string{"/b/" + code, "/b/" + code + "/poster"} {
		res, body := get(t, path)
		if res.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %d", path, res.StatusCode)
		}
		if !strings.Contains(body, "楼栋长") || !strings.Contains(body, name) {
			t.Errorf("GET %s: the building leader %s is not shown", path, name)
		}
	}
}

// checkPosterLayout: the QR code is at least 35 mm, the URL, the team and the
// hours at least 11 pt, no band of more than the sections' 4 mm gap is left
// empty between them, and the legend lists just what the map draws.
func checkPosterLayout(t *testing.T, ctx context.Context) {
	t.Helper()
	got := eval[map[string]float64](t, ctx, `(() => {
		const mm = 96 / 25.4, pt = 96 / 72;
		const size = sel => Math.min(...[...document.querySelectorAll(sel)].map(e => parseFloat(getComputedStyle(e).fontSize) / pt));
		const q = document.querySelector("#qr svg").getBoundingClientRect();
		const kids = [...document.querySelector("#poster").children];
		let gap = 0;
		for (let i = 1; i < kids.length; i++) gap = Math.max(gap, kids[i].getBoundingClientRect().top - kids[i-1].getBoundingClientRect().bottom);
		const svg = document.querySelector(".poster-map");
		return {
			qrW: q.width / mm, qrH: q.height / mm, gap: gap / mm,
			url: size("#qr .url"), team: size(".team li"), hours: size(".hours p"), caption: size("#qr figcaption"),
			neighbours: svg.querySelectorAll(".neighbour").length, legendNeighbours: document.querySelectorAll("#legend-neighbour").length,
			dots: svg.querySelectorAll(".building").length, legendDots: document.querySelectorAll("#legend-buildings .dot").length,
			footprints: svg.querySelectorAll(".footprint").length, legendFootprints: document.querySelectorAll("#legend-buildings .footprint").length,
			pins: svg.querySelectorAll(".marked").length, legendPins: document.querySelectorAll("#legend-pin").length,
		};
	})()`)
	if got["qrW"] < 35 || got["qrH"] < 35 {
		t.Errorf("QR code %.1f × %.1f mm, want ≥ 35 mm", got["qrW"], got["qrH"])
	}
	for _, k := range []string{"url", "team", "hours", "caption"} {
		if got[k] < 11 {
			t.Errorf("poster %s text %.1f pt, want ≥ 11 pt", k, got[k])
		}
	}
	if got["gap"] > 4.5 {
		t.Errorf("an empty band of %.1f mm on the poster", got["gap"])
	}
	for _, k := range []string{"neighbours", "dots", "footprints", "pins"} {
		legend := "legend" + strings.ToUpper(k[:1]) + k[1:]
		if (got[k] > 0) != (got[legend] > 0) {
			t.Errorf("poster legend: %v %s drawn but %v in the legend", got[k], k, got[legend])
		}
	}
}

// TestPosterCommunityContact: the poster prints the community office's
// address and phone (community_contact, migration 008) and the hotline: the
// configured 12345, or the community's own.
func TestPosterCommunityContact(t *testing.T) {
	code := buildingCode(t, "人民街11号3栋")
	bg := context.Background()
	const q = `INSERT INTO community_contact (area_id, address, phone) SELECT id, '幸福路1号社区服务中心', '0571-88001234' FROM area WHERE level = 'community' AND name = '幸福社区'`
	if tag, err := theSite.db.Pool.Exec(bg, q); err != nil || tag.RowsAffected() != 1 {
		t.Fatalf("adding the community's contact: %v (%v rows)", err, tag.RowsAffected())
	}
	t.Cleanup(func() {
		theSite.db.Pool.Exec(bg, `DELETE FROM community_contact WHERE area_id IN (SELECT id FROM area WHERE level = 'community' AND name = '幸福社区')`)
	})
	ctx := tab(t, 1200, 900)
	open := func(hotline string) {
		t.Helper()
		do(t, ctx, "opening the poster", chromedp.Navigate(theSite.URL+"/b/"+code+"/poster"))
		waitFor(t, ctx, "the poster", `document.querySelector("#qr svg") !== null`)
		got := eval[map[string]string](t, ctx, `({office: document.querySelector("#poster-office")?.textContent || "", hotline: document.querySelector("#poster-hotline")?.textContent || ""})`)
		if !strings.Contains(got["office"], "幸福路1号社区服务中心") || !strings.Contains(got["office"], "0571-88001234") {
			t.Errorf("poster office: got %q", got["office"])
		}
		if !strings.Contains(got["hotline"], hotline) {
			t.Errorf("poster hotline: got %q, want %s", got["hotline"], hotline)
		}
		fits := eval[bool](t, ctx, `document.querySelector(".poster-foot").getBoundingClientRect().bottom <= document.querySelector("#poster").getBoundingClientRect().bottom + 0.5`)
		if !fits {
			t.Errorf("with the office's lines the poster's footer runs past the A4 page")
		}
		checkPosterLayout(t, ctx)
	}
	open("12345")
	if _, err := theSite.db.Pool.Exec(bg, `UPDATE community_contact SET hotline = '96345' WHERE area_id IN (SELECT id FROM area WHERE level = 'community' AND name = '幸福社区')`); err != nil {
		t.Fatal(err)
	}
	open("96345")
}

// TestBuildingCallOnFirstScreen: the building page opened from the poster's
// QR code on a phone (420×860) shows the grid leader's call button without
// scrolling: the tel: link's box is inside the first screen.
func TestBuildingCallOnFirstScreen(t *testing.T) {
	code := buildingCode(t, "人民街11号3栋")
	// 420×860 as asked; 360×640, a small phone, too: there the map, when it came first, pushed the button off.
	for _, vp := range [][2]int64{{420, 860}, {360, 640}} {
		t.Run(fmt.Sprintf("%dx%d", vp[0], vp[1]), func(t *testing.T) { callOnFirstScreen(t, code, vp[0], vp[1]) })
	}
}

func callOnFirstScreen(t *testing.T, code string, vw, vh int64) {
	ctx := tab(t, vw, vh)
	do(t, ctx, "opening the building page", chromedp.Navigate(theSite.URL+"/b/"+code))
	waitFor(t, ctx, "the leader's call button", `document.readyState === "complete" && document.querySelector(".person.lead a.phone[href^='tel:']") !== null`)
	got := eval[map[string]float64](t, ctx, `(() => { const r = document.querySelector(".person.lead a.phone").getBoundingClientRect();
		return {top: r.top, bottom: r.bottom, left: r.left, right: r.right, w: r.width, h: r.height, vw: innerWidth, vh: innerHeight, scroll: scrollY}; })()`)
	if got["vw"] != float64(vw) || got["vh"] != float64(vh) {
		t.Fatalf("viewport %v×%v, want %d×%d", got["vw"], got["vh"], vw, vh)
	}
	if got["scroll"] != 0 || got["w"] == 0 || got["h"] == 0 || got["top"] < 0 || got["left"] < 0 || got["bottom"] > got["vh"] || got["right"] > got["vw"] {
		t.Errorf("the leader's tel: link at %v is not on the first %d×%d screen", got, vw, vh)
	}
	shot(t, ctx, fmt.Sprintf("building-phone-%dx%d", vw, vh))
}
