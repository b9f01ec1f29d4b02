package data

import (
	"context"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"

	"gridmap/geo"
)

// actorScope is what an edit's actor may change: everything (the system,
// admins, unscoped accounts) or the areas strictly below the scope area.
type actorScope struct {
	user  *geo.User
	all   bool
	below map[int64]bool
}

const qSubtree = `
WITH RECURSIVE sub AS (
    SELECT id FROM area WHERE parent_id = $1
    UNION ALL
    SELECT a.id FROM area a JOIN sub ON a.parent_id = sub.id)
SELECT id FROM sub`

// loadScope reads the actor's subtree (strictly below its scope area).
func loadScope(ctx context.Context, tx pgx.Tx, u *geo.User) (*actorScope, error) {
	s := &actorScope{user: u, below: map[int64]bool{}}
	if u == nil || (u.Role != geo.UserViewer && (u.Role == geo.UserAdmin || u.ScopeAreaID == 0)) {
		s.all = true
		return s, nil
	}
	rows, err := tx.Query(ctx, qSubtree, u.ScopeAreaID)
	if err != nil {
		return nil, err
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		s.below[id] = true
	}
	return s, nil
}

func (s *actorScope) covers(id int64) bool { return s.all || s.below[id] }

// adopt puts an area the edit creates (under an area it may change or under
// the scope area itself) into the scope.
func (s *actorScope) adopt(id int64) { s.below[id] = true }

const qAreaCode = `SELECT code FROM area WHERE id = $1`

// forbidden is the 403 naming an area outside the actor's scope.
func (s *actorScope) forbidden(ctx context.Context, tx pgx.Tx, id int64, why string) error {
	var code string
	_ = tx.QueryRow(ctx, qAreaCode, id).Scan(&code)
	name, scope := "", ""
	if s.user != nil {
		name, scope = s.user.Name, s.user.ScopeCode
	}
	return &geo.Error{Code: geo.EForbidden,
		Message: fmt.Sprintf("area %s (%d) is outside the scope of account %s (%s)%s", code, id, name, scope, why),
		Details: map[string]any{"area": map[string]any{"id": id, "code": code}, "scope": scope}}
}

// authorize checks the plan against the actor before anything is locked:
// every area the operation writes lies strictly below the scope area, and a
// new area's parent is the scope area or below it. A revert is checked per
// area after applying (checkTouched), since whoever may revert a change may
// undo its geometry-keeping vertex insertions outside the scope too.
func (s *actorScope) authorize(ctx context.Context, tx pgx.Tx, pl *editPlan, ids []int64) error {
	if s.user != nil && s.user.Role == geo.UserViewer {
		return geo.Errorf(geo.EForbidden, "account %s may only read", s.user.Name)
	}
	if s.all {
		return nil
	}
	if pl.create != 0 && pl.create != s.user.ScopeAreaID && !s.covers(pl.create) {
		return s.forbidden(ctx, tx, pl.create, ": new areas go only under the scope area or below it")
	}
	if pl.deferAuth {
		ids = pl.named
	}
	for _, id := range ids {
		if !s.covers(id) {
			return s.forbidden(ctx, tx, id, "")
		}
	}
	return nil
}

// qKeepsGeometry reports whether version $2 of an area keeps the geometry
// of version $1: every vertex of one is a vertex of the other (inserted or,
// by a revert, removed vertices only; "is" allowing $4, floating-point
// noise far below the grid) and no vertex lies farther than $3 from the
// other's boundary.
const qKeepsGeometry = `
WITH o AS (SELECT ST_Points(geom) AS p, geom FROM area_version WHERE id = $1),
     n AS (SELECT ST_Points(geom) AS p, geom FROM area_version WHERE id = $2)
SELECT (NOT EXISTS (SELECT 1 FROM ST_Dump(o.p) d WHERE NOT ST_DWithin(d.geom, n.p, $4))
        OR NOT EXISTS (SELECT 1 FROM ST_Dump(n.p) d WHERE NOT ST_DWithin(d.geom, o.p, $4)))
       AND ST_HausdorffDistance(ST_Boundary(o.geom), ST_Boundary(n.geom)) <= $3
FROM o, n`

// checkTouched is the one exception to the scope, checked: an area outside
// the actor's scope may only have been given (or, by a revert, lost)
// vertices that keep its geometry. Anything else is a 403 naming it.
func (s *actorScope) checkTouched(ctx context.Context, st *editState) error {
	if s.all {
		return nil
	}
	for _, id := range st.order {
		if s.covers(id) {
			continue
		}
		t := st.touched[id]
		if t.Before == 0 || t.After == 0 {
			return s.forbidden(ctx, st.tx, id, ": the edit would create, retire or restore it")
		}
		var keeps bool
		if err := st.tx.QueryRow(ctx, qKeepsGeometry, t.Before, t.After, keepTolerance, 1e-9).Scan(&keeps); err != nil {
			return err
		}
		if !keeps {
			return s.forbidden(ctx, st.tx, id, ": the edit would change its geometry, not only insert vertices on its edges")
		}
	}
	return nil
}

// qNeighbourCandidates finds the areas whose vertices an edit of areas $1
// (and of geometry $2, the request's outline or line) may have to change:
// current areas of the same hierarchy whose boundary comes near them. Which
// of them may really change, and by how much, is the actor's scope's
// business (snapNeighbours, checkTouched).
const qNeighbourCandidates = `
WITH ref AS (
    SELECT ST_Expand(v.geom, $3) AS g FROM area_version v WHERE v.area_id = ANY($1) AND v.valid_to IS NULL
    UNION ALL
    SELECT ST_Expand(ST_SetSRID(ST_GeomFromWKB($2), 4326), $3) WHERE $2::bytea IS NOT NULL),
h AS (SELECT DISTINCT l.hierarchy FROM area a JOIN level l ON l.key = a.level WHERE a.id = ANY($1) OR a.id = ANY($4))
SELECT DISTINCT a.id FROM ref
JOIN area_version v ON v.valid_to IS NULL AND v.geom && ref.g
JOIN area a ON a.id = v.area_id AND a.retired_at IS NULL
JOIN level l ON l.key = a.level AND l.hierarchy IN (SELECT hierarchy FROM h)
WHERE NOT a.id = ANY($1) AND ST_Intersects(ST_Boundary(v.geom), ref.g)
ORDER BY a.id`

func (st *editState) neighbours(ctx context.Context, ids, parents []int64, near []byte) ([]int64, error) {
	rows, err := st.tx.Query(ctx, qNeighbourCandidates, ids, near, snapTolerance, parents)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// qSnapNeighbours inserts the vertices of the changed versions $1 into the
// candidates $2 whose edges they lie on: within the snap tolerance $4 for
// areas in the actor's scope ($3), within the grid's rounding $5 for the
// others (the one exception to the scope: a vertex insertion that keeps the
// geometry, checked afterwards by checkTouched). Only areas that gain
// vertices, and stay valid, are returned.
const qSnapNeighbours = `
WITH ref AS (SELECT ST_Collect(geom) AS g FROM area_version WHERE id = ANY($1))
SELECT v.area_id, v.id, ST_AsBinary(s) FROM ref, area_version v,
LATERAL (SELECT ST_Multi(ST_CollectionExtract(ST_Snap(v.geom, ref.g, CASE WHEN v.area_id = ANY($3) THEN $4::float8 ELSE $5::float8 END), 3)) AS s) x
WHERE v.area_id = ANY($2) AND v.valid_to IS NULL AND v.geom && ST_Expand(ref.g, $4)
  AND ST_NPoints(s) > ST_NPoints(v.geom) AND ST_IsValid(s) AND NOT ($6 AND ST_Equals(s, v.geom))
ORDER BY v.area_id`

// snapNeighbours gives neighbours the new vertices of the changed areas, so
// borders stay shared vertex for vertex. The candidates are found again on
// the changed geometries; one that was not locked (the neighbourhood
// changed between planning and locking) makes the runner start over with it.
// With keepEqual a neighbour whose snapped geometry equals the old one keeps
// its version (editPlan.keepEqual).
func (st *editState) snapNeighbours(ctx context.Context, parents []int64, keepEqual bool) error {
	var versions, ids []int64
	for _, id := range st.order {
		if t := st.touched[id]; t.After != 0 {
			versions = append(versions, t.After)
		}
		ids = append(ids, id)
	}
	if len(versions) == 0 {
		return nil
	}
	cands, err := st.neighbours(ctx, ids, parents, nil)
	if err != nil {
		return err
	}
	var missing, covered []int64
	for _, id := range cands {
		if !st.locked[id] {
			missing = append(missing, id)
		}
		if st.scope.covers(id) {
			covered = append(covered, id)
		}
	}
	if len(missing) > 0 {
		return &errReplan{more: missing}
	}
	rows, err := st.tx.Query(ctx, qSnapNeighbours, versions, cands, covered, snapTolerance, keepTolerance, keepEqual)
	if err != nil {
		return err
	}
	type snapped struct {
		id, version int64
		g           []byte
	}
	var out []snapped
	var s snapped
	if _, err := pgx.ForEachRow(rows, []any{&s.id, &s.version, &s.g}, func() error {
		out = append(out, snapped{s.id, s.version, slices.Clone(s.g)})
		return nil
	}); err != nil {
		return err
	}
	for _, s := range out {
		c := st.cur[s.id]
		if c == nil || c.version != s.version {
			return &errReplan{more: []int64{s.id}}
		}
		if err := st.setGeometry(ctx, c, s.g); err != nil {
			return err
		}
	}
	return nil
}
