package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"

	"gridmap/calendar"
	"gridmap/data"
	"gridmap/geo"
)

// cmdCases: gridmap cases import FILE.csv — a hotline (12345) export;
// gridmap cases holidays FILE.txt — working-calendar days (calendar/holidays format).
func cmdCases(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	if len(args) == 2 && args[0] == "holidays" {
		return cmdCaseHolidays(ctx, cfg, args[1], stdout)
	}
	if len(args) != 2 || args[0] != "import" {
		return geo.Errorf(geo.EInvalid, "usage: gridmap cases import FILE.csv (columns: ticket,received_at,category,lon,lat,crs,address,description,phone) | gridmap cases holidays FILE.txt")
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

func cmdCaseHolidays(ctx context.Context, cfg Config, path string, stdout io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return geo.Errorf(geo.EInvalid, "%v", err)
	}
	defer f.Close()
	days, err := calendar.ParseDays(f)
	if err != nil {
		return geo.Errorf(geo.EInvalid, "%s: %v", path, err)
	}
	return withDB(ctx, cfg, func(db *data.DB) error {
		store, err := data.NewCaseStore(ctx, db, data.CaseOptions{})
		if err != nil {
			return err
		}
		// The command line is the operator: it acts as an admin.
		if err := store.AddHolidayDays(ctx, &geo.User{Name: "cli", Role: geo.UserAdmin}, days); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "cases holidays: %d days stored; running servers use them after their next start\n", len(days))
		return nil
	})
}
