-- Loading one police table from its raw vintages. `staging_raw` is a temporary view over the
-- Parquet partitions of the vintages in use (built in load.py), with a `vintage` column.

-- name: staging_latest
-- One value per cell: the newest vintage that holds it wins (revised months replace old ones).
-- Identical duplicate rows collapse; a cell with two different values in one vintage is a conflict.
CREATE OR REPLACE TEMP TABLE staging_latest AS
WITH raw AS (
    SELECT trim(r.region_key) AS region_code,
           trim(r.type_key)   AS type_code,
           trim(r.period_key) AS period_key,
           r.value,
           fv.vintage
    FROM read_parquet($files, filename = true) r
    JOIN file_vintages fv ON fv.filename = r.filename
)
SELECT region_code, type_code, period_key, vintage,
       min(value) AS value,
       -- two different values, or a value next to a NULL (cheaper than count(DISTINCT ...))
       min(value) IS DISTINCT FROM max(value) OR (count(value) > 0 AND count(value) < count(*)) AS conflict
FROM raw
GROUP BY region_code, type_code, period_key, vintage
QUALIFY row_number() OVER (PARTITION BY region_code, type_code, period_key ORDER BY vintage DESC) = 1;

-- name: staging_empty
CREATE OR REPLACE TEMP TABLE staging_latest (
    region_code VARCHAR, type_code VARCHAR, period_key VARCHAR, vintage VARCHAR, value BIGINT, conflict BOOLEAN
);

-- name: conflicting_cells
SELECT count(*) FROM staging_latest WHERE conflict;

-- name: delete_facts
DELETE FROM facts_monthly WHERE table_id = $table_id;

-- name: insert_facts
INSERT INTO facts_monthly
SELECT $table_id, s.region_code, s.type_code, p.month, s.value, s.value IS NULL, p.provisional, s.vintage
FROM staging_latest s
JOIN periods p ON p.table_id = $table_id AND p.period_key = s.period_key AND p.month IS NOT NULL;

-- name: delete_year_rows
DELETE FROM facts_yearly_reported WHERE table_id = $table_id;

-- name: insert_year_rows
INSERT INTO facts_yearly_reported
SELECT $table_id, s.region_code, s.type_code, p.year, s.value, s.value IS NULL, s.vintage
FROM staging_latest s
JOIN periods p ON p.table_id = $table_id AND p.period_key = s.period_key AND p.month IS NULL;

-- name: unknown_periods
SELECT DISTINCT s.period_key FROM staging_latest s
ANTI JOIN periods p ON p.table_id = $table_id AND p.period_key = s.period_key;

-- name: load_summary
SELECT count(*) AS rows, min(month) AS first_month, max(month) AS last_month,
       count(*) FILTER (WHERE suppressed) AS suppressed_cells,
       count(DISTINCT month) FILTER (WHERE provisional) AS provisional_months
FROM facts_monthly WHERE table_id = $table_id;
