package geo

import (
	"cmp"
	"context"
	"slices"
	"strings"
	"time"

	"github.com/paulmach/orb"
)

// AddressSimilarity is the one threshold of fuzzy address matching: a
// building whose normalised address shares fewer trigrams than this with the
// query (pg_trgm similarity, 0–1) is not a candidate at all. Measured on the
// Shanghai addresses: a swapped house number (银城中路68号/86号) has 0.33, a
// street alone 0.44, an unrelated address sharing only digits and 路
// (富城路99号/不存在路9999号) 0.23. A fuzzy candidate's Score is 0.49 times
// its similarity, so fuzzy scores lie in [0.147, 0.49).
const AddressSimilarity = 0.3

// MatchKind says how an address query matched (docs/lookup.md).
type MatchKind string

const (
	// MatchExact: one building's address or name is the query as typed.
	MatchExact MatchKind = "exact"
	// MatchNormalised: one building's normalised address (or its name) is
	// the normalised query (十二号 = 12号, a city prefix dropped…).
	MatchNormalised MatchKind = "normalised"
	// MatchApproximate: buildings resemble the query, none is it (or
	// several are): the candidates are suggestions, no grid is answered.
	MatchApproximate MatchKind = "approximate"
	// MatchStreet: the query is a street or compound name without a
	// number; Grids lists the grids its buildings are in.
	MatchStreet MatchKind = "street"
	// MatchNone: nothing resembles the query.
	MatchNone MatchKind = "none"
)

// StreetGrid is one grid a street (or compound) crosses: the grid and how
// many of the street's buildings it holds.
type StreetGrid struct {
	AreaRef
	Buildings int `json:"buildings"`
}

// AddressStore is what MatchAddress needs from a store of buildings: the
// ranked candidates for a normalised query, the points of the buildings on a
// street, and point lookups.
type AddressStore interface {
	// AddressCandidates ranks the buildings for the normalised query norm
	// and returns the best n: Score 1 when the normalised address or the
	// name is norm; 0.5 + 0.49·similarity when it contains norm; 0.49·similarity
	// when the similarity of the normalised address is at least
	// AddressSimilarity; by score, then length of the normalised address in
	// characters, then code.
	AddressCandidates(ctx context.Context, norm string, n int) ([]AddressCandidate, error)
	// StreetPoints returns the points (EPSG:4326) of the buildings whose
	// normalised address or name is norm followed by an ASCII digit, in code
	// order.
	StreetPoints(ctx context.Context, norm string) ([]orb.Point, error)
	LookupPoint(ctx context.Context, q LookupQuery) (*LookupResult, error)
	LookupPoints(ctx context.Context, points []orb.Point, at *time.Time, hierarchy string) ([]LookupResult, error)
}

// DefaultAddressLimit is how many candidates an address lookup returns when
// the caller does not say (or asks for more than MaxAddressLimit).
const (
	DefaultAddressLimit = 10
	MaxAddressLimit     = 50
)

// MatchAddress answers an address query: the one rule deciding what an
// address lookup answers, used by every store (docs/lookup.md). Only an exact
// or normalised match, one building, answers with its grid and the people
// responsible; an approximate match answers candidates only; a street or
// compound name without a number lists the grids its buildings are in.
func MatchAddress(ctx context.Context, st AddressStore, text string, limit int, hierarchy string) (*AddressResult, error) {
	norm := NormalizeAddress(text)
	if norm == "" {
		return nil, Errorf(EInvalid, "address must contain letters or digits, got %q", text)
	}
	if limit <= 0 || limit > MaxAddressLimit {
		limit = DefaultAddressLimit
	}
	// One more than asked, at least two: whether a full match is the only one.
	cands, err := st.AddressCandidates(ctx, norm, max(limit+1, 2))
	if err != nil {
		return nil, err
	}
	res := &AddressResult{Match: MatchNone, Candidates: cands[:min(limit, len(cands))], Grids: []StreetGrid{},
		LookupResult: LookupResult{Areas: []AreaRef{}, Responsible: []Responsible{}, Alternatives: []AreaRef{}}}
	if len(cands) == 0 {
		return res, nil
	}
	if cands[0].Score == 1 && (len(cands) == 1 || cands[1].Score < 1) {
		best := cands[0].Building
		res.Match = MatchNormalised
		if typed := strings.TrimSpace(text); typed == best.Address || typed == best.Name {
			res.Match = MatchExact
		}
		lr, err := st.LookupPoint(ctx, LookupQuery{Point: orb.Point{best.Lon, best.Lat}, Hierarchy: hierarchy})
		if err != nil {
			return nil, err
		}
		res.LookupResult = *lr
		return res, nil
	}
	res.Match = MatchApproximate
	if !streetQuery(norm) {
		return res, nil
	}
	pts, err := st.StreetPoints(ctx, norm)
	if err != nil || len(pts) == 0 {
		return res, err
	}
	lrs, err := st.LookupPoints(ctx, pts, nil, hierarchy)
	if err != nil {
		return nil, err
	}
	count := map[string]int{}
	for _, lr := range lrs {
		if lr.Grid == nil {
			continue
		}
		if count[lr.Grid.Code] == 0 {
			res.Grids = append(res.Grids, StreetGrid{AreaRef: *lr.Grid})
		}
		count[lr.Grid.Code]++
	}
	if len(res.Grids) == 0 {
		return res, nil // the street lies outside every grid
	}
	for i := range res.Grids {
		res.Grids[i].Buildings = count[res.Grids[i].Code]
	}
	slices.SortFunc(res.Grids, func(a, b StreetGrid) int { return cmp.Compare(a.Code, b.Code) })
	res.Match = MatchStreet
	return res, nil
}

// streetQuery reports whether a normalised query may name a street or a
// compound without a number: it holds no ASCII digit.
func streetQuery(norm string) bool {
	return !strings.ContainsAny(norm, "0123456789")
}

// StreetOf reports whether s (a normalised address or a name) is on the
// street or in the compound norm: norm followed by an ASCII digit.
func StreetOf(s, norm string) bool {
	return len(s) > len(norm) && strings.HasPrefix(s, norm) && s[len(norm)] >= '0' && s[len(norm)] <= '9'
}
