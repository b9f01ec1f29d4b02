package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"
	"github.com/prometheus/client_golang/prometheus"

	"gridmap/api"
	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/demo"
	"gridmap/geo"
	"gridmap/tiles"
	"gridmap/tiles/postgis"
)

// tileServer is one gridmap process as far as tiles go: its own pool, change
// feed, cache and HTTP server.
type tileServer struct {
	url        string
	metricsURL string // the metrics listener
	db         *data.DB
	feed       *data.ChangeFeed
	cache      *tiles.Cache
	logs       *lockedBuffer
}

// tileDB loads the default demo into a database of its own.
func tileDB(t *testing.T, name string) (*data.DB, string, *demo.Dataset) {
	t.Helper()
	db, url := dbtest.New(t, name)
	ds, err := demo.Generate(demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := data.NewImporter(db).LoadDataset(context.Background(), ds.GeoDataset(), geo.ImportOptions{Author: "test", Strict: true}); err != nil {
		t.Fatal(err)
	}
	return db, url, ds
}

// startTileServer starts a process on the database at url and waits until
// its feed listens and its cache stores tiles.
// testCSP is the tile servers' Content-Security-Policy: pages carry it,
// tiles must not.
const testCSP = "default-src 'self'; frame-ancestors 'none'"

func startTileServer(t *testing.T, url string, cfg tiles.Config, httpCfg api.Tiles) *tileServer {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	db, err := data.Open(ctx, data.Config{URL: url})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	logs := &lockedBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	feed := data.NewChangeFeed(db, log)
	go feed.Run(ctx)
	reg := prometheus.NewRegistry()
	cache := tiles.NewCache(postgis.New(db.Pool), cfg, log, reg)
	cache.Start(ctx, feed)
	httpCfg.Service = cache
	s := api.NewServer(api.Config{ContentSecurityPolicy: testCSP}, api.Server{Tiles: &httpCfg, Ready: db.Ready, Log: log}, reg)
	srv, metrics := httptest.NewServer(s), httptest.NewServer(s.Metrics())
	t.Cleanup(srv.Close)
	t.Cleanup(metrics.Close)
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := feed.WaitConnected(wctx); err != nil {
		t.Fatal(err)
	}
	if err := cache.WaitReady(wctx); err != nil {
		t.Fatal(err)
	}
	return &tileServer{url: srv.URL, metricsURL: metrics.URL, db: db, feed: feed, cache: cache, logs: logs}
}

// plainClient neither asks for nor undoes compression by itself.
var plainClient = &http.Client{Transport: &http.Transport{DisableCompression: true}}

type response struct {
	status int
	header http.Header
	body   []byte
}

func fetch(t *testing.T, method, url string, header ...string) response {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := plainClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{res.StatusCode, res.Header, body}
}

// decodeTile decodes a tile body, gzip-compressed or not.
func decodeTile(t *testing.T, r response) mvt.Layers {
	t.Helper()
	var ls mvt.Layers
	var err error
	if r.header.Get("Content-Encoding") == "gzip" {
		ls, err = mvt.UnmarshalGzipped(r.body)
	} else {
		ls, err = mvt.Unmarshal(r.body)
	}
	if err != nil {
		t.Fatalf("tile does not decode: %v", err)
	}
	return ls
}

func tileURL(base, layers string, tl maptile.Tile) string {
	return fmt.Sprintf("%s/tiles/%s/%d/%d/%d.mvt", base, layers, tl.Z, tl.X, tl.Y)
}

// areaIDs lists the feature ids of the areas layer.
func areaIDs(ls mvt.Layers) map[int64]bool {
	out := map[int64]bool{}
	for _, l := range ls {
		if l.Name == tiles.LayerAreas {
			for _, f := range l.Features {
				out[int64(f.ID.(float64))] = true
			}
		}
	}
	return out
}

func areaID(t *testing.T, db *data.DB, code string) int64 {
	t.Helper()
	var id int64
	if err := db.Pool.QueryRow(context.Background(), `SELECT id FROM area WHERE code = $1`, code).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// neighbourGrids returns two grids of one community that share a border.
func neighbourGrids(t *testing.T, ds *demo.Dataset) (demo.Area, demo.Area) {
	t.Helper()
	var grids []demo.Area
	for _, a := range ds.Areas {
		if a.Level == demo.LevelGrid {
			grids = append(grids, a)
		}
	}
	for i, a := range grids {
		vs := map[orb.Point]bool{}
		for _, p := range a.Geometry[0][0] {
			vs[p] = true
		}
		for _, b := range grids[i+1:] {
			shared := 0
			for _, p := range b.Geometry[0][0] {
				if vs[p] {
					shared++
				}
			}
			if b.ParentCode == a.ParentCode && shared >= 2 {
				return a, b
			}
		}
	}
	t.Fatal("no neighbouring grids")
	return demo.Area{}, demo.Area{}
}

func TestTileHTTP(t *testing.T) {
	_, url, ds := tileDB(t, "api_tiles")
	s := startTileServer(t, url, tiles.Config{}, api.Tiles{})
	district := ds.Areas[0].Geometry.Bound()
	tl := maptile.At(district.Center(), 14)

	t.Run("bad tile addresses are 400 with a precise message", func(t *testing.T) {
		for _, tc := range []struct{ name, path, msg string }{
			{"negative zoom", "/tiles/areas/-1/0/0.mvt", "z must be between 0 and 22, got -1"},
			{"zoom too deep", "/tiles/areas/31/0/0.mvt", "z must be between 0 and 22, got 31"},
			{"x past the last column", "/tiles/areas/3/8/0.mvt", "x must be between 0 and 7 at zoom 3, got 8"},
			{"neg row(y) not allowed", "/tiles/areas/3/0/-1.mvt", "y must be between 0 and 7 at zoom 3, got -1"},
			{"y not a number", "/tiles/areas/3/0/a.mvt", `y must be a whole number, got "a"`},
			{"unknown layer", "/tiles/streets/3/0/0.mvt", `unknown layer "streets": the layers are areas, buildings, labels and roads, alone or comma-separated`},
			{"layer twice", "/tiles/areas,areas/3/0/0.mvt", `layer "areas" is listed twice`},
			{"wrong extension", "/tiles/areas/3/0/0.png", `a tile is {z}/{x}/{y}.mvt or {z}/{x}/{y}.pbf, got "0.png"`},
			{"unknown TileJSON layer", "/tiles/streets.json", `unknown layer "streets": the layers are areas, buildings, labels and roads, alone or comma-separated`},
			{"bad glyph range", "/fonts/Noto%20Sans%20Regular/0-100.pbf", `a glyph range is START-END with START a multiple of 256 and END = START+255 up to 65535, got "0-100"`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := fetch(t, http.MethodGet, s.url+tc.path)
				var body struct {
					Error struct{ Code, Message string } `json:"error"`
				}
				if err := json.Unmarshal(r.body, &body); err != nil {
					t.Fatalf("%d %s: not JSON: %v", r.status, r.body, err)
				}
				if r.status != http.StatusBadRequest || body.Error.Code != geo.EInvalid || body.Error.Message != tc.msg {
					t.Errorf("got %d %+v, want 400 invalid_argument %q", r.status, body.Error, tc.msg)
				}
				if r.header.Get("Access-Control-Allow-Origin") != "*" {
					t.Error("error without CORS header: a map on another site cannot read it")
				}
			})
		}
	})

	t.Run("a tile is not a document: nosniff and CORS, no CSP or framing rule", func(t *testing.T) {
		for _, path := range []string{fmt.Sprintf("/tiles/areas/%d/%d/%d.mvt", tl.Z, tl.X, tl.Y), "/tiles/areas/3/8/0.mvt"} {
			r := fetch(t, http.MethodGet, s.url+path)
			if got := r.header.Get("Content-Security-Policy") + r.header.Get("X-Frame-Options"); got != "" {
				t.Errorf("%s (%d): document headers %q", path, r.status, got)
			}
			if r.header.Get("X-Content-Type-Options") != "nosniff" || r.header.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("%s (%d): headers %v, want nosniff and CORS", path, r.status, r.header)
			}
		}
		if r := fetch(t, http.MethodGet, s.url+"/healthz"); r.header.Get("Content-Security-Policy") != testCSP || r.header.Get("X-Frame-Options") != "DENY" {
			t.Errorf("/healthz: headers %v, want the CSP and X-Frame-Options", r.header)
		}
	})

	t.Run("gzip when accepted, plain otherwise, the same tile", func(t *testing.T) {
		var plain, zipped mvt.Layers
		for _, tc := range []struct {
			accept string
			gzip   bool
		}{
			{"gzip", true},
			{"gzip, deflate, br", true},
			{"br;q=1.0, gzip;q=0.5", true},
			{"*", true},
			{"", false},
			{"identity", false},
			{"gzip;q=0", false},
			{"*;q=0.5, gzip;q=0", false},
		} {
			r := fetch(t, http.MethodGet, tileURL(s.url, "areas", tl), "Accept-Encoding", tc.accept)
			if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/vnd.mapbox-vector-tile" {
				t.Fatalf("Accept-Encoding %q: %d %s", tc.accept, r.status, r.header.Get("Content-Type"))
			}
			if got := r.header.Get("Content-Encoding") == "gzip"; got != tc.gzip {
				t.Errorf("Accept-Encoding %q: Content-Encoding %q, want gzip %v", tc.accept, r.header.Get("Content-Encoding"), tc.gzip)
			}
			if tc.gzip {
				if _, err := gzip.NewReader(bytes.NewReader(r.body)); err != nil {
					t.Errorf("Accept-Encoding %q: body is not gzip: %v", tc.accept, err)
				}
				zipped = decodeTile(t, r)
			} else {
				plain = decodeTile(t, r)
			}
			if r.header.Get("Vary") != "Accept-Encoding" || r.header.Get("Cache-Control") != api.DefaultTileCacheControl {
				t.Errorf("Vary %q, Cache-Control %q", r.header.Get("Vary"), r.header.Get("Cache-Control"))
			}
		}
		if len(plain) == 0 || len(areaIDs(plain)) != len(areaIDs(zipped)) {
			t.Errorf("plain tile has %d areas, gzip tile %d", len(areaIDs(plain)), len(areaIDs(zipped)))
		}
	})

	t.Run("hit after miss, logged with z/x/y", func(t *testing.T) {
		other := maptile.At(district.Center(), 13)
		first := fetch(t, http.MethodGet, tileURL(s.url, "areas,labels", other))
		second := fetch(t, http.MethodGet, tileURL(s.url, "areas,labels", other))
		if first.header.Get("X-Tile-Cache") != "miss" || second.header.Get("X-Tile-Cache") != "hit" {
			t.Errorf("X-Tile-Cache %q then %q, want miss then hit", first.header.Get("X-Tile-Cache"), second.header.Get("X-Tile-Cache"))
		}
		if !bytes.Equal(first.body, second.body) {
			t.Error("the hit differs from the miss")
		}
		// The line is written after the response has gone out: wait for it.
		want := fmt.Sprintf("tile=%d/%d/%d.mvt cache=hit", other.Z, other.X, other.Y)
		for deadline := time.Now().Add(5 * time.Second); !strings.Contains(s.logs.String(), want); {
			if time.Now().After(deadline) {
				t.Fatalf("request log lacks %q:\n%s", want, s.logs.String())
			}
			time.Sleep(time.Millisecond) // polling for the log line, bounded by the deadline
		}
	})

	t.Run("ETag and 304", func(t *testing.T) {
		r := fetch(t, http.MethodGet, tileURL(s.url, "areas", tl), "Accept-Encoding", "gzip")
		etag := r.header.Get("ETag")
		if etag == "" || !strings.HasPrefix(etag, `"`) {
			t.Fatalf("ETag %q, want a quoted strong validator", etag)
		}
		plain := fetch(t, http.MethodGet, tileURL(s.url, "areas", tl)).header.Get("ETag")
		if plain == etag {
			t.Errorf("gzip and plain representations share the strong ETag %s", etag)
		}
		for _, tc := range []struct {
			name, inm string
			want      int
		}{
			{"same representation", etag, http.StatusNotModified},
			{"the other representation", plain, http.StatusNotModified},
			{"weak form", "W/" + etag, http.StatusNotModified},
			{"in a list", `"nope", ` + etag, http.StatusNotModified},
			{"star", "*", http.StatusNotModified},
			{"another tile's", `"0123456789abcdef01234567"`, http.StatusOK},
		} {
			got := fetch(t, http.MethodGet, tileURL(s.url, "areas", tl), "Accept-Encoding", "gzip", "If-None-Match", tc.inm)
			if got.status != tc.want || (tc.want == http.StatusNotModified && len(got.body) != 0) {
				t.Errorf("%s: %d with %d bytes, want %d", tc.name, got.status, len(got.body), tc.want)
			}
		}
		// .pbf is the same tile.
		if pbf := fetch(t, http.MethodGet, strings.TrimSuffix(tileURL(s.url, "areas", tl), ".mvt")+".pbf", "Accept-Encoding", "gzip"); pbf.header.Get("ETag") != etag {
			t.Errorf(".pbf ETag %q, .mvt %q", pbf.header.Get("ETag"), etag)
		}
	})

	t.Run("an empty tile is 200 with no body", func(t *testing.T) {
		empty := maptile.At(orb.Point{-30, 40}, 10)
		for _, accept := range []string{"gzip", ""} {
			r := fetch(t, http.MethodGet, tileURL(s.url, "areas,buildings,labels", empty), "Accept-Encoding", accept)
			if r.status != http.StatusOK || len(r.body) != 0 || r.header.Get("Content-Length") != "0" || r.header.Get("Content-Encoding") != "" {
				t.Errorf("Accept-Encoding %q: %d, %d bytes, Content-Length %q, Content-Encoding %q; want 200, empty, 0, none",
					accept, r.status, len(r.body), r.header.Get("Content-Length"), r.header.Get("Content-Encoding"))
			}
		}
	})

	t.Run("a multi-layer tile", func(t *testing.T) {
		// The tile around a grid's label point has all four layers.
		var p orb.Point
		if err := s.db.Pool.QueryRow(context.Background(), `SELECT ST_X(l.point), ST_Y(l.point) FROM area_label l
			JOIN area_version v ON v.id = l.version_id AND v.valid_to IS NULL JOIN area a ON a.id = v.area_id
			WHERE a.level = 'grid' ORDER BY a.code LIMIT 1`).Scan(&p[0], &p[1]); err != nil {
			t.Fatal(err)
		}
		r := fetch(t, http.MethodGet, tileURL(s.url, "roads,labels,buildings,areas", maptile.At(p, 16)), "Accept-Encoding", "gzip")
		var names []string
		for _, l := range decodeTile(t, r) {
			names = append(names, l.Name)
			if len(l.Features) == 0 {
				t.Errorf("layer %s is empty", l.Name)
			}
		}
		if strings.Join(names, ",") != "areas,buildings,labels,roads" {
			t.Errorf("layers %v, want areas, buildings, labels, roads", names)
		}
	})

	t.Run("TileJSON", func(t *testing.T) {
		r := fetch(t, http.MethodGet, s.url+"/tiles/areas,labels.json")
		var tj tiles.TileJSON
		if err := json.Unmarshal(r.body, &tj); err != nil {
			t.Fatalf("%d %s: %v", r.status, r.body, err)
		}
		want := fmt.Sprintf("%s/tiles/areas,labels/{z}/{x}/{y}.mvt?v=%d", s.url, s.cache.Version())
		if tj.TileJSON != "3.0.0" || len(tj.Tiles) != 1 || tj.Tiles[0] != want || tj.DataVersion == 0 {
			t.Errorf("tilejson %q tiles %v version %d, want 3.0.0 and [%s]", tj.TileJSON, tj.Tiles, tj.DataVersion, want)
		}
		if tj.Bounds != [4]float64{district.Min[0], district.Min[1], district.Max[0], district.Max[1]} {
			t.Errorf("bounds %v, want the district's %v", tj.Bounds, district)
		}
		if len(tj.VectorLayers) != 2 || tj.VectorLayers[0].ID != "areas" || tj.VectorLayers[1].ID != "labels" || tj.Attribution != tiles.Attribution {
			t.Errorf("vector layers %+v attribution %q", tj.VectorLayers, tj.Attribution)
		}
		if r.header.Get("Access-Control-Allow-Origin") != "*" || r.header.Get("Cache-Control") != "no-cache" {
			t.Errorf("headers %v", r.header)
		}
		if again := fetch(t, http.MethodGet, s.url+"/tiles/areas,labels.json", "If-None-Match", r.header.Get("ETag")); again.status != http.StatusNotModified {
			t.Errorf("revalidating unchanged TileJSON: %d, want 304", again.status)
		}
	})

	t.Run("style and glyphs", func(t *testing.T) {
		r := fetch(t, http.MethodGet, s.url+"/styles/default.json")
		var style struct {
			Version int                       `json:"version"`
			Glyphs  string                    `json:"glyphs"`
			Sources map[string]map[string]any `json:"sources"`
			Layers  []struct {
				ID     string         `json:"id"`
				Type   string         `json:"type"`
				Layout map[string]any `json:"layout"`
			} `json:"layers"`
		}
		if err := json.Unmarshal(r.body, &style); err != nil {
			t.Fatalf("%d %s: %v", r.status, r.body, err)
		}
		// No glyphs URL: MapLibre then draws labels with the browser's fonts, digits included.
		if style.Version != 8 || style.Glyphs != "" ||
			style.Sources["gridmap"]["url"] != s.url+"/tiles/areas,buildings,labels,roads.json" || style.Sources["gridmap"]["attribution"] != tiles.Attribution {
			t.Errorf("style %+v", style)
		}
		ids := map[string]bool{}
		for _, l := range style.Layers {
			ids[l.ID] = true
		}
		for _, id := range []string{"areas-fill-grid", "areas-line-grid", "areas-line-district", "buildings-fill", "labels", "roads-major", "roads-minor", "roads-path", "roads-labels"} {
			if !ids[id] {
				t.Errorf("no layer %s among %v", id, ids)
			}
		}
		font := s.url + "/fonts/" + strings.ReplaceAll(tiles.FontStack, " ", "%20") + "/19968-20223.pbf"
		g := fetch(t, http.MethodGet, font)
		if g.status != http.StatusOK || len(g.body) != 0 || g.header.Get("Content-Type") != "application/x-protobuf" {
			t.Errorf("glyphs: %d, %d bytes, %s; want 200, an empty glyph set", g.status, len(g.body), g.header.Get("Content-Type"))
		}
	})

	t.Run("CORS preflight", func(t *testing.T) {
		r := fetch(t, http.MethodOptions, tileURL(s.url, "areas", tl), "Origin", "https://map.example.org",
			"Access-Control-Request-Method", "GET", "Access-Control-Request-Headers", "authorization")
		if r.status != http.StatusNoContent || r.header.Get("Access-Control-Allow-Origin") != "*" ||
			!strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "GET") || r.header.Get("Access-Control-Allow-Headers") != "authorization" {
			t.Errorf("preflight: %d %v", r.status, r.header)
		}
	})

	t.Run("concurrent misses query once", func(t *testing.T) {
		fresh := maptile.At(district.Center(), 15)
		before := s.cache.Stats().Queries
		var wg sync.WaitGroup
		bodies := make([][]byte, 16)
		for i := range bodies {
			wg.Add(1)
			go func() {
				defer wg.Done()
				bodies[i] = fetch(t, http.MethodGet, tileURL(s.url, "areas,buildings,labels", fresh), "Accept-Encoding", "gzip").body
			}()
		}
		wg.Wait()
		if got := s.cache.Stats().Queries - before; got != 1 {
			t.Errorf("%d database queries for 16 concurrent requests of one tile, want 1", got)
		}
		for i, b := range bodies {
			if !bytes.Equal(b, bodies[0]) || len(b) == 0 {
				t.Errorf("response %d differs", i)
			}
		}
	})

	t.Run("metrics", func(t *testing.T) {
		r := fetch(t, http.MethodGet, s.metricsURL+"/metrics")
		for _, m := range []string{"gridmap_tile_cache_hits_total", "gridmap_tile_cache_misses_total", "gridmap_tile_cache_invalidations_total", "gridmap_tile_cache_bytes"} {
			if !bytes.Contains(r.body, []byte(m)) {
				t.Errorf("/metrics lacks %s", m)
			}
		}
	})
}

func TestTileHTTPConfig(t *testing.T) {
	_, url, ds := tileDB(t, "api_tiles_config")
	s := startTileServer(t, url, tiles.Config{CacheBytes: 3 * 1024}, api.Tiles{
		CacheControl: "public, max-age=600, stale-while-revalidate=60", PublicURL: "https://maps.example.org/gridmap/"})
	centre := ds.Areas[0].Geometry.Bound().Center()
	t.Run("configured Cache-Control and public URL", func(t *testing.T) {
		r := fetch(t, http.MethodGet, tileURL(s.url, "areas", maptile.At(centre, 12)))
		if got := r.header.Get("Cache-Control"); got != "public, max-age=600, stale-while-revalidate=60" {
			t.Errorf("Cache-Control %q", got)
		}
		var tj tiles.TileJSON
		if err := json.Unmarshal(fetch(t, http.MethodGet, s.url+"/tiles/areas.json").body, &tj); err != nil {
			t.Fatal(err)
		}
		if len(tj.Tiles) != 1 || !strings.HasPrefix(tj.Tiles[0], "https://maps.example.org/gridmap/tiles/areas/{z}/{x}/{y}.mvt?v=") {
			t.Errorf("tiles %v, want them under the public URL", tj.Tiles)
		}
	})
	t.Run("the cache stays within its bytes", func(t *testing.T) {
		var tls []maptile.Tile
		for z := maptile.Zoom(10); z <= 15; z++ {
			tls = append(tls, maptile.At(centre, z))
		}
		for i, tl := range tls {
			fetch(t, http.MethodGet, tileURL(s.url, "areas,labels", tl), "Accept-Encoding", "gzip")
			if st := s.cache.Stats(); st.Bytes > 3*1024 {
				t.Fatalf("cache holds %d bytes, bound 3072", st.Bytes)
			}
			if i == 0 {
				if r := fetch(t, http.MethodGet, tileURL(s.url, "areas,labels", tl), "Accept-Encoding", "gzip"); r.header.Get("X-Tile-Cache") != "hit" {
					t.Fatalf("the first tile (%d bytes) was not cached at all", len(r.body))
				}
			}
		}
		if r := fetch(t, http.MethodGet, tileURL(s.url, "areas,labels", tls[0])); r.header.Get("X-Tile-Cache") != "miss" {
			t.Errorf("the least recently used tile is still cached in a 3 KiB cache holding %d tiles", s.cache.Stats().Entries)
		}
	})
}

// TestTilesAcrossProcesses runs two gridmap processes on one database: an
// edit committed anywhere reaches the other process's cache within a second,
// removing the tiles it changes and no others.
func TestTilesAcrossProcesses(t *testing.T) {
	db, url, ds := tileDB(t, "api_tiles_two")
	a := startTileServer(t, url, tiles.Config{}, api.Tiles{})
	b := startTileServer(t, url, tiles.Config{}, api.Tiles{})
	g1, g2 := neighbourGrids(t, ds)
	near := maptile.At(g2.Geometry.Bound().Center(), 14)
	// The far tile: the grid farthest from the edited pair.
	var far maptile.Tile
	best := 0.0
	for _, ar := range ds.Areas {
		if ar.Level != demo.LevelGrid {
			continue
		}
		c, o := ar.Geometry.Bound().Center(), g2.Geometry.Bound().Center()
		if d := (c[0]-o[0])*(c[0]-o[0]) + (c[1]-o[1])*(c[1]-o[1]); d > best {
			best, far = d, maptile.At(c, 14)
		}
	}
	for _, s := range []*tileServer{a, b} {
		for _, tl := range []maptile.Tile{near, far} {
			fetch(t, http.MethodGet, tileURL(s.url, "areas,labels", tl), "Accept-Encoding", "gzip")
			if r := fetch(t, http.MethodGet, tileURL(s.url, "areas,labels", tl), "Accept-Encoding", "gzip"); r.header.Get("X-Tile-Cache") != "hit" {
				t.Fatalf("tile %v not warm", tl)
			}
		}
	}
	id1, id2 := areaID(t, db, g1.Code), areaID(t, db, g2.Code)
	if ids := areaIDs(decodeTile(t, fetch(t, http.MethodGet, tileURL(b.url, "areas,labels", near), "Accept-Encoding", "gzip"))); !ids[id2] {
		t.Fatalf("grid %s is not in the near tile", g2.Code)
	}

	// Merge grid 2 into grid 1 through the data layer, as an edit through
	// process A's API would.
	if _, err := data.NewEditor(a.db).Apply(context.Background(), geo.EditRequest{
		Op: geo.OpMerge, Areas: []geo.VersionRef{{ID: id1}, {ID: id2}}, Author: "test", Reason: "two processes"}); err != nil {
		t.Fatal(err)
	}
	committed := time.Now()
	for _, s := range []*tileServer{b, a} {
		for {
			r := fetch(t, http.MethodGet, tileURL(s.url, "areas,labels", near), "Accept-Encoding", "gzip")
			ids := areaIDs(decodeTile(t, r))
			if r.header.Get("X-Tile-Cache") == "miss" && !ids[id2] && ids[id1] {
				break
			}
			if time.Since(committed) > time.Second {
				t.Fatalf("a second after the commit the near tile is %s and still has grid %s", r.header.Get("X-Tile-Cache"), g2.Code)
			}
			time.Sleep(5 * time.Millisecond) // polling for the change to arrive, bounded by the second
		}
		if r := fetch(t, http.MethodGet, tileURL(s.url, "areas,labels", far), "Accept-Encoding", "gzip"); r.header.Get("X-Tile-Cache") != "hit" {
			t.Errorf("the far tile %v was invalidated by an edit elsewhere", far)
		}
	}
	t.Logf("both processes served the edit %v after the commit", time.Since(committed))
	if v := b.cache.Version(); v < a.cache.Version() || v == 0 {
		t.Errorf("process B knows version %d, A %d", v, a.cache.Version())
	}

	t.Run("a lost listening connection drops the cache and recovers", func(t *testing.T) {
		pid := b.feed.BackendPID()
		if _, err := db.Pool.Exec(context.Background(), `SELECT pg_terminate_backend($1)`, int64(pid)); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for fetch(t, http.MethodGet, tileURL(b.url, "areas,labels", far)).header.Get("X-Tile-Cache") != "miss" {
			if time.Now().After(deadline) {
				t.Fatal("the cache survived losing its listening connection")
			}
			time.Sleep(5 * time.Millisecond) // polling for the reset, bounded by the deadline
		}
		for b.feed.BackendPID() == 0 || b.feed.BackendPID() == pid {
			if time.Now().After(deadline) {
				t.Fatal("the feed did not reconnect")
			}
			time.Sleep(5 * time.Millisecond) // polling for the reconnection, bounded by the deadline
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := b.cache.WaitReady(ctx); err != nil {
			t.Fatal(err)
		}
		// Caching and invalidation work again.
		fetch(t, http.MethodGet, tileURL(b.url, "areas,labels", near))
		if r := fetch(t, http.MethodGet, tileURL(b.url, "areas,labels", near)); r.header.Get("X-Tile-Cache") != "hit" {
			t.Fatal("not caching after reconnecting")
		}
		if _, err := data.NewEditor(a.db).Rename(context.Background(), geo.RenameRequest{AreaID: id1, Name: g1.Name + "（合）", Author: "test"}); err != nil {
			t.Fatal(err)
		}
		for {
			r := fetch(t, http.MethodGet, tileURL(b.url, "areas,labels", near))
			if r.header.Get("X-Tile-Cache") == "miss" {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("no invalidation after reconnecting")
			}
			time.Sleep(5 * time.Millisecond) // polling for the change to arrive, bounded by the deadline
		}
	})
}
