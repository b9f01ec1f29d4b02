package demo

import (
	"bytes"
	"fmt"
	"math"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"gridmap/geo"
)

// mustGenerate calls Generate and fails the test on error.
func mustGenerate(t *testing.T, opt Options) *Dataset {
	t.Helper()
	ds, err := Generate(opt)
	if err != nil {
		t.Fatalf("Generate(%+v): %v", opt, err)
	}
	return ds
}

// Datasets the structural tests run on: the default, one with several
// subdistricts, and the scaled run the brief asks for.
var structuralCases = []struct {
	name string
	opt  Options
}{
	{"default", Options{}},
	{"seed 7, 300 grids, several subdistricts", Options{Seed: 7, Grids: 300, Buildings: 6000}},
	{"smallest, 5 grids", Options{Grids: 5}},
	{"few grids need narrow communities", Options{Seed: 3, Grids: 10}},
}

func areasByLevel(ds *Dataset, level string) []Area {
	var out []Area
	for _, a := range ds.Areas {
		if a.Level == level {
			out = append(out, a)
		}
	}
	return out
}

func ring(a Area) orb.Ring { return a.Geometry[0][0] }

// ringContains is a ray-casting point-in-polygon test.
func ringContains(r orb.Ring, p orb.Point) bool {
	in := false
	for i := 1; i < len(r); i++ {
		a, b := r[i-1], r[i]
		if (a[1] > p[1]) != (b[1] > p[1]) && p[0] < (b[0]-a[0])*(p[1]-a[1])/(b[1]-a[1])+a[0] {
			in = !in
		}
	}
	return in
}

func TestGenerateDeterministic(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  Options
	}{
		{"default", Options{}},
		{"seed 1 is the default seed", Options{Seed: 1}},
		{"other seed and sizes", Options{Seed: 99, Grids: 120, Buildings: 2000}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a, b := mustGenerate(t, tc.opt), mustGenerate(t, tc.opt)
			if !reflect.DeepEqual(a, b) {
				t.Fatalf("two runs of %+v differ", tc.opt)
			}
		})
	}
	t.Run("default equals seed 1", func(t *testing.T) {
		if !reflect.DeepEqual(mustGenerate(t, Options{}), mustGenerate(t, Options{Seed: 1})) {
			t.Errorf("Options{} and Options{Seed: 1} differ")
		}
	})
	t.Run("seeds differ", func(t *testing.T) {
		a, b := mustGenerate(t, Options{Seed: 1}), mustGenerate(t, Options{Seed: 2})
		if reflect.DeepEqual(a.Areas, b.Areas) || reflect.DeepEqual(a.Buildings, b.Buildings) {
			t.Errorf("seeds 1 and 2 gave the same areas or buildings")
		}
	})
}

func TestDefaultCounts(t *testing.T) {
	ds := mustGenerate(t, Options{})
	households, residents := 0, 0
	for _, b := range ds.Buildings {
		households += b.Households
		residents += b.Residents
	}
	for _, tc := range []struct {
		name     string
		got      int
		min, max int
	}{
		{"districts", len(areasByLevel(ds, LevelDistrict)), 1, 1},
		{"subdistricts", len(areasByLevel(ds, LevelSubdistrict)), 1, 1},
		{"communities", len(areasByLevel(ds, LevelCommunity)), 6, 6},
		{"grids", len(areasByLevel(ds, LevelGrid)), 42, 42},
		{"buildings", len(ds.Buildings), 1500, 1700},
		{"households", households, 42 * 300, 42 * 500},
		{"people", len(ds.People), 42 * 2, 1000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got < tc.min || tc.got > tc.max {
				t.Errorf("got %d, want %d–%d", tc.got, tc.min, tc.max)
			}
		})
	}
	t.Run("residents per household", func(t *testing.T) {
		if got := float64(residents) / float64(households); got < 2.2 || got > 3.0 {
			t.Errorf("got %.2f, want 2.2–3.0", got)
		}
	})
	t.Run("names", func(t *testing.T) {
		want := []string{"示范区", "幸福街道", "幸福社区", "和平社区", "建设社区", "光明社区", "友谊社区", "团结社区", "幸福社区第01网格"}
		for i, w := range want {
			if got := ds.Areas[i].Name; got != w {
				t.Errorf("area %d: got %q, want %q", i, got, w)
			}
		}
	})
	t.Run("extent", func(t *testing.T) {
		b := ds.Areas[0].Geometry.Bound()
		if b.Min[0] < 120.09 || b.Max[0] > 120.17 || b.Min[1] < 30.25 || b.Max[1] > 30.31 {
			t.Errorf("got bound %v, want about lon 120.10–120.16, lat 30.26–30.30", b)
		}
	})
}

func TestGridsPerCommunity(t *testing.T) {
	for _, tc := range append(structuralCases, struct {
		name string
		opt  Options
	}{"scaled", Options{Grids: 2000, Buildings: 40000}}) {
		t.Run(tc.name, func(t *testing.T) {
			ds := mustGenerate(t, tc.opt)
			per := map[string]int{}
			for _, g := range areasByLevel(ds, LevelGrid) {
				per[g.ParentCode]++
			}
			for _, c := range areasByLevel(ds, LevelCommunity) {
				if got := per[c.Code]; got < 5 || got > 9 {
					t.Errorf("community %s: got %d grids, want 5–9", c.Code, got)
				}
			}
		})
	}
}

// gridStats sums the buildings of each grid, found by point-in-polygon.
type gridStats struct{ buildings, households, residents int }

func TestDefaultGridHouseholds(t *testing.T) {
	ds := mustGenerate(t, Options{})
	grids := areasByLevel(ds, LevelGrid)
	stats := make([]gridStats, len(grids))
	for _, b := range ds.Buildings {
		for i, g := range grids {
			if ringContains(ring(g), b.Point) {
				stats[i].buildings++
				stats[i].households += b.Households
				stats[i].residents += b.Residents
			}
		}
	}
	for i, g := range grids {
		s := stats[i]
		if s.households < 300 || s.households > 500 {
			t.Errorf("grid %s: got %d households, want 300–500", g.Code, s.households)
		}
		if r := float64(s.residents) / float64(s.households); r < 2.2 || r > 3.0 {
			t.Errorf("grid %s: got %.2f residents per household, want 2.2–3.0", g.Code, r)
		}
		if s.buildings == 0 {
			t.Errorf("grid %s: got no buildings", g.Code)
		}
	}
}

func TestBuildingFields(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  Options
	}{{"default", Options{}}, {"scaled", Options{Grids: 2000, Buildings: 40000}}} {
		t.Run(tc.name, func(t *testing.T) {
			ds := mustGenerate(t, tc.opt)
			if got, want := len(ds.Buildings), tc.opt.Buildings; want > 0 && got != want {
				t.Errorf("got %d buildings, want %d", got, want)
			}
			address := regexp.MustCompile(`^\p{Han}+(路|街|巷|大道|弄)[1-9][0-9]*号([1-9][0-9]*栋)?$`)
			name := regexp.MustCompile(`^(\p{Han}+[1-9][0-9]*栋)?$`)
			seen := make(map[string]bool, len(ds.Buildings))
			for _, b := range ds.Buildings {
				if seen[b.Address] {
					t.Errorf("building %s: address %q is not unique", b.Code, b.Address)
				}
				seen[b.Address] = true
				if !address.MatchString(b.Address) {
					t.Errorf("building %s: got address %q, want e.g. 幸福路12号3栋", b.Code, b.Address)
				}
				if !name.MatchString(b.Name) {
					t.Errorf("building %s: got name %q, want \"\" or e.g. 阳光小区3栋", b.Code, b.Name)
				}
				if b.Households < minBuildingHouseholds || b.Households > maxBuildingHouseholds {
					t.Errorf("building %s: got %d households, want %d–%d", b.Code, b.Households, minBuildingHouseholds, maxBuildingHouseholds)
				}
				if lo, hi := int(math.Ceil(2.2*float64(b.Households))), 3*b.Households; b.Residents < lo || b.Residents > hi {
					t.Errorf("building %s: got %d residents for %d households, want %d–%d", b.Code, b.Residents, b.Households, lo, hi)
				}
				if b.Floors < 3 || b.Floors > 33 {
					t.Errorf("building %s: got %d floors, want 3–33", b.Code, b.Floors)
				}
				c := b.Counts
				if c.PartyMembers < 0 || c.PartyMembers > b.Residents/5 || c.ElderlyAlone < 0 || c.ElderlyAlone > b.Residents/10+1 ||
					c.Disabled < 0 || c.Disabled > b.Residents/10+1 || c.LowIncome < 0 || c.LowIncome > b.Households/10+1 {
					t.Errorf("building %s: got implausible counts %+v for %d residents, %d households", b.Code, c, b.Residents, b.Households)
				}
				if b.Source != "demo" || b.ID != 0 || b.GridID != 0 {
					t.Errorf("building %s: got Source %q, ID %d, GridID %d, want \"demo\", 0, 0", b.Code, b.Source, b.ID, b.GridID)
				}
			}
		})
	}
}

var digits = regexp.MustCompile(`^[0-9]+$`)

func TestCodes(t *testing.T) {
	codeLen := map[string]int{LevelDistrict: 6, LevelSubdistrict: 9, LevelCommunity: 12, LevelGrid: 15}
	parentLevel := map[string]string{LevelSubdistrict: LevelDistrict, LevelCommunity: LevelSubdistrict, LevelGrid: LevelCommunity}
	for _, tc := range append(structuralCases, struct {
		name string
		opt  Options
	}{"scaled", Options{Grids: 2000, Buildings: 40000}}) {
		t.Run(tc.name, func(t *testing.T) {
			ds := mustGenerate(t, tc.opt)
			level := map[string]string{}
			lastSeq := map[string]int{} // parent code → last child sequence
			for i, a := range ds.Areas {
				if got, want := len(a.Code), codeLen[a.Level]; got != want || !digits.MatchString(a.Code) {
					t.Errorf("area %d %s: got code %q (%d chars), want %d digits", i, a.Level, a.Code, got, want)
					continue
				}
				if _, dup := level[a.Code]; dup {
					t.Errorf("area %d: code %s is not unique", i, a.Code)
				}
				level[a.Code] = a.Level
				if a.Level == LevelDistrict {
					if a.ParentCode != "" || i != 0 {
						t.Errorf("district at %d with parent %q, want first with no parent", i, a.ParentCode)
					}
					continue
				}
				if got, want := level[a.ParentCode], parentLevel[a.Level]; got != want {
					t.Errorf("%s %s: parent %q is %q before it, want an earlier %s", a.Level, a.Code, a.ParentCode, got, want)
				}
				if !strings.HasPrefix(a.Code, a.ParentCode) {
					t.Errorf("%s %s: code does not extend parent code %s", a.Level, a.Code, a.ParentCode)
				}
				seq := 0
				fmt.Sscan(strings.TrimLeft(a.Code[len(a.ParentCode):], "0"), &seq)
				if seq != lastSeq[a.ParentCode]+1 {
					t.Errorf("%s %s: got sequence %d, want %d", a.Level, a.Code, seq, lastSeq[a.ParentCode]+1)
				}
				lastSeq[a.ParentCode] = seq
				if a.Level == LevelSubdistrict && seq > 99 {
					t.Errorf("subdistrict %s: got sequence %d, want 001–099 (街道)", a.Code, seq)
				}
			}
			lastB := map[string]int{}
			for _, b := range ds.Buildings {
				if len(b.Code) != 17 || !digits.MatchString(b.Code) {
					t.Errorf("building: got code %q, want 17 digits", b.Code)
					continue
				}
				comm := b.Code[:12]
				if level[comm] != LevelCommunity {
					t.Errorf("building %s: community %s does not exist", b.Code, comm)
				}
				seq := 0
				fmt.Sscan(strings.TrimLeft(b.Code[12:], "0"), &seq)
				if seq != lastB[comm]+1 {
					t.Errorf("building %s: got sequence %d, want %d", b.Code, seq, lastB[comm]+1)
				}
				lastB[comm] = seq
			}
		})
	}
}

// segmentsCross reports whether segments ab and cd share a point.
func segmentsCross(a, b, c, d orb.Point) bool {
	cr := func(o, p, q orb.Point) float64 { return (p[0]-o[0])*(q[1]-o[1]) - (p[1]-o[1])*(q[0]-o[0]) }
	sign := func(v float64) int {
		switch {
		case v > 0:
			return 1
		case v < 0:
			return -1
		}
		return 0
	}
	d1, d2, d3, d4 := sign(cr(c, d, a)), sign(cr(c, d, b)), sign(cr(a, b, c)), sign(cr(a, b, d))
	if d1*d2 < 0 && d3*d4 < 0 {
		return true
	}
	on := func(o, p, q orb.Point) bool { // q on segment op, given collinear
		return min(o[0], p[0]) <= q[0] && q[0] <= max(o[0], p[0]) && min(o[1], p[1]) <= q[1] && q[1] <= max(o[1], p[1])
	}
	return d1 == 0 && on(c, d, a) || d2 == 0 && on(c, d, b) || d3 == 0 && on(a, b, c) || d4 == 0 && on(a, b, d)
}

// checkRing reports what is wrong with an exterior ring, or "".
func checkRing(r orb.Ring, selfIntersection bool) string {
	switch {
	case len(r) < 4:
		return fmt.Sprintf("got %d points, want ≥ 4", len(r))
	case r[0] != r[len(r)-1]:
		return "not closed"
	case r.Orientation() != orb.CCW:
		return "not counter-clockwise"
	}
	for i := 1; i < len(r); i++ {
		if r[i] == r[i-1] {
			return fmt.Sprintf("repeated consecutive point %v at %d", r[i], i)
		}
	}
	if selfIntersection {
		n := len(r) - 1 // segments
		for i := 0; i < n; i++ {
			for j := i + 2; j < n; j++ {
				if i == 0 && j == n-1 {
					continue // neighbours across the closing point
				}
				if segmentsCross(r[i], r[i+1], r[j], r[j+1]) {
					return fmt.Sprintf("segments %d and %d intersect", i, j)
				}
			}
		}
	}
	return ""
}

func TestRings(t *testing.T) {
	for _, tc := range append(structuralCases,
		struct {
			name string
			opt  Options
		}{"seed 2", Options{Seed: 2}},
		struct {
			name string
			opt  Options
		}{"seed 3", Options{Seed: 3}}) {
		t.Run(tc.name, func(t *testing.T) {
			ds := mustGenerate(t, tc.opt)
			for _, a := range ds.Areas {
				if len(a.Geometry) != 1 || len(a.Geometry[0]) != 1 {
					t.Errorf("%s %s: got %d polygons, want 1 polygon with 1 ring", a.Level, a.Code, len(a.Geometry))
					continue
				}
				if msg := checkRing(ring(a), true); msg != "" {
					t.Errorf("%s %s: %s", a.Level, a.Code, msg)
				}
			}
			for _, b := range ds.Buildings {
				if b.Footprint == nil {
					continue
				}
				if msg := checkRing(b.Footprint[0][0], true); msg != "" {
					t.Errorf("building %s footprint: %s", b.Code, msg)
				}
			}
		})
	}
}

func TestBuildingsInsideTheirGrid(t *testing.T) {
	for _, tc := range structuralCases {
		t.Run(tc.name, func(t *testing.T) {
			ds := mustGenerate(t, tc.opt)
			grids := areasByLevel(ds, LevelGrid)
			bounds := make([]orb.Bound, len(grids))
			for i, g := range grids {
				bounds[i] = g.Geometry.Bound()
			}
			// Local metres for the 3 m margin.
			kx, ky := 111320*math.Cos(30.28*math.Pi/180), 110574.0
			dist := func(p, a, b orb.Point) float64 {
				px, py := (p[0]-a[0])*kx, (p[1]-a[1])*ky
				bx, by := (b[0]-a[0])*kx, (b[1]-a[1])*ky
				u := max(0, min(1, (px*bx+py*by)/(bx*bx+by*by)))
				return math.Hypot(px-u*bx, py-u*by)
			}
			for _, b := range ds.Buildings {
				var in []int
				for i := range grids {
					if bounds[i].Contains(b.Point) && ringContains(ring(grids[i]), b.Point) {
						in = append(in, i)
					}
				}
				if len(in) != 1 {
					t.Errorf("building %s at %v: inside %d grids, want 1", b.Code, b.Point, len(in))
					continue
				}
				g := grids[in[0]]
				if !planar.MultiPolygonContains(g.Geometry, b.Point) {
					t.Errorf("building %s: orb/planar says its point is outside grid %s", b.Code, g.Code)
				}
				if got, want := b.Code[:12], g.ParentCode; got != want {
					t.Errorf("building %s in grid %s: got community %s, want %s", b.Code, g.Code, got, want)
				}
				pts := []orb.Point{b.Point}
				if b.Footprint != nil {
					pts = append(pts, b.Footprint[0][0]...)
				}
				r := ring(g)
				for _, p := range pts {
					if !ringContains(r, p) {
						t.Errorf("building %s: point %v outside its grid %s", b.Code, p, g.Code)
					}
					for k := 1; k < len(r); k++ {
						if d := dist(p, r[k-1], r[k]); d < 2.5 {
							t.Errorf("building %s: point %v %.2f m from the border of grid %s, want ≥ 3 m", b.Code, p, d, g.Code)
							break
						}
					}
				}
				if b.Footprint != nil {
					fp := b.Footprint[0][0]
					for k := 1; k < len(fp); k++ {
						for q := 1; q < len(r); q++ {
							if segmentsCross(fp[k-1], fp[k], r[q-1], r[q]) {
								t.Errorf("building %s: footprint crosses the border of grid %s", b.Code, g.Code)
							}
						}
					}
				}
			}
		})
	}
}

type edge struct{ a, b orb.Point }

// checkTiling checks that the children tile the parent exactly: their areas
// sum to the parent's and every child edge either lies on the parent's ring
// (once, same direction) or is matched by the reverse edge of a neighbour.
func checkTiling(t *testing.T, parent Area, children []Area) {
	t.Helper()
	sum := 0.0
	count := map[edge]int{}
	for _, c := range children {
		sum += planar.Area(c.Geometry)
		r := ring(c)
		for i := 1; i < len(r); i++ {
			count[edge{r[i-1], r[i]}]++
		}
	}
	if want := planar.Area(parent.Geometry); math.Abs(sum-want) > 1e-12*want {
		t.Errorf("%s %s: children's areas sum to %.15g, want %.15g (relative error %.2g)", parent.Level, parent.Code, sum, want, math.Abs(sum-want)/want)
	}
	outer := map[edge]bool{}
	r := ring(parent)
	for i := 1; i < len(r); i++ {
		e := edge{r[i-1], r[i]}
		outer[e] = true
		if count[e] != 1 {
			t.Errorf("%s %s: border edge %v appears %d times among its children, want 1", parent.Level, parent.Code, e, count[e])
		}
	}
	for e, n := range count {
		switch {
		case n != 1:
			t.Errorf("%s %s: edge %v appears %d times in one direction, want 1", parent.Level, parent.Code, e, n)
		case outer[e]:
		case count[edge{e.b, e.a}] != 1:
			t.Errorf("%s %s: inner edge %v has no reverse edge in a neighbour (gap or overlap)", parent.Level, parent.Code, e)
		}
	}
}

func TestTiling(t *testing.T) {
	for _, tc := range append(structuralCases, struct {
		name string
		opt  Options
	}{"scaled", Options{Grids: 2000, Buildings: 40000}}) {
		t.Run(tc.name, func(t *testing.T) {
			ds := mustGenerate(t, tc.opt)
			children := map[string][]Area{}
			for _, a := range ds.Areas {
				children[a.ParentCode] = append(children[a.ParentCode], a)
			}
			for _, a := range ds.Areas {
				if a.Level != LevelGrid {
					checkTiling(t, a, children[a.Code])
				}
			}
		})
	}
	t.Run("subdistrict equals district", func(t *testing.T) {
		ds := mustGenerate(t, Options{})
		if !reflect.DeepEqual(ds.Areas[0].Geometry, ds.Areas[1].Geometry) {
			t.Errorf("got different geometries for district %s and its only subdistrict %s", ds.Areas[0].Code, ds.Areas[1].Code)
		}
	})
}

func TestGridNumbering(t *testing.T) {
	for _, tc := range structuralCases {
		t.Run(tc.name, func(t *testing.T) {
			ds := mustGenerate(t, tc.opt)
			grids := areasByLevel(ds, LevelGrid)
			for i := 1; i < len(grids); i++ {
				a, b := grids[i-1], grids[i]
				if a.ParentCode != b.ParentCode {
					continue
				}
				ca, _ := planar.CentroidArea(a.Geometry)
				cb, _ := planar.CentroidArea(b.Geometry)
				ba, bb := a.Geometry.Bound(), b.Geometry.Bound()
				sameRow := ba.Min[1] < cb[1] && cb[1] < ba.Max[1] && bb.Min[1] < ca[1] && ca[1] < bb.Max[1]
				switch {
				case sameRow && cb[0] <= ca[0]:
					t.Errorf("grids %s, %s in one row: got centroid lon %.5f then %.5f, want west→east", a.Code, b.Code, ca[0], cb[0])
				case !sameRow && cb[1] >= ba.Min[1]:
					t.Errorf("grid %s starts a new row after %s: got centroid lat %.5f, want south of %.5f", b.Code, a.Code, cb[1], ba.Min[1])
				}
			}
		})
	}
}

var phone = regexp.MustCompile(`^140[0-9]{8}$`)

func TestPeople(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  Options
	}{{"default", Options{}}, {"scaled", Options{Grids: 2000, Buildings: 40000}}} {
		t.Run(tc.name, func(t *testing.T) {
			ds := mustGenerate(t, tc.opt)
			people := map[string]Person{}
			phones := map[string]bool{}
			for _, p := range ds.People {
				if _, dup := people[p.Key]; dup {
					t.Errorf("person key %s is not unique", p.Key)
				}
				people[p.Key] = p
				if !phone.MatchString(p.Person.Phone) || phones[p.Person.Phone] {
					t.Errorf("person %s: got phone %q, want a unique 140 + 8 digits", p.Key, p.Person.Phone)
				}
				phones[p.Person.Phone] = true
				if n := utf8.RuneCountInString(p.Person.Name); n < 2 || n > 4 {
					t.Errorf("person %s: got name %q, want 2–4 characters", p.Key, p.Person.Name)
				}
				if p.Person.ID != 0 || p.Person.Photo != "" || !p.Person.PublicName {
					t.Errorf("person %s: got %+v, want ID 0, Photo \"\", public name", p.Key, p.Person)
				}
				if len(p.PhotoSVG) >= 2048 || !bytes.HasPrefix(p.PhotoSVG, []byte("<svg ")) || !bytes.HasSuffix(p.PhotoSVG, []byte("</svg>")) ||
					!bytes.Contains(p.PhotoSVG, []byte(string([]rune(p.Person.Name)[0]))) {
					t.Errorf("person %s: got avatar of %d bytes %.60q, want an SVG < 2 KB showing the surname", p.Key, len(p.PhotoSVG), p.PhotoSVG)
				}
			}
			areas := map[string]string{}
			for _, a := range ds.Areas {
				areas[a.Code] = a.Level
			}
			buildings := map[string]bool{}
			for _, b := range ds.Buildings {
				buildings[b.Code] = true
			}
			roles := map[string]map[geo.Role]int{} // area or building code → role → count
			start, end := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			for _, d := range ds.Duties {
				p, ok := people[d.PersonKey]
				if !ok {
					t.Errorf("duty %+v: no person %s", d, d.PersonKey)
				}
				if !d.Role.Valid() {
					t.Errorf("duty %+v: invalid role", d)
				}
				if d.ValidFrom.Before(start) || !d.ValidFrom.Before(end) {
					t.Errorf("duty %+v: got ValidFrom %v, want in 2023–2025", d, d.ValidFrom)
				}
				code := d.AreaCode
				switch d.Role {
				case geo.RoleBuildingLeader:
					code = d.BuildingCode
					if d.AreaCode != "" || !buildings[code] {
						t.Errorf("duty %+v: want an existing BuildingCode and no AreaCode", d)
					}
				case geo.RoleGridLeader, geo.RoleGridWorker, geo.RoleInfoOfficer:
					if d.BuildingCode != "" || areas[code] != LevelGrid {
						t.Errorf("duty %+v: want a grid AreaCode", d)
					}
				case geo.RolePolice, geo.RoleVolunteer:
					if d.BuildingCode != "" || areas[code] != LevelCommunity {
						t.Errorf("duty %+v: want a community AreaCode", d)
					}
				}
				if d.Role == geo.RoleGridLeader || d.Role == geo.RolePolice {
					if q := p.Person; !q.PublicName || !q.PublicPhone || !q.PublicPhoto {
						t.Errorf("%s %s: got public flags name %v phone %v photo %v, want all public", d.Role, d.PersonKey, q.PublicName, q.PublicPhone, q.PublicPhoto)
					}
				}
				if roles[code] == nil {
					roles[code] = map[geo.Role]int{}
				}
				roles[code][d.Role]++
			}
			led := 0
			for code, level := range areas {
				r := roles[code]
				switch level {
				case LevelGrid:
					if r[geo.RoleGridLeader] != 1 || r[geo.RoleGridWorker] < 1 || r[geo.RoleGridWorker] > 2 || r[geo.RoleInfoOfficer] > 1 {
						t.Errorf("grid %s: got team %v, want 1 grid leader, 1–2 grid workers, ≤ 1 info officer", code, r)
					}
				case LevelCommunity:
					if r[geo.RolePolice] != 1 || r[geo.RoleVolunteer] < 3 || r[geo.RoleVolunteer] > 6 {
						t.Errorf("community %s: got %v, want 1 police officer and 3–6 volunteers", code, r)
					}
				}
			}
			for code := range buildings {
				if n := roles[code][geo.RoleBuildingLeader]; n > 1 {
					t.Errorf("building %s: got %d building leaders, want ≤ 1", code, n)
				} else {
					led += n
				}
			}
			if got := float64(led) / float64(len(buildings)); got < 0.18 || got > 0.32 {
				t.Errorf("got %.2f of buildings with a building leader, want about 1 in 4", got)
			}
		})
	}
}

func TestScaled(t *testing.T) {
	opt := Options{Grids: 2000, Buildings: 40000}
	ds := mustGenerate(t, opt)
	if got := len(areasByLevel(ds, LevelGrid)); got < opt.Grids {
		t.Errorf("got %d grids, want ≥ %d", got, opt.Grids)
	}
	if got := len(ds.Buildings); got < opt.Buildings {
		t.Errorf("got %d buildings, want ≥ %d", got, opt.Buildings)
	}
	if got := len(areasByLevel(ds, LevelSubdistrict)); got < 2 || got > 99 {
		t.Errorf("got %d subdistricts, want 2–99", got)
	}
	// Every building inside its community.
	comms := map[string]Area{}
	for _, c := range areasByLevel(ds, LevelCommunity) {
		comms[c.Code] = c
	}
	for _, b := range ds.Buildings {
		if c := comms[b.Code[:12]]; !ringContains(ring(c), b.Point) {
			t.Errorf("building %s at %v: outside its community %s", b.Code, b.Point, c.Code)
		}
	}
}

func TestOptionsErrors(t *testing.T) {
	for _, tc := range []struct {
		name string
		opt  Options
		code string
	}{
		{"negative grids", Options{Grids: -1}, geo.EInvalid},
		{"negative buildings", Options{Buildings: -1}, geo.EInvalid},
		{"fewer grids than one community", Options{Grids: 4}, geo.EInvalid},
		{"too many grids", Options{Grids: MaxGrids + 1}, geo.ETooLarge},
		{"too many buildings per grid", Options{Grids: 5, Buildings: 5*MaxBuildingsPerGrid + 1}, geo.ETooLarge},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds, err := Generate(tc.opt)
			if got := geo.ErrorCode(err); got != tc.code || ds != nil {
				t.Errorf("Generate(%+v): got (%v, %v) code %q, want code %q", tc.opt, ds != nil, err, got, tc.code)
			}
		})
	}
	for _, tc := range []struct {
		name string
		opt  Options
	}{
		{"fewer buildings than grids", Options{Grids: 42, Buildings: 10}},
		{"one building per grid", Options{Grids: 5, Buildings: 5}},
		{"crowded grids", Options{Grids: 5, Buildings: 5 * MaxBuildingsPerGrid}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ds := mustGenerate(t, tc.opt)
			if got, want := len(ds.Buildings), tc.opt.Buildings; got != want {
				t.Errorf("got %d buildings, want %d", got, want)
			}
		})
	}
}

func TestNamesUnique(t *testing.T) {
	t.Run("community names", func(t *testing.T) {
		seen := map[string]int{}
		for i := 0; i < 20000; i++ {
			n := communityName(i)
			if j, dup := seen[n]; dup {
				t.Fatalf("communityName(%d) = communityName(%d) = %q", i, j, n)
			}
			seen[n] = i
		}
	})
	t.Run("streets", func(t *testing.T) {
		pool := streetPool(maxStreets)
		if got, want := len(pool), maxStreets; got > want || got < len(baseStreets) {
			t.Errorf("got %d streets, want ≤ %d", got, want)
		}
		seen := map[string]bool{}
		for _, s := range pool {
			if seen[s] {
				t.Errorf("street %q is not unique", s)
			}
			seen[s] = true
		}
	})
	t.Run("compound names", func(t *testing.T) {
		seen := map[string]bool{}
		for i := 0; i < 1000; i++ {
			if n := compoundName(i); seen[n] {
				t.Fatalf("compoundName(%d) = %q repeats", i, n)
			} else {
				seen[n] = true
			}
		}
	})
}

func TestApportion(t *testing.T) {
	for _, tc := range []struct {
		name   string
		total  int
		w      []float64
		lo, hi int
		want   []int
	}{
		{"proportional", 10, []float64{1, 1, 3}, 0, 10, []int{2, 2, 6}},
		{"largest remainder, ties by index", 10, []float64{1, 1, 1}, 0, 10, []int{4, 3, 3}},
		{"floor", 9, []float64{1, 100}, 3, 100, []int{3, 6}},
		{"cap moves the excess", 20, []float64{1, 9}, 0, 12, []int{8, 12}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := apportion(tc.total, tc.w, tc.lo, tc.hi); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func ExampleGenerate() {
	ds, err := Generate(Options{})
	if err != nil {
		panic(err)
	}
	grids := 0
	for _, a := range ds.Areas {
		if a.Level == LevelGrid {
			grids++
		}
	}
	g := ds.Areas[8]
	fmt.Println(len(ds.Areas), grids, len(ds.Buildings))
	fmt.Println(g.Level, g.Code, g.Name, g.ParentCode)
	// Output:
	// 50 42 1600
	// grid 330199001001001 幸福社区第01网格 330199001001
}
