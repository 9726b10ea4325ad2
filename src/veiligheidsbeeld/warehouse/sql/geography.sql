-- Geography of the warehouse: districts of the eenheid, gemeente lineage, CBS denominators and
-- boundaries. The tables are created by the migrations (warehouse/migrations/).
-- Loading statements read from a DataFrame registered as 'staged' and bind values as parameters.

-- name: delete_districts
DELETE FROM districts WHERE eenheid_code = $eenheid_code AND layout_year = $layout_year;

-- name: insert_districts
INSERT INTO districts
SELECT eenheid_code, eenheid_naam, $layout_year, district_code, district_naam,
       gemeente_code, gemeente_naam, $source, now()::TIMESTAMP
FROM staged;

-- name: delete_lineage
DELETE FROM gemeente_lineage;

-- name: insert_lineage
INSERT INTO gemeente_lineage
SELECT old_code, old_name, new_code, new_name, layout_year, kind, new_code_created,
       nullif(note, ''), now()::TIMESTAMP
FROM staged;

-- name: delete_denominators_of_tables
DELETE FROM denominators WHERE source_table IN (SELECT DISTINCT source_table FROM staged);

-- name: insert_denominators
INSERT INTO denominators
SELECT region_code, region_level, year, month, measure, value, source_table, table_title,
       vintage, modified, fetched_at, period_status, source, now()::TIMESTAMP
FROM staged;

-- name: duplicate_denominators
SELECT region_code, year, month, measure, count(*) AS n, string_agg(source_table, ', ') AS tables
FROM denominators
GROUP BY region_code, year, month, measure
HAVING count(*) > 1
ORDER BY ALL
LIMIT 10;

-- name: delete_boundaries
DELETE FROM boundaries WHERE level = $level AND layout_year = $layout_year;

-- name: insert_boundaries
INSERT INTO boundaries
SELECT region_code, region_name, level, gemeente_code, layout_year, geometry, $crs, $source, now()::TIMESTAMP
FROM staged;

-- name: select_boundaries
SELECT region_code, region_name, level, gemeente_code, layout_year, geometry, crs
FROM boundaries
WHERE level = $level AND layout_year = $layout_year
ORDER BY region_code;

-- name: denominator_rows_of_measure
SELECT count(*) FROM denominators WHERE measure = $measure;

-- name: denominator_measures
SELECT DISTINCT measure FROM denominators ORDER BY 1;

-- name: denominator_lookup
-- For each requested (region, year[, month]): the figure of that period if published; for a
-- period after the last published one, the last published figure (flagged); otherwise none.
-- A period before the first published one, or a gap, is never filled from another year.
WITH avail AS (
    SELECT region_code, year, month, year * 100 + coalesce(month, 0) AS period_index,
           value, source_table, vintage
    FROM denominators
    WHERE measure = $measure AND value IS NOT NULL
      AND (CASE WHEN $monthly THEN month IS NOT NULL ELSE month IS NULL END)
),
latest AS (
    SELECT region_code, max(period_index) AS last_index FROM avail GROUP BY region_code
),
wanted AS (
    SELECT DISTINCT region_code, year, month, year * 100 + coalesce(month, 0) AS period_index FROM staged
)
SELECT w.region_code,
       w.year AS requested_year,
       w.month AS requested_month,
       coalesce(e.value, CASE WHEN w.period_index > l.last_index THEN a.value END) AS value,
       CASE WHEN e.region_code IS NOT NULL THEN e.year
            WHEN w.period_index > l.last_index THEN a.year END AS year_used,
       CASE WHEN e.region_code IS NOT NULL THEN e.month
            WHEN w.period_index > l.last_index THEN a.month END AS month_used,
       CASE WHEN e.region_code IS NOT NULL THEN 'eigen_jaar'
            WHEN w.period_index > l.last_index THEN 'laatst_beschikbaar'
            ELSE 'ontbreekt' END AS status,
       coalesce(e.source_table, CASE WHEN w.period_index > l.last_index THEN a.source_table END) AS source_table,
       coalesce(e.vintage, CASE WHEN w.period_index > l.last_index THEN a.vintage END) AS vintage
FROM wanted w
LEFT JOIN avail e ON e.region_code = w.region_code AND e.period_index = w.period_index
LEFT JOIN latest l ON l.region_code = w.region_code
LEFT JOIN avail a ON a.region_code = w.region_code AND a.period_index = l.last_index
ORDER BY w.region_code, w.year, w.month;

-- name: yearly_denominators
-- Published yearly figures of one measure (per region and year one row: load_denominators refuses
-- the same figure from two tables). Put on the police layout in geography.police_layout_denominators.
SELECT region_code, year, value, source_table, vintage
FROM denominators
WHERE measure = $measure AND month IS NULL AND value IS NOT NULL
ORDER BY region_code, year;

