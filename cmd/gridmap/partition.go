package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"

	"gridmap/data"
	"gridmap/geo"
)

const partitionUsage = "usage: gridmap partition AREA_CODE [--households MIN-MAX] [--grids K] [--mode fresh|maintain] [--seed S] [--format summary|geojson] [--apply --reason TEXT]"

// cmdPartition: gridmap partition AREA_CODE … — propose grids for an area
// (划网格) and, with --apply, commit the proposal as one change.
func cmdPartition(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("partition", flag.ContinueOnError)
	fs.SetOutput(stderr)
	households := fs.String("households", "", "households per grid, MIN-MAX (default: the level's target)")
	grids := fs.Int("grids", 0, "number of grids (default: what the households admit)")
	mode := fs.String("mode", "fresh", "fresh (draw every grid) or maintain (keep the valid grids)")
	seed := fs.Uint64("seed", 1, "random seed; the same seed and data give the same proposal")
	format := fs.String("format", "summary", "summary or geojson")
	apply := fs.Bool("apply", false, "commit the proposal as one change")
	reason := fs.String("reason", "", "why (required with --apply)")
	var code string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		code, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return geo.Errorf(geo.EInvalid, "%v; %s", err, partitionUsage)
	}
	if code == "" && fs.NArg() == 1 {
		code = fs.Arg(0)
	} else if fs.NArg() > 0 {
		return geo.Errorf(geo.EInvalid, "unexpected arguments %v; %s", fs.Args(), partitionUsage)
	}
	if code == "" {
		return geo.Errorf(geo.EInvalid, "give the area's code; %s", partitionUsage)
	}
	r := geo.PartitionRequest{AreaCode: code, Grids: *grids, Mode: *mode, Seed: *seed}
	if *households != "" {
		lo, hi, ok := strings.Cut(*households, "-")
		min, err1 := strconv.Atoi(strings.TrimSpace(lo))
		max, err2 := strconv.Atoi(strings.TrimSpace(hi))
		if !ok || err1 != nil || err2 != nil || min < 1 || max < min {
			return geo.Errorf(geo.EInvalid, "--households must be MIN-MAX with 1 ≤ MIN ≤ MAX, e.g. 300-500; got %q", *households)
		}
		r.Min, r.Max = min, max
	}
	if *format != "summary" && *format != "geojson" {
		return geo.Errorf(geo.EInvalid, "--format must be summary or geojson, got %q", *format)
	}
	if *apply {
		if err := geo.CheckText("reason", *reason, 1000); err != nil {
			return err
		}
		if strings.TrimSpace(*reason) == "" {
			return geo.Errorf(geo.EInvalid, "--apply needs --reason TEXT: every change says why")
		}
	}
	return withDB(ctx, cfg, func(db *data.DB) error {
		ps := data.NewPartitioner(data.NewEditor(db))
		var prop *geo.PartitionProposal
		var res *geo.EditResult
		var err error
		if *apply {
			prop, res, err = ps.Apply(ctx, r, *reason)
		} else {
			prop, err = ps.Propose(ctx, r)
		}
		if prop != nil {
			if *format == "geojson" {
				enc := json.NewEncoder(stdout)
				enc.SetEscapeHTML(false)
				if err := enc.Encode(prop.FeatureCollection()); err != nil {
					return err
				}
			} else {
				printProposal(stdout, prop)
			}
		}
		if err != nil {
			return err
		}
		if res != nil {
			fmt.Fprintf(stderr, "applied as change %d: %d areas changed; revert with the change id\n", res.ChangeID, len(res.Versions))
		}
		return nil
	})
}

func printProposal(w io.Writer, p *geo.PartitionProposal) {
	m := p.Metrics
	fmt.Fprintf(w, "%s %s: %s, %d–%d households per grid, seed %d, %d atoms\n", p.Area.Code, p.Area.Name, p.Mode, p.Min, p.Max, p.Seed, p.Atoms)
	fmt.Fprintf(w, "%d grids, %d in range, max deviation %d, Polsby–Popper min %.2f mean %.2f, border on roads %.0f%%, estates split %d, households reassigned %d\n",
		m.Grids, m.InRange, m.MaxDeviation, m.PPMin, m.PPMean, 100*m.RoadShare, m.EstatesSplit, m.Reassigned)
	fmt.Fprintf(w, "%-6s %-16s %-5s %10s %9s %9s %6s %s\n", "grid", "keeps", "kept", "households", "buildings", "area_m2", "pp", "")
	for _, g := range p.Grids {
		code := "(new)"
		if g.Area != nil {
			code = g.Area.Code
		}
		mark := ""
		if !g.InRange {
			mark = "OUT OF RANGE: " + strings.Join(g.Reasons, ", ")
		}
		fmt.Fprintf(w, "%-6d %-16s %-5v %10d %9d %9.0f %6.2f %s\n", g.Index, code, g.Kept, g.Households, g.Buildings, g.AreaM2, g.PolsbyPopper, mark)
	}
	for _, r := range p.Reasons {
		fmt.Fprintf(w, "why: %s (grids %v): %s\n", r.Kind, r.Grids, r.Message)
	}
	if p.Preview != nil {
		fmt.Fprintf(w, "edit preview: valid %v, %d errors, %d warnings, %d moves\n", p.Preview.Valid, len(p.Preview.Errors), len(p.Preview.Warnings), len(p.Preview.Moves))
		for _, is := range p.Preview.Errors {
			fmt.Fprintf(w, "  error: %s\n", is.Message)
		}
	}
}
