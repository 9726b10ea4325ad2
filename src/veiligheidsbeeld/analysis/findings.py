"""The data checks' findings as report warnings with what they mean: which months and regions.

The validation stores one finding per gemeente that lacks a month ("GM0153 mist 1 maand(en)
… (2023-06)"); a report that printed them one by one opened with a wall of banners about one
missing month. Here a finding keeps its structure -- its kind (the rule), the regions and the
months it concerns, how important it is -- so the report layer (:mod:`veiligheidsbeeld.reports.banners`)
can group findings by meaning ("juni 2023 ontbreekt voor alle 14 gemeenten") and show them only
where a figure uses those months.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from veiligheidsbeeld.warehouse.queries import CheckedData

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


def validation_warnings(checked: CheckedData, district_of: Mapping[str, str]) -> list:
    """The data checks of the last ingest (read by
    :func:`veiligheidsbeeld.warehouse.queries.checked_data`, which raises on a BLOCKER) as report
    warnings: each WARN finding becomes a warning with its kind, regions and months, for its
    district (a gemeente, wijk or buurt finding) or for every report. Findings about gemeenten
    outside the eenheid (the national gemeente rows) are left out."""
    from veiligheidsbeeld.analysis.woninginbraak import ReportWarning

    out: list[ReportWarning] = []
    for f in checked.findings:
        code = f.region_code or ""
        gemeente = code if code.startswith("GM") else ("GM" + code[2:6] if code[:2] in ("WK", "BU") else None)
        if gemeente is not None and gemeente not in district_of:
            continue  # outside the eenheid (national gemeente rows)
        district = district_of.get(gemeente) if gemeente else None
        months = checked.month_gaps.get((f.table_id, code), ()) if f.rule == "region_missing_month" else ()
        out.append(ReportWarning(
            f"Gegevenscontrole: {f.detail}", district,
            kind="missing_month" if months else f.rule,
            months=tuple(months), regions=(code,) if code else (),
            # A summary over wijken/buurten (no region) rarely changes a figure of the report.
            importance=RULE_IMPORTANCE.get(f.rule, TECHNICAL) if code or f.rule != "region_missing_month" else INCOMPLETE,
        ))
    return out
