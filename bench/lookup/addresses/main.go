// Command addresses measures address lookups (GET /api/v1/lookup?address=)
// one at a time against a running gridmap, over a mix of query forms made
// from real addresses of its database, and prints p50/p95/p99 per form and
// overall.
//
//	go run ./bench/lookup/addresses -url http://127.0.0.1:8091 -addresses addrs.txt
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"
	"unicode"
)

// forms turn a stored address into a query as residents type it.
var forms = []struct {
	name string
	make func(addr string, rng *rand.Rand) string
}{
	{"as stored", func(a string, _ *rand.Rand) string { return a }},
	{"house only (contains)", func(a string, _ *rand.Rand) string {
		if i := strings.LastIndex(a, "号"); i > 0 {
			return a[:i+len("号")]
		}
		return a
	}},
	{"full-width digits", func(a string, _ *rand.Rand) string {
		return strings.Map(func(r rune) rune {
			if r >= '0' && r <= '9' {
				return r - '0' + '０'
			}
			return r
		}, a)
	}},
	{"with province and city", func(a string, _ *rand.Rand) string { return "浙江省杭州市" + a }},
	{"one digit wrong (fuzzy)", func(a string, rng *rand.Rand) string {
		rs := []rune(a)
		var digits []int
		for i, r := range rs {
			if unicode.IsDigit(r) {
				digits = append(digits, i)
			}
		}
		if len(digits) == 0 {
			return a
		}
		i := digits[rng.IntN(len(digits))]
		rs[i] = '0' + (rs[i]-'0'+1)%10
		return string(rs)
	}},
	{"street only", func(a string, _ *rand.Rand) string {
		for _, sep := range []string{"路", "街", "弄", "巷", "道"} {
			if i := strings.Index(a, sep); i > 0 {
				return a[:i+len(sep)]
			}
		}
		return a
	}},
	{"unknown", func(a string, rng *rand.Rand) string { return fmt.Sprintf("火星大道%d号", 1000+rng.IntN(9000)) }},
}

func main() {
	base := flag.String("url", "http://127.0.0.1:8091", "gridmap base URL")
	file := flag.String("addresses", "", "file with one stored address per line")
	n := flag.Int("n", 2000, "queries to time (after 200 to warm up)")
	seed := flag.Uint64("seed", 1, "random seed")
	flag.Parse()
	addrs, err := readLines(*file)
	if err != nil || len(addrs) == 0 {
		fmt.Fprintln(os.Stderr, "addresses: need -addresses FILE with one address per line:", err)
		os.Exit(2)
	}
	rng := rand.New(rand.NewPCG(*seed, *seed))
	client := &http.Client{Timeout: 10 * time.Second}
	byForm := make([][]time.Duration, len(forms))
	var all []time.Duration
	for i := -200; i < *n; i++ {
		f := rng.IntN(len(forms))
		q := forms[f].make(addrs[rng.IntN(len(addrs))], rng)
		start := time.Now()
		res, err := client.Get(*base + "/api/v1/lookup?address=" + url.QueryEscape(q))
		if err != nil {
			fmt.Fprintln(os.Stderr, "addresses:", err)
			os.Exit(1)
		}
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		d := time.Since(start)
		if res.StatusCode != 200 {
			fmt.Fprintf(os.Stderr, "addresses: %q: status %d\n", q, res.StatusCode)
			os.Exit(1)
		}
		if i < 0 {
			continue
		}
		byForm[f] = append(byForm[f], d)
		all = append(all, d)
	}
	fmt.Printf("%-26s %6s %9s %9s %9s\n", "query form", "n", "p50", "p95", "p99")
	for f, ds := range byForm {
		printRow(forms[f].name, ds)
	}
	printRow("all", all)
}

func printRow(name string, ds []time.Duration) {
	slices.Sort(ds)
	q := func(p float64) string {
		if len(ds) == 0 {
			return "-"
		}
		return fmt.Sprintf("%.2fms", float64(ds[min(len(ds)-1, int(p*float64(len(ds))))].Microseconds())/1000)
	}
	fmt.Printf("%-26s %6d %9s %9s %9s\n", name, len(ds), q(0.50), q(0.95), q(0.99))
}

func readLines(name string) ([]string, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if s := strings.TrimSpace(sc.Text()); s != "" {
			out = append(out, s)
		}
	}
	return out, sc.Err()
}
