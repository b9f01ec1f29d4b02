package demo

import (
	"reflect"
	"testing"
	"time"
)

func TestCasePlansDeterministicBySeed(t *testing.T) {
	ds, err := Generate(Options{})
	if err != nil {
		t.Fatal(err)
	}
	end := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	a, b := ds.CasePlans(7, 500, end), ds.CasePlans(7, 500, end)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("the same seed gave different plans")
	}
	if c := ds.CasePlans(8, 500, end); reflect.DeepEqual(a, c) {
		t.Fatal("another seed gave the same plans")
	}
	fates := map[CaseFate]int{}
	for i, p := range a {
		fates[p.Fate]++
		if p.At.After(end) || p.At.Before(end.AddDate(-1, 0, -2)) {
			t.Errorf("plan %d at %v, outside the year before %v", i, p.At, end)
		}
		if i > 0 && p.At.Before(a[i-1].At) {
			t.Errorf("plans not in time order at %d", i)
		}
		if (p.Fate == FateRated || p.Fate == FateLate) != (p.Rating > 0) {
			t.Errorf("plan %d: fate %s rating %d", i, p.Fate, p.Rating)
		}
	}
	for _, f := range []CaseFate{FateRated, FateClosed, FateLate, FateRejected, FateOpen} {
		if fates[f] == 0 {
			t.Errorf("no %s case among 500: %v", f, fates)
		}
	}
}
