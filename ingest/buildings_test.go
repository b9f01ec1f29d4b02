package ingest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/paulmach/orb"
	"github.com/paulmach/osm"

	"gridmap/geo"
)

// buildingCounts summarises what ReadBuildings returned.
type buildingCounts struct {
	Buildings, Footprints, Points, WithAddress int
	Read, Accepted, Skipped, Rejected          int
}

func countBuildings(t *testing.T, bs []geo.Building, rep BuildingReport) buildingCounts {
	t.Helper()
	c := buildingCounts{Buildings: len(bs), Read: rep.Read, Accepted: rep.Accepted, Skipped: rep.Skipped, Rejected: len(rep.Rejected)}
	for _, b := range bs {
		switch {
		case b.Footprint != nil:
			c.Footprints++
			if b.Point != (orb.Point{}) {
				t.Errorf("%s: got Point %v with a Footprint, want the zero point", b.Source, b.Point)
			}
			checkFootprint(t, b)
		default:
			c.Points++
		}
		if b.Address != "" {
			c.WithAddress++
		}
		if b.AddressNorm != "" {
			t.Errorf("%s: got AddressNorm %q, want it left to the data layer", b.Source, b.AddressNorm)
		}
		if b.Source == "" {
			t.Errorf("got a building without Source: %+v", b)
		}
	}
	if c.Read != c.Accepted+c.Skipped+c.Rejected {
		t.Errorf("got Read %d, want Accepted+Skipped+Rejected = %d", c.Read, c.Accepted+c.Skipped+c.Rejected)
	}
	if c.Accepted != c.Buildings {
		t.Errorf("got Accepted %d, want %d (buildings returned)", c.Accepted, c.Buildings)
	}
	return c
}

func checkFootprint(t *testing.T, b geo.Building) {
	t.Helper()
	for _, poly := range b.Footprint {
		for _, ring := range poly {
			if problem := checkRing(ring); problem != "" {
				t.Errorf("%s: ring %s", b.Source, problem)
			}
			for _, p := range ring {
				if problem := checkLonLat(p); problem != "" {
					t.Errorf("%s: %s", b.Source, problem)
				}
			}
		}
	}
}

func TestReadBuildingsShanghai(t *testing.T) {
	var progress []int64
	bs, rep, err := ReadBuildings(testData(t, "shanghai-bund-buildings.geojson"), BuildingOptions{
		Progress: func(done, total int64) { progress = append(progress, done, total) },
	})
	if err != nil {
		t.Fatal(err)
	}
	got := countBuildings(t, bs, rep)
	want := buildingCounts{Buildings: 1517, Footprints: 1450, Points: 67, WithAddress: 158, Read: 1517, Accepted: 1517}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	found := false
	for _, b := range bs {
		if b.Address == "银城中路68号" {
			found = true
			if !strings.HasPrefix(b.Source, "geojson:") {
				t.Errorf("got Source %q, want geojson:<id>", b.Source)
			}
		}
	}
	if !found {
		t.Errorf("got no building with address 银城中路68号, want one")
	}
	if n := len(progress); n < 2 || progress[n-2] != progress[n-1] {
		t.Errorf("got progress calls %v, want the last to report done == total", progress)
	}
}

// The counts measured on liechtenstein.osm.pbf (Nominatim's test extract:
// Liechtenstein, Autauga County and test objects). The file holds only 227
// nodes with addr:housenumber, 15 of them on building outlines; most
// addresses are tags of building ways.
func TestReadBuildingsLiechtensteinPBF(t *testing.T) {
	bs, rep, err := ReadBuildings(testData(t, "liechtenstein.osm.pbf"), BuildingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	got := countBuildings(t, bs, rep)
	want := buildingCounts{
		Buildings: 18415, Footprints: 18203, Points: 212, WithAddress: 3551,
		Read: 18416, Accepted: 18415, Skipped: 1, Rejected: 0,
	}
	if got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}

	// Plausibility beyond the exact counts.
	var fromWays, fromRelations, fromNodes, footprintsWithAddress, alabama int
	for _, b := range bs {
		switch {
		case strings.HasPrefix(b.Source, "osm:way/"):
			fromWays++
		case strings.HasPrefix(b.Source, "osm:relation/"):
			fromRelations++
		case strings.HasPrefix(b.Source, "osm:node/"):
			fromNodes++
			if b.Footprint != nil {
				t.Errorf("%s: got a footprint for an address node", b.Source)
			}
		}
		if b.Footprint != nil && b.Address != "" {
			footprintsWithAddress++
		}
		p := b.Point
		if b.Footprint != nil {
			p = b.Footprint[0][0][0]
		}
		if p[0] < -80 {
			alabama++
		}
	}
	if got.WithAddress < 3000 {
		t.Errorf("got %d buildings with an address, want at least 3,000", got.WithAddress)
	}
	if footprintsWithAddress < 3000 {
		t.Errorf("got %d footprints with an address, want at least 3,000 (3,444 building polygons carry addr:*)", footprintsWithAddress)
	}
	if fromWays < 14000 || fromRelations != 20 || fromNodes != 212 {
		t.Errorf("got %d from ways, %d from relations, %d from nodes; want ≥ 14,000, 20, 212", fromWays, fromRelations, fromNodes)
	}
	if alabama < 1000 {
		t.Errorf("got %d buildings west of 80°W, want Autauga County's (≥ 1,000) read too", alabama)
	}
	if len(rep.Notes) == 0 {
		t.Errorf("got no notes, want the skipped relation and the address nodes on outlines explained")
	}

	byAddress := map[string]geo.Building{}
	for _, b := range bs {
		byAddress[b.Address] = b
	}
	if b, ok := byAddress["Schliassaweg 17, 9490 Vaduz"]; !ok || b.Source != "osm:way/364548693" {
		t.Errorf("got %+v for Schliassaweg 17, want osm:way/364548693", b.Source)
	}
}

func TestReadBuildingsGeoJSON(t *testing.T) {
	path := filepath.Join(t.TempDir(), "b.geojson")
	doc := fc(
		`{"type":"Feature","properties":{"id":404676268,"name":"线"},"geometry":{"type":"LineString","coordinates":[[0,0],[1,1]]}}`,
		`{"type":"Feature","properties":{"addr:street":"Städtle","addr:housenumber":"12","addr:postcode":"9490","addr:city":"Vaduz","building:levels":"3","hh":"12","bldg":"V-12"},"geometry":{"type":"Point","coordinates":[9.52,47.14]}}`,
		`{"type":"Feature","id":"x","properties":{"address":"银城中路68号","hh":"many"},"geometry":{"type":"Point","coordinates":[121.5,31.2]}}`,
		`{"type":"Feature","properties":{"hh":7,"floors":"2.5"},"geometry":{"type":"Polygon","coordinates":[`+square+`]}}`,
		`{"type":"Feature","properties":{},"geometry":{"type":"Point","coordinates":[0,100]}}`,
	)
	if err := os.WriteFile(path, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	bs, rep, err := ReadBuildings(path, BuildingOptions{HouseholdsField: "hh", CodeField: "bldg"})
	if err != nil {
		t.Fatal(err)
	}
	wantRejected := []Rejection{
		{`feature 0 (name "线", id 404676268)`, `geometry type "LineString" is not a building; want Point, Polygon or MultiPolygon`},
		{`feature 2 (id "x")`, `hh must be a whole number, got "many"`},
		{`feature 4`, `point lat must be between -90 and 90, got 100`},
	}
	if got, want := fmt.Sprint(rep.Rejected), fmt.Sprint(wantRejected); got != want {
		t.Errorf("got rejections\n%s\nwant\n%s", got, want)
	}
	if len(bs) != 2 {
		t.Fatalf("got %d buildings, want 2", len(bs))
	}
	want0 := geo.Building{Code: "V-12", Address: "Städtle 12, 9490 Vaduz", Point: orb.Point{9.52, 47.14}, Households: 12, Floors: 3, Source: "geojson:1"}
	if got := bs[0]; fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want0) {
		t.Errorf("got %+v, want %+v", got, want0)
	}
	if got := bs[1]; got.Households != 7 || got.Floors != 0 || got.Footprint == nil || got.Source != "geojson:3" {
		t.Errorf("got %+v, want 7 households, floors 0 (2.5 is not a count), a footprint, source geojson:3", got)
	}
}

func TestReadBuildingsCSV(t *testing.T) {
	dir := t.TempDir()
	const csvFile = "\xEF\xBB\xBFlon,lat,address,households,residents,floors,code,name\n" +
		"121.4996,31.2397,银城中路68号,120,300,30,B001,中银大厦\n" + // line 2
		"121.5,31.2,\"Städtle 12, 9490 Vaduz\",,,,B002,\n" + // line 3
		"121.5,31.2,x,abc,1,1,B003,n\n" + // line 4
		"200,31.2,x,1,1,1,B004,n\n" + // line 5
		"121.5,31.2,x,1,1\n" + // line 6
		"121.5,31.2,\xff\xfe,1,1,1,B006,n\n" + // line 7
		"121.5,north,x,-2,1,1,B007,n\n" + // line 8
		"\n" + // line 9: blank, skipped
		"121.5,31.3,x,2.0,1,1,B010,n\n" + // line 10
		"121.5,31.3,x,1,1,1,B011,\"n\"x\"\n" // line 11
	path := filepath.Join(dir, "buildings.csv")
	if err := os.WriteFile(path, []byte(csvFile), 0o600); err != nil {
		t.Fatal(err)
	}
	bs, rep, err := ReadBuildings(path, BuildingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	wantRejected := []string{
		`line 4: households must be a whole number, got "abc"`,
		`line 5: lon must be between -180 and 180, got 200`,
		`line 6: has 5 columns, the header has 8`,
		`line 7: column 3 is not valid UTF-8`,
		`line 8: lat must be a number, got "north"; households must not be negative, got "-2"`,
		`line 11: is not valid CSV: extraneous or missing " in quoted-field`,
	}
	var gotRejected []string
	for _, r := range rep.Rejected {
		gotRejected = append(gotRejected, r.String())
	}
	if got, want := strings.Join(gotRejected, "\n"), strings.Join(wantRejected, "\n"); got != want {
		t.Errorf("got rejections\n%s\nwant\n%s", got, want)
	}
	if got, want := fmt.Sprint(rep.Read, rep.Accepted, rep.Skipped), "9 3 0"; got != want {
		t.Errorf("got read, accepted, skipped %s, want %s", got, want)
	}
	want := []geo.Building{
		{Code: "B001", Address: "银城中路68号", Name: "中银大厦", Point: orb.Point{121.4996, 31.2397}, Households: 120, Residents: 300, Floors: 30, Source: "csv:line 2"},
		{Code: "B002", Address: "Städtle 12, 9490 Vaduz", Point: orb.Point{121.5, 31.2}, Source: "csv:line 3"},
		{Code: "B010", Address: "x", Name: "n", Point: orb.Point{121.5, 31.3}, Households: 2, Residents: 1, Floors: 1, Source: "csv:line 10"},
	}
	if got, want := fmt.Sprintf("%+v", bs), fmt.Sprintf("%+v", want); got != want {
		t.Errorf("got buildings\n%s\nwant\n%s", got, want)
	}

	t.Run("named columns", func(t *testing.T) {
		path := filepath.Join(dir, "named.csv")
		if err := os.WriteFile(path, []byte("X,Y,Adresse,HH\n9.52,47.14,Städtle 12,4\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		bs, _, err := ReadBuildings(path, BuildingOptions{LonField: "x", LatField: "y", AddressField: "Adresse", HouseholdsField: "HH"})
		if err != nil {
			t.Fatal(err)
		}
		if len(bs) != 1 || bs[0].Address != "Städtle 12" || bs[0].Households != 4 || bs[0].Point != (orb.Point{9.52, 47.14}) {
			t.Errorf("got %+v, want Städtle 12 with 4 households at 9.52, 47.14", bs)
		}
	})

	errorTests := []struct {
		name, content string
		opt           BuildingOptions
		wantHas       string
	}{
		{"missing named column", "lon,lat\n1,2\n", BuildingOptions{HouseholdsField: "hh"}, `no column "hh" (households)`},
		{"missing lat column", "lon,address\n1,x\n", BuildingOptions{}, `no column "lat"`},
		{"empty file", "", BuildingOptions{}, "empty"},
	}
	for _, tt := range errorTests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "bad.csv")
			if err := os.WriteFile(path, []byte(tt.content), 0o600); err != nil {
				t.Fatal(err)
			}
			_, _, err := ReadBuildings(path, tt.opt)
			var ge *geo.Error
			if !errors.As(err, &ge) || ge.Code != geo.EInvalid || !strings.Contains(ge.Message, tt.wantHas) {
				t.Errorf("got error %v, want EInvalid containing %q", err, tt.wantHas)
			}
		})
	}
}

func TestBuildingFormat(t *testing.T) {
	tests := []struct {
		path, format, want string
		wantErr            bool
	}{
		{"a.geojson", "", "geojson", false},
		{"a.JSON", "", "geojson", false},
		{"a.csv", "", "csv", false},
		{"liechtenstein.osm.pbf", "", "pbf", false},
		{"a.txt", "csv", "csv", false},
		{"a.txt", "", "", true},
		{"a.csv", "shapefile", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.format, func(t *testing.T) {
			got, err := buildingFormat(tt.path, tt.format)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("got %q, %v; want %q, error %v", got, err, tt.want, tt.wantErr)
			}
			if err != nil && geo.ErrorCode(err) != geo.EInvalid {
				t.Errorf("got code %s, want %s", geo.ErrorCode(err), geo.EInvalid)
			}
		})
	}
}

func TestJoinWays(t *testing.T) {
	tests := []struct {
		name    string
		ways    [][]int64
		want    string
		wantErr string
	}{
		{"closed way is a ring", [][]int64{{1, 2, 3, 1}}, "[[1 2 3 1]]", ""},
		{"two halves", [][]int64{{1, 2, 3}, {3, 4, 1}}, "[[1 2 3 4 1]]", ""},
		{"second half reversed", [][]int64{{1, 2, 3}, {1, 4, 3}}, "[[1 2 3 4 1]]", ""},
		{"two rings", [][]int64{{1, 2, 3, 1}, {5, 6}, {6, 7, 5}}, "[[1 2 3 1] [5 6 7 5]]", ""},
		{"gap in ring clipped extract", [][]int64{{1, 2, 3}, {4, 5, 1}}, "", "ends open at node 3"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, problem := joinWays(nodeIDs(tt.ways))
			if tt.wantErr != "" {
				if !strings.Contains(problem, tt.wantErr) {
					t.Errorf("got problem %q, want it to contain %q", problem, tt.wantErr)
				}
				return
			}
			if problem != "" || fmt.Sprint(got) != tt.want {
				t.Errorf("got %v, %q; want %s", got, problem, tt.want)
			}
		})
	}
}

func nodeIDs(ways [][]int64) [][]osm.NodeID {
	out := make([][]osm.NodeID, len(ways))
	for i, w := range ways {
		for _, id := range w {
			out[i] = append(out[i], osm.NodeID(id))
		}
	}
	return out
}

func TestAssembleMultipolygon(t *testing.T) {
	// Nodes 1-4: a 10×10 square in two halves; 5-8: a 2×2 square inside it;
	// 9-12: a square outside.
	coords := map[osm.NodeID]orb.Point{
		1: {0, 0}, 2: {10, 0}, 3: {10, 10}, 4: {0, 10},
		5: {4, 4}, 6: {6, 4}, 7: {6, 6}, 8: {4, 6},
		9: {20, 20}, 10: {22, 20}, 11: {22, 22}, 12: {20, 22},
	}
	seen := map[osm.NodeID]bool{}
	for id := range coords {
		seen[id] = true
	}
	ways := map[osm.WayID][]osm.NodeID{}
	for id, w := range map[osm.WayID][]int64{
		100: {1, 2, 3}, 101: {3, 4, 1}, 102: {5, 6, 7, 8, 5}, 103: {9, 10, 11, 12, 9}, 104: {1, 2, 99, 1},
	} {
		ways[id] = nodeIDs([][]int64{w})[0]
	}
	tests := []struct {
		name     string
		members  []pbfMember
		want     string // polygon and ring counts
		wantSkip string
	}{
		{"outer from two ways with a hole", []pbfMember{{100, false}, {102, true}, {101, false}}, "[2]", ""},
		{"hole goes to the outer that holds it", []pbfMember{{103, false}, {100, false}, {101, false}, {102, true}}, "[1 2]", ""},
		{"member way missing from extract", []pbfMember{{100, false}, {101, false}, {555, false}}, "", "member way 555 is not in the file"},
		{"open outer", []pbfMember{{100, false}}, "", "outer ways do not join"},
		{"node missing from extract", []pbfMember{{104, false}}, "", "node 99"},
		{"inner outside every outer", []pbfMember{{103, false}, {102, true}}, "", "inner ring lies outside"},
		{"no outer", []pbfMember{{102, true}}, "", "no outer ways"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			mp, problem := assembleMultipolygon(tt.members, ways, coords, seen)
			if tt.wantSkip != "" {
				if !strings.Contains(problem, tt.wantSkip) {
					t.Errorf("got problem %q, want it to contain %q", problem, tt.wantSkip)
				}
				return
			}
			if problem != "" {
				t.Fatalf("got problem %q, want none", problem)
			}
			var rings []int
			for _, p := range mp {
				rings = append(rings, len(p))
				for _, r := range p {
					if problem := checkRing(r); problem != "" {
						t.Errorf("ring %s", problem)
					}
				}
			}
			if got := fmt.Sprint(rings); got != tt.want {
				t.Errorf("got rings per polygon %s, want %s", got, tt.want)
			}
		})
	}
}

func TestWayRing(t *testing.T) {
	coords := map[osm.NodeID]orb.Point{1: {0, 0}, 2: {1, 0}, 3: {1, 1}, 4: {0, 1}, 5: {0, 95}}
	seen := map[osm.NodeID]bool{1: true, 2: true, 3: true, 4: true, 5: true}
	tests := []struct {
		name  string
		nodes []int64
		want  string // problem substring; "" for a ring
	}{
		{"closed square", []int64{1, 2, 3, 4, 1}, ""},
		{"unclosed building way", []int64{1, 2, 3, 4}, "way is not closed: it starts at node 1 and ends at node 4"},
		{"closed but degenerate", []int64{1, 2, 1}, "way has 3 nodes; a closed ring needs at least 4"},
		{"node missing from clipped extract", []int64{1, 2, 77, 78, 1}, "2 of its 5 nodes are not in the file (the extract is clipped), e.g. node 77"},
		{"node out of range", []int64{1, 2, 5, 1}, "node 5: lat must be between -90 and 90, got 95"},
		{"no nodes", nil, "way has no nodes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ring, problem := wayRing(nodeIDs([][]int64{tt.nodes})[0], coords, seen)
			if tt.want == "" {
				if problem != "" || len(ring) != len(tt.nodes) {
					t.Errorf("got %v, %q; want a ring of %d positions", ring, problem, len(tt.nodes))
				}
				return
			}
			if problem != tt.want {
				t.Errorf("got problem %q, want %q", problem, tt.want)
			}
		})
	}
}

func TestReadBuildingsFileErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	tests := []struct {
		name, path, wantHas string
	}{
		{"missing file", filepath.Join(dir, "nope.csv"), "cannot open buildings file"},
		{"corrupt pbf", write("garbage.osm.pbf", "this is not protobuf at all, just text"), "PBF file cannot be read"},
		{"geojson feature not collection", write("one.geojson", polygonSq), "not a GeoJSON FeatureCollection"},
		{"unknown extension", write("b.txt", "lon,lat\n"), "cannot tell the format"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := ReadBuildings(tt.path, BuildingOptions{})
			var ge *geo.Error
			if !errors.As(err, &ge) || ge.Code != geo.EInvalid || !strings.Contains(ge.Message, tt.wantHas) {
				t.Errorf("got error %v, want EInvalid containing %q", err, tt.wantHas)
			}
		})
	}
}
