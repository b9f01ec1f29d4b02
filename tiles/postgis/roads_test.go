package postgis_test

import (
	"context"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/planar"

	"gridmap/data"
	"gridmap/geo"
	"gridmap/tiles"
)

// TestRoadsLayer: the demo's roads (loaded with the demo) are in the roads
// layer by class from their min zoom, each street with its name, simplified
// at low zoom, and close to the source line.
func TestRoadsLayer(t *testing.T) {
	f := load(t, "tiles_roads")
	cfg := tiles.Config{}
	var major, minor, path geo.Road
	for _, r := range f.ds.Roads {
		if r.Class == geo.RoadPath && r.Name != "" && path.Name == "" {
			path = r // an estate's footpath (demo/paths.go)
		}
		if r.Class == geo.RoadMajor && major.Name == "" {
			major = r
		}
		if r.Class == geo.RoadMinor && minor.Name == "" {
			minor = r
		}
	}
	if major.Name == "" || minor.Name == "" || path.Name == "" {
		t.Fatal("the demo has no major, no minor road or no named path")
	}
	named := func(l map[string]string, name, class string) bool { return l[name] == class }
	roadsOf := func(z maptile.Zoom, p orb.Point) (map[string]string, int) {
		t.Helper()
		ls, _ := f.tile(t, cfg, tiles.Roads, maptile.At(p, z), false)
		got := map[string]string{}
		l := ls[tiles.LayerRoads]
		if l == nil {
			return got, 0
		}
		for _, feat := range l.Features {
			if len(feat.Properties) != 2 {
				t.Errorf("z%d road properties %v, want name and class only", z, feat.Properties)
			}
			got[feat.Properties.MustString("name")] = feat.Properties.MustString("class")
		}
		return got, len(l.Features)
	}
	mid := func(r geo.Road) orb.Point { return r.Line[len(r.Line)/2] }

	t.Run("a tile over a demo street holds its name and class", func(t *testing.T) {
		for _, r := range []geo.Road{major, minor, path} {
			got, _ := roadsOf(15, mid(r))
			if !named(got, r.Name, string(r.Class)) {
				t.Errorf("z15 over %s: roads %v, want %s (%s)", r.Name, got, r.Name, r.Class)
			}
		}
		if got, _ := roadsOf(14, mid(path)); named(got, path.Name, "path") {
			t.Errorf("z14 holds the demo path %s, want paths from z15", path.Name)
		}
	})
	t.Run("each class from its min zoom", func(t *testing.T) {
		for _, tc := range []struct {
			z            maptile.Zoom
			major, minor bool
		}{{9, false, false}, {10, true, false}, {12, true, false}, {13, true, true}} {
			gotMajor, _ := roadsOf(tc.z, mid(major))
			gotMinor, _ := roadsOf(tc.z, mid(minor))
			if named(gotMajor, major.Name, "major") != tc.major || named(gotMinor, minor.Name, "minor") != tc.minor {
				t.Errorf("z%d: major %s shown %v, minor %s shown %v; want %v, %v", tc.z,
					major.Name, named(gotMajor, major.Name, "major"), minor.Name, named(gotMinor, minor.Name, "minor"), tc.major, tc.minor)
			}
			for _, got := range []map[string]string{gotMajor, gotMinor} {
				for name, class := range got {
					if tiles.RoadMinZoom[geo.RoadClass(class)] > int(tc.z) {
						t.Errorf("z%d holds %s of class %s, shown only from z%d", tc.z, name, class, tiles.RoadMinZoom[geo.RoadClass(class)])
					}
				}
			}
		}
	})
	t.Run("a path from z15, and a re-import replaces it", func(t *testing.T) {
		im := data.NewImporter(f.db)
		a, b := mid(minor), mid(major)
		path := geo.Road{Name: "滨江步道", Class: geo.RoadPath, Source: "test-paths", Line: orb.LineString{a, {a[0] + 0.002, a[1] + 0.001}}}
		if _, err := im.ReplaceRoads(context.Background(), "test-paths", []geo.Road{path}, geo.ImportOptions{Author: "test"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := roadsOf(14, a); named(got, path.Name, "path") {
			t.Errorf("z14 holds path %s, want paths from z15", path.Name)
		}
		if got, _ := roadsOf(15, a); !named(got, path.Name, "path") {
			t.Errorf("z15: roads %v, want path %s", got, path.Name)
		}
		path.Line = orb.LineString{b, {b[0] + 0.002, b[1] + 0.001}}
		if _, err := im.ReplaceRoads(context.Background(), "test-paths", []geo.Road{path}, geo.ImportOptions{Author: "test"}); err != nil {
			t.Fatal(err)
		}
		if got, _ := roadsOf(15, a); named(got, path.Name, "path") && maptile.At(a, 15) != maptile.At(b, 15) {
			t.Errorf("z15 at the old place still holds path %s after the re-import moved it", path.Name)
		}
		if got, _ := roadsOf(15, b); !named(got, path.Name, "path") {
			t.Errorf("z15 at the new place: roads %v, want path %s", got, path.Name)
		}
	})
	t.Run("one feature per street and class; simplified and faithful", func(t *testing.T) {
		tl := maptile.At(mid(major), 10)
		ls, _ := f.tile(t, cfg, tiles.Roads, tl, false)
		l := ls[tiles.LayerRoads]
		seen := map[[2]string]bool{}
		gotPoints := 0
		for _, feat := range l.Features {
			k := [2]string{feat.Properties.MustString("name"), feat.Properties.MustString("class")}
			if seen[k] {
				t.Errorf("z10: street %v twice in one tile", k)
			}
			seen[k] = true
			gotPoints += len(allPoints(feat.Geometry))
		}
		srcPoints := 0
		for _, r := range f.ds.Roads {
			if r.Class != geo.RoadMajor || !seen[[2]string{r.Name, "major"}] {
				continue
			}
			srcPoints += len(r.Line)
		}
		if srcPoints == 0 || gotPoints > srcPoints*3/4 {
			t.Errorf("z10 major roads have %d vertices, the source %d: want at most 3/4 of them", gotPoints, srcPoints)
		}
		// Faithful: every vertex of the major road within 3 tile units of its source.
		src := toTile(major.Line, tl)
		for _, feat := range l.Features {
			if feat.Properties.MustString("name") != major.Name {
				continue
			}
			for _, pt := range allPoints(feat.Geometry) {
				if d := planar.DistanceFrom(src, pt); d > 3 {
					t.Errorf("z10 %s: a vertex is %.2f tile units from the source line, want at most 3 (the demo's road names are unique)", major.Name, d)
					break
				}
			}
		}
	})
}
