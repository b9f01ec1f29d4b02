package geo

import "testing"

func TestCheckTextRejectsBytesThatAreNotText(t *testing.T) {
	for _, tc := range []struct {
		name, s string
		max     int
		ok      bool
	}{
		{"plain", "人民路12号", 10, true},
		{"empty", "", 10, true},
		{"NUL", "a\x00b", 10, false},
		{"lone FF", "\xff", 10, false},
		{"bad continuation C3 28", "\xc3\x28", 10, false},
		{"UTF-16 surrogate ED A0 80", "\xed\xa0\x80", 10, false},
		{"too long in runes", "人民路人民路", 5, false},
		{"exactly the bound", "人民路人民", 5, true},
		{"no bound", "aaaaaaaaaaaaaaaaaaaaaaa", 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckText("q", tc.s, tc.max)
			if got := err == nil; got != tc.ok {
				t.Fatalf("CheckText(%q) = %v, want ok %v", tc.s, err, tc.ok)
			}
			if err != nil && (ErrorCode(err) != EInvalid || len(ErrorMessage(err)) < 2 || ErrorMessage(err)[:2] != "q ") {
				t.Errorf("error %v: want invalid_argument naming the field q", err)
			}
		})
	}
}
