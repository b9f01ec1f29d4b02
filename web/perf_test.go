package web_test

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Throttling of TestFirstLoad, DevTools' "Slow 3G" preset of old (before its
// latency was multiplied by 5): 400 ms per request, 400 kbit/s both ways
// (500 kbit/s × 0.8), and a CPU 4× slower than this machine's.
const (
	slow3GLatencyMs = 400
	slow3GBytesPerS = 500 * 1000 / 8 * 0.8
	cpuSlowdown     = 4
)

// perfProbe runs in every page before its own scripts (CDP's
// addScriptToEvaluateOnNewDocument is not subject to the page's CSP): it
// notes when the result card (#grid-name) first appears.
const perfProbe = `window.__perf = { card: 0 };
new MutationObserver(() => {
  if (!window.__perf.card && document.querySelector("#result #grid-name")) window.__perf.card = performance.now();
}).observe(document, { subtree: true, childList: true });`

// firstLoad is one throttled first visit.
type firstLoad struct {
	bytesBeforeMap, bytesTotal float64 // transferred (encoded bodies and headers), as the network saw them
	inputMs                    float64 // DOMContentLoaded: the page's module (which wires the input) has run
	cardAfterAnswerMs          float64 // the card's appearance after the last API answer it shows arrived
	mapMs                      float64 // when the page asked for the map (the gridmap:map mark); 0: no mark
	requests                   int
}

// throttledLoad opens path in a fresh browser context (empty cache) on a
// 420×860 phone viewport under slow 3G and a 4× slower CPU, and waits for
// ready (a JavaScript condition).
func throttledLoad(t *testing.T, path, ready string) firstLoad {
	t.Helper()
	ctx := tab(t, 420, 860)
	var mu sync.Mutex
	wall := map[network.RequestID]float64{} // request → epoch ms it was sent
	size := map[network.RequestID]float64{}
	chromedp.Listen(ctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			if _, ok := wall[e.RequestID]; !ok {
				wall[e.RequestID] = e.WallTime.Float64() * 1000
			}
		case *network.EventLoadingFinished:
			size[e.RequestID] += e.EncodedDataLength
		}
	})
	do(t, ctx, "throttling", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		if _, err := cdp.Call(ctx, tg, network.Enable, network.EnableParams{}); err != nil {
			return err
		}
		if _, err := cdp.Call(ctx, tg, network.SetCacheDisabled, network.SetCacheDisabledParams{CacheDisabled: true}); err != nil {
			return err
		}
		if _, err := cdp.Call(ctx, tg, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
			MatchedNetworkConditions: []*network.Conditions{{Latency: slow3GLatencyMs, DownloadThroughput: slow3GBytesPerS, UploadThroughput: slow3GBytesPerS}},
		}); err != nil {
			return err
		}
		if _, err := cdp.Call(ctx, tg, emulation.SetCPUThrottlingRate, emulation.SetCPUThrottlingRateParams{Rate: cpuSlowdown}); err != nil {
			return err
		}
		_, err := cdp.Call(ctx, tg, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: perfProbe})
		return err
	}))
	do(t, ctx, "opening "+path, chromedp.Navigate(theSite.URL+path))
	waitFor(t, ctx, "the page to be ready", ready)
	m := eval[map[string]float64](t, ctx, `(() => {
		const nav = performance.getEntriesByType("navigation")[0];
		const mark = performance.getEntriesByName("gridmap:map")[0];
		const answers = performance.getEntriesByType("resource").filter((r) => /\/api\/v1\/(lookup|buildings\/)/.test(r.name) && r.responseEnd <= (window.__perf.card || Infinity));
		return {
			origin: performance.timeOrigin, input: nav.domContentLoadedEventEnd,
			map: mark ? mark.startTime : 0, card: window.__perf.card,
			answer: Math.max(0, ...answers.map((r) => r.responseEnd)),
		};
	})()`)
	t.Logf("%s: requests before the map (start–end ms, bytes): %s", path, eval[string](t, ctx, `[performance.getEntriesByType("navigation")[0], ...performance.getEntriesByType("resource")]
		.filter((r) => r.startTime < (performance.getEntriesByName("gridmap:map")[0]?.startTime ?? Infinity))
		.map((r) => r.name.replace(location.origin, "").slice(0, 40) + " " + r.startTime.toFixed(0) + "–" + r.responseEnd.toFixed(0) + " " + r.transferSize).join("; ")`))
	r := firstLoad{inputMs: m["input"], mapMs: m["map"]}
	if m["card"] > 0 {
		r.cardAfterAnswerMs = m["card"] - m["answer"]
	}
	mapAt := m["origin"] + m["map"]
	mu.Lock()
	defer mu.Unlock()
	for id, n := range size {
		r.bytesTotal += n
		r.requests++
		if m["map"] == 0 || wall[id] < mapAt {
			r.bytesBeforeMap += n
		}
	}
	return r
}

func median(v []float64) float64 {
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// TestFirstLoad measures first visits under slow 3G and a 4× slower CPU
// (GRIDMAP_PERF_RUNS times each, default 3, medians) and asserts the weight
// targets of the "right, light and clear" issue: the resident page
// transfers at most 500 KB before it asks for the map and a 404 page at most
// 30 KB; the building page, which shares the resident's bundle, is held to
// the same 500 KB before its map. The times (input usable, ≤ 2 s; a shared
// link's card, ≤ 1 s after the answer) are logged as medians for
// BENCHMARKS.md, not asserted.
// BENCHMARKS.md has the numbers.
func TestFirstLoad(t *testing.T) {
	runs := 3
	if n, err := strconv.Atoi(os.Getenv("GRIDMAP_PERF_RUNS")); err == nil && n > 0 {
		runs = n
	}
	shared := "/?address=" + url.QueryEscape("人民街11号3栋")
	cases := []struct {
		name, path, ready string
	}{
		// Ready: the page has asked for the map (the gridmap:map mark) and
		// loaded; the map itself is not waited for.
		{"home", "/", `document.readyState === "complete" && performance.getEntriesByName("gridmap:map").length`},
		{"shared link", shared, `window.__perf.card > 0 && document.readyState === "complete" && performance.getEntriesByName("gridmap:map").length`},
		{"404 page", "/b/NO-SUCH-BUILDING", `document.readyState === "complete" && document.querySelector("#not-found")`},
		// The building page a poster's QR code opens.
		{"building page", "/b/" + buildingCode(t, "人民街11号3栋"), `document.readyState === "complete" && performance.getEntriesByName("gridmap:map").length`},
	}
	type series struct{ before, total, input, card []float64 }
	got := map[string]*series{}
	for _, c := range cases {
		got[c.name] = &series{}
		for i := 0; i < runs; i++ {
			// A subtest per run: its tab is closed when it ends, so no page of an
			// earlier run (a map still loading) competes for the CPU.
			var r firstLoad
			if !t.Run(fmt.Sprintf("%s %d", c.name, i+1), func(t *testing.T) { r = throttledLoad(t, c.path, c.ready) }) {
				t.FailNow()
			}
			s := got[c.name]
			s.before, s.total = append(s.before, r.bytesBeforeMap), append(s.total, r.bytesTotal)
			s.input, s.card = append(s.input, r.inputMs), append(s.card, r.cardAfterAnswerMs)
			t.Logf("%s run %d: %.1f KB before the map (asked at %.0f ms), %.1f KB finished by then (%d requests), input %.0f ms, card %.0f ms after the answer",
				c.name, i+1, r.bytesBeforeMap/1000, r.mapMs, r.bytesTotal/1000, r.requests, r.inputMs, r.cardAfterAnswerMs)
		}
	}
	var report []string
	for _, c := range cases {
		s := got[c.name]
		report = append(report, fmt.Sprintf("%s: median %.1f KB before the map, %.1f KB finished by then, input %.0f ms, card %.0f ms after the answer",
			c.name, median(s.before)/1000, median(s.total)/1000, median(s.input), median(s.card)))
	}
	t.Log("medians of " + strconv.Itoa(runs) + " runs:\n" + strings.Join(report, "\n"))
	home, link, nf, bp := got["home"], got["shared link"], got["404 page"], got["building page"]
	if v := median(bp.before); v > 500e3 {
		t.Errorf("building page: %.1f KB before the map, want ≤ 500 KB", v/1000)
	}
	if v := median(home.before); v > 500e3 {
		t.Errorf("home: %.1f KB before the map, want ≤ 500 KB", v/1000)
	}
	if v := median(link.before); v > 500e3 {
		t.Errorf("shared link: %.1f KB before the map, want ≤ 500 KB", v/1000)
	}
	// Times are reported, not asserted: on a shared machine they measure its
	// load as much as the page (rule 5: performance lives in benchmarks;
	// BENCHMARKS.md "Pages" has the figures and the command). What is
	// asserted is what does not depend on the machine: bytes, and that the
	// shared link's card came after the answer at all.
	if v := median(link.card); v <= 0 {
		t.Errorf("shared link: the card did not show after the answer (%.0f ms)", v)
	}
	if v := median(nf.total); v > 30e3 {
		t.Errorf("404 page: %.1f KB, want ≤ 30 KB", v/1000)
	}
}
