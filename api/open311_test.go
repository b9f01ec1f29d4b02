package api_test

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

func TestOpen311(t *testing.T) {
	f := newCaseAPI(t, "api_open311")
	get := func(path string) (int, string, []byte) {
		t.Helper()
		res, err := http.Get(f.srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header.Get("Content-Type"), b
	}
	post := func(path string, form url.Values) (int, []byte) {
		t.Helper()
		res, err := http.PostForm(f.srv.URL+path, form)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	if status, ct, body := get("/open311/v2/discovery.json"); status != 200 || !strings.HasPrefix(ct, "application/json") || !strings.Contains(string(body), "GeoReport_v2") {
		t.Errorf("discovery: %d %s %s", status, ct, body)
	}
	status, ct, body := get("/open311/v2/services.xml")
	var services struct {
		Services []struct {
			Code string `xml:"service_code"`
		} `xml:"service"`
	}
	if status != 200 || !strings.HasPrefix(ct, "text/xml") || xml.Unmarshal(body, &services) != nil || len(services.Services) != 46 {
		t.Errorf("services.xml: %d %s, %d services; want 46", status, ct, len(services.Services))
	}
	if status, _, body := get("/open311/v2/services/exposed_rubbish.json"); status != 200 || !strings.Contains(string(body), `"attributes":[]`) {
		t.Errorf("service definition: %d %s", status, body)
	}
	if status, _, body := get("/open311/v2/services/ufo.json"); status != 404 || !strings.Contains(string(body), `"code":404`) {
		t.Errorf("unknown service: %d %s, want a 404 in the spec's error format", status, body)
	}
	const phone = "13600002222"
	status, body = post("/open311/v2/requests.json", url.Values{"service_code": {"exposed_rubbish"}, "lat": {ftoa(f.lat)},
		"long": {ftoa(f.lon)}, "description": {"垃圾"}, "phone": {phone}, "email": {"a@b.c"}, "first_name": {"张"}})
	var created []struct {
		ID string `json:"service_request_id"`
	}
	if status != 201 || json.Unmarshal(body, &created) != nil || len(created) != 1 || created[0].ID == "" {
		t.Fatalf("POST requests: %d %s", status, body)
	}
	id := created[0].ID
	status, body = post("/open311/v2/requests.xml", url.Values{"service_code": {"exposed_rubbish"}, "description": {"x"}})
	var errs struct {
		Errors []struct {
			Code int `xml:"code"`
		} `xml:"error"`
	}
	if status != 400 || xml.Unmarshal(body, &errs) != nil || len(errs.Errors) != 1 || errs.Errors[0].Code != 400 {
		t.Errorf("POST without a location: %d %s, want a 400 <errors>", status, body)
	}
	for _, path := range []string{"/open311/v2/requests/" + id + ".json", "/open311/v2/requests.json?service_request_id=" + id, "/open311/v2/tokens/" + id + ".json"} {
		status, _, body := get(path)
		if status != 200 || !strings.Contains(string(body), id) {
			t.Errorf("%s: %d %s", path, status, body)
		}
		for _, secret := range []string{phone, "张", "a@b.c", ftoa(f.lat)} {
			if strings.Contains(string(body), secret) {
				t.Errorf("%s shows %q: %s", path, secret, body)
			}
		}
	}
	if status, _, body := get("/open311/v2/requests.json"); status != 400 {
		t.Errorf("the list of everyone's requests: %d %s, want 400", status, body)
	}
	if status, _, _ := get("/open311/v2/servicerequestupdates.json"); status != 401 {
		t.Errorf("updates without a token: %d, want 401", status)
	}
}

func ftoa(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
