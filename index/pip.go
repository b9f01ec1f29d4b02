package index

import (
	"math"
	"strings"

	"github.com/paulmach/orb"
)

// Point location with PostGIS's own arithmetic.
//
// PostGIS 3.3 answers ST_Covers and ST_Contains for a (multi)polygon and a
// point without GEOS: lwgeom_geos.c short-circuits to pip_short_circuit, which
// runs the winding-number test of lwgeom_functions_analytic.c
// (point_in_multipolygon / point_in_ring, or their r-tree twins over the same
// segments) in plain double arithmetic. ST_Covers is "not outside" (-1), and
// ST_Contains is "inside" (1). The functions below do the same operations in
// the same order, so a point exactly on an edge or a vertex falls on the same
// side of the line, bit for bit:
//
//	side = (x2-x1)*(py-y1) - (px-x1)*(y2-y1)
//
// A segment whose ends are equal is skipped; side == 0 with the point inside
// the segment's closed bounding box is the boundary (0); otherwise an upward
// segment with side > 0 adds one to the winding number and a downward one with
// side < 0 subtracts one (half-open in y: y1 <= py < y2). Go may fuse a*b-c*d
// into a fused multiply-add (it does on arm64 and ppc64); the explicit
// float64 conversions forbid that (Go spec, "Floating-point operators"), and
// TestPointInPolygonHasNoFusedMultiplyAdd checks the compiled code for those
// architectures. The PostGIS build on this machine has no FMA instructions
// either.
//
// Neither the order in which a ring's segments are visited nor extra segments
// whose y-range does not hold py change the answer, which is what lets a ring
// keep its segments in y-bands and visit one band only.

// VerifiedPostGIS is the PostGIS release line whose point-in-polygon
// arithmetic this file reproduces, checked by TestMatchesPostGIS. PostGIS 3.4
// replaced that code (interval trees), so the index must not answer for
// another release line until the equivalence test has been run against it.
const VerifiedPostGIS = "3.3"

// MatchesPostGIS reports whether version, as postgis_lib_version() gives it
// (e.g. "3.3.2", "3.3.4dev"), is of the release line VerifiedPostGIS.
func MatchesPostGIS(version string) bool {
	v := strings.TrimSpace(version)
	if !strings.HasPrefix(v, VerifiedPostGIS) {
		return false
	}
	rest := v[len(VerifiedPostGIS):]
	return rest == "" || rest[0] < '0' || rest[0] > '9' // "3.3", "3.3.2", "3.3dev"; not "3.30"
}

// Location of a point relative to an area, as PostGIS's point-in-polygon code returns it.
const (
	outside  = -1
	boundary = 0
	inside   = 1
)

// side is lwgeom_functions_analytic.c's determineSide: > 0 when p lies left
// of the line a→b, < 0 right of it, 0 on it.
func side(a, b, p orb.Point) float64 {
	return float64((b[0]-a[0])*(p[1]-a[1])) - float64((p[0]-a[0])*(b[1]-a[1]))
}

// onSegment is isOnSegment: whether p, known to be on the line a–b, lies
// within the segment's closed bounding box.
func onSegment(a, b, p orb.Point) bool {
	minX, maxX := a[0], b[0]
	if a[0] > b[0] {
		minX, maxX = b[0], a[0]
	}
	minY, maxY := a[1], b[1]
	if a[1] > b[1] {
		minY, maxY = b[1], a[1]
	}
	return !(maxX < p[0] || minX > p[0]) && !(maxY < p[1] || minY > p[1])
}

// ring is one closed ring prepared for point location: its segments are
// bucketed into horizontal bands so that a query visits the segments whose
// y-range may hold the point's y, not all of them.
type ring struct {
	pts        []orb.Point // as stored, first point repeated at the end
	minY, maxY float64
	// scale maps y to a band: band(y) = clamp(int((y-minY)*scale)); nil
	// bandStart means no bands (few segments): every segment is visited.
	scale     float64
	bands     int
	bandStart []int32 // bands+1 offsets into bandSeg
	bandSeg   []int32 // segment i joins pts[i] and pts[i+1]
}

// segmentsPerBand is the average number of segments a band holds; rings with
// at most minBandedSegments segments are not banded. Both were chosen by
// BenchmarkRingLocate (see docs/index.md).
const (
	segmentsPerBand   = 1
	minBandedSegments = 8
)

func newRing(pts []orb.Point) ring { return newRingBanded(pts, segmentsPerBand, minBandedSegments) }

// newRingBanded prepares a ring with bands of about perBand segments, or
// none when it has at most minSegments segments (or perBand is 0).
func newRingBanded(pts []orb.Point, perBand, minSegments int) ring {
	r := ring{pts: pts, minY: math.Inf(1), maxY: math.Inf(-1)}
	for _, p := range pts {
		r.minY, r.maxY = min(r.minY, p[1]), max(r.maxY, p[1])
	}
	nseg := len(pts) - 1
	if perBand <= 0 || nseg <= minSegments || !(r.maxY > r.minY) {
		return r
	}
	nb := (nseg + perBand - 1) / perBand
	r.scale = float64(nb) / (r.maxY - r.minY)
	r.bands = nb
	counts := make([]int32, nb+1)
	for i := 0; i < nseg; i++ {
		lo, hi := r.bandRange(pts[i][1], pts[i+1][1])
		for b := lo; b <= hi; b++ {
			counts[b+1]++
		}
	}
	for b := 1; b <= nb; b++ {
		counts[b] += counts[b-1]
	}
	r.bandStart = counts
	r.bandSeg = make([]int32, counts[nb])
	fill := append([]int32(nil), counts[:nb]...)
	for i := 0; i < nseg; i++ {
		lo, hi := r.bandRange(pts[i][1], pts[i+1][1])
		for b := lo; b <= hi; b++ {
			r.bandSeg[fill[b]] = int32(i)
			fill[b]++
		}
	}
	return r
}

// band returns the band of y. It is monotone in y (a subtraction, a
// multiplication by a positive number and truncation all are), so a segment
// whose y-range [y1, y2] holds py is in band(py): band(y1) <= band(py) <= band(y2).
func (r *ring) band(y float64) int {
	b := int((y - r.minY) * r.scale)
	return max(0, min(b, r.bands-1))
}

func (r *ring) bandRange(y1, y2 float64) (int, int) {
	if y1 > y2 {
		y1, y2 = y2, y1
	}
	return r.band(y1), r.band(y2)
}

// locate is point_in_ring: outside, boundary or inside of the ring.
func (r *ring) locate(p orb.Point) int {
	if p[1] < r.minY || p[1] > r.maxY {
		return outside // no segment's y-range holds py: none counts or touches
	}
	wn := 0
	if r.bandStart == nil {
		for i := 0; i+1 < len(r.pts); i++ {
			if on := segmentStep(r.pts[i], r.pts[i+1], p, &wn); on {
				return boundary
			}
		}
	} else {
		b := r.band(p[1])
		for _, i := range r.bandSeg[r.bandStart[b]:r.bandStart[b+1]] {
			if on := segmentStep(r.pts[i], r.pts[i+1], p, &wn); on {
				return boundary
			}
		}
	}
	if wn == 0 {
		return outside
	}
	return inside
}

// segmentStep applies one segment of point_in_ring to the winding number and
// reports whether p lies on the segment.
func segmentStep(a, b, p orb.Point, wn *int) bool {
	s := side(a, b, p)
	if a[0] == b[0] && a[1] == b[1] {
		return false // zero-length segments are ignored
	}
	if s == 0 && onSegment(a, b, p) {
		return true
	}
	if a[1] <= p[1] && p[1] < b[1] && s > 0 {
		*wn++
	} else if b[1] <= p[1] && p[1] < a[1] && s < 0 {
		*wn--
	}
	return false
}

// polygon is an exterior ring followed by its holes.
type polygon []ring

// shape is a MultiPolygon prepared for point location; its polygons keep the
// stored order, which PostGIS's answer depends on (the first polygon that
// decides, decides).
type shape struct {
	// box is the bounding box PostGIS keeps with a serialized geometry: the
	// exact one rounded outward to float32 (gbox_float_round). ST_Covers and
	// ST_Contains answer false without the point-in-polygon test for a point
	// outside it, and run the test for every point inside it.
	box   orb.Bound
	polys []polygon
}

func newShape(mp orb.MultiPolygon) *shape {
	b := mp.Bound()
	s := &shape{polys: make([]polygon, 0, len(mp))}
	s.box = orb.Bound{
		Min: orb.Point{floatDown(b.Min[0]), floatDown(b.Min[1])},
		Max: orb.Point{floatUp(b.Max[0]), floatUp(b.Max[1])},
	}
	for _, p := range mp {
		poly := make(polygon, 0, len(p))
		for _, rg := range p {
			poly = append(poly, newRing(rg))
		}
		s.polys = append(s.polys, poly)
	}
	return s
}

// floatDown is liblwgeom's next_float_down: the largest float32 not above d.
func floatDown(d float64) float64 {
	if d >= math.MaxFloat32 {
		return math.MaxFloat32
	}
	if d <= -math.MaxFloat32 {
		return -math.MaxFloat32
	}
	f := float32(d)
	if float64(f) > d {
		f = math.Nextafter32(f, -math.MaxFloat32)
	}
	return float64(f)
}

// floatUp is liblwgeom's next_float_up: the smallest float32 not below d.
func floatUp(d float64) float64 {
	if d >= math.MaxFloat32 {
		return math.MaxFloat32
	}
	if d <= -math.MaxFloat32 {
		return -math.MaxFloat32
	}
	f := float32(d)
	if float64(f) < d {
		f = math.Nextafter32(f, math.MaxFloat32)
	}
	return float64(f)
}

// covers reports whether p is within the shape's box (closed), the only
// points PostGIS runs the point-in-polygon test for.
func (s *shape) covers(p orb.Point) bool {
	return p[0] >= s.box.Min[0] && p[0] <= s.box.Max[0] && p[1] >= s.box.Min[1] && p[1] <= s.box.Max[1]
}

// locate is ST_Covers/ST_Contains's short circuit: outside when p is not in
// the box, otherwise point_in_multipolygon: outside, boundary or inside.
func (s *shape) locate(p orb.Point) int {
	if !s.covers(p) {
		return outside
	}
	result := outside
	for _, poly := range s.polys {
		if len(poly) == 0 {
			continue
		}
		in := poly[0].locate(p)
		if in == outside {
			continue
		}
		if in == boundary {
			return boundary
		}
		result = inside
		for h := range poly[1:] {
			in := poly[1+h].locate(p)
			if in == inside { // inside a hole: outside this polygon
				result = outside
				break
			}
			if in == boundary {
				return boundary
			}
		}
		if result != outside {
			return result
		}
	}
	return result
}
