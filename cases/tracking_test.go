package cases

import (
	"strings"
	"testing"

	"gridmap/geo"
)

func TestNewTrackingCode(t *testing.T) {
	seen := map[string]bool{}
	for i := 0; i < 2000; i++ {
		c, err := NewTrackingCode(nil)
		if err != nil {
			t.Fatal(err)
		}
		if len(c) != TrackingCodeLength || strings.Trim(c, crockford) != "" {
			t.Fatalf("code %q: want %d characters of %s", c, TrackingCodeLength, crockford)
		}
		if err := ValidateTrackingCode(c); err != nil {
			t.Fatalf("fresh code %q refused: %v", c, err)
		}
		if seen[c] {
			t.Fatalf("code %q drawn twice in %d (45 random bits)", c, i)
		}
		seen[c] = true
	}
	if _, err := NewTrackingCode(strings.NewReader("short")); geo.ErrorCode(err) != geo.EInternal {
		t.Errorf("short random source: err %v, want internal", err)
	}
}

func TestValidateTrackingCode(t *testing.T) {
	code, err := NewTrackingCode(strings.NewReader("\x00\x01\x02\x03\x04\x05\x06\x07\x08"))
	if err != nil {
		t.Fatal(err)
	}
	if code[:9] != "012345678" {
		t.Fatalf("code %q from bytes 0..8, want it to start 012345678", code)
	}
	tests := []struct {
		name string
		in   string
		ok   bool
		msg  string
	}{
		{"canonical", code, true, ""},
		{"as shown, with hyphen", FormatTrackingCode(code), true, ""},
		{"lower case with spaces", strings.ToLower(code[:5] + " " + code[5:]), true, ""},
		{"O typed for 0", "O" + code[1:], true, ""},
		{"too short", code[:9], false, "10 characters"},
		{"U is not used", "U" + code[1:], false, "not used"},
		{"one character changed", mistype(code), false, "mistyped"},
		{"neighbours swapped", code[:2] + code[3:4] + code[2:3] + code[4:], false, "mistyped"},
		{"empty", "", false, "10 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := ValidateTrackingCode(tt.in)
			if tt.ok {
				if err != nil {
					t.Errorf("ValidateTrackingCode(%q) = %v, want ok", tt.in, err)
				}
				return
			}
			if geo.ErrorCode(err) != geo.EInvalid || !strings.Contains(geo.ErrorMessage(err), tt.msg) {
				t.Errorf("ValidateTrackingCode(%q) = %v, want invalid containing %q", tt.in, err, tt.msg)
			}
		})
	}
}

// The check character catches every single substitution and every swap of
// two different characters, near or far, on many codes.
func TestTrackingCheckCatchesTypos(t *testing.T) {
	for n := 0; n < 200; n++ {
		code, err := NewTrackingCode(nil)
		if err != nil {
			t.Fatal(err)
		}
		b := []byte(code)
		for i := range b {
			for _, r := range []byte(crockford) {
				if r == code[i] {
					continue
				}
				m := append([]byte(nil), b...)
				m[i] = r
				if ValidateTrackingCode(string(m)) == nil {
					t.Fatalf("%s → %s (position %d) not caught", code, m, i)
				}
			}
			for j := i + 1; j < len(b); j++ {
				if b[i] == b[j] {
					continue
				}
				m := append([]byte(nil), b...)
				m[i], m[j] = m[j], m[i]
				if ValidateTrackingCode(string(m)) == nil {
					t.Fatalf("%s → %s (swap of %d and %d) not caught", code, m, i, j)
				}
			}
		}
	}
}

// α = 2 generates GF(32)'s multiplicative group (order 31), so the weights
// α^1…α^9 and the check's weight 1 are distinct.
func TestGF32WeightsDistinct(t *testing.T) {
	seen := map[byte]int{}
	var w byte = 1
	for i := 0; i < 31; i++ {
		if j, ok := seen[w]; ok {
			t.Fatalf("α^%d = α^%d = %d: α is not a generator", i, j, w)
		}
		seen[w] = i
		w = gf32Mul(w, 2)
	}
	if w != 1 {
		t.Errorf("α^31 = %d, want 1", w)
	}
}

func TestTrackingExampleInMessageIsValid(t *testing.T) {
	if err := ValidateTrackingCode("7K2QM-XP4TA"); err != nil {
		t.Errorf("the example in the length message is itself invalid: %v", err)
	}
}
