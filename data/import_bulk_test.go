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

// TestBulkBuildingLoadMatchesOrdinary imports the same areas and buildings
// into two databases, once along the ordinary path and once along the bulk
// path (indexes, foreign keys and the totals trigger set aside and put back),
// and then a second, smaller import into each (ordinary on both: it does not
// double the table). Everything a reader or a later write depends on must be
// the same: the rows with their grids, the totals, the report, and
// building's indexes, constraints and triggers as the migrations define them.
func TestBulkBuildingLoadMatchesOrdinary(t *testing.T) {
	ctx := context.Background()
	load := func(name string, bulkMin int) string {
		db, _ := dbtest.New(t, name)
		im := data.NewImporter(db)
		mustImportAreas(t, im, []geo.AreaInput{
			{Ref: "d", Level: "district", Code: "330199", Geometry: square(120, 30, 0.03)},
			{Ref: "s", Level: "subdistrict", Code: "330199001", Geometry: square(120, 30, 0.03)},
			{Ref: "c", Level: "community", Code: "330199001001", Geometry: square(120, 30, 0.02)},
			{Ref: "W", Level: "grid", Geometry: square(120, 30, 0.01)},
			{Ref: "E", Level: "grid", Geometry: square(120.01, 30, 0.01)},
		})
		var first []geo.Building
		for i := 0; i < 40; i++ {
			first = append(first, geo.Building{Source: fmt.Sprintf("b%d", i), Address: fmt.Sprintf("路%d号", i),
				Point: orb.Point{120.0005 + float64(i)*0.0007, 30.005}, Households: i, Residents: 2 * i})
		}
		first = append(first, geo.Building{Source: "neg", Point: orb.Point{120.001, 30.001}, Households: -1},
			geo.Building{Source: "fp", Footprint: square(120.001, 30.011, 0.001), Households: 7, Residents: 9})
		data.SetBulkBuildingMin(t, bulkMin)
		var out strings.Builder
		for _, bs := range [][]geo.Building{first, first[:3]} {
			rep, err := im.ImportBuildings(ctx, bs, geo.ImportOptions{Author: "test"})
			if err != nil {
				t.Fatal(err)
			}
			fmt.Fprintf(&out, "imported %d rejected %v\n", rep.Imported, rep.Rejected)
		}
		for _, q := range []string{
			`SELECT b.code || ' ' || b.source || ' ' || coalesce(g.code, '-') || ' ' || b.households || ' ' || b.residents
			 FROM building b LEFT JOIN area g ON g.id = b.grid_id ORDER BY b.id`,
			`SELECT a.code || ' ' || s.buildings || ' ' || s.households || ' ' || s.residents
			 FROM area_stats s JOIN area a ON a.id = s.area_id ORDER BY a.code`,
			`SELECT pg_get_indexdef(indexrelid) FROM pg_index WHERE indrelid = 'building'::regclass ORDER BY 1`,
			`SELECT conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'building'::regclass ORDER BY 1`,
			`SELECT tgname || ' ' || tgenabled::text FROM pg_trigger WHERE tgrelid = 'building'::regclass AND NOT tgisinternal ORDER BY 1`,
			`SELECT count(*)::text FROM building WHERE address_norm LIKE '%路1%'`,
		} {
			rows, err := db.Pool.Query(ctx, q)
			if err != nil {
				t.Fatal(err)
			}
			for rows.Next() {
				var s string
				if err := rows.Scan(&s); err != nil {
					t.Fatal(err)
				}
				out.WriteString(s + "\n")
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			out.WriteString("--\n")
		}
		return out.String()
	}
	ordinary := load("data_bulk_ordinary", 1<<30)
	bulk := load("data_bulk_bulk", 1)
	if bulk != ordinary {
		t.Errorf("bulk load differs from the ordinary one\nbulk:\n%s\nordinary:\n%s", bulk, ordinary)
	}
	if !strings.Contains(ordinary, "building_grid_id_fkey FOREIGN KEY (grid_id) REFERENCES area(id)") ||
		!strings.Contains(ordinary, "building_area_stats_insert O") {
		t.Errorf("the catalogue does not look as the migrations define it:\n%s", ordinary)
	}
}
