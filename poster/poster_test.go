package poster

import (
	"image"
	"image/color"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"github.com/paulmach/orb"

	"gridmap/geo"
	"gridmap/tiles"
)

var qrRun = regexp.MustCompile(`M(\d+) (\d+)h(\d+)v1h-\d+z`)
var qrBox = regexp.MustCompile(`viewBox="0 0 (\d+) (\d+)"`)

// rasterise draws the QR SVG's runs of dark modules at scale pixels per module.
func rasterise(t *testing.T, svg string, scale int) image.Image {
	t.Helper()
	m := qrBox.FindStringSubmatch(svg)
	if m == nil {
		t.Fatalf("no viewBox in %.80s", svg)
	}
	n, _ := strconv.Atoi(m[1])
	img := image.NewGray(image.Rect(0, 0, n*scale, n*scale))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for _, r := range qrRun.FindAllStringSubmatch(svg, -1) {
		x, _ := strconv.Atoi(r[1])
		y, _ := strconv.Atoi(r[2])
		w, _ := strconv.Atoi(r[3])
		for py := y * scale; py < (y+1)*scale; py++ {
			for px := x * scale; px < (x+w)*scale; px++ {
				img.Set(px, py, color.Gray{})
			}
		}
	}
	return img
}

func TestQRSVGDecodes(t *testing.T) {
	for _, url := range []string{
		"http://127.0.0.1:8080/b/33019900100100101",
		"https://grid.example.cn/g/330199001001004",
	} {
		t.Run(url, func(t *testing.T) {
			svg, err := QRSVG(url)
			if err != nil {
				t.Fatal(err)
			}
			bmp, err := gozxing.NewBinaryBitmapFromImage(rasterise(t, svg, 4))
			if err != nil {
				t.Fatal(err)
			}
			res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
			if err != nil {
				t.Fatalf("decoding: %v", err)
			}
			if got := res.GetText(); got != url {
				t.Errorf("got %q, want %q", got, url)
			}
		})
	}
}

var circle = regexp.MustCompile(`<circle cx="([-0-9.]+)" cy="([-0-9.]+)"`)
var pin = regexp.MustCompile(`class="marked" transform="translate\(([-0-9.]+) ([-0-9.]+)\)"`)

func TestMapSVG(t *testing.T) {
	square := func(x0, y0, d float64) orb.MultiPolygon {
		return orb.MultiPolygon{{{{x0, y0}, {x0 + d, y0}, {x0 + d, y0 + d}, {x0, y0 + d}, {x0, y0}}}}
	}
	marked := orb.Point{120.1205, 30.2905}
	m := Map{
		Grid:       square(120.12, 30.29, 0.002),
		GridLabel:  `网格<01>`,
		Neighbours: []Outline{{Geometry: square(120.122, 30.29, 0.002), Label: "东边 & 网格"}},
		Buildings:  []orb.Point{{120.1210, 30.2910}},
		Marked:     &marked,
		Width:      1000, Height: 600,
	}
	svg := m.SVG()
	for _, want := range []string{`viewBox="0 0 1000 600"`, `class="grid"`, `class="neighbour"`, `网格&lt;01&gt;`, `东边 &amp; 网格`, `class="scale"`} {
		if !strings.Contains(svg, want) {
			t.Errorf("SVG lacks %s", want)
		}
	}
	// North is up and east is right: the building north-east of the marked one is drawn up and right of it.
	p := pin.FindStringSubmatch(svg)
	c := circle.FindStringSubmatch(svg)
	if p == nil || c == nil {
		t.Fatalf("no marked pin or building dot in the SVG")
	}
	px, _ := strconv.ParseFloat(p[1], 64)
	py, _ := strconv.ParseFloat(p[2], 64)
	cx, _ := strconv.ParseFloat(c[1], 64)
	cy, _ := strconv.ParseFloat(c[2], 64)
	if !(cx > px && cy < py) {
		t.Errorf("building at (%.0f,%.0f) should be up and right of the pin at (%.0f,%.0f)", cx, cy, px, py)
	}
	if px < 0 || px > 1000 || py < 0 || py > 600 {
		t.Errorf("pin at (%.0f,%.0f) is outside the frame", px, py)
	}
	// The grid is square on the ground: drawn with lon scaled by cos(lat), its
	// width and height in the SVG agree to 1%.
	b := newProjection(m.Grid.Bound(), 1000, 600, 0.12)
	x0, y0 := b.xy(orb.Point{120.12, 30.29})
	x1, y1 := b.xy(orb.Point{120.122, 30.292})
	wpx, hpx := x1-x0, y0-y1
	ground := wpx / hpx
	// 0.002° of longitude is cos(30.29°) as long as 0.002° of latitude.
	if want := 0.8635; ground/want < 0.99 || ground/want > 1.01 {
		t.Errorf("aspect of the grid: got %.4f, want %.4f", ground, want)
	}
}

var labelBoxRe = regexp.MustCompile(`class="(grid-label|neighbour-label)" text-anchor="middle" data-box="([-0-9.]+) ([-0-9.]+) ([-0-9.]+) ([-0-9.]+)"`)

// TestMapLabelsClear: the grid's name sits inside the grid, off the pin,
// off the buildings and clear of the border, even when the marked building is
// at the grid's centre where the label used to go; neighbours' names stay in
// their own areas and off the grid's name.
func TestMapLabelsClear(t *testing.T) {
	square := func(x0, y0, dx, dy float64) orb.MultiPolygon {
		return orb.MultiPolygon{{{{x0, y0}, {x0 + dx, y0}, {x0 + dx, y0 + dy}, {x0, y0 + dy}, {x0, y0}}}}
	}
	// An L-shaped grid: the bound's centre is outside it.
	grid := orb.MultiPolygon{{{{120.12, 30.29}, {120.124, 30.29}, {120.124, 30.291}, {120.121, 30.291}, {120.121, 30.293}, {120.12, 30.293}, {120.12, 30.29}}}}
	for _, tc := range []struct {
		name   string
		grid   orb.MultiPolygon
		marked orb.Point
	}{
		{"square, pin at the centre", square(120.12, 30.29, 0.003, 0.002), orb.Point{120.1215, 30.291}},
		{"L-shape, pin in the corner", grid, orb.Point{120.1205, 30.2905}},
		{"narrow and tall: the name on two lines", square(120.12, 30.29, 0.0012, 0.003), orb.Point{120.1206, 30.2915}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mk := tc.marked
			gb := tc.grid.Bound()
			m := Map{
				Grid: tc.grid, GridLabel: "幸福社区第04网格", Marked: &mk, Width: 1000, Height: 642,
				Neighbours: []Outline{
					{Geometry: square(gb.Max[0], gb.Min[1], 0.003, 0.003), Label: "幸福社区第05网格"},
					{Geometry: square(gb.Min[0]-0.003, gb.Min[1], 0.003, 0.003), Label: "幸福社区第03网格"},
				},
				Buildings: []orb.Point{{mk[0] + 0.0003, mk[1] + 0.0002}, {mk[0] - 0.0004, mk[1] + 0.0001}},
			}
			svg := m.SVG()
			pr := newProjection(gb.Extend(mk), 1000, 642, 0.12)
			px, py := pr.xy(mk)
			pinBox := box{px - 22, py - 62, px + 22, py}
			var gridLabel *box
			found := 0
			for _, mm := range labelBoxRe.FindAllStringSubmatch(svg, -1) {
				var v [4]float64
				for i := range v {
					v[i], _ = strconv.ParseFloat(mm[i+2], 64)
				}
				b := box{v[0], v[1], v[2], v[3]}
				if b.overlaps(pinBox) {
					t.Errorf("%s box %v overlaps the pin %v", mm[1], b, pinBox)
				}
				if b.x0 < 0 || b.y0 < 0 || b.x1 > 1000 || b.y1 > 642 {
					t.Errorf("%s box %v leaves the frame", mm[1], b)
				}
				if mm[1] == "grid-label" {
					found++
					gridLabel = &b
					if !pr.rings(tc.grid).boxInside(b, 0) {
						t.Errorf("grid label box %v crosses the grid's border", b)
					}
					for _, bp := range m.Buildings {
						x, y := pr.xy(bp)
						if b.overlaps(box{x - 5, y - 5, x + 5, y + 5}) {
							t.Errorf("grid label box %v covers the building at %.0f,%.0f", b, x, y)
						}
					}
				} else {
					inOne := false
					for _, n := range m.Neighbours {
						inOne = inOne || pr.rings(n.Geometry).boxInside(b, 0)
					}
					if !inOne {
						t.Errorf("neighbour label box %v is not inside a neighbour", b)
					}
					if gridLabel != nil && b.overlaps(*gridLabel) {
						t.Errorf("neighbour label %v overlaps the grid label %v", b, *gridLabel)
					}
				}
			}
			if found != 1 {
				t.Fatalf("%d grid labels, want 1", found)
			}
			if !regexp.MustCompile(`font-size="(34|30|26)" font-weight="700"`).MatchString(svg) {
				t.Errorf("grid label smaller than 26 units")
			}
		})
	}
}

func TestSegHitsBox(t *testing.T) {
	g := box{0, 0, 10, 10}
	for _, c := range []struct {
		a, b [2]float64
		want bool
	}{
		{[2]float64{-5, 5}, [2]float64{15, 5}, true},
		{[2]float64{-5, -5}, [2]float64{-1, 20}, false},
		{[2]float64{2, 2}, [2]float64{3, 3}, true},
		{[2]float64{11, 0}, [2]float64{20, 10}, false},
	} {
		if got := segHitsBox(c.a, c.b, g); got != c.want {
			t.Errorf("segHitsBox(%v,%v) = %v", c.a, c.b, got)
		}
	}
}

// TestMapRoads: the poster's map draws the roads in the tiles' style (one
// casing and one fill path per class, paths under minor under major roads,
// paths dashed), over the neighbours and under the grid, so the grid's
// outline stays on top.
func TestMapRoads(t *testing.T) {
	grid := orb.MultiPolygon{{{{120.12, 30.29}, {120.122, 30.29}, {120.122, 30.292}, {120.12, 30.292}, {120.12, 30.29}}}}
	m := Map{Grid: grid, Width: 1000, Height: 600, Roads: []geo.Road{
		{Name: "幸福路", Class: geo.RoadMajor, Line: orb.LineString{{120.119, 30.291}, {120.123, 30.291}}},
		{Name: "人民街", Class: geo.RoadMinor, Line: orb.LineString{{120.121, 30.289}, {120.121, 30.293}}},
		{Name: "幸福家园步道", Class: geo.RoadPath, Line: orb.LineString{{120.1205, 30.2905}, {120.1215, 30.2905}}},
	}}
	svg := m.SVG()
	at := func(s string) int {
		i := strings.Index(svg, s)
		if i < 0 {
			t.Fatalf("SVG lacks %s", s)
		}
		return i
	}
	for _, c := range []geo.RoadClass{geo.RoadMajor, geo.RoadMinor, geo.RoadPath} {
		colour, _, _ := tiles.RoadLook(c)
		at(`stroke="` + colour + `"`)
		if n := strings.Count(svg, `class="road road-`+string(c)+`"`); n != 1 {
			t.Errorf("%d fill paths of class %s, want 1", n, c)
		}
	}
	if !(at(`class="road road-path"`) < at(`class="road road-minor"`) && at(`class="road road-minor"`) < at(`class="road road-major"`)) {
		t.Errorf("roads drawn out of order: want paths, then minor, then major")
	}
	if at(`class="road road-major"`) > at(`class="grid"`) {
		t.Errorf("roads drawn over the grid: the grid's outline must stay on top")
	}
	if !regexp.MustCompile(`stroke-dasharray="[0-9 ]+" class="road road-path"`).MatchString(svg) {
		t.Errorf("paths are not dashed")
	}
	if strings.Contains(Map{Grid: grid}.SVG(), `class="road`) {
		t.Errorf("a map without roads draws roads")
	}
}
