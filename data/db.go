// Package data implements geo's service interfaces on PostGIS through pgx/v5.
// Each method's SQL is a constant beside it; values are bound parameters only.
package data

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"gridmap/geo"
	"gridmap/migrations"
)

// Config configures the connection pools.
type Config struct {
	URL string // the primary: writes, sign-in, staff's reads
	// ReadURL serves the public reads (lookup index loading, tiles, areas,
	// buildings, pages) and the change feed; a multi-host URL is allowed:
	// each host gets a pool of its own (see DB). "": everything on URL.
	ReadURL          string
	MaxConns         int32         // per pool; 0: pgxpool's default
	StatementTimeout time.Duration // server-side fallback for every statement; 0: none
	// HealthEvery is how often each host of ReadURL is checked; default
	// DefaultHealthEvery.
	HealthEvery time.Duration
	Log         *slog.Logger // where a read host's going down or up is said; nil: slog.Default()
}

// defaultConnectTimeout bounds a connection attempt when the URL does not
// (connect_timeout).
const defaultConnectTimeout = 5 * time.Second

// DefaultHealthEvery is how often the hosts of the read URL are checked.
const DefaultHealthEvery = 500 * time.Millisecond

// DB holds the connection pools every service in this package shares: the
// primary's, and one per host of the read URL (docs/scale.md, "Where a read
// goes"). Of the read hosts, one at a time is the feed's: the change feed
// follows its log and the caches (tiles, lookup index) load from it, so they
// are never older than the log that invalidates them; the other public reads
// go round-robin to every host that passed its last health check and has
// replayed at least what this process's earlier reads may have seen (floor):
// reads do not step back in time across replicas that lag differently.
type DB struct {
	Pool  *pgxpool.Pool // the primary
	hosts []*readHost   // Config.ReadURL's hosts, in its order; nil: the primary serves the reads
	next  atomic.Uint64 // round-robin position
	// preferStandby: the read URL says target_session_attrs=prefer-standby,
	// so hot standbys are read while any is up, the other hosts only then.
	preferStandby bool
	feed          atomic.Int32 // index in hosts of the feed's server
	// floor is the highest WAL position a public read of this process may
	// have seen: the last checked position of every host read since.
	floor atomic.Uint64
	// delivered is the WAL position of the feed's server when the feed last
	// read the change log (0: not yet): every change up to it is delivered,
	// so a cache may load from a host that has replayed that far (CachePool).
	delivered atomic.Uint64
	// onPrimary counts the reads sent to the primary because every read host
	// that was up had replayed less than floor.
	onPrimary atomic.Int64
	// hostBack is signalled when a health check finds a read host up again
	// after it was down (HostBack); buffered 1, never blocks the checks.
	hostBack chan struct{}

	log  *slog.Logger
	stop context.CancelFunc
	done chan struct{}
}

// readHost is one server of the read URL.
type readHost struct {
	addr    string // host:port, for logs
	pool    *pgxpool.Pool
	up      atomic.Bool // answered its last health check
	standby atomic.Bool // in recovery at its last health check
	used    atomic.Int64
	loads   atomic.Int64  // cache loads sent to it (CachePool)
	lsn     atomic.Uint64 // WAL position replayed (a standby) or written (a primary) at its last check
	read    atomic.Bool   // read since its last check: that check raises the floor to its position
}

// Open connects to PostgreSQL and checks the connection to the primary. The
// read pools (Config.ReadURL) connect lazily: a replica that is down makes
// public reads answer 503 until it (or another host of the URL) is back,
// without stopping the start.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	pc, err := parsePool(cfg, cfg.URL, "DATABASE_URL")
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("data.Open: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("data.Open: %w", err)
	}
	db := &DB{Pool: pool, log: cfg.Log, hostBack: make(chan struct{}, 1)}
	if db.log == nil {
		db.log = slog.Default()
	}
	if cfg.ReadURL != "" {
		rc, err := parsePool(cfg, cfg.ReadURL, "GRIDMAP_READ_URL")
		if err != nil {
			pool.Close()
			return nil, err
		}
		db.preferStandby = strings.Contains(cfg.ReadURL, "target_session_attrs=prefer-standby")
		for _, hc := range splitHosts(rc) {
			p, err := pgxpool.NewWithConfig(ctx, hc)
			if err != nil {
				db.Close()
				return nil, fmt.Errorf("data.Open: %w", err)
			}
			h := &readHost{addr: net.JoinHostPort(hc.ConnConfig.Host, strconv.Itoa(int(hc.ConnConfig.Port))), pool: p}
			h.up.Store(true) // until a check says otherwise
			db.hosts = append(db.hosts, h)
		}
		every := cfg.HealthEvery
		if every <= 0 {
			every = DefaultHealthEvery
		}
		hctx, stop := context.WithCancel(context.Background())
		db.stop, db.done = stop, make(chan struct{})
		go db.checkHosts(hctx, every)
	}
	return db, nil
}

// splitHosts returns one pool configuration per host:port of pc (in the
// URL's order), each keeping the host's own TLS fallbacks (sslmode=prefer
// gives two attempts per host).
func splitHosts(pc *pgxpool.Config) []*pgxpool.Config {
	cc := pc.ConnConfig
	all := append([]*pgconn.FallbackConfig{{Host: cc.Host, Port: cc.Port, TLSConfig: cc.TLSConfig}}, cc.Fallbacks...)
	var out []*pgxpool.Config
	byAddr := map[string]*pgxpool.Config{}
	for _, f := range all {
		addr := net.JoinHostPort(f.Host, strconv.Itoa(int(f.Port)))
		if c := byAddr[addr]; c != nil {
			c.ConnConfig.Fallbacks = append(c.ConnConfig.Fallbacks, f)
			continue
		}
		c := pc.Copy()
		c.ConnConfig.Host, c.ConnConfig.Port, c.ConnConfig.TLSConfig = f.Host, f.Port, f.TLSConfig
		c.ConnConfig.Fallbacks = nil
		byAddr[addr] = c
		out = append(out, c)
	}
	return out
}

// qHostState is a read host's health check: whether it is a standby, and
// the WAL position it has replayed (a standby) or written (a primary), as a
// byte offset.
const qHostState = `SELECT pg_is_in_recovery(), ` + walPosition

// walPosition is the WAL position a server has replayed (a standby) or
// written (a primary), as a byte offset.
const walPosition = `(CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END - '0/0'::pg_lsn)::bigint`

// checkHosts asks every read host whether it is in recovery and how far it
// has replayed, every interval until ctx ends: an answer marks it up (and a
// standby or not), and raises the floor to its position if it was read
// since the previous check (a read may have seen up to that).
func (db *DB) checkHosts(ctx context.Context, every time.Duration) {
	defer close(db.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		var wg sync.WaitGroup
		for _, h := range db.hosts {
			wg.Add(1)
			go func() {
				defer wg.Done()
				pctx, cancel := context.WithTimeout(ctx, max(every, time.Second))
				defer cancel()
				var standby bool
				var lsn *int64 // NULL: a standby that has replayed nothing yet
				up := h.pool.QueryRow(pctx, qHostState).Scan(&standby, &lsn) == nil
				if up {
					h.standby.Store(standby)
					if lsn != nil {
						h.lsn.Store(uint64(*lsn))
					}
					if h.read.Swap(false) {
						db.raiseFloor(h.lsn.Load())
					}
				}
				if ctx.Err() == nil && h.up.Swap(up) != up {
					db.log.Warn("read server", "host", h.addr, "up", up)
					if up {
						select {
						case db.hostBack <- struct{}{}:
						default:
						}
					}
				}
			}()
		}
		wg.Wait()
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// HostBack receives when a health check finds a read host of Config.ReadURL
// up again after it was down: the change feed, retrying to connect, tries at
// once instead of at its next backoff (an edit's visibility is bounded from
// the moment the server is back). Without a read URL nothing is sent.
func (db *DB) HostBack() <-chan struct{} { return db.hostBack }

// ReadPool is the pool of the server the change feed follows (the first
// host of Config.ReadURL until the feed has connected; the primary without
// a read URL). The caches the feed keeps current (tiles, the lookup index)
// load from it.
func (db *DB) ReadPool() *pgxpool.Pool {
	if db.hosts == nil {
		return db.Pool
	}
	return db.hosts[db.feed.Load()].pool
}

// CachePool is where a cache load (a cold tile) goes: round-robin over the
// read hosts that passed their last check and whose checked position has
// reached both what the change feed has delivered and the floor — a cached
// tile is then never older than the log that invalidates it, nor than an
// earlier read —; else the feed's server (ReadPool).
func (db *DB) CachePool() *pgxpool.Pool {
	delivered := db.delivered.Load()
	if len(db.hosts) < 2 || delivered == 0 {
		return db.ReadPool()
	}
	if h := db.pick(max(delivered, db.floor.Load())); h != nil {
		h.loads.Add(1)
		return h.pool
	}
	return db.ReadPool()
}

// pick is the next read host, round-robin, that passed its last check and
// whose checked position is at least floor (of the hot standbys first with
// prefer-standby); it raises the floor to that host's position. nil: none.
func (db *DB) pick(floor uint64) *readHost {
	n := uint64(len(db.hosts))
	start := db.next.Add(1)
	for _, standbyOnly := range db.passes() {
		for i := uint64(0); i < n; i++ {
			h := db.hosts[(start+i)%n]
			if lsn := h.lsn.Load(); h.up.Load() && (!standbyOnly || h.standby.Load()) && lsn >= floor {
				h.read.Store(true)
				db.raiseFloor(lsn)
				return h
			}
		}
	}
	return nil
}

// anyUp: some read host passed its last check.
func (db *DB) anyUp() bool {
	for _, h := range db.hosts {
		if h.up.Load() {
			return true
		}
	}
	return false
}

// reader is the one rule of where a public read goes: to the primary when
// ctx asks for it (geo.WithPrimaryReads: staff, and clients whose write this
// process does not show yet); to the feed's server when ctx asks for it
// (geo.WithFeedServerReads: it has replayed the client's write); else to the
// next read host, round-robin, that passed its last health check and whose
// checked position has reached the floor — of the hot standbys first with
// target_session_attrs=prefer-standby —; to the primary when hosts are up
// but all are behind the floor (reads never step back in time); to the
// feed's server when none is up (its error makes the answer a 503).
func (db *DB) reader(ctx context.Context) *pgxpool.Pool {
	if geo.PrimaryReads(ctx) {
		return db.Pool
	}
	if db.hosts == nil || len(db.hosts) == 1 || geo.FeedServerReads(ctx) {
		return db.ReadPool()
	}
	if h := db.pick(db.floor.Load()); h != nil {
		h.used.Add(1)
		return h.pool
	}
	if db.anyUp() {
		db.onPrimary.Add(1)
		return db.Pool
	}
	return db.ReadPool()
}

// raiseFloor makes lsn the floor if it is higher.
func (db *DB) raiseFloor(lsn uint64) { raise(&db.floor, lsn) }

// raise stores v in a if it is higher.
func raise(a *atomic.Uint64, v uint64) {
	for {
		old := a.Load()
		if v <= old || a.CompareAndSwap(old, v) {
			return
		}
	}
}

// passes says how hosts are chosen: standbys only first when the read URL
// prefers them, then any host.
func (db *DB) passes() []bool {
	if db.preferStandby {
		return []bool{true, false}
	}
	return []bool{false}
}

// ReadHosts describes the read servers: address, whether the last health
// check passed, how many reads were sent to it round-robin, whether the
// change feed follows it, and the WAL position it had at its last check.
func (db *DB) ReadHosts() []ReadHost {
	out := make([]ReadHost, len(db.hosts))
	feed := int(db.feed.Load())
	for i, h := range db.hosts {
		out[i] = ReadHost{Addr: h.addr, Up: h.up.Load(), Reads: h.used.Load(), Loads: h.loads.Load(), Feed: i == feed, LSN: h.lsn.Load()}
	}
	return out
}

// ReadHost is the state of one read server (DB.ReadHosts).
type ReadHost struct {
	Addr  string
	Up    bool
	Reads int64 // public reads (round-robin)
	Loads int64 // cache loads (CachePool)
	Feed  bool
	LSN   uint64
}

// setDelivered records the WAL position of the feed's server when it read
// the change log: the changes up to it are (about to be) delivered.
func (db *DB) setDelivered(lsn uint64) { raise(&db.delivered, lsn) }

// ReadFloor is the highest WAL position (byte offset) a public read of this
// process may have seen, and how many reads went to the primary because
// every read host that was up had replayed less.
func (db *DB) ReadFloor() (lsn uint64, onPrimary int64) {
	return db.floor.Load(), db.onPrimary.Load()
}

// connectFeed opens the change feed's connection: to the first host of the
// read URL that accepts it — in the URL's order, those that passed their
// last check first (standbys before them with prefer-standby) — which
// becomes the feed's server (ReadPool); without a read URL, to the primary.
func (db *DB) connectFeed(ctx context.Context) (*pgx.Conn, error) {
	if db.hosts == nil {
		return pgx.ConnectConfig(ctx, db.Pool.Config().ConnConfig.Copy())
	}
	order := make([]int, 0, len(db.hosts))
	taken := make([]bool, len(db.hosts))
	add := func(ok func(h *readHost) bool) {
		for i, h := range db.hosts {
			if !taken[i] && ok(h) {
				taken[i] = true
				order = append(order, i)
			}
		}
	}
	if db.preferStandby {
		add(func(h *readHost) bool { return h.up.Load() && h.standby.Load() })
	}
	add(func(h *readHost) bool { return h.up.Load() })
	add(func(*readHost) bool { return true })
	var errs []error
	fallback := -1 // with prefer-standby: a host that accepted but is not a standby
	for _, i := range order {
		conn, err := pgx.ConnectConfig(ctx, db.hosts[i].pool.Config().ConnConfig.Copy())
		if err == nil && db.preferStandby {
			var standby bool
			if err = conn.QueryRow(ctx, `SELECT pg_is_in_recovery()`).Scan(&standby); err == nil && !standby {
				conn.Close(ctx)
				if fallback < 0 {
					fallback = i
				}
				continue
			}
		}
		if err == nil {
			db.feed.Store(int32(i))
			return conn, nil
		}
		if conn != nil {
			conn.Close(ctx)
		}
		errs = append(errs, err)
		if ctx.Err() != nil {
			break
		}
	}
	if fallback >= 0 && ctx.Err() == nil {
		conn, err := pgx.ConnectConfig(ctx, db.hosts[fallback].pool.Config().ConnConfig.Copy())
		if err == nil {
			db.feed.Store(int32(fallback))
			return conn, nil
		}
		errs = append(errs, err)
	}
	return nil, errors.Join(errs...)
}

func parsePool(cfg Config, url, name string) (*pgxpool.Config, error) {
	pc, err := pgxpool.ParseConfig(url)
	if err != nil {
		return nil, geo.Errorf(geo.EInvalid, "%s: %v", name, err)
	}
	if cfg.MaxConns > 0 {
		pc.MaxConns = cfg.MaxConns
	}
	if pc.ConnConfig.ConnectTimeout == 0 {
		// A database behind a partition (no refusal, no answer) must become
		// "unavailable" in a bounded time, not hang each request.
		pc.ConnConfig.ConnectTimeout = defaultConnectTimeout
	}
	if cfg.StatementTimeout > 0 {
		pc.ConnConfig.RuntimeParams["statement_timeout"] = fmt.Sprint(cfg.StatementTimeout.Milliseconds())
	}
	if _, set := pc.ConnConfig.RuntimeParams["jit"]; !set {
		// gridmap's statements are short; where the planner's estimates
		// cross jit_above_cost (temporary tables without statistics, large
		// row estimates) compiling costs more than running: 0.5–0.8 s of a
		// 12-area repartition preview's 1.8 s, 2–4 s of a partition that
		// cuts nothing, 3.8 s of 3.7 s for a variant of the cases cluster
		// tile over 1,000,000 cases whose envelope the planner could see.
		// A URL's jit=on turns it on.
		pc.ConnConfig.RuntimeParams["jit"] = "off"
	}
	return pc, nil
}

// Close stops the health checks and closes the pools.
func (db *DB) Close() {
	if db.stop != nil {
		db.stop()
		<-db.done
	}
	for _, h := range db.hosts {
		h.pool.Close()
	}
	db.Pool.Close()
}

// Migrate applies pending migrations and returns how many it applied.
func (db *DB) Migrate(ctx context.Context) (int, error) { return migrations.Up(ctx, db.Pool) }

// Ready reports nil when the database answers and every migration is applied.
func (db *DB) Ready(ctx context.Context) error {
	n, err := migrations.Pending(ctx, db.Pool)
	if err != nil {
		return DBError("data.Ready", err)
	}
	if n > 0 {
		return geo.Errorf(geo.EUnavailable, "the database schema is not current: %d migrations pending", n)
	}
	if db.hosts != nil {
		if err := db.reader(ctx).Ping(ctx); err != nil {
			return DBError("data.Ready: read server", err)
		}
	}
	return nil
}
