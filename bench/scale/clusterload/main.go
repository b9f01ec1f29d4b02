// Command clusterload is the load balancer and the load generator of
// bench/scale/cluster.sh (BENCHMARKS.md, "Cluster").
//
//	clusterload -proxy 127.0.0.1:8300 -backends http://127.0.0.1:8301,http://127.0.0.1:8302,...
//
// is a round-robin reverse proxy (net/http/httputil) in front of the gridmap
// processes.
//
//	clusterload -url http://127.0.0.1:8300 -direct http://127.0.0.1:8301,... -db postgres://… -duration 5m
//
// sends mixed traffic through the proxy for the duration: lookups, tiles
// (z12, z14), grid and building pages and case intake from CONNS workers, and
// from one more, an edit (an area renamed) every EDIT_EVERY, after which each
// process is asked directly, without the editor's cookies, until its lookup
// shows the new name: the staleness of that process. It prints throughput,
// p50/p99 per route, answers by status per route and per 10 s window, and the
// staleness per process.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/http/httputil"
	"net/url"
	"os"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

func main() {
	proxy := flag.String("proxy", "", "run the load balancer on this address")
	backends := flag.String("backends", "", "comma-separated backend URLs of the load balancer")
	target := flag.String("url", "", "the load balancer's URL")
	direct := flag.String("direct", "", "comma-separated URLs of the gridmap processes, for staleness")
	db := flag.String("db", "", "the primary's database URL (to pick grids, buildings, points)")
	duration := flag.Duration("duration", 5*time.Minute, "how long to send traffic")
	conns := flag.Int("conns", 8, "workers sending reads and case intake")
	editEvery := flag.Duration("edit-every", 2*time.Second, "time between edits")
	user := flag.String("user", "admin", "the editor's name")
	password := flag.String("password", "", "the editor's password")
	outage := flag.String("outage-file", "", "file in which the outage script writes \"stop UNIXMS\" and \"start UNIXMS\" (read at the end, for staleness by phase)")
	flag.Parse()
	outageFile = *outage
	if *proxy != "" {
		log.Fatal(runProxy(*proxy, strings.Split(*backends, ",")))
	}
	if err := run(*target, strings.Split(*direct, ","), *db, *duration, *conns, *editEvery, *user, *password); err != nil {
		log.Fatal(err)
	}
}

// runProxy serves a round-robin reverse proxy over backends.
func runProxy(addr string, backends []string) error {
	var proxies []*httputil.ReverseProxy
	for _, b := range backends {
		u, err := url.Parse(b)
		if err != nil {
			return err
		}
		p := httputil.NewSingleHostReverseProxy(u)
		p.Transport = &http.Transport{MaxIdleConnsPerHost: 64, IdleConnTimeout: time.Minute}
		proxies = append(proxies, p)
	}
	var next atomic.Uint64
	return http.ListenAndServe(addr, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proxies[next.Add(1)%uint64(len(proxies))].ServeHTTP(w, r)
	}))
}

// outageFile: see the -outage-file flag.
var outageFile string

// seenWithin is how long each process is polled for an edit.
const seenWithin = 90 * time.Second

// editSeen is one edit and when each process's lookup first showed it
// (zero: not within seenWithin).
type editSeen struct {
	committed time.Time
	seen      []time.Time
}

type grid struct {
	code string
	pt   orb.Point
}

type sample struct {
	route  string
	status int // 0: no answer (connection error)
	d      time.Duration
	at     time.Duration // since the start
}

type recorder struct {
	mu      sync.Mutex
	start   time.Time
	samples []sample
}

func (r *recorder) add(route string, status int, began time.Time) {
	now := time.Now()
	r.mu.Lock()
	r.samples = append(r.samples, sample{route, status, now.Sub(began), began.Sub(r.start)})
	r.mu.Unlock()
}

func run(target string, direct []string, dbURL string, duration time.Duration, conns int, editEvery time.Duration, user, password string) error {
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, dbURL)
	if err != nil {
		return err
	}
	var grids []grid
	rows, err := conn.Query(ctx, `SELECT a.code, ST_X(p), ST_Y(p) FROM area a
		JOIN area_version v ON v.area_id = a.id AND v.valid_to IS NULL, ST_PointOnSurface(v.geom) p
		WHERE a.level = 'grid' AND a.retired_at IS NULL ORDER BY a.code`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var g grid
		if err := rows.Scan(&g.code, &g.pt[0], &g.pt[1]); err != nil {
			return err
		}
		grids = append(grids, g)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	var buildings []string
	rows, err = conn.Query(ctx, `SELECT code FROM building ORDER BY id LIMIT 5000`)
	if err != nil {
		return err
	}
	for rows.Next() {
		var c string
		if err := rows.Scan(&c); err != nil {
			return err
		}
		buildings = append(buildings, c)
	}
	conn.Close(ctx)
	if len(grids) < 2 || len(buildings) == 0 {
		return fmt.Errorf("the database holds %d grids and %d buildings", len(grids), len(buildings))
	}

	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	rec := &recorder{start: time.Now()}
	do := func(route, method, u, body string, hdr map[string]string) (int, []byte) {
		req, _ := http.NewRequest(method, u, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set("Accept-Encoding", "gzip")
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		began := time.Now()
		res, err := client.Do(req)
		if err != nil {
			rec.add(route, 0, began)
			return 0, nil
		}
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		rec.add(route, res.StatusCode, began)
		return res.StatusCode, b
	}
	deadline := rec.start.Add(duration)
	var wg sync.WaitGroup
	for w := 0; w < conns; w++ {
		wg.Add(1)
		go func(seed uint64) {
			defer wg.Done()
			rnd := rand.New(rand.NewPCG(seed, 14))
			for time.Now().Before(deadline) {
				g := grids[rnd.IntN(len(grids))]
				// A point near the grid's, so that lookups are not all the same.
				pt := orb.Point{g.pt[0] + (rnd.Float64()-0.5)*0.002, g.pt[1] + (rnd.Float64()-0.5)*0.002}
				switch k := rnd.IntN(100); {
				case k < 40:
					do("lookup", "GET", fmt.Sprintf("%s/api/v1/lookup?lon=%.6f&lat=%.6f", target, pt[0], pt[1]), "", nil)
				case k < 55:
					t := maptile.At(pt, 14)
					do("tile z14", "GET", fmt.Sprintf("%s/tiles/areas,buildings,labels/14/%d/%d.mvt", target, t.X, t.Y), "", nil)
				case k < 65:
					t := maptile.At(pt, 12)
					do("tile z12", "GET", fmt.Sprintf("%s/tiles/areas,buildings,labels/12/%d/%d.mvt", target, t.X, t.Y), "", nil)
				case k < 80:
					do("grid page", "GET", target+"/g/"+g.code, "", nil)
				case k < 95:
					do("building page", "GET", target+"/b/"+buildings[rnd.IntN(len(buildings))], "", nil)
				default:
					body, _ := json.Marshal(map[string]any{"category": "exposed_rubbish", "lon": pt[0], "lat": pt[1],
						"description": "负载测试：楼下垃圾未清运", "phone": fmt.Sprintf("137%08d", rnd.IntN(1e8)), "address": "测试路1号"})
					do("case intake", "POST", target+"/api/v1/cases", string(body), nil)
				}
			}
		}(uint64(w + 1))
	}

	// The editor: sign in through the load balancer, then rename a grid
	// every editEvery and wait for each process to show it.
	var (
		editsMu sync.Mutex
		edits   []*editSeen
		pollers sync.WaitGroup
	)
	wg.Add(1)
	go func() {
		defer wg.Done()
		jar, _ := cookiejar.New(nil)
		editor := &http.Client{Timeout: 10 * time.Second, Jar: jar}
		var csrf string
		for csrf == "" && time.Now().Before(deadline) {
			body, _ := json.Marshal(map[string]string{"name": user, "password": password})
			res, err := editor.Post(target+"/api/v1/login", "application/json", strings.NewReader(string(body)))
			if err == nil {
				var s struct {
					CSRF string `json:"csrf_token"`
				}
				json.NewDecoder(res.Body).Decode(&s)
				res.Body.Close()
				csrf = s.CSRF
			}
			if csrf == "" {
				time.Sleep(time.Second) // signing in again after a failure, not waiting for a condition
			}
		}
		lb, _ := url.Parse(target)
		for n := 0; time.Now().Before(deadline); n++ {
			next := time.Now().Add(editEvery)
			g := grids[n%len(grids)]
			name := fmt.Sprintf("负载网格%d", n)
			hdr := map[string]string{"X-CSRF-Token": csrf}
			var cookies []string
			for _, c := range jar.Cookies(lb) {
				cookies = append(cookies, c.Name+"="+c.Value)
			}
			hdr["Cookie"] = strings.Join(cookies, "; ")
			body, _ := json.Marshal(map[string]string{"name": name, "reason": "cluster load test"})
			status, _ := do("edit", "PATCH", target+"/api/v1/areas/"+g.code, string(body), hdr)
			if status == http.StatusOK {
				// Each process is polled on its own, for up to seenWithin,
				// while the editor goes on at its pace.
				e := &editSeen{committed: time.Now(), seen: make([]time.Time, len(direct))}
				editsMu.Lock()
				edits = append(edits, e)
				editsMu.Unlock()
				for i, d := range direct {
					pollers.Add(1)
					go func(i int, d string) {
						defer pollers.Done()
						u := fmt.Sprintf("%s/api/v1/lookup?lon=%.7f&lat=%.7f", d, g.pt[0], g.pt[1])
						for time.Since(e.committed) < seenWithin {
							if lookupGridName(client, u) == name {
								editsMu.Lock()
								e.seen[i] = time.Now()
								editsMu.Unlock()
								return
							}
							time.Sleep(10 * time.Millisecond) // polling the condition, bounded above
						}
					}(i, d)
				}
			}
			time.Sleep(time.Until(next))
		}
	}()
	wg.Wait()
	pollers.Wait()
	report(rec, direct, edits, duration)
	return nil
}

// readOutage reads the outage file: the stop and start times of the replica.
func readOutage() (stop, start, caught time.Time) {
	b, err := os.ReadFile(outageFile)
	if err != nil {
		return
	}
	for _, line := range strings.Split(string(b), "\n") {
		var what string
		var ms int64
		if _, err := fmt.Sscanf(line, "%s %d", &what, &ms); err == nil {
			switch what {
			case "stop":
				stop = time.UnixMilli(ms)
			case "start":
				start = time.UnixMilli(ms)
			case "caughtup":
				caught = time.UnixMilli(ms)
			}
		}
	}
	return
}

func lookupGridName(c *http.Client, u string) string {
	res, err := c.Get(u)
	if err != nil {
		return ""
	}
	defer res.Body.Close()
	var out struct {
		Grid *struct {
			Name string `json:"name"`
		} `json:"grid"`
	}
	if res.StatusCode != http.StatusOK || json.NewDecoder(res.Body).Decode(&out) != nil || out.Grid == nil {
		return ""
	}
	return out.Grid.Name
}

func pct(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	return ds[min(len(ds)-1, int(p*float64(len(ds))))]
}

func report(rec *recorder, direct []string, edits []*editSeen, duration time.Duration) {
	byRoute := map[string][]sample{}
	var routes []string
	for _, s := range rec.samples {
		if byRoute[s.route] == nil {
			routes = append(routes, s.route)
		}
		byRoute[s.route] = append(byRoute[s.route], s)
	}
	sort.Strings(routes)
	fmt.Printf("requests %d in %s: %.0f req/s\n", len(rec.samples), duration, float64(len(rec.samples))/duration.Seconds())
	fmt.Printf("%-14s %8s %8s %9s %9s   %s\n", "route", "requests", "req/s", "p50_ms", "p99_ms", "statuses")
	for _, r := range routes {
		ss := byRoute[r]
		ds := make([]time.Duration, len(ss))
		st := map[int]int{}
		for i, s := range ss {
			ds[i] = s.d
			st[s.status]++
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		fmt.Printf("%-14s %8d %8.1f %9.2f %9.2f   %s\n", r, len(ss), float64(len(ss))/duration.Seconds(),
			float64(pct(ds, 0.5).Microseconds())/1000, float64(pct(ds, 0.99).Microseconds())/1000, statuses(st))
	}
	fmt.Println("per 10 s window: requests, answers that are not 2xx/3xx by status")
	windows := map[int]map[int]int{}
	counts := map[int]int{}
	last := 0
	for _, s := range rec.samples {
		w := int(s.at / (10 * time.Second))
		last = max(last, w)
		counts[w]++
		if s.status < 200 || s.status >= 400 {
			if windows[w] == nil {
				windows[w] = map[int]int{}
			}
			windows[w][s.status]++
		}
	}
	for w := 0; w <= last; w++ {
		fmt.Printf("  %4d-%4ds %7d  %s\n", w*10, w*10+10, counts[w], statuses(windows[w]))
	}
	stop, start, caught := readOutage()
	fmt.Println("staleness: edit committed -> the process's lookup shows it (polled every 10 ms, for up to 90 s)")
	if !stop.IsZero() && !start.IsZero() {
		fmt.Printf("  the replica was stopped at %.1f s and started at %.1f s (pg_ctl returned)\n",
			stop.Sub(rec.start).Seconds(), start.Sub(rec.start).Seconds())
	}
	if !caught.IsZero() {
		fmt.Printf("  it had replayed the primary's log as of its start %s after the start (its replay lag then)\n", caught.Sub(start).Round(time.Millisecond))
	}
	for i, d := range direct {
		var outside, after []time.Duration
		var nOut, nDuring, missOut, missDuring int
		for _, e := range edits {
			during := !stop.IsZero() && !e.committed.Before(stop) && (start.IsZero() || e.committed.Before(start))
			seen := e.seen[i]
			switch {
			case during:
				nDuring++
				if seen.IsZero() {
					missDuring++
				} else {
					after = append(after, max(0, seen.Sub(start)))
				}
			default:
				nOut++
				if seen.IsZero() {
					missOut++
				} else {
					outside = append(outside, seen.Sub(e.committed))
				}
			}
		}
		for _, ds := range [][]time.Duration{outside, after} {
			sort.Slice(ds, func(a, b int) bool { return ds[a] < ds[b] })
		}
		r := func(d time.Duration) time.Duration { return d.Round(time.Millisecond) }
		fmt.Printf("  %s edits outside the outage=%d p50=%s p99=%s max=%s not within 90 s=%d\n", d, nOut,
			r(pct(outside, 0.5)), r(pct(outside, 0.99)), r(pct(outside, 1)), missOut)
		var slow []string
		for _, e := range edits {
			if seen := e.seen[i]; !seen.IsZero() && seen.Sub(e.committed) > 2*time.Second && len(slow) < 12 {
				slow = append(slow, fmt.Sprintf("%.1fs+%s", e.committed.Sub(rec.start).Seconds(), r(seen.Sub(e.committed))))
			}
		}
		if len(slow) > 0 {
			fmt.Printf("  %s edits shown after more than 2 s (committed at +staleness): %s\n", d, strings.Join(slow, " "))
		}
		if nDuring > 0 {
			fmt.Printf("  %s edits during the outage=%d shown after the replica's start: p50=%s max=%s (0: before it) not within 90 s=%d\n", d, nDuring,
				r(pct(after, 0.5)), r(pct(after, 1)), missDuring)
		}
	}
	os.Stdout.Sync()
}

func statuses(st map[int]int) string {
	var keys []int
	for k := range st {
		keys = append(keys, k)
	}
	sort.Ints(keys)
	var parts []string
	for _, k := range keys {
		name := fmt.Sprint(k)
		if k == 0 {
			name = "no-answer"
		}
		parts = append(parts, fmt.Sprintf("%s:%d", name, st[k]))
	}
	if len(parts) == 0 {
		return "-"
	}
	return strings.Join(parts, " ")
}
