package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"
	"github.com/prometheus/client_golang/prometheus"

	"gridmap/api"
	"gridmap/data"
	"gridmap/geo"
	"gridmap/index"
)

// indexServer serves the API with the in-memory index over the fixture's
// database, loaded, behind it.
func indexServer(t *testing.T, f *fixture, cfg api.Config) (*httptest.Server, *index.Service) {
	t.Helper()
	idx := index.New(data.NewSnapshotSource(f.db), nil, data.NewLookupService(f.db), index.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { idx.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	deadline := time.Now().Add(time.Minute)
	for idx.Ready(ctx) != nil {
		if time.Now().After(deadline) {
			t.Fatal("index not ready within a minute")
		}
		time.Sleep(5 * time.Millisecond)
	}
	s := api.NewServer(cfg, api.Server{Lookup: idx, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, prometheus.NewRegistry())
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv, idx
}

type batchPt struct {
	ID  int     `json:"id"`
	Lon float64 `json:"lon"`
	Lat float64 `json:"lat"`
}

func TestBatchOf100000FromTheIndex(t *testing.T) {
	f := setup(t)
	srv, idx := indexServer(t, f, api.Config{MaxBodyBytes: 16 << 20})
	rng := rand.New(rand.NewPCG(11, 11))
	bound := f.ds.Areas[0].Geometry.Bound()
	pts := make([]batchPt, api.DefaultMaxBatchPoints)
	ops := make([]orb.Point, len(pts))
	for i := range pts {
		pts[i] = batchPt{i, bound.Min[0] - 0.01 + rng.Float64()*(bound.Max[0]-bound.Min[0]+0.02), bound.Min[1] - 0.01 + rng.Float64()*(bound.Max[1]-bound.Min[1]+0.02)}
		ops[i] = orb.Point{pts[i].Lon, pts[i].Lat}
	}
	body, _ := json.Marshal(map[string]any{"points": pts})
	start := time.Now()
	res, err := http.Post(srv.URL+"/api/v1/lookup/batch", "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var out struct {
		Results []struct {
			ID int `json:"id"`
			geo.LookupResult
		} `json:"results"`
	}
	if err := json.NewDecoder(res.Body).Decode(&out); err != nil || res.StatusCode != 200 {
		t.Fatalf("status %d, decode %v", res.StatusCode, err)
	}
	t.Logf("%d points (%.1f MB) answered and decoded in %v", len(pts), float64(len(body))/1e6, time.Since(start))
	if len(out.Results) != len(pts) {
		t.Fatalf("%d results for %d points", len(out.Results), len(pts))
	}
	want, err := idx.LookupPoints(context.Background(), ops, nil, "")
	if err != nil {
		t.Fatal(err)
	}
	ls := data.NewLookupService(f.db)
	outside := 0
	for i, r := range out.Results {
		if r.ID != i {
			t.Fatalf("result %d has id %d: order lost", i, r.ID)
		}
		gj, _ := json.Marshal(r.LookupResult)
		wj, _ := json.Marshal(want[i])
		if !bytes.Equal(gj, wj) {
			t.Fatalf("point %d: batch says %s, the index says %s", i, gj, wj)
		}
		if r.Grid == nil {
			outside++
		}
		if i%500 != 0 {
			continue // and a sample one by one from PostGIS
		}
		one, err := ls.LookupPoint(context.Background(), geo.LookupQuery{Point: ops[i]})
		if err != nil {
			t.Fatal(err)
		}
		if oj, _ := json.Marshal(one); !bytes.Equal(gj, oj) {
			t.Errorf("point %d: batch says %s, PostGIS says %s", i, gj, oj)
		}
	}
	if outside == 0 || outside == len(pts) {
		t.Errorf("%d of %d points outside: want some inside and some outside", outside, len(pts))
	}
}

// limitedPostGIS is PostGIS's lookup with a small batch limit.
type limitedPostGIS struct{ *data.LookupService }

func (limitedPostGIS) MaxBatchPoints() int { return 5 }

// failingLater answers the first LookupPoints call and fails the next.
type failingLater struct {
	*data.LookupService
	calls int
}

func (f *failingLater) LookupPoints(ctx context.Context, pts []orb.Point, at *time.Time, h string) ([]geo.LookupResult, error) {
	f.calls++
	if f.calls > 1 {
		return nil, geo.Internal("test", errors.New("database went away"))
	}
	return f.LookupService.LookupPoints(ctx, pts, at, h)
}

func TestBatchLimitsAndFailures(t *testing.T) {
	f := setup(t)
	serve := func(l geo.LookupService) string {
		s := api.NewServer(api.Config{}, api.Server{Lookup: l, Log: slog.New(slog.NewTextHandler(io.Discard, nil))}, prometheus.NewRegistry())
		srv := httptest.NewServer(s)
		t.Cleanup(srv.Close)
		return srv.URL
	}
	points := func(n int) []byte {
		ps := make([]batchPt, n)
		for i := range ps {
			ps[i] = batchPt{i, 120.13, 30.28}
		}
		b, _ := json.Marshal(map[string]any{"points": ps})
		return b
	}
	t.Run("the service's limit is the request's limit", func(t *testing.T) {
		res, err := http.Post(serve(limitedPostGIS{data.NewLookupService(f.db)})+"/api/v1/lookup/batch", "application/json", bytes.NewReader(points(6)))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		if res.StatusCode != 400 || !strings.Contains(string(raw), "at most 5 points per request, got 6") {
			t.Errorf("got %d %s, want 400 naming the limit of 5", res.StatusCode, raw)
		}
	})
	t.Run("a failure after the answer began breaks the response off", func(t *testing.T) {
		res, err := http.Post(serve(&failingLater{LookupService: data.NewLookupService(f.db)})+"/api/v1/lookup/batch", "application/json", bytes.NewReader(points(3*4096)))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, err := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("status %d, want 200 (the first chunk was answered)", res.StatusCode)
		}
		if err == nil && json.Valid(raw) {
			t.Errorf("the response reads as a complete JSON document (%d bytes); it must break off", len(raw))
		}
	})
	t.Run("a failure in the first chunk is a proper error", func(t *testing.T) {
		fl := &failingLater{LookupService: data.NewLookupService(f.db), calls: 1}
		res, err := http.Post(serve(fl)+"/api/v1/lookup/batch", "application/json", bytes.NewReader(points(10)))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		raw, _ := io.ReadAll(res.Body)
		if res.StatusCode != 500 || !strings.Contains(string(raw), `"code":"internal"`) {
			t.Errorf("got %d %s, want 500 with the error shape", res.StatusCode, raw)
		}
	})
}

func TestLookupFromTheIndexEqualsPostGIS(t *testing.T) {
	f := setup(t)
	srv, _ := indexServer(t, f, api.Config{})
	rng := rand.New(rand.NewPCG(3, 3))
	bound := f.ds.Areas[0].Geometry.Bound()
	body := func(base, q string) (int, []byte) {
		res, err := http.Get(base + "/api/v1/lookup?" + q)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, b
	}
	var qs []string
	for i := range 300 {
		p := orb.Point{bound.Min[0] - 0.01 + rng.Float64()*(bound.Max[0]-bound.Min[0]+0.02), bound.Min[1] - 0.01 + rng.Float64()*(bound.Max[1]-bound.Min[1]+0.02)}
		if i%3 == 0 { // a vertex of a grid: on a border
			g := f.ds.Areas[len(f.ds.Areas)-1-i%40].Geometry[0][0]
			p = g[i%len(g)]
		}
		qs = append(qs, fmt.Sprintf("lon=%.17g&lat=%.17g", p[0], p[1]))
	}
	qs = append(qs, "lon=120.13&lat=30.28&crs=gcj02", "lon=120.13&lat=30.28&at=2020-01-01", "lon=120.13&lat=91", "address="+url.QueryEscape(f.ds.Buildings[5].Address))
	for _, q := range qs {
		gc, got := body(srv.URL, q)
		wc, want := body(f.srv.URL, q)
		if gc != wc || !bytes.Equal(got, want) {
			t.Errorf("%s:\n index   %d %s\n PostGIS %d %s", q, gc, got, wc, want)
		}
	}
}
