package data

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"gridmap/geo"
)

// BuildingService reads buildings.
type BuildingService struct{ db *DB }

// NewBuildingService returns a BuildingService on db.
func NewBuildingService(db *DB) *BuildingService { return &BuildingService{db: db} }

var _ geo.BuildingService = (*BuildingService)(nil)

const buildingColumns = `b.id, b.code, b.address, b.address_norm, b.name, ST_X(b.geom), ST_Y(b.geom),
       ST_AsBinary(b.footprint), b.households, b.residents, b.floors,
       b.party_members, b.elderly_alone, b.disabled, b.low_income, b.source, coalesce(b.grid_id, 0)`

func scanBuilding(r pgx.CollectableRow) (geo.Building, error) {
	var b geo.Building
	var fp []byte
	err := r.Scan(&b.ID, &b.Code, &b.Address, &b.AddressNorm, &b.Name, &b.Point[0], &b.Point[1], &fp,
		&b.Households, &b.Residents, &b.Floors,
		&b.Counts.PartyMembers, &b.Counts.ElderlyAlone, &b.Counts.Disabled, &b.Counts.LowIncome, &b.Source, &b.GridID)
	if err != nil || fp == nil {
		return b, err
	}
	g, err := wkb.Unmarshal(fp)
	if err != nil {
		return b, err
	}
	if mp, ok := g.(orb.MultiPolygon); ok {
		b.Footprint = mp
	}
	return b, nil
}

// qFindBuildings filters by bound (GiST), by a text that the normalised
// address contains or the name contains, and by grid; zero values do not filter.
const qFindBuildings = `
SELECT ` + buildingColumns + `
FROM building b
WHERE ($1::float8 IS NULL OR b.geom && ST_MakeEnvelope($1, $2, $3, $4, 4326))
  AND ($5 = '' OR b.address_norm LIKE $6 ESCAPE '\' OR b.name ILIKE $7 ESCAPE '\')
  AND ($8 = 0 OR b.grid_id = $8)
ORDER BY b.code
LIMIT $9`

// FindBuildings lists buildings matching f by code; at most f.Limit (default 100, max 1000).
func (s *BuildingService) FindBuildings(ctx context.Context, f geo.BuildingFilter) ([]geo.Building, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100
	}
	limit = min(limit, 1000)
	var b [4]*float64
	if f.Bound != nil {
		b = [4]*float64{&f.Bound.Min[0], &f.Bound.Min[1], &f.Bound.Max[0], &f.Bound.Max[1]}
	}
	norm := ""
	if f.Query != "" {
		norm = geo.NormalizeAddress(f.Query)
	}
	rows, err := s.db.reader(ctx).Query(ctx, qFindBuildings, b[0], b[1], b[2], b[3],
		f.Query, "%"+escapeLike(norm)+"%", "%"+escapeLike(f.Query)+"%", f.GridID, limit)
	if err != nil {
		return nil, dbErr("data.FindBuildings", err)
	}
	bs, err := pgx.CollectRows(rows, scanBuilding)
	return bs, dbErr("data.FindBuildings", err)
}

const qBuildingByCode = `SELECT ` + buildingColumns + ` FROM building b WHERE b.code = $1`

// Building returns the building with code.
func (s *BuildingService) Building(ctx context.Context, code string) (*geo.Building, error) {
	rows, err := s.db.reader(ctx).Query(ctx, qBuildingByCode, code)
	if err != nil {
		return nil, dbErr("data.Building", err)
	}
	b, err := pgx.CollectExactlyOneRow(rows, scanBuilding)
	if err == pgx.ErrNoRows {
		return nil, geo.Errorf(geo.ENotFound, "no building with code %q", code)
	}
	if err != nil {
		return nil, dbErr("data.Building", err)
	}
	return &b, nil
}

// PersonService reads people's public faces.
type PersonService struct{ db *DB }

// NewPersonService returns a PersonService on db.
func NewPersonService(db *DB) *PersonService { return &PersonService{db: db} }

var _ geo.PersonService = (*PersonService)(nil)

// Responsible lists the duties in force today for the area (with the police
// officers of its ancestors) and the building leaders of buildingID, public
// fields only.
func (s *PersonService) Responsible(ctx context.Context, areaID, buildingID int64) ([]geo.Responsible, error) {
	ids := []int64{}
	if areaID != 0 {
		ids = append(ids, areaID)
	}
	m, err := responsibleFor(ctx, s.db, ids, buildingID, nil)
	if err != nil {
		return nil, err
	}
	out := append([]geo.Responsible{}, m[areaID]...)
	if areaID != 0 {
		out = append(out, m[0]...)
	}
	return out, nil
}

const qPhoto = `
SELECT ph.content_type, ph.bytes FROM photo ph
WHERE ph.id = $1 AND EXISTS (SELECT 1 FROM person p WHERE p.photo_id = ph.id AND p.public_photo)`

// Photo returns a photo that belongs to a person whose photo is public.
func (s *PersonService) Photo(ctx context.Context, id int64) (string, []byte, error) {
	var ct string
	var body []byte
	err := s.db.reader(ctx).QueryRow(ctx, qPhoto, id).Scan(&ct, &body)
	if err == pgx.ErrNoRows {
		return "", nil, geo.Errorf(geo.ENotFound, "no public photo %d", id)
	}
	if err != nil {
		return "", nil, dbErr("data.Photo", err)
	}
	return ct, body, nil
}
