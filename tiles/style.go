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

// Style returns the default MapLibre style: one vector source with all three
// layers; per level a translucent fill and an outline (thicker and darker for
// higher levels, a colour per depth); buildings as footprints or dots; names
// at each area's label point, larger for higher levels. Levels are read from
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
