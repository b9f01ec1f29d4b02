package api

import (
	"net/http"
	"strings"

	"github.com/gorilla/mux"
	"github.com/paulmach/orb/geojson"

	"gridmap/geo"
)

// partitionRoutes: proposals of grids for an area (划网格), for editors in
// scope (the scope check is the edit pipeline's, in data).
func (s *Server) partitionRoutes(r *mux.Router) {
	if s.Partitions == nil || s.Auth == nil {
		return
	}
	r.HandleFunc("/api/v1/partitions/preview", s.staff(geo.UserEditor, s.handle(s.handlePartitionPreview))).Methods(http.MethodPost)
	r.HandleFunc("/api/v1/partitions", s.staff(geo.UserEditor, s.handle(s.handlePartitionApply))).Methods(http.MethodPost)
}

// partitionBody is the JSON of both routes: the request and, to apply, why.
type partitionBody struct {
	geo.PartitionRequest
	Reason string `json:"reason"`
}

// partitionResponse is the proposal with its grids as GeoJSON and, once
// applied, the change.
type partitionResponse struct {
	*geo.PartitionProposal
	GeoJSON *geojson.FeatureCollection `json:"geojson"`
	Result  *geo.EditResult            `json:"result,omitempty"`
}

func parsePartition(r *http.Request) (partitionBody, error) {
	var b partitionBody
	if err := decodeJSON(r, &b); err != nil {
		return b, err
	}
	if err := geo.CheckText("mode", b.Mode, 20); err != nil {
		return b, err
	}
	if err := geo.CheckText("reason", b.Reason, 1000); err != nil {
		return b, err
	}
	b.Actor = actorOf(r)
	return b, nil
}

// POST /api/v1/partitions/preview: a proposal, previewed as an edit.
func (s *Server) handlePartitionPreview(w http.ResponseWriter, r *http.Request) error {
	b, err := parsePartition(r)
	if err != nil {
		return err
	}
	p, err := s.Partitions.Propose(r.Context(), b.PartitionRequest)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, partitionResponse{PartitionProposal: p, GeoJSON: p.FeatureCollection()})
	return nil
}

// POST /api/v1/partitions: compute the same proposal (deterministic for the
// seed and the data) and commit it as one change.
func (s *Server) handlePartitionApply(w http.ResponseWriter, r *http.Request) error {
	b, err := parsePartition(r)
	if err != nil {
		return err
	}
	if strings.TrimSpace(b.Reason) == "" {
		return geo.Errorf(geo.EInvalid, "reason is required: say why the grids are redrawn")
	}
	p, res, err := s.Partitions.Apply(r.Context(), b.PartitionRequest, strings.TrimSpace(b.Reason))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, partitionResponse{PartitionProposal: p, GeoJSON: p.FeatureCollection(), Result: res})
	return nil
}
