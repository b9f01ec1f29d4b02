package data_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/geo"
	"gridmap/ingest"
)

func testData(name string) string { return dbtest.TestData(name) }

// square returns the square [x0,x0+s]×[y0,y0+s] as a MultiPolygon (CCW).
func square(x0, y0, s float64) orb.MultiPolygon {
	return orb.MultiPolygon{{{{x0, y0}, {x0 + s, y0}, {x0 + s, y0 + s}, {x0, y0 + s}, {x0, y0}}}}
}

func mustImportAreas(t *testing.T, im *data.Importer, in []geo.AreaInput) *geo.ImportReport {
	t.Helper()
	rep, err := im.ImportAreas(context.Background(), in, geo.ImportOptions{Author: "test"})
	if err != nil {
		t.Fatalf("ImportAreas: %v", err)
	}
	return rep
}

func TestLiechtenstein(t *testing.T) {
	db, _ := dbtest.New(t, "data_li")
	ctx := context.Background()
	dbtest.ImportLiechtenstein(t, db)

	t.Run("levels and parents from point-on-surface", func(t *testing.T) {
		as := data.NewAreaService(db)
		for level, want := range map[string]int{"li_country": 1, "li_wahlkreis": 2, "li_gemeinde": 11} {
			got, err := as.FindAreas(ctx, geo.AreaFilter{Level: level})
			if err != nil || len(got) != want {
				t.Errorf("%s: got %d areas (err %v), want %d", level, len(got), err, want)
			}
		}
		// The file names each Gemeinde's Wahlkreis in parent_level6: the parent
		// found by point-on-surface must be that one.
		f, _ := os.Open(testData("liechtenstein-admin.geojson"))
		defer f.Close()
		feats, _ := ingest.ReadAreaFeatures(f, 1<<30)
		checked := 0
		for _, ft := range feats {
			if ingest.PropString(ft.Props, "admin_level") != "8" {
				continue
			}
			g, err := as.Area(ctx, ingest.PropString(ft.Props, "ISO3166-2"))
			if err != nil {
				t.Fatal(err)
			}
			p, err := as.Area(ctx, fmt.Sprint(g.ParentID))
			if err != nil {
				t.Fatal(err)
			}
			if want := ingest.PropString(ft.Props, "parent_level6"); p.Name != want {
				t.Errorf("%s: parent %q, want %q", g.Name, p.Name, want)
			}
			checked++
		}
		if checked != 11 {
			t.Errorf("checked %d Gemeinden, want 11", checked)
		}
	})

	bs, rr, err := ingest.ReadBuildings(testData("liechtenstein.osm.pbf"), ingest.BuildingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := data.NewImporter(db).ImportBuildings(ctx, bs, geo.ImportOptions{Author: "test"})
	if err != nil {
		t.Fatal(err)
	}
	t.Run("PBF buildings import whole", func(t *testing.T) {
		if rep.Imported != len(bs) || len(rep.Rejected) != 0 {
			t.Errorf("imported %d of %d read, rejected %d (%v); want all", rep.Imported, len(bs), len(rep.Rejected), first(rep.Rejected))
		}
		if rr.Accepted < 14000 {
			t.Errorf("read %d buildings, want at least the ~14,000 building polygons of the extract", rr.Accepted)
		}
		var n int
		db.Pool.QueryRow(ctx, `SELECT count(*) FROM building`).Scan(&n)
		if n != len(bs) {
			t.Errorf("building rows %d, want %d", n, len(bs))
		}
	})

	t.Run("every address point's Gemeinde matches ST_Covers", func(t *testing.T) {
		// Independent answer: every Gemeinde whose current geometry covers the point.
		rows, err := db.Pool.Query(ctx, `
			SELECT b.code, ST_X(b.geom), ST_Y(b.geom), coalesce(array_agg(a.code ORDER BY a.code) FILTER (WHERE a.code IS NOT NULL), '{}')
			FROM building b
			LEFT JOIN area_version v ON v.valid_to IS NULL AND ST_Covers(v.geom, b.geom)
			LEFT JOIN area a ON a.id = v.area_id AND a.level = 'li_gemeinde'
			WHERE b.address <> ''
			GROUP BY b.code, b.geom ORDER BY b.code`)
		if err != nil {
			t.Fatal(err)
		}
		type want struct {
			code string
			pt   orb.Point
			gems []string
		}
		var ws []want
		for rows.Next() {
			var w want
			if err := rows.Scan(&w.code, &w.pt[0], &w.pt[1], &w.gems); err != nil {
				t.Fatal(err)
			}
			ws = append(ws, w)
		}
		if len(ws) < 1000 {
			t.Fatalf("only %d buildings with addresses; the extract has ~7,100 address features", len(ws))
		}
		pts := make([]orb.Point, len(ws))
		for i, w := range ws {
			pts[i] = w.pt
		}
		ls := data.NewLookupService(db)
		var results []geo.LookupResult
		for i := 0; i < len(pts); i += data.MaxBatch {
			rs, err := ls.LookupPoints(ctx, pts[i:min(i+data.MaxBatch, len(pts))], nil, "li")
			if err != nil {
				t.Fatal(err)
			}
			results = append(results, rs...)
		}
		inside := 0
		for i, w := range ws {
			r := results[i]
			var got string
			for _, a := range r.Areas {
				if a.Level == "li_gemeinde" {
					got = a.Code
				}
			}
			switch len(w.gems) {
			case 0:
				if got != "" {
					t.Errorf("%s: lookup says %s, ST_Covers says no Gemeinde", w.code, got)
				}
			case 1:
				inside++
				if got != w.gems[0] {
					t.Errorf("%s at %v: lookup says %q, ST_Covers says %s", w.code, w.pt, got, w.gems[0])
				}
				if r.Ambiguous {
					t.Errorf("%s: ambiguous, but only %s covers it", w.code, w.gems[0])
				}
			default:
				if got != w.gems[0] || !r.Ambiguous {
					t.Errorf("%s on a border of %v: got %q ambiguous=%v, want %s ambiguous", w.code, w.gems, got, r.Ambiguous, w.gems[0])
				}
			}
			if len(r.Areas) > 0 && (r.Areas[0].Level != "li_country" || r.Areas[len(r.Areas)-1].ID != r.Grid.ID) {
				t.Errorf("%s: chain %v must run from the country down to the grid %v", w.code, r.Areas, r.Grid)
			}
		}
		if inside < len(ws)*9/10 {
			t.Errorf("only %d of %d address points inside a Gemeinde", inside, len(ws))
		}
		t.Logf("%d address points checked, %d inside a Gemeinde", len(ws), inside)
	})
}

func first(ps []geo.Problem) string {
	if len(ps) == 0 {
		return ""
	}
	return ps[0].Ref + ": " + ps[0].Reason
}

func TestShanghaiAddresses(t *testing.T) {
	db, _ := dbtest.New(t, "data_sh")
	ctx := context.Background()
	bs, _, err := ingest.ReadBuildings(testData("shanghai-bund-buildings.geojson"), ingest.BuildingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := data.NewImporter(db).ImportBuildings(ctx, bs, geo.ImportOptions{Author: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 1517 {
		t.Fatalf("imported %d buildings, want 1517 (rejected: %v)", rep.Imported, first(rep.Rejected))
	}
	var withAddr int
	db.Pool.QueryRow(ctx, `SELECT count(*) FROM building WHERE address <> ''`).Scan(&withAddr)
	if withAddr != 158 {
		t.Errorf("buildings with an address: got %d, want 158", withAddr)
	}
	var code, addr string
	if err := db.Pool.QueryRow(ctx, `SELECT code, address FROM building WHERE address = '银城中路68号'`).Scan(&code, &addr); err != nil {
		t.Fatalf("银城中路68号 not imported: %v", err)
	}
	ls := data.NewLookupService(db)
	for _, tc := range []struct{ name, query string }{
		{"as stored", "银城中路68号"},
		{"full-width digits", "银城中路６８号"},
		{"traditional 號", "银城中路68號"},
		{"with city and district", "上海市浦东新区银城中路68号"},
		{"city without 市, spaces", "上海 浦东新区 银城中路 68 号"},
		{"hash sign", "银城中路68#"},
		{"Chinese numerals", "银城中路六十八号"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := ls.LookupAddress(ctx, tc.query, 5, "")
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Candidates) == 0 || res.Candidates[0].Building.Code != code {
				t.Fatalf("query %q: got %+v, want first candidate %s (%s)", tc.query, res.Candidates, code, addr)
			}
			if res.Candidates[0].Score != 1 {
				t.Errorf("query %q: score %v, want 1 for an exact match", tc.query, res.Candidates[0].Score)
			}
		})
	}
	t.Run("fuzzy match ranks the right building first", func(t *testing.T) {
		res, err := ls.LookupAddress(ctx, "银城中路", 5, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Candidates) == 0 {
			t.Fatal("no candidates for a street name")
		}
		for _, c := range res.Candidates {
			if c.Score >= 1 || c.Score <= 0 {
				t.Errorf("candidate %s: score %v, want in (0,1) for a partial match", c.Building.Address, c.Score)
			}
		}
	})
	t.Run("unknown address has no candidates", func(t *testing.T) {
		res, err := ls.LookupAddress(ctx, "不存在路9999号", 5, "")
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Candidates) != 0 || res.Grid != nil {
			t.Errorf("got %+v, want no candidates", res)
		}
	})
}

func TestBorderRule(t *testing.T) {
	db, _ := dbtest.New(t, "data_border")
	ctx := context.Background()
	im := data.NewImporter(db)
	// The parents in one import, children first: the importer orders them by level.
	mustImportAreas(t, im, []geo.AreaInput{
		{Ref: "c", Level: "community", Code: "330199001001", Name: "幸福社区", Geometry: square(120, 30, 0.02)},
		{Ref: "s", Level: "subdistrict", Code: "330199001", Name: "幸福街道", Geometry: square(120, 30, 0.02)},
		{Ref: "d", Level: "district", Code: "330199", Name: "示范区", Geometry: square(120, 30, 0.02)},
	})
	// A 2×2 block of grids without codes: gridmap numbers them west→east, then north→south.
	rep := mustImportAreas(t, im, []geo.AreaInput{
		{Ref: "SE", Level: "grid", Name: "SE", Geometry: square(120.01, 30, 0.01)},
		{Ref: "NW", Level: "grid", Name: "NW", Geometry: square(120, 30.01, 0.01)},
		{Ref: "SW", Level: "grid", Name: "SW", Geometry: square(120, 30, 0.01)},
		{Ref: "NE", Level: "grid", Name: "NE", Geometry: square(120.01, 30.01, 0.01)},
	})
	if rep.Imported != 4 {
		t.Fatalf("imported %d grids (%v), want 4", rep.Imported, rep.Rejected)
	}
	as := data.NewAreaService(db)
	for name, want := range map[string]string{"NW": "330199001001001", "NE": "330199001001002", "SW": "330199001001003", "SE": "330199001001004"} {
		grids, _ := as.FindAreas(ctx, geo.AreaFilter{Level: "grid"})
		found := false
		for _, g := range grids {
			if g.Name == name {
				found = true
				if g.Code != want {
					t.Errorf("grid %s: code %s, want %s (west→east, then north→south)", name, g.Code, want)
				}
			}
		}
		if !found {
			t.Errorf("grid %s missing", name)
		}
	}

	ls := data.NewLookupService(db)
	for _, tc := range []struct {
		name      string
		pt        orb.Point
		grid      string
		ambiguous bool
		alts      int
	}{
		{"interior point", orb.Point{120.005, 30.015}, "330199001001001", false, 0},
		{"shared edge west|east takes the smaller code", orb.Point{120.01, 30.015}, "330199001001001", true, 1},
		{"shared edge north|south", orb.Point{120.015, 30.01}, "330199001001002", true, 1},
		{"vertex shared by four", orb.Point{120.01, 30.01}, "330199001001001", true, 3},
		{"outer boundary of one grid only", orb.Point{120.0, 30.005}, "330199001001003", false, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := ls.LookupPoint(ctx, geo.LookupQuery{Point: tc.pt})
			if err != nil {
				t.Fatal(err)
			}
			if r.Grid == nil || r.Grid.Code != tc.grid || r.Ambiguous != tc.ambiguous || len(r.Alternatives) != tc.alts {
				t.Fatalf("got grid %v ambiguous %v alternatives %v; want %s %v %d", r.Grid, r.Ambiguous, r.Alternatives, tc.grid, tc.ambiguous, tc.alts)
			}
			if len(r.Areas) != 4 || r.Areas[0].Level != "district" || r.Areas[3].Code != tc.grid {
				t.Errorf("chain %v, want district → subdistrict → community → %s", r.Areas, tc.grid)
			}
		})
	}
	t.Run("outside every area", func(t *testing.T) {
		r, err := ls.LookupPoint(ctx, geo.LookupQuery{Point: orb.Point{121, 31}})
		if err != nil {
			t.Fatal(err)
		}
		if r.Grid != nil || len(r.Areas) != 0 || r.Areas == nil {
			t.Errorf("got %+v, want empty areas and no grid", r)
		}
	})

	t.Run("retired codes are never reused", func(t *testing.T) {
		if _, err := db.Pool.Exec(ctx, `UPDATE area SET retired_at = now() WHERE code = '330199001001004'`); err != nil {
			t.Fatal(err)
		}
		if _, err := db.Pool.Exec(ctx, `UPDATE area_version SET valid_to = now() WHERE area_id = (SELECT id FROM area WHERE code = '330199001001004')`); err != nil {
			t.Fatal(err)
		}
		rep := mustImportAreas(t, im, []geo.AreaInput{{Ref: "new", Level: "grid", Name: "new SE", Geometry: square(120.01, 30, 0.01)}})
		var code string
		db.Pool.QueryRow(ctx, `SELECT code FROM area WHERE name = 'new SE'`).Scan(&code)
		if rep.Imported != 1 || code != "330199001001005" {
			t.Errorf("new grid got code %q (report %+v), want 330199001001005", code, rep)
		}
	})

	t.Run("as of a date before the data", func(t *testing.T) {
		past := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
		r, err := ls.LookupPoint(ctx, geo.LookupQuery{Point: orb.Point{120.005, 30.015}, At: &past})
		if err != nil {
			t.Fatal(err)
		}
		if r.Grid != nil {
			t.Errorf("as of 2020 got grid %v, want none (the data was created today)", r.Grid)
		}
		now := time.Now()
		r, err = ls.LookupPoint(ctx, geo.LookupQuery{Point: orb.Point{120.015, 30.005}, At: &now})
		if err != nil {
			t.Fatal(err)
		}
		if r.Grid == nil || r.Grid.Code != "330199001001005" {
			t.Errorf("as of now got %v, want the new grid 330199001001005 (the retired one's version is closed)", r.Grid)
		}
	})
}

func TestImportRepairsAndRejects(t *testing.T) {
	db, _ := dbtest.New(t, "data_repair")
	ctx := context.Background()
	im := data.NewImporter(db)
	bowtie := orb.MultiPolygon{{{{0, 0}, {1, 1}, {1, 0}, {0, 1}, {0, 0}}}}
	unclosed := orb.MultiPolygon{{{{0, 0}, {1, 0}, {1, 1}, {0, 1}}}}
	line := orb.MultiPolygon{{{{0, 0}, {1, 0}, {2, 0}, {0, 0}}}}
	in := []geo.AreaInput{
		{Ref: "feature 0 (bowtie)", Level: "district", Code: "D1", Name: "bowtie", Geometry: bowtie},
		{Ref: "feature 1 (unclosed)", Level: "district", Code: "D2", Name: "unclosed", Geometry: unclosed},
		{Ref: "feature 2 (flat)", Level: "district", Code: "D3", Name: "flat", Geometry: line},
		{Ref: "feature 3 (dup)", Level: "district", Code: "D1", Name: "duplicate code", Geometry: square(5, 5, 1)},
		{Ref: "feature 4 (ingest problem)", Level: "district", Code: "D4", Problem: "geometry is a LineString, want Polygon or MultiPolygon"},
		{Ref: "feature 5 (orphan)", Level: "subdistrict", Code: "S1", Name: "no parent", Geometry: square(50, 50, 1)},
	}
	t.Run("strict rolls everything back", func(t *testing.T) {
		_, err := im.ImportAreas(ctx, in, geo.ImportOptions{Author: "test", Strict: true})
		if geo.ErrorCode(err) != geo.EInvalid {
			t.Fatalf("got %v, want an invalid_argument error", err)
		}
		var n int
		db.Pool.QueryRow(ctx, `SELECT count(*) FROM area`).Scan(&n)
		if n != 0 {
			t.Errorf("%d areas written by a failed strict import, want 0", n)
		}
	})
	rep, err := im.ImportAreas(ctx, in, geo.ImportOptions{Author: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 1 {
		t.Errorf("imported %d, want 1 (the repaired bowtie)", rep.Imported)
	}
	if len(rep.Repaired) != 1 || rep.Repaired[0].Ref != "feature 0 (bowtie)" {
		t.Errorf("repaired %v, want the bowtie", rep.Repaired)
	}
	wantRejected := map[string]bool{"feature 1 (unclosed)": true, "feature 2 (flat)": true, "feature 3 (dup)": true, "feature 4 (ingest problem)": true, "feature 5 (orphan)": true}
	for _, p := range rep.Rejected {
		if !wantRejected[p.Ref] {
			t.Errorf("unexpected rejection %s: %s", p.Ref, p.Reason)
		}
		if p.Reason == "" {
			t.Errorf("rejection of %s has no reason", p.Ref)
		}
		delete(wantRejected, p.Ref)
	}
	if len(wantRejected) != 0 {
		t.Errorf("not rejected: %v (report %+v)", wantRejected, rep.Rejected)
	}
	var valid bool
	var n int
	db.Pool.QueryRow(ctx, `SELECT bool_and(ST_IsValid(geom)), count(*) FROM area_version`).Scan(&valid, &n)
	if !valid || n != 1 {
		t.Errorf("versions: %d, all valid %v; want 1 valid", n, valid)
	}
	var ops int
	db.Pool.QueryRow(ctx, `SELECT count(*) FROM change WHERE operation = 'import.areas' AND author = 'test'`).Scan(&ops)
	if ops != 1 {
		t.Errorf("change records for the committed import: %d, want 1 (the strict one rolled back its own)", ops)
	}
}
