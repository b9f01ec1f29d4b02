package data

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridmap/calendar"
	"gridmap/geo"
)

// LookupService answers point and address lookups from PostGIS.
type LookupService struct{ db *DB }

// NewLookupService returns a LookupService on db.
func NewLookupService(db *DB) *LookupService { return &LookupService{db: db} }

var _ geo.LookupService = (*LookupService)(nil)

// MaxBatch is the most points one LookupPoints call accepts.
const MaxBatch = 10000

// qHitsCurrent finds, for every input point, the current areas of one
// hierarchy whose geometry covers it (boundary included), and whether the
// point is in the interior. The point list arrives as two float arrays.
const qHitsCurrent = `
SELECT q.i, a.id, a.level, a.code, a.name, l.depth, ST_Contains(v.geom, q.p)
FROM (SELECT t.i, ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326) AS p
        FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS t(lon, lat, i)) q
JOIN area_version v ON v.valid_to IS NULL AND ST_Covers(v.geom, q.p)
JOIN area a ON a.id = v.area_id AND a.retired_at IS NULL
JOIN level l ON l.key = a.level AND l.hierarchy = $3`

// qHitsAsOf is qHitsCurrent for the versions in force at $4.
const qHitsAsOf = `
SELECT q.i, a.id, a.level, a.code, a.name, l.depth, ST_Contains(v.geom, q.p)
FROM (SELECT t.i, ST_SetSRID(ST_MakePoint(t.lon, t.lat), 4326) AS p
        FROM unnest($1::float8[], $2::float8[]) WITH ORDINALITY AS t(lon, lat, i)) q
JOIN area_version v ON v.valid_from <= $4 AND (v.valid_to IS NULL OR v.valid_to > $4) AND ST_Covers(v.geom, q.p)
JOIN area a ON a.id = v.area_id
JOIN level l ON l.key = a.level AND l.hierarchy = $3`

// qAncestors returns the given areas and all their ancestors.
const qAncestors = `
WITH RECURSIVE up AS (
    SELECT id, parent_id, level, code, name FROM area WHERE id = ANY($1)
    UNION
    SELECT a.id, a.parent_id, a.level, a.code, a.name FROM area a JOIN up ON a.id = up.parent_id
)
SELECT id, coalesce(parent_id, 0), level, code, name FROM up`

// LookupPoint answers which areas contain q.Point; see docs/lookup.md for the
// border rule.
func (s *LookupService) LookupPoint(ctx context.Context, q geo.LookupQuery) (*geo.LookupResult, error) {
	rs, err := s.LookupPoints(ctx, []orb.Point{q.Point}, q.At, q.Hierarchy)
	if err != nil {
		return nil, err
	}
	return &rs[0], nil
}

// LookupPoints answers up to MaxBatch points (EPSG:4326) in two queries plus
// one for the people responsible.
func (s *LookupService) LookupPoints(ctx context.Context, points []orb.Point, at *time.Time, hierarchy string) ([]geo.LookupResult, error) {
	if len(points) > MaxBatch {
		return nil, geo.Errorf(geo.EInvalid, "at most %d points per request, got %d", MaxBatch, len(points))
	}
	if hierarchy == "" {
		hierarchy = geo.DefaultHierarchy
	}
	lons := make([]float64, len(points))
	lats := make([]float64, len(points))
	for i, p := range points {
		if err := geo.ValidateLonLat(p[0], p[1]); err != nil {
			if len(points) > 1 {
				return nil, geo.Errorf(geo.EInvalid, "point %d: %s", i, geo.ErrorMessage(err))
			}
			return nil, err
		}
		lons[i], lats[i] = p[0], p[1]
	}
	var rows pgx.Rows
	var err error
	if at == nil {
		rows, err = s.db.reader(ctx).Query(ctx, qHitsCurrent, lons, lats, hierarchy)
	} else {
		rows, err = s.db.reader(ctx).Query(ctx, qHitsAsOf, lons, lats, hierarchy, *at)
	}
	if err != nil {
		return nil, dbErr("data.LookupPoints", err)
	}
	hits := make([][]geo.BorderHit, len(points))
	var i int64
	var h geo.BorderHit
	_, err = pgx.ForEachRow(rows, []any{&i, &h.Area.ID, &h.Area.Level, &h.Area.Code, &h.Area.Name, &h.Depth, &h.Interior}, func() error {
		hits[i-1] = append(hits[i-1], h)
		return nil
	})
	if err != nil {
		return nil, dbErr("data.LookupPoints", err)
	}

	results := make([]geo.LookupResult, len(points))
	chosen := map[int64]bool{}
	for i, hs := range hits {
		results[i] = geo.DecideBorder(hs)
		if results[i].Grid != nil {
			chosen[results[i].Grid.ID] = true
		}
	}
	if len(chosen) == 0 {
		return results, nil
	}
	ids := make([]int64, 0, len(chosen))
	for id := range chosen {
		ids = append(ids, id)
	}
	chains, err := chains(ctx, s.db, ids)
	if err != nil {
		return nil, err
	}
	resp, err := responsibleFor(ctx, s.db, ids, 0, at)
	if err != nil {
		return nil, err
	}
	for i := range results {
		if g := results[i].Grid; g != nil {
			results[i].Areas = chains[g.ID]
			results[i].Responsible = resp[g.ID]
			if results[i].Responsible == nil {
				results[i].Responsible = []geo.Responsible{}
			}
		}
	}
	return results, nil
}

// chains returns, for each id, the chain of areas from the top down to it,
// in one query.
func chains(ctx context.Context, db *DB, ids []int64) (map[int64][]geo.AreaRef, error) {
	rows, err := db.reader(ctx).Query(ctx, qAncestors, ids)
	if err != nil {
		return nil, dbErr("data.chains", err)
	}
	type node struct {
		ref    geo.AreaRef
		parent int64
	}
	nodes := map[int64]node{}
	var n node
	_, err = pgx.ForEachRow(rows, []any{&n.ref.ID, &n.parent, &n.ref.Level, &n.ref.Code, &n.ref.Name}, func() error {
		nodes[n.ref.ID] = n
		return nil
	})
	if err != nil {
		return nil, dbErr("data.chains", err)
	}
	out := make(map[int64][]geo.AreaRef, len(ids))
	for _, id := range ids {
		var chain []geo.AreaRef
		for cur, ok := nodes[id]; ok && len(chain) < 64; cur, ok = nodes[cur.parent] {
			chain = append(chain, cur.ref)
			if cur.parent == 0 {
				break
			}
		}
		for i, j := 0, len(chain)-1; i < j; i, j = i+1, j-1 {
			chain[i], chain[j] = chain[j], chain[i]
		}
		out[id] = chain
	}
	return out, nil
}

// qAddress ranks buildings against a normalised address as
// geo.AddressStore.AddressCandidates says: the normalised address or the name
// equal to the query scores 1, one containing it 0.5–1, other trigram matches
// of the address (pg_trgm, which tokenises CJK in the C.UTF-8 locale) below
// 0.5. The second branch finds names through building_name_trgm_idx.
const qAddress = `
SELECT code, address, name, lon, lat, score FROM (
    SELECT code, address, name, ST_X(geom) AS lon, ST_Y(geom) AS lat, length(address_norm) AS len,
           CASE WHEN address_norm = $1 OR name = $1 THEN 1.0
                WHEN address_norm LIKE $2 ESCAPE '\' OR name LIKE $2 ESCAPE '\' THEN 0.5 + 0.49 * similarity(address_norm, $1)
                ELSE 0.49 * similarity(address_norm, $1) END AS score
    FROM building
    WHERE address_norm = $1 OR address_norm LIKE $2 ESCAPE '\' OR address_norm % $1
    UNION
    SELECT code, address, name, ST_X(geom), ST_Y(geom), length(address_norm),
           CASE WHEN address_norm = $1 OR name = $1 THEN 1.0
                ELSE 0.5 + 0.49 * similarity(address_norm, $1) END
    FROM building
    WHERE name LIKE $2 ESCAPE '\'
) c
ORDER BY score DESC, len, code
LIMIT $3`

// LookupAddress answers an address query by geo.MatchAddress.
func (s *LookupService) LookupAddress(ctx context.Context, text string, limit int, hierarchy string) (*geo.AddressResult, error) {
	return geo.MatchAddress(ctx, s, text, limit, hierarchy)
}

var _ geo.AddressStore = (*LookupService)(nil)

// AddressCandidates ranks the buildings for a normalised query (qAddress).
func (s *LookupService) AddressCandidates(ctx context.Context, norm string, limit int) ([]geo.AddressCandidate, error) {
	tx, err := s.db.reader(ctx).BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, dbErr("data.LookupAddress", err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, `SELECT set_config('pg_trgm.similarity_threshold', $1, true)`,
		strconv.FormatFloat(geo.AddressSimilarity, 'g', -1, 64)); err != nil {
		return nil, dbErr("data.LookupAddress", err)
	}
	rows, err := tx.Query(ctx, qAddress, norm, "%"+escapeLike(norm)+"%", limit)
	if err != nil {
		return nil, dbErr("data.LookupAddress", err)
	}
	cands := []geo.AddressCandidate{}
	var c geo.AddressCandidate
	_, err = pgx.ForEachRow(rows, []any{&c.Building.Code, &c.Building.Address, &c.Building.Name, &c.Building.Lon, &c.Building.Lat, &c.Score}, func() error {
		cands = append(cands, c)
		return nil
	})
	if err != nil {
		return nil, dbErr("data.LookupAddress", err)
	}
	return cands, nil
}

// qStreetPoints lists the points of the buildings on a street or in a
// compound ($1 is its normalised name escaped for LIKE and followed by %,
// $2 its length in characters plus one): normalised address or name followed
// by a digit.
const qStreetPoints = `
SELECT ST_X(geom), ST_Y(geom) FROM building
WHERE (address_norm LIKE $1 ESCAPE '\' AND substr(address_norm, $2, 1) BETWEEN '0' AND '9')
   OR (name LIKE $1 ESCAPE '\' AND substr(name, $2, 1) BETWEEN '0' AND '9')
ORDER BY code`

// StreetPoints returns the points of the buildings on the street or in the
// compound norm (geo.StreetOf), in code order.
func (s *LookupService) StreetPoints(ctx context.Context, norm string) ([]orb.Point, error) {
	rows, err := s.db.reader(ctx).Query(ctx, qStreetPoints, escapeLike(norm)+"%", utf8.RuneCountInString(norm)+1)
	if err != nil {
		return nil, dbErr("data.LookupAddress", err)
	}
	var out []orb.Point
	var p orb.Point
	_, err = pgx.ForEachRow(rows, []any{&p[0], &p[1]}, func() error {
		out = append(out, p)
		return nil
	})
	if err != nil {
		return nil, dbErr("data.LookupAddress", err)
	}
	return out, nil
}

func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// qResponsible lists the duties in force on a date for some areas (and their
// ancestors' police officers) or one building, with every person field and
// its public flag; publicResponsible drops what is not public.
const qResponsible = `
WITH RECURSIVE up AS (
    SELECT id AS target, id, parent_id FROM area WHERE id = ANY($1)
    UNION
    SELECT up.target, a.id, a.parent_id FROM area a JOIN up ON a.id = up.parent_id
)
SELECT up.target, d.id, d.role, p.name, p.phone, coalesce(p.photo_id, 0), p.public_name, p.public_phone, p.public_photo,
       coalesce(a.code, ''), ''
FROM up
JOIN duty d ON d.area_id = up.id AND (up.id = up.target OR d.role = 'police')
JOIN person p ON p.id = d.person_id
JOIN area a ON a.id = d.area_id
WHERE d.valid_from <= $2 AND (d.valid_to IS NULL OR d.valid_to >= $2)
UNION ALL
SELECT 0, d.id, d.role, p.name, p.phone, coalesce(p.photo_id, 0), p.public_name, p.public_phone, p.public_photo,
       '', b.code
FROM duty d JOIN person p ON p.id = d.person_id JOIN building b ON b.id = d.building_id
WHERE d.building_id = $3 AND d.valid_from <= $2 AND (d.valid_to IS NULL OR d.valid_to >= $2)`

// dutyRow is a duty with every field of its person and the public flags.
type dutyRow struct {
	id                                int64
	role, name, phone, area, building string
	photoID                           int64
	pubName, pubPhone, pubPhoto       bool
}

// publicResponsible is the public view of a duty: only the fields the person
// made public.
func publicResponsible(d dutyRow) geo.Responsible {
	r := geo.Responsible{Role: geo.Role(d.role), RoleZH: geo.RoleNameZH[geo.Role(d.role)], Area: d.area, Building: d.building}
	if d.pubName {
		r.Name = d.name
	}
	if d.pubPhone {
		r.Phone = d.phone
	}
	if d.pubPhoto && d.photoID != 0 {
		r.Photo = fmt.Sprintf("/api/v1/photos/%d", d.photoID)
	}
	return r
}

// responsibleFor returns the public view of the duties in force at `at` (nil:
// now) for each area id, the building leaders of buildingID under key 0. Each
// list is in display order: role (geo.Roles order), then the public name, then
// the duty's id, so equal-looking entries keep one order.
func responsibleFor(ctx context.Context, db *DB, areaIDs []int64, buildingID int64, at *time.Time) (map[int64][]geo.Responsible, error) {
	day := time.Now().In(calendar.Shanghai())
	if at != nil {
		day = at.In(calendar.Shanghai())
	}
	date := time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, time.UTC)
	rows, err := db.reader(ctx).Query(ctx, qResponsible, areaIDs, date, buildingID)
	if err != nil {
		return nil, dbErr("data.responsible", err)
	}
	type entry struct {
		r  geo.Responsible
		id int64
	}
	byTarget := map[int64][]entry{}
	var target int64
	var d dutyRow
	_, err = pgx.ForEachRow(rows, []any{&target, &d.id, &d.role, &d.name, &d.phone, &d.photoID, &d.pubName, &d.pubPhone, &d.pubPhoto, &d.area, &d.building}, func() error {
		byTarget[target] = append(byTarget[target], entry{publicResponsible(d), d.id})
		return nil
	})
	if err != nil {
		return nil, dbErr("data.responsible", err)
	}
	order := map[geo.Role]int{}
	for i, r := range geo.Roles {
		order[r] = i
	}
	out := make(map[int64][]geo.Responsible, len(byTarget))
	for t, es := range byTarget {
		sort.Slice(es, func(i, j int) bool {
			if es[i].r.Role != es[j].r.Role {
				return order[es[i].r.Role] < order[es[j].r.Role]
			}
			if es[i].r.Name != es[j].r.Name {
				return es[i].r.Name < es[j].r.Name
			}
			return es[i].id < es[j].id
		})
		rs := make([]geo.Responsible, len(es))
		for i, e := range es {
			rs[i] = e.r
		}
		out[t] = rs
	}
	return out, nil
}
