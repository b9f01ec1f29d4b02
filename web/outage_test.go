package web_test

import (
	"context"
	"testing"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// outageStubJS makes the page's fetch answer the session and edit calls with
// the API's 503 (the server cannot reach its database) while
// window.__outage is true. The api tests cut a real database; this one is
// about what the editor does with that answer.
const outageStubJS = `(() => {
	window.__outage = true;
	const real = window.fetch.bind(window);
	window.fetch = (url, opts) => {
		const u = String(url);
		if (window.__outage && (u.includes("/api/v1/session") || u.includes("/api/v1/edits"))) {
			return Promise.resolve(new Response(JSON.stringify({error: {code: "unavailable", message: "the server cannot reach its database; try again shortly"}}),
				{status: 503, headers: {"Content-Type": "application/json; charset=utf-8", "Retry-After": "1"}}));
		}
		return real(url, opts);
	};
})()`

const outageShown = `document.querySelector("#outage") && !document.querySelector("#outage").hidden && document.querySelector("#outage").textContent.includes("无法连接数据库")`

// TestEditorSaysOutageAndKeepsWork pins the editor showing its login form to
// signed-in staff when the session check failed with the database down: it
// says the server cannot reach its database and retries, and an edit in
// progress survives a 503.
func TestEditorSaysOutageAndKeepsWork(t *testing.T) {
	ctx := signIn(t)
	do(t, ctx, "stubbing fetch", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: outageStubJS})
		return err
	}))
	do(t, ctx, "reloading /admin during the outage", chromedp.Navigate(theSite.URL+"/admin"))
	waitFor(t, ctx, "the outage banner", outageShown)
	if eval[bool](t, ctx, `!!document.querySelector("#login")`) {
		t.Errorf("a signed-in user got the login form during the outage")
	}
	shot(t, ctx, "editor-outage-1-banner")
	do(t, ctx, "ending the outage", setOutage(false))
	waitFor(t, ctx, "the editor once the database is back", `document.querySelector('#tree li[data-level=community]') && document.querySelector("#outage").hidden`)

	openGrid(t, ctx)
	g := eval[geometryPoints](t, ctx, geometryJS)
	do(t, ctx, "starting a reshape", chromedp.Click(chromedp.CSS("#tool-reshape")))
	waitFor(t, ctx, "the grid in the drawing", `window.__editor.edit && window.__editor.edit.drawn`)
	waitMapIdle(t, ctx)
	drag(t, ctx, g.Vertex, g.Centre)
	waitFor(t, ctx, "the edit to register", `window.__editor.edit.dirty && !document.querySelector("#do-preview").disabled`)
	do(t, ctx, "previewing during an outage",
		setOutage(true),
		chromedp.Click(chromedp.CSS("#do-preview")))
	waitFor(t, ctx, "the outage banner", outageShown)
	if !eval[bool](t, ctx, `!!(window.__editor.edit && window.__editor.edit.dirty && document.querySelector("#do-preview"))`) {
		t.Errorf("the edit in progress was dropped by a 503")
	}
	if eval[bool](t, ctx, `!!document.querySelector("#login") || !!document.querySelector("#edit-error")`) {
		t.Errorf("a 503 showed the login form or an error in place of the edit")
	}
	do(t, ctx, "ending the outage", setOutage(false))
	waitFor(t, ctx, "the banner to go", `document.querySelector("#outage").hidden`)
	do(t, ctx, "previewing again", chromedp.Click(chromedp.CSS("#do-preview")))
	waitFor(t, ctx, "the preview of the kept edit", `document.querySelector("#preview-status")`)
	do(t, ctx, "cancelling", chromedp.Click(chromedp.CSS("#do-cancel")))
}

// setOutage switches the stubbed outage on or off.
func setOutage(on bool) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		js := "(window.__outage = false, true)"
		if on {
			js = "(window.__outage = true, true)"
		}
		_, err := chromedp.Evaluate[bool](js)(ctx, tg)
		return err
	})
}
