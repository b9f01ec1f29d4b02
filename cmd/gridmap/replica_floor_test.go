package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/prometheus/client_golang/prometheus"

	"gridmap/data"
)

// A process whose read URL lists two replicas, one of them held back with
// pg_wal_replay_pause(): reads and cache loads spread over both while neither
// lags; once a read has gone to the replica that replayed a write, no later
// read or cache load goes to the held-back one (it would step back in time);
// when the other replica is stopped too, reads go to the primary, and once
// the held-back replica has replayed past the floor it is read again.
func TestReplicaReadsDoNotStepBack(t *testing.T) {
	base, primary, keep := testClusters(t, "gridmap-floor-")
	var ahead, behind *pgCluster
	ctx := context.Background()
	admin := migratedPrimary(t, primary)
	ahead = keep(newReplica(t, base, "ahead", primary))
	behind = keep(newReplica(t, base, "behind", primary))
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := data.Open(ctx, data.Config{URL: primary.url("gridmap", "gridmap"), Log: quiet, HealthEvery: 50 * time.Millisecond,
		ReadURL: fmt.Sprintf("postgres://gridmap@127.0.0.1:%d,127.0.0.1:%d/gridmap?sslmode=disable&connect_timeout=2", ahead.port, behind.port)})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	fctx, stopFeed := context.WithCancel(ctx)
	defer stopFeed()
	feed := data.NewChangeFeed(db, quiet)
	go feed.Run(fctx)
	wctx, wcancel := context.WithTimeout(ctx, 10*time.Second)
	defer wcancel()
	if err := feed.WaitConnected(wctx); err != nil {
		t.Fatal(err)
	}
	areas := data.NewAreaService(db)
	read := func(n int) {
		t.Helper()
		for range n {
			if _, err := areas.Levels(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
	lsn := func(c *pgx.Conn, q string) uint64 {
		t.Helper()
		var v int64
		if err := c.QueryRow(ctx, `SELECT (`+q+` - '0/0'::pg_lsn)::bigint`).Scan(&v); err != nil {
			t.Fatal(err)
		}
		return uint64(v)
	}
	// Neither lags once the health checks have seen both replicas replay
	// what the primary had written (on a loaded machine a replica's first
	// check can come after the feed connected; until then it is below the
	// floor and rightly not read).
	start := lsn(admin, `pg_current_wal_lsn()`)
	waitFor(t, "both replicas checked at the same position, the primary's or later", 10*time.Second, func() bool {
		hs := db.ReadHosts()
		return hs[0].Up && hs[1].Up && hs[0].LSN >= start && hs[1].LSN == hs[0].LSN
	})
	read(10)
	if hs := db.ReadHosts(); hs[0].Reads == 0 || hs[1].Reads == 0 {
		t.Fatalf("both replicas should be read while neither lags: %+v", hs)
	}
	// Cache loads (cold tiles) spread too, once the health checks have seen
	// both replicas reach what the feed delivered.
	waitFor(t, "cache loads on both replicas", 10*time.Second, func() bool {
		db.CachePool()
		hs := db.ReadHosts()
		return hs[0].Loads > 0 && hs[1].Loads > 0
	})

	bc, err := pgx.Connect(ctx, behind.url("gridmap", "gridmap"))
	if err != nil {
		t.Fatal(err)
	}
	defer bc.Close(ctx)
	if _, err := bc.Exec(ctx, `SELECT pg_wal_replay_pause()`); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "replay paused", 10*time.Second, func() bool {
		var s string
		return bc.QueryRow(ctx, `SELECT pg_get_wal_replay_pause_state()`).Scan(&s) == nil && s == "paused"
	})
	if _, err := admin.Exec(ctx, `CREATE TABLE floor_probe AS SELECT 1 AS x`); err != nil {
		t.Fatal(err)
	}
	written := lsn(admin, `pg_current_wal_lsn()`)
	waitFor(t, "the process sees the first replica replay the write", 10*time.Second, func() bool {
		hs := db.ReadHosts()
		return hs[0].LSN >= written && hs[1].LSN < written
	})
	before := db.ReadHosts()
	read(1)
	read(20) // every one after a read that may have seen the write
	for range 10 {
		db.CachePool()
	}
	after := db.ReadHosts()
	if after[1].Loads != before[1].Loads {
		t.Fatalf("a cache load went to the held-back replica after a read had seen the write: %+v", after)
	}
	if got := after[1].Reads - before[1].Reads; got > 1 {
		t.Fatalf("the held-back replica got %d reads after the other showed the write: %+v", got, after)
	}
	if after[0].Reads-before[0].Reads < 20 {
		t.Fatalf("reads should go to the replica that is ahead: %+v", after)
	}
	if floor, _ := db.ReadFloor(); floor < written {
		t.Fatalf("floor %d below the write %d", floor, written)
	}

	// The replica that is ahead stops: the held-back one is up but behind,
	// so reads go to the primary.
	ahead.stop(t)
	waitFor(t, "the process sees the first replica down", 10*time.Second, func() bool { return !db.ReadHosts()[0].Up })
	_, onPrimary := db.ReadFloor()
	n := db.ReadHosts()[1].Reads
	read(5)
	if _, p := db.ReadFloor(); p-onPrimary != 5 || db.ReadHosts()[1].Reads != n {
		t.Fatalf("reads should go to the primary while the only replica up is behind: %d on the primary, %+v", p-onPrimary, db.ReadHosts())
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(readHostCollectors(db)...)
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	_, p := db.ReadFloor()
	var got float64 = -1
	for _, mf := range mfs {
		if mf.GetName() == "gridmap_read_behind_floor_total" {
			got = mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	if got != float64(p) || p == 0 {
		t.Fatalf("gridmap_read_behind_floor_total = %v, want DB.ReadFloor's count %d", got, p)
	}

	// Replay resumes: once its checked position passes the floor, it is read.
	if _, err := bc.Exec(ctx, `SELECT pg_wal_replay_resume()`); err != nil {
		t.Fatal(err)
	}
	floor, _ := db.ReadFloor()
	waitFor(t, "the held-back replica catches up", 10*time.Second, func() bool { return db.ReadHosts()[1].LSN >= floor })
	read(5)
	if db.ReadHosts()[1].Reads-n != 5 {
		t.Fatalf("the replica that caught up should be read: %+v", db.ReadHosts())
	}
}
