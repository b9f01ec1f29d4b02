package demo

import (
	"errors"
	"math"
	"math/rand/v2"

	"github.com/paulmach/orb"
)

// The lattice lives in a local metric frame: x metres east and y metres north
// of the origin (originLon, originLat), the north-west corner of the district.
// Cell (i, j) is column i from the west and row j from the north; vertex
// (i, j) is the north-west corner of cell (i, j).
const (
	originLon = 120.10 // degrees, EPSG:4326
	originLat = 30.30  // degrees, EPSG:4326
	cellW     = 375.0  // nominal cell width, metres west→east
	cellH     = 740.0  // nominal cell height, metres north→south

	vertexJitter = 0.15 // vertex displacement, fraction of the cell size per axis
	wiggle       = 22.0 // largest sideways displacement of an edge midpoint, metres
)

// metresPerDegLon and metresPerDegLat convert the local frame to EPSG:4326 at
// the latitude of the default district (an equirectangular approximation; the
// data are fictional, so its distortion over large scaled runs does not matter).
var (
	metresPerDegLat = 111132.92 - 559.82*math.Cos(2*refLatRad) + 1.175*math.Cos(4*refLatRad)
	metresPerDegLon = 111412.84*math.Cos(refLatRad) - 93.5*math.Cos(3*refLatRad)
)

const refLatRad = 30.28 * math.Pi / 180

// round7 rounds degrees to 1e-7 (about 1 cm), so vertices computed once are
// bit-identical wherever they are used.
func round7(v float64) float64 { return math.Round(v*1e7) / 1e7 }

// toLonLat converts local metres to a rounded EPSG:4326 point.
func toLonLat(x, y float64) orb.Point {
	return orb.Point{round7(originLon + x/metresPerDegLon), round7(originLat + y/metresPerDegLat)}
}

// toMetres converts an EPSG:4326 point to the local metric frame.
func toMetres(p orb.Point) [2]float64 {
	return [2]float64{(p[0] - originLon) * metresPerDegLon, (p[1] - originLat) * metresPerDegLat}
}

// midpoints are the extra points of one lattice edge, in the edge's canonical
// direction (west→east for horizontal edges, north→south for vertical ones).
type midpoints struct {
	n int8
	p [2]orb.Point
}

// lattice is the jittered vertex lattice every area ring is traced on. Each
// vertex and edge midpoint is computed and rounded once, so neighbouring areas
// share bit-identical coordinates.
type lattice struct {
	nx, ny int         // cells per row, rows
	vert   []orb.Point // (nx+1)*(ny+1) vertices, index j*(nx+1)+i
	hmid   []midpoints // horizontal edge (i,j)→(i+1,j), index j*nx+i
	vmid   []midpoints // vertical edge (i,j)→(i,j+1), index j*(nx+1)+i
}

func newLattice(nx, ny int, rng *rand.Rand) *lattice {
	l := &lattice{
		nx:   nx,
		ny:   ny,
		vert: make([]orb.Point, (nx+1)*(ny+1)),
		hmid: make([]midpoints, nx*(ny+1)),
		vmid: make([]midpoints, (nx+1)*ny),
	}
	xy := make([][2]float64, len(l.vert))
	for j := 0; j <= ny; j++ {
		for i := 0; i <= nx; i++ {
			x := float64(i)*cellW + (2*rng.Float64()-1)*vertexJitter*cellW
			y := -float64(j)*cellH + (2*rng.Float64()-1)*vertexJitter*cellH
			xy[j*(nx+1)+i] = [2]float64{x, y}
			l.vert[j*(nx+1)+i] = toLonLat(x, y)
		}
	}
	for j := 0; j <= ny; j++ {
		for i := 0; i < nx; i++ {
			l.hmid[j*nx+i] = edgeMidpoints(xy[j*(nx+1)+i], xy[j*(nx+1)+i+1], rng)
		}
	}
	for j := 0; j < ny; j++ {
		for i := 0; i <= nx; i++ {
			l.vmid[j*(nx+1)+i] = edgeMidpoints(xy[j*(nx+1)+i], xy[(j+1)*(nx+1)+i], rng)
		}
	}
	return l
}

// edgeMidpoints places one or two points along a→b, each pushed sideways by up
// to wiggle metres, so that borders bend like roads and rivers.
func edgeMidpoints(a, b [2]float64, rng *rand.Rand) midpoints {
	dx, dy := b[0]-a[0], b[1]-a[1]
	length := math.Hypot(dx, dy)
	nx, ny := -dy/length, dx/length
	m := midpoints{n: int8(1 + rng.IntN(2))}
	for k := 0; k < int(m.n); k++ {
		t := (float64(k+1) + 0.5*(rng.Float64()-0.5)) / float64(m.n+1)
		off := (2*rng.Float64() - 1) * wiggle
		m.p[k] = toLonLat(a[0]+t*dx+off*nx, a[1]+t*dy+off*ny)
	}
	return m
}

// directedEdge is one lattice edge on a region's boundary, oriented so that the
// region lies to its left (counter-clockwise exterior ring).
type directedEdge struct {
	from, to int32 // vertex indexes
	idx      int32 // index into hmid or vmid
	vertical bool
	reversed bool // traversed against the canonical direction
}

var errPinched = errors.New("region boundary touches itself")

// traceRing returns the counter-clockwise, closed exterior ring of the region
// made of cells (cell index j*nx+i, in increasing order) for which in reports
// true. The region must be edge-connected, without holes and without cells
// that touch only at a corner.
func (l *lattice) traceRing(cells []int32, in func(c int32) bool) (orb.Ring, error) {
	nx, ny := int32(l.nx), int32(l.ny)
	vx := nx + 1
	var edges []directedEdge
	for _, c := range cells {
		i, j := c%nx, c/nx
		if j+1 == ny || !in(c+nx) { // bottom, west→east
			edges = append(edges, directedEdge{from: (j+1)*vx + i, to: (j+1)*vx + i + 1, idx: (j+1)*nx + i})
		}
		if i+1 == nx || !in(c+1) { // right, south→north
			edges = append(edges, directedEdge{from: (j+1)*vx + i + 1, to: j*vx + i + 1, idx: j*vx + i + 1, vertical: true, reversed: true})
		}
		if j == 0 || !in(c-nx) { // top, east→west
			edges = append(edges, directedEdge{from: j*vx + i + 1, to: j*vx + i, idx: j*nx + i, reversed: true})
		}
		if i == 0 || !in(c-1) { // left, north→south
			edges = append(edges, directedEdge{from: j*vx + i, to: (j+1)*vx + i, idx: j*vx + i, vertical: true})
		}
	}
	if len(edges) == 0 {
		return nil, errors.New("empty region")
	}
	next := make(map[int32]int, len(edges))
	for k, e := range edges {
		if _, dup := next[e.from]; dup {
			return nil, errPinched
		}
		next[e.from] = k
	}
	ring := make(orb.Ring, 0, 3*len(edges)+1)
	k := 0
	for n := 0; n < len(edges); n++ {
		e := edges[k]
		ring = append(ring, l.vert[e.from])
		m := &l.hmid[e.idx]
		if e.vertical {
			m = &l.vmid[e.idx]
		}
		if e.reversed {
			for q := m.n - 1; q >= 0; q-- {
				ring = append(ring, m.p[q])
			}
		} else {
			for q := int8(0); q < m.n; q++ {
				ring = append(ring, m.p[q])
			}
		}
		var ok bool
		if k, ok = next[e.to]; !ok {
			return nil, errors.New("region boundary is open")
		}
		if k == 0 && n+1 < len(edges) {
			return nil, errors.New("region has more than one boundary ring")
		}
	}
	if k != 0 {
		return nil, errors.New("region boundary does not close")
	}
	return append(ring, ring[0]), nil
}
