package ingest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gridmap/geo"
)

const (
	lineA     = `{"type":"Feature","id":"r1","properties":{"name":"幸福路","class":"major"},"geometry":{"type":"LineString","coordinates":[[120.1,30.3],[120.11,30.3],[120.11,30.3],[120.12,30.29]]}}`
	multiLine = `{"type":"Feature","properties":{"name":"和平街","highway":"residential"},"geometry":{"type":"MultiLineString","coordinates":[[[120.1,30.3],[120.1,30.29]],[[120.2,30.3],[120.2,30.29]]]}}`
)

func TestReadGeoJSONRoads(t *testing.T) {
	for _, tc := range []struct {
		name                string
		features            []string
		wantRoads, wantSkip int
		wantReject          string // substring of the first rejection; "" none
	}{
		{"line with class; repeated position dropped", []string{lineA}, 1, 0, ""},
		{"multilinestring gives one road per part, class from highway", []string{multiLine}, 2, 0, ""},
		{"highway that is not a road is skipped", []string{`{"type":"Feature","properties":{"highway":"construction"},"geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]}}`}, 0, 1, ""},
		{"no class and no highway", []string{`{"type":"Feature","properties":{"name":"x"},"geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]}}`}, 0, 0, "neither a class"},
		{"unknown class", []string{`{"type":"Feature","properties":{"class":"motorway-ish"},"geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]}}`}, 0, 0, "class must be major, minor or path"},
		{"point is not a road", []string{`{"type":"Feature","properties":{"class":"minor"},"geometry":{"type":"Point","coordinates":[0,0]}}`}, 0, 0, `"Point" is not a road`},
		{"polygon is not a road", []string{polygonSq}, 0, 0, "has neither a class"},
		{"one distinct position", []string{`{"type":"Feature","properties":{"class":"path"},"geometry":{"type":"LineString","coordinates":[[5,5],[5,5]]}}`}, 0, 0, "1 distinct positions"},
		{"latitude out of range", []string{`{"type":"Feature","properties":{"class":"path"},"geometry":{"type":"LineString","coordinates":[[5,5],[5,95]]}}`}, 0, 0, "lat must be between -90 and 90"},
		{"NUL in the name", []string{`{"type":"Feature","properties":{"class":"path","name":"a\u0000b"},"geometry":{"type":"LineString","coordinates":[[5,5],[5,6]]}}`}, 0, 0, "NUL"},
		{"name too long", []string{`{"type":"Feature","properties":{"class":"path","name":"` + strings.Repeat("路", 201) + `"},"geometry":{"type":"LineString","coordinates":[[5,5],[5,6]]}}`}, 0, 0, "at most 200 characters"},
		{"empty multilinestring", []string{`{"type":"Feature","properties":{"class":"minor"},"geometry":{"type":"MultiLineString","coordinates":[]}}`}, 0, 0, "has no lines"},
		{"no geometry", []string{`{"type":"Feature","properties":{"class":"minor"},"geometry":null}`}, 0, 0, "has no geometry"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			roads, rep, err := ReadGeoJSONRoads(strings.NewReader(fc(tc.features...)), RoadOptions{Source: "test"})
			if err != nil {
				t.Fatalf("got error %v", err)
			}
			if len(roads) != tc.wantRoads || rep.Skipped != tc.wantSkip {
				t.Errorf("got %d roads, %d skipped, want %d, %d (rejected %v)", len(roads), rep.Skipped, tc.wantRoads, tc.wantSkip, rep.Rejected)
			}
			switch {
			case tc.wantReject == "" && len(rep.Rejected) > 0:
				t.Errorf("got rejections %v, want none", rep.Rejected)
			case tc.wantReject != "" && (len(rep.Rejected) != 1 || !strings.Contains(rep.Rejected[0].Reason, tc.wantReject)):
				t.Errorf("got rejections %v, want one with %q", rep.Rejected, tc.wantReject)
			}
			for _, r := range roads {
				if r.Source != "test" || len(r.Line) < 2 {
					t.Errorf("road %+v: want source test and ≥ 2 positions", r)
				}
			}
		})
	}
	t.Run("fields of a road", func(t *testing.T) {
		roads, _, _ := ReadGeoJSONRoads(strings.NewReader(fc(lineA, multiLine)), RoadOptions{Source: "s"})
		if len(roads) != 3 {
			t.Fatalf("got %d roads, want 3", len(roads))
		}
		if r := roads[0]; r.Name != "幸福路" || r.Class != geo.RoadMajor || r.Ref != "r1" || len(r.Line) != 3 {
			t.Errorf("got %+v, want 幸福路 major r1 with 3 positions", r)
		}
		if r := roads[2]; r.Name != "和平街" || r.Class != geo.RoadMinor || r.Ref != "feature 1:2" {
			t.Errorf("got %+v, want 和平街 minor, ref \"feature 1:2\"", r)
		}
	})
	t.Run("the whole file", func(t *testing.T) {
		for _, s := range []string{"", "[]", `{"type":"Feature"}`, "\xff"} {
			if _, _, err := ReadGeoJSONRoads(strings.NewReader(s), RoadOptions{}); geo.ErrorCode(err) != geo.EInvalid {
				t.Errorf("%q: got %v, want invalid_argument", s, err)
			}
		}
	})
}

func TestReadRoadsFormat(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "roads.csv")
	os.WriteFile(csv, []byte("lon,lat\n1,2\n"), 0o644)
	if _, _, err := ReadRoads(csv, RoadOptions{}); geo.ErrorCode(err) != geo.EInvalid || !strings.Contains(err.Error(), "CSV") {
		t.Errorf("csv: got %v, want invalid_argument naming CSV", err)
	}
	js := filepath.Join(dir, "lines.geojson")
	os.WriteFile(js, []byte(fc(lineA)), 0o644)
	roads, rep, err := ReadRoads(js, RoadOptions{})
	if err != nil || len(roads) != 1 || rep.Accepted != 1 || roads[0].Source != "lines.geojson" {
		t.Errorf("got %v, %+v, %v: want one road of source lines.geojson", roads, rep, err)
	}
	if _, _, err := ReadRoads(filepath.Join(dir, "missing.pbf"), RoadOptions{}); geo.ErrorCode(err) != geo.EInvalid {
		t.Errorf("missing file: got %v, want invalid_argument", err)
	}
	if _, _, err := ReadRoads(js, RoadOptions{Format: "pbf"}); geo.ErrorCode(err) != geo.EInvalid {
		t.Errorf("GeoJSON read as PBF: got %v, want invalid_argument", err)
	}
}

// The counts measured on liechtenstein.osm.pbf (10,441 highway ways: 773
// major, 6,243 minor, 3,404 path, 21 of other highway values).
func TestReadRoadsLiechtensteinPBF(t *testing.T) {
	roads, rep, err := ReadRoads(testData(t, "liechtenstein.osm.pbf"), RoadOptions{})
	if err != nil {
		t.Fatal(err)
	}
	by := map[geo.RoadClass]int{}
	named := 0
	for _, r := range roads {
		by[r.Class]++
		if r.Name != "" {
			named++
		}
		if len(r.Line) < 2 || !strings.HasPrefix(r.Ref, "way/") || r.Source != "liechtenstein.osm.pbf" {
			t.Fatalf("road %+v: want ≥ 2 positions, ref way/…, source the file name", r)
		}
		for _, p := range r.Line {
			if checkLonLat(p) != "" {
				t.Fatalf("road %s: position %v out of range", r.Ref, p)
			}
		}
	}
	if rep.Read != 10441 || rep.Skipped != 21 || len(rep.Rejected) != 0 || rep.Accepted != len(roads) {
		t.Errorf("got read %d, skipped %d, rejected %d, accepted %d; want 10441, 21, 0, %d", rep.Read, rep.Skipped, len(rep.Rejected), rep.Accepted, len(roads))
	}
	if by[geo.RoadMajor] != 773 || by[geo.RoadMinor] != 6243 || by[geo.RoadPath] != 3404 {
		t.Errorf("got by class %v, want major 773, minor 6243, path 3404", by)
	}
	if named < 4000 {
		t.Errorf("got %d named roads, want ≥ 4000 (name tags read)", named)
	}
	if len(rep.Notes) == 0 || !strings.Contains(rep.Notes[0], "platform 9") {
		t.Errorf("got notes %v, want the skipped highway values counted", rep.Notes)
	}
}
