package cases

import (
	"fmt"
	"strings"
	"time"

	"gridmap/calendar"
	"gridmap/geo"
)

// Need is a set of inputs a rule requires.
type Need uint8

// Inputs a rule can require.
const (
	NeedReason          Need = 1 << iota // Input.Reason, non-blank
	NeedPhoto                            // at least one Input.Photos
	NeedPhotoIfCategory                  // a photo when the category has PhotoOnHandle
	NeedDue                              // Input.Due, a new deadline after the current one
	NeedMergeTarget                      // Input.MergedInto, a valid tracking code of another case
	NeedRating                           // Input.Rating 1–5
)

// ClockEffect is what a rule does to the case's deadline clock.
type ClockEffect string

// Clock effects.
const (
	ClockKeep         ClockEffect = "keep"          // unchanged
	ClockStop         ClockEffect = "stop"          // no deadline any more
	ClockDispatchDue  ClockEffect = "dispatch_due"  // due: Policy.DispatchWithin from now
	ClockStartHandle  ClockEffect = "start_handle"  // stage 1 of the category; due: its limit from now
	ClockNextStage    ClockEffect = "next_stage"    // the next stage; due: its limit from now
	ClockRestartStage ClockEffect = "restart_stage" // the current stage again; due: its limit from now
	ClockVerifyDue    ClockEffect = "verify_due"    // due: Policy.VerifyWithin from now
	ClockCloseDue     ClockEffect = "close_due"     // due: Policy.CloseWithin from now
	ClockExtend       ClockEffect = "extend"        // due: the approved new deadline
	ClockPause        ClockEffect = "pause"         // keep the remaining working time, no due
	ClockResume       ClockEffect = "resume"        // due: the remaining working time from now
	ClockEscalate     ClockEffect = "escalate"      // one tier up; the current stage's limit again from now
)

// Rule is one row of the state machine: in state From, action Action by one
// of Roles, with the inputs Needs, leads to state To, with Clock's effect.
type Rule struct {
	From   State
	Action Action
	To     State
	Roles  []Role
	Needs  Need
	Clock  ClockEffect
	Zh     string // the action's Chinese name
}

var (
	desk    = []Role{RoleDispatcher, RoleSupervisor}
	handler = []Role{RoleHandler}
	super   = []Role{RoleSupervisor}
	grid    = []Role{RoleGridWorker}
	rep     = []Role{RoleReporter}
	auto    = []Role{RoleSystem, RoleSupervisor}
)

// rules is THE state machine. docs/cases.md shows it (a test keeps them equal).
var rules = []Rule{
	{StateReported, ActionAccept, StateAccepted, desk, 0, ClockDispatchDue, "立案"},
	{StateReported, ActionReject, StateRejected, desk, NeedReason, ClockStop, "不予立案"},
	{StateReported, ActionMerge, StateMerged, desk, NeedMergeTarget, ClockStop, "合并"},
	{StateAccepted, ActionMerge, StateMerged, desk, NeedMergeTarget, ClockStop, "合并"},
	{StateAccepted, ActionDispatch, StateDispatched, desk, 0, ClockStartHandle, "派遣"},
	{StateReturned, ActionDispatch, StateDispatched, desk, 0, ClockStartHandle, "派遣"},
	{StateReturned, ActionReject, StateRejected, desk, NeedReason, ClockStop, "不予立案"},
	{StateReopened, ActionDispatch, StateDispatched, desk, 0, ClockStartHandle, "派遣"},
	{StateDispatched, ActionStart, StateInProgress, handler, 0, ClockKeep, "签收"},
	{StateDispatched, ActionReturn, StateReturned, handler, NeedReason, ClockDispatchDue, "退回"},
	{StateInProgress, ActionReturn, StateReturned, handler, NeedReason, ClockDispatchDue, "退回"},
	{StateInProgress, ActionCompleteStage, StateInProgress, handler, NeedPhotoIfCategory, ClockNextStage, "阶段完成"},
	{StateInProgress, ActionHandle, StateHandled, handler, NeedPhotoIfCategory, ClockVerifyDue, "处置完成"},
	{StateExtensionRequested, ActionHandle, StateHandled, handler, NeedPhotoIfCategory, ClockVerifyDue, "处置完成"},
	{StateInProgress, ActionRequestExtension, StateExtensionRequested, handler, NeedReason | NeedDue, ClockKeep, "申请延期"},
	{StateExtensionRequested, ActionApproveExtension, StateInProgress, super, 0, ClockExtend, "批准延期"},
	{StateExtensionRequested, ActionDenyExtension, StateInProgress, super, NeedReason, ClockKeep, "驳回延期"},
	{StateInProgress, ActionSuspend, StateSuspended, super, NeedReason, ClockPause, "挂账"},
	{StateSuspended, ActionResume, StateInProgress, super, 0, ClockResume, "恢复"},
	{StateHandled, ActionVerify, StateVerified, grid, NeedPhoto, ClockCloseDue, "核查通过"},
	{StateHandled, ActionFailVerification, StateInProgress, grid, NeedReason, ClockRestartStage, "核查不通过"},
	{StateVerified, ActionClose, StateClosed, desk, 0, ClockStop, "结案"},
	{StateClosed, ActionRate, StateRated, rep, NeedRating, ClockKeep, "评价"},
	{StateClosed, ActionReopen, StateReopened, rep, NeedReason, ClockDispatchDue, "重启"},
	{StateRated, ActionReopen, StateReopened, rep, NeedReason, ClockDispatchDue, "重启"},
	{StateDispatched, ActionEscalate, StateDispatched, auto, 0, ClockEscalate, "升级"},
	{StateInProgress, ActionEscalate, StateInProgress, auto, 0, ClockEscalate, "升级"},
	{StateExtensionRequested, ActionEscalate, StateExtensionRequested, auto, 0, ClockEscalate, "升级"},
}

// Rules returns a copy of the state machine's table.
func Rules() []Rule {
	out := make([]Rule, len(rules))
	for i, r := range rules {
		r.Roles = append([]Role(nil), r.Roles...)
		out[i] = r
	}
	return out
}

// usesCategory reports whether applying r needs the case's category: for its
// photo rule or its stages' limits.
func (r Rule) usesCategory() bool {
	switch r.Clock {
	case ClockStartHandle, ClockNextStage, ClockRestartStage, ClockEscalate:
		return true
	}
	return r.Needs&NeedPhotoIfCategory != 0
}

func findRule(s State, a Action) (Rule, bool) {
	for _, r := range rules {
		if r.From == s && r.Action == a {
			return r, true
		}
	}
	return Rule{}, false
}

// ActionsFrom returns the actions the table allows in state s, in table order.
func ActionsFrom(s State) []Action {
	var out []Action
	for _, r := range rules {
		if r.From == s {
			out = append(out, r.Action)
		}
	}
	return out
}

// ActionOption is an action a reader may take now and the inputs it
// needs ("reason", "photo", "due", "merge_target", "rating"): what a form
// must ask for. The machine checks them again when the action is sent.
type ActionOption struct {
	Action Action   `json:"action"`
	Needs  []string `json:"needs"`
}

// AllowedActions returns the actions the table allows on c (in its state)
// for any of roles, in table order, each once, with their inputs for a case
// of cat (its PhotoOnHandle decides "photo" for NeedPhotoIfCategory). Actions
// the case's own position rules out are left out (Rule.blocked: no
// complete_stage in the last or only stage of cat, no escalation at the top
// tier). The system's automatic escalation is left out unless roles has
// another role that may escalate.
func AllowedActions(c Case, roles []Role, cat Category) []ActionOption {
	var out []ActionOption
	seen := map[Action]bool{}
	for _, r := range rules {
		if r.From != c.State || seen[r.Action] || r.blocked(c, cat) != nil {
			continue
		}
		for _, want := range r.Roles {
			if want != RoleSystem && hasRole(roles, want) {
				seen[r.Action] = true
				out = append(out, ActionOption{Action: r.Action, Needs: r.Needs.names(cat)})
				break
			}
		}
	}
	return out
}

// names are the inputs of n for a case of cat, as ActionOption lists them.
func (n Need) names(cat Category) []string {
	out := []string{}
	for _, x := range []struct {
		need Need
		name string
		when bool
	}{{NeedReason, "reason", true}, {NeedPhoto, "photo", true}, {NeedPhotoIfCategory, "photo", cat.PhotoOnHandle},
		{NeedDue, "due", true}, {NeedMergeTarget, "merge_target", true}, {NeedRating, "rating", true}} {
		if n&x.need != 0 && x.when {
			out = append(out, x.name)
		}
	}
	return out
}

// Policy holds the deadlines of the steps around handling and the limits the
// rules check. All durations are working time on the Machine's calendar.
type Policy struct {
	AcceptWithin   Limit // reported → accepted or rejected (受理立案)
	DispatchWithin Limit // accepted, returned or reopened → dispatched
	VerifyWithin   Limit // handled → verified on site (核查)
	CloseWithin    Limit // verified → closed (结案)
	// ReopenWithinDays is how many working days after closing the reporter
	// may reopen a case (until the close of office on the last of them).
	ReopenWithinDays int
	// EscalationGrace is the working time a handling deadline may be exceeded
	// before DueForEscalation says yes (0: as soon as it is overdue).
	EscalationGrace time.Duration
}

// DefaultPolicy: accept and dispatch within 1 working hour each, verify within
// 4, close within 1, reopen within 5 working days, escalate at once when overdue.
func DefaultPolicy() Policy {
	return Policy{
		AcceptWithin:     Limit{1, WorkingHours},
		DispatchWithin:   Limit{1, WorkingHours},
		VerifyWithin:     Limit{4, WorkingHours},
		CloseWithin:      Limit{1, WorkingHours},
		ReopenWithinDays: 5,
	}
}

// Machine runs the state machine with a calendar, a catalogue and a policy.
type Machine struct {
	Calendar  *calendar.Calendar
	Catalogue *Catalogue
	Policy    Policy
}

// NewMachine returns a machine on the default calendar, catalogue and policy.
func NewMachine() *Machine {
	return &Machine{Calendar: calendar.Default(), Catalogue: DefaultCatalogue(), Policy: DefaultPolicy()}
}

// Report is a new case as it arrives.
type Report struct {
	TrackingCode string // from NewTrackingCode
	Category     string
	Source       Source
	ReporterID   int64
	Actor        Actor // who entered it (the reporter, a grid worker, a hotline operator)
	Note         string
	Photos       []string
}

// Open returns a new case in state reported, version 1, at the category's
// default tier, with the accept deadline running from now, and its first event.
func (m *Machine) Open(r Report, now time.Time) (Case, Event, error) {
	cat, ok := m.Catalogue.Category(r.Category)
	if !ok {
		return Case{}, Event{}, geo.Errorf(geo.EInvalid, "unknown category %q; choose one of the catalogue's codes", r.Category)
	}
	if !r.Source.Valid() {
		return Case{}, Event{}, geo.Errorf(geo.EInvalid, "unknown source %q; use resident_web, grid_worker, hotline, open311 or staff", r.Source)
	}
	if err := ValidateTrackingCode(r.TrackingCode); err != nil {
		return Case{}, Event{}, err
	}
	c := Case{
		TrackingCode: r.TrackingCode, Category: cat.Code, Source: r.Source, ReporterID: r.ReporterID,
		State: StateReported, Version: 1, ReportedAt: now,
		Clock: Clock{Tier: cat.Tier, Due: m.Policy.AcceptWithin.DueFrom(m.Calendar, now)},
	}
	ev := Event{Version: 1, At: now, Actor: r.Actor, To: StateReported, Note: r.Note,
		Photos: append([]string(nil), r.Photos...), Due: c.Clock.Due, Tier: c.Clock.Tier}
	return c, ev, nil
}

// Transition checks that actor may do action on c now with in, and returns
// the next state, the clock after the action and the event to append. It
// does not change c: Case.Apply folds the result in. Errors are *geo.Error:
// EConflict when in.Version is stale (with the case's current state) or the
// action is not allowed in the current state, EForbidden for a role the rule
// does not allow, EInvalid for a missing or wrong input. now is an instant;
// deadlines are computed in Asia/Shanghai working time.
func (m *Machine) Transition(c Case, action Action, actor Actor, in Input, now time.Time) (State, Clock, Event, error) {
	fail := func(err error) (State, Clock, Event, error) { return "", Clock{}, Event{}, err }
	if in.Version != c.Version {
		return fail(&geo.Error{Code: geo.EConflict, Message: fmt.Sprintf(
			"case %s was changed meanwhile: it is now %s (version %d, you saw version %d); reload it and try again",
			c.TrackingCode, c.State, c.Version, in.Version), Details: map[string]any{"state": c.State, "version": c.Version}})
	}
	r, ok := findRule(c.State, action)
	if !ok {
		allowed := ActionsFrom(c.State)
		if len(allowed) == 0 {
			return fail(geo.Errorf(geo.EConflict, "case %s is %s, a final state: no action is possible", c.TrackingCode, c.State))
		}
		return fail(geo.Errorf(geo.EConflict, "case %s is %s: the action %q is not possible in that state; possible now: %s",
			c.TrackingCode, c.State, action, joinActions(allowed)))
	}
	if !hasRole(r.Roles, actor.Role) {
		return fail(geo.Errorf(geo.EForbidden, "only %s may %s a case that is %s; you act as %s",
			joinRoles(r.Roles), action, c.State, roleName(actor.Role)))
	}
	if actor.Role == RoleReporter && c.ReporterID != 0 && actor.ID != c.ReporterID {
		return fail(geo.Errorf(geo.EForbidden, "only the person who reported case %s may %s it", c.TrackingCode, action))
	}
	// The category matters only for photos and stages; a case whose category
	// has left the catalogue can still be rejected, merged, closed or rated.
	cat, ok := m.Catalogue.Category(c.Category)
	if !ok && r.usesCategory() {
		return fail(geo.Errorf(geo.EInvalid, "case %s has category %q, which the catalogue does not know; give it a current category first", c.TrackingCode, c.Category))
	}
	if err := m.checkInputs(c, r, cat, in, now); err != nil {
		return fail(err)
	}

	clk, err := m.nextClock(c, r, cat, in, now)
	if err != nil {
		return fail(err)
	}
	ev := Event{
		CaseID: c.ID, Version: c.Version + 1, At: now, Actor: actor, Action: action, From: c.State, To: r.To,
		Note: in.Note, Reason: strings.TrimSpace(in.Reason), Photos: append([]string(nil), in.Photos...),
		Due: clk.Due, Tier: clk.Tier,
	}
	switch action {
	case ActionMerge:
		ev.MergedInto = NormalizeTrackingCode(in.MergedInto)
	case ActionRate:
		ev.Rating = in.Rating
	case ActionRequestExtension:
		ev.RequestedDue = in.Due
	}
	return r.To, clk, ev, nil
}

func (m *Machine) checkInputs(c Case, r Rule, cat Category, in Input, now time.Time) error {
	if r.Needs&NeedReason != 0 && strings.TrimSpace(in.Reason) == "" {
		return geo.Errorf(geo.EInvalid, "a reason is needed to %s (%s) a case", r.Action, r.Zh)
	}
	if r.Needs&NeedPhoto != 0 && len(in.Photos) == 0 {
		return geo.Errorf(geo.EInvalid, "a photo taken on site is needed to %s (%s)", r.Action, r.Zh)
	}
	if r.Needs&NeedPhotoIfCategory != 0 && cat.PhotoOnHandle && len(in.Photos) == 0 {
		return geo.Errorf(geo.EInvalid, "category %s (%s) needs a photo of the result to %s (%s)", cat.Code, cat.Zh, r.Action, r.Zh)
	}
	if r.Needs&NeedDue != 0 {
		if in.Due.IsZero() {
			return geo.Errorf(geo.EInvalid, "a new deadline is needed to %s (%s)", r.Action, r.Zh)
		}
		if !in.Due.After(now) || !in.Due.After(c.Clock.Due) {
			return geo.Errorf(geo.EInvalid, "the new deadline %s must be later than now and than the current deadline %s",
				fmtTime(m.Calendar, in.Due), fmtTime(m.Calendar, c.Clock.Due))
		}
	}
	if r.Needs&NeedMergeTarget != 0 {
		target := NormalizeTrackingCode(in.MergedInto)
		if err := ValidateTrackingCode(target); err != nil {
			return geo.Errorf(geo.EInvalid, "to merge, give the tracking code of the case this one duplicates: %s", geo.ErrorMessage(err))
		}
		if target == NormalizeTrackingCode(c.TrackingCode) {
			return geo.Errorf(geo.EInvalid, "case %s cannot be merged into itself", c.TrackingCode)
		}
	}
	if r.Needs&NeedRating != 0 && (in.Rating < 1 || in.Rating > 5) {
		return geo.Errorf(geo.EInvalid, "rating must be 1 to 5 (5: very satisfied), got %d", in.Rating)
	}
	if err := r.blocked(c, cat); err != nil {
		return err
	}
	switch r.Action {
	case ActionApproveExtension:
		due := in.Due
		if due.IsZero() {
			due = c.PendingDue
		}
		if due.IsZero() || !due.After(now) {
			return geo.Errorf(geo.EInvalid, "the extended deadline must be later than now (%s); give one", fmtTime(m.Calendar, now))
		}
	case ActionReopen:
		if c.ClosedAt.IsZero() {
			return geo.Errorf(geo.EConflict, "case %s has no closing time on record and cannot be reopened", c.TrackingCode)
		}
		until := m.Calendar.AddWorkingDays(c.ClosedAt, m.Policy.ReopenWithinDays)
		if now.After(until) {
			return geo.Errorf(geo.EConflict, "case %s can be reopened only until %s (%d working days after closing); please report it again as a new case",
				c.TrackingCode, fmtTime(m.Calendar, until), m.Policy.ReopenWithinDays)
		}
	}
	return nil
}

// blocked returns an EConflict error when r's action is ruled out by where
// c stands, whatever the inputs: complete_stage in the last (or only) stage
// of cat, escalate at the top tier. AllowedActions leaves such actions out
// and Transition refuses them: the one place of these conditions.
func (r Rule) blocked(c Case, cat Category) error {
	switch r.Action {
	case ActionCompleteStage:
		if c.Clock.Stage+1 >= len(cat.Steps) {
			if len(cat.Steps) == 0 {
				return geo.Errorf(geo.EConflict, "case %s has no stages to complete; report it handled instead", c.TrackingCode)
			}
			return geo.Errorf(geo.EConflict, "case %s is in the last stage (%s) of %s; report it handled instead",
				c.TrackingCode, cat.Steps[min(c.Clock.Stage, len(cat.Steps)-1)].Zh, cat.Zh)
		}
	case ActionEscalate:
		if c.Clock.Tier >= TierDistrict {
			return geo.Errorf(geo.EConflict, "case %s is already at the district, the top tier; it cannot be escalated further", c.TrackingCode)
		}
	}
	return nil
}

func (m *Machine) nextClock(c Case, r Rule, cat Category, in Input, now time.Time) (Clock, error) {
	clk := c.Clock
	stageDue := func(stage int) time.Time { return cat.Steps[stage].Limit.DueFrom(m.Calendar, now) }
	switch r.Clock {
	case ClockKeep:
	case ClockStop:
		clk.Due, clk.Paused, clk.Remaining = time.Time{}, false, 0
	case ClockDispatchDue:
		clk.Due = m.Policy.DispatchWithin.DueFrom(m.Calendar, now)
	case ClockStartHandle:
		clk.Stage = 0
		clk.Due = stageDue(0)
	case ClockNextStage:
		clk.Stage++
		clk.Due = stageDue(clk.Stage)
	case ClockRestartStage, ClockEscalate:
		clk.Stage = min(clk.Stage, len(cat.Steps)-1)
		clk.Due = stageDue(clk.Stage)
		if r.Clock == ClockEscalate {
			clk.Tier++
		}
	case ClockVerifyDue:
		clk.Due = m.Policy.VerifyWithin.DueFrom(m.Calendar, now)
	case ClockCloseDue:
		clk.Due = m.Policy.CloseWithin.DueFrom(m.Calendar, now)
	case ClockExtend:
		clk.Due = in.Due
		if clk.Due.IsZero() {
			clk.Due = c.PendingDue
		}
	case ClockPause:
		clk.Remaining = 0 // no deadline was running (not expected in the states that pause)
		if !c.Clock.Due.IsZero() {
			clk.Remaining = m.Calendar.WorkingDuration(now, c.Clock.Due)
		}
		clk.Paused, clk.Due = true, time.Time{}
	case ClockResume:
		clk.Due = now
		if clk.Remaining > 0 {
			clk.Due = m.Calendar.AddWorkingTime(now, clk.Remaining)
		}
		clk.Paused, clk.Remaining = false, 0
	default:
		return Clock{}, geo.Internal("cases.Transition", fmt.Errorf("rule %s×%s has unknown clock effect %q", r.From, r.Action, r.Clock))
	}
	return clk, nil
}

// Apply returns c after a transition: the state, clock and version of ev,
// and what the action records (closing time, merge target, rating, a
// pending extension). It is the fold of a case's event history.
func (c Case) Apply(next State, clk Clock, ev Event) Case {
	c.State, c.Clock, c.Version = next, clk, ev.Version
	switch ev.Action {
	case ActionClose:
		c.ClosedAt = ev.At
	case ActionMerge:
		c.MergedInto = ev.MergedInto
	case ActionRate:
		c.Rating = ev.Rating
	case ActionRequestExtension:
		c.PendingDue = ev.RequestedDue
	case ActionApproveExtension, ActionDenyExtension, ActionHandle:
		c.PendingDue = time.Time{} // decided, or lapsed because the work is done
	case ActionReopen:
		c.ClosedAt, c.Rating = time.Time{}, 0
	}
	return c
}

// Overdue reports whether c's current step is past its deadline at now. A
// paused (suspended) clock or a case without a deadline is never overdue.
func (c Case) Overdue(now time.Time) bool {
	return !c.Clock.Paused && !c.Clock.Due.IsZero() && now.After(c.Clock.Due)
}

// Remaining returns the working time left on c's current step at now
// (negative: overdue by that much; "剩 3 工作小时"), and false when no
// deadline applies. While suspended it is the working time kept at suspension.
func (m *Machine) Remaining(c Case, now time.Time) (time.Duration, bool) {
	if c.Clock.Paused {
		return c.Clock.Remaining, true
	}
	if c.Clock.Due.IsZero() {
		return 0, false
	}
	return m.Calendar.WorkingDuration(now, c.Clock.Due), true
}

// DueForEscalation reports whether the escalation sweep should escalate c at
// now: the table allows escalation in c's state (it is being handled, the
// clock running), c is below the top tier, and its deadline has passed by at
// least Policy.EscalationGrace of working time. Each escalation restarts the
// stage's clock, so a case is escalated once per missed deadline.
func (m *Machine) DueForEscalation(c Case, now time.Time) bool {
	if _, ok := findRule(c.State, ActionEscalate); !ok || c.Clock.Tier >= TierDistrict || !c.Overdue(now) {
		return false
	}
	return m.Calendar.WorkingDuration(c.Clock.Due, now) >= m.Policy.EscalationGrace
}

func hasRole(roles []Role, r Role) bool {
	for _, x := range roles {
		if x == r {
			return true
		}
	}
	return false
}

func roleName(r Role) string {
	if r == "" {
		return "no role"
	}
	return string(r)
}

func joinRoles(rs []Role) string {
	s := make([]string, len(rs))
	for i, r := range rs {
		s[i] = string(r)
	}
	return strings.Join(s, " or ")
}

func joinActions(as []Action) string {
	s := make([]string, len(as))
	for i, a := range as {
		s[i] = string(a)
	}
	return strings.Join(s, ", ")
}

func fmtTime(cal *calendar.Calendar, t time.Time) string {
	if t.IsZero() {
		return "none"
	}
	return t.In(cal.Location()).Format("2006-01-02 15:04 (UTC+8)")
}
