-- description: tabelmacro selected_facts: de maandcijfers van één tabel, met optionele filters op gebied, code en maanden
--
-- The reader's month queries (monthly_counts, month_coverage) select the same facts; the selection
-- is written once here. An optional filter is NULL: selected_facts('47022NED', NULL, ['1.1.1'], NULL, NULL).
-- Analysts can use it too.

CREATE OR REPLACE MACRO selected_facts(wanted_table, wanted_regions, wanted_types, first_month, last_month) AS TABLE
SELECT f.*
FROM facts_monthly f
WHERE f.table_id = wanted_table
  AND (wanted_regions::VARCHAR[] IS NULL OR list_contains(wanted_regions::VARCHAR[], f.region_code))
  AND (wanted_types::VARCHAR[] IS NULL OR list_contains(wanted_types::VARCHAR[], f.type_code))
  AND f.month >= coalesce(first_month::DATE, DATE '0001-01-01')
  AND f.month <= coalesce(last_month::DATE, DATE '9999-12-01');
