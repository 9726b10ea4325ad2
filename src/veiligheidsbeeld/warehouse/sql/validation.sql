-- Data validation between layers: the checks run after each load and their stored findings
-- (tables created by the migrations, warehouse/migrations/).
-- Every value is bound as a parameter ($table_id, $gemeenten, ...); nothing is formatted in.
-- The rules, their severities and thresholds are described in warehouse/validation.py.

-- name: table_summary
SELECT count(*) AS n_rows, min(month) AS first_month, max(month) AS last_month
FROM facts_monthly WHERE table_id = $table_id;

-- name: missing_months
-- Months without any row between the first month with facts and the last month of the series
-- (the last month in the facts or in the published period list, whichever is later).
WITH bounds AS (
    SELECT min(month) AS first_month,
           greatest(max(month), (SELECT max(month) FROM periods WHERE table_id = $table_id)) AS last_month
    FROM facts_monthly WHERE table_id = $table_id
),
expected AS (
    SELECT unnest(generate_series(first_month, last_month, INTERVAL 1 MONTH))::DATE AS month
    FROM bounds WHERE first_month IS NOT NULL
)
SELECT e.month FROM expected e
ANTI JOIN (SELECT DISTINCT month FROM facts_monthly WHERE table_id = $table_id) f ON f.month = e.month
ORDER BY e.month;

-- name: region_missing_months
-- Per region: months the table has but the region lacks (months missing table-wide are left to
-- 'missing_months').
WITH months AS (SELECT DISTINCT month FROM facts_monthly WHERE table_id = $table_id),
have AS (SELECT DISTINCT region_code, month FROM facts_monthly WHERE table_id = $table_id),
regs AS (SELECT DISTINCT region_code FROM have),
gaps AS (
    SELECT r.region_code, m.month
    FROM regs r CROSS JOIN months m
    ANTI JOIN have h ON h.region_code = r.region_code AND h.month = m.month
)
SELECT region_code, CASE WHEN left(region_code, 2) IN ('GM', 'WK', 'BU') THEN left(region_code, 2) ELSE 'NL' END AS level,
       count(*) AS n_missing, list(month ORDER BY month)[1:5] AS examples
FROM gaps GROUP BY region_code ORDER BY region_code;

-- name: region_names
SELECT code, name FROM regions WHERE list_contains($codes::VARCHAR[], code);

-- name: gemeenten_without_rows
SELECT g.code, rg.name, rg.code IS NOT NULL AS known
FROM (SELECT unnest($gemeenten::VARCHAR[]) AS code) g
LEFT JOIN regions rg ON rg.code = g.code
WHERE g.code NOT IN (SELECT DISTINCT region_code FROM facts_monthly WHERE table_id = $table_id)
ORDER BY g.code;

-- name: yearly_table_summary
SELECT count(*) AS n_rows FROM facts_yearly_reported WHERE table_id = $table_id;

-- name: gemeenten_without_year_rows
SELECT g.code, rg.name
FROM (SELECT unnest($gemeenten::VARCHAR[]) AS code) g
LEFT JOIN regions rg ON rg.code = g.code
WHERE g.code NOT IN (SELECT DISTINCT region_code FROM facts_yearly_reported WHERE table_id = $table_id)
ORDER BY g.code;

-- name: rollup_mismatch
-- Per region and month: the roll-up (is_rollup, '0.0.0') against the sum of the other codes, only
-- where the roll-up is published and every part is present and not suppressed. The gap
-- (total - parts) must lie in [-$slack, $upper_share * total + $slack].
WITH codes AS (SELECT code, is_rollup FROM offence_types WHERE table_id = $table_id),
n_parts AS (SELECT count(*) FILTER (WHERE NOT is_rollup) AS n, count(*) FILTER (WHERE is_rollup) AS n_rollup FROM codes),
cells AS (
    SELECT f.region_code, f.month,
           max(f.count) FILTER (WHERE c.is_rollup) AS total,
           sum(f.count) FILTER (WHERE NOT c.is_rollup) AS parts,
           count(*) FILTER (WHERE NOT c.is_rollup AND NOT f.suppressed) AS parts_present
    FROM facts_monthly f JOIN codes c ON c.code = f.type_code
    WHERE f.table_id = $table_id
    GROUP BY f.region_code, f.month
),
checked AS (
    SELECT cells.*, total - parts AS gap
    FROM cells, n_parts
    WHERE n_parts.n_rollup = 1 AND n_parts.n > 0 AND total IS NOT NULL AND parts_present = n_parts.n
),
bad AS (
    SELECT * FROM checked
    WHERE gap < -$slack OR gap > $upper_share * total + $slack
)
SELECT b.region_code, CASE WHEN left(b.region_code, 2) IN ('GM', 'WK', 'BU') THEN left(b.region_code, 2) ELSE 'NL' END AS level,
       count(*) AS n_cells,
       arg_max(b.month, abs(b.gap)) AS worst_month,
       arg_max(b.total, abs(b.gap)) AS worst_total,
       arg_max(b.parts, abs(b.gap)) AS worst_parts,
       (SELECT count(*) FROM checked) AS n_checked
FROM bad b GROUP BY b.region_code ORDER BY b.region_code;

-- name: structural_breaks
-- Per series (region x code) of the given levels: the median of the $window months before a
-- month against the median of that month and up to $window - 1 months after it (counted in rows:
-- months missing inside a series are the business of 'missing_month'). A single spike does not
-- move a median; a level that jumps and stays does. Per series one finding, at the month where
-- the means before and after differ most (medians are flat around a break; means peak on it).
WITH s AS (
    SELECT f.region_code, rg.level, f.type_code, f.month, f.count
    FROM facts_monthly f JOIN regions rg ON rg.code = f.region_code
    WHERE f.table_id = $table_id AND list_contains($levels::VARCHAR[], rg.level)
),
w AS (
    SELECT *,
        median(count) OVER before_w AS before_median,
        count(count) OVER before_w AS n_before,
        avg(count) OVER before_w AS before_mean,
        median(count) OVER after_w AS after_median,
        count(count) OVER after_w AS n_after,
        avg(count) OVER after_w AS after_mean
    FROM s
    WINDOW
        before_w AS (PARTITION BY region_code, type_code ORDER BY month
                     ROWS BETWEEN $window::INTEGER PRECEDING AND 1 PRECEDING),
        after_w AS (PARTITION BY region_code, type_code ORDER BY month
                    ROWS BETWEEN CURRENT ROW AND $window::INTEGER - 1 FOLLOWING)
),
scored AS (
    SELECT *, (after_median + 1) / (before_median + 1) AS factor,
              abs(ln((after_mean + 1) / (before_mean + 1))) AS mean_score
    FROM w
    WHERE n_before >= $window AND n_after >= $min_after
      AND greatest(before_median, after_median) >= $min_level
)
SELECT region_code, level, type_code, month, before_median, after_median, factor
FROM scored
WHERE factor >= $factor OR factor <= 1.0 / $factor
QUALIFY row_number() OVER (PARTITION BY region_code, type_code ORDER BY mean_score DESC, abs(ln(factor)) DESC) = 1
ORDER BY region_code, type_code;

-- name: suppressed_share_table
SELECT count(*) AS n_cells, count(*) FILTER (WHERE suppressed) AS n_suppressed
FROM facts_monthly WHERE table_id = $table_id;

-- name: suppressed_share_gemeenten
-- Per gemeente: its own cells and those of its wijken and buurten.
SELECT rg.gemeente_code, any_value(g.name) AS name, count(*) AS n_cells,
       count(*) FILTER (WHERE f.suppressed) AS n_suppressed
FROM facts_monthly f
JOIN regions rg ON rg.code = f.region_code
LEFT JOIN regions g ON g.code = rg.gemeente_code
WHERE f.table_id = $table_id AND rg.gemeente_code IS NOT NULL
GROUP BY rg.gemeente_code
HAVING count(*) FILTER (WHERE f.suppressed) > $share * count(*)
ORDER BY rg.gemeente_code;

-- name: provisional_months
SELECT month, bool_or(provisional) AS provisional
FROM facts_monthly WHERE table_id = $table_id
GROUP BY month ORDER BY month;

-- name: yearly_reconciliation
-- The published year rows (JJ00) against the sum of the twelve monthly facts, for complete
-- years only (twelve months, none suppressed) and published year rows.
WITH m AS (
    SELECT region_code, type_code, year(month) AS year, sum(count) AS month_sum,
           count(*) AS n_months, bool_or(suppressed) AS any_suppressed  -- one row per cell (load.py)
    FROM facts_monthly WHERE table_id = $table_id
    GROUP BY ALL
),
checked AS (
    SELECT y.region_code, y.type_code, y.year, y.count AS year_count, m.month_sum
    FROM facts_yearly_reported y
    JOIN m ON m.region_code = y.region_code AND m.type_code = y.type_code AND m.year = y.year
    WHERE y.table_id = $table_id AND NOT y.suppressed AND m.n_months = 12 AND NOT m.any_suppressed
),
bad AS (
    SELECT *, abs(year_count - month_sum) / greatest(abs(year_count), 1) AS rel_diff
    FROM checked
    WHERE abs(year_count - month_sum) > greatest($abs_tol, $rel_tol * abs(year_count))
)
SELECT b.region_code, CASE WHEN left(b.region_code, 2) IN ('GM', 'WK', 'BU') THEN left(b.region_code, 2) ELSE 'NL' END AS level,
       count(*) AS n_rows,
       max(b.rel_diff) AS worst_rel_diff,
       arg_max(b.type_code, b.rel_diff) AS worst_type,
       arg_max(b.year, b.rel_diff) AS worst_year,
       arg_max(b.year_count, b.rel_diff) AS worst_year_count,
       arg_max(b.month_sum, b.rel_diff) AS worst_month_sum,
       (SELECT count(*) FROM checked) AS n_checked
FROM bad b GROUP BY b.region_code ORDER BY b.region_code;

-- name: current_vintage
SELECT vintage FROM table_infos WHERE table_id = $table_id;

-- name: delete_results
DELETE FROM validation_results WHERE table_id = $table_id;

-- name: insert_result
INSERT INTO validation_results
VALUES ($run_id, $checked_at, $table_id, $vintage, $rule, $severity, $region_code, $detail, $value, $threshold);

-- name: upsert_run
INSERT OR REPLACE INTO validation_runs
VALUES ($run_id, $checked_at, $table_id, $vintage, $blockers, $warnings, $infos);

-- name: findings_of_severity
SELECT rule, severity, table_id, region_code, detail, value, threshold
FROM validation_results
WHERE severity = $severity AND ($table_id::VARCHAR IS NULL OR table_id = $table_id::VARCHAR)
ORDER BY table_id, rule, region_code NULLS FIRST, detail;

-- name: region_month_gaps
-- Per region of the given codes: the months the table has but the region lacks (for the report
-- banners, which group them by month: 'juni 2023 ontbreekt voor alle 14 gemeenten').
WITH months AS (SELECT DISTINCT month FROM facts_monthly WHERE table_id = $table_id),
have AS (SELECT DISTINCT region_code, month FROM facts_monthly
         WHERE table_id = $table_id AND list_contains($regions::VARCHAR[], region_code))
SELECT r.region_code, m.month
FROM (SELECT unnest($regions::VARCHAR[]) AS region_code) r CROSS JOIN months m
ANTI JOIN have h ON h.region_code = r.region_code AND h.month = m.month
WHERE r.region_code IN (SELECT region_code FROM have)
ORDER BY r.region_code, m.month;
