package api

import (
	"math"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/paulmach/orb"

	"gridmap/calendar"
	"gridmap/geo"
)

// lookupParams is a parsed GET /api/v1/lookup query.
type lookupParams struct {
	Point     *orb.Point // EPSG:4326 after conversion from CRS; nil for address lookups
	Address   string
	CRS       geo.CRS
	At        *time.Time
	Hierarchy string
	Limit     int
}

// maxAddressRunes bounds address queries; real addresses are far shorter.
const maxAddressRunes = 200

// parseLookupParams reads lon+lat or address, and crs, at, hierarchy, limit.
// Every problem is a geo EInvalid error a person can act on.
func parseLookupParams(q url.Values) (lookupParams, error) {
	var p lookupParams
	for k, vs := range q {
		for _, v := range vs {
			if !utf8.ValidString(k) || !utf8.ValidString(v) {
				return p, geo.Errorf(geo.EInvalid, "query parameters must be valid UTF-8")
			}
		}
	}
	crs, err := geo.ParseCRS(q.Get("crs"))
	if err != nil {
		return p, err
	}
	p.CRS = crs
	if s := q.Get("at"); s != "" {
		at, err := parseDate(s)
		if err != nil {
			return p, err
		}
		p.At = &at
	}
	p.Hierarchy = q.Get("hierarchy")
	if p.Hierarchy != "" && !validKey(p.Hierarchy) {
		return p, geo.Errorf(geo.EInvalid, "hierarchy must be lower-case letters, digits and _, got %q", p.Hierarchy)
	}
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 50 {
			return p, geo.Errorf(geo.EInvalid, "limit must be a whole number from 1 to 50, got %q", s)
		}
		p.Limit = n
	}
	addr := strings.TrimSpace(q.Get("address"))
	_, hasLon := q["lon"]
	_, hasLat := q["lat"]
	switch {
	case addr != "" && (hasLon || hasLat):
		return p, geo.Errorf(geo.EInvalid, "give either address or lon and lat, not both")
	case addr != "":
		if n := utf8.RuneCountInString(addr); n > maxAddressRunes {
			return p, geo.Errorf(geo.EInvalid, "address must be at most %d characters, got %d", maxAddressRunes, n)
		}
		p.Address = addr
		return p, nil
	case !hasLon && !hasLat:
		return p, geo.Errorf(geo.EInvalid, "give lon and lat (degrees), or address")
	}
	lon, err := parseCoord("lon", q.Get("lon"))
	if err != nil {
		return p, err
	}
	lat, err := parseCoord("lat", q.Get("lat"))
	if err != nil {
		return p, err
	}
	if err := geo.ValidateLonLat(lon, lat); err != nil {
		return p, err
	}
	pt := geo.ToWGS84(orb.Point{lon, lat}, p.CRS)
	p.Point = &pt
	return p, nil
}

// parseLonLat reads a required point (degrees, in crs, default WGS84) and returns it in EPSG:4326.
func parseLonLat(lonS, latS, crsS string) (orb.Point, error) {
	crs, err := geo.ParseCRS(crsS)
	if err != nil {
		return orb.Point{}, err
	}
	lon, err := parseCoord("lon", lonS)
	if err != nil {
		return orb.Point{}, err
	}
	lat, err := parseCoord("lat", latS)
	if err != nil {
		return orb.Point{}, err
	}
	if err := geo.ValidateLonLat(lon, lat); err != nil {
		return orb.Point{}, err
	}
	return geo.ToWGS84(orb.Point{lon, lat}, crs), nil
}

func parseCoord(name, s string) (float64, error) {
	if s == "" {
		return 0, geo.Errorf(geo.EInvalid, "%s is missing", name)
	}
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, geo.Errorf(geo.EInvalid, "%s must be a number in degrees, got %q", name, s)
	}
	return v, nil
}

// parseDate reads YYYY-MM-DD as the end of that day in China Standard Time:
// "as of 2025-03-01" is the state in force at the close of that day.
func parseDate(s string) (time.Time, error) {
	d, err := time.ParseInLocation("2006-01-02", s, calendar.Shanghai())
	if err != nil {
		return time.Time{}, geo.Errorf(geo.EInvalid, "at must be a date YYYY-MM-DD, got %q", s)
	}
	return d.Add(24*time.Hour - time.Microsecond), nil
}

func validKey(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i, c := range s {
		if !(c >= 'a' && c <= 'z' || c == '_' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

// parseBBox reads "minLon,minLat,maxLon,maxLat" in degrees.
func parseBBox(s string) (*orb.Bound, error) {
	if s == "" {
		return nil, nil
	}
	parts := strings.Split(s, ",")
	if len(parts) != 4 {
		return nil, geo.Errorf(geo.EInvalid, "bbox must be minLon,minLat,maxLon,maxLat, got %q", s)
	}
	var v [4]float64
	names := [4]string{"bbox minLon", "bbox minLat", "bbox maxLon", "bbox maxLat"}
	for i, part := range parts {
		f, err := parseCoord(names[i], part)
		if err != nil {
			return nil, err
		}
		v[i] = f
	}
	if err := geo.ValidateLonLat(v[0], v[1]); err != nil {
		return nil, err
	}
	if err := geo.ValidateLonLat(v[2], v[3]); err != nil {
		return nil, err
	}
	if v[0] > v[2] || v[1] > v[3] {
		return nil, geo.Errorf(geo.EInvalid, "bbox minimum must not exceed maximum, got %q", s)
	}
	return &orb.Bound{Min: orb.Point{v[0], v[1]}, Max: orb.Point{v[2], v[3]}}, nil
}

// parseID reads a positive whole-number query parameter; "" is 0.
func parseID(name, s string) (int64, error) {
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n < 1 {
		return 0, geo.Errorf(geo.EInvalid, "%s must be a positive whole number, got %q", name, s)
	}
	return n, nil
}
