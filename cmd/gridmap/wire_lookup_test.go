package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"gridmap/api"
	"gridmap/data"
	"gridmap/data/dbtest"
)

func TestWireLookup(t *testing.T) {
	db, _ := dbtest.New(t, "cli_lookup")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := DefaultConfig()
	cfg.Lookup = LookupConfig{Index: true, MaxBatch: 100_000, BenchRoutes: true}
	// The feed is not running yet: the index waits for it before loading.
	feed := data.NewChangeFeed(db, slog.New(slog.NewTextHandler(io.Discard, nil)))
	deps := api.Server{Ready: db.Ready, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	if err := wireLookup(ctx, cfg, db, feed, prometheus.NewRegistry(), deps.Log, &deps); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.NewServer(api.Config{}, deps, prometheus.NewRegistry()))
	defer srv.Close()
	get := func(t *testing.T, path string) (int, string) {
		t.Helper()
		res, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}

	t.Run("while the index loads: readyz says so, lookups go to PostGIS", func(t *testing.T) {
		if code, body := get(t, "/readyz"); code != 503 || !strings.Contains(body, "the lookup index is loading") {
			t.Errorf("readyz: %d %s, want 503 the lookup index is loading", code, body)
		}
		if code, body := get(t, "/api/v1/lookup?lon=120.13&lat=30.28"); code != 200 || !strings.Contains(body, `"grid":null`) {
			t.Errorf("lookup: %d %s, want 200 with no grid (empty database)", code, body)
		}
	})
	go feed.Run(ctx)
	t.Run("once loaded: ready", func(t *testing.T) {
		deadline := time.Now().Add(30 * time.Second)
		for deps.Ready(ctx) != nil {
			if time.Now().After(deadline) {
				t.Fatalf("not ready 30 s after the feed started: %v", deps.Ready(ctx))
			}
			time.Sleep(5 * time.Millisecond)
		}
		if code, body := get(t, "/readyz"); code != 200 {
			t.Errorf("readyz: %d %s, want 200", code, body)
		}
	})
	t.Run("bench routes", func(t *testing.T) {
		if code, body := get(t, "/bench/noop"); code != 200 || body != "{}\n" {
			t.Errorf("noop: %d %q, want 200 {}", code, body)
		}
		if code, body := get(t, "/bench/lookup-postgis?lon=120.13&lat=30.28"); code != 200 || !strings.Contains(body, `"areas":[]`) {
			t.Errorf("lookup-postgis: %d %s, want 200 with areas []", code, body)
		}
		if code, body := get(t, "/bench/lookup-postgis?lon=120.13&lat=91"); code != 400 || !strings.Contains(body, "lat must be between") {
			t.Errorf("lookup-postgis with a bad lat: %d %s, want 400", code, body)
		}
	})
	t.Run("batch limit is configurable", func(t *testing.T) {
		l, ok := deps.Lookup.(interface{ MaxBatchPoints() int })
		if !ok || l.MaxBatchPoints() != 100_000 {
			t.Fatalf("lookup service %T does not report the batch limit 100000", deps.Lookup)
		}
		t.Setenv("GRIDMAP_LOOKUP_MAX_BATCH", "250")
		t.Setenv("GRIDMAP_LOOKUP_MAX_BATCH_BYTES", "33554432")
		got, err := lookupConfigFromEnv(DefaultConfig())
		if err != nil || got.Lookup.MaxBatch != 250 || got.Lookup.MaxBatchBytes != 32<<20 || got.MaxBodyBytes != DefaultConfig().MaxBodyBytes {
			t.Errorf("got batch %d, batch body limit %d, other bodies %d (%v); want 250, 32 MiB, and the default for the rest",
				got.Lookup.MaxBatch, got.Lookup.MaxBatchBytes, got.MaxBodyBytes, err)
		}
		t.Setenv("GRIDMAP_LOOKUP_MAX_BATCH", "-1")
		if _, err := lookupConfigFromEnv(DefaultConfig()); err == nil || !strings.Contains(err.Error(), "GRIDMAP_LOOKUP_MAX_BATCH") {
			t.Errorf("a negative limit: got %v, want an error naming the variable", err)
		}
	})
}
