package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"gridmap/api"
	"gridmap/web"
)

// defaultMetricsAddr is where /metrics listens unless GRIDMAP_METRICS_ADDR
// says otherwise: loopback only, apart from the public listener.
const defaultMetricsAddr = "127.0.0.1:9090"

// proxyConfigFromEnv reads the settings for running behind a reverse proxy:
// GRIDMAP_TRUSTED_PROXIES (CIDRs or addresses, separated by commas or
// spaces) and GRIDMAP_METRICS_ADDR (empty or "off" disables the listener).
func proxyConfigFromEnv(cfg Config) (Config, error) {
	if v := os.Getenv("GRIDMAP_TRUSTED_PROXIES"); v != "" {
		ps, err := parseTrustedProxies(v)
		if err != nil {
			return cfg, err
		}
		cfg.TrustedProxies = ps
	}
	if v, ok := os.LookupEnv("GRIDMAP_METRICS_ADDR"); ok {
		if v == "off" {
			v = ""
		}
		if v != "" {
			if _, _, err := net.SplitHostPort(v); err != nil {
				return cfg, fmt.Errorf("GRIDMAP_METRICS_ADDR must be host:port, empty or off, got %q", v)
			}
		}
		cfg.MetricsAddr, cfg.MetricsAddrSet = v, true
	}
	return cfg, nil
}

// parseTrustedProxies reads "10.0.0.0/8, 192.168.1.10 ::1": a bare address
// is a one-address prefix.
func parseTrustedProxies(v string) ([]netip.Prefix, error) {
	var ps []netip.Prefix
	for _, f := range strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' }) {
		p, err := netip.ParsePrefix(f)
		if err != nil {
			a, aerr := netip.ParseAddr(f)
			if aerr != nil {
				return nil, fmt.Errorf("GRIDMAP_TRUSTED_PROXIES: %q is neither a CIDR nor an address", f)
			}
			p = netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen())
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		ps = append(ps, p.Masked())
	}
	return ps, nil
}

// apiConfig is the API's configuration from the command's.
func apiConfig(cfg Config) api.Config {
	return api.Config{
		MaxBodyBytes: cfg.MaxBodyBytes, MaxBatchBodyBytes: cfg.Lookup.MaxBatchBytes,
		PublicRate: cfg.PublicRate, SessionTTL: cfg.SessionTTL, SecureCookies: cfg.SecureCookies,
		TrustedProxies:        cfg.TrustedProxies,
		ContentSecurityPolicy: web.ContentSecurityPolicy(cfg.Web),
		Counts:                cfg.Counts,
		ReadYourWritesWait:    cfg.Scale.ReadYourWritesWait,
		WriteTimeout:          writeTimeout(cfg.StatementTimeout),
	}
}

// writeTimeout is the API's bound on a write request: 10 s over the
// database's statement timeout, so that the server's own timeout ends a slow
// write first (api/writes.go); the API's default without one.
func writeTimeout(statement time.Duration) time.Duration {
	if statement <= 0 {
		return 0
	}
	return statement + 10*time.Second
}

// publicURLWarning is what the server says at start about GRIDMAP_PUBLIC_URL,
// "" when it is fine: posters (their QR codes) and TileJSON print absolute
// URLs, which without it come from each request's Host header, and which a
// loopback address makes useless to anybody else.
func publicURLWarning(publicURL string) string {
	if publicURL == "" {
		return "GRIDMAP_PUBLIC_URL is unset: the URLs printed on posters (QR codes) and in TileJSON take the host of each request; set it to the address residents use, e.g. https://grid.example.cn"
	}
	u, err := url.Parse(publicURL)
	if err != nil {
		return fmt.Sprintf("GRIDMAP_PUBLIC_URL %q does not parse: %v", publicURL, err)
	}
	host := u.Hostname()
	if a, err := netip.ParseAddr(host); err == nil && (a.IsLoopback() || a.IsUnspecified()) || strings.EqualFold(host, "localhost") || strings.HasSuffix(strings.ToLower(host), ".localhost") {
		return fmt.Sprintf("GRIDMAP_PUBLIC_URL %s is a loopback address: the posters' QR codes and the TileJSON URLs will not open on anybody else's device", publicURL)
	}
	return ""
}

// listenMetrics starts the metrics listener on cfg.MetricsAddr, nil when it
// is off; the server's Addr is the address it listens on. A busy default address (another gridmap on this machine) is
// logged and skipped; an address set explicitly that cannot be used stops
// the start.
func listenMetrics(cfg Config, h http.Handler, log *slog.Logger) (*http.Server, error) {
	if cfg.MetricsAddr == "" {
		return nil, nil
	}
	ln, err := net.Listen("tcp", cfg.MetricsAddr)
	if err != nil {
		if !cfg.MetricsAddrSet {
			log.Warn("metrics listener not started; set GRIDMAP_METRICS_ADDR", "addr", cfg.MetricsAddr, "err", err)
			return nil, nil
		}
		return nil, fmt.Errorf("GRIDMAP_METRICS_ADDR: %w", err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", h)
	if cfg.Lookup.BenchRoutes {
		// Profiles of the running server for the benchmarks (docs/scale.md,
		// "Warm tiles"), with the bench routes only: never by default, and
		// never on the public address.
		mux.HandleFunc("GET /debug/pprof/", pprof.Index)
		mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	}
	// WriteTimeout leaves room for a 30 s CPU profile.
	ms := &http.Server{Addr: ln.Addr().String(), Handler: mux, ReadHeaderTimeout: 5 * time.Second, WriteTimeout: 40 * time.Second}
	go func() {
		if err := ms.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("metrics listener", "err", err)
		}
	}()
	return ms, nil
}

// shutdownMetrics stops the metrics listener, if any.
func shutdownMetrics(ctx context.Context, ms *http.Server) {
	if ms != nil {
		ms.Shutdown(ctx)
	}
}
