package dbtest

import (
	"context"
	"os"
	"path/filepath"
	"runtime"
	"testing"

	"gridmap/data"
	"gridmap/demo"
	"gridmap/geo"
	"gridmap/ingest"
)

// TestData is the path of a file in the repository's testdata/, where the
// real-world test data lives (OpenStreetMap extracts, ODbL; testdata/README.md).
func TestData(name string) string {
	_, file, _, _ := runtime.Caller(0) // …/data/dbtest/fixtures.go
	root := filepath.Dir(filepath.Dir(filepath.Dir(file)))
	return filepath.Join(root, "testdata", name)
}

// LoadDemo loads the synthetic subdistrict of opt into db as one change.
func LoadDemo(t testing.TB, db *data.DB, opt demo.Options) *demo.Dataset {
	t.Helper()
	ds, err := demo.Generate(opt)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := data.NewImporter(db).LoadDataset(context.Background(), ds.GeoDataset(), geo.ImportOptions{Author: "test", Strict: true}); err != nil {
		t.Fatalf("loading the demo: %v", err)
	}
	return ds
}

// ImportLiechtenstein loads the three admin levels of the real extract into a
// hierarchy "li" of their own, configured as data: li_country (code
// ISO3166-1), li_wahlkreis (wikidata id), li_gemeinde (ISO3166-2).
func ImportLiechtenstein(t testing.TB, db *data.DB) {
	t.Helper()
	ctx := context.Background()
	as := data.NewAreaService(db)
	for _, l := range []geo.Level{
		{Hierarchy: "li", Key: "li_country", Depth: 0, NameZH: "国家", NameEN: "country"},
		{Hierarchy: "li", Key: "li_wahlkreis", Depth: 1, NameZH: "选区", NameEN: "Wahlkreis"},
		{Hierarchy: "li", Key: "li_gemeinde", Depth: 2, NameZH: "市镇", NameEN: "Gemeinde"},
	} {
		if err := as.AddLevel(ctx, l); err != nil {
			t.Fatalf("AddLevel %s: %v", l.Key, err)
		}
	}
	f, err := os.Open(TestData("liechtenstein-admin.geojson"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	feats, err := ingest.ReadAreaFeatures(f, 1<<30)
	if err != nil {
		t.Fatal(err)
	}
	var in []geo.AreaInput
	for _, ft := range feats {
		a := geo.AreaInput{Ref: ft.Ref, Geometry: ft.Geometry, Problem: ft.Problem, Name: ingest.PropString(ft.Props, "name")}
		switch ingest.PropString(ft.Props, "admin_level") {
		case "2":
			a.Level, a.Code = "li_country", ingest.PropString(ft.Props, "ISO3166-1")
		case "6":
			a.Level, a.Code = "li_wahlkreis", ingest.PropString(ft.Props, "wikidata")
		case "8":
			a.Level, a.Code = "li_gemeinde", ingest.PropString(ft.Props, "ISO3166-2")
		}
		in = append(in, a)
	}
	rep, err := data.NewImporter(db).ImportAreas(ctx, in, geo.ImportOptions{Author: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 14 || len(rep.Rejected) != 0 {
		t.Fatalf("Liechtenstein admin import: imported %d, rejected %v; want 14 and none", rep.Imported, rep.Rejected)
	}
}

// qRoadsOnGridBorders: a road along every border of the current grids.
const qRoadsOnGridBorders = `
INSERT INTO road (name, class, geom, source)
SELECT '边界路', 'minor', (ST_Dump(ST_LineMerge(ST_Union(ST_Boundary(v.geom))))).geom, 'test'
FROM area a JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL WHERE a.level = 'grid' AND a.retired_at IS NULL`

// qMiddleRoads: a street across the middle of every grid, east to west.
const qMiddleRoads = `
INSERT INTO road (name, class, geom, source)
SELECT '中心路', 'minor', ST_MakeLine(ST_MakePoint(ST_XMin(v.geom) - 0.0001, ST_Y(ST_Centroid(v.geom))),
                                     ST_MakePoint(ST_XMax(v.geom) + 0.0001, ST_Y(ST_Centroid(v.geom)))), 'test'
FROM area a JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL WHERE a.level = 'grid' AND a.retired_at IS NULL`

// AddRoads gives the partition (划网格) tests and benchmark roads of their
// own: one along every border of the current grids, where the demo's
// streets run, and with middle a street across the middle of every grid.
func AddRoads(ctx context.Context, db *data.DB, middle bool) error {
	if _, err := db.Pool.Exec(ctx, qRoadsOnGridBorders); err != nil {
		return err
	}
	if middle {
		_, err := db.Pool.Exec(ctx, qMiddleRoads)
		return err
	}
	return nil
}

// RoadsOnGridBorders is AddRoads without the middle streets, for tests.
func RoadsOnGridBorders(t testing.TB, db *data.DB) {
	t.Helper()
	if err := AddRoads(context.Background(), db, false); err != nil {
		t.Fatal(err)
	}
}
