// Package jobs runs gridmap's background work for cases — the escalation
// sweep, re-routing after boundary edits, erasure of reporters' phone
// numbers, notification delivery, pruning of the change log and of old
// Idempotency-Keys — on state kept in PostgreSQL. Every step
// claims its rows with FOR UPDATE SKIP LOCKED in the store, so any number of
// processes may run a Runner at once and a restart loses nothing; the ticker
// here only decides how often a process looks.
package jobs

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"gridmap/cases"
)

// Store is what the runner needs of the case store (data.CaseStore).
type Store interface {
	EscalateDue(ctx context.Context, now time.Time) (int, error)
	RerouteAfterChanges(ctx context.Context) (rerouted, flagged int, err error)
	EraseContacts(ctx context.Context, now time.Time) (int, error)
	PruneChangeLog(ctx context.Context, now time.Time) (int, error)
	PruneRequestKeys(ctx context.Context, now time.Time) (int, error)
	DeliverNotifications(ctx context.Context, now time.Time, n cases.Notifier) (delivered, failed int, err error)
}

// Runner runs the case jobs every Interval until its context ends.
type Runner struct {
	Store    Store
	Notifier cases.Notifier
	Now      func() time.Time // the clock; default time.Now
	Interval time.Duration    // default 30 s
	Log      *slog.Logger
}

// RunOnce runs every job once at Now and returns the first error (the
// others still run).
func (r *Runner) RunOnce(ctx context.Context) error {
	now := r.now()
	var first error
	keep := func(name string, err error) {
		if err != nil {
			r.log().Error("case job failed", "job", name, "err", err)
			if first == nil {
				first = fmt.Errorf("%s: %w", name, err)
			}
		}
	}
	n, err := r.Store.EscalateDue(ctx, now)
	keep("escalate", err)
	rr, fl, err := r.Store.RerouteAfterChanges(ctx)
	keep("reroute", err)
	er, err := r.Store.EraseContacts(ctx, now)
	keep("erase", err)
	pr, err := r.Store.PruneChangeLog(ctx, now)
	keep("prune", err)
	pk, err := r.Store.PruneRequestKeys(ctx, now)
	keep("prune_keys", err)
	dv, fa := 0, 0
	if r.Notifier != nil {
		dv, fa, err = r.Store.DeliverNotifications(ctx, now, r.Notifier)
		keep("notify", err)
	}
	if n+rr+fl+er+dv+fa+pr+pk > 0 {
		r.log().Info("case jobs", "escalated", n, "rerouted", rr, "boundary_flagged", fl, "phones_erased", er,
			"notified", dv, "notify_failed", fa, "change_log_pruned", pr, "request_keys_pruned", pk)
	}
	return first
}

// Run calls RunOnce every Interval until ctx ends.
func (r *Runner) Run(ctx context.Context) {
	iv := r.Interval
	if iv <= 0 {
		iv = 30 * time.Second
	}
	t := time.NewTicker(iv)
	defer t.Stop()
	for {
		_ = r.RunOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (r *Runner) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

func (r *Runner) log() *slog.Logger {
	if r.Log != nil {
		return r.Log
	}
	return slog.Default()
}

// LogNotifier writes notifications to the log and never fails: the default,
// needing no external service.
type LogNotifier struct{ Log *slog.Logger }

// Notify logs n.
func (l LogNotifier) Notify(ctx context.Context, n cases.Notification) error {
	log := l.Log
	if log == nil {
		log = slog.Default()
	}
	log.Info("case notification", "kind", n.Kind, "case", n.CaseID, "unit", n.UnitID, "attempt", n.Attempt)
	return nil
}

// WebhookNotifier POSTs each notification as JSON to its unit's webhook URL,
// signed with HMAC-SHA256 over "timestamp.body" (header X-Gridmap-Signature:
// t=<unix>,v1=<hex>), so a receiver can check origin and freshness. Units
// without a URL fall back to Fallback (the log). A non-2xx answer or a
// transport error is returned, and the store retries with backoff.
type WebhookNotifier struct {
	Secret   []byte
	Client   *http.Client // default: 10 s timeout
	Fallback cases.Notifier
	Now      func() time.Time
}

// Sign returns the X-Gridmap-Signature value for body at t.
func Sign(secret []byte, t time.Time, body []byte) string {
	ts := strconv.FormatInt(t.Unix(), 10)
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(ts + "."))
	m.Write(body)
	return "t=" + ts + ",v1=" + hex.EncodeToString(m.Sum(nil))
}

// Notify delivers n to its webhook.
func (w WebhookNotifier) Notify(ctx context.Context, n cases.Notification) error {
	if n.WebhookURL == "" {
		if w.Fallback != nil {
			return w.Fallback.Notify(ctx, n)
		}
		return nil
	}
	body, err := json.Marshal(n)
	if err != nil {
		return err
	}
	now := time.Now
	if w.Now != nil {
		now = w.Now
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, n.WebhookURL, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Gridmap-Signature", Sign(w.Secret, now(), body))
	req.Header.Set("X-Gridmap-Delivery", strconv.FormatInt(n.ID, 10))
	c := w.Client
	if c == nil {
		c = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("webhook %s answered %s", n.WebhookURL, resp.Status)
	}
	return nil
}
