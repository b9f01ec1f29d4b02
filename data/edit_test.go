package data_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/demo"
	"gridmap/geo"
)

func loadDemo(t *testing.T, db *data.DB) *demo.Dataset {
	t.Helper()
	return dbtest.LoadDemo(t, db, demo.Options{})
}

// neighbours returns two grids of one community sharing a border, their
// current versions, and a new border line: the old one's end points with its
// middle pushed 40 m towards the second grid.
type pair struct {
	a, b   geo.VersionRef
	aCode  string
	bCode  string
	line   orb.LineString
	parent int64
}

const qNeighbours = `
WITH g AS (
    SELECT a.id, a.code, a.parent_id, v.id AS version, v.geom FROM area a
    JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL
    WHERE a.level = 'grid' AND a.retired_at IS NULL)
SELECT x.id, x.version, x.code, y.id, y.version, y.code, x.parent_id,
       ST_AsBinary(ST_LineMerge(ST_CollectionExtract(ST_Intersection(ST_Boundary(x.geom), ST_Boundary(y.geom)), 2))),
       ST_X(ST_Centroid(y.geom)), ST_Y(ST_Centroid(y.geom))
FROM g x JOIN g y ON x.parent_id = y.parent_id AND x.id < y.id AND x.geom && y.geom
WHERE ST_GeometryType(ST_LineMerge(ST_CollectionExtract(ST_Intersection(ST_Boundary(x.geom), ST_Boundary(y.geom)), 2))) = 'ST_LineString'
  AND ST_Length(ST_Intersection(ST_Boundary(x.geom), ST_Boundary(y.geom))::geography) > 100
ORDER BY x.code, y.code`

func neighbours(t *testing.T, db *data.DB) []pair {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), qNeighbours)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []pair
	for rows.Next() {
		var p pair
		var raw []byte
		var c orb.Point
		if err := rows.Scan(&p.a.ID, &p.a.Version, &p.aCode, &p.b.ID, &p.b.Version, &p.bCode, &p.parent, &raw, &c[0], &c[1]); err != nil {
			t.Fatal(err)
		}
		g, err := wkb.Unmarshal(raw)
		if err != nil {
			t.Fatal(err)
		}
		old := g.(orb.LineString)
		start, end := old[0], old[len(old)-1]
		mid := orb.Point{(start[0] + end[0]) / 2, (start[1] + end[1]) / 2}
		// 15 m towards b's centroid (1° ≈ 111 km).
		d := orb.Point{c[0] - mid[0], c[1] - mid[1]}
		n := orb.Point{d[0] / (abs(d[0]) + abs(d[1])), d[1] / (abs(d[0]) + abs(d[1]))}
		mid = orb.Point{mid[0] + n[0]*40/111000, mid[1] + n[1]*40/111000}
		p.line = orb.LineString{start, mid, end}
		out = append(out, p)
	}
	if len(out) == 0 {
		t.Fatal("the demo has no neighbouring grids")
	}
	return out
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
}

// checkTiling asserts that a community's grids overlap nowhere and leave no gap.
func checkTiling(t *testing.T, db *data.DB, parent int64) {
	t.Helper()
	var overlap, gap float64
	err := db.Pool.QueryRow(context.Background(), `
		WITH c AS (SELECT a.id, v.geom FROM area a JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL
		           WHERE a.parent_id = $1 AND a.retired_at IS NULL),
		     p AS (SELECT v.geom FROM area_version v WHERE v.area_id = $1 AND v.valid_to IS NULL)
		SELECT coalesce((SELECT sum(ST_Area(ST_Intersection(x.geom, y.geom)::geography)) FROM c x, c y WHERE x.geom && y.geom AND ST_Relate(x.geom, y.geom, '2********') AND x.id < y.id), 0),
		       ST_Area(ST_Difference((SELECT geom FROM p), (SELECT ST_Union(geom) FROM c))::geography)`, parent).Scan(&overlap, &gap)
	if err != nil {
		t.Fatal(err)
	}
	if overlap > 0.01 || gap > 0.01 {
		t.Errorf("community %d: siblings overlap by %.3f m², gaps cover %.3f m²; want 0 and 0", parent, overlap, gap)
	}
}

func TestEditOperations(t *testing.T) {
	db, _ := dbtest.New(t, "data_edit")
	ctx := context.Background()
	loadDemo(t, db)
	ed := data.NewEditor(db)
	ps := neighbours(t, db)
	p := ps[0]

	t.Run("reshape into a neighbour is refused with the overlap located and sized", func(t *testing.T) {
		var raw []byte
		if err := db.Pool.QueryRow(ctx, `SELECT ST_AsBinary(ST_Union(a.geom, ST_Buffer(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom)), 0.0003)))
			FROM area_version a, area_version b WHERE a.id = $1 AND b.id = $2`, p.a.Version, p.b.Version).Scan(&raw); err != nil {
			t.Fatal(err)
		}
		g, _ := wkb.Unmarshal(raw)
		mp := toMulti(g)
		req := geo.EditRequest{Op: geo.OpReshape, Areas: []geo.VersionRef{p.a}, Geometry: mp, Author: "test", Reason: "grow"}
		pv, err := ed.Preview(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if pv.Valid || !hasIssue(pv.Errors, "overlap", p.bCode) {
			t.Fatalf("preview %+v, want an overlap error naming %s", pv.Errors, p.bCode)
		}
		for _, is := range pv.Errors {
			if is.Kind == "overlap" && (is.AreaM2 <= 0 || len(is.Geometry) == 0) {
				t.Errorf("overlap without size or geometry: %+v", is)
			}
			// Each names the neighbour it runs into, not the grid being edited.
			if is.Kind == "overlap" && (len(is.With) != 1 || is.With[0] == p.aCode || is.Areas[0] != p.aCode ||
				is.Message != fmt.Sprintf("%s overlaps %s by %.2f m²", p.aCode, is.With[0], is.AreaM2)) {
				t.Errorf("overlap areas %v with %v, message %q; want one neighbour, not %s itself", is.Areas, is.With, is.Message, p.aCode)
			}
		}
		withB := false
		for _, is := range pv.Errors {
			withB = withB || is.Kind == "overlap" && len(is.With) == 1 && is.With[0] == p.bCode
		}
		if !withB {
			t.Errorf("no overlap with %s: %+v", p.bCode, pv.Errors)
		}
		_, err = ed.Apply(ctx, req)
		var ge *geo.Error
		if !errors.As(err, &ge) || ge.Code != geo.EValidation || ge.Details == nil {
			t.Fatalf("apply: got %v, want a validation error with details", err)
		}
		assertVersion(t, db, p.a.ID, p.a.Version)
	})

	t.Run("move a shared border: both neighbours change in one commit and the community stays tiled", func(t *testing.T) {
		// The first pair whose new border moves buildings, so the impact is tested.
		var req geo.EditRequest
		var pv *geo.EditPreview
		for _, q := range ps {
			req = geo.EditRequest{Op: geo.OpMoveBorder, Areas: []geo.VersionRef{q.a, q.b}, Line: q.line, Author: "test", Reason: "road moved"}
			var err error
			if pv, err = ed.Preview(ctx, req); err == nil && pv.Valid && len(pv.Moves) > 0 {
				p = q
				break
			}
			pv = nil
		}
		if pv == nil {
			t.Fatal("no neighbouring pair whose border move validates and moves a building")
		}
		gridsBefore := buildingGrids(t, db)
		assertVersion(t, db, p.a.ID, p.a.Version) // preview writes nothing
		res, err := ed.Apply(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Versions) != 2 {
			t.Fatalf("versions %+v, want 2", res.Versions)
		}
		var changes int
		db.Pool.QueryRow(ctx, `SELECT count(*) FROM change_area WHERE change_id = $1`, res.ChangeID).Scan(&changes)
		if changes != 2 {
			t.Errorf("change touched %d areas, want 2", changes)
		}
		checkTiling(t, db, p.parent)
		// The moves the preview reported are exactly the buildings whose grid changed.
		moved := map[[2]int64]int{}
		for id, g := range buildingGrids(t, db) {
			if g != gridsBefore[id] {
				moved[[2]int64{gridsBefore[id], g}]++
			}
		}
		reported := map[[2]int64]int{}
		for _, m := range pv.Moves {
			if m.From == nil || m.To == nil || m.Buildings <= 0 {
				t.Fatalf("move %+v lacks from/to/buildings", m)
			}
			reported[[2]int64{m.From.ID, m.To.ID}] += m.Buildings
		}
		if fmt.Sprint(moved) != fmt.Sprint(reported) {
			t.Errorf("preview reported moves %v, the commit moved %v", reported, moved)
		}
		t.Logf("the border move moved %v buildings", moved)
		// Revert puts both geometries back exactly.
		rv, err := ed.Apply(ctx, geo.EditRequest{Op: geo.OpRevert, Change: res.ChangeID, Author: "test", Reason: "undo"})
		if err != nil {
			t.Fatal(err)
		}
		for _, v := range rv.Versions {
			var same bool
			orig := p.a.Version
			if v.ID == p.b.ID {
				orig = p.b.Version
			}
			db.Pool.QueryRow(ctx, `SELECT ST_Equals(x.geom, y.geom) FROM area_version x, area_version y WHERE x.id = $1 AND y.id = $2`, v.Version, orig).Scan(&same)
			if !same {
				t.Errorf("area %d after revert differs from its original geometry", v.ID)
			}
		}
		checkTiling(t, db, p.parent)
	})

	t.Run("a stale version is a conflict naming the current version", func(t *testing.T) {
		_, err := ed.Apply(ctx, geo.EditRequest{Op: geo.OpMoveBorder, Areas: []geo.VersionRef{p.a, p.b}, Line: p.line, Author: "test", Reason: "stale"})
		var ge *geo.Error
		if !errors.As(err, &ge) || ge.Code != geo.EConflict || ge.Details == nil {
			t.Fatalf("got %v, want a conflict with the current versions", err)
		}
	})

	t.Run("split gives the new part the next code; merge retires the other with lineage", func(t *testing.T) {
		q := ps[len(ps)-1]
		cur := currentVersion(t, db, q.a.ID)
		var b orb.Bound
		db.Pool.QueryRow(ctx, `SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) FROM area_version WHERE id = $1`, cur).Scan(&b.Min[0], &b.Min[1], &b.Max[0], &b.Max[1])
		y := (b.Min[1] + b.Max[1]) / 2
		line := orb.LineString{{b.Min[0] - 0.001, y}, {b.Max[0] + 0.001, y}}
		res, err := ed.Apply(ctx, geo.EditRequest{Op: geo.OpSplit, Areas: []geo.VersionRef{{ID: q.a.ID, Version: cur}}, Line: line, Author: "test", Reason: "too big"})
		if err != nil {
			t.Fatal(err)
		}
		var newCode string
		for _, c := range res.Codes {
			if c.Kind == "new" {
				newCode = c.Code
			}
		}
		var maxSeq string
		db.Pool.QueryRow(ctx, `SELECT max(code) FROM area WHERE parent_id = $1 AND code <> $2`, q.parent, newCode).Scan(&maxSeq)
		if newCode == "" || newCode <= maxSeq || len(newCode) != 15 {
			t.Fatalf("new code %q, want a 15-digit code after every existing one (max %s)", newCode, maxSeq)
		}
		checkTiling(t, db, q.parent)
		var newID int64
		db.Pool.QueryRow(ctx, `SELECT id FROM area WHERE code = $1`, newCode).Scan(&newID)
		var lineage int
		db.Pool.QueryRow(ctx, `SELECT count(*) FROM area_lineage WHERE from_area = $1 AND to_area = $2 AND kind = 'split'`, q.a.ID, newID).Scan(&lineage)
		if lineage != 1 {
			t.Errorf("split lineage rows %d, want 1", lineage)
		}
		// Merge the new part back: it is retired, its code never comes back.
		res, err = ed.Apply(ctx, geo.EditRequest{Op: geo.OpMerge, Areas: []geo.VersionRef{{ID: q.a.ID, Version: currentVersion(t, db, q.a.ID)}, {ID: newID, Version: currentVersion(t, db, newID)}}, Author: "test", Reason: "merge back"})
		if err != nil {
			t.Fatal(err)
		}
		checkTiling(t, db, q.parent)
		if len(res.Codes) != 1 || res.Codes[0].Kind != "retired" || res.Codes[0].Code != newCode {
			t.Errorf("merge codes %+v, want %s retired", res.Codes, newCode)
		}
		var merged int
		db.Pool.QueryRow(ctx, `SELECT count(*) FROM area_lineage WHERE from_area = $1 AND to_area = $2 AND kind = 'merge'`, newID, q.a.ID).Scan(&merged)
		if merged != 1 {
			t.Errorf("merge lineage rows %d, want 1", merged)
		}
		var retired bool
		db.Pool.QueryRow(ctx, `SELECT retired_at IS NOT NULL FROM area WHERE id = $1`, newID).Scan(&retired)
		if !retired {
			t.Error("merged area not retired")
		}
		res, err = ed.Apply(ctx, geo.EditRequest{Op: geo.OpSplit, Areas: []geo.VersionRef{{ID: q.a.ID, Version: currentVersion(t, db, q.a.ID)}}, Line: line, Author: "test", Reason: "split again"})
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range res.Codes {
			if c.Kind == "new" && c.Code <= newCode {
				t.Errorf("second split got code %s, want one after the retired %s", c.Code, newCode)
			}
		}
	})

	t.Run("retiring a grid leaves a gap and is refused", func(t *testing.T) {
		q := ps[1]
		_, err := ed.Apply(ctx, geo.EditRequest{Op: geo.OpRetire, Areas: []geo.VersionRef{{ID: q.a.ID, Version: currentVersion(t, db, q.a.ID)}}, Author: "test", Reason: "x"})
		var ge *geo.Error
		if !errors.As(err, &ge) || ge.Code != geo.EValidation {
			t.Fatalf("got %v, want validation error", err)
		}
		pv := ge.Details.(*geo.EditPreview)
		if !hasIssue(pv.Errors, "gap", "") || !hasIssue(pv.Errors, "unassigned_buildings", "") {
			t.Errorf("errors %+v, want a gap and unassigned buildings", pv.Errors)
		}
		// The gap says where its households go: the retired grid's buildings to no grid.
		var hh int
		if err := db.Pool.QueryRow(ctx, `SELECT coalesce(sum(households), 0)::int FROM building WHERE grid_id = $1`, q.a.ID).Scan(&hh); err != nil {
			t.Fatal(err)
		}
		for _, is := range pv.Errors {
			if is.Kind != "gap" {
				continue
			}
			unassigned := 0
			for _, d := range is.Destinations {
				if d.To == nil {
					unassigned += d.Households
				}
			}
			if hh == 0 || unassigned < hh || !strings.Contains(is.Message, "unassigned") {
				t.Errorf("gap destinations %+v, message %q; want the retired grid's %d households unassigned", is.Destinations, is.Message, hh)
			}
		}
	})

	t.Run("rename and recode keep the old code out of reach", func(t *testing.T) {
		q := ps[2]
		res, err := ed.Rename(ctx, geo.RenameRequest{AreaID: q.a.ID, Name: "新名字网格", Code: "X-" + q.aCode, Author: "test", Reason: "renumber"})
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Codes) != 1 || res.Codes[0].Kind != "recoded" {
			t.Errorf("codes %+v", res.Codes)
		}
		_, err = ed.Rename(ctx, geo.RenameRequest{AreaID: q.b.ID, Code: q.aCode, Author: "test"})
		if geo.ErrorCode(err) != geo.EConflict {
			t.Errorf("taking a retired code: got %v, want conflict", err)
		}
	})

	t.Run("history starts with the load, which cannot be reverted", func(t *testing.T) {
		cs, err := ed.Changes(ctx, ps[3].b.ID, 100)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) == 0 || cs[len(cs)-1].Operation != "load.dataset" {
			t.Fatalf("history %+v, want the demo load as its first change", cs)
		}
		_, err = ed.Apply(ctx, geo.EditRequest{Op: geo.OpRevert, Change: cs[len(cs)-1].ID, Author: "test", Reason: "x"})
		if geo.ErrorCode(err) != geo.EInvalid {
			t.Errorf("reverting the load: got %v, want invalid_argument", err)
		}
	})

	t.Run("stats sum the buildings and rate the grids against the target", func(t *testing.T) {
		st, err := ed.Stats(ctx, p.parent)
		if err != nil {
			t.Fatal(err)
		}
		var hh, res int
		db.Pool.QueryRow(ctx, `WITH RECURSIVE s AS (SELECT id FROM area WHERE id = $1 UNION ALL SELECT a.id FROM area a JOIN s ON a.parent_id = s.id)
			SELECT sum(households), sum(residents) FROM building WHERE grid_id IN (SELECT id FROM s)`, p.parent).Scan(&hh, &res)
		if st.Households != hh || st.Residents != res || st.Target == nil || st.Target.HouseholdsMin != 300 {
			t.Errorf("stats %+v, want households %d residents %d and the 300–500 target", st.Balance, hh, res)
		}
		for _, c := range st.Children {
			if c.Status == "" {
				t.Errorf("child %s has no status", c.Area.Code)
			}
			var chh int
			db.Pool.QueryRow(ctx, `SELECT coalesce(sum(households), 0) FROM building WHERE grid_id = $1`, c.Area.ID).Scan(&chh)
			if c.Households != chh {
				t.Errorf("child %s: households %d, want %d", c.Area.Code, c.Households, chh)
			}
		}
	})
}

// buildingGrids maps every building to its grid.
func buildingGrids(t *testing.T, db *data.DB) map[int64]int64 {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), `SELECT id, coalesce(grid_id, 0) FROM building`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[int64]int64{}
	for rows.Next() {
		var id, g int64
		if err := rows.Scan(&id, &g); err != nil {
			t.Fatal(err)
		}
		out[id] = g
	}
	return out
}

func toMulti(g orb.Geometry) orb.MultiPolygon {
	switch t := g.(type) {
	case orb.Polygon:
		return orb.MultiPolygon{t}
	case orb.MultiPolygon:
		return t
	}
	return nil
}

func hasIssue(is []geo.Issue, kind, code string) bool {
	for _, i := range is {
		if i.Kind != kind {
			continue
		}
		if code == "" {
			return true
		}
		for _, c := range i.Areas {
			if c == code {
				return true
			}
		}
	}
	return false
}

func currentVersion(t *testing.T, db *data.DB, area int64) int64 {
	t.Helper()
	var v int64
	if err := db.Pool.QueryRow(context.Background(), `SELECT id FROM area_version WHERE area_id = $1 AND valid_to IS NULL`, area).Scan(&v); err != nil {
		t.Fatal(err)
	}
	return v
}

func assertVersion(t *testing.T, db *data.DB, area, want int64) {
	t.Helper()
	if got := currentVersion(t, db, area); got != want {
		t.Errorf("area %d at version %d, want %d", area, got, want)
	}
}

// TestOverlapCheckDoesNotNeedTheGeometryIndex: the edit's overlap check
// reaches an area's siblings without the partial GiST index on current
// geometries, even when the planner is pushed towards indexes (sequential
// scans off): an index that misses entries cannot hide an overlap
// (docs/gist-index.md). It fails with the bounding-box join the check had.
func TestOverlapCheckDoesNotNeedTheGeometryIndex(t *testing.T) {
	db, _ := dbtest.New(t, "data_overlap_plan")
	loadDemo(t, db)
	ctx := context.Background()
	tx, err := db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback(ctx)
	var grid int64
	if err := tx.QueryRow(ctx, `SELECT id FROM area WHERE level = 'grid' ORDER BY id LIMIT 1`).Scan(&grid); err != nil {
		t.Fatal(err)
	}
	if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off`); err != nil {
		t.Fatal(err)
	}
	rows, err := tx.Query(ctx, "EXPLAIN "+data.QOverlaps, []int64{grid}, 0.5, 1.0)
	if err != nil {
		t.Fatal(err)
	}
	lines, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		t.Fatal(err)
	}
	plan := strings.Join(lines, "\n")
	if strings.Contains(plan, "area_version_current_geom_idx") || strings.Contains(plan, "area_version_geom_idx") {
		t.Errorf("the overlap check reads siblings through a geometry index:\n%s", plan)
	}
	if !strings.Contains(plan, "area_version_current_idx") && !strings.Contains(plan, "area_version_area_idx") {
		t.Errorf("the overlap check does not reach siblings' versions by area_id:\n%s", plan)
	}
}
