package api

import (
	"net/http"
	"strconv"

	"github.com/gorilla/mux"

	"gridmap/geo"
)

// GET /api/v1/levels
func (s *Server) handleLevels(w http.ResponseWriter, r *http.Request) error {
	ls, err := s.Areas.Levels(r.Context())
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"levels": ls})
	return nil
}

// parseAreaFilter reads level, parent (id or code), under (id or code: the
// subtree), q (name or code), bbox, limit.
func (s *Server) parseAreaFilter(r *http.Request) (geo.AreaFilter, error) {
	q := r.URL.Query()
	var f geo.AreaFilter
	f.Level = q.Get("level")
	if f.Level != "" && !validKey(f.Level) {
		return f, geo.Errorf(geo.EInvalid, "level must be lower-case letters, digits and _, got %q", f.Level)
	}
	var err error
	if f.ParentID, err = s.areaParam(r, "parent"); err != nil {
		return f, err
	}
	if f.Under, err = s.areaParam(r, "under"); err != nil {
		return f, err
	}
	f.Text = q.Get("q")
	if f.Bound, err = parseBBox(q.Get("bbox")); err != nil {
		return f, err
	}
	if l := q.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 100000 {
			return f, geo.Errorf(geo.EInvalid, "limit must be a whole number from 1 to 100000, got %q", l)
		}
		f.Limit = n
	}
	return f, nil
}

// areaParam is the id of the area that query parameter name names (id or
// code), 0 when it is absent; an unknown area is invalid input.
func (s *Server) areaParam(r *http.Request, name string) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		return 0, nil
	}
	a, err := s.Areas.Area(r.Context(), v)
	if err != nil {
		if geo.ErrorCode(err) == geo.ENotFound {
			return 0, geo.Errorf(geo.EInvalid, "%s %q matches no area", name, v)
		}
		return 0, err
	}
	return a.ID, nil
}

// GET /api/v1/areas?level=&parent=&under=&q=&bbox=&limit=
func (s *Server) handleAreas(w http.ResponseWriter, r *http.Request) error {
	f, err := s.parseAreaFilter(r)
	if err != nil {
		return err
	}
	as, err := s.Areas.FindAreas(r.Context(), f)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"areas": as})
	return nil
}

// GET /api/v1/areas.geojson?level=&parent=&bbox=
func (s *Server) handleAreasGeoJSON(w http.ResponseWriter, r *http.Request) error {
	f, err := s.parseAreaFilter(r)
	if err != nil {
		return err
	}
	return s.writeGeoJSON(w, r, f)
}

func (s *Server) writeGeoJSON(w http.ResponseWriter, r *http.Request, f geo.AreaFilter) error {
	fc, err := s.Areas.AreasGeoJSON(r.Context(), f)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/geo+json")
	w.WriteHeader(http.StatusOK)
	w.Write(fc)
	return nil
}

func (s *Server) areaFromPath(r *http.Request) (*geo.Area, error) {
	return s.Areas.Area(r.Context(), mux.Vars(r)["key"])
}

// areaDetail is an area with its chain of ancestors.
type areaDetail struct {
	geo.Area
	Chain []geo.AreaRef `json:"chain"`
}

// GET /api/v1/areas/{id or code}
func (s *Server) handleArea(w http.ResponseWriter, r *http.Request) error {
	a, err := s.areaFromPath(r)
	if err != nil {
		return err
	}
	chain, err := s.Areas.AreaChain(r.Context(), a.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, areaDetail{Area: *a, Chain: chain})
	return nil
}

// GET /api/v1/areas/{key}/children
func (s *Server) handleAreaChildren(w http.ResponseWriter, r *http.Request) error {
	a, err := s.areaFromPath(r)
	if err != nil {
		return err
	}
	as, err := s.Areas.FindAreas(r.Context(), geo.AreaFilter{ParentID: a.ID})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"areas": as})
	return nil
}

// GET /api/v1/areas/{key}/versions
func (s *Server) handleAreaVersions(w http.ResponseWriter, r *http.Request) error {
	a, err := s.areaFromPath(r)
	if err != nil {
		return err
	}
	vs, err := s.Areas.AreaVersions(r.Context(), a.ID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"versions": vs})
	return nil
}

// GET /api/v1/areas/{key}.geojson
func (s *Server) handleAreaGeoJSON(w http.ResponseWriter, r *http.Request) error {
	a, err := s.areaFromPath(r)
	if err != nil {
		return err
	}
	return s.writeGeoJSON(w, r, geo.AreaFilter{ID: a.ID})
}

// GET /api/v1/areas/{key}/responsible: duties in force, public fields only.
func (s *Server) handleAreaResponsible(w http.ResponseWriter, r *http.Request) error {
	a, err := s.areaFromPath(r)
	if err != nil {
		return err
	}
	rs, err := s.People.Responsible(r.Context(), a.ID, 0)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, map[string]any{"responsible": rs})
	return nil
}
