package data_test

import (
	"context"
	"testing"

	"github.com/paulmach/orb"

	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/geo"
)

// TestImportDoesNotReuseRenamedCode pins imports checking only area for a
// free code: after a grid was recoded, an import under its community handed
// the grid's old code out again. Imports and edits now share one allocator
// (area_code, every code ever used).
func TestImportDoesNotReuseRenamedCode(t *testing.T) {
	db, _ := dbtest.New(t, "data_codes")
	ctx := context.Background()
	loadDemo(t, db)
	var id, community int64
	var code, parentCode string
	var sq orb.Bound
	if err := db.Pool.QueryRow(ctx, `
		SELECT a.id, a.code, p.id, p.code, ST_XMin(v.geom), ST_YMin(v.geom) FROM area a JOIN area p ON p.id = a.parent_id
		JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL
		WHERE a.level = 'grid' ORDER BY a.code DESC LIMIT 1`).Scan(&id, &code, &community, &parentCode, &sq.Min[0], &sq.Min[1]); err != nil {
		t.Fatal(err)
	}
	ed := data.NewEditor(db)
	if _, err := ed.Rename(ctx, geo.RenameRequest{AreaID: id, Code: "R-" + code, Author: "test", Reason: "recode"}); err != nil {
		t.Fatal(err)
	}
	t.Run("allocated code", func(t *testing.T) {
		rep := mustImportAreas(t, data.NewImporter(db), []geo.AreaInput{{Ref: "new", Level: "grid", ParentCode: parentCode, Geometry: square(sq.Min[0]+0.0001, sq.Min[1]+0.0001, 0.0001)}})
		if rep.Imported != 1 {
			t.Fatalf("import: %+v", rep)
		}
		var got string
		if err := db.Pool.QueryRow(ctx, `SELECT code FROM area WHERE parent_id = $1 AND created_change = $2`, community, rep.ChangeID).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got <= code {
			t.Errorf("import allocated %s, want a code after the recoded grid's old code %s", got, code)
		}
	})
	t.Run("explicit old code", func(t *testing.T) {
		rep := mustImportAreas(t, data.NewImporter(db), []geo.AreaInput{{Ref: "old", Level: "grid", Code: code, ParentCode: parentCode, Geometry: square(sq.Min[0]+0.0001, sq.Min[1]+0.0001, 0.0001)}})
		if rep.Imported != 0 || len(rep.Rejected) != 1 {
			t.Errorf("importing retired code %s: imported %d, rejected %+v; want it rejected", code, rep.Imported, rep.Rejected)
		}
	})
}

// TestBorderRuleIgnoresCollation pins grid_of breaking ties by ORDER BY code
// under the database's collation while geo.DecideBorder compares bytes: on a
// database with an ICU en-US collation, "a1" sorts before "B1" (bytes: after),
// and a point on their shared border went to "a1" in SQL, "B1" in Go.
func TestBorderRuleIgnoresCollation(t *testing.T) {
	db, _ := dbtest.NewWithICU(t, "data_collation", "en-US")
	ctx := context.Background()
	var before bool
	if err := db.Pool.QueryRow(ctx, `SELECT 'a1'::text < 'B1'::text`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	if !before {
		t.Fatal("the test database sorts 'a1' after 'B1': it is not the collation the test needs")
	}
	rep := mustImportAreas(t, data.NewImporter(db), []geo.AreaInput{
		{Ref: "a", Level: "district", Code: "a1", Geometry: square(120, 30, 0.01)},
		{Ref: "b", Level: "district", Code: "B1", Geometry: square(120.01, 30, 0.01)},
	})
	if rep.Imported != 2 {
		t.Fatalf("import: %+v", rep)
	}
	rows, err := db.Pool.Query(ctx, `SELECT a.id, a.code FROM area a`)
	if err != nil {
		t.Fatal(err)
	}
	var hits []geo.BorderHit
	var h geo.BorderHit
	for rows.Next() {
		if err := rows.Scan(&h.Area.ID, &h.Area.Code); err != nil {
			t.Fatal(err)
		}
		hits = append(hits, h) // both cover the border point, on their boundary, at depth 0
	}
	want := geo.DecideBorder(hits).Grid.Code
	var got string
	if err := db.Pool.QueryRow(ctx, `SELECT code FROM area WHERE id = grid_of(ST_SetSRID(ST_MakePoint(120.01, 30.005), 4326), 'admin')`).Scan(&got); err != nil {
		t.Fatal(err)
	}
	if got != want {
		t.Errorf("grid_of chose %s, geo.DecideBorder %s; want the same", got, want)
	}
}
