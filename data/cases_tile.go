package data

import (
	"context"

	"github.com/jackc/pgx/v5"

	"gridmap/cases"
	"gridmap/geo"
)

var _ cases.TileSource = (*CaseStore)(nil)

// qCasesTile is the staff cases layer: points with tracking code, category,
// state, tier and overdue, for the cases in scope ($5: scope area or 0) in
// tile $1/$2/$3; open cases only unless $6.
const qCasesTile = `
WITH env AS (SELECT ST_TileEnvelope($1, $2, $3) AS e),
q AS (
    SELECT ST_AsMVTGeom(ST_Transform(c.geom, 3857), env.e, 4096, 64, true) AS geom,
           c.id, c.tracking_code AS code, c.category, c.state, c.tier,
           (c.finished_at IS NULL AND NOT c.paused AND c.due < $4) AS overdue
    FROM case_report c, env
    WHERE c.geom && ST_Transform(env.e, 4326)
      AND ($5::bigint = 0 OR c.area_path @> ARRAY[$5::bigint])
      AND ($6 OR c.finished_at IS NULL)
    LIMIT 20000)
SELECT coalesce((SELECT ST_AsMVT(q, 'cases', 4096, 'geom') FROM q), ''::bytea)`

// CasesTile returns the cases layer of tile z/x/y (Web Mercator) for a staff
// account: the cases in its area, open ones unless all.
func (s *CaseStore) CasesTile(ctx context.Context, staff *cases.Staff, z, x, y int, all bool) ([]byte, error) {
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
	scope := user.ScopeAreaID
	if user.Role == geo.UserAdmin {
		scope = 0
	}
	var b []byte
	if err := tx.QueryRow(ctx, qCasesTile, z, x, y, s.now(), scope, all).Scan(&b); err != nil {
		return nil, dbErr("data.CasesTile", err)
	}
	return b, nil
}
