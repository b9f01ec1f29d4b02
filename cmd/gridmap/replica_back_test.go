package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"gridmap/data"
)

// A change feed whose only read server went away connects again as soon as
// the health checks find the server up (DB.HostBack), not at its next
// retry: with a retry wait of 10 minutes here, only the health check's
// signal can bring it back within the test's wait.
func TestFeedReconnectsWhenItsServerIsBack(t *testing.T) {
	base, primary, keep := testClusters(t, "gridmap-back-")
	ctx := context.Background()
	migratedPrimary(t, primary)
	replica := keep(newReplica(t, base, "replica", primary))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := data.Open(ctx, data.Config{URL: primary.url("gridmap", "gridmap"), Log: quiet, HealthEvery: 100 * time.Millisecond,
		ReadURL: fmt.Sprintf("postgres://gridmap@127.0.0.1:%d/gridmap?sslmode=disable&connect_timeout=2", replica.port)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fctx, stopFeed := context.WithCancel(ctx)
	defer stopFeed()
	feed := data.NewChangeFeed(db, quiet)
	feed.FirstRetry, feed.MaxRetry = 10*time.Minute, 10*time.Minute
	go feed.Run(fctx)
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	if err := feed.WaitConnected(wctx); err != nil {
		t.Fatal(err)
	}

	replica.stop(t)
	waitFor(t, "the feed lost its server and the health check saw it down", 20*time.Second, func() bool {
		return !feed.Connected() && !db.ReadHosts()[0].Up
	})
	replica.start(t)
	back := waitFor(t, "the feed follows the log again", 30*time.Second, feed.Connected)
	t.Logf("the feed followed the log again %s after the replica had started", back)
}
