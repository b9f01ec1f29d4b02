package data

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/encoding/wkb"

	"gridmap/geo"
)

// SnapshotSource reads the current state of areas in bulk, for the in-memory
// lookup index (it implements index.Source).
type SnapshotSource struct{ db *DB }

// NewSnapshotSource returns a SnapshotSource on db.
func NewSnapshotSource(db *DB) *SnapshotSource { return &SnapshotSource{db: db} }

// PostGISVersion is the version of the PostGIS library the database runs,
// e.g. "3.3.2" (postgis_lib_version(): the library loaded, not the extension's
// SQL version). The index compares it with the version it was verified against.
// It asks the primary, which a process needs at start anyway (a replica may be
// down then); streaming replicas run the primary's binaries.
func (s *SnapshotSource) PostGISVersion(ctx context.Context) (string, error) {
	var v string
	if err := s.db.Pool.QueryRow(ctx, `SELECT postgis_lib_version()`).Scan(&v); err != nil {
		return "", dbErr("data.PostGISVersion", err)
	}
	return v, nil
}

// qSnapshotLevels lists every level of every hierarchy.
const qSnapshotLevels = `SELECT key, hierarchy, depth, name_zh, name_en FROM level ORDER BY hierarchy, depth`

// qSnapshotAreas lists every area, retired ones included (they can still be
// the parent in a chain), with its current geometry as WKB (NULL when none).
const qSnapshotAreas = `
SELECT a.id, a.level, a.code, a.name, coalesce(a.parent_id, 0), a.retired_at, ST_AsBinary(v.geom)
FROM area a LEFT JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL`

// qSnapshotAreasByID is qSnapshotAreas for the areas with the ids in $1.
const qSnapshotAreasByID = qSnapshotAreas + `
WHERE a.id = ANY($1)`

// qSnapshotDuties lists the area duties that are in force on $1 or later,
// with every person field and its public flag, and the code of the area.
const qSnapshotDuties = `
SELECT d.id, d.area_id, d.role, d.valid_from, d.valid_to,
       p.name, p.phone, coalesce(p.photo_id, 0), p.public_name, p.public_phone, p.public_photo, a.code
FROM duty d
JOIN person p ON p.id = d.person_id
JOIN area a ON a.id = d.area_id
WHERE d.area_id IS NOT NULL AND (d.valid_to IS NULL OR d.valid_to >= $1)`

// qSnapshotDutiesByID is qSnapshotDuties for the areas with the ids in $2.
const qSnapshotDutiesByID = qSnapshotDuties + `
  AND d.area_id = ANY($2)`

// Snapshot reads every level, the areas with the given ids (every area when
// ids is nil) with their current geometries, and those areas' duties that are
// in force on dutiesFrom (a date) or later, in their public view. All of it
// comes from one consistent state of the database (one repeatable-read
// transaction). An id that matches no area is left out.
func (s *SnapshotSource) Snapshot(ctx context.Context, ids []int64, dutiesFrom time.Time) (*geo.Snapshot, error) {
	tx, err := s.db.ReadPool().BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return nil, dbErr("data.Snapshot", err)
	}
	defer tx.Rollback(ctx)
	snap := &geo.Snapshot{}

	rows, err := tx.Query(ctx, qSnapshotLevels)
	if err != nil {
		return nil, dbErr("data.Snapshot", err)
	}
	var l geo.Level
	_, err = pgx.ForEachRow(rows, []any{&l.Key, &l.Hierarchy, &l.Depth, &l.NameZH, &l.NameEN}, func() error {
		snap.Levels = append(snap.Levels, l)
		return nil
	})
	if err != nil {
		return nil, dbErr("data.Snapshot", err)
	}

	if ids == nil {
		rows, err = tx.Query(ctx, qSnapshotAreas)
	} else {
		rows, err = tx.Query(ctx, qSnapshotAreasByID, ids)
	}
	if err != nil {
		return nil, dbErr("data.Snapshot", err)
	}
	var (
		a       geo.Area
		retired *time.Time
		raw     []byte
	)
	_, err = pgx.ForEachRow(rows, []any{&a.ID, &a.Level, &a.Code, &a.Name, &a.ParentID, &retired, &raw}, func() error {
		sa := geo.SnapshotArea{Area: a}
		sa.RetiredAt = copyTime(retired)
		if raw != nil {
			g, err := wkb.Unmarshal(raw)
			if err != nil {
				return geo.Internal("data.Snapshot: area "+a.Code, err)
			}
			mp, ok := g.(orb.MultiPolygon)
			if !ok {
				return geo.Errorf(geo.EInternal, "area %s: current geometry is a %s, want a MultiPolygon", a.Code, g.GeoJSONType())
			}
			sa.Geometry = mp
		}
		snap.Areas = append(snap.Areas, sa)
		return nil
	})
	if err != nil {
		return nil, dbErr("data.Snapshot", err)
	}

	from := time.Date(dutiesFrom.Year(), dutiesFrom.Month(), dutiesFrom.Day(), 0, 0, 0, 0, time.UTC)
	if ids == nil {
		rows, err = tx.Query(ctx, qSnapshotDuties, from)
	} else {
		rows, err = tx.Query(ctx, qSnapshotDutiesByID, from, ids)
	}
	if err != nil {
		return nil, dbErr("data.Snapshot", err)
	}
	var (
		d         dutyRow
		areaID    int64
		validFrom time.Time
		validTo   *time.Time
	)
	_, err = pgx.ForEachRow(rows, []any{&d.id, &areaID, &d.role, &validFrom, &validTo,
		&d.name, &d.phone, &d.photoID, &d.pubName, &d.pubPhone, &d.pubPhoto, &d.area}, func() error {
		snap.Duties = append(snap.Duties, geo.SnapshotDuty{
			Duty:   geo.Duty{ID: d.id, AreaID: areaID, Role: geo.Role(d.role), ValidFrom: validFrom, ValidTo: copyTime(validTo)},
			Public: publicResponsible(d),
		})
		return nil
	})
	if err != nil {
		return nil, dbErr("data.Snapshot", err)
	}
	return snap, nil
}

// copyTime returns a pointer to a copy of *t, or nil: scanned pointers are
// reused from row to row.
func copyTime(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	c := *t
	return &c
}

// qSnapshotBuildings lists the buildings that have an address or a name, for
// address search.
const qSnapshotBuildings = `
SELECT code, address, address_norm, name, ST_X(geom), ST_Y(geom) FROM building WHERE address_norm <> '' OR name <> ''`

// Buildings reads every building with an address or a name: code, address,
// normalised address, name and point (EPSG:4326).
func (s *SnapshotSource) Buildings(ctx context.Context) ([]geo.Building, error) {
	rows, err := s.db.ReadPool().Query(ctx, qSnapshotBuildings)
	if err != nil {
		return nil, dbErr("data.Buildings", err)
	}
	var out []geo.Building
	var b geo.Building
	_, err = pgx.ForEachRow(rows, []any{&b.Code, &b.Address, &b.AddressNorm, &b.Name, &b.Point[0], &b.Point[1]}, func() error {
		if b.AddressNorm == b.Address {
			b.AddressNorm = b.Address // share the bytes
		}
		out = append(out, b)
		return nil
	})
	if err != nil {
		return nil, dbErr("data.Buildings", err)
	}
	return out, nil
}

// qTrigrams asks pg_trgm for the trigrams of some strings.
const qTrigrams = `SELECT t, show_trgm(t) FROM unnest($1::text[]) AS t`

// Trigrams returns pg_trgm's trigrams of each string, as show_trgm writes
// them (three characters, or 0x and six hex digits for a hashed trigram).
func (s *SnapshotSource) Trigrams(ctx context.Context, texts []string) (map[string][]string, error) {
	rows, err := s.db.ReadPool().Query(ctx, qTrigrams, texts)
	if err != nil {
		return nil, dbErr("data.Trigrams", err)
	}
	out := make(map[string][]string, len(texts))
	var t string
	var ts []string
	_, err = pgx.ForEachRow(rows, []any{&t, &ts}, func() error {
		out[t] = append([]string(nil), ts...)
		return nil
	})
	if err != nil {
		return nil, dbErr("data.Trigrams", err)
	}
	return out, nil
}
