package api

import (
	"net/http"
	"testing"

	"github.com/gorilla/mux"
)

// TestTileOfRequest: the log's "tile" is z/x/tile of the request, taken from
// the path's end when it spells them, made from the values otherwise.
func TestTileOfRequest(t *testing.T) {
	for _, tc := range []struct {
		name, path string
		vars       map[string]string
		want       string
	}{
		{"fast path", "/tiles/areas,buildings/14/13721/6675.mvt",
			map[string]string{"layers": "areas,buildings", "z": "14", "x": "13721", "tile": "6675.mvt"}, "14/13721/6675.mvt"},
		{"one-digit values", "/tiles/a/1/0/0.pbf", map[string]string{"layers": "a", "z": "1", "x": "0", "tile": "0.pbf"}, "1/0/0.pbf"},
		{"path does not end with the values", "/tiles/a/1/0/0.pbf/",
			map[string]string{"layers": "a", "z": "1", "x": "0", "tile": "0.pbf"}, "1/0/0.pbf"},
		{"values of another split", "/tiles/a/11/0/0.pbf", map[string]string{"layers": "a/1", "z": "1", "x": "0", "tile": "0.pbf"}, "1/0/0.pbf"},
		{"x differs", "/tiles/a/1/2/0.pbf", map[string]string{"layers": "a", "z": "1", "x": "3", "tile": "0.pbf"}, "1/3/0.pbf"},
		{"short path", "/x", map[string]string{"layers": "a", "z": "1", "x": "3", "tile": "0.pbf"}, "1/3/0.pbf"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, _ := http.NewRequest(http.MethodGet, "http://gridmap.test"+tc.path, nil)
			if got := tileOfRequest(mux.SetURLVars(r, tc.vars)); got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}
