package index

import (
	"cmp"
	"hash/crc32"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/paulmach/orb"

	"gridmap/geo"
)

// Address search in memory, ranked exactly as data.LookupService ranks it in
// SQL (qAddress):
//
//	score = 1                      when address_norm = q or name = q
//	        0.5 + 0.49·sim(a, q)   when address_norm or name contains q
//	        0.49·sim(a, q)         when sim(a, q) >= 0.3 (pg_trgm's % operator)
//	ORDER BY score DESC, length(address_norm), code LIMIT n
//
// sim is pg_trgm's similarity: the trigrams of each string (every run of
// alphanumeric characters lower-cased and padded "  word ", every three
// consecutive characters; three bytes kept as they are, longer ones replaced
// by three bytes of their CRC-32), and shared/(all) as float4. The trigrams of
// the stored addresses are computed here the same way; trigram_test.go checks
// them against PostgreSQL's show_trgm. Characters whose classification or
// case folding this code does not reproduce for certain (anything but ASCII,
// Latin-1 letters and CJK ideographs) make a query go to PostgreSQL instead,
// and make a stored address take its trigrams from show_trgm.

// trigram is a compacted trigram: its three bytes as b0<<16 | b1<<8 | b2.
type trigram uint32

// trigramSafe reports whether pg_trgm's word classification (iswalnum in
// C.UTF-8) and lower-casing of r are known here: ASCII, the letters of
// Latin-1, and CJK ideographs.
func trigramSafe(r rune) bool {
	switch {
	case r < utf8.RuneSelf:
		return true
	case r >= 0xC0 && r <= 0xFF && r != 0xD7 && r != 0xF7: // Latin-1 letters, not × ÷
		return true
	case r >= 0x3400 && r <= 0x4DBF, r >= 0x4E00 && r <= 0x9FFF: // CJK ideographs
		return true
	}
	return false
}

// wordChar is pg_trgm's ISWORDCHR for the safe characters.
func wordChar(r rune) bool {
	if r < utf8.RuneSelf {
		return r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
	}
	return true
}

// lower is str_tolower for the safe characters.
func lower(r rune) rune {
	switch {
	case r >= 'A' && r <= 'Z':
		return r + 'a' - 'A'
	case r >= 0xC0 && r <= 0xDE && r != 0xD7:
		return r + 0x20
	}
	return r
}

// trigramsOf returns the sorted unique trigrams of s as pg_trgm makes them,
// and false when s holds a character this code does not reproduce.
func trigramsOf(s string) ([]trigram, bool) {
	var out []trigram
	var word []rune
	flush := func() {
		if len(word) == 0 {
			return
		}
		padded := make([]rune, 0, len(word)+3)
		padded = append(padded, ' ', ' ')
		padded = append(padded, word...)
		padded = append(padded, ' ')
		var buf [12]byte
		for i := 0; i+3 <= len(padded); i++ {
			b := buf[:0]
			for _, r := range padded[i : i+3] {
				b = utf8.AppendRune(b, r)
			}
			out = append(out, compact(b))
		}
		word = word[:0]
	}
	for _, r := range s {
		if !trigramSafe(r) {
			return nil, false
		}
		if wordChar(r) {
			word = append(word, lower(r))
		} else {
			flush()
		}
	}
	flush()
	slices.Sort(out)
	return slices.Compact(out), true
}

// compact is compact_trigram: three bytes as they are, otherwise the first
// three bytes in memory (little-endian) of the legacy CRC-32 of the bytes.
func compact(b []byte) trigram {
	if len(b) == 3 {
		return trigram(b[0])<<16 | trigram(b[1])<<8 | trigram(b[2])
	}
	c := legacyCRC32(b)
	return trigram(c&0xff)<<16 | trigram(c>>8&0xff)<<8 | trigram(c>>16&0xff)
}

// legacyCRC32 is PostgreSQL's "legacy" CRC-32 (pg_crc.h INIT/COMP/FIN_LEGACY_CRC32):
// Sarwate's algorithm for a non-reflected CRC run with the table of the
// reflected IEEE polynomial, a historical quirk kept for on-disk
// compatibility. It is not hash/crc32's IEEE checksum.
func legacyCRC32(b []byte) uint32 {
	crc := uint32(0xFFFFFFFF)
	for _, x := range b {
		crc = crc32.IEEETable[byte(crc>>24)^x] ^ crc<<8
	}
	return crc ^ 0xFFFFFFFF
}

// addressBuilding is one building as address search needs it.
type addressBuilding struct {
	ref      geo.BuildingRef
	norm     string
	normLen  int // in characters, as SQL's length()
	trigrams int // distinct trigrams of norm
}

// addressIndex finds buildings by normalised address or name. It is
// immutable. Every candidate shares a trigram with the query, except
// buildings whose name contains the query (found through nameWindows) and
// buildings that contain a query without a three-character word (see search):
// a building equal to the query shares all of them.
type addressIndex struct {
	buildings   []addressBuilding
	postings    map[trigram][]int32 // ascending building positions
	nameWindows map[string][]int32  // every three consecutive characters of a name → ascending positions
	byNorm      []int32             // positions with an address, by normalised address
	byName      []int32             // positions with a name, by name
}

// newAddressIndex indexes buildings; trigrams gives the trigrams of a norm
// that trigramsOf cannot make (from PostgreSQL), keyed by the norm.
func newAddressIndex(bs []geo.Building, trigrams map[string][]trigram) *addressIndex {
	ix := &addressIndex{postings: map[trigram][]int32{}}
	ix.nameWindows = map[string][]int32{}
	for _, b := range bs {
		if b.AddressNorm == "" && b.Name == "" {
			continue
		}
		var ts []trigram
		if b.AddressNorm != "" {
			var ok bool
			if ts, ok = trigramsOf(b.AddressNorm); !ok {
				ts = trigrams[b.AddressNorm]
			}
		}
		i := int32(len(ix.buildings))
		if b.AddressNorm != "" {
			ix.byNorm = append(ix.byNorm, i)
		}
		if b.Name != "" {
			ix.byName = append(ix.byName, i)
			forWindows(b.Name, func(w string) {
				if ps := ix.nameWindows[w]; len(ps) == 0 || ps[len(ps)-1] != i {
					ix.nameWindows[w] = append(ps, i)
				}
			})
		}
		ix.buildings = append(ix.buildings, addressBuilding{
			ref:     geo.BuildingRef{Code: b.Code, Address: b.Address, Name: b.Name, Lon: b.Point[0], Lat: b.Point[1]},
			norm:    b.AddressNorm,
			normLen: utf8.RuneCountInString(b.AddressNorm), trigrams: len(ts),
		})
		for _, t := range ts {
			ix.postings[t] = append(ix.postings[t], i)
		}
	}
	slices.SortFunc(ix.byNorm, func(a, b int32) int { return strings.Compare(ix.buildings[a].norm, ix.buildings[b].norm) })
	slices.SortFunc(ix.byName, func(a, b int32) int { return strings.Compare(ix.buildings[a].ref.Name, ix.buildings[b].ref.Name) })
	return ix
}

// forWindows calls f with every run of three consecutive characters of s.
func forWindows(s string, f func(string)) {
	var starts [3]int // byte offsets of the last three characters
	n := 0
	for i := range s {
		if n >= 3 {
			f(s[starts[n%3]:i])
		}
		starts[n%3] = i
		n++
	}
	if n >= 3 {
		f(s[starts[n%3]:])
	}
}

// streetPoints returns the points of the buildings whose normalised address
// or name is q followed by a digit (geo.StreetOf), in code order.
func (ix *addressIndex) streetPoints(q string) []orb.Point {
	var on []int32
	for _, r := range []struct {
		sorted []int32
		key    func(int32) string
	}{
		{ix.byNorm, func(i int32) string { return ix.buildings[i].norm }},
		{ix.byName, func(i int32) string { return ix.buildings[i].ref.Name }},
	} {
		lo, _ := slices.BinarySearchFunc(r.sorted, q, func(i int32, q string) int { return strings.Compare(r.key(i), q) })
		for _, i := range r.sorted[lo:] {
			k := r.key(i)
			if !strings.HasPrefix(k, q) {
				break
			}
			if geo.StreetOf(k, q) {
				on = append(on, i)
			}
		}
	}
	slices.SortFunc(on, func(a, b int32) int { return strings.Compare(ix.buildings[a].ref.Code, ix.buildings[b].ref.Code) })
	on = slices.Compact(on)
	out := make([]orb.Point, len(on))
	for k, i := range on {
		out[k] = orb.Point{ix.buildings[i].ref.Lon, ix.buildings[i].ref.Lat}
	}
	return out
}

// unsafeNorms lists the distinct norms among bs whose trigrams must come
// from PostgreSQL.
func unsafeNorms(bs []geo.Building) []string {
	seen := map[string]bool{}
	var out []string
	for _, b := range bs {
		if b.AddressNorm == "" || seen[b.AddressNorm] {
			continue
		}
		if _, ok := trigramsOf(b.AddressNorm); !ok {
			seen[b.AddressNorm] = true
			out = append(out, b.AddressNorm)
		}
	}
	return out
}

// similarityThreshold is geo.AddressSimilarity, compared as pg_trgm does:
// the float4 similarity widened to double against the double setting.
const similarityThreshold = geo.AddressSimilarity

// similarity is pg_trgm's cnt_sml: float4 shared / (len1 + len2 - shared).
func similarity(shared, len1, len2 int) float32 {
	if len1 <= 0 || len2 <= 0 {
		return 0
	}
	return float32(shared) / float32(len1+len2-shared)
}

type addressHit struct {
	i     int32
	score float64
}

// counters is a pool of per-building shared-trigram counters, all zero.
var counters sync.Pool

// search ranks the buildings for the normalised query q and returns the
// best limit of them, or false when q must go to PostgreSQL.
func (ix *addressIndex) search(q string, limit int) ([]geo.AddressCandidate, bool) {
	qt, ok := trigramsOf(q)
	if !ok {
		return nil, false
	}
	cnt, _ := counters.Get().([]uint16)
	if len(cnt) < len(ix.buildings) {
		cnt = make([]uint16, len(ix.buildings))
	}
	// Shared trigram counts of every building sharing one with q.
	var touched []int32
	for _, t := range qt {
		for _, i := range ix.postings[t] {
			if cnt[i] == 0 {
				touched = append(touched, i)
			}
			cnt[i]++
		}
	}
	var hits []addressHit
	// named says whether building i's name contains q. Names containing a q
	// with a three-character word hold every three consecutive characters of
	// q: only the buildings of its rarest such window need looking at.
	inner := hasInnerTrigram(q)
	var fewest []int32 // ascending
	if inner {
		first := true
		forWindows(q, func(w string) {
			if ps := ix.nameWindows[w]; first || len(ps) < len(fewest) {
				fewest, first = ps, false
			}
		})
	}
	named := func(i int32) bool {
		if inner {
			if _, ok := slices.BinarySearch(fewest, i); !ok {
				return false
			}
		}
		return strings.Contains(ix.buildings[i].ref.Name, q)
	}
	eval := func(i int32, shared int, named bool) {
		b := &ix.buildings[i]
		sim := float64(similarity(shared, b.trigrams, len(qt)))
		switch {
		case b.norm == q || named && b.ref.Name == q:
			hits = append(hits, addressHit{i, 1})
		case named || strings.Contains(b.norm, q):
			hits = append(hits, addressHit{i, 0.5 + float64(0.49*sim)})
		case sim >= similarityThreshold:
			hits = append(hits, addressHit{i, float64(0.49 * sim)})
		}
	}
	for _, i := range touched {
		eval(i, int(cnt[i]), named(i))
	}
	// Buildings sharing no trigram with q can still contain it when q has no
	// word of three characters (whose inner trigrams every building
	// containing q shares): look at every one of them then.
	if !inner {
		for i := range ix.buildings {
			if cnt[i] != 0 {
				continue
			}
			if nm := named(int32(i)); nm || strings.Contains(ix.buildings[i].norm, q) {
				eval(int32(i), 0, nm)
			}
		}
	} else {
		for _, i := range fewest {
			if cnt[i] == 0 && named(i) {
				eval(i, 0, true)
			}
		}
	}
	for _, i := range touched {
		cnt[i] = 0
	}
	counters.Put(cnt)

	slices.SortFunc(hits, func(a, b addressHit) int {
		if c := cmp.Compare(b.score, a.score); c != 0 {
			return c
		}
		ba, bb := &ix.buildings[a.i], &ix.buildings[b.i]
		if c := cmp.Compare(ba.normLen, bb.normLen); c != 0 {
			return c
		}
		return strings.Compare(ba.ref.Code, bb.ref.Code)
	})
	out := make([]geo.AddressCandidate, 0, min(limit, len(hits)))
	for _, h := range hits[:min(limit, len(hits))] {
		out = append(out, geo.AddressCandidate{Building: ix.buildings[h.i].ref, Score: h.score})
	}
	return out, true
}

// hasInnerTrigram reports whether q has a run of three word characters.
func hasInnerTrigram(q string) bool {
	run := 0
	for _, r := range q {
		if !wordChar(r) {
			run = 0
			continue
		}
		if run++; run >= 3 {
			return true
		}
	}
	return false
}

// parseShownTrigram reads one element of show_trgm's answer: three
// characters as they are, or "0x" and six hex digits for a hashed one.
func parseShownTrigram(s string) (trigram, bool) {
	if len(s) == 3 {
		return trigram(s[0])<<16 | trigram(s[1])<<8 | trigram(s[2]), true
	}
	if len(s) == 8 && strings.HasPrefix(s, "0x") {
		v, err := strconv.ParseUint(s[2:], 16, 32)
		return trigram(v), err == nil
	}
	return 0, false
}
