package data

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridmap/geo"
)

// ChangeChannel is the LISTEN/NOTIFY channel changes are announced on.
const ChangeChannel = "gridmap_changes"

// maxBoundsPerEvent keeps each NOTIFY payload well under PostgreSQL's 8,000 bytes.
const maxBoundsPerEvent = 60

// wireEvent is a ChangeEvent as it travels in a NOTIFY payload.
type wireEvent struct {
	Change int64        `json:"change"`
	Layer  string       `json:"layer"`
	Areas  []int64      `json:"areas,omitempty"`
	Bounds [][4]float64 `json:"bounds"`
}

// announce queues NOTIFYs for ev inside tx; PostgreSQL delivers them when tx
// commits and drops them when it rolls back. Large changes are sent in chunks;
// a change touching very many features is sent as the union of its bounds.
func announce(ctx context.Context, tx pgx.Tx, ev geo.ChangeEvent) error {
	bounds := ev.Bounds
	if len(bounds) > 50*maxBoundsPerEvent {
		u := bounds[0]
		for _, b := range bounds[1:] {
			u = u.Union(b)
		}
		bounds = []orb.Bound{u}
	}
	areas := ev.Areas
	for first := true; first || len(bounds) > 0 || len(areas) > 0; first = false {
		w := wireEvent{Change: ev.Change, Layer: ev.Layer, Bounds: [][4]float64{}}
		n := min(len(bounds), maxBoundsPerEvent)
		for _, b := range bounds[:n] {
			w.Bounds = append(w.Bounds, [4]float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]})
		}
		bounds = bounds[n:]
		k := min(len(areas), 4*maxBoundsPerEvent)
		w.Areas, areas = areas[:k], areas[k:]
		payload, err := json.Marshal(w)
		if err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, ChangeChannel, string(payload)); err != nil {
			return err
		}
	}
	return nil
}

func decodeEvent(payload string) (geo.ChangeEvent, error) {
	var w wireEvent
	if err := json.Unmarshal([]byte(payload), &w); err != nil {
		return geo.ChangeEvent{}, err
	}
	ev := geo.ChangeEvent{Change: w.Change, Layer: w.Layer, Areas: w.Areas}
	for _, b := range w.Bounds {
		ev.Bounds = append(ev.Bounds, orb.Bound{Min: orb.Point{b[0], b[1]}, Max: orb.Point{b[2], b[3]}})
	}
	return ev, nil
}

// ChangeFeed listens on ChangeChannel with a connection of its own and fans
// the events out to subscribers. When the connection is lost it resets every
// subscriber, reconnects with backoff, and resets them again once listening
// (events sent in between are lost, so derived state must be rebuilt).
type ChangeFeed struct {
	db  *DB
	log *slog.Logger

	mu        sync.Mutex
	subs      []subscriber
	connected bool
	pid       uint32
}

type subscriber struct {
	onEvent func(geo.ChangeEvent)
	onReset func()
}

var _ geo.ChangeFeed = (*ChangeFeed)(nil)

// NewChangeFeed returns a feed on db; call Run to start it.
func NewChangeFeed(db *DB, log *slog.Logger) *ChangeFeed {
	if log == nil {
		log = slog.Default()
	}
	return &ChangeFeed{db: db, log: log}
}

// Subscribe registers callbacks; they run on the feed's goroutine, in order.
func (f *ChangeFeed) Subscribe(onEvent func(geo.ChangeEvent), onReset func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs = append(f.subs, subscriber{onEvent, onReset})
}

// Connected reports whether the feed is listening now.
func (f *ChangeFeed) Connected() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.connected
}

// BackendPID is the PostgreSQL process id of the listening connection (0 when
// not connected); tests terminate it to simulate a lost connection.
func (f *ChangeFeed) BackendPID() uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pid
}

func (f *ChangeFeed) reset() {
	f.mu.Lock()
	subs := append([]subscriber(nil), f.subs...)
	f.mu.Unlock()
	for _, s := range subs {
		if s.onReset != nil {
			s.onReset()
		}
	}
}

func (f *ChangeFeed) deliver(ev geo.ChangeEvent) {
	f.mu.Lock()
	subs := append([]subscriber(nil), f.subs...)
	f.mu.Unlock()
	for _, s := range subs {
		if s.onEvent != nil {
			s.onEvent(ev)
		}
	}
}

// Run listens until ctx ends. It returns ctx's error.
func (f *ChangeFeed) Run(ctx context.Context) error {
	backoff := 100 * time.Millisecond
	everConnected := false
	for {
		err := f.listen(ctx, &everConnected)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		f.log.Warn("change feed: connection lost; caches reset, reconnecting", "err", err, "in", backoff)
		f.reset()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (f *ChangeFeed) listen(ctx context.Context, everConnected *bool) error {
	conn, err := pgx.ConnectConfig(ctx, f.db.Pool.Config().ConnConfig.Copy())
	if err != nil {
		return err
	}
	defer func() {
		f.mu.Lock()
		f.connected, f.pid = false, 0
		f.mu.Unlock()
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ChangeChannel}.Sanitize()); err != nil {
		return err
	}
	f.mu.Lock()
	f.connected, f.pid = true, conn.PgConn().PID()
	f.mu.Unlock()
	if *everConnected {
		f.reset() // anything sent while we were away is lost: rebuild
	}
	*everConnected = true
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		ev, err := decodeEvent(n.Payload)
		if err != nil {
			f.log.Error("change feed: bad payload", "err", err)
			continue
		}
		f.deliver(ev)
	}
}

// errNoFeed is returned by WaitConnected when the feed never connects.
var errNoFeed = errors.New("change feed did not connect")

// WaitConnected blocks until the feed listens or ctx ends.
func (f *ChangeFeed) WaitConnected(ctx context.Context) error {
	t := time.NewTicker(10 * time.Millisecond)
	defer t.Stop()
	for !f.Connected() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w: %v", errNoFeed, ctx.Err())
		case <-t.C:
		}
	}
	return nil
}

// qChangeExtents returns, for a change, the extent of the area versions it
// wrote with their area ids, and the extent of the buildings it created
// together with their grids' current geometries (whose totals changed).
const qChangeExtents = `
SELECT 'areas', coalesce(array_agg(DISTINCT v.area_id), '{}'), ST_XMin(ST_Extent(v.geom)), ST_YMin(ST_Extent(v.geom)), ST_XMax(ST_Extent(v.geom)), ST_YMax(ST_Extent(v.geom))
FROM area_version v WHERE v.change_id = $1
HAVING count(*) > 0
UNION ALL
SELECT 'buildings',
       (SELECT coalesce(array_agg(DISTINCT grid_id) FILTER (WHERE grid_id IS NOT NULL), '{}') FROM building WHERE created_change = $1),
       ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
FROM (SELECT ST_Extent(geom) AS e FROM (
          SELECT b.geom FROM building b WHERE b.created_change = $1
          UNION ALL
          SELECT v.geom FROM area_version v WHERE v.valid_to IS NULL AND v.area_id IN (
              SELECT grid_id FROM building WHERE created_change = $1)) g) x
WHERE e IS NOT NULL`

// announceChange announces what an import wrote, per layer, as the union of its extents.
func announceChange(ctx context.Context, tx pgx.Tx, change int64) error {
	rows, err := tx.Query(ctx, qChangeExtents, change)
	if err != nil {
		return fmt.Errorf("announce: %w", err)
	}
	var evs []geo.ChangeEvent
	var layer string
	var ids []int64
	var b orb.Bound
	_, err = pgx.ForEachRow(rows, []any{&layer, &ids, &b.Min[0], &b.Min[1], &b.Max[0], &b.Max[1]}, func() error {
		evs = append(evs, geo.ChangeEvent{Change: change, Layer: layer, Areas: append([]int64(nil), ids...), Bounds: []orb.Bound{b}})
		return nil
	})
	if err != nil {
		return fmt.Errorf("announce: %w", err)
	}
	for _, ev := range evs {
		if err := announce(ctx, tx, ev); err != nil {
			return err
		}
	}
	return nil
}
