package api_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"net/url"
	"strings"
	"testing"

	"gridmap/cases"
)

// intakeForm builds a multipart report: the JSON "case" part and photo parts.
func intakeForm(t *testing.T, caseJSON string, photos ...[]byte) (string, []byte) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="case"`)
	h.Set("Content-Type", "application/json")
	pw, _ := mw.CreatePart(h)
	pw.Write([]byte(caseJSON))
	for i, p := range photos {
		fw, _ := mw.CreateFormFile("photo", fmt.Sprintf("p%d.jpg", i))
		fw.Write(p)
	}
	mw.Close()
	return mw.FormDataContentType(), buf.Bytes()
}

// TestCaseIntakeWithPhotos: a resident's report carries its photos; they are
// stored re-encoded (the EXIF GPS is gone), attached to the first event, and
// the public view counts them.
func TestCaseIntakeWithPhotos(t *testing.T) {
	f := newCaseAPI(t, "api_case_intake_photos")
	anon := f.login(t, "")
	ct, body := intakeForm(t, fmt.Sprintf(`{"category":"exposed_rubbish","lon":%v,"lat":%v,"description":"门口垃圾"}`, f.lon, f.lat),
		jpegWithGPS(t), jpegWithGPS(t))
	status, out := anon.upload(t, "/api/v1/cases", ct, body)
	if status != 201 {
		t.Fatalf("intake with photos: %d %s", status, out)
	}
	res := decode[cases.IntakeResult](t, out)
	if res.Public.Photos != 2 {
		t.Errorf("public view counts %d photos, want 2", res.Public.Photos)
	}
	admin := f.login(t, "admin")
	var id int64
	if err := f.db.Pool.QueryRow(t.Context(), `SELECT id FROM case_report WHERE tracking_code = $1`, cases.NormalizeTrackingCode(res.TrackingCode)).Scan(&id); err != nil {
		t.Fatal(err)
	}
	status, out = admin.do(t, "GET", fmt.Sprintf("/api/v1/cases/%d", id), nil)
	rec := decode[cases.Record](t, out)
	if status != 200 || len(rec.Photos) != 2 || len(rec.Events) == 0 || len(rec.Events[0].Photos) != 2 {
		t.Fatalf("record: %d photos %v, first event %+v", status, rec.Photos, rec.Events)
	}
	status, img := admin.do(t, "GET", fmt.Sprintf("/api/v1/cases/photos/%d", rec.Photos[0]), nil)
	if status != 200 || !bytes.HasPrefix(img, []byte{0xFF, 0xD8}) {
		t.Fatalf("photo: %d, %d bytes", status, len(img))
	}
	for _, s := range []string{"Exif", "GPSLatitude"} {
		if bytes.Contains(img, []byte(s)) {
			t.Errorf("the stored photo still contains %q", s)
		}
	}
}

func TestCaseIntakeFormBadInput(t *testing.T) {
	f := newCaseAPI(t, "api_case_intake_form_bad")
	anon := f.login(t, "")
	ok := fmt.Sprintf(`{"category":"exposed_rubbish","lon":%v,"lat":%v,"description":"门口垃圾"}`, f.lon, f.lat)
	p := jpegWithGPS(t)
	for _, tc := range []struct {
		name   string
		json   string
		photos [][]byte
		want   int
	}{
		{"four photos", ok, [][]byte{p, p, p, p}, 400},
		{"not an image", ok, [][]byte{[]byte("GIF89a not really")}, 400},
		{"empty photo", ok, [][]byte{{}}, 400},
		{"photo over the intake limit", ok, [][]byte{append(append([]byte{}, p...), make([]byte, cases.MaxIntakePhotoBytes)...)}, 413},
		{"NUL in description", strings.Replace(ok, "门口垃圾", `a\u0000b`, 1), [][]byte{p}, 400},
		{"invalid UTF-8 in description", strings.Replace(ok, "门口垃圾", "a\xffb", 1), [][]byte{p}, 400},
		{"no case part", "", [][]byte{p}, 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ct string
			var body []byte
			if tc.json == "" {
				var buf bytes.Buffer
				mw := multipart.NewWriter(&buf)
				fw, _ := mw.CreateFormFile("photo", "p.jpg")
				fw.Write(p)
				mw.Close()
				ct, body = mw.FormDataContentType(), buf.Bytes()
			} else {
				ct, body = intakeForm(t, tc.json, tc.photos...)
			}
			status, out := anon.upload(t, "/api/v1/cases", ct, body)
			if status != tc.want {
				t.Fatalf("got %d %s, want %d", status, out, tc.want)
			}
			if !bytes.Contains(out, []byte(`"error"`)) {
				t.Errorf("no error object: %s", out)
			}
		})
	}
	var n int
	f.db.Pool.QueryRow(t.Context(), `SELECT count(*) FROM case_report`).Scan(&n)
	if n != 0 {
		t.Errorf("%d cases stored from refused reports", n)
	}
}

// TestCasesNearbyAndFollow: the public duplicates answer shows category,
// state, summary and day, and a follow key that reads the public status;
// never the tracking code, the description, the address or the phone.
func TestCasesNearbyAndFollow(t *testing.T) {
	f := newCaseAPI(t, "api_cases_nearby")
	anon := f.login(t, "")
	status, out := anon.do(t, "POST", "/api/v1/cases", map[string]any{"category": "exposed_rubbish", "lon": f.lon, "lat": f.lat,
		"description": "秘密描述", "phone": "13700002222", "address": "幸福路9号"})
	if status != 201 {
		t.Fatalf("intake: %d %s", status, out)
	}
	first := decode[cases.IntakeResult](t, out)
	q := url.Values{"lon": {fmt.Sprint(f.lon + 0.0001)}, "lat": {fmt.Sprint(f.lat)}, "category": {"exposed_rubbish"}}
	status, out = anon.do(t, "GET", "/api/v1/cases/nearby?"+q.Encode(), nil)
	if status != 200 {
		t.Fatalf("nearby: %d %s", status, out)
	}
	for _, secret := range []string{first.TrackingCode, cases.NormalizeTrackingCode(first.TrackingCode), "秘密描述", "13700002222", "幸福路9号"} {
		if bytes.Contains(out, []byte(secret)) {
			t.Errorf("nearby reveals %q: %s", secret, out)
		}
	}
	near := decode[struct{ Cases []cases.NearbyCase }](t, out)
	if len(near.Cases) != 1 || near.Cases[0].State != cases.StateReported || near.Cases[0].Category != "exposed_rubbish" ||
		near.Cases[0].ReportedOn == "" || near.Cases[0].AboutM > 20 {
		t.Fatalf("nearby: %+v", near.Cases)
	}
	q.Set("category", "illegal_posters")
	if _, out = anon.do(t, "GET", "/api/v1/cases/nearby?"+q.Encode(), nil); len(decode[struct{ Cases []cases.NearbyCase }](t, out).Cases) != 0 {
		t.Errorf("another category lists %s", out)
	}
	q.Del("category")
	if _, out = anon.do(t, "GET", "/api/v1/cases/nearby?"+q.Encode(), nil); len(decode[struct{ Cases []cases.NearbyCase }](t, out).Cases) != 1 {
		t.Errorf("without a category: %s", out)
	}
	status, out = anon.do(t, "GET", "/api/v1/cases/follow/"+near.Cases[0].Follow, nil)
	if status != 200 {
		t.Fatalf("follow: %d %s", status, out)
	}
	pub := decode[cases.PublicCase](t, out)
	if pub.TrackingCode != "" || pub.State != cases.StateReported || len(pub.Timeline) == 0 {
		t.Errorf("followed view: %+v", pub)
	}
	if bytes.Contains(out, []byte(cases.NormalizeTrackingCode(first.TrackingCode)[:5])) {
		t.Errorf("followed view reveals the tracking code: %s", out)
	}
	for _, tc := range []struct {
		name, path string
		want       int
	}{
		{"nearby without lon", "/api/v1/cases/nearby?lat=30", 400},
		{"nearby lat out of range", "/api/v1/cases/nearby?lon=120&lat=123", 400},
		{"nearby unknown category", "/api/v1/cases/nearby?lon=120&lat=30&category=nope", 400},
		{"nearby NUL category", "/api/v1/cases/nearby?lon=120&lat=30&category=a%00b", 400},
		{"nearby invalid UTF-8", "/api/v1/cases/nearby?lon=120&lat=30&category=%FF", 400},
		{"follow key not a UUID", "/api/v1/cases/follow/" + cases.NormalizeTrackingCode(first.TrackingCode), 400},
		{"follow key NUL", "/api/v1/cases/follow/%00", 400},
		{"follow key invalid UTF-8", "/api/v1/cases/follow/%FF%FE", 400},
		{"follow key unknown", "/api/v1/cases/follow/00000000-0000-4000-8000-000000000000", 404},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := anon.do(t, "GET", tc.path, nil)
			if status != tc.want {
				t.Errorf("got %d %s, want %d", status, out, tc.want)
			}
		})
	}
	// The tracking page shows the handling unit and the deadline.
	_, out = anon.do(t, "GET", "/api/v1/cases/track/"+first.TrackingCode, nil)
	tr := decode[cases.PublicCase](t, out)
	if tr.Unit == "" || tr.Due == nil {
		t.Errorf("track: unit %q due %v, want both", tr.Unit, tr.Due)
	}
	// A finished case is no longer offered nearby; its follow view still answers.
	var id int64
	if err := f.db.Pool.QueryRow(t.Context(), `SELECT id FROM case_report WHERE tracking_code = $1`, cases.NormalizeTrackingCode(first.TrackingCode)).Scan(&id); err != nil {
		t.Fatal(err)
	}
	admin := f.login(t, "admin")
	if status, out := admin.do(t, "POST", fmt.Sprintf("/api/v1/cases/%d/actions", id), map[string]any{"action": "reject", "version": 1, "reason": "不属于受理范围"}); status != http.StatusOK {
		t.Fatalf("reject: %d %s", status, out)
	}
	q.Set("category", "exposed_rubbish")
	if _, out = anon.do(t, "GET", "/api/v1/cases/nearby?"+q.Encode(), nil); len(decode[struct{ Cases []cases.NearbyCase }](t, out).Cases) != 0 {
		t.Errorf("a rejected case is still offered nearby: %s", out)
	}
	if status, out := anon.do(t, "GET", "/api/v1/cases/follow/"+near.Cases[0].Follow, nil); status != 200 || decode[cases.PublicCase](t, out).State != cases.StateRejected {
		t.Errorf("follow after rejection: %d %s", status, out)
	}
}
