package demo

import (
	"math"

	"github.com/paulmach/orb"
)

// xy is a point in the local metric frame (metres east, metres north).
type xy = [2]float64

// metricPolygon is a closed ring in the local metric frame, used to place
// buildings inside a grid.
type metricPolygon struct {
	pts                    []xy // closed: pts[0] == pts[len-1]
	minX, minY, maxX, maxY float64
}

func newMetricPolygon(r orb.Ring) *metricPolygon {
	p := &metricPolygon{pts: make([]xy, len(r)), minX: math.Inf(1), minY: math.Inf(1), maxX: math.Inf(-1), maxY: math.Inf(-1)}
	for i, q := range r {
		m := toMetres(q)
		p.pts[i] = m
		p.minX, p.maxX = min(p.minX, m[0]), max(p.maxX, m[0])
		p.minY, p.maxY = min(p.minY, m[1]), max(p.maxY, m[1])
	}
	return p
}

// contains reports whether q is inside the ring (ray casting).
func (p *metricPolygon) contains(q xy) bool {
	in := false
	for i := 1; i < len(p.pts); i++ {
		a, b := p.pts[i-1], p.pts[i]
		if (a[1] > q[1]) != (b[1] > q[1]) && q[0] < (b[0]-a[0])*(q[1]-a[1])/(b[1]-a[1])+a[0] {
			in = !in
		}
	}
	return in
}

// pointClear reports whether q is inside and at least margin metres from the border.
func (p *metricPolygon) pointClear(q xy, margin float64) bool {
	if !p.contains(q) {
		return false
	}
	for i := 1; i < len(p.pts); i++ {
		if pointSegDist(q, p.pts[i-1], p.pts[i]) < margin {
			return false
		}
	}
	return true
}

// rectClear reports whether the convex quadrilateral c (counter-clockwise)
// lies inside the ring with at least margin metres to spare.
func (p *metricPolygon) rectClear(c [4]xy, margin float64) bool {
	centre := xy{(c[0][0] + c[2][0]) / 2, (c[0][1] + c[2][1]) / 2}
	if !p.contains(centre) {
		return false
	}
	rminX, rminY, rmaxX, rmaxY := math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, q := range c {
		rminX, rmaxX = min(rminX, q[0]), max(rmaxX, q[0])
		rminY, rmaxY = min(rminY, q[1]), max(rmaxY, q[1])
	}
	for i := 1; i < len(p.pts); i++ {
		a, b := p.pts[i-1], p.pts[i]
		if min(a[0], b[0]) > rmaxX+margin || max(a[0], b[0]) < rminX-margin ||
			min(a[1], b[1]) > rmaxY+margin || max(a[1], b[1]) < rminY-margin {
			continue
		}
		if insideConvex(c, a) {
			return false
		}
		for k := range c {
			if segSegDist(a, b, c[k], c[(k+1)%4]) < margin {
				return false
			}
		}
	}
	return true
}

func cross(o, a, b xy) float64 { return (a[0]-o[0])*(b[1]-o[1]) - (a[1]-o[1])*(b[0]-o[0]) }

// insideConvex reports whether q is inside or on the counter-clockwise convex polygon c.
func insideConvex(c [4]xy, q xy) bool {
	for k := range c {
		if cross(c[k], c[(k+1)%4], q) < 0 {
			return false
		}
	}
	return true
}

func pointSegDist(q, a, b xy) float64 {
	dx, dy := b[0]-a[0], b[1]-a[1]
	t := 0.0
	if l2 := dx*dx + dy*dy; l2 > 0 {
		t = max(0, min(1, ((q[0]-a[0])*dx+(q[1]-a[1])*dy)/l2))
	}
	return math.Hypot(q[0]-a[0]-t*dx, q[1]-a[1]-t*dy)
}

// segSegDist is the distance between segments ab and cd (0 if they meet).
func segSegDist(a, b, c, d xy) float64 {
	d1, d2 := cross(c, d, a), cross(c, d, b)
	d3, d4 := cross(a, b, c), cross(a, b, d)
	if ((d1 > 0) != (d2 > 0) || d1 == 0 || d2 == 0) && ((d3 > 0) != (d4 > 0) || d3 == 0 || d4 == 0) {
		return 0
	}
	return min(pointSegDist(a, c, d), pointSegDist(b, c, d), pointSegDist(c, a, b), pointSegDist(d, a, b))
}
