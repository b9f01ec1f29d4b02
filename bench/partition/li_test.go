package main

import (
	"math"
	"testing"

	"github.com/paulmach/orb"

	"gridmap/geo"
)

// square is a footprint of side metres at 47.15° N (Vaduz), EPSG:4326.
func square(side float64) orb.MultiPolygon {
	dLat := side / 111_320
	dLon := side / (111_320 * math.Cos(47.15*math.Pi/180))
	x, y := 9.52, 47.15
	return orb.MultiPolygon{{{{x, y}, {x + dLon, y}, {x + dLon, y + dLat}, {x, y + dLat}, {x, y}}}}
}

func TestEstimateHouseholds(t *testing.T) {
	for _, tc := range []struct {
		name string
		b    geo.Building
		want int
	}{
		{"20 m × 20 m, 3 floors: 1,200 m² / 90", geo.Building{Footprint: square(20), Floors: 3}, 13},
		{"20 m × 20 m, floors unknown: the default 2", geo.Building{Footprint: square(20)}, 9},
		{"a 6 m × 6 m shed holds none", geo.Building{Footprint: square(6), Floors: 1}, 0},
		{"an address point holds none", geo.Building{Point: orb.Point{9.52, 47.15}}, 0},
	} {
		if got := estimateHouseholds(tc.b); got != tc.want {
			t.Errorf("%s: got %d households, want %d", tc.name, got, tc.want)
		}
	}
}
