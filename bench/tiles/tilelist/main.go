// Command tilelist prints, one "z/x/y" a line, every tile at the given zooms
// whose bounds meet the bounds of a TileJSON document (the data's extent,
// EPSG:4326), row by row from the north-west. It is the tile list that
// bench/tiles replays against gridmap and tegola.
//
//	tilelist -tilejson http://127.0.0.1:8092/tiles/areas.json -z 12,14,16 > tiles.txt
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net/http"
	"os"
	"strconv"
	"strings"

	"github.com/paulmach/orb"
	"github.com/paulmach/orb/maptile"
)

func main() {
	tilejson := flag.String("tilejson", "", "URL of a TileJSON document whose bounds the tiles cover")
	zooms := flag.String("z", "12,14,16", "comma-separated zooms")
	flag.Parse()
	if err := run(*tilejson, *zooms); err != nil {
		fmt.Fprintln(os.Stderr, "tilelist:", err)
		os.Exit(1)
	}
}

func run(tilejson, zooms string) error {
	b, err := bounds(tilejson)
	if err != nil {
		return err
	}
	var out strings.Builder
	for _, s := range strings.Split(zooms, ",") {
		z, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || z < 0 || z > 22 {
			return fmt.Errorf("zoom must be 0 to 22, got %q", s)
		}
		for _, t := range Covering(b, maptile.Zoom(z)) {
			fmt.Fprintf(&out, "%d/%d/%d\n", t.Z, t.X, t.Y)
		}
	}
	_, err = os.Stdout.WriteString(out.String())
	return err
}

// bounds reads the bounds of the TileJSON document at url.
func bounds(url string) (orb.Bound, error) {
	if url == "" {
		return orb.Bound{}, fmt.Errorf("-tilejson is required")
	}
	resp, err := http.Get(url)
	if err != nil {
		return orb.Bound{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return orb.Bound{}, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	var tj struct {
		Bounds []float64 `json:"bounds"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&tj); err != nil {
		return orb.Bound{}, fmt.Errorf("GET %s: %w", url, err)
	}
	if len(tj.Bounds) != 4 {
		return orb.Bound{}, fmt.Errorf("GET %s: want 4 numbers in bounds, got %v", url, tj.Bounds)
	}
	return orb.Bound{Min: orb.Point{tj.Bounds[0], tj.Bounds[1]}, Max: orb.Point{tj.Bounds[2], tj.Bounds[3]}}, nil
}

// Covering returns the tiles at zoom z whose bounds meet b (EPSG:4326), row
// by row from the north-west corner.
func Covering(b orb.Bound, z maptile.Zoom) []maptile.Tile {
	nw := maptile.Fraction(orb.Point{b.Min[0], b.Max[1]}, z)
	se := maptile.Fraction(orb.Point{b.Max[0], b.Min[1]}, z)
	n := uint32(1) << z
	clamp := func(f float64) uint32 { return uint32(min(max(math.Floor(f), 0), float64(n-1))) }
	var out []maptile.Tile
	for y := clamp(nw[1]); y <= clamp(se[1]); y++ {
		for x := clamp(nw[0]); x <= clamp(se[0]); x++ {
			out = append(out, maptile.New(x, y, z))
		}
	}
	return out
}
