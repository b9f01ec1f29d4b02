package geo

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

// marshal is v as JSON without HTML escaping (as the API writes it).
func marshal(v any) string {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.Encode(v)
	return strings.TrimSpace(b.String())
}

func TestPublicCount(t *testing.T) {
	for _, c := range []struct {
		name   string
		n, min int
		want   string
	}{
		{"one elderly resident alone is suppressed", 1, 5, `"<5"`},
		{"zero is suppressed too (nobody identifies)", 0, 5, `"<5"`},
		{"just below the threshold", 4, 5, `"<5"`},
		{"at the threshold is exact", 5, 5, `5`},
		{"above is exact", 37, 5, `37`},
		{"another threshold", 9, 10, `"<10"`},
		{"min below 1 shows everything", 1, 0, `1`},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := marshal(PublicCount(c.n, c.min))
			if got != c.want {
				t.Errorf("PublicCount(%d, %d): got %s, want %s", c.n, c.min, got, c.want)
			}
			var back Count
			if err := json.Unmarshal([]byte(got), &back); err != nil || back != PublicCount(c.n, c.min) {
				t.Errorf("round trip of %s: got %+v, %v", got, back, err)
			}
		})
	}
}

func TestCountPolicyShowsVulnerableCountsOnlyToStaffAndPerGrid(t *testing.T) {
	c := NoticeCounts{PartyMembers: 2, ElderlyAlone: 1, Disabled: 7, LowIncome: 0}
	for _, tc := range []struct {
		name        string
		p           CountPolicy
		aud         Audience
		perBuilding bool
		want        string
	}{
		{"public grid: small sensitive counts suppressed, party members exact", CountPolicy{}, Public, false,
			`{"party_members":2,"elderly_alone":"<5","disabled":7,"low_income":"<5"}`},
		{"public building: sensitive counts not public", CountPolicy{}, Public, true, `{"party_members":2}`},
		{"public building when enabled: with the threshold", CountPolicy{PublicBuildingCounts: true, MinPublicCount: 8}, Public, true,
			`{"party_members":2,"elderly_alone":"<8","disabled":"<8","low_income":"<8"}`},
		{"staff building: exact", CountPolicy{}, Staff, true, `{"party_members":2,"elderly_alone":1,"disabled":7,"low_income":0}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := marshal(tc.p.Show(c, tc.aud, tc.perBuilding))
			if got != tc.want {
				t.Errorf("got %s, want %s", got, tc.want)
			}
		})
	}
}

// TestSensitiveGroupAddedLaterIsSuppressed: the rule follows CountGroups'
// flag, not a list per surface, so a group added later as sensitive is
// suppressed with no other change.
func TestSensitiveGroupAddedLaterIsSuppressed(t *testing.T) {
	saved := CountGroups
	t.Cleanup(func() { CountGroups = saved })
	CountGroups = append(append([]CountGroup(nil), saved...),
		CountGroup{Key: "later_group", Sensitive: true, field: func(c *NoticeCounts) *int { return &c.PartyMembers }})
	s := (CountPolicy{}).Show(NoticeCounts{PartyMembers: 3}, Public, false)
	if got, ok := s.Get("later_group"); !ok || !got.Suppressed() {
		t.Errorf("public grid: later_group = %v (shown %v), want suppressed", got, ok)
	}
	perBuilding := CountPolicy{}.Show(NoticeCounts{PartyMembers: 3}, Public, true)
	if _, ok := perBuilding.Get("later_group"); ok {
		t.Errorf("public building: later_group is shown, want it absent")
	}
}
