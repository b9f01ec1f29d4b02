package tiles

import (
	"context"
	"encoding/json"
	"sort"
	"strings"

	"gridmap/geo"
)

// FontStack is the font the default style names. The style has no glyphs
// URL, so MapLibre draws every label with the browser's own fonts (with the
// empty glyph ranges gridmap serves at /fonts/, digits and Latin letters were
// dropped: "幸福社区第网格"); see docs/tiles.md.
const FontStack = "Noto Sans Regular"

// levelColours are the outline and label colours of levels by depth: the top
// of a hierarchy darkest.
var levelColours = []string{"#5b2a86", "#1f5fa8", "#d95f02", "#1b9e77", "#7f7f7f"}

// levelLabelColours are the label colours by depth: the outline colours,
// darkened where needed so that every label has a contrast of at least 4.5:1
// against its halo and against the tinted background (TestLabelContrast).
var levelLabelColours = []string{"#5b2a86", "#1a5394", "#8f3d00", "#0b5f46", "#595959"}

// defaultLabelColour is the label colour of an unknown level.
const defaultLabelColour = "#333333"

// backgroundColour and haloColour are the map's background and the labels' halo.
const backgroundColour, haloColour = "#f7f5f0", "#ffffff"

// levelLineWidths are the outline widths in pixels by depth.
var levelLineWidths = []float64{3.5, 2.5, 1.6, 1.0, 0.7}

// levelTextSizes are the label sizes in pixels by depth.
var levelTextSizes = []float64{20, 17, 14, 12, 11}

// roadStyle is how one road class is drawn: the line colour over a casing
// (a darker edge that keeps a pale road visible on the pale background),
// widths in pixels at the class's min zoom and at z18, growing
// exponentially between, and whether it is dashed.
type roadStyle struct {
	class         geo.RoadClass
	colour        string
	casing        string
	width0, width float64 // at tiles.RoadMinZoom[class] and at z18
	dashed        bool
}

// roadStyles are drawn in this order: paths under minor under major roads.
var roadStyles = []roadStyle{
	{geo.RoadPath, "#b3ab9e", "", 0.8, 2.5, true},
	{geo.RoadMinor, "#ffffff", "#c9c1b3", 1.0, 14, false},
	{geo.RoadMajor, "#f6d58e", "#c8a156", 1.5, 22, false},
}

// RoadLook is how the style draws a road of class c: its colour, its casing
// ("" for none) and whether it is dashed; other maps (the poster) draw roads
// the same. An unknown class looks like a path.
func RoadLook(c geo.RoadClass) (colour, casing string, dashed bool) {
	for _, r := range roadStyles {
		if r.class == c {
			return r.colour, r.casing, r.dashed
		}
	}
	return roadStyles[0].colour, roadStyles[0].casing, roadStyles[0].dashed
}

// roadLabelColour and roadLabelMinZoom: street names along the lines, in a
// grey darker than any road or tint they can sit on (TestLabelContrast),
// from z14, smaller than the area labels and placed after them.
const (
	roadLabelColour  = "#3a3632"
	roadLabelMinZoom = 14
)

// fillOpacity is the tint of an area.
const fillOpacity = 0.1

func byDepth[T any](v []T, depth int) T { return v[min(max(depth, 0), len(v)-1)] }

// levelBelow returns the level one deeper than l in l's hierarchy.
func levelBelow(levels []geo.Level, l geo.Level) (geo.Level, bool) {
	for _, b := range levels {
		if b.Hierarchy == l.Hierarchy && b.Depth == l.Depth+1 {
			return b, true
		}
	}
	return geo.Level{}, false
}

// Style returns the default MapLibre style: one vector source with all four
// layers; per level a translucent fill and an outline (thicker and darker for
// higher levels, a colour per depth); roads by class above the fills and
// under the outlines (roadStyles), with street names along them; buildings
// as footprints or dots; names at each area's label point, larger for higher
// levels. Levels are read from
// the database, so a new hierarchy is styled without a code change.
func (c *Cache) Style(ctx context.Context, baseURL string) (json.RawMessage, error) {
	levels, err := c.src.Levels(ctx)
	if err != nil {
		return nil, err
	}
	sort.SliceStable(levels, func(i, j int) bool {
		if levels[i].Depth != levels[j].Depth {
			return levels[i].Depth < levels[j].Depth
		}
		return levels[i].Hierarchy+levels[i].Key < levels[j].Hierarchy+levels[j].Key
	})
	base := strings.TrimRight(baseURL, "/")
	const source = "gridmap"
	layers := []map[string]any{{
		"id": "background", "type": "background", "paint": map[string]any{"background-color": backgroundColour},
	}}
	isLevel := func(l geo.Level) []any { return []any{"==", []any{"get", "level"}, l.Key} }
	// Fills from the top level down, so lower levels lie above. A level's
	// fill fades out once the level below it shows, so that the tints of
	// four levels do not pile up into grey.
	for _, l := range levels {
		mz := c.cfg.LevelMinZoom(l.Key, l.Depth)
		opacity := any(fillOpacity)
		if below, ok := levelBelow(levels, l); ok {
			if until := c.cfg.LevelMinZoom(below.Key, below.Depth) + 1; until > mz {
				opacity = []any{"interpolate", []any{"linear"}, []any{"zoom"}, until - 1, fillOpacity, until, 0}
			}
		}
		layers = append(layers, map[string]any{
			"id": "areas-fill-" + l.Key, "type": "fill", "source": source, "source-layer": LayerAreas,
			"minzoom": mz, "filter": isLevel(l),
			"paint": map[string]any{"fill-color": byDepth(levelColours, l.Depth), "fill-opacity": opacity},
		})
	}
	// Roads above the tints and under the borders, buildings and labels:
	// all casings first, so that crossing roads join.
	isClass := func(c geo.RoadClass) []any { return []any{"==", []any{"get", "class"}, string(c)} }
	grow := func(z0 int, w0, w18 float64) []any {
		return []any{"interpolate", []any{"exponential", 1.5}, []any{"zoom"}, z0, w0, 18, w18}
	}
	for _, r := range roadStyles {
		if r.casing == "" {
			continue
		}
		z0 := RoadMinZoom[r.class]
		layers = append(layers, map[string]any{
			"id": "roads-casing-" + string(r.class), "type": "line", "source": source, "source-layer": LayerRoads,
			"minzoom": z0, "filter": isClass(r.class),
			"layout": map[string]any{"line-join": "round", "line-cap": "round"},
			"paint":  map[string]any{"line-color": r.casing, "line-width": grow(z0, r.width0+1, r.width+2)},
		})
	}
	for _, r := range roadStyles {
		z0 := RoadMinZoom[r.class]
		paint := map[string]any{"line-color": r.colour, "line-width": grow(z0, r.width0, r.width)}
		if r.dashed {
			paint["line-dasharray"] = []float64{2, 1.5}
		}
		layers = append(layers, map[string]any{
			"id": "roads-" + string(r.class), "type": "line", "source": source, "source-layer": LayerRoads,
			"minzoom": z0, "filter": isClass(r.class),
			"layout": map[string]any{"line-join": "round", "line-cap": "round"},
			"paint":  paint,
		})
	}
	// Outlines from the lowest level up, so higher (thicker) borders lie on top.
	for i := len(levels) - 1; i >= 0; i-- {
		l := levels[i]
		layers = append(layers, map[string]any{
			"id": "areas-line-" + l.Key, "type": "line", "source": source, "source-layer": LayerAreas,
			"minzoom": c.cfg.LevelMinZoom(l.Key, l.Depth), "filter": isLevel(l),
			"layout": map[string]any{"line-join": "round"},
			"paint": map[string]any{
				"line-color": byDepth(levelColours, l.Depth), "line-width": byDepth(levelLineWidths, l.Depth),
				"line-opacity": 0.9,
			},
		})
	}
	layers = append(layers,
		map[string]any{
			"id": "buildings-fill", "type": "fill", "source": source, "source-layer": LayerBuildings,
			"minzoom": c.cfg.BuildingsMinZoom, "filter": []any{"==", []any{"geometry-type"}, "Polygon"},
			"paint": map[string]any{"fill-color": "#d9cbb8", "fill-outline-color": "#a08c74"},
		},
		map[string]any{
			"id": "buildings-point", "type": "circle", "source": source, "source-layer": LayerBuildings,
			"minzoom": c.cfg.BuildingsMinZoom, "filter": []any{"==", []any{"geometry-type"}, "Point"},
			"paint": map[string]any{"circle-radius": 3, "circle-color": "#a08c74"},
		})
	size, colour, rank := any(12.0), any(defaultLabelColour), any(0)
	if len(levels) > 0 {
		sizes := []any{"match", []any{"get", "level"}}
		colours := []any{"match", []any{"get", "level"}}
		ranks := []any{"match", []any{"get", "level"}}
		for _, l := range levels {
			sizes = append(sizes, l.Key, byDepth(levelTextSizes, l.Depth))
			colours = append(colours, l.Key, byDepth(levelLabelColours, l.Depth))
			ranks = append(ranks, l.Key, l.Depth)
		}
		size = append(sizes, 11.0)
		colour = append(colours, defaultLabelColour)
		rank = append(ranks, 99)
	}
	// Street names before the area labels: MapLibre places the symbols of
	// later layers first, so an area's name wins where they collide.
	layers = append(layers, map[string]any{
		"id": "roads-labels", "type": "symbol", "source": source, "source-layer": LayerRoads,
		"minzoom": roadLabelMinZoom, "filter": []any{"!=", []any{"get", "name"}, ""},
		"layout": map[string]any{
			"symbol-placement": "line", "text-field": []any{"get", "name"}, "text-font": []string{FontStack},
			"text-size":       []any{"interpolate", []any{"linear"}, []any{"zoom"}, roadLabelMinZoom, 11, 18, 14},
			"symbol-sort-key": []any{"match", []any{"get", "class"}, string(geo.RoadMajor), 0, string(geo.RoadMinor), 1, 2},
			"symbol-spacing":  300, "text-padding": 2,
		},
		"paint": map[string]any{"text-color": roadLabelColour, "text-halo-color": haloColour, "text-halo-width": 1.5},
	})
	layers = append(layers, map[string]any{
		"id": "labels", "type": "symbol", "source": source, "source-layer": LayerLabels,
		"layout": map[string]any{
			"text-field": []any{"get", "name"}, "text-font": []string{FontStack}, "text-size": size,
			"symbol-sort-key": rank, "text-max-width": 8, "text-padding": 4,
		},
		"paint": map[string]any{"text-color": colour, "text-halo-color": haloColour, "text-halo-width": 1.5},
	})
	style := map[string]any{
		"version": 8,
		"name":    "gridmap default",
		"sources": map[string]any{source: map[string]any{
			"type": "vector", "url": base + "/tiles/" + AllLayers.String() + ".json", "attribution": Attribution,
		}},
		"layers": layers,
	}
	version, err := c.dataVersion(ctx)
	if err != nil {
		return nil, err
	}
	if b, ok, err := c.dataExtent(ctx, version); err != nil {
		return nil, err
	} else if ok {
		ctr := b.Center()
		style["center"] = []float64{ctr[0], ctr[1]}
		style["zoom"] = c.fitZoom(levels)
	}
	raw, err := json.Marshal(style)
	if err != nil {
		return nil, geo.Internal("tiles.Style", err)
	}
	return raw, nil
}
