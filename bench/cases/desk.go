package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// deskFilter is one filter change on /admin/cases, alternating between two
// values so that every repetition is a real change: js applies value i%2 in
// the page (as a person does: a tab click, a select's change, text and
// Enter); query is the same filter for the API alone.
type deskFilter struct {
	name   string
	values [2]string
	js     func(v string) string
	query  func(v string) string
	setup  string // JS run once before the changes, untimed (e.g. a tab click); "" for none
}

// runDesk measures the dispatch desk of a running gridmap server at base in
// Chromium: for each filter, reps changes, each timed from the change to the
// first page's rows painted (the page's User Timing measure desk:painted,
// two animation frames after the rows are in the document), its API part
// (desk:api) and, where the page asks for the counts after the rows, the
// tabs' counts painted (desk:counted; the next change waits for them, so no
// counts request of an earlier change is still running). Then from Go the
// API alone: the rows as the page asks for them now (counts off, limit=50)
// and the same with counts=true (what the page asked before). Medians and p95s.
func runDesk(ctx context.Context, base, name, password string, filters []deskFilter, reps int) {
	actx, cancelA := chromedp.NewExecAllocator(ctx, append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath("/usr/bin/chromium"), chromedp.NoSandbox, chromedp.WindowSize(1440, 900),
		chromedp.Flag("use-angle", "swiftshader"), chromedp.Flag("enable-unsafe-swiftshader", true))...)
	defer cancelA()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	bctx, cancelT := context.WithTimeout(bctx, 20*time.Minute)
	defer cancelT()
	wait := func(cond string) {
		_, err := chromedp.Run(bctx, chromedp.Poll[bool](cond, chromedp.WithPollingTimeout(2*time.Minute)))
		must(err)
	}
	signInDesk(bctx, wait, base, name, password)
	eval := func(expr string, out any) {
		v, err := chromedp.Run(bctx, chromedp.Evaluate[json.RawMessage](expr))
		must(err)
		if out != nil {
			must(json.Unmarshal(v, out))
		}
	}
	api := apiClient(ctx, base, name, password)
	for _, f := range filters {
		var painted, inPage, counted, rows, alone []time.Duration
		if f.setup != "" {
			var n int
			eval(`Number(document.querySelector("#app").dataset.loaded)`, &n)
			eval(`void `+f.setup, nil)
			wait(fmt.Sprintf(`Number(document.querySelector("#app").dataset.loaded) > %d`, n))
			wait(countedJS)
		}
		for i := 0; i < reps; i++ {
			v := f.values[i%2]
			var n int
			eval(`performance.clearMeasures(); Number(document.querySelector("#app").dataset.loaded)`, &n)
			eval(`void `+f.js(v), nil)
			wait(fmt.Sprintf(`Number(document.querySelector("#app").dataset.loaded) > %d`, n))
			// A page that fills the tabs after the rows: wait for them too.
			wait(countedJS)
			var m map[string]float64
			eval(`Object.fromEntries(performance.getEntriesByType("measure").map(e => [e.name, e.duration]))`, &m)
			painted = append(painted, time.Duration(m["desk:painted"]*float64(time.Millisecond)))
			inPage = append(inPage, time.Duration(m["desk:api"]*float64(time.Millisecond)))
			if c, ok := m["desk:counted"]; ok {
				counted = append(counted, time.Duration(c*float64(time.Millisecond)))
			}
			t0 := time.Now()
			api("limit=50&" + f.query(v))
			rows = append(rows, time.Since(t0))
			t0 = time.Now()
			api("counts=true&limit=50&" + f.query(v))
			alone = append(alone, time.Since(t0))
		}
		tabs := "    (none)"
		if len(counted) > 0 {
			tabs = fmt.Sprintf("%6.1f ms", ms(pct(counted, 50)))
		}
		fmt.Printf("desk  %-58s painted p50 %6.1f ms p95 %6.1f ms | its API call p50 %6.1f ms | counts painted p50 %s | API alone rows p50 %6.1f ms, with counts=true p50 %6.1f ms p95 %6.1f ms (%d reps)\n",
			f.name, ms(pct(painted, 50)), ms(pct(painted, 95)), ms(pct(inPage, 50)), tabs, ms(pct(rows, 50)), ms(pct(alone, 50)), ms(pct(alone, 95)), reps)
	}
}

// signInDesk opens /admin/cases in the browser, signs in and waits for the
// first load's rows and then its tabs' counts (desk.js fills them in a second
// request; a tab click before they are drawn would time the counts of the
// sign-in's load, not of the click).
func signInDesk(bctx context.Context, wait func(string), base, name, password string) {
	must(chromedp.Do(bctx, chromedp.Navigate(base+"/admin/cases")))
	wait(`!!document.querySelector("#login input[name=name]")`)
	must(chromedp.Do(bctx,
		chromedp.SendKeys(chromedp.CSS("#login input[name=name]"), name),
		chromedp.SendKeys(chromedp.CSS("#login input[name=password]"), password),
		chromedp.Click(chromedp.CSS("#login button[type=submit]"))))
	wait(`Number(document.querySelector("#app").dataset.loaded) >= 1`)
	// The states' tabs come with the first counts (until then only 全部): the
	// first filter clicks one. (countedJS alone holds before the first counts.)
	wait(`(() => { const d = document.querySelector("#app").dataset; return d.counted !== undefined && Number(d.counted) >= Number(d.loaded); })()`)
}

// countedJS is true once the last load's tabs have their counts (or the page
// does not fill them after the rows).
const countedJS = `(() => { const d = document.querySelector("#app").dataset; return d.counted === undefined || Number(d.counted) >= Number(d.loaded); })()`

// apiClient signs in over HTTP and returns a function that GETs the case
// list for a query (the caller gives limit and counts).
func apiClient(ctx context.Context, base, name, password string) func(q string) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: time.Minute}
	body, _ := json.Marshal(map[string]string{"name": name, "password": password})
	res, err := hc.Post(base+"/api/v1/login", "application/json", strings.NewReader(string(body)))
	must(err)
	res.Body.Close()
	if res.StatusCode != 200 {
		must(fmt.Errorf("signing in as %s: %s", name, res.Status))
	}
	return func(q string) {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/v1/cases?"+q, nil)
		res, err := hc.Do(req)
		must(err)
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			must(fmt.Errorf("GET /api/v1/cases?%s: %s", q, res.Status))
		}
	}
}

// deskFilters are the desk's filter changes the benchmark times: a state
// tab of large states (hundreds of thousands of finished cases; first, so
// that the filters after the small states' tab run in the dispatched tab as
// before), a state tab of small ones, a category, an area (two communities) and free text (a common word,
// then one case's number).
func deskFilters(comms []string) []deskFilter {
	setSelect := func(sel string) func(string) string {
		return func(v string) string {
			return fmt.Sprintf(`(() => { const s = document.querySelector(%q); s.value = %q; s.dispatchEvent(new Event("change", { bubbles: true })); })()`, sel, v)
		}
	}
	reset := `(() => { for (const [s, v] of [["#desk-category", ""], ["#desk-area", ""], ["#desk-q", ""]]) document.querySelector(s).value = v; })();`
	return []deskFilter{
		{"state tab, large states: closed ↔ rated", [2]string{"closed", "rated"},
			func(v string) string {
				return fmt.Sprintf(`document.querySelector('#desk-tabs .tab[data-status=%q]').click()`, v)
			},
			func(v string) string { return "status=" + v }, ""},
		{"state tab: reported ↔ dispatched", [2]string{"reported", "dispatched"},
			func(v string) string {
				return fmt.Sprintf(`document.querySelector('#desk-tabs .tab[data-status=%q]').click()`, v)
			},
			func(v string) string { return "status=" + v }, ""},
		{"category: exposed_rubbish ↔ road_cleaning", [2]string{"exposed_rubbish", "road_cleaning"},
			func(v string) string { return reset + setSelect("#desk-category")(v) },
			func(v string) string { return "status=dispatched&category=" + v }, ""},
		{"area: two communities", [2]string{comms[0], comms[1]},
			func(v string) string { return reset + setSelect("#desk-area")(v) },
			func(v string) string { return "status=dispatched&area=" + v }, ""},
		{"text: 井盖 ↔ 路灯 (a tenth of the cases each)", [2]string{"井盖", "路灯"},
			func(v string) string {
				return reset + fmt.Sprintf(`(() => { const q = document.querySelector("#desk-q"); q.value = %q; q.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true })); })()`, v)
			},
			func(v string) string { return "status=dispatched&q=" + url.QueryEscape(v) }, ""},
		{"text: one case's number ↔ another's", [2]string{"编号123457", "编号654321"},
			func(v string) string {
				return reset + fmt.Sprintf(`(() => { const q = document.querySelector("#desk-q"); q.value = %q; q.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true })); })()`, v)
			},
			func(v string) string { return "status=dispatched&q=" + url.QueryEscape(v) }, ""},
		// Last: it leaves the page on 全部, where a dispatcher's common word
		// once walked the newest-first index (BENCHMARKS.md "A dispatcher's
		// common word on the 全部 tab").
		{"全部 tab, text: 井盖 ↔ 路灯", [2]string{"井盖", "路灯"},
			func(v string) string {
				return reset + fmt.Sprintf(`(() => { const q = document.querySelector("#desk-q"); q.value = %q; q.dispatchEvent(new KeyboardEvent("keydown", { key: "Enter", bubbles: true })); })()`, v)
			},
			func(v string) string { return "q=" + url.QueryEscape(v) },
			`document.querySelector('#desk-tabs .tab[data-status=""]').click()`},
	}
}
