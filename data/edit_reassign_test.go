package data_test

import (
	"context"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/demo"
	"gridmap/geo"
)

// astray counts the buildings whose stored grid is not grid_of computed
// from scratch (the border rule, migration 016).
func astray(t *testing.T, db *data.DB) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM building b WHERE b.grid_id IS DISTINCT FROM grid_of(b.geom, $1)`, geo.DefaultHierarchy).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestEditReassignmentMatchesGridOf: the edit pipeline recomputes the grid
// only of the buildings in the region where a geometry changed (not in the
// bounds of every area it touched: a repartition inserts vertices into the
// community's outline and its ancestors', whose bounds hold the whole demo),
// and the result is still exactly grid_of from scratch for every building:
// after a border move, a repartition, and their reverts.
func TestEditReassignmentMatchesGridOf(t *testing.T) {
	ctx := context.Background()
	db, _ := dbtest.New(t, "edit_reassign")
	dbtest.LoadDemo(t, db, demo.Options{Grids: 24})
	if err := dbtest.AddRoads(ctx, db, true); err != nil {
		t.Fatal(err)
	}
	if n := astray(t, db); n != 0 {
		t.Fatalf("the demo starts with %d buildings off grid_of", n)
	}
	var code string
	var inside, total int
	if err := db.Pool.QueryRow(ctx, `
SELECT a.code, (SELECT count(*) FROM building b WHERE ST_DWithin(b.geom, v.geom, 1e-5))::int, (SELECT count(*) FROM building)::int
FROM area a JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL WHERE a.level = 'community' ORDER BY a.code LIMIT 1`).Scan(&code, &inside, &total); err != nil {
		t.Fatal(err)
	}
	ed := data.NewEditor(db)
	// A border move between two grids of the community, and its revert.
	var a, b geo.VersionRef
	var line string
	if err := db.Pool.QueryRow(ctx, `
WITH g AS (SELECT x.id, v.id AS version, v.geom FROM area x JOIN area_version v ON v.area_id = x.id AND v.valid_to IS NULL
           JOIN area p ON p.id = x.parent_id AND p.code = $1 WHERE x.retired_at IS NULL),
     pair AS (SELECT g1.id AS a, g1.version AS av, g2.id AS b, g2.version AS bv,
                     ST_GeometryN(ST_LineMerge(ST_CollectionExtract(ST_Intersection(ST_Boundary(g1.geom), ST_Boundary(g2.geom)), 2)), 1) AS l
              FROM g g1 JOIN g g2 ON g1.id < g2.id AND g1.geom && g2.geom)
SELECT a, av, b, bv, ST_AsGeoJSON(ST_MakeLine(ARRAY[ST_StartPoint(l), ST_Translate(ST_LineInterpolatePoint(l, 0.5), 3e-5, 3e-5), ST_EndPoint(l)])) FROM pair WHERE l IS NOT NULL AND ST_Length(l::geography) > 50
ORDER BY a, b LIMIT 1`, code).Scan(&a.ID, &a.Version, &b.ID, &b.Version, &line); err != nil {
		t.Fatal(err)
	}
	mv, err := ed.Preview(ctx, geo.EditRequest{Op: geo.OpMoveBorder, Areas: []geo.VersionRef{a, b}, Line: parseLine(t, line), Reason: "move"})
	if err == nil && mv.Valid {
		if c := mv.BuildingsChecked; c > inside {
			t.Errorf("a border move inside %s checked %d buildings (%d within 1 m of the community)", code, c, inside)
		}
		mres, err := ed.Apply(ctx, geo.EditRequest{Op: geo.OpMoveBorder, Areas: []geo.VersionRef{a, b}, Line: parseLine(t, line), Reason: "move"})
		if err != nil {
			t.Fatalf("move_border: %v", err)
		}
		if n := astray(t, db); n != 0 {
			t.Fatalf("after the border move %d buildings are off grid_of", n)
		}
		if _, err := ed.Apply(ctx, geo.EditRequest{Op: geo.OpRevert, Change: mres.ChangeID, Reason: "undo the move"}); err != nil {
			t.Fatalf("revert the move: %v", err)
		}
		if n := astray(t, db); n != 0 {
			t.Fatalf("after reverting the border move %d buildings are off grid_of", n)
		}
	} else {
		t.Logf("the border move was not valid (%v); only the repartition and its revert are checked", err)
	}
	ps := data.NewPartitioner(ed)
	r := geo.PartitionRequest{AreaCode: code, Min: 300, Max: 500, Seed: 1}
	p, err := ps.Propose(ctx, r)
	if err != nil {
		t.Fatalf("Propose: %v", err)
	}
	if p.Preview == nil || !p.Preview.Valid {
		t.Fatalf("the preview does not validate: %+v", p.Preview)
	}
	if c := p.Preview.BuildingsChecked; c == 0 || c > inside {
		t.Fatalf("the repartition of %s checked %d buildings; %d are within 1 m of it (%d in all)", code, c, inside, total)
	}
	_, res, err := ps.Apply(ctx, r, "划网格")
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if n := astray(t, db); n != 0 {
		t.Fatalf("after the repartition %d buildings are off grid_of", n)
	}

	if _, err := ed.Apply(ctx, geo.EditRequest{Op: geo.OpRevert, Change: res.ChangeID, Reason: "undo"}); err != nil {
		t.Fatalf("revert: %v", err)
	}
	if n := astray(t, db); n != 0 {
		t.Fatalf("after reverting the repartition %d buildings are off grid_of", n)
	}
}

func parseLine(t *testing.T, s string) orb.LineString {
	t.Helper()
	g, err := geojson.UnmarshalGeometry([]byte(s))
	if err != nil {
		t.Fatal(err)
	}
	l, ok := g.Geometry().(orb.LineString)
	if !ok {
		t.Fatalf("%s is not a line", s)
	}
	return l
}
