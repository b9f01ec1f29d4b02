package geo

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/paulmach/orb"
)

// assertNear fails t when got and want differ by more than tol degrees in
// either coordinate.
func assertNear(t *testing.T, got, want orb.Point, tol float64) {
	t.Helper()
	if math.Abs(got[0]-want[0]) > tol || math.Abs(got[1]-want[1]) > tol {
		t.Errorf("got %v, want %v (±%g°; off by %g, %g)", got, want, tol, got[0]-want[0], got[1]-want[1])
	}
}

func TestParseCRS(t *testing.T) {
	cases := []struct {
		in      string
		want    CRS
		wantErr bool
	}{
		{"", WGS84, false},
		{"wgs84", WGS84, false},
		{"WGS84", WGS84, false},
		{"EPSG:4326", WGS84, false},
		{"epsg:4326", WGS84, false},
		{"gcj02", GCJ02, false},
		{"GCJ-02", GCJ02, false},
		{"bd09", BD09, false},
		{"BD-09", BD09, false},
		{" bd09 ", BD09, false},
		{"epsg:3857", "", true},
		{"baidu", "", true},
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("%q", c.in), func(t *testing.T) {
			got, err := ParseCRS(c.in)
			if (err != nil) != c.wantErr {
				t.Fatalf("got error %v, want error %v", err, c.wantErr)
			}
			if err != nil {
				if code := ErrorCode(err); code != EInvalid {
					t.Errorf("got code %v, want %v", code, EInvalid)
				}
				want := fmt.Sprintf("crs must be one of wgs84, gcj02, bd09, got %q", c.in)
				if msg := ErrorMessage(err); msg != want {
					t.Errorf("got message %q, want %q", msg, want)
				}
			}
			if got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

// gcj02Reference is testdata/gcj02-reference.json: reference values
// published with googollee/eviltransform and wandergis/coordtransform, which
// web/test/gcj02.test.js checks the browser's transform against too.
type gcj02Reference struct {
	Forward      float64 `json:"tolerance_forward_degrees"`
	Inverse      float64 `json:"tolerance_inverse_degrees"`
	WGS84ToGCJ02 []struct {
		Name  string    `json:"name"`
		WGS84 orb.Point `json:"wgs84"`
		GCJ02 orb.Point `json:"gcj02"`
	} `json:"wgs84_to_gcj02"`
	OutsideChina []struct {
		Name  string    `json:"name"`
		Point orb.Point `json:"point"`
	} `json:"outside_china"`
}

func loadGCJ02Reference(t *testing.T) gcj02Reference {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "gcj02-reference.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref gcj02Reference
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatalf("testdata/gcj02-reference.json: %v", err)
	}
	if len(ref.WGS84ToGCJ02) == 0 || len(ref.OutsideChina) == 0 || ref.Forward <= 0 || ref.Inverse <= 0 {
		t.Fatalf("testdata/gcj02-reference.json has no cases or tolerances: %+v", ref)
	}
	return ref
}

func TestWGS84ToGCJ02Reference(t *testing.T) {
	ref := loadGCJ02Reference(t)
	for _, c := range ref.WGS84ToGCJ02 {
		t.Run(c.Name, func(t *testing.T) {
			assertNear(t, WGS84ToGCJ02(c.WGS84), c.GCJ02, ref.Forward)
			// The inverse recovers the published WGS84 input.
			assertNear(t, GCJ02ToWGS84(c.GCJ02), c.WGS84, ref.Inverse)
		})
	}
}

func TestBD09Reference(t *testing.T) {
	t.Run("gcj02 to bd09 coordtransform", func(t *testing.T) {
		// coordtransform: gcj02tobd09(116.404, 39.915)
		assertNear(t, GCJ02ToBD09(orb.Point{116.404, 39.915}), orb.Point{116.41036949371029, 39.92133699351021}, 1e-9)
	})
	t.Run("bd09 to gcj02 coordtransform", func(t *testing.T) {
		// coordtransform: bd09togcj02(116.404, 39.915) is the closed-form
		// approximation; the refined inverse differs from it by about 1e-6°.
		got := BD09ToGCJ02(orb.Point{116.404, 39.915})
		assertNear(t, got, orb.Point{116.39762729119315, 39.90865673957631}, 1e-5)
		assertNear(t, GCJ02ToBD09(got), orb.Point{116.404, 39.915}, 1e-9)
	})
	// A published BD-09 test pair (bd09 [123, 45]) given to 5 decimals, from
	// closed-form approximations; the refined inverses agree to about 1e-6°.
	t.Run("bd09 to gcj02 and wgs84 at 123 45", func(t *testing.T) {
		bd := orb.Point{123, 45}
		gcj := BD09ToGCJ02(bd)
		assertNear(t, gcj, orb.Point{122.99363304, 44.99365430}, 5e-6)
		wgs := BD09ToWGS84(bd)
		assertNear(t, wgs, orb.Point{122.98762210, 44.99171540}, 5e-6)
		assertNear(t, WGS84ToBD09(wgs), bd, 1e-8)
	})
}

func chinaGrid(step float64) []orb.Point {
	var pts []orb.Point
	for lon := 73.5; lon <= 135.0; lon += step {
		for lat := 18.0; lat <= 53.5; lat += step {
			pts = append(pts, orb.Point{lon, lat})
		}
	}
	return pts
}

func TestRoundTripAcrossChina(t *testing.T) {
	const tol = 1e-7
	pts := chinaGrid(0.37)
	cases := []struct {
		name    string
		forward func(orb.Point) orb.Point
		inverse func(orb.Point) orb.Point
	}{
		{"wgs84 gcj02", WGS84ToGCJ02, GCJ02ToWGS84},
		{"gcj02 bd09", GCJ02ToBD09, BD09ToGCJ02},
		{"wgs84 bd09", WGS84ToBD09, BD09ToWGS84},
		{"dispatch gcj02", func(p orb.Point) orb.Point { return FromWGS84(p, GCJ02) }, func(p orb.Point) orb.Point { return ToWGS84(p, GCJ02) }},
		{"dispatch bd09", func(p orb.Point) orb.Point { return FromWGS84(p, BD09) }, func(p orb.Point) orb.Point { return ToWGS84(p, BD09) }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var worst float64
			for _, p := range pts {
				q := c.forward(p)
				if q == p {
					t.Fatalf("forward(%v) left the point unchanged", p)
				}
				back := c.inverse(q)
				worst = math.Max(worst, math.Max(math.Abs(back[0]-p[0]), math.Abs(back[1]-p[1])))
				assertNear(t, back, p, tol)
			}
			t.Logf("%d points, worst round-trip error %.3g°", len(pts), worst)
		})
	}
}

func TestOffsetMagnitude(t *testing.T) {
	// GCJ-02 moves points by tens to hundreds of metres, never by more than
	// about 0.01°; a larger offset means a broken formula.
	for _, p := range chinaGrid(1.1) {
		q := WGS84ToGCJ02(p)
		d := math.Hypot(q[0]-p[0], q[1]-p[1])
		if d == 0 || d > 0.012 {
			t.Errorf("WGS84ToGCJ02(%v) moved by %g°, want (0, 0.012]", p, d)
		}
	}
}

func TestOutsideChinaUnchanged(t *testing.T) {
	type point struct {
		name string
		p    orb.Point
	}
	var cases []point
	for _, c := range loadGCJ02Reference(t).OutsideChina {
		cases = append(cases, point{c.Name, c.Point})
	}
	cases = append(cases, point{"nan", orb.Point{math.NaN(), math.NaN()}})
	funcs := []struct {
		name string
		f    func(orb.Point) orb.Point
	}{
		{"WGS84ToGCJ02", WGS84ToGCJ02}, {"GCJ02ToWGS84", GCJ02ToWGS84},
		{"GCJ02ToBD09", GCJ02ToBD09}, {"BD09ToGCJ02", BD09ToGCJ02},
		{"WGS84ToBD09", WGS84ToBD09}, {"BD09ToWGS84", BD09ToWGS84},
	}
	for _, c := range cases {
		for _, f := range funcs {
			t.Run(c.name+" "+f.name, func(t *testing.T) {
				got := f.f(c.p)
				same := (got[0] == c.p[0] || math.IsNaN(c.p[0]) && math.IsNaN(got[0])) &&
					(got[1] == c.p[1] || math.IsNaN(c.p[1]) && math.IsNaN(got[1]))
				if !same {
					t.Errorf("got %v, want %v", got, c.p)
				}
			})
		}
	}
}

func TestDispatchWGS84Identity(t *testing.T) {
	p := orb.Point{116.404, 39.915}
	for _, crs := range []CRS{WGS84, "", "unknown"} {
		t.Run(string(crs), func(t *testing.T) {
			if got := ToWGS84(p, crs); got != p {
				t.Errorf("ToWGS84: got %v, want %v", got, p)
			}
			if got := FromWGS84(p, crs); got != p {
				t.Errorf("FromWGS84: got %v, want %v", got, p)
			}
		})
	}
}

func ExampleWGS84ToGCJ02() {
	gcj := WGS84ToGCJ02(orb.Point{116.404, 39.915})
	fmt.Printf("%.6f %.6f\n", gcj[0], gcj[1])
	wgs := GCJ02ToWGS84(gcj)
	fmt.Printf("%.6f %.6f\n", wgs[0], wgs[1])
	// Output:
	// 116.410244 39.916404
	// 116.404000 39.915000
}
