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

// Config configures the connection pool.
type Config struct {
	URL              string
	MaxConns         int32         // 0: pgxpool's default
	StatementTimeout time.Duration // server-side fallback for every statement; 0: none
}

// defaultConnectTimeout bounds a connection attempt when the URL does not
// (connect_timeout).
const defaultConnectTimeout = 5 * time.Second

// DB is the connection pool every service in this package shares.
type DB struct {
	Pool *pgxpool.Pool
}

// Open connects to PostgreSQL and checks the connection.
func Open(ctx context.Context, cfg Config) (*DB, error) {
	pc, err := pgxpool.ParseConfig(cfg.URL)
	if err != nil {
		return nil, geo.Errorf(geo.EInvalid, "database URL: %v", err)
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
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("data.Open: %w", err)
	}
	return &DB{Pool: pool}, nil
}

// Close closes the pool.
func (db *DB) Close() { db.Pool.Close() }

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
	return nil
}
