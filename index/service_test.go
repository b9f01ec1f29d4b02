package index_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"gridmap/geo"
	"gridmap/index"
)

// fakeSource serves a fixed snapshot once release is closed; it fails while
// fail is set.
type fakeSource struct {
	release chan struct{}
	fail    atomic.Bool
	mu      sync.Mutex
	snap    *geo.Snapshot
	calls   atomic.Int64
}

func (f *fakeSource) Snapshot(ctx context.Context, ids []int64, from time.Time) (*geo.Snapshot, error) {
	f.calls.Add(1)
	select {
	case <-f.release:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if f.fail.Load() {
		return nil, errors.New("database unreachable")
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.snap, nil
}

// fakeFallback answers every point with one marker grid.
type fakeFallback struct{ calls atomic.Int64 }

var fallbackGrid = geo.AreaRef{ID: 999, Level: "grid", Code: "FALLBACK", Name: "PostGIS"}

func (f *fakeFallback) LookupPoint(ctx context.Context, q geo.LookupQuery) (*geo.LookupResult, error) {
	f.calls.Add(1)
	g := fallbackGrid
	return &geo.LookupResult{Grid: &g}, nil
}

func (f *fakeFallback) LookupPoints(ctx context.Context, pts []orb.Point, at *time.Time, h string) ([]geo.LookupResult, error) {
	f.calls.Add(1)
	out := make([]geo.LookupResult, len(pts))
	for i := range out {
		g := fallbackGrid
		out[i].Grid = &g
	}
	return out, nil
}

func (f *fakeFallback) LookupAddress(ctx context.Context, text string, limit int, h string) (*geo.AddressResult, error) {
	f.calls.Add(1)
	return &geo.AddressResult{}, nil
}

// fakeFeed lets the test deliver events and resets.
type fakeFeed struct {
	onEvent func(geo.ChangeEvent)
	onReset func()
}

func (f *fakeFeed) Subscribe(onEvent func(geo.ChangeEvent), onReset func()) {
	f.onEvent, f.onReset = onEvent, onReset
}

func date(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func ptr[T any](v T) *T { return &v }

// oneGrid is a district with one square grid and three duties: one ended on
// 2025-03-01, one from 2025-03-02, one from before and open.
func oneGrid() *geo.Snapshot {
	sq := func(x0, y0, s float64) orb.MultiPolygon {
		return orb.MultiPolygon{{{{x0, y0}, {x0 + s, y0}, {x0 + s, y0 + s}, {x0, y0 + s}, {x0, y0}}}}
	}
	resp := func(name string) geo.Responsible {
		return geo.Responsible{Role: geo.RoleGridWorker, RoleZH: "网格员", Name: name, Area: "G1"}
	}
	return &geo.Snapshot{
		Levels: []geo.Level{{Key: "district", Hierarchy: "admin", Depth: 0}, {Key: "grid", Hierarchy: "admin", Depth: 3}},
		Areas: []geo.SnapshotArea{
			{Area: geo.Area{ID: 1, Level: "district", Code: "D", Name: "区"}, Geometry: sq(120, 30, 1)},
			{Area: geo.Area{ID: 2, Level: "grid", Code: "G1", Name: "一", ParentID: 1}, Geometry: sq(120, 30, 0.5)},
		},
		Duties: []geo.SnapshotDuty{
			{Duty: geo.Duty{ID: 10, AreaID: 2, Role: geo.RoleGridWorker, ValidFrom: date("2024-01-01"), ValidTo: ptr(date("2025-03-01"))}, Public: resp("旧")},
			{Duty: geo.Duty{ID: 11, AreaID: 2, Role: geo.RoleGridWorker, ValidFrom: date("2025-03-02")}, Public: resp("新")},
			{Duty: geo.Duty{ID: 12, AreaID: 2, Role: geo.RoleGridWorker, ValidFrom: date("2024-01-01")}, Public: resp("常")},
		},
	}
}

func names(rs []geo.Responsible) string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Name)
	}
	return strings.Join(out, ",")
}

func TestServiceStates(t *testing.T) {
	src := &fakeSource{release: make(chan struct{}), snap: oneGrid()}
	fb := &fakeFallback{}
	feed := &fakeFeed{}
	var now atomic.Pointer[time.Time]
	now.Store(ptr(time.Date(2025, 3, 1, 23, 59, 0, 0, time.FixedZone("CST", 8*3600))))
	svc := index.New(src, feed, fb, index.Config{MaxBatch: 3, Now: func() time.Time { return *now.Load() }, RetryMin: time.Millisecond, RetryMax: 5 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { svc.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()
	in := orb.Point{120.25, 30.25}

	grid := func(t *testing.T, q geo.LookupQuery) string {
		t.Helper()
		r, err := svc.LookupPoint(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if r.Grid == nil {
			return ""
		}
		return r.Grid.Code
	}

	t.Run("while loading: not ready, answers from the fallback", func(t *testing.T) {
		if err := svc.Ready(ctx); err == nil || !strings.Contains(err.Error(), "index is loading") {
			t.Errorf("Ready = %v, want the lookup index is loading", err)
		}
		if got := grid(t, geo.LookupQuery{Point: in}); got != "FALLBACK" {
			t.Errorf("got %s, want the fallback's answer", got)
		}
		one, err := svc.LookupPointJSON(ctx, geo.LookupQuery{Point: in})
		if err != nil || !strings.Contains(string(one), `"code":"FALLBACK"`) {
			t.Errorf("LookupPointJSON: %s, %v; want the fallback's answer", one, err)
		}
		many, err := svc.LookupPointsJSON(ctx, []orb.Point{in, in}, nil, "")
		if err != nil || len(many) != 2 || !strings.Contains(string(many[1]), `"code":"FALLBACK"`) {
			t.Errorf("LookupPointsJSON: %q, %v; want the fallback's answers", many, err)
		}
	})
	close(src.release)
	waitReady(t, svc, 10*time.Second)
	t.Run("loaded: answers from memory", func(t *testing.T) {
		if got := grid(t, geo.LookupQuery{Point: in}); got != "G1" {
			t.Errorf("got %q, want G1", got)
		}
		if got := grid(t, geo.LookupQuery{Point: orb.Point{120.75, 30.75}}); got != "D" {
			t.Errorf("outside the grid, inside the district: got %q, want D", got)
		}
		if got := grid(t, geo.LookupQuery{Point: in, Hierarchy: "school"}); got != "" {
			t.Errorf("unknown hierarchy: got %q, want no area", got)
		}
	})
	t.Run("as of a date: the fallback", func(t *testing.T) {
		if got := grid(t, geo.LookupQuery{Point: in, At: ptr(time.Now())}); got != "FALLBACK" {
			t.Errorf("got %s, want the fallback's answer", got)
		}
	})
	t.Run("bad input is refused like PostGIS refuses it", func(t *testing.T) {
		_, err := svc.LookupPoint(ctx, geo.LookupQuery{Point: orb.Point{120, 91}})
		if geo.ErrorCode(err) != geo.EInvalid || !strings.Contains(geo.ErrorMessage(err), "lat must be between -90 and 90, got 91") {
			t.Errorf("got %v, want invalid lat", err)
		}
		_, err = svc.LookupPoints(ctx, []orb.Point{in, {200, 0}}, nil, "")
		if !strings.Contains(geo.ErrorMessage(err), "point 1: lon must be between") {
			t.Errorf("got %v, want point 1 named", err)
		}
		_, err = svc.LookupPoints(ctx, []orb.Point{in, in, in, in}, nil, "")
		if geo.ErrorCode(err) != geo.EInvalid || !strings.Contains(geo.ErrorMessage(err), "at most 3 points per request, got 4") {
			t.Errorf("got %v, want the batch limit", err)
		}
		_, err = svc.LookupPointsJSON(ctx, []orb.Point{in, {200, 0}}, nil, "")
		if !strings.Contains(geo.ErrorMessage(err), "point 1: lon must be between") {
			t.Errorf("LookupPointsJSON: got %v, want point 1 named", err)
		}
	})
	t.Run("duties follow the China date across midnight", func(t *testing.T) {
		r, _ := svc.LookupPoint(ctx, geo.LookupQuery{Point: in})
		if got := names(r.Responsible); got != "常,旧" {
			t.Errorf("on 2025-03-01: %s, want 常,旧", got)
		}
		now.Store(ptr(time.Date(2025, 3, 1, 16, 0, 1, 0, time.UTC))) // 00:00:01 on 2 March in China
		r, _ = svc.LookupPoint(ctx, geo.LookupQuery{Point: in})
		if got := names(r.Responsible); got != "常,新" {
			t.Errorf("on 2025-03-02: %s, want 常,新", got)
		}
	})
	t.Run("a reset sends lookups to the fallback until reloaded", func(t *testing.T) {
		src.fail.Store(true)
		calls := src.calls.Load()
		feed.onReset()
		if svc.Ready(ctx) == nil {
			t.Error("ready right after a reset")
		}
		if got := grid(t, geo.LookupQuery{Point: in}); got != "FALLBACK" {
			t.Errorf("got %s, want the fallback's answer", got)
		}
		deadline := time.Now().Add(10 * time.Second)
		for src.calls.Load() < calls+3 { // the failing reload is retried
			if time.Now().After(deadline) {
				t.Fatalf("reload tried %d times, want retries", src.calls.Load()-calls)
			}
			time.Sleep(time.Millisecond)
		}
		if svc.Ready(ctx) == nil {
			t.Error("ready while every reload fails")
		}
		src.fail.Store(false)
		waitReady(t, svc, 10*time.Second)
		if got := grid(t, geo.LookupQuery{Point: in}); got != "G1" {
			t.Errorf("after the reload: got %q, want G1", got)
		}
	})
	t.Run("an event reloads the areas it names", func(t *testing.T) {
		next := oneGrid()
		next.Areas = next.Areas[1:]
		next.Areas[0].Name, next.Areas[0].Code = "改名", "G9"
		next.Duties = nil
		src.mu.Lock()
		src.snap = next
		src.mu.Unlock()
		feed.onEvent(geo.ChangeEvent{Change: 2, Layer: geo.LayerAreas, Areas: []int64{2}})
		deadline := time.Now().Add(time.Second)
		for grid(t, geo.LookupQuery{Point: in}) != "G9" {
			if time.Now().After(deadline) {
				t.Fatal("the renamed grid is not answered within 1 s")
			}
			time.Sleep(time.Millisecond)
		}
		r, _ := svc.LookupPoint(ctx, geo.LookupQuery{Point: in})
		if len(r.Areas) != 2 || r.Areas[0].Code != "D" || r.Areas[1].Name != "改名" || len(r.Responsible) != 0 {
			t.Errorf("got %+v, want the chain D › 改名 and no duties", r)
		}
	})
}
