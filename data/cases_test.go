package data_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"gridmap/calendar"
	"gridmap/cases"
	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/demo"
	"gridmap/geo"
)

// fakeClock is the injectable clock of the case store: tests move it.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *fakeClock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
	return c.t
}

// caseFix is the demo subdistrict with units for one grid's chain and staff
// accounts with their unit roles.
type caseFix struct {
	db    *data.DB
	url   string
	store *data.CaseStore
	clock *fakeClock
	// the chain of the grid used: district, subdistrict, community, grid
	chain []geo.AreaRef
	point orb.Point   // interior point of the grid
	other geo.AreaRef // a grid of another community
	units map[string]int64
	users map[string]*geo.User
}

var shanghai = calendar.Shanghai()

// monday10 is Monday 2 March 2026, 10:00 in Shanghai: a working day.
var monday10 = time.Date(2026, 3, 2, 10, 0, 0, 0, shanghai)

const qFirstGrid = `
SELECT a.id, ST_X(ST_PointOnSurface(v.geom)), ST_Y(ST_PointOnSurface(v.geom)) FROM area a
JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL
WHERE a.level = 'grid' ORDER BY a.code LIMIT 1`

const qChainOf = `
WITH RECURSIVE up AS (
    SELECT id, parent_id, level, code, name, 0 AS n FROM area WHERE id = $1
    UNION ALL SELECT a.id, a.parent_id, a.level, a.code, a.name, up.n + 1 FROM area a JOIN up ON a.id = up.parent_id)
SELECT id, level, code, name FROM up ORDER BY n DESC`

const qOtherCommunityGrid = `
SELECT a.id, a.level, a.code, a.name FROM area a WHERE a.level = 'grid' AND a.parent_id <> $1 ORDER BY a.code LIMIT 1`

func chainOf(t *testing.T, db *data.DB, id int64) []geo.AreaRef {
	t.Helper()
	rows, err := db.Pool.Query(context.Background(), qChainOf, id)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []geo.AreaRef
	for rows.Next() {
		var a geo.AreaRef
		if err := rows.Scan(&a.ID, &a.Level, &a.Code, &a.Name); err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

func newCaseFix(t *testing.T, name string) *caseFix {
	t.Helper()
	ctx := context.Background()
	db, u := dbtest.New(t, name)
	dbtest.LoadDemo(t, db, demo.Options{})
	f := &caseFix{db: db, url: u, clock: &fakeClock{t: monday10}, units: map[string]int64{}, users: map[string]*geo.User{}}
	var gridID int64
	if err := db.Pool.QueryRow(ctx, qFirstGrid).Scan(&gridID, &f.point[0], &f.point[1]); err != nil {
		t.Fatal(err)
	}
	f.chain = chainOf(t, db, gridID)
	if len(f.chain) != 4 {
		t.Fatalf("chain of the first grid: %v, want district, subdistrict, community, grid", f.chain)
	}
	if err := db.Pool.QueryRow(ctx, qOtherCommunityGrid, f.chain[2].ID).Scan(&f.other.ID, &f.other.Level, &f.other.Code, &f.other.Name); err != nil {
		t.Fatal(err)
	}
	store, err := data.NewCaseStore(ctx, db, data.CaseOptions{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f.store = store
	auth := data.NewAuthService(db)
	mk := func(key string, role geo.UserRole, scope string) *geo.User {
		u, err := auth.CreateUser(ctx, geo.NewUser{Name: key, Password: "correct horse battery", Role: role, ScopeCode: scope})
		if err != nil {
			t.Fatalf("CreateUser %s: %v", key, err)
		}
		f.users[key] = u
		return u
	}
	admin := mk("admin", geo.UserAdmin, "")
	mk("dispatcher", geo.UserEditor, f.chain[1].Code)
	mk("supervisor", geo.UserEditor, f.chain[1].Code)
	mk("gridworker", geo.UserEditor, f.chain[2].Code)
	mk("community", geo.UserEditor, f.chain[2].Code)
	mk("viewer", geo.UserViewer, f.chain[1].Code)
	mk("outsider", geo.UserEditor, f.other.Code)
	for _, u := range []struct {
		key, kind string
		area      geo.AreaRef
	}{
		{"grid", "grid_team", f.chain[3]}, {"community", "community", f.chain[2]},
		{"subdistrict", "subdistrict", f.chain[1]}, {"district", "district", f.chain[0]},
		{"other_grid", "grid_team", f.other},
	} {
		id, err := store.CreateUnit(ctx, admin, data.UnitInput{Kind: u.kind, Name: u.key + " unit", AreaCode: u.area.Code, Phone: "02100000000"})
		if err != nil {
			t.Fatalf("CreateUnit %s: %v", u.key, err)
		}
		f.units[u.key] = id
	}
	for _, m := range []struct {
		unit, user string
		role       cases.Role
	}{
		{"subdistrict", "dispatcher", cases.RoleDispatcher},
		{"subdistrict", "supervisor", cases.RoleSupervisor},
		{"grid", "gridworker", cases.RoleHandler},
		{"grid", "gridworker", cases.RoleGridWorker},
		{"community", "community", cases.RoleHandler},
		{"subdistrict", "viewer", cases.RoleDispatcher}, // a viewer account stays read-only whatever its unit role
		{"other_grid", "outsider", cases.RoleHandler},
	} {
		if err := store.AddUnitMember(ctx, admin, f.units[m.unit], f.users[m.user].ID, m.role); err != nil {
			t.Fatal(err)
		}
	}
	return f
}

func (f *caseFix) intake(t *testing.T, staff *geo.User, in cases.Intake) *cases.IntakeResult {
	t.Helper()
	if in.Category == "" {
		in.Category = "exposed_rubbish"
	}
	if in.Point == (orb.Point{}) {
		in.Point = f.point
	}
	if in.Description == "" {
		in.Description = "楼下垃圾堆放三天无人清理"
	}
	res, err := f.store.Intake(context.Background(), staff, in)
	if err != nil {
		t.Fatalf("Intake: %v", err)
	}
	return res
}

func (f *caseFix) caseID(t *testing.T, code string) int64 {
	t.Helper()
	var id int64
	if err := f.db.Pool.QueryRow(context.Background(), `SELECT id FROM case_report WHERE tracking_code = $1`, cases.NormalizeTrackingCode(code)).Scan(&id); err != nil {
		t.Fatal(err)
	}
	return id
}

// act runs an action and fails the test unless it succeeds.
func (f *caseFix) act(t *testing.T, user string, id int64, req cases.ActionRequest) *cases.Record {
	t.Helper()
	if req.Version == 0 {
		rec, err := f.store.Case(context.Background(), f.users["admin"], id)
		if err != nil {
			t.Fatal(err)
		}
		req.Version = rec.Version
	}
	rec, err := f.store.Act(context.Background(), f.users[user], id, req)
	if err != nil {
		t.Fatalf("%s %s: %v", user, req.Action, err)
	}
	return rec
}

func (f *caseFix) photo(t *testing.T, user string, id int64) int64 {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	img.Set(3, 3, color.RGBA{200, 10, 10, 255})
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, nil); err != nil {
		t.Fatal(err)
	}
	pid, err := f.store.AddPhoto(context.Background(), f.users[user], id, buf.Bytes())
	if err != nil {
		t.Fatalf("AddPhoto: %v", err)
	}
	return pid
}

// dispatched takes an anonymous report through accept and dispatch to the grid team.
func (f *caseFix) dispatched(t *testing.T, in cases.Intake) int64 {
	t.Helper()
	res := f.intake(t, nil, in)
	id := f.caseID(t, res.TrackingCode)
	f.act(t, "dispatcher", id, cases.ActionRequest{Action: cases.ActionAccept})
	f.act(t, "dispatcher", id, cases.ActionRequest{Action: cases.ActionDispatch})
	return id
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := geo.ErrorCode(err); got != code {
		t.Fatalf("got error %q (%v), want %q", got, err, code)
	}
}

func TestCaseTransitionsPerRole(t *testing.T) {
	f := newCaseFix(t, "cases_roles")
	ctx := context.Background()
	res := f.intake(t, nil, cases.Intake{Phone: "138 0013 8000", Address: "幸福路1号"})
	if res.Public.State != cases.StateReported || res.Record != nil {
		t.Fatalf("anonymous intake: state %s, record %v; want reported and no staff record", res.Public.State, res.Record)
	}
	id := f.caseID(t, res.TrackingCode)
	rec, err := f.store.Case(ctx, f.users["dispatcher"], id)
	if err != nil {
		t.Fatal(err)
	}
	if rec.Unit == nil || rec.Unit.ID != f.units["grid"] || rec.Areas[3].ID != f.chain[3].ID || rec.Tier != cases.TierGrid {
		t.Fatalf("routing: unit %+v areas %v tier %d; want the grid team of %s at tier 1", rec.Unit, rec.Areas, rec.Tier, f.chain[3].Code)
	}

	refused := []struct {
		name, user string
		action     cases.Action
		code       string
	}{
		{"viewer may only read", "viewer", cases.ActionAccept, geo.EForbidden},
		{"outside the account's area", "outsider", cases.ActionAccept, geo.EForbidden},
		{"a handler does not register cases", "gridworker", cases.ActionAccept, geo.EForbidden},
		{"not possible in state reported", "dispatcher", cases.ActionStart, geo.EConflict},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			_, err := f.store.Act(ctx, f.users[c.user], id, cases.ActionRequest{Action: c.action, Version: 1})
			wantCode(t, err, c.code)
		})
	}
	if _, err := f.store.Case(ctx, f.users["outsider"], id); geo.ErrorCode(err) != geo.EForbidden {
		t.Errorf("outsider reads the case: %v, want forbidden", err)
	}

	rec = f.act(t, "dispatcher", id, cases.ActionRequest{Action: cases.ActionAccept, Version: 1})
	if rec.State != cases.StateAccepted || rec.Version != 2 {
		t.Fatalf("after accept: %s v%d, want accepted v2", rec.State, rec.Version)
	}
	// A stale version: 409 with the current state.
	_, err = f.store.Act(ctx, f.users["dispatcher"], id, cases.ActionRequest{Action: cases.ActionDispatch, Version: 1})
	wantCode(t, err, geo.EConflict)
	if ge := err.(interface{ Error() string }); !strings.Contains(ge.Error(), "accepted") {
		t.Errorf("stale-version error %q does not name the current state", ge.Error())
	}
	f.act(t, "dispatcher", id, cases.ActionRequest{Action: cases.ActionDispatch, Version: 2})
	_, err = f.store.Act(ctx, f.users["community"], id, cases.ActionRequest{Action: cases.ActionStart, Version: 3})
	wantCode(t, err, geo.EForbidden) // the community is not the unit it is dispatched to
	rec = f.act(t, "gridworker", id, cases.ActionRequest{Action: cases.ActionStart, Version: 3})
	if rec.HandlerID != f.users["gridworker"].ID || len(rec.Phones) != 1 || rec.Phones[0] != "13800138000" {
		t.Fatalf("after start: handler %d phones %v; want the grid worker and the reporter's phone", rec.HandlerID, rec.Phones)
	}
	_, err = f.store.Act(ctx, f.users["gridworker"], id, cases.ActionRequest{Action: cases.ActionHandle, Version: 4})
	wantCode(t, err, geo.EInvalid) // exposed rubbish needs a photo of the result
	_, err = f.store.Act(ctx, f.users["gridworker"], id, cases.ActionRequest{Action: cases.ActionHandle, Version: 4, Photos: []int64{999999}})
	wantCode(t, err, geo.EInvalid) // not a photo of this case
	p1 := f.photo(t, "gridworker", id)
	f.clock.Add(time.Hour)
	f.act(t, "gridworker", id, cases.ActionRequest{Action: cases.ActionHandle, Version: 4, Photos: []int64{p1}, PublicNote: "垃圾已清运"})
	p2 := f.photo(t, "gridworker", id)
	f.act(t, "gridworker", id, cases.ActionRequest{Action: cases.ActionVerify, Version: 5, Photos: []int64{p2}, Note: "内部：现场核查"})
	_, err = f.store.Act(ctx, f.users["gridworker"], id, cases.ActionRequest{Action: cases.ActionClose, Version: 6})
	wantCode(t, err, geo.EForbidden)
	rec = f.act(t, "supervisor", id, cases.ActionRequest{Action: cases.ActionClose, Version: 6})
	if rec.State != cases.StateClosed || rec.ClosedAt == nil {
		t.Fatalf("after close: %s, closed at %v", rec.State, rec.ClosedAt)
	}
	if _, err := f.store.Rate(ctx, res.TrackingCode, 6, ""); geo.ErrorCode(err) != geo.EInvalid {
		t.Errorf("rating 6: %v, want invalid", err)
	}
	pub, err := f.store.Rate(ctx, strings.ToLower(res.TrackingCode), 5, "很快")
	if err != nil || pub.State != cases.StateRated {
		t.Fatalf("Rate: %v %v", pub, err)
	}
	rec, err = f.store.Case(ctx, f.users["dispatcher"], id)
	if err != nil {
		t.Fatal(err)
	}
	var actions []string
	for _, e := range rec.Events {
		actions = append(actions, e.Action)
	}
	want := "report accept dispatch start handle verify close rate"
	if got := strings.Join(actions, " "); got != want {
		t.Errorf("events: %s, want %s", got, want)
	}
	if len(rec.Phones) != 0 {
		t.Errorf("the dispatcher sees phones %v; only the handler may", rec.Phones)
	}

	// Not solved: the reporter reopens by tracking code, with a reason, and
	// the case goes back to the dispatcher.
	if _, err := f.store.Reopen(ctx, res.TrackingCode, ""); geo.ErrorCode(err) != geo.EInvalid {
		t.Errorf("reopen without a reason: %v, want invalid", err)
	}
	pub, err = f.store.Reopen(ctx, res.TrackingCode, "垃圾又堆起来了")
	if err != nil || pub.State != cases.StateReopened {
		t.Fatalf("Reopen: %v %v, want state %s", pub, err, cases.StateReopened)
	}
	rec, err = f.store.Case(ctx, f.users["dispatcher"], id)
	if err != nil {
		t.Fatal(err)
	}
	if last := rec.Events[len(rec.Events)-1]; last.Action != string(cases.ActionReopen) {
		t.Errorf("last event %s, want %s", last.Action, cases.ActionReopen)
	}
	if _, err := f.store.Reopen(ctx, res.TrackingCode, "again"); geo.ErrorCode(err) != geo.EConflict {
		t.Errorf("reopening a reopened case: %v, want conflict", err)
	}
}

func TestCaseEventLogAppendOnly(t *testing.T) {
	f := newCaseFix(t, "cases_log")
	ctx := context.Background()
	res := f.intake(t, nil, cases.Intake{})
	id := f.caseID(t, res.TrackingCode)
	for _, q := range []string{
		`UPDATE case_event SET note = 'rewritten' WHERE case_id = $1`,
		`DELETE FROM case_event WHERE case_id = $1`,
	} {
		if _, err := f.db.Pool.Exec(ctx, q, id); err == nil || !strings.Contains(err.Error(), "append-only") {
			t.Errorf("%s: got %v, want the append-only refusal", q, err)
		}
	}
	if _, err := f.db.Pool.Exec(ctx, `TRUNCATE case_event CASCADE`); err == nil {
		t.Error("TRUNCATE case_event succeeded")
	}
	var n int
	if err := f.db.Pool.QueryRow(ctx, `SELECT count(*) FROM case_event WHERE case_id = $1 AND note = ''`, id).Scan(&n); err != nil || n != 1 {
		t.Errorf("events of the case after the attempts: %d (%v), want the 1 original", n, err)
	}
}

func TestCaseEscalationByClock(t *testing.T) {
	f := newCaseFix(t, "cases_escalation")
	ctx := context.Background()
	id := f.dispatched(t, cases.Intake{})
	rec, err := f.store.Case(ctx, f.users["admin"], id)
	if err != nil {
		t.Fatal(err)
	}
	// exposed rubbish: clear within 4 working hours of dispatch (Monday 10:00 → 15:30).
	wantDue := time.Date(2026, 3, 2, 15, 30, 0, 0, shanghai)
	if rec.Due == nil || !rec.Due.Equal(wantDue) {
		t.Fatalf("due %v, want %v", rec.Due, wantDue)
	}
	steps := []struct {
		at      time.Time
		n       int
		tier    cases.Tier
		unit    string
		overdue bool
	}{
		{wantDue, 0, cases.TierGrid, "grid", false},                            // at the due instant: not yet
		{wantDue.Add(time.Minute), 1, cases.TierCommunity, "community", false}, // escalated, new clock
		{wantDue.Add(2 * time.Minute), 0, cases.TierCommunity, "community", false},
		// the community's 4 working hours from Mon 15:31 end Tue 11:31
		{time.Date(2026, 3, 3, 11, 32, 0, 0, shanghai), 1, cases.TierSubdistrict, "subdistrict", false},
		{time.Date(2026, 3, 4, 9, 0, 0, 0, shanghai), 1, cases.TierDistrict, "district", false},
		{time.Date(2026, 3, 9, 9, 0, 0, 0, shanghai), 0, cases.TierDistrict, "district", true}, // the top: stays overdue
	}
	for i, s := range steps {
		f.clock.Set(s.at)
		n, err := f.store.EscalateDue(ctx, f.clock.Now())
		if err != nil {
			t.Fatal(err)
		}
		rec, err := f.store.Case(ctx, f.users["admin"], id)
		if err != nil {
			t.Fatal(err)
		}
		if n != s.n || rec.Tier != s.tier || rec.Unit == nil || rec.Unit.ID != f.units[s.unit] || rec.Overdue != s.overdue {
			t.Fatalf("step %d at %v: escalated %d, tier %d, unit %+v, overdue %v; want %d, %d, %s, %v",
				i, s.at, n, rec.Tier, rec.Unit, rec.Overdue, s.n, s.tier, s.unit, s.overdue)
		}
	}
	var events, notes int
	if err := f.db.Pool.QueryRow(ctx, `SELECT count(*) FROM case_event WHERE case_id = $1 AND action = 'escalate' AND actor_kind = 'system'`, id).Scan(&events); err != nil {
		t.Fatal(err)
	}
	if err := f.db.Pool.QueryRow(ctx, `SELECT count(*) FROM case_notification WHERE case_id = $1 AND kind = 'escalated'`, id).Scan(&notes); err != nil {
		t.Fatal(err)
	}
	if events != 3 || notes != 3 {
		t.Errorf("escalation events %d, notifications %d; want 3 and 3", events, notes)
	}
}

func TestCaseEscalationRunsOnceAcrossPools(t *testing.T) {
	f := newCaseFix(t, "cases_escalation_pools")
	ctx := context.Background()
	const n = 40
	for i := 0; i < n; i++ {
		f.dispatched(t, cases.Intake{Point: orb.Point{f.point[0] + float64(i)*1e-6, f.point[1]}})
	}
	// A second gridmap process: its own pool and store on the same database.
	db2, err := data.Open(ctx, data.Config{URL: f.url, MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	store2, err := data.NewCaseStore(ctx, db2, data.CaseOptions{Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	at := f.clock.Add(10 * 24 * time.Hour) // every deadline has passed
	var wg sync.WaitGroup
	counts := make([]int, 4)
	errs := make([]error, 4)
	for i, s := range []*data.CaseStore{f.store, store2, f.store, store2} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			counts[i], errs[i] = s.EscalateDue(ctx, at)
		}()
	}
	wg.Wait()
	total := 0
	for i := range counts {
		if errs[i] != nil {
			t.Fatal(errs[i])
		}
		total += counts[i]
	}
	if total != n {
		t.Errorf("sweeps escalated %d cases in all (%v), want %d: each once", total, counts, n)
	}
	var dup int
	if err := f.db.Pool.QueryRow(ctx, `SELECT count(*) FROM (SELECT case_id FROM case_event WHERE action = 'escalate' GROUP BY case_id HAVING count(*) <> 1) x`).Scan(&dup); err != nil {
		t.Fatal(err)
	}
	if dup != 0 {
		t.Errorf("%d cases were escalated other than once", dup)
	}
}

func TestCaseDuplicatesAndMerge(t *testing.T) {
	f := newCaseFix(t, "cases_dups")
	ctx := context.Background()
	first := f.intake(t, nil, cases.Intake{Phone: "13900000001"})
	near := orb.Point{f.point[0] + 20.0/111000, f.point[1]} // about 17 m east at 30°N
	far := orb.Point{f.point[0], f.point[1] + 80.0/111000}  // 80 m north
	second := f.intake(t, nil, cases.Intake{Point: near, Phone: "13900000002"})
	if len(second.Duplicates) != 1 || second.Duplicates[0].TrackingCode != first.TrackingCode || second.Duplicates[0].DistanceM > 50 {
		t.Fatalf("duplicates of a report %.0f m away: %+v, want %s", 20.0, second.Duplicates, first.TrackingCode)
	}
	if r := f.intake(t, nil, cases.Intake{Point: far}); len(r.Duplicates) != 0 {
		t.Errorf("a report 80 m away has candidates %+v", r.Duplicates)
	}
	if r := f.intake(t, nil, cases.Intake{Point: near, Category: "illegal_posters"}); len(r.Duplicates) != 0 {
		t.Errorf("another category has candidates %+v", r.Duplicates)
	}
	f.clock.Add(8 * 24 * time.Hour)
	if r := f.intake(t, nil, cases.Intake{Point: near}); len(r.Duplicates) != 0 {
		t.Errorf("8 days later, candidates %+v; the window is 7 days", r.Duplicates)
	}

	firstID, secondID := f.caseID(t, first.TrackingCode), f.caseID(t, second.TrackingCode)
	_, err := f.store.Act(ctx, f.users["dispatcher"], secondID, cases.ActionRequest{Action: cases.ActionMerge, Version: 1, MergedInto: second.TrackingCode})
	wantCode(t, err, geo.EInvalid)
	f.act(t, "dispatcher", secondID, cases.ActionRequest{Action: cases.ActionMerge, MergedInto: first.TrackingCode})
	f.act(t, "dispatcher", firstID, cases.ActionRequest{Action: cases.ActionAccept})
	f.act(t, "dispatcher", firstID, cases.ActionRequest{Action: cases.ActionDispatch})
	rec := f.act(t, "gridworker", firstID, cases.ActionRequest{Action: cases.ActionStart})
	if strings.Join(rec.Phones, ",") != "13900000001,13900000002" {
		t.Errorf("the surviving case's handler sees phones %v, want both reporters'", rec.Phones)
	}
	pub, err := f.store.Track(ctx, second.TrackingCode)
	if err != nil {
		t.Fatal(err)
	}
	if pub.MergedInto != first.TrackingCode || pub.State != cases.StateInProgress || pub.TrackingCode != second.TrackingCode {
		t.Errorf("tracking the merged code: %+v; want the surviving case's state in_progress, merged into %s", pub, first.TrackingCode)
	}
}

// The public surfaces of a case carry no phone, name or internal note; the
// phone is erased a retention period after the case finished.
func TestCasePrivacy(t *testing.T) {
	f := newCaseFix(t, "cases_privacy")
	ctx := context.Background()
	const phone = "13812345678"
	res := f.intake(t, nil, cases.Intake{Phone: phone})
	id := f.caseID(t, res.TrackingCode)
	f.act(t, "dispatcher", id, cases.ActionRequest{Action: cases.ActionAccept, Note: "内部备注"})
	f.act(t, "dispatcher", id, cases.ActionRequest{Action: cases.ActionDispatch})
	f.act(t, "gridworker", id, cases.ActionRequest{Action: cases.ActionStart})
	p := f.photo(t, "gridworker", id)
	f.act(t, "gridworker", id, cases.ActionRequest{Action: cases.ActionHandle, Photos: []int64{p}, PublicNote: "已清理"})
	f.act(t, "gridworker", id, cases.ActionRequest{Action: cases.ActionVerify, Photos: []int64{p}})
	f.act(t, "supervisor", id, cases.ActionRequest{Action: cases.ActionClose})
	pub, err := f.store.Track(ctx, res.TrackingCode)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]any{"intake answer": res, "tracking": pub} {
		b, _ := json.Marshal(v)
		// The unit's name is public (issue 11: the handling unit, not a person).
		for _, secret := range []string{phone, "gridworker", "dispatcher", "supervisor", "内部备注"} {
			if strings.Contains(string(b), secret) {
				t.Errorf("%s shows %q: %s", name, secret, b)
			}
		}
	}
	if pub.Unit != "grid unit" {
		t.Errorf("tracking names unit %q, want the handling unit \"grid unit\"", pub.Unit)
	}
	if !strings.Contains(mustJSON(pub), "已清理") {
		t.Errorf("tracking lacks the public note: %s", mustJSON(pub))
	}
	handlerSees := func() []string {
		rec, err := f.store.Case(ctx, f.users["gridworker"], id)
		if err != nil {
			t.Fatal(err)
		}
		return rec.Phones
	}
	if got := handlerSees(); len(got) != 1 {
		t.Fatalf("handler sees %v after closing, want the phone until erasure", got)
	}
	n, err := f.store.EraseContacts(ctx, f.clock.Now().Add(89*24*time.Hour))
	if err != nil || n != 0 || len(handlerSees()) != 1 {
		t.Fatalf("erasure after 89 days: %d erased (%v), want none", n, err)
	}
	n, err = f.store.EraseContacts(ctx, f.clock.Now().Add(91*24*time.Hour))
	if err != nil || n != 1 || len(handlerSees()) != 0 {
		t.Fatalf("erasure after 91 days: %d erased (%v), want the phone gone", n, err)
	}
	var left int
	if err := f.db.Pool.QueryRow(ctx, `SELECT count(*) FROM case_contact WHERE phone = $1`, phone).Scan(&left); err != nil || left != 0 {
		t.Errorf("phone rows left: %d (%v)", left, err)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
