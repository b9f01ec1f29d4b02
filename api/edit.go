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

// actorOf is the signed-in user the services authorize a write against.
func actorOf(r *http.Request) *geo.User { return identityOf(r).user }

// POST /api/v1/edits/preview: validation and impact, nothing committed.
func (s *Server) handleEditPreview(w http.ResponseWriter, r *http.Request) error {
	req, err := parseEdit(r)
	if err != nil {
		return err
	}
	req.Actor, req.Author = actorOf(r), actorOf(r).Name
	p, err := s.Edits.Preview(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, p)
	return nil
}

// POST /api/v1/edits: commit an edit that validates (422 with the report otherwise).
func (s *Server) handleEditApply(w http.ResponseWriter, r *http.Request) error {
	req, err := parseEdit(r)
	if err != nil {
		return err
	}
	if req.Reason == "" {
		return geo.Errorf(geo.EInvalid, "reason is required: say why the boundary changes")
	}
	req.Actor, req.Author = actorOf(r), actorOf(r).Name
	res, err := s.Edits.Apply(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

type renameBody struct {
	Name    string `json:"name"`
	Code    string `json:"code"`
	Version int64  `json:"version"`
	Reason  string `json:"reason"`
}

// PATCH /api/v1/areas/{key} {"name","code","version","reason"}: rename and/or recode.
func (s *Server) handleRename(w http.ResponseWriter, r *http.Request) error {
	var b renameBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	a, err := s.areaFromPath(r)
	if err != nil {
		return err
	}
	res, err := s.Edits.Rename(r.Context(), geo.RenameRequest{AreaID: a.ID, Version: b.Version, Name: b.Name, Code: b.Code, Reason: b.Reason,
		Author: actorOf(r).Name, Actor: actorOf(r)})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
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
func (s *Server) handleCreatePerson(w http.ResponseWriter, r *http.Request) error {
	var b personBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	p, err := s.Edits.CreatePerson(r.Context(), geo.Person{Name: b.Name, Phone: b.Phone, PublicName: b.PublicName, PublicPhone: b.PublicPhone, PublicPhoto: b.PublicPhoto},
		actorOf(r).Name, b.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, p)
	return nil
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
func (s *Server) handleAssignDuty(w http.ResponseWriter, r *http.Request) error {
	var b dutyBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	from, err := parseDay("valid_from", b.ValidFrom)
	if err != nil {
		return err
	}
	req := geo.DutyRequest{PersonID: b.PersonID, BuildingCode: b.Building, Role: geo.Role(b.Role), ValidFrom: from, Reason: b.Reason,
		Author: actorOf(r).Name, Actor: actorOf(r)}
	if b.Area != "" {
		a, err := s.Areas.Area(r.Context(), b.Area)
		if err != nil {
			return err
		}
		req.AreaID = a.ID
	}
	d, err := s.Edits.AssignDuty(r.Context(), req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusCreated, d)
	return nil
}

// POST /api/v1/duties/{id}/end {"valid_to","reason"}
func (s *Server) handleEndDuty(w http.ResponseWriter, r *http.Request) error {
	id, err := parseID("duty id", mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	var b dutyBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	to, err := parseDay("valid_to", b.ValidTo)
	if err != nil {
		return err
	}
	d, err := s.Edits.EndDuty(r.Context(), id, to, actorOf(r), b.Reason)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, d)
	return nil
}

// GET /api/v1/changes?area=&limit=
func (s *Server) handleChanges(w http.ResponseWriter, r *http.Request) error {
	var areaID int64
	if k := r.URL.Query().Get("area"); k != "" {
		a, err := s.Areas.Area(r.Context(), k)
		if err != nil {
			return err
		}
		areaID = a.ID
	}
	limit := 0
	if l := r.URL.Query().Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			return geo.Errorf(geo.EInvalid, "limit must be a whole number from 1 to 500, got %q", l)
		}
		limit = n
	}
	cs, err := s.Edits.Changes(r.Context(), areaID, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"changes": cs})
	return nil
}

type revertBody struct {
	Reason string `json:"reason"`
}

// POST /api/v1/changes/{id}/revert {"reason"}: a new change, validated like any other.
func (s *Server) handleRevert(w http.ResponseWriter, r *http.Request) error {
	id, err := parseID("change id", mux.Vars(r)["id"])
	if err != nil {
		return err
	}
	var b revertBody
	if err := decodeJSON(r, &b); err != nil {
		return err
	}
	if strings.TrimSpace(b.Reason) == "" {
		return geo.Errorf(geo.EInvalid, "reason is required")
	}
	res, err := s.Edits.Apply(r.Context(), geo.EditRequest{Op: geo.OpRevert, Change: id, Reason: b.Reason, Author: actorOf(r).Name, Actor: actorOf(r)})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// GET /api/v1/areas/{key}/stats: households, residents and balance of the children.
func (s *Server) handleStats(w http.ResponseWriter, r *http.Request) error {
	a, err := s.areaFromPath(r)
	if err != nil {
		return err
	}
	st, err := s.Edits.Stats(r.Context(), a.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, st)
	return nil
}
