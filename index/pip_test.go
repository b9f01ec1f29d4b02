package index

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/paulmach/orb"
)

func square(x0, y0, s float64) orb.Polygon {
	return orb.Polygon{{{x0, y0}, {x0 + s, y0}, {x0 + s, y0 + s}, {x0, y0 + s}, {x0, y0}}}
}

// bruteRing is point_in_ring over every segment, without bands.
func bruteRing(pts []orb.Point, p orb.Point) int {
	wn := 0
	for i := 0; i+1 < len(pts); i++ {
		if segmentStep(pts[i], pts[i+1], p, &wn) {
			return boundary
		}
	}
	if wn == 0 {
		return outside
	}
	return inside
}

func TestShapeLocate(t *testing.T) {
	holed := orb.Polygon{square(0, 0, 10)[0], {{2, 2}, {2, 4}, {4, 4}, {4, 2}, {2, 2}}}
	island := square(2.5, 2.5, 1)
	withDup := orb.Polygon{{{0, 0}, {1, 0}, {1, 0}, {1, 1}, {0, 1}, {0, 0}}}
	diag := orb.Polygon{{{0, 0}, {3, 1}, {0, 2}, {0, 0}}}
	for _, tc := range []struct {
		name string
		mp   orb.MultiPolygon
		p    orb.Point
		want int
	}{
		{"inside a square", orb.MultiPolygon{square(0, 0, 1)}, orb.Point{0.5, 0.5}, inside},
		{"on an edge", orb.MultiPolygon{square(0, 0, 1)}, orb.Point{0.5, 0}, boundary},
		{"on the top edge (half-open rule must not drop it)", orb.MultiPolygon{square(0, 0, 1)}, orb.Point{0.5, 1}, boundary},
		{"on a vertex", orb.MultiPolygon{square(0, 0, 1)}, orb.Point{1, 1}, boundary},
		{"on the line of an edge beyond its end", orb.MultiPolygon{square(0, 0, 1)}, orb.Point{2, 0}, outside},
		{"left of the square at a vertex's y", orb.MultiPolygon{square(0, 0, 1)}, orb.Point{-1, 1}, outside},
		{"in a hole", orb.MultiPolygon{holed}, orb.Point{3, 3}, outside},
		{"on a hole's edge", orb.MultiPolygon{holed}, orb.Point{2, 3}, boundary},
		{"island in a hole", orb.MultiPolygon{holed, island}, orb.Point{3, 3}, inside},
		{"on an island in a hole", orb.MultiPolygon{holed, island}, orb.Point{2.5, 3}, boundary},
		{"second polygon", orb.MultiPolygon{square(0, 0, 1), square(5, 5, 1)}, orb.Point{5.5, 5.5}, inside},
		{"repeated vertex is skipped", orb.MultiPolygon{withDup}, orb.Point{1, 0}, boundary},
		{"repeated vertex inside", orb.MultiPolygon{withDup}, orb.Point{0.5, 0.5}, inside},
		{"on a diagonal edge", orb.MultiPolygon{diag}, orb.Point{1.5, 0.5}, boundary},
		{"just off a diagonal edge", orb.MultiPolygon{diag}, orb.Point{1.5, math.Nextafter(0.5, 1)}, inside},
		{"outside the box", orb.MultiPolygon{diag}, orb.Point{3.5, 1}, outside},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := newShape(tc.mp).locate(tc.p); got != tc.want {
				t.Errorf("locate(%v) = %d, want %d", tc.p, got, tc.want)
			}
		})
	}
}

// TestBandsMatchAllSegments checks that visiting one band gives the answer of
// visiting every segment, on jagged rings and on points taken from their
// vertices, edge midpoints and band boundaries.
func TestBandsMatchAllSegments(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for n := range 40 {
		k := 20 + rng.IntN(400)
		pts := make([]orb.Point, 0, k+1)
		for i := range k {
			a := 2 * math.Pi * float64(i) / float64(k)
			r := 1 + 0.5*rng.Float64()
			// Rounded to 1e-7 like the stored data, so vertices repeat exactly.
			x := math.Round((120+r*math.Cos(a))*1e7) / 1e7
			y := math.Round((30+r*math.Sin(a))*1e7) / 1e7
			pts = append(pts, orb.Point{x, y})
		}
		pts = append(pts, pts[0])
		rg := newRing(pts)
		if rg.bandStart == nil {
			t.Fatalf("ring %d of %d segments is not banded", n, k)
		}
		var probes []orb.Point
		for i := 0; i+1 < len(pts); i++ {
			a, b := pts[i], pts[i+1]
			probes = append(probes, a, orb.Point{(a[0] + b[0]) / 2, (a[1] + b[1]) / 2}, orb.Point{a[0] - 1e-9, a[1]})
		}
		for b := 0; b <= len(rg.bandStart)-1; b++ {
			y := rg.minY + float64(b)/rg.scale
			probes = append(probes, orb.Point{120, y}, orb.Point{120.5, math.Nextafter(y, 0)})
		}
		for range 2000 {
			probes = append(probes, orb.Point{118.4 + 3.2*rng.Float64(), 28.4 + 3.2*rng.Float64()})
		}
		for _, p := range probes {
			if got, want := rg.locate(p), bruteRing(pts, p); got != want {
				t.Fatalf("ring %d, point %v: banded %d, all segments %d", n, p, got, want)
			}
		}
	}
}

func TestFloatRounding(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    float64
	}{
		{"lon with digits beyond float32", 120.1234567},
		{"lat", 30.2812345},
		{"negative", -47.0000001},
		{"exact in float32", 0.5},
		{"zero", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			lo, hi := floatDown(tc.d), floatUp(tc.d)
			if lo > tc.d || hi < tc.d {
				t.Fatalf("floatDown %v, floatUp %v do not enclose %v", lo, hi, tc.d)
			}
			if float64(float32(lo)) != lo || float64(float32(hi)) != hi {
				t.Errorf("floatDown %v or floatUp %v is not a float32", lo, hi)
			}
			if next := float64(math.Nextafter32(float32(lo), math.MaxFloat32)); next <= tc.d && lo != tc.d {
				t.Errorf("floatDown(%v) = %v, but %v is a larger float32 not above it", tc.d, lo, next)
			}
			if prev := float64(math.Nextafter32(float32(hi), -math.MaxFloat32)); prev >= tc.d && hi != tc.d {
				t.Errorf("floatUp(%v) = %v, but %v is a smaller float32 not below it", tc.d, hi, prev)
			}
		})
	}
}

func TestRTreeMatchesScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, n := range []int{1, 7, 8, 9, 100, 5000} {
		boxes := make([]orb.Bound, n)
		for i := range boxes {
			x, y := rng.Float64()*10, rng.Float64()*10
			boxes[i] = orb.Bound{Min: orb.Point{x, y}, Max: orb.Point{x + rng.Float64(), y + rng.Float64()}}
		}
		tree := newRTree(boxes)
		for range 2000 {
			p := orb.Point{rng.Float64()*12 - 1, rng.Float64()*12 - 1}
			if rng.IntN(4) == 0 { // on a box's corner
				p = boxes[rng.IntN(n)].Max
			}
			got := map[int32]bool{}
			for _, i := range tree.search(p, nil) {
				if got[i] {
					t.Fatalf("n=%d: item %d found twice", n, i)
				}
				got[i] = true
			}
			for i, b := range boxes {
				if holds(b, p) != got[int32(i)] {
					t.Fatalf("n=%d, point %v, box %d %v: holds %v, tree found it %v", n, p, i, b, holds(b, p), got[int32(i)])
				}
			}
		}
	}
}
