-- Building names are matched by address search (docs/lookup.md): a trigram
-- index serves name LIKE '%…%' as building_address_trgm_idx serves the
-- normalised addresses.
CREATE INDEX building_name_trgm_idx ON building USING gin (name gin_trgm_ops);
