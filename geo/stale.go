package geo

import (
	"context"
	"sync/atomic"
)

// StaleMark records that an answer came from memory because the database
// could not be reached: the data may be behind what the database holds. The
// api puts one in each request's context (WithStaleMark) and says so in the
// response (header X-Data-Stale); services call MarkStale.
type StaleMark struct{ stale atomic.Bool }

type staleKey struct{}

// WithStaleMark returns ctx carrying a new, unset mark.
func WithStaleMark(ctx context.Context) (context.Context, *StaleMark) {
	m := &StaleMark{}
	return context.WithValue(ctx, staleKey{}, m), m
}

// MarkStale sets the mark ctx carries; without one it does nothing.
func MarkStale(ctx context.Context) {
	if m, _ := ctx.Value(staleKey{}).(*StaleMark); m != nil {
		m.stale.Store(true)
	}
}

// Stale reports whether MarkStale was called; false for a nil mark.
func (m *StaleMark) Stale() bool { return m != nil && m.stale.Load() }
