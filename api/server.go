// Package api is gridmap's HTTP face: a gorilla/mux router whose handlers
// parse a request, call one geo service, and encode the answer. It reaches the
// database only through geo's interfaces.
package api

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"golang.org/x/time/rate"

	"gridmap/cases"
	"gridmap/geo"
)

// Config holds the API's settings; cmd fills it.
type Config struct {
	MaxBodyBytes int64 // requests with larger bodies get 413; default 4 MiB
	// MaxBatchBodyBytes is the body limit of POST /api/v1/lookup/batch alone
	// (100,000 points are about 5 MB); default MaxBodyBytes.
	MaxBatchBodyBytes int64
	SessionTTL        time.Duration // how long a sign-in lasts; default 12 h
	SecureCookies     bool          // mark cookies Secure even without TLS here (behind a TLS proxy)
	PublicRate        float64       // anonymous requests per second per client; 0 disables the limit
	PublicBurst       int           // bucket size of that limit; default 2 × rate
	// Failed sign-ins allowed in LoginWindow: for one account from one client
	// (default 5), from one client for any names (default 20), and for one
	// account from all clients together (default 50; one client contributes
	// at most LoginFailuresPerAccount to it, so it cannot lock an account alone).
	LoginFailuresPerAccount           int
	LoginFailuresPerClient            int
	LoginFailuresPerAccountAllClients int
	LoginWindow                       time.Duration
	// TrustedProxies are the peers whose X-Forwarded-For / X-Real-IP is
	// believed for the per-client limits (clients.go); none by default.
	TrustedProxies []netip.Prefix
	// ClientTableSize bounds the clients (and sign-in counters) remembered
	// per limit; the least recently seen are forgotten first. Default 100,000.
	ClientTableSize int
	// ContentSecurityPolicy is sent with every response (it matters for the
	// HTML pages); empty sends none. cmd sets web.ContentSecurityPolicy.
	ContentSecurityPolicy string
	// ReadYourWritesWait bounds how long a client's read waits for this
	// process to show its last write (consistency.go); default
	// DefaultReadYourWritesWait.
	ReadYourWritesWait time.Duration
	// WriteTimeout bounds a write request once it is detached from its
	// client (writes.go); set it above the database's statement timeout.
	// Default DefaultWriteTimeout.
	WriteTimeout time.Duration
	// Now is the clock of the rate limits and the sign-in throttle; default time.Now.
	Now func() time.Time
	// Counts is the small-count rule for vulnerable residents' counts on
	// every public surface (geo/privacy.go); the zero value is the default.
	Counts geo.CountPolicy
}

// Server is the HTTP handler. Its fields are set by cmd.
type Server struct {
	Lookup    geo.LookupService
	Areas     geo.AreaService
	Buildings geo.BuildingService
	People    geo.PersonService
	Auth      geo.AuthService
	Edits     geo.EditService
	// Partitions proposes and applies grids (api/partitions.go); nil serves none.
	Partitions geo.PartitionService
	// Roads are drawn on the posters' maps (api/pages.go); nil draws none.
	Roads geo.RoadReader
	// Cases is the case store (api/cases.go); nil serves no case routes.
	Cases cases.Service
	// Tiles serves the vector tiles, TileJSON, style and glyphs; nil serves none.
	Tiles *Tiles
	// Ready reports nil when the server can answer (database reachable and migrated).
	Ready func(ctx context.Context) error
	// Web serves the browser pages; nil serves none.
	Web http.Handler
	// Pages renders the building and grid pages and their posters (pages.go); nil serves none.
	Pages PageRenderer
	// PublicURL is the absolute base URL printed on posters (QR codes), e.g.
	// https://grid.example.cn; empty: the scheme and host of the request.
	PublicURL string
	// Contacts gives the community office's address and phone for posters; nil prints none.
	Contacts interface {
		Contact(ctx context.Context, areaIDs []int64) (geo.Contact, bool, error)
	}
	// Hotline is the citizen hotline printed on posters where the community sets none (cmd: 12345).
	Hotline string
	// SigninFailures keeps the sign-in throttle's counts; nil: in this
	// process's memory (cmd: data.SigninFailures, shared by all processes).
	SigninFailures geo.SigninFailureStore
	// Freshness gives read-your-writes across processes and replicas
	// (consistency.go); nil: none needed (one process on the primary).
	Freshness Freshness
	Log       *slog.Logger

	cfg       Config
	logins    *throttle
	public    *limiters // API calls; nil: anonymous requests are not limited
	mapAssets *limiters // tiles, fonts, styles, pages and assets
	router    *mux.Router
	registry  *prometheus.Registry
	requests  *prometheus.CounterVec
	duration  *prometheus.HistogramVec

	tileCacheHeader []string     // Cache-Control of tiles (tileCacheControl)
	tileHandler     http.Handler // the tile route's handler, without middleware
	tileChain       http.Handler // tileHandler in the middleware (ServeHTTP)
	tileOthers      map[string]bool
}

// NewServer wires the routes. Registry receives the request metrics, which
// Metrics serves (not the public handler); pass prometheus.NewRegistry() or
// one with more collectors.
func NewServer(cfg Config, s Server, registry *prometheus.Registry) *Server {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = 4 << 20
	}
	if cfg.MaxBatchBodyBytes <= 0 {
		cfg.MaxBatchBodyBytes = cfg.MaxBodyBytes
	}
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = 12 * time.Hour
	}
	if cfg.PublicBurst <= 0 {
		cfg.PublicBurst = int(2*cfg.PublicRate) + 1
	}
	if cfg.LoginFailuresPerAccount <= 0 {
		cfg.LoginFailuresPerAccount = 5
	}
	if cfg.LoginFailuresPerClient <= 0 {
		cfg.LoginFailuresPerClient = 20
	}
	if cfg.LoginFailuresPerAccountAllClients <= 0 {
		cfg.LoginFailuresPerAccountAllClients = 50
	}
	if cfg.ClientTableSize <= 0 {
		cfg.ClientTableSize = 100000
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.ReadYourWritesWait <= 0 {
		cfg.ReadYourWritesWait = DefaultReadYourWritesWait
	}
	if cfg.WriteTimeout <= 0 {
		cfg.WriteTimeout = DefaultWriteTimeout
	}
	if cfg.LoginWindow <= 0 {
		cfg.LoginWindow = 15 * time.Minute
	}
	srv := &s
	srv.cfg = cfg
	failures := srv.SigninFailures
	if failures == nil {
		failures = newMemoryFailures(cfg.ClientTableSize)
	}
	srv.logins = newThrottle(cfg.LoginWindow, cfg.LoginFailuresPerAccount, cfg.LoginFailuresPerClient, cfg.LoginFailuresPerAccountAllClients, failures)
	if cfg.PublicRate > 0 {
		srv.public = newLimiters(rate.Limit(cfg.PublicRate), cfg.PublicBurst, cfg.ClientTableSize)
		srv.mapAssets = newLimiters(rate.Limit(mapAssetFactor*cfg.PublicRate), mapAssetFactor*cfg.PublicBurst, cfg.ClientTableSize)
	}
	if srv.Log == nil {
		srv.Log = slog.Default()
	}
	srv.registry = registry
	srv.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "gridmap_http_requests_total", Help: "HTTP requests by route and status.",
	}, []string{"route", "status"})
	srv.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "gridmap_http_request_duration_seconds", Help: "HTTP request duration by route.",
		Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
	}, []string{"route"})
	registry.MustRegister(srv.requests, srv.duration)
	srv.routes()
	return srv
}

func (s *Server) routes() {
	r := mux.NewRouter()
	r.NotFoundHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, geo.Errorf(geo.ENotFound, "no such path %s", r.URL.Path))
	})
	r.MethodNotAllowedHandler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.writeError(w, r, &geo.Error{Code: errMethod, Message: "method " + r.Method + " is not allowed on " + r.URL.Path})
	})
	r.HandleFunc("/healthz", s.handleHealthz).Methods(http.MethodGet, http.MethodHead)
	r.HandleFunc("/readyz", s.handleReadyz).Methods(http.MethodGet, http.MethodHead)

	// Routes are registered on r itself: mux answers 404 instead of 405 for a
	// method mismatch inside a subrouter.
	v1 := func(path string, h http.HandlerFunc, methods ...string) {
		r.HandleFunc("/api/v1"+path, h).Methods(methods...)
	}
	v1("/openapi.json", s.handleOpenAPI, http.MethodGet)
	v1("/lookup", s.handle(s.handleLookup), http.MethodGet)
	v1("/lookup/batch", s.handle(s.handleLookupBatch), http.MethodPost)
	v1("/levels", s.handle(s.handleLevels), http.MethodGet)
	v1("/areas", s.handle(s.handleAreas), http.MethodGet)
	v1("/areas.geojson", s.handle(s.handleAreasGeoJSON), http.MethodGet)
	v1("/areas/{key}.geojson", s.handle(s.handleAreaGeoJSON), http.MethodGet)
	v1("/areas/{key}", s.handle(s.handleArea), http.MethodGet)
	v1("/areas/{key}/children", s.handle(s.handleAreaChildren), http.MethodGet)
	v1("/areas/{key}/versions", s.handle(s.handleAreaVersions), http.MethodGet)
	v1("/areas/{key}/responsible", s.handle(s.handleAreaResponsible), http.MethodGet)
	v1("/buildings", s.handle(s.handleBuildings), http.MethodGet)
	v1("/buildings/{code}", s.handle(s.handleBuilding), http.MethodGet)
	v1("/photos/{id:[0-9]+}", s.handle(s.handlePhoto), http.MethodGet)
	if s.Edits != nil {
		v1("/areas/{key}/stats", s.handle(s.handleStats), http.MethodGet)
	}
	if s.Auth != nil && s.Edits != nil {
		v1("/login", s.handleLogin, http.MethodPost)
		v1("/logout", s.staff(geo.UserViewer, s.handleLogout), http.MethodPost)
		v1("/session", s.handleSession, http.MethodGet)
		v1("/tokens", s.staff(geo.UserViewer, s.handle(s.handleCreateToken)), http.MethodPost)
		v1("/edits/preview", s.staff(geo.UserEditor, s.handle(s.handleEditPreview)), http.MethodPost)
		v1("/edits", s.staff(geo.UserEditor, s.handle(s.handleEditApply)), http.MethodPost)
		v1("/areas/{key}", s.staff(geo.UserEditor, s.handle(s.handleRename)), http.MethodPatch)
		v1("/people", s.staff(geo.UserEditor, s.handle(s.handleCreatePerson)), http.MethodPost)
		v1("/duties", s.staff(geo.UserEditor, s.handle(s.handleAssignDuty)), http.MethodPost)
		v1("/duties/{id:[0-9]+}/end", s.staff(geo.UserEditor, s.handle(s.handleEndDuty)), http.MethodPost)
		v1("/changes", s.staff(geo.UserViewer, s.handle(s.handleChanges)), http.MethodGet)
		v1("/changes/{id:[0-9]+}/revert", s.staff(geo.UserEditor, s.handle(s.handleRevert)), http.MethodPost)
	}

	s.caseRoutes(r)
	s.partitionRoutes(r)
	s.open311Routes(r)
	s.tileRoutes(r)
	s.pageRoutes(r)
	if s.Web != nil {
		// Everything else is the web's, except /api/: an unknown API path or
		// method is the JSON 404 or 405 of the handlers above, not a page.
		// (No path matcher: in mux 1.8.1 a matching one would clear the method
		// mismatch recorded by the API routes, and 405 would become the web's 404.)
		r.MatcherFunc(func(r *http.Request, _ *mux.RouteMatch) bool {
			return !strings.HasPrefix(r.URL.Path, "/api/")
		}).Handler(s.Web)
	}
	chain := []mux.MiddlewareFunc{s.instrument, s.securityHeaders, s.markStale, s.recoverPanics, s.limitBody, s.finishWrites, s.identify, s.rateLimit, s.consistency, s.checkText}
	r.Use(chain...)
	s.router = r
	if s.tileHandler != nil {
		// The tile route's own chain, made once (mux makes one per request),
		// with the route's template for the log and metrics.
		chain[0] = func(next http.Handler) http.Handler { return s.instrumentAs(tileRoute, next) }
		h := http.Handler(s.tileHandler)
		for i := len(chain) - 1; i >= 0; i-- {
			h = chain[i](h)
		}
		if others, ok := otherTileLayers(r); ok {
			s.tileChain, s.tileOthers = h, others
		}
	}
}

// Metrics serves the Prometheus metrics, for a listener of its own
// (GRIDMAP_METRICS_ADDR): the public handler has no /metrics.
func (s *Server) Metrics() http.Handler {
	return promhttp.HandlerFor(s.registry, promhttp.HandlerOpts{})
}

// ServeHTTP makes Server an http.Handler. A tile request (the hottest path,
// docs/scale.md "Warm tiles") skips mux's matching: its path is split by
// tilePathVars, which answers only for paths the tile route would match, and
// goes through the same middleware as every route.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if s.tileChain != nil && (r.Method == http.MethodGet || r.Method == http.MethodHead) {
		if vars := tilePathVars(r.URL.Path); vars != nil && !s.tileOthers[vars["layers"]] {
			s.tileChain.ServeHTTP(w, mux.SetURLVars(r, vars))
			return
		}
	}
	s.router.ServeHTTP(w, r)
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection (limitBody).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// instrument logs one line per request and counts it. It logs the route
// template, never the query string: residents' coordinates stay out of logs.
func (s *Server) instrument(next http.Handler) http.Handler { return s.instrumentAs("", next) }

// instrumentAs is instrument for the requests of one route, whose template
// is given; "" takes it from mux's match.
func (s *Server) instrumentAs(template string, next http.Handler) http.Handler {
	// A route known in advance (the tile route) takes its duration histogram
	// and its 200 counter once, not by their labels on every request.
	var duration prometheus.Observer
	var ok prometheus.Counter
	if template != "" {
		duration, ok = s.duration.WithLabelValues(template), s.requests.WithLabelValues(template, statusLabel(http.StatusOK))
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		route := template
		if route == "" {
			route = "unmatched"
			if cur := mux.CurrentRoute(r); cur != nil {
				if tpl, err := cur.GetPathTemplate(); err == nil {
					route = tpl
				}
			}
		}
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		end := time.Now()
		d := end.Sub(start)
		if ok != nil && sw.status == http.StatusOK {
			ok.Inc()
		} else {
			s.requests.WithLabelValues(route, statusLabel(sw.status)).Inc()
		}
		if duration != nil {
			duration.Observe(d.Seconds())
		} else {
			s.duration.WithLabelValues(route).Observe(d.Seconds())
		}
		s.logRequest(r, end, route, sw, d)
	})
}

// logRequest writes a request's log line. It is what s.Log.LogAttrs would
// write, made without Logger's runtime.Callers (the caller's program counter,
// ~3 % of a warm tile hit's CPU in a live server's profile, docs/scale.md
// "Warm tiles"): the record has no source, which only a handler with
// AddSource would print, and gridmap's handlers have none. The record's time
// is the request's end, which LogAttrs would read from the clock again.
func (s *Server) logRequest(r *http.Request, end time.Time, route string, sw *statusWriter, d time.Duration) {
	ctx, h := r.Context(), s.Log.Handler()
	if !h.Enabled(ctx, slog.LevelInfo) {
		return
	}
	rec := slog.NewRecord(end, slog.LevelInfo, "request", 0)
	rec.AddAttrs(slog.String("method", r.Method), slog.String("route", route), slog.Int("status", sw.status),
		slog.Duration("duration", d), slog.Int("bytes", sw.bytes))
	if c := sw.Header().Get("X-Tile-Cache"); c != "" {
		rec.AddAttrs(slog.String("tile", tileOfRequest(r)), slog.String("cache", c))
	}
	_ = h.Handle(ctx, rec)
}

// statusLabels are the status label values of the request counter, made
// once: strconv.Itoa allocates for every number above 99.
var statusLabels = func() (l [600]string) {
	for i := range l {
		l[i] = strconv.Itoa(i)
	}
	return l
}()

func statusLabel(code int) string {
	if code >= 0 && code < len(statusLabels) {
		return statusLabels[code]
	}
	return strconv.Itoa(code)
}

func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.Log.Error("panic", "route", r.URL.Path, "panic", v)
				s.writeError(w, r, geo.Errorf(geo.EInternal, "internal error"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// maxDrainBytes is how much of a body over the limit is read and thrown
// away after the 413 (the server's ReadTimeout bounds it in time too).
// Clients that send the whole body before reading the answer (Python's
// http.client, many scripts) otherwise get a reset connection, not the 413.
const maxDrainBytes = 1 << 30

func (s *Server) limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		limit := s.cfg.MaxBodyBytes
		if r.URL.Path == "/api/v1/lookup/batch" {
			limit = s.cfg.MaxBatchBodyBytes
		} else if isCasePhotoUpload(r) {
			limit = max(limit, maxCasePhotoBody)
		} else if isCaseIntakeForm(r) {
			limit = max(limit, maxIntakeFormBody)
		}
		if r.ContentLength > limit {
			rc := http.NewResponseController(w)
			rc.EnableFullDuplex() // the 413 is sent while the body is still read
			w.Header().Set("Connection", "close")
			s.writeError(w, r, geo.Errorf(geo.ETooLarge, "request body is %d bytes; the limit is %d", r.ContentLength, limit))
			rc.Flush()
			io.CopyN(io.Discard, r.Body, min(r.ContentLength, maxDrainBytes))
			return
		}
		if r.Body == nil || r.Body == http.NoBody {
			next.ServeHTTP(w, r)
			return
		}
		orig, rc := r.Body, http.NewResponseController(w)
		body := &limitedBody{ReadCloser: http.MaxBytesReader(w, orig, limit), rc: rc}
		r.Body = body
		next.ServeHTTP(w, r)
		if body.hit {
			rc.Flush()
			io.CopyN(io.Discard, orig, maxDrainBytes)
		}
	})
}

// limitedBody is a request body under http.MaxBytesReader that notes when
// the limit was hit, and from then on lets the handler answer while the rest
// of the body is still to be read (and drained by limitBody).
type limitedBody struct {
	io.ReadCloser
	rc  *http.ResponseController
	hit bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	var mbe *http.MaxBytesError
	if err != nil && !b.hit && errors.As(err, &mbe) {
		b.hit = true
		b.rc.EnableFullDuplex()
	}
	return n, err
}

func (s *Server) handleHealthz(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// handleReadyz answers 200 {"status":"ready"} or 503 {"status":"not ready",
// "code","reason"}: what is wrong (database unreachable, migrations pending,
// lookup index loading) in our words, never connection details; the cause is
// logged.
func (s *Server) handleReadyz(w http.ResponseWriter, r *http.Request) {
	if s.Ready != nil {
		if err := s.Ready(r.Context()); err != nil {
			s.Log.Warn("not ready", "err", err)
			reason := geo.ErrorMessage(err)
			if geo.ErrorCode(err) == geo.EInternal {
				reason = "an internal check failed; see the server's log"
			}
			w.Header().Set("Retry-After", retryAfterUnavailable)
			writeJSON(w, http.StatusServiceUnavailable, map[string]any{"status": "not ready", "code": geo.ErrorCode(err), "reason": reason})
			return
		}
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}
