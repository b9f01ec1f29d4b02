package data

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"gridmap/geo"
)

// Importer writes imported areas, buildings and datasets; every call is one
// transaction with one change record, so an import lands whole or not at all.
type Importer struct{ db *DB }

// NewImporter returns an Importer on db.
func NewImporter(db *DB) *Importer { return &Importer{db: db} }

var (
	_ geo.Importer   = (*Importer)(nil)
	_ geo.RoadReader = (*Importer)(nil)
)

const qEmpty = `SELECT NOT EXISTS (SELECT 1 FROM area)`

// Empty reports whether the database holds no areas.
func (im *Importer) Empty(ctx context.Context) (bool, error) {
	var empty bool
	err := im.db.Pool.QueryRow(ctx, qEmpty).Scan(&empty)
	return empty, dbErr("data.Empty", err)
}

// Memory for the one transaction of an import or a dataset load (the
// cluster's defaults are sized for many small requests): work_mem for its
// sorts and hash joins (the grid join's DISTINCT ON and the insert's ORDER BY
// over a million staged rows spilled to disk at 4 MB), temp_buffers for its
// staging tables (at 8 MB every pass over a 200 MB temporary table read it
// back through the kernel: building the staging table's GiST index took
// 8.7 s instead of 4.4 s, its ANALYZE 1.8 s instead of 0.4 s; docs/scale.md).
// SET LOCAL ends with the transaction. temp_buffers cannot change once the
// connection has used a temporary table; then the import keeps the size it
// has (the savepoint undoes the failed SET without failing the import).
const (
	qBatchWorkMem     = `SELECT set_config('work_mem', '256MB', true)`
	qBatchTempBuffers = `SELECT set_config('temp_buffers', '1GB', true)`
)

// batchSettings applies qBatchWorkMem and, where the connection allows it,
// qBatchTempBuffers to tx.
func batchSettings(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, qBatchWorkMem); err != nil {
		return err
	}
	sp, err := tx.Begin(ctx)
	if err != nil {
		return err
	}
	if _, err := sp.Exec(ctx, qBatchTempBuffers); err != nil {
		return sp.Rollback(ctx)
	}
	return sp.Commit(ctx)
}

const qInsertChange = `INSERT INTO change (author, operation, reason, detail) VALUES ($1, $2, $3, $4) RETURNING id`

func insertChange(ctx context.Context, tx pgx.Tx, opt geo.ImportOptions, operation string, detail any) (int64, error) {
	author := opt.Author
	if author == "" {
		author = "system"
	}
	d, err := json.Marshal(detail)
	if err != nil {
		return 0, err
	}
	var id int64
	err = tx.QueryRow(ctx, qInsertChange, author, operation, opt.Reason, d).Scan(&id)
	return id, err
}

// finish commits tx unless the options or the report say not to.
func finish(ctx context.Context, tx pgx.Tx, opt geo.ImportOptions, rep *geo.ImportReport, op string) (*geo.ImportReport, error) {
	if opt.Strict && len(rep.Rejected) > 0 {
		return rep, &geo.Error{Code: geo.EInvalid, Message: fmt.Sprintf("%d of %d items rejected (first: %s: %s); nothing was imported",
			len(rep.Rejected), rep.Imported+len(rep.Rejected), rep.Rejected[0].Ref, rep.Rejected[0].Reason)}
	}
	if opt.DryRun {
		return rep, nil
	}
	// Record the areas the import created, so an area's history starts with it.
	if _, err := tx.Exec(ctx, qRecordCreated, rep.ChangeID); err != nil {
		return nil, dbErr(op, err)
	}
	if err := announceChange(ctx, tx, rep.ChangeID); err != nil {
		return nil, dbErr(op, err)
	}
	if err := tx.Commit(ctx); err != nil {
		return nil, dbErr(op, err)
	}
	return rep, nil
}

const qRecordCreated = `
INSERT INTO change_area (change_id, area_id, before_version, after_version)
SELECT change_id, area_id, NULL, id FROM area_version WHERE change_id = $1`

// ImportAreas creates areas in one transaction. Invalid geometries are
// repaired with ST_MakeValid (polygonal part kept) and listed as repaired;
// items that cannot be imported are listed as rejected with the reason.
func (im *Importer) ImportAreas(ctx context.Context, in []geo.AreaInput, opt geo.ImportOptions) (*geo.ImportReport, error) {
	tx, err := im.db.Pool.Begin(ctx)
	if err != nil {
		return nil, dbErr("data.ImportAreas", err)
	}
	defer tx.Rollback(ctx)
	if err := batchSettings(ctx, tx); err != nil {
		return nil, dbErr("data.ImportAreas", err)
	}
	rep := &geo.ImportReport{Repaired: []geo.Problem{}, Rejected: []geo.Problem{}}
	rep.ChangeID, err = insertChange(ctx, tx, opt, "import.areas", map[string]any{"items": len(in)})
	if err != nil {
		return nil, dbErr("data.ImportAreas", err)
	}
	if err := importAreas(ctx, tx, rep, in, opt.Progress); err != nil {
		return nil, err
	}
	if err := assignGrids(ctx, tx, rep.ChangeID); err != nil {
		return nil, err
	}
	return finish(ctx, tx, opt, rep, "data.ImportAreas")
}

type levelInfo struct {
	hierarchy string
	depth     int
}

const qLevelInfo = `SELECT key, hierarchy, depth FROM level`

func levelInfos(ctx context.Context, tx pgx.Tx) (map[string]levelInfo, error) {
	rows, err := tx.Query(ctx, qLevelInfo)
	if err != nil {
		return nil, err
	}
	m := map[string]levelInfo{}
	var k string
	var li levelInfo
	_, err = pgx.ForEachRow(rows, []any{&k, &li.hierarchy, &li.depth}, func() error { m[k] = li; return nil })
	return m, err
}

// The area import stages every item with COPY (area_in) and repairs, checks
// and inserts them with one statement per step and level, not one round trip
// per item; the decisions and their wording stay here in Go.

const qCreateAreaStaging = `
CREATE TEMP TABLE area_in (
    ord int PRIMARY KEY, depth int, level text, raw bytea,
    valid boolean, reason text, geom geometry, empty boolean, x float8, y float8, height float8,
    err_state text, err_message text
) ON COMMIT DROP`

// qRepairStaged repairs every staged geometry to its polygonal part and finds
// a point on its surface (for the parent search and code sequencing); see
// import_area_repair (migration 016).
const qRepairStaged = `
UPDATE area_in s SET valid = r.valid, reason = r.reason, geom = r.geom, empty = r.empty,
       x = r.x, y = r.y, height = r.height, err_state = r.err_state, err_message = r.err_message
FROM area_in t, LATERAL import_area_repair(t.raw) r
WHERE t.ord = s.ord`

// qStagedParents answers, for the staged items of one depth, the repair and
// the parent: by code ($2, from the items' parent codes by ord) when one was
// given, otherwise the smallest current area one level above in the item's
// hierarchy ($3 by ord) that covers the point on the surface.
//
// Which of the two searches applies is tested inside each LATERAL subquery
// (a one-time filter), not in its ON clause: PostgreSQL runs a lateral
// subquery for every outer row and applies an outer-only ON condition only
// afterwards, so with the condition in ON every item that named its parent
// was searched for spatially too (ST_Covers against the level above's
// polygons, which grow with the city: at 100,000 grids the community level's
// search took 31 s against 5.7 s at 50,000; docs/scale.md).
const qStagedParents = `
SELECT s.ord, s.err_state IS NOT NULL, coalesce(s.err_state, ''), coalesce(s.err_message, ''),
       coalesce(s.valid, false), coalesce(s.reason, ''), coalesce(s.empty, false),
       coalesce(s.x, 0), coalesce(s.y, 0), coalesce(s.height, 0),
       coalesce(bc.id, bp.id, 0), coalesce(bc.code, bp.code, ''), coalesce(bc.level, ''), coalesce(bc.hierarchy, ''),
       coalesce(bc.depth, -1), coalesce(bc.retired, false)
FROM area_in s
JOIN unnest($2::int[], $3::text[], $4::text[]) AS pc(ord, hierarchy, parent_code) ON pc.ord = s.ord
LEFT JOIN LATERAL (
    SELECT a.id, a.code, a.level, l.hierarchy, l.depth, a.retired_at IS NOT NULL AS retired
    FROM area a JOIN level l ON l.key = a.level
    WHERE pc.parent_code <> '' AND a.code = pc.parent_code) bc ON true
LEFT JOIN LATERAL (
    SELECT a.id, a.code FROM area a
    JOIN level l ON l.key = a.level
    JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL
    WHERE pc.parent_code = '' AND $1 > 0 AND s.err_state IS NULL AND NOT s.empty
      AND l.hierarchy = pc.hierarchy AND l.depth = $1 - 1 AND a.retired_at IS NULL
      AND ST_Covers(v.geom, ST_SetSRID(ST_MakePoint(s.x, s.y), 4326))
    ORDER BY ST_Area(v.geom), a.code
    LIMIT 1) bp ON true
WHERE s.depth = $1
ORDER BY s.ord`

const qCodesTaken = `SELECT code FROM area_code WHERE code = ANY($1)`

// Statistics for the planner inside the import's transaction: temporary
// tables have none, and the areas just inserted are not in area's and
// area_version's until analysed, without which the next level's parent search
// and the buildings' grid join do not use the spatial indexes.
const (
	qAnalyzeStaged       = `ANALYZE area_in`
	qAnalyzeAreas        = `ANALYZE area, area_version`
	qAnalyzeBuildingPrep = `ANALYZE building_prep`
)

// qInsertStaged inserts the accepted items of one depth, in the given order,
// with their codes, versions and claimed codes, in one statement.
const qInsertStaged = `
WITH u AS (SELECT * FROM unnest($2::int[], $3::text[], $4::text[], $5::bigint[]) WITH ORDINALITY AS u(ord, code, name, parent, n)),
ins AS (
    INSERT INTO area (level, code, name, parent_id, created_change)
    SELECT s.level, u.code, u.name, nullif(u.parent, 0), $1 FROM u JOIN area_in s ON s.ord = u.ord ORDER BY u.n
    RETURNING id, code),
claim AS (INSERT INTO area_code (code, area_id, change_id) SELECT code, id, $1 FROM ins),
ver AS (
    INSERT INTO area_version (area_id, geom, change_id)
    SELECT ins.id, s.geom, $1 FROM ins JOIN u ON u.code = ins.code JOIN area_in s ON s.ord = u.ord)
SELECT count(*) FROM ins`

type pendingArea struct {
	in       geo.AreaInput
	ord      int
	pos      orb.Point
	height   float64
	parentID int64
	parent   string // parent code
}

// stagedProblem is a rejection found while preparing one level, kept with its
// position so that the report lists them in input order as before.
type stagedProblem struct {
	ord         int
	ref, reason string
}

func importAreas(ctx context.Context, tx pgx.Tx, rep *geo.ImportReport, in []geo.AreaInput, progress func(int, int)) error {
	levels, err := levelInfos(ctx, tx)
	if err != nil {
		return dbErr("data.ImportAreas", err)
	}
	reject := func(ref, format string, args ...any) {
		rep.Rejected = append(rep.Rejected, geo.Problem{Ref: ref, Reason: fmt.Sprintf(format, args...)})
	}
	// Parents before children, whatever the input order.
	order := make([]int, len(in))
	for i := range order {
		order[i] = i
	}
	for _, a := range in {
		if _, ok := levels[a.Level]; !ok {
			known := make([]string, 0, len(levels))
			for k := range levels {
				known = append(known, k)
			}
			sort.Strings(known)
			return geo.Errorf(geo.EInvalid, "unknown level %q; levels are: %s", a.Level, strings.Join(known, ", "))
		}
	}
	sort.SliceStable(order, func(i, j int) bool { return levels[in[order[i]].Level].depth < levels[in[order[j]].Level].depth })

	// Checks that need no database, then one COPY of everything left; ord is
	// the position in the sorted order.
	early := map[int]string{}
	var staged [][]any
	for ord, idx := range order {
		a := in[idx]
		if problem := checkAreaInput(a); problem != "" {
			early[ord] = problem
			continue
		}
		raw, err := wkb.Marshal(a.Geometry)
		if err != nil {
			early[ord] = "geometry cannot be encoded: " + err.Error()
			continue
		}
		staged = append(staged, []any{ord, levels[a.Level].depth, a.Level, raw})
	}
	if _, err := tx.Exec(ctx, qCreateAreaStaging); err != nil {
		return dbErr("data.ImportAreas", err)
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"area_in"}, []string{"ord", "depth", "level", "raw"}, pgx.CopyFromRows(staged)); err != nil {
		return dbErr("data.ImportAreas", err)
	}
	if _, err := tx.Exec(ctx, qRepairStaged); err != nil {
		return dbErr("data.ImportAreas", err)
	}
	if _, err := tx.Exec(ctx, qAnalyzeStaged); err != nil {
		return dbErr("data.ImportAreas", err)
	}

	done := 0
	for start := 0; start < len(order); {
		depth := levels[in[order[start]].Level].depth
		end := start
		for end < len(order) && levels[in[order[end]].Level].depth == depth {
			end++
		}
		var problems []stagedProblem
		for ord := start; ord < end; ord++ {
			if p, ok := early[ord]; ok {
				problems = append(problems, stagedProblem{ord, in[order[ord]].Ref, p})
			}
		}
		group, late, err := prepareAreas(ctx, tx, rep, in, order, start, end, depth, levels)
		if err != nil {
			return err
		}
		problems = append(problems, late...)
		sort.SliceStable(problems, func(i, j int) bool { return problems[i].ord < problems[j].ord })
		for _, p := range problems {
			reject(p.ref, "%s", p.reason)
		}
		if err := assignAreaCodes(ctx, tx, group, levels); err != nil {
			return err
		}
		n, err := insertAreas(ctx, tx, group, rep.ChangeID, reject)
		if err != nil {
			return dbErr("data.ImportAreas", err)
		}
		if _, err := tx.Exec(ctx, qAnalyzeAreas); err != nil {
			return dbErr("data.ImportAreas", err)
		}
		rep.Imported += n
		done += n
		if progress != nil {
			progress(done, len(in))
		}
		start = end
	}
	return nil
}

// checkAreaInput is the check of one item that needs no database; a non-empty
// answer rejects it.
func checkAreaInput(a geo.AreaInput) string {
	if a.Problem != "" {
		return a.Problem
	}
	if err := geo.ValidateMultiPolygon(a.Geometry); err != nil {
		return geo.ErrorMessage(err)
	}
	if a.Code != "" {
		if err := geo.ValidateImportedCode(a.Code); err != nil {
			return geo.ErrorMessage(err)
		}
	}
	return ""
}

// prepareAreas reads the repair and the parent of the staged items at
// positions start..end of order (all of one depth) and decides which go on;
// the others come back as problems.
func prepareAreas(ctx context.Context, tx pgx.Tx, rep *geo.ImportReport, in []geo.AreaInput, order []int, start, end, depth int,
	levels map[string]levelInfo) ([]*pendingArea, []stagedProblem, error) {
	ords := make([]int32, 0, end-start)
	hierarchies := make([]string, 0, end-start)
	parents := make([]string, 0, end-start)
	for ord := start; ord < end; ord++ {
		a := in[order[ord]]
		ords = append(ords, int32(ord))
		hierarchies = append(hierarchies, levels[a.Level].hierarchy)
		parents = append(parents, a.ParentCode)
	}
	rows, err := tx.Query(ctx, qStagedParents, depth, ords, hierarchies, parents)
	if err != nil {
		return nil, nil, dbErr("data.ImportAreas", err)
	}
	defer rows.Close()
	var group []*pendingArea
	var problems []stagedProblem
	for rows.Next() {
		var ord int
		var failed, valid, empty, retired bool
		var state, message, reason, plevel, phier string
		var pdepth int
		p := &pendingArea{}
		if err := rows.Scan(&ord, &failed, &state, &message, &valid, &reason, &empty, &p.pos[0], &p.pos[1], &p.height,
			&p.parentID, &p.parent, &plevel, &phier, &pdepth, &retired); err != nil {
			return nil, nil, dbErr("data.ImportAreas", err)
		}
		p.in, p.ord = in[order[ord]], ord
		problem, err := decideArea(rep, p, levels[p.in.Level], failed, state, message, valid, reason, empty, plevel, phier, pdepth, retired)
		if err != nil {
			return nil, nil, err
		}
		if problem != "" {
			problems = append(problems, stagedProblem{ord, p.in.Ref, problem})
			continue
		}
		group = append(group, p)
	}
	if err := rows.Err(); err != nil {
		return nil, nil, dbErr("data.ImportAreas", err)
	}
	return group, problems, nil
}

// decideArea applies the repair and parent rules to one staged item: it
// lists a repair, and a non-empty problem rejects the item.
func decideArea(rep *geo.ImportReport, p *pendingArea, li levelInfo, failed bool, state, message string, valid bool, reason string,
	empty bool, plevel, phier string, pdepth int, retired bool) (string, error) {
	a := p.in
	if failed {
		ge := dbErr("data.ImportAreas", &pgconn.PgError{Code: state, Message: message})
		if geo.ErrorCode(ge) == geo.EInvalid {
			return "geometry rejected by PostGIS: " + geo.ErrorMessage(ge), nil
		}
		return "", ge
	}
	if empty {
		return fmt.Sprintf("geometry has no area (%s); nothing polygonal is left after repair", reason), nil
	}
	if !valid {
		rep.Repaired = append(rep.Repaired, geo.Problem{Ref: a.Ref, Reason: reason})
	}
	if li.depth == 0 {
		if a.ParentCode != "" {
			return fmt.Sprintf("level %s is the top of hierarchy %s and takes no parent, got parent code %q", a.Level, li.hierarchy, a.ParentCode), nil
		}
		p.parentID, p.parent = 0, ""
		return "", nil
	}
	if a.ParentCode != "" {
		switch {
		case p.parentID == 0:
			return fmt.Sprintf("parent code %q matches no area", a.ParentCode), nil
		case phier != li.hierarchy || pdepth != li.depth-1:
			return fmt.Sprintf("parent %q is a %s, but a %s's parent must be one level above it in hierarchy %s", a.ParentCode, plevel, a.Level, li.hierarchy), nil
		case retired:
			return fmt.Sprintf("parent %q is retired", a.ParentCode), nil
		}
		return "", nil
	}
	if p.parentID == 0 {
		return fmt.Sprintf("no area one level above %s covers its point-on-surface (%.6f %.6f)", a.Level, p.pos[0], p.pos[1]), nil
	}
	return "", nil
}

// assignAreaCodes gives codes to the areas of one level that arrived without
// one: per parent, in west→east, north→south order, the next free sequence.
// Under a 12-digit community code that is the 15-digit grid code; elsewhere
// parent code + "-" + 3 digits.
func assignAreaCodes(ctx context.Context, tx pgx.Tx, group []*pendingArea, levels map[string]levelInfo) error {
	byParent := map[string][]*pendingArea{}
	var parents []string
	for _, p := range group {
		if p.in.Code != "" {
			continue
		}
		key := p.parent
		if key == "" {
			key = p.in.Level
		}
		if _, ok := byParent[key]; !ok {
			parents = append(parents, key)
		}
		byParent[key] = append(byParent[key], p)
	}
	for _, parent := range parents {
		ps := byParent[parent]
		pts := make([]orb.Point, len(ps))
		heights := make([]float64, len(ps))
		for i, p := range ps {
			pts[i], heights[i] = p.pos, p.height
		}
		slices.Sort(heights)
		band := heights[len(heights)/2] / 2 // rows about half an area high
		used, err := usedCodes(ctx, tx, parent)
		if err != nil {
			return dbErr("data.ImportAreas", err)
		}
		statCode := geo.ValidateStatCode(parent) == nil
		next := nextDashSequence(parent, used)
		if statCode {
			if next, err = geo.NextGridSequence(parent, used); err != nil {
				return err
			}
		}
		for _, i := range geo.SequenceOrder(pts, band) {
			if statCode {
				code, err := geo.GridCode(parent, next)
				if err != nil {
					return err
				}
				ps[i].in.Code = code
			} else {
				ps[i].in.Code = fmt.Sprintf("%s-%03d", parent, next)
			}
			next++
		}
	}
	return nil
}

func nextDashSequence(prefix string, used []string) int {
	n := 0
	for _, c := range used {
		var k int
		if rest, ok := strings.CutPrefix(c, prefix+"-"); ok {
			if _, err := fmt.Sscanf(rest, "%d", &k); err == nil {
				n = max(n, k)
			}
		}
	}
	return n + 1
}

// insertAreas inserts the areas of one level in order; an item whose code is
// or was in use, including by an earlier item of this import, is rejected.
func insertAreas(ctx context.Context, tx pgx.Tx, group []*pendingArea, change int64, reject func(ref, format string, args ...any)) (int, error) {
	codes := make([]string, len(group))
	for i, p := range group {
		codes[i] = p.in.Code
	}
	rows, err := tx.Query(ctx, qCodesTaken, codes)
	if err != nil {
		return 0, err
	}
	takenList, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, err
	}
	taken := make(map[string]bool, len(takenList))
	for _, c := range takenList {
		taken[c] = true
	}
	var ords []int32
	var names, parentIDs = []string{}, []int64{}
	codes = codes[:0]
	for _, p := range group {
		if taken[p.in.Code] {
			reject(p.in.Ref, "code %q is already used (codes are never reused, even after retirement)", p.in.Code)
			continue
		}
		taken[p.in.Code] = true
		name := strings.TrimSpace(p.in.Name)
		if name == "" {
			name = p.in.Code
		}
		ords = append(ords, int32(p.ord))
		codes = append(codes, p.in.Code)
		names = append(names, name)
		parentIDs = append(parentIDs, p.parentID)
	}
	if len(ords) == 0 {
		return 0, nil
	}
	var n int
	err = tx.QueryRow(ctx, qInsertStaged, change, ords, codes, names, parentIDs).Scan(&n)
	return n, err
}

// qAssignGrids sets the grid of each building near areas changed by change $1
// to grid_of (migration 004: the lowest current area of the default hierarchy
// covering it, by the lookup's border rule), writing only rows whose grid
// changes. Imported buildings get theirs as they are inserted.
const qAssignGrids = `
UPDATE building b SET grid_id = n.grid
FROM (SELECT id, grid_of(geom, $2) AS grid FROM building x
      WHERE EXISTS (SELECT 1 FROM area_version nv WHERE nv.change_id = $1 AND nv.geom && x.geom)) n
WHERE n.id = b.id AND b.grid_id IS DISTINCT FROM n.grid`

func assignGrids(ctx context.Context, tx pgx.Tx, change int64) error {
	_, err := tx.Exec(ctx, qAssignGrids, change, geo.DefaultHierarchy)
	return dbErr("data.assignGrids", err)
}

// ImportBuildings creates buildings in one transaction. A footprint without a
// point gets ST_PointOnSurface; a building without a code gets the next
// "B" + 7-digit code; each building is assigned to its grid as it is inserted.
func (im *Importer) ImportBuildings(ctx context.Context, in []geo.Building, opt geo.ImportOptions) (*geo.ImportReport, error) {
	tx, err := im.db.Pool.Begin(ctx)
	if err != nil {
		return nil, dbErr("data.ImportBuildings", err)
	}
	defer tx.Rollback(ctx)
	if err := batchSettings(ctx, tx); err != nil {
		return nil, dbErr("data.ImportBuildings", err)
	}
	rep := &geo.ImportReport{Repaired: []geo.Problem{}, Rejected: []geo.Problem{}}
	rep.ChangeID, err = insertChange(ctx, tx, opt, "import.buildings", map[string]any{"items": len(in)})
	if err != nil {
		return nil, dbErr("data.ImportBuildings", err)
	}
	if _, err := importBuildings(ctx, tx, rep, in, opt.Progress); err != nil {
		return nil, err
	}
	return finish(ctx, tx, opt, rep, "data.ImportBuildings")
}

const qCreateStaging = `
CREATE TEMP TABLE building_in (
    ord int, ref text, code text, address text, address_norm text, name text, lon float8, lat float8, footprint bytea,
    households int, residents int, floors int, party_members int, elderly_alone int, disabled int, low_income int, source text
) ON COMMIT DROP`

const qExistingBuildingCodes = `SELECT code FROM building WHERE code = ANY($1)`

// qPrepareStaged repairs the staged footprints once and places each building:
// its point, or the point on the surface of its footprint.
const qPrepareStaged = `
CREATE TEMP TABLE building_prep ON COMMIT DROP AS
SELECT s.*, CASE WHEN s.lon IS NOT NULL THEN ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326) ELSE ST_PointOnSurface(s.fp) END AS g
FROM (SELECT *, ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SetSRID(ST_GeomFromWKB(footprint), 4326)), 3)) AS fp
      FROM building_in) s`

// qUnplaceable drops staged buildings with neither a point nor a usable footprint.
const qUnplaceable = `DELETE FROM building_prep s WHERE s.lon IS NULL AND (s.fp IS NULL OR ST_IsEmpty(s.fp)) RETURNING s.ref`

const qIndexStaged = `CREATE INDEX ON building_prep USING gist (g)`

// qGridsOfStaged is grid_of (migration 016) for every staged building at once:
// per building the lowest current area of hierarchy $1 covering it; among
// those of that level, one whose interior holds it, then the smallest code.
// The join runs area by area over the staged points' index, so PostGIS
// prepares each area's polygon once instead of testing every building
// against every polygon around it from scratch (about 4× faster than calling
// grid_of per building). TestImportedBuildingsFollowGridOf holds the two equal.
//
// It runs in two steps. The first joins only the areas of the hierarchy's
// deepest level: a building covered by one of them has its answer there, and
// in a city that is nearly every building, which then is not tested against
// the community, subdistrict and district around it too (1,000,000
// buildings: 5.6 s instead of 21 s). The second joins the few buildings left
// (qStagedWithoutGrid) with every level, as grid_of does.
const (
	qGridsOfStaged = `
CREATE TEMP TABLE building_grid ON COMMIT DROP AS
SELECT DISTINCT ON (b.ord) b.ord, c.id AS grid
FROM building_prep b JOIN grid_candidate c ON c.hierarchy = $1 AND ST_Covers(c.geom, b.g)
 AND c.depth = (SELECT max(depth) FROM level WHERE hierarchy = $1)
ORDER BY b.ord, ST_Contains(c.geom, b.g) DESC, c.code`
	qStagedWithoutGrid = `
CREATE TEMP TABLE building_rest ON COMMIT DROP AS
SELECT p.ord, p.g FROM building_prep p WHERE NOT EXISTS (SELECT 1 FROM building_grid x WHERE x.ord = p.ord)`
	qAnalyzeStagedWithoutGrid = `ANALYZE building_rest`
	qGridsOfRest              = `
INSERT INTO building_grid
SELECT DISTINCT ON (b.ord) b.ord, c.id AS grid
FROM building_rest b JOIN grid_candidate c ON c.hierarchy = $1 AND ST_Covers(c.geom, b.g)
ORDER BY b.ord, c.depth DESC, ST_Contains(c.geom, b.g) DESC, c.code`
)

// qInsertBuildings inserts the staged buildings in input order with their
// grids, so an import writes every row once instead of inserting and then
// updating it.
const qInsertBuildings = `
INSERT INTO building (code, address, address_norm, name, geom, footprint, grid_id, households, residents, floors,
                      party_members, elderly_alone, disabled, low_income, source, created_change)
SELECT coalesce(nullif(s.code, ''), 'B' || lpad(nextval('building_code_seq')::text, 7, '0')),
       s.address, s.address_norm, s.name, s.g, CASE WHEN ST_IsEmpty(s.fp) THEN NULL ELSE s.fp END, bg.grid,
       s.households, s.residents, s.floors, s.party_members, s.elderly_alone, s.disabled, s.low_income, s.source, $1
FROM building_prep s LEFT JOIN building_grid bg ON bg.ord = s.ord
ORDER BY s.ord`

// importBuildings stages the rows with COPY and inserts them in one
// statement; it returns the codes by input index for duty links.
func importBuildings(ctx context.Context, tx pgx.Tx, rep *geo.ImportReport, in []geo.Building, progress func(int, int)) (int, error) {
	if _, err := tx.Exec(ctx, qCreateStaging); err != nil {
		return 0, dbErr("data.ImportBuildings", err)
	}
	reject := func(ref, format string, args ...any) {
		rep.Rejected = append(rep.Rejected, geo.Problem{Ref: ref, Reason: fmt.Sprintf(format, args...)})
	}
	seen := map[string]bool{}
	var codes []string
	for _, b := range in {
		if b.Code != "" {
			codes = append(codes, b.Code)
		}
	}
	rows, err := tx.Query(ctx, qExistingBuildingCodes, codes)
	if err != nil {
		return 0, dbErr("data.ImportBuildings", err)
	}
	existing, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, dbErr("data.ImportBuildings", err)
	}
	for _, c := range existing {
		seen[c] = true
	}
	// The rows are checked as COPY asks for them (one reused row, no
	// [][]any of the whole import: at 1,000,000 buildings that was ~0.5 GB
	// of boxed values for the garbage collector).
	staged, i := 0, -1
	row := make([]any, 17)
	next := func() ([]any, error) {
		for i+1 < len(in) {
			i++
			b := &in[i]
			ref := b.Source
			if ref == "" {
				ref = fmt.Sprintf("building %d", i)
			}
			if b.Code != "" {
				if err := geo.ValidateImportedCode(b.Code); err != nil {
					reject(ref, "%s", geo.ErrorMessage(err))
					continue
				}
				if seen[b.Code] {
					reject(ref, "building code %q is already used", b.Code)
					continue
				}
				seen[b.Code] = true
			}
			if b.Households < 0 || b.Residents < 0 || b.Floors < 0 || b.Counts.PartyMembers < 0 ||
				b.Counts.ElderlyAlone < 0 || b.Counts.Disabled < 0 || b.Counts.LowIncome < 0 {
				reject(ref, "counts must not be negative")
				continue
			}
			var lon, lat *float64
			var fp []byte
			if b.Footprint != nil {
				var err error
				if err = geo.ValidateMultiPolygon(b.Footprint); err != nil {
					reject(ref, "footprint: %s", geo.ErrorMessage(err))
					continue
				}
				if fp, err = wkb.Marshal(b.Footprint); err != nil {
					reject(ref, "footprint cannot be encoded: %v", err)
					continue
				}
			}
			if b.Footprint == nil || b.Point != (orb.Point{}) {
				if err := geo.ValidateLonLat(b.Point[0], b.Point[1]); err != nil {
					reject(ref, "%s", geo.ErrorMessage(err))
					continue
				}
				lon, lat = &b.Point[0], &b.Point[1]
			}
			row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8] = i, ref, b.Code, b.Address, geo.NormalizeAddress(b.Address), b.Name, lon, lat, fp
			row[9], row[10], row[11], row[12], row[13], row[14], row[15], row[16] = b.Households, b.Residents, b.Floors, b.Counts.PartyMembers, b.Counts.ElderlyAlone, b.Counts.Disabled, b.Counts.LowIncome, b.Source
			staged++
			if progress != nil && staged%5000 == 0 {
				progress(staged, len(in))
			}
			return row, nil
		}
		return nil, nil
	}
	cols := []string{"ord", "ref", "code", "address", "address_norm", "name", "lon", "lat", "footprint", "households", "residents", "floors",
		"party_members", "elderly_alone", "disabled", "low_income", "source"}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"building_in"}, cols, pgx.CopyFromFunc(next)); err != nil {
		return 0, dbErr("data.ImportBuildings", err)
	}
	if _, err := tx.Exec(ctx, qPrepareStaged); err != nil {
		return 0, dbErr("data.ImportBuildings", err)
	}
	rows, err = tx.Query(ctx, qUnplaceable)
	if err != nil {
		return 0, dbErr("data.ImportBuildings", err)
	}
	bad, err := pgx.CollectRows(rows, pgx.RowTo[string])
	if err != nil {
		return 0, dbErr("data.ImportBuildings", err)
	}
	for _, ref := range bad {
		reject(ref, "footprint has no area and there is no point")
	}
	for _, q := range []string{qIndexStaged, qAnalyzeBuildingPrep, qAnalyzeAreas} {
		if _, err := tx.Exec(ctx, q); err != nil {
			return 0, dbErr("data.ImportBuildings", err)
		}
	}
	for _, st := range []struct {
		q    string
		args []any
	}{
		{qGridsOfStaged, []any{geo.DefaultHierarchy}},
		{qStagedWithoutGrid, nil},
		{qAnalyzeStagedWithoutGrid, nil},
		{qGridsOfRest, []any{geo.DefaultHierarchy}},
	} {
		if _, err := tx.Exec(ctx, st.q, st.args...); err != nil {
			return 0, dbErr("data.ImportBuildings", err)
		}
	}
	n, err := insertStagedBuildings(ctx, tx, rep.ChangeID, staged-len(bad))
	if err != nil {
		return 0, dbErr("data.ImportBuildings", err)
	}
	rep.Imported += int(n)
	if progress != nil {
		progress(len(in), len(in))
	}
	return int(n), nil
}

// People, photos and duties are copied too: ids come from their sequences
// first (one statement each), so the rows go in with COPY and the duties can
// name their people.
const (
	qNextPersonIDs = `SELECT nextval(pg_get_serial_sequence('person', 'id')) FROM generate_series(1, $1)`
	qNextPhotoIDs  = `SELECT nextval(pg_get_serial_sequence('photo', 'id')) FROM generate_series(1, $1)`
	qCreateDutyIn  = `
CREATE TEMP TABLE duty_in (ord int, person_id bigint, area_code text, building_code text, role text, valid_from date) ON COMMIT DROP`
	qInsertDuties = `
INSERT INTO duty (person_id, area_id, building_id, role, valid_from, change_id)
SELECT d.person_id, a.id, b.id, d.role, d.valid_from, $1
FROM duty_in d
LEFT JOIN area a ON a.code = nullif(d.area_code, '')
LEFT JOIN building b ON b.code = nullif(d.building_code, '')
ORDER BY d.ord`
)

func nextIDs(ctx context.Context, tx pgx.Tx, q string, n int) ([]int64, error) {
	if n == 0 {
		return nil, nil
	}
	rows, err := tx.Query(ctx, q, n)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, pgx.RowTo[int64])
}

// loadPeople writes the people, their photos and duties of a dataset.
func loadPeople(ctx context.Context, tx pgx.Tx, ds *geo.Dataset, change int64) error {
	personIDs, err := nextIDs(ctx, tx, qNextPersonIDs, len(ds.People))
	if err != nil {
		return err
	}
	nPhotos := 0
	for _, p := range ds.People {
		if len(p.Photo) > 0 {
			nPhotos++
		}
	}
	photoIDs, err := nextIDs(ctx, tx, qNextPhotoIDs, nPhotos)
	if err != nil {
		return err
	}
	people := make(map[string]int64, len(ds.People))
	photos := make([][]any, 0, nPhotos)
	persons := make([][]any, 0, len(ds.People))
	for i, p := range ds.People {
		var photoID *int64
		if len(p.Photo) > 0 {
			photoID = &photoIDs[len(photos)]
			photos = append(photos, []any{*photoID, p.PhotoContentType, p.Photo})
		}
		persons = append(persons, []any{personIDs[i], p.Person.Name, p.Person.Phone, photoID,
			p.Person.PublicName, p.Person.PublicPhone, p.Person.PublicPhoto})
		people[p.Key] = personIDs[i]
	}
	duties := make([][]any, 0, len(ds.Duties))
	for i, d := range ds.Duties {
		pid, ok := people[d.PersonKey]
		if !ok {
			return geo.Errorf(geo.EInvalid, "duty names unknown person %q", d.PersonKey)
		}
		if !d.Role.Valid() {
			return geo.Errorf(geo.EInvalid, "duty of %q has unknown role %q", d.PersonKey, d.Role)
		}
		duties = append(duties, []any{i, pid, d.AreaCode, d.BuildingCode, string(d.Role), d.ValidFrom})
	}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"photo"}, []string{"id", "content_type", "bytes"}, pgx.CopyFromRows(photos)); err != nil {
		return err
	}
	personCols := []string{"id", "name", "phone", "photo_id", "public_name", "public_phone", "public_photo"}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"person"}, personCols, pgx.CopyFromRows(persons)); err != nil {
		return err
	}
	if _, err := tx.Exec(ctx, qCreateDutyIn); err != nil {
		return err
	}
	dutyCols := []string{"ord", "person_id", "area_code", "building_code", "role", "valid_from"}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"duty_in"}, dutyCols, pgx.CopyFromRows(duties)); err != nil {
		return err
	}
	_, err = tx.Exec(ctx, qInsertDuties, change)
	return err
}

// LoadDataset writes a whole dataset (areas, buildings, people with photos,
// duties) as one change in one transaction.
func (im *Importer) LoadDataset(ctx context.Context, ds *geo.Dataset, opt geo.ImportOptions) (*geo.ImportReport, error) {
	tx, err := im.db.Pool.Begin(ctx)
	if err != nil {
		return nil, dbErr("data.LoadDataset", err)
	}
	defer tx.Rollback(ctx)
	if err := batchSettings(ctx, tx); err != nil {
		return nil, dbErr("data.LoadDataset", err)
	}
	rep := &geo.ImportReport{Repaired: []geo.Problem{}, Rejected: []geo.Problem{}}
	rep.ChangeID, err = insertChange(ctx, tx, opt, "load.dataset", map[string]any{
		"areas": len(ds.Areas), "buildings": len(ds.Buildings), "people": len(ds.People), "duties": len(ds.Duties)})
	if err != nil {
		return nil, dbErr("data.LoadDataset", err)
	}
	if err := importAreas(ctx, tx, rep, ds.Areas, opt.Progress); err != nil {
		return nil, err
	}
	if _, err := importBuildings(ctx, tx, rep, ds.Buildings, opt.Progress); err != nil {
		return nil, err
	}
	if err := loadRoads(ctx, tx, rep.ChangeID, ds.Roads); err != nil {
		return nil, err
	}
	if err := loadPeople(ctx, tx, ds, rep.ChangeID); err != nil {
		return nil, dbErr("data.LoadDataset", err)
	}
	return finish(ctx, tx, opt, rep, "data.LoadDataset")
}
