-- Every statement the analysis, reports, status, pipeline and flows read the warehouse with.
-- Called by name from veiligheidsbeeld.warehouse.queries (the reader); values are always bound
-- parameters ($name), never formatted into the text. An optional filter is a NULL parameter
-- ("$regions IS NULL OR list_contains($regions, ...)"); the month facts of one table are selected
-- by the table macro selected_facts (migrations/0003_selected_facts.sql).

-- name: table_info
SELECT title, modified, vintage, synthetic FROM table_infos WHERE table_id = $table_id;

-- name: month_coverage
-- Per month of the selected facts: whether any cell is provisional and how many are suppressed.
SELECT f.month, bool_or(f.provisional) AS provisional, count(*) FILTER (WHERE f.suppressed) AS suppressed
FROM selected_facts($table_id, $regions, $types, $first, $last) f
GROUP BY f.month
ORDER BY f.month;

-- name: monthly_counts
-- Facts as a tidy frame; count NULL = suppressed (never 0). Year rows (JJ00) are not in facts_monthly.
SELECT f.region_code, f.type_code, f.month, f.count, f.suppressed, f.provisional
FROM selected_facts($table_id, $regions, $types, $first, $last) f
ORDER BY f.region_code, f.type_code, f.month;

-- name: yearly_counts
-- The published year rows (JJ00); never add these to monthly sums.
SELECT region_code, type_code, year, count, suppressed
FROM facts_yearly_reported
WHERE table_id = $table_id
  AND ($regions::VARCHAR[] IS NULL OR list_contains($regions::VARCHAR[], region_code))
  AND ($types::VARCHAR[] IS NULL OR list_contains($types::VARCHAR[], type_code))
  AND ($years::INTEGER[] IS NULL OR list_contains($years::INTEGER[], year))
ORDER BY region_code, type_code, year;

-- name: yearly_rows
SELECT count(*) FROM facts_yearly_reported WHERE table_id = $table_id;

-- name: available_months
SELECT DISTINCT month FROM facts_monthly WHERE table_id = $table_id ORDER BY 1;

-- name: regions
SELECT * FROM regions WHERE $level::VARCHAR IS NULL OR level = $level ORDER BY code;

-- name: region_names
SELECT code, name FROM regions WHERE list_contains($codes::VARCHAR[], code);

-- name: gemeente_names
-- Every gemeente of the police data except the 'unknown gemeente' code.
SELECT code, name FROM regions WHERE level = 'GM' AND code <> $unknown;

-- name: offence_types
SELECT code, title, is_rollup FROM offence_types WHERE table_id = $table_id ORDER BY code;

-- name: gemeenten_in_facts
-- Gemeente codes with police facts (GM0000 is the police's 'gemeente unknown').
SELECT DISTINCT region_code FROM facts_monthly WHERE region_code LIKE 'GM%' AND region_code <> 'GM0000' ORDER BY 1;

-- name: table_vintages
SELECT table_id, vintage FROM table_infos ORDER BY table_id;

-- name: latest_loads
-- The newest load per table, with the time its newest pull completed (veiligheidsbeeld status).
SELECT l.table_id, l.last_month, l.vintages, l.provisional_months, l.suppressed_cells, l.rows,
       (SELECT max(completed_at) FROM pulls p WHERE p.table_id = l.table_id) AS fetched_at
FROM loads l
QUALIFY row_number() OVER (PARTITION BY l.table_id ORDER BY l.loaded_at DESC) = 1
ORDER BY l.table_id;

-- name: boundary_layout_years
SELECT level, list(DISTINCT layout_year ORDER BY layout_year) FROM boundaries GROUP BY level;

-- name: district_gemeenten
SELECT DISTINCT gemeente_code FROM districts ORDER BY 1;


-- name: group_month_counts
-- Monthly counts per region and group on the complete region x group x month grid, and
-- optionally of the parents those regions are summed into.
-- $cell_regions/$cell_groups/$cell_order: the (region, group) pairs wanted, in output order;
-- $code_groups/$code_types: the codes of each group. A group's month sums its codes:
-- count_known = what is known, n_suppressed = cells present but not published (NULL count),
-- n_missing = codes without a row (e.g. a month absent from the warehouse). Never a silent 0:
-- the caller sets the total to NULL unless both are 0.
-- $members/$parents/$parent_levels (may be empty): one row per region and a parent it belongs
-- to (e.g. a gemeente's district and eenheid); a parent's month sums its regions', so its
-- n_suppressed and n_missing are theirs: its total is known only when every part is.
-- $region_level: the level of the regions themselves. Rows by $level_names (in that order),
-- within a level by $cell_order of their first region, then by month.
WITH wanted AS (
    SELECT unnest($cell_regions) AS region_code, unnest($cell_groups) AS grp, unnest($cell_order) AS ord
),
codes AS (
    SELECT unnest($code_groups) AS grp, unnest($code_types) AS type_code
),
n_codes AS (
    SELECT grp, count(*) AS n FROM codes GROUP BY grp
),
months AS (
    SELECT CAST(m AS DATE) AS month
    FROM generate_series(CAST($first AS TIMESTAMP), CAST($last AS TIMESTAMP), INTERVAL 1 MONTH) AS t(m)
),
cells AS (
    SELECT w.region_code, w.grp, f.month,
           count(*) AS n_present,
           count(*) FILTER (WHERE f.count IS NULL) AS n_suppressed,
           coalesce(sum(f.count), 0) AS count_known
    FROM wanted w
    JOIN codes c ON c.grp = w.grp
    JOIN facts_monthly f
      ON f.table_id = $table_id AND f.region_code = w.region_code AND f.type_code = c.type_code
     AND f.month BETWEEN CAST($first AS DATE) AND CAST($last AS DATE)
    GROUP BY w.region_code, w.grp, f.month
),
region_rows AS (
    SELECT w.region_code, w.grp, w.ord, m.month,
           CAST(coalesce(c.count_known, 0) AS DOUBLE) AS count_known,
           CAST(coalesce(c.n_suppressed, 0) AS BIGINT) AS n_suppressed,
           CAST(n.n - coalesce(c.n_present, 0) AS BIGINT) AS n_missing
    FROM wanted w
    CROSS JOIN months m
    JOIN n_codes n ON n.grp = w.grp
    LEFT JOIN cells c ON c.region_code = w.region_code AND c.grp = w.grp AND c.month = m.month
),
parents AS (
    SELECT unnest(CAST($members AS VARCHAR[])) AS region_code, unnest(CAST($parents AS VARCHAR[])) AS parent_code,
           unnest(CAST($parent_levels AS VARCHAR[])) AS level
),
levels AS (
    SELECT unnest($level_names) AS level, unnest($level_order) AS level_ord
),
parent_rows AS (
    SELECT p.parent_code AS region_code, r.grp, min(r.ord) AS ord, r.month, p.level,
           CAST(sum(r.count_known) AS DOUBLE) AS count_known,
           CAST(sum(r.n_suppressed) AS BIGINT) AS n_suppressed,
           CAST(sum(r.n_missing) AS BIGINT) AS n_missing
    FROM region_rows r
    JOIN parents p ON p.region_code = r.region_code
    GROUP BY p.parent_code, r.grp, r.month, p.level
),
all_rows AS (
    SELECT region_code, grp, ord, month, level, count_known, n_suppressed, n_missing FROM parent_rows
    UNION ALL
    SELECT region_code, grp, ord, month, $region_level AS level, count_known, n_suppressed, n_missing
    FROM region_rows
)
SELECT a.region_code, a.grp AS "group", a.month, a.count_known, a.n_suppressed, a.n_missing, a.level
FROM all_rows a
JOIN levels l ON l.level = a.level
ORDER BY l.level_ord, a.ord, a.month;

-- name: validation_runs
-- The last data-check run per table (veiligheidsbeeld status).
SELECT table_id, run_id, checked_at, vintage, blockers, warnings, infos
FROM validation_runs ORDER BY table_id;

-- name: validation_findings_for_status
SELECT table_id, rule, severity, region_code, detail
FROM validation_results
WHERE severity IN ('BLOCKER', 'WARN')
ORDER BY table_id, CASE severity WHEN 'BLOCKER' THEN 0 ELSE 1 END, rule, region_code NULLS FIRST;

-- name: police_region_codes
-- The region codes of the loaded police facts (veiligheidsbeeld regions checks the districts against them).
SELECT DISTINCT region_code FROM facts_monthly ORDER BY region_code;
