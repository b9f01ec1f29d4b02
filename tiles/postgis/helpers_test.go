package postgis_test

import (
	"context"
	"testing"

	"github.com/paulmach/orb"

	"gridmap/data"
	"gridmap/demo"
	"gridmap/geo"
)

// Neighbours returns two grids of one community that share a border (the
// generator gives neighbours bit-identical shared vertices).
func Neighbours(ds *demo.Dataset) (demo.Area, demo.Area) {
	var grids []demo.Area
	for _, a := range ds.Areas {
		if a.Level == demo.LevelGrid {
			grids = append(grids, a)
		}
	}
	for i, a := range grids {
		vs := map[orb.Point]bool{}
		for _, p := range a.Geometry[0][0] {
			vs[p] = true
		}
		for _, b := range grids[i+1:] {
			if b.ParentCode != a.ParentCode {
				continue
			}
			shared := 0
			for _, p := range b.Geometry[0][0] {
				if vs[p] {
					shared++
				}
			}
			if shared >= 2 {
				return a, b
			}
		}
	}
	panic("no neighbouring grids in the demo")
}

// mergeGrids merges grid b into grid a through the editor: a's geometry
// grows by b's, b retires, b's buildings move to a.
func mergeGrids(t *testing.T, db *data.DB, a, b int64) *geo.EditResult {
	t.Helper()
	res, err := data.NewEditor(db).Apply(context.Background(), geo.EditRequest{
		Op: geo.OpMerge, Areas: []geo.VersionRef{{ID: a}, {ID: b}}, Author: "test", Reason: "tiles test"})
	if err != nil {
		t.Fatalf("merge: %v", err)
	}
	return res
}
