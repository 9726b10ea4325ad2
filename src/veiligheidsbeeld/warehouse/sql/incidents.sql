-- Incident extracts of the police (issue 18). POLICE-INTERNAL: these tables never leave the
-- local warehouse; reports aggregate them to buurt or grid cells.
-- Every import is kept (versioned like the police vintages); the view `incidenten` holds, per
-- registration id, the row of the newest import that contains it. The tables are created by the
-- migrations (warehouse/migrations/).

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
