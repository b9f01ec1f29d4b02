package main

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"testing"

	"gridmap/data"
	"gridmap/data/dbtest"
)

// TestFirstAdminRace starts the first-admin step of several processes at
// once on a database without accounts, as a load balancer's processes
// started together do: every one must succeed, and there is one admin.
func TestFirstAdminRace(t *testing.T) {
	db, _ := dbtest.New(t, "cli_first_admin_race")
	ctx := context.Background()
	cfg := DefaultConfig()
	cfg.AdminUser, cfg.AdminPassword = "admin", "correct horse battery"
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	const n = 8
	errs := make([]error, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range errs {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			errs[i] = ensureFirstAdmin(ctx, cfg, db, quiet)
		}()
	}
	start.Done()
	done.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("process %d: %v", i, err)
		}
	}
	users, err := data.NewAuthService(db).Users(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if users != 1 {
		t.Errorf("%d accounts, want the one admin", users)
	}
}
