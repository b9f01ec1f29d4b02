-- Staff accounts, sessions, API tokens; code history and lineage for edits;
-- balance targets per level and per community.

CREATE TABLE app_user (
    id            bigserial PRIMARY KEY,
    name          text NOT NULL UNIQUE CHECK (name ~ '^[A-Za-z0-9._@-]{1,64}$'),
    password_hash text NOT NULL,              -- argon2id, PHC string format
    role          text NOT NULL CHECK (role IN ('admin', 'editor', 'viewer')),
    scope_area_id bigint REFERENCES area(id), -- editors and viewers: the subtree they may touch; NULL: everything
    created_at    timestamptz NOT NULL DEFAULT now(),
    disabled      boolean NOT NULL DEFAULT false
);

-- Sessions and API tokens are stored as SHA-256 hashes of the secret.
CREATE TABLE session (
    token_hash  bytea PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES app_user(id) ON DELETE CASCADE,
    csrf_token  text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX session_user_idx ON session (user_id);

CREATE TABLE api_token (
    token_hash  bytea PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES app_user(id) ON DELETE CASCADE,
    name        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz
);

-- Every code an area ever had: codes are never reused, even after a recode.
CREATE TABLE area_code_history (
    code       text PRIMARY KEY,
    area_id    bigint NOT NULL REFERENCES area(id),
    change_id  bigint NOT NULL REFERENCES change(id)
);

-- Lineage of splits and merges: which area came from which.
CREATE TABLE area_lineage (
    change_id  bigint NOT NULL REFERENCES change(id),
    from_area  bigint NOT NULL REFERENCES area(id),
    to_area    bigint NOT NULL REFERENCES area(id),
    kind       text NOT NULL CHECK (kind IN ('split', 'merge')),
    PRIMARY KEY (change_id, from_area, to_area)
);

-- Which areas a change touched, for GET /changes?area= and revert.
CREATE TABLE change_area (
    change_id      bigint NOT NULL REFERENCES change(id),
    area_id        bigint NOT NULL REFERENCES area(id),
    before_version bigint REFERENCES area_version(id),
    after_version  bigint REFERENCES area_version(id),
    PRIMARY KEY (change_id, area_id)
);
CREATE INDEX change_area_area_idx ON change_area (area_id);

-- Balance targets: per level (scope_area_id NULL) or per community (scope set).
CREATE TABLE balance_target (
    id             bigserial PRIMARY KEY,
    level          text NOT NULL REFERENCES level(key),
    scope_area_id  bigint REFERENCES area(id),
    households_min int NOT NULL, households_max int NOT NULL,
    residents_min  int NOT NULL, residents_max  int NOT NULL,
    UNIQUE NULLS NOT DISTINCT (level, scope_area_id)
);
INSERT INTO balance_target (level, households_min, households_max, residents_min, residents_max)
VALUES ('grid', 300, 500, 1000, 1500);

-- Whether gaps among a level's children are errors (default for grids) or warnings.
ALTER TABLE level ADD COLUMN gaps_are_errors boolean NOT NULL DEFAULT false;
UPDATE level SET gaps_are_errors = true WHERE key = 'grid';
