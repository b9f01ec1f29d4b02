package api

import (
	"container/list"
	"context"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"gridmap/geo"
)

// clientIP is the address a request counts against in the per-client limits.
// It is the peer's address, unless the peer is one of the trusted proxies:
// then it is the right-most address of X-Forwarded-For that is not itself a
// trusted proxy (the left part of the header is whatever the client sent and
// is never believed), or, without X-Forwarded-For, X-Real-IP. Headers from
// untrusted peers are ignored, so a client cannot choose its own bucket.
func clientIP(r *http.Request, trusted []netip.Prefix) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	peer, err := netip.ParseAddr(host)
	if err != nil || !isTrusted(peer.Unmap(), trusted) {
		return host
	}
	client := peer.Unmap()
	if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
		hops := strings.Split(strings.Join(xff, ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			a, err := parseHop(hops[i])
			if err != nil {
				break // not an address: trust nothing further left
			}
			client = a
			if !isTrusted(a, trusted) {
				break
			}
		}
		return client.String()
	}
	if a, err := parseHop(r.Header.Get("X-Real-IP")); err == nil {
		return a.String()
	}
	return client.String()
}

// parseHop reads one X-Forwarded-For element: an address, possibly with a
// port (some proxies add one) or IPv6 brackets.
func parseHop(s string) (netip.Addr, error) {
	s = strings.TrimSpace(s)
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap(), nil
	}
	a, err := netip.ParseAddr(strings.TrimSuffix(strings.TrimPrefix(s, "["), "]"))
	return a.Unmap(), err
}

func isTrusted(a netip.Addr, trusted []netip.Prefix) bool {
	for _, p := range trusted {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// lru is a map bounded to size entries that, when full, forgets the entry
// used least recently (not all of them at once: a client that is being
// limited keeps its state while new clients arrive). Not safe for
// concurrent use.
type lru[V any] struct {
	size  int
	order *list.List // front: most recently used; elements hold *lruEntry[V]
	m     map[string]*list.Element
}

type lruEntry[V any] struct {
	key   string
	value V
}

func newLRU[V any](size int) *lru[V] {
	return &lru[V]{size: size, order: list.New(), m: map[string]*list.Element{}}
}

// get returns key's value, marking it used.
func (c *lru[V]) get(key string) (V, bool) {
	if e, ok := c.m[key]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*lruEntry[V]).value, true
	}
	var zero V
	return zero, false
}

// put sets key's value, marking it used, and evicts the least recently used
// entry when there are more than size.
func (c *lru[V]) put(key string, v V) {
	if e, ok := c.m[key]; ok {
		e.Value.(*lruEntry[V]).value = v
		c.order.MoveToFront(e)
		return
	}
	c.m[key] = c.order.PushFront(&lruEntry[V]{key: key, value: v})
	for c.order.Len() > c.size {
		oldest := c.order.Back()
		c.order.Remove(oldest)
		delete(c.m, oldest.Value.(*lruEntry[V]).key)
	}
}

func (c *lru[V]) delete(key string) {
	if e, ok := c.m[key]; ok {
		c.order.Remove(e)
		delete(c.m, key)
	}
}

func (c *lru[V]) len() int { return c.order.Len() }

// limiters hands out one token bucket per client, for at most size clients.
type limiters struct {
	mu    sync.Mutex
	rate  rate.Limit
	burst int
	m     *lru[*rate.Limiter]
}

func newLimiters(r rate.Limit, burst, size int) *limiters {
	return &limiters{rate: r, burst: burst, m: newLRU[*rate.Limiter](size)}
}

func (l *limiters) get(key string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim, ok := l.m.get(key)
	if !ok {
		lim = rate.NewLimiter(l.rate, l.burst)
		l.m.put(key, lim)
	}
	return lim
}

// throttle counts failed sign-ins in a sliding window, in a
// geo.SigninFailureStore: in memory (one process; a restart forgets them) or
// in PostgreSQL (data.SigninFailures, shared by every process). Three
// counters decide:
//
//   - per (account, client): perPair failures for one account from one
//     client, then that client waits (password guessing from one address);
//   - per client: perClient failures for any names, then that client waits
//     (spraying many names from one address);
//   - per account from all clients: perAccount failures, then the account
//     waits for everybody (guessing from many addresses). Each client
//     contributes at most perPair failures to it, so one client alone cannot
//     lock an account, only perAccount/perPair distinct clients can, and
//     only for the window.
//
// Failures for names that are not accounts count the same (the answer must
// not tell them apart), so a name nobody has cannot lock anyone out either.
type throttle struct {
	window                         time.Duration
	perPair, perClient, perAccount int
	store                          geo.SigninFailureStore
}

func newThrottle(window time.Duration, perPair, perClient, perAccount int, store geo.SigninFailureStore) *throttle {
	return &throttle{window: window, perPair: perPair, perClient: perClient, perAccount: perAccount, store: store}
}

// pairKey puts the client (an address, without spaces) first, so that no
// account name can make two pairs share a key; no NUL: PostgreSQL text cannot hold it.
func pairKey(account, client string) string { return "pair:" + client + " " + account }
func clientKey(client string) string        { return "client:" + client }
func accountKey(account string) string      { return "account:" + account }

// blocked returns how long client must wait before trying account again, 0
// when it may try now.
func (t *throttle) blocked(ctx context.Context, now time.Time, account, client string) (time.Duration, error) {
	keys := []struct {
		key   string
		limit int
	}{{pairKey(account, client), t.perPair}, {clientKey(client), t.perClient}, {accountKey(account), t.perAccount}}
	recent, err := t.store.Recent(ctx, []string{keys[0].key, keys[1].key, keys[2].key}, now.Add(-t.window))
	if err != nil {
		return 0, err
	}
	var wait time.Duration
	for _, k := range keys {
		if fs := recent[k.key]; len(fs) >= k.limit {
			wait = max(wait, fs[len(fs)-k.limit].Add(t.window).Sub(now))
		}
	}
	return wait, nil
}

// fail records a failed sign-in for account from client.
func (t *throttle) fail(ctx context.Context, now time.Time, account, client string) error {
	pair := pairKey(account, client)
	recent, err := t.store.Recent(ctx, []string{pair}, now.Add(-t.window))
	if err != nil {
		return err
	}
	keys := []string{pair, clientKey(client)}
	if len(recent[pair]) < t.perPair {
		keys = append(keys, accountKey(account))
	}
	return t.store.Add(ctx, keys, now, now.Add(-t.window))
}

// succeed forgets the failures of account from client after a right password
// (the account-wide count stays: a guesser elsewhere is still guessing).
func (t *throttle) succeed(ctx context.Context, account, client string) error {
	return t.store.Forget(ctx, pairKey(account, client))
}

// memoryFailures is the in-memory geo.SigninFailureStore of one process,
// remembering at most size keys (the least recently used are forgotten).
type memoryFailures struct {
	mu    sync.Mutex
	fails *lru[[]time.Time] // key → failure times, oldest first
}

func newMemoryFailures(size int) *memoryFailures {
	return &memoryFailures{fails: newLRU[[]time.Time](size)}
}

var _ geo.SigninFailureStore = (*memoryFailures)(nil)

// Recent returns each key's failures after since, dropping older ones.
func (m *memoryFailures) Recent(_ context.Context, keys []string, since time.Time) (map[string][]time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make(map[string][]time.Time, len(keys))
	for _, k := range keys {
		if fs := m.recent(k, since); len(fs) > 0 {
			out[k] = append([]time.Time(nil), fs...)
		}
	}
	return out, nil
}

func (m *memoryFailures) recent(key string, since time.Time) []time.Time {
	fs, _ := m.fails.get(key)
	i := 0
	for i < len(fs) && !fs[i].After(since) {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		m.fails.delete(key)
	} else {
		m.fails.put(key, fs)
	}
	return fs
}

// Add records a failure at under each key, forgetting those up to forget.
func (m *memoryFailures) Add(_ context.Context, keys []string, at, forget time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range keys {
		m.fails.put(k, append(m.recent(k, forget), at))
	}
	return nil
}

// Forget removes key's failures.
func (m *memoryFailures) Forget(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.fails.delete(key)
	return nil
}
