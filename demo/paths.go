package demo

import (
	"github.com/paulmach/orb"
)

// Footpaths (class path) inside the estates (小区): in every compound of two
// or more buildings, a path runs between each two rows of its slot lattice
// (or in front of a single row), across the compound and a little past its
// end buildings, and a spine at the compound's west end joins them. Paths are
// laid after the buildings, from the compounds alone (no random numbers, so
// the rest of the demo is unchanged), and kept only where they lie inside the
// compound's grid at least pathBorderMargin from its border (so they never
// cross a grid border or touch a road: a dead end that cuts no block, so the
// partition's atoms do not change) and at least pathBuildingMargin from every
// footprint of the grid.
const (
	pathBorderMargin   = 3.0 // metres from the grid's border (the buildings keep borderMargin)
	pathBuildingMargin = 2.0 // metres from a building footprint
	pathOverhang       = 6.0 // metres a path runs past the end buildings
)

// compoundPaths returns the footpaths of the compounds cs (those placed in
// poly, with their buildings placed) as lines in EPSG:4326, each with the
// compound's path name (pathName).
func compoundPaths(poly *metricPolygon, cs []compound, placed []placedBuilding) ([]orb.LineString, []string) {
	clear := func(a, b xy) bool {
		if !poly.pointClear(a, pathBorderMargin) || !poly.pointClear(b, pathBorderMargin) {
			return false
		}
		for i := 1; i < len(poly.pts); i++ {
			if segSegDist(a, b, poly.pts[i-1], poly.pts[i]) < pathBorderMargin {
				return false
			}
		}
		for _, pb := range placed {
			if !pb.hasRect {
				continue
			}
			if insideConvex(pb.rect, a) || insideConvex(pb.rect, b) {
				return false
			}
			for k := range pb.rect {
				if segSegDist(a, b, pb.rect[k], pb.rect[(k+1)%4]) < pathBuildingMargin {
					return false
				}
			}
		}
		return true
	}
	var lines []orb.LineString
	var names []string
	for _, c := range cs {
		if c.placed < 2 {
			continue
		}
		at := func(lx, ly float64) xy { return xy{c.cx + lx*c.cos - ly*c.sin, c.cy + lx*c.sin + ly*c.cos} }
		rows := (c.nextSlot + c.cols - 1) / c.cols
		cols := min(c.cols, c.nextSlot)
		half := float64(cols-1)/2*slotPitch + c.length/2 + pathOverhang
		// The rows' local y: row r at −(r − (c.rows−1)/2)·slotPitch.
		rowY := func(r float64) float64 { return -(r - float64(c.rows-1)/2) * slotPitch }
		var gaps []float64
		if rows == 1 {
			gaps = append(gaps, rowY(0)+slotPitch/2)
		}
		for r := 0; r+1 < rows; r++ {
			gaps = append(gaps, rowY(float64(r)+0.5))
		}
		west := -half
		var kept []float64
		for _, y := range gaps {
			a, b := at(west, y), at(half, y)
			if clear(a, b) {
				lines = append(lines, metricLine(a, b))
				names = append(names, pathName(c.name))
				kept = append(kept, y)
			}
		}
		if len(kept) >= 2 {
			a, b := at(west, kept[0]), at(west, kept[len(kept)-1])
			if clear(a, b) {
				lines = append(lines, metricLine(a, b))
				names = append(names, pathName(c.name))
			}
		}
	}
	return lines, names
}

// metricLine is the segment ab (local metres) in EPSG:4326, on the 1e-7°
// grid the demo's coordinates use.
func metricLine(a, b xy) orb.LineString {
	return orb.LineString{toLonLat(a[0], a[1]), toLonLat(b[0], b[1])}
}

// pathName is the name of a compound's footpaths: 幸福家园步道, or none.
func pathName(compound string) string {
	if compound == "" {
		return ""
	}
	return compound + "步道"
}
