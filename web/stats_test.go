package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"
	"github.com/paulmach/orb"

	"gridmap/calendar"
	"gridmap/cases"
	"gridmap/data"
	"gridmap/web"
)

// statsClock is the injectable clock of the statistics test's case store.
type statsClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *statsClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *statsClock) Set(t time.Time) { c.mu.Lock(); c.t = t; c.mu.Unlock() }

// statsPeriod is March 2025 (four Monday-start weeks): no other test makes
// cases then.
var statsFrom, statsTo = "2025-03-03", "2025-03-30"

// TestStatsPageShowsTheAPIsNumbers: cases made through the store on an
// injected clock in two communities of a subdistrict (one with enough cases
// to be coloured, one with too few). Signed in, the editor's link opens
// /admin/stats; for the subdistrict and the period its table and its chart's
// data equal the case-stats API's numbers, the map colours the community by
// its on-time rate's class in the legend and hatches the other as "no
// data"; the page switches to English; it prints (PDF) and, in print media,
// drops the controls and redraws the chart at the printed width.
func TestStatsPageShowsTheAPIsNumbers(t *testing.T) {
	ensureAdmin(t)
	bg := context.Background()
	clock := &statsClock{}
	store, err := data.NewCaseStore(bg, theSite.db, data.CaseOptions{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	site := &caseSite{store: store, desk: theCases.desk, worker: theCases.worker}

	// A subdistrict with at least three communities; a point inside a grid of each of the first two.
	var sub string
	if err := theSite.db.Pool.QueryRow(bg, `SELECT s.code FROM area s JOIN area c ON c.parent_id = s.id
		WHERE s.level = 'subdistrict' GROUP BY s.code HAVING count(*) >= 3 ORDER BY s.code LIMIT 1`).Scan(&sub); err != nil {
		t.Fatal(err)
	}
	rows, err := theSite.db.Pool.Query(bg, `SELECT c.code, ST_X(p), ST_Y(p) FROM area s JOIN area c ON c.parent_id = s.id
		CROSS JOIN LATERAL (SELECT ST_PointOnSurface(v.geom) AS p FROM area g JOIN area_version v ON v.area_id = g.id AND v.valid_to IS NULL
			WHERE g.parent_id = c.id AND g.retired_at IS NULL ORDER BY g.code LIMIT 1) g
		WHERE s.code = $1 AND c.retired_at IS NULL ORDER BY c.code LIMIT 2`, sub)
	if err != nil {
		t.Fatal(err)
	}
	var comm []string
	var pts []orb.Point
	for rows.Next() {
		var code string
		var p orb.Point
		if err := rows.Scan(&code, &p[0], &p[1]); err != nil {
			t.Fatal(err)
		}
		comm, pts = append(comm, code), append(pts, p)
	}
	if rows.Err() != nil || len(comm) != 2 {
		t.Fatalf("communities of %s with grids: %v %v", sub, comm, rows.Err())
	}
	sh := calendar.Shanghai()
	day := func(d, h int) time.Time { return time.Date(2025, 3, d, h, 0, 0, 0, sh) }
	report := func(at time.Time, p orb.Point) int64 {
		clock.Set(at)
		res, err := store.Intake(bg, nil, cases.Intake{Category: "exposed_rubbish", Point: p, Description: "统计测试"})
		if err != nil {
			t.Fatal(err)
		}
		return site.caseID(t, res.TrackingCode)
	}
	// The cases left open are rejected when the test ends, so that no other
	// test of this site (worklists, escalation) meets them as overdue.
	var open []int64
	t.Cleanup(func() {
		clock.Set(day(31, 10))
		for _, id := range open {
			site.act(t, theCases.desk, id, cases.ActionRequest{Action: cases.ActionReject, Reason: "统计测试结束"})
		}
	})
	// The first community: 6 cases over three weeks, 4 closed within their
	// first deadline (one rated 5), 2 left open, long overdue now: on time 4 of 6.
	for i, d := range []int{3, 4, 5, 11, 12, 19} {
		id := report(day(d, 9), pts[0])
		if i%3 == 2 {
			open = append(open, id)
		} else {
			clock.Set(day(d, 9).Add(20 * time.Minute))
			site.close(t, id, "已处理")
			if i == 0 {
				rec, _ := store.Case(bg, theCases.desk, id)
				if _, err := store.Rate(bg, rec.TrackingCode, 5, ""); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	// The second: 2 cases, one closed a week later: too few for a rate.
	id := report(day(6, 10), pts[1])
	open = append(open, report(day(25, 10), pts[1]))
	clock.Set(day(13, 10))
	site.close(t, id, "已处理")

	ctx := signIn(t)
	waitFor(t, ctx, "the statistics link", `!!document.querySelector("#stats-link")`)
	do(t, ctx, "opening the statistics", chromedp.Click(chromedp.CSS("#stats-link")))
	waitFor(t, ctx, "the statistics page", `document.querySelector("#app").dataset.ready === "true"`)
	waitMapIdle(t, ctx)
	// The page's weight in Chromium (BENCHMARKS.md), opened from the editor: the bodies of its assets as
	// transferred (gzip: Chromium asks for brotli over HTTPS only); MapLibre's worker and stylesheet came with the editor.
	weight := eval[map[string]float64](t, ctx, `(() => {
		const r = performance.getEntriesByType("resource").filter(e => new URL(e.name).pathname.startsWith("/assets/"));
		const nav = performance.getEntriesByType("navigation")[0];
		return {files: r.length, bytes: r.reduce((n, e) => n + e.transferSize, 0) + nav.transferSize, cached: r.filter(e => e.transferSize === 0).length};
	})()`)
	t.Logf("the statistics page loaded %v assets (%v from the cache), %.1f KB transferred with its HTML and headers", weight["files"], weight["cached"], weight["bytes"]/1024)

	do(t, ctx, "opening the subdistrict's March", chromedp.Navigate(theSite.URL+"/admin/stats?area="+sub+"&from="+statsFrom+"&to="+statsTo))
	waitFor(t, ctx, "the statistics", `document.querySelector("#app").dataset.ready === "true" && document.querySelectorAll("#stats-table tbody tr[data-code]").length === 2`)
	waitMapIdle(t, ctx)
	// The API's answer, fetched in the page with its session.
	raw := eval[string](t, ctx, `fetch("/api/v1/areas/`+sub+`/case-stats?from=`+statsFrom+`&to=`+statsTo+`").then(r => r.text())`)
	var api cases.AreaStats
	if err := json.Unmarshal([]byte(raw), &api); err != nil {
		t.Fatalf("case-stats: %v: %s", err, raw)
	}
	if len(api.Children) != 2 || api.Received != 8 || api.Closed != 5 || api.Children[0].FewCases || !api.Children[1].FewCases {
		t.Fatalf("the API's statistics are not those of the cases made: %s", raw)
	}

	if legend := eval[string](t, ctx, `document.querySelector("#stats-nodata-legend").textContent`); !strings.Contains(legend, fmt.Sprint(api.MinRateCases)) || api.MinRateCases != cases.MinRateCases {
		t.Errorf("the no-data legend %q does not name the API's threshold %d", legend, api.MinRateCases)
	}
	if chain := eval[string](t, ctx, `document.querySelector("#stats-chain").textContent`); !strings.HasSuffix(chain, api.Area.Name) || !strings.Contains(chain, "›") {
		t.Errorf("the breadcrumbs %q do not lead up to %s", chain, api.Area.Name)
	}

	// The table: one row per child area and the total, each cell's value the API's.
	table := eval[map[string]map[string]*float64](t, ctx, `Object.fromEntries([...document.querySelectorAll("#stats-table tr[data-code]")].map(tr =>
		[tr.dataset.code, Object.fromEntries([...tr.querySelectorAll("td[data-key]")].map(td => [td.dataset.key, td.dataset.value === "" ? null : Number(td.dataset.value)]))]))`)
	for _, s := range append([]cases.AreaStats{api}, api.Children...) {
		row := table[s.Area.Code]
		if row == nil {
			t.Errorf("no table row for %s", s.Area.Code)
			continue
		}
		recv, closed := float64(s.Received), float64(s.Closed)
		for key, want := range map[string]*float64{"received": &recv, "closed": &closed, "on_time_rate": s.OnTimeRate, "response_rate": s.ResponseRate,
			"resolution_rate": s.ResolutionRate, "satisfaction_rate": s.Satisfaction, "median_hours_to_close": s.MedianCloseH} {
			if got := row[key]; !sameNumber(got, want) {
				t.Errorf("%s %s: table %v, API %v", s.Area.Code, key, show(got), show(want))
			}
		}
	}
	cell := eval[string](t, ctx, `document.querySelector('#stats-table tr[data-code="`+comm[0]+`"] td[data-key=on_time_rate]').textContent`)
	if pct, err := strconv.ParseFloat(strings.TrimSuffix(cell, "%"), 64); err != nil || math.Abs(pct-*api.Children[0].OnTimeRate*100) > 0.05 {
		t.Errorf("on-time rate cell %q, want %.1f%%", cell, *api.Children[0].OnTimeRate*100)
	}

	// The chart's data: the API's weeks.
	chart := eval[[][]float64](t, ctx, `window.__stats.chart.data.map(s => Array.from(s))`)
	if len(chart) != 3 || len(chart[0]) != len(api.Weeks) || len(api.Weeks) != 4 {
		t.Fatalf("chart data %v, API weeks %+v (want 4)", chart, api.Weeks)
	}
	for i, w := range api.Weeks {
		if chart[0][i] != float64(w.Start.Unix()) || chart[1][i] != float64(w.Received) || chart[2][i] != float64(w.Closed) {
			t.Errorf("week %d: chart (%v, %v, %v), API %+v", i, chart[0][i], chart[1][i], chart[2][i], w)
		}
	}

	// The choropleth: the first community drawn in its class's colour, the second hatched.
	type legendClass struct {
		From   float64 `json:"from"`
		Colour string  `json:"colour"`
	}
	classes := eval[[]legendClass](t, ctx, `[...document.querySelectorAll("#stats-legend li[data-from]")].map(li => ({from: Number(li.dataset.from), colour: li.dataset.colour}))`)
	want := ""
	for _, c := range classes {
		if *api.Children[0].OnTimeRate >= c.From {
			want = c.Colour
		}
	}
	drawn := eval[map[string][]string](t, ctx, `(() => {
		const m = window.__gridmap.map, hex = (c) => c && typeof c === "object" ? "#" + [c.r, c.g, c.b].map(v => Math.round(v * 255).toString(16).padStart(2, "0")).join("") : String(c);
		const out = {};
		for (const f of m.queryRenderedFeatures({layers: ["stats-fill"]})) out[f.properties.code] = ["fill", hex(f.layer.paint["fill-color"])];
		for (const f of m.queryRenderedFeatures({layers: ["stats-nodata"]})) out[f.properties.code] = ["nodata", ""];
		return out;
	})()`)
	if got := drawn[comm[0]]; len(got) != 2 || got[0] != "fill" || got[1] != want {
		t.Errorf("community %s (on-time rate %.2f) drawn as %v, want fill %s", comm[0], *api.Children[0].OnTimeRate, got, want)
	}
	if got := drawn[comm[1]]; len(got) != 2 || got[0] != "nodata" {
		t.Errorf("community %s (%d cases behind its rate) drawn as %v, want hatched no data", comm[1], api.Children[1].Closed+api.Children[1].OpenOverdue, got)
	}
	if n := len(drawn); n < 3 {
		t.Errorf("%d child areas drawn, want every community of %s (those without cases as no data): %v", n, sub, drawn)
	}
	shot(t, ctx, "stats-1-zh")

	// English.
	do(t, ctx, "switching to English", chromedp.Click(chromedp.CSS("#lang")))
	waitFor(t, ctx, "the English page", `document.querySelector("#stats-table thead").textContent.includes("On-time rate")`)
	text := eval[string](t, ctx, `document.body.innerText + " " + window.__stats.chart.series.map(s => s.label).join(" ")`)
	for _, w := range []string{"Case statistics", "Received", "Closed", "Satisfaction", "no data", "Received and closed per week"} {
		if !strings.Contains(text, w) {
			t.Errorf("the English page lacks %q", w)
		}
	}
	if strings.Contains(text, "stats.") || strings.Contains(text, "按时办结率") {
		t.Errorf("the English page shows a catalogue key or Chinese: %q", text)
	}
	waitMapIdle(t, ctx)
	shot(t, ctx, "stats-2-en")

	// Printing: a PDF, and in print media no controls and the chart at the printed width.
	pdf, err := chromedp.Run(ctx, chromedp.PrintToPDF(chromedp.PDFPrintBackground()))
	if err != nil || !bytes.HasPrefix(pdf, []byte("%PDF-")) || len(pdf) < 10000 {
		t.Fatalf("printing the statistics: %d bytes, %v", len(pdf), err)
	}
	writeArtifact(t, "stats-3-print.pdf", pdf)
	do(t, ctx, "emulating print media", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: "print"})
		return err
	}))
	waitFor(t, ctx, "the chart redrawn at the printed width", `window.__stats.chart.width === 680`)
	// The canvas is redrawn at the printed size (its pixels are the printed CSS size × the device's pixel
	// ratio, not a scaled screen canvas); the table, the legend and the weekly numbers print; the tooltip does not.
	printed := eval[map[string]bool](t, ctx, `(() => { const c = document.querySelector("#stats-chart canvas"), shown = (sel) => {
		const el = document.querySelector(sel); return !!el && getComputedStyle(el).display !== "none" && el.getBoundingClientRect().height > 0; };
		return {controls: getComputedStyle(document.querySelector("#stats-form")).display !== "none",
		chart: c.getBoundingClientRect().width >= 600 && c.width === Math.round(c.getBoundingClientRect().width * devicePixelRatio),
		table: shown("#stats-table tbody tr"), legend: shown("#stats-legend li.nodata"), weeks: shown("#stats-weeks tbody td"),
		tooltip: getComputedStyle(document.querySelector("#stats-tooltip")).display !== "none"}; })()`)
	if printed["controls"] || !printed["chart"] || !printed["table"] || !printed["legend"] || !printed["weeks"] || printed["tooltip"] {
		t.Errorf("in print media: %v; want no controls and no tooltip, the chart redrawn at least 600 px wide, the table, legend and weekly numbers shown", printed)
	}
	waitMapIdle(t, ctx)
	shot(t, ctx, "stats-4-print-media")

	t.Run("a period across week boundaries shows the API's numbers in both languages", func(t *testing.T) {
		// Wednesday 5 March to Tuesday 18 March: three weeks, the first and the last cut by the period.
		const from, to = "2025-03-05", "2025-03-18"
		ctx := signIn(t)
		openStats(t, ctx, theSite.URL, "?area="+sub+"&from="+from+"&to="+to, 2)
		api := statsOf(t, ctx, sub, "from="+from+"&to="+to)
		sh := calendar.Shanghai()
		wantWeeks := []cases.WeekCount{ // reported 5, 6 | 11, 12 (closed 11, 12 and, for the 6th's, 13) | none
			{Start: time.Date(2025, 3, 3, 0, 0, 0, 0, sh), Received: 2}, {Start: time.Date(2025, 3, 10, 0, 0, 0, 0, sh), Received: 2, Closed: 3}, {Start: time.Date(2025, 3, 17, 0, 0, 0, 0, sh)}}
		if api.FromDate != from || api.ToDate != to || len(api.Weeks) != len(wantWeeks) {
			t.Fatalf("the API's period %s–%s, %d weeks; want %s–%s, 3 weeks", api.FromDate, api.ToDate, len(api.Weeks), from, to)
		}
		for i, w := range wantWeeks {
			if g := api.Weeks[i]; !g.Start.Equal(w.Start) || g.Received != w.Received || g.Closed != w.Closed {
				t.Errorf("API week %d: %+v, want %+v", i, g, w)
			}
		}
		for _, l := range []struct{ lang, word string }{{"zh-CN", "受理"}, {"en", "Received"}} {
			if l.lang == "en" {
				do(t, ctx, "switching to English", chromedp.Click(chromedp.CSS("#lang")))
			}
			waitFor(t, ctx, "the page in "+l.lang, `document.documentElement.lang === "`+l.lang+`" && document.querySelector("#stats-weeks tbody th").textContent === "`+l.word+`"`)
			checkStatsPage(t, ctx, api, l.lang)
		}
		shot(t, ctx, "stats-5-weeks-en")
	})

	t.Run("China's day in Los Angeles: the period's default and the date fields are the server's", func(t *testing.T) {
		// 00:30 on Monday 9 March 2026 in China is still Sunday the 8th in Los Angeles.
		clock.Set(time.Date(2026, 3, 9, 0, 30, 0, 0, sh))
		deps := theSite.deps
		deps.Cases = store // the store on the injected clock
		srv := httptest.NewServer(siteHandler(deps, web.Config{}))
		t.Cleanup(srv.Close)
		ctx := signIn(t) // the session cookie is the host's, whatever the port
		do(t, ctx, "the browser in Los Angeles", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetTimezoneOverride, emulation.SetTimezoneOverrideParams{TimezoneID: "America/Los_Angeles"})
			return err
		}))
		openStats(t, ctx, srv.URL, "?area="+sub, -1)
		got := eval[map[string]string](t, ctx, `({zone: Intl.DateTimeFormat().resolvedOptions().timeZone, from: document.querySelector("#stats-from").value,
			to: document.querySelector("#stats-to").value, max: document.querySelector("#stats-to").max, search: location.search,
			week: document.querySelector("#stats-weeks thead th[data-start]").textContent, weeks: document.querySelector("#stats-chart").dataset.weeks})`)
		want := map[string]string{"zone": "America/Los_Angeles", "from": "2025-12-22", "to": "2026-03-09", "max": "2026-03-09",
			"search": "?area=" + sub + "&from=2025-12-22&to=2026-03-09", "week": "12/22", "weeks": fmt.Sprint(cases.DefaultStatsWeeks)}
		for k, w := range want {
			if got[k] != w {
				t.Errorf("%s: %q, want %q (China's calendar, not the browser's)", k, got[k], w)
			}
		}
	})

	t.Run("the picker, drilling down on the map and in the table, breadcrumbs and the back button keep the address", func(t *testing.T) {
		ctx := signIn(t)
		period := "&from=" + statsFrom + "&to=" + statsTo
		openStats(t, ctx, theSite.URL, "?area="+sub+period, 2)
		waitMapIdle(t, ctx)
		at := func(code string) {
			t.Helper()
			waitFor(t, ctx, "the statistics of "+code, `document.querySelector("#app").dataset.ready === "true" && location.search === "?area=`+code+period+`" &&
				document.querySelector("#stats-table tfoot tr").dataset.code === "`+code+`" && document.querySelector("#stats-area").textContent.includes("`+code+`")`)
		}
		// A click on the first community on the map drills into it: its grids, which lead nowhere further.
		p := eval[point](t, ctx, `(() => { const map = window.__gridmap.map, r = map.getCanvas().getBoundingClientRect();
			const q = map.project(map.toDisplay({type: "Point", coordinates: [`+fmt.Sprint(pts[0][0])+`, `+fmt.Sprint(pts[0][1])+`]}).coordinates);
			return {X: r.left + q.x, Y: r.top + q.y}; })()`)
		do(t, ctx, "clicking the community on the map", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, p.X, p.Y), chromedp.MouseClickXY(p.X, p.Y))
		at(comm[0])
		if n := eval[int](t, ctx, `document.querySelectorAll("#stats-table tbody a").length`); n != 0 {
			t.Errorf("the grids' rows have %d links, want none (nothing below a grid)", n)
		}
		// Back up by the breadcrumb, forward again by the back button.
		do(t, ctx, "the breadcrumb", chromedp.Click(chromedp.CSS(`#stats-chain a[data-area="`+sub+`"]`)))
		at(sub)
		eval[bool](t, ctx, `(history.back(), true)`)
		at(comm[0])
		eval[bool](t, ctx, `(history.back(), true)`)
		at(sub)
		// The picker in a tab of its own (a tab's 90 s are not enough for all of this on a loaded machine).
		ctx = signIn(t)
		openStats(t, ctx, theSite.URL, "?area="+sub+period, 2)
		// The picker's search, by the second community's name.
		name := statsOf(t, ctx, sub, "from="+statsFrom+"&to="+statsTo).Children[1].Area.Name
		do(t, ctx, "searching the picker", chromedp.Click(chromedp.CSS("#stats-area")), chromedp.SendKeys(chromedp.CSS("#stats-search"), name))
		do(t, ctx, "choosing the result", chromedp.Click(chromedp.CSS(`#stats-results button[data-code="`+comm[1]+`"]`)))
		at(comm[1])
		// The picker's tree, opened down to the area shown: its subdistrict.
		do(t, ctx, "opening the picker", chromedp.Click(chromedp.CSS("#stats-area")))
		waitFor(t, ctx, "the tree open at the area, the last search cleared", `document.querySelector('#stats-tree li[data-code="`+comm[1]+`"][aria-selected="true"]') &&
			document.querySelector("#stats-search").value === "" && !document.querySelector("#stats-results li")`)
		shot(t, ctx, "stats-6-picker")
		do(t, ctx, "choosing the subdistrict in the tree", chromedp.Click(chromedp.CSS(`#stats-tree li[data-code="`+sub+`"] > .node`)))
		at(sub)
		if hidden := eval[bool](t, ctx, `document.querySelector("#stats-picker").hidden`); !hidden {
			t.Error("the picker stays open after choosing")
		}
		// A child's row in the table drills down; a reload of the address shows the same.
		do(t, ctx, "the table's link", chromedp.Click(chromedp.CSS(`#stats-table a[data-area="`+comm[0]+`"]`)))
		at(comm[0])
		do(t, ctx, "reloading", chromedp.Reload())
		at(comm[0])
		if v := eval[[]string](t, ctx, `[document.querySelector("#stats-from").value, document.querySelector("#stats-to").value]`); v[0] != statsFrom || v[1] != statsTo {
			t.Errorf("after a reload the period is %v, want %s–%s", v, statsFrom, statsTo)
		}
	})
}

// openStats opens the statistics page at base+query and waits for it
// (children: the table's child rows, -1 for any number).
func openStats(t *testing.T, ctx context.Context, base, query string, children int) {
	t.Helper()
	do(t, ctx, "opening the statistics", chromedp.Navigate(base+"/admin/stats"+query))
	cond := `document.querySelector("#app").dataset.ready === "true" && document.querySelector("#stats-table tfoot")`
	if children >= 0 {
		cond += fmt.Sprintf(` && document.querySelectorAll("#stats-table tbody tr[data-code]").length === %d`, children)
	}
	waitFor(t, ctx, "the statistics", cond)
}

// statsOf is the case-stats API's answer for area and query, fetched in the page with its session.
func statsOf(t *testing.T, ctx context.Context, area, query string) cases.AreaStats {
	t.Helper()
	raw := eval[string](t, ctx, `fetch("/api/v1/areas/`+area+`/case-stats?`+query+`").then(r => r.text())`)
	var api cases.AreaStats
	if err := json.Unmarshal([]byte(raw), &api); err != nil {
		t.Fatalf("case-stats: %v: %s", err, raw)
	}
	return api
}

// checkStatsPage compares what the page shows as text (not its data-
// attributes) with the API's answer: every cell of the table, the weekly
// table, the chart's data and its tooltip over each week.
func checkStatsPage(t *testing.T, ctx context.Context, api cases.AreaStats, lang string) {
	t.Helper()
	table := eval[map[string]map[string]string](t, ctx, `Object.fromEntries([...document.querySelectorAll("#stats-table tr[data-code]")].map(tr =>
		[tr.dataset.code, Object.fromEntries([...tr.querySelectorAll("td[data-key]")].map(td => [td.dataset.key, td.textContent]))]))`)
	for _, s := range append([]cases.AreaStats{api}, api.Children...) {
		recv, closed := float64(s.Received), float64(s.Closed)
		for _, c := range []struct {
			key  string
			want *float64
			tol  float64 // what the shown digits can hold
		}{{"received", &recv, 0}, {"closed", &closed, 0}, {"on_time_rate", s.OnTimeRate, 0.0005}, {"response_rate", s.ResponseRate, 0.0005},
			{"resolution_rate", s.ResolutionRate, 0.0005}, {"satisfaction_rate", s.Satisfaction, 0.0005}, {"median_hours_to_close", s.MedianCloseH, 0.05}} {
			text := table[s.Area.Code][c.key]
			got, err := shownNumber(text)
			if err != nil || !near(got, c.want, c.tol) {
				t.Errorf("%s: %s %s shows %q, API %v", lang, s.Area.Code, c.key, text, show(c.want))
			}
		}
	}
	weeks := eval[[]map[string]string](t, ctx, `[...document.querySelectorAll("#stats-weeks thead th[data-start]")].map((th, i) => ({start: th.dataset.start,
		received: document.querySelectorAll('#stats-weeks tr[data-series=received] td')[i].textContent,
		closed: document.querySelectorAll('#stats-weeks tr[data-series=closed] td')[i].textContent}))`)
	chart := eval[[][]float64](t, ctx, `window.__stats.chart.data.map(s => Array.from(s))`)
	if len(weeks) != len(api.Weeks) || len(chart) != 3 || len(chart[0]) != len(api.Weeks) {
		t.Fatalf("%s: weekly table %v, chart %v; API %+v", lang, weeks, chart, api.Weeks)
	}
	for i, w := range api.Weeks {
		if start, _ := time.Parse(time.RFC3339, weeks[i]["start"]); !start.Equal(w.Start) || weeks[i]["received"] != fmt.Sprint(w.Received) || weeks[i]["closed"] != fmt.Sprint(w.Closed) {
			t.Errorf("%s: weekly table %d %v, API %+v", lang, i, weeks[i], w)
		}
		if chart[0][i] != float64(w.Start.Unix()) || chart[1][i] != float64(w.Received) || chart[2][i] != float64(w.Closed) {
			t.Errorf("%s: chart week %d (%v, %v, %v), API %+v", lang, i, chart[0][i], chart[1][i], chart[2][i], w)
		}
		// The tooltip over the week names its values.
		p := eval[point](t, ctx, fmt.Sprintf(`(() => { const u = window.__stats.chart, r = u.over.getBoundingClientRect();
			return {X: r.left + u.valToPos(u.data[0][%d], "x"), Y: r.top + r.height / 2}; })()`, i))
		do(t, ctx, "hovering the week", chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, p.X, p.Y))
		waitFor(t, ctx, "the tooltip of week "+fmt.Sprint(i), fmt.Sprintf(`(() => { const b = document.querySelector("#stats-tooltip"), u = window.__stats.chart;
			return !b.hidden && u.cursor.idx === %d && b.querySelector('[data-series="1"]').textContent.endsWith(": %d") && b.querySelector('[data-series="2"]').textContent.endsWith(": %d"); })()`, i, w.Received, w.Closed))
	}
	if h := eval[string](t, ctx, `document.querySelector("#stats-heading").textContent`); !strings.Contains(h, api.FromDate) || !strings.Contains(h, api.ToDate) {
		t.Errorf("%s: heading %q does not name the period %s–%s", lang, h, api.FromDate, api.ToDate)
	}
}

// shownNumber reads a number as the page shows it: "—" is none, "66.7%" a
// rate of 0.667, digits with a "," or "." as the language writes them.
func shownNumber(s string) (*float64, error) {
	s = strings.TrimSpace(s)
	if s == "—" {
		return nil, nil
	}
	pct := strings.HasSuffix(s, "%")
	v, err := strconv.ParseFloat(strings.ReplaceAll(strings.TrimSuffix(s, "%"), ",", ""), 64)
	if err != nil {
		return nil, err
	}
	if pct {
		v /= 100
	}
	return &v, nil
}

func near(a, b *float64, tol float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return math.Abs(*a-*b) <= tol+1e-9
}

func sameNumber(a, b *float64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return math.Abs(*a-*b) < 1e-9
}

func show(p *float64) string {
	if p == nil {
		return "null"
	}
	return fmt.Sprint(*p)
}
