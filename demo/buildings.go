package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"strconv"

	"github.com/paulmach/orb"

	"gridmap/geo"
)

// Building placement, in metres.
const (
	borderMargin    = 3.0  // least distance from a building (point and footprint) to its grid's border
	slotPitch       = 45.0 // distance between neighbouring building slots of a compound
	buildingSpacing = 44.0 // least distance between building points; footprints cannot overlap
	compoundMargin  = 30.0 // least distance from a compound's centre to the grid border

	// streetsPerCommunity is what an older generator drew a compound's
	// street from; the draw is kept so that the random stream, and with it
	// every other property of the buildings, stays as it was.
	streetsPerCommunity = 5
)

// Household rules. A grid gets 315–485 households (inside the 300–500 of
// DOMAIN.md), split over its buildings in proportion to their size; the grid
// total is relaxed only when its buildings cannot hold it with
// minBuildingHouseholds..maxBuildingHouseholds each.
const (
	minGridHouseholds     = 315
	maxGridHouseholds     = 485
	minBuildingHouseholds = 3
	maxBuildingHouseholds = 160
	minFloors, maxFloors  = 3, 33
)

// compound is a residential compound (小区) or a lone building: one street
// number, buildings numbered 1栋, 2栋, … on a rotated lattice of slots.
type compound struct {
	name     string // "" for unnamed compounds
	street   int    // index into the street pool
	number   int    // house number (门牌号)
	perFloor int    // households per floor
	floors   int    // planned floors; relative size only
	planned  int    // buildings planned; 1 means a lone building
	rows     int
	cols     int
	cx, cy   float64 // centre, metres
	sin, cos float64 // rotation
	length   float64 // footprint, metres along the rotated x axis
	depth    float64
	nextSlot int
	placed   int
}

type placedBuilding struct {
	pos      xy
	rect     [4]xy
	hasRect  bool
	compound int
	no       int // building number within the compound
}

type buildingGen struct {
	rng     *rand.Rand
	roads   *roadNet
	streets []string
	nextNo  []int      // last house number used, per street
	paths   []geo.Road // the estates' footpaths so far (paths.go)
}

// newBuildingGen numbers buildings along the streets of roads.
func newBuildingGen(rng *rand.Rand, roads *roadNet) *buildingGen {
	return &buildingGen{rng: rng, roads: roads, streets: roads.streets, nextNo: make([]int, len(roads.streets))}
}

// communityBuildings generates the buildings of one community's grids.
// perGrid[i] is the number of buildings of grid rings[i]; codes continue from
// 00001 in generation order. It returns the buildings and, per building, the
// index of its grid in rings.
func (g *buildingGen) communityBuildings(commIndex int, commCode string, rings []orb.Ring, perGrid []int) ([]geo.Building, []int, error) {
	rng := g.rng
	streets := make([]int, streetsPerCommunity)
	for t := range streets {
		streets[t] = (commIndex*streetsPerCommunity + t) % len(g.streets)
	}
	var (
		out       []geo.Building
		gridOf    []int
		compounds []compound
		named     int // named compounds so far in this community
	)
	for gi, ring := range rings {
		poly := newMetricPolygon(ring)
		first := len(compounds)
		placed := g.placeGrid(poly, perGrid[gi], streets, &compounds, &named)
		lines, names := compoundPaths(poly, compounds[first:], placed)
		for k, l := range lines {
			g.paths = append(g.paths, geo.Road{Name: names[k], Class: geo.RoadPath, Line: l, Source: RoadSource,
				Ref: "demo/path/" + strconv.Itoa(len(g.paths)+1)})
		}
		// Households: grid total split by building size.
		n := len(placed)
		if n == 0 {
			continue
		}
		total := minGridHouseholds + rng.IntN(maxGridHouseholds-minGridHouseholds+1)
		total = max(n*minBuildingHouseholds, min(total, n*maxBuildingHouseholds))
		w := make([]float64, n)
		for k, b := range placed {
			c := &compounds[b.compound]
			w[k] = float64(c.perFloor*c.floors) * (0.85 + 0.3*rng.Float64())
		}
		households := apportion(total, w, minBuildingHouseholds, maxBuildingHouseholds)
		for k, b := range placed {
			c := &compounds[b.compound]
			seq := len(out) + 1
			if seq > 99999 {
				return nil, nil, fmt.Errorf("community %s has more than 99999 buildings", commCode)
			}
			out = append(out, g.building(commCode, seq, c, b, households[k]))
			gridOf = append(gridOf, gi)
		}
	}
	return out, gridOf, nil
}

func (g *buildingGen) building(commCode string, seq int, c *compound, b placedBuilding, h int) geo.Building {
	rng := g.rng
	addr := g.streets[c.street] + strconv.Itoa(c.number) + "号"
	name := ""
	if c.planned > 1 {
		addr += strconv.Itoa(b.no) + "栋"
		if c.name != "" {
			name = c.name + strconv.Itoa(b.no) + "栋"
		}
	}
	// Residents 2.2–3.0 per household, exactly within bounds after rounding.
	res := int(math.Round(float64(h) * (2.2 + 0.8*rng.Float64())))
	res = max(int(math.Ceil(2.2*float64(h))), min(res, 3*h))
	floors := max(minFloors, min(maxFloors, (h+c.perFloor-1)/c.perFloor))
	bl := geo.Building{
		Code:       fmt.Sprintf("%s%05d", commCode, seq),
		Address:    addr,
		Name:       name,
		Point:      toLonLat(b.pos[0], b.pos[1]),
		Households: h,
		Residents:  res,
		Floors:     floors,
		Counts: geo.NoticeCounts{
			PartyMembers: g.someOf(float64(res) * (0.04 + 0.05*rng.Float64())),
			ElderlyAlone: g.someOf(float64(res) * (0.005 + 0.025*rng.Float64())),
			Disabled:     g.someOf(float64(res) * (0.01 + 0.02*rng.Float64())),
			LowIncome:    min(h, g.someOf(float64(h)*0.04*rng.Float64())),
		},
		Source: "demo",
	}
	if b.hasRect {
		fp := make(orb.Ring, 5)
		for k, q := range b.rect {
			fp[k] = toLonLat(q[0], q[1])
		}
		fp[4] = fp[0]
		bl.Footprint = orb.MultiPolygon{orb.Polygon{fp}}
	}
	return bl
}

// someOf rounds an expected count up or down at random, keeping its mean.
func (g *buildingGen) someOf(expected float64) int {
	return int(math.Floor(expected + g.rng.Float64()))
}

// placeGrid places n buildings inside poly: compound by compound on rotated
// slot lattices, then, if the grid is too crowded for that, scattered with
// ever smaller spacing (footprints are dropped once they could overlap).
func (g *buildingGen) placeGrid(poly *metricPolygon, n int, streets []int, compounds *[]compound, named *int) []placedBuilding {
	rng := g.rng
	placed := make([]placedBuilding, 0, n)
	buckets := make(map[[2]int32][]int32)
	bucket := func(q xy) [2]int32 {
		return [2]int32{int32(math.Floor(q[0] / buildingSpacing)), int32(math.Floor(q[1] / buildingSpacing))}
	}
	spaced := func(q xy, spacing float64) bool {
		if spacing <= 0 {
			return true
		}
		b := bucket(q)
		for dx := int32(-1); dx <= 1; dx++ {
			for dy := int32(-1); dy <= 1; dy++ {
				for _, k := range buckets[[2]int32{b[0] + dx, b[1] + dy}] {
					p := placed[k].pos
					if math.Hypot(p[0]-q[0], p[1]-q[1]) < spacing {
						return false
					}
				}
			}
		}
		return true
	}
	add := func(b placedBuilding) {
		k := bucket(b.pos)
		buckets[k] = append(buckets[k], int32(len(placed)))
		placed = append(placed, b)
	}
	randomPoint := func(margin float64) (xy, bool) {
		for try := 0; try < 200; try++ {
			q := xy{poly.minX + rng.Float64()*(poly.maxX-poly.minX), poly.minY + rng.Float64()*(poly.maxY-poly.minY)}
			if poly.pointClear(q, margin) {
				return q, true
			}
		}
		return xy{}, false
	}

	cur := -1
	started := 0
	for len(placed) < n && started < n+20 {
		if cur < 0 || (*compounds)[cur].nextSlot >= (*compounds)[cur].rows*(*compounds)[cur].cols ||
			(*compounds)[cur].placed >= (*compounds)[cur].planned {
			centre, ok := randomPoint(compoundMargin)
			if !ok {
				break
			}
			*compounds = append(*compounds, g.newCompound(centre, min(n-len(placed), 1+rng.IntN(12))))
			cur = len(*compounds) - 1
			started++
		}
		c := &(*compounds)[cur]
		slot := c.nextSlot
		c.nextSlot++
		lx := (float64(slot%c.cols) - float64(c.cols-1)/2) * slotPitch
		ly := -(float64(slot/c.cols) - float64(c.rows-1)/2) * slotPitch
		pos := xy{c.cx + lx*c.cos - ly*c.sin, c.cy + lx*c.sin + ly*c.cos}
		rect := c.footprint(pos)
		if spaced(pos, buildingSpacing) && poly.rectClear(rect, borderMargin) {
			if c.placed == 0 {
				g.assignAddress(c, streets, named)
			}
			c.placed++
			add(placedBuilding{pos: pos, rect: rect, hasRect: true, compound: cur, no: c.placed})
		}
	}

	// Crowded grid: lone buildings, spacing relaxed step by step.
	spacing := buildingSpacing
	for fails := 0; len(placed) < n; {
		q, ok := randomPoint(borderMargin)
		if !ok {
			fails++
			continue
		}
		c := g.newCompound(q, 1)
		rect := c.footprint(q)
		withRect := spacing >= buildingSpacing && poly.rectClear(rect, borderMargin)
		if !spaced(q, spacing) || (spacing >= buildingSpacing && !withRect) {
			if fails++; fails%300 == 0 {
				spacing /= 2
				if spacing < 1 {
					spacing = 0
				}
			}
			continue
		}
		g.assignAddress(&c, streets, named)
		c.placed = 1
		*compounds = append(*compounds, c)
		add(placedBuilding{pos: q, rect: rect, hasRect: withRect, compound: len(*compounds) - 1, no: 1})
	}
	return placed
}

// newCompound plans a compound of size buildings centred at centre.
func (g *buildingGen) newCompound(centre xy, size int) compound {
	rng := g.rng
	perFloor := [...]int{2, 2, 2, 3, 4, 4, 6}[rng.IntN(7)]
	var floors int
	switch u := rng.Float64(); {
	case u < 0.15:
		floors = 3 + rng.IntN(2) // low-rise
	case u < 0.85:
		floors = 5 + rng.IntN(3) // walk-up
	default:
		floors = 11 + rng.IntN(14) // high-rise
	}
	cols := int(math.Ceil(math.Sqrt(1.3 * float64(size))))
	rows := (size + cols - 1) / cols
	theta := (rng.Float64() - 0.5) * 40 * math.Pi / 180
	return compound{
		perFloor: perFloor,
		floors:   floors,
		planned:  size,
		rows:     rows,
		cols:     cols,
		cx:       centre[0],
		cy:       centre[1],
		sin:      math.Sin(theta),
		cos:      math.Cos(theta),
		length:   min(40, float64(14+5*perFloor)+4*(rng.Float64()-0.5)),
		depth:    10 + 4*rng.Float64(),
	}
}

// assignAddress gives a compound, when its first building is placed, the next
// house number on the street of the road nearest its centre and, for most
// compounds of several buildings, a name unique within the community.
func (g *buildingGen) assignAddress(c *compound, streets []int, named *int) {
	rng := g.rng
	_ = rng.IntN(len(streets)) // see streetsPerCommunity
	road, _ := g.roads.nearest(xy{c.cx, c.cy})
	c.street = g.roads.roads[road].name
	g.nextNo[c.street] += 1 + rng.IntN(3)
	c.number = g.nextNo[c.street]
	if c.planned > 1 && rng.Float64() < 0.6 {
		c.name = compoundName(*named)
		*named++
	}
}

// footprint returns the compound's rotated building rectangle centred at pos,
// counter-clockwise.
func (c *compound) footprint(pos xy) [4]xy {
	var r [4]xy
	for k, s := range [4][2]float64{{-1, -1}, {1, -1}, {1, 1}, {-1, 1}} {
		lx, ly := s[0]*c.length/2, s[1]*c.depth/2
		r[k] = xy{pos[0] + lx*c.cos - ly*c.sin, pos[1] + lx*c.sin + ly*c.cos}
	}
	return r
}

// apportion splits total into len(w) integers in [lo, hi] roughly in
// proportion to w (largest remainder; ties by index). It needs
// lo*len(w) ≤ total ≤ hi*len(w).
func apportion(total int, w []float64, lo, hi int) []int {
	n := len(w)
	out := make([]int, n)
	if n == 0 {
		return out
	}
	sum := 0.0
	for _, v := range w {
		sum += v
	}
	rest := total - lo*n
	type frac struct {
		i int
		f float64
	}
	fr := make([]frac, n)
	used := 0
	for i, v := range w {
		q := float64(rest) * v / sum
		f := math.Floor(q)
		out[i] = lo + int(f)
		used += int(f)
		fr[i] = frac{i, q - f}
	}
	sort.SliceStable(fr, func(a, b int) bool { return fr[a].f > fr[b].f })
	for k := 0; used < rest; k = (k + 1) % n {
		out[fr[k].i]++
		used++
	}
	for k := n - 1; used > rest; k = (k - 1 + n) % n {
		if out[fr[k].i] > lo {
			out[fr[k].i]--
			used--
		}
	}
	excess := 0
	for i := range out {
		if out[i] > hi {
			excess += out[i] - hi
			out[i] = hi
		}
	}
	for i := 0; excess > 0; i = (i + 1) % n {
		if d := min(hi-out[i], excess); d > 0 {
			out[i] += d
			excess -= d
		}
	}
	return out
}
