package calendar

import (
	"bufio"
	"embed"
	"fmt"
	"io"
	"io/fs"
	"sort"
	"strings"
)

// holidayFiles are the State Council notices, one file a year, transcribed
// day by day (see holidays/2024.txt for the format).
//
//go:embed holidays/*.txt
var holidayFiles embed.FS

// EmbeddedYears returns the years for which holiday data is embedded, in order.
func EmbeddedYears() []int {
	names, _ := fs.Glob(holidayFiles, "holidays/*.txt")
	var years []int
	for _, n := range names {
		var y int
		if _, err := fmt.Sscanf(strings.TrimPrefix(n, "holidays/"), "%d.txt", &y); err == nil {
			years = append(years, y)
		}
	}
	sort.Ints(years)
	return years
}

// EmbeddedDays returns every day of the embedded holiday files. Each file
// holds only days of its own year.
func EmbeddedDays() ([]Day, error) {
	var all []Day
	for _, y := range EmbeddedYears() {
		name := fmt.Sprintf("holidays/%d.txt", y)
		f, err := holidayFiles.Open(name)
		if err != nil {
			return nil, err
		}
		days, err := ParseDays(f)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		for _, d := range days {
			if d.Date.Year != y {
				return nil, fmt.Errorf("%s: %s belongs to another year's file", name, d.Date)
			}
		}
		all = append(all, days...)
	}
	return all, nil
}

// ParseDays reads holiday data, one day a line: "YYYY-MM-DD off|work NAME"
// (NAME optional, may contain spaces). Blank lines and lines starting with #
// are skipped. A date listed twice is an error. Errors name the line.
func ParseDays(r io.Reader) ([]Day, error) {
	var days []Day
	seen := map[Date]int{}
	sc := bufio.NewScanner(r)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 2 {
			return nil, fmt.Errorf("line %d: want \"YYYY-MM-DD off|work NAME\", got %q", n, line)
		}
		d, err := ParseDate(f[0])
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		k := DayKind(f[1])
		if k != Off && k != Work {
			return nil, fmt.Errorf("line %d: kind must be \"off\" or \"work\", got %q", n, f[1])
		}
		if prev, ok := seen[d]; ok {
			return nil, fmt.Errorf("line %d: %s is already listed on line %d", n, d, prev)
		}
		seen[d] = n
		days = append(days, Day{Date: d, Kind: k, Name: strings.Join(f[2:], " ")})
	}
	return days, sc.Err()
}
