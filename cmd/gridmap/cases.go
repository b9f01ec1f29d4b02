package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"gridmap/data"
	"gridmap/geo"
)

// cmdCases: gridmap cases import FILE.csv — a hotline (12345) export.
func cmdCases(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	if len(args) != 2 || args[0] != "import" {
		return geo.Errorf(geo.EInvalid, "usage: gridmap cases import FILE.csv (columns: ticket,received_at,category,lon,lat,crs,address,description,phone)")
	}
	f, err := os.Open(args[1])
	if err != nil {
		return geo.Errorf(geo.EInvalid, "%v", err)
	}
	defer f.Close()
	return withDB(ctx, cfg, func(db *data.DB) error {
		store, err := data.NewCaseStore(ctx, db, data.CaseOptions{ContactRetention: cfg.Cases.ContactRetention})
		if err != nil {
			return err
		}
		rep, err := store.ImportHotlineCSV(ctx, f)
		if rep != nil {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			enc.SetEscapeHTML(false)
			_ = enc.Encode(rep)
			fmt.Fprintf(stdout, "cases import: %d imported, %d already there, %d rejected\n", rep.Imported, rep.Skipped, len(rep.Rejected))
		}
		return err
	})
}
