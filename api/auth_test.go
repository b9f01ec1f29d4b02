package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"gridmap/api"
	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/demo"
	"gridmap/geo"
)

// editFixture is a server with accounts and editing on its own copy of the demo.
type editFixture struct {
	srv      *httptest.Server
	server   *api.Server
	db       *data.DB
	url      string // the database's URL
	ds       *demo.Dataset
	comm     demo.Area // the editor's community
	other    demo.Area // another community
	grid     demo.Area // a grid inside comm
	gridID   int64
	otherID  int64 // a grid of the other community
	password string
}

func newEditFixture(t *testing.T, name string, cfg api.Config, opts ...func(*api.Server)) *editFixture {
	t.Helper()
	db, dbURL, err := dbtest.Open(os.Getenv("GRIDMAP_TEST_DATABASE_URL"), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	ds, err := demo.Generate(demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := data.NewImporter(db).LoadDataset(ctx, ds.GeoDataset(), geo.ImportOptions{Author: "test", Strict: true}); err != nil {
		t.Fatal(err)
	}
	f := &editFixture{db: db, url: dbURL, ds: ds, password: "correct horse battery"}
	for _, a := range ds.Areas {
		if a.Level == "community" {
			if f.comm.Code == "" {
				f.comm = a
			} else if f.other.Code == "" {
				f.other = a
			}
		}
	}
	for _, a := range ds.Areas {
		if a.Level == "grid" && a.ParentCode == f.comm.Code && f.grid.Code == "" {
			f.grid = a
		}
	}
	as := data.NewAreaService(db)
	g, _ := as.Area(ctx, f.grid.Code)
	f.gridID = g.ID
	for _, a := range ds.Areas {
		if a.Level == "grid" && a.ParentCode == f.other.Code {
			o, _ := as.Area(ctx, a.Code)
			f.otherID = o.ID
			break
		}
	}
	auth := data.NewAuthService(db)
	for _, u := range []geo.NewUser{
		{Name: "admin", Role: geo.UserAdmin},
		{Name: "viewer", Role: geo.UserViewer, ScopeCode: f.comm.Code},
		{Name: "editor", Role: geo.UserEditor, ScopeCode: f.comm.Code},
		{Name: "outsider", Role: geo.UserEditor, ScopeCode: f.other.Code},
	} {
		u.Password = f.password
		if _, err := auth.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
	}
	deps := api.Server{
		Lookup: data.NewLookupService(db), Areas: as, Buildings: data.NewBuildingService(db), People: data.NewPersonService(db),
		Auth: auth, Edits: data.NewEditor(db), Ready: db.Ready, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, o := range opts {
		o(&deps)
	}
	s := api.NewServer(cfg, deps, prometheus.NewRegistry())
	f.server, f.srv = s, httptest.NewServer(s)
	t.Cleanup(f.srv.Close)
	return f
}

// client is a browser-like client: cookie jar plus the CSRF token of its session.
type client struct {
	hc   *http.Client
	csrf string
	base string
}

func (f *editFixture) login(t *testing.T, name string) *client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &client{hc: &http.Client{Jar: jar}, base: f.srv.URL}
	if name == "" {
		return c
	}
	status, body := c.do(t, "POST", "/api/v1/login", map[string]string{"name": name, "password": f.password})
	if status != 200 {
		t.Fatalf("login %s: %d %s", name, status, body)
	}
	var sess geo.Session
	json.Unmarshal(body, &sess)
	c.csrf = sess.CSRFToken
	return c
}

func (c *client) do(t *testing.T, method, path string, body any) (int, []byte) {
	t.Helper()
	status, out, err := c.send(method, path, "", body)
	if err != nil {
		t.Fatal(err)
	}
	return status, out
}

// send makes one request with the client's cookies and CSRF token, and an
// Idempotency-Key header when key is set; it may run in a goroutine.
func (c *client) send(method, path, key string, body any) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Idempotency-Key", key)
	}
	if c.csrf != "" {
		req.Header.Set("X-CSRF-Token", c.csrf)
	}
	res, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	out, err := io.ReadAll(res.Body)
	return res.StatusCode, out, err
}

// noOpGeometry is the grid's own geometry as GeoJSON: an edit that validates.
func (f *editFixture) noOpGeometry(t *testing.T) json.RawMessage {
	t.Helper()
	var g []byte
	if err := f.db.Pool.QueryRow(context.Background(), `SELECT ST_AsGeoJSON(geom) FROM area_version WHERE area_id = $1 AND valid_to IS NULL`, f.gridID).Scan(&g); err != nil {
		t.Fatal(err)
	}
	return g
}

func TestAuthorizationMatrix(t *testing.T) {
	f := newEditFixture(t, "api_authz", api.Config{})
	ctx := context.Background()
	var personID int64
	f.db.Pool.QueryRow(ctx, `SELECT id FROM person LIMIT 1`).Scan(&personID)
	admin := f.login(t, "admin")

	type endpoint struct {
		name   string
		scoped bool // bound to an area: out-of-scope editors are refused
		// request builds the call; it may prepare data through the admin.
		request func(t *testing.T) (method, path string, body any)
		ok      int
	}
	reshape := func(area int64) func(t *testing.T) (string, string, any) {
		return func(t *testing.T) (string, string, any) {
			return "POST", "/api/v1/edits", map[string]any{"op": "reshape", "areas": []map[string]int64{{"id": area}}, "geometry": f.noOpGeometry(t), "reason": "matrix"}
		}
	}
	endpoints := []endpoint{
		{"preview", true, func(t *testing.T) (string, string, any) {
			return "POST", "/api/v1/edits/preview", map[string]any{"op": "reshape", "areas": []map[string]int64{{"id": f.gridID}}, "geometry": f.noOpGeometry(t)}
		}, 200},
		{"apply", true, reshape(f.gridID), 200},
		{"rename", true, func(t *testing.T) (string, string, any) {
			return "PATCH", "/api/v1/areas/" + f.grid.Code, map[string]any{"name": f.grid.Name, "reason": "matrix"}
		}, 200},
		{"create person", false, func(t *testing.T) (string, string, any) {
			return "POST", "/api/v1/people", map[string]any{"name": "测试人员", "phone": "14000000000"}
		}, 201},
		{"assign duty", true, func(t *testing.T) (string, string, any) {
			return "POST", "/api/v1/duties", map[string]any{"person_id": personID, "area": f.grid.Code, "role": "volunteer"}
		}, 201},
		{"end duty", true, func(t *testing.T) (string, string, any) {
			status, body := admin.do(t, "POST", "/api/v1/duties", map[string]any{"person_id": personID, "area": f.grid.Code, "role": "volunteer", "valid_from": "2025-01-01"})
			var d geo.Duty
			if status != 201 || json.Unmarshal(body, &d) != nil {
				t.Fatalf("preparing a duty: %d %s", status, body)
			}
			return "POST", fmt.Sprintf("/api/v1/duties/%d/end", d.ID), map[string]any{"reason": "matrix"}
		}, 200},
		{"revert", true, func(t *testing.T) (string, string, any) {
			_, _, body := reshape(f.gridID)(t)
			status, out := admin.do(t, "POST", "/api/v1/edits", body)
			var res geo.EditResult
			if status != 200 || json.Unmarshal(out, &res) != nil {
				t.Fatalf("preparing a change: %d %s", status, out)
			}
			return "POST", fmt.Sprintf("/api/v1/changes/%d/revert", res.ChangeID), map[string]any{"reason": "matrix"}
		}, 200},
		{"api token", false, func(t *testing.T) (string, string, any) {
			return "POST", "/api/v1/tokens", map[string]any{"name": "script"}
		}, 201},
	}
	users := []struct {
		name string
		c    *client
	}{
		{"anonymous", f.login(t, "")}, {"viewer", f.login(t, "viewer")}, {"editor in scope", f.login(t, "editor")},
		{"editor out of scope", f.login(t, "outsider")}, {"admin", admin},
	}
	for _, ep := range endpoints {
		for _, u := range users {
			want := ep.ok
			switch {
			case u.name == "anonymous":
				want = 401
			case u.name == "viewer" && ep.name != "api token":
				want = 403
			case u.name == "editor out of scope" && ep.scoped:
				want = 403
			}
			t.Run(ep.name+"/"+u.name, func(t *testing.T) {
				method, path, body := ep.request(t)
				status, out := u.c.do(t, method, path, body)
				if status != want {
					t.Errorf("%s %s as %s: got %d %s, want %d", method, path, u.name, status, out, want)
				}
			})
		}
	}
	t.Run("editor cannot move its own community's outer boundary", func(t *testing.T) {
		var commID int64
		f.db.Pool.QueryRow(ctx, `SELECT id FROM area WHERE code = $1`, f.comm.Code).Scan(&commID)
		status, out := f.login(t, "editor").do(t, "POST", "/api/v1/edits/preview", map[string]any{"op": "retire", "areas": []map[string]int64{{"id": commID}}})
		if status != 403 {
			t.Errorf("got %d %s, want 403", status, out)
		}
	})
	t.Run("editor cannot touch another community's grid", func(t *testing.T) {
		status, out := f.login(t, "editor").do(t, "POST", "/api/v1/edits/preview", map[string]any{"op": "retire", "areas": []map[string]int64{{"id": f.otherID}}})
		if status != 403 {
			t.Errorf("got %d %s, want 403", status, out)
		}
	})
}

func TestSessionsAndCSRF(t *testing.T) {
	f := newEditFixture(t, "api_session", api.Config{})
	ctx := context.Background()
	body := map[string]any{"name": "测试人员"}

	t.Run("cookie flags", func(t *testing.T) {
		b, _ := json.Marshal(map[string]string{"name": "editor", "password": f.password})
		res, err := http.Post(f.srv.URL+"/api/v1/login", "application/json", bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		sc := res.Header.Get("Set-Cookie")
		if !strings.Contains(sc, "HttpOnly") || !strings.Contains(sc, "SameSite=Lax") || strings.Contains(sc, "Secure") {
			t.Errorf("Set-Cookie %q: want HttpOnly, SameSite=Lax, and no Secure over plain http", sc)
		}
	})
	t.Run("missing or wrong CSRF token", func(t *testing.T) {
		c := f.login(t, "editor")
		good := c.csrf
		for _, tok := range []string{"", "forged"} {
			c.csrf = tok
			if status, out := c.do(t, "POST", "/api/v1/people", body); status != 403 || !strings.Contains(string(out), "CSRF") {
				t.Errorf("token %q: got %d %s, want 403 naming CSRF", tok, status, out)
			}
		}
		c.csrf = good
		if status, out := c.do(t, "POST", "/api/v1/people", body); status != 201 {
			t.Errorf("with the token: got %d %s, want 201", status, out)
		}
	})
	t.Run("an expired session is signed out", func(t *testing.T) {
		c := f.login(t, "editor")
		if _, err := f.db.Pool.Exec(ctx, `UPDATE session SET expires_at = now() - interval '1 second'`); err != nil {
			t.Fatal(err)
		}
		if status, out := c.do(t, "POST", "/api/v1/people", body); status != 401 {
			t.Errorf("got %d %s, want 401", status, out)
		}
	})
	t.Run("logout ends the session", func(t *testing.T) {
		c := f.login(t, "editor")
		if status, _ := c.do(t, "POST", "/api/v1/logout", nil); status != 204 {
			t.Fatalf("logout: %d", status)
		}
		if status, out := c.do(t, "GET", "/api/v1/session", nil); status != 200 || string(bytes.TrimSpace(out)) != `{"signed_in":false}` {
			t.Errorf("session after logout: %d %s, want 200 {\"signed_in\":false}", status, out)
		}
		if status, _ := c.do(t, "POST", "/api/v1/tokens", map[string]any{"name": "after logout"}); status != 401 {
			t.Errorf("a staff route after logout: %d, want 401", status)
		}
	})
	t.Run("API tokens work without CSRF", func(t *testing.T) {
		c := f.login(t, "editor")
		status, out := c.do(t, "POST", "/api/v1/tokens", map[string]any{"name": "script"})
		var tok struct{ Token string }
		if status != 201 || json.Unmarshal(out, &tok) != nil {
			t.Fatalf("token: %d %s", status, out)
		}
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", f.srv.URL+"/api/v1/people", bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tok.Token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 201 {
			t.Errorf("with bearer token: %d, want 201", res.StatusCode)
		}
	})
	t.Run("failed sign-ins reveal nothing and are throttled", func(t *testing.T) {
		c := f.login(t, "")
		s1, unknown := c.do(t, "POST", "/api/v1/login", map[string]string{"name": "nobody", "password": "whatever123"})
		s2, wrong := c.do(t, "POST", "/api/v1/login", map[string]string{"name": "viewer", "password": "whatever123"})
		if s1 != 401 || s2 != 401 || string(unknown) != string(wrong) {
			t.Errorf("unknown user: %d %s; wrong password: %d %s; want the same 401", s1, unknown, s2, wrong)
		}
		var last int
		for i := 0; i < 5; i++ {
			last, _ = c.do(t, "POST", "/api/v1/login", map[string]string{"name": "viewer", "password": "still wrong"})
		}
		if last != 429 {
			t.Errorf("after 6 failures for one account: %d, want 429", last)
		}
		// The right password is refused too while the account is throttled.
		if status, _ := c.do(t, "POST", "/api/v1/login", map[string]string{"name": "viewer", "password": f.password}); status != 429 {
			t.Errorf("right password while throttled: %d, want 429", status)
		}
	})
}

func TestPublicRateLimit(t *testing.T) {
	f := newEditFixture(t, "api_ratelimit", api.Config{PublicRate: 1, PublicBurst: 3})
	staff := f.login(t, "viewer") // signing in is itself an anonymous request
	c := f.login(t, "")
	var statuses []int
	for i := 0; i < 5; i++ {
		s, _ := c.do(t, "GET", "/api/v1/lookup?lon=120.13&lat=30.28", nil)
		statuses = append(statuses, s)
	}
	if statuses[0] != 200 || statuses[4] != 429 {
		t.Errorf("statuses %v: want the burst to pass and then 429", statuses)
	}
	res, err := http.Get(f.srv.URL + "/api/v1/lookup?lon=120.13&lat=30.28")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 429 || res.Header.Get("Retry-After") == "" {
		t.Errorf("got %d with Retry-After %q, want 429 with Retry-After", res.StatusCode, res.Header.Get("Retry-After"))
	}
	// Photos (like tiles, fonts and assets) have their own, larger bucket.
	if s, _ := c.do(t, "GET", "/api/v1/photos/999999", nil); s != 404 {
		t.Errorf("photo while the API bucket is empty: %d, want 404 (not limited)", s)
	}
	for i := 0; i < 5; i++ {
		if s, _ := staff.do(t, "GET", "/api/v1/lookup?lon=120.13&lat=30.28", nil); s != 200 {
			t.Fatalf("signed-in request %d: %d, want 200 (staff are not limited)", i, s)
		}
	}
}

func TestBodyLimitPerRoute(t *testing.T) {
	f := newEditFixture(t, "api_bodylimit", api.Config{MaxBodyBytes: 1 << 10, MaxBatchBodyBytes: 1 << 20})
	big := map[string]any{"name": "admin", "password": strings.Repeat("x", 4<<10)}
	if s, out := f.login(t, "").do(t, "POST", "/api/v1/login", big); s != 413 {
		t.Errorf("4 KiB login body with a 1 KiB limit: %d %s, want 413", s, out)
	}
	pts := make([]map[string]float64, 500) // about 15 KB: over the general limit, under the batch one
	for i := range pts {
		pts[i] = map[string]float64{"lon": 120.13, "lat": 30.28}
	}
	if s, out := f.login(t, "").do(t, "POST", "/api/v1/lookup/batch", map[string]any{"points": pts}); s != 200 {
		t.Errorf("15 KB batch with a 1 MiB batch limit: %d %.200s, want 200", s, out)
	}
}
