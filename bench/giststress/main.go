// Command giststress hammers a table shaped like area_version, with the same
// two GiST indexes (full and partial WHERE valid_to IS NULL), with the write
// pattern of the edit pipeline (close the current version, insert the next),
// cancelling statements mid-flight, aborting transactions, and vacuuming
// concurrently; after every round it checks that the partial index reaches
// every current row (a nearest-neighbour scan, which only GiST answers,
// against a sequential scan, in one snapshot). It exits 1 on the first
// mismatch and leaves the database as it is, for pageinspect.
//
//	go run ./bench/giststress -url postgres://…/postgres -rounds 20 -round 30s
//
// -interrupts chooses how statements are interrupted: all (the default:
// statement timeouts, context deadlines, which make pgx send cancel
// requests, and pg_cancel_backend/pg_terminate_backend), timeouts (only
// statement_timeout, as gridmap's writes since api/writes.go), or deadlines
// (only context deadlines). Each round counts the statements that failed
// inside GEOS ("GEOS … threw an error", SQLSTATE XX000).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

const schema = `
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE TABLE av (
    id         bigserial PRIMARY KEY,
    area_id    bigint NOT NULL,
    geom       geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    valid_from timestamptz NOT NULL DEFAULT clock_timestamp(),
    valid_to   timestamptz,
    change_id  bigint NOT NULL DEFAULT 0,
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
CREATE UNIQUE INDEX av_current_idx ON av (area_id) WHERE valid_to IS NULL;
CREATE INDEX av_area_idx ON av (area_id, valid_from);
CREATE INDEX av_geom_idx ON av USING gist (geom);
CREATE INDEX av_current_geom_idx ON av USING gist (geom) WHERE valid_to IS NULL;
ALTER TABLE av SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 200,
                    autovacuum_vacuum_insert_scale_factor = 0, autovacuum_vacuum_insert_threshold = 200,
                    autovacuum_vacuum_cost_delay = 0);`

// cell is the side of one grid, in degrees (about 300 m at lat 30).
const cell = 0.003

// cellpoly is a grid-like polygon: area a's cell around lon 120 lat 30,
// its sides pushed out by the jitters (degrees) and densified into many
// vertices, as edits' vertex insertion does.
const cellpoly = `
CREATE FUNCTION cellpoly(a int, w float8, s float8, e float8, n float8) RETURNS geometry LANGUAGE sql IMMUTABLE AS
$$SELECT ST_Multi(ST_Segmentize(ST_MakeEnvelope(120 + (a % 100) * 0.003 - w, 30 + (a / 100) * 0.003 - s,
                                                120 + (a % 100 + 1) * 0.003 + e, 30 + (a / 100 + 1) * 0.003 + n, 4326), 0.0001))$$`

// qClose is the edit pipeline's close of a version (data/edit_ops.go).
const qClose = `UPDATE av SET valid_to = clock_timestamp() WHERE id = $1 AND valid_to IS NULL`

// qNeighbours finds current siblings through the partial index like qOverlaps.
const qNeighbours = `SELECT count(*) FROM av v JOIN av s ON s.valid_to IS NULL AND s.geom && v.geom AND s.id <> v.id
WHERE v.id = $1 AND ST_Area(ST_Intersection(v.geom, s.geom)) >= 0`

func main() {
	url := flag.String("url", "", "server URL (any database: the scratch one is created)")
	dbName := flag.String("db", "gist_stress", "scratch database (dropped and recreated)")
	areas := flag.Int("areas", 3000, "areas (one current version each)")
	workers := flag.Int("workers", 16, "concurrent editors")
	rounds := flag.Int("rounds", 10, "rounds (a check after each)")
	round := flag.Duration("round", 30*time.Second, "length of a round")
	cancels := flag.Float64("cancel", 0.3, "share of transactions run under a short statement_timeout or context deadline")
	interrupts := flag.String("interrupts", "all", "all, timeouts (statement_timeout only) or deadlines (context deadlines only)")
	flag.Parse()
	if *url == "" {
		log.Fatal("-url is required")
	}
	ctx := context.Background()
	pool := setup(ctx, *url, *dbName, *areas, *workers)
	defer pool.Close()

	if *interrupts != "all" && *interrupts != "timeouts" && *interrupts != "deadlines" {
		log.Fatalf("-interrupts %q: want all, timeouts or deadlines", *interrupts)
	}
	var stats struct{ ok, aborted, cancelled, geos, failed, vacuums, killed atomic.Int64 }
	for r := 1; r <= *rounds; r++ {
		rctx, stop := context.WithTimeout(ctx, *round)
		var wg sync.WaitGroup
		for w := 0; w < *workers; w++ {
			wg.Go(func() {
				rng := rand.New(rand.NewPCG(uint64(r), uint64(w)))
				for rctx.Err() == nil {
					switch err := edit(rctx, pool, rng, *areas, *cancels, *interrupts); {
					case err == nil:
						stats.ok.Add(1)
					case errors.Is(err, errAbort):
						stats.aborted.Add(1)
					case isCancel(err):
						stats.cancelled.Add(1)
					case isGEOS(err):
						stats.geos.Add(1)
					default:
						if stats.failed.Add(1) <= 5 {
							log.Printf("edit: %v", err)
						}
					}
				}
			})
		}
		// Vacuum beside the editors (autovacuum runs too, every second).
		wg.Go(func() {
			for rctx.Err() == nil {
				if _, err := pool.Exec(rctx, `VACUUM av`); err == nil {
					stats.vacuums.Add(1)
				}
				sleep(rctx, 500*time.Millisecond)
			}
		})
		// Cancel and, rarely, terminate random editors' statements mid-flight.
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(r), 99))
			for rctx.Err() == nil && *interrupts == "all" {
				fn := "pg_cancel_backend"
				if rng.IntN(20) == 0 {
					fn = "pg_terminate_backend"
				}
				tag, err := pool.Exec(rctx, `SELECT `+fn+`(pid) FROM pg_stat_activity
					WHERE datname = current_database() AND state = 'active' AND pid <> pg_backend_pid()
					  AND query ~ '^(INSERT|UPDATE) av' ORDER BY random() LIMIT 1`)
				if err == nil && tag.RowsAffected() > 0 {
					stats.killed.Add(1)
				}
				sleep(rctx, time.Duration(rng.IntN(20))*time.Millisecond)
			}
		})
		wg.Wait()
		stop()
		// After a server crash (see the log) the check waits for recovery.
		var missing []int64
		var current int
		var err error
		for try := 0; try < 60; try++ {
			if missing, current, err = check(ctx, pool, "av_current_geom_idx"); err == nil {
				break
			}
			time.Sleep(time.Second)
		}
		if err != nil {
			log.Fatal(err)
		}
		var rows, pages int64
		if err := pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM av), pg_relation_size('av_current_geom_idx') / 8192`).Scan(&rows, &pages); err != nil {
			log.Fatal(err)
		}
		log.Printf("round %d (interrupts %s): edits ok %d, aborted %d, cancelled %d, failed in GEOS %d, other errors %d; vacuums %d, cancel/terminate sent %d; rows %d, partial index pages %d; current %d, missing from the partial index %d",
			r, *interrupts, stats.ok.Load(), stats.aborted.Load(), stats.cancelled.Load(), stats.geos.Load(), stats.failed.Load(), stats.vacuums.Load(), stats.killed.Load(), rows, pages, current, len(missing))
		if len(missing) > 0 {
			log.Printf("MISSING: %v (database %s kept)", missing, *dbName)
			os.Exit(1)
		}
	}
}

var errAbort = errors.New("aborted on purpose")

// edit closes one to three areas' current versions and inserts their next
// ones in one transaction, like a reshape, split or merge; on the way it runs
// the overlap check's neighbour query. Some transactions run under a
// statement_timeout of a few milliseconds or a context deadline, some roll
// back on purpose after their writes.
func edit(ctx context.Context, pool *pgxpool.Pool, rng *rand.Rand, areas int, cancels float64, interrupts string) error {
	short := rng.Float64() < cancels
	deadline := short && (interrupts == "deadlines" || interrupts == "all" && rng.IntN(2) == 0)
	if deadline {
		var stop context.CancelFunc
		ctx, stop = context.WithTimeout(ctx, time.Duration(1+rng.IntN(30))*time.Millisecond)
		defer stop()
	}
	tx, err := pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(context.Background())
	if short && interrupts != "deadlines" {
		if _, err := tx.Exec(ctx, fmt.Sprintf(`SET LOCAL statement_timeout = %d`, 1+rng.IntN(8))); err != nil {
			return err
		}
	}
	first := rng.IntN(areas)
	for k := 0; k < 1+rng.IntN(3); k++ {
		a := (first + k) % areas
		var id int64
		if err := tx.QueryRow(ctx, `SELECT id FROM av WHERE area_id = $1 AND valid_to IS NULL FOR UPDATE`, a).Scan(&id); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, qClose, id); err != nil {
			return err
		}
		j := func() float64 { return rng.Float64() * cell / 5 }
		var nid int64
		if err := tx.QueryRow(ctx, `INSERT INTO av (area_id, geom) VALUES ($1, cellpoly($6, $2, $3, $4, $5)) RETURNING id`, a, j(), j(), j(), j(), int32(a)).Scan(&nid); err != nil {
			return err
		}
		var n int
		if err := tx.QueryRow(ctx, qNeighbours, nid).Scan(&n); err != nil {
			return err
		}
	}
	if rng.IntN(8) == 0 {
		return errAbort
	}
	return tx.Commit(ctx)
}

// check compares, in one snapshot, the current rows a nearest-neighbour scan
// of index finds against a sequential scan's: the ids it misses.
func check(ctx context.Context, pool *pgxpool.Pool, index string) (missing []int64, current int, err error) {
	tx, err := pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return nil, 0, err
	}
	defer tx.Rollback(ctx)
	ids := func(q string) ([]int64, error) {
		rows, err := tx.Query(ctx, q)
		if err != nil {
			return nil, err
		}
		got, err := pgx.CollectRows(rows, pgx.RowTo[int64])
		slices.Sort(got)
		return got, err
	}
	if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = off; SET LOCAL enable_bitmapscan = off; SET LOCAL enable_sort = off`); err != nil {
		return nil, 0, err
	}
	viaIndex, err := ids(`SELECT id FROM av WHERE valid_to IS NULL ORDER BY geom <-> 'SRID=4326;POINT(120 30)'::geometry`)
	if err != nil {
		return nil, 0, err
	}
	if _, err := tx.Exec(ctx, `SET LOCAL enable_seqscan = on; SET LOCAL enable_indexscan = off; SET LOCAL enable_bitmapscan = off`); err != nil {
		return nil, 0, err
	}
	all, err := ids(`SELECT id FROM av WHERE valid_to IS NULL`)
	if err != nil {
		return nil, 0, err
	}
	for _, id := range all {
		if _, found := slices.BinarySearch(viaIndex, id); !found {
			missing = append(missing, id)
		}
	}
	return missing, len(all), nil
}

func setup(ctx context.Context, url, name string, areas, workers int) *pgxpool.Pool {
	admin, err := pgx.Connect(ctx, url)
	if err != nil {
		log.Fatal(err)
	}
	ident := pgx.Identifier{name}.Sanitize()
	for _, q := range []string{`DROP DATABASE IF EXISTS ` + ident + ` WITH (FORCE)`, `CREATE DATABASE ` + ident} {
		if _, err := admin.Exec(ctx, q); err != nil {
			log.Fatal(err)
		}
	}
	admin.Close(ctx)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		log.Fatal(err)
	}
	cfg.ConnConfig.Database = name
	cfg.MaxConns = int32(workers + 4)
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	for _, q := range []string{schema, cellpoly} {
		if _, err := pool.Exec(ctx, q); err != nil {
			log.Fatal(err)
		}
	}
	if _, err := pool.Exec(ctx, `INSERT INTO av (area_id, geom) SELECT a, cellpoly(a, 0, 0, 0, 0) FROM generate_series(0, $1::int - 1) a`, areas); err != nil {
		log.Fatal(err)
	}
	return pool
}

func isCancel(err error) bool {
	var pe *pgconn.PgError
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) ||
		(errors.As(err, &pe) && (pe.Code == "57014" || pe.Code == "57P01"))
}

// isGEOS: the statement failed inside GEOS (PostGIS reports its exceptions,
// an interrupt among them, as XX000 "GEOS … threw an error!").
func isGEOS(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == "XX000" && strings.Contains(pe.Message, "GEOS")
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
