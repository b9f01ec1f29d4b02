package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"

	"gridmap/api"
	"gridmap/data"
	"gridmap/index"
)

// LookupConfig configures how lookups are answered.
type LookupConfig struct {
	// Index answers current point lookups from the in-memory index
	// (GRIDMAP_LOOKUP_INDEX, default on; 0 sends every lookup to PostGIS).
	Index bool
	// MaxBatch is the most points one batch request may carry
	// (GRIDMAP_LOOKUP_MAX_BATCH, default 100,000).
	MaxBatch int
	// MaxBatchBytes is the body limit a batch of MaxBatch points needs
	// (GRIDMAP_LOOKUP_MAX_BATCH_BYTES, default 16 MiB: 100,000 points with
	// ids are about 5 MB of JSON). The server's body limit applies to every
	// route, so it is raised to this.
	MaxBatchBytes int64
	// BenchRoutes adds /bench/noop and /bench/lookup-postgis for
	// bench/lookup (GRIDMAP_BENCH_ROUTES=1); never in production.
	BenchRoutes bool
}

func lookupConfigFromEnv(cfg Config) (Config, error) {
	cfg.Lookup = LookupConfig{Index: true, MaxBatch: 100_000, MaxBatchBytes: 16 << 20}
	if v := os.Getenv("GRIDMAP_LOOKUP_INDEX"); v != "" {
		cfg.Lookup.Index = v != "0"
	}
	if v := os.Getenv("GRIDMAP_LOOKUP_MAX_BATCH"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return cfg, fmt.Errorf("GRIDMAP_LOOKUP_MAX_BATCH must be a whole number >= 1, got %q", v)
		}
		cfg.Lookup.MaxBatch = n
	}
	if v := os.Getenv("GRIDMAP_LOOKUP_MAX_BATCH_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n < 1 {
			return cfg, fmt.Errorf("GRIDMAP_LOOKUP_MAX_BATCH_BYTES must be a whole number of bytes >= 1, got %q", v)
		}
		cfg.Lookup.MaxBatchBytes = n
	}
	cfg.Lookup.BenchRoutes = os.Getenv("GRIDMAP_BENCH_ROUTES") == "1"
	return cfg, nil
}

// wireLookup sets deps.Lookup: the in-memory index over PostGIS, loading in
// the background and kept current by feed. Readiness waits for the index.
// The index reproduces the point-in-polygon arithmetic of one PostGIS release
// line (index.VerifiedPostGIS); on another, lookups are answered by PostGIS
// and a warning says why.
func wireLookup(ctx context.Context, cfg Config, db *data.DB, feed *data.ChangeFeed, reg *prometheus.Registry, log *slog.Logger, deps *api.Server) error {
	if !cfg.Lookup.Index {
		return wireLookupWith(ctx, cfg, "", db, feed, reg, log, deps)
	}
	version, err := data.NewSnapshotSource(db).PostGISVersion(ctx)
	if err != nil {
		log.Warn("lookup index off: the PostGIS version is unknown, lookups are answered by PostGIS", "err", err)
		cfg.Lookup.Index = false
	}
	return wireLookupWith(ctx, cfg, version, db, feed, reg, log, deps)
}

// wireLookupWith is wireLookup on a database whose PostGIS library is version.
func wireLookupWith(ctx context.Context, cfg Config, version string, db *data.DB, feed *data.ChangeFeed, reg *prometheus.Registry, log *slog.Logger, deps *api.Server) error {
	postgis := data.NewLookupService(db)
	if cfg.Lookup.Index && !index.MatchesPostGIS(version) {
		log.Warn("lookup index off: it reproduces the point-in-polygon arithmetic of another PostGIS; lookups are answered by PostGIS",
			"postgis", version, "verified", index.VerifiedPostGIS)
		cfg.Lookup.Index = false
	}
	if !cfg.Lookup.Index {
		deps.Lookup = limitedLookup{postgis, cfg.Lookup.MaxBatch}
		return wireBenchRoutes(cfg, postgis, deps)
	}
	idx := index.New(data.NewSnapshotSource(db), feed, postgis, index.Config{
		MaxBatch:  cfg.Lookup.MaxBatch,
		Listening: feed.WaitConnected,
		Log:       log,
	})
	go idx.Run(ctx)
	deps.Lookup = idx
	ready := deps.Ready
	deps.Ready = func(ctx context.Context) error {
		if ready != nil {
			if err := ready(ctx); err != nil {
				return err
			}
		}
		return idx.Ready(ctx)
	}
	reg.MustRegister(indexCollectors(idx)...)
	return wireBenchRoutes(cfg, postgis, deps)
}

// limitedLookup is PostGIS's lookup with the configured batch limit.
type limitedLookup struct {
	*data.LookupService
	maxBatch int
}

// MaxBatchPoints is the most points one batch request may carry.
func (l limitedLookup) MaxBatchPoints() int { return l.maxBatch }

// indexCollectors export the index's state.
func indexCollectors(idx *index.Service) []prometheus.Collector {
	return []prometheus.Collector{
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gridmap_lookup_index_ready", Help: "1 when point lookups are answered from memory."},
			func() float64 {
				if idx.Stats().Ready {
					return 1
				}
				return 0
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gridmap_lookup_index_areas", Help: "Areas the index can answer with."},
			func() float64 {
				if l := idx.Stats().Last; l != nil {
					return float64(l.Indexed)
				}
				return 0
			}),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gridmap_lookup_index_loads_total", Help: "Completed index loads, full or of changed areas."},
			func() float64 { return float64(idx.Stats().Loads) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gridmap_lookup_fallback_points_total", Help: "Points answered by PostGIS (as-of dates, or while the index loads)."},
			func() float64 { return float64(idx.Stats().Fallbacks) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gridmap_lookup_address_index_ready", Help: "1 when address lookups are answered from memory."},
			func() float64 {
				if idx.Stats().AddressReady {
					return 1
				}
				return 0
			}),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gridmap_lookup_address_index_buildings", Help: "Buildings in the address index."},
			func() float64 { return float64(idx.Stats().Buildings) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gridmap_lookup_address_fallbacks_total", Help: "Address lookups answered by PostGIS."},
			func() float64 { return float64(idx.Stats().AddressFallbacks) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "gridmap_lookup_stale_answers_total", Help: "Lookups answered from memory, marked stale, while the database could not be reached."},
			func() float64 { return float64(idx.Stats().StaleAnswers) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "gridmap_lookup_index_last_load_seconds", Help: "Duration of the last index load."},
			func() float64 {
				if l := idx.Stats().Last; l != nil {
					return l.Duration.Seconds()
				}
				return 0
			}),
	}
}

// wireBenchRoutes adds, when configured, the two comparison routes of
// bench/lookup to the catch-all handler, so they pass through the same
// router and middleware as /api/v1/lookup:
//
//	/bench/noop             writes {} and nothing else
//	/bench/noop-tile?bytes=N  writes what a gzip tile hit writes, from
//	                        memory and without a tile: the tile route's
//	                        headers and N bytes (docs/scale.md, "Warm tiles")
//	/bench/lookup-postgis   /api/v1/lookup answered by PostGIS (a second
//	                        api.Server with PostGIS behind it, logging nowhere)
func wireBenchRoutes(cfg Config, postgis *data.LookupService, deps *api.Server) error {
	if !cfg.Lookup.BenchRoutes {
		return nil
	}
	pg := api.NewServer(api.Config{MaxBodyBytes: cfg.MaxBodyBytes, MaxBatchBodyBytes: cfg.Lookup.MaxBatchBytes}, api.Server{
		Lookup: limitedLookup{postgis, cfg.Lookup.MaxBatch},
		Log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
	}, prometheus.NewRegistry())
	next := deps.Web
	deps.Web = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/bench/noop":
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			io.WriteString(w, "{}\n")
		case "/bench/noop-tile":
			writeNoopTile(w, r)
		case "/bench/lookup-postgis":
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/api/v1/lookup"
			pg.ServeHTTP(w, r2)
		default:
			if next == nil {
				http.NotFound(w, r)
				return
			}
			next.ServeHTTP(w, r)
		}
	})
	return nil
}

// noopTileBody is the body of /bench/noop-tile, up to its length.
var noopTileBody = make([]byte, 1<<16)

// noopTileHeaders are the headers a gzip tile hit sets in its handler
// (api/tiles.go; securityHeaders' nosniff comes from the middleware), values
// made once as the tile handler's are.
var noopTileHeaders = http.Header{
	"Access-Control-Allow-Origin":   {"*"},
	"Access-Control-Expose-Headers": {"ETag, X-Tile-Cache, X-Data-Stale, Content-Length"},
	"Content-Type":                  {"application/vnd.mapbox-vector-tile"},
	"Cache-Control":                 {api.DefaultTileCacheControl},
	"Vary":                          {"Accept-Encoding"},
	"X-Tile-Cache":                  {"hit"},
	"Etag":                          {`"0123456789abcdef01234567-gzip"`},
	"Content-Encoding":              {"gzip"},
}

// writeNoopTile answers /bench/noop-tile?bytes=N: a tile hit's headers and
// N bytes (at most 64 KiB), so that a benchmark can tell what a hit costs
// beyond writing its headers and bytes. Its response headers are a tile's
// (the document headers securityHeaders sets off /tiles/ are taken away
// again), and its X-Tile-Cache gives it a tile's log line (tile=//). The
// body is zeros under the tile's Content-Encoding: gzip, which a client that
// decodes gets an error from (bench/tiles/replay does not decode).
func writeNoopTile(w http.ResponseWriter, r *http.Request) {
	n, err := strconv.Atoi(r.URL.Query().Get("bytes"))
	if err != nil || n < 0 || n > len(noopTileBody) {
		http.Error(w, "bytes=N with N from 0 to 65536", http.StatusBadRequest)
		return
	}
	h := w.Header()
	delete(h, "Content-Security-Policy")
	delete(h, "X-Frame-Options")
	for k, v := range noopTileHeaders {
		h[k] = v
	}
	h["Content-Length"] = []string{strconv.Itoa(n)}
	w.WriteHeader(http.StatusOK)
	w.Write(noopTileBody[:n])
}
