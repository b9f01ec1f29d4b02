package index_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/demo"
	"gridmap/geo"
	"gridmap/index"
)

func squareMP(x0, y0, s float64) orb.MultiPolygon {
	return orb.MultiPolygon{{{{x0, y0}, {x0 + s, y0}, {x0 + s, y0 + s}, {x0, y0 + s}, {x0, y0}}}}
}

const qPointInside = `
SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM area_version WHERE area_id = $1 AND valid_to IS NULL) s`

// TestEditsVisibleWithinOneSecond runs two indexes, each with its own change
// feed, as two gridmap processes would, and edits a grid under them.
func TestEditsVisibleWithinOneSecond(t *testing.T) {
	db, _ := dbtest.New(t, "index_feed")
	loadDemo(demo.Options{})(t, db)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var feeds [2]*data.ChangeFeed
	var svcs [2]*index.Service
	for i := range feeds {
		feeds[i] = data.NewChangeFeed(db, nil)
		go feeds[i].Run(ctx)
		svcs[i] = startIndex(t, db, feeds[i], index.Config{})
	}
	grids, err := data.NewAreaService(db).FindAreas(ctx, geo.AreaFilter{Level: demo.LevelGrid, Limit: 1})
	if err != nil || len(grids) != 1 {
		t.Fatalf("no grid in the demo: %v", err)
	}
	grid := grids[0]
	var old orb.Point
	if err := db.Pool.QueryRow(ctx, qPointInside, grid.ID).Scan(&old[0], &old[1]); err != nil {
		t.Fatal(err)
	}
	ls := data.NewLookupService(db)
	ed := data.NewEditor(db)

	// converged waits until both indexes answer every point as PostGIS does,
	// and returns how long that took from since.
	converged := func(t *testing.T, pts []orb.Point, since time.Time, within time.Duration) time.Duration {
		t.Helper()
		want := lookupPostGIS(t, ls, pts, nil, geo.DefaultHierarchy)
		wj, _ := json.Marshal(want)
		deadline := since.Add(within)
		for {
			same := 0
			var last []byte
			for _, svc := range svcs {
				got, err := svc.LookupPoints(ctx, pts, nil, geo.DefaultHierarchy)
				if err != nil {
					t.Fatal(err)
				}
				last, _ = json.Marshal(got)
				if bytes.Equal(last, wj) {
					same++
				}
			}
			if same == len(svcs) {
				return time.Since(since)
			}
			if time.Now().After(deadline) {
				t.Fatalf("not every index answers as PostGIS %v after the edit:\n index: %s\n  want: %s", within, last, wj)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	reshape := func(t *testing.T, mp orb.MultiPolygon) time.Time {
		t.Helper()
		if _, err := ed.ReshapeArea(ctx, geo.ReshapeRequest{AreaID: grid.ID, Geometry: mp, Author: "test", Reason: "index test"}); err != nil {
			t.Fatal(err)
		}
		return time.Now()
	}
	answerGrid := func(t *testing.T, p orb.Point) string {
		t.Helper()
		r, err := svcs[0].LookupPoint(ctx, geo.LookupQuery{Point: p})
		if err != nil {
			t.Fatal(err)
		}
		if r.Grid == nil {
			return ""
		}
		return r.Grid.Code
	}

	if got := answerGrid(t, old); got != grid.Code {
		t.Fatalf("before the edit: %v answered %q, want %s", old, got, grid.Code)
	}
	t.Run("reshaped grid answers at once in both processes", func(t *testing.T) {
		moved := squareMP(121.5, 31.5, 0.001)
		took := converged(t, []orb.Point{old, {121.5005, 31.5005}, {121.5, 31.5005}}, reshape(t, moved), time.Second)
		if got := answerGrid(t, orb.Point{121.5005, 31.5005}); got != grid.Code {
			t.Errorf("inside the new shape: got %q, want %s", got, grid.Code)
		}
		if got := answerGrid(t, old); got == grid.Code {
			t.Errorf("the old place still answers %s", grid.Code)
		}
		t.Logf("both indexes answered the new shape %v after the commit", took)
	})
	t.Run("after a lost connection the index reloads and is right", func(t *testing.T) {
		loads := svcs[0].Stats().Loads
		pid := feeds[0].BackendPID()
		if pid == 0 {
			t.Fatal("feed 0 is not connected")
		}
		if _, err := db.Pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, int64(pid)); err != nil {
			t.Fatal(err)
		}
		// Committed while feed 0 is away (it reconnects after a back-off):
		// its announcement is lost to that process, the reset must cover it.
		moved := squareMP(121.6, 31.6, 0.001)
		took := converged(t, []orb.Point{old, {121.5005, 31.5005}, {121.6005, 31.6005}}, reshape(t, moved), 15*time.Second)
		t.Logf("both indexes right %v after the edit made during the outage", took)
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
		defer wcancel()
		if err := feeds[0].WaitConnected(wctx); err != nil {
			t.Fatal(err)
		}
		waitReady(t, svcs[0], 10*time.Second)
		if got := svcs[0].Stats(); got.Loads <= loads || got.Last == nil {
			t.Errorf("loads %d after the reset, want more than %d", got.Loads, loads)
		}
		if got := feeds[0].BackendPID(); got == pid || got == 0 {
			t.Errorf("feed 0 listens on backend %d, want a new one (the old was %d)", got, pid)
		}
		took = converged(t, []orb.Point{{121.6005, 31.6005}, {121.7005, 31.7005}}, reshape(t, squareMP(121.7, 31.7, 0.001)), time.Second)
		t.Logf("after reconnecting, both indexes answered the next edit %v after the commit", took)
	})
	t.Run("answers match PostGIS over the edited data", func(t *testing.T) {
		snap, err := data.NewSnapshotSource(db).Snapshot(ctx, nil, today())
		if err != nil {
			t.Fatal(err)
		}
		ps := probes(t, snap, geo.DefaultHierarchy, 5000, 2)
		pts := make([]orb.Point, len(ps))
		for i, p := range ps {
			pts[i] = p.p
		}
		want := lookupPostGIS(t, ls, pts, nil, geo.DefaultHierarchy)
		for i, svc := range svcs {
			t.Run(fmt.Sprint("index ", i), func(t *testing.T) {
				got, err := svc.LookupPoints(ctx, pts, nil, geo.DefaultHierarchy)
				if err != nil {
					t.Fatal(err)
				}
				compareAnswers(t, ps, got, want, false)
			})
		}
	})
}
