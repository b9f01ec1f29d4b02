package data

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"gridmap/geo"
)

// One type per operation. Each plans what it touches (before any lock) and
// applies itself to the locked state; the runner in edit.go does the rest.

func need(r geo.EditRequest, n int) error {
	if len(r.Areas) != n {
		return geo.Errorf(geo.EInvalid, "%s needs exactly %d area(s) in areas, got %d", r.Op, n, len(r.Areas))
	}
	return nil
}

// createOp adds an area under r.Parent with r.Geometry.
type createOp struct{}

func (createOp) plan(ctx context.Context, st *editState) (*editPlan, error) {
	r := st.req
	if r.Parent == 0 {
		return nil, geo.Errorf(geo.EInvalid, "create needs parent (an area id)")
	}
	raw, err := wkb.Marshal(r.Geometry)
	if err != nil || geo.ValidateMultiPolygon(r.Geometry) != nil {
		raw = nil
	}
	return &editPlan{create: r.Parent, near: raw, snap: true}, nil
}

func (createOp) apply(ctx context.Context, st *editState) error {
	r := st.req
	parent, err := st.area(r.Parent)
	if err != nil {
		return err
	}
	if parent.retired {
		return &geo.Error{Code: geo.EConflict, Message: fmt.Sprintf("parent %s is retired", parent.code),
			Details: map[string]any{"current": []geo.VersionRef{{ID: parent.id, Version: 0}}}}
	}
	g, err := st.inputGeometry(ctx, r.Geometry, parent.id, 0)
	if err != nil {
		return err
	}
	_, err = st.createArea(ctx, parent, r.Name, r.Code, g, r.Geometry.Bound().Center(), 0)
	return err
}

// reshapeOp gives r.Areas[0] the geometry r.Geometry, snapped to the grid and
// to its siblings' and parent's vertices.
type reshapeOp struct{}

func (reshapeOp) plan(ctx context.Context, st *editState) (*editPlan, error) {
	if err := need(st.req, 1); err != nil {
		return nil, err
	}
	raw, err := wkb.Marshal(st.req.Geometry)
	if err != nil || geo.ValidateMultiPolygon(st.req.Geometry) != nil {
		raw = nil
	}
	return &editPlan{refs: st.req.Areas, near: raw, snap: true}, nil
}

func (reshapeOp) apply(ctx context.Context, st *editState) error {
	a := st.cur[st.req.Areas[0].ID]
	g, err := st.inputGeometry(ctx, st.req.Geometry, a.parent, a.id)
	if err != nil {
		return err
	}
	return st.setGeometry(ctx, a, g)
}

// moveBorderOp gives r.Areas[0] and r.Areas[1] r.Line as their common border.
type moveBorderOp struct{}

func (moveBorderOp) plan(ctx context.Context, st *editState) (*editPlan, error) {
	if err := need(st.req, 2); err != nil {
		return nil, err
	}
	line, err := lineWKB(st.req.Line)
	if err != nil {
		return nil, err
	}
	return &editPlan{refs: st.req.Areas, near: line, snap: true}, nil
}

func (moveBorderOp) apply(ctx context.Context, st *editState) error {
	a, b := st.cur[st.req.Areas[0].ID], st.cur[st.req.Areas[1].ID]
	if a.id == b.id || a.parent != b.parent {
		return geo.Errorf(geo.EInvalid, "%s and %s have different parents; a shared border moves only between siblings", a.code, b.code)
	}
	line, _ := lineWKB(st.req.Line)
	var parts int
	var ga, gb []byte
	if err := st.tx.QueryRow(ctx, qMoveBorder, a.version, b.version, line, GridSize, snapTolerance).Scan(&parts, &ga, &gb); err != nil {
		return err
	}
	if parts < 2 || ga == nil || gb == nil {
		return geo.Errorf(geo.EInvalid, "the new border must run across %s and %s from one end of their common border to the other (it cut them into %d part(s))", a.code, b.code, parts)
	}
	if err := st.setGeometry(ctx, a, ga); err != nil {
		return err
	}
	return st.setGeometry(ctx, b, gb)
}

// splitOp cuts r.Areas[0] by r.Line; the largest part keeps the identity.
type splitOp struct{}

func (splitOp) plan(ctx context.Context, st *editState) (*editPlan, error) {
	if err := need(st.req, 1); err != nil {
		return nil, err
	}
	line, err := lineWKB(st.req.Line)
	if err != nil {
		return nil, err
	}
	return &editPlan{refs: st.req.Areas, near: line, snap: true}, nil
}

func (splitOp) apply(ctx context.Context, st *editState) error {
	r := st.req
	a := st.cur[r.Areas[0].ID]
	if a.parent == 0 {
		return geo.Errorf(geo.EInvalid, "a top-level area cannot be split")
	}
	line, _ := lineWKB(r.Line)
	rows, err := st.tx.Query(ctx, qSplitArea, a.version, line, GridSize, snapTolerance)
	if err != nil {
		return err
	}
	type part struct {
		g      []byte
		pos    orb.Point
		height float64
	}
	var parts []part
	var p part
	if _, err := pgx.ForEachRow(rows, []any{&p.g, &p.pos[0], &p.pos[1], &p.height}, func() error {
		parts = append(parts, part{append([]byte(nil), p.g...), p.pos, p.height})
		return nil
	}); err != nil {
		return err
	}
	if len(parts) < 2 {
		return geo.Errorf(geo.EInvalid, "the line does not cut %s in two: draw it across the area from border to border", a.code)
	}
	parent, err := st.area(a.parent)
	if err != nil {
		return err
	}
	if err := st.setGeometry(ctx, a, parts[0].g); err != nil {
		return err
	}
	pts := make([]orb.Point, len(parts)-1)
	for i := range pts {
		pts[i] = parts[i+1].pos
	}
	codes, err := nextCodes(ctx, st.tx, parent.code, pts, parts[0].height/2)
	if err != nil {
		return err
	}
	for i, part := range parts[1:] {
		name := fmt.Sprintf("%s-%d", a.name, i+2)
		if i < len(r.Names) && strings.TrimSpace(r.Names[i]) != "" {
			name = r.Names[i]
		}
		nc, err := st.insertArea(ctx, parent, a.level, name, codes[i], part.g)
		if err != nil {
			return err
		}
		st.lineage = append(st.lineage, geo.LineageRecord{From: a.id, To: nc.id, Kind: "split"})
	}
	return nil
}

// mergeOp merges r.Areas[1] into r.Areas[0], which keeps its code.
type mergeOp struct{}

func (mergeOp) plan(ctx context.Context, st *editState) (*editPlan, error) {
	if err := need(st.req, 2); err != nil {
		return nil, err
	}
	return &editPlan{refs: st.req.Areas}, nil
}

func (mergeOp) apply(ctx context.Context, st *editState) error {
	a, b := st.cur[st.req.Areas[0].ID], st.cur[st.req.Areas[1].ID]
	if a.id == b.id || a.parent != b.parent || a.level != b.level {
		return geo.Errorf(geo.EInvalid, "only two different areas of one level and one parent can be merged (%s, %s)", a.code, b.code)
	}
	var shared float64
	var g []byte
	if err := st.tx.QueryRow(ctx, qMergeAreas, a.version, b.version, GridSize).Scan(&shared, &g); err != nil {
		return err
	}
	if shared <= 0 {
		return geo.Errorf(geo.EInvalid, "%s and %s share no border; only neighbours can be merged", a.code, b.code)
	}
	if err := st.retire(ctx, b); err != nil {
		return err
	}
	if err := st.setGeometry(ctx, a, g); err != nil {
		return err
	}
	st.lineage = append(st.lineage, geo.LineageRecord{From: b.id, To: a.id, Kind: "merge"})
	return nil
}

// retireOp retires r.Areas[0].
type retireOp struct{}

func (retireOp) plan(ctx context.Context, st *editState) (*editPlan, error) {
	if err := need(st.req, 1); err != nil {
		return nil, err
	}
	return &editPlan{refs: st.req.Areas}, nil
}

func (retireOp) apply(ctx context.Context, st *editState) error {
	return st.retire(ctx, st.cur[st.req.Areas[0].ID])
}

// revertOp restores what change r.Change changed: areas it created are
// retired, areas it retired come back, every other area gets its before
// geometry. Each area must still be at the version the change left it in.
type revertOp struct{}

const qChangeAreas = `SELECT area_id, coalesce(before_version, 0), coalesce(after_version, 0) FROM change_area WHERE change_id = $1 ORDER BY area_id`

// qChangeOperation is a change's operation and the areas its request named.
const qChangeOperation = `
SELECT operation, coalesce((SELECT array_agg((x->>'id')::bigint) FROM jsonb_array_elements(CASE WHEN jsonb_typeof(detail->'areas') = 'array' THEN detail->'areas' ELSE '[]'::jsonb END) x), '{}')
FROM change WHERE id = $1`

func (revertOp) plan(ctx context.Context, st *editState) (*editPlan, error) {
	id := st.req.Change
	var op string
	var named []int64
	if err := st.tx.QueryRow(ctx, qChangeOperation, id).Scan(&op, &named); err == pgx.ErrNoRows {
		return nil, geo.Errorf(geo.ENotFound, "no change %d", id)
	} else if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(op, "area.") || op == "area.rename" {
		return nil, geo.Errorf(geo.EInvalid, "change %d (%s) is not a boundary edit and cannot be reverted here", id, op)
	}
	rows, err := st.tx.Query(ctx, qChangeAreas, id)
	if err != nil {
		return nil, err
	}
	// The areas the change's request named must be in the actor's scope;
	// the others it touched are checked after applying (checkTouched).
	pl := &editPlan{deferAuth: true, named: named}
	var ca geo.ChangeArea
	if _, err := pgx.ForEachRow(rows, []any{&ca.Area.ID, &ca.Before, &ca.After}, func() error {
		pl.refs = append(pl.refs, geo.VersionRef{ID: ca.Area.ID, Version: ca.After})
		return nil
	}); err != nil {
		return nil, err
	}
	if len(pl.refs) == 0 {
		return nil, geo.Errorf(geo.EInvalid, "change %d touched no area geometry", id)
	}
	return pl, nil
}

func (revertOp) apply(ctx context.Context, st *editState) error {
	id := st.req.Change
	rows, err := st.tx.Query(ctx, qChangeAreas, id)
	if err != nil {
		return err
	}
	var cas []geo.ChangeArea
	var ca geo.ChangeArea
	if _, err := pgx.ForEachRow(rows, []any{&ca.Area.ID, &ca.Before, &ca.After}, func() error { cas = append(cas, ca); return nil }); err != nil {
		return err
	}
	for _, ca := range cas {
		c := st.cur[ca.Area.ID]
		if (ca.After == 0) != c.retired {
			return &geo.Error{Code: geo.EConflict, Message: fmt.Sprintf("area %s changed after change %d; revert the later change first", c.code, id),
				Details: map[string]any{"current": []geo.VersionRef{{ID: c.id, Version: c.version}}}}
		}
	}
	// Retire what the change created first (children of nobody), then restore.
	for _, ca := range cas {
		if ca.Before == 0 {
			if err := st.retire(ctx, st.cur[ca.Area.ID]); err != nil {
				return err
			}
		}
	}
	for _, ca := range cas {
		if ca.Before == 0 {
			continue
		}
		var g []byte
		if err := st.tx.QueryRow(ctx, qVersionGeometry, ca.Before).Scan(&g); err != nil {
			return err
		}
		c := st.cur[ca.Area.ID]
		if ca.After == 0 {
			if _, err := st.tx.Exec(ctx, qUnretire, c.id); err != nil {
				return err
			}
			c = &current{id: c.id, parent: c.parent, level: c.level, code: c.code, name: c.name}
			st.codes = append(st.codes, geo.CodeChange{Kind: "restored", Area: c.id, Code: c.code, Name: c.name})
		}
		if err := st.setGeometry(ctx, c, g); err != nil {
			return err
		}
	}
	return nil
}

const qUnretire = `UPDATE area SET retired_at = NULL, retired_change = NULL WHERE id = $1`

// qInputGeometry checks a client geometry, snaps it to the precision grid
// and then, within the snap tolerance, to the vertices of the parent ($3)
// and the parent's other current children ($4: the area itself), like the
// other operations' lines; when snapping would make it invalid it stays as
// rounded.
const qInputGeometry = `
WITH g AS (SELECT ST_SetSRID(ST_GeomFromWKB($1), 4326) AS g),
     r AS (SELECT ST_Multi(ST_CollectionExtract(ST_ReducePrecision(g, $2), 3)) AS g FROM g WHERE ST_IsValid(g)),
     ref AS (SELECT ST_Collect(v.geom) AS g FROM r, area a JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL
             WHERE (a.id = $3 OR (a.parent_id = $3 AND a.id <> $4 AND a.retired_at IS NULL)) AND v.geom && ST_Expand(r.g, $5)),
     s AS (SELECT CASE WHEN ref.g IS NULL THEN r.g ELSE ST_Multi(ST_CollectionExtract(ST_Snap(r.g, ref.g, $5), 3)) END AS g FROM r, ref)
SELECT ST_IsValid(g.g), coalesce(ST_IsValidReason(g.g), ''),
       ST_AsBinary(CASE WHEN ST_IsValid(s.g) AND NOT ST_IsEmpty(s.g) THEN s.g ELSE r.g END)
FROM g LEFT JOIN r ON true LEFT JOIN s ON true`

// inputGeometry checks a client geometry and snaps it to the grid and to
// the neighbours under parent (other than self).
func (st *editState) inputGeometry(ctx context.Context, mp orb.MultiPolygon, parent, self int64) ([]byte, error) {
	if err := geo.ValidateMultiPolygon(mp); err != nil {
		return nil, err
	}
	raw, err := wkb.Marshal(mp)
	if err != nil {
		return nil, geo.Errorf(geo.EInvalid, "geometry cannot be encoded: %v", err)
	}
	var valid bool
	var reason string
	var out []byte
	if err := st.tx.QueryRow(ctx, qInputGeometry, raw, GridSize, parent, self, snapTolerance).Scan(&valid, &reason, &out); err != nil {
		return nil, err
	}
	if !valid || out == nil {
		return nil, geo.Errorf(geo.EInvalid, "geometry is not a valid polygon: %s", reason)
	}
	return out, nil
}

func lineWKB(l orb.LineString) ([]byte, error) {
	if len(l) < 2 {
		return nil, geo.Errorf(geo.EInvalid, "line needs at least 2 points, got %d", len(l))
	}
	for i, p := range l {
		if err := geo.ValidateLonLat(p[0], p[1]); err != nil {
			return nil, geo.Errorf(geo.EInvalid, "line point %d: %s", i, geo.ErrorMessage(err))
		}
	}
	return wkb.Marshal(l)
}

const qNewVersionAt = `
INSERT INTO area_version (area_id, geom, change_id, valid_from)
VALUES ($1, ST_Multi(ST_SetSRID(ST_GeomFromWKB($2), 4326)), $3, $4)
RETURNING id, ST_XMin(geom), ST_YMin(geom), ST_XMax(geom), ST_YMax(geom)`

const qCloseVersionAt = `UPDATE area_version SET valid_to = $2 WHERE id = $1 AND valid_to IS NULL`

// setGeometry closes an area's current version and opens a new one.
func (st *editState) setGeometry(ctx context.Context, c *current, g []byte) error {
	if c.version != 0 {
		tag, err := st.tx.Exec(ctx, qCloseVersionAt, c.version, st.at)
		if err != nil {
			return err
		}
		if tag.RowsAffected() != 1 {
			return geo.Errorf(geo.EInternal, "version %d of area %d was not current", c.version, c.id)
		}
		st.bounds = append(st.bounds, c.bound)
	}
	var id int64
	var b orb.Bound
	if err := st.tx.QueryRow(ctx, qNewVersionAt, c.id, g, st.change, st.at).Scan(&id, &b.Min[0], &b.Min[1], &b.Max[0], &b.Max[1]); err != nil {
		return err
	}
	st.bounds = append(st.bounds, b)
	st.touch(c.id, c.version, id)
	c.version, c.bound = id, b
	if c.parent != 0 {
		st.parents[c.parent] = true
	}
	return nil
}

const qRetireArea = `UPDATE area SET retired_at = $2, retired_change = $3 WHERE id = $1`

const qChildrenCount = `SELECT count(*) FROM area WHERE parent_id = $1 AND retired_at IS NULL`

const qEndAreaDuties = `UPDATE duty SET valid_to = ($2 AT TIME ZONE 'Asia/Shanghai')::date WHERE area_id = $1 AND (valid_to IS NULL OR valid_to > ($2 AT TIME ZONE 'Asia/Shanghai')::date)`

func (st *editState) retire(ctx context.Context, c *current) error {
	var n int
	if err := st.tx.QueryRow(ctx, qChildrenCount, c.id).Scan(&n); err != nil {
		return err
	}
	if n > 0 {
		return geo.Errorf(geo.EInvalid, "area %s still has %d current children; merge or retire them first", c.code, n)
	}
	if _, err := st.tx.Exec(ctx, qCloseVersionAt, c.version, st.at); err != nil {
		return err
	}
	if _, err := st.tx.Exec(ctx, qRetireArea, c.id, st.at, st.change); err != nil {
		return err
	}
	if _, err := st.tx.Exec(ctx, qEndAreaDuties, c.id, st.at); err != nil {
		return err
	}
	st.bounds = append(st.bounds, c.bound)
	st.touch(c.id, c.version, 0)
	st.codes = append(st.codes, geo.CodeChange{Kind: "retired", Area: c.id, Code: c.code, Name: c.name})
	if c.parent != 0 {
		st.parents[c.parent] = true
	}
	return nil
}

// qMoveBorder unites two neighbours on the precision grid, cuts the union by
// the new border (snapped to the grid and, within the snap tolerance, to the
// union's vertices, so a line drawn to a corner meets it exactly) and gives each part to the neighbour it overlapped more.
// The parts are rounded with ST_SnapToGrid, which rounds every coordinate on
// its own, so a vertex both parts share is rounded to the same grid point in
// both (ST_ReducePrecision snap-rounds per geometry and can disagree).
const qMoveBorder = `
WITH a AS (SELECT geom FROM area_version WHERE id = $1),
     b AS (SELECT geom FROM area_version WHERE id = $2),
     u AS (SELECT ST_Union(a.geom, b.geom, $4) AS g FROM a, b),
     l AS (SELECT ST_Snap(ST_SnapToGrid(ST_SetSRID(ST_GeomFromWKB($3), 4326), $4), u.g, $5) AS g FROM u),
     parts AS (SELECT (ST_Dump(ST_Split(u.g, l.g))).geom AS p FROM u, l),
     tagged AS (
        SELECT p, ST_Area(ST_Intersection(p, a.geom)) >= ST_Area(ST_Intersection(p, b.geom)) AS to_a FROM parts, a, b)
SELECT (SELECT count(*) FROM parts),
       ST_AsBinary(ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SnapToGrid(ST_Union(p) FILTER (WHERE to_a), $4)), 3))),
       ST_AsBinary(ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SnapToGrid(ST_Union(p) FILTER (WHERE NOT to_a), $4)), 3)))
FROM tagged`

// qSplitArea cuts an area by a line (snapped to the precision grid and, within
// the snap tolerance, to the area's vertices); parts largest first.
const qSplitArea = `
SELECT ST_AsBinary(ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SnapToGrid(p, $3)), 3))), ST_X(ST_PointOnSurface(p)), ST_Y(ST_PointOnSurface(p)),
       ST_YMax(p) - ST_YMin(p)
FROM (SELECT (ST_Dump(ST_Split(v.geom, ST_Snap(ST_SnapToGrid(ST_SetSRID(ST_GeomFromWKB($2), 4326), $3), v.geom, $4)))).geom AS p
      FROM area_version v WHERE v.id = $1) s
ORDER BY ST_Area(p) DESC`

// qMergeAreas unites two areas that share a border of positive length.
const qMergeAreas = `
SELECT ST_Length(ST_CollectionExtract(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom)), 2)::geography),
       ST_AsBinary(ST_Multi(ST_CollectionExtract(ST_Union(a.geom, b.geom, $3), 3)))
FROM area_version a, area_version b WHERE a.id = $1 AND b.id = $2`

const qVersionGeometry = `SELECT ST_AsBinary(geom) FROM area_version WHERE id = $1`

const qInsertLineage = `INSERT INTO area_lineage (change_id, from_area, to_area, kind) VALUES ($1, $2, $3, $4)`

const qLevelBelow = `
SELECT c.key FROM level p JOIN level c ON c.hierarchy = p.hierarchy AND c.depth = p.depth + 1 WHERE p.key = $1`

const qCreateArea = `
INSERT INTO area (level, code, name, parent_id, created_change) VALUES ($1, $2, $3, $4, $5) RETURNING id`

// createArea adds an area under parent with geometry g (snapped WKB), with
// code or, when empty, the next free one.
func (st *editState) createArea(ctx context.Context, parent *current, name, code string, g []byte, pos orb.Point, band float64) (*current, error) {
	var level string
	if err := st.tx.QueryRow(ctx, qLevelBelow, parent.level).Scan(&level); err == pgx.ErrNoRows {
		return nil, geo.Errorf(geo.EInvalid, "level %s has no level below it", parent.level)
	} else if err != nil {
		return nil, err
	}
	if code == "" {
		codes, err := nextCodes(ctx, st.tx, parent.code, []orb.Point{pos}, band)
		if err != nil {
			return nil, err
		}
		code = codes[0]
	} else if err := geo.ValidateImportedCode(code); err != nil {
		return nil, err
	}
	if strings.TrimSpace(name) == "" {
		name = code
	}
	return st.insertArea(ctx, parent, level, name, code, g)
}

// insertArea adds an area with a code it claims in the allocator.
func (st *editState) insertArea(ctx context.Context, parent *current, level, name, code string, g []byte) (*current, error) {
	if err := checkCodeFree(ctx, st.tx, code); err != nil {
		return nil, err
	}
	c := &current{parent: parent.id, level: level, code: code, name: name}
	if err := st.tx.QueryRow(ctx, qCreateArea, level, code, name, parent.id, st.change).Scan(&c.id); err != nil {
		return nil, err
	}
	if err := claimCode(ctx, st.tx, code, c.id, st.change); err != nil {
		return nil, err
	}
	st.scope.adopt(c.id)
	if err := st.setGeometry(ctx, c, g); err != nil {
		return nil, err
	}
	st.cur[c.id] = c
	st.codes = append(st.codes, geo.CodeChange{Kind: "new", Area: c.id, Code: code, Name: name})
	return c, nil
}

// repartitionOp replaces grids r.Areas of parent r.Parent by r.Parts (a
// partition, 划网格): parts that keep an area reshape it, the areas no part
// keeps are retired, the other parts are new areas with fresh codes
// (west→east, north→south); lineage from every old grid to each new part it
// overlaps. One change, revertible like any other.
type repartitionOp struct{}

func (repartitionOp) plan(ctx context.Context, st *editState) (*editPlan, error) {
	r := st.req
	if r.Parent == 0 {
		return nil, geo.Errorf(geo.EInvalid, "repartition needs parent (an area id)")
	}
	if len(r.Parts) == 0 {
		return nil, geo.Errorf(geo.EInvalid, "repartition needs at least one part")
	}
	for i, p := range r.Parts {
		if err := geo.ValidateMultiPolygon(p.Geometry); err != nil {
			return nil, geo.Errorf(geo.EInvalid, "part %d: %s", i, geo.ErrorMessage(err))
		}
		if p.Keep != 0 && !slices.ContainsFunc(r.Areas, func(v geo.VersionRef) bool { return v.ID == p.Keep }) {
			return nil, geo.Errorf(geo.EInvalid, "part %d keeps area %d, which is not among the areas replaced", i, p.Keep)
		}
	}
	// The grids a maintenance partition keeps get no new version for
	// vertices the new grids put on their edges (issue 12).
	return &editPlan{refs: r.Areas, create: r.Parent, snap: true, keepEqual: true}, nil
}

// qOverlapping lists the versions $1 a part $2 overlaps by more than $3 m².
const qOverlapping = `
SELECT v.area_id FROM area_version v
WHERE v.id = ANY($1) AND ST_Intersects(v.geom, ST_SetSRID(ST_GeomFromWKB($2), 4326))
  AND ST_Area(ST_Intersection(v.geom, ST_SetSRID(ST_GeomFromWKB($2), 4326))::geography) > $3
ORDER BY v.area_id`

func (repartitionOp) apply(ctx context.Context, st *editState) error {
	r := st.req
	parent, err := st.area(r.Parent)
	if err != nil {
		return err
	}
	var level string
	if err := st.tx.QueryRow(ctx, qLevelBelow, parent.level).Scan(&level); err == pgx.ErrNoRows {
		return geo.Errorf(geo.EInvalid, "level %s has no level below it", parent.level)
	} else if err != nil {
		return err
	}
	var oldVersions []int64
	for _, ref := range r.Areas {
		c := st.cur[ref.ID]
		if c.parent != parent.id || c.level != level {
			return geo.Errorf(geo.EInvalid, "area %s is not a %s of %s", c.code, level, parent.code)
		}
		oldVersions = append(oldVersions, c.version)
	}
	type part struct {
		g      []byte
		pos    orb.Point
		height float64
		from   []int64
	}
	// Retire first, so the parts snap to the parent and the grids that stay.
	kept := map[int64]bool{}
	for _, p := range r.Parts {
		if p.Keep != 0 {
			if kept[p.Keep] {
				return geo.Errorf(geo.EInvalid, "two parts keep area %d", p.Keep)
			}
			kept[p.Keep] = true
		}
	}
	for _, ref := range r.Areas {
		if !kept[ref.ID] {
			if err := st.retire(ctx, st.cur[ref.ID]); err != nil {
				return err
			}
		}
	}
	parts := make([]part, len(r.Parts))
	feeds := map[int64]int{} // old area → parts it overlaps
	for i, p := range r.Parts {
		// Like a drawn outline: on the grid and, within the snap tolerance,
		// on the parent's vertices (a road's node rounded next to a corner of
		// the outline becomes that corner, so no neighbour gets a vertex
		// beside its corner).
		g, err := st.inputGeometry(ctx, p.Geometry, parent.id, -1)
		if err != nil {
			return geo.Errorf(geo.EInvalid, "part %d: %s", i, geo.ErrorMessage(err))
		}
		b := p.Geometry.Bound()
		parts[i].g, parts[i].pos, parts[i].height = g, b.Center(), b.Max[1]-b.Min[1]
		rows, err := st.tx.Query(ctx, qOverlapping, oldVersions, parts[i].g, 1.0)
		if err != nil {
			return err
		}
		if parts[i].from, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
			return err
		}
		for _, f := range parts[i].from {
			feeds[f]++
		}
	}
	var fresh []int
	var pts []orb.Point
	heights := make([]float64, 0, len(parts))
	for i, p := range r.Parts {
		heights = append(heights, parts[i].height)
		if p.Keep != 0 {
			if err := st.setGeometry(ctx, st.cur[p.Keep], parts[i].g); err != nil {
				return err
			}
			continue
		}
		fresh = append(fresh, i)
		pts = append(pts, parts[i].pos)
	}
	slices.Sort(heights)
	codes, err := nextCodes(ctx, st.tx, parent.code, pts, heights[len(heights)/2]/2)
	if err != nil {
		return err
	}
	ids := make([]int64, len(r.Parts))
	for i, p := range r.Parts {
		ids[i] = p.Keep
	}
	for j, i := range fresh {
		name := r.Parts[i].Name
		if strings.TrimSpace(name) == "" {
			name = codes[j]
		}
		nc, err := st.insertArea(ctx, parent, level, name, codes[j], parts[i].g)
		if err != nil {
			return err
		}
		ids[i] = nc.id
	}
	for i := range r.Parts {
		for _, f := range parts[i].from {
			if f == ids[i] {
				continue
			}
			kind := "merge"
			if feeds[f] > 1 {
				kind = "split"
			}
			st.lineage = append(st.lineage, geo.LineageRecord{From: f, To: ids[i], Kind: kind})
		}
	}
	return nil
}
