package data

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"gridmap/cases"
	"gridmap/geo"
)

var _ cases.UpdateSource = (*CaseStore)(nil)

// qUpdates lists the events of cases in scope ($1: scope area or 0) in
// [$2, $3), oldest first: state and public note only.
const qUpdates = `
SELECT e.id, c.tracking_code, e.to_state, e.at, e.public_note
FROM case_event e JOIN case_report c ON c.id = e.case_id
WHERE e.at >= $2 AND e.at < $3 AND ($1::bigint = 0 OR c.area_path @> ARRAY[$1::bigint])
ORDER BY e.at, e.id
LIMIT $4`

// Updates lists the public updates of cases in the staff account's area
// between from and to (Open311 servicerequestupdates).
func (s *CaseStore) Updates(ctx context.Context, staff *cases.Staff, from, to time.Time, limit int) ([]cases.Update, error) {
	if staff == nil {
		return nil, geo.Errorf(geo.EUnauthenticated, "servicerequestupdates needs an API token (Authorization: Bearer)")
	}
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	tx, err := s.db.Pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, dbErr("data.Updates", err)
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
	rows, err := tx.Query(ctx, qUpdates, scope, from, to, limit)
	if err != nil {
		return nil, dbErr("data.Updates", err)
	}
	out := []cases.Update{}
	var u cases.Update
	var st string
	_, err = pgx.ForEachRow(rows, []any{&u.ID, &u.TrackingCode, &st, &u.At, &u.PublicNote}, func() error {
		u.State = cases.State(st)
		u.TrackingCode = cases.FormatTrackingCode(u.TrackingCode)
		out = append(out, u)
		return nil
	})
	return out, dbErr("data.Updates", err)
}
