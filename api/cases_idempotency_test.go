package api_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"sync"
	"testing"

	"gridmap/cases"
)

// doKey is client.do with an Idempotency-Key header (t.Error, not t.Fatal:
// it runs in goroutines too).
func (c *client) doKey(t *testing.T, method, path, key string, body any) (int, []byte) {
	t.Helper()
	status, out, err := c.send(method, path, key, body)
	if err != nil {
		t.Error(err)
	}
	return status, out
}

// TestCaseIdempotencyKey (issue 11): a report or an action sent again with
// the same Idempotency-Key (a phone resending what it queued offline, not
// knowing whether the first try arrived) makes one case and one action;
// the retry answers with the first one's outcome. Two at once with one key
// make one case too. A key reused for another request is a 409, a malformed
// key a 400.
func TestCaseIdempotencyKey(t *testing.T) {
	f := newCaseAPI(t, "api_case_idempotency")
	ctx := context.Background()
	count := func(q string, args ...any) int {
		t.Helper()
		var n int
		if err := f.db.Pool.QueryRow(ctx, q, args...).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	report := map[string]any{"category": "exposed_rubbish", "lon": f.lon, "lat": f.lat, "description": "离线时写的反映"}
	anon := f.login(t, "")
	const key = "4b1f0c1e-9d7a-4c55-8f0e-1d2a3b4c5d6e"
	status, body := anon.doKey(t, "POST", "/api/v1/cases", key, report)
	if status != http.StatusCreated {
		t.Fatalf("first intake: %d %s", status, body)
	}
	first := decode[cases.IntakeResult](t, body)
	status, body = anon.doKey(t, "POST", "/api/v1/cases", key, report)
	if status != http.StatusCreated || decode[cases.IntakeResult](t, body).TrackingCode != first.TrackingCode {
		t.Errorf("the retry: %d %s, want the first report's tracking code %s", status, body, first.TrackingCode)
	}
	if n := count(`SELECT count(*) FROM case_report WHERE description = '离线时写的反映'`); n != 1 {
		t.Errorf("two sends with one key made %d cases, want 1", n)
	}
	// Without a key each send is a new report (as before).
	anon.do(t, "POST", "/api/v1/cases", report)
	if n := count(`SELECT count(*) FROM case_report WHERE description = '离线时写的反映'`); n != 2 {
		t.Errorf("a send without a key: %d cases, want 2", n)
	}

	// Two at once with one key: one case.
	worker := f.login(t, "worker")
	const both = "concurrent-key-0001"
	var wg sync.WaitGroup
	codes := make([]string, 2)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			status, body := worker.doKey(t, "POST", "/api/v1/cases", both, map[string]any{"category": "exposed_rubbish", "lon": f.lon, "lat": f.lat, "description": "同时发了两次", "source": "grid_worker"})
			if status != http.StatusCreated {
				t.Errorf("concurrent intake %d: %d %s", i, status, body)
				return
			}
			codes[i] = decode[cases.IntakeResult](t, body).TrackingCode
		}()
	}
	wg.Wait()
	if n := count(`SELECT count(*) FROM case_report WHERE description = '同时发了两次'`); n != 1 || codes[0] != codes[1] {
		t.Errorf("two concurrent sends with one key: %d cases, codes %v; want one case", n, codes)
	}

	// An action sent twice with one key: one event, the retry answers the case as it is.
	disp := f.login(t, "dispatcher")
	var id int64
	if err := f.db.Pool.QueryRow(ctx, `SELECT id FROM case_report WHERE tracking_code = $1`, cases.NormalizeTrackingCode(first.TrackingCode)).Scan(&id); err != nil {
		t.Fatal(err)
	}
	actions := fmt.Sprintf("/api/v1/cases/%d/actions", id)
	const akey = "action-key-accept-1"
	for i := 0; i < 2; i++ {
		status, body := disp.doKey(t, "POST", actions, akey, map[string]any{"action": "accept", "version": 1})
		if rec := decode[cases.Record](t, body); status != 200 || rec.State != cases.StateAccepted || rec.Version != 2 {
			t.Errorf("accept try %d: %d %s, want 200 accepted at version 2", i+1, status, body)
		}
	}
	if n := count(`SELECT count(*) FROM case_event WHERE case_id = $1 AND action = 'accept'`, id); n != 1 {
		t.Errorf("two sends of accept with one key: %d accept events, want 1", n)
	}

	// A key is one request's: another person, another case or another kind of request with it is a conflict.
	for _, c := range []struct {
		name   string
		client *client
		path   string
		key    string
		body   any
	}{
		{"the intake's key on an action", disp, actions, key, map[string]any{"action": "dispatch", "version": 2}},
		{"the action's key on an intake", disp, "/api/v1/cases", akey, report},
		{"another person's key", worker, actions, akey, map[string]any{"action": "dispatch", "version": 2}},
	} {
		if status, body := c.client.doKey(t, "POST", c.path, c.key, c.body); status != http.StatusConflict {
			t.Errorf("%s: %d %s, want 409", c.name, status, body)
		}
	}
	for _, bad := range []string{"short", "has space in it", string(bytes.Repeat([]byte("k"), 129))} {
		if status, body := anon.doKey(t, "POST", "/api/v1/cases", bad, report); status != http.StatusBadRequest {
			t.Errorf("Idempotency-Key %q: %d %s, want 400", bad, status, body)
		}
	}
}
