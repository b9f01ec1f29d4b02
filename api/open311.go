package api

import (
	"encoding/json"
	"encoding/xml"
	"net/http"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/paulmach/orb"

	"gridmap/cases"
	"gridmap/geo"
)

// Open311 GeoReport v2 (https://wiki.open311.org/GeoReport_v2) over the case
// store, with mySociety's servicerequestupdates. service_code is the category
// code, service_request_id the tracking code. Answers are JSON or XML by the
// path's extension; errors are in the spec's format. Departures from the spec,
// for residents' privacy: GET requests needs service_request_id (the list of
// everyone's requests is not public), answers carry no description, address
// or coordinates, and names and e-mail addresses sent with a request are not
// stored (a phone is, as for POST /api/v1/cases).
func (s *Server) open311Routes(r *mux.Router) {
	if s.Cases == nil {
		return
	}
	const f = ".{format:json|xml}"
	r.HandleFunc("/open311/v2/discovery"+f, s.open311(s.handleO311Discovery)).Methods(http.MethodGet)
	r.HandleFunc("/open311/v2/services"+f, s.open311(s.handleO311Services)).Methods(http.MethodGet)
	r.HandleFunc("/open311/v2/services/{code}"+f, s.open311(s.handleO311Service)).Methods(http.MethodGet)
	r.HandleFunc("/open311/v2/requests"+f, s.open311(s.handleO311Requests)).Methods(http.MethodGet)
	r.HandleFunc("/open311/v2/requests"+f, s.open311(s.handleO311Post)).Methods(http.MethodPost)
	r.HandleFunc("/open311/v2/requests/{id}"+f, s.open311(s.handleO311Request)).Methods(http.MethodGet)
	r.HandleFunc("/open311/v2/tokens/{token}"+f, s.open311(s.handleO311Token)).Methods(http.MethodGet)
	r.HandleFunc("/open311/v2/servicerequestupdates"+f, s.open311(s.handleO311Updates)).Methods(http.MethodGet)
}

// o311 is an answer: the value for JSON and the value for XML.
type o311 struct {
	status int
	json   any
	xml    any
}

type o311Func func(r *http.Request) (o311, error)

type o311Error struct {
	XMLName     xml.Name `json:"-" xml:"error"`
	Code        int      `json:"code" xml:"code"`
	Description string   `json:"description" xml:"description"`
}

type o311Errors struct {
	XMLName xml.Name    `xml:"errors"`
	Errors  []o311Error `xml:"error"`
}

func (s *Server) open311(h o311Func) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		asXML := mux.Vars(r)["format"] == "xml"
		out, err := h(r)
		if err != nil {
			status := s.statusLogged(r, err)
			e := o311Error{Code: status, Description: geo.ErrorMessage(err)}
			out = o311{status: status, json: []o311Error{e}, xml: o311Errors{Errors: []o311Error{e}}}
		}
		if out.status == 0 {
			out.status = http.StatusOK
		}
		if asXML {
			w.Header().Set("Content-Type", "text/xml; charset=utf-8")
			w.WriteHeader(out.status)
			_, _ = w.Write([]byte(xml.Header))
			_ = xml.NewEncoder(w).Encode(out.xml)
			return
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(out.status)
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		_ = enc.Encode(out.json)
	}
}

type o311Endpoint struct {
	Specification string   `json:"specification" xml:"specification"`
	URL           string   `json:"url" xml:"url"`
	Changeset     string   `json:"changeset" xml:"changeset"`
	Type          string   `json:"type" xml:"type"`
	Formats       []string `json:"formats" xml:"formats>format"`
}

type o311Discovery struct {
	XMLName    xml.Name       `json:"-" xml:"discovery"`
	Changeset  string         `json:"changeset" xml:"changeset"`
	Contact    string         `json:"contact" xml:"contact"`
	KeyService string         `json:"key_service" xml:"key_service"`
	Endpoints  []o311Endpoint `json:"endpoints" xml:"endpoints>endpoint"`
}

func (s *Server) baseURL(r *http.Request) string {
	if s.PublicURL != "" {
		return strings.TrimRight(s.PublicURL, "/")
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func (s *Server) handleO311Discovery(r *http.Request) (o311, error) {
	d := o311Discovery{Changeset: "2026-12-01T00:00:00Z", Contact: "the deployment's operator",
		KeyService: "no key needed; staff use an API token (POST /api/v1/tokens)",
		Endpoints: []o311Endpoint{{Specification: "http://wiki.open311.org/GeoReport_v2", URL: s.baseURL(r) + "/open311/v2",
			Changeset: "2026-12-01T00:00:00Z", Type: "production", Formats: []string{"application/json", "text/xml"}}}}
	return o311{json: d, xml: d}, nil
}

type o311Service struct {
	XMLName     xml.Name `json:"-" xml:"service"`
	Code        string   `json:"service_code" xml:"service_code"`
	Name        string   `json:"service_name" xml:"service_name"`
	Description string   `json:"description" xml:"description"`
	Metadata    bool     `json:"metadata" xml:"metadata"`
	Type        string   `json:"type" xml:"type"`
	Keywords    string   `json:"keywords" xml:"keywords"`
	Group       string   `json:"group" xml:"group"`
}

type o311Services struct {
	XMLName  xml.Name      `xml:"services"`
	Services []o311Service `xml:"service"`
}

func serviceOf(c cases.Category) o311Service {
	return o311Service{Code: c.Code, Name: c.Zh + " / " + c.En, Description: c.Closing, Type: "realtime",
		Keywords: c.En, Group: cases.GroupNames[c.Group]}
}

func (s *Server) handleO311Services(r *http.Request) (o311, error) {
	var list []o311Service
	for _, c := range cases.DefaultCatalogue().Categories() {
		list = append(list, serviceOf(c))
	}
	return o311{json: list, xml: o311Services{Services: list}}, nil
}

type o311Definition struct {
	XMLName    xml.Name `json:"-" xml:"service_definition"`
	Code       string   `json:"service_code" xml:"service_code"`
	Attributes []any    `json:"attributes" xml:"attributes"`
}

func (s *Server) handleO311Service(r *http.Request) (o311, error) {
	code := mux.Vars(r)["code"]
	if _, ok := cases.DefaultCatalogue().Category(code); !ok {
		return o311{}, geo.Errorf(geo.ENotFound, "no service %q", code)
	}
	d := o311Definition{Code: code, Attributes: []any{}}
	return o311{json: d, xml: d}, nil
}

type o311Request struct {
	XMLName     xml.Name `json:"-" xml:"request"`
	ID          string   `json:"service_request_id" xml:"service_request_id"`
	Status      string   `json:"status" xml:"status"`
	StatusNotes string   `json:"status_notes" xml:"status_notes"`
	ServiceName string   `json:"service_name" xml:"service_name"`
	ServiceCode string   `json:"service_code" xml:"service_code"`
	Requested   string   `json:"requested_datetime" xml:"requested_datetime"`
	Updated     string   `json:"updated_datetime" xml:"updated_datetime"`
}

type o311Requests struct {
	XMLName  xml.Name      `xml:"service_requests"`
	Requests []o311Request `xml:"request"`
}

// o311Status is open for every state but the finished ones.
func o311Status(st cases.State) string {
	switch st {
	case cases.StateClosed, cases.StateRated, cases.StateRejected, cases.StateMerged:
		return "closed"
	}
	return "open"
}

func requestOf(p *cases.PublicCase) o311Request {
	rq := o311Request{ID: p.TrackingCode, Status: o311Status(p.State), ServiceCode: p.Category,
		Requested: p.ReportedAt.Format(time.RFC3339), Updated: p.ReportedAt.Format(time.RFC3339)}
	if c, ok := cases.DefaultCatalogue().Category(p.Category); ok {
		rq.ServiceName = c.Zh + " / " + c.En
	}
	for _, e := range p.Timeline {
		rq.Updated = e.At.Format(time.RFC3339)
		if e.PublicNote != "" {
			rq.StatusNotes = e.PublicNote
		}
	}
	if p.MergedInto != "" {
		rq.StatusNotes = "merged into " + p.MergedInto + (map[bool]string{true: "; " + rq.StatusNotes}[rq.StatusNotes != ""])
	}
	return rq
}

func (s *Server) requestsByID(r *http.Request, ids []string) (o311, error) {
	if len(ids) > 50 {
		return o311{}, geo.Errorf(geo.EInvalid, "at most 50 service_request_id values, got %d", len(ids))
	}
	var list []o311Request
	for _, id := range ids {
		p, err := s.Cases.Track(r.Context(), strings.TrimSpace(id))
		if err != nil {
			if len(ids) == 1 {
				return o311{}, err
			}
			continue
		}
		list = append(list, requestOf(p))
	}
	if list == nil {
		list = []o311Request{}
	}
	return o311{json: list, xml: o311Requests{Requests: list}}, nil
}

func (s *Server) handleO311Requests(r *http.Request) (o311, error) {
	ids := r.URL.Query().Get("service_request_id")
	if ids == "" {
		return o311{}, geo.Errorf(geo.EInvalid, "service_request_id is required: this server does not publish the list of everyone's requests")
	}
	return s.requestsByID(r, strings.Split(ids, ","))
}

func (s *Server) handleO311Request(r *http.Request) (o311, error) {
	return s.requestsByID(r, []string{mux.Vars(r)["id"]})
}

type o311Created struct {
	XMLName xml.Name `json:"-" xml:"request"`
	ID      string   `json:"service_request_id" xml:"service_request_id"`
	Notice  string   `json:"service_notice" xml:"service_notice"`
	Account *string  `json:"account_id" xml:"account_id"`
}

type o311CreatedList struct {
	XMLName  xml.Name      `xml:"service_requests"`
	Requests []o311Created `xml:"request"`
}

// POST /open311/v2/requests.{fmt} — form-encoded (or multipart) service_code,
// lat, long, address_string, description, phone. Answered at once with the
// tracking code as service_request_id (no token needed).
func (s *Server) handleO311Post(r *http.Request) (o311, error) {
	if err := r.ParseMultipartForm(1 << 20); err != nil && err != http.ErrNotMultipart {
		return o311{}, geo.Errorf(geo.EInvalid, "the request body is not a form: %v", err)
	}
	v := r.PostForm
	if v.Get("service_code") == "" {
		return o311{}, geo.Errorf(geo.EInvalid, "service_code is required")
	}
	lon, err := parseCoord("long", v.Get("long"))
	if err != nil {
		return o311{}, geo.Errorf(geo.EInvalid, "lat and long are required (this server does not geocode address_string alone): %s", geo.ErrorMessage(err))
	}
	lat, err := parseCoord("lat", v.Get("lat"))
	if err != nil {
		return o311{}, err
	}
	in := cases.Intake{Category: v.Get("service_code"), Point: orb.Point{lon, lat}, Address: v.Get("address_string"),
		Description: v.Get("description"), Phone: v.Get("phone"), Source: cases.SourceOpen311}
	if in.Description == "" {
		in.Description = v.Get("service_code")
	}
	res, err := s.Cases.Intake(r.Context(), nil, in)
	if err != nil {
		return o311{}, err
	}
	notice := ""
	if len(res.Duplicates) > 0 {
		notice = "similar open requests nearby: " + res.Duplicates[0].TrackingCode
	}
	c := o311Created{ID: res.TrackingCode, Notice: notice}
	return o311{status: http.StatusCreated, json: []o311Created{c}, xml: o311CreatedList{Requests: []o311Created{c}}}, nil
}

type o311Token struct {
	XMLName xml.Name `json:"-" xml:"request"`
	ID      string   `json:"service_request_id" xml:"service_request_id"`
	Token   string   `json:"token" xml:"token"`
}

type o311Tokens struct {
	XMLName  xml.Name    `xml:"service_requests"`
	Requests []o311Token `xml:"request"`
}

// GET /open311/v2/tokens/{token} — requests are created synchronously, so the
// token is the tracking code itself.
func (s *Server) handleO311Token(r *http.Request) (o311, error) {
	p, err := s.Cases.Track(r.Context(), mux.Vars(r)["token"])
	if err != nil {
		return o311{}, err
	}
	t := o311Token{ID: p.TrackingCode, Token: mux.Vars(r)["token"]}
	return o311{json: []o311Token{t}, xml: o311Tokens{Requests: []o311Token{t}}}, nil
}

type o311Update struct {
	XMLName     xml.Name `json:"-" xml:"request_update"`
	UpdateID    string   `json:"update_id" xml:"update_id"`
	ID          string   `json:"service_request_id" xml:"service_request_id"`
	Status      string   `json:"status" xml:"status"`
	Updated     string   `json:"updated_datetime" xml:"updated_datetime"`
	Description string   `json:"description" xml:"description"`
	MediaURL    string   `json:"media_url" xml:"media_url"`
}

type o311Updates struct {
	XMLName xml.Name     `xml:"service_request_updates"`
	Updates []o311Update `xml:"request_update"`
}

// GET /open311/v2/servicerequestupdates.{fmt}?start_date=&end_date= — staff
// with an API token, for the cases in their area.
func (s *Server) handleO311Updates(r *http.Request) (o311, error) {
	src, ok := s.Cases.(cases.UpdateSource)
	if !ok {
		return o311{}, geo.Errorf(geo.ENotFound, "servicerequestupdates is not available")
	}
	q := r.URL.Query()
	from, err := parseInstant("start_date", q.Get("start_date"), false)
	if err != nil {
		return o311{}, err
	}
	to, err := parseInstant("end_date", q.Get("end_date"), false)
	if err != nil {
		return o311{}, err
	}
	if to.IsZero() {
		to = time.Now().Add(time.Minute)
	}
	if from.IsZero() {
		from = to.Add(-24 * time.Hour)
	}
	us, err := src.Updates(r.Context(), staffOf(r), from, to, 1000)
	if err != nil {
		return o311{}, err
	}
	list := make([]o311Update, 0, len(us))
	for _, u := range us {
		list = append(list, o311Update{UpdateID: jsonInt(u.ID), ID: u.TrackingCode, Status: o311Status(u.State),
			Updated: u.At.Format(time.RFC3339), Description: u.PublicNote})
	}
	return o311{json: list, xml: o311Updates{Updates: list}}, nil
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}
