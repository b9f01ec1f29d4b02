package data

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"gridmap/geo"
)

// Editor changes areas. Each method is one transaction with one change
// record, the buildings reassigned to grids, and one announcement.
type Editor struct{ db *DB }

// NewEditor returns an Editor on db.
func NewEditor(db *DB) *Editor { return &Editor{db: db} }

var _ geo.EditService = (*Editor)(nil)

// qLockCurrent locks an area's current version row, serialising edits of one area.
const qLockCurrent = `
SELECT v.id, ST_XMin(v.geom), ST_YMin(v.geom), ST_XMax(v.geom), ST_YMax(v.geom)
FROM area a JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL
WHERE a.id = $1 AND a.retired_at IS NULL
FOR UPDATE OF v`

const qCheckGeometry = `
SELECT ST_IsValid(g), coalesce(ST_IsValidReason(g), ''), ST_XMin(g), ST_YMin(g), ST_XMax(g), ST_YMax(g)
FROM (SELECT ST_SetSRID(ST_GeomFromWKB($1), 4326) AS g) s`

const qCloseVersion = `UPDATE area_version SET valid_to = now() WHERE id = $1`

const qNewVersion = `
INSERT INTO area_version (area_id, geom, change_id, valid_from)
VALUES ($1, ST_Multi(ST_SetSRID(ST_GeomFromWKB($2), 4326)), $3, now()) RETURNING id`

// ReshapeArea gives an area a new geometry. A BaseVersionID that is no longer
// current is a conflict whose message names the current version.
func (e *Editor) ReshapeArea(ctx context.Context, r geo.ReshapeRequest) (*geo.EditResult, error) {
	if err := geo.ValidateMultiPolygon(r.Geometry); err != nil {
		return nil, err
	}
	raw, err := wkb.Marshal(r.Geometry)
	if err != nil {
		return nil, geo.Errorf(geo.EInvalid, "geometry cannot be encoded: %v", err)
	}
	tx, err := e.db.Pool.Begin(ctx)
	if err != nil {
		return nil, dbErr("data.ReshapeArea", err)
	}
	defer tx.Rollback(ctx)
	var current int64
	var oldB, newB orb.Bound
	err = tx.QueryRow(ctx, qLockCurrent, r.AreaID).Scan(&current, &oldB.Min[0], &oldB.Min[1], &oldB.Max[0], &oldB.Max[1])
	if err == pgx.ErrNoRows {
		return nil, geo.Errorf(geo.ENotFound, "no current area with id %d", r.AreaID)
	}
	if err != nil {
		return nil, dbErr("data.ReshapeArea", err)
	}
	if r.BaseVersionID != 0 && r.BaseVersionID != current {
		return nil, geo.Errorf(geo.EConflict, "area %d changed meanwhile: the edit is based on version %d, the current version is %d", r.AreaID, r.BaseVersionID, current)
	}
	var valid bool
	var reason string
	if err := tx.QueryRow(ctx, qCheckGeometry, raw).Scan(&valid, &reason, &newB.Min[0], &newB.Min[1], &newB.Max[0], &newB.Max[1]); err != nil {
		return nil, dbErr("data.ReshapeArea", err)
	}
	if !valid {
		return nil, geo.Errorf(geo.EInvalid, "geometry is not valid: %s", reason)
	}
	author := r.Author
	if author == "" {
		author = "system"
	}
	var res geo.EditResult
	if err := tx.QueryRow(ctx, qInsertChange, author, "area.reshape", r.Reason,
		map[string]any{"area": r.AreaID, "before": current}).Scan(&res.ChangeID); err != nil {
		return nil, dbErr("data.ReshapeArea", err)
	}
	if _, err := tx.Exec(ctx, qCloseVersion, current); err != nil {
		return nil, dbErr("data.ReshapeArea", err)
	}
	if err := tx.QueryRow(ctx, qNewVersion, r.AreaID, raw, res.ChangeID).Scan(&res.VersionID); err != nil {
		return nil, dbErr("data.ReshapeArea", err)
	}
	if _, err := tx.Exec(ctx, qReassignInBounds, geo.DefaultHierarchy, oldB.Union(newB).Min[0], oldB.Union(newB).Min[1], oldB.Union(newB).Max[0], oldB.Union(newB).Max[1]); err != nil {
		return nil, dbErr("data.ReshapeArea", err)
	}
	ev := geo.ChangeEvent{Change: res.ChangeID, Layer: geo.LayerAreas, Areas: []int64{r.AreaID}, Bounds: []orb.Bound{oldB, newB}}
	if err := announce(ctx, tx, ev); err != nil {
		return nil, dbErr("data.ReshapeArea", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, dbErr("data.ReshapeArea", err)
	}
	return &res, nil
}

// qReassignInBounds reassigns the buildings inside a bound to their grids
// with the lookup's border rule (see qAssignGrids).
const qReassignInBounds = `
UPDATE building b SET grid_id = (
    SELECT a.id FROM area_version v
    JOIN area a ON a.id = v.area_id AND a.retired_at IS NULL
    JOIN level l ON l.key = a.level AND l.hierarchy = $1
    WHERE v.valid_to IS NULL AND ST_Covers(v.geom, b.geom)
    ORDER BY l.depth DESC, ST_Contains(v.geom, b.geom) DESC, a.code
    LIMIT 1)
WHERE b.geom && ST_MakeEnvelope($2, $3, $4, $5, 4326)`

// qChangeExtents returns, for a change, the extent of the area versions it
// wrote with their area ids, and the extent of the buildings it created
// together with their grids' current geometries (whose totals changed).
const qChangeExtents = `
SELECT 'areas', coalesce(array_agg(DISTINCT v.area_id), '{}'), ST_XMin(ST_Extent(v.geom)), ST_YMin(ST_Extent(v.geom)), ST_XMax(ST_Extent(v.geom)), ST_YMax(ST_Extent(v.geom))
FROM area_version v WHERE v.change_id = $1
HAVING count(*) > 0
UNION ALL
SELECT 'buildings',
       (SELECT coalesce(array_agg(DISTINCT grid_id) FILTER (WHERE grid_id IS NOT NULL), '{}') FROM building WHERE created_change = $1),
       ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
FROM (SELECT ST_Extent(geom) AS e FROM (
          SELECT b.geom FROM building b WHERE b.created_change = $1
          UNION ALL
          SELECT v.geom FROM area_version v WHERE v.valid_to IS NULL AND v.area_id IN (
              SELECT grid_id FROM building WHERE created_change = $1)) g) x
WHERE e IS NOT NULL`

// announceChange announces what change wrote, per layer, as the union of its extents.
func announceChange(ctx context.Context, tx pgx.Tx, change int64) error {
	rows, err := tx.Query(ctx, qChangeExtents, change)
	if err != nil {
		return fmt.Errorf("announce: %w", err)
	}
	var evs []geo.ChangeEvent
	var layer string
	var ids []int64
	var b orb.Bound
	_, err = pgx.ForEachRow(rows, []any{&layer, &ids, &b.Min[0], &b.Min[1], &b.Max[0], &b.Max[1]}, func() error {
		evs = append(evs, geo.ChangeEvent{Change: change, Layer: layer, Areas: append([]int64(nil), ids...), Bounds: []orb.Bound{b}})
		return nil
	})
	if err != nil {
		return fmt.Errorf("announce: %w", err)
	}
	for _, ev := range evs {
		if err := announce(ctx, tx, ev); err != nil {
			return err
		}
	}
	return nil
}
