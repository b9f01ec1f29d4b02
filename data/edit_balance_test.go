package data_test

import (
	"context"
	"encoding/json"
	"testing"

	"gridmap/data"
	"gridmap/data/dbtest"
	"gridmap/geo"
)

// setTarget gives the grids of one community a households range (residents: anything).
func setTarget(t *testing.T, db *data.DB, community int64, min, max int) {
	t.Helper()
	if _, err := db.Pool.Exec(context.Background(), `
INSERT INTO balance_target (level, scope_area_id, households_min, households_max, residents_min, residents_max)
VALUES ('grid', $1, $2, $3, 0, 1000000)
ON CONFLICT (level, scope_area_id) DO UPDATE SET households_min = $2, households_max = $3`, community, min, max); err != nil {
		t.Fatal(err)
	}
}

func gridHouseholds(t *testing.T, db *data.DB, id int64) int {
	t.Helper()
	var n int
	if err := db.Pool.QueryRow(context.Background(), `SELECT coalesce(sum(households), 0)::int FROM building WHERE grid_id = $1`, id).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func findBalance(bs []geo.BalanceChange, code string) *geo.BalanceChange {
	for i := range bs {
		if bs[i].Code == code {
			return &bs[i]
		}
	}
	return nil
}

func TestEditPreviewBalance(t *testing.T) {
	db, _ := dbtest.New(t, "data_edit_balance")
	ctx := context.Background()
	loadDemo(t, db)
	ed := data.NewEditor(db)
	ps := neighbours(t, db)

	t.Run("a border move that takes a grid out of its target warns and still validates", func(t *testing.T) {
		var req geo.EditRequest
		var pv *geo.EditPreview
		var p pair
		for _, q := range ps {
			req = geo.EditRequest{Op: geo.OpMoveBorder, Areas: []geo.VersionRef{q.a, q.b}, Line: q.line, Author: "test", Reason: "road moved"}
			var err error
			if pv, err = ed.Preview(ctx, req); err == nil && pv.Valid && len(pv.Moves) > 0 && pv.Moves[0].Households > 0 {
				p = q
				break
			}
			pv = nil
		}
		if pv == nil {
			t.Fatal("no neighbouring pair whose border move validates and moves households")
		}
		from := pv.Moves[0].From
		hh := gridHouseholds(t, db, from.ID)
		// The losing grid is exactly at its target now; the move takes it below.
		setTarget(t, db, p.parent, hh, hh)
		pv, err := ed.Preview(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		if !pv.Valid {
			t.Fatalf("preview invalid: %+v", pv.Errors)
		}
		if !hasIssue(pv.Warnings, "balance", from.Code) {
			t.Fatalf("warnings %+v, want a balance warning naming %s", pv.Warnings, from.Code)
		}
		b := findBalance(pv.Balance, from.Code)
		if b == nil || b.HouseholdsBefore != hh || b.HouseholdsAfter >= hh || !b.InRangeBefore || b.InRangeAfter || b.Min != hh || b.Max != hh {
			t.Fatalf("balance %+v, want %s from %d (in range) to fewer (out of range)", pv.Balance, from.Code, hh)
		}
		if len(pv.Moved) == 0 || !jsonHasFeatures(pv.Moved) {
			t.Errorf("moved buildings %s, want features", pv.Moved)
		}
	})

	t.Run("a merge above the target warns and still validates", func(t *testing.T) {
		p := ps[0]
		a, b := gridHouseholds(t, db, p.a.ID), gridHouseholds(t, db, p.b.ID)
		if a == 0 || b == 0 {
			t.Skipf("grids %s and %s hold %d and %d households", p.aCode, p.bCode, a, b)
		}
		setTarget(t, db, p.parent, 0, max(a, b))
		pv, err := ed.Preview(ctx, geo.EditRequest{Op: geo.OpMerge, Areas: []geo.VersionRef{{ID: p.a.ID, Version: currentVersion(t, db, p.a.ID)}, {ID: p.b.ID, Version: currentVersion(t, db, p.b.ID)}}, Author: "test", Reason: "merge"})
		if err != nil {
			t.Fatal(err)
		}
		if !pv.Valid {
			t.Fatalf("merge preview invalid: %+v", pv.Errors)
		}
		if !hasIssue(pv.Warnings, "balance", p.aCode) {
			t.Fatalf("warnings %+v, want a balance warning naming %s", pv.Warnings, p.aCode)
		}
		got := findBalance(pv.Balance, p.aCode)
		if got == nil || got.HouseholdsBefore != a || got.HouseholdsAfter != a+b || got.InRangeAfter {
			t.Fatalf("balance %+v, want %s %d → %d out of range", pv.Balance, p.aCode, a, a+b)
		}
		if r := findBalance(pv.Balance, p.bCode); r == nil || !r.Retired || r.HouseholdsAfter != 0 {
			t.Errorf("balance %+v, want %s retired with 0 households", pv.Balance, p.bCode)
		}
	})
}

func jsonHasFeatures(raw []byte) bool {
	var fc struct {
		Features []any `json:"features"`
	}
	return json.Unmarshal(raw, &fc) == nil && len(fc.Features) > 0
}
