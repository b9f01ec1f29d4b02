package cases

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"gridmap/calendar"
	"gridmap/geo"
)

var sh = calendar.Shanghai()

func at(y int, m time.Month, d, hh, mm int) time.Time { return time.Date(y, m, d, hh, mm, 0, 0, sh) }

// Valid tracking codes for tests, made from fixed bytes so they are stable.
func testCode(t *testing.T, seed byte) string {
	t.Helper()
	b := make([]byte, trackingRandomLen)
	for i := range b {
		b[i] = seed + byte(i)*7
	}
	code, err := NewTrackingCode(strings.NewReader(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return code
}

const reporterID = 42

// mistype changes the check character of code to another valid symbol.
func mistype(code string) string {
	i := strings.IndexByte(crockford, code[len(code)-1])
	return code[:len(code)-1] + string(crockford[(i+1)%32])
}

// caseIn returns an illegal-construction case (3 stages, photo on handle) in
// state s, as the machine would have left it, at version 5, tier 2.
func caseIn(t *testing.T, s State, now time.Time) Case {
	t.Helper()
	c := Case{
		ID: 7, TrackingCode: testCode(t, 1), Category: "illegal_construction", Source: SourceGridWorker,
		ReporterID: reporterID, State: s, Version: 5, ReportedAt: now.Add(-24 * time.Hour),
		Clock: Clock{Tier: TierCommunity, Due: now.Add(2 * time.Hour)},
	}
	switch s {
	case StateSuspended:
		c.Clock = Clock{Tier: TierCommunity, Paused: true, Remaining: 3 * time.Hour}
	case StateExtensionRequested:
		c.PendingDue = now.Add(72 * time.Hour)
	case StateClosed, StateRated:
		c.ClosedAt = now.Add(-time.Hour)
		c.Clock.Due = time.Time{}
	case StateRejected, StateMerged:
		c.Clock.Due = time.Time{}
	}
	return c
}

// fullInput satisfies every need and guard of every rule for caseIn's case.
func fullInput(t *testing.T, c Case) Input {
	return Input{
		Version: c.Version, Reason: "owner asked for time", Note: "note",
		Photos: []string{"photos/1.jpg"}, Due: c.Clock.Due.Add(72 * time.Hour),
		MergedInto: testCode(t, 99), Rating: 4,
	}
}

func TestEveryRuleAndRole(t *testing.T) {
	m := NewMachine()
	now := at(2026, 3, 10, 10, 0)
	for _, r := range Rules() {
		for _, role := range Roles {
			allowed := hasRole(r.Roles, role)
			name := string(r.From) + "×" + string(r.Action) + " by " + string(role)
			t.Run(name, func(t *testing.T) {
				c := caseIn(t, r.From, now)
				actor := Actor{ID: reporterID, Role: role}
				next, clk, ev, err := m.Transition(c, r.Action, actor, fullInput(t, c), now)
				if !allowed {
					if code := geo.ErrorCode(err); code != geo.EForbidden {
						t.Fatalf("err = %v (code %q), want %s", err, code, geo.EForbidden)
					}
					return
				}
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				if next != r.To || ev.From != r.From || ev.To != r.To || ev.Action != r.Action {
					t.Errorf("got %s→%s (state %s) by %s, want %s→%s", ev.From, ev.To, next, ev.Action, r.From, r.To)
				}
				if ev.Version != c.Version+1 || ev.Actor != actor || !ev.At.Equal(now) || ev.Tier != clk.Tier {
					t.Errorf("event %+v: want version %d, actor %+v, at %s, tier %d", ev, c.Version+1, actor, now, clk.Tier)
				}
				got := c.Apply(next, clk, ev)
				if got.State != r.To || got.Version != c.Version+1 {
					t.Errorf("Apply: state %s version %d, want %s %d", got.State, got.Version, r.To, c.Version+1)
				}
			})
		}
	}
}

// Every (state, action) pair not in the table is refused with EConflict, for
// every role, and the message lists what is possible.
func TestRefusedTransitions(t *testing.T) {
	m := NewMachine()
	now := at(2026, 3, 10, 10, 0)
	actions := []Action{ActionAccept, ActionReject, ActionMerge, ActionDispatch, ActionStart, ActionCompleteStage,
		ActionHandle, ActionReturn, ActionRequestExtension, ActionApproveExtension, ActionDenyExtension, ActionSuspend,
		ActionResume, ActionVerify, ActionFailVerification, ActionClose, ActionRate, ActionReopen, ActionEscalate}
	n := 0
	for _, s := range States {
		for _, a := range actions {
			if _, ok := findRule(s, a); ok {
				continue
			}
			for _, role := range Roles {
				n++
				t.Run(string(s)+"×"+string(a)+" by "+string(role), func(t *testing.T) {
					c := caseIn(t, s, now)
					_, _, _, err := m.Transition(c, a, Actor{ID: reporterID, Role: role}, fullInput(t, c), now)
					if code := geo.ErrorCode(err); code != geo.EConflict {
						t.Fatalf("err = %v, want %s", err, geo.EConflict)
					}
					if !strings.Contains(err.Error(), string(s)) {
						t.Errorf("message %q does not name the state %s", err, s)
					}
				})
			}
		}
	}
	if n == 0 {
		t.Fatal("no refused pair tested")
	}
}

func TestTransitionNeeds(t *testing.T) {
	m := NewMachine()
	now := at(2026, 3, 10, 10, 0)
	tests := []struct {
		name   string
		state  State
		action Action
		role   Role
		edit   func(*Input, *Case)
		code   string
		msg    string
	}{
		{"reject without reason", StateReported, ActionReject, RoleDispatcher, func(in *Input, _ *Case) { in.Reason = "  " }, geo.EInvalid, "reason"},
		{"return without reason", StateDispatched, ActionReturn, RoleHandler, func(in *Input, _ *Case) { in.Reason = "" }, geo.EInvalid, "reason"},
		{"suspend without reason", StateInProgress, ActionSuspend, RoleSupervisor, func(in *Input, _ *Case) { in.Reason = "" }, geo.EInvalid, "reason"},
		{"reopen without reason", StateClosed, ActionReopen, RoleReporter, func(in *Input, _ *Case) { in.Reason = "" }, geo.EInvalid, "reason"},
		{"handle without photo when the category needs one", StateInProgress, ActionHandle, RoleHandler, func(in *Input, _ *Case) { in.Photos = nil }, geo.EInvalid, "photo"},
		{"handle without photo allowed for a dispute", StateInProgress, ActionHandle, RoleHandler, func(in *Input, c *Case) { in.Photos = nil; c.Category = "neighbour_dispute" }, "", ""},
		{"verify without on-site photo", StateHandled, ActionVerify, RoleGridWorker, func(in *Input, _ *Case) { in.Photos = nil }, geo.EInvalid, "photo"},
		{"extension without deadline", StateInProgress, ActionRequestExtension, RoleHandler, func(in *Input, _ *Case) { in.Due = time.Time{} }, geo.EInvalid, "deadline"},
		{"extension earlier than the current deadline", StateInProgress, ActionRequestExtension, RoleHandler, func(in *Input, c *Case) { in.Due = c.Clock.Due.Add(-time.Minute) }, geo.EInvalid, "later"},
		{"approve with past deadline", StateExtensionRequested, ActionApproveExtension, RoleSupervisor, func(in *Input, c *Case) { in.Due = time.Time{}; c.PendingDue = now.Add(-time.Hour) }, geo.EInvalid, "later than now"},
		{"merge without target", StateReported, ActionMerge, RoleDispatcher, func(in *Input, _ *Case) { in.MergedInto = "" }, geo.EInvalid, "tracking code"},
		{"merge into a mistyped code", StateReported, ActionMerge, RoleDispatcher, func(in *Input, _ *Case) { in.MergedInto = mistype(in.MergedInto) }, geo.EInvalid, "mistyped"},
		{"merge into itself", StateReported, ActionMerge, RoleDispatcher, func(in *Input, c *Case) { in.MergedInto = strings.ToLower(FormatTrackingCode(c.TrackingCode)) }, geo.EInvalid, "itself"},
		{"rating 0", StateClosed, ActionRate, RoleReporter, func(in *Input, _ *Case) { in.Rating = 0 }, geo.EInvalid, "1 to 5"},
		{"rating 6", StateClosed, ActionRate, RoleReporter, func(in *Input, _ *Case) { in.Rating = 6 }, geo.EInvalid, "1 to 5"},
		{"another reporter cannot rate", StateClosed, ActionRate, RoleReporter, func(_ *Input, c *Case) { c.ReporterID = 43 }, geo.EForbidden, "reported"},
		{"complete the last stage", StateInProgress, ActionCompleteStage, RoleHandler, func(_ *Input, c *Case) { c.Clock.Stage = 2 }, geo.EConflict, "last stage"},
		{"complete a stage of a one-step category", StateInProgress, ActionCompleteStage, RoleHandler, func(_ *Input, c *Case) { c.Category = "exposed_rubbish" }, geo.EConflict, "last stage"},
		{"reopen after the window", StateClosed, ActionReopen, RoleReporter, func(_ *Input, c *Case) { c.ClosedAt = at(2026, 3, 2, 10, 0) }, geo.EConflict, "only until 2026-03-09 17:30"},
		{"reopen on the window's last day", StateRated, ActionReopen, RoleReporter, func(_ *Input, c *Case) { c.ClosedAt = at(2026, 3, 3, 10, 0) }, "", ""},
		{"escalate at the district", StateInProgress, ActionEscalate, RoleSystem, func(_ *Input, c *Case) { c.Clock.Tier = TierDistrict }, geo.EConflict, "top tier"},
		{"unknown category", StateAccepted, ActionDispatch, RoleDispatcher, func(_ *Input, c *Case) { c.Category = "nope" }, geo.EInvalid, "catalogue"},
		{"unknown category can still be closed", StateVerified, ActionClose, RoleDispatcher, func(_ *Input, c *Case) { c.Category = "nope" }, "", ""},
		{"stale version", StateHandled, ActionVerify, RoleGridWorker, func(in *Input, _ *Case) { in.Version = 4 }, geo.EConflict, "now handled (version 5, you saw version 4)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := caseIn(t, tt.state, now)
			in := fullInput(t, c)
			tt.edit(&in, &c)
			_, _, _, err := m.Transition(c, tt.action, Actor{ID: reporterID, Role: tt.role}, in, now)
			if got := geo.ErrorCode(err); got != tt.code {
				t.Fatalf("err = %v (code %q), want code %q", err, got, tt.code)
			}
			if tt.msg != "" && !strings.Contains(geo.ErrorMessage(err), tt.msg) {
				t.Errorf("message %q, want it to contain %q", geo.ErrorMessage(err), tt.msg)
			}
		})
	}
}

func TestStaleVersionDetails(t *testing.T) {
	m := NewMachine()
	now := at(2026, 3, 10, 10, 0)
	c := caseIn(t, StateInProgress, now)
	_, _, _, err := m.Transition(c, ActionHandle, Actor{Role: RoleHandler}, Input{Version: 3, Photos: []string{"a"}}, now)
	ge, ok := err.(*geo.Error)
	if !ok || ge.Code != geo.EConflict {
		t.Fatalf("err = %v, want *geo.Error %s", err, geo.EConflict)
	}
	d, _ := ge.Details.(map[string]any)
	if d["state"] != StateInProgress || d["version"] != int64(5) {
		t.Errorf("details %v, want state in_progress, version 5", ge.Details)
	}
}

// step runs one transition and folds it in, failing the test on error.
func step(t *testing.T, m *Machine, c Case, a Action, role Role, in Input, now time.Time) Case {
	t.Helper()
	in.Version = c.Version
	next, clk, ev, err := m.Transition(c, a, Actor{ID: reporterID, Role: role}, in, now)
	if err != nil {
		t.Fatalf("%s at %s: %v", a, now, err)
	}
	return c.Apply(next, clk, ev)
}

func wantDue(t *testing.T, c Case, want time.Time) {
	t.Helper()
	if !c.Clock.Due.Equal(want) {
		t.Errorf("%s: due %s, want %s", c.State, c.Clock.Due.In(sh), want)
	}
}

// Illegal construction in February 2026: stop within 4 working hours, penalty
// within 7 working days, removal within 20, across the Spring Festival
// (Feb 15–23 off) and its make-up Saturdays Feb 14 and 28.
func TestLifecycleAcrossSpringFestival2026(t *testing.T) {
	m := NewMachine()
	photo := Input{Photos: []string{"p.jpg"}}
	c, ev, err := m.Open(Report{TrackingCode: testCode(t, 3), Category: "illegal_construction", Source: SourceGridWorker,
		ReporterID: reporterID, Actor: Actor{ID: reporterID, Role: RoleGridWorker}}, at(2026, 2, 12, 16, 0))
	if err != nil {
		t.Fatal(err)
	}
	if c.State != StateReported || ev.To != StateReported || c.Clock.Tier != TierCommunity || c.Version != 1 {
		t.Fatalf("opened %+v", c)
	}
	wantDue(t, c, at(2026, 2, 12, 17, 0)) // accept within 1 working hour
	c = step(t, m, c, ActionAccept, RoleDispatcher, Input{}, at(2026, 2, 12, 17, 0))
	wantDue(t, c, at(2026, 2, 13, 9, 0)) // dispatch within 1 working hour: 30 min on Thursday, 30 on Friday
	c = step(t, m, c, ActionDispatch, RoleDispatcher, Input{}, at(2026, 2, 13, 9, 0))
	wantDue(t, c, at(2026, 2, 13, 14, 30)) // stop: 4 working hours, across lunch
	c = step(t, m, c, ActionStart, RoleHandler, Input{}, at(2026, 2, 13, 9, 30))
	c = step(t, m, c, ActionCompleteStage, RoleHandler, photo, at(2026, 2, 13, 14, 0))
	// penalty: 7 working days after Fri Feb 13: 14 (make-up Sat), 24, 25, 26, 27, 28 (make-up Sat), Mar 2.
	wantDue(t, c, at(2026, 3, 2, 17, 30))
	if c.Clock.Stage != 1 {
		t.Errorf("stage %d, want 1", c.Clock.Stage)
	}
	if c.Overdue(at(2026, 3, 2, 17, 30)) || !c.Overdue(at(2026, 3, 2, 17, 31)) {
		t.Errorf("Overdue around the due time is wrong")
	}
	if left, _ := m.Remaining(c, at(2026, 2, 27, 17, 0)); left != 30*time.Minute+2*450*time.Minute {
		t.Errorf("Remaining on Fri Feb 27 17:00 = %s, want 15h30m (the rest of Friday, make-up Saturday and Monday)", left)
	}
	c = step(t, m, c, ActionCompleteStage, RoleHandler, photo, at(2026, 2, 27, 17, 10))
	wantDue(t, c, at(2026, 3, 26, 17, 30)) // removal: 20 working days after Feb 27 (make-up Saturday Feb 28 is the first)
	c = step(t, m, c, ActionHandle, RoleHandler, photo, at(2026, 3, 20, 16, 0))
	wantDue(t, c, at(2026, 3, 23, 11, 0)) // verify within 4 working hours: 1.5 on Friday, 2.5 on Monday
	c = step(t, m, c, ActionVerify, RoleGridWorker, photo, at(2026, 3, 23, 9, 0))
	c = step(t, m, c, ActionClose, RoleSupervisor, Input{}, at(2026, 3, 23, 9, 30))
	if !c.ClosedAt.Equal(at(2026, 3, 23, 9, 30)) || !c.Clock.Due.IsZero() {
		t.Errorf("closed: ClosedAt %s, due %s; want the closing time and no due", c.ClosedAt, c.Clock.Due)
	}
	c = step(t, m, c, ActionRate, RoleReporter, Input{Rating: 5}, at(2026, 3, 24, 9, 0))
	if c.State != StateRated || c.Rating != 5 || c.Version != 10 {
		t.Errorf("rated: %s rating %d version %d, want rated 5 10", c.State, c.Rating, c.Version)
	}
}

// 挂账 pauses the clock: the working time left is kept and restored on resume.
func TestSuspendKeepsRemainingWorkingTime(t *testing.T) {
	m := NewMachine()
	c := caseIn(t, StateInProgress, at(2026, 2, 13, 10, 0))
	c.Clock.Due = at(2026, 2, 13, 15, 0) // 3.5 working hours after 10:00 (lunch excluded)
	c = step(t, m, c, ActionSuspend, RoleSupervisor, Input{Reason: "owner abroad"}, at(2026, 2, 13, 10, 0))
	if !c.Clock.Paused || c.Clock.Remaining != 3*time.Hour+30*time.Minute || !c.Clock.Due.IsZero() {
		t.Fatalf("suspended clock %+v, want paused with 3h30m left", c.Clock)
	}
	if c.Overdue(at(2026, 6, 1, 0, 0)) || m.DueForEscalation(c, at(2026, 6, 1, 0, 0)) {
		t.Error("a suspended case is overdue or due for escalation")
	}
	if left, ok := m.Remaining(c, at(2026, 5, 1, 0, 0)); !ok || left != 210*time.Minute {
		t.Errorf("Remaining while suspended = %s, %v; want 3h30m", left, ok)
	}
	// Resumed on make-up Saturday Feb 14 16:00: 1.5 h that day, 2 h after the festival.
	c = step(t, m, c, ActionResume, RoleSupervisor, Input{}, at(2026, 2, 14, 16, 0))
	wantDue(t, c, at(2026, 2, 24, 10, 30))
	if c.Clock.Paused || c.Clock.Remaining != 0 {
		t.Errorf("resumed clock %+v, want running", c.Clock)
	}
}

func TestSuspendWhenOverdueResumesOverdue(t *testing.T) {
	m := NewMachine()
	c := caseIn(t, StateInProgress, at(2026, 3, 10, 10, 0))
	c.Clock.Due = at(2026, 3, 10, 9, 0)
	c = step(t, m, c, ActionSuspend, RoleSupervisor, Input{Reason: "x"}, at(2026, 3, 10, 10, 0))
	if c.Clock.Remaining != -time.Hour {
		t.Errorf("remaining %s, want -1h", c.Clock.Remaining)
	}
	c = step(t, m, c, ActionResume, RoleSupervisor, Input{}, at(2026, 3, 11, 9, 0))
	if !c.Overdue(at(2026, 3, 11, 9, 1)) {
		t.Error("a case suspended while overdue is not overdue after resuming")
	}
}

func TestExtension(t *testing.T) {
	m := NewMachine()
	now := at(2026, 3, 10, 10, 0)
	c := caseIn(t, StateInProgress, now)
	oldDue := c.Clock.Due
	asked := at(2026, 3, 20, 17, 30)
	c = step(t, m, c, ActionRequestExtension, RoleHandler, Input{Reason: "needs a crane", Due: asked}, now)
	if c.State != StateExtensionRequested || !c.PendingDue.Equal(asked) || !c.Clock.Due.Equal(oldDue) {
		t.Fatalf("after request: %s pending %s due %s; the clock must keep running to the old due", c.State, c.PendingDue, c.Clock.Due)
	}
	t.Run("approved as asked", func(t *testing.T) {
		got := step(t, m, c, ActionApproveExtension, RoleSupervisor, Input{}, now.Add(time.Hour))
		wantDue(t, got, asked)
		if !got.PendingDue.IsZero() {
			t.Error("pending deadline kept after approval")
		}
	})
	t.Run("approved with another deadline", func(t *testing.T) {
		other := at(2026, 3, 16, 17, 30)
		wantDue(t, step(t, m, c, ActionApproveExtension, RoleSupervisor, Input{Due: other}, now.Add(time.Hour)), other)
	})
	t.Run("handled meanwhile: the request lapses", func(t *testing.T) {
		got := step(t, m, c, ActionHandle, RoleHandler, Input{Photos: []string{"p.jpg"}}, now.Add(time.Hour))
		if got.State != StateHandled || !got.PendingDue.IsZero() {
			t.Errorf("handled: %s pending %s, want handled and no pending deadline", got.State, got.PendingDue)
		}
	})
	t.Run("denied keeps the old deadline", func(t *testing.T) {
		got := step(t, m, c, ActionDenyExtension, RoleSupervisor, Input{Reason: "not needed"}, now.Add(time.Hour))
		wantDue(t, got, oldDue)
		if got.State != StateInProgress || !got.PendingDue.IsZero() {
			t.Errorf("denied: %s pending %s", got.State, got.PendingDue)
		}
	})
}

func TestDueForEscalation(t *testing.T) {
	due := at(2026, 3, 13, 17, 30) // a Friday
	tests := []struct {
		name  string
		state State
		tier  Tier
		grace time.Duration
		now   time.Time
		want  bool
	}{
		{"not yet due", StateInProgress, TierGrid, 0, at(2026, 3, 13, 17, 0), false},
		{"exactly due is not overdue", StateInProgress, TierGrid, 0, due, false},
		{"overdue in progress", StateInProgress, TierGrid, 0, at(2026, 3, 13, 17, 31), true},
		{"overdue dispatched, not started", StateDispatched, TierCommunity, 0, at(2026, 3, 16, 9, 0), true},
		{"overdue with an extension pending", StateExtensionRequested, TierSubdistrict, 0, at(2026, 3, 16, 9, 0), true},
		{"at the district already", StateInProgress, TierDistrict, 0, at(2026, 3, 16, 9, 0), false},
		{"handled cases wait for verification, not escalation", StateHandled, TierGrid, 0, at(2026, 3, 16, 9, 0), false},
		{"grace of 1 working hour not spent over the weekend", StateInProgress, TierGrid, time.Hour, at(2026, 3, 15, 12, 0), false},
		{"grace of 1 working hour spent on Monday", StateInProgress, TierGrid, time.Hour, at(2026, 3, 16, 9, 30), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMachine()
			m.Policy.EscalationGrace = tt.grace
			c := Case{State: tt.state, Category: "exposed_rubbish", Clock: Clock{Tier: tt.tier, Due: due}}
			if got := m.DueForEscalation(c, tt.now); got != tt.want {
				t.Errorf("DueForEscalation at %s = %v, want %v", tt.now, got, tt.want)
			}
		})
	}
}

func TestEscalateMovesUpAndRestartsTheStage(t *testing.T) {
	m := NewMachine()
	now := at(2026, 3, 16, 9, 0)
	c := caseIn(t, StateInProgress, now)
	c.Clock = Clock{Tier: TierGrid, Stage: 1, Due: at(2026, 3, 13, 17, 30)}
	for _, want := range []Tier{TierCommunity, TierSubdistrict, TierDistrict} {
		if !m.DueForEscalation(c, now) {
			t.Fatalf("tier %d: not due for escalation", c.Clock.Tier)
		}
		c = step(t, m, c, ActionEscalate, RoleSystem, Input{}, now)
		if c.Clock.Tier != want || c.Clock.Stage != 1 {
			t.Errorf("tier %d stage %d, want %d 1", c.Clock.Tier, c.Clock.Stage, want)
		}
		wantDue(t, c, m.Calendar.AddWorkingDays(now, 7)) // the penalty stage's 7 working days again
		now = c.Clock.Due.Add(time.Minute)
	}
	if m.DueForEscalation(c, now) {
		t.Error("due for escalation above the district")
	}
}

func TestOpenRefuses(t *testing.T) {
	m := NewMachine()
	good := Report{TrackingCode: testCode(t, 5), Category: "exposed_rubbish", Source: SourceResidentWeb}
	tests := []struct {
		name string
		edit func(*Report)
		msg  string
	}{
		{"unknown category", func(r *Report) { r.Category = "litter" }, "unknown category"},
		{"unknown source", func(r *Report) { r.Source = "fax" }, "unknown source"},
		{"bad tracking code", func(r *Report) { r.TrackingCode = "ABC" }, "10 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := good
			tt.edit(&r)
			_, _, err := m.Open(r, at(2026, 3, 10, 10, 0))
			if geo.ErrorCode(err) != geo.EInvalid || !strings.Contains(geo.ErrorMessage(err), tt.msg) {
				t.Errorf("err = %v, want invalid containing %q", err, tt.msg)
			}
		})
	}
	if _, _, err := m.Open(good, at(2026, 3, 10, 10, 0)); err != nil {
		t.Errorf("good report refused: %v", err)
	}
}

// Every state can be reached from reported, and every non-final state can
// reach a final one: the table has no dead ends.
func TestTableIsConnected(t *testing.T) {
	reach := map[State]bool{StateReported: true}
	for changed := true; changed; {
		changed = false
		for _, r := range rules {
			if reach[r.From] && !reach[r.To] {
				reach[r.To], changed = true, true
			}
		}
	}
	for _, s := range States {
		if !reach[s] {
			t.Errorf("state %s cannot be reached from reported", s)
		}
	}
	final := map[State]bool{StateRejected: true, StateMerged: true, StateRated: true}
	for changed := true; changed; {
		changed = false
		for _, r := range rules {
			if final[r.To] && !final[r.From] {
				final[r.From], changed = true, true
			}
		}
	}
	for _, s := range States {
		if !final[s] {
			t.Errorf("state %s cannot reach rejected, merged or rated", s)
		}
	}
	seen := map[[2]string]bool{}
	for _, r := range rules {
		k := [2]string{string(r.From), string(r.Action)}
		if seen[k] {
			t.Errorf("rule %s×%s appears twice", r.From, r.Action)
		}
		seen[k] = true
		if len(r.Roles) == 0 || r.Zh == "" {
			t.Errorf("rule %s×%s has no role or no Chinese name", r.From, r.Action)
		}
	}
}

func TestAllowedActions(t *testing.T) {
	staged := Category{PhotoOnHandle: true, Steps: []Step{{Zh: "制止"}, {Zh: "处罚"}}}
	single := Category{PhotoOnHandle: true, Steps: []Step{{Zh: "清除"}}}
	at := func(s State, stage int, tier Tier) Case {
		return Case{State: s, Clock: Clock{Stage: stage, Tier: tier}}
	}
	for _, tc := range []struct {
		name  string
		c     Case
		roles []Role
		cat   Category
		want  string
	}{
		{"handler on a dispatched case", at(StateDispatched, 0, TierCommunity), []Role{RoleHandler}, staged, "[{start []} {return [reason]}]"},
		{"grid worker and handler in progress, first of two stages", at(StateInProgress, 0, TierCommunity), []Role{RoleHandler, RoleGridWorker}, staged,
			"[{return [reason]} {complete_stage [photo]} {handle [photo]} {request_extension [reason due]}]"},
		{"no complete_stage in the last stage", at(StateInProgress, 1, TierCommunity), []Role{RoleHandler}, staged,
			"[{return [reason]} {handle [photo]} {request_extension [reason due]}]"},
		{"no complete_stage for a single-stage category issue-11", at(StateInProgress, 0, TierCommunity), []Role{RoleHandler}, single,
			"[{return [reason]} {handle [photo]} {request_extension [reason due]}]"},
		{"grid worker checks a handled case", at(StateHandled, 0, TierCommunity), []Role{RoleGridWorker}, single, "[{verify [photo]} {fail_verification [reason]}]"},
		{"supervisor may escalate by hand", at(StateDispatched, 0, TierCommunity), []Role{RoleSupervisor}, single, "[{escalate []}]"},
		{"no escalation at the district", at(StateDispatched, 0, TierDistrict), []Role{RoleSupervisor}, single, "[]"},
		{"the system role alone is the sweep, not a reader", at(StateDispatched, 0, TierCommunity), []Role{RoleSystem}, single, "[]"},
		{"a viewer has no roles", at(StateReported, 0, TierCommunity), nil, single, "[]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := fmt.Sprint(AllowedActions(tc.c, tc.roles, tc.cat)); got != tc.want {
				t.Errorf("AllowedActions(%s stage %d tier %d, %v) = %s, want %s", tc.c.State, tc.c.Clock.Stage, tc.c.Clock.Tier, tc.roles, got, tc.want)
			}
		})
	}
}

// TestAllowedActionsAgreeWithTransition: every action AllowedActions offers
// passes Transition's position checks, and complete_stage it leaves out is
// refused by Transition (the one rule, Rule.blocked, behind both).
func TestAllowedActionsAgreeWithTransition(t *testing.T) {
	m := NewMachine()
	cat, ok := m.Catalogue.Category("exposed_rubbish")
	if !ok || len(cat.Steps) != 1 {
		t.Fatalf("exposed_rubbish: want a single-stage category in the default catalogue, got %v %v", ok, cat.Steps)
	}
	c := Case{TrackingCode: testCode(t, 7), Category: cat.Code, State: StateInProgress, Version: 3, Clock: Clock{Tier: TierCommunity}}
	for _, a := range AllowedActions(c, []Role{RoleHandler}, cat) {
		if a.Action == ActionCompleteStage {
			t.Fatalf("complete_stage offered for single-stage %s", cat.Code)
		}
	}
	_, _, _, err := m.Transition(c, ActionCompleteStage, Actor{ID: 1, Role: RoleHandler}, Input{Version: 3, Photos: []string{"p"}}, at(2026, 3, 10, 10, 0))
	if geo.ErrorCode(err) != geo.EConflict {
		t.Errorf("complete_stage on single-stage case: got %v, want a conflict", err)
	}
}

// TestStateFinished: the finished states are the final ones (no action
// possible) and the closed ones the reporter may still rate or reopen.
func TestStateFinished(t *testing.T) {
	for _, s := range States {
		want := len(ActionsFrom(s)) == 0 || s == StateClosed || s == StateRated
		if got := s.Finished(); got != want {
			t.Errorf("%s.Finished() = %v, want %v", s, got, want)
		}
	}
}
