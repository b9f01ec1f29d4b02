package geo

import (
	"strings"
	"unicode/utf8"
)

// CheckText is the rule every piece of text from outside (path values, query
// parameters, JSON strings) must pass before it reaches the database: valid
// UTF-8, no NUL character (PostgreSQL text cannot hold either) and at most
// maxLen characters (runes; maxLen <= 0: no length bound). The error is
// EInvalid and names field.
func CheckText(field, s string, maxLen int) error {
	if !utf8.ValidString(s) {
		return Errorf(EInvalid, "%s must be valid UTF-8 text", field)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return Errorf(EInvalid, "%s must not contain the NUL character", field)
	}
	if maxLen > 0 {
		if n := utf8.RuneCountInString(s); n > maxLen {
			return Errorf(EInvalid, "%s must be at most %d characters, got %d", field, maxLen, n)
		}
	}
	return nil
}
