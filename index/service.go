// Package index answers point lookups from memory: an R-tree per level over
// the current area geometries, prepared for PostGIS's own point-in-polygon
// arithmetic, with the areas' chains and public responsible lists beside
// them. It is built from a Source at start-up and kept current by the change
// feed; "as of date" lookups, and lookups while it is (re)loading, go to a
// fallback (PostGIS). See docs/index.md.
package index

import (
	"context"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb"

	"gridmap/geo"
)

// Source loads the state the index holds (data.SnapshotSource on PostGIS).
type Source interface {
	// Snapshot returns every level, the areas with the given ids (every area
	// when ids is nil) with their current geometries, and their duties in
	// force on dutiesFrom or later, in their public view; all from one
	// consistent state. An id that matches no area is left out.
	Snapshot(ctx context.Context, ids []int64, dutiesFrom time.Time) (*geo.Snapshot, error)
}

// AddressSource is implemented by sources that also load the buildings for
// address search in memory (data.SnapshotSource). Without it addresses are
// searched by the fallback.
type AddressSource interface {
	// Buildings returns every building with an address (code, address,
	// normalised address, name, point).
	Buildings(ctx context.Context) ([]geo.Building, error)
	// Trigrams returns pg_trgm's trigrams of each text as show_trgm writes them.
	Trigrams(ctx context.Context, texts []string) (map[string][]string, error)
}

// Config configures a Service. Zero fields take the defaults.
type Config struct {
	// MaxBatch is the most points one LookupPoints call takes; default 100,000.
	MaxBatch int
	// Listening blocks until the change feed listens (or ctx ends). Full
	// loads wait for it, so that no change committed after the load's read
	// goes unannounced. nil: do not wait.
	Listening func(ctx context.Context) error
	// Now is the clock that decides "today" for duties; default time.Now.
	Now func() time.Time
	// RetryMin and RetryMax bound the back-off between failed loads;
	// defaults 100 ms and 10 s.
	RetryMin, RetryMax time.Duration
	Log                *slog.Logger
}

// Service is a geo.LookupService answering current point lookups from
// memory and everything else from its fallback.
type Service struct {
	cfg      Config
	src      Source
	fallback geo.LookupService

	cur    atomic.Pointer[state]
	usable atomic.Bool // cur is loaded and no change may have been missed since

	addr       atomic.Pointer[addressIndex]
	addrUsable atomic.Bool // addr is loaded and no building change is pending

	mu               sync.Mutex // guards the pending work below
	pendingAll       bool
	pendingIDs       map[int64]struct{}
	pendingBuildings bool
	wake             chan struct{}

	loads            atomic.Int64 // completed loads, full or partial
	fallbacks        atomic.Int64 // point lookups answered by the fallback
	addressFallbacks atomic.Int64 // address lookups answered by the fallback
	staleAnswers     atomic.Int64 // lookups answered from memory while the database was unreachable
	lastLoad         atomic.Pointer[LoadStats]
}

var _ geo.LookupService = (*Service)(nil)

// LoadStats describes the last completed load.
type LoadStats struct {
	Full     bool          // everything, rather than the areas of an event
	Areas    int           // areas loaded
	Indexed  int           // areas lookups can answer with, after the load
	Duration time.Duration // reading and building
	At       time.Time
}

// New returns a Service that loads from src, follows feed and answers what it
// cannot from fallback. It subscribes to feed at once (so nothing announced
// from now on is missed); call Run to load and keep current.
func New(src Source, feed geo.ChangeFeed, fallback geo.LookupService, cfg Config) *Service {
	if cfg.MaxBatch <= 0 {
		cfg.MaxBatch = 100_000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = 100 * time.Millisecond
	}
	if cfg.RetryMax <= 0 {
		cfg.RetryMax = 10 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	s := &Service{cfg: cfg, src: src, fallback: fallback, pendingAll: true, pendingIDs: map[int64]struct{}{}, pendingBuildings: true, wake: make(chan struct{}, 1)}
	if feed != nil {
		feed.Subscribe(s.onEvent, s.onReset)
	}
	return s
}

// onEvent queues the areas an event names for reloading, and after a
// buildings change the buildings (address search goes to the fallback until
// they are reloaded). It runs on the feed's goroutine and does not block.
func (s *Service) onEvent(ev geo.ChangeEvent) {
	s.mu.Lock()
	if ev.Layer == geo.LayerBuildings {
		s.addrUsable.Store(false)
		s.pendingBuildings = true
	}
	if len(ev.Areas) == 0 && ev.Layer == geo.LayerAreas {
		s.pendingAll = true // an areas change that does not say which: reload all
	}
	for _, id := range ev.Areas {
		s.pendingIDs[id] = struct{}{}
	}
	s.mu.Unlock()
	s.signal()
}

// onReset is called when events may have been missed: answers go to the
// fallback until everything is reloaded.
func (s *Service) onReset() {
	s.usable.Store(false)
	s.addrUsable.Store(false)
	s.mu.Lock()
	s.pendingAll = true
	s.pendingBuildings = true
	s.mu.Unlock()
	s.signal()
}

func (s *Service) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// Run loads everything, then applies announced changes and the change of day
// until ctx ends; it returns ctx's error. Failed loads are retried with
// back-off while lookups go to the fallback.
func (s *Service) Run(ctx context.Context) error {
	backoff := s.cfg.RetryMin
	for {
		if err := s.step(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			s.cfg.Log.Error("lookup index: load failed; lookups go to PostGIS meanwhile", "err", err, "retry_in", backoff)
			select {
			case <-ctx.Done():
				return ctx.Err()
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, s.cfg.RetryMax)
			continue
		}
		backoff = s.cfg.RetryMin
		midnight := time.NewTimer(s.untilNextDay())
		select {
		case <-ctx.Done():
			midnight.Stop()
			return ctx.Err()
		case <-s.wake:
		case <-midnight.C:
		}
		midnight.Stop()
	}
}

// untilNextDay is the time until the next midnight in China, plus a little
// so the clock reads the new day.
func (s *Service) untilNextDay() time.Duration {
	now := s.cfg.Now().In(chinaTime)
	y, m, d := now.Date()
	next := time.Date(y, m, d+1, 0, 0, 0, 0, chinaTime)
	return next.Sub(now) + 10*time.Millisecond
}

// step does the pending work: a full load, the areas of events, or the
// responsible lists of a new day.
func (s *Service) step(ctx context.Context) error {
	s.mu.Lock()
	all := s.pendingAll
	var ids []int64
	if !all {
		ids = make([]int64, 0, len(s.pendingIDs))
		for id := range s.pendingIDs {
			ids = append(ids, id)
		}
	}
	buildings := s.pendingBuildings
	s.pendingAll = false
	s.pendingIDs = map[int64]struct{}{}
	s.pendingBuildings = false
	s.mu.Unlock()

	var err error
	switch {
	case all:
		err = s.loadAll(ctx)
	case len(ids) > 0:
		err = s.loadAreas(ctx, ids)
	}
	if err != nil {
		s.mu.Lock()
		if all {
			s.pendingAll = true
		} else {
			// A change we know of is not applied: answer from PostGIS until
			// a full reload has caught up.
			s.usable.Store(false)
			s.pendingAll = true
		}
		s.pendingBuildings = s.pendingBuildings || buildings
		s.mu.Unlock()
		return err
	}
	if buildings {
		if err := s.loadAddresses(ctx); err != nil {
			s.mu.Lock()
			s.pendingBuildings = true
			s.mu.Unlock()
			return err
		}
	}
	if cur := s.cur.Load(); cur != nil {
		if today := civilDay(s.cfg.Now()); today != cur.day {
			s.cur.Store(cur.withDay(today))
		}
	}
	return nil
}

func (s *Service) loadAll(ctx context.Context) error {
	if s.cfg.Listening != nil {
		if err := s.cfg.Listening(ctx); err != nil {
			return fmt.Errorf("index: waiting for the change feed: %w", err)
		}
	}
	start := time.Now()
	today := civilDay(s.cfg.Now())
	snap, err := s.src.Snapshot(ctx, nil, dayTime(today))
	if err != nil {
		return fmt.Errorf("index: full load: %w", err)
	}
	st := buildState(snap.Levels, applySnapshot(nil, snap, nil), today)
	s.publish(st, &LoadStats{Full: true, Areas: len(snap.Areas), Indexed: len(st.slots), Duration: time.Since(start), At: time.Now()})
	// Events queued while loading were read by the load or came after it;
	// applying them again is harmless. Only now is the index usable.
	s.mu.Lock()
	if !s.pendingAll {
		s.usable.Store(true)
	}
	s.mu.Unlock()
	s.cfg.Log.Info("lookup index: loaded", "areas", len(snap.Areas), "indexed", len(st.slots), "duties", len(snap.Duties), "duration", time.Since(start))
	return nil
}

func (s *Service) loadAreas(ctx context.Context, ids []int64) error {
	cur := s.cur.Load()
	if cur == nil {
		return s.loadAll(ctx)
	}
	start := time.Now()
	today := civilDay(s.cfg.Now())
	snap, err := s.src.Snapshot(ctx, ids, dayTime(today))
	if err != nil {
		return fmt.Errorf("index: loading %d changed areas: %w", len(ids), err)
	}
	st := buildState(snap.Levels, applySnapshot(cur.areas, snap, ids), today)
	s.publish(st, &LoadStats{Areas: len(snap.Areas), Indexed: len(st.slots), Duration: time.Since(start), At: time.Now()})
	s.cfg.Log.Debug("lookup index: applied a change", "areas", len(ids), "duration", time.Since(start))
	return nil
}

// loadAddresses reads every building with an address and indexes them.
func (s *Service) loadAddresses(ctx context.Context) error {
	as, ok := s.src.(AddressSource)
	if !ok {
		return nil
	}
	if s.cfg.Listening != nil {
		if err := s.cfg.Listening(ctx); err != nil {
			return fmt.Errorf("index: waiting for the change feed: %w", err)
		}
	}
	start := time.Now()
	bs, err := as.Buildings(ctx)
	if err != nil {
		return fmt.Errorf("index: loading buildings: %w", err)
	}
	var shown map[string][]trigram
	if norms := unsafeNorms(bs); len(norms) > 0 {
		raw, err := as.Trigrams(ctx, norms)
		if err != nil {
			return fmt.Errorf("index: trigrams of %d addresses: %w", len(norms), err)
		}
		shown = make(map[string][]trigram, len(raw))
		for n, ts := range raw {
			for _, t := range ts {
				v, ok := parseShownTrigram(t)
				if !ok {
					return fmt.Errorf("index: show_trgm(%q) gave %q, not a trigram", n, t)
				}
				shown[n] = append(shown[n], v)
			}
		}
	}
	ix := newAddressIndex(bs, shown)
	s.addr.Store(ix)
	s.mu.Lock()
	if !s.pendingBuildings {
		s.addrUsable.Store(true)
	}
	s.mu.Unlock()
	s.cfg.Log.Info("lookup index: addresses loaded", "buildings", len(ix.buildings), "duration", time.Since(start))
	return nil
}

func (s *Service) publish(st *state, ls *LoadStats) {
	s.cur.Store(st)
	s.loads.Add(1)
	s.lastLoad.Store(ls)
}

// dayTime is the yyyymmdd day as a date at 00:00 UTC.
func dayTime(day int32) time.Time {
	return time.Date(int(day/10000), time.Month(day/100%100), int(day%100), 0, 0, 0, 0, time.UTC)
}

// errLoading is what Ready says while the index cannot answer.
var errLoading = geo.Errorf(geo.EUnavailable, "the lookup index is loading")

// Ready reports nil once the index is loaded and current; until then (and
// after the change feed lost its connection, until reloaded) lookups go to
// PostGIS and Ready says "the lookup index is loading" (unavailable).
func (s *Service) Ready(ctx context.Context) error {
	if !s.usable.Load() {
		return errLoading
	}
	return nil
}

// Stats describes the index for metrics.
type Stats struct {
	Ready            bool // point lookups are answered from memory
	AddressReady     bool // address lookups are answered from memory
	Loads            int64
	Fallbacks        int64 // point lookups answered by the fallback (as-of dates, or while loading)
	AddressFallbacks int64 // address lookups answered by the fallback
	StaleAnswers     int64 // lookups answered from memory, marked stale, while the database was unreachable
	Buildings        int   // buildings in the address index
	Last             *LoadStats
}

// Stats returns the index's counters.
func (s *Service) Stats() Stats {
	st := Stats{Ready: s.usable.Load(), AddressReady: s.addrUsable.Load(), Loads: s.loads.Load(), Fallbacks: s.fallbacks.Load(),
		AddressFallbacks: s.addressFallbacks.Load(), StaleAnswers: s.staleAnswers.Load(), Last: s.lastLoad.Load()}
	if ax := s.addr.Load(); ax != nil {
		st.Buildings = len(ax.buildings)
	}
	return st
}

// staleState is the state to answer from when the fallback failed with err
// because the database cannot be reached: the last state loaded, however old
// (marked stale in ctx, see geo.MarkStale). nil when err is anything else,
// for as-of dates (memory holds today only) and before the first load.
func (s *Service) staleState(ctx context.Context, err error, at *time.Time) *state {
	if at != nil || geo.ErrorCode(err) != geo.EUnavailable {
		return nil
	}
	st := s.cur.Load()
	if st == nil {
		return nil
	}
	s.staleAnswers.Add(1)
	geo.MarkStale(ctx)
	return st
}

// MaxBatchPoints is the most points one LookupPoints call takes.
func (s *Service) MaxBatchPoints() int { return s.cfg.MaxBatch }

// current returns the state to answer from, or nil to use the fallback: for
// dates (history is not in memory), while loading, and for requests that
// must see the primary's data (geo.PrimaryReads: staff, and clients whose
// own last write this process does not show yet), which the fallback reads.
func (s *Service) current(ctx context.Context, at *time.Time) *state {
	if at != nil || !s.usable.Load() || geo.PrimaryReads(ctx) {
		return nil
	}
	return s.cur.Load()
}

// LookupPoint answers which areas contain q.Point by the rule of
// docs/lookup.md, from memory when q.At is nil and the index is loaded.
func (s *Service) LookupPoint(ctx context.Context, q geo.LookupQuery) (*geo.LookupResult, error) {
	st := s.current(ctx, q.At)
	if st == nil {
		s.fallbacks.Add(1)
		r, err := s.fallback.LookupPoint(ctx, q)
		if st = s.staleState(ctx, err, q.At); st == nil {
			return r, err
		}
	}
	if err := geo.ValidateLonLat(q.Point[0], q.Point[1]); err != nil {
		return nil, err
	}
	h := q.Hierarchy
	if h == "" {
		h = geo.DefaultHierarchy
	}
	r := st.lookup(q.Point, h, civilDay(s.cfg.Now()))
	return &r, nil
}

// LookupPointJSON answers like LookupPoint, encoded as encoding/json writes
// a geo.LookupResult with SetEscapeHTML(false), without a newline. The index
// keeps the answer of each area encoded, so a lookup inside one area costs no
// encoding; the slice is shared: do not change it.
func (s *Service) LookupPointJSON(ctx context.Context, q geo.LookupQuery) ([]byte, error) {
	st := s.current(ctx, q.At)
	if st == nil {
		r, err := s.LookupPoint(ctx, q)
		if err != nil {
			return nil, err
		}
		return encodeResult(nil, r), nil
	}
	if err := geo.ValidateLonLat(q.Point[0], q.Point[1]); err != nil {
		return nil, err
	}
	h := q.Hierarchy
	if h == "" {
		h = geo.DefaultHierarchy
	}
	return st.lookupJSON(q.Point, h, civilDay(s.cfg.Now())), nil
}

// parallelMin is the batch size from which LookupPoints uses every CPU.
const parallelMin = 2048

// LookupPoints answers up to Config.MaxBatch points, one result per point in
// order. Results share their Areas and Responsible slices: do not change them.
func (s *Service) LookupPoints(ctx context.Context, points []orb.Point, at *time.Time, hierarchy string) ([]geo.LookupResult, error) {
	st, hierarchy, err := s.batchState(ctx, points, at, hierarchy)
	if err != nil {
		return nil, err
	}
	if st == nil {
		s.fallbacks.Add(int64(len(points)))
		rs, err := s.fallback.LookupPoints(ctx, points, at, hierarchy)
		if st = s.staleState(ctx, err, at); st == nil {
			return rs, err
		}
		for i, p := range points {
			if err := geo.ValidateLonLat(p[0], p[1]); err != nil {
				return nil, geo.Errorf(geo.EInvalid, "point %d: %s", i, geo.ErrorMessage(err))
			}
		}
		if hierarchy == "" {
			hierarchy = geo.DefaultHierarchy
		}
	}
	day := civilDay(s.cfg.Now())
	out := make([]geo.LookupResult, len(points))
	parallel(len(points), func(i int) { out[i] = st.lookup(points[i], hierarchy, day) })
	return out, nil
}

// LookupPointsJSON answers like LookupPoints, each answer as LookupPointJSON
// encodes it. The slices may be shared with other answers: do not change them.
func (s *Service) LookupPointsJSON(ctx context.Context, points []orb.Point, at *time.Time, hierarchy string) ([][]byte, error) {
	st, h, err := s.batchState(ctx, points, at, hierarchy)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(points))
	if st == nil {
		rs, err := s.LookupPoints(ctx, points, at, hierarchy)
		if err != nil {
			return nil, err
		}
		for i := range rs {
			out[i] = encodeResult(nil, &rs[i])
		}
		return out, nil
	}
	day := civilDay(s.cfg.Now())
	parallel(len(points), func(i int) { out[i] = st.lookupJSON(points[i], h, day) })
	return out, nil
}

// batchState checks a batch as PostGIS's LookupPoints does and returns the
// state to answer it from (nil: the fallback) and the hierarchy to use.
func (s *Service) batchState(ctx context.Context, points []orb.Point, at *time.Time, hierarchy string) (*state, string, error) {
	if len(points) > s.cfg.MaxBatch {
		return nil, "", geo.Errorf(geo.EInvalid, "at most %d points per request, got %d", s.cfg.MaxBatch, len(points))
	}
	st := s.current(ctx, at)
	if st == nil {
		return nil, hierarchy, nil
	}
	for i, p := range points {
		if err := geo.ValidateLonLat(p[0], p[1]); err != nil {
			if len(points) > 1 {
				return nil, "", geo.Errorf(geo.EInvalid, "point %d: %s", i, geo.ErrorMessage(err))
			}
			return nil, "", err
		}
	}
	if hierarchy == "" {
		hierarchy = geo.DefaultHierarchy
	}
	return st, hierarchy, nil
}

// parallel runs f(0…n-1), on every CPU when n is large.
func parallel(n int, f func(i int)) {
	workers := runtime.GOMAXPROCS(0)
	if n < parallelMin || workers == 1 {
		for i := range n {
			f(i)
		}
		return
	}
	var wg sync.WaitGroup
	per := (n + workers - 1) / workers
	for lo := 0; lo < n; lo += per {
		hi := min(lo+per, n)
		wg.Go(func() {
			for i := lo; i < hi; i++ {
				f(i)
			}
		})
	}
	wg.Wait()
}

// LookupAddress answers an address query by geo.MatchAddress, ranked as
// PostGIS ranks it (see address.go); from memory when both indexes are
// loaded and the query has only characters whose trigrams this package
// reproduces, otherwise from the fallback.
func (s *Service) LookupAddress(ctx context.Context, text string, limit int, hierarchy string) (*geo.AddressResult, error) {
	norm := geo.NormalizeAddress(text)
	st, ax := s.current(ctx, nil), s.addr.Load()
	_, rankable := trigramsOf(norm)
	if norm == "" || !rankable || st == nil || ax == nil || !s.addrUsable.Load() {
		if norm != "" {
			s.addressFallbacks.Add(1)
		}
		res, err := s.fallback.LookupAddress(ctx, text, limit, hierarchy)
		// During an outage a loaded index answers what it can rank, marked stale;
		// a query with characters it cannot rank gets the outage's error.
		if norm == "" || !rankable || ax == nil {
			return res, err
		}
		if st = s.staleState(ctx, err, nil); st == nil {
			return res, err
		}
	}
	return geo.MatchAddress(ctx, &memoryAddresses{st: st, ax: ax, today: civilDay(s.cfg.Now())}, text, limit, hierarchy)
}

// memoryAddresses is one state of the indexes as a geo.AddressStore.
type memoryAddresses struct {
	st    *state
	ax    *addressIndex
	today int32 // civilDay
}

func (m *memoryAddresses) AddressCandidates(ctx context.Context, norm string, n int) ([]geo.AddressCandidate, error) {
	cands, _ := m.ax.search(norm, n) // LookupAddress checked that it can
	return cands, nil
}

func (m *memoryAddresses) StreetPoints(ctx context.Context, norm string) ([]orb.Point, error) {
	return m.ax.streetPoints(norm), nil
}

func (m *memoryAddresses) LookupPoint(ctx context.Context, q geo.LookupQuery) (*geo.LookupResult, error) {
	lr := m.st.lookup(q.Point, hierarchyOr(q.Hierarchy), m.today)
	return &lr, nil
}

// LookupPoints answers on today (geo.MatchAddress passes no date).
func (m *memoryAddresses) LookupPoints(ctx context.Context, pts []orb.Point, _ *time.Time, hierarchy string) ([]geo.LookupResult, error) {
	out := make([]geo.LookupResult, len(pts))
	for i, p := range pts {
		out[i] = m.st.lookup(p, hierarchyOr(hierarchy), m.today)
	}
	return out, nil
}

func hierarchyOr(h string) string {
	if h == "" {
		return geo.DefaultHierarchy
	}
	return h
}
