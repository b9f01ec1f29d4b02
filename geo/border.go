package geo

// BorderHit is one area whose current geometry covers a looked-up point:
// Depth is its level's depth in the hierarchy (0 is the top) and Interior
// says whether the point lies in the area's interior rather than on its
// boundary.
type BorderHit struct {
	Area     AreaRef
	Depth    int
	Interior bool
}

// DecideBorder applies the border rule of docs/lookup.md to the areas
// covering one point: the lowest level (greatest depth) wins; among its
// areas one whose interior holds the point beats one whose boundary does;
// then the smaller code (byte order). More than one area at the lowest level
// makes the answer ambiguous, with the others in Alternatives in the same
// order. Areas and Responsible are left empty (not nil) for the caller to
// fill; hits is reordered. With no hits the answer has no grid.
func DecideBorder(hits []BorderHit) LookupResult {
	r := LookupResult{Areas: []AreaRef{}, Responsible: []Responsible{}, Alternatives: []AreaRef{}}
	if len(hits) == 0 {
		return r
	}
	deepest := hits[0].Depth
	for _, h := range hits[1:] {
		deepest = max(deepest, h.Depth)
	}
	cands := hits[:0]
	for _, h := range hits {
		if h.Depth == deepest {
			cands = append(cands, h)
		}
	}
	// Insertion sort: the candidates are one to four areas in practice.
	for i := 1; i < len(cands); i++ {
		for j := i; j > 0 && borderLess(cands[j], cands[j-1]); j-- {
			cands[j], cands[j-1] = cands[j-1], cands[j]
		}
	}
	g := cands[0].Area
	r.Grid = &g
	if len(cands) > 1 {
		r.Ambiguous = true
		r.Alternatives = make([]AreaRef, 0, len(cands)-1)
		for _, c := range cands[1:] {
			r.Alternatives = append(r.Alternatives, c.Area)
		}
	}
	return r
}

func borderLess(a, b BorderHit) bool {
	if a.Interior != b.Interior {
		return a.Interior
	}
	return a.Area.Code < b.Area.Code
}
