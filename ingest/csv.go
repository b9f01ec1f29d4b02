package ingest

import (
	"bufio"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/paulmach/orb"

	"gridmap/geo"
)

// csvColumn is a column ReadBuildings looks for in a CSV header.
type csvColumn struct {
	label    string // what it is for, e.g. "households"
	name     string // header name looked up
	explicit bool   // named in the options: it must be in the header
	required bool   // must be in the header even by default (lon, lat)
	index    int    // position in the row, -1 when absent
}

// readCSVBuildings reads a CSV file whose first row names the columns, one
// point building per row.
func readCSVBuildings(r io.Reader, opt BuildingOptions) ([]geo.Building, BuildingReport, error) {
	var rep BuildingReport
	br := bufio.NewReader(r)
	if bom, err := br.Peek(3); err == nil && string(bom) == "\xEF\xBB\xBF" {
		br.Discard(3)
	}
	cr := csv.NewReader(br)
	cr.FieldsPerRecord = 0 // the header's count

	header, err := cr.Read()
	if errors.Is(err, io.EOF) {
		return nil, rep, geo.Errorf(geo.EInvalid, "buildings CSV file is empty; want a header row naming the columns, e.g. lon,lat,address")
	}
	if err != nil {
		return nil, rep, &geo.Error{Code: geo.EInvalid, Message: "cannot read the header row of the buildings CSV file", Err: err}
	}
	for i := range header {
		if !utf8.ValidString(header[i]) {
			return nil, rep, geo.Errorf(geo.EInvalid, "the header row of the buildings CSV file is not valid UTF-8 (column %d)", i+1)
		}
		header[i] = strings.TrimSpace(header[i])
	}

	col := func(label, set, def string, required bool) *csvColumn {
		return &csvColumn{label: label, name: orDefault(set, def), explicit: set != "", required: required, index: -1}
	}
	var (
		lon        = col("lon", opt.LonField, "lon", true)
		lat        = col("lat", opt.LatField, "lat", true)
		address    = col("address", opt.AddressField, "address", false)
		households = col("households", opt.HouseholdsField, "households", false)
		residents  = col("residents", opt.ResidentsField, "residents", false)
		floors     = col("floors", opt.FloorsField, "floors", false)
		code       = col("code", opt.CodeField, "code", false)
		name       = col("name", opt.NameField, "name", false)
	)
	cols := []*csvColumn{lon, lat, address, households, residents, floors, code, name}
	for _, c := range cols {
		for i, h := range header {
			if strings.EqualFold(h, c.name) {
				c.index = i
				break
			}
		}
		if c.index < 0 && (c.explicit || c.required) {
			return nil, rep, geo.Errorf(geo.EInvalid, "the buildings CSV header has no column %q (%s); it has %s", c.name, c.label, quoteList(header))
		}
	}

	var out []geo.Building
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		var pe *csv.ParseError
		if err != nil && !errors.As(err, &pe) {
			return nil, rep, &geo.Error{Code: geo.EInvalid, Message: "cannot read the buildings CSV file", Err: err}
		}
		rep.Read++
		if pe != nil {
			line := pe.StartLine
			if errors.Is(pe.Err, csv.ErrFieldCount) {
				rep.reject(lineRef(line), "has %d columns, the header has %d", len(rec), len(header))
			} else {
				rep.reject(lineRef(line), "is not valid CSV: %v", pe.Err)
			}
			continue
		}
		line, _ := cr.FieldPos(0)
		ref := lineRef(line)
		b, problems := csvBuilding(rec, lon, lat, address, name, code, []*csvColumn{households, residents, floors})
		if len(problems) > 0 {
			rep.reject(ref, "%s", strings.Join(problems, "; "))
			continue
		}
		b.Source = "csv:" + ref
		out = append(out, b)
	}
	return out, rep, nil
}

// csvBuilding reads one row.
func csvBuilding(rec []string, lon, lat, address, name, code *csvColumn, counts []*csvColumn) (geo.Building, []string) {
	var b geo.Building
	for i, v := range rec {
		if !utf8.ValidString(v) {
			return b, []string{fmt.Sprintf("column %d is not valid UTF-8", i+1)}
		}
	}
	field := func(c *csvColumn) string {
		if c.index < 0 {
			return ""
		}
		return strings.TrimSpace(rec[c.index])
	}
	var problems []string
	coord := func(c *csvColumn) float64 {
		s := field(c)
		f, err := strconv.ParseFloat(s, 64)
		if err != nil {
			problems = append(problems, fmt.Sprintf("%s must be a number, got %q", c.name, s))
			return 0
		}
		return f
	}
	b.Point = orb.Point{coord(lon), coord(lat)}
	if len(problems) == 0 {
		if problem := checkLonLat(b.Point); problem != "" {
			problems = append(problems, problem)
		}
	}
	b.Address = field(address)
	b.Name = field(name)
	b.Code = field(code)
	dst := []*int{&b.Households, &b.Residents, &b.Floors}
	for i, c := range counts {
		n, problem := parseCount(c.name, field(c))
		if problem != "" {
			problems = append(problems, problem)
		}
		*dst[i] = n
	}
	return b, problems
}

func lineRef(line int) string { return "line " + strconv.Itoa(line) }

func quoteList(ss []string) string {
	q := make([]string, len(ss))
	for i, s := range ss {
		q[i] = strconv.Quote(s)
	}
	return strings.Join(q, ", ")
}
