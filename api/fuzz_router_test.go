package api_test

import (
	"bytes"
	"context"
	"flag"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"gridmap/api"
	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/demo"
	"gridmap/geo"
	"gridmap/tiles"
	"gridmap/tiles/postgis"
	"gridmap/web"
)

// routerServer is the whole router on a real database of its own (the demo,
// an admin account and its bearer token), shared by the FuzzRouter runs of
// one process. A fuzz worker opens the database its coordinator created.
var routerServer struct {
	once  sync.Once
	err   error
	url   string
	token string
	logs  *lockedBuffer
}

func startRouterServer(tb testing.TB) (base, token string) {
	tb.Helper()
	routerServer.once.Do(func() { routerServer.err = openRouterServer() })
	if routerServer.err != nil {
		tb.Fatal(routerServer.err)
	}
	return routerServer.url, routerServer.token
}

func openRouterServer() error {
	ctx := context.Background()
	base := os.Getenv("GRIDMAP_TEST_DATABASE_URL")
	var db *data.DB
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		u, err := url.Parse(base)
		if err != nil {
			return err
		}
		u.Path = "/gridmap_test_api_router"
		if db, err = data.Open(ctx, data.Config{URL: u.String(), StatementTimeout: time.Minute}); err != nil {
			return err
		}
	} else {
		var err error
		if db, _, err = dbtest.Open(base, "api_router"); err != nil {
			return err
		}
		ds, err := demo.Generate(demo.Options{})
		if err != nil {
			return err
		}
		if _, err := data.NewImporter(db).LoadDataset(ctx, ds.GeoDataset(), geo.ImportOptions{Author: "test", Strict: true}); err != nil {
			return err
		}
		if _, err := data.NewAuthService(db).CreateUser(ctx, geo.NewUser{Name: "fuzz", Role: geo.UserAdmin, Password: "fuzz fuzz fuzz"}); err != nil {
			return err
		}
	}
	auth := data.NewAuthService(db)
	u, err := auth.Authenticate(ctx, "fuzz", "fuzz fuzz fuzz")
	if err != nil {
		return err
	}
	token, err := auth.CreateAPIToken(ctx, u.ID, "fuzz", time.Hour)
	if err != nil {
		return err
	}
	pages, err := web.NewPages()
	if err != nil {
		return err
	}
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	reg := prometheus.NewRegistry()
	cache := tiles.NewCache(postgis.New(db.Pool), tiles.Config{}, log, reg)
	s := api.NewServer(api.Config{MaxBodyBytes: 1 << 20}, api.Server{
		Lookup: data.NewLookupService(db), Areas: data.NewAreaService(db), Buildings: data.NewBuildingService(db),
		People: data.NewPersonService(db), Auth: auth, Edits: data.NewEditor(db), Tiles: &api.Tiles{Service: cache},
		Ready: db.Ready, Web: web.Handler(web.Config{}), Pages: pages, Log: log,
	}, reg)
	routerServer.url, routerServer.token, routerServer.logs = httptest.NewServer(s).URL, token, logs
	return nil
}

var fuzzClient = &http.Client{Timeout: time.Minute, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// FuzzRouter sends random methods, paths, queries and bodies, anonymous or
// as an admin, to the whole router on a real database: no answer is a 5xx.
// Its seed corpus (testdata/fuzz/FuzzRouter) holds the requests that were
// answered 500 before: bytes that are not text in path values, queries and
// JSON strings, an overflowing ttl_hours, unknown paths and methods.
func FuzzRouter(f *testing.F) {
	for _, s := range []struct {
		method, path, body string
		admin              bool
	}{
		{"GET", "/api/v1/lookup?lon=120.13&lat=30.28", "", false},
		{"GET", "/api/v1/areas/%00", "", false},
		{"GET", "/api/v1/buildings?q=%C3%28", "", false},
		{"POST", "/api/v1/login", `{"name":"\u0000","password":"x"}`, false},
		{"POST", "/api/v1/tokens", `{"name":"t","ttl_hours":2562048}`, true},
		{"PATCH", "/api/v1/areas/330199001001001", `{"name":"\u0000","reason":"x"}`, true},
		{"DELETE", "/api/v1/lookup", "", false},
	} {
		f.Add(s.method, s.path, []byte(s.body), s.admin)
	}
	f.Fuzz(func(t *testing.T, method, path string, body []byte, admin bool) {
		base, token := startRouterServer(t)
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		var rd io.Reader
		if len(body) > 0 {
			rd = bytes.NewReader(body)
		}
		req, err := http.NewRequest(method, base+path, rd)
		if err != nil {
			return // not a request a client can send
		}
		if len(body) > 0 {
			req.Header.Set("Content-Type", "application/json")
		}
		if admin {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		res, err := fuzzClient.Do(req)
		if err != nil {
			t.Fatalf("%s %q: %v", method, path, err)
		}
		out, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode >= 500 {
			t.Fatalf("%s %q %q (admin %v): %d %.300s", method, path, body, admin, res.StatusCode, out)
		}
	})
}
