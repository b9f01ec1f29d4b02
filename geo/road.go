package geo

import (
	"context"

	"github.com/paulmach/orb"
)

// RoadReader reads the roads of a place, for maps drawn without the vector
// tiles (the notice-board poster).
type RoadReader interface {
	// RoadsIn returns the roads whose bounding box meets b (EPSG:4326).
	RoadsIn(ctx context.Context, b orb.Bound) ([]Road, error)
}

// RoadClass is what the map and the partition need to know of a road.
type RoadClass string

// The road classes (migrations/009_roads.sql checks the same three).
const (
	RoadMajor RoadClass = "major" // motorway, trunk, primary, secondary, tertiary and their _link ramps
	RoadMinor RoadClass = "minor" // residential, unclassified, living_street, service
	RoadPath  RoadClass = "path"  // footway, path, cycleway, pedestrian, steps, track
)

// Limits of a road's text, as the road table checks them.
const (
	MaxRoadName   = 200 // characters
	MaxRoadSource = 200
	MaxRoadRef    = 100
)

// Road is one road line: a street residents and staff orient by and a line
// the partition prefers as a grid border. Roads are not versioned: an import
// replaces the roads of its Source.
type Road struct {
	Name   string         // "" when unnamed
	Class  RoadClass      // RoadMajor, RoadMinor or RoadPath
	Line   orb.LineString // EPSG:4326, at least two distinct positions
	Source string         // what a re-import replaces, e.g. "osm:liechtenstein.osm.pbf" or "demo"
	Ref    string         // the source's own id, e.g. "way/123"; "" if none
}

// highwayClasses maps OpenStreetMap highway=* values to road classes; the one
// place this rule lives (the PBF and GeoJSON readers both use it).
var highwayClasses = map[string]RoadClass{
	"motorway": RoadMajor, "trunk": RoadMajor, "primary": RoadMajor, "secondary": RoadMajor, "tertiary": RoadMajor,
	"motorway_link": RoadMajor, "trunk_link": RoadMajor, "primary_link": RoadMajor, "secondary_link": RoadMajor, "tertiary_link": RoadMajor,
	"residential": RoadMinor, "unclassified": RoadMinor, "living_street": RoadMinor, "service": RoadMinor,
	"footway": RoadPath, "path": RoadPath, "cycleway": RoadPath, "pedestrian": RoadPath, "steps": RoadPath, "track": RoadPath,
}

// HighwayClass returns the class of an OpenStreetMap highway=* value, and
// false for values that are not roads gridmap draws (construction, proposed,
// bridleway, platform, …).
func HighwayClass(highway string) (RoadClass, bool) {
	c, ok := highwayClasses[highway]
	return c, ok
}

// ParseRoadClass accepts "major", "minor" or "path".
func ParseRoadClass(s string) (RoadClass, bool) {
	switch c := RoadClass(s); c {
	case RoadMajor, RoadMinor, RoadPath:
		return c, true
	}
	return "", false
}

// RoadImportReport says what a roads import did.
type RoadImportReport struct {
	ChangeID int64             `json:"change_id"`
	Source   string            `json:"source"`
	Replaced int               `json:"replaced"` // roads of Source there were before
	Imported int               `json:"imported"`
	ByClass  map[RoadClass]int `json:"by_class"`
}
