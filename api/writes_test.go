package api_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"gridmap/api"
)

// TestWriteOutlivesItsClient: a rename whose client goes away while the
// rename waits for a lock is not cancelled (no cancel request reaches the
// server: its backend keeps waiting) and commits once the lock is released.
// Without finishWrites the client's leaving ends the request's context, pgx
// sends a cancel request, the lock wait fails and nothing is renamed.
func TestWriteOutlivesItsClient(t *testing.T) {
	f := newEditFixture(t, "api_writes_detached", api.Config{})
	ctx := context.Background()
	admin := f.login(t, "admin")

	lock, err := f.db.Pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Rollback(ctx)
	if _, err := lock.Exec(ctx, `SELECT 1 FROM area WHERE id = $1 FOR UPDATE`, f.gridID); err != nil {
		t.Fatal(err)
	}
	waiting := func() bool {
		var n int
		if err := f.db.Pool.QueryRow(ctx, `SELECT count(*) FROM pg_stat_activity
			WHERE datname = current_database() AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n > 0
	}

	cctx, leave := context.WithCancel(ctx)
	req, _ := http.NewRequestWithContext(cctx, http.MethodPatch, f.srv.URL+"/api/v1/areas/"+f.grid.Code,
		bytes.NewReader([]byte(`{"name":"客户端走了也改名","reason":"client left"}`)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-CSRF-Token", admin.csrf)
	done := make(chan error, 1)
	go func() {
		res, err := admin.hc.Do(req)
		if err == nil {
			res.Body.Close()
		}
		done <- err
	}()
	waitFor(t, "the rename waits for the lock", 10*time.Second, waiting)
	leave()
	if err := <-done; err == nil {
		t.Fatal("the client's request finished although it left before the answer")
	}
	// Without the fix the cancel request ends the lock wait within
	// milliseconds; the backend must still be waiting 1 s later.
	deadline := time.Now().Add(time.Second)
	for time.Now().Before(deadline) {
		if !waiting() {
			t.Fatal("the rename stopped waiting for the lock when its client left: it was cancelled")
		}
		time.Sleep(20 * time.Millisecond) // polling a condition over a bounded window
	}
	if err := lock.Rollback(ctx); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the rename commits after the lock is released", 10*time.Second, func() bool {
		var name string
		if err := f.db.Pool.QueryRow(ctx, `SELECT name FROM area WHERE id = $1`, f.gridID).Scan(&name); err != nil {
			t.Fatal(err)
		}
		return name == "客户端走了也改名"
	})
}
