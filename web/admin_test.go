package web_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/chromedp"

	"gridmap/data"
	"gridmap/geo"
)

func ftoa(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

const adminName, adminPassword = "admin", "correct horse battery"

var adminOnce sync.Once

func ensureAdmin(t *testing.T) {
	t.Helper()
	needSite(t)
	adminOnce.Do(func() {
		if _, err := data.NewAuthService(theSite.db).CreateUser(context.Background(), geo.NewUser{Name: adminName, Password: adminPassword, Role: geo.UserAdmin}); err != nil {
			t.Fatalf("creating the admin: %v", err)
		}
	})
}

type point struct{ X, Y float64 }

// drag presses the left button at from, moves in steps and releases at to,
// as a person dragging a vertex would.
func drag(t *testing.T, ctx context.Context, from, to point) {
	t.Helper()
	actions := []chromedp.Action[chromedp.Void]{
		chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, from.X, from.Y),
		chromedp.MouseEvent(input.DispatchMouseEventTypeMousePressed, from.X, from.Y, chromedp.ButtonLeft, chromedp.ClickCount(1)),
	}
	const steps = 12
	for i := 1; i <= steps; i++ {
		f := float64(i) / steps
		actions = append(actions, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved,
			from.X+(to.X-from.X)*f, from.Y+(to.Y-from.Y)*f, chromedp.ButtonLeft))
	}
	actions = append(actions, chromedp.MouseEvent(input.DispatchMouseEventTypeMouseReleased, to.X, to.Y, chromedp.ButtonLeft, chromedp.ClickCount(1)))
	do(t, ctx, "dragging", actions...)
}

// signIn opens /admin in a fresh browser context and signs in.
func signIn(t *testing.T) context.Context {
	t.Helper()
	ensureAdmin(t)
	ctx := tab(t, 1400, 900)
	loginAt(t, ctx, "/admin", adminName, adminPassword)
	waitFor(t, ctx, "the area tree down to the communities", `document.querySelector('#tree li[data-level=community]')`)
	return ctx
}

// loginAt opens path on the test site and signs name in through its login
// form (the editor's, or lib/session.js's: the same fields).
func loginAt(t *testing.T, ctx context.Context, path, name, password string) {
	t.Helper()
	loginOn(t, ctx, theSite.URL, path, name, password)
}

// loginOn is loginAt on the server at base.
func loginOn(t *testing.T, ctx context.Context, base, path, name, password string) {
	t.Helper()
	do(t, ctx, "opening "+path, chromedp.Navigate(base+path))
	waitFor(t, ctx, "the login form", `document.querySelector("#login input[name=name]")`)
	do(t, ctx, "signing in",
		chromedp.SendKeys(chromedp.CSS("#login input[name=name]"), name),
		chromedp.SendKeys(chromedp.CSS("#login input[name=password]"), password),
		chromedp.Click(chromedp.CSS("#login button[type=submit]")))
}

// The editor test edits 和平社区 (the page tests read 幸福社区, which it leaves alone).
const (
	editCommunity = "330199001002"
	editGrid      = "330199001002004"
	editGridName  = "和平社区第04网格"
)

// openGrid opens the community and selects the grid through the tree.
func openGrid(t *testing.T, ctx context.Context) {
	openGridIn(t, ctx, editCommunity, editGrid, editGridName)
}

func openGridIn(t *testing.T, ctx context.Context, community, grid, name string) {
	t.Helper()
	do(t, ctx, "opening the community", chromedp.Click(chromedp.CSS(`#tree li[data-code="`+community+`"] > .node`)))
	waitFor(t, ctx, "the community's grids in the tree", `document.querySelector('#tree li[data-code="`+grid+`"]') && window.__editor.grids && window.__editor.community.code === "`+community+`"`)
	do(t, ctx, "selecting the grid", chromedp.Click(chromedp.CSS(`#tree li[data-code="`+grid+`"] > .node`)))
	waitFor(t, ctx, "the selected grid", `document.querySelector("#selected-name") && document.querySelector("#selected-name").textContent === "`+name+`" && document.querySelector("#tool-reshape")`)
	waitMapIdle(t, ctx)
}

// geometryJS computes, in the page, screen points for the tests: a vertex
// of the selected grid on its border with the chosen neighbour, the
// neighbour's centre, and the middle of the drawn border line.
const geometryJS = `(() => {
	const s = window.__editor, map = window.__gridmap.map;
	const rect = map.getContainer().getBoundingClientRect();
	const px = (c) => { const p = map.project(map.toDisplay({type: "Point", coordinates: c}).coordinates); return {X: rect.left + p.x, Y: rect.top + p.y}; };
	const ring = (f) => f.geometry.type === "MultiPolygon" ? f.geometry.coordinates[0][0] : f.geometry.coordinates[0];
	const nbId = Number(document.querySelector("#neighbour") ? document.querySelector("#neighbour").value : s.edit && s.edit.neighbour.properties.id);
	const B = s.grids.features.find((f) => f.properties.id === nbId);
	const key = (c) => c[0].toFixed(7) + "," + c[1].toFixed(7);
	const inB = new Set(ring(B).map(key));
	const shared = ring(s.selected).filter((c) => inB.has(key(c)));
	const rb = ring(B).slice(0, -1);
	const centre = [rb.reduce((a, c) => a + c[0], 0) / rb.length, rb.reduce((a, c) => a + c[1], 0) / rb.length];
	return {neighbour: B.properties.name, neighbourCode: B.properties.code, vertex: px(shared[Math.floor(shared.length / 2)]), centre: px(centre), centreLL: centre};
})()`

type geometryPoints struct {
	Neighbour     string
	NeighbourCode string
	Vertex        point
	Centre        point
	CentreLL      []float64
}

// TestEditorPreviewBalance: with the grids' target set to exactly the
// edited grid's households, moving the shared border into the neighbour
// previews as valid with a balance warning, the grid's row marked out of
// range, and the moved buildings highlighted on the map. Nothing is saved.
func TestEditorPreviewBalance(t *testing.T) {
	bg := context.Background()
	var hh int
	if err := theSite.db.Pool.QueryRow(bg, `SELECT coalesce(sum(b.households), 0)::int FROM building b JOIN area a ON a.id = b.grid_id WHERE a.code = $1`, editGrid).Scan(&hh); err != nil {
		t.Fatal(err)
	}
	if _, err := theSite.db.Pool.Exec(bg, `INSERT INTO balance_target (level, scope_area_id, households_min, households_max, residents_min, residents_max)
		SELECT 'grid', id, $2, $2, 0, 1000000 FROM area WHERE code = $1`, editCommunity, hh); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := theSite.db.Pool.Exec(bg, `DELETE FROM balance_target WHERE scope_area_id = (SELECT id FROM area WHERE code = $1)`, editCommunity); err != nil {
			t.Error(err)
		}
	})
	ctx := signIn(t)
	openGrid(t, ctx)
	g := eval[geometryPoints](t, ctx, geometryJS)
	do(t, ctx, "starting a border move", chromedp.Click(chromedp.CSS("#tool-border")))
	waitFor(t, ctx, "the border in the drawing", `window.__editor.edit && window.__editor.edit.drawn`)
	waitMapIdle(t, ctx)
	mid := eval[point](t, ctx, `window.__borderHandle()`)
	drag(t, ctx, mid, g.Centre)
	waitFor(t, ctx, "the edit to register", `window.__editor.edit.dirty && !document.querySelector("#do-preview").disabled`)
	do(t, ctx, "previewing", chromedp.Click(chromedp.CSS("#do-preview")))
	waitFor(t, ctx, "the preview", `document.querySelector("#preview-status")`)
	waitMapIdle(t, ctx)
	shot(t, ctx, "editor-balance-warning")
	if s := eval[string](t, ctx, `document.querySelector("#preview-status").textContent`); !strings.Contains(s, "校验通过") || !strings.Contains(s, "警告") {
		t.Errorf("preview status %q, want valid with warnings (%s)", s, eval[string](t, ctx, `document.querySelector("#preview").textContent`))
	}
	warn := eval[string](t, ctx, `[...document.querySelectorAll('#issues li.warning[data-kind="balance"]')].map((li) => li.textContent).join("\n")`)
	if !strings.Contains(warn, editGridName) || !strings.Contains(warn, "户") || !strings.Contains(warn, fmt.Sprintf("%d–%d", hh, hh)) {
		t.Errorf("balance warning %q, want %s's households against %d–%d", warn, editGridName, hh, hh)
	}
	row := eval[string](t, ctx, `(() => { const tr = document.querySelector('#balance tr[data-code="`+editGrid+`"]'); return tr ? tr.className + "|" + tr.textContent : ""; })()`)
	if !strings.HasPrefix(row, "out|") || !strings.Contains(row, fmt.Sprint(hh)) {
		t.Errorf("balance row of %s: %q, want it out of range with %d before", editGrid, row, hh)
	}
	// Valid: a reason enables saving despite the warning.
	do(t, ctx, "typing a reason", chromedp.SendKeys(chromedp.CSS("#reason"), "test"))
	waitFor(t, ctx, "save enabled despite the warning", `!document.querySelector("#do-save").disabled`)
	if n := eval[int](t, ctx, `window.__gridmap.map.querySourceFeatures("moved").length`); n == 0 {
		t.Errorf("the moved buildings are not on the map")
	}
	do(t, ctx, "cancelling", chromedp.Click(chromedp.CSS("#do-cancel")))
	waitFor(t, ctx, "the tools again", `document.querySelector("#tool-border") && !window.__editor.edit`)
}

// TestEditor: sign in; reshape a grid into its neighbour → the overlap is
// drawn with its size and saving is refused; move the shared border → the
// preview names the households moved → save → the tile under it changes and
// the balance panel updates; a second browser holding the old version gets
// the conflict flow and re-applies its edit on top.
func TestEditor(t *testing.T) {
	ctx := signIn(t)
	openGrid(t, ctx)
	shot(t, ctx, "editor-1-selected")

	// 1. Reshape into the neighbour: an error drawn on the map, save refused.
	g := eval[geometryPoints](t, ctx, geometryJS)
	do(t, ctx, "starting a reshape", chromedp.Click(chromedp.CSS("#tool-reshape")))
	waitFor(t, ctx, "the grid in the drawing", `window.__editor.edit && window.__editor.edit.drawn`)
	waitMapIdle(t, ctx)
	drag(t, ctx, g.Vertex, g.Centre)
	waitFor(t, ctx, "the edit to register", `window.__editor.edit.dirty && !document.querySelector("#do-preview").disabled`)
	do(t, ctx, "previewing", chromedp.Click(chromedp.CSS("#do-preview")))
	waitFor(t, ctx, "the preview", `document.querySelector("#preview-status")`)
	waitMapIdle(t, ctx)
	shot(t, ctx, "editor-2-reshape-overlap")
	status := eval[string](t, ctx, `document.querySelector("#preview-status").textContent`)
	if !strings.Contains(status, "不能保存") {
		t.Errorf("preview of an overlapping reshape: got %q, want it refused", status)
	}
	issues := eval[string](t, ctx, `document.querySelector("#issues").textContent`)
	if !strings.Contains(issues, "重叠") || !strings.Contains(issues, "m²") && !strings.Contains(issues, " ha") {
		t.Errorf("issues: got %q, want an overlap with its size", issues)
	}
	if n := eval[int](t, ctx, `window.__gridmap.map.querySourceFeatures("issues").length`); n == 0 {
		t.Errorf("no issue is drawn on the map")
	}
	if n := eval[int](t, ctx, `document.querySelectorAll(".issue-label.error").length`); n == 0 {
		t.Errorf("no size label on the map")
	}
	if !eval[bool](t, ctx, `document.querySelector("#do-save").disabled`) {
		t.Errorf("save is enabled for an invalid edit")
	}
	// The server refuses it too, whatever the page does.
	code := eval[int](t, ctx, `(async () => {
		const s = window.__editor; const sess = await (await fetch("/api/v1/session")).json();
		const res = await fetch("/api/v1/edits", {method: "POST", headers: {"Content-Type": "application/json", "X-CSRF-Token": sess.csrf_token},
			body: JSON.stringify({...window.__editorRequest(), reason: "test"})});
		return res.status; })()`)
	if code != 422 {
		t.Errorf("saving the overlapping reshape through the API: got %d, want 422", code)
	}
	do(t, ctx, "cancelling", chromedp.Click(chromedp.CSS("#do-cancel")))
	waitFor(t, ctx, "the tools again", `document.querySelector("#tool-border") && !window.__editor.edit`)

	// 2. A second browser starts moving the same border now, from the versions of now.
	ctx2 := signIn(t)
	openGrid(t, ctx2)
	do(t, ctx2, "starting a border move in the second browser", chromedp.Click(chromedp.CSS("#tool-border")))
	waitFor(t, ctx2, "the border in the drawing", `window.__editor.edit && window.__editor.edit.drawn`)
	waitMapIdle(t, ctx2)
	mid2 := eval[point](t, ctx2, `window.__borderHandle()`)
	g2 := eval[geometryPoints](t, ctx2, geometryJS)
	drag(t, ctx2, mid2, point{mid2.X + (g2.Centre.X-mid2.X)*0.3, mid2.Y + (g2.Centre.Y-mid2.Y)*0.3})
	waitFor(t, ctx2, "the second browser's edit", `window.__editor.edit.dirty`)

	// 3. Move the shared border into the neighbour: the preview names the households.
	balanceBefore := eval[map[string]string](t, ctx, `Object.fromEntries([...document.querySelectorAll("#balance-table tbody tr")].map((tr) => [tr.dataset.code, tr.dataset.households]))`)
	do(t, ctx, "starting a border move", chromedp.Click(chromedp.CSS("#tool-border")))
	waitFor(t, ctx, "the border in the drawing", `window.__editor.edit && window.__editor.edit.drawn`)
	waitMapIdle(t, ctx)
	mid := eval[point](t, ctx, `window.__borderHandle()`)
	drag(t, ctx, mid, g.Centre)
	waitFor(t, ctx, "the edit to register", `window.__editor.edit.dirty && !document.querySelector("#do-preview").disabled`)
	do(t, ctx, "previewing", chromedp.Click(chromedp.CSS("#do-preview")))
	waitFor(t, ctx, "the preview", `document.querySelector("#preview-status")`)
	waitMapIdle(t, ctx)
	shot(t, ctx, "editor-3-border-preview")
	moves := eval[string](t, ctx, `document.querySelector("#moves").textContent`)
	if !strings.Contains(moves, "户") || !strings.Contains(moves, "从 "+g.Neighbour+" 移入 "+editGridName) {
		t.Errorf("preview moves: got %q, want households from %s to %s", moves, g.Neighbour, editGridName)
	}
	if s := eval[string](t, ctx, `document.querySelector("#preview-status").textContent`); !strings.Contains(s, "校验通过") {
		t.Fatalf("border move preview: %q (%s)", s, eval[string](t, ctx, `document.querySelector("#preview").textContent`))
	}
	tileBefore := eval[string](t, ctx, tileJS(g.CentreLL))
	do(t, ctx, "saving with a reason",
		chromedp.SendKeys(chromedp.CSS("#reason"), "按道路调整边界（测试）"),
		chromedp.Click(chromedp.CSS("#do-save")))
	waitFor(t, ctx, "the save", `document.querySelector("#saved")`)
	waitFor(t, ctx, "the balance panel after the save", `document.querySelector('#balance-table tr[data-code="`+editGrid+`"]').dataset.households !== "`+balanceBefore[editGrid]+`"`)
	waitMapIdle(t, ctx)
	shot(t, ctx, "editor-4-saved")
	tileAfter := eval[string](t, ctx, tileJS(g.CentreLL))
	if tileBefore == tileAfter {
		t.Errorf("the tile under the moved border did not change (%s)", tileAfter)
	}
	balanceAfter := eval[map[string]string](t, ctx, `Object.fromEntries([...document.querySelectorAll("#balance-table tbody tr")].map((tr) => [tr.dataset.code, tr.dataset.households]))`)
	if balanceAfter[g.NeighbourCode] == balanceBefore[g.NeighbourCode] {
		t.Errorf("balance of %s: %s before and after", g.Neighbour, balanceAfter[g.NeighbourCode])
	}
	if !eval[bool](t, ctx, `window.__gridmap.map.getSource("gridmap").tiles.some((u) => u.includes("v="))`) {
		t.Logf("tile URLs carry no data version: %v", eval[any](t, ctx, `window.__gridmap.map.getSource("gridmap").tiles`))
	}

	// 4. The second browser, still on the old versions, gets the conflict flow.
	do(t, ctx2, "previewing in the second browser", chromedp.Click(chromedp.CSS("#do-preview")))
	waitFor(t, ctx2, "the conflict", `document.querySelector("#conflict")`)
	waitMapIdle(t, ctx2)
	shot(t, ctx2, "editor-5-conflict")
	if c := eval[string](t, ctx2, `document.querySelector("#conflict-change").textContent`); !strings.Contains(c, adminName) || !strings.Contains(c, "按道路调整边界（测试）") {
		t.Errorf("conflict: got %q, want the colleague's name and reason", c)
	}
	do(t, ctx2, "re-applying on top", chromedp.Click(chromedp.CSS("#reapply")))
	waitFor(t, ctx2, "the new preview", `document.querySelector("#preview-status")`)
	waitMapIdle(t, ctx2)
	shot(t, ctx2, "editor-6-reapplied")
}

// tileJS fetches the areas tile at zoom 15 under a lon/lat, with the data
// version of the map's current TileJSON, and returns its size and a hash.
func tileJS(ll []float64) string {
	return `(async () => {
		const lon = ` + ftoa(ll[0]) + `, lat = ` + ftoa(ll[1]) + `, z = 15, n = 2 ** z;
		const x = Math.floor((lon + 180) / 360 * n);
		const r = lat * Math.PI / 180;
		const y = Math.floor((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2 * n);
		const url = window.__gridmap.map.getSource("gridmap").tiles[0].replace("{z}", z).replace("{x}", x).replace("{y}", y);
		const buf = new Uint8Array(await (await fetch(url)).arrayBuffer());
		let h = 0; for (const b of buf) h = (h * 31 + b) >>> 0;
		return buf.length + ":" + h;
	})()`
}

// TestEditorSplitMergeRevert (in 建设社区, which no other test reads): split a
// grid with a drawn line → a new code → save; merge it back → save; the
// history shows before/after of the merge and reverts it.
func TestEditorSplitMergeRevert(t *testing.T) {
	const community, grid, name = "330199001003", "330199001003005", "建设社区第05网格"
	ctx := signIn(t)
	openGridIn(t, ctx, community, grid, name)
	count := func() int { return eval[int](t, ctx, `window.__editor.grids.features.length`) }
	n0 := count()

	// Split along a line across the middle of the grid, drawn with clicks.
	do(t, ctx, "starting a split", chromedp.Click(chromedp.CSS("#tool-split")))
	waitFor(t, ctx, "the split tool", `window.__editor.edit && window.__editor.edit.op === "split" && document.querySelector("#do-preview")`)
	ends := eval[[]point](t, ctx, `(() => {
		const s = window.__editor, map = window.__gridmap.map, r = map.getContainer().getBoundingClientRect();
		const ring = s.selected.geometry.type === "MultiPolygon" ? s.selected.geometry.coordinates[0][0] : s.selected.geometry.coordinates[0];
		const xs = ring.map((c) => c[0]), ys = ring.map((c) => c[1]);
		const minX = Math.min(...xs), maxX = Math.max(...xs), y = (Math.min(...ys) + Math.max(...ys)) / 2;
		// 20 px beyond the grid's sides: the map is fitted to the grid with 40 px of padding.
		return [[minX, y, -20], [maxX, y, 20]].map((c) => { const p = map.project(map.toDisplay({type: "Point", coordinates: [c[0], c[1]]}).coordinates); return {X: r.left + p.x + c[2], Y: r.top + p.y}; });
	})()`)
	// Move to each point before clicking it, as a mouse does; clicking the last point again finishes the line.
	click := func(p point) []chromedp.Action[chromedp.Void] {
		return []chromedp.Action[chromedp.Void]{chromedp.MouseEvent(input.DispatchMouseEventTypeMouseMoved, p.X, p.Y), chromedp.MouseClickXY(p.X, p.Y)}
	}
	var clicks []chromedp.Action[chromedp.Void]
	for _, p := range []point{ends[0], ends[1], ends[1]} {
		clicks = append(clicks, click(p)...)
	}
	do(t, ctx, "drawing the split line", clicks...)
	waitFor(t, ctx, "the finished line", `window.__editor.edit && window.__editor.edit.drawn && !document.querySelector("#do-preview").disabled`)
	do(t, ctx, "previewing the split", chromedp.Click(chromedp.CSS("#do-preview")))
	waitFor(t, ctx, "the split preview", `document.querySelector("#preview-status")`)
	waitMapIdle(t, ctx)
	shot(t, ctx, "editor-7-split-preview")
	if s := eval[string](t, ctx, `document.querySelector("#preview").textContent`); !strings.Contains(s, "校验通过") || !strings.Contains(s, "新编码") {
		t.Fatalf("split preview: %q", s)
	}
	do(t, ctx, "saving the split",
		chromedp.SendKeys(chromedp.CSS("#reason"), "拆分测试"),
		chromedp.Click(chromedp.CSS("#do-save")))
	waitFor(t, ctx, "the split saved", `document.querySelector("#saved") && window.__editor.grids.features.length === `+strconv.Itoa(n0+1))
	waitFor(t, ctx, "the balance panel with the new grid", `document.querySelectorAll("#balance-table tbody tr").length === `+strconv.Itoa(n0+1))

	// Merge the new part back into the grid.
	newCode := eval[string](t, ctx, `window.__editor.grids.features.map((f) => f.properties.code).sort().pop()`)
	do(t, ctx, "choosing the new part as the neighbour", chromedp.SetValue(chromedp.CSS("#neighbour"), eval[string](t, ctx,
		`String(window.__editor.grids.features.find((f) => f.properties.code === "`+newCode+`").properties.id)`)))
	do(t, ctx, "merging", chromedp.Click(chromedp.CSS("#tool-merge")))
	waitFor(t, ctx, "the merge preview", `document.querySelector("#preview-status")`)
	if s := eval[string](t, ctx, `document.querySelector("#preview").textContent`); !strings.Contains(s, "校验通过") || !strings.Contains(s, newCode) {
		t.Fatalf("merge preview: %q", s)
	}
	do(t, ctx, "saving the merge",
		chromedp.SendKeys(chromedp.CSS("#reason"), "合并测试"),
		chromedp.Click(chromedp.CSS("#do-save")))
	waitFor(t, ctx, "the merge saved", `document.querySelector("#saved") && window.__editor.grids.features.length === `+strconv.Itoa(n0))

	// History: before/after of the merge, then revert it.
	waitFor(t, ctx, "the history", `document.querySelectorAll("#history-list li").length >= 2`)
	// The history list is drawn twice after a save: find and click its button in
	// one step, so the click cannot land on a node the second drawing replaced
	// ("Could not find node with given id").
	clickInHistory := func(what, sel string) {
		t.Helper()
		if !eval[bool](t, ctx, `(() => { const b = document.querySelector(`+strconv.Quote(sel)+`); if (b) b.click(); return !!b; })()`) {
			t.Fatalf("%s: no %s", what, sel)
		}
	}
	clickInHistory("showing before/after", "#history-list li:first-child button:first-child")
	waitFor(t, ctx, "before/after", `document.querySelector("#before-after")`)
	waitMapIdle(t, ctx)
	// Before hatched red, after filled blue: both drawn, filled, in contrasting colours.
	for _, src := range []string{"history-before", "history-after"} {
		if n := eval[int](t, ctx, `window.__gridmap.map.querySourceFeatures("`+src+`").length`); n == 0 {
			t.Errorf("before/after draws nothing in %s", src)
		}
	}
	if s := eval[string](t, ctx, `(() => { const m = window.__gridmap.map;
		return [m.getLayer("history-before-fill").type, m.getPaintProperty("history-before-fill", "fill-pattern"), m.hasImage("hatch-red"),
			m.getLayer("history-after-fill").type, m.getPaintProperty("history-after-fill", "fill-color"), m.getPaintProperty("history-after-fill", "fill-opacity") > 0].join(" "); })()`); s != "fill hatch-red true fill #1f5fa8 true" {
		t.Errorf("before/after layers: %q, want before hatched red, after filled blue", s)
	}
	shot(t, ctx, "editor-8-before-after")
	clickInHistory("reverting the merge", "#history-list li:first-child button:last-child")
	waitFor(t, ctx, "the revert panel", `document.querySelector("#revert-reason")`)
	do(t, ctx, "giving a reason", chromedp.SendKeys(chromedp.CSS("#revert-reason"), "撤回合并测试"), chromedp.Click(chromedp.CSS("#do-revert")))
	waitFor(t, ctx, "the revert saved", `document.querySelector("#saved") && window.__editor.grids.features.length === `+strconv.Itoa(n0+1))
	waitMapIdle(t, ctx)
	for _, src := range []string{"history-before", "history-after"} {
		if n := eval[int](t, ctx, `window.__gridmap.map.querySourceFeatures("`+src+`").length`); n != 0 {
			t.Errorf("after the revert %s still draws %d features", src, n)
		}
	}

	// The saved message follows a switch to English (it stayed Chinese).
	do(t, ctx, "switching to English", chromedp.Click(chromedp.CSS("#lang")))
	waitFor(t, ctx, "the English page", `document.documentElement.lang === "en"`)
	if s := eval[string](t, ctx, `document.querySelector("#saved").textContent`); !strings.HasPrefix(s, "Saved") {
		t.Errorf("the saved message in English: %q", s)
	}
}

// TestEditorLogout: the sign-out button ends the session; the login form is back.
func TestEditorLogout(t *testing.T) {
	ctx := signIn(t)
	do(t, ctx, "signing out", chromedp.Click(chromedp.CSS("#logout")))
	waitFor(t, ctx, "the login form after signing out", `document.querySelector("#login input[name=name]") && document.querySelector("#logout").hidden`)
	if s := eval[string](t, ctx, `fetch("/api/v1/session").then(async (r) => r.status + " " + (await r.text()).trim())`); s != `200 {"signed_in":false}` {
		t.Errorf("session after signing out: %s, want 200 {\"signed_in\":false}", s)
	}
}
