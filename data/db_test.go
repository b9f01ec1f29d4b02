package data_test

import (
	"context"
	"strings"
	"testing"

	"gridmap/data"
	"gridmap/data/dbtest"
)

// TestConnectionsRunWithoutJIT: every connection gridmap opens has JIT
// compilation off (db.go's parsePool: compiling cost more than running in
// the edit, the partition and the cases tiles), unless the URL asks for it.
func TestConnectionsRunWithoutJIT(t *testing.T) {
	ctx := context.Background()
	base := dbtest.URL(t)
	sep := "?"
	if strings.Contains(base, "?") {
		sep = "&"
	}
	for _, c := range []struct{ url, want string }{{base, "off"}, {base + sep + "jit=on", "on"}} {
		db, err := data.Open(ctx, data.Config{URL: c.url, ReadURL: c.url})
		if err != nil {
			t.Fatal(err)
		}
		var primary, read string
		if err := db.Pool.QueryRow(ctx, `SHOW jit`).Scan(&primary); err != nil {
			t.Fatal(err)
		}
		if err := db.ReadPool().QueryRow(ctx, `SHOW jit`).Scan(&read); err != nil {
			t.Fatal(err)
		}
		db.Close()
		if primary != c.want || read != c.want {
			t.Errorf("%s: jit is %q on the primary's pool and %q on the read pool; want %q", c.url, primary, read, c.want)
		}
	}
}
