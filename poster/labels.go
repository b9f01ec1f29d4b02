package poster

import (
	"math"
	"strings"

	"github.com/paulmach/orb"
	"unicode/utf8"
)

// box is an axis-aligned rectangle in SVG user units.
type box struct{ x0, y0, x1, y1 float64 }

func (a box) overlaps(b box) bool {
	return a.x0 < b.x1 && b.x0 < a.x1 && a.y0 < b.y1 && b.y0 < a.y1
}

// textWidth estimates the advance of a label: a CJK character is one em, other characters about 0.62 em.
func textWidth(s string, size float64) float64 {
	w := 0.0
	for _, r := range s {
		if r >= 0x2E80 {
			w += size
		} else {
			w += 0.62 * size
		}
	}
	if utf8.RuneCountInString(s) == 0 {
		return 0
	}
	return w
}

// screen rings of a polygon set, in SVG units.
type rings [][][2]float64

func (p projection) rings(mp orb.MultiPolygon) rings {
	var rs rings
	for _, poly := range mp {
		for _, ring := range poly {
			r := make([][2]float64, 0, len(ring)+1)
			for _, pt := range ring {
				x, y := p.xy(pt)
				r = append(r, [2]float64{x, y})
			}
			if len(r) > 0 && r[0] != r[len(r)-1] {
				r = append(r, r[0])
			}
			rs = append(rs, r)
		}
	}
	return rs
}

// inside reports whether (x, y) is inside the rings (even-odd rule, holes included).
func (rs rings) inside(x, y float64) bool {
	in := false
	for _, r := range rs {
		for i, j := 0, len(r)-1; i < len(r); j, i = i, i+1 {
			if (r[i][1] > y) != (r[j][1] > y) && x < (r[j][0]-r[i][0])*(y-r[i][1])/(r[j][1]-r[i][1])+r[i][0] {
				in = !in
			}
		}
	}
	return in
}

// distToBorder is the distance from (x, y) to the nearest edge of the rings.
func (rs rings) distToBorder(x, y float64) float64 {
	d := math.Inf(1)
	for _, r := range rs {
		for i := 1; i < len(r); i++ {
			d = math.Min(d, segDist(x, y, r[i-1], r[i]))
		}
	}
	return d
}

func segDist(x, y float64, a, b [2]float64) float64 {
	dx, dy := b[0]-a[0], b[1]-a[1]
	t := 0.0
	if l := dx*dx + dy*dy; l > 0 {
		t = math.Max(0, math.Min(1, ((x-a[0])*dx+(y-a[1])*dy)/l))
	}
	return math.Hypot(x-a[0]-t*dx, y-a[1]-t*dy)
}

// boxInside reports whether the whole box lies inside the rings with margin m:
// its corners are inside and no edge of the rings comes within m of it.
func (rs rings) boxInside(b box, m float64) bool {
	for _, c := range [][2]float64{{b.x0, b.y0}, {b.x1, b.y0}, {b.x0, b.y1}, {b.x1, b.y1}} {
		if !rs.inside(c[0], c[1]) {
			return false
		}
	}
	g := box{b.x0 - m, b.y0 - m, b.x1 + m, b.y1 + m}
	for _, r := range rs {
		for i := 1; i < len(r); i++ {
			if segHitsBox(r[i-1], r[i], g) {
				return false
			}
		}
	}
	return true
}

// segHitsBox reports whether segment a–b meets box g (Liang–Barsky clipping).
func segHitsBox(a, b [2]float64, g box) bool {
	t0, t1 := 0.0, 1.0
	dx, dy := b[0]-a[0], b[1]-a[1]
	for _, c := range [][2]float64{{-dx, a[0] - g.x0}, {dx, g.x1 - a[0]}, {-dy, a[1] - g.y0}, {dy, g.y1 - a[1]}} {
		p, q := c[0], c[1]
		if p == 0 {
			if q < 0 {
				return false
			}
			continue
		}
		r := q / p
		if p < 0 {
			if r > t1 {
				return false
			}
			t0 = math.Max(t0, r)
		} else {
			if r < t0 {
				return false
			}
			t1 = math.Min(t1, r)
		}
	}
	return t0 <= t1
}

// placeLabel chooses, among candidate points on a lattice over the frame, the
// baseline point of a label of width w and font size size whose box lies
// inside the rings (clear of the border by margin), inside the frame, and
// clear of every box in avoid; of those, the one farthest from the border and
// from the boxes in far (the pin). ok is false when no candidate fits.
func placeLabel(rs rings, frame box, mk func(x, y float64) box, margin float64, avoid, far []box) (x, y float64, ok bool) {
	best := -1.0
	const steps = 60
	for i := 0; i <= steps; i++ {
		for j := 0; j <= steps; j++ {
			cx := frame.x0 + (frame.x1-frame.x0)*float64(i)/steps
			cy := frame.y0 + (frame.y1-frame.y0)*float64(j)/steps
			b := mk(cx, cy)
			if b.x0 < frame.x0+8 || b.x1 > frame.x1-8 || b.y0 < frame.y0+8 || b.y1 > frame.y1-8 {
				continue
			}
			if !rs.boxInside(b, margin) {
				continue
			}
			mx, my := (b.x0+b.x1)/2, (b.y0+b.y1)/2
			score := rs.distToBorder(mx, my)
			clear := true
			for _, a := range avoid {
				if b.overlaps(a) {
					clear = false
					break
				}
			}
			for _, a := range far {
				if b.overlaps(a) {
					clear = false
				}
				ax, ay := math.Max(a.x0-mx, math.Max(0, mx-a.x1)), math.Max(a.y0-my, math.Max(0, my-a.y1))
				score = math.Min(score, math.Hypot(ax, ay))
			}
			if clear && score > best {
				best, x, y, ok = score, cx, cy, true
			}
		}
	}
	return x, y, ok
}

// lines splits a label over n lines: a grid's name after its community
// (社区, 村), otherwise in the middle.
func splitLabel(s string, n int) []string {
	if n <= 1 {
		return []string{s}
	}
	for _, sep := range []string{"社区", "村"} {
		if i := strings.Index(s, sep); i > 0 && i+len(sep) < len(s) {
			return []string{s[:i+len(sep)], s[i+len(sep):]}
		}
	}
	r := []rune(s)
	if len(r) < 2 {
		return []string{s}
	}
	if i := strings.LastIndex(s[:len(s)/2+1], " "); i > 0 {
		return []string{s[:i], s[i+1:]}
	}
	return []string{string(r[:len(r)/2]), string(r[len(r)/2:])}
}

const lineHeight = 1.15 // em

// linesBox is the box of centred lines whose first baseline is at y.
func linesBox(x, y float64, ls []string, size float64) box {
	w := 0.0
	for _, l := range ls {
		w = math.Max(w, textWidth(l, size))
	}
	return box{x - w/2, y - 0.88*size, x + w/2, y + float64(len(ls)-1)*lineHeight*size + 0.2*size}
}
