package api_test

import (
	"io"
	"log/slog"
	"net/http/httptest"
	"testing"

	"github.com/prometheus/client_golang/prometheus"

	"gridmap/api"
	"gridmap/data"
)

// Two processes behind a load balancer must count the same failed sign-ins:
// a guesser who spreads its tries over them is throttled as if there were
// one. With each process counting in its own memory, the sixth try through
// the second process would be a plain 401.
func TestSigninThrottleSharedAcrossProcesses(t *testing.T) {
	f := newEditFixture(t, "api_signin_shared", api.Config{})
	process := func() *httptest.Server {
		deps := api.Server{Auth: data.NewAuthService(f.db), Edits: data.NewEditor(f.db), SigninFailures: data.NewSigninFailures(f.db),
			Log: slog.New(slog.NewTextHandler(io.Discard, nil))}
		s := httptest.NewServer(api.NewServer(api.Config{}, deps, prometheus.NewRegistry()))
		t.Cleanup(s.Close)
		return s
	}
	first, second := process(), process()

	c := f.login(t, "")
	c.base = first.URL
	for i := 0; i < 5; i++ {
		if status, body := c.do(t, "POST", "/api/v1/login", map[string]string{"name": "viewer", "password": "wrong guess"}); status != 401 {
			t.Fatalf("failure %d through the first process: %d %s, want 401", i+1, status, body)
		}
	}
	c.base = second.URL
	if status, body := c.do(t, "POST", "/api/v1/login", map[string]string{"name": "viewer", "password": f.password}); status != 429 {
		t.Errorf("the right password through the second process after 5 failures through the first: %d %s, want 429", status, body)
	}
	c.base = first.URL
	if status, _ := c.do(t, "POST", "/api/v1/login", map[string]string{"name": "editor", "password": f.password}); status != 200 {
		t.Errorf("another account from the same client: %d, want 200 (5 failures are under the per-client limit)", status)
	}
}
