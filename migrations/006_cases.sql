-- Cases (事件): units, cases with their area chain as of intake, the
-- append-only event log, reporters' contacts kept apart (erased after
-- closing), photos, the working calendar's extra days, the notification
-- outbox and the change-feed cursor for re-routing. See docs/cases.md.

-- Units (组织/责任单位): the grid team, the community, the subdistrict office
-- and departments, each covering an area (and everything below it).
CREATE TABLE unit (
    id          bigserial PRIMARY KEY,
    kind        text NOT NULL CHECK (kind ~ '^[a-z][a-z_]{1,31}$'),
    name        text NOT NULL CHECK (name <> ''),
    area_id     bigint NOT NULL REFERENCES area(id),
    phone       text NOT NULL DEFAULT '',
    email       text NOT NULL DEFAULT '',
    webhook_url text NOT NULL DEFAULT '',
    active      boolean NOT NULL DEFAULT true
);
CREATE INDEX unit_area_idx ON unit (area_id, kind) WHERE active;

-- Staff accounts acting for a unit, with their relation to the unit's cases.
CREATE TABLE unit_member (
    unit_id bigint NOT NULL REFERENCES unit(id),
    user_id bigint NOT NULL REFERENCES app_user(id) ON DELETE CASCADE,
    role    text NOT NULL CHECK (role IN ('handler', 'dispatcher', 'supervisor', 'grid_worker')),
    PRIMARY KEY (unit_id, user_id, role)
);
CREATE INDEX unit_member_user_idx ON unit_member (user_id);

-- A case. ("case" is a reserved word, hence case_report.) area_path is the
-- chain of area ids from the top level down to the grid, as routed (at
-- intake, or at the last re-route); grid_id is its last element.
CREATE TABLE case_report (
    id              bigserial PRIMARY KEY,
    tracking_code   text NOT NULL UNIQUE CHECK (tracking_code ~ '^[0-9A-HJKMNP-TV-Z]{10}$'),
    category        text NOT NULL,
    source          text NOT NULL CHECK (source IN ('resident_web', 'grid_worker', 'hotline', 'open311', 'staff')),
    state           text NOT NULL,
    version         bigint NOT NULL CHECK (version >= 1),
    tier            int NOT NULL CHECK (tier BETWEEN 1 AND 4),
    stage           int NOT NULL DEFAULT 0,
    due             timestamptz,
    paused          boolean NOT NULL DEFAULT false,
    remaining_ms    bigint NOT NULL DEFAULT 0,
    pending_due     timestamptz,
    geom            geometry(Point, 4326) NOT NULL,
    address         text NOT NULL DEFAULT '',
    building_id     bigint REFERENCES building(id),
    description     text NOT NULL,
    grid_id         bigint REFERENCES area(id),
    area_path       bigint[] NOT NULL DEFAULT '{}',
    ambiguous       boolean NOT NULL DEFAULT false,
    unit_id         bigint REFERENCES unit(id),
    handler_user_id bigint REFERENCES app_user(id),
    entered_by      bigint REFERENCES app_user(id), -- the staff account that entered it; NULL: anonymous
    reported_at     timestamptz NOT NULL,
    responded_at    timestamptz,  -- first action by staff after intake (response rate)
    accepted_at     timestamptz,  -- registered (立案)
    missed_deadline boolean NOT NULL DEFAULT false, -- some step's deadline passed before it was done
    closed_at       timestamptz,  -- set by close, cleared by reopen (cases.Case.ClosedAt)
    finished_at     timestamptz,  -- entered closed, rated, rejected or merged; retention counts from here
    closed_on_time  boolean,      -- closed at or before the due time of the step it was closed in
    merged_into     bigint REFERENCES case_report(id),
    rating          int CHECK (rating BETWEEN 1 AND 5),
    external_ref    text UNIQUE,  -- the reference of an imported case (12345 ticket); re-imports skip it
    updated_at      timestamptz NOT NULL DEFAULT now()
);
-- Worklists: a unit's or a handler's open cases by deadline.
CREATE INDEX case_unit_idx ON case_report (unit_id, state, due);
CREATE INDEX case_handler_idx ON case_report (handler_user_id, due) WHERE handler_user_id IS NOT NULL;
-- Area filters and stats: every case below an area (GIN on the chain), by time.
CREATE INDEX case_area_path_idx ON case_report USING gin (area_path);
CREATE INDEX case_reported_idx ON case_report (reported_at DESC, id DESC);
-- Desk worklists by state, newest first (status=reported over a whole subdistrict), and the open cases
-- newest first (overdue=true); measured in BENCHMARKS.md.
CREATE INDEX case_state_reported_idx ON case_report (state, reported_at DESC, id DESC);
CREATE INDEX case_open_reported_idx ON case_report (reported_at DESC, id DESC) WHERE finished_at IS NULL;
CREATE INDEX case_geom_idx ON case_report USING gist (geom);
CREATE INDEX case_grid_open_idx ON case_report (grid_id) WHERE finished_at IS NULL;
-- The escalation sweep: running clocks that can escalate, by due time.
CREATE INDEX case_escalation_idx ON case_report (due)
    WHERE state IN ('dispatched', 'in_progress', 'extension_requested') AND NOT paused AND tier < 4;
-- Duplicate candidates: open cases of a category near a point, recently.
CREATE INDEX case_dup_idx ON case_report USING gist (geom) WHERE finished_at IS NULL;

-- The append-only history. Nothing updates or deletes it: the triggers below
-- refuse, so even a mistaken maintenance statement fails.
CREATE TABLE case_event (
    id            bigserial PRIMARY KEY,
    case_id       bigint NOT NULL REFERENCES case_report(id),
    version       bigint NOT NULL,        -- the case's version after the event
    at            timestamptz NOT NULL,
    actor_kind    text NOT NULL CHECK (actor_kind IN ('staff', 'reporter', 'system')),
    actor_user_id bigint REFERENCES app_user(id),
    actor_name    text NOT NULL DEFAULT '',
    actor_role    text NOT NULL DEFAULT '',
    action        text NOT NULL,          -- a cases.Action, or report, reroute, boundary_changed, merged_in
    from_state    text NOT NULL DEFAULT '',
    to_state      text NOT NULL,
    note          text NOT NULL DEFAULT '',
    public_note   text NOT NULL DEFAULT '',
    reason        text NOT NULL DEFAULT '',
    photos        bigint[] NOT NULL DEFAULT '{}',
    due           timestamptz,
    tier          int,
    unit_id       bigint REFERENCES unit(id),
    detail        jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX case_event_case_idx ON case_event (case_id, id);

CREATE FUNCTION case_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'case_event is append-only: % is not allowed', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER case_event_no_update BEFORE UPDATE OR DELETE ON case_event
    FOR EACH ROW EXECUTE FUNCTION case_event_append_only();
CREATE TRIGGER case_event_no_truncate BEFORE TRUNCATE ON case_event
    FOR EACH STATEMENT EXECUTE FUNCTION case_event_append_only();

-- Reporters' phone numbers, apart from the case so that no query for a
-- public surface can select them by accident. Merging moves them to the
-- surviving case; the erasure job deletes them a retention period after the
-- case finished.
CREATE TABLE case_contact (
    id             bigserial PRIMARY KEY,
    case_id        bigint NOT NULL REFERENCES case_report(id),
    origin_case_id bigint NOT NULL REFERENCES case_report(id),
    phone          text NOT NULL CHECK (phone ~ '^\+?[0-9]{5,20}$'),
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_contact_case_idx ON case_contact (case_id);

-- Photos of cases, re-encoded on upload (no EXIF).
CREATE TABLE case_photo (
    id           bigserial PRIMARY KEY,
    case_id      bigint NOT NULL REFERENCES case_report(id),
    content_type text NOT NULL CHECK (content_type IN ('image/jpeg', 'image/png')),
    bytes        bytea NOT NULL,
    width        int NOT NULL,
    height       int NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX case_photo_case_idx ON case_photo (case_id);

-- Working-calendar days an administrator adds (next year's notice, local
-- changes), read into calendar.Default().WithDays.
CREATE TABLE holiday_day (
    day  date PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('work', 'off')),
    name text NOT NULL DEFAULT ''
);

-- Notifications to units and handlers: an outbox, delivered by whichever
-- process claims a row (FOR UPDATE SKIP LOCKED), retried with backoff.
CREATE TABLE case_notification (
    id              bigserial PRIMARY KEY,
    case_id         bigint NOT NULL REFERENCES case_report(id),
    unit_id         bigint REFERENCES unit(id),
    kind            text NOT NULL,
    payload         jsonb NOT NULL,
    created_at      timestamptz NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    attempts        int NOT NULL DEFAULT 0,
    delivered_at    timestamptz,
    last_error      text NOT NULL DEFAULT ''
);
CREATE INDEX case_notification_due_idx ON case_notification (next_attempt_at) WHERE delivered_at IS NULL;

-- How far each background job has read a feed (the change log for
-- re-routing), so the work survives restarts and runs in one process at a time.
CREATE TABLE job_cursor (
    name     text PRIMARY KEY,
    position bigint NOT NULL DEFAULT 0
);
INSERT INTO job_cursor (name, position) SELECT 'case_reroute', coalesce(max(id), 0) FROM change;
