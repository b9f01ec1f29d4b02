package data

import (
	"context"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"gridmap/geo"
	"gridmap/partition"
)

// Partitioner proposes grids for an area (划网格) from its roads and
// buildings and applies a proposal as one edit (geo.OpRepartition) through
// the Editor. See docs/partition.md.
type Partitioner struct {
	db     *DB
	editor *Editor
	// RoadTolerance is how close (degrees, ≈ 5 cm) a border must run to a
	// road to count as on it.
	RoadTolerance float64
	// SaveProblem, when set, receives every solver input before it is
	// solved (bench/partition -dump: the solver compared offline on the
	// same atoms); nil: nothing is saved.
	SaveProblem func(areaCode string, p partition.Problem)
}

// NewPartitioner returns a Partitioner reading editor's database and
// applying through it.
func NewPartitioner(editor *Editor) *Partitioner {
	return &Partitioner{db: editor.db, editor: editor, RoadTolerance: 5e-7}
}

var _ geo.PartitionService = (*Partitioner)(nil)

const qPartitionArea = `
SELECT a.id, a.level, a.code, a.name, v.id FROM area a JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL
WHERE a.code = $1 AND a.retired_at IS NULL`

const qPartitionChildren = `
SELECT a.id, v.id, a.code, a.name, a.level FROM area a JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL
WHERE a.parent_id = $1 AND a.retired_at IS NULL ORDER BY a.id`

// qPartLines collects the lines atoms are cut by: the area's boundary, the
// roads clipped to it and, in maintenance mode ($3), the current children's
// boundaries, so every atom lies in one current grid.
const qPartLines = `
CREATE TEMP TABLE part_line ON COMMIT DROP AS
SELECT ST_Boundary(v.geom) AS g, 'area'::text AS kind FROM area_version v WHERE v.id = $1
UNION ALL
SELECT ST_CollectionExtract(ST_Intersection(r.geom, v.geom), 2), 'road' FROM road r, area_version v
WHERE v.id = $1 AND r.geom && v.geom AND ST_Intersects(r.geom, v.geom)
UNION ALL
SELECT ST_Boundary(cv.geom), 'grid' FROM area c JOIN area_version cv ON cv.area_id = c.id AND cv.valid_to IS NULL
WHERE $3 AND c.parent_id = $2 AND c.retired_at IS NULL`

// qPartAtoms polygonizes the lines, noded on the precision grid $2 (so every
// vertex is a grid point and neighbours share theirs exactly), into the
// faces inside the area $1, numbered west→east.
const qPartAtoms = `
CREATE TEMP TABLE part_atom ON COMMIT DROP AS
WITH n AS (SELECT ST_UnaryUnion(ST_Collect(g), $2::float8) AS g FROM part_line WHERE NOT ST_IsEmpty(g)),
     f AS (SELECT (ST_Dump(ST_Polygonize(n.g))).geom AS g FROM n)
SELECT (row_number() OVER (ORDER BY ST_XMin(f.g), ST_YMin(f.g), ST_XMax(f.g), ST_YMax(f.g), ST_Area(f.g)))::int - 1 AS id, f.g AS geom
FROM f, area_version v WHERE v.id = $1 AND ST_Covers(v.geom, ST_PointOnSurface(f.g))`

// estateKey is the estate (小区) a building belongs to: its name without the
// building number (幸福家园3栋 → 幸福家园), else its address without one
// (幸福路12号3栋 → 幸福路12号), else none.
const estateKey = `CASE WHEN b.name <> '' THEN regexp_replace(b.name, '[0-9]+(栋|号楼|幢|座)$', '')
     WHEN b.address ~ '[0-9]+(栋|号楼|幢|座)$' THEN regexp_replace(b.address, '[0-9]+(栋|号楼|幢|座)$', '') ELSE '' END`

// qPartBuildings puts every building of the area in the atom covering it
// (on a border between atoms: the lower id).
const qPartBuildings = `
CREATE TEMP TABLE part_bld ON COMMIT DROP AS
SELECT DISTINCT ON (b.id) b.id, b.code, b.households, b.residents, b.geom, ` + estateKey + ` AS estate, k.id AS atom
FROM building b JOIN part_atom k ON b.geom && k.geom AND ST_Covers(k.geom, b.geom)
ORDER BY b.id, k.id`

// qPartSplitLines cuts every atom over $1 households (splitAbove), or over
// $3 (splitIrregularAbove) when its Polsby–Popper is below $4, that
// holds more than one unit (an estate, or a building outside any; the
// buildings of an estate that alone holds more than the maximum $2 in the
// atom are units each, so such an estate is split along its buildings):
// units are clustered by k-means weighted by households (the M coordinate)
// into ceil(2·households/$1) groups, and the borders between the groups'
// Voronoi cells (of the buildings, clipped to the atom) become lines; the
// groups number ceil(2·households/$1), or /$3 for an irregular atom.
const qPartSplitLines = `
INSERT INTO part_line (g, kind)
WITH hh AS (SELECT p.atom, sum(p.households) AS h FROM part_bld p GROUP BY p.atom),
     big AS (SELECT hh.atom, hh.h, CASE WHEN hh.h > $1 THEN $1 ELSE $3 END AS unit FROM hh JOIN part_atom a ON a.id = hh.atom
             WHERE hh.h > $1 OR (hh.h > $3 AND 4 * pi() * ST_Area(a.geom::geography) < $4 * ST_Perimeter(a.geom::geography) ^ 2)),
     eh AS (SELECT atom, estate, sum(households) AS h FROM part_bld WHERE estate <> '' GROUP BY 1, 2),
     pu AS (SELECT p.atom, p.geom, p.households, CASE WHEN p.estate <> '' AND eh.h <= $2 THEN 'e:' || p.estate ELSE 'b:' || p.code END AS unit
            FROM part_bld p LEFT JOIN eh ON eh.atom = p.atom AND eh.estate = p.estate),
     u AS (SELECT p.atom, p.unit,
                  ST_MakePointM(ST_X(ST_Centroid(ST_Collect(p.geom))), ST_Y(ST_Centroid(ST_Collect(p.geom))), greatest(sum(p.households), 1)) AS g
           FROM pu p JOIN big USING (atom) GROUP BY 1, 2),
     n AS (SELECT atom, count(*) AS c FROM u GROUP BY atom HAVING count(*) > 1),
     k AS (SELECT u.atom, u.unit, ST_ClusterKMeans(u.g, least(n.c, ceil(2.0 * big.h / big.unit))::int) OVER (PARTITION BY u.atom) AS cl
           FROM u JOIN n USING (atom) JOIN big USING (atom)),
     bp AS (SELECT p.atom, p.geom, k.cl FROM pu p JOIN k ON k.atom = p.atom AND k.unit = p.unit),
     v AS (SELECT bp.atom, ST_VoronoiPolygons(ST_Collect(bp.geom), 0, (SELECT ST_Expand(a.geom, 0.001) FROM part_atom a WHERE a.id = bp.atom)) AS g
           FROM bp GROUP BY bp.atom),
     vor AS (SELECT v.atom, d.path[1] AS k, d.geom AS cell FROM v, LATERAL ST_Dump(v.g) d),
     lab AS (SELECT vor.atom, vor.k, min(bp.cl) AS cl FROM vor JOIN bp ON bp.atom = vor.atom AND ST_Intersects(vor.cell, bp.geom)
             GROUP BY vor.atom, vor.k),
     grp AS (SELECT vor.atom, lab.cl, ST_Union(vor.cell) AS g FROM vor JOIN lab USING (atom, k) GROUP BY vor.atom, lab.cl)
SELECT ST_CollectionExtract(ST_Intersection(ST_Boundary(grp.g), a.geom), 2), 'split'
FROM grp JOIN part_atom a ON a.id = grp.atom`

// qPartFieldLines cuts blocks that hold few households and are either
// large (fields: area over 1.5 × $1 m² at a density under $2 households per
// $1 m²) or not compact (Polsby–Popper below $5, area over $1 / 2, at most
// $6 households: too few for qPartSplitLines, whose cuts run between
// buildings) into about area / $1 pieces (2 to 12): points spread over the
// block ($3 seeds them) are clustered by k-means and the borders of the
// clusters' centres' Voronoi cells, clipped to the block and kept off its
// buildings ($4 degrees around each, so every building stays whole in one
// piece), become lines. A cut that would cross a building is broken there,
// closes no face and so is not made. Grids are unions of whole atoms: a
// field of one block went whole to one grid, which could then not be
// compact (docs/partition.md, "Compactness", third round).
const qPartFieldLines = `
INSERT INTO part_line (g, kind)
WITH hh AS (SELECT p.atom, sum(p.households) AS h FROM part_bld p GROUP BY p.atom),
     m AS (SELECT a.id, a.geom, ST_Area(a.geom::geography) AS area, ST_Perimeter(a.geom::geography) AS perim, coalesce(hh.h, 0) AS h
           FROM part_atom a LEFT JOIN hh ON hh.atom = a.id),
     f AS (SELECT m.id, m.geom, greatest(2, least(ceil(m.area / $1), 12))::int AS n FROM m
           WHERE (m.area > 1.5 * $1 AND m.h * $1 < $2 * m.area)
              OR (m.area > $1 / 2 AND m.h <= $6 AND 4 * pi() * m.area < $5 * m.perim ^ 2)),
     pts AS (SELECT f.id, f.n, d.geom AS p FROM f, LATERAL ST_Dump(ST_GeneratePoints(f.geom, 50 * f.n, $3)) d),
     k AS (SELECT id, p, ST_ClusterKMeans(p, n) OVER (PARTITION BY id) AS cl FROM pts),
     c AS (SELECT id, ST_Centroid(ST_Collect(p)) AS p FROM k GROUP BY id, cl),
     v AS (SELECT c.id, ST_VoronoiPolygons(ST_Collect(c.p), 0, (SELECT ST_Expand(a.geom, 0.001) FROM part_atom a WHERE a.id = c.id)) AS g
           FROM c GROUP BY c.id HAVING count(*) > 1),
     cell AS (SELECT v.id, d.geom FROM v, LATERAL ST_Dump(v.g) d),
     cut AS (SELECT cell.id, ST_CollectionExtract(ST_Intersection(ST_Boundary(cell.geom), a.geom), 2) AS g
             FROM cell JOIN part_atom a ON a.id = cell.id)
SELECT coalesce(ST_Difference(cut.g, (SELECT ST_Union(ST_Buffer(b.geom, $4)) FROM part_bld b WHERE b.atom = cut.id)), cut.g), 'split'
FROM cut`

// qPartTotals: the area's households (in its atoms) and its area, m².
const qPartTotals = `
SELECT (SELECT coalesce(sum(households), 0)::int FROM part_bld), ST_Area(v.geom::geography) FROM area_version v WHERE v.id = $1`

const qPartAtomRows = `
SELECT k.id, ST_Area(k.geom::geography), ST_Perimeter(k.geom::geography), ST_X(ST_PointOnSurface(k.geom)), ST_Y(ST_PointOnSurface(k.geom)),
       coalesce((SELECT c.id FROM area c JOIN area_version cv ON cv.area_id = c.id AND cv.valid_to IS NULL
                 WHERE $1 AND c.parent_id = $2 AND c.retired_at IS NULL AND ST_Covers(cv.geom, ST_PointOnSurface(k.geom)) ORDER BY c.id LIMIT 1), 0)
FROM part_atom k ORDER BY k.id`

const qPartBuildingRows = `SELECT code, households, residents, estate, atom FROM part_bld ORDER BY atom, code`

// qPartRoads: the roads' lines, one per row, indexed for the edges below.
const qPartRoads = `
CREATE TEMP TABLE part_road ON COMMIT DROP AS
SELECT (ST_Dump(g)).geom AS g FROM part_line WHERE kind = 'road' AND NOT ST_IsEmpty(g)`

// qPartEdges: every pair of atoms with a shared border, its length and the
// length of it along a road (within $1 of one: inside the buffer of the
// roads near it, buffered together as one collection, which GEOS does in one
// pass where uniting each road's own buffer cost 0.8 ms an edge), in metres.
const qPartEdges = `
SELECT a.id, b.id, ST_Length(x.s::geography),
       coalesce((SELECT ST_Length(ST_Intersection(x.s, ST_Buffer(ST_Collect(rb.g), $1))::geography)
                 FROM part_road rb WHERE rb.g && ST_Expand(x.s, $1)), 0)
FROM part_atom a JOIN part_atom b ON a.id < b.id AND a.geom && b.geom,
LATERAL (SELECT ST_CollectionExtract(ST_Intersection(ST_Boundary(a.geom), ST_Boundary(b.geom)), 2) AS s) x
WHERE NOT ST_IsEmpty(x.s)
ORDER BY a.id, b.id`

// qPartGridGeometry unites each grid's atoms on the precision grid.
const qPartGridGeometry = `
SELECT g.grid, ST_AsBinary(ST_Multi(ST_CollectionExtract(ST_Union(k.geom, $3::float8), 3)))
FROM unnest($1::int[], $2::int[]) AS g(atom, grid) JOIN part_atom k ON k.id = g.atom
GROUP BY g.grid ORDER BY g.grid`

const qVersionGeom = `SELECT ST_AsBinary(geom) FROM area_version WHERE id = $1`

// splitAbove is the size over which a block is split into smaller atoms:
// the width of the range (at least a quarter of the maximum). Atoms must be
// split where one is over the maximum; splitting blocks wider than the range
// too gives the search the room to bring every grid into it (with blocks of
// about 200 households and a range of 300–500, a quarter of a demo
// subdistrict's grids could not be).
func splitAbove(lo, hi int) int { return max(hi-lo, hi/4, 1) }

// splitIrregularAbove is the size over which a block that is not compact
// (Polsby–Popper below irregularPP) is split too: a quarter of splitAbove.
// Grids are unions of whole atoms, so a grid of three or four long,
// irregular blocks cannot be compact; on the hillside Gemeinden of
// Liechtenstein this raised the grids' mean Polsby–Popper by about 0.1
// (Triesenberg 0.35 → 0.45), while the demo's compact blocks stay whole
// (splitting them all that finely made its largest area worse: 0.64 → 0.60,
// docs/partition.md "Compactness").
func splitIrregularAbove(lo, hi int) int { return max(splitAbove(lo, hi)/4, 1) }

// irregularPP is the Polsby–Popper below which a block counts as not compact.
const irregularPP = 0.5

// fieldPiece is the size (m²) of the pieces qPartFieldLines cuts blocks
// into: a grid's mean area (the area over its households / the middle of
// the range) / fieldPieces; 0 (no cut) for an area without households.
func fieldPiece(area float64, households, lo, hi int) float64 {
	if households <= 0 || area <= 0 {
		return 0
	}
	return area * float64(lo+hi) / 2 / float64(households) / fieldPieces
}

// fieldPieces is how many pieces of field a grid's mean area makes (8: no
// better on Triesenberg, 0.461 against 0.477 with 4), and fieldDensity
// the share of the area's mean households per m² under which a large
// block counts as a field.
const (
	fieldPieces  = 4
	fieldDensity = 0.25
)

type partChild struct {
	ref        geo.AreaRef
	version    int64
	households int
}

// Plan computes a partition of the area r.AreaCode without previewing it as
// an edit (Propose does both). Nothing is written.
func (p *Partitioner) Plan(ctx context.Context, r geo.PartitionRequest) (*geo.PartitionProposal, error) {
	prop, _, err := p.propose(ctx, r)
	return prop, err
}

// Propose computes a partition of the area r.AreaCode and previews it as an
// edit. Nothing is written.
func (p *Partitioner) Propose(ctx context.Context, r geo.PartitionRequest) (*geo.PartitionProposal, error) {
	prop, parts, err := p.propose(ctx, r)
	if err != nil {
		return nil, err
	}
	if len(parts) > 0 {
		pv, err := p.editor.Preview(ctx, p.editRequest(prop, parts, r, ""))
		if err != nil {
			return nil, err
		}
		prop.Preview = pv
	}
	return prop, nil
}

// Apply computes the partition (the same for the same request and data: it
// is deterministic for a seed) and commits it as one change.
func (p *Partitioner) Apply(ctx context.Context, r geo.PartitionRequest, reason string) (*geo.PartitionProposal, *geo.EditResult, error) {
	prop, parts, err := p.propose(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	if len(parts) == 0 {
		return prop, nil, geo.Errorf(geo.EInvalid, "nothing to redraw: every grid of %s is kept", prop.Area.Code)
	}
	res, err := p.editor.Apply(ctx, p.editRequest(prop, parts, r, reason))
	if err != nil {
		return prop, nil, err
	}
	return prop, res, nil
}

func (p *Partitioner) editRequest(prop *geo.PartitionProposal, parts []geo.EditPart, r geo.PartitionRequest, reason string) geo.EditRequest {
	if reason == "" {
		reason = fmt.Sprintf("partition %s (%s, %d–%d households, seed %d)", prop.Area.Code, prop.Mode, prop.Min, prop.Max, prop.Seed)
	}
	return geo.EditRequest{Op: geo.OpRepartition, Parent: prop.Area.ID, Areas: prop.Replaces, Parts: parts, Reason: reason, Actor: r.Actor}
}

func (p *Partitioner) propose(ctx context.Context, r geo.PartitionRequest) (*geo.PartitionProposal, []geo.EditPart, error) {
	if err := geo.CheckText("area", r.AreaCode, 100); err != nil {
		return nil, nil, err
	}
	if r.Mode == "" {
		r.Mode = partition.Fresh
	}
	if r.Mode != partition.Fresh && r.Mode != partition.Maintain {
		return nil, nil, geo.Errorf(geo.EInvalid, "mode must be fresh or maintain, got %q", r.Mode)
	}
	if r.Min < 0 || r.Max < 0 || r.Grids < 0 || (r.Min == 0) != (r.Max == 0) || r.Max < r.Min {
		return nil, nil, geo.Errorf(geo.EInvalid, "households range must be MIN-MAX with 1 ≤ MIN ≤ MAX (or none for the target), got %d-%d", r.Min, r.Max)
	}
	tx, err := p.db.Pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead})
	if err != nil {
		return nil, nil, dbErr("data.Partition", err)
	}
	defer tx.Rollback(ctx)
	prop, parts, err := p.proposeTx(ctx, tx, r)
	if err != nil {
		return nil, nil, dbErr("data.Partition", err)
	}
	return prop, parts, nil
}

func (p *Partitioner) proposeTx(ctx context.Context, tx pgx.Tx, r geo.PartitionRequest) (*geo.PartitionProposal, []geo.EditPart, error) {
	prop := &geo.PartitionProposal{Mode: r.Mode, Seed: r.Seed, Reasons: []geo.PartitionReason{}, Replaces: []geo.VersionRef{}}
	var version int64
	err := tx.QueryRow(ctx, qPartitionArea, r.AreaCode).Scan(&prop.Area.ID, &prop.Area.Level, &prop.Area.Code, &prop.Area.Name, &version)
	if err == pgx.ErrNoRows {
		return nil, nil, geo.Errorf(geo.ENotFound, "no current area with code %s", r.AreaCode)
	} else if err != nil {
		return nil, nil, err
	}
	var level string
	if err := tx.QueryRow(ctx, qLevelBelow, prop.Area.Level).Scan(&level); err == pgx.ErrNoRows {
		return nil, nil, geo.Errorf(geo.EInvalid, "level %s has no level below it: %s cannot be divided", prop.Area.Level, prop.Area.Code)
	} else if err != nil {
		return nil, nil, err
	}
	rows, err := tx.Query(ctx, qPartitionChildren, prop.Area.ID)
	if err != nil {
		return nil, nil, err
	}
	var children []partChild
	var c partChild
	if _, err := pgx.ForEachRow(rows, []any{&c.ref.ID, &c.version, &c.ref.Code, &c.ref.Name, &c.ref.Level}, func() error {
		children = append(children, c)
		return nil
	}); err != nil {
		return nil, nil, err
	}
	ids := make([]int64, len(children))
	for i, c := range children {
		ids[i] = c.ref.ID
	}
	scope, err := loadScope(ctx, tx, r.Actor)
	if err != nil {
		return nil, nil, err
	}
	if err := scope.authorize(ctx, tx, &editPlan{create: prop.Area.ID}, ids); err != nil {
		return nil, nil, err
	}
	prop.Min, prop.Max = r.Min, r.Max
	if r.Min == 0 {
		var t geo.Target
		err := tx.QueryRow(ctx, qTarget, level, prop.Area.ID).Scan(&t.Level, &t.HouseholdsMin, &t.HouseholdsMax, &t.ResidentsMin, &t.ResidentsMax)
		if err == pgx.ErrNoRows || (err == nil && t.HouseholdsMax <= 0) {
			return nil, nil, geo.Errorf(geo.EInvalid, "level %s has no households target: give the range (households MIN-MAX)", level)
		} else if err != nil {
			return nil, nil, err
		}
		prop.Min, prop.Max = max(t.HouseholdsMin, 1), t.HouseholdsMax
	}

	// Atoms: blocks cut by roads (and current grid borders when
	// maintaining), split where one alone is over the maximum.
	maintain := r.Mode == partition.Maintain
	if _, err := tx.Exec(ctx, qPartLines, version, prop.Area.ID, maintain); err != nil {
		return nil, nil, err
	}
	for pass := 0; pass < 2; pass++ {
		if pass == 1 {
			if _, err := tx.Exec(ctx, qPartSplitLines, splitAbove(prop.Min, prop.Max), prop.Max, splitIrregularAbove(prop.Min, prop.Max), irregularPP); err != nil {
				return nil, nil, err
			}
			var total int
			var totalArea float64
			if err := tx.QueryRow(ctx, qPartTotals, version).Scan(&total, &totalArea); err != nil {
				return nil, nil, err
			}
			if piece := fieldPiece(totalArea, total, prop.Min, prop.Max); piece > 0 {
				if _, err := tx.Exec(ctx, qPartFieldLines, piece, fieldDensity*piece*float64(total)/totalArea, int(r.Seed%(1<<31))+1, 10*GridSize,
					irregularPP, splitIrregularAbove(prop.Min, prop.Max)); err != nil {
					return nil, nil, err
				}
			}
			if _, err := tx.Exec(ctx, `DROP TABLE part_atom; DROP TABLE part_bld`); err != nil {
				return nil, nil, err
			}
		}
		if _, err := tx.Exec(ctx, qPartAtoms, version, GridSize); err != nil {
			return nil, nil, err
		}
		if _, err := tx.Exec(ctx, `CREATE INDEX ON part_atom USING gist (geom)`); err != nil {
			return nil, nil, err
		}
		if _, err := tx.Exec(ctx, qPartBuildings); err != nil {
			return nil, nil, err
		}
	}
	pr := partition.Problem{Options: partition.Options{Min: prop.Min, Max: prop.Max, K: r.Grids, Mode: r.Mode, Seed: r.Seed}}
	childIdx := map[int64]int{}
	for i, c := range children {
		childIdx[c.ref.ID] = i
	}
	rows, err = tx.Query(ctx, qPartAtomRows, maintain, prop.Area.ID)
	if err != nil {
		return nil, nil, err
	}
	var a partition.Atom
	var id int
	var cur int64
	if _, err := pgx.ForEachRow(rows, []any{&id, &a.AreaM2, &a.PerimeterM, &a.X, &a.Y, &cur}, func() error {
		a.Current = -1
		if i, ok := childIdx[cur]; ok && cur != 0 {
			a.Current = i
		}
		pr.Atoms = append(pr.Atoms, a)
		return nil
	}); err != nil {
		return nil, nil, err
	}
	if len(pr.Atoms) == 0 {
		return nil, nil, geo.Errorf(geo.EInvalid, "area %s has no geometry to divide", prop.Area.Code)
	}
	type bld struct {
		code, estate string
		h, res, atom int
	}
	var blds []bld
	var b bld
	rows, err = tx.Query(ctx, qPartBuildingRows)
	if err != nil {
		return nil, nil, err
	}
	if _, err := pgx.ForEachRow(rows, []any{&b.code, &b.h, &b.res, &b.estate, &b.atom}, func() error {
		blds = append(blds, b)
		return nil
	}); err != nil {
		return nil, nil, err
	}
	// Households and the dominant estate per atom; the note names its
	// largest building.
	estateHH := make([]map[string]int, len(pr.Atoms))
	largest := make([]bld, len(pr.Atoms))
	for _, b := range blds {
		at := &pr.Atoms[b.atom]
		at.Households += b.h
		at.Buildings++
		if b.h > largest[b.atom].h {
			largest[b.atom] = b
		}
		if b.estate != "" {
			if estateHH[b.atom] == nil {
				estateHH[b.atom] = map[string]int{}
			}
			estateHH[b.atom][b.estate] += b.h + 1
		}
	}
	for i := range pr.Atoms {
		best, bh := "", 0
		for e, h := range estateHH[i] {
			if h > bh || (h == bh && e < best) {
				best, bh = e, h
			}
		}
		pr.Atoms[i].Estate = best
		if l := largest[i]; l.code != "" {
			pr.Atoms[i].Note = fmt.Sprintf("the block of building %s (%d households; %d buildings)", l.code, l.h, pr.Atoms[i].Buildings)
			if pr.Atoms[i].Buildings == 1 {
				pr.Atoms[i].Note = fmt.Sprintf("building %s", l.code)
			}
		}
	}
	if _, err := tx.Exec(ctx, qPartRoads); err != nil {
		return nil, nil, err
	}
	if _, err := tx.Exec(ctx, `CREATE INDEX ON part_road USING gist (g)`); err != nil {
		return nil, nil, err
	}
	rows, err = tx.Query(ctx, qPartEdges, p.RoadTolerance)
	if err != nil {
		return nil, nil, err
	}
	var e partition.Edge
	if _, err := pgx.ForEachRow(rows, []any{&e.A, &e.B, &e.LengthM, &e.RoadM}, func() error {
		pr.Edges = append(pr.Edges, e)
		return nil
	}); err != nil {
		return nil, nil, err
	}

	if p.SaveProblem != nil {
		p.SaveProblem(r.AreaCode, pr)
	}
	res, err := partition.Solve(pr)
	if err != nil {
		return nil, nil, geo.Errorf(geo.EInvalid, "%v", err)
	}
	if err := adjustProposal(ctx, tx, &pr, res, r.Moves); err != nil {
		return nil, nil, err
	}
	prop.Atoms = len(pr.Atoms)
	prop.Feasible = res.Feasible()
	prop.Metrics = res.Metrics

	// Estates split, counted on buildings.
	grids := map[string]map[int]bool{}
	for _, b := range blds {
		if b.estate == "" {
			continue
		}
		if grids[b.estate] == nil {
			grids[b.estate] = map[int]bool{}
		}
		grids[b.estate][res.Assign[b.atom]] = true
	}
	prop.Metrics.EstatesSplit = 0
	for _, g := range grids {
		if len(g) > 1 {
			prop.Metrics.EstatesSplit++
		}
	}

	// Geometry of every grid: kept grids keep theirs, the others are their
	// atoms united on the precision grid.
	atoms := make([]int32, len(res.Assign))
	gridOf := make([]int32, len(res.Assign))
	for i, g := range res.Assign {
		atoms[i], gridOf[i] = int32(i), int32(g)
	}
	geoms := make([]orb.MultiPolygon, len(res.Grids))
	rows, err = tx.Query(ctx, qPartGridGeometry, atoms, gridOf, GridSize)
	if err != nil {
		return nil, nil, err
	}
	var gi int
	var raw []byte
	if _, err := pgx.ForEachRow(rows, []any{&gi, &raw}, func() error {
		g, err := wkb.Unmarshal(raw)
		if err != nil {
			return err
		}
		mp, ok := g.(orb.MultiPolygon)
		if !ok {
			return fmt.Errorf("grid %d is a %T", gi, g)
		}
		geoms[gi] = mp
		return nil
	}); err != nil {
		return nil, nil, err
	}
	residents := make([]int, len(res.Grids))
	for _, b := range blds {
		residents[res.Assign[b.atom]] += b.res
	}
	var parts []geo.EditPart
	for i, g := range res.Grids {
		pg := geo.ProposedGrid{Index: i, Kept: g.Kept, Households: g.Households, Buildings: g.Buildings, Residents: residents[i],
			AreaM2: g.AreaM2, PolsbyPopper: g.PolsbyPopper, InRange: g.InRange, Reasons: g.Reasons, Geometry: geoms[i]}
		var keep int64
		if g.From >= 0 {
			ref := children[g.From].ref
			pg.Area = &ref
			keep = ref.ID
		}
		if g.Kept {
			if err := tx.QueryRow(ctx, qVersionGeom, children[g.From].version).Scan(&raw); err != nil {
				return nil, nil, err
			}
			if g, err := wkb.Unmarshal(raw); err == nil {
				if mp, ok := g.(orb.MultiPolygon); ok {
					pg.Geometry = mp
				}
			}
		} else {
			parts = append(parts, geo.EditPart{Geometry: pg.Geometry, Keep: keep})
		}
		prop.Grids = append(prop.Grids, pg)
	}
	kept := map[int64]bool{}
	for _, g := range prop.Grids {
		if g.Kept {
			kept[g.Area.ID] = true
		}
	}
	for _, c := range children {
		if !kept[c.ref.ID] {
			prop.Replaces = append(prop.Replaces, geo.VersionRef{ID: c.ref.ID, Version: c.version})
		}
	}
	for _, rs := range res.Reasons {
		pr := geo.PartitionReason{Kind: rs.Kind, Message: rs.Message, Params: rs.Params, Grids: rs.Grids}
		in := map[int]bool{}
		for _, a := range rs.Atoms {
			in[a] = true
		}
		for _, b := range blds {
			if in[b.atom] && len(pr.Buildings) < 50 {
				pr.Buildings = append(pr.Buildings, b.code)
			}
		}
		sort.Strings(pr.Buildings)
		prop.Reasons = append(prop.Reasons, pr)
	}
	if prop.Grids == nil {
		prop.Grids = []geo.ProposedGrid{}
	}
	return prop, parts, nil
}
