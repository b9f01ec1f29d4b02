package ingest

import (
	"io"

	"github.com/paulmach/orb"

	"gridmap/geo"
)

// AreaFeature is one feature of an areas GeoJSON file.
type AreaFeature struct {
	Index int    // 0-based position in the file
	Ref   string // how a person finds it, e.g. `feature 12 (name "Vaduz", id "LI-11")`
	// Props are the feature's properties, never nil; JSON numbers are
	// json.Number, read them with PropString.
	Props map[string]any
	// Geometry is the area in EPSG:4326; a Polygon is promoted to a
	// MultiPolygon. Every ring is closed and has at least 4 positions; rings
	// may still self-intersect (the database repairs that). nil when Problem
	// is set.
	Geometry orb.MultiPolygon
	// Problem says why the feature cannot be imported (missing geometry, a
	// geometry other than Polygon or MultiPolygon, a ring that is not closed or
	// has fewer than 4 positions, a coordinate that is not a finite number or
	// out of range); "" when it can.
	Problem string
}

// ReadAreaFeatures reads a GeoJSON FeatureCollection (RFC 7946) of areas from
// r, reading at most maxBytes bytes (maxBytes <= 0: no limit).
//
// Problems with the whole file return a *geo.Error: geo.ETooLarge when r holds
// more than maxBytes bytes; geo.EInvalid when it is not UTF-8, not JSON (the
// message gives the byte offset) or not a FeatureCollection. Problems with
// one feature do not fail the call: every feature is returned, in file order,
// and one that cannot be imported has its Problem set.
func ReadAreaFeatures(r io.Reader, maxBytes int64) ([]AreaFeature, error) {
	data, err := readAllLimited(r, maxBytes, "areas file")
	if err != nil {
		return nil, err
	}
	raws, err := decodeFeatureCollection(data, "areas file")
	if err != nil {
		return nil, err
	}
	out := make([]AreaFeature, 0, len(raws))
	for i, raw := range raws {
		f := decodeFeature(i, raw)
		af := AreaFeature{Index: i, Ref: f.ref, Props: f.props, Problem: f.problem}
		if af.Problem == "" {
			af.Geometry, af.Problem = parseMultiPolygon(f.geomType, f.coords)
		}
		if af.Problem != "" {
			af.Geometry = nil
		}
		out = append(out, af)
	}
	return out, nil
}

// readAllLimited reads r to the end, failing with geo.ETooLarge beyond
// maxBytes (when > 0).
func readAllLimited(r io.Reader, maxBytes int64, what string) ([]byte, error) {
	if maxBytes <= 0 {
		data, err := io.ReadAll(r)
		if err != nil {
			return nil, &geo.Error{Code: geo.EInvalid, Message: "cannot read " + what, Err: err}
		}
		return data, nil
	}
	data, err := io.ReadAll(io.LimitReader(r, maxBytes+1))
	if err != nil {
		return nil, &geo.Error{Code: geo.EInvalid, Message: "cannot read " + what, Err: err}
	}
	if int64(len(data)) > maxBytes {
		return nil, geo.Errorf(geo.ETooLarge, "%s is larger than the limit of %d bytes", what, maxBytes)
	}
	return data, nil
}
