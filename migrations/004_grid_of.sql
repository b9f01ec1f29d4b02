-- grid_of is the border rule of docs/lookup.md in SQL, in one place: the
-- lowest current area of hierarchy h covering point p; among those of that
-- level, one whose interior holds p, then the smallest code. Every statement
-- that assigns buildings to grids calls it (the lookup answers with the same
-- rule in Go, geo.DecideBorder).
CREATE FUNCTION grid_of(p geometry, h text) RETURNS bigint
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT a.id FROM area_version v
    JOIN area a ON a.id = v.area_id AND a.retired_at IS NULL
    JOIN level l ON l.key = a.level AND l.hierarchy = h
    WHERE v.valid_to IS NULL AND ST_Covers(v.geom, p)
    ORDER BY l.depth DESC, ST_Contains(v.geom, p) DESC, a.code
    LIMIT 1
$$;
