package data

import (
	"context"

	"github.com/jackc/pgx/v5"
)

// A bulk building load (a city's first import, or one that at least doubles
// the table) inserts into building with its secondary indexes, foreign keys
// and totals trigger set aside, and puts them back set-based in the same
// transaction: one index build per index instead of a million index
// insertions each, one anti-join per foreign key instead of a million key
// look-ups, and the totals summed once (docs/scale.md, "Bulk building
// loads"). The definitions come from the catalogue, so the migrations stay
// the one place that says which indexes and keys building has.
//
// The cost: from the first ALTER on, the import holds an ACCESS EXCLUSIVE
// lock on building until it commits, so reads of buildings (tiles, building
// pages, the lookup's loading) wait for the load instead of seeing the table
// without its new rows. A load that small relative to the table takes the
// ordinary path, which blocks no reader.

// bulkBuildingMin is the smallest import that takes the bulk path; a
// variable so that the tests can send a few rows along it.
var bulkBuildingMin = 50000

// bulkMaintenanceMem is maintenance_work_mem for the index builds of a bulk
// load, inside its transaction only.
const bulkMaintenanceMem = "256MB"

const (
	// qBuildingRows is the planner's estimate of building's rows: enough to
	// decide whether a load at least doubles the table.
	qBuildingRows = `SELECT greatest(reltuples, 0)::bigint FROM pg_class WHERE oid = 'building'::regclass`

	// qBuildingSetAside lists what a bulk load drops and recreates: the
	// indexes that back no constraint, and the foreign keys, as DROP and
	// CREATE statements from their catalogue definitions.
	qBuildingSetAside = `
SELECT format('DROP INDEX %s', i.indexrelid::regclass), pg_get_indexdef(i.indexrelid)
FROM pg_index i
WHERE i.indrelid = 'building'::regclass
  AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)
UNION ALL
SELECT format('ALTER TABLE building DROP CONSTRAINT %I', c.conname),
       format('ALTER TABLE building ADD CONSTRAINT %I %s', c.conname, pg_get_constraintdef(c.oid))
FROM pg_constraint c
WHERE c.conrelid = 'building'::regclass AND c.contype = 'f'`

	qBulkMaintenanceMem = `SELECT set_config('maintenance_work_mem', $1, true)`
	qStatsTriggerOff    = `ALTER TABLE building DISABLE TRIGGER building_area_stats_insert`
	qStatsTriggerOn     = `ALTER TABLE building ENABLE TRIGGER building_area_stats_insert`

	// qAddStatsOfChange adds the totals of the buildings change $1 created,
	// as the insert trigger (migration 002) would have for them.
	qAddStatsOfChange = `
SELECT area_stats_add(array_agg(grid_id), array_agg(n), array_agg(h), array_agg(r))
FROM (SELECT grid_id, count(*) AS n, sum(households) AS h, sum(residents) AS r
      FROM building WHERE created_change = $1 AND grid_id IS NOT NULL GROUP BY grid_id) g`
)

// insertStagedBuildings runs qInsertBuildings for the n staged rows of
// change, on the bulk path when the load is large enough.
func insertStagedBuildings(ctx context.Context, tx pgx.Tx, change int64, n int) (int64, error) {
	bulk := false
	if n >= bulkBuildingMin {
		var rows int64
		if err := tx.QueryRow(ctx, qBuildingRows).Scan(&rows); err != nil {
			return 0, err
		}
		bulk = int64(n) >= rows
	}
	if !bulk {
		tag, err := tx.Exec(ctx, qInsertBuildings, change)
		return tag.RowsAffected(), err
	}
	rows, err := tx.Query(ctx, qBuildingSetAside)
	if err != nil {
		return 0, err
	}
	var drops, creates []string
	var d, c string
	if _, err := pgx.ForEachRow(rows, []any{&d, &c}, func() error {
		drops, creates = append(drops, d), append(creates, c)
		return nil
	}); err != nil {
		return 0, err
	}
	if _, err := tx.Exec(ctx, qBulkMaintenanceMem, bulkMaintenanceMem); err != nil {
		return 0, err
	}
	for _, q := range append(drops, qStatsTriggerOff) {
		if _, err := tx.Exec(ctx, q); err != nil {
			return 0, err
		}
	}
	tag, err := tx.Exec(ctx, qInsertBuildings, change)
	if err != nil {
		return 0, err
	}
	for _, q := range append(creates, qStatsTriggerOn) {
		if _, err := tx.Exec(ctx, q); err != nil {
			return 0, err
		}
	}
	if _, err := tx.Exec(ctx, qAddStatsOfChange, change); err != nil {
		return 0, err
	}
	return tag.RowsAffected(), nil
}
