package demo

import (
	"math/rand"
	"sort"
	"time"

	"github.com/paulmach/orb"
)

// CaseFate is how far a demo case gets.
type CaseFate string

// Fates, in the proportions CasePlans draws them.
const (
	FateRated    CaseFate = "rated"    // closed on time and rated
	FateClosed   CaseFate = "closed"   // closed on time, not rated
	FateLate     CaseFate = "late"     // escalated once on the way, then closed and rated
	FateRejected CaseFate = "rejected" // not registered (不予立案)
	FateOpen     CaseFate = "open"     // still being handled (recent cases)
)

// CasePlan is one demo case: where, what, when it was reported and how far
// it gets; Steps are the delays after the report at which the next action
// happens (accept, dispatch, start, handle, verify, close, rate), as many as
// the fate needs.
type CasePlan struct {
	Category string
	Point    orb.Point
	Address  string
	At       time.Time
	Fate     CaseFate
	Rating   int
	Steps    []time.Duration
}

// demo categories with their weights: the common ones of a street office's year.
var demoCategories = []struct {
	code   string
	weight int
}{
	{"exposed_rubbish", 18}, {"overflowing_bin", 10}, {"illegal_posters", 9}, {"street_vending", 8},
	{"road_cleaning", 6}, {"laundry_on_street", 4}, {"outside_store_business", 6}, {"manhole_cover", 3},
	{"construction_waste", 3}, {"open_burning", 1},
}

// CasePlans draws n cases over the year before end, at the dataset's
// buildings (office hours more often than nights), deterministic by seed.
// Cases of the last 10 days stay open; older ones are mostly rated or
// closed, some escalated (late), some rejected.
func (ds *Dataset) CasePlans(seed int64, n int, end time.Time) []CasePlan {
	if n <= 0 || len(ds.Buildings) == 0 {
		return nil
	}
	r := rand.New(rand.NewSource(seed))
	total := 0
	for _, c := range demoCategories {
		total += c.weight
	}
	loc := time.FixedZone("CST", 8*3600)
	out := make([]CasePlan, 0, n)
	for i := 0; i < n; i++ {
		b := ds.Buildings[r.Intn(len(ds.Buildings))]
		w := r.Intn(total)
		cat := demoCategories[0].code
		for _, c := range demoCategories {
			if w < c.weight {
				cat = c.code
				break
			}
			w -= c.weight
		}
		day := end.AddDate(0, 0, -1-r.Intn(365)).In(loc)
		hour := 8 + r.Intn(10)
		if r.Intn(5) == 0 {
			hour = r.Intn(24)
		}
		at := time.Date(day.Year(), day.Month(), day.Day(), hour, r.Intn(60), 0, 0, loc)
		// 3 m of jitter around the building point
		p := orb.Point{b.Point[0] + (r.Float64()-0.5)*6/100000, b.Point[1] + (r.Float64()-0.5)*6/111000}
		plan := CasePlan{Category: cat, Point: p, Address: b.Address, At: at}
		min := func(a, b int) time.Duration { return time.Duration(a+r.Intn(b-a+1)) * time.Minute }
		switch x := r.Intn(100); {
		case end.Sub(at) < 10*24*time.Hour:
			plan.Fate = FateOpen
			plan.Steps = []time.Duration{min(5, 50), min(5, 30)}[:r.Intn(3)]
		case x < 6:
			plan.Fate = FateRejected
			plan.Steps = []time.Duration{min(5, 50)}
		case x < 16:
			plan.Fate = FateLate
			// started three days after dispatch: past any tier-1 deadline, so the sweep escalates it first
			plan.Steps = []time.Duration{min(5, 50), min(5, 30), min(4320, 4400), min(30, 240), min(30, 200), min(10, 60), min(60, 2880)}
		case x < 40:
			plan.Fate = FateClosed
			plan.Steps = []time.Duration{min(5, 50), min(5, 30), min(5, 60), min(20, 150), min(20, 200), min(10, 60)}
		default:
			plan.Fate = FateRated
			plan.Steps = []time.Duration{min(5, 50), min(5, 30), min(5, 60), min(20, 150), min(20, 200), min(10, 60), min(60, 2880)}
		}
		if plan.Fate == FateRated || plan.Fate == FateLate {
			plan.Rating = []int{5, 5, 5, 4, 4, 3, 2, 1}[r.Intn(8)]
			if plan.Fate == FateLate {
				plan.Rating = 1 + r.Intn(4)
			}
		}
		out = append(out, plan)
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].At.Before(out[j].At) })
	return out
}

// UnitOf is the case unit the demo gives an area: its own office, named after
// it (a grid's is its grid team).
func UnitOf(a Area) (kind, name string) {
	kind = a.Level
	if kind == LevelGrid {
		kind = "grid_team"
	}
	return kind, a.Name + "办"
}
