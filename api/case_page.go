package api

import (
	"net/http"
	"time"

	"github.com/gorilla/mux"

	"gridmap/calendar"
	"gridmap/cases"
	"gridmap/geo"
)

// caseView is the resident's tracking page (/c/{code}): the public view of a
// case, with its texts looked up in the page's language. It never holds a
// person's name, a phone, the description or an internal note.
type caseView struct {
	Code        string // the tracking code (empty for a followed case)
	Follow      string // the follow key of a followed case
	Category    string
	State       cases.State
	Reported    string
	Closed      string
	Due         string
	Unit        string
	MergedInto  string
	Photos      int
	CanRate     bool
	CanReopen   bool
	ReopenUntil string
	Timeline    []caseEventView
}

type caseEventView struct {
	At         string
	Action     string
	To         cases.State
	PublicNote string
}

// caseTime formats an instant for the page, in China Standard Time.
func caseTime(t time.Time) string { return t.In(calendar.Shanghai()).Format("2006-01-02 15:04") }

// GET /c/{code} — the tracking page of a tracking code or, for a followed
// case, of its follow key (status only: no rating or reopening).
func (s *Server) handleCasePage(w http.ResponseWriter, r *http.Request) error {
	lang := s.Pages.Lang(r)
	code := mux.Vars(r)["code"]
	var p *cases.PublicCase
	var err error
	follower, canFollow := s.Cases.(cases.Follower)
	followed := canFollow && len(code) == 36
	if followed {
		p, err = follower.Followed(r.Context(), code)
	} else {
		p, err = s.Cases.Track(r.Context(), code)
	}
	if c := geo.ErrorCode(err); c == geo.EInvalid || c == geo.ENotFound {
		return s.pageError(w, r, lang, geo.Errorf(geo.ENotFound, "%v", err), s.Pages.T(lang, "case.notFound", "code", code))
	}
	if err != nil {
		return err
	}
	v := &caseView{Code: p.TrackingCode, Category: p.Category, State: p.State, Reported: caseTime(p.ReportedAt), Unit: p.Unit,
		MergedInto: p.MergedInto, Photos: p.Photos}
	if followed {
		v.Follow = code
	}
	if c, ok := cases.DefaultCatalogue().Category(p.Category); ok {
		v.Category = c.Zh
		if lang == "en" {
			v.Category = c.En
		}
	}
	if p.ClosedAt != nil {
		v.Closed = caseTime(*p.ClosedAt)
	}
	if p.Due != nil {
		v.Due = caseTime(*p.Due)
	}
	now := s.cfg.Now()
	if !followed && p.ReopenUntil != nil && now.Before(*p.ReopenUntil) {
		v.CanReopen, v.ReopenUntil = true, caseTime(*p.ReopenUntil)
	}
	v.CanRate = !followed && p.State == cases.StateClosed && !p.Rated
	for _, e := range p.Timeline {
		v.Timeline = append(v.Timeline, caseEventView{At: caseTime(e.At), Action: e.Action, To: e.To, PublicNote: e.PublicNote})
	}
	d := &pageData{Lang: lang, Kind: "case", PagePath: "/c/" + code, Case: v}
	d.PageURL = s.pageBase(r) + d.PagePath
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer") // the code in the URL is the key to rate and reopen
	return s.renderPage(w, r, "case.html", d)
}
