package web_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
	"github.com/paulmach/orb"

	"gridmap/calendar"
	"gridmap/cases"
	"gridmap/data"
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
	printed := eval[map[string]bool](t, ctx, `({controls: getComputedStyle(document.querySelector("#stats-form")).display !== "none",
		chart: document.querySelector("#stats-chart canvas").getBoundingClientRect().width >= 600})`)
	if printed["controls"] || !printed["chart"] {
		t.Errorf("in print media: controls shown %v, chart at least 600 px wide %v", printed["controls"], printed["chart"])
	}
	waitMapIdle(t, ctx)
	shot(t, ctx, "stats-4-print-media")
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
