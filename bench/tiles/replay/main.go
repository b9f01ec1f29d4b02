// Command replay is the load generator of bench/tiles: it requests the tiles
// of a list ("z/x/y" lines) from a tile server over -c keep-alive
// connections, with Accept-Encoding: gzip, and prints one line of results.
// The same program, concurrency and list serve gridmap and tegola.
//
// Without -duration it makes exactly one pass: each tile of the list is
// requested once, by whichever connection is free next (a cold pass must not
// ask a tile twice, which wrk's fixed-duration runs cannot promise). With
// -duration it goes round the list until the time is up (warm runs).
//
//	replay -url 'http://127.0.0.1:8092/tiles/areas,buildings,labels/{z}/{x}/{y}.mvt' -list tiles.txt -c 8
//	replay -url 'http://127.0.0.1:8093/maps/gridmap/{z}/{x}/{y}.pbf' -list tiles.txt -c 8 -duration 10s
//
// Output (one line): requests, seconds, rps, p50_ms, p99_ms, max_ms, then
// errors (transport), non200, bytes (as sent: gzip), gzip (responses with
// Content-Encoding: gzip), empty (0-byte bodies), hit and miss (from
// gridmap's X-Tile-Cache or tegola's Tegola-Cache header).
// Latency is from sending the request to reading the last byte of the body.
package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	url := flag.String("url", "", "tile URL template with {z}, {x} and {y}")
	list := flag.String("list", "", "file of tiles, one z/x/y a line")
	conns := flag.Int("c", 8, "concurrent connections")
	duration := flag.Duration("duration", 0, "go round the list for this long; 0: one pass")
	label := flag.String("label", "", "text printed before the results")
	flag.Parse()
	if *url == "" || *list == "" || *conns < 1 {
		fmt.Fprintln(os.Stderr, "replay: -url and -list are required, -c at least 1")
		os.Exit(2)
	}
	urls, err := tileURLs(*url, *list)
	if err != nil {
		fmt.Fprintln(os.Stderr, "replay:", err)
		os.Exit(1)
	}
	r := run(urls, *conns, *duration)
	if *label != "" {
		fmt.Print(*label, " ")
	}
	fmt.Println(r)
	if r.errors > 0 || r.non200 > 0 {
		fmt.Fprintf(os.Stderr, "replay: %d transport errors, %d non-200 answers (first: %s)\n", r.errors, r.non200, r.firstProblem)
		os.Exit(1)
	}
}

// tileURLs reads the list and fills the template with each tile.
func tileURLs(template, list string) ([]string, error) {
	f, err := os.Open(list)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var urls []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		zxy := strings.Split(line, "/")
		if len(zxy) != 3 {
			return nil, fmt.Errorf("%s: want z/x/y, got %q", list, line)
		}
		urls = append(urls, strings.NewReplacer("{z}", zxy[0], "{x}", zxy[1], "{y}", zxy[2]).Replace(template))
	}
	if len(urls) == 0 {
		return nil, fmt.Errorf("%s: no tiles", list)
	}
	return urls, sc.Err()
}

type result struct {
	requests               int
	seconds                float64
	latencies              []time.Duration
	errors, non200         int
	bytes                  int64
	gzip, empty, hit, miss int
	firstProblem           string
}

func (r result) String() string {
	slices.Sort(r.latencies)
	pct := func(p float64) float64 {
		if len(r.latencies) == 0 {
			return 0
		}
		// nearest rank
		i := int(p/100*float64(len(r.latencies))+0.999999) - 1
		return float64(r.latencies[min(max(i, 0), len(r.latencies)-1)]) / 1e6
	}
	return fmt.Sprintf("requests=%d seconds=%.3f rps=%.1f p50_ms=%.3f p99_ms=%.3f max_ms=%.3f errors=%d non200=%d bytes=%d gzip=%d empty=%d hit=%d miss=%d",
		r.requests, r.seconds, float64(r.requests)/r.seconds, pct(50), pct(99), pct(100),
		r.errors, r.non200, r.bytes, r.gzip, r.empty, r.hit, r.miss)
}

// run requests urls over conns connections: one pass, or round and round
// for d.
func run(urls []string, conns int, d time.Duration) result {
	client := &http.Client{Transport: &http.Transport{
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: conns,
		MaxConnsPerHost:     conns,
		DisableCompression:  true, // Accept-Encoding is set by hand; bodies stay as sent
	}}
	ctx := context.Background()
	var stop atomic.Bool
	if d > 0 {
		time.AfterFunc(d, func() { stop.Store(true) })
	}
	var next atomic.Int64
	results := make([]result, conns)
	var wg sync.WaitGroup
	start := time.Now()
	for c := range conns {
		wg.Go(func() {
			r := &results[c]
			for !stop.Load() {
				i := next.Add(1) - 1
				if d == 0 && i >= int64(len(urls)) {
					return
				}
				get(ctx, client, urls[i%int64(len(urls))], r)
			}
		})
	}
	wg.Wait()
	total := result{seconds: time.Since(start).Seconds()}
	for _, r := range results {
		total.requests += r.requests
		total.latencies = append(total.latencies, r.latencies...)
		total.errors += r.errors
		total.non200 += r.non200
		total.bytes += r.bytes
		total.gzip += r.gzip
		total.empty += r.empty
		total.hit += r.hit
		total.miss += r.miss
		if total.firstProblem == "" {
			total.firstProblem = r.firstProblem
		}
	}
	return total
}

// get requests one tile and adds its outcome to r.
func get(ctx context.Context, client *http.Client, url string, r *result) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		panic(err)
	}
	req.Header.Set("Accept-Encoding", "gzip")
	t0 := time.Now()
	resp, err := client.Do(req)
	var n int64
	if err == nil {
		n, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	lat := time.Since(t0)
	r.requests++
	if err != nil {
		r.errors++
		if r.firstProblem == "" {
			r.firstProblem = url + ": " + err.Error()
		}
		return
	}
	r.latencies = append(r.latencies, lat)
	r.bytes += n
	if resp.StatusCode != http.StatusOK {
		r.non200++
		if r.firstProblem == "" {
			r.firstProblem = url + ": " + resp.Status
		}
	}
	if resp.Header.Get("Content-Encoding") == "gzip" {
		r.gzip++
	}
	if n == 0 {
		r.empty++
	}
	switch strings.ToLower(resp.Header.Get("X-Tile-Cache") + resp.Header.Get("Tegola-Cache")) {
	case "hit":
		r.hit++
	case "miss":
		r.miss++
	}
}
