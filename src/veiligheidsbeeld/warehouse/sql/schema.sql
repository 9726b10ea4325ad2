-- The core of the warehouse: police facts, their code lists, regions and provenance.
-- Created idempotently on every writer connection.

-- name: schema
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
