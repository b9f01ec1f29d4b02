package main

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"gridmap/web"
)

func TestProxyConfigFromEnv(t *testing.T) {
	t.Run("trusted proxies", func(t *testing.T) {
		t.Setenv("GRIDMAP_TRUSTED_PROXIES", "10.0.0.0/8, 192.168.1.10 ::1,::ffff:172.16.0.0/108")
		cfg, err := configFromEnv(DefaultConfig())
		if err != nil {
			t.Fatal(err)
		}
		want := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("192.168.1.10/32"),
			netip.MustParsePrefix("::1/128"), netip.MustParsePrefix("172.16.0.0/12")}
		if len(cfg.TrustedProxies) != len(want) {
			t.Fatalf("got %v, want %v", cfg.TrustedProxies, want)
		}
		for i := range want {
			if cfg.TrustedProxies[i] != want[i] {
				t.Errorf("proxy %d: got %v, want %v", i, cfg.TrustedProxies[i], want[i])
			}
		}
		if got := apiConfig(cfg).TrustedProxies; len(got) != len(want) {
			t.Errorf("the API gets %v, want %v", got, want)
		}
	})
	t.Run("no trusted proxies by default", func(t *testing.T) {
		if cfg, err := configFromEnv(DefaultConfig()); err != nil || cfg.TrustedProxies != nil {
			t.Errorf("got %v (%v), want none", cfg.TrustedProxies, err)
		}
	})
	t.Run("a bad proxy is refused", func(t *testing.T) {
		t.Setenv("GRIDMAP_TRUSTED_PROXIES", "10.0.0.0/8,proxy.local")
		if _, err := configFromEnv(DefaultConfig()); err == nil || !strings.Contains(err.Error(), "proxy.local") {
			t.Errorf("got %v, want an error naming proxy.local", err)
		}
	})
	for _, tc := range []struct {
		name, value string
		set         bool
		want        string
	}{
		{"metrics on loopback by default", "", false, "127.0.0.1:9090"},
		{"metrics elsewhere", "127.0.0.1:9191", true, "127.0.0.1:9191"},
		{"metrics off", "off", true, ""},
		{"metrics empty disables", "", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.set {
				t.Setenv("GRIDMAP_METRICS_ADDR", tc.value)
			}
			cfg, err := configFromEnv(DefaultConfig())
			if err != nil || cfg.MetricsAddr != tc.want {
				t.Errorf("got %q (%v), want %q", cfg.MetricsAddr, err, tc.want)
			}
		})
	}
	t.Run("a bad metrics address is refused", func(t *testing.T) {
		t.Setenv("GRIDMAP_METRICS_ADDR", "9090")
		if _, err := configFromEnv(DefaultConfig()); err == nil {
			t.Error("GRIDMAP_METRICS_ADDR=9090 accepted, want host:port")
		}
	})
}

func TestMetricsListener(t *testing.T) {
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	reg.MustRegister(prometheus.NewCounter(prometheus.CounterOpts{Name: "gridmap_test_total", Help: "test"}))
	h := promhttp.HandlerFor(reg, promhttp.HandlerOpts{})

	cfg := DefaultConfig()
	cfg.MetricsAddr, cfg.MetricsAddrSet = "127.0.0.1:0", true
	ms, err := listenMetrics(cfg, h, log)
	if err != nil || ms == nil {
		t.Fatalf("got %v, %v", ms, err)
	}
	defer ms.Close()
	res, err := http.Get("http://" + ms.Addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 200 || !strings.Contains(string(b), "gridmap_test_total") {
		t.Errorf("metrics listener: %d %.200s", res.StatusCode, b)
	}

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	cfg.MetricsAddr = busy.Addr().String()
	if _, err := listenMetrics(cfg, h, log); err == nil {
		t.Error("an explicitly set, busy GRIDMAP_METRICS_ADDR was accepted")
	}
	cfg.MetricsAddrSet = false // the default address, used by another gridmap
	if ms, err := listenMetrics(cfg, h, log); err != nil || ms != nil {
		t.Errorf("busy default address: got %v, %v; want a warning only", ms, err)
	}
	cfg.MetricsAddr = ""
	if ms, err := listenMetrics(cfg, h, log); err != nil || ms != nil {
		t.Errorf("metrics off: got %v, %v", ms, err)
	}
}

func TestPublicURLUnsetOrLoopbackNotWarned(t *testing.T) {
	for _, tc := range []struct {
		url  string
		warn bool
	}{
		{"", true},
		{"http://127.0.0.1:8080", true},
		{"http://localhost:8080", true},
		{"http://[::1]:8080", true},
		{"http://0.0.0.0:8080", true},
		{"https://grid.example.cn", false},
		{"http://192.168.1.20:8080", false},
	} {
		if got := publicURLWarning(tc.url); (got != "") != tc.warn {
			t.Errorf("publicURLWarning(%q) = %q, want a warning: %v", tc.url, got, tc.warn)
		}
	}
}

func TestAPIConfigWithoutCSP(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Web.Basemap = &web.Basemap{URL: "https://t0.tianditu.gov.cn/vec_w/wmts?TILEMATRIX={z}&TILEROW={y}&TILECOL={x}&tk=KEY"}
	csp := apiConfig(cfg).ContentSecurityPolicy
	if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "img-src 'self' data: blob: https://t0.tianditu.gov.cn") {
		t.Errorf("Content-Security-Policy %q: want frame-ancestors 'none' and the basemap's origin", csp)
	}
}
