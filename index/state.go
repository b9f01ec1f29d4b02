package index

import (
	"bytes"
	"cmp"
	"encoding/json"
	"math"
	"slices"
	"sync/atomic"
	"time"

	"github.com/paulmach/orb"

	"gridmap/geo"
)

// state is one immutable version of the index. Readers load it through an
// atomic pointer and never lock; every change builds a new state, sharing the
// prepared shapes of the areas it did not change.
type state struct {
	levels map[string]geo.Level // by key
	areas  map[int64]*area      // every area, retired ones too (they can be parents in a chain)
	slots  []slot               // the areas a lookup can answer with
	hiers  map[string]*hierIndex
	day    int32 // the China date (yyyymmdd) slot.resp holds the duties of
	// answers holds, per slot, the encoded answer for points covered by
	// that area alone, filled on first use (see appendLookupJSON).
	answers []atomic.Pointer[[]byte]
}

// area is an area as loaded. It is never changed once built.
type area struct {
	ref     geo.AreaRef
	parent  int64
	retired bool
	shape   *shape // the current geometry prepared; nil when there is none
	duties  []duty // the area's own duties (not yet ended when loaded)
}

// duty is the public view of a duty with the dates it is in force, both
// ends included, as yyyymmdd numbers (to is math.MaxInt32 when open).
type duty struct {
	id       int64
	from, to int32
	public   geo.Responsible
}

func (d *duty) inForce(day int32) bool { return d.from <= day && day <= d.to }

// slot is an area a lookup can answer with: not retired, with a current
// geometry and a level of a known hierarchy.
type slot struct {
	area  *area
	depth int
	chain []geo.AreaRef // from the top of the hierarchy down to the area
	// cands are the duties that can make up the responsible list: the area's
	// own and its ancestors' police officers, in display order. They point
	// into the areas' duties.
	cands []*duty
	resp  []geo.Responsible // cands in force on state.day
}

// hierIndex holds one hierarchy's levels, deepest first.
type hierIndex struct {
	levels []levelIndex
}

type levelIndex struct {
	depth int
	tree  *rtree
	slots []int32 // tree item → index into state.slots
}

// civilDay is the China Standard Time date of t as yyyymmdd.
func civilDay(t time.Time) int32 {
	y, m, d := t.In(chinaTime).Date()
	return int32(y*10000 + int(m)*100 + d)
}

// dateDay is yyyymmdd of a date stored as 00:00 UTC.
func dateDay(t time.Time) int32 {
	y, m, d := t.UTC().Date()
	return int32(y*10000 + int(m)*100 + d)
}

// chinaTime is the zone of duty dates and of "today" (UTC+8, no DST).
var chinaTime = time.FixedZone("CST", 8*3600)

// newArea prepares one loaded area. Its duties are added by the caller.
func newArea(a geo.SnapshotArea) *area {
	out := &area{ref: geo.AreaRef{ID: a.ID, Level: a.Level, Code: a.Code, Name: a.Name}, parent: a.ParentID, retired: a.RetiredAt != nil}
	if a.Geometry != nil {
		out.shape = newShape(a.Geometry)
	}
	return out
}

func newDuty(d geo.SnapshotDuty) duty {
	to := int32(math.MaxInt32)
	if d.ValidTo != nil {
		to = dateDay(*d.ValidTo)
	}
	return duty{id: d.ID, from: dateDay(d.ValidFrom), to: to, public: d.Public}
}

// applySnapshot returns the areas of prev (nil: none) with the areas of snap
// replacing theirs. ids are the areas snap was asked for (nil: all of them,
// so prev is dropped); an asked-for id that snap lacks no longer exists.
func applySnapshot(prev map[int64]*area, snap *geo.Snapshot, ids []int64) map[int64]*area {
	areas := make(map[int64]*area, len(prev)+len(snap.Areas))
	if ids != nil {
		for id, a := range prev {
			areas[id] = a
		}
		for _, id := range ids {
			delete(areas, id)
		}
	}
	fresh := make(map[int64]*area, len(snap.Areas))
	for _, a := range snap.Areas {
		na := newArea(a)
		areas[a.ID] = na
		fresh[a.ID] = na
	}
	count := map[int64]int{}
	for _, d := range snap.Duties {
		count[d.AreaID]++
	}
	for _, d := range snap.Duties {
		if a := fresh[d.AreaID]; a != nil {
			if a.duties == nil {
				a.duties = make([]duty, 0, count[d.AreaID])
			}
			a.duties = append(a.duties, newDuty(d))
		}
	}
	return areas
}

// roleOrder is the display order of roles (geo.Roles); unknown roles last.
var roleOrder = func() map[geo.Role]int {
	m := map[geo.Role]int{}
	for i, r := range geo.Roles {
		m[r] = i
	}
	return m
}()

func roleRank(r geo.Role) int {
	if i, ok := roleOrder[r]; ok {
		return i
	}
	return len(geo.Roles)
}

// compareDuties is the display order of responsible lists: role, then the
// public name, then the duty's id (data.responsibleFor sorts the same way).
func compareDuties(a, b *duty) int {
	if c := cmp.Compare(roleRank(a.public.Role), roleRank(b.public.Role)); c != 0 {
		return c
	}
	if c := cmp.Compare(a.public.Name, b.public.Name); c != 0 {
		return c
	}
	return cmp.Compare(a.id, b.id)
}

// maxChain bounds parent walks, as data's chains do.
const maxChain = 64

// buildState derives everything lookups need from the levels and areas.
func buildState(levels []geo.Level, areas map[int64]*area, day int32) *state {
	st := &state{levels: make(map[string]geo.Level, len(levels)), areas: areas, hiers: map[string]*hierIndex{}, day: day}
	for _, l := range levels {
		st.levels[l.Key] = l
	}
	ids := make([]int64, 0, len(areas))
	for id, a := range areas {
		if _, ok := st.levels[a.ref.Level]; ok && !a.retired && a.shape != nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	st.slots = make([]slot, len(ids))
	st.answers = make([]atomic.Pointer[[]byte], len(ids))
	type levelKey struct {
		hierarchy string
		depth     int
	}
	byLevel := map[levelKey][]int32{}
	for i, id := range ids {
		a := areas[id]
		l := st.levels[a.ref.Level]
		s := &st.slots[i]
		s.area, s.depth = a, l.Depth
		s.chain, s.cands = st.ancestry(a)
		s.resp = responsibleOn(s.cands, day)
		k := levelKey{l.Hierarchy, l.Depth}
		byLevel[k] = append(byLevel[k], int32(i))
	}
	for k, sl := range byLevel {
		boxes := make([]orb.Bound, len(sl))
		for i, si := range sl {
			boxes[i] = st.slots[si].area.shape.box
		}
		h := st.hiers[k.hierarchy]
		if h == nil {
			h = &hierIndex{}
			st.hiers[k.hierarchy] = h
		}
		h.levels = append(h.levels, levelIndex{depth: k.depth, tree: newRTree(boxes), slots: sl})
	}
	for _, h := range st.hiers {
		slices.SortFunc(h.levels, func(a, b levelIndex) int { return cmp.Compare(b.depth, a.depth) })
	}
	return st
}

// ancestry returns a's chain (top first, a last) and the duties that can be
// responsible for it: its own, and its ancestors' police officers, sorted.
func (st *state) ancestry(a *area) ([]geo.AreaRef, []*duty) {
	var chain []geo.AreaRef
	var cands []*duty
	for i := range a.duties {
		cands = append(cands, &a.duties[i])
	}
	for cur := a; cur != nil && len(chain) < maxChain; {
		chain = append(chain, cur.ref)
		if cur != a {
			for i := range cur.duties {
				if cur.duties[i].public.Role == geo.RolePolice {
					cands = append(cands, &cur.duties[i])
				}
			}
		}
		if cur.parent == 0 {
			break
		}
		cur = st.areas[cur.parent]
	}
	slices.Reverse(chain)
	slices.SortFunc(cands, compareDuties)
	return chain, cands
}

// withDay returns a state like st whose responsible lists are for day; it
// shares everything else.
func (st *state) withDay(day int32) *state {
	next := *st
	next.day = day
	next.slots = make([]slot, len(st.slots))
	copy(next.slots, st.slots)
	next.answers = make([]atomic.Pointer[[]byte], len(st.slots))
	for i := range next.slots {
		next.slots[i].resp = responsibleOn(next.slots[i].cands, day)
	}
	// The level indexes refer to slots by position, which is unchanged.
	return &next
}

// responsibleOn returns the public view of the duties in force on day, in
// order; never nil.
func responsibleOn(cands []*duty, day int32) []geo.Responsible {
	n := 0
	for _, d := range cands {
		if d.inForce(day) {
			n++
		}
	}
	out := make([]geo.Responsible, 0, n)
	for _, d := range cands {
		if d.inForce(day) {
			out = append(out, d.public)
		}
	}
	return out
}

// lookup answers one point (EPSG:4326) in one hierarchy on day. The
// answer's Areas and Responsible slices are shared with other answers and
// must not be changed.
func (st *state) lookup(p orb.Point, hierarchy string, day int32) geo.LookupResult {
	var (
		hitBuf  [4]geo.BorderHit
		slotBuf [4]int32
	)
	hits, slots := st.covering(p, hierarchy, hitBuf[:0], slotBuf[:0])
	return st.answer(hits, slots, day)
}

// noAnswer is the encoded answer for a point no area covers.
var noAnswer = func() []byte {
	r := geo.DecideBorder(nil)
	return encodeResult(nil, &r)
}()

// lookupJSON returns the answer for p as encoding/json writes a
// geo.LookupResult without HTML escaping (and without a newline). A point
// covered by one area only gets the same answer as every other such point
// of that area, so that answer is encoded once per state and day. The slice
// is shared with other callers: do not change it.
func (st *state) lookupJSON(p orb.Point, hierarchy string, day int32) []byte {
	var (
		hitBuf  [4]geo.BorderHit
		slotBuf [4]int32
	)
	hits, slots := st.covering(p, hierarchy, hitBuf[:0], slotBuf[:0])
	if len(hits) == 0 {
		return noAnswer
	}
	if len(hits) != 1 || day != st.day {
		r := st.answer(hits, slots, day)
		return encodeResult(nil, &r)
	}
	cached := &st.answers[slots[0]]
	if b := cached.Load(); b != nil {
		return *b
	}
	r := st.answer(hits, slots, day)
	b := encodeResult(nil, &r)
	cached.Store(&b)
	return b
}

// encodeResult appends r as json.Encoder with SetEscapeHTML(false) writes
// it, without the newline.
func encodeResult(dst []byte, r *geo.LookupResult) []byte {
	buf := bytes.NewBuffer(dst)
	enc := json.NewEncoder(buf)
	enc.SetEscapeHTML(false)
	enc.Encode(r) // cannot fail: strings, numbers and booleans only
	b := buf.Bytes()
	return b[:len(b)-1]
}

// covering appends the areas of the deepest level that has any covering p,
// and their slots. Levels are searched from the deepest up; the first with a
// covering area decides (the border rule looks at the lowest level only).
func (st *state) covering(p orb.Point, hierarchy string, hits []geo.BorderHit, slots []int32) ([]geo.BorderHit, []int32) {
	h := st.hiers[hierarchy]
	if h == nil {
		return hits, slots
	}
	var itemBuf [16]int32
	for i := range h.levels {
		lv := &h.levels[i]
		for _, item := range lv.tree.search(p, itemBuf[:0]) {
			si := lv.slots[item]
			a := st.slots[si].area
			switch a.shape.locate(p) {
			case inside:
				hits = append(hits, geo.BorderHit{Area: a.ref, Depth: lv.depth, Interior: true})
				slots = append(slots, si)
			case boundary:
				hits = append(hits, geo.BorderHit{Area: a.ref, Depth: lv.depth})
				slots = append(slots, si)
			}
		}
		if len(hits) > 0 {
			break
		}
	}
	return hits, slots
}

// answer applies the border rule to the hits and fills in the chosen
// area's chain and responsible people for day.
func (st *state) answer(hits []geo.BorderHit, slots []int32, day int32) geo.LookupResult {
	res := geo.DecideBorder(hits)
	if res.Grid == nil {
		return res
	}
	for _, si := range slots {
		s := &st.slots[si]
		if s.area.ref.ID != res.Grid.ID {
			continue
		}
		res.Areas = s.chain
		if day == st.day {
			res.Responsible = s.resp
		} else {
			res.Responsible = responsibleOn(s.cands, day)
		}
		break
	}
	return res
}
