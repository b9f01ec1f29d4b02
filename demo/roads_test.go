package demo

import (
	"math"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"gridmap/geo"
)

// distToLine is the distance in metres from q to the polyline l (EPSG:4326).
func distToLine(q orb.Point, l orb.LineString) float64 {
	p := toMetres(q)
	d := math.Inf(1)
	for k := 1; k < len(l); k++ {
		d = min(d, pointSegDist(p, toMetres(l[k-1]), toMetres(l[k])))
	}
	return d
}

// streetOf is the street part of a demo address: 人民路12号3栋 → 人民路.
func streetOf(addr string) string {
	if i := strings.IndexAny(addr, "0123456789"); i > 0 {
		return addr[:i]
	}
	return addr
}

// maxStreetDistance bounds how far a building may lie from the road its
// address names: half a cell (187 m) plus the compound's own extent; the
// largest measured is printed by the test.
const maxStreetDistance = 300.0 // metres

// TestRoadsAgreeWithAddresses: 幸福路 runs where the buildings on 幸福路 are.
// For every building, the road its address names is within
// maxStreetDistance, and for most it is the nearest road of all.
func TestRoadsAgreeWithAddresses(t *testing.T) {
	for _, opt := range []Options{{}, {Seed: 7, Grids: 300, Buildings: 6000}} {
		ds, err := Generate(opt)
		if err != nil {
			t.Fatal(err)
		}
		byName := map[string][]orb.LineString{}
		for _, r := range ds.Roads {
			if r.Class == geo.RoadPath {
				continue // the estates' footpaths (TestDemoPaths) are no streets of addresses
			}
			byName[r.Name] = append(byName[r.Name], r.Line)
			if r.Source != RoadSource || len(r.Line) < 2 || (r.Class != geo.RoadMajor && r.Class != geo.RoadMinor) || r.Name == "" {
				t.Fatalf("road %+v: want source demo, ≥ 2 positions, major or minor, a name", r)
			}
		}
		worst, nearestToo := 0.0, 0
		for _, b := range ds.Buildings {
			lines, ok := byName[streetOf(b.Address)]
			if !ok {
				t.Fatalf("building %s (%s): no road named %s", b.Code, b.Address, streetOf(b.Address))
			}
			d := math.Inf(1)
			for _, l := range lines {
				d = min(d, distToLine(b.Point, l))
			}
			worst = max(worst, d)
			if d > maxStreetDistance {
				t.Errorf("building %s (%s) is %.0f m from %s, want ≤ %.0f m", b.Code, b.Address, d, streetOf(b.Address), maxStreetDistance)
			}
			all := math.Inf(1)
			for _, r := range ds.Roads {
				if r.Class != geo.RoadPath {
					all = min(all, distToLine(b.Point, r.Line))
				}
			}
			if d <= all+1e-6 {
				nearestToo++
			}
		}
		share := float64(nearestToo) / float64(len(ds.Buildings))
		t.Logf("grids %d: %d roads, %d buildings; farthest from its street %.0f m; its street is the nearest road for %.1f%%",
			opt.Grids, len(ds.Roads), len(ds.Buildings), worst, 100*share)
		// The street is chosen at the compound's centre; its outer buildings
		// may lie nearer another road.
		if share < 0.8 {
			t.Errorf("the street of %.1f%% of the buildings is the nearest road, want ≥ 80%%", 100*share)
		}
	}
}

// roadTolerance is how near a road a grid border must be to count as on it.
const roadTolerance = 3.0 // metres

// TestGridBordersOnRoads: the demo's grid borders run along roads. Each
// border segment is sampled every 10 m; the share of samples within
// roadTolerance of a road is measured (every lattice edge is a road, so
// all of it is expected).
func TestGridBordersOnRoads(t *testing.T) {
	ds, err := Generate(Options{})
	if err != nil {
		t.Fatal(err)
	}
	var on, all int
	for _, a := range ds.Areas {
		if a.Level != LevelGrid {
			continue
		}
		ring := a.Geometry[0][0]
		for k := 1; k < len(ring); k++ {
			p, q := toMetres(ring[k-1]), toMetres(ring[k])
			n := max(1, int(math.Hypot(q[0]-p[0], q[1]-p[1])/10))
			for s := 0; s < n; s++ {
				f := (float64(s) + 0.5) / float64(n)
				pt := toLonLat(p[0]+f*(q[0]-p[0]), p[1]+f*(q[1]-p[1]))
				all++
				for _, r := range ds.Roads {
					if distToLine(pt, r.Line) <= roadTolerance {
						on++
						break
					}
				}
			}
		}
	}
	share := float64(on) / float64(all)
	t.Logf("%d border samples, %.2f%% within %.0f m of a road", all, 100*share, roadTolerance)
	if share < 0.99 {
		t.Errorf("%.2f%% of the grid borders run along roads, want ≥ 99%%", 100*share)
	}
}
