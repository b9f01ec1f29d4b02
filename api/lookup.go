package api

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"gridmap/geo"
)

// GET /api/v1/lookup?lon=&lat=[&crs=][&at=] or ?address=
func (s *Server) handleLookup(w http.ResponseWriter, r *http.Request) error {
	p, err := parseLookupParams(r.URL.Query())
	if err != nil {
		return err
	}
	if p.Address != "" {
		res, err := s.Lookup.LookupAddress(r.Context(), p.Address, p.Limit, p.Hierarchy)
		if err != nil {
			return err
		}
		writeJSON(w, http.StatusOK, res)
		return nil
	}
	q := geo.LookupQuery{Point: *p.Point, At: p.At, Hierarchy: p.Hierarchy}
	if enc, ok := s.Lookup.(encodedLookup); ok {
		b, err := enc.LookupPointJSON(r.Context(), q)
		if err != nil {
			return err
		}
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(http.StatusOK)
		w.Write(b) // shared: written, never changed
		io.WriteString(w, "\n")
		return nil
	}
	res, err := s.Lookup.LookupPoint(r.Context(), q)
	if err != nil {
		return err
	}
	writeLookupResult(w, res)
	return nil
}

// encodedLookup is implemented by lookup services that keep answers
// encoded (index.Service): LookupPointJSON returns the JSON that writeJSON
// would write for LookupPoint's answer, without the newline; LookupPointsJSON
// gives each of LookupPoints' answers so encoded. The slices may be shared.
type encodedLookup interface {
	LookupPointJSON(ctx context.Context, q geo.LookupQuery) ([]byte, error)
	LookupPointsJSON(ctx context.Context, points []orb.Point, at *time.Time, hierarchy string) ([][]byte, error)
}

// batchRequest is the body of POST /api/v1/lookup/batch.
type batchRequest struct {
	CRS       string       `json:"crs"`
	At        string       `json:"at"`
	Hierarchy string       `json:"hierarchy"`
	Points    []batchPoint `json:"points"`
}

type batchPoint struct {
	ID  json.RawMessage `json:"id,omitempty"` // echoed back as given
	Lon *float64        `json:"lon"`
	Lat *float64        `json:"lat"`
}

type batchResult struct {
	ID json.RawMessage `json:"id,omitempty"`
	geo.LookupResult
}

// DefaultMaxBatchPoints is the most points one batch request may carry when
// the lookup service does not say otherwise (see batchLimiter).
const DefaultMaxBatchPoints = 100_000

// batchLimiter is implemented by lookup services that set the most points
// one batch request may carry (cmd configures it there).
type batchLimiter interface{ MaxBatchPoints() int }

func (s *Server) maxBatchPoints() int {
	if l, ok := s.Lookup.(batchLimiter); ok && l.MaxBatchPoints() > 0 {
		return l.MaxBatchPoints()
	}
	return DefaultMaxBatchPoints
}

// batchChunk is how many points are looked up at a time while the answer
// streams: the first chunk is answered before the status is sent (so its
// errors get a proper status), each later one is written as soon as it is
// answered.
const batchChunk = 4096

// POST /api/v1/lookup/batch {"points":[{"id":…,"lon":…,"lat":…}…]} → {"results":[…]}
// Results are streamed in input order, chunk by chunk as they are answered.
func (s *Server) handleLookupBatch(w http.ResponseWriter, r *http.Request) error {
	req, err := parseBatch(r.Body, r.Header.Get("Content-Type"), s.maxBatchPoints())
	if err != nil {
		return err
	}
	crs, _ := geo.ParseCRS(req.CRS)
	var at *time.Time
	if req.At != "" {
		t, _ := parseDate(req.At)
		at = &t
	}
	pts := make([]orb.Point, len(req.Points))
	for i, bp := range req.Points {
		pts[i] = geo.ToWGS84(orb.Point{*bp.Lon, *bp.Lat}, crs)
	}
	ctx := r.Context()
	// A chunk's answers, encoded: by the service when it keeps them encoded,
	// otherwise here.
	encoded, _ := s.Lookup.(encodedLookup)
	answer := func(lo, hi int) ([][]byte, error) {
		if encoded != nil {
			return encoded.LookupPointsJSON(ctx, pts[lo:hi], at, req.Hierarchy)
		}
		res, err := s.Lookup.LookupPoints(ctx, pts[lo:hi], at, req.Hierarchy)
		if err != nil {
			return nil, err
		}
		out := make([][]byte, len(res))
		for i := range res {
			out[i] = appendLookupResult(nil, &res[i])
		}
		return out, nil
	}
	res, err := answer(0, min(batchChunk, len(pts)))
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	bw := bufio.NewWriterSize(w, 64<<10)
	var buf []byte
	bw.WriteString(`{"results":[`)
	for lo := 0; lo < len(pts); lo += batchChunk {
		hi := min(lo+batchChunk, len(pts))
		if lo > 0 {
			if res, err = answer(lo, hi); err != nil {
				if ctx.Err() != nil {
					return nil // the client went away
				}
				// The status is sent: break the response off rather than
				// end it as if it were complete.
				s.Log.Error("batch lookup failed after the answer began", "route", "/api/v1/lookup/batch", "point", lo, "err", err)
				panic(http.ErrAbortHandler)
			}
		}
		for i := range res {
			if lo+i > 0 {
				bw.WriteByte(',')
			}
			// As json.Encoder would write batchResult, newline included.
			buf = append(appendBatchJSON(buf[:0], req.Points[lo+i].ID, res[i]), '\n')
			if _, err := bw.Write(buf); err != nil {
				return nil // the client went away
			}
		}
		if err := bw.Flush(); err != nil {
			return nil
		}
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	bw.WriteString("]}\n")
	bw.Flush()
	return nil
}

// parseBatch decodes and checks a batch body; every problem is EInvalid (or
// ETooLarge) with the index of the point at fault.
func parseBatch(body io.Reader, contentType string, maxPoints int) (*batchRequest, error) {
	if ct := strings.TrimSpace(strings.Split(contentType, ";")[0]); ct != "" && ct != "application/json" {
		return nil, geo.Errorf(geo.EInvalid, "Content-Type must be application/json, got %q", contentType)
	}
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	var req batchRequest
	if err := dec.Decode(&req); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, geo.Errorf(geo.EInvalid, "body must be JSON {\"points\":[{\"lon\":…,\"lat\":…}…]}: %v", err)
	}
	if dec.More() {
		return nil, geo.Errorf(geo.EInvalid, "body must hold one JSON object")
	}
	if _, err := geo.ParseCRS(req.CRS); err != nil {
		return nil, err
	}
	if req.At != "" {
		if _, err := parseDate(req.At); err != nil {
			return nil, err
		}
	}
	if req.Hierarchy != "" && !validKey(req.Hierarchy) {
		return nil, geo.Errorf(geo.EInvalid, "hierarchy must be lower-case letters, digits and _, got %q", req.Hierarchy)
	}
	if len(req.Points) == 0 {
		return nil, geo.Errorf(geo.EInvalid, "points must hold at least one point")
	}
	if len(req.Points) > maxPoints {
		return nil, geo.Errorf(geo.EInvalid, "at most %d points per request, got %d", maxPoints, len(req.Points))
	}
	for i, p := range req.Points {
		if p.Lon == nil || p.Lat == nil {
			return nil, geo.Errorf(geo.EInvalid, "point %d needs lon and lat", i)
		}
		if err := geo.ValidateLonLat(*p.Lon, *p.Lat); err != nil {
			return nil, geo.Errorf(geo.EInvalid, "point %d: %s", i, geo.ErrorMessage(err))
		}
	}
	return &req, nil
}
