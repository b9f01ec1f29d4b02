package api

import (
	"bytes"
	"encoding/json"
	"testing"

	"gridmap/geo"
)

// stdJSON is what writeJSON and the batch used to write: encoding/json
// without HTML escaping, with its newline.
func stdJSON(t testing.TB, v any) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func sampleResult(s string) geo.LookupResult {
	ref := geo.AreaRef{ID: 42, Level: "grid", Code: "330199001001002", Name: s}
	return geo.LookupResult{
		Areas: []geo.AreaRef{{ID: 1, Level: "district", Code: "330199", Name: "示范区"}, ref},
		Grid:  &ref,
		Responsible: []geo.Responsible{
			{Role: geo.RoleGridLeader, RoleZH: "网格长", Name: s, Phone: "14000000000", Photo: "/api/v1/photos/7", Area: ref.Code},
			{Role: geo.RoleVolunteer, RoleZH: "志愿者", Area: s},
			{Role: geo.RoleBuildingLeader, RoleZH: "楼栋长", Building: s},
		},
		Ambiguous:    true,
		Alternatives: []geo.AreaRef{{ID: 43, Level: "grid", Code: s, Name: "二"}},
	}
}

func TestLookupJSONMatchesEncodingJSON(t *testing.T) {
	strs := []string{"", "幸福社区第01网格", `quote " and \ backslash`, "<b>&amp;</b>", "tab\tnew\nline\rcr\bbs\fff",
		"\x00\x01\x1f\x7f", "bad \xff\xfe utf-8", "line\u2028para\u2029sep", "emoji 😀", "\xe2\x80"}
	for _, s := range strs {
		r := sampleResult(s)
		for _, tc := range []struct {
			name string
			r    geo.LookupResult
		}{
			{"full", r},
			{"no grid", geo.LookupResult{Areas: []geo.AreaRef{}, Responsible: []geo.Responsible{}, Alternatives: []geo.AreaRef{}}},
			{"nil slices", geo.LookupResult{Grid: r.Grid}},
		} {
			t.Run(tc.name+" "+s, func(t *testing.T) {
				want := stdJSON(t, &tc.r)
				got := append(appendLookupResult(nil, &tc.r), '\n')
				if !bytes.Equal(got, want) {
					t.Errorf("got  %s\nwant %s", got, want)
				}
				for _, id := range []string{"", "7", `"a-1"`, ` { "k" : [1, 2] , "s": "x y" } `, `"q\"\\ "`} {
					want := stdJSON(t, batchResult{ID: json.RawMessage(id), LookupResult: tc.r})
					got := append(appendBatchResult(nil, json.RawMessage(id), &tc.r), '\n')
					if !bytes.Equal(got, want) {
						t.Errorf("id %q:\ngot  %s\nwant %s", id, got, want)
					}
					got = append(appendBatchJSON(nil, json.RawMessage(id), appendLookupResult(nil, &tc.r)), '\n')
					if !bytes.Equal(got, want) {
						t.Errorf("id %q, from the encoded result:\ngot  %s\nwant %s", id, got, want)
					}
				}
			})
		}
	}
}

func FuzzLookupJSON(f *testing.F) {
	for _, s := range []string{"a", "\xff", "\u2028", `"\`, "\x00"} {
		f.Add(s, `"id"`)
	}
	f.Fuzz(func(t *testing.T, s, id string) {
		r := sampleResult(s)
		if want, got := stdJSON(t, &r), append(appendLookupResult(nil, &r), '\n'); !bytes.Equal(got, want) {
			t.Fatalf("%q:\ngot  %s\nwant %s", s, got, want)
		}
		if !json.Valid([]byte(id)) {
			return // the batch parser only lets valid ids through
		}
		if want, got := stdJSON(t, batchResult{ID: json.RawMessage(id), LookupResult: r}), append(appendBatchResult(nil, json.RawMessage(id), &r), '\n'); !bytes.Equal(got, want) {
			t.Fatalf("id %q:\ngot  %s\nwant %s", id, got, want)
		}
	})
}

func BenchmarkLookupJSON(b *testing.B) {
	r := sampleResult("幸福社区第01网格")
	b.Run("encoding/json", func(b *testing.B) {
		for b.Loop() {
			var buf bytes.Buffer
			enc := json.NewEncoder(&buf)
			enc.SetEscapeHTML(false)
			enc.Encode(&r)
		}
	})
	b.Run("appendLookupResult", func(b *testing.B) {
		for b.Loop() {
			appendLookupResult(make([]byte, 0, 2048), &r)
		}
	})
}
