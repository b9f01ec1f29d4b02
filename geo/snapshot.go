package geo

import "github.com/paulmach/orb"

// Snapshot is the current state of some areas as an in-memory lookup index
// loads it in bulk: every level, the areas with their current geometries, and
// their duties in the public view.
type Snapshot struct {
	Levels []Level
	Areas  []SnapshotArea
	Duties []SnapshotDuty
}

// SnapshotArea is an area with its current geometry (EPSG:4326, exactly as
// stored; nil when the area has no current version).
type SnapshotArea struct {
	Area
	Geometry orb.MultiPolygon
}

// SnapshotDuty is a duty of an area (Duty.AreaID set, ValidFrom and ValidTo
// dates at 00:00 UTC) with Public, what a lookup shows of it: only the fields
// the person made public.
type SnapshotDuty struct {
	Duty
	Public Responsible
}
