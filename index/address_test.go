package index_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"
	"unicode"

	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/demo"
	"gridmap/geo"
	"gridmap/index"
	"gridmap/ingest"
)

// addressQueries makes queries as residents type them from stored addresses.
func addressQueries(addrs []string, n int, seed uint64) []string {
	rng := rand.New(rand.NewPCG(seed, seed))
	forms := []func(string) string{
		func(a string) string { return a },
		func(a string) string { // the house without the building
			if i := strings.LastIndex(a, "号"); i > 0 {
				return a[:i+len("号")]
			}
			return a
		},
		func(a string) string { return "浙江省杭州市" + a },
		func(a string) string { // one digit wrong
			rs := []rune(a)
			for k := range 8 {
				i := rng.IntN(len(rs))
				if unicode.IsDigit(rs[i]) {
					rs[i] = '0' + (rs[i]-'0'+1+rune(k))%10
					break
				}
			}
			return string(rs)
		},
		func(a string) string { // the street
			for _, sep := range []string{"路", "街", "弄", "巷", "strasse", "gasse", "weg"} {
				if i := strings.Index(a, sep); i > 0 {
					return a[:i+len(sep)]
				}
			}
			return a
		},
		func(a string) string { // two or three characters from the middle
			rs := []rune(a)
			if len(rs) < 4 {
				return a
			}
			i := rng.IntN(len(rs) - 3)
			return string(rs[i : i+2+rng.IntN(2)])
		},
		func(a string) string { return strings.ToUpper(a) },
		func(a string) string { return fmt.Sprintf("火星大道%d号", rng.IntN(100)) },
	}
	out := make([]string, 0, n)
	for len(out) < n {
		a := addrs[rng.IntN(len(addrs))]
		out = append(out, forms[rng.IntN(len(forms))](a))
	}
	return append(out, "12-3号", "1-2", "路", "号", "a", "가나다1", "Äulestrasse", "Landstrasse")
}

func TestAddressesMatchPostGIS(t *testing.T) {
	db, _ := dbtest.New(t, "index_addr")
	ctx := context.Background()
	loadDemo(demo.Options{Grids: 300, Buildings: 12000})(t, db)
	for _, file := range []string{"shanghai-bund-buildings.geojson", "liechtenstein.osm.pbf"} {
		bs, _, err := ingest.ReadBuildings(testData(file), ingest.BuildingOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := data.NewImporter(db).ImportBuildings(ctx, bs, geo.ImportOptions{Author: "test"}); err != nil {
			t.Fatal(err)
		}
	}
	svc := startIndex(t, db, nil, index.Config{})
	deadline := time.Now().Add(time.Minute)
	for !svc.Stats().AddressReady {
		if time.Now().After(deadline) {
			t.Fatal("address index not ready within a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
	var addrs, names []string
	rows, err := db.Pool.Query(ctx, `SELECT address, name FROM building WHERE address <> '' ORDER BY code`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var a, n string
		rows.Scan(&a, &n)
		addrs = append(addrs, a)
		if n != "" {
			names = append(names, n)
		}
	}
	if rows.Err() != nil || len(addrs) < 10000 {
		t.Fatalf("%d addresses (%v), want the demo's, Shanghai's and Liechtenstein's", len(addrs), rows.Err())
	}
	ls := data.NewLookupService(db)
	before := svc.Stats().AddressFallbacks
	var withCands, fuzzy int
	kinds := map[geo.MatchKind]int{}
	queries := addressQueries(addrs, 3000, 5)
	for i := 0; i < 300 && len(names) > 0; i++ { // a building's name, its compound's name
		n := names[(i*7919)%len(names)]
		queries = append(queries, n, strings.TrimRight(n, "0123456789栋"))
	}
	for i, q := range queries {
		limit := []int{0, 1, 10, 50}[i%4]
		want, werr := ls.LookupAddress(ctx, q, limit, "")
		got, gerr := svc.LookupAddress(ctx, q, limit, "")
		if (werr == nil) != (gerr == nil) || werr != nil && geo.ErrorMessage(werr) != geo.ErrorMessage(gerr) {
			t.Fatalf("%q: index error %v, PostGIS error %v", q, gerr, werr)
		}
		if werr != nil {
			continue
		}
		gj, _ := json.Marshal(got)
		wj, _ := json.Marshal(want)
		if !bytes.Equal(gj, wj) {
			t.Errorf("%q (limit %d):\n index: %.1500s\n  want: %.1500s", q, limit, gj, wj)
			continue
		}
		kinds[want.Match]++
		if len(want.Candidates) > 0 {
			withCands++
			if want.Candidates[len(want.Candidates)-1].Score < 0.5 {
				fuzzy++
			}
		}
	}
	fallbacks := svc.Stats().AddressFallbacks - before
	t.Logf("%d queries with candidates, %d reaching fuzzy matches; %d went to PostGIS; matches %v", withCands, fuzzy, fallbacks, kinds)
	for _, k := range []geo.MatchKind{geo.MatchExact, geo.MatchNormalised, geo.MatchApproximate, geo.MatchStreet, geo.MatchNone} {
		if kinds[k] < 20 {
			t.Errorf("only %d queries matched %q: the test does not compare that answer", kinds[k], k)
		}
	}
	if withCands < 2000 || fuzzy < 300 {
		t.Errorf("only %d queries found candidates and %d fuzzy ones: the test does not exercise ranking", withCands, fuzzy)
	}
	if fallbacks < 1 || fallbacks > 50 {
		t.Errorf("%d queries went to PostGIS; want the few with characters left to PostgreSQL", fallbacks)
	}
}
