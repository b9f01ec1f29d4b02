package api

import "net/http"

// Router is the server's mux router alone, without ServeHTTP's tile path:
// what the tile path must answer exactly like.
func (s *Server) Router() http.Handler { return s.router }
