// Command cases measures the case store (BENCHMARKS.md, "Cases") on a
// database holding the 10,000-grid demo: it adds units for every area and
// N cases over a year by bulk SQL (not through intake: a million intakes
// would take an hour on the development machine), then times, through
// data.CaseStore, worklists, a subdistrict's year of case-stats, intake
// throughput and the escalation sweep. With -desk URL (a gridmap server on the
// same database) it measures the dispatch desk in Chromium instead (desk.go).
//
//	DATABASE_URL=… go run ./bench/cases -cases 1000000
//	DATABASE_URL=… go run ./bench/cases -cases 1000000 -desk http://127.0.0.1:8089
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"math/rand"
	"os"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"gridmap/cases"
	"gridmap/data"
	"gridmap/geo"
)

func main() {
	n := flag.Int("cases", 1_000_000, "cases to have in the database")
	reps := flag.Int("reps", 200, "repetitions of each worklist query")
	intakeFor := flag.Duration("intake", 10*time.Second, "how long to measure intake")
	workers := flag.Int("workers", 8, "concurrent intakes")
	due := flag.Int("due", 1000, "cases made due for the escalation sweep")
	desk := flag.String("desk", "", "base URL of a gridmap server on this database: measure the dispatch desk (/admin/cases) in Chromium instead")
	deskReps := flag.Int("desk-reps", 20, "filter changes per desk filter (even)")
	deskTiles := flag.Bool("desk-tiles", true, "with -desk-sql: the map's tiles too")
	deskSQL := flag.Int("desk-sql", 0, "rounds of the desk's rows, counts and map tiles through data.CaseStore (deskdb.go) instead of the other measurements")
	deskCounts := flag.Bool("desk-counts", true, "with -desk-sql: the tabs' counts too")
	flag.Parse()
	ctx := context.Background()
	db, err := data.Open(ctx, data.Config{URL: os.Getenv("DATABASE_URL"), MaxConns: 16})
	if err != nil {
		log.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		log.Fatal(err)
	}
	now := time.Now()
	if err := setup(ctx, db, *n, now); err != nil {
		log.Fatal(err)
	}
	store, err := data.NewCaseStore(ctx, db, data.CaseOptions{})
	if err != nil {
		log.Fatal(err)
	}
	var total int
	var sub, comm string
	var gridUnit int64
	must(db.Pool.QueryRow(ctx, `SELECT count(*) FROM case_report`).Scan(&total))
	must(db.Pool.QueryRow(ctx, `SELECT code FROM area WHERE level = 'subdistrict' ORDER BY code LIMIT 1`).Scan(&sub))
	auth := data.NewAuthService(db)
	admin := user(ctx, auth, geo.NewUser{Name: "bench-admin", Role: geo.UserAdmin})
	var inSub, subs int
	must(db.Pool.QueryRow(ctx, `SELECT count(*) FROM case_report WHERE area_path @> ARRAY[(SELECT id FROM area WHERE code = $1)]`, sub).Scan(&inSub))
	must(db.Pool.QueryRow(ctx, `SELECT count(*) FROM area WHERE level = 'subdistrict'`).Scan(&subs))
	fmt.Printf("cases: %d in the database, %d subdistricts; %d in subdistrict %s (the dispatcher's scope); %s\n", total, subs, inSub, sub, now.Format(time.RFC3339))

	// Communities and grids to draw worklists from.
	var comms []string
	// the communities of the first subdistrict: the dispatcher's area
	rows, err := db.Pool.Query(ctx, `SELECT code FROM area WHERE level = 'community' AND parent_id = (SELECT id FROM area WHERE code = $1) ORDER BY code`, sub)
	must(err)
	for rows.Next() {
		var c string
		must(rows.Scan(&c))
		comms = append(comms, c)
	}
	comm = comms[0]
	worker := user(ctx, auth, geo.NewUser{Name: "bench-worker", Role: geo.UserEditor, ScopeCode: comm})
	must(db.Pool.QueryRow(ctx, `SELECT u.id FROM unit u JOIN area a ON a.id = u.area_id WHERE u.kind = 'grid_team' AND a.parent_id = (SELECT id FROM area WHERE code = $1) ORDER BY u.id LIMIT 1`, comm).Scan(&gridUnit))
	_, err = db.Pool.Exec(ctx, `INSERT INTO unit_member (unit_id, user_id, role) VALUES ($1, $2, 'handler') ON CONFLICT DO NOTHING`, gridUnit, worker.ID)
	must(err)
	dispatcher := user(ctx, auth, geo.NewUser{Name: "bench-dispatcher", Role: geo.UserEditor, ScopeCode: sub})
	if *deskSQL > 0 {
		who := map[string]*geo.User{"admin": admin, "dispatcher": dispatcher}
		runDeskRows(ctx, db, who, *deskSQL)
		if *deskCounts {
			runDeskCounts(ctx, db, who, *deskSQL)
		}
		if *deskTiles {
			runDeskTiles(ctx, db, store, who, sub, *deskSQL)
		}
		return
	}
	if *desk != "" {
		reps := *deskReps + *deskReps%2
		fmt.Printf("desk: %s, as bench-dispatcher (subdistrict %s, %d cases in scope)\n", *desk, sub, inSub)
		runDesk(ctx, *desk, dispatcher.Name, "bench password 1", deskFilters(comms), reps)
		fmt.Printf("desk: as bench-admin (unscoped: all %d cases)\n", total)
		runDesk(ctx, *desk, admin.Name, "bench password 1", deskFilters(comms), reps)
		return
	}

	rng := rand.New(rand.NewSource(1))
	open := []cases.State{cases.StateReported, cases.StateAccepted, cases.StateDispatched, cases.StateInProgress, cases.StateExtensionRequested, cases.StateHandled, cases.StateVerified}
	type wl struct {
		name string
		who  *geo.User
		f    func() cases.Filter
	}
	lists := []wl{
		{"subdistrict dispatcher: open cases of one of its communities, newest 50", dispatcher, func() cases.Filter {
			return cases.Filter{AreaCode: comms[rng.Intn(len(comms))], States: open, Limit: 50}
		}},
		{"subdistrict dispatcher: status=reported, newest 50", dispatcher, func() cases.Filter {
			return cases.Filter{States: []cases.State{cases.StateReported}, Limit: 50}
		}},
		{"grid worker: assigned=me, open", worker, func() cases.Filter { return cases.Filter{AssignedMe: true, States: open, Limit: 50} }},
		{"subdistrict dispatcher: overdue, newest 50", dispatcher, func() cases.Filter { return cases.Filter{Overdue: true, Limit: 50} }},
		{"admin (unscoped): status=reported across all subdistricts, newest 50", admin, func() cases.Filter {
			return cases.Filter{States: []cases.State{cases.StateReported}, Limit: 50}
		}},
		{"admin (unscoped): overdue across all subdistricts, newest 50", admin, func() cases.Filter { return cases.Filter{Overdue: true, Limit: 50} }},
		{"community: all cases of a random community, page 1 of its year", dispatcher, func() cases.Filter {
			return cases.Filter{AreaCode: comms[rng.Intn(len(comms))], From: now.AddDate(-1, 0, 0), To: now, Limit: 50}
		}},
	}
	for _, l := range lists {
		var ds []time.Duration
		got := 0
		for i := 0; i < *reps; i++ {
			f := l.f()
			t0 := time.Now()
			p, err := store.List(ctx, l.who, f)
			ds = append(ds, time.Since(t0))
			must(err)
			got += len(p.Cases)
		}
		fmt.Printf("worklist  %-66s p50 %6.1f ms  p95 %6.1f ms  max %6.1f ms  (%d reps, %.1f cases/answer)\n", l.name,
			ms(pct(ds, 50)), ms(pct(ds, 95)), ms(pct(ds, 100)), *reps, float64(got)/float64(*reps))
	}

	var ds []time.Duration
	var st *cases.AreaStats
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		st, err = store.Stats(ctx, admin, sub, now.AddDate(-1, 0, 0), now)
		ds = append(ds, time.Since(t0))
		must(err)
	}
	fmt.Printf("stats     subdistrict %s, a year (%d cases, %d children): median %.0f ms, max %.0f ms (5 runs)\n", sub, st.Received, len(st.Children), ms(pct(ds, 50)), ms(pct(ds, 100)))
	ds = ds[:0]
	for i := 0; i < 20; i++ {
		t0 := time.Now()
		st, err = store.Stats(ctx, dispatcher, comms[rng.Intn(len(comms))], now.AddDate(-1, 0, 0), now)
		ds = append(ds, time.Since(t0))
		must(err)
	}
	fmt.Printf("stats     a random community, a year (~%d cases): median %.1f ms, max %.1f ms (20 runs)\n", st.Received, ms(pct(ds, 50)), ms(pct(ds, 100)))

	// Intake: anonymous reports at random building points, concurrently.
	var pts []orb.Point
	rows, err = db.Pool.Query(ctx, `SELECT ST_X(geom), ST_Y(geom) FROM building ORDER BY id LIMIT 20000`)
	must(err)
	for rows.Next() {
		var p orb.Point
		must(rows.Scan(&p[0], &p[1]))
		pts = append(pts, p)
	}
	cats := cases.DefaultCatalogue().Categories()
	var done, failed atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(*intakeFor)
	t0 := time.Now()
	for w := 0; w < *workers; w++ {
		wg.Add(1)
		go func(seed int64) {
			defer wg.Done()
			r := rand.New(rand.NewSource(seed))
			for time.Now().Before(stop) {
				_, err := store.Intake(ctx, nil, cases.Intake{Category: cats[r.Intn(len(cats))].Code, Point: pts[r.Intn(len(pts))],
					Description: "bench", Phone: "13800000000"})
				if err != nil {
					failed.Add(1)
					continue
				}
				done.Add(1)
			}
		}(int64(w))
	}
	wg.Wait()
	el := time.Since(t0)
	fmt.Printf("intake    %d workers for %s: %d cases, %.0f cases/s (%d failed)\n", *workers, el.Round(time.Millisecond), done.Load(), float64(done.Load())/el.Seconds(), failed.Load())

	// Escalation: a sweep with nothing due, then one with `due` cases due.
	t0 = time.Now()
	k, err := store.EscalateDue(ctx, now.Add(-time.Hour))
	must(err)
	fmt.Printf("escalate  sweep with nothing due: %d escalated in %.1f ms\n", k, ms(time.Since(t0)))
	_, err = db.Pool.Exec(ctx, `UPDATE case_report SET due = $1 WHERE id IN (
        SELECT id FROM case_report WHERE state IN ('dispatched', 'in_progress') AND NOT paused AND tier < 4 ORDER BY id LIMIT $2)`, now.Add(-time.Minute), *due)
	must(err)
	t0 = time.Now()
	k, err = store.EscalateDue(ctx, now)
	must(err)
	fmt.Printf("escalate  sweep with %d due: %d escalated in %.0f ms\n", *due, k, ms(time.Since(t0)))
}

func must(err error) {
	if err != nil {
		log.Fatal(err)
	}
}

func user(ctx context.Context, auth *data.AuthService, u geo.NewUser) *geo.User {
	u.Password = "bench password 1"
	if got, err := auth.Authenticate(ctx, u.Name, u.Password); err == nil {
		return got
	}
	got, err := auth.CreateUser(ctx, u)
	must(err)
	return got
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

func pct(ds []time.Duration, p int) time.Duration {
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := (len(s)*p + 99) / 100
	return s[max(0, min(i, len(s))-1)]
}

// qUnits gives every area a unit: its office (grid team, community,
// subdistrict, district).
const qUnits = `
INSERT INTO unit (kind, name, area_id)
SELECT CASE a.level WHEN 'grid' THEN 'grid_team' ELSE a.level END, a.name || ' unit', a.id
FROM area a WHERE a.level IN ('grid', 'community', 'subdistrict', 'district')
  AND NOT EXISTS (SELECT 1 FROM unit u WHERE u.area_id = a.id)`

// qCases adds $1 cases reported over the year before $2 at building points:
// older than 14 days finished (85 % closed and rated, 10 % rejected, 5 %
// merged-like rejected), newer ones in open states with deadlines in the
// next three days. Tracking codes are 'Z' and the hex of the sequence (valid
// symbols, not valid check characters: bench data only).
const qCases = `
WITH gp AS (
    SELECT g.id AS grid, ARRAY[d.id, s.id, c.id, g.id] AS path
    FROM area g JOIN area c ON c.id = g.parent_id JOIN area s ON s.id = c.parent_id JOIN area d ON d.id = s.parent_id
    WHERE g.level = 'grid'),
bp AS (SELECT row_number() OVER (ORDER BY b.id) AS i, b.geom, gp.grid, gp.path FROM building b JOIN gp ON gp.grid = b.grid_id),
nb AS (SELECT count(*) AS n FROM bp),
cat AS (SELECT row_number() OVER () - 1 AS i, c FROM unnest($4::text[]) c),
src AS (
    SELECT s.g + $3 AS g, $2::timestamptz - (s.g::float8 / $5 * interval '365 days') AS at,
           (s.g * 7919) % (SELECT n FROM nb) + 1 AS bi, abs(hashint8(s.g)) % 100 AS h
    FROM generate_series(1, $1) s(g))
INSERT INTO case_report (tracking_code, category, source, state, version, tier, stage, due, geom, description, grid_id,
  area_path, unit_id, reported_at, responded_at, accepted_at, closed_at, finished_at, closed_on_time, missed_deadline,
  rating, updated_at)
SELECT 'Z' || lpad(upper(to_hex(src.g)), 9, '0'),
       (SELECT c FROM cat WHERE cat.i = src.h % (SELECT count(*) FROM cat)),
       (ARRAY['resident_web', 'grid_worker', 'hotline', 'open311', 'staff'])[1 + src.h % 5],
       st.state, 5, 1, 0, st.due, bp.geom,
       (ARRAY['楼道堆放杂物', '小区门口暴露垃圾', '路灯不亮', '井盖松动', '占道经营', '噪音扰民', '绿化带破损', '违规停车',
              '墙面小广告', '下水道堵塞'])[1 + (src.g * 7) % 10] || '，编号' || src.g,
       bp.grid, bp.path,
       (SELECT u.id FROM unit u WHERE u.area_id = bp.grid LIMIT 1),
       src.at, src.at + interval '20 minutes',
       CASE WHEN st.state NOT IN ('reported', 'rejected') THEN src.at + interval '30 minutes' END,
       CASE WHEN st.state IN ('closed', 'rated') THEN src.at + (1 + src.h % 72) * interval '1 hour' END,
       CASE WHEN st.state IN ('closed', 'rated', 'rejected') THEN src.at + (1 + src.h % 72) * interval '1 hour' END,
       CASE WHEN st.state IN ('closed', 'rated') THEN src.h % 10 <> 0 END,
       src.h % 10 = 0,
       CASE WHEN st.state = 'rated' THEN 1 + src.h % 5 END,
       src.at
FROM src JOIN bp ON bp.i = src.bi,
LATERAL (SELECT CASE
    WHEN src.at < $6::timestamptz - interval '14 days' THEN
        CASE WHEN src.h < 45 THEN 'rated' WHEN src.h < 85 THEN 'closed' ELSE 'rejected' END
    ELSE (ARRAY['reported', 'accepted', 'dispatched', 'in_progress', 'in_progress', 'extension_requested', 'handled', 'verified'])[1 + src.h % 8]
    END AS state) s0,
LATERAL (SELECT s0.state, CASE WHEN s0.state IN ('closed', 'rated', 'rejected') THEN NULL
    ELSE $6::timestamptz + (src.h % 72) * interval '1 hour' END AS due) st`

const qEvents = `
INSERT INTO case_event (case_id, version, at, actor_kind, action, to_state)
SELECT c.id, 1, c.reported_at, 'reporter', 'report', 'reported' FROM case_report c
WHERE c.id > $1`

func setup(ctx context.Context, db *data.DB, n int, now time.Time) error {
	if _, err := db.Pool.Exec(ctx, qUnits); err != nil {
		return fmt.Errorf("units: %w", err)
	}
	var have int
	var maxID int64
	if err := db.Pool.QueryRow(ctx, `SELECT count(*), coalesce(max(id), 0) FROM case_report`).Scan(&have, &maxID); err != nil {
		return err
	}
	if have >= n {
		return nil
	}
	// The trigram indexes (migration 019) would make the bulk insert several
	// times slower: dropped for it and built again, from their own definitions.
	rows, err := db.Pool.Query(ctx, `SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'case_report' AND indexdef LIKE '%gin_trgm_ops%'`)
	if err != nil {
		return err
	}
	var names, defs []string
	for rows.Next() {
		var n, d string
		if err := rows.Scan(&n, &d); err != nil {
			return err
		}
		names, defs = append(names, n), append(defs, d)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for _, n := range names {
		if _, err := db.Pool.Exec(ctx, `DROP INDEX `+pgx.Identifier{n}.Sanitize()); err != nil {
			return err
		}
	}
	defer func() {
		for _, d := range defs {
			if _, err := db.Pool.Exec(ctx, d); err != nil {
				log.Fatalf("rebuilding %s: %v", d, err)
			}
		}
	}()
	var codes []string
	for _, c := range cases.DefaultCatalogue().Categories() {
		codes = append(codes, c.Code)
	}
	t0 := time.Now()
	const batch = 100_000
	for done := have; done < n; done += batch {
		k := min(batch, n-done)
		if _, err := db.Pool.Exec(ctx, qCases, k, now.Add(-time.Duration(done)*365*24*time.Hour/time.Duration(n)), done, codes, n, now); err != nil {
			return fmt.Errorf("cases: %w", err)
		}
		fmt.Fprintf(os.Stderr, "bench: %d cases (%s)\n", done+k, time.Since(t0).Round(time.Second))
	}
	if _, err := db.Pool.Exec(ctx, qEvents, maxID); err != nil {
		return fmt.Errorf("events: %w", err)
	}
	_, err = db.Pool.Exec(ctx, `ANALYZE case_report; ANALYZE case_event`)
	fmt.Fprintf(os.Stderr, "bench: generated in %s\n", time.Since(t0).Round(time.Second))
	return err
}
