package cases_test

import (
	"fmt"
	"time"

	"gridmap/cases"
	"gridmap/geo"
)

func ExampleMachine_Transition() {
	m := cases.NewMachine()
	loc := m.Calendar.Location()
	code, _ := cases.NewTrackingCode(nil)
	c, _, _ := m.Open(cases.Report{TrackingCode: code, Category: "exposed_rubbish", Source: cases.SourceResidentWeb},
		time.Date(2026, 3, 10, 9, 0, 0, 0, loc))

	desk := cases.Actor{ID: 1, Role: cases.RoleDispatcher}
	for _, a := range []cases.Action{cases.ActionAccept, cases.ActionDispatch} {
		next, clk, ev, err := m.Transition(c, a, desk, cases.Input{Version: c.Version}, time.Date(2026, 3, 10, 11, 0, 0, 0, loc))
		if err != nil {
			fmt.Println(err)
			return
		}
		c = c.Apply(next, clk, ev)
	}
	fmt.Println(c.State, "due", c.Clock.Due.Format("15:04"))

	// The handler reports it handled before signing for it, then without the
	// photo the category needs.
	handler := cases.Actor{ID: 2, Role: cases.RoleHandler}
	at := time.Date(2026, 3, 10, 14, 0, 0, 0, loc)
	_, _, _, err := m.Transition(c, cases.ActionHandle, handler, cases.Input{Version: c.Version}, at)
	fmt.Println(geo.ErrorCode(err))
	next, clk, ev, _ := m.Transition(c, cases.ActionStart, handler, cases.Input{Version: c.Version}, at)
	c = c.Apply(next, clk, ev)
	_, _, _, err = m.Transition(c, cases.ActionHandle, handler, cases.Input{Version: c.Version}, at)
	fmt.Println(geo.ErrorCode(err)+":", geo.ErrorMessage(err))
	// Output:
	// dispatched due 16:30
	// conflict
	// invalid_argument: category exposed_rubbish (暴露垃圾) needs a photo of the result to handle (处置完成)
}
