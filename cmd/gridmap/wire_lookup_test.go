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
	"gridmap/index"
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
		// Its body is zeros under a tile's Content-Encoding: gzip, which
		// the default client would try to undo.
		raw := &http.Client{Transport: &http.Transport{DisableCompression: true}}
		if res, err := raw.Get(srv.URL + "/bench/noop-tile?bytes=1500"); err != nil {
			t.Error(err)
		} else {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 || len(b) != 1500 || res.Header.Get("X-Tile-Cache") != "hit" || res.Header.Get("Content-Security-Policy") != "" {
				t.Errorf("noop-tile: %d with %d bytes and headers %v, want 200 with 1500 and a tile's headers", res.StatusCode, len(b), res.Header)
			}
		}
		if code, _ := get(t, "/bench/noop-tile?bytes=x"); code != 400 {
			t.Errorf("noop-tile with bytes=x: %d, want 400", code)
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

// TestWireLookupAnswersFromPostGISOnAnotherVersion: the in-memory index,
// which reproduces PostGIS 3.3's arithmetic, answered lookups whatever
// PostGIS ran; on another version lookups go to PostGIS, with a warning.
func TestWireLookupAnswersFromPostGISOnAnotherVersion(t *testing.T) {
	db, _ := dbtest.New(t, "cli_lookup_version")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cfg := DefaultConfig()
	cfg.Lookup = LookupConfig{Index: true, MaxBatch: 1000}

	t.Run("another PostGIS: PostGIS answers, ready at once, a warning", func(t *testing.T) {
		var logs strings.Builder
		log := slog.New(slog.NewTextHandler(&logs, nil))
		// The feed never runs: an index would wait for it and never be ready.
		feed := data.NewChangeFeed(db, log)
		deps := api.Server{Ready: db.Ready, Log: log}
		if err := wireLookupWith(ctx, cfg, "3.4.2", db, feed, prometheus.NewRegistry(), log, &deps); err != nil {
			t.Fatal(err)
		}
		if _, ok := deps.Lookup.(limitedLookup); !ok {
			t.Errorf("lookups are answered by %T, want PostGIS (limitedLookup)", deps.Lookup)
		}
		if err := deps.Ready(ctx); err != nil {
			t.Errorf("ready: %v, want nil (no index to wait for)", err)
		}
		if l, ok := deps.Lookup.(interface{ MaxBatchPoints() int }); !ok || l.MaxBatchPoints() != 1000 {
			t.Errorf("batch limit not kept: %T", deps.Lookup)
		}
		if w := logs.String(); !strings.Contains(w, "level=WARN") || !strings.Contains(w, "postgis=3.4.2") || !strings.Contains(w, "verified="+index.VerifiedPostGIS) {
			t.Errorf("log %q, want a warning naming PostGIS 3.4.2 and the verified %s", w, index.VerifiedPostGIS)
		}
	})
	t.Run("this PostGIS (the verified one): the index answers", func(t *testing.T) {
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		feed := data.NewChangeFeed(db, log)
		deps := api.Server{Ready: db.Ready, Log: log}
		if err := wireLookup(ctx, cfg, db, feed, prometheus.NewRegistry(), log, &deps); err != nil {
			t.Fatal(err)
		}
		if _, ok := deps.Lookup.(*index.Service); !ok {
			v, _ := data.NewSnapshotSource(db).PostGISVersion(ctx)
			t.Errorf("lookups are answered by %T on PostGIS %s, want the index (verified %s)", deps.Lookup, v, index.VerifiedPostGIS)
		}
	})
}
