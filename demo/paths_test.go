package demo

import (
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/planar"

	"gridmap/geo"
)

// TestDemoPaths: the demo has footpaths (class path) inside its estates,
// consistent with the buildings and the grid borders: each lies inside one
// grid, at least 3 m from its border (so it crosses no grid border and meets
// no road), at least 2 m from every building footprint, and is named after
// an estate of buildings in that grid (or unnamed, for an unnamed estate);
// most estates of several buildings have one.
func TestDemoPaths(t *testing.T) {
	for _, opt := range []Options{{}, {Seed: 7, Grids: 300, Buildings: 6000}} {
		ds, err := Generate(opt)
		if err != nil {
			t.Fatal(err)
		}
		var grids []Area
		for _, a := range ds.Areas {
			if a.Level == LevelGrid {
				grids = append(grids, a)
			}
		}
		gridOf := func(p orb.Point) int {
			for k, g := range grids {
				if planar.MultiPolygonContains(g.Geometry, p) {
					return k
				}
			}
			return -1
		}
		// Estates: buildings named 幸福家园3栋 → 幸福家园, per grid.
		estates := map[string]map[int]bool{}
		multi := map[string]bool{}
		var footprints []orb.Ring
		for _, b := range ds.Buildings {
			if i := strings.IndexAny(b.Name, "0123456789"); i > 0 {
				e := b.Name[:i]
				if estates[e] == nil {
					estates[e] = map[int]bool{}
				}
				estates[e][gridOf(b.Point)] = true
				multi[e] = true
			}
			if len(b.Footprint) > 0 {
				footprints = append(footprints, b.Footprint[0][0])
			}
		}
		paths, withPath := 0, map[string]bool{}
		for _, r := range ds.Roads {
			if r.Class != geo.RoadPath {
				continue
			}
			paths++
			if r.Source != RoadSource || len(r.Line) < 2 || !strings.HasPrefix(r.Ref, "demo/path/") {
				t.Fatalf("path %+v: want source demo, ≥ 2 positions, ref demo/path/N", r)
			}
			g := gridOf(r.Line[0])
			if g < 0 {
				t.Fatalf("path %s starts outside every grid: %v", r.Ref, r.Line)
			}
			for _, p := range r.Line {
				if gridOf(p) != g {
					t.Fatalf("path %s runs from grid %s into another grid", r.Ref, grids[g].Code)
				}
			}
			for _, ring := range grids[g].Geometry[0] {
				if d := minLineDistance(r.Line, orb.LineString(ring)); d < pathBorderMargin-0.01 {
					t.Fatalf("path %s is %.2f m from the border of grid %s, want ≥ %.0f", r.Ref, d, grids[g].Code, pathBorderMargin)
				}
			}
			for _, fp := range footprints {
				if d := minLineDistance(r.Line, orb.LineString(fp)); d < pathBuildingMargin-0.01 || planar.RingContains(fp, r.Line[0]) {
					t.Fatalf("path %s is %.2f m from a building footprint, want ≥ %.0f", r.Ref, d, pathBuildingMargin)
				}
			}
			if r.Name != "" {
				e, ok := strings.CutSuffix(r.Name, "步道")
				if !ok || !estates[e][g] {
					t.Fatalf("path %s is named %q, not after an estate of grid %s", r.Ref, r.Name, grids[g].Code)
				}
				withPath[e] = true
			}
		}
		if paths == 0 || 2*len(withPath) < len(multi) {
			t.Fatalf("%d paths; %d of %d named estates have one", paths, len(withPath), len(multi))
		}
		t.Logf("%+v: %d paths; %d of %d named estates have one", opt, paths, len(withPath), len(multi))
	}
}

// minLineDistance is the least distance in metres between two polylines
// (EPSG:4326, the demo's local frame).
func minLineDistance(a, b orb.LineString) float64 {
	d := -1.0
	for i := 1; i < len(a); i++ {
		for j := 1; j < len(b); j++ {
			s := segSegDist(toMetres(a[i-1]), toMetres(a[i]), toMetres(b[j-1]), toMetres(b[j]))
			if d < 0 || s < d {
				d = s
			}
		}
	}
	return d
}
