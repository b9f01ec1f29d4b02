package data

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"

	"gridmap/cases"
	"gridmap/geo"
)

var _ cases.TileSource = (*CaseStore)(nil)

// qCasesTile is the staff cases layer: points with tracking code, category,
// state, tier and overdue (overdueAt $4), in tile $1/$2/$3, for the cases the
// filter selects: %s is filterWhere's conditions (" AND …", the account's
// scope among them), their parameters from $5.
var qCasesTile = `
WITH env AS (SELECT ST_TileEnvelope($1, $2, $3) AS e),
q AS (
    SELECT ST_AsMVTGeom(ST_Transform(c.geom, 3857), env.e, 4096, 64, true) AS geom,
           c.id, c.tracking_code AS code, c.category, c.state, c.tier,
           ` + overdueAt("$4") + ` AS overdue
    FROM case_report c, env
    WHERE c.geom && ST_Transform(env.e, 4326) %s
    LIMIT 20000)
SELECT coalesce((SELECT ST_AsMVT(q, 'cases', 4096, 'geom') FROM q), ''::bytea)`

// qCasesClusterTile is the cases layer below CasesClusterBelowZoom: the
// same cases ($1–$4 and %s as qCasesTile, the filter's parameters from $6)
// grouped into cells of $5 metres (Web Mercator) whose edges are multiples of
// $5 — so tile edges are cell edges (a cell is never split between two
// tiles) and a cell is four cells of the next zoom (a cluster splits into at
// most four when zooming in) —, one point per cell at the cases' centroid
// with count, overdue (any of them), and state ("mixed" when they differ);
// a cell of one case keeps its id, code, category and tier. The scan stops
// at 100,000 cases per tile (counts are then lower bounds; docs/desk.md).
var qCasesClusterTile = `
WITH env AS (SELECT ST_TileEnvelope($1, $2, $3) AS e),
c AS (
    SELECT ST_Transform(c.geom, 3857) AS g, c.id, c.tracking_code, c.category, c.state, c.tier,
           ` + overdueAt("$4") + ` AS overdue
    FROM case_report c, env
    WHERE c.geom && ST_Transform(env.e, 4326) %s
    LIMIT 100000),
q AS (
    SELECT ST_AsMVTGeom(ST_Centroid(ST_Collect(c.g)), env.e, 4096, 64, true) AS geom,
           count(*)::int AS count, bool_or(c.overdue) AS overdue,
           CASE WHEN min(c.state) = max(c.state) THEN min(c.state) ELSE 'mixed' END AS state,
           CASE WHEN count(*) = 1 THEN min(c.id) END AS id,
           CASE WHEN count(*) = 1 THEN min(c.tracking_code) END AS code,
           CASE WHEN count(*) = 1 THEN min(c.category) END AS category,
           CASE WHEN count(*) = 1 THEN min(c.tier) END AS tier
    FROM c, env
    GROUP BY floor(ST_X(c.g) / $5::float8), floor(ST_Y(c.g) / $5::float8), env.e)
SELECT coalesce((SELECT ST_AsMVT(q, 'cases', 4096, 'geom') FROM q), ''::bytea)`

// CasesClusterBelowZoom: below this zoom the cases layer is clustered
// (qCasesClusterTile), at and above it every case is a point of its own.
const CasesClusterBelowZoom = 15

// casesClusterCells is how many cluster cells a tile is wide (a 512 px tile:
// cells of 32 px).
const casesClusterCells = 16

// CasesTile returns the cases layer of tile z/x/y (Web Mercator) for a staff
// account: the cases in its area that f selects (the list's filter, read by
// the list's filterWhere; its order, cursor and limit do not apply);
// clustered below CasesClusterBelowZoom, over the selected cases only.
func (s *CaseStore) CasesTile(ctx context.Context, staff *cases.Staff, z, x, y int, f cases.Filter) ([]byte, error) {
	if staff == nil {
		return nil, geo.Errorf(geo.EUnauthenticated, "the cases layer is for signed-in staff")
	}
	tx, err := s.db.Pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, dbErr("data.CasesTile", err)
	}
	defer tx.Rollback(ctx)
	user, err := readActor(ctx, tx, staff)
	if err != nil {
		return nil, err
	}
	now := s.now()
	q, args := qCasesTile, []any{z, x, y, now}
	if z < CasesClusterBelowZoom {
		q, args = qCasesClusterTile, append(args, webMercatorWidth/float64(int64(1)<<z)/casesClusterCells)
	}
	w, _, err := filterWhere(ctx, tx, user, f, now, args...)
	if err != nil {
		return nil, err
	}
	var cond string
	for _, c := range w.where {
		cond += " AND " + c
	}
	var b []byte
	if err := tx.QueryRow(ctx, fmt.Sprintf(q, cond), customPlan(w.args)...).Scan(&b); err != nil {
		return nil, dbErr("data.CasesTile", err)
	}
	return b, nil
}

// webMercatorWidth is the width of the Web Mercator world (EPSG:3857), metres.
const webMercatorWidth = 2 * 20037508.342789244
