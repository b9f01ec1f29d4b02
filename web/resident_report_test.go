package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	_ "image/jpeg"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/paulmach/orb"

	"gridmap/cases"
)

// trackJSON is GET /api/v1/cases/track/{code} as a resident sees it.
func trackJSON(t *testing.T, code string) cases.PublicCase {
	t.Helper()
	res, err := http.Get(theSite.URL + "/api/v1/cases/track/" + code)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var p cases.PublicCase
	if res.StatusCode != 200 || json.Unmarshal(b, &p) != nil {
		t.Fatalf("track %s: %d %s", code, res.StatusCode, b)
	}
	return p
}

// TestResidentReportsACase: at a demo address on a 360 px phone, a resident
// opens 我要报事, sees an open case of the same kind nearby and follows it,
// chooses the category, describes the problem, adds a photo (a 2400×1800
// JPEG with EXIF GPS), drags the pin and sends. The tracking code is shown;
// the case exists through the API with one photo ≤ 1600 px and no EXIF; its
// /c/{code} page shows it. Closed by the desk and the worker (through the
// store), the page shows closed and takes a rating; 我的反映 lists both
// cases after a reload.
func TestResidentReportsACase(t *testing.T) {
	ctx := tab(t, 360, 740)
	bg := context.Background()
	const address = "人民街11号3栋"
	// An open case of the same kind already at this building: the form offers to follow it.
	var lon, lat float64
	var bcode string
	if err := theSite.db.Pool.QueryRow(bg, `SELECT code, ST_X(geom), ST_Y(geom) FROM building WHERE address = $1`, address).Scan(&bcode, &lon, &lat); err != nil {
		t.Fatal(err)
	}
	earlier, err := theCases.store.Intake(bg, nil, cases.Intake{Category: "exposed_rubbish", Point: orb.Point{lon, lat}, Description: "早先的反映"})
	if err != nil {
		t.Fatal(err)
	}

	do(t, ctx, "opening the lookup", chromedp.Navigate(theSite.URL+"/?address="+address))
	waitFor(t, ctx, "the result", `document.querySelector("#result").dataset.state === "found" && !!document.querySelector("#report-open")`)
	// The form's code and stylesheet load when it opens, not with the page:
	// what /assets/ adds then is the weight the form adds (compressed bodies).
	waitMapIdle(t, ctx)
	do(t, ctx, "marking the page's assets", chromedp.Evaluate[chromedp.Void](`window.__before = new Set(performance.getEntriesByType("resource").map(r => r.name))`))
	// The form's own files, as build.mjs lists them (its chunk first, its stylesheet last).
	var man struct {
		Lazy map[string][]string `json:"lazy"`
	}
	if b, err := os.ReadFile(filepath.Join(testBundle, "manifest.json")); err != nil || json.Unmarshal(b, &man) != nil || len(man.Lazy["report.js"]) < 2 {
		t.Fatalf("the bundle's manifest lists no lazy files of report.js: %v", err)
	}
	formFiles := man.Lazy["report.js"]
	chunk, css := "/"+formFiles[0], "/"+formFiles[len(formFiles)-1]
	loaded := func(path string) bool {
		return eval[bool](t, ctx, `performance.getEntriesByType("resource").some(r => new URL(r.name).pathname === `+jsString(path)+`)`)
	}
	if loaded(chunk) || loaded(css) {
		t.Errorf("the report form's chunk (%v) or stylesheet (%v) loaded with the page", loaded(chunk), loaded(css))
	}
	do(t, ctx, "opening 我要报事", chromedp.Click(chromedp.CSS("#report-open")))
	waitFor(t, ctx, "the form with its categories", `document.querySelectorAll("#report-cats button").length >= 8`)
	waitFor(t, ctx, "the form's map", `document.querySelector("#report-map").dataset.ready === "true"`)
	added := eval[map[string]float64](t, ctx, `(() => {
		const r = performance.getEntriesByType("resource").filter(e => new URL(e.name).pathname.startsWith("/assets/") && !window.__before.has(e.name));
		return {files: r.length, js: r.filter(e => e.name.endsWith(".js")).length, bytes: r.reduce((n, e) => n + e.encodedBodySize, 0)};
	})()`)
	t.Logf("the report form added %v assets (%v scripts), %.1f KB as transferred", added["files"], added["js"], added["bytes"]/1024)
	if !loaded(chunk) || !loaded(css) {
		t.Errorf("opening the form did not load its chunk %s and stylesheet %s", chunk, css)
	}
	if added["bytes"] > 60*1024 {
		t.Errorf("the report form adds %.1f KB compressed to the resident page, the budget is 60 KB", added["bytes"]/1024)
	}
	first := eval[string](t, ctx, `document.querySelector("#report-cats button").textContent`)
	if !strings.Contains(first, "暴露垃圾") {
		t.Errorf("first category button %q, want the common 暴露垃圾 with its icon", first)
	}
	// Searching finds a category outside the common ones.
	do(t, ctx, "searching a category", chromedp.SendKeys(chromedp.CSS("#report-cat-search"), "群租"))
	waitFor(t, ctx, "the search's hit", `[...document.querySelectorAll("#report-cat-results button")].some(b => b.dataset.code === "group_rental")`)

	do(t, ctx, "choosing 暴露垃圾", chromedp.Click(chromedp.CSS(`#report-cats button[data-code="exposed_rubbish"]`)))
	waitFor(t, ctx, "the case already reported here", `document.querySelector("#report-dups") && !document.querySelector("#report-dups").hidden && document.querySelectorAll("#report-dups li").length === 1`)
	dupText := eval[string](t, ctx, `document.querySelector("#report-dups").textContent`)
	if strings.Contains(dupText, earlier.TrackingCode) || strings.Contains(dupText, "早先的反映") {
		t.Errorf("the duplicate shows its tracking code or description: %q", dupText)
	}
	do(t, ctx, "following it", chromedp.Click(chromedp.CSS("#report-dups button.follow")))

	do(t, ctx, "describing", chromedp.SendKeys(chromedp.CSS("#report-desc"), "楼下垃圾两天没清运"))
	dir := t.TempDir()
	photo := filepath.Join(dir, "camera.jpg")
	if err := os.WriteFile(photo, testJPEG(t, 2400, 1800, true), 0o644); err != nil {
		t.Fatal(err)
	}
	do(t, ctx, "adding a photo", chromedp.SetUploadFiles(chromedp.CSS("#report-photo"), []string{photo}))
	waitFor(t, ctx, "the photo's thumbnail", `document.querySelectorAll("#report-thumbs li").length === 1`)
	if w := eval[int](t, ctx, `Number(document.querySelector("#report-thumbs li").dataset.width)`); w != 1600 {
		t.Errorf("resized photo is %d px wide, want 1600 (2400 scaled to the 1600 px limit)", w)
	}

	// Drag the pin 40 px to the right.
	do(t, ctx, "scrolling to the map", chromedp.ScrollIntoView(chromedp.CSS("#report-map")))
	box := eval[map[string]float64](t, ctx, `(() => { const r = document.querySelector("#report-pin").getBoundingClientRect(); return {x: r.x + r.width / 2, y: r.y + r.height / 2}; })()`)
	x, y := box["x"], box["y"]
	do(t, ctx, "dragging the pin",
		chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, x, y, chromedp.ButtonLeft),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x+15, y, chromedp.ButtonLeft),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, x+40, y, chromedp.ButtonLeft),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, x+40, y, chromedp.ButtonLeft))
	waitFor(t, ctx, "the moved location", `!!document.querySelector("#report-map").dataset.lon`)
	movedLon := eval[float64](t, ctx, `Number(document.querySelector("#report-map").dataset.lon)`)
	if movedLon <= lon {
		t.Errorf("after dragging the pin east, lon %v, want more than %v", movedLon, lon)
	}

	// 360 px: nothing wider than the screen, the send button on it and thumb-sized.
	layout := eval[map[string]float64](t, ctx, `(() => { const b = document.querySelector("#report-send").getBoundingClientRect();
		return {scroll: document.documentElement.scrollWidth, right: b.right, h: b.height}; })()`)
	if layout["scroll"] > 360 || layout["right"] > 360 || layout["h"] < 40 {
		t.Errorf("at 360 px: page %v px wide, send button right edge %v, height %v", layout["scroll"], layout["right"], layout["h"])
	}
	if use := eval[string](t, ctx, `document.querySelector("#report-phone-use").textContent`); !strings.Contains(use, "90 天后删除") {
		t.Errorf("the phone's use and erasure are not stated: %q", use)
	}
	do(t, ctx, "typing a phone", chromedp.SendKeys(chromedp.CSS("#report-phone"), "13800001234"))
	shot(t, ctx, "report-1-form-360")
	do(t, ctx, "sending", chromedp.Click(chromedp.CSS("#report-send")))
	waitFor(t, ctx, "the tracking code", `!!document.querySelector("#report-code")`)
	shot(t, ctx, "report-2-sent")
	code := eval[string](t, ctx, `document.querySelector("#report-code").textContent`)
	if err := cases.ValidateTrackingCode(cases.NormalizeTrackingCode(code)); err != nil {
		t.Fatalf("shown tracking code %q: %v", code, err)
	}

	// Through the API: the case, its photo re-encoded without EXIF.
	pub := trackJSON(t, code)
	if pub.State != cases.StateReported || pub.Photos != 1 || pub.Category != "exposed_rubbish" {
		t.Errorf("tracked case: %+v", pub)
	}
	id := theCases.caseID(t, code)
	rec, err := theCases.store.Case(bg, theCases.desk, id)
	if err != nil || len(rec.Photos) != 1 || rec.Description != "楼下垃圾两天没清运" || rec.Lon <= lon {
		t.Fatalf("the case as staff see it: %+v %v", rec, err)
	}
	_, b, err := theCases.store.Photo(bg, theCases.desk, rec.Photos[0])
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"Exif", "GPSLatitude"} {
		if bytes.Contains(b, []byte(s)) {
			t.Errorf("the stored photo contains %q", s)
		}
	}
	if cfg, _, err := image.DecodeConfig(bytes.NewReader(b)); err != nil || cfg.Width != 1600 || cfg.Height != 1200 {
		t.Errorf("stored photo %dx%d (%v), want 1600x1200", cfg.Width, cfg.Height, err)
	}

	// Its tracking page.
	do(t, ctx, "opening the tracking page", chromedp.Click(chromedp.CSS("#report-track")))
	waitFor(t, ctx, "the tracking page", `!!document.querySelector("#case-state")`)
	if got := eval[string](t, ctx, `document.querySelector("#tracking-code").textContent`); got != code {
		t.Errorf("tracking page shows code %q, want %q", got, code)
	}
	if st := eval[string](t, ctx, `document.querySelector("#case-state").dataset.state`); st != "reported" {
		t.Errorf("tracking page state %q, want reported", st)
	}
	if unit := eval[string](t, ctx, `(document.querySelector("#case-unit") || {}).textContent || ""`); unit == "" {
		t.Errorf("the tracking page names no handling unit")
	}

	// Closed by the desk (through the store), the page shows it and takes a rating.
	theCases.close(t, id, "已清运完毕")
	do(t, ctx, "reloading", chromedp.Reload())
	waitFor(t, ctx, "the closed case with its rating form", `document.querySelector("#case-state").dataset.state === "closed" && !!document.querySelector("#rate")`)
	if note := eval[string](t, ctx, `document.querySelector("#timeline").textContent`); !strings.Contains(note, "已清运完毕") || !strings.Contains(note, "结案") {
		t.Errorf("timeline lacks the public note or the closing: %q", note)
	}
	if !eval[bool](t, ctx, `!!document.querySelector("#reopen")`) {
		t.Errorf("a case closed just now offers no 'not solved'")
	}
	shot(t, ctx, "report-3-closed")
	do(t, ctx, "rating 5", chromedp.Click(chromedp.CSS(`#rate input[value="5"]`)),
		chromedp.SendKeys(chromedp.CSS("#rate-note"), "很快"), chromedp.Click(chromedp.CSS(`#rate button[type=submit]`)))
	waitFor(t, ctx, "the rated case", `document.querySelector("#case-state") && document.querySelector("#case-state").dataset.state === "rated"`)
	if p := trackJSON(t, code); !p.Rated || p.State != cases.StateRated {
		t.Errorf("after rating: %+v", p)
	}

	// 我的反映 after a reload: the own case and the followed one, with their states.
	do(t, ctx, "opening the lookup again", chromedp.Navigate(theSite.URL+"/"))
	do(t, ctx, "reloading", chromedp.Reload())
	waitFor(t, ctx, "我的反映", `document.querySelectorAll("#mine-list li[data-state]").length === 2 && ![...document.querySelectorAll("#mine-list li")].some(li => li.dataset.state === "unknown")`)
	mine := eval[[]map[string]string](t, ctx, `[...document.querySelectorAll("#mine-list li")].map(li => ({code: li.dataset.code, follow: li.dataset.follow, state: li.dataset.state}))`)
	if mine[0]["code"] != code || mine[0]["state"] != "rated" || mine[1]["follow"] == "" || mine[1]["state"] != "reported" {
		t.Errorf("我的反映: %v, want %s rated then the followed case reported", mine, code)
	}
	shot(t, ctx, "report-4-mine")
	// The followed case's page shows its status, without a code or a rating form.
	do(t, ctx, "opening the followed case", chromedp.Click(chromedp.CSS(`#mine-list li[data-follow]:not([data-follow=""]) a`)))
	waitFor(t, ctx, "the followed case's page", `!!document.querySelector("#followed") && !!document.querySelector("#case-state")`)
	if eval[bool](t, ctx, `!!document.querySelector("#tracking-code") || !!document.querySelector("#rate") || document.body.textContent.includes(`+jsString(earlier.TrackingCode)+`)`) {
		t.Errorf("the followed case's page shows a tracking code or a rating form")
	}

	// "Not solved" within the window: the rated case is handled again.
	do(t, ctx, "opening the own case again", chromedp.Navigate(theSite.URL+"/c/"+code))
	waitFor(t, ctx, "the reopen form", `!!document.querySelector("#reopen")`)
	do(t, ctx, "saying it is not solved", chromedp.SendKeys(chromedp.CSS("#reopen-reason"), "垃圾又堆起来了"),
		chromedp.Click(chromedp.CSS(`#reopen button[type=submit]`)))
	waitFor(t, ctx, "the reopened case", `document.querySelector("#case-state") && document.querySelector("#case-state").dataset.state === "reopened"`)
	if p := trackJSON(t, code); p.State != cases.StateReopened {
		t.Errorf("after 'not solved': state %s, want reopened", p.State)
	}
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// TestBuildingPageReportLine: the building page and its poster carry
// 扫码报事 with the building's report URL; that URL opens the form at the
// building, in English too, with every text from the catalogue.
func TestBuildingPageReportLine(t *testing.T) {
	var bcode string
	if err := theSite.db.Pool.QueryRow(context.Background(), `SELECT code FROM building WHERE address = '人民街11号3栋'`).Scan(&bcode); err != nil {
		t.Fatal(err)
	}
	reportURL := "/b/" + bcode + "?report=1"
	for _, path := range []string{"/b/" + bcode, "/b/" + bcode + "/poster"} {
		res, body := get(t, path)
		if res.StatusCode != 200 || !strings.Contains(body, "扫码报事") || !strings.Contains(body, reportURL) {
			t.Errorf("%s: %d; want 扫码报事 and %s", path, res.StatusCode, reportURL)
		}
	}
	ctx := tab(t, 360, 740)
	do(t, ctx, "opening the report URL in English", chromedp.Navigate(theSite.URL+reportURL+"&lang=en"))
	waitFor(t, ctx, "the form", `document.querySelectorAll("#report-cats button").length >= 8 && document.querySelector("#report-map").dataset.ready === "true"`)
	text := eval[string](t, ctx, `document.querySelector("#report").innerText + " " + [...document.querySelectorAll("#report [placeholder], #report [aria-label]")].map(e => (e.placeholder || "") + (e.getAttribute("aria-label") || "")).join(" ")`)
	for _, want := range []string{"Report a problem", "Exposed rubbish", "erased 90 days"} {
		if !strings.Contains(text, want) {
			t.Errorf("the English form lacks %q: %q", want, text)
		}
	}
	if strings.Contains(text, "report.") || strings.Contains(text, "case.") {
		t.Errorf("the English form shows a catalogue key: %q", text)
	}
	if layout := eval[float64](t, ctx, `document.documentElement.scrollWidth`); layout > 360 {
		wide := eval[[]string](t, ctx, `[...document.querySelectorAll("body *")].filter(e => e.scrollWidth > 361).slice(0, 8).map(e => e.tagName + "#" + e.id + " " + e.scrollWidth)`)
		t.Errorf("the building page with the form is %v px wide at 360: %v", layout, wide)
	}
	shot(t, ctx, "report-5-building-en")
}

// TestCasePageBadInput: /c/{code} with a code that is malformed, unknown,
// not UTF-8 or holds NUL answers a 4xx page, never a 500; a real code's page
// is not cached and sends no referrer (the code is the key to rate).
func TestCasePageBadInput(t *testing.T) {
	needSite(t)
	res, err := theCases.store.Intake(context.Background(), nil, cases.Intake{Category: "streetlight_out", Point: orb.Point{120.15, 30.28}, Description: "三号楼北侧那盏"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		path string
		want int
	}{
		{"/c/NOT-A-CODE", 404},
		{"/c/0000000000", 404},
		{"/c/%00", 400},
		{"/c/%FF%FE", 400},
		{"/c/00000000-0000-4000-8000-000000000000", 404},
		{"/c/" + res.TrackingCode, 200},
		{"/c/" + strings.ToLower(strings.ReplaceAll(res.TrackingCode, "-", "")), 200},
		{"/c/" + res.TrackingCode + "?lang=en", 200},
	} {
		r, body := get(t, tc.path)
		if r.StatusCode != tc.want {
			t.Errorf("GET %s: %d, want %d: %.200s", tc.path, r.StatusCode, tc.want, body)
		}
		if tc.want == 200 && strings.HasSuffix(tc.path, "?lang=en") {
			if !strings.Contains(body, "Tracking code") || strings.Contains(body, ">case.") {
				t.Errorf("GET %s: not in English or a catalogue key shown", tc.path)
			}
			continue
		}
		if tc.want == 200 {
			if !strings.Contains(body, res.TrackingCode) || strings.Contains(body, "三号楼北侧那盏") {
				t.Errorf("GET %s: the page lacks the code or shows the description", tc.path)
			}
			if r.Header.Get("Cache-Control") != "no-store" || r.Header.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("GET %s: Cache-Control %q, Referrer-Policy %q", tc.path, r.Header.Get("Cache-Control"), r.Header.Get("Referrer-Policy"))
			}
		}
	}
}

// TestResidentReportFormFollowsLanguage: the report form, open with a
// category chosen and a description typed, switches to English and back
// with the page's language button, like the editor: every label, button,
// placeholder and category name follows, and what was entered stays.
func TestResidentReportFormFollowsLanguage(t *testing.T) {
	ctx := tab(t, 360, 740)
	do(t, ctx, "opening the lookup", chromedp.Navigate(theSite.URL+"/?address=人民街11号3栋"))
	waitFor(t, ctx, "the result", `document.querySelector("#result").dataset.state === "found" && !!document.querySelector("#report-open")`)
	do(t, ctx, "opening 我要报事", chromedp.Click(chromedp.CSS("#report-open")))
	waitFor(t, ctx, "the form with its categories", `document.querySelectorAll("#report-cats button").length >= 8`)
	do(t, ctx, "choosing 暴露垃圾 and describing",
		chromedp.Click(chromedp.CSS(`#report-cats button[data-code="exposed_rubbish"]`)),
		chromedp.SendKeys(chromedp.CSS("#report-desc"), "楼下垃圾没人清"))
	formText := `document.querySelector("#report-form").innerText + " " + [...document.querySelectorAll("#report-form [placeholder], #report-form [aria-label]")].map(e => (e.placeholder || "") + " " + (e.getAttribute("aria-label") || "")).join(" ")`

	do(t, ctx, "switching to English", chromedp.Click(chromedp.CSS("#lang")))
	waitFor(t, ctx, "the English form", `document.querySelector("#report-form h2").textContent === "Report a problem"`)
	// The nearby cases (from an earlier test at this address) are redrawn after a request of their own.
	waitFor(t, ctx, "the category names in English", `!(`+formText+`).includes("暴露垃圾")`)
	text := eval[string](t, ctx, formText)
	for _, want := range []string{"What kind of problem", "Exposed rubbish", "Description", "Take or choose a photo", "erased 90 days",
		"Send", "Cancel", "Search other kinds", "the rubbish at building 3", "Location (drag the red pin"} {
		if !strings.Contains(text, want) {
			t.Errorf("the form after switching to English lacks %q", want)
		}
	}
	for _, zh := range []string{"暴露垃圾", "问题描述", "发送", "取消"} {
		if strings.Contains(text, zh) {
			t.Errorf("the English form still shows %q: %s", zh, text)
		}
	}
	kept := eval[map[string]string](t, ctx, `({desc: document.querySelector("#report-desc").value,
		checked: document.querySelector('#report-cats button[aria-checked="true"]')?.dataset.code || ""})`)
	if kept["desc"] != "楼下垃圾没人清" || kept["checked"] != "exposed_rubbish" {
		t.Errorf("after the switch: description %q, category %q; want what was entered kept", kept["desc"], kept["checked"])
	}
	shot(t, ctx, "report-6-form-en-switched")

	do(t, ctx, "switching back", chromedp.Click(chromedp.CSS("#lang")))
	waitFor(t, ctx, "the Chinese form", `document.querySelector("#report-form h2").textContent === "反映问题"`)
	waitFor(t, ctx, "the category names (and the nearby cases') in Chinese", `(t => t.includes("暴露垃圾") && !t.includes("Exposed rubbish"))(`+formText+`)`)
}

// TestResidentReportMineRemove: 我的反映 removes a remembered case only
// after confirming in place (keeping it is possible), from this device's
// list alone: the list and localStorage lose it, a reload does not bring it
// back, and the case itself is still tracked.
func TestResidentReportMineRemove(t *testing.T) {
	needSite(t)
	bg := context.Background()
	var codes []string
	for i, p := range []orb.Point{{120.1501, 30.2801}, {120.1505, 30.2803}} {
		res, err := theCases.store.Intake(bg, nil, cases.Intake{Category: "streetlight_out", Point: p, Description: fmt.Sprintf("第%d盏路灯", i+1)})
		if err != nil {
			t.Fatal(err)
		}
		codes = append(codes, res.TrackingCode)
	}
	ctx := tab(t, 360, 740)
	do(t, ctx, "opening the lookup", chromedp.Navigate(theSite.URL+"/"))
	mine, _ := json.Marshal([]map[string]string{{"code": codes[0], "at": "2026-01-01T00:00:00Z"}, {"code": codes[1], "at": "2026-01-01T00:00:00Z"}})
	do(t, ctx, "remembering two cases", chromedp.Evaluate[chromedp.Void](`localStorage.setItem("gridmap.cases", `+jsString(string(mine))+`)`), chromedp.Reload())
	listed := `[...document.querySelectorAll("#mine-list li[data-state]")].filter(li => li.dataset.state !== "unknown").map(li => li.dataset.code)`
	waitFor(t, ctx, "我的反映 with both", listed+`.length === 2`)
	first := `#mine-list li[data-code="` + codes[0] + `"] `

	do(t, ctx, "asking to remove the first", chromedp.Click(chromedp.CSS(first+"button.remove")))
	waitFor(t, ctx, "the confirmation", `!!document.querySelector(`+jsString(first+".confirm")+`)`)
	if q := eval[string](t, ctx, `document.querySelector(`+jsString(first+".confirm")+`).textContent`); !strings.Contains(q, "本机") {
		t.Errorf("the confirmation does not say it only removes from this device: %q", q)
	}
	do(t, ctx, "keeping it", chromedp.Click(chromedp.CSS(first+"button.remove-no")))
	waitFor(t, ctx, "the remove button again", `!!document.querySelector(`+jsString(first+"button.remove")+`)`)
	if n := eval[int](t, ctx, `document.querySelectorAll("#mine-list li").length`); n != 2 {
		t.Errorf("after keeping: %d cases listed, want 2", n)
	}
	do(t, ctx, "asking again", chromedp.Click(chromedp.CSS(first+"button.remove")))
	shot(t, ctx, "report-7-mine-remove-confirm")
	do(t, ctx, "confirming", chromedp.Click(chromedp.CSS(first+"button.remove-yes")))
	waitFor(t, ctx, "one case left", `document.querySelectorAll("#mine-list li").length === 1`)
	stored := eval[string](t, ctx, `localStorage.getItem("gridmap.cases")`)
	if strings.Contains(stored, codes[0]) || !strings.Contains(stored, codes[1]) {
		t.Errorf("localStorage after removing %s: %s", codes[0], stored)
	}
	do(t, ctx, "reloading", chromedp.Reload())
	waitFor(t, ctx, "我的反映 after the reload", listed+`.length === 1`)
	if got := eval[[]string](t, ctx, listed); len(got) != 1 || got[0] != codes[1] {
		t.Errorf("after the reload 我的反映 lists %v, want only %s", got, codes[1])
	}
	if p := trackJSON(t, codes[0]); p.State != cases.StateReported {
		t.Errorf("the removed case: state %s, want still reported", p.State)
	}
}

// TestBuildingPageLanguageSwitchKeepsReport (issue 11): on /b/{code} the
// language button used to reload the page and lose a half-filled report.
// Now the page switches in place: the server's text comes in the other
// language (fetched, swapped in around the form and the map), the form
// relabels itself and keeps the category and description, and the page is
// not reloaded (a mark on window survives); and back again.
func TestBuildingPageLanguageSwitchKeepsReport(t *testing.T) {
	var bcode string
	if err := theSite.db.Pool.QueryRow(context.Background(), `SELECT code FROM building WHERE address = '人民街11号3栋'`).Scan(&bcode); err != nil {
		t.Fatal(err)
	}
	ctx := tab(t, 360, 740)
	do(t, ctx, "opening the building's report URL", chromedp.Navigate(theSite.URL+"/b/"+bcode+"?report=1"))
	waitFor(t, ctx, "the form", `document.querySelectorAll("#report-cats button").length >= 8 && document.querySelector("#report-map")?.dataset.ready === "true"`)
	waitFor(t, ctx, "the building's map", `!!document.querySelector("#map canvas")`)
	const desc = "楼道灯坏了一半"
	do(t, ctx, "choosing 路灯不亮 and describing",
		chromedp.Click(chromedp.CSS(`#report-cats button[data-code="streetlight_out"]`)),
		chromedp.SendKeys(chromedp.CSS("#report-desc"), desc),
		chromedp.Evaluate[chromedp.Void](`window.__notReloaded = true; document.querySelector("#map").__same = true`))
	zhPoster := eval[string](t, ctx, `document.querySelector("#poster-link").textContent`)

	do(t, ctx, "switching to English", chromedp.Click(chromedp.CSS("#lang")))
	waitFor(t, ctx, "the page in English", `document.body.dataset.lang === "en" && document.querySelector("#poster-link").textContent === "Print the notice board"`)
	state := eval[map[string]any](t, ctx, `({reloaded: !window.__notReloaded, sameMap: !!document.querySelector("#map").__same,
		desc: document.querySelector("#report-desc")?.value, cat: document.querySelector('#report-cats button[aria-checked="true"]')?.dataset.code || "",
		title: document.querySelector("#report-form h2")?.textContent, lang: document.documentElement.lang, button: document.querySelector("#lang").textContent,
		page: document.querySelector("main").innerText})`)
	if state["reloaded"] != false || state["sameMap"] != true {
		t.Errorf("the switch reloaded the page or redrew the map: %v", state)
	}
	if state["desc"] != desc || state["cat"] != "streetlight_out" {
		t.Errorf("after the switch: description %q, category %q; want the half-filled report kept", state["desc"], state["cat"])
	}
	if state["title"] != "Report a problem" || state["lang"] != "en" {
		t.Errorf("the form or page did not switch: title %q, lang %q", state["title"], state["lang"])
	}
	if page, _ := state["page"].(string); !strings.Contains(page, "Responsible people") || strings.Contains(page, "网格责任人") {
		t.Errorf("the server's text did not follow: %q", page)
	}
	do(t, ctx, "switching back", chromedp.Click(chromedp.CSS("#lang")))
	waitFor(t, ctx, "the page in Chinese", `document.body.dataset.lang === "zh-CN" && document.querySelector("#poster-link").textContent === `+jsString(zhPoster))
	if got := eval[string](t, ctx, `window.__notReloaded && document.querySelector("#report-desc").value`); got != desc {
		t.Errorf("after switching back the description is %q (or the page reloaded), want %q", got, desc)
	}
	// The "switch" button, kept, still works and the form still sends.
	do(t, ctx, "sending", chromedp.Click(chromedp.CSS("#report-send")))
	waitFor(t, ctx, "the tracking code", `!!document.querySelector("#report-code")`)
}

// TestResidentReportQueuedOfflineSentOnReturn: a resident's report at a
// building sent without a network is kept as that building's draft; the
// browser closed and opened again with a network on the building's page,
// the form opens by itself and sends it, once, and the code joins 我的反映.
// Cancelling a form discards its draft.
func TestResidentReportQueuedOfflineSentOnReturn(t *testing.T) {
	var bcode string
	if err := theSite.db.Pool.QueryRow(context.Background(), `SELECT code FROM building WHERE address = '人民街11号3栋'`).Scan(&bcode); err != nil {
		t.Fatal(err)
	}
	const desc = "离线时写的：垃圾桶满了"
	count := func() int {
		t.Helper()
		var n int
		if err := theSite.db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM case_report WHERE description = $1`, desc).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	draft := `localStorage.getItem("gridmap.draft.resident.b.` + bcode + `") || ""`
	ctx := tab(t, 360, 740)
	do(t, ctx, "opening the building's report URL", chromedp.Navigate(theSite.URL+"/b/"+bcode+"?report=1"))
	waitFor(t, ctx, "the form", `document.querySelectorAll("#report-cats button").length >= 8`)
	do(t, ctx, "choosing 垃圾满溢 and describing",
		chromedp.Click(chromedp.CSS(`#report-cats button[data-code="overflowing_bin"]`)),
		chromedp.SendKeys(chromedp.CSS("#report-desc"), desc))
	do(t, ctx, "going offline", setOffline(true))
	do(t, ctx, "sending offline", chromedp.Click(chromedp.CSS("#report-send")))
	waitFor(t, ctx, "the offline message", `document.querySelector("#report-status").textContent.includes("草稿已保存在本机")`)
	if q := eval[string](t, ctx, draft); !strings.Contains(q, `"queued":true`) || !strings.Contains(q, desc) {
		t.Errorf("the building's draft is %q, want it queued with the description", q)
	}
	// Closed while offline, opened again online on the building's page (no ?report=1).
	ctx = reopenTab(t, ctx, 360, 740, nil)
	do(t, ctx, "opening the building page again", chromedp.Navigate(theSite.URL+"/b/"+bcode))
	waitFor(t, ctx, "the queued report sent by itself", `!!document.querySelector("#report-code") && !!document.querySelector("#report-resent")`)
	code := eval[string](t, ctx, `document.querySelector("#report-code").textContent`)
	if n := count(); n != 1 {
		t.Errorf("a queued report sent by itself: %d cases, want 1", n)
	}
	if q := eval[string](t, ctx, draft); q != "" {
		t.Errorf("the draft is kept after sending: %q", q)
	}
	if mine := eval[string](t, ctx, `localStorage.getItem("gridmap.cases") || ""`); !strings.Contains(mine, code) {
		t.Errorf("我的反映 does not hold the sent code %s: %q", code, mine)
	}
	do(t, ctx, "reloading", chromedp.Reload())
	waitFor(t, ctx, "the building page", `!!document.querySelector("#report-open")`)
	if eval[bool](t, ctx, `!!document.querySelector("#report-form")`) {
		t.Errorf("the form opened by itself with nothing queued")
	}

	// A draft typed and cancelled is gone.
	do(t, ctx, "opening the form", chromedp.Click(chromedp.CSS("#report-open")))
	waitFor(t, ctx, "the form", `document.querySelectorAll("#report-cats button").length >= 8`)
	do(t, ctx, "typing", chromedp.SendKeys(chromedp.CSS("#report-desc"), "不想报了"))
	if q := eval[string](t, ctx, draft); !strings.Contains(q, "不想报了") {
		t.Errorf("the typed draft is %q", q)
	}
	do(t, ctx, "cancelling", chromedp.Click(chromedp.CSS("#report-cancel")))
	if q := eval[string](t, ctx, draft); q != "" {
		t.Errorf("a cancelled form left its draft: %q", q)
	}
}
