package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"gridmap/geo"
)

// sessionCookie is the name of the session cookie.
const sessionCookie = "gridmap_session"

type ctxKey int

const identityKey ctxKey = 1

// identity is who made a request: nobody, a session (browser) or a token (script).
type identity struct {
	user    *geo.User
	session *geo.Session // nil for token users
	token   string       // the session token, for logout
}

func identityOf(r *http.Request) *identity {
	id, _ := r.Context().Value(identityKey).(*identity)
	return id
}

// identify resolves the session cookie or bearer token, when present, into
// the request context. Invalid credentials leave the request anonymous; the
// staff wrapper then answers 401.
func (s *Server) identify(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Auth == nil {
			next.ServeHTTP(w, r)
			return
		}
		var id *identity
		if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
			if u, err := s.Auth.APITokenUser(r.Context(), strings.TrimPrefix(h, "Bearer ")); err == nil {
				id = &identity{user: u}
			}
		} else if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
			if sess, err := s.Auth.Session(r.Context(), c.Value); err == nil {
				id = &identity{user: &sess.User, session: sess, token: c.Value}
			}
		}
		if id != nil {
			r = r.WithContext(context.WithValue(r.Context(), identityKey, id))
		}
		next.ServeHTTP(w, r)
	})
}

// clientIP is the peer address of the request (proxies are not trusted).
func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// limiters hands out one token bucket per client.
type limiters struct {
	mu    sync.Mutex
	rate  rate.Limit
	burst int
	m     map[string]*rate.Limiter
}

func (l *limiters) get(key string) *rate.Limiter {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.m) > 100000 {
		l.m = map[string]*rate.Limiter{} // forget idle clients rather than grow without bound
	}
	lim, ok := l.m[key]
	if !ok {
		lim = rate.NewLimiter(l.rate, l.burst)
		l.m[key] = lim
	}
	return lim
}

// rateLimit limits anonymous requests per client; staff (valid session or
// token) and the operational endpoints are not limited.
// (mux builds the middleware chain per request: the limiters live in the Server.)
func (s *Server) rateLimit(next http.Handler) http.Handler {
	if s.public == nil {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics":
			next.ServeHTTP(w, r)
			return
		}
		if identityOf(r) == nil {
			// A map view loads dozens of tiles, fonts and assets at once: those
			// get their own, ten times larger, bucket; API calls and pages the other.
			l, perSecond := s.public, s.cfg.PublicRate
			if !strings.HasPrefix(r.URL.Path, "/api/") && !strings.HasPrefix(r.URL.Path, "/open311/") || strings.HasPrefix(r.URL.Path, "/api/v1/photos/") {
				l, perSecond = s.mapAssets, mapAssetFactor*s.cfg.PublicRate
			}
			res := l.get(clientIP(r)).Reserve()
			if d := res.Delay(); d > 0 {
				res.Cancel()
				secs := int(math.Ceil(d.Seconds()))
				w.Header().Set("Retry-After", fmt.Sprint(secs))
				s.writeError(w, r, geo.Errorf(geo.ETooMany, "too many requests from this client: at most %g per second; try again in %d s", perSecond, secs))
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// mapAssetFactor is how many more map tiles, fonts, pages and assets than API
// calls an anonymous client may fetch per second.
const mapAssetFactor = 10

// staff wraps a handler that needs a signed-in user of at least role. Unsafe
// methods from a browser session must carry the session's CSRF token in the
// X-CSRF-Token header.
func (s *Server) staff(role geo.UserRole, h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		id := identityOf(r)
		if id == nil {
			s.writeError(w, r, geo.Errorf(geo.EUnauthenticated, "sign in first (POST /api/v1/login) or send an API token"))
			return
		}
		if id.session != nil && r.Method != http.MethodGet && r.Method != http.MethodHead {
			if got := r.Header.Get("X-CSRF-Token"); got == "" || got != id.session.CSRFToken {
				s.writeError(w, r, geo.Errorf(geo.EForbidden, "missing or wrong X-CSRF-Token header; take it from GET /api/v1/session"))
				return
			}
		}
		if role == geo.UserEditor && id.user.Role == geo.UserViewer {
			s.writeError(w, r, geo.Errorf(geo.EForbidden, "account %s may only read", id.user.Name))
			return
		}
		if role == geo.UserAdmin && id.user.Role != geo.UserAdmin {
			s.writeError(w, r, geo.Errorf(geo.EForbidden, "only admins may do this"))
			return
		}
		h(w, r)
	}
}

// throttle counts failed logins per account and per client in a sliding window.
type throttle struct {
	mu       sync.Mutex
	window   time.Duration
	fails    map[string][]time.Time
	keyLimit func(key string) int
}

func newThrottle(window time.Duration, perAccount, perClient int) *throttle {
	return &throttle{window: window, fails: map[string][]time.Time{}, keyLimit: func(key string) int {
		if strings.HasPrefix(key, "client:") {
			return perClient
		}
		return perAccount
	}}
}

// blocked returns how long key must wait, 0 when it may try.
func (t *throttle) blocked(now time.Time, keys ...string) time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	var wait time.Duration
	for _, k := range keys {
		fs := t.recent(now, k)
		if limit := t.keyLimit(k); len(fs) >= limit {
			wait = max(wait, fs[len(fs)-limit].Add(t.window).Sub(now))
		}
	}
	return wait
}

func (t *throttle) recent(now time.Time, k string) []time.Time {
	fs := t.fails[k]
	i := 0
	for i < len(fs) && now.Sub(fs[i]) > t.window {
		i++
	}
	fs = fs[i:]
	if len(fs) == 0 {
		delete(t.fails, k)
	} else {
		t.fails[k] = fs
	}
	return fs
}

func (t *throttle) fail(now time.Time, keys ...string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.fails) > 100000 {
		t.fails = map[string][]time.Time{}
	}
	for _, k := range keys {
		t.fails[k] = append(t.recent(now, k), now)
	}
}

func (t *throttle) succeed(account string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.fails, account)
}

type loginRequest struct {
	Name     string `json:"name"`
	Password string `json:"password"`
}

// POST /api/v1/login {"name","password"} → session cookie + {"user","csrf_token","expires_at"}
func (s *Server) handleLogin(w http.ResponseWriter, r *http.Request) {
	var req loginRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	now := time.Now()
	account, client := "account:"+strings.ToLower(req.Name), "client:"+clientIP(r)
	if wait := s.logins.blocked(now, account, client); wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", fmt.Sprint(secs))
		s.writeError(w, r, geo.Errorf(geo.ETooMany, "too many failed sign-ins; try again in %d s", secs))
		return
	}
	u, err := s.Auth.Authenticate(r.Context(), req.Name, req.Password)
	if err != nil {
		if geo.ErrorCode(err) == geo.EUnauthenticated {
			s.logins.fail(now, account, client)
		}
		s.writeError(w, r, err)
		return
	}
	s.logins.succeed(account)
	token, sess, err := s.Auth.CreateSession(r.Context(), u.ID, s.cfg.SessionTTL)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: token, Path: "/", Expires: sess.ExpiresAt,
		HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil || s.cfg.SecureCookies,
	})
	writeJSON(w, http.StatusOK, sess)
}

// POST /api/v1/logout
func (s *Server) handleLogout(w http.ResponseWriter, r *http.Request) {
	if id := identityOf(r); id != nil && id.token != "" {
		if err := s.Auth.DeleteSession(r.Context(), id.token); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", MaxAge: -1, HttpOnly: true, SameSite: http.SameSiteLaxMode, Secure: r.TLS != nil || s.cfg.SecureCookies})
	w.WriteHeader(http.StatusNoContent)
}

// GET /api/v1/session → the signed-in user and the CSRF token.
func (s *Server) handleSession(w http.ResponseWriter, r *http.Request) {
	id := identityOf(r)
	if id == nil || id.session == nil {
		s.writeError(w, r, geo.Errorf(geo.EUnauthenticated, "not signed in"))
		return
	}
	writeJSON(w, http.StatusOK, id.session)
}

type tokenRequest struct {
	Name     string `json:"name"`
	TTLHours int    `json:"ttl_hours"`
}

// POST /api/v1/tokens {"name","ttl_hours"} → {"token"} for the signed-in user.
func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request) {
	var req tokenRequest
	if err := decodeJSON(r, &req); err != nil {
		s.writeError(w, r, err)
		return
	}
	if req.TTLHours < 0 {
		s.writeError(w, r, geo.Errorf(geo.EInvalid, "ttl_hours must not be negative"))
		return
	}
	token, err := s.Auth.CreateAPIToken(r.Context(), identityOf(r).user.ID, req.Name, time.Duration(req.TTLHours)*time.Hour)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"token": token})
}

// decodeJSON reads one JSON object of a known shape from the body.
func decodeJSON(r *http.Request, v any) error {
	if ct := strings.TrimSpace(strings.Split(r.Header.Get("Content-Type"), ";")[0]); ct != "application/json" {
		return geo.Errorf(geo.EInvalid, "Content-Type must be application/json, got %q", r.Header.Get("Content-Type"))
	}
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return err
		}
		return geo.Errorf(geo.EInvalid, "body is not the expected JSON: %v", err)
	}
	if dec.More() {
		return geo.Errorf(geo.EInvalid, "body must hold one JSON object")
	}
	return nil
}
