-- The dispatch desk's free-text filter (GET /api/v1/cases?q=, docs/desk.md):
-- ILIKE '%…%' on the description and the address, LIKE on the tracking code,
-- each served by a trigram index (pg_trgm, created in 001_schema.sql) so that
-- a word finds its cases among a million without a sequential scan.
CREATE INDEX case_description_trgm_idx ON case_report USING gin (description gin_trgm_ops);
CREATE INDEX case_address_trgm_idx ON case_report USING gin (address gin_trgm_ops);
CREATE INDEX case_tracking_trgm_idx ON case_report USING gin (tracking_code gin_trgm_ops);
-- The desk's category filter within a state tab, newest first: without it a
-- rare (category, state) pair walked case_reported_idx to its end (0.9 s on
-- 400,000 cases for a pair with no case; BENCHMARKS.md "Dispatch desk").
CREATE INDEX case_category_state_reported_idx ON case_report (category, state, reported_at DESC, id DESC);
