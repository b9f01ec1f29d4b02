// Package demo generates a deterministic synthetic subdistrict for demos, tests
// and benchmarks; no database.
//
// The default dataset (Options{}) is 示范区 (district 330199) with one
// subdistrict, 幸福街道 (330199001), of 6 communities (幸福社区 330199001001,
// 和平社区, 建设社区, 光明社区, 友谊社区, 团结社区) holding 42 grids of 5–9
// per community, around lon 120.10–120.16, lat 30.26–30.30 (EPSG:4326). The
// place is fictional.
//
// Geometry: every area ring is traced along one shared lattice of jittered
// vertices with one or two wiggled points on each edge, rounded to 1e-7
// degrees once, so grids tile their community, communities their
// subdistrict and subdistricts the district exactly, neighbours sharing
// bit-identical vertices. A community is three lattice rows tall; each row is
// cut into grids of 1–3 cells, and grid codes (community code + 3 digits) run
// west→east along a row, then row by row north→south.
//
// Households: each grid has 315–485 households (the 300–500 of DOMAIN.md),
// split over its buildings by size, 2.2–3.0 residents per household. A
// building holds 3–160 households; only when a grid's buildings cannot hold
// its total within that range is the grid total relaxed. With the default of
// about 38 buildings per grid the buildings are therefore small (median about
// 9 households, mostly 3–6 floors, like an old low-rise neighbourhood); at 20
// buildings per grid they average 20 households.
//
// Scaling: more grids add communities (about 7 grids each, always 5–9) and
// subdistricts (about 7 communities each, at most 99, so beyond about 4,800
// grids a subdistrict holds more communities), laid side by side on a larger
// lattice that grows east and south of the default area.
package demo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/paulmach/orb"

	"gridmap/geo"
)

// Area levels of the generated hierarchy.
const (
	LevelDistrict    = "district"
	LevelSubdistrict = "subdistrict"
	LevelCommunity   = "community"
	LevelGrid        = "grid"
)

// District identity.
const (
	DistrictCode = "330199"
	DistrictName = "示范区"
)

// Defaults and limits of Options.
const (
	DefaultSeed  = 1
	DefaultGrids = 42
	// DefaultBuildingsPerGrid gives about 1,600 buildings for the default 42 grids.
	DefaultBuildingsPerGrid = 1600.0 / DefaultGrids
	MinGrids                = 5 // one community of 5 grids
	MaxGrids                = 100_000
	MaxBuildingsPerGrid     = 200
	MaxBuildings            = 2_000_000
)

// Options choose the size of the dataset. The zero value is the default dataset.
type Options struct {
	Seed      int64 // default (0) 1
	Grids     int   // target number of grids, met exactly; default (0) 42
	Buildings int   // target number of buildings, met exactly; default (0) about 38 per grid (1,600 for 42 grids)
}

// Options are limited to MinGrids–MaxGrids grids and at most
// MaxBuildingsPerGrid buildings per grid (MaxBuildings in all); with fewer
// buildings than grids some grids stay empty.

// Area is an area of the hierarchy district → subdistrict → community → grid.
type Area struct {
	Level      string // LevelDistrict, LevelSubdistrict, LevelCommunity or LevelGrid
	Code       string // 6, 9, 12 or 15 digits
	Name       string
	ParentCode string           // "" for the district
	Geometry   orb.MultiPolygon // EPSG:4326 lon/lat; one polygon, counter-clockwise exterior ring, no holes
}

// Person is a responsible person with a generated avatar.
type Person struct {
	Key      string     // stable key within the dataset, e.g. "p0001"
	Person   geo.Person // ID 0 and Photo "": the loader sets them
	PhotoSVG []byte     // 128×128 SVG avatar: the surname on a coloured circle, < 2 KB
}

// Duty links a person, by Key, to an area (AreaCode) or, for building
// leaders, a building (BuildingCode).
type Duty struct {
	PersonKey    string
	AreaCode     string // set for area duties
	BuildingCode string // set for building_leader duties
	Role         geo.Role
	ValidFrom    time.Time // a date in 2023–2025, 00:00 UTC
}

// Dataset is a generated district. Areas lists parents before children
// (district, subdistricts, communities, grids, each in code order); Buildings
// come grid by grid in code order, each with Code = community code + 5 digits,
// Source "demo", ID, GridID and AddressNorm unset.
type Dataset struct {
	Areas     []Area
	Buildings []geo.Building
	Roads     []geo.Road // along every lattice edge of the district; Source RoadSource
	People    []Person
	Duties    []Duty
}

// Independent random streams, so that e.g. building placement does not shift
// the lattice.
const (
	streamLayout uint64 = iota + 0x67726964 // "grid"
	streamLattice
	streamBuildings
	streamPeople
)

// Generate returns the dataset for opt. The same Options always give the
// same Dataset. It fails with a geo.Error of code invalid_argument or
// too_large when opt is out of range.
func Generate(opt Options) (*Dataset, error) {
	opt, err := opt.withDefaults()
	if err != nil {
		return nil, fmt.Errorf("demo.Generate: %w", err)
	}
	ds, err := generate(opt)
	if err != nil {
		return nil, geo.Internal("demo.Generate", err)
	}
	return ds, nil
}

func (o Options) withDefaults() (Options, error) {
	if o.Seed == 0 {
		o.Seed = DefaultSeed
	}
	switch {
	case o.Grids < 0:
		return o, geo.Errorf(geo.EInvalid, "grids must not be negative, got %d", o.Grids)
	case o.Buildings < 0:
		return o, geo.Errorf(geo.EInvalid, "buildings must not be negative, got %d", o.Buildings)
	case o.Grids == 0:
		o.Grids = DefaultGrids
	case o.Grids < MinGrids:
		return o, geo.Errorf(geo.EInvalid, "grids must be 0 (default %d) or at least %d, one community of 5–9 grids; got %d", DefaultGrids, MinGrids, o.Grids)
	case o.Grids > MaxGrids:
		return o, geo.Errorf(geo.ETooLarge, "grids must be at most %d, got %d", MaxGrids, o.Grids)
	}
	if o.Buildings == 0 {
		o.Buildings = int(math.Round(float64(o.Grids) * DefaultBuildingsPerGrid))
	}
	switch {
	case o.Buildings > MaxBuildingsPerGrid*o.Grids:
		return o, geo.Errorf(geo.ETooLarge, "buildings must be at most %d per grid (%d for %d grids), got %d",
			MaxBuildingsPerGrid, MaxBuildingsPerGrid*o.Grids, o.Grids, o.Buildings)
	case o.Buildings > MaxBuildings:
		return o, geo.Errorf(geo.ETooLarge, "buildings must be at most %d, got %d", MaxBuildings, o.Buildings)
	}
	return o, nil
}

func stream(seed int64, s uint64) *rand.Rand {
	return rand.New(rand.NewPCG(uint64(seed), s))
}

func generate(opt Options) (*Dataset, error) {
	p, err := planLayout(opt.Grids, stream(opt.Seed, streamLayout))
	if err != nil {
		return nil, err
	}
	lat := newLattice(p.nx, p.ny, stream(opt.Seed, streamLattice))

	// Cells of each region, in increasing cell order.
	gridCells := make([][]int32, len(p.grids))
	commCells := make([][]int32, len(p.comms))
	subCells := make([][]int32, len(p.subs))
	var allCells []int32
	for c, g := range p.gridOf {
		if g < 0 {
			continue
		}
		k := p.grids[g].comm
		gridCells[g] = append(gridCells[g], int32(c))
		commCells[k] = append(commCells[k], int32(c))
		subCells[p.comms[k].sub] = append(subCells[p.comms[k].sub], int32(c))
		allCells = append(allCells, int32(c))
	}
	inGrid := func(g int) func(int32) bool { return func(c int32) bool { return p.gridOf[c] == int32(g) } }
	inComm := func(k int) func(int32) bool {
		return func(c int32) bool { g := p.gridOf[c]; return g >= 0 && p.grids[g].comm == k }
	}
	inSub := func(s int) func(int32) bool {
		return func(c int32) bool { g := p.gridOf[c]; return g >= 0 && p.comms[p.grids[g].comm].sub == s }
	}
	inDistrict := func(c int32) bool { return p.gridOf[c] >= 0 }
	trace := func(what string, cells []int32, in func(int32) bool) (orb.MultiPolygon, error) {
		r, err := lat.traceRing(cells, in)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", what, err)
		}
		return orb.MultiPolygon{orb.Polygon{r}}, nil
	}

	ds := &Dataset{Areas: make([]Area, 0, 1+len(p.subs)+len(p.comms)+len(p.grids))}
	geom, err := trace("district", allCells, inDistrict)
	if err != nil {
		return nil, err
	}
	ds.Areas = append(ds.Areas, Area{Level: LevelDistrict, Code: DistrictCode, Name: DistrictName, Geometry: geom})

	subCode := make([]string, len(p.subs))
	for s := range p.subs {
		subCode[s] = fmt.Sprintf("%s%03d", DistrictCode, s+1)
		if geom, err = trace(subCode[s], subCells[s], inSub(s)); err != nil {
			return nil, err
		}
		ds.Areas = append(ds.Areas, Area{Level: LevelSubdistrict, Code: subCode[s], Name: subdistrictName(s), ParentCode: DistrictCode, Geometry: geom})
	}
	commCode := make([]string, len(p.comms))
	commName := make([]string, len(p.comms))
	for k, c := range p.comms {
		commCode[k] = fmt.Sprintf("%s%03d", subCode[c.sub], c.seq)
		commName[k] = communityName(k)
		if geom, err = trace(commCode[k], commCells[k], inComm(k)); err != nil {
			return nil, err
		}
		ds.Areas = append(ds.Areas, Area{Level: LevelCommunity, Code: commCode[k], Name: commName[k], ParentCode: subCode[c.sub], Geometry: geom})
	}
	gridCode := make([]string, len(p.grids))
	gridRing := make([]orb.Ring, len(p.grids))
	for g, gp := range p.grids {
		gridCode[g] = fmt.Sprintf("%s%03d", commCode[gp.comm], gp.seq)
		if geom, err = trace(gridCode[g], gridCells[g], inGrid(g)); err != nil {
			return nil, err
		}
		gridRing[g] = geom[0][0]
		ds.Areas = append(ds.Areas, Area{Level: LevelGrid, Code: gridCode[g], Name: gridName(commName[gp.comm], gp.seq), ParentCode: commCode[gp.comm], Geometry: geom})
	}

	// Buildings per grid: about equal, larger grids a little more.
	brng := stream(opt.Seed, streamBuildings)
	w := make([]float64, len(p.grids))
	for g, gp := range p.grids {
		w[g] = (0.8 + 0.4*brng.Float64()) * (0.75 + 0.25*float64(gp.cols.b-gp.cols.a))
	}
	lo := 0
	if opt.Buildings >= len(p.grids) {
		lo = 1
	}
	perGrid := apportion(opt.Buildings, w, lo, opt.Buildings)

	roads := planRoads(p, lat)
	ds.Roads = roads.geoRoads()
	bg := newBuildingGen(brng, roads)
	pg := newPeopleGen(stream(opt.Seed, streamPeople))
	ds.Buildings = make([]geo.Building, 0, opt.Buildings)
	for k, c := range p.comms {
		rings := make([]orb.Ring, len(c.grids))
		counts := make([]int, len(c.grids))
		codes := make([]string, len(c.grids))
		for i, g := range c.grids {
			rings[i], counts[i], codes[i] = gridRing[g], perGrid[g], gridCode[g]
		}
		bs, gridOf, err := bg.communityBuildings(k, commCode[k], rings, counts)
		if err != nil {
			return nil, err
		}
		buildingCodes := make([][]string, len(c.grids))
		for i, b := range bs {
			buildingCodes[gridOf[i]] = append(buildingCodes[gridOf[i]], b.Code)
		}
		ds.Buildings = append(ds.Buildings, bs...)
		pg.community(commCode[k], codes, buildingCodes)
	}
	ds.Roads = append(ds.Roads, bg.paths...)
	ds.People, ds.Duties = pg.people, pg.duties
	return ds, nil
}
