package calendar_test

import (
	"fmt"
	"time"

	"gridmap/calendar"
)

// A deadline of 7 working days set on Thursday 12 February 2026 crosses the
// Spring Festival (15–23 February off) and counts both make-up Saturdays.
func ExampleCalendar_AddWorkingDays() {
	c := calendar.Default()
	from := time.Date(2026, 2, 12, 10, 0, 0, 0, c.Location())
	fmt.Println(c.AddWorkingDays(from, 7).Format("2006-01-02 15:04 Mon"))
	// Output: 2026-02-28 17:30 Sat
}

// Working time left, for "剩 N 工作小时": lunch and the night do not count.
func ExampleCalendar_WorkingDuration() {
	c := calendar.Default()
	now := time.Date(2026, 3, 10, 11, 0, 0, 0, c.Location())
	due := time.Date(2026, 3, 11, 9, 30, 0, 0, c.Location())
	fmt.Println(c.WorkingDuration(now, due))
	// Output: 6h0m0s
}

// Next year's days, entered by an administrator before a package update.
func ExampleCalendar_WithDays() {
	c := calendar.Default().WithDays([]calendar.Day{{Date: calendar.D(2028, 1, 3), Kind: calendar.Off, Name: "元旦"}})
	fmt.Println(c.IsWorkingDay(calendar.D(2028, 1, 3)), c.Covers(2028))
	// Output: false true
}
