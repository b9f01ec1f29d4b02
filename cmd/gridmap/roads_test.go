package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gridmap/data/dbtest"
	"gridmap/geo"
)

// TestImportRoadsCLI: the PBF's roads land, a re-import replaces them, and a
// file without roads leaves them as they are.
func TestImportRoadsCLI(t *testing.T) {
	_, url := dbtest.New(t, "cli_roads")
	t.Setenv("DATABASE_URL", url)
	pbf := testData("liechtenstein.osm.pbf")
	out, err := runCLI(t, "import", "roads", pbf)
	if err != nil || !strings.Contains(out, "imported 10420 (major 773, minor 6243, path 3404), replaced 0, skipped 21, rejected 0") {
		t.Fatalf("first import: %v\n%s", err, out)
	}
	out, err = runCLI(t, "import", "roads", pbf)
	if err != nil || !strings.Contains(out, "imported 10420") || !strings.Contains(out, "replaced 10420") {
		t.Fatalf("re-import: %v\n%s", err, out)
	}
	empty := filepath.Join(t.TempDir(), "liechtenstein.osm.pbf.geojson")
	os.WriteFile(empty, []byte(`{"type":"FeatureCollection","features":[{"type":"Feature","properties":{"highway":"proposed"},"geometry":{"type":"LineString","coordinates":[[9.5,47.1],[9.6,47.2]]}}]}`), 0o644)
	out, err = runCLI(t, "import", "roads", empty, "--source", "liechtenstein.osm.pbf")
	if geo.ErrorCode(err) != geo.EInvalid || !strings.Contains(err.Error(), "left as they are") {
		t.Fatalf("a file without roads: got %v, want invalid_argument\n%s", err, out)
	}
	out, err = runCLI(t, "import", "roads", pbf, "--dry-run")
	if err != nil || !strings.Contains(out, "would import") || !strings.Contains(out, "replaced 10420") {
		t.Fatalf("dry run: %v\n%s", err, out)
	}
	if _, err := runCLI(t, "import", "roads"); geo.ErrorCode(err) != geo.EInvalid {
		t.Errorf("no file: got %v, want invalid_argument", err)
	}
}
