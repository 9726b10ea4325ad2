-- Statements the analyses read the warehouse with (see veiligheidsbeeld.warehouse.queries).

-- name: group_month_counts
-- Monthly counts per region and group on the complete region x group x month grid.
-- $cell_regions/$cell_groups/$cell_order: the (region, group) pairs wanted, in output order;
-- $code_groups/$code_types: the codes of each group. A group's month sums its codes:
-- count_known = what is known, n_suppressed = cells present but not published (NULL count),
-- n_missing = codes without a row (e.g. a month absent from the warehouse). Never a silent 0:
-- the caller sets the total to NULL unless both are 0.
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
)
SELECT w.region_code, w.grp AS "group", m.month,
       CAST(coalesce(c.count_known, 0) AS DOUBLE) AS count_known,
       CAST(coalesce(c.n_suppressed, 0) AS BIGINT) AS n_suppressed,
       CAST(n.n - coalesce(c.n_present, 0) AS BIGINT) AS n_missing
FROM wanted w
CROSS JOIN months m
JOIN n_codes n ON n.grp = w.grp
LEFT JOIN cells c ON c.region_code = w.region_code AND c.grp = w.grp AND c.month = m.month
ORDER BY w.ord, m.month;
