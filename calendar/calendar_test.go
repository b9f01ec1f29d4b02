package calendar

import (
	"fmt"
	"math/rand"
	"strings"
	"testing"
	"time"
)

var sh = Shanghai()

// at returns y-m-d hh:mm in Asia/Shanghai.
func at(y int, m time.Month, d, hh, mm int) time.Time { return time.Date(y, m, d, hh, mm, 0, 0, sh) }

func TestShanghaiIsUTCPlus8(t *testing.T) {
	for _, tt := range []time.Time{at(2024, 1, 15, 12, 0), at(2026, 7, 15, 12, 0)} {
		if _, off := tt.Zone(); off != 8*3600 {
			t.Errorf("%s: offset %d s, want %d (no daylight saving)", tt, off, 8*3600)
		}
	}
}

func TestEmbeddedData(t *testing.T) {
	days, err := EmbeddedDays()
	if err != nil {
		t.Fatal(err)
	}
	c := Default()
	for _, y := range []int{2024, 2025, 2026, 2027} {
		if !c.Covers(y) {
			t.Errorf("Covers(%d) = false, want true", y)
		}
	}
	if c.Covers(2023) || c.Covers(2028) {
		t.Errorf("Covers(2023)=%v Covers(2028)=%v, want false: no data embedded", c.Covers(2023), c.Covers(2028))
	}
	// A make-up working day is a weekend day; a listed day off is not a
	// make-up day. Catches a kind typed the wrong way round.
	for _, d := range days {
		wd := d.Date.Weekday()
		weekend := wd == time.Saturday || wd == time.Sunday
		if d.Kind == Work && !weekend {
			t.Errorf("%s (%s) is listed as a make-up working day but is a %s", d.Date, d.Name, wd)
		}
		if d.Kind == Work && !strings.HasSuffix(d.Name, "补班") {
			t.Errorf("%s: make-up day named %q, want a name ending in 补班", d.Date, d.Name)
		}
	}
}

// Every holiday file says where its days come from: the State Council notice
// of its year, or, for data not yet checked against one, that it is not.
func TestHolidayFilesNameTheirSource(t *testing.T) {
	for _, y := range EmbeddedYears() {
		raw, err := holidayFiles.ReadFile(fmt.Sprintf("holidays/%d.txt", y))
		if err != nil {
			t.Fatal(err)
		}
		first, _, _ := strings.Cut(string(raw), "\n")
		notice := fmt.Sprintf("# 国务院办公厅关于%d年部分节假日安排的通知（国办发明电", y)
		unchecked := fmt.Sprintf("# %d: NOT transcribed from the State Council notice.", y)
		if !strings.HasPrefix(first, notice) && !strings.HasPrefix(first, unchecked) {
			t.Errorf("holidays/%d.txt starts %q; want the notice's title and number, or %q", y, first, unchecked)
		}
	}
}

// Per-year days from the State Council notices (国办发明电〔2023〕7号,
// 〔2024〕12号, 〔2025〕7号).
func TestIsWorkingDay(t *testing.T) {
	c := Default()
	tests := []struct {
		name string
		date Date
		want bool
	}{
		{"2024 ordinary Tuesday", D(2024, 3, 12), true},
		{"2024 ordinary Saturday", D(2024, 3, 16), false},
		{"2024 元旦 Monday off", D(2024, 1, 1), false},
		{"2024 春节 make-up Sunday Feb 4 counts", D(2024, 2, 4), true},
		{"2024 春节 first day Sat Feb 10", D(2024, 2, 10), false},
		{"2024 春节 weekday Wed Feb 14 off", D(2024, 2, 14), false},
		{"2024 春节 last day Sat Feb 17", D(2024, 2, 17), false},
		{"2024 春节 make-up Sunday Feb 18 counts", D(2024, 2, 18), true},
		{"2024 清明 make-up Sunday Apr 7", D(2024, 4, 7), true},
		{"2024 劳动节 make-up Sunday Apr 28", D(2024, 4, 28), true},
		{"2024 劳动节 Fri May 3 off", D(2024, 5, 3), false},
		{"2024 劳动节 make-up Saturday May 11", D(2024, 5, 11), true},
		{"2024 端午 Monday Jun 10 off", D(2024, 6, 10), false},
		{"2024 中秋 make-up Saturday Sep 14", D(2024, 9, 14), true},
		{"2024 中秋 Monday Sep 16 off", D(2024, 9, 16), false},
		{"2024 国庆 make-up Sunday Sep 29", D(2024, 9, 29), true},
		{"2024 国庆 Mon Oct 7 off", D(2024, 10, 7), false},
		{"2024 国庆 make-up Saturday Oct 12", D(2024, 10, 12), true},
		{"2024 Sunday after 国庆 make-up is off", D(2024, 10, 13), false},

		{"2025 元旦 Wednesday off", D(2025, 1, 1), false},
		{"2025 Thursday after 元旦 works (no make-up)", D(2025, 1, 2), true},
		{"2025 春节 make-up Sunday Jan 26 counts", D(2025, 1, 26), true},
		{"2025 Monday Jan 27 before 除夕 works", D(2025, 1, 27), true},
		{"2025 除夕 Tue Jan 28 off", D(2025, 1, 28), false},
		{"2025 春节 Tue Feb 4 off", D(2025, 2, 4), false},
		{"2025 Wed Feb 5 back at work", D(2025, 2, 5), true},
		{"2025 春节 make-up Saturday Feb 8", D(2025, 2, 8), true},
		{"2025 劳动节 make-up Sunday Apr 27", D(2025, 4, 27), true},
		{"2025 劳动节 Mon May 5 off", D(2025, 5, 5), false},
		{"2025 端午 Mon Jun 2 off", D(2025, 6, 2), false},
		{"2025 国庆 make-up Sunday Sep 28", D(2025, 9, 28), true},
		{"2025 国庆中秋 Wed Oct 8 off", D(2025, 10, 8), false},
		{"2025 国庆 make-up Saturday Oct 11", D(2025, 10, 11), true},

		{"2026 元旦 Fri Jan 2 off", D(2026, 1, 2), false},
		{"2026 元旦 make-up Sunday Jan 4", D(2026, 1, 4), true},
		{"2026 Friday Feb 13 before 春节 works", D(2026, 2, 13), true},
		{"2026 春节 make-up Saturday Feb 14", D(2026, 2, 14), true},
		{"2026 春节 first day Sun Feb 15", D(2026, 2, 15), false},
		{"2026 春节 Mon Feb 23 off", D(2026, 2, 23), false},
		{"2026 Tue Feb 24 back at work", D(2026, 2, 24), true},
		{"2026 春节 make-up Saturday Feb 28", D(2026, 2, 28), true},
		{"2026 清明 Mon Apr 6 off", D(2026, 4, 6), false},
		{"2026 劳动节 Tue May 5 off", D(2026, 5, 5), false},
		{"2026 劳动节 make-up Saturday May 9", D(2026, 5, 9), true},
		{"2026 端午 Fri Jun 19 off", D(2026, 6, 19), false},
		{"2026 中秋 Fri Sep 25 off", D(2026, 9, 25), false},
		{"2026 国庆 make-up Sunday Sep 20", D(2026, 9, 20), true},
		{"2026 国庆 Wed Oct 7 off", D(2026, 10, 7), false},
		{"2026 Thu Oct 8 back at work", D(2026, 10, 8), true},
		{"2026 国庆 make-up Saturday Oct 10", D(2026, 10, 10), true},

		// 2027 is copied from lunar-go v1.4.7, not yet checked against the notice.
		{"2027 元旦 Friday Jan 1 off (statutory in any case)", D(2027, 1, 1), false},
		{"2027 春节 make-up Sunday Jan 31 (lunar-go)", D(2027, 1, 31), true},
		{"2027 春节 Fri Feb 5 off (lunar-go)", D(2027, 2, 5), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.IsWorkingDay(tt.date); got != tt.want {
				t.Errorf("IsWorkingDay(%s, a %s) = %v, want %v", tt.date, tt.date.Weekday(), got, tt.want)
			}
		})
	}
}

// The number of days off per holiday, as each notice states it (共N天),
// counted back from the data.
func TestHolidayLengthsMatchNotices(t *testing.T) {
	c := Default()
	tests := []struct {
		name       string
		first      Date
		days       int
		makeUpDays []Date
	}{
		{"2024 春节 共8天", D(2024, 2, 10), 8, []Date{D(2024, 2, 4), D(2024, 2, 18)}},
		{"2024 国庆 共7天", D(2024, 10, 1), 7, []Date{D(2024, 9, 29), D(2024, 10, 12)}},
		{"2025 春节 共8天", D(2025, 1, 28), 8, []Date{D(2025, 1, 26), D(2025, 2, 8)}},
		{"2025 国庆中秋 共8天", D(2025, 10, 1), 8, []Date{D(2025, 9, 28), D(2025, 10, 11)}},
		{"2026 元旦 共3天", D(2026, 1, 1), 3, []Date{D(2026, 1, 4)}},
		{"2026 春节 共9天", D(2026, 2, 15), 9, []Date{D(2026, 2, 14), D(2026, 2, 28)}},
		{"2026 劳动节 共5天", D(2026, 5, 1), 5, []Date{D(2026, 5, 9)}},
		{"2026 国庆 共7天", D(2026, 10, 1), 7, []Date{D(2026, 9, 20), D(2026, 10, 10)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if !c.IsWorkingDay(tt.first.AddDays(-1)) && tt.first.AddDays(-1).Weekday() != time.Saturday && tt.first.AddDays(-1).Weekday() != time.Sunday {
				t.Errorf("day before %s is off: the break starts earlier", tt.first)
			}
			n := 0
			for d := tt.first; !c.IsWorkingDay(d); d = d.AddDays(1) {
				n++
			}
			if n != tt.days {
				t.Errorf("break from %s: %d days off in a row, want %d", tt.first, n, tt.days)
			}
			for _, m := range tt.makeUpDays {
				if !c.IsWorkingDay(m) {
					t.Errorf("make-up day %s (%s) is not a working day", m, m.Weekday())
				}
			}
		})
	}
}

func TestAddWorkingHours(t *testing.T) {
	c := Default()
	tests := []struct {
		name  string
		from  time.Time
		hours int
		want  time.Time
	}{
		{"within the morning", at(2026, 3, 10, 9, 0), 2, at(2026, 3, 10, 11, 0)},
		{"crosses lunch", at(2026, 3, 10, 11, 0), 2, at(2026, 3, 10, 14, 30)},
		{"ends exactly at noon closing, not 13:30", at(2026, 3, 10, 9, 0), 3, at(2026, 3, 10, 12, 0)},
		{"exposed rubbish 4 h from opening ends at 14:00", at(2026, 3, 10, 8, 30), 4, at(2026, 3, 10, 14, 0)},
		{"a full day is 7.5 h: 8 h runs into next morning", at(2026, 3, 10, 8, 30), 8, at(2026, 3, 11, 9, 0)},
		{"crosses the evening", at(2026, 3, 10, 16, 30), 2, at(2026, 3, 11, 9, 30)},
		{"reported at night starts at next opening", at(2026, 3, 10, 22, 0), 1, at(2026, 3, 11, 9, 30)},
		{"reported before opening", at(2026, 3, 10, 6, 0), 1, at(2026, 3, 10, 9, 30)},
		{"reported during lunch starts at 13:30", at(2026, 3, 10, 12, 15), 1, at(2026, 3, 10, 14, 30)},
		{"Friday evening runs over the weekend", at(2026, 3, 13, 17, 0), 1, at(2026, 3, 16, 9, 0)},
		{"2026 Friday before 春节 runs into make-up Saturday Feb 14", at(2026, 2, 13, 16, 30), 4, at(2026, 2, 14, 11, 30)},
		{"2026 make-up Saturday evening skips 春节 to Feb 24", at(2026, 2, 14, 17, 0), 2, at(2026, 2, 24, 10, 0)},
		{"2025 make-up Sunday Jan 26 counts", at(2025, 1, 24, 17, 0), 1, at(2025, 1, 26, 9, 0)},
		{"2024 make-up Sunday Feb 18 counts", at(2024, 2, 9, 17, 0), 1, at(2024, 2, 18, 9, 0)},
		{"zero hours returns the instant", at(2026, 2, 15, 3, 0), 0, at(2026, 2, 15, 3, 0)},
		{"UTC input is read on China's clock", time.Date(2026, 2, 13, 16, 0, 0, 0, time.UTC), 1, at(2026, 2, 14, 9, 30)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := c.AddWorkingHours(tt.from, tt.hours)
			if !got.Equal(tt.want) {
				t.Errorf("AddWorkingHours(%s, %d) = %s, want %s", tt.from.In(sh), tt.hours, got, tt.want)
			}
			if got.Location() != sh && got.Location().String() != Zone {
				t.Errorf("result in %s, want %s", got.Location(), Zone)
			}
		})
	}
}

func TestAddWorkingDays(t *testing.T) {
	c := Default()
	tests := []struct {
		name string
		from time.Time
		days int
		want time.Time
	}{
		{"1 day from Tuesday morning is Wednesday close", at(2026, 3, 10, 9, 0), 1, at(2026, 3, 11, 17, 30)},
		{"t's own date never counts, even at 08:00", at(2026, 3, 10, 8, 0), 1, at(2026, 3, 11, 17, 30)},
		{"1 day from Friday is Monday close", at(2026, 3, 13, 10, 0), 1, at(2026, 3, 16, 17, 30)},
		{"from a Saturday counts from Monday", at(2026, 3, 14, 10, 0), 1, at(2026, 3, 16, 17, 30)},
		{"illegal construction penalty 7 days", at(2026, 3, 10, 15, 0), 7, at(2026, 3, 19, 17, 30)},
		// Feb 12 (Thu): 13 Fri, 14 make-up Sat, then 15–23 off, 24 Tue, 25, 26, 27, 28 make-up Sat.
		{"2026 crosses 春节 and counts make-up Saturday Feb 28", at(2026, 2, 12, 10, 0), 7, at(2026, 2, 28, 17, 30)},
		{"2026 crosses 春节: 2 days from Feb 13 is Feb 24", at(2026, 2, 13, 10, 0), 2, at(2026, 2, 24, 17, 30)},
		{"2026 removal 20 days across 春节", at(2026, 2, 10, 10, 0), 20, at(2026, 3, 16, 17, 30)},
		{"2025 make-up Sunday Jan 26 counts", at(2025, 1, 24, 10, 0), 1, at(2025, 1, 26, 17, 30)},
		{"2025 国庆中秋: 1 day from Sep 30 is Thu Oct 9", at(2025, 9, 30, 10, 0), 1, at(2025, 10, 9, 17, 30)},
		{"zero days returns the instant", at(2026, 3, 10, 9, 0), 0, at(2026, 3, 10, 9, 0)},
		{"New Year 2027: 1 day from Thu Dec 31 2026 is Mon Jan 4", at(2026, 12, 31, 10, 0), 1, at(2027, 1, 4, 17, 30)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.AddWorkingDays(tt.from, tt.days); !got.Equal(tt.want) {
				t.Errorf("AddWorkingDays(%s, %d) = %s, want %s", tt.from, tt.days, got, tt.want)
			}
		})
	}
}

func TestWorkingDuration(t *testing.T) {
	c := Default()
	tests := []struct {
		name     string
		from, to time.Time
		want     time.Duration
	}{
		{"inside one span", at(2026, 3, 10, 9, 0), at(2026, 3, 10, 10, 15), 75 * time.Minute},
		{"lunch does not count", at(2026, 3, 10, 11, 0), at(2026, 3, 10, 14, 0), 90 * time.Minute},
		{"a whole working day is 7.5 h", at(2026, 3, 10, 0, 0), at(2026, 3, 11, 0, 0), 450 * time.Minute},
		{"a night does not count", at(2026, 3, 10, 17, 0), at(2026, 3, 11, 9, 0), time.Hour},
		{"a weekend does not count", at(2026, 3, 14, 0, 0), at(2026, 3, 16, 0, 0), 0},
		{"2026 春节 week counts only the make-up Saturday", at(2026, 2, 14, 0, 0), at(2026, 2, 24, 0, 0), 450 * time.Minute},
		{"reversed is negative (overdue)", at(2026, 3, 10, 10, 0), at(2026, 3, 10, 9, 0), -time.Hour},
		{"same instant", at(2026, 3, 10, 10, 0), at(2026, 3, 10, 10, 0), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := c.WorkingDuration(tt.from, tt.to); got != tt.want {
				t.Errorf("WorkingDuration(%s, %s) = %s, want %s", tt.from, tt.to, got, tt.want)
			}
		})
	}
}

// AddWorkingTime and WorkingDuration are inverse on random instants across
// the three years of data: the working time from t to t+d is d.
func TestAddWorkingTimeInvertsWorkingDuration(t *testing.T) {
	c := Default()
	r := rand.New(rand.NewSource(1))
	start := at(2024, 1, 1, 0, 0)
	for i := 0; i < 2000; i++ {
		from := start.Add(time.Duration(r.Int63n(int64(3 * 365 * 24 * time.Hour))))
		d := time.Duration(r.Int63n(int64(60 * time.Hour)))
		to := c.AddWorkingTime(from, d)
		if got := c.WorkingDuration(from, to); got != d {
			t.Fatalf("WorkingDuration(%s, AddWorkingTime(%s, %s) = %s) = %s", from, from, d, to, got)
		}
		if d > 0 && !c.IsWorkingTime(to.Add(-time.Nanosecond)) {
			t.Fatalf("AddWorkingTime(%s, %s) = %s, not the end of working time", from, d, to)
		}
	}
}

func TestWithDays(t *testing.T) {
	base := Default()
	// An administrator enters part of 2028 before a package update, and makes
	// a local change to 2026.
	c := base.WithDays([]Day{
		{Date: D(2028, 1, 3), Kind: Off, Name: "春节"},
		{Date: D(2028, 1, 29), Kind: Work, Name: "春节补班"},
		{Date: D(2026, 2, 28), Kind: Off, Name: "local: make-up day cancelled"},
	})
	tests := []struct {
		name string
		cal  *Calendar
		date Date
		want bool
	}{
		{"2028 Monday entered as off", c, D(2028, 1, 3), false},
		{"2028 Saturday entered as make-up", c, D(2028, 1, 29), true},
		{"override replaces the embedded make-up day", c, D(2026, 2, 28), false},
		{"the original is unchanged", base, D(2026, 2, 28), true},
		{"the original does not see 2028 entries", base, D(2028, 1, 3), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.cal.IsWorkingDay(tt.date); got != tt.want {
				t.Errorf("IsWorkingDay(%s) = %v, want %v", tt.date, got, tt.want)
			}
		})
	}
	if !c.Covers(2028) || base.Covers(2028) {
		t.Errorf("Covers(2028): with days %v, base %v; want true, false", c.Covers(2028), base.Covers(2028))
	}
	if got := len(c.Days(2028)); got != 2 {
		t.Errorf("Days(2028) has %d days, want 2", got)
	}
}

func TestWithOfficeHours(t *testing.T) {
	c := Default()
	summer, err := c.WithOfficeHours([]Span{Hours(8, 0, 12, 0), Hours(14, 30, 18, 0)})
	if err != nil {
		t.Fatal(err)
	}
	if got, want := summer.AddWorkingHours(at(2026, 7, 1, 11, 0), 2), at(2026, 7, 1, 15, 30); !got.Equal(want) {
		t.Errorf("summer hours: got %s, want %s", got, want)
	}
	if got, want := summer.AddWorkingDays(at(2026, 7, 1, 11, 0), 1), at(2026, 7, 2, 18, 0); !got.Equal(want) {
		t.Errorf("summer hours: 1 working day ends at %s, want %s", got, want)
	}
	bad := []struct {
		name  string
		spans []Span
	}{
		{"none", nil},
		{"empty span", []Span{Hours(9, 0, 9, 0)}},
		{"past midnight", []Span{Hours(20, 0, 25, 0)}},
		{"overlapping", []Span{Hours(8, 0, 12, 0), Hours(11, 0, 13, 0)}},
		{"out of order", []Span{Hours(13, 0, 17, 0), Hours(8, 0, 12, 0)}},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := c.WithOfficeHours(tt.spans); err == nil {
				t.Errorf("WithOfficeHours(%v) = nil error, want one", tt.spans)
			}
		})
	}
}

func TestParseDays(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		want    int
		wantErr string
	}{
		{"comments and blanks", "# notice\n\n2027-02-08 off 春节\n2027-01-31 work 春节补班\n", 2, ""},
		{"name optional", "2027-02-08 off\n", 1, ""},
		{"bad date", "2027-02-30 off\n", 0, "line 1"},
		{"bad kind", "2027-02-08 holiday\n", 0, "kind must be"},
		{"missing kind", "# x\n2027-02-08\n", 0, "line 2"},
		{"duplicate", "2027-02-08 off\n2027-02-08 work\n", 0, "already listed on line 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			days, err := ParseDays(strings.NewReader(tt.in))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(days) != tt.want {
				t.Fatalf("got %d days, err %v; want %d days", len(days), err, tt.want)
			}
		})
	}
}

func TestWeeksStartOnMondayInShanghai(t *testing.T) {
	c := Default()
	for _, tc := range []struct {
		name string
		t    time.Time
		want time.Time
	}{
		{"a Wednesday", at(2026, 3, 4, 15, 0), at(2026, 3, 2, 0, 0)},
		{"Monday midnight is its own week", at(2026, 3, 2, 0, 0), at(2026, 3, 2, 0, 0)},
		{"Sunday late belongs to the week before", at(2026, 3, 8, 23, 59), at(2026, 3, 2, 0, 0)},
		// Sunday 17:00 UTC is Monday 01:00 in Shanghai: a UTC week rule would put it a week early.
		{"Sunday evening UTC is Monday in China", time.Date(2026, 3, 8, 17, 0, 0, 0, time.UTC), at(2026, 3, 9, 0, 0)},
		{"across a year", at(2027, 1, 1, 9, 0), at(2026, 12, 28, 0, 0)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := c.WeekStart(tc.t); !got.Equal(tc.want) {
				t.Errorf("WeekStart(%s) = %s, want %s", tc.t, got, tc.want)
			}
		})
	}
	got := c.Weeks(at(2026, 3, 4, 0, 0), at(2026, 3, 16, 0, 0))
	want := []time.Time{at(2026, 3, 2, 0, 0), at(2026, 3, 9, 0, 0)}
	if len(got) != len(want) || !got[0].Equal(want[0]) || !got[1].Equal(want[1]) {
		t.Errorf("Weeks = %v, want %v (the week starting on to is not included)", got, want)
	}
	if n := len(c.Weeks(at(2026, 3, 4, 0, 0), at(2026, 3, 4, 0, 0))); n != 0 {
		t.Errorf("Weeks of an empty period: %d, want 0", n)
	}
}
