-- Incident extracts of the police (issue 18). POLICE-INTERNAL: these tables never leave the
-- local warehouse; reports aggregate them to buurt or grid cells.
-- Every import is kept (versioned like the police vintages); the view `incidenten` holds, per
-- registration id, the row of the newest import that contains it.

-- name: schema
CREATE SEQUENCE IF NOT EXISTS incident_import_seq START 1;
CREATE TABLE IF NOT EXISTS incident_imports (
    import_id      INTEGER PRIMARY KEY,
    file_name      VARCHAR NOT NULL,       -- the file's name (not its folder)
    checksum       VARCHAR NOT NULL,       -- sha256 of the file's bytes
    imported_at    TIMESTAMP NOT NULL,
    rows_in_file   INTEGER NOT NULL,
    rows_imported  INTEGER NOT NULL,
    rows_unusable  INTEGER NOT NULL,       -- rows without a date or place: reported, not imported
    duplicates     INTEGER NOT NULL,       -- rows of an id that occurs more than once in the file (last one kept)
    coordinates    VARCHAR NOT NULL,       -- 'RD' or 'WGS84 (omgerekend)'
    synthetic      BOOLEAN NOT NULL,       -- generated data (tests, demo): labelled everywhere
    mapping        VARCHAR NOT NULL        -- the column mapping used, as JSON
);
COMMENT ON TABLE incident_imports IS 'POLITIE-INTERN. One row per imported incident file: what, when, checksum, rows.';

CREATE TABLE IF NOT EXISTS incident_records (
    import_id      INTEGER NOT NULL,
    registratie_id VARCHAR NOT NULL,
    soort_code     VARCHAR NOT NULL,       -- CBS SoortMisdrijf code ('1.1.1')
    soort_bron     VARCHAR,                -- the export's own classification, as given
    pleeg_van      TIMESTAMP NOT NULL,
    pleeg_tot      TIMESTAMP NOT NULL,
    pleeg_midden   TIMESTAMP NOT NULL,     -- midpoint: used for time distances and periods
    venster_dagen  DOUBLE NOT NULL,        -- width of the pleegdatum window in days
    x              DOUBLE NOT NULL,        -- RD New (EPSG:28992), metres
    y              DOUBLE NOT NULL,
    buurt_code     VARCHAR,
    wijk_code      VARCHAR,
    gemeente_code  VARCHAR,
    PRIMARY KEY (import_id, registratie_id)
);
COMMENT ON TABLE incident_records IS 'POLITIE-INTERN. Incidents per import; see the view incidenten for the current state.';

CREATE TABLE IF NOT EXISTS incident_unusable (
    import_id      INTEGER NOT NULL,
    file_row       INTEGER NOT NULL,       -- row number as a spreadsheet shows it (header = 1)
    registratie_id VARCHAR,
    reason         VARCHAR NOT NULL
);
COMMENT ON TABLE incident_unusable IS 'POLITIE-INTERN. Rows of an import without a usable date or place.';

CREATE OR REPLACE VIEW incidenten AS
SELECT r.*, i.synthetic
FROM incident_records r JOIN incident_imports i USING (import_id)
QUALIFY row_number() OVER (PARTITION BY r.registratie_id ORDER BY r.import_id DESC) = 1;

-- name: import_by_checksum
SELECT import_id, imported_at, file_name FROM incident_imports WHERE checksum = $checksum;

-- name: next_import_id
SELECT nextval('incident_import_seq');

-- name: insert_import
INSERT INTO incident_imports
VALUES ($import_id, $file_name, $checksum, $imported_at, $rows_in_file, $rows_imported, $rows_unusable,
        $duplicates, $coordinates, $synthetic, $mapping);

-- name: insert_records
INSERT INTO incident_records
SELECT $import_id, registratie_id, soort_code, soort_bron, pleeg_van, pleeg_tot, pleeg_midden, venster_dagen,
       x, y, buurt_code, wijk_code, gemeente_code
FROM staged;

-- name: insert_unusable
INSERT INTO incident_unusable SELECT $import_id, file_row, registratie_id, reason FROM staged_unusable;

-- name: select_incidents
-- Current incidents of some crime codes with their midpoint in [since, until).
SELECT registratie_id, soort_code, pleeg_van, pleeg_tot, pleeg_midden, venster_dagen, x, y,
       buurt_code, wijk_code, gemeente_code, synthetic
FROM incidenten
WHERE list_contains($codes, soort_code)
  AND pleeg_midden >= $since AND pleeg_midden < $until
ORDER BY pleeg_midden, registratie_id;

-- name: has_incidents
SELECT count(*) FROM incidenten;

-- name: count_imports
SELECT count(*) FROM incident_imports;

-- name: import_history
SELECT import_id, file_name, imported_at, left(checksum, 12) AS checksum, rows_in_file, rows_imported,
       rows_unusable, duplicates, coordinates, synthetic,
       (SELECT count(*) FROM incidenten v WHERE v.import_id = i.import_id) AS current_rows
FROM incident_imports i
ORDER BY import_id;
