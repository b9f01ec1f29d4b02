package tiles

import (
	"math"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

// span is an inclusive range of tile columns and rows at one zoom.
type span struct{ x0, y0, x1, y1 int64 }

func (s span) contains(t maptile.Tile) bool {
	return int64(t.X) >= s.x0 && int64(t.X) <= s.x1 && int64(t.Y) >= s.y0 && int64(t.Y) <= s.y1
}

func (s span) count() int64 { return (s.x1 - s.x0 + 1) * (s.y1 - s.y0 + 1) }

// slack widens every test by a billionth of a tile, so that floating-point
// rounding can only add a tile that touches b, never drop one.
const slack = 1e-9

// tileSpan returns the tiles at zoom z whose bounds, widened on every side by
// buffer (a fraction of the tile's width, e.g. 64.0/4096), intersect the
// EPSG:4326 bound b; touching counts as intersecting, like PostGIS's &&.
// A tile's widened bound is a rectangle in EPSG:3857, and so in EPSG:4326
// too, so this is exactly the tiles whose query
// `geom && ST_Transform(ST_TileEnvelope(z, x, y, margin => buffer), 4326)`
// could match a geometry inside b.
func tileSpan(b orb.Bound, z maptile.Zoom, buffer float64) (span, bool) {
	lo := maptile.Fraction(orb.Point{b.Min[0], b.Max[1]}, z) // north-west: smallest x and y
	hi := maptile.Fraction(orb.Point{b.Max[0], b.Min[1]}, z) // south-east
	// Tile x covers [x-buffer, x+1+buffer]; it meets [lo, hi] when
	// x-buffer <= hi and x+1+buffer >= lo.
	n := int64(1) << z
	s := span{
		x0: int64(math.Ceil(lo[0] - 1 - buffer - slack)),
		y0: int64(math.Ceil(lo[1] - 1 - buffer - slack)),
		x1: int64(math.Floor(hi[0] + buffer + slack)),
		y1: int64(math.Floor(hi[1] + buffer + slack)),
	}
	s.x0, s.y0 = max(s.x0, 0), max(s.y0, 0)
	s.x1, s.y1 = min(s.x1, n-1), min(s.y1, n-1)
	return s, s.x0 <= s.x1 && s.y0 <= s.y1
}

// tileMeets reports whether tile t, widened by buffer, intersects b.
func tileMeets(t maptile.Tile, b orb.Bound, buffer float64) bool {
	s, ok := tileSpan(b, t.Z, buffer)
	return ok && s.contains(t)
}
