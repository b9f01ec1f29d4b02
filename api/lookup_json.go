package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"unicode/utf8"

	"gridmap/geo"
)

// Lookup answers are the API's hottest path (a resident's lookup, and batches
// of 100,000), so they are encoded by hand: the same bytes encoding/json
// writes for geo.LookupResult with SetEscapeHTML(false) (lookup_json_test.go
// holds the two to each other, fuzzing the strings), at a fraction of the
// cost of reflection.

// appendLookupResult appends r as encoding/json encodes it, without a newline.
func appendLookupResult(b []byte, r *geo.LookupResult) []byte {
	b = append(b, '{')
	return appendLookupFields(b, r)
}

// appendLookupFields appends r's fields and the closing brace.
func appendLookupFields(b []byte, r *geo.LookupResult) []byte {
	b = append(b, `"areas":`...)
	b = appendAreaRefs(b, r.Areas)
	b = append(b, `,"grid":`...)
	if r.Grid == nil {
		b = append(b, "null"...)
	} else {
		b = appendAreaRef(b, r.Grid)
	}
	b = append(b, `,"responsible":`...)
	if r.Responsible == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range r.Responsible {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendResponsible(b, &r.Responsible[i])
		}
		b = append(b, ']')
	}
	b = append(b, `,"ambiguous":`...)
	b = strconv.AppendBool(b, r.Ambiguous)
	b = append(b, `,"alternatives":`...)
	b = appendAreaRefs(b, r.Alternatives)
	return append(b, '}')
}

// appendBatchResult appends {"id":…,<the result's fields>} as encoding/json
// encodes batchResult: the id compacted, and left out when empty.
func appendBatchResult(b []byte, id json.RawMessage, r *geo.LookupResult) []byte {
	if len(id) == 0 {
		return appendLookupResult(b, r)
	}
	b = append(b, `{"id":`...)
	b = appendCompact(b, id)
	b = append(b, ',')
	return appendLookupFields(b, r)
}

// appendBatchJSON is appendBatchResult for a result already encoded as
// appendLookupResult writes it.
func appendBatchJSON(b []byte, id json.RawMessage, result []byte) []byte {
	if len(id) == 0 {
		return append(b, result...)
	}
	b = append(b, `{"id":`...)
	b = appendCompact(b, id)
	b = append(b, ',')
	return append(b, result[1:]...)
}

// appendCompact appends raw JSON with insignificant space removed, as the
// encoder does with a json.RawMessage.
func appendCompact(b []byte, raw json.RawMessage) []byte {
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		case '"':
			j := i + 1
			for ; j < len(raw) && raw[j] != '"'; j++ {
				if raw[j] == '\\' {
					j++
				}
			}
			b = append(b, raw[i:min(j+1, len(raw))]...)
			i = j
			continue
		}
		b = append(b, c)
	}
	return b
}

func appendAreaRefs(b []byte, as []geo.AreaRef) []byte {
	if as == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i := range as {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendAreaRef(b, &as[i])
	}
	return append(b, ']')
}

func appendAreaRef(b []byte, a *geo.AreaRef) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, a.ID, 10)
	b = append(b, `,"level":`...)
	b = appendString(b, a.Level)
	b = append(b, `,"code":`...)
	b = appendString(b, a.Code)
	b = append(b, `,"name":`...)
	b = appendString(b, a.Name)
	return append(b, '}')
}

func appendResponsible(b []byte, r *geo.Responsible) []byte {
	b = append(b, `{"role":`...)
	b = appendString(b, string(r.Role))
	b = append(b, `,"role_zh":`...)
	b = appendString(b, r.RoleZH)
	for _, f := range [...]struct{ key, value string }{
		{`,"name":`, r.Name}, {`,"phone":`, r.Phone}, {`,"photo":`, r.Photo}, {`,"area":`, r.Area}, {`,"building":`, r.Building},
	} {
		if f.value != "" { // omitempty
			b = append(b, f.key...)
			b = appendString(b, f.value)
		}
	}
	return append(b, '}')
}

const hexDigits = "0123456789abcdef"

// appendString is encoding/json's string encoding without HTML escaping:
// quotes, backslashes and control characters escaped (\b \f \n \r \t by
// name), invalid UTF-8 as \ufffd, U+2028 and U+2029 escaped.
func appendString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		if c := s[i]; c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// writeLookupResult writes r as writeJSON would (status 200, one line).
func writeLookupResult(w http.ResponseWriter, r *geo.LookupResult) {
	b := appendLookupResult(make([]byte, 0, 2048), r)
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write(append(b, '\n'))
}
