package postgis

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"gridmap/data/dbtest"
)

// TestTileLimitsLastOneStatement pins how Tile bounds its query: qLimits and
// the statement after it travel in one batch (one implicit transaction), so
// the timeout cancels that statement and is gone for the next one on the
// same connection.
func TestTileLimitsLastOneStatement(t *testing.T) {
	db, _ := dbtest.New(t, "tiles_limits")
	ctx := context.Background()
	conn, err := db.Pool.Acquire(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Release()
	var before string
	if err := conn.QueryRow(ctx, `SHOW statement_timeout`).Scan(&before); err != nil {
		t.Fatal(err)
	}
	var b pgx.Batch
	b.Queue(qLimits, "50")
	b.Queue(`SELECT pg_sleep(2)`)
	start := time.Now()
	err = conn.SendBatch(ctx, &b).Close()
	var pe *pgconn.PgError
	if !errors.As(err, &pe) || pe.Code != "57014" {
		t.Fatalf("got %v, want the statement cancelled by its timeout (57014)", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Errorf("cancelled after %v, want about 50ms", d)
	}
	var after string
	if err := conn.QueryRow(ctx, `SHOW statement_timeout`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != before {
		t.Errorf("statement_timeout %q after the batch, %q before: the limit leaked into the session", after, before)
	}
}
