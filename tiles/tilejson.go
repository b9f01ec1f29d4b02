package tiles

import (
	"context"
	"fmt"
	"strings"

	"github.com/paulmach/orb"

	"gridmap/geo"
)

// TileJSON is a TileJSON 3.0.0 document (https://github.com/mapbox/tilejson-spec).
type TileJSON struct {
	TileJSON     string        `json:"tilejson"`
	Name         string        `json:"name"`
	Description  string        `json:"description"`
	Version      string        `json:"version"`
	Attribution  string        `json:"attribution"`
	Scheme       string        `json:"scheme"`
	Tiles        []string      `json:"tiles"`
	MinZoom      int           `json:"minzoom"`
	MaxZoom      int           `json:"maxzoom"`
	Bounds       [4]float64    `json:"bounds"` // EPSG:4326 west, south, east, north
	Center       [3]float64    `json:"center"` // lon, lat, zoom
	VectorLayers []VectorLayer `json:"vector_layers"`
	// DataVersion is the data version in the tile URLs (the latest change
	// id): tiles fetched with it stay valid until the data changes.
	DataVersion int64 `json:"data_version"`
}

// VectorLayer describes one layer of the tiles.
type VectorLayer struct {
	ID          string            `json:"id"`
	Description string            `json:"description"`
	MinZoom     int               `json:"minzoom"`
	MaxZoom     int               `json:"maxzoom"`
	Fields      map[string]string `json:"fields"`
}

// TileJSON describes layers; the tile URL template is
// baseURL/tiles/LAYERS/{z}/{x}/{y}.mvt?v=VERSION.
func (c *Cache) TileJSON(ctx context.Context, layers LayerSet, baseURL string) (*TileJSON, error) {
	if layers == 0 || layers&^AllLayers != 0 {
		return nil, geo.Errorf(geo.EInvalid, "no such layer set %d", layers)
	}
	version, err := c.dataVersion(ctx)
	if err != nil {
		return nil, err
	}
	levels, err := c.src.Levels(ctx)
	if err != nil {
		return nil, err
	}
	tj := &TileJSON{
		TileJSON: "3.0.0", Name: "gridmap " + layers.String(),
		Description: "Responsibility areas (网格化管理), their labels, buildings and roads; the tiles change as soon as an edit commits.",
		Version:     "1.0.0", Attribution: Attribution, Scheme: "xyz",
		Tiles:   []string{fmt.Sprintf("%s/tiles/%s/{z}/{x}/{y}.mvt?v=%d", strings.TrimRight(baseURL, "/"), layers, version)},
		MinZoom: 0, MaxZoom: MaxDataZoom, Bounds: [4]float64{-180, -85.051129, 180, 85.051129},
		DataVersion: version,
	}
	b, ok, err := c.dataExtent(ctx, version)
	if err != nil {
		return nil, err
	}
	if ok {
		tj.Bounds = [4]float64{b.Min[0], b.Min[1], b.Max[0], b.Max[1]}
		ctr := b.Center()
		tj.Center = [3]float64{ctr[0], ctr[1], float64(c.fitZoom(levels))}
	}
	areasMin, levelZooms := MaxDataZoom, make([]string, 0, len(levels))
	for _, l := range levels {
		z := c.cfg.LevelMinZoom(l.Key, l.Depth)
		areasMin = min(areasMin, z)
		levelZooms = append(levelZooms, fmt.Sprintf("%s %s (%s) z%d+", l.Hierarchy, l.Key, l.NameZH, z))
	}
	perLevel := strings.Join(levelZooms, ", ")
	if layers&Areas != 0 {
		tj.VectorLayers = append(tj.VectorLayers, VectorLayer{
			ID: LayerAreas, MinZoom: areasMin, MaxZoom: MaxDataZoom,
			Description: "Current responsibility areas of every level; the feature id is the area id. Totals count the buildings of the area and its descendants. Levels appear from: " + perLevel + ".",
			Fields: map[string]string{
				"level": "String: level key, e.g. grid", "code": "String: area code", "name": "String",
				"leader":     "String: public name of the grid leader in force today (absent when none)",
				"households": "Number: households in the area", "residents": "Number: residents in the area",
			},
		})
	}
	if layers&Buildings != 0 {
		tj.VectorLayers = append(tj.VectorLayers, VectorLayer{
			ID: LayerBuildings, MinZoom: c.cfg.BuildingsMinZoom, MaxZoom: MaxDataZoom,
			Description: "Buildings: footprint polygons where known, else points; the feature id is internal.",
			Fields: map[string]string{
				"code": "String: building code", "address": "String", "households": "Number",
			},
		})
	}
	if layers&Labels != 0 {
		tj.VectorLayers = append(tj.VectorLayers, VectorLayer{
			ID: LayerLabels, MinZoom: areasMin, MaxZoom: MaxDataZoom,
			Description: "One point per current area inside it (centre of its largest inscribed circle), for its name; the feature id is the area id. Same zooms as the areas.",
			Fields:      map[string]string{"level": "String: level key", "name": "String"},
		})
	}
	if layers&Roads != 0 {
		tj.VectorLayers = append(tj.VectorLayers, VectorLayer{
			ID: LayerRoads, MinZoom: RoadMinZoom[geo.RoadMajor], MaxZoom: MaxDataZoom,
			Description: fmt.Sprintf("Roads, one line feature per name and class in the tile, simplified for the zoom; no feature id. Classes appear from: major z%d+, minor z%d+, path z%d+.",
				RoadMinZoom[geo.RoadMajor], RoadMinZoom[geo.RoadMinor], RoadMinZoom[geo.RoadPath]),
			Fields: map[string]string{"name": "String: street name, empty when unnamed", "class": "String: major, minor or path"},
		})
	}
	return tj, nil
}

// fitZoom is the zoom at which the centre shows the second level of the
// default hierarchy.
func (c *Cache) fitZoom(levels []geo.Level) int {
	for _, l := range levels {
		if l.Hierarchy == geo.DefaultHierarchy && l.Depth == 1 {
			return c.cfg.LevelMinZoom(l.Key, l.Depth)
		}
	}
	return DefaultMinZoomByDepth[1]
}

// dataVersion is the version the cache knows, or the Source's before the
// cache has loaded.
func (c *Cache) dataVersion(ctx context.Context) (int64, error) {
	c.mu.Lock()
	v, ready := c.version, c.ready
	c.mu.Unlock()
	if ready {
		return v, nil
	}
	sv, err := c.src.Version(ctx)
	return max(v, sv), err
}

// dataExtent is the Source's extent, read again when the version changes.
func (c *Cache) dataExtent(ctx context.Context, version int64) (orb.Bound, bool, error) {
	c.mu.Lock()
	cached := c.extent
	c.mu.Unlock()
	if cached.version != version || version == 0 {
		bound, found, err := c.src.Extent(ctx)
		if err != nil {
			return orb.Bound{}, false, err
		}
		cached.version, cached.bound, cached.ok = version, bound, found
		c.mu.Lock()
		c.extent = cached
		c.mu.Unlock()
	}
	return cached.bound, cached.ok, nil
}
