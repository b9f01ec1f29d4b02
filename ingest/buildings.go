package ingest

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gridmap/geo"
)

// BuildingOptions says how ReadBuildings reads a file. The zero value reads
// the default fields of a format told by the file extension.
type BuildingOptions struct {
	// Format is "geojson", "csv" or "pbf" (OpenStreetMap PBF); "" tells it
	// from the file extension: .geojson or .json, .csv, .pbf or .osm.pbf.
	Format string
	// Property (GeoJSON), column (CSV) or tag (PBF) names; "" selects the
	// defaults: no code except the CSV column "code"; "name"; "address" or
	// composed from addr_* / addr:* parts; "households"; "residents";
	// "floors" or "building:levels" (CSV: "floors").
	CodeField, NameField, AddressField, HouseholdsField, ResidentsField, FloorsField string
	// LonField and LatField name the CSV coordinate columns (EPSG:4326
	// degrees); defaults "lon" and "lat".
	LonField, LatField string
	// Progress, when not nil, is called with the bytes of the file read so
	// far and the file size, at most about ten times a second and once at the
	// end. For PBF files, which are read in several passes, done counts the
	// passes together scaled to the file size. It may be called from another
	// goroutine than ReadBuildings' caller, never by two at once.
	Progress func(done, total int64)
}

// Rejection is a record of the file that was not imported, and why.
type Rejection struct {
	Ref    string // where it is: "line 14" (CSV), "feature 3 (id 404676268)" (GeoJSON), "way 123" (PBF)
	Reason string // what is wrong, e.g. `households must be a whole number, got "abc"`
}

// String returns "Ref: Reason", e.g. `line 14: households must be a whole number, got "abc"`.
func (r Rejection) String() string { return r.Ref + ": " + r.Reason }

// BuildingReport says what ReadBuildings did with the records of a file.
// Read = Accepted + Skipped + len(Rejected).
type BuildingReport struct {
	Read     int // records that are buildings or address points (PBF: ways and relations with building=*, nodes with addr:housenumber)
	Accepted int // records returned as buildings
	// Skipped counts buildings left out without being wrong, e.g. PBF
	// building relations whose rings cannot be assembled; Notes says why.
	Skipped  int
	Rejected []Rejection
	Notes    []string
}

// maxNotes caps BuildingReport.Notes; further notes are summarised.
const maxNotes = 50

func (rep *BuildingReport) note(format string, args ...any) {
	switch {
	case len(rep.Notes) < maxNotes:
		rep.Notes = append(rep.Notes, fmt.Sprintf(format, args...))
	case len(rep.Notes) == maxNotes:
		rep.Notes = append(rep.Notes, "further notes left out")
	}
}

func (rep *BuildingReport) reject(ref, format string, args ...any) {
	rep.Rejected = append(rep.Rejected, Rejection{Ref: ref, Reason: fmt.Sprintf(format, args...)})
}

// ReadBuildings reads the buildings of the file at path: a GeoJSON
// FeatureCollection of Point, Polygon and MultiPolygon features, a CSV file
// with a header row and a point per row, or an OpenStreetMap PBF extract
// (closed ways and multipolygon relations tagged building=*, and nodes
// tagged addr:housenumber, which become point buildings).
//
// Each building has Code, Address (display form, as given or composed with
// geo.FormatAddress), Name, Households, Residents and Floors (0 when
// unknown) and Source ("geojson:<id or index>", "csv:line 14",
// "osm:way/123", "osm:relation/7", "osm:node/5"). A building read as a point
// has Point set (EPSG:4326) and Footprint nil; a building read as a footprint
// has Footprint set and Point left as the zero orb.Point: the database
// computes it with ST_PointOnSurface. AddressNorm, Counts and the ids are left
// for the data layer.
//
// Records that cannot be imported are listed in the report, not returned as
// errors. The error is a *geo.Error (EInvalid) for problems with the whole
// file: it cannot be opened, its format is unknown, it is not a
// FeatureCollection, a CSV header lacks a named column, the PBF is corrupt.
func ReadBuildings(path string, opt BuildingOptions) ([]geo.Building, BuildingReport, error) {
	format, err := buildingFormat(path, opt.Format)
	if err != nil {
		return nil, BuildingReport{}, err
	}
	f, size, err := openFile(path, "buildings")
	if err != nil {
		return nil, BuildingReport{}, err
	}
	defer f.Close()
	var (
		bs  []geo.Building
		rep BuildingReport
	)
	switch format {
	case "geojson":
		pr := newProgressReader(f, size, opt.Progress)
		bs, rep, err = readGeoJSONBuildings(pr, opt)
		pr.finish()
	case "csv":
		pr := newProgressReader(f, size, opt.Progress)
		bs, rep, err = readCSVBuildings(pr, opt)
		pr.finish()
	case "pbf":
		bs, rep, err = readPBFBuildings(f, size, opt)
	}
	if err != nil {
		return nil, rep, err
	}
	rep.Accepted = len(bs)
	return bs, rep, nil
}

// openFile opens the file of what ("buildings", "roads") at path and
// returns its size.
func openFile(path, what string) (*os.File, int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, 0, &geo.Error{Code: geo.EInvalid, Message: fmt.Sprintf("cannot open %s file %s", what, path), Err: err}
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, 0, &geo.Error{Code: geo.EInvalid, Message: fmt.Sprintf("cannot read %s file %s", what, path), Err: err}
	}
	return f, st.Size(), nil
}

// buildingFormat resolves BuildingOptions.Format.
func buildingFormat(path, format string) (string, error) {
	return fileFormat("buildings", path, format)
}

// fileFormat resolves the format of a file of what ("buildings", "roads"):
// format as given, else from path's extension.
func fileFormat(what, path, format string) (string, error) {
	switch strings.ToLower(format) {
	case "geojson", "json":
		return "geojson", nil
	case "csv":
		return "csv", nil
	case "pbf", "osm.pbf", "osmpbf":
		return "pbf", nil
	case "":
	default:
		return "", geo.Errorf(geo.EInvalid, "unknown %s format %q; want geojson, csv or pbf", what, format)
	}
	switch ext := strings.ToLower(filepath.Ext(path)); ext {
	case ".geojson", ".json":
		return "geojson", nil
	case ".csv":
		return "csv", nil
	case ".pbf":
		return "pbf", nil
	default:
		return "", geo.Errorf(geo.EInvalid, "cannot tell the format of %s from its extension %q; name it .geojson, .json, .csv or .pbf, or give the format", filepath.Base(path), ext)
	}
}

// parseCount reads a count (households, residents, floors): a whole number
// of 0 or more; "" is 0 (unknown). A whole number written with a decimal
// point ("12.0", as spreadsheets export it) is accepted.
func parseCount(name, s string) (int, string) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, ""
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		if ferr != nil || f != math.Trunc(f) || math.IsInf(f, 0) || math.Abs(f) > math.MaxInt32 {
			return 0, fmt.Sprintf("%s must be a whole number, got %q", name, s)
		}
		n = int(f)
	}
	if n < 0 {
		return 0, fmt.Sprintf("%s must not be negative, got %q", name, s)
	}
	if n > math.MaxInt32 {
		return 0, fmt.Sprintf("%s is too large, got %q", name, s)
	}
	return n, ""
}

// optionalCount reads a count from a default field that may hold anything
// (OSM's building:levels is sometimes "2.5" or "2;3"): the number when it is
// a count, else 0.
func optionalCount(s string) int {
	n, problem := parseCount("", s)
	if problem != "" {
		return 0
	}
	return n
}

// countField is a count to read: the option names the field and whether it
// was set.
type countField struct {
	label    string   // "households"
	set      string   // the option value; "" means defaults
	defaults []string // the fields tried when set is ""
}

func (o BuildingOptions) countFields() [3]countField {
	return [3]countField{
		{"households", o.HouseholdsField, []string{"households"}},
		{"residents", o.ResidentsField, []string{"residents"}},
		{"floors", o.FloorsField, []string{"floors", "building:levels"}},
	}
}

// readCounts fills households, residents and floors from get (a property or
// tag lookup). A field named in the options must hold a count when it is
// present; default fields are used only when they hold one.
func readCounts(opt BuildingOptions, get func(string) string) (counts [3]int, problems []string) {
	for i, cf := range opt.countFields() {
		if cf.set != "" {
			n, problem := parseCount(cf.set, get(cf.set))
			if problem != "" {
				problems = append(problems, problem)
			}
			counts[i] = n
			continue
		}
		for _, k := range cf.defaults {
			if v := get(k); v != "" {
				counts[i] = optionalCount(v)
				break
			}
		}
	}
	return counts, problems
}

// composeAddress builds the display address from addr parts found by get,
// trying the keys with prefix "addr_" then "addr:" for each part (and, for
// OSM, addr:place where there is no street).
func composeAddress(get func(string) string) string {
	part := func(name string) string {
		if v := strings.TrimSpace(get("addr_" + name)); v != "" {
			return v
		}
		return strings.TrimSpace(get("addr:" + name))
	}
	return formatAddress(orDefault(part("street"), part("place")), part("housenumber"), part("postcode"), part("city"))
}

// formatAddress is geo.FormatAddress for a building with a street (or
// place): a house number without one ("3F", "B2" in the Shanghai data)
// locates nothing a resident could look up, so it gives "".
func formatAddress(street, housenumber, postcode, city string) string {
	if strings.TrimSpace(street) == "" {
		return ""
	}
	return geo.FormatAddress(street, housenumber, postcode, city)
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
