package geo

import (
	"context"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"
)

// OpRepartition replaces grids of one parent: Areas[] (the grids redrawn,
// with the versions the proposal was based on) by Parts under Parent. A part
// with Keep takes that area's identity (and code) with a new geometry; the
// others are new areas with fresh codes (west→east, north→south); the areas
// no part keeps are retired, with lineage from every old grid to the parts
// it overlaps. Partitions (划网格) are applied with it, as one change.
const OpRepartition = "repartition"

// EditPart is one new geometry of a repartition.
type EditPart struct {
	Geometry orb.MultiPolygon
	Keep     int64 // an area of Areas whose identity this part takes; 0: a new area
	Name     string
}

// PartitionRequest asks for a proposal of grids for an area.
type PartitionRequest struct {
	AreaCode string `json:"area"`
	Min      int    `json:"households_min"` // 0: the area's balance target
	Max      int    `json:"households_max"`
	Grids    int    `json:"grids,omitempty"` // 0: what the households admit
	Mode     string `json:"mode"`            // fresh (default) or maintain
	Seed     uint64 `json:"seed"`
	// Moves adjust the proposal before it is previewed or applied: each
	// gives the block (atom) at a point to another proposed grid, in order.
	// The same request gives the same adjusted proposal (deterministic).
	Moves []PartitionMove `json:"moves,omitempty"`
	Actor *User           `json:"-"` // nil: the system
}

// MaxPartitionMoves bounds the adjustments of one proposal.
const MaxPartitionMoves = 200

// PartitionMove gives the block of the proposal at a point (EPSG:4326,
// degrees) to the proposed grid with index To. The block's old grid must
// stay non-empty and contiguous, and the block must share a border with
// grid To, so the grids still tile the area in contiguous pieces.
type PartitionMove struct {
	Lon float64 `json:"lon"`
	Lat float64 `json:"lat"`
	To  int     `json:"to"`
}

// PartitionReason says why and where the range cannot be met.
type PartitionReason struct {
	// Kind is the reason's code (partition.ReasonKinds: atom_over_max,
	// total_admits_no_k, isolated_piece, k_infeasible, no_division_found,
	// no_contiguous_division, empty_island_attached, island_attached); the editor translates
	// it as admin.partition.reason.KIND with Params, Message is the server's
	// English text.
	Kind      string         `json:"kind"`
	Message   string         `json:"message"`
	Params    map[string]int `json:"params,omitempty"`
	Grids     []int          `json:"grids,omitempty"`     // indexes into the proposal's grids
	Buildings []string       `json:"buildings,omitempty"` // codes of the buildings of the offending atoms (at most 50)
}

// PartitionMetrics summarise a partition (docs/partition.md).
type PartitionMetrics struct {
	Grids        int     `json:"grids"`
	InRange      int     `json:"in_range"`
	MaxDeviation int     `json:"max_deviation"` // households outside the range, the worst grid
	PPMin        float64 `json:"polsby_popper_min"`
	PPMean       float64 `json:"polsby_popper_mean"`
	BorderM      float64 `json:"border_m"`       // length of the borders between grids, m
	RoadShare    float64 `json:"border_on_road"` // share of it along roads (1 without any)
	EstatesSplit int     `json:"estates_split"`
	Reassigned   int     `json:"households_reassigned"` // households whose grid identity changes (maintenance)
}

// ProposedGrid is one grid of a proposal.
type ProposedGrid struct {
	Index        int              `json:"index"`
	Area         *AreaRef         `json:"area,omitempty"` // the current grid it keeps (maintenance), nil for a new grid
	Kept         bool             `json:"kept"`           // unchanged
	Households   int              `json:"households"`
	Buildings    int              `json:"buildings"`
	Residents    int              `json:"residents"`
	AreaM2       float64          `json:"area_m2"`
	PolsbyPopper float64          `json:"polsby_popper"`
	InRange      bool             `json:"in_range"`
	Reasons      []string         `json:"reasons,omitempty"`
	Geometry     orb.MultiPolygon `json:"-"`
}

// PartitionProposal is a proposed division of an area into grids.
type PartitionProposal struct {
	Area     AreaRef           `json:"area"`
	Mode     string            `json:"mode"`
	Min      int               `json:"households_min"`
	Max      int               `json:"households_max"`
	Seed     uint64            `json:"seed"`
	Atoms    int               `json:"atoms"`
	Feasible bool              `json:"feasible"` // every grid in range
	Grids    []ProposedGrid    `json:"grids"`
	Reasons  []PartitionReason `json:"reasons"`
	Metrics  PartitionMetrics  `json:"metrics"`
	// Replaces are the current grids the proposal redraws, at the versions
	// it was based on; Apply sends them to the edit pipeline.
	Replaces []VersionRef `json:"replaces"`
	// Preview is the edit pipeline's preview of applying it (validation,
	// moves, balance), when asked for.
	Preview *EditPreview `json:"preview,omitempty"`
}

// PartitionService proposes grids for an area and applies a proposal as one
// edit (OpRepartition) through the EditService.
type PartitionService interface {
	Propose(ctx context.Context, r PartitionRequest) (*PartitionProposal, error)
	Apply(ctx context.Context, r PartitionRequest, reason string) (*PartitionProposal, *EditResult, error)
}

// FeatureCollection is the proposal as GeoJSON: one Polygon or MultiPolygon
// feature per grid, with its households, buildings and metrics as properties.
func (p *PartitionProposal) FeatureCollection() *geojson.FeatureCollection {
	fc := geojson.NewFeatureCollection()
	for _, g := range p.Grids {
		var geom orb.Geometry = g.Geometry
		if len(g.Geometry) == 1 {
			geom = g.Geometry[0]
		}
		f := geojson.NewFeature(geom)
		code := ""
		if g.Area != nil {
			code = g.Area.Code
		}
		reasons := g.Reasons
		if reasons == nil {
			reasons = []string{}
		}
		f.Properties = geojson.Properties{"index": g.Index, "code": code, "kept": g.Kept, "households": g.Households,
			"buildings": g.Buildings, "residents": g.Residents, "area_m2": g.AreaM2, "polsby_popper": g.PolsbyPopper,
			"in_range": g.InRange, "households_min": p.Min, "households_max": p.Max, "reasons": reasons}
		fc.Append(f)
	}
	return fc
}
