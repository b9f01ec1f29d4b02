// Package poster draws what a printed notice board (网格公示牌) needs without
// a browser's WebGL: the grid map as SVG, in a simple equirectangular
// projection, and the QR code that links back to the building's page.
package poster

import (
	"fmt"
	"html"
	"math"
	"strings"

	"github.com/paulmach/orb"

	"gridmap/geo"
	"gridmap/tiles"
)

// Outline is a neighbouring area drawn in grey with its name.
type Outline struct {
	Geometry orb.MultiPolygon // EPSG:4326
	Label    string
}

// Map is the content of a poster map. Coordinates are EPSG:4326 degrees.
type Map struct {
	Grid       orb.MultiPolygon // the area the poster is for, drawn in the accent colour
	GridLabel  string
	Neighbours []Outline
	// Roads are drawn over the neighbours and under the grid, in the vector
	// tiles' road style (tiles.RoadLook): paths under minor under major roads.
	Roads      []geo.Road
	Buildings  []orb.Point        // drawn as small dots
	Footprints []orb.MultiPolygon // drawn as small shapes where known
	Marked     *orb.Point         // the building the poster hangs in; nil for a grid poster
	// Width and Height are the SVG's size in user units (its viewBox); the
	// page scales it, so give them the aspect of the box it is printed in.
	// Default 1000 × 620.
	Width, Height float64
	Padding       float64 // share of the grid's extent shown around it; default 0.12
	Title         string  // the SVG's <title>, for screen readers
}

// projection maps lon/lat to SVG user units: x = lon·cos(lat0), y = −lat,
// scaled and centred so that the grid with its padding fills the viewBox.
type projection struct {
	k, cx, cy, cos float64 // scale, centre (in projected units), cos(lat0)
	w, h           float64
}

func newProjection(b orb.Bound, w, h, pad float64) projection {
	lat0 := (b.Min[1] + b.Max[1]) / 2
	cos := math.Cos(lat0 * math.Pi / 180)
	dx := (b.Max[0] - b.Min[0]) * cos
	dy := b.Max[1] - b.Min[1]
	if dx <= 0 {
		dx = 1e-6
	}
	if dy <= 0 {
		dy = 1e-6
	}
	dx, dy = dx*(1+2*pad), dy*(1+2*pad)
	k := math.Min(w/dx, h/dy)
	return projection{k: k, cx: (b.Min[0] + b.Max[0]) / 2 * cos, cy: -(b.Min[1] + b.Max[1]) / 2, cos: cos, w: w, h: h}
}

func (p projection) xy(pt orb.Point) (float64, float64) {
	return p.w/2 + (pt[0]*p.cos-p.cx)*p.k, p.h/2 + (-pt[1]-p.cy)*p.k
}

// visible is the lon/lat bound the viewBox shows.
func (p projection) visible() orb.Bound {
	lon := func(x float64) float64 { return ((x-p.w/2)/p.k + p.cx) / p.cos }
	lat := func(y float64) float64 { return -((y-p.h/2)/p.k + p.cy) }
	return orb.Bound{Min: orb.Point{lon(0), lat(p.h)}, Max: orb.Point{lon(p.w), lat(0)}}
}

func (p projection) path(mp orb.MultiPolygon) string {
	var sb strings.Builder
	for _, poly := range mp {
		for _, ring := range poly {
			for i, pt := range ring {
				x, y := p.xy(pt)
				if i == 0 {
					fmt.Fprintf(&sb, "M%.1f %.1f", x, y)
				} else {
					fmt.Fprintf(&sb, "L%.1f %.1f", x, y)
				}
			}
			sb.WriteString("Z")
		}
	}
	return sb.String()
}

// roadWidths are the poster's road widths in user units (1000 across), by
// class: wide enough to read on a printed A4 map of one grid.
var roadWidths = map[geo.RoadClass]float64{geo.RoadMajor: 16, geo.RoadMinor: 10, geo.RoadPath: 3}

// roads draws the roads, each class as one casing path under one fill path,
// paths first, then minor, then major roads.
func (p projection) roads(rs []geo.Road) string {
	var sb strings.Builder
	for _, c := range []geo.RoadClass{geo.RoadPath, geo.RoadMinor, geo.RoadMajor} {
		var d strings.Builder
		for _, r := range rs {
			if r.Class != c || len(r.Line) < 2 {
				continue
			}
			for i, pt := range r.Line {
				x, y := p.xy(pt)
				if i == 0 {
					fmt.Fprintf(&d, "M%.1f %.1f", x, y)
				} else {
					fmt.Fprintf(&d, "L%.1f %.1f", x, y)
				}
			}
		}
		if d.Len() == 0 {
			continue
		}
		colour, casing, dashed := tiles.RoadLook(c)
		w := roadWidths[c]
		if casing != "" {
			fmt.Fprintf(&sb, `<path d="%s" fill="none" stroke="%s" stroke-width="%.1f" stroke-linecap="round" stroke-linejoin="round" class="road-casing road-%s"/>`, d.String(), casing, w+3, c)
		}
		dash := ""
		if dashed {
			dash = fmt.Sprintf(` stroke-dasharray="%.0f %.0f"`, 3*w, 2*w)
		}
		fmt.Fprintf(&sb, `<path d="%s" fill="none" stroke="%s" stroke-width="%.1f" stroke-linecap="round" stroke-linejoin="round"%s class="road road-%s"/>`, d.String(), colour, w, dash, c)
	}
	return sb.String()
}

// labelPoint is the centre of the visible part of the largest ring's bound,
// good enough for a label on a compact grid; ok is false when none of it is visible.
func labelPoint(mp orb.MultiPolygon, visible orb.Bound) (pt orb.Point, ok bool) {
	bestArea := -1.0
	for _, poly := range mp {
		if len(poly) == 0 {
			continue
		}
		b := poly[0].Bound()
		if !b.Intersects(visible) {
			continue
		}
		b = orb.Bound{Min: orb.Point{math.Max(b.Min[0], visible.Min[0]), math.Max(b.Min[1], visible.Min[1])},
			Max: orb.Point{math.Min(b.Max[0], visible.Max[0]), math.Min(b.Max[1], visible.Max[1])}}
		if a := (b.Max[0] - b.Min[0]) * (b.Max[1] - b.Min[1]); a > bestArea {
			pt, bestArea, ok = b.Center(), a, true
		}
	}
	return pt, ok
}

// SVG renders the map as a standalone <svg> element. Neighbours are clipped
// to the frame; text is escaped.
func (m Map) SVG() string {
	w, h, pad := m.Width, m.Height, m.Padding
	if w <= 0 {
		w = 1000
	}
	if h <= 0 {
		h = 620
	}
	if pad <= 0 {
		pad = 0.12
	}
	b := m.Grid.Bound()
	if m.Marked != nil {
		b = b.Extend(*m.Marked)
	}
	p := newProjection(b, w, h, pad)
	var sb strings.Builder
	fmt.Fprintf(&sb, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %.0f %.0f" class="poster-map" role="img">`, w, h)
	if m.Title != "" {
		fmt.Fprintf(&sb, `<title>%s</title>`, html.EscapeString(m.Title))
	}
	fmt.Fprintf(&sb, `<defs><clipPath id="frame"><rect width="%.0f" height="%.0f"/></clipPath></defs>`, w, h)
	fmt.Fprintf(&sb, `<rect width="%.0f" height="%.0f" fill="#f7f5f0"/><g clip-path="url(#frame)">`, w, h)
	for _, n := range m.Neighbours {
		fmt.Fprintf(&sb, `<path d="%s" fill="#ffffff" stroke="#8a8f99" stroke-width="2" stroke-linejoin="round" class="neighbour"/>`, p.path(n.Geometry))
	}
	sb.WriteString(p.roads(m.Roads))
	fmt.Fprintf(&sb, `<path d="%s" fill="#c8102e" fill-opacity="0.10" stroke="#c8102e" stroke-width="6" stroke-linejoin="round" fill-rule="evenodd" class="grid"/>`, p.path(m.Grid))
	for _, f := range m.Footprints {
		fmt.Fprintf(&sb, `<path d="%s" fill="#d9cbb8" stroke="#8c7a64" stroke-width="1" class="footprint"/>`, p.path(f))
	}
	for _, pt := range m.Buildings {
		x, y := p.xy(pt)
		fmt.Fprintf(&sb, `<circle cx="%.1f" cy="%.1f" r="5" fill="#8c7a64" class="building"/>`, x, y)
	}
	vis := p.visible()
	frame := box{0, 0, w, h}
	// Labels keep off the pin, the buildings and the borders: each is put at the
	// candidate point inside its area farthest from the pin and the border.
	var far, avoid []box
	if m.Marked != nil {
		mx, my := p.xy(*m.Marked)
		far = append(far, box{mx - 28, my - 68, mx + 28, my + 6}) // the pin's drop with its white edge
	}
	for _, pt := range m.Buildings {
		x, y := p.xy(pt)
		avoid = append(avoid, box{x - 7, y - 7, x + 7, y + 7})
	}
	for _, f := range m.Footprints {
		var fb box
		for i, r := range p.rings(f) {
			for j, c := range r {
				if i == 0 && j == 0 {
					fb = box{c[0], c[1], c[0], c[1]}
				}
				fb = box{math.Min(fb.x0, c[0]), math.Min(fb.y0, c[1]), math.Max(fb.x1, c[0]), math.Max(fb.y1, c[1])}
			}
		}
		avoid = append(avoid, fb)
	}
	// The scale bar and the legend (laid over the map's top right corner by the page).
	avoid = append(avoid, box{0, h - 60, w*0.18 + 60, h}, box{w - 230, 0, w, 160})
	type placed struct {
		x, y  float64
		lines []string
		size  float64
		b     box
	}
	place := func(mp orb.MultiPolygon, label string, sizes []float64, margin float64, fallback bool) (placed, bool) {
		rs := p.rings(mp)
		for _, av := range [][]box{avoid, avoid[len(avoid)-2:]} { // then, too crowded, off the pin, the border and the frame's furniture only
			for _, n := range []int{1, 2} {
				for _, size := range sizes {
					ls := splitLabel(label, n)
					mk := func(x, y float64) box { return linesBox(x, y, ls, size) }
					if x, y, ok := placeLabel(rs, frame, mk, margin, av, far); ok {
						return placed{x, y, ls, size, mk(x, y)}, true
					}
				}
			}
		}
		if !fallback {
			return placed{}, false
		}
		x, y := w/2, h/2
		if pt, ok := labelPoint(mp, vis); ok {
			x, y = p.xy(pt)
		}
		ls := []string{label}
		return placed{x, y, ls, sizes[len(sizes)-1], linesBox(x, y, ls, sizes[len(sizes)-1])}, true
	}
	text := func(sb *strings.Builder, l placed, attrs string) {
		fmt.Fprintf(sb, `<text x="%.1f" y="%.1f" font-size="%.0f" %s text-anchor="middle" data-box="%.1f %.1f %.1f %.1f">`, l.x, l.y, l.size, attrs, l.b.x0, l.b.y0, l.b.x1, l.b.y1)
		if len(l.lines) == 1 {
			sb.WriteString(html.EscapeString(l.lines[0]))
		} else {
			for i, line := range l.lines {
				fmt.Fprintf(sb, `<tspan x="%.1f" y="%.1f">%s</tspan>`, l.x, l.y+float64(i)*lineHeight*l.size, html.EscapeString(line))
			}
		}
		sb.WriteString(`</text>`)
	}
	var labels strings.Builder
	if m.GridLabel != "" {
		l, _ := place(m.Grid, m.GridLabel, []float64{34, 30, 26}, 8, true)
		far = append(far, l.b)
		text(&labels, l, `font-weight="700" fill="#c8102e" stroke="#ffffff" stroke-width="6" paint-order="stroke" class="grid-label"`)
	}
	for _, n := range m.Neighbours {
		if n.Label == "" {
			continue
		}
		l, ok := place(n.Geometry, n.Label, []float64{22, 20}, 6, false)
		if !ok {
			continue // no room for it in the frame
		}
		far = append(far, l.b)
		text(&sb, l, `fill="#5b6373" class="neighbour-label"`)
	}
	sb.WriteString(labels.String())
	if m.Marked != nil {
		x, y := p.xy(*m.Marked)
		// A pin: a drop shape whose tip is on the building.
		fmt.Fprintf(&sb, `<g class="marked" transform="translate(%.1f %.1f)"><path d="M0 0 C-8 -16 -22 -24 -22 -40 A22 22 0 1 1 22 -40 C22 -24 8 -16 0 0Z" fill="#c8102e" stroke="#ffffff" stroke-width="3"/><circle cy="-40" r="8" fill="#ffffff"/></g>`, x, y)
	}
	sb.WriteString(`</g>`)
	sb.WriteString(scaleBar(p, w, h))
	sb.WriteString(`</svg>`)
	return sb.String()
}

// scaleBar draws a bar of a round length in metres in the lower left corner.
func scaleBar(p projection, w, h float64) string {
	const metresPerDegree = 111320.0
	unitsPerMetre := p.k / metresPerDegree // projected units are degrees·cos(lat0) along x
	target := w * 0.18 / unitsPerMetre
	length := 1.0
	for _, step := range []float64{1, 2, 5} {
		for e := 1.0; e <= 100000; e *= 10 {
			if step*e <= target {
				length = math.Max(length, step*e)
			}
		}
	}
	px := length * unitsPerMetre
	label := fmt.Sprintf("%.0f m", length)
	if length >= 1000 {
		label = fmt.Sprintf("%.0f km", length/1000)
	}
	x, y := 24.0, h-24
	return fmt.Sprintf(`<g class="scale"><rect x="%.1f" y="%.1f" width="%.1f" height="8" fill="#1d2330"/><text x="%.1f" y="%.1f" font-size="20" fill="#1d2330">%s</text></g>`,
		x, y, px, x, y-8, label)
}
