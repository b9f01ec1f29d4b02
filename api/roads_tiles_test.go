package api_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/paulmach/orb/maptile"

	"gridmap/api"
	"gridmap/data"
	"gridmap/geo"
	"gridmap/tiles"
)

// roadNames lists the names in the roads layer of a tile.
func roadNames(t *testing.T, r response) map[string]bool {
	t.Helper()
	out := map[string]bool{}
	for _, l := range decodeTile(t, r) {
		if l.Name == tiles.LayerRoads {
			for _, f := range l.Features {
				out[f.Properties.MustString("name")] = true
			}
		}
	}
	return out
}

// TestRoadsImportReachesCachedTiles: a served, cached tile with roads shows a
// re-import of roads within a second (the change event removes it), while a
// cached tile without the roads layer stays cached.
func TestRoadsImportReachesCachedTiles(t *testing.T) {
	db, url, ds := tileDB(t, "api_tiles_roads")
	s := startTileServer(t, url, tiles.Config{}, api.Tiles{})
	r0 := ds.Roads[0]
	p := r0.Line[len(r0.Line)/2]
	tl := maptile.At(p, 15)
	for _, layers := range []string{"roads", "areas,labels"} {
		fetch(t, http.MethodGet, tileURL(s.url, layers, tl), "Accept-Encoding", "gzip")
		if r := fetch(t, http.MethodGet, tileURL(s.url, layers, tl), "Accept-Encoding", "gzip"); r.header.Get("X-Tile-Cache") != "hit" {
			t.Fatalf("%s tile not warm", layers)
		}
	}
	if got := roadNames(t, fetch(t, http.MethodGet, tileURL(s.url, "roads", tl), "Accept-Encoding", "gzip")); !got[r0.Name] {
		t.Fatalf("the tile over %s has roads %v", r0.Name, got)
	}
	// Re-import the demo's roads with the first one renamed.
	roads := append([]geo.Road(nil), ds.Roads...)
	roads[0].Name = "新开路"
	if _, err := data.NewImporter(db).ReplaceRoads(context.Background(), roads[0].Source, roads, geo.ImportOptions{Author: "test", Reason: "rename"}); err != nil {
		t.Fatal(err)
	}
	committed := time.Now()
	for {
		r := fetch(t, http.MethodGet, tileURL(s.url, "roads", tl), "Accept-Encoding", "gzip")
		got := roadNames(t, r)
		if r.header.Get("X-Tile-Cache") == "miss" && got["新开路"] && !got[r0.Name] {
			break
		}
		if time.Since(committed) > time.Second {
			t.Fatalf("a second after the import the tile is %s with roads %v", r.header.Get("X-Tile-Cache"), got)
		}
		time.Sleep(5 * time.Millisecond) // polling for the change to arrive, bounded by the second
	}
	if r := fetch(t, http.MethodGet, tileURL(s.url, "areas,labels", tl), "Accept-Encoding", "gzip"); r.header.Get("X-Tile-Cache") != "hit" {
		t.Errorf("the areas,labels tile was invalidated by a roads import")
	}
}
