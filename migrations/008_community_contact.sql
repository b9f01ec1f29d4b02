-- The community office's address and phone, printed on the grids' posters,
-- and the community's citizen hotline when it is not the configured default
-- (GRIDMAP_HOTLINE, 12345). One row per community (or any area: a poster uses
-- the deepest area of its chain that has one).
CREATE TABLE community_contact (
    area_id  bigint PRIMARY KEY REFERENCES area(id),
    address  text NOT NULL DEFAULT '' CHECK (length(address) <= 200),
    phone    text NOT NULL DEFAULT '' CHECK (phone ~ '^[0-9+() -]{0,32}$'),
    hotline  text CHECK (hotline ~ '^[0-9+() -]{1,32}$')  -- NULL: the configured default
);
