package tiles

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"log/slog"
	"strconv"
	"sync"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
	"github.com/prometheus/client_golang/prometheus"

	"gridmap/geo"
)

// entryOverhead is what one cached tile costs beyond its gzip bytes (key,
// maps, the entry, the validators and the header values made with it),
// counted against Config.CacheBytes so that many empty tiles are bounded too.
const entryOverhead = 448

// key identifies a cached tile: its layer set and z/x/y.
type key struct {
	layers LayerSet
	tile   maptile.Tile
}

// id packs k into one word, the key of Cache.entries: layers in bits 56–63,
// z in 48–52, x in 24–47, y in 0–23 (x and y < 2^MaxZoom = 2^22). A map
// with a uint64 key hashes and compares it as one word (runtime's fast64
// path), where the struct key took the generic path with a hash per field;
// with 20,000 tiles cached a hit's look-up is a memory miss or two, and its
// slots are smaller (docs/scale.md, "Warm tiles").
func (k key) id() uint64 {
	return uint64(k.layers)<<56 | uint64(k.tile.Z)<<48 | uint64(k.tile.X)<<24 | uint64(k.tile.Y)
}

// entry is one cached tile and its place in the recency list. The tile is
// held in the entry, not beside it, and the list is the entries' own links
// (not container/list's elements): a cached tile is one object with
// pointers for the garbage collector to scan, plus its gzip bytes and its
// header strings, which have none (encodeTile). With 20,000 tiles cached
// every request pays for marking what the heap holds (docs/scale.md).
type entry struct {
	key key
	// tile is made once when it is stored, with Hit set, and handed to
	// every request it answers (&e.tile): a hit neither copies nor
	// allocates it.
	tile       Tile
	cost       int64
	prev, next *entry // the recency list: Cache.lru.next is the most recently used
}

// flight is one database query for a tile that concurrent requests share.
type flight struct {
	key      key
	done     chan struct{}
	res      *Tile
	err      error
	waiters  int
	cancel   context.CancelFunc
	doomed   bool   // invalidated while running: its result is served but not stored
	storable bool   // the cache was ready when it started
	epoch    uint64 // Cache.epoch when it started
}

// invalidation removes the tiles of layers, at zoom minZoom and above, whose
// buffered bounds intersect bound (EPSG:4326).
type invalidation struct {
	bound   orb.Bound
	layers  LayerSet
	minZoom int
}

// work is an item for the background worker: a change event to compare area
// attributes for, or (ev nil) a reload after a reset.
type work struct {
	ev *geo.ChangeEvent
}

// Stats counts what the cache did since it started.
type Stats struct {
	Hits          int64 // requests answered from the cache
	Misses        int64 // requests that waited for the database (their own query or a shared one)
	Queries       int64 // tile queries sent to the Source
	Invalidations int64 // cached tiles removed by changes and resets
	Entries       int   // tiles cached now
	Bytes         int64 // their cost now (gzip bytes + overhead)
}

// Cache is the Service gridmap runs: tiles from a Source, gzip-compressed
// once and kept in memory up to Config.CacheBytes (least recently used out
// first), with one database query per tile however many requests want it at
// once. Start subscribes it to the change feed: every event removes exactly
// the cached tiles that the change can alter, and a reset of the feed drops
// everything. See docs/tiles.md.
type Cache struct {
	src     Source
	cfg     Config
	buffer  float64 // cfg.Buffer as a fraction of a tile
	log     *slog.Logger
	metrics *metrics

	mu      sync.Mutex
	entries map[uint64]*entry // by key.id
	// lru is the recency list's sentinel: lru.next is the most recently
	// used entry, lru.prev the least; an empty list links lru to itself.
	lru     entry
	bytes   int64
	zooms   [MaxZoom + 1]map[[2]uint32]uint16 // per zoom, x/y → bit (1<<layers) for each cached layer set
	flights map[key]*flight
	// stale holds the tiles of the last reset that dropped any, served (marked
	// stale) only when a miss cannot be answered because the database is
	// unreachable; dropped when the attributes reload, i.e. the database is back.
	stale map[key]Tile
	epoch uint64 // raised by every reset; flights of an older epoch are not stored
	ready bool   // area attributes loaded since the last reset: results may be stored
	day   time.Time
	// dayFrom and dayTo bound day as instants (dayBounds), [dayFrom, dayTo).
	dayFrom, dayTo time.Time
	version        int64
	attrs          map[int64]AreaAttributes
	queue          []work
	wake           chan struct{}
	// connected blocks until the feed follows the log again (nil: do not
	// wait). A reload waits for it: tiles stored while no event can arrive
	// would stay as they were read however the server changes meanwhile.
	connected func(context.Context) error
	stats     Stats
	extent    struct {
		version int64
		bound   orb.Bound
		ok      bool
	}
}

var _ Service = (*Cache)(nil)

// NewCache returns a cache in front of src. Its metrics are registered on reg
// (nil: not registered). It stores nothing until Start has loaded the area
// attributes.
func NewCache(src Source, cfg Config, log *slog.Logger, reg prometheus.Registerer) *Cache {
	cfg = cfg.WithDefaults()
	if log == nil {
		log = slog.Default()
	}
	c := &Cache{
		src: src, cfg: cfg, buffer: float64(cfg.Buffer) / Extent, log: log,
		entries: map[uint64]*entry{}, flights: map[key]*flight{},
		wake: make(chan struct{}, 1),
	}
	c.lru.prev, c.lru.next = &c.lru, &c.lru
	c.metrics = newMetrics(c, reg)
	for z := range c.zooms {
		c.zooms[z] = map[[2]uint32]uint16{}
	}
	return c
}

// connector is the part of data.ChangeFeed Start uses when the feed has it.
type connector interface {
	WaitConnected(ctx context.Context) error
}

// Start subscribes to feed and runs the worker that loads the area attributes
// and compares them after each change, until ctx ends. When feed can say so
// (WaitConnected), loading waits until the feed listens, so that no change
// between loading and listening goes unseen.
func (c *Cache) Start(ctx context.Context, feed geo.ChangeFeed) {
	c.mu.Lock()
	c.queue = append(c.queue, work{})
	c.mu.Unlock()
	feed.Subscribe(c.onEvent, c.onReset)
	if cf, ok := feed.(connector); ok {
		c.mu.Lock()
		c.connected = cf.WaitConnected
		c.mu.Unlock()
	}
	go c.run(ctx)
}

// WaitReady blocks until the cache stores tiles (the area attributes are
// loaded) or ctx ends.
func (c *Cache) WaitReady(ctx context.Context) error {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		c.mu.Lock()
		ready := c.ready
		c.mu.Unlock()
		if ready {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// Stats returns the counters and the current size.
func (c *Cache) Stats() Stats {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.stats
	s.Entries, s.Bytes = len(c.entries), c.bytes
	return s
}

// Version returns the data version the cache knows: the latest change id
// read at load or announced since.
func (c *Cache) Version() int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.version
}

// Tile returns the tile of layers at t, from the cache or the Source.
func (c *Cache) Tile(ctx context.Context, layers LayerSet, t maptile.Tile) (*Tile, error) {
	if layers == 0 || layers&^AllLayers != 0 {
		return nil, geo.Errorf(geo.EInvalid, "no such layer set %d", layers)
	}
	if t.Z > MaxZoom || !t.Valid() {
		return nil, geo.Errorf(geo.EInvalid, "no tile %s: z must be at most %d and x, y below 2^z", tileString(t), MaxZoom)
	}
	k := key{layers, t}
	c.mu.Lock()
	if now := c.cfg.Now(); c.ready && (now.Before(c.dayFrom) || !now.Before(c.dayTo)) {
		// Duties in force changed at midnight: every grid leader may differ.
		c.resetLocked("a new day began")
	}
	if e := c.entries[k.id()]; e != nil {
		c.moveToFrontLocked(e)
		c.stats.Hits++
		c.metrics.hits.Inc()
		c.mu.Unlock()
		return &e.tile, nil
	}
	c.stats.Misses++
	c.metrics.misses.Inc()
	f := c.flights[k]
	if f == nil {
		f = &flight{key: k, done: make(chan struct{}), storable: c.ready, epoch: c.epoch}
		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), c.cfg.Timeout)
		f.cancel = cancel
		c.flights[k] = f
		c.stats.Queries++
		c.metrics.queries.Inc()
		go c.fly(fctx, f, c.queryLocked(k))
	}
	f.waiters++
	c.mu.Unlock()

	select {
	case <-f.done:
		if f.err != nil {
			if geo.ErrorCode(f.err) == geo.EUnavailable {
				c.mu.Lock()
				t, ok := c.stale[k]
				c.mu.Unlock()
				if ok {
					geo.MarkStale(ctx)
					t.Hit = true
					return &t, nil
				}
			}
			return nil, f.err
		}
		res := *f.res
		return &res, nil
	case <-ctx.Done():
		c.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			// Nobody wants it any more: cancel the query.
			f.cancel()
			if c.flights[k] == f {
				delete(c.flights, k)
			}
		}
		c.mu.Unlock()
		return nil, ctx.Err()
	}
}

func (c *Cache) queryLocked(k key) Query {
	day := c.day
	if !c.ready {
		day = dayOf(c.cfg.Now())
	}
	return c.cfg.Query(k.layers, k.tile, day)
}

// fly runs one flight's query, stores the result unless a change or reset
// made it stale meanwhile, and wakes the waiters.
func (c *Cache) fly(ctx context.Context, f *flight, q Query) {
	defer f.cancel()
	raw, err := c.src.Tile(ctx, q)
	var res *Tile
	if err == nil {
		res, err = encodeTile(raw)
	}
	if err != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		err = &geo.Error{Code: geo.ETimeout, Message: "tile " + tileString(q.Tile) + " took longer than " + c.cfg.Timeout.String(), Err: err}
	}
	c.mu.Lock()
	if c.flights[f.key] == f {
		delete(c.flights, f.key)
	}
	if err == nil && f.storable && !f.doomed && f.epoch == c.epoch {
		c.storeLocked(f.key, *res)
	}
	f.res, f.err = res, err
	c.mu.Unlock()
	close(f.done)
}

// encodeTile compresses raw once and computes its validator and header
// values. A cached tile lives as long as the cache keeps it, and the garbage
// collector marks what it points to at every cycle: its strings are cut from
// one allocation and its four header values share one slice (each of
// capacity 1, so that an Add elsewhere copies instead of writing into the
// next), and the gzip bytes are copied to their own length (a
// bytes.Buffer's grown capacity would be memory Config.CacheBytes does not
// count).
func encodeTile(raw []byte) (*Tile, error) {
	var gz []byte
	if len(raw) > 0 {
		var buf bytes.Buffer
		zw := gzipWriters.Get().(*gzip.Writer)
		defer gzipWriters.Put(zw)
		zw.Reset(&buf)
		if _, err := zw.Write(raw); err != nil {
			return nil, geo.Internal("tiles.encode", err)
		}
		if err := zw.Close(); err != nil {
			return nil, geo.Internal("tiles.encode", err)
		}
		gz = make([]byte, buf.Len())
		copy(gz, buf.Bytes())
	}
	sum := sha256.Sum256(raw)
	var tag [24]byte
	hex.Encode(tag[:], sum[:12])
	// "tag""tag-gzip"<len(raw)><len(gz)>, cut into the four values.
	b := make([]byte, 0, 2*len(tag)+9+40)
	b = append(append(append(b, '"'), tag[:]...), '"')
	etag := len(b)
	b = append(append(append(b, '"'), tag[:]...), `-gzip"`...)
	gzipETag := len(b)
	b = strconv.AppendInt(b, int64(len(raw)), 10)
	length := len(b)
	b = strconv.AppendInt(b, int64(len(gz)), 10)
	s := string(b)
	hdr := []string{s[:etag], s[etag:gzipETag], s[gzipETag:length], s[length:]}
	return &Tile{Gzip: gz, Size: len(raw), ETag: hdr[0], GzipETag: hdr[1],
		ETagHeader: hdr[0:1:1], GzipETagHeader: hdr[1:2:2], LengthHeader: hdr[2:3:3], GzipLengthHeader: hdr[3:4:4]}, nil
}

// gzipWriters keeps gzip writers between tiles: a new one allocates and
// clears its compressor's tables (~800 KB) for every tile a miss encodes.
var gzipWriters = sync.Pool{New: func() any { return gzip.NewWriter(nil) }}

func (c *Cache) storeLocked(k key, t Tile) {
	cost := int64(len(t.Gzip)) + entryOverhead
	if cost > c.cfg.CacheBytes {
		return
	}
	if old := c.entries[k.id()]; old != nil {
		c.removeLocked(old)
	}
	t.Hit = true
	e := &entry{key: k, tile: t, cost: cost}
	c.pushFrontLocked(e)
	c.entries[k.id()] = e
	c.bytes += cost
	xy := [2]uint32{k.tile.X, k.tile.Y}
	c.zooms[k.tile.Z][xy] |= 1 << k.layers
	for c.bytes > c.cfg.CacheBytes {
		c.removeLocked(c.lru.prev)
	}
	c.metrics.bytes.Set(float64(c.bytes))
}

// pushFrontLocked puts e, in no list, first in the recency list.
func (c *Cache) pushFrontLocked(e *entry) {
	e.prev, e.next = &c.lru, c.lru.next
	e.prev.next, e.next.prev = e, e
}

// moveToFrontLocked makes e, in the recency list, its first.
func (c *Cache) moveToFrontLocked(e *entry) {
	if c.lru.next == e {
		return
	}
	e.prev.next, e.next.prev = e.next, e.prev
	c.pushFrontLocked(e)
}

func (c *Cache) removeLocked(e *entry) {
	e.prev.next, e.next.prev = e.next, e.prev
	e.prev, e.next = nil, nil
	delete(c.entries, e.key.id())
	c.bytes -= e.cost
	xy := [2]uint32{e.key.tile.X, e.key.tile.Y}
	m := c.zooms[e.key.tile.Z]
	if bits := m[xy] &^ (1 << e.key.layers); bits == 0 {
		delete(m, xy)
	} else {
		m[xy] = bits
	}
}

// invalidateLocked removes the cached tiles each item covers and dooms the
// flights it covers, so that a query that began before the change cannot
// store what it read. It returns how many tiles it removed.
func (c *Cache) invalidateLocked(items []invalidation) int {
	removed := 0
	for _, it := range items {
		for z := max(it.minZoom, 0); z <= MaxZoom; z++ {
			m := c.zooms[z]
			if len(m) == 0 {
				continue
			}
			s, ok := tileSpan(it.bound, maptile.Zoom(z), c.buffer)
			if !ok {
				continue
			}
			var hit [][2]uint32
			if s.count() <= int64(len(m)) {
				for x := s.x0; x <= s.x1; x++ {
					for y := s.y0; y <= s.y1; y++ {
						if _, ok := m[[2]uint32{uint32(x), uint32(y)}]; ok {
							hit = append(hit, [2]uint32{uint32(x), uint32(y)})
						}
					}
				}
			} else {
				for xy := range m {
					if s.contains(maptile.New(xy[0], xy[1], maptile.Zoom(z))) {
						hit = append(hit, xy)
					}
				}
			}
			for _, xy := range hit {
				bits := m[xy]
				for ls := LayerSet(1); ls <= AllLayers; ls++ {
					if bits&(1<<ls) != 0 && ls&it.layers != 0 {
						c.removeLocked(c.entries[key{ls, maptile.New(xy[0], xy[1], maptile.Zoom(z))}.id()])
						removed++
					}
				}
			}
		}
		for k, f := range c.flights {
			if k.layers&it.layers != 0 && int(k.tile.Z) >= it.minZoom && tileMeets(k.tile, it.bound, c.buffer) {
				f.doomed = true
				delete(c.flights, k)
			}
		}
	}
	c.countInvalidatedLocked(removed)
	return removed
}

func (c *Cache) countInvalidatedLocked(n int) {
	c.stats.Invalidations += int64(n)
	c.metrics.invalidations.Add(float64(n))
	c.metrics.bytes.Set(float64(c.bytes))
}

// resetLocked drops every tile and dooms every flight; nothing is stored
// again until the worker has reloaded the area attributes.
func (c *Cache) resetLocked(why string) {
	n := len(c.entries)
	if n > 0 {
		c.stale = make(map[key]Tile, n)
		for _, e := range c.entries {
			c.stale[e.key] = e.tile
		}
	}
	c.entries = map[uint64]*entry{}
	c.lru.prev, c.lru.next = &c.lru, &c.lru
	c.bytes = 0
	for z := range c.zooms {
		c.zooms[z] = map[[2]uint32]uint16{}
	}
	for k, f := range c.flights {
		f.doomed = true
		delete(c.flights, k)
	}
	c.epoch++
	c.ready = false
	c.queue = append(c.queue[:0], work{})
	c.countInvalidatedLocked(n)
	c.log.Info("tile cache reset", "why", why, "tiles", n)
	c.signal()
}

func (c *Cache) signal() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// layersOf says which layers a change of one feed layer can alter: an area's
// geometry, identity or people show in areas and labels; a building shows in
// buildings and its counts in the areas' totals; a road only in roads.
func layersOf(feedLayer string) LayerSet {
	switch feedLayer {
	case geo.LayerAreas:
		return Areas | Labels
	case geo.LayerBuildings:
		return Buildings | Areas
	case geo.LayerRoads:
		return Roads
	}
	return AllLayers
}

// onEvent runs on the feed's goroutine: it removes the tiles the event's
// bounds cover at once and queues the comparison of area attributes (whose
// totals may change outside those bounds) for the worker.
func (c *Cache) onEvent(ev geo.ChangeEvent) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.version = max(c.version, ev.Change)
	items := make([]invalidation, len(ev.Bounds))
	for i, b := range ev.Bounds {
		items[i] = invalidation{bound: b, layers: layersOf(ev.Layer)}
	}
	c.invalidateLocked(items)
	if ev.Layer == geo.LayerRoads {
		return // roads alter no area's attributes
	}
	c.queue = append(c.queue, work{ev: &ev})
	c.signal()
}

// onReset runs on the feed's goroutine when events may have been lost.
func (c *Cache) onReset() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.resetLocked("change feed reconnected")
}

// run processes the queue until ctx ends.
func (c *Cache) run(ctx context.Context) {
	c.signal()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
		}
		for {
			c.mu.Lock()
			if len(c.queue) == 0 {
				c.mu.Unlock()
				break
			}
			w := c.queue[0]
			c.queue = c.queue[1:]
			epoch, day := c.epoch, c.day
			c.mu.Unlock()
			var err error
			if w.ev == nil {
				err = c.reload(ctx, epoch)
			} else {
				err = c.compare(ctx, epoch, day, w.ev)
			}
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				c.log.Error("tile cache: reading area attributes failed; dropping the cache", "err", err)
				c.mu.Lock()
				if c.epoch == epoch {
					c.resetLocked("reading area attributes failed")
				}
				c.mu.Unlock()
				select { // do not hammer a database that is down
				case <-ctx.Done():
					return
				case <-time.After(time.Second):
				}
			}
		}
	}
}

// reload reads the data version and every area's attributes after a reset.
func (c *Cache) reload(ctx context.Context, epoch uint64) error {
	c.mu.Lock()
	connected := c.connected
	c.mu.Unlock()
	if connected != nil {
		if err := connected(ctx); err != nil {
			return err
		}
	}
	day := dayOf(c.cfg.Now())
	version, err := c.src.Version(ctx)
	if err != nil {
		return err
	}
	all, err := c.src.AreaAttributes(ctx, day, nil)
	if err != nil {
		return err
	}
	attrs := make(map[int64]AreaAttributes, len(all))
	for _, a := range all {
		attrs[a.ID] = a
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch != epoch {
		return nil // reset again meanwhile; its own reload is queued
	}
	c.version = max(c.version, version)
	c.attrs, c.day, c.ready = attrs, day, true
	c.dayFrom, c.dayTo = dayBounds(day)
	c.stale = nil
	return nil
}

// compare reads the attributes of the areas a change may have altered (those
// its bounds touch and their ancestors) and removes the areas-layer tiles of
// every area whose shown attributes differ from what the cache last knew:
// moving buildings between grids changes the totals of grids and ancestors
// that reach beyond the change's bounds.
func (c *Cache) compare(ctx context.Context, epoch uint64, day time.Time, ev *geo.ChangeEvent) error {
	if len(ev.Bounds) == 0 {
		return nil
	}
	now, err := c.src.AreaAttributes(ctx, day, ev.Bounds)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch != epoch || !c.ready {
		return nil // a reset came in between; the reload reads everything afresh
	}
	var items []invalidation
	seen := make(map[int64]bool, len(now))
	for _, a := range now {
		seen[a.ID] = true
		old, known := c.attrs[a.ID]
		if known && old.sameShown(a) {
			c.attrs[a.ID] = a
			continue
		}
		items = append(items, invalidation{bound: a.Bound, layers: Areas, minZoom: c.cfg.LevelMinZoom(a.Level, a.Depth)})
		if known && old.Bound != a.Bound {
			items = append(items, invalidation{bound: old.Bound, layers: Areas, minZoom: c.cfg.LevelMinZoom(old.Level, old.Depth)})
		}
		c.attrs[a.ID] = a
	}
	for _, id := range ev.Areas {
		if !seen[id] {
			delete(c.attrs, id) // retired: its tiles went with the event's bounds
		}
	}
	if n := c.invalidateLocked(items); n > 0 {
		c.log.Debug("tile cache: area totals changed", "change", ev.Change, "areas", len(items), "tiles", n)
	}
	return nil
}
