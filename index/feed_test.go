package index_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/demo"
	"gridmap/geo"
	"gridmap/index"
)

// qBorder finds two grids of one community with a long common border and
// returns their ids, the border's end points, and a point 15 m from the
// border's middle towards the second grid's centroid: moving the border
// through it hands a sliver of the second grid to the first.
const qBorder = `
WITH g AS (
    SELECT a.id, a.code, a.parent_id, v.geom FROM area a
    JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL
    WHERE a.level = 'grid' AND a.retired_at IS NULL),
b AS (
    SELECT x.id AS a, y.id AS b, ST_LineMerge(ST_CollectionExtract(ST_Intersection(ST_Boundary(x.geom), ST_Boundary(y.geom)), 2)) AS line,
           ST_Centroid(y.geom) AS c
    FROM g x JOIN g y ON x.parent_id = y.parent_id AND x.id < y.id AND x.geom && y.geom)
SELECT a, b, ST_X(ST_StartPoint(line)), ST_Y(ST_StartPoint(line)), ST_X(ST_EndPoint(line)), ST_Y(ST_EndPoint(line)), ST_X(c), ST_Y(c)
FROM b WHERE ST_GeometryType(line) = 'ST_LineString' AND ST_Length(line::geography) > 100
ORDER BY a, b LIMIT 1`

// border is a shared border between grids a and b.
type border struct {
	a, b       int64
	start, end orb.Point
	towards    orb.Point // b's centroid
}

// moved returns the border with its middle pushed metres towards b.
func (br border) moved(metres float64) orb.LineString {
	mid := orb.Point{(br.start[0] + br.end[0]) / 2, (br.start[1] + br.end[1]) / 2}
	d := orb.Point{br.towards[0] - mid[0], br.towards[1] - mid[1]}
	n := math.Abs(d[0]) + math.Abs(d[1])
	mid = orb.Point{mid[0] + d[0]/n*metres/111000, mid[1] + d[1]/n*metres/111000}
	return orb.LineString{br.start, mid, br.end}
}

// near returns a lattice of points around the border, where a moved border
// changes answers.
func (br border) near() []orb.Point {
	b := orb.Bound{Min: br.start, Max: br.start}.Extend(br.end).Pad(30.0 / 111000)
	var out []orb.Point
	for i := range 25 {
		for j := range 25 {
			out = append(out, orb.Point{b.Min[0] + (b.Max[0]-b.Min[0])*float64(i)/24, b.Min[1] + (b.Max[1]-b.Min[1])*float64(j)/24})
		}
	}
	return out
}

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
	var br border
	if err := db.Pool.QueryRow(ctx, qBorder).Scan(&br.a, &br.b, &br.start[0], &br.start[1], &br.end[0], &br.end[1], &br.towards[0], &br.towards[1]); err != nil {
		t.Fatalf("no two grids with a common border in the demo: %v", err)
	}
	pts := br.near()
	ls := data.NewLookupService(db)
	ed := data.NewEditor(db)

	// converged waits until both indexes answer every point as PostGIS does,
	// and returns how long that took from since.
	converged := func(t *testing.T, since time.Time, within time.Duration) time.Duration {
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
				t.Fatalf("not every index answers as PostGIS %v after the edit:\n index: %.2000s\n  want: %.2000s", within, last, wj)
			}
			time.Sleep(2 * time.Millisecond)
		}
	}
	// answers returns the grid codes the first index gives pts.
	answers := func(t *testing.T) []string {
		t.Helper()
		rs, err := svcs[0].LookupPoints(ctx, pts, nil, geo.DefaultHierarchy)
		if err != nil {
			t.Fatal(err)
		}
		out := make([]string, len(rs))
		for i, r := range rs {
			if r.Grid != nil {
				out[i] = r.Grid.Code
			}
		}
		return out
	}
	changed := func(before, after []string) int {
		n := 0
		for i := range before {
			if before[i] != after[i] {
				n++
			}
		}
		return n
	}
	edit := func(t *testing.T, r geo.EditRequest) (*geo.EditResult, time.Time) {
		t.Helper()
		r.Author, r.Reason = "test", "index test"
		res, err := ed.Apply(ctx, r)
		if err != nil {
			t.Fatal(err)
		}
		return res, time.Now()
	}
	moveBorder := func(metres float64) geo.EditRequest {
		return geo.EditRequest{Op: geo.OpMoveBorder, Areas: []geo.VersionRef{{ID: br.a}, {ID: br.b}}, Line: br.moved(metres)}
	}

	var first *geo.EditResult
	t.Run("a moved border answers within 1 s in both processes", func(t *testing.T) {
		before := answers(t)
		res, at := edit(t, moveBorder(15))
		first = res
		took := converged(t, at, time.Second)
		if n := changed(before, answers(t)); n == 0 {
			t.Fatalf("moving the border changed no answer among %d points: the test proves nothing", len(pts))
		}
		t.Logf("both indexes answered the new border %v after the commit", took)
	})
	t.Run("after a lost connection the index reloads and is right", func(t *testing.T) {
		if first == nil {
			t.Fatal("the first edit did not happen")
		}
		loads := svcs[0].Stats().Loads
		pid := feeds[0].BackendPID()
		if pid == 0 {
			t.Fatal("feed 0 is not connected")
		}
		before := answers(t)
		if _, err := db.Pool.Exec(ctx, `SELECT pg_terminate_backend($1)`, int64(pid)); err != nil {
			t.Fatal(err)
		}
		// Committed while feed 0 is away (it reconnects after a back-off):
		// its announcement is lost to that process; the reset must cover it.
		_, at := edit(t, geo.EditRequest{Op: geo.OpRevert, Change: first.ChangeID})
		took := converged(t, at, 15*time.Second)
		if n := changed(before, answers(t)); n == 0 {
			t.Fatal("the revert changed no answer")
		}
		t.Logf("both indexes right %v after the edit made during the outage", took)
		wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
		defer wcancel()
		if err := feeds[0].WaitConnected(wctx); err != nil {
			t.Fatal(err)
		}
		waitReady(t, svcs[0], 10*time.Second)
		if got := svcs[0].Stats(); got.Loads <= loads {
			t.Errorf("loads %d after the reset, want more than %d", got.Loads, loads)
		}
		if got := feeds[0].BackendPID(); got == pid || got == 0 {
			t.Errorf("feed 0 listens on backend %d, want a new one (the old was %d)", got, pid)
		}
		before = answers(t)
		_, at = edit(t, moveBorder(-15))
		took = converged(t, at, time.Second)
		if n := changed(before, answers(t)); n == 0 {
			t.Fatal("moving the border the other way changed no answer")
		}
		t.Logf("after reconnecting, both indexes answered the next edit %v after the commit", took)
	})
	t.Run("a police officer assigned to the community shows in its grids at once", func(t *testing.T) {
		var person, community int64
		if err := db.Pool.QueryRow(ctx, `SELECT min(id) FROM person`).Scan(&person); err != nil {
			t.Fatal(err)
		}
		if err := db.Pool.QueryRow(ctx, `SELECT parent_id FROM area WHERE id = $1`, br.a).Scan(&community); err != nil {
			t.Fatal(err)
		}
		before, _ := svcs[0].LookupPoints(ctx, pts, nil, "")
		if _, err := ed.AssignDuty(ctx, geo.DutyRequest{PersonID: person, AreaID: community, Role: geo.RolePolice, Author: "test", Reason: "index test"}); err != nil {
			t.Fatal(err)
		}
		took := converged(t, time.Now(), time.Second)
		after, _ := svcs[0].LookupPoints(ctx, pts, nil, "")
		bj, _ := json.Marshal(before)
		aj, _ := json.Marshal(after)
		if bytes.Equal(bj, aj) {
			t.Fatal("the new duty changed no answer")
		}
		t.Logf("both indexes showed the new duty %v after the commit", took)
	})
	t.Run("a merged grid is retired and answers no more", func(t *testing.T) {
		_, at := edit(t, geo.EditRequest{Op: geo.OpMerge, Areas: []geo.VersionRef{{ID: br.a}, {ID: br.b}}})
		took := converged(t, at, time.Second)
		var retired bool
		if err := db.Pool.QueryRow(ctx, `SELECT retired_at IS NOT NULL FROM area WHERE id = $1`, br.b).Scan(&retired); err != nil || !retired {
			t.Fatalf("grid %d retired %v (%v); the merge should retire it", br.b, retired, err)
		}
		rs, _ := svcs[1].LookupPoints(ctx, pts, nil, "")
		for _, r := range rs {
			if r.Grid != nil && r.Grid.ID == br.b {
				t.Fatalf("the retired grid %d still answers", br.b)
			}
		}
		t.Logf("both indexes answered the merge %v after the commit", took)
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
