package web_test

import (
	"context"
	"io"
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"gridmap/api"
	"gridmap/data"
	"gridmap/tiles"
	"gridmap/tiles/postgis"
)

// wireExtras adds the vector tiles, invalidated by the change feed as in
// cmd/gridmap, so the editor's map shows a saved edit at once. It returns a
// function that stops them.
func wireExtras(ctx context.Context, db *data.DB, deps *api.Server) func() {
	ctx, cancel := context.WithCancel(ctx)
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	feed := data.NewChangeFeed(db, log)
	go feed.Run(ctx)
	cache := tiles.NewCache(postgis.New(db.Pool), tiles.Config{}, log, prometheus.NewRegistry())
	cache.Start(ctx, feed)
	deps.Tiles = &api.Tiles{Service: cache}
	return cancel
}
