package data

import (
	"context"

	"github.com/jackc/pgx/v5"

	"gridmap/geo"
)

// Announce is announce for the tests of package data_test that write
// changes with SQL of their own.
func Announce(ctx context.Context, tx pgx.Tx, ev geo.ChangeEvent) error { return announce(ctx, tx, ev) }

// SetBulkBuildingMin sends building imports of at least n rows along the bulk
// path (import_bulk.go) until the test ends.
func SetBulkBuildingMin(t interface{ Cleanup(func()) }, n int) {
	old := bulkBuildingMin
	bulkBuildingMin = n
	t.Cleanup(func() { bulkBuildingMin = old })
}

// BatchSettings is batchSettings for the tests.
func BatchSettings(ctx context.Context, tx pgx.Tx) error { return batchSettings(ctx, tx) }

// QOverlaps is the edit's overlap check, for a test of its plan.
const QOverlaps = qOverlaps
