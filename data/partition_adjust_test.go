package data_test

import (
	"context"
	"errors"
	"reflect"
	"slices"
	"testing"

	"github.com/paulmach/orb/encoding/wkb"

	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/geo"
)

// borderPoints lists, for every pair of proposed grids (i, j) with a shared
// border, a point inside grid i about 10 cm from the middle of one piece of
// that border: a point of a block of i that borders j.
func borderPoints(t *testing.T, db *data.DB, p *geo.PartitionProposal) []geo.PartitionMove {
	t.Helper()
	var geoms [][]byte
	for _, g := range p.Grids {
		raw, err := wkb.Marshal(g.Geometry)
		if err != nil {
			t.Fatal(err)
		}
		geoms = append(geoms, raw)
	}
	rows, err := db.Pool.Query(context.Background(), `
WITH g AS (SELECT i - 1 AS i, ST_SetSRID(ST_GeomFromWKB(w), 4326) AS g FROM unnest($1::bytea[]) WITH ORDINALITY AS x(w, i)),
     b AS (SELECT x.i, y.i AS j, x.g, ST_GeometryN(ST_LineMerge(ST_CollectionExtract(ST_Intersection(ST_Boundary(x.g), ST_Boundary(y.g)), 2)), 1) AS l
           FROM g x JOIN g y ON x.i <> y.i AND x.g && y.g)
SELECT ST_X(p), ST_Y(p), j FROM b, LATERAL (SELECT ST_ClosestPoint(ST_Buffer(b.g, -1e-6), ST_LineInterpolatePoint(b.l, 0.5)) AS p) q
WHERE b.l IS NOT NULL AND ST_Length(b.l::geography) > 5 ORDER BY i, j`, geoms)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []geo.PartitionMove
	for rows.Next() {
		var m geo.PartitionMove
		if err := rows.Scan(&m.Lon, &m.Lat, &m.To); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

func gridAt(t *testing.T, db *data.DB, p *geo.PartitionProposal, m geo.PartitionMove) int {
	t.Helper()
	for _, g := range p.Grids {
		raw, _ := wkb.Marshal(g.Geometry)
		var in bool
		if err := db.Pool.QueryRow(context.Background(), `SELECT ST_Covers(ST_SetSRID(ST_GeomFromWKB($1), 4326), ST_SetSRID(ST_MakePoint($2, $3), 4326))`, raw, m.Lon, m.Lat).Scan(&in); err != nil {
			t.Fatal(err)
		}
		if in {
			return g.Index
		}
	}
	t.Fatalf("%+v is in no proposed grid", m)
	return -1
}

// TestPartitionAdjustMoves: a staff member moves a block of the proposal to
// a neighbouring grid before accepting: the tallies of the two grids change
// by the block's households, the adjusted proposal still tiles the area in
// contiguous grids and previews valid, applying it commits exactly those
// grids as one change and reverting that change restores the old grids.
// Moves that would break the tiling or contiguity are refused (4xx).
func TestPartitionAdjustMoves(t *testing.T) {
	ctx := context.Background()
	db, _ := dbtest.New(t, "partition_adjust")
	cs := partitionCommunities()[1:2] // the wide lattice
	loadCommunities(t, db, cs)
	code := cs[0].code
	ed := data.NewEditor(db)
	ps := data.NewPartitioner(ed)
	base := geo.PartitionRequest{AreaCode: code, Seed: 1}
	plain := proposeOK(t, ps, base)
	if len(plain.Grids) < 3 {
		t.Fatalf("want at least 3 grids to adjust, got %d", len(plain.Grids))
	}

	var adjusted *geo.PartitionProposal
	var move geo.PartitionMove
	var from int
	var refusals int
	for _, m := range borderPoints(t, db, plain) {
		r := base
		r.Moves = []geo.PartitionMove{m}
		p, err := ps.Propose(ctx, r)
		var ge *geo.Error
		if errors.As(err, &ge) && ge.Code == geo.EInvalid {
			refusals++ // this block holds its grid together
			continue
		}
		if err != nil {
			t.Fatalf("Propose with move %+v: %v", m, err)
		}
		adjusted, move, from = p, m, gridAt(t, db, plain, m)
		break
	}
	if adjusted == nil {
		t.Fatalf("no block on a border could be moved (%d refusals)", refusals)
	}
	checkProposal(t, db, adjusted)
	if len(adjusted.Grids) != len(plain.Grids) {
		t.Fatalf("the adjustment changed the number of grids: %d → %d", len(plain.Grids), len(adjusted.Grids))
	}
	lost := plain.Grids[from].Households - adjusted.Grids[from].Households
	gained := adjusted.Grids[move.To].Households - plain.Grids[move.To].Households
	if lost <= 0 || lost != gained {
		t.Fatalf("moving the block at %+v from grid %d: grid %d lost %d households, grid %d gained %d", move, from, from, lost, move.To, gained)
	}
	if adjusted.Grids[from].AreaM2 >= plain.Grids[from].AreaM2 || adjusted.Grids[move.To].AreaM2 <= plain.Grids[move.To].AreaM2 {
		t.Errorf("areas: grid %d %.0f → %.0f m², grid %d %.0f → %.0f m²", from, plain.Grids[from].AreaM2, adjusted.Grids[from].AreaM2,
			move.To, plain.Grids[move.To].AreaM2, adjusted.Grids[move.To].AreaM2)
	}
	for i, g := range adjusted.Grids {
		if i != from && i != move.To && g.Households != plain.Grids[i].Households {
			t.Errorf("grid %d not involved in the move changed: %d → %d households", i, plain.Grids[i].Households, g.Households)
		}
	}
	// The edit preview's balance agrees with the adjusted tallies.
	byHH := map[int]int{}
	for _, b := range adjusted.Preview.Balance {
		byHH[b.HouseholdsAfter]++
	}
	for _, i := range []int{from, move.To} {
		if byHH[adjusted.Grids[i].Households] == 0 {
			t.Errorf("the preview's balance has no grid with grid %d's %d households: %+v", i, adjusted.Grids[i].Households, adjusted.Preview.Balance)
		}
	}

	// Refusals: outside the area, an unknown grid, a grid it does not border.
	for name, m := range map[string]geo.PartitionMove{
		"outside the area": {Lon: 10, Lat: 10, To: 0},
		"unknown grid":     {Lon: move.Lon, Lat: move.Lat, To: len(plain.Grids)},
		"already there":    {Lon: move.Lon, Lat: move.Lat, To: from},
		"bad latitude":     {Lon: move.Lon, Lat: 123, To: move.To},
	} {
		r := base
		r.Moves = []geo.PartitionMove{m}
		if _, err := ps.Propose(ctx, r); geo.ErrorCode(err) != geo.EInvalid {
			t.Errorf("%s: %+v gave %v, want invalid", name, m, err)
		}
	}

	// Apply the adjusted proposal: the grids committed are the adjusted ones.
	before := readGrids(t, db, code)
	r := base
	r.Moves = []geo.PartitionMove{move}
	_, res, err := ps.Apply(ctx, r, "划网格, adjusted")
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	checkGrids(t, db, code)
	var got []int
	rows, err := db.Pool.Query(ctx, `
SELECT coalesce(sum(b.households), 0)::int FROM area g JOIN area p ON p.id = g.parent_id AND p.code = $1
LEFT JOIN building b ON b.grid_id = g.id WHERE g.retired_at IS NULL GROUP BY g.id ORDER BY 1`, code)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var n int
		if err := rows.Scan(&n); err != nil {
			t.Fatal(err)
		}
		got = append(got, n)
	}
	var want []int
	for _, g := range adjusted.Grids {
		want = append(want, g.Households)
	}
	slices.Sort(want)
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("households per committed grid %v, want the adjusted proposal's %v", got, want)
	}
	// One change: reverting it restores the grids from before.
	if _, err := ed.Apply(ctx, geo.EditRequest{Op: geo.OpRevert, Change: res.ChangeID, Reason: "undo"}); err != nil {
		t.Fatalf("revert: %v", err)
	}
	if after := readGrids(t, db, code); !reflect.DeepEqual(after, before) {
		t.Fatalf("after reverting the adjusted partition: grids %v, want %v", keys(after.grids), keys(before.grids))
	}

	// Maintenance mode: every grid of a fresh partition is kept; a move
	// between two of them redraws just those two, each keeping its identity
	// and code.
	if _, _, err := ps.Apply(ctx, base, "划网格 again"); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	codesBefore := keys(readGrids(t, db, code).grids)
	maint := geo.PartitionRequest{AreaCode: code, Mode: "maintain", Seed: 1}
	kept := proposeOK(t, ps, maint)
	if len(kept.Replaces) != 0 {
		t.Fatalf("maintenance of a fresh partition redraws %v", kept.Replaces)
	}
	var mmove geo.PartitionMove
	var madj *geo.PartitionProposal
	for _, m := range borderPoints(t, db, kept) {
		maint.Moves = []geo.PartitionMove{m}
		if p, err := ps.Propose(ctx, maint); err == nil {
			mmove, madj = m, p
			break
		} else if geo.ErrorCode(err) != geo.EInvalid {
			t.Fatalf("Propose maintain with %+v: %v", m, err)
		}
	}
	if madj == nil {
		t.Fatalf("no block could be moved in maintenance mode")
	}
	checkProposal(t, db, madj)
	mfrom := gridAt(t, db, kept, mmove)
	if len(madj.Replaces) != 2 || madj.Grids[mfrom].Kept || madj.Grids[mmove.To].Kept || madj.Grids[mfrom].Area == nil || madj.Grids[mmove.To].Area == nil {
		t.Fatalf("a move between grids %d and %d in maintenance mode: replaces %v, grids %+v / %+v", mfrom, mmove.To, madj.Replaces, madj.Grids[mfrom], madj.Grids[mmove.To])
	}
	for i, g := range madj.Grids {
		if i != mfrom && i != mmove.To && !g.Kept {
			t.Errorf("grid %d not involved in the move is no longer kept", i)
		}
	}
	if _, _, err := ps.Apply(ctx, maint, "调整两个网格"); err != nil {
		t.Fatalf("Apply maintain: %v", err)
	}
	checkGrids(t, db, code)
	if got := keys(readGrids(t, db, code).grids); !reflect.DeepEqual(got, codesBefore) {
		t.Fatalf("codes after the maintained move %v, want the same %v", got, codesBefore)
	}
}
