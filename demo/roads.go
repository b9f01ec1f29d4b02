package demo

import (
	"math"
	"strconv"
	"strings"

	"github.com/paulmach/orb"

	"gridmap/geo"
)

// Roads: every lattice edge that bounds a cell of the district is a road, so
// every area border, grid borders included, runs along roads (as plans
// divide grids along roads). A road is a run of consecutive edges along one
// lattice line, at most maxRoadEdges long, traced through the same rounded
// vertices and midpoints as the area rings, so a border and its road share
// bit-identical coordinates. Band borders (every commRows-th horizontal
// line) and every majorEvery-th vertical line are major roads, the rest
// minor. A building's street is the name of the road nearest its compound.
const (
	maxRoadEdgesH = 8 // horizontal: 8 cells, about 3 km
	maxRoadEdgesV = 4 // vertical: 4 cells, about 3 km
	majorEvery    = 4 // every 4th vertical lattice line is a major road
	// RoadSource is the source of the demo's roads (a re-import of it
	// replaces them).
	RoadSource = "demo"
)

// demoRoad is one generated road.
type demoRoad struct {
	name  int // index into the street pool
	class geo.RoadClass
	line  orb.LineString // EPSG:4326
	xy    []xy           // the same, in the local metric frame
}

// roadNet is the demo's roads and an index from lattice cells to the road
// segments on their edges, for the nearest-road lookup.
type roadNet struct {
	nx, ny  int
	streets []string
	roads   []demoRoad
	byCell  map[int32][]roadSeg // cell index j*nx+i → segments of the roads on its four edges
}

type roadSeg struct {
	road int32
	a, b xy
}

// planRoads lays roads along the lattice edges of the district's cells and
// names them from the street pool, west→east lines first, north→south.
func planRoads(p *plan, lat *lattice) *roadNet {
	nx, ny := p.nx, p.ny
	in := func(i, j int) bool { return i >= 0 && j >= 0 && i < nx && j < ny && p.gridOf[j*nx+i] >= 0 }
	net := &roadNet{nx: nx, ny: ny, byCell: map[int32][]roadSeg{}}
	type run struct {
		horizontal bool
		line, from int // lattice line, first edge
		n          int // edges
	}
	var runs []run
	cut := func(horizontal bool, line int, edges int, onRoad func(k int) bool, maxEdges int) {
		for k := 0; k < edges; {
			if !onRoad(k) {
				k++
				continue
			}
			start := k
			for k < edges && onRoad(k) && k-start < maxEdges {
				k++
			}
			runs = append(runs, run{horizontal, line, start, k - start})
		}
	}
	for j := 0; j <= ny; j++ {
		cut(true, j, nx, func(i int) bool { return in(i, j-1) || in(i, j) }, maxRoadEdgesH)
	}
	for i := 0; i <= nx; i++ {
		cut(false, i, ny, func(j int) bool { return in(i-1, j) || in(i, j) }, maxRoadEdgesV)
	}
	// Names: major roads take the pool's 路 and 大道 names in order, minor
	// roads its 街, 巷 and 弄 names, then the 路 names the majors left; when
	// a large district has more roads than names, names repeat far apart
	// (house numbers stay unique per name).
	net.streets = streetPool(maxStreets)
	var wide, narrow []int
	for k, s := range net.streets {
		if strings.HasSuffix(s, "路") || strings.HasSuffix(s, "大道") {
			wide = append(wide, k)
		} else {
			narrow = append(narrow, k)
		}
	}
	nextWide, nextNarrow := 0, 0
	vx := nx + 1
	for _, r := range runs {
		road := demoRoad{class: geo.RoadMinor}
		if (r.horizontal && r.line%commRows == 0) || (!r.horizontal && r.line%majorEvery == 0) {
			road.class = geo.RoadMajor
		}
		if road.class == geo.RoadMajor || nextNarrow == len(narrow) {
			road.name = wide[nextWide%len(wide)]
			nextWide++
		} else {
			road.name = narrow[nextNarrow]
			nextNarrow++
		}
		for k := r.from; k < r.from+r.n; k++ {
			var v int
			var m *midpoints
			if r.horizontal {
				v, m = r.line*vx+k, &lat.hmid[r.line*nx+k]
			} else {
				v, m = k*vx+r.line, &lat.vmid[k*vx+r.line]
			}
			road.line = append(road.line, lat.vert[v])
			road.line = append(road.line, m.p[:m.n]...)
		}
		end := r.line*vx + r.from + r.n
		if !r.horizontal {
			end = (r.from+r.n)*vx + r.line
		}
		road.line = append(road.line, lat.vert[end])
		road.xy = make([]xy, len(road.line))
		for k, q := range road.line {
			road.xy[k] = toMetres(q)
		}
		id := int32(len(net.roads))
		net.roads = append(net.roads, road)
		// Index each segment under the cells on both sides of its edge.
		seg := 0
		for k := r.from; k < r.from+r.n; k++ {
			var m *midpoints
			var cells [2][2]int
			if r.horizontal {
				m = &lat.hmid[r.line*nx+k]
				cells = [2][2]int{{k, r.line - 1}, {k, r.line}}
			} else {
				m = &lat.vmid[k*vx+r.line]
				cells = [2][2]int{{r.line - 1, k}, {r.line, k}}
			}
			for q := 0; q <= int(m.n); q++ {
				s := roadSeg{road: id, a: road.xy[seg], b: road.xy[seg+1]}
				for _, c := range cells {
					if c[0] >= 0 && c[1] >= 0 && c[0] < nx && c[1] < ny {
						ci := int32(c[1]*nx + c[0])
						net.byCell[ci] = append(net.byCell[ci], s)
					}
				}
				seg++
			}
		}
	}
	return net
}

// nearest returns the road nearest q (local metres) among the roads on the
// edges of the cells around q's nominal cell, and its distance.
func (net *roadNet) nearest(q xy) (int, float64) {
	ci := int(math.Floor(q[0] / cellW))
	cj := int(math.Floor(-q[1] / cellH))
	best, bestD := -1, math.Inf(1)
	for dj := -1; dj <= 1; dj++ {
		for di := -1; di <= 1; di++ {
			i, j := ci+di, cj+dj
			if i < 0 || j < 0 || i >= net.nx || j >= net.ny {
				continue
			}
			for _, s := range net.byCell[int32(j*net.nx+i)] {
				if d := pointSegDist(q, s.a, s.b); d < bestD || (d == bestD && int(s.road) < best) {
					best, bestD = int(s.road), d
				}
			}
		}
	}
	return best, bestD
}

// geoRoads returns the roads as the importer writes them.
func (net *roadNet) geoRoads() []geo.Road {
	out := make([]geo.Road, len(net.roads))
	for k, r := range net.roads {
		out[k] = geo.Road{Name: net.streets[r.name], Class: r.class, Line: r.line, Source: RoadSource, Ref: "demo/" + strconv.Itoa(k+1)}
	}
	return out
}
