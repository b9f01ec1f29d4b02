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

// TestQueryStopsWhenItsClientGoesAway: when the context of a tile's batch
// ends, the statement stops on the server instead of running to its end (pgx
// sends a cancel request and drops the connection; qLimits' connection check
// covers the case where no cancel request arrives).
func TestQueryStopsWhenItsClientGoesAway(t *testing.T) {
	db, _ := dbtest.New(t, "tiles_gone")
	const sleeper = `SELECT pg_sleep(30) /* tiles_gone */`
	ctx, cancel := context.WithCancel(context.Background())
	var b pgx.Batch
	b.Queue(qLimits, "60000")
	b.Queue(sleeper)
	done := make(chan error, 1)
	go func() { done <- db.Pool.SendBatch(ctx, &b).Close() }()
	running := func() int {
		var n int
		if err := db.Pool.QueryRow(context.Background(), `SELECT count(*) FROM pg_stat_activity WHERE query = $1 AND state = 'active'`, sleeper).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	deadline := time.Now().Add(5 * time.Second)
	for running() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the statement never started")
		}
		time.Sleep(10 * time.Millisecond) // polling for the statement to start, bounded by the deadline
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
	deadline = time.Now().Add(3 * time.Second)
	for running() != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the server still runs the statement 3 s after its client went away")
		}
		time.Sleep(20 * time.Millisecond) // polling for the server to notice, bounded by the deadline
	}
}
