package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"gridmap/api"
)

// fixedClock is a clock that moves only when told: no bucket refills while a
// test runs, however slow the machine.
func fixedClock() func() time.Time {
	t0 := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	return func() time.Time { return t0 }
}

// forwarded sends one request as a proxy would, with X-Forwarded-For set
// (none when xff is empty).
func forwarded(t *testing.T, method, url, xff string, body any) (int, []byte) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if xff != "" {
		req.Header.Set("X-Forwarded-For", xff)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return res.StatusCode, out
}

// resident is the address of resident i, as the proxy saw it.
func resident(i int) string { return fmt.Sprintf("198.51.%d.%d", 100+i/250, i%250) }

// The finding: 200 residents × 5 lookups through a proxy got 920 × 429,
// because every request counted against the proxy's address.
func TestProxyClientsShareOneBucket(t *testing.T) {
	const residents, lookups = 200, 5
	cfg := api.Config{PublicRate: 1, PublicBurst: lookups, Now: fixedClock()}
	lookup := "/api/v1/lookup?lon=120.13&lat=30.28"

	t.Run("from a trusted proxy each resident has a bucket", func(t *testing.T) {
		cfg := cfg
		cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
		f := newEditFixture(t, "api_proxy_trusted", cfg)
		limited, unanswered := 0, 0
		for i := 0; i < residents; i++ {
			ok := false
			for j := 0; j < lookups; j++ {
				// The resident's address is the right-most one the proxy did not add.
				switch s, out := forwarded(t, "GET", f.srv.URL+lookup, resident(i)+", 127.0.0.1", nil); s {
				case 200:
					ok = true
				case 429:
					limited++
				default:
					t.Fatalf("resident %d: %d %s", i, s, out)
				}
			}
			if !ok {
				unanswered++
			}
		}
		if limited != 0 || unanswered != 0 {
			t.Errorf("%d residents × %d lookups through a trusted proxy: %d × 429, %d residents without an answer; want none",
				residents, lookups, limited, unanswered)
		}
		// What a client puts left of its own address is not believed: the
		// proxy appends the real peer, and that is the bucket.
		for j := 0; j < lookups; j++ {
			forwarded(t, "GET", f.srv.URL+lookup, fmt.Sprintf("192.0.2.%d, 203.0.113.250", j), nil)
		}
		if s, _ := forwarded(t, "GET", f.srv.URL+lookup, "192.0.2.99, 203.0.113.250", nil); s != 429 {
			t.Errorf("a client forging the left of X-Forwarded-For after its burst: %d, want 429", s)
		}
	})

	t.Run("from an untrusted peer the headers are ignored", func(t *testing.T) {
		cfg := cfg
		cfg.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")} // the test client is not in it
		f := newEditFixture(t, "api_proxy_untrusted", cfg)
		var statuses []int
		for i := 0; i < lookups+1; i++ {
			s, _ := forwarded(t, "GET", f.srv.URL+lookup, resident(i), nil)
			statuses = append(statuses, s)
		}
		if statuses[0] != 200 || statuses[lookups] != 429 {
			t.Errorf("statuses %v with a new X-Forwarded-For each time from an untrusted peer: want the burst and then 429", statuses)
		}
	})
}

// The finding: 20 wrong passwords for nonexistent names, each from another
// forwarded address, locked every staff account out for 15 minutes.
func TestForwardedAddressesCannotLockOutAccounts(t *testing.T) {
	cfg := api.Config{Now: fixedClock(), TrustedProxies: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}}
	f := newEditFixture(t, "api_proxy_lockout", cfg)
	login := func(t *testing.T, xff, name, password string) int {
		t.Helper()
		s, _ := forwarded(t, "POST", f.srv.URL+"/api/v1/login", xff+", 127.0.0.1", map[string]string{"name": name, "password": password})
		return s
	}
	t.Run("unknown names from 20 addresses", func(t *testing.T) {
		for i := 0; i < 20; i++ {
			if s := login(t, fmt.Sprintf("203.0.113.%d", i), fmt.Sprintf("nobody%d", i), "guess"); s != 401 {
				t.Fatalf("failure %d: %d, want 401", i, s)
			}
		}
		if s := login(t, "198.51.100.1", "editor", f.password); s != 200 {
			t.Errorf("editor with the right password from another client: %d, want 200", s)
		}
	})
	t.Run("wrong passwords for the account from one client", func(t *testing.T) {
		var last int
		for i := 0; i < 100; i++ {
			last = login(t, "203.0.113.200", "viewer", "guess")
		}
		if last != 429 {
			t.Errorf("the guessing client after 100 failures: %d, want 429", last)
		}
		if s := login(t, "198.51.100.2", "viewer", f.password); s != 200 {
			t.Errorf("viewer with the right password from another client: %d, want 200 (one client cannot lock the account)", s)
		}
	})
	t.Run("wrong passwords for the account from 20 addresses", func(t *testing.T) {
		for i := 0; i < 20; i++ {
			login(t, fmt.Sprintf("192.0.2.%d", i), "admin", "guess")
		}
		if s := login(t, "198.51.100.3", "admin", f.password); s != 200 {
			t.Errorf("admin with the right password from another client: %d, want 200", s)
		}
	})
	t.Run("one client spraying names is throttled", func(t *testing.T) {
		var statuses []int
		for i := 0; i < 21; i++ {
			statuses = append(statuses, login(t, "203.0.113.201", fmt.Sprintf("spray%d", i), "guess"))
		}
		if statuses[19] != 401 || statuses[20] != 429 {
			t.Errorf("statuses %v for 21 names from one client: want 20 × 401, then 429", statuses)
		}
	})
	t.Run("many clients guessing one account do lock it", func(t *testing.T) {
		// 10 clients × 5 failures reach the all-clients cap of 50.
		for i := 0; i < 10; i++ {
			for j := 0; j < 5; j++ {
				login(t, fmt.Sprintf("192.0.2.%d", 100+i), "outsider", "guess")
			}
		}
		if s := login(t, "198.51.100.4", "outsider", f.password); s != 429 {
			t.Errorf("outsider after 50 failures from 10 clients: %d, want 429", s)
		}
	})
}

func TestMetricsOnThePublicHandler(t *testing.T) {
	f := newEditFixture(t, "api_metrics", api.Config{})
	forwarded(t, "GET", f.srv.URL+"/healthz", "", nil)
	if s, out := forwarded(t, "GET", f.srv.URL+"/metrics", "", nil); s != 404 {
		t.Errorf("/metrics on the public handler: %d %.200s, want 404", s, out)
	}
	m := httptest.NewServer(f.server.Metrics())
	defer m.Close()
	s, out := forwarded(t, "GET", m.URL+"/metrics", "", nil)
	if s != 200 || !strings.Contains(string(out), "gridmap_http_requests_total") {
		t.Errorf("the metrics handler: %d %.200s, want 200 with gridmap_http_requests_total", s, out)
	}
}

func TestSecurityHeadersMissing(t *testing.T) {
	const csp = "default-src 'self'; frame-ancestors 'none'"
	f := newEditFixture(t, "api_headers", api.Config{ContentSecurityPolicy: csp})
	for _, path := range []string{"/api/v1/levels", "/healthz"} {
		res, err := http.Get(f.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := res.Header.Get("Content-Security-Policy"); got != csp {
			t.Errorf("%s: Content-Security-Policy %q, want %q", path, got, csp)
		}
		if got := res.Header.Get("X-Frame-Options"); got != "DENY" {
			t.Errorf("%s: X-Frame-Options %q, want DENY", path, got)
		}
	}
}
