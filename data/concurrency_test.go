package data_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/geo"
)

// qBorderNow is the current shared border of two areas and b's centroid.
const qBorderNow = `
SELECT ST_AsBinary(ST_LineMerge(ST_CollectionExtract(ST_Intersection(ST_Boundary(x.geom), ST_Boundary(y.geom)), 2))),
       ST_X(ST_Centroid(y.geom)), ST_Y(ST_Centroid(y.geom)), x.id, y.id
FROM area_version x, area_version y
WHERE x.area_id = $1 AND x.valid_to IS NULL AND y.area_id = $2 AND y.valid_to IS NULL`

// TestConcurrentEdits: 8 clients move the borders of one community's grids at
// random, some from stale versions, for a few hundred operations. Afterwards
// the community is still tiled exactly, every area's versions form one chain,
// and every refused write was a conflict or a validation error.
func TestConcurrentEdits(t *testing.T) {
	db, _ := dbtest.New(t, "data_concurrency")
	ctx := context.Background()
	loadDemo(t, db)
	ed := data.NewEditor(db)
	all := neighbours(t, db)
	parent := all[0].parent
	var ps []pair
	for _, p := range all {
		if p.parent == parent {
			ps = append(ps, p)
		}
	}
	const clients, opsEach = 8, 30
	var mu sync.Mutex
	outcomes := map[string]int{}
	var wg sync.WaitGroup
	for c := 0; c < clients; c++ {
		wg.Add(1)
		go func(c int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(c), 99))
			cached := map[int64]int64{} // this client's idea of the versions
			for i := 0; i < opsEach; i++ {
				p := ps[rng.IntN(len(ps))]
				var raw []byte
				var cen orb.Point
				var va, vb int64
				if err := db.Pool.QueryRow(ctx, qBorderNow, p.a.ID, p.b.ID).Scan(&raw, &cen[0], &cen[1], &va, &vb); err != nil {
					t.Errorf("client %d: %v", c, err)
					return
				}
				g, err := wkb.Unmarshal(raw)
				line, ok := g.(orb.LineString)
				if err != nil || !ok || len(line) < 2 {
					mu.Lock()
					outcomes["border no longer one line"]++
					mu.Unlock()
					continue
				}
				if rng.IntN(3) > 0 || cached[p.a.ID] == 0 { // a third of the time, edit from a stale view
					cached[p.a.ID], cached[p.b.ID] = va, vb
				}
				start, end := line[0], line[len(line)-1]
				mid := orb.Point{(start[0] + end[0]) / 2, (start[1] + end[1]) / 2}
				d := orb.Point{cen[0] - mid[0], cen[1] - mid[1]}
				n := abs(d[0]) + abs(d[1])
				off := (rng.Float64()*20 - 10) / 111000
				mid = orb.Point{mid[0] + d[0]/n*off, mid[1] + d[1]/n*off}
				_, err = ed.Apply(ctx, geo.EditRequest{Op: geo.OpMoveBorder,
					Areas: []geo.VersionRef{{ID: p.a.ID, Version: cached[p.a.ID]}, {ID: p.b.ID, Version: cached[p.b.ID]}},
					Line:  orb.LineString{start, mid, end}, Author: fmt.Sprintf("client%d", c), Reason: "random"})
				kind := "ok"
				var ge *geo.Error
				switch {
				case err == nil:
				case errors.As(err, &ge) && (ge.Code == geo.EConflict || ge.Code == geo.EValidation || ge.Code == geo.EInvalid):
					kind = ge.Code
					if ge.Code == geo.EInvalid && c == 0 {
						t.Logf("invalid: %v", err)
					}
					if ge.Code == geo.EConflict {
						cached[p.a.ID], cached[p.b.ID] = 0, 0
					}
				default:
					t.Errorf("client %d: unexpected error %v", c, err)
					kind = "other"
				}
				mu.Lock()
				outcomes[kind]++
				mu.Unlock()
			}
		}(c)
	}
	wg.Wait()
	t.Logf("outcomes of %d operations: %v", clients*opsEach, outcomes)
	if outcomes["ok"] < 20 || outcomes[geo.EConflict] == 0 {
		t.Errorf("outcomes %v: want many successes and some conflicts, or the test proves little", outcomes)
	}
	checkTiling(t, db, parent)

	// Every area's versions form one chain: each closes when the next opens,
	// exactly one is open, and each new version has its change_area row.
	rows, err := db.Pool.Query(ctx, `
		SELECT a.code,
		       count(*) FILTER (WHERE v.valid_to IS NULL),
		       count(*) FILTER (WHERE v.valid_to IS NOT NULL AND NOT EXISTS (
		           SELECT 1 FROM area_version n WHERE n.area_id = v.area_id AND n.valid_from = v.valid_to)),
		       count(*) - (SELECT count(*) FROM change_area ca WHERE ca.area_id = a.id AND ca.after_version IS NOT NULL)
		FROM area a JOIN area_version v ON v.area_id = a.id
		WHERE a.parent_id = $1 GROUP BY a.id, a.code`, parent)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	for rows.Next() {
		var code string
		var open, broken, unrecorded int
		if err := rows.Scan(&code, &open, &broken, &unrecorded); err != nil {
			t.Fatal(err)
		}
		if open != 1 || broken != 0 || unrecorded != 0 {
			t.Errorf("%s: %d open versions, %d breaks in the chain, %d versions without a change record; want 1, 0, 0", code, open, broken, unrecorded)
		}
	}
}
