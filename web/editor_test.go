package web_test

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"testing"

	cdplog "github.com/chromedp/cdproto/log"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

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
	waitFor(t, ctx, "the failure message", `document.querySelector("#login-error")`)
	if got := eval[[]string](t, ctx, chromeCJKJS); len(got) > 0 {
		t.Errorf("the English login shows Chinese:\n%s", strings.Join(got, "\n"))
	}
}
