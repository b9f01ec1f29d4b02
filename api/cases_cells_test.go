package api_test

import (
	"fmt"
	"io"
	"math"
	"net/http"
	"sort"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/project"
)

// TestCaseClustersAreCellsOfOneGrid: below z15 the cases layer's clusters are
// the cells of one grid per zoom whose edges are multiples of 1/16 of a tile,
// so a tile edge is a cell edge and no cell is split between two tiles. Cases
// are placed around a z14 tile edge; for z13 and z14 the clusters of every
// tile holding them, located by their position, count exactly the cases of
// their cell. With cells centred on the multiples (ST_SnapToGrid) the cell at
// the edge is split in two and its neighbour is cut: this fails.
func TestCaseClustersAreCellsOfOneGrid(t *testing.T) {
	f := newCaseAPI(t, "api_cases_cells")
	anon := f.login(t, "")
	admin := f.login(t, "admin")
	const world = 2 * 20037508.342789244
	// Near the middle of the demo (its extent, read from the database).
	var mid orb.Point
	if err := f.db.Pool.QueryRow(t.Context(), `SELECT ST_X(c), ST_Y(c) FROM (SELECT ST_Centroid(ST_Extent(geom)) c FROM area_version WHERE valid_to IS NULL) s`).Scan(&mid[0], &mid[1]); err != nil {
		t.Fatal(err)
	}
	m := project.WGS84.ToMercator(mid)
	tileW := world / (1 << 14)
	cell := tileW / 16
	edge := math.Round((m[0]+world/2)/tileW)*tileW - world/2 // a z14 tile edge
	y := (math.Floor(m[1]/cell) + 0.5) * cell                // the middle of a z14 cell's row
	var pts []orb.Point                                      // Web Mercator
	for _, off := range []float64{-0.3, 0.2, 0.8, 1.5, 1.6} {
		pts = append(pts, orb.Point{edge + off*cell, y})
	}
	for i, p := range pts {
		ll := project.Mercator.ToWGS84(p)
		status, body := anon.do(t, "POST", "/api/v1/cases", map[string]any{"category": "exposed_rubbish", "lon": ll[0], "lat": ll[1],
			"description": fmt.Sprintf("路边垃圾 %d", i), "address": "幸福路1号"})
		if status != http.StatusCreated {
			t.Fatalf("intake at %v: %d %s", ll, status, body)
		}
	}
	for _, z := range []maptile.Zoom{13, 14} {
		size := world / float64(uint64(1)<<z) / 16
		want := map[[2]float64]int{}
		tiles := map[maptile.Tile]bool{}
		for _, p := range pts {
			want[[2]float64{math.Floor(p[0] / size), math.Floor(p[1] / size)}]++
			tiles[maptile.At(project.Mercator.ToWGS84(p), z)] = true
		}
		var got []string // one entry per cluster: its cell and count
		for tl := range tiles {
			res, err := admin.hc.Get(f.srv.URL + fmt.Sprintf("/tiles/cases/%d/%d/%d.mvt?all=true", tl.Z, tl.X, tl.Y))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode != 200 {
				t.Fatalf("tile %v: %d %s", tl, res.StatusCode, b)
			}
			layers, err := mvt.Unmarshal(b)
			if err != nil {
				t.Fatal(err)
			}
			layers.ProjectToWGS84(tl)
			for _, l := range layers {
				for _, ft := range l.Features {
					p := project.WGS84.ToMercator(ft.Geometry.(orb.Point))
					n, _ := ft.Properties["count"].(float64)
					got = append(got, fmt.Sprintf("%.0f/%.0f:%d", math.Floor(p[0]/size), math.Floor(p[1]/size), int(n)))
				}
			}
		}
		sort.Strings(got)
		if fmt.Sprint(got) != fmt.Sprint(sortedCells(want)) {
			t.Errorf("z%d: clusters (cell:count) %v, want one per cell %v (cases at -0.3, 0.2, 0.8, 1.5, 1.6 cells of z14 from a z14 tile edge)",
				z, got, sortedCells(want))
		}
	}
}

// sortedCells lists a cell → count map in cell order.
func sortedCells(m map[[2]float64]int) []string {
	var out []string
	for k, n := range m {
		out = append(out, fmt.Sprintf("%.0f/%.0f:%d", k[0], k[1], n))
	}
	sort.Strings(out)
	return out
}
