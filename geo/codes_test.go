package geo

import (
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/paulmach/orb"
)

// assertError fails t unless err matches wantMsg: "" means no error,
// otherwise an error with code wantCode and message wantMsg.
func assertError(t *testing.T, err error, wantCode, wantMsg string) {
	t.Helper()
	if wantMsg == "" {
		if err != nil {
			t.Fatalf("got error %v, want nil", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("got nil error, want %q", wantMsg)
	}
	if got := ErrorCode(err); got != wantCode {
		t.Errorf("got code %v, want %v", got, wantCode)
	}
	if got := ErrorMessage(err); got != wantMsg {
		t.Errorf("got message %q, want %q", got, wantMsg)
	}
}

func TestValidateStatCode(t *testing.T) {
	cases := []struct {
		name, in, wantMsg string
	}{
		{"subdistrict community", "330106001001", ""},
		{"town village", "330110101205", ""},
		{"township 399 community 999", "330110399999", ""},
		{"11 digits", "33010600101", `community code must be 12 digits, got "33010600101" (11)`},
		{"13 digits", "3301060010010", `community code must be 12 digits, got "3301060010010" (13)`},
		{"empty", "", `community code must be 12 digits, got "" (0)`},
		{"full-width digits", "３３０１０６００１００１", `community code must be 12 digits, got "３３０１０６００１００１" (character 1 is '３')`},
		{"letter", "3301060010a1", `community code must be 12 digits, got "3301060010a1" (character 11 is 'a')`},
		{"space", "330106 01001", `community code must be 12 digits, got "330106 01001" (character 7 is ' ')`},
		{"township 000", "330106000001", `community code "330106000001" has township part "000", want 001 to 399`},
		{"township 400", "330106400001", `community code "330106400001" has township part "400", want 001 to 399`},
		{"community 000", "330106001000", `community code "330106001000" has community part "000", want 001 to 999`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assertError(t, ValidateStatCode(c.in), EInvalid, c.wantMsg)
		})
	}
}

func TestValidateGridCode(t *testing.T) {
	cases := []struct {
		name, in, wantMsg string
	}{
		{"first grid", "330106001001001", ""},
		{"grid 999", "330106001001999", ""},
		{"12 digits", "330106001001", `grid code must be 15 digits, got "330106001001" (12)`},
		{"16 digits", "3301060010010011", `grid code must be 15 digits, got "3301060010010011" (16)`},
		{"letter", "33010600100100x", `grid code must be 15 digits, got "33010600100100x" (character 15 is 'x')`},
		{"sequence 000", "330106001001000", `grid code "330106001001000" has grid sequence "000", want 001 to 999`},
		{"bad township", "330106000001001", `grid code "330106000001001": community code "330106000001" has township part "000", want 001 to 399`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assertError(t, ValidateGridCode(c.in), EInvalid, c.wantMsg)
		})
	}
}

func TestGridCode(t *testing.T) {
	cases := []struct {
		name, community string
		seq             int
		want, wantMsg   string
	}{
		{"first", "330106001001", 1, "330106001001001", ""},
		{"pads to three digits", "330106001001", 42, "330106001001042", ""},
		{"last", "330106001001", 999, "330106001001999", ""},
		{"zero", "330106001001", 0, "", "grid sequence must be between 1 and 999, got 0"},
		{"1000", "330106001001", 1000, "", "grid sequence must be between 1 and 999, got 1000"},
		{"negative", "330106001001", -3, "", "grid sequence must be between 1 and 999, got -3"},
		{"bad community", "33010600100", 1, "", `community code must be 12 digits, got "33010600100" (11)`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := GridCode(c.community, c.seq)
			assertError(t, err, EInvalid, c.wantMsg)
			if got != c.want {
				t.Errorf("got %q, want %q", got, c.want)
			}
		})
	}
}

func TestGridSequence(t *testing.T) {
	cases := []struct {
		name, in      string
		wantCommunity string
		wantSeq       int
		wantErr       bool
	}{
		{"first", "330106001001001", "330106001001", 1, false},
		{"middle", "330106001001042", "330106001001", 42, false},
		{"last", "110105010002999", "110105010002", 999, false},
		{"too short", "33010600100100", "", 0, true},
		{"sequence 000", "330106001001000", "", 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			community, seq, err := GridSequence(c.in)
			if (err != nil) != c.wantErr {
				t.Fatalf("got error %v, want error %v", err, c.wantErr)
			}
			if community != c.wantCommunity || seq != c.wantSeq {
				t.Errorf("got %q %d, want %q %d", community, seq, c.wantCommunity, c.wantSeq)
			}
		})
	}
	t.Run("round trip", func(t *testing.T) {
		for seq := 1; seq <= 999; seq++ {
			code, err := GridCode("330106001001", seq)
			if err != nil {
				t.Fatal(err)
			}
			community, got, err := GridSequence(code)
			if err != nil || community != "330106001001" || got != seq {
				t.Fatalf("GridSequence(%q): got %q %d %v, want %q %d nil", code, community, got, err, "330106001001", seq)
			}
		}
	})
}

func TestNextGridSequence(t *testing.T) {
	const community = "330106001001"
	all := make([]string, 0, 999)
	for seq := 1; seq <= 999; seq++ {
		code, _ := GridCode(community, seq)
		all = append(all, code)
	}
	cases := []struct {
		name     string
		existing []string
		want     int
		wantCode string
		wantMsg  string
	}{
		{"first grid", nil, 1, "", ""},
		{"after three", []string{"330106001001001", "330106001001002", "330106001001003"}, 4, "", ""},
		{"unsorted", []string{"330106001001007", "330106001001002"}, 8, "", ""},
		{"retired code not reused", []string{"330106001001001", "330106001001002", "330106001001003" /* retired */}, 4, "", ""},
		{"gap not refilled", []string{"330106001001001", "330106001001005"}, 6, "", ""},
		{"other community ignored", []string{"330106001001002", "330106001002009"}, 3, "", ""},
		{"imported codes ignored", []string{"A-17", "网格三", "330106001001", "3301060010010041", "330106001001000", "330106001001004"}, 5, "", ""},
		{"998 taken", all[:998], 999, "", ""},
		{"all 999 used", all, 0, EConflict, "community 330106001001 has used all 999 grid sequence numbers; retired codes are not reused"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := NextGridSequence(community, c.existing)
			assertError(t, err, c.wantCode, c.wantMsg)
			if got != c.want {
				t.Errorf("got %d, want %d", got, c.want)
			}
		})
	}
	t.Run("invalid community", func(t *testing.T) {
		_, err := NextGridSequence("3301", nil)
		assertError(t, err, EInvalid, `community code must be 12 digits, got "3301" (4)`)
	})
}

func TestValidateImportedCode(t *testing.T) {
	cases := []struct {
		name, in, wantMsg string
	}{
		{"digits", "110105010002001", ""},
		{"letters and dash", "GRID-A17", ""},
		{"chinese", "朝阳门网格三", ""},
		{"inner space", "网格 3", ""},
		{"64 runes", strings.Repeat("网", 64), ""},
		{"empty", "", "code must not be empty"},
		{"65 runes", strings.Repeat("网", 65), "code must be at most 64 characters, got 65"},
		{"leading space", " A17", `code " A17" must not start or end with a space`},
		{"trailing ideographic space", "A17\u3000", `code "A17\u3000" must not start or end with a space`},
		{"tab inside", "A\t17", `code "A\t17" has a control character U+0009 at byte 1`},
		{"newline", "A17\n", `code "A17\n" has a control character U+000A at byte 3`},
		{"invalid utf-8", "A\xff17", `code "A\xff17" is not valid UTF-8`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			assertError(t, ValidateImportedCode(c.in), EInvalid, c.wantMsg)
		})
	}
}

func TestSequenceOrder(t *testing.T) {
	// A 3×3 layout of grid centres, listed out of order; a, b, c are the
	// north row from west to east, then d, e, f, then g, h, i. Rows wobble
	// by a few hundredths of a degree, as real centroids do.
	layout := map[string]orb.Point{
		"a": {120.00, 30.25}, "b": {120.01, 30.24}, "c": {120.02, 30.26},
		"d": {120.00, 30.15}, "e": {120.01, 30.16}, "f": {120.02, 30.14},
		"g": {120.00, 30.05}, "h": {120.01, 30.06}, "i": {120.02, 30.04},
	}
	input := []string{"e", "i", "a", "g", "c", "b", "h", "f", "d"}
	points := make([]orb.Point, len(input))
	for i, name := range input {
		points[i] = layout[name]
	}
	names := func(idx []int) string {
		var b strings.Builder
		for _, i := range idx {
			b.WriteString(input[i])
		}
		return b.String()
	}
	cases := []struct {
		name    string
		points  []orb.Point
		bandDeg float64
		want    []int
	}{
		{"empty", nil, 0.05, []int{}},
		{"one point", []orb.Point{{120, 30}}, 0.05, []int{0}},
		{"same point ties by index", []orb.Point{{120, 30}, {120, 30}, {120, 30}}, 0.05, []int{0, 1, 2}},
		{"same lon in band: north first", []orb.Point{{120, 30.00}, {120, 30.01}}, 0.05, []int{1, 0}},
		{"pure latitude order", []orb.Point{{120, 30.00}, {121, 30.01}, {119, 30.01}}, 0, []int{2, 1, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := SequenceOrder(c.points, c.bandDeg)
			if !slices.Equal(got, c.want) || got == nil {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
	layoutCases := []struct {
		name    string
		bandDeg float64
		want    string
	}{
		// maxLat is 30.26, so the rows fall in bands 0 (0–0.02°), 1
		// (0.10–0.12°) and 2 (0.20–0.22°), well clear of band edges.
		{"3x3 rows in 0.08 degree bands", 0.08, "abcdefghi"},
		{"3x3 one band is west to east", 1, "adgbehcfi"},
		{"3x3 no bands is north to south", 0, "cabedfhgi"},
		{"3x3 negative band means no bands", -1, "cabedfhgi"},
		{"3x3 NaN band means no bands", math.NaN(), "cabedfhgi"},
	}
	for _, c := range layoutCases {
		t.Run(c.name, func(t *testing.T) {
			if got := names(SequenceOrder(points, c.bandDeg)); got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}
