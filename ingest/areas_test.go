package ingest

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"gridmap/geo"
)

// testData is the path of a file in the repository's testdata/ (real-world
// OpenStreetMap data, ODbL; testdata/README.md).
func testData(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join("..", "testdata", name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("test data file: %v", err)
	}
	return p
}

// fc wraps features in a FeatureCollection.
func fc(features ...string) string {
	return `{"type":"FeatureCollection","features":[` + strings.Join(features, ",") + `]}`
}

const (
	square       = `[[0,0],[1,0],[1,1],[0,1],[0,0]]`
	squareFar    = `[[10,10],[11,10],[11,11],[10,11],[10,10]]`
	polygonSq    = `{"type":"Feature","id":"a","properties":{"name":"Square"},"geometry":{"type":"Polygon","coordinates":[` + square + `]}}`
	multiPolygon = `{"type":"Feature","properties":null,"geometry":{"type":"MultiPolygon","coordinates":[[` + square + `],[` + squareFar + `]]}}`
)

func TestReadAreaFeatures(t *testing.T) {
	tests := []struct {
		name         string
		input        string
		maxBytes     int64
		wantCode     string   // error code; "" means no error
		wantErrHas   string   // substring of the error message
		wantProblems []string // per feature: substring of Problem, "" for none
		wantPolygons []int    // per feature without problem: number of polygons
	}{
		{
			name:         "polygon promoted to multipolygon",
			input:        fc(polygonSq),
			wantProblems: []string{""},
			wantPolygons: []int{1},
		},
		{
			name:         "multipolygon kept",
			input:        fc(multiPolygon),
			wantProblems: []string{""},
			wantPolygons: []int{2},
		},
		{
			name:         "polygon with hole and altitude",
			input:        fc(`{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0,5],[4,0,5],[4,4,5],[0,4,5],[0,0,5]],[[1,1],[2,1],[2,2],[1,1]]]}}`),
			wantProblems: []string{""},
			wantPolygons: []int{1},
		},
		{
			name:         "unclosed ring",
			input:        fc(`{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,1],[0,1]]]}}`),
			wantProblems: []string{"not closed"},
		},
		{
			name:         "ring with three positions",
			input:        fc(`{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[0,0]]]}}`),
			wantProblems: []string{"has 3 positions"},
		},
		{
			name:         "unclosed ring in second polygon",
			input:        fc(`{"type":"Feature","properties":{},"geometry":{"type":"MultiPolygon","coordinates":[[` + square + `],[[[5,5],[6,5],[6,6],[5,6]]]]}}`),
			wantProblems: []string{"polygon 2, ring 1 is not closed"},
		},
		{
			name:         "latitude out of range",
			input:        fc(`{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1,0],[1,91],[0,0]]]}}`),
			wantProblems: []string{"lat must be between -90 and 90, got 91"},
		},
		{
			name:         "longitude out of range",
			input:        fc(`{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[181,0],[1,1],[0,0]]]}}`),
			wantProblems: []string{"lon must be between -180 and 180, got 181"},
		},
		{
			name:         "number overflowing float64 is not finite",
			input:        fc(`{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1e400,0],[1,1],[0,0]]]}}`),
			wantProblems: []string{"not a finite number"},
		},
		{
			name:         "string coordinate",
			input:        fc(`{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],["1",0],[1,1],[0,0]]]}}`),
			wantProblems: []string{"lon is a string, want a number"},
		},
		{
			name:         "position with one coordinate",
			input:        fc(`{"type":"Feature","properties":{},"geometry":{"type":"Polygon","coordinates":[[[0,0],[1],[1,1],[0,0]]]}}`),
			wantProblems: []string{"has 1 coordinates"},
		},
		{
			name:         "linestring",
			input:        fc(`{"type":"Feature","properties":{},"geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]}}`),
			wantProblems: []string{`"LineString" is not an area`},
		},
		{
			name:         "null geometry",
			input:        fc(`{"type":"Feature","properties":{"name":"x"},"geometry":null}`),
			wantProblems: []string{"no geometry"},
		},
		{
			name:         "geometry collection",
			input:        fc(`{"type":"Feature","properties":{},"geometry":{"type":"GeometryCollection","geometries":[]}}`),
			wantProblems: []string{`"GeometryCollection" is not an area`},
		},
		{
			name:         "member that is not a feature",
			input:        fc(`42`, `{"type":"Polygon","coordinates":[`+square+`]}`),
			wantProblems: []string{"is a number, want a Feature", `has type "Polygon", want "Feature"`},
		},
		{
			name:         "good and bad features keep their order",
			input:        fc(polygonSq, `{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[0,0]}}`, multiPolygon),
			wantProblems: []string{"", "not an area", ""},
			wantPolygons: []int{1, 2},
		},
		{
			name:     "empty collection",
			input:    fc(),
			maxBytes: 100,
		},
		{
			name:       "invalid JSON reports offset",
			input:      `{"type":"FeatureCollection","features":[}`,
			wantCode:   geo.EInvalid,
			wantErrHas: "at byte offset 40 (line 1, column 41)",
		},
		{
			name:       "truncated JSON",
			input:      `{"type":"FeatureCollection","features":[`,
			wantCode:   geo.EInvalid,
			wantErrHas: "ends before the JSON value is complete, at byte offset 40",
		},
		{
			name:       "data after the collection",
			input:      fc() + "}",
			wantCode:   geo.EInvalid,
			wantErrHas: "after top-level value at byte offset 42",
		},
		{
			name:       "offset counts the byte order mark",
			input:      "\xEF\xBB\xBF{\n\"type\": x}",
			wantCode:   geo.EInvalid,
			wantErrHas: "at byte offset 13 (line 2, column 9)",
		},
		{
			name:       "single feature is not a FeatureCollection",
			input:      polygonSq,
			wantCode:   geo.EInvalid,
			wantErrHas: `its type is "Feature"`,
		},
		{
			name:       "array is not a FeatureCollection",
			input:      `[` + polygonSq + `]`,
			wantCode:   geo.EInvalid,
			wantErrHas: "top-level value is an array",
		},
		{
			name:       "features not an array",
			input:      `{"type":"FeatureCollection","features":{}}`,
			wantCode:   geo.EInvalid,
			wantErrHas: `"features" is an object`,
		},
		{
			name:       "too large",
			input:      fc(polygonSq),
			maxBytes:   50,
			wantCode:   geo.ETooLarge,
			wantErrHas: "larger than the limit of 50 bytes",
		},
		{
			name:       "invalid UTF-8",
			input:      fc(`{"type":"Feature","properties":{"name":"V` + "\xff" + `duz"},"geometry":{"type":"Polygon","coordinates":[` + square + `]}}`),
			wantCode:   geo.EInvalid,
			wantErrHas: "not valid UTF-8: first bad byte at offset 81",
		},
		{
			name:         "byte order mark tolerated",
			input:        "\xEF\xBB\xBF" + fc(polygonSq),
			wantProblems: []string{""},
			wantPolygons: []int{1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadAreaFeatures(strings.NewReader(tt.input), tt.maxBytes)
			if tt.wantCode != "" {
				var ge *geo.Error
				if !errors.As(err, &ge) {
					t.Fatalf("got error %v, want a *geo.Error %s", err, tt.wantCode)
				}
				if ge.Code != tt.wantCode {
					t.Errorf("got code %s, want %s", ge.Code, tt.wantCode)
				}
				if !strings.Contains(ge.Message, tt.wantErrHas) {
					t.Errorf("got message %q, want it to contain %q", ge.Message, tt.wantErrHas)
				}
				return
			}
			if err != nil {
				t.Fatalf("got error %v, want none", err)
			}
			if len(got) != len(tt.wantProblems) {
				t.Fatalf("got %d features, want %d", len(got), len(tt.wantProblems))
			}
			var polygons []int
			for i, f := range got {
				if f.Index != i {
					t.Errorf("feature %d: got Index %d, want %d", i, f.Index, i)
				}
				if f.Props == nil {
					t.Errorf("feature %d: got nil Props, want a map", i)
				}
				want := tt.wantProblems[i]
				if want == "" && f.Problem != "" {
					t.Errorf("feature %d: got Problem %q, want none", i, f.Problem)
				}
				if want != "" && !strings.Contains(f.Problem, want) {
					t.Errorf("feature %d: got Problem %q, want it to contain %q", i, f.Problem, want)
				}
				if f.Problem != "" {
					if f.Geometry != nil {
						t.Errorf("feature %d: got Geometry %v with a Problem, want nil", i, f.Geometry)
					}
					continue
				}
				polygons = append(polygons, len(f.Geometry))
			}
			if fmt.Sprint(polygons) != fmt.Sprint(tt.wantPolygons) && len(polygons)+len(tt.wantPolygons) > 0 {
				t.Errorf("got polygon counts %v, want %v", polygons, tt.wantPolygons)
			}
		})
	}
}

func TestReadAreaFeaturesRef(t *testing.T) {
	tests := []struct {
		name, feature, want string
	}{
		{"name and string id", `{"type":"Feature","id":"LI-11","properties":{"name":"Vaduz"},"geometry":null}`, `feature 0 (name "Vaduz", id "LI-11")`},
		{"numeric id unquoted", `{"type":"Feature","id":404676268,"properties":{},"geometry":null}`, `feature 0 (id 404676268)`},
		{"id from properties", `{"type":"Feature","properties":{"id":7001,"name":"银城"},"geometry":null}`, `feature 0 (name "银城", id 7001)`},
		{"no name no id", `{"type":"Feature","properties":null,"geometry":null}`, `feature 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ReadAreaFeatures(strings.NewReader(fc(tt.feature)), 0)
			if err != nil {
				t.Fatal(err)
			}
			if got[0].Ref != tt.want {
				t.Errorf("got Ref %s, want %s", got[0].Ref, tt.want)
			}
		})
	}
}

func TestReadAreaFeaturesLiechtenstein(t *testing.T) {
	f, err := os.Open(testData(t, "liechtenstein-admin.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	features, err := ReadAreaFeatures(f, 10<<20)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := len(features), 14; got != want {
		t.Fatalf("got %d features, want %d", got, want)
	}
	levels := map[string]int{}
	var codes []string
	for _, f := range features {
		if f.Problem != "" {
			t.Errorf("%s: got Problem %q, want none", f.Ref, f.Problem)
		}
		levels[PropString(f.Props, "admin_level")]++
		if MatchWhere(f.Props, map[string]string{"admin_level": "8", "boundary": "administrative"}) {
			codes = append(codes, PropString(f.Props, "ISO3166-2"))
		}
	}
	if got, want := fmt.Sprint(levels), "map[2:1 6:2 8:11]"; got != want {
		t.Errorf("got admin levels %s, want %s", got, want)
	}
	sort.Strings(codes)
	var want []string
	for i := 1; i <= 11; i++ {
		want = append(want, fmt.Sprintf("LI-%02d", i))
	}
	if fmt.Sprint(codes) != fmt.Sprint(want) {
		t.Errorf("got ISO3166-2 codes %v, want %v", codes, want)
	}
}

func TestPropString(t *testing.T) {
	var props map[string]any
	d := json.NewDecoder(strings.NewReader(`{"s":"Vaduz","i":7001,"f":7001.0,"frac":1.50,"big":12345678901234567890,
		"neg":-3,"exp":1e3,"t":true,"no":false,"null":null,"one":["Oberland"],"onenum":[7],"two":["a","b"],"obj":{"a":1},"empty":""}`))
	d.UseNumber()
	if err := d.Decode(&props); err != nil {
		t.Fatal(err)
	}
	props["float64"] = 8.0
	props["int"] = 42
	tests := []struct{ key, want string }{
		{"s", "Vaduz"},
		{"i", "7001"},
		{"f", "7001"},
		{"frac", "1.5"},
		{"big", "12345678901234567890"},
		{"neg", "-3"},
		{"exp", "1000"},
		{"t", "true"},
		{"no", "false"},
		{"null", ""},
		{"one", "Oberland"},
		{"onenum", "7"},
		{"two", ""},
		{"obj", ""},
		{"empty", ""},
		{"missing", ""},
		{"float64", "8"},
		{"int", "42"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			if got := PropString(props, tt.key); got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
	if got := PropString(nil, "x"); got != "" {
		t.Errorf("nil props: got %q, want \"\"", got)
	}
}

func TestMatchWhere(t *testing.T) {
	props := map[string]any{"admin_level": json.Number("8"), "name": "Vaduz", "parent_level6": []any{"Oberland"}}
	tests := []struct {
		name  string
		where map[string]string
		want  bool
	}{
		{"nil where matches", nil, true},
		{"number as text", map[string]string{"admin_level": "8"}, true},
		{"all keys must match", map[string]string{"admin_level": "8", "name": "Schaan"}, false},
		{"one-element array", map[string]string{"parent_level6": "Oberland"}, true},
		{"missing key matches only empty", map[string]string{"ISO3166-2": ""}, true},
		{"missing key does not match value", map[string]string{"ISO3166-2": "LI-11"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := MatchWhere(props, tt.where); got != tt.want {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}
