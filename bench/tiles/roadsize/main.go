// Command roadsize measures what the roads layer adds to gridmap's tiles:
// over every tile covering the current areas at each zoom, the tile of the
// style's old layer set (areas,buildings,labels) and of all four layers
// (with roads), built by tiles/postgis on the database of DATABASE_URL.
// It prints per zoom the tiles, the median and largest size in bytes (raw
// MVT and gzip) of each set and their ratio, and the median build time of
// REPEATS builds per tile. BENCHMARKS.md ("Roads") gives the commands.
//
//	DATABASE_URL=… roadsize -z 12,14 -repeats 5
package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"flag"
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb/maptile"

	"gridmap/data"
	"gridmap/tiles"
	"gridmap/tiles/postgis"
)

func main() {
	zooms := flag.String("z", "12,14", "comma-separated zooms")
	repeats := flag.Int("repeats", 5, "builds per tile; the median time is reported")
	flag.Parse()
	if err := run(*zooms, *repeats); err != nil {
		fmt.Fprintln(os.Stderr, "roadsize:", err)
		os.Exit(1)
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if n := len(s); n%2 == 1 {
		return s[n/2]
	} else {
		return (s[n/2-1] + s[n/2]) / 2
	}
}

func gz(b []byte) int {
	var buf bytes.Buffer
	w := gzip.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Len()
}

func run(zooms string, repeats int) error {
	ctx := context.Background()
	db, err := data.Open(ctx, data.Config{URL: os.Getenv("DATABASE_URL")})
	if err != nil {
		return err
	}
	defer db.Close()
	src := postgis.New(db.Pool)
	ext, ok, err := src.Extent(ctx)
	if err != nil || !ok {
		return fmt.Errorf("no areas to cover (%v)", err)
	}
	cfg := tiles.Config{}.WithDefaults()
	day := tiles.DayOf(time.Now())
	sets := []tiles.LayerSet{tiles.Areas | tiles.Buildings | tiles.Labels, tiles.AllLayers}
	fmt.Printf("%-4s %6s  %-28s %9s %9s %9s %9s %10s\n", "zoom", "tiles", "layers", "med raw", "max raw", "med gzip", "max gzip", "med build")
	for _, zs := range strings.Split(zooms, ",") {
		z, err := strconv.Atoi(strings.TrimSpace(zs))
		if err != nil {
			return err
		}
		lo := maptile.At(ext.LeftTop(), maptile.Zoom(z))
		hi := maptile.At(ext.RightBottom(), maptile.Zoom(z))
		var list []maptile.Tile
		for y := lo.Y; y <= hi.Y; y++ {
			for x := lo.X; x <= hi.X; x++ {
				list = append(list, maptile.New(x, y, maptile.Zoom(z)))
			}
		}
		// One untimed pass warms PostgreSQL's buffers; then per tile the two
		// sets are built alternately (which goes first alternates too), so
		// that neither profits from the other's cache.
		for _, tl := range list {
			for _, ls := range sets {
				if _, err := src.Tile(ctx, cfg.Query(ls, tl, day)); err != nil {
					return err
				}
			}
		}
		var raw, gzs, ms [2][]float64
		for _, tl := range list {
			var times [2][]float64
			var b [2][]byte
			for r := 0; r < repeats; r++ {
				for k := range sets {
					i := (k + r) % 2
					start := time.Now()
					if b[i], err = src.Tile(ctx, cfg.Query(sets[i], tl, day)); err != nil {
						return err
					}
					times[i] = append(times[i], float64(time.Since(start).Microseconds())/1000)
				}
			}
			for i := range sets {
				raw[i] = append(raw[i], float64(len(b[i])))
				gzs[i] = append(gzs[i], float64(gz(b[i])))
				ms[i] = append(ms[i], median(times[i]))
			}
		}
		mx := func(v []float64) float64 {
			m := 0.0
			for _, x := range v {
				m = max(m, x)
			}
			return m
		}
		var medGzip, medMs [2]float64
		for i, ls := range sets {
			medGzip[i], medMs[i] = median(gzs[i]), median(ms[i])
			fmt.Printf("z%-3d %6d  %-28s %9.0f %9.0f %9.0f %9.0f %8.2fms\n", z, len(list), ls, median(raw[i]), mx(raw[i]), median(gzs[i]), mx(gzs[i]), medMs[i])
		}
		if medMs[0] > 0 {
			fmt.Printf("z%-3d median build time with roads / without: %.2f\n", z, medMs[1]/medMs[0])
		}
		if medGzip[0] > 0 {
			fmt.Printf("z%-3d median gzip size with roads / without: %.2f\n", z, medGzip[1]/medGzip[0])
		}
	}
	return nil
}
