package data_test

import (
	"context"
	"testing"

	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/demo"
	"gridmap/geo"
)

// BenchmarkPartitionPreview measures a fresh partition of the demo's first
// community with (propose) and without (plan) the edit pipeline's preview;
// the difference is the preview's cost, which the building reassignment
// dominated (docs/partition.md). The demo has 130 grids (about three
// subdistricts), with roads on the grid borders and across every grid.
// Run: go test ./data -run '^$' -bench PartitionPreview -count 5 (BENCHMARKS.md).
func BenchmarkPartitionPreview(b *testing.B) {
	ctx := context.Background()
	db, _ := dbtest.New(b, "partition_bench")
	dbtest.LoadDemo(b, db, demo.Options{Grids: 130})
	if err := dbtest.AddRoads(ctx, db, true); err != nil {
		b.Fatal(err)
	}
	var code string
	if err := db.Pool.QueryRow(ctx, `SELECT code FROM area WHERE level = 'community' ORDER BY code LIMIT 1`).Scan(&code); err != nil {
		b.Fatal(err)
	}
	ps := data.NewPartitioner(data.NewEditor(db))
	r := geo.PartitionRequest{AreaCode: code, Seed: 1}
	b.Run("plan", func(b *testing.B) {
		for b.Loop() {
			if _, err := ps.Plan(ctx, r); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("propose", func(b *testing.B) {
		for b.Loop() {
			p, err := ps.Propose(ctx, r)
			if err != nil {
				b.Fatal(err)
			}
			if p.Preview == nil || !p.Preview.Valid {
				b.Fatalf("the preview does not validate: %+v", p.Preview)
			}
		}
	})
}
