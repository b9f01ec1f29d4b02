package api_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/paulmach/orb/maptile"
	"github.com/prometheus/client_golang/prometheus"

	"gridmap/api"
	"gridmap/tiles"
)

// fixedTiles answers every tile with the same stored tile, shared, as a
// cache hit does (tiles.Cache): what is left to measure is the API's own path.
type fixedTiles struct{ t tiles.Tile }

func (f *fixedTiles) Tile(context.Context, tiles.LayerSet, maptile.Tile) (*tiles.Tile, error) {
	return &f.t, nil
}
func (f *fixedTiles) TileJSON(context.Context, tiles.LayerSet, string) (*tiles.TileJSON, error) {
	return nil, nil
}
func (f *fixedTiles) Style(context.Context, string) (json.RawMessage, error) { return nil, nil }

// discard is a ResponseWriter that keeps nothing but the headers.
type discard struct{ h http.Header }

func (d *discard) Header() http.Header         { return d.h }
func (d *discard) Write(b []byte) (int, error) { return len(b), nil }
func (d *discard) WriteHeader(int)             {}

// BenchmarkTileHit and BenchmarkNoopRoute put a tile answered from memory and
// the no-op route (bench/lookup's /bench/noop) through the same server and
// middleware, public rate limit on, logging to io.Discard: the difference is
// the tile path's own cost (go test -bench 'TileHit|NoopRoute' -cpuprofile).
func BenchmarkTileHit(b *testing.B) {
	runRoute(b, hitServer(), hitPath)
}

// TestTileHitAllocations holds a warm hit and the no-op route to the
// allocations they make now (docs/scale.md, "Warm tiles"): a change that adds
// one to the hottest path fails here, not only in a benchmark nobody runs.
func TestTileHitAllocations(t *testing.T) {
	// The race detector (make test runs with -race) adds allocations of its
	// own: at most raceAllocs more per request.
	extra := 0.0
	if raceEnabled {
		extra = raceAllocs
	}
	for _, tc := range []struct {
		name string
		s    *api.Server
		path string
		max  float64
	}{
		{"hit", hitServer(), hitPath, 16},
		{"no-op", benchServer(&fixedTiles{}), "/bench/noop", 26},
	} {
		r := benchRequest(tc.path)
		got := testing.AllocsPerRun(200, func() { tc.s.ServeHTTP(&discard{h: http.Header{}}, r) })
		t.Logf("%s: %.0f allocations per request", tc.name, got)
		if got > tc.max+extra {
			t.Errorf("%s: %.0f allocations per request, want at most %.0f", tc.name, got, tc.max+extra)
		}
	}
}

const hitPath = "/tiles/areas,buildings,labels/14/13721/6675.mvt"

func hitServer() *api.Server { return benchServer(hitServerTiles()) }

func hitServerTiles() tiles.Service {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(bytes.Repeat([]byte("tile"), 4000))
	zw.Close()
	// The header values as the cache makes them with a tile (tiles.encodeTile).
	return &fixedTiles{tiles.Tile{Hit: true, Gzip: buf.Bytes(), Size: 16000, ETag: `"0123456789abcdef"`, GzipETag: `"0123456789abcdef-gzip"`,
		ETagHeader: []string{`"0123456789abcdef"`}, GzipETagHeader: []string{`"0123456789abcdef-gzip"`},
		LengthHeader: []string{"16000"}, GzipLengthHeader: []string{strconv.Itoa(buf.Len())}}}
}

func BenchmarkNoopRoute(b *testing.B) {
	runRoute(b, benchServer(&fixedTiles{}), "/bench/noop")
}

func benchServer(ts tiles.Service) *api.Server {
	noop := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		io.WriteString(w, "{}\n")
	})
	return api.NewServer(api.Config{PublicRate: 1e9}, api.Server{
		Tiles: &api.Tiles{Service: ts}, Web: noop, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, prometheus.NewRegistry())
}

func benchRequest(path string) *http.Request {
	r, _ := http.NewRequest(http.MethodGet, "http://gridmap.test"+path, nil)
	r.Header.Set("Accept-Encoding", "gzip, deflate, br")
	r.RemoteAddr = "127.0.0.1:5000"
	return r
}

func runRoute(b *testing.B, s *api.Server, path string) {
	r := benchRequest(path)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := &discard{h: http.Header{}}
		s.ServeHTTP(w, r)
	}
}

// TestTileRouteMetrics: the tile route's counter and histogram, taken once
// for its 200s (instrumentAs), count every request, and other statuses by
// their labels as before; the log line is LogAttrs's, with the tile's two
// attributes.
func TestTileRouteMetrics(t *testing.T) {
	reg := prometheus.NewRegistry()
	var logs bytes.Buffer
	s := api.NewServer(api.Config{}, api.Server{
		Tiles: &api.Tiles{Service: hitServerTiles()}, Log: slog.New(slog.NewTextHandler(&logs, nil)),
	}, reg)
	for range 3 {
		s.ServeHTTP(&discard{h: http.Header{}}, benchRequest(hitPath))
	}
	s.ServeHTTP(&discard{h: http.Header{}}, benchRequest("/tiles/areas/14/13721/x.mvt"))
	w := &recorder{discard: discard{h: http.Header{}}}
	m, _ := http.NewRequest(http.MethodGet, "http://gridmap.test/metrics", nil)
	s.Metrics().ServeHTTP(w, m)
	out := w.body.String()
	for _, want := range []string{
		`gridmap_http_requests_total{route="/tiles/{layers}/{z}/{x}/{tile}",status="200"} 3`,
		`gridmap_http_requests_total{route="/tiles/{layers}/{z}/{x}/{tile}",status="400"} 1`,
		`gridmap_http_request_duration_seconds_count{route="/tiles/{layers}/{z}/{x}/{tile}"} 4`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	lines := strings.Split(strings.TrimSpace(logs.String()), "\n")
	if len(lines) != 4 {
		t.Fatalf("%d log lines, want 4:\n%s", len(lines), logs.String())
	}
	re := regexp.MustCompile(`^time=\S+ level=INFO msg=request method=GET route=/tiles/\{layers\}/\{z\}/\{x\}/\{tile\} status=200 duration=\S+ bytes=\d+ tile=14/13721/6675.mvt cache=hit$`)
	if !re.MatchString(lines[0]) {
		t.Errorf("log line %q, want it to match %s", lines[0], re)
	}
}

// recorder is a discard that keeps the body.
type recorder struct {
	discard
	body bytes.Buffer
}

func (r *recorder) Write(b []byte) (int, error) { return r.body.Write(b) }
