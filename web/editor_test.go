package web_test

import (
	"context"
	"math"
	"strconv"
	"strings"
	"sync"
	"testing"

	cdplog "github.com/chromedp/cdproto/log"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"gridmap/web"
)

// errorLog collects, from the moment it is called, what the browser reports
// at level error: console.error calls, uncaught exceptions and log entries
// (a failed request such as a 401 is one: "Failed to load resource").
func errorLog(t *testing.T, ctx context.Context) func() []string {
	t.Helper()
	var mu sync.Mutex
	var got []string
	if err := chromedp.Listen(ctx, func(ev any) {
		var msg string
		switch e := ev.(type) {
		case *cdplog.EventEntryAdded:
			if e.Entry.Level != cdplog.EntryLevelError {
				return
			}
			msg = "log: " + e.Entry.Text + " " + e.Entry.URL
		case *cdpruntime.EventConsoleAPICalled:
			if e.Type != cdpruntime.ConsoleAPICalledTypeError {
				return
			}
			msg = "console.error:"
			for _, a := range e.Args {
				msg += " " + string(a.Value) + a.Description
			}
		case *cdpruntime.EventExceptionThrown:
			msg = "exception: " + e.ExceptionDetails.Text
		default:
			return
		}
		mu.Lock()
		got = append(got, msg)
		mu.Unlock()
	}); err != nil {
		t.Fatalf("listening to the console: %v", err)
	}
	return func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), got...)
	}
}

// TestEditorSignedOutNoConsoleError: opening the editor without a session
// shows the login form without any error in the console or the browser's log
// (the session check used to answer 401, which Chromium logs as a failed request).
func TestEditorSignedOutNoConsoleError(t *testing.T) {
	ensureAdmin(t)
	ctx := tab(t, 1400, 900)
	errs := errorLog(t, ctx)
	do(t, ctx, "opening /admin", chromedp.Navigate(theSite.URL+"/admin"))
	waitFor(t, ctx, "the login form", `document.querySelector("#login input[name=name]")`)
	// The session answer has arrived and been handled once the form is there;
	// a round trip through the browser's own event loop flushes its log events.
	if s := eval[string](t, ctx, `fetch("/api/v1/session").then(async (r) => r.status + " " + (await r.text()).trim())`); s != `200 {"signed_in":false}` {
		t.Errorf("session when signed out: %s, want 200 {\"signed_in\":false}", s)
	}
	if got := errs(); len(got) > 0 {
		t.Errorf("the signed-out editor logged errors:\n%s", strings.Join(got, "\n"))
	}
}

// chromeCJKJS lists the visible text of the editor's chrome that has CJK
// characters (or full-width punctuation) once the data is taken out: area
// names, the user, authors and reasons of changes; MapLibre's canvas and
// controls included. The language button (中文) is not scanned.
const chromeCJKJS = `(() => {
	const s = window.__editor;
	const data = new Set();
	for (const el of document.querySelectorAll("#tree .node")) data.add(el.textContent);
	for (const f of (s.grids ? s.grids.features : [])) data.add(f.properties.name);
	if (s.community) data.add(s.community.name);
	for (const c of s.history || []) { data.add(c.author); if (c.reason) data.add(c.reason); }
	if (s.session) data.add(s.session.user.name);
	const names = [...data].filter(Boolean).sort((a, b) => b.length - a.length);
	const strip = (x) => names.reduce((acc, d) => acc.split(d).join(""), x);
	const cjk = /[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]/;
	const skip = (el) => el.closest("#lang, script, style") || !el.checkVisibility();
	const out = [];
	const walk = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
	for (let n; (n = walk.nextNode());) {
		if (!n.parentElement || skip(n.parentElement)) continue;
		const v = strip(n.textContent);
		if (cjk.test(v)) out.push(n.parentElement.tagName + ": " + v.trim());
	}
	for (const el of document.querySelectorAll("[placeholder], [aria-label], [title]")) {
		if (skip(el)) continue;
		for (const a of ["placeholder", "aria-label", "title"]) {
			const v = el.getAttribute(a);
			if (v && cjk.test(strip(v))) out.push(el.tagName + "[" + a + "]: " + v);
		}
	}
	if (cjk.test(strip(document.title))) out.push("title: " + document.title);
	return out;
})()`

// failNextPreview makes the page's next edit preview answer as the server
// does for a refused request: status and {"error":{"code","message"}} with
// the server's English message.
func failNextPreview(status int, code, message string) string {
	return `(() => {
		const real = window.__realFetch || (window.__realFetch = window.fetch);
		window.fetch = (url, opts) => {
			if (String(url).includes("/api/v1/edits/preview")) {
				window.fetch = real;
				return Promise.resolve(new Response(JSON.stringify({error: {code: ` + strconv.Quote(code) + `, message: ` + strconv.Quote(message) + `}}),
					{status: ` + strconv.Itoa(status) + `, headers: {"Content-Type": "application/json"}}));
			}
			return real(url, opts);
		};
		return true;
	})()`
}

// TestEditorErrorsFromCatalogue: a refused request shows the catalogue's
// message for its error code, not the server's English text, and a generic
// translated message for a code the page does not know; after switching to
// English every string of the editor's chrome (tree heading, tools, balance,
// history, the error) is English: no CJK outside the data.
func TestEditorErrorsFromCatalogue(t *testing.T) {
	cat, err := web.LoadCatalogue()
	if err != nil {
		t.Fatal(err)
	}
	ctx := signIn(t)
	openGrid(t, ctx)
	const english = "the line must cross the grid"
	for _, c := range []struct{ code, key string }{
		{"invalid_argument", "error.invalid_argument"},
		{"no_such_code", "error.generic"},
	} {
		eval[bool](t, ctx, failNextPreview(400, c.code, english))
		do(t, ctx, "merging (its preview refused with "+c.code+")", chromedp.Click(chromedp.CSS("#tool-merge")))
		waitFor(t, ctx, "the error message", `document.querySelector("#edit-error")`)
		if got, want := eval[string](t, ctx, `document.querySelector("#edit-error").textContent`), cat["zh-CN"][c.key]; got != want {
			t.Errorf("error %s: the page shows %q, want the catalogue's %s %q", c.code, got, c.key, want)
		}
		do(t, ctx, "cancelling", chromedp.Click(chromedp.CSS("#do-cancel")))
		waitFor(t, ctx, "the tools again", `document.querySelector("#tool-merge") && !window.__editor.edit`)
	}
	// Leave an error on screen, then switch the language.
	eval[bool](t, ctx, failNextPreview(403, "forbidden", "account editor may only read"))
	do(t, ctx, "merging (refused)", chromedp.Click(chromedp.CSS("#tool-merge")))
	waitFor(t, ctx, "the error message", `document.querySelector("#edit-error")`)
	do(t, ctx, "switching to English", chromedp.Click(chromedp.CSS("#lang")))
	waitFor(t, ctx, "the English page", `document.documentElement.lang === "en"`)
	waitMapIdle(t, ctx)
	shot(t, ctx, "editor-english")
	if got, want := eval[string](t, ctx, `document.querySelector("#edit-error").textContent`), cat["en"]["error.forbidden"]; got != want {
		t.Errorf("the error after switching to English: %q, want %q", got, want)
	}
	if got := eval[[]string](t, ctx, chromeCJKJS); len(got) > 0 {
		t.Errorf("the English editor shows Chinese outside the data:\n%s", strings.Join(got, "\n"))
	}
	if s := eval[string](t, ctx, `document.body.innerText`); strings.Contains(s, english) || strings.Contains(s, "may only read") {
		t.Errorf("the page shows the server's English message: %q", s)
	}
}

// TestEditorEnglishLogin: the login page in English, and a failed sign-in's
// message, have no Chinese.
func TestEditorEnglishLogin(t *testing.T) {
	ensureAdmin(t)
	ctx := tab(t, 1400, 900)
	do(t, ctx, "opening /admin in English", chromedp.Navigate(theSite.URL+"/admin?lang=en"))
	waitFor(t, ctx, "the login form", `document.querySelector("#login input[name=name]")`)
	do(t, ctx, "signing in with a wrong password",
		chromedp.SendKeys(chromedp.CSS("#login input[name=name]"), "nobody-english-test"), // not the admin: its failures are throttled
		chromedp.SendKeys(chromedp.CSS("#login input[name=password]"), "wrong"),
		chromedp.Click(chromedp.CSS("#login button[type=submit]")))
	waitFor(t, ctx, "the failure message", `document.querySelector("#login-error:not([hidden])")?.textContent.includes("Wrong account or password")`)
	if got := eval[[]string](t, ctx, chromeCJKJS); len(got) > 0 {
		t.Errorf("the English login shows Chinese:\n%s", strings.Join(got, "\n"))
	}
}

// viewOnJS tells whether the map shows the area with the given code: its
// bounds inside the map and filling at least 40% of the map's width or
// height (fitBounds with padding fills one of them), and the map's centre
// inside the bounds. It answers "" when so, else what is wrong.
func viewOnJS(code string) string {
	return `(async () => {
		const map = window.__gridmap.map;
		const fc = await (await fetch("/api/v1/areas/` + code + `.geojson")).json();
		let b = null;
		const walk = (c) => { if (typeof c[0] === "number") { b = b ? [Math.min(b[0], c[0]), Math.min(b[1], c[1]), Math.max(b[2], c[0]), Math.max(b[3], c[1])] : [c[0], c[1], c[0], c[1]]; } else c.forEach(walk); };
		for (const f of fc.features || [fc]) walk((f.geometry || f).coordinates);
		const p = (x, y) => map.project(map.toDisplay({type: "Point", coordinates: [x, y]}).coordinates);
		const sw = p(b[0], b[1]), ne = p(b[2], b[3]);
		const W = map.getContainer().clientWidth, H = map.getContainer().clientHeight;
		const c = map.fromDisplay(map.getCenter().toArray());
		const inside = sw.x >= -1 && ne.x <= W + 1 && ne.y >= -1 && sw.y <= H + 1;
		const fills = (ne.x - sw.x) / W >= 0.4 || (sw.y - ne.y) / H >= 0.4;
		const centred = c[0] >= b[0] && c[0] <= b[2] && c[1] >= b[1] && c[1] <= b[3];
		return inside && fills && centred ? "" : JSON.stringify({bbox: b, sw, ne, W, H, centre: c, zoom: map.getZoom()});
	})()`
}

// signInAt opens path in a fresh browser context and signs in there.
func signInAt(t *testing.T, path string) context.Context {
	t.Helper()
	ensureAdmin(t)
	ctx := tab(t, 1400, 900)
	loginAt(t, ctx, path, adminName, adminPassword)
	waitFor(t, ctx, "the area tree down to the communities", `document.querySelector('#tree li[data-level=community]')`)
	return ctx
}

// selectedJS is the code of the tree's selected item ("" when none), and how many there are.
const selectedJS = `[...document.querySelectorAll('#tree [role=treeitem][aria-selected=true]')].map((li) => li.dataset.code).join(",")`

// TestEditorTreeFliesToTheAreaAndKeepsItInTheURL: choosing a subdistrict, then a
// grid in the tree moves the map onto it; the grid is in the URL (#area=);
// a reload, a link opened in a fresh session and a link pasted into the tab
// reopen it selected with the map on it.
func TestEditorTreeFliesToTheAreaAndKeepsItInTheURL(t *testing.T) {
	const otherGrid, otherName = "330199001002002", "和平社区第02网格"
	ctx := signIn(t)
	street := eval[string](t, ctx, `document.querySelector("#tree li[data-level=subdistrict]").dataset.code`)
	do(t, ctx, "choosing a subdistrict", chromedp.Click(chromedp.CSS(`#tree li[data-code="`+street+`"] > .node`)))
	waitFor(t, ctx, "the subdistrict in the URL", `location.hash === "#area=`+street+`"`)
	waitMapIdle(t, ctx)
	if s := eval[string](t, ctx, viewOnJS(street)); s != "" {
		t.Errorf("after choosing the subdistrict %s the map is not on it: %s", street, s)
	}
	openGrid(t, ctx)
	waitFor(t, ctx, "the grid in the URL", `location.hash === "#area=`+editGrid+`"`)
	if s := eval[string](t, ctx, viewOnJS(editGrid)); s != "" {
		t.Errorf("after choosing %s the map is not on it: %s", editGrid, s)
	}
	if s := eval[string](t, ctx, selectedJS); s != editGrid {
		t.Errorf("selected in the tree: %q, want %s", s, editGrid)
	}

	reopened := func(ctx context.Context, how, code, name string) {
		t.Helper()
		waitFor(t, ctx, "the grid selected again ("+how+")", `document.querySelector("#selected-name") && document.querySelector("#selected-name").textContent === "`+name+`"`)
		waitMapIdle(t, ctx)
		if s := eval[string](t, ctx, selectedJS); s != code {
			t.Errorf("%s: selected in the tree %q, want %s", how, s, code)
		}
		if s := eval[string](t, ctx, viewOnJS(code)); s != "" {
			t.Errorf("%s: the map is not on %s: %s", how, code, s)
		}
	}
	do(t, ctx, "reloading", chromedp.Reload())
	reopened(ctx, "after a reload", editGrid, editGridName)

	do(t, ctx, "pasting a link to another grid", chromedp.Navigate(theSite.URL+"/admin#area="+otherGrid))
	reopened(ctx, "a link pasted into the tab", otherGrid, otherName)

	fresh := signInAt(t, "/admin#area="+editGrid)
	reopened(fresh, "a link opened before signing in", editGrid, editGridName)
}

// TestEditorTreeKeyboardAndSearch: the tree is an ARIA tree with one tab
// stop; Down/Up move, Right expands and enters a branch, Left goes back and
// collapses, Enter chooses; the search box finds a grid by name and by code
// and Enter opens it; a query that matches nothing says so.
func TestEditorTreeKeyboardAndSearch(t *testing.T) {
	ctx := signIn(t)
	if n := eval[int](t, ctx, `document.querySelectorAll('#tree[role=tree] [role=treeitem][tabindex="0"]').length`); n != 1 {
		t.Fatalf("%d tree items in the tab order, want 1 (roving tabindex)", n)
	}
	if n := eval[int](t, ctx, `document.querySelectorAll('#tree [role=treeitem]:not([aria-selected])').length`); n != 0 {
		t.Errorf("%d tree items without aria-selected", n)
	}
	active := func() string {
		return eval[string](t, ctx, `(() => { const a = document.activeElement; return a && a.getAttribute("role") === "treeitem" ? a.dataset.code : "(" + (a ? a.tagName : "") + ")"; })()`)
	}
	key := func(what, k string) {
		t.Helper()
		do(t, ctx, what, chromedp.KeyEvent(k))
	}
	eval[bool](t, ctx, `(document.querySelector('#tree [role=treeitem][tabindex="0"]').focus(), true)`)
	first := active()
	key("Down", kb.ArrowDown)
	second := active()
	if second == first || strings.HasPrefix(second, "(") {
		t.Fatalf("Down from %s: focus on %s", first, second)
	}
	key("Up", kb.ArrowUp)
	if a := active(); a != first {
		t.Errorf("Up: focus on %s, want %s", a, first)
	}
	// Down to the community being tested (collapsed), then into it.
	for i := 0; i < 20 && active() != editCommunity; i++ {
		key("Down", kb.ArrowDown)
	}
	if a := active(); a != editCommunity {
		t.Fatalf("Down did not reach %s (at %s)", editCommunity, a)
	}
	expanded := `document.querySelector('#tree li[data-code="` + editCommunity + `"]').getAttribute("aria-expanded")`
	if e := eval[string](t, ctx, expanded); e != "false" {
		t.Fatalf("%s aria-expanded=%s before Right, want false", editCommunity, e)
	}
	key("Right (expand)", kb.ArrowRight)
	waitFor(t, ctx, "the community expanded", expanded+` === "true" && document.querySelector('#tree li[data-code="`+editCommunity+`"] [role=treeitem]')`)
	key("Right (into it)", kb.ArrowRight)
	firstGrid := active()
	if !strings.HasPrefix(firstGrid, editCommunity) || firstGrid == editCommunity {
		t.Fatalf("Right on the open community: focus on %s, want its first grid", firstGrid)
	}
	key("Left (to the parent)", kb.ArrowLeft)
	if a := active(); a != editCommunity {
		t.Errorf("Left from a grid: focus on %s, want %s", a, editCommunity)
	}
	key("Left (collapse)", kb.ArrowLeft)
	if e := eval[string](t, ctx, expanded); e != "false" {
		t.Errorf("Left on the open community: aria-expanded=%s, want false", e)
	}
	key("Right (expand)", kb.ArrowRight)
	waitFor(t, ctx, "the community expanded", expanded+` === "true"`)
	key("Down (first grid)", kb.ArrowDown)
	if a := active(); a != firstGrid {
		t.Fatalf("Down from the open community: focus on %s, want %s", a, firstGrid)
	}
	key("Enter", kb.Enter)
	waitFor(t, ctx, "the grid chosen with Enter", `window.__editor.selected && window.__editor.selected.properties.code === "`+firstGrid+`" && document.querySelector("#selected-name")`)
	if s := eval[string](t, ctx, selectedJS); s != firstGrid {
		t.Errorf("aria-selected after Enter: %q, want %s", s, firstGrid)
	}
	if s := eval[string](t, ctx, `[...document.querySelectorAll('#tree [tabindex="0"]')].map((li) => li.dataset.code).join(",")`); s != firstGrid {
		t.Errorf("tab stop after Enter on %s: %q", firstGrid, s)
	}

	// Search by name, then by code.
	for _, q := range []string{"和平社区第04", editGrid} {
		if eval[string](t, ctx, `document.querySelector("#tree-search").value`) != "" {
			t.Errorf("the search box is not empty before searching %q", q)
		}
		do(t, ctx, "searching "+q, chromedp.SendKeys(chromedp.CSS("#tree-search"), q))
		waitFor(t, ctx, "the results for "+q, `document.querySelector("#tree-results").dataset.q === `+jsString(q)+` && document.querySelector('#tree-results button[data-code="`+editGrid+`"]')`)
		if s := eval[string](t, ctx, `document.querySelector("#tree-results button").dataset.code`); s != editGrid {
			t.Errorf("first result for %q: %s, want %s", q, s, editGrid)
		}
		do(t, ctx, "Enter in the search box", chromedp.KeyEvent(kb.Enter))
		// Choosing a result moves the focus to its tree item once the tree is
		// open down to it (after a fetch); typing before that would type into
		// the tree. When the grid was already selected (the search by code),
		// the focus is the only sign that the choice is done.
		waitFor(t, ctx, "the found grid chosen", `window.__editor.selected && window.__editor.selected.properties.code === "`+editGrid+`" && location.hash === "#area=`+editGrid+`" && document.activeElement && document.activeElement.getAttribute("role") === "treeitem" && document.activeElement.dataset.code === "`+editGrid+`"`)
		if s := eval[string](t, ctx, selectedJS); s != editGrid {
			t.Errorf("search %q: aria-selected %q, want %s", q, s, editGrid)
		}
		if n := eval[int](t, ctx, `document.querySelectorAll("#tree-results li").length`); n != 0 {
			t.Errorf("search %q: %d results still shown after choosing", q, n)
		}
	}
	do(t, ctx, "searching nothing", chromedp.SendKeys(chromedp.CSS("#tree-search"), "无此区域zz"))
	waitFor(t, ctx, "the no-match message", `document.querySelector("#tree-search-status").textContent.includes("无此区域zz")`)
	if n := eval[int](t, ctx, `document.querySelectorAll("#tree-results li").length`); n != 0 {
		t.Errorf("%d results for a query that matches nothing", n)
	}
}

// TestEditorSharedVertexPointsToTheBorderTool: in vertex mode, dragging a
// vertex the grid shares with a neighbour says so, naming the neighbour, and
// offers the shared-border tool (which moves both; vertex mode moves this
// grid only). The overlap it makes names the neighbour, not the grid being
// edited; the offered tool starts a border move with that neighbour.
func TestEditorSharedVertexPointsToTheBorderTool(t *testing.T) {
	ctx := signIn(t)
	openGrid(t, ctx)
	g := eval[geometryPoints](t, ctx, geometryJS)
	do(t, ctx, "starting a reshape", chromedp.Click(chromedp.CSS("#tool-reshape")))
	waitFor(t, ctx, "the grid in the drawing", `window.__editor.edit && window.__editor.edit.drawn`)
	waitMapIdle(t, ctx)
	if eval[bool](t, ctx, `!!document.querySelector("#shared-vertex")`) {
		t.Errorf("the shared-vertex message is shown before anything moved")
	}
	// 60 px from the vertex towards the neighbour's centre: into the neighbour,
	// and on the map (the centre may lie beyond the map's edge, the map being on this grid).
	dx, dy := g.Centre.X-g.Vertex.X, g.Centre.Y-g.Vertex.Y
	l := math.Hypot(dx, dy)
	drag(t, ctx, g.Vertex, point{g.Vertex.X + dx/l*60, g.Vertex.Y + dy/l*60})
	waitFor(t, ctx, "the shared-vertex message", `document.querySelector("#shared-vertex")`)
	if s := eval[string](t, ctx, `document.querySelector("#shared-vertex").textContent`); !strings.Contains(s, g.Neighbour) || !strings.Contains(s, "移动共同边界") {
		t.Errorf("shared-vertex message %q, want it to name %s and the shared-border tool", s, g.Neighbour)
	}
	do(t, ctx, "previewing", chromedp.Click(chromedp.CSS("#do-preview")))
	waitFor(t, ctx, "the overlap", `document.querySelector('#issues li[data-kind="overlap"]')`)
	overlap := eval[string](t, ctx, `[...document.querySelectorAll('#issues li[data-kind="overlap"]')].map((li) => li.textContent).join("\n")`)
	if !strings.Contains(overlap, g.Neighbour) || strings.Contains(overlap, editGridName) {
		t.Errorf("overlap message %q, want %s named and not %s", overlap, g.Neighbour, editGridName)
	}
	do(t, ctx, "using the shared-border tool", chromedp.Click(chromedp.CSS(`#shared-vertex .use-border[data-code="`+g.NeighbourCode+`"]`)))
	waitFor(t, ctx, "a border move with the neighbour", `window.__editor.edit && window.__editor.edit.op === "move_border" && window.__editor.edit.drawn && window.__editor.edit.neighbour.properties.code === "`+g.NeighbourCode+`"`)
	if eval[bool](t, ctx, `!!document.querySelector("#shared-vertex")`) {
		t.Errorf("the shared-vertex message stays in the border tool")
	}
	do(t, ctx, "cancelling", chromedp.Click(chromedp.CSS("#do-cancel")))
	waitFor(t, ctx, "the tools again", `document.querySelector("#tool-border") && !window.__editor.edit`)
}

// TestEditorGapSaysWhereTheHouseholdsGo: pulling a vertex of the grid that
// lies on the community's outer boundary (shared with no sibling) inwards
// leaves a gap; its message says how many buildings and households are
// inside and where they go (here: to no grid).
func TestEditorGapSaysWhereTheHouseholdsGo(t *testing.T) {
	ctx := signIn(t)
	openGrid(t, ctx)
	pts := eval[[]point](t, ctx, `(() => {
		const s = window.__editor, map = window.__gridmap.map, r = map.getContainer().getBoundingClientRect();
		const ring = (f) => f.geometry.type === "MultiPolygon" ? f.geometry.coordinates[0][0] : f.geometry.coordinates[0];
		const key = (c) => c[0].toFixed(7) + "," + c[1].toFixed(7);
		const others = new Set(s.grids.features.filter((f) => f !== s.selected).flatMap((f) => ring(f).map(key)));
		const own = ring(s.selected).slice(0, -1);
		const free = own.filter((c) => !others.has(key(c)));
		if (!free.length) return [];
		const v = free[Math.floor(free.length / 2)];
		const c = [own.reduce((a, p) => a + p[0], 0) / own.length, own.reduce((a, p) => a + p[1], 0) / own.length];
		const px = (p) => { const q = map.project(map.toDisplay({type: "Point", coordinates: p}).coordinates); return {X: r.left + q.x, Y: r.top + q.y}; };
		return [px(v), px([v[0] + (c[0] - v[0]) * 0.6, v[1] + (c[1] - v[1]) * 0.6])];
	})()`)
	if len(pts) != 2 {
		t.Fatalf("%s has no vertex on the community's outer boundary", editGrid)
	}
	do(t, ctx, "starting a reshape", chromedp.Click(chromedp.CSS("#tool-reshape")))
	waitFor(t, ctx, "the grid in the drawing", `window.__editor.edit && window.__editor.edit.drawn`)
	waitMapIdle(t, ctx)
	drag(t, ctx, pts[0], pts[1])
	waitFor(t, ctx, "the edit to register", `window.__editor.edit.dirty && !document.querySelector("#do-preview").disabled`)
	if eval[bool](t, ctx, `!!document.querySelector("#shared-vertex")`) {
		t.Errorf("a vertex shared with no neighbour is reported as shared")
	}
	do(t, ctx, "previewing", chromedp.Click(chromedp.CSS("#do-preview")))
	waitFor(t, ctx, "the gap", `document.querySelector('#issues li[data-kind="gap"]')`)
	shot(t, ctx, "editor-gap")
	gap := eval[string](t, ctx, `document.querySelector('#issues li[data-kind="gap"]').textContent`)
	if !strings.Contains(gap, "空隙") || !(strings.Contains(gap, "户") && (strings.Contains(gap, "归入") || strings.Contains(gap, "不属于任何网格")) || strings.Contains(gap, "没有楼栋")) {
		t.Errorf("gap message %q, want where its households go (or that none is inside)", gap)
	}
	do(t, ctx, "cancelling", chromedp.Click(chromedp.CSS("#do-cancel")))
	waitFor(t, ctx, "the tools again", `document.querySelector("#tool-border") && !window.__editor.edit`)
}
