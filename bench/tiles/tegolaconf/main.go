// Command tegolaconf prints the tegola configuration (TOML) of bench/tiles:
// one map "gridmap" on an mvt_postgis provider whose layers run gridmap's own
// tile SQL (postgis.TileSQL), rewritten from pgx parameters to tegola's
// tokens, so that both servers ask PostGIS the same question.
//
//	tegolaconf -db postgres://… [-cache DIR] > tegola.toml
//
// The rewrite of each layer's statement (docs in BENCHMARKS.md, "Tiles"):
//
//   - gridmap wraps the layer's rows in ST_AsMVT itself; tegola does that
//     (ST_AsMVT(q, name, 4096, 'geom', 'id')), so the layer's SQL stops at the
//     rows: the coalesce((SELECT ST_AsMVT(…) FROM (rows) t WHERE t.geom IS NOT
//     NULL), ”) around them becomes SELECT * FROM (rows) t WHERE t.geom IS
//     NOT NULL.
//   - tegola takes only statements that start with SELECT, so the WITH
//     statement is wrapped in SELECT * FROM (…) AS layer.
//   - The tile envelope ST_TileEnvelope($1, $2, $3) becomes tegola's !BBOX!
//     (ST_MakeEnvelope of the same tile in EPSG:3857, printed to 8 decimals
//     of a metre); tegola requires the token.
//   - $1, $2, $3 (z, x, y) become !Z!, !X!, !Y!: literals in the SQL text
//     instead of bound parameters.
//   - $4..$8 become literals of gridmap's defaults (buffer 64/4096, no
//     per-level overrides, min zooms by depth, buildings from z15), $9 the
//     day in China, computed by PostgreSQL.
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"

	"gridmap/tiles"
	"gridmap/tiles/postgis"
)

// layers are the layers of the map, in gridmap's canonical order, with the
// geometry type tegola is told (it only feeds tegola's !GEOM_TYPE! token,
// unused here, and spares tegola the query it would run at start to guess it).
var layers = []struct {
	set      tiles.LayerSet
	name     string
	geomType string
}{
	{tiles.Areas, tiles.LayerAreas, "MultiPolygon"},
	{tiles.Buildings, tiles.LayerBuildings, "Polygon"},
	{tiles.Labels, tiles.LayerLabels, "Point"},
}

func main() {
	db := flag.String("db", "", "database URL for tegola (postgres://…)")
	cache := flag.String("cache", "", "folder of tegola's file cache; empty: no cache")
	flag.Parse()
	if *db == "" {
		fmt.Fprintln(os.Stderr, "tegolaconf: -db is required")
		os.Exit(2)
	}
	if err := writeConfig(os.Stdout, *db, *cache); err != nil {
		fmt.Fprintln(os.Stderr, "tegolaconf:", err)
		os.Exit(1)
	}
}

func writeConfig(w io.Writer, db, cacheDir string) error {
	var b strings.Builder
	if cacheDir != "" {
		fmt.Fprintf(&b, "[cache]\ntype = \"file\"\nbasepath = %s\n\n", strconv.Quote(cacheDir))
	}
	fmt.Fprintf(&b, "[[providers]]\nname = \"gridmap\"\ntype = \"mvt_postgis\"\nuri = %s\nsrid = 3857\n\n", strconv.Quote(db))
	for _, l := range layers {
		sql, err := TegolaSQL(postgis.TileSQL(l.set), l.name)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "  [[providers.layers]]\n  name = %q\n  geometry_fieldname = \"geom\"\n  id_fieldname = \"id\"\n  geometry_type = %q\n  sql = '''%s'''\n\n",
			l.name, l.geomType, sql)
	}
	b.WriteString("[[maps]]\nname = \"gridmap\"\n\n")
	for _, l := range layers {
		// gridmap answers z0 to z22 (tiles.MaxZoom); its buildings layer is
		// empty below its min zoom, which tegola's min_zoom mirrors (tegola
		// then leaves the layer out instead of running its query).
		minZoom := 0
		if l.set == tiles.Buildings {
			minZoom = tiles.DefaultBuildingsMinZoom
		}
		fmt.Fprintf(&b, "  [[maps.layers]]\n  provider_layer = \"gridmap.%s\"\n  min_zoom = %d\n  max_zoom = %d\n\n", l.name, minZoom, tiles.MaxZoom)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// TegolaSQL rewrites gridmap's statement for one layer (postgis.TileSQL of a
// single layer) into the SQL of a tegola mvt_postgis provider layer, as the
// package comment says. It fails when the statement no longer has the shape
// it expects, rather than benchmark a different query.
func TegolaSQL(sql, layer string) (string, error) {
	wrap := regexp.MustCompile(`(?s)coalesce\(\(SELECT ST_AsMVT\(t, '` + regexp.QuoteMeta(layer) +
		`', 4096, 'geom', 'id'\) FROM \((.*)\) t WHERE t\.geom IS NOT NULL\), ''\)\s*$`)
	m := wrap.FindStringSubmatchIndex(sql)
	if m == nil {
		return "", fmt.Errorf("layer %s: the tile SQL no longer ends in coalesce((SELECT ST_AsMVT(t, …) FROM (rows) t WHERE t.geom IS NOT NULL), '')", layer)
	}
	sql = sql[:m[0]] + "* FROM (" + sql[m[2]:m[3]] + ") t WHERE t.geom IS NOT NULL"

	const envelope = "ST_TileEnvelope($1::int, $2::int, $3::int) AS tile"
	if strings.Count(sql, envelope) != 1 {
		return "", fmt.Errorf("layer %s: want the tile envelope %q once in the tile SQL", layer, envelope)
	}
	sql = strings.Replace(sql, envelope, "!BBOX! AS tile", 1)

	depth := make([]string, len(tiles.DefaultMinZoomByDepth))
	for i, z := range tiles.DefaultMinZoomByDepth {
		depth[i] = strconv.Itoa(z)
	}
	params := []struct{ param, literal string }{
		{"$1::int", "!Z!::int"},
		{"$2::int", "!X!::int"},
		{"$3::int", "!Y!::int"},
		{"$4::float8", strconv.FormatFloat(float64(tiles.DefaultBuffer)/tiles.Extent, 'g', -1, 64) + "::float8"},
		{"$5::text[]", "'{}'::text[]"},
		{"$6::int[]", "'{}'::int[]"},
		{"$7::int[]", "'{" + strings.Join(depth, ",") + "}'::int[]"},
		{"$8::int", strconv.Itoa(tiles.DefaultBuildingsMinZoom) + "::int"},
		{"$9::date", "(now() AT TIME ZONE 'Asia/Shanghai')::date"},
	}
	for _, p := range params {
		sql = strings.ReplaceAll(sql, p.param, p.literal)
	}
	if left := regexp.MustCompile(`\$[0-9]+`).FindString(sql); left != "" {
		return "", fmt.Errorf("layer %s: parameter %s of the tile SQL has no tegola equivalent", layer, left)
	}
	if strings.Contains(sql, "'''") {
		return "", fmt.Errorf("layer %s: the SQL holds ''' and cannot be a TOML literal string", layer)
	}
	return "SELECT * FROM (" + sql + "\n) AS layer", nil
}
