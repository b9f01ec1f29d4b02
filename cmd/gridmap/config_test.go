package main

import (
	"strings"
	"testing"

	"gridmap/geo"
)

// TestConfigReadsSmallCountRule: GRIDMAP_MIN_PUBLIC_COUNT and
// GRIDMAP_PUBLIC_BUILDING_COUNTS are read once, here, into Config.Counts.
func TestConfigReadsSmallCountRule(t *testing.T) {
	for _, c := range []struct {
		name, min, perBuilding string
		want                   geo.CountPolicy
		wantErr                string
	}{
		{"defaults: 5, per grid only", "", "", geo.CountPolicy{MinPublicCount: 5}, ""},
		{"a higher threshold", "10", "", geo.CountPolicy{MinPublicCount: 10}, ""},
		{"per building too", "", "1", geo.CountPolicy{MinPublicCount: 5, PublicBuildingCounts: true}, ""},
		{"zero is refused", "0", "", geo.CountPolicy{}, "GRIDMAP_MIN_PUBLIC_COUNT must be a whole number >= 1"},
		{"text is refused", "five", "", geo.CountPolicy{}, "GRIDMAP_MIN_PUBLIC_COUNT must be a whole number >= 1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Setenv("GRIDMAP_MIN_PUBLIC_COUNT", c.min)
			t.Setenv("GRIDMAP_PUBLIC_BUILDING_COUNTS", c.perBuilding)
			cfg, err := configFromEnv(DefaultConfig())
			if c.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), c.wantErr) {
					t.Fatalf("got error %v, want %q", err, c.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cfg.Counts != c.want {
				t.Errorf("got %+v, want %+v", cfg.Counts, c.want)
			}
		})
	}
}
