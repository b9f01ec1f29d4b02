package geo

import (
	"math"

	"github.com/paulmach/orb"
)

// ValidateLonLat checks a longitude and latitude in degrees (EPSG:4326):
// both finite, lon in [-180, 180] and lat in [-90, 90]. Errors are EInvalid
// with messages such as "lat must be between -90 and 90, got 123.4".
func ValidateLonLat(lon, lat float64) error {
	if math.IsNaN(lon) || math.IsInf(lon, 0) {
		return Errorf(EInvalid, "lon must be a finite number")
	}
	if math.IsNaN(lat) || math.IsInf(lat, 0) {
		return Errorf(EInvalid, "lat must be a finite number")
	}
	if lon < -180 || lon > 180 {
		return Errorf(EInvalid, "lon must be between -180 and 180, got %v", lon)
	}
	if lat < -90 || lat > 90 {
		return Errorf(EInvalid, "lat must be between -90 and 90, got %v", lat)
	}
	return nil
}

// ValidateMultiPolygon checks the structure of an EPSG:4326 multipolygon
// before it is stored: at least one polygon; every polygon has an outer ring
// (ring 0); every ring has at least 4 positions, valid coordinates
// (ValidateLonLat) and is closed (first position equals last). Polygons,
// rings and positions are numbered from 0 in messages, e.g. "polygon 1 ring
// 0 is not closed: first point (1 2) differs from last (3 4)". It does not
// check self-intersection, ring orientation or holes lying inside their
// outer ring; PostGIS repairs or rejects those. Errors are EInvalid.
func ValidateMultiPolygon(mp orb.MultiPolygon) error {
	if len(mp) == 0 {
		return Errorf(EInvalid, "multipolygon must have at least one polygon")
	}
	for i, poly := range mp {
		if len(poly) == 0 {
			return Errorf(EInvalid, "polygon %d has no outer ring", i)
		}
		for j, ring := range poly {
			if len(ring) < 4 {
				return Errorf(EInvalid, "polygon %d ring %d has %d positions, need at least 4", i, j, len(ring))
			}
			for k, p := range ring {
				if err := ValidateLonLat(p[0], p[1]); err != nil {
					return Errorf(EInvalid, "polygon %d ring %d position %d: %s", i, j, k, ErrorMessage(err))
				}
			}
			first, last := ring[0], ring[len(ring)-1]
			if first != last {
				return Errorf(EInvalid, "polygon %d ring %d is not closed: first point (%v %v) differs from last (%v %v)",
					i, j, first[0], first[1], last[0], last[1])
			}
		}
	}
	return nil
}
