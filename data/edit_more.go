package data

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridmap/calendar"
	"gridmap/geo"
)

const qAreaVersionBound = `
SELECT coalesce(v.id, 0), a.code, a.name, coalesce(ST_XMin(v.geom), 0), coalesce(ST_YMin(v.geom), 0), coalesce(ST_XMax(v.geom), 0), coalesce(ST_YMax(v.geom), 0)
FROM area a LEFT JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL
WHERE a.id = $1 AND a.retired_at IS NULL FOR UPDATE OF a`

const qRename = `UPDATE area SET name = $2, code = $3 WHERE id = $1`

const qRecordOldCode = `INSERT INTO area_code_history (code, area_id, change_id) VALUES ($1, $2, $3) ON CONFLICT (code) DO NOTHING`

// Rename changes an area's name and/or code. The old code is kept in the
// code history and is never given to another area.
func (e *Editor) Rename(ctx context.Context, r geo.RenameRequest) (*geo.EditResult, error) {
	if strings.TrimSpace(r.Name) == "" && r.Code == "" {
		return nil, geo.Errorf(geo.EInvalid, "give a new name, a new code, or both")
	}
	tx, err := e.db.Pool.Begin(ctx)
	if err != nil {
		return nil, dbErr("data.Rename", err)
	}
	defer tx.Rollback(ctx)
	scope, err := loadScope(ctx, tx, r.Actor)
	if err != nil {
		return nil, dbErr("data.Rename", err)
	}
	if err := scope.authorize(ctx, tx, &editPlan{}, []int64{r.AreaID}); err != nil {
		return nil, err
	}
	var version int64
	var code, name string
	var b orb.Bound
	err = tx.QueryRow(ctx, qAreaVersionBound, r.AreaID).Scan(&version, &code, &name, &b.Min[0], &b.Min[1], &b.Max[0], &b.Max[1])
	if err == pgx.ErrNoRows {
		return nil, geo.Errorf(geo.ENotFound, "no current area with id %d", r.AreaID)
	}
	if err != nil {
		return nil, dbErr("data.Rename", err)
	}
	if r.Version != 0 && r.Version != version {
		return nil, &geo.Error{Code: geo.EConflict, Message: fmt.Sprintf("area %d changed meanwhile: now at version %d", r.AreaID, version),
			Details: map[string]any{"current": []geo.VersionRef{{ID: r.AreaID, Version: version}}}}
	}
	res := &geo.EditResult{}
	res.Errors, res.Warnings, res.Moves, res.Codes = []geo.Issue{}, []geo.Issue{}, []geo.Move{}, []geo.CodeChange{}
	newName, newCode := name, code
	if strings.TrimSpace(r.Name) != "" {
		newName = strings.TrimSpace(r.Name)
	}
	if r.Code != "" && r.Code != code {
		if err := geo.ValidateImportedCode(r.Code); err != nil {
			return nil, err
		}
		if err := checkCodeFree(ctx, tx, r.Code); err != nil {
			return nil, dbErr("data.Rename", err)
		}
		newCode = r.Code
	}
	author := r.Author
	if author == "" && r.Actor != nil {
		author = r.Actor.Name
	}
	if author == "" {
		author = "system"
	}
	if err := tx.QueryRow(ctx, qInsertChange, author, "area.rename", r.Reason,
		map[string]any{"area": r.AreaID, "name": []string{name, newName}, "code": []string{code, newCode}}).Scan(&res.ChangeID); err != nil {
		return nil, dbErr("data.Rename", err)
	}
	if newCode != code {
		if _, err := tx.Exec(ctx, qRecordOldCode, code, r.AreaID, res.ChangeID); err != nil {
			return nil, dbErr("data.Rename", err)
		}
		if err := claimCode(ctx, tx, newCode, r.AreaID, res.ChangeID); err != nil {
			return nil, dbErr("data.Rename", err)
		}
		res.Codes = append(res.Codes, geo.CodeChange{Kind: "recoded", Area: r.AreaID, Code: newCode, Name: newName})
	}
	if _, err := tx.Exec(ctx, qRename, r.AreaID, newName, newCode); err != nil {
		return nil, dbErr("data.Rename", err)
	}
	if _, err := tx.Exec(ctx, qInsertChangeArea, res.ChangeID, r.AreaID, nullIfZero(version), nullIfZero(version)); err != nil {
		return nil, dbErr("data.Rename", err)
	}
	if err := announce(ctx, tx, geo.ChangeEvent{Change: res.ChangeID, Layer: geo.LayerAreas, Areas: []int64{r.AreaID}, Bounds: []orb.Bound{b}}); err != nil {
		return nil, dbErr("data.Rename", err)
	}
	res.Valid, res.VersionID = true, version
	res.Versions = []geo.VersionRef{{ID: r.AreaID, Version: version}}
	return res, dbErr("data.Rename", tx.Commit(ctx))
}

const qAssignDuty = `
INSERT INTO duty (person_id, area_id, building_id, role, valid_from, change_id)
VALUES ($1, nullif($2, 0), (SELECT id FROM building WHERE code = nullif($3, '')), $4, $5, $6)
RETURNING id, coalesce(area_id, 0), coalesce(building_id, 0)`

const qDutyBounds = `
SELECT coalesce(d.area_id, b.grid_id, 0), ST_XMin(g), ST_YMin(g), ST_XMax(g), ST_YMax(g)
FROM duty d
LEFT JOIN area_version v ON v.area_id = d.area_id AND v.valid_to IS NULL
LEFT JOIN building b ON b.id = d.building_id,
LATERAL (SELECT coalesce(v.geom, b.geom) AS g) x
WHERE d.id = $1`

// AssignDuty gives a person a duty in an area or for a building.
func (e *Editor) AssignDuty(ctx context.Context, r geo.DutyRequest) (*geo.Duty, error) {
	if !r.Role.Valid() {
		return nil, geo.Errorf(geo.EInvalid, "role must be one of grid_leader, grid_worker, info_officer, police, building_leader, party_member, volunteer; got %q", r.Role)
	}
	if (r.AreaID == 0) == (r.BuildingCode == "") {
		return nil, geo.Errorf(geo.EInvalid, "a duty is for exactly one area or one building")
	}
	if (r.Role == geo.RoleBuildingLeader) != (r.BuildingCode != "") {
		return nil, geo.Errorf(geo.EInvalid, "building leaders are assigned to a building, every other role to an area")
	}
	if r.ValidFrom.IsZero() {
		r.ValidFrom = time.Now().In(calendar.Shanghai())
	}
	tx, err := e.db.Pool.Begin(ctx)
	if err != nil {
		return nil, dbErr("data.AssignDuty", err)
	}
	defer tx.Rollback(ctx)
	area := r.AreaID
	if r.BuildingCode != "" {
		if err := tx.QueryRow(ctx, qBuildingGrid, r.BuildingCode).Scan(&area); err == pgx.ErrNoRows {
			return nil, geo.Errorf(geo.ENotFound, "no building with code %s", r.BuildingCode)
		} else if err != nil {
			return nil, dbErr("data.AssignDuty", err)
		}
	}
	if err := authorizeDuty(ctx, tx, r.Actor, area); err != nil {
		return nil, dbErr("data.AssignDuty", err)
	}
	author := r.Author
	if author == "" && r.Actor != nil {
		author = r.Actor.Name
	}
	var change int64
	if err := tx.QueryRow(ctx, qInsertChange, nonEmpty(author), "duty.assign", r.Reason, map[string]any{"person": r.PersonID, "role": r.Role}).Scan(&change); err != nil {
		return nil, dbErr("data.AssignDuty", err)
	}
	d := &geo.Duty{PersonID: r.PersonID, Role: r.Role, ValidFrom: dateOf(r.ValidFrom)}
	if err := tx.QueryRow(ctx, qAssignDuty, r.PersonID, r.AreaID, r.BuildingCode, string(r.Role), d.ValidFrom, change).Scan(&d.ID, &d.AreaID, &d.BuildingID); err != nil {
		return nil, dbErr("data.AssignDuty", err)
	}
	if err := announceDuty(ctx, tx, change, d.ID); err != nil {
		return nil, dbErr("data.AssignDuty", err)
	}
	return d, dbErr("data.AssignDuty", tx.Commit(ctx))
}

func announceDuty(ctx context.Context, tx pgx.Tx, change, duty int64) error {
	var area int64
	var b orb.Bound
	if err := tx.QueryRow(ctx, qDutyBounds, duty).Scan(&area, &b.Min[0], &b.Min[1], &b.Max[0], &b.Max[1]); err != nil {
		return err
	}
	return announce(ctx, tx, geo.ChangeEvent{Change: change, Layer: geo.LayerAreas, Areas: []int64{area}, Bounds: []orb.Bound{b}})
}

const qEndDuty = `
UPDATE duty SET valid_to = $2 WHERE id = $1 AND (valid_to IS NULL OR valid_to > $2)
RETURNING person_id, coalesce(area_id, 0), coalesce(building_id, 0), role, valid_from, valid_to`

// EndDuty ends a duty on validTo (a date, China Standard Time) for actor
// (nil: the system), who must be allowed to manage the duty's area.
func (e *Editor) EndDuty(ctx context.Context, id int64, validTo time.Time, actor *geo.User, reason string) (*geo.Duty, error) {
	if validTo.IsZero() {
		validTo = time.Now().In(calendar.Shanghai())
	}
	tx, err := e.db.Pool.Begin(ctx)
	if err != nil {
		return nil, dbErr("data.EndDuty", err)
	}
	defer tx.Rollback(ctx)
	var area int64
	if err := tx.QueryRow(ctx, qDutyArea, id).Scan(&area); err == pgx.ErrNoRows {
		return nil, geo.Errorf(geo.ENotFound, "no duty %d", id)
	} else if err != nil {
		return nil, dbErr("data.EndDuty", err)
	}
	if err := authorizeDuty(ctx, tx, actor, area); err != nil {
		return nil, dbErr("data.EndDuty", err)
	}
	author := ""
	if actor != nil {
		author = actor.Name
	}
	var change int64
	if err := tx.QueryRow(ctx, qInsertChange, nonEmpty(author), "duty.end", reason, map[string]any{"duty": id}).Scan(&change); err != nil {
		return nil, dbErr("data.EndDuty", err)
	}
	d := &geo.Duty{ID: id}
	var role string
	err = tx.QueryRow(ctx, qEndDuty, id, dateOf(validTo)).Scan(&d.PersonID, &d.AreaID, &d.BuildingID, &role, &d.ValidFrom, &d.ValidTo)
	if err == pgx.ErrNoRows {
		return nil, geo.Errorf(geo.ENotFound, "no duty %d in force after %s", id, dateOf(validTo).Format("2006-01-02"))
	}
	if err != nil {
		return nil, dbErr("data.EndDuty", err)
	}
	d.Role = geo.Role(role)
	if err := announceDuty(ctx, tx, change, id); err != nil {
		return nil, dbErr("data.EndDuty", err)
	}
	return d, dbErr("data.EndDuty", tx.Commit(ctx))
}

func nonEmpty(author string) string {
	if author == "" {
		return "system"
	}
	return author
}

func dateOf(t time.Time) time.Time {
	t = t.In(calendar.Shanghai())
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

const qChanges = `
SELECT c.id, c.author, c.at, c.operation, c.reason FROM change c
WHERE $1 = 0 OR EXISTS (SELECT 1 FROM change_area ca WHERE ca.change_id = c.id AND ca.area_id = $1)
   OR EXISTS (SELECT 1 FROM area_lineage l WHERE l.change_id = c.id AND (l.from_area = $1 OR l.to_area = $1))
ORDER BY c.id DESC LIMIT $2`

const qChangeAreasDetail = `
SELECT ca.change_id, a.id, a.level, a.code, a.name, coalesce(ca.before_version, 0), coalesce(ca.after_version, 0)
FROM change_area ca JOIN area a ON a.id = ca.area_id WHERE ca.change_id = ANY($1) ORDER BY a.code`

const qLineage = `SELECT change_id, from_area, to_area, kind FROM area_lineage WHERE change_id = ANY($1)`

// Changes lists the latest changes, of one area (with its lineage) when areaID is set.
func (e *Editor) Changes(ctx context.Context, areaID int64, limit int) ([]geo.ChangeRecord, error) {
	if limit <= 0 || limit > 500 {
		limit = 100
	}
	rows, err := e.db.Pool.Query(ctx, qChanges, areaID, limit)
	if err != nil {
		return nil, dbErr("data.Changes", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (geo.ChangeRecord, error) {
		var c geo.ChangeRecord
		err := r.Scan(&c.ID, &c.Author, &c.At, &c.Operation, &c.Reason)
		c.Areas = []geo.ChangeArea{}
		return c, err
	})
	if err != nil {
		return nil, dbErr("data.Changes", err)
	}
	idx := map[int64]int{}
	ids := make([]int64, len(out))
	for i, c := range out {
		idx[c.ID], ids[i] = i, c.ID
	}
	rows, err = e.db.Pool.Query(ctx, qChangeAreasDetail, ids)
	if err != nil {
		return nil, dbErr("data.Changes", err)
	}
	var cid int64
	var ca geo.ChangeArea
	if _, err := pgx.ForEachRow(rows, []any{&cid, &ca.Area.ID, &ca.Area.Level, &ca.Area.Code, &ca.Area.Name, &ca.Before, &ca.After}, func() error {
		out[idx[cid]].Areas = append(out[idx[cid]].Areas, ca)
		return nil
	}); err != nil {
		return nil, dbErr("data.Changes", err)
	}
	rows, err = e.db.Pool.Query(ctx, qLineage, ids)
	if err != nil {
		return nil, dbErr("data.Changes", err)
	}
	var l geo.LineageRecord
	if _, err := pgx.ForEachRow(rows, []any{&cid, &l.From, &l.To, &l.Kind}, func() error {
		out[idx[cid]].Lineage = append(out[idx[cid]].Lineage, l)
		return nil
	}); err != nil {
		return nil, dbErr("data.Changes", err)
	}
	return out, nil
}

// qStats reads the totals of an area's current children from area_stats
// (migration 002: kept by triggers in the writing transaction, subtree sums).
const qStats = `
SELECT c.id, c.level, c.code, c.name, coalesce(s.buildings, 0), coalesce(s.households, 0), coalesce(s.residents, 0)
FROM area c LEFT JOIN area_stats s ON s.area_id = c.id
WHERE c.parent_id = $1 AND c.retired_at IS NULL
ORDER BY c.code`

// qAreaTotals is an area's own subtree totals (no row: nothing in it).
const qAreaTotals = `
SELECT coalesce(max(buildings), 0), coalesce(max(households), 0), coalesce(max(residents), 0) FROM area_stats WHERE area_id = $1`

// qTarget finds the target for a level: the community's own, else the level's.
const qTarget = `
SELECT level, households_min, households_max, residents_min, residents_max FROM balance_target
WHERE level = $1 AND (scope_area_id = $2 OR scope_area_id IS NULL)
ORDER BY scope_area_id NULLS LAST LIMIT 1`

// Stats returns an area's households, residents and buildings, and its
// children's against the target of their level.
func (e *Editor) Stats(ctx context.Context, areaID int64) (*geo.Stats, error) {
	as := NewAreaService(e.db)
	a, err := as.Area(ctx, fmt.Sprint(areaID))
	if err != nil {
		return nil, err
	}
	st := &geo.Stats{Children: []geo.Balance{}}
	st.Area = geo.AreaRef{ID: a.ID, Level: a.Level, Code: a.Code, Name: a.Name}
	rows, err := e.db.Pool.Query(ctx, qStats, areaID)
	if err != nil {
		return nil, dbErr("data.Stats", err)
	}
	var b geo.Balance
	if _, err := pgx.ForEachRow(rows, []any{&b.Area.ID, &b.Area.Level, &b.Area.Code, &b.Area.Name, &b.Buildings, &b.Households, &b.Residents}, func() error {
		st.Children = append(st.Children, b)
		return nil
	}); err != nil {
		return nil, dbErr("data.Stats", err)
	}
	if err := e.db.Pool.QueryRow(ctx, qAreaTotals, areaID).Scan(&st.Buildings, &st.Households, &st.Residents); err != nil {
		return nil, dbErr("data.Stats", err)
	}
	// The children's target: per community when set, else per level.
	var childLevel string
	if err := e.db.Pool.QueryRow(ctx, qLevelBelow, a.Level).Scan(&childLevel); err == nil {
		var t geo.Target
		err := e.db.Pool.QueryRow(ctx, qTarget, childLevel, areaID).Scan(&t.Level, &t.HouseholdsMin, &t.HouseholdsMax, &t.ResidentsMin, &t.ResidentsMax)
		if err == nil {
			st.Target = &t
			for i := range st.Children {
				st.Children[i].Status = balanceStatus(st.Children[i], t)
			}
		} else if err != pgx.ErrNoRows {
			return nil, dbErr("data.Stats", err)
		}
	} else if err != pgx.ErrNoRows {
		return nil, dbErr("data.Stats", err)
	}
	var t geo.Target
	if err := e.db.Pool.QueryRow(ctx, qTarget, a.Level, a.ParentID).Scan(&t.Level, &t.HouseholdsMin, &t.HouseholdsMax, &t.ResidentsMin, &t.ResidentsMax); err == nil {
		st.Status = balanceStatus(st.Balance, t)
	} else if err != pgx.ErrNoRows {
		return nil, dbErr("data.Stats", err)
	}
	return st, nil
}

func balanceStatus(b geo.Balance, t geo.Target) string {
	switch {
	case b.Households < t.HouseholdsMin || b.Residents < t.ResidentsMin:
		return "under"
	case b.Households > t.HouseholdsMax || b.Residents > t.ResidentsMax:
		return "over"
	}
	return "ok"
}

const qCreatePerson = `
INSERT INTO person (name, phone, public_name, public_phone, public_photo) VALUES ($1, $2, $3, $4, $5) RETURNING id`

// CreatePerson adds a responsible person (photo: none yet).
func (e *Editor) CreatePerson(ctx context.Context, p geo.Person, author, reason string) (*geo.Person, error) {
	if strings.TrimSpace(p.Name) == "" {
		return nil, geo.Errorf(geo.EInvalid, "a person needs a name")
	}
	tx, err := e.db.Pool.Begin(ctx)
	if err != nil {
		return nil, dbErr("data.CreatePerson", err)
	}
	defer tx.Rollback(ctx)
	var change int64
	if err := tx.QueryRow(ctx, qInsertChange, nonEmpty(author), "person.create", reason, map[string]any{"name": p.Name}).Scan(&change); err != nil {
		return nil, dbErr("data.CreatePerson", err)
	}
	out := p
	out.Photo = ""
	if err := tx.QueryRow(ctx, qCreatePerson, p.Name, p.Phone, p.PublicName, p.PublicPhone, p.PublicPhoto).Scan(&out.ID); err != nil {
		return nil, dbErr("data.CreatePerson", err)
	}
	return &out, dbErr("data.CreatePerson", tx.Commit(ctx))
}

const qDutyArea = `SELECT coalesce(d.area_id, b.grid_id, 0) FROM duty d LEFT JOIN building b ON b.id = d.building_id WHERE d.id = $1`

const qBuildingGrid = `SELECT coalesce(grid_id, 0) FROM building WHERE code = $1`

// authorizeDuty: editors manage duties at or below their scope area (a
// building leader's duty belongs to the building's grid).
func authorizeDuty(ctx context.Context, tx pgx.Tx, actor *geo.User, area int64) error {
	scope, err := loadScope(ctx, tx, actor)
	if err != nil {
		return err
	}
	if actor != nil && actor.Role == geo.UserViewer {
		return geo.Errorf(geo.EForbidden, "account %s may only read", actor.Name)
	}
	if scope.all || area == actor.ScopeAreaID || scope.covers(area) {
		return nil
	}
	return scope.forbidden(ctx, tx, area, "")
}
