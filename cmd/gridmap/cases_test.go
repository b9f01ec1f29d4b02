package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gridmap/data/dbtest"
)

// TestCasesCLI: the demo plays a year of cases, the same seed twice gives the
// same tracking codes, and a hotline export is taken in once.
func TestCasesCLI(t *testing.T) {
	ctx := context.Background()
	codes := func(name string) []string {
		db, url := dbtest.New(t, name)
		t.Setenv("DATABASE_URL", url)
		out, err := runCLI(t, "demo", "--cases", "40", "--seed", "5")
		if err != nil || !strings.Contains(out, "40 cases over a year") {
			t.Fatalf("demo --cases: %v\n%s", err, out)
		}
		rows, err := db.Pool.Query(ctx, `SELECT tracking_code || state FROM case_report ORDER BY id`)
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		var cs []string
		for rows.Next() {
			var c string
			rows.Scan(&c)
			cs = append(cs, c)
		}
		return cs
	}
	a := codes("cli_cases_a")
	b := codes("cli_cases_b")
	if len(a) != 40 || strings.Join(a, ",") != strings.Join(b, ",") {
		t.Fatalf("demo cases differ between two runs with one seed:\n%v\n%v", a, b)
	}

}

func TestCasesImportCLI(t *testing.T) {
	ctx := context.Background()
	db, url := dbtest.New(t, "cli_cases_import")
	t.Setenv("DATABASE_URL", url)
	if out, err := runCLI(t, "demo"); err != nil {
		t.Fatalf("demo: %v\n%s", err, out)
	}
	var lon, lat float64
	if err := db.Pool.QueryRow(ctx, `SELECT ST_X(geom), ST_Y(geom) FROM building ORDER BY id LIMIT 1`).Scan(&lon, &lat); err != nil {
		t.Fatal(err)
	}
	f := filepath.Join(t.TempDir(), "12345.csv")
	csv := "ticket,received_at,category,lon,lat,crs,address,description,phone\n" +
		fmt.Sprintf("T1,2026-03-01 09:00:00,exposed_rubbish,%f,%f,,,垃圾,\n", lon, lat) +
		"T2,2026-03-01 09:00:00,exposed_rubbish,abc,30,,,x,\n"
	if err := os.WriteFile(f, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "cases", "import", f)
	if err != nil || !strings.Contains(out, "1 imported, 0 already there, 1 rejected") || !strings.Contains(out, "line 3") {
		t.Fatalf("cases import: %v\n%s", err, out)
	}
	if out, err := runCLI(t, "cases", "import", f); err != nil || !strings.Contains(out, "0 imported, 1 already there") {
		t.Fatalf("second import: %v\n%s", err, out)
	}
	h := filepath.Join(t.TempDir(), "2028.txt")
	os.WriteFile(h, []byte("2028-01-01 off 元旦\n"), 0o600)
	if out, err := runCLI(t, "cases", "holidays", h); err != nil || !strings.Contains(out, "1 days stored") {
		t.Fatalf("cases holidays: %v\n%s", err, out)
	}
	var n int
	if err := db.Pool.QueryRow(ctx, `SELECT count(*) FROM holiday_day WHERE day = '2028-01-01' AND kind = 'off'`).Scan(&n); err != nil || n != 1 {
		t.Errorf("holiday_day rows: %d %v", n, err)
	}
}
