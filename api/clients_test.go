package api

import (
	"context"
	"net/http/httptest"
	"net/netip"
	"strconv"
	"testing"
	"time"
)

func TestClientIPBehindProxies(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("fd00::/8")}
	for _, tc := range []struct {
		name, peer, xff, realIP string
		want                    string
	}{
		{"no proxy", "203.0.113.7:5000", "", "", "203.0.113.7"},
		{"untrusted peer's X-Forwarded-For is ignored", "203.0.113.7:5000", "198.51.100.1", "", "203.0.113.7"},
		{"untrusted peer's X-Real-IP is ignored", "203.0.113.7:5000", "", "198.51.100.1", "203.0.113.7"},
		{"trusted proxy", "10.0.0.2:5000", "198.51.100.1", "", "198.51.100.1"},
		{"forged left part is not believed", "10.0.0.2:5000", "1.1.1.1, 198.51.100.1", "", "198.51.100.1"},
		{"chain of trusted proxies", "10.0.0.2:5000", "198.51.100.1, 10.0.0.9, 10.0.0.3", "", "198.51.100.1"},
		{"all trusted: the left-most", "10.0.0.2:5000", "10.0.0.8, 10.0.0.9", "", "10.0.0.8"},
		{"garbage stops the walk", "10.0.0.2:5000", "198.51.100.1, unknown", "", "10.0.0.2"},
		{"address with port", "10.0.0.2:5000", "198.51.100.1:4711", "", "198.51.100.1"},
		{"X-Real-IP without X-Forwarded-For", "10.0.0.2:5000", "", "198.51.100.1", "198.51.100.1"},
		{"IPv6 client through IPv6 proxy", "[fd00::1]:5000", "[2001:db8::5]", "", "2001:db8::5"},
		{"IPv4-mapped peer", "[::ffff:10.0.0.2]:5000", "198.51.100.1", "", "198.51.100.1"},
		{"trusted, no headers", "10.0.0.2:5000", "", "", "10.0.0.2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/", nil)
			r.RemoteAddr = tc.peer
			if tc.xff != "" {
				r.Header.Set("X-Forwarded-For", tc.xff)
			}
			if tc.realIP != "" {
				r.Header.Set("X-Real-IP", tc.realIP)
			}
			if got := clientIP(r, trusted); got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// The finding: when the limiter map grew past its bound it was reset, so
// every client, including one being limited, got a full bucket again.
func TestLimiterMapResetsAllClients(t *testing.T) {
	const size = 100
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	l := newLimiters(1, 1, size)
	if !l.get("abuser").AllowN(now, 1) {
		t.Fatal("the first request must pass")
	}
	for i := 0; i < size-1; i++ { // the map is full, the abuser the oldest but one used recently
		l.get("client" + strconv.Itoa(i))
	}
	l.get("abuser")
	l.get("one more") // evicts client0, the least recently seen
	if l.get("abuser").AllowN(now, 1) {
		t.Error("the abuser's empty bucket was refilled when the map grew")
	}
	if got := l.m.len(); got != size {
		t.Errorf("%d clients remembered, want the bound %d", got, size)
	}
	if _, ok := l.m.get("client0"); ok {
		t.Error("client0, seen least recently, is still remembered")
	}
	if _, ok := l.m.get("client1"); !ok {
		t.Error("client1 was forgotten, want only the oldest gone")
	}
}

// The finding's twin in the sign-in throttle: flooding it with new names
// must not wipe the failures a guesser has run up.
func TestThrottleMapResetsAllFailures(t *testing.T) {
	now := time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC)
	ctx := context.Background()
	th := newThrottle(15*time.Minute, 5, 20, 50, newMemoryFailures(100))
	blocked := func(now time.Time) time.Duration {
		t.Helper()
		w, err := th.blocked(ctx, now, "wang", "203.0.113.1")
		if err != nil {
			t.Fatal(err)
		}
		return w
	}
	for i := 0; i < 5; i++ {
		th.fail(ctx, now, "wang", "203.0.113.1")
	}
	for i := 0; i < 40; i++ { // 3 keys each (120 > 100), from clients that are never blocked themselves
		th.fail(ctx, now, "n"+strconv.Itoa(i), "198.51.100."+strconv.Itoa(i))
		blocked(now) // the guesser keeps trying
	}
	if blocked(now) == 0 {
		t.Error("the guesser's failures were forgotten when the table grew")
	}
	if blocked(now.Add(15*time.Minute)) != 0 {
		t.Error("still blocked after the window")
	}
}
