package geo

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// The small-count rule. Counts of vulnerable residents (elderly living alone,
// disabled, low-income households) identify people when they are small: a
// building of 12 households that shows 空巢老人 1 points at one flat. So every
// public surface (pages, posters, the API; the tiles carry no such counts)
// shows them through CountPolicy.Show:
//
//   - per grid (or any larger area), a sensitive count below MinPublicCount
//     (GRIDMAP_MIN_PUBLIC_COUNT, default 5) is shown as "<5", zero included;
//   - per building, sensitive counts are not public at all, unless
//     PublicBuildingCounts (GRIDMAP_PUBLIC_BUILDING_COUNTS=1) is set, and then
//     with the same "<5" rule;
//   - signed-in staff see the exact numbers on pages and in the API; a poster
//     is printed to hang in public, so it always follows the public rule.
//
// Which groups are sensitive is data: the Sensitive flag in CountGroups, the
// one list every surface iterates. A group added later is added to
// NoticeCounts and CountGroups, and every surface treats it by its flag.

// DefaultMinPublicCount is the smallest count of a sensitive group that a
// public surface shows exactly.
const DefaultMinPublicCount = 5

// CountGroup is one of the groups NoticeCounts counts.
type CountGroup struct {
	// Key names the group in JSON, in the pages' data-count attributes and in
	// the message catalogue (count.<Key>).
	Key string
	// Sensitive groups are vulnerable residents: suppressed below the
	// threshold in public, and not public per building by default.
	Sensitive bool
	field     func(*NoticeCounts) *int
}

// CountGroups lists NoticeCounts' groups in display order, each with its
// sensitivity: the one place that says which counts the small-count rule
// protects.
var CountGroups = []CountGroup{
	{Key: "party_members", field: func(c *NoticeCounts) *int { return &c.PartyMembers }},
	{Key: "elderly_alone", Sensitive: true, field: func(c *NoticeCounts) *int { return &c.ElderlyAlone }},
	{Key: "disabled", Sensitive: true, field: func(c *NoticeCounts) *int { return &c.Disabled }},
	{Key: "low_income", Sensitive: true, field: func(c *NoticeCounts) *int { return &c.LowIncome }},
}

// Of is g's count in c.
func (g CountGroup) Of(c NoticeCounts) int { return *g.field(&c) }

// Add adds o to c, group by group.
func (c *NoticeCounts) Add(o NoticeCounts) {
	for _, g := range CountGroups {
		*g.field(c) += *g.field(&o)
	}
}

// Count is a count as a surface shows it: exact, or suppressed, known only
// to be below Below. In JSON an exact count is a number (12) and a
// suppressed one the string "<5", so clients tell them apart by type.
type Count struct {
	N     int // the exact count; 0 when suppressed
	Below int // > 0: suppressed, the count is less than Below
}

// PublicCount is n as a public surface shows it: exact when n >= min,
// otherwise suppressed as "<min" (zero included: "nobody" identifies too).
// A min below 1 shows every count exactly.
func PublicCount(n, min int) Count {
	if min > 0 && n < min {
		return Count{Below: min}
	}
	return Count{N: n}
}

// Suppressed reports whether c hides its number.
func (c Count) Suppressed() bool { return c.Below > 0 }

// String is "12", or "<5" when suppressed.
func (c Count) String() string {
	if c.Suppressed() {
		return "<" + strconv.Itoa(c.Below)
	}
	return strconv.Itoa(c.N)
}

// MarshalJSON writes 12, or "<5" when suppressed.
func (c Count) MarshalJSON() ([]byte, error) {
	if c.Suppressed() {
		return []byte(`"` + c.String() + `"`), nil // "<5", not json.Marshal's "\u003c5"
	}
	return []byte(strconv.Itoa(c.N)), nil
}

// UnmarshalJSON reads what MarshalJSON writes.
func (c *Count) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err == nil {
		n, err := strconv.Atoi(strings.TrimPrefix(s, "<"))
		if !strings.HasPrefix(s, "<") || err != nil || n < 1 {
			return fmt.Errorf("geo.Count: want a number or \"<N\", got %q", s)
		}
		*c = Count{Below: n}
		return nil
	}
	var n int
	if err := json.Unmarshal(b, &n); err != nil {
		return fmt.Errorf("geo.Count: want a number or \"<N\", got %s", b)
	}
	*c = Count{N: n}
	return nil
}

// ShownCount is one group's count on a surface.
type ShownCount struct {
	Key   string
	Count Count
}

// ShownCounts are the groups a surface shows, in CountGroups order; groups
// not public there are left out. In JSON an object keyed by group.
type ShownCounts []ShownCount

// Get is the count of group key, and whether it is shown.
func (s ShownCounts) Get(key string) (Count, bool) {
	for _, c := range s {
		if c.Key == key {
			return c.Count, true
		}
	}
	return Count{}, false
}

// MarshalJSON writes {"party_members":12,"elderly_alone":"<5",…}.
func (s ShownCounts) MarshalJSON() ([]byte, error) {
	var b strings.Builder
	b.WriteByte('{')
	for i, c := range s {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(c.Key)
		v, _ := c.Count.MarshalJSON()
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return []byte(b.String()), nil
}

// CountPolicy is the small-count rule's settings; cmd fills it from
// GRIDMAP_MIN_PUBLIC_COUNT and GRIDMAP_PUBLIC_BUILDING_COUNTS.
type CountPolicy struct {
	// MinPublicCount is the smallest sensitive count shown exactly in public;
	// below 1 means DefaultMinPublicCount.
	MinPublicCount int
	// PublicBuildingCounts shows sensitive counts per building in public too
	// (still with the threshold); by default they are public only per grid.
	PublicBuildingCounts bool
}

// Threshold is MinPublicCount, or DefaultMinPublicCount when it is below 1.
func (p CountPolicy) Threshold() int {
	if p.MinPublicCount < 1 {
		return DefaultMinPublicCount
	}
	return p.MinPublicCount
}

// Audience is who a surface answers.
type Audience int

const (
	Public Audience = iota // anonymous requests, and posters whoever prints them
	Staff                  // signed-in accounts (any role)
)

// Show is c as seen by aud: staff see every group exactly; the public see
// the groups that are not sensitive exactly and the sensitive ones through
// PublicCount, and for one building (perBuilding) not at all unless
// PublicBuildingCounts.
func (p CountPolicy) Show(c NoticeCounts, aud Audience, perBuilding bool) ShownCounts {
	min := p.Threshold()
	out := make(ShownCounts, 0, len(CountGroups))
	for _, g := range CountGroups {
		n := g.Of(c)
		switch {
		case aud == Staff || !g.Sensitive:
			out = append(out, ShownCount{g.Key, Count{N: n}})
		case perBuilding && !p.PublicBuildingCounts:
			// not public per building
		default:
			out = append(out, ShownCount{g.Key, PublicCount(n, min)})
		}
	}
	return out
}
