package main

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"gridmap/data/dbtest"
	"gridmap/migrations"
)

// gridmap migrate reports the migrations it applied: on an empty schema all of
// them, then none.
func TestMigrateReportsWhatItApplied(t *testing.T) {
	db, url := dbtest.New(t, "cli_migrate")
	if _, err := db.Pool.Exec(context.Background(), `DROP SCHEMA public CASCADE; CREATE SCHEMA public`); err != nil {
		t.Fatal(err)
	}
	db.Close()
	t.Setenv("DATABASE_URL", url)
	all, err := migrations.All()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []int{len(all), 0} {
		out, err := runCLI(t, "migrate")
		if err != nil || !strings.Contains(out, fmt.Sprintf("applied %d migrations", want)) {
			t.Fatalf("migrate: %v\n%s\nwant applied %d", err, out, want)
		}
	}
}
