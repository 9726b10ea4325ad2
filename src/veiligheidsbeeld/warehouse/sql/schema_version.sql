-- Bookkeeping of the schema versions (warehouse/schema.py). The schema itself is the numbered
-- files in warehouse/migrations/; this table records which of them a warehouse has.

-- name: create_table
CREATE TABLE IF NOT EXISTS schema_version (
    version     INTEGER PRIMARY KEY,     -- the number of the migration file (0001_baseline.sql = 1)
    applied_at  TIMESTAMP NOT NULL,      -- UTC
    description VARCHAR NOT NULL         -- from the migration file's '-- description:' line
);
COMMENT ON TABLE schema_version IS 'Schema versions applied to this warehouse (warehouse/migrations/NNNN_*.sql), one row each.';

-- name: objects
-- Tables and views of the warehouse itself (not of attached databases or the system catalog).
SELECT table_name
FROM information_schema.tables
WHERE table_schema = 'main' AND table_catalog = current_database();

-- name: recorded_version
SELECT coalesce(max(version), 0) FROM schema_version;

-- name: record
INSERT INTO schema_version (version, applied_at, description) VALUES ($version, $applied_at, $description);

-- name: history
SELECT version, applied_at, description FROM schema_version ORDER BY version;
