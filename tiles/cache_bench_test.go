package tiles

import (
	"context"
	"fmt"
	"testing"

	"github.com/paulmach/orb/maptile"
)

// BenchmarkCacheHit measures Cache.Tile on a hit with as many cached tiles as
// bench/tiles' z12 list (100) and its z16 list (20,720), taken round the
// list as bench/tiles/replay does (docs/scale.md, "Warm tiles": does a hit
// cost more with 200 times the tiles?). -parallel: 8 goroutines, as replay's
// 8 connections.
func BenchmarkCacheHit(b *testing.B) {
	for _, n := range []int{100, 20720} {
		c, tiles := filledCache(b, n)
		ctx := context.Background()
		b.Run(fmt.Sprintf("tiles=%d", n), func(b *testing.B) {
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				if _, err := c.Tile(ctx, Areas|Buildings|Labels, tiles[i%len(tiles)]); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(fmt.Sprintf("tiles=%d/parallel", n), func(b *testing.B) {
			b.SetParallelism(4) // × GOMAXPROCS 2 = 8 goroutines
			b.RunParallel(func(pb *testing.PB) {
				for i := 0; pb.Next(); i++ {
					if _, err := c.Tile(ctx, Areas|Buildings|Labels, tiles[i*7919%len(tiles)]); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// filledCache returns a ready cache holding n tiles of one layer set at z16,
// in rows as tilelist writes them, and those tiles.
func filledCache(b *testing.B, n int) (*Cache, []maptile.Tile) {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	c := NewCache(&fakeSource{}, Config{}, nil, nil)
	c.Start(ctx, &fakeFeed{})
	if err := c.WaitReady(ctx); err != nil {
		b.Fatal(err)
	}
	side := 1
	for side*side < n {
		side++
	}
	tiles := make([]maptile.Tile, 0, n)
	for i := 0; i < n; i++ {
		t := maptile.New(uint32(54000+i%side), uint32(26000+i/side), 16)
		if _, err := c.Tile(ctx, Areas|Buildings|Labels, t); err != nil {
			b.Fatal(err)
		}
		tiles = append(tiles, t)
	}
	if s := c.Stats(); s.Entries != n {
		b.Fatalf("%d tiles cached, want %d", s.Entries, n)
	}
	return c, tiles
}
