package tiles

import (
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/project"

	"gridmap/geo"
)

// These tests are about the cache's own logic (flights, bounds, eviction,
// resets), so the Source is a fake; tiles/postgis tests the SQL on PostGIS.

// fakeSource answers each tile with a text naming it and a generation that
// tests raise to tell fresh content from stale. With a gate, queries wait for
// it (or their context's end).
type fakeSource struct {
	mu         sync.Mutex
	gen        int
	queries    int
	gate       chan struct{}
	started    chan maptile.Tile // receives each query's tile when not nil
	cancelled  chan maptile.Tile // receives the tile of each query whose context ended
	attrs      map[int64]AreaAttributes
	attrsCalls int
	down       bool // the database cannot be reached: every call fails as unavailable
}

var errDown = geo.Errorf(geo.EUnavailable, "the server cannot reach its database; try again shortly")

func (f *fakeSource) Tile(ctx context.Context, q Query) ([]byte, error) {
	f.mu.Lock()
	f.queries++
	gate, started, cancelled, gen, down := f.gate, f.started, f.cancelled, f.gen, f.down
	f.mu.Unlock()
	if down {
		return nil, errDown
	}
	if started != nil {
		started <- q.Tile
	}
	if gate != nil {
		select {
		case <-gate:
		case <-ctx.Done():
			if cancelled != nil {
				cancelled <- q.Tile
			}
			return nil, ctx.Err()
		}
	}
	return []byte(fmt.Sprintf("%s %s gen %d", q.Layers, tileString(q.Tile), gen)), nil
}

func (f *fakeSource) Version(ctx context.Context) (int64, error) { return 7, nil }
func (f *fakeSource) Extent(ctx context.Context) (orb.Bound, bool, error) {
	return orb.Bound{Min: orb.Point{120, 30}, Max: orb.Point{120.1, 30.1}}, true, nil
}
func (f *fakeSource) Levels(ctx context.Context) ([]geo.Level, error) {
	return []geo.Level{{Key: "district", Hierarchy: "admin", Depth: 0}, {Key: "grid", Hierarchy: "admin", Depth: 3}}, nil
}

// AreaAttributes returns the areas whose bound meets any of bounds (no
// ancestors: the fake has no hierarchy).
func (f *fakeSource) AreaAttributes(ctx context.Context, day time.Time, bounds []orb.Bound) ([]AreaAttributes, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.attrsCalls++
	if f.down {
		return nil, errDown
	}
	var out []AreaAttributes
	for _, a := range f.attrs {
		if bounds == nil {
			out = append(out, a)
			continue
		}
		for _, b := range bounds {
			if a.Bound.Intersects(b) {
				out = append(out, a)
				break
			}
		}
	}
	return out, nil
}

type fakeFeed struct {
	onEvent func(geo.ChangeEvent)
	onReset func()
}

func (f *fakeFeed) Subscribe(onEvent func(geo.ChangeEvent), onReset func()) {
	f.onEvent, f.onReset = onEvent, onReset
}

// newTestCache returns a started, ready cache on src.
func newTestCache(t *testing.T, src *fakeSource, cfg Config) (*Cache, *fakeFeed) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	c := NewCache(src, cfg, nil, nil)
	feed := &fakeFeed{}
	c.Start(ctx, feed)
	waitReady(t, c)
	return c, feed
}

func waitReady(t *testing.T, c *Cache) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := c.WaitReady(ctx); err != nil {
		t.Fatalf("cache not ready: %v", err)
	}
}

// waitFor polls cond until it holds or 5 s pass.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond) // polling a condition, bounded by the deadline
	}
}

func mustTile(t *testing.T, c *Cache, layers LayerSet, tl maptile.Tile) *Tile {
	t.Helper()
	res, err := c.Tile(context.Background(), layers, tl)
	if err != nil {
		t.Fatalf("tile %s %s: %v", layers, tileString(tl), err)
	}
	return res
}

func content(t *testing.T, res *Tile) string {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(res.Gzip))
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func (c *Cache) cached(k key) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.entries[k.id()] != nil
}

func TestParseTile(t *testing.T) {
	for _, tc := range []struct {
		name, z, x, y, want string
	}{
		{"ok", "10", "854", "422", ""},
		{"z=0 has one tile", "0", "0", "0", ""},
		{"negative zoom", "-1", "0", "0", "z must be between 0 and 22, got -1"},
		{"zoom too deep", "31", "0", "0", "z must be between 0 and 22, got 31"},
		{"x at 2^z", "10", "1024", "0", "x must be between 0 and 1023 at zoom 10, got 1024"},
		{"neg row(y) not allowed", "3", "0", "-1", "y must be between 0 and 7 at zoom 3, got -1"},
		{"y not a number", "3", "0", "a", `y must be a whole number, got "a"`},
		{"x with a fraction", "3", "1.5", "0", `x must be a whole number, got "1.5"`},
		{"plus sign", "+3", "0", "0", `z must be a whole number, got "+3"`},
		{"empty", "", "0", "0", `z must be a whole number, got ""`},
		{"huge", "99999999999999999999", "0", "0", "z is out of range, got 99999999999999999999"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseTile(tc.z, tc.x, tc.y)
			got := ""
			if err != nil {
				got = geo.ErrorMessage(err)
				if geo.ErrorCode(err) != geo.EInvalid {
					t.Errorf("code %q, want invalid_argument", geo.ErrorCode(err))
				}
			}
			if got != tc.want {
				t.Errorf("got %q, want %q", got, tc.want)
			}
		})
	}
}

func TestParseLayersAndTileName(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want LayerSet
		err  string
	}{
		{"areas", Areas, ""},
		{"buildings,areas", Areas | Buildings, ""},
		{"areas,buildings,labels", Areas | Buildings | Labels, ""},
		{"roads,labels,buildings,areas", AllLayers, ""},
		{"roads", Roads, ""},
		{"streets", 0, `unknown layer "streets": the layers are areas, buildings, labels and roads, alone or comma-separated`},
		{"areas,areas", 0, `layer "areas" is listed twice`},
		{"areas,", 0, `unknown layer "": the layers are areas, buildings, labels and roads, alone or comma-separated`},
		{",areas", 0, `unknown layer "": the layers are areas, buildings, labels and roads, alone or comma-separated`},
		{"", 0, `unknown layer "": the layers are areas, buildings, labels and roads, alone or comma-separated`},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseLayers(tc.in)
			if got != tc.want || (err == nil) != (tc.err == "") || (err != nil && geo.ErrorMessage(err) != tc.err) {
				t.Errorf("got %v, %v; want %v, %q", got, err, tc.want, tc.err)
			}
		})
	}
	if got := (Buildings | Areas).String(); got != "areas,buildings" {
		t.Errorf("canonical form %q, want areas,buildings", got)
	}
	for _, tc := range []struct{ in, y, err string }{
		{"5.mvt", "5", ""},
		{"5.pbf", "5", ""},
		{"5.png", "", `a tile is {z}/{x}/{y}.mvt or {z}/{x}/{y}.pbf, got "5.png"`},
		{"5", "", `a tile is {z}/{x}/{y}.mvt or {z}/{x}/{y}.pbf, got "5"`},
	} {
		y, err := ParseTileName(tc.in)
		if y != tc.y || (err == nil) != (tc.err == "") || (err != nil && geo.ErrorMessage(err) != tc.err) {
			t.Errorf("ParseTileName(%q) = %q, %v; want %q, %q", tc.in, y, err, tc.y, tc.err)
		}
	}
}

func TestParseMinZoom(t *testing.T) {
	var c Config
	if err := c.ParseMinZoom("grid=14, community=10,buildings=16"); err != nil {
		t.Fatal(err)
	}
	if c.MinZoom["grid"] != 14 || c.MinZoom["community"] != 10 || c.BuildingsMinZoom != 16 {
		t.Errorf("got %+v, want grid 14, community 10, buildings 16", c)
	}
	if got, want := c.LevelMinZoom("subdistrict", 1), 9; got != want {
		t.Errorf("subdistrict by depth: got %d, want %d", got, want)
	}
	if got, want := c.LevelMinZoom("household", 7), 15; got != want {
		t.Errorf("a deep level: got %d, want %d", got, want)
	}
	if err := c.ParseMinZoom("grid=x"); err == nil || geo.ErrorMessage(err) != `min zoom "grid=x": want KEY=ZOOM with ZOOM from 0 to 22, e.g. grid=13` {
		t.Errorf("got %v, want a message naming the bad item", err)
	}
}

// bufferedBound is a tile's EPSG:4326 bound widened by buffer (a fraction of
// the tile) in EPSG:3857, computed independently of tileSpan.
func bufferedBound(tl maptile.Tile, buffer float64) orb.Bound {
	b := project.Bound(tl.Bound(), project.WGS84.ToMercator)
	w := (b.Max[0] - b.Min[0]) * buffer
	b.Min[0], b.Min[1], b.Max[0], b.Max[1] = b.Min[0]-w, b.Min[1]-w, b.Max[0]+w, b.Max[1]+w
	return project.Bound(b, project.Mercator.ToWGS84)
}

// TestInvalidationIsExact caches every tile over a region at several zooms
// and layer sets, announces a change, and checks that exactly the tiles of
// the changed layers whose buffered bounds meet the change's bounds went.
func TestInvalidationIsExact(t *testing.T) {
	src := &fakeSource{}
	c, feed := newTestCache(t, src, Config{})
	region := orb.Bound{Min: orb.Point{120.10, 30.20}, Max: orb.Point{120.16, 30.26}}
	sets := []LayerSet{Areas, Buildings, Labels, Areas | Buildings}
	var keys []key
	for z := maptile.Zoom(9); z <= 16; z++ {
		lo, hi := maptile.At(orb.Point{region.Min[0], region.Max[1]}, z), maptile.At(orb.Point{region.Max[0], region.Min[1]}, z)
		for x := lo.X; x <= hi.X; x++ {
			for y := lo.Y; y <= hi.Y; y++ {
				for _, ls := range sets {
					keys = append(keys, key{ls, maptile.New(x, y, z)})
				}
			}
		}
	}
	for _, k := range keys {
		mustTile(t, c, k.layers, k.tile)
	}
	if got := c.Stats().Entries; got != len(keys) {
		t.Fatalf("cached %d tiles, want %d", got, len(keys))
	}
	// A grid edit: two small bounds (old and new geometry) in the middle.
	change := []orb.Bound{
		{Min: orb.Point{120.1301, 30.2302}, Max: orb.Point{120.1344, 30.2331}},
		{Min: orb.Point{120.1312, 30.2299}, Max: orb.Point{120.1350, 30.2338}},
	}
	feed.onEvent(geo.ChangeEvent{Change: 9, Layer: geo.LayerAreas, Bounds: change})
	buffer := float64(DefaultBuffer) / Extent
	gone, kept := 0, 0
	for _, k := range keys {
		meets := false
		for _, b := range change {
			meets = meets || bufferedBound(k.tile, buffer).Intersects(b)
		}
		want := !(meets && k.layers&(Areas|Labels) != 0)
		if got := c.cached(k); got != want {
			t.Errorf("%s %s: cached %v, want %v (meets the change: %v)", k.layers, tileString(k.tile), got, want, meets)
		}
		if want {
			kept++
		} else {
			gone++
		}
	}
	if gone == 0 || kept == 0 {
		t.Fatalf("the test proves nothing: %d gone, %d kept", gone, kept)
	}
	if got := c.Stats().Invalidations; got != int64(gone) {
		t.Errorf("invalidations %d, want %d", got, gone)
	}
	if got := c.Version(); got != 9 {
		t.Errorf("version %d after change 9, want 9", got)
	}
	t.Run("a buildings change leaves labels alone", func(t *testing.T) {
		before := c.Stats().Entries
		feed.onEvent(geo.ChangeEvent{Change: 10, Layer: geo.LayerBuildings, Bounds: change})
		for _, k := range keys {
			if k.layers == Labels && !c.cached(k) {
				meets := bufferedBound(k.tile, buffer).Intersects(change[0]) || bufferedBound(k.tile, buffer).Intersects(change[1])
				if !meets {
					t.Errorf("labels %s removed by a buildings change", tileString(k.tile))
				}
			}
			if k.layers == Buildings && c.cached(k) {
				if bufferedBound(k.tile, buffer).Intersects(change[0]) {
					t.Errorf("buildings %s kept after a buildings change over it", tileString(k.tile))
				}
			}
		}
		if c.Stats().Entries >= before {
			t.Errorf("nothing removed by the buildings change")
		}
	})
}

func TestTileSpanAgainstBruteForce(t *testing.T) {
	buffer := float64(DefaultBuffer) / Extent
	for _, b := range []orb.Bound{
		{Min: orb.Point{120.13, 30.23}, Max: orb.Point{120.13, 30.23}}, // a point
		{Min: orb.Point{120.0, 29.9}, Max: orb.Point{120.9, 30.3}},
		{Min: orb.Point{-0.001, -0.001}, Max: orb.Point{0.001, 0.001}}, // across the origin
	} {
		for z := maptile.Zoom(0); z <= 14; z++ {
			s, ok := tileSpan(b, z, buffer)
			lo, hi := maptile.At(orb.Point{b.Min[0], b.Max[1]}, z), maptile.At(orb.Point{b.Max[0], b.Min[1]}, z)
			n := uint32(1) << z
			for x := max(int64(lo.X)-2, 0); x <= min(int64(hi.X)+2, int64(n)-1); x++ {
				for y := max(int64(lo.Y)-2, 0); y <= min(int64(hi.Y)+2, int64(n)-1); y++ {
					tl := maptile.New(uint32(x), uint32(y), z)
					want := bufferedBound(tl, buffer).Intersects(b)
					if got := ok && s.contains(tl); got != want {
						t.Errorf("bound %v tile %s: in span %v, intersects %v", b, tileString(tl), got, want)
					}
				}
			}
		}
	}
}

func TestSingleFlight(t *testing.T) {
	src := &fakeSource{gate: make(chan struct{})}
	c, _ := newTestCache(t, src, Config{})
	tl := maptile.New(854, 422, 10)
	const n = 20
	var wg sync.WaitGroup
	results := make([]string, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			res, err := c.Tile(context.Background(), Areas, tl)
			if err != nil {
				t.Error(err)
				return
			}
			results[i] = content(t, res)
		}(i)
	}
	waitFor(t, "all requests to wait on one query", func() bool {
		c.mu.Lock()
		defer c.mu.Unlock()
		f := c.flights[key{Areas, tl}]
		return f != nil && f.waiters == n
	})
	close(src.gate)
	wg.Wait()
	if src.queries != 1 {
		t.Errorf("%d queries for %d concurrent requests, want 1", src.queries, n)
	}
	for i, r := range results {
		if r != results[0] || r == "" {
			t.Errorf("request %d got %q, want %q", i, r, results[0])
		}
	}
	if s := c.Stats(); s.Misses != n || s.Queries != 1 {
		t.Errorf("stats %+v, want %d misses and 1 query", s, n)
	}
	if res := mustTile(t, c, Areas, tl); !res.Hit {
		t.Error("the tile was not cached after the shared query")
	}
}

func TestCancellation(t *testing.T) {
	src := &fakeSource{gate: make(chan struct{}), cancelled: make(chan maptile.Tile, 4)}
	c, _ := newTestCache(t, src, Config{})

	t.Run("one of two clients going away does not cancel the shared query", func(t *testing.T) {
		tl := maptile.New(1, 1, 3)
		ctxA, cancelA := context.WithCancel(context.Background())
		errA := make(chan error, 1)
		go func() { _, err := c.Tile(ctxA, Areas, tl); errA <- err }()
		resB := make(chan *Tile, 1)
		go func() {
			res, err := c.Tile(context.Background(), Areas, tl)
			if err != nil {
				t.Error(err)
			}
			resB <- res
		}()
		waitFor(t, "two waiters", func() bool {
			c.mu.Lock()
			defer c.mu.Unlock()
			f := c.flights[key{Areas, tl}]
			return f != nil && f.waiters == 2
		})
		cancelA()
		if err := <-errA; !errors.Is(err, context.Canceled) {
			t.Errorf("client A got %v, want context.Canceled", err)
		}
		close(src.gate)
		if res := <-resB; res == nil || res.Empty() {
			t.Errorf("client B got %v, want the tile", res)
		}
	})
	t.Run("the last client going away cancels the query", func(t *testing.T) {
		src.mu.Lock()
		src.gate = make(chan struct{})
		src.mu.Unlock()
		tl := maptile.New(2, 2, 3)
		ctx, cancel := context.WithCancel(context.Background())
		errc := make(chan error, 1)
		go func() { _, err := c.Tile(ctx, Areas, tl); errc <- err }()
		waitFor(t, "the query to start", func() bool {
			c.mu.Lock()
			defer c.mu.Unlock()
			return c.flights[key{Areas, tl}] != nil
		})
		cancel()
		select {
		case got := <-src.cancelled:
			if got != tl {
				t.Errorf("cancelled %s, want %s", tileString(got), tileString(tl))
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the query was not cancelled when its only client went away")
		}
		if err := <-errc; !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
		close(src.gate)
	})
	t.Run("a slow tile times out with a message", func(t *testing.T) {
		slow := &fakeSource{gate: make(chan struct{})}
		sc, _ := newTestCache(t, slow, Config{Timeout: 20 * time.Millisecond})
		_, err := sc.Tile(context.Background(), Areas, maptile.New(0, 0, 0))
		var ge *geo.Error
		if !errors.As(err, &ge) || ge.Code != geo.ETimeout || ge.Message != "tile 0/0/0 took longer than 20ms" {
			t.Errorf("got %v, want a timeout (504) saying the tile took longer than 20ms", err)
		}
	})
}

// TestQueryStartedBeforeAChangeIsNotStored pins the race between a miss and
// an invalidation: the query read the data before the change committed, so
// its result may be served to the requests that waited for it but not cached.
func TestQueryStartedBeforeAChangeIsNotStored(t *testing.T) {
	src := &fakeSource{gate: make(chan struct{}), started: make(chan maptile.Tile, 4)}
	c, feed := newTestCache(t, src, Config{})
	near, far := maptile.New(6831, 3380, 13), maptile.New(6900, 3300, 13)
	done := make(chan struct{}, 2)
	for _, tl := range []maptile.Tile{near, far} {
		go func() {
			if _, err := c.Tile(context.Background(), Areas, tl); err != nil {
				t.Error(err)
			}
			done <- struct{}{}
		}()
		<-src.started
	}
	feed.onEvent(geo.ChangeEvent{Change: 2, Layer: geo.LayerAreas, Bounds: []orb.Bound{near.Bound()}})
	close(src.gate)
	<-done
	<-done
	src.mu.Lock()
	src.gate, src.started = nil, nil
	src.mu.Unlock()
	if c.cached(key{Areas, near}) {
		t.Error("a tile read before the change was cached after the change")
	}
	if !c.cached(key{Areas, far}) {
		t.Error("a far tile read meanwhile was not cached")
	}
}

func TestEvictionKeepsTheBound(t *testing.T) {
	src := &fakeSource{}
	// Each fake tile gzips to about 60 bytes; room for three entries.
	c, _ := newTestCache(t, src, Config{CacheBytes: 3*entryOverhead + 3*80})
	var tls []maptile.Tile
	for i := uint32(0); i < 6; i++ {
		tl := maptile.New(i, 0, 4)
		tls = append(tls, tl)
		mustTile(t, c, Areas, tl)
		if s := c.Stats(); s.Bytes > 3*entryOverhead+3*80 {
			t.Fatalf("after %d tiles the cache holds %d bytes, over its bound", i+1, s.Bytes)
		}
	}
	if s := c.Stats(); s.Entries != 3 {
		t.Errorf("%d entries, want 3", s.Entries)
	}
	for i, tl := range tls {
		if got, want := c.cached(key{Areas, tl}), i >= 3; got != want {
			t.Errorf("tile %d cached %v, want %v (least recently used out first)", i, got, want)
		}
	}
}

// TestHitMovesTileToFront: a hit makes its tile the most recently used, so
// eviction takes the tiles not asked for since (the recency list is the
// entries' own links, not container/list).
func TestHitMovesTileToFront(t *testing.T) {
	for _, tc := range []struct {
		name string
		hits []int // tiles 0, 1, 2 asked for again, in this order, before tile 3 and 4
		want []bool
	}{
		{"no hit: oldest out first", nil, []bool{false, false, true, true, true}},
		{"hit on the oldest keeps it", []int{0}, []bool{true, false, false, true, true}},
		{"hit on the newest changes nothing", []int{2}, []bool{false, false, true, true, true}},
		{"hits in order reverse the list", []int{2, 1, 0}, []bool{true, false, false, true, true}},
		{"hit twice on one tile", []int{1, 1}, []bool{false, true, false, true, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, _ := newTestCache(t, &fakeSource{}, Config{CacheBytes: 3*entryOverhead + 3*80})
			var tls []maptile.Tile
			for i := uint32(0); i < 5; i++ {
				tls = append(tls, maptile.New(i, 0, 4))
			}
			for _, tl := range tls[:3] {
				mustTile(t, c, Areas, tl)
			}
			for _, i := range tc.hits {
				if res := mustTile(t, c, Areas, tls[i]); !res.Hit {
					t.Fatalf("tile %d: a miss, want a hit", i)
				}
			}
			for _, tl := range tls[3:] {
				mustTile(t, c, Areas, tl)
			}
			for i, tl := range tls {
				if got := c.cached(key{Areas, tl}); got != tc.want[i] {
					t.Errorf("tile %d cached %v, want %v", i, got, tc.want[i])
				}
			}
		})
	}
}

// TestKeyIDs: every layer set and z/x/y packs into its own id, up to x and y
// of 2^MaxZoom - 1.
func TestKeyIDs(t *testing.T) {
	last := uint32(1)<<MaxZoom - 1
	keys := []key{
		{Areas, maptile.New(0, 0, 0)},
		{Buildings, maptile.New(0, 0, 0)},
		{AllLayers, maptile.New(0, 0, 0)},
		{Areas, maptile.New(0, 0, 1)},
		{Areas, maptile.New(1, 0, 1)},
		{Areas, maptile.New(0, 1, 1)},
		{Areas, maptile.New(last, 0, MaxZoom)},
		{Areas, maptile.New(0, last, MaxZoom)},
		{Areas, maptile.New(last, last, MaxZoom)},
		{AllLayers, maptile.New(last, last, MaxZoom)},
		{AllLayers, maptile.New(last, last-1, MaxZoom)},
		{AllLayers, maptile.New(last-1, last, MaxZoom)},
		{Areas | Labels, maptile.New(54727, 26975, 16)},
		{Areas | Labels, maptile.New(26975, 54727, 16)},
	}
	seen := map[uint64]key{}
	for _, k := range keys {
		if other, dup := seen[k.id()]; dup {
			t.Errorf("%s %s and %s %s share the id %#x", k.layers, tileString(k.tile), other.layers, tileString(other.tile), k.id())
		}
		seen[k.id()] = k
	}
}

// TestEncodeTileHeaderValues: the header values made with a tile are its
// validators and lengths, one value each, and none can be grown into the
// next (they share one slice).
func TestEncodeTileHeaderValues(t *testing.T) {
	for _, tc := range []struct {
		name string
		raw  []byte
	}{
		{"tile", bytes.Repeat([]byte("areas 16/54727/26975 "), 40)},
		{"empty tile", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := encodeTile(tc.raw)
			if err != nil {
				t.Fatal(err)
			}
			if len(tc.raw) > 0 && cap(res.Gzip) != len(res.Gzip) {
				t.Errorf("gzip bytes: capacity %d for %d bytes, want them copied to their length", cap(res.Gzip), len(res.Gzip))
			}
			tag := strings.Trim(res.ETag, `"`)
			if len(tag) != 24 || res.ETag != `"`+tag+`"` || res.GzipETag != `"`+tag+`-gzip"` {
				t.Errorf("ETag %s, GzipETag %s: want a quoted 24-digit tag and the same with -gzip", res.ETag, res.GzipETag)
			}
			for _, h := range []struct {
				name string
				got  []string
				want string
			}{
				{"ETagHeader", res.ETagHeader, res.ETag},
				{"GzipETagHeader", res.GzipETagHeader, res.GzipETag},
				{"LengthHeader", res.LengthHeader, strconv.Itoa(len(tc.raw))},
				{"GzipLengthHeader", res.GzipLengthHeader, strconv.Itoa(len(res.Gzip))},
			} {
				if len(h.got) != 1 || cap(h.got) != 1 || h.got[0] != h.want {
					t.Errorf("%s = %q (cap %d), want [%q] of capacity 1", h.name, h.got, cap(h.got), h.want)
				}
			}
			_ = append(res.ETagHeader, "x")
			if res.GzipETagHeader[0] != res.GzipETag {
				t.Errorf("appending to ETagHeader changed GzipETagHeader to %q", res.GzipETagHeader)
			}
		})
	}
}

// TestCachedTileIsFewObjects: a cached tile is at most 5 heap objects (the
// entry with its tile, one slice of header values, one string they are cut
// from, the gzip bytes, and the maps' share), not the 10 it was with
// container/list and a slice per header value: the garbage collector marks
// every one at every cycle, and with the 20,720 tiles of bench/tiles' z16
// list every request paid for that (docs/scale.md, "Warm tiles").
func TestCachedTileIsFewObjects(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := NewCache(&fakeSource{}, Config{}, nil, nil)
	c.Start(ctx, &fakeFeed{})
	waitReady(t, c)
	const n = 2000
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	for i := range n {
		mustTile(t, c, Areas|Buildings|Labels, maptile.New(uint32(54000+i%50), uint32(26000+i/50), 16))
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	if s := c.Stats(); s.Entries != n {
		t.Fatalf("%d tiles cached, want %d", s.Entries, n)
	}
	got := float64(int64(after.HeapObjects)-int64(before.HeapObjects)) / n
	t.Logf("%.2f heap objects per cached tile", got)
	if got > 5 {
		t.Errorf("%.2f heap objects per cached tile, want at most 5", got)
	}
	runtime.KeepAlive(c)
}

func TestResetDropsEverything(t *testing.T) {
	src := &fakeSource{}
	c, feed := newTestCache(t, src, Config{})
	tl := maptile.New(3, 3, 5)
	mustTile(t, c, Areas, tl)
	if res := mustTile(t, c, Areas, tl); !res.Hit {
		t.Fatal("not cached")
	}
	feed.onReset()
	if n := c.Stats().Entries; n != 0 {
		t.Errorf("%d entries after a reset, want 0", n)
	}
	src.mu.Lock()
	src.gen++
	src.mu.Unlock()
	res := mustTile(t, c, Areas, tl)
	if res.Hit || content(t, res) != "areas 5/3/3 gen 1" {
		t.Errorf("after a reset got hit=%v %q, want a miss with fresh content", res.Hit, content(t, res))
	}
	waitReady(t, c)
	mustTile(t, c, Areas, tl)
	if res := mustTile(t, c, Areas, tl); !res.Hit {
		t.Error("the cache does not store again after reloading")
	}
}

// TestChangedTotalsReachBeyondTheChange: moving buildings between grids
// changes the totals of an area whose extent reaches beyond the edit's
// bounds; its areas tiles go (from its level's min zoom), the rest stays.
func TestChangedTotalsReachBeyondTheChange(t *testing.T) {
	community := AreaAttributes{ID: 2, Level: "community", Depth: 2, Name: "幸福社区", Households: 100,
		Bound: orb.Bound{Min: orb.Point{120.0, 29.6}, Max: orb.Point{120.8, 30.3}}}
	src := &fakeSource{attrs: map[int64]AreaAttributes{2: community}}
	c, feed := newTestCache(t, src, Config{})
	// Tiles inside the community but far from the edit in its north-west corner.
	farCorner := orb.Point{120.75, 29.65}
	z10, z11, z14 := maptile.At(farCorner, 10), maptile.At(farCorner, 11), maptile.At(farCorner, 14)
	for _, tl := range []maptile.Tile{z10, z11, z14} {
		mustTile(t, c, Areas, tl)
		mustTile(t, c, Labels, tl)
	}
	edit := orb.Bound{Min: orb.Point{120.01, 30.28}, Max: orb.Point{120.02, 30.29}}

	t.Run("totals unchanged: far tiles stay", func(t *testing.T) {
		calls := src.attrsCalls
		feed.onEvent(geo.ChangeEvent{Change: 3, Layer: geo.LayerAreas, Bounds: []orb.Bound{edit}})
		waitFor(t, "the attributes to be compared", func() bool {
			src.mu.Lock()
			defer src.mu.Unlock()
			return src.attrsCalls > calls
		})
		waitFor(t, "the queue to drain", func() bool { c.mu.Lock(); defer c.mu.Unlock(); return len(c.queue) == 0 })
		if !c.cached(key{Areas, z14}) {
			t.Error("a far tile went though no total changed")
		}
	})
	t.Run("totals changed: the community's areas tiles go from z11", func(t *testing.T) {
		src.mu.Lock()
		changed := community
		changed.Households = 90
		src.attrs[2] = changed
		src.mu.Unlock()
		feed.onEvent(geo.ChangeEvent{Change: 4, Layer: geo.LayerAreas, Bounds: []orb.Bound{edit}})
		waitFor(t, "the far areas tile to go", func() bool { return !c.cached(key{Areas, z14}) })
		if c.cached(key{Areas, z11}) {
			t.Error("z11 areas tile kept though the community shows from z11")
		}
		if !c.cached(key{Areas, z10}) {
			t.Error("z10 areas tile removed though communities do not show at z10")
		}
		if !c.cached(key{Labels, z14}) {
			t.Error("labels tile removed though labels show no totals")
		}
	})
}

func TestNewDayDropsTheCache(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 3, 1, 15, 59, 0, 0, time.UTC) // 23:59 in China
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	c, _ := newTestCache(t, &fakeSource{}, Config{Now: clock})
	tl := maptile.New(1, 1, 2)
	mustTile(t, c, Areas, tl)
	if !mustTile(t, c, Areas, tl).Hit {
		t.Fatal("not cached")
	}
	mu.Lock()
	now = now.Add(2 * time.Minute) // 00:01 the next day in China
	mu.Unlock()
	if mustTile(t, c, Areas, tl).Hit {
		t.Error("a tile from yesterday was served: grid leaders in force may have changed at midnight")
	}
	waitFor(t, "the tile cached on the new day", func() bool { return mustTile(t, c, Areas, tl).Hit })
	mu.Lock()
	now = now.Add(-2 * time.Minute) // the clock set back to the day before
	mu.Unlock()
	if mustTile(t, c, Areas, tl).Hit {
		t.Error("a tile of another day was served after the clock went back")
	}
}

// TestDayBounds: an instant is in [from, to) of a day exactly when dayOf
// gives that day (the cache's hit compares its clock with these bounds).
func TestDayBounds(t *testing.T) {
	day := dayOf(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC))
	from, to := dayBounds(day)
	for _, at := range []time.Time{
		from.Add(-time.Nanosecond), from, from.Add(time.Nanosecond), from.Add(12 * time.Hour),
		to.Add(-time.Nanosecond), to, to.Add(time.Nanosecond), to.Add(-48 * time.Hour),
	} {
		in := !at.Before(from) && at.Before(to)
		if same := dayOf(at).Equal(day); in != same {
			t.Errorf("%s: in [from, to) %v, dayOf gives the day %v", at, in, same)
		}
	}
	if got := dayOf(from); !got.Equal(day) {
		t.Errorf("dayOf(from) = %s, want %s", got, day)
	}
}

// TestHitsShareOneTile: hits hand out the tile stored once, marked as a hit,
// without copying it; the miss that stored it is not marked.
func TestHitsShareOneTile(t *testing.T) {
	c, _ := newTestCache(t, &fakeSource{}, Config{})
	tl := maptile.New(3, 2, 4)
	miss := mustTile(t, c, Areas, tl)
	a, b := mustTile(t, c, Areas, tl), mustTile(t, c, Areas, tl)
	if miss.Hit || !a.Hit || a != b {
		t.Errorf("miss hit=%v; hits hit=%v, same tile %v: want a miss, then one shared hit", miss.Hit, a.Hit, a == b)
	}
	if content(t, a) != content(t, miss) {
		t.Errorf("hit %q, miss %q", content(t, a), content(t, miss))
	}
	if n := testing.AllocsPerRun(100, func() { mustTile(t, c, Areas, tl) }); n != 0 {
		t.Errorf("%.0f allocations per hit, want 0", n)
	}
}

func TestEmptyTile(t *testing.T) {
	res, err := encodeTile(nil)
	if err != nil || !res.Empty() || res.Gzip != nil || res.ETag == "" {
		t.Errorf("got %+v, %v; want an empty tile with no gzip body and an ETag", res, err)
	}
}

// TestCacheAnswersFromDroppedTilesWhileUnavailable pins the cache answering
// every tile 500 during a database outage: the feed's reset dropped the
// tiles, and each miss went to the database that was down.
func TestCacheAnswersFromDroppedTilesWhileUnavailable(t *testing.T) {
	src := &fakeSource{}
	c, feed := newTestCache(t, src, Config{})
	cached, other := maptile.New(1, 1, 1), maptile.New(1, 0, 1)
	want, err := c.Tile(context.Background(), Areas, cached)
	if err != nil {
		t.Fatal(err)
	}
	src.mu.Lock()
	src.down = true
	src.mu.Unlock()
	feed.onReset() // the feed lost its connection
	ctx, mark := geo.WithStaleMark(context.Background())
	got, err := c.Tile(ctx, Areas, cached)
	if err != nil || got.ETag != want.ETag || !mark.Stale() {
		t.Fatalf("cached tile while down: %v, %v, stale %v; want the tile of before, marked stale", got, err, mark.Stale())
	}
	if _, err := c.Tile(context.Background(), Areas, other); geo.ErrorCode(err) != geo.EUnavailable {
		t.Errorf("uncached tile while down: %v, want unavailable", err)
	}
	src.mu.Lock()
	src.down, src.gen = false, 1
	src.mu.Unlock()
	feed.onReset() // the feed is back
	waitReady(t, c)
	ctx, mark = geo.WithStaleMark(context.Background())
	got, err = c.Tile(ctx, Areas, cached)
	if err != nil || got.ETag == want.ETag || mark.Stale() {
		t.Errorf("after the outage: %v, %v, stale %v; want the tile read afresh", got, err, mark.Stale())
	}
}

// TestRoadsChangeRemovesOnlyTilesWithRoads: a re-import of roads removes the
// cached tiles that hold the roads layer (alone or with others; AllLayers is
// bit 15 of the per-tile set, past what a uint8 held) over its bounds, keeps
// the rest, and reads no area attributes.
func TestRoadsChangeRemovesOnlyTilesWithRoads(t *testing.T) {
	src := &fakeSource{}
	c, feed := newTestCache(t, src, Config{})
	p := orb.Point{120.13, 30.23}
	far := orb.Point{121.5, 31.2}
	var keys []key
	for _, pt := range []orb.Point{p, far} {
		for _, ls := range []LayerSet{Areas, Roads, AllLayers, Areas | Buildings | Labels} {
			keys = append(keys, key{ls, maptile.At(pt, 14)})
		}
	}
	for _, k := range keys {
		mustTile(t, c, k.layers, k.tile)
	}
	src.mu.Lock()
	calls := src.attrsCalls
	src.mu.Unlock()
	feed.onEvent(geo.ChangeEvent{Change: 11, Layer: geo.LayerRoads, Bounds: []orb.Bound{{Min: p, Max: p}}})
	for _, k := range keys {
		want := !(k.tile == maptile.At(p, 14) && k.layers&Roads != 0)
		if got := c.cached(k); got != want {
			t.Errorf("%s %s: cached %v, want %v", k.layers, tileString(k.tile), got, want)
		}
	}
	if got := c.Version(); got != 11 {
		t.Errorf("version %d after change 11, want 11", got)
	}
	src.mu.Lock()
	defer src.mu.Unlock()
	if src.attrsCalls != calls {
		t.Errorf("a roads change read area attributes %d times, want none", src.attrsCalls-calls)
	}
}
