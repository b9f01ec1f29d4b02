package api_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"gridmap/api"
	"gridmap/geo"
)

// fakeFeed is a change feed at a fixed position, on a primary at another.
type fakeFeed struct {
	applied, committed int64
	committedErr       error
}

func (f fakeFeed) Committed(context.Context) (int64, error) { return f.committed, f.committedErr }

func (f fakeFeed) WaitApplied(ctx context.Context, seq int64) error {
	if f.applied >= seq {
		return nil
	}
	<-ctx.Done() // the bound, ReadYourWritesWait
	return ctx.Err()
}

// Which reads a request makes on the primary (geo.PrimaryReads) or on the
// server the feed follows (geo.FeedServerReads), by its read-your-writes
// cookie; /readyz's check records what it was given.
func TestReadYourWritesRouting(t *testing.T) {
	for _, c := range []struct {
		name       string
		feed       fakeFeed
		cookie     string
		want       bool // primary
		wantFeedSv bool
	}{
		{"no cookie: any read server", fakeFeed{applied: 5, committed: 9}, "", false, false},
		{"this process shows the write: the feed's server, which has replayed it", fakeFeed{applied: 9, committed: 9}, "9", false, true},
		{"the write is not shown within the bound: the primary", fakeFeed{applied: 5, committed: 9}, "9", true, false},
		{"a position beyond the primary's log is ignored", fakeFeed{applied: 5, committed: 9}, "1000000", false, false},
		{"the primary cannot say: any read server", fakeFeed{applied: 5, committed: 9, committedErr: errors.New("down")}, "9", false, false},
		{"a cookie that is not a number is ignored", fakeFeed{applied: 5, committed: 9}, "x", false, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var mu sync.Mutex
			var got, gotFeedSv bool
			deps := api.Server{Freshness: c.feed, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
				Ready: func(ctx context.Context) error {
					mu.Lock()
					defer mu.Unlock()
					got, gotFeedSv = geo.PrimaryReads(ctx), geo.FeedServerReads(ctx)
					return nil
				}}
			srv := httptest.NewServer(api.NewServer(api.Config{ReadYourWritesWait: 50 * time.Millisecond}, deps, prometheus.NewRegistry()))
			defer srv.Close()
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/readyz", nil)
			if c.cookie != "" {
				req.AddCookie(&http.Cookie{Name: "gridmap_seen", Value: c.cookie})
			}
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			res.Body.Close()
			mu.Lock()
			defer mu.Unlock()
			if gotFeedSv != c.wantFeedSv {
				t.Errorf("feed server reads %v, want %v", gotFeedSv, c.wantFeedSv)
			}
			if got != c.want {
				t.Errorf("primary reads %v, want %v (cookie %q, applied %d, committed %d)", got, c.want, c.cookie, c.feed.applied, c.feed.committed)
			}
		})
	}
}
