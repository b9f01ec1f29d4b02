package cases

import (
	"testing"
	"time"

	"gridmap/calendar"
)

// TestDefaultStatsPeriodIsChinasDays: the default period ends with today on
// China's calendar and starts on the Monday eleven weeks before this week's,
// whatever the zone of the instant it is given (a browser in Los Angeles, a
// server in UTC).
func TestDefaultStatsPeriodIsChinasDays(t *testing.T) {
	c := calendar.Default()
	sh := calendar.Shanghai()
	la, err := time.LoadLocation("America/Los_Angeles")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		now      time.Time
		from, to time.Time
	}{
		{"a Wednesday noon", time.Date(2026, 3, 4, 12, 0, 0, 0, sh), time.Date(2025, 12, 15, 0, 0, 0, 0, sh), time.Date(2026, 3, 5, 0, 0, 0, 0, sh)},
		// Sunday 23:59 in Shanghai: still Sunday, the week that began on 2026-03-02.
		{"Sunday a minute before midnight", time.Date(2026, 3, 8, 23, 59, 0, 0, sh), time.Date(2025, 12, 15, 0, 0, 0, 0, sh), time.Date(2026, 3, 9, 0, 0, 0, 0, sh)},
		// Sunday 09:30 in Los Angeles is Monday 00:30 in Shanghai: a new week, a new day.
		{"Sunday morning in Los Angeles is Monday in China", time.Date(2026, 3, 8, 9, 30, 0, 0, la), time.Date(2025, 12, 22, 0, 0, 0, 0, sh), time.Date(2026, 3, 10, 0, 0, 0, 0, sh)},
		{"Monday 00:00 is its own week", time.Date(2026, 3, 9, 0, 0, 0, 0, sh), time.Date(2025, 12, 22, 0, 0, 0, 0, sh), time.Date(2026, 3, 10, 0, 0, 0, 0, sh)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			from, to := DefaultStatsPeriod(c, tc.now)
			if !from.Equal(tc.from) || !to.Equal(tc.to) {
				t.Errorf("DefaultStatsPeriod(%s) = %s – %s, want %s – %s", tc.now, from.In(sh), to.In(sh), tc.from, tc.to)
			}
			if n := len(c.Weeks(from, to)); n != DefaultStatsWeeks {
				t.Errorf("%d weeks, want %d", n, DefaultStatsWeeks)
			}
		})
	}
}
