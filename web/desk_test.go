package web_test

import (
	"context"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/paulmach/orb"

	"gridmap/cases"
	"gridmap/data"
	"gridmap/geo"
	"gridmap/web"
)

// deskStaff is a community's desk account for the /admin/cases tests: an
// editor scoped to the community, dispatcher and supervisor of the
// community's office unit.
type deskStaff struct {
	name, password string
	user           *geo.User
}

var deskSeq atomic.Int32

func newDeskStaff(t *testing.T, comm string) *deskStaff {
	t.Helper()
	ctx := context.Background()
	s := &deskStaff{name: fmt.Sprintf("desk-%d", deskSeq.Add(1)), password: "desk-password-1"}
	var err error
	if s.user, err = data.NewAuthService(theSite.db).CreateUser(ctx, geo.NewUser{Name: s.name, Password: s.password, Role: geo.UserEditor, ScopeCode: comm}); err != nil {
		t.Fatal(err)
	}
	var unit int64
	if err := theSite.db.Pool.QueryRow(ctx, `SELECT u.id FROM unit u JOIN area a ON a.id = u.area_id WHERE a.code = $1 ORDER BY u.id LIMIT 1`, comm).Scan(&unit); err != nil {
		t.Fatalf("the unit of community %s: %v", comm, err)
	}
	for _, r := range []cases.Role{cases.RoleDispatcher, cases.RoleSupervisor} {
		if err := theCases.store.AddUnitMember(ctx, theCases.desk, unit, s.user.ID, r); err != nil {
			t.Fatal(err)
		}
	}
	return s
}

// openDesk signs name in on /admin/cases (lib/session.js's form) in a
// desktop-sized tab and waits for the first page of cases.
func openDesk(t *testing.T, name, password string) context.Context {
	t.Helper()
	return openDeskOn(t, theSite.URL, name, password)
}

// openDeskOn is openDesk on the server at base.
func openDeskOn(t *testing.T, base, name, password string) context.Context {
	t.Helper()
	ctx := tab(t, 1440, 900)
	loginOn(t, ctx, base, "/admin/cases", name, password)
	waitFor(t, ctx, "the desk's first page", `Number(document.querySelector("#app").dataset.loaded) >= 1 && !!document.querySelector("#desk-table")`)
	return ctx
}

// deskLoads is how many loads the desk has finished (app's data-loaded).
func deskLoads(t *testing.T, ctx context.Context) int {
	t.Helper()
	// No load in flight first: a reload the page started itself (after an
	// action) could otherwise finish after this count and pass for the next
	// filter's page.
	waitFor(t, ctx, "the desk's loads to settle", `window.__desk && String(window.__desk.loads) === document.querySelector("#app").dataset.loaded`)
	return eval[int](t, ctx, `Number(document.querySelector("#app").dataset.loaded) || 0`)
}

// deskFilterText types q into the desk's search box and waits for the page it loads.
func deskFilterText(t *testing.T, ctx context.Context, q string) {
	t.Helper()
	n := deskLoads(t, ctx)
	do(t, ctx, "typing "+q, chromedp.Evaluate[chromedp.Void](`document.querySelector("#desk-q").value = ""`), chromedp.SendKeys(chromedp.CSS("#desk-q"), q+"\r"))
	waitFor(t, ctx, "the page for "+q, fmt.Sprintf(`Number(document.querySelector("#app").dataset.loaded) > %d && window.__desk.filter.q === %q`, n, q))
}

// deskSelect sets a filter's <select> and waits for the page it loads.
func deskSelect(t *testing.T, ctx context.Context, sel, value string) {
	t.Helper()
	n := deskLoads(t, ctx)
	do(t, ctx, "choosing "+value+" in "+sel, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(
		`(() => { const s = document.querySelector(%q); s.value = %q; s.dispatchEvent(new Event("change", { bubbles: true })); })()`, sel, value)))
	waitFor(t, ctx, "the page after "+sel, fmt.Sprintf(`Number(document.querySelector("#app").dataset.loaded) > %d`, n))
}

// deskRows are the ids of the table's rows, in order.
func deskRows(t *testing.T, ctx context.Context) []int64 {
	t.Helper()
	return eval[[]int64](t, ctx, `[...document.querySelectorAll("#desk-table tbody tr")].map(r => Number(r.dataset.id))`)
}

// deskTabs are the state tabs' counts ("" for 全部).
func deskTabs(t *testing.T, ctx context.Context) map[string]int {
	t.Helper()
	return eval[map[string]int](t, ctx, `Object.fromEntries([...document.querySelectorAll("#desk-tabs .tab")].map(b => [b.dataset.status, Number(b.dataset.count)]))`)
}

// deskMatchesAPI checks that the desk's rows and tabs are the API's page
// for the same filter (query), read as the same account. The tabs' counts
// come in a second request after the rows are painted: it waits for them
// (app's data-counted reaching the last load).
func deskMatchesAPI(t *testing.T, ctx context.Context, api *staffAPI, query string) cases.Page {
	t.Helper()
	var page cases.Page
	api.call(t, "GET", "/api/v1/cases?counts=true&limit=50&"+query, "", nil, &page)
	var want []int64
	for _, c := range page.Cases {
		want = append(want, c.ID)
	}
	if got := deskRows(t, ctx); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("desk rows for %s: %v, want the API's %v", query, got, want)
	}
	deskCounted(t, ctx, query)
	wantTabs := map[string]int{"": 0}
	for st, n := range page.Counts {
		wantTabs[string(st)] = n
		wantTabs[""] += n
	}
	if got := deskTabs(t, ctx); fmt.Sprint(sortedMap(got)) != fmt.Sprint(sortedMap(wantTabs)) {
		t.Errorf("desk tabs for %s: %v, want the API's counts %v", query, got, wantTabs)
	}
	// The tabs' order: 全部, then the states with cases (and the one picked)
	// in the order /api/v1/cases/categories gives (a case's order of life),
	// not the order of the counts' JSON object (alphabetical).
	var cat struct {
		States []cases.State `json:"states"`
	}
	api.call(t, "GET", "/api/v1/cases/categories", "", nil, &cat)
	if len(cat.States) < 10 {
		t.Fatalf("/api/v1/cases/categories gives %d states: %v", len(cat.States), cat.States)
	}
	status, _ := url.ParseQuery(query)
	wantOrder := []string{""}
	for _, st := range cat.States {
		if page.Counts[st] > 0 || status.Get("status") == string(st) {
			wantOrder = append(wantOrder, string(st))
		}
	}
	if got := eval[[]string](t, ctx, `[...document.querySelectorAll("#desk-tabs .tab")].map(b => b.dataset.status)`); fmt.Sprint(got) != fmt.Sprint(wantOrder) {
		t.Errorf("desk tabs' order for %s: %q, want %q", query, got, wantOrder)
	}
	return page
}

// deskCounted waits until the tabs show the counts of the desk's last load
// (app's data-counted reaching data-loaded, no placeholder left).
func deskCounted(t *testing.T, ctx context.Context, query string) {
	t.Helper()
	waitFor(t, ctx, "the tabs' counts for "+query, `(() => { const d = document.querySelector("#app").dataset; return Number(d.counted) >= Number(d.loaded) && !document.querySelector("#desk-tabs .tab.pending"); })()`)
}

func sortedMap(m map[string]int) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(out)
	return out
}

// deskOpen selects case id by clicking its row and waits for its detail.
func deskOpen(t *testing.T, ctx context.Context, id int64) {
	t.Helper()
	do(t, ctx, "clicking the row", chromedp.Click(chromedp.CSS(fmt.Sprintf(`#desk-table tbody tr[data-id="%d"]`, id))))
	waitFor(t, ctx, "the case's detail", fmt.Sprintf(`document.querySelector("#desk-detail").dataset.id === "%d" && document.querySelector("#desk-detail").dataset.loaded === "true"`, id))
}

// deskAct runs action on the open case through its button and the
// #confirm-action dialog (fill types the inputs) and waits for the case's new
// state.
func deskAct(t *testing.T, ctx context.Context, action string, want cases.State, fill ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	waitFor(t, ctx, "the "+action+" button", fmt.Sprintf(`!!document.querySelector('#detail-actions button[data-action=%q]')`, action))
	do(t, ctx, "clicking "+action, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#detail-actions button[data-action=%q]`, action))))
	waitFor(t, ctx, "the confirmation", fmt.Sprintf(`document.querySelector("#confirm-action").open && document.querySelector("#confirm-action").dataset.action === %q`, action))
	if what := eval[string](t, ctx, `document.querySelector("#act-what").textContent`); what == "" || strings.Contains(what, "work.confirm") {
		t.Errorf("%s: the dialog does not say what happens: %q", action, what)
	}
	do(t, ctx, "filling "+action, fill...)
	do(t, ctx, "confirming "+action, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#confirm-action button[data-confirm=%q]`, action))))
	waitFor(t, ctx, "the case "+string(want), fmt.Sprintf(`!document.querySelector("#confirm-action").open && document.querySelector("#desk-detail").dataset.loaded === "true" && document.querySelector("#desk-detail").dataset.state === %q`, want))
}

// deskMapAt is where case id's point is drawn on the desk map (CSS pixels of
// the page) and the colour of the canvas there ("r,g,b").
type mapPixel struct {
	X, Y  float64
	RGB   []int
	Props map[string]any
}

func deskPoint(t *testing.T, ctx context.Context, id int64, lon, lat float64) mapPixel {
	t.Helper()
	waitFor(t, ctx, "the case's point on the map", fmt.Sprintf(`window.__gridmap.idle && window.__desk.map.queryRenderedFeatures({ layers: ["desk-cases"] }).some(f => f.properties.id === %d)`, id))
	return eval[mapPixel](t, ctx, fmt.Sprintf(`(() => {
		const m = window.__desk.map;
		const p = m.project(m.toDisplay({ type: "Point", coordinates: [%f, %f] }).coordinates);
		const r = m.getCanvas().getBoundingClientRect();
		const c = document.createElement("canvas");
		const s = m.getCanvas();
		c.width = s.width; c.height = s.height;
		const g = c.getContext("2d");
		g.drawImage(s, 0, 0);
		const k = s.width / r.width;
		const d = g.getImageData(Math.round(p.x * k), Math.round(p.y * k), 1, 1).data;
		const f = m.queryRenderedFeatures({ layers: ["desk-cases"] }).find(f => f.properties.id === %d);
		return { X: r.left + p.x, Y: r.top + p.y, RGB: [d[0], d[1], d[2]], Props: f.properties };
	})()`, lon, lat, id))
}

// deskMapCases waits until the map, idle, holds in its cases source (the
// loaded tiles) exactly want of the cases ids: the tiles of the desk's
// filter.
func deskMapCases(t *testing.T, ctx context.Context, what string, ids, want []int64) {
	t.Helper()
	list := func(ids []int64) string {
		s := append([]int64(nil), ids...)
		sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
		return strings.Trim(strings.Join(strings.Fields(fmt.Sprint(s)), ","), "[]")
	}
	waitFor(t, ctx, fmt.Sprintf("the map's cases after %s: %s", what, list(want)), fmt.Sprintf(`window.__gridmap.idle && (() => {
		const m = window.__desk.map, ids = [%s];
		const got = new Set(m.querySourceFeatures("cases", { sourceLayer: "cases" }).map(f => f.properties.id).filter(id => ids.includes(id)));
		return [...got].sort((a, b) => a - b).join(",");
	})() === %q`, list(ids), list(want)))
}

// TestDeskFiltersSelectAndDispatch: a community's desk account signs in on
// /admin/cases; filtering by text, category and state shows the rows and the
// per-state counts the API gives for the same filter; a row click selects the
// case on the map and flies there, a click on another case's point selects
// its row and opens it; accept and dispatch through the buttons and
// #confirm-action send the case to the routing's suggested unit.
func TestDeskFiltersSelectAndDispatch(t *testing.T) {
	p := newPatrol(t, 30)
	desk := newDeskStaff(t, p.comm)
	bg := context.Background()
	tag := fmt.Sprintf("桌面%d", time.Now().UnixNano()%100000)
	report := func(category, desc string, dLon float64) (int64, orb.Point) {
		pt := orb.Point{p.lon + dLon, p.lat}
		res, err := theCases.store.Intake(bg, nil, cases.Intake{Category: category, Point: pt, Description: tag + desc, Address: desc})
		if err != nil {
			t.Fatal(err)
		}
		return theCases.caseID(t, res.TrackingCode), pt
	}
	east, eastAt := report("exposed_rubbish", "东门垃圾", 0)
	west, westAt := report("exposed_rubbish", "西门垃圾", -0.0012)
	poster, _ := report("illegal_posters", "电线杆小广告", 0.0012)
	api := signInAPI(t, desk.name, desk.password)

	ctx := openDesk(t, desk.name, desk.password)
	deskFilterText(t, ctx, tag)
	if page := deskMatchesAPI(t, ctx, api, "q="+url.QueryEscape(tag)); len(page.Cases) != 3 {
		t.Fatalf("text filter %s: %d cases, want the test's 3", tag, len(page.Cases))
	}
	// The map follows the filter: points (z16) of the three, then of the
	// category's two only.
	waitFor(t, ctx, "the desk's map", `window.__desk.map && window.__desk.map.loaded() && window.__desk.map.getSource("cases")`)
	do(t, ctx, "the map at the cases", chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`void window.__desk.map.jumpTo({ center: window.__desk.map.toDisplay({ type: "Point", coordinates: [%f, %f] }).coordinates, zoom: 16 })`, eastAt[0], eastAt[1])))
	ours := []int64{east, west, poster}
	deskMapCases(t, ctx, "the text filter", ours, ours)
	deskSelect(t, ctx, "#desk-category", "exposed_rubbish")
	deskMatchesAPI(t, ctx, api, "q="+url.QueryEscape(tag)+"&category=exposed_rubbish")
	deskMapCases(t, ctx, "the category filter", ours, []int64{east, west})
	// The rows and the counts are two requests (issue 11: the rows painted
	// without waiting for the counts): the list's without counts, then the
	// same with counts=true.
	reqs := eval[[]string](t, ctx, `performance.getEntriesByType("resource").map(e => e.name).filter(u => u.includes("/api/v1/cases?") && u.includes("category=exposed_rubbish"))`)
	var rows, counts int
	for _, u := range reqs {
		switch {
		case strings.Contains(u, "counts=true") && strings.Contains(u, "limit=50"):
			counts++
		case !strings.Contains(u, "counts=") && strings.Contains(u, "limit=50"):
			rows++
		default:
			t.Errorf("the desk asked %s: neither the rows without counts nor the counts alone", u)
		}
	}
	if rows != 1 || counts != 1 {
		t.Errorf("the desk's requests for the category filter: %d for the rows, %d for the counts, want 1 each: %q", rows, counts, reqs)
	}
	shot(t, ctx, "desk-1-filtered")

	// Row → map: the row's case is selected on the map, which flies to it.
	deskOpen(t, ctx, east)
	waitFor(t, ctx, "the map at the case", fmt.Sprintf(`(() => { const m = window.__desk.map; const c = m.getCenter(); return !m.isMoving() && m.getZoom() >= 16 && Math.abs(c.lng - %f) < 1e-4 && Math.abs(c.lat - %f) < 1e-4; })()`, eastAt[0], eastAt[1]))
	if got := eval[string](t, ctx, `JSON.stringify(window.__desk.map.getFilter("desk-selected"))`); got != fmt.Sprintf(`["==",["get","id"],%d]`, east) {
		t.Errorf("the map's selection after the row click: %s, want case %d", got, east)
	}
	// Map → row: a click on the other case's point selects its row and opens it.
	do(t, ctx, "zooming out a little", chromedp.Evaluate[chromedp.Void](`void window.__desk.map.jumpTo({ zoom: 16 })`))
	pt := deskPoint(t, ctx, west, westAt[0], westAt[1])
	do(t, ctx, "clicking the west case's point", chromedp.MouseClickXY(pt.X, pt.Y))
	waitFor(t, ctx, "the west case's row selected and open", fmt.Sprintf(`document.querySelector('#desk-table tr.selected')?.dataset.id === "%d" && document.querySelector("#desk-detail").dataset.id === "%d" && document.querySelector("#desk-detail").dataset.loaded === "true"`, west, west))
	if n := eval[int](t, ctx, `document.querySelectorAll("#desk-table tr.selected").length`); n != 1 {
		t.Errorf("%d rows selected, want 1", n)
	}

	// Accept and dispatch through the desk: the suggested unit is the first
	// choice. A second tab: each has 90 s, and a loaded machine needs them.
	ctx = openDesk(t, desk.name, desk.password)
	deskFilterText(t, ctx, tag)
	deskSelect(t, ctx, "#desk-category", "exposed_rubbish")
	deskOpen(t, ctx, east)
	deskAct(t, ctx, "accept", cases.StateAccepted)
	var rec cases.Record
	api.call(t, "GET", fmt.Sprintf("/api/v1/cases/%d", east), "", nil, &rec)
	if len(rec.DispatchUnits) == 0 {
		t.Fatalf("case %d offers no unit to dispatch to: %+v", east, rec)
	}
	deskAct(t, ctx, "dispatch", cases.StateDispatched, chromedp.Evaluate[chromedp.Void](`(() => {
		const s = document.querySelector("#act-unit");
		if (s.selectedIndex !== 0 || !s.options[0].textContent.includes("建议")) throw new Error("the suggestion is not first: " + s.options[0].textContent);
	})()`))
	api.call(t, "GET", fmt.Sprintf("/api/v1/cases/%d", east), "", nil, &rec)
	if rec.State != cases.StateDispatched || rec.Unit == nil || rec.Unit.Name == "" {
		t.Fatalf("after the desk's dispatch: %+v", rec)
	}
	if tl := eval[string](t, ctx, `document.querySelector("#detail-timeline").textContent`); !strings.Contains(tl, "立案") || !strings.Contains(tl, "派遣") || !strings.Contains(tl, desk.name) {
		t.Errorf("the timeline lacks the desk's steps by %s: %q", desk.name, tl)
	}
	// The state tab: only the dispatched case, the counts still of every state.
	waitFor(t, ctx, "the dispatched tab", `!!document.querySelector('#desk-tabs .tab[data-status="dispatched"]')`)
	n := deskLoads(t, ctx)
	do(t, ctx, "the dispatched tab", chromedp.Click(chromedp.CSS(`#desk-tabs .tab[data-status="dispatched"]`)))
	waitFor(t, ctx, "the dispatched page", fmt.Sprintf(`Number(document.querySelector("#app").dataset.loaded) > %d`, n))
	if page := deskMatchesAPI(t, ctx, api, "q="+url.QueryEscape(tag)+"&category=exposed_rubbish&status=dispatched"); len(page.Cases) != 1 || page.Cases[0].ID != east || page.Counts[cases.StateReported] != 1 {
		t.Errorf("dispatched tab: %+v, want case %d alone with 1 still reported in the counts", page, east)
	}
	shot(t, ctx, "desk-2-dispatched")
}

// TestDeskOverdueRedAndEscalation: a case dispatched a fortnight ago
// (through a store whose injectable clock is set back) is past its deadline:
// its row is red and its point on the desk map is drawn red; it is not in the
// community tier's list until the escalation sweep (run at the real now)
// moves it up a tier to the community's unit, after which the desk's refresh
// lists it there with the escalation in its timeline. This test's grid is its
// own (newPatrol offset 31), and no earlier test of the site leaves a
// dispatched case past due, so the sweep escalates this case only.
func TestDeskOverdueRedAndEscalation(t *testing.T) {
	p := newPatrol(t, 31)
	desk := newDeskStaff(t, p.comm)
	bg := context.Background()
	past, err := data.NewCaseStore(bg, theSite.db, data.CaseOptions{Now: func() time.Time { return time.Now().Add(-14 * 24 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	tag := fmt.Sprintf("超时%d", time.Now().UnixNano()%100000)
	res, err := past.Intake(bg, nil, cases.Intake{Category: "exposed_rubbish", Point: orb.Point{p.lon, p.lat}, Description: tag + "两周前的垃圾", Address: "超时测试"})
	if err != nil {
		t.Fatal(err)
	}
	id := theCases.caseID(t, res.TrackingCode)
	deskAcceptAndDispatch(t, past, id)

	ctx := openDesk(t, desk.name, desk.password)
	deskFilterText(t, ctx, tag)
	if got := deskRows(t, ctx); len(got) != 1 || got[0] != id {
		t.Fatalf("the overdue case's row: %v, want %d", got, id)
	}
	if o := eval[string](t, ctx, `document.querySelector("#desk-table tbody tr").dataset.overdue`); o != "true" {
		t.Errorf("the row's overdue flag: %q, want true", o)
	}
	if c := eval[string](t, ctx, `getComputedStyle(document.querySelector("#desk-table tbody tr td.left")).color`); c != "rgb(200, 16, 46)" {
		t.Errorf("the overdue row's time left is %s, want red rgb(200, 16, 46)", c)
	}
	deskOpen(t, ctx, id)
	waitFor(t, ctx, "the map at the case", `!window.__desk.map.isMoving() && window.__desk.map.getZoom() >= 16`)
	pt := deskPoint(t, ctx, id, p.lon, p.lat)
	if pt.Props["overdue"] != true || pt.RGB[0] < 170 || pt.RGB[1] > 90 || pt.RGB[2] > 100 {
		t.Errorf("the overdue case on the map: properties %v, colour %v, want overdue and red", pt.Props, pt.RGB)
	}
	shot(t, ctx, "desk-3-overdue-red")

	// The community tier's list: not there before the sweep, there after it.
	deskSelect(t, ctx, "#desk-tier", "2")
	if got := deskRows(t, ctx); len(got) != 0 {
		t.Fatalf("community tier before escalation: %v, want none", got)
	}
	if n, err := theCases.store.EscalateDue(bg, time.Now()); err != nil || n < 1 {
		t.Fatalf("escalation sweep: %d, %v; want the overdue case escalated", n, err)
	}
	n := deskLoads(t, ctx)
	do(t, ctx, "refreshing the desk", chromedp.Click(chromedp.CSS("#desk-refresh")))
	waitFor(t, ctx, "the escalated case in the community tier", fmt.Sprintf(`Number(document.querySelector("#app").dataset.loaded) > %d && document.querySelector('#desk-table tbody tr[data-id="%d"]')`, n, id))
	rec, err := theCases.store.Case(bg, theCases.desk, id)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Tier != cases.TierCommunity || rec.Unit == nil {
		t.Fatalf("after escalation: tier %d unit %+v, want the community tier", rec.Tier, rec.Unit)
	}
	if cell := eval[string](t, ctx, fmt.Sprintf(`document.querySelector('#desk-table tbody tr[data-id="%d"]').textContent`, id)); !strings.Contains(cell, rec.Unit.Name) || !strings.Contains(cell, "社区") {
		t.Errorf("the escalated row %q lacks the community tier or its unit %s", cell, rec.Unit.Name)
	}
	waitFor(t, ctx, "the escalation in the timeline", `!!document.querySelector('#detail-timeline li[data-action="escalate"]')`)
	shot(t, ctx, "desk-4-escalated")
}

// TestDeskCountsOverTheCap: when more cases match a text search than the
// store counts (CaseOptions.CountsCap: 3 here, on a server of its own over
// the test site's database, instead of 10,001 cases), the API gives
// counts_over and no counts, and the desk's 全部 tab says the catalogue's
// desk.countOver ("超过 3") while every state has its tab without a number,
// its title (desk.countOverHint) saying why; a search under the cap then
// shows the API's exact counts again. As the unscoped admin (case-desk):
// the planner's estimate of the over search's matches, which decides
// whether the counts stop at the cap, is then the text's alone.
func TestDeskCountsOverTheCap(t *testing.T) {
	p := newPatrol(t, 41)
	bg := context.Background()
	const countsCap = 3
	capped, err := data.NewCaseStore(bg, theSite.db, data.CaseOptions{CountsCap: countsCap})
	if err != nil {
		t.Fatal(err)
	}
	deps := theSite.deps
	deps.Cases = capped
	base := serverWithDeps(t, deps, web.Config{Attribution: "© OpenStreetMap contributors"})

	n := time.Now().UnixNano() % 100000
	over, under := fmt.Sprintf("超限%d", n), fmt.Sprintf("限内%d", n)
	report := func(desc string, i int) int64 {
		res, err := theCases.store.Intake(bg, nil, cases.Intake{Category: "exposed_rubbish", Point: orb.Point{p.lon + float64(i)*2e-4, p.lat}, Description: desc, Address: desc})
		if err != nil {
			t.Fatal(err)
		}
		return theCases.caseID(t, res.TrackingCode)
	}
	// The over search matches 8 cases with one description: after ANALYZE
	// it is among the column's most common values, so PostgreSQL expects
	// its 8 matches (more than the cap) and the counts read at most 4.
	for i := 0; i < 2*countsCap+2; i++ {
		report(over+"井盖松动", i)
	}
	accepted := report(under+"路灯不亮", 0)
	report(under+"路灯不亮", 1)
	theCases.act(t, theCases.desk, accepted, cases.ActionRequest{Action: cases.ActionAccept})
	if _, err := theSite.db.Pool.Exec(bg, `ANALYZE case_report`); err != nil {
		t.Fatal(err)
	}
	cat, err := web.LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	overText := strings.ReplaceAll(cat["zh-CN"]["desk.countOver"], "{n}", fmt.Sprint(countsCap))
	overHint := strings.ReplaceAll(cat["zh-CN"]["desk.countOverHint"], "{n}", fmt.Sprint(countsCap))
	if overText == "" || overHint == "" || strings.Contains(overText+overHint, "{") {
		t.Fatalf("the catalogue's desk.countOver %q, desk.countOverHint %q", overText, overHint)
	}
	api := signInAPIAt(t, base, "case-desk", "case-desk-password")
	var states struct {
		States []cases.State `json:"states"`
	}
	api.call(t, "GET", "/api/v1/cases/categories", "", nil, &states)

	ctx := openDeskOn(t, base, "case-desk", "case-desk-password")
	deskFilterText(t, ctx, over)
	var page cases.Page
	api.call(t, "GET", "/api/v1/cases?counts=true&limit=50&q="+url.QueryEscape(over), "", nil, &page)
	if page.CountsOver != countsCap || len(page.Counts) != 0 || len(page.Cases) != 2*countsCap+2 {
		t.Fatalf("the API for %s: %d cases, counts %v, over %d; want %d cases, no counts, over %d", over, len(page.Cases), page.Counts, page.CountsOver, 2*countsCap+2, countsCap)
	}
	deskCounted(t, ctx, over)
	type tabView struct {
		Status, Count, Over, Text, Title string
		HasCount                         bool
	}
	tabs := func() []tabView {
		return eval[[]tabView](t, ctx, `[...document.querySelectorAll("#desk-tabs .tab")].map(b => ({
			Status: b.dataset.status, HasCount: "count" in b.dataset, Count: b.dataset.count || "", Over: b.dataset.over || "",
			Text: b.querySelector(".count").textContent, Title: b.querySelector(".count").title }))`)
	}
	got := tabs()
	var gotStates []string
	for _, tb := range got {
		gotStates = append(gotStates, tb.Status)
		if tb.HasCount {
			t.Errorf("over the cap, tab %q has a count %q: want none", tb.Status, tb.Count)
		}
		if tb.Title != overHint {
			t.Errorf("over the cap, tab %q's title is %q, want the catalogue's %q", tb.Status, tb.Title, overHint)
		}
		switch {
		case tb.Status == "" && (tb.Over != fmt.Sprint(countsCap) || tb.Text != overText):
			t.Errorf("over the cap, 全部 says %q (data-over %q), want %q (data-over %d)", tb.Text, tb.Over, overText, countsCap)
		case tb.Status != "" && (tb.Text != "" || tb.Over != ""):
			t.Errorf("over the cap, tab %q says %q (data-over %q), want no number", tb.Status, tb.Text, tb.Over)
		}
	}
	// Every state may have cases: all of them have a tab, in a case's order of life.
	wantStates := []string{""}
	for _, st := range states.States {
		wantStates = append(wantStates, string(st))
	}
	if fmt.Sprint(gotStates) != fmt.Sprint(wantStates) {
		t.Errorf("over the cap, the tabs are %q, want 全部 and every state %q", gotStates, wantStates)
	}
	shot(t, ctx, "desk-counts-over")

	// Under the cap: the exact numbers, 全部 their sum, no "over" left.
	deskFilterText(t, ctx, under)
	if page := deskMatchesAPI(t, ctx, api, "q="+url.QueryEscape(under)); page.CountsOver != 0 || fmt.Sprint(page.Counts) != "map[accepted:1 reported:1]" {
		t.Errorf("the API for %s: counts %v, over %d; want map[accepted:1 reported:1], not over", under, page.Counts, page.CountsOver)
	}
	for _, tb := range tabs() {
		if tb.Over != "" || !tb.HasCount || tb.Title == overHint {
			t.Errorf("under the cap, tab %q: data-over %q, count %q (%v), title %q: want its number and no over", tb.Status, tb.Over, tb.Count, tb.HasCount, tb.Title)
		}
	}
}
