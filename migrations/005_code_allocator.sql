-- One code allocator for imports and edits: every code an area ever had,
-- as the primary key, written in the transaction that gives the code out
-- (data/codes.go). Backfilled from the areas and their code history.
CREATE TABLE area_code (
    code      text COLLATE "C" PRIMARY KEY,
    area_id   bigint NOT NULL REFERENCES area(id),
    change_id bigint REFERENCES change(id)
);
INSERT INTO area_code (code, area_id, change_id)
SELECT code, id, created_change FROM area
ON CONFLICT (code) DO NOTHING;
INSERT INTO area_code (code, area_id, change_id)
SELECT code, area_id, change_id FROM area_code_history
ON CONFLICT (code) DO NOTHING;

-- Codes compare by bytes everywhere, whatever the database's collation:
-- grid_of's tie-break (ORDER BY a.code, migration 004) then agrees with
-- geo.DecideBorder, which compares Go strings.
ALTER TABLE area ALTER COLUMN code TYPE text COLLATE "C";
ALTER TABLE area_code_history ALTER COLUMN code TYPE text COLLATE "C";
