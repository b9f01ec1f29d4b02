package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb/maptile"
	"github.com/prometheus/client_golang/prometheus"

	"gridmap/api"
	"gridmap/data"
	"gridmap/index"
	"gridmap/tiles"
	"gridmap/tiles/postgis"
)

// cutProxy is a TCP proxy in front of the test cluster that the test can cut:
// Cut closes every connection through it and refuses new ones (they are
// accepted and closed at once) until Restore. Other packages using the
// cluster at the same time are not disturbed.
type cutProxy struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	cut    bool
	conns  map[net.Conn]struct{}
}

func newCutProxy(t *testing.T, target string) *cutProxy {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cutProxy{l: l, target: target, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { l.Close(); p.Cut() })
	go p.serve()
	return p
}

func (p *cutProxy) serve() {
	for {
		c, err := p.l.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.cut {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.mu.Unlock()
		go p.pipe(c)
	}
}

func (p *cutProxy) pipe(c net.Conn) {
	up, err := net.Dial("tcp", p.target)
	if err != nil {
		c.Close()
		return
	}
	p.mu.Lock()
	if p.cut {
		p.mu.Unlock()
		c.Close()
		up.Close()
		return
	}
	p.conns[c], p.conns[up] = struct{}{}, struct{}{}
	p.mu.Unlock()
	done := make(chan struct{}, 2)
	go func() { io.Copy(up, c); done <- struct{}{} }()
	go func() { io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	p.mu.Lock()
	delete(p.conns, c)
	delete(p.conns, up)
	p.mu.Unlock()
}

func (p *cutProxy) Cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = true
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

func (p *cutProxy) Restore() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cut = false
}

// waitFor polls cond every 10 ms until it holds, failing after limit.
func waitFor(t *testing.T, what string, limit time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, limit)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestDatabaseOutageIs503AndLookupsAnswerFromMemory pins, with PostgreSQL
// unreachable: lookups, tiles and address search answering 500; signed-in
// staff getting 401; /readyz telling the database's user, host and port. It
// then checks the recovery, and that edits cut off mid-way left nothing
// half-written.
func TestDatabaseOutageIs503AndLookupsAnswerFromMemory(t *testing.T) {
	f := newEditFixture(t, "api_outage", api.Config{})
	u, err := url.Parse(f.url)
	if err != nil {
		t.Fatal(err)
	}
	proxy := newCutProxy(t, u.Host)
	u.Host = proxy.l.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	db, err := data.Open(ctx, data.Config{URL: u.String()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	feed := data.NewChangeFeed(db, log)
	go feed.Run(ctx)
	idx := index.New(data.NewSnapshotSource(db), feed, data.NewLookupService(db), index.Config{Listening: feed.WaitConnected, Log: log,
		RetryMin: 20 * time.Millisecond, RetryMax: 200 * time.Millisecond})
	go idx.Run(ctx)
	reg := prometheus.NewRegistry()
	cache := tiles.NewCache(postgis.New(db.Pool), tiles.Config{}, log, reg)
	cache.Start(ctx, feed)
	ready := func(ctx context.Context) error {
		if err := db.Ready(ctx); err != nil {
			return err
		}
		return idx.Ready(ctx)
	}
	s := api.NewServer(api.Config{}, api.Server{
		Lookup: idx, Areas: data.NewAreaService(db), Buildings: data.NewBuildingService(db), People: data.NewPersonService(db),
		Auth: data.NewAuthService(db), Edits: data.NewEditor(db), Tiles: &api.Tiles{Service: cache}, Ready: ready, Log: log,
	}, reg)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	wctx, wcancel := context.WithTimeout(ctx, time.Minute)
	defer wcancel()
	if err := cache.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "index loaded", time.Minute, func() bool { s := idx.Stats(); return s.Ready && s.AddressReady })

	admin := loginAt(t, srv.URL, "admin", f.password)
	b, grid := demoBuilding(&fixture{ds: f.ds}, 3)
	lookupPath := fmt.Sprintf("/api/v1/lookup?lon=%.10f&lat=%.10f", b.Point[0], b.Point[1])
	addressPath := "/api/v1/lookup?address=" + url.QueryEscape(b.Address)
	tile := maptile.At(b.Point, 14)
	cachedTile := fmt.Sprintf("/tiles/areas/%d/%d/%d.mvt", tile.Z, tile.X, tile.Y)
	uncachedTile := fmt.Sprintf("/tiles/areas/%d/%d/%d.mvt", tile.Z, tile.X+1, tile.Y)
	gridOf := func(body []byte) string {
		var r lookupResponse
		json.Unmarshal(body, &r)
		if r.Grid == nil {
			return ""
		}
		return r.Grid.Code
	}
	for _, p := range []string{lookupPath, addressPath, cachedTile, cachedTile} {
		res, body := admin.doRaw(t, "GET", p, "", nil)
		if res.StatusCode != 200 || res.Header.Get("X-Data-Stale") != "" {
			t.Fatalf("before the outage GET %s: %d stale=%q %.200s", p, res.StatusCode, res.Header.Get("X-Data-Stale"), body)
		}
	}

	proxy.Cut()
	waitFor(t, "the index notices the lost feed", 30*time.Second, func() bool { return !idx.Stats().Ready })

	t.Run("lookups answer from memory, marked stale", func(t *testing.T) {
		for _, p := range []string{lookupPath, addressPath} {
			res, body := admin.doRaw(t, "GET", p, "", nil)
			if res.StatusCode != 200 || res.Header.Get("X-Data-Stale") != "true" || gridOf(body) != grid {
				t.Errorf("GET %s: %d stale=%q grid %q, want 200 stale=true grid %s (%.200s)", p, res.StatusCode, res.Header.Get("X-Data-Stale"), gridOf(body), grid, body)
			}
		}
		res, body := admin.doRaw(t, "POST", "/api/v1/lookup/batch", "application/json", []byte(fmt.Sprintf(`{"points":[{"id":1,"lon":%f,"lat":%f}]}`, b.Point[0], b.Point[1])))
		if res.StatusCode != 200 || res.Header.Get("X-Data-Stale") != "true" || !strings.Contains(string(body), grid) {
			t.Errorf("batch: %d stale=%q %.200s, want 200 stale from memory", res.StatusCode, res.Header.Get("X-Data-Stale"), body)
		}
		res, body = admin.doRaw(t, "GET", lookupPath+"&at=2024-01-01", "", nil)
		wantUnavailable(t, "an as-of lookup (memory holds today only)", res, body)
	})
	t.Run("tiles answer from the cache, a miss is 503", func(t *testing.T) {
		res, body := admin.doRaw(t, "GET", cachedTile, "", nil)
		if res.StatusCode != 200 || res.Header.Get("X-Data-Stale") != "true" {
			t.Errorf("cached tile: %d stale=%q %.200s, want 200 stale", res.StatusCode, res.Header.Get("X-Data-Stale"), body)
		}
		res, body = admin.doRaw(t, "GET", uncachedTile, "", nil)
		wantUnavailable(t, "uncached tile", res, body)
	})
	t.Run("every database route is 503 unavailable with Retry-After", func(t *testing.T) {
		for _, p := range []string{"/api/v1/areas/" + grid, "/api/v1/areas?level=grid", "/api/v1/buildings/" + b.Code,
			"/api/v1/buildings?q=" + url.QueryEscape(b.Address), "/api/v1/levels", "/api/v1/changes"} {
			res, body := admin.doRaw(t, "GET", p, "", nil)
			wantUnavailable(t, "GET "+p, res, body)
		}
		res, body := admin.doRaw(t, "PATCH", "/api/v1/areas/"+grid, "application/json", []byte(`{"name":"断线","reason":"outage"}`))
		wantUnavailable(t, "PATCH while cut", res, body)
		anon := &client{hc: http.DefaultClient, base: srv.URL}
		res, body = anon.doRaw(t, "POST", "/api/v1/login", "application/json", []byte(fmt.Sprintf(`{"name":"admin","password":%q}`, f.password)))
		wantUnavailable(t, "login", res, body)
	})
	t.Run("the outage is logged as the database's, not as an internal error", func(t *testing.T) {
		text := logs.String()
		if !strings.Contains(text, "level=WARN msg=\"database unavailable\"") || strings.Contains(text, "internal error") {
			t.Errorf("log during the outage, want warnings 'database unavailable' and no 'internal error':\n%.2000s", text)
		}
	})
	t.Run("a signed-in user's session check is 503, not 401", func(t *testing.T) {
		res, body := admin.doRaw(t, "GET", "/api/v1/session", "", nil)
		wantUnavailable(t, "GET /session", res, body)
	})
	t.Run("readyz says what is wrong without connection details", func(t *testing.T) {
		res, body := admin.doRaw(t, "GET", "/readyz", "", nil)
		if res.StatusCode != 503 || !strings.Contains(string(body), "database") {
			t.Errorf("readyz: %d %s, want 503 naming the database", res.StatusCode, body)
		}
		for _, secret := range []string{u.Hostname(), u.Port(), u.User.Username(), strings.TrimPrefix(u.Path, "/"), "dial", "SQLSTATE"} {
			if secret != "" && strings.Contains(string(body), secret) {
				t.Errorf("readyz tells %q: %s", secret, body)
			}
		}
	})

	t.Run("edits cut off mid-way leave nothing half-written", func(t *testing.T) {
		proxy.Restore()
		waitFor(t, "the session answers again", 30*time.Second, func() bool {
			res, _ := admin.doRaw(t, "GET", "/api/v1/session", "", nil)
			return res.StatusCode == 200
		})
		var grids []string
		for _, a := range f.ds.Areas {
			if a.Level == "grid" && len(grids) < 16 {
				grids = append(grids, a.Code)
			}
		}
		statuses := make([]int, len(grids))
		var wg sync.WaitGroup
		first := make(chan struct{}, len(grids))
		for i, code := range grids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				res, _ := admin.doRaw(t, "PATCH", "/api/v1/areas/"+code, "application/json", []byte(`{"name":"改名`+code+`","reason":"outage test"}`))
				statuses[i] = res.StatusCode
				first <- struct{}{}
			}()
		}
		<-first // cut as soon as one rename is answered: the others are under way
		proxy.Cut()
		wg.Wait()
		proxy.Restore()
		t.Logf("rename statuses with the cut after the first answer: %v", statuses)
		for i, code := range grids {
			if st := statuses[i]; st != 200 && st != 503 && st != 504 {
				t.Errorf("rename %s: %d, want 200, or 503/504 for a cut", code, st)
			}
			var name string
			var changes int
			if err := f.db.Pool.QueryRow(context.Background(), `SELECT a.name, (SELECT count(*) FROM change c JOIN change_area ca ON ca.change_id = c.id
				WHERE ca.area_id = a.id AND c.operation = 'area.rename') FROM area a WHERE a.code = $1`, code).Scan(&name, &changes); err != nil {
				t.Fatal(err)
			}
			renamed := name == "改名"+code
			if renamed != (changes == 1) || changes > 1 {
				t.Errorf("grid %s: name %q with %d rename records: half-written", code, name, changes)
			}
			if statuses[i] == 200 && !renamed {
				t.Errorf("grid %s: answered 200 but not renamed", code)
			}
		}
	})
	t.Run("after the outage everything answers fresh again", func(t *testing.T) {
		waitFor(t, "the index reloads", time.Minute, func() bool { return idx.Stats().Ready })
		waitFor(t, "readyz", time.Minute, func() bool {
			res, _ := admin.doRaw(t, "GET", "/readyz", "", nil)
			return res.StatusCode == 200
		})
		for _, p := range []string{lookupPath, uncachedTile, "/api/v1/areas/" + grid} {
			res, body := admin.doRaw(t, "GET", p, "", nil)
			if res.StatusCode != 200 || res.Header.Get("X-Data-Stale") != "" {
				t.Errorf("after: GET %s: %d stale=%q %.200s", p, res.StatusCode, res.Header.Get("X-Data-Stale"), body)
			}
		}
	})
}

// loginAt signs in at the server at base and returns its client.
func loginAt(t *testing.T, base, name, password string) *client {
	t.Helper()
	f := &editFixture{password: password, srv: &httptest.Server{URL: base}}
	return f.login(t, name)
}

func wantUnavailable(t *testing.T, what string, res *http.Response, body []byte) {
	t.Helper()
	wantJSONError(t, what, res, body, 503, "")
	var e apiError
	json.Unmarshal(body, &e)
	if e.Error.Code != "unavailable" || res.Header.Get("Retry-After") == "" {
		t.Errorf("%s: code %q Retry-After %q, want unavailable with Retry-After", what, e.Error.Code, res.Header.Get("Retry-After"))
	}
}
