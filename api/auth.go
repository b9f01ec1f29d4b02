package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	"gridmap/geo"
)

// sessionCookie is the name of the session cookie.
const sessionCookie = "gridmap_session"

type ctxKey int

const (
	identityKey ctxKey = 1
	authErrKey  ctxKey = 2 // the error of a credential check that could not be made
)

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
// staff wrapper then answers 401. A check that could not be made (the
// database is unreachable) also leaves it anonymous, so public routes still
// answer, but records why: staff routes and GET /session answer that error
// (503), never 401, so the editor does not ask a signed-in user to sign in.
func (s *Server) identify(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.Auth == nil {
			next.ServeHTTP(w, r)
			return
		}
		var id *identity
		var checkErr error
		if h := r.Header.Get("Authorization"); strings.HasPrefix(h, "Bearer ") {
			u, err := s.Auth.APITokenUser(r.Context(), strings.TrimPrefix(h, "Bearer "))
			if err == nil {
				id = &identity{user: u}
			}
			checkErr = err
		} else if c, err := r.Cookie(sessionCookie); err == nil && c.Value != "" {
			sess, err := s.Auth.Session(r.Context(), c.Value)
			if err == nil {
				id = &identity{user: &sess.User, session: sess, token: c.Value}
			}
			checkErr = err
		}
		// An anonymous request without a failed check goes on as it came
		// (r.WithContext copies the request).
		if id != nil {
			r = r.WithContext(context.WithValue(r.Context(), identityKey, id))
		} else if code := geo.ErrorCode(checkErr); checkErr != nil && code != geo.EUnauthenticated && code != geo.ENotFound && code != geo.EInvalid {
			r = r.WithContext(context.WithValue(r.Context(), authErrKey, checkErr))
		}
		next.ServeHTTP(w, r)
	})
}

// unauthenticated is the error for a request without a usable identity: the
// credential check's own error when it could not be made, else 401 with msg.
func unauthenticated(r *http.Request, msg string) error {
	if err, _ := r.Context().Value(authErrKey).(error); err != nil {
		return err
	}
	return geo.Errorf(geo.EUnauthenticated, "%s", msg)
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
		case "/healthz", "/readyz":
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
			// AllowN takes a token without allocating; only a refused request
			// pays for the Reservation that says how long to wait.
			now, lim := s.cfg.Now(), l.get(clientIP(r, s.cfg.TrustedProxies))
			if lim.AllowN(now, 1) {
				next.ServeHTTP(w, r)
				return
			}
			res := lim.ReserveN(now, 1)
			if d := res.DelayFrom(now); d > 0 {
				res.CancelAt(now)
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
			s.writeError(w, r, unauthenticated(r, "sign in first (POST /api/v1/login) or send an API token"))
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
	now := s.cfg.Now()
	account, client := strings.ToLower(req.Name), clientIP(r, s.cfg.TrustedProxies)
	wait, err := s.logins.blocked(r.Context(), now, account, client)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	if wait > 0 {
		secs := int(math.Ceil(wait.Seconds()))
		w.Header().Set("Retry-After", fmt.Sprint(secs))
		s.writeError(w, r, geo.Errorf(geo.ETooMany, "too many failed sign-ins; try again in %d s", secs))
		return
	}
	u, err := s.Auth.Authenticate(r.Context(), req.Name, req.Password)
	if err != nil {
		if geo.ErrorCode(err) == geo.EUnauthenticated {
			if ferr := s.logins.fail(r.Context(), now, account, client); ferr != nil {
				err = ferr // a failure that cannot be counted must not look like a wrong password
			}
		}
		s.writeError(w, r, err)
		return
	}
	if err := s.logins.succeed(r.Context(), account, client); err != nil {
		s.writeError(w, r, err)
		return
	}
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

// sessionAnswer is GET /api/v1/session's answer: signed in or not, and when
// signed in the user, the CSRF token and the expiry.
type sessionAnswer struct {
	SignedIn bool `json:"signed_in"`
	*geo.Session
}

// GET /api/v1/session → {"signed_in":true,"user","csrf_token","expires_at"},
// or 200 {"signed_in":false} without a session: not being signed in is an
// answer to this question, not an error (the editor asks on every load, and a
// 401 is logged by the browser as a failed request). A check that could not
// be made is its 503/504.
func (s *Server) handleSession(w http.ResponseWriter, r *http.Request) {
	id := identityOf(r)
	if id == nil || id.session == nil {
		if err, _ := r.Context().Value(authErrKey).(error); err != nil {
			s.writeError(w, r, err)
			return
		}
		writeJSON(w, http.StatusOK, sessionAnswer{})
		return
	}
	writeJSON(w, http.StatusOK, sessionAnswer{SignedIn: true, Session: id.session})
}

type tokenRequest struct {
	Name     string `json:"name"`
	TTLHours int    `json:"ttl_hours"`
}

// maxTokenTTLHours is the longest lifetime a token may be given (10 years);
// 0 is a token that never expires. (time.Duration overflows from 2,562,048
// hours: a larger ttl_hours used to wrap round to one that never expired.)
const maxTokenTTLHours = 10 * 366 * 24

// POST /api/v1/tokens {"name","ttl_hours"} → {"token"} for the signed-in user.
func (s *Server) handleCreateToken(w http.ResponseWriter, r *http.Request) error {
	var req tokenRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.TTLHours < 0 || req.TTLHours > maxTokenTTLHours {
		return geo.Errorf(geo.EInvalid, "ttl_hours must be from 1 to %d hours, or 0 for a token that never expires; got %d", maxTokenTTLHours, req.TTLHours)
	}
	token, err := s.Auth.CreateAPIToken(r.Context(), identityOf(r).user.ID, req.Name, time.Duration(req.TTLHours)*time.Hour)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]string{"token": token})
	return nil
}

// decodeJSON reads one JSON object of a known shape from the body and holds
// every string in it to geo.CheckText (checkJSONText).
func decodeJSON(r *http.Request, v any) error {
	if ct := strings.TrimSpace(strings.Split(r.Header.Get("Content-Type"), ";")[0]); ct != "application/json" {
		return geo.Errorf(geo.EInvalid, "Content-Type must be application/json, got %q", r.Header.Get("Content-Type"))
	}
	return decodeJSONFrom(r.Body, v)
}

// decodeJSONFrom decodes one JSON object (no unknown fields) and holds its strings to geo.CheckText.
func decodeJSONFrom(body io.Reader, v any) error {
	dec := json.NewDecoder(body)
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
	return checkJSONText(v)
}
