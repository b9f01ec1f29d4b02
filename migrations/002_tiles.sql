-- Vector tiles: per-area totals of households and residents, kept up to date
-- by triggers in the same transaction as the write, so a tile query reads them
-- with one index lookup per area instead of summing a subtree of buildings.
--
-- An area's totals are the sums over the buildings whose grid_id is the area
-- itself or one of its descendants (building.grid_id is the lowest current
-- area covering the building). Rows exist only for areas with buildings in
-- their subtree; a missing row means zero.
CREATE TABLE area_stats (
    area_id    bigint PRIMARY KEY REFERENCES area(id),
    buildings  bigint NOT NULL DEFAULT 0,
    households bigint NOT NULL DEFAULT 0,
    residents  bigint NOT NULL DEFAULT 0
);

-- area_stats_add adds per-area deltas (already summed per area id) to each
-- area and all its ancestors. Rows are upserted in area id order so that two
-- transactions touching the same ancestors lock them in the same order.
CREATE FUNCTION area_stats_add(ids bigint[], b bigint[], h bigint[], r bigint[]) RETURNS void
LANGUAGE sql AS $$
    WITH RECURSIVE d AS (
        SELECT t.id, t.b, t.h, t.r FROM unnest(ids, b, h, r) AS t(id, b, h, r)
    ), up AS (
        SELECT d.id, d.b, d.h, d.r FROM d
        UNION ALL
        SELECT a.parent_id, up.b, up.h, up.r FROM up JOIN area a ON a.id = up.id WHERE a.parent_id IS NOT NULL
    ), net AS (
        SELECT id, sum(b)::bigint AS b, sum(h)::bigint AS h, sum(r)::bigint AS r FROM up GROUP BY id
        HAVING sum(b) <> 0 OR sum(h) <> 0 OR sum(r) <> 0
    )
    INSERT INTO area_stats AS s (area_id, buildings, households, residents)
    SELECT id, b, h, r FROM net ORDER BY id
    ON CONFLICT (area_id) DO UPDATE SET buildings = s.buildings + EXCLUDED.buildings,
        households = s.households + EXCLUDED.households, residents = s.residents + EXCLUDED.residents
$$;

-- The building triggers are statement-level with transition tables: a bulk
-- import of 200,000 buildings costs one aggregation, not 200,000 row triggers.
-- Updates that do not change any grid's totals (a reassignment to the same
-- grid) write nothing.
CREATE FUNCTION area_stats_building_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM area_stats_add(array_agg(grid_id), array_agg(n), array_agg(h), array_agg(r))
    FROM (SELECT grid_id, count(*) AS n, sum(households) AS h, sum(residents) AS r
          FROM new_rows WHERE grid_id IS NOT NULL GROUP BY grid_id) g;
    RETURN NULL;
END $$;

CREATE FUNCTION area_stats_building_delete() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM area_stats_add(array_agg(grid_id), array_agg(-n), array_agg(-h), array_agg(-r))
    FROM (SELECT grid_id, count(*) AS n, sum(households) AS h, sum(residents) AS r
          FROM old_rows WHERE grid_id IS NOT NULL GROUP BY grid_id) g;
    RETURN NULL;
END $$;

CREATE FUNCTION area_stats_building_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM area_stats_add(array_agg(grid_id), array_agg(n), array_agg(h), array_agg(r))
    FROM (SELECT grid_id, sum(n)::bigint AS n, sum(h)::bigint AS h, sum(r)::bigint AS r FROM (
              SELECT grid_id, 1 AS n, households AS h, residents AS r FROM new_rows WHERE grid_id IS NOT NULL
              UNION ALL
              SELECT grid_id, -1, -households, -residents FROM old_rows WHERE grid_id IS NOT NULL) x
          GROUP BY grid_id
          HAVING sum(n) <> 0 OR sum(h) <> 0 OR sum(r) <> 0) g;
    RETURN NULL;
END $$;

CREATE TRIGGER building_area_stats_insert AFTER INSERT ON building
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION area_stats_building_insert();
CREATE TRIGGER building_area_stats_delete AFTER DELETE ON building
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION area_stats_building_delete();
CREATE TRIGGER building_area_stats_update AFTER UPDATE ON building
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION area_stats_building_update();

-- area_stats_rebuild recomputes every row; it runs when an area changes
-- parent (which moves its totals to other ancestors) and fills the table here.
CREATE FUNCTION area_stats_rebuild() RETURNS void LANGUAGE sql AS $$
    DELETE FROM area_stats;
    WITH RECURSIVE g AS (
        SELECT grid_id AS id, count(*) AS b, sum(households) AS h, sum(residents) AS r
        FROM building WHERE grid_id IS NOT NULL GROUP BY grid_id
    ), up AS (
        SELECT g.id, g.b, g.h, g.r FROM g
        UNION ALL
        SELECT a.parent_id, up.b, up.h, up.r FROM up JOIN area a ON a.id = up.id WHERE a.parent_id IS NOT NULL
    )
    INSERT INTO area_stats (area_id, buildings, households, residents)
    SELECT id, sum(b), sum(h), sum(r) FROM up GROUP BY id ORDER BY id;
$$;

CREATE FUNCTION area_stats_area_reparent() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM old_rows o JOIN new_rows n ON n.id = o.id
               WHERE n.parent_id IS DISTINCT FROM o.parent_id) THEN
        PERFORM area_stats_rebuild();
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER area_area_stats_reparent AFTER UPDATE ON area
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION area_stats_area_reparent();

SELECT area_stats_rebuild();

-- Label points: for every area version, the centre of its largest inscribed
-- circle (computed in EPSG:3857, stored in EPSG:4326), where a name fits best.
-- It costs about 0.2 ms per area, too much per tile, so it is computed once
-- when a version is written.
CREATE TABLE area_label (
    version_id bigint PRIMARY KEY REFERENCES area_version(id) ON DELETE CASCADE,
    point      geometry(Point, 4326) NOT NULL
);
CREATE INDEX area_label_point_idx ON area_label USING gist (point);

CREATE FUNCTION area_label_point(g geometry) RETURNS geometry LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT ST_Transform((ST_MaximumInscribedCircle(ST_Transform(g, 3857))).center, 4326)
$$;

CREATE FUNCTION area_label_insert() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO area_label (version_id, point) SELECT id, area_label_point(geom) FROM new_rows;
    RETURN NULL;
END $$;

CREATE FUNCTION area_label_update() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO area_label (version_id, point)
    SELECT n.id, area_label_point(n.geom) FROM new_rows n JOIN old_rows o ON o.id = n.id
    WHERE NOT ST_OrderingEquals(n.geom, o.geom)
    ON CONFLICT (version_id) DO UPDATE SET point = EXCLUDED.point;
    RETURN NULL;
END $$;

CREATE TRIGGER area_version_label_insert AFTER INSERT ON area_version
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION area_label_insert();
CREATE TRIGGER area_version_label_update AFTER UPDATE ON area_version
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION area_label_update();

INSERT INTO area_label (version_id, point) SELECT id, area_label_point(geom) FROM area_version;

-- The buildings layer draws the footprint where known, else the point; this
-- index finds both by the tile's box.
CREATE INDEX building_shape_idx ON building USING gist ((coalesce(footprint, geom)));
