-- The commit-ordered change log every gridmap process follows (on the primary
-- or on a streaming replica, where NOTIFY is not delivered), and the sign-in
-- throttle shared by every process. See docs/scale.md.

-- One row: the last sequence number handed out. A writing transaction takes
-- it (UPDATE ... RETURNING) as its last statement before COMMIT and keeps the
-- row lock until it commits, so numbers become visible in commit order and a
-- rolled-back transaction gives its numbers back: the log has no gaps.
CREATE TABLE feed_counter (
    only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
    seq      bigint NOT NULL
);

-- One row per change event (geo.ChangeEvent), written in the transaction of
-- the change. bounds: minlon, minlat, maxlon, maxlat of each bound, EPSG:4326.
CREATE TABLE change_log (
    seq       bigint PRIMARY KEY,
    change_id bigint NOT NULL REFERENCES change(id),
    layer     text NOT NULL,
    areas     bigint[] NOT NULL DEFAULT '{}',
    bounds    float8[] NOT NULL DEFAULT '{}',
    logged_at timestamptz NOT NULL DEFAULT now()
);

-- Changes the case re-route job has not read yet move into the log, so its
-- cursor (until now a change id) becomes a log position without losing any.
INSERT INTO change_log (seq, change_id, layer, areas)
SELECT row_number() OVER (ORDER BY ch.id), ch.id, 'areas',
       coalesce(array_agg(ca.area_id) FILTER (WHERE ca.area_id IS NOT NULL), '{}')
FROM change ch LEFT JOIN change_area ca ON ca.change_id = ch.id
WHERE ch.id > coalesce((SELECT position FROM job_cursor WHERE name = 'case_reroute'), 0)
GROUP BY ch.id;
INSERT INTO feed_counter (only_row, seq) SELECT true, coalesce(max(seq), 0) FROM change_log;
UPDATE job_cursor SET position = 0 WHERE name = 'case_reroute';

-- Failed sign-ins, by throttle key (per account and client, per client, per
-- account), kept for the throttle's window only.
CREATE TABLE signin_failure (
    key text NOT NULL,
    at  timestamptz NOT NULL
);
CREATE INDEX signin_failure_key_at_idx ON signin_failure (key, at);
CREATE INDEX signin_failure_at_idx ON signin_failure (at);
