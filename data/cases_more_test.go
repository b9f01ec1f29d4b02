package data_test

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"gridmap/calendar"
	"gridmap/cases"
	"gridmap/data"
	"gridmap/geo"
)

// closeCase takes a dispatched case through start, handle, verify and close.
func (f *caseFix) closeCase(t *testing.T, id int64) {
	t.Helper()
	f.act(t, "gridworker", id, cases.ActionRequest{Action: cases.ActionStart})
	p := f.photo(t, "gridworker", id)
	f.act(t, "gridworker", id, cases.ActionRequest{Action: cases.ActionHandle, Photos: []int64{p}})
	f.act(t, "gridworker", id, cases.ActionRequest{Action: cases.ActionVerify, Photos: []int64{p}})
	f.act(t, "supervisor", id, cases.ActionRequest{Action: cases.ActionClose})
}

func TestCaseStatsRates(t *testing.T) {
	f := newCaseFix(t, "cases_stats")
	ctx := context.Background()
	pt := func(i int) orb.Point { return orb.Point{f.point[0] + float64(i)*2e-4, f.point[1]} } // 20 m apart
	onTime := f.dispatched(t, cases.Intake{Point: pt(0)})
	f.clock.Add(30 * time.Minute)
	f.closeCase(t, onTime)
	late := f.dispatched(t, cases.Intake{Point: pt(1)})
	f.clock.Set(time.Date(2026, 3, 3, 10, 0, 0, 0, shanghai)) // past its 4 working hours
	if _, err := f.store.EscalateDue(ctx, f.clock.Now()); err != nil {
		t.Fatal(err)
	}
	f.act(t, "community", late, cases.ActionRequest{Action: cases.ActionStart})
	p := f.photo(t, "community", late)
	f.act(t, "community", late, cases.ActionRequest{Action: cases.ActionHandle, Photos: []int64{p}})
	f.act(t, "gridworker", late, cases.ActionRequest{Action: cases.ActionVerify, Photos: []int64{p}})
	f.act(t, "supervisor", late, cases.ActionRequest{Action: cases.ActionClose})
	overdue := f.dispatched(t, cases.Intake{Point: pt(2)})
	f.intake(t, nil, cases.Intake{Point: pt(3)}) // never touched
	rejected := f.caseID(t, f.intake(t, nil, cases.Intake{Point: pt(4)}).TrackingCode)
	f.act(t, "dispatcher", rejected, cases.ActionRequest{Action: cases.ActionReject, Reason: "重复上报"})
	for code, rating := range map[int64]int{onTime: 5, late: 2} {
		rec, _ := f.store.Case(ctx, f.users["admin"], code)
		if _, err := f.store.Rate(ctx, rec.TrackingCode, rating, ""); err != nil {
			t.Fatal(err)
		}
	}
	f.clock.Add(5 * 24 * time.Hour) // the open case's deadline has passed
	_ = overdue

	st, err := f.store.Stats(ctx, f.users["dispatcher"], f.chain[1].Code, monday10.Add(-time.Hour), f.clock.Now())
	if err != nil {
		t.Fatal(err)
	}
	rate := func(p *float64) float64 {
		if p == nil {
			return -1
		}
		return *p
	}
	if st.Received != 5 || st.Accepted != 3 || st.Closed != 2 || st.ClosedOnTime != 1 || st.OpenOverdue != 2 {
		t.Fatalf("counts: %+v; want received 5, accepted 3, closed 2 (1 on time), 2 open and overdue", st)
	}
	for name, c := range map[string][2]float64{
		// open and overdue: the dispatched case and the one never accepted (its accept deadline passed)
		"on-time (1 ÷ (2 closed + 2 open overdue))": {rate(st.OnTimeRate), 1.0 / 4},
		"response (4 of 5 answered)":                {rate(st.ResponseRate), 4.0 / 5},
		"resolution (2 closed of 3 accepted)":       {rate(st.ResolutionRate), 2.0 / 3},
		"satisfaction (1 of 2 ratings ≥ 4)":         {rate(st.Satisfaction), 0.5},
	} {
		if diff := c[0] - c[1]; diff > 1e-9 || diff < -1e-9 {
			t.Errorf("%s: got %v, want %v", name, c[0], c[1])
		}
	}
	var durations []float64
	for _, id := range []int64{onTime, late} {
		rec, _ := f.store.Case(ctx, f.users["admin"], id)
		durations = append(durations, rec.ClosedAt.Sub(rec.ReportedAt).Hours())
	}
	sort.Float64s(durations)
	if st.MedianCloseH == nil || *st.MedianCloseH-(durations[0]+durations[1])/2 > 1e-6 || (durations[0]+durations[1])/2-*st.MedianCloseH > 1e-6 {
		t.Errorf("median hours to close %v, want %v", st.MedianCloseH, (durations[0]+durations[1])/2)
	}
	if len(st.Children) != 1 || st.Children[0].Area.ID != f.chain[2].ID || st.Children[0].Received != 5 {
		t.Errorf("children: %+v, want the one community with all 5", st.Children)
	}
	if _, err := f.store.Stats(ctx, f.users["outsider"], f.chain[1].Code, monday10, f.clock.Now()); geo.ErrorCode(err) != geo.EForbidden {
		t.Errorf("outsider's stats of the subdistrict: %v, want forbidden", err)
	}
	empty, err := f.store.Stats(ctx, f.users["dispatcher"], f.chain[1].Code, monday10.AddDate(-1, 0, 0), monday10.AddDate(0, -6, 0))
	if err != nil || empty.Received != 0 || empty.OnTimeRate != nil {
		t.Errorf("a period without cases: %+v %v; want zero counts and no rates", empty, err)
	}
}

func TestCaseWorklist(t *testing.T) {
	f := newCaseFix(t, "cases_worklist")
	ctx := context.Background()
	var codes []string
	for i := 0; i < 7; i++ {
		f.clock.Add(time.Minute)
		codes = append(codes, f.intake(t, nil, cases.Intake{Point: orb.Point{f.point[0] + float64(i)*1e-5, f.point[1]}}).TrackingCode)
	}
	got := allPages(t, f.store, f.users["dispatcher"], cases.Filter{Limit: 3})
	if len(got) != 7 {
		t.Fatalf("pages gave %d cases, want 7: %v", len(got), got)
	}
	for i := range got {
		if got[i] != codes[6-i] {
			t.Fatalf("order: %v, want newest first %v", got, codes)
		}
	}
	if p, err := f.store.List(ctx, f.users["outsider"], cases.Filter{}); err != nil || len(p.Cases) != 0 {
		t.Errorf("outsider's list: %d cases (%v), want none outside its area", len(p.Cases), err)
	}
	id := f.caseID(t, codes[0])
	f.act(t, "dispatcher", id, cases.ActionRequest{Action: cases.ActionAccept})
	f.act(t, "dispatcher", id, cases.ActionRequest{Action: cases.ActionDispatch})
	mine, err := f.store.List(ctx, f.users["gridworker"], cases.Filter{AssignedMe: true, States: []cases.State{cases.StateDispatched}})
	if err != nil || len(mine.Cases) != 1 || mine.Cases[0].ID != id {
		t.Errorf("assigned=me: %+v %v, want the one dispatched case", mine, err)
	}
	f.clock.Add(3 * 24 * time.Hour)
	over, err := f.store.List(ctx, f.users["dispatcher"], cases.Filter{Overdue: true})
	if err != nil {
		t.Fatal(err)
	}
	// The 6 reported cases' accept deadlines (1 working hour) have passed too.
	if len(over.Cases) != 7 || !over.Cases[0].Overdue {
		t.Errorf("overdue: %d cases, want all 7 overdue", len(over.Cases))
	}
	if _, err := f.store.List(ctx, f.users["dispatcher"], cases.Filter{States: []cases.State{"lost"}}); geo.ErrorCode(err) != geo.EInvalid {
		t.Errorf("unknown status: %v, want invalid", err)
	}
}

func TestCaseHolidayDaysMoveDeadlines(t *testing.T) {
	f := newCaseFix(t, "cases_holidays")
	ctx := context.Background()
	day := []calendar.Day{{Date: calendar.D(2026, 3, 3), Kind: calendar.Off, Name: "本地停工"}}
	if err := f.store.AddHolidayDays(ctx, f.users["dispatcher"], day); geo.ErrorCode(err) != geo.EForbidden {
		t.Fatalf("an editor changes the calendar: %v, want forbidden", err)
	}
	f.clock.Set(time.Date(2026, 3, 2, 16, 0, 0, 0, shanghai))
	before := f.dispatched(t, cases.Intake{})
	if err := f.store.AddHolidayDays(ctx, f.users["admin"], day); err != nil {
		t.Fatal(err)
	}
	after := f.dispatched(t, cases.Intake{Point: orb.Point{f.point[0] + 1e-4, f.point[1]}})
	// 4 working hours from Monday 16:00: 1.5 h on Monday, then 2.5 h of the next working day.
	for id, want := range map[int64]time.Time{
		before: time.Date(2026, 3, 3, 11, 0, 0, 0, shanghai), // Tuesday
		after:  time.Date(2026, 3, 4, 11, 0, 0, 0, shanghai), // Tuesday is off now: Wednesday
	} {
		rec, _ := f.store.Case(ctx, f.users["admin"], id)
		if rec.Due == nil || !rec.Due.Equal(want) {
			t.Errorf("case %d due %v, want %v", id, rec.Due, want)
		}
	}
	// A second store (another process) reads the day from the table.
	other, err := newStoreOn(t, f)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := other.Machine().Calendar.DayInfo(calendar.D(2026, 3, 3)); !ok || d.Kind != calendar.Off {
		t.Errorf("a new store's calendar: %+v %v, want 2026-03-03 off", d, ok)
	}
}

func newStoreOn(t *testing.T, f *caseFix) (*data.CaseStore, error) {
	t.Helper()
	return data.NewCaseStore(context.Background(), f.db, data.CaseOptions{Now: f.clock.Now})
}

func TestCaseImportHotlineCSV(t *testing.T) {
	f := newCaseFix(t, "cases_import")
	ctx := context.Background()
	p := f.point
	csv := "\ufeffticket,received_at,category,lon,lat,crs,address,description,phone\n" +
		fmt.Sprintf("12345-001,2026-03-01 09:15:00,exposed_rubbish,%f,%f,,幸福路1号,垃圾堆放,13800000001\n", p[0], p[1]) +
		fmt.Sprintf("12345-002,2026-03-01T10:00:00+08:00,illegal_posters,%f,%f,wgs84,,小广告,\n", p[0]+1e-4, p[1]) +
		"12345-003,yesterday,exposed_rubbish,120.1,30.2,,,x,\n" +
		fmt.Sprintf("12345-004,2026-03-01 09:15:00,ufo,%f,%f,,,x,\n", p[0], p[1]) +
		"12345-005,2026-03-01 09:15:00,exposed_rubbish,10,50,,,outside,\n"
	rep, err := f.store.ImportHotlineCSV(ctx, strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != 2 || rep.Skipped != 0 || len(rep.Rejected) != 3 || rep.Rejected[0].Ref != "line 4" {
		t.Fatalf("report %+v; want 2 imported and lines 4, 5, 6 rejected", rep)
	}
	again, err := f.store.ImportHotlineCSV(ctx, strings.NewReader(csv))
	if err != nil || again.Imported != 0 || again.Skipped != 2 {
		t.Fatalf("re-import: %+v %v; want both skipped", again, err)
	}
	list, err := f.store.List(ctx, f.users["admin"], cases.Filter{})
	if err != nil || len(list.Cases) != 2 {
		t.Fatalf("list: %v %v", list, err)
	}
	first := list.Cases[1] // oldest last
	want := time.Date(2026, 3, 1, 9, 15, 0, 0, shanghai)
	if first.Source != cases.SourceHotline || !first.ReportedAt.Equal(want) || first.Unit == nil || first.Unit.ID != f.units["grid"] {
		t.Errorf("imported case: source %s reported %v unit %+v; want hotline at %v routed to the grid team", first.Source, first.ReportedAt, first.Unit, want)
	}
	if _, err := f.store.ImportHotlineCSV(ctx, strings.NewReader("ticket,lon\n1,2\n")); geo.ErrorCode(err) != geo.EInvalid {
		t.Errorf("a file without the columns: %v, want invalid", err)
	}
}

// TestCaseListCountsStopAtTheCap: the counts per state (the desk's tabs)
// of a text search are exact when no more cases than CaseOptions.CountsCap
// match the list's filter without its state; with more, the page has no
// counts and CountsOver (the cap) instead: no partial or estimated numbers.
// Without a text the counts are exact whatever their number. (When the
// planner expects no more than the cap, the counts are exact whatever their
// number; this table's statistics are fresh, so its estimates are right.)
func TestCaseListCountsStopAtTheCap(t *testing.T) {
	f := newCaseFix(t, "cases_counts_cap")
	ctx := context.Background()
	var ids []int64
	for i := 0; i < 4; i++ {
		f.clock.Add(time.Minute)
		desc := "井盖松动有响声"
		if i == 3 {
			desc = "路灯不亮，井盖也松了"
		}
		res := f.intake(t, nil, cases.Intake{Point: orb.Point{f.point[0] + float64(i)*1e-5, f.point[1]}, Description: desc})
		ids = append(ids, f.caseID(t, res.TrackingCode))
	}
	f.act(t, "dispatcher", ids[0], cases.ActionRequest{Action: cases.ActionAccept})
	// The statistics the planner's estimate comes from (countStates reads at
	// most cap+1 matches only when it expects more than the cap).
	if _, err := f.db.Pool.Exec(ctx, `ANALYZE case_report`); err != nil {
		t.Fatal(err)
	}
	capped, err := data.NewCaseStore(ctx, f.db, data.CaseOptions{Now: f.clock.Now, CountsCap: 2})
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		store *data.CaseStore
		f     cases.Filter
		want  string
		over  int
	}{
		{"default cap: exact", f.store, cases.Filter{Counts: true}, "map[accepted:1 reported:3]", 0},
		{"default cap, a text 4 match: exact", f.store, cases.Filter{Counts: true, Text: "井盖"}, "map[accepted:1 reported:3]", 0},
		{"cap 2, no text, 4 match: exact (the cap is for a text)", capped, cases.Filter{Counts: true}, "map[accepted:1 reported:3]", 0},
		{"cap 2, a text 4 match: no counts, over 2", capped, cases.Filter{Counts: true, Text: "井盖"}, "map[]", 2},
		{"cap 2, the state filter left out: still over", capped, cases.Filter{Counts: true, Text: "井盖", States: []cases.State{cases.StateAccepted}}, "map[]", 2},
		{"cap 2, a word of one case: exact", capped, cases.Filter{Counts: true, Text: "路灯"}, "map[reported:1]", 0},
		{"no counts asked", capped, cases.Filter{}, "map[]", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			p, err := c.store.List(ctx, f.users["dispatcher"], c.f)
			if err != nil {
				t.Fatal(err)
			}
			if got := fmt.Sprint(p.Counts); got != c.want || p.CountsOver != c.over {
				t.Errorf("counts %s, over %d; want %s, over %d", got, p.CountsOver, c.want, c.over)
			}
		})
	}
}

// TestCaseWorklistTextPages: a text filter's pages, newest first with ties
// on the id, are the same whether List sorts the matches (PostgreSQL expects
// few: the default) or walks the newest-first index (SortedTextRows -1).
func TestCaseWorklistTextPages(t *testing.T) {
	f := newCaseFix(t, "cases_text_pages")
	ctx := context.Background()
	var want []string
	for i := 0; i < 8; i++ {
		if i == 0 || i == 3 || i == 7 {
			// Matches at three instants, newest first 7 | 6 4 3 | 2 0: a
			// page of 2 cuts the middle instant's.
			f.clock.Add(time.Minute)
		}
		desc := "井盖松动"
		if i == 1 || i == 5 {
			desc = "路灯不亮"
		}
		code := f.intake(t, nil, cases.Intake{Point: orb.Point{f.point[0] + float64(i)*1e-5, f.point[1]}, Description: desc}).TrackingCode
		if desc == "井盖松动" {
			want = append([]string{code}, want...)
		}
	}
	if _, err := f.db.Pool.Exec(ctx, `ANALYZE case_report`); err != nil {
		t.Fatal(err)
	}
	walk, err := data.NewCaseStore(ctx, f.db, data.CaseOptions{Now: f.clock.Now, SortedTextRows: -1})
	if err != nil {
		t.Fatal(err)
	}
	for name, store := range map[string]*data.CaseStore{"sorted": f.store, "walk": walk} {
		t.Run(name, func(t *testing.T) {
			got := allPages(t, store, f.users["dispatcher"], cases.Filter{Text: "井盖", Limit: 2})
			// Same instant: the larger id (the later intake) first.
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("pages %v, want %v", got, want)
			}
		})
	}
}

// allPages follows List's cursor from the first page of f (at most 10
// pages) and returns the tracking codes in the order given.
func allPages(t *testing.T, store *data.CaseStore, user *geo.User, f cases.Filter) []string {
	t.Helper()
	var got []string
	for pages := 0; pages < 10; pages++ {
		p, err := store.List(context.Background(), user, f)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range p.Cases {
			got = append(got, c.TrackingCode)
		}
		if f.Cursor = p.Next; f.Cursor == "" {
			break
		}
	}
	return got
}
