package data_test

import (
	"context"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"gridmap/cases"
)

// TestCaseStatsWeeks pins the weekly received/closed series: weeks start on
// Monday 00:00 in Shanghai (a case reported Monday 00:30 there, Sunday 16:30
// UTC, is in the new week), closed counts the week of closing, and both stay
// within the period.
func TestCaseStatsWeeks(t *testing.T) {
	f := newCaseFix(t, "cases_stats_weeks")
	ctx := context.Background()
	pt := func(i int) orb.Point { return orb.Point{f.point[0] + float64(i)*2e-4, f.point[1]} }
	at := func(d, h, m int) time.Time { return time.Date(2026, 3, d, h, m, 0, 0, shanghai) }

	f.clock.Set(at(1, 23, 30)) // Sunday 1 March: the week of 23 February
	f.intake(t, nil, cases.Intake{Point: pt(0)})
	f.clock.Set(at(2, 0, 30)) // Monday 2 March 00:30 (Sunday 16:30 UTC)
	f.intake(t, nil, cases.Intake{Point: pt(1)})
	f.clock.Set(at(4, 10, 0)) // Wednesday
	closed := f.dispatched(t, cases.Intake{Point: pt(2)})
	f.clock.Set(at(10, 9, 0)) // closed in the week of 9 March
	f.closeCase(t, closed)
	f.clock.Set(at(17, 9, 0)) // the week of 16 March: after the period below
	f.intake(t, nil, cases.Intake{Point: pt(3)})

	st, err := f.store.Stats(ctx, f.users["dispatcher"], f.chain[1].Code, at(1, 0, 0), at(16, 0, 0))
	if err != nil {
		t.Fatal(err)
	}
	want := []cases.WeekCount{
		{Start: time.Date(2026, 2, 23, 0, 0, 0, 0, shanghai), Received: 1},
		{Start: at(2, 0, 0), Received: 2},
		{Start: at(9, 0, 0), Closed: 1},
	}
	if len(st.Weeks) != len(want) {
		t.Fatalf("weeks: %+v, want %+v", st.Weeks, want)
	}
	for i, w := range want {
		if got := st.Weeks[i]; !got.Start.Equal(w.Start) || got.Received != w.Received || got.Closed != w.Closed {
			t.Errorf("week %d: got %+v, want %+v", i, got, w)
		}
	}
	if st.MinRateCases != cases.MinRateCases || (len(st.Children) == 1 && st.Children[0].MinRateCases != 0) {
		t.Errorf("min_rate_cases %d (child %+v), want %d at the top level only", st.MinRateCases, st.Children, cases.MinRateCases)
	}
	if !st.FewCases || len(st.Children) != 1 || !st.Children[0].FewCases {
		t.Errorf("few_cases: %v, children %+v; want true with 1 case behind the on-time rate (< %d)", st.FewCases, st.Children, cases.MinRateCases)
	}
	long, err := f.store.Stats(ctx, f.users["dispatcher"], f.chain[1].Code, at(1, 0, 0).AddDate(-4, 0, 0), at(16, 0, 0))
	if err != nil || long.Weeks != nil || long.Received != 3 {
		t.Errorf("a period of 4 years: weeks %d, received %v, %v; want no weekly series (over %d weeks) and 3 received", len(long.Weeks), long.Received, err, cases.MaxStatsWeeks)
	}
}
