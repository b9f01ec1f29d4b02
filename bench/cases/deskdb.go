package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"

	"gridmap/cases"
	"gridmap/data"
	"gridmap/geo"
)

// runDeskCounts times the desk's tabs' counts (a List with Counts, limit 50,
// as the page asks) through data.CaseStore for several caps side by side:
// each round runs every variant once, in turn, so load changes hit them
// alike. "GROUP BY (before)" is the page's rows (a List without counts) and
// then the counts query before the cap, one GROUP BY state over every match,
// written out here for the filters of the bench (it is no longer in data). Medians and the per-round values.
func runDeskCounts(ctx context.Context, db *data.DB, who map[string]*geo.User, reps int) {
	type variant struct {
		name string
		run  func(u *geo.User, f cases.Filter) (map[cases.State]int, error)
	}
	var vs []variant
	plain, err := data.NewCaseStore(ctx, db, data.CaseOptions{})
	must(err)
	// Before: the page's rows (List without counts) and the old GROUP BY, so
	// that it compares with a List with counts.
	vs = append(vs, variant{"GROUP BY (before)", func(u *geo.User, f cases.Filter) (map[cases.State]int, error) {
		f.Limit = 50
		if _, err := plain.List(ctx, u, f); err != nil {
			return nil, err
		}
		return groupByCounts(ctx, db, u, f)
	}})
	for _, c := range []int{1_000, data.DefaultCountsCap, 100_000} {
		st, err := data.NewCaseStore(ctx, db, data.CaseOptions{CountsCap: c})
		must(err)
		vs = append(vs, variant{fmt.Sprintf("cap %d", c), func(u *geo.User, f cases.Filter) (map[cases.State]int, error) {
			f.Counts, f.Limit = true, 50
			p, err := st.List(ctx, u, f)
			if err != nil {
				return nil, err
			}
			if p.CountsOver > 0 {
				return map[cases.State]int{"OVER": p.CountsOver}, nil
			}
			return p.Counts, nil
		}})
	}
	filters := []struct {
		name string
		f    cases.Filter
	}{
		{"no filter", cases.Filter{}},
		{"text 井盖 (a tenth; 2 characters, no trigram)", cases.Filter{Text: "井盖"}},
		{"text 井盖松动 (a tenth; trigrams)", cases.Filter{Text: "井盖松动"}},
		{"category road_cleaning", cases.Filter{Category: "road_cleaning"}},
		{"text 编号123457 (one case)", cases.Filter{Text: "编号123457"}},
	}
	for _, role := range []string{"dispatcher", "admin"} {
		for _, fl := range filters {
			ds := make([][]time.Duration, len(vs))
			answers := make([]string, len(vs))
			for i := 0; i < reps; i++ {
				for k, v := range vs {
					t0 := time.Now()
					c, err := v.run(who[role], fl.f)
					ds[k] = append(ds[k], time.Since(t0))
					must(err)
					answers[k] = countsText(c)
				}
			}
			for k, v := range vs {
				fmt.Printf("counts  %-10s %-46s %-18s p50 %7.1f ms  rounds %s  → %s\n", role, fl.name, v.name, ms(pct(ds[k], 50)), roundsText(ds[k]), answers[k])
			}
		}
	}
}

// runDeskRows times the desk's first page of rows (a List without counts,
// limit 50, as the page asks first) through data.CaseStore with the
// newest-first walk always ("walk (before)": SortedTextRows -1) and with
// the sorted read of a text's matches when the filter without its text
// matches at most a threshold (several); each round
// runs every variant once, in turn. The 全部 tab (no state) and a state tab,
// text and not. Medians and the per-round values, and the page's first and
// last case (the same for every variant, or the order broke).
func runDeskRows(ctx context.Context, db *data.DB, who map[string]*geo.User, reps int) {
	type variant struct {
		name  string
		store *data.CaseStore
	}
	var vs []variant
	for _, c := range []struct {
		name string
		rows int
	}{{"walk (before)", -1}, {"sorted ≤5,000", 5_000}, {"sorted ≤20,000 (default)", data.DefaultSortedTextRows}, {"sorted ≤100,000", 100_000}} {
		st, err := data.NewCaseStore(ctx, db, data.CaseOptions{SortedTextRows: c.rows})
		must(err)
		vs = append(vs, variant{c.name, st})
	}
	dispatched := []cases.State{cases.StateDispatched}
	filters := []struct {
		name string
		f    cases.Filter
	}{
		{"全部, text 井盖 (a tenth; no trigram)", cases.Filter{Text: "井盖"}},
		{"全部, text 井盖松动 (a tenth; trigrams)", cases.Filter{Text: "井盖松动"}},
		{"全部, text 编号123457 (one case)", cases.Filter{Text: "编号123457"}},
		{"全部, no filter", cases.Filter{}},
		{"全部, category road_cleaning", cases.Filter{Category: "road_cleaning"}},
		{"dispatched, text 井盖", cases.Filter{Text: "井盖", States: dispatched}},
		{"dispatched, no filter", cases.Filter{States: dispatched}},
		{"closed (large), text 井盖", cases.Filter{Text: "井盖", States: []cases.State{cases.StateClosed}}},
	}
	for _, role := range []string{"dispatcher", "admin"} {
		for _, fl := range filters {
			ds := make([][]time.Duration, len(vs))
			answers := make([]string, len(vs))
			for i := 0; i < reps; i++ {
				for k, v := range vs {
					f := fl.f
					f.Limit = 50
					t0 := time.Now()
					p, err := v.store.List(ctx, who[role], f)
					ds[k] = append(ds[k], time.Since(t0))
					must(err)
					answers[k] = fmt.Sprintf("%d rows", len(p.Cases))
					if n := len(p.Cases); n > 0 {
						answers[k] += fmt.Sprintf(", %s … %s", p.Cases[0].TrackingCode, p.Cases[n-1].TrackingCode)
					}
				}
			}
			for k, v := range vs {
				fmt.Printf("rows  %-10s %-40s %-26s p50 %7.1f ms  rounds %s  → %s\n", role, fl.name, v.name, ms(pct(ds[k], 50)), roundsText(ds[k]), answers[k])
			}
		}
	}
}

// groupByCounts is the tabs' counts as data.List made them before the cap,
// for the filters runDeskCounts uses (the account's scope, a text, a
// category), unprepared like the list's queries.
func groupByCounts(ctx context.Context, db *data.DB, u *geo.User, f cases.Filter) (map[cases.State]int, error) {
	var where []string
	var args []any
	arg := func(v any) string { args = append(args, v); return fmt.Sprintf("$%d", len(args)) }
	if u.Role != geo.UserAdmin && u.ScopeAreaID != 0 {
		where = append(where, "c.area_path @> ARRAY["+arg(u.ScopeAreaID)+"::bigint]")
	}
	if f.Category != "" {
		where = append(where, "c.category = "+arg(f.Category))
	}
	if f.Text != "" {
		like := arg("%" + f.Text + "%")
		code := arg("%" + cases.NormalizeTrackingCode(f.Text) + "%")
		where = append(where, "(c.description ILIKE "+like+" ESCAPE '\\' OR c.address ILIKE "+like+" ESCAPE '\\' OR c.tracking_code LIKE "+code+" ESCAPE '\\')")
	}
	q := `SELECT c.state, count(*) FROM case_report c`
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	rows, err := db.Pool.Query(ctx, q+" GROUP BY c.state", append([]any{pgx.QueryExecModeExec}, args...)...)
	if err != nil {
		return nil, err
	}
	out := map[cases.State]int{}
	var st string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&st, &n}, func() error { out[cases.State(st)] = n; return nil })
	return out, err
}

// runDeskTiles times the desk map's cases tiles (data.CaseStore.CasesTile,
// as GET /tiles/cases serves them, without HTTP) at z10, z12 (clustered)
// and z14 (clustered), three tiles each around the dispatcher's
// subdistrict, with the desk's default (open cases) and a text filter, and
// with all=true; as the dispatcher and as the admin. Rounds alternate the
// filters.
func runDeskTiles(ctx context.Context, db *data.DB, store *data.CaseStore, who map[string]*geo.User, sub string, reps int) {
	var at orb.Point
	must(db.Pool.QueryRow(ctx, `SELECT ST_X(ST_PointOnSurface(v.geom)), ST_Y(ST_PointOnSurface(v.geom)) FROM area a
JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL WHERE a.code = $1`, sub).Scan(&at[0], &at[1]))
	filters := []struct {
		name string
		f    cases.Filter
	}{
		{"open (the desk's map)", cases.Filter{Open: true}},
		{"open, text 井盖", cases.Filter{Open: true, Text: "井盖"}},
		{"open, text 井盖松动", cases.Filter{Open: true, Text: "井盖松动"}},
		{"all=true", cases.Filter{}},
		{"all=true, text 井盖", cases.Filter{Text: "井盖"}},
	}
	for _, role := range []string{"dispatcher", "admin"} {
		for _, z := range []maptile.Zoom{10, 12, 14} {
			c := maptile.At(at, z)
			tiles := []maptile.Tile{c, {X: c.X + 1, Y: c.Y, Z: z}, {X: c.X, Y: c.Y + 1, Z: z}}
			ds := make([][]time.Duration, len(filters))
			bytes := make([]int, len(filters))
			for i := 0; i < reps; i++ {
				for k, fl := range filters {
					for _, tl := range tiles {
						t0 := time.Now()
						b, err := store.CasesTile(ctx, who[role], int(tl.Z), int(tl.X), int(tl.Y), fl.f)
						ds[k] = append(ds[k], time.Since(t0))
						must(err)
						bytes[k] += len(b)
					}
				}
			}
			for k, fl := range filters {
				fmt.Printf("tiles  %-10s z%-2d %-24s p50 %7.1f ms  p95 %7.1f ms  max %7.1f ms  (%d tiles × %d rounds, %d B a tile)\n", role, z, fl.name,
					ms(pct(ds[k], 50)), ms(pct(ds[k], 95)), ms(pct(ds[k], 100)), len(tiles), reps, bytes[k]/len(ds[k]))
			}
		}
	}
}

func countsText(c map[cases.State]int) string {
	var b strings.Builder
	for _, st := range cases.States {
		if n, ok := c[st]; ok {
			fmt.Fprintf(&b, "%s:%d ", st, n)
		}
	}
	if n, ok := c["OVER"]; ok {
		fmt.Fprintf(&b, "more than %d (no counts per state)", n)
	}
	return strings.TrimSpace(b.String())
}

func roundsText(ds []time.Duration) string {
	s := make([]string, len(ds))
	for i, d := range ds {
		s[i] = fmt.Sprintf("%.0f", ms(d))
	}
	return strings.Join(s, "/")
}
