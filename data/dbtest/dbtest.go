// Package dbtest gives each test package its own fresh, migrated database on
// the PostGIS cluster that `make test` starts (GRIDMAP_TEST_DATABASE_URL).
package dbtest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"regexp"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"gridmap/data"
)

// URL returns the server URL tests use; it fails the test when unset, since a
// test that claims something about PostGIS must run against PostGIS.
func URL(t testing.TB) string {
	t.Helper()
	u := os.Getenv("GRIDMAP_TEST_DATABASE_URL")
	if u == "" {
		t.Fatal("GRIDMAP_TEST_DATABASE_URL is not set: run the tests with `make test`, which starts PostGIS")
	}
	return u
}

var safeName = regexp.MustCompile(`^[a-z0-9_]+$`)

// New drops and recreates database gridmap_test_<name>, migrates it and
// returns it open; the pool closes when the test ends. It returns the
// database's URL too, for tests that start servers of their own.
func New(t testing.TB, name string) (*data.DB, string) {
	t.Helper()
	db, u, err := Open(URL(t), name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db, u
}

// NewWithICU is New on a database whose default collation is the ICU
// locale icu (e.g. "en-US"), not the cluster's: for claims that must not
// depend on collation.
func NewWithICU(t testing.TB, name, icu string) (*data.DB, string) {
	t.Helper()
	db, u, err := open(URL(t), name, "TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE "+quoteLiteral(icu)+" LOCALE 'C.UTF-8'")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db, u
}

var safeLocale = regexp.MustCompile(`^[A-Za-z0-9_.@-]+$`)

func quoteLiteral(s string) string {
	if !safeLocale.MatchString(s) {
		panic("dbtest: unsafe locale " + s)
	}
	return "'" + s + "'"
}

// Open is New for TestMain: base is the server URL; the caller closes the DB.
func Open(base, name string) (*data.DB, string, error) { return open(base, name, "") }

func open(base, name, options string) (*data.DB, string, error) {
	if base == "" {
		return nil, "", fmt.Errorf("GRIDMAP_TEST_DATABASE_URL is not set: run the tests with `make test`, which starts PostGIS")
	}
	if !safeName.MatchString(name) {
		return nil, "", fmt.Errorf("dbtest: name %q must match %s", name, safeName)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		return nil, "", fmt.Errorf("dbtest: connect %s: %w", base, err)
	}
	defer admin.Close(ctx)
	db := "gridmap_test_" + name
	ident := pgx.Identifier{db}.Sanitize()
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)"); err != nil {
		return nil, "", fmt.Errorf("dbtest: drop: %w", err)
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+ident+" "+options); err != nil {
		return nil, "", fmt.Errorf("dbtest: create: %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		return nil, "", fmt.Errorf("dbtest: parse %s: %w", base, err)
	}
	u.Path = "/" + db
	d, err := data.Open(ctx, data.Config{URL: u.String(), StatementTimeout: time.Minute})
	if err != nil {
		return nil, "", fmt.Errorf("dbtest: open: %w", err)
	}
	if _, err := d.Migrate(ctx); err != nil {
		d.Close()
		return nil, "", fmt.Errorf("dbtest: migrate: %w", err)
	}
	return d, u.String(), nil
}
