package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"gridmap/api"
	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/demo"
	"gridmap/geo"
	"gridmap/web"
)

// privacyFixture is the demo with one grid whose vulnerable residents are
// few: building small has 1 elderly living alone and 1 disabled resident,
// building big 6 disabled and 2 low-income households, the grid's other
// buildings none. So the grid has elderly_alone 1, disabled 7, low_income 2.
type privacyFixture struct {
	db         *data.DB
	deps       api.Server
	password   string
	grid       string // grid code
	small, big string // building codes
}

func newPrivacyFixture(t *testing.T) *privacyFixture {
	t.Helper()
	db, _, err := dbtest.Open(os.Getenv("GRIDMAP_TEST_DATABASE_URL"), "api_privacy")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	ctx := context.Background()
	ds, err := demo.Generate(demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := data.NewImporter(db).LoadDataset(ctx, ds.GeoDataset(), geo.ImportOptions{Author: "test", Strict: true}); err != nil {
		t.Fatal(err)
	}
	f := &privacyFixture{db: db, password: "correct horse battery"}
	// The grid of the first building, and two of its buildings.
	var gridID int64
	if err := db.Pool.QueryRow(ctx, `SELECT b.grid_id, a.code FROM building b JOIN area a ON a.id = b.grid_id
		WHERE b.grid_id IS NOT NULL ORDER BY b.code LIMIT 1`).Scan(&gridID, &f.grid); err != nil {
		t.Fatal(err)
	}
	var codes []string
	rows, err := db.Pool.Query(ctx, `SELECT code FROM building WHERE grid_id = $1 ORDER BY code LIMIT 2`, gridID)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var c string
		rows.Scan(&c)
		codes = append(codes, c)
	}
	if rows.Err() != nil || len(codes) < 2 {
		t.Fatalf("grid %s: buildings %v, %v; want two", f.grid, codes, rows.Err())
	}
	f.small, f.big = codes[0], codes[1]
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{`UPDATE building SET elderly_alone = 0, disabled = 0, low_income = 0, party_members = 3 WHERE grid_id = $1`, []any{gridID}},
		{`UPDATE building SET elderly_alone = 1, disabled = 1 WHERE code = $1`, []any{f.small}},
		{`UPDATE building SET disabled = 6, low_income = 2 WHERE code = $1`, []any{f.big}},
	} {
		if _, err := db.Pool.Exec(ctx, q.sql, q.args...); err != nil {
			t.Fatal(err)
		}
	}
	auth := data.NewAuthService(db)
	if _, err := auth.CreateUser(ctx, geo.NewUser{Name: "viewer", Role: geo.UserViewer, Password: f.password}); err != nil {
		t.Fatal(err)
	}
	pages, err := web.NewPages()
	if err != nil {
		t.Fatal(err)
	}
	f.deps = api.Server{
		Lookup: data.NewLookupService(db), Areas: data.NewAreaService(db),
		Buildings: data.NewBuildingService(db), People: data.NewPersonService(db),
		Auth: auth, Edits: data.NewEditor(db), Ready: db.Ready, Pages: pages,
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	return f
}

// server serves f's services with cfg; the server closes when the test ends.
func (f *privacyFixture) server(t *testing.T, cfg api.Config) string {
	t.Helper()
	srv := httptest.NewServer(api.NewServer(cfg, f.deps, prometheus.NewRegistry()))
	t.Cleanup(srv.Close)
	return srv.URL
}

// client is anonymous for name "", otherwise signed in as name.
func (f *privacyFixture) client(t *testing.T, base, name string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	if name == "" {
		return hc
	}
	b, _ := json.Marshal(map[string]string{"name": name, "password": f.password})
	res, err := hc.Post(base+"/api/v1/login", "application/json", strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("login %s: %d", name, res.StatusCode)
	}
	return hc
}

func fetchOK(t *testing.T, hc *http.Client, u string) string {
	t.Helper()
	res, err := hc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("GET %s: %d %s", u, res.StatusCode, b)
	}
	return string(b)
}

// jsonCounts are a building's counts as JSON gives them (numbers or "<5").
func jsonCounts(t *testing.T, body string, path ...string) map[string]any {
	t.Helper()
	var v any
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("not JSON: %v: %s", err, body)
	}
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			if len(x) == 0 {
				t.Fatalf("no %s in %s", p, body)
			}
			v = x[0]
		}
	}
	m, ok := v.(map[string]any)
	if !ok {
		t.Fatalf("counts at %v: got %v in %s", path, v, body)
	}
	return m
}

var ddCount = regexp.MustCompile(`data-count="([a-z_]+)">([^<]*)<`)

// htmlCounts are the counts shown in the element with id section of a page.
func htmlCounts(t *testing.T, page, section string) map[string]string {
	t.Helper()
	i := strings.Index(page, `id="`+section+`"`)
	if i < 0 {
		t.Fatalf("no #%s in the page", section)
	}
	part := page[i:]
	if j := strings.Index(part, "</dl>"); j >= 0 {
		part = part[:j]
	}
	out := map[string]string{}
	for _, m := range ddCount.FindAllStringSubmatch(part, -1) {
		out[m[1]] = html.UnescapeString(m[2])
	}
	return out
}

func checkCounts[V comparable](t *testing.T, what string, got map[string]V, want map[string]V, absent ...string) {
	t.Helper()
	for k, w := range want {
		if g, ok := got[k]; !ok || g != w {
			t.Errorf("%s: %s = %v (present %v), want %v", what, k, g, ok, w)
		}
	}
	for _, k := range absent {
		if g, ok := got[k]; ok {
			t.Errorf("%s: %s = %v is shown, want it absent", what, k, g)
		}
	}
}

var sensitive = []string{"elderly_alone", "disabled", "low_income"}

// TestBuildingAPIHidesVulnerableCountsPerBuilding: /api/v1/buildings and
// /api/v1/buildings/{code} gave every building's 空巢老人 1, 残疾人 1 to
// anyone; in public they are not given per building at all, staff get them exactly.
func TestBuildingAPIHidesVulnerableCountsPerBuilding(t *testing.T) {
	f := newPrivacyFixture(t)
	base := f.server(t, api.Config{})
	anon, staff := f.client(t, base, ""), f.client(t, base, "viewer")

	pub := jsonCounts(t, fetchOK(t, anon, base+"/api/v1/buildings/"+f.small), "building", "counts")
	checkCounts(t, "public building", pub, map[string]any{"party_members": 3.0}, sensitive...)
	var one struct{ Building struct{ Lon, Lat float64 } }
	json.Unmarshal([]byte(fetchOK(t, anon, base+"/api/v1/buildings/"+f.small)), &one)
	bbox := fmt.Sprintf("%f,%f,%f,%f", one.Building.Lon-1e-5, one.Building.Lat-1e-5, one.Building.Lon+1e-5, one.Building.Lat+1e-5)
	var list struct{ Buildings []map[string]any }
	json.Unmarshal([]byte(fetchOK(t, anon, base+"/api/v1/buildings?bbox="+bbox)), &list)
	found := false
	for _, b := range list.Buildings {
		if b["code"] == f.small {
			found = true
			c, _ := b["counts"].(map[string]any)
			checkCounts(t, "public building list", c, map[string]any{"party_members": 3.0}, sensitive...)
		}
	}
	if !found {
		t.Errorf("building %s is not in /api/v1/buildings?bbox=%s", f.small, bbox)
	}

	exact := jsonCounts(t, fetchOK(t, staff, base+"/api/v1/buildings/"+f.small), "building", "counts")
	checkCounts(t, "staff building", exact, map[string]any{"party_members": 3.0, "elderly_alone": 1.0, "disabled": 1.0, "low_income": 0.0})

	t.Run("GRIDMAP_PUBLIC_BUILDING_COUNTS=1 shows them per building with the threshold", func(t *testing.T) {
		base := f.server(t, api.Config{Counts: geo.CountPolicy{PublicBuildingCounts: true, MinPublicCount: 5}})
		anon := f.client(t, base, "")
		small := jsonCounts(t, fetchOK(t, anon, base+"/api/v1/buildings/"+f.small), "building", "counts")
		checkCounts(t, "public small building", small, map[string]any{"elderly_alone": "<5", "disabled": "<5", "low_income": "<5"})
		big := jsonCounts(t, fetchOK(t, anon, base+"/api/v1/buildings/"+f.big), "building", "counts")
		checkCounts(t, "public big building", big, map[string]any{"disabled": 6.0, "low_income": "<5"})
	})
}

// TestBuildingPageHidesSmallVulnerableCounts: the building page showed the
// building's 空巢老人 1, 残疾人 1 and the grid's exact small totals; in
// public the building shows none of them and the grid shows "<5" for totals
// below 5; signed-in staff see the exact numbers.
func TestBuildingPageHidesSmallVulnerableCounts(t *testing.T) {
	f := newPrivacyFixture(t)
	base := f.server(t, api.Config{})
	anon, staff := f.client(t, base, ""), f.client(t, base, "viewer")

	page := fetchOK(t, anon, base+"/b/"+f.small)
	checkCounts(t, "public building page, building", htmlCounts(t, page, "building-counts"), map[string]string{"party_members": "3"}, sensitive...)
	checkCounts(t, "public building page, grid", htmlCounts(t, page, "grid-counts"), map[string]string{"elderly_alone": "<5", "disabled": "7", "low_income": "<5"})
	if !strings.Contains(page, `id="per-grid-only"`) {
		t.Errorf("public building page: no note that these counts are published per grid only")
	}

	page = fetchOK(t, staff, base+"/b/"+f.small)
	checkCounts(t, "staff building page, building", htmlCounts(t, page, "building-counts"), map[string]string{"elderly_alone": "1", "disabled": "1", "low_income": "0"})
	checkCounts(t, "staff building page, grid", htmlCounts(t, page, "grid-counts"), map[string]string{"elderly_alone": "1", "disabled": "7", "low_income": "2"})
}

// TestGridPageAndPosterSuppressSmallVulnerableCounts: the grid page and the
// posters showed exact small counts; in public they show "<5", and a poster
// does so even when staff print it (it hangs in public).
func TestGridPageAndPosterSuppressSmallVulnerableCounts(t *testing.T) {
	f := newPrivacyFixture(t)
	base := f.server(t, api.Config{})
	anon, staff := f.client(t, base, ""), f.client(t, base, "viewer")
	public := map[string]string{"elderly_alone": "<5", "disabled": "7", "low_income": "<5"}

	checkCounts(t, "public grid page", htmlCounts(t, fetchOK(t, anon, base+"/g/"+f.grid), "grid-counts"), public)
	checkCounts(t, "staff grid page", htmlCounts(t, fetchOK(t, staff, base+"/g/"+f.grid), "grid-counts"),
		map[string]string{"elderly_alone": "1", "disabled": "7", "low_income": "2"})
	for _, p := range []string{"/g/" + f.grid + "/poster", "/b/" + f.small + "/poster"} {
		for _, c := range []struct {
			who string
			hc  *http.Client
		}{{"public", anon}, {"staff", staff}} {
			page := fetchOK(t, c.hc, base+p)
			i := strings.Index(page, `class="poster-counts"`)
			if i < 0 {
				t.Fatalf("%s: no poster-counts", p)
			}
			got := map[string]string{}
			for _, m := range ddCount.FindAllStringSubmatch(page[i:], -1) {
				got[m[1]] = html.UnescapeString(m[2])
			}
			checkCounts(t, c.who+" "+p, got, public)
		}
	}
	t.Run("GRIDMAP_MIN_PUBLIC_COUNT=10", func(t *testing.T) {
		base := f.server(t, api.Config{Counts: geo.CountPolicy{MinPublicCount: 10}})
		checkCounts(t, "public grid page", htmlCounts(t, fetchOK(t, f.client(t, base, ""), base+"/g/"+f.grid), "grid-counts"),
			map[string]string{"elderly_alone": "<10", "disabled": "<10", "low_income": "<10"})
	})
}
