package main

import (
	"context"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"gridmap/api"
	"gridmap/data"
)

// LookupConfig configures how lookups are answered.
type LookupConfig struct{}

func lookupConfigFromEnv(cfg Config) (Config, error) { return cfg, nil }

// wireLookup sets deps.Lookup (and may wrap deps.Ready).
func wireLookup(ctx context.Context, cfg Config, db *data.DB, feed *data.ChangeFeed, reg *prometheus.Registry, log *slog.Logger, deps *api.Server) error {
	deps.Lookup = data.NewLookupService(db)
	return nil
}
