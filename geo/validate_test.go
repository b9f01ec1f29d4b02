package geo

import (
	"math"
	"testing"

	"github.com/paulmach/orb"
)

func TestValidateLonLat(t *testing.T) {
	cases := []struct {
		name     string
		lon, lat float64
		wantMsg  string
	}{
		{"beijing", 116.404, 39.915, ""},
		{"origin", 0, 0, ""},
		{"corners inclusive", -180, 90, ""},
		{"other corner", 180, -90, ""},
		{"lat too big", 116.4, 123.4, "lat must be between -90 and 90, got 123.4"},
		{"lat too small", 116.4, -90.5, "lat must be between -90 and 90, got -90.5"},
		{"lon too big", 200, 39.9, "lon must be between -180 and 180, got 200"},
		{"lon too small", -180.000001, 39.9, "lon must be between -180 and 180, got -180.000001"},
		{"swapped lat lon", 39.915, 116.404, "lat must be between -90 and 90, got 116.404"},
		{"lon NaN", math.NaN(), 39.9, "lon must be a finite number"},
		{"lon +Inf", math.Inf(1), 39.9, "lon must be a finite number"},
		{"lat NaN", 116.4, math.NaN(), "lat must be a finite number"},
		{"lat -Inf", 116.4, math.Inf(-1), "lat must be a finite number"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assertError(t, ValidateLonLat(c.lon, c.lat), EInvalid, c.wantMsg)
		})
	}
}

func TestValidateMultiPolygon(t *testing.T) {
	square := orb.Ring{{120, 30}, {120.01, 30}, {120.01, 30.01}, {120, 30.01}, {120, 30}}
	hole := orb.Ring{{120.002, 30.002}, {120.002, 30.008}, {120.008, 30.008}, {120.002, 30.002}}
	cases := []struct {
		name    string
		mp      orb.MultiPolygon
		wantMsg string
	}{
		{"one square", orb.MultiPolygon{{square}}, ""},
		{"square with hole", orb.MultiPolygon{{square, hole}}, ""},
		{"two polygons", orb.MultiPolygon{{square}, {hole}}, ""},
		{"triangle has 4 positions", orb.MultiPolygon{{{{0, 0}, {1, 0}, {0, 1}, {0, 0}}}}, ""},
		{"nil", nil, "multipolygon must have at least one polygon"},
		{"empty", orb.MultiPolygon{}, "multipolygon must have at least one polygon"},
		{"polygon without rings", orb.MultiPolygon{{square}, {}}, "polygon 1 has no outer ring"},
		{"ring of 3", orb.MultiPolygon{{{{0, 0}, {1, 0}, {0, 0}}}}, "polygon 0 ring 0 has 3 positions, need at least 4"},
		{"empty hole", orb.MultiPolygon{{square, {}}}, "polygon 0 ring 1 has 0 positions, need at least 4"},
		{"not closed", orb.MultiPolygon{{square}, {{{1, 2}, {5, 2}, {5, 6}, {3, 4}}}},
			"polygon 1 ring 0 is not closed: first point (1 2) differs from last (3 4)"},
		{"hole not closed", orb.MultiPolygon{{square, {{120.002, 30.002}, {120.002, 30.008}, {120.008, 30.008}, {120.003, 30.002}}}},
			"polygon 0 ring 1 is not closed: first point (120.002 30.002) differs from last (120.003 30.002)"},
		{"lat out of range", orb.MultiPolygon{{{{0, 0}, {1, 0}, {1, 91}, {0, 0}}}},
			"polygon 0 ring 0 position 2: lat must be between -90 and 90, got 91"},
		{"lon out of range", orb.MultiPolygon{{square}, {{{0, 0}, {181, 0}, {1, 1}, {0, 0}}}},
			"polygon 1 ring 0 position 1: lon must be between -180 and 180, got 181"},
		{"NaN first point", orb.MultiPolygon{{{{math.NaN(), 0}, {1, 0}, {1, 1}, {math.NaN(), 0}}}},
			"polygon 0 ring 0 position 0: lon must be a finite number"},
		{"swapped coordinates", orb.MultiPolygon{{{{30, 120}, {30, 120.01}, {30.01, 120.01}, {30, 120}}}},
			"polygon 0 ring 0 position 0: lat must be between -90 and 90, got 120"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assertError(t, ValidateMultiPolygon(c.mp), EInvalid, c.wantMsg)
		})
	}
}
