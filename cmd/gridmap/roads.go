package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"gridmap/data"
	"gridmap/geo"
	"gridmap/ingest"
)

// cmdImportRoads is `gridmap import roads FILE`: read the roads of an OSM
// PBF or GeoJSON file and replace the roads of its source with them.
func cmdImportRoads(ctx context.Context, cfg Config, args []string, stdout, stderr io.Writer) error {
	if len(args) < 1 {
		return geo.Errorf(geo.EInvalid, "usage: gridmap import roads FILE [--format geojson|pbf] [--source S] [--name-field F] [--dry-run]")
	}
	file := args[0]
	fs := flag.NewFlagSet("import roads", flag.ContinueOnError)
	var opt geo.ImportOptions
	var ro ingest.RoadOptions
	fs.StringVar(&opt.Author, "author", "cli:"+os.Getenv("USER"), "who the change record names")
	fs.StringVar(&opt.Reason, "reason", "import roads "+file, "why, for the change record")
	fs.BoolVar(&opt.DryRun, "dry-run", false, "validate and report without writing")
	fs.StringVar(&ro.Format, "format", "", "geojson or pbf (default: from the file name)")
	fs.StringVar(&ro.Source, "source", "", "source name; a re-import of the same source replaces its roads (default: the file's base name)")
	fs.StringVar(&ro.NameField, "name-field", "", "property or tag holding the name (default: name, then name:zh)")
	if err := fs.Parse(args[1:]); err != nil {
		return geo.Errorf(geo.EInvalid, "%v", err)
	}
	if ro.Source == "" {
		ro.Source = filepath.Base(file)
	}
	cfg.StatementTimeout = max(cfg.StatementTimeout, batchStatementTimeout)
	return withDB(ctx, cfg, func(db *data.DB) error {
		start := time.Now()
		ro.Progress = func(done, total int64) { fmt.Fprintf(stderr, "\rreading %s %d%%", file, done*100/max(total, 1)) }
		roads, rr, err := ingest.ReadRoads(file, ro)
		if err != nil {
			return err
		}
		read := time.Since(start)
		fmt.Fprintf(stderr, "\rread %s: %d highway records, %d roads, %d skipped, %d rejected in %s\n", file, rr.Read, rr.Accepted, rr.Skipped, len(rr.Rejected), read.Round(time.Millisecond))
		for _, n := range rr.Notes {
			fmt.Fprintf(stdout, "  note: %s\n", n)
		}
		for _, r := range rr.Rejected {
			fmt.Fprintf(stdout, "  rejected %s\n", r)
		}
		if len(roads) == 0 {
			return geo.Errorf(geo.EInvalid, "%s holds no roads gridmap can import; the roads of source %q were left as they are", file, ro.Source)
		}
		opt.Progress = progress(stderr, "writing roads")
		rep, err := data.NewImporter(db).ReplaceRoads(ctx, ro.Source, roads, opt)
		if err != nil {
			return err
		}
		verb := "imported"
		if opt.DryRun {
			verb = "would import (dry run, nothing written)"
		}
		fmt.Fprintf(stdout, "roads of source %q: %s %d (major %d, minor %d, path %d), replaced %d, skipped %d, rejected %d (change %d) in %s\n",
			rep.Source, verb, rep.Imported, rep.ByClass[geo.RoadMajor], rep.ByClass[geo.RoadMinor], rep.ByClass[geo.RoadPath],
			rep.Replaced, rr.Skipped, len(rr.Rejected), rep.ChangeID, time.Since(start).Round(time.Millisecond))
		return nil
	})
}
