package data_test

import (
	"context"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"gridmap/data"
	"gridmap/data/dbtest"
)

// TestBatchSettings: an import's transaction gets its memory settings, and
// on a connection that has used a temporary table already (temp_buffers can
// no longer change there) it keeps going with the size it has instead of
// failing the import.
func TestBatchSettings(t *testing.T) {
	ctx := context.Background()
	db, _ := dbtest.New(t, "batch_settings")
	acquire := func() *pgxpool.Conn {
		t.Helper()
		conn, err := db.Pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(conn.Release)
		return conn
	}
	settings := func(conn *pgxpool.Conn) (string, string) {
		t.Helper()
		tx, err := conn.Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback(ctx)
		if err := data.BatchSettings(ctx, tx); err != nil {
			t.Fatalf("batchSettings: %v", err)
		}
		var wm, tb string
		if err := tx.QueryRow(ctx, `SELECT current_setting('work_mem'), current_setting('temp_buffers')`).Scan(&wm, &tb); err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `CREATE TEMP TABLE batch_probe (x int) ON COMMIT DROP`); err != nil {
			t.Fatalf("the transaction is not usable after batchSettings: %v", err)
		}
		return wm, tb
	}
	fresh, used := acquire(), acquire()
	if wm, tb := settings(fresh); wm != "256MB" || tb != "1GB" {
		t.Errorf("fresh connection: work_mem %s, temp_buffers %s; want 256MB, 1GB", wm, tb)
	}
	var tb0 string
	if _, err := used.Exec(ctx, `CREATE TEMP TABLE used_before AS SELECT 1 AS x`); err != nil {
		t.Fatal(err)
	}
	if err := used.QueryRow(ctx, `SELECT current_setting('temp_buffers')`).Scan(&tb0); err != nil {
		t.Fatal(err)
	}
	if tb0 == "1GB" {
		t.Fatalf("the cluster's temp_buffers is 1GB already: the test cannot tell")
	}
	if wm, tb := settings(used); wm != "256MB" || tb != tb0 {
		t.Errorf("used connection: work_mem %s, temp_buffers %s; want 256MB, %s", wm, tb, tb0)
	}
	var wm string
	if err := fresh.QueryRow(ctx, `SELECT current_setting('work_mem')`).Scan(&wm); err != nil {
		t.Fatal(err)
	}
	if wm == "256MB" {
		t.Errorf("work_mem is still 256MB after the transaction ended")
	}
}
