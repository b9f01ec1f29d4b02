package data

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"gridmap/geo"
)

// qBalance: for every area a building moves into or out of, its households
// after the edit (in this transaction) and before (after − in + out), its
// parent and whether it is retired.
const qBalance = `
WITH mv AS (SELECT e.grid_id AS from_id, b.grid_id AS to_id, b.households
            FROM edit_before e JOIN building b ON b.id = e.id
            WHERE e.grid_id IS DISTINCT FROM b.grid_id),
     ids AS (SELECT from_id AS id FROM mv WHERE from_id IS NOT NULL UNION SELECT to_id FROM mv WHERE to_id IS NOT NULL)
SELECT a.id, a.level, a.code, a.name, coalesce(a.parent_id, 0), a.retired_at IS NOT NULL,
       (SELECT coalesce(sum(households), 0) FROM building WHERE grid_id = a.id)::int AS after,
       (SELECT coalesce(sum(households), 0) FROM mv WHERE to_id = a.id)::int AS moved_in,
       (SELECT coalesce(sum(households), 0) FROM mv WHERE from_id = a.id)::int AS moved_out
FROM ids JOIN area a ON a.id = ids.id
ORDER BY a.code`

// qMovedGeoJSON: the buildings that change grid, for the map.
const qMovedGeoJSON = `
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(ST_AsGeoJSON(t.*, 'geom', 7)::json), '[]'::json))
FROM (SELECT b.code, coalesce(f.code, '') AS "from", coalesce(g.code, '') AS "to", b.households, b.geom
      FROM edit_before e JOIN building b ON b.id = e.id
      LEFT JOIN area f ON f.id = e.grid_id LEFT JOIN area g ON g.id = b.grid_id
      WHERE e.grid_id IS DISTINCT FROM b.grid_id ORDER BY b.code LIMIT 5000) t`

// balance fills p.Balance and the "balance" warnings from the snapshot the
// building reassignment left in edit_before. Only households are compared:
// a grid that leaves its target range (or stays outside it) is a warning.
func balance(ctx context.Context, tx pgx.Tx, p *geo.EditPreview) error {
	rows, err := tx.Query(ctx, qBalance)
	if err != nil {
		return err
	}
	type row struct {
		b       geo.BalanceChange
		level   string
		parent  int64
		retired bool
	}
	var rs []row
	var r row
	var in, out int
	if _, err := pgx.ForEachRow(rows, []any{&r.b.ID, &r.level, &r.b.Code, &r.b.Name, &r.parent, &r.retired, &r.b.HouseholdsAfter, &in, &out}, func() error {
		x := r
		x.b.HouseholdsBefore = x.b.HouseholdsAfter - in + out
		x.b.Retired = x.retired
		rs = append(rs, x)
		return nil
	}); err != nil {
		return err
	}
	for _, x := range rs {
		var t geo.Target
		err := tx.QueryRow(ctx, qTarget, x.level, x.parent).Scan(&t.Level, &t.HouseholdsMin, &t.HouseholdsMax, &t.ResidentsMin, &t.ResidentsMax)
		if err == pgx.ErrNoRows {
			continue // no target for this level (e.g. a community)
		} else if err != nil {
			return err
		}
		b := x.b
		b.Min, b.Max = t.HouseholdsMin, t.HouseholdsMax
		in := func(n int) bool { return n >= t.HouseholdsMin && n <= t.HouseholdsMax }
		b.InRangeBefore = in(b.HouseholdsBefore)
		b.InRangeAfter = b.Retired || in(b.HouseholdsAfter)
		p.Balance = append(p.Balance, b)
		if !b.InRangeAfter {
			dir := "above"
			if b.HouseholdsAfter < b.Min {
				dir = "below"
			}
			p.Warnings = append(p.Warnings, geo.Issue{
				Kind:    "balance",
				Areas:   []string{b.Code},
				Message: fmt.Sprintf("%s would have %d households (%d before), %s its target of %d–%d", b.Code, b.HouseholdsAfter, b.HouseholdsBefore, dir, b.Min, b.Max),
			})
		}
	}
	var fc []byte
	if err := tx.QueryRow(ctx, qMovedGeoJSON).Scan(&fc); err != nil {
		return err
	}
	p.Moved = json.RawMessage(fc)
	return nil
}
