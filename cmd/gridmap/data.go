package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"time"

	"gridmap/data"
	"gridmap/demo"
	"gridmap/geo"
	"gridmap/ingest"
)

// batchStatementTimeout is the least statement timeout of imports and demo
// loads: assigning 200,000 buildings to grids is one statement that takes
// longer than the 30 s a request may.
const batchStatementTimeout = 30 * time.Minute

// multiFlag collects a repeated flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// progress prints "label done/total" on one line of w, at most every 200 ms.
func progress(w io.Writer, label string) func(done, total int) {
	var last time.Time
	return func(done, total int) {
		if done < total && time.Since(last) < 200*time.Millisecond {
			return
		}
		last = time.Now()
		fmt.Fprintf(w, "\r%s %d/%d", label, done, total)
		if done >= total {
			fmt.Fprintln(w)
		}
	}
}

func printReport(w io.Writer, what string, rep *geo.ImportReport, dry bool) {
	verb := "imported"
	if dry {
		verb = "would import (dry run, nothing written)"
	}
	fmt.Fprintf(w, "%s: %s %d, repaired %d, rejected %d (change %d)\n", what, verb, rep.Imported, len(rep.Repaired), len(rep.Rejected), rep.ChangeID)
	for _, p := range rep.Repaired {
		fmt.Fprintf(w, "  repaired %s: %s\n", p.Ref, p.Reason)
	}
	for _, p := range rep.Rejected {
		fmt.Fprintf(w, "  rejected %s: %s\n", p.Ref, p.Reason)
	}
}

func cmdImport(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) error {
	if len(args) > 0 && args[0] == "roads" {
		return cmdImportRoads(ctx, cfg, args[1:], stdout, stderr)
	}
	if len(args) < 2 || (args[0] != "areas" && args[0] != "buildings") {
		return geo.Errorf(geo.EInvalid, "usage: gridmap import areas|buildings|roads FILE [flags]")
	}
	kind, file := args[0], args[1]
	fs := flag.NewFlagSet("import "+kind, flag.ContinueOnError)
	var opt geo.ImportOptions
	fs.StringVar(&opt.Author, "author", "cli:"+os.Getenv("USER"), "who the change record names")
	fs.StringVar(&opt.Reason, "reason", "import "+file, "why, for the change record")
	fs.BoolVar(&opt.Strict, "strict", false, "roll the whole import back when any item is rejected")
	fs.BoolVar(&opt.DryRun, "dry-run", false, "validate and report without writing")
	var level, codeField, nameField, parentField string
	var where multiFlag
	var bo ingest.BuildingOptions
	if kind == "areas" {
		fs.StringVar(&level, "level", "", "level of the imported areas (required), e.g. grid")
		fs.StringVar(&codeField, "code-field", "", "property holding the area code")
		fs.StringVar(&nameField, "name-field", "name", "property holding the area name")
		fs.StringVar(&parentField, "parent-code-field", "", "property holding the parent's code")
		fs.Var(&where, "where", "import only features whose PROP equals VALUE (PROP=VALUE; repeatable)")
	} else {
		fs.StringVar(&bo.Format, "format", "", "geojson, csv or pbf (default: from the file name)")
		fs.StringVar(&bo.CodeField, "code-field", "", "field holding the building code")
		fs.StringVar(&bo.NameField, "name-field", "", "field holding the name")
		fs.StringVar(&bo.AddressField, "address-field", "", "field holding the address")
		fs.StringVar(&bo.HouseholdsField, "households-field", "", "field holding households")
		fs.StringVar(&bo.ResidentsField, "residents-field", "", "field holding residents")
		fs.StringVar(&bo.FloorsField, "floors-field", "", "field holding floors")
		fs.StringVar(&bo.LonField, "lon-field", "", "CSV column of longitude (default lon)")
		fs.StringVar(&bo.LatField, "lat-field", "", "CSV column of latitude (default lat)")
	}
	if err := fs.Parse(args[2:]); err != nil {
		return geo.Errorf(geo.EInvalid, "%v", err)
	}
	opt.Progress = progress(stderr, "importing "+kind)
	cfg.StatementTimeout = max(cfg.StatementTimeout, batchStatementTimeout)
	return withDB(ctx, cfg, func(db *data.DB) error {
		im := data.NewImporter(db)
		if kind == "buildings" {
			bo.Progress = func(done, total int64) { fmt.Fprintf(stderr, "\rreading %s %d%%", file, done*100/max(total, 1)) }
			bs, rr, err := ingest.ReadBuildings(file, bo)
			if err != nil {
				return err
			}
			fmt.Fprintf(stderr, "\rread %s: %d records, %d buildings, %d skipped, %d rejected\n", file, rr.Read, rr.Accepted, rr.Skipped, len(rr.Rejected))
			for _, n := range rr.Notes {
				fmt.Fprintf(stdout, "  note: %s\n", n)
			}
			rep, err := im.ImportBuildings(ctx, bs, opt)
			if rep != nil {
				rep.Rejected = append(toProblems(rr.Rejected), rep.Rejected...)
				printReport(stdout, "buildings", rep, opt.DryRun)
			}
			return err
		}
		if level == "" {
			return geo.Errorf(geo.EInvalid, "--level is required, e.g. --level grid")
		}
		filter := map[string]string{}
		for _, w := range where {
			k, v, ok := strings.Cut(w, "=")
			if !ok || k == "" {
				return geo.Errorf(geo.EInvalid, "--where must be PROP=VALUE, got %q", w)
			}
			filter[k] = v
		}
		f, err := os.Open(file)
		if err != nil {
			return geo.Errorf(geo.EInvalid, "%v", err)
		}
		defer f.Close()
		feats, err := ingest.ReadAreaFeatures(f, 1<<30)
		if err != nil {
			return err
		}
		var in []geo.AreaInput
		for _, ft := range feats {
			if !ingest.MatchWhere(ft.Props, filter) {
				continue
			}
			a := geo.AreaInput{Ref: ft.Ref, Level: level, Geometry: ft.Geometry, Problem: ft.Problem, Name: ingest.PropString(ft.Props, nameField)}
			if codeField != "" {
				a.Code = ingest.PropString(ft.Props, codeField)
			}
			if parentField != "" {
				a.ParentCode = ingest.PropString(ft.Props, parentField)
			}
			in = append(in, a)
		}
		fmt.Fprintf(stderr, "read %s: %d features, %d selected\n", file, len(feats), len(in))
		rep, err := im.ImportAreas(ctx, in, opt)
		if rep != nil {
			printReport(stdout, "areas", rep, opt.DryRun)
		}
		return err
	})
}

func toProblems(rs []ingest.Rejection) []geo.Problem {
	out := make([]geo.Problem, len(rs))
	for i, r := range rs {
		out[i] = geo.Problem{Ref: r.Ref, Reason: r.Reason}
	}
	return out
}

func cmdDemo(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("demo", flag.ContinueOnError)
	fs.IntVar(&cfg.DemoGrids, "grids", 0, "number of grids (default: one subdistrict of about 42)")
	fs.IntVar(&cfg.DemoBuildings, "buildings", 0, "number of buildings (default: about 1,600)")
	fs.Int64Var(&cfg.DemoSeed, "seed", cfg.DemoSeed, "random seed; the same seed gives the same data")
	nCases := fs.Int("cases", 0, "also play this many cases of the past year (units, staff demo-desk and demo-worker)")
	if err := fs.Parse(args); err != nil {
		return geo.Errorf(geo.EInvalid, "%v", err)
	}
	cfg.StatementTimeout = max(cfg.StatementTimeout, batchStatementTimeout)
	return withDB(ctx, cfg, func(db *data.DB) error {
		empty, err := data.NewImporter(db).Empty(ctx)
		if err != nil {
			return err
		}
		if !empty {
			return geo.Errorf(geo.EConflict, "the database already holds areas; the demo loads only into an empty database")
		}
		if err := loadDemo(ctx, db, cfg, stdout); err != nil || *nCases <= 0 {
			return err
		}
		ds, err := demo.Generate(demo.Options{Seed: cfg.DemoSeed, Grids: cfg.DemoGrids, Buildings: cfg.DemoBuildings})
		if err != nil {
			return err
		}
		return loadDemoCases(ctx, db, ds, cfg.DemoSeed, *nCases, stdout)
	})
}

func loadDemoIfEmpty(ctx context.Context, db *data.DB, cfg Config, stdout io.Writer) error {
	empty, err := data.NewImporter(db).Empty(ctx)
	if err != nil || !empty {
		return err
	}
	return loadDemo(ctx, db, cfg, stdout)
}

func loadDemo(ctx context.Context, db *data.DB, cfg Config, stdout io.Writer) error {
	start := time.Now()
	ds, err := demo.Generate(demo.Options{Seed: cfg.DemoSeed, Grids: cfg.DemoGrids, Buildings: cfg.DemoBuildings})
	if err != nil {
		return err
	}
	rep, err := data.NewImporter(db).LoadDataset(ctx, ds.GeoDataset(), geo.ImportOptions{
		Author: "gridmap demo", Reason: "demo data", Strict: true, Progress: progress(os.Stderr, "loading demo"),
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "demo: loaded %d areas and buildings, %d roads, %d people, %d duties in %s\n",
		rep.Imported, len(ds.Roads), len(ds.People), len(ds.Duties), time.Since(start).Round(time.Millisecond))
	return nil
}

func cmdExport(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	if len(args) < 1 || args[0] != "areas" {
		return geo.Errorf(geo.EInvalid, "usage: gridmap export areas [--level L] [--format geojson|kml] [-o FILE]")
	}
	fs := flag.NewFlagSet("export areas", flag.ContinueOnError)
	level := fs.String("level", "", "only this level")
	format := fs.String("format", "geojson", "geojson or kml")
	out := fs.String("o", "", "output file (default: standard output)")
	if err := fs.Parse(args[1:]); err != nil {
		return geo.Errorf(geo.EInvalid, "%v", err)
	}
	if *format != "geojson" && *format != "kml" {
		return geo.Errorf(geo.EInvalid, "--format must be geojson or kml, got %q", *format)
	}
	return withDB(ctx, cfg, func(db *data.DB) error {
		fc, err := data.NewAreaService(db).AreasGeoJSON(ctx, geo.AreaFilter{Level: *level})
		if err != nil {
			return err
		}
		w := stdout
		if *out != "" {
			f, err := os.Create(*out)
			if err != nil {
				return err
			}
			defer f.Close()
			w = f
		}
		if *format == "kml" {
			return writeKML(w, fc)
		}
		_, err = w.Write(append(fc, '\n'))
		return err
	})
}

func cmdLevel(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	if len(args) < 1 || (args[0] != "add" && args[0] != "list") {
		return geo.Errorf(geo.EInvalid, "usage: gridmap level add --hierarchy H --key K --depth N --zh NAME --en NAME | gridmap level list")
	}
	return withDB(ctx, cfg, func(db *data.DB) error {
		if args[0] == "list" {
			ls, err := data.NewAreaService(db).Levels(ctx)
			if err != nil {
				return err
			}
			sort.SliceStable(ls, func(i, j int) bool { return ls[i].Hierarchy < ls[j].Hierarchy })
			enc := json.NewEncoder(stdout)
			enc.SetEscapeHTML(false)
			for _, l := range ls {
				enc.Encode(l)
			}
			return nil
		}
		fs := flag.NewFlagSet("level add", flag.ContinueOnError)
		var l geo.Level
		fs.StringVar(&l.Hierarchy, "hierarchy", "", "hierarchy name, e.g. health")
		fs.StringVar(&l.Key, "key", "", "level key, e.g. village")
		fs.IntVar(&l.Depth, "depth", -1, "0 for the top level")
		fs.StringVar(&l.NameZH, "zh", "", "Chinese name")
		fs.StringVar(&l.NameEN, "en", "", "English name")
		if err := fs.Parse(args[1:]); err != nil {
			return geo.Errorf(geo.EInvalid, "%v", err)
		}
		if err := data.NewAreaService(db).AddLevel(ctx, l); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "level %s added to hierarchy %s at depth %d\n", l.Key, l.Hierarchy, l.Depth)
		return nil
	})
}
