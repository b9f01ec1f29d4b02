package api_test

import (
	"context"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"gridmap/cases"
	"gridmap/data"
	"gridmap/geo"
)

// TestCaseWorklistDueOrder: the grid worker's worklist (assigned=me,
// order=due) lists overdue cases first, then by deadline, cases without one
// last, with the working time left computed by the server; a cursor walks
// the same order one case a page. Two cases are dispatched a fortnight ago
// through a store whose clock is set back (the injectable clock), so their
// deadlines have passed by now.
func TestCaseWorklistDueOrder(t *testing.T) {
	f := newCaseAPI(t, "api_case_worklist")
	ctx := context.Background()
	var admin geo.User
	if err := f.db.Pool.QueryRow(ctx, `SELECT id, name, role FROM app_user WHERE name = 'admin'`).Scan(&admin.ID, &admin.Name, &admin.Role); err != nil {
		t.Fatal(err)
	}
	past, err := data.NewCaseStore(ctx, f.db, data.CaseOptions{Now: func() time.Time { return time.Now().Add(-14 * 24 * time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	open := func(store *data.CaseStore, desc string, dispatch bool) int64 {
		t.Helper()
		res, err := store.Intake(ctx, &admin, cases.Intake{Category: "exposed_rubbish", Point: orb.Point{f.lon, f.lat}, Description: desc})
		if err != nil {
			t.Fatal(err)
		}
		rec := res.Record
		for _, a := range []cases.Action{cases.ActionAccept, cases.ActionDispatch} {
			if !dispatch {
				break
			}
			if rec, err = store.Act(ctx, &admin, rec.ID, cases.ActionRequest{Action: a, Version: rec.Version}); err != nil {
				t.Fatalf("%s: %v", a, err)
			}
		}
		return rec.ID
	}
	fresh := open(f.store, "今天派遣", true)
	old2 := open(past, "两周前派遣（后）", true)
	reported := open(f.store, "今天上报", false)
	old1 := open(past, "两周前派遣（再后）", true)

	worker := f.login(t, "worker")
	list := func(q url.Values) cases.Page {
		t.Helper()
		status, body := worker.do(t, "GET", "/api/v1/cases?"+q.Encode(), nil)
		if status != 200 {
			t.Fatalf("worklist %v: %d %s", q, status, body)
		}
		return decode[cases.Page](t, body)
	}
	page := list(url.Values{"assigned": {"me"}, "order": {"due"}})
	var ids []int64
	for _, c := range page.Cases {
		ids = append(ids, c.ID)
	}
	if len(page.Cases) != 4 {
		t.Fatalf("worklist has %d cases (%v), want the 4 of the worker's grid", len(page.Cases), ids)
	}
	for i, c := range page.Cases {
		if c.WorkingMinutesLeft == nil {
			t.Errorf("case %d (%s): no working time left, want one (its deadline %v)", c.ID, c.State, c.Due)
			continue
		}
		if c.Overdue != (*c.WorkingMinutesLeft < 0) {
			t.Errorf("case %d: overdue %v but %d working minutes left", c.ID, c.Overdue, *c.WorkingMinutesLeft)
		}
		if i > 0 {
			prev := page.Cases[i-1]
			if prev.Overdue != c.Overdue && !prev.Overdue {
				t.Errorf("case %d (overdue) comes after %d (not overdue)", c.ID, prev.ID)
			}
			if prev.Overdue == c.Overdue && c.Due.Before(*prev.Due) {
				t.Errorf("case %d (due %v) comes after %d (due %v)", c.ID, c.Due, prev.ID, prev.Due)
			}
		}
	}
	overdueFirst := map[int64]bool{ids[0]: true, ids[1]: true}
	if !overdueFirst[old1] || !overdueFirst[old2] || !page.Cases[0].Overdue || !page.Cases[1].Overdue || page.Cases[2].Overdue {
		t.Errorf("worklist %v: want the two cases dispatched a fortnight ago (%d, %d) first and overdue, then %d and %d", ids, old2, old1, fresh, reported)
	}
	// The newest-first default is unchanged.
	if def := list(url.Values{"assigned": {"me"}}); def.Cases[0].ID != reported {
		t.Errorf("default order starts with %d, want the newest report", def.Cases[0].ID)
	}
	// One case a page: the same order.
	var walked []int64
	q := url.Values{"assigned": {"me"}, "order": {"due"}, "limit": {"1"}}
	for n := 0; n < 6; n++ {
		p := list(q)
		for _, c := range p.Cases {
			walked = append(walked, c.ID)
		}
		if p.Next == "" {
			break
		}
		q.Set("cursor", p.Next)
	}
	if fmt.Sprint(walked) != fmt.Sprint(ids) {
		t.Errorf("paging one at a time gave %v, want %v", walked, ids)
	}
	for _, bad := range []url.Values{{"order": {"deadline"}}, {"order": {"due"}, "cursor": {"not-a-cursor"}}} {
		if status, body := worker.do(t, "GET", "/api/v1/cases?"+bad.Encode(), nil); status != 400 {
			t.Errorf("GET /api/v1/cases?%s: %d %s, want 400", bad.Encode(), status, body)
		}
	}
	// The case says which actions this reader may take now.
	status, body := worker.do(t, "GET", fmt.Sprintf("/api/v1/cases/%d", fresh), nil)
	if status != 200 {
		t.Fatalf("case: %d %s", status, body)
	}
	if got := decode[cases.Record](t, body).Actions; fmt.Sprint(got) != "[{start []} {return [reason]}]" {
		t.Errorf("the worker's actions on a dispatched case: %v, want start, and return with a reason", got)
	}
	status, body = worker.do(t, "GET", fmt.Sprintf("/api/v1/cases/%d", reported), nil)
	if got := decode[cases.Record](t, body).Actions; status != 200 || len(got) != 0 {
		t.Errorf("the worker's actions on a reported case: %d %v, want none (the desk registers it)", status, got)
	}
}
