// Package tiles serves Mapbox vector tiles (MVT) of the responsibility areas,
// their labels and the buildings, through an in-process cache that every
// committed change invalidates at once, in every gridmap process.
//
// Tiles are addressed z/x/y in the web mercator (EPSG:3857) XYZ scheme that
// ST_TileEnvelope uses; bounds are EPSG:4326 longitude/latitude degrees. The
// package itself knows no database: a Source builds tiles (tiles/postgis on
// PostGIS), and api reaches the tiles through the Service interface.
package tiles

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"gridmap/calendar"
	"gridmap/geo"
)

// Layer names, as they appear in URLs and in the tiles.
const (
	LayerAreas     = "areas"
	LayerBuildings = "buildings"
	LayerLabels    = "labels"
	LayerRoads     = "roads"
)

// LayerSet is a set of layers; a tile holds the layers of its set, in the
// canonical order areas, buildings, labels, roads.
type LayerSet uint8

// The layers as sets.
const (
	Areas LayerSet = 1 << iota
	Buildings
	Labels
	Roads

	AllLayers = Areas | Buildings | Labels | Roads
)

var layerNames = []struct {
	name string
	set  LayerSet
}{{LayerAreas, Areas}, {LayerBuildings, Buildings}, {LayerLabels, Labels}, {LayerRoads, Roads}}

// ParseLayers parses a comma-separated list of layer names such as
// "areas,buildings". Each layer may be named once.
func ParseLayers(s string) (LayerSet, error) {
	var set LayerSet
	// strings.Cut, not strings.Split: every tile request parses its layers.
	for rest, more := s, true; more; {
		var name string
		name, rest, more = strings.Cut(rest, ",")
		l, ok := layerByName(name)
		if !ok {
			return 0, geo.Errorf(geo.EInvalid, "unknown layer %q: the layers are areas, buildings, labels and roads, alone or comma-separated", name)
		}
		if set&l != 0 {
			return 0, geo.Errorf(geo.EInvalid, "layer %q is listed twice", name)
		}
		set |= l
	}
	return set, nil
}

func layerByName(name string) (LayerSet, bool) {
	for _, l := range layerNames {
		if l.name == name {
			return l.set, true
		}
	}
	return 0, false
}

// Names lists the layers of s in canonical order.
func (s LayerSet) Names() []string {
	var names []string
	for _, l := range layerNames {
		if s&l.set != 0 {
			names = append(names, l.name)
		}
	}
	return names
}

// String is the canonical comma-separated form of s, e.g. "areas,labels".
func (s LayerSet) String() string { return strings.Join(s.Names(), ",") }

// MaxZoom is the highest zoom served. TileJSON advertises MaxDataZoom, from
// which clients overzoom.
const (
	MaxZoom     = 22
	MaxDataZoom = 16
)

// Extent is the tile coordinate extent, and DefaultBuffer the buffer around
// each tile, in the same units (64 of 4096 = 1/64 of the tile on each side).
const (
	Extent        = 4096
	DefaultBuffer = 64
)

// ParseTile checks z/x/y as they appear in a URL and returns the tile. The
// messages say which value is wrong and what is allowed.
func ParseTile(z, x, y string) (maptile.Tile, error) {
	zi, err := parseCoord("z", z)
	if err != nil {
		return maptile.Tile{}, err
	}
	if zi < 0 || zi > MaxZoom {
		return maptile.Tile{}, geo.Errorf(geo.EInvalid, "z must be between 0 and %d, got %d", MaxZoom, zi)
	}
	n := int64(1) << zi
	xi, err := parseCoord("x", x)
	if err != nil {
		return maptile.Tile{}, err
	}
	if xi < 0 || xi >= n {
		return maptile.Tile{}, geo.Errorf(geo.EInvalid, "x must be between 0 and %d at zoom %d, got %d", n-1, zi, xi)
	}
	yi, err := parseCoord("y", y)
	if err != nil {
		return maptile.Tile{}, err
	}
	if yi < 0 || yi >= n {
		return maptile.Tile{}, geo.Errorf(geo.EInvalid, "y must be between 0 and %d at zoom %d, got %d", n-1, zi, yi)
	}
	return maptile.New(uint32(xi), uint32(yi), maptile.Zoom(zi)), nil
}

func parseCoord(name, s string) (int64, error) {
	for i := 0; i < len(s); i++ {
		if (s[i] < '0' || s[i] > '9') && !(i == 0 && s[i] == '-' && len(s) > 1) {
			return 0, geo.Errorf(geo.EInvalid, "%s must be a whole number, got %q", name, s)
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		if s != "" && s != "-" {
			return 0, geo.Errorf(geo.EInvalid, "%s is out of range, got %s", name, s)
		}
		return 0, geo.Errorf(geo.EInvalid, "%s must be a whole number, got %q", name, s)
	}
	return v, nil
}

// ParseTileName splits the last path segment of a tile URL, "{y}.mvt" or
// "{y}.pbf", into y.
func ParseTileName(name string) (y string, err error) {
	y, ext, ok := strings.Cut(name, ".")
	if !ok || (ext != "mvt" && ext != "pbf") {
		return "", geo.Errorf(geo.EInvalid, "a tile is {z}/{x}/{y}.mvt or {z}/{x}/{y}.pbf, got %q", name)
	}
	return y, nil
}

// Config configures the tiles. The zero value of each field means its default.
type Config struct {
	// MinZoom is the zoom from which each area level (by key) appears in the
	// areas and labels layers. Levels not listed appear from
	// DefaultMinZoomByDepth[depth] (the last entry for deeper levels).
	MinZoom map[string]int
	// BuildingsMinZoom is the zoom from which the buildings layer has
	// features; default 15.
	BuildingsMinZoom int
	// CacheBytes bounds the cache: gzip-compressed tile bytes plus a fixed
	// overhead per entry; default 256 MiB.
	CacheBytes int64
	// Timeout bounds the database work for one tile; default 5 s.
	Timeout time.Duration
	// Buffer is the margin around each tile in tile units of Extent: features
	// within it are included (clipped there), and invalidation widens each
	// tile by it; default DefaultBuffer.
	Buffer int
	// Now returns the current time; default time.Now. The date in China
	// Standard Time decides which duties are in force.
	Now func() time.Time
}

// RoadMinZoom is the zoom from which each road class is in the roads layer
// (and drawn): major roads from z10, where a city's arterials orient; minor
// streets from z13, where the grids show; paths from z15, with the buildings.
var RoadMinZoom = map[geo.RoadClass]int{geo.RoadMajor: 10, geo.RoadMinor: 13, geo.RoadPath: 15}

// DefaultMinZoomByDepth gives each level the zoom it appears from by its depth
// in its hierarchy: district 0, subdistrict 9, community 11, grid 13, below 15.
var DefaultMinZoomByDepth = []int{0, 9, 11, 13, 15}

// Defaults of Config.
const (
	DefaultBuildingsMinZoom = 15
	DefaultCacheBytes       = 256 << 20
	DefaultTimeout          = 5 * time.Second
)

// WithDefaults returns c with its zero fields set to the defaults.
func (c Config) WithDefaults() Config {
	if c.BuildingsMinZoom == 0 {
		c.BuildingsMinZoom = DefaultBuildingsMinZoom
	}
	if c.CacheBytes == 0 {
		c.CacheBytes = DefaultCacheBytes
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.Buffer == 0 {
		c.Buffer = DefaultBuffer
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// LevelMinZoom is the zoom from which areas of a level appear.
func (c Config) LevelMinZoom(key string, depth int) int {
	if z, ok := c.MinZoom[key]; ok {
		return z
	}
	return DefaultMinZoomByDepth[min(max(depth, 0), len(DefaultMinZoomByDepth)-1)]
}

// ParseMinZoom reads a list like "grid=13,community=11,buildings=15" into c:
// level keys set MinZoom, the key "buildings" sets BuildingsMinZoom.
func (c *Config) ParseMinZoom(spec string) error {
	for _, item := range strings.Split(spec, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		key, val, ok := strings.Cut(item, "=")
		z, err := strconv.Atoi(strings.TrimSpace(val))
		if !ok || err != nil || z < 0 || z > MaxZoom {
			return geo.Errorf(geo.EInvalid, "min zoom %q: want KEY=ZOOM with ZOOM from 0 to %d, e.g. grid=13", item, MaxZoom)
		}
		key = strings.TrimSpace(key)
		if key == LayerBuildings {
			c.BuildingsMinZoom = z
			continue
		}
		if c.MinZoom == nil {
			c.MinZoom = map[string]int{}
		}
		c.MinZoom[key] = z
	}
	return nil
}

// Query returns the query for a tile of layers with c's zooms and buffer;
// day is the date duties must be in force on (see Query.Day).
func (c Config) Query(layers LayerSet, t maptile.Tile, day time.Time) Query {
	c = c.WithDefaults()
	q := Query{Layers: layers, Tile: t, Day: day, BuildingsMinZoom: c.BuildingsMinZoom, Buffer: c.Buffer,
		LevelKeys: make([]string, 0, len(c.MinZoom)), LevelMinZooms: make([]int32, 0, len(c.MinZoom))}
	for k := range c.MinZoom {
		q.LevelKeys = append(q.LevelKeys, k)
	}
	sort.Strings(q.LevelKeys)
	for _, k := range q.LevelKeys {
		q.LevelMinZooms = append(q.LevelMinZooms, int32(c.MinZoom[k]))
	}
	for _, z := range DefaultMinZoomByDepth {
		q.DepthMinZooms = append(q.DepthMinZooms, int32(z))
	}
	return q
}

// DayOf returns the date of t in China Standard Time as midnight UTC: the
// day on which duties are in force (Query.Day).
func DayOf(t time.Time) time.Time { return dayOf(t) }

// Query asks a Source for one tile.
type Query struct {
	Layers LayerSet
	Tile   maptile.Tile
	// Day is the date (in China Standard Time, as midnight UTC) on which a
	// grid leader's duty must be in force to be shown.
	Day time.Time
	// LevelKeys and LevelMinZooms override DefaultMinZoomByDepth per level;
	// BuildingsMinZoom and Buffer are Config's.
	LevelKeys        []string
	LevelMinZooms    []int32
	DepthMinZooms    []int32
	BuildingsMinZoom int
	Buffer           int
}

// AreaAttributes are what the areas layer shows of one current area, with its
// level's depth and its extent (EPSG:4326).
type AreaAttributes struct {
	ID         int64
	Level      string
	Depth      int
	Code       string
	Name       string
	Leader     string // public name of the grid leader in force, "" when none
	Households int64
	Residents  int64
	Bound      orb.Bound
}

// sameShown reports whether a and b look the same in the areas layer.
func (a AreaAttributes) sameShown(b AreaAttributes) bool {
	return a.Level == b.Level && a.Code == b.Code && a.Name == b.Name && a.Leader == b.Leader &&
		a.Households == b.Households && a.Residents == b.Residents
}

// Source builds tiles and reads what the cache needs to keep them exact.
// tiles/postgis implements it on PostGIS.
type Source interface {
	// Tile returns the uncompressed MVT of q's layers; an empty slice when no
	// layer has a feature.
	Tile(ctx context.Context, q Query) ([]byte, error)
	// Version returns the data version: the id of the latest change.
	Version(ctx context.Context) (int64, error)
	// Extent returns the EPSG:4326 extent of the current areas; ok is false
	// when there are none.
	Extent(ctx context.Context) (b orb.Bound, ok bool, err error)
	// Levels lists the levels of every hierarchy.
	Levels(ctx context.Context) ([]geo.Level, error)
	// AreaAttributes returns the attributes on day of the current areas whose
	// geometry intersects any of bounds, and of all their ancestors; with nil
	// bounds, of every current area.
	AreaAttributes(ctx context.Context, day time.Time, bounds []orb.Bound) ([]AreaAttributes, error)
}

// Tile is one encoded tile as the Service returns it.
type Tile struct {
	Gzip []byte // the MVT, gzip-compressed; nil for an empty tile
	Size int    // length of the uncompressed MVT in bytes; 0 for an empty tile
	ETag string // strong validator of the content, quoted, e.g. "\"3f2a…\""
	// GzipETag is the validator of the gzip representation (ETag with
	// "-gzip" before the closing quote), made once with the tile rather
	// than on every request that is answered from the cache.
	GzipETag string
	// Header values of the tile, made once with it so that a cache hit sends
	// them without allocating (api/tiles.go): ETag and GzipETag as
	// one-element slices, and the decimal lengths of the plain and the gzip
	// body. Nil in a Tile made without encodeTile: api makes them per request.
	ETagHeader, GzipETagHeader, LengthHeader, GzipLengthHeader []string
	Hit                                                        bool // served from the cache
}

// Empty reports whether the tile has no feature in any layer.
func (t *Tile) Empty() bool { return t.Size == 0 }

// Service is what api's tile handlers call.
type Service interface {
	// Tile returns a tile of layers. The context's end cancels the database
	// query unless other requests wait for the same tile. The Tile may be
	// shared with other requests (a cache hit's is): callers read it only.
	Tile(ctx context.Context, layers LayerSet, t maptile.Tile) (*Tile, error)
	// TileJSON describes layers as a TileJSON 3.0.0 document whose tile URLs
	// start with baseURL (e.g. "https://maps.example.org") and carry the data
	// version.
	TileJSON(ctx context.Context, layers LayerSet, baseURL string) (*TileJSON, error)
	// Style returns the default MapLibre style (version 8) for baseURL.
	Style(ctx context.Context, baseURL string) (json.RawMessage, error)
}

// Attribution is the attribution of the data the tiles draw on.
const Attribution = "© OpenStreetMap contributors"

// dayOf returns the date of t in China Standard Time, as midnight UTC.
func dayOf(t time.Time) time.Time {
	t = t.In(calendar.Shanghai())
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

// dayBounds returns the instants a day of dayOf begins and ends, [from, to):
// dayOf(t) equals day exactly when t is in it. A cache hit compares its clock
// with these instead of working out the date of every request.
func dayBounds(day time.Time) (from, to time.Time) {
	from = time.Date(day.Year(), day.Month(), day.Day(), 0, 0, 0, 0, calendar.Shanghai())
	return from, from.AddDate(0, 0, 1)
}

func tileString(t maptile.Tile) string { return fmt.Sprintf("%d/%d/%d", t.Z, t.X, t.Y) }
