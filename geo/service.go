package geo

import (
	"context"
	"encoding/json"
	"time"

	"github.com/paulmach/orb"
)

// DefaultHierarchy is the hierarchy lookups use when none is named.
const DefaultHierarchy = "admin"

// AreaRef is the short form of an area in answers.
type AreaRef struct {
	ID    int64  `json:"id"`
	Level string `json:"level"`
	Code  string `json:"code"`
	Name  string `json:"name"`
}

// Responsible is a duty as the public sees it: only the fields the person
// made public are filled.
type Responsible struct {
	Role     Role   `json:"role"`
	RoleZH   string `json:"role_zh"`
	Name     string `json:"name,omitempty"`
	Phone    string `json:"phone,omitempty"`
	Photo    string `json:"photo,omitempty"`
	Area     string `json:"area,omitempty"`     // code of the area the duty is for
	Building string `json:"building,omitempty"` // code of the building, for building leaders
}

// LookupQuery asks which areas contain Point (EPSG:4326).
type LookupQuery struct {
	Point     orb.Point
	At        *time.Time // nil: now; otherwise the state in force at that instant
	Hierarchy string     // "" means DefaultHierarchy
}

// LookupResult answers a point lookup. Areas runs from the top level down to
// Grid, the lowest area containing the point. A point covered by several areas
// of that lowest level (on a shared border) is decided by the rule in
// docs/lookup.md, with Ambiguous set and the others in Alternatives.
type LookupResult struct {
	Areas        []AreaRef     `json:"areas"`
	Grid         *AreaRef      `json:"grid"`
	Responsible  []Responsible `json:"responsible"`
	Ambiguous    bool          `json:"ambiguous"`
	Alternatives []AreaRef     `json:"alternatives"`
}

// BuildingRef is a building as an address candidate shows it.
type BuildingRef struct {
	Code    string  `json:"code"`
	Address string  `json:"address"`
	Name    string  `json:"name,omitempty"`
	Lon     float64 `json:"lon"`
	Lat     float64 `json:"lat"`
}

// AddressCandidate is one building matching an address query; Score is 1 for
// an exact match of the normalised address and lower for fuzzy matches.
type AddressCandidate struct {
	Building BuildingRef `json:"building"`
	Score    float64     `json:"score"`
}

// AddressResult answers an address lookup (MatchAddress): how it matched,
// the candidates, best first, the grids of a street, and the point lookup of
// the building found, which is filled only for MatchExact and MatchNormalised
// (otherwise Grid is nil and the lists are empty).
type AddressResult struct {
	Match      MatchKind          `json:"match"`
	Candidates []AddressCandidate `json:"candidates"`
	Grids      []StreetGrid       `json:"grids"` // MatchStreet only, by code
	LookupResult
}

// LookupService answers "which area contains this point or address, and who
// is responsible for it".
type LookupService interface {
	LookupPoint(ctx context.Context, q LookupQuery) (*LookupResult, error)
	// LookupPoints answers many points in one call, one result per point in order.
	LookupPoints(ctx context.Context, points []orb.Point, at *time.Time, hierarchy string) ([]LookupResult, error)
	LookupAddress(ctx context.Context, text string, limit int, hierarchy string) (*AddressResult, error)
}

// AreaFilter selects areas. Zero fields do not filter.
type AreaFilter struct {
	ID             int64
	Level          string
	ParentID       int64
	Bound          *orb.Bound // intersects the current geometry
	IncludeRetired bool
	// Text keeps the areas whose name contains it (ignoring case) or whose
	// code starts with it; they come best match first (the name or code
	// itself, then those starting with it, then the rest).
	Text string
	// Under keeps the areas at or below this area (its id).
	Under int64
	Limit int
}

// AreaService reads areas, their levels and versions.
type AreaService interface {
	Levels(ctx context.Context) ([]Level, error)
	FindAreas(ctx context.Context, f AreaFilter) ([]Area, error)
	// Area finds an area by numeric id or by code.
	Area(ctx context.Context, idOrCode string) (*Area, error)
	AreaVersions(ctx context.Context, id int64) ([]AreaVersion, error)
	// AreaChain lists the areas from the top level down to id.
	AreaChain(ctx context.Context, id int64) ([]AreaRef, error)
	// AreasGeoJSON returns a FeatureCollection of the current geometries of
	// the selected areas, produced by PostGIS.
	AreasGeoJSON(ctx context.Context, f AreaFilter) (json.RawMessage, error)
}

// BuildingFilter selects buildings. Zero fields do not filter.
type BuildingFilter struct {
	Bound  *orb.Bound
	Query  string // matched against the normalised address and name
	GridID int64
	Limit  int
}

// BuildingService reads buildings.
type BuildingService interface {
	FindBuildings(ctx context.Context, f BuildingFilter) ([]Building, error)
	Building(ctx context.Context, code string) (*Building, error)
}

// PersonService reads people and their duties; every method returns public
// fields only unless its name says otherwise.
type PersonService interface {
	// Responsible lists the duties in force for an area (and, for a building,
	// its building leaders), public fields only.
	Responsible(ctx context.Context, areaID int64, buildingID int64) ([]Responsible, error)
	// Photo returns a person's photo when the person made it public.
	Photo(ctx context.Context, id int64) (contentType string, body []byte, err error)
}

// AreaInput is an area to create by import or demo load.
type AreaInput struct {
	Ref        string // how a person finds it in the source, for reports
	Level      string
	Code       string // "" lets gridmap assign one
	Name       string
	ParentCode string // "" finds the parent by point-on-surface
	Geometry   orb.MultiPolygon
	Problem    string // set when the source already knows it cannot be imported
}

// PersonInput is a person to create, with an optional photo.
type PersonInput struct {
	Key              string
	Person           Person
	Photo            []byte
	PhotoContentType string
}

// DutyInput assigns a person (by PersonInput.Key) to an area or building code.
type DutyInput struct {
	PersonKey    string
	AreaCode     string
	BuildingCode string
	Role         Role
	ValidFrom    time.Time
}

// Dataset is everything a demo or fixture load writes in one change.
type Dataset struct {
	Areas     []AreaInput
	Buildings []Building
	People    []PersonInput
	Duties    []DutyInput
	Roads     []Road // written as they are (their Source replaced, see ReplaceRoads)
}

// Problem is one input item that was repaired or rejected.
type Problem struct {
	Ref    string `json:"ref"`
	Reason string `json:"reason"`
}

// ImportReport summarises an import.
type ImportReport struct {
	ChangeID int64     `json:"change_id"`
	Imported int       `json:"imported"`
	Repaired []Problem `json:"repaired"`
	Rejected []Problem `json:"rejected"`
}

// ImportOptions govern an import.
type ImportOptions struct {
	Author   string
	Reason   string
	Strict   bool // any rejection rolls the whole import back
	DryRun   bool // validate and report, then roll back
	Progress func(done, total int)
}

// Importer writes imported data, each call in one transaction with one change record.
type Importer interface {
	ImportAreas(ctx context.Context, in []AreaInput, opt ImportOptions) (*ImportReport, error)
	ImportBuildings(ctx context.Context, in []Building, opt ImportOptions) (*ImportReport, error)
	LoadDataset(ctx context.Context, ds *Dataset, opt ImportOptions) (*ImportReport, error)
	// Empty reports whether the database holds no areas yet.
	Empty(ctx context.Context) (bool, error)
}
