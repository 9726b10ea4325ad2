-- What is new between two versions of a police table (analysis/whats_new.py).
-- Every value is bound as a parameter; 'whats_new_owned' (side, filename, period) is registered by
-- the caller: per partition file the periods it holds the newest values of, in that version.

-- name: table_version
SELECT t.modified, t.vintage,
       (SELECT max(month) FROM facts_monthly f WHERE f.table_id = $table_id) AS last_month
FROM table_infos t WHERE t.table_id = $table_id;

-- name: months_after
SELECT DISTINCT month FROM facts_monthly
WHERE table_id = $table_id AND month > $after AND month <= $last
ORDER BY month;

-- name: changed_cells
-- Cells of the months both versions hold whose value differs (NULL = suppressed: a cell that
-- got a value, or lost it, counts as changed), per gemeente (wijk and buurt with their gemeente).
WITH new AS (
    SELECT trim(n.region_key) AS region, trim(n.type_key) AS code, trim(n.period_key) AS period, n.value
    FROM read_parquet($new_files, filename = true) n
    JOIN whats_new_owned o ON o.side = 'new' AND o.filename = n.filename AND o.period = trim(n.period_key)
    WHERE regexp_matches(trim(n.period_key), '^\d{4}MM\d{2}$')
),
old AS (
    SELECT trim(n.region_key) AS region, trim(n.type_key) AS code, trim(n.period_key) AS period, n.value
    FROM read_parquet($old_files, filename = true) n
    JOIN whats_new_owned o ON o.side = 'old' AND o.filename = n.filename AND o.period = trim(n.period_key)
    WHERE regexp_matches(trim(n.period_key), '^\d{4}MM\d{2}$')
)
SELECT CASE WHEN left(new.region, 2) IN ('WK', 'BU') THEN 'GM' || substr(new.region, 3, 4) ELSE new.region END
           AS gemeente_code,
       make_date(left(new.period, 4)::INTEGER, right(new.period, 2)::INTEGER, 1) AS month,
       count(*) AS n
FROM new JOIN old USING (region, code, period)
WHERE new.value IS DISTINCT FROM old.value
GROUP BY ALL ORDER BY ALL;

-- name: compared_window
-- The first and last month both versions hold among the periods the newer one fetched again.
WITH new_periods AS (SELECT DISTINCT period FROM whats_new_owned WHERE side = 'new'),
old_periods AS (SELECT DISTINCT period FROM whats_new_owned WHERE side = 'old'),
common AS (
    SELECT period FROM new_periods INTERSECT SELECT period FROM old_periods
)
SELECT min(make_date(left(period, 4)::INTEGER, right(period, 2)::INTEGER, 1)),
       max(make_date(left(period, 4)::INTEGER, right(period, 2)::INTEGER, 1))
FROM common WHERE regexp_matches(period, '^\d{4}MM\d{2}$');
