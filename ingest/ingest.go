// Package ingest reads area and building files (GeoJSON, CSV, OpenStreetMap
// PBF) into geo values. It knows nothing of the database: it validates input,
// says what it could not read and why, and leaves storing to data/.
//
// Coordinates are EPSG:4326 longitude/latitude in degrees throughout.
package ingest

import (
	"encoding/json"
	"io"
	"math"
	"strconv"
	"time"
)

// PropString returns property key of props as a string: strings as they are,
// numbers without a trailing ".0" (the JSON number 7001 gives "7001", 1.50
// gives "1.5"), booleans as "true" or "false", and an array holding a single
// string, number or boolean as that value. A missing key, null, an object or
// any other array gives "". props may be nil.
func PropString(props map[string]any, key string) string {
	v, ok := props[key]
	if !ok {
		return ""
	}
	return scalarString(v, true)
}

// scalarString formats v as PropString does; unwrap allows one level of
// single-element array.
func scalarString(v any, unwrap bool) string {
	switch x := v.(type) {
	case string:
		return x
	case json.Number:
		return numberString(string(x))
	case float64:
		return floatString(x)
	case float32:
		return floatString(float64(x))
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case int32:
		return strconv.FormatInt(int64(x), 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		if unwrap && len(x) == 1 {
			return scalarString(x[0], false)
		}
	case []string:
		if unwrap && len(x) == 1 {
			return x[0]
		}
	}
	return ""
}

// numberString formats a JSON number literal: integers as written (so large
// identifiers keep every digit), other numbers in their shortest form without
// a trailing ".0".
func numberString(s string) string {
	if isDigits(s) && s != "-0" {
		return s
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s // out of float64 range: the literal is the best we have
	}
	return floatString(f)
}

func floatString(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1e15 {
		return strconv.FormatInt(int64(f), 10)
	}
	if math.Abs(f) < 1e21 {
		return strconv.FormatFloat(f, 'f', -1, 64)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// MatchWhere reports whether every key of where has, in props, a PropString
// equal to its value. An empty or nil where matches everything; a missing
// property matches only the value "".
func MatchWhere(props map[string]any, where map[string]string) bool {
	for k, want := range where {
		if PropString(props, k) != want {
			return false
		}
	}
	return true
}

// progressReader counts the bytes read through it and reports them to fn at
// most every interval (plus once when finish is called).
type progressReader struct {
	r        io.Reader
	fn       func(done, total int64)
	total    int64
	base     int64 // added to n, for readers that read a file several times
	scale    int64 // divides base+n, ditto; 1 for a single pass
	n        int64
	last     time.Time
	interval time.Duration
}

func newProgressReader(r io.Reader, total int64, fn func(done, total int64)) *progressReader {
	return &progressReader{r: r, fn: fn, total: total, scale: 1, interval: 100 * time.Millisecond}
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.r.Read(b)
	p.n += int64(n)
	if p.fn != nil && n > 0 {
		if now := time.Now(); now.Sub(p.last) >= p.interval {
			p.last = now
			p.fn(p.done(), p.total)
		}
	}
	return n, err
}

func (p *progressReader) done() int64 {
	d := (p.base + p.n) / p.scale
	if d > p.total {
		d = p.total
	}
	return d
}

// finish reports the final count.
func (p *progressReader) finish() {
	if p.fn != nil {
		p.fn(p.done(), p.total)
	}
}
