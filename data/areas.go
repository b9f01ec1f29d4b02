package data

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"gridmap/geo"
)

// AreaService reads areas, levels and versions.
type AreaService struct{ db *DB }

// NewAreaService returns an AreaService on db.
func NewAreaService(db *DB) *AreaService { return &AreaService{db: db} }

var _ geo.AreaService = (*AreaService)(nil)

const qLevels = `SELECT key, hierarchy, depth, name_zh, name_en FROM level ORDER BY hierarchy, depth`

// Levels lists every level of every hierarchy, top first.
func (s *AreaService) Levels(ctx context.Context) ([]geo.Level, error) {
	rows, err := s.db.reader(ctx).Query(ctx, qLevels)
	if err != nil {
		return nil, dbErr("data.Levels", err)
	}
	ls, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (geo.Level, error) {
		var l geo.Level
		err := r.Scan(&l.Key, &l.Hierarchy, &l.Depth, &l.NameZH, &l.NameEN)
		return l, err
	})
	return ls, dbErr("data.Levels", err)
}

// qFindAreas selects areas; a zero parameter does not filter. The bound
// filter uses the GiST index of current versions; the text ($10, as
// patterns $11 contains and $12 starts with) ranks its matches first.
const qFindAreas = `
SELECT a.id, a.level, a.code, a.name, coalesce(a.parent_id, 0), a.retired_at
FROM area a
JOIN level l ON l.key = a.level
LEFT JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL
WHERE ($1 = 0 OR a.id = $1)
  AND ($2 = '' OR a.level = $2)
  AND ($3 = 0 OR a.parent_id = $3)
  AND ($4 OR a.retired_at IS NULL)
  AND ($5::float8 IS NULL OR v.geom && ST_MakeEnvelope($5, $6, $7, $8, 4326))
  AND ($10 = '' OR a.name ILIKE $11 ESCAPE '\' OR a.code LIKE $12 ESCAPE '\')
  AND ($13 = 0 OR a.id IN (
      WITH RECURSIVE sub AS (SELECT id FROM area WHERE id = $13 UNION ALL SELECT c.id FROM area c JOIN sub ON c.parent_id = sub.id)
      SELECT id FROM sub))
ORDER BY CASE WHEN $10 = '' THEN 0 WHEN lower(a.name) = lower($10) OR a.code = $10 THEN 0
              WHEN a.name ILIKE $12 ESCAPE '\' OR a.code LIKE $12 ESCAPE '\' THEN 1 ELSE 2 END,
  l.hierarchy, l.depth, a.code
LIMIT $9`

// FindAreas lists areas matching f, ordered by level then code.
func (s *AreaService) FindAreas(ctx context.Context, f geo.AreaFilter) ([]geo.Area, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	var b [4]*float64
	if f.Bound != nil {
		b = [4]*float64{&f.Bound.Min[0], &f.Bound.Min[1], &f.Bound.Max[0], &f.Bound.Max[1]}
	}
	text := strings.TrimSpace(f.Text)
	rows, err := s.db.reader(ctx).Query(ctx, qFindAreas, f.ID, f.Level, f.ParentID, f.IncludeRetired, b[0], b[1], b[2], b[3], limit,
		text, "%"+escapeLike(text)+"%", escapeLike(text)+"%", f.Under)
	if err != nil {
		return nil, dbErr("data.FindAreas", err)
	}
	as, err := pgx.CollectRows(rows, scanArea)
	return as, dbErr("data.FindAreas", err)
}

func scanArea(r pgx.CollectableRow) (geo.Area, error) {
	var a geo.Area
	err := r.Scan(&a.ID, &a.Level, &a.Code, &a.Name, &a.ParentID, &a.RetiredAt)
	return a, err
}

const (
	qAreaByCode = `SELECT id, level, code, name, coalesce(parent_id, 0), retired_at FROM area WHERE code = $1`
	qAreaByID   = `SELECT id, level, code, name, coalesce(parent_id, 0), retired_at FROM area WHERE id = $1`
)

// Area finds an area by code, or, when no area has that code and key is a
// number, by id. Codes win because grid codes are digits too.
func (s *AreaService) Area(ctx context.Context, key string) (*geo.Area, error) {
	rows, _ := s.db.reader(ctx).Query(ctx, qAreaByCode, key)
	a, err := pgx.CollectExactlyOneRow(rows, scanArea)
	if err == nil {
		return &a, nil
	}
	if err != pgx.ErrNoRows {
		return nil, dbErr("data.Area", err)
	}
	if id, perr := strconv.ParseInt(key, 10, 64); perr == nil && id > 0 {
		rows, _ := s.db.reader(ctx).Query(ctx, qAreaByID, id)
		a, err = pgx.CollectExactlyOneRow(rows, scanArea)
		if err == nil {
			return &a, nil
		}
		if err != pgx.ErrNoRows {
			return nil, dbErr("data.Area", err)
		}
	}
	return nil, geo.Errorf(geo.ENotFound, "no area with code or id %q", key)
}

const qAreaVersions = `
SELECT id, area_id, valid_from, valid_to, change_id FROM area_version
WHERE area_id = $1 ORDER BY valid_from, id`

// AreaVersions lists an area's geometry versions, oldest first (geometry left out).
func (s *AreaService) AreaVersions(ctx context.Context, id int64) ([]geo.AreaVersion, error) {
	rows, err := s.db.reader(ctx).Query(ctx, qAreaVersions, id)
	if err != nil {
		return nil, dbErr("data.AreaVersions", err)
	}
	vs, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (geo.AreaVersion, error) {
		var v geo.AreaVersion
		var to *time.Time
		err := r.Scan(&v.ID, &v.AreaID, &v.ValidFrom, &to, &v.ChangeID)
		v.ValidTo = to
		return v, err
	})
	return vs, dbErr("data.AreaVersions", err)
}

// qAreasGeoJSON builds the FeatureCollection in PostGIS (7 decimals ≈ 1 cm).
const qAreasGeoJSON = `
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(ST_AsGeoJSON(t.*, 'geom', 7)::json ORDER BY t.depth, t.code), '[]'::json))
FROM (
    SELECT a.id, a.level, a.code, a.name, p.code AS parent_code, l.depth, v.valid_from, v.geom
    FROM area a
    JOIN level l ON l.key = a.level
    JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL
    LEFT JOIN area p ON p.id = a.parent_id
    WHERE ($1 = 0 OR a.id = $1)
      AND ($2 = '' OR a.level = $2)
      AND ($3 = 0 OR a.parent_id = $3)
      AND a.retired_at IS NULL
      AND ($4::float8 IS NULL OR v.geom && ST_MakeEnvelope($4, $5, $6, $7, 4326))
    ORDER BY l.depth, a.code
    LIMIT $8
) t`

// AreasGeoJSON returns the current geometries of the selected areas as a
// GeoJSON FeatureCollection (RFC 7946, EPSG:4326).
func (s *AreaService) AreasGeoJSON(ctx context.Context, f geo.AreaFilter) (json.RawMessage, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 100000
	}
	var b [4]*float64
	if f.Bound != nil {
		b = [4]*float64{&f.Bound.Min[0], &f.Bound.Min[1], &f.Bound.Max[0], &f.Bound.Max[1]}
	}
	var out []byte
	err := s.db.reader(ctx).QueryRow(ctx, qAreasGeoJSON, f.ID, f.Level, f.ParentID, b[0], b[1], b[2], b[3], limit).Scan(&out)
	if err != nil {
		return nil, dbErr("data.AreasGeoJSON", err)
	}
	return json.RawMessage(out), nil
}

const qAddLevel = `INSERT INTO level (key, hierarchy, depth, name_zh, name_en) VALUES ($1, $2, $3, $4, $5)`

// AddLevel adds a level to a hierarchy (a new hierarchy starts at depth 0).
func (s *AreaService) AddLevel(ctx context.Context, l geo.Level) error {
	if l.Key == "" || l.Hierarchy == "" || l.Depth < 0 || l.NameZH == "" || l.NameEN == "" {
		return geo.Errorf(geo.EInvalid, "a level needs hierarchy, key, depth >= 0, and Chinese and English names")
	}
	tx, err := s.db.Pool.Begin(ctx)
	if err != nil {
		return dbErr("data.AddLevel", err)
	}
	defer tx.Rollback(ctx)
	if l.Depth > 0 {
		var above bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM level WHERE hierarchy = $1 AND depth = $2)`, l.Hierarchy, l.Depth-1).Scan(&above); err != nil {
			return dbErr("data.AddLevel", err)
		}
		if !above {
			return geo.Errorf(geo.EInvalid, "hierarchy %q has no level at depth %d above the new level", l.Hierarchy, l.Depth-1)
		}
	}
	if _, err := tx.Exec(ctx, qAddLevel, l.Key, l.Hierarchy, l.Depth, l.NameZH, l.NameEN); err != nil {
		return dbErr("data.AddLevel", err)
	}
	if _, err := insertChange(ctx, tx, geo.ImportOptions{Author: "cli"}, "level.add", l); err != nil {
		return dbErr("data.AddLevel", err)
	}
	return dbErr("data.AddLevel", tx.Commit(ctx))
}

// AreaChain returns the areas from the top level down to id, in one query.
func (s *AreaService) AreaChain(ctx context.Context, id int64) ([]geo.AreaRef, error) {
	m, err := chains(ctx, s.db, []int64{id})
	if err != nil {
		return nil, err
	}
	if len(m[id]) == 0 {
		return nil, geo.Errorf(geo.ENotFound, "no area with id %d", id)
	}
	return m[id], nil
}
