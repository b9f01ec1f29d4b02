package geo_test

import (
	"context"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"gridmap/geo"
)

// fakeAddresses is an AddressStore over fixed candidates and street points;
// a point's grid is the one named in grids (none when absent).
type fakeAddresses struct {
	cands  []geo.AddressCandidate
	street []orb.Point
	grids  map[orb.Point]string
}

func (f *fakeAddresses) AddressCandidates(_ context.Context, _ string, n int) ([]geo.AddressCandidate, error) {
	return f.cands[:min(n, len(f.cands))], nil
}

func (f *fakeAddresses) StreetPoints(context.Context, string) ([]orb.Point, error) {
	return f.street, nil
}

func (f *fakeAddresses) LookupPoint(_ context.Context, q geo.LookupQuery) (*geo.LookupResult, error) {
	r := geo.LookupResult{Areas: []geo.AreaRef{}, Responsible: []geo.Responsible{}, Alternatives: []geo.AreaRef{}}
	if code, ok := f.grids[q.Point]; ok {
		r.Grid = &geo.AreaRef{Level: "grid", Code: code}
		r.Areas = []geo.AreaRef{*r.Grid}
	}
	return &r, nil
}

func (f *fakeAddresses) LookupPoints(ctx context.Context, pts []orb.Point, _ *time.Time, h string) ([]geo.LookupResult, error) {
	out := make([]geo.LookupResult, len(pts))
	for i, p := range pts {
		r, _ := f.LookupPoint(ctx, geo.LookupQuery{Point: p, Hierarchy: h})
		out[i] = *r
	}
	return out, nil
}

func cand(code, address, name string, lon, score float64) geo.AddressCandidate {
	return geo.AddressCandidate{Building: geo.BuildingRef{Code: code, Address: address, Name: name, Lon: lon}, Score: score}
}

func TestMatchAddressKinds(t *testing.T) {
	grids := map[orb.Point]string{{1, 0}: "G1", {2, 0}: "G2", {3, 0}: "G2"}
	for _, tc := range []struct {
		name, text string
		limit      int
		store      fakeAddresses
		want       geo.MatchKind
		grid       string // "" for none
		streetGrid []string
	}{
		{name: "the address as typed", text: " 人民路12号3栋 ", store: fakeAddresses{cands: []geo.AddressCandidate{cand("B1", "人民路12号3栋", "", 1, 1), cand("B2", "人民路12号4栋", "", 2, 0.3)}}, want: geo.MatchExact, grid: "G1"},
		{name: "a name as typed", text: "阳光小区二期1栋", store: fakeAddresses{cands: []geo.AddressCandidate{cand("B1", "学院路31号1栋", "阳光小区二期1栋", 2, 1)}}, want: geo.MatchExact, grid: "G2"},
		{name: "normalised", text: "人民路十二号3栋", store: fakeAddresses{cands: []geo.AddressCandidate{cand("B1", "人民路12号3栋", "", 1, 1)}}, want: geo.MatchNormalised, grid: "G1"},
		{name: "two buildings are the query, even with limit 1", text: "丽景苑3栋", limit: 1, store: fakeAddresses{cands: []geo.AddressCandidate{cand("B1", "人民路12号3栋", "丽景苑3栋", 1, 1), cand("B2", "新华路15号3栋", "丽景苑3栋", 2, 1)}}, want: geo.MatchApproximate},
		{name: "a number that does not exist", text: "人民路13号", store: fakeAddresses{cands: []geo.AddressCandidate{cand("B1", "人民路14号", "", 1, 0.196)}}, want: geo.MatchApproximate},
		{name: "a house holding several buildings", text: "人民路12号", store: fakeAddresses{cands: []geo.AddressCandidate{cand("B1", "人民路12号1栋", "", 1, 0.7)}, street: []orb.Point{{1, 0}}}, want: geo.MatchApproximate},
		{name: "a street", text: "人民路", store: fakeAddresses{cands: []geo.AddressCandidate{cand("B1", "人民路4号", "", 3, 0.71)}, street: []orb.Point{{3, 0}, {1, 0}, {2, 0}}}, want: geo.MatchStreet, streetGrid: []string{"G1", "G2"}},
		{name: "a street outside every grid", text: "人民路", store: fakeAddresses{cands: []geo.AddressCandidate{cand("B1", "人民路4号", "", 9, 0.71)}, street: []orb.Point{{9, 0}}}, want: geo.MatchApproximate},
		{name: "nothing", text: "火星大道9999号", store: fakeAddresses{}, want: geo.MatchNone},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.store.grids = grids
			r, err := geo.MatchAddress(context.Background(), &tc.store, tc.text, tc.limit, "")
			if err != nil {
				t.Fatal(err)
			}
			if r.Match != tc.want {
				t.Errorf("match: got %q, want %q", r.Match, tc.want)
			}
			switch {
			case tc.grid == "" && (r.Grid != nil || len(r.Areas) != 0):
				t.Errorf("grid %v, areas %v: want none", r.Grid, r.Areas)
			case tc.grid != "" && (r.Grid == nil || r.Grid.Code != tc.grid):
				t.Errorf("grid %v, want %s", r.Grid, tc.grid)
			}
			var got []string
			for _, g := range r.Grids {
				got = append(got, g.Code)
			}
			if len(got) != len(tc.streetGrid) || len(got) > 0 && (got[0] != tc.streetGrid[0] || got[len(got)-1] != tc.streetGrid[len(got)-1]) {
				t.Errorf("grids %v, want %v", got, tc.streetGrid)
			}
			if tc.limit > 0 && len(r.Candidates) > tc.limit {
				t.Errorf("%d candidates, want at most %d", len(r.Candidates), tc.limit)
			}
		})
	}
	if _, err := geo.MatchAddress(context.Background(), &fakeAddresses{}, "，。", 5, ""); geo.ErrorCode(err) != geo.EInvalid {
		t.Errorf("punctuation only: got %v, want %s", err, geo.EInvalid)
	}
}
