package api

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"gridmap/geo"
)

// seenCookie carries, after a client's write, the change-log position that
// covers it (read-your-writes across processes and replicas).
const seenCookie = "gridmap_seen"

// seenCookieAge is how long a client's reads wait for its last write.
const seenCookieAge = 60 * time.Second

// DefaultReadYourWritesWait bounds how long a read waits for this process to
// show the client's last write (Config.ReadYourWritesWait).
const DefaultReadYourWritesWait = 2 * time.Second

// Freshness is what read-your-writes needs of the change feed
// (data.ChangeFeed): the log position on the primary now, and a wait until
// this process shows every change up to a position (its caches and its read
// server both have it).
type Freshness interface {
	Committed(ctx context.Context) (int64, error)
	WaitApplied(ctx context.Context, seq int64) error
}

// consistency decides, once per request, which data a request must see
// (data.DB.reader routes by it; docs/scale.md):
//   - signed-in staff read from the primary (the editor's own reads);
//   - a client whose last write is at log position N (seenCookie) waits,
//     at most ReadYourWritesWait, until this process shows N; past the bound
//     its database reads and lookups go to the primary (unless N is beyond
//     the primary's log: not a real write, ignored);
//   - a successful write sets seenCookie to the primary's position after it.
func (s *Server) consistency(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if identityOf(r) != nil {
			ctx = geo.WithPrimaryReads(ctx)
		}
		if s.Freshness != nil {
			if c, err := r.Cookie(seenCookie); err == nil {
				if seq, err := strconv.ParseInt(c.Value, 10, 64); err == nil && seq > 0 {
					ctx = s.readsAfterWrite(ctx, seq)
				}
			}
		}
		// Most requests (anonymous, no write of their own) keep their
		// context: r.WithContext would copy the request for nothing.
		if ctx != r.Context() {
			r = r.WithContext(ctx)
		}
		if s.Freshness == nil || !isWrite(r) {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(&seenWriter{ResponseWriter: w, s: s, r: r}, r)
	})
}

// readsAfterWrite waits, bounded, until this process shows log position
// seq, and returns ctx marked with where the request's reads must go: to the
// server the change feed follows once it has delivered seq (that server has
// replayed the write; another server of the read set may not have), else to
// the primary. A position the primary has not reached is not a write of this
// client's (a forged cookie, or one from another database): it is ignored, so
// that a cookie cannot send public reads to the primary.
func (s *Server) readsAfterWrite(ctx context.Context, seq int64) context.Context {
	wctx, cancel := context.WithTimeout(ctx, s.cfg.ReadYourWritesWait)
	defer cancel()
	if s.Freshness.WaitApplied(wctx, seq) == nil {
		return geo.WithFeedServerReads(ctx)
	}
	committed, err := s.Freshness.Committed(ctx)
	// The primary cannot say (down): read the replica, possibly stale,
	// rather than send the read to a primary that cannot answer it.
	if err != nil || seq > committed {
		return ctx
	}
	return geo.WithPrimaryReads(ctx)
}

// isWrite: a request that may change data (not a read sent as POST).
func isWrite(r *http.Request) bool {
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions:
		return false
	}
	return r.URL.Path != "/api/v1/lookup/batch" && r.URL.Path != "/api/v1/login"
}

// seenWriter sets seenCookie on a write's successful answer, before its
// header goes out.
type seenWriter struct {
	http.ResponseWriter
	s    *Server
	r    *http.Request
	done bool
}

func (w *seenWriter) WriteHeader(code int) {
	if !w.done {
		w.done = true
		if code < 400 {
			if seq, err := w.s.Freshness.Committed(w.r.Context()); err == nil && seq > 0 {
				http.SetCookie(w.ResponseWriter, &http.Cookie{Name: seenCookie, Value: strconv.FormatInt(seq, 10), Path: "/",
					MaxAge: int(seenCookieAge / time.Second), HttpOnly: true, SameSite: http.SameSiteLaxMode,
					Secure: w.r.TLS != nil || w.s.cfg.SecureCookies})
			}
		}
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *seenWriter) Write(b []byte) (int, error) {
	if !w.done {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection.
func (w *seenWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
