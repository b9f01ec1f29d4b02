package api

import (
	"bytes"
	"errors"
	"io"
	"math"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gorilla/mux"
	"github.com/paulmach/orb"

	"gridmap/calendar"
	"gridmap/cases"
	"gridmap/geo"
)

// caseRoutes registers /api/v1/cases… when a case service is configured.
func (s *Server) caseRoutes(r *mux.Router) {
	if s.Cases == nil {
		return
	}
	v1 := func(path string, h http.HandlerFunc, methods ...string) {
		r.HandleFunc("/api/v1"+path, h).Methods(methods...)
	}
	v1("/cases", s.handle(s.handleCaseIntake), http.MethodPost)
	v1("/cases/categories", s.handle(s.handleCaseCategories), http.MethodGet)
	v1("/cases/track/{code}", s.handle(s.handleCaseTrack), http.MethodGet)
	if _, ok := s.Cases.(cases.Follower); ok {
		v1("/cases/nearby", s.handle(s.handleCasesNearby), http.MethodGet)
		v1("/cases/follow/{key}", s.handle(s.handleCaseFollowed), http.MethodGet)
	}
	v1("/cases/{code}/rating", s.handle(s.handleCaseRating), http.MethodPost)
	v1("/cases/{code}/reopen", s.handle(s.handleCaseReopen), http.MethodPost)
	v1("/cases", s.staff(geo.UserViewer, s.handle(s.handleCaseList)), http.MethodGet)
	v1("/cases/{id:[0-9]+}", s.staff(geo.UserViewer, s.handle(s.handleCase)), http.MethodGet)
	v1("/cases/{id:[0-9]+}/actions", s.staff(geo.UserViewer, s.handle(s.handleCaseAction)), http.MethodPost)
	v1("/cases/{id:[0-9]+}/photos", s.staff(geo.UserViewer, s.handle(s.handleCasePhotoUpload)), http.MethodPost)
	v1("/cases/photos/{id:[0-9]+}", s.staff(geo.UserViewer, s.handle(s.handleCasePhoto)), http.MethodGet)
	v1("/areas/{key}/case-stats", s.staff(geo.UserViewer, s.handle(s.handleCaseStats)), http.MethodGet)
	v1("/calendar/days", s.staff(geo.UserAdmin, s.handle(s.handleCalendarDays)), http.MethodPost)
	// The staff cases layer: registered before the public tile routes, never
	// in the shared tile cache.
	r.HandleFunc("/tiles/cases/{z:[0-9]+}/{x:[0-9]+}/{y:[0-9]+}.{ext:mvt|pbf}", s.staff(geo.UserViewer, s.handle(s.handleCasesTile))).Methods(http.MethodGet)
}

// casesTileMinZoom: below it a tile would cover too many cases to be useful.
const casesTileMinZoom = 8

// GET /tiles/cases/{z}/{x}/{y}.mvt[?all=true][&the list's filter: status, category, …]
// — staff only, Cache-Control private. The cases the list's filter selects
// (parseCaseFilter), open ones only unless all=true.
func (s *Server) handleCasesTile(w http.ResponseWriter, r *http.Request) error {
	src, ok := s.Cases.(cases.TileSource)
	if !ok {
		return geo.Errorf(geo.ENotFound, "the cases layer is not available")
	}
	v := mux.Vars(r)
	z, errZ := strconv.Atoi(v["z"])
	x, errX := strconv.Atoi(v["x"])
	y, errY := strconv.Atoi(v["y"])
	if errZ != nil || errX != nil || errY != nil || z > 22 {
		return geo.Errorf(geo.EInvalid, "tile z/x/y must be whole numbers with z at most 22, got %s/%s/%s", v["z"], v["x"], v["y"])
	}
	if z < casesTileMinZoom {
		return geo.Errorf(geo.EInvalid, "the cases layer starts at zoom %d, got %d", casesTileMinZoom, z)
	}
	if n := 1 << z; x >= n || y >= n {
		return geo.Errorf(geo.EInvalid, "at zoom %d x and y must be below %d, got %d/%d", z, n, x, y)
	}
	all, err := parseBool("all", r.URL.Query().Get("all"))
	if err != nil {
		return err
	}
	f, err := parseCaseFilter(r.URL.Query())
	if err != nil {
		return err
	}
	f.Open = f.Open || !all
	b, err := src.CasesTile(r.Context(), staffOf(r), z, x, y, f)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", contentTypeMVT)
	w.Header().Set("Cache-Control", "private, no-store")
	w.Header().Set("Vary", "Cookie, Authorization")
	_, err = w.Write(b)
	return err
}

// maxCasePhotoBody is the body limit of a photo upload (8 MB and multipart overhead).
const maxCasePhotoBody = cases.MaxPhotoBytes + 64<<10

func isCasePhotoUpload(r *http.Request) bool {
	return r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/api/v1/cases/") && strings.HasSuffix(r.URL.Path, "/photos")
}

func staffOf(r *http.Request) *geo.User {
	if id := identityOf(r); id != nil {
		return id.user
	}
	return nil
}

type intakeRequest struct {
	Category    string   `json:"category"`
	Lon         *float64 `json:"lon"`
	Lat         *float64 `json:"lat"`
	CRS         string   `json:"crs"`
	Address     string   `json:"address"`
	Building    string   `json:"building"`
	Description string   `json:"description"`
	Phone       string   `json:"phone"`
	Source      string   `json:"source"` // staff only: grid_worker, hotline, staff
}

// POST /api/v1/cases — anonymous or signed in. Signed-in browser sessions
// need the CSRF header as on every staff write.
func (s *Server) handleCaseIntake(w http.ResponseWriter, r *http.Request) error {
	id := identityOf(r)
	if id != nil && id.session != nil {
		if got := r.Header.Get("X-CSRF-Token"); got == "" || got != id.session.CSRFToken {
			return geo.Errorf(geo.EForbidden, "missing or wrong X-CSRF-Token header; take it from GET /api/v1/session")
		}
	}
	var req intakeRequest
	var uploads [][]byte
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt == "multipart/form-data" {
		var err error
		if uploads, err = readIntakeForm(r, &req); err != nil {
			return err
		}
	} else if err := decodeJSON(r, &req); err != nil {
		return err
	}
	in, err := req.intake(id != nil)
	if err != nil {
		return err
	}
	in.Uploads = uploads
	if in.IdempotencyKey, err = idempotencyKey(r); err != nil {
		return err
	}
	res, err := s.Cases.Intake(r.Context(), staffOf(r), in)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, res)
	return nil
}

// idempotencyKey reads the optional Idempotency-Key header of a case write:
// 8 to 128 characters of A–Z, a–z, 0–9, "-", "_", ".", ":" (a UUID fits). A
// retry with the same key gets the first request's outcome (data.claimRequestKey).
func idempotencyKey(r *http.Request) (string, error) {
	k := r.Header.Get("Idempotency-Key")
	if k == "" {
		return "", nil
	}
	ok := len(k) >= 8 && len(k) <= 128
	for i := 0; ok && i < len(k); i++ {
		c := k[i]
		ok = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("-_.:", c) >= 0
	}
	if !ok {
		return "", geo.Errorf(geo.EInvalid, "Idempotency-Key must be 8 to 128 letters, digits, '-', '_', '.' or ':' (a UUID), got %q", k)
	}
	return k, nil
}

// maxIntakeFormBody bounds a report sent with its photos (multipart): the
// photos at their limit and room for the JSON part and the boundaries.
const maxIntakeFormBody = cases.MaxIntakePhotos*cases.MaxIntakePhotoBytes + 64<<10

func isCaseIntakeForm(r *http.Request) bool {
	return r.Method == http.MethodPost && r.URL.Path == "/api/v1/cases" && strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data")
}

// readIntakeForm reads a report sent as multipart/form-data: a "case" part
// with the JSON of the plain intake and up to cases.MaxIntakePhotos "photo"
// parts (JPEG, PNG or WebP; re-encoded by the store). Parts are read as they
// come, each bounded, so nothing larger than the limits is held.
func readIntakeForm(r *http.Request, req *intakeRequest) ([][]byte, error) {
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, geo.Errorf(geo.EInvalid, "the form cannot be read: %v", err)
	}
	var photos [][]byte
	seenCase := false
	for {
		part, err := mr.NextPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, formErr(err)
		}
		switch part.FormName() {
		case "case":
			if seenCase {
				return nil, geo.Errorf(geo.EInvalid, "the form has more than one \"case\" part")
			}
			seenCase = true
			b, err := io.ReadAll(io.LimitReader(part, 64<<10))
			if err != nil {
				return nil, formErr(err)
			}
			if !utf8.Valid(b) {
				return nil, geo.Errorf(geo.EInvalid, "the \"case\" part must be UTF-8 JSON")
			}
			if err := decodeJSONFrom(bytes.NewReader(b), req); err != nil {
				return nil, err
			}
		case "photo":
			if len(photos) == cases.MaxIntakePhotos {
				return nil, geo.Errorf(geo.EInvalid, "a report may carry at most %d photos", cases.MaxIntakePhotos)
			}
			b, err := io.ReadAll(io.LimitReader(part, cases.MaxIntakePhotoBytes+1))
			if err != nil {
				return nil, formErr(err)
			}
			if len(b) > cases.MaxIntakePhotoBytes {
				return nil, geo.Errorf(geo.ETooLarge, "photo %d is larger than %d MB", len(photos)+1, cases.MaxIntakePhotoBytes>>20)
			}
			photos = append(photos, b)
		default:
			return nil, geo.Errorf(geo.EInvalid, "unknown form part %q; send \"case\" (JSON) and up to %d \"photo\" files", part.FormName(), cases.MaxIntakePhotos)
		}
	}
	if !seenCase {
		return nil, geo.Errorf(geo.EInvalid, "the form has no \"case\" part (the report as JSON)")
	}
	return photos, nil
}

// formErr passes a body-limit error on (413) and calls anything else a malformed form.
func formErr(err error) error {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return err
	}
	return geo.Errorf(geo.EInvalid, "the form cannot be read: %v", err)
}

func (req intakeRequest) intake(staff bool) (cases.Intake, error) {
	if req.Lon == nil || req.Lat == nil {
		return cases.Intake{}, geo.Errorf(geo.EInvalid, "lon and lat are required (degrees)")
	}
	if math.IsNaN(*req.Lon) || math.IsNaN(*req.Lat) {
		return cases.Intake{}, geo.Errorf(geo.EInvalid, "lon and lat must be numbers")
	}
	crs, err := geo.ParseCRS(req.CRS)
	if err != nil {
		return cases.Intake{}, err
	}
	if err := geo.ValidateLonLat(*req.Lon, *req.Lat); err != nil {
		return cases.Intake{}, err
	}
	in := cases.Intake{Category: req.Category, Point: geo.ToWGS84(orb.Point{*req.Lon, *req.Lat}, crs), Address: req.Address,
		BuildingCode: req.Building, Description: req.Description, Phone: req.Phone}
	if req.Source != "" {
		if !staff {
			return cases.Intake{}, geo.Errorf(geo.EInvalid, "source is set by staff only")
		}
		in.Source = cases.Source(req.Source)
		if !in.Source.Valid() {
			return cases.Intake{}, geo.Errorf(geo.EInvalid, "unknown source %q; use grid_worker, hotline or staff", req.Source)
		}
	}
	return in, nil
}

type categoryJSON struct {
	Code  string `json:"code"`
	Group string `json:"group"`
	Zh    string `json:"zh"`
	En    string `json:"en"`
	Tier  int    `json:"tier"`
}

// GET /api/v1/cases/categories
func (s *Server) handleCaseCategories(w http.ResponseWriter, r *http.Request) error {
	var out []categoryJSON
	for _, c := range cases.DefaultCatalogue().Categories() {
		out = append(out, categoryJSON{c.Code, string(c.Group), c.Zh, c.En, int(c.Tier)})
	}
	w.Header().Set("Cache-Control", "public, max-age=3600")
	// The states in a case's order of life (cases.States): the desk's tabs.
	writeJSON(w, http.StatusOK, map[string]any{"categories": out, "states": cases.States})
	return nil
}

// GET /api/v1/cases/track/{code} — public: no names, phones or internal notes.
func (s *Server) handleCaseTrack(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Cases.Track(r.Context(), mux.Vars(r)["code"])
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, p)
	return nil
}

// GET /api/v1/cases/nearby?lon=&lat=&crs=&category= — open cases near a
// point before a resident reports: category, state, public summary, the day;
// a follow key, never the tracking code.
func (s *Server) handleCasesNearby(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	p, err := parseLonLat(q.Get("lon"), q.Get("lat"), q.Get("crs"))
	if err != nil {
		return err
	}
	out, err := s.Cases.(cases.Follower).Nearby(r.Context(), q.Get("category"), p)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, map[string]any{"cases": out})
	return nil
}

// GET /api/v1/cases/follow/{key} — the public status of a followed case.
func (s *Server) handleCaseFollowed(w http.ResponseWriter, r *http.Request) error {
	p, err := s.Cases.(cases.Follower).Followed(r.Context(), mux.Vars(r)["key"])
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, p)
	return nil
}

type ratingRequest struct {
	Rating int    `json:"rating"`
	Note   string `json:"note"`
}

// POST /api/v1/cases/{code}/rating {"rating":1–5,"note"} — the reporter, by tracking code.
func (s *Server) handleCaseRating(w http.ResponseWriter, r *http.Request) error {
	var req ratingRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	p, err := s.Cases.Rate(r.Context(), mux.Vars(r)["code"], req.Rating, req.Note)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

type reopenRequest struct {
	Reason string `json:"reason"`
}

// POST /api/v1/cases/{code}/reopen {"reason"} — the reporter's "not solved",
// by tracking code, within the reopening window after closing.
func (s *Server) handleCaseReopen(w http.ResponseWriter, r *http.Request) error {
	var req reopenRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	p, err := s.Cases.Reopen(r.Context(), mux.Vars(r)["code"], req.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// GET /api/v1/cases?area=&status=&category=&tier=&overdue=&open=&assigned=me&bbox=&from=&to=&q=&counts=&order=due&cursor=&limit=
func (s *Server) handleCaseList(w http.ResponseWriter, r *http.Request) error {
	f, err := parseCaseFilter(r.URL.Query())
	if err != nil {
		return err
	}
	page, err := s.Cases.List(r.Context(), staffOf(r), f)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "private, no-store")
	writeJSON(w, http.StatusOK, page)
	return nil
}

// parseCaseFilter reads the worklist's filter from a query: the list's and
// the cases tiles' one parser (a bad value: EInvalid, 400).
func parseCaseFilter(q url.Values) (cases.Filter, error) {
	f := cases.Filter{AreaCode: q.Get("area"), Category: q.Get("category"), Text: q.Get("q"), Cursor: q.Get("cursor"), Order: cases.Order(q.Get("order"))}
	if st := q.Get("status"); st != "" {
		for _, x := range strings.Split(st, ",") {
			f.States = append(f.States, cases.State(strings.TrimSpace(x)))
		}
	}
	var err error
	if f.Overdue, err = parseBool("overdue", q.Get("overdue")); err != nil {
		return f, err
	}
	if f.Open, err = parseBool("open", q.Get("open")); err != nil {
		return f, err
	}
	if f.Counts, err = parseBool("counts", q.Get("counts")); err != nil {
		return f, err
	}
	if t := q.Get("tier"); t != "" {
		n, err := strconv.Atoi(t)
		if err != nil || !cases.Tier(n).Valid() {
			return f, geo.Errorf(geo.EInvalid, "tier must be 1 (grid) to 4 (district), got %q", t)
		}
		f.Tier = cases.Tier(n)
	}
	switch q.Get("assigned") {
	case "":
	case "me":
		f.AssignedMe = true
	default:
		return f, geo.Errorf(geo.EInvalid, "assigned may only be \"me\", got %q", q.Get("assigned"))
	}
	if f.Bound, err = parseBBox(q.Get("bbox")); err != nil {
		return f, err
	}
	if f.From, err = parseInstant("from", q.Get("from"), false); err != nil {
		return f, err
	}
	if f.To, err = parseInstant("to", q.Get("to"), true); err != nil {
		return f, err
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return f, geo.Errorf(geo.EInvalid, "limit must be a positive whole number, got %q", l)
		}
		f.Limit = n
	}
	return f, nil
}

func parseBool(name, s string) (bool, error) {
	switch s {
	case "":
		return false, nil
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	}
	return false, geo.Errorf(geo.EInvalid, "%s must be true or false, got %q", name, s)
}

// parseInstant reads RFC 3339 or a date YYYY-MM-DD in China Standard Time:
// a date as from is its start, as to the start of the next day (to is exclusive).
func parseInstant(name, s string, end bool) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	d, err := time.ParseInLocation("2006-01-02", s, calendar.Shanghai())
	if err != nil {
		return time.Time{}, geo.Errorf(geo.EInvalid, "%s must be a date YYYY-MM-DD or an RFC 3339 time, got %q", name, s)
	}
	if end {
		d = d.AddDate(0, 0, 1)
	}
	return d, nil
}

func caseID(r *http.Request) (int64, error) {
	return parseID("case id", mux.Vars(r)["id"])
}

// GET /api/v1/cases/{id}
func (s *Server) handleCase(w http.ResponseWriter, r *http.Request) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	rec, err := s.Cases.Case(r.Context(), staffOf(r), id)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "private, no-store")
	writeJSON(w, http.StatusOK, rec)
	return nil
}

type actionRequest struct {
	Action     string   `json:"action"`
	Version    int64    `json:"version"`
	Note       string   `json:"note"`
	PublicNote string   `json:"public_note"`
	Reason     string   `json:"reason"`
	ToUnit     int64    `json:"to_unit"`
	Photos     []int64  `json:"photos"`
	Deadline   string   `json:"deadline"`
	MergedInto string   `json:"merged_into"`
	Category   string   `json:"category"`
	Lon        *float64 `json:"lon"`
	Lat        *float64 `json:"lat"`
	CRS        string   `json:"crs"`
}

// POST /api/v1/cases/{id}/actions {action, version, note, public_note, reason, to_unit, photos, deadline, merged_into, category, lon, lat, crs}
func (s *Server) handleCaseAction(w http.ResponseWriter, r *http.Request) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	var req actionRequest
	if err := decodeJSON(r, &req); err != nil {
		return err
	}
	if req.Action == "" {
		return geo.Errorf(geo.EInvalid, "action is required")
	}
	if req.Version < 1 {
		return geo.Errorf(geo.EInvalid, "version is required: the version of the case you saw")
	}
	ar := cases.ActionRequest{Action: cases.Action(req.Action), Version: req.Version, Note: req.Note, PublicNote: req.PublicNote,
		Reason: req.Reason, ToUnit: req.ToUnit, Photos: req.Photos, MergedInto: req.MergedInto, Category: req.Category}
	if req.Deadline != "" {
		if ar.Deadline, err = time.Parse(time.RFC3339, req.Deadline); err != nil {
			return geo.Errorf(geo.EInvalid, "deadline must be an RFC 3339 time, got %q", req.Deadline)
		}
	}
	if req.Lon != nil || req.Lat != nil {
		if req.Lon == nil || req.Lat == nil {
			return geo.Errorf(geo.EInvalid, "give both lon and lat")
		}
		crs, err := geo.ParseCRS(req.CRS)
		if err != nil {
			return err
		}
		if err := geo.ValidateLonLat(*req.Lon, *req.Lat); err != nil {
			return err
		}
		p := geo.ToWGS84(orb.Point{*req.Lon, *req.Lat}, crs)
		ar.Lon, ar.Lat = &p[0], &p[1]
	}
	if ar.IdempotencyKey, err = idempotencyKey(r); err != nil {
		return err
	}
	rec, err := s.Cases.Act(r.Context(), staffOf(r), id, ar)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rec)
	return nil
}

// POST /api/v1/cases/{id}/photos — the image as the body (image/jpeg,
// image/png, image/webp) or as the "photo" part of multipart/form-data.
// Re-encoded: EXIF and GPS are gone. → {"id"}
func (s *Server) handleCasePhotoUpload(w http.ResponseWriter, r *http.Request) error {
	id, err := caseID(r)
	if err != nil {
		return err
	}
	body, err := photoBody(r)
	if err != nil {
		return err
	}
	pid, err := s.Cases.AddPhoto(r.Context(), staffOf(r), id, body)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, map[string]int64{"id": pid})
	return nil
}

func photoBody(r *http.Request) ([]byte, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return nil, geo.Errorf(geo.EInvalid, "Content-Type must be image/jpeg, image/png, image/webp or multipart/form-data")
	}
	switch mt {
	case "image/jpeg", "image/png", "image/webp":
		return io.ReadAll(r.Body)
	case "multipart/form-data":
		f, _, err := r.FormFile("photo")
		if err != nil {
			if err == http.ErrMissingFile {
				return nil, geo.Errorf(geo.EInvalid, "the form has no \"photo\" file")
			}
			return nil, geo.Errorf(geo.EInvalid, "the form cannot be read: %v", err)
		}
		defer f.Close()
		return io.ReadAll(f)
	}
	return nil, geo.Errorf(geo.EInvalid, "Content-Type must be image/jpeg, image/png, image/webp or multipart/form-data, got %q", mt)
}

// GET /api/v1/cases/photos/{id} — staff only, never cached by shared caches.
func (s *Server) handleCasePhoto(w http.ResponseWriter, r *http.Request) error {
	id, err := parseID("photo id", mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	ct, body, err := s.Cases.Photo(r.Context(), staffOf(r), id)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "private, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	_, err = w.Write(body)
	return err
}

// GET /api/v1/areas/{key}/case-stats?from=&to= (neither: the store's
// default period, cases.DefaultStatsPeriod)
func (s *Server) handleCaseStats(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	from, err := parseInstant("from", q.Get("from"), false)
	if err != nil {
		return err
	}
	to, err := parseInstant("to", q.Get("to"), true)
	if err != nil {
		return err
	}
	st, err := s.Cases.Stats(r.Context(), staffOf(r), mux.Vars(r)["key"], from, to)
	if err != nil {
		return err
	}
	w.Header().Set("Cache-Control", "private, no-store")
	writeJSON(w, http.StatusOK, st)
	return nil
}

// POST /api/v1/calendar/days — admins; the body is holiday data in the
// format of calendar/holidays/YYYY.txt ("2028-01-01 off 元旦", one day a
// line), as text/plain. The days take effect for new deadlines at once in
// this process, in others at their next start.
func (s *Server) handleCalendarDays(w http.ResponseWriter, r *http.Request) error {
	ca, ok := s.Cases.(cases.CalendarAdmin)
	if !ok {
		return geo.Errorf(geo.ENotFound, "the working calendar cannot be changed here")
	}
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "text/plain" {
		return geo.Errorf(geo.EInvalid, "Content-Type must be text/plain (lines \"YYYY-MM-DD off|work NAME\")")
	}
	days, err := calendar.ParseDays(r.Body)
	if err != nil {
		return geo.Errorf(geo.EInvalid, "%v", err)
	}
	if len(days) == 0 {
		return geo.Errorf(geo.EInvalid, "no days given")
	}
	if err := ca.AddHolidayDays(r.Context(), staffOf(r), days); err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]int{"days": len(days)})
	return nil
}
