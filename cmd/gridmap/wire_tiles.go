package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"gridmap/api"
	"gridmap/data"
	"gridmap/tiles"
	"gridmap/tiles/postgis"
)

// TilesConfig configures the vector tiles (docs/tiles.md).
type TilesConfig struct {
	tiles.Config
	CacheControl string // Cache-Control of tile responses; "" means api.DefaultTileCacheControl
	PublicURL    string // base of the URLs in TileJSON and the style; "" derives it from each request
}

// tilesConfigFromEnv reads GRIDMAP_TILES_MINZOOM (e.g. "grid=13,community=11,buildings=15"),
// GRIDMAP_TILES_CACHE_BYTES, GRIDMAP_TILES_CACHE_CONTROL, GRIDMAP_TILES_TIMEOUT and
// GRIDMAP_PUBLIC_URL.
func tilesConfigFromEnv(cfg Config) (Config, error) {
	t := &cfg.Tiles
	if v := os.Getenv("GRIDMAP_TILES_MINZOOM"); v != "" {
		if err := t.ParseMinZoom(v); err != nil {
			return cfg, fmt.Errorf("GRIDMAP_TILES_MINZOOM: %w", err)
		}
	}
	if v := os.Getenv("GRIDMAP_TILES_CACHE_BYTES"); v != "" {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil || n <= 0 {
			return cfg, fmt.Errorf("GRIDMAP_TILES_CACHE_BYTES: want a positive number of bytes, got %q", v)
		}
		t.CacheBytes = n
	}
	if v := os.Getenv("GRIDMAP_TILES_CACHE_CONTROL"); v != "" {
		t.CacheControl = v
	}
	if v := os.Getenv("GRIDMAP_TILES_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return cfg, fmt.Errorf("GRIDMAP_TILES_TIMEOUT: want a duration such as 5s, got %q", v)
		}
		t.Timeout = d
	}
	if v := os.Getenv("GRIDMAP_PUBLIC_URL"); v != "" {
		t.PublicURL = v
	}
	return cfg, nil
}

// wireTiles sets the tile service of deps: tiles from PostGIS through an
// in-process cache that the change feed invalidates.
func wireTiles(ctx context.Context, cfg Config, db *data.DB, feed *data.ChangeFeed, reg *prometheus.Registry, log *slog.Logger, deps *api.Server) error {
	// Cold tiles come from the read hosts that have replayed what the feed
	// delivered (else the feed's server), so the cache is never older than
	// the log it is invalidated by.
	cache := tiles.NewCache(postgis.NewOn(db.CachePool), cfg.Tiles.Config, log, reg)
	cache.Start(ctx, feed)
	deps.Tiles = &api.Tiles{Service: cache, CacheControl: cfg.Tiles.CacheControl, PublicURL: cfg.Tiles.PublicURL}
	return nil
}
