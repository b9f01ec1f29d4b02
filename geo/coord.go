package geo

import (
	"math"
	"strings"

	"github.com/paulmach/orb"
)

// CRS names a geographic coordinate system. Every CRS here is
// longitude/latitude in degrees; orb.Point is [lon, lat].
type CRS string

// The coordinate systems gridmap converts between. gridmap stores WGS84;
// GCJ02 and BD09 exist only at the edge, for data shown on or taken from
// Chinese web basemaps.
const (
	WGS84 CRS = "wgs84" // EPSG:4326, what gridmap stores (CGCS2000 agrees to a few cm)
	GCJ02 CRS = "gcj02" // GCJ-02 "Mars" offset of WGS84, used by AMap (高德) and Tencent
	BD09  CRS = "bd09"  // BD-09, Baidu's further offset of GCJ-02
)

// ParseCRS parses a coordinate system name, ignoring case and surrounding
// space. "" means WGS84; "epsg:4326", "gcj-02" and "bd-09" are accepted as
// aliases. Any other value is an EInvalid error.
func ParseCRS(s string) (CRS, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "wgs84", "wgs-84", "epsg:4326":
		return WGS84, nil
	case "gcj02", "gcj-02":
		return GCJ02, nil
	case "bd09", "bd-09":
		return BD09, nil
	}
	return "", Errorf(EInvalid, "crs must be one of wgs84, gcj02, bd09, got %q", s)
}

// Parameters of the published GCJ-02 and BD-09 algorithms.
const (
	gcjA  = 6378245.0              // Krasovsky 1940 semi-major axis, metres
	gcjEE = 0.00669342162296594323 // Krasovsky 1940 first eccentricity squared
	bdXPi = math.Pi * 3000.0 / 180.0

	// inverseTolerance is how close, in degrees, the forward transform of an
	// iterative inverse must come to its input.
	inverseTolerance = 1e-9
	inverseMaxIter   = 30
)

// outOfChina reports whether p lies outside the rough bounding box inside
// which the GCJ-02 and BD-09 offsets are applied. NaN counts as outside, so
// the transforms return it unchanged.
func outOfChina(p orb.Point) bool {
	lon, lat := p[0], p[1]
	return !(lon >= 72.004 && lon <= 137.8347 && lat >= 0.8293 && lat <= 55.8271)
}

// gcjDelta returns the GCJ-02 offset (dlon, dlat), in degrees, at WGS84 p.
func gcjDelta(p orb.Point) (dlon, dlat float64) {
	x, y := p[0]-105.0, p[1]-35.0

	dlat = -100.0 + 2.0*x + 3.0*y + 0.2*y*y + 0.1*x*y + 0.2*math.Sqrt(math.Abs(x))
	dlat += (20.0*math.Sin(6.0*x*math.Pi) + 20.0*math.Sin(2.0*x*math.Pi)) * 2.0 / 3.0
	dlat += (20.0*math.Sin(y*math.Pi) + 40.0*math.Sin(y/3.0*math.Pi)) * 2.0 / 3.0
	dlat += (160.0*math.Sin(y/12.0*math.Pi) + 320.0*math.Sin(y*math.Pi/30.0)) * 2.0 / 3.0

	dlon = 300.0 + x + 2.0*y + 0.1*x*x + 0.1*x*y + 0.1*math.Sqrt(math.Abs(x))
	dlon += (20.0*math.Sin(6.0*x*math.Pi) + 20.0*math.Sin(2.0*x*math.Pi)) * 2.0 / 3.0
	dlon += (20.0*math.Sin(x*math.Pi) + 40.0*math.Sin(x/3.0*math.Pi)) * 2.0 / 3.0
	dlon += (150.0*math.Sin(x/12.0*math.Pi) + 300.0*math.Sin(x/30.0*math.Pi)) * 2.0 / 3.0

	radLat := p[1] / 180.0 * math.Pi
	magic := math.Sin(radLat)
	magic = 1 - gcjEE*magic*magic
	sqrtMagic := math.Sqrt(magic)
	dlat = (dlat * 180.0) / ((gcjA * (1 - gcjEE)) / (magic * sqrtMagic) * math.Pi)
	dlon = (dlon * 180.0) / (gcjA / sqrtMagic * math.Cos(radLat) * math.Pi)
	return dlon, dlat
}

// WGS84ToGCJ02 converts a WGS84 (EPSG:4326) point to GCJ-02, both [lon, lat]
// in degrees, with the published GCJ-02 algorithm. Points outside China are
// returned unchanged.
func WGS84ToGCJ02(p orb.Point) orb.Point {
	if outOfChina(p) {
		return p
	}
	dlon, dlat := gcjDelta(p)
	return orb.Point{p[0] + dlon, p[1] + dlat}
}

// GCJ02ToWGS84 converts a GCJ-02 point to WGS84 (EPSG:4326), both [lon, lat]
// in degrees. GCJ-02 has no closed-form inverse: the result is refined until
// WGS84ToGCJ02 of it is within 1e-9° of p (at most 30 iterations), which
// makes it exact to better than 1e-7°. Points outside China are returned
// unchanged.
func GCJ02ToWGS84(p orb.Point) orb.Point {
	if outOfChina(p) {
		return p
	}
	dlon, dlat := gcjDelta(p)
	return invert(p, orb.Point{p[0] - dlon, p[1] - dlat}, WGS84ToGCJ02)
}

// invert finds q with forward(q) ≈ target by fixed-point iteration from
// guess: q -= forward(q) - target, until forward(q) is within
// inverseTolerance of target or inverseMaxIter steps have run. The GCJ-02 and
// BD-09 offsets change slowly (their Jacobians are within about 1e-3 of the
// identity), so each step gains about three decimal digits.
func invert(target, guess orb.Point, forward func(orb.Point) orb.Point) orb.Point {
	q := guess
	for i := 0; i < inverseMaxIter; i++ {
		f := forward(q)
		dx, dy := f[0]-target[0], f[1]-target[1]
		if math.Abs(dx) < inverseTolerance && math.Abs(dy) < inverseTolerance {
			break
		}
		q = orb.Point{q[0] - dx, q[1] - dy}
	}
	return q
}

// GCJ02ToBD09 converts a GCJ-02 point to BD-09 (Baidu), both [lon, lat] in
// degrees, with the published BD-09 algorithm. Points outside China are
// returned unchanged.
func GCJ02ToBD09(p orb.Point) orb.Point {
	if outOfChina(p) {
		return p
	}
	x, y := p[0], p[1]
	z := math.Sqrt(x*x+y*y) + 0.00002*math.Sin(y*bdXPi)
	theta := math.Atan2(y, x) + 0.000003*math.Cos(x*bdXPi)
	return orb.Point{z*math.Cos(theta) + 0.0065, z*math.Sin(theta) + 0.006}
}

// BD09ToGCJ02 converts a BD-09 (Baidu) point to GCJ-02, both [lon, lat] in
// degrees. It starts from the published closed-form approximation (error
// about 1e-6°) and refines it until GCJ02ToBD09 of the result is within
// 1e-9° of p. Points outside China are returned unchanged.
func BD09ToGCJ02(p orb.Point) orb.Point {
	if outOfChina(p) {
		return p
	}
	x, y := p[0]-0.0065, p[1]-0.006
	z := math.Sqrt(x*x+y*y) - 0.00002*math.Sin(y*bdXPi)
	theta := math.Atan2(y, x) - 0.000003*math.Cos(x*bdXPi)
	return invert(p, orb.Point{z * math.Cos(theta), z * math.Sin(theta)}, GCJ02ToBD09)
}

// WGS84ToBD09 converts a WGS84 (EPSG:4326) point to BD-09 (Baidu), both
// [lon, lat] in degrees, through GCJ-02. Points outside China are returned
// unchanged.
func WGS84ToBD09(p orb.Point) orb.Point {
	return GCJ02ToBD09(WGS84ToGCJ02(p))
}

// BD09ToWGS84 converts a BD-09 (Baidu) point to WGS84 (EPSG:4326), both
// [lon, lat] in degrees, through GCJ-02 with the iterative inverses of
// BD09ToGCJ02 and GCJ02ToWGS84. Points outside China are returned unchanged.
func BD09ToWGS84(p orb.Point) orb.Point {
	return GCJ02ToWGS84(BD09ToGCJ02(p))
}

// ToWGS84 converts p, [lon, lat] in degrees in coordinate system from, to
// WGS84 (EPSG:4326). WGS84, and any value that is not one of the CRS
// constants (check with ParseCRS first), return p unchanged.
func ToWGS84(p orb.Point, from CRS) orb.Point {
	switch from {
	case GCJ02:
		return GCJ02ToWGS84(p)
	case BD09:
		return BD09ToWGS84(p)
	}
	return p
}

// FromWGS84 converts p, [lon, lat] in degrees in WGS84 (EPSG:4326), to the
// coordinate system to. WGS84, and any value that is not one of the CRS
// constants (check with ParseCRS first), return p unchanged.
func FromWGS84(p orb.Point, to CRS) orb.Point {
	switch to {
	case GCJ02:
		return WGS84ToGCJ02(p)
	case BD09:
		return WGS84ToBD09(p)
	}
	return p
}
