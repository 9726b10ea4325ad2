-- Geography of the warehouse: districts of the eenheid, gemeente lineage, CBS denominators and
-- boundaries. Created idempotently on every writer connection (see extensions.py).
-- Loading statements read from a DataFrame registered as 'staged' and bind values as parameters.

-- name: schema
CREATE TABLE IF NOT EXISTS districts (
    eenheid_code  VARCHAR NOT NULL,      -- 'RE02'
    eenheid_naam  VARCHAR NOT NULL,      -- 'Oost-Nederland'
    layout_year   INTEGER NOT NULL,      -- the gemeente layout (1 January) the table describes
    district_code VARCHAR NOT NULL,      -- 'VR05'
    district_naam VARCHAR NOT NULL,      -- 'Twente'
    gemeente_code VARCHAR NOT NULL,      -- 'GM0153'
    gemeente_naam VARCHAR NOT NULL,
    source        VARCHAR NOT NULL,      -- the CSV or CBS table the membership comes from
    loaded_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (eenheid_code, layout_year, gemeente_code)
);
COMMENT ON TABLE districts IS 'District (veiligheidsregio) membership of the gemeenten of a regionale eenheid, per layout year.';

CREATE TABLE IF NOT EXISTS gemeente_lineage (
    old_code         VARCHAR PRIMARY KEY, -- a gemeente code that disappeared from the layout
    old_name         VARCHAR NOT NULL,
    new_code         VARCHAR NOT NULL,    -- the (main) successor
    new_name         VARCHAR NOT NULL,
    layout_year      INTEGER NOT NULL,    -- first 1 January layout without old_code
    kind             VARCHAR NOT NULL,    -- 'samenvoeging', 'opsplitsing' or 'hernoeming'
    new_code_created BOOLEAN NOT NULL,    -- new_code first appeared in this layout
    note             VARCHAR,
    loaded_at        TIMESTAMP NOT NULL
);
COMMENT ON TABLE gemeente_lineage IS 'Gemeente mergers, splits and code changes since the 2013 layout (reference/gemeente_lineage.csv).';

CREATE TABLE IF NOT EXISTS denominators (
    region_code   VARCHAR NOT NULL,      -- 'GM0153', 'WK015300', 'BU01530000'
    region_level  VARCHAR NOT NULL,      -- 'gemeente', 'wijk' or 'buurt'
    year          INTEGER NOT NULL,
    month         INTEGER,               -- NULL for a yearly figure
    measure       VARCHAR NOT NULL,      -- 'inwoners', 'inwoners_gemiddeld', 'huishoudens', 'woningen', ...
    value         DOUBLE,                -- NULL = not published by CBS, never 0
    source_table  VARCHAR NOT NULL,      -- CBS table id ('03759ned')
    table_title   VARCHAR,
    vintage       VARCHAR NOT NULL,      -- the table's Modified stamp ('20240628T020000')
    modified      VARCHAR,
    fetched_at    VARCHAR,
    period_status VARCHAR,               -- 'Definitief', 'Voorlopig', ... as published
    source        VARCHAR,               -- the API or snapshot it was read from
    loaded_at     TIMESTAMP NOT NULL
);
COMMENT ON TABLE denominators IS 'CBS denominators (inhabitants, households, dwellings) per region and year (or month), with provenance.';

CREATE TABLE IF NOT EXISTS boundaries (
    region_code   VARCHAR NOT NULL,
    region_name   VARCHAR,
    level         VARCHAR NOT NULL,      -- 'gemeente', 'wijk', 'buurt' or 'veiligheidsregio'
    gemeente_code VARCHAR,               -- the gemeente of a wijk or buurt (itself for a gemeente)
    layout_year   INTEGER NOT NULL,
    geometry      BLOB NOT NULL,         -- WKB, EPSG:28992 (the spatial extension is not required)
    crs           VARCHAR NOT NULL,
    source        VARCHAR NOT NULL,
    loaded_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (level, layout_year, region_code)
);
COMMENT ON TABLE boundaries IS 'Generalised boundaries per layout year as WKB in RD New (EPSG:28992).';

CREATE OR REPLACE VIEW district_denominators AS
    WITH size AS (
        SELECT eenheid_code, layout_year, district_code, count(*) AS gemeenten
        FROM districts GROUP BY ALL
    ),
    agg AS (
        SELECT d.eenheid_code, d.layout_year, d.district_code, d.district_naam,
               n.measure, n.year, n.month,
               sum(n.value) AS som_beschikbaar,
               count(n.value) AS gemeenten_met_waarde,
               string_agg(DISTINCT n.source_table, ',') AS source_tables,
               max(n.vintage) AS vintage
        FROM districts d
        JOIN denominators n ON n.region_code = d.gemeente_code
        GROUP BY ALL
    )
    SELECT agg.eenheid_code, agg.layout_year, agg.district_code, agg.district_naam,
           agg.measure, agg.year, agg.month,
           CASE WHEN agg.gemeenten_met_waarde = size.gemeenten THEN agg.som_beschikbaar END AS value,
           agg.gemeenten_met_waarde = size.gemeenten AS volledig,
           agg.som_beschikbaar, agg.gemeenten_met_waarde, size.gemeenten,
           agg.source_tables, agg.vintage
    FROM agg JOIN size USING (eenheid_code, layout_year, district_code);
COMMENT ON VIEW district_denominators IS 'Denominators summed per district as published (each year on its own gemeente layout); value is NULL unless every gemeente of the district has one (volledig). Rates use geography.police_layout_denominators instead.';

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

-- name: police_region_codes
SELECT DISTINCT region_code FROM facts_monthly ORDER BY region_code;
