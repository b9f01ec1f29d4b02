package main

import (
	"context"
	"strings"
	"testing"

	"github.com/paulmach/orb/geojson"

	"gridmap/data/dbtest"
	"gridmap/demo"
	"gridmap/geo"
)

// TestCLIPartition: propose as GeoJSON, refuse bad flags, apply with a reason.
func TestCLIPartition(t *testing.T) {
	db, url := dbtest.New(t, "cli_partition")
	t.Setenv("DATABASE_URL", url)
	dbtest.LoadDemo(t, db, demo.Options{Grids: 5})
	ctx := context.Background()
	dbtest.RoadsOnGridBorders(t, db)
	var code string
	if err := db.Pool.QueryRow(ctx, `SELECT code FROM area WHERE level = 'community' ORDER BY code LIMIT 1`).Scan(&code); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "partition", code, "--households", "300-500", "--format", "geojson", "--seed", "2")
	if err != nil {
		t.Fatalf("partition: %v\n%s", err, out)
	}
	fc, err := geojson.UnmarshalFeatureCollection([]byte(out))
	if err != nil {
		t.Fatalf("not GeoJSON: %v\n%s", err, out)
	}
	if len(fc.Features) < 2 {
		t.Fatalf("%d grids proposed", len(fc.Features))
	}
	for _, f := range fc.Features {
		if _, ok := f.Properties["households"].(float64); !ok || f.Geometry.GeoJSONType() == "" {
			t.Fatalf("feature without households or geometry: %v", f.Properties)
		}
	}
	for _, bad := range [][]string{
		{"partition", code, "--households", "500-300"},
		{"partition", code, "--mode", "redo"},
		{"partition", code, "--apply"},
		{"partition", code, "--apply", "--reason", "a\x00b"},
		{"partition", "--seed", "1"},
	} {
		if _, err := runCLI(t, bad...); geo.ErrorCode(err) != geo.EInvalid {
			t.Errorf("%q: got %v, want invalid_argument", bad, err)
		}
	}
	if _, err := runCLI(t, "partition", "999999999999"); geo.ErrorCode(err) != geo.ENotFound {
		t.Errorf("unknown area: got %v, want not_found", err)
	}
	out, err = runCLI(t, "partition", code, "--seed", "2", "--apply", "--reason", "划网格")
	if err != nil || !strings.Contains(out, "applied as change") {
		t.Fatalf("apply: %v\n%s", err, out)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM area a JOIN area p ON p.id = a.parent_id WHERE p.code = $1 AND a.retired_at IS NULL`, code).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != len(fc.Features) {
		t.Fatalf("%d grids after applying, the proposal had %d", n, len(fc.Features))
	}
}
