-- gridmap's schema: levels, areas with geometry versions, buildings, people,
-- duties, photos and the change log. EPSG:4326 throughout.
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- Levels are data: a hierarchy is an ordered list of levels.
CREATE TABLE level (
    key        text PRIMARY KEY CHECK (key ~ '^[a-z][a-z0-9_]{0,31}$'),
    hierarchy  text NOT NULL DEFAULT 'admin' CHECK (hierarchy ~ '^[a-z][a-z0-9_]{0,31}$'),
    depth      int  NOT NULL CHECK (depth >= 0),
    name_zh    text NOT NULL,
    name_en    text NOT NULL,
    UNIQUE (hierarchy, depth)
);

INSERT INTO level (key, hierarchy, depth, name_zh, name_en) VALUES
    ('district',    'admin', 0, '区',   'district'),
    ('subdistrict', 'admin', 1, '街道', 'subdistrict'),
    ('community',   'admin', 2, '社区', 'community'),
    ('grid',        'admin', 3, '网格', 'grid');

-- Every write records a change: who, when, what, why.
CREATE TABLE change (
    id         bigserial PRIMARY KEY,
    author     text NOT NULL,
    at         timestamptz NOT NULL DEFAULT now(),
    operation  text NOT NULL,
    reason     text NOT NULL DEFAULT '',
    detail     jsonb NOT NULL DEFAULT '{}'
);

-- An area's identity; its geometry lives in area_version.
CREATE TABLE area (
    id             bigserial PRIMARY KEY,
    level          text NOT NULL REFERENCES level(key),
    code           text NOT NULL UNIQUE,      -- never reused, even after retirement
    name           text NOT NULL,
    parent_id      bigint REFERENCES area(id),
    created_change bigint NOT NULL REFERENCES change(id),
    retired_at     timestamptz,
    retired_change bigint REFERENCES change(id)
);
CREATE INDEX area_parent_idx ON area (parent_id);
CREATE INDEX area_level_idx ON area (level);

CREATE TABLE area_version (
    id         bigserial PRIMARY KEY,
    area_id    bigint NOT NULL REFERENCES area(id),
    geom       geometry(MultiPolygon, 4326) NOT NULL CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    valid_from timestamptz NOT NULL DEFAULT now(),
    valid_to   timestamptz,
    change_id  bigint NOT NULL REFERENCES change(id),
    CHECK (valid_to IS NULL OR valid_to > valid_from)
);
-- At most one open (current) version per area.
CREATE UNIQUE INDEX area_version_current_idx ON area_version (area_id) WHERE valid_to IS NULL;
CREATE INDEX area_version_area_idx ON area_version (area_id, valid_from);
CREATE INDEX area_version_geom_idx ON area_version USING gist (geom);
CREATE INDEX area_version_current_geom_idx ON area_version USING gist (geom) WHERE valid_to IS NULL;

-- Buildings carry counts only, never residents' identities.
CREATE TABLE building (
    id            bigserial PRIMARY KEY,
    code          text NOT NULL UNIQUE,
    address       text NOT NULL DEFAULT '',
    address_norm  text NOT NULL DEFAULT '',
    name          text NOT NULL DEFAULT '',
    geom          geometry(Point, 4326) NOT NULL,
    footprint     geometry(MultiPolygon, 4326),
    households    int NOT NULL DEFAULT 0 CHECK (households >= 0),
    residents     int NOT NULL DEFAULT 0 CHECK (residents >= 0),
    floors        int NOT NULL DEFAULT 0 CHECK (floors >= 0),
    party_members int NOT NULL DEFAULT 0 CHECK (party_members >= 0),
    elderly_alone int NOT NULL DEFAULT 0 CHECK (elderly_alone >= 0),
    disabled      int NOT NULL DEFAULT 0 CHECK (disabled >= 0),
    low_income    int NOT NULL DEFAULT 0 CHECK (low_income >= 0),
    source        text NOT NULL DEFAULT '',
    grid_id       bigint REFERENCES area(id),  -- the lowest current area containing geom
    created_change bigint NOT NULL REFERENCES change(id)
);
CREATE INDEX building_geom_idx ON building USING gist (geom);
CREATE INDEX building_address_norm_idx ON building (address_norm);
CREATE INDEX building_address_trgm_idx ON building USING gin (address_norm gin_trgm_ops);
CREATE INDEX building_grid_idx ON building (grid_id);
CREATE SEQUENCE building_code_seq;

CREATE TABLE photo (
    id           bigserial PRIMARY KEY,
    content_type text NOT NULL CHECK (content_type IN ('image/svg+xml', 'image/png', 'image/jpeg')),
    bytes        bytea NOT NULL
);

CREATE TABLE person (
    id           bigserial PRIMARY KEY,
    name         text NOT NULL,
    phone        text NOT NULL DEFAULT '',
    photo_id     bigint REFERENCES photo(id),
    public_name  boolean NOT NULL DEFAULT true,
    public_phone boolean NOT NULL DEFAULT false,
    public_photo boolean NOT NULL DEFAULT false
);

CREATE TABLE duty (
    id          bigserial PRIMARY KEY,
    person_id   bigint NOT NULL REFERENCES person(id),
    area_id     bigint REFERENCES area(id),
    building_id bigint REFERENCES building(id),
    role        text NOT NULL CHECK (role IN ('grid_leader', 'grid_worker', 'info_officer', 'police',
                                              'building_leader', 'party_member', 'volunteer')),
    valid_from  date NOT NULL DEFAULT current_date,
    valid_to    date,
    change_id   bigint NOT NULL REFERENCES change(id),
    CHECK ((area_id IS NULL) <> (building_id IS NULL)),
    CHECK (valid_to IS NULL OR valid_to >= valid_from)
);
CREATE INDEX duty_area_idx ON duty (area_id) WHERE area_id IS NOT NULL;
CREATE INDEX duty_building_idx ON duty (building_id) WHERE building_id IS NOT NULL;
CREATE INDEX duty_person_idx ON duty (person_id);
