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
