// Command indexmem measures the memory the lookup index takes: it builds the
// index from DATABASE_URL in this process and reports the Go heap in use
// (after a full GC) before and after, for the point index alone and then
// with the address index, scaled to 10,000 grids, and the process's CPU time
// (user + system) of each build, which the machine's other load moves less
// than the wall time. -cpuprofile writes a pprof profile of both builds.
//
//	DATABASE_URL=postgres://…/gridmap_bench go run ./bench/lookup/indexmem
//	DATABASE_URL=… go run ./bench/lookup/indexmem -cpuprofile /tmp/index.pprof
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"runtime"
	"runtime/debug"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridmap/data"
	"gridmap/geo"
	"gridmap/index"
)

// pointsOnly hides the address half of the source, so that only the point
// index is built.
type pointsOnly struct{ src *data.SnapshotSource }

func (p pointsOnly) Snapshot(ctx context.Context, ids []int64, from time.Time) (*geo.Snapshot, error) {
	return p.src.Snapshot(ctx, ids, from)
}

// qInside gives a point inside every current area.
const qInside = `SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_PointOnSurface(geom) AS p FROM area_version WHERE valid_to IS NULL) s`

func heapInUse() uint64 {
	runtime.GC()
	debug.FreeOSMemory()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

func mb(b int64) float64 { return float64(b) / (1 << 20) }

// cpuTime is the process's user + system time so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func main() {
	profile := flag.String("cpuprofile", "", "write a CPU profile of the index builds to this file")
	flag.Parse()
	ctx := context.Background()
	if *profile != "" {
		f, err := os.Create(*profile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "indexmem:", err)
			os.Exit(1)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fmt.Fprintln(os.Stderr, "indexmem:", err)
			os.Exit(1)
		}
		defer pprof.StopCPUProfile()
	}
	db, err := data.Open(ctx, data.Config{URL: os.Getenv("DATABASE_URL")})
	if err != nil {
		fmt.Fprintln(os.Stderr, "indexmem:", err)
		os.Exit(1)
	}
	defer db.Close()
	var grids int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM area WHERE level = 'grid' AND retired_at IS NULL`).Scan(&grids); err != nil || grids == 0 {
		fmt.Fprintln(os.Stderr, "indexmem: no grids:", err)
		os.Exit(1)
	}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	src := data.NewSnapshotSource(db)

	// build returns the service, its cancel, the wall time and the CPU time.
	build := func(s index.Source, addresses bool) (*index.Service, context.CancelFunc, time.Duration, time.Duration) {
		cctx, cancel := context.WithCancel(ctx)
		svc := index.New(s, nil, data.NewLookupService(db), index.Config{Log: quiet})
		start, cpu := time.Now(), cpuTime()
		go svc.Run(cctx)
		for svc.Ready(ctx) != nil || addresses && !svc.Stats().AddressReady {
			time.Sleep(time.Millisecond)
		}
		return svc, cancel, time.Since(start), cpuTime() - cpu
	}

	base := heapInUse()
	svc, cancel, took, cpu := build(pointsOnly{src}, false)
	points := int64(heapInUse()) - int64(base)
	st := svc.Stats()
	fmt.Printf("grids %d, areas indexed %d; point index built in %v (CPU %v)\n", grids, st.Last.Indexed,
		took.Round(time.Millisecond), cpu.Round(time.Millisecond))
	fmt.Printf("point index (geometry, R-trees, chains, responsible lists): %.1f MB heap, %.1f MB per 10,000 grids\n",
		mb(points), mb(points)*10000/float64(grids))
	// A point inside every area: each answer gets encoded and kept.
	var pts []orb.Point
	rows, err := db.Pool.Query(ctx, qInside)
	if err != nil {
		fmt.Fprintln(os.Stderr, "indexmem:", err)
		os.Exit(1)
	}
	var p orb.Point
	if _, err := pgx.ForEachRow(rows, []any{&p[0], &p[1]}, func() error { pts = append(pts, p); return nil }); err != nil {
		fmt.Fprintln(os.Stderr, "indexmem:", err)
		os.Exit(1)
	}
	// In batches: a batch lookup takes at most 100,000 points (more areas
	// than that from 100,000 grids on).
	for len(pts) > 0 {
		n := min(len(pts), 50000)
		if _, err := svc.LookupPointsJSON(ctx, pts[:n], nil, ""); err != nil {
			fmt.Fprintln(os.Stderr, "indexmem:", err)
			os.Exit(1)
		}
		pts = pts[n:]
	}
	encoded := int64(heapInUse()) - int64(base) - points
	fmt.Printf("encoded answers after a lookup inside each of the %d areas: %.1f MB more\n", st.Last.Indexed, mb(encoded))
	runtime.KeepAlive(svc)
	cancel()
	svc = nil

	base = heapInUse()
	svc, cancel, took, cpu = build(src, true)
	both := int64(heapInUse()) - int64(base)
	fmt.Printf("with the address index of %d buildings: %.1f MB heap (addresses %.1f MB); both built in %v (CPU %v)\n",
		svc.Stats().Buildings, mb(both), mb(both-points), took.Round(time.Millisecond), cpu.Round(time.Millisecond))
	runtime.KeepAlive(svc)
	cancel()
}
