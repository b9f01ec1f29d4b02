package geo

import (
	"context"
	"time"
)

// SigninFailureStore keeps the failed sign-ins the sign-in throttle counts
// (api/clients.go has the rule), by key. In memory it serves one process; in
// PostgreSQL (data.SigninFailures) every process behind a load balancer
// shares it, so a guesser cannot multiply its tries by the processes.
type SigninFailureStore interface {
	// Recent returns, for each key with any, its failure times after since,
	// oldest first.
	Recent(ctx context.Context, keys []string, since time.Time) (map[string][]time.Time, error)
	// Add records one failure at `at` under each key; failures at or
	// before forget may be dropped.
	Add(ctx context.Context, keys []string, at, forget time.Time) error
	// Forget removes every failure under key.
	Forget(ctx context.Context, key string) error
}
