-- Loading one police table from its raw vintages.
--
-- Which vintage a cell comes from is decided before any row is read (load.py, `owned_periods`):
-- partitions are (region group × year), so per region group and period the newest vintage that
-- fetched it wins (revised months replace old ones). Every partition file holds each cell once
-- (checked when it was written, raw_archive.unique_cells), so the facts are streamed from the
-- Parquet files into the warehouse: no GROUP BY or window over all rows, and memory does not
-- grow with the size of the table.

-- name: periods_in_files
-- The period keys each partition file holds, as served (padded). Reads one dictionary-encoded
-- column; lets load.py refuse rows of periods nobody asked for before anything is written.
SELECT filename, period_key AS raw_period_key, trim(period_key) AS period_key
FROM (SELECT DISTINCT filename, period_key FROM read_parquet($files, filename = true));

-- name: delete_facts
DELETE FROM facts_monthly WHERE table_id = $table_id;

-- name: insert_facts
-- `owned_periods` (filename, raw_period_key, period_key, vintage): the periods each file wins.
INSERT INTO facts_monthly
SELECT $table_id, trim(r.region_key), trim(r.type_key), p.month, r.value, r.value IS NULL, p.provisional, o.vintage
FROM read_parquet($files, filename = true) r
JOIN owned_periods o ON o.filename = r.filename AND o.raw_period_key = r.period_key
JOIN periods p ON p.table_id = $table_id AND p.period_key = o.period_key AND p.month IS NOT NULL;

-- name: delete_year_rows
DELETE FROM facts_yearly_reported WHERE table_id = $table_id;

-- name: insert_year_rows
-- The JJ00 rows as published; kept apart so they are never summed with the months.
INSERT INTO facts_yearly_reported
SELECT $table_id, trim(r.region_key), trim(r.type_key), p.year, r.value, r.value IS NULL, o.vintage
FROM read_parquet($files, filename = true) r
JOIN owned_periods o ON o.filename = r.filename AND o.raw_period_key = r.period_key
JOIN periods p ON p.table_id = $table_id AND p.period_key = o.period_key AND p.month IS NULL;

-- name: load_summary
SELECT count(*) AS rows, min(month) AS first_month, max(month) AS last_month,
       count(*) FILTER (WHERE suppressed) AS suppressed_cells,
       count(DISTINCT month) FILTER (WHERE provisional) AS provisional_months
FROM facts_monthly WHERE table_id = $table_id;

-- name: load_summary_yearly
-- A yearly table (47025NED) has year rows only: first_month/last_month are January of its first
-- and December of its last year; provisional_months counts provisional years.
SELECT count(*) AS rows, make_date(min(f.year), 1, 1) AS first_month, make_date(max(f.year), 12, 1) AS last_month,
       count(*) FILTER (WHERE f.suppressed) AS suppressed_cells,
       count(DISTINCT f.year) FILTER (WHERE p.provisional) AS provisional_months
FROM facts_yearly_reported f
LEFT JOIN periods p ON p.table_id = f.table_id AND p.month IS NULL AND p.year = f.year
WHERE f.table_id = $table_id;
