package data

import (
	"context"
	"errors"

	"github.com/jackc/pgx/v5"

	"gridmap/geo"
)

// ContactService reads community_contact (migration 008).
type ContactService struct{ db *DB }

// NewContactService returns a ContactService on db.
func NewContactService(db *DB) *ContactService { return &ContactService{db: db} }

// Contact returns the contact of the deepest of the areas (listed top down)
// that has one; ok is false when none has.
func (s *ContactService) Contact(ctx context.Context, areaIDs []int64) (c geo.Contact, ok bool, err error) {
	const q = `SELECT c.address, c.phone, coalesce(c.hotline, '') FROM community_contact c
		JOIN unnest($1::bigint[]) WITH ORDINALITY AS a(id, n) ON a.id = c.area_id ORDER BY a.n DESC LIMIT 1`
	err = s.db.reader(ctx).QueryRow(ctx, q, areaIDs).Scan(&c.Address, &c.Phone, &c.Hotline)
	if errors.Is(err, pgx.ErrNoRows) {
		return geo.Contact{}, false, nil
	}
	if err != nil {
		return geo.Contact{}, false, dbErr("data.Contact", err)
	}
	return c, true, nil
}
