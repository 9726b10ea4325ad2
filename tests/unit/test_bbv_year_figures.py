"""BBV indicators with a part from the yearly table 47025NED: known sums, and what a missing or
suppressed year figure does (never a silent 0). Invented counts, labelled SYNTHETIC."""

from __future__ import annotations

import math
from datetime import date
from pathlib import Path

import pandas as pd

from veiligheidsbeeld.analysis.jaaranalyse import BBV_INDICATORS, _yearly_group_counts, with_year_figures
from veiligheidsbeeld.analysis.periods import Period
from veiligheidsbeeld.analysis.rates import rate_per
from veiligheidsbeeld.analysis.engine import period_totals
from veiligheidsbeeld.analysis.woninginbraak import group_counts
from veiligheidsbeeld.warehouse import db

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


def load_year_rows(con, rows: list[tuple[str, str, int, int | None]]) -> None:
    for region, code, year, count in rows:
        con.execute("INSERT INTO facts_yearly_reported VALUES ('47025NED', $r, $c, $y, $n, $s, 'synthetisch')",
                    {"r": region, "c": code, "y": year, "n": count, "s": count is None})


def totals(con, gemeenten=(GM_A, GM_B)) -> tuple[pd.DataFrame, list[str]]:
    groups = (GEWELD, WINKEL)
    months = Period.month_range(date(YEAR, 1, 1), date(YEAR, 12, 1)).months()
    monthly = group_counts(monthly_facts(), {g.label: g.codes for g in groups}, list(gemeenten), months)
    yearly, notes = _yearly_group_counts(con, groups, list(gemeenten), [YEAR])
    out = period_totals(with_year_figures(monthly, yearly), Period.month_range(date(YEAR, 1, 1), date(YEAR, 12, 1)))
    return out.set_index(["region_code", "group"]), notes


def test_zeden_from_the_yearly_table_are_added_once_per_year(tmp_path: Path) -> None:
    with db.writer(tmp_path / "w.duckdb") as con:
        load_year_rows(con, [(GM_A, "1.4.1", YEAR, 7), (GM_A, "3.2.1", YEAR, 2), (GM_A, "3.2.2", YEAR, 0),
                             (GM_A, "1.4.1", YEAR - 1, 99),  # another year: not counted
                             (GM_B, "1.4.1", YEAR, 4), (GM_B, "3.2.1", YEAR, None), (GM_B, "3.2.2", YEAR, 1)])
        out, notes = totals(con)
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


def test_without_the_yearly_table_the_indicator_is_incomplete_and_says_so(tmp_path: Path) -> None:
    with db.writer(tmp_path / "w.duckdb") as con:
        out, notes = totals(con)
    assert math.isnan(out.loc[(GM_A, GEWELD.label), "count"]) and out.loc[(GM_A, GEWELD.label), "count_known"] == 120
    assert out.loc[(GM_A, WINKEL.label), "count"] == 36  # groups without yearly codes are unaffected
    assert len(notes) == 1 and "47025NED" in notes[0] and "niet in het warehouse" in notes[0]


def test_a_year_the_yearly_table_does_not_have_yet_is_named(tmp_path: Path) -> None:
    with db.writer(tmp_path / "w.duckdb") as con:
        load_year_rows(con, [(GM_A, "1.4.1", YEAR - 1, 5)])
        out, notes = totals(con, (GM_A,))
    assert math.isnan(out.loc[(GM_A, GEWELD.label), "count"])
    assert len(notes) == 1 and str(YEAR) in notes[0]
