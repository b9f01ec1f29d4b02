-- Roads: the streets residents and staff orient by, and the lines the
-- partition (划网格) prefers as grid borders. Not versioned: an import
-- replaces the roads of its source. class is what the map and the partition
-- need (major: primary/secondary/trunk…, minor: residential/tertiary/service…,
-- path: footway/path/cycleway/steps/pedestrian).
CREATE TABLE road (
    id      bigserial PRIMARY KEY,
    name    text NOT NULL DEFAULT '' CHECK (length(name) <= 200),
    class   text NOT NULL CHECK (class IN ('major', 'minor', 'path')),
    geom    geometry(LineString, 4326) NOT NULL CHECK (ST_IsValid(geom) AND NOT ST_IsEmpty(geom)),
    source  text NOT NULL DEFAULT '' CHECK (length(source) <= 200),
    ref     text NOT NULL DEFAULT '' CHECK (length(ref) <= 100)  -- the source's own id (an OSM way id), '' if none
);
CREATE INDEX road_geom_idx ON road USING gist (geom);
CREATE INDEX road_source_idx ON road (source);
