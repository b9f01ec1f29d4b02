package cases

import (
	"crypto/rand"
	"io"
	"strings"

	"gridmap/geo"
)

// Tracking codes are what a reporter gets to follow a case: 10 characters of
// Crockford's base32 (digits and letters without I, L, O and U, so nothing is
// misread or spells a word), 9 random (45 bits from crypto/rand) and a check
// character (a weighted sum over GF(32), see checkChar) that catches any
// single mistyped character and any swap of two different characters. Shown as "XXXXX-XXXXX"; case and the hyphen do not
// matter when typed back, and O, I and L are read as 0, 1 and 1.
const (
	crockford          = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
	trackingRandomLen  = 9
	TrackingCodeLength = trackingRandomLen + 1
)

// NewTrackingCode returns a fresh tracking code read from r (crypto/rand's
// Reader when r is nil), in canonical form: 10 upper-case characters, no
// hyphen. 32 divides 256, so taking 5 bits of each byte is unbiased.
func NewTrackingCode(r io.Reader) (string, error) {
	if r == nil {
		r = rand.Reader
	}
	var b [trackingRandomLen]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return "", geo.Internal("cases.NewTrackingCode", err)
	}
	code := make([]byte, 0, TrackingCodeLength)
	for _, x := range b {
		code = append(code, crockford[x&31])
	}
	return string(append(code, checkChar(string(code)))), nil
}

// checkChar returns the check character of s (canonical symbols): the sum
// over GF(32) of each symbol times its own weight α^(i+1) (α a generator of
// the field's multiplicative group, modulus x⁵+x²+1), so that the weighted sum
// of the whole code, the check character weighing 1, is zero. Weights are
// distinct and non-zero and a field has no zero divisors, so every single
// substitution and every swap of two different symbols changes the sum.
func checkChar(s string) byte {
	var sum, w byte = 0, 1
	for i := 0; i < len(s); i++ {
		w = gf32Mul(w, 2)
		sum ^= gf32Mul(w, byte(strings.IndexByte(crockford, s[i])))
	}
	return crockford[sum]
}

// gf32Mul multiplies in GF(2⁵) with modulus x⁵+x²+1 (0b100101).
func gf32Mul(a, b byte) byte {
	var p byte
	for b > 0 {
		if b&1 != 0 {
			p ^= a
		}
		b >>= 1
		a <<= 1
		if a&0x20 != 0 {
			a ^= 0x25
		}
	}
	return p
}

// NormalizeTrackingCode returns s in canonical form: hyphens and spaces
// removed, upper case, O read as 0 and I, L as 1. It does not validate.
func NormalizeTrackingCode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		switch r {
		case '-', ' ':
			continue
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// FormatTrackingCode returns a canonical code as people see it: "XXXXX-XXXXX".
func FormatTrackingCode(code string) string {
	if len(code) != TrackingCodeLength {
		return code
	}
	return code[:5] + "-" + code[5:]
}

// ValidateTrackingCode checks a tracking code as typed (any case, hyphens
// allowed) and returns a geo.EInvalid error a person can act on.
func ValidateTrackingCode(s string) error {
	c := NormalizeTrackingCode(s)
	if len(c) != TrackingCodeLength {
		return geo.Errorf(geo.EInvalid, "a tracking code has %d characters (like 7K2QM-XP4TA), got %d in %q", TrackingCodeLength, len(c), s)
	}
	for i := 0; i < len(c); i++ {
		if strings.IndexByte(crockford, c[i]) < 0 {
			return geo.Errorf(geo.EInvalid, "tracking code %q: %q is not used in tracking codes (they use digits and letters except I, L, O, U)", s, c[i])
		}
	}
	if checkChar(c[:trackingRandomLen]) != c[trackingRandomLen] {
		return geo.Errorf(geo.EInvalid, "tracking code %q is mistyped (its check character does not match); please check each character", s)
	}
	return nil
}
