package main

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"gridmap/api"
	"gridmap/data"
)

// TilesConfig configures the vector tiles.
type TilesConfig struct{}

func tilesConfigFromEnv(cfg Config) (Config, error) { return cfg, nil }

// wireTiles sets the tile service of deps.
func wireTiles(ctx context.Context, cfg Config, db *data.DB, feed *data.ChangeFeed, reg *prometheus.Registry, log *slog.Logger, deps *api.Server) error {
	return nil
}
