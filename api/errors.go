package api

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"gridmap/geo"
)

// retryAfterUnavailable is the Retry-After (seconds) of a 503: how soon a
// client may try again when the database cannot be reached.
const retryAfterUnavailable = "5"

// errMethod is the code for a method a route does not take (405).
const errMethod = "method_not_allowed"

// statusOf maps geo error codes to HTTP statuses; the one place that does.
var statusOf = map[string]int{
	geo.EInvalid:         http.StatusBadRequest,
	geo.ENotFound:        http.StatusNotFound,
	geo.EConflict:        http.StatusConflict,
	geo.EForbidden:       http.StatusForbidden,
	geo.EUnauthenticated: http.StatusUnauthorized,
	geo.ETooLarge:        http.StatusRequestEntityTooLarge,
	geo.ETooMany:         http.StatusTooManyRequests,
	geo.EValidation:      http.StatusUnprocessableEntity,
	errMethod:            http.StatusMethodNotAllowed,
	geo.EUnavailable:     http.StatusServiceUnavailable,
	geo.ETimeout:         http.StatusGatewayTimeout,
	geo.EInternal:        http.StatusInternalServerError,
}

type errorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Details any    `json:"details,omitempty"`
	} `json:"error"`
}

// writeError writes {"error":{"code","message"}} with the status of err's
// code. The cause is logged only for internal errors; a client that went away
// is not an error of ours and is not answered.
func (s *Server) writeError(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) && r.Context().Err() != nil {
		w.WriteHeader(499) // client closed request (nginx's convention); nobody reads it
		return
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = geo.Errorf(geo.ETooLarge, "request body is larger than the limit of %d bytes", mbe.Limit)
	}
	code := geo.ErrorCode(err)
	status := s.statusLogged(r, err)
	var body errorBody
	body.Error.Code = code
	body.Error.Message = geo.ErrorMessage(err)
	var ge *geo.Error
	if errors.As(err, &ge) {
		if code == errMethod {
			body.Error.Message = ge.Message
		}
		body.Error.Details = ge.Details
	}
	if status == http.StatusServiceUnavailable && w.Header().Get("Retry-After") == "" {
		w.Header().Set("Retry-After", retryAfterUnavailable)
	}
	writeJSON(w, status, body)
}

// handlerFunc is a handler that returns its error instead of writing it:
// handlers parse, call and encode, and s.handle writes any error once.
type handlerFunc func(w http.ResponseWriter, r *http.Request) error

// handle adapts a handlerFunc to http.HandlerFunc, writing a returned error
// with writeError (nothing else may have been written then).
func (s *Server) handle(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if err := h(w, r); err != nil {
			s.writeError(w, r, err)
		}
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

// staleHeader is the response header that says an answer came from memory
// while the database could not be reached: the data may be out of date.
const staleHeader = "X-Data-Stale"

// markStale gives each request a geo.StaleMark and, when a service set it,
// adds "X-Data-Stale: true" to the response before its header is sent.
func (s *Server) markStale(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, mark := geo.WithStaleMark(r.Context())
		next.ServeHTTP(&staleWriter{ResponseWriter: w, mark: mark}, r.WithContext(ctx))
	})
}

type staleWriter struct {
	http.ResponseWriter
	mark    *geo.StaleMark
	written bool
}

func (w *staleWriter) header() {
	if !w.written {
		w.written = true
		if w.mark.Stale() {
			w.ResponseWriter.Header().Set(staleHeader, "true")
		}
	}
}

func (w *staleWriter) WriteHeader(code int) {
	w.header()
	w.ResponseWriter.WriteHeader(code)
}

func (w *staleWriter) Write(b []byte) (int, error) {
	w.header()
	return w.ResponseWriter.Write(b)
}

func (w *staleWriter) Flush() {
	w.header()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *staleWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// statusLogged is the HTTP status of err, logged when it is ours: an
// unavailable or slow database (503, 504) as a warning — the outage is the
// database's and the client was told to retry —, anything else at 500 and
// above as an internal error with its cause.
func (s *Server) statusLogged(r *http.Request, err error) int {
	status, ok := statusOf[geo.ErrorCode(err)]
	if !ok {
		status = http.StatusInternalServerError
	}
	switch {
	case status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout:
		s.Log.Warn("database unavailable", "route", r.URL.Path, "err", err)
	case status >= 500:
		s.Log.Error("internal error", "route", r.URL.Path, "err", err)
	}
	return status
}
