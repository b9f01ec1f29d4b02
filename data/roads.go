package data

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/ewkb"
	"github.com/paulmach/orb/encoding/wkb"

	"gridmap/geo"
)

// The roads import replaces every road of one source in one transaction:
// a change record (operation import.roads, so the data version moves and
// tile ETags change), DELETE of the source's roads, COPY of the new ones,
// and one change event on the roads layer with the extents of the old and
// the new roads, which removes exactly the cached tiles they touch.
const (
	qRoadsExtent = `
SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e), n
FROM (SELECT ST_Extent(geom) AS e, count(*) AS n FROM road WHERE source = $1) x WHERE e IS NOT NULL`
	qDeleteRoads = `DELETE FROM road WHERE source = $1`
	// qLockRoadSource serialises imports of one source: two at once would
	// each delete the (same) old roads and both insert theirs.
	qLockRoadSource = `SELECT pg_advisory_xact_lock(hashtext('gridmap.road:' || $1))`
)

// roadColumns are the columns COPY writes, in order.
var roadColumns = []string{"name", "class", "geom", "source", "ref"}

// ReplaceRoads replaces the roads of source with roads (each of whose Source
// must be source) and reports what it did. Roads are validated first (class,
// text, at least two distinct positions in range); any invalid road fails the
// whole call with EInvalid naming it. opt.DryRun validates and rolls back;
// opt.Author and opt.Reason go into the change record.
func (im *Importer) ReplaceRoads(ctx context.Context, source string, roads []geo.Road, opt geo.ImportOptions) (*geo.RoadImportReport, error) {
	const op = "data.ReplaceRoads"
	if err := geo.CheckText("road source", source, geo.MaxRoadSource); err != nil {
		return nil, err
	}
	if source == "" {
		return nil, geo.Errorf(geo.EInvalid, "road source must not be empty: a re-import replaces the roads of its source")
	}
	rep := &geo.RoadImportReport{Source: source, ByClass: map[geo.RoadClass]int{}}
	var newBound orb.Bound
	for i, r := range roads {
		if err := checkRoad(r, source); err != nil {
			return nil, fmt.Errorf("%s: road %d (%s): %w", op, i+1, r.Ref, err)
		}
		if b := r.Line.Bound(); i == 0 {
			newBound = b
		} else {
			newBound = newBound.Union(b)
		}
		rep.ByClass[r.Class]++
	}
	tx, err := im.db.Pool.Begin(ctx)
	if err != nil {
		return nil, dbErr(op, err)
	}
	defer tx.Rollback(ctx)
	if _, err := tx.Exec(ctx, qLockRoadSource, source); err != nil {
		return nil, dbErr(op, err)
	}
	rep.ChangeID, err = insertChange(ctx, tx, opt, "import.roads", map[string]any{"source": source, "roads": len(roads)})
	if err != nil {
		return nil, dbErr(op, err)
	}
	var bounds []orb.Bound
	var old orb.Bound
	switch err := tx.QueryRow(ctx, qRoadsExtent, source).Scan(&old.Min[0], &old.Min[1], &old.Max[0], &old.Max[1], &rep.Replaced); err {
	case nil:
		bounds = append(bounds, old)
	case pgx.ErrNoRows:
	default:
		return nil, dbErr(op, err)
	}
	if _, err := tx.Exec(ctx, qDeleteRoads, source); err != nil {
		return nil, dbErr(op, err)
	}
	if rep.Imported, err = copyRoads(ctx, tx, roads, opt.Progress); err != nil {
		return nil, dbErr(op, err)
	}
	if opt.DryRun {
		return rep, nil
	}
	if len(roads) > 0 {
		bounds = append(bounds, newBound)
	}
	if err := announceRoads(ctx, tx, rep.ChangeID, bounds); err != nil {
		return nil, dbErr(op, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, dbErr(op, err)
	}
	return rep, nil
}

// copyRoads writes roads with COPY and returns how many it wrote.
func copyRoads(ctx context.Context, tx pgx.Tx, roads []geo.Road, progress func(done, total int)) (int, error) {
	n := 0
	rows := pgx.CopyFromFunc(func() ([]any, error) {
		if n == len(roads) {
			return nil, nil
		}
		r := roads[n]
		n++
		if progress != nil && (n%10000 == 0 || n == len(roads)) {
			progress(n, len(roads))
		}
		return []any{r.Name, string(r.Class), ewkb.MustMarshal(r.Line, 4326), r.Source, r.Ref}, nil
	})
	copied, err := tx.CopyFrom(ctx, pgx.Identifier{"road"}, roadColumns, rows)
	return int(copied), err
}

// announceRoads queues the roads-layer change event of change (bounds: the
// extents of the roads removed and written; none, no event).
func announceRoads(ctx context.Context, tx pgx.Tx, change int64, bounds []orb.Bound) error {
	if len(bounds) == 0 {
		return nil
	}
	return announce(ctx, tx, geo.ChangeEvent{Change: change, Layer: geo.LayerRoads, Bounds: bounds})
}

// loadRoads writes the roads of a dataset load (LoadDataset) in its
// transaction, checked as ReplaceRoads checks them.
func loadRoads(ctx context.Context, tx pgx.Tx, change int64, roads []geo.Road) error {
	if len(roads) == 0 {
		return nil
	}
	b := roads[0].Line.Bound()
	for i, r := range roads {
		if err := checkRoad(r, r.Source); err != nil {
			return fmt.Errorf("data.LoadDataset: road %d (%s): %w", i+1, r.Ref, err)
		}
		b = b.Union(r.Line.Bound())
	}
	if _, err := copyRoads(ctx, tx, roads, nil); err != nil {
		return dbErr("data.LoadDataset", err)
	}
	return dbErr("data.LoadDataset", announceRoads(ctx, tx, change, []orb.Bound{b}))
}

// checkRoad is the rule a road must pass before it is written (the road
// table checks the same, so a bad road is named here rather than failing the
// COPY as a whole).
func checkRoad(r geo.Road, source string) error {
	if _, ok := geo.ParseRoadClass(string(r.Class)); !ok {
		return geo.Errorf(geo.EInvalid, "class must be major, minor or path, got %q", r.Class)
	}
	if r.Source != source {
		return geo.Errorf(geo.EInvalid, "source %q differs from the import's %q", r.Source, source)
	}
	if err := geo.CheckText("name", r.Name, geo.MaxRoadName); err != nil {
		return err
	}
	if err := geo.CheckText("ref", r.Ref, geo.MaxRoadRef); err != nil {
		return err
	}
	distinct := 0
	for i, p := range r.Line {
		if err := geo.ValidateLonLat(p[0], p[1]); err != nil {
			return fmt.Errorf("position %d: %w", i+1, err)
		}
		if i == 0 || p != r.Line[i-1] {
			distinct++
		}
	}
	if distinct < 2 {
		return geo.Errorf(geo.EInvalid, "a road needs at least 2 distinct positions, got %d", distinct)
	}
	return nil
}

const qRoadsNear = `
SELECT name, class, ST_AsBinary(geom), source, ref FROM road
WHERE geom && ST_MakeEnvelope($1, $2, $3, $4, 4326)
ORDER BY id`

// RoadsIn returns the roads whose bounding box meets b (EPSG:4326), in
// import order.
func (im *Importer) RoadsIn(ctx context.Context, b orb.Bound) ([]geo.Road, error) {
	rows, err := im.db.Pool.Query(ctx, qRoadsNear, b.Min[0], b.Min[1], b.Max[0], b.Max[1])
	if err != nil {
		return nil, dbErr("data.RoadsIn", err)
	}
	var out []geo.Road
	var r geo.Road
	var class string
	var line orb.LineString
	_, err = pgx.ForEachRow(rows, []any{&r.Name, &class, wkb.Scanner(&line), &r.Source, &r.Ref}, func() error {
		r.Class, r.Line = geo.RoadClass(class), append(orb.LineString(nil), line...)
		out = append(out, r)
		return nil
	})
	if err != nil {
		return nil, dbErr("data.RoadsIn", err)
	}
	return out, nil
}
