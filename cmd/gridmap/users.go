package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"gridmap/data"
	"gridmap/geo"
)

// cmdUser: gridmap user add NAME --role R [--scope CODE]; the password comes
// from GRIDMAP_PASSWORD or the first line of standard input, never a flag
// (flags end up in shell history and process lists).
func cmdUser(ctx context.Context, cfg Config, args []string, stdout io.Writer) error {
	if len(args) < 2 || args[0] != "add" {
		return geo.Errorf(geo.EInvalid, "usage: gridmap user add NAME --role admin|editor|viewer [--scope AREA_CODE]")
	}
	name := args[1]
	fs := flag.NewFlagSet("user add", flag.ContinueOnError)
	role := fs.String("role", "", "admin, editor or viewer")
	scope := fs.String("scope", "", "code of the area whose subtree an editor or viewer may touch")
	if err := fs.Parse(args[2:]); err != nil {
		return geo.Errorf(geo.EInvalid, "%v", err)
	}
	password := os.Getenv("GRIDMAP_PASSWORD")
	if password == "" {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return geo.Errorf(geo.EInvalid, "give the password in GRIDMAP_PASSWORD or on standard input")
		}
		password = strings.TrimRight(line, "\r\n")
	}
	return withDB(ctx, cfg, func(db *data.DB) error {
		u, err := data.NewAuthService(db).CreateUser(ctx, geo.NewUser{Name: name, Password: password, Role: geo.UserRole(*role), ScopeCode: *scope})
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "user %s (%s) created with id %d\n", u.Name, u.Role, u.ID)
		return nil
	})
}

// ensureFirstAdmin creates the admin named in GRIDMAP_ADMIN_USER when the
// database has no accounts yet.
func ensureFirstAdmin(ctx context.Context, cfg Config, db *data.DB, log *slog.Logger) error {
	if cfg.AdminUser == "" {
		return nil
	}
	as := data.NewAuthService(db)
	n, err := as.Users(ctx)
	if err != nil || n > 0 {
		return err
	}
	if _, err := as.CreateUser(ctx, geo.NewUser{Name: cfg.AdminUser, Password: cfg.AdminPassword, Role: geo.UserAdmin}); err != nil {
		// Processes started together race to create it: the account's unique
		// name lets one win, and the others find it there.
		if geo.ErrorCode(err) == geo.EConflict {
			if n, nerr := as.Users(ctx); nerr == nil && n > 0 {
				return nil
			}
		}
		return fmt.Errorf("first admin from GRIDMAP_ADMIN_USER: %w", err)
	}
	log.Info("created the first admin", "name", cfg.AdminUser)
	return nil
}
