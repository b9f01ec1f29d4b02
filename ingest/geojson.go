package ingest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/paulmach/orb"

	"gridmap/geo"
)

// This file decodes GeoJSON (RFC 7946) by hand where orb/geojson is lenient:
// orb/geojson accepts unclosed and short rings, strings for numbers and
// positions with one coordinate. Numbers are kept as json.Number.

var utf8BOM = []byte{0xEF, 0xBB, 0xBF}

// geoFeature is one decoded member of a FeatureCollection, before its
// geometry is interpreted.
type geoFeature struct {
	index    int
	ref      string // e.g. `feature 12 (name "Vaduz", id "LI-11")`
	id       string // feature id as text, "" when none
	props    map[string]any
	geomType string          // "" when the geometry is missing or null
	coords   json.RawMessage // the geometry's coordinates member
	problem  string          // why the feature as a whole cannot be read
}

// decodeFeatureCollection checks that data (the whole file, what names it in
// messages, e.g. "areas file") is UTF-8 JSON holding a FeatureCollection and
// returns its features, still encoded.
func decodeFeatureCollection(data []byte, what string) ([]json.RawMessage, error) {
	if !utf8.Valid(data) {
		return nil, geo.Errorf(geo.EInvalid, "%s is not valid UTF-8: first bad byte at offset %d", what, invalidUTF8Offset(data))
	}
	bom := 0
	if bytes.HasPrefix(data, utf8BOM) { // RFC 7946 §11 allows ignoring it
		data, bom = data[len(utf8BOM):], len(utf8BOM)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, geo.Errorf(geo.EInvalid, "%s is empty; want a GeoJSON FeatureCollection", what)
	}
	var top map[string]json.RawMessage
	if err := json.Unmarshal(data, &top); err != nil {
		var syn *json.SyntaxError
		if errors.As(err, &syn) {
			// syn.Offset counts the bytes read, the offending one included.
			pos := int(syn.Offset)
			if pos >= len(data) && truncatedJSON(data) {
				line, col := lineCol(data, len(data))
				return nil, geo.Errorf(geo.EInvalid, "%s is not valid JSON: it ends before the JSON value is complete, at byte offset %d (line %d, column %d)", what, len(data)+bom, line, col)
			}
			pos = max(0, min(pos-1, len(data)-1))
			line, col := lineCol(data, pos)
			return nil, geo.Errorf(geo.EInvalid, "%s is not valid JSON: %s at byte offset %d (line %d, column %d)", what, syn.Error(), pos+bom, line, col)
		}
		var typ *json.UnmarshalTypeError
		if errors.As(err, &typ) {
			return nil, geo.Errorf(geo.EInvalid, "%s is not a GeoJSON FeatureCollection: the top-level value is %s, want an object", what, jsonKind(typ.Value))
		}
		return nil, geo.Errorf(geo.EInvalid, "%s is not valid JSON: %v", what, err)
	}
	if top == nil { // the file is `null`
		return nil, geo.Errorf(geo.EInvalid, "%s is not a GeoJSON FeatureCollection: the top-level value is null, want an object", what)
	}
	var typ string
	if err := json.Unmarshal(top["type"], &typ); err != nil || typ != "FeatureCollection" {
		switch {
		case top["type"] == nil:
			return nil, geo.Errorf(geo.EInvalid, "%s is not a GeoJSON FeatureCollection: it has no \"type\" member", what)
		case err != nil:
			return nil, geo.Errorf(geo.EInvalid, "%s is not a GeoJSON FeatureCollection: \"type\" is %s, want \"FeatureCollection\"", what, rawKind(top["type"]))
		default:
			return nil, geo.Errorf(geo.EInvalid, "%s is not a GeoJSON FeatureCollection: its type is %q; wrap features in {\"type\":\"FeatureCollection\",\"features\":[…]}", what, typ)
		}
	}
	raw, ok := top["features"]
	if !ok {
		return nil, geo.Errorf(geo.EInvalid, "%s is a FeatureCollection without a \"features\" member", what)
	}
	var features []json.RawMessage
	if err := json.Unmarshal(raw, &features); err != nil || features == nil && !bytes.Equal(bytes.TrimSpace(raw), []byte("[]")) {
		return nil, geo.Errorf(geo.EInvalid, "%s: \"features\" is %s, want an array", what, rawKind(raw))
	}
	return features, nil
}

// truncatedJSON reports whether data is the beginning of a JSON value cut
// short.
func truncatedJSON(data []byte) bool {
	var v any
	return errors.Is(json.NewDecoder(bytes.NewReader(data)).Decode(&v), io.ErrUnexpectedEOF)
}

// decodeFeature decodes one member of "features". It never fails: what cannot
// be read goes into problem.
func decodeFeature(index int, raw json.RawMessage) geoFeature {
	f := geoFeature{index: index, props: map[string]any{}}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(raw, &obj); err != nil || obj == nil {
		f.ref = fmt.Sprintf("feature %d", index)
		f.problem = fmt.Sprintf("is %s, want a Feature object", rawKind(raw))
		return f
	}
	if p, ok := obj["properties"]; ok && !isNull(p) {
		props, ok := decodeAny(p).(map[string]any)
		if !ok {
			f.problem = fmt.Sprintf("\"properties\" is %s, want an object or null", rawKind(p))
		} else {
			f.props = props
		}
	}
	f.id = featureID(obj["id"], f.props)
	f.ref = featureRef(index, PropString(f.props, "name"), obj["id"], f.id)
	if f.problem != "" {
		return f
	}
	var typ string
	if err := json.Unmarshal(obj["type"], &typ); err != nil || typ != "Feature" {
		if obj["type"] == nil {
			f.problem = "has no \"type\" member; want \"type\": \"Feature\""
		} else {
			f.problem = fmt.Sprintf("has type %s, want \"Feature\"", string(bytes.TrimSpace(obj["type"])))
		}
		return f
	}
	g, ok := obj["geometry"]
	if !ok || isNull(g) {
		f.problem = "has no geometry"
		return f
	}
	var geom map[string]json.RawMessage
	if err := json.Unmarshal(g, &geom); err != nil || geom == nil {
		f.problem = fmt.Sprintf("geometry is %s, want an object", rawKind(g))
		return f
	}
	if err := json.Unmarshal(geom["type"], &f.geomType); err != nil || f.geomType == "" {
		f.geomType = ""
		f.problem = "geometry has no \"type\""
		return f
	}
	if f.geomType == "GeometryCollection" {
		return f // the caller rejects it by type
	}
	c, ok := geom["coordinates"]
	if !ok || isNull(c) {
		f.problem = fmt.Sprintf("%s geometry has no coordinates", f.geomType)
		return f
	}
	f.coords = c
	return f
}

// featureID is the feature's "id" member, or else its "id" property (tile
// servers such as Nextzen put the OSM id there), as text.
func featureID(raw json.RawMessage, props map[string]any) string {
	if raw != nil {
		switch v := decodeAny(raw).(type) {
		case string:
			return v
		case json.Number:
			return numberString(string(v))
		}
	}
	return PropString(props, "id")
}

// featureRef says how a person finds a feature in its file:
// `feature 12 (name "Vaduz", id "LI-11")`; a numeric id is not quoted.
func featureRef(index int, name string, rawID json.RawMessage, id string) string {
	var parts []string
	if name != "" {
		parts = append(parts, "name "+strconv.Quote(name))
	}
	if id != "" {
		if s, ok := decodeAny(rawID).(string); ok && s == id {
			parts = append(parts, "id "+strconv.Quote(id))
		} else if isDigits(id) {
			parts = append(parts, "id "+id)
		} else {
			parts = append(parts, "id "+strconv.Quote(id))
		}
	}
	if len(parts) == 0 {
		return fmt.Sprintf("feature %d", index)
	}
	return fmt.Sprintf("feature %d (%s)", index, strings.Join(parts, ", "))
}

// parseMultiPolygon reads the coordinates of a Polygon or MultiPolygon
// geometry and checks every ring: at least 4 positions, closed, coordinates
// finite and in range. A Polygon is returned as a one-polygon MultiPolygon.
func parseMultiPolygon(geomType string, coords json.RawMessage) (orb.MultiPolygon, string) {
	v := decodeAny(coords)
	switch geomType {
	case "Polygon":
		p, problem := parsePolygon(v, "")
		if problem != "" {
			return nil, problem
		}
		return orb.MultiPolygon{p}, ""
	case "MultiPolygon":
		polys, ok := v.([]any)
		if !ok {
			return nil, fmt.Sprintf("MultiPolygon coordinates are %s, want an array of polygons", anyKind(v))
		}
		if len(polys) == 0 {
			return nil, "MultiPolygon has no polygons"
		}
		mp := make(orb.MultiPolygon, 0, len(polys))
		for i, pv := range polys {
			p, problem := parsePolygon(pv, fmt.Sprintf("polygon %d, ", i+1))
			if problem != "" {
				return nil, problem
			}
			mp = append(mp, p)
		}
		return mp, ""
	}
	return nil, fmt.Sprintf("geometry type %q is not an area; want Polygon or MultiPolygon", geomType)
}

// parsePolygon reads one polygon's rings; where prefixes messages, e.g.
// "polygon 2, ".
func parsePolygon(v any, where string) (orb.Polygon, string) {
	rings, ok := v.([]any)
	if !ok {
		return nil, fmt.Sprintf("%spolygon coordinates are %s, want an array of rings", where, anyKind(v))
	}
	if len(rings) == 0 {
		return nil, where + "polygon has no rings"
	}
	poly := make(orb.Polygon, 0, len(rings))
	for i, rv := range rings {
		at := fmt.Sprintf("%sring %d", where, i+1)
		pts, problem := parsePositions(rv, at)
		if problem != "" {
			return nil, problem
		}
		ring := orb.Ring(pts)
		if problem := checkRing(ring); problem != "" {
			return nil, at + " " + problem
		}
		poly = append(poly, ring)
	}
	return poly, ""
}

// parsePositions reads an array of positions (a ring, a line); at names it
// in messages, e.g. "ring 2", "line 3".
func parsePositions(v any, at string) ([]orb.Point, string) {
	positions, ok := v.([]any)
	if !ok {
		return nil, fmt.Sprintf("%s is %s, want an array of positions", at, anyKind(v))
	}
	pts := make([]orb.Point, 0, len(positions))
	for j, pv := range positions {
		p, problem := parsePosition(pv)
		if problem != "" {
			return nil, fmt.Sprintf("%s, position %d: %s", at, j+1, problem)
		}
		pts = append(pts, p)
	}
	return pts, ""
}

// checkRing returns why ring cannot be a polygon ring, or "".
func checkRing(ring orb.Ring) string {
	if len(ring) < 4 {
		return fmt.Sprintf("has %d positions; a closed ring needs at least 4", len(ring))
	}
	if first, last := ring[0], ring[len(ring)-1]; first != last {
		return fmt.Sprintf("is not closed: it starts at %s and ends at %s", formatPoint(first), formatPoint(last))
	}
	return ""
}

// parsePosition reads [lon, lat] (an altitude or more may follow and is
// ignored, but must be a number).
func parsePosition(v any) (orb.Point, string) {
	arr, ok := v.([]any)
	if !ok {
		return orb.Point{}, fmt.Sprintf("is %s, want [lon, lat]", anyKind(v))
	}
	if len(arr) < 2 {
		return orb.Point{}, fmt.Sprintf("has %d coordinates, want [lon, lat]", len(arr))
	}
	var xy [2]float64
	for k, cv := range arr {
		name := [...]string{"lon", "lat"}[min(k, 1)]
		if k > 1 {
			name = "altitude"
		}
		n, ok := cv.(json.Number)
		if !ok {
			return orb.Point{}, fmt.Sprintf("%s is %s, want a number", name, anyKind(cv))
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return orb.Point{}, fmt.Sprintf("%s %s is not a finite number", name, string(n))
		}
		if k < 2 {
			xy[k] = f
		}
	}
	p := orb.Point{xy[0], xy[1]}
	if problem := checkLonLat(p); problem != "" {
		return orb.Point{}, problem
	}
	return p, ""
}

// checkLonLat returns why p is not an EPSG:4326 position, or "".
func checkLonLat(p orb.Point) string {
	switch {
	case math.IsNaN(p[0]) || math.IsInf(p[0], 0):
		return "lon is not a finite number"
	case math.IsNaN(p[1]) || math.IsInf(p[1], 0):
		return "lat is not a finite number"
	case p[0] < -180 || p[0] > 180:
		return fmt.Sprintf("lon must be between -180 and 180, got %s", floatString(p[0]))
	case p[1] < -90 || p[1] > 90:
		return fmt.Sprintf("lat must be between -90 and 90, got %s", floatString(p[1]))
	}
	return ""
}

func formatPoint(p orb.Point) string {
	return "[" + floatString(p[0]) + ", " + floatString(p[1]) + "]"
}

// decodeAny decodes raw with numbers as json.Number; nil on any error.
func decodeAny(raw json.RawMessage) any {
	if raw == nil {
		return nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil
	}
	return v
}

func isNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// rawKind names the JSON kind of raw for messages: "a string", "null", ….
func rawKind(raw json.RawMessage) string {
	if raw == nil {
		return "missing"
	}
	if isNull(raw) {
		return "null"
	}
	return anyKind(decodeAny(raw))
}

func anyKind(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// jsonKind turns a json.UnmarshalTypeError Value ("array", "number", …) into
// words.
func jsonKind(value string) string {
	switch value {
	case "array", "object":
		return "an " + value
	case "":
		return "something else"
	}
	return "a " + value
}

func invalidUTF8Offset(b []byte) int {
	for i := 0; i < len(b); {
		r, size := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && size == 1 {
			return i
		}
		i += size
	}
	return len(b)
}

// lineCol converts a 0-based byte offset to a 1-based line and column (in
// bytes).
func lineCol(b []byte, offset int) (line, col int) {
	offset = max(0, min(offset, len(b)))
	before := b[:offset]
	line = bytes.Count(before, []byte{'\n'}) + 1
	col = offset - (bytes.LastIndexByte(before, '\n') + 1) + 1
	return line, col
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			if i == 0 && s[i] == '-' && len(s) > 1 {
				continue
			}
			return false
		}
	}
	return true
}
