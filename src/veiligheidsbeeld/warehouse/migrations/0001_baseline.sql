-- description: basis: het schema van commit 5feb071, de laatste versie zonder schemaversies
--
-- Everything the warehouse held at commit 5feb071, gathered from its schema.sql, geography.sql,
-- validation.sql and incidents.sql.
--
-- Keep this file as it is: it is also applied to a warehouse made before schema versions existed,
-- so every statement is idempotent (IF NOT EXISTS / OR REPLACE). A change to the schema is a new
-- numbered file in this folder, never an edit here.

-- The core: police facts, their code lists, regions and provenance.

CREATE TABLE IF NOT EXISTS regions (
    code          VARCHAR PRIMARY KEY,   -- trimmed: 'GM0153', 'WK015300', 'BU01530000', 'NL00'
    name          VARCHAR NOT NULL,
    level         VARCHAR NOT NULL,      -- 'NL', 'GM', 'WK' or 'BU'
    gemeente_code VARCHAR,               -- the gemeente a wijk or buurt lies in (itself for a gemeente)
    wijk_code     VARCHAR,               -- the wijk a buurt lies in
    raw_key       VARCHAR NOT NULL,      -- the key as served, padding included
    table_id      VARCHAR NOT NULL,      -- the table whose region list this row came from
    vintage       VARCHAR NOT NULL
);
COMMENT ON TABLE regions IS 'Regions of the police tables on the latest gemeente layout (NL, gemeenten, wijken, buurten).';

CREATE TABLE IF NOT EXISTS offence_types (
    table_id    VARCHAR NOT NULL,        -- '47022NED' (misdrijven) or '47024NED' (overlast)
    code        VARCHAR NOT NULL,        -- trimmed: '1.1.1', 'E35'
    title       VARCHAR NOT NULL,
    description VARCHAR,
    is_rollup   BOOLEAN NOT NULL,        -- '0.0.0' totals: never sum them with their parts
    vintage     VARCHAR NOT NULL,
    PRIMARY KEY (table_id, code)
);
COMMENT ON TABLE offence_types IS 'Crime types (47022NED SoortMisdrijf) and overlast types (47024NED Overlast).';

CREATE TABLE IF NOT EXISTS facts_monthly (
    table_id    VARCHAR NOT NULL,
    region_code VARCHAR NOT NULL,
    type_code   VARCHAR NOT NULL,
    month       DATE NOT NULL,           -- first day of the month
    count       BIGINT,                  -- NULL = suppressed (not published), never 0
    suppressed  BOOLEAN NOT NULL,
    provisional BOOLEAN NOT NULL,
    vintage     VARCHAR NOT NULL         -- the table version this value comes from
);
COMMENT ON TABLE facts_monthly IS 'Registered misdrijven and overlast per region, type and month. Year rows (JJ00) are not here.';

CREATE TABLE IF NOT EXISTS facts_yearly_reported (
    table_id    VARCHAR NOT NULL,
    region_code VARCHAR NOT NULL,
    type_code   VARCHAR NOT NULL,
    year        INTEGER NOT NULL,
    count       BIGINT,
    suppressed  BOOLEAN NOT NULL,
    vintage     VARCHAR NOT NULL
);
COMMENT ON TABLE facts_yearly_reported IS 'The year rows (JJ00) as published, kept to reconcile the monthly facts with.';

CREATE TABLE IF NOT EXISTS periods (
    table_id    VARCHAR NOT NULL,
    period_key  VARCHAR NOT NULL,        -- '2013MM01', '2013JJ00'
    title       VARCHAR,
    status      VARCHAR,                 -- as published ('Definitief', 'Voorlopig', ...) or NULL
    month       DATE,                    -- NULL for year rows
    year        INTEGER NOT NULL,
    provisional BOOLEAN NOT NULL,
    vintage     VARCHAR NOT NULL
);

CREATE TABLE IF NOT EXISTS pulls (
    table_id     VARCHAR NOT NULL,
    vintage      VARCHAR NOT NULL,
    modified     VARCHAR NOT NULL,       -- the table's Modified stamp from TableInfos
    kind         VARCHAR NOT NULL,       -- 'full' or 'incremental'
    source       VARCHAR NOT NULL,
    started_at   VARCHAR,
    completed_at VARCHAR,
    partitions   INTEGER NOT NULL,
    rows         BIGINT NOT NULL,
    checksum     VARCHAR NOT NULL,
    filters      JSON,
    PRIMARY KEY (table_id, vintage)
);
COMMENT ON TABLE pulls IS 'Provenance: every vintage of every table that was pulled and is used by the warehouse.';

CREATE TABLE IF NOT EXISTS table_infos (
    table_id  VARCHAR PRIMARY KEY,
    title     VARCHAR,
    modified  VARCHAR,
    vintage   VARCHAR NOT NULL,
    synthetic BOOLEAN NOT NULL           -- demo and test data: every report says so prominently
);
COMMENT ON TABLE table_infos IS 'TableInfos of the newest vintage in use, per table.';

CREATE TABLE IF NOT EXISTS loads (
    table_id          VARCHAR NOT NULL,
    loaded_at         TIMESTAMP NOT NULL,
    vintages          VARCHAR NOT NULL,
    rows              BIGINT NOT NULL,
    first_month       DATE,
    last_month        DATE,
    suppressed_cells  BIGINT NOT NULL,
    provisional_months INTEGER NOT NULL
);

CREATE OR REPLACE VIEW crime_types AS
    SELECT code, title, description, is_rollup FROM offence_types WHERE table_id = '47022NED';
CREATE OR REPLACE VIEW overlast_types AS
    SELECT code, title, description, is_rollup FROM offence_types WHERE table_id = '47024NED';

-- Analyst-friendly views: one row per region, type and month, with names.
CREATE OR REPLACE VIEW misdrijven AS
    SELECT f.region_code, r.name AS region_name, r.level, r.gemeente_code,
           f.type_code AS crime_code, t.title AS crime_title, t.is_rollup,
           f.month, f.count, f.suppressed, f.provisional, f.vintage
    FROM facts_monthly f
    LEFT JOIN regions r ON r.code = f.region_code
    LEFT JOIN offence_types t ON t.table_id = f.table_id AND t.code = f.type_code
    WHERE f.table_id = '47022NED';
CREATE OR REPLACE VIEW overlast AS
    SELECT f.region_code, r.name AS region_name, r.level, r.gemeente_code,
           f.type_code AS overlast_code, t.title AS overlast_title, t.is_rollup,
           f.month, f.count, f.suppressed, f.provisional, f.vintage
    FROM facts_monthly f
    LEFT JOIN regions r ON r.code = f.region_code
    LEFT JOIN offence_types t ON t.table_id = f.table_id AND t.code = f.type_code
    WHERE f.table_id = '47024NED';

-- Geography: districts of the eenheid, gemeente lineage, CBS denominators and boundaries.

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

-- Data validation: the findings and runs of the checks after each load.

CREATE TABLE IF NOT EXISTS validation_results (
    run_id      VARCHAR NOT NULL,        -- one validation run (e.g. one ingest)
    checked_at  TIMESTAMP NOT NULL,
    table_id    VARCHAR NOT NULL,
    vintage     VARCHAR,                 -- the table version that was checked (table_infos.vintage)
    rule        VARCHAR NOT NULL,        -- 'missing_month', 'rollup_mismatch', ...
    severity    VARCHAR NOT NULL,        -- 'BLOCKER' (not published), 'WARN' (banner), 'INFO' (logged)
    region_code VARCHAR,                 -- NULL: the finding is about the whole table
    detail      VARCHAR NOT NULL,        -- Dutch, for the report banner and 'veiligheidsbeeld status'
    value       DOUBLE,                  -- the measured value (a share, a factor, a count)
    threshold   DOUBLE                   -- the threshold it was held against
);
COMMENT ON TABLE validation_results IS 'Findings of the latest validation of each table (replaced per table on every run).';

CREATE TABLE IF NOT EXISTS validation_runs (
    run_id     VARCHAR NOT NULL,
    checked_at TIMESTAMP NOT NULL,
    table_id   VARCHAR PRIMARY KEY,      -- the latest run per table
    vintage    VARCHAR,
    blockers   INTEGER NOT NULL,
    warnings   INTEGER NOT NULL,
    infos      INTEGER NOT NULL
);
COMMENT ON TABLE validation_runs IS 'When each table was last validated, also when nothing was found.';

-- Incident extracts of the police (issue 18). POLICE-INTERNAL: these tables never leave the
-- local warehouse; reports aggregate them to buurt or grid cells.

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
