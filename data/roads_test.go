package data_test

import (
	"context"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/geo"
)

func road(name string, class geo.RoadClass, source string, pts ...orb.Point) geo.Road {
	return geo.Road{Name: name, Class: class, Source: source, Line: pts}
}

// TestReplaceRoads: an import replaces the roads of its source only, in one
// transaction, and announces the old and new extents on the roads layer.
func TestReplaceRoads(t *testing.T) {
	db, _ := dbtest.New(t, "data_roads")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	im := data.NewImporter(db)
	feed := data.NewChangeFeed(db, nil)
	events := make(chan geo.ChangeEvent, 16)
	feed.Subscribe(func(ev geo.ChangeEvent) { events <- ev }, func() {})
	go feed.Run(ctx)
	wctx, wcancel := context.WithTimeout(ctx, 5*time.Second)
	defer wcancel()
	if err := feed.WaitConnected(wctx); err != nil {
		t.Fatal(err)
	}
	all := orb.Bound{Min: orb.Point{-180, -90}, Max: orb.Point{180, 90}}
	count := func(source string) int {
		t.Helper()
		rs, err := im.RoadsIn(ctx, all)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for _, r := range rs {
			if r.Source == source {
				n++
			}
		}
		return n
	}
	a1 := road("幸福路", geo.RoadMajor, "a", orb.Point{120, 30}, orb.Point{120.01, 30})
	a2 := road("和平街", geo.RoadMinor, "a", orb.Point{120, 30}, orb.Point{120, 30.01})
	b1 := road("", geo.RoadPath, "b", orb.Point{121, 31}, orb.Point{121.01, 31.01})
	opt := geo.ImportOptions{Author: "test", Reason: "roads"}

	rep, err := im.ReplaceRoads(ctx, "a", []geo.Road{a1, a2}, opt)
	if err != nil || rep.Imported != 2 || rep.Replaced != 0 || rep.ByClass[geo.RoadMajor] != 1 {
		t.Fatalf("first import: got %+v, %v", rep, err)
	}
	if _, err := im.ReplaceRoads(ctx, "b", []geo.Road{b1}, opt); err != nil {
		t.Fatal(err)
	}
	waitEvent := func(change int64) geo.ChangeEvent {
		t.Helper()
		for {
			select {
			case ev := <-events:
				if ev.Change == change {
					return ev
				}
			case <-wctx.Done():
				t.Fatalf("no event for change %d", change)
			}
		}
	}
	if ev := waitEvent(rep.ChangeID); ev.Layer != geo.LayerRoads || len(ev.Bounds) != 1 || ev.Bounds[0] != (orb.Bound{Min: orb.Point{120, 30}, Max: orb.Point{120.01, 30.01}}) {
		t.Errorf("first import's event: got %+v, want the roads layer and the new roads' extent", ev)
	}

	t.Run("re-import replaces the roads of the same source only", func(t *testing.T) {
		moved := road("幸福路", geo.RoadMajor, "a", orb.Point{120.5, 30}, orb.Point{120.6, 30})
		rep, err := im.ReplaceRoads(ctx, "a", []geo.Road{moved}, opt)
		if err != nil || rep.Imported != 1 || rep.Replaced != 2 {
			t.Fatalf("got %+v, %v; want 1 imported, 2 replaced", rep, err)
		}
		if got, want := count("a"), 1; got != want {
			t.Errorf("source a: got %d roads, want %d", got, want)
		}
		if got, want := count("b"), 1; got != want {
			t.Errorf("source b: got %d roads, want %d", got, want)
		}
		ev := waitEvent(rep.ChangeID)
		if len(ev.Bounds) != 2 || !ev.Bounds[0].Contains(orb.Point{120, 30.01}) || !ev.Bounds[1].Contains(orb.Point{120.55, 30}) {
			t.Errorf("got bounds %v, want the old roads' extent and the new ones'", ev.Bounds)
		}
	})
	t.Run("a bad road fails the whole import and keeps the old roads", func(t *testing.T) {
		for name, bad := range map[string]geo.Road{
			"class":        road("x", "highway", "a", orb.Point{0, 0}, orb.Point{1, 1}),
			"NUL in name":  road("a\x00", geo.RoadMinor, "a", orb.Point{0, 0}, orb.Point{1, 1}),
			"one position": road("x", geo.RoadMinor, "a", orb.Point{0, 0}, orb.Point{0, 0}),
			"lat 95":       road("x", geo.RoadMinor, "a", orb.Point{0, 0}, orb.Point{0, 95}),
			"other source": road("x", geo.RoadMinor, "b", orb.Point{0, 0}, orb.Point{1, 1}),
		} {
			if _, err := im.ReplaceRoads(ctx, "a", []geo.Road{a1, bad}, opt); geo.ErrorCode(err) != geo.EInvalid {
				t.Errorf("%s: got %v, want invalid_argument", name, err)
			}
		}
		if _, err := im.ReplaceRoads(ctx, "", []geo.Road{}, opt); geo.ErrorCode(err) != geo.EInvalid {
			t.Errorf("empty source: got %v, want invalid_argument", err)
		}
		if got := count("a"); got != 1 {
			t.Errorf("source a: got %d roads, want the 1 of before", got)
		}
	})
	t.Run("dry run writes nothing", func(t *testing.T) {
		rep, err := im.ReplaceRoads(ctx, "a", []geo.Road{a1, a2}, geo.ImportOptions{DryRun: true})
		if err != nil || rep.Imported != 2 {
			t.Fatalf("got %+v, %v", rep, err)
		}
		if got := count("a"); got != 1 {
			t.Errorf("source a: got %d roads after a dry run, want 1", got)
		}
	})
}

// TestReplaceRoadsConcurrently: imports of one source at once end with the
// roads of one of them, never both.
func TestReplaceRoadsConcurrently(t *testing.T) {
	db, _ := dbtest.New(t, "data_roads_race")
	ctx := context.Background()
	im := data.NewImporter(db)
	const n = 4
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func(i int) {
			x := 120 + float64(i)/100
			_, err := im.ReplaceRoads(ctx, "s", []geo.Road{
				road("a", geo.RoadMinor, "s", orb.Point{x, 30}, orb.Point{x, 30.01}),
				road("b", geo.RoadMinor, "s", orb.Point{x, 30}, orb.Point{x + 0.01, 30}),
			}, geo.ImportOptions{Author: "test"})
			errs <- err
		}(i)
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	rs, err := im.RoadsIn(ctx, orb.Bound{Min: orb.Point{119, 29}, Max: orb.Point{121, 31}})
	if err != nil {
		t.Fatal(err)
	}
	if len(rs) != 2 || rs[0].Line[0] != rs[1].Line[0] {
		t.Errorf("got %d roads %v, want the 2 of one import", len(rs), rs)
	}
}
