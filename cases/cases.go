// Package cases is the domain of cases (事件): reports by residents and grid
// workers, handled in tiers against working-time deadlines. It holds the
// category catalogue, the state machine (one table: state × action → state,
// roles, required inputs), deadlines on calendar's working time, escalation
// decisions and tracking codes. No database, no HTTP (like geo).
package cases

import (
	"time"
)

// Tier is the level that owns a case. Escalation moves a case one tier up.
type Tier int

// Tiers, from the grid up. TierDistrict is reached only by escalation.
const (
	TierGrid        Tier = 1 // the grid team handles it on the spot (网格)
	TierCommunity   Tier = 2 // the grid with the community (网格+社区)
	TierSubdistrict Tier = 3 // the subdistrict (街道)
	TierDistrict    Tier = 4 // the district (区), the top of escalation
)

// Valid reports whether t is a known tier.
func (t Tier) Valid() bool { return t >= TierGrid && t <= TierDistrict }

// String returns the tier's Chinese name.
func (t Tier) String() string {
	switch t {
	case TierGrid:
		return "网格"
	case TierCommunity:
		return "社区"
	case TierSubdistrict:
		return "街道"
	case TierDistrict:
		return "区"
	}
	return "unknown tier"
}

// UnitKind is the kind of unit that handles a category's cases. Routing (a
// later step) finds the actual unit by kind and location.
type UnitKind string

// Unit kinds.
const (
	UnitGridTeam        UnitKind = "grid_team"         // 网格员队伍
	UnitCommunity       UnitKind = "community"         // 社区居委会
	UnitSubdistrict     UnitKind = "subdistrict"       // 街道办事处
	UnitCityManagement  UnitKind = "city_management"   // 城管执法
	UnitSanitation      UnitKind = "sanitation"        // 环卫
	UnitLandscaping     UnitKind = "landscaping"       // 园林绿化
	UnitHousing         UnitKind = "housing"           // 住房和城乡建设 / 房管
	UnitPropertyManager UnitKind = "property_manager"  // 物业服务企业
	UnitTrafficPolice   UnitKind = "traffic_police"    // 公安交警
	UnitPoliceStation   UnitKind = "police_station"    // 派出所
	UnitRoads           UnitKind = "roads"             // 市政道路养护
	UnitWater           UnitKind = "water_utility"     // 供排水
	UnitPower           UnitKind = "power_utility"     // 供电
	UnitGas             UnitKind = "gas_utility"       // 燃气
	UnitTelecom         UnitKind = "telecom"           // 通信运营商
	UnitMarket          UnitKind = "market_regulation" // 市场监管
	UnitEmergency       UnitKind = "emergency"         // 应急管理 / 消防
	UnitEnvironment     UnitKind = "environment"       // 生态环境
	UnitCivilAffairs    UnitKind = "civil_affairs"     // 民政
	UnitMediation       UnitKind = "mediation"         // 人民调解委员会
)

// UnitKinds lists every unit kind.
var UnitKinds = []UnitKind{UnitGridTeam, UnitCommunity, UnitSubdistrict, UnitCityManagement, UnitSanitation,
	UnitLandscaping, UnitHousing, UnitPropertyManager, UnitTrafficPolice, UnitPoliceStation, UnitRoads, UnitWater,
	UnitPower, UnitGas, UnitTelecom, UnitMarket, UnitEmergency, UnitEnvironment, UnitCivilAffairs, UnitMediation}

// Valid reports whether k is a known unit kind.
func (k UnitKind) Valid() bool {
	for _, u := range UnitKinds {
		if u == k {
			return true
		}
	}
	return false
}

// Source is where a case came from.
type Source string

// Sources.
const (
	SourceResidentWeb Source = "resident_web" // a resident's report on the web page
	SourceGridWorker  Source = "grid_worker"  // found on patrol (巡查上报)
	SourceHotline     Source = "hotline"      // 12345 and other hotlines
	SourceOpen311     Source = "open311"      // Open311 GeoReport v2 client
	SourceStaff       Source = "staff"        // entered by staff at a desk
)

// Valid reports whether s is a known source.
func (s Source) Valid() bool {
	switch s {
	case SourceResidentWeb, SourceGridWorker, SourceHotline, SourceOpen311, SourceStaff:
		return true
	}
	return false
}

// State is where a case is in its life.
type State string

// States.
const (
	StateReported           State = "reported"            // 已上报, waiting to be registered
	StateAccepted           State = "accepted"            // 已立案
	StateRejected           State = "rejected"            // 不予立案 (final)
	StateMerged             State = "merged"              // 已合并 into another case (final)
	StateDispatched         State = "dispatched"          // 已派遣: the handling clock runs
	StateInProgress         State = "in_progress"         // 处置中
	StateExtensionRequested State = "extension_requested" // 延期申请中 (the clock keeps running)
	StateSuspended          State = "suspended"           // 挂账: the clock is paused
	StateReturned           State = "returned"            // 已退回 to the dispatcher
	StateHandled            State = "handled"             // 已处置, waiting for the on-site check
	StateVerified           State = "verified"            // 已核查
	StateClosed             State = "closed"              // 已结案
	StateRated              State = "rated"               // 已评价
	StateReopened           State = "reopened"            // 已重启 by the reporter, to be dispatched again
)

// States lists every state in the order of a case's life.
var States = []State{StateReported, StateAccepted, StateRejected, StateMerged, StateDispatched, StateInProgress,
	StateExtensionRequested, StateSuspended, StateReturned, StateHandled, StateVerified, StateClosed, StateRated,
	StateReopened}

// Finished reports whether s is a state after which a case needs nothing
// more from staff: closed, rated, rejected or merged. A finished case leaves
// the worklists (GET /cases?open=true) and the open cases' counts; the store
// stamps when it finished (closed or rated cases may still be reopened by
// their reporter, which makes them open again).
func (s State) Finished() bool {
	switch s {
	case StateClosed, StateRated, StateRejected, StateMerged:
		return true
	}
	return false
}

// Action is something a person (or the system) does to a case.
type Action string

// Actions.
const (
	ActionAccept           Action = "accept"            // 立案
	ActionReject           Action = "reject"            // 不予立案
	ActionMerge            Action = "merge"             // 合并: a duplicate of another case
	ActionDispatch         Action = "dispatch"          // 派遣
	ActionStart            Action = "start"             // 签收, begin handling
	ActionCompleteStage    Action = "complete_stage"    // 阶段完成 (staged categories, not the last stage)
	ActionHandle           Action = "handle"            // 处置完成
	ActionReturn           Action = "return"            // 退回 to the dispatcher
	ActionRequestExtension Action = "request_extension" // 申请延期
	ActionApproveExtension Action = "approve_extension" // 批准延期
	ActionDenyExtension    Action = "deny_extension"    // 驳回延期
	ActionSuspend          Action = "suspend"           // 挂账
	ActionResume           Action = "resume"            // 恢复
	ActionVerify           Action = "verify"            // 核查通过
	ActionFailVerification Action = "fail_verification" // 核查不通过, back to the handler
	ActionClose            Action = "close"             // 结案
	ActionRate             Action = "rate"              // 评价
	ActionReopen           Action = "reopen"            // 重启: the reporter is not satisfied
	ActionEscalate         Action = "escalate"          // 升级 one tier up
)

// Role is an actor's relation to a case, decided by the caller (the store or
// API) from the person's duties and unit: this package does not look people up.
type Role string

// Roles.
const (
	RoleReporter   Role = "reporter"    // the person who reported the case
	RoleGridWorker Role = "grid_worker" // the grid worker of the case's grid (on-site checks)
	RoleDispatcher Role = "dispatcher"  // 受理/派遣员 at the command centre
	RoleHandler    Role = "handler"     // a member of the unit the case is dispatched to
	RoleSupervisor Role = "supervisor"  // 值班长: approves extensions and suspensions
	RoleSystem     Role = "system"      // automatic jobs (escalation sweep)
)

// Roles lists every role.
var Roles = []Role{RoleReporter, RoleGridWorker, RoleDispatcher, RoleHandler, RoleSupervisor, RoleSystem}

// Actor is who does an action.
type Actor struct {
	ID   int64 // a user or reporter id; 0 for the system
	Name string
	Role Role
}

// Clock is where a case stands on its deadlines.
type Clock struct {
	Tier  Tier
	Stage int       // index into the category's Steps while being handled
	Due   time.Time // deadline of the current step; zero when no clock runs
	// Paused is set while suspended; Remaining is then the working time that
	// was left (negative: already overdue by that much) and Due is zero.
	Paused    bool
	Remaining time.Duration
}

// Case is one case as the state machine sees it. The store keeps more.
type Case struct {
	ID           int64
	TrackingCode string
	Category     string // Category.Code
	Source       Source
	ReporterID   int64 // 0: anonymous or not a registered person
	State        State
	Version      int64 // incremented by every transition; guards against stale writes
	Clock        Clock
	ReportedAt   time.Time
	ClosedAt     time.Time // zero until closed
	MergedInto   string    // tracking code of the case this one duplicates
	Rating       int       // 1–5 once rated
	// PendingDue is the deadline asked for by an open extension request.
	PendingDue time.Time
}

// Input is what an actor supplies with an action. Which fields are needed
// depends on the rule (Rule.Needs).
type Input struct {
	Version    int64     // the case version the actor saw
	Reason     string    // why: rejecting, returning, suspending, extension, reopening
	Note       string    // free text for the record
	Photos     []string  // references (object keys) of photos taken
	Due        time.Time // a new deadline (extension request; optional on approval)
	MergedInto string    // tracking code of the surviving case
	Rating     int       // 1–5
}

// Event is one entry of a case's append-only history.
type Event struct {
	CaseID     int64
	Version    int64 // the case version this event produced
	At         time.Time
	Actor      Actor
	Action     Action
	From, To   State
	Note       string
	Reason     string
	Photos     []string
	Due        time.Time // the deadline after the action (zero: none running)
	Tier       Tier      // the tier after the action
	MergedInto string
	Rating     int
	// RequestedDue is the deadline an extension request asks for.
	RequestedDue time.Time
}
