package api

import (
	"net/http"
	"strconv"
	"unicode/utf8"

	"github.com/gorilla/mux"
	"github.com/paulmach/orb"

	"gridmap/geo"
)

// buildingJSON is a building's face in the API and on pages. Its counts
// follow the small-count rule (geo.CountPolicy): they shadow the embedded
// Building's exact ones.
type buildingJSON struct {
	geo.Building
	Counts geo.ShownCounts `json:"counts"`
	Lon    float64         `json:"lon"`
	Lat    float64         `json:"lat"`
}

func (s *Server) toBuildingJSON(b geo.Building, aud geo.Audience) buildingJSON {
	b.GridID = 0
	return buildingJSON{Building: b, Counts: s.cfg.Counts.Show(b.Counts, aud, true), Lon: b.Point[0], Lat: b.Point[1]}
}

// audience is who r comes from for the small-count rule: staff when signed
// in (session or token, any role), the public otherwise.
func audience(r *http.Request) geo.Audience {
	if id := identityOf(r); id != nil && id.user != nil {
		return geo.Staff
	}
	return geo.Public
}

// GET /api/v1/buildings?bbox=&q=&limit=
func (s *Server) handleBuildings(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	var f geo.BuildingFilter
	b, err := parseBBox(q.Get("bbox"))
	if err != nil {
		return err
	}
	f.Bound = b
	f.Query = q.Get("q")
	if !utf8.ValidString(f.Query) || utf8.RuneCountInString(f.Query) > maxAddressRunes {
		return geo.Errorf(geo.EInvalid, "q must be valid UTF-8 of at most %d characters", maxAddressRunes)
	}
	if f.Bound == nil && f.Query == "" {
		return geo.Errorf(geo.EInvalid, "give bbox=minLon,minLat,maxLon,maxLat or q=TEXT")
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 1000 {
			return geo.Errorf(geo.EInvalid, "limit must be a whole number from 1 to 1000, got %q", l)
		}
		f.Limit = n
	}
	bs, err := s.Buildings.FindBuildings(r.Context(), f)
	if err != nil {
		return err
	}
	aud := audience(r)
	w.Header().Add("Vary", "Cookie, Authorization") // staff get exact counts
	out := make([]buildingJSON, len(bs))
	for i, b := range bs {
		out[i] = s.toBuildingJSON(b, aud)
	}
	writeJSON(w, http.StatusOK, map[string]any{"buildings": out})
	return nil
}

// buildingDetail is a building with its areas and the people responsible.
type buildingDetail struct {
	Building    buildingJSON      `json:"building"`
	Areas       []geo.AreaRef     `json:"areas"`
	Grid        *geo.AreaRef      `json:"grid"`
	Responsible []geo.Responsible `json:"responsible"`
	Ambiguous   bool              `json:"ambiguous"`
}

// GET /api/v1/buildings/{code}
func (s *Server) handleBuilding(w http.ResponseWriter, r *http.Request) error {
	b, err := s.Buildings.Building(r.Context(), mux.Vars(r)["code"])
	if err != nil {
		return err
	}
	lr, err := s.Lookup.LookupPoint(r.Context(), geo.LookupQuery{Point: orb.Point{b.Point[0], b.Point[1]}})
	if err != nil {
		return err
	}
	var gridID int64
	if lr.Grid != nil {
		gridID = lr.Grid.ID
	}
	resp, err := s.People.Responsible(r.Context(), gridID, b.ID)
	if err != nil {
		return err
	}
	w.Header().Add("Vary", "Cookie, Authorization") // staff get exact counts
	writeJSON(w, http.StatusOK, buildingDetail{Building: s.toBuildingJSON(*b, audience(r)), Areas: lr.Areas, Grid: lr.Grid, Responsible: resp, Ambiguous: lr.Ambiguous})
	return nil
}

// GET /api/v1/photos/{id}: a person's photo, only when the person made it public.
func (s *Server) handlePhoto(w http.ResponseWriter, r *http.Request) error {
	id, err := parseID("photo id", mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	ct, body, err := s.People.Photo(r.Context(), id)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Cache-Control", "public, max-age=3600")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	if ct == "image/svg+xml" {
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
	}
	w.Write(body)
	return nil
}
