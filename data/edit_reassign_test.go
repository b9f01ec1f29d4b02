package data_test

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"

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

// inRetired counts the buildings whose stored grid is a retired area.
func inRetired(t *testing.T, db *data.DB) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(),
		`SELECT count(*) FROM building b JOIN area a ON a.id = b.grid_id WHERE a.retired_at IS NOT NULL`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestEditReassignmentMatchesGridOf: the edit pipeline recomputes the grid
// only of the buildings in the region where a geometry changed (not in the
// bounds of every area it touched: a repartition inserts vertices into the
// community's outline and its ancestors', whose bounds hold the whole demo)
// and of the buildings stored in a grid the edit retires, and the result is
// still exactly grid_of from scratch for every building: after border moves,
// splits, merges, repartitions and reverts in a random order, and after a
// merge whose retired grid holds buildings that lie in the other grid.
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
	ed := data.NewEditor(db)
	ps := data.NewPartitioner(ed)
	communities := func() []string {
		rows, err := db.Pool.Query(ctx, `SELECT code FROM area WHERE level = 'community' AND retired_at IS NULL ORDER BY code`)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				t.Fatal(err)
			}
			out = append(out, c)
		}
		return out
	}
	// nearCommunity: the buildings within 1 m of a community, an upper
	// bound of what an edit inside it may check.
	nearCommunity := func(code string) int {
		var n int
		if err := db.Pool.QueryRow(ctx, `
SELECT count(*) FROM building b, area a JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL
WHERE a.code = $1 AND ST_DWithin(b.geom, v.geom, 1e-5)`, code).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	codeOfParent := func(parent int64) string {
		var c string
		if err := db.Pool.QueryRow(ctx, `SELECT code FROM area WHERE id = $1`, parent).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}
	check := func(t *testing.T, what string) {
		t.Helper()
		if n := astray(t, db); n != 0 {
			t.Fatalf("after %s %d buildings are off grid_of", what, n)
		}
		if n := inRetired(t, db); n != 0 {
			t.Fatalf("after %s %d buildings are in a retired grid", what, n)
		}
	}
	var changes []int64 // applied changes, newest last, for reverts
	apply := func(t *testing.T, what string, r geo.EditRequest, parent int64) bool {
		t.Helper()
		pv, err := ed.Preview(ctx, r)
		if err != nil || !pv.Valid {
			t.Logf("%s: not valid (%v), skipped", what, err)
			return false
		}
		if parent != 0 {
			code := codeOfParent(parent)
			if c, near := pv.BuildingsChecked, nearCommunity(code); c > near {
				t.Errorf("%s inside %s checked %d buildings; %d are within 1 m of it", what, code, c, near)
			}
		}
		res, err := ed.Apply(ctx, r)
		if err != nil {
			t.Fatalf("%s: the preview validated but Apply failed: %v", what, err)
		}
		changes = append(changes, res.ChangeID)
		check(t, what)
		return true
	}
	rng := rand.New(rand.NewPCG(12, 1))
	counts := map[string]int{}
	t.Run("random edits", func(t *testing.T) {
		for i := 0; i < 24; i++ {
			pairs := neighbours(t, db)
			p := pairs[rng.IntN(len(pairs))]
			switch k := rng.IntN(6); k {
			case 0, 1:
				if apply(t, "a border move", geo.EditRequest{Op: geo.OpMoveBorder, Areas: []geo.VersionRef{p.a, p.b}, Line: p.line, Reason: "move"}, p.parent) {
					counts["move"]++
				}
			case 2:
				var b orb.Bound
				if err := db.Pool.QueryRow(ctx, `SELECT ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom) FROM area_version WHERE id = $1`, p.a.Version).Scan(&b.Min[0], &b.Min[1], &b.Max[0], &b.Max[1]); err != nil {
					t.Fatal(err)
				}
				y := b.Min[1] + (0.3+0.4*rng.Float64())*(b.Max[1]-b.Min[1])
				line := orb.LineString{{b.Min[0] - 0.001, y}, {b.Max[0] + 0.001, y}}
				if apply(t, "a split", geo.EditRequest{Op: geo.OpSplit, Areas: []geo.VersionRef{p.a}, Line: line, Reason: "split"}, p.parent) {
					counts["split"]++
				}
			case 3:
				if apply(t, "a merge", geo.EditRequest{Op: geo.OpMerge, Areas: []geo.VersionRef{p.a, p.b}, Reason: "merge"}, p.parent) {
					counts["merge"]++
				}
			case 4:
				cs := communities()
				code := cs[rng.IntN(len(cs))]
				mode := []string{"fresh", "maintain"}[rng.IntN(2)]
				r := geo.PartitionRequest{AreaCode: code, Min: 300, Max: 500, Mode: mode, Seed: uint64(i)}
				prop, err := ps.Propose(ctx, r)
				if err != nil || prop.Preview == nil || !prop.Preview.Valid {
					t.Logf("the %s repartition of %s: not valid (%v), skipped", mode, code, err)
					continue
				}
				if c, near := prop.Preview.BuildingsChecked, nearCommunity(code); c > near {
					t.Errorf("the repartition of %s checked %d buildings; %d are within 1 m of it", code, c, near)
				}
				_, res, err := ps.Apply(ctx, r, "划网格")
				if err != nil {
					t.Fatalf("the repartition of %s: the preview validated but Apply failed: %v", code, err)
				}
				changes = append(changes, res.ChangeID)
				check(t, "a repartition")
				counts["repartition"]++
			case 5:
				if len(changes) == 0 {
					continue
				}
				last := changes[len(changes)-1]
				changes = changes[:len(changes)-1]
				if apply(t, "a revert", geo.EditRequest{Op: geo.OpRevert, Change: last, Reason: "undo"}, 0) {
					changes = changes[:len(changes)-1] // the revert itself is not reverted again
					counts["revert"]++
				}
			}
		}
		t.Logf("applied: %v", counts)
		for _, k := range []string{"move", "split", "merge", "repartition", "revert"} {
			if counts[k] == 0 {
				t.Errorf("no %s was applied (%v): the sequence does not cover it", k, counts)
			}
		}
	})

	// The case TestAreaStats/after_merging_two_grids pins: buildings stored
	// in the grid that a merge retires but lying in the grid that stays are
	// outside the region that changed, and must still leave the retired grid.
	t.Run("a merge empties the retired grid of buildings that lie elsewhere", func(t *testing.T) {
		p := neighbours(t, db)[0]
		tag, err := db.Pool.Exec(ctx, `UPDATE building SET grid_id = $2 WHERE grid_id = $1 AND id % 2 = 0`, p.a.ID, p.b.ID)
		if err != nil {
			t.Fatal(err)
		}
		if tag.RowsAffected() == 0 {
			t.Fatalf("grid %s has no building to store in %s", p.aCode, p.bCode)
		}
		if !apply(t, "the merge", geo.EditRequest{Op: geo.OpMerge, Areas: []geo.VersionRef{p.a, p.b}, Reason: "merge"}, 0) {
			t.Fatalf("the merge of %s and %s does not validate", p.aCode, p.bCode)
		}
	})
}
