package main

import (
	"context"
	"log/slog"
	"os"
	"time"

	"gridmap/api"
	"gridmap/cases"
	"gridmap/data"
	"gridmap/jobs"
)

// CasesConfig configures the case store and its jobs.
type CasesConfig struct {
	// ContactRetention: how long reporters' phone numbers are kept after a
	// case finished (GRIDMAP_CASE_CONTACT_RETENTION, a Go duration; default 2160h = 90 days).
	ContactRetention time.Duration
	// JobInterval: how often this process runs the case jobs (GRIDMAP_CASE_JOB_INTERVAL, default 30s).
	JobInterval time.Duration
	// WebhookSecret signs webhook notifications (GRIDMAP_CASE_WEBHOOK_SECRET);
	// without it notifications are only logged.
	WebhookSecret string
}

func casesConfigFromEnv(cfg Config) (Config, error) {
	cfg.Cases = CasesConfig{ContactRetention: 90 * 24 * time.Hour, JobInterval: 30 * time.Second}
	if err := durationsFromEnv("2160h", envDuration{"GRIDMAP_CASE_CONTACT_RETENTION", &cfg.Cases.ContactRetention},
		envDuration{"GRIDMAP_CASE_JOB_INTERVAL", &cfg.Cases.JobInterval}); err != nil {
		return cfg, err
	}
	cfg.Cases.WebhookSecret = os.Getenv("GRIDMAP_CASE_WEBHOOK_SECRET")
	return cfg, nil
}

// wireCases sets deps.Cases and starts this process's case job runner
// (escalation, re-routing, erasure, notifications); several processes may
// run it at once.
func wireCases(ctx context.Context, cfg Config, db *data.DB, log *slog.Logger, deps *api.Server) error {
	store, err := data.NewCaseStore(ctx, db, data.CaseOptions{ContactRetention: cfg.Cases.ContactRetention, Log: log})
	if err != nil {
		return err
	}
	deps.Cases = store
	var n cases.Notifier = jobs.LogNotifier{Log: log}
	if cfg.Cases.WebhookSecret != "" {
		n = jobs.WebhookNotifier{Secret: []byte(cfg.Cases.WebhookSecret), Fallback: jobs.LogNotifier{Log: log}}
	}
	r := &jobs.Runner{Store: store, Notifier: n, Interval: cfg.Cases.JobInterval, Log: log}
	go r.Run(ctx)
	return nil
}
