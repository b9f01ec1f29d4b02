package index

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/paulmach/orb"

	"gridmap/demo"
	"gridmap/geo"
)

// The benchmarks behind the choices in docs/index.md, on the synthetic
// subdistrict of 10,000 grids (irregular lattice cells; the district's outline
// has about 2,000 vertices):
//
//	go test ./index -run '^$' -bench . -benchtime 2s

var benchData struct {
	once   sync.Once
	ds     *demo.Dataset
	points []orb.Point
}

func demo10000(b *testing.B) (*demo.Dataset, []orb.Point) {
	b.Helper()
	benchData.once.Do(func() {
		ds, err := demo.Generate(demo.Options{Grids: 10000, Buildings: 10000})
		if err != nil {
			panic(err)
		}
		bd := ds.Areas[0].Geometry.Bound()
		rng := rand.New(rand.NewPCG(1, 1))
		pts := make([]orb.Point, 1<<14)
		for i := range pts {
			pts[i] = orb.Point{bd.Min[0] + rng.Float64()*(bd.Max[0]-bd.Min[0]), bd.Min[1] + rng.Float64()*(bd.Max[1]-bd.Min[1])}
		}
		benchData.ds, benchData.points = ds, pts
	})
	return benchData.ds, benchData.points
}

// gridBuckets is the alternative to the R-tree: a uniform grid of cells, each
// listing the boxes that overlap it.
type gridBuckets struct {
	bound        orb.Bound
	nx, ny       int
	cellW, cellH float64
	cells        [][]int32
	boxes        []orb.Bound
}

func newGridBuckets(boxes []orb.Bound, perCell float64) *gridBuckets {
	g := &gridBuckets{boxes: boxes, bound: boxes[0]}
	for _, b := range boxes {
		g.bound = g.bound.Union(b)
	}
	n := int(math.Ceil(math.Sqrt(float64(len(boxes)) / perCell)))
	g.nx, g.ny = n, n
	g.cellW, g.cellH = (g.bound.Max[0]-g.bound.Min[0])/float64(n), (g.bound.Max[1]-g.bound.Min[1])/float64(n)
	g.cells = make([][]int32, n*n)
	for i, b := range boxes {
		x0, y0 := g.cell(b.Min)
		x1, y1 := g.cell(b.Max)
		for x := x0; x <= x1; x++ {
			for y := y0; y <= y1; y++ {
				g.cells[y*n+x] = append(g.cells[y*n+x], int32(i))
			}
		}
	}
	return g
}

func (g *gridBuckets) cell(p orb.Point) (int, int) {
	x := int((p[0] - g.bound.Min[0]) / g.cellW)
	y := int((p[1] - g.bound.Min[1]) / g.cellH)
	return max(0, min(x, g.nx-1)), max(0, min(y, g.ny-1))
}

func (g *gridBuckets) search(p orb.Point, dst []int32) []int32 {
	if !holds(g.bound, p) {
		return dst
	}
	x, y := g.cell(p)
	for _, i := range g.cells[y*g.nx+x] {
		if holds(g.boxes[i], p) {
			dst = append(dst, i)
		}
	}
	return dst
}

// BenchmarkCandidates finds the grids whose box holds a point.
func BenchmarkCandidates(b *testing.B) {
	ds, pts := demo10000(b)
	var boxes []orb.Bound
	for _, a := range ds.Areas {
		if a.Level == demo.LevelGrid {
			boxes = append(boxes, newShape(a.Geometry).box)
		}
	}
	var buf [64]int32
	b.Run("linear scan", func(b *testing.B) {
		for i := 0; b.Loop(); i++ {
			p := pts[i&(len(pts)-1)]
			n := 0
			for _, bx := range boxes {
				if holds(bx, p) {
					n++
				}
			}
			_ = n
		}
	})
	for _, fanout := range []int{4, 8, 16, 32} {
		t := newRTreeFanout(boxes, fanout)
		b.Run(fmt.Sprintf("STR R-tree fan-out %d", fanout), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				t.search(pts[i&(len(pts)-1)], buf[:0])
			}
		})
	}
	for _, per := range []float64{1, 4} {
		g := newGridBuckets(boxes, per)
		b.Run(fmt.Sprintf("uniform grid %.0f box per cell", per), func(b *testing.B) {
			for i := 0; b.Loop(); i++ {
				g.search(pts[i&(len(pts)-1)], buf[:0])
			}
		})
	}
}

// BenchmarkRingLocate is the point-in-polygon test on the district outline
// (about 2,000 vertices), a community and a grid, with and without bands.
func BenchmarkRingLocate(b *testing.B) {
	ds, pts := demo10000(b)
	pick := map[string]orb.Ring{}
	for _, a := range ds.Areas {
		if _, ok := pick[a.Level]; !ok {
			pick[a.Level] = a.Geometry[0][0]
		}
	}
	for _, level := range []string{demo.LevelDistrict, demo.LevelCommunity, demo.LevelGrid} {
		rg := pick[level]
		bd := rg.Bound()
		// Points within the ring's box: the ones the R-tree lets through.
		local := make([]orb.Point, len(pts))
		rng := rand.New(rand.NewPCG(2, 2))
		for i := range local {
			local[i] = orb.Point{bd.Min[0] + rng.Float64()*(bd.Max[0]-bd.Min[0]), bd.Min[1] + rng.Float64()*(bd.Max[1]-bd.Min[1])}
		}
		for _, perBand := range []int{0, 1, 2, 4, 8} {
			r := newRingBanded(rg, perBand, 0)
			name := fmt.Sprintf("%s %d vertices, no bands", level, len(rg))
			if perBand > 0 {
				name = fmt.Sprintf("%s %d vertices, %d segments per band", level, len(rg), perBand)
			}
			b.Run(name, func(b *testing.B) {
				for i := 0; b.Loop(); i++ {
					r.locate(local[i&(len(local)-1)])
				}
			})
		}
	}
}

// BenchmarkLookup is a whole point lookup on the demo of 10,000 grids:
// levels from the deepest up, R-tree, point-in-polygon, border rule, chain
// and responsible list.
func BenchmarkLookup(b *testing.B) {
	ds, pts := demo10000(b)
	snap := &geo.Snapshot{}
	for d, k := range []string{demo.LevelDistrict, demo.LevelSubdistrict, demo.LevelCommunity, demo.LevelGrid} {
		snap.Levels = append(snap.Levels, geo.Level{Key: k, Hierarchy: "admin", Depth: d})
	}
	ids := map[string]int64{}
	for i, a := range ds.Areas {
		ids[a.Code] = int64(i + 1)
		snap.Areas = append(snap.Areas, geo.SnapshotArea{Area: geo.Area{ID: int64(i + 1), Level: a.Level, Code: a.Code, Name: a.Name, ParentID: ids[a.ParentCode]}, Geometry: a.Geometry})
	}
	st := buildState(snap.Levels, applySnapshot(nil, snap, nil), 20250301)
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		st.lookup(pts[i&(len(pts)-1)], "admin", 20250301)
	}
}
