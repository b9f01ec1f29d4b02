// Package data implements geo's service interfaces on PostGIS through pgx/v5.
// Each method's SQL is a constant beside it; values are bound parameters only.
package data

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"gridmap/geo"
	"gridmap/migrations"
)

// Config configures the connection pools.
type Config struct {
	URL string // the primary: writes, sign-in, staff's reads
	// ReadURL serves the public reads (lookup index loading, tiles, areas,
	// buildings, pages) and the change feed; a multi-host URL with
	// target_session_attrs is allowed. "": everything on URL.
	ReadURL          string
	MaxConns         int32         // 0: pgxpool's default
	StatementTimeout time.Duration // server-side fallback for every statement; 0: none
}

// defaultConnectTimeout bounds a connection attempt when the URL does not
// (connect_timeout).
const defaultConnectTimeout = 5 * time.Second

// DB holds the connection pools every service in this package shares.
type DB struct {
	Pool *pgxpool.Pool // the primary
	read *pgxpool.Pool // Config.ReadURL; nil: Pool
}

// Open connects to PostgreSQL and checks the connection to the primary. The
// read pool (Config.ReadURL) connects lazily: a replica that is down makes
// public reads answer 503 until it (or another host of the URL) is back,
// without stopping the start.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	pool, err := openPool(ctx, cfg, cfg.URL, "DATABASE_URL")
	if err != nil {
		return nil, err
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("data.Open: %w", err)
	}
	db := &DB{Pool: pool}
	if cfg.ReadURL != "" {
		if db.read, err = openPool(ctx, cfg, cfg.ReadURL, "GRIDMAP_READ_URL"); err != nil {
			pool.Close()
			return nil, err
		}
	}
	return db, nil
}

// ReadPool is the pool of the read server: Config.ReadURL, or the primary
// without one. The change feed follows this server, and the caches it keeps
// current (tiles, the lookup index) load from it.
func (db *DB) ReadPool() *pgxpool.Pool {
	if db.read != nil {
		return db.read
	}
	return db.Pool
}

// reader is the one rule of where a public read goes: to the read server,
// unless ctx asks for the primary (geo.WithPrimaryReads: staff, and clients
// that have just written).
func (db *DB) reader(ctx context.Context) *pgxpool.Pool {
	if geo.PrimaryReads(ctx) {
		return db.Pool
	}
	return db.ReadPool()
}

func openPool(ctx context.Context, cfg Config, url, name string) (*pgxpool.Pool, error) {
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
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		return nil, fmt.Errorf("data.Open: %w", err)
	}
	return pool, nil
}

// Close closes the pools.
func (db *DB) Close() {
	if db.read != nil {
		db.read.Close()
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
	if db.read != nil {
		if err := db.read.Ping(ctx); err != nil {
			return DBError("data.Ready: read server", err)
		}
	}
	return nil
}
