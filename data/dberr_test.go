package data_test

import (
	"context"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/geo"
)

// TestDBErrorSaysWhatToFixNeverPostgresText pins dbErr passing PostgreSQL's
// message to clients and 57014 answered as internal: each class of database
// error gets its code and a message of ours.
func TestDBErrorSaysWhatToFixNeverPostgresText(t *testing.T) {
	db, _ := dbtest.New(t, "data_dberr")
	ctx := context.Background()
	if _, err := db.Pool.Exec(ctx, `INSERT INTO level (key, hierarchy, depth, name_zh, name_en) VALUES ('x_top', 'x', 0, '顶', 'top')`); err != nil {
		t.Fatal(err)
	}
	query := func(sql string, args ...any) error {
		_, err := db.Pool.Exec(ctx, sql, args...)
		return data.DBError("test", err)
	}
	for _, tc := range []struct {
		name, code, msg string
		err             error
	}{
		{"NUL in text 22021", geo.EInvalid, "valid UTF-8 without NUL", query(`SELECT $1::text`, "a\x00b")},
		{"unique violation", geo.EConflict, "a level with this key already exists",
			query(`INSERT INTO level (key, hierarchy, depth, name_zh, name_en) VALUES ('x_top', 'x', 1, '顶', 'top')`)},
		{"check violation", geo.EInvalid, "a value is outside what is allowed",
			query(`INSERT INTO level (key, hierarchy, depth, name_zh, name_en) VALUES ('x_neg', 'x', -1, '负', 'neg')`)},
		{"statement timeout 57014", geo.ETimeout, "took too long",
			func() error {
				tx, err := db.Pool.Begin(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer tx.Rollback(ctx)
				tx.Exec(ctx, `SET LOCAL statement_timeout = 10`)
				_, err = tx.Exec(ctx, `SELECT pg_sleep(1)`)
				return data.DBError("test", err)
			}()},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := geo.ErrorCode(tc.err); got != tc.code {
				t.Fatalf("code %s (%v), want %s", got, tc.err, tc.code)
			}
			if m := geo.ErrorMessage(tc.err); !strings.Contains(m, tc.msg) || strings.Contains(m, "SQLSTATE") || strings.Contains(m, "violates") {
				t.Errorf("message %q, want ours with %q", m, tc.msg)
			}
		})
	}
	t.Run("connection refused is unavailable", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		l.Close() // nothing listens there now
		u, _ := url.Parse(dbtest.URL(t))
		u.Host = addr
		cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		_, err = data.Open(cctx, data.Config{URL: u.String()})
		err = data.DBError("test", err)
		if geo.ErrorCode(err) != geo.EUnavailable || strings.Contains(geo.ErrorMessage(err), addr) {
			t.Errorf("got %v (message %q), want unavailable without the address", err, geo.ErrorMessage(err))
		}
	})
}
