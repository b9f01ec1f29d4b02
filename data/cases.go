package data

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/paulmach/orb"

	"gridmap/calendar"
	"gridmap/cases"
	"gridmap/geo"
)

// CaseOptions configure a CaseStore. Zero fields take the defaults.
type CaseOptions struct {
	// Now is the store's clock (default time.Now); tests inject one, so
	// deadlines and escalation are tested without sleeping.
	Now func() time.Time
	// ContactRetention is how long after a case finished (closed, rated,
	// rejected, merged) the reporters' phone numbers are kept; default 90 days.
	ContactRetention time.Duration
	// ChangeLogRetention is how long change_log entries are kept once the
	// re-route job has read them; default 24 h (PruneChangeLog).
	ChangeLogRetention time.Duration
	// RequestKeyRetention is how long an Idempotency-Key is remembered
	// (request_key): a retry after it is a new request. Default 30 days,
	// longer than a phone is likely to keep a queued send (PruneRequestKeys).
	RequestKeyRetention time.Duration
	Hierarchy           string // the hierarchy cases are routed in; default admin
	Catalogue           *cases.Catalogue
	Policy              *cases.Policy
	Log                 *slog.Logger
	// CountsCap is how many matching cases the list's counts per state
	// (Filter.Counts, the desk's tabs) read at most: with more, the page has
	// CountsOver instead of Counts. Default DefaultCountsCap.
	CountsCap int
	// SortedTextRows is how many cases PostgreSQL may expect a list's
	// filter with text to match without its text (a dispatcher's scope) for
	// List to read the text's matches among them and sort them instead of
	// walking the newest-first index. Default DefaultSortedTextRows; -1
	// walks always (the bench's "before").
	SortedTextRows int
	// Codes is where tracking codes come from (default crypto/rand); the
	// demo passes a seeded source so that its cases are the same each run.
	// It must be safe for the store's concurrent use.
	Codes io.Reader
}

// CaseStore keeps cases in PostgreSQL: intake with routing and duplicate
// candidates, transitions through cases.Machine with role and scope checked
// inside the transaction, the append-only event log, and the jobs
// (escalation, re-routing after boundary edits, contact erasure,
// notification delivery) that any number of gridmap processes may run.
type CaseStore struct {
	db      *DB
	now     func() time.Time
	opt     CaseOptions
	machine atomic.Pointer[cases.Machine]
	log     *slog.Logger
}

var _ cases.Service = (*CaseStore)(nil)

// NewCaseStore returns a store on db with the working calendar read from
// holiday_day (calendar.Default().WithDays).
func NewCaseStore(ctx context.Context, db *DB, opt CaseOptions) (*CaseStore, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	if opt.ChangeLogRetention <= 0 {
		opt.ChangeLogRetention = 24 * time.Hour
	}
	if opt.RequestKeyRetention <= 0 {
		opt.RequestKeyRetention = 30 * 24 * time.Hour
	}
	if opt.ContactRetention <= 0 {
		opt.ContactRetention = 90 * 24 * time.Hour
	}
	if opt.CountsCap <= 0 {
		opt.CountsCap = DefaultCountsCap
	}
	if opt.SortedTextRows == 0 {
		opt.SortedTextRows = DefaultSortedTextRows
	}
	if opt.Hierarchy == "" {
		opt.Hierarchy = geo.DefaultHierarchy
	}
	if opt.Catalogue == nil {
		opt.Catalogue = cases.DefaultCatalogue()
	}
	if opt.Policy == nil {
		p := cases.DefaultPolicy()
		opt.Policy = &p
	}
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	s := &CaseStore{db: db, now: opt.Now, opt: opt, log: opt.Log}
	if err := s.ReloadCalendar(ctx); err != nil {
		return nil, err
	}
	return s, nil
}

// Machine returns the state machine in use (its calendar includes the
// administrator's days).
func (s *CaseStore) Machine() *cases.Machine { return s.machine.Load() }

const qHolidayDays = `SELECT to_char(day, 'YYYY-MM-DD'), kind, name FROM holiday_day ORDER BY day`

// ReloadCalendar reads holiday_day into the machine's calendar.
func (s *CaseStore) ReloadCalendar(ctx context.Context) error {
	rows, err := s.db.Pool.Query(ctx, qHolidayDays)
	if err != nil {
		return dbErr("data.ReloadCalendar", err)
	}
	var days []calendar.Day
	var d, k, n string
	_, err = pgx.ForEachRow(rows, []any{&d, &k, &n}, func() error {
		date, err := calendar.ParseDate(d)
		if err != nil {
			return err
		}
		days = append(days, calendar.Day{Date: date, Kind: calendar.DayKind(k), Name: n})
		return nil
	})
	if err != nil {
		return dbErr("data.ReloadCalendar", err)
	}
	s.machine.Store(&cases.Machine{Calendar: calendar.Default().WithDays(days), Catalogue: s.opt.Catalogue, Policy: *s.opt.Policy})
	return nil
}

const qUpsertHoliday = `INSERT INTO holiday_day (day, kind, name) VALUES ($1::date, $2, $3)
ON CONFLICT (day) DO UPDATE SET kind = EXCLUDED.kind, name = EXCLUDED.name`

// AddHolidayDays stores working-calendar days (admins only) and reloads the
// calendar. Deadlines already set are not recomputed.
func (s *CaseStore) AddHolidayDays(ctx context.Context, staff *cases.Staff, days []calendar.Day) error {
	if staff == nil || staff.Role != geo.UserAdmin {
		return geo.Errorf(geo.EForbidden, "only admins may change the working calendar")
	}
	tx, err := s.db.Pool.Begin(ctx)
	if err != nil {
		return dbErr("data.AddHolidayDays", err)
	}
	defer tx.Rollback(ctx)
	for _, d := range days {
		if d.Kind != calendar.Work && d.Kind != calendar.Off {
			return geo.Errorf(geo.EInvalid, "day %s: kind must be work or off, got %q", d.Date, d.Kind)
		}
		if _, err := tx.Exec(ctx, qUpsertHoliday, d.Date.String(), string(d.Kind), d.Name); err != nil {
			return dbErr("data.AddHolidayDays", err)
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return dbErr("data.AddHolidayDays", err)
	}
	return s.ReloadCalendar(ctx)
}

// ---- units

// UnitInput is a unit to create.
type UnitInput struct {
	Kind       string
	Name       string
	AreaCode   string
	Phone      string
	WebhookURL string
}

const qCreateUnit = `INSERT INTO unit (kind, name, area_id, phone, webhook_url)
SELECT $1, $2, a.id, $4, $5 FROM area a WHERE a.code = $3 RETURNING id`

// CreateUnit adds a unit covering an area (admins only).
func (s *CaseStore) CreateUnit(ctx context.Context, staff *cases.Staff, u UnitInput) (int64, error) {
	if staff == nil || staff.Role != geo.UserAdmin {
		return 0, geo.Errorf(geo.EForbidden, "only admins may create units")
	}
	if !cases.UnitKind(u.Kind).Valid() && u.Kind != "district" {
		return 0, geo.Errorf(geo.EInvalid, "unknown unit kind %q", u.Kind)
	}
	var id int64
	err := s.db.Pool.QueryRow(ctx, qCreateUnit, u.Kind, u.Name, u.AreaCode, u.Phone, u.WebhookURL).Scan(&id)
	if err == pgx.ErrNoRows {
		return 0, geo.Errorf(geo.ENotFound, "no area with code %q", u.AreaCode)
	}
	return id, dbErr("data.CreateUnit", err)
}

// CreateUnitWithMember creates a unit and gives member each of roles in it
// (admins only): the demo's case desk and the browser tests' set-up.
func (s *CaseStore) CreateUnitWithMember(ctx context.Context, staff *cases.Staff, u UnitInput, member int64, roles ...cases.Role) (int64, error) {
	id, err := s.CreateUnit(ctx, staff, u)
	if err != nil {
		return 0, err
	}
	for _, role := range roles {
		if err := s.AddUnitMember(ctx, staff, id, member, role); err != nil {
			return 0, err
		}
	}
	return id, nil
}

const qAddMember = `INSERT INTO unit_member (unit_id, user_id, role) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING`

// AddUnitMember lets a staff account act for a unit as handler, dispatcher,
// supervisor or grid worker (admins only).
func (s *CaseStore) AddUnitMember(ctx context.Context, staff *cases.Staff, unitID, userID int64, role cases.Role) error {
	if staff == nil || staff.Role != geo.UserAdmin {
		return geo.Errorf(geo.EForbidden, "only admins may change unit members")
	}
	switch role {
	case cases.RoleHandler, cases.RoleDispatcher, cases.RoleSupervisor, cases.RoleGridWorker:
	default:
		return geo.Errorf(geo.EInvalid, "a unit member is a handler, dispatcher, supervisor or grid_worker, not %q", role)
	}
	_, err := s.db.Pool.Exec(ctx, qAddMember, unitID, userID, string(role))
	return dbErr("data.AddUnitMember", err)
}

// ---- the case row

// caseRow is a case_report row with the codes it refers to.
type caseRow struct {
	ID                                  int64
	Code, Category, Source, State       string
	Version                             int64
	Tier, Stage                         int
	Due, PendingDue                     *time.Time
	Paused                              bool
	RemainingMS                         int64
	Lon, Lat                            float64
	Address, Building, Description      string
	BuildingID, GridID, UnitID, Handler *int64
	Path                                []int64
	Ambiguous                           bool
	ReportedAt                          time.Time
	RespondedAt, AcceptedAt, ClosedAt   *time.Time
	FinishedAt                          *time.Time
	Missed                              bool
	MergedInto                          *int64
	MergedCode                          string
	Rating                              *int
	UnitKind, UnitName, UnitPhone       string
	HandlerName                         string
}

const caseColumns = `c.id, c.tracking_code, c.category, c.source, c.state, c.version, c.tier, c.stage, c.due, c.pending_due,
  c.paused, c.remaining_ms, ST_X(c.geom), ST_Y(c.geom), c.address, coalesce(b.code, ''), c.description,
  c.building_id, c.grid_id, c.unit_id, c.handler_user_id, c.area_path, c.ambiguous, c.reported_at,
  c.responded_at, c.accepted_at, c.closed_at, c.finished_at, c.missed_deadline, c.merged_into,
  coalesce(m.tracking_code, ''), c.rating, coalesce(u.kind, ''), coalesce(u.name, ''), coalesce(u.phone, ''),
  coalesce(h.name, '')`

const caseFrom = `FROM case_report c` + caseJoins

// caseJoins are caseColumns' joins to case_report c.
const caseJoins = `
LEFT JOIN building b ON b.id = c.building_id
LEFT JOIN case_report m ON m.id = c.merged_into
LEFT JOIN unit u ON u.id = c.unit_id
LEFT JOIN app_user h ON h.id = c.handler_user_id`

func (r *caseRow) dest() []any {
	return []any{&r.ID, &r.Code, &r.Category, &r.Source, &r.State, &r.Version, &r.Tier, &r.Stage, &r.Due, &r.PendingDue,
		&r.Paused, &r.RemainingMS, &r.Lon, &r.Lat, &r.Address, &r.Building, &r.Description,
		&r.BuildingID, &r.GridID, &r.UnitID, &r.Handler, &r.Path, &r.Ambiguous, &r.ReportedAt,
		&r.RespondedAt, &r.AcceptedAt, &r.ClosedAt, &r.FinishedAt, &r.Missed, &r.MergedInto,
		&r.MergedCode, &r.Rating, &r.UnitKind, &r.UnitName, &r.UnitPhone, &r.HandlerName}
}

const qCaseByID = `SELECT ` + caseColumns + ` ` + caseFrom + ` WHERE c.id = $1`
const qCaseByIDForUpdate = qCaseByID + ` FOR UPDATE OF c`
const qCaseByCode = `SELECT ` + caseColumns + ` ` + caseFrom + ` WHERE c.tracking_code = $1`

func loadCase(ctx context.Context, q pgx.Tx, sql string, arg any) (*caseRow, error) {
	var r caseRow
	if err := q.QueryRow(ctx, sql, arg).Scan(r.dest()...); err != nil {
		if err == pgx.ErrNoRows {
			return nil, geo.Errorf(geo.ENotFound, "no case %v", arg)
		}
		return nil, dbErr("data.loadCase", err)
	}
	return &r, nil
}

// machineCase is the row as cases.Machine sees it.
func (r *caseRow) machineCase() cases.Case {
	c := cases.Case{ID: r.ID, TrackingCode: r.Code, Category: r.Category, Source: cases.Source(r.Source),
		State: cases.State(r.State), Version: r.Version, ReportedAt: r.ReportedAt, MergedInto: r.MergedCode,
		Clock: cases.Clock{Tier: cases.Tier(r.Tier), Stage: r.Stage, Paused: r.Paused,
			Remaining: time.Duration(r.RemainingMS) * time.Millisecond}}
	if r.Due != nil {
		c.Clock.Due = *r.Due
	}
	if r.PendingDue != nil {
		c.PendingDue = *r.PendingDue
	}
	if r.ClosedAt != nil {
		c.ClosedAt = *r.ClosedAt
	}
	if r.Rating != nil {
		c.Rating = *r.Rating
	}
	return c
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

// ---- who the actor is on this case

// access is a staff account's relation to one case, read inside the
// transaction that touches the case.
type access struct {
	user    geo.User
	inScope bool
	roles   []cases.Role // empty for viewers
}

func (a access) has(r cases.Role) bool {
	for _, x := range a.roles {
		if x == r {
			return true
		}
	}
	return false
}

const qActor = `SELECT name, role, coalesce(scope_area_id, 0), disabled FROM app_user WHERE id = $1`

// readActor reads the account afresh in tx (name, role, scope; 0: none): an
// unknown or disabled account is 401, a database that cannot answer is that
// error (503/504), never 401.
func readActor(ctx context.Context, tx pgx.Tx, staff *cases.Staff) (geo.User, error) {
	u := geo.User{ID: staff.ID}
	var disabled bool
	err := tx.QueryRow(ctx, qActor, staff.ID).Scan(&u.Name, &u.Role, &u.ScopeAreaID, &disabled)
	if errors.Is(err, pgx.ErrNoRows) || err == nil && disabled {
		return u, geo.Errorf(geo.EUnauthenticated, "the account is unknown or disabled")
	}
	if err != nil {
		return u, dbErr("data.readActor", err)
	}
	return u, nil
}

// qMemberships lists the account's unit roles that bear on a case: any role
// in the case's current unit, and roles in units covering an area of the
// case's chain.
const qMemberships = `
SELECT m.role, u.id = $3 AS own_unit, u.area_id = $4 AS grid_unit
FROM unit_member m JOIN unit u ON u.id = m.unit_id AND u.active
WHERE m.user_id = $1 AND (u.area_id = ANY($2::bigint[]) OR u.id = $3)`

// accessTo reads the account afresh (role, scope, disabled) and its unit
// roles on the case: handler as a member of the case's current unit;
// dispatcher or supervisor in a unit covering an area of the case's chain;
// grid worker in a unit of the case's grid. Admins are dispatchers and
// supervisors everywhere. Viewers have no roles: they read only. A case is in
// scope when the account's scope area is in the case's chain (the case lies
// at or below it).
func accessTo(ctx context.Context, tx pgx.Tx, staff *cases.Staff, r *caseRow) (access, error) {
	var a access
	var err error
	if a.user, err = readActor(ctx, tx, staff); err != nil {
		return a, err
	}
	a.inScope = a.user.Role == geo.UserAdmin || a.user.ScopeAreaID == 0 || containsID(r.Path, a.user.ScopeAreaID)
	if !a.inScope || a.user.Role == geo.UserViewer {
		return a, nil
	}
	if a.user.Role == geo.UserAdmin {
		a.roles = append(a.roles, cases.RoleDispatcher, cases.RoleSupervisor)
	}
	var unit, grid int64
	if r.UnitID != nil {
		unit = *r.UnitID
	}
	if r.GridID != nil {
		grid = *r.GridID
	}
	rows, err := tx.Query(ctx, qMemberships, staff.ID, r.Path, unit, grid)
	if err != nil {
		return a, dbErr("data.accessTo", err)
	}
	var role string
	var own, gridUnit bool
	_, err = pgx.ForEachRow(rows, []any{&role, &own, &gridUnit}, func() error {
		if own && (role == string(cases.RoleHandler) || role == string(cases.RoleGridWorker)) {
			a.addRole(cases.RoleHandler)
		}
		switch cases.Role(role) {
		case cases.RoleDispatcher, cases.RoleSupervisor:
			a.addRole(cases.Role(role))
		case cases.RoleGridWorker:
			if gridUnit {
				a.addRole(cases.RoleGridWorker)
			}
		}
		return nil
	})
	return a, dbErr("data.accessTo", err)
}

func (a *access) addRole(r cases.Role) {
	if !a.has(r) {
		a.roles = append(a.roles, r)
	}
}

func containsID(ids []int64, id int64) bool {
	for _, x := range ids {
		if x == id {
			return true
		}
	}
	return false
}

// roleFor picks, among the account's roles on the case, one that the table
// allows for action in the case's state; otherwise its first role (the
// machine then refuses with the roles that may).
func (a access) roleFor(state cases.State, action cases.Action) cases.Role {
	for _, r := range cases.Rules() {
		if r.From == state && r.Action == action {
			for _, want := range r.Roles {
				if a.has(want) {
					return want
				}
			}
		}
	}
	if len(a.roles) > 0 {
		return a.roles[0]
	}
	return ""
}

func (a access) readable(code string) error {
	if !a.inScope {
		return geo.Errorf(geo.EForbidden, "case %s lies outside your area", cases.FormatTrackingCode(code))
	}
	return nil
}

// ---- routing

// qHitsPoint is qHitsCurrent for one point: the current areas of hierarchy
// $3 covering the point and whether it is in their interior.
const qHitsPoint = `
SELECT a.id, a.level, a.code, a.name, l.depth, ST_Contains(v.geom, p.p)
FROM (SELECT ST_SetSRID(ST_MakePoint($1, $2), 4326) AS p) p
JOIN area_version v ON v.valid_to IS NULL AND ST_Covers(v.geom, p.p)
JOIN area a ON a.id = v.area_id AND a.retired_at IS NULL
JOIN level l ON l.key = a.level AND l.hierarchy = $3`

const qChain = `
WITH RECURSIVE up AS (
    SELECT id, parent_id, level, code, name, 0 AS n FROM area WHERE id = $1
    UNION ALL
    SELECT a.id, a.parent_id, a.level, a.code, a.name, up.n + 1 FROM area a JOIN up ON a.id = up.parent_id WHERE up.n < 64
)
SELECT id, level, code, name FROM up ORDER BY n DESC`

// placement is where a point is: its grid by the lookup's border rule and
// the chain above it.
type placement struct {
	Grid      geo.AreaRef
	Chain     []geo.AreaRef
	Ambiguous bool
}

func (p placement) path() []int64 {
	ids := make([]int64, len(p.Chain))
	for i, a := range p.Chain {
		ids[i] = a.ID
	}
	return ids
}

// place applies the lookup's border rule (geo.DecideBorder over the same
// hits as data.LookupService) to p inside tx.
func place(ctx context.Context, tx pgx.Tx, p orb.Point, hierarchy string) (placement, error) {
	rows, err := tx.Query(ctx, qHitsPoint, p[0], p[1], hierarchy)
	if err != nil {
		return placement{}, dbErr("data.place", err)
	}
	var hits []geo.BorderHit
	var h geo.BorderHit
	_, err = pgx.ForEachRow(rows, []any{&h.Area.ID, &h.Area.Level, &h.Area.Code, &h.Area.Name, &h.Depth, &h.Interior}, func() error {
		hits = append(hits, h)
		return nil
	})
	if err != nil {
		return placement{}, dbErr("data.place", err)
	}
	res := geo.DecideBorder(hits)
	if res.Grid == nil {
		return placement{}, geo.Errorf(geo.EInvalid, "the point %.6f, %.6f lies outside every area gridmap knows; cases can be reported only inside them", p[0], p[1])
	}
	out := placement{Grid: *res.Grid, Ambiguous: res.Ambiguous}
	rows, err = tx.Query(ctx, qChain, res.Grid.ID)
	if err != nil {
		return placement{}, dbErr("data.place", err)
	}
	var a geo.AreaRef
	_, err = pgx.ForEachRow(rows, []any{&a.ID, &a.Level, &a.Code, &a.Name}, func() error {
		out.Chain = append(out.Chain, a)
		return nil
	})
	return out, dbErr("data.place", err)
}

// qRoute picks the unit for a tier: $1 is the case's chain (top → grid), $2
// the 1-based position of the tier's area in it, $3 the category's unit
// kind. Preference: a unit of the category's kind at the tier's area; the
// tier area's own office (grid team, community, subdistrict, district); a
// unit of the category's kind above it, nearest first; any unit at the tier's area.
const qRoute = `
WITH p AS (SELECT $1::bigint[] AS path, $2::int AS pos, $3::text AS kind)
SELECT u.id FROM unit u, p
WHERE u.active AND u.area_id = ANY(p.path[1:p.pos])
ORDER BY CASE
    WHEN u.area_id = p.path[p.pos] AND u.kind = p.kind THEN 0
    WHEN u.area_id = p.path[p.pos] AND u.kind IN ('grid_team', 'community', 'subdistrict', 'district') THEN 1
    WHEN u.kind = p.kind THEN 2
    WHEN u.area_id = p.path[p.pos] THEN 3
    ELSE 4 END,
  array_position(p.path, u.area_id) DESC, u.id
LIMIT 1`

// route returns the unit for a case of category at tier in the chain path,
// or 0 when no unit covers it.
func (s *CaseStore) route(ctx context.Context, tx pgx.Tx, path []int64, tier cases.Tier, category string) (int64, error) {
	if len(path) == 0 {
		return 0, nil
	}
	pos := len(path) - (int(tier) - 1)
	pos = max(1, min(pos, len(path)))
	kind := ""
	if cat, ok := s.opt.Catalogue.Category(category); ok {
		kind = string(cat.Unit)
	}
	var id int64
	err := tx.QueryRow(ctx, qRoute, path, pos, kind).Scan(&id)
	if err == pgx.ErrNoRows {
		return 0, nil
	}
	return id, dbErr("data.route", err)
}

// qPathUnits are the active units covering an area of a chain, the
// deepest area's first.
const qPathUnits = `SELECT u.id, u.kind, u.name, u.phone FROM unit u
WHERE u.active AND u.area_id = ANY($1::bigint[])
ORDER BY array_position($1::bigint[], u.area_id) DESC, u.id`

// dispatchUnits are the units a dispatcher may send r to: the one route
// picks (the suggestion, when a unit covers the case) first, then every other
// active unit covering an area of its chain, the nearest first.
func (s *CaseStore) dispatchUnits(ctx context.Context, tx pgx.Tx, r *caseRow) ([]cases.UnitRef, error) {
	suggested, err := s.route(ctx, tx, r.Path, cases.Tier(r.Tier), r.Category)
	if err != nil {
		return nil, err
	}
	rows, err := tx.Query(ctx, qPathUnits, r.Path)
	if err != nil {
		return nil, dbErr("data.dispatchUnits", err)
	}
	out := []cases.UnitRef{}
	var u cases.UnitRef
	var kind string
	if _, err := pgx.ForEachRow(rows, []any{&u.ID, &kind, &u.Name, &u.Phone}, func() error {
		u.Kind = cases.UnitKind(kind)
		if u.ID == suggested {
			out = append([]cases.UnitRef{u}, out...)
		} else {
			out = append(out, u)
		}
		return nil
	}); err != nil {
		return nil, dbErr("data.dispatchUnits", err)
	}
	return out, nil
}

// contended turns a deadlock or serialization failure (two merges of a pair
// of cases into each other at once) into a conflict the client can retry.
func contended(err error) error {
	var pe *pgconn.PgError
	if errors.As(err, &pe) && (pe.Code == "40P01" || pe.Code == "40001") {
		return &geo.Error{Code: geo.EConflict, Message: "the case was being changed by someone else at the same moment; reload it and try again", Err: err}
	}
	return err
}

func nullText(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func nullID(id int64) *int64 {
	if id == 0 {
		return nil
	}
	return &id
}

// ---- events and notifications

// eventRow is a case_event to insert.
type eventRow struct {
	CaseID, Version int64
	At              time.Time
	ActorKind       string
	ActorUser       *int64
	ActorName       string
	ActorRole       string
	Action          string
	From, To        string
	Note            string
	PublicNote      string
	Reason          string
	Photos          []int64
	Due             *time.Time
	Tier            int
	UnitID          *int64
	Detail          map[string]any
}

const qInsertEvent = `INSERT INTO case_event (case_id, version, at, actor_kind, actor_user_id, actor_name, actor_role,
  action, from_state, to_state, note, public_note, reason, photos, due, tier, unit_id, detail)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)`

func insertEvent(ctx context.Context, tx pgx.Tx, e eventRow) error {
	if e.Photos == nil {
		e.Photos = []int64{}
	}
	if e.Detail == nil {
		e.Detail = map[string]any{}
	}
	var tier *int
	if e.Tier > 0 {
		tier = &e.Tier
	}
	_, err := tx.Exec(ctx, qInsertEvent, e.CaseID, e.Version, e.At, e.ActorKind, e.ActorUser, e.ActorName, e.ActorRole,
		e.Action, e.From, e.To, e.Note, e.PublicNote, e.Reason, e.Photos, e.Due, tier, e.UnitID, e.Detail)
	return dbErr("data.insertEvent", err)
}

const qNotify = `INSERT INTO case_notification (case_id, unit_id, kind, payload, created_at, next_attempt_at)
VALUES ($1, $2, $3, $4, $5, $5)`

// notify queues a notification to a unit in the transaction that caused it.
// The payload carries no reporter's details.
func notify(ctx context.Context, tx pgx.Tx, r *caseRow, unitID int64, kind string, at time.Time, extra map[string]any) error {
	if unitID == 0 {
		return nil
	}
	p := map[string]any{"tracking_code": r.Code, "case_id": r.ID, "category": r.Category, "kind": kind, "at": at}
	for k, v := range extra {
		p[k] = v
	}
	_, err := tx.Exec(ctx, qNotify, r.ID, unitID, kind, p, at)
	return dbErr("data.notify", err)
}

// ---- intake

var phonePattern = regexp.MustCompile(`^\+?[0-9]{5,20}$`)

// normalizePhone strips spaces, hyphens and brackets; "" stays "".
func normalizePhone(s string) (string, error) {
	s = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '(', ')', '\u3000':
			return -1
		}
		return r
	}, s)
	if s != "" && !phonePattern.MatchString(s) {
		return "", geo.Errorf(geo.EInvalid, "phone must be 5 to 20 digits, optionally starting with +")
	}
	return s, nil
}

// Text limits of intake, in characters.
const (
	maxDescription = 2000
	maxAddress     = 200
	maxNote        = 2000
)

// checkText is geo.CheckText (the one text rule) plus "required"; the store
// checks its own inputs because the CLI import reaches it without the API.
func checkText(field, s string, max int, required bool) error {
	if err := geo.CheckText(field, s, max); err != nil {
		return err // the one text rule: UTF-8, no NUL, length
	}
	if required && strings.TrimSpace(s) == "" {
		return geo.Errorf(geo.EInvalid, "%s is required", field)
	}
	return nil
}

const qInsertCase = `INSERT INTO case_report (tracking_code, category, source, state, version, tier, stage, due, geom,
  address, building_id, description, grid_id, area_path, ambiguous, unit_id, entered_by, reported_at, updated_at, external_ref)
VALUES ($1, $2, $3, $4, $5, $6, 0, $7, ST_SetSRID(ST_MakePoint($8, $9), 4326), $10, $11, $12, $13, $14, $15, $16, $17, $18, $18, $19)
ON CONFLICT (tracking_code) DO NOTHING
RETURNING id`

const qBuildingID = `SELECT id FROM building WHERE code = $1`

const qInsertContact = `INSERT INTO case_contact (case_id, origin_case_id, phone, created_at) VALUES ($1, $1, $2, $3)`

// qDuplicates finds open cases of a category within $4 metres of a point,
// reported since $5; the bounding box ($6, $7 degrees) lets the GiST index
// on geom narrow the search before the exact geodesic distance.
const qDuplicates = `
SELECT c.tracking_code, c.state, ST_Distance(c.geom::geography, p.p::geography), c.reported_at
FROM (SELECT ST_SetSRID(ST_MakePoint($2, $3), 4326) AS p) p
JOIN case_report c ON c.finished_at IS NULL AND c.category = $1 AND c.reported_at >= $5 AND c.id <> $8
  AND c.geom && ST_MakeEnvelope($2 - $7, $3 - $6, $2 + $7, $3 + $6, 4326)
  AND ST_DWithin(c.geom::geography, p.p::geography, $4)
ORDER BY 3, c.reported_at DESC
LIMIT 10`

// Duplicate candidates: open cases of the same category this near, this recent.
const (
	duplicateRadiusM = cases.NearbyRadiusM
	duplicateWindow  = cases.NearbyDays * 24 * time.Hour
)

// Intake records a new case: routed by the point's grid (the lookup's border
// rule, ambiguous on a shared border), with its unit for the category's tier,
// the first event, the reporter's phone kept apart, and duplicate candidates.
// staff nil is an anonymous resident (source resident_web or open311).
func (s *CaseStore) Intake(ctx context.Context, staff *cases.Staff, in cases.Intake) (*cases.IntakeResult, error) {
	return s.intake(ctx, staff, in, imported{})
}

// imported is what a trusted import adds to an intake: the time the case
// was received elsewhere and its reference there (a 12345 ticket number).
type imported struct {
	at  time.Time
	ref string
}

func (s *CaseStore) intake(ctx context.Context, staff *cases.Staff, in cases.Intake, imp imported) (*cases.IntakeResult, error) {
	m := s.Machine()
	if _, ok := m.Catalogue.Category(in.Category); !ok {
		return nil, geo.Errorf(geo.EInvalid, "unknown category %q; GET /api/v1/cases/categories lists them", in.Category)
	}
	if err := geo.ValidateLonLat(in.Point[0], in.Point[1]); err != nil {
		return nil, err
	}
	if err := checkText("description", in.Description, maxDescription, true); err != nil {
		return nil, err
	}
	if err := checkText("address", in.Address, maxAddress, false); err != nil {
		return nil, err
	}
	phone, err := normalizePhone(in.Phone)
	if err != nil {
		return nil, err
	}
	if staff == nil && imp.ref != "" {
		in.Source = cases.SourceHotline
	} else if staff == nil {
		if in.Source != cases.SourceOpen311 {
			in.Source = cases.SourceResidentWeb
		}
		if len(in.Photos) > 0 {
			return nil, geo.Errorf(geo.EInvalid, "photos are attached by staff after intake")
		}
	} else if len(in.Photos) > 0 {
		return nil, geo.Errorf(geo.EInvalid, "photos are attached after intake (POST /api/v1/cases/{id}/photos)")
	} else if in.Source == "" {
		in.Source = cases.SourceStaff
	}
	if !in.Source.Valid() {
		return nil, geo.Errorf(geo.EInvalid, "unknown source %q", in.Source)
	}
	photos, err := intakePhotos(in.Uploads)
	if err != nil {
		return nil, err
	}
	now := s.now()
	if !imp.at.IsZero() {
		now = imp.at
	}
	actor := cases.Actor{Role: cases.RoleReporter}
	if staff != nil {
		actor = cases.Actor{ID: staff.ID, Name: staff.Name, Role: cases.RoleReporter} // whoever enters it reports it
	}

	tx, err := s.db.Pool.Begin(ctx)
	if err != nil {
		return nil, dbErr("data.Intake", err)
	}
	defer tx.Rollback(ctx)
	if staff != nil {
		// Staff report only inside their scope; viewers do not write.
		u, err := readActor(ctx, tx, staff)
		if err != nil {
			return nil, err
		}
		if u.Role == geo.UserViewer {
			return nil, geo.Errorf(geo.EForbidden, "account %s may only read", staff.Name)
		}
		staff.Role, staff.ScopeAreaID = u.Role, u.ScopeAreaID
	}
	if in.IdempotencyKey != "" {
		first, err := claimRequestKey(ctx, tx, in.IdempotencyKey, "intake", staff, 0, now)
		if err != nil {
			return nil, err
		}
		if first != 0 { // a retry: the first report's result, no second case
			row, err := loadCase(ctx, tx, qCaseByID, first)
			if err != nil {
				return nil, err
			}
			return s.intakeResult(ctx, tx, staff, row, now)
		}
	}
	pl, err := place(ctx, tx, in.Point, s.opt.Hierarchy)
	if err != nil {
		return nil, err
	}
	path := pl.path()
	if staff != nil && staff.Role != geo.UserAdmin && staff.ScopeAreaID != 0 && !containsID(path, staff.ScopeAreaID) {
		return nil, geo.Errorf(geo.EForbidden, "the point lies in %s, outside your area", pl.Grid.Name)
	}
	var buildingID *int64
	if in.BuildingCode != "" {
		var id int64
		if err := tx.QueryRow(ctx, qBuildingID, in.BuildingCode).Scan(&id); err != nil {
			if err == pgx.ErrNoRows {
				return nil, geo.Errorf(geo.EInvalid, "no building with code %q", in.BuildingCode)
			}
			return nil, dbErr("data.Intake", err)
		}
		buildingID = &id
	}

	var c cases.Case
	var ev cases.Event
	var id int64
	for attempt := 0; ; attempt++ {
		code, err := cases.NewTrackingCode(s.opt.Codes)
		if err != nil {
			return nil, err
		}
		c, ev, err = m.Open(cases.Report{TrackingCode: code, Category: in.Category, Source: in.Source, Actor: actor, Note: in.Description}, now)
		if err != nil {
			return nil, err
		}
		unit, err := s.route(ctx, tx, path, c.Clock.Tier, c.Category)
		if err != nil {
			return nil, err
		}
		var entered *int64
		if staff != nil {
			entered = &staff.ID
		}
		err = tx.QueryRow(ctx, qInsertCase, code, c.Category, string(c.Source), string(c.State), c.Version, int(c.Clock.Tier),
			timePtr(c.Clock.Due), in.Point[0], in.Point[1], in.Address, buildingID, in.Description, pl.Grid.ID, path,
			pl.Ambiguous, nullID(unit), entered, now, nullText(imp.ref)).Scan(&id)
		if err == pgx.ErrNoRows && attempt < 5 {
			continue // a tracking-code collision (1 in 2^45 per pair): draw again
		}
		if err != nil {
			return nil, dbErr("data.Intake", err)
		}
		break
	}
	if in.IdempotencyKey != "" {
		if _, err := tx.Exec(ctx, qRequestKeyCase, in.IdempotencyKey, id); err != nil {
			return nil, dbErr("data.Intake", err)
		}
	}
	row, err := loadCase(ctx, tx, qCaseByID, id)
	if err != nil {
		return nil, err
	}
	var photoIDs []int64
	for _, p := range photos {
		var pid int64
		if err := tx.QueryRow(ctx, qInsertCasePhoto, id, p.ContentType, p.Bytes, p.Width, p.Height, now).Scan(&pid); err != nil {
			return nil, dbErr("data.Intake", err)
		}
		photoIDs = append(photoIDs, pid)
	}
	e := eventRow{CaseID: id, Version: 1, At: now, ActorKind: "reporter", ActorRole: string(actor.Role), Photos: photoIDs,
		Action: string(cases.EventReport), To: string(c.State), Due: timePtr(ev.Due), Tier: int(ev.Tier), UnitID: row.UnitID,
		Detail: map[string]any{"grid": pl.Grid.Code, "ambiguous": pl.Ambiguous, "source": string(in.Source)}}
	if imp.ref != "" {
		e.Detail["external_ref"] = imp.ref
	}
	if staff != nil {
		e.ActorKind, e.ActorUser, e.ActorName = "staff", &staff.ID, staff.Name
	}
	if err := insertEvent(ctx, tx, e); err != nil {
		return nil, err
	}
	if phone != "" {
		if _, err := tx.Exec(ctx, qInsertContact, id, phone, now); err != nil {
			return nil, dbErr("data.Intake", err)
		}
	}
	if row.UnitID != nil {
		if err := notify(ctx, tx, row, *row.UnitID, "reported", now, nil); err != nil {
			return nil, err
		}
	}
	return s.intakeResult(ctx, tx, staff, row, now)
}

// intakeResult is what an intake answers about the case in row, read in tx,
// which it commits: the tracking code, the public view, the open cases of
// the same category nearby and, for staff, the record. A retried report
// (the same Idempotency-Key) answers the same for the first one's case.
func (s *CaseStore) intakeResult(ctx context.Context, tx pgx.Tx, staff *cases.Staff, row *caseRow, now time.Time) (*cases.IntakeResult, error) {
	dups, err := duplicates(ctx, tx, row.Category, orb.Point{row.Lon, row.Lat}, now, row.ID)
	if err != nil {
		return nil, err
	}
	pub, err := publicCase(ctx, tx, row, s.opt.Catalogue)
	if err != nil {
		return nil, err
	}
	res := &cases.IntakeResult{TrackingCode: cases.FormatTrackingCode(row.Code), Public: pub, Duplicates: dups}
	if staff != nil {
		a, err := accessTo(ctx, tx, staff, row)
		if err != nil {
			return nil, err
		}
		if res.Record, err = s.record(ctx, tx, row, a, true); err != nil {
			return nil, err
		}
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, dbErr("data.Intake", err)
	}
	return res, nil
}

// ---- idempotency keys (the Idempotency-Key header)

const qClaimRequestKey = `INSERT INTO request_key (key, kind, user_id, case_id, created_at) VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (key) DO NOTHING RETURNING true`
const qRequestKey = `SELECT kind, coalesce(user_id, 0), coalesce(case_id, 0) FROM request_key WHERE key = $1`
const qRequestKeyCase = `UPDATE request_key SET case_id = $2 WHERE key = $1`

// claimRequestKey records key for a request of kind ("intake" or "action",
// on caseID) by staff (nil: anonymous) in tx. It returns 0 for a new key,
// and the case of the first request when key was claimed before by the same
// kind of request of the same person (on the same case): a retry, whose
// caller answers with the first request's outcome. A concurrent retry waits
// on the key's unique index until the first commits or rolls back. A key
// used for another request is a conflict.
func claimRequestKey(ctx context.Context, tx pgx.Tx, key, kind string, staff *cases.Staff, caseID int64, now time.Time) (int64, error) {
	var user *int64
	if staff != nil {
		user = &staff.ID
	}
	var claimed bool
	err := tx.QueryRow(ctx, qClaimRequestKey, key, kind, user, nullID(caseID), now).Scan(&claimed)
	if err == nil {
		return 0, nil
	}
	if err != pgx.ErrNoRows {
		return 0, dbErr("data.claimRequestKey", err)
	}
	var gotKind string
	var gotUser, gotCase int64
	if err := tx.QueryRow(ctx, qRequestKey, key).Scan(&gotKind, &gotUser, &gotCase); err != nil {
		return 0, dbErr("data.claimRequestKey", err)
	}
	var me int64
	if user != nil {
		me = *user
	}
	if gotKind != kind || gotUser != me || (caseID != 0 && gotCase != caseID) || gotCase == 0 {
		return 0, geo.Errorf(geo.EConflict, "Idempotency-Key %q was used for another request; send a new key with each new request", key)
	}
	return gotCase, nil
}

// intakePhotos re-encodes the photos sent with a report (EXIF and GPS
// gone), before the intake's transaction starts.
func intakePhotos(uploads [][]byte) ([]cases.Photo, error) {
	if len(uploads) > cases.MaxIntakePhotos {
		return nil, geo.Errorf(geo.EInvalid, "a report may carry at most %d photos, got %d", cases.MaxIntakePhotos, len(uploads))
	}
	var out []cases.Photo
	for i, b := range uploads {
		if len(b) > cases.MaxIntakePhotoBytes {
			return nil, geo.Errorf(geo.ETooLarge, "photo %d is %.1f MB; a report's photos may be at most %d MB each", i+1,
				float64(len(b))/(1<<20), cases.MaxIntakePhotoBytes>>20)
		}
		p, err := cases.ReencodePhoto(b)
		if err != nil {
			return nil, fmt.Errorf("photo %d: %w", i+1, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func duplicates(ctx context.Context, tx pgx.Tx, category string, p orb.Point, now time.Time, self int64) ([]cases.Duplicate, error) {
	dLat := duplicateRadiusM / 111_000 * 1.2
	dLon := dLat / math.Max(math.Cos(p[1]*math.Pi/180), 0.01)
	rows, err := tx.Query(ctx, qDuplicates, category, p[0], p[1], duplicateRadiusM, now.Add(-duplicateWindow), dLat, dLon, self)
	if err != nil {
		return nil, dbErr("data.duplicates", err)
	}
	out := []cases.Duplicate{}
	var d cases.Duplicate
	_, err = pgx.ForEachRow(rows, []any{&d.TrackingCode, &d.State, &d.DistanceM, &d.ReportedAt}, func() error {
		d.TrackingCode = cases.FormatTrackingCode(d.TrackingCode)
		d.DistanceM = math.Round(d.DistanceM*10) / 10
		out = append(out, d)
		return nil
	})
	return out, dbErr("data.duplicates", err)
}

// ---- reading

const qEvents = `SELECT id, version, at, actor_kind, actor_name, actor_role, action, from_state, to_state, note,
  public_note, reason, photos, due, coalesce(tier, 0), coalesce(unit_id, 0), detail
FROM case_event WHERE case_id = $1 ORDER BY id`

func events(ctx context.Context, tx pgx.Tx, caseID int64) ([]cases.EventRecord, error) {
	rows, err := tx.Query(ctx, qEvents, caseID)
	if err != nil {
		return nil, dbErr("data.events", err)
	}
	var out []cases.EventRecord
	var e cases.EventRecord
	var from, to string
	var tier int
	_, err = pgx.ForEachRow(rows, []any{&e.ID, &e.Version, &e.At, &e.ActorKind, &e.ActorName, &e.ActorRole, &e.Action,
		&from, &to, &e.Note, &e.PublicNote, &e.Reason, &e.Photos, &e.Due, &tier, &e.UnitID, &e.Detail}, func() error {
		e.From, e.To, e.Tier = cases.State(from), cases.State(to), cases.Tier(tier)
		if e.Photos == nil {
			e.Photos = []int64{}
		}
		out = append(out, e)
		e = cases.EventRecord{}
		return nil
	})
	return out, dbErr("data.events", err)
}

const qAreaRefs = `SELECT id, level, code, name FROM area WHERE id = ANY($1)`
const qCasePhotos = `SELECT id FROM case_photo WHERE case_id = $1 ORDER BY id`
const qContacts = `SELECT phone FROM case_contact WHERE case_id = $1 ORDER BY id`

// record is the staff view of r; withEvents adds the history. Phones are
// read only when a is the case's handler.
func (s *CaseStore) record(ctx context.Context, tx pgx.Tx, r *caseRow, a access, withEvents bool) (*cases.Record, error) {
	rec := s.baseRecord(r)
	rec.Roles = a.roles
	cat, _ := s.opt.Catalogue.Category(r.Category)
	rec.Actions = cases.AllowedActions(r.machineCase(), a.roles, cat)
	refs, err := areaRefs(ctx, tx, r.Path)
	if err != nil {
		return nil, err
	}
	rec.Areas = refs
	for _, o := range rec.Actions {
		if o.Action == cases.ActionDispatch {
			if rec.DispatchUnits, err = s.dispatchUnits(ctx, tx, r); err != nil {
				return nil, err
			}
		}
	}
	rows, err := tx.Query(ctx, qCasePhotos, r.ID)
	if err != nil {
		return nil, dbErr("data.record", err)
	}
	if rec.Photos, err = pgx.CollectRows(rows, pgx.RowTo[int64]); err != nil {
		return nil, dbErr("data.record", err)
	}
	if rec.Photos == nil {
		rec.Photos = []int64{}
	}
	if a.has(cases.RoleHandler) {
		rows, err := tx.Query(ctx, qContacts, r.ID)
		if err != nil {
			return nil, dbErr("data.record", err)
		}
		if rec.Phones, err = pgx.CollectRows(rows, pgx.RowTo[string]); err != nil {
			return nil, dbErr("data.record", err)
		}
	}
	if withEvents {
		if rec.Events, err = events(ctx, tx, r.ID); err != nil {
			return nil, err
		}
	}
	return rec, nil
}

func (s *CaseStore) baseRecord(r *caseRow) *cases.Record {
	mc := r.machineCase()
	rec := &cases.Record{ID: r.ID, TrackingCode: cases.FormatTrackingCode(r.Code), Category: r.Category, Source: cases.Source(r.Source),
		State: cases.State(r.State), Version: r.Version, Tier: cases.Tier(r.Tier), Stage: r.Stage, Due: r.Due,
		Paused: r.Paused, Overdue: mc.Overdue(s.now()), Lon: r.Lon, Lat: r.Lat, Address: r.Address, Building: r.Building,
		Description: r.Description, Ambiguous: r.Ambiguous, ReportedAt: r.ReportedAt, ClosedAt: r.ClosedAt,
		MergedInto: r.MergedCode, Areas: []geo.AreaRef{}, Photos: []int64{}}
	if r.MergedCode != "" {
		rec.MergedInto = cases.FormatTrackingCode(r.MergedCode)
	}
	if cat, ok := s.opt.Catalogue.Category(r.Category); ok {
		rec.CategoryZh = cat.Zh
	}
	if r.UnitID != nil {
		rec.Unit = &cases.UnitRef{ID: *r.UnitID, Kind: cases.UnitKind(r.UnitKind), Name: r.UnitName, Phone: r.UnitPhone}
	}
	if r.Handler != nil {
		rec.HandlerID, rec.Handler = *r.Handler, r.HandlerName
	}
	if r.Rating != nil {
		rec.Rating = *r.Rating
	}
	if left, ok := s.Machine().Remaining(mc, s.now()); ok && r.FinishedAt == nil {
		m := int64(left / time.Minute)
		rec.WorkingMinutesLeft = &m
	}
	return rec
}

func areaRefs(ctx context.Context, tx pgx.Tx, path []int64) ([]geo.AreaRef, error) {
	rows, err := tx.Query(ctx, qAreaRefs, path)
	if err != nil {
		return nil, dbErr("data.areaRefs", err)
	}
	byID := map[int64]geo.AreaRef{}
	var a geo.AreaRef
	_, err = pgx.ForEachRow(rows, []any{&a.ID, &a.Level, &a.Code, &a.Name}, func() error {
		byID[a.ID] = a
		return nil
	})
	if err != nil {
		return nil, dbErr("data.areaRefs", err)
	}
	out := make([]geo.AreaRef, 0, len(path))
	for _, id := range path {
		if a, ok := byID[id]; ok {
			out = append(out, a)
		}
	}
	return out, nil
}

// readableCase loads case id with q (qCaseByID, or qCaseByIDForUpdate to lock
// it) and the actor's access to it, in tx; a case the actor may not read is
// refused here, for every method that starts from a case id.
func (s *CaseStore) readableCase(ctx context.Context, tx pgx.Tx, staff *cases.Staff, q string, id int64) (*caseRow, access, error) {
	r, err := loadCase(ctx, tx, q, id)
	if err != nil {
		return nil, access{}, err
	}
	a, err := accessTo(ctx, tx, staff, r)
	if err != nil {
		return nil, access{}, err
	}
	if err := a.readable(r.Code); err != nil {
		return nil, access{}, err
	}
	return r, a, nil
}

// Case returns a case with its history for a staff account in whose area it lies.
func (s *CaseStore) Case(ctx context.Context, staff *cases.Staff, id int64) (*cases.Record, error) {
	if staff == nil {
		return nil, geo.Errorf(geo.EUnauthenticated, "sign in to read cases")
	}
	tx, err := s.db.Pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return nil, dbErr("data.Case", err)
	}
	defer tx.Rollback(ctx)
	r, a, err := s.readableCase(ctx, tx, staff, qCaseByID, id)
	if err != nil {
		return nil, err
	}
	return s.record(ctx, tx, r, a, true)
}

// qPublicEvents is the public timeline: dates, actions, states and the
// notes written for the public; never names, roles, internal notes or reasons.
const qPublicEvents = `SELECT at, action, to_state, public_note FROM case_event WHERE case_id = $1 ORDER BY id`

const qCasePhotoCount = `SELECT count(*) FROM case_photo WHERE case_id = $1`

func publicCase(ctx context.Context, tx pgx.Tx, r *caseRow, cat *cases.Catalogue) (*cases.PublicCase, error) {
	p := &cases.PublicCase{TrackingCode: cases.FormatTrackingCode(r.Code), Category: r.Category, State: cases.State(r.State),
		ReportedAt: r.ReportedAt, ClosedAt: r.ClosedAt, Rated: r.Rating != nil, Timeline: []cases.PublicEvent{}}
	if c, ok := cat.Category(r.Category); ok {
		p.CategoryZh, p.CategoryEn = c.Zh, c.En
	}
	if r.MergedCode != "" {
		p.MergedInto = cases.FormatTrackingCode(r.MergedCode)
	}
	p.Unit = r.UnitName
	if !r.Paused && r.FinishedAt == nil && r.ClosedAt == nil {
		p.Due = r.Due
	}
	if err := tx.QueryRow(ctx, qCasePhotoCount, r.ID).Scan(&p.Photos); err != nil {
		return nil, dbErr("data.publicCase", err)
	}
	rows, err := tx.Query(ctx, qPublicEvents, r.ID)
	if err != nil {
		return nil, dbErr("data.publicCase", err)
	}
	var e cases.PublicEvent
	var to string
	_, err = pgx.ForEachRow(rows, []any{&e.At, &e.Action, &to, &e.PublicNote}, func() error {
		e.To = cases.State(to)
		p.Timeline = append(p.Timeline, e)
		return nil
	})
	return p, dbErr("data.publicCase", err)
}

// Track is the public view of a case by tracking code. A merged case answers
// with the case it was merged into (its reporters follow that one).
func (s *CaseStore) Track(ctx context.Context, code string) (*cases.PublicCase, error) {
	norm := cases.NormalizeTrackingCode(code)
	if err := cases.ValidateTrackingCode(norm); err != nil {
		return nil, err
	}
	tx, err := s.db.Pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly, IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return nil, dbErr("data.Track", err)
	}
	defer tx.Rollback(ctx)
	r, err := s.survivor(ctx, tx, norm)
	if err != nil {
		return nil, err
	}
	p, err := publicCase(ctx, tx, r, s.opt.Catalogue)
	if err != nil {
		return nil, err
	}
	if r.Code != norm {
		p.MergedInto, p.TrackingCode = p.TrackingCode, cases.FormatTrackingCode(norm)
	}
	if r.ClosedAt != nil && (p.State == cases.StateClosed || p.State == cases.StateRated) {
		until := s.Machine().Calendar.AddWorkingDays(*r.ClosedAt, s.Machine().Policy.ReopenWithinDays)
		p.ReopenUntil = &until
	}
	return p, nil
}

// survivor loads the case of a tracking code, following merges (at most 32).
func (s *CaseStore) survivor(ctx context.Context, tx pgx.Tx, code string) (*caseRow, error) {
	r, err := loadCase(ctx, tx, qCaseByCode, code)
	if geo.ErrorCode(err) == geo.ENotFound {
		return nil, geo.Errorf(geo.ENotFound, "no case has tracking code %s; check the code on your receipt", cases.FormatTrackingCode(code))
	}
	for i := 0; err == nil && r.MergedInto != nil && i < 32; i++ {
		r, err = loadCase(ctx, tx, qCaseByID, *r.MergedInto)
	}
	return r, err
}

// ---- transitions

const qUpdateCase = `UPDATE case_report SET state = $3, version = $4, tier = $5, stage = $6, due = $7, paused = $8,
  remaining_ms = $9, pending_due = $10, unit_id = $11, handler_user_id = $12, responded_at = $13, accepted_at = $14,
  closed_at = $15, finished_at = $16, missed_deadline = $17,
  closed_on_time = CASE WHEN $15::timestamptz IS NULL THEN NULL ELSE coalesce($18, closed_on_time) END, merged_into = $19, rating = $20,
  geom = ST_SetSRID(ST_MakePoint($21, $22), 4326), category = $23, grid_id = $24, area_path = $25, ambiguous = $26,
  updated_at = $27
WHERE id = $1 AND version = $2`

// save writes r (already changed) guarded by the version it was read at.
func save(ctx context.Context, tx pgx.Tx, r *caseRow, readVersion int64, closedOnTime *bool, now time.Time) error {
	tag, err := tx.Exec(ctx, qUpdateCase, r.ID, readVersion, r.State, r.Version, r.Tier, r.Stage, r.Due, r.Paused,
		r.RemainingMS, r.PendingDue, r.UnitID, r.Handler, r.RespondedAt, r.AcceptedAt, r.ClosedAt, r.FinishedAt, r.Missed,
		closedOnTime, r.MergedInto, r.Rating, r.Lon, r.Lat, r.Category, r.GridID, r.Path, r.Ambiguous, now)
	if err != nil {
		return dbErr("data.save", err)
	}
	if tag.RowsAffected() != 1 {
		return &geo.Error{Code: geo.EConflict, Message: fmt.Sprintf("case %s was changed meanwhile; reload it and try again", cases.FormatTrackingCode(r.Code))}
	}
	return nil
}

// apply folds a machine transition into the row.
func apply(r *caseRow, next cases.State, clk cases.Clock, ev cases.Event, now time.Time, wasOverdue bool) {
	c := r.machineCase().Apply(next, clk, ev)
	r.State, r.Version = string(c.State), c.Version
	r.Tier, r.Stage, r.Due, r.Paused = int(c.Clock.Tier), c.Clock.Stage, timePtr(c.Clock.Due), c.Clock.Paused
	r.RemainingMS = c.Clock.Remaining.Milliseconds()
	r.PendingDue, r.ClosedAt = timePtr(c.PendingDue), timePtr(c.ClosedAt)
	if c.Rating > 0 {
		rt := c.Rating
		r.Rating = &rt
	} else {
		r.Rating = nil
	}
	if wasOverdue || ev.Action == cases.ActionEscalate {
		r.Missed = true
	}
	switch {
	case c.State.Finished() && r.FinishedAt == nil:
		r.FinishedAt = &now
	case !c.State.Finished():
		r.FinishedAt = nil
	}
	if ev.Action == cases.ActionAccept {
		r.AcceptedAt = &now
	}
}

// Act runs one action on a case for a staff account: the account's role on
// the case and its scope are read in the transaction that locks the case;
// the machine checks version, table, role and inputs; the row is written
// guarded by its version, with the event and any notification.
func (s *CaseStore) Act(ctx context.Context, staff *cases.Staff, id int64, req cases.ActionRequest) (*cases.Record, error) {
	if staff == nil {
		return nil, geo.Errorf(geo.EUnauthenticated, "sign in to act on cases")
	}
	if err := checkText("note", req.Note, maxNote, false); err != nil {
		return nil, err
	}
	if err := checkText("public_note", req.PublicNote, maxNote, false); err != nil {
		return nil, err
	}
	if err := checkText("reason", req.Reason, maxNote, false); err != nil {
		return nil, err
	}
	if len(req.Photos) > cases.MaxPhotosPerEvent {
		return nil, geo.Errorf(geo.EInvalid, "at most %d photos per action, got %d", cases.MaxPhotosPerEvent, len(req.Photos))
	}
	now := s.now()
	tx, err := s.db.Pool.Begin(ctx)
	if err != nil {
		return nil, dbErr("data.Act", err)
	}
	defer tx.Rollback(ctx)
	r, a, err := s.readableCase(ctx, tx, staff, qCaseByIDForUpdate, id)
	if err != nil {
		return nil, err
	}
	if a.user.Role == geo.UserViewer {
		return nil, geo.Errorf(geo.EForbidden, "account %s may only read", a.user.Name)
	}
	done := false // a retry of an action done: the case as it is now, not a second action
	if req.IdempotencyKey != "" {
		first, err := claimRequestKey(ctx, tx, req.IdempotencyKey, "action", staff, r.ID, now)
		if err != nil {
			return nil, err
		}
		done = first != 0
	}
	if !done {
		if r, a, err = s.apply(ctx, tx, staff, r, a, req, now); err != nil {
			return nil, err
		}
	}
	rec, err := s.record(ctx, tx, r, a, true)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, dbErr("data.Act", err)
	}
	return rec, nil
}

// apply does req to the locked case r and returns the case as it is after it.
func (s *CaseStore) apply(ctx context.Context, tx pgx.Tx, staff *cases.Staff, r *caseRow, a access, req cases.ActionRequest, now time.Time) (*caseRow, access, error) {
	if err := checkPhotos(ctx, tx, r.ID, req.Photos); err != nil {
		return nil, a, err
	}
	var err error
	switch req.Action {
	case cases.ActionRelocate, cases.ActionRecategorize:
		err = s.reroute(ctx, tx, r, a, req, now)
	default:
		err = s.transition(ctx, tx, r, a, req, now)
	}
	if err != nil {
		return nil, a, contended(err)
	}
	if r, err = loadCase(ctx, tx, qCaseByID, r.ID); err != nil {
		return nil, a, err
	}
	a, err = accessTo(ctx, tx, staff, r)
	return r, a, err
}

const qPhotoOwners = `SELECT count(*) FROM case_photo WHERE id = ANY($1) AND case_id = $2`

func checkPhotos(ctx context.Context, tx pgx.Tx, caseID int64, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	var n int
	if err := tx.QueryRow(ctx, qPhotoOwners, ids, caseID).Scan(&n); err != nil {
		return dbErr("data.checkPhotos", err)
	}
	if n != len(ids) {
		return geo.Errorf(geo.EInvalid, "photos must be uploaded to this case first (POST /api/v1/cases/%d/photos); %d of %d are not", caseID, len(ids)-n, len(ids))
	}
	return nil
}

const qCaseIDByCode = `SELECT id FROM case_report WHERE tracking_code = $1`
const qUnitExists = `SELECT EXISTS (SELECT 1 FROM unit WHERE id = $1 AND active)`

func (s *CaseStore) transition(ctx context.Context, tx pgx.Tx, r *caseRow, a access, req cases.ActionRequest, now time.Time) error {
	m := s.Machine()
	mc := r.machineCase()
	actor := cases.Actor{ID: a.user.ID, Name: a.user.Name, Role: a.roleFor(mc.State, req.Action)}
	photos := make([]string, len(req.Photos))
	for i, p := range req.Photos {
		photos[i] = fmt.Sprint(p)
	}
	in := cases.Input{Version: req.Version, Reason: req.Reason, Note: req.Note, Photos: photos, Due: req.Deadline,
		MergedInto: req.MergedInto, Rating: 0}
	next, clk, ev, err := m.Transition(mc, req.Action, actor, in, now)
	if err != nil {
		return err
	}
	readVersion := r.Version
	wasOverdue := mc.Overdue(now)
	var target *caseRow
	if req.Action == cases.ActionMerge {
		var tid int64
		if err := tx.QueryRow(ctx, qCaseIDByCode, ev.MergedInto).Scan(&tid); err != nil {
			if err == pgx.ErrNoRows {
				return geo.Errorf(geo.EInvalid, "no case has tracking code %s", cases.FormatTrackingCode(ev.MergedInto))
			}
			return dbErr("data.Act", err)
		}
		if target, err = loadCase(ctx, tx, qCaseByIDForUpdate, tid); err != nil {
			return err
		}
		if cases.State(target.State).Finished() {
			return geo.Errorf(geo.EConflict, "case %s is %s: merge into an open case", cases.FormatTrackingCode(target.Code), target.State)
		}
		if ta, err := accessTo(ctx, tx, &a.user, target); err != nil {
			return err
		} else if !ta.inScope {
			return geo.Errorf(geo.EForbidden, "case %s lies outside your area", cases.FormatTrackingCode(target.Code))
		}
		r.MergedInto = &target.ID
	}
	apply(r, next, clk, ev, now, wasOverdue)
	if r.RespondedAt == nil {
		r.RespondedAt = &now
	}
	switch req.Action {
	case cases.ActionDispatch:
		unit := int64(0)
		if req.ToUnit != 0 {
			var ok bool
			if err := tx.QueryRow(ctx, qUnitExists, req.ToUnit).Scan(&ok); err != nil {
				return dbErr("data.Act", err)
			}
			if !ok {
				return geo.Errorf(geo.EInvalid, "no active unit %d", req.ToUnit)
			}
			unit = req.ToUnit
		} else if unit, err = s.route(ctx, tx, r.Path, cases.Tier(r.Tier), r.Category); err != nil {
			return err
		}
		if unit == 0 {
			return geo.Errorf(geo.EConflict, "no unit covers case %s; give to_unit or create a unit for its area", cases.FormatTrackingCode(r.Code))
		}
		r.UnitID, r.Handler = &unit, nil
	case cases.ActionStart:
		r.Handler = &a.user.ID
	case cases.ActionReturn:
		r.Handler = nil
	}
	var onTime *bool
	if req.Action == cases.ActionClose || cases.State(r.State) == cases.StateRated {
		v := !r.Missed
		onTime = &v
	} else if r.ClosedAt != nil {
		v := !r.Missed
		onTime = &v
	}
	if err := save(ctx, tx, r, readVersion, onTime, now); err != nil {
		return err
	}
	e := eventRow{CaseID: r.ID, Version: ev.Version, At: now, ActorKind: "staff", ActorUser: &a.user.ID, ActorName: a.user.Name,
		ActorRole: string(actor.Role), Action: string(req.Action), From: string(ev.From), To: string(ev.To), Note: ev.Note,
		PublicNote: req.PublicNote, Reason: ev.Reason, Photos: req.Photos, Due: timePtr(ev.Due), Tier: int(ev.Tier), UnitID: r.UnitID}
	if ev.MergedInto != "" {
		e.Detail = map[string]any{"merged_into": ev.MergedInto}
	}
	if !ev.RequestedDue.IsZero() {
		e.Detail = map[string]any{"requested_due": ev.RequestedDue}
	}
	if err := insertEvent(ctx, tx, e); err != nil {
		return err
	}
	if target != nil {
		if err := s.mergeInto(ctx, tx, r, target, a, now); err != nil {
			return err
		}
	}
	if req.Action == cases.ActionDispatch && r.UnitID != nil {
		return notify(ctx, tx, r, *r.UnitID, "dispatched", now, map[string]any{"due": r.Due})
	}
	return nil
}

const (
	qMoveContacts  = `UPDATE case_contact SET case_id = $2 WHERE case_id = $1`
	qFollowMerges  = `UPDATE case_report SET merged_into = $2 WHERE merged_into = $1`
	qTargetVersion = `SELECT version FROM case_report WHERE id = $1`
)

// mergeInto moves every reporter of src (and of cases merged into src
// before) to target, and records the merge on target.
func (s *CaseStore) mergeInto(ctx context.Context, tx pgx.Tx, src, target *caseRow, a access, now time.Time) error {
	if _, err := tx.Exec(ctx, qMoveContacts, src.ID, target.ID); err != nil {
		return dbErr("data.merge", err)
	}
	if _, err := tx.Exec(ctx, qFollowMerges, src.ID, target.ID); err != nil {
		return dbErr("data.merge", err)
	}
	return insertEvent(ctx, tx, eventRow{CaseID: target.ID, Version: target.Version, At: now, ActorKind: "staff",
		ActorUser: &a.user.ID, ActorName: a.user.Name, Action: string(cases.EventMergedIn), From: target.State, To: target.State,
		Detail: map[string]any{"merged": src.Code}})
}

// reroute moves a case to a new location or category (dispatcher or
// supervisor, open cases): it is placed again by the border rule and routed
// to the unit of its tier, with an event.
func (s *CaseStore) reroute(ctx context.Context, tx pgx.Tx, r *caseRow, a access, req cases.ActionRequest, now time.Time) error {
	if req.Version != r.Version {
		return &geo.Error{Code: geo.EConflict, Message: fmt.Sprintf("case %s was changed meanwhile: it is now %s (version %d, you saw version %d); reload it and try again",
			cases.FormatTrackingCode(r.Code), r.State, r.Version, req.Version), Details: map[string]any{"state": r.State, "version": r.Version}}
	}
	if !a.has(cases.RoleDispatcher) && !a.has(cases.RoleSupervisor) {
		return geo.Errorf(geo.EForbidden, "only dispatcher or supervisor may %s a case", req.Action)
	}
	if cases.State(r.State).Finished() {
		return geo.Errorf(geo.EConflict, "case %s is %s: it can no longer be moved", cases.FormatTrackingCode(r.Code), r.State)
	}
	detail := map[string]any{}
	switch req.Action {
	case cases.ActionRelocate:
		if req.Lon == nil || req.Lat == nil {
			return geo.Errorf(geo.EInvalid, "relocate needs lon and lat")
		}
		if err := geo.ValidateLonLat(*req.Lon, *req.Lat); err != nil {
			return err
		}
		detail["from"] = []float64{r.Lon, r.Lat}
		r.Lon, r.Lat = *req.Lon, *req.Lat
		detail["to"] = []float64{r.Lon, r.Lat}
		pl, err := place(ctx, tx, orb.Point{r.Lon, r.Lat}, s.opt.Hierarchy)
		if err != nil {
			return err
		}
		if a.user.Role != geo.UserAdmin && a.user.ScopeAreaID != 0 && !containsID(pl.path(), a.user.ScopeAreaID) {
			return geo.Errorf(geo.EForbidden, "the new location lies in %s, outside your area", pl.Grid.Name)
		}
		detail["from_grid"], detail["to_grid"] = gridCode(ctx, tx, r.GridID), pl.Grid.Code
		r.GridID, r.Path, r.Ambiguous = &pl.Grid.ID, pl.path(), pl.Ambiguous
	case cases.ActionRecategorize:
		cat, ok := s.opt.Catalogue.Category(req.Category)
		if !ok {
			return geo.Errorf(geo.EInvalid, "unknown category %q", req.Category)
		}
		detail["from"], detail["to"] = r.Category, cat.Code
		r.Category = cat.Code
		switch cases.State(r.State) {
		case cases.StateReported, cases.StateAccepted, cases.StateReturned, cases.StateReopened:
			r.Tier = int(cat.Tier) // not yet being handled: the new category's tier
		}
	}
	unit, err := s.route(ctx, tx, r.Path, cases.Tier(r.Tier), r.Category)
	if err != nil {
		return err
	}
	before := r.UnitID
	if unit != 0 && (before == nil || *before != unit) {
		r.UnitID, r.Handler = &unit, nil
		detail["from_unit"], detail["to_unit"] = before, unit
	}
	read := r.Version
	r.Version++
	if r.RespondedAt == nil {
		r.RespondedAt = &now
	}
	if err := save(ctx, tx, r, read, nil, now); err != nil {
		return err
	}
	if err := insertEvent(ctx, tx, eventRow{CaseID: r.ID, Version: r.Version, At: now, ActorKind: "staff", ActorUser: &a.user.ID,
		ActorName: a.user.Name, ActorRole: string(deskRole(a)), Action: string(req.Action),
		From: r.State, To: r.State, Note: req.Note, PublicNote: req.PublicNote, Tier: r.Tier, UnitID: r.UnitID, Detail: detail}); err != nil {
		return err
	}
	if r.UnitID != nil && (before == nil || *before != *r.UnitID) {
		return notify(ctx, tx, r, *r.UnitID, "rerouted", now, nil)
	}
	return nil
}

// deskRole is the role a re-routing is done in: dispatcher, else supervisor.
func deskRole(a access) cases.Role {
	if a.has(cases.RoleDispatcher) {
		return cases.RoleDispatcher
	}
	return cases.RoleSupervisor
}

func gridCode(ctx context.Context, tx pgx.Tx, id *int64) string {
	if id == nil {
		return ""
	}
	var code string
	_ = tx.QueryRow(ctx, `SELECT code FROM area WHERE id = $1`, *id).Scan(&code)
	return code
}

// Rate records the reporter's rating by tracking code (a merged case's
// reporter rates the surviving case).
func (s *CaseStore) Rate(ctx context.Context, code string, rating int, note string) (*cases.PublicCase, error) {
	if err := checkText("note", note, maxNote, false); err != nil {
		return nil, err
	}
	return s.reporterAct(ctx, "data.Rate", code, cases.ActionRate, cases.Input{Rating: rating, Note: note},
		eventRow{Note: note, Detail: map[string]any{"rating": rating}})
}

// Reopen is the reporter's "not solved" by tracking code: a closed or rated
// case goes back to the dispatcher, within the reopening window the machine
// allows; the reason is required and shown to staff.
func (s *CaseStore) Reopen(ctx context.Context, code string, reason string) (*cases.PublicCase, error) {
	if err := checkText("reason", reason, maxNote, false); err != nil {
		return nil, err
	}
	return s.reporterAct(ctx, "data.Reopen", code, cases.ActionReopen, cases.Input{Reason: reason},
		eventRow{Reason: reason})
}

// reporterAct runs one of the reporter's actions (by tracking code, without
// an account) in one transaction: the surviving case locked, the machine's
// transition, the case saved against its version and the event appended.
func (s *CaseStore) reporterAct(ctx context.Context, op, code string, action cases.Action, in cases.Input, ev0 eventRow) (*cases.PublicCase, error) {
	norm := cases.NormalizeTrackingCode(code)
	if err := cases.ValidateTrackingCode(norm); err != nil {
		return nil, err
	}
	now := s.now()
	tx, err := s.db.Pool.Begin(ctx)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer tx.Rollback(ctx)
	r, err := s.survivor(ctx, tx, norm)
	if err != nil {
		return nil, err
	}
	if r, err = loadCase(ctx, tx, qCaseByIDForUpdate, r.ID); err != nil {
		return nil, err
	}
	mc := r.machineCase()
	in.Version = mc.Version
	next, clk, ev, err := s.Machine().Transition(mc, action, cases.Actor{Role: cases.RoleReporter}, in, now)
	if err != nil {
		return nil, err
	}
	read := r.Version
	apply(r, next, clk, ev, now, false)
	if err := save(ctx, tx, r, read, ptrBool(!r.Missed), now); err != nil {
		return nil, err
	}
	row := ev0
	row.CaseID, row.Version, row.At, row.ActorKind = r.ID, ev.Version, now, "reporter"
	row.ActorRole, row.Action, row.From, row.To = string(cases.RoleReporter), string(action), string(ev.From), string(ev.To)
	if err := insertEvent(ctx, tx, row); err != nil {
		return nil, err
	}
	p, err := publicCase(ctx, tx, r, s.opt.Catalogue)
	if err != nil {
		return nil, err
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, dbErr(op, err)
	}
	return p, nil
}

func ptrBool(b bool) *bool { return &b }

// ---- photos

const qInsertCasePhoto = `INSERT INTO case_photo (case_id, content_type, bytes, width, height, created_at)
VALUES ($1, $2, $3, $4, $5, $6) RETURNING id`

// AddPhoto re-encodes an uploaded photo (EXIF and GPS gone) and stores it
// for the case; staff in whose area the case lies, not viewers.
func (s *CaseStore) AddPhoto(ctx context.Context, staff *cases.Staff, id int64, body []byte) (int64, error) {
	if staff == nil {
		return 0, geo.Errorf(geo.EUnauthenticated, "sign in to add photos")
	}
	p, err := cases.ReencodePhoto(body)
	if err != nil {
		return 0, err
	}
	tx, err := s.db.Pool.Begin(ctx)
	if err != nil {
		return 0, dbErr("data.AddPhoto", err)
	}
	defer tx.Rollback(ctx)
	r, a, err := s.readableCase(ctx, tx, staff, qCaseByID, id)
	if err != nil {
		return 0, err
	}
	if len(a.roles) == 0 {
		return 0, geo.Errorf(geo.EForbidden, "you have no role on case %s", cases.FormatTrackingCode(r.Code))
	}
	var pid int64
	if err := tx.QueryRow(ctx, qInsertCasePhoto, id, p.ContentType, p.Bytes, p.Width, p.Height, s.now()).Scan(&pid); err != nil {
		return 0, dbErr("data.AddPhoto", err)
	}
	return pid, dbErr("data.AddPhoto", tx.Commit(ctx))
}

const qCasePhotoBytes = `SELECT case_id, content_type, bytes FROM case_photo WHERE id = $1`

// Photo returns a case photo to staff in whose area the case lies.
func (s *CaseStore) Photo(ctx context.Context, staff *cases.Staff, id int64) (string, []byte, error) {
	if staff == nil {
		return "", nil, geo.Errorf(geo.EUnauthenticated, "sign in to see case photos")
	}
	tx, err := s.db.Pool.BeginTx(ctx, pgx.TxOptions{AccessMode: pgx.ReadOnly})
	if err != nil {
		return "", nil, dbErr("data.Photo", err)
	}
	defer tx.Rollback(ctx)
	var caseID int64
	var ct string
	var b []byte
	if err := tx.QueryRow(ctx, qCasePhotoBytes, id).Scan(&caseID, &ct, &b); err != nil {
		if err == pgx.ErrNoRows {
			return "", nil, geo.Errorf(geo.ENotFound, "no case photo %d", id)
		}
		return "", nil, dbErr("data.Photo", err)
	}
	if _, _, err := s.readableCase(ctx, tx, staff, qCaseByID, caseID); err != nil {
		return "", nil, err
	}
	return ct, b, nil
}
