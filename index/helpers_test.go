package index_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/demo"
	"gridmap/geo"
	"gridmap/index"
)

func testData(name string) string { return dbtest.TestData(name) }

// loadDemo returns a loader of the synthetic subdistrict of the given size.
func loadDemo(opt demo.Options) func(t *testing.T, db *data.DB) {
	return func(t *testing.T, db *data.DB) {
		t.Helper()
		dbtest.LoadDemo(t, db, opt)
	}
}

// importLiechtenstein loads the three admin levels of the real extract (see dbtest).
func importLiechtenstein(t *testing.T, db *data.DB) { dbtest.ImportLiechtenstein(t, db) }

// qVaryDuties gives the data duties whose dates and names exercise the
// responsible lists: names that are not public (so entries look alike and
// only the tie-break orders them), and on every third area duties that ended
// yesterday, end today and start tomorrow ($1 is today in China), with a
// police officer (shown on the descendants too) among them.
const qVaryDuties = `
WITH p AS (INSERT INTO person (name, phone, public_name, public_phone) VALUES
             ('测试甲', '14000000001', true, true), ('测试乙', '14000000002', false, true),
             ('测试丙', '14000000003', false, false) RETURNING id),
     c AS (INSERT INTO change (author, operation) VALUES ('test', 'test.duties') RETURNING id)
INSERT INTO duty (person_id, area_id, role, valid_from, valid_to, change_id)
SELECT p.id, a.id, r.role, r.valid_from, r.valid_to, c.id
FROM area a CROSS JOIN p CROSS JOIN c
CROSS JOIN (VALUES ('volunteer', $1::date - 30, $1::date - 1),
                   ('volunteer', $1::date - 30, $1::date),
                   ('police',    $1::date + 1, NULL::date),
                   ('grid_worker', $1::date - 3, NULL::date)) AS r(role, valid_from, valid_to)
WHERE a.id % 3 = 0`

const qHideNames = `UPDATE person SET public_name = false WHERE id % 5 = 0`

func varyDuties(t *testing.T, db *data.DB) {
	t.Helper()
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, qVaryDuties, today()); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Pool.Exec(ctx, qHideNames); err != nil {
		t.Fatal(err)
	}
}

var chinaTime = time.FixedZone("CST", 8*3600)

// today is the China date as a date at 00:00 UTC.
func today() time.Time {
	y, m, d := time.Now().In(chinaTime).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// startIndex runs an index on db until the test ends and waits until it
// answers from memory. feed may be nil.
func startIndex(t *testing.T, db *data.DB, feed *data.ChangeFeed, cfg index.Config) *index.Service {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	var f geo.ChangeFeed
	if feed != nil {
		f = feed
		cfg.Listening = feed.WaitConnected
	}
	svc := index.New(data.NewSnapshotSource(db), f, data.NewLookupService(db), cfg)
	done := make(chan struct{})
	go func() {
		svc.Run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	waitReady(t, svc, time.Minute)
	return svc
}

// waitReady polls until svc is ready or the deadline passes.
func waitReady(t *testing.T, svc *index.Service, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for svc.Ready(context.Background()) != nil {
		if time.Now().After(deadline) {
			t.Fatalf("index not ready within %v", within)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// lookupPostGIS answers points with data.LookupService in batches of
// data.MaxBatch, two batches at a time.
func lookupPostGIS(t *testing.T, ls *data.LookupService, pts []orb.Point, at *time.Time, hierarchy string) []geo.LookupResult {
	t.Helper()
	out := make([]geo.LookupResult, len(pts))
	var wg sync.WaitGroup
	errs := make(chan error, (len(pts)+data.MaxBatch-1)/data.MaxBatch)
	sem := make(chan struct{}, 2)
	for lo := 0; lo < len(pts); lo += data.MaxBatch {
		hi := min(lo+data.MaxBatch, len(pts))
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			rs, err := ls.LookupPoints(context.Background(), pts[lo:hi], at, hierarchy)
			if err != nil {
				errs <- err
				return
			}
			copy(out[lo:hi], rs)
		})
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		t.Fatal(err)
	}
	return out
}
