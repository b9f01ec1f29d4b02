package data

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridmap/geo"
)

// ChangeChannel is the LISTEN/NOTIFY channel on which the primary wakes its
// followers at once; the events themselves travel in change_log.
const ChangeChannel = "gridmap_changes"

// maxBoundsPerEvent: an event touching more bounds is logged as their union.
const maxBoundsPerEvent = 3000

// DefaultPollInterval is how often a ChangeFeed reads the change log when no
// NOTIFY wakes it (always, on a hot standby).
const DefaultPollInterval = 200 * time.Millisecond

// pollBatch is the most log rows one poll reads.
const pollBatch = 1000

// qTakeSeq hands out $1 sequence numbers and returns the last. The row lock
// it takes is held until the transaction ends, so numbers commit in order
// and a rollback gives them back (migrations/010_change_log.sql).
const qTakeSeq = `UPDATE feed_counter SET seq = seq + $1 RETURNING seq`

const qLogEvent = `INSERT INTO change_log (seq, change_id, layer, areas, bounds) VALUES ($1, $2, $3, $4, $5)`

// announce logs ev inside tx (see logEvents).
func announce(ctx context.Context, tx pgx.Tx, ev geo.ChangeEvent) error {
	return logEvents(ctx, tx, []geo.ChangeEvent{ev})
}

// logEvents writes evs to the commit-ordered change log inside tx and queues
// a NOTIFY for the followers on the primary; PostgreSQL delivers (and
// replicates) both when tx commits and drops both when it rolls back. It must
// be the last statement before COMMIT: the sequence lock it takes serialises
// the commits of concurrent writers from here on.
func logEvents(ctx context.Context, tx pgx.Tx, evs []geo.ChangeEvent) error {
	if len(evs) == 0 {
		return nil
	}
	var last int64
	if err := tx.QueryRow(ctx, qTakeSeq, len(evs)).Scan(&last); err != nil {
		return err
	}
	b := &pgx.Batch{}
	for i, ev := range evs {
		bounds := ev.Bounds
		if len(bounds) > maxBoundsPerEvent {
			u := bounds[0]
			for _, b := range bounds[1:] {
				u = u.Union(b)
			}
			bounds = []orb.Bound{u}
		}
		flat := make([]float64, 0, 4*len(bounds))
		for _, b := range bounds {
			flat = append(flat, b.Min[0], b.Min[1], b.Max[0], b.Max[1])
		}
		areas := ev.Areas
		if areas == nil {
			areas = []int64{}
		}
		b.Queue(qLogEvent, last-int64(len(evs))+1+int64(i), ev.Change, ev.Layer, areas, flat)
	}
	b.Queue(`SELECT pg_notify($1, '')`, ChangeChannel)
	return tx.SendBatch(ctx, b).Close()
}

// ChangeFeed follows the change log of one server (the primary or a
// replica: the one its DB reads from) with a connection of its own and fans
// the events out to subscribers in commit order. On the primary a NOTIFY
// wakes it at once; otherwise it reads every PollInterval. When the
// connection is lost it resets every subscriber, reconnects with backoff,
// and resets them again once following (it starts again at the log's end,
// so derived state must be rebuilt).
type ChangeFeed struct {
	db  *DB
	log *slog.Logger
	// PollInterval is how often the log is read without a NOTIFY; set it
	// before Run. Default DefaultPollInterval.
	PollInterval time.Duration
	// FirstRetry and MaxRetry bound the wait between attempts to connect
	// again (doubling from FirstRetry up to MaxRetry); a read host found up
	// again (DB.HostBack) ends the wait at once. Set them before Run;
	// defaults 100 ms and 1 s.
	FirstRetry, MaxRetry time.Duration

	mu        sync.Mutex
	subs      []subscriber
	connected bool
	pid       uint32
	applied   int64 // last log seq delivered
	advanced  chan struct{}
	nudge     chan struct{} // a waiter asks for a poll now
}

type subscriber struct {
	onEvent func(geo.ChangeEvent)
	onReset func()
}

var _ geo.ChangeFeed = (*ChangeFeed)(nil)

// NewChangeFeed returns a feed on db's read server; call Run to start it.
func NewChangeFeed(db *DB, log *slog.Logger) *ChangeFeed {
	if log == nil {
		log = slog.Default()
	}
	return &ChangeFeed{db: db, log: log, PollInterval: DefaultPollInterval, FirstRetry: 100 * time.Millisecond, MaxRetry: time.Second, advanced: make(chan struct{}), nudge: make(chan struct{}, 1)}
}

// Subscribe registers callbacks; they run on the feed's goroutine, in order.
func (f *ChangeFeed) Subscribe(onEvent func(geo.ChangeEvent), onReset func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.subs = append(f.subs, subscriber{onEvent, onReset})
}

// Connected reports whether the feed follows the log now.
func (f *ChangeFeed) Connected() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.connected
}

// BackendPID is the PostgreSQL process id of the feed's connection (0 when
// not connected); tests terminate it to simulate a lost connection.
func (f *ChangeFeed) BackendPID() uint32 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.pid
}

// Applied returns the log position whose events every subscriber has been
// given: the data of every change committed up to it is what this process
// shows.
func (f *ChangeFeed) Applied() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.applied
}

// WaitApplied blocks until the feed has delivered the events up to seq (see
// Applied) or ctx ends. It makes the feed read the log at once rather than
// at its next poll.
func (f *ChangeFeed) WaitApplied(ctx context.Context, seq int64) error {
	for {
		f.mu.Lock()
		ok, ch := f.connected && f.applied >= seq, f.advanced
		f.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case f.nudge <- struct{}{}:
		default:
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-ch:
		}
	}
}

// setPosition records the position and wakes WaitApplied.
func (f *ChangeFeed) setPosition(connected bool, pid uint32, applied int64) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.connected, f.pid = connected, pid
	if applied >= 0 {
		f.applied = applied
	}
	close(f.advanced)
	f.advanced = make(chan struct{})
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

// Run follows the log until ctx ends. It returns ctx's error.
func (f *ChangeFeed) Run(ctx context.Context) error {
	backoff := f.FirstRetry
	everConnected, retrying := false, false
	for {
		connected, err := f.follow(ctx, &everConnected)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		switch {
		case connected:
			backoff = f.FirstRetry // it worked until now: try again soon
			f.log.Warn("change feed: connection lost; caches reset, reconnecting", "err", err, "in", backoff)
			f.reset()
			retrying = false
		case !retrying:
			// Nothing was delivered since the last reset: the subscribers
			// need no other, and the retries are logged once.
			f.log.Warn("change feed: cannot connect; retrying", "err", err, "in", backoff, "at most every", f.MaxRetry)
			retrying = true
		default:
			f.log.Debug("change feed: cannot connect", "err", err, "in", backoff)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
			// At most 1 s by default: the bound on an edit's visibility
			// starts when the server is back, and an attempt on a host that
			// is down is cheap (refused, or connect_timeout).
			backoff = min(2*backoff, f.MaxRetry)
		case <-f.db.HostBack():
			// A health check found a read host up again: try it now.
		}
	}
}

const qLogEnd = `SELECT seq FROM feed_counter`

// qLogEndAt is the log's end and the server's WAL position after it: a
// cache may load from any host that has replayed that far (DB.CachePool).
const qLogEndAt = `SELECT seq, ` + walPosition + ` FROM feed_counter`

// qWALPosition is the feed's server's WAL position after a poll read the log.
const qWALPosition = `SELECT ` + walPosition

// Committed returns the change log's end on the primary: after a write has
// committed, a position at or past the write's own (read-your-writes).
func (f *ChangeFeed) Committed(ctx context.Context) (int64, error) {
	var seq int64
	err := f.db.Pool.QueryRow(ctx, qLogEnd).Scan(&seq)
	return seq, dbErr("data.Committed", err)
}

const qLogAfter = `SELECT seq, change_id, layer, areas, bounds FROM change_log WHERE seq > $1 ORDER BY seq LIMIT $2`

// errLogPruned: the feed fell behind the log's pruning and must start over.
var errLogPruned = errors.New("change feed: the log was pruned past this process's position")

// follow connects and delivers events until the connection fails; connected
// says whether it got as far as following the log.
func (f *ChangeFeed) follow(ctx context.Context, everConnected *bool) (connected bool, err error) {
	conn, err := f.db.connectFeed(ctx)
	if err != nil {
		return false, err
	}
	defer func() {
		f.setPosition(false, 0, -1)
		cctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		conn.Close(cctx)
	}()
	var standby bool
	if err := conn.QueryRow(ctx, `SELECT pg_is_in_recovery()`).Scan(&standby); err != nil {
		return false, err
	}
	if !standby {
		if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{ChangeChannel}.Sanitize()); err != nil {
			return false, err
		}
	}
	// The position is taken before subscribers (re)load, so every change
	// they may not see is delivered after.
	var pos, lsn int64
	if err := conn.QueryRow(ctx, qLogEndAt).Scan(&pos, &lsn); err != nil {
		return false, err
	}
	f.db.setDelivered(uint64(lsn))
	f.setPosition(true, conn.PgConn().PID(), pos)
	if *everConnected {
		f.reset() // events logged while we were away are not replayed: rebuild
	}
	*everConnected = true
	interval := f.PollInterval
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	for {
		n, err := f.poll(ctx, conn, &pos)
		if err != nil {
			return true, err
		}
		if n == pollBatch {
			continue
		}
		if err := f.wait(ctx, conn, standby, interval); err != nil {
			return true, err
		}
	}
}

// poll delivers the events after *pos and advances it.
func (f *ChangeFeed) poll(ctx context.Context, conn *pgx.Conn, pos *int64) (int, error) {
	rows, err := conn.Query(ctx, qLogAfter, *pos, pollBatch)
	if err != nil {
		return 0, err
	}
	var evs []geo.ChangeEvent
	var seqs []int64
	var seq int64
	var ev geo.ChangeEvent
	var flat []float64
	if _, err := pgx.ForEachRow(rows, []any{&seq, &ev.Change, &ev.Layer, &ev.Areas, &flat}, func() error {
		e := geo.ChangeEvent{Change: ev.Change, Layer: ev.Layer, Areas: append([]int64(nil), ev.Areas...)}
		for i := 0; i+3 < len(flat); i += 4 {
			e.Bounds = append(e.Bounds, orb.Bound{Min: orb.Point{flat[i], flat[i+1]}, Max: orb.Point{flat[i+2], flat[i+3]}})
		}
		evs, seqs = append(evs, e), append(seqs, seq)
		return nil
	}); err != nil {
		return 0, err
	}
	if len(seqs) > 0 && seqs[0] != *pos+1 {
		return 0, fmt.Errorf("%w (at %d, first kept %d)", errLogPruned, *pos, seqs[0])
	}
	if len(evs) > 0 {
		// Before the events invalidate the caches: their reloads may go to
		// any host that has replayed them.
		var lsn int64
		if err := conn.QueryRow(ctx, qWALPosition).Scan(&lsn); err != nil {
			return 0, err
		}
		f.db.setDelivered(uint64(lsn))
	}
	for i, e := range evs {
		f.deliver(e)
		*pos = seqs[i]
	}
	if len(evs) > 0 {
		f.setPosition(true, conn.PgConn().PID(), *pos)
	}
	return len(evs), nil
}

// wait returns after interval, or at once when a NOTIFY arrives (primary).
func (f *ChangeFeed) wait(ctx context.Context, conn *pgx.Conn, standby bool, interval time.Duration) error {
	if standby {
		t := time.NewTimer(interval)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		case <-f.nudge:
		}
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, interval)
	defer cancel()
	_, err := conn.WaitForNotification(wctx)
	if err != nil && wctx.Err() != nil && ctx.Err() == nil {
		return nil // no NOTIFY within the interval: poll anyway
	}
	return err
}

// errNoFeed is returned by WaitConnected when the feed never connects.
var errNoFeed = errors.New("change feed did not connect")

// WaitConnected blocks until the feed follows the log or ctx ends.
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

// announceChange announces what an import wrote, per layer, as the union of
// its extents. The extents are computed before the log's sequence is taken.
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
	return logEvents(ctx, tx, evs)
}
