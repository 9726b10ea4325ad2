"""The data checks' findings as report warnings with what they mean: which months and regions.

The validation stores one finding per gemeente that lacks a month ("GM0153 mist 1 maand(en)
… (2023-06)"); a report that printed them one by one opened with a wall of banners about one
missing month. Here a finding keeps its structure -- its kind (the rule), the regions and the
months it concerns, how important it is -- so the report layer (:mod:`veiligheidsbeeld.reports.banners`)
can group findings by meaning ("juni 2023 ontbreekt voor alle 14 gemeenten") and show them only
where a figure uses those months.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date

import duckdb

from veiligheidsbeeld.warehouse.sql import query

#: Importance of a warning, most important first (the report shows the most important first).
#: Figures that are absent or out of date:
CRITICAL = 1
#: Months missing in the figures:
MISSING_DATA = 2
#: Incomplete detail (suppressed cells, levels the source lacks, denominators):
INCOMPLETE = 3
#: Checks of the data that rarely change a figure on the page:
TECHNICAL = 4

#: Importance of each validation rule's WARN findings.
RULE_IMPORTANCE: dict[str, int] = {
    "gemeente_without_rows": CRITICAL,
    "missing_month": MISSING_DATA,
    "region_missing_month": MISSING_DATA,
    "level_not_delivered": INCOMPLETE,
    "suppressed_share": INCOMPLETE,
    "partition_rows": INCOMPLETE,
}


def validation_warnings(con: duckdb.DuckDBPyConnection, table_ids: Sequence[str],
                        district_of: Mapping[str, str]) -> list:
    """The data checks of the last ingest as report warnings: a BLOCKER stops the report
    (``DataError``); each WARN finding becomes a warning with its kind, regions and months, for
    its district (a gemeente, wijk or buurt finding) or for every report. Findings about
    gemeenten outside the eenheid (the national gemeente rows) are left out."""
    from veiligheidsbeeld.analysis.woninginbraak import ReportWarning
    from veiligheidsbeeld.warehouse import validation

    findings = validation.assert_publishable(con, table_ids)
    gaps = _month_gaps(con, findings)
    out: list[ReportWarning] = []
    for f in findings:
        code = f.region_code or ""
        gemeente = code if code.startswith("GM") else ("GM" + code[2:6] if code[:2] in ("WK", "BU") else None)
        if gemeente is not None and gemeente not in district_of:
            continue  # outside the eenheid (national gemeente rows)
        district = district_of.get(gemeente) if gemeente else None
        months = gaps.get((f.table_id, code), ()) if f.rule == "region_missing_month" else ()
        out.append(ReportWarning(
            f"Gegevenscontrole: {f.detail}", district,
            kind="missing_month" if months else f.rule,
            months=tuple(months), regions=(code,) if code else (),
            # A summary over wijken/buurten (no region) rarely changes a figure of the report.
            importance=RULE_IMPORTANCE.get(f.rule, TECHNICAL) if code or f.rule != "region_missing_month" else INCOMPLETE,
        ))
    return out


def _month_gaps(con: duckdb.DuckDBPyConnection, findings: Sequence) -> dict[tuple[str, str], tuple[date, ...]]:
    """(table, region) -> the months it lacks, for the regions with a 'region_missing_month' finding."""
    wanted: dict[str, list[str]] = {}
    for f in findings:
        if f.rule == "region_missing_month" and f.region_code:
            wanted.setdefault(f.table_id, []).append(f.region_code)
    out: dict[tuple[str, str], list[date]] = {}
    for table_id, regions in wanted.items():
        rows = con.execute(query("validation.sql", "region_month_gaps"),
                           {"table_id": table_id, "regions": regions}).fetchall()
        for region, month in rows:
            out.setdefault((table_id, region), []).append(month)
    return {k: tuple(v) for k, v in out.items()}
