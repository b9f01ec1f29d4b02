package api_test

import (
	"bytes"
	"compress/gzip"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"gridmap/api"
	"gridmap/data"
	"gridmap/tiles"
)

// TestTilePathAnswersAsRouter sends tile-like requests to a server through
// ServeHTTP (which takes the tile route without mux's matching) and through
// its mux router alone: status, headers, body and the log line's route must
// be the same, for tiles, for the staff cases layer that shares the prefix,
// and for paths the tile route does not match or mux cleans.
func TestTilePathAnswersAsRouter(t *testing.T) {
	var logs bytes.Buffer
	tile := tiles.Tile{Gzip: gzipped(t, strings.Repeat("tile", 100)), Size: 400, ETag: `"0123456789abcdef"`, GzipETag: `"0123456789abcdef-gzip"`}
	s := api.NewServer(api.Config{PublicRate: 1e9}, api.Server{
		Tiles: &api.Tiles{Service: &fixedTiles{tile}}, Cases: (*data.CaseStore)(nil),
		Web: http.NotFoundHandler(), Log: slog.New(slog.NewTextHandler(&logs, nil)),
	}, prometheus.NewRegistry())
	for _, c := range []struct{ method, path, enc string }{
		{"GET", "/tiles/areas,buildings,labels/14/13721/6675.mvt", "gzip"},
		{"GET", "/tiles/areas/14/13721/6675.pbf", ""},
		{"HEAD", "/tiles/areas/14/13721/6675.mvt", "gzip"},
		{"GET", "/tiles/areas/99/1/1.mvt", ""},
		{"GET", "/tiles/nope/1/1/1.mvt", ""},
		{"GET", "/tiles/cases/14/13721/6675.mvt", ""},
		{"HEAD", "/tiles/cases/14/13721/6675.mvt", ""},
		{"GET", "/tiles/areas/14/13721/6675.mvt/", ""},
		{"GET", "/tiles/areas/14/13721/./6675.mvt", ""},
		{"GET", "/tiles/areas/14/../13721/6675.mvt", ""},
		{"GET", "/tiles/areas//13721/6675.mvt", ""},
		{"GET", "/tiles/areas/14/13721", ""},
		{"GET", "/tiles/areas/%00/1/1.mvt", ""},
		{"POST", "/tiles/areas/14/13721/6675.mvt", ""},
		{"OPTIONS", "/tiles/areas/14/13721/6675.mvt", ""},
	} {
		answer := func(h http.Handler) (string, string) {
			logs.Reset()
			r := httptest.NewRequest(c.method, c.path, nil)
			if c.enc != "" {
				r.Header.Set("Accept-Encoding", c.enc)
			}
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			var b strings.Builder
			b.WriteString(w.Result().Status + "\n")
			w.Result().Header.Write(&b)
			body, _ := io.ReadAll(w.Result().Body)
			b.Write(body)
			line := logs.String()
			if i := strings.Index(line, "route="); i >= 0 {
				line = line[i:]
			}
			if i := strings.Index(line, " duration="); i >= 0 {
				line = line[:i]
			}
			return b.String(), line
		}
		got, gotLog := answer(s)
		want, wantLog := answer(s.Router())
		if got != want {
			t.Errorf("%s %s: through ServeHTTP\n%s\nthrough the router\n%s", c.method, c.path, got, want)
		}
		if gotLog != wantLog {
			t.Errorf("%s %s: logged %q, the router logs %q", c.method, c.path, gotLog, wantLog)
		}
	}
}

func gzipped(t *testing.T, s string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	if _, err := zw.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}
