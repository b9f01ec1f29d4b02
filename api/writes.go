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
// Config.WriteTimeout in the process.
//
// Why: when a context ends during a statement pgx closes the connection and
// sends PostgreSQL a cancel request (pgconn's asyncClose does so whatever the
// context watcher handler), and a cancel request is the SIGINT that PostGIS
// forwards into GEOS; during a write's CHECK (ST_IsValid(geom)) that made
// statements fail with "GEOS isvalid() threw an error!" and, under stress,
// backends abort and the server restart (docs/gist-index.md). statement_timeout
// (SIGALRM) does not interrupt GEOS: it ends the statement after the call.
// Reads keep their client's context: a tile nobody waits for is not worth
// computing, and reads run no validity checks (a tile's ST_AsMVTGeom may
// still call GEOS: docs/gist-index.md says what this leaves open). POST
// routes that only compute (a partition preview) are detached too: a client
// that leaves no longer stops them before their statement timeout.
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
