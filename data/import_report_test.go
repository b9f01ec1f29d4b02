package data_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/paulmach/orb"

	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/geo"
)

// TestImportAreasReportPinned pins the whole report of an area import (order
// and wording of every repair and rejection) and the codes it gives out, so
// that the set-based import answers exactly as the per-feature one did.
func TestImportAreasReportPinned(t *testing.T) {
	db, _ := dbtest.New(t, "data_import_report")
	ctx := context.Background()
	im := data.NewImporter(db)
	bowtie := orb.MultiPolygon{{{{10, 10}, {11, 11}, {11, 10}, {10, 11}, {10, 10}}}}
	flat := orb.MultiPolygon{{{{0, 0}, {1, 0}, {2, 0}, {0, 0}}}}
	first := []geo.AreaInput{
		{Ref: "d1", Level: "district", Code: "110101", Name: "east", Geometry: square(0, 0, 10)},
		{Ref: "d2", Level: "district", Code: "D2", Name: " ", Geometry: bowtie},
		{Ref: "d3", Level: "district", Code: "D3", Name: "flat", Geometry: flat},
		{Ref: "d4", Level: "district", Code: "110101", Name: "dup of d1", Geometry: square(20, 0, 1)},
		{Ref: "d5", Level: "district", Code: "D5", ParentCode: "X", Geometry: square(30, 0, 1)},
		{Ref: "d6", Level: "district", Code: "bad code!", Geometry: square(40, 0, 1)},
		{Ref: "d7", Level: "district", Problem: "geometry is a LineString, want Polygon or MultiPolygon"},
		// Subdistricts: by point (codes given out west→east, north→south), by code, orphans.
		{Ref: "s1", Level: "subdistrict", Name: "sw", Geometry: square(1, 1, 2)},
		{Ref: "s2", Level: "subdistrict", Name: "ne", Geometry: square(6, 6, 2)},
		{Ref: "s3", Level: "subdistrict", Name: "nw", Geometry: square(1, 6, 2)},
		{Ref: "s4", Level: "subdistrict", Name: "by code", ParentCode: "D2", Geometry: square(10.2, 10.1, 0.2)},
		{Ref: "s5", Level: "subdistrict", Name: "orphan", Geometry: square(50, 50, 1)},
		{Ref: "s6", Level: "subdistrict", Name: "no such parent", ParentCode: "NOPE", Geometry: square(2, 2, 1)},
		{Ref: "s7", Level: "subdistrict", Name: "wrong level", ParentCode: "110101001", Geometry: square(2, 2, 1)},
		{Ref: "s8", Level: "subdistrict", Code: "110101001", Name: "taken later", Geometry: square(4, 4, 1)},
		// Communities under the subdistricts imported above.
		{Ref: "c1", Level: "community", Geometry: square(1.5, 1.5, 0.5)},
		{Ref: "c2", Level: "community", Geometry: square(1.2, 1.2, 0.2)},
		{Ref: "c3", Level: "community", ParentCode: "D2-001", Geometry: square(10.25, 10.15, 0.05)},
		{Ref: "c4", Level: "community", ParentCode: "110101", Geometry: square(1.6, 6.5, 0.1)},
		{Ref: "c5", Level: "community", Code: "C5", Geometry: square(6.5, 6.5, 0.1)},
		{Ref: "c6", Level: "community", Code: "C5", Geometry: square(6.6, 6.6, 0.1)},
	}
	rep, err := im.ImportAreas(ctx, first, geo.ImportOptions{Author: "test"})
	if err != nil {
		t.Fatal(err)
	}
	second := []geo.AreaInput{
		{Ref: "again", Level: "district", Code: "D2", Geometry: square(60, 0, 1)},
		{Ref: "more", Level: "subdistrict", Geometry: square(3.5, 1, 1)},
	}
	rep2, err := im.ImportAreas(ctx, second, geo.ImportOptions{Author: "test"})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, r := range []*geo.ImportReport{rep, rep2} {
		fmt.Fprintf(&b, "imported %d\n", r.Imported)
		for _, p := range r.Repaired {
			fmt.Fprintf(&b, "repaired %s: %s\n", p.Ref, p.Reason)
		}
		for _, p := range r.Rejected {
			fmt.Fprintf(&b, "rejected %s: %s\n", p.Ref, p.Reason)
		}
	}
	rows, err := db.Pool.Query(ctx, `SELECT a.level, a.code, a.name, coalesce(p.code, ''), a.created_change = c.min
		FROM area a LEFT JOIN area p ON p.id = a.parent_id, (SELECT min(id) FROM change) c ORDER BY a.id`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var level, code, name, parent string
		var firstChange bool
		if err := rows.Scan(&level, &code, &name, &parent, &firstChange); err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "%s %s %q parent %q first %v\n", level, code, name, parent, firstChange)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	var versions, claimed, history int
	db.Pool.QueryRow(ctx, `SELECT (SELECT count(*) FROM area_version), (SELECT count(*) FROM area_code), (SELECT count(*) FROM change_area)`).
		Scan(&versions, &claimed, &history)
	fmt.Fprintf(&b, "versions %d codes %d change_area %d\n", versions, claimed, history)
	got := b.String()
	want := wantImportReport
	if got != want {
		t.Errorf("report and areas differ from the pinned ones\n got:\n%s\nwant:\n%s", got, want)
	}
}

// wantImportReport is what the per-feature import (before COPY staging) answered.
const wantImportReport = `imported 12
repaired d2: Self-intersection[10.5 10.5]
rejected d3: geometry has no area (Self-intersection[1 0]); nothing polygonal is left after repair
rejected d5: level district is the top of hierarchy admin and takes no parent, got parent code "X"
rejected d7: geometry is a LineString, want Polygon or MultiPolygon
rejected d4: code "110101" is already used (codes are never reused, even after retirement)
rejected s5: no area one level above subdistrict covers its point-on-surface (50.500000 50.500000)
rejected s6: parent code "NOPE" matches no area
rejected s7: parent code "110101001" matches no area
rejected c4: parent "110101" is a district, but a community's parent must be one level above it in hierarchy admin
rejected c6: code "C5" is already used (codes are never reused, even after retirement)
imported 1
rejected again: code "D2" is already used (codes are never reused, even after retirement)
district 110101 "east" parent "" first true
district D2 "D2" parent "" first true
district bad code! "bad code!" parent "" first true
subdistrict 110101-003 "sw" parent "110101" first true
subdistrict 110101-002 "ne" parent "110101" first true
subdistrict 110101-001 "nw" parent "110101" first true
subdistrict D2-001 "by code" parent "D2" first true
subdistrict 110101001 "taken later" parent "110101" first true
community 110101-003-001 "110101-003-001" parent "110101-003" first true
community 110101-003-002 "110101-003-002" parent "110101-003" first true
community D2-001-001 "D2-001-001" parent "D2-001" first true
community C5 "C5" parent "110101-002" first true
subdistrict 110101-004 "110101-004" parent "110101" first false
versions 13 codes 13 change_area 13
`

// TestImportedBuildingsFollowGridOf checks that the bulk grid assignment of a
// building import gives every building the grid grid_of gives it, on shared
// edges and vertices (the border rule's tie-breaks), inside, and outside.
func TestImportedBuildingsFollowGridOf(t *testing.T) {
	db, _ := dbtest.New(t, "data_import_grids")
	ctx := context.Background()
	im := data.NewImporter(db)
	mustImportAreas(t, im, []geo.AreaInput{
		{Ref: "d", Level: "district", Code: "330199", Geometry: square(120, 30, 0.03)},
		{Ref: "s", Level: "subdistrict", Code: "330199001", Geometry: square(120, 30, 0.03)},
		{Ref: "c", Level: "community", Code: "330199001001", Geometry: square(120, 30, 0.02)},
		{Ref: "c2", Level: "community", Code: "330199001002", Geometry: square(120.02, 30, 0.01)},
		{Ref: "SE", Level: "grid", Geometry: square(120.01, 30, 0.01)},
		{Ref: "NW", Level: "grid", Geometry: square(120, 30.01, 0.01)},
		{Ref: "SW", Level: "grid", Geometry: square(120, 30, 0.01)},
		{Ref: "NE", Level: "grid", Geometry: square(120.01, 30.01, 0.01)},
	})
	var bs []geo.Building
	for i, pt := range []orb.Point{
		{120.005, 30.015}, {120.01, 30.015}, {120.015, 30.01}, {120.01, 30.01}, {120.0, 30.005},
		{120.02, 30.005}, {120.025, 30.005}, {121, 31}, {120.02, 30.02},
	} {
		bs = append(bs, geo.Building{Source: fmt.Sprintf("p%d", i), Point: pt})
	}
	// A footprint without a point is placed at its point on the surface.
	bs = append(bs, geo.Building{Source: "fp", Footprint: square(120.001, 30.001, 0.001)})
	rep, err := im.ImportBuildings(ctx, bs, geo.ImportOptions{Author: "test"})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Imported != len(bs) {
		t.Fatalf("imported %d of %d (%v)", rep.Imported, len(bs), rep.Rejected)
	}
	rows, err := db.Pool.Query(ctx, `SELECT b.source, coalesce(g.code, ''), coalesce(w.code, '')
		FROM building b LEFT JOIN area g ON g.id = b.grid_id LEFT JOIN area w ON w.id = grid_of(b.geom, 'admin') ORDER BY b.id`)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for rows.Next() {
		var src, code, want string
		if err := rows.Scan(&src, &code, &want); err != nil {
			t.Fatal(err)
		}
		if code != want {
			t.Errorf("building %s: grid %q, grid_of says %q", src, code, want)
		}
		got = append(got, src+"="+code)
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	// The tie-breaks, spelled out: the smaller code on shared edges and
	// vertices, the lower level on a grid's edge with a community, the
	// community where no grid covers, nothing outside.
	want := "p0=330199001001001 p1=330199001001001 p2=330199001001002 p3=330199001001001 p4=330199001001003 " +
		"p5=330199001001004 p6=330199001002 p7= p8=330199001001002 fp=330199001001003"
	if g := strings.Join(got, " "); g != want {
		t.Errorf("grids\n got %s\nwant %s", g, want)
	}
}
