package cases

import (
	"context"
	"time"

	"github.com/paulmach/orb"

	"gridmap/calendar"
	"gridmap/geo"
)

// The types below are what the case store (data.CaseStore) and the API
// exchange. They live here, not in geo, because geo may not import cases
// (cases imports geo for its error type) and they are made of cases' types.

// Intake is a new report as it arrives at POST /cases, Open311 or an import.
type Intake struct {
	Category     string
	Point        orb.Point // EPSG:4326 lon/lat, already transformed from the client's crs
	Address      string
	BuildingCode string // optional
	Description  string
	Phone        string // optional; kept only to tell the reporter the outcome
	Source       Source
	Photos       []int64 // ids of photos uploaded before (staff only)
	// Uploads are photos sent with the report itself (the resident's form):
	// at most MaxIntakePhotos of at most MaxIntakePhotoBytes each, re-encoded
	// by ReencodePhoto (EXIF and GPS gone) and stored in the intake's transaction.
	Uploads [][]byte
	// IdempotencyKey, when set (the Idempotency-Key header), makes a retry of
	// the same report return the first one's result instead of a second case.
	IdempotencyKey string
}

// Staff is the staff account acting (nil: an anonymous reporter).
type Staff = geo.User

// AreaRef is an area of a case's chain.
type AreaRef = geo.AreaRef

// UnitRef is a unit as cases show it.
type UnitRef struct {
	ID    int64    `json:"id"`
	Kind  UnitKind `json:"kind"`
	Name  string   `json:"name"`
	Phone string   `json:"phone,omitempty"`
}

// Record is a case as staff see it.
type Record struct {
	ID           int64      `json:"id"`
	TrackingCode string     `json:"tracking_code"`
	Category     string     `json:"category"`
	CategoryZh   string     `json:"category_zh"`
	Source       Source     `json:"source"`
	State        State      `json:"state"`
	Version      int64      `json:"version"`
	Tier         Tier       `json:"tier"`
	Stage        int        `json:"stage"`
	Due          *time.Time `json:"due,omitempty"`
	Paused       bool       `json:"paused"`
	Overdue      bool       `json:"overdue"`
	Lon          float64    `json:"lon"`
	Lat          float64    `json:"lat"`
	Address      string     `json:"address"`
	Building     string     `json:"building,omitempty"`
	Description  string     `json:"description"`
	Areas        []AreaRef  `json:"areas"`
	Ambiguous    bool       `json:"ambiguous"`
	Unit         *UnitRef   `json:"unit,omitempty"`
	HandlerID    int64      `json:"handler_id,omitempty"`
	Handler      string     `json:"handler,omitempty"`
	// Phones are the reporters' numbers, filled only for the case's handler.
	Phones     []string      `json:"phones,omitempty"`
	ReportedAt time.Time     `json:"reported_at"`
	ClosedAt   *time.Time    `json:"closed_at,omitempty"`
	MergedInto string        `json:"merged_into,omitempty"`
	Rating     int           `json:"rating,omitempty"`
	Photos     []int64       `json:"photos"`
	Events     []EventRecord `json:"events,omitempty"`
	// WorkingMinutesLeft is the working time left on the current step, in
	// minutes on the working calendar (negative: overdue by that much; "剩 3
	// 工作小时"); nil when no deadline applies. While suspended it is the
	// time kept at suspension.
	WorkingMinutesLeft *int64 `json:"working_minutes_left,omitempty"`
	// Roles are the reader's roles on this case.
	Roles []Role `json:"roles,omitempty"`
	// Actions lists what the reader may do now: the state machine's actions
	// from the case's state for one of the reader's roles (single case only).
	Actions []ActionOption `json:"actions,omitempty"`
	// DispatchUnits are the units the reader may dispatch the case to, when
	// Actions has dispatch: the routing's suggestion first (the unit a
	// dispatch without to_unit goes to), then the other units covering the
	// case's areas, nearest first (single case only).
	DispatchUnits []UnitRef `json:"dispatch_units,omitempty"`
}

// EventRecord is one entry of a case's history as staff see it.
type EventRecord struct {
	ID         int64          `json:"id"`
	Version    int64          `json:"version"`
	At         time.Time      `json:"at"`
	ActorKind  string         `json:"actor_kind"`
	ActorName  string         `json:"actor_name,omitempty"`
	ActorRole  string         `json:"actor_role,omitempty"`
	Action     string         `json:"action"`
	From       State          `json:"from,omitempty"`
	To         State          `json:"to"`
	Note       string         `json:"note,omitempty"`
	PublicNote string         `json:"public_note,omitempty"`
	Reason     string         `json:"reason,omitempty"`
	Photos     []int64        `json:"photos"`
	Due        *time.Time     `json:"due,omitempty"`
	Tier       Tier           `json:"tier,omitempty"`
	UnitID     int64          `json:"unit_id,omitempty"`
	Detail     map[string]any `json:"detail,omitempty"`
}

// PublicCase is what the holder of a tracking code sees: no names, no
// phones, no units' staff, no internal notes.
type PublicCase struct {
	TrackingCode string     `json:"tracking_code"`
	Category     string     `json:"category"`
	CategoryZh   string     `json:"category_zh"`
	CategoryEn   string     `json:"category_en"`
	State        State      `json:"state"`
	ReportedAt   time.Time  `json:"reported_at"`
	ClosedAt     *time.Time `json:"closed_at,omitempty"`
	MergedInto   string     `json:"merged_into,omitempty"`
	Rated        bool       `json:"rated"`
	// Unit is the handling unit's name (an office, never a person); empty
	// until the case is routed to one.
	Unit string `json:"unit,omitempty"`
	// Due is the deadline of the current step while the clock runs.
	Due *time.Time `json:"due,omitempty"`
	// ReopenUntil is the last moment the reporter may say "not solved"
	// (closed or rated cases; Track only).
	ReopenUntil *time.Time    `json:"reopen_until,omitempty"`
	Photos      int           `json:"photos"` // how many photos the case has (the photos themselves are for staff)
	Timeline    []PublicEvent `json:"timeline"`
}

// PublicEvent is a timeline entry of a PublicCase.
type PublicEvent struct {
	At         time.Time `json:"at"`
	Action     string    `json:"action"`
	To         State     `json:"to"`
	PublicNote string    `json:"public_note,omitempty"`
}

// Duplicate is an open case of the same category near a new report.
type Duplicate struct {
	TrackingCode string    `json:"tracking_code"`
	State        State     `json:"state"`
	DistanceM    float64   `json:"distance_m"`
	ReportedAt   time.Time `json:"reported_at"`
}

// NearbyCase is an open case near a point as anyone may see it before
// reporting ("这里已有人反映过"): category, state, the staff's last public
// note, the day it was reported, roughly how far. Never the tracking code
// (it rates and reopens), the description, the address or a reporter's data.
// Follow is the case's follow key: GET /cases/follow/{key} shows its public
// status and nothing more.
type NearbyCase struct {
	Follow     string  `json:"follow"`
	Category   string  `json:"category"`
	CategoryEn string  `json:"category_en"`
	CategoryZh string  `json:"category_zh"`
	State      State   `json:"state"`
	Summary    string  `json:"summary,omitempty"`
	ReportedOn string  `json:"reported_on"` // YYYY-MM-DD, China Standard Time
	AboutM     float64 `json:"about_m"`     // distance rounded to 10 m
}

// Follower is the public side of duplicates: nearby open cases and the
// status of a case by its follow key (data.CaseStore implements it).
type Follower interface {
	// Nearby lists open cases within NearbyRadiusM of p (EPSG:4326) reported
	// in the last NearbyDays, of category when it is not empty, nearest first.
	Nearby(ctx context.Context, category string, p orb.Point) ([]NearbyCase, error)
	// Followed is the public view of the case with follow key key, without
	// its tracking code.
	Followed(ctx context.Context, key string) (*PublicCase, error)
}

// The reach of Nearby: the same 50 m and 7 days as the intake's duplicate candidates.
const (
	NearbyRadiusM = 50.0
	NearbyDays    = 7
)

// IntakeResult answers an intake: the tracking code and public view for the
// reporter, the full record for staff, and duplicate candidates.
type IntakeResult struct {
	TrackingCode string      `json:"tracking_code"`
	Public       *PublicCase `json:"case"`
	Record       *Record     `json:"record,omitempty"`
	Duplicates   []Duplicate `json:"duplicates"`
}

// ActionRequest is POST /cases/{id}/actions.
type ActionRequest struct {
	Action     Action    `json:"action"`
	Version    int64     `json:"version"`
	Note       string    `json:"note"`
	PublicNote string    `json:"public_note"`
	Reason     string    `json:"reason"`
	ToUnit     int64     `json:"to_unit"`
	Photos     []int64   `json:"photos"`
	Deadline   time.Time `json:"deadline"`
	MergedInto string    `json:"merged_into"`
	// Relocation and re-categorisation (store actions outside the table).
	Lon, Lat *float64 `json:"-"`
	Category string   `json:"category"`
	// IdempotencyKey, when set (the Idempotency-Key header), makes a retry of
	// the same action return the case as it is instead of acting twice.
	IdempotencyKey string `json:"-"`
}

// Store-level actions outside the state machine's table: they re-route.
const (
	ActionRelocate      Action = "relocate"     // a new location: re-routed
	ActionRecategorize  Action = "recategorize" // a new category: re-routed
	EventReport         Action = "report"       // the first event
	EventReroute        Action = "reroute"      // routed to another grid or unit
	EventBoundaryChange Action = "boundary_changed"
	EventMergedIn       Action = "merged_in" // another case was merged into this one
)

// Filter selects cases for a staff worklist. Zero fields do not filter.
type Filter struct {
	AreaCode   string
	States     []State
	Category   string
	Tier       Tier // 0: any
	Overdue    bool
	Open       bool // only cases not finished (State.Finished)
	AssignedMe bool
	// Text matches the description, the address or the tracking code
	// (case-insensitive substring; at least MinFilterText characters).
	Text     string
	Bound    *orb.Bound
	From, To time.Time // reported in [From, To)
	Cursor   string
	Limit    int
	// Order is the worklist's order: OrderReported (default, newest first)
	// or OrderDue (overdue first, then by deadline, cases without one last).
	Order Order
	// Counts asks for Page.Counts: the cases per state under the same
	// filter without its States (the desk's tabs).
	Counts bool
}

// MinFilterText is the shortest free text Filter.Text accepts: shorter
// strings cannot use the trigram index and would match almost everything.
const MinFilterText = 2

// Order is a worklist's sort order.
type Order string

// Worklist orders.
const (
	OrderReported Order = ""    // newest reported first
	OrderDue      Order = "due" // overdue first, then the nearest deadline; no deadline last
)

// Page is a page of a worklist; Next is the cursor of the next page ("" at the end).
type Page struct {
	Cases []Record `json:"cases"`
	Next  string   `json:"next,omitempty"`
	// Counts are the cases per state (states with none left out) matching
	// the filter without its States; only when Filter.Counts asked for them
	// and no more than the store's cap match (exact, never estimated).
	Counts map[State]int `json:"counts,omitempty"`
	// CountsOver is the cap when more cases than it match: Counts are then
	// not given (the desk shows "more than CountsOver").
	CountsOver int `json:"counts_over,omitempty"`
}

// AreaStats are the 三率 and counts of an area's cases in a period.
type AreaStats struct {
	Area AreaRef   `json:"area"`
	From time.Time `json:"from"`
	To   time.Time `json:"to"`
	// FromDate and ToDate are the period as China's calendar days
	// (Asia/Shanghai, YYYY-MM-DD), ToDate inclusive: the day of the last
	// instant before To. The statistics page shows and edits these.
	FromDate string `json:"from_date"`
	ToDate   string `json:"to_date"`
	// Today is the server's date on China's calendar when it answered (the
	// store's clock), at the top level only: the page's date fields go no
	// further, whatever the browser's time zone.
	Today          string      `json:"today,omitempty"`
	Received       int         `json:"received"`
	Accepted       int         `json:"accepted"`
	Closed         int         `json:"closed"`
	ClosedOnTime   int         `json:"closed_on_time"`
	OpenOverdue    int         `json:"open_overdue"`
	OnTimeRate     *float64    `json:"on_time_rate"`      // closed on time ÷ (closed + open and overdue)
	ResponseRate   *float64    `json:"response_rate"`     // responded ÷ received
	ResolutionRate *float64    `json:"resolution_rate"`   // closed ÷ accepted
	Satisfaction   *float64    `json:"satisfaction_rate"` // ratings 4–5 ÷ ratings
	MedianCloseH   *float64    `json:"median_hours_to_close"`
	Children       []AreaStats `json:"children,omitempty"`
	// FewCases: fewer than MinRateCases cases count towards the on-time
	// rate (closed + open and overdue), too few to compare areas by it; the
	// statistics page shows such an area as "no data" on its map.
	FewCases bool `json:"few_cases"`
	// MinRateCases is the threshold of FewCases (MinRateCases), at the top level only.
	MinRateCases int `json:"min_rate_cases,omitempty"`
	// Weeks are the area's received and closed cases per week of the
	// period, weeks starting Monday 00:00 Asia/Shanghai (calendar.WeekStart);
	// the top level only, and only for periods of at most MaxStatsWeeks weeks.
	Weeks []WeekCount `json:"weeks,omitempty"`
}

// MinRateCases is the least number of cases behind an on-time rate for the
// statistics page to colour an area by it.
const MinRateCases = 5

// DefaultStatsWeeks is how many weeks the statistics cover when no period
// is asked for (DefaultStatsPeriod).
const DefaultStatsWeeks = 12

// DefaultStatsPeriod is the period of the statistics when none is asked
// for, [from, to): the DefaultStatsWeeks Monday-start weeks on China's
// calendar c that end with the current one, the current week up to the end
// of today (so from is a Monday 00:00 and to is tomorrow 00:00, Asia/Shanghai).
func DefaultStatsPeriod(c *calendar.Calendar, now time.Time) (from, to time.Time) {
	to = c.DateOf(now).AddDays(1).At(0, c.Location())
	from = c.DateOf(c.WeekStart(now)).AddDays(-7*(DefaultStatsWeeks-1)).At(0, c.Location())
	return from, to
}

// MaxStatsWeeks is the longest period (in weeks) whose weekly series the
// statistics answer carries (three years).
const MaxStatsWeeks = 157

// WeekCount is one week of an area's cases: received (reported in the week)
// and closed (closed in the week, whenever reported), both within the
// period asked for. Start is the week's Monday 00:00 in Asia/Shanghai; the
// first and last week may be cut by the period.
type WeekCount struct {
	Start    time.Time `json:"start"`
	Received int       `json:"received"`
	Closed   int       `json:"closed"`
}

// Service is the case store as the API uses it. Every method checks the
// staff account's role and scope against the case's area chain inside the
// transaction that reads or writes the case.
type Service interface {
	Intake(ctx context.Context, staff *Staff, in Intake) (*IntakeResult, error)
	Case(ctx context.Context, staff *Staff, id int64) (*Record, error)
	List(ctx context.Context, staff *Staff, f Filter) (*Page, error)
	Track(ctx context.Context, code string) (*PublicCase, error)
	Act(ctx context.Context, staff *Staff, id int64, req ActionRequest) (*Record, error)
	// Rate is the reporter's rating, by tracking code alone.
	Rate(ctx context.Context, code string, rating int, note string) (*PublicCase, error)
	// Reopen is the reporter's "not solved" (reason required), by tracking
	// code alone, within the machine's reopening window after closing.
	Reopen(ctx context.Context, code string, reason string) (*PublicCase, error)
	AddPhoto(ctx context.Context, staff *Staff, id int64, body []byte) (int64, error)
	Photo(ctx context.Context, staff *Staff, id int64) (contentType string, body []byte, err error)
	Stats(ctx context.Context, staff *Staff, areaCode string, from, to time.Time) (*AreaStats, error)
}

// Notification is a message to a unit about one of its cases (dispatched,
// escalated, re-routed, boundary changed). It never carries reporters' details.
type Notification struct {
	ID         int64          `json:"id"`
	CaseID     int64          `json:"case_id"`
	UnitID     int64          `json:"unit_id"`
	Kind       string         `json:"kind"`
	Payload    map[string]any `json:"payload"`
	WebhookURL string         `json:"-"`
	Attempt    int            `json:"attempt"`
}

// Notifier delivers notifications; an error means "try again later".
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}

// Update is a public change of a case (mySociety's servicerequestupdates):
// state and the public note, no names.
type Update struct {
	ID           int64     `json:"update_id"`
	TrackingCode string    `json:"service_request_id"`
	State        State     `json:"state"`
	At           time.Time `json:"updated_datetime"`
	PublicNote   string    `json:"description"`
}

// UpdateSource lists public updates of the cases in a staff account's area.
type UpdateSource interface {
	Updates(ctx context.Context, staff *Staff, from, to time.Time, limit int) ([]Update, error)
}

// TileSource draws the staff cases layer (Mapbox Vector Tile, layer "cases").
type TileSource interface {
	CasesTile(ctx context.Context, staff *Staff, z, x, y int, f Filter) ([]byte, error)
}

// CalendarAdmin lets admins add working-calendar days (next year's notice).
type CalendarAdmin interface {
	AddHolidayDays(ctx context.Context, staff *Staff, days []calendar.Day) error
}
