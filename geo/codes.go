package geo

import (
	"cmp"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/paulmach/orb"
)

// Lengths and ranges of area codes (see DOMAIN.md "Codes").
const (
	// statCodeLen is the length of a statistical division code (统计用区划代码)
	// of a community: 6 digits county (GB/T 2260) + 3 township + 3 community.
	statCodeLen = 12
	// gridCodeLen is the length of a grid code (DB11/T 2157-2023): a
	// community's statistical code + 3 digits grid sequence.
	gridCodeLen = 15
	// maxGridSequence is the largest grid sequence number in a community.
	maxGridSequence = 999
	// maxImportedCodeLen is the longest code, in runes, kept from imported data.
	maxImportedCodeLen = 64
)

// ValidateStatCode checks a 12-digit statistical division code of a
// community: 6 digits county, 3 digits township or subdistrict 001–399
// (001–099 街道, 100–199 镇, 200–399 乡) and 3 digits community or village
// 001–999. The county part is checked for digits only. Errors are EInvalid
// with a message that names the faulty part.
func ValidateStatCode(s string) error {
	if err := checkDigits("community code", s, statCodeLen); err != nil {
		return err
	}
	if t := s[6:9]; t < "001" || t > "399" {
		return Errorf(EInvalid, "community code %q has township part %q, want 001 to 399", s, t)
	}
	if c := s[9:12]; c == "000" {
		return Errorf(EInvalid, "community code %q has community part %q, want 001 to 999", s, c)
	}
	return nil
}

// checkDigits checks that s is exactly n ASCII digits; what names s in the
// message.
func checkDigits(what, s string, n int) error {
	if c := utf8.RuneCountInString(s); c != n {
		return Errorf(EInvalid, "%s must be %d digits, got %q (%d)", what, n, s, c)
	}
	i := 0
	for _, r := range s {
		i++
		if r < '0' || r > '9' {
			return Errorf(EInvalid, "%s must be %d digits, got %q (character %d is %q)", what, n, s, i, r)
		}
	}
	return nil
}

// ValidateGridCode checks a 15-digit grid code: a valid 12-digit statistical
// code of the grid's community (ValidateStatCode) followed by a 3-digit grid
// sequence 001–999. Errors are EInvalid.
func ValidateGridCode(s string) error {
	if err := checkDigits("grid code", s, gridCodeLen); err != nil {
		return err
	}
	if err := ValidateStatCode(s[:statCodeLen]); err != nil {
		return Errorf(EInvalid, "grid code %q: %s", s, ErrorMessage(err))
	}
	if q := s[statCodeLen:]; q == "000" {
		return Errorf(EInvalid, "grid code %q has grid sequence %q, want 001 to 999", s, q)
	}
	return nil
}

// GridCode returns the 15-digit grid code of grid number seq (1–999) in the
// community with the 12-digit statistical code communityCode: the community
// code followed by seq as three digits. Errors are EInvalid.
func GridCode(communityCode string, seq int) (string, error) {
	if err := ValidateStatCode(communityCode); err != nil {
		return "", err
	}
	if seq < 1 || seq > maxGridSequence {
		return "", Errorf(EInvalid, "grid sequence must be between 1 and %d, got %d", maxGridSequence, seq)
	}
	return fmt.Sprintf("%s%03d", communityCode, seq), nil
}

// GridSequence splits a 15-digit grid code into its community's 12-digit
// statistical code and its grid sequence number (1–999). Errors are EInvalid.
func GridSequence(code string) (community string, seq int, err error) {
	if err := ValidateGridCode(code); err != nil {
		return "", 0, err
	}
	seq, _ = strconv.Atoi(code[statCodeLen:]) // three checked digits
	return code[:statCodeLen], seq, nil
}

// NextGridSequence returns the sequence number for a new grid in the
// community communityCode: one more than the highest sequence among existing,
// which must list every code ever used under the community, retired ones
// included. Retired numbers are never reused and gaps are not refilled.
// Codes in existing that are not valid 15-digit grid codes of this community
// (imported codes, other communities) are ignored. The first grid gets 1.
// It is an EInvalid error when communityCode is invalid and an EConflict
// error when sequence 999 is taken.
func NextGridSequence(communityCode string, existing []string) (int, error) {
	if err := ValidateStatCode(communityCode); err != nil {
		return 0, err
	}
	highest := 0
	for _, code := range existing {
		if !strings.HasPrefix(code, communityCode) {
			continue
		}
		community, seq, err := GridSequence(code)
		if err != nil || community != communityCode {
			continue
		}
		highest = max(highest, seq)
	}
	if highest >= maxGridSequence {
		return 0, Errorf(EConflict, "community %s has used all %d grid sequence numbers; retired codes are not reused", communityCode, maxGridSequence)
	}
	return highest + 1, nil
}

// ValidateImportedCode checks a code that arrives with imported data, which
// is kept as given: any non-empty string of at most 64 runes of valid UTF-8,
// without control characters and without leading or trailing whitespace.
// Errors are EInvalid.
func ValidateImportedCode(s string) error {
	if s == "" {
		return Errorf(EInvalid, "code must not be empty")
	}
	if !utf8.ValidString(s) {
		return Errorf(EInvalid, "code %q is not valid UTF-8", s)
	}
	if n := utf8.RuneCountInString(s); n > maxImportedCodeLen {
		return Errorf(EInvalid, "code must be at most %d characters, got %d", maxImportedCodeLen, n)
	}
	for i, r := range s {
		if unicode.IsControl(r) {
			return Errorf(EInvalid, "code %q has a control character %U at byte %d", s, r, i)
		}
	}
	first, _ := utf8.DecodeRuneInString(s)
	last, _ := utf8.DecodeLastRuneInString(s)
	if unicode.IsSpace(first) || unicode.IsSpace(last) {
		return Errorf(EInvalid, "code %q must not start or end with a space", s)
	}
	return nil
}

// SequenceOrder returns the indices of points (EPSG:4326 [lon, lat], e.g. the
// grids' interior points) in grid numbering order: north to south in bands
// bandDeg degrees of latitude high, counted down from the northernmost point
// (band = floor((maxLat - lat) / bandDeg)), and west to east by longitude
// within a band; ties go to the more northern point, then the lower index.
// bandDeg <= 0 (or NaN) means no bands: north to south by latitude, then west
// to east. An empty input gives an empty slice.
func SequenceOrder(points []orb.Point, bandDeg float64) []int {
	idx := make([]int, len(points))
	for i := range idx {
		idx[i] = i
	}
	banded := bandDeg > 0
	band := make([]float64, len(points))
	if banded {
		maxLat := math.Inf(-1)
		for _, p := range points {
			if p[1] > maxLat { // NaN never wins
				maxLat = p[1]
			}
		}
		for i, p := range points {
			band[i] = math.Floor((maxLat - p[1]) / bandDeg)
		}
	}
	// cmp.Compare orders NaN first, consistently, so odd input cannot break
	// the sort.
	slices.SortFunc(idx, func(a, b int) int {
		pa, pb := points[a], points[b]
		if banded {
			if c := cmp.Compare(band[a], band[b]); c != 0 {
				return c
			}
			if c := cmp.Compare(pa[0], pb[0]); c != 0 {
				return c
			}
			if c := cmp.Compare(pb[1], pa[1]); c != 0 {
				return c
			}
			return cmp.Compare(a, b)
		}
		if c := cmp.Compare(pb[1], pa[1]); c != 0 {
			return c
		}
		if c := cmp.Compare(pa[0], pb[0]); c != 0 {
			return c
		}
		return cmp.Compare(a, b)
	})
	return idx
}
