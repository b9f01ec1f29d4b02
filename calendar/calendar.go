// Package calendar is China's working time: office hours on the official
// calendar of statutory holidays and 调休 make-up working days (补班), on one
// clock, Asia/Shanghai (UTC+8, no daylight saving since 1991).
//
// Case deadlines ("4 working hours", "7 working days") and the working time
// left on a case are computed here. The package is pure: holiday data comes
// embedded (holidays/YYYY.txt: 2024–2026 transcribed from the State Council
// notices; 2027 copied from lunar-go and still to be checked against its
// notice) and can be extended or overridden at run time (WithDays).
package calendar

import (
	"fmt"
	"sort"
	"time"
	_ "time/tzdata" // Asia/Shanghai must load on machines without a zoneinfo database
)

// Zone is the IANA name of China's one clock.
const Zone = "Asia/Shanghai"

// Shanghai returns the Asia/Shanghai location (from the embedded tzdata when
// the system has none), loaded once: every date and time of day gridmap
// shows or parses (duties in force, case deadlines, pages, imports) is on
// this one clock. It panics only if the embedded tzdata lacks the zone,
// which a test rules out.
func Shanghai() *time.Location { return shanghai }

var shanghai = func() *time.Location {
	loc, err := time.LoadLocation(Zone)
	if err != nil {
		panic("calendar: " + err.Error())
	}
	return loc
}()

// Date is a civil date in China (no time of day, no zone).
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// D returns the date year-month-day, normalised as time.Date does (Feb 30 is Mar 1 or 2).
func D(year int, month time.Month, day int) Date {
	t := time.Date(year, month, day, 0, 0, 0, 0, time.UTC)
	return Date{t.Year(), t.Month(), t.Day()}
}

// ParseDate parses "YYYY-MM-DD".
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("date %q is not YYYY-MM-DD", s)
	}
	return Date{t.Year(), t.Month(), t.Day()}, nil
}

// String formats d as "YYYY-MM-DD".
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// AddDays returns the date n calendar days after d (before, for negative n).
func (d Date) AddDays(n int) Date { return D(d.Year, d.Month, d.Day+n) }

// Weekday returns d's day of the week.
func (d Date) Weekday() time.Weekday {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC).Weekday()
}

// Compare returns -1, 0 or +1 as d is before, equal to or after e.
func (d Date) Compare(e Date) int {
	switch {
	case d.Year != e.Year:
		return cmp(d.Year, e.Year)
	case d.Month != e.Month:
		return cmp(int(d.Month), int(e.Month))
	default:
		return cmp(d.Day, e.Day)
	}
}

func cmp(a, b int) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// At returns the instant minuteOfDay minutes after midnight of d in loc
// (8*60+30 is 08:30).
func (d Date) At(minuteOfDay int, loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, minuteOfDay, 0, 0, loc)
}

// DayKind says whether a listed day is off or a working day.
type DayKind string

// Day kinds, as written in the holiday files.
const (
	Off  DayKind = "off"  // statutory holiday or 调休 rest day: no office hours
	Work DayKind = "work" // working day, typically a weekend made one (补班)
)

// Day is one entry of holiday data: a date that is off, or a working day,
// whatever its weekday. Days not listed follow the week: Monday to Friday
// work, Saturday and Sunday off.
type Day struct {
	Date Date
	Kind DayKind
	Name string // e.g. "春节", "春节补班"; for people, not logic
}

// Span is a period of office hours within a day, in minutes after local
// midnight (Asia/Shanghai): [Start, End).
type Span struct {
	Start, End int
}

// Hours returns the span hh1:mm1–hh2:mm2.
func Hours(h1, m1, h2, m2 int) Span { return Span{h1*60 + m1, h2*60 + m2} }

func (s Span) String() string {
	return fmt.Sprintf("%02d:%02d–%02d:%02d", s.Start/60, s.Start%60, s.End/60, s.End%60)
}

// DefaultOfficeHours are 08:30–12:00 and 13:30–17:30, 7.5 hours a day.
func DefaultOfficeHours() []Span { return []Span{Hours(8, 30, 12, 0), Hours(13, 30, 17, 30)} }

// Calendar answers working-time questions. It is immutable: WithDays and
// WithOfficeHours return changed copies, so one Calendar can be shared by
// goroutines.
type Calendar struct {
	loc   *time.Location
	days  map[Date]Day
	years map[int]bool // years with any listed day
	hours []Span
}

// New returns a calendar with the given holiday data and default office
// hours, in Asia/Shanghai. Later days override earlier ones with the same date.
func New(days []Day) *Calendar {
	c := &Calendar{loc: Shanghai(), days: map[Date]Day{}, years: map[int]bool{}, hours: DefaultOfficeHours()}
	c.add(days)
	return c
}

// Default returns the calendar of the embedded holiday data (every year in
// holidays/) with default office hours.
func Default() *Calendar {
	days, err := EmbeddedDays()
	if err != nil {
		panic("calendar: embedded holiday data: " + err.Error()) // a test parses it
	}
	return New(days)
}

func (c *Calendar) add(days []Day) {
	for _, d := range days {
		c.days[d.Date] = d
		c.years[d.Date.Year] = true
	}
}

// WithDays returns a copy of c with extra or overriding days, e.g. next
// year's holidays entered by an administrator before a package update, or a
// local change. A day given here replaces any day of c with the same date.
func (c *Calendar) WithDays(days []Day) *Calendar {
	n := &Calendar{loc: c.loc, days: make(map[Date]Day, len(c.days)+len(days)), years: map[int]bool{}, hours: c.hours}
	for d, v := range c.days {
		n.days[d] = v
	}
	for y := range c.years {
		n.years[y] = true
	}
	n.add(days)
	return n
}

// WithOfficeHours returns a copy of c with other office hours. Spans must be
// non-empty, within 00:00–24:00, in order and not overlapping.
func (c *Calendar) WithOfficeHours(spans []Span) (*Calendar, error) {
	if len(spans) == 0 {
		return nil, fmt.Errorf("office hours: at least one span is needed")
	}
	prev := 0
	for i, s := range spans {
		if s.Start < 0 || s.End > 24*60 || s.Start >= s.End {
			return nil, fmt.Errorf("office hours: span %d (%s) must start before it ends, within 00:00–24:00", i+1, s)
		}
		if i > 0 && s.Start < prev {
			return nil, fmt.Errorf("office hours: span %d (%s) overlaps or precedes the one before it", i+1, s)
		}
		prev = s.End
	}
	n := *c
	n.hours = append([]Span(nil), spans...)
	return &n, nil
}

// Location returns the calendar's time zone (Asia/Shanghai).
func (c *Calendar) Location() *time.Location { return c.loc }

// OfficeHours returns the office hours of a working day.
func (c *Calendar) OfficeHours() []Span { return append([]Span(nil), c.hours...) }

// Covers reports whether any holiday data is known for year. For a year not
// covered the calendar still answers, by weekdays alone, which is wrong around
// holidays: callers should warn an administrator to add the year's days.
func (c *Calendar) Covers(year int) bool { return c.years[year] }

// Days returns the listed days of year in date order.
func (c *Calendar) Days(year int) []Day {
	var out []Day
	for d, v := range c.days {
		if d.Year == year {
			out = append(out, v)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Date.Compare(out[j].Date) < 0 })
	return out
}

// DateOf returns the civil date of t in Asia/Shanghai.
func (c *Calendar) DateOf(t time.Time) Date {
	t = t.In(c.loc)
	return Date{t.Year(), t.Month(), t.Day()}
}

// IsWorkingDay reports whether d is a working day: a listed day decides;
// otherwise Monday to Friday are working days.
func (c *Calendar) IsWorkingDay(d Date) bool {
	if v, ok := c.days[d]; ok {
		return v.Kind == Work
	}
	wd := d.Weekday()
	return wd != time.Saturday && wd != time.Sunday
}

// DayInfo returns the listed entry for d, if any (for display: "春节补班").
func (c *Calendar) DayInfo(d Date) (Day, bool) {
	v, ok := c.days[d]
	return v, ok
}

// spans returns the office-hour intervals of date d as instants, none on a day off.
func (c *Calendar) spans(d Date) [][2]time.Time {
	if !c.IsWorkingDay(d) {
		return nil
	}
	out := make([][2]time.Time, len(c.hours))
	for i, s := range c.hours {
		out[i] = [2]time.Time{d.At(s.Start, c.loc), d.At(s.End, c.loc)}
	}
	return out
}

// IsWorkingTime reports whether t falls inside office hours of a working day.
func (c *Calendar) IsWorkingTime(t time.Time) bool {
	for _, s := range c.spans(c.DateOf(t)) {
		if !t.Before(s[0]) && t.Before(s[1]) {
			return true
		}
	}
	return false
}

// AddWorkingTime returns the instant at which d of working time has passed
// since t, counting only office hours on working days. When t is outside
// office hours counting starts at the next opening. A result that falls
// exactly on a closing time stays there (4 working hours from 08:30 is 12:00
// that day, not 13:30). d <= 0 returns t unchanged. The result is in
// Asia/Shanghai.
//
// The loop ends because listed days are finite and every week past them has
// working days with office hours.
func (c *Calendar) AddWorkingTime(t time.Time, d time.Duration) time.Time {
	if d <= 0 {
		return t
	}
	t = t.In(c.loc)
	left := d
	for day := c.DateOf(t); ; day = day.AddDays(1) {
		for _, s := range c.spans(day) {
			start, end := s[0], s[1]
			if !end.After(t) {
				continue
			}
			if start.Before(t) {
				start = t
			}
			avail := end.Sub(start)
			if left <= avail {
				return start.Add(left)
			}
			left -= avail
		}
	}
}

// AddWorkingHours returns AddWorkingTime(t, h hours): the deadline "h working
// hours" after t.
func (c *Calendar) AddWorkingHours(t time.Time, h int) time.Time {
	return c.AddWorkingTime(t, time.Duration(h)*time.Hour)
}

// AddWorkingDays returns the deadline "n working days" from t: the close of
// office (the end of the last span, 17:30 by default) on the nth working day
// after t's date in Asia/Shanghai. t's own date never counts, whatever the
// time of day and whether or not it is a working day (as 期限 are counted in
// Chinese administrative practice: 开始的当日不计入). So 1 working day from a
// Friday 10:00 is the next Monday 17:30 if that is a working day. n <= 0
// returns t unchanged.
func (c *Calendar) AddWorkingDays(t time.Time, n int) time.Time {
	if n <= 0 {
		return t
	}
	day := c.DateOf(t)
	for n > 0 {
		day = day.AddDays(1)
		if c.IsWorkingDay(day) {
			n--
		}
	}
	return day.At(c.hours[len(c.hours)-1].End, c.loc)
}

// NextWorkingDay returns the first working day after d.
func (c *Calendar) NextWorkingDay(d Date) Date {
	for {
		d = d.AddDays(1)
		if c.IsWorkingDay(d) {
			return d
		}
	}
}

// WorkingDuration returns the working time (office hours on working days)
// between two instants: for "剩 3 工作小时" (WorkingDuration(now, due)) and
// for the clock of a paused case. It is negative when to is before from, so
// WorkingDuration(now, due) < 0 says by how much a case is overdue.
func (c *Calendar) WorkingDuration(from, to time.Time) time.Duration {
	if to.Before(from) {
		return -c.WorkingDuration(to, from)
	}
	var sum time.Duration
	last := c.DateOf(to)
	for day := c.DateOf(from); day.Compare(last) <= 0; day = day.AddDays(1) {
		for _, s := range c.spans(day) {
			start, end := s[0], s[1]
			if start.Before(from) {
				start = from
			}
			if end.After(to) {
				end = to
			}
			if end.After(start) {
				sum += end.Sub(start)
			}
		}
	}
	return sum
}

// WeekStart returns the start of t's week on China's clock: the Monday on or
// before t's date in Asia/Shanghai, at 00:00 there.
func (c *Calendar) WeekStart(t time.Time) time.Time {
	d := c.DateOf(t)
	back := (int(d.Weekday()) + 6) % 7 // Monday 0 … Sunday 6
	return d.AddDays(-back).At(0, c.loc)
}

// Weeks returns the starts of the weeks (WeekStart) that overlap [from, to),
// in order; the first may lie before from. None when to is not after from.
func (c *Calendar) Weeks(from, to time.Time) []time.Time {
	var out []time.Time
	if !to.After(from) {
		return nil
	}
	for w := c.WeekStart(from); w.Before(to); w = c.DateOf(w).AddDays(7).At(0, c.loc) {
		out = append(out, w)
	}
	return out
}
