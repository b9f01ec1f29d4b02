package api

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gorilla/mux"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geojson"

	"gridmap/geo"
)

// editBody is the JSON of POST /api/v1/edits and /api/v1/edits/preview.
type editBody struct {
	Op       string           `json:"op"`
	Areas    []geo.VersionRef `json:"areas"`
	Geometry json.RawMessage  `json:"geometry"` // GeoJSON Polygon or MultiPolygon
	Line     json.RawMessage  `json:"line"`     // GeoJSON LineString
	Parent   int64            `json:"parent"`
	Name     string           `json:"name"`
	Code     string           `json:"code"`
	Names    []string         `json:"names"`
	Change   int64            `json:"change"`
	Reason   string           `json:"reason"`
}

// parseEdit decodes an edit body; If-Match (a version number) fills in the
// version of a single area when the body leaves it out.
func parseEdit(r *http.Request) (geo.EditRequest, error) {
	var b editBody
	if err := decodeJSON(r, &b); err != nil {
		return geo.EditRequest{}, err
	}
	req := geo.EditRequest{Op: b.Op, Areas: b.Areas, Parent: b.Parent, Name: b.Name, Code: b.Code, Names: b.Names, Change: b.Change, Reason: strings.TrimSpace(b.Reason)}
	if im := strings.Trim(r.Header.Get("If-Match"), `" `); im != "" && len(req.Areas) == 1 && req.Areas[0].Version == 0 {
		v, err := strconv.ParseInt(im, 10, 64)
		if err != nil {
			return req, geo.Errorf(geo.EInvalid, "If-Match must be an area version number, got %q", im)
		}
		req.Areas[0].Version = v
	}
	if len(b.Geometry) > 0 && string(b.Geometry) != "null" {
		g, err := geojson.UnmarshalGeometry(b.Geometry)
		if err != nil {
			return req, geo.Errorf(geo.EInvalid, "geometry must be a GeoJSON Polygon or MultiPolygon: %v", err)
		}
		switch t := g.Geometry().(type) {
		case orb.Polygon:
			req.Geometry = orb.MultiPolygon{t}
		case orb.MultiPolygon:
			req.Geometry = t
		default:
			return req, geo.Errorf(geo.EInvalid, "geometry must be a Polygon or MultiPolygon, got %s", g.Type)
		}
	}
	if len(b.Line) > 0 && string(b.Line) != "null" {
		g, err := geojson.UnmarshalGeometry(b.Line)
		if err != nil {
			return req, geo.Errorf(geo.EInvalid, "line must be a GeoJSON LineString: %v", err)
		}
		l, ok := g.Geometry().(orb.LineString)
		if !ok {
			return req, geo.Errorf(geo.EInvalid, "line must be a LineString, got %s", g.Type)
		}
		req.Line = l
	}
	switch req.Op {
	case geo.OpCreate, geo.OpReshape:
		if req.Geometry == nil {
			return req, geo.Errorf(geo.EInvalid, "%s needs geometry", req.Op)
		}
	case geo.OpMoveBorder, geo.OpSplit:
		if req.Line == nil {
			return req, geo.Errorf(geo.EInvalid, "%s needs line", req.Op)
		}
	}
	for _, a := range req.Areas {
		if a.ID <= 0 || a.Version < 0 {
			return req, geo.Errorf(geo.EInvalid, "areas must be [{\"id\":…,\"version\":…}] with positive ids")
		}
	}
	return req, nil
}

// authorizeEdit checks the user may change every area the edit touches:
// editors only strictly below their scope area (a new area's parent may be
// the scope area itself).
func (s *Server) authorizeEdit(r *http.Request, req geo.EditRequest) error {
	u := identityOf(r).user
	ids, err := s.Edits.AffectedAreas(r.Context(), req)
	if err != nil {
		return err
	}
	for _, id := range ids {
		if req.Op == geo.OpCreate && id == u.ScopeAreaID {
			continue
		}
		ok, err := s.Auth.InScope(r.Context(), u, id)
		if err != nil {
			return err
		}
		if !ok {
			return geo.Errorf(geo.EForbidden, "area %d is outside the scope of account %s (%s)", id, u.Name, u.ScopeCode)
		}
	}
	return nil
}

// POST /api/v1/edits/preview: validation and impact, nothing committed.
func (s *Server) handleEditPreview(w http.ResponseWriter, r *http.Request) {
	req, err := parseEdit(r)
	if err == nil {
		err = s.authorizeEdit(r, req)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req.Author = identityOf(r).user.Name
	p, err := s.Edits.Preview(r.Context(), req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// POST /api/v1/edits: commit an edit that validates (422 with the report otherwise).
func (s *Server) handleEditApply(w http.ResponseWriter, r *http.Request) {
	req, err := parseEdit(r)
	if err == nil && req.Reason == "" {
		err = geo.Errorf(geo.EInvalid, "reason is required: say why the boundary changes")
	}
	if err == nil {
		err = s.authorizeEdit(r, req)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req.Author = identityOf(r).user.Name
	res, err := s.Edits.Apply(r.Context(), req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

type renameBody struct {
	Name    string `json:"name"`
	Code    string `json:"code"`
	Version int64  `json:"version"`
	Reason  string `json:"reason"`
}

// PATCH /api/v1/areas/{key} {"name","code","version","reason"}: rename and/or recode.
func (s *Server) handleRename(w http.ResponseWriter, r *http.Request) {
	var b renameBody
	if err := decodeJSON(r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	a, err := s.areaFromPath(r)
	if err == nil {
		err = s.authorizeEdit(r, geo.EditRequest{Op: geo.OpReshape, Areas: []geo.VersionRef{{ID: a.ID}}})
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.Edits.Rename(r.Context(), geo.RenameRequest{AreaID: a.ID, Version: b.Version, Name: b.Name, Code: b.Code, Reason: b.Reason, Author: identityOf(r).user.Name})
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

type personBody struct {
	Name        string `json:"name"`
	Phone       string `json:"phone"`
	PublicName  bool   `json:"public_name"`
	PublicPhone bool   `json:"public_phone"`
	PublicPhoto bool   `json:"public_photo"`
	Reason      string `json:"reason"`
}

// POST /api/v1/people
func (s *Server) handleCreatePerson(w http.ResponseWriter, r *http.Request) {
	var b personBody
	if err := decodeJSON(r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	p, err := s.Edits.CreatePerson(r.Context(), geo.Person{Name: b.Name, Phone: b.Phone, PublicName: b.PublicName, PublicPhone: b.PublicPhone, PublicPhoto: b.PublicPhoto},
		identityOf(r).user.Name, b.Reason)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, p)
}

type dutyBody struct {
	PersonID  int64  `json:"person_id"`
	Area      string `json:"area"`     // code or id
	Building  string `json:"building"` // code, for building leaders
	Role      string `json:"role"`
	ValidFrom string `json:"valid_from"` // YYYY-MM-DD, default today
	ValidTo   string `json:"valid_to"`   // for ending
	Reason    string `json:"reason"`
}

// authorizeDuty: editors may manage duties at or below their scope area.
func (s *Server) authorizeDuty(r *http.Request, areaID int64) error {
	u := identityOf(r).user
	if areaID == u.ScopeAreaID {
		return nil
	}
	ok, err := s.Auth.InScope(r.Context(), u, areaID)
	if err != nil {
		return err
	}
	if !ok {
		return geo.Errorf(geo.EForbidden, "area %d is outside the scope of account %s", areaID, u.Name)
	}
	return nil
}

func parseDay(name, s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	d, err := time.Parse("2006-01-02", s)
	if err != nil {
		return d, geo.Errorf(geo.EInvalid, "%s must be a date YYYY-MM-DD, got %q", name, s)
	}
	return d, nil
}

// POST /api/v1/duties
func (s *Server) handleAssignDuty(w http.ResponseWriter, r *http.Request) {
	var b dutyBody
	if err := decodeJSON(r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	from, err := parseDay("valid_from", b.ValidFrom)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	req := geo.DutyRequest{PersonID: b.PersonID, BuildingCode: b.Building, Role: geo.Role(b.Role), ValidFrom: from, Reason: b.Reason, Author: identityOf(r).user.Name}
	var scopeArea int64
	if b.Area != "" {
		a, err := s.Areas.Area(r.Context(), b.Area)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		req.AreaID, scopeArea = a.ID, a.ID
	} else if b.Building != "" {
		bl, err := s.Buildings.Building(r.Context(), b.Building)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		scopeArea = bl.GridID
	}
	if err := s.authorizeDuty(r, scopeArea); err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.Edits.AssignDuty(r.Context(), req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, d)
}

// POST /api/v1/duties/{id}/end {"valid_to","reason"}
func (s *Server) handleEndDuty(w http.ResponseWriter, r *http.Request) {
	id, err := parseID("duty id", mux.Vars(r)["id"])
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var b dutyBody
	if err := decodeJSON(r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	to, err := parseDay("valid_to", b.ValidTo)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	area, err := s.Edits.DutyArea(r.Context(), id)
	if err == nil {
		err = s.authorizeDuty(r, area)
	}
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	d, err := s.Edits.EndDuty(r.Context(), id, to, identityOf(r).user.Name, b.Reason)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// GET /api/v1/changes?area=&limit=
func (s *Server) handleChanges(w http.ResponseWriter, r *http.Request) {
	var areaID int64
	if k := r.URL.Query().Get("area"); k != "" {
		a, err := s.Areas.Area(r.Context(), k)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		areaID = a.ID
	}
	limit := 0
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			s.writeError(w, r, geo.Errorf(geo.EInvalid, "limit must be a whole number from 1 to 500, got %q", l))
			return
		}
		limit = n
	}
	cs, err := s.Edits.Changes(r.Context(), areaID, limit)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"changes": cs})
}

type revertBody struct {
	Reason string `json:"reason"`
}

// POST /api/v1/changes/{id}/revert {"reason"}: a new change, validated like any other.
func (s *Server) handleRevert(w http.ResponseWriter, r *http.Request) {
	id, err := parseID("change id", mux.Vars(r)["id"])
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	var b revertBody
	if err := decodeJSON(r, &b); err != nil {
		s.writeError(w, r, err)
		return
	}
	if strings.TrimSpace(b.Reason) == "" {
		s.writeError(w, r, geo.Errorf(geo.EInvalid, "reason is required"))
		return
	}
	req := geo.EditRequest{Op: geo.OpRevert, Change: id, Reason: b.Reason, Author: identityOf(r).user.Name}
	if err := s.authorizeEdit(r, req); err != nil {
		s.writeError(w, r, err)
		return
	}
	res, err := s.Edits.Apply(r.Context(), req)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, res)
}

// GET /api/v1/areas/{key}/stats: households, residents and balance of the children.
func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) {
	a, err := s.areaFromPath(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	st, err := s.Edits.Stats(r.Context(), a.ID)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, st)
}
