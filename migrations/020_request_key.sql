-- Idempotency keys (issue 11): a client that retries a POST /cases or
-- POST /cases/{id}/actions with the same Idempotency-Key header gets the
-- first request's outcome instead of a second case or a second action. The
-- key is claimed in the request's own transaction (unique: a concurrent
-- retry waits for the first and then sees it).
CREATE TABLE request_key (
  key        text PRIMARY KEY CHECK (length(key) BETWEEN 8 AND 128),
  kind       text NOT NULL CHECK (kind IN ('intake', 'action')),
  user_id    bigint REFERENCES app_user (id) ON DELETE CASCADE, -- NULL: an anonymous resident
  case_id    bigint REFERENCES case_report (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL
);
CREATE INDEX request_key_created ON request_key (created_at);
