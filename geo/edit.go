package geo

import (
	"context"
	"encoding/json"
	"time"

	"github.com/paulmach/orb"
)

// Edit operations on areas.
const (
	OpCreate     = "create"      // a new area under Parent with Geometry
	OpReshape    = "reshape"     // Areas[0] gets Geometry
	OpMoveBorder = "move_border" // Areas[0] and Areas[1] get Line as their new common border
	OpSplit      = "split"       // Areas[0] is cut by Line; the other parts become new areas
	OpMerge      = "merge"       // Areas[1] is merged into Areas[0], which keeps its code
	OpRetire     = "retire"      // Areas[0] is retired
	OpRevert     = "revert"      // undo change Change (a new change, validated like any other)
)

// VersionRef names an area and the version an edit was based on.
type VersionRef struct {
	ID      int64 `json:"id"`
	Version int64 `json:"version"` // 0: take whatever is current (scripts only)
}

// EditRequest is one boundary edit. Geometries are EPSG:4326.
type EditRequest struct {
	Op       string           `json:"op"`
	Areas    []VersionRef     `json:"areas"`
	Geometry orb.MultiPolygon `json:"-"`
	Line     orb.LineString   `json:"-"`
	Parent   int64            `json:"parent,omitempty"`
	Name     string           `json:"name,omitempty"`
	Code     string           `json:"code,omitempty"`
	Names    []string         `json:"names,omitempty"` // names of the parts a split creates
	Parts    []EditPart       `json:"-"`               // the new grids of a repartition
	Change   int64            `json:"change,omitempty"`
	Reason   string           `json:"reason"`
	Author   string           `json:"-"`
	// Actor is who asks: the edit may change only areas in the actor's scope
	// (see docs/editing.md). nil is the system itself (imports, scripts,
	// tests): everywhere.
	Actor *User `json:"-"`
}

// Issue is one validation finding, located and sized so a person can act on it.
type Issue struct {
	Kind     string          `json:"kind"` // invalid_geometry, outside_parent, overlap, gap, unassigned_buildings
	Message  string          `json:"message"`
	Areas    []string        `json:"areas,omitempty"` // codes
	AreaM2   float64         `json:"area_m2,omitempty"`
	Geometry json.RawMessage `json:"geometry,omitempty"` // GeoJSON of the offending region
	// With: for an overlap, the codes of the siblings the changed area runs
	// into; never the changed area itself (Areas[0]).
	With []string `json:"with,omitempty"`
	// Destinations: for a gap, where the buildings inside it go after the edit.
	Destinations []Destination `json:"destinations,omitempty"`
}

// Destination is where a group of buildings goes: To is the child of the
// gap's parent they fall into, nil when they would be in none (unassigned).
type Destination struct {
	To         *AreaRef `json:"to"`
	Buildings  int      `json:"buildings"`
	Households int      `json:"households"`
}

// Move is a group of buildings whose grid changes.
type Move struct {
	From       *AreaRef `json:"from"`
	To         *AreaRef `json:"to"`
	Buildings  int      `json:"buildings"`
	Households int      `json:"households"`
	Residents  int      `json:"residents"`
}

// CodeChange is a code created, retired or changed by an edit.
type CodeChange struct {
	Kind string `json:"kind"` // new, retired, recoded, restored
	Area int64  `json:"area"`
	Code string `json:"code"`
	Name string `json:"name"`
}

// EditPreview is what an edit would do: validation and impact.
type EditPreview struct {
	Valid    bool            `json:"valid"`
	Errors   []Issue         `json:"errors"`
	Warnings []Issue         `json:"warnings"`
	Moves    []Move          `json:"moves"`
	Codes    []CodeChange    `json:"codes"`
	Balance  []BalanceChange `json:"balance"` // households before → after of every grid the edit moves buildings in or out of
	Moved    json.RawMessage `json:"moved"`   // GeoJSON FeatureCollection of the buildings that change grid (properties: code, from, to)
	Result   json.RawMessage `json:"result"`  // GeoJSON FeatureCollection of the changed areas after the edit
	// BuildingsChecked is how many buildings had their grid recomputed:
	// those in the region where a geometry changed (data/edit_validate.go).
	BuildingsChecked int `json:"buildings_checked"`
}

// BalanceChange is one grid's households before and after an edit against
// its target; leaving the range is a warning of kind "balance", never an error.
type BalanceChange struct {
	ID               int64  `json:"id"`
	Code             string `json:"code"`
	Name             string `json:"name"`
	HouseholdsBefore int    `json:"households_before"`
	HouseholdsAfter  int    `json:"households_after"`
	Min              int    `json:"min"`
	Max              int    `json:"max"`
	InRangeBefore    bool   `json:"in_range_before"`
	InRangeAfter     bool   `json:"in_range_after"`
	Retired          bool   `json:"retired,omitempty"` // merged away: no range after
}

// EditResult is a committed edit.
type EditResult struct {
	ChangeID  int64        `json:"change_id"`
	VersionID int64        `json:"version_id,omitempty"` // the new version of the first changed area
	Versions  []VersionRef `json:"versions"`             // the new current version of every changed area (0 for retired)
	EditPreview
}

// RenameRequest changes an area's name and/or code.
type RenameRequest struct {
	AreaID  int64
	Version int64 // the version the edit was based on; 0 skips the check
	Name    string
	Code    string
	Reason  string
	Author  string
	Actor   *User // nil: the system
}

// DutyRequest assigns a person to an area or building.
type DutyRequest struct {
	PersonID     int64
	AreaID       int64
	BuildingCode string
	Role         Role
	ValidFrom    time.Time
	Reason       string
	Author       string
	Actor        *User // nil: the system
}

// ChangeRecord is a change with the areas it touched.
type ChangeRecord struct {
	Change
	Areas   []ChangeArea    `json:"areas"`
	Lineage []LineageRecord `json:"lineage,omitempty"`
}

// ChangeArea is one area's before and after version in a change.
type ChangeArea struct {
	Area   AreaRef `json:"area"`
	Before int64   `json:"before_version,omitempty"`
	After  int64   `json:"after_version,omitempty"`
}

// LineageRecord says one area came from another by a split or a merge.
type LineageRecord struct {
	From int64  `json:"from"`
	To   int64  `json:"to"`
	Kind string `json:"kind"`
}

// Balance is an area's totals against its level's target.
type Balance struct {
	Area       AreaRef `json:"area"`
	Buildings  int     `json:"buildings"`
	Households int     `json:"households"`
	Residents  int     `json:"residents"`
	Status     string  `json:"status"` // under, ok, over (households or residents outside the target); "" without a target
}

// Target is the range of households and residents a level's areas should hold.
type Target struct {
	Level         string `json:"level"`
	HouseholdsMin int    `json:"households_min"`
	HouseholdsMax int    `json:"households_max"`
	ResidentsMin  int    `json:"residents_min"`
	ResidentsMax  int    `json:"residents_max"`
}

// Stats is an area's balance and its children's against their target.
type Stats struct {
	Balance
	Target   *Target   `json:"target"`
	Children []Balance `json:"children"`
}

// EditService changes areas and duties. Every write is one transaction with
// one change record and one announcement; Preview runs the same code and
// rolls back. The service authorizes every write against the request's
// actor (admins: everywhere; editors: strictly below their scope area, new
// areas and duties also at it) and answers EForbidden naming the area.
type EditService interface {
	Preview(ctx context.Context, r EditRequest) (*EditPreview, error)
	// Apply commits the edit when it validates; otherwise it returns an
	// EValidation error whose Details is the *EditPreview.
	Apply(ctx context.Context, r EditRequest) (*EditResult, error)
	Rename(ctx context.Context, r RenameRequest) (*EditResult, error)
	CreatePerson(ctx context.Context, p Person, author, reason string) (*Person, error)
	AssignDuty(ctx context.Context, r DutyRequest) (*Duty, error)
	// EndDuty ends a duty for actor (nil: the system), who must be allowed
	// to manage the duty's area.
	EndDuty(ctx context.Context, dutyID int64, validTo time.Time, actor *User, reason string) (*Duty, error)
	Changes(ctx context.Context, areaID int64, limit int) ([]ChangeRecord, error)
	Stats(ctx context.Context, areaID int64) (*Stats, error)
}
