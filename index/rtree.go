package index

import (
	"math"
	"slices"

	"github.com/paulmach/orb"
)

// rtree is a static R-tree packed with Sort-Tile-Recursive (Leutenegger et
// al., 1997): the boxes of one level are sorted into vertical slices by the x
// of their centres, each slice by y, and every nodeSize consecutive boxes
// become one node of the level above. It answers "which boxes hold this
// point" (closed boxes). Nodes live in flat arrays, leaves first and the
// root last, so a query allocates nothing.
type rtree struct {
	fanout int
	boxes  []orb.Bound // leaves (in packed order), then each level's nodes
	// first[i] is, for a leaf, the item it stands for; for a node, the
	// position of its first child (its children are contiguous).
	first     []int32
	levelEnds []int // boxes[levelEnds[k-1]:levelEnds[k]] is level k (0: leaves)
}

// nodeSize is the fan-out; chosen by BenchmarkCandidates (see docs/index.md).
const nodeSize = 8

// newRTree packs the boxes; item i of a query answer is boxes[i].
func newRTree(items []orb.Bound) *rtree { return newRTreeFanout(items, nodeSize) }

func newRTreeFanout(items []orb.Bound, fanout int) *rtree {
	t := &rtree{fanout: fanout}
	if len(items) == 0 {
		return t
	}
	type entry struct {
		box   orb.Bound
		first int32
	}
	level := make([]entry, len(items))
	for i, b := range items {
		level[i] = entry{b, int32(i)}
	}
	for {
		strSort(level, fanout, func(e entry) orb.Point { return e.box.Center() })
		base := len(t.boxes)
		for _, e := range level {
			t.boxes = append(t.boxes, e.box)
			t.first = append(t.first, e.first)
		}
		t.levelEnds = append(t.levelEnds, len(t.boxes))
		if len(level) == 1 {
			return t
		}
		parents := make([]entry, 0, (len(level)+fanout-1)/fanout)
		for i := 0; i < len(level); i += fanout {
			b := level[i].box
			for _, e := range level[i+1 : min(i+fanout, len(level))] {
				b = b.Union(e.box)
			}
			parents = append(parents, entry{b, int32(base + i)})
		}
		level = parents
	}
}

// strSort orders es into ceil(sqrt(n/fanout)) vertical slices by x, each
// sorted by y.
func strSort[E any](es []E, fanout int, center func(E) orb.Point) {
	n := len(es)
	leaves := (n + fanout - 1) / fanout
	nslices := int(math.Ceil(math.Sqrt(float64(leaves))))
	per := nslices * fanout // entries per vertical slice
	sortBy(es, func(e E) float64 { return center(e)[0] })
	for i := 0; i < n; i += per {
		sortBy(es[i:min(i+per, n)], func(e E) float64 { return center(e)[1] })
	}
}

func sortBy[E any](es []E, key func(E) float64) {
	slices.SortFunc(es, func(a, b E) int {
		ka, kb := key(a), key(b)
		switch {
		case ka < kb:
			return -1
		case ka > kb:
			return 1
		}
		return 0
	})
}

// search appends to dst the items whose boxes hold p and returns it.
func (t *rtree) search(p orb.Point, dst []int32) []int32 {
	if len(t.boxes) == 0 {
		return dst
	}
	root := len(t.boxes) - 1
	if !holds(t.boxes[root], p) {
		return dst
	}
	if len(t.levelEnds) == 1 {
		return append(dst, t.first[root])
	}
	return t.searchNode(root, len(t.levelEnds)-1, p, dst)
}

// searchNode searches the children of the node at pos on level lv (> 0).
func (t *rtree) searchNode(pos, lv int, p orb.Point, dst []int32) []int32 {
	start := int(t.first[pos])
	end := min(start+t.fanout, t.levelEnds[lv-1])
	if lv == 1 {
		for c := start; c < end; c++ {
			if holds(t.boxes[c], p) {
				dst = append(dst, t.first[c])
			}
		}
		return dst
	}
	for c := start; c < end; c++ {
		if holds(t.boxes[c], p) {
			dst = t.searchNode(c, lv-1, p, dst)
		}
	}
	return dst
}

func holds(b orb.Bound, p orb.Point) bool {
	return p[0] >= b.Min[0] && p[0] <= b.Max[0] && p[1] >= b.Min[1] && p[1] <= b.Max[1]
}
