package data

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/paulmach/orb"

	"gridmap/geo"
)

// GridSize is the precision grid every edited geometry is snapped to, in
// degrees (1e-7° ≈ 1 cm). Shared borders stay exact because both neighbours'
// vertices come from one overlay and are rounded to the same grid points; see
// docs/editing.md.
const GridSize = 1e-7

// snapTolerance is how close (degrees, ≈ 2 cm) a new vertex must lie to a
// neighbour's edge (inside the actor's scope) to be inserted into it, and how
// close a drawn line or reshaped outline must come to a vertex to meet it.
const snapTolerance = 2e-7

// keepTolerance is the rounding of the coordinate grid (degrees, one cell ≈
// 1 cm; a rounded vertex lies at most 0.71 cells off the exact point): an
// area outside the actor's scope may gain or lose only vertices that lie
// this close to its existing edges, with no other vertex moving.
const keepTolerance = GridSize

// maxAttempts bounds how often one edit is run again after a deadlock, a
// serialization failure or a plan that grew once the areas were locked.
const maxAttempts = 5

// Editor changes areas and duties. Every boundary edit is one operation
// (create, reshape, move_border, split, merge, retire, revert, repartition: one small type
// each, in edit_ops.go) run by one runner in one transaction: plan what it
// touches, authorize that against the actor, lock it in one statement in id
// order, apply, validate, record, announce. See docs/editing.md.
type Editor struct {
	db *DB
	// Tolerance is how wide, in metres, a region sticking out of the parent,
	// an overlap between siblings or a gap may be without an error: rounding
	// on the 1 cm grid, not digitising slack.
	Tolerance float64
	// MinAreaM2 is how large, in m², such a region may be however thin.
	MinAreaM2 float64
}

// NewEditor returns an Editor on db with a tolerance of 5 cm and 0.1 m².
func NewEditor(db *DB) *Editor { return &Editor{db: db, Tolerance: 0.05, MinAreaM2: 0.1} }

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
	req     geo.EditRequest
	scope   *actorScope
	change  int64
	at      time.Time
	locked  map[int64]bool
	cur     map[int64]*current // the locked areas as they were after locking
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

// current is an area's current state, read after its row was locked.
type current struct {
	id, version, parent int64
	level, code, name   string
	retired             bool
	bound               orb.Bound
}

// editPlan is what an operation will touch, known before anything is locked.
type editPlan struct {
	refs   []geo.VersionRef // areas it writes, with the versions the request was based on
	create int64            // the parent new areas go under (create), authorized like a write below it
	near   []byte           // WKB of the request's geometry or line: neighbours are searched near it too
	snap   bool             // whether neighbours get the changed areas' new vertices
	// keepEqual: a neighbour whose snapped geometry equals its old one
	// (ST_Equals: vertices only inserted on its edges) keeps its version
	// (repartition: the grids a maintenance partition keeps).
	keepEqual bool
	// revert: besides named, authorization is per area after applying (the
	// keep rule decides for areas outside the scope), not before.
	deferAuth bool
	named     []int64
}

// editOp is one operation: it plans what it touches, then applies itself to
// the locked state. The runner does everything else.
type editOp interface {
	plan(ctx context.Context, st *editState) (*editPlan, error)
	apply(ctx context.Context, st *editState) error
}

func opFor(r geo.EditRequest) (editOp, error) {
	switch r.Op {
	case geo.OpCreate:
		return createOp{}, nil
	case geo.OpReshape:
		return reshapeOp{}, nil
	case geo.OpMoveBorder:
		return moveBorderOp{}, nil
	case geo.OpSplit:
		return splitOp{}, nil
	case geo.OpMerge:
		return mergeOp{}, nil
	case geo.OpRetire:
		return retireOp{}, nil
	case geo.OpRevert:
		return revertOp{}, nil
	case geo.OpRepartition:
		return repartitionOp{}, nil
	}
	return nil, geo.Errorf(geo.EInvalid, "op must be one of create, reshape, move_border, split, merge, retire, revert, repartition; got %q", r.Op)
}

// errReplan says the areas to lock grew once the first ones were locked
// (someone changed the neighbourhood meanwhile): run again with them.
type errReplan struct{ more []int64 }

func (e *errReplan) Error() string { return fmt.Sprintf("plan grew by areas %v", e.more) }

// retryable reports a deadlock, serialization failure or a lost race for an
// area's current version: the edit is run again from the start.
func retryable(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "40P01" || pe.Code == "40001" || (pe.Code == "23505" && pe.ConstraintName == "area_version_current_idx") || isCodeClash(err)
	}
	return false
}

// run is the runner: one attempt after another until one finishes, a
// deadlock or serialization failure happened maxAttempts times (409), or the
// plan could not be settled (409).
func (e *Editor) run(ctx context.Context, r geo.EditRequest, commit bool) (*geo.EditResult, error) {
	op, err := opFor(r)
	if err != nil {
		return nil, err
	}
	var extra []int64
	var last error
	for attempt := 0; attempt < maxAttempts; attempt++ {
		res, err := e.runOnce(ctx, op, r, commit, extra)
		var rp *errReplan
		switch {
		case err == nil:
			return res, nil
		case errors.As(err, &rp):
			extra = append(extra, rp.more...)
		case retryable(err):
			if ctx.Err() != nil {
				return nil, dbErr("data.Edit", err)
			}
		default:
			return nil, dbErr("data.Edit", err)
		}
		last = err
	}
	return nil, &geo.Error{Code: geo.EConflict, Err: fmt.Errorf("data.Edit: %w", last),
		Message: fmt.Sprintf("the edit collided with simultaneous edits %d times; load the areas again and retry", maxAttempts),
		Details: map[string]any{"current": e.currentVersions(ctx, r.Areas)}}
}

const qCurrentVersions = `
SELECT a.id, coalesce(v.id, 0) FROM area a LEFT JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL
WHERE a.id = ANY($1) ORDER BY a.id`

// currentVersions reads the current versions of refs' areas, for a conflict's details.
func (e *Editor) currentVersions(ctx context.Context, refs []geo.VersionRef) []geo.VersionRef {
	ids := make([]int64, len(refs))
	for i, r := range refs {
		ids[i] = r.ID
	}
	out := []geo.VersionRef{}
	rows, err := e.db.Pool.Query(ctx, qCurrentVersions, ids)
	if err != nil {
		return out
	}
	var v geo.VersionRef
	_, _ = pgx.ForEachRow(rows, []any{&v.ID, &v.Version}, func() error { out = append(out, v); return nil })
	return out
}

func (e *Editor) runOnce(ctx context.Context, op editOp, r geo.EditRequest, commit bool, extra []int64) (*geo.EditResult, error) {
	tx, err := e.db.Pool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	defer tx.Rollback(ctx)
	author := r.Author
	if author == "" && r.Actor != nil {
		author = r.Actor.Name
	}
	if author == "" {
		author = "system"
	}
	st := &editState{tx: tx, req: r, locked: map[int64]bool{}, cur: map[int64]*current{}, touched: map[int64]*geo.ChangeArea{}, parents: map[int64]bool{}}
	if st.scope, err = loadScope(ctx, tx, r.Actor); err != nil {
		return nil, err
	}
	detail := map[string]any{"op": r.Op, "areas": r.Areas}
	if r.Change != 0 {
		detail["reverts"] = r.Change
	}
	if err := tx.QueryRow(ctx, qInsertChange, author, "area."+r.Op, r.Reason, detail).Scan(&st.change); err != nil {
		return nil, err
	}
	if _, err := tx.Exec(ctx, qSnapshotCreate); err != nil {
		return nil, err
	}

	// Plan.
	pl, err := op.plan(ctx, st)
	if err != nil {
		return nil, err
	}
	ids := make([]int64, 0, len(pl.refs))
	for _, ref := range pl.refs {
		ids = append(ids, ref.ID)
	}
	parents, err := parentsOf(ctx, tx, ids)
	if err != nil {
		return nil, err
	}
	if pl.create != 0 {
		parents = append(parents, pl.create)
	}
	var nbrs []int64
	if pl.snap {
		if nbrs, err = st.neighbours(ctx, ids, parents, pl.near); err != nil {
			return nil, err
		}
	}

	// Authorize the whole set before anything is locked.
	if err := st.scope.authorize(ctx, tx, pl, ids); err != nil {
		return nil, err
	}

	// Lock it in one global order, in one statement, then read it.
	all := slices.Concat(ids, parents, nbrs, extra)
	if pl.create != 0 {
		all = append(all, pl.create)
	}
	if err := st.lock(ctx, all); err != nil {
		return nil, err
	}
	if err := st.checkVersions(pl.refs); err != nil {
		return nil, err
	}
	if err := tx.QueryRow(ctx, `SELECT clock_timestamp()`).Scan(&st.at); err != nil {
		return nil, err
	}

	// Apply.
	if err := op.apply(ctx, st); err != nil {
		return nil, err
	}
	if pl.snap {
		if err := st.snapNeighbours(ctx, parents, pl.keepEqual); err != nil {
			return nil, err
		}
	}
	if err := st.scope.checkTouched(ctx, st); err != nil {
		return nil, err
	}

	// Validate.
	res := &geo.EditResult{ChangeID: st.change}
	if err := e.validate(ctx, st, &res.EditPreview); err != nil {
		return nil, err
	}
	if !commit {
		return res, nil
	}
	if !res.Valid {
		return nil, &geo.Error{Code: geo.EValidation, Message: summarise(res.Errors), Details: &res.EditPreview}
	}

	// Record and announce.
	for _, id := range st.order {
		t := st.touched[id]
		res.Versions = append(res.Versions, geo.VersionRef{ID: id, Version: t.After})
		if _, err := tx.Exec(ctx, qInsertChangeArea, st.change, id, nullIfZero(t.Before), nullIfZero(t.After)); err != nil {
			return nil, err
		}
	}
	if len(res.Versions) > 0 {
		res.VersionID = res.Versions[0].Version
	}
	for _, l := range st.lineage {
		if _, err := tx.Exec(ctx, qInsertLineage, st.change, l.From, l.To, l.Kind); err != nil {
			return nil, err
		}
	}
	if err := announce(ctx, tx, geo.ChangeEvent{Change: st.change, Layer: geo.LayerAreas, Areas: st.order, Bounds: st.bounds}); err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, err
	}
	return res, nil
}

const qParentsOf = `SELECT id, coalesce(parent_id, 0) FROM area WHERE id = ANY($1)`

// parentsOf returns the distinct parents of ids; an unknown id is not found.
func parentsOf(ctx context.Context, tx pgx.Tx, ids []int64) ([]int64, error) {
	rows, err := tx.Query(ctx, qParentsOf, ids)
	if err != nil {
		return nil, err
	}
	seen := map[int64]bool{}
	var id, p int64
	var out []int64
	if _, err := pgx.ForEachRow(rows, []any{&id, &p}, func() error {
		seen[id] = true
		if p != 0 && !slices.Contains(out, p) {
			out = append(out, p)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	for _, id := range ids {
		if !seen[id] {
			return nil, geo.Errorf(geo.ENotFound, "no area with id %d", id)
		}
	}
	return out, nil
}

// qLockAreas locks every area of the plan in one statement; with ORDER BY
// the rows are locked in id order, so two edits never wait for each other
// in a circle.
const qLockAreas = `SELECT id FROM area WHERE id = ANY($1) ORDER BY id FOR UPDATE`

// qLockedState reads the locked areas in a statement of its own, so it sees
// what the edits it waited for committed.
const qLockedState = `
SELECT a.id, coalesce(v.id, 0), coalesce(a.parent_id, 0), a.level, a.code, a.name, a.retired_at IS NOT NULL,
       coalesce(ST_XMin(v.geom), 0), coalesce(ST_YMin(v.geom), 0), coalesce(ST_XMax(v.geom), 0), coalesce(ST_YMax(v.geom), 0)
FROM area a LEFT JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL
WHERE a.id = ANY($1)`

func (st *editState) lock(ctx context.Context, ids []int64) error {
	slices.Sort(ids)
	ids = slices.Compact(ids)
	if _, err := st.tx.Exec(ctx, qLockAreas, ids); err != nil {
		return err
	}
	rows, err := st.tx.Query(ctx, qLockedState, ids)
	if err != nil {
		return err
	}
	var c current
	if _, err := pgx.ForEachRow(rows, []any{&c.id, &c.version, &c.parent, &c.level, &c.code, &c.name, &c.retired,
		&c.bound.Min[0], &c.bound.Min[1], &c.bound.Max[0], &c.bound.Max[1]}, func() error {
		cc := c
		st.cur[c.id] = &cc
		st.locked[c.id] = true
		return nil
	}); err != nil {
		return err
	}
	return nil
}

// checkVersions compares the locked state with the versions the request
// was based on: a stale one is a conflict listing the current versions.
func (st *editState) checkVersions(refs []geo.VersionRef) error {
	var stale []geo.VersionRef
	for _, r := range refs {
		c := st.cur[r.ID]
		if c == nil {
			return geo.Errorf(geo.ENotFound, "no area with id %d", r.ID)
		}
		if c.retired && st.req.Op != geo.OpRevert {
			return &geo.Error{Code: geo.EConflict, Message: fmt.Sprintf("area %s (%d) is retired", c.code, c.id),
				Details: map[string]any{"current": []geo.VersionRef{{ID: c.id, Version: 0}}}}
		}
		if r.Version != 0 && r.Version != c.version {
			stale = append(stale, geo.VersionRef{ID: c.id, Version: c.version})
		}
	}
	if len(stale) > 0 {
		msg := make([]string, len(stale))
		for i, s := range stale {
			msg[i] = fmt.Sprintf("area %d is now at version %d", s.ID, s.Version)
		}
		return &geo.Error{Code: geo.EConflict, Message: "changed meanwhile by someone else: " + strings.Join(msg, ", "),
			Details: map[string]any{"current": stale}}
	}
	return nil
}

// area returns the locked state of area id; one the plan did not name makes
// the runner start over with it.
func (st *editState) area(id int64) (*current, error) {
	c := st.cur[id]
	if c == nil {
		return nil, &errReplan{more: []int64{id}}
	}
	return c, nil
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
