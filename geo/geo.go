// Package geo is gridmap's domain: areas and their levels, buildings, people and
// their duties, changes, codes, address normalisation and coordinate transforms.
// It knows nothing of databases or HTTP; data/, tiles/ and api/ import it.
//
// Coordinates are EPSG:4326 (WGS84) longitude/latitude in degrees unless a
// function says otherwise.
package geo

import (
	"time"

	"github.com/paulmach/orb"
)

// Level is one rung of an area hierarchy, e.g. grid (网格) in the default
// "admin" hierarchy. Levels are data: other hierarchies (county → town →
// village → group; school → zone → class) are rows, not code.
type Level struct {
	Key       string `json:"key"`       // stable identifier, e.g. "grid"
	Hierarchy string `json:"hierarchy"` // e.g. "admin"
	Depth     int    `json:"depth"`     // 0 is the top of its hierarchy
	NameZH    string `json:"name_zh"`   // e.g. 网格
	NameEN    string `json:"name_en"`   // e.g. grid
}

// Area is the stable identity of a responsibility area. Its geometry lives in
// versions (AreaVersion); a retired area keeps its row and its code.
type Area struct {
	ID        int64      `json:"id"`
	Level     string     `json:"level"`
	Code      string     `json:"code"`
	Name      string     `json:"name"`
	ParentID  int64      `json:"parent_id,omitempty"` // 0 for a top-level area
	RetiredAt *time.Time `json:"retired_at,omitempty"`
}

// AreaVersion is one geometry of an area, valid in [ValidFrom, ValidTo); the
// current version has a nil ValidTo. Geometry is EPSG:4326.
type AreaVersion struct {
	ID        int64            `json:"id"`
	AreaID    int64            `json:"area_id"`
	Geometry  orb.MultiPolygon `json:"-"`
	ValidFrom time.Time        `json:"valid_from"`
	ValidTo   *time.Time       `json:"valid_to,omitempty"`
	ChangeID  int64            `json:"change_id"`
}

// Building is a building with the counts a notice board shows. It never holds
// residents' identities: only counts.
type Building struct {
	ID          int64            `json:"-"`
	Code        string           `json:"code"`
	Address     string           `json:"address"` // as given
	AddressNorm string           `json:"-"`       // NormalizeAddress(Address)
	Name        string           `json:"name,omitempty"`
	Point       orb.Point        `json:"-"` // EPSG:4326; for a footprint, its point-on-surface
	Footprint   orb.MultiPolygon `json:"-"` // nil when unknown
	Households  int              `json:"households"`
	Residents   int              `json:"residents"`
	Floors      int              `json:"floors,omitempty"`
	Counts      NoticeCounts     `json:"counts"`
	Source      string           `json:"-"` // e.g. "osm:way/123" or "demo"
	GridID      int64            `json:"grid_id,omitempty"`
}

// NoticeCounts are the aggregated counts a building notice board (网格分布图)
// shows. Counts only, never names.
type NoticeCounts struct {
	PartyMembers int `json:"party_members"` // 党员
	ElderlyAlone int `json:"elderly_alone"` // 空巢老人
	Disabled     int `json:"disabled"`      // 残疾人
	LowIncome    int `json:"low_income"`    // 低保家庭
}

// Person is a responsible person (grid leader, worker, …). Each contact field
// has a public flag; public endpoints show a field only when its flag is set.
type Person struct {
	ID          int64  `json:"id"`
	Name        string `json:"name"`
	Phone       string `json:"phone,omitempty"`
	Photo       string `json:"photo,omitempty"` // URL path of the photo, e.g. /api/v1/photos/12
	PublicName  bool   `json:"public_name"`
	PublicPhone bool   `json:"public_phone"`
	PublicPhoto bool   `json:"public_photo"`
}

// Role is a duty a person holds in an area or building.
type Role string

// The roles of DOMAIN.md.
const (
	RoleGridLeader     Role = "grid_leader"     // 网格长
	RoleGridWorker     Role = "grid_worker"     // 网格员
	RoleInfoOfficer    Role = "info_officer"    // 信息员
	RolePolice         Role = "police"          // 社区民警
	RoleBuildingLeader Role = "building_leader" // 楼栋长
	RolePartyMember    Role = "party_member"    // 党员
	RoleVolunteer      Role = "volunteer"       // 志愿者
)

// Roles lists every role in display order.
var Roles = []Role{RoleGridLeader, RoleGridWorker, RoleInfoOfficer, RolePolice, RoleBuildingLeader, RolePartyMember, RoleVolunteer}

// RoleNameZH is the Chinese name of each role.
var RoleNameZH = map[Role]string{
	RoleGridLeader: "网格长", RoleGridWorker: "网格员", RoleInfoOfficer: "信息员", RolePolice: "社区民警",
	RoleBuildingLeader: "楼栋长", RolePartyMember: "党员", RoleVolunteer: "志愿者",
}

// Valid reports whether r is one of Roles.
func (r Role) Valid() bool { _, ok := RoleNameZH[r]; return ok }

// Duty links a person to an area (or, for building leaders, a building) with a
// role, valid from ValidFrom until ValidTo (nil: still held).
type Duty struct {
	ID         int64      `json:"id"`
	PersonID   int64      `json:"person_id"`
	AreaID     int64      `json:"area_id,omitempty"`
	BuildingID int64      `json:"building_id,omitempty"`
	Role       Role       `json:"role"`
	ValidFrom  time.Time  `json:"valid_from"`
	ValidTo    *time.Time `json:"valid_to,omitempty"`
}

// Change records one committed write: who, when, what, why.
type Change struct {
	ID        int64     `json:"id"`
	Author    string    `json:"author"`
	At        time.Time `json:"at"`
	Operation string    `json:"operation"` // e.g. "import.areas", "demo.load"
	Reason    string    `json:"reason"`
}
