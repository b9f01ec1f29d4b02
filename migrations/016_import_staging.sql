-- The set-based area import (data/import.go) repairs every staged geometry in
-- one statement; this function is the repair of one, and it turns a geometry
-- PostGIS cannot process into an error state and message for that row instead
-- of aborting the statement (the import rejects that item, as it did when it
-- repaired one feature per round trip).
CREATE FUNCTION import_area_repair(raw bytea,
    OUT valid boolean, OUT reason text, OUT geom geometry, OUT empty boolean,
    OUT x float8, OUT y float8, OUT height float8, OUT err_state text, OUT err_message text)
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE AS $$
DECLARE
    g geometry;
    p geometry;
BEGIN
    g := ST_SetSRID(ST_GeomFromWKB(raw), 4326);
    valid := ST_IsValid(g);
    reason := coalesce(ST_IsValidReason(g), '');
    geom := ST_Multi(ST_CollectionExtract(ST_MakeValid(g), 3));
    empty := ST_IsEmpty(geom) OR ST_Area(geom) = 0;
    x := 0;
    y := 0;
    IF NOT ST_IsEmpty(geom) THEN
        p := ST_PointOnSurface(geom);
        x := ST_X(p);
        y := ST_Y(p);
    END IF;
    height := coalesce(ST_YMax(geom) - ST_YMin(geom), 0);
EXCEPTION WHEN OTHERS THEN
    valid := NULL; reason := NULL; geom := NULL; empty := NULL; x := NULL; y := NULL; height := NULL;
    err_state := SQLSTATE;
    err_message := SQLERRM;
END
$$;

-- grid_candidate is every current area that can be a building's grid, with
-- its hierarchy, depth and geometry: what grid_of chooses from. grid_of is
-- now written on it, and so is the bulk form the import uses for many
-- buildings at once (data/import.go qGridsOfStaged, the same order).
CREATE VIEW grid_candidate AS
SELECT a.id, a.code, l.hierarchy, l.depth, v.geom
FROM area_version v
JOIN area a ON a.id = v.area_id AND a.retired_at IS NULL
JOIN level l ON l.key = a.level
WHERE v.valid_to IS NULL;

CREATE OR REPLACE FUNCTION grid_of(p geometry, h text) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT c.id FROM grid_candidate c
    WHERE c.hierarchy = h AND ST_Covers(c.geom, p)
    ORDER BY c.depth DESC, ST_Contains(c.geom, p) DESC, c.code
    LIMIT 1
$$;
