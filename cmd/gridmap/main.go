// Command gridmap serves the gridmap API and web pages, and imports, exports
// and generates data. Run `gridmap help` for the commands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"gridmap/api"
	"gridmap/data"
	"gridmap/geo"
	"gridmap/web"
)

const usage = `gridmap: community grid management on a map.

Usage:
  gridmap serve   [--addr 127.0.0.1:8080] [--demo-if-empty]    serve the API and web pages (migrates first)
  gridmap migrate                                              apply database migrations
  gridmap demo    [--grids N] [--buildings N] [--seed S] [--cases N]   load the synthetic demo subdistrict (and a year of cases) into an empty database
  gridmap import areas FILE.geojson --level LEVEL [--code-field F] [--name-field F]
                  [--parent-code-field F] [--where PROP=VALUE]... [--strict] [--dry-run]
  gridmap import buildings FILE [--format geojson|csv|pbf] [--code-field F] [--address-field F] ...
  gridmap import roads FILE [--format geojson|pbf] [--source S] [--name-field F] [--dry-run]
                  replace the roads of source S (default: the file's name) with the file's highway=* ways or lines
  gridmap export areas [--level L] [--format geojson|kml] [-o FILE]
  gridmap level add --hierarchy H --key K --depth N --zh NAME --en NAME
  gridmap user add NAME --role admin|editor|viewer [--scope AREA_CODE]   (password from GRIDMAP_PASSWORD or stdin)
  gridmap partition AREA_CODE [--households MIN-MAX] [--grids K] [--mode fresh|maintain] [--seed S]
                  [--format summary|geojson] [--apply --reason TEXT]   propose grids (划网格) for an area; --apply commits them as one change
  gridmap cases import FILE.csv                                hotline (12345) export: ticket,received_at,category,lon,lat,crs,address,description,phone
  gridmap cases holidays FILE.txt                              working-calendar days ("2028-01-01 off 元旦" a line)

Environment:
  DATABASE_URL          PostgreSQL/PostGIS URL of the primary (required; multi-host with target_session_attrs=read-write allowed)
  GRIDMAP_READ_URL      server(s) of the public reads and the change feed, e.g. streaming replicas; with several hosts reads spread over them (default: DATABASE_URL)
  GRIDMAP_FEED_POLL     how often the change feed reads the change log on a replica (default 200ms, at most 1s)
  GRIDMAP_READ_YOUR_WRITES_WAIT  how long a client's read waits for its own last write to show (default 2s)
  GRIDMAP_ADDR          listen address (default 127.0.0.1:8080)
  GRIDMAP_LOG_FORMAT    text or json (default text)
  GRIDMAP_STATEMENT_TIMEOUT  server-side statement timeout (default 30s)
  GRIDMAP_PUBLIC_RATE   anonymous requests per second per client (default 20; 0 disables)
  GRIDMAP_SESSION_TTL   sign-in lifetime (default 12h)
  GRIDMAP_SECURE_COOKIES=1   mark cookies Secure (behind a TLS proxy)
  GRIDMAP_ADMIN_USER, GRIDMAP_ADMIN_PASSWORD   first admin, created on start when there are no accounts
  GRIDMAP_PUBLIC_URL    absolute base URL printed on posters' QR codes and in TileJSON (default: the request's host; warned about)
  GRIDMAP_TRUSTED_PROXIES  CIDRs of reverse proxies whose X-Forwarded-For/X-Real-IP is believed (default: none)
  GRIDMAP_METRICS_ADDR  listen address of /metrics (default 127.0.0.1:9090; empty or off disables)
  GRIDMAP_MIN_PUBLIC_COUNT   counts of vulnerable residents below it are shown as "<N" in public (default 5)
  GRIDMAP_PUBLIC_BUILDING_COUNTS=1   show those counts per building in public too (default: per grid only)
  GRIDMAP_BASEMAP_URL   raster XYZ/WMTS tile URL template with {z} {x} {y} (default: none, works offline)
  GRIDMAP_BASEMAP_CRS   wgs84 (also Tianditu/CGCS2000) or gcj02 (AMap, Tencent) (default wgs84)
  GRIDMAP_BASEMAP_ATTRIBUTION   the basemap's attribution
  GRIDMAP_ATTRIBUTION   data attribution on every map (default "© OpenStreetMap contributors")
  GRIDMAP_CASE_CONTACT_RETENTION  how long reporters' phones are kept after a case finished (default 2160h)
  GRIDMAP_CASE_JOB_INTERVAL       how often this process runs the case jobs (default 30s)
  GRIDMAP_CASE_WEBHOOK_SECRET     sign webhook notifications to units (default: notifications are logged)
`

// Config is read once, from flags and environment, in main.
type Config struct {
	DatabaseURL      string
	Hotline          string // the citizen hotline on posters where a community sets none (GRIDMAP_HOTLINE)
	Addr             string
	LogFormat        string
	StatementTimeout time.Duration
	MaxBodyBytes     int64
	DemoIfEmpty      bool
	DemoGrids        int
	DemoBuildings    int
	DemoSeed         int64
	PublicRate       float64
	SessionTTL       time.Duration
	SecureCookies    bool
	AdminUser        string // first admin, created on start when there are no accounts
	AdminPassword    string
	Tiles            TilesConfig     // wire_tiles.go
	Lookup           LookupConfig    // wire_lookup.go
	Cases            CasesConfig     // wire_cases.go
	Scale            ScaleConfig     // wire_scale.go
	PublicURL        string          // base URL on posters; "" uses the request's host
	Counts           geo.CountPolicy // the small-count rule of public surfaces (geo/privacy.go)
	Web              web.Config      // basemap and attribution of the browser pages
	// TrustedProxies are the reverse proxies whose X-Forwarded-For is believed (wire_proxy.go).
	TrustedProxies []netip.Prefix
	MetricsAddr    string // the /metrics listener; "" disables it
	MetricsAddrSet bool   // MetricsAddr came from GRIDMAP_METRICS_ADDR: failing to listen on it stops the start
}

// DefaultConfig returns the configuration before flags and environment.
func DefaultConfig() Config {
	return Config{Hotline: "12345", Addr: "127.0.0.1:8080", LogFormat: "text", StatementTimeout: 30 * time.Second, MaxBodyBytes: 4 << 20, DemoSeed: 1,
		PublicRate: 20, SessionTTL: 12 * time.Hour, MetricsAddr: defaultMetricsAddr, Counts: geo.CountPolicy{MinPublicCount: geo.DefaultMinPublicCount}, Web: web.Config{Attribution: "© OpenStreetMap contributors"}}
}

func configFromEnv(cfg Config) (Config, error) {
	if v := os.Getenv("DATABASE_URL"); v != "" {
		cfg.DatabaseURL = v
	}
	if v := os.Getenv("GRIDMAP_ADDR"); v != "" {
		cfg.Addr = v
	}
	if v := os.Getenv("GRIDMAP_LOG_FORMAT"); v != "" {
		cfg.LogFormat = v
	}
	if v := os.Getenv("GRIDMAP_STATEMENT_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			return cfg, fmt.Errorf("GRIDMAP_STATEMENT_TIMEOUT: %v", err)
		}
		cfg.StatementTimeout = d
	}
	if v := os.Getenv("GRIDMAP_PUBLIC_RATE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 {
			return cfg, fmt.Errorf("GRIDMAP_PUBLIC_RATE must be a number >= 0 (0 disables), got %q", v)
		}
		cfg.PublicRate = f
	}
	if v := os.Getenv("GRIDMAP_SESSION_TTL"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return cfg, fmt.Errorf("GRIDMAP_SESSION_TTL must be a duration like 12h, got %q", v)
		}
		cfg.SessionTTL = d
	}
	cfg.SecureCookies = os.Getenv("GRIDMAP_SECURE_COOKIES") == "1"
	if v := os.Getenv("GRIDMAP_MIN_PUBLIC_COUNT"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			return cfg, fmt.Errorf("GRIDMAP_MIN_PUBLIC_COUNT must be a whole number >= 1, got %q", v)
		}
		cfg.Counts.MinPublicCount = n
	}
	cfg.Counts.PublicBuildingCounts = os.Getenv("GRIDMAP_PUBLIC_BUILDING_COUNTS") == "1"
	cfg.AdminUser, cfg.AdminPassword = os.Getenv("GRIDMAP_ADMIN_USER"), os.Getenv("GRIDMAP_ADMIN_PASSWORD")
	if v := os.Getenv("GRIDMAP_HOTLINE"); v != "" {
		cfg.Hotline = v
	}
	if v := os.Getenv("GRIDMAP_PUBLIC_URL"); v != "" {
		if !strings.HasPrefix(v, "http://") && !strings.HasPrefix(v, "https://") {
			return cfg, fmt.Errorf("GRIDMAP_PUBLIC_URL must be an absolute http(s) URL, got %q", v)
		}
		cfg.PublicURL = v
	}
	if v, ok := os.LookupEnv("GRIDMAP_ATTRIBUTION"); ok {
		cfg.Web.Attribution = v
	}
	if v := os.Getenv("GRIDMAP_BASEMAP_URL"); v != "" {
		crs, err := geo.ParseCRS(os.Getenv("GRIDMAP_BASEMAP_CRS"))
		if err != nil || crs == geo.BD09 {
			return cfg, fmt.Errorf("GRIDMAP_BASEMAP_CRS must be wgs84 or gcj02, got %q", os.Getenv("GRIDMAP_BASEMAP_CRS"))
		}
		cfg.Web.Basemap = &web.Basemap{URL: v, CRS: string(crs), Attribution: os.Getenv("GRIDMAP_BASEMAP_ATTRIBUTION")}
	}
	cfg, err := tilesConfigFromEnv(cfg)
	if err != nil {
		return cfg, err
	}
	if cfg, err = proxyConfigFromEnv(cfg); err != nil {
		return cfg, err
	}
	if cfg, err = casesConfigFromEnv(cfg); err != nil {
		return cfg, err
	}
	if cfg, err = scaleConfigFromEnv(cfg); err != nil {
		return cfg, err
	}
	return lookupConfigFromEnv(cfg)
}

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "gridmap:", err)
		if geo.ErrorCode(err) == geo.EInvalid || errors.Is(err, flag.ErrHelp) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	cfg, err := configFromEnv(DefaultConfig())
	if err != nil {
		return err
	}
	if len(args) == 0 {
		args = []string{"serve"}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch args[0] {
	case "serve":
		return cmdServe(ctx, cfg, args[1:], stdout, stderr)
	case "migrate":
		return withOpenDB(ctx, cfg, func(db *data.DB) error {
			n, err := db.Migrate(ctx)
			if err == nil {
				fmt.Fprintf(stdout, "applied %d migrations\n", n)
			}
			return err
		})
	case "demo":
		return cmdDemo(ctx, cfg, args[1:], stdout)
	case "import":
		return cmdImport(ctx, cfg, args[1:], stdout, stderr)
	case "export":
		return cmdExport(ctx, cfg, args[1:], stdout)
	case "user":
		return cmdUser(ctx, cfg, args[1:], stdout)
	case "cases":
		return cmdCases(ctx, cfg, args[1:], stdout)
	case "level":
		return cmdLevel(ctx, cfg, args[1:], stdout)
	case "partition":
		return cmdPartition(ctx, cfg, args[1:], stdout, stderr)
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return geo.Errorf(geo.EInvalid, "unknown command %q", args[0])
	}
}

// withDB opens the database, migrates it, runs f and closes it.
func withDB(ctx context.Context, cfg Config, f func(db *data.DB) error) error {
	return withOpenDB(ctx, cfg, func(db *data.DB) error {
		if _, err := db.Migrate(ctx); err != nil {
			return err
		}
		return f(db)
	})
}

// withOpenDB opens the database for f without migrating it (gridmap migrate
// migrates itself, and reports how many it applied).
func withOpenDB(ctx context.Context, cfg Config, f func(db *data.DB) error) error {
	if cfg.DatabaseURL == "" {
		return geo.Errorf(geo.EInvalid, "DATABASE_URL is not set (make run sets it to the private cluster)")
	}
	db, err := data.Open(ctx, data.Config{URL: cfg.DatabaseURL, ReadURL: cfg.Scale.ReadURL, StatementTimeout: cfg.StatementTimeout, Log: newLogger(cfg, os.Stderr)})
	if err != nil {
		return err
	}
	defer db.Close()
	return f(db)
}

func newLogger(cfg Config, w io.Writer) *slog.Logger {
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

func cmdServe(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&cfg.Addr, "addr", cfg.Addr, "listen address")
	fs.BoolVar(&cfg.DemoIfEmpty, "demo-if-empty", false, "load the demo data when the database has no areas")
	if err := fs.Parse(args); err != nil {
		return err
	}
	// One line per request: written in batches (logwriter.go).
	lw := newLogWriter(stderr)
	defer lw.Close()
	log := newLogger(cfg, lw)
	return withDB(ctx, cfg, func(db *data.DB) error {
		if cfg.DemoIfEmpty {
			if err := loadDemoIfEmpty(ctx, db, cfg, stdout); err != nil {
				return err
			}
		}
		srv, err := newServer(ctx, cfg, db, log)
		if err != nil {
			return err
		}
		if w := publicURLWarning(cfg.PublicURL); w != "" {
			log.Warn(w)
		}
		ms, err := listenMetrics(cfg, srv.Metrics(), log)
		if err != nil {
			return err
		}
		hs := &http.Server{
			Addr: cfg.Addr, Handler: srv,
			ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 30 * time.Second,
			WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second,
		}
		errc := make(chan error, 1)
		go func() { errc <- hs.ListenAndServe() }()
		base := "http://" + cfg.Addr
		fmt.Fprintf(stdout, "gridmap is serving on %s\n  resident lookup: %s/\n  staff editor:    %s/admin\n  API:             %s/api/v1/openapi.json\n  example:         %s/api/v1/lookup?lon=120.13&lat=30.28\n",
			base, base, base, base, base)
		if ms != nil {
			fmt.Fprintf(stdout, "  metrics:         http://%s/metrics (not on the public address)\n", ms.Addr)
		}
		select {
		case err := <-errc:
			shutdownMetrics(context.Background(), ms)
			return err
		case <-ctx.Done():
		}
		log.Info("shutting down")
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		shutdownMetrics(sctx, ms)
		return hs.Shutdown(sctx)
	})
}

// newServer wires the API server of one process on db: the services, the
// change feed (following db's read server) and the caches it keeps current,
// the case jobs. Its background work runs until ctx ends.
func newServer(ctx context.Context, cfg Config, db *data.DB, log *slog.Logger) (*api.Server, error) {
	pages, err := web.NewPagesFor(cfg.Web)
	if err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(poolCollectors(db)...)
	// One connection follows the change log of the read server for the tile
	// cache and the lookup index of this process.
	feed := data.NewChangeFeed(db, log)
	if cfg.Scale.FeedPoll > 0 {
		feed.PollInterval = cfg.Scale.FeedPoll
	}
	go feed.Run(ctx)
	reg.MustRegister(feedCollectors(feed)...)
	reg.MustRegister(readHostCollectors(db)...)
	deps := api.Server{
		Areas:     data.NewAreaService(db),
		Buildings: data.NewBuildingService(db),
		People:    data.NewPersonService(db),
		Auth:      data.NewAuthService(db),
		Edits:     data.NewEditor(db),
		Ready:     db.Ready,
		Web:       web.Handler(cfg.Web),
		Pages:     pages,
		PublicURL: cfg.PublicURL,
		Contacts:  data.NewContactService(db),
		Hotline:   cfg.Hotline,
		Freshness: feed,
		// Partitions apply through an Editor of their own: it holds no state.
		Partitions: data.NewPartitioner(data.NewEditor(db)),
		Roads:      data.NewImporter(db),
		// Sign-in failures are counted in PostgreSQL, across processes.
		SigninFailures: data.NewSigninFailures(db),
		Log:            log,
	}
	if err := wireLookup(ctx, cfg, db, feed, reg, log, &deps); err != nil {
		return nil, err
	}
	if err := wireTiles(ctx, cfg, db, feed, reg, log, &deps); err != nil {
		return nil, err
	}
	if err := wireCases(ctx, cfg, db, log, &deps); err != nil {
		return nil, err
	}
	if err := ensureFirstAdmin(ctx, cfg, db, log); err != nil {
		return nil, err
	}
	return api.NewServer(apiConfig(cfg), deps, reg), nil
}

// poolCollectors export the pgx pool's statistics.
func poolCollectors(db *data.DB) []prometheus.Collector {
	gauge := func(name, help string, f func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, f)
	}
	return []prometheus.Collector{
		gauge("gridmap_db_pool_acquired_conns", "Connections in use.", func() float64 { return float64(db.Pool.Stat().AcquiredConns()) }),
		gauge("gridmap_db_pool_idle_conns", "Idle connections.", func() float64 { return float64(db.Pool.Stat().IdleConns()) }),
		gauge("gridmap_db_pool_total_conns", "Open connections.", func() float64 { return float64(db.Pool.Stat().TotalConns()) }),
		gauge("gridmap_db_pool_max_conns", "Pool size limit.", func() float64 { return float64(db.Pool.Stat().MaxConns()) }),
	}
}
