package data

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"gridmap/geo"
)

// SigninFailures is the sign-in throttle's store in PostgreSQL (table
// signin_failure, migrations/010_change_log.sql), on the primary, so that
// every gridmap process counts the same failures.
type SigninFailures struct{ db *DB }

// NewSigninFailures returns the store on db's primary.
func NewSigninFailures(db *DB) *SigninFailures { return &SigninFailures{db: db} }

var _ geo.SigninFailureStore = (*SigninFailures)(nil)

const qSigninRecent = `
SELECT key, array_agg(at ORDER BY at) FROM signin_failure
WHERE key = ANY($1) AND at > $2
GROUP BY key`

// Recent returns each key's failures after since, oldest first.
func (s *SigninFailures) Recent(ctx context.Context, keys []string, since time.Time) (map[string][]time.Time, error) {
	rows, err := s.db.Pool.Query(ctx, qSigninRecent, keys, since)
	if err != nil {
		return nil, dbErr("data.SigninFailures.Recent", err)
	}
	out := map[string][]time.Time{}
	var key string
	var at []time.Time
	if _, err := pgx.ForEachRow(rows, []any{&key, &at}, func() error {
		out[key] = append([]time.Time(nil), at...)
		return nil
	}); err != nil {
		return nil, dbErr("data.SigninFailures.Recent", err)
	}
	return out, nil
}

const qSigninAdd = `INSERT INTO signin_failure (key, at) SELECT k, $2 FROM unnest($1::text[]) k`

// qSigninForgetOld drops failures outside every window (index
// signin_failure_at_idx), so the table holds one window of failures.
const qSigninForgetOld = `DELETE FROM signin_failure WHERE at <= $1`

// Add records a failure at `at` under each key and drops failures at or
// before forget.
func (s *SigninFailures) Add(ctx context.Context, keys []string, at, forget time.Time) error {
	b := &pgx.Batch{}
	b.Queue(qSigninForgetOld, forget)
	b.Queue(qSigninAdd, keys, at)
	return dbErr("data.SigninFailures.Add", s.db.Pool.SendBatch(ctx, b).Close())
}

const qSigninForget = `DELETE FROM signin_failure WHERE key = $1`

// Forget removes key's failures.
func (s *SigninFailures) Forget(ctx context.Context, key string) error {
	_, err := s.db.Pool.Exec(ctx, qSigninForget, key)
	return dbErr("data.SigninFailures.Forget", err)
}
