package main

import (
	"bytes"
	"encoding/xml"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paulmach/orb/geojson"

	"gridmap/data/dbtest"
	"gridmap/geo"
)

func testData(name string) string { return dbtest.TestData(name) }

func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	err := run(args, &out, &errb)
	return out.String() + errb.String(), err
}

// TestCLI drives the commands a person types: levels as data, the three
// admin levels of one real file told apart with --where, buildings, export.
func TestCLI(t *testing.T) {
	_, url := dbtest.New(t, "cli")
	t.Setenv("DATABASE_URL", url)

	for _, args := range [][]string{
		{"level", "add", "--hierarchy", "li", "--key", "li_country", "--depth", "0", "--zh", "国家", "--en", "country"},
		{"level", "add", "--hierarchy", "li", "--key", "li_wahlkreis", "--depth", "1", "--zh", "选区", "--en", "Wahlkreis"},
		{"level", "add", "--hierarchy", "li", "--key", "li_gemeinde", "--depth", "2", "--zh", "市镇", "--en", "Gemeinde"},
	} {
		if out, err := runCLI(t, args...); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
	}
	t.Run("a level needs the one above it", func(t *testing.T) {
		_, err := runCLI(t, "level", "add", "--hierarchy", "school", "--key", "class", "--depth", "2", "--zh", "班级", "--en", "class")
		if geo.ErrorCode(err) != geo.EInvalid {
			t.Errorf("got %v, want invalid_argument", err)
		}
	})
	admin := testData("liechtenstein-admin.geojson")
	for _, tc := range []struct{ level, where, code, want string }{
		{"li_country", "admin_level=2", "ISO3166-1", "imported 1, repaired 0, rejected 0"},
		{"li_wahlkreis", "admin_level=6", "wikidata", "imported 2, repaired 0, rejected 0"},
		{"li_gemeinde", "admin_level=8", "ISO3166-2", "imported 11, repaired 0, rejected 0"},
	} {
		out, err := runCLI(t, "import", "areas", admin, "--level", tc.level, "--where", tc.where, "--code-field", tc.code)
		if err != nil || !strings.Contains(out, tc.want) {
			t.Fatalf("import %s: %v\n%s\nwant %q", tc.level, err, out, tc.want)
		}
	}
	t.Run("importing the same codes again rejects each feature by name", func(t *testing.T) {
		out, err := runCLI(t, "import", "areas", admin, "--level", "li_gemeinde", "--where", "admin_level=8", "--code-field", "ISO3166-2", "--strict")
		if geo.ErrorCode(err) != geo.EInvalid || !strings.Contains(out, `rejected feature`) || !strings.Contains(out, "Vaduz") {
			t.Errorf("got %v\n%s\nwant a strict failure naming the features", err, out)
		}
	})
	out, err := runCLI(t, "import", "buildings", testData("shanghai-bund-buildings.geojson"))
	if err != nil || !strings.Contains(out, "imported 1517") {
		t.Fatalf("import buildings: %v\n%s", err, out)
	}

	t.Run("export geojson", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "gemeinden.geojson")
		if out, err := runCLI(t, "export", "areas", "--level", "li_gemeinde", "-o", f); err != nil {
			t.Fatalf("%v\n%s", err, out)
		}
		raw, _ := os.ReadFile(f)
		fc, err := geojson.UnmarshalFeatureCollection(raw)
		if err != nil || len(fc.Features) != 11 {
			t.Fatalf("got %v features (err %v), want 11", len(fc.Features), err)
		}
	})
	t.Run("export kml", func(t *testing.T) {
		out, err := runCLI(t, "export", "areas", "--format", "kml")
		if err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Placemarks []struct {
				Name     string `xml:"name"`
				Polygons []struct {
					Outer string `xml:"outerBoundaryIs>LinearRing>coordinates"`
				} `xml:"MultiGeometry>Polygon"`
			} `xml:"Document>Placemark"`
		}
		if err := xml.Unmarshal([]byte(out), &doc); err != nil {
			t.Fatalf("not XML: %v", err)
		}
		if len(doc.Placemarks) != 14 {
			t.Fatalf("%d placemarks, want 14", len(doc.Placemarks))
		}
		for _, p := range doc.Placemarks {
			if p.Name == "" || len(p.Polygons) == 0 || strings.Count(p.Polygons[0].Outer, ",") < 4 {
				t.Errorf("placemark %q has no proper polygon", p.Name)
			}
		}
	})
	t.Run("demo refuses a database that holds data", func(t *testing.T) {
		_, err := runCLI(t, "demo")
		if geo.ErrorCode(err) != geo.EConflict {
			t.Errorf("got %v, want conflict", err)
		}
	})
	t.Run("bad flags are invalid", func(t *testing.T) {
		for _, args := range [][]string{
			{"import", "areas", admin},
			{"import", "areas", admin, "--level", "li_gemeinde", "--where", "novalue"},
			{"import", "areas", admin, "--level", "nosuchlevel"},
			{"export", "areas", "--format", "shp"},
			{"frobnicate"},
		} {
			if _, err := runCLI(t, args...); geo.ErrorCode(err) != geo.EInvalid {
				t.Errorf("%v: got %v, want invalid_argument", args, err)
			}
		}
	})
}
