-- description: beschrijving van elke tabel en view (en van de kolommen met een valkuil) in de catalogus
--
-- Analysts query the warehouse directly (README, "The warehouse"): duckdb_tables(), duckdb_views()
-- and duckdb_columns() now say what each table is and which values must not be read naively
-- (NULL = suppressed, roll-ups, provisional months), as the README table does.

COMMENT ON TABLE periods IS 'Period keys of the police tables (months MM and year rows JJ00) with their published status and provisional flag, per vintage.';
COMMENT ON TABLE loads IS 'Provenance: one row per load of a police table into the warehouse (rows, months, suppressed cells, provisional months).';

COMMENT ON VIEW crime_types IS 'Crime types of 47022NED (SoortMisdrijf); is_rollup marks the 0.0.0 totals.';
COMMENT ON VIEW overlast_types IS 'Overlast types of 47024NED; is_rollup marks a total of other codes.';
COMMENT ON VIEW misdrijven IS 'Registered misdrijven (47022NED) per region, crime type and month, with names. count NULL = suppressed, never 0.';
COMMENT ON VIEW overlast IS 'Registered overlast (47024NED) per region, overlast type and month, with names. count NULL = suppressed, never 0.';
COMMENT ON VIEW incidenten IS 'POLITIE-INTERN. The current state of every incident: per registratie_id the row of the newest import that contains it.';

COMMENT ON COLUMN facts_monthly.count IS 'Registered count; NULL = suppressed (not published), never 0.';
COMMENT ON COLUMN facts_monthly.provisional IS 'The month is provisional (voorlopig) in this vintage: the police may still revise it.';
COMMENT ON COLUMN facts_monthly.month IS 'First day of the month; the year rows (JJ00) are in facts_yearly_reported, not here.';
COMMENT ON COLUMN facts_yearly_reported.count IS 'Published year total; NULL = suppressed (not published), never 0.';
COMMENT ON COLUMN offence_types.is_rollup IS 'A total (0.0.0) of other codes: never sum it with its parts.';
COMMENT ON COLUMN regions.code IS 'Trimmed region code (GM0153, WK015300, BU01530000, NL00); raw_key keeps the padded key as served.';
COMMENT ON COLUMN denominators.value IS 'The CBS figure; NULL = not published by CBS, never 0.';
