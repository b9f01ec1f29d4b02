package data

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"gridmap/geo"
)

const qInsertChangeArea = `INSERT INTO change_area (change_id, area_id, before_version, after_version) VALUES ($1, $2, $3, $4)`

const qSnapshotCreate = `CREATE TEMP TABLE edit_before (id bigint PRIMARY KEY, grid_id bigint) ON COMMIT DROP`

// qSnapshotChanged records the grid of every building whose grid the edit
// may have changed:
//   - those within $3 (degrees, two grid cells, so that rounding in the
//     overlay cannot leave one out) of the region where an area's geometry
//     changed: the symmetric difference of its version before ($1) and after
//     ($2), or the whole version where there is only one (an area created,
//     retired, or brought back by a revert);
//   - every building whose stored grid is an area the edit retired (after
//     = 0), wherever it lies: a building stored in a grid it is not inside
//     (an import's or a hand UPDATE's leftover) would otherwise stay in the
//     retired grid (TestAreaStats/after_merging_two_grids: 12 did).
//
// grid_of (migration 016) depends on an area only through whether it is
// current and covers, or contains, the building's point, and on its code and
// level, which an edit does not change for an area that stays; whether it
// covers or contains a point can change only for a point in the closure of
// the symmetric difference. So a building further away keeps its grid, and an
// edit that only inserts vertices into an outline (a repartition's
// community, its subdistrict and district) checks the buildings along the
// few centimetres that moved, not every building inside the outline's bounds
// (which cost 1.5–6 s per repartition preview). Each region is dumped into
// its parts so the index sees their small bounds.
const qSnapshotChanged = `
WITH t AS (SELECT * FROM unnest($1::bigint[], $2::bigint[], $4::bigint[]) AS t(before, after, area)),
     r AS (SELECT (ST_Dump(CASE WHEN o.geom IS NULL THEN n.geom WHEN n.geom IS NULL THEN o.geom
                                ELSE ST_SymDifference(o.geom, n.geom) END)).geom AS g
           FROM t LEFT JOIN area_version o ON o.id = t.before LEFT JOIN area_version n ON n.id = t.after
           WHERE t.before IS DISTINCT FROM t.after)
INSERT INTO edit_before (id, grid_id)
SELECT b.id, b.grid_id FROM r JOIN building b ON ST_DWithin(b.geom, r.g, $3)
WHERE r.g IS NOT NULL AND NOT ST_IsEmpty(r.g)
UNION
SELECT b.id, b.grid_id FROM building b WHERE b.grid_id IN (SELECT area FROM t WHERE t.after = 0)
ON CONFLICT DO NOTHING`

// validate checks the state after the edit and measures its impact.
func (e *Editor) validate(ctx context.Context, st *editState, p *geo.EditPreview) error {
	p.Errors, p.Warnings, p.Moves, p.Codes = []geo.Issue{}, []geo.Issue{}, []geo.Move{}, st.codes
	p.Balance, p.Moved = []geo.BalanceChange{}, json.RawMessage(`{"type":"FeatureCollection","features":[]}`)
	if p.Codes == nil {
		p.Codes = []geo.CodeChange{}
	}
	changed := st.order
	parents := make([]int64, 0, len(st.parents))
	for id := range st.parents {
		parents = append(parents, id)
	}
	sort.Slice(parents, func(i, j int) bool { return parents[i] < parents[j] })
	tol := e.Tolerance / 2 // a region counts when it is wider than the tolerance

	issue := func(kind, msgFmt string) func(pgx.CollectableRow) (geo.Issue, error) {
		return func(r pgx.CollectableRow) (geo.Issue, error) {
			var is geo.Issue
			var codes []string
			var g string
			err := r.Scan(&codes, &g, &is.AreaM2)
			is.Kind, is.Areas, is.Geometry = kind, codes, json.RawMessage(g)
			is.Message = fmt.Sprintf(msgFmt, strings.Join(codes, " and "), is.AreaM2)
			return is, err
		}
	}
	collect := func(q string, f func(pgx.CollectableRow) (geo.Issue, error), args ...any) ([]geo.Issue, error) {
		rows, err := st.tx.Query(ctx, q, args...)
		if err != nil {
			return nil, err
		}
		return pgx.CollectRows(rows, f)
	}
	outside, err := collect(qOutsideParent, issue("outside_parent", "%s sticks out of its parent by %.2f m²"), changed, tol, e.MinAreaM2)
	if err != nil {
		return err
	}
	overlaps, err := collect(qOverlaps, issue("overlap", ""), changed, tol, e.MinAreaM2)
	if err != nil {
		return err
	}
	for i := range overlaps {
		is := &overlaps[i]
		is.With = is.Areas[1:] // Areas[0] is the changed area
		is.Message = fmt.Sprintf("%s overlaps %s by %.2f m²", is.Areas[0], strings.Join(is.With, " and "), is.AreaM2)
	}
	p.Errors = append(append(p.Errors, outside...), overlaps...)
	for _, parent := range parents {
		rows, err := st.tx.Query(ctx, qGaps, parent, tol, st.at, e.MinAreaM2)
		if err != nil {
			return err
		}
		var gaps []struct {
			is     geo.Issue
			isNew  bool
			errors bool
		}
		var is geo.Issue
		var code, g string
		var isNew, asErr bool
		if _, err := pgx.ForEachRow(rows, []any{&code, &g, &is.AreaM2, &isNew, &asErr}, func() error {
			is.Kind, is.Areas, is.Geometry = "gap", []string{code}, json.RawMessage(g)
			is.Message = fmt.Sprintf("a gap of %.2f m² inside %s is covered by none of its children", is.AreaM2, code)
			if !isNew {
				is.Message += " (it was there before this edit)"
			}
			gaps = append(gaps, struct {
				is     geo.Issue
				isNew  bool
				errors bool
			}{is, isNew, asErr})
			return nil
		}); err != nil {
			return err
		}
		for _, gp := range gaps {
			if gp.isNew && gp.errors {
				p.Errors = append(p.Errors, gp.is)
			} else {
				p.Warnings = append(p.Warnings, gp.is)
			}
		}
	}
	// Buildings: snapshot, reassign, compare.
	if len(st.bounds) > 0 {
		n := len(st.order)
		before, after, areas := make([]int64, 0, n), make([]int64, 0, n), make([]int64, 0, n)
		for _, id := range st.order {
			t := st.touched[id]
			before, after, areas = append(before, t.Before), append(after, t.After), append(areas, id)
		}
		tag, err := st.tx.Exec(ctx, qSnapshotChanged, before, after, 2*GridSize, areas)
		if err != nil {
			return err
		}
		p.BuildingsChecked = int(tag.RowsAffected())
		// The snapshot was taken after the edit's writes but before reassigning,
		// so it still holds the grids from before the edit.
		if _, err := st.tx.Exec(ctx, qReassignSnapshot, geo.DefaultHierarchy); err != nil {
			return err
		}
		rows, err := st.tx.Query(ctx, qMoves)
		if err != nil {
			return err
		}
		var m geo.Move
		var fromID, toID int64
		var fromCode, fromName, fromLevel, toCode, toName, toLevel string
		if _, err := pgx.ForEachRow(rows, []any{&fromID, &fromLevel, &fromCode, &fromName, &toID, &toLevel, &toCode, &toName, &m.Buildings, &m.Households, &m.Residents}, func() error {
			mv := m
			if fromID != 0 {
				mv.From = &geo.AreaRef{ID: fromID, Level: fromLevel, Code: fromCode, Name: fromName}
			}
			if toID != 0 {
				mv.To = &geo.AreaRef{ID: toID, Level: toLevel, Code: toCode, Name: toName}
			}
			p.Moves = append(p.Moves, mv)
			return nil
		}); err != nil {
			return err
		}
		unassigned, err := collect(qUnassigned, func(r pgx.CollectableRow) (geo.Issue, error) {
			var is geo.Issue
			var n int
			var codes []string
			var parent string
			err := r.Scan(&parent, &n, &codes)
			is.Kind, is.Areas = "unassigned_buildings", []string{parent}
			is.Message = fmt.Sprintf("%d building(s) in %s would belong to none of its children (e.g. %s)", n, parent, strings.Join(codes, ", "))
			return is, err
		}, parents)
		if err != nil {
			return err
		}
		p.Errors = append(p.Errors, unassigned...)
		for _, list := range [][]geo.Issue{p.Errors, p.Warnings} {
			for i := range list {
				if list[i].Kind == "gap" {
					if err := gapDestinations(ctx, st.tx, &list[i]); err != nil {
						return err
					}
				}
			}
		}
		if err := balance(ctx, st.tx, p); err != nil {
			return err
		}
	}
	var fc []byte
	if err := st.tx.QueryRow(ctx, qResultGeoJSON, changed).Scan(&fc); err != nil {
		return err
	}
	p.Result = fc
	p.Valid = len(p.Errors) == 0
	return nil
}

// qGapDestinations: the buildings inside a gap ($1, GeoJSON) of the parent
// with code $2 after the reassignment, grouped by the child they now belong
// to; none (0) when they belong to no child of the parent.
const qGapDestinations = `
SELECT coalesce(t.id, 0), coalesce(t.level, ''), coalesce(t.code, ''), coalesce(t.name, ''), count(*), coalesce(sum(b.households), 0)
FROM building b
JOIN area p ON p.code = $2
LEFT JOIN area t ON t.id = b.grid_id AND t.parent_id = p.id
WHERE ST_Intersects(b.geom, ST_SetSRID(ST_GeomFromGeoJSON($1), 4326))
GROUP BY 1, 2, 3, 4
ORDER BY 3`

// gapDestinations says where the buildings inside a gap go, in Destinations
// and in its message. No child covers a gap, so its buildings are mostly
// unassigned; one that only touches it may still fall in a neighbour.
func gapDestinations(ctx context.Context, tx pgx.Tx, is *geo.Issue) error {
	rows, err := tx.Query(ctx, qGapDestinations, string(is.Geometry), is.Areas[0])
	if err != nil {
		return err
	}
	var d geo.Destination
	var id int64
	var level, code, name string
	var parts []string
	if _, err := pgx.ForEachRow(rows, []any{&id, &level, &code, &name, &d.Buildings, &d.Households}, func() error {
		dd := geo.Destination{Buildings: d.Buildings, Households: d.Households}
		to := "no grid (unassigned)"
		if id != 0 {
			dd.To = &geo.AreaRef{ID: id, Level: level, Code: code, Name: name}
			to = code
		}
		is.Destinations = append(is.Destinations, dd)
		parts = append(parts, fmt.Sprintf("%d building(s), %d household(s) to %s", d.Buildings, d.Households, to))
		return nil
	}); err != nil {
		return err
	}
	if len(parts) == 0 {
		is.Message += "; no building is inside it"
	} else {
		is.Message += "; inside it: " + strings.Join(parts, "; ")
	}
	return nil
}

// qOutsideParent: the parts of changed areas outside their parent, wider than
// the tolerance ($2, half of it) or larger than $3 m².
const qOutsideParent = `
SELECT ARRAY[a.code], ST_AsGeoJSON(x, 7), ST_Area(x::geography)
FROM area a
JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL
JOIN area_version pv ON pv.area_id = a.parent_id AND pv.valid_to IS NULL,
LATERAL (SELECT ST_CollectionExtract(ST_Difference(v.geom, pv.geom), 3) AS x) d
WHERE a.id = ANY($1) AND a.retired_at IS NULL AND NOT ST_IsEmpty(x)
  AND (ST_Area(x::geography) > $3 OR NOT ST_IsEmpty(ST_Buffer(x::geography, -($2::float8))::geometry))`

// qOverlaps: overlaps between a changed area and its current siblings, wider
// than the tolerance ($2, half of it) or larger than $3 m². The siblings are
// reached through area.parent_id and area_version's area_id index, with no
// bounding-box test the planner could answer from the partial GiST index
// (area_version_current_geom_idx): that index once failed to reach six current
// versions and let a 104 m² overlap through (docs/gist-index.md), and an area
// has few siblings (ST_Intersection returns at once for disjoint boxes).
const qOverlaps = `
SELECT ARRAY[a.code, s.code], ST_AsGeoJSON(x, 7), ST_Area(x::geography)
FROM area a
JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL
JOIN area s ON s.parent_id = a.parent_id AND s.id <> a.id AND s.retired_at IS NULL
JOIN area_version sv ON sv.area_id = s.id AND sv.valid_to IS NULL,
LATERAL (SELECT ST_CollectionExtract(ST_Intersection(v.geom, sv.geom), 3) AS x) d
WHERE a.id = ANY($1) AND a.retired_at IS NULL AND NOT (s.id = ANY($1) AND s.id < a.id)
  AND NOT ST_IsEmpty(x) AND (ST_Area(x::geography) > $3 OR NOT ST_IsEmpty(ST_Buffer(x::geography, -($2::float8))::geometry))`

// qGaps: parts of a parent covered by none of its current children, wider
// than the tolerance ($2, half of it) or larger than $4 m²; new when what
// was not already a gap just before the edit ($3) is itself that wide or large.
const qGaps = `
WITH p AS (SELECT a.code, v.geom, l.gaps_are_errors
           FROM area a JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL
           JOIN level l ON l.hierarchy = (SELECT hierarchy FROM level WHERE key = a.level)
                       AND l.depth = (SELECT depth + 1 FROM level WHERE key = a.level)
           WHERE a.id = $1),
     now_children AS (SELECT v.geom FROM area c JOIN area_version v ON v.area_id = c.id AND v.valid_to IS NULL
                      WHERE c.parent_id = $1 AND c.retired_at IS NULL),
     before_children AS (SELECT v.geom FROM area c JOIN area_version v ON v.area_id = c.id
                         AND v.valid_from < $3 AND (v.valid_to IS NULL OR v.valid_to >= $3)
                         WHERE c.parent_id = $1),
     gap AS (SELECT (ST_Dump(ST_CollectionExtract(ST_Difference(p.geom, (SELECT ST_Union(geom) FROM now_children)), 3))).geom AS g
             FROM p WHERE EXISTS (SELECT 1 FROM now_children)),
     before_gap AS (SELECT ST_Difference(p.geom, coalesce((SELECT ST_Union(geom) FROM before_children), 'POLYGON EMPTY'::geometry)) AS g FROM p)
SELECT p.code, ST_AsGeoJSON(gap.g, 7), ST_Area(gap.g::geography),
       ST_Area(n.g::geography) > $4 OR NOT ST_IsEmpty(ST_Buffer(n.g::geography, -($2::float8))::geometry),
       p.gaps_are_errors
FROM p, gap, before_gap, LATERAL (SELECT ST_CollectionExtract(ST_Difference(gap.g, before_gap.g), 3) AS g) n
WHERE ST_Area(gap.g::geography) > $4 OR NOT ST_IsEmpty(ST_Buffer(gap.g::geography, -($2::float8))::geometry)`

// qReassignSnapshot reassigns the snapshotted buildings with grid_of (the
// border rule, migration 004), writing only rows whose grid changes.
const qReassignSnapshot = `
UPDATE building b SET grid_id = n.grid
FROM (SELECT e.id, grid_of(x.geom, $1) AS grid FROM edit_before e JOIN building x ON x.id = e.id) n
WHERE n.id = b.id AND b.grid_id IS DISTINCT FROM n.grid`

const qMoves = `
SELECT coalesce(f.id, 0), coalesce(f.level, ''), coalesce(f.code, ''), coalesce(f.name, ''),
       coalesce(t.id, 0), coalesce(t.level, ''), coalesce(t.code, ''), coalesce(t.name, ''),
       count(*), coalesce(sum(b.households), 0), coalesce(sum(b.residents), 0)
FROM edit_before e JOIN building b ON b.id = e.id
LEFT JOIN area f ON f.id = e.grid_id
LEFT JOIN area t ON t.id = b.grid_id
WHERE e.grid_id IS DISTINCT FROM b.grid_id
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
ORDER BY 3, 7`

// qUnassigned: buildings that were in a child of a parent before and now are
// only in the parent (or nowhere).
const qUnassigned = `
SELECT p.code, count(*), (array_agg(b.code ORDER BY b.code))[1:5]
FROM edit_before e
JOIN building b ON b.id = e.id
JOIN area was ON was.id = e.grid_id
JOIN area p ON p.id = was.parent_id
WHERE p.id = ANY($1) AND (b.grid_id IS NULL OR b.grid_id = p.id OR b.grid_id IN (SELECT id FROM area WHERE id = p.parent_id))
GROUP BY p.code`

const qResultGeoJSON = `
SELECT json_build_object('type', 'FeatureCollection', 'features', coalesce(json_agg(ST_AsGeoJSON(t.*, 'geom', 7)::json), '[]'::json))
FROM (SELECT a.id, a.level, a.code, a.name, v.id AS version, v.geom
      FROM area a JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL
      WHERE a.id = ANY($1) AND a.retired_at IS NULL ORDER BY a.code) t`
