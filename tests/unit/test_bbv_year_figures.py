"""BBV indicators with a part from the yearly table 47025NED: known sums, and what a missing or
suppressed year figure does (never a silent 0). Invented counts, labelled SYNTHETIC. The year rows
are given as the frame the reader returns (``queries.yearly_counts``: NaN = suppressed); reading
them from a warehouse is tested in test_reader.py."""

from __future__ import annotations

import math
from datetime import date

import pandas as pd

from veiligheidsbeeld.analysis.jaaranalyse import with_year_figures, yearly_group_counts
from veiligheidsbeeld.config import BBV_INDICATORS
from veiligheidsbeeld.analysis.periods import Period
from veiligheidsbeeld.analysis.rates import rate_per
from veiligheidsbeeld.analysis.engine import period_totals
from veiligheidsbeeld.analysis.woninginbraak import group_counts

GEWELD = next(g for g in BBV_INDICATORS if g.key == "bbv_geweld")
WINKEL = next(g for g in BBV_INDICATORS if g.key == "bbv_winkeldiefstal")
GM_A, GM_B = "GM0153", "GM0164"  # real codes (Enschede, Hengelo); every count below is SYNTHETIC
YEAR = 2018


def monthly_facts() -> pd.DataFrame:
    """SYNTHETIC monthly 47022NED facts: each monthly geweld code 2 a month, winkeldiefstal 3 a month."""
    rows = []
    for region in (GM_A, GM_B):
        for m in range(1, 13):
            for code in GEWELD.codes:
                rows.append({"region_code": region, "type_code": code, "month": date(YEAR, m, 1), "count": 2.0})
            rows.append({"region_code": region, "type_code": "2.5.2", "month": date(YEAR, m, 1), "count": 3.0})
    return pd.DataFrame(rows)


def year_rows(rows: list[tuple[str, str, int, int | None]]) -> pd.DataFrame:
    """SYNTHETIC year rows (JJ00) of 47025NED as the reader returns them (None = suppressed)."""
    return pd.DataFrame(
        [{"region_code": r, "type_code": c, "year": y, "count": float("nan") if n is None else float(n),
          "suppressed": n is None} for r, c, y, n in rows],
        columns=["region_code", "type_code", "year", "count", "suppressed"],
    )


def totals(facts: pd.DataFrame, loaded: bool = True, gemeenten=(GM_A, GM_B)) -> tuple[pd.DataFrame, list[str]]:
    groups = (GEWELD, WINKEL)
    months = Period.month_range(date(YEAR, 1, 1), date(YEAR, 12, 1)).months()
    monthly = group_counts(monthly_facts(), {g.label: g.codes for g in groups}, list(gemeenten), months)
    yearly, notes = yearly_group_counts(facts, loaded, groups, list(gemeenten), [YEAR])
    out = period_totals(with_year_figures(monthly, yearly), Period.month_range(date(YEAR, 1, 1), date(YEAR, 12, 1)))
    return out.set_index(["region_code", "group"]), notes


def test_zeden_from_the_yearly_table_are_added_once_per_year() -> None:
    out, notes = totals(year_rows([(GM_A, "1.4.1", YEAR, 7), (GM_A, "3.2.1", YEAR, 2), (GM_A, "3.2.2", YEAR, 0),
                                   (GM_A, "1.4.1", YEAR - 1, 99),  # another year: not counted
                                   (GM_B, "1.4.1", YEAR, 4), (GM_B, "3.2.1", YEAR, None), (GM_B, "3.2.2", YEAR, 1)]))
    assert notes == []
    # 5 monthly codes × 2 × 12 months = 120, plus 7 + 2 + 0 zeden = 129.
    assert out.loc[(GM_A, GEWELD.label), "count"] == 129
    # A suppressed year figure: no total (never 0 for the hidden cell), the known part kept.
    assert math.isnan(out.loc[(GM_B, GEWELD.label), "count"])
    assert out.loc[(GM_B, GEWELD.label), "count_known"] == 120 + 4 + 1
    assert out.loc[(GM_B, GEWELD.label), "n_suppressed"] == 1
    # Winkeldiefstal: 3 a month = 36; per 1,000 of 14,400 inhabitants = 2.5.
    assert out.loc[(GM_A, WINKEL.label), "count"] == 36
    assert rate_per(out.loc[(GM_A, WINKEL.label), "count"], 14_400) == 2.5


def test_without_the_yearly_table_the_indicator_is_incomplete_and_says_so() -> None:
    out, notes = totals(year_rows([]), loaded=False)
    assert math.isnan(out.loc[(GM_A, GEWELD.label), "count"]) and out.loc[(GM_A, GEWELD.label), "count_known"] == 120
    assert out.loc[(GM_A, WINKEL.label), "count"] == 36  # groups without yearly codes are unaffected
    assert len(notes) == 1 and "47025NED" in notes[0] and "niet in het warehouse" in notes[0]


def test_a_year_the_yearly_table_does_not_have_yet_is_named() -> None:
    out, notes = totals(year_rows([(GM_A, "1.4.1", YEAR - 1, 5)]), gemeenten=(GM_A,))
    assert math.isnan(out.loc[(GM_A, GEWELD.label), "count"])
    assert len(notes) == 1 and str(YEAR) in notes[0]
