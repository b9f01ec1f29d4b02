package data_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/geo"
)

// crossPair is two grids of different communities that share a border, and
// for each a split line that starts 3 m inside the other grid, crosses the
// shared border at its middle and runs through the grid past its far side.
type crossPair struct {
	a, b         geo.VersionRef
	aComm, bComm int64
	lineA, lineB orb.LineString
	aCode, bCode string
}

const qCrossPairs = `
WITH g AS (
    SELECT a.id, a.code, a.parent_id, v.id AS version, v.geom FROM area a
    JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL
    WHERE a.level = 'grid' AND a.retired_at IS NULL),
s AS (
    SELECT x.id AS xid, x.version AS xv, x.code AS xc, x.parent_id AS xp, y.id AS yid, y.version AS yv, y.code AS yc, y.parent_id AS yp,
           ST_GeometryN(ST_LineMerge(ST_CollectionExtract(ST_Intersection(ST_Boundary(x.geom), ST_Boundary(y.geom)), 2)), 1) AS l,
           ST_PointOnSurface(x.geom) AS cx, ST_PointOnSurface(y.geom) AS cy
    FROM g x JOIN g y ON x.parent_id <> y.parent_id AND x.id < y.id AND x.geom && y.geom)
SELECT xid, xv, xc, xp, yid, yv, yc, yp,
       ST_X(ST_LineInterpolatePoint(l, 0.5)), ST_Y(ST_LineInterpolatePoint(l, 0.5)), ST_X(cx), ST_Y(cx), ST_X(cy), ST_Y(cy)
FROM s WHERE l IS NOT NULL AND ST_Length(l::geography) > 60
ORDER BY xid, yid`

// crossPairs returns up to n grid pairs across community borders, no grid in two pairs.
func crossPairs(t *testing.T, db *data.DB, n int) []crossPair {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), qCrossPairs)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	used := map[int64]bool{}
	var out []crossPair
	for rows.Next() {
		var p crossPair
		var m, ca, cb orb.Point
		if err := rows.Scan(&p.a.ID, &p.a.Version, &p.aCode, &p.aComm, &p.b.ID, &p.b.Version, &p.bCode, &p.bComm,
			&m[0], &m[1], &ca[0], &ca[1], &cb[0], &cb[1]); err != nil {
			t.Fatal(err)
		}
		if used[p.a.ID] || used[p.b.ID] || len(out) == n {
			continue
		}
		used[p.a.ID], used[p.b.ID] = true, true
		p.lineA = crossLine(m, ca)
		p.lineB = crossLine(m, cb)
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// crossLine runs from 3 m beyond m (away from c) through c to twice as far
// again on the other side.
func crossLine(m, c orb.Point) orb.LineString {
	d := orb.Point{m[0] - c[0], m[1] - c[1]}
	n := abs(d[0]) + abs(d[1])
	start := orb.Point{m[0] + d[0]/n*3/111000, m[1] + d[1]/n*3/111000}
	end := orb.Point{c[0] - 2*d[0], c[1] - 2*d[1]}
	return orb.LineString{start, c, end}
}

func editorOf(id int64, name string) *geo.User {
	return &geo.User{ID: id, Name: name, Role: geo.UserEditor, ScopeAreaID: id}
}

// TestConcurrentSplitAcrossCommunityBorder pins the deadlock of two editors
// splitting grids on either side of a community border at the same moment:
// each split's vertex snapping locked the grid across the border after its
// own locks (PostgreSQL 40P01, answered 500). Now every pair either both
// succeeds or one gets a conflict; nothing is an internal error.
func TestConcurrentSplitAcrossCommunityBorder(t *testing.T) {
	for _, tc := range []struct {
		name  string
		actor func(comm int64) *geo.User
	}{
		{"community editors", func(comm int64) *geo.User { return editorOf(comm, fmt.Sprintf("ed%d", comm)) }},
		{"admins", func(int64) *geo.User { return &geo.User{Name: "root", Role: geo.UserAdmin} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db, _ := dbtest.New(t, "data_cross_split")
			loadDemo(t, db)
			ctx := context.Background()
			ed := data.NewEditor(db)
			ps := crossPairs(t, db, 12)
			if len(ps) < 6 {
				t.Fatalf("%d grid pairs across community borders, want at least 6", len(ps))
			}
			var mu sync.Mutex
			outcomes := map[string]int{}
			var wg sync.WaitGroup
			start := make(chan struct{})
			split := func(ref geo.VersionRef, comm int64, line orb.LineString) {
				defer wg.Done()
				<-start
				_, err := ed.Apply(ctx, geo.EditRequest{Op: geo.OpSplit, Areas: []geo.VersionRef{ref}, Line: line,
					Author: "test", Reason: "cross-border split", Actor: tc.actor(comm)})
				kind := "ok"
				var ge *geo.Error
				if err != nil {
					kind = geo.ErrorCode(err)
					if errors.As(err, &ge) && ge.Code == geo.EConflict && ge.Details == nil {
						t.Errorf("split of %d: conflict without details: %v", ref.ID, err)
					}
					if kind != geo.EConflict {
						t.Errorf("split of %d: got %v, want success or a conflict", ref.ID, err)
					}
				}
				mu.Lock()
				outcomes[kind]++
				mu.Unlock()
			}
			for _, p := range ps {
				wg.Add(2)
				go split(p.a, p.aComm, p.lineA)
				go split(p.b, p.bComm, p.lineB)
			}
			close(start)
			wg.Wait()
			t.Logf("outcomes of %d concurrent splits: %v", 2*len(ps), outcomes)
			if outcomes["ok"] < len(ps) {
				t.Errorf("outcomes %v: want at least one success per pair", outcomes)
			}
			for _, p := range ps {
				checkTiling(t, db, p.aComm)
				checkTiling(t, db, p.bComm)
			}
		})
	}
}

// TestOutOfScopeSnapKeepsGeometryAndIsRevertible pins vertex snapping
// writing new versions of areas outside a community editor's scope that
// moved them (and the editor then could not revert its own change, 403):
// outside the scope only geometry-keeping vertex insertions are written,
// and the editor may revert its change.
func TestOutOfScopeSnapKeepsGeometryAndIsRevertible(t *testing.T) {
	db, _ := dbtest.New(t, "data_scope_snap")
	loadDemo(t, db)
	ctx := context.Background()
	ed := data.NewEditor(db)
	p := crossPairs(t, db, 1)[0]
	actor := editorOf(p.aComm, "ed")
	res, err := ed.Apply(ctx, geo.EditRequest{Op: geo.OpSplit, Areas: []geo.VersionRef{p.a}, Line: p.lineA, Reason: "split at the border", Actor: actor})
	if err != nil {
		t.Fatal(err)
	}
	var outside, moved int
	if err := db.Pool.QueryRow(ctx, `
		SELECT count(*), count(*) FILTER (WHERE ST_HausdorffDistance(ST_Boundary(o.geom), ST_Boundary(n.geom)) > 1.5e-7)
		FROM change_area ca JOIN area a ON a.id = ca.area_id
		JOIN area_version o ON o.id = ca.before_version JOIN area_version n ON n.id = ca.after_version
		WHERE ca.change_id = $1 AND a.parent_id IS DISTINCT FROM $2`, res.ChangeID, p.aComm).Scan(&outside, &moved); err != nil {
		t.Fatal(err)
	}
	t.Logf("the split wrote %d versions outside community %d", outside, p.aComm)
	if outside == 0 || moved != 0 {
		t.Errorf("outside the scope: %d versions, %d of them moved more than a grid cell; want some and none", outside, moved)
	}
	if _, err := ed.Apply(ctx, geo.EditRequest{Op: geo.OpRevert, Change: res.ChangeID, Reason: "undo", Actor: actor}); err != nil {
		t.Errorf("the editor reverting its own split: %v", err)
	}
	_, err = ed.Apply(ctx, geo.EditRequest{Op: geo.OpSplit, Areas: []geo.VersionRef{{ID: p.b.ID}}, Line: p.lineB, Reason: "not mine", Actor: actor})
	var ge *geo.Error
	if !errors.As(err, &ge) || ge.Code != geo.EForbidden || ge.Details == nil || !strings.Contains(ge.Message, p.bCode) {
		t.Errorf("splitting a grid of another community: got %v, want a 403 naming %s", err, p.bCode)
	}
}

// TestReshapeHalfMetreIntoOtherCommunityIsRefused pins the 0.5 m width
// tolerance: a reshape pushing a grid 0.45 m across its community's border
// into the next community's grid was accepted (lookups there then answered
// ambiguous). Tolerances are about the grid's rounding now.
func TestReshapeHalfMetreIntoOtherCommunityIsRefused(t *testing.T) {
	db, _ := dbtest.New(t, "data_reshape_tolerance")
	loadDemo(t, db)
	ctx := context.Background()
	ed := data.NewEditor(db)
	p := crossPairs(t, db, 1)[0]
	var raw []byte
	var strip float64
	if err := db.Pool.QueryRow(ctx, `
		WITH a AS (SELECT geom FROM area_version WHERE id = $1), b AS (SELECT geom FROM area_version WHERE id = $2),
		     s AS (SELECT ST_Intersection(b.geom, ST_Buffer(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom))::geography, 0.45)::geometry) AS g FROM a, b)
		SELECT ST_AsBinary(ST_Multi(ST_Union(a.geom, s.g))), ST_Area(s.g::geography) FROM a, s`, p.a.Version, p.b.Version).Scan(&raw, &strip); err != nil {
		t.Fatal(err)
	}
	g, err := wkb.Unmarshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	_, err = ed.Apply(ctx, geo.EditRequest{Op: geo.OpReshape, Areas: []geo.VersionRef{p.a}, Geometry: toMulti(g), Reason: "grow", Actor: &geo.User{Name: "root", Role: geo.UserAdmin}})
	var ge *geo.Error
	if !errors.As(err, &ge) || ge.Code != geo.EValidation {
		t.Fatalf("reshape %.0f m² into %s: got %v, want a validation error", strip, p.bCode, err)
	}
	pv := ge.Details.(*geo.EditPreview)
	if !hasIssue(pv.Errors, "outside_parent", p.aCode) {
		t.Errorf("errors %+v, want %s outside its parent", pv.Errors, p.aCode)
	}
}
