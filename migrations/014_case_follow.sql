-- A case's follow key: a random identifier, unrelated to the tracking code,
-- that the public nearby-duplicates answer carries so a resident can follow
-- (watch) a case someone else reported. It reads the public status only; the
-- tracking code, which also rates and reopens, is never revealed to others.
ALTER TABLE case_report ADD COLUMN follow_key uuid NOT NULL DEFAULT gen_random_uuid();
CREATE UNIQUE INDEX case_report_follow_key_idx ON case_report (follow_key);
