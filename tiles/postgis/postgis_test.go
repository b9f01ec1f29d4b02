package postgis_test

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/mvt"
	"github.com/paulmach/orb/geojson"
	"github.com/paulmach/orb/maptile"
	"github.com/paulmach/orb/planar"

	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/demo"
	"gridmap/geo"
	"gridmap/tiles"
	"gridmap/tiles/postgis"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to write it)", err)
	}
	if !bytes.Equal(got, want) {
		g, w := strings.Split(string(got), "\n"), strings.Split(string(want), "\n")
		for i := 0; i < min(len(g), len(w)); i++ {
			if g[i] != w[i] {
				t.Fatalf("%s differs at line %d:\n got %s\nwant %s\n(go test -update rewrites it when the change is intended)", path, i+1, g[i], w[i])
			}
		}
		t.Fatalf("%s: got %d lines, want %d (go test -update rewrites it when the change is intended)", path, len(g), len(w))
	}
}

// decodedJSON renders decoded layers (tile units) as stable, readable JSON.
func decodedJSON(t *testing.T, raw []byte) []byte {
	t.Helper()
	ls, err := mvt.Unmarshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	type feature struct {
		ID         any                `json:"id"`
		Properties geojson.Properties `json:"properties"`
		Geometry   *geojson.Geometry  `json:"geometry"`
	}
	type layer struct {
		Name     string    `json:"name"`
		Extent   uint32    `json:"extent"`
		Features []feature `json:"features"`
	}
	var out []layer
	for _, l := range ls {
		ly := layer{Name: l.Name, Extent: l.Extent, Features: []feature{}}
		for _, f := range l.Features {
			ly.Features = append(ly.Features, feature{f.ID, f.Properties, geojson.NewGeometry(f.Geometry)})
		}
		out = append(out, ly)
	}
	b, err := json.MarshalIndent(out, "", " ")
	if err != nil {
		t.Fatal(err)
	}
	return append(b, '\n')
}

// fixture is the default demo subdistrict in this package's database.
type fixture struct {
	db   *data.DB
	ds   *demo.Dataset
	src  *postgis.Source
	ids  map[string]int64 // area code → id
	area map[string]demo.Area
}

func load(t *testing.T, name string) *fixture {
	t.Helper()
	db, _ := dbtest.New(t, name)
	ds, err := demo.Generate(demo.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := data.NewImporter(db).LoadDataset(context.Background(), ds.GeoDataset(), geo.ImportOptions{Author: "test", Strict: true}); err != nil {
		t.Fatal(err)
	}
	f := &fixture{db: db, ds: ds, src: postgis.New(db.Pool), ids: map[string]int64{}, area: map[string]demo.Area{}}
	rows, err := db.Pool.Query(context.Background(), `SELECT code, id FROM area`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var code string
		var id int64
		if err := rows.Scan(&code, &id); err != nil {
			t.Fatal(err)
		}
		f.ids[code] = id
	}
	for _, a := range ds.Areas {
		f.area[a.Code] = a
	}
	return f
}

// tile builds and decodes a tile; layers are keyed by name. The geometry is
// in tile units (0–4096) unless wgs84 is set.
func (f *fixture) tile(t *testing.T, cfg tiles.Config, layers tiles.LayerSet, tl maptile.Tile, wgs84 bool) (map[string]*mvt.Layer, []byte) {
	t.Helper()
	raw, err := f.src.Tile(context.Background(), cfg.Query(layers, tl, tiles.DayOf(time.Now())))
	if err != nil {
		t.Fatalf("tile %v: %v", tl, err)
	}
	ls, err := mvt.Unmarshal(raw)
	if err != nil {
		t.Fatalf("tile %v does not decode: %v", tl, err)
	}
	out := map[string]*mvt.Layer{}
	for _, l := range ls {
		if wgs84 {
			l.ProjectToWGS84(tl)
		}
		out[l.Name] = l
	}
	return out, raw
}

func featureByID(l *mvt.Layer, id int64) *geojson.Feature {
	if l == nil {
		return nil
	}
	for _, f := range l.Features {
		if f.ID == float64(id) {
			return f
		}
	}
	return nil
}

// toTile projects an EPSG:4326 geometry into tl's tile units.
func toTile(g orb.Geometry, tl maptile.Tile) orb.Geometry {
	l := mvt.NewLayer("x", geojson.NewFeatureCollection().Append(geojson.NewFeature(orb.Clone(g))))
	l.ProjectToTile(tl)
	return l.Features[0].Geometry
}

// demoTotals sums the generated buildings inside each generated grid.
func demoTotals(ds *demo.Dataset) map[string][2]int64 {
	out := map[string][2]int64{}
	for _, b := range ds.Buildings {
		for _, a := range ds.Areas {
			if a.Level == demo.LevelGrid && planar.MultiPolygonContains(a.Geometry, b.Point) {
				t := out[a.Code]
				out[a.Code] = [2]int64{t[0] + int64(b.Households), t[1] + int64(b.Residents)}
				break
			}
		}
	}
	return out
}

// leaderOf is the public name of the grid leader the generator gave a grid.
func leaderOf(ds *demo.Dataset, code string) string {
	for _, d := range ds.Duties {
		if d.AreaCode == code && d.Role == geo.RoleGridLeader {
			for _, p := range ds.People {
				if p.Key == d.PersonKey && p.Person.PublicName {
					return p.Person.Name
				}
			}
		}
	}
	return ""
}

// gridInside finds a generated grid whose bound lies inside one tile at z.
func gridInside(t *testing.T, ds *demo.Dataset, z maptile.Zoom) (demo.Area, maptile.Tile) {
	t.Helper()
	for _, a := range ds.Areas {
		if a.Level != demo.LevelGrid {
			continue
		}
		b := a.Geometry.Bound()
		tl := maptile.At(b.Center(), z)
		tb := tl.Bound()
		if tb.Contains(b.Min) && tb.Contains(b.Max) {
			return a, tl
		}
	}
	t.Fatalf("no grid fits one tile at z%d", z)
	return demo.Area{}, maptile.Tile{}
}

func TestTiles(t *testing.T) {
	f := load(t, "tiles")
	cfg := tiles.Config{}
	totals := demoTotals(f.ds)

	t.Run("a grid's feature matches the source", func(t *testing.T) {
		grid, tl := gridInside(t, f.ds, 14)
		ls, _ := f.tile(t, cfg, tiles.Areas, tl, false)
		feat := featureByID(ls[tiles.LayerAreas], f.ids[grid.Code])
		if feat == nil {
			t.Fatalf("grid %s (id %d) missing from areas %v", grid.Code, f.ids[grid.Code], tl)
		}
		p := feat.Properties
		want := map[string]any{
			"level": "grid", "code": grid.Code, "name": grid.Name, "leader": leaderOf(f.ds, grid.Code),
			"households": float64(totals[grid.Code][0]), "residents": float64(totals[grid.Code][1]),
		}
		if len(p) != len(want) {
			t.Errorf("properties %v, want exactly %v", p, want)
		}
		for k, v := range want {
			if p[k] != v {
				t.Errorf("%s: got %v, want %v", k, p[k], v)
			}
		}
		// Geometry in tile units: every vertex within 3 units (2 of
		// simplification, under 1 of rounding) of the source outline, and
		// the same area within 1%.
		src := toTile(grid.Geometry, tl)
		got := feat.Geometry
		var far float64
		for _, pt := range allPoints(got) {
			far = math.Max(far, planar.DistanceFrom(src, pt))
		}
		if far > 3 {
			t.Errorf("a vertex is %.2f tile units from the source outline, want at most 3", far)
		}
		if ga, sa := planar.Area(got), planar.Area(src); math.Abs(ga-sa) > 0.01*sa {
			t.Errorf("area %.0f, source %.0f (tile units²): off by more than 1%%", ga, sa)
		}
	})

	t.Run("totals of higher levels sum their grids", func(t *testing.T) {
		community := f.area[f.area[gridCodeAt(f.ds, 0)].ParentCode]
		tl := maptile.At(community.Geometry.Bound().Center(), 12)
		ls, _ := f.tile(t, cfg, tiles.Areas, tl, false)
		feat := featureByID(ls[tiles.LayerAreas], f.ids[community.Code])
		if feat == nil {
			t.Fatalf("community %s missing at z12", community.Code)
		}
		var hh int64
		for code, tot := range totals {
			if f.area[code].ParentCode == community.Code {
				hh += tot[0]
			}
		}
		if got := feat.Properties["households"]; got != float64(hh) {
			t.Errorf("community households %v, want %d (sum of its grids)", got, hh)
		}
		if _, ok := feat.Properties["leader"]; ok {
			t.Errorf("community has a leader %v; only grids have grid leaders", feat.Properties["leader"])
		}
	})

	t.Run("each level from its min zoom", func(t *testing.T) {
		centre := f.ds.Areas[0].Geometry.Bound().Center()
		for _, tc := range []struct {
			z    maptile.Zoom
			cfg  tiles.Config
			want []string
		}{
			{8, cfg, []string{"district"}},
			{9, cfg, []string{"district", "subdistrict"}},
			{11, cfg, []string{"community", "district", "subdistrict"}},
			{13, cfg, []string{"community", "district", "grid", "subdistrict"}},
			{9, tiles.Config{MinZoom: map[string]int{"grid": 9, "district": 10}}, []string{"grid", "subdistrict"}},
		} {
			ls, _ := f.tile(t, tc.cfg, tiles.Areas|tiles.Labels, maptile.At(centre, tc.z), false)
			for _, name := range []string{tiles.LayerAreas, tiles.LayerLabels} {
				got := levels(ls[name])
				if !equal(got, tc.want) {
					t.Errorf("z%d %v %s: levels %v, want %v", tc.z, tc.cfg.MinZoom, name, got, tc.want)
				}
			}
		}
	})

	t.Run("a grid leader without a public name is not shown", func(t *testing.T) {
		grid, tl := gridInside(t, f.ds, 14)
		ctx := context.Background()
		const q = `UPDATE person SET public_name = $2 WHERE id IN (
			SELECT person_id FROM duty WHERE area_id = $1 AND role = 'grid_leader')`
		if _, err := f.db.Pool.Exec(ctx, q, f.ids[grid.Code], false); err != nil {
			t.Fatal(err)
		}
		defer f.db.Pool.Exec(ctx, q, f.ids[grid.Code], true)
		ls, _ := f.tile(t, cfg, tiles.Areas, tl, false)
		if feat := featureByID(ls[tiles.LayerAreas], f.ids[grid.Code]); feat == nil || feat.Properties["leader"] != nil {
			t.Errorf("got %v, want the grid without a leader", feat)
		}
	})

	t.Run("labels lie inside their areas", func(t *testing.T) {
		grid, tl := gridInside(t, f.ds, 14)
		ls, _ := f.tile(t, cfg, tiles.Labels, tl, true)
		feat := featureByID(ls[tiles.LayerLabels], f.ids[grid.Code])
		if feat == nil {
			t.Fatalf("no label for grid %s", grid.Code)
		}
		pt, ok := feat.Geometry.(orb.Point)
		if !ok || !planar.MultiPolygonContains(grid.Geometry, pt) {
			t.Errorf("label %v is not a point inside grid %s", feat.Geometry, grid.Code)
		}
		if feat.Properties["name"] != grid.Name || feat.Properties["level"] != "grid" || len(feat.Properties) != 2 {
			t.Errorf("label properties %v, want level grid and name %s only", feat.Properties, grid.Name)
		}
		// One label per area, even where an area spans several tiles.
		n := 0
		for _, l := range ls[tiles.LayerLabels].Features {
			if l.ID == float64(f.ids[grid.Code]) {
				n++
			}
		}
		if n != 1 {
			t.Errorf("%d labels for grid %s in one tile, want 1", n, grid.Code)
		}
	})

	t.Run("buildings from z15 with their attributes", func(t *testing.T) {
		b := f.ds.Buildings[0]
		ls, _ := f.tile(t, cfg, tiles.Buildings, maptile.At(b.Point, 14), true)
		if l := ls[tiles.LayerBuildings]; l != nil {
			t.Errorf("z14 has %d buildings, want none below z15", len(l.Features))
		}
		ls, _ = f.tile(t, cfg, tiles.Buildings, maptile.At(b.Point, 16), true)
		var found *geojson.Feature
		for _, feat := range ls[tiles.LayerBuildings].Features {
			if feat.Properties["code"] == b.Code {
				found = feat
			}
		}
		if found == nil {
			t.Fatalf("building %s missing at z16", b.Code)
		}
		if found.Properties["address"] != b.Address || found.Properties["households"] != float64(b.Households) || len(found.Properties) != 3 {
			t.Errorf("properties %v, want code, address %s, households %d", found.Properties, b.Address, b.Households)
		}
		switch g := found.Geometry.(type) {
		case orb.Polygon:
			if b.Footprint == nil || !planar.PolygonContains(g, b.Point) {
				t.Errorf("footprint %v does not hold the building's point %v", g, b.Point)
			}
		case orb.Point:
			if b.Footprint != nil || planar.Distance(g, b.Point) > 1e-5 {
				t.Errorf("point %v, want the footprint or the point %v", g, b.Point)
			}
		default:
			t.Errorf("geometry %T", g)
		}
	})

	t.Run("a multi-layer tile holds each layer as alone", func(t *testing.T) {
		b := f.ds.Buildings[0]
		tl := maptile.At(b.Point, 15)
		all, raw := f.tile(t, cfg, tiles.AllLayers, tl, false)
		ls, err := mvt.Unmarshal(raw)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, l := range ls {
			names = append(names, l.Name)
		}
		if !equal(names, []string{"areas", "buildings", "labels", "roads"}) {
			t.Errorf("layers %v, want areas, buildings, labels, roads", names)
		}
		for _, one := range []tiles.LayerSet{tiles.Areas, tiles.Buildings, tiles.Labels, tiles.Roads} {
			alone, _ := f.tile(t, cfg, one, tl, false)
			name := one.String()
			if alone[name] == nil || all[name] == nil || len(alone[name].Features) != len(all[name].Features) {
				t.Errorf("%s: %d features together, %d alone", name, count(all[name]), count(alone[name]))
			}
		}
	})

	t.Run("low zoom is simplified and stays faithful", func(t *testing.T) {
		// Every level at z11, where a grid is only some 40 tile units wide.
		low := tiles.Config{MinZoom: map[string]int{"grid": 11}}
		grid, _ := gridInside(t, f.ds, 11)
		tl := maptile.At(grid.Geometry.Bound().Center(), 11)
		ls, _ := f.tile(t, low, tiles.Areas, tl, false)
		srcPoints, gotPoints := 0, 0
		for _, a := range f.ds.Areas {
			feat := featureByID(ls[tiles.LayerAreas], f.ids[a.Code])
			if a.Level != demo.LevelGrid || feat == nil {
				continue
			}
			src := toTile(a.Geometry, tl)
			srcPoints += len(allPoints(src))
			gotPoints += len(allPoints(feat.Geometry))
			for _, pt := range allPoints(feat.Geometry) {
				if d := planar.DistanceFrom(src, pt); d > 3 {
					t.Errorf("grid %s: a vertex is %.2f tile units from the source outline, want at most 3", a.Code, d)
					break
				}
			}
		}
		if srcPoints == 0 || gotPoints > srcPoints*3/4 {
			t.Errorf("z11 grids have %d vertices, the source %d: want at most 3/4 of them", gotPoints, srcPoints)
		}
	})

	t.Run("an empty tile is empty", func(t *testing.T) {
		for _, layers := range []tiles.LayerSet{tiles.Areas, tiles.AllLayers} {
			raw, err := f.src.Tile(context.Background(), cfg.Query(layers, maptile.At(orb.Point{-30, 40}, 14), tiles.DayOf(time.Now())))
			if err != nil || len(raw) != 0 {
				t.Errorf("%s in the Atlantic: %d bytes, %v; want 0 bytes", layers, len(raw), err)
			}
		}
	})

	t.Run("golden tile", func(t *testing.T) {
		// All four layers around the first grid's label point at z15.
		var p orb.Point
		if err := f.db.Pool.QueryRow(context.Background(), `SELECT ST_X(l.point), ST_Y(l.point) FROM area_label l
			JOIN area_version v ON v.id = l.version_id AND v.valid_to IS NULL JOIN area a ON a.id = v.area_id
			WHERE a.level = 'grid' ORDER BY a.code LIMIT 1`).Scan(&p[0], &p[1]); err != nil {
			t.Fatal(err)
		}
		_, raw := f.tile(t, cfg, tiles.AllLayers, maptile.At(p, 15), false)
		golden(t, "z15_all_layers.json", decodedJSON(t, raw))
	})

	t.Run("version, extent and levels", func(t *testing.T) {
		ctx := context.Background()
		v, err := f.src.Version(ctx)
		if err != nil || v < 1 {
			t.Errorf("version %d, %v; want the change of the load", v, err)
		}
		b, ok, err := f.src.Extent(ctx)
		want := f.ds.Areas[0].Geometry.Bound()
		if err != nil || !ok || math.Abs(b.Min[0]-want.Min[0]) > 1e-9 || math.Abs(b.Max[1]-want.Max[1]) > 1e-9 {
			t.Errorf("extent %v, %v, %v; want the district's %v", b, ok, err, want)
		}
		ls, err := f.src.Levels(ctx)
		if err != nil || len(ls) != 4 {
			t.Errorf("levels %v, %v; want the 4 admin levels", ls, err)
		}
	})
}

// TestAreaStats checks the totals that triggers keep (migrations/002_tiles.sql)
// against a sum over the buildings, after a load, an edit that moves
// buildings between grids, and a buildings import.
func TestAreaStats(t *testing.T) {
	f := load(t, "tiles_stats")
	ctx := context.Background()
	check := func(t *testing.T) {
		t.Helper()
		const q = `
WITH RECURSIVE up AS (
    SELECT b.grid_id AS id, b.households, b.residents FROM building b WHERE b.grid_id IS NOT NULL
    UNION ALL
    SELECT a.parent_id, up.households, up.residents FROM up JOIN area a ON a.id = up.id WHERE a.parent_id IS NOT NULL
), want AS (SELECT id, count(*) AS n, sum(households) AS h, sum(residents) AS r FROM up GROUP BY id)
SELECT count(*) FROM want FULL JOIN area_stats s ON s.area_id = want.id
WHERE coalesce(s.buildings, 0) <> coalesce(want.n, 0) OR coalesce(s.households, 0) <> coalesce(want.h, 0)
   OR coalesce(s.residents, 0) <> coalesce(want.r, 0)`
		var wrong int
		if err := f.db.Pool.QueryRow(ctx, q).Scan(&wrong); err != nil {
			t.Fatal(err)
		}
		if wrong != 0 {
			t.Errorf("%d areas with wrong totals", wrong)
		}
	}
	t.Run("after the load", check)

	grid, _ := gridInside(t, f.ds, 14)
	a, b := Neighbours(f.ds)
	exec := func(t *testing.T, q string, args ...any) {
		t.Helper()
		if _, err := f.db.Pool.Exec(ctx, q, args...); err != nil {
			t.Fatal(err)
		}
	}
	t.Run("after moving buildings between grids", func(t *testing.T) {
		exec(t, `UPDATE building SET grid_id = $2 WHERE grid_id = $1 AND id % 2 = 0`, f.ids[a.Code], f.ids[b.Code])
		check(t)
	})
	t.Run("after changing counts", func(t *testing.T) {
		exec(t, `UPDATE building SET households = households + 1, residents = residents + 2 WHERE grid_id = $1`, f.ids[b.Code])
		check(t)
	})
	t.Run("after deleting a building", func(t *testing.T) {
		exec(t, `DELETE FROM building WHERE id = (SELECT min(id) FROM building b WHERE grid_id = $1
			AND NOT EXISTS (SELECT 1 FROM duty d WHERE d.building_id = b.id))`, f.ids[a.Code])
		check(t)
	})
	t.Run("after merging two grids", func(t *testing.T) {
		mergeGrids(t, f.db, f.ids[a.Code], f.ids[b.Code])
		check(t)
		var n int
		if err := f.db.Pool.QueryRow(ctx, `SELECT count(*) FROM building WHERE grid_id = $1`, f.ids[b.Code]).Scan(&n); err != nil || n != 0 {
			t.Errorf("%d buildings left in the merged-away grid (%v), want 0", n, err)
		}
	})
	t.Run("after a buildings import", func(t *testing.T) {
		p := grid.Geometry[0][0][0]
		in := []geo.Building{{Code: "T0000001", Address: "测试路1号", Point: orb.Point{p[0] + 1e-5, p[1] + 1e-5}, Households: 7, Residents: 15}}
		if _, err := data.NewImporter(f.db).ImportBuildings(ctx, in, geo.ImportOptions{Author: "test"}); err != nil {
			t.Fatal(err)
		}
		check(t)
	})
}

// TestAreaAttributes checks what the cache compares after a change: the
// areas meeting the bounds and all their ancestors.
func TestAreaAttributes(t *testing.T) {
	f := load(t, "tiles_attrs")
	ctx := context.Background()
	day := tiles.DayOf(time.Now())
	all, err := f.src.AreaAttributes(ctx, day, nil)
	if err != nil || len(all) != len(f.ds.Areas) {
		t.Fatalf("all: %d areas, %v; want %d", len(all), err, len(f.ds.Areas))
	}
	grid, _ := gridInside(t, f.ds, 14)
	b := grid.Geometry.Bound()
	inner := orb.Bound{Min: b.Center(), Max: b.Center()}
	near, err := f.src.AreaAttributes(ctx, day, []orb.Bound{inner})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, a := range near {
		got[a.Level] = true
		if a.Level == "grid" && a.Leader != leaderOf(f.ds, a.Code) {
			t.Errorf("grid %s leader %q, want %q", a.Code, a.Leader, leaderOf(f.ds, a.Code))
		}
	}
	for _, l := range []string{"district", "subdistrict", "community", "grid"} {
		if !got[l] {
			t.Errorf("no %s among %d areas near the centre of grid %s: the ancestors are missing", l, len(near), grid.Code)
		}
	}
	if len(near) >= len(all) {
		t.Errorf("%d areas near one point, of %d: the bounds do not filter", len(near), len(all))
	}
}

func gridCodeAt(ds *demo.Dataset, i int) string {
	for _, a := range ds.Areas {
		if a.Level == demo.LevelGrid {
			if i == 0 {
				return a.Code
			}
			i--
		}
	}
	return ""
}

func allPoints(g orb.Geometry) []orb.Point {
	var out []orb.Point
	switch g := g.(type) {
	case orb.Polygon:
		for _, r := range g {
			out = append(out, r...)
		}
	case orb.MultiPolygon:
		for _, p := range g {
			out = append(out, allPoints(p)...)
		}
	}
	return out
}

func levels(l *mvt.Layer) []string {
	seen := map[string]bool{}
	if l != nil {
		for _, f := range l.Features {
			seen[f.Properties["level"].(string)] = true
		}
	}
	var out []string
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func count(l *mvt.Layer) int {
	if l == nil {
		return 0
	}
	return len(l.Features)
}
