package data

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"gridmap/geo"
)

// GridSize is the precision grid every edited geometry is snapped to, in
// degrees (1e-7° ≈ 1 cm). Shared borders stay exact because both neighbours'
// vertices come from one overlay and are rounded to the same grid points; see
// docs/editing.md.
const GridSize = 1e-7

// Editor changes areas and duties. Every write is one transaction that locks
// the parents of the areas it touches (so edits within one community are
// serialised and validated against each other), writes new versions, assigns
// buildings to grids, records the change and announces it.
type Editor struct {
	db *DB
	// Tolerance is how far, in metres, children may stick out of their parent
	// or overlap each other, and how narrow a gap may be, without an error.
	Tolerance float64
}

// NewEditor returns an Editor on db with a tolerance of 0.5 m.
func NewEditor(db *DB) *Editor { return &Editor{db: db, Tolerance: 0.5} }

var _ geo.EditService = (*Editor)(nil)

// ReshapeArea gives one area a new geometry; it is Apply with OpReshape.
func (e *Editor) ReshapeArea(ctx context.Context, r geo.ReshapeRequest) (*geo.EditResult, error) {
	return e.Apply(ctx, geo.EditRequest{Op: geo.OpReshape, Areas: []geo.VersionRef{{ID: r.AreaID, Version: r.BaseVersionID}},
		Geometry: r.Geometry, Author: r.Author, Reason: r.Reason})
}

// Preview runs the edit and rolls it back, returning validation and impact.
func (e *Editor) Preview(ctx context.Context, r geo.EditRequest) (*geo.EditPreview, error) {
	res, err := e.run(ctx, r, false)
	if err != nil {
		return nil, err
	}
	return &res.EditPreview, nil
}

// Apply commits the edit when it validates.
func (e *Editor) Apply(ctx context.Context, r geo.EditRequest) (*geo.EditResult, error) {
	return e.run(ctx, r, true)
}

// editState is one edit in progress inside its transaction.
type editState struct {
	tx      pgx.Tx
	change  int64
	at      time.Time
	touched map[int64]*geo.ChangeArea
	order   []int64
	parents map[int64]bool
	lineage []geo.LineageRecord
	codes   []geo.CodeChange
	bounds  []orb.Bound
}

func (st *editState) touch(id, before, after int64) {
	t, ok := st.touched[id]
	if !ok {
		t = &geo.ChangeArea{Area: geo.AreaRef{ID: id}, Before: before}
		st.touched[id] = t
		st.order = append(st.order, id)
	}
	t.After = after
}

// current is an area's current state, locked.
type current struct {
	id, version, parent int64
	level, code, name   string
	bound               orb.Bound
}

const qLockParent = `SELECT id FROM area WHERE id = $1 FOR UPDATE`

const qCurrentForUpdate = `
SELECT a.id, coalesce(v.id, 0), coalesce(a.parent_id, 0), a.level, a.code, a.name,
       coalesce(ST_XMin(v.geom), 0), coalesce(ST_YMin(v.geom), 0), coalesce(ST_XMax(v.geom), 0), coalesce(ST_YMax(v.geom), 0)
FROM area a LEFT JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL
WHERE a.id = $1 AND a.retired_at IS NULL
FOR UPDATE OF a`

const qParentOf = `SELECT coalesce(parent_id, 0) FROM area WHERE id = $1`

// lock takes the parents' row locks, then the areas', in id order, and
// checks the versions the request was based on.
func (e *Editor) lock(ctx context.Context, st *editState, refs []geo.VersionRef, extraParents ...int64) (map[int64]*current, error) {
	parents := map[int64]bool{}
	for _, p := range extraParents {
		if p != 0 {
			parents[p] = true
		}
	}
	for _, r := range refs {
		var p int64
		if err := st.tx.QueryRow(ctx, qParentOf, r.ID).Scan(&p); err == pgx.ErrNoRows {
			return nil, geo.Errorf(geo.ENotFound, "no area with id %d", r.ID)
		} else if err != nil {
			return nil, err
		}
		if p != 0 {
			parents[p] = true
		}
	}
	ps := make([]int64, 0, len(parents))
	for p := range parents {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	for _, p := range ps {
		if _, err := st.tx.Exec(ctx, qLockParent, p); err != nil {
			return nil, err
		}
		st.parents[p] = true
	}
	ids := make([]geo.VersionRef, len(refs))
	copy(ids, refs)
	sort.Slice(ids, func(i, j int) bool { return ids[i].ID < ids[j].ID })
	out := map[int64]*current{}
	var stale []geo.VersionRef
	for _, r := range ids {
		var c current
		err := st.tx.QueryRow(ctx, qCurrentForUpdate, r.ID).Scan(&c.id, &c.version, &c.parent, &c.level, &c.code, &c.name,
			&c.bound.Min[0], &c.bound.Min[1], &c.bound.Max[0], &c.bound.Max[1])
		if err == pgx.ErrNoRows {
			return nil, geo.Errorf(geo.EConflict, "area %d is retired", r.ID)
		}
		if err != nil {
			return nil, err
		}
		if r.Version != 0 && r.Version != c.version {
			stale = append(stale, geo.VersionRef{ID: c.id, Version: c.version})
		}
		out[c.id] = &c
	}
	if len(stale) > 0 {
		msg := make([]string, len(stale))
		for i, s := range stale {
			msg[i] = fmt.Sprintf("area %d is now at version %d", s.ID, s.Version)
		}
		return nil, &geo.Error{Code: geo.EConflict, Message: "changed meanwhile by someone else: " + strings.Join(msg, ", "),
			Details: map[string]any{"current": stale}}
	}
	if err := st.tx.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&st.at); err != nil {
		return nil, err
	}
	return out, nil
}

// qInputGeometry checks a client geometry and snaps it to the precision grid.
const qInputGeometry = `
SELECT ST_IsValid(g), coalesce(ST_IsValidReason(g), ''),
       ST_AsBinary(ST_Multi(ST_CollectionExtract(ST_ReducePrecision(g, $2), 3)))
FROM (SELECT ST_SetSRID(ST_GeomFromWKB($1), 4326) AS g) s`

func inputGeometry(ctx context.Context, tx pgx.Tx, mp orb.MultiPolygon) ([]byte, error) {
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
	if err := tx.QueryRow(ctx, qInputGeometry, raw, GridSize).Scan(&valid, &reason, &out); err != nil {
		return nil, err
	}
	if !valid {
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
		if _, err := st.tx.Exec(ctx, qCloseVersionAt, c.version, st.at); err != nil {
			return err
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

const qCodeEverUsed = `SELECT EXISTS (SELECT 1 FROM area WHERE code = $1) OR EXISTS (SELECT 1 FROM area_code_history WHERE code = $1)`

const qCodesUnder = `SELECT code FROM area WHERE code LIKE $1 ESCAPE '\' UNION SELECT code FROM area_code_history WHERE code LIKE $1 ESCAPE '\'`

// nextCodes returns n fresh codes under parent, for parts at pts (numbered
// west→east, then north→south).
func (st *editState) nextCodes(ctx context.Context, parent *current, pts []orb.Point, band float64) ([]string, error) {
	rows, err := st.tx.Query(ctx, qCodesUnder, escapeLike(parent.code)+"%")
	if err != nil {
		return nil, err
	}
	used, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return nil, err
	}
	out := make([]string, len(pts))
	stat := geo.ValidateStatCode(parent.code) == nil
	next := nextDashSequence(parent.code, used)
	if stat {
		if next, err = geo.NextGridSequence(parent.code, used); err != nil {
			return nil, err
		}
	}
	for _, i := range geo.SequenceOrder(pts, band) {
		if stat {
			if out[i], err = geo.GridCode(parent.code, next); err != nil {
				return nil, err
			}
		} else {
			out[i] = fmt.Sprintf("%s-%03d", parent.code, next)
		}
		next++
	}
	return out, nil
}

const qCreateArea = `
INSERT INTO area (level, code, name, parent_id, created_change) VALUES ($1, $2, $3, $4, $5) RETURNING id`

// createArea adds an area under parent with geometry g (snapped WKB).
func (st *editState) createArea(ctx context.Context, parent *current, name, code string, g []byte, pos orb.Point, band float64) (*current, error) {
	var level string
	if err := st.tx.QueryRow(ctx, qLevelBelow, parent.level).Scan(&level); err == pgx.ErrNoRows {
		return nil, geo.Errorf(geo.EInvalid, "level %s has no level below it", parent.level)
	} else if err != nil {
		return nil, err
	}
	if code == "" {
		codes, err := st.nextCodes(ctx, parent, []orb.Point{pos}, band)
		if err != nil {
			return nil, err
		}
		code = codes[0]
	} else {
		if err := geo.ValidateImportedCode(code); err != nil {
			return nil, err
		}
		var used bool
		if err := st.tx.QueryRow(ctx, qCodeEverUsed, code).Scan(&used); err != nil {
			return nil, err
		}
		if used {
			return nil, geo.Errorf(geo.EConflict, "code %s is or was in use; codes are never reused", code)
		}
	}
	if strings.TrimSpace(name) == "" {
		name = code
	}
	c := &current{parent: parent.id, level: level, code: code, name: name}
	if err := st.tx.QueryRow(ctx, qCreateArea, level, code, name, parent.id, st.change).Scan(&c.id); err != nil {
		return nil, err
	}
	if err := st.setGeometry(ctx, c, g); err != nil {
		return nil, err
	}
	st.codes = append(st.codes, geo.CodeChange{Kind: "new", Area: c.id, Code: code, Name: name})
	return c, nil
}

// apply performs the operation on the locked state.
func (e *Editor) apply(ctx context.Context, st *editState, r geo.EditRequest) error {
	need := func(n int) error {
		if len(r.Areas) != n {
			return geo.Errorf(geo.EInvalid, "%s needs exactly %d area(s) in areas, got %d", r.Op, n, len(r.Areas))
		}
		return nil
	}
	switch r.Op {
	case geo.OpCreate:
		if r.Parent == 0 {
			return geo.Errorf(geo.EInvalid, "create needs parent (an area id)")
		}
		cs, err := e.lock(ctx, st, []geo.VersionRef{{ID: r.Parent}}, r.Parent)
		if err != nil {
			return err
		}
		g, err := inputGeometry(ctx, st.tx, r.Geometry)
		if err != nil {
			return err
		}
		c := r.Geometry.Bound().Center()
		_, err = st.createArea(ctx, cs[r.Parent], r.Name, r.Code, g, c, 0)
		return err

	case geo.OpReshape:
		if err := need(1); err != nil {
			return err
		}
		cs, err := e.lock(ctx, st, r.Areas)
		if err != nil {
			return err
		}
		g, err := inputGeometry(ctx, st.tx, r.Geometry)
		if err != nil {
			return err
		}
		return st.setGeometry(ctx, cs[r.Areas[0].ID], g)

	case geo.OpMoveBorder:
		if err := need(2); err != nil {
			return err
		}
		line, err := lineWKB(r.Line)
		if err != nil {
			return err
		}
		cs, err := e.lock(ctx, st, r.Areas)
		if err != nil {
			return err
		}
		a, b := cs[r.Areas[0].ID], cs[r.Areas[1].ID]
		if a.parent != b.parent {
			return geo.Errorf(geo.EInvalid, "%s and %s have different parents; a shared border moves only between siblings", a.code, b.code)
		}
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
		if err := st.setGeometry(ctx, b, gb); err != nil {
			return err
		}
		return st.snapNeighbours(ctx)

	case geo.OpSplit:
		if err := need(1); err != nil {
			return err
		}
		line, err := lineWKB(r.Line)
		if err != nil {
			return err
		}
		cs, err := e.lock(ctx, st, r.Areas)
		if err != nil {
			return err
		}
		a := cs[r.Areas[0].ID]
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
		if a.parent == 0 {
			return geo.Errorf(geo.EInvalid, "a top-level area cannot be split")
		}
		pcs, err := lockArea(ctx, st.tx, a.parent) // the parent, for its code
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
		codes, err := st.nextCodes(ctx, pcs, pts, parts[0].height/2)
		if err != nil {
			return err
		}
		for i, part := range parts[1:] {
			name := fmt.Sprintf("%s-%d", a.name, i+2)
			if i < len(r.Names) && strings.TrimSpace(r.Names[i]) != "" {
				name = r.Names[i]
			}
			nc, err := st.createAreaWithCode(ctx, pcs, a.level, name, codes[i], part.g)
			if err != nil {
				return err
			}
			st.lineage = append(st.lineage, geo.LineageRecord{From: a.id, To: nc.id, Kind: "split"})
		}
		return st.snapNeighbours(ctx)

	case geo.OpMerge:
		if err := need(2); err != nil {
			return err
		}
		cs, err := e.lock(ctx, st, r.Areas)
		if err != nil {
			return err
		}
		a, b := cs[r.Areas[0].ID], cs[r.Areas[1].ID]
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

	case geo.OpRetire:
		if err := need(1); err != nil {
			return err
		}
		cs, err := e.lock(ctx, st, r.Areas)
		if err != nil {
			return err
		}
		return st.retire(ctx, cs[r.Areas[0].ID])

	case geo.OpRevert:
		return e.revert(ctx, st, r.Change)
	}
	return geo.Errorf(geo.EInvalid, "op must be one of create, reshape, move_border, split, merge, retire, revert; got %q", r.Op)
}

// snapTolerance is how close (degrees, ≈ 2 cm) a new vertex must lie to a
// neighbour's edge to be inserted into it.
const snapTolerance = 2e-7

// qSnapNeighbours inserts the vertices of the changed areas into every other
// current area of the hierarchy whose edges they lie on (within the snap
// tolerance): where a cut or a new border meets an edge shared with a
// neighbour, the neighbour gets the same vertex, so borders stay shared
// vertex for vertex. Only areas that gain vertices are returned.
const qSnapNeighbours = `
WITH ref AS (SELECT ST_Collect(v.geom) AS g FROM area_version v WHERE v.id = ANY($1)),
     cand AS (
        SELECT a.id, v.id AS version, v.geom,
               ST_Multi(ST_CollectionExtract(ST_Snap(v.geom, ref.g, $3), 3)) AS snapped
        FROM ref, area a
        JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL
        WHERE a.retired_at IS NULL AND NOT (a.id = ANY($2)) AND v.geom && ST_Expand(ref.g, $3))
SELECT id FROM cand WHERE ST_NPoints(snapped) > ST_NPoints(geom) AND ST_IsValid(snapped)`

const qSnapOne = `
SELECT ST_AsBinary(ST_Multi(ST_CollectionExtract(ST_Snap(v.geom, (SELECT ST_Collect(geom) FROM area_version WHERE id = ANY($2)), $3), 3)))
FROM area_version v WHERE v.id = $1`

// snapNeighbours gives neighbours the new vertices of the changed areas.
func (st *editState) snapNeighbours(ctx context.Context) error {
	var versions, ids []int64
	for _, id := range st.order {
		if t := st.touched[id]; t.After != 0 {
			versions = append(versions, t.After)
		}
		ids = append(ids, id)
	}
	rows, err := st.tx.Query(ctx, qSnapNeighbours, versions, ids, snapTolerance)
	if err != nil {
		return err
	}
	nbrs, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return err
	}
	for _, id := range nbrs {
		c, err := lockArea(ctx, st.tx, id)
		if err != nil {
			return err
		}
		var g []byte
		if err := st.tx.QueryRow(ctx, qSnapOne, c.version, versions, snapTolerance).Scan(&g); err != nil {
			return err
		}
		if err := st.setGeometry(ctx, c, g); err != nil {
			return err
		}
	}
	return nil
}

func lockArea(ctx context.Context, tx pgx.Tx, id int64) (*current, error) {
	var c current
	err := tx.QueryRow(ctx, qCurrentForUpdate, id).Scan(&c.id, &c.version, &c.parent, &c.level, &c.code, &c.name,
		&c.bound.Min[0], &c.bound.Min[1], &c.bound.Max[0], &c.bound.Max[1])
	return &c, err
}

func (st *editState) createAreaWithCode(ctx context.Context, parent *current, level, name, code string, g []byte) (*current, error) {
	c := &current{parent: parent.id, level: level, code: code, name: name}
	if err := st.tx.QueryRow(ctx, qCreateArea, level, code, name, parent.id, st.change).Scan(&c.id); err != nil {
		return nil, err
	}
	if err := st.setGeometry(ctx, c, g); err != nil {
		return nil, err
	}
	st.codes = append(st.codes, geo.CodeChange{Kind: "new", Area: c.id, Code: code, Name: name})
	return c, nil
}

const qChangeAreas = `SELECT area_id, coalesce(before_version, 0), coalesce(after_version, 0) FROM change_area WHERE change_id = $1 ORDER BY area_id`

const qChangeOperation = `SELECT operation FROM change WHERE id = $1`

const qUnretire = `UPDATE area SET retired_at = NULL, retired_change = NULL WHERE id = $1
RETURNING coalesce(parent_id, 0), level, code, name`

const qAreaVersionOf = `SELECT coalesce((SELECT id FROM area_version WHERE area_id = $1 AND valid_to IS NULL), 0)`

// revert restores what change `id` changed: areas it created are retired,
// areas it retired come back, and every other area gets its before geometry.
// Each area must still be at the version the change left it in.
func (e *Editor) revert(ctx context.Context, st *editState, id int64) error {
	var op string
	if err := st.tx.QueryRow(ctx, qChangeOperation, id).Scan(&op); err == pgx.ErrNoRows {
		return geo.Errorf(geo.ENotFound, "no change %d", id)
	} else if err != nil {
		return err
	}
	if !strings.HasPrefix(op, "area.") || op == "area.rename" {
		return geo.Errorf(geo.EInvalid, "change %d (%s) is not a boundary edit and cannot be reverted here", id, op)
	}
	rows, err := st.tx.Query(ctx, qChangeAreas, id)
	if err != nil {
		return err
	}
	var cas []geo.ChangeArea
	var ca geo.ChangeArea
	if _, err := pgx.ForEachRow(rows, []any{&ca.Area.ID, &ca.Before, &ca.After}, func() error { cas = append(cas, ca); return nil }); err != nil {
		return err
	}
	if len(cas) == 0 {
		return geo.Errorf(geo.EInvalid, "change %d touched no area geometry", id)
	}
	// Lock parents and check every area is where the change left it.
	var refs []geo.VersionRef
	var parents []int64
	for _, ca := range cas {
		var p int64
		if err := st.tx.QueryRow(ctx, qParentOf, ca.Area.ID).Scan(&p); err != nil {
			return err
		}
		parents = append(parents, p)
	}
	sort.Slice(parents, func(i, j int) bool { return parents[i] < parents[j] })
	for _, p := range parents {
		if p != 0 {
			if _, err := st.tx.Exec(ctx, qLockParent, p); err != nil {
				return err
			}
		}
	}
	for _, ca := range cas {
		var cur int64
		if err := st.tx.QueryRow(ctx, qAreaVersionOf, ca.Area.ID).Scan(&cur); err != nil {
			return err
		}
		if cur != ca.After {
			return &geo.Error{Code: geo.EConflict, Message: fmt.Sprintf("area %d changed after change %d (now at version %d); revert the later change first", ca.Area.ID, id, cur)}
		}
		if ca.After != 0 {
			refs = append(refs, geo.VersionRef{ID: ca.Area.ID, Version: ca.After})
		}
	}
	cs, err := e.lock(ctx, st, refs)
	if err != nil {
		return err
	}
	// Retire what the change created first (children of nobody), then restore.
	for _, ca := range cas {
		if ca.Before == 0 {
			if err := st.retire(ctx, cs[ca.Area.ID]); err != nil {
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
		c := cs[ca.Area.ID]
		if ca.After == 0 {
			c = &current{id: ca.Area.ID}
			if err := st.tx.QueryRow(ctx, qUnretire, ca.Area.ID).Scan(&c.parent, &c.level, &c.code, &c.name); err != nil {
				return err
			}
			st.codes = append(st.codes, geo.CodeChange{Kind: "restored", Area: c.id, Code: c.code, Name: c.name})
		}
		if err := st.setGeometry(ctx, c, g); err != nil {
			return err
		}
	}
	return nil
}

func (e *Editor) run(ctx context.Context, r geo.EditRequest, commit bool) (*geo.EditResult, error) {
	tx, err := e.db.Pool.Begin(ctx)
	if err != nil {
		return nil, dbErr("data.Edit", err)
	}
	defer tx.Rollback(ctx)
	author := r.Author
	if author == "" {
		author = "system"
	}
	st := &editState{tx: tx, touched: map[int64]*geo.ChangeArea{}, parents: map[int64]bool{}}
	detail := map[string]any{"op": r.Op, "areas": r.Areas}
	if r.Change != 0 {
		detail["reverts"] = r.Change
	}
	if err := tx.QueryRow(ctx, qInsertChange, author, "area."+r.Op, r.Reason, detail).Scan(&st.change); err != nil {
		return nil, dbErr("data.Edit", err)
	}
	// Snapshot grid assignments before the edit, to report who moves.
	if _, err := tx.Exec(ctx, qSnapshotCreate); err != nil {
		return nil, dbErr("data.Edit", err)
	}
	if err := e.apply(ctx, st, r); err != nil {
		return nil, dbErr("data.Edit", err)
	}
	res := &geo.EditResult{ChangeID: st.change}
	if err := e.validate(ctx, st, &res.EditPreview); err != nil {
		return nil, dbErr("data.Edit", err)
	}
	if !commit {
		return res, nil
	}
	if !res.Valid {
		return nil, &geo.Error{Code: geo.EValidation, Message: summarise(res.Errors), Details: &res.EditPreview}
	}
	for _, id := range st.order {
		t := st.touched[id]
		res.Versions = append(res.Versions, geo.VersionRef{ID: id, Version: t.After})
		if _, err := tx.Exec(ctx, qInsertChangeArea, st.change, id, nullIfZero(t.Before), nullIfZero(t.After)); err != nil {
			return nil, dbErr("data.Edit", err)
		}
	}
	if len(res.Versions) > 0 {
		res.VersionID = res.Versions[0].Version
	}
	for _, l := range st.lineage {
		if _, err := tx.Exec(ctx, qInsertLineage, st.change, l.From, l.To, l.Kind); err != nil {
			return nil, dbErr("data.Edit", err)
		}
	}
	if err := announce(ctx, tx, geo.ChangeEvent{Change: st.change, Layer: geo.LayerAreas, Areas: st.order, Bounds: st.bounds}); err != nil {
		return nil, dbErr("data.Edit", err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, dbErr("data.Edit", err)
	}
	return res, nil
}

func nullIfZero(v int64) *int64 {
	if v == 0 {
		return nil
	}
	return &v
}

func summarise(issues []geo.Issue) string {
	msgs := make([]string, 0, len(issues))
	for _, is := range issues {
		msgs = append(msgs, is.Message)
		if len(msgs) == 3 {
			break
		}
	}
	more := ""
	if len(issues) > 3 {
		more = fmt.Sprintf(" (and %d more)", len(issues)-3)
	}
	return "the edit does not validate: " + strings.Join(msgs, "; ") + more
}

const qInsertChangeArea = `INSERT INTO change_area (change_id, area_id, before_version, after_version) VALUES ($1, $2, $3, $4)`

const qSnapshotCreate = `CREATE TEMP TABLE edit_before (id bigint PRIMARY KEY, grid_id bigint) ON COMMIT DROP`

// qSnapshotBounds records the grid of every building inside the bounds of the
// old and new geometries the edit touched.
const qSnapshotBounds = `
INSERT INTO edit_before (id, grid_id)
SELECT b.id, b.grid_id FROM building b WHERE b.geom && ST_MakeEnvelope($1, $2, $3, $4, 4326)
ON CONFLICT DO NOTHING`

// validate checks the state after the edit and measures its impact.
func (e *Editor) validate(ctx context.Context, st *editState, p *geo.EditPreview) error {
	p.Errors, p.Warnings, p.Moves, p.Codes = []geo.Issue{}, []geo.Issue{}, []geo.Move{}, st.codes
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
	outside, err := collect(qOutsideParent, issue("outside_parent", "%s sticks out of its parent by %.1f m²"), changed, tol)
	if err != nil {
		return err
	}
	overlaps, err := collect(qOverlaps, issue("overlap", "%s overlap by %.1f m²"), changed, tol)
	if err != nil {
		return err
	}
	p.Errors = append(append(p.Errors, outside...), overlaps...)
	for _, parent := range parents {
		rows, err := st.tx.Query(ctx, qGaps, parent, tol, st.at)
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
			is.Message = fmt.Sprintf("a gap of %.1f m² inside %s is covered by none of its children", is.AreaM2, code)
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
		u := st.bounds[0]
		for _, b := range st.bounds[1:] {
			u = u.Union(b)
		}
		if _, err := st.tx.Exec(ctx, qSnapshotBounds, u.Min[0], u.Min[1], u.Max[0], u.Max[1]); err != nil {
			return err
		}
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
	}
	var fc []byte
	if err := st.tx.QueryRow(ctx, qResultGeoJSON, changed).Scan(&fc); err != nil {
		return err
	}
	p.Result = fc
	p.Valid = len(p.Errors) == 0
	return nil
}

// qOutsideParent: the parts of changed areas outside their parent, wider than the tolerance.
const qOutsideParent = `
SELECT ARRAY[a.code], ST_AsGeoJSON(x, 7), ST_Area(x::geography)
FROM area a
JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL
JOIN area_version pv ON pv.area_id = a.parent_id AND pv.valid_to IS NULL,
LATERAL (SELECT ST_CollectionExtract(ST_Difference(v.geom, pv.geom), 3) AS x) d
WHERE a.id = ANY($1) AND a.retired_at IS NULL AND NOT ST_IsEmpty(x)
  AND NOT ST_IsEmpty(ST_Buffer(x::geography, -($2::float8))::geometry)`

// qOverlaps: overlaps between a changed area and its current siblings, wider than the tolerance.
const qOverlaps = `
SELECT ARRAY[a.code, s.code], ST_AsGeoJSON(x, 7), ST_Area(x::geography)
FROM area a
JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL
JOIN area s ON s.parent_id = a.parent_id AND s.id <> a.id AND s.retired_at IS NULL
JOIN area_version sv ON sv.area_id = s.id AND sv.valid_to IS NULL AND sv.geom && v.geom,
LATERAL (SELECT ST_CollectionExtract(ST_Intersection(v.geom, sv.geom), 3) AS x) d
WHERE a.id = ANY($1) AND a.retired_at IS NULL AND NOT (s.id = ANY($1) AND s.id < a.id)
  AND NOT ST_IsEmpty(x) AND NOT ST_IsEmpty(ST_Buffer(x::geography, -($2::float8))::geometry)`

// qGaps: parts of a parent covered by none of its current children, wider
// than the tolerance; new when not already a gap just before the edit ($3).
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
       NOT ST_IsEmpty(ST_Buffer(ST_CollectionExtract(ST_Difference(gap.g, before_gap.g), 3)::geography, -($2::float8))::geometry),
       p.gaps_are_errors
FROM p, gap, before_gap
WHERE NOT ST_IsEmpty(ST_Buffer(gap.g::geography, -($2::float8))::geometry)`

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
