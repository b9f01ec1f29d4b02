// Package postgis is the tiles.Source on PostGIS: the tile SQL (ST_AsMVT over
// ST_TileEnvelope) and the reads the tile cache needs to invalidate exactly.
// Geometries are stored in EPSG:4326; tiles are EPSG:3857.
package postgis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/paulmach/orb"

	"gridmap/data"
	"gridmap/geo"
	"gridmap/tiles"
)

// Source builds tiles on a PostGIS database with gridmap's schema.
type Source struct {
	pool func() *pgxpool.Pool
}

var _ tiles.Source = (*Source)(nil)

// New returns a Source on pool.
func New(pool *pgxpool.Pool) *Source { return NewOn(func() *pgxpool.Pool { return pool }) }

// NewOn returns a Source on the pool pool returns at each query: the server
// a change feed follows now (data.DB.ReadPool), which may change.
func NewOn(pool func() *pgxpool.Pool) *Source { return &Source{pool: pool} }

// Every tile statement starts with qTileHead: the tile's envelope in
// EPSG:3857, the query box in EPSG:4326 (the envelope widened by the buffer,
// so the GiST indexes on EPSG:4326 geometries are used), the simplification
// tolerance and the levels visible at this zoom.
//
// Parameters: $1 z, $2 x, $3 y, $4 buffer (fraction of the tile), $5 level
// keys and $6 their min zooms (overrides), $7 min zooms by depth (the last
// for deeper levels), $8 buildings min zoom, $9 the day duties must be in
// force on.
//
// The tolerance is 2 tile units of the 4096 extent (a quarter of a CSS pixel
// on a 512-pixel tile): ST_Simplify per polygon keeps each outline within it
// of the original, so neighbours that share a border can part or overlap by
// at most 4 units (half a pixel), under the outline drawn on top.
const qTileHead = `
WITH env AS (
    SELECT ST_TileEnvelope($1::int, $2::int, $3::int) AS tile,
           ST_Transform(ST_TileEnvelope($1::int, $2::int, $3::int, margin => $4::float8), 4326) AS query,
           2 * (40075016.685578488 / 4096) / (2 ^ $1::int) AS tolerance,
           $1::int >= $8::int AS buildings,
           $9::date AS day
), visible AS (
    SELECT l.key, l.depth FROM level l
    LEFT JOIN unnest($5::text[], $6::int[]) AS m(key, minzoom) ON m.key = l.key
    WHERE coalesce(m.minzoom, ($7::int[])[least(l.depth, cardinality($7::int[]) - 1) + 1]) <= $1::int
)
SELECT `

// qAreasLayer is the areas layer: every current area of a visible level whose
// geometry meets the tile, simplified for the zoom, with its totals from
// area_stats (migrations/002_tiles.sql) and the public name of its grid
// leader in force. Rows are ordered by code, which makes the tile compress
// better. The feature id is the area id. Tiles are public and cached for
// everyone, so neither layer carries counts of vulnerable residents (the
// sensitive groups of geo.CountGroups; the small-count rule of
// geo/privacy.go): TestTiles pins each layer's exact properties.
const qAreasLayer = `coalesce((SELECT ST_AsMVT(t, 'areas', 4096, 'geom', 'id') FROM (
    SELECT a.id, a.level, a.code, a.name, ld.leader,
           coalesce(s.households, 0) AS households, coalesce(s.residents, 0) AS residents,
           ST_AsMVTGeom(ST_Simplify(ST_Transform(v.geom, 3857), env.tolerance, true), env.tile, 4096, 64, true) AS geom
    FROM env
    JOIN area_version v ON v.valid_to IS NULL AND v.geom && env.query
    JOIN area a ON a.id = v.area_id AND a.retired_at IS NULL
    JOIN visible lv ON lv.key = a.level
    LEFT JOIN area_stats s ON s.area_id = a.id
    LEFT JOIN LATERAL (` + qLeader + `) ld ON true
    ORDER BY a.code) t WHERE t.geom IS NOT NULL), '')`

// qLeader is the public name of an area's grid leader in force on env.day
// (the most recently started duty when several are).
const qLeader = `
        SELECT p.name AS leader FROM duty d JOIN person p ON p.id = d.person_id
        WHERE d.area_id = a.id AND d.role = 'grid_leader' AND p.public_name
          AND d.valid_from <= env.day AND (d.valid_to IS NULL OR d.valid_to >= env.day)
        ORDER BY d.valid_from DESC, d.id DESC LIMIT 1`

// qBuildingsLayer is the buildings layer from the buildings min zoom: the
// footprint where known, else the point, found through the expression index
// building_shape_idx.
const qBuildingsLayer = `coalesce((SELECT ST_AsMVT(t, 'buildings', 4096, 'geom', 'id') FROM (
    SELECT b.id, b.code, b.address, b.households,
           ST_AsMVTGeom(ST_Transform(coalesce(b.footprint, b.geom), 3857), env.tile, 4096, 64, true) AS geom
    FROM env JOIN building b ON coalesce(b.footprint, b.geom) && env.query
    WHERE env.buildings
    ORDER BY b.code) t WHERE t.geom IS NOT NULL), '')`

// qLabelsLayer is the labels layer: the label point of each current area of a
// visible level (area_label, the centre of its largest inscribed circle),
// higher levels first so that MapLibre places their names first. The
// feature id is the area id.
const qLabelsLayer = `coalesce((SELECT ST_AsMVT(t, 'labels', 4096, 'geom', 'id') FROM (
    SELECT a.id, a.level, a.name,
           ST_AsMVTGeom(ST_Transform(lp.point, 3857), env.tile, 4096, 64, true) AS geom
    FROM env
    JOIN area_label lp ON lp.point && env.query
    JOIN area_version v ON v.id = lp.version_id AND v.valid_to IS NULL
    JOIN area a ON a.id = v.area_id AND a.retired_at IS NULL
    JOIN visible lv ON lv.key = a.level
    ORDER BY lv.depth, a.code) t WHERE t.geom IS NOT NULL), '')`

// qRoadsLayer is the roads layer: the roads of the classes shown at this
// zoom (tiles.RoadMinZoom; the CASE below is built from it), one feature per
// name and class in the tile (the pieces of a street, merged with
// ST_LineMerge where they join), simplified for the zoom as the areas are,
// major roads first. Properties: name (” when unnamed) and class. No id:
// roads are not addressed one by one.
var qRoadsLayer = `coalesce((SELECT ST_AsMVT(t, 'roads', 4096, 'geom') FROM (
    SELECT r.name, r.class,
           ST_AsMVTGeom(ST_Simplify(ST_LineMerge(ST_Collect(ST_Transform(r.geom, 3857))), env.tolerance), env.tile, 4096, 64, true) AS geom
    FROM env JOIN road r ON r.geom && env.query
    WHERE ` + roadMinZoomCase + ` <= $1::int
    GROUP BY r.class, r.name, env.tile, env.tolerance
    ORDER BY r.class, r.name) t WHERE t.geom IS NOT NULL), '')`

// roadMinZoomCase is tiles.RoadMinZoom as SQL: CASE r.class WHEN 'major'
// THEN 10 … END (constants of the code, not input).
var roadMinZoomCase = func() string {
	var b strings.Builder
	b.WriteString("CASE r.class")
	for _, c := range []geo.RoadClass{geo.RoadMajor, geo.RoadMinor, geo.RoadPath} {
		fmt.Fprintf(&b, " WHEN '%s' THEN %d", c, tiles.RoadMinZoom[c])
	}
	b.WriteString(" END")
	return b.String()
}()

// tileSQL holds the statement of each layer set: qTileHead, then the
// layers' constants in canonical order joined with || (an MVT is a sequence
// of layers, so concatenated layers are one tile). pgx prepares each
// statement once per connection; z/x/y are parameters.
var tileSQL = func() map[tiles.LayerSet]string {
	m := map[tiles.LayerSet]string{}
	for ls := tiles.LayerSet(1); ls <= tiles.AllLayers; ls++ {
		var parts []string
		if ls&tiles.Areas != 0 {
			parts = append(parts, qAreasLayer)
		}
		if ls&tiles.Buildings != 0 {
			parts = append(parts, qBuildingsLayer)
		}
		if ls&tiles.Labels != 0 {
			parts = append(parts, qLabelsLayer)
		}
		if ls&tiles.Roads != 0 {
			parts = append(parts, qRoadsLayer)
		}
		m[ls] = qTileHead + strings.Join(parts, "\n|| ")
	}
	return m
}()

// TileSQL returns the statement for a layer set, for documentation and benchmarks.
func TileSQL(layers tiles.LayerSet) string { return tileSQL[layers] }

// qLimits bounds the tile statement that follows in the same implicit
// transaction (one pipeline, one Sync): the server cancels it after $1
// milliseconds. When the context ends first, pgx sends a cancel request and
// drops the connection; should no cancel request arrive (the process died,
// the network broke), the server still notices the closed connection within
// 250 ms (client_connection_check_interval, PostgreSQL 14+).
const qLimits = `SELECT set_config('statement_timeout', $1, true), set_config('client_connection_check_interval', '250', true)`

// Tile runs the statement of q's layer set.
func (s *Source) Tile(ctx context.Context, q tiles.Query) ([]byte, error) {
	sql, ok := tileSQL[q.Layers]
	if !ok {
		return nil, geo.Errorf(geo.EInvalid, "no such layer set %d", q.Layers)
	}
	timeout := time.Duration(0)
	if dl, ok := ctx.Deadline(); ok {
		timeout = max(time.Until(dl), time.Millisecond)
	}
	var b pgx.Batch
	if timeout > 0 {
		b.Queue(qLimits, strconv.FormatInt(timeout.Milliseconds()+1, 10))
	}
	var tile []byte
	b.Queue(sql, int(q.Tile.Z), int(q.Tile.X), int(q.Tile.Y), float64(q.Buffer)/tiles.Extent,
		q.LevelKeys, q.LevelMinZooms, q.DepthMinZooms, q.BuildingsMinZoom, q.Day).
		QueryRow(func(row pgx.Row) error { return row.Scan(&tile) })
	if err := s.pool().SendBatch(ctx, &b).Close(); err != nil {
		return nil, dbErr(ctx, "tiles.Tile", err)
	}
	return tile, nil
}

const qVersion = `SELECT coalesce(max(id), 0) FROM change`

// Version returns the id of the latest change.
func (s *Source) Version(ctx context.Context) (int64, error) {
	var v int64
	if err := s.pool().QueryRow(ctx, qVersion).Scan(&v); err != nil {
		return 0, dbErr(ctx, "tiles.Version", err)
	}
	return v, nil
}

const qExtent = `
SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
FROM (SELECT ST_Extent(v.geom) AS e FROM area_version v JOIN area a ON a.id = v.area_id AND a.retired_at IS NULL
      WHERE v.valid_to IS NULL) x WHERE e IS NOT NULL`

// Extent returns the extent of the current areas (EPSG:4326).
func (s *Source) Extent(ctx context.Context) (orb.Bound, bool, error) {
	var b orb.Bound
	err := s.pool().QueryRow(ctx, qExtent).Scan(&b.Min[0], &b.Min[1], &b.Max[0], &b.Max[1])
	if err == pgx.ErrNoRows {
		return orb.Bound{}, false, nil
	}
	if err != nil {
		return orb.Bound{}, false, dbErr(ctx, "tiles.Extent", err)
	}
	return b, true, nil
}

const qLevels = `SELECT key, hierarchy, depth, name_zh, name_en FROM level ORDER BY hierarchy, depth`

// Levels lists every level.
func (s *Source) Levels(ctx context.Context) ([]geo.Level, error) {
	rows, err := s.pool().Query(ctx, qLevels)
	if err != nil {
		return nil, dbErr(ctx, "tiles.Levels", err)
	}
	ls, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (geo.Level, error) {
		var l geo.Level
		err := r.Scan(&l.Key, &l.Hierarchy, &l.Depth, &l.NameZH, &l.NameEN)
		return l, err
	})
	if err != nil {
		return nil, dbErr(ctx, "tiles.Levels", err)
	}
	return ls, nil
}

// qAttributesOf selects what the areas layer shows of the areas in `pick`
// (ids), with their depth and extent. The leader query is qLeader's.
const qAttributesOf = `
SELECT a.id, a.level, l.depth, a.code, a.name, coalesce(ld.leader, ''),
       coalesce(s.households, 0), coalesce(s.residents, 0),
       ST_XMin(v.geom), ST_YMin(v.geom), ST_XMax(v.geom), ST_YMax(v.geom)
FROM pick
JOIN area a ON a.id = pick.id AND a.retired_at IS NULL
JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL
JOIN level l ON l.key = a.level
LEFT JOIN area_stats s ON s.area_id = a.id
CROSS JOIN (SELECT $1::date AS day) env
LEFT JOIN LATERAL (` + qLeader + `) ld ON true`

// qAttributesAll reads every current area.
const qAttributesAll = `WITH pick AS (SELECT area_id AS id FROM area_version WHERE valid_to IS NULL)` + qAttributesOf

// qAttributesNear reads the current areas whose geometry meets any of the
// boxes ($2..$5: west, south, east, north arrays, EPSG:4326) and all their
// ancestors, whose totals include theirs.
const qAttributesNear = `
WITH RECURSIVE hit AS (
    SELECT DISTINCT v.area_id AS id
    FROM unnest($2::float8[], $3::float8[], $4::float8[], $5::float8[]) AS b(w, s, e, n)
    JOIN area_version v ON v.valid_to IS NULL AND v.geom && ST_MakeEnvelope(b.w, b.s, b.e, b.n, 4326)
), pick AS (
    SELECT id FROM hit
    UNION
    SELECT a.parent_id FROM pick JOIN area a ON a.id = pick.id WHERE a.parent_id IS NOT NULL
)` + qAttributesOf

// AreaAttributes returns the attributes on day of the current areas meeting
// bounds and of their ancestors; nil bounds: of every current area.
func (s *Source) AreaAttributes(ctx context.Context, day time.Time, bounds []orb.Bound) ([]tiles.AreaAttributes, error) {
	var rows pgx.Rows
	var err error
	if bounds == nil {
		rows, err = s.pool().Query(ctx, qAttributesAll, day)
	} else {
		w, so, e, n := make([]float64, len(bounds)), make([]float64, len(bounds)), make([]float64, len(bounds)), make([]float64, len(bounds))
		for i, b := range bounds {
			w[i], so[i], e[i], n[i] = b.Min[0], b.Min[1], b.Max[0], b.Max[1]
		}
		rows, err = s.pool().Query(ctx, qAttributesNear, day, w, so, e, n)
	}
	if err != nil {
		return nil, dbErr(ctx, "tiles.AreaAttributes", err)
	}
	var out []tiles.AreaAttributes
	var a tiles.AreaAttributes
	_, err = pgx.ForEachRow(rows, []any{&a.ID, &a.Level, &a.Depth, &a.Code, &a.Name, &a.Leader, &a.Households, &a.Residents,
		&a.Bound.Min[0], &a.Bound.Min[1], &a.Bound.Max[0], &a.Bound.Max[1]}, func() error {
		out = append(out, a)
		return nil
	})
	if err != nil {
		return nil, dbErr(ctx, "tiles.AreaAttributes", err)
	}
	return out, nil
}

// dbErr wraps a database error: a context's end stays a context error (the
// client went away, or the tile timeout passed); the rest is data.DBError's
// one mapping (statement timeout: ETimeout, unreachable: EUnavailable).
func dbErr(ctx context.Context, op string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%s: %w (%v)", op, ctxErr, err)
	}
	return data.DBError(op, err)
}
