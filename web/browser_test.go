package web_test

// The browser tests start the real server in-process on a test database with
// the demo loaded and drive Debian's Chromium (headless, SwiftShader WebGL)
// with chromedp. They wait for MapLibre's idle event (window.__gridmap.idle)
// and for DOM conditions, never for fixed times. Screenshots go to
// ../artifacts/ (git-ignored).

import (
	"bytes"
	"context"
	"fmt"
	"image"
	_ "image/png"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdplog "github.com/chromedp/cdproto/log"
	"github.com/chromedp/cdproto/page"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/paulmach/orb"
	"github.com/prometheus/client_golang/prometheus"

	"gridmap/api"
	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/demo"
	"gridmap/geo"
	"gridmap/web"
)

// testBundle is the browser code the tests serve: the production code with
// the window hooks they read (window.__gridmap, window.__editor, …), which
// build.mjs writes next to the embedded production bundle.
const testBundle = "dist-test"

// chromiumPath is Debian's chromium, which scripts/setup.sh installs.
const chromiumPath = "/usr/bin/chromium"

type site struct {
	URL     string
	deps    api.Server // the services, for servers with other settings
	db      *data.DB
	demo    *demo.Dataset
	browser context.Context // a running browser; tabs are made from it
}

var theSite *site

// artifacts is where screenshots and PDFs go: artifacts/ at the repository root.
var artifacts = filepath.Join("..", "artifacts")

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	if _, err := os.Stat(chromiumPath); err != nil {
		fmt.Fprintf(os.Stderr, "web: %s is missing: scripts/setup.sh --browser (make test) installs Debian's chromium\n", chromiumPath)
		return 1
	}
	if _, err := os.Stat(testBundle + "/manifest.json"); err != nil {
		fmt.Fprintln(os.Stderr, "web: the test bundle is not built: run `make build` (npm ci and node build.mjs in web/)")
		return 1
	}
	s, cleanup, err := startSite()
	if err != nil {
		fmt.Fprintln(os.Stderr, "web:", err)
		return 1
	}
	defer cleanup()
	theSite = s
	return m.Run()
}

func startSite() (*site, func(), error) {
	db, _, err := dbtest.Open(os.Getenv("GRIDMAP_TEST_DATABASE_URL"), "web")
	if err != nil {
		return nil, nil, err
	}
	ctx := context.Background()
	ds, err := demo.Generate(demo.Options{})
	if err == nil {
		_, err = data.NewImporter(db).LoadDataset(ctx, ds.GeoDataset(), geo.ImportOptions{Author: "test", Strict: true})
	}
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("loading the demo: %w", err)
	}
	pages, err := web.NewPagesFor(web.Config{Bundle: os.DirFS(testBundle)})
	if err != nil {
		db.Close()
		return nil, nil, err
	}
	deps := api.Server{
		Lookup: data.NewLookupService(db), Areas: data.NewAreaService(db),
		Buildings: data.NewBuildingService(db), People: data.NewPersonService(db),
		Auth: data.NewAuthService(db), Edits: data.NewEditor(db),
		Partitions: data.NewPartitioner(data.NewEditor(db)),
		Roads:      data.NewImporter(db),
		Ready:      db.Ready, Pages: pages,
		Contacts: data.NewContactService(db), Hotline: "12345",
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	if err := wireCases(ctx, db, ds, &deps); err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("the case store: %w", err)
	}
	stop := wireExtras(ctx, db, &deps)
	srv := httptest.NewServer(siteHandler(deps, web.Config{Attribution: "© OpenStreetMap contributors"}))

	dir, err := os.MkdirTemp("", "gridmap-chromium-")
	if err != nil {
		return nil, nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(chromiumPath),
		chromedp.UserDataDir(dir),
		chromedp.NoSandbox,
		chromedp.Flag("use-angle", "swiftshader"),
		chromedp.Flag("enable-unsafe-swiftshader", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("lang", "zh-CN"),
		chromedp.WindowSize(1280, 900),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil { // starts the browser
		cancelBrowser()
		cancelAlloc()
		return nil, nil, fmt.Errorf("starting %s: %w", chromiumPath, err)
	}
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		return nil, nil, err
	}
	cleanup := func() {
		cancelBrowser()
		cancelAlloc()
		os.RemoveAll(dir)
		srv.Close()
		stop()
		db.Close()
	}
	return &site{URL: srv.URL, deps: deps, db: db, demo: ds, browser: bctx}, cleanup, nil
}

// serverWith starts another server on the same services with other web
// settings, closed when the test ends.
func serverWith(t *testing.T, cfg web.Config) string {
	t.Helper()
	needSite(t)
	return serverWithDeps(t, theSite.deps, cfg)
}

// serverWithDeps starts another server with other services (the test
// site's, some replaced) and web settings, closed when the test ends.
func serverWithDeps(t *testing.T, deps api.Server, cfg web.Config) string {
	t.Helper()
	srv := httptest.NewServer(siteHandler(deps, cfg))
	t.Cleanup(srv.Close)
	return srv.URL
}

// siteHandler is the server as cmd/gridmap wires it, with the test bundle
// (testBundle) and the pages' Content-Security-Policy for cfg.
func siteHandler(deps api.Server, cfg web.Config) http.Handler {
	if cfg.Bundle == nil {
		cfg.Bundle = os.DirFS(testBundle)
	}
	deps.Web = web.Handler(cfg)
	// The pages name the hashed assets of the bundle they are served with.
	pages, err := web.NewPagesFor(cfg)
	if err != nil {
		panic(err) // the templates and catalogue are the tests' own
	}
	deps.Pages = pages
	// PublicRate 0: a map's burst of tile requests must not be throttled.
	return api.NewServer(api.Config{PublicRate: 0, ContentSecurityPolicy: web.ContentSecurityPolicy(cfg)}, deps, prometheus.NewRegistry())
}

// needSite fails a test that needs the server and browser when they did not start.
func needSite(t *testing.T) {
	t.Helper()
	if theSite == nil {
		t.Fatal("the test site and browser did not start (see TestMain's output)")
	}
}

// tabBudget bounds a whole tab's life, a net for a test that hangs; each
// wait has its own bound (waitFor: 30 s). A long test (TestEditor: dozens of
// steps) ran past 90 s at load 25 in make test and failed on that deadline, not on a wait.
const tabBudget = 5 * time.Minute

// tab opens a new tab in a fresh browser context (its own cookies and
// storage), sized w×h CSS pixels, closed when the test ends.
func tab(t *testing.T, w, h int64) context.Context {
	t.Helper()
	needSite(t)
	ctx, cancel := chromedp.NewContext(theSite.browser, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	ctx, cancelTimeout := context.WithTimeout(ctx, tabBudget)
	t.Cleanup(cancelTimeout)
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(w, h)); err != nil {
		t.Fatalf("new tab: %v", err)
	}
	var mu sync.Mutex
	var errs, csp []string
	if err := chromedp.Listen(ctx, func(ev any) {
		var msg string
		switch e := ev.(type) {
		case *cdplog.EventEntryAdded:
			// The browser reports what the Content-Security-Policy blocked
			// here, for the page and for MapLibre's worker.
			if !strings.Contains(e.Entry.Text, "Content Security Policy") {
				return
			}
			mu.Lock()
			csp = append(csp, e.Entry.Text)
			mu.Unlock()
			return
		case *cdpruntime.EventExceptionThrown:
			msg = e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
		case *cdpruntime.EventConsoleAPICalled:
			if e.Type != cdpruntime.ConsoleAPICalledTypeError && e.Type != cdpruntime.ConsoleAPICalledTypeWarning {
				return
			}
			for _, a := range e.Args {
				msg += " " + string(a.Value) + a.Description
			}
		default:
			return
		}
		mu.Lock()
		errs = append(errs, msg)
		mu.Unlock()
	}); err != nil {
		t.Fatalf("listening to the console: %v", err)
	}
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		for _, e := range errs {
			t.Logf("browser console: %s", e)
		}
		for _, e := range csp {
			t.Errorf("the page's Content-Security-Policy blocked something it needs: %s", e)
		}
	})
	return ctx
}

// do runs actions and fails the test with what it was doing.
func do(t *testing.T, ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	if err := chromedp.Do(ctx, actions...); err != nil {
		shot(t, ctx, "failed-"+safeName(t.Name()))
		t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates a JavaScript expression (awaiting a promise) into T.
func eval[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %s: %v", expr, err)
	}
	return v
}

// reopenTab freezes the page of ctx and closes its tab, then opens a new
// w×h tab in the same browser context (cookies, storage and the position's
// permission carry over), placed at at when given, as a phone does when its
// browser is opened again.
func reopenTab(t *testing.T, ctx context.Context, w, h int64, at *orb.Point) context.Context {
	t.Helper()
	c := chromedp.FromContext(ctx)
	do(t, ctx, "freezing the page", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, page.SetWebLifecycleState, page.SetWebLifecycleStateParams{State: page.SetWebLifecycleStateStateFrozen})
		return err
	}))
	if _, err := cdp.Call(ctx, c.Browser, target.CloseTarget, target.CloseTargetParams{TargetID: c.Target.TargetID}); err != nil {
		t.Fatalf("closing the tab: %v", err)
	}
	next, cancel := chromedp.NewContext(theSite.browser, chromedp.WithExistingBrowserContext(c.BrowserContextID))
	t.Cleanup(cancel)
	next, cancelTimeout := context.WithTimeout(next, tabBudget)
	t.Cleanup(cancelTimeout)
	do(t, next, "the new tab", chromedp.EmulateViewport(w, h))
	if at != nil {
		lon, lat, acc := at[0], at[1], 5.0
		do(t, next, "the new tab at the phone's place", chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
			_, err := cdp.Call(ctx, tg, emulation.SetGeolocationOverride, emulation.SetGeolocationOverrideParams{Longitude: &lon, Latitude: &lat, Accuracy: &acc})
			return err
		}))
	}
	return next
}

// waitFor polls a JavaScript condition until it is truthy (30 s at most). A
// navigation destroys the page's JavaScript context and the poll with it;
// then it polls again in the new page.
func waitFor(t *testing.T, ctx context.Context, what, cond string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		// The condition may throw while the page is half drawn (an element
		// not there yet): that counts as false, not as the end of the poll
		// (a throw inside chromedp's poll rejects its promise and the wait
		// would only end at the deadline).
		_, err := chromedp.Run(ctx, chromedp.Poll[bool]("(() => { try { return !!("+cond+"); } catch (e) { return false; } })()", chromedp.WithPollingTimeout(time.Until(deadline))))
		if err == nil {
			return
		}
		msg := err.Error()
		navigated := strings.Contains(msg, "context") && (strings.Contains(msg, "Cannot find") || strings.Contains(msg, "destroyed")) ||
			strings.Contains(msg, "navigated or closed") || strings.Contains(msg, "Not attached to an active page")
		if !navigated || time.Now().After(deadline) || ctx.Err() != nil {
			shot(t, ctx, "failed-"+safeName(t.Name()))
			// what the condition says now, or what it throws
			last, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("(() => { try { return String(!!("+cond+")); } catch (e) { return 'throws ' + e; } })()"))
			// and what the page shows, for a failure seen only in CI's log
			page, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + " | " + (document.body ? document.body.innerText.replace(/\s+/g, " ").slice(0, 400) : "")`))
			t.Fatalf("waiting for %s (%s): %v (now: %s; page: %s)", what, cond, err, last, page)
		}
	}
}

// waitMapIdle waits until every map on the page has fired idle since its last change.
func waitMapIdle(t *testing.T, ctx context.Context) {
	t.Helper()
	waitFor(t, ctx, "the map to be idle", `window.__gridmap && window.__gridmap.idle && window.__gridmap.maps.every(m => m.loaded() && !m.isMoving())`)
}

// shot saves a screenshot of the viewport to artifacts/name.png.
func shot(t *testing.T, ctx context.Context, name string) []byte {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return nil
	}
	writeArtifact(t, name+".png", png)
	return png
}

func writeArtifact(t *testing.T, name string, b []byte) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(artifacts, name), b, 0o644); err != nil {
		t.Logf("writing artifact %s: %v", name, err)
	}
}

func safeName(s string) string {
	return strings.NewReplacer("/", "-", " ", "_").Replace(s)
}

// decodeQR finds and decodes a QR code in a PNG.
func decodeQR(t *testing.T, png []byte) string {
	t.Helper()
	img, _, err := image.Decode(bytes.NewReader(png))
	if err != nil {
		t.Fatalf("decoding the screenshot: %v", err)
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatalf("binarising the screenshot: %v", err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_TRY_HARDER: true})
	if err != nil {
		t.Fatalf("no QR code found in the screenshot: %v", err)
	}
	return res.GetText()
}

// get fetches a URL of the test server.
func get(t *testing.T, path string) (*http.Response, string) {
	t.Helper()
	needSite(t)
	res, err := http.Get(theSite.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res, string(b)
}

// chromiumVersion is logged once, so a failure report says which browser ran.
func chromiumVersion() string {
	out, err := exec.Command(chromiumPath, "--version").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}
