package jobs_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"gridmap/cases"
	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/demo"
	"gridmap/geo"
	"gridmap/jobs"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); defer c.mu.Unlock(); c.t = c.t.Add(d) }

// A unit's webhook gets each notification signed; a failure is retried after
// the backoff, not before; the payload carries no phone.
func TestWebhookNotificationsSignedAndRetried(t *testing.T) {
	ctx := context.Background()
	db, _ := dbtest.New(t, "jobs_webhook")
	dbtest.LoadDemo(t, db, demo.Options{})
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))}
	store, err := data.NewCaseStore(ctx, db, data.CaseOptions{Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	secret := []byte("s3cret")
	var mu sync.Mutex
	var calls []string
	fail := true
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mu.Lock()
		defer mu.Unlock()
		sig := r.Header.Get("X-Gridmap-Signature")
		if want := jobs.Sign(secret, clk.Now(), body); sig != want {
			t.Errorf("signature %q, want %q", sig, want)
		}
		calls = append(calls, string(body))
		if fail {
			fail = false
			w.WriteHeader(http.StatusBadGateway)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer hook.Close()

	admin, err := data.NewAuthService(db).CreateUser(ctx, geo.NewUser{Name: "admin", Password: "correct horse battery", Role: geo.UserAdmin})
	if err != nil {
		t.Fatal(err)
	}
	var grid string
	var p orb.Point
	if err := db.Pool.QueryRow(ctx, `SELECT a.code, ST_X(ST_PointOnSurface(v.geom)), ST_Y(ST_PointOnSurface(v.geom)) FROM area a
JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL WHERE a.level = 'grid' ORDER BY a.code LIMIT 1`).Scan(&grid, &p[0], &p[1]); err != nil {
		t.Fatal(err)
	}
	if _, err := store.CreateUnit(ctx, admin, data.UnitInput{Kind: "grid_team", Name: "网格", AreaCode: grid, WebhookURL: hook.URL}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Intake(ctx, nil, cases.Intake{Category: "exposed_rubbish", Point: p, Description: "垃圾", Phone: "13800000000"}); err != nil {
		t.Fatal(err)
	}
	r := &jobs.Runner{Store: store, Notifier: jobs.WebhookNotifier{Secret: secret, Now: clk.Now}, Now: clk.Now}
	run := func() int {
		if err := r.RunOnce(ctx); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		defer mu.Unlock()
		return len(calls)
	}
	if n := run(); n != 1 {
		t.Fatalf("first run: %d webhook calls, want 1", n)
	}
	if n := run(); n != 1 {
		t.Fatalf("second run before the backoff: %d calls, want still 1", n)
	}
	clk.Add(61 * time.Second)
	if n := run(); n != 2 {
		t.Fatalf("after the backoff: %d calls, want the retry", n)
	}
	clk.Add(time.Hour)
	if n := run(); n != 2 {
		t.Fatalf("after delivery: %d calls, want no more", n)
	}
	var attempts int
	var delivered bool
	if err := db.Pool.QueryRow(ctx, `SELECT attempts, delivered_at IS NOT NULL FROM case_notification`).Scan(&attempts, &delivered); err != nil {
		t.Fatal(err)
	}
	if attempts != 2 || !delivered {
		t.Errorf("notification: %d attempts, delivered %v; want 2 and true", attempts, delivered)
	}
	for _, c := range calls {
		if strings.Contains(c, "13800000000") {
			t.Errorf("webhook payload carries the phone: %s", c)
		}
	}
}

// An Idempotency-Key is remembered for the retention (a retry within it is
// the first report), and the runner forgets it after: a fresh key stays, an
// old one goes, and a retry with the forgotten key is a new report.
func TestRequestKeysPruned(t *testing.T) {
	ctx := context.Background()
	db, _ := dbtest.New(t, "jobs_request_keys")
	dbtest.LoadDemo(t, db, demo.Options{})
	clk := &clock{t: time.Date(2026, 3, 2, 10, 0, 0, 0, time.FixedZone("CST", 8*3600))}
	store, err := data.NewCaseStore(ctx, db, data.CaseOptions{Now: clk.Now, RequestKeyRetention: 7 * 24 * time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	var p orb.Point
	if err := db.Pool.QueryRow(ctx, `SELECT ST_X(ST_PointOnSurface(v.geom)), ST_Y(ST_PointOnSurface(v.geom)) FROM area a
JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL WHERE a.level = 'grid' ORDER BY a.code LIMIT 1`).Scan(&p[0], &p[1]); err != nil {
		t.Fatal(err)
	}
	intake := func(key string) string {
		t.Helper()
		res, err := store.Intake(ctx, nil, cases.Intake{Category: "exposed_rubbish", Point: p, Description: "垃圾", IdempotencyKey: key})
		if err != nil {
			t.Fatal(err)
		}
		return res.TrackingCode
	}
	keys := func() []string {
		t.Helper()
		rows, err := db.Pool.Query(ctx, `SELECT key FROM request_key ORDER BY key`)
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for rows.Next() {
			var k string
			if err := rows.Scan(&k); err != nil {
				t.Fatal(err)
			}
			out = append(out, k)
		}
		return out
	}
	first := intake("old-key-0001")
	clk.Add(5 * 24 * time.Hour)
	intake("new-key-0002")
	r := &jobs.Runner{Store: store, Now: clk.Now}
	if err := r.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(keys(), ","); got != "new-key-0002,old-key-0001" {
		t.Errorf("after 5 days of a 7-day retention: keys %s, want both", got)
	}
	if again := intake("old-key-0001"); again != first {
		t.Errorf("a retry within the retention made %s, want the first report %s", again, first)
	}
	clk.Add(3 * 24 * time.Hour) // the old key is 8 days old, the new one 3
	if err := r.RunOnce(ctx); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(keys(), ","); got != "new-key-0002" {
		t.Errorf("after 8 days: keys %s, want only the fresh one", got)
	}
	if again := intake("old-key-0001"); again == first {
		t.Errorf("a retry with a forgotten key answered the first report %s, want a new one", first)
	}
}
