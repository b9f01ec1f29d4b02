// Package migrations holds gridmap's numbered SQL migrations, embedded in the
// binary, and applies the ones a database has not seen yet.
package migrations

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

//go:embed *.sql
var files embed.FS

// Migration is one numbered SQL file.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// All returns the embedded migrations in version order.
func All() ([]Migration, error) {
	names, err := fs.Glob(files, "*.sql")
	if err != nil {
		return nil, err
	}
	var ms []Migration
	for _, n := range names {
		num, _, ok := strings.Cut(n, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %q: name must start with a number and _", n)
		}
		b, err := files.ReadFile(n)
		if err != nil {
			return nil, err
		}
		ms = append(ms, Migration{Version: v, Name: n, SQL: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].Version < ms[j].Version })
	return ms, nil
}

// lockKey serialises concurrent migrators (several gridmap processes starting
// at once) with a transaction-scoped advisory lock.
const lockKey = 7_461_002

const (
	qCreateTable = `CREATE TABLE IF NOT EXISTS schema_migration (
		version int PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`
	qApplied = `SELECT version FROM schema_migration`
	qRecord  = `INSERT INTO schema_migration (version, name) VALUES ($1, $2)`
)

// Up applies every migration the database lacks, each in its own transaction,
// and returns how many it applied.
func Up(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	ms, err := All()
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range ms {
		applied, err := applyOne(ctx, pool, m)
		if err != nil {
			return n, fmt.Errorf("migration %s: %w", m.Name, err)
		}
		if applied {
			n++
		}
	}
	return n, nil
}

func applyOne(ctx context.Context, pool *pgxpool.Pool, m Migration) (bool, error) {
	tx, err := pool.Begin(ctx)
	if err != nil {
		return false, err
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, lockKey); err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx, qCreateTable); err != nil {
		return false, err
	}
	var one int
	err = tx.QueryRow(ctx, `SELECT 1 FROM schema_migration WHERE version = $1`, m.Version).Scan(&one)
	if err == nil {
		return false, nil
	}
	if err != pgx.ErrNoRows {
		return false, err
	}
	if _, err := tx.Exec(ctx, m.SQL); err != nil {
		return false, err
	}
	if _, err := tx.Exec(ctx, qRecord, m.Version, m.Name); err != nil {
		return false, err
	}
	return true, tx.Commit(ctx)
}

// Pending returns how many embedded migrations the database has not applied;
// /readyz uses it.
func Pending(ctx context.Context, pool *pgxpool.Pool) (int, error) {
	ms, err := All()
	if err != nil {
		return 0, err
	}
	var exists bool
	if err := pool.QueryRow(ctx, `SELECT to_regclass('schema_migration') IS NOT NULL`).Scan(&exists); err != nil {
		return 0, err
	}
	if !exists {
		return len(ms), nil
	}
	applied := map[int]bool{}
	rows, err := pool.Query(ctx, qApplied)
	if err != nil {
		return 0, err
	}
	vs, err := pgx.CollectRows(rows, pgx.RowTo[int])
	if err != nil {
		return 0, err
	}
	for _, v := range vs {
		applied[v] = true
	}
	n := 0
	for _, m := range ms {
		if !applied[m.Version] {
			n++
		}
	}
	return n, nil
}
