package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
	"github.com/prometheus/client_golang/prometheus"

	"gridmap/api"
	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/demo"
	"gridmap/geo"
)

// lockedBuffer collects the server's log lines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type fixture struct {
	srv     *httptest.Server
	metrics *httptest.Server // the metrics listener
	db      *data.DB
	ds      *demo.Dataset
	logs    *lockedBuffer
}

var fix *fixture

// TestMain loads the demo subdistrict into this package's database once and
// serves the API on it for every test.
func TestMain(m *testing.M) {
	flag.Parse()
	// Under `go test -fuzz` only a fuzz target runs, in several worker
	// processes at once: they must not each recreate the shared database.
	if f := flag.Lookup("test.fuzz"); f != nil && f.Value.String() != "" {
		os.Exit(m.Run())
	}
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		os.Exit(m.Run())
	}
	db, _, err := dbtest.Open(os.Getenv("GRIDMAP_TEST_DATABASE_URL"), "api")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ds, err := demo.Generate(demo.Options{})
	if err == nil {
		_, err = data.NewImporter(db).LoadDataset(context.Background(), ds.GeoDataset(), geo.ImportOptions{Author: "test", Strict: true})
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "loading the demo:", err)
		os.Exit(1)
	}
	logs := &lockedBuffer{}
	s := api.NewServer(api.Config{}, api.Server{
		Lookup: data.NewLookupService(db), Areas: data.NewAreaService(db),
		Buildings: data.NewBuildingService(db), People: data.NewPersonService(db),
		Ready: db.Ready, Log: slog.New(slog.NewTextHandler(logs, nil)),
	}, prometheus.NewRegistry())
	fix = &fixture{srv: httptest.NewServer(s), metrics: httptest.NewServer(s.Metrics()), db: db, ds: ds, logs: logs}
	code := m.Run()
	fix.srv.Close()
	fix.metrics.Close()
	db.Close()
	os.Exit(code)
}

func setup(t *testing.T) *fixture {
	t.Helper()
	return fix
}

func get(t *testing.T, f *fixture, path string, out any) int {
	t.Helper()
	res, err := http.Get(f.srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			t.Fatalf("GET %s: %d %s: not JSON: %v", path, res.StatusCode, body, err)
		}
	}
	return res.StatusCode
}

type lookupResponse struct {
	geo.LookupResult
	Match      string                 `json:"match"`
	Candidates []geo.AddressCandidate `json:"candidates"`
	Grids      []struct {
		Code      string `json:"code"`
		Buildings int    `json:"buildings"`
	} `json:"grids"`
}

// demoBuilding returns a generated building and the code of the generated
// grid whose geometry contains it.
func demoBuilding(f *fixture, i int) (geo.Building, string) {
	b := f.ds.Buildings[i]
	for _, a := range f.ds.Areas {
		if a.Level == "grid" && polygonContains(a.Geometry, b.Point) {
			return b, a.Code
		}
	}
	return b, ""
}

func polygonContains(mp orb.MultiPolygon, p orb.Point) bool {
	for _, poly := range mp {
		in := false
		ring := poly[0]
		for i, j := 0, len(ring)-1; i < len(ring); j, i = i, i+1 {
			a, b := ring[i], ring[j]
			if (a[1] > p[1]) != (b[1] > p[1]) && p[0] < (b[0]-a[0])*(p[1]-a[1])/(b[1]-a[1])+a[0] {
				in = !in
			}
		}
		if in {
			return true
		}
	}
	return false
}

func TestLookupPoint(t *testing.T) {
	f := setup(t)
	leaders := map[string]bool{}
	for _, d := range f.ds.Duties {
		if d.Role == geo.RoleGridLeader {
			leaders[d.AreaCode] = true
		}
	}
	for _, i := range []int{0, 17, len(f.ds.Buildings) / 2, len(f.ds.Buildings) - 1} {
		b, grid := demoBuilding(f, i)
		t.Run(b.Code, func(t *testing.T) {
			if grid == "" {
				t.Fatalf("building %s lies in no generated grid", b.Code)
			}
			for _, crs := range []geo.CRS{geo.WGS84, geo.GCJ02, geo.BD09} {
				p := geo.FromWGS84(b.Point, crs)
				var r lookupResponse
				if code := get(t, f, fmt.Sprintf("/api/v1/lookup?lon=%.10f&lat=%.10f&crs=%s", p[0], p[1], crs), &r); code != 200 {
					t.Fatalf("status %d", code)
				}
				if r.Grid == nil || r.Grid.Code != grid {
					t.Fatalf("crs %s: grid %v, want %s", crs, r.Grid, grid)
				}
				if len(r.Areas) != 4 || r.Areas[0].Level != "district" || r.Areas[1].Level != "subdistrict" || r.Areas[2].Level != "community" {
					t.Errorf("areas %v, want district › subdistrict › community › grid", r.Areas)
				}
				if r.Ambiguous || len(r.Alternatives) != 0 {
					t.Errorf("a building inside its grid came back ambiguous: %v", r.Alternatives)
				}
				if !leaders[grid] {
					t.Fatalf("grid %s has no leader in the demo", grid)
				}
				var found bool
				for _, p := range r.Responsible {
					if p.Role == geo.RoleGridLeader {
						found = p.Name != "" && p.Phone != "" && strings.HasPrefix(p.Photo, "/api/v1/photos/")
					}
				}
				if !found {
					t.Errorf("crs %s: grid leader with public name, phone and photo missing from %+v", crs, r.Responsible)
				}
			}
		})
	}
	t.Run("outside every area", func(t *testing.T) {
		var r lookupResponse
		if code := get(t, f, "/api/v1/lookup?lon=10&lat=10", &r); code != 200 || r.Grid != nil || r.Areas == nil || len(r.Areas) != 0 {
			t.Errorf("got %d %+v, want 200 with areas [] and grid null", code, r)
		}
	})
	t.Run("as of a date before the data", func(t *testing.T) {
		b, _ := demoBuilding(f, 0)
		var r lookupResponse
		if code := get(t, f, fmt.Sprintf("/api/v1/lookup?lon=%f&lat=%f&at=2020-01-01", b.Point[0], b.Point[1]), &r); code != 200 || r.Grid != nil {
			t.Errorf("got %d grid %v, want 200 and no grid in 2020", code, r.Grid)
		}
	})
}

func TestLookupAddress(t *testing.T) {
	f := setup(t)
	for _, i := range []int{3, 250, len(f.ds.Buildings) - 5} {
		b, grid := demoBuilding(f, i)
		fullWidth := strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r - '0' + '０'
			}
			return r
		}, b.Address)
		for k, q := range []string{b.Address, fullWidth, "浙江省杭州市" + b.Address, strings.ReplaceAll(b.Address, "号", "號")} {
			t.Run(q, func(t *testing.T) {
				var r lookupResponse
				if code := get(t, f, "/api/v1/lookup?address="+url.QueryEscape(q), &r); code != 200 {
					t.Fatalf("status %d", code)
				}
				if len(r.Candidates) == 0 || r.Candidates[0].Building.Code != b.Code || r.Candidates[0].Score != 1 {
					t.Fatalf("candidates %+v, want %s (%s) first with score 1", r.Candidates, b.Code, b.Address)
				}
				if r.Grid == nil || r.Grid.Code != grid {
					t.Errorf("grid %v, want %s", r.Grid, grid)
				}
				if want := map[bool]string{true: "exact", false: "normalised"}[k == 0]; r.Match != want {
					t.Errorf("match %q, want %q", r.Match, want)
				}
			})
		}
	}
	t.Run("unknown address", func(t *testing.T) {
		var r lookupResponse
		if code := get(t, f, "/api/v1/lookup?address="+url.QueryEscape("火星大道9999号"), &r); code != 200 || len(r.Candidates) != 0 || r.Grid != nil {
			t.Errorf("got %d %+v, want 200 with no candidates", code, r)
		}
	})
}

func TestBatch(t *testing.T) {
	f := setup(t)
	rng := rand.New(rand.NewPCG(7, 7))
	bound := f.ds.Areas[0].Geometry.Bound() // the district
	type pt struct {
		ID  int     `json:"id"`
		Lon float64 `json:"lon"`
		Lat float64 `json:"lat"`
	}
	var pts []pt
	for i := 0; i < 2000; i++ {
		pts = append(pts, pt{i, bound.Min[0] - 0.01 + rng.Float64()*(bound.Max[0]-bound.Min[0]+0.02), bound.Min[1] - 0.01 + rng.Float64()*(bound.Max[1]-bound.Min[1]+0.02)})
	}
	body, _ := json.Marshal(map[string]any{"points": pts})
	res, err := http.Post(f.srv.URL+"/api/v1/lookup/batch", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Results []struct {
			ID int `json:"id"`
			geo.LookupResult
		} `json:"results"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 200 {
		t.Fatalf("status %d, decode %v", res.StatusCode, err)
	}
	if len(out.Results) != len(pts) {
		t.Fatalf("%d results for %d points", len(out.Results), len(pts))
	}
	ls := data.NewLookupService(f.db)
	outside := 0
	for i, r := range out.Results {
		if r.ID != i {
			t.Fatalf("result %d has id %d: order lost", i, r.ID)
		}
		if i%10 != 0 {
			continue // compare a sample one by one
		}
		one, err := ls.LookupPoint(context.Background(), geo.LookupQuery{Point: orb.Point{pts[i].Lon, pts[i].Lat}})
		if err != nil {
			t.Fatal(err)
		}
		if (one.Grid == nil) != (r.Grid == nil) || one.Grid != nil && one.Grid.Code != r.Grid.Code {
			t.Errorf("point %d: batch says %v, single lookup says %v", i, r.Grid, one.Grid)
		}
		if r.Grid == nil {
			outside++
		}
	}
	if outside == 0 {
		t.Errorf("no sampled point fell outside: the test does not exercise the outside case")
	}
}

func TestBadInput(t *testing.T) {
	f := setup(t)
	big := bytes.Repeat([]byte(" "), 20<<20)
	many := make([]map[string]float64, api.DefaultMaxBatchPoints+1)
	for i := range many {
		many[i] = map[string]float64{"lon": 120, "lat": 30}
	}
	manyJSON, _ := json.Marshal(map[string]any{"points": many})
	for _, tc := range []struct {
		name, method, path, ctype string
		body                      []byte
		status                    int
		msg                       string
	}{
		{"lat out of range", "GET", "/api/v1/lookup?lon=120&lat=123.4", "", nil, 400, "lat must be between -90 and 90, got 123.4"},
		{"lon not a number", "GET", "/api/v1/lookup?lon=x&lat=30", "", nil, 400, "lon must be a number"},
		{"no parameters", "GET", "/api/v1/lookup", "", nil, 400, "give lon and lat"},
		{"non-UTF-8 address", "GET", "/api/v1/lookup?address=%ff%fe", "", nil, 400, "UTF-8"},
		{"only punctuation", "GET", "/api/v1/lookup?address=%EF%BC%8C%E3%80%82", "", nil, 400, "address must contain"},
		{"bad bbox", "GET", "/api/v1/areas?bbox=1,2,3", "", nil, 400, "bbox must be"},
		{"bbox out of range", "GET", "/api/v1/buildings?bbox=0,0,0,95", "", nil, 400, "lat must be between"},
		{"buildings without filter", "GET", "/api/v1/buildings", "", nil, 400, "give bbox"},
		{"unknown parent", "GET", "/api/v1/areas?parent=nope", "", nil, 400, "matches no area"},
		{"unknown subtree", "GET", "/api/v1/areas?under=nope&q=x", "", nil, 400, "under \"nope\" matches no area"},
		{"unknown area", "GET", "/api/v1/areas/999999999", "", nil, 404, "no area"},
		{"unknown building", "GET", "/api/v1/buildings/none", "", nil, 404, "no building"},
		{"private or missing photo", "GET", "/api/v1/photos/999999", "", nil, 404, "photo"},
		{"unknown path", "GET", "/api/v1/nothing", "", nil, 404, "no such path"},
		{"wrong method", "POST", "/api/v1/lookup", "application/json", []byte("{}"), 405, "not allowed"},
		{"invalid JSON", "POST", "/api/v1/lookup/batch", "application/json", []byte(`{"points":[{"lon":1,`), 400, "body must be JSON"},
		{"unknown field", "POST", "/api/v1/lookup/batch", "application/json", []byte(`{"pts":[]}`), 400, "unknown field"},
		{"point without lat", "POST", "/api/v1/lookup/batch", "application/json", []byte(`{"points":[{"lon":1}]}`), 400, "point 0 needs lon and lat"},
		{"point out of range", "POST", "/api/v1/lookup/batch", "application/json", []byte(`{"points":[{"lon":1,"lat":2},{"lon":1,"lat":-91}]}`), 400, "point 1: lat must be between"},
		{"no points", "POST", "/api/v1/lookup/batch", "application/json", []byte(`{"points":[]}`), 400, "at least one point"},
		{"too many points", "POST", "/api/v1/lookup/batch", "application/json", manyJSON, 400, "at most 100000 points"},
		{"not JSON", "POST", "/api/v1/lookup/batch", "text/plain", []byte("lon=1"), 400, "Content-Type must be application/json"},
		{"20 MB body", "POST", "/api/v1/lookup/batch", "application/json", big, 413, "limit"},
		{"non-UTF-8 JSON body", "POST", "/api/v1/lookup/batch", "application/json", []byte("{\"crs\":\"\xff\",\"points\":[{\"lon\":1,\"lat\":1}]}"), 400, "crs must be one of"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, f.srv.URL+tc.path, bytes.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			var body struct {
				Error struct{ Code, Message string } `json:"error"`
			}
			raw, _ := io.ReadAll(res.Body)
			if err := json.Unmarshal(raw, &body); err != nil {
				t.Fatalf("status %d, body %q is not the JSON error shape", res.StatusCode, raw)
			}
			if res.StatusCode != tc.status || !strings.Contains(body.Error.Message, tc.msg) || body.Error.Code == "" {
				t.Errorf("got %d %+v, want %d with a message containing %q", res.StatusCode, body.Error, tc.status, tc.msg)
			}
		})
	}
}

func TestReadEndpoints(t *testing.T) {
	f := setup(t)
	var nGrids, nComm int
	var comm, grid demo.Area
	for _, a := range f.ds.Areas {
		switch a.Level {
		case "grid":
			nGrids++
			grid = a
		case "community":
			nComm++
			comm = a
		}
	}
	t.Run("areas by level", func(t *testing.T) {
		var r struct{ Areas []geo.Area }
		if code := get(t, f, "/api/v1/areas?level=community", &r); code != 200 || len(r.Areas) != nComm {
			t.Errorf("got %d with %d communities, want %d", code, len(r.Areas), nComm)
		}
	})
	t.Run("search by name within a subtree", func(t *testing.T) {
		var r struct{ Areas []geo.Area }
		q := url.Values{"q": {comm.Name}, "under": {comm.Code}, "limit": {"500"}}
		if code := get(t, f, "/api/v1/areas?"+q.Encode(), &r); code != 200 || len(r.Areas) == 0 || r.Areas[0].Code != comm.Code {
			t.Errorf("q=%s under %s: %d %v, want the community first", comm.Name, comm.Code, code, r.Areas)
		}
		for _, a := range r.Areas {
			if !strings.Contains(a.Name, comm.Name) && !strings.HasPrefix(a.Code, comm.Name) {
				t.Errorf("q=%s found %s %s", comm.Name, a.Code, a.Name)
			}
		}
	})
	t.Run("children", func(t *testing.T) {
		var r struct{ Areas []geo.Area }
		want := 0
		for _, a := range f.ds.Areas {
			if a.ParentCode == comm.Code {
				want++
			}
		}
		if code := get(t, f, "/api/v1/areas/"+comm.Code+"/children", &r); code != 200 || len(r.Areas) != want || want == 0 {
			t.Errorf("got %d with %d children, want %d", code, len(r.Areas), want)
		}
	})
	t.Run("area with chain", func(t *testing.T) {
		var r struct {
			geo.Area
			Chain []geo.AreaRef
		}
		if code := get(t, f, "/api/v1/areas/"+grid.Code, &r); code != 200 || r.Code != grid.Code || len(r.Chain) != 4 || r.Chain[2].Code != grid.ParentCode {
			t.Errorf("got %d %+v, want grid %s with a 4-area chain through %s", code, r, grid.Code, grid.ParentCode)
		}
	})
	t.Run("versions", func(t *testing.T) {
		var r struct{ Versions []geo.AreaVersion }
		if code := get(t, f, "/api/v1/areas/"+grid.Code+"/versions", &r); code != 200 || len(r.Versions) != 1 || r.Versions[0].ValidTo != nil {
			t.Errorf("got %d %+v, want one open version", code, r.Versions)
		}
	})
	t.Run("geojson of all grids equals the generated geometry", func(t *testing.T) {
		res, err := http.Get(f.srv.URL + "/api/v1/areas.geojson?level=grid")
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		fc, err := geojson.UnmarshalFeatureCollection(raw)
		if err != nil || res.Header.Get("Content-Type") != "application/geo+json" {
			t.Fatalf("not GeoJSON (%s): %v", res.Header.Get("Content-Type"), err)
		}
		if len(fc.Features) != nGrids {
			t.Fatalf("%d features, want %d", len(fc.Features), nGrids)
		}
		want := map[string]orb.MultiPolygon{}
		for _, a := range f.ds.Areas {
			want[a.Code] = a.Geometry
		}
		for _, ft := range fc.Features {
			code, _ := ft.Properties["code"].(string)
			mp, ok := ft.Geometry.(orb.MultiPolygon)
			if !ok || !orb.Equal(mp, want[code]) {
				t.Errorf("grid %s: geometry differs from the generated one", code)
			}
		}
	})
	t.Run("building with responsible people", func(t *testing.T) {
		var bcode, leaderKey string
		for _, d := range f.ds.Duties {
			if d.Role == geo.RoleBuildingLeader {
				bcode, leaderKey = d.BuildingCode, d.PersonKey
				break
			}
		}
		if bcode == "" {
			t.Fatal("the demo has no building leader")
		}
		var r struct {
			Building struct {
				Code       string
				Households int
			}
			Grid        *geo.AreaRef
			Responsible []geo.Responsible
		}
		if code := get(t, f, "/api/v1/buildings/"+url.PathEscape(bcode), &r); code != 200 || r.Building.Code != bcode || r.Grid == nil {
			t.Fatalf("got %d %+v", code, r)
		}
		var leader geo.Person
		for _, p := range f.ds.People {
			if p.Key == leaderKey {
				leader = p.Person
			}
		}
		found := false
		for _, p := range r.Responsible {
			if p.Role == geo.RoleBuildingLeader && p.Building == bcode {
				found = true
				if (p.Name != "") != leader.PublicName || (p.Phone != "") != leader.PublicPhone {
					t.Errorf("building leader shown as %+v; public flags name=%v phone=%v", p, leader.PublicName, leader.PublicPhone)
				}
			}
		}
		if !found {
			t.Errorf("building leader missing from %+v", r.Responsible)
		}
	})
	t.Run("private phones stay private", func(t *testing.T) {
		private := map[string]bool{}
		for _, p := range f.ds.People {
			if !p.Person.PublicPhone {
				private[p.Person.Phone] = true
			}
		}
		if len(private) == 0 {
			t.Fatal("the demo has no person with a private phone; the test would prove nothing")
		}
		for _, a := range f.ds.Areas {
			if a.Level != "community" && a.Level != "grid" {
				continue
			}
			res, err := http.Get(f.srv.URL + "/api/v1/areas/" + a.Code + "/responsible")
			if err != nil {
				t.Fatal(err)
			}
			raw, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Fatalf("area %s: %d", a.Code, res.StatusCode)
			}
			for phone := range private {
				if bytes.Contains(raw, []byte(phone)) {
					t.Fatalf("area %s shows private phone %s", a.Code, phone)
				}
			}
		}
	})
	t.Run("photo", func(t *testing.T) {
		var r lookupResponse
		b, _ := demoBuilding(f, 0)
		get(t, f, fmt.Sprintf("/api/v1/lookup?lon=%f&lat=%f", b.Point[0], b.Point[1]), &r)
		var photo string
		for _, p := range r.Responsible {
			if p.Photo != "" {
				photo = p.Photo
			}
		}
		if photo == "" {
			t.Fatal("no public photo in the answer")
		}
		res, err := http.Get(f.srv.URL + photo)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "image/svg+xml" {
			t.Errorf("photo: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
		}
	})
}

func TestOperations(t *testing.T) {
	f := setup(t)
	for _, path := range []string{"/healthz", "/readyz", "/api/v1/openapi.json", "/api/v1/levels"} {
		var v map[string]any
		if code := get(t, f, path, &v); code != 200 {
			t.Errorf("%s: %d", path, code)
		}
	}
	b, _ := demoBuilding(f, 1)
	lon, lat := fmt.Sprintf("%.6f", b.Point[0]), fmt.Sprintf("%.6f", b.Point[1])
	get(t, f, "/api/v1/lookup?lon="+lon+"&lat="+lat, nil)
	res, err := http.Get(f.metrics.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !bytes.Contains(raw, []byte(`gridmap_http_requests_total{route="/api/v1/lookup",status="200"}`)) {
		t.Errorf("metrics lack the lookup counter:\n%.2000s", raw)
	}
	logs := f.logs.String()
	if !strings.Contains(logs, "route=/api/v1/lookup") {
		t.Errorf("no request log line for the lookup:\n%s", logs)
	}
	if strings.Contains(logs, lon) || strings.Contains(logs, lat) {
		t.Errorf("a resident's coordinates were logged:\n%s", logs)
	}
}
