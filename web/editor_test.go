package web_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	cdplog "github.com/chromedp/cdproto/log"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
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
