package data

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"gridmap/geo"
)

// Importer writes imported areas, buildings and datasets; every call is one
// transaction with one change record, so an import lands whole or not at all.
type Importer struct{ db *DB }

// NewImporter returns an Importer on db.
func NewImporter(db *DB) *Importer { return &Importer{db: db} }

var _ geo.Importer = (*Importer)(nil)

const qEmpty = `SELECT NOT EXISTS (SELECT 1 FROM area)`

// Empty reports whether the database holds no areas.
func (im *Importer) Empty(ctx context.Context) (bool, error) {
	var empty bool
	err := im.db.Pool.QueryRow(ctx, qEmpty).Scan(&empty)
	return empty, dbErr("data.Empty", err)
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
	rep := &geo.ImportReport{Repaired: []geo.Problem{}, Rejected: []geo.Problem{}}
	rep.ChangeID, err = insertChange(ctx, tx, opt, "import.areas", map[string]any{"items": len(in)})
	if err != nil {
		return nil, dbErr("data.ImportAreas", err)
	}
	if err := importAreas(ctx, tx, rep, in, opt.Progress); err != nil {
		return nil, err
	}
	if err := assignGrids(ctx, tx, rep.ChangeID, false); err != nil {
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

// qRepairArea checks a geometry, repairs it to its polygonal part and finds
// a point on its surface (for the parent search and code sequencing).
const qRepairArea = `
SELECT ST_IsValid(g), coalesce(ST_IsValidReason(g), ''), ST_AsBinary(f), ST_IsEmpty(f) OR ST_Area(f) = 0,
       CASE WHEN ST_IsEmpty(f) THEN 0 ELSE ST_X(ST_PointOnSurface(f)) END,
       CASE WHEN ST_IsEmpty(f) THEN 0 ELSE ST_Y(ST_PointOnSurface(f)) END,
       coalesce(ST_YMax(f) - ST_YMin(f), 0)
FROM (SELECT ST_SetSRID(ST_GeomFromWKB($1), 4326) AS g) s,
     LATERAL (SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(g), 3)) AS f) m`

// qParentByPoint finds the smallest current area of a level that covers a point.
const qParentByPoint = `
SELECT a.id, a.code FROM area a
JOIN level l ON l.key = a.level
JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL
WHERE l.hierarchy = $1 AND l.depth = $2 AND a.retired_at IS NULL
  AND ST_Covers(v.geom, ST_SetSRID(ST_MakePoint($3, $4), 4326))
ORDER BY ST_Area(v.geom), a.code
LIMIT 1`

const qParentByCode = `
SELECT a.id, a.level, l.hierarchy, l.depth, a.retired_at IS NOT NULL FROM area a JOIN level l ON l.key = a.level WHERE a.code = $1`

const qInsertArea = `
INSERT INTO area (level, code, name, parent_id, created_change) VALUES ($1, $2, $3, nullif($4, 0), $5) RETURNING id`

const qInsertVersion = `
INSERT INTO area_version (area_id, geom, change_id) VALUES ($1, ST_SetSRID(ST_GeomFromWKB($2), 4326), $3)`

type pendingArea struct {
	in       geo.AreaInput
	depth    int
	geomWKB  []byte
	pos      orb.Point
	height   float64
	parentID int64
	parent   string // parent code
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

	done := 0
	for start := 0; start < len(order); {
		depth := levels[in[order[start]].Level].depth
		end := start
		for end < len(order) && levels[in[order[end]].Level].depth == depth {
			end++
		}
		var group []*pendingArea
		for _, idx := range order[start:end] {
			a := in[idx]
			if a.Problem != "" {
				reject(a.Ref, "%s", a.Problem)
				continue
			}
			p, problem, err := prepareArea(ctx, tx, rep, a, levels)
			if err != nil {
				return dbErr("data.ImportAreas", err)
			}
			if problem != "" {
				reject(a.Ref, "%s", problem)
				continue
			}
			group = append(group, p)
		}
		if err := assignAreaCodes(ctx, tx, group, levels); err != nil {
			return err
		}
		for _, p := range group {
			if problem, err := insertArea(ctx, tx, p, rep.ChangeID); err != nil {
				return dbErr("data.ImportAreas", err)
			} else if problem != "" {
				reject(p.in.Ref, "%s", problem)
				continue
			}
			rep.Imported++
			done++
			if progress != nil {
				progress(done, len(in))
			}
		}
		start = end
	}
	return nil
}

// prepareArea repairs the geometry and finds the parent; a non-empty problem
// rejects the item.
func prepareArea(ctx context.Context, tx pgx.Tx, rep *geo.ImportReport, a geo.AreaInput, levels map[string]levelInfo) (*pendingArea, string, error) {
	li := levels[a.Level]
	if err := geo.ValidateMultiPolygon(a.Geometry); err != nil {
		return nil, geo.ErrorMessage(err), nil
	}
	if a.Code != "" {
		if err := geo.ValidateImportedCode(a.Code); err != nil {
			return nil, geo.ErrorMessage(err), nil
		}
	}
	raw, err := wkb.Marshal(a.Geometry)
	if err != nil {
		return nil, "geometry cannot be encoded: " + err.Error(), nil
	}
	p := &pendingArea{in: a, depth: li.depth}
	var valid, empty bool
	var reason string
	err = tx.QueryRow(ctx, qRepairArea, raw).Scan(&valid, &reason, &p.geomWKB, &empty, &p.pos[0], &p.pos[1], &p.height)
	if err != nil {
		if ge := dbErr("", err); geo.ErrorCode(ge) == geo.EInvalid {
			return nil, "geometry rejected by PostGIS: " + geo.ErrorMessage(ge), nil
		}
		return nil, "", err
	}
	if empty {
		return nil, fmt.Sprintf("geometry has no area (%s); nothing polygonal is left after repair", reason), nil
	}
	if !valid {
		rep.Repaired = append(rep.Repaired, geo.Problem{Ref: a.Ref, Reason: reason})
	}
	if li.depth == 0 {
		if a.ParentCode != "" {
			return nil, fmt.Sprintf("level %s is the top of hierarchy %s and takes no parent, got parent code %q", a.Level, li.hierarchy, a.ParentCode), nil
		}
		return p, "", nil
	}
	if a.ParentCode != "" {
		var plevel, phier string
		var pdepth int
		var retired bool
		err := tx.QueryRow(ctx, qParentByCode, a.ParentCode).Scan(&p.parentID, &plevel, &phier, &pdepth, &retired)
		if err == pgx.ErrNoRows {
			return nil, fmt.Sprintf("parent code %q matches no area", a.ParentCode), nil
		}
		if err != nil {
			return nil, "", err
		}
		if phier != li.hierarchy || pdepth != li.depth-1 {
			return nil, fmt.Sprintf("parent %q is a %s, but a %s's parent must be one level above it in hierarchy %s", a.ParentCode, plevel, a.Level, li.hierarchy), nil
		}
		if retired {
			return nil, fmt.Sprintf("parent %q is retired", a.ParentCode), nil
		}
		p.parent = a.ParentCode
		return p, "", nil
	}
	err = tx.QueryRow(ctx, qParentByPoint, li.hierarchy, li.depth-1, p.pos[0], p.pos[1]).Scan(&p.parentID, &p.parent)
	if err == pgx.ErrNoRows {
		return nil, fmt.Sprintf("no area one level above %s covers its point-on-surface (%.6f %.6f)", a.Level, p.pos[0], p.pos[1]), nil
	}
	if err != nil {
		return nil, "", err
	}
	return p, "", nil
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

func insertArea(ctx context.Context, tx pgx.Tx, p *pendingArea, change int64) (string, error) {
	var used bool
	if err := tx.QueryRow(ctx, qCodeTaken, p.in.Code).Scan(&used); err != nil {
		return "", err
	}
	if used {
		return fmt.Sprintf("code %q is already used (codes are never reused, even after retirement)", p.in.Code), nil
	}
	name := strings.TrimSpace(p.in.Name)
	if name == "" {
		name = p.in.Code
	}
	var id int64
	if err := tx.QueryRow(ctx, qInsertArea, p.in.Level, p.in.Code, name, p.parentID, change).Scan(&id); err != nil {
		return "", err
	}
	if err := claimCode(ctx, tx, p.in.Code, id, change); err != nil {
		return "", err
	}
	_, err := tx.Exec(ctx, qInsertVersion, id, p.geomWKB, change)
	return "", err
}

// qAssignGrids sets each affected building's grid to grid_of (migration 004:
// the lowest current area of the default hierarchy covering it, by the
// lookup's border rule), writing only rows whose grid changes. With $3 the
// affected buildings are those of change $1, otherwise those near areas
// changed by $1.
const qAssignGrids = `
UPDATE building b SET grid_id = n.grid
FROM (SELECT id, grid_of(geom, $2) AS grid FROM building x
      WHERE CASE WHEN $3 THEN x.created_change = $1
                 ELSE EXISTS (SELECT 1 FROM area_version nv WHERE nv.change_id = $1 AND nv.geom && x.geom) END) n
WHERE n.id = b.id AND b.grid_id IS DISTINCT FROM n.grid`

func assignGrids(ctx context.Context, tx pgx.Tx, change int64, ofBuildings bool) error {
	_, err := tx.Exec(ctx, qAssignGrids, change, geo.DefaultHierarchy, ofBuildings)
	return dbErr("data.assignGrids", err)
}

// ImportBuildings creates buildings in one transaction. A footprint without a
// point gets ST_PointOnSurface; a building without a code gets the next
// "B" + 7-digit code; each building is assigned to its grid.
func (im *Importer) ImportBuildings(ctx context.Context, in []geo.Building, opt geo.ImportOptions) (*geo.ImportReport, error) {
	tx, err := im.db.Pool.Begin(ctx)
	if err != nil {
		return nil, dbErr("data.ImportBuildings", err)
	}
	defer tx.Rollback(ctx)
	rep := &geo.ImportReport{Repaired: []geo.Problem{}, Rejected: []geo.Problem{}}
	rep.ChangeID, err = insertChange(ctx, tx, opt, "import.buildings", map[string]any{"items": len(in)})
	if err != nil {
		return nil, dbErr("data.ImportBuildings", err)
	}
	if _, err := importBuildings(ctx, tx, rep, in, opt.Progress); err != nil {
		return nil, err
	}
	if err := assignGrids(ctx, tx, rep.ChangeID, true); err != nil {
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

// qUnplaceable finds staged buildings with neither a point nor a usable footprint.
const qUnplaceable = `
DELETE FROM building_in s
WHERE s.lon IS NULL AND (s.footprint IS NULL OR
      ST_IsEmpty(ST_CollectionExtract(ST_MakeValid(ST_SetSRID(ST_GeomFromWKB(s.footprint), 4326)), 3)))
RETURNING s.ref`

const qInsertBuildings = `
INSERT INTO building (code, address, address_norm, name, geom, footprint, households, residents, floors,
                      party_members, elderly_alone, disabled, low_income, source, created_change)
SELECT coalesce(nullif(s.code, ''), 'B' || lpad(nextval('building_code_seq')::text, 7, '0')),
       s.address, s.address_norm, s.name,
       CASE WHEN s.lon IS NOT NULL THEN ST_SetSRID(ST_MakePoint(s.lon, s.lat), 4326) ELSE ST_PointOnSurface(s.fp) END,
       CASE WHEN ST_IsEmpty(s.fp) THEN NULL ELSE s.fp END,
       s.households, s.residents, s.floors, s.party_members, s.elderly_alone, s.disabled, s.low_income, s.source, $1
FROM (SELECT *, ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_SetSRID(ST_GeomFromWKB(footprint), 4326)), 3)) AS fp
      FROM building_in) s
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
	var staged [][]any
	for i, b := range in {
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
			if err := geo.ValidateMultiPolygon(b.Footprint); err != nil {
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
		staged = append(staged, []any{i, ref, b.Code, b.Address, geo.NormalizeAddress(b.Address), b.Name, lon, lat, fp,
			b.Households, b.Residents, b.Floors, b.Counts.PartyMembers, b.Counts.ElderlyAlone, b.Counts.Disabled, b.Counts.LowIncome, b.Source})
		if progress != nil && len(staged)%5000 == 0 {
			progress(len(staged), len(in))
		}
	}
	cols := []string{"ord", "ref", "code", "address", "address_norm", "name", "lon", "lat", "footprint", "households", "residents", "floors",
		"party_members", "elderly_alone", "disabled", "low_income", "source"}
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"building_in"}, cols, pgx.CopyFromRows(staged)); err != nil {
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
	tag, err := tx.Exec(ctx, qInsertBuildings, rep.ChangeID)
	if err != nil {
		return 0, dbErr("data.ImportBuildings", err)
	}
	rep.Imported += int(tag.RowsAffected())
	if progress != nil {
		progress(len(in), len(in))
	}
	return int(tag.RowsAffected()), nil
}

const (
	qInsertPhoto  = `INSERT INTO photo (content_type, bytes) VALUES ($1, $2) RETURNING id`
	qInsertPerson = `
INSERT INTO person (name, phone, photo_id, public_name, public_phone, public_photo)
VALUES ($1, $2, nullif($3, 0), $4, $5, $6) RETURNING id`
	qInsertDuty = `
INSERT INTO duty (person_id, area_id, building_id, role, valid_from, change_id)
VALUES ($1, (SELECT id FROM area WHERE code = nullif($2, '')), (SELECT id FROM building WHERE code = nullif($3, '')), $4, $5, $6)`
)

// LoadDataset writes a whole dataset (areas, buildings, people with photos,
// duties) as one change in one transaction.
func (im *Importer) LoadDataset(ctx context.Context, ds *geo.Dataset, opt geo.ImportOptions) (*geo.ImportReport, error) {
	tx, err := im.db.Pool.Begin(ctx)
	if err != nil {
		return nil, dbErr("data.LoadDataset", err)
	}
	defer tx.Rollback(ctx)
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
	if err := assignGrids(ctx, tx, rep.ChangeID, true); err != nil {
		return nil, err
	}
	if err := loadRoads(ctx, tx, rep.ChangeID, ds.Roads); err != nil {
		return nil, err
	}
	people := map[string]int64{}
	for _, p := range ds.People {
		var photoID int64
		if len(p.Photo) > 0 {
			if err := tx.QueryRow(ctx, qInsertPhoto, p.PhotoContentType, p.Photo).Scan(&photoID); err != nil {
				return nil, dbErr("data.LoadDataset", err)
			}
		}
		var id int64
		err := tx.QueryRow(ctx, qInsertPerson, p.Person.Name, p.Person.Phone, photoID,
			p.Person.PublicName, p.Person.PublicPhone, p.Person.PublicPhoto).Scan(&id)
		if err != nil {
			return nil, dbErr("data.LoadDataset", err)
		}
		people[p.Key] = id
	}
	batch := &pgx.Batch{}
	for _, d := range ds.Duties {
		pid, ok := people[d.PersonKey]
		if !ok {
			return nil, geo.Errorf(geo.EInvalid, "duty names unknown person %q", d.PersonKey)
		}
		if !d.Role.Valid() {
			return nil, geo.Errorf(geo.EInvalid, "duty of %q has unknown role %q", d.PersonKey, d.Role)
		}
		batch.Queue(qInsertDuty, pid, d.AreaCode, d.BuildingCode, string(d.Role), d.ValidFrom, rep.ChangeID)
	}
	if err := tx.SendBatch(ctx, batch).Close(); err != nil {
		return nil, dbErr("data.LoadDataset", err)
	}
	return finish(ctx, tx, opt, rep, "data.LoadDataset")
}
