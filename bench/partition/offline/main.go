// Command offline runs the pure solver (partition.Solve) on solver inputs
// saved by `go run ./bench/partition -dump DIR` and prints the proposal's
// metrics per area: changes to the solver are compared on the same atoms in
// seconds, without PostGIS (docs/partition.md, "Compactness").
//
//	go run ./bench/partition/offline [-runs N] [-seed S] [-rounds R] DIR/*.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gridmap/partition"
)

func main() {
	runs := flag.Int("runs", 1, "solves per input; the median time is printed")
	seed := flag.Int("seed", -1, "solve with this seed instead of the saved one")
	rounds := flag.Int("rounds", -1, "improvement rounds instead of the saved option (0: the default)")
	flag.BoolVar(&perGrid, "grids", false, "print every grid's atoms, households, area, perimeter and Polsby–Popper too")
	flag.Parse()
	fmt.Println("| input | atoms | grids | in range | max dev. | PP min / mean | border on roads | time (median) |")
	fmt.Println("|---|---|---|---|---|---|---|---|")
	for _, path := range flag.Args() {
		if err := one(path, *runs, *seed, *rounds); err != nil {
			fmt.Fprintln(os.Stderr, path+":", err)
			os.Exit(1)
		}
	}
}

var perGrid bool

func one(path string, runs, seed, rounds int) error {
	raw, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var p partition.Problem
	if err := json.Unmarshal(raw, &p); err != nil {
		return err
	}
	if seed >= 0 {
		p.Seed = uint64(seed)
	}
	if rounds >= 0 {
		p.Rounds = rounds
	}
	var times []float64
	var r *partition.Result
	for range max(runs, 1) {
		t0 := time.Now()
		if r, err = partition.Solve(p); err != nil {
			return err
		}
		times = append(times, time.Since(t0).Seconds())
	}
	slices.Sort(times)
	m := r.Metrics
	fmt.Printf("| %s | %d | %d | %d | %d | %.3f / %.3f | %.1f%% | %.2f s |\n", strings.TrimSuffix(filepath.Base(path), ".json"),
		len(p.Atoms), m.Grids, m.InRange, m.MaxDeviation, m.PPMin, m.PPMean, 100*m.RoadShare, times[len(times)/2])
	if perGrid {
		for i, g := range r.Grids {
			fmt.Printf("|   grid %d | %d atoms | %d households | %.3f km² | %.2f km | PP %.3f | %s |\n", i, len(g.Atoms), g.Households, g.AreaM2/1e6, g.PerimeterM/1e3, g.PolsbyPopper, strings.Join(g.Reasons, " "))
		}
	}
	return nil
}
