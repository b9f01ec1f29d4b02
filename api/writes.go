package api

import (
	"context"
	"net/http"
	"time"
)

// DefaultWriteTimeout bounds a write request's work when Config.WriteTimeout
// is zero: a little over gridmap's default statement timeout (30 s), so that
// the server's own timeout ends a slow statement first.
const DefaultWriteTimeout = 40 * time.Second

// finishWrites detaches a write request (any method but GET, HEAD and OPTIONS)
// from its client: a client that goes away, or a proxy that gives up, does not
// end the request's context, so its transaction runs to its commit or its
// rollback on the server's own terms (statement_timeout), bounded by
// Config.WriteTimeout in the process. A phone that loses its connection after
// sending a report or an edit finds it applied when it asks again (with its
// Idempotency-Key, the same case), instead of a write that may or may not have
// been cut short.
//
// It also means gridmap sends no cancel request into a writing backend: when
// a context ends during a statement pgx closes the connection and sends one
// (pgconn's asyncClose, whatever the context watcher handler). That is not a
// cure for PostGIS's interrupted GEOS calls: a statement timeout interrupts
// GEOS just as well (bench/giststress -interrupts timeouts: 49 statements
// failed with "GEOS isvalid() threw an error!" in 80 s; docs/gist-index.md).
// Reads keep their client's context: a tile nobody waits for is not worth
// computing. POST routes that only compute (a partition preview) are detached
// too: a client that leaves no longer stops them before their statement
// timeout.
func (s *Server) finishWrites(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodHead, http.MethodOptions:
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), s.cfg.WriteTimeout)
		defer cancel()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}
