package api

import (
	"container/list"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
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

// throttle counts failed sign-ins in a sliding window, in memory (one
// process; a restart forgets them). Three counters decide:
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
	mu                             sync.Mutex
	window                         time.Duration
	perPair, perClient, perAccount int
	fails                          *lru[[]time.Time] // key → failure times, oldest first
}

func newThrottle(window time.Duration, perPair, perClient, perAccount, size int) *throttle {
	return &throttle{window: window, perPair: perPair, perClient: perClient, perAccount: perAccount, fails: newLRU[[]time.Time](size)}
}

func pairKey(account, client string) string { return "pair:" + account + "\x00" + client }
func clientKey(client string) string        { return "client:" + client }
func accountKey(account string) string      { return "account:" + account }

// blocked returns how long client must wait before trying account again, 0
// when it may try now.
func (t *throttle) blocked(now time.Time, account, client string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	var wait time.Duration
	for _, k := range []struct {
		key   string
		limit int
	}{{pairKey(account, client), t.perPair}, {clientKey(client), t.perClient}, {accountKey(account), t.perAccount}} {
		if fs := t.recent(now, k.key); len(fs) >= k.limit {
			wait = max(wait, fs[len(fs)-k.limit].Add(t.window).Sub(now))
		}
	}
	return wait
}

// recent returns key's failures inside the window, dropping older ones.
func (t *throttle) recent(now time.Time, key string) []time.Time {
	fs, _ := t.fails.get(key)
	i := 0
	for i < len(fs) && now.Sub(fs[i]) >= t.window {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		t.fails.delete(key)
	} else {
		t.fails.put(key, fs)
	}
	return fs
}

// fail records a failed sign-in for account from client.
func (t *throttle) fail(now time.Time, account, client string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	pair := t.recent(now, pairKey(account, client))
	if len(pair) < t.perPair {
		t.fails.put(accountKey(account), append(t.recent(now, accountKey(account)), now))
	}
	t.fails.put(pairKey(account, client), append(pair, now))
	t.fails.put(clientKey(client), append(t.recent(now, clientKey(client)), now))
}

// succeed forgets the failures of account from client after a right password
// (the account-wide count stays: a guesser elsewhere is still guessing).
func (t *throttle) succeed(account, client string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.fails.delete(pairKey(account, client))
}
